//! The session half of `update`: a saved session (`session::Session`) applied to the app once
//! the first runs scan has arrived, so every run it names can be checked against the runs that
//! exist. Whatever is gone (a deleted run, a compare view with fewer than two runs left) is
//! dropped with a note; nothing here fails. And the saving side: after every update the app's
//! place is compared with the one last handed out, and a change becomes `Effect::SaveSession`.

use crate::tui::app::{App, Effect, RunView, View};
use crate::tui::compare::Compare;
use crate::tui::session::Session;
use std::path::PathBuf;

/// A loaded session (or why it did not load): kept until the runs are known.
pub fn received(app: &mut App, loaded: Result<Session, String>) -> Vec<Effect> {
    match loaded {
        Ok(s) => app.restore = Some(s),
        Err(e) => app.notify(format!("session not restored ({e}): starting fresh")),
    }
    Vec::new()
}

/// Apply the pending session, if any (after a runs scan).
pub fn apply_pending(app: &mut App) -> Vec<Effect> {
    match app.restore.take() {
        Some(s) => apply(app, s),
        None => Vec::new(),
    }
}

/// The directory of a run the scan has.
fn dir_of(app: &App, id: &str) -> Option<PathBuf> {
    app.runs
        .iter()
        .find(|r| r.id == id)
        .map(|r| PathBuf::from(&r.dir))
}

/// Put the app where the session was; runs that no longer exist are left out, with a note.
pub fn apply(app: &mut App, s: Session) -> Vec<Effect> {
    let mut gone: Vec<String> = Vec::new();
    app.chart.smoothing = s.smoothing.clamp(0.0, 0.99);
    app.chart.log_y = s.log_y;
    app.chart.x_time = s.x_time;
    app.sort = s.sort;
    app.fold = s.fold;
    app.band = s.band;
    app.set_filter(s.filter);
    app.marks = s.marks;
    app.marks.dedup();
    app.marks.retain(|id| {
        let known = app.runs.iter().any(|r| r.id == *id);
        if !known {
            gone.push(id.clone());
        }
        known
    });
    app.marks.truncate(super::judging::MAX_SIDE_BY_SIDE);
    if let Some(id) = &s.selected {
        if let Some(i) = app.visible_runs().iter().position(|r| r.id == *id) {
            app.selected = i;
        }
    }
    let mut fx = vec![Effect::Repaint];
    match s.view {
        View::Run => match s.run.as_ref().and_then(|r| Some((r, dir_of(app, &r.id)?))) {
            Some((saved, dir)) => {
                app.run = Some(RunView {
                    dir: dir.clone(),
                    id: saved.id.clone(),
                    follow: saved.step.is_none(),
                    seek: saved.step,
                    probe: saved.probe,
                    ..RunView::default()
                });
                app.view = View::Run;
                fx.push(Effect::Watch(Some(dir)));
            }
            None => gone.extend(s.run.map(|r| r.id)),
        },
        View::Compare => {
            let saved = s.compare.unwrap_or_default();
            let runs: Vec<RunView> = saved
                .runs
                .iter()
                .filter_map(|id| match dir_of(app, id) {
                    Some(dir) => Some(RunView {
                        dir,
                        id: id.clone(),
                        follow: true,
                        ..RunView::default()
                    }),
                    None => {
                        gone.push(id.clone());
                        None
                    }
                })
                .take(super::judging::MAX_SIDE_BY_SIDE)
                .collect();
            if runs.len() >= 2 {
                fx.push(Effect::WatchMany(
                    runs.iter().map(|r| r.dir.clone()).collect(),
                ));
                let mut c = Compare::new(runs);
                c.probe = saved.probe;
                c.seek = saved.step;
                c.follow = saved.step.is_none();
                app.compare = Some(c);
                app.view = View::Compare;
            }
        }
        View::Runs | View::Grid => {}
    }
    gone.sort();
    gone.dedup();
    if !gone.is_empty() {
        let names: Vec<&str> = gone.iter().map(|id| crate::run_dir::run_name(id)).collect();
        app.notify(format!(
            "session restored without {} (no longer in {})",
            names.join(", "),
            app.runs_dir.display()
        ));
    } else if app.view != View::Runs {
        app.notify("session restored (atelier --fresh starts without it)");
    }
    fx
}

/// `Effect::SaveSession` when the app's place differs from the one last handed out (never while
/// a loaded session still waits for the runs).
pub fn save_if_changed(app: &mut App) -> Option<Effect> {
    if app.restore.is_some() {
        return None;
    }
    let now = Session::of(app);
    if app.saved.as_ref() == Some(&now) {
        return None;
    }
    app.saved = Some(now.clone());
    Some(Effect::SaveSession(now))
}
