//! Command-line interface (clap derive): each subcommand's arguments are turned into a validated
//! request and handed to the library; errors map to exit codes (2 for a bad spec or usage, 1 for
//! a failed run or I/O error). `main.rs` only calls [`main`].

mod args;
mod commands;
mod distill;
mod eval;
mod interop;
mod judge;
mod propose;

pub use args::*;

use crate::numbers::format_secs;
use crate::run_dir::{self, RunDir};
use crate::spec::{self, SpecError};
use crate::store;
use crate::train::{self, Outcome, TrainRequest};
use anyhow::{bail, Result};
use clap::{Parser, Subcommand, ValueEnum};
use commands::{cmd_bench, cmd_control, cmd_gpus, cmd_runs, cmd_stylize};
use eval::cmd_eval;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "atelier",
    version,
    about = "A terminal workbench for GAN style transfer: train, watch, compare, rate, steer.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Without a subcommand: the dashboard, with its options (`atelier --runs-dir DIR`).
    #[command(flatten)]
    pub dashboard: DashboardArgs,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// The full-screen dashboard over the runs directory (the default command).
    Dashboard(DashboardArgs),
    /// Train an experiment spec into a new run directory (or resume one).
    Train(TrainArgs),
    /// List runs with their state, progress and last losses.
    Runs(RunsArgs),
    /// Apply a run's generator to images at their full resolution.
    Stylize(StylizeArgs),
    /// Train a smaller generator (a student) to reproduce a finished single_style run's (the
    /// teacher's) outputs: a new run, linked to its parent, whose generator stylize, the look
    /// preview, compare and best-of-4 use like any other.
    Distill(DistillArgs),
    /// Send a command to a running trainer: pause, resume, stop, checkpoint, set KEY VALUE, or
    /// favor IMAGE (steer.favored_fraction > 0: the output joins the critic's real batch).
    Control(ControlArgs),
    /// Score style transfer: structure kept (SSIM), style and texture gains over the untouched
    /// photo, beside the colour-only (histogram-matching) baseline. A run (every sample step of
    /// its probe set), a (content, style, output) triple, or folders matched by file name.
    Eval(EvalArgs),
    /// Time the PyTorch reference's workloads through atelier's own code (JSON lines).
    Bench(BenchArgs),
    /// The NVIDIA GPUs (NVML): utilisation, memory, power, temperature and the atelier runs on
    /// each.
    Gpus(GpusArgs),
    /// Steer a study (a spec with [search]) from the judgements in ratings.jsonl: show the
    /// predicted best, write the next proposals to experiments/proposed/, optionally launch them.
    Propose(ProposeArgs),
    /// Judge a study's runs without the dashboard, writing the very lines its grid writes:
    /// --worst RUN [--among RUN…], --tie, --stars N RUN, or --undo ID.
    Judge(JudgeArgs),
    /// Export a run: its series as CSV, a probe's progress as GIF, a contact sheet of runs x
    /// probes as PNG, its generator as a PyTorch state dict (safetensors).
    Export(ExportArgs),
    /// Import what the CycleGAN repository (junyanz/pytorch-CycleGAN-and-pix2pix) wrote: its
    /// loss_log.txt as a read-only run, its generators (.pth) as a run to stylize with.
    Import(ImportArgs),
    /// Print an image in the terminal (kitty, iTerm2, sixel or half blocks).
    Preview(PreviewArgs),
    /// Print a shell completion script (bash, zsh or fish) for atelier and its subcommands.
    Completions(CompletionsArgs),
    /// Print atelier's manual page (roff: `atelier man > atelier.1; man ./atelier.1`), or write
    /// one page per command with --dir.
    Man(ManArgs),
}

