//! The generator's palette head (`generator.palette`, single_style): the output's per-channel
//! mean (`"mean"`), or mean and standard deviation (`"moments"`), are set to the painting's: an
//! instance normalisation of the RGB output whose affine is the painting's colour statistics.
//! `"joint"` moves the output's whole joint RGB distribution onto the painting's with
//! [`crate::stylize::Palette`], on the host, as `stylize --palette` does, but with its ranks
//! contrast-limited ([`CLIP`]; `--palette` ranks exactly), and with the gradient passed
//! straight through (the change is added as a constant). A fully convolutional,
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
use crate::stylize::palette::{Palette as JointPalette, CLIP, ITERATIONS, QUANTILES};
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

#[derive(Module, Debug)]
pub struct PaletteHead<B: Backend> {
    /// The painting's per-channel mean, [1, 3, 1, 1], in the generator's [-1, 1] domain.
    mean: Param<Tensor<B, 4>>,
    /// The painting's per-channel standard deviation, [1, 3, 1, 1].
    std: Param<Tensor<B, 4>>,
    /// `"joint"`: the painting's colour distribution, its [`JointPalette::quantiles`] as
    /// [ITERATIONS * 3, QUANTILES].
    joint: Option<Param<Tensor<B, 2>>>,
    /// `"moments"`: the standard deviation too; `"mean"`: the mean alone.
    #[module(skip)]
    spread: bool,
}

impl<B: Backend> PaletteHead<B> {
    /// A head of `kind` (not `None`) with placeholder statistics (mean 0, sd 1/2, joint
    /// quantiles 0): what [`Self::for_painting`] or a loaded model's record replaces.
    pub fn new(kind: Palette, device: &B::Device) -> Self {
        let joint = (kind == Palette::Joint).then(|| vec![0.0; ITERATIONS * 3 * QUANTILES]);
        Self::with_stats([0.0; 3], [0.5; 3], kind == Palette::Moments, joint, device)
    }

    /// The same kind of head for `painting`: its pixels' per-channel mean and standard deviation
    /// (and joint distribution).
    pub fn for_painting(self, painting: &RgbImage, device: &B::Device) -> Self {
        let (mean, std) = channel_stats(painting);
        let joint = self.joint.as_ref().map(|_| {
            let q = JointPalette::of(painting).quantiles();
            if q.is_empty() {
                vec![0.0; ITERATIONS * 3 * QUANTILES]
            } else {
                q
            }
        });
        Self::with_stats(mean, std, self.spread, joint, device)
    }

