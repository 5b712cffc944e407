//! The single_style recipe: one feed-forward generator G (content -> stylized) against a PatchGAN
//! D that sees random crops of the ONE style image as real. G's loss is adversarial (LSGAN, over
//! the critic's scales) + content (feature MSE on the last tap) + style (Gram MSE on every tap) +
//! optional sliced-Wasserstein style term (against the step's style crops) and total variation;
//! `loss.normalize` makes the feature terms relative to their targets. Each step is G first (its
//! own forward graph), then D on the detached fakes. With `steer.favored_fraction > 0`, outputs
//! the user favoured join D's real batch (see `favored`).

use super::color::ColorTerm;
use super::data::{skipped_warnings, Batches, Builtin, ImageBank};
use super::ema::Ema;
use super::favored::FavoredPool;
use super::losses::{self, lsgan};
use super::model::{ops, Discriminator, FeatureNet, Generator};
use super::player::Player;
use super::weave::WeaveTerm;
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

pub struct SingleStyle<B: AutodiffBackend> {
    g: Player<B, Generator<B>>,
    d: Player<B, Discriminator<B>>,
    features: FeatureNet<B>,
    /// The painting's Gram matrices per level, for each turn of the loss frame (one without
    /// `features.rotate`, eight with it: see [`losses::dihedral`]).
    style_grams: Vec<Vec<Tensor<B, 3>>>,
    /// Per-layer factors of the Gram loss (1, or 1 / the target's mean square with
    /// `loss.normalize`), per turn.
    gram_scales: Vec<Vec<f32>>,
    /// `features.softmax_temperature` (0 = off).
    softmax: f32,
    /// Draws the turn of each step's loss frame with `features.rotate` (its own stream).
    frame_rng: Option<Rng>,
    color: ColorTerm,
    weave: WeaveTerm<B>,
    /// The painting's fine-detail spectrum, the target of `loss.spectrum_weight` (the weave
    /// term's windows over fixed random crops of the style image).
    spectrum_target: Tensor<B, 1>,
    /// The same for the colour's fine detail (`loss.chroma_spectrum_weight`).
    chroma_target: Tensor<B, 1>,
    /// The painting's local stroke coherence (`loss.flow_weight`), over the same crops.
    coherence_target: Tensor<B, 1>,
    normalize: bool,
    swd_directions: usize,
    /// Its own stream, so runs without the SWD loss draw exactly what they drew before.
    swd_rng: Rng,
    /// The stroke terms' band (`loss.stroke_weight`, `distill.stroke_weight`): the blur sigma
    /// and patch side of the high-pass patches `atelier eval`'s texture gain compares.
    stroke_band: (f32, usize),
    /// The directions of `loss.stroke_weight` (its own stream, as `swd_rng`).
    stroke_rng: Rng,
    content: ImageBank,
    style: ImageBank,
    probes: Vec<RgbImage>,
    batches: Batches<B>,
    favored: FavoredPool<B>,
    losses: DeviceLosses<B::InnerBackend>,
    /// A distilled run's teacher (frozen, on the inner backend) and its loss weights.
    teacher: Option<Teacher<B::InnerBackend>>,
    /// `train.ema`: the average of G's weights, which renders the probes and is saved beside G.
    ema: Option<Ema<Generator<B::InnerBackend>>>,
}

/// A distilled run's frozen teacher and the weights of the distances to its output.
struct Teacher<B: Backend> {
    g: Generator<B>,
    weights: DistillWeights,
}

/// `[distill]`'s weights, as the step uses them.
#[derive(Clone, Copy)]
struct DistillWeights {
    /// `distill.pixel_weight`: the L1 between the outputs...
    pixel: f32,
    /// ...blurred first by this sigma (`distill.pixel_blur`, 0 = none).
    pixel_blur: f32,
    /// `distill.feature_weight`: the distance between the outputs' features at every tap.
    features: f32,
    /// `distill.stroke_weight`: the distance between their high-pass patch distributions.
    strokes: f32,
}

