//! Chart data derived from the open run's metrics: per group (generator, discriminator,
//! auxiliary terms), each term's raw series as a decimated ghost and its debiased-EMA smoothing,
//! with the axes' bounds. Computed by `update` when the metrics, the chart options or the screen
//! size change, so drawing a frame only places points (50,000 rows would cost ~30 ms a frame).

use super::app::{ChartOpts, RunView};
use super::{layout, series};
use crate::terms::{Group, Term};

/// One quality score, averaged over the probe set at each sample step (x = step; the scores
/// have no wall time). Three terms, so the legend fits a quarter of the column; the colour-only
/// baseline is in the status pane.
fn score_series(run: &RunView, term: Term) -> Vec<(f64, f64)> {
    let mut by_step: std::collections::BTreeMap<u64, (f64, usize)> = Default::default();
    for s in &run.scores {
        let Some(v) = score(s, term) else { continue };
        if v.is_finite() {
            let e = by_step.entry(s.step).or_default();
            e.0 += v;
            e.1 += 1;
        }
    }
    by_step
        .into_iter()
        .map(|(step, (sum, n))| (step as f64, clamp(sum / n as f64)))
        .collect()
}

/// A quality term's value in a scores line (None for the loss terms).
fn score(s: &crate::run_dir::ScoreRecord, term: Term) -> Option<f64> {
    match term {
        Term::TextureGain => Some(s.texture_gain),
        Term::StyleGain => Some(s.style_gain),
        Term::Ssim => Some(s.ssim),
        _ => None,
    }
}

/// One term of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub term: Term,
    /// Position of the term in its group (its colour).
    pub index: usize,
    /// Raw values, decimated (min and max per bucket).
    pub ghost: Vec<(f64, f64)>,
    /// Debiased EMA of the raw values, decimated.
    pub smooth: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    pub group: Group,
    /// Values are log10 of the losses.
    pub log: bool,
    pub lines: Vec<Line>,
    pub x: (f64, f64),
    pub y: (f64, f64),
    /// Seed-group members averaged (the band on, `peers` given); 0: the run alone.
    pub members: usize,
}

/// x of a metrics row: its step, or hours since the first row.
pub fn x_of(run: &RunView, i: usize, x_time: bool) -> Option<f64> {
    let t0 = run.metrics.first()?.time;
    run.metrics.get(i).map(|m| row_x(m, t0, x_time))
}

/// x of a metrics row whose run started at `t0`: its step, or hours since `t0`.
fn row_x(m: &crate::run_dir::MetricRow, t0: f64, x_time: bool) -> f64 {
    if x_time {
        (m.time - t0) / 3600.0
    } else {
        m.step as f64
    }
}

/// Largest magnitude a chart value may have. ratatui's canvas maps a point with
/// `(top - y) * resolution / height`; at ~1e308 the product overflows to infinity, the cast
/// saturates to usize::MAX and the line drawing never ends. A diverging loss still shows as a
/// spike to the top.
const CHART_MAX: f64 = 1e30;

fn clamp(v: f64) -> f64 {
    if v.is_finite() {
        v.clamp(-CHART_MAX, CHART_MAX)
    } else {
        v
    }
}

/// One run's series of a term as `(step, x, y)`, log10 when asked (the band's input; x is the
/// step or hours since that run's own first row).
fn points(
    run: &RunView,
    term: Term,
    quality: bool,
    opts: &ChartOpts,
    log: bool,
) -> Vec<(u64, f64, f64)> {
    let t0 = run.metrics.first().map_or(0.0, |m| m.time);
    let raw: Vec<(u64, f64, f64)> = if quality {
        score_series(run, term)
            .into_iter()
            .map(|(x, y)| (x as u64, x, y))
            .collect()
    } else {
        run.metrics
            .iter()
            .filter_map(|m| {
                let x = row_x(m, t0, opts.x_time);
                m.losses.get(term.name()).map(|v| (m.step, x, clamp(*v)))
            })
            .collect()
    };
    if log {
        raw.into_iter()
            .filter(|p| p.2 > 0.0 && p.2.is_finite())
            .map(|(s, x, y)| (s, x, y.log10()))
            .collect()
    } else {
        raw
    }
}

/// The open run's charts; with `peers` (the other members of its seed group, band on) each
/// term is the group's mean over its smoothed series, and the ghost is their min–max band.
pub fn compute(
    run: &RunView,
    peers: &[&RunView],
    opts: &ChartOpts,
    size: (u16, u16),
) -> Vec<ChartData> {
    let quality = !run.scores.is_empty();
    let panes = layout::run_panes(size, quality);
    let groups = Group::ALL
        .into_iter()
        .filter(|g| quality || *g != Group::Quality);
    groups
        .zip(panes.charts)
        .map(|(group, pane)| {
            // Auxiliary terms differ by orders of magnitude: always log scale. Scores never.
            let log = (opts.log_y || group == Group::Auxiliary) && group != Group::Quality;
            let buckets = (pane.width as usize).saturating_sub(10).max(10) * 2;
            let mut lines = Vec::new();
            for (index, term) in group.terms().enumerate() {
                if !peers.is_empty() {
                    let members: Vec<Vec<(u64, f64, f64)>> = std::iter::once(run)
                        .chain(peers.iter().copied())
                        .map(|r| {
                            let p = points(r, term, group == Group::Quality, opts, log);
                            super::groups::smooth(&p, opts.smoothing)
                        })
                        .collect();
                    let (mean, band) = super::groups::aggregate(&members);
                    if !mean.is_empty() {
                        lines.push(Line {
                            term,
                            index,
                            ghost: series::decimate_minmax(&band, buckets),
                            smooth: series::decimate_minmax(&mean, buckets),
                        });
                    }
                    continue;
                }
                let raw: Vec<(f64, f64)> = points(run, term, group == Group::Quality, opts, false)
                    .into_iter()
                    .map(|(_, x, y)| (x, y))
                    .collect();
                if raw.is_empty() {
                    continue;
                }
                let raw = if log { series::log10_points(&raw) } else { raw };
                let smooth =
                    series::decimate_minmax(&series::ema_debiased(&raw, opts.smoothing), buckets);
                lines.push(Line {
                    term,
                    index,
                    ghost: series::decimate_minmax(&raw, buckets),
                    smooth,
                });
            }
            let all: Vec<&[(f64, f64)]> = lines.iter().map(|l| l.ghost.as_slice()).collect();
            let y = series::y_bounds(&all);
            let (lo, hi) = all
                .iter()
                .flat_map(|s| s.iter())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                    (a.min(p.0), b.max(p.0))
                });
            let x = match (lo.is_finite(), hi > lo) {
                (true, true) => (lo, hi),
                // A single logged step: centre it.
                (true, false) => (lo - 1.0, hi + 1.0),
                _ => (0.0, 1.0),
            };
            ChartData {
                group,
                log,
                lines,
                x,
                y,
                members: if peers.is_empty() { 0 } else { peers.len() + 1 },
            }
        })
        .collect()
}
