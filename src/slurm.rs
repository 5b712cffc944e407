//! Slurm, as atelier talks to it: `sbatch --parsable` to submit, `scancel` to cancel, and one
//! `squeue` call (machine-readable, every job of this user, all states) per poll to watch every
//! Slurm run at once, with one `sacct` call for the jobs `squeue` has already forgotten (when the
//! cluster keeps accounting). The parsers are pure and tested on recorded output
//! (`tests/fixtures/slurm/`). A run launched through Slurm carries `job.json` ([`JobRecord`]):
//! its job id, the batch script, and, once seen, how Slurm ended the job, so `atelier runs`
//! still says `timeout` long after the controller has purged the job.

pub mod script;

use crate::run_dir::{self, RunDir};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::process::Command;

/// The file in a run directory that names its Slurm job.
pub const JOB: &str = "job.json";
/// The batch script atelier writes into the run directory (and submits).
pub const SCRIPT: &str = "job.sbatch";

/// A job's state as Slurm names it (`squeue %T`, `sacct State`), folded to what atelier acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting in the queue (PENDING, REQUEUED, REQUEUE_HOLD, SUSPENDED, ...).
    Pending,
    /// Allocated and running (RUNNING, CONFIGURING, COMPLETING, STAGE_OUT, ...).
    Running,
    Completed,
    Cancelled,
    Timeout,
    NodeFail,
    OutOfMemory,
    Failed,
    Preempted,
    BootFail,
    Deadline,
}

impl JobState {
    /// Slurm's state word (`CANCELLED by 0` counts as CANCELLED); `None` for one atelier does
    /// not know (then the run is judged by its heartbeat alone).
    pub fn parse(word: &str) -> Option<JobState> {
        let w = word
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches('+');
        Some(match w {
            "PENDING" | "PD" | "REQUEUED" | "RQ" | "REQUEUE_HOLD" | "REQUEUE_FED" | "SUSPENDED"
            | "S" | "RESV_DEL_HOLD" | "RESIZING" => JobState::Pending,
            "RUNNING" | "R" | "CONFIGURING" | "CF" | "COMPLETING" | "CG" | "STAGE_OUT" | "SO"
            | "SIGNALING" | "SI" => JobState::Running,
            "COMPLETED" | "CD" => JobState::Completed,
            "CANCELLED" | "CA" => JobState::Cancelled,
            "TIMEOUT" | "TO" => JobState::Timeout,
            "NODE_FAIL" | "NF" => JobState::NodeFail,
            "OUT_OF_MEMORY" | "OOM" => JobState::OutOfMemory,
            "FAILED" | "F" => JobState::Failed,
            "PREEMPTED" | "PR" => JobState::Preempted,
            "BOOT_FAIL" | "BF" => JobState::BootFail,
            "DEADLINE" | "DL" => JobState::Deadline,
            _ => return None,
        })
    }

    /// The job no longer runs and will not run again by itself.
    pub fn ended(self) -> bool {
        !matches!(self, JobState::Pending | JobState::Running)
    }

    /// How the runs table and `atelier runs` name a job Slurm ended.
    pub fn label(self) -> &'static str {
        match self {
            JobState::Pending => "queued",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Cancelled => "cancelled",
            JobState::Timeout => "timeout",
            JobState::NodeFail => "node_fail",
            JobState::OutOfMemory => "oom",
            JobState::Failed => "job_failed",
            JobState::Preempted => "preempted",
            JobState::BootFail => "boot_fail",
            JobState::Deadline => "deadline",
        }
    }
}

/// What the scheduler says about one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: String,
    pub state: JobState,
    /// Why it waits (Priority, Resources, BeginTime, ...) or why it ended; `None` for Slurm's
    /// "None".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The node(s) it runs or ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// Every job the scheduler told about, by job id.
pub type Jobs = HashMap<String, JobInfo>;

/// `squeue`'s format: job id, state, reason, nodes, name (last: a name may hold anything).
pub const SQUEUE_FORMAT: &str = "%i|%T|%r|%N|%j";
/// `sacct`'s fields, with `--parsable2 --noheader --allocations`.
pub const SACCT_FIELDS: &str = "JobID,State,Reason,NodeList";

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s != "None" && s != "(null)" && s != "None assigned").then(|| s.to_string())
}

