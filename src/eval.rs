//! Objective scores of a style transfer, behind `atelier eval` and the trainer's probe-set
//! scores. A model that only recolours the photo is not doing style transfer, so three things are
//! measured separately: **structure kept** (SSIM between content and output on luminance),
//! **style distance** (sliced Wasserstein distance between the distributions of small RGB patches
//! of the output and of the style image) and **texture distance** (the same on the high-pass band,
//! image minus its Gaussian blur, which ignores the palette). Each distance is read as a *gain*
//! over doing nothing, `1 - d(output) / d(photo)`: 0 is no better than the untouched photo, 1 is a
//! perfect match, negative is worse. The same gains are reported for the "colour only" baseline,
//! the photo histogram-matched to the style, so a score can be read against both.
//!
//! Everything is deterministic for [`EvalOptions::seed`]: patch positions and projection
//! directions come from [`Rng`](crate::rng::Rng) streams, both sides of a distance use the same
//! directions, and images of equal size are sampled at the same positions (so identical images
//! are at distance 0 exactly, and the output and the photo are compared to the style on the same
//! footing). Other seeds give slightly different numbers (with the defaults, gains move by a few
//! hundredths), so compare scores taken with one seed. Images are measured at
//! [`EvalOptions::max_side`] (512 by default, about 50 ms per [`score`] in release); the texture
//! band reacts to contrast as well as to texture, so a contrast-raising histogram match already
//! gains a little texture, which is why that baseline is reported next to the output's gains.

mod coherence;
mod filters;
mod orientation;
/// Also read by its differentiable twin in training (`loss.weave_weight`).
pub(crate) mod periodicity;
pub mod run;
mod speckle;
mod swd;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use image::imageops::{self, FilterType};
use image::RgbImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use filters::{filter_valid, fine_band, luma, Rgbf};
// The Gaussian taps are shared with the generator's `residual_blur`.
pub(crate) use filters::{blur_radius, gaussian_kernel};
// The fine-detail band, shared with the weave loss.
pub use coherence::{local_coherence, NEIGHBOURHOOD};
#[cfg(test)]
pub(crate) use filters::grey_pattern;
pub(crate) use filters::{CHROMA, DETAIL_SIGMA, LUMA};
pub use orientation::orientation_coherence;
pub use periodicity::periodicity;
pub use speckle::speckle;
use swd::{swd, Projector};

/// How far an output's [`orientation_coherence`] may exceed the larger of its photo's and its
/// style image's before it reads as a hatch (issue 26's goal).
pub const ORIENTATION_MARGIN: f64 = 0.03;
/// How far an output's [`periodicity`] may exceed the larger of its photo's and its style
/// image's before it reads as a weave (docs/quality.md, "A weave measure").
pub const PERIODICITY_MARGIN: f64 = 0.03;

/// How far an output's [`speckle`] may exceed the larger of its photo's and its style image's
/// before it reads as a confetti of coloured pixels (the quickstart's dabs without the chroma
/// spectrum term: 1.2-2.1 against its painting's 0.38; with it 0.38-0.49).
pub const SPECKLE_MARGIN: f64 = 0.3;

/// Patch-distribution distances to the style image (SWD-1; lower is closer).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Distances {
    /// Between RGB patches (values in [0, 1]): palette and texture together.
    pub style: f64,
    /// Between patches of the high-pass band: texture, ignoring the palette.
    pub texture: f64,
}

