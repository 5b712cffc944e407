//! Chart data derived from the open run's metrics: per group (generator, discriminator,
//! auxiliary terms), each term's raw series as a decimated ghost and its debiased-EMA smoothing,
//! with the axes' bounds. Computed by `update` when the metrics, the chart options or the screen
//! size change, so drawing a frame only places points (50,000 rows would cost ~30 ms a frame).

use super::app::{ChartOpts, RunView};
use super::{layout, series};

/// Chart groups: title and the loss terms it may hold.
pub const GROUPS: [(&str, &[&str]); 4] = [
    ("generator", &["g_adv", "g_total"]),
    (
        "discriminator",
        &["d_real", "d_fake", "d_total", "d_a", "d_b"],
    ),
    (
        "auxiliary",
        &[
            "content", "style", "swd", "color", "tv", "cycle_a", "cycle_b", "idt_a", "idt_b",
        ],
    ),
    // From samples/scores.jsonl (see `eval`), the mean over the probes at each sample step.
    // Three terms, so the legend fits a quarter of the column; the colour-only baseline is in
    // the status pane.
    ("quality", &["texture_gain", "style_gain", "ssim"]),
];

/// One quality score, averaged over the probe set at each sample step (x = step; the scores
/// have no wall time).
fn score_series(run: &RunView, term: &str) -> Vec<(f64, f64)> {
    let mut by_step: std::collections::BTreeMap<u64, (f64, usize)> = Default::default();
    for s in &run.scores {
        let v = match term {
            "texture_gain" => s.texture_gain,
            "style_gain" => s.style_gain,
            "ssim" => s.ssim,
            _ => continue,
        };
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

/// One term of a chart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    pub term: &'static str,
    /// Position of the term in its group (its colour).
    pub index: usize,
    /// Raw values, decimated (min and max per bucket).
    pub ghost: Vec<(f64, f64)>,
    /// Debiased EMA of the raw values, decimated.
    pub smooth: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartData {
    pub name: &'static str,
    pub terms: &'static [&'static str],
    /// Values are log10 of the losses.
    pub log: bool,
    pub lines: Vec<Line>,
    pub x: (f64, f64),
    pub y: (f64, f64),
}

/// x of a metrics row: its step, or hours since the first row.
pub fn x_of(run: &RunView, i: usize, x_time: bool) -> Option<f64> {
    let m = run.metrics.get(i)?;
    Some(if x_time {
        (m.time - run.metrics.first().map_or(m.time, |f| f.time)) / 3600.0
    } else {
        m.step as f64
    })
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

pub fn compute(run: &RunView, opts: &ChartOpts, size: (u16, u16)) -> Vec<ChartData> {
    let quality = !run.scores.is_empty();
    let panes = layout::run_panes(size, quality);
    let t0 = run.metrics.first().map_or(0.0, |m| m.time);
    let groups = if quality { &GROUPS[..] } else { &GROUPS[..3] };
    groups
        .iter()
        .enumerate()
        .map(|(g, (name, terms))| {
            // Auxiliary terms differ by orders of magnitude: always log scale. Scores never.
            let log = (opts.log_y || g == 2) && g != 3;
            let buckets = (panes.charts[g].width as usize).saturating_sub(10).max(10) * 2;
            let mut lines = Vec::new();
            for (index, term) in terms.iter().enumerate() {
                let raw: Vec<(f64, f64)> = if g == 3 {
                    score_series(run, term)
                } else {
                    run.metrics
                        .iter()
                        .filter_map(|m| {
                            let x = if opts.x_time {
                                (m.time - t0) / 3600.0
                            } else {
                                m.step as f64
                            };
                            m.losses.get(*term).map(|v| (x, clamp(*v)))
                        })
                        .collect()
                };
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
                name,
                terms,
                log,
                lines,
                x,
                y,
            }
        })
        .collect()
}
