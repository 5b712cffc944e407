//! Checkpoints: `checkpoints/step_N/` holds every player's weights and optimizer state plus a
//! `state.json` (step, live knobs) written last. The directory is built under a temporary name and
//! renamed into place, then `checkpoints/latest` is replaced atomically, so a crash at any moment
//! leaves the previous checkpoint intact and `latest` always names a complete one.
//!
//! The training thread only takes a [`Snapshot`] (the players' records: their tensors are shared,
//! not copied, and training goes on with new ones); the `checkpoints` thread of a
//! [`Checkpointer`] reads them back to the host, encodes and writes them. At most one checkpoint
//! is in flight: the next one waits for it.

use crate::run_dir::{self, CheckpointState, RunDir};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

/// A recipe's state at one step, to be written into a checkpoint directory by any thread;
/// returns the file names written.
pub type Snapshot = Box<dyn FnOnce(&Path) -> Result<Vec<String>> + Send>;

/// One snapshot made of several (each player's, the favoured pool's), written in order.
pub fn all(parts: Vec<Snapshot>) -> Snapshot {
    Box::new(move |dir| {
        let mut files = Vec::new();
        for part in parts {
            files.extend(part(dir)?);
        }
        Ok(files)
    })
}

/// Write a checkpoint for `step`, point `latest` at it and prune old ones beyond `keep`.
pub fn save(
    run: &RunDir,
    snapshot: Snapshot,
    step: u64,
    knobs: BTreeMap<String, f64>,
    keep: usize,
) -> Result<()> {
    let final_dir = run.checkpoint(step);
    let root = run.path(run_dir::CHECKPOINTS);
    std::fs::create_dir_all(&root)?;
    let tmp = root.join(format!(
        ".tmp-{}-{}",
        run_dir::checkpoint_name(step),
        std::process::id()
    ));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    let files = snapshot(&tmp)?;
    let state = CheckpointState {
        step,
        time: run_dir::now(),
        knobs,
        files,
    };
    run_dir::write_atomic(
        &tmp.join(run_dir::CHECKPOINT_STATE),
        &serde_json::to_vec_pretty(&state)?,
    )?;
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir)
            .with_context(|| format!("replacing {}", final_dir.display()))?;
    }
    std::fs::rename(&tmp, &final_dir)
        .with_context(|| format!("renaming checkpoint into {}", final_dir.display()))?;
    run_dir::write_atomic(
        &run.path(run_dir::LATEST),
        format!("{}\n", run_dir::checkpoint_name(step)).as_bytes(),
    )?;
    prune(run, keep, step);
    Ok(())
}

fn prune(run: &RunDir, keep: usize, latest: u64) {
    let steps = run.checkpoints();
    let excess = steps.len().saturating_sub(keep.max(1));
    for &s in steps.iter().take(excess) {
        if s != latest {
            let _ = std::fs::remove_dir_all(run.checkpoint(s));
        }
    }
}

/// A checkpoint the `checkpoints` thread finished (or failed).
#[derive(Debug)]
pub struct Written {
    pub step: u64,
    pub why: String,
    pub result: Result<(), String>,
}

struct Job {
    step: u64,
    why: String,
    knobs: BTreeMap<String, f64>,
    snapshot: Snapshot,
}

/// The `checkpoints` thread: writes the snapshots it is given, in order, and reports each.
pub struct Checkpointer {
    jobs: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    written: Receiver<Written>,
    run: RunDir,
    keep: usize,
    /// Submitted and not yet reported by [`Checkpointer::written`] or [`Checkpointer::wait`].
    in_flight: usize,
    /// The step of the last submission, unless it failed.
    submitted: Option<u64>,
}

impl Checkpointer {
    pub fn start(run: RunDir, keep: usize) -> Self {
        let (jobs, queue) = mpsc::sync_channel::<Job>(0);
        let (tx, written) = mpsc::channel();
        let dir = run.clone();
        let thread = std::thread::Builder::new()
            .name("checkpoints".into())
            .spawn(move || {
                for job in queue {
                    let result = save(&dir, job.snapshot, job.step, job.knobs, keep)
                        .map_err(|e| format!("{e:#}"));
                    let done = Written {
                        step: job.step,
                        why: job.why,
                        result,
                    };
                    if tx.send(done).is_err() {
                        break;
                    }
                }
            });
        let (jobs, thread) = match thread {
            Ok(t) => (Some(jobs), Some(t)),
            // No thread to spare: checkpoints are written on the caller's thread.
            Err(_) => (None, None),
        };
        Self {
            jobs,
            thread,
            written,
            run,
            keep,
            in_flight: 0,
            submitted: None,
        }
    }

