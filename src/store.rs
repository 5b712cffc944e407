//! Readers of run directories (`runs/<id>/`), used by `atelier runs`, resume and the dashboard:
//! scan the runs, read a run's status and decide whether it is really alive (a heartbeat older
//! than 30 s or a vanished process on this host makes a live-looking run *stalled*), and read
//! the last metric row from the file's tail. Everything tolerates missing files, torn lines and
//! runs deleted while being read.

pub mod tail;

use crate::run_dir::{self, MetricRow, RunDir, RunState, Status};
use crate::slurm::{JobInfo, JobRecord, JobState, Jobs};
use crate::terms::Term;
use serde::Serialize;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// A heartbeat older than this marks a non-final run as stalled.
pub const STALL_SECS: f64 = 30.0;

/// What a reader should believe about a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    Reported(RunState),
    /// Claims to run but its heartbeat stopped or its process is gone.
    Stalled,
    /// No readable status yet.
    Unknown,
    /// A Slurm job waiting in the queue (the reason is in `RunSummary::job`).
    Queued,
    /// Slurm ended the job before the trainer could say so itself (time limit, node failure,
    /// cancelled, out of memory, ...).
    Ended(JobState),
}

impl Liveness {
    pub fn label(self) -> &'static str {
        match self {
            Liveness::Reported(s) => s.as_str(),
            Liveness::Stalled => "stalled",
            Liveness::Unknown => "unknown",
            Liveness::Queued => "queued",
            Liveness::Ended(s) => s.label(),
        }
    }
}

/// One row of `atelier runs`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunSummary {
    pub id: String,
    pub dir: String,
    /// The run's own name ([`run_dir::run_name`]: `--name` or the launch form's, else the spec's).
    pub name: String,
    /// The experiment's name (the spec's `name`, from status.json; the run's name without one).
    pub spec: String,
    pub mode: String,
    pub state: Liveness,
    pub step: u64,
    pub total_steps: u64,
    pub images_per_s: Option<f64>,
    pub eta_secs: Option<f64>,
    pub message: Option<String>,
    pub last: Option<MetricRow>,
    /// Recent g_total and d_total values (oldest first) for sparklines.
    pub spark_g: Vec<f64>,
    pub spark_d: Vec<f64>,
    /// Unix seconds of the last heartbeat (or of spec.toml when no status exists).
    pub updated: f64,
    /// The study the run belongs to, if any.
    pub study: Option<String>,
    /// A distilled run's teacher (run id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Unix seconds when the run directory was made (its spec.toml, written once).
    pub created: f64,
    /// The trainer's process id and host (to find it among a GPU's processes).
    pub pid: Option<u32>,
    /// Where it computes, as status.json says (`cuda:1 (NVIDIA H200)`, `cpu, 2 threads`).
    pub device: String,
    /// A Slurm run's job as the scheduler (or, once ended, `job.json`) last said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobInfo>,
}

impl RunSummary {
    /// The device without its details, for the runs table: `cuda:1`, `cpu`, or `-`.
    pub fn device_short(&self) -> &str {
        let d = self.device.split([' ', ',']).next().unwrap_or("");
        if d.is_empty() {
            "-"
        } else {
            d
        }
    }

    /// Where the run is, for the tables: a Slurm job's queue reason or node, else the device.
    pub fn place(&self) -> String {
        match &self.job {
            Some(j) if j.state == JobState::Pending => {
                format!("({})", j.reason.as_deref().unwrap_or("queued"))
            }
            Some(j) if j.node.is_some() => j.node.clone().unwrap_or_default(),
            _ => self.device_short().to_string(),
        }
    }

    /// Whether this run's live trainer is process `pid` of this host.
    pub fn is_process(&self, pid: u32) -> bool {
        self.pid == Some(pid) && matches!(self.state, Liveness::Reported(s) if !s.is_final())
    }
}

/// A run's resolved spec (`spec.toml`), as the trainer wrote it; not re-validated, so a run
/// whose images have since moved can still be read, stylized and scored.
pub fn read_spec(run: &RunDir) -> anyhow::Result<crate::spec::Spec> {
    use anyhow::Context;
    let path = run.path(run_dir::SPEC);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} is not a run directory (no readable spec.toml)",
            run.root.display()
        )
    })?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Every run directory under `runs_dir`, newest first.
pub fn scan(runs_dir: &Path) -> Vec<RunSummary> {
    scan_with(runs_dir, None)
}

