//! The training loop shared by both recipes: steps, control commands between steps (pause,
//! resume, stop, checkpoint, set, favor), signals, metric rows averaged over each log interval, sample
//! renders, checkpoints, NaN detection, and the final state. One `Session` per trainer process.
//!
//! At GPU speed a step takes milliseconds, so the loop keeps the host off the critical path: loss
//! values are read back once per log row (and before a sample or checkpoint, so neither is taken
//! of a diverged model), not per step; probe PNGs and scores are written by the `samples` thread
//! and checkpoints by the `checkpoints` thread; `control.jsonl` is opened at most every 50 ms.

use super::checkpoint::{Checkpointer, Written};
use super::readback::LossSums;
use super::{control::ControlReader, sampler::Sampler, writer::Writer, Gan, Knobs};
use crate::numbers::{format_loss, format_secs};
use crate::rng::Rng;
use crate::run_dir::{self, Command, MetricRow, RunState};
use crate::spec::Plan;
use crate::terms::{Knob, Term};
use anyhow::Result;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a trainer process ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Finished,
    /// Stopped with a checkpoint, and why ("stop command", "signal", "Slurm's time limit").
    Stopped(String),
    Failed(String),
}

pub struct Session<'a> {
    pub plan: &'a Plan,
    pub writer: &'a mut Writer,
    pub gan: Box<dyn Gan + 'a>,
    pub knobs: Knobs,
    pub step: u64,
    pub control: ControlReader,
    pub signal: Arc<AtomicBool>,
    /// Last step with a complete checkpoint.
    pub last_checkpoint: Option<u64>,
    /// Writes and scores the probe renders of each sample step on its own thread.
    pub sampler: Sampler,
    /// Writes checkpoints on its own thread.
    pub checkpoints: Checkpointer,
}

/// Loss sums and step time over the current log interval.
#[derive(Default)]
struct Interval {
    sums: LossSums,
    steps: u64,
    step_time: Duration,
}

/// Steps since the loss values were last read back, and their time including the read (the
/// device catching up): the step time the status and ETA use.
#[derive(Default)]
struct SinceRead {
    first: u64,
    steps: u64,
    time: Duration,
}

