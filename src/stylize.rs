//! Inference (`atelier stylize`): load a run's generator from a checkpoint and apply it to images
//! at their full resolution (the generator is fully convolutional; the photo is mirrored outward
//! by a margin, padded to a multiple of 4 and cropped back), with post-controls that need no
//! retraining: the painting's palette (the output's joint colour distribution moved onto the
//! style image's, [`palette`], for a single_style run), strength (blend with the photo),
//! preserve-colour (stylized luminance, original chroma) and saturation.

use crate::backend::{dispatch, resolve_backend, WithBackend};
use crate::run_dir::{self, RunDir};
use crate::spec::{Mode, Spec};
use crate::train::data::convert;
use crate::train::model::Generator;
use crate::train::player;
use anyhow::{bail, Context, Result};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use image::{Rgb, RgbImage};
use std::path::{Path, PathBuf};

pub mod palette;
pub use palette::Palette;

/// Post-processing applied to the generator's output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    /// 0 = the photo, 1 = the full stylization.
    pub strength: f32,
    /// Keep the photo's colours, take only the stylized luminance.
    pub preserve_color: bool,
    /// Chroma multiplier (1 = unchanged, 0 = greyscale).
    pub saturation: f32,
    /// Match the generator's output to the painting's colour distribution before the other
    /// controls ([`Palette`]; single_style runs).
    pub palette: bool,
}

impl Default for Look {
    fn default() -> Self {
        Self {
            strength: 1.0,
            preserve_color: false,
            saturation: 1.0,
            palette: false,
        }
    }
}

/// A generator loaded for inference.
pub struct Stylizer<B: Backend> {
    g: Generator<B>,
    device: B::Device,
    /// The checkpoint step the weights come from.
    pub step: u64,
    /// The run and its mode, for its painting.
    run: RunDir,
    mode: Mode,
    /// The run's painting's colours for [`Look::palette`], or why there are none (a cyclegan
    /// run, a painting that moved since training): read on first use, so a load that never
    /// asks for the palette (most of them; the look view keeps 16) decodes no painting.
    palette: std::sync::OnceLock<std::result::Result<Palette, String>>,
}

/// A cyclegan run's generator direction (`--direction`): domain a to b, or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Direction {
    Ab,
    Ba,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::Ab => "ab",
            Direction::Ba => "ba",
        }
    }
}

/// A checkpoint's averaged single_style generator (`train.ema`, [`crate::train::ema`]).
pub const AVERAGED_G: &str = "g_ema";

/// Which generator of a run: `g` (single_style), `g_ab` or `g_ba` (cyclegan).
pub fn generator_file(spec: &Spec, direction: Option<Direction>) -> Result<&'static str> {
    Ok(match (spec.mode, direction) {
        (Mode::SingleStyle, None) => "g",
        (Mode::SingleStyle, Some(d)) => {
            bail!("--direction {} applies to cyclegan runs only", d.name())
        }
        (Mode::Cyclegan, None | Some(Direction::Ab)) => "g_ab",
        (Mode::Cyclegan, Some(Direction::Ba)) => "g_ba",
    })
}

/// A run's generator at a checkpoint (default: the latest), with the step and the run's spec.
pub fn load_generator<B: Backend>(
    run: &RunDir,
    checkpoint: Option<u64>,
    direction: Option<Direction>,
    device: &B::Device,
) -> Result<(Generator<B>, u64, Spec)> {
    let spec = crate::store::read_spec(run)?;
    let step = match checkpoint {
        Some(s) => {
            if !run.checkpoint(s).join(run_dir::CHECKPOINT_STATE).is_file() {
                let have: Vec<String> = run.checkpoints().iter().map(|s| s.to_string()).collect();
                bail!(
                    "run {} has no checkpoint at step {s} (available: {})",
                    run.id(),
                    if have.is_empty() {
                        "none".into()
                    } else {
                        have.join(", ")
                    }
                );
            }
            s
        }
        None => run
            .latest_checkpoint()
            .with_context(|| format!("run {} has no checkpoint yet", run.id()))?,
    };
    let mut file = generator_file(&spec, direction)?;
    // A run with `train.ema` stores its averaged generator beside the live one: the one it
    // showed on its probes, and the one to stylize with.
    if file == "g"
        && run
            .checkpoint(step)
            .join(AVERAGED_G)
            .with_extension("mpk")
            .is_file()
    {
        file = AVERAGED_G;
    }
    let path = run.checkpoint(step).join(file);
    if !path.with_extension("mpk").is_file() {
        bail!(
            "run {} has no {file} generator at step {step} ({}.mpk is missing)",
            run.id(),
            path.display()
        );
    }
    let g = player::load_weights(Generator::new(&spec.generator, device), &path, device)?;
    Ok((g, step, spec))
}

