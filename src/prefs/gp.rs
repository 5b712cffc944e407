//! Gaussian-process preference model (Chu & Ghahramani 2005): a latent utility `f` over the
//! fitted points of the unit cube with prior `N(0, K)`, `K` a Matérn-5/2 kernel, and a probit
//! likelihood per pairwise preference with a lapse rate, `P(i beats j) = lapse/2 + (1 - lapse)
//! Phi((f_i - f_j) / sqrt(2))` (unit probit noise, so the signal sd sets how sharp judgements
//! are; the lapse keeps one careless answer from dragging the fit), each term's log weighted by
//! the preference's weight. The posterior is the Laplace approximation around the MAP, found by
//! Newton's method in the form `f' = (I + K W)^-1 K (W f + grad)`, which never inverts `K` (so
//! duplicate points are harmless) and factors the well-conditioned `I + K W` by LU; `W` is the
//! likelihood's negative Hessian (clamped positive), a weighted graph Laplacian of the
//! preferences. Length-scale and signal sd maximise the Laplace evidence plus a log-normal
//! hyperprior over small grids. Prediction: `mean(x) = k_x' alpha`,
//! `var(x) = k(x,x) - k_x' (K + W^-1)^-1 k_x` with `(K + W^-1)^-1 = W (I + K W)^-1`.
//! Proposals live in `acquire` and `thompson`.

mod acquire;
mod thompson;

pub use acquire::{Acquisition, Proposal};

use super::linalg::{dot, Lu, Mat};
use super::probit;
use super::Pref;
use std::collections::BTreeMap;

/// Length-scales tried (unit-cube distance).
const LENGTHSCALES: [f64; 7] = [0.1, 0.15, 0.22, 0.33, 0.5, 0.75, 1.1];
/// Prior sds of the latent utility tried, in probit-noise units.
const SIGNAL_SDS: [f64; 3] = [1.0, 2.0, 4.0];
/// Log-normal hyperpriors (median, sd of the log) on the length-scale and the signal sd. The
/// evidence alone cannot be trusted here: a best-of-k study retires each worst candidate for
/// good, so its judgements are always consistent with one total order, and the evidence then
/// favours the shortest length-scale (every point its own free value) with the largest signal.
const LENGTHSCALE_PRIOR: (f64, f64) = (0.3, 0.5);
const SIGNAL_PRIOR: (f64, f64) = (2.0, 0.5);
/// Length-scale and signal sd of a model fitted to no preferences.
const DEFAULT_HYPER: (f64, f64) = (0.33, 2.0);
/// Nugget added to `K`'s diagonal, relative to the signal variance.
const NUGGET: f64 = 1e-6;
const MAX_NEWTON: usize = 50;
/// Probability that a judgement is a lapse (a coin flip) rather than the utility's.
const LAPSE: f64 = 0.1;

/// A fitted preference model.
#[derive(Debug, Clone)]
pub struct PrefGp {
    dim: usize,
    points: Vec<Vec<f64>>,
    /// Preferences merged by (winner, loser): summed weights.
    pairs: Vec<(usize, usize, f64)>,
    lengthscale: f64,
    signal_sd: f64,
    /// Posterior mode at the points.
    f: Vec<f64>,
    /// `K^-1 f`, so `mean(x) = k_x' alpha`.
    alpha: Vec<f64>,
    /// `(K + W^-1)^-1` at the mode, for the posterior covariance.
    m: Mat,
    log_evidence: f64,
}

fn log_hyperprior(l: f64, s: f64) -> f64 {
    let term = |v: f64, (median, sd): (f64, f64)| -0.5 * ((v / median).ln() / sd).powi(2);
    term(l, LENGTHSCALE_PRIOR) + term(s, SIGNAL_PRIOR)
}

/// Matérn-5/2 correlation at distance `r` for length-scale `l`.
fn matern52(r: f64, l: f64) -> f64 {
    let t = 5f64.sqrt() * r / l;
    (1.0 + t + t * t / 3.0) * (-t).exp()
}

/// A point of the cube of dimension `dim`: padded or truncated, NaN to 0.5, clamped.
fn sanitize(x: &[f64], dim: usize) -> Vec<f64> {
    (0..dim)
        .map(|i| match x.get(i) {
            Some(v) if v.is_finite() => v.clamp(0.0, 1.0),
            _ => 0.5,
        })
        .collect()
}

