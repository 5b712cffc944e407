//! Instance norm on `Autodiff<Flex>`, forward + backward through a weighted sum, at the
//! generator's map sizes (batch 4): atelier's kernel (`atelier::train::model::ops::instance_norm`
//! with the default features) beside burn's `layer_norm` over the flattened planes, which it
//! replaced. Run:
//! `cargo run --release --example norm_profile -- [threads]`.

use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::ops::ModuleOps;
use burn::tensor::{Distribution, TensorPrimitive};
use std::time::Instant;

type A = Autodiff<Flex>;

/// burn's layer norm over each (sample, channel)'s H x W values (the previous instance norm).
fn burn_layer_norm(x: Tensor<A, 4>) -> Tensor<A, 4> {
    let [n, c, h, w] = x.dims();
    let flat = x.reshape([n * c, h * w]).into_primitive().tensor();
    let gamma = Tensor::<A, 1>::ones([h * w], &Default::default())
        .into_primitive()
        .tensor();
    let y = <A as ModuleOps<A>>::layer_norm(flat, gamma, None, 1e-5);
    Tensor::<A, 2>::from_primitive(TensorPrimitive::Float(y)).reshape([n, c, h, w])
}

/// Mean milliseconds of forward + backward over 10 runs after one warm-up.
fn time(norm: fn(Tensor<A, 4>) -> Tensor<A, 4>, x: &Tensor<A, 4>, w: &Tensor<A, 4>) -> f64 {
    let run = || {
        let grads = (norm(x.clone()) * w.clone()).sum().backward();
        let _ = x.grad(&grads).expect("x requires grad").into_data();
    };
    run();
    let t = Instant::now();
    for _ in 0..10 {
        run();
    }
    t.elapsed().as_secs_f64() * 100.0
}

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    atelier::train::init_threads(threads);
    let dev = Default::default();
    println!("map [4, C, H, W]       burn layer_norm   atelier instance_norm   (ms, fwd + bwd)");
    for (c, s) in [(32usize, 128usize), (64, 64), (128, 32)] {
        let x = Tensor::<A, 4>::random([4, c, s, s], Distribution::Default, &dev).require_grad();
        let w = Tensor::<A, 4>::random([4, c, s, s], Distribution::Default, &dev);
        let theirs = time(burn_layer_norm, &x, &w);
        let ours = time(atelier::train::model::ops::instance_norm, &x, &w);
        println!("[4, {c:3}, {s:3}, {s:3}]   {theirs:15.2}   {ours:21.2}");
    }
}
