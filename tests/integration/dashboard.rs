//! The dashboard driven headless: messages into `update`, effects out; views drawn into ratatui's
//! `TestBackend` with the half-block picker and snapshotted with insta, on fixture run
//! directories written here.

use crate::common::dashboard::{app_with_runs, code, fixture_run, fixture_runs, key};
use atelier::run_dir::{self, Command, RunState};
use atelier::tui::app::{App, Effect, Msg, Overlay, View};
use atelier::tui::update::update;
use crossterm::event::{KeyCode, KeyModifiers};
use std::path::Path;

/// One running fixture run, opened in the run view with its files already polled once.
fn open_live_run(tmp: &Path, now: f64) -> (App, atelier::tui::workers::Watched) {
    let dir = fixture_run(tmp, "20261121-110000-beta", RunState::Running, 100, 10, now);
    let mut app = app_with_runs(tmp, now);
    update(&mut app, code(KeyCode::Enter));
    let mut watched = atelier::tui::workers::Watched::new(dir);
    update(&mut app, Msg::RunData(Box::new(watched.poll())));
    (app, watched)
}

#[test]
fn keys_drive_the_runs_table_and_open_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    fixture_runs(
        tmp.path(),
        &[
            ("20261121-100000-alpha", RunState::Finished, 400, 40),
            ("20261121-110000-beta", RunState::Running, 100, 10),
        ],
        now,
    );
    let mut app = app_with_runs(tmp.path(), now + 5.0);
    assert_eq!(
        app.visible_runs()[0].id,
        "20261121-110000-beta",
        "newest first"
    );
    assert_eq!(app.visible_runs()[0].state.label(), "running");
    update(&mut app, key('j'));
    assert_eq!(app.selected_run().unwrap().id, "20261121-100000-alpha");
    // Filter to beta, then clear with Esc.
    update(&mut app, key('/'));
    for c in "bet".chars() {
        update(&mut app, key(c));
    }
    update(&mut app, code(KeyCode::Enter));
    assert_eq!(app.visible_runs().len(), 1);
    assert_eq!(update(&mut app, key('q')), vec![Effect::Quit]);
    app.quit = false;
    update(&mut app, code(KeyCode::Esc));
    assert_eq!(app.visible_runs().len(), 2);

    app.selected = 0;
    let fx = update(&mut app, code(KeyCode::Enter));
    assert_eq!(app.view, View::Run);
    assert!(fx.contains(&Effect::Watch(Some(
        tmp.path().join("20261121-110000-beta")
    ))));
    // Pause goes to the open run's control file and is pending until acknowledged.
    let fx = update(&mut app, key('p'));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Control {
            command: Command::Pause,
            ..
        }
    )));
    assert_eq!(app.run.as_ref().unwrap().pending.len(), 1);
    // A knob needs the current value: refused until the run's spec has arrived.
    assert!(update(&mut app, key('w')).is_empty());
    assert!(app.toast.as_ref().unwrap().0.contains("not known yet"));
    let dir = tmp.path().join("20261121-110000-beta");
    let delta = atelier::tui::workers::Watched::new(dir).poll();
    update(&mut app, Msg::RunData(Box::new(delta)));
    // Style weight up sends a set with 1.5x the spec value (default 1000).
    let fx = update(&mut app, key('w'));
    assert!(fx.iter().any(|e| matches!(e, Effect::Control { command: Command::Set { key, value }, .. } if key == "loss.style_weight" && (*value - 1500.0).abs() < 1e-9)), "{fx:?}");
    // Stop asks first; anything but y cancels.
    update(&mut app, key('s'));
    assert!(matches!(app.overlay, Some(Overlay::ConfirmStop { .. })));
    let fx = update(&mut app, key('n'));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Control { .. })));
    update(&mut app, key('s'));
    let fx = update(&mut app, key('y'));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Control {
            command: Command::Stop,
            ..
        }
    )));
    let fx = update(&mut app, code(KeyCode::Esc));
    assert_eq!(app.view, View::Runs);
    assert!(fx.contains(&Effect::Watch(None)));
}

#[test]
fn finished_runs_refuse_live_commands_and_offer_resume_and_fork() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    fixture_run(
        tmp.path(),
        "20261121-100000-alpha",
        RunState::Stopped,
        200,
        20,
        now,
    );
    let mut app = app_with_runs(tmp.path(), now);
    assert!(update(&mut app, key('p')).is_empty());
    assert!(app.toast.as_ref().unwrap().0.contains("not running"));
    let fx = update(&mut app, key('r'));
    assert_eq!(
        fx,
        vec![Effect::Resume(tmp.path().join("20261121-100000-alpha"))]
    );
    // The table row's spec is read off the UI thread: the poller answers the effect.
    let fx = update(&mut app, key('f'));
    let Some(Effect::ReadSpec { id, dir }) = fx.into_iter().next() else {
        panic!("fork asks the poller for the spec")
    };
    update(&mut app, atelier::tui::workers::read_spec(id, dir));
    let Some(Overlay::Launch(form)) = &app.overlay else {
        panic!("fork form")
    };
    assert_eq!(form.fork_of.as_deref(), Some("20261121-100000-alpha"));
    assert_eq!(form.fields[0].value, "quickstart-fork");
    // Typing into the steps field and Enter launches from the run's own spec.
    update(&mut app, code(KeyCode::Tab));
    for _ in 0..3 {
        update(&mut app, code(KeyCode::Backspace));
    }
    for c in "900".chars() {
        update(&mut app, key(c));
    }
    let fx = update(&mut app, code(KeyCode::Enter));
    let launch = fx.iter().find_map(|e| match e {
        Effect::Launch {
            spec,
            overrides,
            name,
        } => Some((spec.clone(), overrides.clone(), name.clone())),
        _ => None,
    });
    let (spec, overrides, name) = launch.expect("launch effect");
    assert_eq!(spec, tmp.path().join("20261121-100000-alpha/spec.toml"));
    assert_eq!(overrides, vec!["train.steps=900".to_string()]);
    assert_eq!(name.as_deref(), Some("quickstart-fork"));
}