/// The Laplace approximation for one setting of the hyperparameters.
struct Laplace {
    lengthscale: f64,
    signal_sd: f64,
    f: Vec<f64>,
    alpha: Vec<f64>,
    log_evidence: f64,
    /// `I + K W` at the mode, and the weights `c` of `W`'s terms.
    a: Mat,
    c: Vec<f64>,
}

impl PrefGp {
    /// Fit the latent utility over `points` (each in [0,1]^d; the first point's length sets d,
    /// others are padded/truncated, non-finite coordinates read as 0.5) from `prefs` between them
    /// by index. Preferences naming a missing point, a point against itself, or with a
    /// non-finite or non-positive weight are ignored.
    pub fn fit(points: &[Vec<f64>], prefs: &[Pref]) -> PrefGp {
        let dim = points.first().map_or(0, |p| p.len());
        let points: Vec<Vec<f64>> = points.iter().map(|p| sanitize(p, dim)).collect();
        let n = points.len();
        let mut merged: BTreeMap<(usize, usize), f64> = BTreeMap::new();
        for p in prefs {
            if p.usable(n) {
                *merged.entry((p.winner, p.loser)).or_default() += p.weight;
            }
        }
        let pairs: Vec<(usize, usize, f64)> =
            merged.into_iter().map(|((w, l), c)| (w, l, c)).collect();
        let mut model = PrefGp {
            dim,
            points,
            pairs,
            lengthscale: DEFAULT_HYPER.0,
            signal_sd: DEFAULT_HYPER.1,
            f: vec![0.0; n],
            alpha: vec![0.0; n],
            m: Mat::zeros(n),
            log_evidence: 0.0,
        };
        if model.pairs.is_empty() {
            return model;
        }
        if let Some(fit) = model.search_hyper() {
            model.lengthscale = fit.lengthscale;
            model.signal_sd = fit.signal_sd;
            model.m = posterior_precision(&fit, &model.pairs);
            model.f = fit.f;
            model.alpha = fit.alpha;
            model.log_evidence = fit.log_evidence;
        }
        model
    }

    /// The hyperparameters of highest Laplace evidence plus log hyperprior, by coordinate
    /// search on the grids: every length-scale at the prior's signal sd, then every signal sd at
    /// the best length-scale, then the length-scale's grid neighbours at the best signal sd
    /// (at most 12 fits instead of 21, each Newton run warm-started from the previous mode).
    fn search_hyper(&self) -> Option<Laplace> {
        let mut best: Option<(f64, Laplace)> = None;
        let mut warm: Option<Vec<f64>> = None;
        let mut tried: Vec<(usize, usize)> = Vec::new();
        let mut visit = |li: usize, si: usize, best: &mut Option<(f64, Laplace)>| {
            if tried.contains(&(li, si)) {
                return;
            }
            tried.push((li, si));
            let (l, s) = (LENGTHSCALES[li], SIGNAL_SDS[si]);
            if let Some(fit) = laplace(
                &self.gram(l, s),
                &self.pairs,
                LAPSE,
                warm.as_deref(),
                (l, s),
            ) {
                warm = Some(fit.alpha.clone());
                let score = fit.log_evidence + log_hyperprior(l, s);
                if best.as_ref().is_none_or(|b| score > b.0) {
                    *best = Some((score, fit));
                }
            }
        };
        let index = |grid: &[f64], v: f64| grid.iter().position(|&g| g == v).unwrap_or(0);
        let s0 = index(&SIGNAL_SDS, SIGNAL_PRIOR.0);
        for li in 0..LENGTHSCALES.len() {
            visit(li, s0, &mut best);
        }
        let l1 = index(&LENGTHSCALES, best.as_ref()?.1.lengthscale);
        for si in 0..SIGNAL_SDS.len() {
            visit(l1, si, &mut best);
        }
        let s1 = index(&SIGNAL_SDS, best.as_ref()?.1.signal_sd);
        for li in [l1.saturating_sub(1), (l1 + 1).min(LENGTHSCALES.len() - 1)] {
            visit(li, s1, &mut best);
        }
        best.map(|b| b.1)
    }

