//! The judging half of `update`: marks, the compare view and the best-of-k grid, stars, tags,
//! notes and undo. A judgement is added to the in-memory ledger at once (the poller reads it
//! back from `ratings.jsonl` later and the ledger ignores the duplicate id) and leaves as an
//! `Effect::Rate` for the loop to append; a study's judgement also asks for a proposal.

use crate::ratings::{Kind, Rating};
use crate::run_dir::{Command, RunState};
use crate::tui::app::{App, Effect, Overlay, Prompt, RunView, View};
use crate::tui::compare::{self, Compare, Grid};
use crate::tui::keys::Action;
use std::path::PathBuf;

/// Most runs shown at once in the compare view and the grid.
pub const MAX_SIDE_BY_SIDE: usize = 4;

pub fn toggle_mark(app: &mut App) -> Vec<Effect> {
    let Some(id) = app.selected_run().map(|r| r.id.clone()) else {
        return Vec::new();
    };
    if let Some(i) = app.marks.iter().position(|m| *m == id) {
        app.marks.remove(i);
    } else if app.marks.len() >= MAX_SIDE_BY_SIDE {
        app.notify(format!(
            "at most {MAX_SIDE_BY_SIDE} marked runs (space unmarks)"
        ));
        return Vec::new();
    } else {
        app.marks.push(id);
    }
    // Move down, so marking several runs is space, space, space.
    let rows = app.visible_runs().len();
    app.selected = (app.selected + 1).min(rows.saturating_sub(1));
    Vec::new()
}

/// Views of the marked runs that still exist, in the order marked.
fn marked_views(app: &App) -> Vec<RunView> {
    app.marks
        .iter()
        .filter_map(|id| app.runs.iter().find(|r| r.id == *id))
        .map(|r| RunView {
            dir: PathBuf::from(&r.dir),
            id: r.id.clone(),
            follow: true,
            ..RunView::default()
        })
        .collect()
}

fn watch(runs: &[RunView]) -> Vec<Effect> {
    vec![
        Effect::Repaint,
        Effect::WatchMany(runs.iter().map(|r| r.dir.clone()).collect()),
    ]
}

pub fn open_compare(app: &mut App) -> Vec<Effect> {
    let runs = marked_views(app);
    if runs.len() < 2 {
        app.notify("mark 2 to 4 runs with space, then press c");
        return Vec::new();
    }
    let fx = watch(&runs);
    app.compare = Some(Compare::new(runs));
    app.view = View::Compare;
    fx
}

pub fn open_grid(app: &mut App) -> Vec<Effect> {
    let runs = marked_views(app);
    if runs.len() >= 2 {
        let fx = watch(&runs);
        app.grid = Some(Grid {
            k: runs.len(),
            runs,
            ..Grid::default()
        });
        app.view = View::Grid;
        return fx;
    }
    let study = app.selected_run().and_then(|r| r.study.clone());
    let Some(study) = study else {
        app.notify("mark 2 to 4 runs with space, or select a run of a study, then press b");
        return Vec::new();
    };
    app.grid = Some(Grid {
        study: Some(study),
        k: 4,
        ..Grid::default()
    });
    app.view = View::Grid;
    let mut fx = refresh_grid(app);
    fx.push(Effect::Repaint);
    fx
}

