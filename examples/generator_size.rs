//! What a smaller generator buys at inference: for G(32, 6) (the GPU starry recipe's: resize
//! upsampling, residual, reflect padding) and students of decreasing size, the parameter count,
//! the checkpoint's file size (`g.mpk`, full precision, as the trainer writes it) and the
//! milliseconds of one 512x512 forward pass on flex, the stylize / look backend. Speed does not depend on the weights' values, so the networks are
//! freshly initialised. The sizes are timed interleaved (one pass of each per round) so a
//! machine shared with other work slows them alike; the ratio to the first size is the steadier
//! number.
//!
//! `cargo run --release --example generator_size -- [--rounds N] [--threads T] [W,B ...]`
//! (default 7 rounds, all cores, sizes 32,6 16,3 8,2)

use atelier::spec::{DownPadding, GeneratorSpec, Upsample};
use atelier::train::model::Generator;
use burn::module::Module;
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use std::time::Instant;

type B = burn::backend::Flex;

fn main() {
    let mut sizes: Vec<(usize, usize)> = Vec::new();
    let (mut rounds, mut threads) = (7usize, 0usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--rounds N")
            }
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--threads T")
            }
            s => {
                let (w, b) = s.split_once(',').expect("a size is W,B");
                sizes.push((w.parse().expect("W"), b.parse().expect("B")));
            }
        }
    }
    if sizes.is_empty() {
        sizes = vec![(32, 6), (16, 3), (8, 2)];
    }
    atelier::train::init_threads(threads);
    let tmp = std::env::temp_dir().join(format!("atelier-gsize-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    // Everything on rayon's pool, as the trainer and bench run (`train::on_pool`).
    let rows = atelier::train::on_pool(|| measure(&sizes, rounds, &tmp));
    println!("generator\tparams\tfile_kb\tms_512_median\tms_512_min\tvs_first\tfps_512");
    let base = rows[0].2;
    for ((w, b), (params, kb, median, min)) in sizes.iter().zip(rows) {
        println!(
            "G({w},{b})\t{params}\t{kb:.0}\t{median:.1}\t{min:.1}\t{:.2}\t{:.1}",
            median / base,
            1000.0 / median
        );
    }
    let _ = std::fs::remove_dir_all(tmp);
}

/// Per size: (parameters, checkpoint KB, median ms, fastest ms).
fn measure(
    sizes: &[(usize, usize)],
    rounds: usize,
    tmp: &std::path::Path,
) -> Vec<(usize, f64, f64, f64)> {
    let device = Default::default();
    let nets: Vec<Generator<B>> = sizes
        .iter()
        .map(|&(width, blocks)| {
            Generator::new(
                // The GPU starry recipe's generator (experiments/gpu/starry.toml) at each size.
                &GeneratorSpec {
                    width,
                    blocks,
                    upsample: Upsample::Resize,
                    residual: true,
                    down_padding: DownPadding::Reflect,
                    ..GeneratorSpec::default()
                },
                &device,
            )
        })
        .collect();
    let x = Tensor::<B, 4>::random(
        [1, 3, 512, 512],
        burn::tensor::Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    for g in &nets {
        let _ = g.forward(x.clone()).into_data(); // warm-up
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); nets.len()];
    for _ in 0..rounds {
        for (i, g) in nets.iter().enumerate() {
            let t = Instant::now();
            let _ = g.forward(x.clone()).into_data();
            times[i].push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    nets.iter()
        .zip(sizes)
        .zip(&mut times)
        .map(|((g, (w, b)), t)| {
            t.sort_by(f64::total_cmp);
            let file = tmp.join(format!("g{w}x{b}"));
            g.clone()
                .save_file(
                    file.clone(),
                    &NamedMpkFileRecorder::<FullPrecisionSettings>::new(),
                )
                .expect("saving");
            let kb = std::fs::metadata(file.with_extension("mpk"))
                .map(|m| m.len() as f64 / 1024.0)
                .unwrap_or(f64::NAN);
            (g.num_params(), kb, t[t.len() / 2], t[0])
        })
        .collect()
}
