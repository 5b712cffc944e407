//! Choosing among styles in the look preview: `Tab` asks for the next finished run's generator,
//! `g` for every style at once (each fitted to its grid cell), `Enter` for the chosen one at full
//! resolution; the worker renders each request with that run's own generator and the answers land
//! in their cells (headless, and as a snapshot of the grid); the styles follow the runs as they
//! finish or go.

use crate::common::dashboard::*;
use atelier::run_dir::{self, RunState};
use atelier::tui::app::{App, Effect, Msg};
use atelier::tui::images::{halfblock_picker, Images};
use atelier::tui::layout;
use atelier::tui::look::{LookRequest, LookResult};
use atelier::tui::update::update;
use crossterm::event::KeyCode;
use std::path::Path;

/// The open run's look requests among `fx`.
fn looks(fx: &[Effect]) -> Vec<LookRequest> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Look(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// Open the run whose id ends with `name`.
fn open(app: &mut App, name: &str) {
    let i = app
        .visible_runs()
        .iter()
        .position(|r| r.id.ends_with(name))
        .expect("run listed");
    app.selected = i;
    press(app, KeyCode::Enter);
    let dir = app.run.as_ref().unwrap().dir.clone();
    update(
        app,
        Msg::RunData(Box::new(atelier::tui::workers::Watched::new(dir).poll())),
    );
}

fn fixture_workspace(runs: &Path, now: f64) -> App {
    fixture_runs(
        runs,
        &[
            ("20261121-100000-alpha", RunState::Finished, 400, 10),
            ("20261121-101000-brush", RunState::Finished, 400, 10),
            ("20261121-102000-crayon", RunState::Failed, 120, 10),
            ("20261121-103000-live", RunState::Running, 100, 10),
        ],
        now,
    );
    let mut app = app_with_runs(runs, now);
    open(&mut app, "live");
    app
}

#[test]
fn tab_cycles_styles_and_the_grid_shows_them_all() {
    let tmp = tempfile::tempdir().unwrap();
    // A fixed clock, so the snapshot's ages do not move.
    let now = 1_790_000_000.0;
    let mut app = fixture_workspace(tmp.path(), now);
    let live = app.run.as_ref().unwrap().dir.clone();
    // Tab before `v` only explains itself.
    assert!(press(&mut app, KeyCode::Tab).is_empty());

    let first = looks(&ch(&mut app, 'v'));
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].generator, live,
        "the open run's own generator first"
    );
    let single_fit = first[0].fit.expect("fitted to the preview");
    assert!(single_fit.0 > 0 && single_fit.1 > 0);
    let look = app.run.as_ref().unwrap().look.clone().unwrap();
    let names: Vec<&str> = look.styles.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), 3, "live, then the finished runs: {names:?}");
    assert_eq!(names[0], "live");
    assert!(names.contains(&"alpha") && names.contains(&"brush"));
    assert!(!names.contains(&"crayon"), "a failed run offers no style");

    // Tab: the next style, rendered at once; S-Tab goes back; it wraps.
    let next = looks(&press(&mut app, KeyCode::Tab));
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].slot, 1);
    assert_eq!(next[0].generator, look.styles[1].dir);
    assert_eq!(next[0].direction, None);
    assert!(next[0].seq > first[0].seq);
    press(&mut app, KeyCode::Tab);
    let wrapped = looks(&press(&mut app, KeyCode::Tab));
    assert_eq!(wrapped[0].slot, 0);
    let back = looks(&press(&mut app, KeyCode::BackTab));
    assert_eq!(back[0].slot, 2);

    // The look follows into the chosen style.
    let weaker = looks(&ch(&mut app, '<'));
    assert_eq!((weaker[0].slot, weaker[0].look.strength), (2, 0.9));

    // g: every style at once, each rendered at the size of its cell on screen.
    let fx = ch(&mut app, 'g');
    assert!(fx.contains(&Effect::Repaint));
    let grid = looks(&fx);
    assert_eq!(
        grid.iter().map(|r| r.slot).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    let gallery = layout::gallery_panes(layout::run_panes(app.size, false).gallery);
    let (_, cells) = layout::look_grid(gallery.inner, 3);
    let px = |r: ratatui::layout::Rect| {
        (
            u32::from(r.width) * u32::from(app.cell_px.0),
            u32::from(r.height) * u32::from(app.cell_px.1),
        )
    };
    assert_eq!(single_fit, px(layout::look_image(gallery.big[1])));
    for (r, cell) in grid.iter().zip(&cells) {
        assert_eq!(r.fit, Some(px(layout::below_label(*cell))));
        assert_eq!(r.look.strength, 0.9);
    }
    assert!(
        cells[0].y < cells[2].y && cells[0].x < cells[1].x,
        "2 x 2: {cells:?}"
    );
    // In the grid, Tab moves the choice without rendering again; a look change renders all.
    assert!(looks(&press(&mut app, KeyCode::Tab)).is_empty());
    assert_eq!(app.run.as_ref().unwrap().look.as_ref().unwrap().style, 0);
    assert_eq!(looks(&ch(&mut app, ')')).len(), 3);
    // A new probe renders every cell again.
    assert_eq!(looks(&press(&mut app, KeyCode::Down)).len(), 3);

    // Enter: the chosen style at full resolution into the run's looks/, announced.
    press(&mut app, KeyCode::Tab);
    let save = looks(&press(&mut app, KeyCode::Enter));
    assert_eq!(save.len(), 1);
    let path = save[0].save.clone().expect("a file to write");
    assert_eq!(save[0].fit, None);
    assert_eq!(save[0].generator, look.styles[1].dir);
    assert!(path.starts_with(live.join("looks")), "{}", path.display());
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("content01_20261121-100000-alpha_s0.9_sat1.1")
            || name.starts_with("content01_20261121-101000-brush_s0.9_sat1.1"),
        "{name}"
    );
    assert!(app.toast.as_ref().unwrap().0.contains("writing"));
    // The answer to a save is announced, and leaves the cells alone.
    let cells = app
        .run
        .as_ref()
        .unwrap()
        .look
        .as_ref()
        .unwrap()
        .cells
        .clone();
    update(
        &mut app,
        Msg::Look(LookResult {
            run: live.clone(),
            seq: save[0].seq,
            slot: save[0].slot,
            outcome: Ok((path.clone(), 400)),
            saved: true,
        }),
    );
    assert!(app.toast.as_ref().unwrap().0.contains("wrote"));
    assert_eq!(
        app.run.as_ref().unwrap().look.as_ref().unwrap().cells,
        cells
    );

    // The grid as drawn, with an answer in two cells and an error in the third.
    let last = looks(&ch(&mut app, ')'));
    for (r, shade) in last.iter().zip([40u8, 200]) {
        let p = tmp.path().join(format!("cell{}.png", r.slot));
        image::RgbImage::from_fn(32, 32, |x, y| {
            image::Rgb([shade, (x * 8) as u8, (y * 8) as u8])
        })
        .save(&p)
        .unwrap();
        update(
            &mut app,
            Msg::Look(LookResult {
                run: live.clone(),
                seq: r.seq,
                slot: r.slot,
                outcome: Ok((p, 300)),
                saved: false,
            }),
        );
    }
    update(
        &mut app,
        Msg::Look(LookResult {
            run: live.clone(),
            seq: last[2].seq,
            slot: 2,
            outcome: Err("alpha: no checkpoint yet".into()),
            saved: false,
        }),
    );
    app.toast = None;
    let images = Images::new(halfblock_picker(), || {});
    let screen = settle(&app, &images, 120, 36);
    let text = screen
        .backend()
        .to_string()
        .replace(&tmp.path().display().to_string(), "<runs>");
    assert!(text.contains("alpha: no checkpoint"), "{text}");
    insta::assert_snapshot!("look_style_grid", text);

    // g again: back to the single preview, of the chosen style.
    let fx = ch(&mut app, 'g');
    let single = looks(&fx);
    assert_eq!(single.len(), 1);
    assert_eq!(single[0].slot, 1);
    assert_eq!(single[0].fit, Some(single_fit));
}