impl<B: AutodiffBackend> SingleStyle<B> {
    pub fn new(plan: &Plan, device: &B::Device) -> Result<(Self, Vec<String>)> {
        let s = &plan.spec;
        let crop = s.data.image_size as u32;
        let content = ImageBank::load(
            &plan.images_a,
            Builtin::Scenes,
            s.data.builtin_count,
            s.data.load_size(),
            s.train.seed,
            "data.content",
        )?;
        let style_src = plan
            .style
            .as_ref()
            .expect("validated: single_style has a style");
        let style_img = super::data::load_style(
            style_src,
            s.data.style_size,
            s.data.image_size,
            s.train.seed,
        )?;
        let style = ImageBank {
            images: vec![style_img],
            skipped: Vec::new(),
        };
        let warnings = skipped_warnings(&[&content]);
        let probes = content.probes(s.data.probe_count, s.data.probe_size(), s.train.seed);
        let features = FeatureNet::<B>::new(&s.features, device)?;

        // Style targets: Gram matrices averaged over 8 fixed random crops of the style image,
        // for each turn of the loss frame.
        let crops = style.fixed_crops::<B>(s.train.seed, "style-grams", 8, crop, device);
        let softmax = s.features.softmax_temperature as f32;
        let turns = if s.features.rotate { 8 } else { 1 };
        let style_grams: Vec<Vec<Tensor<B, 3>>> = (0..turns)
            .map(|k| {
                features
                    .forward(losses::dihedral(crops.clone(), k))
                    .into_iter()
                    .map(|f| {
                        losses::gram(losses::softmax_view(f, softmax))
                            .mean_dim(0)
                            .detach()
                    })
                    .collect()
            })
            .collect();
        let gram_scales = style_grams
            .iter()
            .map(|turn| {
                turn.iter()
                    .map(|t| {
                        if s.loss.normalize {
                            losses::gram_scale(t)
                        } else {
                            1.0
                        }
                    })
                    .collect()
            })
            .collect();
        let color = ColorTerm::new(&s.loss, &style.images[0], s.train.seed);
        let weave = WeaveTerm::new(device);
        let spectrum_crops =
            style.fixed_crops::<B>(s.train.seed, "style-spectrum", 32, crop, device);
        // The painting's spread over scales, not its strokes' directions (`isotropic`).
        let spectrum_target = weave
            .isotropic(weave.spectrum(&weave.spectra(spectrum_crops.clone())))
            .detach();
        let chroma_target = weave
            .isotropic(weave.spectrum(&weave.chroma_spectra(spectrum_crops.clone())))
            .detach();
        let coherence_target = super::coherence::local_coherence(spectrum_crops).detach();

        let g = super::warm_up(
            Generator::new(&s.generator, device).with_palette_of(&style.images[0], device),
            crop as usize,
            device,
            |m, x| m.forward(x),
        );
        let d = super::warm_up(
            Discriminator::new(&s.discriminator, device),
            crop as usize,
            device,
            |m, x| m.touch_all(x),
        );
        let teacher = match &s.distill {
            Some(d) => Some(Teacher {
                g: teacher::<B::InnerBackend>(d, device)?,
                weights: DistillWeights {
                    pixel: d.pixel_weight as f32,
                    pixel_blur: d.pixel_blur as f32,
                    features: d.feature_weight as f32,
                    strokes: d.stroke_weight as f32,
                },
            }),
            None => None,
        };
        let ema = (s.train.ema > 0.0).then(|| Ema::new(g.valid(), s.train.ema));
        Ok((
            Self {
                teacher,
                ema,
                g: Player::new("g", g, &s.optim),
                d: Player::new("d", d, &s.optim),
                features,
                style_grams,
                gram_scales,
                softmax,
                frame_rng: s
                    .features
                    .rotate
                    .then(|| Rng::stream(s.train.seed, "loss-frame")),
                color,
                weave,
                spectrum_target,
                chroma_target,
                coherence_target,
                normalize: s.loss.normalize,
                swd_directions: s.loss.swd_directions,
                swd_rng: Rng::stream(s.train.seed, "swd-directions"),
                stroke_band: {
                    let eval = crate::eval::EvalOptions::default();
                    (eval.blur_sigma, eval.patch as usize)
                },
                stroke_rng: Rng::stream(s.train.seed, "stroke-directions"),
                content,
                style,
                probes,
                batches: Batches::new(s, device),
                favored: FavoredPool::new(s.steer.favored_fraction, crop),
                losses: DeviceLosses::default(),
            },
            warnings,
        ))
    }
}