/// Run the CLI; returns the process exit code.
pub fn main() -> i32 {
    crate::gpu::pin_device_order();
    let cli = Cli::parse();
    if !matches!(cli.command, Some(Cmd::Train(_))) {
        quiet_on_closed_stdout();
    }
    let result = match cli.command {
        Some(Cmd::Train(a)) => cmd_train(a),
        Some(Cmd::Runs(a)) => cmd_runs(a).map(|_| 0),
        Some(Cmd::Stylize(a)) => cmd_stylize(a).map(|_| 0),
        Some(Cmd::Distill(a)) => distill::cmd_distill(a),
        Some(Cmd::Control(a)) => cmd_control(a).map(|_| 0),
        Some(Cmd::Propose(a)) => propose::cmd_propose(a).map(|_| 0),
        Some(Cmd::Judge(a)) => judge::cmd_judge(a).map(|_| 0),
        Some(Cmd::Export(a)) => interop::cmd_export(a).map(|_| 0),
        Some(Cmd::Import(a)) => interop::cmd_import(a).map(|_| 0),
        Some(Cmd::Preview(a)) => crate::preview::preview(&a.image, a.graphics).map(|_| 0),
        Some(Cmd::Dashboard(a)) => cmd_dashboard(a).map(|_| 0),
        Some(Cmd::Eval(a)) => cmd_eval(a).map(|_| 0),
        Some(Cmd::Bench(a)) => cmd_bench(a),
        Some(Cmd::Gpus(a)) => cmd_gpus(a).map(|_| 0),
        Some(Cmd::Completions(a)) => completions(a.shell).map(|_| 0),
        Some(Cmd::Man(a)) => man_page(a).map(|_| 0),
        None => cmd_dashboard(cli.dashboard).map(|_| 0),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(se) = e.downcast_ref::<SpecError>() {
                eprintln!("error: {se}");
                2
            } else {
                eprintln!("error: {e:#}");
                1
            }
        }
    }
}

/// `atelier propose | head`: a command whose reader went away ends quietly, as `ls | head` does,
/// instead of panicking in `println!` with "Broken pipe". Rust ignores SIGPIPE, so this puts
/// back the default action. Not for `train`, whose writer drops lines a closed stdout refuses
/// and trains on (and its own children reset SIGPIPE to ignored at start).
fn quiet_on_closed_stdout() {
    // SAFETY: setting a signal's disposition to its default, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The completion script for `shell`, from the same clap definition as the parser.
fn completions(shell: Shell) -> Result<()> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let out = &mut std::io::stdout();
    match shell {
        Shell::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "atelier", out)
        }
        Shell::Zsh => clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, "atelier", out),
        Shell::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, "atelier", out)
        }
    }
    Ok(())
}

/// The manual page (roff) on stdout, or with `--dir` one page per command written there
/// (`atelier.1`, `atelier-propose.1`, …).
fn man_page(a: ManArgs) -> Result<()> {
    use clap::CommandFactory;
    use std::io::Write;
    let cmd = Cli::command();
    match a.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            clap_mangen::generate_to(cmd, &dir)?;
            eprintln!("wrote the manual pages to {}", dir.display());
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            std::io::stdout().write_all(&out)?;
        }
    }
    Ok(())
}

fn cmd_dashboard(a: DashboardArgs) -> Result<()> {
    if let Some(k) = a.launcher {
        crate::launch::choose(k);
    }
    if !std::io::stdout().is_terminal() {
        bail!("the dashboard needs a terminal (stdout is redirected); use `atelier runs` for a listing");
    }
    crate::tui::run(crate::tui::DashboardOptions {
        runs_dir: a.runs.dir(),
        experiments_dir: a.experiments.dir(),
        graphics: a.graphics,
        theme: a.theme,
        fresh: a.fresh,
    })
}