/// [`scan`] with what the scheduler said about the Slurm runs' jobs (`None`: not asked, or it
/// could not answer; those runs are then judged by their heartbeat).
pub fn scan_with(runs_dir: &Path, jobs: Option<&Jobs>) -> Vec<RunSummary> {
    let Ok(entries) = std::fs::read_dir(runs_dir) else {
        return Vec::new();
    };
    let mut runs: Vec<RunSummary> = entries
        .flatten()
        .filter(|e| e.path().join(run_dir::SPEC).is_file())
        .map(|e| summarize_with(&RunDir::new(e.path()), jobs))
        .collect();
    runs.sort_by(|a, b| creation_order(b, a));
    runs
}

/// Oldest first: by the second in the id (`YYYYmmdd-HHMMSS-…`, or the creation time's for an
/// id without one), then by creation time within it, then by the id with its numbers compared
/// as numbers, so `study-5` comes before `study-11` even when both were made in the same second
/// (file times may be a few milliseconds coarse).
pub fn creation_order(a: &RunSummary, b: &RunSummary) -> std::cmp::Ordering {
    let second = |r: &RunSummary| match r.id.get(..15) {
        Some(p)
            if p.as_bytes()[8] == b'-' && p.bytes().filter(u8::is_ascii_digit).count() == 14 =>
        {
            p.to_string()
        }
        _ => run_dir::timestamp_id(r.created),
    };
    second(a)
        .cmp(&second(b))
        .then(a.created.total_cmp(&b.created))
        .then_with(|| natural_cmp(&a.id, &b.id))
}

/// Text order with runs of digits compared by value (`a-5` < `a-11`).
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for ((da, x), (db, y)) in ca.iter().zip(&cb) {
        let o = if *da && *db {
            let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
            x.len().cmp(&y.len()).then(x.cmp(y))
        } else {
            x.cmp(y)
        };
        if o.is_ne() {
            return o;
        }
    }
    ca.len().cmp(&cb.len()).then(a.cmp(b))
}

pub fn summarize(run: &RunDir) -> RunSummary {
    summarize_with(run, None)
}

/// A Slurm run's job: the scheduler's word, else what `job.json` recorded when it ended.
pub fn job_of(run: &RunDir, jobs: Option<&Jobs>) -> Option<(JobRecord, Option<JobInfo>)> {
    let rec = JobRecord::read(run)?;
    let info = jobs
        .and_then(|j| j.get(&rec.job_id).cloned())
        .or_else(|| rec.ended.clone());
    Some((rec, info))
}

pub fn summarize_with(run: &RunDir, jobs: Option<&Jobs>) -> RunSummary {
    let status = run_dir::read_status(&run.root);
    let now = run_dir::now();
    let job = job_of(run, jobs);
    let spec_time = std::fs::metadata(run.path(run_dir::SPEC))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64());
    let recent = recent_metrics(&run.path(run_dir::METRICS), RECENT_BYTES);
    RunSummary {
        id: run.id(),
        dir: run.root.display().to_string(),
        name: run_dir::run_name(&run.id()).to_string(),
        spec: status.as_ref().map_or_else(
            || run_dir::run_name(&run.id()).to_string(),
            |s| s.name.clone(),
        ),
        mode: status.as_ref().map(|s| s.mode.clone()).unwrap_or_default(),
        state: match &job {
            Some((_, info)) => scheduled(status.as_ref(), info.as_ref(), now),
            None => liveness(status.as_ref(), now),
        },
        step: status.as_ref().map_or(0, |s| s.step),
        total_steps: status.as_ref().map_or(0, |s| s.total_steps),
        images_per_s: status.as_ref().and_then(|s| s.images_per_s),
        eta_secs: status.as_ref().and_then(|s| s.eta_secs),
        message: status.as_ref().and_then(|s| s.message.clone()),
        last: recent.last().cloned(),
        spark_g: recent
            .iter()
            .filter_map(|m| m.losses.get(Term::GTotal.name()).copied())
            .collect(),
        spark_d: recent
            .iter()
            .filter_map(|m| m.losses.get(Term::DTotal.name()).copied())
            .collect(),
        updated: status.as_ref().map_or(spec_time, |s| s.heartbeat),
        study: status.as_ref().and_then(|s| s.study.clone()),
        parent: status.as_ref().and_then(|s| s.parent.clone()),
        created: spec_time,
        pid: status
            .as_ref()
            .filter(|s| s.host == hostname())
            .map(|s| s.pid),
        device: status
            .as_ref()
            .map(|s| s.device.clone())
            .unwrap_or_default(),
        job: job.and_then(|(_, info)| info),
    }
}

