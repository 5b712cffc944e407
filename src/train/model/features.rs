//! The fixed feature network whose activations define the content loss (last tap) and the
//! Gram-matrix style loss (every tap). By default a seeded random convolutional pyramid
//! (Conv3 ReLU, AvgPool2, ... as in the PyTorch reference), which needs no download; or the first
//! nine convolutions of torchvision's VGG19 (relu1_1 .. relu4_1) from weights the user supplies,
//! read through burn-store. The weights are plain tensors, never parameters: gradients flow
//! through the network to the generator's output, never into it.

use super::ops::{avg_pool2x2, conv2d};
use crate::rng::Rng;
use crate::spec::{FeatureNetKind, FeaturesSpec};
use anyhow::{bail, Context, Result};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::ConvOptions;
use burn_store::{ModuleSnapshot, PytorchStore, SafetensorsStore};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    /// Conv3x3 pad 1 with the next weight, then ReLU.
    ConvRelu,
    AvgPool,
    MaxPool,
    /// Emit the current activation as a feature map.
    Tap,
}

#[derive(Debug, Clone)]
pub struct FeatureNet<B: Backend> {
    weights: Vec<(Tensor<B, 4>, Tensor<B, 1>)>,
    ops: Vec<Op>,
    /// ImageNet normalization for VGG: per-channel (mean, std) on [0, 1] inputs.
    imagenet: bool,
}

/// VGG19 `features` layout up to relu4_1: (output channels, pool before this conv, tap after).
const VGG19: [(usize, bool, bool); 9] = [
    (64, false, true),
    (64, false, false),
    (128, true, true),
    (128, false, false),
    (256, true, true),
    (256, false, false),
    (256, false, false),
    (256, false, false),
    (512, true, true),
];

impl<B: Backend> FeatureNet<B> {
    pub fn new(spec: &FeaturesSpec, device: &B::Device) -> Result<Self> {
        match spec.net {
            FeatureNetKind::Random => Ok(Self::random(&spec.widths, spec.seed, device)),
            FeatureNetKind::Vgg19 => {
                let path = spec
                    .weights
                    .as_deref()
                    .context("features.weights is required for vgg19")?;
                Self::vgg19(Path::new(path), device)
            }
        }
    }

    /// Seeded random pyramid: PyTorch's default conv init (uniform +-1/sqrt(fan_in)).
    pub fn random(widths: &[usize], seed: u64, device: &B::Device) -> Self {
        let mut rng = Rng::stream(seed, "feature-net");
        let mut weights = Vec::new();
        let mut ops = Vec::new();
        let mut cin = 3;
        for (i, &cout) in widths.iter().enumerate() {
            if i > 0 {
                ops.push(Op::AvgPool);
            }
            let fan_in = cin * 9;
            let bound = 1.0 / (fan_in as f32).sqrt();
            let w: Vec<f32> = (0..cout * fan_in)
                .map(|_| rng.range_f32(-bound, bound))
                .collect();
            let b: Vec<f32> = (0..cout).map(|_| rng.range_f32(-bound, bound)).collect();
            weights.push((
                Tensor::from_data(TensorData::new(w, [cout, cin, 3, 3]), device),
                Tensor::from_data(TensorData::new(b, [cout]), device),
            ));
            ops.push(Op::ConvRelu);
            ops.push(Op::Tap);
            cin = cout;
        }
        Self {
            weights,
            ops,
            imagenet: false,
        }
    }

    /// torchvision VGG19 weights (`features.{0,2,5,...}.weight|bias`) from .pth or .safetensors.
    pub fn vgg19(path: &Path, device: &B::Device) -> Result<Self> {
        let mut convs = VggConvs::<B>::new(device);
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let result = if ext == "safetensors" {
            let mut store = SafetensorsStore::from_file(path)
                .with_key_remapping(r"^features\.", "convs.")
                .map_indices_contiguous(true)
                .allow_partial(true);
            convs
                .load_from(&mut store)
                .map_err(|e| anyhow::anyhow!("{e}"))
        } else {
            let mut store = PytorchStore::from_file(path)
                .with_key_remapping(r"^features\.", "convs.")
                .map_indices_contiguous(true)
                .allow_partial(true);
            convs
                .load_from(&mut store)
                .map_err(|e| anyhow::anyhow!("{e}"))
        }
        .with_context(|| format!("loading VGG19 weights from {}", path.display()))?;
        if !result.missing.is_empty() {
            bail!(
                "{} is missing VGG19 tensors {:?}; expected torchvision's vgg19 state dict (features.N.weight)",
                path.display(),
                result.missing.iter().map(|m| m.0.clone()).collect::<Vec<_>>()
            );
        }
        let mut ops = Vec::new();
        for &(_, pool, tap) in VGG19.iter() {
            if pool {
                ops.push(Op::MaxPool);
            }
            ops.push(Op::ConvRelu);
            if tap {
                ops.push(Op::Tap);
            }
        }
        let weights = convs
            .convs
            .into_iter()
            .map(|c| {
                let b = c
                    .bias
                    .map(|b| b.val())
                    .unwrap_or_else(|| Tensor::zeros([c.weight.dims()[0]], device));
                (c.weight.val(), b)
            })
            .collect();
        Ok(Self {
            weights,
            ops,
            imagenet: true,
        })
    }

    /// Move the fixed weights to another backend family (autodiff -> inner) or device.
    pub fn to_backend<B2: Backend>(&self, device: &B2::Device) -> FeatureNet<B2> {
        FeatureNet {
            weights: self
                .weights
                .iter()
                .map(|(w, b)| {
                    (
                        Tensor::from_data(w.to_data(), device),
                        Tensor::from_data(b.to_data(), device),
                    )
                })
                .collect(),
            ops: self.ops.clone(),
            imagenet: self.imagenet,
        }
    }

    /// Images in [-1, 1] -> the tapped activations, shallow to deep.
    pub fn forward(&self, x: Tensor<B, 4>) -> Vec<Tensor<B, 4>> {
        let mut x = if self.imagenet {
            let device = x.device();
            let mean =
                Tensor::<B, 1>::from_floats([0.485, 0.456, 0.406], &device).reshape([1, 3, 1, 1]);
            let std =
                Tensor::<B, 1>::from_floats([0.229, 0.224, 0.225], &device).reshape([1, 3, 1, 1]);
            ((x + 1.0) * 0.5 - mean) / std
        } else {
            x
        };
        let mut taps = Vec::new();
        let mut next = 0;
        let opts = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        for op in &self.ops {
            match op {
                Op::ConvRelu => {
                    let (w, b) = &self.weights[next];
                    next += 1;
                    x = relu(conv2d(x, w.clone(), Some(b.clone()), opts.clone()));
                }
                Op::AvgPool => x = avg_pool2x2(x),
                Op::MaxPool => x = max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], false),
                Op::Tap => taps.push(x.clone()),
            }
        }
        taps
    }
}

/// The nine VGG19 convolutions as a module, so burn-store can load them by name.
#[derive(Module, Debug)]
struct VggConvs<B: Backend> {
    convs: Vec<Conv2d<B>>,
}

impl<B: Backend> VggConvs<B> {
    fn new(device: &B::Device) -> Self {
        let mut cin = 3;
        let convs = VGG19
            .iter()
            .map(|&(cout, _, _)| {
                let c = Conv2dConfig::new([cin, cout], [3, 3])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init(device);
                cin = cout;
                c
            })
            .collect();
        Self { convs }
    }
}
