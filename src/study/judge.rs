//! Judging without the dashboard (`atelier judge`): the very `ratings.jsonl` lines the grid and
//! the compare view write (the same `Rating` constructors, the same grid rule for who is shown,
//! the same common step), so a study can be driven and tested from outside. After a worst-of-k
//! in an `auto_launch` study it also does the dashboard's part: the retired run is stopped
//! (resumable) and the grid refilled; 4 or 5 stars for a live run that opted in to favoured
//! outputs send its `favor` control line, as the dashboard's stars do.

use super::Study;
use crate::ratings::{self, Kind, Ledger, Rating};
use crate::run_dir::{self, Command, ControlLine, RunDir, RunState, SampleRecord};
use crate::store::Liveness;
use anyhow::{bail, Result};
use std::path::Path;

/// What is judged.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// `run` is the worst of `among` (default: the study's grid); `run` joins `among` if absent.
    Worst { run: String, among: Vec<String> },
    /// Can't tell between `among` (default: the grid).
    Tie { among: Vec<String> },
    /// `n` stars (1 to 5) for one run's output.
    Stars { n: u8, run: String },
    /// Retract an earlier line by its id (`last`: the study's newest judgement in force).
    Undo { id: String },
}

/// A judgement to write.
#[derive(Debug, Clone)]
pub struct Request {
    pub verdict: Verdict,
    /// The sample step judged (default: the latest step every judged run has a sample of, as
    /// in the grid; for stars the run's latest).
    pub step: Option<u64>,
    /// Which probe image (index into the run's probe list, as in the dashboard).
    pub probe: usize,
}

/// What `judge` did: the line appended and what followed it.
#[derive(Debug)]
pub struct Outcome {
    pub rating: Rating,
    /// Lines for the user: a stopped run, a refilled grid.
    pub also: Vec<String>,
}

/// Check the request against the study and the ledger, build the line, append it, and, for a
/// worst-of-k in an `auto_launch` study, stop the retired run and refill the grid.
pub fn judge(study: &Study, runs_dir: &Path, experiments: &Path, req: &Request) -> Result<Outcome> {
    let ledger = Ledger::new(ratings::read(runs_dir));
    let grid = || -> Vec<String> { study.live(&ledger).iter().map(|m| m.id.clone()).collect() };
    let among = |given: &[String]| -> Result<Vec<String>> {
        if given.is_empty() {
            return Ok(grid());
        }
        given.iter().map(|r| member(study, r)).collect()
    };
    let rating = match &req.verdict {
        Verdict::Worst { run, among: given } => {
            let loser = member(study, run)?;
            if ledger.retired().contains(loser.as_str()) {
                bail!("{loser} was already judged the worst (retired); undo that judgement first");
            }
            let mut shown = among(given)?;
            if !shown.contains(&loser) {
                shown.push(loser.clone());
            }
            let shown = distinct(shown)?;
            let step = step_of(study, &shown, req.step)?;
            let i = shown.iter().position(|r| *r == loser).unwrap_or(0);
            Rating::worst(&shown, i, step, req.probe).in_study(Some(study.name.clone()))
        }
        Verdict::Tie { among: given } => {
            let shown = distinct(among(given)?)?;
            let step = step_of(study, &shown, req.step)?;
            Rating::tie(&shown, step, req.probe).in_study(Some(study.name.clone()))
        }
        Verdict::Stars { n, run } => {
            if !(1..=5).contains(n) {
                bail!("--stars takes 1 to 5, not {n}");
            }
            let run = member(study, run)?;
            let step = step_of(study, std::slice::from_ref(&run), req.step)?;
            Rating::stars(&run, Some(step), Some(req.probe), *n)
        }
        Verdict::Undo { id } => Rating::undo(&undo_target(study, &ledger, id)?),
    };
    ratings::append(runs_dir, &rating)?;
    let mut also = Vec::new();
    if let (Verdict::Stars { n: 4..=5, .. }, Some(run), Some(step)) =
        (&req.verdict, rating.runs.first(), rating.step)
    {
        also.extend(favor(study, run, step, req.probe)?);
    }
    if rating.kind == Kind::Worst && study.template.study.auto_launch {
        let loser = rating.value.as_str().unwrap_or_default();
        if let Some(m) = study.members.iter().find(|m| m.id == loser) {
            if matches!(
                m.state,
                Liveness::Reported(RunState::Running | RunState::Paused | RunState::Starting)
            ) {
                let dir = RunDir::new(runs_dir.join(&m.id));
                crate::train::control::send(
                    &dir,
                    &ControlLine {
                        id: Some(format!("judge-{}", (run_dir::now() * 1000.0) as u64)),
                        command: Command::Stop,
                    },
                )?;
                also.push(format!("stopping {loser} (retired; resumable)"));
            }
        }
        also.push(super::actions::refill_grid(
            &study.name,
            runs_dir,
            experiments,
        )?);
    }
    Ok(Outcome { rating, also })
}

