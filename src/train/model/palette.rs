//! The generator's palette head (`generator.palette`, single_style): the output's per-channel
//! mean (`"mean"`), or mean and standard deviation (`"moments"`), are set to the painting's: an
//! instance normalisation of the RGB output whose affine is the painting's colour statistics.
//! `"quantiles"` sets each channel's whole distribution (per-channel histogram matching: each
//! value becomes the painting's quantile at its rank); its gradient passes straight through, as
//! if the head were not there, since a value's rank does not change with small moves. A fully convolutional,
//! instance-normalised generator cannot see a photo's overall colour level (a night photo and a
//! noon one look alike to it after the first norm), so no weights can make every photo's
//! palette the painting's; this head does it per image, and training sees its result, so the
//! losses shape strokes under the painting's colours instead of fighting the photo's.
//!
//! The statistics are taken over each image when stylizing and over the whole batch of crops
//! while training: a 64-px crop of sky forced to the whole painting's spread of colours would be
//! amplified noise, while the batch's crops together stand for a photo. The painting's
//! statistics are fixed (no gradient) and saved with the weights, so a model stylizes without its
//! painting.

use crate::spec::Palette;
use burn::module::Param;
use burn::prelude::*;
use image::RgbImage;

/// What the output's statistics are taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stats {
    /// Each image on its own (stylizing, probes).
    Image,
    /// All images of the batch together (training, and a teacher's targets).
    Batch,
}

/// Added to the variance before the square root: a flat image reads a spread of ~0.003, not 0,
/// so the palette head leaves it flat instead of dividing by zero.
const EPS: f32 = 1e-5;

/// How many quantiles of each of the painting's channels a `"quantiles"` head keeps, evenly
/// spaced from its least value to its greatest (values between are interpolated linearly).
pub const QUANTILES: usize = 256;

#[derive(Module, Debug)]
pub struct PaletteHead<B: Backend> {
    /// The painting's per-channel mean, [1, 3, 1, 1], in the generator's [-1, 1] domain.
    mean: Param<Tensor<B, 4>>,
    /// The painting's per-channel standard deviation, [1, 3, 1, 1].
    std: Param<Tensor<B, 4>>,
    /// `"quantiles"`: the painting's per-channel quantiles, [3, QUANTILES], at levels
    /// k / (QUANTILES - 1).
    quantiles: Option<Param<Tensor<B, 2>>>,
    /// `"moments"`: the standard deviation too; `"mean"`: the mean alone.
    #[module(skip)]
    spread: bool,
}

impl<B: Backend> PaletteHead<B> {
    /// A head of `kind` (not `None`) with neutral statistics (mean 0, sd 1/2, quantiles evenly
    /// spread over [-1, 1]): what a loaded model's record replaces.
    pub fn new(kind: Palette, device: &B::Device) -> Self {
        let quantiles = (kind == Palette::Quantiles).then(|| {
            let ramp = (0..QUANTILES).map(|k| 2.0 * k as f32 / (QUANTILES - 1) as f32 - 1.0);
            ramp.clone().chain(ramp.clone()).chain(ramp).collect()
        });
        Self::with_stats(
            [0.0; 3],
            [0.5; 3],
            kind == Palette::Moments,
            quantiles,
            device,
        )
    }

    /// The same kind of head for `painting`: its pixels' per-channel mean and standard deviation
    /// (and quantiles).
    pub fn for_painting(self, painting: &RgbImage, device: &B::Device) -> Self {
        let (mean, std) = channel_stats(painting);
        let quantiles = self.quantiles.as_ref().map(|_| channel_quantiles(painting));
        Self::with_stats(mean, std, self.spread, quantiles, device)
    }

    fn with_stats(
        mean: [f32; 3],
        std: [f32; 3],
        spread: bool,
        quantiles: Option<Vec<f32>>,
        device: &B::Device,
    ) -> Self {
        let t = |v: [f32; 3]| {
            Param::from_tensor(Tensor::from_data(
                TensorData::new(v.to_vec(), [1, 3, 1, 1]),
                device,
            ))
            .set_require_grad(false)
        };
        Self {
            mean: t(mean),
            std: t(std),
            quantiles: quantiles.map(|q| {
                Param::from_tensor(Tensor::from_data(
                    TensorData::new(q, [3, QUANTILES]),
                    device,
                ))
                .set_require_grad(false)
            }),
            spread,
        }
    }

