//! ResNet generator G(width, blocks), content -> stylized, fully convolutional (any input size
//! divisible by 4): ReflPad3 Conv7 IN ReLU, 2x [Conv3 s2 IN ReLU], blocks x residual
//! [ReflPad1 Conv3 IN ReLU ReflPad1 Conv3 IN], 2x [up IN ReLU], ReflPad3 Conv7 Tanh. "up" is
//! ConvTranspose3 s2 p1 op1 (the reference), or a nearest or bilinear 2x resize + ReflPad1 Conv3
//! (no checkerboard from the stage itself).
//! With `residual`, the head's output is added to atanh(photo) before the tanh, so the network
//! learns a change to the photo rather than a whole new image. With `noise`, a fourth input
//! channel of Gaussian noise lets it paint strokes inside flat regions wider than it sees. With
//! `color_map`, a per-pixel path of the photo's own RGB (two 1x1 convolutions) adds to the head's
//! output: the only part of the network that sees absolute colour levels, which every instance
//! norm of the main path removes. With `global_color`, a colour transform picked from the whole
//! photo's statistics re-colours the photo the change is added to ([`super::global_color`]).
//! With `palette`, the output's colour statistics are set to the painting's ([`super::palette`]).

use super::global_color::GlobalColor;
use super::ops::{conv_forward, conv_transpose_forward, gaussian_blur, instance_norm, reflect_pad};
use super::palette::{PaletteHead, Stats};
use crate::rng::Rng;
use crate::spec::{DownPadding, GeneratorSpec, Palette, Upsample};
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::activation::{relu, tanh};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

/// The key of the noise field used outside training (stylizing, probes, benchmarks).
pub const NOISE_FIELD: u64 = 0x006e_6f69_7365; // "noise" in ASCII

#[derive(Module, Debug)]
pub struct ResBlock<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
}

impl<B: Backend> ResBlock<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let y = relu(instance_norm(conv_forward(
            &self.conv1,
            reflect_pad(x.clone(), 1),
        )));
        let y = instance_norm(conv_forward(&self.conv2, reflect_pad(y, 1)));
        x + y
    }
}

/// One 2x upsampling stage: exactly one of the two convolutions is present.
#[derive(Module, Debug)]
pub struct Up<B: Backend> {
    transpose: Option<ConvTranspose2d<B>>,
    resize_conv: Option<Conv2d<B>>,
    /// Resize bilinearly instead of to the nearest pixel (with `resize_conv`).
    #[module(skip)]
    bilinear: bool,
}

/// Each element's two neighbours along `dim` (the one before, the one after), with the edge
/// element standing in for its missing neighbour: `(x[i-1], x[i+1])`, both shaped like `x`.
fn neighbours<B: Backend>(x: &Tensor<B, 4>, dim: usize) -> (Tensor<B, 4>, Tensor<B, 4>) {
    let n = x.dims()[dim];
    if n == 1 {
        return (x.clone(), x.clone());
    }
    let edge = |at: usize| x.clone().narrow(dim, at, 1);
    (
        Tensor::cat(vec![edge(0), x.clone().narrow(dim, 0, n - 1)], dim),
        Tensor::cat(vec![x.clone().narrow(dim, 1, n - 1), edge(n - 1)], dim),
    )
}

/// Bilinear 2x upsampling along `dim` (half-pixel centres, edges clamped, like PyTorch's
/// `align_corners=False`): output 2i is 3/4 x[i] + 1/4 x[i-1], output 2i+1 is 3/4 x[i] + 1/4
/// x[i+1]. Built from slices so that every backend differentiates it (burn's CUDA backend has
/// no bilinear interpolation backward).
fn upsample2_linear<B: Backend>(x: Tensor<B, 4>, dim: usize) -> Tensor<B, 4> {
    let (prev, next) = neighbours(&x, dim);
    let center = x * 0.75;
    let even = center.clone() + prev * 0.25;
    let odd = center + next * 0.25;
    // Interleave: stack after `dim` and fold the pair into it.
    let mut dims = even.dims();
    dims[dim] *= 2;
    Tensor::stack::<5>(vec![even, odd], dim + 1).reshape(dims)
}

/// Bilinear 2x upsampling of an NCHW batch.
fn upsample2_bilinear<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    upsample2_linear(upsample2_linear(x, 2), 3)
}

