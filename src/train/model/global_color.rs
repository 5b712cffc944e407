//! The generator's global colour path (`generator.global_color`): a colour transform chosen
//! from the whole photo's colour statistics. Every layer of the main path is
//! instance-normalised, so the network cannot see that a photo as a whole is dark or pale, and
//! with `generator.residual` the photo's own level passes straight through to the output: a
//! night photo stays black where the painting has no black (docs/quality.md, issue 26). The
//! palette head forces each output's statistics to the painting's; this path learns instead: a
//! small network reads the photo's per-channel mean and standard deviation and returns a 3x3
//! colour matrix and a bias that are applied at every pixel, in tanh's domain: to the photo the
//! change is added to (`generator.residual`), so the head's strokes are painted on a re-coloured
//! photo, or to the whole pre-tanh output without it.
//! Its last layer starts at zero (the identity transform), so a new path changes nothing until
//! the losses move it. The statistics are each input's own (a training crop's, a photo's).

use super::generator::Pointwise;
use super::palette::{channel_moments, Stats};
use burn::prelude::*;

/// The photo statistics the path reads: three channel means and three standard deviations.
const STATS: usize = 6;
/// What it returns: a 3x3 matrix (added to the identity) and a 3-vector bias.
const OUT: usize = 12;

#[derive(Module, Debug)]
pub struct GlobalColor<B: Backend> {
    net: Pointwise<B>,
}

impl<B: Backend> GlobalColor<B> {
    /// A path with `width` hidden units whose transform is the identity until it learns.
    pub fn new(width: usize, device: &B::Device) -> Self {
        Self {
            net: Pointwise::new(STATS, width, OUT, device),
        }
    }

    /// `y` [N, 3, H, W] in tanh's domain (the residual's photo, or the whole pre-tanh output)
    /// transformed per image by the matrix and bias that `photo`'s [N, 3, H', W'] colour
    /// statistics select.
    pub fn forward(&self, photo: Tensor<B, 4>, y: Tensor<B, 4>) -> Tensor<B, 4> {
        let [n, c, h, w] = y.dims();
        let device = y.device();
        let (mean, sd) = channel_moments(photo, Stats::Image);
        let stats = Tensor::cat(vec![mean, sd], 1);
        let k = self.net.forward(stats).reshape([n, OUT]);
        let eye = Tensor::<B, 2>::eye(c, &device).unsqueeze::<3>();
        let m = k.clone().slice([0..n, 0..9]).reshape([n, c, c]) + eye;
        let b = k.slice([0..n, 9..OUT]).reshape([n, c, 1]);
        (m.matmul(y.reshape([n, c, h * w])) + b).reshape([n, c, h, w])
    }
}

#[cfg(test)]
mod tests {
    use super::super::max_abs_diff;
    use super::*;
    use burn::backend::Flex;
    use burn::module::Param;

    fn photo<B: Backend>(level: f32, dev: &B::Device) -> Tensor<B, 4> {
        Tensor::<B, 4>::random(
            [1, 3, 8, 8],
            burn::tensor::Distribution::Uniform(-0.2, 0.2),
            dev,
        )
        .add_scalar(level)
    }

    #[test]
    fn a_new_path_changes_nothing() {
        let dev = Default::default();
        let g = GlobalColor::<Flex>::new(8, &dev);
        let y = photo::<Flex>(0.3, &dev);
        let err = max_abs_diff(g.forward(photo::<Flex>(-0.5, &dev), y.clone()), y);
        assert!(err < 1e-6, "{err}");
    }

    #[test]
    fn the_transform_depends_on_the_whole_photo_and_is_the_same_at_every_pixel() {
        let dev = Default::default();
        let mut g = GlobalColor::<Flex>::new(8, &dev);
        g.net.out.weight = Param::from_tensor(Tensor::random(
            g.net.out.weight.dims(),
            burn::tensor::Distribution::Normal(0.0, 0.5),
            &dev,
        ));
        // One output, seen through a dark photo and a bright one (both images of a batch).
        let y0 = photo::<Flex>(0.0, &dev);
        let y = Tensor::cat(vec![y0.clone(), y0], 0);
        let photos = Tensor::cat(vec![photo::<Flex>(-0.8, &dev), photo::<Flex>(0.8, &dev)], 0);
        let out = g.forward(photos, y.clone());
        let (dark, bright) = (out.clone().narrow(0, 0, 1), out.narrow(0, 1, 1));
        let apart = max_abs_diff(dark, bright);
        assert!(apart > 1e-3, "the photos' levels changed nothing: {apart}");
        // An affine colour map: two pixels with the same colour in get the same colour out.
        let mut v: Vec<f32> = y.narrow(0, 0, 1).into_data().to_vec().unwrap();
        for ch in 0..3 {
            v[ch * 64 + 7 * 8 + 6] = v[ch * 64 + 1];
        }
        let y = Tensor::<Flex, 4>::from_data(TensorData::new(v, [1, 3, 8, 8]), &dev);
        let out: Vec<f32> = g
            .forward(photo::<Flex>(-0.8, &dev), y)
            .into_data()
            .to_vec()
            .unwrap();
        for ch in 0..3 {
            let (a, b) = (out[ch * 64 + 1], out[ch * 64 + 7 * 8 + 6]);
            assert!((a - b).abs() < 1e-5, "channel {ch}: {a} vs {b}");
        }
    }

    #[test]
    fn the_losses_reach_a_new_path() {
        type Ad = burn::backend::Autodiff<Flex>;
        let dev = Default::default();
        let g = GlobalColor::<Ad>::new(8, &dev);
        let y = photo::<Ad>(0.0, &dev);
        let loss = (g.forward(photo::<Ad>(-0.6, &dev), y) - 0.5)
            .powi_scalar(2)
            .mean();
        let grads = loss.backward();
        let grad = g
            .net
            .out
            .weight
            .grad(&grads)
            .expect("a gradient for the last layer");
        let size: f32 = grad.abs().max().into_scalar();
        assert!(size > 1e-4, "no gradient reached the path: {size}");
    }
}