/// The styles follow the poller: a run that finishes while the look is open joins the list (the
/// grid asks for it and repaints), a deleted one leaves, and the choice stays on its run.
#[test]
fn the_styles_follow_the_runs_as_they_finish() {
    let tmp = tempfile::tempdir().unwrap();
    let now = 1_790_000_000.0;
    let mut app = fixture_workspace(tmp.path(), now);
    ch(&mut app, 'v');
    press(&mut app, KeyCode::Tab);
    let names = |app: &App| -> Vec<String> {
        let l = app.run.as_ref().unwrap().look.as_ref().unwrap();
        l.styles.iter().map(|s| s.name.clone()).collect()
    };
    let chosen = |app: &App| -> String {
        let l = app.run.as_ref().unwrap().look.as_ref().unwrap();
        l.styles[l.style].name.clone()
    };
    assert_eq!(names(&app).len(), 3);
    let was = chosen(&app);
    assert_ne!(was, "live");
    // The same runs again: nothing asked.
    let fx = update(&mut app, Msg::Runs(atelier::store::scan(tmp.path())));
    assert!(looks(&fx).is_empty());

    // A run finishes: it joins, the single preview keeps its choice and asks for nothing.
    fixture_run(
        tmp.path(),
        "20261121-104000-dots",
        RunState::Finished,
        400,
        10,
        now,
    );
    let fx = update(&mut app, Msg::Runs(atelier::store::scan(tmp.path())));
    assert!(
        names(&app).contains(&"dots".to_string()),
        "{:?}",
        names(&app)
    );
    assert_eq!(names(&app).len(), 4);
    assert_eq!(chosen(&app), was);
    assert!(looks(&fx).is_empty());

    // In the grid, a new run is rendered in its cell, every cell at its new size.
    ch(&mut app, 'g');
    fixture_run(
        tmp.path(),
        "20261121-105000-etch",
        RunState::Finished,
        400,
        10,
        now,
    );
    let fx = update(&mut app, Msg::Runs(atelier::store::scan(tmp.path())));
    assert!(fx.contains(&Effect::Repaint));
    let asked = looks(&fx);
    assert_eq!(asked.len(), 5);
    let etch = names(&app).iter().position(|n| n == "etch").unwrap();
    assert!(asked
        .iter()
        .any(|r| r.slot == etch && r.generator.ends_with("20261121-105000-etch")));

    // The chosen run is deleted: the choice falls back to the run's own generator.
    ch(&mut app, 'g');
    let gone = app.run.as_ref().unwrap().look.as_ref().unwrap().styles
        [app.run.as_ref().unwrap().look.as_ref().unwrap().style]
        .dir
        .clone();
    std::fs::remove_dir_all(&gone).unwrap();
    let fx = update(&mut app, Msg::Runs(atelier::store::scan(tmp.path())));
    assert_eq!(names(&app).len(), 4);
    assert!(!names(&app).contains(&was));
    assert_eq!(chosen(&app), "live");
    let asked = looks(&fx);
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].slot, 0);
}

