//! 2x2 average pooling with stride 2 (the feature net's pyramid and the critic's scales) as
//! parallel passes over raw values on the CPU backends. flex's generic pooling, forward and
//! backward, took 3.5% of a single_style step for what is one read and one write per value.

use super::{cast, cpu, tracked_raw, with_values, Cpu};
use crate::train::model::burn_ops;
use burn::backend::{Autodiff, Flex, NdArray};
use burn::prelude::*;
use rayon::prelude::*;

/// `avg_pool2d(x, [2, 2], [2, 2], [0, 0], _, false)`: the mean of each 2x2 block; an odd last
/// row or column is dropped.
pub fn avg_pool2x2<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    match cpu::<B>() {
        Some(Cpu::Flex) => cast(tracked_pool::<Flex>(cast(x))),
        Some(Cpu::NdArray) => cast(tracked_pool::<NdArray>(cast(x))),
        Some(Cpu::Inference) => pool_plain(x),
        None => burn_ops::avg_pool2x2(x),
    }
}

fn pool_plain<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let device = x.device();
    let y = with_values(x, |x| pool_values(x, [n, c, h, w]));
    Tensor::from_data(TensorData::new(y, [n, c, h / 2, w / 2]), &device)
}

/// The pooled values `[N, C, H/2, W/2]` of `x` (`dims`, row-major).
fn pool_values(x: &[f32], [n, c, h, w]: [usize; 4]) -> Vec<f32> {
    let (ho, wo) = (h / 2, w / 2);
    let mut out = vec![0.0f32; n * c * ho * wo];
    if ho * wo == 0 {
        return out;
    }
    out.par_chunks_mut(ho * wo)
        .zip(x.par_chunks(h * w))
        .for_each(|(dst, src)| {
            for (i, row) in dst.chunks_mut(wo).enumerate() {
                let (a, b) = (&src[2 * i * w..][..w], &src[(2 * i + 1) * w..][..w]);
                for (j, v) in row.iter_mut().enumerate() {
                    *v = 0.25 * (a[2 * j] + a[2 * j + 1] + b[2 * j] + b[2 * j + 1]);
                }
            }
        });
    out
}

/// The adjoint of [`pool_values`]: each output gradient spread, a quarter each, over its block.
fn unpool_values(g: &[f32], [n, c, h, w]: [usize; 4]) -> Vec<f32> {
    let (ho, wo) = (h / 2, w / 2);
    let mut out = vec![0.0f32; n * c * h * w];
    if ho * wo == 0 {
        return out;
    }
    out.par_chunks_mut(h * w)
        .zip(g.par_chunks(ho * wo))
        .for_each(|(dst, src)| {
            for (i, row) in src.chunks(wo).enumerate() {
                let (a, b) = dst[2 * i * w..(2 * i + 2) * w].split_at_mut(w);
                for (j, v) in row.iter().enumerate() {
                    let q = 0.25 * v;
                    a[2 * j] = q;
                    a[2 * j + 1] = q;
                    b[2 * j] = q;
                    b[2 * j + 1] = q;
                }
            }
        });
    out
}

/// [`pool_plain`] on `Autodiff<I>` with [`unpool_values`] as its backward step.
fn tracked_pool<I: Backend>(x: Tensor<Autodiff<I>, 4>) -> Tensor<Autodiff<I>, 4> {
    tracked_raw(x, pool_plain, |g, _, x_dims| unpool_values(g, x_dims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    /// Values and gradients equal burn's `avg_pool2d`, for even and odd sizes.
    #[test]
    fn raw_pooling_matches_burn() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        for dims in [[2, 3, 6, 8], [1, 2, 7, 5]] {
            let x0 = Tensor::<A, 4>::random(dims, Distribution::Normal(0.0, 1.0), &dev);
            let [n, c, h, w] = dims;
            let weights = Tensor::<A, 4>::random([n, c, h / 2, w / 2], Distribution::Default, &dev);
            let run = |pool: &dyn Fn(Tensor<A, 4>) -> Tensor<A, 4>| {
                let x = x0.clone().detach().require_grad();
                let y = pool(x.clone());
                let grads = (y.clone() * weights.clone()).sum().backward();
                (y.into_data(), x.grad(&grads).expect("gradient").into_data())
            };
            let (y, dx) = run(&|x| avg_pool2x2(x));
            let (y_burn, dx_burn) = run(&|x| burn_ops::avg_pool2x2(x));
            y.assert_approx_eq::<f32>(&y_burn, Default::default());
            dx.assert_approx_eq::<f32>(&dx_burn, Default::default());
            let plain = avg_pool2x2(x0.clone().inner());
            plain
                .into_data()
                .assert_approx_eq::<f32>(&y, Default::default());
        }
    }
}
