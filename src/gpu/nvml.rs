//! The production [`GpuSource`]: NVML through `nvml-wrapper`, which opens libnvidia-ml with
//! `dlopen` on first use, so the binary links no NVIDIA library and runs where there is none.
//! The library is opened once per process; a failure (no driver) is remembered and every sample
//! is then `None`. A metric a GPU does not report (power on some boards) reads as 0.

use super::{GpuProcess, GpuSample, GpuSource};
use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
use nvml_wrapper::enums::device::UsedGpuMemory;
use std::sync::OnceLock;

/// NVML, opened once for the whole process.
pub struct Nvml;

static HANDLE: OnceLock<Option<nvml_wrapper::Nvml>> = OnceLock::new();

impl Nvml {
    pub fn shared() -> Nvml {
        Nvml
    }
}

fn handle() -> Option<&'static nvml_wrapper::Nvml> {
    HANDLE
        .get_or_init(|| nvml_wrapper::Nvml::init().ok())
        .as_ref()
}

impl GpuSource for Nvml {
    fn sample(&mut self) -> Option<Vec<GpuSample>> {
        let nvml = handle()?;
        let count = nvml.device_count().ok()?;
        let gpus = (0..count)
            .filter_map(|index| {
                let d = nvml.device_by_index(index).ok()?;
                let mem = d.memory_info().ok();
                let processes = d
                    .running_compute_processes()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| GpuProcess {
                        pid: p.pid,
                        mem: match p.used_gpu_memory {
                            UsedGpuMemory::Used(b) => Some(b),
                            UsedGpuMemory::Unavailable => None,
                        },
                    })
                    .collect();
                Some(GpuSample {
                    index,
                    name: d.name().unwrap_or_else(|_| "NVIDIA GPU".into()),
                    uuid: d.uuid().unwrap_or_default(),
                    util_pct: d.utilization_rates().map_or(0, |u| u.gpu),
                    mem_used: mem.as_ref().map_or(0, |m| m.used),
                    mem_total: mem.as_ref().map_or(0, |m| m.total),
                    power_w: d.power_usage().map_or(0.0, |mw| mw as f64 / 1000.0),
                    temp_c: d.temperature(TemperatureSensor::Gpu).unwrap_or(0),
                    processes,
                })
            })
            .collect();
        Some(gpus)
    }
}
