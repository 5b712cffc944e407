//! The one door between the networks (and the losses) and the code that computes their tensor
//! operations: the generator, the critic, the feature net and the losses call these functions
//! and nothing below them. With the `cpu-kernels` feature (on by default) each is atelier's own
//! kernel (`kernels`: raw-slice forward and backward passes on flex and ndarray, with or
//! without autodiff), which hands any other backend (CUDA) and any shape it does not handle to
//! burn's op; without the feature each is burn's op (`burn_ops`) on every backend, so a CPU
//! build runs the op sequence CUDA runs. Both modules define every name below with the same
//! signature: a backend with kernels of its own would be a third such module, chosen here.
//!
//! | op | kernel | burn's op |
//! |---|---|---|
//! | [`conv2d`], [`conv_forward`] | im2col + GEMM, Winograd, thin AVX-512; own backward | `conv2d` |
//! | [`conv_transpose_forward`] | the convolution's input gradient, by phases | `ConvTranspose2d::forward` |
//! | [`reflect_pad`] | raw copy; backward folds the border back | index select (autodiff), `cat` |
//! | [`avg_pool2x2`] | raw 2x2 means and their adjoint | `avg_pool2d` |
//! | [`instance_norm`] | one pass per plane, forward and backward | `layer_norm` over the planes |
//! | [`gram`] | backward as one product | `F F^T` |
//! | [`sort_rows`] | per-row radix sort, permutation backward | `sort` |

#[cfg(not(feature = "cpu-kernels"))]
use super::burn_ops as chosen;
#[cfg(feature = "cpu-kernels")]
use super::kernels as chosen;

pub use chosen::{
    avg_pool2x2, conv2d, conv_forward, conv_transpose_forward, gram, instance_norm, reflect_pad,
    sort_rows,
};

use burn::prelude::*;

/// The luminance of images [N, 3, H, W] (`eval`'s weights), as [N, 1, H, W].
pub fn luminance<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let luma = Tensor::<B, 1>::from_floats(crate::eval::LUMA, &x.device()).reshape([1, 3, 1, 1]);
    (x * luma).sum_dim(1)
}

/// Gaussian blur of each channel of an NCHW batch (sigma in pixels, radius 3 sigma, mirrored
/// edges); sigma 0 returns the batch as it is. A composite of two 1-D convolutions (burn's op,
/// differentiable on every backend): the residual's photo, the distillation's low band.
pub fn gaussian_blur<B: Backend>(x: Tensor<B, 4>, sigma: f32) -> Tensor<B, 4> {
    if sigma <= 0.0 {
        return x;
    }
    let [n, c, h, w] = x.dims();
    // Mirroring needs a radius under the image's side.
    let r = crate::eval::blur_radius(sigma).min(h.min(w).saturating_sub(1).max(1));
    let taps = crate::eval::gaussian_kernel(sigma, r);
    let device = x.device();
    let kernel = |shape: [usize; 4]| {
        Tensor::<B, 4>::from_data(TensorData::new(taps.clone(), shape), &device)
    };
    let opts = || burn::tensor::ops::ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    let planes = reflect_pad(x, r).reshape([n * c, 1, h + 2 * r, w + 2 * r]);
    let rows = burn::tensor::module::conv2d(planes, kernel([1, 1, 2 * r + 1, 1]), None, opts());
    let both = burn::tensor::module::conv2d(rows, kernel([1, 1, 1, 2 * r + 1]), None, opts());
    both.reshape([n, c, h, w])
}

#[cfg(test)]
mod tests {
    use super::super::burn_ops::{reflect_pad_cat, reflect_pad_select};
    use super::super::max_abs_diff;
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::Distribution;

    #[test]
    fn reflect_pad_matches_pytorch_semantics() {
        let dev = Default::default();
        let x = Tensor::<Flex, 4>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 1, 1, 4]),
            &dev,
        );
        // Pad only W by reshaping H: use a 4x4 to exercise both dims.
        let x = x.clone().repeat_dim(2, 4);
        let y = reflect_pad(x, 2);
        assert_eq!(y.dims(), [1, 1, 8, 8]);
        let row: Vec<f32> = y
            .slice([0..1, 0..1, 0..1, 0..8])
            .into_data()
            .to_vec()
            .unwrap();
        assert_eq!(row, vec![3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0]);
    }

    #[test]
    fn instance_norm_zero_mean_unit_var() {
        let dev = Default::default();
        let x = Tensor::<Flex, 4>::random([2, 3, 5, 5], Distribution::Uniform(-3.0, 7.0), &dev);
        let y = instance_norm(x);
        let mean: f32 = y.clone().mean().into_scalar();
        let var: f32 = y.square().mean().into_scalar();
        assert!(mean.abs() < 1e-4, "{mean}");
        assert!((var - 1.0).abs() < 1e-2, "{var}");
    }

    /// The `cat` padding and the door's (on `Autodiff<Flex>` with `cpu-kernels`: the raw copy
    /// whose backward folds the borders back) against the index select.
    #[test]
    fn reflect_pad_matches_index_select_values_and_gradients() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        // Includes n = 2p + 2, sizes where the two mirrored strips overlap (p + 1 = n, where
        // one source row takes gradient from both sides), and p = 1 on a 2-wide dim.
        let cases = [
            ([2, 3, 7, 9], 1),
            ([1, 4, 8, 8], 3),
            ([2, 2, 5, 4], 2),
            ([1, 2, 6, 9], 2),
            ([1, 3, 4, 5], 3),
            ([2, 1, 2, 3], 1),
        ];
        for (shape, p) in cases {
            let x = Tensor::<A, 4>::random(shape, Distribution::Normal(0.0, 1.0), &dev);
            let out_shape = [shape[0], shape[1], shape[2] + 2 * p, shape[3] + 2 * p];
            let g = Tensor::<A, 4>::random(out_shape, Distribution::Normal(0.0, 1.0), &dev);
            let run = |pad: fn(Tensor<A, 4>, usize) -> Tensor<A, 4>| {
                let xr = x.clone().detach().require_grad();
                let y = pad(xr.clone(), p);
                let grads = (y.clone() * g.clone()).sum().backward();
                (y.inner(), xr.grad(&grads).unwrap())
            };
            let (y_old, gx_old) = run(reflect_pad_select);
            for (name, pad) in [
                (
                    "cat",
                    reflect_pad_cat as fn(Tensor<A, 4>, usize) -> Tensor<A, 4>,
                ),
                ("ops", reflect_pad),
            ] {
                let (y_new, gx_new) = run(pad);
                let what = format!("{name}, {shape:?} p={p}");
                assert_eq!(max_abs_diff(y_new, y_old.clone()), 0.0, "values, {what}");
                assert!(
                    max_abs_diff(gx_new, gx_old.clone()) < 1e-5,
                    "gradients, {what}"
                );
            }
        }
    }
}