    fn with_stats(
        mean: [f32; 3],
        std: [f32; 3],
        spread: bool,
        joint: Option<Vec<f32>>,
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
            joint: joint.map(|q| {
                Param::from_tensor(Tensor::from_data(
                    TensorData::new(q, [ITERATIONS * 3, QUANTILES]),
                    device,
                ))
                .set_require_grad(false)
            }),
            spread,
        }
    }

    /// `y` [N, 3, H, W] with each image's (or the batch's) per-channel mean (and standard
    /// deviation) set to the painting's, clamped to [-1, 1]; with `"joint"`, its whole colour
    /// distribution.
    pub fn forward(&self, y: Tensor<B, 4>, stats: Stats) -> Tensor<B, 4> {
        if let Some(q) = &self.joint {
            return match_joint(y, q.val(), stats);
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

/// `y` [N, 3, H, W] with the joint RGB distribution of each image (or of the whole batch) moved
/// onto the palette whose quantiles are `quantiles`, clamped to [-1, 1]. The values go to the
/// host and back (one read per forward); the change is added as a constant, so the gradient
/// reaches `y` unchanged (straight through).
fn match_joint<B: Backend>(y: Tensor<B, 4>, quantiles: Tensor<B, 2>, stats: Stats) -> Tensor<B, 4> {
    let [n, c, h, w] = y.dims();
    let palette = JointPalette::from_quantiles(
        &quantiles
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .expect("converted to f32"),
    );
    let detached = y.clone().detach();
    let values: Vec<f32> = detached
        .clone()
        .into_data()
        .convert::<f32>()
        .to_vec()
        .expect("converted to f32");
    let plane = h * w;
    // (first image, count) of each group matched as one distribution.
    let groups: Vec<(usize, usize)> = match stats {
        Stats::Image => (0..n).map(|i| (i, 1)).collect(),
        Stats::Batch => std::iter::once((0, n)).collect(),
    };
    let mut out = values.clone();
    for (first, count) in groups {
        let at = |i: usize, ch: usize, k: usize| (i * c + ch) * plane + k;
        let mut px: Vec<[f32; 3]> = (first..first + count)
            .flat_map(|i| (0..plane).map(move |k| (i, k)))
            .map(|(i, k)| [0, 1, 2].map(|ch| (values[at(i, ch, k)] + 1.0) / 2.0))
            .collect();
        palette.apply_values(&mut px, CLIP);
        for (j, p) in px.iter().enumerate() {
            let (i, k) = (first + j / plane, j % plane);
            for (ch, v) in p.iter().enumerate() {
                out[at(i, ch, k)] = (v * 2.0 - 1.0).clamp(-1.0, 1.0);
            }
        }
    }
    let matched = Tensor::<B, 4>::from_data(TensorData::new(out, [n, c, h, w]), &y.device());
    y + (matched - detached)
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
    fn a_joint_head_does_what_stylize_palette_does_and_passes_the_gradient() {
        use burn::backend::Autodiff;
        use burn::module::AutodiffModule;
        type A = Autodiff<Flex>;
        let dev = Default::default();
        // A blue and yellow painting; a red and green image.
        let painting = RgbImage::from_fn(16, 16, |x, _| {
            if x < 8 {
                image::Rgb([20, 40, 200])
            } else {
                image::Rgb([230, 210, 40])
            }
        });
        let photo = RgbImage::from_fn(8, 8, |_, y| {
            if y < 4 {
                image::Rgb([200, 30, 30])
            } else {
                image::Rgb([30, 200, 30])
            }
        });
        let want = JointPalette::of(&painting).apply(&photo);
        let head = PaletteHead::<A>::new(Palette::Joint, &dev).for_painting(&painting, &dev);
        let loaded = PaletteHead::<Flex>::new(Palette::Joint, &dev)
            .load_record(head.clone().valid().into_record());
        let values: Vec<f32> = (0..3)
            .flat_map(|c| photo.pixels().map(move |p| p[c] as f32 / 127.5 - 1.0))
            .collect();
        let y = Tensor::<A, 4>::from_data(TensorData::new(values.clone(), [1, 3, 8, 8]), &dev)
            .require_grad();
        let out = head.forward(y.clone(), Stats::Image);
        let got: Vec<f32> = out.clone().into_data().to_vec().unwrap();
        for (k, p) in want.pixels().enumerate() {
            for c in 0..3 {
                let v = (got[c * 64 + k] + 1.0) * 127.5;
                assert!(
                    (v - p[c] as f32).abs() < 1.5,
                    "pixel {k} channel {c}: {v} vs {}",
                    p[c]
                );
            }
        }
        // Saved and loaded, the head maps the same way.
        let again: Vec<f32> = loaded
            .forward(
                Tensor::from_data(TensorData::new(values, [1, 3, 8, 8]), &dev),
                Stats::Image,
            )
            .into_data()
            .to_vec()
            .unwrap();
        assert!(got.iter().zip(&again).all(|(a, b)| (a - b).abs() < 1e-6));
        // Straight through: the gradient of a weighted sum is the weights.
        let weights = Tensor::<A, 4>::random(
            [1, 3, 8, 8],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &dev,
        );
        let grad = y.grad(&(out * weights.clone()).sum().backward()).unwrap();
        let err = crate::train::model::max_abs_diff(grad, weights.inner());
        assert!(err < 1e-6, "{err}");
    }
}
