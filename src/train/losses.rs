//! Loss terms of both recipes as plain tensor functions: LSGAN targets (averaged over the critic's
//! scales), MSE/L1, Gram matrices and sliced Wasserstein distances for the style loss, total
//! variation. Each returns a scalar tensor; the training step weights and
//! sums them and records each term's value as an `f32`, never keeping tensors across steps.

use burn::prelude::*;

/// Mean squared error between two tensors of the same shape.
pub fn mse<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, 1> {
    (a - b).square().mean()
}

/// LSGAN: mean squared distance of every patch score to a target label (1 real, 0 fake),
/// averaged over the critic's scales (one score map per scale).
pub fn lsgan<B: Backend>(scores: Vec<Tensor<B, 4>>, target: f32) -> Tensor<B, 1> {
    let n = scores.len().max(1) as f32;
    scores
        .into_iter()
        .map(|s| (s - target).square().mean())
        .reduce(|a, b| a + b)
        .expect("the critic has at least one scale")
        / n
}

/// Content loss: MSE between feature maps; with `normalize`, relative to the (detached) target's
/// mean square, so its size does not depend on the feature net's scale.
pub fn content<B: Backend>(f: Tensor<B, 4>, target: Tensor<B, 4>, normalize: bool) -> Tensor<B, 1> {
    if normalize {
        let scale = target.clone().square().mean() + 1e-8;
        mse(f, target) / scale
    } else {
        mse(f, target)
    }
}

/// Mean absolute error.
pub fn l1<B: Backend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 1> {
    (a - b).abs().mean()
}

pub use super::model::ops::gram;
use super::model::ops::sort_rows;

/// Style loss: sum over layers of MSE between the batch's Grams and the style's Grams [1, C, C],
/// each multiplied by its layer's `scales` entry (1, or 1 / mean square of the target Gram when
/// normalised; see [`gram_scale`]).
pub fn style<B: Backend>(
    features: &[Tensor<B, 4>],
    targets: &[Tensor<B, 3>],
    scales: &[f32],
) -> Tensor<B, 1> {
    features
        .iter()
        .zip(targets)
        .zip(scales)
        .map(|((f, t), &scale)| {
            let g = gram(f.clone());
            let [n, c, _] = g.dims();
            mse(g, t.clone().expand([n, c, c])) * scale
        })
        .reduce(|a, b| a + b)
        .expect("feature net has at least one tap")
}

/// The factor that normalises one layer's Gram loss: 1 / mean square of its target Gram.
pub fn gram_scale<B: Backend>(target: &Tensor<B, 3>) -> f32 {
    let ms: f32 = target.clone().square().mean().into_scalar().elem();
    1.0 / (ms + 1e-12)
}

/// Sliced Wasserstein distance between the feature-vector distributions of each output image and
/// its paired target (same shape [N, C, H, W]): the H*W vectors of one image are projected on the
/// K unit directions `dirs` [K, C], sorted, and compared by mean square with the target's sorted
/// projections. Sorting makes it a match of whole distributions, not of positions, so it sees more
/// than a Gram matrix's second moments (the shapes of the marginals: sparse strokes vs haze). With
/// `normalize`, it is divided by the target projections' mean square.
pub fn sliced_wasserstein<B: Backend>(
    f: Tensor<B, 4>,
    target: Tensor<B, 4>,
    dirs: Tensor<B, 2>,
    normalize: bool,
) -> Tensor<B, 1> {
    let [n, c, h, w] = f.dims();
    let k = dirs.dims()[0];
    let dirs = dirs.unsqueeze::<3>().expand([n, k, c]);
    let pf = sort_rows(dirs.clone().matmul(f.reshape([n, c, h * w])));
    let pt = sort_rows(dirs.matmul(target.reshape([n, c, h * w])).detach());
    if normalize {
        let scale = pt.clone().square().mean() + 1e-8;
        mse(pf, pt) / scale
    } else {
        mse(pf, pt)
    }
}

/// K random unit directions in C dimensions, as a [K, C] tensor (fresh ones every step keep the
/// sliced distance from being gamed along a fixed set).
pub fn random_directions<B: Backend>(
    rng: &mut crate::rng::Rng,
    k: usize,
    c: usize,
    device: &B::Device,
) -> Tensor<B, 2> {
    let mut v: Vec<f32> = (0..k * c).map(|_| rng.normal()).collect();
    for row in v.chunks_mut(c) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        row.iter_mut().for_each(|x| *x /= norm);
    }
    Tensor::from_data(TensorData::new(v, [k, c]), device)
}

