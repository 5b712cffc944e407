//! The reporting and control subcommands: `runs`, `stylize`, `control`, `bench`, `gpus`. Each
//! turns validated arguments into library calls and prints the result.

use super::{resolve_run, BenchArgs, ControlAction, ControlArgs, GpusArgs, RunsArgs, StylizeArgs};
use crate::backend::BackendKind;
use crate::bench::Workload;
use crate::numbers::format_loss;
use crate::run_dir::{self, Command, ControlLine, RunDir};
use crate::spec::Precision;
use crate::store;
use crate::stylize::{self, Look};
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use std::path::Path;

/// Exit 2 (a usage error) when `--backend cuda` names a device this machine does not have.
pub(super) fn cmd_bench(a: BenchArgs) -> Result<i32> {
    if a.backends.contains(&BackendKind::Cuda) && !crate::backend::cuda_available(0) {
        eprintln!("error: --backend cuda: no usable CUDA device (is the NVIDIA driver installed and a GPU visible? `atelier gpus` lists them)");
        return Ok(2);
    }
    let workloads = if a.workloads.is_empty() {
        <Workload as clap::ValueEnum>::value_variants().to_vec()
    } else {
        a.workloads
    };
    let mut backends = if a.backends.is_empty() {
        BackendKind::usable()
    } else {
        a.backends
    };
    if a.precision == Precision::Bf16 {
        backends.retain(|&b| b == BackendKind::Cuda);
        if backends.is_empty() {
            eprintln!("error: --precision bf16 runs on CUDA only, and no CUDA backend is usable here (`atelier gpus` lists the GPUs)");
            return Ok(2);
        }
    }
    for &w in &workloads {
        for &b in &backends {
            let r = crate::bench::run(w, b, a.precision, a.seconds, a.steps, a.threads)?;
            let mut v = serde_json::to_value(&r)?;
            v["atelier"] = env!("CARGO_PKG_VERSION").into();
            println!("{v}");
        }
    }
    Ok(0)
}

