//! Training data: image sets loaded once (folders recursively, unreadable files skipped and
//! reported), resized so the short side is `load_size`, then random crops and flips assembled into
//! NCHW batches in [-1, 1]; a FIXED probe set (same images, same centre crops, chosen from the
//! seed) rendered at every sample step; and the built-in procedural scenes and style texture.

pub mod convert;
pub mod procedural;

use crate::rng::Rng;
use crate::spec::{ImageSet, StyleSource};
use anyhow::{bail, Result};
use image::imageops::FilterType;
use image::RgbImage;
use rayon::prelude::*;
use std::path::PathBuf;

/// Which procedural images stand in for "builtin".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Scenes,
    Paintings,
}

/// Images held in memory at load size.
#[derive(Debug, Clone)]
pub struct ImageBank {
    pub images: Vec<RgbImage>,
    /// Files that could not be read, with the reason (reported, never fatal on their own).
    pub skipped: Vec<(PathBuf, String)>,
}

impl ImageBank {
    /// Load a set; `field` names it in the error when nothing at all is readable.
    pub fn load(
        set: &ImageSet,
        builtin: Builtin,
        count: usize,
        load_size: u32,
        seed: u64,
        field: &str,
    ) -> Result<Self> {
        match set {
            ImageSet::Builtin => {
                let images = (0..count)
                    .into_par_iter()
                    .map(|i| match builtin {
                        Builtin::Scenes => procedural::content_scene(seed, i, load_size, load_size),
                        Builtin::Paintings => procedural::painterly_style(
                            seed.wrapping_add(i as u64),
                            load_size,
                            load_size,
                        ),
                    })
                    .collect();
                Ok(Self {
                    images,
                    skipped: Vec::new(),
                })
            }
            ImageSet::Files(files) => {
                let loaded: Vec<Result<RgbImage, (PathBuf, String)>> = files
                    .par_iter()
                    .map(|p| match image::open(p) {
                        Ok(img) => Ok(resize_short_side(&img.to_rgb8(), load_size)),
                        Err(e) => Err((p.clone(), e.to_string())),
                    })
                    .collect();
                let mut bank = Self {
                    images: Vec::new(),
                    skipped: Vec::new(),
                };
                for r in loaded {
                    match r {
                        Ok(img) => bank.images.push(img),
                        Err(s) => bank.skipped.push(s),
                    }
                }
                if bank.images.is_empty() {
                    bail!(
                        "{field}: none of the {} images could be read (first error: {})",
                        files.len(),
                        bank.skipped
                            .first()
                            .map(|(p, e)| format!("{}: {e}", p.display()))
                            .unwrap_or_default()
                    );
                }
                Ok(bank)
            }
        }
    }

    /// `n` unflipped random crops drawn from their own stream `stream` of `seed`, as a tensor: the
    /// fixed sample a target is read from once at start (the style's Gram matrices, its spectrum).
    pub fn fixed_crops<B: burn::tensor::backend::Backend>(
        &self,
        seed: u64,
        stream: &str,
        n: usize,
        crop: u32,
        device: &B::Device,
    ) -> burn::tensor::Tensor<B, 4> {
        let data = self.batch(&mut Rng::stream(seed, stream), n, crop, false);
        let c = crop as usize;
        burn::tensor::Tensor::from_data(burn::tensor::TensorData::new(data, [n, 3, c, c]), device)
    }

    /// A batch of random crops (with optional horizontal flips), as NCHW floats in [-1, 1].
    pub fn batch(&self, rng: &mut Rng, n: usize, crop: u32, flip: bool) -> Vec<f32> {
        let mut out = Vec::with_capacity(n * 3 * (crop * crop) as usize);
        for _ in 0..n {
            let img = &self.images[rng.below(self.images.len())];
            let mirror = flip && rng.bool();
            convert::push_crop(&mut out, img, rng, crop, mirror);
        }
        out
    }

