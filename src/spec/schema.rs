//! The experiment spec as written in `experiments/*.toml`: plain serde types with defaults and
//! `deny_unknown_fields`, so a typo is an error rather than a silently ignored knob. Validation of
//! values and files happens in `spec::validate`; nothing here touches burn.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One experiment: everything needed to start a training run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Human name of the experiment; defaults to the spec file's stem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free text shown in listings.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub mode: Mode,
    #[serde(default)]
    pub data: DataSpec,
    #[serde(default)]
    pub generator: GeneratorSpec,
    #[serde(default)]
    pub discriminator: DiscriminatorSpec,
    #[serde(default)]
    pub features: FeaturesSpec,
    #[serde(default)]
    pub loss: LossSpec,
    #[serde(default)]
    pub optim: OptimSpec,
    #[serde(default)]
    pub train: TrainSpec,
    /// A study's search space: dotted key -> range.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub search: BTreeMap<String, SearchRange>,
    /// How a study (a spec with `[search]`) proposes and launches its candidates.
    #[serde(default, skip_serializing_if = "StudySpec::is_default")]
    pub study: StudySpec,
    /// The favoured critic (opt-in, experimental): the file's table keeps its first name,
    /// `[steer]`, so existing specs still load.
    #[serde(default, skip_serializing_if = "FavoredCriticSpec::is_default")]
    pub steer: FavoredCriticSpec,
    /// A distilled run (`atelier distill`): its generator learns to reproduce a finished run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distill: Option<DistillSpec>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    SingleStyle,
    Cyclegan,
}

impl Mode {
    /// The name as written in specs and status files.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::SingleStyle => "single_style",
            Mode::Cyclegan => "cyclegan",
        }
    }
}

/// Where images come from. `content`/`style` for single_style, `a`/`b` for cyclegan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataSpec {
    /// "builtin", a folder, or a list of image files (single_style).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<ImageSource>,
    /// "builtin" or one image file (single_style).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// Domain A: "builtin", a folder or a list of files (cyclegan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<ImageSource>,
    /// Domain B: "builtin", a folder or a list of files (cyclegan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b: Option<ImageSource>,
    /// Training crop size in pixels (square).
    pub image_size: usize,
    /// Content images are resized so their short side is this, then randomly cropped.
    /// Defaults to image_size + image_size / 8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_size: Option<usize>,
    /// The style image is resized so its short side is this before cropping; native if unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style_size: Option<usize>,
    /// Random horizontal flips.
    pub flip: bool,
    /// Exposure jitter of the content crops (single_style): each crop gets a random gamma in
    /// `[2^-exposure, 2^exposure]`, so a generator trained on daylight scenes also sees dark and
    /// washed-out ones (a night photo). 0 = off.
    pub exposure: f64,
    /// Colour jitter of the content crops (single_style): each crop's chroma is turned about the
    /// grey axis by a random angle in `[-180° x color_jitter, 180° x color_jitter]` and scaled by
    /// a random saturation in `[2^-color_jitter, 2^color_jitter]`, its luminance kept, so a
    /// generator trained on a few scenes also sees their colours as other photos have them.
    /// 0 = off.
    pub color_jitter: f64,
    /// Multi-scale content crops (single_style): each crop covers a random square of side
    /// between `image_size` and `crop_scale x image_size` pixels of the loaded image (log-uniform,
    /// at most its short side), resized to `image_size`, so the generator sees the scenes both
    /// close up and whole. 1 = off (every crop at the loaded scale).
    pub crop_scale: f64,
    /// Number of built-in procedural content scenes.
    pub builtin_count: usize,
    /// Number of fixed probe images rendered at every sample step.
    pub probe_count: usize,
    /// Probe images' short side in pixels; defaults to image_size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_size: Option<usize>,
}

