//! The painting's palette as a post-control (`stylize --palette`, `P` in the look view): the
//! output's joint RGB distribution moved onto the painting's by iterative distribution transfer
//! (Pitié, Kokaram and Dahyot, "N-dimensional probability density function transfer", ICCV
//! 2005). Each of [`ITERATIONS`] rounds turns the colour space by a fixed rotation and matches
//! each rotated axis's 1-D distribution to the painting's, by rank; after a few rounds the whole
//! 3-D distribution matches, not only each channel's (per-channel histogram matching, the
//! colour-only baseline of `atelier eval`, can turn a red and green photo into red and green
//! with some blue; this turns it into the painting's blue and yellow). It is a colour map:
//! pixels of one colour stay one colour, so structure and strokes are kept. Measured on held-out
//! photos in docs/quality.md ("A joint palette").

use crate::rng::Rng;
use image::RgbImage;

/// Rounds of rotation and matching: 10 reach the joint distribution (3 leave the
/// style gain 0.03 lower on the held-out photos).
pub const ITERATIONS: usize = 10;

/// Histogram bins per rotated axis: an image's pixels are ranked at this resolution (1/1024 of
/// the axis's range, finer than 8-bit levels).
const BINS: usize = 1024;

/// The most a histogram bin counts, in multiples of an even share (`n / BINS`), when a
/// generator's `"joint"` head ranks (contrast-limited, as in CLAHE): a flat sky crowds a few
/// bins, and ranked as it is, its faint grain was stretched over a third of the painting's
/// colours into posterised patches; limited, the skies came out smooth (docs/quality.md, "A
/// contrast limit"). `--palette` ranks without a limit ([`EXACT`]): it promises the painting's
/// distribution, and limited, a small image with flat regions misses the painting's mean by 20
/// levels.
pub const CLIP: f32 = 8.0;

/// No limit: the output's distribution becomes the painting's.
pub const EXACT: f32 = f32::INFINITY;

/// Quantiles kept of the painting per rotated axis.
pub const QUANTILES: usize = 1024;

/// Painting pixels sampled at most (a stride over larger paintings).
const MAX_PIXELS: usize = 1 << 19;

type Rotation = [[f32; 3]; 3];

/// A painting's colour distribution along [`ITERATIONS`] x 3 rotated axes, kept to move other
/// images' colours onto it.
#[derive(Clone, PartialEq)]
pub struct Palette {
    rotations: Vec<Rotation>,
    /// Per round, per axis: the painting's projections' quantiles at (j + 0.5) / QUANTILES.
    quantiles: Vec<[Vec<f32>; 3]>,
}

impl std::fmt::Debug for Palette {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Palette({} rounds)", self.rotations.len())
    }
}

/// An orthonormal basis (rows) from Gram-Schmidt on Gaussian vectors.
fn rotation(rng: &mut Rng) -> Rotation {
    let mut rows = [[0f32; 3]; 3];
    for i in 0..3 {
        loop {
            let mut v = [rng.normal(), rng.normal(), rng.normal()];
            for r in &rows[..i] {
                let d = dot(&v, r);
                v = [0, 1, 2].map(|c| v[c] - d * r[c]);
            }
            let n = dot(&v, &v).sqrt();
            if n > 1e-3 {
                rows[i] = v.map(|x| x / n);
                break;
            }
        }
    }
    rows
}

