//! `atelier export RUN --gif FILE --probe N`: one probe's output at every sample step as an
//! animated GIF (looping), each frame with a strip under the picture that says its step, so a
//! slide or a README shows how a run learned.

use super::font;
use super::samples::{self, RunSamples};
use anyhow::{bail, Context, Result};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, Rgb, RgbImage, RgbaImage};
use std::path::Path;

/// Milliseconds each frame shows; the last one shows three times as long.
pub const FRAME_MS: u32 = 400;

/// A frame: the picture with a strip under it saying `label`.
pub fn frame(picture: &RgbImage, label: &str) -> RgbImage {
    let scale = if picture.width() >= 192 { 2 } else { 1 };
    let strip = font::HEIGHT * scale + 6;
    let (w, h) = picture.dimensions();
    let mut out = RgbImage::from_pixel(w, h + strip, Rgb([255, 255, 255]));
    image::imageops::replace(&mut out, picture, 0, 0);
    // A narrow picture drops a "step " prefix before it cuts the number.
    let max = (w.saturating_sub(3) / ((font::WIDTH + 1) * scale)).max(1) as usize;
    let text = match label.strip_prefix("step ") {
        Some(n) if label.chars().count() > max => n,
        _ => label,
    };
    font::draw_text(
        &mut out,
        3,
        h + 3,
        &font::fit(text, max),
        scale,
        Rgb([0, 0, 0]),
    );
    out
}

/// Encode `frames` (all of one size) as a looping GIF.
pub fn encode(frames: Vec<RgbImage>, out: &Path) -> Result<()> {
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut enc = GifEncoder::new_with_speed(std::io::BufWriter::new(file), 10);
    enc.set_repeat(Repeat::Infinite)?;
    let n = frames.len();
    for (i, f) in frames.into_iter().enumerate() {
        let ms = if i + 1 == n { 3 * FRAME_MS } else { FRAME_MS };
        let rgba: RgbaImage = image::DynamicImage::ImageRgb8(f).to_rgba8();
        enc.encode_frame(Frame::from_parts(
            rgba,
            0,
            0,
            Delay::from_numer_denom_ms(ms, 1),
        ))
        .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

/// Write probe `n`'s outputs of `run` at every sample step into `out`; returns the frame count.
pub fn export(run: &RunSamples, n: usize, out: &Path) -> Result<usize> {
    let probe = run.probe(n)?;
    let outputs = run.outputs(&probe);
    if outputs.is_empty() {
        bail!("run {} has no output of probe {n} yet", run.run.id());
    }
    let mut frames = Vec::with_capacity(outputs.len());
    let mut size = None;
    for (step, path) in &outputs {
        let img = samples::load(path)?;
        let (w, h) = *size.get_or_insert(img.dimensions());
        let img = if img.dimensions() == (w, h) {
            img
        } else {
            image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle)
        };
        frames.push(frame(&img, &format!("step {step}")));
    }
    let count = frames.len();
    encode(frames, out)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::AnimationDecoder;

    #[test]
    fn frames_carry_their_label_and_the_gif_decodes_frame_for_frame() {
        let red = RgbImage::from_pixel(32, 24, Rgb([200, 30, 30]));
        let blue = RgbImage::from_pixel(32, 24, Rgb([30, 30, 200]));
        let (a, b) = (frame(&red, "step 1"), frame(&red, "step 2"));
        assert_eq!(a.dimensions(), (32, 24 + font::HEIGHT + 6));
        assert_eq!(a.get_pixel(5, 5), &Rgb([200, 30, 30]));
        assert!(a.as_raw() != b.as_raw(), "the label differs");
        // Too narrow for "step 1200": the number alone.
        let c = frame(&red, "step 1200");
        let mut alone = RgbImage::from_pixel(32, font::HEIGHT + 6, Rgb([255, 255, 255]));
        font::draw_text(&mut alone, 3, 3, "1200", 1, Rgb([0, 0, 0]));
        let strip = image::imageops::crop_imm(&c, 0, 24, 32, font::HEIGHT + 6).to_image();
        assert!(strip.as_raw() == alone.as_raw(), "the number alone");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gif");
        encode(vec![a, frame(&blue, "step 3")], &path).unwrap();
        let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
        let frames = image::codecs::gif::GifDecoder::new(file)
            .unwrap()
            .into_frames()
            .collect_frames()
            .unwrap();
        assert_eq!(frames.len(), 2);
        let px = frames[1].buffer().get_pixel(5, 5).0;
        assert!(px[2] > 150 && px[0] < 80, "{px:?}");
        assert_eq!(frames[0].delay().numer_denom_ms(), (FRAME_MS, 1));
    }
}
