//! The machine's NVIDIA GPUs as atelier sees them: a [`GpuSample`] per GPU (utilisation, memory,
//! power, temperature and the processes on it), read through a [`GpuSource`] that NVML fills in
//! production (`gpu/nvml.rs`, libnvidia-ml loaded at run time) and a fixture fills in tests. No
//! NVML (no driver, no GPU) is not an error: the source answers `None` and callers show nothing.
//! Also the pure parts of device placement: which NVML GPUs CUDA sees as `cuda:0..` under
//! `CUDA_VISIBLE_DEVICES` ([`visible`]), and where a new run goes ([`place`]: the visible GPU with
//! the most free memory, after those given a run moments ago).

mod nvml;

pub use nvml::Nvml;

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the dashboard header and `atelier train` say once on a GPU box with a CPU-only build.
pub const NO_CUDA: &str = "GPU present, this build has no CUDA: rebuild with --features cuda";

/// What `atelier gpus` says where NVML finds nothing.
pub const NO_GPU: &str = "no NVIDIA GPU found (NVML not available)";

/// One GPU at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuSample {
    /// NVML's index (PCI bus order, ignoring `CUDA_VISIBLE_DEVICES`).
    pub index: u32,
    pub name: String,
    /// `GPU-…`, to match `CUDA_VISIBLE_DEVICES` entries given as UUIDs.
    #[serde(default)]
    pub uuid: String,
    /// Busy share of the last sample period, 0..100.
    pub util_pct: u32,
    pub mem_used: u64,
    pub mem_total: u64,
    pub power_w: f64,
    pub temp_c: u32,
    pub processes: Vec<GpuProcess>,
}

/// A process holding memory on a GPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuProcess {
    pub pid: u32,
    /// Bytes; `None` where the driver does not say.
    pub mem: Option<u64>,
}

impl GpuSample {
    pub fn mem_free(&self) -> u64 {
        self.mem_total.saturating_sub(self.mem_used)
    }

    /// `0 H200  util  87%  mem 41.2/141.0 GiB  512 W  61°C` (the strip and `atelier gpus`).
    pub fn summary(&self) -> String {
        format!(
            "{} {}  util {:>3}%  mem {}/{} GiB  {:>3.0} W  {:>2}°C",
            self.index,
            short_name(&self.name),
            self.util_pct,
            gib(self.mem_used),
            gib(self.mem_total),
            self.power_w,
            self.temp_c
        )
    }
}

/// Bytes as GiB with one decimal.
pub fn gib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 30) as f64)
}

/// The model without the vendor prefix: `NVIDIA H200` -> `H200`.
pub fn short_name(name: &str) -> &str {
    name.strip_prefix("NVIDIA ").unwrap_or(name)
}

/// The runs whose live trainer is one of this GPU's processes, with the memory each holds.
pub fn runs_on<'a>(
    g: &GpuSample,
    runs: &'a [crate::store::RunSummary],
) -> Vec<(&'a crate::store::RunSummary, Option<u64>)> {
    g.processes
        .iter()
        .filter_map(|p| {
            runs.iter()
                .find(|r| r.is_process(p.pid))
                .map(|r| (r, p.mem))
        })
        .collect()
}

/// Where GPU samples come from: NVML in production, recorded samples in tests.
pub trait GpuSource: Send {
    /// Every GPU now, or `None` when there is no way to know (no NVML): callers then show nothing.
    fn sample(&mut self) -> Option<Vec<GpuSample>>;
}

/// Recorded samples, replayed in order (the last one repeats): the tests' source.
pub struct Recorded(pub Vec<Option<Vec<GpuSample>>>, pub usize);

impl GpuSource for Recorded {
    fn sample(&mut self) -> Option<Vec<GpuSample>> {
        let i = self.1.min(self.0.len().checked_sub(1)?);
        self.1 += 1;
        self.0[i].clone()
    }
}

/// The GPUs CUDA numbers `cuda:0`, `cuda:1`, … in this process: NVML indices in ordinal order.
/// Without `CUDA_VISIBLE_DEVICES` every GPU in NVML's order (atelier sets `CUDA_DEVICE_ORDER=
/// PCI_BUS_ID`, which is NVML's order too); with it, its entries (indices or `GPU-` UUID
/// prefixes) up to the first one that names no GPU, as CUDA reads it.
pub fn visible(gpus: &[GpuSample], env: Option<&str>) -> Vec<u32> {
    let Some(list) = env else {
        let mut all: Vec<u32> = gpus.iter().map(|g| g.index).collect();
        all.sort_unstable();
        return all;
    };
    let mut out = Vec::new();
    for entry in list.split(',').map(str::trim) {
        let found = match entry.parse::<u32>() {
            Ok(i) => gpus.iter().find(|g| g.index == i),
            Err(_) if entry.starts_with("GPU-") => gpus.iter().find(|g| g.uuid.starts_with(entry)),
            Err(_) => None,
        };
        match found {
            Some(g) if !out.contains(&g.index) => out.push(g.index),
            _ => break,
        }
    }
    out
}

/// The process's `CUDA_VISIBLE_DEVICES`.
pub fn visible_env() -> Option<String> {
    std::env::var("CUDA_VISIBLE_DEVICES").ok()
}

