//! Checks a parsed spec field by field and resolves its image sources: value ranges, mode-specific
//! required fields, architecture constraints (sizes that survive the downsampling), and the files
//! themselves (style image readable and at least as large as a crop, folders holding images).

use super::{
    get_number, BackendChoice, DeviceChoice, DistillSpec, FeatureNetKind, ImageSource, Mode, Plan,
    Precision, Spec, SpecError, StudySpec,
};
use crate::terms::{Knob, Range};
use std::path::{Path, PathBuf};

/// Image extensions the data loader reads.
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg"];

/// A resolved set of images.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageSet {
    /// Procedural scenes generated from the seed.
    Builtin,
    /// Image files (folders are expanded recursively, sorted).
    Files(Vec<PathBuf>),
}

/// The one style image of a single_style run.
#[derive(Debug, Clone, PartialEq)]
pub enum StyleSource {
    Builtin,
    File(PathBuf),
}

type Check = Result<(), SpecError>;

pub(crate) fn validate(mut spec: Spec, file: &Path) -> Result<Plan, SpecError> {
    let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    check_numbers(&spec, file)?;
    let (images_a, style, images_b) = match spec.mode {
        Mode::SingleStyle => {
            forbid(
                spec.data.a.is_some(),
                file,
                "data.a",
                "only for mode = \"cyclegan\"",
            )?;
            forbid(
                spec.data.b.is_some(),
                file,
                "data.b",
                "only for mode = \"cyclegan\"",
            )?;
            let content = spec.data.content.as_mut().ok_or_else(|| {
                SpecError::new(file, "data.content", "required for mode = \"single_style\" (\"builtin\", a folder, or a list of images)")
            })?;
            let images = resolve_set(content, &base, file, "data.content")?;
            let data = spec.data.clone();
            let style_raw = spec.data.style.as_mut().ok_or_else(|| {
                SpecError::new(
                    file,
                    "data.style",
                    "required for mode = \"single_style\" (\"builtin\" or an image file)",
                )
            })?;
            let style = if style_raw == "builtin" {
                StyleSource::Builtin
            } else {
                let p = absolute(&base, style_raw);
                check_style_image(&p, &data, file)?;
                *style_raw = p.display().to_string();
                StyleSource::File(p)
            };
            (images, Some(style), None)
        }
        Mode::Cyclegan => {
            forbid(
                spec.data.content.is_some(),
                file,
                "data.content",
                "only for mode = \"single_style\"; use data.a",
            )?;
            forbid(
                spec.data.style.is_some(),
                file,
                "data.style",
                "only for mode = \"single_style\"; use data.b",
            )?;
            forbid(
                spec.generator.noise > 0.0,
                file,
                "generator.noise",
                "only for mode = \"single_style\"",
            )?;
            // The content crops' augmentations: single_style's content set has no counterpart.
            for (on, field, what) in [
                (
                    spec.data.exposure > 0.0,
                    "data.exposure",
                    "jitters the content photos",
                ),
                (
                    spec.data.color_jitter > 0.0,
                    "data.color_jitter",
                    "jitters the content photos",
                ),
                (
                    spec.data.crop_scale > 1.0,
                    "data.crop_scale",
                    "scales the content crops",
                ),
            ] {
                let why = format!("only for mode = \"single_style\" (it {what})");
                forbid(on, file, field, &why)?;
            }
            let a = spec.data.a.as_mut().ok_or_else(|| {
                SpecError::new(
                    file,
                    "data.a",
                    "required for mode = \"cyclegan\" (a folder of domain A images)",
                )
            })?;
            let a = resolve_set(a, &base, file, "data.a")?;
            let b = spec.data.b.as_mut().ok_or_else(|| {
                SpecError::new(
                    file,
                    "data.b",
                    "required for mode = \"cyclegan\" (a folder of domain B images)",
                )
            })?;
            let b = resolve_set(b, &base, file, "data.b")?;
            (a, None, Some(b))
        }
    };
    if spec.features.net == FeatureNetKind::Vgg19 {
        let w = spec.features.weights.as_mut().ok_or_else(|| {
            SpecError::new(file, "features.weights", "net = \"vgg19\" needs the path of torchvision VGG19 weights (.pth or .safetensors)")
        })?;
        let p = absolute(&base, w);
        let ext = extension(&p);
        if !matches!(ext.as_str(), "pth" | "pt" | "safetensors") {
            return Err(SpecError::new(
                file,
                "features.weights",
                format!("{} is not a .pth, .pt or .safetensors file", p.display()),
            ));
        }
        if !p.is_file() {
            return Err(SpecError::new(
                file,
                "features.weights",
                format!("{} does not exist", p.display()),
            ));
        }
        *w = p.display().to_string();
    }
    if spec.train.backend == BackendChoice::Cuda && !cfg!(feature = "cuda") {
        return Err(SpecError::new(file, "train.backend", "\"cuda\" needs a build with `--features cuda`; use \"auto\", \"flex\" or \"ndarray\" here"));
    }
    device(file, &spec.train)?;
    precision(file, &spec.train)?;
    for (key, range) in &spec.search {
        let field = format!("search.\"{key}\"");
        if get_number(&spec, key).is_none() {
            return Err(SpecError::new(
                file,
                field,
                format!("`{key}` is not a numeric field of the spec"),
            ));
        }
        if !(range.min.is_finite() && range.max.is_finite() && range.min < range.max) {
            return Err(SpecError::new(
                file,
                field,
                format!("needs finite min < max, got {} .. {}", range.min, range.max),
            ));
        }
        if range.log && range.min <= 0.0 {
            return Err(SpecError::new(
                file,
                field,
                "a log-scale range needs min > 0",
            ));
        }
    }
    if spec.study != StudySpec::default() && spec.search.is_empty() {
        return Err(SpecError::new(
            file,
            "study",
            "a [study] needs a [search] table with at least one range",
        ));
    }
    if !(2..=4).contains(&spec.study.candidates) {
        return Err(SpecError::new(
            file,
            "study.candidates",
            format!("must be 2 to 4, got {}", spec.study.candidates),
        ));
    }
    if spec.study.max_runs < spec.study.candidates {
        return Err(SpecError::new(
            file,
            "study.max_runs",
            format!(
                "must be at least study.candidates ({}), got {}",
                spec.study.candidates, spec.study.max_runs
            ),
        ));
    }
    if !(0.0..=0.15).contains(&spec.steer.favored_fraction) {
        return Err(SpecError::new(
            file,
            "steer.favored_fraction",
            format!(
                "must be in 0 ..= 0.15 (a share of the real batch), got {}",
                spec.steer.favored_fraction
            ),
        ));
    }
    if let Some(d) = &spec.distill {
        validate_distill(d, spec.mode, file)?;
    }
    if spec.steer.favored_ttl == 0 {
        return Err(SpecError::new(
            file,
            "steer.favored_ttl",
            "must be at least 1 step",
        ));
    }
    let name = spec.name.clone().unwrap_or_else(|| {
        file.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "experiment".into())
    });
    if name.is_empty()
        || name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return Err(SpecError::new(
            file,
            "name",
            "must be non-empty, without slashes or control characters",
        ));
    }
    Ok(Plan {
        spec,
        name,
        source: file.to_path_buf(),
        images_a,
        style,
        images_b,
    })
}