    /// The step of the last checkpoint submitted, in flight or written (not a failed one).
    pub fn submitted(&self) -> Option<u64> {
        self.submitted
    }

    /// Forget a failed submission, so the same step can be tried again.
    fn note(&mut self, done: Vec<Written>) -> Vec<Written> {
        for w in &done {
            if w.result.is_err() && self.submitted == Some(w.step) {
                self.submitted = None;
            }
        }
        done
    }

    /// Hand `snapshot` of `step` to the thread; waits while the previous one is being written
    /// (its report is then among the returned ones, with any others finished since the last
    /// call).
    pub fn submit(
        &mut self,
        step: u64,
        why: &str,
        knobs: BTreeMap<String, f64>,
        snapshot: Snapshot,
    ) -> Vec<Written> {
        // The earlier reports are noted before this submission is recorded: noted after, an
        // earlier failure of the same step would forget the submission now in flight.
        let mut done = if self.in_flight > 0 {
            self.wait()
        } else {
            Vec::new()
        };
        let job = Job {
            step,
            why: why.into(),
            knobs,
            snapshot,
        };
        self.submitted = Some(step);
        let here = match &self.jobs {
            Some(jobs) => match jobs.send(job) {
                Ok(()) => {
                    self.in_flight += 1;
                    None
                }
                Err(mpsc::SendError(job)) => Some(self.write_here(job)),
            },
            None => Some(self.write_here(job)),
        };
        if let Some(w) = here {
            done.extend(self.note(vec![w]));
        }
        done
    }

    fn write_here(&self, job: Job) -> Written {
        let result = save(&self.run, job.snapshot, job.step, job.knobs, self.keep)
            .map_err(|e| format!("{e:#}"));
        Written {
            step: job.step,
            why: job.why,
            result,
        }
    }

    /// Checkpoints finished since the last call, without waiting.
    pub fn written(&mut self) -> Vec<Written> {
        let done: Vec<Written> = self.written.try_iter().collect();
        self.in_flight -= done.len();
        self.note(done)
    }

    /// Wait until every submitted checkpoint is on disk; their reports.
    pub fn wait(&mut self) -> Vec<Written> {
        let mut done = Vec::new();
        while self.in_flight > 0 {
            match self.written.recv() {
                Ok(w) => {
                    self.in_flight -= 1;
                    done.push(w);
                }
                // The thread died (a panic while writing): nothing more will come.
                Err(_) => {
                    self.in_flight = 0;
                    done.push(Written {
                        step: 0,
                        why: "interval".into(),
                        result: Err("the checkpoints thread stopped".into()),
                    });
                }
            }
        }
        self.note(done)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The saved state of a complete checkpoint.
pub fn read_state(run: &RunDir, step: u64) -> Result<CheckpointState> {
    let p = run.checkpoint(step).join(run_dir::CHECKPOINT_STATE);
    let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing() -> Snapshot {
        Box::new(|_| anyhow::bail!("no space left on device"))
    }

    fn fine() -> Snapshot {
        Box::new(|dir| {
            std::fs::write(dir.join("g.mpk"), b"weights")?;
            Ok(vec!["g.mpk".into()])
        })
    }

    #[test]
    fn a_failed_checkpoint_retried_at_the_same_step_stays_submitted() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(tmp.path().join("run"));
        let mut c = Checkpointer::start(run.clone(), 3);
        assert!(c
            .submit(5, "interval", BTreeMap::new(), failing())
            .is_empty());
        assert_eq!(c.submitted(), Some(5));
        // A stop at the same step: the interval's failure comes back, and the stop's checkpoint
        // is the one in flight (it was forgotten when the failure was noted twice).
        let done = c.submit(5, "stop", BTreeMap::new(), fine());
        assert_eq!(done.len(), 1);
        assert!(done[0].result.is_err() && done[0].why == "interval");
        assert_eq!(c.submitted(), Some(5));
        let done = c.wait();
        assert_eq!(done.len(), 1);
        assert!(done[0].result.is_ok(), "{:?}", done[0].result);
        assert_eq!(c.submitted(), Some(5));
        assert_eq!(run.latest_checkpoint(), Some(5));
        // A failure alone is forgotten, so the step can be tried again.
        c.submit(6, "interval", BTreeMap::new(), failing());
        assert!(c.wait()[0].result.is_err());
        assert_eq!(c.submitted(), None);
    }
}
