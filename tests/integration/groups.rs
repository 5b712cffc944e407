//! Seed groups driven headless: three runs of one spec that differ only in `train.seed` (and a
//! fourth with another budget) become one group once the poller's facts arrive; `G` folds the
//! runs table into one row per group (mean ± sd), `B` draws a group's mean and min–max band in
//! the compare view and the run view, tailing the members not on screen. Snapshots of the folded
//! table and of the compare view's band.

use crate::common::dashboard::{app_with_runs, ch, fixture_run, settle};
use crate::judging::feed;
use atelier::run_dir::{self, MetricRow, RunState};
use atelier::tui::app::{App, Effect, Msg, View};
use atelier::tui::images::{halfblock_picker, Images};
use atelier::tui::runs_table::FactsReader;
use atelier::tui::update::update;
use atelier::tui::workers::Watched;
use crossterm::event::KeyCode;
use std::path::{Path, PathBuf};

/// A finished run of `quickstart` with this seed and step budget, its losses scaled by the seed
/// (so the members differ).
fn seeded(runs: &Path, id: &str, seed: u64, steps: u64, now: f64) -> PathBuf {
    let dir = fixture_run(runs, id, RunState::Finished, 100, 10, now);
    std::fs::write(
        dir.join(run_dir::SPEC),
        format!("name = \"quickstart\"\nmode = \"single_style\"\n[data]\ncontent = \"builtin\"\nstyle = \"builtin\"\nimage_size = 64\n[train]\nsteps = {steps}\nseed = {seed}\ndevice = \"cuda:{seed}\"\n"),
    )
    .unwrap();
    let status = dir.join(run_dir::STATUS);
    let mut s: atelier::run_dir::Status =
        serde_json::from_slice(&std::fs::read(&status).unwrap()).unwrap();
    s.name = "quickstart".into();
    std::fs::write(&status, serde_json::to_vec(&s).unwrap()).unwrap();
    let path = dir.join(run_dir::METRICS);
    let scale = 1.0 + 0.1 * (seed as f64 - 2.0);
    let mut out = String::new();
    for line in std::fs::read_to_string(&path).unwrap().lines() {
        let mut row: MetricRow = serde_json::from_str(line).unwrap();
        for v in row.losses.values_mut() {
            *v *= scale;
        }
        out.push_str(&serde_json::to_string(&row).unwrap());
        out.push('\n');
    }
    std::fs::write(&path, out).unwrap();
    dir
}

/// Seeds 1, 2, 3 of one spec and a run with another budget (newest first in the table:
/// other, seed-3, seed-2, seed-1), facts read.
fn workspace(tmp: &Path, now: f64) -> App {
    seeded(tmp, "20261205-100000-seed-1", 1, 400, now);
    seeded(tmp, "20261205-100100-seed-2", 2, 400, now);
    seeded(tmp, "20261205-100200-seed-3", 3, 400, now);
    seeded(tmp, "20261205-100300-other", 2, 300, now);
    let mut app = app_with_runs(tmp, now);
    let facts = FactsReader::default().read(&app.runs);
    update(&mut app, Msg::Facts(facts));
    app
}

fn names(app: &App) -> Vec<String> {
    app.visible_runs().iter().map(|r| r.name.clone()).collect()
}

fn watched(fx: &[Effect]) -> Option<Vec<PathBuf>> {
    fx.iter().rev().find_map(|e| match e {
        Effect::WatchMany(d) => Some(d.clone()),
        _ => None,
    })
}

#[test]
fn runs_of_one_spec_differing_in_the_seed_fold_into_one_row() {
    let tmp = tempfile::tempdir().unwrap();
    let now = 1_790_000_000.0;
    let mut app = workspace(tmp.path(), now);
    assert_eq!(app.groups.list.len(), 1, "the other budget is not a member");
    let g = &app.groups.list[0];
    assert_eq!(g.members.len(), 3);
    assert_eq!(g.seeds, ["3", "2", "1"]);
    assert_eq!(names(&app), ["other", "seed-3", "seed-2", "seed-1"]);
    // Select seed-2, fold: its group's row (seed-3 stands for it) stays selected.
    ch(&mut app, 'j');
    ch(&mut app, 'j');
    ch(&mut app, 'G');
    assert!(app.fold);
    assert_eq!(names(&app), ["other", "seed-3"]);
    assert_eq!(app.selected, 1);
    assert!(app.toast.as_ref().unwrap().0.contains("1 seed group"));
    // The mean ± sd of the latest g_total: losses were scaled by 0.9, 1.0, 1.1.
    let s = app.groups.list[0].stats["g_total"];
    let last = app.runs.iter().find(|r| r.name == "seed-2").unwrap();
    let base = last.last.as_ref().unwrap().losses["g_total"];
    assert!((s.mean - base).abs() < 1e-9, "{} vs {base}", s.mean);
    assert!((s.sd - 0.1 * base).abs() < 1e-9);
    let images = Images::new(halfblock_picker(), || {});
    let screen = settle(&app, &images, 140, 24)
        .backend()
        .to_string()
        .replace(&tmp.path().display().to_string(), "<runs>");
    insta::assert_snapshot!("runs_folded", screen);
    // The filter still sees every run; the fold applies to what it keeps.
    ch(&mut app, '/');
    for c in "seed-1".chars() {
        ch(&mut app, c);
    }
    crate::common::dashboard::press(&mut app, KeyCode::Enter);
    assert_eq!(names(&app), ["seed-1"]);
    crate::common::dashboard::press(&mut app, KeyCode::Esc);
    ch(&mut app, 'G');
    assert!(!app.fold);
    assert_eq!(names(&app).len(), 4);
}