/// Scores of one (content, style, output) triple; see the module docs for how to read them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// SSIM between content and output on luminance, in [-1, 1]; 1 = structure fully kept.
    pub ssim: f64,
    /// Output vs style.
    pub output: Distances,
    /// Untouched content vs style: the "do nothing" baseline.
    pub photo: Distances,
    /// Histogram-matched content vs style: the "colour only" baseline.
    pub histogram: Distances,
    /// `1 - output.style / photo.style`.
    pub style_gain: f64,
    /// `1 - output.texture / photo.texture`.
    pub texture_gain: f64,
    /// `1 - histogram.style / photo.style`.
    pub histogram_style_gain: f64,
    /// `1 - histogram.texture / photo.texture`.
    pub histogram_texture_gain: f64,
    /// How much fine detail the output has against the style image: the RMS of the output's
    /// high-pass band over the style's. About 1 is the painting's amount; under 1 too smooth, over
    /// 1 too busy (the texture distance counts both as misses, this says which one it is).
    #[serde(default)]
    pub texture_energy: f64,
    /// The same ratio for the untouched photo, to read the output's against.
    #[serde(default)]
    pub photo_texture_energy: f64,
    /// The output's [`checkerboard`] index (the share of fine detail locked to a 2- or 4-pixel
    /// grid; photos about 0.0003, a visible grid about 0.05 and up).
    #[serde(default)]
    pub checkerboard: f64,
    /// The photo's own [`checkerboard`] index, to read the output's against.
    #[serde(default)]
    pub photo_checkerboard: f64,
    /// The output's [`orientation_coherence`]: 0 = its fine detail has no global direction,
    /// 1 = every stroke parallel (a hatch over the whole image).
    #[serde(default)]
    pub orientation: f64,
    /// The photo's own coherence, to read the output's against.
    #[serde(default)]
    pub photo_orientation: f64,
    /// The style image's coherence (a painting's strokes that follow its shapes score low).
    #[serde(default)]
    pub style_orientation: f64,
    /// The output's [`periodicity`]: the share of its fine detail that is one pattern repeated
    /// (a weave or crosshatch, which the orientation misses when two directions cross).
    #[serde(default)]
    pub periodicity: f64,
    /// The photo's own periodicity, to read the output's against.
    #[serde(default)]
    pub photo_periodicity: f64,
    /// The style image's periodicity.
    #[serde(default)]
    pub style_periodicity: f64,
    /// The output's [`speckle`]: its finest detail's colour energy over its light's (a confetti
    /// of single red, green and blue pixels scores above 1, paintings and photos well under).
    #[serde(default)]
    pub speckle: f64,
    /// The photo's own speckle.
    #[serde(default)]
    pub photo_speckle: f64,
    /// The style image's speckle.
    #[serde(default)]
    pub style_speckle: f64,
    /// The output's [`local_coherence`]: 1 when each place's fine detail runs one way (strokes),
    /// near 0 when it runs every way (dabs, noise, a mesh of crossing lines).
    #[serde(default)]
    pub coherence: f64,
    /// The photo's own local coherence.
    #[serde(default)]
    pub photo_coherence: f64,
    /// The style image's local coherence (a painting's strokes: about 0.7).
    #[serde(default)]
    pub style_coherence: f64,
}

/// How the distances are measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalOptions {
    /// Side of the square patches (`3 * patch^2` dimensions); images must be at least this big.
    pub patch: u32,
    /// Patches sampled per image (all positions when an image has fewer).
    pub samples: usize,
    /// Random projection directions of the sliced Wasserstein distance.
    pub projections: usize,
    /// Sigma in pixels of the Gaussian blur subtracted to get the texture band.
    pub blur_sigma: f32,
    /// Seed of patch positions and projection directions.
    pub seed: u64,
    /// Images whose longer side exceeds this are first downscaled (aspect kept, triangle filter)
    /// to it, so scores of large images are fast and measured at a comparable scale; 0 = never.
    pub max_side: u32,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            patch: 5,
            samples: 4096,
            projections: 64,
            blur_sigma: 2.0,
            seed: 0,
            max_side: 512,
        }
    }
}

