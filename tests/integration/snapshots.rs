//! Insta snapshots of every view over ratatui's `TestBackend` (half-block images), on fixture run
//! directories: runs table, run view with charts and gallery, help, launch form, stop
//! confirmation, the too-small terminal message, and the GPU strip on recorded samples; the runs
//! table in the light and dark themes with its colours (the buffer's styles), and no theme-less
//! colour in any cell.

use crate::common::dashboard::{app_with_runs, fixture_run, fixture_runs, press, settle};
use atelier::gpu::{GpuProcess, GpuSample, Recorded};
use atelier::run_dir::{self, RunState};
use atelier::tui::app::{App, Msg};
use atelier::tui::images::{halfblock_picker, Images};
use atelier::tui::theme::Theme;
use atelier::tui::update::update;
use atelier::tui::workers::GpuPoll;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

fn fixtures() -> (tempfile::TempDir, App) {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    fixture_runs(
        tmp.path(),
        &[
            ("20261121-090000-quickstart", RunState::Finished, 400, 40),
            ("20261121-100000-stopped", RunState::Stopped, 120, 12),
            ("20261121-110000-live", RunState::Running, 100, 10),
        ],
        now,
    );
    let app = app_with_runs(tmp.path(), now + 5.0);
    (tmp, app)
}

#[test]
fn runs_view() {
    let (_tmp, app) = fixtures();
    let images = Images::new(halfblock_picker(), || {});
    insta::assert_snapshot!("runs_view", settle(&app, &images, 120, 24).backend());
}

#[test]
fn runs_view_in_light_and_dark() {
    let images = Images::new(halfblock_picker(), || {});
    for (name, theme) in [
        ("runs_view_light", Theme::light()),
        ("runs_view_dark", Theme::dark()),
    ] {
        let (_tmp, mut app) = fixtures();
        app.theme = theme.clone();
        let term = settle(&app, &images, 120, 24);
        let buf = term.backend().buffer();
        // The header row ("NAME MODE STATE …") and the badge in the theme's colours.
        assert_eq!(buf[(0, 1)].symbol(), "N");
        assert_eq!(buf[(0, 1)].fg, theme.header.fg.unwrap());
        assert!(buf[(0, 1)].modifier.contains(Modifier::BOLD));
        assert_eq!(buf[(1, 0)].bg, theme.brand.bg.unwrap());
        fixed_colours_only(buf, name);
        insta::assert_debug_snapshot!(name, buf);
    }
}

/// Every colour in the buffer is a theme's (the 256-colour cube and greys) or an image's RGB:
/// none of the 16 ANSI colours a terminal theme redefines.
fn fixed_colours_only(buf: &Buffer, what: &str) {
    for cell in &buf.content {
        for c in [cell.fg, cell.bg] {
            assert!(
                matches!(c, Color::Reset | Color::Rgb(..) | Color::Indexed(16..)),
                "{what}: {c:?} at {:?}",
                cell.symbol()
            );
        }
    }
}

