//! The trainer (`atelier train`): the only writer of a run directory. It prepares the run (fresh,
//! or resumed from its latest checkpoint), runs on the backend [`crate::backend`] picks, builds
//! the recipe of the spec's mode and drives the shared loop in `session`. Submodules follow
//! burn's examples: `model` (networks), `data` (images, probes), `losses`, the two recipes, the
//! run-directory `writer`, `control` and `checkpoint`, and `favored` (the opt-in
//! preference-weighted discriminator's pool).

mod backend;
pub mod checkpoint;
pub mod coherence;
pub mod color;
pub mod control;
pub mod cyclegan;
pub mod data;
pub mod ema;
pub mod favored;
pub mod knobs;
pub mod losses;
pub mod model;
pub mod player;
#[cfg(test)]
mod precision_tests;
pub mod readback;
pub mod sampler;
pub mod session;
pub mod single_style;
pub mod weave;
pub mod writer;

pub use crate::backend::{cpu_threads, init_threads, on_pool, resolve_backend, BackendKind};
pub use knobs::Knobs;
pub use session::Outcome;

use crate::run_dir::{self, RunDir, RunState};
use crate::spec::{self, Plan};
use anyhow::{bail, Context, Result};
use burn::prelude::*;
use data::convert;
use image::RgbImage;
use model::{Discriminator, Generator};

pub use checkpoint::Snapshot;
pub use readback::{DeviceLosses, LossSums};

/// One recipe's networks, data and optimizers, driven by the session loop.
pub trait Gan {
    /// One training step (generators, then critics). Its loss terms stay on the device (a
    /// [`DeviceLosses`]) until [`Gan::losses`].
    fn step(&mut self, rng: &mut crate::rng::Rng, knobs: &Knobs);
    /// Every loss term summed over the steps since the last call: the loop's one device→host
    /// read of them per log row.
    fn losses(&mut self) -> LossSums;
    fn images_per_step(&self) -> usize;
    /// The fixed probe set through the current generator(s), with the critic's patch maps.
    fn render(&self) -> Vec<Rendered>;
    /// Every player's weights and optimizer state (and the recipe's other state) as of now, to
    /// be written into a checkpoint directory on the `checkpoints` thread.
    fn snapshot(&self) -> Snapshot;
    fn load(&mut self, dir: &std::path::Path) -> Result<()>;
    /// The one style image outputs are scored against (single_style); None otherwise.
    fn style_image(&self) -> Option<&RgbImage> {
        None
    }
    /// A distilled run's frozen teacher on the probe set (written once per run, beside the
    /// student's samples); empty for a run without a teacher.
    fn render_teacher(&self) -> Vec<TeacherRender> {
        Vec::new()
    }
    /// The preference-weighted discriminator (`[steer]`): add `image` (a favoured output that
    /// `source` names) to the critic's real pool from step `now` until step `until`; returns the
    /// pool size. Recipes without one refuse with a reason.
    fn favor(
        &mut self,
        _source: &str,
        _image: &RgbImage,
        _now: u64,
        _until: u64,
    ) -> std::result::Result<usize, String> {
        Err("this recipe has no preference-weighted discriminator".into())
    }
}

/// One probe image rendered at a sample step.
pub struct Rendered {
    pub set: &'static str,
    pub probe: usize,
    pub input: RgbImage,
    pub output: RgbImage,
    pub patch: RgbImage,
}

/// A distilled run's teacher generator on one probe.
pub struct TeacherRender {
    pub set: &'static str,
    pub probe: usize,
    pub image: RgbImage,
}

/// The probes as one NCHW batch in [-1, 1], with its shape; `None` without probes.
fn probe_batch<B: Backend>(
    probes: &[RgbImage],
    device: &B::Device,
) -> Option<(Tensor<B, 4>, [usize; 4])> {
    let first = probes.first()?;
    let shape = [
        probes.len(),
        3,
        first.height() as usize,
        first.width() as usize,
    ];
    let x = Tensor::<B, 4>::from_data(
        TensorData::new(convert::images_to_nchw(probes), shape),
        device,
    );
    Some((x, shape))
}

