//! The compare view's ways of looking, driven headless: the wipe (A and B in one image, the split
//! moved by h/l and by the mouse), the difference heat map with its scale (|A − B|, and
//! |output − input| in the A/B flip), and the zoom (one region of every image, panned
//! together). Snapshots of each over half-block images.

use crate::common::dashboard::{app_with_runs, ch, press, settle};
use crate::judging::{feed, study_fixture};
use atelier::run_dir;
use atelier::tui::app::{App, Effect, Msg, View};
use atelier::tui::compare::{Compare, Panel};
use atelier::tui::images::{halfblock_picker, Images};
use atelier::tui::layout;
use atelier::tui::update::update;
use crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use std::path::Path;

/// Two runs of the study fixture compared, B's latest output of probe 1 replaced by another
/// picture so A and B differ.
fn compare_two(tmp: &Path, now: f64) -> App {
    let dirs = study_fixture(tmp, now);
    let other = atelier::train::data::procedural::content_scene(7, 3, 32, 32);
    // Rows are newest first: A is tune-4, B tune-3.
    other
        .save(dirs[2].join("samples/step_0000100/content_00_output.png"))
        .unwrap();
    let mut app = app_with_runs(tmp, now);
    ch(&mut app, ' ');
    ch(&mut app, ' ');
    let fx = ch(&mut app, 'c');
    feed(&mut app, &fx);
    assert_eq!(app.view, View::Compare);
    app
}

fn compare(app: &App) -> &Compare {
    app.compare.as_ref().unwrap()
}

fn mouse(app: &mut App, kind: MouseEventKind, column: u16, row: u16) -> Vec<Effect> {
    update(
        app,
        Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }),
    )
}

/// The largest per-pixel mean |a − b| over the channels, computed here from the files.
fn max_diff(a: &Path, b: &Path) -> f32 {
    let (a, b) = (
        image::open(a).unwrap().to_rgb8(),
        image::open(b).unwrap().to_rgb8(),
    );
    a.pixels()
        .zip(b.pixels())
        .map(|(p, q)| {
            (0..3)
                .map(|c| (f32::from(p[c]) - f32::from(q[c])).abs())
                .sum::<f32>()
                / 765.0
        })
        .fold(0.0, f32::max)
}

#[test]
fn wipe_keys_and_mouse_move_the_split() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = compare_two(tmp.path(), run_dir::now());
    assert_eq!(
        compare(&app).panels(),
        vec![Panel::Input, Panel::Run(0), Panel::Run(1)]
    );
    // | turns the wipe on at the middle: one column holds A and B.
    let fx = ch(&mut app, '|');
    assert!(fx.contains(&Effect::Repaint), "a new layout repaints");
    assert_eq!(compare(&app).wipe, Some(500));
    assert_eq!(
        compare(&app).panels(),
        vec![Panel::Input, Panel::Wipe(0, 1)]
    );
    // h and l move it by 5%, within 0–100%.
    ch(&mut app, 'h');
    assert_eq!(compare(&app).wipe, Some(450));
    ch(&mut app, 'l');
    ch(&mut app, 'l');
    assert_eq!(compare(&app).wipe, Some(550));
    for _ in 0..30 {
        ch(&mut app, 'l');
    }
    assert_eq!(compare(&app).wipe, Some(1000));
    // In compare, l is the split: log-Y is y here.
    assert!(!app.chart.log_y);
    ch(&mut app, 'y');
    assert!(app.chart.log_y);
    // A click and a drag on the wipe's column put the split under the mouse.
    let images = layout::compare_panes(app.size).images;
    let (_, rect) = compare(&app)
        .columns(images)
        .into_iter()
        .find(|(p, _)| *p == Panel::Wipe(0, 1))
        .unwrap();
    let row = rect.y + rect.height / 2;
    let centre = rect.x + rect.width / 2;
    mouse(
        &mut app,
        MouseEventKind::Down(MouseButton::Left),
        centre,
        row,
    );
    let at = compare(&app).wipe.unwrap();
    assert!((480..=520).contains(&at), "{at}");
    mouse(
        &mut app,
        MouseEventKind::Drag(MouseButton::Left),
        centre - 5,
        row,
    );
    let left = compare(&app).wipe.unwrap();
    assert!(left < at && left > 300, "{left}");
    // A click outside the image row leaves it.
    mouse(&mut app, MouseEventKind::Down(MouseButton::Left), centre, 0);
    assert_eq!(compare(&app).wipe, Some(left));
    // | again: side by side.
    ch(&mut app, '|');
    assert_eq!(compare(&app).wipe, None);
    assert_eq!(compare(&app).panels().len(), 3);
}

