//! `update(&mut App, Msg) -> Vec<Effect>`: the only place the dashboard's state changes. Keys are
//! looked up in the key table (`keys`) and turned into actions; text input (filter, launch form)
//! and overlays are handled first. Pure: effects describe I/O for the loop to do.

mod judging;
mod looks;

use super::app::{App, Effect, Msg, Overlay, Pending, RunView, View};
use super::form::LaunchForm;
use super::keys::{self, Action, Context};
use super::layout;
use crate::run_dir::{Command, RunState};
use crate::spec::Mode;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEventKind};

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    // Chart series are derived state: recomputed only when what they depend on changed.
    let opts_before = app.chart.clone();
    let metrics_news = matches!(&msg, Msg::RunData(d) if d.metrics.is_reset() || !d.metrics.records().is_empty()
            || d.scores.is_reset() || !d.scores.records().is_empty());
    let resized = matches!(msg, Msg::Resize(..));
    let term_before = app.compare.as_ref().map(|c| c.term);
    let effects = apply_msg(app, msg);
    let redo = metrics_news || resized || app.chart != opts_before;
    if let Some(run) = app.run.as_mut() {
        if redo {
            run.charts = super::charts::compute(run, &app.chart, app.size);
        }
    }
    if let Some(c) = app
        .compare
        .as_mut()
        .filter(|c| redo || term_before != Some(c.term))
    {
        let term = c.term_name().unwrap_or_default();
        let width = super::layout::compare_panes(app.size).chart.width as usize * 2;
        c.curves = super::compare::curves(&c.runs, &term, &app.chart, width);
    }
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
            vec![Effect::ClearImages]
        }
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
            if new_ids {
                app.rescore();
            }
            judging::refresh_grid(app)
        }
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
            if let Some(l) = app
                .run
                .as_mut()
                .filter(|r| r.dir == result.run)
                .and_then(|r| r.look.as_mut())
            {
                l.done = l.done.max(result.seq);
                match result.outcome {
                    Ok((path, step)) if result.seq == l.seq => {
                        l.image = Some(path);
                        l.checkpoint = Some(step);
                        l.error = None;
                    }
                    Ok(_) => {}
                    Err(e) => l.error = Some(e),
                }
            }
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
        Msg::Notify(m) => {
            app.notify(m);
            Vec::new()
        }
        Msg::Key(k) if k.kind == KeyEventKind::Press => key(app, k),
        Msg::Key(_) => Vec::new(),
        Msg::Mouse(m) => mouse(app, m),
    }
}

fn key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    // Overlays and text input first.
    match app.overlay.take() {
        Some(Overlay::Help) => {
            let close = matches!(
                k.code,
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q')
            );
            if !close {
                app.overlay = Some(Overlay::Help);
                return Vec::new();
            }
            return vec![Effect::ClearImages];
        }
        Some(Overlay::ConfirmStop { id, dir }) => {
            let mut fx = vec![Effect::ClearImages];
            if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                fx.extend(send(app, dir, Command::Stop, format!("stop {id}")));
            } else {
                app.notify("stop cancelled");
            }
            return fx;
        }
        Some(Overlay::Prompt(mut p)) => {
            match k.code {
                KeyCode::Esc => return vec![Effect::ClearImages],
                KeyCode::Enter => return judging::submit(app, p),
                KeyCode::Backspace => {
                    p.text.pop();
                }
                KeyCode::Char(c) if p.text.chars().count() < 200 => p.text.push(c),
                _ => {}
            }
            app.overlay = Some(Overlay::Prompt(p));
            return Vec::new();
        }
        Some(Overlay::Launch(mut form)) => {
            match k.code {
                KeyCode::Esc => return vec![Effect::ClearImages],
                KeyCode::Enter => match form.request() {
                    Ok((spec, overrides, name)) => {
                        app.notify(format!("launching {}…", name.as_deref().unwrap_or("run")));
                        return vec![
                            Effect::ClearImages,
                            Effect::Launch {
                                spec,
                                overrides,
                                name,
                            },
                        ];
                    }
                    Err(e) => app.notify(e),
                },
                KeyCode::Tab => form.next_focus(),
                KeyCode::BackTab => form.move_selection(-1),
                KeyCode::Up => form.move_selection(-1),
                KeyCode::Down => form.move_selection(1),
                KeyCode::Backspace => form.backspace(),
                KeyCode::Char(c) => form.type_char(c),
                _ => {}
            }
            app.overlay = Some(Overlay::Launch(form));
            return Vec::new();
        }
        None => {}
    }
    if app.filtering {
        match k.code {
            KeyCode::Esc => {
                app.filter.clear();
                app.filtering = false;
            }
            KeyCode::Enter => app.filtering = false,
            KeyCode::Backspace => {
                app.filter.pop();
            }
            KeyCode::Char(c) => app.filter.push(c),
            _ => {}
        }
        app.selected = 0;
        return Vec::new();
    }
    let context = match app.view {
        View::Runs => Context::Runs,
        View::Run => Context::Run,
        View::Compare => Context::Compare,
        View::Grid => Context::Grid,
    };
    match keys::lookup(context, &k) {
        Some(a) => action(app, a),
        None => Vec::new(),
    }
}