fn check_numbers(s: &Spec, file: &Path) -> Check {
    let d = &s.data;
    range(file, "data.image_size", d.image_size as f64, 16.0, 4096.0)?;
    if !d.image_size.is_multiple_of(4) {
        return Err(SpecError::new(
            file,
            "data.image_size",
            format!(
                "must be a multiple of 4 (the generator downsamples twice), got {}",
                d.image_size
            ),
        ));
    }
    range(
        file,
        "discriminator.scales",
        s.discriminator.scales as f64,
        1.0,
        3.0,
    )?;
    let min_for_d = 3 << (s.discriminator.layers.min(8) + s.discriminator.scales - 1);
    if d.image_size < min_for_d {
        return Err(SpecError::new(
            file,
            "data.image_size",
            format!(
                "{} is too small for a discriminator with {} layers at {} scales (needs >= {min_for_d})",
                d.image_size, s.discriminator.layers, s.discriminator.scales
            ),
        ));
    }
    if let Some(l) = d.load_size {
        if l < d.image_size {
            return Err(SpecError::new(
                file,
                "data.load_size",
                format!("must be >= data.image_size ({}), got {l}", d.image_size),
            ));
        }
    }
    if let Some(st) = d.style_size {
        if st < d.image_size {
            return Err(SpecError::new(
                file,
                "data.style_size",
                format!("must be >= data.image_size ({}), got {st}", d.image_size),
            ));
        }
    }
    if let Some(p) = d.probe_size {
        range(file, "data.probe_size", p as f64, 16.0, 4096.0)?;
        if !p.is_multiple_of(4) {
            return Err(SpecError::new(
                file,
                "data.probe_size",
                format!("must be a multiple of 4, got {p}"),
            ));
        }
    }
    range(file, "data.probe_count", d.probe_count as f64, 1.0, 32.0)?;
    range(file, "data.exposure", d.exposure, 0.0, 3.0)?;
    range(file, "data.color_jitter", d.color_jitter, 0.0, 1.0)?;
    range(file, "data.crop_scale", d.crop_scale, 1.0, 8.0)?;
    range(file, "generator.noise", s.generator.noise, 0.0, 10.0)?;
    range(
        file,
        "generator.residual_blur",
        s.generator.residual_blur,
        0.0,
        8.0,
    )?;
    forbid(
        s.generator.residual_blur > 0.0 && !s.generator.residual,
        file,
        "generator.residual_blur",
        "only with generator.residual = true (it blurs the photo the change is added to)",
    )?;
    range(
        file,
        "generator.color_map",
        s.generator.color_map as f64,
        0.0,
        64.0,
    )?;
    range(
        file,
        "generator.global_color",
        s.generator.global_color as f64,
        0.0,
        64.0,
    )?;
    range(
        file,
        "generator.noise_scale",
        s.generator.noise_scale as f64,
        1.0,
        32.0,
    )?;
    range(
        file,
        "data.builtin_count",
        d.builtin_count as f64,
        1.0,
        100_000.0,
    )?;
    range(
        file,
        "generator.width",
        s.generator.width as f64,
        1.0,
        512.0,
    )?;
    range(
        file,
        "generator.blocks",
        s.generator.blocks as f64,
        0.0,
        64.0,
    )?;
    range(
        file,
        "discriminator.width",
        s.discriminator.width as f64,
        1.0,
        512.0,
    )?;
    range(
        file,
        "discriminator.layers",
        s.discriminator.layers as f64,
        1.0,
        6.0,
    )?;
    if s.features.widths.is_empty() || s.features.widths.len() > 5 {
        return Err(SpecError::new(
            file,
            "features.widths",
            "needs 1 to 5 levels",
        ));
    }
    for w in &s.features.widths {
        range(file, "features.widths", *w as f64, 1.0, 1024.0)?;
    }
    // Every loss weight of the knob table; a weight that is off by default and belongs to the
    // other recipe must stay off.
    let defaults = Spec {
        loss: Default::default(),
        ..s.clone()
    };
    for k in Knob::ALL.iter().filter(|k| k.range() == Range::Weight) {
        range(file, k.key(), k.from_spec(s), 0.0, 1e9)?;
        if !k.modes().contains(&s.mode) && k.from_spec(&defaults) == 0.0 {
            let only: Vec<&str> = k.modes().iter().map(|m| m.as_str()).collect();
            forbid(
                k.from_spec(s) > 0.0,
                file,
                k.key(),
                &format!("only for mode = \"{}\"", only.join("\" or \"")),
            )?;
        }
    }
    let l = &s.loss;
    range(
        file,
        "loss.swd_directions",
        l.swd_directions as f64,
        1.0,
        1024.0,
    )?;
    range(file, "loss.pool_size", l.pool_size as f64, 0.0, 10_000.0)?;
    if ![1, 2, 4, 8, 16].contains(&l.color_pool) {
        return Err(SpecError::new(
            file,
            "loss.color_pool",
            format!("must be 1, 2, 4, 8 or 16, got {}", l.color_pool),
        ));
    }
    forbid(
        l.color_pool * 4 > s.data.image_size,
        file,
        "loss.color_pool",
        &format!(
            "at most a quarter of data.image_size ({})",
            s.data.image_size
        ),
    )?;
    range(
        file,
        "features.softmax_temperature",
        s.features.softmax_temperature,
        0.0,
        1e6,
    )?;
    if s.mode == Mode::Cyclegan {
        let (dl, df) = (
            crate::spec::LossSpec::default(),
            crate::spec::FeaturesSpec::default(),
        );
        for (field, differs) in [
            ("loss.color_pool", l.color_pool != dl.color_pool),
            (
                "loss.color_reference",
                l.color_reference != dl.color_reference,
            ),
            (
                "features.softmax_temperature",
                s.features.softmax_temperature != df.softmax_temperature,
            ),
            ("features.rotate", s.features.rotate != df.rotate),
            (
                "generator.palette",
                s.generator.palette != crate::spec::Palette::None,
            ),
            ("train.ema", s.train.ema != 0.0),
        ] {
            forbid(differs, file, field, "only for mode = \"single_style\"")?;
        }
    }
    let o = &s.optim;
    range(file, "optim.lr", o.lr, 1e-9, 1.0)?;
    if let Some(v) = o.lr_g {
        range(file, "optim.lr_g", v, 1e-9, 1.0)?;
    }
    if let Some(v) = o.lr_d {
        range(file, "optim.lr_d", v, 1e-9, 1.0)?;
    }
    for (k, v) in [("optim.beta1", o.beta1), ("optim.beta2", o.beta2)] {
        if !(0.0..1.0).contains(&v) {
            return Err(SpecError::new(
                file,
                k,
                format!("must be in [0, 1), got {v}"),
            ));
        }
    }
    let t = &s.train;
    range(file, "train.steps", t.steps as f64, 1.0, 1e9)?;
    range(file, "train.batch_size", t.batch_size as f64, 1.0, 256.0)?;
    for (k, v) in [
        ("train.log_every", t.log_every),
        ("train.sample_every", t.sample_every),
        ("train.checkpoint_every", t.checkpoint_every),
    ] {
        range(file, k, v as f64, 1.0, 1e9)?;
    }
    range(
        file,
        "train.keep_checkpoints",
        t.keep_checkpoints as f64,
        1.0,
        1e6,
    )?;
    range(file, "train.max_minutes", t.max_minutes, 0.0, 1e7)?;
    if !(0.0..1.0).contains(&t.ema) {
        return Err(SpecError::new(
            file,
            "train.ema",
            format!(
                "must be in [0, 1) (the average's decay per step; 0 = off), got {}",
                t.ema
            ),
        ));
    }
    range(file, "train.threads", t.threads as f64, 0.0, 1024.0)
}

