//! Dashboard fixtures shared by the headless tests (`dashboard`, `snapshots`, `judging`): key
//! messages, fixture run directories with metrics, samples and scores, an app over them, and a
//! `TestBackend` drawn until its images settle.

use atelier::run_dir::{self, MetricRow, RunState, SampleRecord, Status};
use atelier::store;
use atelier::tui::app::{App, Effect, Msg};
use atelier::tui::images::Images;
use atelier::tui::update::update;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// A run directory with `rows` metric rows, samples at a few steps and the given state.
pub fn fixture_run(
    runs: &Path,
    id: &str,
    state: RunState,
    step: u64,
    rows: u64,
    now: f64,
) -> PathBuf {
    let dir = runs.join(id);
    std::fs::create_dir_all(dir.join("samples/inputs")).unwrap();
    std::fs::write(dir.join("spec.toml"), "name = \"quickstart\"\nmode = \"single_style\"\n[data]\ncontent = \"builtin\"\nstyle = \"builtin\"\nimage_size = 64\n[train]\nsteps = 400\n").unwrap();
    let status = Status {
        state,
        name: id.rsplit('-').next().unwrap().to_string(),
        mode: "single_style".into(),
        pid: std::process::id(),
        host: store::hostname(),
        step,
        total_steps: 400,
        heartbeat: now,
        started: now - 100.0,
        backend: "flex".into(),
        device: "cpu, 2 threads".into(),
        images_per_s: Some(17.5),
        eta_secs: Some((400 - step) as f64 / 4.4),
        message: None,
        study: None,
        parent: None,
    };
    std::fs::write(
        dir.join("status.json"),
        serde_json::to_vec(&status).unwrap(),
    )
    .unwrap();
    let mut metrics = String::new();
    for i in 1..=rows {
        let s = i * 10;
        let mut losses = BTreeMap::new();
        let t = s as f64 / 100.0;
        losses.insert(
            "g_adv".to_string(),
            0.6 - 0.2 * (1.0 - (-t).exp()) + 0.05 * (t * 3.0).sin(),
        );
        losses.insert("g_total".to_string(), 2.5 - 0.5 * (1.0 - (-t).exp()));
        losses.insert("d_real".to_string(), 0.45 - 0.25 * (1.0 - (-t).exp()));
        losses.insert(
            "d_fake".to_string(),
            0.47 - 0.3 * (1.0 - (-t).exp()) + 0.03 * (t * 5.0).cos(),
        );
        losses.insert("d_total".to_string(), 0.46 - 0.27 * (1.0 - (-t).exp()));
        losses.insert("content".to_string(), 1e-3 * (1.0 + 0.2 * (t * 2.0).sin()));
        losses.insert("style".to_string(), 5e-7 * (-t).exp() + 1e-7);
        let row = MetricRow {
            step: s,
            time: now - 100.0 + t,
            lr_g: 1e-3,
            lr_d: 1e-3,
            images_per_s: 17.0,
            losses,
        };
        metrics.push_str(&serde_json::to_string(&row).unwrap());
        metrics.push('\n');
    }
    std::fs::write(dir.join("metrics.jsonl"), metrics).unwrap();
    let mut index = String::new();
    for p in 0..2usize {
        let path = format!("samples/inputs/content_{p:02}.png");
        atelier::train::data::procedural::content_scene(1, p, 32, 32)
            .save(dir.join(&path))
            .unwrap();
        index.push_str(
            &serde_json::to_string(&SampleRecord {
                step: 0,
                set: "content".into(),
                probe: p,
                kind: "input".into(),
                path,
            })
            .unwrap(),
        );
        index.push('\n');
    }
    for s in [0u64, 50, 100] {
        let sd = format!("samples/step_{s:07}");
        std::fs::create_dir_all(dir.join(&sd)).unwrap();
        for p in 0..2usize {
            for kind in ["output", "patch"] {
                let path = format!("{sd}/content_{p:02}_{kind}.png");
                let img = if kind == "output" {
                    atelier::train::data::procedural::painterly_style(s + p as u64, 32, 32)
                } else {
                    atelier::train::data::convert::heatmap(&[0.1, 0.9, 0.5, 0.3], 2, 2, 32, 32)
                };
                img.save(dir.join(&path)).unwrap();
                index.push_str(
                    &serde_json::to_string(&SampleRecord {
                        step: s,
                        set: "content".into(),
                        probe: p,
                        kind: kind.into(),
                        path,
                    })
                    .unwrap(),
                );
                index.push('\n');
            }
        }
    }
    std::fs::write(dir.join("samples/index.jsonl"), index).unwrap();
    for s in [0u64, 50, 100] {
        for p in 0..2usize {
            let t = s as f64 / 100.0;
            let rec = atelier::run_dir::ScoreRecord {
                step: s,
                set: "content".into(),
                probe: p,
                ssim: 0.9 - 0.3 * t,
                style_gain: 0.2 + 0.4 * t,
                texture_gain: 0.1 + 0.5 * t,
                histogram_style_gain: 0.6,
                histogram_texture_gain: 0.2,
                checkerboard: 0.01,
                texture_energy: Some(0.5 + t),
                orientation: Some(atelier::run_dir::Against {
                    output: 0.1 + 0.2 * t,
                    photo: 0.05,
                    style: 0.16,
                }),
                periodicity: Some(atelier::run_dir::Against {
                    output: 0.05 + 0.2 * t,
                    photo: 0.04,
                    style: 0.06,
                }),
                speckle: Some(atelier::run_dir::Against {
                    output: 0.2 + t,
                    photo: 0.1,
                    style: 0.38,
                }),
                coherence: Some(atelier::run_dir::Against {
                    output: 0.6 - 0.3 * t,
                    photo: 0.5,
                    style: 0.7,
                }),
            };
            run_dir::append_json(&dir.join(run_dir::SCORES), &rec).unwrap();
        }
    }
    std::fs::write(dir.join("train.log"), "[10:00:00] started: quickstart (single_style) on flex (cpu, 2 threads)\n[10:00:20] step 100/400  g_adv 0.4\n").unwrap();
    dir
}

/// A key press into the app; its effects.
pub fn press(app: &mut App, c: KeyCode) -> Vec<Effect> {
    update(app, code(c))
}

/// A character key into the app; its effects.
pub fn ch(app: &mut App, c: char) -> Vec<Effect> {
    update(app, key(c))
}

/// Several fixture runs at once: (id, state, step, metric rows).
pub fn fixture_runs(runs: &Path, list: &[(&str, RunState, u64, u64)], now: f64) -> Vec<PathBuf> {
    list.iter()
        .map(|(id, state, step, rows)| fixture_run(runs, id, *state, *step, *rows, now))
        .collect()
}

pub fn app_with_runs(runs: &Path, now: f64) -> App {
    let mut app = App::new(PathBuf::from("runs"), PathBuf::from("experiments"), now);
    app.size = (120, 36);
    update(&mut app, Msg::Runs(store::scan(runs)));
    app
}

/// Draw until every requested image is encoded (the worker is asynchronous), then return the screen.
pub fn settle(app: &App, images: &Images, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut last = String::new();
    for _ in 0..100 {
        term.draw(|f| atelier::tui::views::draw(f, app, images))
            .unwrap();
        let now = term.backend().to_string();
        if now == last && !now.contains("loading…") {
            break;
        }
        last = now;
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    term
}
