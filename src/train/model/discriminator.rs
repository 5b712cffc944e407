//! PatchGAN discriminator D(width, layers): Conv4 s2 LReLU, then (layers-1) x [Conv4 s2 IN LReLU]
//! doubling channels (capped at 8 x width), Conv4 s1 IN LReLU, Conv4 s1 -> 1 channel. Its output
//! is a map of per-patch realness scores (LSGAN: 1 real, 0 fake), which the sampler also renders
//! as a heatmap so the user can see where the critic finds the output unconvincing.
//! With `scales` > 1 the critic is multi-scale (as in pix2pixHD): the same architecture, with its
//! own weights, also judges the image average-pooled 2x (and 4x), so coarse copies see whole
//! brush strokes while the full-resolution one sees the weave. The heatmap is the full-scale map.

use super::ops::{avg_pool2x2, conv_forward, instance_norm};
use crate::spec::DiscriminatorSpec;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;

#[derive(Module, Debug)]
pub struct Discriminator<B: Backend> {
    /// The full-resolution critic (the checkpoint layout of a one-scale D).
    convs: Vec<Conv2d<B>>,
    /// One critic per coarser scale: 2x pooled, 4x pooled. `None` for a one-scale critic, so
    /// checkpoints from before multi-scale critics existed (no such field) still load.
    coarse: Option<Vec<Vec<Conv2d<B>>>>,
}

impl<B: Backend> Discriminator<B> {
    pub fn new(spec: &DiscriminatorSpec, device: &B::Device) -> Self {
        Self {
            convs: patch_convs(spec, device),
            coarse: (spec.scales > 1).then(|| {
                (1..spec.scales)
                    .map(|_| patch_convs(spec, device))
                    .collect()
            }),
        }
    }

    /// Images in [-1, 1] -> the full-resolution patch scores [N, 1, h', w'] (the heatmap).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        patch_forward(&self.convs, x)
    }

    /// Patch scores at every scale, the full resolution first.
    pub fn scores(&self, x: Tensor<B, 4>) -> Vec<Tensor<B, 4>> {
        let coarse = self.coarse.as_deref().unwrap_or(&[]);
        let mut out = Vec::with_capacity(1 + coarse.len());
        let mut pooled = x.clone();
        out.push(patch_forward(&self.convs, x));
        for convs in coarse {
            pooled = avg_pool2x2(pooled);
            out.push(patch_forward(convs, pooled.clone()));
        }
        out
    }

    /// Every scale's mean score as a [1, 1, 1, 1] tensor: a warm-up pass that touches (and so
    /// materialises) the parameters of all scales.
    pub fn touch_all(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.scores(x)
            .into_iter()
            .map(|s| s.mean())
            .reduce(|a, b| a + b)
            .expect("at least one scale")
            .reshape([1, 1, 1, 1])
    }
}

/// One PatchGAN's layers.
fn patch_convs<B: Backend>(spec: &DiscriminatorSpec, device: &B::Device) -> Vec<Conv2d<B>> {
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
    convs
}

/// One PatchGAN's forward pass: images in [-1, 1] -> patch scores [N, 1, h', w'].
fn patch_forward<B: Backend>(convs: &[Conv2d<B>], mut x: Tensor<B, 4>) -> Tensor<B, 4> {
    let last = convs.len() - 1;
    for (i, conv) in convs.iter().enumerate() {
        x = conv_forward(conv, x);
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
