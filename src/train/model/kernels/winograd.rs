//! 3x3 stride-1 convolutions by Winograd's minimal filtering, F(2x2, 3x3): each 2x2 block of
//! outputs from a 4x4 block of inputs in 16 multiplies per channel pair instead of 36, so the
//! GEMMs do 4/9 of im2col's arithmetic. The residual blocks of every generator are such layers
//! (CycleGAN's 256-channel blocks are 88% of its generator's arithmetic), and so is the input
//! gradient of any of them (a 3x3 stride-1 convolution of the output gradient with the flipped
//! weight, padding 2 - p), which reaches this module through [`super::gemm_conv::forward_f32`].
//!
//! With `d` a 4x4 input tile, `g` a 3x3 kernel and `y` a 2x2 output tile,
//! `y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`, summed over input channels: for each of the 16 positions ξ
//! of the transformed tile, one GEMM `M_ξ [C_out, tiles] = U_ξ [C_out, C_in] x V_ξ [C_in, tiles]`
//! between the input transform and the output transform. The transforms only add, subtract and
//! halve, so values match im2col + GEMM to a few units in the last place (tests compare both).
//!
//! The 16 GEMMs of a chunk run one per task, each on one thread. The transformed inputs and
//! outputs are `[channel][ξ][tile]`, so each transform writes one contiguous block per channel;
//! tiles run in chunks of whole tile rows (spanning images when they are small), a few MB at a
//! time, in buffers kept per thread. The weight gradient stays im2col + GEMM: its Winograd form
//! (the same identity differentiated) measured no faster here. Per layer and per step:
//! docs/benchmarks.md, "Ninth pass".

use super::gemm_conv::{gemm_rows, planes_filled, ConvShape};
use rayon::prelude::*;
use std::cell::Cell;
use std::ops::Range;

/// Fewest input and output channels this module takes: at 32 it measured even with im2col
/// (docs/benchmarks.md, "Ninth pass"), with 16 GEMMs that short a side each.
const MIN_CHANNELS: usize = 64;

/// About this many floats of transformed inputs and outputs per chunk.
const CHUNK_FLOATS: usize = 1 << 22;

/// The output of [`super::gemm_conv::forward_f32`], when this module handles the shape.
pub fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, s: &ConvShape) -> Option<Vec<f32>> {
    let enough = s.x[1] >= MIN_CHANNELS && s.y[1] >= MIN_CHANNELS;
    Grid::new(s)
        .filter(|_| enough)
        .map(|g| g.forward(x, weight, bias, CHUNK_FLOATS))
}

/// A convolution's shape as 2x2 output tiles: `th` rows of `tw` tiles per image, tile row `r`
/// of the whole batch being row `r % th` of image `r / th`.
#[derive(Debug, Clone, Copy)]
struct Grid {
    n: usize,
    cin: usize,
    cout: usize,
    h: usize,
    w: usize,
    ho: usize,
    wo: usize,
    pad: [usize; 2],
    th: usize,
    tw: usize,
}

impl Grid {
    /// The grid of a 3x3 stride-1 convolution, else `None`.
    fn new(s: &ConvShape) -> Option<Self> {
        let [n, cin, h, w] = s.x;
        let [_, cout, ho, wo] = s.y;
        let takes = s.kernel == [3, 3]
            && s.stride == [1, 1]
            && s.padding[0] <= 2
            && s.padding[1] <= 2
            && ho > 0
            && wo > 0;
        takes.then(|| Grid {
            n,
            cin,
            cout,
            h,
            w,
            ho,
            wo,
            pad: s.padding,
            th: ho.div_ceil(2),
            tw: wo.div_ceil(2),
        })
    }

    /// Tile rows per chunk, for `channels` transformed channels in flight.
    fn chunk_rows(&self, channels: usize, chunk_floats: usize) -> usize {
        (chunk_floats / (16 * channels * self.tw)).clamp(1, self.n * self.th)
    }