/// `atelier gpus`: one line per GPU and one per atelier run on it, or `--json`.
pub(super) fn cmd_gpus(a: GpusArgs) -> Result<()> {
    use crate::gpu::{self, GpuSource};
    let Some(gpus) = gpu::Nvml::shared().sample().filter(|g| !g.is_empty()) else {
        if a.json {
            println!("[]");
        } else {
            println!("{}", gpu::NO_GPU);
        }
        return Ok(());
    };
    let runs = store::scan(&a.runs.dir());
    if a.json {
        let rows: Vec<serde_json::Value> = gpus
            .iter()
            .map(|g| {
                let mut v = serde_json::to_value(g).unwrap_or_default();
                v["runs"] = gpu::runs_on(g, &runs)
                    .iter()
                    .map(|(r, _)| r.id.clone())
                    .collect::<Vec<_>>()
                    .into();
                v
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let visible = gpu::visible(&gpus, gpu::visible_env().as_deref());
    for g in &gpus {
        let ordinal = visible
            .iter()
            .position(|i| *i == g.index)
            .map_or("not visible to CUDA".to_string(), |o| format!("cuda:{o}"));
        println!("{}  {}  ({ordinal})", g.summary(), g.name);
        for (r, mem) in gpu::runs_on(g, &runs) {
            let mem = mem.map_or(String::new(), |m| format!(", {} GiB", gpu::gib(m)));
            println!("    {} (pid {}{mem})", r.id, r.pid.unwrap_or(0));
        }
    }
    if let Some(notice) = gpu::no_cuda_notice(Some(&gpus)) {
        println!("{notice}");
    }
    Ok(())
}

pub(super) fn cmd_runs(a: RunsArgs) -> Result<()> {
    let runs_dir = &a.runs.dir();
    // One scheduler query for every Slurm run (none when no run went through Slurm).
    let jobs = match crate::slurm::poll(runs_dir) {
        Some(Err(e)) => {
            eprintln!("note: slurm: {e:#} (Slurm runs judged by their heartbeat)");
            None
        }
        other => other.and_then(Result::ok),
    };
    let runs = store::scan_with(runs_dir, jobs.as_ref());
    if a.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(());
    }
    if runs.is_empty() {
        println!(
            "no runs in {} (start one: atelier train experiments/quickstart.toml)",
            runs_dir.display()
        );
        return Ok(());
    }
    println!(
        "{:<40} {:<10} {:>13} {:>9} {:>9} {:>8}  WHERE",
        "RUN", "STATE", "STEP", "G_ADV", "D_TOTAL", "IMG/S"
    );
    for r in runs {
        let loss = |k: &str| {
            r.last
                .as_ref()
                .and_then(|m| m.losses.get(k))
                .map_or("-".to_string(), |v| format_loss(*v))
        };
        let ips = r
            .images_per_s
            .map_or("-".to_string(), |v| format!("{v:.1}"));
        println!(
            "{:<40} {:<10} {:>13} {:>9} {:>9} {:>8}  {}{}",
            r.id,
            r.state.label(),
            format!("{}/{}", r.step, r.total_steps),
            loss("g_adv"),
            loss("d_total"),
            ips,
            r.place(),
            r.parent
                .as_ref()
                .map_or(String::new(), |p| format!("  distilled from {p}"))
        );
    }
    Ok(())
}

pub(super) fn cmd_stylize(a: StylizeArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&a.strength) {
        bail!("--strength must be between 0 and 1, got {}", a.strength);
    }
    if !(0.0..=4.0).contains(&a.saturation) {
        bail!("--saturation must be between 0 and 4, got {}", a.saturation);
    }
    let look = Look {
        strength: a.strength,
        preserve_color: a.preserve_color,
        saturation: a.saturation,
        palette: a.palette,
    };
    let runs_dir = a.runs.dir();
    let bar = ProgressBar::new("stylizing");
    let progress = |done, all| bar.set(done, all);
    let (written, skipped) = if let [one] = a.run.as_slice() {
        let run = RunDir::new(resolve_run(one, &runs_dir)?);
        stylize::stylize_paths(
            &run,
            a.checkpoint,
            a.direction,
            &a.input,
            &a.output,
            look,
            &progress,
        )?
    } else {
        if a.checkpoint.is_some() {
            bail!("--checkpoint applies to one --run only (several runs use their latest)");
        }
        let runs: Vec<RunDir> = if a.all_runs {
            let all: Vec<RunDir> = stylize::finished(&store::scan(&runs_dir))
                .into_iter()
                .map(RunDir::new)
                .filter(|r| r.latest_checkpoint().is_some())
                .collect();
            if all.is_empty() {
                bail!(
                    "--all-runs: no finished run with a checkpoint under {}",
                    runs_dir.display()
                );
            }
            all
        } else {
            a.run
                .iter()
                .map(|r| resolve_run(r, &runs_dir).map(RunDir::new))
                .collect::<Result<_>>()?
        };
        if a.output.is_file() {
            bail!(
                "--output {} is a file; with several runs it names a folder (one image per run)",
                a.output.display()
            );
        }
        stylize::stylize_runs(&runs, a.direction, &a.input, &a.output, look, &progress)?
    };
    bar.finish();
    for s in &skipped {
        eprintln!("skipped unreadable image {s}");
    }
    for w in &written {
        println!("{}", w.display());
    }
    Ok(())
}

pub(super) fn cmd_control(a: ControlArgs) -> Result<()> {
    let dir = RunDir::new(resolve_run(&a.run, &a.runs.dir())?);
    let command = match (a.action, a.args.as_slice()) {
        (ControlAction::Pause, []) => Command::Pause,
        (ControlAction::Resume, []) => Command::Resume,
        (ControlAction::Stop, []) => Command::Stop,
        (ControlAction::Checkpoint, []) => Command::Checkpoint,
        (ControlAction::Set, [key, value]) => {
            let value: f64 = value
                .parse()
                .with_context(|| format!("`{value}` is not a number"))?;
            // Checked here exactly as the trainer will check it, so a typo fails at once
            // instead of as a `rejected` event.
            crate::train::Knobs::from_spec(&crate::store::read_spec(&dir)?)
                .set(key, value)
                .map_err(anyhow::Error::msg)?;
            Command::Set {
                key: key.clone(),
                value,
            }
        }
        (ControlAction::Favor, [image]) => Command::Favor {
            image: favor_path(&dir, image),
        },
        _ => bail!(
            "usage: atelier control --run RUN pause|resume|stop|checkpoint|set KEY VALUE|favor IMAGE"
        ),
    };
    let id = format!("cli-{}", (run_dir::now() * 1000.0) as u64);
    if command == Command::Stop && dir.path(crate::slurm::JOB).is_file() {
        println!("{}", crate::launch::stop(&dir, &id)?);
        return Ok(());
    }
    crate::train::control::send(
        &dir,
        &ControlLine {
            id: Some(id.clone()),
            command,
        },
    )?;
    let action = a.action.to_possible_value().expect("no action is skipped");
    println!(
        "sent {} to {} (id {id}); the trainer acknowledges in events.jsonl",
        action.get_name(),
        dir.id()
    );
    Ok(())
}

/// The image of `favor` as the trainer resolves it (absolute, or relative to the run directory):
/// a path that exists only relative to the current directory (`runs/<id>/samples/...`) is made
/// absolute, and relative to the run again when it lies inside it.
fn favor_path(run: &RunDir, image: &str) -> String {
    let p = Path::new(image);
    if p.is_absolute() || run.root.join(p).exists() || !p.exists() {
        return image.to_string();
    }
    let Ok(abs) = std::fs::canonicalize(p) else {
        return image.to_string();
    };
    std::fs::canonicalize(&run.root)
        .ok()
        .and_then(|root| abs.strip_prefix(root).ok().map(Path::to_path_buf))
        .unwrap_or(abs)
        .display()
        .to_string()
}

/// A progress bar on stderr for a long command (as `train` has), only on a terminal: a script
/// reading stdout or stderr gets no bar lines.
pub(super) struct ProgressBar(Option<indicatif::ProgressBar>);

impl ProgressBar {
    pub(super) fn new(what: &'static str) -> Self {
        use std::io::IsTerminal;
        Self(std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{elapsed_precise}] {bar:30} {pos}/{len} eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message(what);
            bar
        }))
    }

    pub(super) fn set(&self, done: usize, all: usize) {
        if let Some(b) = &self.0 {
            b.set_length(all as u64);
            b.set_position(done as u64);
        }
    }

    pub(super) fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