    /// A batch of crops at several scales: each covers a square of side log-uniform in
    /// `[crop, max_scale x crop]` (at most the image's short side) at a random place, resized to
    /// `crop` (bilinear: a larger window is a zoomed-out view, never a blocky one).
    pub fn scaled_batch(
        &self,
        rng: &mut Rng,
        n: usize,
        crop: u32,
        max_scale: f32,
        flip: bool,
    ) -> Vec<f32> {
        let mut out = Vec::with_capacity(n * 3 * (crop * crop) as usize);
        for _ in 0..n {
            let img = &self.images[rng.below(self.images.len())];
            let mirror = flip && rng.bool();
            let (w, h) = img.dimensions();
            let short = w.min(h);
            let side = (crop as f32 * max_scale.powf(rng.range_f32(0.0, 1.0))).round() as u32;
            let side = side.clamp(crop.min(short), short);
            let x0 = rng.below((w - side + 1) as usize) as u32;
            let y0 = rng.below((h - side + 1) as usize) as u32;
            let window = image::imageops::crop_imm(img, x0, y0, side, side).to_image();
            let view = if side == crop {
                window
            } else {
                image::imageops::resize(&window, crop, crop, FilterType::Triangle)
            };
            convert::push_crop(&mut out, &view, rng, crop, mirror);
        }
        out
    }

    /// The fixed probe set: `count` images picked by the seed, centre-cropped to `size` squares.
    pub fn probes(&self, count: usize, size: u32, seed: u64) -> Vec<RgbImage> {
        let mut order: Vec<usize> = (0..self.images.len()).collect();
        Rng::stream(seed, "probes").shuffle(&mut order);
        order
            .iter()
            .cycle()
            .take(count)
            .map(|&i| center_square(&resize_short_side(&self.images[i], size), size))
            .collect()
    }
}

/// Turns image banks into training batches on a device: random crops, flips, NCHW in [-1, 1];
/// content batches also get the spec's exposure and colour jitter.
#[derive(Debug, Clone)]
pub struct Batches<B: burn::tensor::backend::Backend> {
    pub size: usize,
    pub crop: u32,
    pub flip: bool,
    /// `data.exposure`: content crops get a gamma in `[2^-exposure, 2^exposure]`.
    pub exposure: f32,
    /// `data.color_jitter`: content crops get a random hue turn and saturation ([`recolor`]).
    pub color_jitter: f32,
    /// `data.crop_scale`: content crops cover up to this many times the crop's side, resized.
    pub crop_scale: f32,
    pub device: B::Device,
}

impl<B: burn::tensor::backend::Backend> Batches<B> {
    pub fn new(spec: &crate::spec::Spec, device: &B::Device) -> Self {
        Self {
            size: spec.train.batch_size,
            crop: spec.data.image_size as u32,
            flip: spec.data.flip,
            exposure: spec.data.exposure as f32,
            color_jitter: spec.data.color_jitter as f32,
            crop_scale: spec.data.crop_scale as f32,
            device: device.clone(),
        }
    }

    /// A batch of random crops of `bank`, as they are.
    pub fn draw(&self, bank: &ImageBank, rng: &mut Rng) -> burn::tensor::Tensor<B, 4> {
        self.tensor(bank.batch(rng, self.size, self.crop, self.flip))
    }

    /// A batch of content crops: [`Self::draw`] at several scales ([`ImageBank::scaled_batch`])
    /// with the exposure and colour jitter (the same draws as `draw` when all are off, so runs
    /// without them are unchanged).
    pub fn draw_content(&self, bank: &ImageBank, rng: &mut Rng) -> burn::tensor::Tensor<B, 4> {
        let mut data = if self.crop_scale > 1.0 {
            bank.scaled_batch(rng, self.size, self.crop, self.crop_scale, self.flip)
        } else {
            bank.batch(rng, self.size, self.crop, self.flip)
        };
        let per_image = (data.len() / self.size.max(1)).max(1);
        if self.exposure > 0.0 {
            for crop in data.chunks_mut(per_image) {
                let gamma = (self.exposure * rng.range_f32(-1.0, 1.0)).exp2();
                reexpose(crop, gamma);
            }
        }
        if self.color_jitter > 0.0 {
            for crop in data.chunks_mut(per_image) {
                let turn = std::f32::consts::PI * self.color_jitter * rng.range_f32(-1.0, 1.0);
                let saturation = (self.color_jitter * rng.range_f32(-1.0, 1.0)).exp2();
                recolor(crop, turn, saturation);
            }
        }
        self.tensor(data)
    }