/// Parse `squeue --noheader --format=SQUEUE_FORMAT` output. Lines of an unknown state or shape
/// are skipped (a newer Slurm may add states; the run then falls back to its heartbeat).
pub fn parse_squeue(text: &str) -> Vec<JobInfo> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.splitn(5, '|');
            let id = f.next()?.trim();
            let state = JobState::parse(f.next()?)?;
            let reason = non_empty(f.next()?);
            let node = non_empty(f.next()?);
            (!id.is_empty()).then(|| JobInfo {
                id: id.to_string(),
                state,
                reason,
                node,
            })
        })
        .collect()
}

/// Parse `sacct --parsable2 --noheader --allocations --format=SACCT_FIELDS` output; a job
/// requeued several times has one line per attempt in some versions: the last one wins.
pub fn parse_sacct(text: &str) -> Vec<JobInfo> {
    let mut out: Vec<JobInfo> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('|').collect();
        if f.len() < 4 {
            continue;
        }
        let id = f[0].trim();
        if id.is_empty() || id.contains('.') {
            continue;
        }
        let Some(state) = JobState::parse(f[1]) else {
            continue;
        };
        let info = JobInfo {
            id: id.to_string(),
            state,
            reason: non_empty(f[2]),
            node: non_empty(f[3]),
        };
        match out.iter_mut().find(|j| j.id == info.id) {
            Some(j) => *j = info,
            None => out.push(info),
        }
    }
    out
}

/// The first line of `sbatch --parsable`'s answer: `123` or `123;cluster`.
pub fn parse_sbatch(text: &str) -> Option<String> {
    let first = text.lines().find(|l| !l.trim().is_empty())?.trim();
    let id = first.split(';').next()?.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

/// Run a Slurm command; its stdout, or an error that says what failed and what Slurm said.
fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program).args(args).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("`{program}` not found: Slurm's client commands are not on PATH (launcher = \"slurm\" needs them)")
        } else {
            anyhow::anyhow!("running `{program}`: {e}")
        }
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err: Vec<&str> = err
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            if err.is_empty() {
                "no message".to_string()
            } else {
                err.join("; ")
            }
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Submit a batch script; returns the job id.
pub fn sbatch(script: &std::path::Path) -> Result<String> {
    let path = script.display().to_string();
    let out = run("sbatch", &["--parsable", &path])?;
    parse_sbatch(&out).with_context(|| format!("sbatch answered no job id: {}", out.trim()))
}

/// Cancel a job (Slurm sends SIGTERM, then SIGKILL after its KillWait).
pub fn scancel(id: &str) -> Result<()> {
    run("scancel", &[id]).map(|_| ())
}

/// One job's state now (`squeue --jobs ID`); `None` when the controller no longer lists it.
pub fn job(id: &str) -> Result<Option<JobInfo>> {
    let out = run(
        "squeue",
        &[
            "--noheader",
            "--states=all",
            &format!("--jobs={id}"),
            &format!("--format={SQUEUE_FORMAT}"),
        ],
    )?;
    Ok(parse_squeue(&out).into_iter().find(|j| j.id == id))
}

/// Every job of this user that the controller still lists, in one `squeue` call; then, for the
/// `missing` ids it did not list, one `sacct` call (ignored where accounting is off).
pub fn query(missing_from: &[String]) -> Result<Jobs> {
    let user = format!("--user={}", user_name());
    let out = run(
        "squeue",
        &[
            "--noheader",
            "--states=all",
            &user,
            &format!("--format={SQUEUE_FORMAT}"),
        ],
    )?;
    let mut jobs: Jobs = parse_squeue(&out)
        .into_iter()
        .map(|j| (j.id.clone(), j))
        .collect();
    let missing: Vec<&str> = missing_from
        .iter()
        .filter(|id| !jobs.contains_key(*id))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let ids = format!("--jobs={}", missing.join(","));
        let fields = format!("--format={SACCT_FIELDS}");
        if let Ok(out) = run(
            "sacct",
            &["--parsable2", "--noheader", "--allocations", &ids, &fields],
        ) {
            jobs.extend(parse_sacct(&out).into_iter().map(|j| (j.id.clone(), j)));
        }
    }
    Ok(jobs)
}

