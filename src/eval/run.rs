//! Scores of a whole run or of image folders, for `atelier eval` and the trainer: each probe's
//! output at each sample step against its input and the run's style image, as `ScoreRecord`s.

use super::{score, Baseline, EvalOptions, Scorer, Scores};
use crate::run_dir::{self, RunDir, SampleRecord, ScoreRecord};
use anyhow::{bail, Context, Result};
use image::RgbImage;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A score record for one probe of one step.
pub fn record(step: u64, set: &str, probe: usize, s: &Scores) -> ScoreRecord {
    let against = |output, photo, style| {
        Some(run_dir::Against {
            output,
            photo,
            style,
        })
    };
    ScoreRecord {
        step,
        set: set.to_string(),
        probe,
        ssim: s.ssim,
        style_gain: s.style_gain,
        texture_gain: s.texture_gain,
        histogram_style_gain: s.histogram_style_gain,
        histogram_texture_gain: s.histogram_texture_gain,
        checkerboard: s.checkerboard,
        texture_energy: Some(s.texture_energy),
        orientation: against(s.orientation, s.photo_orientation, s.style_orientation),
        periodicity: against(s.periodicity, s.photo_periodicity, s.style_periodicity),
        speckle: against(s.speckle, s.photo_speckle, s.style_speckle),
        coherence: against(s.coherence, s.photo_coherence, s.style_coherence),
    }
}

/// Scores a run's fixed probe set at every sample step: the style reference and each probe's
/// baselines are computed on first use and reused, so a step only measures the new outputs.
pub struct ProbeScorer {
    scorer: Scorer,
    baselines: HashMap<(String, usize), Baseline>,
}

impl ProbeScorer {
    pub fn new(style: &RgbImage) -> Result<Self, String> {
        Ok(Self {
            scorer: Scorer::new(style, &EvalOptions::default())?,
            baselines: HashMap::new(),
        })
    }

    pub fn score(
        &mut self,
        step: u64,
        set: &str,
        probe: usize,
        input: &RgbImage,
        output: &RgbImage,
    ) -> Result<ScoreRecord, String> {
        let key = (set.to_string(), probe);
        if !self.baselines.contains_key(&key) {
            let b = self.scorer.baseline(input)?;
            self.baselines.insert(key.clone(), b);
        }
        let b = self.baselines.get(&key).ok_or("baseline vanished")?;
        Ok(record(step, set, probe, &self.scorer.score(b, output)?))
    }
}

/// The style image a single_style run trained against (regenerated for "builtin").
pub fn run_style(run: &RunDir) -> Result<RgbImage> {
    let spec = crate::store::read_spec(run)?;
    let style = match spec.data.style.as_deref() {
        None => bail!(
            "run {} is not a single_style run: there is no style image to score against",
            run.id()
        ),
        Some("builtin") => crate::spec::StyleSource::Builtin,
        Some(p) => crate::spec::StyleSource::File(PathBuf::from(p)),
    };
    crate::train::data::load_style(
        &style,
        spec.data.style_size,
        spec.data.image_size,
        spec.train.seed,
    )
}

/// Score every probe output of a run at every sample step; `progress` is told (outputs scored,
/// outputs in all) as it goes.
pub fn score_run(
    run: &RunDir,
    o: &EvalOptions,
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<ScoreRecord>> {
    let style = run_style(run)?;
    let index: Vec<SampleRecord> = run_dir::read_lines(&run.path(run_dir::SAMPLE_INDEX));
    if index.is_empty() {
        bail!("run {} has no samples yet", run.id());
    }
    let open = |r: &SampleRecord| {
        image::open(run.root.join(&r.path))
            .map(|i| i.to_rgb8())
            .ok()
    };
    let mut out = Vec::new();
    let outputs: Vec<&SampleRecord> = index.iter().filter(|r| r.kind == "output").collect();
    progress(0, outputs.len());
    for (done, r) in outputs.iter().enumerate() {
        progress(done, outputs.len());
        let Some(input) = index
            .iter()
            .find(|i| i.kind == "input" && i.set == r.set && i.probe == r.probe)
        else {
            continue;
        };
        let (Some(content), Some(output)) = (open(input), open(r)) else {
            continue;
        };
        let s = score(&content, &style, &output, o).map_err(anyhow::Error::msg)?;
        out.push(record(r.step, &r.set, r.probe, &s));
    }
    progress(outputs.len(), outputs.len());
    Ok(out)
}

/// Score outputs in `outputs` against same-named photos in `contents` (folders) or one triple.
pub fn score_paths(
    content: &Path,
    style: &Path,
    output: &Path,
    o: &EvalOptions,
) -> Result<Vec<(PathBuf, Scores)>> {
    let open = |p: &Path| {
        image::open(p)
            .map(|i| i.to_rgb8())
            .with_context(|| format!("cannot read image {}", p.display()))
    };
    let style_img = open(style)?;
    if content.is_dir() {
        let mut out = Vec::new();
        for c in crate::spec::list_images(content) {
            let rel = c.strip_prefix(content).unwrap_or(&c);
            let candidates = [output.join(rel), output.join(rel).with_extension("png")];
            let Some(o_path) = candidates.iter().find(|p| p.is_file()) else {
                continue;
            };
            let s = score(&open(&c)?, &style_img, &open(o_path)?, o).map_err(anyhow::Error::msg)?;
            out.push((o_path.clone(), s));
        }
        if out.is_empty() {
            bail!(
                "no output in {} matches a photo in {} by name",
                output.display(),
                content.display()
            );
        }
        Ok(out)
    } else {
        let s =
            score(&open(content)?, &style_img, &open(output)?, o).map_err(anyhow::Error::msg)?;
        Ok(vec![(output.to_path_buf(), s)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::data::procedural;

    #[test]
    fn cached_probe_scores_equal_one_shot_scores() {
        let style = procedural::painterly_style(3, 96, 96);
        let input = procedural::content_scene(3, 0, 64, 64);
        let outputs = [
            procedural::painterly_style(4, 64, 64),
            procedural::content_scene(3, 1, 64, 64),
        ];
        let mut cached = ProbeScorer::new(&style).unwrap();
        for (i, out) in outputs.iter().enumerate() {
            let got = cached.score(i as u64, "content", 0, &input, out).unwrap();
            let want = record(
                i as u64,
                "content",
                0,
                &score(&input, &style, out, &EvalOptions::default()).unwrap(),
            );
            assert_eq!(got, want);
        }
    }
}
