//! Judging in the dashboard, driven headless: the best-of-4 key flow of a study's grid (worst,
//! tie, skip, undo), marks and the compare view (linked scrubber, A/B flip, stars), tags, the
//! score column, and the ledger surviving a restart. Snapshots of the compare view and the grid.

use crate::common::dashboard::{app_with_runs, ch, fixture_run, press, settle};
use atelier::ratings::{self, Kind, Ledger};
use atelier::run_dir::{self, RunState, Status};
use atelier::tui::app::{App, Effect, Msg, Overlay, View};
use atelier::tui::images::{halfblock_picker, Images};
use atelier::tui::update::update;
use atelier::tui::workers::Watched;
use crossterm::event::KeyCode;
use ratatui::backend::TestBackend;
use std::path::{Path, PathBuf};

/// The search space every study fixture uses.
pub const SEARCH: &str = "[search]\n\"loss.style_weight\" = { min = 1e4, max = 1e7, log = true }\n\"loss.content_weight\" = { min = 100.0, max = 1e4, log = true }\n\"optim.lr\" = { min = 1e-4, max = 1e-2, log = true }\n";

/// A member of study `tune` with the given searched values.
pub fn study_run(runs: &Path, id: &str, name: &str, values: [f64; 3], now: f64) -> PathBuf {
    let dir = fixture_run(runs, id, RunState::Finished, 400, 10, now);
    let spec = format!(
        "name = \"{name}\"\nmode = \"single_style\"\n[data]\ncontent = \"builtin\"\nstyle = \"builtin\"\nimage_size = 32\nprobe_count = 2\nbuiltin_count = 4\n\
         [generator]\nwidth = 4\nblocks = 1\n[discriminator]\nwidth = 4\nlayers = 2\n\
         [loss]\nstyle_weight = {:e}\ncontent_weight = {:e}\n[optim]\nlr = {:e}\n[train]\nsteps = 6\nbatch_size = 2\nbackend = \"flex\"\nthreads = 1\n{SEARCH}[study]\nname = \"tune\"\nacquisition = \"expected_improvement\"\n",
        values[0], values[1], values[2]
    );
    std::fs::write(dir.join(run_dir::SPEC), spec).unwrap();
    let path = dir.join(run_dir::STATUS);
    let mut status: Status = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    status.study = Some("tune".into());
    status.name = name.into();
    std::fs::write(&path, serde_json::to_vec(&status).unwrap()).unwrap();
    dir
}

/// Four members of study `tune`, oldest first.
pub fn study_fixture(runs: &Path, now: f64) -> Vec<PathBuf> {
    [
        [1e5, 1e3, 1e-3],
        [1e6, 300.0, 3e-3],
        [3e4, 3e3, 3e-4],
        [3e6, 150.0, 5e-3],
    ]
    .iter()
    .enumerate()
    .map(|(i, v)| {
        let name = format!("tune-{}", i + 1);
        study_run(runs, &format!("20261121-10000{i}-{name}"), &name, *v, now)
    })
    .collect()
}

/// Carry out the loop's side of effects that touch the poller: feed every watched run's files.
pub fn feed(app: &mut App, fx: &[Effect]) {
    for e in fx {
        if let Effect::WatchMany(dirs) = e {
            for d in dirs {
                update(app, Msg::RunData(Box::new(Watched::new(d.clone()).poll())));
            }
        }
    }
}

