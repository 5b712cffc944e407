//! Preference models for steering: pairwise judgements in, scores and proposals out. A
//! judgement of the dashboard's best-of-k screen ("the worst of these four is C") or a "can't
//! tell" becomes a list of [`Pref`]s between items by index; [`bt`] turns them (and star
//! ratings) into Bradley–Terry strengths for the runs table, [`gp`] into a Gaussian-process
//! utility over a study's hyperparameter [`space`] that proposes the next candidate, and [`sim`]
//! is the simulated rater that benchmarks the loop. Pure math on `f64`: no tensors, no I/O.

pub mod bt;
pub mod gp;
mod linalg;
mod probit;
pub mod sim;
pub mod space;

use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// One pairwise preference between items/points by index: `winner` preferred over `loser`.
/// `weight` multiplies the comparison's log-likelihood: 1 normally; a tie is two `Pref`s of
/// weight 0.5, one each way.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pref {
    pub winner: usize,
    pub loser: usize,
    pub weight: f64,
}

impl Pref {
    /// Whether the models use it among `n` items: both items exist, differ, and the weight is
    /// finite and positive (anything else is ignored, never an error).
    pub fn usable(&self, n: usize) -> bool {
        self.winner < n
            && self.loser < n
            && self.winner != self.loser
            && self.weight.is_finite()
            && self.weight > 0.0
    }
}

/// Expand one best-of-k judgement "the worst of these is `worst`" into pairwise preferences:
/// every other candidate beats `worst` (weight 1). Repeated candidates count once.
pub fn worst_of(candidates: &[usize], worst: usize) -> Vec<Pref> {
    distinct(candidates)
        .into_iter()
        .filter(|&c| c != worst)
        .map(|c| Pref {
            winner: c,
            loser: worst,
            weight: 1.0,
        })
        .collect()
}

/// "Can't tell": a tie between every pair of distinct candidates, weight 0.5 each direction.
pub fn tie(candidates: &[usize]) -> Vec<Pref> {
    let items = distinct(candidates);
    let mut out = Vec::new();
    for (k, &a) in items.iter().enumerate() {
        for &b in &items[k + 1..] {
            out.push(Pref {
                winner: a,
                loser: b,
                weight: 0.5,
            });
            out.push(Pref {
                winner: b,
                loser: a,
                weight: 0.5,
            });
        }
    }
    out
}

/// The candidates in first-seen order, each once.
fn distinct(candidates: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(candidates.len());
    for &c in candidates {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Uniform in [0, 1) with 53 bits (the crate's `Rng::f32` has 24).
fn uniform(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Standard normal in f64 (Box–Muller on two 53-bit uniforms).
fn gaussian(rng: &mut Rng) -> f64 {
    let u1 = uniform(rng).max(1e-300);
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Squared Euclidean distance over the common length of two points.
fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_of_expands_to_every_other_beating_the_worst() {
        let p = worst_of(&[4, 7, 2, 9], 2);
        assert_eq!(p.len(), 3);
        assert!(p.iter().all(|p| p.loser == 2 && p.weight == 1.0));
        let winners: Vec<usize> = p.iter().map(|p| p.winner).collect();
        assert_eq!(winners, vec![4, 7, 9]);
        // A repeated candidate counts once; a worst outside the list still loses to all.
        assert_eq!(worst_of(&[1, 1, 3], 3).len(), 1);
        assert_eq!(worst_of(&[1, 2], 5).len(), 2);
        assert!(worst_of(&[3], 3).is_empty());
    }

    #[test]
    fn tie_is_both_directions_at_half_weight() {
        let p = tie(&[0, 1, 2]);
        assert_eq!(p.len(), 6);
        assert!(p.iter().all(|p| p.weight == 0.5 && p.winner != p.loser));
        for a in 0..3 {
            for b in 0..3 {
                if a != b {
                    let n = p.iter().filter(|p| p.winner == a && p.loser == b).count();
                    assert_eq!(n, 1, "{a} over {b}");
                }
            }
        }
        assert!(tie(&[5, 5]).is_empty());
    }
}