/// Mean SSIM between the luminances of `a` and `b` (Y = 0.299 R + 0.587 G + 0.114 B, L = 255,
/// K1 = 0.01, K2 = 0.03, 11x11 Gaussian window of sigma 1.5, over the positions where the window
/// fits, as in Wang et al.). If the sizes differ, `b` is first resized to `a`'s size (triangle
/// filter). Images under 11 pixels on a side use the largest odd window that fits; an empty image
/// gives NaN.
pub fn ssim_luma(a: &RgbImage, b: &RgbImage) -> f64 {
    let (w, h) = (a.width() as usize, a.height() as usize);
    if w == 0 || h == 0 || b.width() == 0 || b.height() == 0 {
        return f64::NAN;
    }
    let b = resized_to(b, a.width(), a.height());
    let (ya, yb) = (luma(a), luma(&b));
    let radius = 5.min((w.min(h) - 1) / 2);
    let kernel = gaussian_kernel(1.5, radius);
    let (aa, bb, ab): (Vec<f32>, Vec<f32>, Vec<f32>) = (
        ya.iter().map(|v| v * v).collect(),
        yb.iter().map(|v| v * v).collect(),
        ya.iter().zip(&yb).map(|(x, y)| x * y).collect(),
    );
    let planes = [ya, yb, aa, bb, ab];
    let maps: Vec<Vec<f32>> = planes
        .par_iter()
        .map(|p| filter_valid(p, w, h, &kernel))
        .collect();
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let [ma, mb, saa, sbb, sab] = [0, 1, 2, 3, 4].map(|k| &maps[k]);
    let local = |i: usize| {
        let (mua, mub) = (f64::from(ma[i]), f64::from(mb[i]));
        let va = f64::from(saa[i]) - mua * mua;
        let vb = f64::from(sbb[i]) - mub * mub;
        let cov = f64::from(sab[i]) - mua * mub;
        ((2.0 * mua * mub + c1) * (2.0 * cov + c2))
            / ((mua * mua + mub * mub + c1) * (va + vb + c2))
    };
    (0..ma.len()).map(local).sum::<f64>() / ma.len() as f64
}

/// How much of an image's fine detail is locked to the pixel grid with a period of 2 or 4: the
/// checkerboard that stride-2 upsampling (transposed convolutions, and to a lesser degree nearest
/// resizing) leaves, which repeats in phase across the whole image. The luminance's high-pass
/// band (each pixel minus its 3x3 mean) is averaged per phase class (x mod 4, y mod 4); the mean
/// square of those 16 class means over the band's mean square is the index. Content and texture
/// average out over the image (photos score about 0.0003), a grid does not (a pure 2-pixel
/// checkerboard scores 1). Images under 3x3 or without detail give 0. Measured at the image's own
/// resolution (scores measure it before downscaling to `max_side`, which would blur a grid away).
pub fn checkerboard(img: &RgbImage) -> f64 {
    const P: usize = 4;
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let band = fine_band(&luma(img), w, h);
    let (mut sums, mut counts) = ([0.0f64; P * P], [0usize; P * P]);
    let mut energy = 0.0f64;
    for (k, &b) in band.iter().enumerate() {
        // Pixel (i, j) of the image is sample (i - 1, j - 1) of the interior band.
        let (j, i) = (k / (w - 2) + 1, k % (w - 2) + 1);
        let class = (j % P) * P + i % P;
        sums[class] += b;
        counts[class] += 1;
        energy += b * b;
    }
    let n: usize = counts.iter().sum();
    if energy <= 1e-9 * n as f64 {
        return 0.0;
    }
    let locked = sums
        .iter()
        .zip(counts)
        .filter(|(_, c)| *c > 0)
        .map(|(s, c)| (s / c as f64).powi(2))
        .sum::<f64>()
        / (P * P) as f64;
    locked / (energy / n as f64)
}

/// The photo with each channel's histogram matched to the style's (CDF matching: a photo level
/// at mid-rank quantile q becomes the style's q-quantile; pixels of one level stay together).
/// The "colour only" baseline: the palette moves to the style's, structure and texture stay the
/// photo's. An empty style leaves the photo unchanged.
pub fn histogram_match(photo: &RgbImage, style: &RgbImage) -> RgbImage {
    Palette::of(style).apply(photo)
}

/// A style image's per-channel histograms, kept to match other images' channels to them: the
/// colour-only baseline's operation. (`stylize --palette` moves the joint RGB distribution
/// instead: `stylize::Palette`.)
#[derive(Clone, PartialEq)]
pub struct Palette {
    hist: [[u64; 256]; 3],
}

