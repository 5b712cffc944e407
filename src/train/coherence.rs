//! The single_style recipe's flow term (`loss.flow_weight`): strokes that follow the picture.
//! Whether the output's fine detail, looked at a few pixels at a time, runs one way (a brush
//! stroke) or every way at once (a dab, a speckle, a mesh of crossing lines) is its local
//! coherence: the luminance's high-pass band (the weave term's: luminance minus its sigma-2
//! blur), differentiated with central differences, its structure tensor (the gradients' outer
//! products Gaussian-averaged over [`NEIGHBOURHOOD`] px) read as `|J_xx - J_yy, 2 J_xy| / tr J`
//! per neighbourhood and weighted by the detail's energy (the sums' ratio): 1 when every
//! neighbourhood's detail is parallel, near 0 for white noise. The built-in painting scores about
//! 0.66, the quickstart's dabs about 0.28 ([`local_coherence`], the term's target; the CPU
//! measure `eval::local_coherence` is the same number, checked by a test below).
//!
//! Asked for that alone, a generator draws one hatch over the whole picture (docs/quality.md,
//! issue 26). So the term projects each neighbourhood's coherence on the photo's own direction
//! at that place ([`direction_field`]: the photo's structure tensor over [`FIELD`] px) and asks
//! for the painting's coherence along it, as a shortfall (nothing more for straighter lines than
//! the painting's): strokes that run along the photo's shapes, and turn with them.

use super::model::ops::{gaussian_blur, luminance};
// The measure's neighbourhood: `atelier eval`'s `local_coherence` reads the same quantity.
use crate::eval::{DETAIL_SIGMA, NEIGHBOURHOOD};
use burn::prelude::*;

/// The photo's direction field's Gaussian sigma, in pixels: its shapes, not its texture.
pub const FIELD: f32 = 6.0;

/// The structure tensor of `x`'s fine detail ([N, 3, H, W]) over [`NEIGHBOURHOOD`]: its parts
/// J_xx, J_xy, J_yy, [N, 1, H - 2, W - 2] each; `None` under 3x3.
fn detail_tensor<B: Backend>(x: Tensor<B, 4>) -> Option<[Tensor<B, 4>; 3]> {
    let y = luminance(x);
    let d = y.clone() - gaussian_blur(y, DETAIL_SIGMA);
    tensor_parts(d, NEIGHBOURHOOD)
}

/// The structure tensor of the planes `d` ([N, 1, H, W]): central differences, their outer
/// products Gaussian-averaged with `sigma`.
fn tensor_parts<B: Backend>(d: Tensor<B, 4>, sigma: f32) -> Option<[Tensor<B, 4>; 3]> {
    let [n, _, h, w] = d.dims();
    if h < 3 || w < 3 {
        return None;
    }
    let at =
        |r: std::ops::Range<usize>, c: std::ops::Range<usize>| d.clone().slice([0..n, 0..1, r, c]);
    let gx = at(1..h - 1, 2..w) - at(1..h - 1, 0..w - 2);
    let gy = at(2..h, 1..w - 1) - at(0..h - 2, 1..w - 1);
    let j = gaussian_blur(
        Tensor::cat(vec![gx.clone().square(), gx * gy.clone(), gy.square()], 1),
        sigma,
    );
    Some([0, 1, 2].map(|k| j.clone().slice([0..n, k..k + 1, 0..h - 2, 0..w - 2])))
}

/// The energy-weighted local coherence of `x`'s fine detail ([N, 3, H, W], any range): a scalar
/// in [0, 1], 0 for images without detail or under 3x3.
pub fn local_coherence<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 1> {
    let device = x.device();
    let Some([xx, xy, yy]) = detail_tensor(x) else {
        return Tensor::zeros([1], &device);
    };
    let trace = (xx.clone() + yy.clone()).sum();
    // sqrt(q + e^2) - e: smooth at 0 (a flat neighbourhood), and 0 there.
    let aniso = (((xx - yy).square() + xy.square() * 4.0 + 1e-12).sqrt() - 1e-6).sum();
    aniso / (trace + 1e-9)
}

/// The photo's shapes as a direction at each pixel ([N, 3, H, W] in, [N, 2, H - 2, W - 2]
/// out): the doubled angle of its luminance's structure tensor over [`FIELD`] px, as a vector
/// of length 1 where the photo has structure and shorter where it is nearly flat.
pub fn direction_field<B: Backend>(photo: Tensor<B, 4>) -> Option<Tensor<B, 4>> {
    let y = gaussian_blur(luminance(photo), 1.0);
    let [xx, xy, yy] = tensor_parts(y, FIELD)?;
    let v = Tensor::cat(vec![xx - yy, xy * 2.0], 1);
    let norm = v.clone().square().sum_dim(1).sqrt();
    let floor = norm.clone().mean() * 0.05 + 1e-12;
    Some((v / (norm + floor.unsqueeze())).detach())
}

/// How much of `x`'s fine detail runs along `field` ([`direction_field`] of its photo): the
/// energy-weighted mean of each neighbourhood's coherence projected on the field's direction, in
/// [-1, 1]: 1 when every stroke runs along the photo's shapes (its gradient across them).
pub fn coherence_along<B: Backend>(x: Tensor<B, 4>, field: Tensor<B, 4>) -> Tensor<B, 1> {
    let device = x.device();
    let Some([xx, xy, yy]) = detail_tensor(x) else {
        return Tensor::zeros([1], &device);
    };
    let [n, _, h, w] = field.dims();
    let u = |k: usize| field.clone().slice([0..n, k..k + 1, 0..h, 0..w]);
    let trace = (xx.clone() + yy.clone()).sum();
    let along = ((xx - yy) * u(0) + xy * 2.0 * u(1)).sum();
    along / (trace + 1e-9)
}

