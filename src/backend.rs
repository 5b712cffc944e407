//! The one backend switch. [`BackendKind`] lists the compute backends compiled into this build
//! (flex, burn's pure-Rust CPU backend and the default; ndarray; CUDA with `--features cuda`),
//! [`resolve_backend`] maps a spec's `train.backend` to one that this build and machine have, and
//! [`resolve_device`] adds `train.device` (which GPU), and [`dispatch`] runs a [`WithBackend`] job
//! monomorphised for it, on CUDA device `cuda:N` ([`dispatch_on`]): training, stylizing, the
//! dashboard's look worker and `atelier bench` all go through it, so adding a backend is one
//! variant here and one match arm in `dispatch_on`. The CPU thread count is set once on rayon's
//! global pool, which both CPU backends use.

use crate::spec::{BackendChoice, DeviceChoice, Precision};
use anyhow::{bail, Result};
use burn::backend::{Autodiff, Flex, NdArray};
use burn::tensor::backend::AutodiffBackend;

/// A compute backend (`atelier bench --backend`, the `backend` of status.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    Flex,
    Ndarray,
    Cuda,
}

impl BackendKind {
    /// The backends of this build, GPU first (bench's default list and its `--backend` values).
    pub fn compiled() -> &'static [BackendKind] {
        if cfg!(feature = "cuda") {
            &[BackendKind::Cuda, BackendKind::Flex, BackendKind::Ndarray]
        } else {
            &[BackendKind::Flex, BackendKind::Ndarray]
        }
    }

    /// The compiled backends that can run here: CUDA only when a device answers.
    pub fn usable() -> Vec<BackendKind> {
        let cuda = || cuda_available(0);
        Self::compiled()
            .iter()
            .copied()
            .filter(|&k| k != BackendKind::Cuda || cuda())
            .collect()
    }

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Ndarray => "ndarray",
            BackendKind::Cuda => "cuda",
        }
    }

    /// The device a run on this backend reports (status.json, `started` event): `cuda:1 (NVIDIA
    /// H200)` (the name from NVML when it answers), `cpu, 2 threads`.
    pub fn device_name(self, threads: usize, gpu: usize) -> String {
        match self {
            BackendKind::Cuda => crate::gpu::describe_ordinal(gpu),
            BackendKind::Flex | BackendKind::Ndarray => format!("cpu, {threads} threads"),
        }
    }
}