impl<B: AutodiffBackend> Gan for SingleStyle<B> {
    fn step(&mut self, rng: &mut Rng, k: &Knobs) {
        let content = self.batches.draw_content(&self.content, rng);
        let style = self.batches.draw(&self.style, rng);

        // Generator step: D is frozen (no parameter gradients), gradients flow through it.
        let fake = self.g.model.forward_training(content.clone(), rng);
        // Distillation: the frozen teacher's output on the same batch is a target.
        let distill = self.teacher.as_ref().map(|t| {
            let target = Tensor::<B, 4>::from_inner(t.g.forward_crops(content.clone().inner()));
            (target, t.weights)
        });
        let d_frozen = self.d.model.clone().no_grad();
        let adv = lsgan(d_frozen.scores(fake.clone()), 1.0);
        // The feature losses' frame: turned as a whole (output, photo, style crops) by one of
        // the square's symmetries with `features.rotate`.
        let turn = self.frame_rng.as_mut().map_or(0, |r| r.below(8));
        let fake_feats = self.features.forward(losses::dihedral(fake.clone(), turn));
        // The teacher's strokes, not only its colours: its output's features at every tap are a
        // target too (the pixel L1 alone settles on their average, a smoother picture).
        let distill_features =
            distill
                .as_ref()
                .filter(|(_, w)| w.features > 0.0)
                .map(|(target, w)| {
                    let targets = self
                        .features
                        .forward(losses::dihedral(target.clone(), turn));
                    let l = fake_feats
                        .iter()
                        .zip(targets)
                        .map(|(f, t)| losses::content(f.clone(), t.detach(), self.normalize))
                        .reduce(|a, b| a + b)
                        .expect("feature net has at least one tap");
                    (l, w.features)
                });
        // The strokes' flow is read against the photo before the loss frame turns it.
        let flow = (k[Knob::FlowWeight] > 0.0).then(|| {
            super::coherence::flow_loss(
                fake.clone(),
                content.clone(),
                self.coherence_target.clone(),
            )
        });
        let content_target = self
            .features
            .forward(losses::dihedral(content, turn))
            .pop()
            .expect("one tap")
            .detach();
        let content_l = losses::content(
            fake_feats.last().expect("one tap").clone(),
            content_target,
            self.normalize,
        );
        let t = self.softmax;
        let fake_feats: Vec<Tensor<B, 4>> = fake_feats
            .into_iter()
            .map(|f| losses::softmax_view(f, t))
            .collect();
        let style_l = losses::style(
            &fake_feats,
            &self.style_grams[turn],
            &self.gram_scales[turn],
        );
        let mut total = adv.clone() * k[Knob::AdversarialWeight]
            + content_l.clone() * k[Knob::ContentWeight]
            + style_l.clone() * k[Knob::StyleWeight];
        let mut out = Vec::new();
        if k[Knob::SwdWeight] > 0.0 {
            // The style crops of this step (the critic's real batch) are the SWD targets.
            let targets = self
                .features
                .forward(losses::dihedral(style.clone(), turn))
                .into_iter()
                .map(|f| losses::softmax_view(f, t));
            let swd = fake_feats
                .iter()
                .zip(targets)
                .map(|(f, t)| {
                    let c = f.dims()[1];
                    let dirs = losses::random_directions(
                        &mut self.swd_rng,
                        self.swd_directions,
                        c,
                        &self.batches.device,
                    );
                    losses::sliced_wasserstein(f.clone(), t, dirs, self.normalize)
                })
                .reduce(|a, b| a + b)
                .expect("feature net has at least one tap");
            out.push((Term::Swd, value(&swd)));
            total = total + swd * k[Knob::SwdWeight];
        }
        if k[Knob::ColorWeight] > 0.0 {
            // The palette: the RGB values of output and painting as two distributions.
            let color = self.color.loss(fake.clone(), style.clone());
            out.push((Term::Color, value(&color)));
            total = total + color * k[Knob::ColorWeight];
        }
        if let Some((target, w)) = distill {
            if w.strokes > 0.0 {
                let strokes = stroke_distance(
                    fake.clone(),
                    target.clone(),
                    self.stroke_band,
                    &mut self.swd_rng,
                    self.swd_directions,
                    self.normalize,
                );
                out.push((Term::DistillStrokes, value(&strokes)));
                total = total + strokes * w.strokes;
            }
            let [fake_l, target_l] =
                [fake.clone(), target].map(|x| ops::gaussian_blur(x, w.pixel_blur));
            let l1 = losses::l1(fake_l, target_l);
            out.push((Term::Distill, value(&l1)));
            total = total + l1 * w.pixel;
        }
        if let Some((l, w)) = distill_features {
            out.push((Term::DistillFeatures, value(&l)));
            total = total + l * w;
        }
        // The weave and spectrum terms read the same windows' spectra.
        let spectra = (k[Knob::WeaveWeight] > 0.0 || k[Knob::SpectrumWeight] > 0.0)
            .then(|| self.weave.spectra(fake.clone()));
        if let Some(spectra) = spectra.as_ref().filter(|_| k[Knob::WeaveWeight] > 0.0) {
            let weave = self.weave.loss(spectra);
            out.push((Term::Weave, value(&weave)));
            total = total + weave * k[Knob::WeaveWeight];
        }
        if let Some(spectra) = spectra.as_ref().filter(|_| k[Knob::SpectrumWeight] > 0.0) {
            let spectrum = self
                .weave
                .spectrum_loss(spectra, self.spectrum_target.clone());
            out.push((Term::Spectrum, value(&spectrum)));
            total = total + spectrum * k[Knob::SpectrumWeight];
        }
        if k[Knob::ChromaSpectrumWeight] > 0.0 {
            let chroma = self.weave.spectrum_loss(
                &self.weave.chroma_spectra(fake.clone()),
                self.chroma_target.clone(),
            );
            out.push((Term::ChromaSpectrum, value(&chroma)));
            total = total + chroma * k[Knob::ChromaSpectrumWeight];
        }
        if let Some(flow) = flow {
            out.push((Term::Flow, value(&flow)));
            total = total + flow * k[Knob::FlowWeight];
        }
        if k[Knob::StrokeWeight] > 0.0 {
            // The painting's strokes: each output crop's high-pass patches against those of its
            // paired style crop (the critic's real batch).
            let strokes = stroke_distance(
                fake.clone(),
                style.clone(),
                self.stroke_band,
                &mut self.stroke_rng,
                self.swd_directions,
                self.normalize,
            );
            out.push((Term::Strokes, value(&strokes)));
            total = total + strokes * k[Knob::StrokeWeight];
        }
        if k[Knob::TvWeight] > 0.0 {
            let tv = losses::total_variation(fake.clone());
            out.push((Term::Tv, value(&tv)));
            total = total + tv * k[Knob::TvWeight];
        }
        out.push((Term::GAdv, value(&adv)));
        out.push((Term::Content, value(&content_l)));
        out.push((Term::Style, value(&style_l)));
        out.push((Term::GTotal, value(&total)));
        let mut grads = total.backward();
        let gp = self.g.grads(&mut grads);
        self.g.step(k[Knob::LrG], gp);
        if let Some(ema) = &mut self.ema {
            ema.update(&self.g.model.valid());
        }

        // Discriminator step on the detached fakes; favoured outputs may stand in for real crops.
        let (style, share) = self.favored.mix(style, rng, self.batches.flip);
        if self.favored.enabled() {
            self.losses.push_host(Term::FavoredShare, share);
        }
        let real = lsgan(self.d.model.scores(style), 1.0);
        let fake_l = lsgan(self.d.model.scores(fake.detach()), 0.0);
        let d_total = (real.clone() + fake_l.clone()) * 0.5;
        out.push((Term::DReal, value(&real)));
        out.push((Term::DFake, value(&fake_l)));
        out.push((Term::DTotal, value(&d_total)));
        let mut grads = d_total.backward();
        let dp = self.d.grads(&mut grads);
        self.d.step(k[Knob::LrD], dp);
        self.losses.push(out);
    }

