//! Child processes: start `atelier train` detached from the dashboard (its own session via
//! `setsid`, stdin/stdout to /dev/null, stderr appended to the run's `train.log`), so a run keeps
//! training when the dashboard quits or the SSH session drops. The run directory is created here
//! first (validated spec, resolved `spec.toml`), so the run appears at once and a bad spec is
//! reported to the user instead of dying in a log. On a GPU box each new run on `device = "auto"`
//! is placed on the GPU with the most free memory (`train.device = "cuda:N"` in its spec).

use crate::run_dir::{self, RunDir};
use crate::spec;
use anyhow::{Context, Result};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The executable to run trainers with: this very binary.
pub fn atelier_exe() -> Result<PathBuf> {
    std::env::current_exe().context("locating the atelier executable")
}

/// Validate `spec_path` with `overrides`, create the run directory and start training it.
pub fn launch(
    spec_path: &Path,
    overrides: &[String],
    runs_dir: &Path,
    name: Option<&str>,
) -> Result<RunDir> {
    let mut plan = spec::load(spec_path, overrides)?;
    if let Some(n) = place_on_gpu(&plan) {
        let mut overrides = overrides.to_vec();
        overrides.push(format!("train.device=cuda:{n}"));
        plan = spec::load(spec_path, &overrides)?;
    }
    let run = crate::train::create_run(&plan, runs_dir, name)?;
    spawn(&run, &["train", "--start"], &run.root)?;
    Ok(run)
}

/// For a spec on `device = "auto"` that may run on CUDA, in a build with CUDA: the GPU with the
/// most free memory (after the runs placed moments ago), so several runs launched together
/// spread over the GPUs. `None` (nothing changes) without NVML or GPUs.
fn place_on_gpu(plan: &spec::Plan) -> Option<usize> {
    let t = &plan.spec.train;
    let may_cuda = matches!(
        t.backend,
        spec::BackendChoice::Auto | spec::BackendChoice::Cuda
    );
    let auto = spec::DeviceChoice::parse(&t.device) == Ok(spec::DeviceChoice::Auto);
    (cfg!(feature = "cuda") && may_cuda && auto)
        .then(crate::gpu::place_new_run)
        .flatten()
}

/// Continue a stopped run from its latest checkpoint, detached.
pub fn resume(run: &RunDir) -> Result<()> {
    crate::train::prepare_resume(run, &[])?;
    spawn(run, &["train", "--resume"], &run.root)
}

/// Start `atelier ARGS... DIR --quiet` in its own session, logging stderr to the run's train.log.
fn spawn(run: &RunDir, args: &[&str], dir: &Path) -> Result<()> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.path(run_dir::LOG))
        .with_context(|| format!("opening {}", run.path(run_dir::LOG).display()))?;
    let mut cmd = Command::new(atelier_exe()?);
    // An absolute run path: the trainer's command line then names its run wherever it is seen.
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    cmd.args(args)
        .arg(&dir)
        .arg("--quiet")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: setsid is async-signal-safe; it only detaches the child from our session and
    // controlling terminal, so a hangup of the dashboard's terminal does not reach it.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("starting the trainer")?;
    // Reap the child when it ends so no zombie lingers while the dashboard runs.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}
