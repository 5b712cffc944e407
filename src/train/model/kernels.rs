//! atelier's own CPU kernels, forward and backward, on flex and ndarray (with or without
//! autodiff), where burn's generic ones run serial layout transposes, scatters and strided
//! copies in flex. Compiled with the `cpu-kernels` feature (default) and reached only through
//! `model::ops`; any other backend (CUDA), and any shape a kernel does not handle, takes burn's
//! op from `model::burn_ops`. Values are the same either way (tests compare with burn's outputs
//! and gradients). Per-layer timings, and the whole-step effect (single_style 1.85x, cyclegan
//! 1.84x, stylize512 1.53x): docs/benchmarks.md and `examples/conv_profile.rs`.
//!
//! - [`conv2d`] (through [`conv_forward`] for `Conv2d` modules):
//!   - forward and weight gradient as im2col + GEMM over raw slices ([`forward_gemm`],
//!     [`weight_grad`], module `gemm_conv`), except for layers with one to three output
//!     channels (the generator's RGB head, the critic's score map), which run direct AVX-512
//!     kernels (module `thin`) where a three-row GEMM wasted most of its micro-kernel, and
//!     3x3 stride-1 layers with 64 channels or more (every residual block, and the input
//!     gradient of each), whose forward runs Winograd's F(2x2, 3x3) (module `winograd`): 16
//!     GEMMs with 4/9 of im2col's multiplies;
//!   - input gradient by phases ([`input_grad`]) for stride-1 layers that do not widen more than
//!     twofold and for layers that narrow twofold (the generator's 7x7 head, 32 or 64 channels
//!     to 3: burn's `conv_transpose2d` scatters C_in x kh x kw values per pixel on one thread
//!     there, 118 ms against 4.5 ms). Split into its stride x stride phases, the input gradient
//!     is one stride-1 convolution of the output gradient with sub-kernels of the flipped
//!     weight, then a depth-to-space interleave. Strided layers keep burn's.
//! - the bias gradient as per-channel sums over raw slices (burn's `conv2d_bias_backward` took
//!   8% of a single_style step);
//! - [`conv_transpose_forward`] (module `transpose`): `ConvTranspose2d` layers from the same
//!   kernels, forward by phases, both gradients as the convolution's;
//! - [`reflect_pad`] (module `pad`): reflection padding's backward folds the mirrored border rows and columns
//!   back onto the rows they copied, one pass over raw slices ([`fold_reflection`]), where the
//!   index select's backward is a `select_add` that computes every element's destination;
//! - [`gram`] (module `gram`): the style loss's Gram matrices, whose backward is one product
//!   `(G' + G'^T) F` instead of a strided add of the transpose's half on one thread;
//! - [`avg_pool2x2`] (module `pool`): 2x2 average pooling forward and backward over raw values;
//! - [`sort_rows`] (module `sort`): the sliced-Wasserstein loss's sorts as per-row radix sorts
//!   that keep their permutation, whose backward puts each gradient back where its value came
//!   from;
//! - [`instance_norm`] (module `norm`): InstanceNorm2d as one pass per plane, forward and
//!   backward.
//!
//! The kernels read flex tensors in place ([`with_values`]): the autodiff graph holds the same
//! tensors, so reading them out would copy every activation once per use.

use super::burn_ops;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex, NdArray};
use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;
use burn::tensor::TensorPrimitive;
use rayon::prelude::*;
use std::any::{Any, TypeId};
use std::marker::PhantomData;

/// One spatial axis of the phase decomposition of a strided convolution's input gradient.
#[derive(Debug, Clone)]
struct PhaseAxis {
    stride: usize,
    /// Sub-kernel length shared by all phases (taps missing in a phase are zeros).
    taps: usize,
    /// `kernel[phase][t]`: the weight index read by tap t of a phase, if any.
    kernel: Vec<Vec<Option<usize>>>,
    /// Symmetric zero padding of the output gradient for the stride-1 correlation.
    pad: usize,
    /// First correlation output row that belongs to phase row 0.
    offset: usize,
    /// Rows per phase (the input length divided by the stride, rounded up).
    rows: usize,
}

