//! The preference-weighted discriminator's pool (opt-in and experimental: `[steer]` in the spec,
//! single_style only). Outputs the user favoured (the `favor` control command) are decoded,
//! resized and centre-cropped to the training crop, and kept as tensors on the training backend,
//! each until an expiry step (the step it arrived + `steer.favored_ttl`).
//!
//! In each discriminator step every real slot of the batch is replaced, independently with
//! probability `favored_fraction` (validated <= 0.15), by a favoured image picked uniformly from
//! the pool (mirrored half the time when the spec flips). Favoured images so take that share of
//! the real batch in expectation; a single batch may hold more (binomial), never a fixed quota,
//! which keeps small batches unbiased (a hard `floor(0.15 * 4)` would be 0). The draws come
//! from the session's seeded batch stream, and only while the pool is non-empty, so a run that
//! never receives a `favor` trains exactly as it would without the feature.
//!
//! The pool survives resume: a checkpoint holds `favored.json` (the step and each image's source
//! and expiry) and the cropped images as `favored_NN.png`.

use super::checkpoint::Snapshot;
use crate::rng::Rng;
use anyhow::{Context, Result};
use burn::prelude::*;
use image::RgbImage;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file in a checkpoint directory that lists the pool.
pub const FAVORED_STATE: &str = "favored.json";

