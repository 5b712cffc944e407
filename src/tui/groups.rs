//! Seed groups: runs of one spec that differ only in `train.seed` (their flattened specs, as the
//! poller's `FactsReader` reads them, are equal once [`IGNORED`] is left out). `Groups::find`
//! derives them, with the mean ± spread of each group's latest losses and scores, for the runs
//! table's folded rows; `aggregate` turns the members' smoothed series of one term into the
//! group's mean line and its min–max band for the run view's and the compare view's charts.
//! Pure: `update` calls it when the runs or their facts change.

use super::runs_table::RunFacts;
use crate::store::RunSummary;
use std::collections::{BTreeMap, HashMap};

/// Spec keys left out when comparing runs: the labels (`name`, `description`), the seed, and
/// where and how a run keeps its files rather than what it learns (the device the launcher
/// picked, the CPU threads, checkpoint cadence and count, the TensorBoard mirror). Everything
/// else must be equal, `train.steps`, `train.max_minutes`, the log and sample intervals (the
/// steps the band lines up) and `features.seed` included: a run with another budget or another
/// random feature net is another experiment.
pub const IGNORED: &[&str] = &[
    "name",
    "description",
    "train.seed",
    "train.device",
    "train.threads",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.tensorboard",
];

/// A chart series: `(x, y)` points.
pub type Series = Vec<(f64, f64)>;

/// Mean and sample standard deviation of a few values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub sd: f64,
    pub n: usize,
}

impl Spread {
    /// Over the finite values; None when there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let v: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Spread { mean, sd, n })
    }

    /// `2.41±0.03` (losses as the table writes them).
    pub fn label(&self) -> String {
        format!(
            "{}±{}",
            crate::numbers::format_loss(self.mean),
            crate::numbers::format_loss(self.sd)
        )
    }
}

/// One group: two or more runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group {
    /// The members' experiment (`RunSummary::spec`).
    pub spec: String,
    /// Run ids in the scan's order (newest first).
    pub members: Vec<String>,
    /// Each member's `train.seed`, in the same order.
    pub seeds: Vec<String>,
    /// Mean ± sd over the members of each latest loss (`g_total`, `d_total`) and of each
    /// score of the latest scored step.
    pub stats: BTreeMap<String, Spread>,
}

/// Every group of a runs scan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Groups {
    pub list: Vec<Group>,
    index: HashMap<String, usize>,
}

/// What a run's spec must share with the others of its group (None: no spec read).
fn key(config: &BTreeMap<String, String>) -> Option<String> {
    if config.is_empty() {
        return None;
    }
    let mut k = String::new();
    for (name, value) in config
        .iter()
        .filter(|(n, _)| !IGNORED.contains(&n.as_str()))
    {
        k.push_str(name);
        k.push('=');
        k.push_str(value);
        k.push('\n');
    }
    Some(k)
}

impl Groups {
    /// The groups among `runs` (in their order), from the facts the poller read.
    pub fn find(runs: &[RunSummary], facts: &BTreeMap<String, RunFacts>) -> Groups {
        let mut by_key: Vec<(String, Vec<&RunSummary>)> = Vec::new();
        for r in runs {
            let Some(k) = facts.get(&r.id).and_then(|f| key(&f.config)) else {
                continue;
            };
            match by_key.iter_mut().find(|(key, _)| *key == k) {
                Some((_, members)) => members.push(r),
                None => by_key.push((k, vec![r])),
            }
        }
        let mut out = Groups::default();
        for (_, members) in by_key.into_iter().filter(|(_, m)| m.len() >= 2) {
            let fact = |r: &RunSummary| facts.get(&r.id);
            let mut stats = BTreeMap::new();
            for term in ["g_total", "d_total"] {
                let v = members
                    .iter()
                    .filter_map(|r| r.last.as_ref()?.losses.get(term).copied());
                if let Some(s) = Spread::of(v) {
                    stats.insert(term.to_string(), s);
                }
            }
            let score_keys: std::collections::BTreeSet<&String> = members
                .iter()
                .filter_map(|r| fact(r))
                .flat_map(|f| f.scores.keys())
                .collect();
            for k in score_keys {
                let v = members
                    .iter()
                    .filter_map(|r| fact(r)?.scores.get(k).copied());
                if let Some(s) = Spread::of(v) {
                    stats.insert(k.clone(), s);
                }
            }
            let i = out.list.len();
            for r in &members {
                out.index.insert(r.id.clone(), i);
            }
            out.list.push(Group {
                spec: members[0].spec.clone(),
                members: members.iter().map(|r| r.id.clone()).collect(),
                seeds: members
                    .iter()
                    .map(|r| {
                        fact(r)
                            .and_then(|f| f.config.get("train.seed").cloned())
                            .unwrap_or_else(|| "?".into())
                    })
                    .collect(),
                stats,
            });
        }
        out
    }

    /// The index of a run's group.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// A run's group.
    pub fn of(&self, id: &str) -> Option<&Group> {
        self.index_of(id).and_then(|i| self.list.get(i))
    }
}