impl PhaseAxis {
    /// `input[s*m + a] = sum_d grad[m - d] * w[s*d + a + p]`, as a correlation over t = dhi - d.
    fn new(k: usize, stride: usize, pad: usize, len_in: usize, len_out: usize) -> Self {
        assert!(
            pad < k,
            "input_grad: padding {pad} must be below the kernel size {k}"
        );
        let (k, s, p) = (k as i64, stride as i64, pad as i64);
        let dhi = (0..s)
            .map(|a| (k - 1 - a - p).div_euclid(s))
            .max()
            .unwrap_or(0);
        let dlo = (0..s).map(|a| -((a + p).div_euclid(s))).min().unwrap_or(0);
        let taps = (dhi - dlo + 1) as usize;
        let kernel = (0..s)
            .map(|a| {
                (0..taps as i64)
                    .map(|t| {
                        let kh = s * (dhi - t) + a + p;
                        (0..k).contains(&kh).then_some(kh as usize)
                    })
                    .collect()
            })
            .collect();
        let rows = len_in.div_ceil(stride) as i64;
        let right = rows + taps as i64 - 1 - dhi - len_out as i64;
        let padding = dhi.max(right).max(0);
        Self {
            stride,
            taps,
            kernel,
            pad: padding as usize,
            offset: (padding - dhi) as usize,
            rows: rows as usize,
        }
    }
}

/// The gradient of `conv2d(x, weight, _, options)` with respect to `x` (groups 1, dilation 1),
/// given the output gradient `grad` and the input's dims.
pub fn input_grad<B: Backend>(
    x_dims: [usize; 4],
    weight: Tensor<B, 4>,
    grad: Tensor<B, 4>,
    options: &ConvOptions<2>,
) -> Tensor<B, 4> {
    transposed_by_phases(grad, weight, None, x_dims, options)
}

/// The transposed convolution of `x` with `weight` (`[C_in, C_out, kh, kw]` as the transposed
/// convolution reads it; `[C_out, C_in, ..]` of the convolution it undoes) to an output of
/// `out_dims`, plus `bias` per output channel: the input gradient of that convolution, by
/// phases. Differentiable: it runs on [`conv2d`].
pub fn transposed_by_phases<B: Backend>(
    grad: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    out_dims: [usize; 4],
    options: &ConvOptions<2>,
) -> Tensor<B, 4> {
    let [n, cin, h, w] = out_dims;
    let [cout, _, kh, kw] = weight.dims();
    let [_, _, ho, wo] = grad.dims();
    let ay = PhaseAxis::new(kh, options.stride[0], options.padding[0], h, ho);
    let ax = PhaseAxis::new(kw, options.stride[1], options.padding[1], w, wo);
    let phases = ay.stride * ax.stride;
    // Which (phase, ty, tx) cell each of the kh*kw weight taps lands in.
    let mut pairs = Vec::new();
    for (a, ka) in ay.kernel.iter().enumerate() {
        for (b, kb) in ax.kernel.iter().enumerate() {
            for (t, ky) in ka.iter().enumerate() {
                for (u, kx) in kb.iter().enumerate() {
                    if let (Some(ky), Some(kx)) = (ky, kx) {
                        let cell = ((a * ax.stride + b) * ay.taps + t) * ax.taps + u;
                        pairs.push((ky * kw + kx, cell));
                    }
                }
            }
        }
    }
    let kernel_dims = [phases * cin, cout, ay.taps, ax.taps];
    let kernel = if layout::plain_cpu::<B>() {
        layout::phase_kernel(weight, &pairs, kernel_dims)
    } else {
        // As a fixed 0/1 map, so that the weight's gradient flows:
        // [C_out * C_in, kh*kw] x map -> (C_out, C_in, phase, ty, tx) -> (phase, C_in, C_out, ty, tx).
        let cells = phases * ay.taps * ax.taps;
        let mut map = vec![0.0f32; kh * kw * cells];
        for &(tap, cell) in &pairs {
            map[tap * cells + cell] = 1.0;
        }
        let map =
            Tensor::<B, 2>::from_data(TensorData::new(map, [kh * kw, cells]), &weight.device());
        weight
            .reshape([cout * cin, kh * kw])
            .matmul(map)
            .reshape([cout, cin, phases, ay.taps, ax.taps])
            .permute([2, 1, 0, 3, 4])
            .reshape(kernel_dims)
    };
    // Each phase's channels get the output channel's bias.
    let bias = bias.map(|b| Tensor::cat(vec![b; phases], 0));
    // Through the dispatcher: on the plain CPU backends (where the backward steps and
    // `conv_transpose_forward` call this) it is the GEMM kernel; on any other backend it stays
    // differentiable.
    let y = conv2d(
        grad,
        kernel,
        bias,
        ConvOptions::new([1, 1], [ay.pad, ax.pad], [1, 1], 1),
    );
    if phases > 1 && layout::plain_cpu::<B>() {
        let at = layout::Phases {
            stride: [ay.stride, ax.stride],
            offset: [ay.offset, ax.offset],
            rows: [ay.rows, ax.rows],
        };
        return layout::interleave(y, &at, out_dims);
    }
    let y = y.slice([
        0..n,
        0..phases * cin,
        ay.offset..ay.offset + ay.rows,
        ax.offset..ax.offset + ax.rows,
    ]);
    if phases == 1 {
        return y;
    }
    let (sy, sx) = (ay.stride, ax.stride);
    let y = y
        .reshape([n, sy, sx, cin, ay.rows, ax.rows])
        .permute([0, 3, 4, 1, 5, 2])
        .reshape([n, cin, ay.rows * sy, ax.rows * sx]);
    if (ay.rows * sy, ax.rows * sx) == (h, w) {
        return y;
    }
    y.slice([0..n, 0..cin, 0..h, 0..w])
}

