//! A player of the two-player game: one network with its own Adam optimizer, stepped from its
//! gradients and saved/loaded (weights and optimizer state) as part of a checkpoint.

use super::checkpoint::Snapshot;
use crate::spec::OptimSpec;
use anyhow::{Context, Result};
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;
use std::path::Path;

type Rec = NamedMpkFileRecorder<FullPrecisionSettings>;

pub struct Player<B: AutodiffBackend, M: AutodiffModule<B>> {
    pub model: M,
    optim: OptimizerAdaptor<Adam, M, B>,
    /// File stem inside a checkpoint directory (`g`, `d`, `g_ab`, ...).
    pub name: &'static str,
}

impl<B: AutodiffBackend, M: AutodiffModule<B>> Player<B, M> {
    pub fn new(name: &'static str, model: M, o: &OptimSpec) -> Self {
        let optim = AdamConfig::new()
            .with_beta_1(o.beta1 as f32)
            .with_beta_2(o.beta2 as f32)
            .with_epsilon(1e-8)
            .init::<B, M>();
        Self { model, optim, name }
    }

    /// Gradients of this player's parameters out of a backward pass.
    pub fn grads(&self, grads: &mut B::Gradients) -> GradientsParams {
        GradientsParams::from_module(grads, &self.model)
    }

    pub fn step(&mut self, lr: f64, grads: GradientsParams) {
        self.model = self.optim.step(lr, self.model.clone(), grads);
    }

    /// The weights and optimizer state as of now (shared tensors, no copy), written as
    /// `<name>.mpk` and `<name>_optim.mpk` (f32 whatever the training precision) by the returned
    /// snapshot.
    pub fn snapshot(&self) -> Snapshot
    where
        M: 'static,
    {
        let model = self.model.clone().into_record();
        let optim = self.optim.to_record();
        let name = self.name;
        Box::new(move |dir: &Path| {
            let rec = Rec::new();
            let path = dir.join(name);
            rec.record(model, path.clone())
                .with_context(|| format!("saving {}", path.display()))?;
            let path = dir.join(format!("{name}_optim"));
            rec.record(optim, path.clone())
                .with_context(|| format!("saving {}", path.display()))?;
            Ok(vec![format!("{name}.mpk"), format!("{name}_optim.mpk")])
        })
    }

    /// Load weights and optimizer state written by [`Player::save`].
    pub fn load(&mut self, dir: &Path, device: &B::Device) -> Result<()> {
        let rec = Rec::new();
        let record = rec
            .load(dir.join(self.name), device)
            .with_context(|| format!("loading {}/{}.mpk", dir.display(), self.name))?;
        self.model = self.model.clone().load_record(record);
        let optim = rec
            .load(dir.join(format!("{}_optim", self.name)), device)
            .with_context(|| format!("loading {}/{}_optim.mpk", dir.display(), self.name))?;
        self.optim = self.optim.clone().load_record(optim);
        Ok(())
    }
}

/// A snapshot of only a model's weights, written as `<name>.mpk` (an averaged generator).
pub fn weights_snapshot<B: burn::tensor::backend::Backend, M: burn::module::Module<B> + 'static>(
    name: &'static str,
    model: M,
) -> Snapshot {
    let record = model.into_record();
    Box::new(move |dir: &Path| {
        let path = dir.join(name);
        Rec::new()
            .record(record, path.clone())
            .with_context(|| format!("saving {}", path.display()))?;
        Ok(vec![format!("{name}.mpk")])
    })
}

/// Load only a model's weights (inference: `stylize`), on any backend.
pub fn load_weights<B: burn::tensor::backend::Backend, M: burn::module::Module<B>>(
    model: M,
    file_stem: &Path,
    device: &B::Device,
) -> Result<M> {
    let record = Rec::new()
        .load(file_stem.to_path_buf(), device)
        .with_context(|| format!("loading {}.mpk", file_stem.display()))?;
    Ok(model.load_record(record))
}

/// Save only a model's weights as `<file_stem>.mpk`, as a checkpoint holds them (imported
/// generators).
pub fn save_weights<B: burn::tensor::backend::Backend, M: burn::module::Module<B>>(
    model: M,
    file_stem: &Path,
) -> Result<()> {
    Rec::new()
        .record(model.into_record(), file_stem.to_path_buf())
        .with_context(|| format!("saving {}.mpk", file_stem.display()))
}
