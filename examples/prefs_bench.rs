//! Preference-model benchmark (not a test): the simulated-rater study of `prefs::sim` on three
//! 3-D utilities and one 6-D utility, GP expected-improvement proposals against uniform random
//! replacements with the same best-of-4 screen and the same recommender, then the time of one
//! fit + proposal with 150 judged candidates in 8 dimensions.
//!
//!   cargo run --release --example prefs_bench -- [SEEDS] [CHECKPOINTS,...]
//!
//! Defaults: 16 seeds, checkpoints 20,30,50,100. Prints markdown (see docs/preferences.md).

use atelier::prefs::gp::PrefGp;
use atelier::prefs::sim::{self, Arm, Rater, Shape};
use atelier::prefs::{worst_of, Pref};
use atelier::rng::Rng;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seeds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(16);
    let checkpoints: Vec<usize> = args
        .get(1)
        .map(|s| s.split(',').filter_map(|v| v.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![20, 30, 50, 100]);
    let seeds: Vec<u64> = (0..seeds).collect();
    let rater = Rater::default();
    let shapes = Shape::all();

    let start = Instant::now();
    let rows = sim::benchmark(&shapes, &Arm::ALL, &rater, &seeds, &checkpoints);
    println!(
        "## Median regret (25%-75%) over {} seeds, rater noise sd {}, {:.0}% random answers\n",
        seeds.len(),
        rater.noise_sd,
        100.0 * rater.random_rate
    );
    println!("{}", sim::markdown(&rows));
    println!(
        "studies: {:.1} s on {} threads\n",
        start.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );

    let (fit, propose) = proposal_timing(150, 8);
    println!("## One proposal with 150 judged candidates, 8 parameters\n");
    println!("| step | median of 7 |\n|---|---|");
    println!(
        "| fit (hyperparameter grid + Laplace) | {:.1} ms |",
        ms(fit)
    );
    println!("| propose (Thompson sampling) | {:.1} ms |", ms(propose));
    println!("| total | {:.1} ms |", ms(fit + propose));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A random-replacement study in `dim` dimensions up to `n` candidates (so `n - 4` best-of-4
/// judgements, three preferences each), then the median time of fitting and proposing.
fn proposal_timing(n: usize, dim: usize) -> (Duration, Duration) {
    let mut rng = Rng::new(42);
    let centre: Vec<f64> = (0..dim)
        .map(|i| 0.2 + 0.6 * (i as f64 / dim as f64))
        .collect();
    let utility = |x: &[f64]| -> f64 {
        let d2: f64 = x.iter().zip(&centre).map(|(a, b)| (a - b) * (a - b)).sum();
        (-d2 / (2.0 * 0.35 * 0.35)).exp()
    };
    let point = |rng: &mut Rng| -> Vec<f64> { (0..dim).map(|_| rng.f32() as f64).collect() };
    let mut points: Vec<Vec<f64>> = (0..4).map(|_| point(&mut rng)).collect();
    let mut live: Vec<usize> = (0..4).collect();
    let mut prefs: Vec<Pref> = Vec::new();
    while points.len() < n {
        let perceived: Vec<f64> = live
            .iter()
            .map(|&i| utility(&points[i]) + 0.1 * rng.normal() as f64)
            .collect();
        let w = (0..4)
            .reduce(|a, b| if perceived[b] < perceived[a] { b } else { a })
            .unwrap_or(0);
        prefs.extend(worst_of(&live, live[w]));
        points.push(point(&mut rng));
        live[w] = points.len() - 1;
    }
    let mut fits = Vec::new();
    let mut proposals = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let gp = PrefGp::fit(&points, &prefs);
        fits.push(t.elapsed());
        let t = Instant::now();
        let p = gp.propose(&mut rng, sim::MIN_DISTANCE);
        proposals.push(t.elapsed());
        assert!(p.is_some());
    }
    fits.sort();
    proposals.sort();
    (fits[3], proposals[3])
}
