//! The look keys of the run view (a look: inference-time strength, saturation and colours, and
//! the style: which run's generator): the preview's on/off, strength, saturation,
//! preserve-colour and the painting's palette (the two colour choices exclude each other), the
//! style (`Tab`), the grid of every style, each answered by rendering requests for the look
//! worker at the size the preview is drawn; and `Enter`, which asks for the chosen style at full
//! resolution in a file. The styles follow the poller's runs while the preview is open.

use crate::tui::app::{App, Effect, RunView, View};
use crate::tui::keys::Action;
use crate::tui::layout;
use crate::tui::look::{self, LookResult, LookView, Style};

/// Look keys: turn the preview on or off, change the look or the style, and ask for renderings.
pub fn adjust(app: &mut App, a: Action) -> Vec<Effect> {
    let styles = styles(app);
    let (size, cell_px) = (app.size, app.cell_px);
    let Some(run) = app.run.as_mut().filter(|_| app.view == View::Run) else {
        return Vec::new();
    };
    if a == Action::ToggleLook {
        if run.look.take().is_some() {
            return vec![Effect::Repaint];
        }
        run.look = Some(LookView::new(styles));
        return request(run, size, cell_px);
    }
    let Some(l) = run.look.as_mut() else {
        app.notify("press v first: the look preview renders the latest checkpoint");
        return Vec::new();
    };
    let look = &mut l.look;
    match a {
        Action::StrengthUp => look.strength = (look.strength + 0.1).min(1.0),
        Action::StrengthDown => look.strength = (look.strength - 0.1).max(0.0),
        Action::SaturationUp => look.saturation = (look.saturation + 0.1).min(3.0),
        Action::SaturationDown => look.saturation = (look.saturation - 0.1).max(0.0),
        Action::TogglePreserve => {
            look.preserve_color = !look.preserve_color;
            look.palette &= !look.preserve_color;
        }
        Action::TogglePalette => {
            look.palette = !look.palette;
            look.preserve_color &= !look.palette;
        }
        Action::NextStyle | Action::PrevStyle => {
            restyle(l, styles);
            let n = l.styles.len().max(1);
            l.style = if a == Action::NextStyle {
                (l.style + 1) % n
            } else {
                (l.style + n - 1) % n
            };
            if l.styles.len() < 2 {
                app.notify("one style: no other run of this workspace has finished");
                return Vec::new();
            }
            // In the grid every style is already on screen: Tab only moves the choice.
            if l.grid {
                return Vec::new();
            }
        }
        Action::StyleGrid => {
            restyle(l, styles);
            l.grid = !l.grid;
            let mut fx = vec![Effect::Repaint];
            fx.extend(request(run, size, cell_px));
            return fx;
        }
        Action::SaveLook => {
            return match save(run) {
                Some((fx, path)) => {
                    app.notify(format!("writing {} …", path.display()));
                    vec![fx]
                }
                None => Vec::new(),
            };
        }
        _ => {}
    }
    request(run, size, cell_px)
}

/// The styles on offer: the open run's own generator, then its teacher's for a distilled run
/// (so the grid shows them side by side), then every other finished run's.
fn styles(app: &App) -> Vec<Style> {
    let Some(run) = app.run.as_ref() else {
        return Vec::new();
    };
    let own = Style {
        dir: run.dir.clone(),
        name: crate::run_dir::run_name(&run.id).to_string(),
    };
    let parent = app
        .runs
        .iter()
        .find(|r| std::path::Path::new(&r.dir) == run.dir)
        .and_then(|r| r.parent.as_ref())
        .and_then(|p| app.runs.iter().find(|r| r.id == *p))
        .map(|r| std::path::PathBuf::from(&r.dir));
    let finished = crate::stylize::finished(&app.runs);
    let others = parent
        .clone()
        .into_iter()
        .chain(finished.into_iter().filter(|d| Some(d) != parent.as_ref()))
        .filter(|d| *d != run.dir)
        .map(|dir| Style {
            name: app
                .runs
                .iter()
                .find(|r| std::path::Path::new(&r.dir) == dir)
                .map_or_else(String::new, |r| r.name.clone()),
            dir,
        });
    std::iter::once(own).chain(others).collect()
}

/// The poller's runs changed: an open look's styles follow (a run that finished joins, a
/// deleted one leaves). The grid asks for its cells again at their new sizes; the single
/// preview only when its chosen style left.
pub fn follow_runs(app: &mut App) -> Vec<Effect> {
    if app.view != View::Run {
        return Vec::new();
    }
    let styles = styles(app);
    let (size, cell_px) = (app.size, app.cell_px);
    let Some(run) = app.run.as_mut() else {
        return Vec::new();
    };
    let Some(l) = run.look.as_mut() else {
        return Vec::new();
    };
    let chosen = l.styles.get(l.style).map(|s| s.dir.clone());
    if !restyle(l, styles) {
        return Vec::new();
    }
    if l.grid {
        let mut fx = vec![Effect::Repaint];
        fx.extend(request(run, size, cell_px));
        fx
    } else if l.styles.get(l.style).map(|s| &s.dir) != chosen.as_ref() {
        request(run, size, cell_px)
    } else {
        Vec::new()
    }
}