impl Session<'_> {
    /// Train to the end (or a stop, a failure); every sample submitted is on disk on return.
    pub fn run(mut self) -> Outcome {
        let outcome = self.steps();
        self.flush_samples();
        outcome
    }

    fn steps(&mut self) -> Outcome {
        let t = &self.plan.spec.train;
        let (total, log_every, sample_every, ckpt_every) =
            (t.steps, t.log_every, t.sample_every, t.checkpoint_every);
        let mut rng = Rng::stream(t.seed.wrapping_add(self.step), "batches");
        let mut interval = Interval::default();
        let mut since = SinceRead {
            first: self.step + 1,
            ..SinceRead::default()
        };
        let mut ema_step: Option<f64> = None;
        let mut shown = BTreeMap::new();
        // The trainer's own cost: wall time of the loop minus training steps minus pauses.
        let loop_start = Instant::now();
        let (mut stepping, mut paused) = (Duration::ZERO, Duration::ZERO);
        // `train.max_minutes`: a wall-clock budget for this start of the run, pauses excluded.
        let max_minutes = t.max_minutes;
        let budget = (max_minutes > 0.0).then(|| Duration::from_secs_f64(max_minutes * 60.0));
        let mut out_of_time = false;
        self.writer.update(|s| s.state = RunState::Running);
        if self.step == 0 {
            self.sample(0);
        }
        while self.step < total {
            if let Some(outcome) = self.handle_control(&mut paused) {
                return outcome;
            }
            let started = Instant::now();
            self.gan.step(&mut rng, &self.knobs);
            let took = started.elapsed();
            stepping += took;
            self.step += 1;
            interval.steps += 1;
            interval.step_time += took;
            since.steps += 1;
            since.time += took;
            let step = self.step;
            let mut last = step == total;
            if let Some(b) = budget {
                out_of_time = loop_start.elapsed().saturating_sub(paused) >= b;
                last |= out_of_time;
            }
            let log = step.is_multiple_of(log_every) || last;
            let sample = step.is_multiple_of(sample_every) || last;
            let ckpt = step.is_multiple_of(ckpt_every) || last;
            if log || sample || ckpt {
                // The one device→host read of the loss values since the last one.
                let started = Instant::now();
                let sums = self.gan.losses();
                let took = started.elapsed();
                stepping += took;
                interval.step_time += took;
                since.time += took;
                if let Some((term, v)) = sums.non_finite() {
                    let at = if since.first == step {
                        format!("at step {step}")
                    } else {
                        format!("between step {} and step {step}", since.first)
                    };
                    let msg = format!(
                        "loss `{}` became {} {at}; last good checkpoint: {}",
                        term.name(),
                        if v.is_nan() { "NaN" } else { "infinite" },
                        self.last_good_checkpoint()
                            .map_or("none".to_string(), |s| format!("step {s}"))
                    );
                    return self.fail(msg);
                }
                shown = sums.means();
                interval.sums.merge(sums);
                let avg = since.time.as_secs_f64() / since.steps.max(1) as f64;
                ema_step = Some(ema_step.map_or(avg, |e| 0.5 * e + 0.5 * avg));
                since = SinceRead {
                    first: step + 1,
                    ..SinceRead::default()
                };
            }
            // Before the first read the step's own time (exact on the CPU backends).
            let secs = ema_step.unwrap_or(took.as_secs_f64());
            let ips = self.gan.images_per_step() as f64 / secs.max(1e-9);
            let mut eta = (total - step) as f64 * secs;
            if let Some(b) = budget {
                let used = loop_start.elapsed().saturating_sub(paused);
                eta = eta.min(b.saturating_sub(used).as_secs_f64());
            }
            self.writer.set(|s| {
                s.step = step;
                s.images_per_s = Some(ips);
                s.eta_secs = Some(eta);
            });
            self.writer.progress(step, || short_losses(&shown));
            if log {
                self.log_row(&mut interval, secs, total);
            }
            if sample {
                self.sample(step);
            }
            if ckpt {
                self.checkpoint("interval", false);
            }
            self.report_checkpoints();
            if out_of_time {
                break;
            }
        }
        // The last samples and checkpoint are part of the trainer's own cost: wait for them here.
        self.flush_samples();
        self.wait_checkpoints();
        let wall = loop_start.elapsed().saturating_sub(paused);
        let own = wall.saturating_sub(stepping).as_secs_f64();
        let budget_note = if out_of_time {
            format!(" (time budget of {max_minutes} min reached)")
        } else {
            String::new()
        };
        let msg = format!(
            "finished {} steps{budget_note}; trainer overhead {:.1}% ({own:.1} s of {:.1} s: logging, samples, scores, checkpoints)",
            self.step,
            100.0 * own / wall.as_secs_f64().max(1e-9),
            wall.as_secs_f64()
        );
        self.writer.event(self.step, "finished", None, msg);
        Outcome::Finished
    }

    fn log_row(&mut self, iv: &mut Interval, step_secs: f64, total: u64) {
        let losses: BTreeMap<String, f64> = iv
            .sums
            .means()
            .into_iter()
            .map(|(k, v)| (k.name().to_string(), v))
            .collect();
        let images = self.gan.images_per_step() as f64 * iv.steps as f64;
        let ips = images / iv.step_time.as_secs_f64().max(1e-9);
        let row = MetricRow {
            step: self.step,
            time: run_dir::now(),
            lr_g: self.knobs[Knob::LrG],
            lr_d: self.knobs[Knob::LrD],
            images_per_s: ips,
            losses,
        };
        if let Err(e) = self.writer.metrics(&row) {
            self.writer.log(&format!("warning: {e:#}"));
        }
        let eta = (total - self.step) as f64 * step_secs;
        let terms: Vec<String> = row
            .losses
            .iter()
            .map(|(k, v)| format!("{k} {}", format_loss(*v)))
            .collect();
        let line = format!(
            "step {}/{total}  {}  {ips:.1} img/s  eta {}",
            self.step,
            terms.join("  "),
            format_secs(eta)
        );
        self.writer.log(&line);
        *iv = Interval::default();
    }

    /// Render the probes (the model is on this thread) and hand them to the samples thread.
    fn sample(&mut self, step: u64) {
        let renders = self.gan.render();
        if let Err(e) = self.sampler.submit(step, renders) {
            self.warn(step, format!("could not write samples: {e}"));
        }
        for w in self.sampler.warnings() {
            self.warn(step, w);
        }
    }

    /// Wait for the samples thread to write what it was given, reporting its last warnings.
    fn flush_samples(&mut self) {
        for w in self.sampler.finish() {
            self.warn(self.step, w);
        }
    }

    fn warn(&mut self, step: u64, message: String) {
        self.writer.event(step, "warning", None, message);
    }

    /// Checkpoint the current step: the snapshot is taken here and written by the
    /// `checkpoints` thread. `wait`: return once it is on disk, with whether it succeeded (a
    /// requested checkpoint, a stop); otherwise `true` at once and the event comes later.
    fn checkpoint(&mut self, why: &str, wait: bool) -> bool {
        if self.last_checkpoint == Some(self.step) {
            return true;
        }
        if self.checkpoints.submitted() != Some(self.step) {
            let snapshot = self.gan.snapshot();
            let knobs = self.knobs.to_map();
            let done = self.checkpoints.submit(self.step, why, knobs, snapshot);
            self.record_checkpoints(done);
        }
        if !wait {
            return true;
        }
        self.wait_checkpoints();
        self.last_checkpoint == Some(self.step)
    }

    /// Events for the checkpoints written since the last call, without waiting.
    fn report_checkpoints(&mut self) {
        let done = self.checkpoints.written();
        self.record_checkpoints(done);
    }

    /// Wait for the checkpoint in flight, if any, and report it.
    fn wait_checkpoints(&mut self) {
        let done = self.checkpoints.wait();
        self.record_checkpoints(done);
    }

    fn record_checkpoints(&mut self, done: Vec<Written>) {
        for w in done {
            match w.result {
                Ok(()) => {
                    self.last_checkpoint = Some(w.step);
                    let msg = format!("checkpoint at step {} ({})", w.step, w.why);
                    self.writer.event(w.step, "checkpoint", None, msg);
                }
                Err(e) => {
                    let msg = format!("checkpoint failed: {e}");
                    self.writer.event(w.step, "warning", None, msg);
                }
            }
        }
    }

    /// The last checkpoint known to be complete on disk (waits for one in flight).
    fn last_good_checkpoint(&mut self) -> Option<u64> {
        self.wait_checkpoints();
        self.last_checkpoint
    }

    fn fail(&mut self, msg: String) -> Outcome {
        self.writer.event(self.step, "failed", None, msg.clone());
        Outcome::Failed(msg)
    }

    /// Apply pending commands; block while paused. `Some` ends the run.
    /// `paused` accumulates the time spent waiting while paused.
    fn handle_control(&mut self, paused_time: &mut Duration) -> Option<Outcome> {
        let mut paused = false;
        loop {
            if self.signal.load(Ordering::Relaxed) {
                // Under Slurm, the time limit's early signal is worth naming: the run table
                // then says why a job that was doing fine stopped.
                let why = if crate::slurm::at_time_limit() {
                    crate::slurm::TIME_LIMIT
                } else {
                    "signal"
                };
                return Some(self.stop(why));
            }
            // Paused: every 100 ms below. Running: at most every 50 ms.
            let cmds = if paused {
                self.control.poll()
            } else {
                self.control.poll_due(Duration::from_millis(50))
            };
            for cmd in cmds {
                let step = self.step;
                let line = match cmd {
                    Ok(line) => line,
                    Err(raw) => {
                        self.writer.event(
                            step,
                            "rejected",
                            None,
                            format!("unreadable command {raw}"),
                        );
                        continue;
                    }
                };
                let id = line.id.clone();
                match line.command {
                    Command::Pause => {
                        paused = true;
                        self.writer.update(|s| s.state = RunState::Paused);
                        self.writer.event(step, "ack", id, "paused");
                    }
                    Command::Resume => {
                        paused = false;
                        self.writer.update(|s| s.state = RunState::Running);
                        self.writer.event(step, "ack", id, "resumed");
                    }
                    Command::Stop => {
                        self.writer.event(step, "ack", id, "stopping");
                        return Some(self.stop("stop command"));
                    }
                    Command::Checkpoint => {
                        let ok = self.checkpoint("requested", true);
                        let kind = if ok { "ack" } else { "rejected" };
                        self.writer
                            .event(step, kind, id, format!("checkpoint at step {step}"));
                    }
                    Command::Set { key, value } => match self.knobs.set(&key, value) {
                        Ok(()) => {
                            let msg = format!("set {key} = {value} from step {}", step + 1);
                            self.writer
                                .event_knob(step, "ack", id, msg, Some((key, value)));
                        }
                        Err(reason) => self.writer.event(step, "rejected", id, reason),
                    },
                    Command::Favor { image } => match self.favor(&image) {
                        Ok(msg) => self.writer.event(step, "ack", id, msg),
                        Err(reason) => self.writer.event(step, "rejected", id, reason),
                    },
                }
            }
            if !paused {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
            *paused_time += Duration::from_millis(100);
        }
    }

    /// `favor IMAGE`: decode the image (absolute, or relative to the run directory) and hand it
    /// to the recipe's preference-weighted discriminator until step + `steer.favored_ttl`.
    fn favor(&mut self, image: &str) -> std::result::Result<String, String> {
        let steer = &self.plan.spec.steer;
        if steer.favored_fraction <= 0.0 {
            return Err(format!(
                "cannot favour {image}: steer.favored_fraction is 0 for this run (the \
                 preference-weighted discriminator is opt-in: train or resume with \
                 --set steer.favored_fraction=0.1)"
            ));
        }
        if self.plan.spec.mode != crate::spec::Mode::SingleStyle {
            return Err(format!(
                "cannot favour {image}: favoured outputs are supported in single_style runs only, \
                 this run is {}",
                self.plan.spec.mode.as_str()
            ));
        }
        let path = self.writer.dir.root.join(image);
        let decoded = image::open(&path)
            .map_err(|e| format!("cannot favour {image}: cannot read {}: {e}", path.display()))?
            .to_rgb8();
        let until = self.step + steer.favored_ttl;
        let n = self
            .gan
            .favor(image, &decoded, self.step, until)
            .map_err(|e| format!("cannot favour {image}: {e}"))?;
        Ok(format!(
            "favoured {image} until step {until} ({n} favoured image{} in the pool)",
            if n == 1 { "" } else { "s" }
        ))
    }

    fn stop(&mut self, why: &str) -> Outcome {
        self.checkpoint("stop", true);
        self.writer.event(
            self.step,
            "stopped",
            None,
            format!("stopped at step {} ({why})", self.step),
        );
        Outcome::Stopped(why.to_string())
    }
}

fn short_losses(losses: &BTreeMap<Term, f64>) -> String {
    losses
        .iter()
        .filter(|(k, _)| {
            matches!(
                k,
                Term::GAdv | Term::DTotal | Term::Style | Term::Content | Term::CycleA
            )
        })
        .map(|(k, v)| format!("{} {}", k.name(), format_loss(*v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run the loop body, turning a panic inside burn into a failed run instead of a lost status.
pub fn guarded(f: impl FnOnce() -> Result<Outcome>) -> Outcome {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => Outcome::Failed(format!("{e:#}")),
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Outcome::Failed(format!("trainer panicked: {msg}"))
        }
    }
}