/// `conv2d(x, weight, bias, options)` (groups 1, dilation 1) on a CPU backend: the tensors'
/// values read out as `f32` and [`gemm_conv::forward_f32`] (im2col + GEMM over raw slices).
pub fn forward_gemm<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    options: &ConvOptions<2>,
) -> Tensor<B, 4> {
    let device = x.device();
    let [n, _, h, w] = x.dims();
    let [cout, _, kh, kw] = weight.dims();
    let out = |len: usize, k: usize, s: usize, p: usize| (len + 2 * p - k) / s + 1;
    let (ho, wo) = (
        out(h, kh, options.stride[0], options.padding[0]),
        out(w, kw, options.stride[1], options.padding[1]),
    );
    let shape = gemm_conv::ConvShape {
        x: x.dims(),
        y: [n, cout, ho, wo],
        kernel: [kh, kw],
        stride: options.stride,
        padding: options.padding,
    };
    let bias = bias.map(values);
    let y = with_values(x, |x| {
        with_values(weight, |w| {
            gemm_conv::forward_f32(x, w, bias.as_deref(), &shape)
        })
    });
    Tensor::from_data(TensorData::new(y, [n, cout, ho, wo]), &device)
}

/// The gradient of a convolution's bias: the output gradient summed over samples and pixels.
fn bias_grad<B: Backend>(grad: Tensor<B, 4>) -> Tensor<B, 1> {
    let [n, c, h, w] = grad.dims();
    let device = grad.device();
    let db = with_values(grad, |g| {
        (0..c)
            .into_par_iter()
            .map(|ch| {
                (0..n)
                    .map(|s| norm::sum(&g[(s * c + ch) * h * w..][..h * w]))
                    .sum::<f32>()
            })
            .collect::<Vec<_>>()
    });
    Tensor::from_data(TensorData::new(db, [c]), &device)
}

