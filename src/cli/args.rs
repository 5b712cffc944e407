//! The arguments of each subcommand, one clap `Args` struct per subcommand. Closed sets are
//! `ValueEnum`s (their values appear in `--help` and completions) and the runs directory is one
//! shared group, [`RunsDirArg`], flattened into every subcommand that reads or writes runs.

use crate::backend::BackendKind;
use crate::bench::Workload;
use crate::launch::LauncherKind;
use crate::spec::{BackendChoice, Precision};
use crate::stylize::Direction;
use crate::tui::images::GraphicsMode;
use crate::tui::theme::detect::ThemeChoice;
use std::path::PathBuf;

/// `--runs-dir`, shared by every subcommand that reads or writes runs.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RunsDirArg {
    /// The runs directory (one folder per run, and ratings.jsonl) [default: ATELIER_RUNS_DIR,
    /// else `runs` in the workspace: the nearest of this directory and its parents that has
    /// `runs/` or `experiments/`, as git finds its repository].
    #[arg(long = "runs-dir", value_name = "DIR", env = "ATELIER_RUNS_DIR")]
    pub runs_dir: Option<PathBuf>,
}

impl RunsDirArg {
    /// The directory given, or `runs` in the workspace ([`workspace`]).
    pub fn dir(&self) -> PathBuf {
        self.runs_dir
            .clone()
            .unwrap_or_else(|| workspace().join("runs"))
    }
}

/// `--experiments`, shared by the commands that read or write specs and proposals.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ExperimentsArg {
    /// Where specs are found and proposals written (`proposed/`) [default: ATELIER_EXPERIMENTS,
    /// else `experiments` in the workspace].
    #[arg(long = "experiments", value_name = "DIR", env = "ATELIER_EXPERIMENTS")]
    pub experiments: Option<PathBuf>,
}

impl ExperimentsArg {
    pub fn dir(&self) -> PathBuf {
        self.experiments
            .clone()
            .unwrap_or_else(|| workspace().join("experiments"))
    }
}

/// The workspace: the nearest of the current directory and its parents holding `runs/` or
/// `experiments/` (so `atelier` started in a subdirectory finds its runs), else the current
/// directory. Returned relative (empty for the current directory, `..`, `../..`), so messages
/// stay short (`runs`, `../runs`).
pub fn workspace() -> PathBuf {
    let Ok(cwd) = std::env::current_dir() else {
        return PathBuf::new();
    };
    workspace_from(&cwd).unwrap_or_default()
}

/// [`workspace`] from `start`: the relative path up to the first ancestor with `runs/` or
/// `experiments/`.
pub fn workspace_from(start: &std::path::Path) -> Option<PathBuf> {
    let mut rel = PathBuf::new();
    for dir in start.ancestors() {
        if dir.join("runs").is_dir() || dir.join("experiments").is_dir() {
            return Some(rel);
        }
        rel.push("..");
    }
    None
}

#[derive(clap::Args, Debug)]
pub struct DashboardArgs {
    #[command(flatten)]
    pub runs: RunsDirArg,
    #[command(flatten)]
    pub experiments: ExperimentsArg,
    /// Inline image protocol (auto asks the terminal).
    #[arg(long, value_enum, ignore_case = true, default_value_t = GraphicsMode::Auto)]
    pub graphics: GraphicsMode,
    /// Colours for a light or dark terminal [default: ATELIER_THEME, else auto: the terminal's
    /// background (OSC 11), then COLORFGBG, then dark]. NO_COLOR (set, not empty) turns colours
    /// off unless this or ATELIER_THEME says light or dark.
    #[arg(long, value_enum, ignore_case = true)]
    pub theme: Option<ThemeChoice>,
    /// Where the runs it launches go [default: ATELIER_LAUNCHER, else `launcher` in
    /// atelier.toml beside the runs folder, else local].
    #[arg(long, value_enum)]
    pub launcher: Option<LauncherKind>,
    /// Start in the runs table instead of where the last dashboard left off (the session in
    /// `runs/.atelier-session.json`, which this one then replaces).
    #[arg(long)]
    pub fresh: bool,
}

impl Default for DashboardArgs {
    fn default() -> Self {
        Self {
            runs: RunsDirArg::default(),
            experiments: ExperimentsArg::default(),
            graphics: GraphicsMode::Auto,
            theme: None,
            launcher: None,
            fresh: false,
        }
    }
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
    #[command(flatten)]
    pub runs: RunsDirArg,
    /// Run name (defaults to the experiment name); the run id is <time>-<name>.
    #[arg(long)]
    pub name: Option<String>,
    /// Shortcut for --set train.steps=N.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Shortcut for --set train.backend=B.
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
    /// Shortcut for --set train.device=cuda:N: the N-th GPU CUDA sees (within
    /// CUDA_VISIBLE_DEVICES when set; `atelier gpus` lists them).
    #[arg(long, value_name = "N")]
    pub gpu: Option<usize>,
    /// No terminal output (train.log is still written).
    #[arg(long)]
    pub quiet: bool,
    /// Validate the spec and print the resolved plan; write nothing.
    #[arg(long)]
    pub check: bool,
    /// Train here (local) or submit a batch job (slurm) [default: ATELIER_LAUNCHER, else
    /// `launcher` in atelier.toml beside the runs folder, else local].
    #[arg(long, value_enum)]
    pub launcher: Option<LauncherKind>,
}