impl Default for DataSpec {
    fn default() -> Self {
        Self {
            content: None,
            style: None,
            a: None,
            b: None,
            image_size: 128,
            load_size: None,
            style_size: None,
            flip: true,
            exposure: 0.0,
            color_jitter: 0.0,
            crop_scale: 1.0,
            builtin_count: 64,
            probe_count: 4,
            probe_size: None,
        }
    }
}

impl DataSpec {
    /// Content short side before cropping.
    pub fn load_size(&self) -> u32 {
        self.load_size
            .unwrap_or(self.image_size + self.image_size / 8) as u32
    }
    /// Probe images' short side.
    pub fn probe_size(&self) -> u32 {
        self.probe_size.unwrap_or(self.image_size) as u32
    }
}

/// A set of images: "builtin", a folder path, or a list of file paths.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ImageSource {
    One(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Upsample {
    /// ConvTranspose 3x3 stride 2 (CycleGAN's reference; can leave a checkerboard).
    Transpose,
    /// Nearest 2x resize followed by a 3x3 convolution.
    Resize,
    /// Bilinear 2x resize followed by a 3x3 convolution: no pixel of the resize's output
    /// repeats its neighbour, so the stage itself cannot lay a 2-pixel grid.
    Bilinear,
}

/// How the generator's two stride-2 convolutions pad their input.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DownPadding {
    /// One pixel of zeros (CycleGAN's reference). The zeros tell the network where the image
    /// ends, and on small crops it learns bands parallel to the edges (docs/quality.md).
    Zero,
    /// One mirrored pixel, like every other convolution of the generator.
    Reflect,
}

/// What sets the generator's output colours (`generator.palette`).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Palette {
    /// The network's own output.
    #[default]
    None,
    /// Each output's per-channel mean is set to the painting's; its spread stays the network's.
    Mean,
    /// Each output's per-channel mean and standard deviation are set to the painting's (single
    /// style): an instance normalisation of the RGB output whose affine is the painting's colour
    /// statistics, saved with the weights.
    Moments,
    /// Each output's joint RGB distribution is moved onto the painting's, as `stylize
    /// --palette` does, inside the generator (the gradient passed straight through; single
    /// style).
    Joint,
}

/// ResNet generator: G(width, blocks).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorSpec {
    pub width: usize,
    pub blocks: usize,
    pub upsample: Upsample,
    /// Predict a change to the photo instead of a new image: output = tanh(net + atanh(photo)).
    /// Training starts from (nearly) the photo itself, so structure is kept from step 0 and the
    /// steps go into colour and texture: much better in short CPU budgets (docs/quality.md).
    pub residual: bool,
    pub down_padding: DownPadding,
    /// Standard deviation of a noise channel fed to the generator beside the photo (single_style;
    /// 0 = none). A fully convolutional generator maps a flat region wider than what it sees to a
    /// flat output; the noise gives it something to paint strokes from there. Fresh noise at every
    /// training step; a fixed field when stylizing, so outputs are reproducible.
    pub noise: f64,
    /// Size in pixels of one cell of the noise field: 1 draws a value per pixel; larger values
    /// draw one per `noise_scale` x `noise_scale` cell and interpolate bilinearly between them,
    /// so the generator gets smooth blobs to paint larger dabs from instead of per-pixel grain.
    pub noise_scale: usize,
    /// With `residual`: the photo the change is added to is first blurred (Gaussian, this sigma in
    /// pixels; 0 = off). The photo's own fine detail then no longer passes straight through, so
    /// the output's fine detail is what the generator paints: a busy photo does not come out
    /// busier than the painting. The generator still sees the sharp photo.
    pub residual_blur: f64,
    /// Hidden width of a per-pixel colour path (0 = off): two 1x1 convolutions of the photo's
    /// own RGB, whose output is added to the head's before the tanh. Every layer of the main path
    /// is instance-normalised, which removes the photo's absolute colour levels, so its change
    /// cannot depend on them; this path can, so the network can learn a colour mapping (dark
    /// blues to the painting's blues) that applies to any photo. Starts as a no-op (its second
    /// convolution is zero).
    pub color_map: usize,
    /// The painting's colours by construction (single_style): an instance-normalising palette
    /// head after the tanh (`train/model/palette.rs`). The main path's instance norms hide a
    /// photo's overall colour level from the network, so without it a night photo stays dark and
    /// a noon one pale whatever the painting is (docs/quality.md, issue 26).
    pub palette: Palette,
    /// Hidden width of a global colour path (0 = off; `train/model/global_color.rs`): a small
    /// network reads the whole photo's per-channel mean and spread and picks a colour matrix and
    /// bias for the whole output, so a night photo and a noon one can be mapped differently onto
    /// the painting's palette, which no instance-normalised layer can see. Starts as a no-op.
    pub global_color: usize,
}

