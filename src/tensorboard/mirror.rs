//! The trainer's TensorBoard mirror: a `tensorboard` thread owns one event file per trainer
//! process (`runs/<id>/tb/events.out.tfevents.<time>.<host>.<pid>.0`) and appends one framed
//! record per item it is sent, each with a single `write`, so a killed process leaves at most a
//! torn last record. The training thread only sends (an unbounded channel: it never waits on the
//! disk); the samples thread sends the PNGs it has already encoded. A resumed run's new file
//! starts with a session-start event one step past the checkpoint, so TensorBoard drops what the
//! earlier process wrote after it, as `metrics.jsonl` is cut back.

use super::proto::{self, HValue, What};
use super::record;
use crate::run_dir::{self, MetricRow, RunDir};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

/// The mirror's folder inside a run directory.
pub const DIR: &str = "tb";

/// What the mirror writes.
pub enum Item {
    /// Every value of one metric row, as scalars named as in `metrics.jsonl`.
    Row(MetricRow),
    Image {
        step: u64,
        tag: String,
        width: u32,
        height: u32,
        png: Vec<u8>,
    },
    Text {
        step: u64,
        tag: String,
        markdown: String,
    },
    Hparams {
        values: Vec<(String, HValue)>,
        group: String,
    },
}

/// A handle to send items to the mirror's thread (cheap to clone).
#[derive(Clone)]
pub struct Feed(Sender<Item>);

impl Feed {
    /// Send an item; a mirror that stopped (its warning is already on the way) drops it.
    pub fn send(&self, item: Item) {
        let _ = self.0.send(item);
    }
}

/// The mirror of one trainer process: its thread and its event file.
pub struct Mirror {
    feed: Option<Feed>,
    thread: Option<JoinHandle<()>>,
    warnings: Receiver<String>,
    pub path: PathBuf,
}

impl Mirror {
    /// Create the event file (its version record written before this returns) and start the
    /// thread. `resumed_from`: the checkpoint step this process continues from.
    pub fn start(run: &RunDir, resumed_from: Option<u64>) -> Result<Self> {
        let dir = run.path(DIR);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let now = run_dir::now();
        let path = dir.join(format!(
            "events.out.tfevents.{:010}.{}.{}.0",
            now as u64,
            crate::store::hostname(),
            std::process::id()
        ));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        let mut first = record::frame(&proto::event(now, 0, What::FileVersion));
        if let Some(step) = resumed_from {
            first.extend(record::frame(&proto::event(
                now,
                step + 1,
                What::SessionStart,
            )));
        }
        file.write_all(&first)
            .with_context(|| format!("writing {}", path.display()))?;
        let (tx, rx) = mpsc::channel::<Item>();
        let (warn, warnings) = mpsc::channel();
        let shown = path.clone();
        let thread = std::thread::Builder::new()
            .name("tensorboard".into())
            .spawn(move || {
                for item in rx {
                    let bytes = record::frame(&encode(item));
                    if let Err(e) = file.write_all(&bytes) {
                        let _ = warn.send(format!(
                            "TensorBoard mirror stopped: writing {}: {e}",
                            shown.display()
                        ));
                        return;
                    }
                }
            })
            .context("starting the tensorboard thread")?;
        Ok(Self {
            feed: Some(Feed(tx)),
            thread: Some(thread),
            warnings,
            path,
        })
    }

    pub fn feed(&self) -> Option<Feed> {
        self.feed.clone()
    }

    /// Write everything sent so far (every `Feed` must be dropped first for the thread to end)
    /// and return the thread's warnings.
    pub fn finish(&mut self) -> Vec<String> {
        self.feed = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.warnings.try_iter().collect()
    }
}

/// The `Event` bytes of one item.
fn encode(item: Item) -> Vec<u8> {
    match item {
        Item::Row(row) => {
            let mut values = vec![
                proto::scalar("lr_g", row.lr_g as f32),
                proto::scalar("lr_d", row.lr_d as f32),
                proto::scalar("images_per_s", row.images_per_s as f32),
            ];
            values.extend(row.losses.iter().map(|(k, v)| proto::scalar(k, *v as f32)));
            proto::event(row.time, row.step, What::Summary(values))
        }
        Item::Image {
            step,
            tag,
            width,
            height,
            png,
        } => proto::event(
            run_dir::now(),
            step,
            What::Summary(vec![proto::image(&tag, width, height, &png)]),
        ),
        Item::Text {
            step,
            tag,
            markdown,
        } => proto::event(
            run_dir::now(),
            step,
            What::Summary(vec![proto::text(&tag, &markdown)]),
        ),
        Item::Hparams { values, group } => {
            let now = run_dir::now();
            proto::event(
                now,
                0,
                What::Summary(vec![proto::hparams_start(&values, &group, now)]),
            )
        }
    }
}

/// The image tag of a probe's `kind` (`input`, `output`, `critic`): `output/content_00`.
pub fn image_tag(kind: &str, set: &str, probe: usize) -> String {
    format!("{kind}/{set}_{probe:02}")
}

/// The resolved spec as markdown (a code block, so TensorBoard keeps its layout).
pub fn spec_markdown(toml: &str) -> String {
    toml.lines()
        .map(|l| format!("    {l}\n"))
        .collect::<String>()
}