impl std::fmt::Debug for Palette {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n: u64 = self.hist[0].iter().sum();
        write!(f, "Palette({n} pixels)")
    }
}

impl Palette {
    pub fn of(style: &RgbImage) -> Self {
        Self {
            hist: channel_histograms(style),
        }
    }

    /// `img` with each channel's histogram matched to the palette's ([`histogram_match`]).
    pub fn apply(&self, img: &RgbImage) -> RgbImage {
        let mut out = img.clone();
        if self.hist[0].iter().all(|&c| c == 0) {
            return out;
        }
        let own = channel_histograms(img);
        let luts: Vec<[u8; 256]> = (0..3).map(|c| match_lut(&own[c], &self.hist[c])).collect();
        for px in out.as_mut().chunks_exact_mut(3) {
            for (v, lut) in px.iter_mut().zip(&luts) {
                *v = lut[usize::from(*v)];
            }
        }
        out
    }
}

/// SWD-1 between the RGB patch distributions of `a` and `b` (each downscaled to
/// [`EvalOptions::max_side`] first; sizes may differ). Errors if an option is out of range or an
/// image is smaller than the patch.
pub fn style_distance(a: &RgbImage, b: &RgbImage, o: &EvalOptions) -> Result<f64, String> {
    let (pa, pb) = (prepare(a, o, "first")?, prepare(b, o, "second")?);
    let proj = projector(o);
    let (fa, fb) = (Rgbf::from_rgb(&pa), Rgbf::from_rgb(&pb));
    Ok(swd(
        &proj.sorted_projections(&fa),
        &proj.sorted_projections(&fb),
    ))
}

/// SWD-1 between the patch distributions of the high-pass bands of `a` and `b` (image minus its
/// Gaussian blur of [`EvalOptions::blur_sigma`], per channel, edges clamped): texture without the
/// palette. Same preparation and errors as [`style_distance`].
pub fn texture_distance(a: &RgbImage, b: &RgbImage, o: &EvalOptions) -> Result<f64, String> {
    let (pa, pb) = (prepare(a, o, "first")?, prepare(b, o, "second")?);
    let proj = projector(o);
    let fa = Rgbf::from_rgb(&pa).high_pass(o.blur_sigma);
    let fb = Rgbf::from_rgb(&pb).high_pass(o.blur_sigma);
    Ok(swd(
        &proj.sorted_projections(&fa),
        &proj.sorted_projections(&fb),
    ))
}

/// Scores many outputs against one style image: the style's projections are computed once, and
/// each photo's baseline distances (untouched and histogram-matched) once per photo, so a trainer
/// scoring its fixed probe set at every sample step only measures the new outputs.
pub struct Scorer {
    o: EvalOptions,
    style: RgbImage,
    proj: Projector,
    style_ref: Vec<Vec<f32>>,
    texture_ref: Vec<Vec<f32>>,
    /// RMS of the style's high-pass band (floored, so a flat style image divides safely).
    style_energy: f64,
    /// The style image's [`orientation_coherence`] at the measuring size.
    style_orientation: f64,
    /// The style image's [`periodicity`] at the measuring size.
    style_periodicity: f64,
    /// The style image's [`speckle`] and [`local_coherence`] at the measuring size.
    style_speckle: f64,
    style_coherence: f64,
}

/// A photo prepared for scoring, with its baseline distances to the style.
pub struct Baseline {
    content: RgbImage,
    photo: Distances,
    histogram: Distances,
    checkerboard: f64,
    orientation: f64,
    periodicity: f64,
    speckle: f64,
    coherence: f64,
    energy: f64,
}