#[test]
fn the_compare_view_shows_a_groups_mean_and_band() {
    let tmp = tempfile::tempdir().unwrap();
    let now = 1_790_000_000.0;
    let mut app = workspace(tmp.path(), now);
    // Folded, mark the group's row (A) and the other run (B), compare.
    ch(&mut app, 'G');
    ch(&mut app, 'j');
    ch(&mut app, ' ');
    ch(&mut app, 'k');
    ch(&mut app, ' ');
    let fx = ch(&mut app, 'c');
    feed(&mut app, &fx);
    assert_eq!(app.view, View::Compare);
    assert!(app.compare.as_ref().unwrap().bands.is_empty());
    let fx = ch(&mut app, 'B');
    let dirs = watched(&fx).expect("the group's other members are tailed");
    assert_eq!(dirs.len(), 4, "the two compared runs and seed-2, seed-1");
    assert_eq!(app.peers.len(), 2);
    feed(&mut app, &fx);
    let c = app.compare.as_ref().unwrap();
    assert!(c.bands[0].len() >= 2, "seed-3 group has a band");
    assert!(c.bands[1].is_empty(), "the other run has no group");
    // The mean lies inside its band at every step, and the band has width.
    let (mean, band) = (&c.curves[0], &c.bands[0]);
    let lo = |x: f64| {
        band.iter()
            .filter(|p| p.0 == x)
            .map(|p| p.1)
            .fold(f64::INFINITY, f64::min)
    };
    let hi = |x: f64| {
        band.iter()
            .filter(|p| p.0 == x)
            .map(|p| p.1)
            .fold(f64::NEG_INFINITY, f64::max)
    };
    for &(x, y) in mean {
        assert!(
            lo(x) <= y && y <= hi(x),
            "{x}: {y} outside {}..{}",
            lo(x),
            hi(x)
        );
    }
    assert!(mean.iter().any(|&(x, _)| hi(x) - lo(x) > 1e-3));
    let images = Images::new(halfblock_picker(), || {});
    let screen = settle(&app, &images, 120, 36)
        .backend()
        .to_string()
        .replace(&tmp.path().display().to_string(), "<runs>");
    insta::assert_snapshot!("compare_band", screen);
    // Off: one line per run, the peers no longer tailed.
    let fx = ch(&mut app, 'B');
    assert_eq!(watched(&fx).map(|d| d.len()), Some(2));
    assert!(app.peers.is_empty());
    assert!(app.compare.as_ref().unwrap().bands.is_empty());
}

#[test]
fn the_run_view_shows_its_groups_mean_and_band() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    let mut app = workspace(tmp.path(), now);
    ch(&mut app, 'j');
    let fx = crate::common::dashboard::press(&mut app, KeyCode::Enter);
    let dir = tmp.path().join("20261205-100200-seed-3");
    assert!(fx.contains(&Effect::Watch(Some(dir.clone()))));
    update(&mut app, Msg::RunData(Box::new(Watched::new(dir).poll())));
    let alone = app.run.as_ref().unwrap().charts[0].clone();
    assert_eq!(alone.members, 0);
    let fx = ch(&mut app, 'B');
    assert_eq!(watched(&fx).map(|d| d.len()), Some(2), "seed-2 and seed-1");
    feed(&mut app, &fx);
    let banded = &app.run.as_ref().unwrap().charts[0];
    assert_eq!(banded.members, 3);
    // The mean of scales 1.1, 1.0, 0.9 is seed-2's own curve: below seed-3's.
    let (a, b) = (&alone.lines[0].smooth, &banded.lines[0].smooth);
    assert!(b.last().unwrap().1 < a.last().unwrap().1);
    // Off again: the run alone, nothing else tailed.
    let fx = ch(&mut app, 'B');
    assert_eq!(watched(&fx), Some(Vec::new()));
    assert_eq!(app.run.as_ref().unwrap().charts[0].members, 0);
    // Back in the table nothing is tailed for the band.
    ch(&mut app, 'B');
    let fx = crate::common::dashboard::press(&mut app, KeyCode::Esc);
    assert_eq!(watched(&fx), Some(Vec::new()));
    assert!(app.peers.is_empty());
}
