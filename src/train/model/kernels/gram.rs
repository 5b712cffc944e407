//! Gram matrices of feature maps (the style loss's statistic) with a backward step of one
//! product on the CPU backends. Written with burn's ops, `F F^T` sends half of its gradient
//! through the transpose: a strided view that flex then adds onto the other half element by
//! element on one thread (a serial 2% of a single_style step). Here the gradient is
//! `(G' + G'^T) F / (C H W)` in one batched matrix product, contiguous.

use super::{cast, cpu, float, Cpu};
use crate::train::model::burn_ops;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::{Autodiff, Flex, NdArray};
use burn::prelude::*;
use burn::tensor::TensorPrimitive;

/// Gram matrices `[N, C, C]` of feature maps `[N, C, H, W]`, normalised by C*H*W as in the
/// PyTorch reference.
pub fn gram<B: Backend>(f: Tensor<B, 4>) -> Tensor<B, 3> {
    match cpu::<B>() {
        Some(Cpu::Flex) => cast(tracked_gram::<Flex>(cast(f))),
        Some(Cpu::NdArray) => cast(tracked_gram::<NdArray>(cast(f))),
        _ => burn_ops::gram(f),
    }
}

#[derive(Debug)]
struct GramBackward;

impl<I: Backend> Backward<I, 1> for GramBackward {
    type State = NodeId;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_f] = ops.parents;
        let grad = float::<I, 3>(grads.consume::<I>(&ops.node));
        if let Some(node) = node_f {
            let f = float::<I, 4>(checkpointer.retrieve_node_output(ops.state));
            let [n, c, h, w] = f.dims();
            // d/dF of F F^T / s, given G': (G' + G'^T) F / s.
            let sym = grad.clone() + grad.swap_dims(1, 2);
            let df =
                (sym.matmul(f.reshape([n, c, h * w])) / ((c * h * w) as f32)).reshape([n, c, h, w]);
            grads.register::<I>(node.id, df.into_primitive().tensor());
        }
    }
}

/// burn's Gram matrices on the inner tensors, recorded as one autodiff step ([`GramBackward`]).
fn tracked_gram<I: Backend>(f: Tensor<Autodiff<I>, 4>) -> Tensor<Autodiff<I>, 3> {
    let f = f.into_primitive().tensor();
    let forward = |f| burn_ops::gram(float::<I, 4>(f)).into_primitive().tensor();
    let out = match GramBackward
        .prepare::<NoCheckpointing>([f.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let state = prep.checkpoint(&f);
            prep.finish(state, forward(f.primitive))
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(f.primitive)),
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    /// Values and gradients of the tracked Gram equal those of burn's ops, for a loss whose
    /// gradient `G'` is not symmetric.
    #[test]
    fn tracked_gram_matches_burn_ops() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        let f0 = Tensor::<A, 4>::random([2, 3, 5, 4], Distribution::Normal(0.0, 1.0), &dev);
        let weights = Tensor::<A, 3>::random([2, 3, 3], Distribution::Normal(0.0, 1.0), &dev);
        let run = |g: fn(Tensor<A, 4>) -> Tensor<A, 3>| {
            let f = f0.clone().detach().require_grad();
            let gm = g(f.clone());
            let loss = (gm.clone() * weights.clone()).sum();
            let grads = loss.backward();
            (
                gm.into_data(),
                f.grad(&grads).expect("gradient").into_data(),
            )
        };
        let (g_ours, d_ours) = run(gram::<A>);
        let (g_burn, d_burn) = run(burn_ops::gram::<A>);
        g_ours.assert_approx_eq::<f32>(&g_burn, Default::default());
        d_ours.assert_approx_eq::<f32>(&d_burn, Default::default());
        assert!(d_ours.iter::<f32>().any(|v| v.abs() > 1e-3));
    }
}
