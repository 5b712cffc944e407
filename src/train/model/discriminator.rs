//! PatchGAN discriminator D(width, layers): Conv4 s2 LReLU, then (layers-1) x [Conv4 s2 IN LReLU]
//! doubling channels (capped at 8 x width), Conv4 s1 IN LReLU, Conv4 s1 -> 1 channel. Its output
//! is a map of per-patch realness scores (LSGAN: 1 real, 0 fake), which the sampler also renders
//! as a heatmap so the user can see where the critic finds the output unconvincing.

use super::instance_norm;
use crate::spec::DiscriminatorSpec;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;

#[derive(Module, Debug)]
pub struct Discriminator<B: Backend> {
    convs: Vec<Conv2d<B>>,
}

impl<B: Backend> Discriminator<B> {
    pub fn new(spec: &DiscriminatorSpec, device: &B::Device) -> Self {
        let w = spec.width;
        let width_at = |i: usize| w * (1usize << i.min(3));
        let pad = || PaddingConfig2d::Explicit(1, 1, 1, 1);
        let mut convs = Vec::new();
        let mut cin = 3;
        for i in 0..spec.layers {
            let cout = width_at(i);
            convs.push(
                Conv2dConfig::new([cin, cout], [4, 4])
                    .with_stride([2, 2])
                    .with_padding(pad())
                    .init(device),
            );
            cin = cout;
        }
        let cout = width_at(spec.layers);
        convs.push(
            Conv2dConfig::new([cin, cout], [4, 4])
                .with_padding(pad())
                .init(device),
        );
        convs.push(
            Conv2dConfig::new([cout, 1], [4, 4])
                .with_padding(pad())
                .init(device),
        );
        Self { convs }
    }

    /// Images in [-1, 1] -> patch scores [N, 1, h', w'].
    pub fn forward(&self, mut x: Tensor<B, 4>) -> Tensor<B, 4> {
        let last = self.convs.len() - 1;
        for (i, conv) in self.convs.iter().enumerate() {
            x = conv.forward(x);
            if i == last {
                break;
            }
            if i > 0 {
                x = instance_norm(x);
            }
            x = leaky_relu(x, 0.2);
        }
        x
    }
}