    fn forward(&self, x: &[f32], weight: &[f32], bias: Option<&[f32]>, chunk: usize) -> Vec<f32> {
        let Grid {
            n,
            cin,
            cout,
            ho,
            wo,
            tw,
            ..
        } = *self;
        assert_eq!(x.len(), n * cin * self.h * self.w, "winograd: input length");
        assert_eq!(weight.len(), cout * cin * 9, "winograd: weight length");
        let mut y = planes_filled(n * cout, ho * wo, |_| 0.0);
        let rows_per_chunk = self.chunk_rows(cin + cout, chunk);
        with_scratch(|[u, v, m]| {
            filter_transform(weight, cout, cin, u);
            let mut r0 = 0;
            while r0 < n * self.th {
                let r1 = (r0 + rows_per_chunk).min(n * self.th);
                let tc = (r1 - r0) * tw;
                self.input_transform(x, r0..r1, sized(v, cin * 16 * tc));
                let m = sized(m, cout * 16 * tc);
                // M_ξ [cout x tc] = U_ξ [cout x cin] x V_ξ [cin x tc], one task per ξ.
                let (mp, up, vp) = (Shared(m.as_mut_ptr()), Shared::of(u), Shared::of(v));
                (0..16).into_par_iter().for_each(|xi| {
                    // SAFETY: `m` is cout x [16 x tc], `u` 16 x [cout x cin], `v` cin x [16 x tc];
                    // task ξ writes only column block ξ of `m`.
                    unsafe {
                        gemm_rows(
                            [cout, tc, cin],
                            (mp.at(xi * tc), 16 * tc),
                            (up.at(xi * cout * cin), cin),
                            (vp.at(xi * tc), 16 * tc),
                            false,
                            gemm::Parallelism::None,
                        );
                    }
                });
                self.output_transform(m, bias, r0..r1, &mut y);
                r0 = r1;
            }
        });
        y
    }

    /// `V = Bᵀ d B` of every tile in tile rows `rows`, as `[C_in][ξ][tile]` (tiles numbered
    /// from the chunk's first).
    fn input_transform(&self, x: &[f32], rows: Range<usize>, v: &mut [f32]) {
        let (h, w, tw, th, cin) = (self.h, self.w, self.tw, self.th, self.cin);
        let [py, px] = self.pad;
        // A tile row reads padded columns 0..2 tw + 2, input column c at c + px.
        let width = 2 * tw + 2;
        let tc = rows.len() * tw;
        v.par_chunks_mut(16 * tc).enumerate().for_each_init(
            || vec![0.0f32; 4 * width + 16 * (tw + 1)],
            |scratch, (ci, out)| {
                let mut out = split::<16>(out, tc);
                let (padded, sums) = scratch.split_at_mut(4 * width);
                let [e0, e1, e2, e3, o0, o1, o2, o3, te0, te1, te2, te3, to0, to1, to2, to3] =
                    split::<16>(sums, tw + 1);
                for (k, r) in rows.clone().enumerate() {
                    let (b, i) = (r / th, r % th);
                    let plane = &x[(b * cin + ci) * h * w..][..h * w];
                    for (rr, row) in padded.chunks_exact_mut(width).enumerate() {
                        let iy = (2 * i + rr).wrapping_sub(py);
                        if iy < h {
                            row[..px].fill(0.0);
                            row[px..px + w].copy_from_slice(&plane[iy * w..][..w]);
                            row[px + w..].fill(0.0);
                        } else {
                            row.fill(0.0);
                        }
                    }
                    // Even and odd columns of the four rows.
                    let evens = [&mut *e0, &mut *e1, &mut *e2, &mut *e3];
                    let odds = [&mut *o0, &mut *o1, &mut *o2, &mut *o3];
                    for ((e, o), row) in evens.into_iter().zip(odds).zip(padded.chunks_exact(width))
                    {
                        for ((e, o), pair) in
                            e.iter_mut().zip(o.iter_mut()).zip(row.chunks_exact(2))
                        {
                            *e = pair[0];
                            *o = pair[1];
                        }
                    }
                    // Bᵀ over rows: (d0 - d2, d1 + d2, d2 - d1, d1 - d3).
                    rows_b(
                        [&*e0, &*e1, &*e2, &*e3],
                        [&mut *te0, &mut *te1, &mut *te2, &mut *te3],
                    );
                    rows_b(
                        [&*o0, &*o1, &*o2, &*o3],
                        [&mut *to0, &mut *to1, &mut *to2, &mut *to3],
                    );
                    // B over columns, with u = (te[j], to[j], te[j + 1], to[j + 1]).
                    let t0 = k * tw;
                    let sums = [
                        (&*te0, &*to0),
                        (&*te1, &*to1),
                        (&*te2, &*to2),
                        (&*te3, &*to3),
                    ];
                    for ((te, to), quad) in sums.into_iter().zip(out.chunks_exact_mut(4)) {
                        let [c0, c1, c2, c3] = quad else {
                            unreachable!("chunks of four")
                        };
                        let (c0, c1) = (&mut c0[t0..t0 + tw], &mut c1[t0..t0 + tw]);
                        let (c2, c3) = (&mut c2[t0..t0 + tw], &mut c3[t0..t0 + tw]);
                        let (te, to) = (&te[..tw + 1], &to[..tw + 1]);
                        for j in 0..tw {
                            c0[j] = te[j] - te[j + 1];
                            c1[j] = to[j] + te[j + 1];
                            c2[j] = te[j + 1] - to[j];
                            c3[j] = to[j] - to[j + 1];
                        }
                    }
                }
            },
        );
    }