/// A Slurm run's state from its status and its job. The trainer's own final word wins; a job
/// still queued is `queued`; a job Slurm ended while the trainer still claimed to run shows how
/// Slurm ended it; otherwise the heartbeat decides (no local pid: the trainer runs on a node).
/// Without the scheduler's word (not asked yet, controller down) the heartbeat alone decides.
pub fn scheduled(status: Option<&Status>, job: Option<&JobInfo>, now: f64) -> Liveness {
    let final_state = status.filter(|s| s.state.is_final()).map(|s| s.state);
    let by_heartbeat = || match status {
        None => Liveness::Unknown,
        // Stopped by the time limit's early signal, with a checkpoint: the job's real ending.
        Some(s)
            if s.state == RunState::Stopped
                && s.message
                    .as_deref()
                    .is_some_and(|m| m.contains(crate::slurm::TIME_LIMIT)) =>
        {
            Liveness::Ended(JobState::Timeout)
        }
        Some(s) if s.state.is_final() => Liveness::Reported(s.state),
        Some(s) if now - s.heartbeat > STALL_SECS => Liveness::Stalled,
        Some(s) => Liveness::Reported(s.state),
    };
    let Some(job) = job else {
        return by_heartbeat();
    };
    match job.state {
        // A requeued job waits again, whatever its last attempt wrote.
        JobState::Pending => Liveness::Queued,
        JobState::Running if status.is_none() => Liveness::Reported(RunState::Starting),
        JobState::Running => by_heartbeat(),
        _ if final_state.is_some() => by_heartbeat(),
        JobState::Completed => match status {
            None => Liveness::Unknown,
            Some(_) => Liveness::Stalled,
        },
        ended => Liveness::Ended(ended),
    }
}

/// The state a reader should show, given the status file and the current time.
pub fn liveness(status: Option<&Status>, now: f64) -> Liveness {
    match status {
        None => Liveness::Unknown,
        Some(s) if s.state.is_final() => Liveness::Reported(s.state),
        Some(s) if now - s.heartbeat > STALL_SECS || !process_alive(s) => Liveness::Stalled,
        Some(s) => Liveness::Reported(s.state),
    }
}

