//! `update(&mut App, Msg) -> Vec<Effect>`: the only place the dashboard's state changes. Keys are
//! looked up in the key table (`keys`) and turned into actions; text input (filter, launch form)
//! and overlays are handled first. Pure: effects describe I/O for the loop to do.

mod groups;
mod judging;
mod looks;
mod restore;

use super::app::{App, Effect, Msg, Overlay, Pending, RunView, View};
use super::filter::SortBy;
use super::form::LaunchForm;
use super::keys::{self, Action, Context};
use super::layout;
use crate::run_dir::{Command, RunState};
use crate::terms::Dial;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEventKind};

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    // Chart series are derived state: recomputed only when what they depend on changed.
    let opts_before = app.chart.clone();
    let metrics_news = matches!(&msg, Msg::RunData(d) if d.metrics.is_reset() || !d.metrics.records().is_empty()
            || d.scores.is_reset() || !d.scores.records().is_empty());
    let resized = matches!(msg, Msg::Resize(..));
    let term_before = app.compare.as_ref().map(|c| c.term);
    let groups_before = (app.band, app.groups.clone(), app.peers.len());
    let overlay_before = app.overlay.is_some();
    let mut effects = apply_msg(app, msg);
    // Images are not drawn under an overlay, and an image already on screen would stay on top of
    // it (Konsole, iTerm2): opening an overlay repaints without them, closing one re-sends them.
    if app.overlay.is_some() != overlay_before {
        effects.push(Effect::Repaint);
    }
    let mut repaint = false;
    effects.retain(|e| *e != Effect::Repaint || !std::mem::replace(&mut repaint, true));
    effects.extend(groups::sync_peers(app));
    let redo = metrics_news
        || resized
        || app.chart != opts_before
        || groups_before != (app.band, app.groups.clone(), app.peers.len());
    if redo {
        // With the band on, the open run's chart is its seed group's (the peers tailed for it).
        let App {
            run,
            peers,
            groups: found,
            band,
            chart,
            size,
            ..
        } = &mut *app;
        if let Some(run) = run.as_mut() {
            let members: Vec<&RunView> = match found.of(&run.id).filter(|_| *band) {
                Some(g) => peers.iter().filter(|p| g.members.contains(&p.id)).collect(),
                None => Vec::new(),
            };
            run.charts = super::charts::compute(run, &members, chart, *size);
        }
    }
    if let Some(c) = app
        .compare
        .as_mut()
        .filter(|c| redo || term_before != Some(c.term))
    {
        let term = c.term_name().unwrap_or_default();
        let width = super::layout::compare_panes(app.size).chart.width as usize * 2;
        if app.band {
            (c.curves, c.bands) = super::compare::band_curves(
                &c.runs,
                &app.peers,
                &app.groups,
                &term,
                &app.chart,
                width,
            );
        } else {
            c.curves = super::compare::curves(&c.runs, &term, &app.chart, width);
            c.bands = Vec::new();
        }
    }
    effects.extend(restore::save_if_changed(app));
    effects
}