/// `--backend` takes the compiled backends only, so `--help` and completions list exactly those.
impl clap::ValueEnum for BackendKind {
    fn value_variants<'a>() -> &'a [Self] {
        Self::compiled()
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

/// A computation generic over the autodiff backend, run by [`dispatch`] on the backend chosen at
/// run time. Inference-only jobs use `B::InnerBackend`.
pub trait WithBackend {
    type Output;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<Self::Output>;
}

/// Run `job` on backend `kind` (CUDA: its first device), in f32.
pub fn dispatch<J: WithBackend>(kind: BackendKind, job: J) -> Result<J::Output> {
    dispatch_on(kind, 0, Precision::F32, job)
}

/// Run `job` on backend `kind`, on CUDA device `cuda:gpu` (ignored by the CPU backends), in
/// `precision`: the only place a [`BackendKind`] and a [`Precision`] become a burn type.
pub fn dispatch_on<J: WithBackend>(
    kind: BackendKind,
    gpu: usize,
    precision: Precision,
    job: J,
) -> Result<J::Output> {
    let _ = gpu;
    match (kind, precision) {
        (BackendKind::Flex, Precision::F32) => job.run::<Autodiff<Flex>>(Default::default()),
        (BackendKind::Ndarray, Precision::F32) => {
            job.run::<Autodiff<NdArray>>(Default::default())
        }
        (BackendKind::Flex | BackendKind::Ndarray, Precision::Bf16) => bail!(
            "precision \"bf16\" runs on CUDA only, and this run resolved to the CPU backend {} (no usable CUDA device?); use precision \"f32\"",
            kind.name()
        ),
        #[cfg(feature = "cuda")]
        (BackendKind::Cuda, Precision::F32) => {
            job.run::<Autodiff<burn::backend::Cuda>>(burn::backend::cuda::CudaDevice::new(gpu))
        }
        #[cfg(feature = "cuda")]
        (BackendKind::Cuda, Precision::Bf16) => job
            .run::<Autodiff<burn::backend::Cuda<burn::tensor::bf16>>>(
                burn::backend::cuda::CudaDevice::new(gpu),
            ),
        #[cfg(not(feature = "cuda"))]
        (BackendKind::Cuda, _) => bail!("backend \"cuda\" needs a build with `--features cuda`"),
    }
}

/// Map the spec's choice to a backend that is available in this build and on this machine:
/// `auto` takes CUDA when it is compiled in and a device answers, else flex.
pub fn resolve_backend(choice: BackendChoice) -> Result<BackendKind> {
    match choice {
        BackendChoice::Flex => Ok(BackendKind::Flex),
        BackendChoice::Ndarray => Ok(BackendKind::Ndarray),
        BackendChoice::Cuda => {
            if cuda_available(0) {
                Ok(BackendKind::Cuda)
            } else if cfg!(feature = "cuda") {
                bail!("backend \"cuda\": no usable CUDA device (is the NVIDIA driver installed and a GPU visible?); use backend = \"auto\" to fall back to the CPU")
            } else {
                bail!("backend \"cuda\" needs a build with `--features cuda`")
            }
        }
        BackendChoice::Auto => Ok(if cuda_available(0) {
            BackendKind::Cuda
        } else {
            BackendKind::Flex
        }),
    }
}

/// The backend and CUDA ordinal of a spec's `train.backend` and `train.device` (validated
/// together by the spec): `cpu` takes the CPU, `cuda:N` needs CUDA device N (the N-th within
/// `CUDA_VISIBLE_DEVICES`), `auto` is [`resolve_backend`] on device 0.
pub fn resolve_device(
    backend: BackendChoice,
    device: DeviceChoice,
) -> Result<(BackendKind, usize)> {
    match (device, backend) {
        (DeviceChoice::Auto, b) => Ok((resolve_backend(b)?, 0)),
        (DeviceChoice::Cpu, BackendChoice::Cuda) => {
            bail!("device \"cpu\" contradicts backend \"cuda\"")
        }
        (DeviceChoice::Cpu, BackendChoice::Auto) => Ok((BackendKind::Flex, 0)),
        (DeviceChoice::Cpu, b) => Ok((resolve_backend(b)?, 0)),
        (DeviceChoice::Cuda(_), BackendChoice::Flex | BackendChoice::Ndarray) => {
            bail!("a CUDA device needs backend \"cuda\" or \"auto\"")
        }
        (DeviceChoice::Cuda(_), _) if !cfg!(feature = "cuda") => bail!("{}", crate::gpu::NO_CUDA),
        (DeviceChoice::Cuda(n), _) if cuda_available(n) => Ok((BackendKind::Cuda, n)),
        (DeviceChoice::Cuda(n), _) => bail!(
            "no usable CUDA device cuda:{n} (CUDA_VISIBLE_DEVICES={}; `atelier gpus` lists the GPUs, and N counts within the visible ones)",
            crate::gpu::visible_env().unwrap_or_else(|| "unset".into())
        ),
    }
}

/// Whether CUDA device `cuda:index` answers (the driver and a GPU at that ordinal).
#[cfg(feature = "cuda")]
pub fn cuda_available(index: usize) -> bool {
    use burn::prelude::*;
    // The driver is loaded lazily; a missing one panics inside cubecl, so probe in isolation.
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let ok = std::panic::catch_unwind(|| {
        let dev = burn::backend::cuda::CudaDevice::new(index);
        Tensor::<burn::backend::Cuda, 1>::zeros([1], &dev).into_data()
    })
    .is_ok();
    std::panic::set_hook(prev);
    ok
}

#[cfg(not(feature = "cuda"))]
pub fn cuda_available(_index: usize) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn compiled_backends_are_the_values_of_backend() {
        let names: Vec<&str> = BackendKind::compiled().iter().map(|k| k.name()).collect();
        assert_eq!(&names[names.len() - 2..], ["flex", "ndarray"]);
        assert_eq!(names.contains(&"cuda"), cfg!(feature = "cuda"));
        for k in BackendKind::compiled() {
            assert_eq!(BackendKind::from_str(k.name(), false), Ok(*k));
        }
    }

    #[test]
    fn device_choice_picks_backend_and_ordinal() {
        use DeviceChoice::*;
        let r = |b, d| resolve_device(b, d).map_err(|e| e.to_string());
        assert_eq!(r(BackendChoice::Auto, Cpu), Ok((BackendKind::Flex, 0)));
        assert_eq!(
            r(BackendChoice::Ndarray, Cpu),
            Ok((BackendKind::Ndarray, 0))
        );
        assert!(r(BackendChoice::Cuda, Cpu)
            .unwrap_err()
            .contains("contradicts"));
        assert!(r(BackendChoice::Flex, Cuda(1)).is_err());
        if !cuda_available(3) {
            let err = r(BackendChoice::Auto, Cuda(3)).unwrap_err();
            assert!(
                err.contains("--features cuda") || err.contains("no usable CUDA device cuda:3"),
                "{err}"
            );
        }
        assert_eq!(
            BackendKind::Flex.device_name(2, 0),
            "cpu, 2 threads",
            "status.json's device"
        );
        assert!(BackendKind::Cuda.device_name(2, 1).starts_with("cuda:1"));
        assert_eq!(DeviceChoice::parse("cuda:2"), Ok(Cuda(2)));
        assert_eq!(DeviceChoice::parse("cuda"), Ok(Cuda(0)));
        assert!(DeviceChoice::parse("cuda:x").is_err());
        assert!(DeviceChoice::parse("gpu").is_err());
    }

    #[test]
    fn dispatch_runs_the_job_on_the_chosen_backend() {
        struct Name;
        impl WithBackend for Name {
            type Output = String;
            fn run<B: AutodiffBackend>(self, _device: B::Device) -> Result<String> {
                Ok(std::any::type_name::<B>().to_string())
            }
        }
        assert!(dispatch(BackendKind::Flex, Name).unwrap().contains("Flex"));
        assert!(dispatch(BackendKind::Ndarray, Name)
            .unwrap()
            .contains("NdArray"));
        assert_eq!(
            resolve_backend(BackendChoice::Flex).unwrap(),
            BackendKind::Flex
        );
    }
}