/// Probes through `g` alone (a teacher), on a non-autodiff backend.
pub fn render_generator<B: Backend>(
    g: &Generator<B>,
    probes: &[RgbImage],
    set: &'static str,
    device: &B::Device,
) -> Vec<TeacherRender> {
    let Some((x, [n, _, h, w])) = probe_batch::<B>(probes, device) else {
        return Vec::new();
    };
    let y = convert::values(g.forward(x).into_data());
    convert::nchw_to_images(&y, n, h, w)
        .into_iter()
        .enumerate()
        .map(|(probe, image)| TeacherRender { set, probe, image })
        .collect()
}

/// Probes through `g`, and the output's patch map from `d`, on a non-autodiff backend.
pub fn render<B: Backend>(
    g: &Generator<B>,
    d: &Discriminator<B>,
    probes: &[RgbImage],
    set: &'static str,
    device: &B::Device,
) -> Vec<Rendered> {
    let Some((x, [n, _, h, w])) = probe_batch::<B>(probes, device) else {
        return Vec::new();
    };
    let y = g.forward(x);
    let scores = d.forward(y.clone());
    let [_, _, sh, sw] = scores.dims();
    let outputs = convert::nchw_to_images(&convert::values(y.into_data()), n, h, w);
    let scores = convert::values(scores.into_data());
    probes
        .iter()
        .zip(outputs)
        .enumerate()
        .map(|(i, (input, output))| Rendered {
            set,
            probe: i,
            input: input.clone(),
            output,
            patch: convert::heatmap(
                scores.get(i * sh * sw..(i + 1) * sh * sw).unwrap_or(&[]),
                sh,
                sw,
                w as u32,
                h as u32,
            ),
        })
        .collect()
}

/// One forward pass on a fresh model, so its lazily initialised parameters are materialised
/// before the model is ever cloned (burn shares the pending state between clones).
pub(crate) fn warm_up<B: Backend, M>(
    model: M,
    size: usize,
    device: &B::Device,
    f: impl Fn(&M, Tensor<B, 4>) -> Tensor<B, 4>,
) -> M {
    let _ = f(&model, Tensor::zeros([1, 3, size, size], device)).into_data();
    model
}

/// What `atelier train` was asked to do.
pub struct TrainRequest {
    /// The spec (fresh run) or the run's own spec.toml re-read with overrides (resume).
    pub plan: Plan,
    pub run: RunDir,
    /// Continue from this checkpoint step (resume), or start at 0.
    pub resume_from: Option<u64>,
    /// No terminal output (the launcher sends stdout nowhere and stderr to train.log).
    pub quiet: bool,
    /// Show a progress bar (stderr is a terminal).
    pub progress: bool,
}

/// Create `runs_dir/<timestamp>-<name>` with its resolved `spec.toml`.
pub fn create_run(plan: &Plan, runs_dir: &std::path::Path, name: Option<&str>) -> Result<RunDir> {
    create_run_dir(runs_dir, name.unwrap_or(&plan.name), &plan.resolved_toml())
}

/// Create `runs_dir/<timestamp>-<name>` (`-2`, `-3`… when taken) holding `spec_toml` as its
/// `spec.toml`; also for imported runs.
pub fn create_run_dir(runs_dir: &std::path::Path, name: &str, spec_toml: &str) -> Result<RunDir> {
    std::fs::create_dir_all(runs_dir)
        .with_context(|| format!("creating runs directory {}", runs_dir.display()))?;
    let base = format!(
        "{}-{}",
        run_dir::timestamp_id(run_dir::now()),
        sanitize(name)
    );
    let mut id = base.clone();
    let mut n = 2;
    loop {
        match std::fs::create_dir(runs_dir.join(&id)) {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                id = format!("{base}-{n}");
                n += 1;
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("creating run directory in {}", runs_dir.display()))
            }
        }
    }
    let run = RunDir::new(runs_dir.join(id));
    run_dir::write_atomic(&run.path(run_dir::SPEC), spec_toml.as_bytes())?;
    Ok(run)
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() {
        "run".into()
    } else {
        s
    }
}