impl Default for GeneratorSpec {
    fn default() -> Self {
        Self {
            width: 32,
            blocks: 6,
            upsample: Upsample::Transpose,
            residual: false,
            down_padding: DownPadding::Zero,
            noise: 0.0,
            noise_scale: 1,
            residual_blur: 0.0,
            color_map: 0,
            palette: Palette::None,
            global_color: 0,
        }
    }
}

/// PatchGAN discriminator: D(width, layers).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DiscriminatorSpec {
    pub width: usize,
    pub layers: usize,
    /// Image scales the critic judges (1 = full resolution only; 2 and 3 add copies of the same
    /// PatchGAN on 2x and 4x average-pooled images, each with its own weights): coarse scales see
    /// whole brush strokes, the full-resolution one the weave of the paint.
    pub scales: usize,
}

impl Default for DiscriminatorSpec {
    fn default() -> Self {
        Self {
            width: 32,
            layers: 3,
            scales: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FeatureNetKind {
    /// A fixed, seeded random convolutional pyramid (offline, no download).
    Random,
    /// torchvision VGG19 weights supplied by the user (`weights`).
    Vgg19,
}

/// The fixed network whose activations define content and style losses.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FeaturesSpec {
    pub net: FeatureNetKind,
    /// Path to torchvision VGG19 weights (`.pth` or `.safetensors`) when net = "vgg19".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    /// Seed of the random pyramid's weights.
    pub seed: u64,
    /// Channel widths of the random pyramid, one per level.
    pub widths: Vec<usize>,
    /// Softmax over each image's activations of a level (divided by this temperature) before the
    /// style statistics (Gram and SWD), as in Wang, Li and Vasconcelos (CVPR 2021); 0 = off
    /// (single_style).
    pub softmax_temperature: f64,
    /// Each step, the feature losses see output, photo and style crops turned by one random
    /// multiple of 90 degrees and maybe mirrored: the same as turning the fixed filters, so the
    /// losses prefer no stroke direction (single_style).
    pub rotate: bool,
}

impl Default for FeaturesSpec {
    fn default() -> Self {
        Self {
            net: FeatureNetKind::Random,
            weights: None,
            seed: 7,
            widths: vec![32, 64, 128],
            softmax_temperature: 0.0,
            rotate: false,
        }
    }
}

/// Loss weights. Those that do not apply to the mode must stay at their defaults.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LossSpec {
    pub adversarial_weight: f64,
    pub content_weight: f64,
    pub style_weight: f64,
    pub tv_weight: f64,
    pub cycle_weight: f64,
    pub identity_weight: f64,
    /// History pool of generated images shown to the discriminators (cyclegan; 0 disables).
    pub pool_size: usize,
    /// Sliced-Wasserstein style loss on the feature net's activations (single_style; 0 = off):
    /// the distributions of feature vectors of output and style crops, projected on random
    /// directions and compared sorted. Matches more than Gram's second moments.
    pub swd_weight: f64,
    /// Random directions per feature level for `swd_weight`, drawn afresh each step.
    pub swd_directions: usize,
    /// Sliced-Wasserstein loss on the RGB values of output and style crops (single_style; 0 =
    /// off): pins the palette, where the feature losses let some seeds settle on one corner of
    /// it (docs/quality.md, seventh session). Uses `swd_directions` directions.
    pub color_weight: f64,
    /// The colour term compares `color_pool` x `color_pool`-averaged pixels (1, 2, 4, 8 or 16):
    /// above 1 it sees only the low frequencies, the palette without the strokes.
    pub color_pool: usize,
    /// What the colour term's pixels are matched to: each output crop to the step's paired
    /// style crop (`crops`), or the whole batch to the whole painting's pixels (`painting`).
    pub color_reference: ColorReference,
    /// The weave term (single_style; 0 = off): `atelier eval`'s weave measure of the output's
    /// fine detail (the share of its windowed spectrum in peaks: one pattern repeated) as a loss.
    pub weave_weight: f64,
    /// The spectrum term (single_style; 0 = off): the mean square log ratio of the output's
    /// fine-detail power spectrum (windowed, as the weave term's, averaged over the square's
    /// symmetries) to the painting's averaged around its rings, so the detail is spread over the
    /// painting's scales in every direction alike: neither one repeated pattern, nor blur, nor a
    /// mesh of its strokes' directions crossed (issue 26, docs/quality.md).
    pub spectrum_weight: f64,
    /// The chroma spectrum term (single_style; 0 = off): the same as `spectrum_weight` for the
    /// colour's fine detail (the Cb and Cr planes), so the colour varies at the painting's
    /// stroke scale and not from pixel to pixel (a speckle the luminance does not show).
    pub chroma_spectrum_weight: f64,
    /// The flow term (single_style; 0 = off): the shortfall of the output's stroke coherence
    /// (its fine detail's structure tensor over a few pixels) along the photo's shapes (the
    /// photo's own structure tensor over a wider window) below the painting's coherence, so the
    /// detail is drawn as strokes that follow the picture: not dabs, a mesh, or one hatch.
    pub flow_weight: f64,
    /// The stroke term (single_style; 0 = off): the sliced Wasserstein distance between the
    /// 5x5 patches of the output's high-pass band (image minus its sigma-2 blur) and those of the
    /// step's style crops: the painting's strokes as a distribution, the one `atelier eval`'s
    /// texture gain compares, without the palette.
    pub stroke_weight: f64,
    /// Divide the content, style, SWD and color losses by their targets' mean square, so the
    /// weights no longer depend on the feature net's scale (random pyramid or VGG19): with it,
    /// weights of order 1 balance the terms.
    pub normalize: bool,
}

impl Default for LossSpec {
    fn default() -> Self {
        Self {
            adversarial_weight: 1.0,
            content_weight: 1.0,
            style_weight: 1000.0,
            tv_weight: 0.0,
            cycle_weight: 10.0,
            identity_weight: 5.0,
            pool_size: 50,
            swd_weight: 0.0,
            swd_directions: 32,
            color_weight: 0.0,
            color_pool: 1,
            color_reference: ColorReference::Crops,
            weave_weight: 0.0,
            spectrum_weight: 0.0,
            chroma_spectrum_weight: 0.0,
            flow_weight: 0.0,
            stroke_weight: 0.0,
            normalize: false,
        }
    }
}

/// The colour term's reference (`loss.color_reference`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ColorReference {
    /// Each output crop against the step's paired style crop.
    #[default]
    Crops,
    /// The batch's pixels against a sample of the whole painting's, as one distribution.
    Painting,
}

