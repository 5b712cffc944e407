//! Where trainers run: every launch path (the dashboard's form and fork, `atelier train`, a
//! resume, a study's auto-launched proposals) goes through one [`Launcher`], chosen per workspace
//! (`--launcher`, then `ATELIER_LAUNCHER`, then `atelier.toml` beside the runs folder, then
//! local). Both create the run directory first (validated spec, resolved `spec.toml`), so the run
//! appears at once and a bad spec is reported instead of dying in a log.
//!
//! - **Local**: `atelier train --start DIR --quiet` detached (its own session via `setsid`,
//!   stdin/stdout to /dev/null, stderr appended to `train.log`), so a run keeps training when the
//!   dashboard quits or the SSH session drops. On a GPU box each new run on `device = "auto"` is
//!   placed on the GPU with the most free memory (`train.device = "cuda:N"` in its spec).
//! - **Slurm**: the batch script (`slurm::script`) is written into the run directory and
//!   submitted with `sbatch`; the job id goes into `job.json`. A rejected submission removes the
//!   new run directory (nothing half-made); a rejected resume leaves the run as it was.
//!
//! Stopping is here too ([`stop`]): a control line for a local run; for a Slurm job, `scancel`
//! while it is queued, else the graceful stop through the control file and `scancel` when the
//! trainer does not acknowledge within [`STOP_ACK_SECS`].

pub mod workspace;

use crate::run_dir::{self, RunDir};
use crate::slurm::{self, script::SlurmConfig, JobRecord, JobState};
use crate::spec;
use anyhow::{bail, Context, Result};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The two ways to run a trainer (`--launcher`, `ATELIER_LAUNCHER`, `launcher =` in atelier.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LauncherKind {
    /// A detached process on this machine.
    Local,
    /// A batch job submitted with sbatch.
    Slurm,
}

/// A launcher with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Launcher {
    Local,
    Slurm(Box<SlurmConfig>),
}

/// The command line's `--launcher` for this process (set once by the CLI).
static CHOSEN: OnceLock<LauncherKind> = OnceLock::new();

/// Record the command line's `--launcher`; it wins over the environment and the workspace file.
pub fn choose(kind: LauncherKind) {
    let _ = CHOSEN.set(kind);
}

/// How long a running Slurm job's trainer has to acknowledge a stop before `scancel`.
pub const STOP_ACK_SECS: f64 = 30.0;

impl Launcher {
    /// The launcher of the workspace that holds `runs_dir`.
    /// An explicit local launcher (`--launcher local`, `ATELIER_LAUNCHER=local`) needs nothing
    /// from the workspace file, so a broken `atelier.toml` does not stop it (nor the trainer
    /// that a Slurm job starts with `--launcher local` after the file was edited).
    pub fn for_workspace(runs_dir: &Path) -> Result<Launcher> {
        let chosen = match CHOSEN.get() {
            Some(k) => Some(*k),
            None => workspace::from_env()?,
        };
        if chosen == Some(LauncherKind::Local) {
            return Ok(Launcher::Local);
        }
        let ws = workspace::load(runs_dir)?;
        let kind = chosen.or(ws.launcher).unwrap_or(LauncherKind::Local);
        Ok(match kind {
            LauncherKind::Local => Launcher::Local,
            LauncherKind::Slurm => Launcher::Slurm(Box::new(ws.slurm.unwrap_or_default())),
        })
    }

    pub fn kind(&self) -> LauncherKind {
        match self {
            Launcher::Local => LauncherKind::Local,
            Launcher::Slurm(_) => LauncherKind::Slurm,
        }
    }

