//! `atelier eval`: a run's probe scores at every sample step (means over the probes), or
//! stylized files against their photos, as two tables (or JSON lines): how far the output moved
//! toward the painting, then what its fine detail looks like beside the photo's and the
//! painting's.

use super::commands::ProgressBar;
use super::{resolve_run, EvalArgs};
use crate::eval::{run as eval_run, EvalOptions};
use crate::run_dir::{Against, RunDir, ScoreRecord};
use anyhow::{bail, Result};

pub(super) fn cmd_eval(a: EvalArgs) -> Result<()> {
    let (runs_dir, json) = (&a.runs.dir(), a.json);
    let o = EvalOptions::default();
    match (a.run, a.content, a.style, a.output) {
        (Some(r), None, _, None) => {
            let dir = RunDir::new(resolve_run(&r, runs_dir)?);
            let bar = ProgressBar::new("scoring");
            let records = eval_run::score_run(&dir, &o, &|done, all| bar.set(done, all))?;
            bar.finish();
            if json {
                for r in &records {
                    println!("{}", serde_json::to_string(r)?);
                }
                return Ok(());
            }
            let mut steps: Vec<u64> = records.iter().map(|r| r.step).collect();
            steps.dedup();
            let rows: Vec<(String, ScoreRecord)> = steps
                .into_iter()
                .filter_map(|step| {
                    let at: Vec<&ScoreRecord> = records.iter().filter(|r| r.step == step).collect();
                    ScoreRecord::mean(&at).map(|m| (step.to_string(), m))
                })
                .collect();
            print_tables("STEP (mean over probes)", &rows);
            Ok(())
        }
        (None, Some(c), Some(s), Some(out)) => {
            let scores = eval_run::score_paths(&c, &s, &out, &o)?;
            if json {
                for (p, sc) in &scores {
                    let mut v = serde_json::to_value(sc)?;
                    v["output"] = p.display().to_string().into();
                    println!("{v}");
                }
                return Ok(());
            }
            // The same measures as a run's probe records.
            let rows: Vec<(String, ScoreRecord)> = scores
                .iter()
                .map(|(p, sc)| {
                    let name = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    (name, eval_run::record(0, "content", 0, sc))
                })
                .collect();
            print_tables("OUTPUT", &rows);
            Ok(())
        }
        _ => bail!(
            "give --run RUN, or --content PHOTO --style STYLE --output STYLIZED (files or folders)"
        ),
    }
}

/// The scores table, then the fine-detail table, each row labelled in a column as wide as the
/// longest label.
///
/// - DETAIL: fine detail against the painting's (1.00 = as much; the texture gain counts too
///   little and too much alike, this says which).
/// - ORIENT: the fine detail's orientation coherence (0 = no global direction, 1 = a hatch).
/// - WEAVE: its periodicity (the share that is one pattern repeated: a weave or crosshatch,
///   which ORIENT misses when two directions cross).
/// - SPECKLE: the finest detail's colour energy over its light's (a confetti of single coloured
///   pixels scores above 1).
/// - STROKES: its local coherence (1 = each place runs one way, as brush strokes; near 0 =
///   every way, as dabs, noise or a mesh).
///
/// Each of the last four comes with the photo's and the painting's to read it against; "-"
/// stands for a measure that scores logged before it existed lack.
fn print_tables(first: &str, rows: &[(String, ScoreRecord)]) {
    let w = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .chain([first.chars().count()])
        .max()
        .unwrap_or(0);
    println!(
        "{first:<w$} {:>6} {:>11} {:>13} {:>7} {:>14} {:>16} {:>8}",
        "SSIM", "STYLE GAIN", "TEXTURE GAIN", "DETAIL", "COLOUR-ONLY:S", "COLOUR-ONLY:T", "CHECKER"
    );
    for (label, r) in rows {
        let energy = r
            .texture_energy
            .map_or("-".to_string(), |e| format!("{e:.2}"));
        println!(
            "{label:<w$} {:>6.3} {:>+11.3} {:>+13.3} {energy:>7} {:>+14.3} {:>+16.3} {:>8.3}",
            r.ssim,
            r.style_gain,
            r.texture_gain,
            r.histogram_style_gain,
            r.histogram_texture_gain,
            r.checkerboard
        );
    }
    println!();
    let measures = ["ORIENT", "WEAVE", "SPECKLE", "STROKES"];
    let mut header = format!("{first:<w$}");
    for m in measures {
        header.push_str(&format!(" {m:>8} {:>6} {:>9}", "PHOTO", "PAINTING"));
    }
    println!("{header}");
    for (label, r) in rows {
        let mut line = format!("{label:<w$}");
        for a in [r.orientation, r.periodicity, r.speckle, r.coherence] {
            let [o, p, s]: [String; 3] = a.map_or(["-".into(), "-".into(), "-".into()], |a| {
                let Against {
                    output,
                    photo,
                    style,
                } = a;
                [output, photo, style].map(|v| format!("{v:.3}"))
            });
            line.push_str(&format!(" {o:>8} {p:>6} {s:>9}"));
        }
        println!("{line}");
    }
}
