//! Periodicity of an image's fine detail: how much of it is one regular pattern repeated, a
//! weave or crosshatch laid over the picture, rather than strokes and edges that vary from place
//! to place. [`orientation_coherence`](super::orientation_coherence) catches a hatch in one
//! direction, but two crossing hatches (a diagonal weave) cancel in its doubled-angle votes and
//! score as low as a photo; a repeated pattern of any shape shows instead as sharp peaks in the
//! power spectrum.
//!
//! The luminance's high-pass band (sigma 2 px, as for the orientation) is cut into 32x32
//! windows (half overlapping, Hann-tapered, mean removed); each window with detail (energy above
//! a hundredth of the mean window's) contributes its power spectrum normalised to sum 1, so a weave
//! over a quiet sky counts by its area and not by its contrast against a busy facade. The
//! averaged spectrum (Welch's method) of a photo or a painting is smooth, or concentrated along
//! lines (an edge puts power at every frequency in one direction); a pattern repeated across
//! windows adds up in one spot, one period in one direction. The score is the share of the
//! averaged spectrum standing above its smooth part (`peak_excess`). Measured: 0.004-0.006 for
//! three photos at 512 px, 0.006 for starry_night.jpg at 512 px, 0.14-0.27 for 180-px crops of
//! golden_gate's sky under the diagonal weave of issue 26's models; the image is measured at its
//! own resolution (downscaling would blur a pattern one or two pixels wide away).

use super::filters::luma_detail;
use image::RgbImage;
use rayon::prelude::*;

/// Window side in pixels (frequency resolution 1/32 cycle per pixel).
pub(crate) const WIN: usize = 32;
/// Windows overlap by half.
pub(crate) const STRIDE: usize = WIN / 2;
/// Windows with less than this share of the mean window energy have no detail to count.
pub(crate) const FLOOR: f64 = 0.01;
/// Frequencies nearer 0 than this (in bins) are below the band's cut and not counted.
const MIN_RADIUS: f64 = 2.0;
/// Samples in each of a frequency's two medians.
pub(crate) const TAPS: usize = 7;
/// Where the smooth part of the spectrum is read along a frequency's direction (times it)...
const RADIAL: [f64; TAPS] = [0.7, 0.8, 0.9, 1.0, 1.12, 1.25, 1.4];
/// ...and around its ring (degrees turned).
const ANGULAR: [f64; TAPS] = [-30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0];

/// The periodicity of `img`'s fine detail, in [0, 1] (module docs). Images smaller than one
/// window, or without detail, give 0.
pub fn periodicity(img: &RgbImage) -> f64 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < WIN || h < WIN {
        return 0.0;
    }
    let band = luma_detail(img);
    let dft = Dft::new();
    let origins: Vec<(usize, usize)> = (0..=h - WIN)
        .step_by(STRIDE)
        .flat_map(|y0| (0..=w - WIN).step_by(STRIDE).map(move |x0| (x0, y0)))
        .collect();
    let energies: Vec<f64> = origins
        .par_iter()
        .map(|&(x0, y0)| energy(&dft.tapered(&band, w, x0, y0)))
        .collect();
    let mean_energy = energies.iter().sum::<f64>() / energies.len() as f64;
    if mean_energy <= 1e-12 {
        return 0.0;
    }
    let kept: Vec<(usize, usize)> = origins
        .iter()
        .zip(&energies)
        .filter(|(_, e)| **e > FLOOR * mean_energy)
        .map(|(o, _)| *o)
        .collect();
    if kept.is_empty() {
        return 0.0;
    }
    // In fixed chunks, summed in order: memory stays bounded on large images and the sum is
    // the same on every run.
    let mut avg = vec![0.0f64; WIN * WIN];
    for chunk in kept.chunks(256) {
        let spectra: Vec<Vec<f64>> = chunk
            .par_iter()
            .map(|&(x0, y0)| dft.power(&dft.tapered(&band, w, x0, y0)))
            .collect();
        for p in spectra {
            let e: f64 = p.iter().sum();
            for (a, v) in avg.iter_mut().zip(&p) {
                *a += v / e;
            }
        }
    }
    (peak_excess(&avg, &sites()) / avg.iter().sum::<f64>()).clamp(0.0, 1.0)
}

/// A bilinear read of the spectrum between bins: four (bin, weight) pairs.
pub(crate) type Sample = [(usize, f64); 4];