/// The members' series of one term, each point `(step, x, y)` sorted by step, as the group's
/// mean line `(mean x, mean y)` and its band: `(x, min)` and `(x, max)` at each step, which a
/// line drawn through them fills. Only steps every member has are used (a member that is
/// behind ends the band at its step), so the mean is always over the whole group; a step a
/// member logged twice counts once (its last value).
pub fn aggregate(members: &[Vec<(u64, f64, f64)>]) -> (Series, Series) {
    let mut at: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    for m in members {
        let own: BTreeMap<u64, (f64, f64)> = m
            .iter()
            .filter(|p| p.1.is_finite() && p.2.is_finite())
            .map(|&(step, x, y)| (step, (x, y)))
            .collect();
        for (step, p) in own {
            at.entry(step).or_default().push(p);
        }
    }
    let mut mean = Vec::new();
    let mut band = Vec::new();
    for points in at.values().filter(|p| p.len() == members.len()) {
        let n = points.len() as f64;
        let x = points.iter().map(|p| p.0).sum::<f64>() / n;
        let y = points.iter().map(|p| p.1).sum::<f64>() / n;
        let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        mean.push((x, y));
        band.extend([(x, lo), (x, hi)]);
    }
    (mean, band)
}

/// A series smoothed by the chart's EMA, its steps kept: `(step, x, y)`.
pub fn smooth(points: &[(u64, f64, f64)], weight: f64) -> Vec<(u64, f64, f64)> {
    let xy: Vec<(f64, f64)> = points.iter().map(|p| (p.1, p.2)).collect();
    super::series::ema_debiased(&xy, weight)
        .into_iter()
        .zip(points)
        .map(|((x, y), p)| (p.0, x, y))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(seed: u64, lr: &str) -> RunFacts {
        let mut config = BTreeMap::new();
        for (k, v) in [
            ("name", "\"quickstart\"".to_string()),
            ("train.seed", seed.to_string()),
            ("train.device", format!("\"cuda:{seed}\"")),
            ("optim.lr", lr.to_string()),
        ] {
            config.insert(k.to_string(), v);
        }
        let mut scores = BTreeMap::new();
        scores.insert("texture_gain".to_string(), 0.1 * seed as f64);
        RunFacts { config, scores }
    }

    fn run(id: &str, g: f64) -> RunSummary {
        let mut losses = BTreeMap::new();
        losses.insert("g_total".to_string(), g);
        RunSummary {
            id: id.into(),
            spec: "quickstart".into(),
            last: Some(crate::run_dir::MetricRow {
                step: 10,
                time: 0.0,
                lr_g: 1e-3,
                lr_d: 1e-3,
                images_per_s: 1.0,
                losses,
            }),
            dir: id.into(),
            name: "quickstart".into(),
            mode: "single_style".into(),
            state: crate::store::Liveness::Unknown,
            step: 10,
            total_steps: 10,
            images_per_s: None,
            eta_secs: None,
            message: None,
            spark_g: Vec::new(),
            spark_d: Vec::new(),
            updated: 0.0,
            study: None,
            parent: None,
            created: 0.0,
            pid: None,
            device: String::new(),
            job: None,
        }
    }

    #[test]
    fn runs_differing_only_in_the_seed_group() {
        let runs = [run("d", 9.0), run("c", 3.0), run("b", 2.0), run("a", 1.0)];
        let f: BTreeMap<String, RunFacts> = [
            ("a", facts(1, "1e-3")),
            ("b", facts(2, "1e-3")),
            ("c", facts(3, "1e-3")),
            ("d", facts(4, "3e-3")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let g = Groups::find(&runs, &f);
        assert_eq!(g.list.len(), 1, "d has another learning rate: alone");
        let group = &g.list[0];
        assert_eq!(group.members, ["c", "b", "a"]);
        assert_eq!(group.seeds, ["3", "2", "1"]);
        assert_eq!(g.index_of("a"), Some(0));
        assert!(g.of("d").is_none());
        let s = group.stats["g_total"];
        assert_eq!((s.mean, s.sd, s.n), (2.0, 1.0, 3));
        let t = group.stats["texture_gain"];
        assert!((t.mean - 0.2).abs() < 1e-12);
        // A run without a readable spec joins nothing.
        let mut f2 = f.clone();
        f2.insert("c".into(), RunFacts::default());
        assert_eq!(Groups::find(&runs, &f2).list[0].members, ["b", "a"]);
    }

    #[test]
    fn the_band_spans_the_members_at_steps_all_have() {
        let a = vec![(0, 0.0, 1.0), (10, 10.0, 3.0), (20, 20.0, 5.0)];
        let b = vec![(0, 0.0, 3.0), (10, 10.0, 7.0), (10, 10.0, 1.0)];
        let (mean, band) = aggregate(&[a, b]);
        assert_eq!(mean, [(0.0, 2.0), (10.0, 2.0)]);
        assert_eq!(band, [(0.0, 1.0), (0.0, 3.0), (10.0, 1.0), (10.0, 3.0)]);
        assert_eq!(aggregate(&[]), (vec![], vec![]));
        let s = smooth(&[(0, 0.0, 1.0), (5, 0.5, f64::NAN), (7, 0.7, 3.0)], 0.0);
        assert_eq!(s[2], (7, 0.7, 3.0));
        assert_eq!(s[1].0, 5);
        assert_eq!(Spread::of([f64::NAN]), None);
        assert_eq!(Spread::of([2.0]).unwrap().sd, 0.0);
    }
}