/// Adam for generator(s) and discriminator(s).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OptimSpec {
    /// Learning rate of both players unless lr_g / lr_d are given.
    pub lr: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_g: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_d: Option<f64>,
    pub beta1: f64,
    pub beta2: f64,
}

impl Default for OptimSpec {
    fn default() -> Self {
        Self {
            lr: 2e-4,
            lr_g: None,
            lr_d: None,
            beta1: 0.5,
            beta2: 0.999,
        }
    }
}

/// `train.backend` (and `atelier train --backend`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    Auto,
    Flex,
    Ndarray,
    Cuda,
}

/// `train.precision`: the float type a run computes in. `bf16` (bfloat16, burn's `Cuda<bf16>`)
/// runs on CUDA only; checkpoints are written as f32 either way, so `stylize` and `resume` read
/// them whatever precision wrote them.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }
}

/// `train.device`: where a run computes. `cuda:N` is the N-th GPU CUDA sees, i.e. within
/// `CUDA_VISIBLE_DEVICES` when it is set; `cuda` is `cuda:0`; `auto` is CUDA's first GPU when the
/// backend resolves to CUDA (the dashboard and studies place each new run on the GPU with the most
/// free memory instead), else the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Cuda(usize),
}

impl DeviceChoice {
    pub fn parse(s: &str) -> Result<DeviceChoice, String> {
        match s.trim() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n < 1024)
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| {
                    format!("must be \"auto\", \"cpu\", \"cuda\" or \"cuda:N\" (N a GPU index), got \"{other}\"")
                }),
        }
    }
}