    fn losses(&mut self) -> LossSums {
        self.losses.read()
    }

    fn images_per_step(&self) -> usize {
        self.batches.size
    }

    fn render(&self) -> Vec<Rendered> {
        let g = match &self.ema {
            Some(ema) => ema.model.clone(),
            None => self.g.model.valid(),
        };
        let d = self.d.model.valid();
        render::<B::InnerBackend>(&g, &d, &self.probes, "content", &self.batches.device)
    }

    fn style_image(&self) -> Option<&RgbImage> {
        self.style.images.first()
    }

    fn render_teacher(&self) -> Vec<super::TeacherRender> {
        match &self.teacher {
            Some(t) => super::render_generator::<B::InnerBackend>(
                &t.g,
                &self.probes,
                "content",
                &self.batches.device,
            ),
            None => Vec::new(),
        }
    }

    fn snapshot(&self) -> Snapshot {
        let mut parts = vec![
            self.g.snapshot(),
            self.d.snapshot(),
            self.favored.snapshot(),
        ];
        if let Some(ema) = &self.ema {
            parts.push(super::player::weights_snapshot(
                crate::stylize::AVERAGED_G,
                ema.model.clone(),
            ));
        }
        checkpoint::all(parts)
    }

    fn load(&mut self, dir: &Path) -> Result<()> {
        self.g.load(dir, &self.batches.device)?;
        if let Some(ema) = &mut self.ema {
            // A checkpoint written before `train.ema` was set has no average: it starts at G.
            let path = dir.join(crate::stylize::AVERAGED_G);
            if path.with_extension("mpk").is_file() {
                let model =
                    super::player::load_weights(self.g.model.valid(), &path, &self.batches.device)?;
                ema.restart(model, true);
            } else {
                ema.restart(self.g.model.valid(), false);
            }
        }
        self.d.load(dir, &self.batches.device)?;
        self.favored.load(dir, &self.batches.device)
    }