/// This process's user name (for `squeue --user`): `$USER`, else the numeric uid, which squeue
/// also accepts.
fn user_name() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        // SAFETY: getuid cannot fail and has no preconditions.
        .unwrap_or_else(|| unsafe { libc::getuid() }.to_string())
}

/// `job.json`: how a run was submitted to Slurm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The current job id (a requeue keeps it; a resume submits a new job).
    pub job_id: String,
    /// Unix seconds of the submission.
    pub submitted: f64,
    /// The batch script, relative to the run directory.
    pub script: String,
    /// Earlier jobs of this run (before resumes), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<String>,
    /// How Slurm ended the current job, once a poll saw it end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<JobInfo>,
}

impl JobRecord {
    pub fn read(run: &RunDir) -> Option<JobRecord> {
        let text = std::fs::read_to_string(run.path(JOB)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn write(&self, run: &RunDir) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self)?;
        run_dir::write_atomic(&run.path(JOB), &bytes)
            .with_context(|| format!("writing {}", run.path(JOB).display()))
    }
}

/// After a poll: note in each run's `job.json` how Slurm ended its job, the first time a poll
/// sees it (the controller forgets jobs after its MinJobAge; the run directory does not).
pub fn record_endings(runs: &[(RunDir, JobRecord)], jobs: &Jobs) {
    for (run, rec) in runs {
        if rec.ended.is_some() {
            continue;
        }
        if let Some(j) = jobs.get(&rec.job_id).filter(|j| j.state.ended()) {
            let mut rec = rec.clone();
            rec.ended = Some(j.clone());
            let _ = rec.write(run);
        }
    }
}

/// The environment variable the batch script sets to its `--signal` lead (seconds before the
/// time limit), so the trainer can tell the time limit from other signals.
pub const SIGNAL_SECS_ENV: &str = "ATELIER_SLURM_SIGNAL_SECS";

/// Why a trainer stopped when [`at_time_limit`] said so: in its final status message, where the
/// runs table reads it back as the job's `timeout` (the trainer exits cleanly after its
/// checkpoint, so Slurm itself records the job as completed).
pub const TIME_LIMIT: &str = "Slurm's time limit";

/// Inside a Slurm job that just got a stop signal: whether the job's time limit sent it (Slurm's
/// `--signal` comes `SIGNAL_SECS_ENV` seconds before the limit, give or take its one-minute
/// timer), judged by the time left `squeue` reports. False outside Slurm, or when Slurm cannot
/// be asked (then the stop is reported as a plain signal).
pub fn at_time_limit() -> bool {
    let Ok(id) = std::env::var("SLURM_JOB_ID") else {
        return false;
    };
    let lead: u64 = std::env::var(SIGNAL_SECS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    run("squeue", &["--noheader", "--jobs", &id, "--format=%L"])
        .ok()
        .and_then(|out| parse_time_left(out.trim()))
        .is_some_and(|left| left <= lead + 60)
}

/// `squeue`'s time left (`%L`): `[D-]H:MM:SS` or `M:SS`, in seconds; `None` for UNLIMITED,
/// NOT_SET, INVALID or anything else.
pub fn parse_time_left(s: &str) -> Option<u64> {
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().ok()?, r),
        None => (0, s),
    };
    let parts: Vec<u64> = rest
        .split(':')
        .map(|p| p.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    let (h, m, sec) = match parts[..] {
        [m, s] => (0, m, s),
        [h, m, s] => (h, m, s),
        _ => return None,
    };
    Some(((days * 24 + h) * 60 + m) * 60 + sec)
}

/// The Slurm runs under `runs_dir`: each run directory with a `job.json`.
pub fn slurm_runs(runs_dir: &std::path::Path) -> Vec<(RunDir, JobRecord)> {
    std::fs::read_dir(runs_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let run = RunDir::new(e.path());
            JobRecord::read(&run).map(|r| (run, r))
        })
        .collect()
}