fn apply_msg(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Tick(now) => {
            app.now = now;
            if app.toast.as_ref().is_some_and(|(_, until)| *until < now) {
                app.toast = None;
            }
            Vec::new()
        }
        Msg::Resize(w, h) => {
            app.size = (w, h);
            vec![Effect::Repaint]
        }
        Msg::Focus(true) | Msg::Shown => vec![Effect::Repaint],
        Msg::Focus(false) => Vec::new(),
        Msg::Runs(runs) => {
            let keep = app.selected_run().map(|r| r.id.clone());
            let new_ids = !app
                .runs
                .iter()
                .map(|r| &r.id)
                .eq(runs.iter().map(|r| &r.id));
            app.runs = runs;
            if let Some(id) = keep {
                if let Some(i) = app.visible_runs().iter().position(|r| r.id == id) {
                    app.selected = i;
                }
            }
            app.selected = app.selected.min(app.visible_runs().len().saturating_sub(1));
            app.regroup();
            if new_ids {
                app.rescore();
                if !app.filter.is_empty() {
                    app.set_filter(app.filter.clone());
                }
            }
            let mut fx = restore::apply_pending(app);
            fx.extend(judging::refresh_grid(app));
            fx.extend(looks::follow_runs(app));
            fx
        }
        Msg::Restore(loaded) => restore::received(app, loaded),
        Msg::RunData(delta) => {
            if let Some(run) = app.views_mut().find(|r| r.dir == delta.dir) {
                run.absorb(*delta);
            }
            if let Some(c) = app.compare.as_mut() {
                c.settle();
            }
            Vec::new()
        }
        Msg::Look(result) => {
            looks::answered(app, result);
            Vec::new()
        }
        Msg::Ratings(update) => {
            match update {
                crate::store::tail::Update::Reset(v) => app.ledger.reset(v),
                crate::store::tail::Update::Appended(v) => app.ledger.extend(v),
            }
            app.rescore();
            judging::refresh_grid(app)
        }
        Msg::Experiments(list) => {
            if matches!(app.overlay, Some(Overlay::Launch(_))) || app.overlay.is_none() {
                if list.is_empty() {
                    app.notify(format!(
                        "no *.toml specs in {}",
                        app.experiments_dir.display()
                    ));
                } else {
                    app.overlay = Some(Overlay::Launch(LaunchForm::new(list)));
                }
            }
            Vec::new()
        }
        Msg::ImagesReady => Vec::new(),
        Msg::Facts(facts) => {
            app.facts = facts;
            app.regroup();
            if !app.filter.is_empty() {
                app.set_filter(app.filter.clone());
            }
            app.selected = app.selected.min(app.visible_runs().len().saturating_sub(1));
            Vec::new()
        }
        Msg::Gpus(gpus) => {
            app.gpus.absorb(app.now, gpus);
            Vec::new()
        }
        Msg::Notify(m) => {
            app.notify(m);
            Vec::new()
        }
        Msg::ForkSpec { id, dir, spec } => fork_form(app, id, dir, *spec),
        Msg::Key(k) if k.kind == KeyEventKind::Press => key(app, k),
        Msg::Key(_) => Vec::new(),
        Msg::Mouse(m) => mouse(app, m),
    }
}

/// The key context on screen: an overlay or text input, else the view's.
fn context(app: &App) -> Context {
    match &app.overlay {
        Some(Overlay::Help) => Context::Help,
        Some(Overlay::ConfirmStop { .. }) => Context::Confirm,
        Some(Overlay::Prompt(_)) => Context::Prompt,
        Some(Overlay::Launch(_)) => Context::Form,
        None if app.filtering => Context::Filter,
        None => Context::of(app.view),
    }
}

fn key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    let context = context(app);
    let action = keys::lookup(context, &k);
    let typed = match k.code {
        KeyCode::Char(c) if action.is_none() && context.is_text() => Some(c),
        _ => None,
    };
    if action == Some(Action::Quit) {
        app.quit = true;
        return vec![Effect::Quit];
    }
    match context {
        Context::Help => {
            if action == Some(Action::Back) {
                app.overlay = None;
                return vec![Effect::Repaint];
            }
            Vec::new()
        }
        Context::Confirm => confirm_stop(app, action),
        Context::Prompt => prompt_key(app, action, typed),
        Context::Form => form_key(app, action, typed),
        Context::Filter => {
            match (action, typed) {
                (Some(Action::Back), _) => {
                    app.set_filter(String::new());
                    app.filtering = false;
                }
                (Some(Action::Submit), _) => app.filtering = false,
                (Some(Action::DeleteChar), _) => {
                    let mut text = app.filter.clone();
                    text.pop();
                    app.set_filter(text);
                }
                (_, Some(c)) if app.filter.chars().count() < 300 => {
                    let text = format!("{}{c}", app.filter);
                    app.set_filter(text);
                }
                _ => {}
            }
            app.selected = 0;
            Vec::new()
        }
        _ => action.map_or_else(Vec::new, |a| self::action(app, a)),
    }
}

fn confirm_stop(app: &mut App, action: Option<Action>) -> Vec<Effect> {
    let Some(Overlay::ConfirmStop { id, dir }) = app.overlay.take() else {
        return Vec::new();
    };
    let mut fx = vec![Effect::Repaint];
    if action == Some(Action::Confirm) {
        fx.extend(send(app, dir, Command::Stop, format!("stop {id}")));
    } else {
        app.notify("stop cancelled");
    }
    fx
}