/// A counted frequency (at least `MIN_RADIUS` bins from 0): its bin, row-major `[ky][kx]`, and
/// where the smooth part of the spectrum is read there, along its radius (the same direction,
/// `RADIAL` times the frequency) and around its ring (the same frequency, turned by `ANGULAR`).
pub(crate) struct Site {
    pub(crate) bin: usize,
    pub(crate) radial: [Sample; TAPS],
    pub(crate) ring: [Sample; TAPS],
}

/// Every counted frequency of a `WIN`-square spectrum.
pub(crate) fn sites() -> Vec<Site> {
    let n = WIN as i64;
    let idx = |y: i64, x: i64| (y.rem_euclid(n) * n + x.rem_euclid(n)) as usize;
    // Bilinear, wrapping: the DFT's frequencies are periodic.
    let sample = |fy: f64, fx: f64| -> Sample {
        let (y0, x0) = (fy.floor(), fx.floor());
        let (wy, wx) = (fy - y0, fx - x0);
        let (y0, x0) = (y0 as i64, x0 as i64);
        [
            (idx(y0, x0), (1.0 - wy) * (1.0 - wx)),
            (idx(y0, x0 + 1), (1.0 - wy) * wx),
            (idx(y0 + 1, x0), wy * (1.0 - wx)),
            (idx(y0 + 1, x0 + 1), wy * wx),
        ]
    };
    let half = n / 2;
    (-half..half)
        .flat_map(|ky| (-half..half).map(move |kx| (ky, kx)))
        .filter_map(|(ky, kx)| {
            let (fy, fx) = (ky as f64, kx as f64);
            let r = fy.hypot(fx);
            if r < MIN_RADIUS {
                return None;
            }
            let theta = fy.atan2(fx);
            Some(Site {
                bin: idx(ky, kx),
                radial: RADIAL.map(|f| sample(fy * f, fx * f)),
                ring: ANGULAR.map(|d| {
                    let a = theta + d.to_radians();
                    sample(r * a.sin(), r * a.cos())
                }),
            })
        })
        .collect()
}

/// The spectrum's power above its smooth part, summed over the counted frequencies. The smooth
/// part at a frequency is the larger of the spectrum's medians along its radius and around its
/// ring ([`Site`]): an edge's ridge (every frequency in one direction) and strokes of one width
/// in every direction (one frequency, all directions) are smooth along one of the two, and only
/// a peak in both, one period in one direction, stands above it.
fn peak_excess(s: &[f64], sites: &[Site]) -> f64 {
    let median = |samples: &[Sample; TAPS]| {
        let mut v = samples.map(|p| p.iter().map(|&(i, w)| w * s[i]).sum::<f64>());
        v.sort_by(f64::total_cmp);
        v[TAPS / 2]
    };
    sites
        .iter()
        .map(|site| (s[site.bin] - median(&site.radial).max(median(&site.ring))).max(0.0))
        .sum()
}

/// A 32x32 discrete Fourier transform by rows then columns, with its twiddles and the Hann taper.
pub(crate) struct Dft {
    /// cos and sin of 2 pi i / `WIN`.
    pub(crate) cos: Vec<f64>,
    pub(crate) sin: Vec<f64>,
    /// The Hann taper along one side.
    pub(crate) taper: Vec<f64>,
}

impl Dft {
    pub(crate) fn new() -> Self {
        let angle = |i: usize| 2.0 * std::f64::consts::PI * i as f64 / WIN as f64;
        Self {
            cos: (0..WIN).map(|i| angle(i).cos()).collect(),
            sin: (0..WIN).map(|i| angle(i).sin()).collect(),
            taper: (0..WIN).map(|i| 0.5 - 0.5 * angle(i).cos()).collect(),
        }
    }

    /// The window of `band` at (`x0`, `y0`), mean removed and Hann-tapered, row-major.
    fn tapered(&self, band: &[f64], w: usize, x0: usize, y0: usize) -> Vec<f64> {
        let mut v: Vec<f64> = (0..WIN * WIN)
            .map(|i| band[(y0 + i / WIN) * w + x0 + i % WIN])
            .collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        for (i, x) in v.iter_mut().enumerate() {
            *x = (*x - mean) * self.taper[i / WIN] * self.taper[i % WIN];
        }
        v
    }

