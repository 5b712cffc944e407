//! Session restore driven headless: keys change the dashboard's place, `update` hands it out as
//! `Effect::SaveSession`, and a new app given that session (`Msg::Restore`, then the first runs
//! scan) draws the very same screen. A session naming runs that were deleted since, and a file
//! that does not read, leave the dashboard in the runs table with a note.

use crate::common::dashboard::{app_with_runs, ch, fixture_runs, press, settle};
use crate::judging::feed;
use atelier::run_dir::{self, RunState};
use atelier::store;
use atelier::tui::app::{App, Effect, Msg, View};
use atelier::tui::images::{halfblock_picker, Images};
use atelier::tui::session::{self, Session};
use atelier::tui::update::update;
use atelier::tui::workers::Watched;
use crossterm::event::KeyCode;
use std::path::{Path, PathBuf};

const IDS: [&str; 3] = [
    "20261121-100000-alpha",
    "20261121-110000-beta",
    "20261121-120000-gamma",
];

fn runs(tmp: &Path, now: f64) {
    fixture_runs(
        tmp,
        &[
            (IDS[0], RunState::Finished, 400, 40),
            (IDS[1], RunState::Finished, 100, 10),
            (IDS[2], RunState::Finished, 100, 10),
        ],
        now,
    );
}

/// The last session an update handed out, over a sequence of effects lists.
fn saved(fx: &[Effect]) -> Option<Session> {
    fx.iter().rev().find_map(|e| match e {
        Effect::SaveSession(s) => Some(s.clone()),
        _ => None,
    })
}

/// What the loop does with `Watch`: one poll of the run's files.
fn feed_one(app: &mut App, fx: &[Effect]) {
    for e in fx {
        if let Effect::Watch(Some(d)) = e {
            update(app, Msg::RunData(Box::new(Watched::new(d.clone()).poll())));
        }
    }
    feed(app, fx);
}

/// A new dashboard given `s`, then its first runs scan (and the polls its effects ask for).
fn restored(tmp: &Path, now: f64, s: Session) -> (App, Vec<Effect>) {
    let mut app = App::new(PathBuf::from("runs"), PathBuf::from("experiments"), now);
    app.size = (120, 36);
    let fx = update(&mut app, Msg::Restore(Ok(s)));
    assert!(saved(&fx).is_none(), "nothing is saved before the restore");
    let fx = update(&mut app, Msg::Runs(store::scan(tmp)));
    feed_one(&mut app, &fx);
    (app, fx)
}

fn screen(app: &mut App, images: &Images) -> String {
    app.toast = None;
    settle(app, images, 120, 36).backend().to_string()
}

#[test]
fn the_run_view_reopens_where_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    runs(tmp.path(), now);
    let mut app = app_with_runs(tmp.path(), now);
    let mut last = None;
    let mut track = |fx: Vec<Effect>| {
        if let Some(s) = saved(&fx) {
            last = Some(s);
        }
        fx
    };
    // Filter, order by name, mark two runs, then open beta and move around in it.
    track(ch(&mut app, '/'));
    for c in "state=finished".chars() {
        track(ch(&mut app, c));
    }
    track(press(&mut app, KeyCode::Enter));
    track(ch(&mut app, 'o'));
    track(ch(&mut app, 'o'));
    track(ch(&mut app, ' '));
    track(ch(&mut app, ' '));
    assert_eq!(app.marks, [IDS[0], IDS[1]]);
    assert_eq!(app.selected_run().unwrap().id, IDS[2]);
    track(press(&mut app, KeyCode::Up));
    let fx = track(press(&mut app, KeyCode::Enter));
    feed_one(&mut app, &fx);
    assert_eq!(app.run.as_ref().unwrap().id, IDS[1]);
    track(ch(&mut app, '['));
    track(press(&mut app, KeyCode::Down));
    for c in ['l', '+', 'x'] {
        track(ch(&mut app, c));
    }
    let run = app.run.as_ref().unwrap();
    assert_eq!(
        (run.shown_step(), run.probe, run.follow),
        (Some(50), 1, false)
    );
    let s = last.clone().expect("changes were handed out for saving");
    assert_eq!(s, Session::of(&app), "the latest change is the one saved");
    assert_eq!(s.view, View::Run);
    assert_eq!(s.run.as_ref().unwrap().step, Some(50));
    // An unchanged place is not handed out again.
    assert!(saved(&update(&mut app, Msg::Tick(now + 1.0))).is_none());

    // Through the file, as the loop writes and reads it.
    session::save(tmp.path(), &s).unwrap();
    let loaded = session::load(tmp.path()).unwrap().unwrap();
    let (mut back, fx) = restored(tmp.path(), now, loaded);
    assert!(fx.contains(&Effect::Watch(Some(tmp.path().join(IDS[1])))));
    assert_eq!(back.view, View::Run);
    assert_eq!(back.chart, app.chart);
    assert_eq!(
        (back.filter.as_str(), back.sort),
        ("state=finished", app.sort)
    );
    assert_eq!(back.marks, app.marks);
    let run = back.run.as_ref().unwrap();
    assert_eq!(
        (run.shown_step(), run.probe, run.follow),
        (Some(50), 1, false)
    );
    assert_eq!(Session::of(&back), s);
    let images = Images::new(halfblock_picker(), || {});
    assert_eq!(screen(&mut back, &images), screen(&mut app, &images));
    // Back in the table, the selection is where it was.
    update(&mut back, Msg::Tick(app.now));
    press(&mut back, KeyCode::Esc);
    press(&mut app, KeyCode::Esc);
    assert_eq!(
        back.selected_run().map(|r| r.id.clone()),
        app.selected_run().map(|r| r.id.clone())
    );
    assert_eq!(screen(&mut back, &images), screen(&mut app, &images));
}