fn prompt_key(app: &mut App, action: Option<Action>, typed: Option<char>) -> Vec<Effect> {
    let Some(Overlay::Prompt(mut p)) = app.overlay.take() else {
        return Vec::new();
    };
    match (action, typed) {
        (Some(Action::Back), _) => return vec![Effect::Repaint],
        (Some(Action::Submit), _) => return judging::submit(app, p),
        (Some(Action::DeleteChar), _) => {
            p.text.pop();
        }
        (_, Some(c)) if p.text.chars().count() < 200 => p.text.push(c),
        _ => {}
    }
    app.overlay = Some(Overlay::Prompt(p));
    Vec::new()
}

fn form_key(app: &mut App, action: Option<Action>, typed: Option<char>) -> Vec<Effect> {
    let Some(Overlay::Launch(mut form)) = app.overlay.take() else {
        return Vec::new();
    };
    match (action, typed) {
        (Some(Action::Back), _) => return vec![Effect::Repaint],
        (Some(Action::Submit), _) => match form.request() {
            Ok((spec, overrides, name)) => {
                app.notify(format!("launching {}…", name.as_deref().unwrap_or("run")));
                return vec![
                    Effect::Repaint,
                    Effect::Launch {
                        spec,
                        overrides,
                        name,
                    },
                ];
            }
            Err(e) => app.notify(e),
        },
        (Some(Action::NextField), _) => form.next_focus(),
        (Some(Action::Up), _) => form.move_selection(-1),
        (Some(Action::Down), _) => form.move_selection(1),
        (Some(Action::DeleteChar), _) => form.backspace(),
        (_, Some(c)) => form.type_char(c),
        _ => {}
    }
    app.overlay = Some(Overlay::Launch(form));
    Vec::new()
}

/// An action in a view: the global ones here, the rest by the view's own handler.
fn action(app: &mut App, a: Action) -> Vec<Effect> {
    match a {
        Action::Quit => {
            app.quit = true;
            vec![Effect::Quit]
        }
        Action::Help => {
            app.overlay = Some(Overlay::Help);
            Vec::new()
        }
        Action::Launch => vec![Effect::ListExperiments],
        _ => match app.view {
            View::Runs => runs_action(app, a),
            View::Run => run_action(app, a),
            View::Compare | View::Grid => judging_action(app, a),
        },
    }
}

fn runs_action(app: &mut App, a: Action) -> Vec<Effect> {
    let rows = app.visible_runs().len();
    let last = rows.saturating_sub(1);
    match a {
        Action::Back => app.set_filter(String::new()),
        Action::Up => app.selected = app.selected.saturating_sub(1),
        Action::Down => app.selected = (app.selected + 1).min(last),
        Action::PageUp => app.selected = app.selected.saturating_sub(10),
        Action::PageDown => app.selected = (app.selected + 10).min(last),
        Action::Filter => app.filtering = true,
        Action::ToggleFold => return groups::toggle_fold(app),
        Action::Open => return open_selected(app),
        Action::ToggleMark => return judging::toggle_mark(app),
        Action::Compare => return judging::open_compare(app),
        Action::Judge => return judging::open_grid(app),
        Action::SortNext | Action::SortFlip => {
            app.sort = match a {
                Action::SortNext => app.sort.next(),
                _ => app.sort.flipped(),
            };
            app.selected = 0;
            let dir = if app.sort.descending { "▼" } else { "▲" };
            app.notify(match app.sort.by {
                SortBy::Time => format!("ordered by creation {dir}"),
                SortBy::Score => format!("ordered by score (Bradley–Terry, ± one sd) {dir}"),
                by => format!("ordered by {} {dir}", by.header().to_lowercase()),
            });
        }
        Action::Tag => return judging::prompt(app, false),
        Action::Note => return judging::prompt(app, true),
        Action::Undo => return judging::undo(app),
        Action::TogglePause | Action::Stop | Action::Resume | Action::Fork => {
            return run_command(app, a)
        }
        _ => {}
    }
    Vec::new()
}