fn dot(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn pixels(img: &RgbImage, max: usize) -> Vec<[f32; 3]> {
    let n = (img.width() * img.height()) as usize;
    let stride = n.div_ceil(max).max(1);
    img.pixels()
        .step_by(stride)
        .map(|p| p.0.map(|v| f32::from(v) / 255.0))
        .collect()
}

/// The [`ITERATIONS`] rotations every palette uses (a fixed stream, so a palette is its
/// quantiles alone).
fn fixed_rotations() -> Vec<Rotation> {
    let mut rng = Rng::stream(7, "palette rotations");
    (0..ITERATIONS).map(|_| rotation(&mut rng)).collect()
}

impl Palette {
    /// A palette that changes nothing.
    fn identity() -> Self {
        Self {
            rotations: Vec::new(),
            quantiles: Vec::new(),
        }
    }

    /// The painting's distribution. An empty painting gives a palette that changes nothing.
    pub fn of(painting: &RgbImage) -> Self {
        let px = pixels(painting, MAX_PIXELS);
        if px.is_empty() {
            return Self::identity();
        }
        let rotations = fixed_rotations();
        let quantiles = rotations
            .iter()
            .map(|r| {
                [0, 1, 2].map(|a| {
                    let mut v: Vec<f32> = px.iter().map(|p| dot(p, &r[a])).collect();
                    v.sort_unstable_by(f32::total_cmp);
                    let n = v.len();
                    (0..QUANTILES)
                        .map(|j| v[((j * 2 + 1) * n / (2 * QUANTILES)).min(n - 1)])
                        .collect()
                })
            })
            .collect();
        Self {
            rotations,
            quantiles,
        }
    }

    /// The painting's quantiles, round after round and axis after axis ([`ITERATIONS`] x 3 x
    /// [`QUANTILES`] values; none for an empty painting): what a generator's joint palette head
    /// saves with its weights.
    pub fn quantiles(&self) -> Vec<f32> {
        self.quantiles.iter().flatten().flatten().copied().collect()
    }

    /// The palette whose [`Self::quantiles`] are `flat` (the rotations are fixed, so only the
    /// quantiles are kept). Anything but ITERATIONS x 3 x QUANTILES values changes nothing.
    pub fn from_quantiles(flat: &[f32]) -> Self {
        if flat.len() != ITERATIONS * 3 * QUANTILES {
            return Self::identity();
        }
        let rotations = fixed_rotations();
        let quantiles = flat
            .chunks_exact(3 * QUANTILES)
            .map(|round| [0, 1, 2].map(|a| round[a * QUANTILES..(a + 1) * QUANTILES].to_vec()))
            .collect();
        Self {
            rotations,
            quantiles,
        }
    }

    /// `img` with its colours moved onto the painting's distribution.
    pub fn apply(&self, img: &RgbImage) -> RgbImage {
        let mut px = pixels(img, usize::MAX);
        if px.is_empty() || self.rotations.is_empty() {
            return img.clone();
        }
        self.apply_values(&mut px, EXACT);
        let mut out = img.clone();
        for (o, p) in out.pixels_mut().zip(&px) {
            o.0 = p.map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8);
        }
        out
    }

    /// RGB values in [0, 1] moved onto the painting's distribution, in place (unclamped), each
    /// histogram bin counting at most `clip` even shares ([`CLIP`] or [`EXACT`]).
    pub fn apply_values(&self, px: &mut [[f32; 3]], clip: f32) {
        if px.is_empty() {
            return;
        }
        let mut proj = vec![0f32; px.len()];
        for (r, qs) in self.rotations.iter().zip(&self.quantiles) {
            for (axis, q) in r.iter().zip(qs) {
                for (p, v) in px.iter().zip(proj.iter_mut()) {
                    *v = dot(p, axis);
                }
                let target = match_axis(&proj, q, clip);
                for ((p, v), t) in px.iter_mut().zip(&proj).zip(&target) {
                    let d = t - v;
                    *p = [0, 1, 2].map(|c| p[c] + d * axis[c]);
                }
            }
        }
    }
}

/// Each of `proj`'s values moved to the painting's quantile at its rank. Ranks come from a
/// histogram of [`BINS`] bins: a bin's centre has its mid-rank (the share of values below it
/// plus half its own), and a value between two centres the linear blend of theirs, so the map
/// is continuous and values that differ stay different. (Giving a whole bin its mid-rank
/// posterised flat skies: round after round merged nearby colours into one, in steps.) Values
/// beyond the outer centres keep the outer bins' mid-ranks. Counts are capped at `clip` times
/// an even share first, so the map's slope is bounded: a crowded band of values (a flat sky)
/// gets a narrower share of the painting's colours than its pixel count, and a colour that
/// fills a bin of its own (the halves of a two-colour image) lands near the end of its share.
fn match_axis(proj: &[f32], q: &[f32], clip: f32) -> Vec<f32> {
    let (lo, hi) = proj
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let scale = if hi - lo > 1e-6 {
        BINS as f32 / (hi - lo)
    } else {
        0.0
    };
    // A value's position in bins, centres at b + 0.5.
    let at = |v: f32| ((v - lo) * scale).clamp(0.0, BINS as f32);
    let mut counts = vec![0f32; BINS];
    for &v in proj {
        counts[(at(v) as usize).min(BINS - 1)] += 1.0;
    }
    let n = proj.len() as f32;
    // Contrast limiting: what a bin holds beyond `clip` times the even share is spread over all
    // bins, so a crowded band of values is not stretched over the painting's whole range.
    let limit = clip * n / BINS as f32;
    let excess: f32 = counts.iter().map(|&c| (c - limit).max(0.0)).sum();
    for c in counts.iter_mut() {
        *c = c.min(limit) + excess / BINS as f32;
    }
    let mut below = 0f32;
    let mid: Vec<f32> = counts
        .iter()
        .map(|&c| {
            let m = (below + c / 2.0) / n;
            below += c;
            m
        })
        .collect();
    proj.iter()
        .map(|&v| {
            let x = (at(v) - 0.5).clamp(0.0, (BINS - 1) as f32);
            let b = (x as usize).min(BINS - 2);
            let t = x - b as f32;
            quantile(q, mid[b] + (mid[b + 1] - mid[b]) * t)
        })
        .collect()
}

