//! The model's operations written with burn's own ops, differentiable on every backend: the
//! whole model without the `cpu-kernels` feature, every backend but the CPU ones with it (CUDA),
//! and the shapes atelier's kernels leave to burn. Same names and signatures as the kernels, so
//! [`super::ops`] picks either module with one `use`.

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;
use burn::tensor::module::avg_pool2d;
use burn::tensor::TensorPrimitive;

pub use burn::tensor::module::conv2d;

/// A `Conv2d` module's own forward pass.
pub fn conv_forward<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    conv.forward(x)
}

/// A `ConvTranspose2d` module's own forward pass.
pub fn conv_transpose_forward<B: Backend>(t: &ConvTranspose2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    t.forward(x)
}

/// `avg_pool2d(x, [2, 2], [2, 2], [0, 0], _, false)`: the mean of each 2x2 block; an odd last
/// row or column is dropped.
pub fn avg_pool2x2<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    avg_pool2d(x, [2, 2], [2, 2], [0, 0], true, false)
}

/// `x.sort(2)`: every row of the last axis in ascending order.
pub fn sort_rows<B: Backend>(x: Tensor<B, 3>) -> Tensor<B, 3> {
    x.sort(2)
}

/// Gram matrices `[N, C, C]` of feature maps `[N, C, H, W]`, normalised by C*H*W as in the
/// PyTorch reference.
pub fn gram<B: Backend>(f: Tensor<B, 4>) -> Tensor<B, 3> {
    let [n, c, h, w] = f.dims();
    let flat = f.reshape([n, c, h * w]);
    flat.clone().matmul(flat.swap_dims(1, 2)) / ((c * h * w) as f32)
}

/// InstanceNorm2d without affine parameters (biased variance, eps 1e-5): burn's `layer_norm`
/// over the flattened planes with a ones gamma, which the GPU backends fuse.
pub fn instance_norm<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let device = x.device();
    let flat = x.reshape([n * c, h * w]).into_primitive().tensor();
    let gamma = Tensor::<B, 1>::ones([h * w], &device)
        .into_primitive()
        .tensor();
    let y = B::layer_norm(flat, gamma, None, NORM_EPS as f64);
    Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(y)).reshape([n, c, h, w])
}

/// Instance norm's epsilon (PyTorch's default).
pub const NORM_EPS: f32 = 1e-5;

/// Reflection padding of the two spatial dims (PyTorch's `ReflectionPad2d(p)`, p < H, W):
/// under autodiff one index select per dim ([`reflect_pad_select`]), whose backward is one
/// scatter where each `narrow` piece of the `cat` version would add a full-size zeros +
/// slice_assign; otherwise [`reflect_pad_cat`].
pub fn reflect_pad<B: Backend>(x: Tensor<B, 4>, p: usize) -> Tensor<B, 4> {
    if B::ad_enabled(&x.device()) {
        reflect_pad_select(x, p)
    } else {
        reflect_pad_cat(x, p)
    }
}

/// Reflection padding from `narrow` + `flip` views joined by one `cat` per dim: the mirrored
/// border rows (then columns) are views of the input. flex's `select` along the last dim
/// computes every output element's source with divisions; `cat` copies contiguous runs.
pub fn reflect_pad_cat<B: Backend>(x: Tensor<B, 4>, p: usize) -> Tensor<B, 4> {
    if p == 0 {
        return x;
    }
    let x = reflect_pad_dim(x, 2, p);
    reflect_pad_dim(x, 3, p)
}

fn reflect_pad_dim<B: Backend>(x: Tensor<B, 4>, dim: usize, p: usize) -> Tensor<B, 4> {
    let n = x.dims()[dim];
    assert!(
        p < n,
        "reflection padding {p} needs a dimension larger than {p}, got {n}"
    );
    let before = x.clone().narrow(dim, 1, p).flip([dim as isize]);
    let after = x.clone().narrow(dim, n - 1 - p, p).flip([dim as isize]);
    Tensor::cat(vec![before, x, after], dim)
}

/// Reflection padding as one index select per dim, so the backward pass is a single scatter:
/// what training uses, and the reference the other paddings are tested against.
pub fn reflect_pad_select<B: Backend>(x: Tensor<B, 4>, p: usize) -> Tensor<B, 4> {
    if p == 0 {
        return x;
    }
    let [_, _, h, w] = x.dims();
    let device = x.device();
    let x = x.select(2, reflect_index::<B>(h, p, &device));
    x.select(3, reflect_index::<B>(w, p, &device))
}

fn reflect_index<B: Backend>(n: usize, p: usize, device: &B::Device) -> Tensor<B, 1, Int> {
    let idx: Vec<i64> = (0..n + 2 * p)
        .map(|i| {
            let j = i as i64 - p as i64;
            let last = n as i64 - 1;
            if j < 0 {
                (-j).min(last)
            } else if j > last {
                (2 * last - j).max(0)
            } else {
                j
            }
        })
        .collect();
    Tensor::from_data(TensorData::new(idx, [n + 2 * p]), device)
}
