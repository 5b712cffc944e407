//! `atelier bench`: the three workloads of `shared/bench/torch_reference.py`, run through
//! atelier's own training and inference code (the same `Gan::step` the trainer runs), on each
//! backend compiled in, printing one JSON line per workload and backend in the reference's
//! format so `bench/compare.py` can put atelier and PyTorch side by side.
//!
//! - single_style: batch 4 at 128x128, G(32, 6) with transposed convolutions, D(32, 3), random
//!   feature pyramid (32, 64, 128), content MSE + Gram MSE x 1e3 + LSGAN; one D and one G update.
//! - cyclegan: batch 1 at 128x128, G_AB, G_BA = G(64, 9), D_A, D_B = D(64, 3), cycle 10,
//!   identity 5; one update of both generators and both critics.
//! - stylize512: G(32, 6) forward on one 512x512 image on the inference backend (no autodiff).

use crate::backend::{dispatch_on, init_threads, on_pool, BackendKind, WithBackend};
use crate::spec;
use crate::spec::Precision;
use crate::train::model::Generator;
use crate::train::{Gan, Knobs};
use anyhow::Result;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;
use std::time::Instant;

/// A workload of the reference (`--workload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    #[value(name = "single_style")]
    SingleStyle,
    Cyclegan,
    Stylize512,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::SingleStyle => "single_style",
            Workload::Cyclegan => "cyclegan",
            Workload::Stylize512 => "stylize512",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub workload: String,
    pub backend: String,
    /// `f32` or `bf16`.
    pub precision: String,
    pub threads: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms_per_image: Option<f64>,
    pub steps: usize,
    pub seconds: f64,
    /// Resident memory after the run, MB.
    pub rss_mb: f64,
    /// Resident memory every 100 steps and after the last step, MB (with --steps).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rss_at: Vec<(usize, f64)>,
}

const SINGLE: &str = r#"mode = "single_style"
[data]
content = "builtin"
style = "builtin"
image_size = 128
builtin_count = 8
flip = false
[generator]
width = 32
blocks = 6
upsample = "transpose"
[discriminator]
width = 32
layers = 3
[loss]
content_weight = 1.0
style_weight = 1000.0
[train]
batch_size = 4
"#;

const CYCLE: &str = r#"mode = "cyclegan"
[data]
a = "builtin"
b = "builtin"
image_size = 128
builtin_count = 8
flip = false
[generator]
width = 64
blocks = 9
upsample = "transpose"
[discriminator]
width = 64
layers = 3
[loss]
cycle_weight = 10.0
identity_weight = 5.0
pool_size = 0
[train]
batch_size = 1
"#;

/// Current resident set size in MB (Linux /proc), 0 when unknown.
pub fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<f64>().ok())
        })
        .map_or(0.0, |pages| pages * 4096.0 / 1_048_576.0)
}

/// Run one workload on one backend for `seconds` (at least 3 measured steps after warm-up), or
/// exactly `steps` steps when given.
pub fn run(
    workload: Workload,
    backend: BackendKind,
    precision: Precision,
    seconds: f64,
    steps: Option<usize>,
    threads: usize,
) -> Result<BenchResult> {
    let threads = init_threads(threads);
    let job = Job {
        workload,
        seconds,
        steps,
    };
    let mut r = on_pool(|| dispatch_on(backend, 0, precision, job))?;
    r.backend = backend.name().to_string();
    r.precision = precision.name().to_string();
    r.threads = threads;
    Ok(r)
}

/// One workload's measurement, as a job for [`dispatch`].
struct Job {
    workload: Workload,
    seconds: f64,
    steps: Option<usize>,
}

impl WithBackend for Job {
    type Output = BenchResult;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<BenchResult> {
        run_on::<B>(self.workload, self.seconds, self.steps, device)
    }
}

fn sync<B: Backend>(device: &B::Device) {
    let _ = B::sync(device);
}

fn run_on<B: AutodiffBackend>(
    workload: Workload,
    seconds: f64,
    steps: Option<usize>,
    device: B::Device,
) -> Result<BenchResult> {
    let result = |images_per_s, ms_per_image, n, el, rss_at| BenchResult {
        workload: workload.name().into(),
        backend: String::new(),
        precision: String::new(),
        threads: 0,
        images_per_s,
        ms_per_image,
        steps: n,
        seconds: el,
        rss_mb: rss_mb(),
        rss_at,
    };
    let text = match workload {
        Workload::SingleStyle => SINGLE,
        Workload::Cyclegan => CYCLE,
        Workload::Stylize512 => {
            let (n, el) = stylize512::<B::InnerBackend>(seconds, steps, &device);
            return Ok(result(
                None,
                Some(1000.0 * el / n as f64),
                n,
                el,
                Vec::new(),
            ));
        }
    };
    let plan = spec::parse(text, std::path::Path::new("bench.toml"), &[])?;
    let knobs = Knobs::from_spec(&plan.spec);
    let mut gan: Box<dyn Gan> = match plan.spec.mode {
        spec::Mode::SingleStyle => {
            Box::new(crate::train::single_style::SingleStyle::<B>::new(&plan, &device)?.0)
        }
        spec::Mode::Cyclegan => {
            Box::new(crate::train::cyclegan::CycleGan::<B>::new(&plan, &device)?.0)
        }
    };
    let batch = gan.images_per_step();
    let mut rng = crate::rng::Rng::new(1);
    let (n, el, rss_at) = timed(
        || {
            gan.step(&mut rng, &knobs);
        },
        2,
        seconds,
        steps,
        || sync::<B>(&device),
    );
    Ok(result(Some((batch * n) as f64 / el), None, n, el, rss_at))
}

/// The stylize512 workload on an inference backend: (runs, seconds).
fn stylize512<B: Backend>(seconds: f64, steps: Option<usize>, device: &B::Device) -> (usize, f64) {
    let g = Generator::<B>::new(
        &spec::GeneratorSpec {
            width: 32,
            blocks: 6,
            upsample: spec::Upsample::Transpose,
            residual: false,
            down_padding: spec::DownPadding::Zero,
            noise: 0.0,
            noise_scale: 1,
            residual_blur: 0.0,
            color_map: 0,
            palette: spec::Palette::None,
            global_color: 0,
        },
        device,
    );
    let x = Tensor::<B, 4>::random(
        [1, 3, 512, 512],
        burn::tensor::Distribution::Uniform(-1.0, 1.0),
        device,
    );
    let once = || {
        let _ = g.forward(x.clone()).into_data();
    };
    let (n, el, _) = timed(once, 2, seconds, steps, || sync::<B>(device));
    (n, el)
}

/// Warm up, then run until `seconds` have passed (and at least 3 runs) or exactly `steps` runs.
fn timed(
    mut f: impl FnMut(),
    warmup: usize,
    seconds: f64,
    steps: Option<usize>,
    sync: impl Fn(),
) -> (usize, f64, Vec<(usize, f64)>) {
    for _ in 0..warmup {
        f();
    }
    sync();
    let start = Instant::now();
    let mut n = 0;
    let mut rss_at = Vec::new();
    loop {
        f();
        n += 1;
        sync();
        if steps.is_some() && (n % 100 == 0 || Some(n) == steps) {
            rss_at.push((n, rss_mb()));
        }
        let el = start.elapsed().as_secs_f64();
        let done = match steps {
            Some(s) => n >= s,
            None => el >= seconds && n >= 3,
        };
        if done {
            return (n, el, rss_at);
        }
    }
}
