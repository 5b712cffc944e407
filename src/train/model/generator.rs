//! ResNet generator G(width, blocks), content -> stylized, fully convolutional (any input size
//! divisible by 4): ReflPad3 Conv7 IN ReLU, 2x [Conv3 s2 IN ReLU], blocks x residual
//! [ReflPad1 Conv3 IN ReLU ReflPad1 Conv3 IN], 2x [up IN ReLU], ReflPad3 Conv7 Tanh. "up" is
//! ConvTranspose3 s2 p1 op1 (the reference) or nearest 2x + ReflPad1 Conv3 (no checkerboard).
//! With `residual`, the head's output is added to atanh(photo) before the tanh, so the network
//! learns a change to the photo rather than a whole new image.

use super::{backward, conv_transpose3_s2, instance_norm, reflect_pad};
use crate::spec::{GeneratorSpec, Upsample};
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::activation::{relu, tanh};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

#[derive(Module, Debug)]
pub struct ResBlock<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
}

impl<B: Backend> ResBlock<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let y = relu(instance_norm(backward::conv_forward(
            &self.conv1,
            reflect_pad(x.clone(), 1),
        )));
        let y = instance_norm(backward::conv_forward(&self.conv2, reflect_pad(y, 1)));
        x + y
    }
}

/// One 2x upsampling stage: exactly one of the two convolutions is present.
#[derive(Module, Debug)]
pub struct Up<B: Backend> {
    transpose: Option<ConvTranspose2d<B>>,
    resize_conv: Option<Conv2d<B>>,
}

impl<B: Backend> Up<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        if let Some(t) = &self.transpose {
            if B::ad_enabled(&x.device()) {
                // Training: the sub-pixel form measured no faster there (its permute and slice
                // copies eat what the convolution saves, docs/benchmarks.md).
                return t.forward(x);
            }
            // Inference: ConvTranspose3 s2 p1 op1 (as built in `Generator::new`) as a sub-pixel
            // conv instead of flex's serial col2im (docs/benchmarks.md).
            return conv_transpose3_s2(x, t.weight.val(), t.bias.as_ref().map(|b| b.val()));
        }
        let [_, _, h, w] = x.dims();
        let x = interpolate(
            x,
            [h * 2, w * 2],
            InterpolateOptions::new(InterpolateMode::Nearest),
        );
        match &self.resize_conv {
            Some(conv) => backward::conv_forward(conv, reflect_pad(x, 1)),
            None => x,
        }
    }
}

#[derive(Module, Debug)]
pub struct Generator<B: Backend> {
    stem: Conv2d<B>,
    down: Vec<Conv2d<B>>,
    blocks: Vec<ResBlock<B>>,
    up: Vec<Up<B>>,
    head: Conv2d<B>,
    /// `generator.residual`: the head's output is added to the photo (in tanh's domain).
    #[module(skip)]
    residual: bool,
}

fn conv(cin: usize, cout: usize, k: usize) -> Conv2dConfig {
    Conv2dConfig::new([cin, cout], [k, k])
}

impl<B: Backend> Generator<B> {
    pub fn new(spec: &GeneratorSpec, device: &B::Device) -> Self {
        let w = spec.width;
        let down = (0..2)
            .map(|i| {
                let c = w << i;
                conv(c, 2 * c, 3)
                    .with_stride([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
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
                    },
                    Upsample::Resize => Up {
                        transpose: None,
                        resize_conv: Some(conv(cin, cin / 2, 3).init(device)),
                    },
                }
            })
            .collect();
        Self {
            stem: conv(3, w, 7).init(device),
            down,
            blocks,
            up,
            head: conv(w, 3, 7).init(device),
            residual: spec.residual,
        }
    }

    /// Images in [-1, 1], NCHW with H and W divisible by 4 -> images in [-1, 1].
    pub fn forward(&self, input: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut x = relu(instance_norm(backward::conv_forward(
            &self.stem,
            reflect_pad(input.clone(), 3),
        )));
        for d in &self.down {
            x = relu(instance_norm(backward::conv_forward(d, x)));
        }
        for b in &self.blocks {
            x = b.forward(x);
        }
        for u in &self.up {
            x = relu(instance_norm(u.forward(x)));
        }
        let y = backward::conv_forward(&self.head, reflect_pad(x, 3));
        if self.residual {
            // atanh(p) = ln((1 + p) / (1 - p)) / 2, with the photo kept off the asymptotes.
            let p = input.clamp(-0.98, 0.98);
            let base = ((p.clone() + 1.0) / (p.neg() + 1.0)).log() * 0.5;
            tanh(y + base)
        } else {
            tanh(y)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::module::Param;

    #[test]
    fn a_residual_generator_with_a_silent_head_returns_the_photo() {
        let dev = Default::default();
        let spec = GeneratorSpec {
            width: 4,
            blocks: 1,
            upsample: Upsample::Resize,
            residual: true,
        };
        let mut g = Generator::<Flex>::new(&spec, &dev);
        g.head.weight = Param::from_tensor(g.head.weight.val().zeros_like());
        g.head.bias = g
            .head
            .bias
            .map(|b| Param::from_tensor(b.val().zeros_like()));
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
        plain.head.weight = Param::from_tensor(plain.head.weight.val().zeros_like());
        plain.head.bias = plain
            .head
            .bias
            .map(|b| Param::from_tensor(b.val().zeros_like()));
        let flat: f32 = plain
            .forward(Tensor::ones([1, 3, 16, 16], &dev))
            .abs()
            .max()
            .into_scalar();
        assert!(flat < 1e-6, "{flat}");
    }
}
