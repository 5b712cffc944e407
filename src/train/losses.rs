//! Loss terms of both recipes as plain tensor functions: LSGAN targets, MSE/L1, Gram matrices for
//! the style loss, total variation. Each returns a scalar tensor; the training step weights and
//! sums them and records each term's value as an `f32`, never keeping tensors across steps.

use burn::prelude::*;

/// Mean squared error between two tensors of the same shape.
pub fn mse<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, 1> {
    (a - b).square().mean()
}

/// LSGAN: mean squared distance of every patch score to a target label (1 real, 0 fake).
pub fn lsgan<B: Backend>(scores: Tensor<B, 4>, target: f32) -> Tensor<B, 1> {
    (scores - target).square().mean()
}

/// Mean absolute error.
pub fn l1<B: Backend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 1> {
    (a - b).abs().mean()
}

/// Gram matrices [N, C, C] of feature maps, normalised by C*H*W as in the PyTorch reference.
pub fn gram<B: Backend>(f: Tensor<B, 4>) -> Tensor<B, 3> {
    let [n, c, h, w] = f.dims();
    let flat = f.reshape([n, c, h * w]);
    flat.clone().matmul(flat.swap_dims(1, 2)) / ((c * h * w) as f32)
}

/// Style loss: sum over layers of MSE between the batch's Grams and the style's Grams [1, C, C].
pub fn style<B: Backend>(features: &[Tensor<B, 4>], targets: &[Tensor<B, 3>]) -> Tensor<B, 1> {
    features
        .iter()
        .zip(targets)
        .map(|(f, t)| {
            let g = gram(f.clone());
            let [n, c, _] = g.dims();
            mse(g, t.clone().expand([n, c, c]))
        })
        .reduce(|a, b| a + b)
        .expect("feature net has at least one tap")
}

/// Anisotropic total variation: mean absolute difference of neighbouring pixels.
pub fn total_variation<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 1> {
    let [n, c, h, w] = x.dims();
    let dy =
        x.clone().slice([0..n, 0..c, 1..h, 0..w]) - x.clone().slice([0..n, 0..c, 0..h - 1, 0..w]);
    let dx = x.clone().slice([0..n, 0..c, 0..h, 1..w]) - x.slice([0..n, 0..c, 0..h, 0..w - 1]);
    dy.abs().mean() + dx.abs().mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

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
        assert_eq!(lsgan(s.clone(), 1.0).into_scalar(), 0.0);
        assert_eq!(lsgan(s.clone(), 0.0).into_scalar(), 1.0);
        assert_eq!(total_variation(s).into_scalar(), 0.0);
        let ramp = Tensor::<Flex, 1>::from_floats([0.0, 1.0, 2.0, 3.0], &dev).reshape([1, 1, 1, 4]);
        // dy over a height of 1 is empty (NaN mean); use a 2-row ramp instead.
        let ramp = ramp.repeat_dim(2, 2);
        assert_eq!(total_variation(ramp).into_scalar(), 1.0);
    }
}
