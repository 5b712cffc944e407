//! The GPU strip's model: the latest [`GpuSample`] per GPU and ten minutes of each GPU's
//! utilisation. The poller sends samples only when they change, so the history holds change
//! points and a value holds until the next one; the sparkline reads the value in effect at the
//! end of each of its time buckets. Empty (no NVML, no GPU) means no strip at all.

use crate::gpu::GpuSample;
use std::collections::{BTreeMap, VecDeque};

/// How far back the sparkline reaches, in seconds.
pub const HISTORY_SECS: f64 = 600.0;

/// How often the poller samples, in seconds.
pub const SAMPLE_SECS: f64 = 2.0;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpuStrip {
    /// Every GPU at the last sample; empty without NVML.
    pub latest: Vec<GpuSample>,
    /// Per NVML index: (unix seconds, utilisation %) change points, oldest first.
    pub history: BTreeMap<u32, VecDeque<(f64, u32)>>,
}

impl GpuStrip {
    /// Fold a sample taken at `now` (`None`: NVML is not there).
    pub fn absorb(&mut self, now: f64, gpus: Option<Vec<GpuSample>>) {
        let gpus = gpus.unwrap_or_default();
        for g in &gpus {
            let h = self.history.entry(g.index).or_default();
            h.push_back((now, g.util_pct));
            // Keep the last point before the window: it is the value at the window's start.
            while h.len() > 1 && h[1].0 <= now - HISTORY_SECS {
                h.pop_front();
            }
        }
        self.history
            .retain(|i, _| gpus.iter().any(|g| g.index == *i));
        self.latest = gpus;
    }

    /// Rows the strip takes.
    pub fn height(&self) -> u16 {
        self.latest.len().min(8) as u16
    }

    /// Utilisation of GPU `index` over the last ten minutes in `width` buckets, `None` where there
    /// was no sample yet.
    pub fn utilisation(&self, index: u32, now: f64, width: usize) -> Vec<Option<u32>> {
        let Some(h) = self.history.get(&index) else {
            return vec![None; width];
        };
        let dt = HISTORY_SECS / width.max(1) as f64;
        (0..width)
            .map(|b| {
                let end = now - HISTORY_SECS + (b + 1) as f64 * dt;
                h.iter().rev().find(|(t, _)| *t <= end).map(|(_, u)| *u)
            })
            .collect()
    }

    /// The GPU whose processes include `pid`, if any.
    pub fn of_process(&self, pid: u32) -> Option<&GpuSample> {
        self.latest
            .iter()
            .find(|g| g.processes.iter().any(|p| p.pid == pid))
    }
}

/// Utilisation as bars on a fixed 0..100 scale (a blank before the first sample).
pub fn util_sparkline(values: &[Option<u32>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .iter()
        .map(|v| v.map_or(' ', |u| BARS[(u.min(100) as usize * 7 + 50) / 100]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(index: u32, util: u32) -> GpuSample {
        GpuSample {
            index,
            name: "NVIDIA H200".into(),
            uuid: String::new(),
            util_pct: util,
            mem_used: 0,
            mem_total: 1,
            power_w: 0.0,
            temp_c: 0,
            processes: vec![],
        }
    }

    #[test]
    fn history_holds_ten_minutes_of_change_points() {
        let mut s = GpuStrip::default();
        s.absorb(0.0, Some(vec![at(0, 0), at(1, 100)]));
        s.absorb(300.0, Some(vec![at(0, 100), at(1, 100)]));
        let u = s.utilisation(0, 600.0, 4);
        assert_eq!(u, [Some(0), Some(100), Some(100), Some(100)]);
        assert_eq!(util_sparkline(&u), "▁███");
        // Before the first sample: blank.
        assert_eq!(s.utilisation(0, 900.0, 4)[0], Some(100));
        assert_eq!(util_sparkline(&s.utilisation(1, -100.0, 2)), "  ");
        s.absorb(1000.0, Some(vec![at(0, 50)]));
        assert_eq!(s.history[&0].len(), 2, "the point before the window stays");
        assert!(!s.history.contains_key(&1), "a vanished GPU's history goes");
        s.absorb(1001.0, None);
        assert_eq!((s.height(), s.history.len()), (0, 0));
    }
}
