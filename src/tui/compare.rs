//! Several runs at once: the compare view (2–4 marked runs: one probe at the same step under one
//! linked scrubber, overlaid loss curves of one term, the hyperparameters that differ, A/B flip)
//! and the best-of-k grid (judge which of 2–4 candidates is the worst). Both hold one `RunView`
//! per run, fed by the poller like the run view; everything here is pure state and derivation.

use super::app::{ChartOpts, RunView};
use super::images::Region;
use super::series;
use crate::run_dir::SampleRecord;
use ratatui::layout::Rect;
use std::collections::{BTreeMap, BTreeSet};

/// The compare view.
#[derive(Debug, Clone, Default)]
pub struct Compare {
    pub runs: Vec<RunView>,
    /// Index into `steps()`.
    pub step_idx: usize,
    /// Jump to new steps as they land.
    pub follow: bool,
    /// A step to show once every run's samples have arrived (a restored session).
    pub seek: Option<u64>,
    pub probe: usize,
    /// The loss term overlaid across runs: index into `terms()`.
    pub term: usize,
    /// A/B: Some(i) shows run i alone, full size; Tab flips between the first two.
    pub flip: Option<usize>,
    /// The run whose output stars go to.
    pub focus: usize,
    /// Overlay series of the chosen term, one per run (smoothed, decimated); derived. With the
    /// band on, a grouped run's is its seed group's mean (empty when an earlier run shows it).
    pub curves: Vec<Vec<(f64, f64)>>,
    /// With the band on: each run's seed group's min–max band (empty: none).
    pub bands: Vec<Vec<(f64, f64)>>,
    /// Wipe: A and B in one image, split at this column (thousandths of the width); None: off.
    pub wipe: Option<u16>,
    /// The difference |A − B| (in the A/B flip: |output − input|) as a heat map beside them.
    pub diff: bool,
    /// The region of the probe every image shows (zoom 1x/2x/4x, panned together).
    pub region: Region,
}

/// One column of the compare view's image row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// The probe's input photo.
    Input,
    /// Run i's output.
    Run(usize),
    /// Run a's output left of the split, run b's right of it.
    Wipe(usize, usize),
    /// |a − b| as a heat map.
    Diff(usize, usize),
    /// |output − input| of run i.
    Change(usize),
}

/// How far one `h`/`l` moves the wipe's split (thousandths of the width).
pub const WIPE_STEP: u16 = 50;

/// The best-of-k grid.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    /// The study whose live candidates fill the grid (None: the marked runs).
    pub study: Option<String>,
    pub runs: Vec<RunView>,
    /// How many candidates the study keeps (its `study.candidates`).
    pub k: usize,
    pub probe: usize,
    /// Judgements made in this grid since it opened.
    pub rounds: usize,
}

/// Every sample step any of `runs` has, ascending.
pub fn steps(runs: &[RunView]) -> Vec<u64> {
    let set: BTreeSet<u64> = runs
        .iter()
        .flat_map(|r| r.samples.keys().copied())
        .collect();
    set.into_iter().collect()
}

/// The latest step every run has reached in its samples (a fair common step for judging).
pub fn common_step(runs: &[RunView]) -> Option<u64> {
    crate::study::judge::common_step(runs.iter().map(|r| r.samples.keys().next_back().copied()))
}

/// The run's sample step nearest at or before `step`.
pub fn step_at_or_before(run: &RunView, step: u64) -> Option<u64> {
    run.samples.range(..=step).next_back().map(|(s, _)| *s)
}

/// The output image of `probe` (index into the run's probe list) at the run's sample step at or
/// before `step`, with that step.
pub fn output_at(run: &RunView, step: u64, probe: usize) -> Option<(u64, &SampleRecord)> {
    let at = step_at_or_before(run, step)?;
    let (set, p) = run.probes().get(probe).cloned()?;
    run.samples
        .get(&at)?
        .iter()
        .find(|r| r.kind == "output" && r.set == set && r.probe == p)
        .map(|r| (at, r))
}

/// The input image of `probe`.
pub fn input_of(run: &RunView, probe: usize) -> Option<&SampleRecord> {
    let (set, p) = run.probes().get(probe).cloned()?;
    run.inputs.iter().find(|r| r.set == set && r.probe == p)
}