/// A study's grid holds its live candidates: the oldest `k` members neither retired by a
/// judgement nor failed, stopped or stalled (`study::grid_of`). Called when runs, ratings or
/// the grid change.
pub fn refresh_grid(app: &mut App) -> Vec<Effect> {
    let Some(grid) = app.grid.as_ref() else {
        return Vec::new();
    };
    let Some(study) = grid.study.clone() else {
        return Vec::new();
    };
    let k = grid
        .runs
        .iter()
        .find_map(|r| r.spec.as_ref().map(|s| s.study.candidates))
        .unwrap_or(grid.k)
        .clamp(2, MAX_SIDE_BY_SIDE);
    let retired = app.ledger.retired();
    // app.runs is newest first; the grid's rule (shared with `atelier propose`) reads oldest
    // first.
    let in_force = app
        .runs
        .iter()
        .rev()
        .filter(|r| r.study.as_deref() == Some(study.as_str()))
        .filter(|r| !retired.contains(r.id.as_str()))
        .filter(|r| crate::study::can_judge(r.state))
        .map(|r| (r.id.clone(), r.dir.clone()));
    let ids = crate::study::grid_of(in_force, k);
    let Some(grid) = app.grid.as_mut() else {
        return Vec::new();
    };
    grid.k = k;
    if grid.ids() == ids.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>() {
        return Vec::new();
    }
    let mut old = std::mem::take(&mut grid.runs);
    grid.runs = ids
        .into_iter()
        .map(|(id, dir)| match old.iter().position(|r| r.id == id) {
            Some(i) => old.swap_remove(i),
            None => RunView {
                dir: PathBuf::from(dir),
                id,
                follow: true,
                ..RunView::default()
            },
        })
        .collect();
    watch(&grid.runs)
}

/// Add a judgement to the ledger now, remember it for undo, and have the loop append it.
fn record(app: &mut App, rating: Rating) -> Vec<Effect> {
    app.notify(rating.describe());
    if rating.kind != Kind::Undo {
        app.mine.push(rating.id.clone());
    }
    app.ledger.extend([rating.clone()]);
    app.rescore();
    let mut fx = vec![Effect::Rate(rating)];
    fx.extend(refresh_grid(app));
    fx
}

/// Stars for the image in view: the open run's selected probe at the shown step, or the focused
/// run's output at the compare view's step.
pub fn stars(app: &mut App, n: u8) -> Vec<Effect> {
    let target = match app.view {
        View::Run => app.run.as_ref().and_then(|r| {
            let step = r.shown_step()?;
            Some((r.id.clone(), step, r.probe))
        }),
        View::Compare => app.compare.as_ref().and_then(|c| {
            let run = c.runs.get(c.focus)?;
            let (at, _) = compare::output_at(run, c.step()?, c.probe)?;
            Some((run.id.clone(), at, c.probe))
        }),
        _ => None,
    };
    let Some((run, step, probe)) = target else {
        app.notify("no output in view to rate yet");
        return Vec::new();
    };
    let favor = if n >= 4 {
        favor(app, &run, step, probe)
    } else {
        None
    };
    let mut fx = record(app, Rating::stars(&run, Some(step), Some(probe), n));
    if let Some(f) = favor {
        app.notify(format!(
            "{n} ★ for {run}: favoured in its critic's real batch"
        ));
        fx.push(f);
    }
    fx
}

/// A highly rated output of a live run that opted in (`steer.favored_fraction > 0`) joins its
/// critic's real batch: the preference-weighted discriminator.
fn favor(app: &mut App, run: &str, step: u64, probe: usize) -> Option<Effect> {
    let view = app.views_mut().find(|v| v.id == run)?;
    let opted_in = view
        .spec
        .as_ref()
        .is_some_and(|s| s.steer.favored_fraction > 0.0);
    let live = matches!(
        view.status.as_ref().map(|s| s.state),
        Some(RunState::Running | RunState::Paused)
    );
    if !(opted_in && live) {
        return None;
    }
    let (set, p) = view.probes().get(probe).cloned()?;
    let image = view
        .samples
        .get(&step)?
        .iter()
        .find(|r| r.kind == "output" && r.set == set && r.probe == p)?
        .path
        .clone();
    let dir = view.dir.clone();
    let id = app.command_id();
    Some(Effect::Control {
        run: dir,
        id,
        command: Command::Favor { image },
    })
}

