//! Float images and separable Gaussian filters behind [`super`]: conversion of 8-bit RGB to
//! interleaved `f32`, luminance, a same-size blur with clamped edges (for the texture band) and a
//! "valid" single-channel filter (for SSIM's local statistics).

use image::RgbImage;
use rayon::prelude::*;

/// An RGB image as interleaved `f32` samples (three per pixel, row-major).
#[derive(Debug, Clone)]
pub(super) struct Rgbf {
    pub w: usize,
    pub h: usize,
    pub px: Vec<f32>,
}

impl Rgbf {
    /// Samples scaled to [0, 1].
    pub fn from_rgb(img: &RgbImage) -> Self {
        Self {
            w: img.width() as usize,
            h: img.height() as usize,
            px: img.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect(),
        }
    }

    /// Root mean square of the samples (of a high-pass band: its energy); 0 for an empty image.
    pub fn rms(&self) -> f64 {
        if self.px.is_empty() {
            return 0.0;
        }
        let sum: f64 = self.px.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        (sum / self.px.len() as f64).sqrt()
    }

    /// The high-pass band: the image minus its Gaussian blur, per channel (centred around 0).
    pub fn high_pass(&self, sigma: f32) -> Self {
        let kernel = gaussian_kernel(sigma, blur_radius(sigma));
        let blurred = blur(&self.px, self.w, self.h, 3, &kernel);
        let px = self.px.iter().zip(&blurred).map(|(a, b)| a - b).collect();
        Self {
            w: self.w,
            h: self.h,
            px,
        }
    }
}

/// The luminance's weights of R, G and B (Rec. 601).
pub(crate) const LUMA: [f32; 3] = [0.299, 0.587, 0.114];

/// BT.601's colour-difference planes Cb and Cr as weights of R, G and B (the speckle measure's,
/// and the chroma spectrum term's).
pub(crate) const CHROMA: [[f32; 3]; 2] = [[-0.1687, -0.3313, 0.5], [0.5, -0.4187, -0.0813]];

/// Luminance Y = 0.299 R + 0.587 G + 0.114 B on the 0..=255 scale, one sample per pixel.
pub(super) fn luma(img: &RgbImage) -> Vec<f32> {
    plane(img, LUMA)
}

/// One weighted sum of R, G and B per pixel (0..=255 scale): the luminance, or a colour
/// difference plane ([`CHROMA`]).
pub(super) fn plane(img: &RgbImage, w: [f32; 3]) -> Vec<f32> {
    img.as_raw()
        .chunks_exact(3)
        .map(|p| w[0] * f32::from(p[0]) + w[1] * f32::from(p[1]) + w[2] * f32::from(p[2]))
        .collect()
}

/// Sigma in pixels of the blur whose residual is the luminance's "fine detail" (the texture
/// band's default), which the orientation and periodicity measures read.
pub(crate) const DETAIL_SIGMA: f32 = 2.0;

/// The luminance's fine detail: [`luma`] minus its Gaussian blur of `DETAIL_SIGMA` (edges
/// clamped), one sample per pixel, row-major.
pub(super) fn luma_detail(img: &RgbImage) -> Vec<f64> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let y = luma(img);
    let kernel = gaussian_kernel(DETAIL_SIGMA, blur_radius(DETAIL_SIGMA));
    let blurred = blur(&y, w, h, 1, &kernel);
    y.iter()
        .zip(&blurred)
        .map(|(a, b)| f64::from(a - b))
        .collect()
}

/// The finest band of a single plane (`w` x `h`, row-major): each interior pixel minus the mean
/// of its 3x3 neighbourhood, `(w - 2) x (h - 2)` samples, row-major (empty under 3x3). A
/// 2-pixel grid and a colour speckle live here, below the texture band's blur.
pub(super) fn fine_band(plane: &[f32], w: usize, h: usize) -> Vec<f64> {
    if w < 3 || h < 3 || plane.len() != w * h {
        return Vec::new();
    }
    let mut out = Vec::with_capacity((w - 2) * (h - 2));
    for j in 1..h - 1 {
        for i in 1..w - 1 {
            let mut box_sum = 0.0f64;
            for dj in 0..3 {
                for di in 0..3 {
                    box_sum += f64::from(plane[(j + dj - 1) * w + i + di - 1]);
                }
            }
            out.push(f64::from(plane[j * w + i]) - box_sum / 9.0);
        }
    }
    out
}