fn ratings_of(fx: &[Effect]) -> Vec<ratings::Rating> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Rate(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn open_study_grid(tmp: &Path, now: f64) -> (App, Vec<PathBuf>) {
    let dirs = study_fixture(tmp, now);
    let mut app = app_with_runs(tmp, now);
    let fx = ch(&mut app, 'b');
    assert_eq!(app.view, View::Grid);
    feed(&mut app, &fx);
    (app, dirs)
}

#[test]
fn best_of_four_key_flow() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    let (mut app, _dirs) = open_study_grid(tmp.path(), now);
    let grid = app.grid.as_ref().unwrap();
    assert_eq!(grid.study.as_deref(), Some("tune"));
    let ids = grid.ids();
    assert_eq!(ids.len(), 4);
    assert_eq!(grid.step(), Some(100));

    // 2: the top-right candidate is the worst -> a judgement, a proposal request, a retirement.
    let fx = ch(&mut app, '2');
    let rated = ratings_of(&fx);
    assert_eq!(rated.len(), 1);
    assert_eq!(rated[0].kind, Kind::Worst);
    assert_eq!(rated[0].value, serde_json::json!(ids[1]));
    assert_eq!(rated[0].runs, ids);
    assert_eq!(rated[0].study.as_deref(), Some("tune"));
    assert_eq!(rated[0].step, Some(100));
    assert!(fx.contains(&Effect::Propose("tune".into())));
    let grid = app.grid.as_ref().unwrap();
    assert_eq!(grid.runs.len(), 3, "the worst left the grid");
    assert!(!grid.ids().contains(&ids[1]));
    assert_eq!(grid.probe, 1, "the next round shows the next probe");
    // Each other candidate now beats the retired one.
    let loser = app.scores[&ids[1]].score;
    for id in [&ids[0], &ids[2], &ids[3]] {
        assert!(
            app.scores[id].score > loser,
            "{id} should outrank {}",
            ids[1]
        );
    }

    // s: skip records nothing; =: a tie between the three.
    assert!(ratings_of(&ch(&mut app, '0')).is_empty());
    let tie = ratings_of(&ch(&mut app, '='));
    assert_eq!(tie[0].kind, Kind::Tie);
    assert_eq!(tie[0].runs.len(), 3);

    // u undoes the tie, then the worst: the retired candidate comes back.
    let undo = ratings_of(&ch(&mut app, 'u'));
    assert_eq!(undo[0].kind, Kind::Undo);
    assert_eq!(undo[0].value, serde_json::json!(tie[0].id));
    let fx = ch(&mut app, 'u');
    assert_eq!(ratings_of(&fx)[0].value, serde_json::json!(rated[0].id));
    feed(&mut app, &fx);
    assert_eq!(app.grid.as_ref().unwrap().ids(), ids);
    assert!(app.toast.as_ref().unwrap().0.contains("undid"));
    // Nothing of ours left to undo.
    assert!(ratings_of(&ch(&mut app, 'u')).is_empty());

    // e ends the study with its top predicted configuration (written by the worker).
    assert_eq!(ch(&mut app, 'e'), vec![Effect::EndStudy("tune".into())]);
    // Esc goes back to the table.
    let fx = press(&mut app, KeyCode::Esc);
    assert!(fx.contains(&Effect::WatchMany(Vec::new())));
    assert_eq!(app.view, View::Runs);
}

#[test]
fn judgements_survive_a_restart_and_rank_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    let (mut app, _) = open_study_grid(tmp.path(), now);
    let ids = app.grid.as_ref().unwrap().ids();
    // Judge three rounds, writing what the loop would write.
    let ledger_dir = tmp.path().join("ledger");
    for k in ['4', '1', '='] {
        let fx = ch(&mut app, k);
        feed(&mut app, &fx);
        for r in ratings_of(&fx) {
            ratings::append(&ledger_dir, &r).unwrap();
        }
    }
    let before: Vec<(String, f64)> = ids
        .iter()
        .map(|id| (id.clone(), app.scores[id].score))
        .collect();
    // A new dashboard reads the ledger through the poller's tail and agrees.
    let mut fresh = app_with_runs(tmp.path(), now);
    let mut tail = atelier::store::tail::Tail::new(ledger_dir.join(ratings::RATINGS));
    update(&mut fresh, Msg::Ratings(tail.poll_json()));
    assert_eq!(fresh.ledger.len(), 3);
    for (id, score) in &before {
        assert!((fresh.scores[id].score - score).abs() < 1e-9);
    }
    // Ordered by score: the two retired candidates are at the bottom of the judged runs.
    ch(&mut fresh, 'o');
    let order: Vec<String> = fresh.visible_runs().iter().map(|r| r.id.clone()).collect();
    let pos = |id: &String| order.iter().position(|o| o == id).unwrap();
    assert!(pos(&ids[1]) < pos(&ids[3]) && pos(&ids[2]) < pos(&ids[0]));
}