    /// `K` over the fitted points, with the nugget.
    fn gram(&self, l: f64, s: f64) -> Mat {
        let n = self.points.len();
        let s2 = s * s;
        let mut k = Mat::zeros(n);
        for i in 0..n {
            k.set(i, i, s2 * (1.0 + NUGGET));
            for j in 0..i {
                let r = super::dist2(&self.points[i], &self.points[j]).sqrt();
                let v = s2 * matern52(r, l);
                k.set(i, j, v);
                k.set(j, i, v);
            }
        }
        k
    }

    /// Prior covariances between `x` (already sanitised) and the fitted points.
    fn k_vec(&self, x: &[f64]) -> Vec<f64> {
        let s2 = self.signal_sd * self.signal_sd;
        self.points
            .iter()
            .map(|p| s2 * matern52(super::dist2(p, x).sqrt(), self.lengthscale))
            .collect()
    }

    /// Posterior mean and sd of f(x).
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        let x = sanitize(x, self.dim);
        let k = self.k_vec(&x);
        let mean = dot(&k, &self.alpha);
        let var = self.signal_sd * self.signal_sd - dot(&k, &self.m.mul_vec(&k));
        finite_pair(mean, var.max(1e-12).sqrt())
    }

    /// Posterior mean at each fitted point (the Laplace mode).
    pub fn means(&self) -> Vec<f64> {
        self.f.clone()
    }

    /// The fitted point with the highest posterior mean (the first among equals).
    pub fn best(&self) -> Option<usize> {
        (0..self.f.len()).reduce(|b, i| if self.f[i] > self.f[b] { i } else { b })
    }

    pub fn lengthscale(&self) -> f64 {
        self.lengthscale
    }

    /// Prior sd of the latent utility chosen with the length-scale.
    pub fn signal_sd(&self) -> f64 {
        self.signal_sd
    }

    /// Laplace approximation of the log marginal likelihood at the chosen hyperparameters
    /// (0 with no preferences).
    pub fn log_evidence(&self) -> f64 {
        self.log_evidence
    }

    /// Dimension of the cube.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The fitted points (sanitised).
    pub fn points(&self) -> &[Vec<f64>] {
        &self.points
    }

    /// Whether any preference informs the model.
    pub fn has_data(&self) -> bool {
        !self.pairs.is_empty()
    }
}

fn finite_pair(mean: f64, sd: f64) -> (f64, f64) {
    (
        if mean.is_finite() { mean } else { 0.0 },
        if sd.is_finite() { sd } else { 1.0 },
    )
}

/// Probit-with-lapse terms at `f`: log-likelihood, gradient, and `W`'s weight per pair. Per
/// pair `p = lapse/2 + (1 - lapse) Phi(z)`, `z = (f_i - f_j)/sqrt(2)`; with `g = d ln p/dz`,
/// `-d2 ln p/dz2 = g (z + g)`, which goes negative far below zero when `lapse > 0` (the
/// likelihood flattens out there): it is clamped at 0, so `W` stays positive semi-definite and
/// Newton's direction an ascent direction.
fn likelihood(f: &[f64], pairs: &[(usize, usize, f64)], lapse: f64) -> (f64, Vec<f64>, Vec<f64>) {
    let mut ll = 0.0;
    let mut g = vec![0.0; f.len()];
    let mut c = Vec::with_capacity(pairs.len());
    let inv = std::f64::consts::FRAC_1_SQRT_2;
    let (ln_floor, ln_keep) = ((0.5 * lapse).ln(), (1.0 - lapse).ln());
    for &(i, j, w) in pairs {
        let z = (f[i] - f[j]) * inv;
        let (lp, r) = if lapse > 0.0 {
            let b = ln_keep + probit::log_cdf(z);
            let (hi, lo) = if b > ln_floor {
                (b, ln_floor)
            } else {
                (ln_floor, b)
            };
            let lp = hi + (lo - hi).exp().ln_1p();
            (lp, (ln_keep + probit::log_pdf(z) - lp).exp())
        } else {
            (probit::log_cdf(z), probit::mills(z))
        };
        ll += w * lp;
        g[i] += w * r * inv;
        g[j] -= w * r * inv;
        // The chain rule brings 1/2.
        c.push(w * 0.5 * (r * (z + r)).clamp(0.0, 1.0));
    }
    (ll, g, c)
}

/// `W v` for `W = sum c (e_i - e_j)(e_i - e_j)'`.
fn w_mul(pairs: &[(usize, usize, f64)], c: &[f64], v: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; v.len()];
    for (&(i, j, _), &c) in pairs.iter().zip(c) {
        let d = c * (v[i] - v[j]);
        out[i] += d;
        out[j] -= d;
    }
    out
}