    /// `y` [N, 3, H, W] with each image's (or the batch's) per-channel mean (and standard
    /// deviation) set to the painting's, clamped to [-1, 1]; or with a `"quantiles"` head, each
    /// channel's distribution.
    pub fn forward(&self, y: Tensor<B, 4>, stats: Stats) -> Tensor<B, 4> {
        if let Some(q) = &self.quantiles {
            return match_quantiles(y, q.val().detach(), stats);
        }
        let (mean, sd) = channel_moments(y.clone(), stats);
        let centred = y - mean;
        let to_mean = self.mean.val().detach();
        let out = if self.spread {
            centred / sd * self.std.val().detach() + to_mean
        } else {
            centred + to_mean
        };
        out.clamp(-1.0, 1.0)
    }
}

/// Per-channel mean and standard deviation of `t` [N, C, H, W] over each image ([N, C, 1, 1])
/// or over the whole batch ([1, C, 1, 1]), `EPS` added to the variance: the statistics the
/// palette head sets and the global colour path reads.
pub fn channel_moments<B: Backend>(t: Tensor<B, 4>, stats: Stats) -> (Tensor<B, 4>, Tensor<B, 4>) {
    let reduce = |t: Tensor<B, 4>| {
        let t = t.mean_dim(2).mean_dim(3);
        match stats {
            Stats::Image => t,
            Stats::Batch => t.mean_dim(0),
        }
    };
    let mean = reduce(t.clone());
    let sd = (reduce((t - mean.clone()).powi_scalar(2)) + EPS).sqrt();
    (mean, sd)
}

/// `y` [N, C, H, W] with each channel of each image (or of the whole batch) histogram-matched
/// to `quantiles` [C, K]: the value of rank r among n becomes the quantiles' value at level
/// (r + 1/2) / n, interpolated linearly. The change is added as a constant, so the gradient
/// reaches `y` unchanged (straight through).
fn match_quantiles<B: Backend>(
    y: Tensor<B, 4>,
    quantiles: Tensor<B, 2>,
    stats: Stats,
) -> Tensor<B, 4> {
    let [n, c, h, w] = y.dims();
    let k = quantiles.dims()[1];
    let values = y.clone().detach();
    // One row per distribution matched: each image's channels, or the batch's.
    let (rows, table) = match stats {
        Stats::Image => (values.reshape([n * c, h * w]), quantiles.repeat_dim(0, n)),
        Stats::Batch => (values.swap_dims(0, 1).reshape([c, n * h * w]), quantiles),
    };
    let len = rows.dims()[1];
    let ranks = rows.argsort(1).argsort(1).float();
    let pos = (ranks + 0.5) * ((k - 1) as f64 / len as f64);
    let lo = pos.clone().floor().clamp(0.0, (k - 2) as f64);
    let frac = pos - lo.clone();
    let lo = lo.int();
    let below = table.clone().gather(1, lo.clone());
    let above = table.gather(1, lo + 1);
    let matched = below.clone() + (above - below) * frac;
    let matched = match stats {
        Stats::Image => matched.reshape([n, c, h, w]),
        Stats::Batch => matched.reshape([c, n, h, w]).swap_dims(0, 1),
    };
    let change = matched - y.clone().detach();
    y + change
}

/// Each channel's quantiles of `image`'s pixels in [-1, 1], channel after channel: `QUANTILES`
/// values at levels k / (QUANTILES - 1), interpolated linearly between the sorted pixels.
fn channel_quantiles(image: &RgbImage) -> Vec<f32> {
    let mut out = Vec::with_capacity(3 * QUANTILES);
    for c in 0..3 {
        let mut v: Vec<f32> = image.pixels().map(|p| p[c] as f32 / 127.5 - 1.0).collect();
        v.sort_unstable_by(f32::total_cmp);
        if v.is_empty() {
            v.push(0.0);
        }
        let last = (v.len() - 1) as f32;
        out.extend((0..QUANTILES).map(|k| {
            let pos = last * k as f32 / (QUANTILES - 1) as f32;
            let (i, frac) = (pos.floor() as usize, pos.fract());
            let next = v[(i + 1).min(v.len() - 1)];
            v[i] + (next - v[i]) * frac
        }));
    }
    out
}

