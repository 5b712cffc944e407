//! The CycleGAN recipe between two image sets A and B: generators G_AB and G_BA, PatchGAN critics
//! D_A and D_B, LSGAN adversarial + cycle-consistency (L1) + identity (L1) losses, and a history
//! pool of past fakes for the critics. Each step is the generators first (one graph, both
//! directions), then both critics on pooled, detached fakes.

use super::data::{skipped_warnings, Batches, Builtin, ImageBank};
use super::losses::{l1, lsgan};
use super::model::{Discriminator, Generator};
use super::player::Player;
use super::single_style::value;
use super::{checkpoint, render, DeviceLosses, Gan, Knobs, LossSums, Rendered, Snapshot};
use crate::rng::Rng;
use crate::spec::Plan;
use crate::terms::{Knob, Term};
use anyhow::Result;
use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use image::RgbImage;
use std::path::Path;

/// The image pool of Shrivastava et al. / CycleGAN: once full, each new fake is swapped with a
/// stored one half of the time, so the critic also sees older generator outputs.
pub struct FakePool<B: Backend> {
    size: usize,
    images: Vec<Tensor<B, 4>>,
}

impl<B: Backend> FakePool<B> {
    pub fn new(size: usize) -> Self {
        Self {
            size,
            images: Vec::new(),
        }
    }

    /// Detached fakes in, the batch the critic should see out (same shape).
    pub fn query(&mut self, fakes: Tensor<B, 4>, rng: &mut Rng) -> Tensor<B, 4> {
        if self.size == 0 {
            return fakes;
        }
        let n = fakes.dims()[0];
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let img = fakes.clone().narrow(0, i, 1);
            if self.images.len() < self.size {
                self.images.push(img.clone());
                out.push(img);
            } else if rng.bool() {
                let j = rng.below(self.size);
                out.push(std::mem::replace(&mut self.images[j], img));
            } else {
                out.push(img);
            }
        }
        Tensor::cat(out, 0)
    }
}

pub struct CycleGan<B: AutodiffBackend> {
    g_ab: Player<B, Generator<B>>,
    g_ba: Player<B, Generator<B>>,
    d_a: Player<B, Discriminator<B>>,
    d_b: Player<B, Discriminator<B>>,
    pool_a: FakePool<B>,
    pool_b: FakePool<B>,
    a: ImageBank,
    b: ImageBank,
    probes_a: Vec<RgbImage>,
    probes_b: Vec<RgbImage>,
    batches: Batches<B>,
    losses: DeviceLosses<B::InnerBackend>,
}

impl<B: AutodiffBackend> CycleGan<B> {
    pub fn new(plan: &Plan, device: &B::Device) -> Result<(Self, Vec<String>)> {
        let s = &plan.spec;
        let (load, seed) = (s.data.load_size(), s.train.seed);
        let a = ImageBank::load(
            &plan.images_a,
            Builtin::Scenes,
            s.data.builtin_count,
            load,
            seed,
            "data.a",
        )?;
        let set_b = plan
            .images_b
            .as_ref()
            .expect("validated: cyclegan has data.b");
        let b = ImageBank::load(
            set_b,
            Builtin::Paintings,
            s.data.builtin_count,
            load,
            seed,
            "data.b",
        )?;
        let warnings = skipped_warnings(&[&a, &b]);
        let probes_a = a.probes(s.data.probe_count, s.data.probe_size(), seed);
        let probes_b = b.probes(s.data.probe_count, s.data.probe_size(), seed);
        let c = s.data.image_size;
        let gen = || {
            super::warm_up(Generator::new(&s.generator, device), c, device, |m, x| {
                m.forward(x)
            })
        };
        let dis = || {
            super::warm_up(
                Discriminator::new(&s.discriminator, device),
                c,
                device,
                |m, x| m.touch_all(x),
            )
        };
        Ok((
            Self {
                g_ab: Player::new("g_ab", gen(), &s.optim),
                g_ba: Player::new("g_ba", gen(), &s.optim),
                d_a: Player::new("d_a", dis(), &s.optim),
                d_b: Player::new("d_b", dis(), &s.optim),
                pool_a: FakePool::new(s.loss.pool_size),
                pool_b: FakePool::new(s.loss.pool_size),
                a,
                b,
                probes_a,
                probes_b,
                batches: Batches::new(s, device),
                losses: DeviceLosses::default(),
            },
            warnings,
        ))
    }
}

