//! The dashboard's cost of watching many Slurm runs (not a test; needs a running Slurm): RUNS
//! run directories, each with a real job submitted through `sbatch` (a one-CPU `sleep`, so a
//! small cluster runs a few and queues the rest with Slurm's own reasons), then the dashboard's
//! own code paths, timed: the slurm thread's poll (one `squeue` for all jobs, plus `sacct` for
//! the ones it forgot), the poller's scan with those jobs, and the UI thread's update and runs
//! table frame (ratatui's TestBackend at 200x60; terminal I/O excluded). The jobs are cancelled
//! at the end.
//!
//!   source tests/e2e/slurm_lib.sh && slurm_up /tmp/atelier-slurm-bench-cluster
//!   cargo run --release --example slurm_watch_bench -- /tmp/atelier-slurm-bench 200
//!   slurm_down

use atelier::run_dir::{self, MetricRow};
use atelier::slurm::{self, JobRecord};
use atelier::store::Liveness;
use atelier::tui::app::{App, Msg};
use atelier::tui::images::{halfblock_picker, Images};
use atelier::tui::update::update;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

const SPEC: &str = "mode = \"single_style\"\n[data]\ncontent = \"builtin\"\nstyle = \"builtin\"\n";

/// One run directory with a submitted job and a short metrics history (so the table has
/// sparklines to draw, as a resumed or requeued run would).
fn submit(dir: &Path, r: usize, now: f64) -> String {
    let run = run_dir::RunDir::new(dir.join(format!("20261205-{:06}-slurm{r:03}", r)));
    std::fs::create_dir_all(&run.root).unwrap();
    std::fs::write(run.path(run_dir::SPEC), SPEC).unwrap();
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(run.root.join("metrics.jsonl")).unwrap());
    for i in 1..=200u64 {
        let losses: BTreeMap<String, f64> = [("g_total", 2.0), ("d_total", 0.3)]
            .into_iter()
            .map(|(k, b)| {
                (
                    k.to_string(),
                    b * (1.0 + 0.2 * ((i + r as u64) as f64).sin()),
                )
            })
            .collect();
        let row = MetricRow {
            step: i * 10,
            time: now - 600.0 + i as f64,
            lr_g: 1e-3,
            lr_d: 1e-3,
            images_per_s: 17.0,
            losses,
        };
        serde_json::to_writer(&mut f, &row).unwrap();
        f.write_all(b"\n").unwrap();
    }
    let script = run.root.join(slurm::SCRIPT);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n#SBATCH --job-name=atelier-bench-{r:03}\n#SBATCH --cpus-per-task=1\n\
             #SBATCH --output=/dev/null\nexec sleep 900\n"
        ),
    )
    .unwrap();
    let job_id = slurm::sbatch(&script).expect("sbatch (is a Slurm running? see the header)");
    JobRecord {
        job_id: job_id.clone(),
        submitted: now,
        script: slurm::SCRIPT.into(),
        previous: vec![],
        ended: None,
    }
    .write(&run)
    .unwrap();
    job_id
}

fn stats(mut ms: Vec<f64>) -> String {
    ms.sort_by(|a, b| a.total_cmp(b));
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    format!(
        "mean {mean:.2} ms, median {:.2} ms, max {:.2} ms ({} samples)",
        ms[ms.len() / 2],
        ms[ms.len() - 1],
        ms.len()
    )
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed().as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(
        args.get(1)
            .cloned()
            .unwrap_or_else(|| "/tmp/atelier-slurm-bench".into()),
    );
    let runs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let now = run_dir::now();
    let (ids, submit_ms) = timed(|| (0..runs).map(|r| submit(&dir, r, now)).collect::<Vec<_>>());
    eprintln!(
        "submitted {runs} jobs in {:.1} s; waiting 5 s for the scheduler to place some",
        submit_ms / 1000.0
    );
    std::thread::sleep(std::time::Duration::from_secs(5));

    let mut polls = Vec::new();
    let mut jobs = None;
    for _ in 0..10 {
        let (j, ms) = timed(|| slurm::poll(&dir).expect("slurm runs").expect("squeue"));
        polls.push(ms);
        jobs = Some(j);
    }
    let jobs = jobs.unwrap();
    let mut scans = Vec::new();
    let mut scan = Vec::new();
    for _ in 0..10 {
        let (s, ms) = timed(|| atelier::store::scan_with(&dir, Some(&jobs)));
        scans.push(ms);
        scan = s;
    }
    let count = |f: fn(&Liveness) -> bool| scan.iter().filter(|r| f(&r.state)).count();
    let queued = count(|l| matches!(l, Liveness::Queued));

    let images = Images::new(halfblock_picker(), || {});
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let mut app = App::new(dir.clone(), PathBuf::from("experiments"), run_dir::now());
    app.size = (200, 60);
    let mut updates = Vec::new();
    let mut frames = Vec::new();
    for _ in 0..50 {
        let runs = scan.clone();
        let (_, ms) = timed(|| update(&mut app, Msg::Runs(runs)));
        updates.push(ms);
        let (r, ms) = timed(|| term.draw(|f| atelier::tui::views::draw(f, &app, &images)));
        r.unwrap();
        frames.push(ms);
    }
    let screen = format!("{:?}", term.backend().buffer());
    assert!(
        screen.contains("queued"),
        "the runs table shows queued runs"
    );

    for id in &ids {
        let _ = slurm::scancel(id);
    }
    println!("Slurm runs watched      {runs} ({queued} queued by Slurm at the time of the scan)");
    println!(
        "slurm thread poll       {} (every 3 s, off the UI thread)",
        stats(polls)
    );
    println!(
        "poller scan with jobs   {} (every second, off the UI thread)",
        stats(scans)
    );
    println!("UI update (Msg::Runs)   {}", stats(updates));
    println!("runs table frame 200x60 {}", stats(frames));
}