/// `f` over a tensor's `f32` values in row-major order: borrowed from flex's storage where
/// they lie contiguous (no copy of a tensor the autodiff graph also holds), read out otherwise.
pub(super) fn with_values<B: Backend, const D: usize, R>(
    t: Tensor<B, D>,
    f: impl FnOnce(&[f32]) -> R,
) -> R {
    if is::<B, Flex>() {
        let t: FlexTensor = cast(t.into_primitive().tensor());
        if let Some(v) = t.as_slice::<f32>() {
            return f(v);
        }
        let t = t.to_contiguous();
        if let Some(v) = t.as_slice::<f32>() {
            return f(v);
        }
        return f(&values(Tensor::<Flex, D>::from_primitive(
            TensorPrimitive::Float(t),
        )));
    }
    f(&values(t))
}

/// A tensor's values as `f32`, in row-major order.
pub(super) fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec()
        .expect("convolution: f32 values")
}

/// The gradient of `conv2d(x, weight, _, options)` with respect to `weight` (groups 1,
/// dilation 1) on a CPU backend: the tensors' values read out as `f32` and
/// [`gemm_conv::weight_grad_f32`] (im2col + GEMM over raw slices).
pub fn weight_grad<B: Backend>(
    x: Tensor<B, 4>,
    weight_dims: [usize; 4],
    grad: Tensor<B, 4>,
    options: &ConvOptions<2>,
) -> Tensor<B, 4> {
    let device = x.device();
    let shape = gemm_conv::ConvShape {
        x: x.dims(),
        y: grad.dims(),
        kernel: [weight_dims[2], weight_dims[3]],
        stride: options.stride,
        padding: options.padding,
    };
    let dw = with_values(x, |x| {
        with_values(grad, |g| gemm_conv::weight_grad_f32(x, g, &shape))
    });
    Tensor::from_data(TensorData::new(dw, weight_dims), &device)
}

/// A `Conv2d` module's forward pass through [`conv2d`] (explicit or valid padding; `Same`
/// padding takes the module's own forward).
pub fn conv_forward<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let padding = match &conv.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            [*top, *left]
        }
        _ => return burn_ops::conv_forward(conv, x),
    };
    conv2d(
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|b| b.val()),
        ConvOptions::new(conv.stride, padding, conv.dilation, conv.groups),
    )
}

/// `burn::tensor::module::conv2d`; on the CPU training backends (groups 1, dilation 1, with a
/// bias) its backward step takes [`weight_grad`], and [`input_grad`] for layers that narrow the
/// channels at least twofold (burn's input gradient otherwise).
pub fn conv2d<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    options: ConvOptions<2>,
) -> Tensor<B, 4> {
    let [_, _, kh, kw] = weight.dims();
    let plain = options.groups == 1
        && options.dilation == [1, 1]
        && options.padding[0] < kh
        && options.padding[1] < kw;
    match (bias, cpu::<B>()) {
        (Some(bias), Some(Cpu::Flex)) if plain => cast(tracked_conv::<Flex>(
            cast(x),
            cast(weight),
            cast(bias),
            options,
        )),
        (Some(bias), Some(Cpu::NdArray)) if plain => cast(tracked_conv::<NdArray>(
            cast(x),
            cast(weight),
            cast(bias),
            options,
        )),
        (bias, Some(Cpu::Inference)) if plain => forward_gemm(x, weight, bias, &options),
        (bias, _) => burn_ops::conv2d(x, weight, bias, options),
    }
}

/// The CPU backends this module has kernels for: training on flex or ndarray, or either one
/// without autodiff.
pub(super) enum Cpu {
    Flex,
    NdArray,
    Inference,
}

pub(super) fn cpu<B: Backend>() -> Option<Cpu> {
    if is::<B, Autodiff<Flex>>() {
        Some(Cpu::Flex)
    } else if is::<B, Autodiff<NdArray>>() {
        Some(Cpu::NdArray)
    } else if is::<B, Flex>() || is::<B, NdArray>() {
        Some(Cpu::Inference)
    } else {
        None
    }
}

fn is<T: 'static, U: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<U>()
}

/// Move a value between two names of the same type (checked by [`is`] before the call).
pub(super) fn cast<T: 'static, U: 'static>(value: T) -> U {
    *(Box::new(value) as Box<dyn Any>)
        .downcast::<U>()
        .expect("backward: backend types checked before the cast")
}

