//! A training process on its backend: the [`WithBackend`] job that [`crate::backend::dispatch`]
//! monomorphises into `train_on`, run on a thread of rayon's global pool sized from
//! `train.threads`; and the SIGTERM/SIGINT/SIGHUP flag that makes the loop stop with a
//! checkpoint.

use super::{train_on, Outcome, TrainRequest};
use crate::backend::{dispatch_on, init_threads, on_pool, BackendKind, WithBackend};
use crate::spec::Precision;
use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

struct TrainJob {
    req: TrainRequest,
    kind: BackendKind,
    gpu: usize,
    precision: Precision,
    threads: usize,
}

impl WithBackend for TrainJob {
    type Output = Outcome;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<Outcome> {
        let mut device_name = self.kind.device_name(self.threads, self.gpu);
        if self.precision != Precision::F32 {
            device_name = format!("{device_name}, {}", self.precision.name());
        }
        train_on::<B>(self.req, device, self.kind.name(), device_name)
    }
}

/// Train `req` on backend `kind` (CUDA device `cuda:gpu`) in its spec's precision, with
/// `threads` CPU threads (0 = all cores).
pub(super) fn with_backend(
    kind: BackendKind,
    gpu: usize,
    threads: usize,
    req: TrainRequest,
) -> Result<Outcome> {
    let threads = init_threads(threads);
    let precision = req.plan.spec.train.precision;
    let job = TrainJob {
        req,
        kind,
        gpu,
        precision,
        threads,
    };
    on_pool(move || dispatch_on(kind, gpu, precision, job))
}

/// A flag raised by SIGTERM, SIGINT or SIGHUP; the loop checkpoints and stops when it is set.
pub(super) fn install_signal_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(sig, flag.clone());
    }
    flag
}
