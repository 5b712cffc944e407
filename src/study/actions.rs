//! What the dashboard asks of studies, each one call that does its own I/O and returns the line
//! to show: refill a grid after a judgement (fit, propose, launch when the study auto-launches),
//! end a study, and the launch form's Enter (one run, or a study's first candidates). The
//! dashboard runs these off its UI thread; `atelier propose` uses the same `Study` calls.

use super::Study;
use std::path::Path;

/// Refill a study's grid after a judgement: fit the preference model on everything judged so
/// far, write the proposals and launch them if the study says `auto_launch = true`.
pub fn refill_grid(study: &str, runs_dir: &Path, experiments: &Path) -> anyhow::Result<String> {
    let s = Study::load(runs_dir, study, None)?;
    let ledger = crate::ratings::Ledger::new(crate::ratings::read(runs_dir));
    let done = s.refill(&ledger, experiments, runs_dir, s.template.study.auto_launch)?;
    if done.is_empty() {
        return Ok(format!(
            "study {study}: no proposal ({} of at most {} runs)",
            s.members.len(),
            s.template.study.max_runs
        ));
    }
    let said: Vec<String> = done
        .into_iter()
        .map(|(w, run)| match run {
            Some(id) => format!("launched {id} ({})", w.summary),
            None => format!("proposed {} ({})", w.path.display(), w.summary),
        })
        .collect();
    Ok(said.join("; "))
}

/// End a study from its grid: write its top predicted configuration (`<study>-best.toml`).
pub fn end(study: &str, runs_dir: &Path, experiments: &Path) -> anyhow::Result<String> {
    let s = Study::load(runs_dir, study, None)?;
    let ledger = crate::ratings::Ledger::new(crate::ratings::read(runs_dir));
    let w = s.best(&ledger, experiments)?;
    Ok(format!(
        "study {study}: best predicted {} -> {}",
        w.summary,
        w.path.display()
    ))
}

/// The launch form's Enter: one run, or, for a study's own spec, the study's candidates.
pub fn launch_from_form(
    spec: &Path,
    overrides: &[String],
    name: Option<&str>,
    runs_dir: &Path,
    experiments: &Path,
) -> anyhow::Result<String> {
    let plan = crate::spec::load(spec, overrides)?;
    if name.is_none_or(|n| n == plan.name) && super::starts_study(&plan.spec, &plan.name) {
        return super::launch_study(spec, overrides, runs_dir, experiments);
    }
    let run = crate::launch::launch(spec, overrides, runs_dir, name)?;
    Ok(format!("launched {}", run.id()))
}