impl<B: AutodiffBackend> Gan for CycleGan<B> {
    fn step(&mut self, rng: &mut Rng, k: &Knobs) {
        let real_a = self.batches.draw(&self.a, rng);
        let real_b = self.batches.draw(&self.b, rng);

        // Generators: both directions in one graph, critics frozen. With the identity loss each
        // generator's first pass takes its fake's input and its identity input as one batch
        // (instance norm is per image, so the values are those of two passes; one set of layer
        // calls for two images runs faster at batch 1).
        let (fake_b, fake_a, same) = if k[Knob::IdentityWeight] > 0.0 {
            let n = real_a.dims()[0];
            let both = |g: &Generator<B>, x: &Tensor<B, 4>, y: &Tensor<B, 4>| {
                let out = g.forward(Tensor::cat(vec![x.clone(), y.clone()], 0));
                (out.clone().narrow(0, 0, n), out.narrow(0, n, n))
            };
            let (fake_b, same_b) = both(&self.g_ab.model, &real_a, &real_b);
            let (fake_a, same_a) = both(&self.g_ba.model, &real_b, &real_a);
            (fake_b, fake_a, Some((same_a, same_b)))
        } else {
            let fake_b = self.g_ab.model.forward(real_a.clone());
            let fake_a = self.g_ba.model.forward(real_b.clone());
            (fake_b, fake_a, None)
        };
        let d_a = self.d_a.model.clone().no_grad();
        let d_b = self.d_b.model.clone().no_grad();
        let adv = lsgan(d_b.scores(fake_b.clone()), 1.0) + lsgan(d_a.scores(fake_a.clone()), 1.0);
        let cycle_a = l1(self.g_ba.model.forward(fake_b.clone()), real_a.clone());
        let cycle_b = l1(self.g_ab.model.forward(fake_a.clone()), real_b.clone());
        let mut total = adv.clone() * k[Knob::AdversarialWeight]
            + (cycle_a.clone() + cycle_b.clone()) * k[Knob::CycleWeight];
        let mut out = Vec::new();
        if let Some((same_a, same_b)) = same {
            let idt_a = l1(same_a, real_a.clone());
            let idt_b = l1(same_b, real_b.clone());
            out.push((Term::IdtA, value(&idt_a)));
            out.push((Term::IdtB, value(&idt_b)));
            total = total + (idt_a + idt_b) * k[Knob::IdentityWeight];
        }
        out.push((Term::GAdv, value(&adv)));
        out.push((Term::CycleA, value(&cycle_a)));
        out.push((Term::CycleB, value(&cycle_b)));
        out.push((Term::GTotal, value(&total)));
        let mut grads = total.backward();
        let (gab, gba) = (self.g_ab.grads(&mut grads), self.g_ba.grads(&mut grads));
        self.g_ab.step(k[Knob::LrG], gab);
        self.g_ba.step(k[Knob::LrG], gba);

        // Critics on pooled, detached fakes.
        let pooled_a = self.pool_a.query(fake_a.detach(), rng);
        let pooled_b = self.pool_b.query(fake_b.detach(), rng);
        let da_real = lsgan(self.d_a.model.scores(real_a), 1.0);
        let da_fake = lsgan(self.d_a.model.scores(pooled_a), 0.0);
        let db_real = lsgan(self.d_b.model.scores(real_b), 1.0);
        let db_fake = lsgan(self.d_b.model.scores(pooled_b), 0.0);
        let d_a_total = (da_real.clone() + da_fake.clone()) * 0.5;
        let d_b_total = (db_real.clone() + db_fake.clone()) * 0.5;
        let (ar, af, br, bf) = (
            value(&da_real),
            value(&da_fake),
            value(&db_real),
            value(&db_fake),
        );
        out.push((Term::DReal, (ar.clone() + br.clone()) / 2.0));
        out.push((Term::DFake, (af.clone() + bf.clone()) / 2.0));
        out.push((Term::DA, (ar + af) / 2.0));
        out.push((Term::DB, (br + bf) / 2.0));
        let d_total = d_a_total + d_b_total;
        out.push((Term::DTotal, value(&d_total)));
        let mut grads = d_total.backward();
        let (ga, gb) = (self.d_a.grads(&mut grads), self.d_b.grads(&mut grads));
        self.d_a.step(k[Knob::LrD], ga);
        self.d_b.step(k[Knob::LrD], gb);
        self.losses.push(out);
    }

    fn losses(&mut self) -> LossSums {
        self.losses.read()
    }

    fn images_per_step(&self) -> usize {
        self.batches.size
    }

    fn render(&self) -> Vec<Rendered> {
        let mut out = render::<B::InnerBackend>(
            &self.g_ab.model.valid(),
            &self.d_b.model.valid(),
            &self.probes_a,
            "a",
            &self.batches.device,
        );
        out.extend(render::<B::InnerBackend>(
            &self.g_ba.model.valid(),
            &self.d_a.model.valid(),
            &self.probes_b,
            "b",
            &self.batches.device,
        ));
        out
    }

    fn snapshot(&self) -> Snapshot {
        checkpoint::all(vec![
            self.g_ab.snapshot(),
            self.g_ba.snapshot(),
            self.d_a.snapshot(),
            self.d_b.snapshot(),
        ])
    }

    fn load(&mut self, dir: &Path) -> Result<()> {
        self.g_ab.load(dir, &self.batches.device)?;
        self.g_ba.load(dir, &self.batches.device)?;
        self.d_a.load(dir, &self.batches.device)?;
        self.d_b.load(dir, &self.batches.device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn pool_fills_then_swaps() {
        let dev = Default::default();
        let mut pool = FakePool::<Flex>::new(2);
        let mut rng = Rng::new(1);
        let batch = |v: f32| Tensor::<Flex, 4>::full([2, 1, 1, 1], v, &dev);
        let first: Vec<f32> = pool
            .query(batch(1.0), &mut rng)
            .into_data()
            .to_vec()
            .unwrap();
        assert_eq!(first, vec![1.0, 1.0]);
        let mut saw_old = false;
        for i in 2..20 {
            let got: Vec<f32> = pool
                .query(batch(i as f32), &mut rng)
                .into_data()
                .to_vec()
                .unwrap();
            saw_old |= got.iter().any(|&v| v < i as f32);
        }
        assert!(saw_old, "a full pool returns older fakes some of the time");
        assert_eq!(pool.images.len(), 2);
    }
}