#[test]
fn the_compare_view_reopens_with_its_runs_and_step() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    runs(tmp.path(), now);
    let mut app = app_with_runs(tmp.path(), now);
    ch(&mut app, ' ');
    ch(&mut app, ' ');
    let fx = ch(&mut app, 'c');
    feed(&mut app, &fx);
    ch(&mut app, '[');
    let c = app.compare.as_ref().unwrap();
    assert_eq!((c.step(), c.follow), (Some(50), false));
    let s = Session::of(&app);
    assert_eq!(s.compare.as_ref().unwrap().runs, [IDS[2], IDS[1]]);
    let (back, fx) = restored(tmp.path(), now, s.clone());
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::WatchMany(d) if d.len() == 2)));
    assert_eq!(back.view, View::Compare);
    let c = back.compare.as_ref().unwrap();
    assert_eq!((c.step(), c.follow, c.seek), (Some(50), false, None));
    assert_eq!(Session::of(&back), s);
}

#[test]
fn runs_deleted_since_are_left_out_with_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    runs(tmp.path(), now);
    let mut app = app_with_runs(tmp.path(), now);
    ch(&mut app, ' ');
    ch(&mut app, ' ');
    let fx = ch(&mut app, 'c');
    feed(&mut app, &fx);
    let compare = Session::of(&app);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    let fx = press(&mut app, KeyCode::Enter);
    feed_one(&mut app, &fx);
    let run = Session::of(&app);
    assert_eq!(run.run.as_ref().unwrap().id, IDS[2]);
    std::fs::remove_dir_all(tmp.path().join(IDS[2])).unwrap();

    // The open run is gone: the runs table, and a note naming it.
    let (back, fx) = restored(tmp.path(), now, run);
    assert_eq!(back.view, View::Runs);
    assert!(back.run.is_none());
    assert!(!fx.iter().any(|e| matches!(e, Effect::Watch(Some(_)))));
    let note = &back.toast.as_ref().unwrap().0;
    assert!(note.contains("without gamma"), "{note}");
    assert_eq!(
        back.marks,
        [IDS[1]],
        "the mark of the deleted run is dropped"
    );
    // One of the two compared runs is gone: no compare view of one run.
    let (back, _) = restored(tmp.path(), now, compare);
    assert_eq!(back.view, View::Runs);
    assert!(back.compare.is_none());
    assert!(back.toast.as_ref().unwrap().0.contains("gamma"));
}

#[test]
fn a_file_that_does_not_read_is_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    runs(tmp.path(), now);
    std::fs::write(session::path(tmp.path()), "{\"view\": 3").unwrap();
    let loaded = session::load(tmp.path()).unwrap();
    let mut app = App::new(PathBuf::from("runs"), PathBuf::from("experiments"), now);
    let fx = update(&mut app, Msg::Restore(loaded));
    let note = &app.toast.as_ref().unwrap().0;
    assert!(note.contains("session not restored"), "{note}");
    assert!(note.contains(session::FILE), "{note}");
    // Nothing waits: the fresh place is saved at once (replacing the bad file).
    assert_eq!(saved(&fx).map(|s| s.view), Some(View::Runs));
    update(&mut app, Msg::Runs(store::scan(tmp.path())));
    assert_eq!(app.view, View::Runs);
}
