//! The networks, following burn's model/data/training split: the ResNet generator, the PatchGAN
//! discriminator and the fixed feature network behind the content and style losses. Layer for
//! layer they match `shared/bench/torch_reference.py` (reflection padding + valid convolutions,
//! InstanceNorm without affine parameters), so benchmarks compare like with like.

pub mod discriminator;
pub mod features;
pub mod generator;
pub mod kernels;

pub use discriminator::Discriminator;
pub use features::FeatureNet;
pub use generator::Generator;
pub use kernels::instance_norm;

use burn::prelude::*;

/// Reflection padding of the two spatial dims (PyTorch's `ReflectionPad2d(p)`, p < H, W).
///
/// Built from views and one concatenation per dim: the mirrored border rows (then columns) are
/// `narrow` + `flip` views of the input, joined to it by `cat`. flex's `select` along the last
/// dim ([`reflect_pad_select`]) computes every output element's source with divisions; `cat`
/// copies contiguous runs. On the plain CPU backends a parallel copy of raw values
/// ([`kernels::reflect_pad_plain`]) replaces both; training takes [`kernels::reflect_pad`]
/// (the same forward, with its own backward pass on the CPU).
pub fn reflect_pad<B: Backend>(x: Tensor<B, 4>, p: usize) -> Tensor<B, 4> {
    if p == 0 {
        return x;
    }
    if B::ad_enabled(&x.device()) {
        // Under autodiff each `narrow` piece's backward would add a full-size zeros +
        // slice_assign: training takes a padding with its own backward pass (or the select).
        return kernels::reflect_pad(x, p);
    }
    let [_, _, h, w] = x.dims();
    if kernels::plain_cpu::<B>() && p < h && p < w {
        return kernels::reflect_pad_plain(x, p);
    }
    reflect_pad_cat(x, p)
}

/// Reflection padding from `narrow` + `flip` views joined by one `cat` per dim.
pub fn reflect_pad_cat<B: Backend>(x: Tensor<B, 4>, p: usize) -> Tensor<B, 4> {
    if p == 0 {
        return x;
    }
    let x = reflect_pad_dim(x, 2, p);
    reflect_pad_dim(x, 3, p)
}

fn reflect_pad_dim<B: Backend>(x: Tensor<B, 4>, dim: usize, p: usize) -> Tensor<B, 4> {
    let n = x.dims()[dim];
    assert!(
        p < n,
        "reflection padding {p} needs a dimension larger than {p}, got {n}"
    );
    let before = x.clone().narrow(dim, 1, p).flip([dim as isize]);
    let after = x.clone().narrow(dim, n - 1 - p, p).flip([dim as isize]);
    Tensor::cat(vec![before, x, after], dim)
}

/// Reflection padding as one index select per dim, so the backward pass is a single scatter:
/// what training uses, and the reference the `cat` version is tested against.
pub fn reflect_pad_select<B: Backend>(x: Tensor<B, 4>, p: usize) -> Tensor<B, 4> {
    if p == 0 {
        return x;
    }
    let [_, _, h, w] = x.dims();
    let device = x.device();
    let x = x.select(2, reflect_index::<B>(h, p, &device));
    x.select(3, reflect_index::<B>(w, p, &device))
}