/// The value at probability `p` of a distribution given by its quantiles at (j + 0.5) / len.
fn quantile(q: &[f32], p: f32) -> f32 {
    let x = (p * q.len() as f32 - 0.5).clamp(0.0, (q.len() - 1) as f32);
    let j = x.floor() as usize;
    let t = x - j as f32;
    match q.get(j + 1) {
        Some(next) => q[j] + (next - q[j]) * t,
        None => q[j],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn halves(w: u32, h: u32, top: [u8; 3], bottom: [u8; 3]) -> RgbImage {
        RgbImage::from_fn(w, h, |_, y| Rgb(if y < h / 2 { top } else { bottom }))
    }

    fn near(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
        a.iter()
            .zip(b)
            .all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() <= tol)
    }

    #[test]
    fn a_red_and_green_photo_becomes_the_paintings_blue_and_yellow() {
        let (blue, yellow) = ([0, 0, 255], [255, 255, 0]);
        let painting = halves(64, 64, blue, yellow);
        let photo = halves(48, 40, [255, 0, 0], [0, 255, 0]);
        let out = Palette::of(&painting).apply(&photo);
        let (mut nb, mut ny) = (0, 0);
        for p in out.pixels() {
            if near(p.0, blue, 8) {
                nb += 1;
            } else if near(p.0, yellow, 8) {
                ny += 1;
            } else {
                panic!("{:?} is neither of the painting's colours", p.0);
            }
        }
        assert_eq!((nb, ny), (960, 960));
        // Per-channel matching (the colour-only baseline) cannot: red keeps its red channel.
        let baseline = crate::eval::histogram_match(&photo, &painting);
        assert!(
            !near(baseline.get_pixel(0, 0).0, blue, 8)
                && !near(baseline.get_pixel(0, 0).0, yellow, 8)
        );
    }

    #[test]
    fn one_colour_stays_one_colour_and_the_painting_maps_to_itself() {
        let painting = RgbImage::from_fn(80, 60, |x, y| {
            Rgb([(x * 3) as u8, (y * 4) as u8, ((x + y) * 2) as u8])
        });
        let palette = Palette::of(&painting);
        let same = palette.apply(&painting);
        let diff: f64 = same
            .as_raw()
            .iter()
            .zip(painting.as_raw())
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
            .sum::<f64>()
            / painting.as_raw().len() as f64;
        assert!(diff < 2.0, "the painting moved by {diff:.2} levels");
        // A photo whose pixels repeat a few colours: equal inputs give equal outputs.
        let photo = RgbImage::from_fn(30, 30, |x, y| {
            Rgb(match (x / 10 + y / 10) % 3 {
                0 => [200, 30, 30],
                1 => [20, 120, 40],
                _ => [90, 90, 200],
            })
        });
        let out = palette.apply(&photo);
        for (x, y, p) in photo.enumerate_pixels() {
            let first = photo.enumerate_pixels().find(|q| q.2 == p).unwrap();
            assert_eq!(out.get_pixel(x, y), out.get_pixel(first.0, first.1));
        }
        assert_eq!(palette.apply(&photo), out, "deterministic");
    }

    #[test]
    fn close_colours_stay_apart() {
        // A smooth grey ramp over a tenth of the range (a flat sky): 4096 values, four to a
        // histogram bin on every axis. Giving a bin one target merged each four into one colour.
        let painting = RgbImage::from_fn(64, 64, |x, y| Rgb([(x * 4) as u8, (y * 4) as u8, 128]));
        let mut px: Vec<[f32; 3]> = (0..4096)
            .map(|i| [0.45 + 0.1 * i as f32 / 4095.0; 3])
            .collect();
        Palette::of(&painting).apply_values(&mut px, CLIP);
        let merged = px.windows(2).filter(|w| w[0] == w[1]).count();
        // (3072 of the 4095 pairs did; a pair or two may still meet in f32 rounding.)
        assert!(
            merged < 8,
            "{merged} neighbours of the ramp became one colour"
        );
    }

    #[test]
    fn a_crowded_band_is_not_stretched_over_the_painting() {
        // Half the values in a band 2% wide (a flat sky), half spread evenly over the range;
        // the painting's quantiles even. Ranked as they are, the band would take half the
        // painting's range; capped at CLIP times an even share, a sixth, in the same order.
        let q: Vec<f32> = (0..QUANTILES)
            .map(|j| (j as f32 + 0.5) / QUANTILES as f32)
            .collect();
        let proj: Vec<f32> = (0..4096)
            .map(|i| 0.49 + 0.02 * i as f32 / 4095.0)
            .chain((0..4096).map(|i| i as f32 / 4095.0))
            .collect();
        let span = |clip: f32| {
            let t = match_axis(&proj, &q, clip);
            assert!(t[..4096].windows(2).all(|w| w[1] >= w[0]), "order kept");
            t[4095] - t[0]
        };
        let (free, capped) = (span(EXACT), span(CLIP));
        assert!(free > 0.45, "uncapped, the band spans {free:.3}");
        assert!(
            capped > 0.05 && capped < 0.2,
            "capped, it spans {capped:.3}"
        );
    }

    #[test]
    fn empty_images_change_nothing() {
        let photo = halves(8, 8, [1, 2, 3], [4, 5, 6]);
        assert_eq!(Palette::of(&RgbImage::new(0, 0)).apply(&photo), photo);
        let p = Palette::of(&photo);
        assert_eq!(p.apply(&RgbImage::new(0, 0)).len(), 0);
        // A flat image (no spread on any axis) stays one colour.
        let flat = RgbImage::from_pixel(4, 4, Rgb([9, 9, 9]));
        let out = p.apply(&flat);
        assert!(out.pixels().all(|q| q == out.get_pixel(0, 0)));
    }
}