/// A grey test image: 127.5 + 100 f(x, y), rounded.
#[cfg(test)]
pub(crate) fn grey_pattern(w: u32, h: u32, f: impl Fn(f64, f64) -> f64) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = (127.5 + 100.0 * f(f64::from(x), f64::from(y))).round() as u8;
        image::Rgb([v, v, v])
    })
}

/// Radius of a blur kernel: three sigmas, at least one pixel.
pub(crate) fn blur_radius(sigma: f32) -> usize {
    ((3.0 * sigma).ceil() as usize).max(1)
}

/// A normalised Gaussian kernel of `2 * radius + 1` taps.
pub(crate) fn gaussian_kernel(sigma: f32, radius: usize) -> Vec<f32> {
    let two_s2 = 2.0 * f64::from(sigma) * f64::from(sigma);
    let raw: Vec<f64> = (0..=2 * radius)
        .map(|i| {
            let d = i as f64 - radius as f64;
            (-d * d / two_s2).exp()
        })
        .collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|v| (v / total) as f32).collect()
}

/// Same-size separable blur of an interleaved image with `channels` samples per pixel; pixels
/// beyond the border repeat the edge.
pub(super) fn blur(px: &[f32], w: usize, h: usize, channels: usize, kernel: &[f32]) -> Vec<f32> {
    let stride = w * channels;
    if px.is_empty() || stride == 0 || px.len() != stride * h {
        return px.to_vec();
    }
    let r = kernel.len() / 2;
    let mut tmp = vec![0.0f32; px.len()];
    tmp.par_chunks_mut(stride)
        .zip(px.par_chunks(stride))
        .for_each(|(out, row)| {
            let mut padded = Vec::with_capacity(stride + 2 * r * channels);
            for _ in 0..r {
                padded.extend_from_slice(&row[..channels]);
            }
            padded.extend_from_slice(row);
            for _ in 0..r {
                padded.extend_from_slice(&row[stride - channels..]);
            }
            for (t, &k) in kernel.iter().enumerate() {
                let src = &padded[t * channels..t * channels + stride];
                for (o, &s) in out.iter_mut().zip(src) {
                    *o += k * s;
                }
            }
        });
    let mut out = vec![0.0f32; px.len()];
    out.par_chunks_mut(stride)
        .enumerate()
        .for_each(|(y, orow)| {
            for (t, &k) in kernel.iter().enumerate() {
                let sy = (y + t).saturating_sub(r).min(h - 1);
                let src = &tmp[sy * stride..(sy + 1) * stride];
                for (o, &s) in orow.iter_mut().zip(src) {
                    *o += k * s;
                }
            }
        });
    out
}

/// "Valid" separable filter of a single-channel `w`x`h` plane: only positions where the whole
/// kernel fits, so the result is `(w - n + 1) x (h - n + 1)` for an `n`-tap kernel (empty when
/// the plane is smaller than the kernel).
pub(super) fn filter_valid(plane: &[f32], w: usize, h: usize, kernel: &[f32]) -> Vec<f32> {
    let n = kernel.len();
    if n == 0 || w < n || h < n || plane.len() != w * h {
        return Vec::new();
    }
    let (ow, oh) = (w + 1 - n, h + 1 - n);
    let mut tmp = vec![0.0f32; ow * h];
    for (out, row) in tmp.chunks_exact_mut(ow).zip(plane.chunks_exact(w)) {
        for (t, &k) in kernel.iter().enumerate() {
            for (o, &s) in out.iter_mut().zip(&row[t..t + ow]) {
                *o += k * s;
            }
        }
    }
    let mut out = vec![0.0f32; ow * oh];
    for (y, orow) in out.chunks_exact_mut(ow).enumerate() {
        for (t, &k) in kernel.iter().enumerate() {
            let src = &tmp[(y + t) * ow..(y + t + 1) * ow];
            for (o, &s) in orow.iter_mut().zip(src) {
                *o += k * s;
            }
        }
    }
    out
}
