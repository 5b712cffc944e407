//! Per-layer timing of the convolutions in the single_style bench workload on flex: forward,
//! input gradient and weight gradient as burn computes them, beside the phase-split input
//! gradient of `atelier::train::model::kernels`; then the generator's two transposed
//! upsampling layers, forward and backward under autodiff, burn's against atelier's. Run:
//! `cargo run --release --example conv_profile -- [threads]`.

use atelier::train::model::kernels;
use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, ModuleOps};
use burn::tensor::Distribution;
use std::time::Instant;

type B = Flex;

struct Layer {
    name: &'static str,
    n: usize,
    cin: usize,
    cout: usize,
    k: usize,
    size: usize,
    stride: usize,
    pad: usize,
    count: usize,
}

fn time<F: FnMut() -> Tensor<B, 4>>(mut f: F) -> f64 {
    let _ = f().into_data();
    let reps = 3;
    let t = Instant::now();
    for _ in 0..reps {
        let _ = f().into_data();
    }
    t.elapsed().as_secs_f64() * 1000.0 / reps as f64
}

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    atelier::train::init_threads(threads);
    let dev = Default::default();
    let l = |name, n, cin, cout, k, size, stride, pad, count| Layer {
        name,
        n,
        cin,
        cout,
        k,
        size,
        stride,
        pad,
        count,
    };
    // single_style: G(32, 6) at 128 px (batch 4), D(32, 3) on 8 images (real + fake).
    let layers = [
        l("G stem 7x7", 4, 3, 32, 7, 134, 1, 0, 1),
        l("G down1 s2", 4, 32, 64, 3, 128, 2, 1, 1),
        l("G down2 s2", 4, 64, 128, 3, 64, 2, 1, 1),
        l("G block 3x3", 4, 128, 128, 3, 34, 1, 0, 12),
        l("G head 7x7", 4, 32, 3, 7, 134, 1, 0, 1),
        l("D c1 4x4 s2", 8, 3, 32, 4, 128, 2, 1, 1),
        l("D c2 4x4 s2", 8, 32, 64, 4, 64, 2, 1, 1),
        l("D c3 4x4 s2", 8, 64, 128, 4, 32, 2, 1, 1),
        l("D c4 4x4", 8, 128, 128, 4, 16, 1, 1, 1),
        l("D out 4x4", 8, 128, 1, 4, 15, 1, 1, 1),
        l("F 3x3 32", 8, 3, 32, 3, 128, 1, 1, 1),
        l("F 3x3 64", 8, 32, 64, 3, 64, 1, 1, 1),
    ];
    println!(
        "{:<14} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "layer", "count", "fwd burn", "fwd gemm", "dx burn", "dx phases", "dw burn", "dw gemm"
    );
    let mut tot = [0.0f64; 6];
    for ly in &layers {
        let x = Tensor::<B, 4>::random(
            [ly.n, ly.cin, ly.size, ly.size],
            Distribution::Normal(0.0, 1.0),
            &dev,
        );
        let w = Tensor::<B, 4>::random(
            [ly.cout, ly.cin, ly.k, ly.k],
            Distribution::Normal(0.0, 0.1),
            &dev,
        );
        let opts = ConvOptions::new([ly.stride; 2], [ly.pad; 2], [1, 1], 1);
        let y = conv2d(x.clone(), w.clone(), None, opts.clone());
        let g = y.random_like(Distribution::Normal(0.0, 1.0));
        let fwd = time(|| conv2d(x.clone(), w.clone(), None, opts.clone()));
        let prim = |t: &Tensor<B, 4>| t.clone().into_primitive().tensor();
        let dx = time(|| {
            Tensor::from_primitive(burn::tensor::TensorPrimitive::Float(
                <B as ModuleOps<B>>::conv2d_x_backward(prim(&x), prim(&w), prim(&g), opts.clone()),
            ))
        });
        let dw = time(|| {
            Tensor::from_primitive(burn::tensor::TensorPrimitive::Float(
                <B as ModuleOps<B>>::conv2d_weight_backward(
                    prim(&x),
                    prim(&w),
                    prim(&g),
                    opts.clone(),
                ),
            ))
        });
        let b = Tensor::<B, 1>::zeros([ly.cout], &dev);
        let fwd_new = time(|| kernels::forward_gemm(x.clone(), w.clone(), Some(b.clone()), &opts));
        let dw_new = time(|| kernels::weight_grad(x.clone(), w.dims(), g.clone(), &opts));
        let dx_new = time(|| kernels::input_grad(x.dims(), w.clone(), g.clone(), &opts));
        let c = ly.count as f64;
        for (t, v) in tot.iter_mut().zip([fwd, fwd_new, dx, dx_new, dw, dw_new]) {
            *t += v * c;
        }
        println!(
            "{:<14} {:>5} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            ly.name, ly.count, fwd, fwd_new, dx, dx_new, dw, dw_new
        );
    }
    println!(
        "{:<14} {:>5} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
        "total x count", "", tot[0], tot[1], tot[2], tot[3], tot[4], tot[5]
    );
    transposed();
}

/// ConvTranspose3 s2 p1 op1 at the single_style generator's shapes: forward, then the input,
/// weight and bias gradients, through burn's `ConvTranspose2d::forward` and through
/// `kernels::conv_transpose_forward`.
fn transposed() {
    use burn::backend::Autodiff;
    use burn::nn::conv::ConvTranspose2dConfig;
    type A = Autodiff<B>;
    let dev = Default::default();
    println!("\n{:<22} {:>9} {:>9}", "fwd + bwd (ms)", "burn", "atelier");
    for (cin, size) in [(128, 32), (64, 64)] {
        let t = ConvTranspose2dConfig::new([cin, cin / 2], [3, 3])
            .with_stride([2, 2])
            .with_padding([1, 1])
            .with_padding_out([1, 1])
            .init::<A>(&dev);
        let x = Tensor::<A, 4>::random([4, cin, size, size], Distribution::Normal(0.0, 1.0), &dev);
        let g = Tensor::<A, 4>::random(
            [4, cin / 2, 2 * size, 2 * size],
            Distribution::Normal(0.0, 1.0),
            &dev,
        );
        let step = |ours: bool| {
            let x = x.clone().require_grad();
            let y = if ours {
                kernels::conv_transpose_forward(&t, x.clone())
            } else {
                t.forward(x.clone())
            };
            let grads = (y * g.clone()).sum().backward();
            x.grad(&grads).expect("x gradient")
        };
        let [burn, ours] = [false, true].map(|o| time(|| step(o)));
        println!(
            "{:<22} {:>9.2} {:>9.2}",
            format!("up {cin}->{} @{size}", cin / 2),
            burn,
            ours
        );
    }
}