    /// The power spectrum of a tapered window (DC removed), row-major `[ky][kx]`.
    fn power(&self, v: &[f64]) -> Vec<f64> {
        // Rows: re/im of each row's transform.
        let (mut re, mut im) = (vec![0.0f64; WIN * WIN], vec![0.0f64; WIN * WIN]);
        for r in 0..WIN {
            for k in 0..WIN {
                let (mut a, mut b) = (0.0, 0.0);
                for x in 0..WIN {
                    let t = (k * x) % WIN;
                    a += v[r * WIN + x] * self.cos[t];
                    b -= v[r * WIN + x] * self.sin[t];
                }
                re[r * WIN + k] = a;
                im[r * WIN + k] = b;
            }
        }
        // Columns.
        let mut power = vec![0.0f64; WIN * WIN];
        for kx in 0..WIN {
            for ky in 0..WIN {
                let (mut a, mut b) = (0.0, 0.0);
                for r in 0..WIN {
                    let t = (ky * r) % WIN;
                    let (c, s) = (self.cos[t], self.sin[t]);
                    let (x, y) = (re[r * WIN + kx], im[r * WIN + kx]);
                    a += x * c + y * s;
                    b += y * c - x * s;
                }
                power[ky * WIN + kx] = a * a + b * b;
            }
        }
        power[0] = 0.0;
        power
    }
}

/// The power a tapered window's spectrum holds outside DC, by Parseval (the unnormalised DFT's
/// power sums to the window's size times its sum of squares; DC holds its sum squared), so
/// windows are sorted by detail without transforming them.
fn energy(v: &[f64]) -> f64 {
    let (sum, squares) = v.iter().fold((0.0, 0.0), |(s, q), x| (s + x, q + x * x));
    (v.len() as f64 * squares - sum * sum).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::orientation_coherence;
    use image::Rgb;

    use crate::eval::filters::grey_pattern as pattern;

    fn noise(w: u32, h: u32, seed: u64) -> Vec<f64> {
        let mut rng = crate::rng::Rng::new(seed);
        (0..w * h)
            .map(|_| f64::from(rng.f32()) * 2.0 - 1.0)
            .collect()
    }

    const PI: f64 = std::f64::consts::PI;

    fn weave(x: f64, y: f64) -> f64 {
        0.5 * ((x + y) * PI / 2.0).sin() + 0.5 * ((x - y) * PI / 2.0).sin()
    }

    #[test]
    fn a_crosshatch_that_orientation_misses_is_periodic() {
        // Two diagonal hatches 4 px apart crossing: the weave of the golden_gate sky.
        let img = pattern(160, 128, weave);
        assert!(orientation_coherence(&img) < 0.1, "the gap this fills");
        let p = periodicity(&img);
        assert!(p > 0.8, "weave {p}");
        // One hatch, at an angle and period that fall between frequency bins.
        let hatch = pattern(160, 128, |x, y| ((0.9 * x + 0.4 * y) * PI / 2.3).sin());
        let h = periodicity(&hatch);
        assert!(h > 0.5, "hatch {h}");
    }

    #[test]
    fn noise_edges_and_strokes_of_one_width_are_not() {
        let n = noise(160, 128, 7);
        let p = periodicity(&pattern(160, 128, |x, y| {
            n[(y as usize) * 160 + x as usize]
        }));
        assert!(p < 0.06, "noise {p}");
        // Blobs of many sizes and directions.
        let blobs = pattern(160, 128, |x, y| {
            0.8 * (x / 7.0 + (y / 23.0).sin() * 3.0).sin()
                * (y / 11.0 + (x / 17.0).cos() * 2.0).cos()
        });
        let b = periodicity(&blobs);
        assert!(b < 0.05, "blobs {b}");
        // Rings of one width: every direction equally, so no peak in any one.
        let rings = pattern(160, 128, |x, y| {
            ((x - 80.0).hypot(y - 64.0) * PI / 2.5).sin()
        });
        let r = periodicity(&rings);
        assert!(r < 0.2, "rings {r}");
    }

    #[test]
    fn a_weave_over_part_of_the_picture_counts_by_its_area() {
        // A quiet (low-contrast) weave over the top half, strong noise below: the weave's
        // windows count as much as the noise's, so the score sits well above noise alone.
        let n = noise(160, 128, 9);
        let half = pattern(160, 128, |x, y| {
            if y < 64.0 {
                0.2 * weave(x, y)
            } else {
                n[(y as usize) * 160 + x as usize]
            }
        });
        let all_noise = pattern(160, 128, |x, y| n[(y as usize) * 160 + x as usize]);
        let (p, q) = (periodicity(&half), periodicity(&all_noise));
        assert!(p > 0.3 && p > 5.0 * q, "half weave {p}, noise {q}");
        assert!(p < periodicity(&pattern(160, 128, weave)));
    }

    #[test]
    fn flat_and_tiny_images_give_zero() {
        assert_eq!(periodicity(&RgbImage::new(20, 40)), 0.0);
        assert_eq!(
            periodicity(&RgbImage::from_pixel(64, 64, Rgb([9, 9, 9]))),
            0.0
        );
    }
}