/// The ordinal (`cuda:N`) for a new run: among the visible GPUs, the one with the fewest runs
/// placed in the last moments (`pending`, ordinals; their memory does not show yet), then the
/// most free memory. `None` without GPUs.
pub fn place(gpus: &[GpuSample], visible: &[u32], pending: &[usize]) -> Option<usize> {
    visible
        .iter()
        .enumerate()
        .filter_map(|(ordinal, idx)| gpus.iter().find(|g| g.index == *idx).map(|g| (ordinal, g)))
        .min_by_key(|(ordinal, g)| {
            let waiting = pending.iter().filter(|p| *p == ordinal).count();
            (waiting, std::cmp::Reverse(g.mem_free()), *ordinal)
        })
        .map(|(ordinal, _)| ordinal)
}

/// Runs placed by this process recently: a run takes a while to allocate, so NVML's free memory
/// does not show it yet.
static PLACED: Mutex<Vec<(usize, Instant)>> = Mutex::new(Vec::new());
const PLACED_FOR: Duration = Duration::from_secs(120);

/// Pick `cuda:N` for a run about to start on this machine (NVML's view now, plus the runs placed
/// in the last two minutes), and remember it. `None` without NVML or GPUs: nothing changes.
pub fn place_new_run() -> Option<usize> {
    let gpus = Nvml::shared().sample()?;
    let visible = visible(&gpus, visible_env().as_deref());
    let mut placed = PLACED.lock().unwrap_or_else(|e| e.into_inner());
    placed.retain(|(_, t)| t.elapsed() < PLACED_FOR);
    let pending: Vec<usize> = placed.iter().map(|(o, _)| *o).collect();
    let ordinal = place(&gpus, &visible, &pending)?;
    placed.push((ordinal, Instant::now()));
    Some(ordinal)
}

/// `cuda:N (NVIDIA H200)` for status.json, the name from NVML when it answers.
pub fn describe_ordinal(ordinal: usize) -> String {
    let name = Nvml::shared().sample().and_then(|gpus| {
        let idx = *visible(&gpus, visible_env().as_deref()).get(ordinal)?;
        gpus.into_iter().find(|g| g.index == idx).map(|g| g.name)
    });
    match name {
        Some(n) => format!("cuda:{ordinal} ({n})"),
        None => format!("cuda:{ordinal}"),
    }
}

/// [`NO_CUDA`] when NVML sees a GPU and this build cannot use it.
pub fn no_cuda_notice(gpus: Option<&[GpuSample]>) -> Option<&'static str> {
    (!cfg!(feature = "cuda") && gpus.is_some_and(|g| !g.is_empty())).then_some(NO_CUDA)
}

/// Make CUDA number GPUs as NVML does (PCI bus order) unless the user chose otherwise, so
/// `cuda:N`, `atelier gpus` and the strip agree. Called first thing in `main`, before any thread.
pub fn pin_device_order() {
    if std::env::var_os("CUDA_DEVICE_ORDER").is_none() {
        std::env::set_var("CUDA_DEVICE_ORDER", "PCI_BUS_ID");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu(index: u32, used_gib: u64) -> GpuSample {
        GpuSample {
            index,
            name: "NVIDIA H200".into(),
            uuid: format!("GPU-{index}abc"),
            util_pct: 50,
            mem_used: used_gib << 30,
            mem_total: 141 << 30,
            power_w: 300.0,
            temp_c: 50,
            processes: vec![],
        }
    }

    #[test]
    fn visible_follows_cuda_visible_devices() {
        let g = [gpu(0, 0), gpu(1, 0), gpu(2, 0), gpu(3, 0)];
        assert_eq!(visible(&g, None), [0, 1, 2, 3]);
        assert_eq!(visible(&g, Some("2,0")), [2, 0]);
        assert_eq!(visible(&g, Some("GPU-3a, 1")), [3, 1]);
        // CUDA stops at the first entry that names no device.
        assert_eq!(visible(&g, Some("1,7,2")), [1]);
        assert_eq!(visible(&g, Some("")), Vec::<u32>::new());
        assert_eq!(visible(&g, Some("-1")), Vec::<u32>::new());
    }

    #[test]
    fn four_runs_launched_at_once_take_four_gpus() {
        let g = [gpu(0, 10), gpu(1, 2), gpu(2, 50), gpu(3, 5)];
        let vis = visible(&g, None);
        let mut pending = Vec::new();
        for _ in 0..4 {
            pending.push(place(&g, &vis, &pending).unwrap());
        }
        assert_eq!(pending, [1, 3, 0, 2]);
        // A fifth goes to the most free memory again.
        assert_eq!(place(&g, &vis, &pending[..0]), Some(1));
        // Ordinals are positions in the visible set.
        assert_eq!(place(&g, &visible(&g, Some("2,3")), &[]), Some(1));
        assert_eq!(place(&[], &[], &[]), None);
    }

    #[test]
    fn recorded_source_replays_then_repeats() {
        let mut r = Recorded(vec![None, Some(vec![gpu(0, 1)])], 0);
        assert_eq!(r.sample(), None);
        assert_eq!(r.sample().unwrap().len(), 1);
        assert_eq!(r.sample().unwrap().len(), 1);
        assert_eq!(Recorded(vec![], 0).sample(), None);
        assert_eq!(no_cuda_notice(Some(&[])), None);
        assert_eq!(
            no_cuda_notice(Some(&[gpu(0, 1)])).is_some(),
            !cfg!(feature = "cuda")
        );
    }
}
