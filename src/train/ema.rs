//! An exponential moving average of the generator's weights (`train.ema`, single_style): after
//! every step, `ema = decay * ema + (1 - decay) * g`. A GAN's generator never settles: its
//! outputs swing from checkpoint to checkpoint with the critic (the starry recipe's style gain
//! moved by 0.3 between its last three checkpoints, docs/quality.md), while the average of its
//! recent weights paints the look they share (Yazıcı et al., "The unusual effectiveness of
//! averaging in GAN training", ICLR 2019; every StyleGAN ships its averaged generator).
//!
//! The average is what the run shows and gives: the probes are rendered with it, and a
//! checkpoint stores it as `g_ema.mpk` beside the live `g.mpk` (which training resumes from), so
//! `stylize`, the look view, `distill` and `export` load it where it exists
//! ([`crate::stylize::load_generator`]). Early on the decay is capped at `(1 + n) / (10 + n)`
//! after `n` updates, so the average does not drag the random initialisation along.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

/// The averaged copy of a module on a non-autodiff backend.
pub struct Ema<M> {
    pub model: M,
    decay: f32,
    updates: u64,
}

impl<M> Ema<M> {
    /// Start the average at `model` (a new run's initial weights, or a resumed run's average).
    pub fn new(model: M, decay: f64) -> Self {
        Self {
            model,
            decay: decay as f32,
            updates: 0,
        }
    }

    /// Restart from a checkpoint: at its average (`averaged`), which goes on at the full decay,
    /// or at its generator (a checkpoint from before `train.ema` was set), as a new run does.
    pub fn restart(&mut self, model: M, averaged: bool) {
        self.model = model;
        self.updates = if averaged { u64::from(u32::MAX) } else { 0 };
    }

    /// Move the average toward `live`, a module of the same shape (the generator after its step).
    pub fn update<B: Backend>(&mut self, live: &M)
    where
        M: Module<B>,
    {
        let n = self.updates as f32;
        let decay = self.decay.min((1.0 + n) / (10.0 + n));
        self.updates += 1;
        let mut weights = Weights(Vec::new());
        live.visit(&mut weights);
        let mut blend = Blend {
            live: weights.0.into_iter(),
            decay,
        };
        self.model = self.model.clone().map(&mut blend);
        assert!(
            blend.live.next().is_none(),
            "the average and the generator have the same parameters"
        );
    }
}

/// A module's float parameters in visiting order, flattened.
struct Weights<B: Backend>(Vec<Tensor<B, 1>>);

impl<B: Backend> ModuleVisitor<B> for Weights<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.0.push(t.reshape([n]));
    }
}

/// Each parameter blended with the live one at the same position.
struct Blend<B: Backend> {
    live: std::vec::IntoIter<Tensor<B, 1>>,
    decay: f32,
}

impl<B: Backend> ModuleMapper<B> for Blend<B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, t, mapper) = param.consume();
        let live = self
            .live
            .next()
            .expect("the average and the generator have the same parameters")
            .reshape(t.shape());
        let v = t * self.decay + live * (1.0 - self.decay);
        Param::from_mapped_value(id, v, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::nn::{Linear, LinearConfig};

    fn weight(m: &Linear<Flex>) -> Vec<f32> {
        m.weight.val().into_data().to_vec().unwrap()
    }

    fn bias(m: &Linear<Flex>) -> Vec<f32> {
        m.bias.as_ref().unwrap().val().into_data().to_vec().unwrap()
    }

    #[test]
    fn the_average_moves_toward_the_live_weights_by_the_capped_decay() {
        let dev = Default::default();
        let start = LinearConfig::new(2, 2).init::<Flex>(&dev);
        // Parameters initialise lazily, each copy on its own: fix the values before copying.
        let (w0, b0) = (weight(&start), bias(&start));
        let live = start.clone().map(&mut Blend {
            live: vec![Tensor::<Flex, 1>::ones([4], &dev), Tensor::ones([2], &dev)].into_iter(),
            decay: 0.0,
        });
        assert_eq!((weight(&live), bias(&live)), (vec![1.0; 4], vec![1.0; 2]));
        let near = |got: Vec<f32>, from: &[f32], decay: f32| {
            for (a, s) in got.iter().zip(from) {
                let want = decay * s + (1.0 - decay);
                assert!((a - want).abs() < 1e-6, "{a}: want {want} from {s}");
            }
        };
        // First update: the decay is capped at 1/10, so the average takes 90% of the live weights.
        let mut ema = Ema::new(start.clone(), 0.99);
        ema.update(&live);
        near(weight(&ema.model), &w0, 0.1);
        near(bias(&ema.model), &b0, 0.1);
        // Restarted from an average, it goes on at the decay itself: 1% of the way per step.
        let mut ema = Ema::new(live.clone(), 0.99);
        ema.restart(start.clone(), true);
        ema.update(&live);
        near(weight(&ema.model), &w0, 0.99);
        near(bias(&ema.model), &b0, 0.99);
        // The live module is untouched.
        assert_eq!(weight(&live), vec![1.0; 4]);
    }
}
