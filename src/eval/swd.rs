//! Sliced Wasserstein distance between patch distributions, behind [`super`]'s style and texture
//! distances: square RGB patches at seeded positions are flattened to vectors, projected onto
//! seeded random unit directions, sorted, and compared quantile by quantile (SWD-1).

use super::filters::Rgbf;
use crate::rng::Rng;
use rayon::prelude::*;

/// Patches per parallel work item.
const CHUNK: usize = 256;

/// Fixed projection directions and sampling plan, shared by both sides of every comparison.
#[derive(Debug, Clone)]
pub(super) struct Projector {
    patch: usize,
    /// Patch vector length padded to a multiple of 8 (the padding is zero in every direction).
    stride: usize,
    /// `count` unit directions, `stride` values each.
    dirs: Vec<f32>,
    count: usize,
    samples: usize,
    seed: u64,
}

impl Projector {
    /// `projections` Gaussian directions in `3 * patch^2` dimensions, normalised, from `seed`.
    pub fn new(patch: usize, projections: usize, samples: usize, seed: u64) -> Self {
        let dim = 3 * patch * patch;
        let stride = dim.div_ceil(8) * 8;
        let mut rng = Rng::stream(seed, "eval/directions");
        let mut dirs = vec![0.0f32; projections * stride];
        for k in 0..projections {
            let (done, rest) = dirs.split_at_mut(k * stride);
            let dir = &mut rest[..stride];
            // Gaussian, then Gram-Schmidt against the earlier directions of its block of `dim`,
            // so that up to `dim` directions are orthonormal and cover the space evenly.
            let block = &done[(k - k % dim) * stride..];
            loop {
                for v in &mut dir[..dim] {
                    *v = rng.normal();
                }
                for prev in block.chunks_exact(stride) {
                    let d = dot(dir, prev);
                    dir.iter_mut().zip(prev).for_each(|(v, p)| *v -= d * p);
                }
                let norm = dir.iter().map(|v| v * v).sum::<f32>().sqrt();
                if norm > 1e-3 {
                    dir.iter_mut().for_each(|v| *v /= norm);
                    break;
                }
            }
        }
        Self {
            patch,
            stride,
            dirs,
            count: projections,
            samples,
            seed,
        }
    }

    /// Top-left corners of the sampled patches: every position when there are at most `samples`,
    /// else `samples` seeded draws (with replacement). Images of equal size get equal positions.
    fn positions(&self, w: usize, h: usize) -> Vec<(usize, usize)> {
        let (nx, ny) = (w + 1 - self.patch, h + 1 - self.patch);
        if nx * ny <= self.samples {
            (0..ny).flat_map(|y| (0..nx).map(move |x| (x, y))).collect()
        } else {
            let mut rng = Rng::stream(self.seed, "eval/patches");
            (0..self.samples)
                .map(|_| {
                    let x = rng.below(nx);
                    (x, rng.below(ny))
                })
                .collect()
        }
    }

    /// Projections of the image's sampled patches, one ascending vector per direction. The
    /// caller ensures the image is at least `patch` pixels on each side.
    pub fn sorted_projections(&self, img: &Rgbf) -> Vec<Vec<f32>> {
        let positions = self.positions(img.w, img.h);
        let (n, p, row_len) = (positions.len(), self.count, 3 * self.patch);
        let mut proj = vec![0.0f32; n * p];
        proj.par_chunks_mut(p * CHUNK)
            .zip(positions.par_chunks(CHUNK))
            .for_each(|(out, pos)| {
                let mut buf = vec![0.0f32; self.stride];
                for (o, &(x, y)) in out.chunks_exact_mut(p).zip(pos) {
                    for dy in 0..self.patch {
                        let start = ((y + dy) * img.w + x) * 3;
                        buf[dy * row_len..(dy + 1) * row_len]
                            .copy_from_slice(&img.px[start..start + row_len]);
                    }
                    for (v, dir) in o.iter_mut().zip(self.dirs.chunks_exact(self.stride)) {
                        *v = dot(&buf, dir);
                    }
                }
            });
        (0..p)
            .into_par_iter()
            .map(|d| {
                let mut col: Vec<f32> = proj.iter().skip(d).step_by(p).copied().collect();
                col.sort_unstable_by(f32::total_cmp);
                col
            })
            .collect()
    }
}

/// Dot product over lengths that are multiples of 8, in eight lanes.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for ((s, &x), &y) in acc.iter_mut().zip(ca).zip(cb) {
            *s += x * y;
        }
    }
    acc.iter().sum()
}

/// SWD-1: the mean over directions of the 1-D Wasserstein-1 distance between sorted projections.
pub(super) fn swd(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    let per_dir: Vec<f64> = a.par_iter().zip(b).map(|(x, y)| w1_sorted(x, y)).collect();
    per_dir.iter().sum::<f64>() / per_dir.len().max(1) as f64
}

/// Exact Wasserstein-1 distance between two empirical distributions given as ascending samples:
/// the integral over quantile levels t in [0, 1] of |Qa(t) - Qb(t)|, with step quantile
/// functions, so samples of different counts are compared at the same quantile levels. With equal
/// counts this is the mean absolute difference of the sorted samples. NaN if either is empty.
pub(super) fn w1_sorted(a: &[f32], b: &[f32]) -> f64 {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return f64::NAN;
    }
    if n == m {
        let total: f64 = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
            .sum();
        return total / n as f64;
    }
    let (mut i, mut j, mut t, mut acc) = (0usize, 0usize, 0.0f64, 0.0f64);
    while i < n && j < m {
        // Next breakpoint: (i + 1) / n or (j + 1) / m, compared exactly in integers.
        let (li, lj) = ((i as u128 + 1) * m as u128, (j as u128 + 1) * n as u128);
        let next = if li <= lj {
            (i + 1) as f64 / n as f64
        } else {
            (j + 1) as f64 / m as f64
        };
        acc += (next - t) * (f64::from(a[i]) - f64::from(b[j])).abs();
        t = next;
        if li <= lj {
            i += 1;
        }
        if lj <= li {
            j += 1;
        }
    }
    acc
}
