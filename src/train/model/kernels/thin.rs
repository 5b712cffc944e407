//! Convolutions with one to three output channels (the generator's RGB head, the critic's score
//! map), computed directly with AVX-512 instead of im2col + GEMM.
//!
//! A GEMM with three rows wastes most of its micro-kernel: the `gemm` crate ran the generator's
//! 7x7 head at about 30 GFLOP/s forward and 7 GFLOP/s for the weight gradient, against about
//! 350 GFLOP/s on the residual blocks' 3x3 layers (`examples/conv_profile.rs`). Here the output
//! channels live in registers instead:
//!
//! - forward: 64 output pixels of one row at a time, an accumulator per (16 pixels, channel),
//!   each input vector loaded once for every channel's multiply-add;
//! - weight gradient: per input channel and kernel row, an accumulator per (tap, channel), each
//!   output-gradient vector loaded once for every tap.
//!
//! Stride 1 only (the two layers above), any padding (a zero-padded copy when it is not 0).
//! Other shapes and CPUs without AVX-512 return `None`, and the caller takes the GEMM.

use super::gemm_conv::ConvShape;
use std::borrow::Cow;

/// The output of [`super::gemm_conv::forward_f32`], when this module handles the shape.
pub fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, s: &ConvShape) -> Option<Vec<f32>> {
    if !handles(s) {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let padded = padded(x, s);
        // SAFETY: `handles` checked AVX-512F; the shapes come from `s`, whose lengths the
        // callers assert.
        Some(unsafe { avx512::forward(&padded, weight, bias, s) })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (x, weight, bias);
        None
    }
}

/// The output of [`super::gemm_conv::weight_grad_f32`], when this module handles the shape.
pub fn weight_grad(x: &[f32], grad: &[f32], s: &ConvShape) -> Option<Vec<f32>> {
    if !handles(s) {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let padded = padded(x, s);
        // SAFETY: as in `forward`.
        Some(unsafe { avx512::weight_grad(&padded, grad, s) })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (x, grad);
        None
    }
}

/// Whether the direct kernels take this shape on this CPU.
fn handles(s: &ConvShape) -> bool {
    let cout = s.y[1];
    let [_, kw] = s.kernel;
    let supported = (1..=3).contains(&cout)
        && matches!(kw, 3 | 4 | 7)
        && s.stride == [1, 1]
        && s.y[2] > 0
        && s.y[3] > 0;
    #[cfg(target_arch = "x86_64")]
    {
        supported && std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = supported;
        false
    }
}

/// Padded input dimensions `[H + 2 py, W + 2 px]`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn padded_dims(s: &ConvShape) -> [usize; 2] {
    [s.x[2] + 2 * s.padding[0], s.x[3] + 2 * s.padding[1]]
}