/// `train.device`: its syntax, and that it agrees with `train.backend` and this build.
fn device(file: &Path, t: &crate::spec::TrainSpec) -> Check {
    let field = "train.device";
    let choice = DeviceChoice::parse(&t.device).map_err(|r| SpecError::new(file, field, r))?;
    match (choice, t.backend) {
        (DeviceChoice::Cuda(_), _) if !cfg!(feature = "cuda") => Err(SpecError::new(
            file,
            field,
            format!("\"{}\" needs a build with `--features cuda` (rebuild: cargo install --path . --features cuda); use \"auto\" or \"cpu\" here", t.device),
        )),
        (DeviceChoice::Cuda(_), BackendChoice::Flex | BackendChoice::Ndarray) => {
            Err(SpecError::new(
                file,
                field,
                format!("\"{}\" needs backend = \"cuda\" or \"auto\", not \"{}\"", t.device, backend_name(t.backend)),
            ))
        }
        (DeviceChoice::Cpu, BackendChoice::Cuda) => Err(SpecError::new(
            file,
            field,
            "\"cpu\" contradicts backend = \"cuda\"; use backend = \"auto\", \"flex\" or \"ndarray\"",
        )),
        _ => Ok(()),
    }
}

/// `train.precision`: bf16 needs CUDA (this build, and a backend and device that can be CUDA).
fn precision(file: &Path, t: &crate::spec::TrainSpec) -> Check {
    let field = "train.precision";
    if t.precision == Precision::F32 {
        return Ok(());
    }
    if !cfg!(feature = "cuda") {
        return Err(SpecError::new(file, field, "\"bf16\" runs on CUDA only and this build has no CUDA (rebuild: cargo install --path . --features cuda); use \"f32\" here"));
    }
    let cpu = matches!(t.backend, BackendChoice::Flex | BackendChoice::Ndarray)
        || DeviceChoice::parse(&t.device) == Ok(DeviceChoice::Cpu);
    if cpu {
        return Err(SpecError::new(
            file,
            field,
            format!("\"bf16\" runs on CUDA only, not on the CPU backend this spec asks for (backend = \"{}\", device = \"{}\"); use \"f32\"", backend_name(t.backend), t.device),
        ));
    }
    Ok(())
}