impl<B: Backend> Stylizer<B> {
    pub fn load(
        run: &RunDir,
        checkpoint: Option<u64>,
        direction: Option<Direction>,
        device: &B::Device,
    ) -> Result<Self> {
        let (g, step, spec) = load_generator(run, checkpoint, direction, device)?;
        Ok(Self {
            g,
            device: device.clone(),
            step,
            run: run.clone(),
            mode: spec.mode,
            palette: std::sync::OnceLock::new(),
        })
    }

    /// The painting's palette, or why there is none.
    fn palette(&self) -> std::result::Result<&Palette, &str> {
        self.palette
            .get_or_init(|| match self.mode {
                Mode::SingleStyle => crate::eval::run::run_style(&self.run)
                    .map(|style| Palette::of(&style))
                    .map_err(|e| format!("{e:#}")),
                Mode::Cyclegan => Err(format!(
                    "run {} is a cyclegan run: it has no painting to take a palette from",
                    self.run.id()
                )),
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Why `look` cannot be rendered by this generator (a palette without a painting), if so.
    pub fn cannot_render(&self, look: Look) -> Option<&str> {
        look.palette.then(|| self.palette().err()).flatten()
    }

    /// Stylize one image at its own resolution. The photo is mirrored outward by [`MARGIN`]
    /// pixels (and edge-padded to a multiple of 4) before the generator sees it, and the output
    /// cropped back: a generator trained on small crops paints a band along every crop border
    /// (two rows brighter or darker than the rest), which the margin moves outside the picture.
    pub fn apply(&self, img: &RgbImage, look: Look) -> RgbImage {
        let (w, h) = img.dimensions();
        let (pw, ph) = (
            (w + 2 * MARGIN).div_ceil(4) * 4,
            (h + 2 * MARGIN).div_ceil(4) * 4,
        );
        let padded = RgbImage::from_fn(pw, ph, |x, y| *img.get_pixel(mirror(x, w), mirror(y, h)));
        let x = Tensor::<B, 4>::from_data(
            TensorData::new(
                convert::images_to_nchw(std::slice::from_ref(&padded)),
                [1, 3, ph as usize, pw as usize],
            ),
            &self.device,
        );
        let y = crate::train::data::convert::values(self.g.forward(x).into_data());
        let out = convert::nchw_to_images(&y, 1, ph as usize, pw as usize).remove(0);
        let mut out = image::imageops::crop_imm(&out, MARGIN, MARGIN, w, h).to_image();
        if let Some(Ok(p)) = look.palette.then(|| self.palette()) {
            out = p.apply(&out);
        }
        finish(img, &out, look)
    }
}

/// Pixels of mirrored photo around the picture while stylizing ([`Stylizer::apply`]).
pub const MARGIN: u32 = 16;

/// The source column (or row) of padded coordinate `i` (the picture starts at [`MARGIN`]):
/// mirrored about the first and last pixel, clamped where the picture is smaller than the
/// margin.
fn mirror(i: u32, n: u32) -> u32 {
    let last = n as i64 - 1;
    let mut j = i as i64 - MARGIN as i64;
    if j < 0 {
        j = -j;
    }
    if j > last {
        j = 2 * last - j;
    }
    j.clamp(0, last) as u32
}

fn ycbcr(p: &Rgb<u8>) -> [f32; 3] {
    let [r, g, b] = p.0.map(f32::from);
    [
        0.299 * r + 0.587 * g + 0.114 * b,
        -0.168_736 * r - 0.331_264 * g + 0.5 * b,
        0.5 * r - 0.418_688 * g - 0.081_312 * b,
    ]
}

fn rgb([y, cb, cr]: [f32; 3]) -> [f32; 3] {
    [
        y + 1.402 * cr,
        y - 0.344_136 * cb - 0.714_136 * cr,
        y + 1.772 * cb,
    ]
}

/// Apply preserve-colour, saturation, then blend with the photo by strength.
pub fn finish(photo: &RgbImage, stylized: &RgbImage, look: Look) -> RgbImage {
    let s = look.strength.clamp(0.0, 1.0);
    RgbImage::from_fn(photo.width(), photo.height(), |x, y| {
        let p = photo.get_pixel(x, y);
        let mut c = ycbcr(stylized.get_pixel(x, y));
        if look.preserve_color {
            let o = ycbcr(p);
            c[1] = o[1];
            c[2] = o[2];
        }
        c[1] *= look.saturation.max(0.0);
        c[2] *= look.saturation.max(0.0);
        let st = rgb(c);
        Rgb([0, 1, 2].map(|i| {
            (s * st[i] + (1.0 - s) * f32::from(p.0[i]))
                .round()
                .clamp(0.0, 255.0) as u8
        }))
    })
}

/// Told (images done, images in all) after each image of a folder.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// `atelier stylize`: one image to a file, or a folder to a folder, on the backend `auto` picks.
/// Returns (written, skipped).
pub fn stylize_paths(
    run: &RunDir,
    checkpoint: Option<u64>,
    direction: Option<Direction>,
    input: &Path,
    output: &Path,
    look: Look,
    progress: Progress,
) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let job = StylizeJob {
        run,
        checkpoint,
        direction,
        input,
        output,
        look,
        progress,
    };
    dispatch(resolve_backend(crate::spec::BackendChoice::Auto)?, job)
}

/// `atelier stylize --run A --run B …`: the same input under several runs' generators, into
/// `output` (a folder): a photo becomes `<run id>.png`, a folder `<run id>/<its images>`. The
/// generators load one at a time on one backend. Returns (written, skipped) over every run.
pub fn stylize_runs(
    runs: &[RunDir],
    direction: Option<Direction>,
    input: &Path,
    output: &Path,
    look: Look,
    progress: Progress,
) -> Result<(Vec<PathBuf>, Vec<String>)> {
    if runs.is_empty() {
        bail!("no runs to stylize with");
    }
    let job = ManyJob {
        runs,
        direction,
        input,
        output,
        look,
        progress,
    };
    dispatch(resolve_backend(crate::spec::BackendChoice::Auto)?, job)
}

/// The workspace's styles: the runs whose generator is done training (state `finished`), in the
/// order of the runs scan. Pure: whether each has a checkpoint is asked when it is loaded.
pub fn finished(runs: &[crate::store::RunSummary]) -> Vec<PathBuf> {
    runs.iter()
        .filter(|r| r.state == crate::store::Liveness::Reported(run_dir::RunState::Finished))
        .map(|r| PathBuf::from(&r.dir))
        .collect()
}

/// Where [`stylize_runs`] writes `run`'s result.
pub fn output_for(run: &RunDir, input: &Path, output: &Path) -> PathBuf {
    if input.is_dir() {
        output.join(run.id())
    } else {
        output.join(format!("{}.png", run.id()))
    }
}

/// [`stylize_runs`] as a job for [`dispatch`].
struct ManyJob<'a> {
    runs: &'a [RunDir],
    direction: Option<Direction>,
    input: &'a Path,
    output: &'a Path,
    look: Look,
    progress: Progress<'a>,
}

impl WithBackend for ManyJob<'_> {
    type Output = (Vec<PathBuf>, Vec<String>);

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<Self::Output> {
        let (mut written, mut skipped) = (Vec::new(), Vec::new());
        let n = self.runs.len();
        (self.progress)(0, n);
        for (i, run) in self.runs.iter().enumerate() {
            // --direction picks among a cyclegan run's two generators; the others have one.
            let spec = crate::store::read_spec(run)?;
            let direction = self.direction.filter(|_| spec.mode == Mode::Cyclegan);
            let s = Stylizer::<B::InnerBackend>::load(run, None, direction, &device)
                .with_context(|| format!("run {}", run.id()))?;
            if let Some(why) = s.cannot_render(self.look) {
                bail!("--palette: {why} (leave the run out, or drop --palette)");
            }
            let dest = output_for(run, self.input, self.output);
            let (w, k) = run_paths(&s, self.input, &dest, self.look, &|_, _| {})?;
            written.extend(w);
            if i == 0 {
                skipped.extend(k);
            }
            (self.progress)(i + 1, n);
        }
        Ok((written, skipped))
    }
}

