//! Filtering and sorting the runs table, driven headless: a filter over config values, latest
//! scores and tags typed at `/`, a bad expression that shows its error and keeps the table, and
//! the sort keys (`o` next column, `O` reverse). A snapshot of the filtered, sorted table.

use crate::common::dashboard::{app_with_runs, ch, press, settle};
use crate::judging::study_fixture;
use atelier::run_dir;
use atelier::tui::app::{App, Msg};
use atelier::tui::filter::SortBy;
use atelier::tui::images::{halfblock_picker, Images};
use atelier::tui::runs_table::FactsReader;
use atelier::tui::update::update;
use crossterm::event::KeyCode;

fn names(app: &App) -> Vec<String> {
    app.visible_runs().iter().map(|r| r.name.clone()).collect()
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        ch(app, c);
    }
}

/// The study fixture (style weights tune-1 1e5, tune-2 1e6, tune-3 3e4, tune-4 3e6), tune-4
/// tagged `good`, the poller's facts read.
fn table(tmp: &std::path::Path, now: f64) -> App {
    study_fixture(tmp, now);
    let mut app = app_with_runs(tmp, now);
    assert_eq!(names(&app), ["tune-4", "tune-3", "tune-2", "tune-1"]);
    ch(&mut app, 't');
    typed(&mut app, "good");
    press(&mut app, KeyCode::Enter);
    let facts = FactsReader::default().read(&app.runs);
    assert_eq!(
        facts.values().next().unwrap().scores.get("texture_gain"),
        Some(&0.6),
        "the latest step's mean over the probes"
    );
    update(&mut app, Msg::Facts(facts));
    app
}

#[test]
fn filter_by_config_scores_and_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = table(tmp.path(), run_dir::now());
    ch(&mut app, '/');
    typed(&mut app, "loss.style_weight>2e5 texture_gain>0.5");
    assert_eq!(app.filter_error, None);
    assert_eq!(names(&app), ["tune-4", "tune-2"]);
    typed(&mut app, " tag:good");
    assert_eq!(names(&app), ["tune-4"]);
    // A bad expression says what is wrong and keeps the table as it was.
    typed(&mut app, " optim.lr>");
    let err = app.filter_error.clone().unwrap();
    assert!(err.contains("no value after >"), "{err}");
    assert_eq!(names(&app), ["tune-4"]);
    typed(&mut app, "x");
    assert!(app
        .filter_error
        .as_deref()
        .unwrap()
        .contains("`x` is not one"));
    for _ in 0.." optim.lr>x".len() {
        press(&mut app, KeyCode::Backspace);
    }
    assert_eq!(app.filter_error, None);
    // A key no run has is an error too, not an empty table.
    typed(&mut app, " loss.no_such>1");
    assert!(app
        .filter_error
        .as_deref()
        .unwrap()
        .contains("no run has `loss.no_such`"));
    assert_eq!(names(&app), ["tune-4"]);
    // Enter keeps the text typed; the error stays in view.
    press(&mut app, KeyCode::Enter);
    assert!(!app.filtering);
    assert_eq!(
        app.filter,
        "loss.style_weight>2e5 texture_gain>0.5 tag:good loss.no_such>1"
    );
    // Text and the other operators; bare words match names and ids.
    ch(&mut app, '/');
    for _ in 0..80 {
        press(&mut app, KeyCode::Backspace);
    }
    typed(&mut app, "mode=single_style optim.lr<=1e-3 state!=running");
    assert_eq!(names(&app), ["tune-3", "tune-1"]);
    typed(&mut app, " 100000");
    assert_eq!(names(&app), ["tune-1"], "a substring of the id");
    // Esc in the filter clears it.
    press(&mut app, KeyCode::Esc);
    assert_eq!(names(&app).len(), 4);
    assert_eq!(app.filter, "");
}

#[test]
fn sort_by_any_column_and_reverse() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = table(tmp.path(), run_dir::now());
    ch(&mut app, 'o');
    assert_eq!(app.sort.by, SortBy::Score);
    ch(&mut app, 'o');
    assert_eq!((app.sort.by, app.sort.descending), (SortBy::Name, false));
    assert_eq!(names(&app), ["tune-1", "tune-2", "tune-3", "tune-4"]);
    ch(&mut app, 'O');
    assert_eq!(names(&app), ["tune-4", "tune-3", "tune-2", "tune-1"]);
    // Back round to creation order; O gives the oldest first.
    while app.sort.by != SortBy::Time {
        ch(&mut app, 'o');
    }
    assert_eq!(names(&app), ["tune-4", "tune-3", "tune-2", "tune-1"]);
    ch(&mut app, 'O');
    assert_eq!(names(&app), ["tune-1", "tune-2", "tune-3", "tune-4"]);
}

#[test]
fn filtered_sorted_table_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let now = 1_790_000_000.0;
    let mut app = table(tmp.path(), now);
    ch(&mut app, '/');
    typed(&mut app, "loss.style_weight>=1e5 nope>1");
    press(&mut app, KeyCode::Enter);
    ch(&mut app, 'o');
    ch(&mut app, 'o');
    let images = Images::new(halfblock_picker(), || {});
    let screen = settle(&app, &images, 120, 24)
        .backend()
        .to_string()
        .replace(&tmp.path().display().to_string(), "<runs>");
    insta::assert_snapshot!("runs_filtered_sorted", screen);
}