impl<B: Backend> Up<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        if let Some(t) = &self.transpose {
            return conv_transpose_forward(t, x);
        }
        let [_, _, h, w] = x.dims();
        let x = if self.bilinear {
            upsample2_bilinear(x)
        } else {
            interpolate(
                x,
                [h * 2, w * 2],
                InterpolateOptions::new(InterpolateMode::Nearest),
            )
        };
        match &self.resize_conv {
            Some(conv) => conv_forward(conv, reflect_pad(x, 1)),
            None => x,
        }
    }
}

/// A zero-started per-pixel network, `cin` -> `hidden` (ReLU) -> `cout` as two 1x1
/// convolutions: `generator.color_map` (RGB -> RGB at every pixel, added before the tanh) and
/// the global colour path's (the photo's statistics on a 1x1 map -> its colour transform).
#[derive(Module, Debug)]
pub struct Pointwise<B: Backend> {
    hidden: Conv2d<B>,
    /// The zero-started layer (tests reach it to give it weights or read its gradient).
    pub(super) out: Conv2d<B>,
}

impl<B: Backend> Pointwise<B> {
    /// The second convolution starts at zero, so a new path changes nothing until it learns.
    pub(super) fn new(cin: usize, hidden: usize, cout: usize, device: &B::Device) -> Self {
        Self {
            hidden: conv(cin, hidden, 1).init(device),
            out: zeroed(conv(hidden, cout, 1).init(device)),
        }
    }

    pub(super) fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        conv_forward(&self.out, relu(conv_forward(&self.hidden, x)))
    }
}

#[derive(Module, Debug)]
pub struct Generator<B: Backend> {
    stem: Conv2d<B>,
    down: Vec<Conv2d<B>>,
    blocks: Vec<ResBlock<B>>,
    up: Vec<Up<B>>,
    head: Conv2d<B>,
    /// `generator.color_map` > 0: the per-pixel colour path.
    color_map: Option<Pointwise<B>>,
    /// `generator.palette`: the painting's colour statistics.
    palette: Option<PaletteHead<B>>,
    /// `generator.global_color` > 0: a colour transform picked from the whole photo's statistics.
    global_color: Option<GlobalColor<B>>,
    /// `generator.residual`: the head's output is added to the photo (in tanh's domain).
    #[module(skip)]
    residual: bool,
    /// `generator.down_padding = "reflect"`: the stride-2 convolutions get a mirrored border.
    #[module(skip)]
    reflect_down: bool,
    /// `generator.noise`: standard deviation of the noise channel beside the photo (0 = none).
    #[module(skip)]
    noise: f32,
    /// `generator.noise_scale`: pixels per cell of the noise field.
    #[module(skip)]
    noise_scale: usize,
    /// `generator.residual_blur`: sigma of the blur of the residual's photo (0 = none).
    #[module(skip)]
    residual_blur: f32,
}

/// `c` with its weights and bias set to zero: a layer that outputs zero until it learns. The
/// zeros keep the parameters' gradient tracking (a fresh `zeros_like` has none, and `Param::map`
/// takes the new tensor's: the layer would never learn).
fn zeroed<B: Backend>(mut c: Conv2d<B>) -> Conv2d<B> {
    fn zero<B: Backend, const D: usize>(t: Tensor<B, D>) -> Tensor<B, D> {
        let tracked = t.is_require_grad();
        t.zeros_like().set_require_grad(tracked)
    }
    c.weight = c.weight.map(zero);
    c.bias = c.bias.map(|b| b.map(zero));
    c
}

fn conv(cin: usize, cout: usize, k: usize) -> Conv2dConfig {
    Conv2dConfig::new([cin, cout], [k, k])
}

