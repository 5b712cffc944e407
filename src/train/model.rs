//! The networks, following burn's model/data/training split: the ResNet generator, the PatchGAN
//! discriminator and the fixed feature network behind the content and style losses. Layer for
//! layer they match `shared/bench/torch_reference.py` (reflection padding + valid convolutions,
//! InstanceNorm without affine parameters), so benchmarks compare like with like.
//! Their tensor operations (convolutions, padding, pooling, instance norm, and the losses' Gram
//! matrices and sorts) all go through [`ops`], which picks atelier's CPU kernels (`kernels`,
//! the `cpu-kernels` feature) or burn's own ops (`burn_ops`).

mod burn_ops;
pub mod discriminator;
pub mod features;
pub mod generator;
pub mod global_color;
#[cfg(feature = "cpu-kernels")]
pub mod kernels;
pub mod ops;
pub mod palette;

pub use discriminator::Discriminator;
pub use features::FeatureNet;
pub use generator::Generator;

/// The largest absolute difference between two tensors of the same dims (tests).
#[cfg(test)]
fn max_abs_diff<B: burn::prelude::Backend>(
    a: burn::prelude::Tensor<B, 4>,
    b: burn::prelude::Tensor<B, 4>,
) -> f32 {
    use burn::prelude::ElementConversion;
    assert_eq!(a.dims(), b.dims());
    (a - b).abs().max().into_scalar().elem::<f32>()
}
