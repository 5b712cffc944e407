//! Dashboard benchmark (not a test): a synthetic runs directory of RUNS runs x ROWS metric rows,
//! then the dashboard's own code paths, timed: first frame, first frame with the full runs table,
//! opening a run (tailing all its rows), the steady frame time of the run view at 200x60, and
//! the process's peak RSS. Frames are drawn into ratatui's TestBackend (terminal I/O excluded).
//!
//!   cargo run --release --example dashboard_bench -- [DIR] [RUNS] [ROWS]
//!
//! DIR is reused when it already holds the data (generation writes ~2.5 GB for 200 x 50,000).

use atelier::run_dir::{self, MetricRow, RunState, Status};
use atelier::tui::app::{App, Msg};
use atelier::tui::images::{halfblock_picker, Images};
use atelier::tui::update::update;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn generate(dir: &Path, runs: usize, rows: u64) {
    let marker = dir.join(format!(".generated-{runs}x{rows}"));
    if marker.exists() {
        return;
    }
    let now = run_dir::now();
    for r in 0..runs {
        let run = dir.join(format!("20261121-{:06}-bench{r:03}", r));
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(
            run.join("spec.toml"),
            "mode = \"single_style\"\n[data]\ncontent = \"builtin\"\nstyle = \"builtin\"\n",
        )
        .unwrap();
        let status = Status {
            state: if r % 3 == 0 {
                RunState::Running
            } else {
                RunState::Finished
            },
            name: format!("bench{r:03}"),
            mode: "single_style".into(),
            pid: std::process::id(),
            host: atelier::store::hostname(),
            step: rows * 10,
            total_steps: rows * 10,
            heartbeat: now,
            started: now - 3600.0,
            backend: "flex".into(),
            device: "cpu".into(),
            images_per_s: Some(17.0),
            eta_secs: Some(60.0),
            message: None,
            study: None,
            parent: None,
        };
        std::fs::write(
            run.join("status.json"),
            serde_json::to_vec(&status).unwrap(),
        )
        .unwrap();
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(run.join("metrics.jsonl")).unwrap());
        for i in 1..=rows {
            let t = i as f64 / rows as f64;
            let mut losses = BTreeMap::new();
            for (k, base) in [
                ("g_adv", 0.5),
                ("g_total", 2.0),
                ("d_real", 0.3),
                ("d_fake", 0.3),
                ("d_total", 0.3),
                ("content", 1e-3),
                ("style", 1e-7),
            ] {
                losses.insert(
                    k.to_string(),
                    base * (1.0 + 0.3 * (t * 50.0 + r as f64).sin()),
                );
            }
            let row = MetricRow {
                step: i * 10,
                time: now - 3600.0 + t * 3600.0,
                lr_g: 1e-3,
                lr_d: 1e-3,
                images_per_s: 17.0,
                losses,
            };
            serde_json::to_writer(&mut f, &row).unwrap();
            f.write_all(b"\n").unwrap();
        }
    }
    std::fs::write(marker, "").unwrap();
}

fn peak_rss_mb() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(
        args.get(1)
            .cloned()
            .unwrap_or_else(|| "/tmp/atelier-dashboard-bench".into()),
    );
    let runs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let rows: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(50_000);
    std::fs::create_dir_all(&dir).unwrap();
    let t = Instant::now();
    generate(&dir, runs, rows);
    eprintln!(
        "data ready in {:.1}s ({runs} runs x {rows} rows in {})",
        t.elapsed().as_secs_f64(),
        dir.display()
    );

    let start = Instant::now();
    let images = Images::new(halfblock_picker(), || {});
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let mut app = App::new(dir.clone(), PathBuf::from("experiments"), run_dir::now());
    app.size = (200, 60);
    term.draw(|f| atelier::tui::views::draw(f, &app, &images))
        .unwrap();
    let first_frame = start.elapsed();
    update(&mut app, Msg::Runs(atelier::store::scan(&dir)));
    term.draw(|f| atelier::tui::views::draw(f, &app, &images))
        .unwrap();
    let table_frame = start.elapsed();
    assert_eq!(app.runs.len(), runs);

    let t = Instant::now();
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let run_dir = app.run.as_ref().unwrap().dir.clone();
    let mut watched = atelier::tui::workers::Watched::new(run_dir);
    update(&mut app, Msg::RunData(Box::new(watched.poll())));
    term.draw(|f| atelier::tui::views::draw(f, &app, &images))
        .unwrap();
    let open = t.elapsed();
    assert_eq!(app.run.as_ref().unwrap().metrics.len() as u64, rows);

    let mut frames = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        term.draw(|f| atelier::tui::views::draw(f, &app, &images))
            .unwrap();
        frames.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    frames.sort_by(|a, b| a.total_cmp(b));
    let mean = frames.iter().sum::<f64>() / frames.len() as f64;
    let p95 = frames[frames.len() * 95 / 100];

    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
    );
    let mut table = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        term.draw(|f| atelier::tui::views::draw(f, &app, &images))
            .unwrap();
        table.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let t = Instant::now();
    let rescan = atelier::store::scan(&dir);
    let rescan_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(rescan.len(), runs);

    println!("runs x rows            {runs} x {rows}");
    println!(
        "first frame            {:.1} ms",
        first_frame.as_secs_f64() * 1000.0
    );
    println!(
        "first full table frame {:.1} ms (scan of {runs} runs included)",
        table_frame.as_secs_f64() * 1000.0
    );
    println!(
        "open a run             {:.1} ms ({rows} rows tailed, parsed, drawn)",
        open.as_secs_f64() * 1000.0
    );
    println!("run view frame 200x60  mean {mean:.2} ms, p95 {p95:.2} ms");
    println!(
        "runs table frame       mean {:.2} ms",
        table.iter().sum::<f64>() / table.len() as f64
    );
    println!("background rescan      {rescan_ms:.1} ms (poller thread, every second)");
    println!("peak RSS               {:.0} MB", peak_rss_mb());
}
