//! Thompson sampling over a candidate pool: draw one sample of the latent utility jointly at
//! the candidates from the Laplace posterior, propose the sample's argmax. Each candidate is
//! proposed with about the posterior probability that it is the best of the pool, so
//! exploration follows the model's own uncertainty, including the correlation between nearby
//! candidates that a pointwise rule ignores. The pool is the `POOL` candidates with the highest
//! upper bound `mean + 2 sd`, which keeps the joint sample (a Cholesky factor of the pool's
//! posterior covariance) cheap and leaves out candidates that could not win anyway.

use super::PrefGp;
use crate::prefs::linalg::{dot, Chol, Mat};
use crate::prefs::{dist2, gaussian};
use crate::rng::Rng;

/// Candidates sampled jointly.
const POOL: usize = 120;

struct Candidate {
    x: Vec<f64>,
    mean: f64,
    /// `k_x` and `M k_x`.
    k: Vec<f64>,
    mk: Vec<f64>,
    ucb: f64,
}

impl PrefGp {
    /// The argmax of one joint posterior sample over the best `POOL` of `cands` (by upper
    /// bound); `None` when there are no candidates.
    pub(super) fn thompson(&self, cands: Vec<Vec<f64>>, rng: &mut Rng) -> Option<Vec<f64>> {
        let s2 = self.signal_sd * self.signal_sd;
        let mut pool: Vec<Candidate> = cands
            .into_iter()
            .map(|x| {
                let k = self.k_vec(&x);
                let mk = self.m.mul_vec(&k);
                let mean = dot(&k, &self.alpha);
                let sd = (s2 - dot(&k, &mk)).max(0.0).sqrt();
                let ucb = mean + 2.0 * sd;
                let ucb = if ucb.is_finite() {
                    ucb
                } else {
                    f64::NEG_INFINITY
                };
                Candidate {
                    x,
                    mean,
                    k,
                    mk,
                    ucb,
                }
            })
            .collect();
        pool.sort_by(|a, b| b.ucb.total_cmp(&a.ucb));
        pool.truncate(POOL);
        let first = pool.first()?.x.clone();
        let c = pool.len();
        let mut cov = Mat::zeros(c);
        for i in 0..c {
            for j in 0..=i {
                let prior =
                    s2 * super::matern52(dist2(&pool[i].x, &pool[j].x).sqrt(), self.lengthscale);
                let v = prior - dot(&pool[i].k, &pool[j].mk);
                cov.set(i, j, v);
                cov.set(j, i, v);
            }
        }
        let Some(chol) = Chol::new(&cov) else {
            return Some(first);
        };
        let z: Vec<f64> = (0..c).map(|_| gaussian(rng)).collect();
        let draw = chol.lower_mul(&z);
        (0..c)
            .map(|i| (pool[i].mean + draw[i], i))
            .filter(|(v, _)| v.is_finite())
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, i)| pool[i].x.clone())
            .or(Some(first))
    }
}