/// Best-of-k: candidate `n` (1-based) is the worst.
pub fn worst(app: &mut App, n: u8) -> Vec<Effect> {
    let Some(grid) = app.grid.as_ref() else {
        return Vec::new();
    };
    let i = usize::from(n).saturating_sub(1);
    if i >= grid.runs.len() {
        app.notify(format!("there are {} candidates", grid.runs.len()));
        return Vec::new();
    }
    if grid.runs.len() < 2 {
        app.notify("need at least 2 candidates to judge");
        return Vec::new();
    }
    let Some(step) = grid.step() else {
        app.notify("waiting for every candidate's first sample");
        return Vec::new();
    };
    let loser = &grid.runs[i];
    let stop_loser = grid.study.is_some()
        && loser.spec.as_ref().is_some_and(|s| s.study.auto_launch)
        && matches!(
            loser.status.as_ref().map(|s| s.state),
            Some(RunState::Running | RunState::Paused | RunState::Starting)
        );
    let loser_dir = loser.dir.clone();
    let rating = Rating::worst(&grid.ids(), i, step, grid.probe).in_study(grid.study.clone());
    let study = grid.study.clone();
    next_round(app);
    let mut fx = record(app, rating);
    if let Some(study) = study {
        fx.push(Effect::Propose(study));
        if stop_loser {
            // The study launches its replacement; the retired candidate stops (resumable).
            let id = app.command_id();
            fx.push(Effect::Control {
                run: loser_dir,
                id,
                command: Command::Stop,
            });
        }
    }
    fx
}

pub fn tie(app: &mut App) -> Vec<Effect> {
    let Some(grid) = app.grid.as_ref() else {
        return Vec::new();
    };
    let Some(step) = grid.step() else {
        app.notify("waiting for every candidate's first sample");
        return Vec::new();
    };
    let rating = Rating::tie(&grid.ids(), step, grid.probe).in_study(grid.study.clone());
    next_round(app);
    record(app, rating)
}

pub fn skip(app: &mut App) -> Vec<Effect> {
    next_round(app);
    app.notify("skipped: nothing recorded");
    vec![Effect::Repaint]
}

/// The next round shows the next probe image.
fn next_round(app: &mut App) {
    if let Some(g) = app.grid.as_mut() {
        let probes = g.runs.iter().map(|r| r.probes().len()).max().unwrap_or(1);
        g.probe = (g.probe + 1) % probes.max(1);
        g.rounds += 1;
    }
}

/// Retract this dashboard's latest judgement still in force.
pub fn undo(app: &mut App) -> Vec<Effect> {
    while let Some(id) = app.mine.pop() {
        if !app.ledger.is_retracted(&id) {
            return record(app, Rating::undo(&id));
        }
    }
    app.notify("nothing of yours to undo");
    Vec::new()
}

/// Open the tag or note prompt for the run in view (or the selected one).
pub fn prompt(app: &mut App, note: bool) -> Vec<Effect> {
    let run = match app.view {
        View::Run => app.run.as_ref().map(|r| r.id.clone()),
        _ => app.selected_run().map(|r| r.id.clone()),
    };
    let Some(run) = run else {
        app.notify("no run selected");
        return Vec::new();
    };
    app.overlay = Some(Overlay::Prompt(Prompt {
        note,
        run,
        text: String::new(),
    }));
    Vec::new()
}

/// Enter in the prompt: a tag (`-tag` removes it) or a note.
pub fn submit(app: &mut App, p: Prompt) -> Vec<Effect> {
    let text = p.text.trim();
    if text.is_empty() {
        return vec![Effect::Repaint];
    }
    let rating = if p.note {
        Rating::note(&p.run, text)
    } else {
        let tag: String = text.split_whitespace().collect::<Vec<_>>().join("-");
        match tag.strip_prefix('-') {
            Some(t) => Rating::tag(&p.run, t, false),
            None => Rating::tag(&p.run, tag.trim_start_matches('#'), true),
        }
    };
    let mut fx = record(app, rating);
    fx.push(Effect::Repaint);
    fx
}

/// `X` in the compare view: the contact sheet of its runs at the step on screen, written to
/// `<runs>/exports/contact-step<S>-<time>.png` (the loop says where when it is written).
pub fn contact_sheet(app: &mut App) -> Vec<Effect> {
    let Some(c) = app.compare.as_ref() else {
        return Vec::new();
    };
    let Some(step) = compare::steps(&c.runs).get(c.step_idx).copied() else {
        app.notify("no samples to put on a contact sheet yet");
        return Vec::new();
    };
    let out = app.runs_dir.join("exports").join(format!(
        "contact-step{step}-{}.png",
        crate::run_dir::timestamp_id(app.now)
    ));
    let runs = c.runs.iter().map(|r| r.dir.clone()).collect();
    app.notify(format!("writing the contact sheet at step {step}…"));
    vec![Effect::ContactSheet { runs, step, out }]
}

