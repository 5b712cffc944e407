//! Runs made by `atelier import` rather than by a trainer: a run directory with a spec (mode,
//! generator), `imported.json` (what it came from; resume refuses such a run) and a final
//! `status.json` (`finished`, with the source in its message), so the runs table, the run view,
//! compare, stylize and the look view read it like any finished run.

use super::torch::{self, Layout};
use crate::run_dir::{self, Imported, RunDir, RunState, SampleRecord, Status};
use crate::spec::{GeneratorSpec, Mode, Spec};
use anyhow::{Context, Result};
use std::path::Path;

/// A cyclegan spec for an imported run, named `name`, with this generator.
pub fn spec(name: &str, description: String, generator: GeneratorSpec) -> Spec {
    Spec {
        name: Some(name.to_string()),
        description,
        mode: Mode::Cyclegan,
        data: Default::default(),
        generator,
        discriminator: Default::default(),
        features: Default::default(),
        loss: Default::default(),
        optim: Default::default(),
        train: Default::default(),
        search: Default::default(),
        study: Default::default(),
        steer: Default::default(),
        distill: None,
    }
}

/// Create the run directory `<runs>/<time>-<name>` with `spec` and its `imported.json`.
pub fn create(runs_dir: &Path, spec: &Spec, kind: &str, source: String) -> Result<RunDir> {
    let name = spec.name.clone().unwrap_or_else(|| kind.to_string());
    let run = crate::train::create_run_dir(runs_dir, &name, &toml::to_string(spec)?)?;
    let imported = Imported {
        kind: kind.to_string(),
        source,
        time: run_dir::now(),
    };
    run_dir::write_atomic(
        &run.path(run_dir::IMPORTED),
        &serde_json::to_vec_pretty(&imported)?,
    )?;
    Ok(run)
}

/// Write the run's final status: finished at `step`, the source in its message.
pub fn finish(run: &RunDir, spec: &Spec, step: u64, message: String) -> Result<()> {
    let now = run_dir::now();
    let status = Status {
        state: RunState::Finished,
        name: spec.name.clone().unwrap_or_default(),
        mode: spec.mode.as_str().to_string(),
        pid: 0,
        host: crate::store::hostname(),
        step,
        total_steps: step,
        heartbeat: now,
        started: now,
        backend: "imported".into(),
        device: String::new(),
        images_per_s: None,
        eta_secs: None,
        message: Some(message),
        study: None,
        parent: None,
    };
    run_dir::write_atomic(
        &run.path(run_dir::STATUS),
        &serde_json::to_vec_pretty(&status)?,
    )?;
    Ok(())
}

/// `atelier import cyclegan-log`: the log at `path` as run `name`; returns the run and what the
/// log held.
pub fn import_log(
    path: &Path,
    runs_dir: &Path,
    name: &str,
) -> Result<(RunDir, super::loss_log::Parsed)> {
    use anyhow::bail;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let parsed = super::loss_log::parse(&text);
    let Some(last) = parsed.rows.last() else {
        bail!(
            "{} has no loss lines of the CycleGAN repository's shape (`(epoch: E, iters: I, \
             time: T, data: D) D_A: x G_A: x ...`); {} malformed line(s)",
            path.display(),
            parsed.malformed.len()
        );
    };
    let spec = spec(
        name,
        format!("imported from {}", path.display()),
        GeneratorSpec::default(),
    );
    let run = create(runs_dir, &spec, "cyclegan-log", path.display().to_string())?;
    let mut metrics = Vec::new();
    for r in &parsed.rows {
        serde_json::to_writer(&mut metrics, r)?;
        metrics.push(b'\n');
    }
    run_dir::write_atomic(&run.path(run_dir::METRICS), &metrics)?;
    finish(
        &run,
        &spec,
        last.step,
        format!("imported from {}", path.display()),
    )?;
    Ok((run, parsed))
}

/// Probe scenes rendered at import (the procedural content scenes), and their side in pixels.
const PROBES: usize = 4;
const PROBE_SIZE: u32 = 128;

