//! Conversions between images and NCHW float data in [-1, 1], and the colour map that renders the
//! discriminator's patch-realness map as a heatmap image.

use crate::rng::Rng;
use image::{Rgb, RgbImage};

/// Append one random `crop` x `crop` window of `img` (optionally mirrored) as CHW floats.
pub fn push_crop(out: &mut Vec<f32>, img: &RgbImage, rng: &mut Rng, crop: u32, mirror: bool) {
    let (w, h) = img.dimensions();
    let x0 = rng.below((w.saturating_sub(crop) + 1) as usize) as u32;
    let y0 = rng.below((h.saturating_sub(crop) + 1) as usize) as u32;
    let raw = img.as_raw();
    for c in 0..3usize {
        for y in 0..crop {
            let sy = (y0 + y).min(h - 1);
            for x in 0..crop {
                let sx = if mirror { x0 + crop - 1 - x } else { x0 + x }.min(w - 1);
                let v = raw[((sy * w + sx) * 3) as usize + c];
                out.push(f32::from(v) / 127.5 - 1.0);
            }
        }
    }
}

/// Whole images (all the same size) as one NCHW batch.
pub fn images_to_nchw(images: &[RgbImage]) -> Vec<f32> {
    let mut out = Vec::new();
    for img in images {
        let (w, h) = img.dimensions();
        for c in 0..3usize {
            out.extend(
                img.as_raw()
                    .iter()
                    .skip(c)
                    .step_by(3)
                    .take((w * h) as usize)
                    .map(|&v| f32::from(v) / 127.5 - 1.0),
            );
        }
    }
    out
}

/// NCHW floats in [-1, 1] -> images (values outside are clamped; NaN becomes black).
/// A tensor's values as `f32` whatever the backend's float type (f32, bf16 on CUDA, f64):
/// reading them as `f32` without the conversion fails on the others.
pub fn values(data: burn::tensor::TensorData) -> Vec<f32> {
    data.convert::<f32>().to_vec::<f32>().unwrap_or_default()
}

pub fn nchw_to_images(data: &[f32], n: usize, h: usize, w: usize) -> Vec<RgbImage> {
    let plane = h * w;
    (0..n)
        .map(|i| {
            let base = i * 3 * plane;
            RgbImage::from_fn(w as u32, h as u32, |x, y| {
                let p = y as usize * w + x as usize;
                let px = |c: usize| to_u8(data.get(base + c * plane + p).copied().unwrap_or(0.0));
                Rgb([px(0), px(1), px(2)])
            })
        })
        .collect()
}

fn to_u8(v: f32) -> u8 {
    if v.is_nan() {
        0
    } else {
        ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
    }
}

/// Render a patch-score map (LSGAN: ~0 fake, ~1 real) as an "inferno"-like heatmap of the given
/// size, nearest-neighbour upscaled so each patch is a visible block.
pub fn heatmap(scores: &[f32], h: usize, w: usize, out_w: u32, out_h: u32) -> RgbImage {
    const STOPS: [(f32, [f32; 3]); 5] = [
        (0.0, [0.0, 0.0, 4.0]),
        (0.25, [87.0, 16.0, 110.0]),
        (0.5, [188.0, 55.0, 84.0]),
        (0.75, [249.0, 142.0, 9.0]),
        (1.0, [252.0, 255.0, 164.0]),
    ];
    RgbImage::from_fn(out_w, out_h, |x, y| {
        let sx = (x as usize * w / out_w.max(1) as usize).min(w.saturating_sub(1));
        let sy = (y as usize * h / out_h.max(1) as usize).min(h.saturating_sub(1));
        let v = scores.get(sy * w + sx).copied().unwrap_or(0.0);
        let v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
        let i = STOPS.iter().position(|s| s.0 >= v).unwrap_or(4).max(1);
        let (a, b) = (STOPS[i - 1], STOPS[i]);
        let t = (v - a.0) / (b.0 - a.0);
        let c = |k: usize| (a.1[k] + t * (b.1[k] - a.1[k])).round() as u8;
        Rgb([c(0), c(1), c(2)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_heatmap_extremes() {
        let img = RgbImage::from_fn(5, 4, |x, y| Rgb([(x * 50) as u8, (y * 60) as u8, 200]));
        let data = images_to_nchw(std::slice::from_ref(&img));
        let back = nchw_to_images(&data, 1, 4, 5);
        assert_eq!(back[0], img);
        let hm = heatmap(&[0.0, 1.0], 1, 2, 4, 2);
        assert_eq!(hm.get_pixel(0, 0), &Rgb([0, 0, 4]));
        assert_eq!(hm.get_pixel(3, 1), &Rgb([252, 255, 164]));
    }
}