/// Scrubbing, probes, focus, flip and the overlaid term of the compare view; probes of the grid.
pub fn navigate(app: &mut App, a: Action) -> Vec<Effect> {
    match a {
        Action::ToggleLogY => app.chart.log_y = !app.chart.log_y,
        Action::SmoothMore => app.chart.smoothing = (app.chart.smoothing + 0.1).min(0.99),
        Action::SmoothLess => app.chart.smoothing = (app.chart.smoothing - 0.1).max(0.0),
        _ => {}
    }
    if let (View::Grid, Some(g)) = (app.view, app.grid.as_mut()) {
        let probes = g.runs.iter().map(|r| r.probes().len()).max().unwrap_or(1);
        match a {
            Action::PrevProbe => g.probe = g.probe.saturating_sub(1),
            Action::NextProbe => g.probe = (g.probe + 1).min(probes.saturating_sub(1)),
            _ => {}
        }
        return Vec::new();
    }
    let Some(c) = app.compare.as_mut() else {
        return Vec::new();
    };
    let layout = c.panels();
    let n = compare::steps(&c.runs).len();
    if let Some(idx) = super::scrub(a, c.step_idx, n) {
        c.seek = None;
        c.step_idx = idx;
        c.follow = idx + 1 >= n;
    }
    match a {
        Action::PrevProbe => c.probe = c.probe.saturating_sub(1),
        Action::NextProbe => c.probe += 1,
        Action::FocusPrev => c.focus = c.focus.saturating_sub(1),
        Action::FocusNext => c.focus += 1,
        Action::NextTerm => {
            let n = compare::terms(&c.runs).len().max(1);
            c.term = (c.term + 1) % n;
        }
        Action::Flip => {
            c.flip = match c.flip {
                None => Some(c.focus.min(1)),
                Some(0) => Some(1),
                Some(_) => Some(0),
            };
        }
        Action::Back => c.flip = None,
        Action::ToggleWipe => {
            c.wipe = match c.wipe {
                Some(_) => None,
                None => Some(500),
            };
            c.flip = None;
        }
        Action::WipeLeft | Action::WipeRight => {
            let at = c.wipe.unwrap_or(500);
            c.wipe = Some(match a {
                Action::WipeLeft => at.saturating_sub(compare::WIPE_STEP),
                _ => (at + compare::WIPE_STEP).min(1000),
            });
            c.flip = None;
        }
        Action::ToggleDiff => c.diff = !c.diff,
        Action::Zoom => c.region = c.region.cycle(),
        Action::PanLeft => c.region = c.region.pan(-1, 0),
        Action::PanRight => c.region = c.region.pan(1, 0),
        Action::PanUp => c.region = c.region.pan(0, -1),
        Action::PanDown => c.region = c.region.pan(0, 1),
        _ => {}
    }
    c.settle();
    // A layout change: sixel images of the old layout must go.
    if layout != c.panels() {
        vec![Effect::Repaint]
    } else {
        Vec::new()
    }
}

/// A click or drag on the compare view's wipe moves its split there.
pub fn drag_wipe(app: &mut App, column: u16, row: u16) -> Vec<Effect> {
    let area = crate::tui::layout::compare_panes(app.size).images;
    let Some(c) = app.compare.as_mut().filter(|c| c.wipe.is_some()) else {
        return Vec::new();
    };
    if row < area.y || row >= area.bottom() {
        return Vec::new();
    }
    if let Some((_, rect)) = c
        .columns(area)
        .into_iter()
        .find(|(p, r)| matches!(p, compare::Panel::Wipe(..)) && column >= r.x && column < r.right())
    {
        c.wipe = Some(Compare::split_at(rect, column));
    }
    Vec::new()
}