fn action(app: &mut App, a: Action) -> Vec<Effect> {
    let rows = app.visible_runs().len();
    match a {
        Action::Quit => {
            app.quit = true;
            vec![Effect::Quit]
        }
        Action::Help => {
            app.overlay = Some(Overlay::Help);
            Vec::new()
        }
        Action::Back if app.view == View::Run => close_run(app),
        Action::Back
            if app.view == View::Compare
                && app.compare.as_ref().is_some_and(|c| c.flip.is_some()) =>
        {
            judging::navigate(app, a)
        }
        Action::Back if matches!(app.view, View::Compare | View::Grid) => {
            app.view = View::Runs;
            app.compare = None;
            app.grid = None;
            vec![Effect::ClearImages, Effect::WatchMany(Vec::new())]
        }
        Action::ToggleMark => judging::toggle_mark(app),
        Action::Compare => judging::open_compare(app),
        Action::Judge => judging::open_grid(app),
        Action::SortByScore => {
            app.by_score = !app.by_score;
            app.selected = 0;
            app.notify(if app.by_score {
                "ordered by score (Bradley–Terry, ± one sd)"
            } else {
                "ordered by time"
            });
            Vec::new()
        }
        Action::Tag => judging::prompt(app, false),
        Action::Note => judging::prompt(app, true),
        Action::Undo => judging::undo(app),
        Action::Rate(n) => judging::stars(app, n),
        Action::ToggleLook
        | Action::StrengthUp
        | Action::StrengthDown
        | Action::SaturationUp
        | Action::SaturationDown
        | Action::TogglePreserve => looks::steer(app, a),
        Action::Worst(n) => judging::worst(app, n),
        Action::Tie => judging::tie(app),
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
        _ if matches!(app.view, View::Compare | View::Grid) => judging::navigate(app, a),
        Action::Back => {
            app.filter.clear();
            Vec::new()
        }
        Action::Launch => vec![Effect::ListExperiments],
        Action::Up => {
            app.selected = app.selected.saturating_sub(1);
            Vec::new()
        }
        Action::Down => {
            app.selected = (app.selected + 1).min(rows.saturating_sub(1));
            Vec::new()
        }
        Action::PageUp => {
            app.selected = app.selected.saturating_sub(10);
            Vec::new()
        }
        Action::PageDown => {
            app.selected = (app.selected + 10).min(rows.saturating_sub(1));
            Vec::new()
        }
        Action::Filter => {
            app.filtering = true;
            Vec::new()
        }
        Action::Open => open_selected(app),
        Action::TogglePause | Action::Stop | Action::Checkpoint | Action::Resume | Action::Fork => {
            run_command(app, a)
        }
        Action::MainWeightUp
        | Action::MainWeightDown
        | Action::SecondWeightUp
        | Action::SecondWeightDown
        | Action::LrUp
        | Action::LrDown => knob(app, a),
        _ => match app.run.as_mut() {
            Some(run) => {
                let probe = run.probe;
                navigate(run, &mut app.chart, a);
                // The look preview follows the selected probe.
                if run.probe != probe && run.look.is_some() {
                    looks::request(run)
                } else {
                    Vec::new()
                }
            }
            None => Vec::new(),
        },
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
    vec![Effect::ClearImages, Effect::Watch(Some(dir))]
}

fn close_run(app: &mut App) -> Vec<Effect> {
    app.view = View::Runs;
    app.run = None;
    vec![Effect::ClearImages, Effect::Watch(None)]
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
            let spec = app
                .run
                .as_ref()
                .filter(|r| r.dir == dir)
                .and_then(|r| r.spec.clone());
            let spec =
                spec.or_else(|| crate::store::read_spec(&crate::run_dir::RunDir::new(&dir)).ok());
            match spec {
                Some(spec) => {
                    app.overlay = Some(Overlay::Launch(LaunchForm::fork(
                        &id,
                        dir.join(crate::run_dir::SPEC),
                        spec,
                    )))
                }
                None => app.notify(format!("{id} has no readable spec.toml")),
            }
            vec![Effect::ClearImages]
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

/// Live knob steps: x1.5 or /1.5 of the current value.
fn knob(app: &mut App, a: Action) -> Vec<Effect> {
    let Some(run) = app.run.as_ref().filter(|_| app.view == View::Run) else {
        return Vec::new();
    };
    let mode = run.spec.as_ref().map_or(Mode::SingleStyle, |s| s.mode);
    let (key, up) = match (a, mode) {
        (Action::MainWeightUp, Mode::SingleStyle) => ("loss.style_weight", true),
        (Action::MainWeightDown, Mode::SingleStyle) => ("loss.style_weight", false),
        (Action::SecondWeightUp, Mode::SingleStyle) => ("loss.content_weight", true),
        (Action::SecondWeightDown, Mode::SingleStyle) => ("loss.content_weight", false),
        (Action::MainWeightUp, Mode::Cyclegan) => ("loss.cycle_weight", true),
        (Action::MainWeightDown, Mode::Cyclegan) => ("loss.cycle_weight", false),
        (Action::SecondWeightUp, Mode::Cyclegan) => ("loss.identity_weight", true),
        (Action::SecondWeightDown, Mode::Cyclegan) => ("loss.identity_weight", false),
        (Action::LrUp, _) => ("optim.lr", true),
        _ => ("optim.lr", false),
    };
    let knobs = run.knobs();
    let Some(current) = knobs
        .get(if key == "optim.lr" { "optim.lr_g" } else { key })
        .copied()
    else {
        app.notify(format!(
            "{key}: current value not known yet (waiting for the run's spec)"
        ));
        return Vec::new();
    };
    let value = if up { current * 1.5 } else { current / 1.5 };
    let value = if key == "optim.lr" {
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
        (View::Runs, MouseEventKind::ScrollUp) => action(app, Action::Up),
        (View::Runs, MouseEventKind::ScrollDown) => action(app, Action::Down),
        (View::Runs, MouseEventKind::Down(MouseButton::Left)) => {
            let rows = layout::runs_rows(app.size);
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
        (View::Run, MouseEventKind::ScrollUp) => action(app, Action::PrevSample),
        (View::Run, MouseEventKind::ScrollDown) => action(app, Action::NextSample),
        _ => Vec::new(),
    }
}
