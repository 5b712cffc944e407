//! The seed-group half of `update`: folding the runs table (one row per group), the charts'
//! mean-and-band mode, and the runs it needs tailed. With the band on, the open run's group (run
//! view) or every compared run's group (compare view) is drawn as its mean and min–max band, so
//! the members not on screen are tailed as `App::peers` (`Effect::WatchMany`, beside the
//! compared runs); `sync_peers` runs after every update and asks only when that set changed.

use crate::tui::app::{App, Effect, RunView, View};
use std::path::PathBuf;

pub fn toggle_fold(app: &mut App) -> Vec<Effect> {
    let keep = app.selected_run().map(|r| r.id.clone());
    app.fold = !app.fold;
    let groups = app.groups.list.len();
    app.notify(match (app.fold, groups) {
        (true, 0) => "no seed groups (runs of one spec differing only in train.seed)".to_string(),
        (true, n) => format!("{n} seed group(s) folded: one row each, mean ± sd"),
        (false, _) => "seed groups unfolded".to_string(),
    });
    // The selection stays on its run, or on the row its group folded into.
    let group = keep.as_deref().and_then(|id| app.groups.index_of(id));
    let rows = app.visible_runs();
    app.selected = rows
        .iter()
        .position(|r| Some(&r.id) == keep.as_ref())
        .or_else(|| {
            rows.iter()
                .position(|r| group.is_some() && app.groups.index_of(&r.id) == group)
        })
        .unwrap_or(0);
    Vec::new()
}

pub fn toggle_band(app: &mut App) -> Vec<Effect> {
    app.band = !app.band;
    let on_screen: Vec<&str> = match app.view {
        View::Run => app.run.iter().map(|r| r.id.as_str()).collect(),
        View::Compare => app
            .compare
            .iter()
            .flat_map(|c| c.runs.iter().map(|r| r.id.as_str()))
            .collect(),
        _ => Vec::new(),
    };
    let grouped = on_screen.iter().any(|id| app.groups.of(id).is_some());
    app.notify(match (app.band, grouped) {
        (true, true) => "seed groups: mean line and min–max band",
        (true, false) => "band on, but no run here has a seed group",
        (false, _) => "band off: one line per run",
    });
    Vec::new()
}

/// The ids the band needs tailed besides the runs on screen.
fn wanted(app: &App) -> Vec<String> {
    if !app.band {
        return Vec::new();
    }
    let on_screen: Vec<&String> = match app.view {
        View::Run => app.run.iter().map(|r| &r.id).collect(),
        View::Compare => app
            .compare
            .iter()
            .flat_map(|c| c.runs.iter().map(|r| &r.id))
            .collect(),
        _ => return Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    for id in &on_screen {
        for m in app.groups.of(id).map_or(&[][..], |g| g.members.as_slice()) {
            if !on_screen.contains(&m) && !out.contains(m) && app.runs.iter().any(|r| r.id == *m) {
                out.push(m.clone());
            }
        }
    }
    out
}

/// Tail exactly the peers the band needs (after every update).
pub fn sync_peers(app: &mut App) -> Vec<Effect> {
    let want = wanted(app);
    if app.peers.iter().map(|p| &p.id).eq(want.iter()) {
        return Vec::new();
    }
    let mut old = std::mem::take(&mut app.peers);
    app.peers = want
        .into_iter()
        .filter_map(|id| match old.iter().position(|p| p.id == id) {
            Some(i) => Some(old.swap_remove(i)),
            None => {
                let dir = app.runs.iter().find(|r| r.id == id)?.dir.clone();
                Some(RunView {
                    dir: PathBuf::from(dir),
                    id,
                    follow: true,
                    ..RunView::default()
                })
            }
        })
        .collect();
    let mut dirs: Vec<PathBuf> = match (app.view, &app.compare) {
        (View::Compare, Some(c)) => c.runs.iter().map(|r| r.dir.clone()).collect(),
        _ => Vec::new(),
    };
    dirs.extend(app.peers.iter().map(|p| p.dir.clone()));
    vec![Effect::WatchMany(dirs)]
}
