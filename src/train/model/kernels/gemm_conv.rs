//! Convolution on the CPU as im2col + GEMM over raw `f32` slices, batch by batch and in chunks
//! of output rows (so the columns stay a few MB even for a 7x7 kernel at 128 px), the columns
//! written in parallel straight from NCHW, the GEMM by the `gemm` crate (flex's own):
//!
//! - forward: `y_n[C_out, positions] = W[C_out, C_in*kh*kw] x cols_n + bias`;
//! - weight gradient: `dW^T += cols_n x g_n^T`, accumulated as `[C_in*kh*kw, C_out]` and
//!   transposed once at the end (the output gradient is transposed per chunk, a few hundred KB:
//!   the GEMM runs several times faster with row-major `dst` and `rhs` than with the columns
//!   read transposed, which is how it was first written);
//! - layers with one to three output channels take module `thin` instead (direct AVX-512).
//!
//! burn's generic weight gradient runs a convolution whose kernel is the whole output gradient,
//! which flex prepares with serial layout transposes and strided copies; in the single_style
//! profile it cost twice the forward pass (`examples/conv_profile.rs`).

use rayon::prelude::*;

/// Shapes and options of one convolution (groups 1, dilation 1).
#[derive(Debug, Clone, Copy)]
pub struct ConvShape {
    /// Input [N, C_in, H, W].
    pub x: [usize; 4],
    /// Output [N, C_out, Ho, Wo].
    pub y: [usize; 4],
    /// Kernel [kh, kw].
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

/// Columns per chunk: about 1M floats (4 MB) of im2col at a time.
const CHUNK_FLOATS: usize = 1 << 20;

/// The weight gradient `[C_out, C_in, kh, kw]` (flattened) of a convolution with input `x` and
/// output gradient `grad`, both NCHW and contiguous.
pub fn weight_grad_f32(x: &[f32], grad: &[f32], s: &ConvShape) -> Vec<f32> {
    super::thin::weight_grad(x, grad, s)
        .unwrap_or_else(|| weight_grad_chunked(x, grad, s, CHUNK_FLOATS))
}

/// The weight gradient through im2col + GEMM, `chunk_floats` floats of columns at a time.
pub(super) fn weight_grad_chunked(
    x: &[f32],
    grad: &[f32],
    s: &ConvShape,
    chunk_floats: usize,
) -> Vec<f32> {
    let [n, cin, h, w] = s.x;
    let [_, cout, ho, wo] = s.y;
    let [kh, kw] = s.kernel;
    let rows = cin * kh * kw;
    assert_eq!(x.len(), n * cin * h * w, "weight_grad_f32: input length");
    assert_eq!(
        grad.len(),
        n * cout * ho * wo,
        "weight_grad_f32: gradient length"
    );
    let mut dw = vec![0.0f32; cout * rows];
    if ho == 0 || wo == 0 {
        return dw;
    }
    // dW^T [rows x C_out] += cols [rows x len] * g^T [len x C_out], with the output gradient
    // transposed per chunk: the `gemm` crate runs 3 to 5 times faster with both `dst` and
    // `rhs` row-major than with the columns read transposed as `rhs` (`dW += g * cols^T`).
    let mut dwt = vec![0.0f32; rows * cout];
    let mut gt = Vec::new();
    for_each_chunk(x, s, chunk_floats, |b, oy0, len, cols| {
        let gb = &grad[b * cout * ho * wo..(b + 1) * cout * ho * wo];
        gt.resize(len * cout, 0.0);
        transpose_into(gb, ho * wo, oy0 * wo, [cout, len], &mut gt);
        // SAFETY: `dwt` is rows x cout and `cols` rows x len, both row-major; `gt` is
        // len x cout row-major; lengths are set above.
        unsafe {
            accumulate(
                [rows, cout, len],
                (dwt.as_mut_ptr(), cout),
                (cols.as_ptr(), len),
                (gt.as_ptr(), cout),
            );
        }
    });
    transpose_into(&dwt, cout, 0, [rows, cout], &mut dw);
    dw
}

/// `dst[j * m + i] = src[i * src_rs + offset + j]` for `i < m`, `j < n`: an `m x n` window of
/// `src` (rows `src_rs` apart, starting at column `offset`) written transposed, in 32 x 32 tiles,
/// a band of 32 `dst` rows per task.
fn transpose_into(src: &[f32], src_rs: usize, offset: usize, [m, n]: [usize; 2], dst: &mut [f32]) {
    const TILE: usize = 32;
    dst[..n * m]
        .par_chunks_mut(TILE * m)
        .enumerate()
        .for_each(|(band, dst)| {
            let j0 = band * TILE;
            let width = dst.len() / m;
            for i0 in (0..m).step_by(TILE) {
                for i in i0..(i0 + TILE).min(m) {
                    let row = &src[i * src_rs + offset + j0..][..width];
                    for (jj, v) in row.iter().enumerate() {
                        dst[jj * m + i] = *v;
                    }
                }
            }
        });
}

/// The output `[N, C_out, Ho, Wo]` (flattened) of a convolution of `x` with `weight`
/// (`[C_out, C_in, kh, kw]`) and `bias`, all contiguous.
pub fn forward_f32(x: &[f32], weight: &[f32], bias: Option<&[f32]>, s: &ConvShape) -> Vec<f32> {
    super::thin::forward(x, weight, bias, s)
        .or_else(|| super::winograd::forward(x, weight, bias, s))
        .unwrap_or_else(|| forward_chunked(x, weight, bias, s, CHUNK_FLOATS))
}

/// The output through im2col + GEMM, `chunk_floats` floats of columns at a time.
pub(super) fn forward_chunked(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    s: &ConvShape,
    chunk_floats: usize,
) -> Vec<f32> {
    let [n, cin, h, w] = s.x;
    let [_, cout, ho, wo] = s.y;
    let [kh, kw] = s.kernel;
    let rows = cin * kh * kw;
    assert_eq!(x.len(), n * cin * h * w, "forward_f32: input length");
    assert_eq!(weight.len(), cout * rows, "forward_f32: weight length");
    if ho == 0 || wo == 0 {
        return vec![0.0; n * cout * ho * wo];
    }
    if let Some(bias) = bias {
        assert_eq!(bias.len(), cout, "forward_f32: bias length");
    }
    let mut y = planes_filled(n * cout, ho * wo, |i| bias.map_or(0.0, |b| b[i % cout]));
    for_each_chunk(x, s, chunk_floats, |b, oy0, len, cols| {
        let yb = &mut y[b * cout * ho * wo..(b + 1) * cout * ho * wo];
        // y[cout x len] (= bias) += W[cout x rows] * cols[rows x len]
        // SAFETY: `yb` holds cout rows of ho*wo (columns oy0*wo..oy0*wo+len written),
        // `weight` is cout x rows and `cols` rows x len, all row-major; lengths checked above.
        unsafe {
            accumulate(
                [cout, len, rows],
                (yb.as_mut_ptr().add(oy0 * wo), ho * wo),
                (weight.as_ptr(), rows),
                (cols.as_ptr(), len),
            );
        }
    });
    y
}

/// `planes` planes of `len` values, plane `i` filled with `value(i)`, written in parallel (the
/// output of a layer is megabytes: zeroed on the calling thread, it was a serial 1.5% of a
/// training step).
pub(super) fn planes_filled(
    planes: usize,
    len: usize,
    value: impl Fn(usize) -> f32 + Sync,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(planes * len);
    out.spare_capacity_mut()[..planes * len]
        .par_chunks_mut(len.max(1))
        .enumerate()
        .for_each(|(i, plane)| {
            let v = value(i);
            for x in plane {
                x.write(v);
            }
        });
    // SAFETY: the loop above wrote all planes * len values.
    unsafe { out.set_len(planes * len) };
    out
}

/// `dst[m x n] += lhs[m x k] * rhs[k x n]` on rayon's threads: [`gemm_rows`], accumulating.
///
/// # Safety
/// As for [`gemm_rows`].
unsafe fn accumulate(
    dims: [usize; 3],
    dst: (*mut f32, usize),
    lhs: (*const f32, usize),
    rhs: (*const f32, usize),
) {
    let threads = gemm::Parallelism::Rayon(rayon::current_num_threads());
    // SAFETY: forwarded from the caller.
    unsafe { gemm_rows(dims, dst, lhs, rhs, true, threads) }
}

/// `dst[m x n] (+)= lhs[m x k] * rhs[k x n]` (added when `add`, else overwritten), all three
/// row-major with the given row strides (the layout the `gemm` crate runs fastest).
///
/// # Safety
/// Every element the shapes and strides address must lie inside the pointed-to buffers.
pub(super) unsafe fn gemm_rows(
    [m, n, k]: [usize; 3],
    (dst, dst_rs): (*mut f32, usize),
    (lhs, lhs_rs): (*const f32, usize),
    (rhs, rhs_rs): (*const f32, usize),
    add: bool,
    parallelism: gemm::Parallelism,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            add,
            lhs,
            1,
            lhs_rs as isize,
            rhs,
            1,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// For each image and each chunk of its output rows (about `chunk_floats` floats of columns),
/// build the columns and hand them to `f(image, first output row, positions, columns)`.
fn for_each_chunk(
    x: &[f32],
    s: &ConvShape,
    chunk_floats: usize,
    mut f: impl FnMut(usize, usize, usize, &[f32]),
) {
    let [n, cin, h, w] = s.x;
    let [_, _, ho, wo] = s.y;
    let rows = cin * s.kernel[0] * s.kernel[1];
    let rows_per_chunk = (chunk_floats / (rows * wo).max(1)).clamp(1, ho.max(1));
    // The columns' buffer is kept per thread between calls: zeroing 4 MB afresh for every
    // layer was a serial 1% of a training step (im2col writes every value it hands out).
    let mut cols = COLUMNS.with(|c| c.take());
    if cols.len() < rows * rows_per_chunk * wo {
        cols.resize(rows * rows_per_chunk * wo, 0.0);
    }
    for b in 0..n {
        let xb = &x[b * cin * h * w..(b + 1) * cin * h * w];
        let mut oy0 = 0;
        while oy0 < ho {
            let oy1 = (oy0 + rows_per_chunk).min(ho);
            let len = (oy1 - oy0) * wo;
            let cols = &mut cols[..rows * len];
            im2col(xb, s, oy0, oy1, cols);
            f(b, oy0, len, cols);
            oy0 = oy1;
        }
    }
    COLUMNS.with(|c| c.replace(cols));
}

thread_local! {
    /// [`for_each_chunk`]'s columns, taken out while in use (a nested call gets a fresh one).
    static COLUMNS: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Columns of output rows `oy0..oy1` of one image: row `(ci, ky, kx)` holds the input value each
/// output position reads through that tap (zero in the padding).
fn im2col(x: &[f32], s: &ConvShape, oy0: usize, oy1: usize, cols: &mut [f32]) {
    let [_, _, h, w] = s.x;
    let [_, _, _, wo] = s.y;
    let [kh, kw] = s.kernel;
    let [sy, sx] = s.stride;
    let [py, px] = s.padding;
    let len = (oy1 - oy0) * wo;
    cols.par_chunks_mut(len).enumerate().for_each(|(r, out)| {
        let (ci, ky, kx) = (r / (kh * kw), (r / kw) % kh, r % kw);
        let plane = &x[ci * h * w..(ci + 1) * h * w];
        // Output columns whose input column ox*sx + kx - px lies inside 0..w.
        let lo = px.saturating_sub(kx).div_ceil(sx).min(wo);
        let hi = if w + px > kx {
            ((w + px - kx - 1) / sx + 1).min(wo)
        } else {
            0
        };
        for (i, oy) in (oy0..oy1).enumerate() {
            let row = &mut out[i * wo..(i + 1) * wo];
            let iy = (oy * sy + ky) as isize - py as isize;
            if iy < 0 || iy >= h as isize || lo >= hi {
                row.fill(0.0);
                continue;
            }
            let src = &plane[iy as usize * w..(iy as usize + 1) * w];
            row[..lo].fill(0.0);
            row[hi..].fill(0.0);
            let first = lo * sx + kx - px;
            if sx == 1 {
                row[lo..hi].copy_from_slice(&src[first..first + (hi - lo)]);
            } else {
                for (j, v) in row[lo..hi].iter_mut().enumerate() {
                    *v = src[first + j * sx];
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::model::kernels::tests::fill;

    /// dW by the definition, one multiply-add at a time.
    fn direct(x: &[f32], g: &[f32], s: &ConvShape) -> Vec<f32> {
        let [n, cin, h, w] = s.x;
        let [_, cout, ho, wo] = s.y;
        let [kh, kw] = s.kernel;
        let mut dw = vec![0.0f32; cout * cin * kh * kw];
        for b in 0..n {
            for co in 0..cout {
                for ci in 0..cin {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let mut acc = 0.0;
                            for oy in 0..ho {
                                for ox in 0..wo {
                                    let iy =
                                        (oy * s.stride[0] + ky) as isize - s.padding[0] as isize;
                                    let ix =
                                        (ox * s.stride[1] + kx) as isize - s.padding[1] as isize;
                                    if (0..h as isize).contains(&iy)
                                        && (0..w as isize).contains(&ix)
                                    {
                                        let xv =
                                            x[((b * cin + ci) * h + iy as usize) * w + ix as usize];
                                        acc += xv * g[((b * cout + co) * ho + oy) * wo + ox];
                                    }
                                }
                            }
                            dw[((co * cin + ci) * kh + ky) * kw + kx] += acc;
                        }
                    }
                }
            }
        }
        dw
    }

    /// y by the definition.
    fn direct_forward(x: &[f32], wt: &[f32], bias: &[f32], s: &ConvShape) -> Vec<f32> {
        let [n, cin, h, w] = s.x;
        let [_, cout, ho, wo] = s.y;
        let [kh, kw] = s.kernel;
        let mut y = vec![0.0f32; n * cout * ho * wo];
        for b in 0..n {
            for co in 0..cout {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let mut acc = bias[co];
                        for ci in 0..cin {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy =
                                        (oy * s.stride[0] + ky) as isize - s.padding[0] as isize;
                                    let ix =
                                        (ox * s.stride[1] + kx) as isize - s.padding[1] as isize;
                                    if (0..h as isize).contains(&iy)
                                        && (0..w as isize).contains(&ix)
                                    {
                                        acc += x
                                            [((b * cin + ci) * h + iy as usize) * w + ix as usize]
                                            * wt[((co * cin + ci) * kh + ky) * kw + kx];
                                    }
                                }
                            }
                        }
                        y[((b * cout + co) * ho + oy) * wo + ox] = acc;
                    }
                }
            }
        }
        y
    }

    #[test]
    fn chunked_columns_give_the_definition() {
        // stride 2, padding 1, odd sizes.
        let (n, cin, h, w, cout, k) = (2, 3, 11, 9, 4, 4);
        let (ho, wo) = ((h + 2 - k) / 2 + 1, (w + 2 - k) / 2 + 1);
        let s = ConvShape {
            x: [n, cin, h, w],
            y: [n, cout, ho, wo],
            kernel: [k, k],
            stride: [2, 2],
            padding: [1, 1],
        };
        let x = fill(n * cin * h * w, 1);
        let g = fill(n * cout * ho * wo, 7);
        let want = direct(&x, &g, &s);
        // One output row per chunk, and everything in one chunk.
        let wt = fill(cout * cin * k * k, 3);
        let bias = fill(cout, 5);
        let want_y = direct_forward(&x, &wt, &bias, &s);
        let max_err = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max)
        };
        for chunk in [1, 1 << 20] {
            let got = weight_grad_chunked(&x, &g, &s, chunk);
            let err = max_err(&got, &want);
            assert!(
                err < 1e-4,
                "weight gradient, chunk {chunk}: max error {err}"
            );
            let y = forward_chunked(&x, &wt, Some(&bias), &s, chunk);
            let err = max_err(&y, &want_y);
            assert!(err < 1e-4, "forward, chunk {chunk}: max error {err}");
        }
    }
}