#[test]
fn no_colour_theme_has_none_and_still_shows_the_selection() {
    let (tmp, mut app) = fixtures();
    app.theme = Theme::mono();
    let images = Images::new(halfblock_picker(), || {});
    let term = settle(&app, &images, 120, 24);
    let buf = term.backend().buffer();
    assert!(buf
        .content
        .iter()
        .all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
    assert!(
        buf[(2, 2)].modifier.contains(Modifier::REVERSED),
        "selected row"
    );
    assert!(!buf[(2, 3)].modifier.contains(Modifier::REVERSED));
    assert!(buf[(0, 1)].modifier.contains(Modifier::BOLD), "header");
    // The run view too (charts without ghosts); its images keep their own colours.
    press(&mut app, KeyCode::Enter);
    let dir = tmp.path().join("20261121-110000-live");
    update(
        &mut app,
        Msg::RunData(Box::new(atelier::tui::workers::Watched::new(dir).poll())),
    );
    for theme in [Theme::mono(), Theme::light(), Theme::dark()] {
        app.theme = theme.clone();
        let term = settle(&app, &images, 120, 36);
        let buf = term.backend().buffer();
        fixed_colours_only(buf, "run view");
        if theme == Theme::mono() {
            assert!(buf
                .content
                .iter()
                .all(|c| matches!(c.fg, Color::Reset | Color::Rgb(..))));
        }
    }
}

#[test]
fn run_view_with_charts_and_gallery() {
    let (tmp, mut app) = fixtures();
    press(&mut app, KeyCode::Enter);
    let dir = tmp.path().join("20261121-110000-live");
    update(
        &mut app,
        Msg::RunData(Box::new(atelier::tui::workers::Watched::new(dir).poll())),
    );
    let images = Images::new(halfblock_picker(), || {});
    let term = settle(&app, &images, 120, 36);
    let screen = term.backend().to_string();
    assert!(screen.contains("samples: step 100 (3/3)"), "{screen}");
    assert!(
        screen.contains("▀") || screen.contains("▄"),
        "images drawn as half blocks: {screen}"
    );
    insta::assert_snapshot!("run_view", term.backend());
    // The cursor reads values at a step.
    press(&mut app, KeyCode::Left);
    let screen = settle(&app, &images, 120, 36).backend().to_string();
    assert!(screen.contains("generator @ step 100: g_adv"), "{screen}");
    // The run view's help at 120x36: more keys than one column holds, so two columns, with
    // the last global key and the images line still on screen.
    press(&mut app, KeyCode::Char('?'));
    let term = settle(&app, &images, 120, 36);
    let screen = term.backend().to_string();
    assert!(
        screen.contains("images:") && screen.contains("launch") && !screen.contains("more lines"),
        "{screen}"
    );
    insta::assert_snapshot!("run_view_help_two_columns", term.backend());
}

/// A finished run's status has its state's message above the quality lines: at 120x36 every
/// quality line still shows, the colour-only baseline included.
#[test]
fn a_finished_run_shows_every_quality_line() {
    let (tmp, mut app) = fixtures();
    let dir = tmp.path().join("20261121-110000-live");
    let path = dir.join("status.json");
    let mut status: run_dir::Status =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    status.state = RunState::Finished;
    status.message = Some("finished 400 steps".into());
    std::fs::write(&path, serde_json::to_vec(&status).unwrap()).unwrap();
    press(&mut app, KeyCode::Enter);
    update(
        &mut app,
        Msg::RunData(Box::new(atelier::tui::workers::Watched::new(dir).poll())),
    );
    let images = Images::new(halfblock_picker(), || {});
    let screen = settle(&app, &images, 120, 36).backend().to_string();
    for line in [
        "finished 400 steps",
        "quality @100",
        "orient ",
        "strokes ",
        "colour-only:",
    ] {
        assert!(screen.contains(line), "{line:?} missing:\n{screen}");
    }
}

/// A distilled run's gallery: the student's output beside its teacher's (written once by the
/// trainer, under `samples/teacher/`), labelled with the teacher run and checkpoint; `T` swaps
/// the teacher for the critic's map and back, and explains itself on a run without a teacher.
#[test]
fn distilled_run_view_shows_the_student_beside_its_teacher() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    let dirs = fixture_runs(
        tmp.path(),
        &[
            ("20261121-090000-quickstart", RunState::Finished, 400, 40),
            ("20261121-110000-small", RunState::Running, 100, 10),
        ],
        now,
    );
    let (teacher, student) = (&dirs[0], &dirs[1]);
    let mut spec = std::fs::read_to_string(student.join("spec.toml")).unwrap();
    spec.push_str(&format!(
        "[distill]\nteacher = {:?}\nparent = \"20261121-090000-quickstart\"\ncheckpoint = 400\npixel_weight = 10.0\n",
        teacher.display().to_string()
    ));
    std::fs::write(student.join("spec.toml"), spec).unwrap();
    let status = student.join(run_dir::STATUS);
    let mut st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&status).unwrap()).unwrap();
    st["parent"] = "20261121-090000-quickstart".into();
    std::fs::write(&status, st.to_string()).unwrap();
    std::fs::create_dir_all(student.join("samples/teacher")).unwrap();
    for p in 0..2usize {
        let path = format!("samples/teacher/content_{p:02}.png");
        atelier::train::data::procedural::painterly_style(900 + p as u64, 32, 32)
            .save(student.join(&path))
            .unwrap();
        let rec = run_dir::SampleRecord {
            step: 0,
            set: "content".into(),
            probe: p,
            kind: "teacher".into(),
            path,
        };
        run_dir::append_json(&student.join(run_dir::SAMPLE_INDEX), &rec).unwrap();
    }
    let mut app = app_with_runs(tmp.path(), now + 5.0);
    // The runs table names the parent in full at 120 columns (the MODE column gives way).
    let images = Images::new(halfblock_picker(), || {});
    let screen = settle(&app, &images, 120, 24).backend().to_string();
    assert!(screen.contains("  small ← quickstart "), "{screen}");
    app.selected = app
        .visible_runs()
        .iter()
        .position(|r| r.id.ends_with("small"))
        .unwrap();
    press(&mut app, KeyCode::Enter);
    update(
        &mut app,
        Msg::RunData(Box::new(
            atelier::tui::workers::Watched::new(student.clone()).poll(),
        )),
    );
    let term = settle(&app, &images, 120, 36);
    let screen = term.backend().to_string();
    assert!(
        screen.contains("student") && screen.contains("teacher @400"),
        "{screen}"
    );
    assert!(!screen.contains("critic"), "{screen}");
    // The teacher's image is drawn in the third pane, the student's in the second.
    let layout = atelier::tui::layout::run_panes((120, 36), true);
    let big = atelier::tui::layout::gallery_panes(layout.gallery).big;
    let blocks = |r: ratatui::layout::Rect| {
        let buf = term.backend().buffer();
        (r.y..r.bottom())
            .flat_map(|y| (r.x..r.right()).map(move |x| (x, y)))
            .filter(|&(x, y)| matches!(buf[(x, y)].symbol(), "▀" | "▄"))
            .count()
    };
    assert!(blocks(big[1]) > 20 && blocks(big[2]) > 20, "{screen}");
    insta::assert_snapshot!("run_view_distilled", term.backend());

    // T: the critic's map in the teacher's place, and back.
    press(&mut app, KeyCode::Char('T'));
    let screen = settle(&app, &images, 120, 36).backend().to_string();
    assert!(
        screen.contains("critic") && !screen.contains("teacher @400"),
        "{screen}"
    );
    press(&mut app, KeyCode::Char('T'));
    let screen = settle(&app, &images, 120, 36).backend().to_string();
    assert!(screen.contains("teacher @400"), "{screen}");

    // A run without a teacher: T changes nothing and says why.
    press(&mut app, KeyCode::Esc);
    app.selected = app
        .visible_runs()
        .iter()
        .position(|r| r.id.ends_with("quickstart"))
        .unwrap();
    press(&mut app, KeyCode::Enter);
    update(
        &mut app,
        Msg::RunData(Box::new(
            atelier::tui::workers::Watched::new(teacher.clone()).poll(),
        )),
    );
    assert!(press(&mut app, KeyCode::Char('T')).is_empty());
    let run = app.run.as_ref().unwrap();
    assert!(run.teacher.is_empty() && !run.show_critic);
    let toast = app.toast.as_ref().map(|t| t.0.clone()).unwrap_or_default();
    assert!(toast.contains("not a distilled run"), "{toast}");
    let screen = settle(&app, &images, 120, 36).backend().to_string();
    assert!(
        screen.contains("output") && screen.contains("critic") && !screen.contains("student"),
        "{screen}"
    );
}