impl<B: Backend> Generator<B> {
    pub fn new(spec: &GeneratorSpec, device: &B::Device) -> Self {
        let w = spec.width;
        let reflect_down = spec.down_padding == DownPadding::Reflect;
        let down = (0..2)
            .map(|i| {
                let c = w << i;
                let pad = if reflect_down { 0 } else { 1 };
                conv(c, 2 * c, 3)
                    .with_stride([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                    .init(device)
            })
            .collect();
        let c = w * 4;
        let blocks = (0..spec.blocks)
            .map(|_| ResBlock {
                conv1: conv(c, c, 3).init(device),
                conv2: conv(c, c, 3).init(device),
            })
            .collect();
        let up = (0..2)
            .map(|i| {
                let cin = c >> i;
                match spec.upsample {
                    Upsample::Transpose => Up {
                        transpose: Some(
                            ConvTranspose2dConfig::new([cin, cin / 2], [3, 3])
                                .with_stride([2, 2])
                                .with_padding([1, 1])
                                .with_padding_out([1, 1])
                                .init(device),
                        ),
                        resize_conv: None,
                        bilinear: false,
                    },
                    Upsample::Resize | Upsample::Bilinear => Up {
                        transpose: None,
                        resize_conv: Some(conv(cin, cin / 2, 3).init(device)),
                        bilinear: spec.upsample == Upsample::Bilinear,
                    },
                }
            })
            .collect();
        Self {
            stem: conv(if spec.noise > 0.0 { 4 } else { 3 }, w, 7).init(device),
            down,
            blocks,
            up,
            head: conv(w, 3, 7).init(device),
            color_map: (spec.color_map > 0).then(|| Pointwise::new(3, spec.color_map, 3, device)),
            palette: (spec.palette != Palette::None)
                .then(|| PaletteHead::new(spec.palette, device)),
            global_color: (spec.global_color > 0)
                .then(|| GlobalColor::new(spec.global_color, device)),
            residual: spec.residual,
            reflect_down,
            noise: spec.noise as f32,
            noise_scale: spec.noise_scale.max(1),
            residual_blur: spec.residual_blur as f32,
        }
    }

    /// `self` with its palette head (if it has one) set to `painting`'s colour statistics: a new
    /// run's generator. A loaded one gets them from its weights.
    pub fn with_palette_of(mut self, painting: &image::RgbImage, device: &B::Device) -> Self {
        self.palette = self.palette.map(|h| h.for_painting(painting, device));
        self
    }

    /// Images in [-1, 1], NCHW with H and W divisible by 4 -> images in [-1, 1]. With a noise
    /// channel, the fixed field of [`NOISE_FIELD`]: the same photo always gives the same output.
    /// A palette head takes each image's own statistics.
    pub fn forward(&self, input: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_with_noise(input, NOISE_FIELD, Stats::Image)
    }

    /// [`Self::forward`] with a palette head's statistics over the whole batch of crops, as
    /// training takes them: a teacher's targets for its student.
    pub fn forward_crops(&self, input: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_with_noise(input, NOISE_FIELD, Stats::Batch)
    }

    /// The training step's forward: a fresh noise field keyed from `rng`, which is not drawn
    /// from without a noise channel (so such runs train exactly as before it existed).
    pub fn forward_training(&self, input: Tensor<B, 4>, rng: &mut Rng) -> Tensor<B, 4> {
        let key = if self.noise > 0.0 {
            rng.next_u64()
        } else {
            NOISE_FIELD
        };
        self.forward_with_noise(input, key, Stats::Batch)
    }

    /// [`Self::forward`] with the noise field drawn from `key` (unused without a noise channel)
    /// and a palette head's statistics taken over `stats`.
    fn forward_with_noise(&self, input: Tensor<B, 4>, key: u64, stats: Stats) -> Tensor<B, 4> {
        let x = if self.noise > 0.0 {
            let field = noise_field(
                input.dims(),
                self.noise_scale,
                self.noise,
                key,
                &input.device(),
            );
            Tensor::cat(vec![input.clone(), field], 1)
        } else {
            input.clone()
        };
        let mut x = relu(instance_norm(conv_forward(&self.stem, reflect_pad(x, 3))));
        for d in &self.down {
            let x_in = if self.reflect_down {
                reflect_pad(x, 1)
            } else {
                x
            };
            x = relu(instance_norm(conv_forward(d, x_in)));
        }
        for b in &self.blocks {
            x = b.forward(x);
        }
        for u in &self.up {
            x = relu(instance_norm(u.forward(x)));
        }
        let mut y = conv_forward(&self.head, reflect_pad(x, 3));
        if let Some(map) = &self.color_map {
            y = y + map.forward(input.clone());
        }
        if self.residual {
            // atanh(p) = ln((1 + p) / (1 - p)) / 2, with the photo kept off the asymptotes.
            let p = gaussian_blur(input.clone(), self.residual_blur).clamp(-0.98, 0.98);
            let base = ((p.clone() + 1.0) / (p.neg() + 1.0)).log() * 0.5;
            // The global colour transform re-colours the photo the change is added to, not the
            // strokes the head paints on it.
            y = y + match &self.global_color {
                Some(global) => global.forward(input, base),
                None => base,
            };
        } else if let Some(global) = &self.global_color {
            y = global.forward(input, y);
        }
        let y = tanh(y);
        match &self.palette {
            Some(head) => head.forward(y, stats),
            None => y,
        }
    }
}

/// The noise channel for an input of `dims` [N, C, H, W]: Gaussian values of sd `sd` drawn from
/// `key`, one per pixel, or with `scale` > 1 one per corner of a grid of `scale` x `scale` cells
/// anchored at the top left and interpolated bilinearly between them. The cell size is in pixels
/// whatever the image size, so a stylized photo gets blobs of the size the generator trained on.
fn noise_field<B: Backend>(
    dims: [usize; 4],
    scale: usize,
    sd: f32,
    key: u64,
    device: &B::Device,
) -> Tensor<B, 4> {
    let [n, _, h, w] = dims;
    let mut rng = Rng::stream(key, "generator-noise");
    if scale <= 1 {
        let field: Vec<f32> = (0..n * h * w).map(|_| rng.normal() * sd).collect();
        return Tensor::from_data(TensorData::new(field, [n, 1, h, w]), device);
    }
    let (gh, gw) = (h.div_ceil(scale) + 1, w.div_ceil(scale) + 1);
    let grid: Vec<f32> = (0..n * gh * gw).map(|_| rng.normal() * sd).collect();
    let mut field = Vec::with_capacity(n * h * w);
    for g in grid.chunks_exact(gh * gw) {
        for y in 0..h {
            let (gy, fy) = (y / scale, (y % scale) as f32 / scale as f32);
            for x in 0..w {
                let (gx, fx) = (x / scale, (x % scale) as f32 / scale as f32);
                let at = |j: usize, i: usize| g[j * gw + i];
                let top = at(gy, gx) * (1.0 - fx) + at(gy, gx + 1) * fx;
                let bottom = at(gy + 1, gx) * (1.0 - fx) + at(gy + 1, gx + 1) * fx;
                field.push(top * (1.0 - fy) + bottom * fy);
            }
        }
    }
    Tensor::from_data(TensorData::new(field, [n, 1, h, w]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::module::Param;

    /// A small residual generator whose head outputs zero: it adds no change to the photo.
    fn silent(residual_blur: f64) -> (GeneratorSpec, Generator<Flex>) {
        let spec = GeneratorSpec {
            width: 4,
            blocks: 1,
            upsample: Upsample::Resize,
            residual: true,
            residual_blur,
            ..Default::default()
        };
        let mut g = Generator::<Flex>::new(&spec, &Default::default());
        g.head = zeroed(g.head);
        (spec, g)
    }

    #[test]
    fn a_residual_generator_with_a_silent_head_returns_the_photo() {
        let dev = Default::default();
        let (spec, g) = silent(0.0);
        let x = Tensor::<Flex, 4>::random(
            [1, 3, 16, 16],
            burn::tensor::Distribution::Uniform(-0.9, 0.9),
            &dev,
        );
        let y = g.forward(x.clone());
        let err: f32 = (y - x).abs().max().into_scalar();
        assert!(err < 1e-4, "{err}");
        // Without `residual` the same silent head gives a flat grey image.
        let mut plain = Generator::<Flex>::new(
            &GeneratorSpec {
                residual: false,
                ..spec
            },
            &dev,
        );
        plain.head = zeroed(plain.head);
        let flat: f32 = plain
            .forward(Tensor::ones([1, 3, 16, 16], &dev))
            .abs()
            .max()
            .into_scalar();
        assert!(flat < 1e-6, "{flat}");
    }

    #[test]
    fn residual_blur_adds_the_change_to_a_blurred_photo() {
        let dev = Default::default();
        let (_, g) = silent(1.0);
        // A 1-pixel checkerboard of +-0.5 around 0.2: a silent head returns the blurred photo,
        // which keeps the mean and loses nearly all of the checker.
        let px: Vec<f32> = (0..3 * 16 * 16)
            .map(|i| {
                0.2 + if (i % 16 + i / 16) % 2 == 0 {
                    0.5
                } else {
                    -0.5
                }
            })
            .collect();
        let x = Tensor::<Flex, 4>::from_data(TensorData::new(px, [1, 3, 16, 16]), &dev);
        let y = g.forward(x).into_data().to_vec::<f32>().unwrap();
        let mean = y.iter().sum::<f32>() / y.len() as f32;
        let spread = y.iter().map(|v| (v - mean).abs()).fold(0.0, f32::max);
        assert!((mean - 0.2).abs() < 0.01, "mean {mean}");
        assert!(spread < 0.05, "left of the checker: {spread}");
        // A flat photo stays exactly itself.
        let flat = Tensor::<Flex, 4>::full([1, 3, 16, 16], 0.3, &dev);
        let err: f32 = (g.forward(flat.clone()) - flat).abs().max().into_scalar();
        assert!(err < 1e-5, "{err}");
    }

    /// Inside a flat region wider than the generator sees, its output is flat without the noise
    /// channel (a convolutional net has nothing to vary on there) and varied with it; stylizing
    /// is reproducible, and training keys give other fields.
    #[test]
    fn the_noise_channel_lets_a_flat_region_vary_and_is_fixed_outside_training() {
        let dev = Default::default();
        // 192 x 192: a random strip in columns 0..24 (so instance norm has real statistics),
        // flat elsewhere; measured in rows 64..128, columns 96..144, well beyond the generator's
        // reach from the strip and the borders.
        let mut rng = Rng::new(3);
        let photo: Vec<f32> = (0..3 * 192 * 192)
            .map(|i| {
                if i % 192 < 24 {
                    rng.range_f32(-0.9, 0.9)
                } else {
                    0.2
                }
            })
            .collect();
        let photo = Tensor::<Flex, 4>::from_data(TensorData::new(photo, [1, 3, 192, 192]), &dev);
        // The largest range of values within one channel of the region.
        let spread = |t: Tensor<Flex, 4>| -> f32 {
            (0..3)
                .map(|c| {
                    let v = t
                        .clone()
                        .slice([0..1, c..c + 1, 64..128, 96..144])
                        .into_data();
                    let v = v.to_vec::<f32>().unwrap();
                    let lo = v.iter().copied().fold(f32::MAX, f32::min);
                    v.iter().copied().fold(f32::MIN, f32::max) - lo
                })
                .fold(0.0, f32::max)
        };
        let spec = |noise| GeneratorSpec {
            width: 4,
            blocks: 1,
            upsample: Upsample::Resize,
            residual: true,
            down_padding: DownPadding::Reflect,
            noise,
            noise_scale: 1,
            residual_blur: 0.0,
            color_map: 0,
            palette: Palette::None,
            global_color: 0,
        };
        let plain = spread(Generator::<Flex>::new(&spec(0.0), &dev).forward(photo.clone()));
        let noisy = Generator::<Flex>::new(&spec(1.0), &dev);
        let varied = spread(noisy.forward(photo.clone()));
        assert!(
            plain < 1e-4 && varied > 1e-2,
            "plain {plain}, with noise {varied}"
        );
        let values = |t: Tensor<Flex, 4>| t.into_data().to_vec::<f32>().unwrap();
        let a = values(noisy.forward(photo.clone()));
        assert_eq!(a, values(noisy.forward(photo.clone())));
        assert_eq!(
            a,
            values(noisy.forward_with_noise(photo.clone(), NOISE_FIELD, Stats::Image))
        );
        assert_ne!(a, values(noisy.forward_with_noise(photo, 1, Stats::Image)));
    }

    #[test]
    fn a_coarse_noise_field_is_smooth_at_its_cell_size_and_exact_at_the_corners() {
        let dev = Default::default();
        let values = |scale, key| {
            noise_field::<Flex>([1, 3, 40, 48], scale, 2.0, key, &dev)
                .into_data()
                .to_vec::<f32>()
                .unwrap()
        };
        // Mean square difference of horizontal neighbours over the field's mean square.
        let roughness = |v: &[f32]| {
            let d: f32 = v
                .chunks(48)
                .flat_map(|row| row.windows(2).map(|p| (p[1] - p[0]).powi(2)))
                .sum::<f32>()
                / (40.0 * 47.0);
            d / (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32)
        };
        let (fine, coarse) = (values(1, 7), values(8, 7));
        assert_eq!(fine.len(), 40 * 48);
        assert_eq!(coarse.len(), 40 * 48);
        // Per-pixel noise: neighbours are independent (ratio about 2); cells of 8: about 0.03.
        assert!(roughness(&fine) > 1.5, "fine {}", roughness(&fine));
        assert!(roughness(&coarse) < 0.1, "coarse {}", roughness(&coarse));
        // Grid corners carry the drawn values, and the field is reproducible for a key.
        let mut rng = Rng::stream(7, "generator-noise");
        let first = rng.normal() * 2.0;
        assert!((coarse[0] - first).abs() < 1e-6);
        assert_eq!(coarse, values(8, 7));
        assert_ne!(coarse, values(8, 8));
    }

    /// Images in one batch do not affect each other (instance norm is per image): cyclegan's
    /// step runs a generator's fake and identity passes as one batch on that promise.
    #[test]
    fn a_batch_of_two_gives_each_image_its_own_output() {
        let dev = Default::default();
        for upsample in [Upsample::Transpose, Upsample::Resize] {
            let spec = GeneratorSpec {
                width: 4,
                blocks: 1,
                upsample,
                residual: false,
                ..Default::default()
            };
            let g = Generator::<Flex>::new(&spec, &dev);
            let img = |lo, hi| {
                Tensor::<Flex, 4>::random(
                    [1, 3, 16, 16],
                    burn::tensor::Distribution::Uniform(lo, hi),
                    &dev,
                )
            };
            let (x, y) = (img(-0.9, 0.2), img(-0.1, 0.9));
            let both = g.forward(Tensor::cat(vec![x.clone(), y.clone()], 0));
            for (i, alone) in [g.forward(x), g.forward(y)].into_iter().enumerate() {
                let err: f32 = (both.clone().narrow(0, i, 1) - alone)
                    .abs()
                    .max()
                    .into_scalar();
                assert!(err < 1e-5, "{upsample:?} image {i}: {err}");
            }
        }
    }

    /// With mirrored borders everywhere a flat image carries no hint of where it ends, so the
    /// output stays (nearly) flat; the reference's zero-padded stride-2 convolutions mark the
    /// edges, and the output varies by about twenty times as much.
    // The kernels' instance norm leaves a flat plane's rounding errors (amplified by
    // 1/sqrt(eps)), which is what lets a zero border show here; burn's `layer_norm` (the path
    // without `cpu-kernels`, and CUDA's) normalises a flat plane to exact zeros, and a zero map
    // has no border to show under either padding, so the flat probe says nothing there.
    #[cfg(feature = "cpu-kernels")]
    #[test]
    fn reflect_down_padding_gives_the_network_no_edge_to_draw_bands_from() {
        let dev = Default::default();
        let spread = |down_padding| {
            let spec = GeneratorSpec {
                width: 4,
                blocks: 1,
                upsample: Upsample::Resize,
                down_padding,
                ..Default::default()
            };
            let g = Generator::<Flex>::new(&spec, &dev);
            let y = g.forward(Tensor::full([1, 3, 16, 16], 0.3, &dev));
            assert_eq!(y.dims(), [1, 3, 16, 16]);
            let (hi, lo): (f32, f32) = (y.clone().max().into_scalar(), y.min().into_scalar());
            hi - lo
        };
        // Not exactly flat: instance norm divides a flat map's rounding errors by sqrt(eps). The
        // weights are random (unseeded), and about one zero-padded generator in a hundred starts
        // with dead ReLUs and a flat output, so compare medians of five of each (measured over
        // 200 each: reflect median 0.07, at most 0.14; zero median 1.5, 1% under 0.1).
        let median = |down_padding| {
            let mut v: Vec<f32> = (0..5).map(|_| spread(down_padding)).collect();
            v.sort_by(f32::total_cmp);
            v[2]
        };
        let (reflect, zero) = (median(DownPadding::Reflect), median(DownPadding::Zero));
        assert!(reflect * 5.0 < zero, "reflect {reflect}, zero {zero}");
    }

    #[test]
    fn bilinear_upsampling_matches_burns_half_pixel_interpolation() {
        let dev = Default::default();
        for [h, w] in [[5, 7], [1, 4], [8, 8]] {
            let x = Tensor::<Flex, 4>::random(
                [2, 3, h, w],
                burn::tensor::Distribution::Uniform(-1.0, 1.0),
                &dev,
            );
            let ours = upsample2_bilinear(x.clone());
            let burns = interpolate(
                x,
                [2 * h, 2 * w],
                InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
            );
            assert_eq!(ours.dims(), [2, 3, 2 * h, 2 * w]);
            let err: f32 = (ours - burns).abs().max().into_scalar();
            assert!(err < 1e-5, "{h}x{w}: {err}");
        }
    }

    #[test]
    fn a_bilinear_stage_passes_gradient_to_every_input_pixel() {
        type Ad = burn::backend::Autodiff<Flex>;
        let dev = Default::default();
        let x = Tensor::<Ad, 4>::ones([1, 1, 3, 4], &dev).require_grad();
        let grads = upsample2_bilinear(x.clone()).sum().backward();
        let g = x.grad(&grads).unwrap();
        // Each input pixel's weights over the output sum to 4 (2x2 outputs per input).
        let err: f32 = (g - 4.0).abs().max().into_scalar();
        assert!(err < 1e-5, "{err}");
    }

    /// A zero-started layer still learns: the colour path's last convolution, and a head zeroed
    /// as the tests' silent generators are, get gradients (they got none before `zeroed` kept
    /// the parameters tracked).
    #[test]
    fn zero_started_layers_get_gradients() {
        type Ad = burn::backend::Autodiff<Flex>;
        let dev = Default::default();
        let spec = GeneratorSpec {
            width: 4,
            blocks: 1,
            upsample: Upsample::Resize,
            residual: true,
            color_map: 4,
            ..GeneratorSpec::default()
        };
        let mut g = Generator::<Ad>::new(&spec, &dev);
        g.head = zeroed(g.head);
        let x = Tensor::<Ad, 4>::random(
            [1, 3, 16, 16],
            burn::tensor::Distribution::Uniform(-0.9, 0.9),
            &dev,
        );
        let grads = (g.forward(x) - 0.5).powi_scalar(2).mean().backward();
        let map = g.color_map.as_ref().expect("a colour path");
        for (name, grad) in [
            ("colour path", map.out.weight.grad(&grads)),
            ("head", g.head.weight.grad(&grads)),
        ] {
            let size: f32 = grad
                .unwrap_or_else(|| panic!("{name}: no gradient"))
                .abs()
                .max()
                .into_scalar();
            assert!(size > 1e-5, "{name}: {size}");
        }
    }

    /// [`silent`]'s generator with a colour path of hidden width 8.
    fn silent_with_color_map() -> Generator<Flex> {
        let (spec, silent) = silent(0.0);
        let mut g = Generator::<Flex>::new(
            &GeneratorSpec {
                color_map: 8,
                ..spec
            },
            &Default::default(),
        );
        g.head = silent.head;
        g
    }

    #[test]
    fn a_new_color_map_changes_nothing() {
        let g = silent_with_color_map();
        let x = Tensor::<Flex, 4>::random(
            [1, 3, 16, 16],
            burn::tensor::Distribution::Uniform(-0.9, 0.9),
            &Default::default(),
        );
        let err: f32 = (g.forward(x.clone()) - x).abs().max().into_scalar();
        assert!(err < 1e-4, "{err}");
    }

    #[test]
    fn the_color_map_changes_each_pixel_by_its_own_colour_alone() {
        let dev = Default::default();
        let mut g = silent_with_color_map();
        let map = g.color_map.as_mut().expect("a colour path");
        map.out.weight = Param::from_tensor(Tensor::random(
            map.out.weight.dims(),
            burn::tensor::Distribution::Normal(0.0, 0.5),
            &dev,
        ));
        // Random pixels, with the colour at (2, 3) repeated at (12, 10) among other neighbours.
        let mut v: Vec<f32> = Tensor::<Flex, 4>::random(
            [1, 3, 16, 16],
            burn::tensor::Distribution::Uniform(-0.9, 0.9),
            &dev,
        )
        .into_data()
        .to_vec()
        .unwrap();
        for c in 0..3 {
            v[c * 256 + 12 * 16 + 10] = v[c * 256 + 2 * 16 + 3];
        }
        let x = Tensor::<Flex, 4>::from_data(TensorData::new(v.clone(), [1, 3, 16, 16]), &dev);
        let y: Vec<f32> = g.forward(x).into_data().to_vec().unwrap();
        for c in 0..3 {
            let (a, b) = (y[c * 256 + 2 * 16 + 3], y[c * 256 + 12 * 16 + 10]);
            assert!((a - b).abs() < 1e-5, "channel {c}: {a} vs {b}");
        }
        // Over the whole image: at one pixel every hidden unit's ReLU may be off by chance (the
        // weights are random, unseeded), and then that pixel rightly does not move.
        let moved = y
            .iter()
            .zip(&v)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(moved > 1e-3, "the path changed nothing: {moved}");
    }
}
