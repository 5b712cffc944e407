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
/// content batches also get the spec's exposure jitter.
#[derive(Debug, Clone)]
pub struct Batches<B: burn::tensor::backend::Backend> {
    pub size: usize,
    pub crop: u32,
    pub flip: bool,
    /// `data.exposure`: content crops get a gamma in `[2^-exposure, 2^exposure]`.
    pub exposure: f32,
    pub device: B::Device,
}

impl<B: burn::tensor::backend::Backend> Batches<B> {
    pub fn new(spec: &crate::spec::Spec, device: &B::Device) -> Self {
        Self {
            size: spec.train.batch_size,
            crop: spec.data.image_size as u32,
            flip: spec.data.flip,
            exposure: spec.data.exposure as f32,
            device: device.clone(),
        }
    }

    /// A batch of random crops of `bank`, as they are.
    pub fn draw(&self, bank: &ImageBank, rng: &mut Rng) -> burn::tensor::Tensor<B, 4> {
        self.tensor(bank.batch(rng, self.size, self.crop, self.flip))
    }

    /// A batch of content crops: [`Self::draw`] with the exposure jitter (the same draws as
    /// `draw` when it is off, so runs without it are unchanged).
    pub fn draw_content(&self, bank: &ImageBank, rng: &mut Rng) -> burn::tensor::Tensor<B, 4> {
        let mut data = bank.batch(rng, self.size, self.crop, self.flip);
        if self.exposure > 0.0 {
            let per_image = data.len() / self.size.max(1);
            for crop in data.chunks_mut(per_image.max(1)) {
                let gamma = (self.exposure * rng.range_f32(-1.0, 1.0)).exp2();
                reexpose(crop, gamma);
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
        type B = burn::backend::NdArray;
        let bank = ImageBank::load(&ImageSet::Builtin, Builtin::Scenes, 6, 40, 3, "x").unwrap();
        let batches = |exposure| Batches::<B> {
            size: 8,
            crop: 32,
            flip: true,
            exposure,
            device: Default::default(),
        };
        let values = |t: burn::tensor::Tensor<B, 4>| t.into_data().to_vec::<f32>().unwrap();
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
}
