//! `atelier distill RUN --width W --blocks B`: a smaller generator trained to reproduce a finished
//! single_style run's. The student's spec is the teacher's (same content data, style, probes and
//! losses) with the generator's width and blocks changed (and, with `--crop`, other crops in
//! proportionally more or fewer steps), no study, and a `[distill]`
//! table naming the teacher's directory, id and checkpoint; the single_style recipe then adds
//! the L1 to the teacher's output (`train/single_style.rs`). Trains in this process, like
//! `atelier train`.

use super::{resolve_run, DistillArgs};
use crate::run_dir::RunDir;
use crate::spec::{self, DistillSpec, Mode};
use crate::train::{self, Outcome, TrainRequest};
use anyhow::{bail, Context, Result};
use std::io::IsTerminal;

/// The student's spec as TOML: the teacher's spec with the student's generator and the link.
pub fn student_spec(teacher: &RunDir, a: &DistillArgs, checkpoint: u64) -> Result<String> {
    let mut s = crate::store::read_spec(teacher)?;
    if s.mode != Mode::SingleStyle {
        bail!(
            "run {} is a {} run: distill takes a single_style run's generator",
            teacher.id(),
            s.mode.as_str()
        );
    }
    let name = a.name.clone().unwrap_or_else(|| {
        format!(
            "{}-w{}b{}",
            crate::run_dir::run_name(&teacher.id()),
            a.width,
            a.blocks
        )
    });
    s.name = Some(name);
    s.description = format!("distilled from {}", teacher.id());
    s.generator.width = a.width;
    s.generator.blocks = a.blocks;
    let teacher_crop = s.data.image_size;
    let crop = a.crop.unwrap_or(teacher_crop);
    if crop != teacher_crop {
        // The probes stay the teacher's (the run view compares the two on them), and each
        // image is loaded as much larger than the crop as the teacher's were.
        s.data.probe_size = Some(s.data.probe_size() as usize);
        s.data.load_size = s.data.load_size.map(|l| l * crop / teacher_crop);
        s.data.image_size = crop;
        s.train.steps =
            (s.train.steps * (teacher_crop * teacher_crop) as u64 / (crop * crop) as u64).max(1);
    }
    s.search.clear();
    s.study = Default::default();
    s.distill = Some(DistillSpec {
        teacher: teacher.root.display().to_string(),
        parent: teacher.id(),
        checkpoint,
        pixel_weight: a.pixel_weight,
        feature_weight: a.feature_weight,
        stroke_weight: a.stroke_weight,
        pixel_blur: a.pixel_blur,
    });
    if let Some(steps) = a.steps {
        s.train.steps = steps;
    }
    if let Some(m) = a.minutes {
        s.train.max_minutes = m;
    }
    toml::to_string_pretty(&s).context("writing the student's spec")
}

pub(super) fn cmd_distill(a: DistillArgs) -> Result<i32> {
    let runs_dir = a.runs.dir();
    let teacher = RunDir::new(resolve_run(&a.run, &runs_dir)?);
    let checkpoint = match a.checkpoint {
        Some(c) => c,
        None => teacher
            .latest_checkpoint()
            .with_context(|| format!("run {} has no checkpoint yet", teacher.id()))?,
    };
    let text = student_spec(&teacher, &a, checkpoint)?;
    let source = teacher.path(crate::run_dir::SPEC);
    let plan = spec::parse(&text, &source, &a.overrides)?;
    let run = train::create_run(&plan, &runs_dir, None)?;
    if !a.quiet {
        eprintln!(
            "run {} -> {} (student G({}, {}) of {} at step {checkpoint})",
            run.id(),
            run.root.display(),
            a.width,
            a.blocks,
            teacher.id()
        );
    }
    let outcome = train::train(TrainRequest {
        plan,
        run: run.clone(),
        resume_from: None,
        quiet: a.quiet,
        progress: std::io::stderr().is_terminal(),
    })?;
    Ok(match outcome {
        Outcome::Finished => {
            if !a.quiet {
                eprintln!(
                    "finished: stylize with `atelier stylize --run {}`",
                    run.id()
                );
            }
            0
        }
        Outcome::Stopped(_) => 0,
        Outcome::Failed(m) => {
            eprintln!("error: run {} failed: {m}", run.id());
            1
        }
    })
}