/// `I + K W`.
fn i_plus_kw(k: &Mat, pairs: &[(usize, usize, f64)], c: &[f64]) -> Mat {
    let n = k.n;
    let mut a = Mat::identity(n);
    for (&(i, j, _), &c) in pairs.iter().zip(c) {
        for r in 0..n {
            let d = c * (k.get(r, i) - k.get(r, j));
            a.add(r, i, d);
            a.add(r, j, -d);
        }
    }
    a
}

/// Newton's method for the mode, from `alpha = 0` or from a warm `alpha` (whichever has the
/// higher objective), with step halving; then the Laplace evidence at the mode.
fn laplace(
    k: &Mat,
    pairs: &[(usize, usize, f64)],
    lapse: f64,
    warm: Option<&[f64]>,
    (lengthscale, signal_sd): (f64, f64),
) -> Option<Laplace> {
    let n = k.n;
    let objective = |f: &[f64], a: &[f64]| likelihood(f, pairs, lapse).0 - 0.5 * dot(f, a);
    let mut alpha = vec![0.0; n];
    let mut f = vec![0.0; n];
    let mut psi = objective(&f, &alpha);
    if let Some(w) = warm.filter(|w| w.len() == n) {
        let fw = k.mul_vec(w);
        let pw = objective(&fw, w);
        if pw.is_finite() && pw > psi {
            (alpha, f, psi) = (w.to_vec(), fw, pw);
        }
    }
    for _ in 0..MAX_NEWTON {
        let (_, g, c) = likelihood(&f, pairs, lapse);
        let wf = w_mul(pairs, &c, &f);
        let b: Vec<f64> = wf.iter().zip(&g).map(|(x, y)| x + y).collect();
        let lu = Lu::new(&i_plus_kw(k, pairs, &c))?;
        let f_new = lu.solve(&k.mul_vec(&b));
        let wfn = w_mul(pairs, &c, &f_new);
        let a_new: Vec<f64> = b.iter().zip(&wfn).map(|(x, y)| x - y).collect();
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..20 {
            let ft: Vec<f64> = f.iter().zip(&f_new).map(|(x, y)| x + t * (y - x)).collect();
            let at: Vec<f64> = alpha
                .iter()
                .zip(&a_new)
                .map(|(x, y)| x + t * (y - x))
                .collect();
            let p = objective(&ft, &at);
            if p.is_finite() && p >= psi - 1e-12 * psi.abs() {
                let gain = p - psi;
                (f, alpha, psi) = (ft, at, p);
                accepted = gain > 1e-7 * (1.0 + psi.abs());
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    let (ll, _, c) = likelihood(&f, pairs, lapse);
    let a = i_plus_kw(k, pairs, &c);
    let (log_det, sign) = Lu::new(&a)?.log_abs_det();
    let log_evidence = ll - 0.5 * dot(&f, &alpha) - 0.5 * log_det;
    if sign <= 0.0 || !log_evidence.is_finite() || f.iter().chain(&alpha).any(|v| !v.is_finite()) {
        return None;
    }
    Some(Laplace {
        lengthscale,
        signal_sd,
        f,
        alpha,
        log_evidence,
        a,
        c,
    })
}

/// `(K + W^-1)^-1 = W (I + K W)^-1`, symmetrised; zero if `I + K W` does not factor.
fn posterior_precision(fit: &Laplace, pairs: &[(usize, usize, f64)]) -> Mat {
    let n = fit.a.n;
    let Some(lu) = Lu::new(&fit.a) else {
        return Mat::zeros(n);
    };
    let inv = lu.inverse();
    let mut m = Mat::zeros(n);
    for (&(i, j, _), &c) in pairs.iter().zip(&fit.c) {
        for col in 0..n {
            let d = c * (inv.get(i, col) - inv.get(j, col));
            m.add(i, col, d);
            m.add(j, col, -d);
        }
    }
    for i in 0..n {
        for j in 0..i {
            let v = 0.5 * (m.get(i, j) + m.get(j, i));
            m.set(i, j, v);
            m.set(j, i, v);
        }
    }
    if m.a.iter().any(|v| !v.is_finite()) {
        return Mat::zeros(n);
    }
    m
}

#[cfg(test)]
mod tests;