struct Favored<B: Backend> {
    source: String,
    until: u64,
    image: RgbImage,
    /// `[1, 3, crop, crop]` in [-1, 1].
    tensor: Tensor<B, 4>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedPool {
    step: u64,
    images: Vec<SavedImage>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedImage {
    source: String,
    until: u64,
    file: String,
}

pub struct FavoredPool<B: Backend> {
    fraction: f64,
    crop: u32,
    /// Steps completed so far (kept in step with the session by `add` and `load`).
    now: u64,
    entries: Vec<Favored<B>>,
}

impl<B: Backend> FavoredPool<B> {
    pub fn new(fraction: f64, crop: u32) -> Self {
        Self {
            fraction,
            crop,
            now: 0,
            entries: Vec::new(),
        }
    }

    /// The feature is on for this run (`steer.favored_fraction > 0`).
    pub fn enabled(&self) -> bool {
        self.fraction > 0.0
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Favour `image` from step `now` (steps completed) until step `until` inclusive; returns the
    /// pool size.
    pub fn add(
        &mut self,
        source: &str,
        image: &RgbImage,
        now: u64,
        until: u64,
        device: &B::Device,
    ) -> usize {
        self.now = now;
        self.expire();
        let c = self.crop;
        let image = super::data::center_square(&super::data::resize_short_side(image, c), c);
        let tensor = to_tensor(&image, device);
        self.entries.push(Favored {
            source: source.to_string(),
            until,
            image,
            tensor,
        });
        self.entries.len()
    }

    fn expire(&mut self) {
        let now = self.now;
        self.entries.retain(|e| e.until >= now);
    }

    /// Advance one step, drop expired images, and choose each real slot's replacement: the index
    /// of a favoured image, or None to keep the real crop. Draws nothing while the pool is empty.
    pub fn plan(&mut self, n: usize, rng: &mut Rng) -> Vec<Option<usize>> {
        self.now += 1;
        self.expire();
        if self.entries.is_empty() || !self.enabled() {
            return vec![None; n];
        }
        (0..n)
            .map(|_| (f64::from(rng.f32()) < self.fraction).then(|| rng.below(self.entries.len())))
            .collect()
    }

    /// The real batch the critic sees this step, and the share of its slots that were replaced.
    pub fn mix(&mut self, real: Tensor<B, 4>, rng: &mut Rng, flip: bool) -> (Tensor<B, 4>, f32) {
        let n = real.dims()[0];
        let plan = self.plan(n, rng);
        let replaced = plan.iter().filter(|p| p.is_some()).count();
        if replaced == 0 {
            return (real, 0.0);
        }
        let slots = plan
            .iter()
            .enumerate()
            .map(|(i, p)| match p {
                None => real.clone().narrow(0, i, 1),
                Some(j) => {
                    let t = self.entries[*j].tensor.clone();
                    if flip && rng.bool() {
                        t.flip([3])
                    } else {
                        t
                    }
                }
            })
            .collect();
        (Tensor::cat(slots, 0), replaced as f32 / n as f32)
    }

    /// Write the images still in use into a checkpoint directory; returns the file names.
    pub fn save(&self, dir: &Path) -> Result<Vec<String>> {
        self.snapshot()(dir)
    }

    /// The images still in use as of now (host copies), written by the returned snapshot.
    pub fn snapshot(&self) -> Snapshot {
        let live: Vec<(String, u64, RgbImage)> = self
            .entries
            .iter()
            .filter(|e| e.until > self.now)
            .map(|e| (e.source.clone(), e.until, e.image.clone()))
            .collect();
        let now = self.now;
        Box::new(move |dir: &Path| {
            if live.is_empty() {
                return Ok(Vec::new());
            }
            let mut files = Vec::new();
            let mut images = Vec::new();
            for (i, (source, until, image)) in live.into_iter().enumerate() {
                let file = format!("favored_{i:02}.png");
                let p = dir.join(&file);
                image
                    .save(&p)
                    .with_context(|| format!("writing {}", p.display()))?;
                images.push(SavedImage {
                    source,
                    until,
                    file: file.clone(),
                });
                files.push(file);
            }
            let state = SavedPool { step: now, images };
            std::fs::write(dir.join(FAVORED_STATE), serde_json::to_vec_pretty(&state)?)?;
            files.push(FAVORED_STATE.into());
            Ok(files)
        })
    }

    /// Restore the pool of a checkpoint written by [`FavoredPool::save`] (none: empty pool).
    pub fn load(&mut self, dir: &Path, device: &B::Device) -> Result<()> {
        self.entries.clear();
        let path = dir.join(FAVORED_STATE);
        if !path.is_file() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&path)?;
        let state: SavedPool =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        for s in &state.images {
            let p = dir.join(&s.file);
            let img = image::open(&p)
                .with_context(|| format!("reading {}", p.display()))?
                .to_rgb8();
            self.add(&s.source, &img, state.step, s.until, device);
        }
        self.now = state.step;
        Ok(())
    }
}

fn to_tensor<B: Backend>(img: &RgbImage, device: &B::Device) -> Tensor<B, 4> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    Tensor::from_data(
        TensorData::new(
            super::data::convert::images_to_nchw(std::slice::from_ref(img)),
            [1, 3, h, w],
        ),
        device,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray;

    fn pool(fraction: f64) -> FavoredPool<B> {
        FavoredPool::new(fraction, 8)
    }

    #[test]
    fn replaced_share_follows_the_fraction_and_ends_at_expiry() {
        let dev = Default::default();
        let mut p = pool(0.15);
        let mut rng = Rng::new(5);
        // Nothing favoured: no slot replaced and no draw from the stream.
        let before = rng.clone().next_u64();
        assert!(p.plan(4, &mut rng).iter().all(Option::is_none));
        assert_eq!(rng.clone().next_u64(), before);

        let img = RgbImage::from_pixel(20, 12, image::Rgb([200, 10, 10]));
        p.add("a.png", &img, 1, 20_001, &dev);
        p.add("b.png", &img, 1, 10_001, &dev);
        let (mut replaced, mut slots, mut picks) = (0usize, 0usize, [0usize; 2]);
        for _ in 0..20_000 {
            for j in p.plan(4, &mut rng).into_iter().flatten() {
                replaced += 1;
                picks[j.min(1)] += 1;
            }
            slots += 4;
        }
        let share = replaced as f64 / slots as f64;
        assert!((share - 0.15).abs() < 0.01, "share {share}");
        assert!(picks[1] > 0, "both images drawn");
        // Step 20,001 is the last one of "a.png"; after it the pool is empty.
        assert_eq!(p.len(), 1);
        assert!(p.plan(4, &mut rng).iter().all(Option::is_none));
        assert!(p.is_empty());
    }

    #[test]
    fn mix_replaces_slots_with_the_cropped_image_and_the_pool_round_trips() {
        let dev = Default::default();
        let mut p = FavoredPool::<B>::new(0.15, 8);
        let img = RgbImage::from_pixel(16, 24, image::Rgb([255, 255, 255]));
        p.add("samples/x.png", &img, 0, 500, &dev);
        let real = Tensor::<B, 4>::zeros([64, 3, 8, 8], &dev);
        let (mixed, share) = p.mix(real, &mut Rng::new(1), true);
        assert_eq!(mixed.dims(), [64, 3, 8, 8]);
        let ones = mixed.sum().into_scalar() / (3.0 * 64.0);
        assert!(share > 0.0 && share < 0.4, "{share}");
        assert!((ones - share * 64.0).abs() < 1e-3, "{ones} vs {share}");

        let dir = tempfile::tempdir().unwrap();
        let files = p.save(dir.path()).unwrap();
        assert_eq!(files, vec!["favored_00.png", FAVORED_STATE]);
        let mut q = FavoredPool::<B>::new(0.15, 8);
        q.load(dir.path(), &dev).unwrap();
        assert_eq!((q.len(), q.now), (1, 1));
        assert_eq!(q.entries[0].source, "samples/x.png");
        assert_eq!(q.entries[0].until, 500);
        // A pool with nothing live writes nothing.
        let empty = FavoredPool::<B>::new(0.15, 8).save(dir.path()).unwrap();
        assert!(empty.is_empty());
    }
}