/// `atelier import cyclegan`: the repository's generator(s) as run `name` with a checkpoint at
/// step 0 (`g_ab`, and `g_ba` with `ba`) and the probes rendered by them, so stylize, the look
/// view and compare use it like any run. `ngf` / `blocks`, when given, must be what the file
/// holds. Returns the run and the layout.
pub fn import_generators(
    runs_dir: &Path,
    name: &str,
    ab: &Path,
    ba: Option<&Path>,
    ngf: Option<usize>,
    blocks: Option<usize>,
) -> Result<(RunDir, Layout)> {
    use anyhow::bail;
    use burn::backend::Flex;
    let read = |path: &Path| -> Result<(torch::StateDict, Layout)> {
        let dict = torch::read_state_dict(path)?;
        let layout = torch::infer_layout(&dict, path)?;
        if let Some(n) = ngf.filter(|n| *n != layout.ngf) {
            bail!(
                "--ngf {n}, but {} has ngf {} (model.1.weight is {:?})",
                path.display(),
                layout.ngf,
                dict["model.1.weight"].0
            );
        }
        if let Some(b) = blocks.filter(|b| *b != layout.blocks) {
            bail!(
                "--blocks {b}, but {} has {} residual blocks (model.10 to model.{})",
                path.display(),
                layout.blocks,
                9 + layout.blocks
            );
        }
        torch::check(&dict, layout, path)?;
        Ok((dict, layout))
    };
    let (dict_ab, layout) = read(ab)?;
    let dict_ba = match ba {
        Some(p) => {
            let (d, l) = read(p)?;
            if l != layout {
                bail!(
                    "{} (ngf {}, {} blocks) and {} (ngf {}, {} blocks) differ in size",
                    ab.display(),
                    layout.ngf,
                    layout.blocks,
                    p.display(),
                    l.ngf,
                    l.blocks
                );
            }
            Some(d)
        }
        None => None,
    };
    let device = Default::default();
    let g_ab = torch::generator::<Flex>(&dict_ab, layout, &device)?;
    let g_ba = match &dict_ba {
        Some(d) => Some(torch::generator::<Flex>(d, layout, &device)?),
        None => None,
    };
    let source = match ba {
        Some(p) => format!("{} and {}", ab.display(), p.display()),
        None => ab.display().to_string(),
    };
    let mut spec = spec(
        name,
        format!("CycleGAN generator(s) imported from {source}"),
        torch::generator_spec(layout),
    );
    spec.data.image_size = PROBE_SIZE as usize;
    spec.data.probe_count = PROBES;
    spec.train.steps = 0;
    let run = create(runs_dir, &spec, "cyclegan", source.clone())?;
    let mut gens = vec![("a", "g_ab", g_ab)];
    if let Some(g) = g_ba {
        gens.push(("b", "g_ba", g));
    }
    let to_save: Vec<(&'static str, crate::train::model::Generator<Flex>)> =
        gens.iter().map(|(_, f, g)| (*f, g.clone())).collect();
    let snapshot: crate::train::checkpoint::Snapshot = Box::new(move |dir: &Path| {
        let mut files = Vec::new();
        for (file, g) in to_save {
            crate::train::player::save_weights(g, &dir.join(file))?;
            files.push(format!("{file}.mpk"));
        }
        Ok(files)
    });
    crate::train::checkpoint::save(&run, snapshot, 0, Default::default(), 1)?;
    for (set, _, g) in &gens {
        render_probes(&run, set, g)?;
    }
    finish(
        &run,
        &spec,
        0,
        format!(
            "imported CycleGAN generator (ngf {}, {} blocks) from {source}",
            layout.ngf, layout.blocks
        ),
    )?;
    Ok((run, layout))
}

/// The probes of `set` (procedural scenes) and `g`'s outputs as the samples of step 0.
fn render_probes<B: burn::prelude::Backend>(
    run: &RunDir,
    set: &str,
    g: &crate::train::model::Generator<B>,
) -> Result<()> {
    use crate::train::data::{convert, procedural};
    use burn::prelude::{Tensor, TensorData};
    let inputs = run.path(run_dir::SAMPLES).join("inputs");
    let step_dir = run.sample_dir(0);
    std::fs::create_dir_all(&inputs)?;
    std::fs::create_dir_all(&step_dir)?;
    let n = PROBE_SIZE as usize;
    for p in 0..PROBES {
        let seed = if set == "a" { 1 } else { 2 };
        let photo = procedural::content_scene(seed, p, PROBE_SIZE, PROBE_SIZE);
        let x = Tensor::<B, 4>::from_data(
            TensorData::new(
                convert::images_to_nchw(std::slice::from_ref(&photo)),
                [1, 3, n, n],
            ),
            &Default::default(),
        );
        let y = convert::values(g.forward(x).into_data());
        let out = convert::nchw_to_images(&y, 1, n, n).remove(0);
        for (kind, img, path) in [
            ("input", &photo, inputs.join(format!("{set}_{p:02}.png"))),
            (
                "output",
                &out,
                step_dir.join(format!("{set}_{p:02}_output.png")),
            ),
        ] {
            img.save(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            let rec = SampleRecord {
                step: 0,
                set: set.into(),
                probe: p,
                kind: kind.into(),
                path: path
                    .strip_prefix(&run.root)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
            };
            run_dir::append_json(&run.path(run_dir::SAMPLE_INDEX), &rec)?;
        }
    }
    Ok(())
}
