//! `atelier judge STUDY --worst RUN [--among RUN…] | --tie | --stars N RUN | --undo ID`: one
//! judgement appended to `ratings.jsonl`, exactly as the dashboard writes it (`study::judge`).
//! Prints the line's id (for `--undo`) and, with `--json`, the line itself.

use super::JudgeArgs;
use crate::study::judge::{self, Request, Verdict};
use anyhow::{Context, Result};

pub(super) fn cmd_judge(a: JudgeArgs) -> Result<()> {
    let runs_dir = &a.runs.dir();
    let study = crate::study::Study::load(runs_dir, &a.study, None)?;
    let verdict = if let Some(run) = a.worst {
        Verdict::Worst {
            run,
            among: a.among,
        }
    } else if a.tie {
        Verdict::Tie { among: a.among }
    } else if let [n, run] = a.stars.as_slice() {
        let n: u8 = n
            .parse()
            .ok()
            .filter(|n| (1..=5).contains(n))
            .with_context(|| format!("--stars N RUN: N is 1 to 5, not `{n}`"))?;
        Verdict::Stars {
            n,
            run: run.clone(),
        }
    } else {
        Verdict::Undo {
            id: a.undo.unwrap_or_default(),
        }
    };
    let req = Request {
        verdict,
        step: a.step,
        probe: a.probe,
    };
    let done = judge::judge(&study, runs_dir, &a.experiments.dir(), &req)?;
    if a.json {
        println!("{}", serde_json::to_string(&done.rating)?);
    } else {
        let at = match (done.rating.step, done.rating.probe) {
            (Some(s), Some(p)) => format!(" at step {s}, probe {p}"),
            _ => String::new(),
        };
        println!("{} {}{at}", done.rating.id, done.rating.describe());
    }
    for line in done.also {
        eprintln!("{line}");
    }
    Ok(())
}
