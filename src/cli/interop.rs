//! `atelier export`: a run's series as CSV, one probe's progress as a GIF, a contact sheet of
//! runs × probes, the generator as a PyTorch state dict; `atelier import`: the CycleGAN
//! repository's loss log as a run (see `interop`).

use super::{resolve_run, ExportArgs, ImportArgs, ImportWhat};
use crate::interop::{anim, imported, samples::RunSamples, sheet, table, torch};
use crate::run_dir::{self, MetricRow, RunDir};
use anyhow::{bail, Context, Result};

pub(super) fn cmd_export(a: ExportArgs) -> Result<()> {
    if a.csv.is_none() && a.gif.is_none() && a.contact_sheet.is_none() && a.weights.is_none() {
        bail!("nothing to export: give --csv, --gif, --contact-sheet or --weights");
    }
    if a.probe.is_some() && a.gif.is_none() {
        bail!("--probe goes with --gif");
    }
    if (a.step.is_some() || !a.more.is_empty()) && a.contact_sheet.is_none() {
        bail!("--step and --runs go with --contact-sheet");
    }
    let runs_dir = a.runs.dir();
    let run = RunDir::new(resolve_run(&a.run, &runs_dir)?);
    if let Some(out) = &a.csv {
        let rows: Vec<MetricRow> = run_dir::read_lines(&run.path(run_dir::METRICS));
        if rows.is_empty() {
            bail!("run {} has no metrics yet", run.id());
        }
        if !(0.0..1.0).contains(&a.smoothing) {
            bail!("--smoothing must be in [0, 1), got {}", a.smoothing);
        }
        std::fs::write(out, table::csv(&rows, a.smoothing))
            .with_context(|| format!("writing {}", out.display()))?;
        println!(
            "{} rows, {} terms -> {}",
            rows.len(),
            table::term_names(&rows).len(),
            out.display()
        );
    }
    if let (Some(out), Some(n)) = (&a.gif, a.probe) {
        let frames = anim::export(&RunSamples::read(&run), n, out)?;
        println!("{frames} frames of probe {n} -> {}", out.display());
    }
    if let Some(out) = &a.contact_sheet {
        let mut runs = vec![run.clone()];
        for r in &a.more {
            runs.push(RunDir::new(resolve_run(r, &runs_dir)?));
        }
        println!("{}", sheet::write(&runs, a.step, out)?);
    }
    if let Some(out) = &a.weights {
        let device = Default::default();
        let (g, step, spec) = crate::stylize::load_generator::<burn::backend::Flex>(
            &run,
            a.checkpoint,
            a.direction,
            &device,
        )?;
        let layout = torch::layout_of(&spec.generator)?;
        torch::write_safetensors(&torch::state_dict(&g, layout)?, out)?;
        println!(
            "generator of {} at step {step} (ngf {}, {} blocks) -> {}",
            run.id(),
            layout.ngf,
            layout.blocks,
            out.display()
        );
    }
    Ok(())
}

pub(super) fn cmd_import(a: ImportArgs) -> Result<()> {
    match a.what {
        ImportWhat::CycleganLog(a) => {
            let (run, parsed) = imported::import_log(&a.log, &a.runs.dir(), &a.name)?;
            let terms = table::term_names(&parsed.rows);
            println!(
                "{} rows (steps {}..{}) of {} -> {}",
                parsed.rows.len(),
                parsed.rows.first().map_or(0, |r| r.step),
                parsed.rows.last().map_or(0, |r| r.step),
                terms.join(", "),
                run.root.display()
            );
            if parsed.replaced > 0 {
                println!(
                    "{} rows replaced by a later start of training that logged the same steps",
                    parsed.replaced
                );
            }
            if !parsed.malformed.is_empty() {
                let first: Vec<String> = parsed
                    .malformed
                    .iter()
                    .take(5)
                    .map(|n| n.to_string())
                    .collect();
                eprintln!(
                    "skipped {} malformed line(s) (line {}{})",
                    parsed.malformed.len(),
                    first.join(", "),
                    if parsed.malformed.len() > 5 {
                        ", ..."
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }
        ImportWhat::Cyclegan(a) => {
            let (run, layout) = imported::import_generators(
                &a.runs.dir(),
                &a.name,
                &a.weights,
                a.weights_ba.as_deref(),
                a.ngf,
                a.blocks,
            )?;
            println!(
                "CycleGAN generator{} (ngf {}, {} blocks) -> {}",
                if a.weights_ba.is_some() {
                    "s ab and ba"
                } else {
                    " ab"
                },
                layout.ngf,
                layout.blocks,
                run.root.display()
            );
            Ok(())
        }
    }
}