fn run_action(app: &mut App, a: Action) -> Vec<Effect> {
    match a {
        Action::Back => close_run(app),
        Action::TogglePause | Action::Stop | Action::Checkpoint | Action::Resume | Action::Fork => {
            run_command(app, a)
        }
        Action::KnobUp(dial) => knob(app, dial, true),
        Action::KnobDown(dial) => knob(app, dial, false),
        Action::Tag => judging::prompt(app, false),
        Action::Note => judging::prompt(app, true),
        Action::Undo => judging::undo(app),
        Action::Rate(n) => judging::stars(app, n),
        Action::ToggleTeacher => toggle_teacher(app),
        Action::ToggleBand => groups::toggle_band(app),
        Action::ToggleLook
        | Action::StrengthUp
        | Action::StrengthDown
        | Action::SaturationUp
        | Action::SaturationDown
        | Action::TogglePreserve
        | Action::TogglePalette
        | Action::NextStyle
        | Action::PrevStyle
        | Action::StyleGrid
        | Action::SaveLook => looks::adjust(app, a),
        _ => match app.run.as_mut() {
            Some(run) => {
                let probe = run.probe;
                navigate(run, &mut app.chart, a);
                // The look preview follows the selected probe.
                if run.probe != probe && run.look.is_some() {
                    looks::request(run, app.size, app.cell_px)
                } else {
                    Vec::new()
                }
            }
            None => Vec::new(),
        },
    }
}

/// A distilled run's gallery: its teacher beside the student, or the critic's map.
fn toggle_teacher(app: &mut App) -> Vec<Effect> {
    let Some(run) = app.run.as_mut() else {
        return Vec::new();
    };
    if run.teacher.is_empty() {
        app.notify("no teacher images: this is not a distilled run (atelier distill)");
        return Vec::new();
    }
    run.show_critic = !run.show_critic;
    let shown = if run.show_critic {
        "the critic's map"
    } else {
        "the teacher"
    };
    app.notify(format!("beside the student: {shown}"));
    Vec::new()
}

/// The compare view and the best-of-k grid.
fn judging_action(app: &mut App, a: Action) -> Vec<Effect> {
    match a {
        // Esc first leaves the A/B flip, then the view.
        Action::Back if app.compare.as_ref().is_none_or(|c| c.flip.is_none()) => {
            app.view = View::Runs;
            app.compare = None;
            app.grid = None;
            vec![Effect::Repaint, Effect::WatchMany(Vec::new())]
        }
        Action::Undo => judging::undo(app),
        Action::Rate(n) => judging::stars(app, n),
        Action::Worst(n) => judging::worst(app, n),
        Action::Tie => judging::tie(app),
        Action::ToggleBand if app.view == View::Compare => groups::toggle_band(app),
        Action::ContactSheet => judging::contact_sheet(app),
        Action::Skip => judging::skip(app),
        Action::EndStudy => match app.grid.as_ref().and_then(|g| g.study.clone()) {
            Some(study) => {
                app.notify(format!(
                    "study {study}: fitting the top predicted configuration…"
                ));
                vec![Effect::EndStudy(study)]
            }
            None => {
                app.notify("these are marked runs, not a study");
                Vec::new()
            }
        },
        _ => judging::navigate(app, a),
    }
}

fn open_selected(app: &mut App) -> Vec<Effect> {
    let Some(r) = app.selected_run() else {
        return Vec::new();
    };
    let dir = std::path::PathBuf::from(&r.dir);
    app.run = Some(RunView {
        dir: dir.clone(),
        id: r.id.clone(),
        follow: true,
        ..RunView::default()
    });
    app.view = View::Run;
    vec![Effect::Repaint, Effect::Watch(Some(dir))]
}

fn close_run(app: &mut App) -> Vec<Effect> {
    app.view = View::Runs;
    app.run = None;
    vec![Effect::Repaint, Effect::Watch(None)]
}

