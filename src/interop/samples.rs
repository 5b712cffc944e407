//! A run's sample images as the exports see them: `samples/index.jsonl` read once, with the
//! probes in the dashboard's order (sorted by set, then index), the sample steps, and each
//! probe's input and output files. Shared by the GIF and the contact sheet.

use crate::run_dir::{self, RunDir, SampleRecord};
use anyhow::{bail, Context, Result};
use image::RgbImage;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A probe: its set ("content", "a", "b") and its index in that set.
pub type ProbeId = (String, usize);

/// One run's sample index.
#[derive(Debug, Clone)]
pub struct RunSamples {
    pub run: RunDir,
    /// The run's own name (`run_dir::run_name` of its id).
    pub name: String,
    pub records: Vec<SampleRecord>,
}

impl RunSamples {
    pub fn read(run: &RunDir) -> Self {
        Self {
            run: run.clone(),
            name: run_dir::run_name(&run.id()).to_string(),
            records: run_dir::read_lines(&run.path(run_dir::SAMPLE_INDEX)),
        }
    }

    /// Probe ids in the dashboard's order (what `--probe N` counts in).
    pub fn probes(&self) -> Vec<ProbeId> {
        let set: BTreeSet<ProbeId> = self
            .records
            .iter()
            .filter(|r| r.kind == "input")
            .map(|r| (r.set.clone(), r.probe))
            .collect();
        set.into_iter().collect()
    }

    /// Every step with an output, ascending.
    pub fn steps(&self) -> Vec<u64> {
        let set: BTreeSet<u64> = self
            .records
            .iter()
            .filter(|r| r.kind == "output")
            .map(|r| r.step)
            .collect();
        set.into_iter().collect()
    }

    /// Each step's output file of `probe`.
    pub fn outputs(&self, probe: &ProbeId) -> BTreeMap<u64, PathBuf> {
        self.records
            .iter()
            .filter(|r| r.kind == "output" && r.set == probe.0 && r.probe == probe.1)
            .map(|r| (r.step, self.run.root.join(&r.path)))
            .collect()
    }

    /// The output of `probe` at the last sample step at or before `step`, with that step.
    pub fn output_at(&self, probe: &ProbeId, step: u64) -> Option<(u64, PathBuf)> {
        self.outputs(probe)
            .range(..=step)
            .next_back()
            .map(|(s, p)| (*s, p.clone()))
    }

    /// The input image file of `probe`.
    pub fn input(&self, probe: &ProbeId) -> Option<PathBuf> {
        self.records
            .iter()
            .find(|r| r.kind == "input" && r.set == probe.0 && r.probe == probe.1)
            .map(|r| self.run.root.join(&r.path))
    }

    /// The `n`th probe (dashboard order), or an error listing how many there are.
    pub fn probe(&self, n: usize) -> Result<ProbeId> {
        let probes = self.probes();
        match probes.get(n) {
            Some(p) => Ok(p.clone()),
            None if probes.is_empty() => bail!("run {} has no samples yet", self.run.id()),
            None => bail!(
                "run {} has {} probes (0..{}), not probe {n}",
                self.run.id(),
                probes.len(),
                probes.len() - 1
            ),
        }
    }
}

/// Read an image file as RGB.
pub fn load(path: &std::path::Path) -> Result<RgbImage> {
    Ok(image::open(path)
        .with_context(|| format!("reading {}", path.display()))?
        .to_rgb8())
}
