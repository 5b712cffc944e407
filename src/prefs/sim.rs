//! The simulated-rater benchmark of a study. A hidden utility ([`shapes`]) over the unit cube
//! stands in for the user's taste; the rater sees four live candidates (the dashboard's 2x2
//! grid) and names the worst: perceived utility = true utility on [0, 1] + N(0, 0.1), and with
//! probability 0.1 a uniformly random pick instead. The judgement becomes three preferences
//! ([`worst_of`]), the worst candidate is retired and replaced by the next proposal, and the
//! model is refitted. The arms share everything but the replacement: the GP's proposal (Thompson
//! sampling or expected improvement), or a uniform random point. All start from the same
//! space-filling four and all recommend with the same GP recommender (the tried point of highest posterior mean, the GP
//! fitted to that arm's own judgements), so the comparison isolates the proposal strategy.
//! Regret = 1 - utility(recommended).

pub mod shapes;

pub use shapes::Shape;

use super::gp::{Acquisition, PrefGp};
use super::{dist2, gaussian, uniform, worst_of, Pref};
use crate::rng::Rng;
use rayon::prelude::*;

/// Candidates on screen at once.
pub const GRID: usize = 4;
/// Proposals closer than this to a tried point are dropped (as in the dashboard).
pub const MIN_DISTANCE: f64 = 0.05;

/// The simulated user.
#[derive(Debug, Clone, Copy)]
pub struct Rater {
    /// Perception noise sd on the [0, 1] utility.
    pub noise_sd: f64,
    /// Probability of a uniformly random answer.
    pub random_rate: f64,
}

impl Default for Rater {
    fn default() -> Self {
        Rater {
            noise_sd: 0.1,
            random_rate: 0.1,
        }
    }
}

impl Rater {
    /// Index (into `candidates`) of the one judged worst.
    pub fn worst(&self, shape: &Shape, candidates: &[Vec<f64>], rng: &mut Rng) -> usize {
        if uniform(rng) < self.random_rate {
            return rng.below(candidates.len());
        }
        let perceived: Vec<f64> = candidates
            .iter()
            .map(|x| shape.utility(x) + self.noise_sd * gaussian(rng))
            .collect();
        (0..candidates.len())
            .reduce(|w, i| if perceived[i] < perceived[w] { i } else { w })
            .unwrap_or(0)
    }
}

/// How a replacement candidate is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm {
    /// The GP's proposal with the given acquisition rule.
    Gp(Acquisition),
    /// A uniform random point of the cube.
    Random,
}

impl Arm {
    /// The three arms of the benchmark.
    pub const ALL: [Arm; 3] = [
        Arm::Gp(Acquisition::Thompson),
        Arm::Gp(Acquisition::ExpectedImprovement),
        Arm::Random,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Arm::Gp(Acquisition::Thompson) => "GP, Thompson",
            Arm::Gp(Acquisition::ExpectedImprovement) => "GP, EI",
            Arm::Random => "random",
        }
    }
}

/// `k` space-filling points of `[0,1]^dim`: the best of 200 random sets by their smallest
/// pairwise distance (maximin).
pub fn design(dim: usize, k: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    let mut best: (f64, Vec<Vec<f64>>) = (-1.0, Vec::new());
    for _ in 0..200 {
        let set: Vec<Vec<f64>> = (0..k)
            .map(|_| (0..dim).map(|_| uniform(rng)).collect())
            .collect();
        let mut closest = f64::INFINITY;
        for i in 0..k {
            for j in 0..i {
                closest = closest.min(dist2(&set[i], &set[j]));
            }
        }
        if closest > best.0 {
            best = (closest, set);
        }
    }
    best.1
}

/// One simulated study of up to `max(checkpoints)` judgements: the regret of the recommendation
/// after each checkpoint's number of judgements.
pub fn run_study(
    shape: &Shape,
    arm: Arm,
    rater: &Rater,
    seed: u64,
    checkpoints: &[usize],
) -> Vec<f64> {
    let mut design_rng = Rng::stream(seed, &format!("design-{}", shape.name));
    let mut rater_rng = Rng::stream(seed, "rater");
    let mut propose_rng = Rng::stream(seed, "propose");
    let mut points = design(shape.dim, GRID, &mut design_rng);
    let mut live: Vec<usize> = (0..GRID).collect();
    let mut prefs: Vec<Pref> = Vec::new();
    let last = checkpoints.iter().copied().max().unwrap_or(0);
    let mut regrets = vec![f64::NAN; checkpoints.len()];
    for t in 1..=last {
        let shown: Vec<Vec<f64>> = live.iter().map(|&i| points[i].clone()).collect();
        let w = rater.worst(shape, &shown, &mut rater_rng);
        prefs.extend(worst_of(&live, live[w]));
        let at_checkpoint = checkpoints.contains(&t);
        let gp = (arm != Arm::Random || at_checkpoint).then(|| PrefGp::fit(&points, &prefs));
        if let Some(gp) = gp.as_ref().filter(|_| at_checkpoint) {
            let rec = gp.best().unwrap_or(0);
            let regret = 1.0 - shape.utility(&points[rec]);
            for (r, _) in regrets.iter_mut().zip(checkpoints).filter(|(_, &c)| c == t) {
                *r = regret;
            }
        }
        if t == last {
            break;
        }
        let next = match (arm, gp) {
            (Arm::Gp(rule), Some(gp)) => gp
                .propose_with(&mut propose_rng, MIN_DISTANCE, rule)
                .map(|p| p.x),
            _ => None,
        };
        let next =
            next.unwrap_or_else(|| (0..shape.dim).map(|_| uniform(&mut propose_rng)).collect());
        points.push(next);
        live[w] = points.len() - 1;
    }
    regrets
}