#[test]
fn the_worker_renders_each_style_with_its_own_generator() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    std::fs::create_dir_all(&one).unwrap();
    std::fs::create_dir_all(&two).unwrap();
    let a = crate::common::train_tiny(&one, "first", "single_style", &[]);
    let b = crate::common::train_spec(
        &two,
        &crate::common::tiny_spec(&two, "second", "single_style", ""),
        &["--set", "train.seed=11"],
    );
    let runs = tmp.path().join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    let a_dir = runs.join(a.file_name().unwrap());
    std::fs::rename(&a, &a_dir).unwrap();
    std::fs::rename(&b, runs.join(b.file_name().unwrap())).unwrap();
    let mut app = app_with_runs(&runs, run_dir::now());
    open(&mut app, "first");
    ch(&mut app, 'v');
    let grid = looks(&ch(&mut app, 'g'));
    assert_eq!(grid.len(), 2);
    let save = looks(&press(&mut app, KeyCode::Enter));

    let (tx, rx) = std::sync::mpsc::channel();
    let looker = atelier::tui::look::spawn(tx);
    for r in grid.iter().chain(&save) {
        looker.send(r.clone()).unwrap();
    }
    let mut answers = Vec::new();
    for _ in 0..3 {
        let Msg::Look(r) = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap() else {
            panic!("expected a look result")
        };
        answers.push(r.clone());
        update(&mut app, Msg::Look(r));
    }
    let look = app.run.as_ref().unwrap().look.clone().unwrap();
    let img = |slot: usize| {
        let p = look.cells[slot].image.clone().expect("rendered");
        assert_eq!(look.cells[slot].checkpoint, Some(6));
        image::open(p).unwrap().to_rgb8()
    };
    assert_ne!(img(0), img(1), "two generators, two images");
    let saved = answers.iter().find(|r| r.saved).expect("the save answered");
    let (path, _) = saved.outcome.clone().expect("written");
    assert!(path.starts_with(a_dir.join("looks")));
    let input = image::open(&save[0].input).unwrap();
    let full = image::open(&path).unwrap();
    assert_eq!(full.width(), input.width());
    assert!(app.toast.as_ref().unwrap().0.contains("wrote"));
}
