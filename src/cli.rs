//! Command-line interface (clap derive): each subcommand's arguments are turned into a validated
//! request and handed to the library; errors map to exit codes (2 for a bad spec or usage, 1 for
//! a failed run or I/O error). `main.rs` only calls [`main`].

mod commands;
mod propose;

use crate::run_dir::{self, RunDir};
use crate::spec::{self, SpecError};
use crate::store;
use crate::train::session::format_secs;
use crate::train::{self, Outcome, TrainRequest};
use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use commands::{cmd_bench, cmd_control, cmd_eval, cmd_runs, cmd_stylize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "atelier",
    version,
    about = "A terminal workbench for GAN style transfer: train, watch, compare, rate, steer."
)]
pub struct Cli {
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
    Runs {
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Apply a run's generator to images at their full resolution.
    Stylize(StylizeArgs),
    /// Send a command to a running trainer: pause, resume, stop, checkpoint, set KEY VALUE, or
    /// favor IMAGE (steer.favored_fraction > 0: the output joins the critic's real batch).
    Control {
        /// Run id (or unique prefix) under --runs-dir, or a run directory.
        #[arg(long)]
        run: String,
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        /// pause | resume | stop | checkpoint | set | favor
        action: String,
        /// For `set`: the knob (loss.style_weight, optim.lr, ...) and its value. For `favor`: an
        /// image, relative to the run directory (samples/step_N/content_NN_output.png) or not.
        args: Vec<String>,
    },
    /// Score style transfer: structure kept (SSIM), style and texture gains over the untouched
    /// photo, beside the colour-only (histogram-matching) baseline. A run (every sample step of
    /// its probe set), a (content, style, output) triple, or folders matched by file name.
    Eval {
        #[arg(long, conflicts_with_all = ["content", "output"])]
        run: Option<String>,
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        /// The photo (or a folder of photos).
        #[arg(long, requires_all = ["style", "output"])]
        content: Option<PathBuf>,
        /// The style image (with --content; a run brings its own).
        #[arg(long)]
        style: Option<PathBuf>,
        /// The stylized image (or a folder of outputs named like the photos).
        #[arg(long)]
        output: Option<PathBuf>,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Time the PyTorch reference's workloads through atelier's own code (JSON lines).
    Bench {
        /// single_style, cyclegan, stylize512 (repeatable; default all).
        #[arg(long = "workload")]
        workloads: Vec<String>,
        /// flex, ndarray, cuda (repeatable; default every CPU backend, plus cuda when built in).
        #[arg(long = "backend")]
        backends: Vec<String>,
        /// Seconds to measure each workload (after two warm-up steps).
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        /// Run exactly N steps instead, reporting resident memory after step 100 and the last.
        #[arg(long)]
        steps: Option<usize>,
        /// CPU threads (0 = all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Steer a study (a spec with [search]) from the judgements in ratings.jsonl: show the
    /// predicted best, write the next proposals to experiments/proposed/, optionally launch them.
    Propose {
        /// The study's spec file (experiments/study.toml) or the name of a study with runs.
        study: String,
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        #[arg(long, default_value = "experiments")]
        experiments: PathBuf,
        /// Launch the proposals (as `study.auto_launch = true` does).
        #[arg(long)]
        launch: bool,
        /// Write the top predicted configuration (<study>-best.toml) instead, to end the study.
        #[arg(long)]
        best: bool,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Print an image in the terminal (kitty, iTerm2, sixel or half blocks).
    Preview { image: PathBuf },
}

#[derive(clap::Args, Debug, Default)]
pub struct DashboardArgs {
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Where `n` finds experiment specs.
    #[arg(long, default_value = "experiments")]
    pub experiments: PathBuf,
    /// Inline image protocol: auto (ask the terminal), kitty, sixel, iterm2, halfblocks.
    #[arg(long, default_value = "auto")]
    pub graphics: String,
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Experiment spec (experiments/*.toml). Not needed with --resume.
    pub spec: Option<PathBuf>,
    /// Continue a run directory from its latest checkpoint.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// Train the spec.toml of a run directory created by the dashboard's launcher.
    #[arg(long, value_name = "RUN_DIR", hide = true)]
    pub start: Option<PathBuf>,
    /// Override a spec value, e.g. --set loss.style_weight=3 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Run name (defaults to the experiment name); the run id is <time>-<name>.
    #[arg(long)]
    pub name: Option<String>,
    /// Shortcut for --set train.steps=N.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Shortcut for --set train.backend=B (auto, flex, ndarray, cuda).
    #[arg(long)]
    pub backend: Option<String>,
    /// No terminal output (train.log is still written).
    #[arg(long)]
    pub quiet: bool,
    /// Validate the spec and print the resolved plan; write nothing.
    #[arg(long)]
    pub check: bool,
}

#[derive(clap::Args, Debug)]
pub struct StylizeArgs {
    /// Run id (or unique prefix) under --runs-dir, or a run directory.
    #[arg(long)]
    pub run: String,
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Checkpoint step (default: the latest).
    #[arg(long)]
    pub checkpoint: Option<u64>,
    /// For cyclegan runs: ab (default) or ba.
    #[arg(long)]
    pub direction: Option<String>,
    /// An image, or a folder of images.
    #[arg(long)]
    pub input: PathBuf,
    /// An image path (.png/.jpg), or a folder when --input is a folder.
    #[arg(long)]
    pub output: PathBuf,
    /// 0..1: blend between the photo (0) and the full stylization (1).
    #[arg(long, default_value_t = 1.0)]
    pub strength: f32,
    /// Keep the photo's colours; take only the stylized luminance.
    #[arg(long)]
    pub preserve_color: bool,
    /// Chroma multiplier (1 unchanged, 0 greyscale).
    #[arg(long, default_value_t = 1.0)]
    pub saturation: f32,
}

/// Run the CLI; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Cmd::Train(a)) => cmd_train(a),
        Some(Cmd::Runs { runs_dir, json }) => cmd_runs(&runs_dir, json).map(|_| 0),
        Some(Cmd::Stylize(a)) => cmd_stylize(a).map(|_| 0),
        Some(Cmd::Control {
            run,
            runs_dir,
            action,
            args,
        }) => cmd_control(&run, &runs_dir, &action, &args).map(|_| 0),
        Some(Cmd::Propose {
            study,
            runs_dir,
            experiments,
            launch,
            best,
            seed,
        }) => propose::cmd_propose(propose::ProposeArgs {
            target: &study,
            runs_dir: &runs_dir,
            experiments: &experiments,
            launch,
            best,
            seed,
        })
        .map(|_| 0),
        Some(Cmd::Preview { image }) => crate::preview::preview(&image).map(|_| 0),
        Some(Cmd::Dashboard(a)) => cmd_dashboard(a).map(|_| 0),
        Some(Cmd::Eval {
            run,
            runs_dir,
            content,
            style,
            output,
            json,
        }) => cmd_eval(run, &runs_dir, content, style, output, json).map(|_| 0),
        Some(Cmd::Bench {
            workloads,
            backends,
            seconds,
            steps,
            threads,
        }) => cmd_bench(workloads, backends, seconds, steps, threads).map(|_| 0),
        None => cmd_dashboard(DashboardArgs {
            runs_dir: "runs".into(),
            experiments: "experiments".into(),
            graphics: "auto".into(),
        })
        .map(|_| 0),
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

fn cmd_dashboard(a: DashboardArgs) -> Result<()> {
    let graphics: crate::tui::images::GraphicsMode = a
        .graphics
        .parse()
        .map_err(|e| anyhow::anyhow!("--graphics: {e}"))?;
    if !std::io::stdout().is_terminal() {
        bail!("the dashboard needs a terminal (stdout is redirected); use `atelier runs` for a listing");
    }
    crate::tui::run(crate::tui::DashboardOptions {
        runs_dir: a.runs_dir,
        experiments_dir: a.experiments,
        graphics,
    })
}

fn cmd_train(a: TrainArgs) -> Result<i32> {
    let mut overrides = a.overrides.clone();
    if let Some(n) = a.steps {
        overrides.push(format!("train.steps={n}"));
    }
    if let Some(b) = &a.backend {
        overrides.push(format!("train.backend={b}"));
    }
    let (plan, run, resume_from) = match (&a.spec, &a.resume) {
        (None, None) if a.start.is_some() => {
            let run = RunDir::new(a.start.clone().unwrap_or_default());
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
            let run = train::create_run(&plan, &a.runs_dir, a.name.as_deref())?;
            (plan, run, None)
        }
        (None, Some(dir)) => {
            let run = RunDir::new(resolve_run(&dir.display().to_string(), &a.runs_dir)?);
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
        Outcome::Stopped => {
            if !a.quiet {
                eprintln!(
                    "stopped after {took}; continue with: atelier train --resume {}",
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