/// The run a command applies to (the open one in the run view, the selected one in the table):
/// id, directory, reported state, stalled. The open run's own status wins once it has arrived.
fn target(app: &App) -> Option<(String, std::path::PathBuf, Option<RunState>, bool)> {
    let from_summary = |r: &crate::store::RunSummary| {
        let state = match r.state {
            crate::store::Liveness::Reported(s) => Some(s),
            _ => None,
        };
        (
            r.id.clone(),
            std::path::PathBuf::from(&r.dir),
            state,
            r.state == crate::store::Liveness::Stalled,
        )
    };
    match (&app.view, &app.run) {
        (View::Run, Some(r)) if r.status.is_some() => {
            let stalled = matches!(r.liveness, Some(crate::store::Liveness::Stalled));
            Some((
                r.id.clone(),
                r.dir.clone(),
                r.status.as_ref().map(|s| s.state),
                stalled,
            ))
        }
        (View::Run, Some(r)) => app
            .runs
            .iter()
            .find(|s| std::path::Path::new(&s.dir) == r.dir)
            .map(from_summary),
        _ => app.selected_run().map(from_summary),
    }
}

/// A Slurm run waiting in the queue (stop cancels its job).
fn queued(app: &App, dir: &std::path::Path) -> bool {
    app.runs
        .iter()
        .any(|r| std::path::Path::new(&r.dir) == dir && r.state == crate::store::Liveness::Queued)
}

fn send(app: &mut App, run: std::path::PathBuf, command: Command, label: String) -> Vec<Effect> {
    let id = app.command_id();
    if let Some(view) = app.run.as_mut().filter(|v| v.dir == run) {
        view.pending.push(Pending {
            id: id.clone(),
            label: label.clone(),
            sent: app.now,
        });
    }
    app.notify(format!("sent: {label}"));
    vec![Effect::Control { run, id, command }]
}