#[test]
fn marks_compare_flip_and_stars() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    let dirs = study_fixture(tmp.path(), now);
    let mut app = app_with_runs(tmp.path(), now);
    // c with fewer than two marks explains itself.
    assert!(ch(&mut app, 'c').is_empty());
    assert_eq!(app.view, View::Runs);
    ch(&mut app, ' ');
    ch(&mut app, ' ');
    assert_eq!(app.marks.len(), 2);
    let fx = ch(&mut app, 'c');
    assert_eq!(app.view, View::Compare);
    assert!(matches!(&fx[1], Effect::WatchMany(d) if d.len() == 2));
    feed(&mut app, &fx);
    let c = app.compare.as_ref().unwrap();
    assert_eq!(c.step(), Some(100));
    assert!(!c.curves.is_empty() && c.curves.iter().all(|s| !s.is_empty()));
    // The diff shows exactly the searched values that differ.
    let diff = atelier::tui::compare::config_diff(&c.runs);
    assert_eq!(
        diff.keys().cloned().collect::<Vec<_>>(),
        vec!["loss.content_weight", "loss.style_weight", "optim.lr"]
    );
    // Linked scrubber: one step back moves every run to step 50.
    ch(&mut app, '[');
    let c = app.compare.as_ref().unwrap();
    assert_eq!(c.step(), Some(50));
    assert!(!c.follow);
    for r in &c.runs {
        assert_eq!(
            atelier::tui::compare::output_at(r, 50, 0).map(|(s, _)| s),
            Some(50)
        );
    }
    // X writes the contact sheet of what is on screen: these runs at step 50.
    let fx = ch(&mut app, 'X');
    let [Effect::ContactSheet { runs, step, out }] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    assert_eq!((runs.len(), *step), (2, 50));
    // Into the runs folder's exports/ (here the app's runs folder is a relative `runs`).
    assert_eq!(out.parent(), Some(app.runs_dir.join("exports").as_path()));
    let out = tmp.path().join(out.file_name().unwrap());
    let runs: Vec<_> = runs.iter().map(atelier::run_dir::RunDir::new).collect();
    let said = atelier::interop::sheet::write(&runs, Some(*step), &out).unwrap();
    assert!(said.contains("2 runs at step 50"), "{said}");
    let sheet = image::open(&out).unwrap();
    // Three rows (inputs and two runs) of 32-pixel probes, two columns, and labels.
    assert!(sheet.height() > 3 * 32 && sheet.width() > 2 * 32 + 40);
    assert!(app
        .toast
        .as_ref()
        .is_some_and(|t| t.0.contains("contact sheet")));
    // Tab flips A/B; Esc leaves the flip first, then the view.
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.compare.as_ref().unwrap().flip, Some(0));
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.compare.as_ref().unwrap().flip, Some(1));
    // Stars go to the focused run's output at the shown step.
    press(&mut app, KeyCode::Right);
    let r = ratings_of(&ch(&mut app, '4'));
    assert_eq!(r[0].kind, Kind::Stars);
    assert_eq!(r[0].step, Some(50));
    assert_eq!(r[0].value, serde_json::json!(4));
    let focused = &app.compare.as_ref().unwrap().runs[1].id;
    assert_eq!(&r[0].runs[0], focused);
    assert_eq!(app.ledger.stars_for(focused, Some(50), Some(0)), Some(4));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Compare);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Runs);
    drop(dirs);
}