    /// `y = Aᵀ M A` of every tile in tile rows `rows`, from `m` as `[C_out][ξ][tile]`, plus the
    /// bias, into the NCHW output.
    fn output_transform(&self, m: &[f32], bias: Option<&[f32]>, rows: Range<usize>, y: &mut [f32]) {
        let (ho, wo, tw, th, cout) = (self.ho, self.wo, self.tw, self.th, self.cout);
        let tc = rows.len() * tw;
        let (b0, b1) = (rows.start / th, (rows.end - 1) / th);
        for b in b0..=b1 {
            // This image's tile rows within the chunk.
            let i0 = rows.start.max(b * th) - b * th;
            let i1 = rows.end.min((b + 1) * th) - b * th;
            let first = (b * th + i0 - rows.start) * tw;
            y[b * cout * ho * wo..(b + 1) * cout * ho * wo]
                .par_chunks_mut(ho * wo)
                .enumerate()
                .for_each(|(co, plane)| {
                    let bias = bias.map_or(0.0, |b| b[co]);
                    for i in i0..i1 {
                        let t0 = first + (i - i0) * tw;
                        let mt: [&[f32]; 16] =
                            std::array::from_fn(|xi| &m[(co * 16 + xi) * tc + t0..][..tw]);
                        for r in 0..2 {
                            let oy = 2 * i + r;
                            if oy >= ho {
                                break;
                            }
                            let row = &mut plane[oy * wo..][..wo];
                            for j in 0..tw {
                                // Aᵀ over rows (m0 + m1 + m2, m1 - m2 - m3) for output row r,
                                // per column l, then over columns.
                                let s = |l: usize| {
                                    let c = [mt[l][j], mt[4 + l][j], mt[8 + l][j], mt[12 + l][j]];
                                    if r == 0 {
                                        c[0] + c[1] + c[2]
                                    } else {
                                        c[1] - c[2] - c[3]
                                    }
                                };
                                let (s0, s1, s2, s3) = (s(0), s(1), s(2), s(3));
                                row[2 * j] = bias + s0 + s1 + s2;
                                if 2 * j + 1 < wo {
                                    row[2 * j + 1] = bias + s1 - s2 - s3;
                                }
                            }
                        }
                    }
                });
        }
    }
}

/// `out[k] = Bᵀ rows, (d0 - d2, d1 + d2, d2 - d1, d1 - d3)`, element by element.
fn rows_b([d0, d1, d2, d3]: [&[f32]; 4], [o0, o1, o2, o3]: [&mut [f32]; 4]) {
    let n = o0.len();
    let (d0, d1, d2, d3) = (&d0[..n], &d1[..n], &d2[..n], &d3[..n]);
    let (o1, o2, o3) = (&mut o1[..n], &mut o2[..n], &mut o3[..n]);
    for m in 0..n {
        o0[m] = d0[m] - d2[m];
        o1[m] = d1[m] + d2[m];
        o2[m] = d2[m] - d1[m];
        o3[m] = d1[m] - d3[m];
    }
}

/// `U = G g Gᵀ` of every kernel into `u`, as `[ξ][C_out][C_in]`: one GEMM of the 16 x 9
/// matrix `G ⊗ G` with the kernels, `[16, C_out * C_in] = (G ⊗ G) [16, 9] x Wᵀ [9, C_out * C_in]`
/// (the kernels read in place, as a column-major right-hand side). Written as a loop over
/// kernels it was memory-bound and slower than this by three.
fn filter_transform(weight: &[f32], cout: usize, cin: usize, u: &mut Vec<f32>) {
    const G: [[f32; 3]; 4] = [
        [1.0, 0.0, 0.0],
        [0.5, 0.5, 0.5],
        [0.5, -0.5, 0.5],
        [0.0, 0.0, 1.0],
    ];
    let mut kron = [0.0f32; 16 * 9];
    for (xi, row) in kron.chunks_exact_mut(9).enumerate() {
        for (tap, v) in row.iter_mut().enumerate() {
            *v = G[xi / 4][tap / 3] * G[xi % 4][tap % 3];
        }
    }
    let cols = cout * cin;
    let u = sized(u, 16 * cols);
    assert_eq!(weight.len(), 9 * cols, "winograd: weight length");
    // SAFETY: `u` holds 16 rows of `cols`, `kron` 16 rows of 9, and `weight` `cols` kernels of
    // 9 taps, which is the 9 x cols matrix read with column stride 9.
    unsafe {
        gemm::gemm(
            16,
            cols,
            9,
            u.as_mut_ptr(),
            1,
            cols as isize,
            false,
            kron.as_ptr(),
            1,
            9,
            weight.as_ptr(),
            9,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(rayon::current_num_threads()),
        );
    }
}

