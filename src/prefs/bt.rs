//! Bradley–Terry strengths for the runs table. Each item gets a score `theta` on the logit
//! scale, `P(a beats b) = sigmoid(theta_a - theta_b)`, fitted as the MAP under a weak Gaussian
//! prior `N(0, PRIOR_SD^2)` (so an undefeated item stays finite) by Newton's method on the
//! concave log-posterior. The sd is the Laplace approximation's (the inverse negative Hessian
//! at the MAP). Comparisons pin only differences, so within a group of items linked by
//! comparisons and carrying no star rating, the sd is conditioned on the group's mean score:
//! otherwise it would keep the prior's uncertainty about the common level, about
//! `PRIOR_SD / sqrt(group size)`, however much data there is.
//!
//! Star ratings are folded in as comparisons against four fixed virtual anchors at scores
//! -1.5, -0.5, 0.5 and 1.5 (thresholds between 1|2, 2|3, 3|4 and 4|5 stars, an ordinal-logit
//! reading of the stars): a rating of `s` stars beats anchor `k` (k = 1..4) with the soft outcome
//! `clamp(s - k, 0, 1)` and loses otherwise, each anchor comparison at weight 0.5, so one rating
//! counts as two comparisons. Three stars is neutral (score 0), five stars beats every anchor.

use super::linalg::{dot, Chol, Mat};
use super::Pref;
use serde::{Deserialize, Serialize};

/// Prior sd of a score, in logits.
pub const PRIOR_SD: f64 = 2.0;
/// Scores of the virtual star anchors.
const ANCHORS: [f64; 4] = [-1.5, -0.5, 0.5, 1.5];
/// Weight of one anchor comparison (four per star rating).
const ANCHOR_WEIGHT: f64 = 0.5;

/// An item's fitted strength.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Strength {
    /// MAP score (logits; 0 = neutral).
    pub score: f64,
    /// Posterior sd of the score (Laplace).
    pub sd: f64,
    /// Total weight of the comparisons involving the item (a star rating counts 2).
    pub comparisons: f64,
}

/// One comparison term of the likelihood: `y` = outcome in [0, 1] for `a` (an item) against
/// `b` (an item, or a fixed anchor score).
struct Term {
    a: usize,
    b: Opponent,
    y: f64,
    w: f64,
}

enum Opponent {
    Item(usize),
    Anchor(f64),
}