fn backend_name(b: BackendChoice) -> String {
    clap::ValueEnum::to_possible_value(&b).map_or_else(String::new, |v| v.get_name().to_string())
}

fn range(file: &Path, field: &str, v: f64, lo: f64, hi: f64) -> Check {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err(SpecError::new(
            file,
            field,
            format!("must be between {lo} and {hi}, got {v}"),
        ))
    }
}

fn forbid(present: bool, file: &Path, field: &str, why: &str) -> Check {
    if present {
        Err(SpecError::new(file, field, why))
    } else {
        Ok(())
    }
}

fn absolute(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    std::fs::canonicalize(&joined).unwrap_or(joined)
}

fn extension(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Resolve an image source, rewriting it in the spec to absolute paths.
fn resolve_set(
    src: &mut ImageSource,
    base: &Path,
    file: &Path,
    field: &str,
) -> Result<ImageSet, SpecError> {
    match src {
        ImageSource::One(s) if s == "builtin" => Ok(ImageSet::Builtin),
        ImageSource::One(s) => {
            let p = absolute(base, s);
            *s = p.display().to_string();
            if p.is_dir() {
                let files = list_images(&p);
                if files.is_empty() {
                    return Err(SpecError::new(
                        file,
                        field,
                        format!("folder {} holds no .png/.jpg/.jpeg images", p.display()),
                    ));
                }
                Ok(ImageSet::Files(files))
            } else if p.is_file() {
                Ok(ImageSet::Files(vec![p]))
            } else {
                Err(SpecError::new(
                    file,
                    field,
                    format!(
                        "{} does not exist (relative paths are relative to the spec file)",
                        p.display()
                    ),
                ))
            }
        }
        ImageSource::List(items) => {
            if items.is_empty() {
                return Err(SpecError::new(file, field, "the list of images is empty"));
            }
            let mut files = Vec::new();
            for s in items.iter_mut() {
                let p = absolute(base, s);
                if !p.is_file() {
                    return Err(SpecError::new(
                        file,
                        field,
                        format!("{} does not exist", p.display()),
                    ));
                }
                *s = p.display().to_string();
                files.push(p);
            }
            Ok(ImageSet::Files(files))
        }
    }
}

/// All images under a folder, recursively, sorted for a stable order. Symlinked folders are
/// followed; a link back to one of its own ancestors (a loop) and unreadable entries are skipped.
pub fn list_images(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            !e.file_type().is_dir() && IMAGE_EXTENSIONS.contains(&extension(e.path()).as_str())
        })
        .map(walkdir::DirEntry::into_path)
        .collect();
    out.sort();
    out
}

