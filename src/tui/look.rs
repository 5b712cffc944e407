//! Steering at inference, in the gallery: the open run's latest checkpoint applied to the
//! selected probe's input with a chosen style strength, saturation, preserve-colour or the
//! painting's palette, rendered at once without retraining. A worker thread owns the generator (cached per run and
//! checkpoint), keeps only the newest request when keys come faster than it renders, writes the
//! result to a temporary PNG and reports with `Msg::Look`. It runs on flex, whatever the build:
//! a trainer may hold the GPU.

use super::app::Msg;
use crate::backend::{dispatch, BackendKind, WithBackend};
use crate::run_dir::RunDir;
use crate::stylize::{Direction, Look, Stylizer};
use burn::tensor::backend::AutodiffBackend;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};

/// The look preview of the open run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LookView {
    pub look: Look,
    /// The newest rendering (a temporary PNG).
    pub image: Option<PathBuf>,
    /// The checkpoint it came from.
    pub checkpoint: Option<u64>,
    /// Requests sent and not yet answered.
    pub seq: u64,
    pub done: u64,
    pub error: Option<String>,
}

impl LookView {
    /// A one-line description: `strength 0.7 · saturation 1.2 · preserve colour`.
    pub fn describe(&self) -> String {
        let l = self.look;
        format!(
            "strength {:.1} · saturation {:.1}{}",
            l.strength,
            l.saturation,
            if l.preserve_color {
                " · preserve colour"
            } else if l.palette {
                " · painting's palette"
            } else {
                ""
            }
        )
    }

    pub fn busy(&self) -> bool {
        self.done < self.seq
    }
}

/// One rendering to do.
#[derive(Debug, Clone, PartialEq)]
pub struct LookRequest {
    pub run: PathBuf,
    /// The probe's input image.
    pub input: PathBuf,
    /// For cyclegan: the generator direction ("ba" for domain-b probes).
    pub direction: Option<String>,
    pub look: Look,
    pub seq: u64,
}

/// What the worker reports.
#[derive(Debug, Clone, PartialEq)]
pub struct LookResult {
    pub run: PathBuf,
    pub seq: u64,
    pub outcome: Result<(PathBuf, u64), String>,
}

/// Start the worker; it ends when the request sender is dropped.
pub fn spawn(tx: Sender<Msg>) -> Sender<LookRequest> {
    let (req_tx, req_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("look".into())
        .spawn(move || dispatch(BackendKind::Flex, Worker { rx: req_rx, tx }))
        .expect("spawning the look thread");
    req_tx
}

/// The worker's loop, as a job for [`dispatch`].
struct Worker {
    rx: Receiver<LookRequest>,
    tx: Sender<Msg>,
}

impl WithBackend for Worker {
    type Output = ();

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<()> {
        work::<B::InnerBackend>(self.rx, self.tx, device);
        Ok(())
    }
}

fn work<B: burn::prelude::Backend>(rx: Receiver<LookRequest>, tx: Sender<Msg>, device: B::Device) {
    type Cached<B> = (PathBuf, Option<String>, u64, Stylizer<B>);
    let mut cached: Option<Cached<B>> = None;
    let mut previous: Option<PathBuf> = None;
    while let Ok(mut req) = rx.recv() {
        // Only the newest request matters.
        while let Ok(newer) = rx.try_recv() {
            req = newer;
        }
        let run = RunDir::new(&req.run);
        let outcome = (|| -> anyhow::Result<(PathBuf, u64)> {
            let latest = run
                .latest_checkpoint()
                .ok_or_else(|| anyhow::anyhow!("no checkpoint yet"))?;
            let fresh = cached.as_ref().is_none_or(|(dir, d, step, _)| {
                *dir != req.run || *d != req.direction || *step != latest
            });
            if fresh {
                let direction = req
                    .direction
                    .as_deref()
                    .map(|d| <Direction as clap::ValueEnum>::from_str(d, false))
                    .transpose()
                    .map_err(anyhow::Error::msg)?;
                let s = Stylizer::<B>::load(&run, Some(latest), direction, &device)?;
                cached = Some((req.run.clone(), req.direction.clone(), latest, s));
            }
            let (_, _, step, stylizer) = cached.as_ref().expect("loaded above");
            if req.look.palette {
                if let Err(why) = stylizer.palette() {
                    anyhow::bail!("palette: {why}");
                }
            }
            let photo = image::open(&req.input)?.to_rgb8();
            let out = stylizer.apply(&photo, req.look);
            let path = std::env::temp_dir().join(format!(
                "atelier-look-{}-{}.png",
                std::process::id(),
                req.seq
            ));
            out.save(&path)?;
            Ok((path, *step))
        })();
        if let (Ok((path, _)), Some(old)) = (&outcome, previous.take()) {
            let _ = std::fs::remove_file(old);
            previous = Some(path.clone());
        } else if let Ok((path, _)) = &outcome {
            previous = Some(path.clone());
        }
        let msg = Msg::Look(LookResult {
            run: req.run,
            seq: req.seq,
            outcome: outcome.map_err(|e| format!("{e:#}")),
        });
        if tx.send(msg).is_err() {
            break;
        }
    }
    if let Some(p) = previous {
        let _ = std::fs::remove_file(p);
    }
}