    fn tensor(&self, data: Vec<f32>) -> burn::tensor::Tensor<B, 4> {
        let c = self.crop as usize;
        burn::tensor::Tensor::from_data(
            burn::tensor::TensorData::new(data, [self.size, 3, c, c]),
            &self.device,
        )
    }
}

/// Apply `gamma` to values in [-1, 1] (as [0, 1] intensities): above 1 darkens the midtones
/// the way a night or under-exposed photo is dark, below 1 washes them out; black and white stay.
fn reexpose(values: &mut [f32], gamma: f32) {
    for v in values {
        *v = ((*v + 1.0) * 0.5).clamp(0.0, 1.0).powf(gamma) * 2.0 - 1.0;
    }
}

/// Turn a planar RGB crop's chroma (YIQ's I and Q) about the grey axis by `turn` radians and
/// scale it by `saturation`, luminance (Y) kept; values in [-1, 1] (YIQ's I and Q rows sum to
/// zero, so grey stays grey at any offset), clamped back into it.
fn recolor(crop: &mut [f32], turn: f32, saturation: f32) {
    let n = crop.len() / 3;
    let (sin, cos) = turn.sin_cos();
    let (r, rest) = crop.split_at_mut(n);
    let (g, b) = rest.split_at_mut(n);
    for ((r, g), b) in r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()) {
        let y = 0.299 * *r + 0.587 * *g + 0.114 * *b;
        let i = 0.596 * *r - 0.274 * *g - 0.322 * *b;
        let q = 0.211 * *r - 0.523 * *g + 0.312 * *b;
        let (i, q) = (
            saturation * (cos * i - sin * q),
            saturation * (sin * i + cos * q),
        );
        *r = (y + 0.956 * i + 0.621 * q).clamp(-1.0, 1.0);
        *g = (y - 0.272 * i - 0.647 * q).clamp(-1.0, 1.0);
        *b = (y - 1.106 * i + 1.703 * q).clamp(-1.0, 1.0);
    }
}

/// Warnings for every unreadable file of the given banks.
pub fn skipped_warnings(banks: &[&ImageBank]) -> Vec<String> {
    banks
        .iter()
        .flat_map(|b| &b.skipped)
        .map(|(p, e)| format!("skipped unreadable image {}: {e}", p.display()))
        .collect()
}

/// The style image of a single_style run, resized to `style_size` short side when given.
pub fn load_style(
    src: &StyleSource,
    style_size: Option<usize>,
    image_size: usize,
    seed: u64,
) -> Result<RgbImage> {
    Ok(match src {
        StyleSource::Builtin => {
            let s = style_size.unwrap_or(image_size * 3) as u32;
            procedural::painterly_style(seed, s, s)
        }
        StyleSource::File(p) => {
            let img = image::open(p)
                .map_err(|e| anyhow::anyhow!("data.style: cannot read {}: {e}", p.display()))?
                .to_rgb8();
            match style_size {
                Some(s) => resize_short_side(&img, s as u32),
                None => img,
            }
        }
    })
}

/// Resize so the shorter side is `short` pixels, keeping the aspect ratio.
pub fn resize_short_side(img: &RgbImage, short: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    if w.min(h) == short {
        return img.clone();
    }
    let scale = short as f64 / w.min(h).max(1) as f64;
    let nw = ((w as f64 * scale).round() as u32).max(short);
    let nh = ((h as f64 * scale).round() as u32).max(short);
    image::imageops::resize(img, nw, nh, FilterType::Triangle)
}