/// One of the 8 symmetries of the square, `k` in 0..8 (0 = none): bit 2 transposes, bit 0
/// mirrors left-right, bit 1 top-bottom. Turning the images a fixed filter bank sees is turning
/// the filters (`features.rotate`).
pub fn dihedral<B: Backend>(x: Tensor<B, 4>, k: usize) -> Tensor<B, 4> {
    let x = if k & 4 != 0 { x.swap_dims(2, 3) } else { x };
    let x = if k & 1 != 0 { x.flip([3]) } else { x };
    if k & 2 != 0 {
        x.flip([2])
    } else {
        x
    }
}

/// `features.softmax_temperature`: a softmax over all of each image's activations of one level,
/// at temperature `t`, times their count, minus 1: a view with mean 0, which for a large `t`
/// tends to the centred activations over `t`. Centred, because the normalised losses divide by
/// the target's mean square: around the softmax's constant mean of 1 that was the constant, and
/// at `t` = 2 the style terms came out about 100 times weaker than without the view (issue 26).
/// `t` = 0 leaves the activations as they are.
pub fn softmax_view<B: Backend>(f: Tensor<B, 4>, t: f32) -> Tensor<B, 4> {
    if t <= 0.0 {
        return f;
    }
    let [n, c, h, w] = f.dims();
    let m = c * h * w;
    (burn::tensor::activation::softmax(f.reshape([n, m]) / t, 1) * m as f32 - 1.0)
        .reshape([n, c, h, w])
}

/// Anisotropic total variation: mean absolute difference of neighbouring pixels.
pub fn total_variation<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 1> {
    let [n, c, h, w] = x.dims();
    let dy =
        x.clone().slice([0..n, 0..c, 1..h, 0..w]) - x.clone().slice([0..n, 0..c, 0..h - 1, 0..w]);
    let dx = x.clone().slice([0..n, 0..c, 0..h, 1..w]) - x.slice([0..n, 0..c, 0..h, 0..w - 1]);
    dy.abs().mean() + dx.abs().mean()
}

