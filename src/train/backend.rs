//! Backend selection: `auto` takes CUDA when it is compiled in and a device answers, else flex
//! (burn's pure-Rust CPU backend, much faster than ndarray for these convolutional GANs); the CPU
//! thread count is set once on rayon's global pool, which both CPU backends use. Also installs the
//! SIGTERM/SIGINT/SIGHUP flag that makes the loop stop with a checkpoint.

use super::{train_on, Outcome, TrainRequest};
use crate::spec::BackendChoice;
use anyhow::{bail, Result};
use burn::backend::{Autodiff, Flex, NdArray};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Flex,
    Ndarray,
    Cuda,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Ndarray => "ndarray",
            BackendKind::Cuda => "cuda",
        }
    }
}

/// Map the spec's choice to a backend that is available in this build and on this machine.
pub fn resolve_backend(choice: BackendChoice) -> Result<BackendKind> {
    match choice {
        BackendChoice::Flex => Ok(BackendKind::Flex),
        BackendChoice::Ndarray => Ok(BackendKind::Ndarray),
        BackendChoice::Cuda => {
            if cuda_available() {
                Ok(BackendKind::Cuda)
            } else if cfg!(feature = "cuda") {
                bail!("backend \"cuda\": no usable CUDA device (is the NVIDIA driver installed and a GPU visible?); use backend = \"auto\" to fall back to the CPU")
            } else {
                bail!("backend \"cuda\" needs a build with `--features cuda`")
            }
        }
        BackendChoice::Auto => Ok(if cuda_available() {
            BackendKind::Cuda
        } else {
            BackendKind::Flex
        }),
    }
}

#[cfg(feature = "cuda")]
fn cuda_available() -> bool {
    use burn::prelude::*;
    // The driver is loaded lazily; a missing one panics inside cubecl, so probe in isolation.
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let ok = std::panic::catch_unwind(|| {
        let dev = burn::backend::cuda::CudaDevice::default();
        Tensor::<burn::backend::Cuda, 1>::zeros([1], &dev).into_data()
    })
    .is_ok();
    std::panic::set_hook(prev);
    ok
}

#[cfg(not(feature = "cuda"))]
fn cuda_available() -> bool {
    false
}

/// Size rayon's global pool (used by both CPU backends) once; returns the thread count.
pub fn init_threads(requested: usize) -> usize {
    let threads = cpu_threads(requested);
    // Fails only if the pool already exists (several trainings in one process, as in tests).
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        // Whole trainings run on these threads (`on_pool`): give them a main thread's stack.
        .stack_size(8 << 20)
        .build_global();
    threads
}

/// Run `f` on one of the global pool's threads, the calling thread waiting. The CPU backends'
/// serial work then runs on a pool thread, so a training process keeps as many busy threads as
/// the pool has, instead of one more: with the caller outside the pool, its serial work competes
/// for the cores with the pool threads that spin on their way to sleep.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let mut out = None;
    rayon::scope(|_| out = Some(f()));
    out.expect("rayon::scope runs its closure to completion")
}

/// Threads the CPU backends will use: `requested`, or every core when 0.
pub fn cpu_threads(requested: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    }
}

pub(super) fn with_backend(
    kind: BackendKind,
    threads: usize,
    req: TrainRequest,
) -> Result<Outcome> {
    let threads = init_threads(threads);
    let cpu = format!("cpu, {threads} threads");
    on_pool(move || match kind {
        BackendKind::Flex => train_on::<Autodiff<Flex>>(req, Default::default(), kind.name(), cpu),
        BackendKind::Ndarray => {
            train_on::<Autodiff<NdArray>>(req, Default::default(), kind.name(), cpu)
        }
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => {
            let dev = burn::backend::cuda::CudaDevice::default();
            train_on::<Autodiff<burn::backend::Cuda>>(req, dev, kind.name(), "cuda:0".into())
        }
        #[cfg(not(feature = "cuda"))]
        BackendKind::Cuda => bail!("backend \"cuda\" needs a build with `--features cuda`"),
    })
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