/// Regret summary of one (shape, arm, number of judgements) cell over the seeds.
#[derive(Debug, Clone)]
pub struct Row {
    pub shape: &'static str,
    pub arm: Arm,
    pub judgements: usize,
    pub median: f64,
    pub q25: f64,
    pub q75: f64,
    pub mean: f64,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    let j = (i + 1).min(sorted.len() - 1);
    sorted[i] * (1.0 - frac) + sorted[j] * frac
}

/// Name of the rows that pool every 3-D shape's studies.
pub const POOLED_3D: &str = "all 3-D shapes";

/// Every (shape, arm, seed) study in parallel (rayon), summarised per checkpoint: one row per
/// shape, arm and checkpoint, plus rows pooling the 3-D shapes' studies ([`POOLED_3D`]) when
/// there are two or more.
pub fn benchmark(
    shapes: &[Shape],
    arms: &[Arm],
    rater: &Rater,
    seeds: &[u64],
    checkpoints: &[usize],
) -> Vec<Row> {
    let jobs: Vec<(usize, Arm, u64)> = (0..shapes.len())
        .flat_map(|s| {
            arms.iter()
                .flat_map(move |&a| seeds.iter().map(move |&seed| (s, a, seed)))
        })
        .collect();
    let results: Vec<Vec<f64>> = jobs
        .par_iter()
        .map(|&(s, a, seed)| run_study(&shapes[s], a, rater, seed, checkpoints))
        .collect();
    // One group per shape, then the 3-D shapes pooled when there are several.
    let mut groups: Vec<(&'static str, Vec<usize>)> = shapes
        .iter()
        .enumerate()
        .map(|(s, shape)| (shape.name, vec![s]))
        .collect();
    let three_d: Vec<usize> = (0..shapes.len()).filter(|&s| shapes[s].dim == 3).collect();
    if three_d.len() > 1 {
        groups.push((POOLED_3D, three_d));
    }
    let mut rows = Vec::new();
    for (name, members) in &groups {
        for &arm in arms {
            for (c, &n) in checkpoints.iter().enumerate() {
                let mut r: Vec<f64> = jobs
                    .iter()
                    .zip(&results)
                    .filter(|((js, ja, _), _)| members.contains(js) && *ja == arm)
                    .map(|(_, res)| res[c])
                    .collect();
                r.sort_by(f64::total_cmp);
                rows.push(Row {
                    shape: name,
                    arm,
                    judgements: n,
                    median: quantile(&r, 0.5),
                    q25: quantile(&r, 0.25),
                    q75: quantile(&r, 0.75),
                    mean: r.iter().sum::<f64>() / r.len().max(1) as f64,
                });
            }
        }
    }
    rows
}

/// The rows as a markdown table: one line per (shape, arm), one column per checkpoint, each
/// cell "median (q25–q75)".
pub fn markdown(rows: &[Row]) -> String {
    let mut checkpoints: Vec<usize> = rows.iter().map(|r| r.judgements).collect();
    checkpoints.sort_unstable();
    checkpoints.dedup();
    let mut out = String::from("| shape | arm |");
    for n in &checkpoints {
        out.push_str(&format!(" N = {n} |"));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(checkpoints.len()));
    out.push('\n');
    let mut seen: Vec<(&str, Arm)> = Vec::new();
    for r in rows {
        if seen.contains(&(r.shape, r.arm)) {
            continue;
        }
        seen.push((r.shape, r.arm));
        out.push_str(&format!("| {} | {} |", r.shape, r.arm.name()));
        for n in &checkpoints {
            match rows
                .iter()
                .find(|x| x.shape == r.shape && x.arm == r.arm && x.judgements == *n)
            {
                Some(x) => out.push_str(&format!(" {:.3} ({:.3}–{:.3}) |", x.median, x.q25, x.q75)),
                None => out.push_str(" |"),
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rater_picks_the_worst_most_of_the_time() {
        let shape = Shape::bump3();
        let cands = vec![
            shape.argmax.clone(),
            vec![0.0, 1.0, 0.0],
            vec![0.6, 0.3, 0.6],
            vec![0.7, 0.2, 0.5],
        ];
        let mut rng = Rng::new(1);
        let rater = Rater::default();
        let n = 2000;
        let hits = (0..n)
            .filter(|_| rater.worst(&shape, &cands, &mut rng) == 1)
            .count();
        // 90% informed (the corner is far worse) + 10% x 1/4 random.
        let rate = hits as f64 / n as f64;
        assert!((rate - 0.925).abs() < 0.03, "{rate}");
        let d = design(3, 4, &mut rng);
        assert_eq!(d.len(), 4);
        assert!(d
            .iter()
            .all(|p| p.len() == 3 && p.iter().all(|v| (0.0..1.0).contains(v))));
    }

    #[test]
    fn a_short_study_has_the_gp_beat_random() {
        let shape = Shape::bump3();
        let rater = Rater::default();
        let seeds: Vec<u64> = (0..6).collect();
        let gp = Arm::Gp(Acquisition::Thompson);
        let rows = benchmark(&[shape], &[gp, Arm::Random], &rater, &seeds, &[10, 25]);
        assert_eq!(rows.len(), 4);
        assert!(rows
            .iter()
            .all(|r| r.median.is_finite() && (0.0..=1.0).contains(&r.median)));
        let mean = |arm, n| {
            rows.iter()
                .find(|r| r.arm == arm && r.judgements == n)
                .unwrap()
                .mean
        };
        assert!(mean(gp, 25) < mean(Arm::Random, 25), "{}", markdown(&rows));
        assert!(mean(gp, 25) < 0.15, "{}", markdown(&rows));
        assert!(markdown(&rows).contains("| bump-3d | GP, Thompson |"));
    }
}