fn cmd_train(a: TrainArgs) -> Result<i32> {
    let mut overrides = a.overrides.clone();
    if let Some(n) = a.steps {
        overrides.push(format!("train.steps={n}"));
    }
    if let Some(b) = a.backend.and_then(|b| b.to_possible_value()) {
        overrides.push(format!("train.backend={}", b.get_name()));
    }
    if let Some(n) = a.gpu {
        overrides.push(format!("train.device=cuda:{n}"));
    }
    if let Some(k) = a.launcher {
        crate::launch::choose(k);
    }
    if a.start.is_none() && !a.check {
        if let Some(code) = submit_train(&a, &overrides)? {
            return Ok(code);
        }
    }
    let (plan, run, resume_from) = match (&a.spec, &a.resume) {
        (None, None) if a.start.is_some() => {
            let run = RunDir::new(a.start.clone().unwrap_or_default());
            train::prepare_restart(&run)?;
            (spec::load(&run.path(run_dir::SPEC), &overrides)?, run, None)
        }
        (Some(_), Some(_)) => bail!("give either a spec or --resume RUN_DIR, not both"),
        (None, None) => bail!("give a spec (e.g. experiments/quickstart.toml) or --resume RUN_DIR"),
        (Some(spec_path), None) => {
            let plan = spec::load(spec_path, &overrides)?;
            if a.check {
                print!("{}", plan.resolved_toml());
                return Ok(0);
            }
            let run = train::create_run(&plan, &a.runs.dir(), a.name.as_deref())?;
            (plan, run, None)
        }
        (None, Some(dir)) => {
            let run = RunDir::new(resolve_run(&dir.display().to_string(), &a.runs.dir())?);
            let (plan, from) = train::prepare_resume(&run, &overrides)?;
            if a.check {
                print!("{}", plan.resolved_toml());
                return Ok(0);
            }
            (plan, run, Some(from))
        }
    };
    if !a.quiet {
        eprintln!("run {} -> {}", run.id(), run.root.display());
        let gpus = crate::gpu::GpuSource::sample(&mut crate::gpu::Nvml::shared());
        if let Some(notice) = crate::gpu::no_cuda_notice(gpus.as_deref()) {
            eprintln!("note: {notice}");
        }
    }
    let progress = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let outcome = train::train(TrainRequest {
        plan,
        run: run.clone(),
        resume_from,
        quiet: a.quiet,
        progress,
    })?;
    let took = format_secs(started.elapsed().as_secs_f64());
    Ok(match outcome {
        Outcome::Finished => {
            if !a.quiet {
                eprintln!(
                    "finished in {took}: samples in {}/samples, checkpoints in {}/checkpoints",
                    run.root.display(),
                    run.root.display()
                );
            }
            0
        }
        Outcome::Stopped(why) => {
            if !a.quiet {
                eprintln!(
                    "stopped ({why}) after {took}; continue with: atelier train --resume {}",
                    run.root.display()
                );
            }
            0
        }
        Outcome::Failed(m) => {
            eprintln!("error: run {} failed: {m}", run.id());
            1
        }
    })
}

/// `atelier train` under the Slurm launcher: submit (or resume) as a batch job and return; `None`
/// when the launcher is local (train in this process).
fn submit_train(a: &TrainArgs, overrides: &[String]) -> Result<Option<i32>> {
    let runs_dir = a.runs.dir();
    let launcher = crate::launch::Launcher::for_workspace(&runs_dir)?;
    if launcher.kind() == crate::launch::LauncherKind::Local {
        return Ok(None);
    }
    let run = match (&a.spec, &a.resume) {
        (Some(spec_path), None) => {
            launcher.launch(spec_path, overrides, &runs_dir, a.name.as_deref())?
        }
        (None, Some(dir)) if overrides.is_empty() => {
            let run = RunDir::new(resolve_run(&dir.display().to_string(), &runs_dir)?);
            launcher.resume(&run)?;
            run
        }
        (None, Some(_)) => bail!("--set with --resume trains here only: add --launcher local, or submit the resume without overrides"),
        _ => return Ok(None),
    };
    let job = crate::slurm::JobRecord::read(&run).map_or_else(|| "?".into(), |r| r.job_id);
    println!("{}", run.root.display());
    if !a.quiet {
        eprintln!(
            "submitted run {} as Slurm job {job} (script: {}); watch it with `atelier runs` or the dashboard",
            run.id(),
            run.path(crate::slurm::SCRIPT).display()
        );
    }
    Ok(Some(0))
}

/// A run given as a directory, an id under `runs_dir`, a unique id prefix, or an experiment
/// name (the newest run of that name).
pub fn resolve_run(arg: &str, runs_dir: &Path) -> Result<PathBuf> {
    let p = Path::new(arg);
    if p.join(run_dir::SPEC).is_file() {
        return Ok(p.to_path_buf());
    }
    let direct = runs_dir.join(arg);
    if direct.join(run_dir::SPEC).is_file() {
        return Ok(direct);
    }
    let runs = store::scan(runs_dir);
    let prefixed: Vec<_> = runs.iter().filter(|r| r.id.starts_with(arg)).collect();
    if prefixed.len() == 1 {
        return Ok(PathBuf::from(&prefixed[0].dir));
    }
    // Newest first, so the first run with this name is the latest.
    if let Some(r) = runs
        .iter()
        .find(|r| r.name == arg || r.id.ends_with(&format!("-{arg}")))
    {
        return Ok(PathBuf::from(&r.dir));
    }
    match prefixed.len() {
        0 => bail!(
            "no run `{arg}` (not a run directory, a run id, nor an experiment name under {})",
            runs_dir.display()
        ),
        n => bail!(
            "`{arg}` matches {n} runs: {}",
            prefixed
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