/// Loss terms any run logs, in a stable order (totals first).
pub fn terms(runs: &[RunView]) -> Vec<String> {
    let set: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.metrics.iter().flat_map(|m| m.losses.keys()))
        .map(String::as_str)
        .collect();
    let mut v: Vec<String> = set.into_iter().map(String::from).collect();
    v.sort_by_key(|t| (!t.ends_with("_total"), t.clone()));
    v
}

/// Each run's smoothed series of `term` (x = step), decimated to `width` points.
pub fn curves(
    runs: &[RunView],
    term: &str,
    opts: &ChartOpts,
    width: usize,
) -> Vec<Vec<(f64, f64)>> {
    runs.iter()
        .map(|r| {
            let raw: Vec<(f64, f64)> = r
                .metrics
                .iter()
                .filter_map(|m| Some((m.step as f64, *m.losses.get(term)?)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            let smooth = series::ema_debiased(&raw, opts.smoothing);
            let smooth = if opts.log_y {
                series::log10_points(&smooth)
            } else {
                smooth
            };
            series::decimate_minmax(&smooth, width.max(8))
                .into_iter()
                .map(|(x, y)| (x, y.clamp(-1e30, 1e30)))
                .collect()
        })
        .collect()
}

/// One run's smoothed series of `term` as `(step, x, y)`, log10 after smoothing when asked
/// (as `curves` does).
fn smoothed(r: &RunView, term: &str, opts: &ChartOpts) -> Vec<(u64, f64, f64)> {
    let raw: Vec<(u64, f64, f64)> = r
        .metrics
        .iter()
        .filter_map(|m| Some((m.step, m.step as f64, *m.losses.get(term)?)))
        .filter(|p| p.2.is_finite())
        .collect();
    let s = super::groups::smooth(&raw, opts.smoothing);
    if opts.log_y {
        s.into_iter()
            .filter(|p| p.2 > 0.0 && p.2.is_finite())
            .map(|(st, x, y)| (st, x, y.log10()))
            .collect()
    } else {
        s
    }
}

/// The overlay with seed groups banded: a grouped run's curve is its group's mean over the
/// members among `runs` and `peers`, with the min–max band beside it; a run whose group an
/// earlier run already shows gets neither; an ungrouped run keeps its own curve.
pub fn band_curves(
    runs: &[RunView],
    peers: &[RunView],
    groups: &super::groups::Groups,
    term: &str,
    opts: &ChartOpts,
    width: usize,
) -> (Vec<super::groups::Series>, Vec<super::groups::Series>) {
    let single = curves(runs, term, opts, width);
    let fit = |pts: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
        series::decimate_minmax(&pts, width.max(8))
            .into_iter()
            .map(|(x, y)| (x, y.clamp(-1e30, 1e30)))
            .collect()
    };
    let mut out = (Vec::new(), Vec::new());
    for (i, r) in runs.iter().enumerate() {
        let group = groups.index_of(&r.id);
        let Some(g) = group else {
            out.0.push(single[i].clone());
            out.1.push(Vec::new());
            continue;
        };
        if runs[..i].iter().any(|o| groups.index_of(&o.id) == group) {
            out.0.push(Vec::new());
            out.1.push(Vec::new());
            continue;
        }
        let members: Vec<Vec<(u64, f64, f64)>> = runs
            .iter()
            .chain(peers)
            .filter(|m| groups.index_of(&m.id) == Some(g))
            .map(|m| smoothed(m, term, opts))
            .collect();
        let (mean, band) = super::groups::aggregate(&members);
        out.0.push(fit(mean));
        out.1.push(fit(band));
    }
    out
}

/// The hyperparameters whose values differ between the runs' specs: dotted key -> one value per
/// run ("-" where a run has no readable spec or lacks the key).
pub fn config_diff(runs: &[RunView]) -> BTreeMap<String, Vec<String>> {
    let flat: Vec<BTreeMap<String, String>> = runs
        .iter()
        .map(|r| r.spec.as_ref().map(flat_config).unwrap_or_default())
        .collect();
    let keys: BTreeSet<&String> = flat.iter().flat_map(|m| m.keys()).collect();
    keys.into_iter()
        .filter(|k| !k.starts_with("description") && !k.starts_with("name"))
        .filter_map(|k| {
            let vals: Vec<String> = flat
                .iter()
                .map(|m| m.get(k).cloned().unwrap_or_else(|| "-".into()))
                .collect();
            let differ = vals.iter().any(|v| *v != vals[0]);
            differ.then(|| (k.clone(), vals))
        })
        .collect()
}

/// A spec as dotted key -> value (numbers as the spec writes them, strings with their quotes).
pub fn flat_config(spec: &crate::spec::Spec) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(tree) = toml::Value::try_from(spec) {
        flatten("", &tree, &mut out);
    }
    out
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::Float(f) => {
            out.insert(prefix.to_string(), crate::spec::format_number(*f));
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// A short label for a run: its own name (`--name` or the launch form's, else the spec's; two
/// runs of one spec differ by their `-2` suffix or their names).
pub fn short_name(run: &RunView) -> &str {
    crate::run_dir::run_name(&run.id)
}

impl Compare {
    pub fn new(runs: Vec<RunView>) -> Self {
        Self {
            runs,
            follow: true,
            ..Self::default()
        }
    }

    /// The step under the scrubber.
    pub fn step(&self) -> Option<u64> {
        steps(&self.runs).get(self.step_idx).copied()
    }

    /// After new data: keep following the latest step, clamp indexes.
    pub fn settle(&mut self) {
        let all = steps(&self.runs);
        let n = all.len();
        if let Some(step) = self.seek.filter(|_| n > 0) {
            self.follow = false;
            self.step_idx = all.iter().filter(|s| **s <= step).count().saturating_sub(1);
            if self.runs.iter().all(|r| !r.samples.is_empty()) {
                self.seek = None;
            }
        }
        if self.follow && n > 0 {
            self.step_idx = n - 1;
        }
        self.step_idx = self.step_idx.min(n.saturating_sub(1));
        let probes = self
            .runs
            .iter()
            .map(|r| r.probes().len())
            .max()
            .unwrap_or(0);
        self.probe = self.probe.min(probes.saturating_sub(1));
        self.focus = self.focus.min(self.runs.len().saturating_sub(1));
    }

    /// The image row's columns, left to right: the input; then the runs (the A/B flip: the one
    /// shown; the wipe: A|B in one column, then the others); then the difference when on.
    pub fn panels(&self) -> Vec<Panel> {
        let last = self.runs.len().saturating_sub(1);
        let mut p = vec![Panel::Input];
        match (self.flip, self.wipe) {
            (Some(i), _) => {
                p.push(Panel::Run(i.min(last)));
                if self.diff {
                    p.push(Panel::Change(i.min(last)));
                }
                return p;
            }
            (None, Some(_)) if self.runs.len() >= 2 => {
                p.push(Panel::Wipe(0, 1));
                p.extend((2..self.runs.len()).map(Panel::Run));
            }
            _ => p.extend((0..self.runs.len()).map(Panel::Run)),
        }
        if self.diff && self.runs.len() >= 2 {
            p.push(Panel::Diff(0, 1));
        }
        p
    }

    /// Where each panel goes in the image row `area`: equal columns, except the A/B flip without
    /// the difference (the input a third, the run the rest).
    pub fn columns(&self, area: Rect) -> Vec<(Panel, Rect)> {
        let panels = self.panels();
        let rects = match panels.as_slice() {
            [Panel::Input, Panel::Run(_)] if self.flip.is_some() => {
                let third = area.width / 3;
                vec![
                    Rect {
                        width: third,
                        ..area
                    },
                    Rect {
                        x: area.x + third,
                        width: area.width - third,
                        ..area
                    },
                ]
            }
            _ => super::layout::columns(area, panels.len()),
        };
        panels.into_iter().zip(rects).collect()
    }

    /// The wipe's split for a click at column `x` in `area` (the panel), assuming a square
    /// probe drawn centred in cells twice as tall as wide.
    pub fn split_at(area: Rect, x: u16) -> u16 {
        let w = area.width.min(area.height.saturating_mul(2)).max(1);
        let left = area.x + (area.width - w) / 2;
        let off = u32::from(x.saturating_sub(left)).min(u32::from(w));
        (off * 1000 / u32::from(w)) as u16
    }

    pub fn term_name(&self) -> Option<String> {
        let t = terms(&self.runs);
        t.get(self.term.min(t.len().saturating_sub(1))).cloned()
    }
}

impl Grid {
    /// The step the candidates are judged at.
    pub fn step(&self) -> Option<u64> {
        common_step(&self.runs)
    }

    pub fn ids(&self) -> Vec<String> {
        self.runs.iter().map(|r| r.id.clone()).collect()
    }
}