/// Per-channel mean and standard deviation of `image`'s pixels, in [-1, 1].
fn channel_stats(image: &RgbImage) -> ([f32; 3], [f32; 3]) {
    let n = (image.width() as f64 * image.height() as f64).max(1.0);
    let (mut sum, mut sq) = ([0f64; 3], [0f64; 3]);
    for p in image.pixels() {
        for c in 0..3 {
            let v = p[c] as f64 / 127.5 - 1.0;
            sum[c] += v;
            sq[c] += v * v;
        }
    }
    let mean = sum.map(|s| s / n);
    let std: Vec<f64> = (0..3)
        .map(|c| (sq[c] / n - mean[c] * mean[c]).max(0.0).sqrt())
        .collect();
    (
        mean.map(|m| m as f32),
        [std[0] as f32, std[1] as f32, std[2] as f32],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    fn moments(t: Tensor<Flex, 4>) -> (Vec<f32>, Vec<f32>) {
        let m = t.clone().mean_dim(2).mean_dim(3);
        let v = (t - m.clone())
            .powi_scalar(2)
            .mean_dim(2)
            .mean_dim(3)
            .sqrt();
        (
            m.into_data().to_vec().unwrap(),
            v.into_data().to_vec().unwrap(),
        )
    }

    /// A painting of two colours in equal halves: mean and sd per channel are known.
    fn painting() -> RgbImage {
        RgbImage::from_fn(8, 8, |x, _| {
            if x < 4 {
                image::Rgb([0, 127, 255])
            } else {
                image::Rgb([255, 127, 255])
            }
        })
    }

    #[test]
    fn the_paintings_statistics_are_per_channel() {
        let (mean, sd) = channel_stats(&painting());
        // Red: half -1, half +1; green: flat 127; blue: flat +1.
        let green = 127.0 / 127.5 - 1.0;
        for (got, want) in mean.iter().zip([0.0, green, 1.0]) {
            assert!((got - want).abs() < 1e-6, "{mean:?}");
        }
        for (got, want) in sd.iter().zip([1.0, 0.0, 0.0]) {
            assert!((got - want).abs() < 1e-6, "{sd:?}");
        }
    }

    #[test]
    fn each_image_gets_the_paintings_mean_and_spread() {
        let dev = Default::default();
        let (to_mean, to_sd) = ([0.1, -0.2, 0.3], [0.2, 0.1, 0.3]);
        let head = PaletteHead::<Flex>::with_stats(to_mean, to_sd, true, None, &dev);
        // Two images with different levels and spreads.
        let y = Tensor::<Flex, 4>::random(
            [2, 3, 16, 16],
            burn::tensor::Distribution::Uniform(-0.2, 0.2),
            &dev,
        ) * Tensor::from_data(TensorData::new(vec![1.0f32, 3.0], [2, 1, 1, 1]), &dev)
            + Tensor::from_data(TensorData::new(vec![-0.5f32, 0.3], [2, 1, 1, 1]), &dev);
        let (mean, sd) = moments(head.forward(y, Stats::Image));
        for i in 0..2 {
            for c in 0..3 {
                assert!((mean[i * 3 + c] - to_mean[c]).abs() < 1e-4, "{mean:?}");
                assert!((sd[i * 3 + c] - to_sd[c]).abs() < 1e-3, "{sd:?}");
            }
        }
    }

    #[test]
    fn a_mean_head_moves_the_level_and_keeps_the_spread() {
        let dev = Default::default();
        let head = PaletteHead::<Flex>::with_stats([0.1, -0.2, 0.3], [0.9; 3], false, None, &dev);
        let y = Tensor::<Flex, 4>::random(
            [1, 3, 16, 16],
            burn::tensor::Distribution::Uniform(-0.6, -0.2),
            &dev,
        );
        let (_, sd_in) = moments(y.clone());
        let (mean, sd) = moments(head.forward(y, Stats::Image));
        for c in 0..3 {
            assert!((mean[c] - [0.1, -0.2, 0.3][c]).abs() < 1e-4, "{mean:?}");
            assert!((sd[c] - sd_in[c]).abs() < 1e-4, "{sd:?} {sd_in:?}");
        }
    }

    #[test]
    fn batch_statistics_keep_the_differences_between_images() {
        let dev = Default::default();
        let head = PaletteHead::<Flex>::with_stats([0.1; 3], [0.3; 3], true, None, &dev);
        let dark = Tensor::<Flex, 4>::full([1, 3, 4, 4], -0.4, &dev);
        let light = Tensor::<Flex, 4>::full([1, 3, 4, 4], 0.2, &dev);
        let out = head.forward(Tensor::cat(vec![dark, light], 0), Stats::Batch);
        let (mean, _) = moments(out);
        // The batch (two flat images, -0.4 and 0.2) becomes mean 0.1, sd 0.3: -0.2 and 0.4.
        assert!((mean[0] + 0.2).abs() < 1e-3, "{mean:?}");
        assert!((mean[3] - 0.4).abs() < 1e-3, "{mean:?}");
    }

    #[test]
    fn the_statistics_are_saved_with_the_weights() {
        let dev = Default::default();
        let trained =
            PaletteHead::<Flex>::new(Palette::Moments, &dev).for_painting(&painting(), &dev);
        let loaded = PaletteHead::<Flex>::new(Palette::Moments, &dev)
            .load_record(trained.clone().into_record());
        let y = Tensor::<Flex, 4>::random(
            [1, 3, 8, 8],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &dev,
        );
        let err = crate::train::model::max_abs_diff(
            trained.forward(y.clone(), Stats::Image),
            loaded.forward(y, Stats::Image),
        );
        assert!(err < 1e-6, "{err}");
    }

    #[test]
    fn a_quantile_head_gives_each_image_the_paintings_distribution() {
        let dev = Default::default();
        // A painting whose red channel is a ramp over [0, 255]: its red quantiles are the ramp.
        let painting = RgbImage::from_fn(16, 16, |x, y| image::Rgb([(y * 16 + x) as u8, 40, 200]));
        let head = PaletteHead::<Flex>::new(Palette::Quantiles, &dev).for_painting(&painting, &dev);
        let y = Tensor::<Flex, 4>::random(
            [2, 3, 16, 16],
            burn::tensor::Distribution::Uniform(-0.3, 0.1),
            &dev,
        );
        let out = head.forward(y.clone(), Stats::Image);
        let (o, i): (Vec<f32>, Vec<f32>) = (
            out.into_data().to_vec().unwrap(),
            y.into_data().to_vec().unwrap(),
        );
        for img in 0..2 {
            let plane =
                |v: &[f32], c: usize| v[(img * 3 + c) * 256..(img * 3 + c + 1) * 256].to_vec();
            let mut red = plane(&o, 0);
            red.sort_by(f32::total_cmp);
            // 256 values matched to a ramp of 256: each gets one ramp step, to rounding.
            for (r, v) in red.iter().enumerate() {
                let want = r as f32 / 127.5 - 1.0;
                assert!((v - want).abs() < 0.01, "rank {r}: {v} vs {want}");
            }
            // Flat channels stay flat at the painting's value.
            assert!(plane(&o, 1)
                .iter()
                .all(|v| (v - (40.0 / 127.5 - 1.0)).abs() < 1e-4));
            // Order is kept: the brightest input pixel is the brightest output pixel.
            let argmax = |v: Vec<f32>| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
            assert_eq!(argmax(plane(&o, 0)), argmax(plane(&i, 0)));
        }
    }

    #[test]
    fn a_quantile_heads_gradient_passes_straight_through() {
        use burn::backend::Autodiff;
        type A = Autodiff<Flex>;
        let dev = Default::default();
        let head = PaletteHead::<A>::new(Palette::Quantiles, &dev).for_painting(&painting(), &dev);
        let y = Tensor::<A, 4>::random(
            [2, 3, 4, 4],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &dev,
        )
        .require_grad();
        let weights = Tensor::<A, 4>::random(
            [2, 3, 4, 4],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &dev,
        );
        let loss = (head.forward(y.clone(), Stats::Batch) * weights.clone()).sum();
        let grad = y.grad(&loss.backward()).unwrap();
        let err = crate::train::model::max_abs_diff(grad, weights.inner());
        assert!(err < 1e-6, "{err}");
    }

    #[test]
    fn quantiles_are_saved_with_the_weights() {
        let dev = Default::default();
        let trained =
            PaletteHead::<Flex>::new(Palette::Quantiles, &dev).for_painting(&painting(), &dev);
        let loaded = PaletteHead::<Flex>::new(Palette::Quantiles, &dev)
            .load_record(trained.clone().into_record());
        let y = Tensor::<Flex, 4>::random(
            [1, 3, 8, 8],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &dev,
        );
        let err = crate::train::model::max_abs_diff(
            trained.forward(y.clone(), Stats::Image),
            loaded.forward(y, Stats::Image),
        );
        assert!(err < 1e-6, "{err}");
    }
}
