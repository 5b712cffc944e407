//! Layout moves on raw `f32` values for the plain CPU backends, in parallel over the planes:
//! the sub-kernels and the depth-to-space interleave of a phase split (`transposed_by_phases`).
//! As burn ops these are a matmul with a 0/1 map and `reshape` / `permute` / `reshape`, which
//! flex runs as strided copies on the calling thread: in a `perf` profile of stylize512 the
//! interleave alone was 14% of the samples, with the second core idle. (Reflection padding's
//! raw forward, the other 7% of that profile, is in module `pad`.)

use super::{cpu, with_values, Cpu};
use burn::prelude::*;
use rayon::prelude::*;

/// Whether `B` is a plain CPU backend (flex or ndarray without autodiff), where this module's
/// functions apply; elsewhere callers keep burn's ops.
pub fn plain_cpu<B: Backend>() -> bool {
    matches!(cpu::<B>(), Some(Cpu::Inference))
}

/// The sub-kernels of a phase split, `[phases * C_in, C_out, ty, tx]` (`dims`), from a
/// convolution weight `[C_out, C_in, kh, kw]` on a [`plain_cpu`] backend: each `(tap, cell)` of
/// `pairs` copies weight tap `ky * kw + kx` into cell `(phase * ty + t) * tx + u`; the other
/// cells are zero.
pub fn phase_kernel<B: Backend>(
    weight: Tensor<B, 4>,
    pairs: &[(usize, usize)],
    dims: [usize; 4],
) -> Tensor<B, 4> {
    let device = weight.device();
    let [cout, cin, kh, kw] = weight.dims();
    let [pc, _, ty, tx] = dims;
    assert_eq!(pc % cin, 0, "phase_kernel: phase channels");
    let cell_len = ty * tx;
    // Each phase's (tap, cell within the sub-kernel) pairs.
    let mut per_phase = vec![Vec::new(); pc / cin];
    for &(tap, cell) in pairs {
        per_phase[cell / cell_len].push((tap, cell % cell_len));
    }
    let out = with_values(weight, |w| {
        let mut out = vec![0.0f32; pc * cout * cell_len];
        // One (phase, C_in channel) block of C_out sub-kernels per task.
        out.par_chunks_mut(cout * cell_len)
            .enumerate()
            .for_each(|(block, dst)| {
                let (phase, ci) = (block / cin, block % cin);
                // Output channel outermost: its kh*kw taps are adjacent in `w` (the other
                // order read one value per cache line, 2.5% of a cyclegan step).
                for (co, sub) in dst.chunks_mut(cell_len).enumerate() {
                    let taps = &w[(co * cin + ci) * kh * kw..][..kh * kw];
                    for &(tap, cell) in &per_phase[phase] {
                        sub[cell] = taps[tap];
                    }
                }
            });
        out
    });
    Tensor::from_data(TensorData::new(out, dims), &device)
}

/// Where the phases of a phase-split output sit: `[N, sy * sx * C, ..]`, phase `(a, b)`'s
/// channel `c` at `(a * sx + b) * C + c`, each phase's rows and columns starting at `offset`.
pub struct Phases {
    pub stride: [usize; 2],
    pub offset: [usize; 2],
    /// Rows and columns each phase contributes.
    pub rows: [usize; 2],
}

/// The phases interleaved into `[N, C, H, W]` (output pixel `(i sy + a, j sx + b)` from phase
/// `(a, b)`'s pixel `(i, j)`, cropped to `out_dims`) on a [`plain_cpu`] backend.
pub fn interleave<B: Backend>(
    y: Tensor<B, 4>,
    phases: &Phases,
    out_dims: [usize; 4],
) -> Tensor<B, 4> {
    let device = y.device();
    let dims = y.dims();
    let out = with_values(y, |y| interleave_values(y, dims, phases, out_dims));
    Tensor::from_data(TensorData::new(out, out_dims), &device)
}

/// [`interleave`] on values.
fn interleave_values(y: &[f32], dims: [usize; 4], ph: &Phases, out_dims: [usize; 4]) -> Vec<f32> {
    let [_, pc, hy, wy] = dims;
    let [_, c, h, w] = out_dims;
    let [sy, sx] = ph.stride;
    let [oy, ox] = ph.offset;
    assert_eq!(pc, sy * sx * c, "interleave: phase channels");
    assert!(
        h <= ph.rows[0] * sy && w <= ph.rows[1] * sx,
        "interleave: output larger than the phases"
    );
    assert!(
        oy + ph.rows[0] <= hy && ox + ph.rows[1] <= wy,
        "interleave: phase window"
    );
    let mut out = vec![0.0f32; out_dims.iter().product()];
    out.par_chunks_mut(h * w)
        .enumerate()
        .for_each(|(plane, dst)| {
            let (b, ch) = (plane / c, plane % c);
            for (r, row) in dst.chunks_mut(w).enumerate() {
                let (i, a) = (r / sy, r % sy);
                for bx in 0..sx.min(w) {
                    let src_plane = (b * pc + (a * sx + bx) * c + ch) * hy * wy;
                    let src = &y[src_plane + (oy + i) * wy + ox..][..ph.rows[1]];
                    for (v, s) in row[bx..].iter_mut().step_by(sx).zip(src) {
                        *v = *s;
                    }
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    fn ramp(dims: [usize; 4]) -> Tensor<Flex, 4> {
        let len = dims.iter().product::<usize>();
        let v: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
        Tensor::from_data(TensorData::new(v, dims), &Default::default())
    }

    #[test]
    fn only_plain_cpu_backends_take_the_raw_path() {
        assert!(plain_cpu::<Flex>());
        assert!(!plain_cpu::<burn::backend::Autodiff<Flex>>());
    }

    #[test]
    fn raw_interleave_equals_reshape_permute_reshape() {
        // 2x2 and 2x1 phases, with an offset window and a crop of the last row and column.
        for (stride, offset, rows, crop) in [
            ([2, 2], [1, 0], [4, 5], [7, 9]),
            ([2, 1], [0, 1], [3, 4], [6, 4]),
        ] {
            let (n, c) = (2, 3);
            let [sy, sx] = stride;
            let y = ramp([n, sy * sx * c, offset[0] + rows[0] + 1, offset[1] + rows[1]]);
            let want = y
                .clone()
                .slice([
                    0..n,
                    0..sy * sx * c,
                    offset[0]..offset[0] + rows[0],
                    offset[1]..offset[1] + rows[1],
                ])
                .reshape([n, sy, sx, c, rows[0], rows[1]])
                .permute([0, 3, 4, 1, 5, 2])
                .reshape([n, c, rows[0] * sy, rows[1] * sx])
                .slice([0..n, 0..c, 0..crop[0], 0..crop[1]]);
            let phases = Phases {
                stride,
                offset,
                rows,
            };
            let got = interleave(y, &phases, [n, c, crop[0], crop[1]]);
            got.into_data().assert_eq(&want.into_data(), true);
        }
    }
}
