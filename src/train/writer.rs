//! The trainer's side of the run-directory contract: the `status.json` heartbeat (a background
//! thread rewrites it every second, so a long step or a pause never looks stalled), lifecycle and
//! acknowledgement events, metric rows, and `train.log` with an optional progress bar. Sample
//! images and their scores are written by the `sampler`'s own thread.

use crate::run_dir::{self, Event, MetricRow, RunDir, RunState, Status};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Writer {
    pub dir: RunDir,
    status: Arc<Mutex<Status>>,
    stop: Arc<AtomicBool>,
    heartbeat: Option<JoinHandle<()>>,
    log: Option<std::fs::File>,
    stdout: bool,
    bar: Option<ProgressBar>,
    /// The TensorBoard mirror's feed (`train.tensorboard`): every metric row is sent to it.
    pub tb: Option<crate::tensorboard::Feed>,
}

fn write_status(dir: &RunDir, status: &mut Status) {
    status.heartbeat = run_dir::now();
    if let Ok(bytes) = serde_json::to_vec_pretty(status) {
        // A failed heartbeat write is retried a second later; never fatal.
        let _ = run_dir::write_atomic(&dir.path(run_dir::STATUS), &bytes);
    }
}

impl Writer {
    /// Start the heartbeat with `status`; `progress` shows a bar on a terminal.
    pub fn start(dir: RunDir, status: Status, quiet: bool, progress: bool) -> Result<Self> {
        std::fs::create_dir_all(dir.path(run_dir::SAMPLES))
            .with_context(|| format!("creating {}", dir.root.display()))?;
        std::fs::create_dir_all(dir.path(run_dir::CHECKPOINTS))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path(run_dir::LOG))
            .ok();
        let status = Arc::new(Mutex::new(status));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let mut s = status.lock().expect("status lock");
            write_status(&dir, &mut s);
        }
        let heartbeat = {
            let (status, stop, dir) = (status.clone(), stop.clone(), dir.clone());
            std::thread::Builder::new()
                .name("heartbeat".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(1000));
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Ok(mut s) = status.lock() {
                            write_status(&dir, &mut s);
                        }
                    }
                })
                .ok()
        };
        let bar = (progress && !quiet).then(|| {
            let total = status.lock().map(|s| s.total_steps).unwrap_or(0);
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Ok(Self {
            dir,
            status,
            stop,
            heartbeat,
            log,
            stdout: !quiet && !progress,
            bar,
            tb: None,
        })
    }

    /// Change the status; the heartbeat thread writes it within a second.
    pub fn set(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    /// Change the status and write it now (state changes).
    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
            write_status(&self.dir, &mut s);
        }
    }

    /// A line in `train.log`, and on the terminal.
    pub fn log(&mut self, msg: &str) {
        let t = run_dir::timestamp_id(run_dir::now());
        let line = format!("[{}:{}:{}] {msg}", &t[9..11], &t[11..13], &t[13..15]);
        if let Some(f) = &mut self.log {
            let _ = writeln!(f, "{line}");
        }
        match &self.bar {
            Some(bar) => bar.println(&line),
            // A closed stdout (`atelier train … | head`) must not stop the training.
            None if self.stdout => {
                let _ = writeln!(std::io::stdout(), "{line}");
            }
            None => {}
        }
    }

    /// The progress bar's position and message (formatted only when there is a bar).
    pub fn progress(&self, step: u64, msg: impl FnOnce() -> String) {
        if let Some(bar) = &self.bar {
            bar.set_position(step);
            bar.set_message(msg());
        }
    }

    pub fn event(&mut self, step: u64, kind: &str, id: Option<String>, message: impl Into<String>) {
        self.event_knob(step, kind, id, message, None);
    }

    /// An event that records a knob's new value as data (`key`, `value`).
    pub fn event_knob(
        &mut self,
        step: u64,
        kind: &str,
        id: Option<String>,
        message: impl Into<String>,
        knob: Option<(String, f64)>,
    ) {
        let message = message.into();
        let (key, value) = knob.map_or((None, None), |(k, v)| (Some(k), Some(v)));
        let ev = Event {
            time: run_dir::now(),
            step,
            kind: kind.into(),
            id,
            message: message.clone(),
            key,
            value,
        };
        if let Err(e) = run_dir::append_json(&self.dir.path(run_dir::EVENTS), &ev) {
            self.log(&format!("warning: cannot append event: {e}"));
        }
        if !message.is_empty() {
            self.log(&format!("{kind}: {message}"));
        }
    }

    /// Append a metric row (and hand it to the TensorBoard mirror's thread).
    pub fn metrics(&self, row: &MetricRow) -> Result<()> {
        if let Some(tb) = &self.tb {
            tb.send(crate::tensorboard::Item::Row(row.clone()));
        }
        run_dir::append_json(&self.dir.path(run_dir::METRICS), row)
            .context("appending metrics.jsonl")
    }

    /// Stop the heartbeat and write the final status.
    pub fn finish(mut self, state: RunState, message: String) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.heartbeat.take() {
            let _ = h.join();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.update(|s| {
            s.state = state;
            s.message = Some(message);
        });
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
