//! Shared helpers: tiny specs, the binary, waiting on run-directory files; `dashboard`: the
//! headless dashboard's fixtures.

pub mod dashboard;

use atelier::run_dir::{self, RunState, Status};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_atelier"))
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn atelier");
    assert!(
        out.status.success(),
        "command failed ({:?})\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A tiny spec (32 px, G(4,1), D(4,2)) for fast CPU runs; `extra` is appended TOML.
pub fn tiny_spec(dir: &Path, name: &str, mode: &str, extra: &str) -> PathBuf {
    let data = if mode == "cyclegan" {
        "a = \"builtin\"\nb = \"builtin\""
    } else {
        "content = \"builtin\"\nstyle = \"builtin\""
    };
    let text = format!(
        "mode = \"{mode}\"\n{extra}\n[data]\n{data}\nimage_size = 32\nprobe_count = 2\nbuiltin_count = 4\n\
         [generator]\nwidth = 4\nblocks = 1\n[discriminator]\nwidth = 4\nlayers = 2\n\
         [train]\nsteps = 6\nbatch_size = 2\nlog_every = 2\nsample_every = 3\ncheckpoint_every = 3\nbackend = \"flex\"\nthreads = 1\n"
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Train a tiny spec to its end in `dir/runs` with extra CLI args; returns the run directory.
pub fn train_tiny(dir: &Path, name: &str, mode: &str, args: &[&str]) -> PathBuf {
    train_spec(dir, &tiny_spec(dir, name, mode, ""), args)
}

/// Train `spec` to its end in `dir/runs` (which must hold no other run) with extra CLI args.
pub fn train_spec(dir: &Path, spec: &Path, args: &[&str]) -> PathBuf {
    let runs = dir.join("runs");
    run_ok(
        bin()
            .arg("train")
            .arg(spec)
            .arg("--runs-dir")
            .arg(&runs)
            .arg("--quiet")
            .args(args),
    );
    only_run(&runs)
}

/// Run a command that must fail with exit code `code`; returns its stderr.
pub fn fails(cmd: &mut Command, code: i32) -> String {
    let out = cmd.output().expect("spawn atelier");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{err}");
    err
}

/// The only run directory under `runs`.
pub fn only_run(runs: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "expected one run in {}: {dirs:?}",
        runs.display()
    );
    dirs[0].clone()
}

pub fn status(run: &Path) -> Status {
    run_dir::read_status(run).expect("status.json readable")
}

/// Poll until `f` holds or fail after `secs`.
pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn wait_state(run: &Path, state: RunState, secs: u64) {
    wait_until(secs, &format!("state {state:?}"), || {
        run_dir::read_status(run).is_some_and(|s| s.state == state)
    });
}

pub fn events(run: &Path) -> Vec<run_dir::Event> {
    run_dir::read_lines(&run.join(run_dir::EVENTS))
}

pub fn metrics(run: &Path) -> Vec<run_dir::MetricRow> {
    run_dir::read_lines(&run.join(run_dir::METRICS))
}

/// A tiny endless run of `mode` (`extra` TOML appended to the spec), started as a child process
/// and returned once it is running and has taken a few steps (its step-0 samples on disk).
pub fn live_run(tmp: &Path, name: &str, mode: &str, extra: &str) -> (std::process::Child, PathBuf) {
    let spec = tiny_spec(tmp, name, mode, extra);
    let runs = tmp.join("runs");
    let child = bin()
        .arg("train")
        .arg(&spec)
        .arg("--runs-dir")
        .arg(&runs)
        .args([
            "--quiet",
            "--steps",
            "1000000",
            "--set",
            "train.sample_every=1000000",
            "--set",
            "train.checkpoint_every=1000000",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(60, "run directory", || {
        runs.is_dir() && std::fs::read_dir(&runs).unwrap().count() == 1
    });
    let run = only_run(&runs);
    wait_until(60, "a few steps", || {
        run_dir::read_status(&run).is_some_and(|s| s.state == RunState::Running && s.step >= 2)
    });
    (child, run)
}

/// Append a command with id `id` to a run's control file.
pub fn send(run: &Path, id: &str, command: run_dir::Command) {
    atelier::train::control::send(
        &run_dir::RunDir::new(run),
        &run_dir::ControlLine {
            id: Some(id.into()),
            command,
        },
    )
    .unwrap();
}