/// The centred `size` x `size` square of an image at least that large.
pub fn center_square(img: &RgbImage, size: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let x = w.saturating_sub(size) / 2;
    let y = h.saturating_sub(size) / 2;
    image::imageops::crop_imm(img, x, y, size.min(w), size.min(h)).to_image()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_files_are_skipped_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.png");
        procedural::content_scene(1, 0, 40, 30).save(&good).unwrap();
        let bad = dir.path().join("bad.jpg");
        std::fs::write(&bad, b"not a jpeg").unwrap();
        let set = ImageSet::Files(vec![good, bad.clone()]);
        let bank = ImageBank::load(&set, Builtin::Scenes, 0, 36, 1, "data.content").unwrap();
        assert_eq!(bank.images.len(), 1);
        assert_eq!(bank.images[0].height(), 36);
        assert_eq!(bank.skipped.len(), 1);
        assert_eq!(bank.skipped[0].0, bad);

        let only_bad = ImageSet::Files(vec![bad]);
        let err =
            ImageBank::load(&only_bad, Builtin::Scenes, 0, 36, 1, "data.content").unwrap_err();
        assert!(err.to_string().contains("data.content"), "{err}");
    }

    type B = burn::backend::NdArray;

    /// Batches of eight 32-px crops with the given jitters, multi-scale crops off.
    fn test_batches(exposure: f32, color_jitter: f32) -> Batches<B> {
        Batches {
            size: 8,
            crop: 32,
            flip: true,
            exposure,
            color_jitter,
            crop_scale: 1.0,
            device: Default::default(),
        }
    }

    fn values(t: burn::tensor::Tensor<B, 4>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    #[test]
    fn probes_are_fixed_and_batches_in_range() {
        let bank = ImageBank::load(&ImageSet::Builtin, Builtin::Scenes, 6, 40, 3, "x").unwrap();
        let p1 = bank.probes(3, 32, 9);
        let p2 = bank.probes(3, 32, 9);
        assert_eq!(p1, p2);
        assert!(p1.iter().all(|p| p.dimensions() == (32, 32)));
        let b = bank.batch(&mut Rng::new(1), 2, 32, true);
        assert_eq!(b.len(), 2 * 3 * 32 * 32);
        assert!(b.iter().all(|v| (-1.0..=1.0).contains(v)));
    }

    #[test]
    fn exposure_jitter_darkens_and_brightens_whole_crops_and_is_off_at_zero() {
        let bank = ImageBank::load(&ImageSet::Builtin, Builtin::Scenes, 6, 40, 3, "x").unwrap();
        let batches = |exposure| test_batches(exposure, 0.0);
        // Off: exactly the plain batch, from the same draws.
        let plain = values(batches(0.0).draw(&bank, &mut Rng::new(5)));
        assert_eq!(
            plain,
            values(batches(0.0).draw_content(&bank, &mut Rng::new(5)))
        );
        // On: the same crops (the crop draws come first), each re-exposed as a whole.
        let jittered = values(batches(1.5).draw_content(&bank, &mut Rng::new(5)));
        assert!(jittered.iter().all(|v| (-1.0..=1.0).contains(v)));
        let per = 3 * 32 * 32;
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        let shifts: Vec<f32> = plain
            .chunks(per)
            .zip(jittered.chunks(per))
            .map(|(a, b)| mean(b) - mean(a))
            .collect();
        assert!(
            shifts.iter().any(|&d| d < -0.05),
            "no crop darker: {shifts:?}"
        );
        assert!(
            shifts.iter().any(|&d| d > 0.05),
            "no crop brighter: {shifts:?}"
        );
        // A gamma keeps the order of values within a crop (no posterizing, no inversion).
        for (a, b) in plain.chunks(per).zip(jittered.chunks(per)) {
            let order = |v: &[f32]| {
                let mut i: Vec<usize> = (0..v.len()).collect();
                i.sort_by(|&x, &y| v[x].total_cmp(&v[y]));
                i
            };
            let sorted_b: Vec<f32> = order(a).iter().map(|&i| b[i]).collect();
            assert!(sorted_b.windows(2).all(|w| w[0] <= w[1]), "order changed");
        }
    }

    #[test]
    fn color_jitter_turns_hues_keeps_luminance_and_grey_and_is_off_at_zero() {
        let bank = ImageBank::load(&ImageSet::Builtin, Builtin::Scenes, 6, 40, 3, "x").unwrap();
        let batches = |color_jitter| test_batches(0.0, color_jitter);
        let plain = values(batches(0.0).draw(&bank, &mut Rng::new(5)));
        assert_eq!(
            plain,
            values(batches(0.0).draw_content(&bank, &mut Rng::new(5)))
        );
        let jittered = values(batches(0.5).draw_content(&bank, &mut Rng::new(5)));
        assert!(jittered.iter().all(|v| (-1.0..=1.0).contains(v)));
        let per = 3 * 32 * 32;
        let n = 32 * 32;
        let luma = |c: &[f32], k: usize| 0.299 * c[k] + 0.587 * c[n + k] + 0.114 * c[2 * n + k];
        let mut moved = 0;
        for (a, b) in plain.chunks(per).zip(jittered.chunks(per)) {
            // Luminance is kept wherever no channel was clamped.
            for k in 0..n {
                if [b[k], b[n + k], b[2 * n + k]]
                    .iter()
                    .all(|v| v.abs() < 0.999)
                {
                    assert!((luma(a, k) - luma(b, k)).abs() < 1e-3, "luminance moved");
                }
            }
            let diff: f32 = a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / per as f32;
            if diff > 0.02 {
                moved += 1;
            }
        }
        assert!(moved >= 6, "only {moved} of 8 crops recoloured");
        // Grey stays grey whatever the turn and saturation.
        let mut grey = vec![0.3f32; 3 * 4];
        recolor(&mut grey, 2.0, 1.7);
        assert!(grey.iter().all(|v| (v - 0.3).abs() < 1e-4), "{grey:?}");
        // A half turn sends red toward cyan.
        let mut red = vec![0.8, -0.6, -0.6];
        recolor(&mut red, std::f32::consts::PI, 1.0);
        assert!(red[0] < red[1] && red[0] < red[2], "{red:?}");
    }

    #[test]
    fn scaled_crops_zoom_out_up_to_the_scale_and_stay_in_range() {
        // One image: a left half black and a right half white, 128 px; crops of 32.
        let mut img = RgbImage::new(128, 128);
        for (x, _, p) in img.enumerate_pixels_mut() {
            *p = image::Rgb(if x < 64 { [0; 3] } else { [255; 3] });
        }
        let bank = ImageBank {
            images: vec![img],
            skipped: Vec::new(),
        };
        let per = 3 * 32 * 32;
        // Native crops are pure black and white (no resampling).
        let mid_share =
            |data: &[f32]| data.iter().filter(|v| v.abs() < 0.9).count() as f32 / data.len() as f32;
        let crops_with_edge = |data: Vec<f32>| -> Vec<Vec<f32>> {
            data.chunks(per)
                .filter(|c| c.iter().any(|&v| v < -0.5) && c.iter().any(|&v| v > 0.5))
                .map(|c| c.to_vec())
                .collect()
        };
        let native = crops_with_edge(bank.batch(&mut Rng::new(3), 64, 32, false));
        let scaled = crops_with_edge(bank.scaled_batch(&mut Rng::new(3), 64, 32, 4.0, false));
        assert!(!native.is_empty() && !scaled.is_empty());
        assert!(native.iter().all(|c| mid_share(c) == 0.0));
        // Zoomed-out crops are resampled: their edge is spread over mid-grey values.
        assert!(scaled.iter().any(|c| mid_share(c) > 0.0));
        // Zoomed-out crops show more of the image: more of them hold the edge at all.
        assert!(
            scaled.len() > native.len(),
            "{} vs {}",
            scaled.len(),
            native.len()
        );
        let data = bank.scaled_batch(&mut Rng::new(4), 16, 32, 4.0, true);
        assert_eq!(data.len(), 16 * per);
        assert!(data.iter().all(|v| (-1.0..=1.0).contains(v)));
        // A scale larger than the image fits: the window is clamped to the image.
        let data = bank.scaled_batch(&mut Rng::new(5), 4, 32, 8.0, false);
        assert_eq!(data.len(), 4 * per);
    }
}
