//! Tests of the GP preference model: direction of a single preference, hyperparameter choice by
//! evidence, a small simulated study, and robustness on degenerate input.

use super::*;
use crate::prefs::{dist2, gaussian, worst_of};
use crate::rng::Rng;

fn finite(p: &Proposal) -> bool {
    p.x.iter().all(|v| (0.0..=1.0).contains(v))
        && p.ei.is_finite()
        && p.ei >= 0.0
        && p.mean.is_finite()
        && p.sd.is_finite()
}

#[test]
fn a_single_preference_raises_the_winner() {
    let points = vec![vec![0.2, 0.5], vec![0.8, 0.5]];
    let gp = PrefGp::fit(
        &points,
        &[Pref {
            winner: 1,
            loser: 0,
            weight: 1.0,
        }],
    );
    let m = gp.means();
    assert!(m[1] > m[0], "{m:?}");
    assert_eq!(gp.best(), Some(1));
    let (mw, sw) = gp.predict(&points[1]);
    let (ml, _) = gp.predict(&points[0]);
    assert!(mw > ml && (mw - m[1]).abs() < 1e-6);
    // Data shrinks the sd at the judged points below the prior's.
    let (_, far) = gp.predict(&[0.5, 0.0]);
    assert!(sw < gp.signal_sd() && far.is_finite());
    assert!(gp.log_evidence().is_finite() && gp.log_evidence() < 0.0);
    // A tie leaves the two level.
    let tie = PrefGp::fit(&points, &crate::prefs::tie(&[0, 1]));
    let t = tie.means();
    assert!((t[0] - t[1]).abs() < 1e-9);
}

/// Noise-free preferences between random pairs of `n` points on a line under `u`.
fn line_prefs(u: impl Fn(f64) -> f64, n: usize, m: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<Pref>) {
    let points: Vec<Vec<f64>> = (0..n).map(|i| vec![i as f64 / (n - 1) as f64]).collect();
    let mut rng = Rng::new(seed);
    let prefs = (0..m)
        .map(|_| {
            let a = rng.below(n);
            let b = (a + 1 + rng.below(n - 1)) % n;
            let (winner, loser) = if u(points[a][0]) > u(points[b][0]) {
                (a, b)
            } else {
                (b, a)
            };
            Pref {
                winner,
                loser,
                weight: 1.0,
            }
        })
        .collect();
    (points, prefs)
}

#[test]
fn evidence_prefers_a_longer_lengthscale_for_a_smooth_utility() {
    let (p, s) = line_prefs(|x| -(x - 0.6) * (x - 0.6), 25, 120, 5);
    let smooth = PrefGp::fit(&p, &s);
    let (p, w) = line_prefs(|x| (x * 6.0 * std::f64::consts::TAU).sin(), 25, 120, 5);
    let wiggly = PrefGp::fit(&p, &w);
    assert!(
        smooth.lengthscale() > 2.0 * wiggly.lengthscale(),
        "smooth {} wiggly {}",
        smooth.lengthscale(),
        wiggly.lengthscale()
    );
    // The smooth fit puts its best point at the optimum of -(x - 0.6)^2.
    let b = smooth.best().unwrap();
    assert!((smooth.points()[b][0] - 0.6).abs() <= 0.05);
}

#[test]
fn a_small_study_finds_the_argmax_in_2d() {
    let target = [0.3, 0.7];
    let u = |x: &[f64]| (-dist2(x, &target) / (2.0 * 0.25 * 0.25)).exp();
    let mut rng = Rng::new(11);
    let mut points: Vec<Vec<f64>> = vec![
        vec![0.1, 0.1],
        vec![0.9, 0.1],
        vec![0.1, 0.9],
        vec![0.9, 0.9],
    ];
    let mut live: Vec<usize> = (0..4).collect();
    let mut prefs = Vec::new();
    let mut gp = PrefGp::fit(&points, &prefs);
    for _ in 0..30 {
        let perceived: Vec<f64> = live
            .iter()
            .map(|&i| u(&points[i]) + 0.05 * gaussian(&mut rng))
            .collect();
        let w = (0..4)
            .reduce(|a, b| if perceived[b] < perceived[a] { b } else { a })
            .unwrap();
        prefs.extend(worst_of(&live, live[w]));
        gp = PrefGp::fit(&points, &prefs);
        let next = gp.propose(&mut rng, 0.05).expect("a feasible candidate");
        assert!(finite(&next));
        points.push(next.x);
        live[w] = points.len() - 1;
    }
    let best = &points[gp.best().unwrap()];
    assert!(dist2(best, &target).sqrt() < 0.12, "{best:?}");
    let top = gp.top(&mut rng);
    assert!(
        finite(&top) && dist2(&top.x, &target).sqrt() < 0.15,
        "{top:?}"
    );
}