    /// Validate `spec_path` with `overrides`, create the run directory and start (or submit) it.
    pub fn launch(
        &self,
        spec_path: &Path,
        overrides: &[String],
        runs_dir: &Path,
        name: Option<&str>,
    ) -> Result<RunDir> {
        match self {
            Launcher::Local => {
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
            Launcher::Slurm(cfg) => {
                let plan = spec::load(spec_path, overrides)?;
                let run = crate::train::create_run(&plan, runs_dir, name)?;
                match submit(cfg, &run, None) {
                    Ok(()) => Ok(run),
                    Err(e) => {
                        let _ = std::fs::remove_dir_all(&run.root);
                        Err(e.context(format!(
                            "could not submit {} to Slurm (its run directory was removed)",
                            plan.name
                        )))
                    }
                }
            }
        }
    }

    /// Continue a stopped run from its latest checkpoint (detached, or as a new Slurm job).
    pub fn resume(&self, run: &RunDir) -> Result<()> {
        crate::train::prepare_resume(run, &[])?;
        match self {
            Launcher::Local => spawn(run, &["train", "--resume"], &run.root),
            Launcher::Slurm(cfg) => submit(cfg, run, JobRecord::read(run))
                .with_context(|| format!("could not submit the resume of {} to Slurm", run.id())),
        }
    }
}

/// Launch through the workspace's launcher (see [`Launcher::launch`]).
pub fn launch(
    spec_path: &Path,
    overrides: &[String],
    runs_dir: &Path,
    name: Option<&str>,
) -> Result<RunDir> {
    Launcher::for_workspace(runs_dir)?.launch(spec_path, overrides, runs_dir, name)
}

/// Resume through the launcher of the workspace the run lives in.
pub fn resume(run: &RunDir) -> Result<()> {
    Launcher::for_workspace(&runs_dir_of(run))?.resume(run)
}

fn runs_dir_of(run: &RunDir) -> PathBuf {
    run.root
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Write the batch script into the run directory and submit it; the job id goes to `job.json`
/// only once sbatch accepted the job.
fn submit(cfg: &SlurmConfig, run: &RunDir, previous: Option<JobRecord>) -> Result<()> {
    let root = std::fs::canonicalize(&run.root)
        .with_context(|| format!("locating {}", run.root.display()))?;
    let script = slurm::script::batch_script(cfg, &root, &run.id(), &atelier_exe()?);
    let path = root.join(slurm::SCRIPT);
    run_dir::write_atomic(&path, script.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    let job_id = slurm::sbatch(&path)?;
    let mut earlier = previous.map_or_else(Vec::new, |p| {
        let mut v = p.previous;
        v.push(p.job_id);
        v
    });
    earlier.dedup();
    JobRecord {
        job_id,
        submitted: run_dir::now(),
        script: slurm::SCRIPT.into(),
        previous: earlier,
        ended: None,
    }
    .write(run)
}

/// Whether a run's trainer may still be alive. A Slurm run asks the scheduler (and a job's own
/// next attempt, inside that job, knows the last one is gone); a local run, its pid and heartbeat.
pub fn may_be_live(run: &RunDir, status: &run_dir::Status) -> bool {
    if status.state.is_final() {
        return false;
    }
    let Some(rec) = JobRecord::read(run) else {
        return crate::store::process_alive(status);
    };
    if std::env::var("SLURM_JOB_ID").is_ok_and(|j| j == rec.job_id) {
        return false;
    }
    match slurm::job(&rec.job_id) {
        Ok(Some(j)) => !j.state.ended(),
        Ok(None) => false,
        Err(_) => run_dir::now() - status.heartbeat <= crate::store::STALL_SECS,
    }
}

/// Stop a run: returns what happened, for the dashboard's notice and the CLI.
pub fn stop(run: &RunDir, id: &str) -> Result<String> {
    let send = || {
        crate::train::control::send(
            run,
            &run_dir::ControlLine {
                id: Some(id.to_string()),
                command: run_dir::Command::Stop,
            },
        )
        .with_context(|| format!("writing {}", run.path(run_dir::CONTROL).display()))
    };
    let Some(rec) = JobRecord::read(run) else {
        send()?;
        return Ok(format!("sent: stop {}", run.id()));
    };
    let job = slurm::job(&rec.job_id)?;
    match job.map(|j| j.state) {
        Some(JobState::Pending) => {
            slurm::scancel(&rec.job_id)?;
            Ok(format!(
                "cancelled queued job {} ({})",
                rec.job_id,
                run.id()
            ))
        }
        Some(JobState::Running) => {
            send()?;
            let t0 = std::time::Instant::now();
            while t0.elapsed().as_secs_f64() < STOP_ACK_SECS {
                if acknowledged(run, id) {
                    return Ok(format!(
                        "{} is stopping (checkpoint, then stopped)",
                        run.id()
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            slurm::scancel(&rec.job_id)?;
            Ok(format!(
                "{} did not acknowledge the stop within {STOP_ACK_SECS:.0} s: cancelled job {} (Slurm sends SIGTERM: the trainer checkpoints if it can)",
                run.id(),
                rec.job_id
            ))
        }
        _ => bail!(
            "job {} of {} is neither queued nor running",
            rec.job_id,
            run.id()
        ),
    }
}

/// The trainer acknowledged command `id`, or has ended.
fn acknowledged(run: &RunDir, id: &str) -> bool {
    if run_dir::read_status(&run.root).is_some_and(|s| s.state.is_final()) {
        return true;
    }
    run_dir::read_lines::<run_dir::Event>(&run.path(run_dir::EVENTS))
        .iter()
        .any(|e| e.id.as_deref() == Some(id))
}

/// The executable to run trainers with: this very binary.
pub fn atelier_exe() -> Result<PathBuf> {
    std::env::current_exe().context("locating the atelier executable")
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
        .args(["--quiet", "--launcher", "local"])
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
