//! Sorting the last axis of a `[N, K, L]` tensor (the projections of the sliced-Wasserstein
//! style loss) on the CPU backends, forward and backward. flex sorts values with their indices
//! through a comparison closure, and autodiff's backward scatter-adds the gradient through an
//! index tensor; together they were about half of a quickstart step. Here each row is radix
//! sorted on the f32's order-preserving bits (four byte passes, stable), the permutation is
//! kept, and the backward sends each gradient value back to the position it came from.

use super::{cast, cpu, float, raw_input_grad, with_values, Cpu};
use crate::train::model::burn_ops;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, Flex, NdArray};
use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use rayon::prelude::*;

/// `x.sort(2)`: every row of the last axis in ascending order (`f32::total_cmp`'s order).
pub fn sort_rows<B: Backend>(x: Tensor<B, 3>) -> Tensor<B, 3> {
    match cpu::<B>() {
        Some(Cpu::Flex) => cast(tracked_sort::<Flex>(cast(x))),
        Some(Cpu::NdArray) => cast(tracked_sort::<NdArray>(cast(x))),
        Some(Cpu::Inference) => sorted(x, false).0,
        None => burn_ops::sort_rows(x),
    }
}

/// The sorted tensor and, with `keep_perm` (a tracked sort, whose backward needs it), per row
/// the source position of each sorted value; empty otherwise.
fn sorted<B: Backend>(x: Tensor<B, 3>, keep_perm: bool) -> (Tensor<B, 3>, Vec<u32>) {
    let (dims, device) = (x.dims(), x.device());
    let len = dims[2];
    let (values, perm) = with_values(x, |v| {
        let mut values = vec![0.0f32; v.len()];
        let mut perm = vec![0u32; if keep_perm { v.len() } else { 0 }];
        if len > 0 {
            let rows = values.par_chunks_mut(len).zip(v.par_chunks(len));
            if keep_perm {
                rows.zip(perm.par_chunks_mut(len))
                    .for_each(|((out, row), perm)| sort_row(row, out, Some(perm)));
            } else {
                rows.for_each(|(out, row)| sort_row(row, out, None));
            }
        }
        (values, perm)
    });
    (
        Tensor::from_data(TensorData::new(values, dims), &device),
        perm,
    )
}

/// An f32's bits as a u32 that orders like `f32::total_cmp`.
fn key(v: f32) -> u32 {
    let b = v.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// LSD radix sort of `row` by [`key`], one byte per pass; `perm[j]`, when asked for, is where
/// `out[j]` came from.
fn sort_row(row: &[f32], out: &mut [f32], perm: Option<&mut [u32]>) {
    let n = row.len();
    let mut a: Vec<(u32, u32)> = row
        .iter()
        .enumerate()
        .map(|(i, &v)| (key(v), i as u32))
        .collect();
    let mut b = vec![(0u32, 0u32); n];
    for shift in [0u32, 8, 16, 24] {
        let mut count = [0usize; 256];
        for &(k, _) in &a {
            count[(k >> shift) as usize & 255] += 1;
        }
        // A byte that every key shares leaves the order as it is.
        if count.contains(&n) {
            continue;
        }
        let mut start = 0;
        for c in count.iter_mut() {
            let here = *c;
            *c = start;
            start += here;
        }
        for &(k, i) in &a {
            let slot = &mut count[(k >> shift) as usize & 255];
            b[*slot] = (k, i);
            *slot += 1;
        }
        std::mem::swap(&mut a, &mut b);
    }
    for (o, &(_, i)) in out.iter_mut().zip(&a) {
        *o = row[i as usize];
    }
    if let Some(perm) = perm {
        for (p, &(_, i)) in perm.iter_mut().zip(&a) {
            *p = i;
        }
    }
}

#[derive(Debug)]
struct SortBackward;

impl<I: Backend> Backward<I, 1> for SortBackward {
    /// The permutation of every row, and the tensor's dims.
    type State = (Vec<u32>, [usize; 3]);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        raw_input_grad::<I, _, 3>(ops, grads, |(perm, dims), g, _| {
            let len = dims[2];
            let mut dx = vec![0.0f32; g.len()];
            if len > 0 {
                dx.par_chunks_mut(len)
                    .zip(g.par_chunks(len))
                    .zip(perm.par_chunks(len))
                    .for_each(|((dx, g), perm)| {
                        for (&p, &v) in perm.iter().zip(g) {
                            dx[p as usize] = v;
                        }
                    });
            }
            (dx, dims)
        });
    }
}

/// [`sorted`] on the inner tensor, recorded as one autodiff step ([`SortBackward`]).
fn tracked_sort<I: Backend>(x: Tensor<Autodiff<I>, 3>) -> Tensor<Autodiff<I>, 3> {
    let dims = x.dims();
    let x = x.into_primitive().tensor();
    let out = match SortBackward
        .prepare::<NoCheckpointing>([x.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (y, perm) = sorted(float::<I, 3>(x.primitive), true);
            prep.finish((perm, dims), y.into_primitive().tensor())
        }
        OpsKind::UnTracked(prep) => {
            let (y, _) = sorted(float::<I, 3>(x.primitive), false);
            prep.finish(y.into_primitive().tensor())
        }
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    /// Values and gradients equal burn's `sort`, with ties, signed zeros and negatives.
    #[test]
    fn radix_sort_matches_burn() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        let mut v: Vec<f32> =
            Tensor::<Flex, 3>::random([2, 3, 37], Distribution::Normal(0.0, 3.0), &dev)
                .into_data()
                .to_vec()
                .unwrap();
        v[5] = v[6];
        v[40] = -0.0;
        v[41] = 0.0;
        v[42] = -1e-30;
        let x0 = Tensor::<A, 3>::from_data(TensorData::new(v, [2, 3, 37]), &dev);
        let weights = Tensor::<A, 3>::random([2, 3, 37], Distribution::Default, &dev);
        let run = |sort: &dyn Fn(Tensor<A, 3>) -> Tensor<A, 3>| {
            let x = x0.clone().detach().require_grad();
            let y = sort(x.clone());
            let grads = (y.clone() * weights.clone()).sum().backward();
            (y.into_data(), x.grad(&grads).expect("gradient").into_data())
        };
        let (y, dx) = run(&|x| sort_rows(x));
        let (y_burn, dx_burn) = run(&|x| x.sort(2));
        y.assert_eq(&y_burn, true);
        // Tied values may take each other's gradient; their sums per tie are the same.
        let (a, b): (Vec<f32>, Vec<f32>) = (dx.to_vec().unwrap(), dx_burn.to_vec().unwrap());
        let xs: Vec<f32> = x0.clone().into_data().to_vec().unwrap();
        for (i, (p, q)) in a.iter().zip(&b).enumerate() {
            if i != 5 && i != 6 {
                assert_eq!(p, q, "element {i} ({})", xs[i]);
            }
        }
        assert!((a[5] + a[6] - b[5] - b[6]).abs() < 1e-6);
        sort_rows(x0.inner()).into_data().assert_eq(&y_burn, true);
    }

    #[test]
    fn rows_longer_than_a_byte_and_constant_rows_sort() {
        let dev = Default::default();
        let x = Tensor::<Flex, 3>::random([1, 2, 1000], Distribution::Uniform(-5.0, 5.0), &dev);
        let x = Tensor::cat(vec![x, Tensor::full([1, 1, 1000], 2.5, &dev)], 1);
        sort_rows(x.clone())
            .into_data()
            .assert_eq(&x.sort(2).into_data(), true);
    }
}
