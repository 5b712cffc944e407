//! Runs made by `atelier import` rather than by a trainer: a run directory with a spec (mode,
//! generator), `imported.json` (what it came from; resume refuses such a run) and a final
//! `status.json` (`finished`, with the source in its message), so the runs table, the run view,
//! compare, stylize and the look view read it like any finished run.

use crate::run_dir::{self, Imported, RunDir, RunState, Status};
use crate::spec::{GeneratorSpec, Mode, Spec};
use anyhow::Result;
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
    use anyhow::{bail, Context};
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