/// Prepare a resume: re-read the run's spec with overrides, refuse a live trainer, and cut
/// metrics and sample index lines past the checkpoint so no step appears twice.
pub fn prepare_resume(run: &RunDir, overrides: &[String]) -> Result<(Plan, u64)> {
    let spec_path = run.path(run_dir::SPEC);
    if let Some(from) = run_dir::read_imported(&run.root) {
        bail!(
            "run {} was imported ({}, from {}); it is read-only and cannot train",
            run.id(),
            from.kind,
            from.source
        );
    }
    if !spec_path.is_file() {
        bail!(
            "{} is not a run directory (no spec.toml)",
            run.root.display()
        );
    }
    if let Some(st) = run_dir::read_status(&run.root) {
        if crate::launch::may_be_live(run, &st) {
            bail!(
                "run {} is still {} (pid {}); stop it first",
                run.id(),
                st.state.as_str(),
                st.pid
            );
        }
    }
    let plan = spec::load(&spec_path, overrides)?;
    let Some(keep) = run.latest_checkpoint() else {
        bail!("run {} has no checkpoint to resume from; start the experiment again with `atelier train {}`", run.id(), spec_path.display());
    };

    truncate_jsonl::<run_dir::MetricRow>(&run.path(run_dir::METRICS), |r| r.step <= keep)?;
    truncate_jsonl::<run_dir::SampleRecord>(&run.path(run_dir::SAMPLE_INDEX), |r| r.step <= keep)?;
    truncate_jsonl::<run_dir::ScoreRecord>(&run.path(run_dir::SCORES), |r| r.step <= keep)?;
    if !overrides.is_empty() {
        run_dir::write_atomic(&spec_path, plan.resolved_toml().as_bytes())?;
    }
    Ok((plan, keep))
}

/// Before `--start` on a run directory that already holds rows (a requeued Slurm job that died
/// before its first checkpoint): start over, so no step appears twice.
pub fn prepare_restart(run: &RunDir) -> Result<()> {
    truncate_jsonl::<run_dir::MetricRow>(&run.path(run_dir::METRICS), |_| false)?;
    truncate_jsonl::<run_dir::SampleRecord>(&run.path(run_dir::SAMPLE_INDEX), |_| false)?;
    truncate_jsonl::<run_dir::ScoreRecord>(&run.path(run_dir::SCORES), |_| false)
}

fn truncate_jsonl<T: serde::Serialize + for<'de> serde::Deserialize<'de>>(
    path: &std::path::Path,
    keep: impl Fn(&T) -> bool,
) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let rows: Vec<T> = run_dir::read_lines(path);
    let mut out = Vec::new();
    for r in rows.iter().filter(|r| keep(r)) {
        out.extend(serde_json::to_vec(r)?);
        out.push(b'\n');
    }
    run_dir::write_atomic(path, &out).with_context(|| format!("rewriting {}", path.display()))
}

/// Train: pick the backend and run the session to its end. The final status is always written.
pub fn train(req: TrainRequest) -> Result<Outcome> {
    let t = &req.plan.spec.train;
    let device = crate::spec::DeviceChoice::parse(&t.device).map_err(anyhow::Error::msg)?;
    let (kind, gpu) = crate::backend::resolve_device(t.backend, device)?;
    backend::with_backend(kind, gpu, t.threads, req)
}

/// The TensorBoard mirror of this process (`train.tensorboard`), fed the resolved spec and, for a
/// study's member, its searched hyperparameters; a mirror that cannot start is a warning.
fn start_mirror(
    plan: &Plan,
    run: &RunDir,
    resumed_from: Option<u64>,
    writer: &mut writer::Writer,
) -> Option<crate::tensorboard::Mirror> {
    use crate::tensorboard::{mirror, proto::HValue, Item, Mirror};
    if !plan.spec.train.tensorboard {
        return None;
    }
    let step = resumed_from.unwrap_or(0);
    let m = match Mirror::start(run, resumed_from) {
        Ok(m) => m,
        Err(e) => {
            writer.event(
                step,
                "warning",
                None,
                format!("no TensorBoard mirror: {e:#}"),
            );
            return None;
        }
    };
    let feed = m.feed()?;
    feed.send(Item::Text {
        step,
        tag: "spec".into(),
        markdown: mirror::spec_markdown(&plan.resolved_toml()),
    });
    if !plan.spec.search.is_empty() {
        let values: Vec<(String, HValue)> = plan
            .spec
            .search
            .keys()
            .filter_map(|k| spec::get_number(&plan.spec, k).map(|v| (k.clone(), HValue::Number(v))))
            .collect();
        let group = spec::StudySpec::of(&plan.spec).unwrap_or_else(|| plan.name.clone());
        feed.send(Item::Hparams { values, group });
    }
    writer.tb = Some(feed);
    Some(m)
}