impl Scorer {
    pub fn new(style: &RgbImage, o: &EvalOptions) -> Result<Self, String> {
        let style = prepare(style, o, "style")?.into_owned();
        let style_orientation = orientation_coherence(&style);
        let style_periodicity = periodicity(&style);
        let (style_speckle, style_coherence) = (speckle(&style), local_coherence(&style));
        let proj = projector(o);
        let style_f = Rgbf::from_rgb(&style);
        let style_ref = proj.sorted_projections(&style_f);
        let band = style_f.high_pass(o.blur_sigma);
        let texture_ref = proj.sorted_projections(&band);
        Ok(Self {
            o: *o,
            style,
            proj,
            style_ref,
            texture_ref,
            style_energy: band.rms().max(1e-6),
            style_orientation,
            style_periodicity,
            style_speckle,
            style_coherence,
        })
    }

    /// The distances of `img` to the style, and its high-pass energy relative to the style's.
    fn distances(&self, img: &RgbImage) -> (Distances, f64) {
        let f = Rgbf::from_rgb(img);
        let band = f.high_pass(self.o.blur_sigma);
        let d = Distances {
            style: swd(&self.proj.sorted_projections(&f), &self.style_ref),
            texture: swd(&self.proj.sorted_projections(&band), &self.texture_ref),
        };
        (d, band.rms() / self.style_energy)
    }

    /// The photo's own distances and those of its histogram match (the colour-only baseline).
    pub fn baseline(&self, content: &RgbImage) -> Result<Baseline, String> {
        // At native resolution: resampling to the measuring size would blur a pixel grid away.
        let grid = checkerboard(content);
        let orientation = orientation_coherence(content);
        let weave = periodicity(content);
        let (speck, coherence) = (speckle(content), local_coherence(content));
        let content = prepare(content, &self.o, "content")?.into_owned();
        let histogram = histogram_match(&content, &self.style);
        let (photo, energy) = self.distances(&content);
        Ok(Baseline {
            photo,
            histogram: self.distances(&histogram).0,
            checkerboard: grid,
            orientation,
            periodicity: weave,
            speckle: speck,
            coherence,
            energy,
            content,
        })
    }

    /// Score an output of `baseline`'s photo (resized to the photo's measuring size).
    pub fn score(&self, b: &Baseline, output: &RgbImage) -> Result<Scores, String> {
        if output.width() == 0 || output.height() == 0 {
            return Err("the output image is empty".to_string());
        }
        let grid = checkerboard(output);
        let orientation = orientation_coherence(output);
        let weave = periodicity(output);
        let (speck, coherence) = (speckle(output), local_coherence(output));
        let output = resized_to(output, b.content.width(), b.content.height());
        let (out_d, energy) = self.distances(&output);
        let (photo_d, hist_d) = (b.photo, b.histogram);
        Ok(Scores {
            ssim: ssim_luma(&b.content, &output),
            output: out_d,
            photo: photo_d,
            histogram: hist_d,
            style_gain: gain(out_d.style, photo_d.style),
            texture_gain: gain(out_d.texture, photo_d.texture),
            histogram_style_gain: gain(hist_d.style, photo_d.style),
            histogram_texture_gain: gain(hist_d.texture, photo_d.texture),
            texture_energy: energy,
            photo_texture_energy: b.energy,
            checkerboard: grid,
            photo_checkerboard: b.checkerboard,
            orientation,
            photo_orientation: b.orientation,
            style_orientation: self.style_orientation,
            periodicity: weave,
            photo_periodicity: b.periodicity,
            style_periodicity: self.style_periodicity,
            speckle: speck,
            photo_speckle: b.speckle,
            style_speckle: self.style_speckle,
            coherence,
            photo_coherence: b.coherence,
            style_coherence: self.style_coherence,
        })
    }
}

/// All scores of `output` as a transfer of `style` onto `content`. Content and style are
/// downscaled to [`EvalOptions::max_side`]; the output is then resized to the (downscaled)
/// content's size if it differs, and everything is measured at that size.
pub fn score(
    content: &RgbImage,
    style: &RgbImage,
    output: &RgbImage,
    o: &EvalOptions,
) -> Result<Scores, String> {
    let scorer = Scorer::new(style, o)?;
    let baseline = scorer.baseline(content)?;
    scorer.score(&baseline, output)
}

