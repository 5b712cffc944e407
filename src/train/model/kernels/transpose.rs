//! Transposed convolutions (`ConvTranspose2d`, the reference generator's upsampling) on the CPU
//! backends. A transposed convolution is the input gradient of the convolution with the same
//! weight, stride and padding, so each of its three passes is a kernel that already exists here:
//!
//! - forward: that input gradient, by phases ([`transposed_by_phases`]), where flex scatters
//!   columns (col2im) on one thread;
//! - input gradient: the convolution itself ([`forward_gemm`]);
//! - weight gradient: the convolution's weight gradient with the roles of input and output
//!   gradient swapped ([`weight_grad`]); the bias gradient as for a convolution.
//!
//! Under autodiff the three run as one tracked step (`LayerBackward`), so the backward
//! pass does not walk through the phase form's permutes and slices. CUDA and grouped or dilated
//! layers take burn's `conv_transpose2d`.

use super::{
    cast, cpu, forward_gemm, tracked_step, transposed_by_phases, weight_grad, Cpu, LayerGrads,
};
use crate::train::model::burn_ops;
use burn::backend::{Autodiff, Flex, NdArray};
use burn::nn::conv::ConvTranspose2d;
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;

/// `t.forward(x)`, through atelier's kernels on the CPU backends (see the module docs).
pub fn conv_transpose_forward<B: Backend>(t: &ConvTranspose2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let plain = t.groups == 1
        && t.dilation == [1, 1]
        && (0..2).all(|i| t.padding_out[i] < t.stride[i] && t.padding[i] < t.weight.dims()[2 + i]);
    let Some(bias) = t.bias.as_ref().map(|b| b.val()).filter(|_| plain) else {
        return burn_ops::conv_transpose_forward(t, x);
    };
    let [n, _, h, w] = x.dims();
    let [_, cout, kh, kw] = t.weight.dims();
    // The output length, if the layer has one (burn's forward reports the error otherwise).
    let len = |i: usize, len: usize, k: usize| {
        (len.checked_sub(1)? * t.stride[i] + k + t.padding_out[i])
            .checked_sub(2 * t.padding[i])
            .filter(|&l| l > 0)
    };
    let (Some(ho), Some(wo)) = (len(0, h, kh), len(1, w, kw)) else {
        return burn_ops::conv_transpose_forward(t, x);
    };
    let shape = Shape {
        out: [n, cout, ho, wo],
        options: ConvOptions::new(t.stride, t.padding, [1, 1], 1),
    };
    let weight = t.weight.val();
    match cpu::<B>() {
        Some(Cpu::Flex) => cast(tracked::<Flex>(cast(x), cast(weight), cast(bias), shape)),
        Some(Cpu::NdArray) => cast(tracked::<NdArray>(cast(x), cast(weight), cast(bias), shape)),
        Some(Cpu::Inference) => {
            transposed_by_phases(x, weight, Some(bias), shape.out, &shape.options)
        }
        None => burn_ops::conv_transpose_forward(t, x),
    }
}

/// The output dims of a transposed convolution and the options of the convolution it undoes.
#[derive(Debug, Clone)]
struct Shape {
    out: [usize; 4],
    options: ConvOptions<2>,
}

/// A transposed convolution's gradients: those of the convolution it undoes, with the roles
/// of input and output gradient swapped.
impl LayerGrads for Shape {
    fn weight_grad<I: Backend>(
        &self,
        x: Tensor<I, 4>,
        weight_dims: [usize; 4],
        grad: Tensor<I, 4>,
    ) -> Tensor<I, 4> {
        // The convolution undone maps `grad`'s shape to `x`'s with this weight: its weight
        // gradient, with `grad` as input and `x` as output gradient, is this one's.
        weight_grad(grad, weight_dims, x, &self.options)
    }

    fn input_grad<I: Backend>(
        &self,
        _x: Tensor<I, 4>,
        weight: Tensor<I, 4>,
        grad: Tensor<I, 4>,
    ) -> Tensor<I, 4> {
        forward_gemm(grad, weight, None, &self.options)
    }
}

/// The transposed convolution on `Autodiff<I>`, its backward through [`Shape`]'s gradients.
fn tracked<I: Backend>(
    x: Tensor<Autodiff<I>, 4>,
    weight: Tensor<Autodiff<I>, 4>,
    bias: Tensor<Autodiff<I>, 1>,
    shape: Shape,
) -> Tensor<Autodiff<I>, 4> {
    tracked_step(x, weight, bias, shape, |x, w, b, shape| {
        transposed_by_phases(x, w, Some(b), shape.out, &shape.options)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::model::max_abs_diff;
    use burn::backend::Flex;
    use burn::module::AutodiffModule;
    use burn::tensor::Distribution;

    #[test]
    fn conv_transpose_forward_matches_burns_conv_transpose2d() {
        use burn::backend::Autodiff;
        use burn::nn::conv::ConvTranspose2dConfig;
        type A = Autodiff<Flex>;
        let dev = Default::default();
        // (n, cin, cout, h, w, kernel, stride, padding, output padding): the generator's
        // upsampling (3, 2, 1, 1) and other shapes the phase split must also get right.
        for (n, cin, cout, h, w, k, s, p, op) in [
            (2, 8, 4, 6, 5, 3, 2, 1, 1),
            (1, 16, 8, 9, 12, 3, 2, 1, 1),
            (1, 4, 6, 5, 7, 3, 2, 1, 0),
            (2, 3, 5, 6, 4, 4, 2, 1, 0),
            (1, 5, 3, 6, 6, 3, 1, 1, 0),
        ] {
            let what = format!("k{k} s{s} p{p} op{op}");
            let t = ConvTranspose2dConfig::new([cin, cout], [k, k])
                .with_stride([s, s])
                .with_padding([p, p])
                .with_padding_out([op, op])
                .init::<A>(&dev);
            let x = Tensor::<A, 4>::random([n, cin, h, w], Distribution::Normal(0.0, 1.0), &dev);
            let out = t.forward(x.clone()).dims();
            let g = Tensor::<A, 4>::random(out, Distribution::Normal(0.0, 1.0), &dev);
            let run = |ours: bool| {
                let xr = x.clone().detach().require_grad();
                let y = if ours {
                    conv_transpose_forward(&t, xr.clone())
                } else {
                    t.forward(xr.clone())
                };
                let grads = (y.clone() * g.clone()).sum().backward();
                let gw = t.weight.grad(&grads).unwrap();
                let gb = t.bias.as_ref().unwrap().grad(&grads).unwrap();
                (y.inner(), xr.grad(&grads).unwrap(), gw, gb)
            };
            let (y1, gx1, gw1, gb1) = run(true);
            let (y0, gx0, gw0, gb0) = run(false);
            assert!(max_abs_diff(y1, y0.clone()) < 1e-4, "values, {what}");
            assert!(max_abs_diff(gx1, gx0) < 1e-4, "x gradients, {what}");
            assert!(max_abs_diff(gw1, gw0) < 1e-3, "weight gradients, {what}");
            let db: f32 = (gb1 - gb0).abs().max().into_scalar();
            assert!(db < 1e-3, "bias gradients {db}, {what}");
            // Without autodiff (stylizing), the same values.
            let plain = t.valid();
            let y2 = conv_transpose_forward(&plain, x.clone().inner());
            assert!(max_abs_diff(y2, y0) < 1e-4, "inference values, {what}");
        }
    }
}