#[test]
fn proposals_keep_their_distance_and_fill_space_without_data() {
    let mut rng = Rng::new(2);
    let corners = vec![vec![0.0, 0.0], vec![1.0, 1.0]];
    let gp = PrefGp::fit(&corners, &[]);
    let p = gp.propose(&mut rng, 0.05).unwrap();
    assert!(finite(&p));
    let nearest = corners
        .iter()
        .map(|c| dist2(c, &p.x).sqrt())
        .fold(f64::INFINITY, f64::min);
    assert!(nearest > 0.6, "{p:?}");
    // With data, nothing closer than min_distance; an impossible distance gives None.
    let points = vec![vec![0.2, 0.2], vec![0.5, 0.5], vec![0.8, 0.3]];
    let prefs = worst_of(&[0, 1, 2], 0);
    let gp = PrefGp::fit(&points, &prefs);
    for _ in 0..5 {
        let p = gp.propose(&mut rng, 0.1).unwrap();
        assert!(points.iter().all(|q| dist2(q, &p.x).sqrt() >= 0.1));
    }
    assert!(gp.propose(&mut rng, 2.0).is_none());
}

#[test]
fn degenerate_input_never_gives_nan_or_panics() {
    let mut rng = Rng::new(3);
    // No points at all.
    let gp = PrefGp::fit(&[], &[]);
    assert_eq!(gp.best(), None);
    assert!(gp.means().is_empty());
    let (m, s) = gp.predict(&[0.3]);
    assert!(m.is_finite() && s.is_finite());
    assert!(gp.propose(&mut rng, 0.05).is_some());
    let _ = gp.top(&mut rng);
    // One point, no preferences.
    let gp = PrefGp::fit(&[vec![0.5, 0.5, 0.5]], &[]);
    assert_eq!(gp.best(), Some(0));
    let p = gp.propose(&mut rng, 0.05).unwrap();
    assert!(finite(&p) && p.x.len() == 3);
    // Duplicates with contradictory preferences, bad indices, NaN coordinates and weights.
    let points = vec![
        vec![0.4, 0.4],
        vec![0.4, 0.4],
        vec![0.4, 0.4],
        vec![f64::NAN, 7.0],
        vec![0.1],
    ];
    let mut prefs = worst_of(&[0, 1, 2, 3], 0);
    prefs.extend(worst_of(&[0, 1, 2], 1));
    prefs.push(Pref {
        winner: 9,
        loser: 0,
        weight: 1.0,
    });
    prefs.push(Pref {
        winner: 0,
        loser: 3,
        weight: f64::NAN,
    });
    prefs.push(Pref {
        winner: 4,
        loser: 4,
        weight: 1.0,
    });
    for _ in 0..40 {
        prefs.push(Pref {
            winner: 3,
            loser: 4,
            weight: 1.0,
        });
    }
    let gp = PrefGp::fit(&points, &prefs);
    assert!(gp.means().iter().all(|v| v.is_finite()));
    assert!(gp.log_evidence().is_finite());
    let (m, s) = gp.predict(&[f64::NAN, f64::INFINITY]);
    assert!(m.is_finite() && s.is_finite() && s > 0.0);
    let p = gp.propose(&mut rng, 0.05).unwrap();
    assert!(finite(&p));
    assert!(finite(&gp.top(&mut rng)));
}