#[test]
fn run_data_updates_follow_latest_and_acknowledgements_clear_pending() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    let (mut app, mut w) = open_live_run(tmp.path(), now);
    let dir = tmp.path().join("20261121-110000-beta");
    let run = app.run.as_ref().unwrap();
    assert_eq!(run.metrics.len(), 10);
    assert_eq!(run.shown_step(), Some(100), "follows the latest sample");
    assert_eq!(run.probes().len(), 2);
    update(&mut app, key('['));
    assert_eq!(app.run.as_ref().unwrap().shown_step(), Some(50));
    assert!(!app.run.as_ref().unwrap().follow);
    update(&mut app, code(KeyCode::End));
    assert!(app.run.as_ref().unwrap().follow);

    // A pending pause is cleared by the trainer's ack; a set ack updates the knob shown.
    let fx = update(&mut app, key('p'));
    let Some(Effect::Control { id, .. }) = fx.into_iter().next() else {
        panic!()
    };
    let ev = |id: &str, key: Option<&str>| run_dir::Event {
        time: now,
        step: 101,
        kind: "ack".into(),
        id: Some(id.into()),
        message: "ok".into(),
        key: key.map(String::from),
        value: key.map(|_| 3e6),
    };
    run_dir::append_json(&dir.join("events.jsonl"), &ev(&id, None)).unwrap();
    run_dir::append_json(
        &dir.join("events.jsonl"),
        &ev("other", Some("loss.style_weight")),
    )
    .unwrap();
    update(&mut app, Msg::RunData(Box::new(w.poll())));
    let run = app.run.as_ref().unwrap();
    assert!(run.pending.is_empty());
    assert_eq!(run.knobs()[&atelier::terms::Knob::StyleWeight], 3e6);
}

#[test]
fn chart_cursor_and_options() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut app, _) = open_live_run(tmp.path(), run_dir::now());
    update(&mut app, code(KeyCode::Left));
    assert_eq!(app.run.as_ref().unwrap().cursor, Some(9));
    update(&mut app, code(KeyCode::Left));
    update(&mut app, code(KeyCode::Right));
    assert_eq!(app.run.as_ref().unwrap().cursor, Some(9));
    update(&mut app, key('.'));
    assert_eq!(app.run.as_ref().unwrap().cursor, None);
    update(&mut app, key('l'));
    update(&mut app, key('+'));
    assert!(app.chart.log_y);
    assert!((app.chart.smoothing - 0.7).abs() < 1e-9);
    update(&mut app, key('?'));
    assert_eq!(app.overlay, Some(Overlay::Help));
    update(&mut app, code(KeyCode::Esc));
    assert_eq!(app.overlay, None);
}

#[test]
fn mouse_selects_opens_and_scrolls() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    fixture_runs(
        tmp.path(),
        &[
            ("20261121-100000-alpha", RunState::Finished, 400, 4),
            ("20261121-110000-beta", RunState::Finished, 400, 4),
        ],
        now,
    );
    let mut app = app_with_runs(tmp.path(), now);
    let mouse = |kind, row| {
        Msg::Mouse(MouseEvent {
            kind,
            column: 5,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    // Row 0 is the title, row 1 the table header: the second run is on row 3.
    update(&mut app, mouse(MouseEventKind::Down(MouseButton::Left), 3));
    assert_eq!(app.selected_run().unwrap().id, "20261121-100000-alpha");
    update(&mut app, mouse(MouseEventKind::ScrollUp, 10));
    assert_eq!(app.selected, 0);
    update(&mut app, mouse(MouseEventKind::ScrollDown, 10));
    assert_eq!(app.selected, 1);
    // A click on the selected row opens it; a click below the last row does nothing.
    let fx = update(&mut app, mouse(MouseEventKind::Down(MouseButton::Left), 3));
    assert_eq!(app.view, View::Run);
    assert!(fx.contains(&Effect::Watch(Some(
        tmp.path().join("20261121-100000-alpha")
    ))));
    update(&mut app, code(KeyCode::Esc));
    update(&mut app, mouse(MouseEventKind::Down(MouseButton::Left), 20));
    assert_eq!(app.view, View::Runs);
}
