//! Reflection padding (PyTorch's `ReflectionPad2d(p)`) on the CPU backends. The forward is a
//! parallel copy of raw values ([`reflect_pad_plain`], also the plain backends' padding); under
//! autodiff the backward folds the mirrored border rows and columns back onto the rows they
//! copied in one pass over raw slices ([`fold_reflection`]), where the index select's backward
//! is a `select_add` that computes every element's destination.

use super::{cast, cpu, tracked_raw, with_values, Cpu};
use crate::train::model::burn_ops;
use burn::backend::{Autodiff, Flex, NdArray};
use burn::prelude::*;
use rayon::prelude::*;

/// Reflection padding of the two spatial dims (PyTorch's `ReflectionPad2d(p)`, p < H, W): on
/// the CPU backends the forward copies raw values ([`reflect_pad_plain`]), and under autodiff
/// the backward folds the borders back; elsewhere burn's ops (`burn_ops::reflect_pad`).
pub fn reflect_pad<B: Backend>(x: Tensor<B, 4>, p: usize) -> Tensor<B, 4> {
    let [_, _, h, w] = x.dims();
    // Reflection needs p < H, W; burn's ops report the error otherwise.
    let foldable = p > 0 && p < h && p < w;
    match cpu::<B>() {
        Some(Cpu::Flex) if foldable => cast(tracked_pad::<Flex>(cast(x), p)),
        Some(Cpu::NdArray) if foldable => cast(tracked_pad::<NdArray>(cast(x), p)),
        Some(Cpu::Inference) if foldable => reflect_pad_plain(x, p),
        _ => burn_ops::reflect_pad(x, p),
    }
}

/// The adjoint of reflection padding by `p` (`g`: `[N, C, H + 2p, W + 2p]`, p < H, W): each
/// padded element's gradient added onto the element it mirrors, in parallel over the planes.
pub fn fold_reflection(g: &[f32], dims: [usize; 4], p: usize) -> Vec<f32> {
    let [n, c, hp, wp] = dims;
    let (h, w) = (hp - 2 * p, wp - 2 * p);
    assert!(p < h && p < w, "fold_reflection: padding {p} of {h}x{w}");
    assert_eq!(g.len(), n * c * hp * wp, "fold_reflection: gradient length");
    let mut out = vec![0.0f32; n * c * h * w];
    out.par_chunks_mut(h * w)
        .zip(g.par_chunks(hp * wp))
        .for_each(|(out, g)| {
            for (r, row) in g.chunks(wp).enumerate() {
                let dst = &mut out[mirror(r, h, p) * w..][..w];
                for (d, v) in dst.iter_mut().zip(&row[p..p + w]) {
                    *d += v;
                }
                for col in (0..p).chain(p + w..wp) {
                    dst[mirror(col, w, p)] += row[col];
                }
            }
        });
    out
}

/// Reflection padding by `p` (PyTorch's `ReflectionPad2d(p)`; needs p < H, W) on a
/// [`super::plain_cpu`] backend: a parallel copy of raw values.
pub fn reflect_pad_plain<B: Backend>(x: Tensor<B, 4>, p: usize) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    assert!(
        p < h && p < w,
        "reflection padding {p} needs spatial dimensions larger than {p}, got {h}x{w}"
    );
    let device = x.device();
    let (hp, wp) = (h + 2 * p, w + 2 * p);
    let out = with_values(x, |x| reflect_pad_values(x, [n, c, h, w], p));
    Tensor::from_data(TensorData::new(out, [n, c, hp, wp]), &device)
}

/// [`reflect_pad_plain`] on values `[N, C, H, W]`, row-major.
fn reflect_pad_values(x: &[f32], [n, c, h, w]: [usize; 4], p: usize) -> Vec<f32> {
    let (hp, wp) = (h + 2 * p, w + 2 * p);
    let mut out = vec![0.0f32; n * c * hp * wp];
    out.par_chunks_mut(hp * wp)
        .zip(x.par_chunks(h * w))
        .for_each(|(dst, src)| {
            for (y, row) in dst.chunks_mut(wp).enumerate() {
                let s = &src[mirror(y, h, p) * w..][..w];
                row[p..p + w].copy_from_slice(s);
                for k in 0..p {
                    row[p - 1 - k] = s[k + 1];
                    row[p + w + k] = s[w - 2 - k];
                }
            }
        });
    out
}

/// The source index of padded index `i` (in `0..len + 2p`) of a dim of length `len` reflected
/// by `p`.
fn mirror(i: usize, len: usize, p: usize) -> usize {
    let j = i as isize - p as isize;
    let last = len as isize - 1;
    (if j < 0 {
        -j
    } else if j > last {
        2 * last - j
    } else {
        j
    }) as usize
}

/// Reflection padding on `Autodiff<I>` with [`fold_reflection`] as its backward step.
fn tracked_pad<I: Backend>(x: Tensor<Autodiff<I>, 4>, p: usize) -> Tensor<Autodiff<I>, 4> {
    // The padding is half the difference of the dims: the adjoint is a plain `fn`.
    tracked_raw(
        x,
        |x| reflect_pad_plain(x, p),
        |g, g_dims, x_dims| fold_reflection(g, g_dims, (g_dims[2] - x_dims[2]) / 2),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_reflection_padding_equals_the_cat_of_flipped_views() {
        for (dims, p) in [([2, 3, 5, 7], 1), ([1, 2, 9, 8], 3), ([1, 1, 4, 4], 3)] {
            let len = dims.iter().product::<usize>();
            let v: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let x = Tensor::<Flex, 4>::from_data(TensorData::new(v, dims), &Default::default());
            let want = burn_ops::reflect_pad_cat(x.clone(), p);
            let got = reflect_pad_plain(x, p);
            got.into_data().assert_eq(&want.into_data(), true);
        }
    }
}