/// Loop lengths, intervals and the compute backend.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSpec {
    pub steps: u64,
    pub batch_size: usize,
    pub log_every: u64,
    pub sample_every: u64,
    pub checkpoint_every: u64,
    /// How many step checkpoints to keep on disk (the latest is always kept).
    pub keep_checkpoints: usize,
    pub seed: u64,
    pub backend: BackendChoice,
    /// `auto`, `cpu`, `cuda` or `cuda:N` (see [`DeviceChoice`]); `atelier train --gpu N`.
    pub device: String,
    /// `f32` or `bf16` (CUDA only; see [`Precision`]).
    pub precision: Precision,
    /// CPU threads for the ndarray/flex backends; 0 means all cores.
    pub threads: usize,
    /// Wall-clock budget in minutes (0 = none): when it runs out the run stops as if asked to,
    /// with a checkpoint, whatever `steps` says. Paused time does not count.
    pub max_minutes: f64,
    /// Mirror metrics, probe images, the spec and searched hyperparameters into
    /// `runs/<id>/tb/` as TensorBoard event files.
    pub tensorboard: bool,
    /// Decay of an exponential moving average of the generator's weights (single_style; 0 =
    /// off): the averaged generator renders the probes and is the one `stylize` loads
    /// (`train/ema.rs`). A GAN's live generator swings from step to step with its critic.
    pub ema: f64,
}

impl Default for TrainSpec {
    fn default() -> Self {
        Self {
            steps: 1000,
            batch_size: 4,
            log_every: 10,
            sample_every: 100,
            checkpoint_every: 500,
            keep_checkpoints: 5,
            seed: 42,
            backend: BackendChoice::Auto,
            device: "auto".into(),
            precision: Precision::F32,
            threads: 0,
            max_minutes: 0.0,
            tensorboard: true,
            ema: 0.0,
        }
    }
}

/// A search range over one numeric hyperparameter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SearchRange {
    pub min: f64,
    pub max: f64,
    /// Search on a log scale (both bounds must then be > 0).
    #[serde(default)]
    pub log: bool,
    /// Round proposals to integers (widths, block counts).
    #[serde(default)]
    pub integer: bool,
}