#[test]
fn tags_and_notes_through_the_prompt() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    study_fixture(tmp.path(), now);
    let mut app = app_with_runs(tmp.path(), now);
    let id = app.selected_run().unwrap().id.clone();
    ch(&mut app, 't');
    assert!(matches!(app.overlay, Some(Overlay::Prompt(_))));
    for c in "crisp sky".chars() {
        ch(&mut app, c);
    }
    let r = ratings_of(&press(&mut app, KeyCode::Enter));
    assert_eq!(r[0].kind, Kind::Tag);
    assert_eq!(r[0].value, serde_json::json!("crisp-sky"));
    assert_eq!(app.ledger.tags().get(id.as_str()), Some(&vec!["crisp-sky"]));
    // The filter finds runs by tag.
    ch(&mut app, '/');
    for c in "crisp".chars() {
        ch(&mut app, c);
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.visible_runs().len(), 1);
    press(&mut app, KeyCode::Esc);
    ch(&mut app, 'N');
    for c in "too blurry".chars() {
        ch(&mut app, c);
    }
    let r = ratings_of(&press(&mut app, KeyCode::Enter));
    assert_eq!(r[0].note.as_deref(), Some("too blurry"));
    assert_eq!(
        app.ledger.notes(&id).collect::<Vec<_>>(),
        vec!["too blurry"]
    );
}

#[test]
fn concurrent_writers_lose_no_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                for i in 0..250 {
                    let note = format!("writer {w} line {i} {}", "x".repeat(i % 97));
                    ratings::append(&dir, &ratings::Rating::note("r", &note)).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let text = std::fs::read_to_string(dir.join(ratings::RATINGS)).unwrap();
    assert_eq!(text.lines().count(), 1000);
    let ledger = Ledger::new(ratings::read(&dir));
    assert_eq!(
        ledger.len(),
        1000,
        "every line parses and every id is unique"
    );
}

#[test]
fn grid_and_compare_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let now = 1_790_000_000.0;
    let (mut app, _) = open_study_grid(tmp.path(), now);
    let images = Images::new(halfblock_picker(), || {});
    let grid = settle(&app, &images, 120, 36);
    insta::assert_snapshot!("grid", redact(grid.backend(), tmp.path()));
    press(&mut app, KeyCode::Esc);
    for _ in 0..3 {
        ch(&mut app, ' ');
    }
    let fx = ch(&mut app, 'c');
    feed(&mut app, &fx);
    let compare = settle(&app, &images, 120, 36);
    insta::assert_snapshot!("compare", redact(compare.backend(), tmp.path()));
}

/// The screen as text, without the temporary directory's name.
fn redact(b: &TestBackend, tmp: &Path) -> String {
    b.to_string().replace(&tmp.display().to_string(), "<runs>")
}

#[test]
fn look_keys_render_the_latest_checkpoint_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let run = crate::common::train_tiny(tmp.path(), "look", "single_style", &[]);
    let runs = tmp.path().join("runs");
    let mut app = app_with_runs(&runs, run_dir::now());
    press(&mut app, KeyCode::Enter);
    update(
        &mut app,
        Msg::RunData(Box::new(Watched::new(run.clone()).poll())),
    );
    // Steering keys before `v` only explain themselves.
    assert!(ch(&mut app, '>').is_empty());
    let fx = ch(&mut app, 'v');
    let Some(Effect::Look(first)) = fx.first().cloned() else {
        panic!("v asks for a rendering: {fx:?}");
    };
    assert_eq!(first.look, atelier::stylize::Look::default());
    assert!(first.input.is_file());
    let fx = ch(&mut app, '<');
    let Some(Effect::Look(req)) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    assert!((req.look.strength - 0.9).abs() < 1e-6);
    assert!(req.seq > first.seq);
    ch(&mut app, 'k');
    // The worker renders the newest request from the run's latest checkpoint.
    let (tx, rx) = std::sync::mpsc::channel();
    let looker = atelier::tui::look::spawn(tx);
    looker.send(req.clone()).unwrap();
    let Msg::Look(result) = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap() else {
        panic!("expected a look result")
    };
    let (path, step) = result.outcome.clone().expect("rendered");
    assert_eq!(step, 6);
    let out = image::open(&path).unwrap();
    let input = image::open(&req.input).unwrap();
    assert_eq!((out.width(), out.height()), (input.width(), input.height()));
    // A stale answer (older than the newest request) does not replace the preview.
    update(&mut app, Msg::Look(result));
    let look = app.run.as_ref().unwrap().look.as_ref().unwrap();
    assert!(
        look.cells[0].image.is_none(),
        "seq {} is older than {}",
        req.seq,
        look.seq
    );
    assert!(look.look.preserve_color);
}