#[derive(clap::Args, Debug)]
pub struct RunsArgs {
    #[command(flatten)]
    pub runs: RunsDirArg,
    /// One JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct StylizeArgs {
    /// Run id (or unique prefix) under --runs-dir, or a run directory. Several (`--run A --run
    /// B`): the input under each run's generator, into the folder --output, one `<run id>.png`
    /// (or `<run id>/` for a folder of images) per run.
    #[arg(long, required_unless_present = "all_runs")]
    pub run: Vec<String>,
    /// Every finished run of the workspace with a checkpoint, as with several --run.
    #[arg(long, conflicts_with_all = ["run", "checkpoint"])]
    pub all_runs: bool,
    #[command(flatten)]
    pub runs: RunsDirArg,
    /// Checkpoint step (default: the latest; one --run only).
    #[arg(long)]
    pub checkpoint: Option<u64>,
    /// For cyclegan runs: the generator's direction (default ab).
    #[arg(long, value_enum)]
    pub direction: Option<Direction>,
    /// An image, or a folder of images.
    #[arg(long)]
    pub input: PathBuf,
    /// An image path (.png/.jpg), or a folder when --input is a folder or there are several runs.
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
    /// Move the output's colours onto the painting's (the joint RGB distribution transferred
    /// to the run's style image's) before strength and saturation; single_style runs.
    #[arg(long, conflicts_with = "preserve_color")]
    pub palette: bool,
}

#[derive(clap::Args, Debug)]
pub struct DistillArgs {
    /// The teacher: a finished single_style run (id, unique prefix, name or directory).
    pub run: String,
    #[command(flatten)]
    pub runs: RunsDirArg,
    /// The student generator's width (the teacher's is generator.width).
    #[arg(long)]
    pub width: usize,
    /// The student generator's residual blocks.
    #[arg(long)]
    pub blocks: usize,
    /// Wall-clock budget in minutes (train.max_minutes).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// Training steps (default: as many pixels as the teacher saw: its train.steps times the
    /// square of its crop over the student's).
    #[arg(long)]
    pub steps: Option<u64>,
    /// The student's training crop in pixels, data.image_size (default: the teacher's). Twice
    /// the teacher's in a quarter of the steps scored as close and looked further
    /// (docs/quality.md, "Averaging the generator's weights").
    #[arg(long, value_name = "PX")]
    pub crop: Option<usize>,
    /// The teacher's checkpoint (default: its latest).
    #[arg(long)]
    pub checkpoint: Option<u64>,
    /// Weight of the L1 distance to the teacher's output, beside the recipe's own losses.
    #[arg(long, default_value_t = crate::spec::DistillSpec::default_pixel_weight())]
    pub pixel_weight: f64,
    /// Weight of the feature-net distance to the teacher's output (its strokes, at every tap).
    #[arg(long, default_value_t = crate::spec::DistillSpec::default_feature_weight())]
    pub feature_weight: f64,
    /// Weight of the distance between the two outputs' strokes as distributions (5x5 patches of
    /// their high-pass bands, sliced Wasserstein).
    #[arg(long, default_value_t = crate::spec::DistillSpec::default_stroke_weight())]
    pub stroke_weight: f64,
    /// Blur both outputs (Gaussian sigma, pixels) before the L1, which then holds colours and
    /// shapes and leaves the strokes to --stroke-weight.
    #[arg(long, default_value_t = crate::spec::DistillSpec::default_pixel_blur())]
    pub pixel_blur: f64,
    /// Override a student spec value, e.g. --set loss.style_weight=3 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Run name (default: `<teacher>-w<W>b<B>`).
    #[arg(long)]
    pub name: Option<String>,
    /// No terminal output (train.log is still written).
    #[arg(long)]
    pub quiet: bool,
}