/// One poll of the scheduler for a runs directory: `None` when no run there went through Slurm
/// (no Slurm command is run at all), else the jobs (or why the scheduler could not be asked).
/// Endings are recorded in the runs' `job.json`.
pub fn poll(runs_dir: &std::path::Path) -> Option<Result<Jobs>> {
    let runs = slurm_runs(runs_dir);
    if runs.is_empty() {
        return None;
    }
    let open: Vec<String> = runs
        .iter()
        .filter(|(_, r)| r.ended.is_none())
        .map(|(_, r)| r.job_id.clone())
        .collect();
    let jobs = query(&open);
    if let Ok(j) = &jobs {
        record_endings(&runs, j);
    }
    Some(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/slurm")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn squeue_output_parses_states_reasons_and_nodes() {
        let jobs = parse_squeue(&fixture("squeue.txt"));
        let by: HashMap<_, _> = jobs.iter().map(|j| (j.id.as_str(), j)).collect();
        assert_eq!(by["41"].state, JobState::Running);
        assert_eq!(by["41"].node.as_deref(), Some("vm"));
        assert_eq!(by["41"].reason, None);
        assert_eq!(by["42"].state, JobState::Pending);
        assert_eq!(by["42"].reason.as_deref(), Some("Resources"));
        assert_eq!(by["42"].node, None);
        assert_eq!(by["43"].state, JobState::Pending);
        assert_eq!(by["43"].reason.as_deref(), Some("BeginTime"));
        assert_eq!(by["44"].state, JobState::Timeout);
        assert_eq!(by["45"].state, JobState::Cancelled);
        assert_eq!(by["46"].state, JobState::OutOfMemory);
        assert_eq!(by["47"].state, JobState::NodeFail);
        assert_eq!(by["48"].state, JobState::Completed);
        // A state this version does not know and a torn line are skipped, not guessed.
        assert!(!by.contains_key("49"));
        assert_eq!(jobs.len(), 8);
    }

    #[test]
    fn sacct_output_keeps_allocations_and_the_last_attempt() {
        let jobs = parse_sacct(&fixture("sacct.txt"));
        let by: HashMap<_, _> = jobs.iter().map(|j| (j.id.as_str(), j)).collect();
        assert_eq!(by["101"].state, JobState::Timeout);
        assert_eq!(by["102"].state, JobState::Cancelled, "CANCELLED by 1000");
        assert_eq!(by["103"].state, JobState::OutOfMemory);
        assert_eq!(by["103"].node.as_deref(), Some("gpu07"));
        assert_eq!(by["104"].state, JobState::Completed, "the requeued attempt");
        assert_eq!(jobs.len(), 4, "{jobs:?}");
    }

    #[test]
    fn squeue_time_left_forms() {
        assert_eq!(parse_time_left("0:45"), Some(45));
        assert_eq!(parse_time_left("1:45"), Some(105));
        assert_eq!(parse_time_left("2:01:05"), Some(7265));
        assert_eq!(parse_time_left("1-00:00:10"), Some(86410));
        for none in ["UNLIMITED", "NOT_SET", "INVALID", "", "12", "a:b"] {
            assert_eq!(parse_time_left(none), None, "{none}");
        }
    }

    #[test]
    fn sbatch_parsable_answer() {
        assert_eq!(parse_sbatch("1234\n").as_deref(), Some("1234"));
        assert_eq!(parse_sbatch("77;cluster-a\n").as_deref(), Some("77"));
        assert_eq!(parse_sbatch("sbatch: error: nope"), None);
        assert_eq!(parse_sbatch(""), None);
    }

    #[test]
    fn job_record_round_trips_and_endings_are_recorded_once() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path().join("r1"));
        std::fs::create_dir_all(&run.root).unwrap();
        std::fs::write(run.path(run_dir::SPEC), "").unwrap();
        let rec = JobRecord {
            job_id: "44".into(),
            submitted: 1.0,
            script: SCRIPT.into(),
            previous: vec![],
            ended: None,
        };
        rec.write(&run).unwrap();
        let runs = slurm_runs(dir.path());
        assert_eq!(runs.len(), 1);
        let jobs: Jobs = parse_squeue(&fixture("squeue.txt"))
            .into_iter()
            .map(|j| (j.id.clone(), j))
            .collect();
        record_endings(&runs, &jobs);
        let back = JobRecord::read(&run).unwrap();
        assert_eq!(back.ended.unwrap().state, JobState::Timeout);
    }
}
