//! Where to look next. Two acquisition rules share one candidate search (uniform random points
//! plus Gaussian perturbations of the best fitted points at two scales, those within
//! `min_distance` of a fitted point dropped):
//!
//! - [`Acquisition::Thompson`] (the default of [`PrefGp::propose`]): the candidates' posterior
//!   is sampled jointly and the sample's argmax proposed (see `thompson`).
//! - [`Acquisition::ExpectedImprovement`]: expected improvement over the incumbent (the fitted
//!   point with the highest posterior mean) on the joint posterior of `f(x) - f(best)`: mean
//!   difference and variance `var(x) + var(best) - 2 cov(x, best)`, so a candidate next to the
//!   incumbent is not credited with uncertainty the two share; ranked in log form so it still
//!   orders candidates where it underflows, then refined by an adaptive random-walk climb.
//!
//! The simulated-rater benchmark (docs/preferences.md) is why Thompson sampling is the default:
//! EI kept spending judgements on far corners, where the prior's variance is largest. With no
//! preferences yet either rule proposes the candidate farthest from every fitted point
//! (maximin, space-filling). `top` climbs the posterior mean, for ending a study.

use super::{sanitize, PrefGp};
use crate::prefs::linalg::dot;
use crate::prefs::{dist2, gaussian, probit, uniform};
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// A proposed point of the unit cube and the model's view of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub x: Vec<f64>,
    /// Expected improvement of f(x) over f(best) (0 where it underflows).
    pub ei: f64,
    /// Posterior mean and sd of f(x).
    pub mean: f64,
    pub sd: f64,
}

/// The incumbent's posterior terms, computed once per search.
struct Incumbent {
    x: Vec<f64>,
    mean: f64,
    var: f64,
    /// `M k_best`, so `cov(x, best) = k(x, best) - k_x' M k_best`.
    mk: Vec<f64>,
}

/// How `propose_with` picks among the candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Acquisition {
    /// Argmax of one joint posterior sample over the candidates.
    #[default]
    Thompson,
    /// Maximum expected improvement over the incumbent.
    ExpectedImprovement,
}

/// A candidate's posterior summary.
struct Eval {
    mean: f64,
    sd: f64,
    log_ei: f64,
}

/// Starts of the local climb, and its length.
const CLIMB_STARTS: usize = 4;
const CLIMB_STEPS: usize = 40;
/// Best fitted points whose neighbourhoods are sampled.
const LOCAL_CENTRES: usize = 5;

impl PrefGp {
    fn incumbent(&self) -> Option<Incumbent> {
        let b = self.best()?;
        let x = self.points[b].clone();
        let k = self.k_vec(&x);
        let mk = self.m.mul_vec(&k);
        let var = (self.signal_sd * self.signal_sd - dot(&k, &mk)).max(0.0);
        Some(Incumbent {
            x,
            mean: self.f[b],
            var,
            mk,
        })
    }

    fn mean_at(&self, x: &[f64]) -> f64 {
        let m = dot(&self.k_vec(x), &self.alpha);
        if m.is_finite() {
            m
        } else {
            f64::NEG_INFINITY
        }
    }

    fn eval(&self, x: &[f64], inc: Option<&Incumbent>) -> Eval {
        let s2 = self.signal_sd * self.signal_sd;
        let k = self.k_vec(x);
        let mean = dot(&k, &self.alpha);
        let mk = self.m.mul_vec(&k);
        let var = (s2 - dot(&k, &mk)).max(1e-12);
        let log_ei = match inc {
            Some(inc) => {
                let cov = s2 * super::matern52(dist2(x, &inc.x).sqrt(), self.lengthscale)
                    - dot(&k, &inc.mk);
                let sd_d = (var + inc.var - 2.0 * cov).max(1e-12).sqrt();
                let mu_d = mean - inc.mean;
                sd_d.ln() + probit::log_ei_factor(mu_d / sd_d)
            }
            None => var.sqrt().ln() + probit::log_ei_factor(0.0),
        };
        let (mean, sd) = super::finite_pair(mean, var.sqrt());
        Eval {
            mean,
            sd,
            log_ei: if log_ei.is_finite() {
                log_ei
            } else {
                f64::NEG_INFINITY
            },
        }
    }

    fn proposal(&self, x: Vec<f64>, inc: Option<&Incumbent>) -> Proposal {
        let e = self.eval(&x, inc);
        let ei = e.log_ei.exp();
        Proposal {
            x,
            ei: if ei.is_finite() { ei } else { 0.0 },
            mean: e.mean,
            sd: e.sd,
        }
    }

    /// Squared distance from `x` to the nearest fitted point (infinite with none).
    fn nearest2(&self, x: &[f64]) -> f64 {
        self.points
            .iter()
            .map(|p| dist2(p, x))
            .fold(f64::INFINITY, f64::min)
    }