/// `atelier export RUN`: what researchers paste into papers and load into PyTorch.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Run id (or unique prefix, or name) under --runs-dir, or a run directory.
    pub run: String,
    #[command(flatten)]
    pub runs: RunsDirArg,
    /// Every series of metrics.jsonl as CSV: per loss term its raw value and its smoothing by
    /// the dashboard's EMA (`<term>`, `<term>_smooth`).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// The EMA weight of the smoothed columns (0 = raw; the dashboard starts at 0.6).
    #[arg(long, default_value_t = crate::tui::series::DEFAULT_SMOOTHING)]
    pub smoothing: f64,
    /// One probe (--probe) across every sample step as a looping GIF, the step on each frame.
    #[arg(long, value_name = "FILE", requires = "probe")]
    pub gif: Option<PathBuf>,
    /// The probe of --gif, counted from 0 in the dashboard's order (sets sorted, then index).
    #[arg(long, value_name = "N")]
    pub probe: Option<usize>,
    /// Runs x probes at one sample step as one labelled PNG: RUN and the --runs ones.
    #[arg(long, value_name = "FILE")]
    pub contact_sheet: Option<PathBuf>,
    /// The contact sheet's step (default: the latest every run has reached); each run shows its
    /// last sample at or before it.
    #[arg(long, value_name = "S")]
    pub step: Option<u64>,
    /// More runs for the contact sheet, after RUN.
    #[arg(long = "runs", value_name = "A,B,..", value_delimiter = ',')]
    pub more: Vec<String>,
    /// The generator as a PyTorch state dict (safetensors) with the CycleGAN repository's
    /// ResnetGenerator key names (`model.1.weight`, ...).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// The checkpoint of --weights (default: the latest).
    #[arg(long)]
    pub checkpoint: Option<u64>,
    /// For cyclegan runs: which generator --weights writes (default ab).
    #[arg(long, value_enum)]
    pub direction: Option<Direction>,
}

/// `atelier import`: what the CycleGAN repository wrote.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub what: ImportWhat,
}

#[derive(clap::Subcommand, Debug)]
pub enum ImportWhat {
    /// The repository's loss_log.txt as a read-only run (charts, compare overlay, CSV export).
    #[command(name = "cyclegan-log")]
    CycleganLog(ImportLogArgs),
    /// The repository's ResnetGenerator checkpoints (latest_net_G_A.pth, and G_B) as a run
    /// whose checkpoint stylize, the look view and compare use.
    Cyclegan(ImportModelArgs),
}

#[derive(clap::Args, Debug)]
pub struct ImportModelArgs {
    /// The run's name (its id is `<time>-<name>`).
    pub name: String,
    /// The A -> B generator: `checkpoints/<name>/latest_net_G_A.pth` (or a safetensors state
    /// dict with the same keys, as `atelier export --weights` writes).
    #[arg(long, value_name = "FILE")]
    pub weights: PathBuf,
    /// The B -> A generator (`latest_net_G_B.pth`): `stylize --direction ba`.
    #[arg(long, value_name = "FILE")]
    pub weights_ba: Option<PathBuf>,
    /// The generator's --ngf (default: read from the file; the repository's default is 64).
    #[arg(long)]
    pub ngf: Option<usize>,
    /// Its residual blocks, --netG resnet_9blocks / resnet_6blocks (default: read from the
    /// file).
    #[arg(long)]
    pub blocks: Option<usize>,
    #[command(flatten)]
    pub runs: RunsDirArg,
}

#[derive(clap::Args, Debug)]
pub struct ImportLogArgs {
    /// The log (`checkpoints/<name>/loss_log.txt`).
    pub log: PathBuf,
    /// The run's name (its id is `<time>-<name>`).
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub runs: RunsDirArg,
}

/// What `atelier control` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ControlAction {
    Pause,
    Resume,
    Stop,
    Checkpoint,
    /// KEY VALUE: set a live knob.
    Set,
    /// IMAGE: put an output into the critic's real batch.
    #[value(alias = "favour")]
    Favor,
}

#[derive(clap::Args, Debug)]
pub struct ControlArgs {
    /// Run id (or unique prefix) under --runs-dir, or a run directory.
    #[arg(long)]
    pub run: String,
    #[command(flatten)]
    pub runs: RunsDirArg,
    #[arg(value_enum)]
    pub action: ControlAction,
    /// For `set`: the knob (loss.style_weight, optim.lr, ...) and its value. For `favor`: an
    /// image, relative to the run directory (samples/step_N/content_NN_output.png) or not.
    pub args: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    #[arg(long, conflicts_with_all = ["content", "output"])]
    pub run: Option<String>,
    #[command(flatten)]
    pub runs: RunsDirArg,
    /// The photo (or a folder of photos).
    #[arg(long, requires_all = ["style", "output"])]
    pub content: Option<PathBuf>,
    /// The style image (with --content; a run brings its own).
    #[arg(long)]
    pub style: Option<PathBuf>,
    /// The stylized image (or a folder of outputs named like the photos).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Repeatable; default all.
    #[arg(long = "workload", value_enum)]
    pub workloads: Vec<Workload>,
    /// Repeatable; default every backend compiled in (cuda only when a device answers).
    #[arg(long = "backend", value_parser = BenchBackend)]
    pub backends: Vec<BackendKind>,
    /// Seconds to measure each workload (after two warm-up steps).
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Run exactly N steps instead, reporting resident memory after step 100 and the last.
    #[arg(long)]
    pub steps: Option<usize>,
    /// CPU threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Float precision; bf16 runs on CUDA only (the CPU backends are skipped with it).
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub precision: Precision,
}