#[test]
fn difference_shows_its_scale_and_follows_the_flip() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = compare_two(tmp.path(), run_dir::now());
    let fx = ch(&mut app, 'd');
    assert!(fx.contains(&Effect::Repaint));
    assert_eq!(
        compare(&app).panels(),
        vec![
            Panel::Input,
            Panel::Run(0),
            Panel::Run(1),
            Panel::Diff(0, 1)
        ]
    );
    let dirs: Vec<_> = compare(&app).runs.iter().map(|r| r.dir.clone()).collect();
    let out = |i: usize| dirs[i].join("samples/step_0000100/content_00_output.png");
    let expected = max_diff(&out(0), &out(1));
    assert!(expected > 0.1, "the fixture's outputs differ: {expected}");
    let images = Images::new(halfblock_picker(), || {});
    let screen = settle(&app, &images, 120, 36).backend().to_string();
    let scale = format!("|A − B| · max |Δ| = {expected:.2}");
    assert!(screen.contains(&scale), "{scale} not in\n{screen}");
    // In the A/B flip, the difference is the shown run's output against the input.
    press(&mut app, KeyCode::Tab);
    assert_eq!(
        compare(&app).panels(),
        vec![Panel::Input, Panel::Run(0), Panel::Change(0)]
    );
    let input = dirs[0].join("samples/inputs/content_00.png");
    let change = max_diff(&out(0), &input);
    let screen = settle(&app, &images, 120, 36).backend().to_string();
    let scale = format!("|A − input| · max |Δ| = {change:.2}");
    assert!(screen.contains(&scale), "{scale} not in\n{screen}");
    // The wipe leaves the flip.
    ch(&mut app, '|');
    assert_eq!(compare(&app).flip, None);
    assert_eq!(
        compare(&app).panels(),
        vec![Panel::Input, Panel::Wipe(0, 1), Panel::Diff(0, 1)]
    );
}

#[test]
fn zoom_cuts_every_image_to_one_region_panned_together() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = compare_two(tmp.path(), run_dir::now());
    ch(&mut app, 'z');
    assert_eq!(compare(&app).region.zoom, 2);
    // Shift-L pans right by a quarter of the window (250 of 1000 at 2x is a quarter: 125).
    ch(&mut app, 'L');
    assert_eq!(
        (compare(&app).region.cx, compare(&app).region.cy),
        (625, 500)
    );
    ch(&mut app, 'K');
    assert_eq!(compare(&app).region.cy, 375);
    // The window stays inside the image.
    for _ in 0..10 {
        ch(&mut app, 'L');
        ch(&mut app, 'J');
    }
    assert_eq!(
        (compare(&app).region.cx, compare(&app).region.cy),
        (750, 750)
    );
    ch(&mut app, 'H');
    assert_eq!(compare(&app).region.cx, 625);
    ch(&mut app, 'z');
    assert_eq!(compare(&app).region.zoom, 4);
    ch(&mut app, 'z');
    assert_eq!(compare(&app).region.zoom, 1);
    // Every image drawn shares the region (the header says where).
    ch(&mut app, 'z');
    let images = Images::new(halfblock_picker(), || {});
    let screen = settle(&app, &images, 120, 36).backend().to_string();
    assert!(
        screen.contains("zoom 2x at 50%,50%"),
        "1x forgot the region: {screen}"
    );
}

#[test]
fn wipe_difference_and_zoom_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = compare_two(tmp.path(), 1_790_000_000.0);
    let images = Images::new(halfblock_picker(), || {});
    let shot = |app: &App| {
        settle(app, &images, 120, 36)
            .backend()
            .to_string()
            .replace(&tmp.path().display().to_string(), "<runs>")
    };
    ch(&mut app, '|');
    ch(&mut app, 'h');
    insta::assert_snapshot!("compare_wipe", shot(&app));
    ch(&mut app, '|');
    ch(&mut app, 'd');
    insta::assert_snapshot!("compare_difference", shot(&app));
    ch(&mut app, 'd');
    ch(&mut app, 'z');
    ch(&mut app, 'z');
    insta::assert_snapshot!("compare_zoom", shot(&app));
}