/// The input with its zero padding written out (borrowed when there is none).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn padded<'a>(x: &'a [f32], s: &ConvShape) -> Cow<'a, [f32]> {
    let [n, cin, h, w] = s.x;
    let [py, px] = s.padding;
    if py == 0 && px == 0 {
        return Cow::Borrowed(x);
    }
    let [hp, wp] = padded_dims(s);
    let mut out = vec![0.0f32; n * cin * hp * wp];
    for (plane, src) in out.chunks_mut(hp * wp).zip(x.chunks(h * w)) {
        for (y, row) in src.chunks(w).enumerate() {
            plane[(y + py) * wp + px..][..w].copy_from_slice(row);
        }
    }
    Cow::Owned(out)
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{padded_dims, ConvShape};
    use rayon::prelude::*;
    use std::arch::x86_64::*;

    /// Output pixels per forward pass over the taps: four vectors of 16.
    const BLOCKS: usize = 4;

    /// A pointer rayon's tasks write through, each to its own rows.
    struct Out(*mut f32);

    impl Out {
        /// The pointer `offset` elements in.
        ///
        /// # Safety
        /// `offset` lies inside the output buffer.
        unsafe fn at(&self, offset: usize) -> *mut f32 {
            // SAFETY: forwarded from the caller.
            unsafe { self.0.add(offset) }
        }
    }
    // SAFETY: the tasks that share it write disjoint elements (one output row each).
    unsafe impl Send for Out {}
    unsafe impl Sync for Out {}

    /// Lanes `0..n.min(16)` set.
    fn mask(n: usize) -> __mmask16 {
        if n >= 16 {
            0xffff
        } else {
            ((1u32 << n) - 1) as __mmask16
        }
    }

    /// # Safety
    /// The CPU has AVX-512F; `x` is the padded input (`padded_dims`), `weight` and `bias` match
    /// `s`, and `s` is one [`super::handles`] accepts.
    pub unsafe fn forward(
        x: &[f32],
        weight: &[f32],
        bias: Option<&[f32]>,
        s: &ConvShape,
    ) -> Vec<f32> {
        match s.y[1] {
            1 => unsafe { forward_co::<1>(x, weight, bias, s) },
            2 => unsafe { forward_co::<2>(x, weight, bias, s) },
            _ => unsafe { forward_co::<3>(x, weight, bias, s) },
        }
    }

    unsafe fn forward_co<const CO: usize>(
        x: &[f32],
        weight: &[f32],
        bias: Option<&[f32]>,
        s: &ConvShape,
    ) -> Vec<f32> {
        let [n, cin, _, _] = s.x;
        let [_, _, ho, wo] = s.y;
        let [kh, kw] = s.kernel;
        let [hp, wp] = padded_dims(s);
        assert_eq!(x.len(), n * cin * hp * wp, "thin forward: input length");
        assert_eq!(
            weight.len(),
            CO * cin * kh * kw,
            "thin forward: weight length"
        );
        // [ci][ky][kx][co]: one tap's channels side by side.
        let mut taps = vec![0.0f32; weight.len()];
        for co in 0..CO {
            for t in 0..cin * kh * kw {
                taps[t * CO + co] = weight[co * cin * kh * kw + t];
            }
        }
        let bias: [f32; CO] = std::array::from_fn(|co| bias.map_or(0.0, |b| b[co]));
        let mut y = vec![0.0f32; n * CO * ho * wo];
        let out = Out(y.as_mut_ptr());
        (0..n * ho).into_par_iter().for_each(|row| {
            let (b, oy) = (row / ho, row % ho);
            let xb = &x[b * cin * hp * wp..(b + 1) * cin * hp * wp];
            // SAFETY: AVX-512F is present (caller); this task writes row `oy` of each of image
            // `b`'s CO planes and nothing else.
            unsafe { forward_row::<CO>(xb, &taps, bias, s, oy, out.at(b * CO * ho * wo)) };
        });
        y
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn forward_row<const CO: usize>(
        xb: &[f32],
        taps: &[f32],
        bias: [f32; CO],
        s: &ConvShape,
        oy: usize,
        yb: *mut f32,
    ) {
        let cin = s.x[1];
        let [_, _, ho, wo] = s.y;
        let [kh, kw] = s.kernel;
        let [hp, wp] = padded_dims(s);
        let mut ox0 = 0;
        while ox0 < wo {
            let masks: [__mmask16; BLOCKS] =
                std::array::from_fn(|i| mask(wo.saturating_sub(ox0 + 16 * i)));
            let mut acc = [[_mm512_setzero_ps(); BLOCKS]; CO];
            for (co, a) in acc.iter_mut().enumerate() {
                *a = [_mm512_set1_ps(bias[co]); BLOCKS];
            }
            for ci in 0..cin {
                for ky in 0..kh {
                    let row = &xb[(ci * hp + oy + ky) * wp..][..wp];
                    let t = &taps[((ci * kh + ky) * kw) * CO..][..kw * CO];
                    for kx in 0..kw {
                        let mut v = [_mm512_setzero_ps(); BLOCKS];
                        for (i, v) in v.iter_mut().enumerate() {
                            // Masked lanes read nothing (a block past the row's end has no
                            // lanes, hence `wrapping_add`: its address may leave the buffer).
                            // SAFETY: unmasked lanes are `ox0 + 16 i + lane + kx < wo + kw - 1
                            // = wp`, inside `row`.
                            *v = unsafe {
                                _mm512_maskz_loadu_ps(
                                    masks[i],
                                    row.as_ptr().wrapping_add(ox0 + 16 * i + kx),
                                )
                            };
                        }
                        for co in 0..CO {
                            let w = _mm512_set1_ps(t[kx * CO + co]);
                            for i in 0..BLOCKS {
                                acc[co][i] = _mm512_fmadd_ps(v[i], w, acc[co][i]);
                            }
                        }
                    }
                }
            }
            for (co, a) in acc.iter().enumerate() {
                for (i, a) in a.iter().enumerate() {
                    // SAFETY: unmasked lanes are pixels `ox0 + 16 i + lane < wo` of row `oy` of
                    // plane `co`, inside this image's output.
                    unsafe {
                        _mm512_mask_storeu_ps(
                            yb.wrapping_add((co * ho + oy) * wo + ox0 + 16 * i),
                            masks[i],
                            *a,
                        )
                    };
                }
            }
            ox0 += 16 * BLOCKS;
        }
    }

    /// # Safety
    /// As for [`forward`], with `grad` the output gradient `[N, CO, Ho, Wo]`.
    pub unsafe fn weight_grad(x: &[f32], grad: &[f32], s: &ConvShape) -> Vec<f32> {
        match (s.y[1], s.kernel[1]) {
            (1, 3) => unsafe { weight_grad_k::<1, 3>(x, grad, s) },
            (1, 4) => unsafe { weight_grad_k::<1, 4>(x, grad, s) },
            (1, _) => unsafe { weight_grad_k::<1, 7>(x, grad, s) },
            (2, 3) => unsafe { weight_grad_k::<2, 3>(x, grad, s) },
            (2, 4) => unsafe { weight_grad_k::<2, 4>(x, grad, s) },
            (2, _) => unsafe { weight_grad_k::<2, 7>(x, grad, s) },
            (_, 3) => unsafe { weight_grad_k::<3, 3>(x, grad, s) },
            (_, 4) => unsafe { weight_grad_k::<3, 4>(x, grad, s) },
            _ => unsafe { weight_grad_k::<3, 7>(x, grad, s) },
        }
    }

    unsafe fn weight_grad_k<const CO: usize, const KW: usize>(
        x: &[f32],
        grad: &[f32],
        s: &ConvShape,
    ) -> Vec<f32> {
        let [n, cin, _, _] = s.x;
        let [_, _, ho, wo] = s.y;
        let [kh, kw] = s.kernel;
        debug_assert_eq!(kw, KW);
        let [hp, wp] = padded_dims(s);
        assert_eq!(
            x.len(),
            n * cin * hp * wp,
            "thin weight gradient: input length"
        );
        assert_eq!(
            grad.len(),
            n * CO * ho * wo,
            "thin weight gradient: gradient length"
        );
        // Per (ci, ky): CO x KW sums, written back as [co][ci][ky][kx] below.
        let sums: Vec<[[f32; KW]; CO]> = (0..cin * kh)
            .into_par_iter()
            .map(|r| {
                let (ci, ky) = (r / kh, r % kh);
                // SAFETY: AVX-512F is present (caller); reads stay inside `x` and `grad`.
                unsafe { weight_grad_row::<CO, KW>(x, grad, s, ci, ky) }
            })
            .collect();
        let mut dw = vec![0.0f32; CO * cin * kh * KW];
        for (r, sum) in sums.iter().enumerate() {
            for (co, taps) in sum.iter().enumerate() {
                dw[(co * cin * kh + r) * KW..][..KW].copy_from_slice(taps);
            }
        }
        dw
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn weight_grad_row<const CO: usize, const KW: usize>(
        x: &[f32],
        grad: &[f32],
        s: &ConvShape,
        ci: usize,
        ky: usize,
    ) -> [[f32; KW]; CO] {
        let [n, cin, _, _] = s.x;
        let [_, _, ho, wo] = s.y;
        let [hp, wp] = padded_dims(s);
        let mut acc = [[_mm512_setzero_ps(); CO]; KW];
        for b in 0..n {
            let plane = &x[(b * cin + ci) * hp * wp..][..hp * wp];
            let gb = &grad[b * CO * ho * wo..][..CO * ho * wo];
            for oy in 0..ho {
                let row = &plane[(oy + ky) * wp..][..wp];
                let mut ox = 0;
                while ox < wo {
                    let m = mask(wo - ox);
                    let mut g = [_mm512_setzero_ps(); CO];
                    for (co, g) in g.iter_mut().enumerate() {
                        // SAFETY: unmasked lanes are pixels `ox + lane < wo` of row `oy`.
                        *g = unsafe {
                            _mm512_maskz_loadu_ps(m, gb.as_ptr().add((co * ho + oy) * wo + ox))
                        };
                    }
                    for (kx, a) in acc.iter_mut().enumerate() {
                        // SAFETY: unmasked lanes read `ox + lane + kx < wo + KW - 1 = wp`.
                        let v = unsafe { _mm512_maskz_loadu_ps(m, row.as_ptr().add(ox + kx)) };
                        for (a, g) in a.iter_mut().zip(&g) {
                            *a = _mm512_fmadd_ps(v, *g, *a);
                        }
                    }
                    ox += 16;
                }
            }
        }
        std::array::from_fn(|co| std::array::from_fn(|kx| _mm512_reduce_add_ps(acc[kx][co])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::model::kernels::gemm_conv;
    use crate::train::model::kernels::tests::{fill, max_rel_err};

    #[test]
    fn thin_kernels_match_the_gemm_path() {
        // The RGB head (7x7, no padding), the critic's score map (4x4, padding 1), a 3x3 with
        // two channels, at widths that leave partial vectors and partial 64-pixel blocks.
        let cases = [
            (2, 5, 13, 83, 3, 7, 0),
            (3, 8, 9, 17, 1, 4, 1),
            (1, 4, 6, 21, 2, 3, 2),
        ];
        for (n, cin, h, w, cout, k, p) in cases {
            let s = ConvShape {
                x: [n, cin, h, w],
                y: [n, cout, h + 2 * p - k + 1, w + 2 * p - k + 1],
                kernel: [k, k],
                stride: [1, 1],
                padding: [p, p],
            };
            if !handles(&s) {
                eprintln!("no AVX-512 here: the direct kernels are not exercised");
                return;
            }
            let x = fill(n * cin * h * w, 1);
            let wt = fill(cout * cin * k * k, 2);
            let bias = fill(cout, 3);
            let g = fill(s.y.iter().product(), 4);
            let want_y = gemm_conv::forward_chunked(&x, &wt, Some(&bias), &s, 1 << 20);
            let want_dw = gemm_conv::weight_grad_chunked(&x, &g, &s, 1 << 20);
            let y = forward(&x, &wt, Some(&bias), &s).expect("handled");
            let dw = weight_grad(&x, &g, &s).expect("handled");
            let (ey, ew) = (max_rel_err(&y, &want_y), max_rel_err(&dw, &want_dw));
            assert!(ey < 1e-5, "forward {:?}: relative error {ey}", s.y);
            assert!(ew < 1e-5, "weight gradient {:?}: relative error {ew}", s.y);
        }
    }

    #[test]
    fn wide_or_strided_layers_are_left_to_the_gemm() {
        let s = |cout, stride| ConvShape {
            x: [1, 8, 16, 16],
            y: [1, cout, 16 / stride, 16 / stride],
            kernel: [3, 3],
            stride: [stride, stride],
            padding: [1, 1],
        };
        let x = fill(8 * 16 * 16, 1);
        assert!(weight_grad(&x, &fill(4 * 256, 2), &s(4, 1)).is_none());
        assert!(weight_grad(&x, &fill(64, 2), &s(1, 2)).is_none());
    }
}