fn log_sigmoid(x: f64) -> f64 {
    if x > 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// MAP Bradley–Terry scores of `n` items from pairwise `prefs` and `stars` = (item, stars in
/// 1..=5, clamped). Preferences or stars naming an item `>= n`, self-comparisons and
/// non-finite or non-positive weights are ignored. Items with no data get score 0,
/// sd = [`PRIOR_SD`] and comparisons 0.
pub fn fit(n: usize, prefs: &[Pref], stars: &[(usize, f64)]) -> Vec<Strength> {
    let mut terms = Vec::new();
    let mut comparisons = vec![0.0; n];
    for p in prefs {
        if p.usable(n) {
            terms.push(Term {
                a: p.winner,
                b: Opponent::Item(p.loser),
                y: 1.0,
                w: p.weight,
            });
            comparisons[p.winner] += p.weight;
            comparisons[p.loser] += p.weight;
        }
    }
    for &(item, s) in stars {
        if item < n && s.is_finite() {
            let s = s.clamp(1.0, 5.0);
            for (k, &t) in ANCHORS.iter().enumerate() {
                let y = (s - (k + 1) as f64).clamp(0.0, 1.0);
                terms.push(Term {
                    a: item,
                    b: Opponent::Anchor(t),
                    y,
                    w: ANCHOR_WEIGHT,
                });
            }
            comparisons[item] += ANCHOR_WEIGHT * ANCHORS.len() as f64;
        }
    }
    let theta = newton(n, &terms);
    let h = neg_hessian(n, &terms, &theta);
    let sds = Chol::new(&h).map(|c| {
        let mut diag = c.inverse_diag();
        // Comparisons pin differences only: in a group of items linked by comparisons and
        // without star ratings, the common level is the prior's alone. Condition such a group
        // on its mean score, `Sigma_ii - u_i^2 / (1'u)` with `u = Sigma 1_group` (groups are
        // independent in the posterior), so the sd is about an item's place in its group.
        for group in unanchored_groups(n, &terms) {
            let u = c.solve(&group);
            let total = dot(&group, &u);
            if total > 0.0 {
                for i in (0..n).filter(|&i| group[i] > 0.0) {
                    diag[i] -= u[i] * u[i] / total;
                }
            }
        }
        diag
    });
    (0..n)
        .map(|i| {
            let no_data = comparisons[i] == 0.0;
            let sd = sds.as_ref().map_or(PRIOR_SD, |d| d[i].max(0.0).sqrt());
            Strength {
                score: if no_data || !theta[i].is_finite() {
                    0.0
                } else {
                    theta[i]
                },
                sd: if no_data || !sd.is_finite() {
                    PRIOR_SD
                } else {
                    sd
                },
                comparisons: comparisons[i],
            }
        })
        .collect()
}

/// Indicator vectors of the connected groups of two or more items (linked by pairwise terms)
/// that have no star rating.
fn unanchored_groups(n: usize, terms: &[Term]) -> Vec<Vec<f64>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut anchored = vec![false; n];
    let mut linked = vec![false; n];
    for t in terms {
        match t.b {
            Opponent::Item(j) => {
                let (a, b) = (root(&mut parent, t.a), root(&mut parent, j));
                parent[a] = b;
                linked[t.a] = true;
                linked[j] = true;
            }
            Opponent::Anchor(_) => anchored[t.a] = true,
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in (0..n).filter(|&i| linked[i]) {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups
        .into_values()
        .filter(|g| g.len() >= 2 && !g.iter().any(|&i| anchored[i]))
        .map(|g| {
            let mut v = vec![0.0; n];
            g.iter().for_each(|&i| v[i] = 1.0);
            v
        })
        .collect()
}

fn diff(t: &Term, theta: &[f64]) -> f64 {
    theta[t.a]
        - match t.b {
            Opponent::Item(j) => theta[j],
            Opponent::Anchor(s) => s,
        }
}

fn log_posterior(terms: &[Term], theta: &[f64]) -> f64 {
    let prior: f64 = theta.iter().map(|v| v * v).sum::<f64>() / (2.0 * PRIOR_SD * PRIOR_SD);
    let lik: f64 = terms
        .iter()
        .map(|t| {
            let d = diff(t, theta);
            t.w * (t.y * log_sigmoid(d) + (1.0 - t.y) * log_sigmoid(-d))
        })
        .sum();
    lik - prior
}

fn gradient(n: usize, terms: &[Term], theta: &[f64]) -> Vec<f64> {
    let mut g: Vec<f64> = theta.iter().map(|v| -v / (PRIOR_SD * PRIOR_SD)).collect();
    debug_assert_eq!(g.len(), n);
    for t in terms {
        let r = t.w * (t.y - sigmoid(diff(t, theta)));
        g[t.a] += r;
        if let Opponent::Item(j) = t.b {
            g[j] -= r;
        }
    }
    g
}

fn neg_hessian(n: usize, terms: &[Term], theta: &[f64]) -> Mat {
    let mut h = Mat::identity(n);
    h.a.iter_mut().for_each(|v| *v /= PRIOR_SD * PRIOR_SD);
    for t in terms {
        let p = sigmoid(diff(t, theta));
        let c = t.w * p * (1.0 - p);
        h.add(t.a, t.a, c);
        if let Opponent::Item(j) = t.b {
            h.add(j, j, c);
            h.add(t.a, j, -c);
            h.add(j, t.a, -c);
        }
    }
    h
}

/// Newton's method with step halving on the concave log-posterior, from all scores 0.
fn newton(n: usize, terms: &[Term]) -> Vec<f64> {
    let mut theta = vec![0.0; n];
    if terms.is_empty() {
        return theta;
    }
    let mut obj = log_posterior(terms, &theta);
    for _ in 0..100 {
        let g = gradient(n, terms, &theta);
        let Some(chol) = Chol::new(&neg_hessian(n, terms, &theta)) else {
            break;
        };
        let step = chol.solve(&g);
        let mut t = 1.0;
        let mut improved = false;
        for _ in 0..30 {
            let cand: Vec<f64> = theta.iter().zip(&step).map(|(a, s)| a + t * s).collect();
            let o = log_posterior(terms, &cand);
            if o.is_finite() && o >= obj {
                let gain = o - obj;
                theta = cand;
                obj = o;
                improved = gain > 1e-12 * (1.0 + obj.abs());
                break;
            }
            t *= 0.5;
        }
        if !improved {
            break;
        }
    }
    theta
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn spearman(a: &[f64], b: &[f64]) -> f64 {
        let rank = |v: &[f64]| {
            let mut idx: Vec<usize> = (0..v.len()).collect();
            idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
            let mut r = vec![0.0; v.len()];
            for (k, &i) in idx.iter().enumerate() {
                r[i] = k as f64;
            }
            r
        };
        let (ra, rb) = (rank(a), rank(b));
        let n = a.len() as f64;
        let d2: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - y) * (x - y)).sum();
        1.0 - 6.0 * d2 / (n * (n * n - 1.0))
    }

    fn simulate(truth: &[f64], m: usize, seed: u64) -> Vec<Pref> {
        let mut rng = Rng::new(seed);
        let n = truth.len();
        (0..m)
            .map(|_| {
                let a = rng.below(n);
                let b = (a + 1 + rng.below(n - 1)) % n;
                let p = sigmoid(truth[a] - truth[b]);
                let a_wins = (rng.f32() as f64) < p;
                let (winner, loser) = if a_wins { (a, b) } else { (b, a) };
                Pref {
                    winner,
                    loser,
                    weight: 1.0,
                }
            })
            .collect()
    }

    #[test]
    fn recovers_a_known_ranking_from_noisy_comparisons() {
        let truth = [-1.5, -0.8, -0.2, 0.3, 0.9, 1.6];
        let prefs = simulate(&truth, 300, 7);
        let fit = fit(truth.len(), &prefs, &[]);
        let scores: Vec<f64> = fit.iter().map(|s| s.score).collect();
        assert!(spearman(&scores, &truth) >= 0.94, "{scores:?}");
        assert!(fit
            .iter()
            .all(|s| s.sd > 0.0 && s.sd < 1.0 && s.comparisons > 50.0));
        // Estimates land within about two sds of the (centred) truth.
        let mean: f64 = scores.iter().sum::<f64>() / 6.0;
        for (s, t) in fit.iter().zip(&truth) {
            assert!((s.score - mean - t).abs() < 3.0 * s.sd, "{s:?} vs {t}");
        }
    }

    #[test]
    fn sd_shrinks_with_more_data_and_empty_items_keep_the_prior() {
        let truth = [-1.0, 0.0, 1.0, 0.5];
        let few = fit(5, &simulate(&truth, 20, 3), &[]);
        let many = fit(5, &simulate(&truth, 400, 3), &[]);
        for i in 0..4 {
            assert!(
                many[i].sd < 0.6 * few[i].sd,
                "{i}: {:?} {:?}",
                few[i],
                many[i]
            );
        }
        // Item 4 never appears.
        assert_eq!(many[4].score, 0.0);
        assert!((many[4].sd - PRIOR_SD).abs() < 1e-9);
        assert_eq!(many[4].comparisons, 0.0);
    }

    #[test]
    fn undefeated_items_stay_finite_and_stars_alone_order_items() {
        let prefs: Vec<Pref> = (0..10)
            .map(|_| Pref {
                winner: 0,
                loser: 1,
                weight: 1.0,
            })
            .collect();
        let f = fit(2, &prefs, &[]);
        assert!(f[0].score.is_finite() && f[0].score > 1.0 && f[1].score < -1.0);
        let stars = [(0, 2.0), (1, 5.0), (2, 3.0), (3, 4.0), (4, 1.0), (2, 3.0)];
        let f = fit(5, &[], &stars);
        let order: Vec<f64> = f.iter().map(|s| s.score).collect();
        assert!(
            order[4] < order[0]
                && order[0] < order[2]
                && order[2] < order[3]
                && order[3] < order[1]
        );
        assert!(order[2].abs() < 1e-9, "three stars is neutral");
        assert_eq!(f[2].comparisons, 4.0);
        assert!(f[2].sd < f[0].sd, "two ratings are surer than one");
    }

    #[test]
    fn ignores_bad_input_without_panicking() {
        let prefs = [
            Pref {
                winner: 0,
                loser: 9,
                weight: 1.0,
            },
            Pref {
                winner: 1,
                loser: 1,
                weight: 1.0,
            },
            Pref {
                winner: 0,
                loser: 1,
                weight: f64::NAN,
            },
            Pref {
                winner: 1,
                loser: 0,
                weight: -2.0,
            },
        ];
        let f = fit(2, &prefs, &[(7, 5.0), (0, f64::INFINITY)]);
        assert!(f.iter().all(|s| s.score == 0.0 && s.comparisons == 0.0));
        assert!(fit(0, &prefs, &[]).is_empty());
    }
}
