//! `atelier propose STUDY|SPEC`: the study loop without the dashboard. Prints where the study
//! stands (members, judgements, the predicted best so far), writes proposals to
//! `experiments/proposed/` until the grid has `study.candidates` live runs (proposals not yet
//! launched count), and launches them with `--launch` or when the study sets
//! `auto_launch = true`. `--best` writes the top predicted configuration instead, to end a
//! study. `--json` prints the same as one JSON object, for scripts.

use super::ProposeArgs;
use crate::ratings::{self, Ledger};
use crate::study::{self, Study, Written};
use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// What `propose --json` prints.
#[derive(Serialize)]
pub struct Report {
    pub study: String,
    /// The study's seed as recorded (null until the first proposal draws one; then the
    /// proposals' `study.seed`).
    pub seed: Option<u64>,
    pub acquisition: crate::prefs::gp::Acquisition,
    pub candidates: usize,
    pub max_runs: usize,
    pub searching: Vec<String>,
    /// Ids of the best-of-k judgements in force that involve members.
    pub judgements: Vec<String>,
    /// Oldest first.
    pub members: Vec<MemberReport>,
    /// Proposals written before this call and not launched yet.
    pub pending: Vec<ProposalReport>,
    /// Written by this call.
    pub proposals: Vec<ProposalReport>,
}

#[derive(Serialize)]
pub struct MemberReport {
    pub id: String,
    pub name: String,
    /// The run's state (`running`, `finished`, `stopped`, `stalled`, …).
    pub state: String,
    /// `live` (in the grid), `waiting` (in force, the grid is full), `retired` (judged the
    /// worst) or `dead` (failed, stopped or stalled).
    pub role: &'static str,
    /// The highest predicted utility among the members (only once there are judgements).
    pub best: bool,
    pub values: BTreeMap<String, f64>,
    /// Posterior mean and sd of the member's utility.
    pub utility: Utility,
}

#[derive(Serialize, Clone, Copy)]
pub struct Utility {
    pub mean: f64,
    pub sd: f64,
}

#[derive(Serialize)]
pub struct ProposalReport {
    pub name: String,
    pub path: String,
    pub values: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The model's predicted utility at the proposal (null before any judgement).
    pub predicted: Option<Utility>,
    /// The run it was launched as, when launched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

pub(super) fn cmd_propose(a: ProposeArgs) -> Result<()> {
    if let Some(k) = a.launcher {
        crate::launch::choose(k);
    }
    let runs_dir = &a.runs.dir();
    let experiments = &a.experiments.dir();
    let mut study = study::open(&a.study, &[], runs_dir)?;
    if a.seed.is_some() {
        study.seed = a.seed;
    }
    let ledger = Ledger::new(ratings::read(runs_dir));
    let mut report = report(&study, &ledger, experiments);
    if !a.json {
        print_state(&report);
    }
    if a.best {
        let w = study.best(&ledger, experiments)?;
        if a.json {
            report.proposals.push(proposal(&study, &w, None));
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!("wrote {} ({})", w.path.display(), w.summary);
        }
        return Ok(());
    }
    let launch = a.launch || study.template.study.auto_launch;
    let written = study.refill(&ledger, experiments, runs_dir, launch)?;
    if a.json {
        report.proposals = written
            .iter()
            .map(|(w, run)| proposal(&study, w, run.clone()))
            .collect();
        if report.seed.is_none() {
            report.seed = written
                .first()
                .and_then(|(w, _)| std::fs::read_to_string(&w.path).ok())
                .and_then(|t| toml::from_str::<crate::spec::Spec>(&t).ok())
                .and_then(|s| s.study.seed);
        }
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if written.is_empty() {
        println!(
            "nothing to propose: {} live candidates and {} proposals not launched yet of {}, {} of at most {} runs",
            study.live(&ledger).len(),
            report.pending.len(),
            study.template.study.candidates,
            study.members.len(),
            study.template.study.max_runs
        );
        for p in &report.pending {
            println!(
                "  not launched yet: {} (launch it, or delete it to free the slot)",
                p.path
            );
        }
    }
    for (w, run) in written {
        println!("wrote {} ({})", w.path.display(), w.summary);
        if let Some(id) = run {
            println!("launched {id}");
        }
    }
    Ok(())
}

fn keyed(study: &Study, values: &[f64]) -> BTreeMap<String, f64> {
    study
        .space
        .dims
        .iter()
        .zip(values)
        .map(|(d, v)| (d.key.clone(), *v))
        .collect()
}

fn proposal(study: &Study, w: &Written, run: Option<String>) -> ProposalReport {
    ProposalReport {
        name: w.name.clone(),
        path: w.path.display().to_string(),
        values: keyed(study, &w.values),
        why: Some(w.why.clone()),
        predicted: w.predicted.map(|(mean, sd)| Utility { mean, sd }),
        run,
    }
}

/// Where the study stands, before this call writes anything.
pub fn report(study: &Study, ledger: &Ledger, experiments: &std::path::Path) -> Report {
    let live: HashSet<&str> = study.live(ledger).iter().map(|m| m.id.as_str()).collect();
    let retired = ledger.retired();
    let (gp, used) = study.fit(ledger);
    let means = gp.means();
    let members = study
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (mean, sd) = gp.predict(&m.x);
            let role = if retired.contains(m.id.as_str()) {
                "retired"
            } else if m.is_dead() {
                "dead"
            } else if live.contains(m.id.as_str()) {
                "live"
            } else {
                "waiting"
            };
            MemberReport {
                id: m.id.clone(),
                name: m.name.clone(),
                state: m.state.label().to_string(),
                role,
                best: gp.best() == Some(i) && !used.is_empty(),
                values: keyed(study, &m.values),
                utility: Utility {
                    mean: means.get(i).copied().unwrap_or(mean),
                    sd,
                },
            }
        })
        .collect();
    let pending = study
        .pending(experiments)
        .into_iter()
        .map(|p| {
            let (mean, sd) = gp.predict(&p.x);
            ProposalReport {
                name: p.name,
                path: p.path.display().to_string(),
                values: keyed(study, &p.values),
                why: None,
                predicted: (!used.is_empty()).then_some(Utility { mean, sd }),
                run: None,
            }
        })
        .collect();
    Report {
        study: study.name.clone(),
        seed: study.seed,
        acquisition: study.template.study.acquisition,
        candidates: study.template.study.candidates,
        max_runs: study.template.study.max_runs,
        searching: study.space.dims.iter().map(|d| d.key.clone()).collect(),
        judgements: used,
        members,
        pending,
        proposals: Vec::new(),
    }
}

fn print_state(r: &Report) {
    println!(
        "study {}: {} runs, {} judgements, searching {}",
        r.study,
        r.members.len(),
        r.judgements.len(),
        r.searching.join(", ")
    );
    for m in &r.members {
        let mark = if m.best { "best" } else { m.role };
        let values: Vec<String> = m.values.values().map(|v| format!("{v:.4e}")).collect();
        println!(
            "  {:<7} {:<40} {:>8} {:+.2} ± {:.2}  [{}]",
            mark,
            m.id,
            m.state,
            m.utility.mean,
            m.utility.sd,
            values.join(", ")
        );
    }
}