/// [`stylize_paths`] as a job for [`dispatch`].
struct StylizeJob<'a> {
    run: &'a RunDir,
    checkpoint: Option<u64>,
    direction: Option<Direction>,
    input: &'a Path,
    output: &'a Path,
    look: Look,
    progress: Progress<'a>,
}

impl WithBackend for StylizeJob<'_> {
    type Output = (Vec<PathBuf>, Vec<String>);

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<Self::Output> {
        let s =
            Stylizer::<B::InnerBackend>::load(self.run, self.checkpoint, self.direction, &device)?;
        if let Some(why) = s.cannot_render(self.look) {
            bail!("--palette: {why}");
        }
        run_paths(&s, self.input, self.output, self.look, self.progress)
    }
}

fn run_paths<B: Backend>(
    s: &Stylizer<B>,
    input: &Path,
    output: &Path,
    look: Look,
    progress: Progress,
) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let mut written = Vec::new();
    let mut skipped = Vec::new();
    if input.is_dir() {
        std::fs::create_dir_all(output)
            .with_context(|| format!("creating {}", output.display()))?;
        let images = crate::spec::list_images(input);
        progress(0, images.len());
        for (i, p) in images.iter().enumerate() {
            match image::open(p) {
                Ok(img) => {
                    let rel = p.strip_prefix(input).unwrap_or(p);
                    let dest = output.join(rel).with_extension("png");
                    if let Some(parent) = dest.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    s.apply(&img.to_rgb8(), look)
                        .save(&dest)
                        .with_context(|| format!("writing {}", dest.display()))?;
                    written.push(dest);
                }
                Err(e) => skipped.push(format!("{}: {e}", p.display())),
            }
            progress(i + 1, images.len());
        }
        if written.is_empty() && skipped.is_empty() {
            bail!("{} holds no .png/.jpg/.jpeg images", input.display());
        }
    } else {
        let img =
            image::open(input).with_context(|| format!("cannot read image {}", input.display()))?;
        if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        s.apply(&img.to_rgb8(), look)
            .save(output)
            .with_context(|| format!("writing {} (use a .png or .jpg name)", output.display()))?;
        written.push(output.to_path_buf());
    }
    Ok((written, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_mirrors_the_photo_without_repeating_its_edge() {
        let n = 40;
        assert_eq!(mirror(MARGIN, n), 0);
        assert_eq!(mirror(MARGIN - 1, n), 1);
        assert_eq!(mirror(0, n), MARGIN);
        assert_eq!(mirror(MARGIN + n - 1, n), n - 1);
        assert_eq!(mirror(MARGIN + n, n), n - 2);
        // A picture smaller than the margin still maps every padded pixel inside it.
        for i in 0..(3 + 2 * MARGIN + 4) {
            assert!(mirror(i, 3) < 3);
        }
        assert_eq!(mirror(MARGIN + 1, 1), 0);
    }

    #[test]
    fn look_controls() {
        let photo = RgbImage::from_pixel(2, 2, Rgb([200, 30, 30]));
        let styl = RgbImage::from_pixel(2, 2, Rgb([20, 40, 220]));
        assert_eq!(
            finish(
                &photo,
                &styl,
                Look {
                    strength: 0.0,
                    ..Look::default()
                }
            ),
            photo
        );
        let full = finish(&photo, &styl, Look::default());
        let p = full.get_pixel(0, 0).0;
        assert!((p[2] as i32 - 220).abs() <= 2, "{p:?}");
        let grey = finish(
            &photo,
            &styl,
            Look {
                saturation: 0.0,
                ..Look::default()
            },
        )
        .get_pixel(0, 0)
        .0;
        assert!(
            grey[0].abs_diff(grey[1]) <= 1 && grey[1].abs_diff(grey[2]) <= 1,
            "{grey:?}"
        );
        let kept = finish(
            &photo,
            &styl,
            Look {
                preserve_color: true,
                ..Look::default()
            },
        )
        .get_pixel(0, 0)
        .0;
        assert!(kept[0] > kept[2], "photo's red hue kept: {kept:?}");
    }
}