fn check_style_image(p: &Path, d: &super::DataSpec, file: &Path) -> Check {
    if !p.is_file() {
        return Err(SpecError::new(
            file,
            "data.style",
            format!(
                "{} does not exist (relative paths are relative to the spec file)",
                p.display()
            ),
        ));
    }
    let (w, h) = image::image_dimensions(p).map_err(|e| {
        SpecError::new(
            file,
            "data.style",
            format!("cannot read image {}: {e}", p.display()),
        )
    })?;
    // Decode fully: a truncated file passes the header check but fails later.
    image::open(p).map_err(|e| {
        SpecError::new(
            file,
            "data.style",
            format!("cannot decode image {}: {e}", p.display()),
        )
    })?;
    let short = w.min(h) as usize;
    if d.style_size.is_none() && short < d.image_size {
        return Err(SpecError::new(file, "data.style", format!("{} is {w}x{h}, smaller than the {1}x{1} crop (data.image_size); use a larger image or set data.style_size", p.display(), d.image_size)));
    }
    Ok(())
}

/// A distilled run's teacher: a single_style run directory with a generator at the checkpoint.
fn validate_distill(d: &DistillSpec, mode: Mode, file: &Path) -> Result<(), SpecError> {
    if mode != Mode::SingleStyle {
        return Err(SpecError::new(
            file,
            "distill",
            "only for mode = \"single_style\"",
        ));
    }
    let g = Path::new(&d.teacher)
        .join(crate::run_dir::CHECKPOINTS)
        .join(crate::run_dir::checkpoint_name(d.checkpoint));
    if !g.join(crate::run_dir::CHECKPOINT_STATE).is_file() {
        return Err(SpecError::new(
            file,
            "distill.teacher",
            format!(
                "no checkpoint at step {} in {} (the teacher run)",
                d.checkpoint, d.teacher
            ),
        ));
    }
    for (field, w) in [
        ("distill.pixel_weight", d.pixel_weight),
        ("distill.feature_weight", d.feature_weight),
        ("distill.stroke_weight", d.stroke_weight),
    ] {
        if !(w.is_finite() && w >= 0.0) {
            return Err(SpecError::new(
                file,
                field,
                format!("must be >= 0, got {w}"),
            ));
        }
    }
    if !(d.pixel_blur.is_finite() && (0.0..=8.0).contains(&d.pixel_blur)) {
        return Err(SpecError::new(
            file,
            "distill.pixel_blur",
            format!("must be in [0, 8] (pixels), got {}", d.pixel_blur),
        ));
    }
    Ok(())
}