/// The term: the painting's coherence (`target`, detached) less the output's coherence along
/// its photo's shapes, when positive.
pub fn flow_loss<B: Backend>(
    x: Tensor<B, 4>,
    photo: Tensor<B, 4>,
    target: Tensor<B, 1>,
) -> Tensor<B, 1> {
    let device = x.device();
    match direction_field(photo) {
        Some(field) => (target.detach() - coherence_along(x, field)).clamp_min(0.0),
        None => Tensor::zeros([1], &device),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};

    type B = Flex;

    /// A grey image from a function of (x, y), as a [1, 3, S, S] tensor.
    fn grey(size: usize, f: impl Fn(f32, f32) -> f32) -> Tensor<B, 4> {
        let plane: Vec<f32> = (0..size * size)
            .map(|i| f((i % size) as f32, (i / size) as f32))
            .collect();
        let v: Vec<f32> = (0..3).flat_map(|_| plane.iter().copied()).collect();
        Tensor::from_data(TensorData::new(v, [1, 3, size, size]), &Default::default())
    }

    fn noise(x: f32, y: f32) -> f32 {
        let h = ((x * 12.9898 + y * 78.233).sin() * 43758.547).fract();
        2.0 * h.abs() - 1.0
    }

    fn value(t: Tensor<impl Backend, 1>) -> f32 {
        t.into_scalar().elem::<f32>()
    }

    #[test]
    fn the_term_reads_what_eval_measures() {
        // `atelier eval`'s CPU measure and the tensor the term descends, on the same images.
        for seed in [1, 2] {
            let img = crate::train::data::procedural::painterly_style(seed, 96, 96);
            let v: Vec<f32> = (0..3)
                .flat_map(|c| img.pixels().map(move |p| f32::from(p[c]) / 255.0))
                .collect();
            let x =
                Tensor::<B, 4>::from_data(TensorData::new(v, [1, 3, 96, 96]), &Default::default());
            let (cpu, tensor) = (
                crate::eval::local_coherence(&img),
                value(local_coherence(x)),
            );
            assert!(
                (cpu - f64::from(tensor)).abs() < 0.03,
                "eval {cpu}, term {tensor}"
            );
        }
    }

    #[test]
    fn strokes_are_coherent_and_noise_and_a_mesh_are_not() {
        // Stripes that turn across the picture: every neighbourhood one way, the picture none.
        let swirl = |x: f32, y: f32| ((x * 0.8 + 0.02 * y * y) + 0.1 * noise(x, y)).sin();
        let mesh = |x: f32, y: f32| ((x + y) * 1.1).sin() + ((x - y) * 1.1).sin();
        let [s, n, m] = [
            local_coherence(grey(64, swirl)),
            local_coherence(grey(64, noise)),
            local_coherence(grey(64, mesh)),
        ]
        .map(value);
        assert!(s > 0.7, "turning stripes {s}");
        assert!(n < 0.4 && m < 0.4, "noise {n}, mesh {m}");
        assert_eq!(value(local_coherence(grey(2, noise))), 0.0);
        assert_eq!(value(local_coherence(grey(16, |_, _| 0.3))), 0.0);
    }

    #[test]
    fn descending_the_term_draws_strokes_from_noise() {
        type A = Autodiff<Flex>;
        let target = Tensor::<A, 1>::from_floats([0.8], &Default::default());
        let mut x = Tensor::<A, 4>::from_inner(grey(48, noise)).require_grad();
        let start = value(local_coherence(x.clone()).inner());
        for _ in 0..40 {
            let l = (target.clone() - local_coherence(x.clone())).clamp_min(0.0);
            let g = x.grad(&l.backward()).expect("the input's gradient");
            let step = g.clone().abs().max().into_scalar().elem::<f32>().max(1e-12);
            x = Tensor::from_inner(x.inner() - g * (0.05 / step)).require_grad();
        }
        let end = value(local_coherence(x).inner());
        assert!(end > start + 0.2, "{start} -> {end}");
    }

    #[test]
    fn strokes_along_the_photo_s_shapes_count_and_strokes_across_them_do_not() {
        let c = 32.0;
        let radius = |x: f32, y: f32| (x - c).hypot(y - c);
        // The photo: a ring's soft edge. Strokes along it are rings; across it, spokes.
        let photo = grey(64, |x, y| {
            (1.0 + ((radius(x, y) - 16.0) / 3.0).tanh()) * 0.5
        });
        let rings = grey(64, |x, y| (radius(x, y) * 1.2).sin());
        let spokes = grey(64, |x, y| ((y - c).atan2(x - c) * 24.0).sin());
        let field = direction_field(photo).expect("64 px");
        let [along, across] = [rings, spokes].map(|x| value(coherence_along(x, field.clone())));
        assert!(along > 0.4, "rings {along}");
        assert!(across < -0.2, "spokes {across}");
        let target = Tensor::<B, 1>::from_floats([0.7], &Default::default());
        let l = |x| {
            value(flow_loss(
                x,
                grey(64, |x, y| ((radius(x, y) - 16.0) / 3.0).tanh()),
                target.clone(),
            ))
        };
        assert!(l(grey(64, |x, y| (radius(x, y) * 1.2).sin())) < l(grey(64, noise)));
    }
}