/// `bench --backend`: the compiled backends (listed by `--help`), and for `cuda` on a build
/// without it, the way to get it instead of clap's bare "invalid value" (exit 2 either way).
#[derive(Clone)]
pub struct BenchBackend;

impl clap::builder::TypedValueParser for BenchBackend {
    type Value = BackendKind;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<BackendKind, clap::Error> {
        if value == "cuda" && !cfg!(feature = "cuda") {
            return Err(clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                "--backend cuda: this build has no CUDA: rebuild with --features cuda (cargo install --path . --features cuda)\n",
            )
            .with_cmd(cmd));
        }
        clap::builder::EnumValueParser::<BackendKind>::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        use clap::ValueEnum;
        Some(Box::new(
            BackendKind::compiled()
                .iter()
                .filter_map(|k| k.to_possible_value()),
        ))
    }
}

#[derive(clap::Args, Debug)]
pub struct GpusArgs {
    #[command(flatten)]
    pub runs: RunsDirArg,
    /// One JSON array (a sample per GPU, with the atelier runs on it) instead of lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ProposeArgs {
    /// The study's spec file (experiments/study.toml) or the name of a study with runs.
    pub study: String,
    #[command(flatten)]
    pub runs: RunsDirArg,
    #[command(flatten)]
    pub experiments: ExperimentsArg,
    /// Launch the proposals (as `study.auto_launch = true` does).
    #[arg(long)]
    pub launch: bool,
    /// Where launched proposals go [default: ATELIER_LAUNCHER, else atelier.toml, else local].
    #[arg(long, value_enum)]
    pub launcher: Option<LauncherKind>,
    /// Write the top predicted configuration (<study>-best.toml) instead, to end the study.
    #[arg(long)]
    pub best: bool,
    /// One JSON object: the members (role live, waiting, retired or dead; the best), their
    /// predicted utilities, the proposals not launched yet and the ones written now.
    #[arg(long)]
    pub json: bool,
    /// The study's seed (its space-filling start and Thompson samples), recorded in every
    /// proposal as `study.seed` [default: the one the study recorded, else a fresh one].
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["worst", "tie", "stars", "undo"])))]
pub struct JudgeArgs {
    /// The study (its name, as in `atelier propose`).
    pub study: String,
    /// This run (id, unique id prefix, or name such as tune-3) is the worst of those shown.
    #[arg(long, value_name = "RUN")]
    pub worst: Option<String>,
    /// Can't tell between the runs shown.
    #[arg(long)]
    pub tie: bool,
    /// N stars (1 to 5) for RUN's output.
    #[arg(long, num_args = 2, value_names = ["N", "RUN"])]
    pub stars: Vec<String>,
    /// Retract a judgement by its id (printed when it was written), or `last`: the study's
    /// newest judgement in force.
    #[arg(long, value_name = "ID")]
    pub undo: Option<String>,
    /// The runs shown together with --worst or --tie [default: the study's grid, as the
    /// dashboard shows it].
    #[arg(long, value_name = "RUN", num_args = 1.., conflicts_with_all = ["stars", "undo"])]
    pub among: Vec<String>,
    /// The sample step judged [default: the latest step every judged run has a sample of].
    #[arg(long)]
    pub step: Option<u64>,
    /// Which probe image (0 = the first of the run's probe list).
    #[arg(long, default_value_t = 0)]
    pub probe: usize,
    #[command(flatten)]
    pub runs: RunsDirArg,
    #[command(flatten)]
    pub experiments: ExperimentsArg,
    /// Print the line written to ratings.jsonl (JSON) instead of a sentence.
    #[arg(long)]
    pub json: bool,
}

/// Shells `atelier completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// e.g. `atelier completions bash > ~/.local/share/bash-completion/completions/atelier`.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Write atelier.1 and one atelier-COMMAND.1 per command into DIR (e.g.
    /// ~/.local/share/man/man1) instead of printing atelier.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct PreviewArgs {
    pub image: PathBuf,
    /// Graphics protocol; auto detects it like the dashboard does. A forced protocol that viuer
    /// cannot send here (inside tmux, or a terminal viuer does not recognise) is an error.
    #[arg(long, value_enum, ignore_case = true, default_value_t = GraphicsMode::Auto)]
    pub graphics: GraphicsMode,
}