/// How a layer's weight and input gradients are computed, from its options; the rest of its
/// backward step (checkpointed tensors, the bias gradient) is [`LayerBackward`]'s.
pub(super) trait LayerGrads: Clone + Send + std::fmt::Debug + 'static {
    fn weight_grad<I: Backend>(
        &self,
        x: Tensor<I, 4>,
        weight_dims: [usize; 4],
        grad: Tensor<I, 4>,
    ) -> Tensor<I, 4>;
    fn input_grad<I: Backend>(
        &self,
        x: Tensor<I, 4>,
        weight: Tensor<I, 4>,
        grad: Tensor<I, 4>,
    ) -> Tensor<I, 4>;
}

/// A convolution's gradients.
impl LayerGrads for ConvOptions<2> {
    fn weight_grad<I: Backend>(
        &self,
        x: Tensor<I, 4>,
        weight_dims: [usize; 4],
        grad: Tensor<I, 4>,
    ) -> Tensor<I, 4> {
        weight_grad(x, weight_dims, grad, self)
    }

    fn input_grad<I: Backend>(
        &self,
        x: Tensor<I, 4>,
        weight: Tensor<I, 4>,
        grad: Tensor<I, 4>,
    ) -> Tensor<I, 4> {
        let [cout, cin, _, _] = weight.dims();
        // Phases gather C_out x kh x kw values per input pixel and, for strided layers,
        // compute stride^2 sub-kernels padded to one size: they win for stride 1 unless
        // the layer widens more than twofold, and for any layer that narrows twofold.
        let phases = (self.stride == [1, 1] && cout <= 2 * cin) || cout * 2 <= cin;
        if phases {
            return input_grad(x.dims(), weight, grad, self);
        }
        float(I::conv2d_x_backward(
            x.into_primitive().tensor(),
            weight.into_primitive().tensor(),
            grad.into_primitive().tensor(),
            self.clone(),
        ))
    }
}

/// The backward step of a layer with an input, a weight and a bias, whose options `S` say how
/// the weight and input gradients are computed.
#[derive(Debug)]
struct LayerBackward<S>(PhantomData<S>);

impl<I: Backend, S: LayerGrads> Backward<I, 3> for LayerBackward<S> {
    type State = (NodeId, NodeId, S);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = float::<I, 4>(grads.consume::<I>(&ops.node));
        let (x_state, w_state, layer) = ops.state;
        let x = float::<I, 4>(checkpointer.retrieve_node_output(x_state));
        let weight = float::<I, 4>(checkpointer.retrieve_node_output(w_state));
        if let Some(node) = node_b {
            grads.register::<I>(node.id, bias_grad(grad.clone()).into_primitive().tensor());
        }
        if let Some(node) = node_w {
            let dw = layer.weight_grad(x.clone(), weight.dims(), grad.clone());
            grads.register::<I>(node.id, dw.into_primitive().tensor());
        }
        if let Some(node) = node_x {
            let dx = layer.input_grad(x, weight, grad);
            grads.register::<I>(node.id, dx.into_primitive().tensor());
        }
    }
}

pub(super) fn float<I: Backend, const D: usize>(t: I::FloatTensorPrimitive) -> Tensor<I, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// The convolution on `Autodiff<I>`, its backward through [`LayerBackward`].
fn tracked_conv<I: Backend>(
    x: Tensor<Autodiff<I>, 4>,
    weight: Tensor<Autodiff<I>, 4>,
    bias: Tensor<Autodiff<I>, 1>,
    options: ConvOptions<2>,
) -> Tensor<Autodiff<I>, 4> {
    tracked_step(x, weight, bias, options, |x, w, b, options| {
        forward_gemm(x, w, Some(b), options)
    })
}

/// The adjoint of a one-input op over raw values: (output gradient, its dims, the input's dims)
/// to the input's gradient.
pub(super) type Adjoint = fn(&[f32], [usize; 4], [usize; 4]) -> Vec<f32>;

/// The backward step of a one-input op whose gradient is an [`Adjoint`] over raw values
/// (reflection padding, pooling).
#[derive(Debug)]
struct RawBackward;

