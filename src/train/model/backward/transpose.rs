//! Transposed convolutions (`ConvTranspose2d`, the reference generator's upsampling) on the CPU
//! backends. A transposed convolution is the input gradient of the convolution with the same
//! weight, stride and padding, so each of its three passes is a kernel that already exists here:
//!
//! - forward: that input gradient, by phases ([`transposed_by_phases`]), where flex scatters
//!   columns (col2im) on one thread;
//! - input gradient: the convolution itself ([`forward_gemm`]);
//! - weight gradient: the convolution's weight gradient with the roles of input and output
//!   gradient swapped ([`weight_grad`]); the bias gradient as for a convolution ([`bias_grad`]).
//!
//! Under autodiff the three run as one tracked step ([`ConvTransposeBackward`]), so the backward
//! pass does not walk through the phase form's permutes and slices. CUDA and grouped or dilated
//! layers take burn's `conv_transpose2d`.

use super::{bias_grad, cast, cpu, float, forward_gemm, transposed_by_phases, weight_grad, Cpu};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::{Autodiff, Flex, NdArray};
use burn::nn::conv::ConvTranspose2d;
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;
use burn::tensor::TensorPrimitive;

/// `t.forward(x)`, through atelier's kernels on the CPU backends (see the module docs).
pub fn conv_transpose_forward<B: Backend>(t: &ConvTranspose2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let plain = t.groups == 1
        && t.dilation == [1, 1]
        && (0..2).all(|i| t.padding_out[i] < t.stride[i] && t.padding[i] < t.weight.dims()[2 + i]);
    let Some(bias) = t.bias.as_ref().map(|b| b.val()).filter(|_| plain) else {
        return t.forward(x);
    };
    let [n, _, h, w] = x.dims();
    let [_, cout, kh, kw] = t.weight.dims();
    let len = |i: usize, len: usize, k: usize| {
        (len - 1) * t.stride[i] + k + t.padding_out[i] - 2 * t.padding[i]
    };
    let shape = Shape {
        out: [n, cout, len(0, h, kh), len(1, w, kw)],
        options: ConvOptions::new(t.stride, t.padding, [1, 1], 1),
    };
    let weight = t.weight.val();
    match cpu::<B>() {
        Some(Cpu::Flex) => cast(tracked::<Flex>(cast(x), cast(weight), cast(bias), shape)),
        Some(Cpu::NdArray) => cast(tracked::<NdArray>(cast(x), cast(weight), cast(bias), shape)),
        Some(Cpu::Inference) => {
            transposed_by_phases(x, weight, Some(bias), shape.out, &shape.options)
        }
        None => t.forward(x),
    }
}

/// The output dims of a transposed convolution and the options of the convolution it undoes.
#[derive(Debug, Clone)]
struct Shape {
    out: [usize; 4],
    options: ConvOptions<2>,
}

#[derive(Debug)]
struct ConvTransposeBackward;

impl<I: Backend> Backward<I, 3> for ConvTransposeBackward {
    type State = (NodeId, NodeId, Shape);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = float::<I, 4>(grads.consume::<I>(&ops.node));
        let (x_state, w_state, shape) = ops.state;
        let x = float::<I, 4>(checkpointer.retrieve_node_output(x_state));
        let weight = float::<I, 4>(checkpointer.retrieve_node_output(w_state));
        if let Some(node) = node_b {
            grads.register::<I>(node.id, bias_grad(grad.clone()).into_primitive().tensor());
        }
        if let Some(node) = node_w {
            // The convolution undone maps `grad`'s shape to `x`'s with this weight: its weight
            // gradient, with `grad` as input and `x` as output gradient, is this one's.
            let dw = weight_grad(grad.clone(), weight.dims(), x, &shape.options);
            grads.register::<I>(node.id, dw.into_primitive().tensor());
        }
        if let Some(node) = node_x {
            let dx = forward_gemm(grad, weight, None, &shape.options);
            grads.register::<I>(node.id, dx.into_primitive().tensor());
        }
    }
}

/// The transposed convolution on `Autodiff<I>` with [`ConvTransposeBackward`] as its backward.
fn tracked<I: Backend>(
    x: Tensor<Autodiff<I>, 4>,
    weight: Tensor<Autodiff<I>, 4>,
    bias: Tensor<Autodiff<I>, 1>,
    shape: Shape,
) -> Tensor<Autodiff<I>, 4> {
    let (x, weight, bias) = (
        x.into_primitive().tensor(),
        weight.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    );
    let nodes = [x.node.clone(), weight.node.clone(), bias.node.clone()];
    let forward = |x, weight, bias, shape: &Shape| {
        transposed_by_phases(
            float::<I, 4>(x),
            float(weight),
            Some(float(bias)),
            shape.out,
            &shape.options,
        )
        .into_primitive()
        .tensor()
    };
    let out = match ConvTransposeBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let w_state = prep.checkpoint(&weight);
            let y = forward(x.primitive, weight.primitive, bias.primitive, &shape);
            prep.finish((x_state, w_state, shape), y)
        }
        OpsKind::UnTracked(prep) => {
            let y = forward(x.primitive, weight.primitive, bias.primitive, &shape);
            prep.finish(y)
        }
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}