/// Settings of a study: the spec's `[search]` space explored from the user's judgements.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StudySpec {
    /// The study this spec belongs to; defaults to the spec's name. Proposals keep it while
    /// their own names are numbered (`<study>-<n>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Launch each proposal at once, so the best-of-4 grid keeps four live candidates.
    pub auto_launch: bool,
    /// Candidates judged side by side (the grid): 2 to 4.
    pub candidates: usize,
    /// Stop proposing after this many runs in the study.
    pub max_runs: usize,
    /// How the next candidate is chosen: "thompson" (a joint posterior sample's argmax; the
    /// default, lower regret in docs/preferences.md) or "expected_improvement" (over the best
    /// tried, on the joint posterior of the difference).
    pub acquisition: crate::prefs::gp::Acquisition,
    /// The seed of the study's random draws (its space-filling start, Thompson samples). When
    /// absent, the first proposal draws one; every proposal records it here, so a study can be
    /// replayed (`atelier propose --seed N` sets it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl Default for StudySpec {
    fn default() -> Self {
        Self {
            name: None,
            auto_launch: false,
            candidates: 4,
            max_runs: 32,
            acquisition: crate::prefs::gp::Acquisition::default(),
            seed: None,
        }
    }
}

impl StudySpec {
    /// The study a spec belongs to: only a spec with a `[search]` space is in one.
    pub fn of(spec: &Spec) -> Option<String> {
        if spec.search.is_empty() {
            return None;
        }
        spec.study.name.clone().or_else(|| spec.name.clone())
    }

    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// A student generator trained to reproduce a teacher's outputs (single_style): the recipe's own
/// losses plus the L1 and feature distances to the teacher generator's output on the same
/// content batch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DistillSpec {
    /// The teacher run's directory.
    pub teacher: String,
    /// The teacher run's id: the student's parent, shown in the runs table.
    pub parent: String,
    /// The teacher's checkpoint step.
    pub checkpoint: u64,
    /// Weight of the L1 distance to the teacher's output.
    #[serde(default = "DistillSpec::default_pixel_weight")]
    pub pixel_weight: f64,
    /// Weight of the distance between student's and teacher's outputs in the feature net, at
    /// every tap (the content loss's distance): the teacher's strokes as a target, which the
    /// pixel L1 alone blurs into their average.
    #[serde(default = "DistillSpec::default_feature_weight")]
    pub feature_weight: f64,
    /// Weight of the sliced Wasserstein distance between the 5x5 patches of the two outputs'
    /// high-pass bands, per image: the teacher's strokes as a distribution, not pixel for pixel
    /// (a per-position distance settles on the strokes' average, a smoother picture). Absent
    /// from a spec (one written before the term existed): 0, so such a run resumes as it began;
    /// `atelier distill` writes [`DistillSpec::default_stroke_weight`].
    #[serde(default)]
    pub stroke_weight: f64,
    /// Sigma in pixels of a Gaussian blur of both outputs before the L1 (0 = none): the L1 then
    /// holds the student to the teacher's colours and shapes and leaves the strokes to
    /// `stroke_weight`. Absent: 0, as `stroke_weight`; `atelier distill` writes
    /// [`DistillSpec::default_pixel_blur`].
    #[serde(default)]
    pub pixel_blur: f64,
}

impl DistillSpec {
    // The defaults are the recipe measured best in docs/quality.md ("The teacher's strokes as a
    // distribution"): texture within 0.05 of the teacher where the L1 alone lost 0.07-0.22.
    pub fn default_pixel_weight() -> f64 {
        20.0
    }

    pub fn default_feature_weight() -> f64 {
        0.0
    }

    pub fn default_stroke_weight() -> f64 {
        1.0
    }

    pub fn default_pixel_blur() -> f64 {
        2.0
    }
}

/// The preference-weighted discriminator: outputs the user rated highly join the
/// discriminator's real batch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FavoredCriticSpec {
    /// Expected share of the discriminator's real batch taken by favoured outputs (0 = off,
    /// at most 0.15).
    pub favored_fraction: f64,
    /// Steps after which a favoured output stops being used.
    pub favored_ttl: u64,
}

impl Default for FavoredCriticSpec {
    fn default() -> Self {
        Self {
            favored_fraction: 0.0,
            favored_ttl: 200,
        }
    }
}

impl FavoredCriticSpec {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}