/// `x`'s high-pass band (itself minus its Gaussian blur of `sigma` px) as every `patch`-square
/// patch's values, stacked as channels: [N, C * patch², H + 1 - patch, W + 1 - patch]. The
/// sliced Wasserstein distance between two such maps compares the images' strokes as a
/// distribution, whatever their positions (`distill.stroke_weight`).
pub fn stroke_patches<B: Backend>(x: Tensor<B, 4>, sigma: f32, patch: usize) -> Tensor<B, 4> {
    let band = x.clone() - super::model::ops::gaussian_blur(x, sigma);
    let [n, c, h, w] = band.dims();
    let (ph, pw) = (h + 1 - patch, w + 1 - patch);
    let shifts = (0..patch * patch)
        .map(|i| {
            let (dy, dx) = (i / patch, i % patch);
            band.clone().slice([0..n, 0..c, dy..dy + ph, dx..dx + pw])
        })
        .collect();
    Tensor::cat(shifts, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn dihedral_is_the_eight_symmetries() {
        let dev = Default::default();
        // 2x2: [[1, 2], [3, 4]].
        let x = Tensor::<Flex, 4>::from_data(
            TensorData::new(vec![1.0f32, 2., 3., 4.], [1, 1, 2, 2]),
            &dev,
        );
        let v = |k| -> Vec<f32> { dihedral(x.clone(), k).into_data().to_vec().unwrap() };
        assert_eq!(v(0), vec![1., 2., 3., 4.]);
        assert_eq!(v(1), vec![2., 1., 4., 3.]);
        assert_eq!(v(2), vec![3., 4., 1., 2.]);
        assert_eq!(v(4), vec![1., 3., 2., 4.]);
        let all: std::collections::HashSet<Vec<u32>> = (0..8)
            .map(|k| v(k).iter().map(|f| f.to_bits()).collect())
            .collect();
        assert_eq!(all.len(), 8, "eight different images");
    }

    #[test]
    fn softmax_view_is_centred_and_sharpens_with_temperature() {
        let dev = Default::default();
        let x = Tensor::<Flex, 4>::from_data(
            TensorData::new(vec![0.0f32, 1., 2., 3.], [1, 1, 2, 2]),
            &dev,
        );
        let hot: Vec<f32> = softmax_view(x.clone(), 10.0).into_data().to_vec().unwrap();
        let cold: Vec<f32> = softmax_view(x.clone(), 0.5).into_data().to_vec().unwrap();
        assert!(hot.iter().sum::<f32>().abs() < 1e-4);
        assert!(cold.iter().sum::<f32>().abs() < 1e-4);
        assert!(cold[3] > hot[3] && cold[0] < hot[0], "{hot:?} {cold:?}");
        // Hot: close to the centred activations over the temperature, (x - 1.5) / 10.
        for (h, x) in hot.iter().zip([0.0f32, 1., 2., 3.]) {
            assert!((h - (x - 1.5) / 10.0).abs() < 0.02, "{hot:?}");
        }
        let off: Vec<f32> = softmax_view(x, 0.0).into_data().to_vec().unwrap();
        assert_eq!(off, vec![0., 1., 2., 3.]);
    }

    #[test]
    fn gram_of_known_features() {
        let dev = Default::default();
        // One image, two channels, 1x2 pixels: f = [[1, 2], [3, 4]].
        let f = Tensor::<Flex, 4>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 2, 1, 2]),
            &dev,
        );
        let g: Vec<f32> = gram(f).into_data().to_vec().unwrap();
        assert_eq!(g, vec![5.0 / 4.0, 11.0 / 4.0, 11.0 / 4.0, 25.0 / 4.0]);
    }

    #[test]
    fn lsgan_and_tv_values() {
        let dev = Default::default();
        let s = Tensor::<Flex, 4>::ones([2, 1, 3, 3], &dev);
        assert_eq!(lsgan(vec![s.clone()], 1.0).into_scalar(), 0.0);
        assert_eq!(lsgan(vec![s.clone()], 0.0).into_scalar(), 1.0);
        // Two scales: the mean of (0 - 1)^2 = 1 and (1 - 1)^2 = 0.
        let zeros = Tensor::<Flex, 4>::zeros([2, 1, 2, 2], &dev);
        assert_eq!(lsgan(vec![zeros, s.clone()], 1.0).into_scalar(), 0.5);
        assert_eq!(total_variation(s).into_scalar(), 0.0);
        let ramp = Tensor::<Flex, 1>::from_floats([0.0, 1.0, 2.0, 3.0], &dev).reshape([1, 1, 1, 4]);
        // dy over a height of 1 is empty (NaN mean); use a 2-row ramp instead.
        let ramp = ramp.repeat_dim(2, 2);
        assert_eq!(total_variation(ramp).into_scalar(), 1.0);
    }

    #[test]
    fn sliced_wasserstein_ignores_positions_but_not_values() {
        let dev = Default::default();
        let mut rng = crate::rng::Rng::new(3);
        let dirs = random_directions::<Flex>(&mut rng, 8, 2, &dev);
        let v: Vec<f32> = (0..2 * 16).map(|i| ((i * 7) % 11) as f32 / 11.0).collect();
        let a = Tensor::<Flex, 4>::from_data(TensorData::new(v.clone(), [1, 2, 4, 4]), &dev);
        // The same feature vectors at other positions (a transposed map): distance 0.
        let b = a.clone().swap_dims(2, 3);
        let d0: f32 = sliced_wasserstein(a.clone(), b, dirs.clone(), false).into_scalar();
        assert!(d0.abs() < 1e-10, "{d0}");
        // Scaled features: a positive distance, which normalising makes scale-free.
        let d1: f32 =
            sliced_wasserstein(a.clone() * 2.0, a.clone(), dirs.clone(), false).into_scalar();
        assert!(d1 > 1e-3, "{d1}");
        let n1: f32 =
            sliced_wasserstein(a.clone() * 2.0, a.clone(), dirs.clone(), true).into_scalar();
        let n2: f32 =
            sliced_wasserstein(a.clone() * 20.0, a.clone() * 10.0, dirs, true).into_scalar();
        assert!((n1 - n2).abs() < 1e-4 * n1.abs().max(1.0), "{n1} vs {n2}");
    }

    #[test]
    fn normalised_content_loss_is_scale_free() {
        let dev = Default::default();
        let t = Tensor::<Flex, 4>::from_floats([[[[1.0, 2.0], [3.0, 4.0]]]], &dev);
        let a: f32 = content(t.clone() * 1.5, t.clone(), true).into_scalar();
        let b: f32 = content(t.clone() * 150.0, t.clone() * 100.0, true).into_scalar();
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        let raw: f32 = content(t.clone() * 150.0, t * 100.0, false).into_scalar();
        assert!(raw > 100.0 * a);
    }

    #[test]
    fn directions_are_unit_vectors() {
        let dev = Default::default();
        let d = random_directions::<Flex>(&mut crate::rng::Rng::new(1), 5, 7, &dev);
        let norms: Vec<f32> = d.square().sum_dim(1).into_data().to_vec().unwrap();
        assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-5), "{norms:?}");
    }

    #[test]
    fn stroke_patches_see_strokes_not_colours_or_positions() {
        let dev = Default::default();
        let dirs = || random_directions::<Flex>(&mut crate::rng::Rng::new(5), 32, 75, &dev);
        let stripes = |period: usize, shift: usize, level: f32| {
            let v: Vec<f32> = (0..3 * 24 * 24)
                .map(|i| {
                    let x = i % 24;
                    level
                        + if (x + shift) % period < period / 2 {
                            0.4
                        } else {
                            -0.4
                        }
                })
                .collect();
            Tensor::<Flex, 4>::from_data(TensorData::new(v, [1, 3, 24, 24]), &dev)
        };
        let d = |a, b| -> f32 {
            sliced_wasserstein(
                stroke_patches(a, 2.0, 5),
                stroke_patches(b, 2.0, 5),
                dirs(),
                true,
            )
            .into_scalar()
        };
        let base = stripes(4, 0, 0.0);
        // The same strokes moved by a pixel and on another colour level: nearly no distance
        // (the image's border makes the two crops' sets differ a little).
        let moved = d(stripes(4, 1, 0.3), base.clone());
        // Strokes twice as wide: a distance far larger.
        let wider = d(stripes(8, 0, 0.0), base.clone());
        assert_eq!(
            stroke_patches(base.clone(), 2.0, 5).dims(),
            [1, 3 * 5 * 5, 20, 20]
        );
        assert!(
            moved < 0.05 && wider > 10.0 * moved.max(1e-4),
            "{moved} {wider}"
        );
        // A flat image has no strokes at all.
        let flat = Tensor::<Flex, 4>::full([1, 3, 24, 24], 0.3, &dev);
        let band: f32 = stroke_patches(flat, 2.0, 5).abs().max().into_scalar();
        assert!(band < 1e-5, "{band}");
    }

    #[test]
    fn sliced_wasserstein_on_rgb_values_sees_the_palette_not_the_layout() {
        // The colour term (`loss.color_weight`): the same pixels in another order score zero, a
        // recoloured image does not.
        let dev = Default::default();
        let vals: Vec<f32> = (0..3 * 16)
            .map(|i| ((i * 7919) % 97) as f32 / 48.5 - 1.0)
            .collect();
        let image =
            |v: Vec<f32>| Tensor::<Flex, 4>::from_data(TensorData::new(v, [1, 3, 4, 4]), &dev);
        // Reverse each channel's pixels: every RGB triple moves as a whole.
        let shuffled: Vec<f32> = vals
            .chunks(16)
            .flat_map(|plane| plane.iter().rev().copied())
            .collect();
        let dirs = || random_directions::<Flex>(&mut crate::rng::Rng::new(3), 16, 3, &dev);
        let same = sliced_wasserstein(image(vals.clone()), image(shuffled), dirs(), true);
        let same: f32 = same.into_scalar();
        assert!(same.abs() < 1e-10, "{same}");
        let recoloured: Vec<f32> = vals.iter().map(|v| 0.5 * v + 0.3).collect();
        let moved: f32 =
            sliced_wasserstein(image(vals), image(recoloured), dirs(), true).into_scalar();
        assert!(moved > 0.01, "{moved}");
    }
}