fn reflect_index<B: Backend>(n: usize, p: usize, device: &B::Device) -> Tensor<B, 1, Int> {
    let idx: Vec<i64> = (0..n + 2 * p)
        .map(|i| {
            let j = i as i64 - p as i64;
            let last = n as i64 - 1;
            if j < 0 {
                (-j).min(last)
            } else if j > last {
                (2 * last - j).max(0)
            } else {
                j
            }
        })
        .collect();
    Tensor::from_data(TensorData::new(idx, [n + 2 * p]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::module::AutodiffModule;
    use burn::tensor::Distribution;

    #[test]
    fn reflect_pad_matches_pytorch_semantics() {
        let dev = Default::default();
        let x = Tensor::<Flex, 4>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 1, 1, 4]),
            &dev,
        );
        // Pad only W by reshaping H: use a 4x4 to exercise both dims.
        let x = x.clone().repeat_dim(2, 4);
        let y = reflect_pad(x, 2);
        assert_eq!(y.dims(), [1, 1, 8, 8]);
        let row: Vec<f32> = y
            .slice([0..1, 0..1, 0..1, 0..8])
            .into_data()
            .to_vec()
            .unwrap();
        assert_eq!(row, vec![3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0]);
    }

    #[test]
    fn instance_norm_zero_mean_unit_var() {
        let dev = Default::default();
        let x = Tensor::<Flex, 4>::random(
            [2, 3, 5, 5],
            burn::tensor::Distribution::Uniform(-3.0, 7.0),
            &dev,
        );
        let y = instance_norm(x);
        let mean: f32 = y.clone().mean().into_scalar();
        let var: f32 = y.square().mean().into_scalar();
        assert!(mean.abs() < 1e-4, "{mean}");
        assert!((var - 1.0).abs() < 1e-2, "{var}");
    }

    fn max_abs_diff<B: Backend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b).abs().max().into_scalar().elem::<f32>()
    }

    #[test]
    fn reflect_pad_matches_index_select_values_and_gradients() {
        use burn::backend::Autodiff;
        type A = Autodiff<Flex>;
        let dev = Default::default();
        // Includes n = 2p + 2, sizes where the two mirrored strips overlap (p + 1 = n, where
        // one source row takes gradient from both sides), and p = 1 on a 2-wide dim.
        let cases = [
            ([2, 3, 7, 9], 1),
            ([1, 4, 8, 8], 3),
            ([2, 2, 5, 4], 2),
            ([1, 2, 6, 9], 2),
            ([1, 3, 4, 5], 3),
            ([2, 1, 2, 3], 1),
        ];
        for (shape, p) in cases {
            let x =
                Tensor::<A, 4>::random(shape, burn::tensor::Distribution::Normal(0.0, 1.0), &dev);
            let out_shape = [shape[0], shape[1], shape[2] + 2 * p, shape[3] + 2 * p];
            let g = Tensor::<A, 4>::random(
                out_shape,
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &dev,
            );
            let run = |pad: fn(Tensor<A, 4>, usize) -> Tensor<A, 4>| {
                let xr = x.clone().detach().require_grad();
                let y = pad(xr.clone(), p);
                let grads = (y.clone() * g.clone()).sum().backward();
                (y.inner(), xr.grad(&grads).unwrap())
            };
            let (y_old, gx_old) = run(reflect_pad_select);
            for (name, pad) in [
                (
                    "cat",
                    reflect_pad_cat as fn(Tensor<A, 4>, usize) -> Tensor<A, 4>,
                ),
                ("fold", kernels::reflect_pad),
            ] {
                let (y_new, gx_new) = run(pad);
                let what = format!("{name}, {shape:?} p={p}");
                assert_eq!(max_abs_diff(y_new, y_old.clone()), 0.0, "values, {what}");
                assert!(
                    max_abs_diff(gx_new, gx_old.clone()) < 1e-5,
                    "gradients, {what}"
                );
            }
        }
    }

    #[test]
    fn conv_transpose_forward_matches_burns_conv_transpose2d() {
        use burn::backend::Autodiff;
        use burn::nn::conv::ConvTranspose2dConfig;
        type A = Autodiff<Flex>;
        let dev = Default::default();
        // (n, cin, cout, h, w, kernel, stride, padding, output padding): the generator's
        // upsampling (3, 2, 1, 1) and other shapes the phase split must also get right.
        for (n, cin, cout, h, w, k, s, p, op) in [
            (2, 8, 4, 6, 5, 3, 2, 1, 1),
            (1, 16, 8, 9, 12, 3, 2, 1, 1),
            (1, 4, 6, 5, 7, 3, 2, 1, 0),
            (2, 3, 5, 6, 4, 4, 2, 1, 0),
            (1, 5, 3, 6, 6, 3, 1, 1, 0),
        ] {
            let what = format!("k{k} s{s} p{p} op{op}");
            let t = ConvTranspose2dConfig::new([cin, cout], [k, k])
                .with_stride([s, s])
                .with_padding([p, p])
                .with_padding_out([op, op])
                .init::<A>(&dev);
            let x = Tensor::<A, 4>::random([n, cin, h, w], Distribution::Normal(0.0, 1.0), &dev);
            let out = t.forward(x.clone()).dims();
            let g = Tensor::<A, 4>::random(out, Distribution::Normal(0.0, 1.0), &dev);
            let run = |ours: bool| {
                let xr = x.clone().detach().require_grad();
                let y = if ours {
                    kernels::conv_transpose_forward(&t, xr.clone())
                } else {
                    t.forward(xr.clone())
                };
                let grads = (y.clone() * g.clone()).sum().backward();
                let gw = t.weight.grad(&grads).unwrap();
                let gb = t.bias.as_ref().unwrap().grad(&grads).unwrap();
                (y.inner(), xr.grad(&grads).unwrap(), gw, gb)
            };
            let (y1, gx1, gw1, gb1) = run(true);
            let (y0, gx0, gw0, gb0) = run(false);
            assert!(max_abs_diff(y1, y0.clone()) < 1e-4, "values, {what}");
            assert!(max_abs_diff(gx1, gx0) < 1e-4, "x gradients, {what}");
            assert!(max_abs_diff(gw1, gw0) < 1e-3, "weight gradients, {what}");
            let db: f32 = (gb1 - gb0).abs().max().into_scalar();
            assert!(db < 1e-3, "bias gradients {db}, {what}");
            // Without autodiff (stylizing), the same values.
            let plain = t.valid();
            let y2 = kernels::conv_transpose_forward(&plain, x.clone().inner());
            assert!(max_abs_diff(y2, y0) < 1e-4, "inference values, {what}");
        }
    }
}