fn run_command(app: &mut App, a: Action) -> Vec<Effect> {
    let Some((id, dir, state, stalled)) = target(app) else {
        app.notify("no run selected");
        return Vec::new();
    };
    let live = matches!(
        state,
        Some(RunState::Running | RunState::Paused | RunState::Starting)
    ) && !stalled;
    match a {
        Action::Resume if live => {
            app.notify(format!(
                "{id} is still {}",
                state.map_or("starting", |s| s.as_str())
            ));
            Vec::new()
        }
        Action::Resume => {
            app.notify(format!("resuming {id}…"));
            vec![Effect::Resume(dir)]
        }
        Action::Fork => {
            // The open run's spec is at hand; a table row's is read by the poller.
            match app
                .run
                .as_ref()
                .filter(|r| r.dir == dir)
                .and_then(|r| r.spec.clone())
            {
                Some(spec) => fork_form(app, id, dir, Ok(spec)),
                None => vec![Effect::ReadSpec { id, dir }],
            }
        }
        Action::Stop if queued(app, &dir) => {
            app.overlay = Some(Overlay::ConfirmStop { id, dir });
            Vec::new()
        }
        _ if !live => {
            app.notify(format!("{id} is not running"));
            Vec::new()
        }
        Action::TogglePause if state == Some(RunState::Paused) => {
            send(app, dir, Command::Resume, "resume".into())
        }
        Action::TogglePause => send(app, dir, Command::Pause, "pause".into()),
        Action::Checkpoint => send(app, dir, Command::Checkpoint, "checkpoint".into()),
        Action::Stop => {
            app.overlay = Some(Overlay::ConfirmStop { id, dir });
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// The fork form for a run, once its spec has been read.
pub(super) fn fork_form(
    app: &mut App,
    id: String,
    dir: std::path::PathBuf,
    spec: Result<crate::spec::Spec, String>,
) -> Vec<Effect> {
    match spec {
        Ok(spec) if app.overlay.is_none() => {
            let path = dir.join(crate::run_dir::SPEC);
            app.overlay = Some(Overlay::Launch(LaunchForm::fork(&id, path, spec)));
            vec![Effect::Repaint]
        }
        Ok(_) => Vec::new(),
        Err(e) => {
            app.notify(format!("{id} has no readable spec.toml: {e}"));
            Vec::new()
        }
    }
}

/// Live knob steps: x1.5 or /1.5 of the current value.
fn knob(app: &mut App, dial: Dial, up: bool) -> Vec<Effect> {
    let Some(run) = app.run.as_ref().filter(|_| app.view == View::Run) else {
        return Vec::new();
    };
    let (Some(mode), knobs) = (run.spec.as_ref().map(|s| s.mode), run.knobs()) else {
        app.notify("the knobs' current values are not known yet (waiting for the run's spec)");
        return Vec::new();
    };
    let (Some(key), Some(current)) = (
        dial.key(mode),
        dial.knob(mode).and_then(|k| knobs.get(&k).copied()),
    ) else {
        app.notify(format!("no {dial:?} knob for {}", mode.as_str()));
        return Vec::new();
    };
    let value = if up { current * 1.5 } else { current / 1.5 };
    let value = if dial == Dial::Lr {
        value.min(1.0)
    } else {
        value
    };
    let dir = run.dir.clone();
    send(
        app,
        dir,
        Command::Set {
            key: key.into(),
            value,
        },
        format!("{key} = {value:.4e}"),
    )
}

/// Where a scrubbing key moves an index over `n` sample steps (None: not a scrubbing key).
/// The caller follows new steps exactly when the result is the last one.
pub(super) fn scrub(a: Action, idx: usize, n: usize) -> Option<usize> {
    let last = n.saturating_sub(1);
    let to = match a {
        Action::PrevSample => idx.saturating_sub(1),
        Action::NextSample => idx + 1,
        Action::PrevSample10 => idx.saturating_sub(10),
        Action::NextSample10 => idx + 10,
        Action::FirstSample => 0,
        Action::LatestSample => last,
        _ => return None,
    };
    Some(to.min(last))
}

fn navigate(run: &mut RunView, chart: &mut super::app::ChartOpts, a: Action) {
    let n = run.samples.len();
    if let Some(idx) = scrub(a, run.sample_idx, n) {
        run.sample_idx = idx;
        run.follow = idx + 1 >= n;
        return;
    }
    match a {
        Action::PrevProbe => run.probe = run.probe.saturating_sub(1),
        Action::NextProbe => run.probe = (run.probe + 1).min(run.probes().len().saturating_sub(1)),
        Action::CursorLeft => {
            run.cursor = Some(run.cursor.unwrap_or(run.metrics.len()).saturating_sub(1))
        }
        Action::CursorRight => {
            run.cursor = run
                .cursor
                .map(|c| (c + 1).min(run.metrics.len().saturating_sub(1)))
        }
        Action::CursorOff => run.cursor = None,
        Action::ToggleLogY => chart.log_y = !chart.log_y,
        Action::ToggleXAxis => chart.x_time = !chart.x_time,
        Action::SmoothMore => chart.smoothing = (chart.smoothing + 0.1).min(0.99),
        Action::SmoothLess => chart.smoothing = (chart.smoothing - 0.1).max(0.0),
        _ => {}
    }
}

fn mouse(app: &mut App, m: crossterm::event::MouseEvent) -> Vec<Effect> {
    if app.overlay.is_some() {
        return Vec::new();
    }
    match (app.view, m.kind) {
        (View::Runs, MouseEventKind::ScrollUp) => runs_action(app, Action::Up),
        (View::Runs, MouseEventKind::ScrollDown) => runs_action(app, Action::Down),
        (View::Runs, MouseEventKind::Down(MouseButton::Left)) => {
            let rows = layout::runs_rows(app.size, app.gpus.height());
            if m.row >= rows.y && m.row < rows.y + rows.height {
                let idx =
                    (m.row - rows.y) as usize + layout::runs_offset(app.selected, rows.height);
                if idx < app.visible_runs().len() {
                    if idx == app.selected {
                        return open_selected(app);
                    }
                    app.selected = idx;
                }
            }
            Vec::new()
        }
        (
            View::Compare,
            MouseEventKind::Down(MouseButton::Left) | MouseEventKind::Drag(MouseButton::Left),
        ) => judging::drag_wipe(app, m.column, m.row),
        (View::Run, MouseEventKind::ScrollUp) => run_action(app, Action::PrevSample),
        (View::Run, MouseEventKind::ScrollDown) => run_action(app, Action::NextSample),
        _ => Vec::new(),
    }
}
