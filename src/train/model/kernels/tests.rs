//! The gradient kernels against burn's own, on shapes of every convolution atelier trains.

use super::*;
use burn::tensor::ops::{FloatTensor, ModuleOps};
use burn::tensor::Distribution;

type F = Flex;

/// (kernel, stride, padding, height, width) of the layers atelier builds, plus odd sizes.
const CASES: [(usize, usize, usize, usize, usize); 9] = [
    (3, 1, 1, 9, 7),   // feature net
    (3, 1, 0, 10, 8),  // generator blocks (after reflection padding)
    (7, 1, 0, 14, 13), // generator stem and head
    (3, 2, 1, 12, 10), // generator downsampling
    (3, 2, 1, 11, 9),  // odd sizes
    (4, 2, 1, 16, 12), // critic
    (4, 2, 1, 13, 15), // odd sizes
    (4, 1, 1, 6, 7),   // critic's last layers
    (2, 2, 0, 8, 6),
];

/// A fixed pseudo-random fill in [-1, 1) for the raw-slice kernels' tests.
pub(super) fn fill(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
        })
        .collect()
}

/// The largest absolute difference over the largest magnitude of `b` (at least 1).
pub(super) fn max_rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
        / scale
}

fn prim(t: &Tensor<F, 4>) -> FloatTensor<F> {
    t.clone().into_primitive().tensor()
}

fn assert_close(a: Tensor<F, 4>, b: Tensor<F, 4>, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes");
    let scale = b.clone().abs().max().into_scalar().max(1.0);
    let err = (a - b).abs().max().into_scalar();
    assert!(
        err <= 1e-4 * scale,
        "{what}: max error {err} (scale {scale})"
    );
}

#[test]
fn input_and_weight_gradients_match_burns() {
    let dev = Default::default();
    for (k, s, p, h, w) in CASES {
        let (n, cin, cout) = (2, 3, 5);
        let what = format!("k{k} s{s} p{p} {h}x{w}");
        let x = Tensor::<F, 4>::random([n, cin, h, w], Distribution::Normal(0.0, 1.0), &dev);
        let wt = Tensor::<F, 4>::random([cout, cin, k, k], Distribution::Normal(0.0, 1.0), &dev);
        let opts = ConvOptions::new([s, s], [p, p], [1, 1], 1);
        let y = burn::tensor::module::conv2d(x.clone(), wt.clone(), None, opts.clone());
        let g = y.random_like(Distribution::Normal(0.0, 1.0));
        let dx_burn = float::<F, 4>(F::conv2d_x_backward(
            prim(&x),
            prim(&wt),
            prim(&g),
            opts.clone(),
        ));
        let dw_burn = float::<F, 4>(F::conv2d_weight_backward(
            prim(&x),
            prim(&wt),
            prim(&g),
            opts.clone(),
        ));
        let dx = input_grad(x.dims(), wt.clone(), g.clone(), &opts);
        assert_close(dx, dx_burn, &format!("{what} input gradient"));
        let dw = weight_grad(x, wt.dims(), g, &opts);
        assert_close(dw, dw_burn, &format!("{what} weight gradient"));
    }
}