/// `1 - d / baseline`, kept finite: the baseline is floored at 1e-12, and two distances both
/// under that floor give 0 (the photo already matches; nothing to gain).
fn gain(d: f64, baseline: f64) -> f64 {
    const FLOOR: f64 = 1e-12;
    if d < FLOOR && baseline < FLOOR {
        0.0
    } else {
        1.0 - d / baseline.max(FLOOR)
    }
}

fn projector(o: &EvalOptions) -> Projector {
    Projector::new(o.patch as usize, o.projections, o.samples, o.seed)
}

/// Checks the options, downscales the image to `max_side` and checks it still holds a patch.
fn prepare<'a>(
    img: &'a RgbImage,
    o: &EvalOptions,
    what: &str,
) -> Result<Cow<'a, RgbImage>, String> {
    if o.patch == 0 || o.samples == 0 || o.projections == 0 {
        return Err(format!(
            "patch ({}), samples ({}) and projections ({}) must be positive",
            o.patch, o.samples, o.projections
        ));
    }
    if !(o.blur_sigma.is_finite() && o.blur_sigma > 0.0 && o.blur_sigma <= 64.0) {
        return Err(format!("blur_sigma {} must be in (0, 64]", o.blur_sigma));
    }
    let (w, h) = img.dimensions();
    let img = match o.max_side {
        m if m > 0 && w.max(h) > m => {
            let scale = f64::from(m) / f64::from(w.max(h));
            let nw = ((f64::from(w) * scale).round() as u32).clamp(1, m);
            let nh = ((f64::from(h) * scale).round() as u32).clamp(1, m);
            Cow::Owned(imageops::resize(img, nw, nh, FilterType::Triangle))
        }
        _ => Cow::Borrowed(img),
    };
    let (pw, ph) = img.dimensions();
    if pw < o.patch || ph < o.patch {
        return Err(format!(
            "the {what} image is {w}x{h} (measured at {pw}x{ph}), smaller than the {p}x{p} patch",
            p = o.patch
        ));
    }
    Ok(img)
}

/// The image itself if it already has this size, else resized with a triangle filter.
fn resized_to(img: &RgbImage, w: u32, h: u32) -> Cow<'_, RgbImage> {
    if img.dimensions() == (w, h) {
        Cow::Borrowed(img)
    } else {
        Cow::Owned(imageops::resize(img, w, h, FilterType::Triangle))
    }
}

fn channel_histograms(img: &RgbImage) -> [[u64; 256]; 3] {
    let mut hist = [[0u64; 256]; 3];
    for px in img.as_raw().chunks_exact(3) {
        for (h, &v) in hist.iter_mut().zip(px) {
            h[usize::from(v)] += 1;
        }
    }
    hist
}

/// Level map sending each photo level to the style's quantile at the level's mid-rank quantile
/// q = (pixels below + half the level's own) / total: the lowest style level whose cumulative
/// share reaches q. Exact in integers; identity where the photo has no pixels.
fn match_lut(photo: &[u64; 256], style: &[u64; 256]) -> [u8; 256] {
    let mut lut = [0u8; 256];
    for (i, v) in lut.iter_mut().enumerate() {
        *v = i as u8;
    }
    let (n_photo, n_style) = (
        u128::from(photo.iter().sum::<u64>()),
        u128::from(style.iter().sum::<u64>()),
    );
    if n_photo == 0 || n_style == 0 {
        return lut;
    }
    // Cumulative style counts per level (inclusive), scaled by 2 * n_photo to compare exactly.
    let mut cumulative = [0u128; 256];
    let mut acc = 0u128;
    for (c, &count) in cumulative.iter_mut().zip(style) {
        acc += u128::from(count);
        *c = 2 * acc * n_photo;
    }
    let mut below = 0u128;
    for (level, &count) in photo.iter().enumerate() {
        if count > 0 {
            let count = u128::from(count);
            let target = (2 * below + count) * n_style;
            let k = cumulative.partition_point(|&c| c < target).min(255);
            lut[level] = k as u8;
            below += count;
        }
    }
    lut
}