/// The first `N` consecutive blocks of `len` values.
fn split<const N: usize>(mut s: &mut [f32], len: usize) -> [&mut [f32]; N] {
    std::array::from_fn(|_| {
        let (head, tail) = std::mem::take(&mut s).split_at_mut(len);
        s = tail;
        head
    })
}

/// `buffer`'s first `len` values, grown if it is shorter (what was there is overwritten by
/// whoever asked for them).
fn sized(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}

thread_local! {
    /// Transformed kernels, inputs and outputs, kept per thread between calls: allocated per
    /// call, their first touch (page faults on a few MB) cost as much as the GEMMs.
    static SCRATCH: Cell<[Vec<f32>; 3]> = const { Cell::new([Vec::new(), Vec::new(), Vec::new()]) };
}

/// `f` with this thread's three scratch buffers (a nested call gets fresh ones).
fn with_scratch<R>(f: impl FnOnce(&mut [Vec<f32>; 3]) -> R) -> R {
    let mut scratch = SCRATCH.with(Cell::take);
    let out = f(&mut scratch);
    SCRATCH.with(|s| s.set(scratch));
    out
}

/// A buffer the 16 GEMM tasks share, each writing its own column block.
#[derive(Clone, Copy)]
struct Shared(*mut f32);

impl Shared {
    /// A buffer the tasks only read.
    fn of(values: &[f32]) -> Self {
        Shared(values.as_ptr() as *mut f32)
    }

    /// The pointer `offset` elements in.
    ///
    /// # Safety
    /// `offset` lies inside the buffer.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.add(offset) }
    }
}

// SAFETY: the tasks that share one write disjoint elements (one ξ block each) or only read.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

#[cfg(test)]
mod tests {
    use super::super::gemm_conv::forward_chunked;
    use super::*;
    use crate::train::model::kernels::tests::{fill, max_rel_err};

    #[test]
    fn matches_im2col_on_odd_sizes_paddings_and_chunks() {
        // (batch, cin, cout, h, w, padding): even and odd outputs, all three paddings, the
        // input gradient's padding 2 and one layer that narrows.
        let cases = [
            (1, 16, 16, 8, 8, [1, 1]),
            (2, 16, 24, 9, 7, [0, 0]),
            (3, 20, 16, 6, 11, [2, 2]),
            (2, 32, 16, 10, 10, [0, 1]),
        ];
        for (n, cin, cout, h, w, padding) in cases {
            let (ho, wo) = (h + 2 * padding[0] - 2, w + 2 * padding[1] - 2);
            let s = ConvShape {
                x: [n, cin, h, w],
                y: [n, cout, ho, wo],
                kernel: [3, 3],
                stride: [1, 1],
                padding,
            };
            let g = Grid::new(&s).expect("a 3x3 stride-1 shape");
            let x = fill(n * cin * h * w, 1);
            let wt = fill(cout * cin * 9, 3);
            let bias = fill(cout, 5);
            let want_y = forward_chunked(&x, &wt, Some(&bias), &s, 1 << 20);
            // One tile row per chunk, chunks across images, and everything at once.
            for chunk in [1, 16 * (cin + cout) * g.tw * 3, 1 << 22] {
                let y = g.forward(&x, &wt, Some(&bias), chunk);
                let err = max_rel_err(&y, &want_y);
                assert!(
                    err < 1e-5,
                    "forward {s:?} chunk {chunk}: relative error {err}"
                );
            }
        }
    }

    #[test]
    fn takes_only_3x3_stride_1_with_enough_channels() {
        let shape = |cin, cout, k, stride| ConvShape {
            x: [1, cin, 8, 8],
            y: [1, cout, 8 / stride, 8 / stride],
            kernel: [k, k],
            stride: [stride, stride],
            padding: [1, 1],
        };
        let takes = |s: ConvShape| {
            let [_, cin, h, w] = s.x;
            let (x, weight) = (
                fill(cin * h * w, 1),
                fill(s.y[1] * cin * s.kernel[0] * s.kernel[1], 2),
            );
            forward(&x, &weight, None, &s).is_some()
        };
        assert!(takes(shape(64, 64, 3, 1)));
        assert!(!takes(shape(32, 64, 3, 1)), "32 input channels");
        assert!(!takes(shape(64, 3, 3, 1)), "an RGB head");
        assert!(!takes(shape(64, 64, 4, 1)), "a 4x4 kernel");
        assert!(!takes(shape(64, 64, 3, 2)), "stride 2");
    }
}