#[test]
fn overlays_and_small_terminal() {
    let (_tmp, mut app) = fixtures();
    let images = Images::new(halfblock_picker(), || {});
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE)),
    );
    insta::assert_snapshot!("help", settle(&app, &images, 100, 48).backend());
    press(&mut app, KeyCode::Esc);
    let experiments = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("experiments");
    update(
        &mut app,
        Msg::Experiments(atelier::tui::workers::list_experiments(&experiments)),
    );
    insta::assert_snapshot!("launch", settle(&app, &images, 100, 30).backend());
    press(&mut app, KeyCode::Esc);
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE)),
    );
    insta::assert_snapshot!("confirm_stop", settle(&app, &images, 100, 14).backend());
    press(&mut app, KeyCode::Esc);
    insta::assert_snapshot!("too_small", settle(&app, &images, 60, 16).backend());
}

#[test]
fn hostile_run_directory_never_panics_the_dashboard() {
    let tmp = tempfile::tempdir().unwrap();
    let now = run_dir::now();
    let dir = fixture_run(
        tmp.path(),
        "20261121-120000-broken",
        RunState::Running,
        50,
        5,
        now,
    );
    // Garbage status, torn and non-finite metric rows, an index pointing at missing and corrupt
    // images, a control-free events file full of junk.
    std::fs::write(dir.join("status.json"), "{\"state\": \"runn").unwrap();
    let mut m = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    m.push_str("{\"step\":60,\"time\":1,\"lr_g\":1,\"lr_d\":1,\"images_per_s\":1,\"g_adv\":1e308,\"g_total\":-5}\nnot json\n{\"step\":70,\"ti");
    std::fs::write(dir.join("metrics.jsonl"), m).unwrap();
    std::fs::write(
        dir.join("samples/step_0000100/content_00_output.png"),
        b"\x89PNG garbage",
    )
    .unwrap();
    std::fs::remove_file(dir.join("samples/step_0000100/content_01_output.png")).unwrap();
    std::fs::write(dir.join("events.jsonl"), "\u{0}\u{1}junk\n{\"time\":1}\n").unwrap();
    let mut app = app_with_runs(tmp.path(), now);
    press(&mut app, KeyCode::Enter);
    let mut w = atelier::tui::workers::Watched::new(dir.clone());
    update(&mut app, Msg::RunData(Box::new(w.poll())));
    let images = Images::new(halfblock_picker(), || {});
    for code in [
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Char('l'),
        KeyCode::Char('x'),
        KeyCode::Char('['),
    ] {
        press(&mut app, code);
        let screen = settle(&app, &images, 120, 36).backend().to_string();
        assert!(screen.contains("20261121-120000-broken"));
    }
    // The run disappears while open: the view empties, nothing panics; the table drops it.
    std::fs::remove_dir_all(&dir).unwrap();
    update(&mut app, Msg::RunData(Box::new(w.poll())));
    settle(&app, &images, 120, 36);
    press(&mut app, KeyCode::Esc);
    update(&mut app, Msg::Runs(atelier::store::scan(tmp.path())));
    let screen = settle(&app, &images, 120, 24).backend().to_string();
    assert!(screen.contains("No runs"), "{screen}");
}