/// Whether the trainer process named by a status still exists. Runs from another host (a shared
/// filesystem) are judged by their heartbeat alone.
pub fn process_alive(s: &Status) -> bool {
    if s.host != hostname() {
        return true;
    }
    // SAFETY: kill with signal 0 only checks for the process; it sends nothing.
    let r = unsafe { libc::kill(s.pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or truncates.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// How much of a metrics file's tail `summarize` reads (about 50 rows).
pub const RECENT_BYTES: u64 = 16 * 1024;

/// The complete, parseable rows in the last `bytes` of a metrics file, oldest first.
pub fn recent_metrics(path: &Path, bytes: u64) -> Vec<MetricRow> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(bytes);
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(start)).is_err() || f.read_to_end(&mut buf).is_err() {
        return Vec::new();
    }
    // A torn first line (we started mid-row) and a torn last line both fail to parse: skipped.
    run_dir::parse_lines(&String::from_utf8_lossy(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: RunState, heartbeat: f64, pid: u32) -> Status {
        Status {
            state,
            name: "x".into(),
            mode: "single_style".into(),
            pid,
            host: hostname(),
            step: 1,
            total_steps: 2,
            heartbeat,
            started: 0.0,
            backend: "flex".into(),
            device: "cpu".into(),
            images_per_s: None,
            eta_secs: None,
            message: None,
            study: None,
            parent: None,
        }
    }

    #[test]
    fn stalled_when_heartbeat_old_or_process_gone() {
        let me = std::process::id();
        assert_eq!(
            liveness(Some(&status(RunState::Running, 100.0, me)), 110.0),
            Liveness::Reported(RunState::Running)
        );
        assert_eq!(
            liveness(Some(&status(RunState::Running, 100.0, me)), 200.0),
            Liveness::Stalled
        );
        assert_eq!(
            liveness(Some(&status(RunState::Running, 100.0, 999_999_999)), 101.0),
            Liveness::Stalled
        );
        assert_eq!(
            liveness(Some(&status(RunState::Finished, 0.0, 999_999_999)), 1e9),
            Liveness::Reported(RunState::Finished)
        );
        assert_eq!(liveness(None, 0.0), Liveness::Unknown);
    }

    #[test]
    fn slurm_runs_follow_the_scheduler_then_the_heartbeat() {
        let job = |state, reason: Option<&str>| JobInfo {
            id: "7".into(),
            state,
            reason: reason.map(Into::into),
            node: Some("gpu01".into()),
        };
        // Another host's pid is never checked: a fresh heartbeat is alive.
        let mut far = status(RunState::Running, 100.0, 999_999_999);
        far.host = "gpu01".into();
        let running = job(JobState::Running, None);
        assert_eq!(
            scheduled(Some(&far), Some(&running), 110.0),
            Liveness::Reported(RunState::Running)
        );
        assert_eq!(
            scheduled(Some(&far), Some(&running), 200.0),
            Liveness::Stalled
        );
        assert_eq!(
            scheduled(None, Some(&job(JobState::Pending, Some("Resources"))), 0.0),
            Liveness::Queued
        );
        // Requeued: queued again even though the last attempt's status says running.
        assert_eq!(
            scheduled(
                Some(&far),
                Some(&job(JobState::Pending, Some("BeginTime"))),
                110.0
            ),
            Liveness::Queued
        );
        assert_eq!(
            scheduled(Some(&far), Some(&job(JobState::Timeout, None)), 110.0),
            Liveness::Ended(JobState::Timeout)
        );
        assert_eq!(
            scheduled(None, Some(&job(JobState::Cancelled, None)), 110.0),
            Liveness::Ended(JobState::Cancelled)
        );
        let stopped = status(RunState::Stopped, 100.0, 1);
        assert_eq!(
            scheduled(Some(&stopped), Some(&job(JobState::Cancelled, None)), 500.0),
            Liveness::Reported(RunState::Stopped)
        );
        assert_eq!(
            scheduled(None, Some(&running), 0.0),
            Liveness::Reported(RunState::Starting)
        );
        // Stopped by the time limit's early signal: Slurm says completed, the run says why.
        let mut limit = status(RunState::Stopped, 100.0, 1);
        limit.message = Some(format!(
            "stopped ({}); resume with `atelier train --resume`",
            crate::slurm::TIME_LIMIT
        ));
        for word in [Some(job(JobState::Completed, None)), None] {
            assert_eq!(
                scheduled(Some(&limit), word.as_ref(), 500.0),
                Liveness::Ended(JobState::Timeout)
            );
        }
        // No word from the scheduler: the heartbeat alone.
        assert_eq!(
            scheduled(Some(&far), None, 110.0),
            Liveness::Reported(RunState::Running)
        );
        assert_eq!(Liveness::Ended(JobState::OutOfMemory).label(), "oom");
    }

    #[test]
    fn last_metric_skips_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        std::fs::write(&p, "{\"step\":1,\"time\":1,\"lr_g\":1,\"lr_d\":1,\"images_per_s\":1,\"g_adv\":0.5}\n{\"step\":2,\"ti").unwrap();
        assert_eq!(recent_metrics(&p, RECENT_BYTES).last().unwrap().step, 1);
        assert!(recent_metrics(&dir.path().join("missing"), RECENT_BYTES).is_empty());
    }

    #[test]
    fn runs_are_ordered_by_creation_not_id_text() {
        let dir = tempfile::tempdir().unwrap();
        // Made in the same second: study-5 first, then study-11 (and study-2 with a later id).
        for id in [
            "20261121-100000-study-5",
            "20261121-100000-study-11",
            "20261121-100001-study-2",
        ] {
            std::fs::create_dir(dir.path().join(id)).unwrap();
            std::fs::write(dir.path().join(id).join(run_dir::SPEC), "").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let ids: Vec<String> = scan(dir.path()).into_iter().map(|r| r.id).collect();
        assert_eq!(
            ids,
            [
                "20261121-100001-study-2",
                "20261121-100000-study-11",
                "20261121-100000-study-5"
            ]
        );
        // Equal file times (coarse clocks) still put 5 before 11.
        assert!(natural_cmp("x-study-5", "x-study-11").is_lt());
        assert!(natural_cmp("x-study-11", "x-study-5").is_gt());
        assert!(natural_cmp("a-007", "a-7").is_gt() || natural_cmp("a-007", "a-7").is_lt());
        assert!(natural_cmp("abc", "abd").is_lt());
    }
}