/// 4 or 5 stars for an output of a live run that opted in (`steer.favored_fraction > 0`): the
/// output joins its critic's real batch (a `favor` control line), as the dashboard's stars do.
fn favor(study: &Study, run: &str, step: u64, probe: usize) -> Result<Option<String>> {
    let Some(m) = study.members.iter().find(|m| m.id == run) else {
        return Ok(None);
    };
    let live = matches!(
        m.state,
        Liveness::Reported(RunState::Running | RunState::Paused)
    );
    let dir = RunDir::new(&m.dir);
    let opted_in =
        live && crate::store::read_spec(&dir).is_ok_and(|s| s.steer.favored_fraction > 0.0);
    if !opted_in {
        return Ok(None);
    }
    let records = run_dir::read_lines::<SampleRecord>(&m.dir.join(run_dir::SAMPLE_INDEX));
    // The probe index counts the run's (set, probe) pairs in order, as the dashboard's.
    let mut probes: Vec<(&str, usize)> = records
        .iter()
        .filter(|r| r.kind == "input")
        .map(|r| (r.set.as_str(), r.probe))
        .collect();
    probes.sort();
    probes.dedup();
    let Some(&(set, p)) = probes.get(probe) else {
        return Ok(None);
    };
    let Some(rec) = records
        .iter()
        .find(|r| r.kind == "output" && r.step == step && r.set == set && r.probe == p)
    else {
        return Ok(None);
    };
    crate::train::control::send(
        &dir,
        &ControlLine {
            id: Some(format!("judge-{}", (run_dir::now() * 1000.0) as u64)),
            command: Command::Favor {
                image: rec.path.clone(),
            },
        },
    )?;
    Ok(Some(format!(
        "{run}: {} favoured in its critic's real batch",
        rec.path
    )))
}

/// The member a run argument names: its id, a unique id prefix, or its name (`tune-3`).
pub fn member(study: &Study, arg: &str) -> Result<String> {
    if let Some(m) = study.members.iter().find(|m| m.id == arg) {
        return Ok(m.id.clone());
    }
    let by_name: Vec<&str> = study
        .members
        .iter()
        .filter(|m| m.name == arg || m.id.starts_with(arg))
        .map(|m| m.id.as_str())
        .collect();
    match by_name.as_slice() {
        [one] => Ok(one.to_string()),
        [] => bail!(
            "`{arg}` is not a run of study `{}` (its runs: {})",
            study.name,
            study
                .members
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        many => bail!("`{arg}` matches {} runs: {}", many.len(), many.join(", ")),
    }
}

fn distinct(runs: Vec<String>) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for r in runs {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    if out.len() < 2 {
        bail!(
            "need at least 2 runs to judge (have {}: {}); name them with --among",
            out.len(),
            out.join(", ")
        );
    }
    Ok(out)
}

/// The judged step: the one given, else the latest step every run has a sample of (the grid's
/// `common_step`).
fn step_of(study: &Study, runs: &[String], given: Option<u64>) -> Result<u64> {
    if let Some(s) = given {
        return Ok(s);
    }
    let latest: Vec<Option<u64>> = runs
        .iter()
        .map(|id| latest_sample(&study.dir_of(id)))
        .collect();
    if let Some(i) = latest.iter().position(Option::is_none) {
        bail!("{} has no sample yet; wait for it, or give --step", runs[i]);
    }
    Ok(common_step(latest).unwrap_or(0))
}

/// The latest step every run has reached in its samples (a fair common step for judging):
/// `None` when any run has none. The dashboard's grid uses the same rule.
pub fn common_step(latest: impl IntoIterator<Item = Option<u64>>) -> Option<u64> {
    latest
        .into_iter()
        .collect::<Option<Vec<u64>>>()?
        .into_iter()
        .min()
}

/// The latest step with an output in a run's sample index.
fn latest_sample(dir: &Path) -> Option<u64> {
    run_dir::read_lines::<SampleRecord>(&dir.join(run_dir::SAMPLE_INDEX))
        .into_iter()
        .filter(|r| r.kind == "output")
        .map(|r| r.step)
        .max()
}

/// The id an undo retracts: the one given (it must be a judgement in force), or `last`.
fn undo_target(study: &Study, ledger: &Ledger, id: &str) -> Result<String> {
    if id == "last" {
        let members: std::collections::HashSet<&str> =
            study.members.iter().map(|m| m.id.as_str()).collect();
        return ledger
            .active()
            .filter(|r| {
                r.study.as_deref() == Some(study.name.as_str())
                    || r.runs.iter().any(|x| members.contains(x.as_str()))
            })
            .last()
            .map(|r| r.id.clone())
            .ok_or_else(|| anyhow::anyhow!("study `{}` has no judgement to undo", study.name));
    }
    if ledger.is_retracted(id) {
        bail!("{id} was already undone");
    }
    match ledger.active().find(|r| r.id == id) {
        Some(_) => Ok(id.to_string()),
        None => bail!("no judgement {id} in ratings.jsonl"),
    }
}