    fn random_point(&self, rng: &mut Rng) -> Vec<f64> {
        (0..self.dim).map(|_| uniform(rng)).collect()
    }

    /// Uniform candidates plus perturbations of the best fitted points at two scales.
    fn candidates(&self, rng: &mut Rng) -> Vec<Vec<f64>> {
        let mut out: Vec<Vec<f64>> = (0..256 + 64 * self.dim)
            .map(|_| self.random_point(rng))
            .collect();
        if self.has_data() {
            let mut order: Vec<usize> = (0..self.points.len()).collect();
            order.sort_by(|&a, &b| self.f[b].total_cmp(&self.f[a]));
            for &c in order.iter().take(LOCAL_CENTRES) {
                for scale in [0.5, 0.15] {
                    let sd = (scale * self.lengthscale).clamp(0.01, 0.3);
                    for _ in 0..16 {
                        out.push(self.perturb(&self.points[c], sd, rng));
                    }
                }
            }
        }
        out
    }

    fn perturb(&self, x: &[f64], sd: f64, rng: &mut Rng) -> Vec<f64> {
        x.iter()
            .map(|v| (v + sd * gaussian(rng)).clamp(0.0, 1.0))
            .collect()
    }

    /// Best-first climb of `score` from the `CLIMB_STARTS` best scored candidates, keeping to
    /// `feasible` points; returns the best point found.
    fn climb(
        &self,
        mut scored: Vec<(f64, Vec<f64>)>,
        score: impl Fn(&[f64]) -> f64,
        feasible: impl Fn(&[f64]) -> bool,
        rng: &mut Rng,
    ) -> Option<Vec<f64>> {
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut best: Option<(f64, Vec<f64>)> = scored.first().cloned();
        for (s0, x0) in scored.into_iter().take(CLIMB_STARTS) {
            let (mut s, mut x) = (s0, x0);
            let mut step = (0.25 * self.lengthscale).clamp(0.01, 0.2);
            for _ in 0..CLIMB_STEPS {
                let cand = self.perturb(&x, step, rng);
                let sc = score(&cand);
                if sc > s && feasible(&cand) {
                    (s, x) = (sc, cand);
                    step = (step * 1.5).min(0.3);
                } else {
                    step = (step * 0.8).max(1e-4);
                }
            }
            if best.as_ref().is_none_or(|b| s > b.0) {
                best = Some((s, x));
            }
        }
        best.map(|b| b.1)
    }

    /// Next candidate, by Thompson sampling (see [`Acquisition`]), at least `min_distance`
    /// (Euclidean, unit cube) from every fitted point. `None` only if every candidate was too
    /// close. With no fitted points the dimension is unknown and the proposal's `x` is empty.
    pub fn propose(&self, rng: &mut Rng, min_distance: f64) -> Option<Proposal> {
        self.propose_with(rng, min_distance, Acquisition::default())
    }

    /// Next candidate by the given rule; maximin when there are no preferences.
    pub fn propose_with(
        &self,
        rng: &mut Rng,
        min_distance: f64,
        rule: Acquisition,
    ) -> Option<Proposal> {
        let md2 = if min_distance.is_finite() {
            min_distance.max(0.0).powi(2)
        } else {
            0.0
        };
        let feasible = |x: &[f64]| self.nearest2(x) >= md2;
        let cands: Vec<Vec<f64>> = self
            .candidates(rng)
            .into_iter()
            .filter(|x| feasible(x))
            .collect();
        let inc = self.incumbent();
        let x = if !self.has_data() {
            cands
                .into_iter()
                .max_by(|a, b| self.nearest2(a).total_cmp(&self.nearest2(b)))?
        } else if rule == Acquisition::Thompson {
            self.thompson(cands, rng)?
        } else {
            let score = |x: &[f64]| self.eval(x, inc.as_ref()).log_ei;
            let scored: Vec<(f64, Vec<f64>)> = cands.into_iter().map(|x| (score(&x), x)).collect();
            self.climb(scored, score, feasible, rng)?
        };
        Some(self.proposal(x, inc.as_ref()))
    }

    /// The configuration with the highest posterior mean over the whole cube (the centre when
    /// there are no preferences), for ending a study.
    pub fn top(&self, rng: &mut Rng) -> Proposal {
        let inc = self.incumbent();
        if !self.has_data() {
            return self.proposal(vec![0.5; self.dim], inc.as_ref());
        }
        let mut cands = self.candidates(rng);
        cands.extend(self.points.iter().cloned());
        let score = |x: &[f64]| self.mean_at(x);
        let scored: Vec<(f64, Vec<f64>)> = cands.into_iter().map(|x| (score(&x), x)).collect();
        let x = self
            .climb(scored, score, |_| true, rng)
            .unwrap_or_else(|| vec![0.5; self.dim]);
        self.proposal(sanitize(&x, self.dim), inc.as_ref())
    }
}