#[test]
fn tracked_conv_gives_burns_values_and_gradients() {
    type A = Autodiff<Flex>;
    let dev = Default::default();
    // Six channels to two: a narrowing layer, which takes the phase input gradient; three to
    // five: burn's input gradient. Both take the GEMM weight gradient.
    let layers = [
        (6, 2, 3, 1, 1, 8, 8),
        (6, 2, 4, 2, 1, 9, 12),
        (3, 5, 3, 1, 0, 8, 9),
        (3, 5, 3, 2, 1, 11, 8),
    ];
    for (cin, cout, k, s, p, h, w) in layers {
        let x = Tensor::<A, 4>::random([2, cin, h, w], Distribution::Normal(0.0, 1.0), &dev);
        let wt = Tensor::<A, 4>::random([cout, cin, k, k], Distribution::Normal(0.0, 1.0), &dev);
        let b = Tensor::<A, 1>::random([cout], Distribution::Normal(0.0, 1.0), &dev);
        let opts = ConvOptions::new([s, s], [p, p], [1, 1], 1);
        let run = |fast: bool| {
            let (x, wt, b) = (
                x.clone().require_grad(),
                wt.clone().require_grad(),
                b.clone().require_grad(),
            );
            let y = if fast {
                conv2d(x.clone(), wt.clone(), Some(b.clone()), opts.clone())
            } else {
                burn::tensor::module::conv2d(x.clone(), wt.clone(), Some(b.clone()), opts.clone())
            };
            // A non-uniform upstream gradient: sum of the squared output.
            let grads = (y.clone() * y.clone()).sum().backward();
            let g4 = |t: &Tensor<A, 4>| t.grad(&grads).expect("gradient");
            (
                y.inner(),
                g4(&x),
                g4(&wt),
                b.grad(&grads)
                    .expect("bias gradient")
                    .reshape([1, 1, 1, cout]),
            )
        };
        let (y0, dx0, dw0, db0) = run(false);
        let (y1, dx1, dw1, db1) = run(true);
        assert_close(y1, y0, "output");
        assert_close(dx1, dx0, "input gradient");
        assert_close(dw1, dw0, "weight gradient");
        assert_close(db1, db0, "bias gradient");
    }
}

#[test]
fn inference_on_flex_gives_the_convolution_by_hand() {
    assert!(is::<Autodiff<Flex>, Autodiff<Flex>>());
    assert!(!is::<Flex, Autodiff<Flex>>());
    // Inference: no autodiff, the im2col + GEMM forward.
    let dev = Default::default();
    let x = Tensor::<F, 4>::ones([1, 1, 3, 3], &dev);
    let w = Tensor::<F, 4>::ones([1, 1, 3, 3], &dev);
    let b = Tensor::<F, 1>::zeros([1], &dev);
    let y = conv2d(x, w, Some(b), ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
    let got: Vec<f32> = y.into_data().to_vec().unwrap();
    assert_eq!(got, vec![4., 6., 4., 6., 9., 6., 4., 6., 4.]);
}

#[test]
fn kernels_match_burns_at_training_sizes() {
    // Large enough for the GEMM's packed, parallel path and several im2col chunks.
    let dev = Default::default();
    for (n, cin, cout, k, s, p, h) in [
        (2, 64, 64, 3, 1, 0, 34),
        (1, 32, 3, 7, 1, 0, 134),
        (2, 32, 64, 3, 2, 1, 64),
    ] {
        let what = format!("{cin}->{cout} k{k} s{s} p{p} {h}px");
        let x = Tensor::<F, 4>::random([n, cin, h, h], Distribution::Normal(0.0, 1.0), &dev);
        let wt = Tensor::<F, 4>::random([cout, cin, k, k], Distribution::Normal(0.0, 0.1), &dev);
        let b = Tensor::<F, 1>::random([cout], Distribution::Normal(0.0, 1.0), &dev);
        let opts = ConvOptions::new([s, s], [p, p], [1, 1], 1);
        let y_burn =
            burn::tensor::module::conv2d(x.clone(), wt.clone(), Some(b.clone()), opts.clone());
        let y = forward_gemm(x.clone(), wt.clone(), Some(b), &opts);
        assert_close(y, y_burn.clone(), &format!("{what} forward"));
        let g = y_burn.random_like(Distribution::Normal(0.0, 1.0));
        let dw_burn = float::<F, 4>(F::conv2d_weight_backward(
            prim(&x),
            prim(&wt),
            prim(&g),
            opts.clone(),
        ));
        let dx_burn = float::<F, 4>(F::conv2d_x_backward(
            prim(&x),
            prim(&wt),
            prim(&g),
            opts.clone(),
        ));
        assert_close(
            weight_grad(x.clone(), wt.dims(), g.clone(), &opts),
            dw_burn,
            &format!("{what} weight gradient"),
        );
        assert_close(
            input_grad(x.dims(), wt, g, &opts),
            dx_burn,
            &format!("{what} input gradient"),
        );
    }
}