impl<I: Backend> Backward<I, 1> for RawBackward {
    type State = (Adjoint, [usize; 4]);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        raw_input_grad::<I, _, 4>(ops, grads, |(adjoint, x_dims), g, g_dims| {
            (adjoint(g, g_dims, x_dims), x_dims)
        });
    }
}

/// The backward of a one-input step computed over raw values (shared by [`RawBackward`],
/// the sort and instance norm): consume the output gradient and, when the input is tracked,
/// register `adjoint(state, gradient values, gradient dims)`, which gives the input
/// gradient's values and dims.
pub(super) fn raw_input_grad<I: Backend, S, const D: usize>(
    ops: Ops<S, 1>,
    grads: &mut Gradients,
    adjoint: impl FnOnce(S, &[f32], [usize; D]) -> (Vec<f32>, [usize; D]),
) {
    let [node_x] = ops.parents;
    let grad = float::<I, D>(grads.consume::<I>(&ops.node));
    if let Some(node) = node_x {
        let (device, g_dims) = (grad.device(), grad.dims());
        let (dx, dims) = with_values(grad, |g| adjoint(ops.state, g, g_dims));
        let dx = Tensor::<I, D>::from_data(TensorData::new(dx, dims), &device);
        grads.register::<I>(node.id, dx.into_primitive().tensor());
    }
}

/// `forward` on the inner tensor of `x`, recorded as one autodiff step whose backward is
/// `adjoint` (or the forward alone when `x` is not tracked).
pub(super) fn tracked_raw<I: Backend>(
    x: Tensor<Autodiff<I>, 4>,
    forward: impl FnOnce(Tensor<I, 4>) -> Tensor<I, 4>,
    adjoint: Adjoint,
) -> Tensor<Autodiff<I>, 4> {
    let x_dims = x.dims();
    let x = x.into_primitive().tensor();
    let run = |x| forward(float::<I, 4>(x)).into_primitive().tensor();
    let out = match RawBackward
        .prepare::<NoCheckpointing>([x.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((adjoint, x_dims), run(x.primitive)),
        OpsKind::UnTracked(prep) => prep.finish(run(x.primitive)),
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

/// `forward` on the inner tensors of a layer's input, weight and bias, recorded as one autodiff
/// step whose backward ([`LayerBackward`]) gets the checkpointed input and weight, and `layer`.
pub(super) fn tracked_step<I, S>(
    x: Tensor<Autodiff<I>, 4>,
    weight: Tensor<Autodiff<I>, 4>,
    bias: Tensor<Autodiff<I>, 1>,
    layer: S,
    forward: impl FnOnce(Tensor<I, 4>, Tensor<I, 4>, Tensor<I, 1>, &S) -> Tensor<I, 4>,
) -> Tensor<Autodiff<I>, 4>
where
    I: Backend,
    S: LayerGrads,
{
    let (x, weight, bias) = (
        x.into_primitive().tensor(),
        weight.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    );
    let nodes = [x.node.clone(), weight.node.clone(), bias.node.clone()];
    let run = |x, weight, bias, layer: &S| {
        forward(float(x), float(weight), float(bias), layer)
            .into_primitive()
            .tensor()
    };
    let out = match LayerBackward::<S>(PhantomData)
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let w_state = prep.checkpoint(&weight);
            let y = run(x.primitive, weight.primitive, bias.primitive, &layer);
            prep.finish((x_state, w_state, layer), y)
        }
        OpsKind::UnTracked(prep) => {
            prep.finish(run(x.primitive, weight.primitive, bias.primitive, &layer))
        }
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

mod gemm_conv;
mod gram;
mod layout;
mod norm;
mod pad;
mod pool;
mod sort;
mod thin;
mod transpose;
mod winograd;

pub use gram::gram;
pub use norm::instance_norm;
pub use pad::{fold_reflection, reflect_pad, reflect_pad_plain};
pub use pool::avg_pool2x2;
pub use sort::sort_rows;
pub use transpose::conv_transpose_forward;
#[cfg(test)]
mod tests;