/// Recorded samples: two H200s, the first busy with the live fixture run (this process's pid).
fn gpu_samples(util0: u32) -> Vec<GpuSample> {
    let gpu = |index: u32, util: u32, used: f64, power: f64, temp: u32, pids: &[u32]| GpuSample {
        index,
        name: "NVIDIA H200".into(),
        uuid: format!("GPU-{index}"),
        util_pct: util,
        mem_used: (used * (1u64 << 30) as f64) as u64,
        mem_total: 141 << 30,
        power_w: power,
        temp_c: temp,
        processes: pids
            .iter()
            .map(|&pid| GpuProcess {
                pid,
                mem: Some(3 << 30),
            })
            .collect(),
    };
    vec![
        gpu(0, util0, 41.2, 512.0, 61, &[std::process::id()]),
        gpu(1, 0, 0.5, 75.0, 31, &[]),
    ]
}

#[test]
fn gpu_strip_on_recorded_samples() {
    let (_tmp, mut app) = fixtures();
    let now = app.now;
    // The poller's GPU half: a message only when the sample changed, and once for "NVML gone".
    let mut poll = GpuPoll::new(Box::new(Recorded(
        vec![
            Some(gpu_samples(10)),
            Some(gpu_samples(10)),
            Some(gpu_samples(60)),
            Some(gpu_samples(87)),
        ],
        0,
    )));
    poll.every = std::time::Duration::ZERO;
    let mut msgs = Vec::new();
    for _ in 0..4 {
        msgs.push(poll.news());
    }
    assert!(msgs[1].is_none(), "an unchanged sample sends nothing");
    // Ten minutes of history: 10% until 5 min ago, 60% until 1 min ago, 87% since.
    let times = [now - 700.0, 0.0, now - 300.0, now - 60.0];
    for (t, m) in times.into_iter().zip(msgs).filter(|(t, _)| *t != 0.0) {
        update(&mut app, Msg::Tick(t));
        update(&mut app, m.expect("a changed sample is news"));
    }
    update(&mut app, Msg::Tick(now));
    let images = Images::new(halfblock_picker(), || {});
    let term = settle(&app, &images, 120, 24);
    let screen = term.backend().to_string();
    assert!(
        screen.contains("gpu 0 H200  util  87%  mem 41.2/141.0 GiB  512 W  61°C"),
        "{screen}"
    );
    assert!(
        screen.contains("▂▂▂▂▂▂▂▂▂▂▂▂▂▂▅▅▅▅▅▅▅▅▅▅▅▅▇▇▇▇  live"),
        "{screen}"
    );
    assert_eq!(
        screen.contains(atelier::gpu::NO_CUDA),
        !cfg!(feature = "cuda"),
        "the header says a GPU is there and this build cannot use it"
    );
    if !cfg!(feature = "cuda") {
        insta::assert_snapshot!("runs_view_gpu_strip", term.backend());
    }
    // The run view shows its own GPU's line.
    press(&mut app, KeyCode::Enter);
    let dir = _tmp.path().join("20261121-110000-live");
    update(
        &mut app,
        Msg::RunData(Box::new(atelier::tui::workers::Watched::new(dir).poll())),
    );
    let screen = settle(&app, &images, 120, 36).backend().to_string();
    assert!(screen.contains("gpu 0 H200  util  87%"), "{screen}");
    assert!(!screen.contains("gpu 1 H200"), "{screen}");
    // NVML gone: the strip goes, nothing else happens.
    let mut gone = GpuPoll::new(Box::new(Recorded(vec![Some(gpu_samples(1)), None], 0)));
    gone.every = std::time::Duration::ZERO;
    assert!(gone.news().is_some());
    let last = gone.news().expect("the UI hears once that the GPUs went");
    assert!(gone.news().is_none());
    update(&mut app, last);
    assert_eq!(app.gpus.height(), 0);
    assert!(app.toast.is_none());
}