/// Body of a training process on backend `B`: build, resume, loop, final status.
fn train_on<B: burn::tensor::backend::AutodiffBackend>(
    req: TrainRequest,
    device: B::Device,
    backend: &str,
    device_name: String,
) -> Result<Outcome> {
    let plan = &req.plan;
    let status = run_dir::Status {
        state: RunState::Starting,
        name: plan.name.clone(),
        mode: plan.spec.mode.as_str().into(),
        pid: std::process::id(),
        host: crate::store::hostname(),
        step: req.resume_from.unwrap_or(0),
        total_steps: plan.spec.train.steps,
        heartbeat: run_dir::now(),
        started: run_dir::now(),
        backend: backend.into(),
        device: device_name.clone(),
        images_per_s: None,
        eta_secs: None,
        message: None,
        parent: plan.spec.distill.as_ref().map(|d| d.parent.clone()),
        study: crate::spec::StudySpec::of(&plan.spec)
            .or_else(|| (!plan.spec.search.is_empty()).then(|| plan.name.clone())),
    };
    let mut writer = writer::Writer::start(req.run.clone(), status, req.quiet, req.progress)?;
    let signal = backend::install_signal_flag();
    let mut tb = start_mirror(plan, &req.run, req.resume_from, &mut writer);
    // burn draws initial weights from the backend's own generator: seed it from the spec, so the
    // same spec and seed start from the same networks.
    B::seed(&device, plan.spec.train.seed);
    let outcome = session::guarded(|| {
        let (gan, warnings): (Box<dyn Gan>, Vec<String>) = match plan.spec.mode {
            spec::Mode::SingleStyle => {
                let (g, w) = single_style::SingleStyle::<B>::new(plan, &device)?;
                (Box::new(g), w)
            }
            spec::Mode::Cyclegan => {
                let (g, w) = cyclegan::CycleGan::<B>::new(plan, &device)?;
                (Box::new(g), w)
            }
        };
        let mut gan = gan;
        let step = req.resume_from.unwrap_or(0);
        for w in warnings {
            writer.event(step, "warning", None, w);
        }
        let mut knobs = Knobs::from_spec(&plan.spec);
        let control = match req.resume_from {
            Some(s) => {
                let state = checkpoint::read_state(&req.run, s)?;
                gan.load(&req.run.checkpoint(s))?;
                knobs.restore(&state.knobs);
                writer.event(
                    s,
                    "resumed",
                    None,
                    format!("resumed from checkpoint at step {s} on {backend} ({device_name})"),
                );
                control::ControlReader::from_end(req.run.path(run_dir::CONTROL))
            }
            None => {
                writer.event(
                    0,
                    "started",
                    None,
                    format!(
                        "{} ({}) on {backend} ({device_name})",
                        plan.name,
                        plan.spec.mode.as_str()
                    ),
                );
                control::ControlReader::from_start(req.run.path(run_dir::CONTROL))
            }
        };
        let sampler = sampler::Sampler::start(
            req.run.clone(),
            gan.style_image().cloned(),
            req.resume_from.is_some(),
            tb.as_ref().and_then(|m| m.feed()),
        );
        // A distilled run's teacher on the probes, once: the frozen generator the student
        // learns from, kept in the run so the run view shows it even if the teacher run goes.
        if sampler.wants_teacher() {
            let teacher = gan.render_teacher();
            if !teacher.is_empty() {
                if let Err(e) = sampler.submit_teacher(step, teacher) {
                    writer.event(step, "warning", None, format!("teacher samples: {e}"));
                }
            }
        }
        let session = session::Session {
            plan,
            writer: &mut writer,
            gan,
            knobs,
            step,
            control,
            signal,
            last_checkpoint: req.resume_from,
            sampler,
            checkpoints: checkpoint::Checkpointer::start(
                req.run.clone(),
                plan.spec.train.keep_checkpoints,
            ),
        };
        Ok(session.run())
    });
    // Every row and sample was sent (the samples thread has ended): write them out.
    writer.tb = None;
    if let Some(m) = tb.as_mut() {
        for w in m.finish() {
            writer.event(req.resume_from.unwrap_or(0), "warning", None, w);
        }
    }
    let (state, message) = match &outcome {
        Outcome::Finished => (RunState::Finished, "finished".to_string()),
        Outcome::Stopped(why) => (
            RunState::Stopped,
            format!("stopped ({why}); resume with `atelier train --resume`"),
        ),
        Outcome::Failed(m) => {
            writer.log(&format!("failed: {m}"));
            (RunState::Failed, m.clone())
        }
    };
    writer.finish(state, message);
    Ok(outcome)
}
