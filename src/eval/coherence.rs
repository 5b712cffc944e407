//! Local stroke coherence: whether an image's fine detail, looked at a few pixels at a time,
//! runs one way (a brush stroke, an edge, a strand of hair) or every way at once (a dab, a
//! speckle, two hatches crossing in a mesh). Where [`orientation_coherence`] asks whether the
//! whole picture runs one way (a hatch laid over it), this asks whether each place does: a
//! painting whose strokes follow its sky and hills scores high here and low there.
//!
//! The luminance's high-pass band (sigma 2 px, the orientation's), differentiated with central
//! differences; the gradients' outer products averaged with a Gaussian of [`NEIGHBOURHOOD`] px
//! (the structure tensor J); `|J_xx - J_yy, 2 J_xy|` over `tr J`, summed over the image before
//! the ratio so each place counts by its detail's energy. 1 when every neighbourhood's detail is
//! parallel, near 0 for white noise. Measured: the built-in paintings 0.65-0.68, the probe
//! photos 0.41-0.65, the quickstart's dabs 0.26-0.30 (docs/quality.md, issue 26). The trainer's
//! `loss.flow_weight` reads the same quantity as a tensor (`train::coherence`). Measured at the
//! image's own resolution, like the orientation.
//!
//! [`orientation_coherence`]: super::orientation_coherence

use super::filters::{blur, blur_radius, gaussian_kernel, luma_detail};
use image::RgbImage;

/// The structure tensor's Gaussian sigma, in pixels: a neighbourhood about a stroke's width.
pub const NEIGHBOURHOOD: f32 = 2.0;

/// The energy-weighted local coherence of `img`'s fine detail, in [0, 1] (module docs); 0 under
/// 3x3 or without detail.
pub fn local_coherence(img: &RgbImage) -> f64 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let band = luma_detail(img);
    let (iw, ih) = (w - 2, h - 2);
    // J's three parts, interleaved per interior pixel, blurred together.
    let mut parts = Vec::with_capacity(3 * iw * ih);
    for j in 1..h - 1 {
        for i in 1..w - 1 {
            let gx = (band[j * w + i + 1] - band[j * w + i - 1]) / 2.0;
            let gy = (band[(j + 1) * w + i] - band[(j - 1) * w + i]) / 2.0;
            parts.extend([gx * gx, gx * gy, gy * gy].map(|v| v as f32));
        }
    }
    let kernel = gaussian_kernel(NEIGHBOURHOOD, blur_radius(NEIGHBOURHOOD));
    let j = blur(&parts, iw, ih, 3, &kernel);
    let (mut aniso, mut trace) = (0.0f64, 0.0f64);
    for t in j.chunks_exact(3) {
        let (xx, xy, yy) = (f64::from(t[0]), f64::from(t[1]), f64::from(t[2]));
        aniso += (xx - yy).hypot(2.0 * xy);
        trace += xx + yy;
    }
    if trace <= 1e-9 * (iw * ih) as f64 {
        return 0.0;
    }
    (aniso / trace).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::filters::grey_pattern;
    use image::Rgb;

    #[test]
    fn turning_strokes_are_coherent_and_noise_and_a_mesh_are_not() {
        // Rings: each place one way, the picture every way.
        let swirl = grey_pattern(96, 96, |x, y| {
            ((x - 48.0).hypot(y - 48.0) * std::f64::consts::PI / 2.5).sin()
        });
        let mesh = grey_pattern(96, 96, |x, y| {
            0.5 * (((x + y) * 1.1).sin() + ((x - y) * 1.1).sin())
        });
        let mut rng = crate::rng::Rng::new(5);
        let noise = RgbImage::from_fn(96, 96, |_, _| {
            let v = (rng.f32() * 255.0) as u8;
            Rgb([v, v, v])
        });
        let [s, m, n] = [&swirl, &mesh, &noise].map(local_coherence);
        assert!(s > 0.7, "swirl {s}");
        assert!(m < 0.4, "mesh {m}");
        assert!(n < 0.4, "noise {n}");
        // The swirl has no global direction, which the orientation measure reads instead.
        assert!(crate::eval::orientation_coherence(&swirl) < 0.1);
    }

    #[test]
    fn flat_and_tiny_images_give_zero() {
        assert_eq!(local_coherence(&RgbImage::new(2, 2)), 0.0);
        assert_eq!(
            local_coherence(&RgbImage::from_pixel(40, 40, Rgb([9, 90, 9]))),
            0.0
        );
    }
}