    fn favor(
        &mut self,
        source: &str,
        image: &RgbImage,
        now: u64,
        until: u64,
    ) -> std::result::Result<usize, String> {
        if !self.favored.enabled() {
            return Err("steer.favored_fraction is 0 for this run".into());
        }
        Ok(self
            .favored
            .add(source, image, now, until, &self.batches.device))
    }
}

/// A distilled run's teacher: the generator of the teacher run's checkpoint (its average where
/// it has one, as `stylize` loads it), built from the teacher's own spec.
fn teacher<B: Backend>(d: &crate::spec::DistillSpec, device: &B::Device) -> Result<Generator<B>> {
    let run = crate::run_dir::RunDir::new(&d.teacher);
    crate::stylize::load_generator(&run, Some(d.checkpoint), None, device)
        .map(|(g, _, _)| g)
        .map_err(|e| anyhow::anyhow!("distill.teacher {}: {e:#}", d.teacher))
}

/// The sliced Wasserstein distance between the high-pass patch distributions of `x` and
/// `target` (per image; `target` detached), along fresh directions drawn from `rng`.
fn stroke_distance<B: Backend>(
    x: Tensor<B, 4>,
    target: Tensor<B, 4>,
    (sigma, patch): (f32, usize),
    rng: &mut Rng,
    directions: usize,
    normalize: bool,
) -> Tensor<B, 1> {
    let [x, target] = [x, target].map(|t| losses::stroke_patches(t, sigma, patch));
    let dirs = losses::random_directions(rng, directions, x.dims()[1], &x.device());
    losses::sliced_wasserstein(x, target, dirs, normalize)
}

/// A loss value for [`DeviceLosses`]: its value on the inner backend, still on the device.
pub(super) fn value<B: AutodiffBackend>(t: &Tensor<B, 1>) -> Tensor<B::InnerBackend, 1> {
    t.clone().inner()
}