#[test]
fn high_stars_favour_an_output_of_an_opted_in_live_run() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    let dir = fixture_run(
        tmp.path(),
        "20261121-110000-live",
        RunState::Running,
        100,
        10,
        now,
    );
    let mut app = app_with_runs(tmp.path(), now);
    press(&mut app, KeyCode::Enter);
    update(
        &mut app,
        Msg::RunData(Box::new(Watched::new(dir.clone()).poll())),
    );
    // Not opted in: stars only.
    let fx = ch(&mut app, '5');
    assert!(!fx.iter().any(|e| matches!(e, Effect::Control { .. })));
    // Opted in: 4 or 5 stars also send the output to the critic; 3 does not.
    let spec = std::fs::read_to_string(dir.join(run_dir::SPEC)).unwrap();
    std::fs::write(
        dir.join(run_dir::SPEC),
        format!("{spec}[steer]\nfavored_fraction = 0.15\n"),
    )
    .unwrap();
    app.run.as_mut().unwrap().spec = None;
    update(
        &mut app,
        Msg::RunData(Box::new(Watched::new(dir.clone()).poll())),
    );
    assert!(!ch(&mut app, '3')
        .iter()
        .any(|e| matches!(e, Effect::Control { .. })));
    let fx = ch(&mut app, '4');
    let image = fx.iter().find_map(|e| match e {
        Effect::Control {
            command: atelier::run_dir::Command::Favor { image },
            run,
            ..
        } if *run == dir => Some(image.clone()),
        _ => None,
    });
    assert_eq!(
        image.as_deref(),
        Some("samples/step_0000100/content_00_output.png")
    );
}

/// `atelier judge --stars 4|5` sends the favor line the dashboard's stars send: for a live member
/// that opted in, and only for 4 or 5 stars.
#[test]
fn judge_stars_favour_like_the_dashboard() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    let dirs = study_fixture(tmp.path(), now);
    let live = &dirs[0];
    let status_path = live.join(run_dir::STATUS);
    let mut status: Status = serde_json::from_slice(&std::fs::read(&status_path).unwrap()).unwrap();
    status.state = RunState::Running;
    std::fs::write(&status_path, serde_json::to_vec(&status).unwrap()).unwrap();
    let spec = std::fs::read_to_string(live.join(run_dir::SPEC)).unwrap();
    std::fs::write(
        live.join(run_dir::SPEC),
        format!("{spec}[steer]\nfavored_fraction = 0.15\n"),
    )
    .unwrap();
    let judge = |n: u8, run: &str| {
        let study = atelier::study::Study::load(tmp.path(), "tune", None).unwrap();
        let req = atelier::study::judge::Request {
            verdict: atelier::study::judge::Verdict::Stars { n, run: run.into() },
            step: None,
            probe: 1,
        };
        atelier::study::judge::judge(&study, tmp.path(), tmp.path(), &req).unwrap()
    };
    let favours = |dir: &Path| -> Vec<String> {
        run_dir::read_lines::<run_dir::ControlLine>(&dir.join(run_dir::CONTROL))
            .into_iter()
            .filter_map(|l| match l.command {
                run_dir::Command::Favor { image } => Some(image),
                _ => None,
            })
            .collect()
    };
    // 3 stars: a judgement only.
    judge(3, "tune-1");
    assert!(favours(live).is_empty());
    // 4 stars: the output at the judged step and probe joins the critic's batch.
    let done = judge(4, "tune-1");
    assert_eq!(done.rating.step, Some(100));
    assert_eq!(
        favours(live),
        vec!["samples/step_0000100/content_01_output.png"]
    );
    assert!(
        done.also.iter().any(|l| l.contains("favoured")),
        "{:?}",
        done.also
    );
    // A finished run (tune-2) or one that did not opt in gets stars alone.
    judge(5, "tune-2");
    assert!(favours(&dirs[1]).is_empty());
}
