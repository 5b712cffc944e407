//! The single_style recipe's colour term (`loss.color_weight`): a sliced Wasserstein distance
//! between RGB values of the generator's output and the painting's. `loss.color_pool` averages
//! pixels in squares first, so the term sees the palette and not the strokes (the full-resolution
//! term overshot and drew hatches, docs/quality.md); `loss.color_reference` chooses what the
//! output is matched to: each crop to its paired style crop (`crops`, the old behaviour), or the
//! whole batch's pixels to a fresh sample of the whole painting's pooled pixels (`painting`), so a
//! crop of sky need not take the colours of a random crop of the painting.

use super::losses;
use super::model::ops::avg_pool2x2;
use crate::rng::Rng;
use crate::spec::{ColorReference, LossSpec};
use burn::prelude::*;
use image::RgbImage;

pub struct ColorTerm {
    pool: usize,
    /// With `painting`: the painting's pooled pixels, RGB in [-1, 1], interleaved.
    painting: Option<Vec<[f32; 3]>>,
    directions: usize,
    normalize: bool,
    /// Its own stream: runs without the term draw exactly what they drew before.
    rng: Rng,
}

impl ColorTerm {
    pub fn new(loss: &LossSpec, style: &RgbImage, seed: u64) -> Self {
        let painting = (loss.color_reference == ColorReference::Painting)
            .then(|| pooled_pixels(style, loss.color_pool as u32));
        Self {
            pool: loss.color_pool,
            painting,
            directions: loss.swd_directions,
            normalize: loss.normalize,
            rng: Rng::stream(seed, "color-term"),
        }
    }

    /// The term for this step's output `fake` and style crops `style` (both [N, 3, H, W] in
    /// [-1, 1]).
    pub fn loss<B: Backend>(&mut self, fake: Tensor<B, 4>, style: Tensor<B, 4>) -> Tensor<B, 1> {
        let device = fake.device();
        let dirs = losses::random_directions(&mut self.rng, self.directions, 3, &device);
        let fake = pool(fake, self.pool);
        match &self.painting {
            None => losses::sliced_wasserstein(fake, pool(style, self.pool), dirs, self.normalize),
            Some(pixels) => {
                let [n, c, h, w] = fake.dims();
                let m = n * h * w;
                let fake = fake.swap_dims(0, 1).reshape([1, c, 1, m]);
                let picks: Vec<&[f32; 3]> = (0..m)
                    .map(|_| &pixels[self.rng.below(pixels.len())])
                    .collect();
                // Channel-major, as the tensor's [1, 3, 1, m] layout.
                let v: Vec<f32> = (0..3)
                    .flat_map(|ch| picks.iter().map(move |p| p[ch]))
                    .collect();
                let target = Tensor::<B, 4>::from_data(TensorData::new(v, [1, 3, 1, m]), &device);
                losses::sliced_wasserstein(fake, target, dirs, self.normalize)
            }
        }
    }
}

/// Averages of `p` x `p` squares (p a power of two) by repeated 2x2 pooling.
fn pool<B: Backend>(mut x: Tensor<B, 4>, p: usize) -> Tensor<B, 4> {
    let mut s = p;
    while s > 1 {
        x = avg_pool2x2(x);
        s /= 2;
    }
    x
}

/// The painting's `p` x `p` square means, as RGB in [-1, 1].
fn pooled_pixels(style: &RgbImage, p: u32) -> Vec<[f32; 3]> {
    let (w, h) = (style.width() / p, style.height() / p);
    let mut out = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0.0f32; 3];
            for dy in 0..p {
                for dx in 0..p {
                    let px = style.get_pixel(x * p + dx, y * p + dy);
                    for (s, &v) in sum.iter_mut().zip(px.0.iter()) {
                        *s += v as f32;
                    }
                }
            }
            let n = (p * p) as f32;
            out.push(sum.map(|s| s / n / 127.5 - 1.0));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    fn spec(pool: usize, reference: ColorReference) -> LossSpec {
        LossSpec {
            color_pool: pool,
            color_reference: reference,
            normalize: true,
            ..Default::default()
        }
    }

    /// A painting half black, half white: pooled 4x4 the halves stay pure.
    fn halves() -> RgbImage {
        RgbImage::from_fn(16, 16, |x, _| {
            if x < 8 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        })
    }

    #[test]
    fn pooled_pixels_are_square_means_in_model_range() {
        let p = pooled_pixels(&halves(), 4);
        assert_eq!(p.len(), 16);
        assert_eq!(p[0], [-1.0, -1.0, -1.0]);
        assert_eq!(p[3], [1.0, 1.0, 1.0]);
    }

    #[test]
    fn the_painting_reference_ignores_where_colours_are_but_not_which() {
        let dev = Default::default();
        let mut term = ColorTerm::new(&spec(4, ColorReference::Painting), &halves(), 1);
        // Half black, half white in any arrangement matches the painting's palette; all grey
        // does not.
        let split = Tensor::<Flex, 4>::from_data(
            TensorData::new(
                (0..2 * 3 * 64 * 64)
                    .map(|i| if (i / 64) % 64 < 32 { -1.0 } else { 1.0 })
                    .collect::<Vec<f32>>(),
                [2, 3, 64, 64],
            ),
            &dev,
        );
        let grey = Tensor::<Flex, 4>::zeros([2, 3, 64, 64], &dev);
        let crops = Tensor::<Flex, 4>::zeros([2, 3, 64, 64], &dev);
        let l_split: f32 = term.loss(split, crops.clone()).into_scalar();
        let l_grey: f32 = term.loss(grey, crops).into_scalar();
        assert!(l_split < 0.3 && l_grey > 0.7, "{l_split} {l_grey}");
    }

    #[test]
    fn pooling_hides_strokes_from_the_crops_reference() {
        let dev = Default::default();
        // A 2-px checkerboard of black and white has the mean grey at 4x4: it matches a grey
        // style crop pooled, not at full resolution.
        let board = Tensor::<Flex, 4>::from_data(
            TensorData::new(
                (0..3 * 16 * 16)
                    .map(|i| {
                        if ((i % 16) / 2 + (i / 16) / 2) % 2 == 0 {
                            -1.0
                        } else {
                            1.0
                        }
                    })
                    .collect::<Vec<f32>>(),
                [1, 3, 16, 16],
            ),
            &dev,
        );
        let grey = Tensor::<Flex, 4>::zeros([1, 3, 16, 16], &dev) + 0.01;
        let full: f32 = ColorTerm::new(&spec(1, ColorReference::Crops), &halves(), 1)
            .loss(board.clone(), grey.clone())
            .into_scalar();
        let pooled: f32 = ColorTerm::new(&spec(4, ColorReference::Crops), &halves(), 1)
            .loss(board, grey)
            .into_scalar();
        assert!(pooled < full / 100.0, "pooled {pooled}, full {full}");
    }
}