/// Take the workspace's current styles, keeping each one's cell and the choice; whether they
/// changed.
fn restyle(l: &mut LookView, styles: Vec<Style>) -> bool {
    if styles
        .iter()
        .map(|s| &s.dir)
        .eq(l.styles.iter().map(|s| &s.dir))
    {
        return false;
    }
    let chosen = l.styles.get(l.style).map(|s| s.dir.clone());
    let cells = styles
        .iter()
        .map(|s| {
            l.styles
                .iter()
                .position(|o| o.dir == s.dir)
                .map(|i| l.cells[i].clone())
                .unwrap_or_default()
        })
        .collect();
    l.style = styles
        .iter()
        .position(|s| Some(&s.dir) == chosen.as_ref())
        .unwrap_or(0);
    l.cells = cells;
    l.styles = styles;
    true
}

/// The selected probe: (set, index, its input image).
fn probe_input(run: &RunView) -> Option<(String, usize, std::path::PathBuf)> {
    let (set, probe) = run.probes().get(run.probe).cloned()?;
    let input = run
        .inputs
        .iter()
        .find(|r| r.set == set && r.probe == probe)?;
    Some((set, probe, run.dir.join(&input.path)))
}

/// Renderings of the selected probe with the run's look, if the preview is on: the chosen style,
/// or every style in the grid, each fitted to the pixels it is drawn on.
pub fn request(run: &mut RunView, size: (u16, u16), cell_px: (u16, u16)) -> Vec<Effect> {
    let Some((set, _, input)) = probe_input(run) else {
        return Vec::new();
    };
    let dir = run.dir.clone();
    let Some(l) = run.look.as_mut() else {
        return Vec::new();
    };
    let gallery = layout::gallery_panes(layout::run_panes(size, false).gallery);
    let px = |r: ratatui::layout::Rect| {
        (
            u32::from(r.width) * u32::from(cell_px.0),
            u32::from(r.height) * u32::from(cell_px.1),
        )
    };
    let slots: Vec<(usize, (u32, u32))> = if l.grid {
        let (_, cells) = layout::look_grid(gallery.inner, l.styles.len());
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| (i, px(layout::below_label(*c))))
            .collect()
    } else {
        vec![(l.style, px(layout::look_image(gallery.big[1])))]
    };
    let mut fx = Vec::new();
    for (slot, fit) in slots {
        let Some(style) = l.styles.get(slot) else {
            continue;
        };
        l.seq += 1;
        l.cells[slot].want = l.seq;
        fx.push(Effect::Look(look::LookRequest {
            run: dir.clone(),
            generator: style.dir.clone(),
            input: input.clone(),
            direction: (set == "b" && style.dir == dir).then(|| "ba".to_string()),
            look: l.look,
            seq: l.seq,
            slot,
            fit: Some(fit),
            save: None,
        }));
    }
    fx
}

/// `Enter`: the chosen style on the probe's full-resolution input, into the run's `looks/`.
fn save(run: &mut RunView) -> Option<(Effect, std::path::PathBuf)> {
    let (set, probe, input) = probe_input(run)?;
    let dir = run.dir.clone();
    let l = run.look.as_mut()?;
    let style = l.styles.get(l.style)?;
    let path = look::save_path(&dir, &format!("{set}{probe:02}"), &style.dir, l.look);
    l.seq += 1;
    let req = look::LookRequest {
        run: dir.clone(),
        generator: style.dir.clone(),
        input,
        direction: (set == "b" && style.dir == dir).then(|| "ba".to_string()),
        look: l.look,
        seq: l.seq,
        slot: l.style,
        fit: None,
        save: Some(path.clone()),
    };
    Some((Effect::Look(req), path))
}

/// A worker's answer: a preview goes to its cell, a written file is announced.
pub fn answered(app: &mut App, result: LookResult) {
    if result.saved {
        match &result.outcome {
            Ok((path, step)) => app.notify(format!(
                "wrote {} (full resolution, checkpoint {step})",
                path.display()
            )),
            Err(e) => app.notify(format!("could not write the look: {e}")),
        }
        return;
    }
    if let Some(l) = app
        .run
        .as_mut()
        .filter(|r| r.dir == result.run)
        .and_then(|r| r.look.as_mut())
    {
        l.absorb(result);
    }
}
