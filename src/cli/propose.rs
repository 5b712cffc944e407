//! `atelier propose STUDY|SPEC`: the study loop without the dashboard. Prints where the study
//! stands (members, judgements, the predicted best so far), writes proposals to
//! `experiments/proposed/` until the grid has `study.candidates` live runs, and launches them
//! with `--launch` or when the study sets `auto_launch = true`. `--best` writes the top
//! predicted configuration instead, to end a study.

use super::ProposeArgs;
use crate::ratings::{self, Ledger};
use crate::study::{self, Study};
use anyhow::Result;

pub(super) fn cmd_propose(a: ProposeArgs) -> Result<()> {
    if let Some(k) = a.launcher {
        crate::launch::choose(k);
    }
    let runs_dir = a.runs.runs_dir.as_path();
    let experiments = a.experiments.as_path();
    let study = study::open(&a.study, &[], runs_dir)?;
    let ledger = Ledger::new(ratings::read(runs_dir));
    print_state(&study, &ledger);
    if a.best {
        let w = study.best(&ledger, experiments)?;
        println!("wrote {} ({})", w.path.display(), w.summary);
        return Ok(());
    }
    let launch = a.launch || study.template.study.auto_launch;
    let written = study.refill(&ledger, experiments, runs_dir, launch, a.seed)?;
    if written.is_empty() {
        println!(
            "nothing to propose: {} live candidates of {}, {} of at most {} runs",
            study.live(&ledger).len(),
            study.template.study.candidates,
            study.members.len(),
            study.template.study.max_runs
        );
    }
    for (w, run) in written {
        println!("wrote {} ({})", w.path.display(), w.summary);
        if let Some(id) = run {
            println!("launched {id}");
        }
    }
    Ok(())
}

fn print_state(study: &Study, ledger: &Ledger) {
    let live: Vec<&str> = study.live(ledger).iter().map(|m| m.id.as_str()).collect();
    let (gp, used) = study.fit(ledger);
    println!(
        "study {}: {} runs, {} judgements, searching {}",
        study.name,
        study.members.len(),
        used.len(),
        study
            .space
            .dims
            .iter()
            .map(|d| d.key.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let means = gp.means();
    for (i, m) in study.members.iter().enumerate() {
        let (mean, sd) = gp.predict(&m.x);
        let mark = if gp.best() == Some(i) && !used.is_empty() {
            "best"
        } else if live.contains(&m.id.as_str()) {
            "live"
        } else {
            ""
        };
        let values: Vec<String> = m.values.iter().map(|v| format!("{v:.4e}")).collect();
        println!(
            "  {:<4} {:<40} {:>7} {:+.2} ± {:.2}  [{}]",
            mark,
            m.id,
            m.state.label(),
            means.get(i).copied().unwrap_or(mean),
            sd,
            values.join(", ")
        );
    }
}
