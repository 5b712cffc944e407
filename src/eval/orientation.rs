//! Orientation coherence of an image's fine detail: whether its strokes run every which way (as
//! in a photo, or a painting whose strokes follow its shapes) or one way everywhere (a hatch laid
//! over the whole picture, the look of a generator that learned one stroke direction). The
//! luminance's high-pass band (luminance minus its Gaussian blur, sigma 2 px: the texture band
//! of the style and texture distances) is differentiated with central differences, and the
//! orientation of each pixel with detail (gradient above a tenth of the image's RMS gradient)
//! votes once as a unit vector at twice its angle; the length of the votes' mean is the
//! coherence, 0 when the detail has no global direction and 1 when every gradient is parallel.
//! Every stroke counts alike: weighting by energy (a structure tensor) lets a photo's few strong
//! edges (a bridge's cables, a facade) outvote a hatch spread over the whole picture (measured:
//! photos then score 0.19-0.37, with one vote per pixel 0.02-0.12). Outputs and photos are
//! measured at their own resolution (a hatch one or two pixels wide is blurred away by
//! downscaling); the style image at the scores' measuring size (512 px), about the scale the
//! trainer shows it at (`data.style_size`).

use super::filters::luma_detail;
use image::RgbImage;

/// Pixels whose gradient is under this share of the image's RMS gradient have no detail to
/// vote with (flat sky, sensor noise).
const FLOOR: f64 = 0.1;

/// The orientation coherence of `img`'s fine detail, in [0, 1] (module docs). Images under 3x3
/// or without detail give 0.
pub fn orientation_coherence(img: &RgbImage) -> f64 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let band = luma_detail(img);
    let grads: Vec<(f64, f64)> = (1..h - 1)
        .flat_map(|j| (1..w - 1).map(move |i| (j, i)))
        .map(|(j, i)| {
            (
                (band[j * w + i + 1] - band[j * w + i - 1]) / 2.0,
                (band[(j + 1) * w + i] - band[(j - 1) * w + i]) / 2.0,
            )
        })
        .collect();
    let mean_energy = grads.iter().map(|(x, y)| x * x + y * y).sum::<f64>() / grads.len() as f64;
    if mean_energy <= 1e-9 {
        return 0.0;
    }
    // Each pixel with detail votes once, with its doubled angle (so opposite gradients agree).
    let floor = FLOOR * FLOOR * mean_energy;
    let (mut c, mut s, mut n) = (0.0f64, 0.0f64, 0usize);
    for (x, y) in grads {
        let e = x * x + y * y;
        if e > floor {
            c += (x * x - y * y) / e;
            s += 2.0 * x * y / e;
            n += 1;
        }
    }
    if n == 0 {
        return 0.0;
    }
    (c.hypot(s) / n as f64).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    use crate::eval::filters::grey_pattern as stripes;

    #[test]
    fn a_hatch_is_coherent_and_its_direction_does_not_matter() {
        // Diagonal stripes 4 px apart, the hatch of the issue, and the same rotated by 90°.
        let diag = stripes(128, 128, |x, y| {
            ((x + y) * std::f64::consts::PI / 2.0).sin()
        });
        let anti = stripes(128, 128, |x, y| {
            ((x - y) * std::f64::consts::PI / 2.0).sin()
        });
        let (d, a) = (orientation_coherence(&diag), orientation_coherence(&anti));
        assert!(d > 0.95, "diagonal hatch {d}");
        assert!((d - a).abs() < 0.02, "{d} vs {a}");
    }

    #[test]
    fn detail_in_every_direction_is_incoherent() {
        // Concentric rings: every orientation equally often.
        let rings = stripes(128, 128, |x, y| {
            let r = ((x - 64.0).powi(2) + (y - 64.0).powi(2)).sqrt();
            (r * std::f64::consts::PI / 2.5).sin()
        });
        let c = orientation_coherence(&rings);
        assert!(c < 0.08, "rings {c}");
        // Noise: no direction.
        let mut rng = crate::rng::Rng::new(7);
        let noise = RgbImage::from_fn(96, 96, |_, _| {
            let v = (rng.f32() * 255.0) as u8;
            Rgb([v, v, v])
        });
        let n = orientation_coherence(&noise);
        assert!(n < 0.05, "noise {n}");
    }

    #[test]
    fn half_hatched_sits_between() {
        // The left half hatched, the right half rings: some global direction, not all.
        let img = stripes(128, 128, |x, y| {
            if x < 64.0 {
                ((x + y) * std::f64::consts::PI / 2.0).sin()
            } else {
                let r = ((x - 96.0).powi(2) + (y - 64.0).powi(2)).sqrt();
                (r * std::f64::consts::PI / 2.5).sin()
            }
        });
        let c = orientation_coherence(&img);
        assert!(c > 0.2 && c < 0.8, "half hatched {c}");
    }

    #[test]
    fn flat_and_tiny_images_give_zero() {
        assert_eq!(orientation_coherence(&RgbImage::new(2, 2)), 0.0);
        assert_eq!(
            orientation_coherence(&RgbImage::from_pixel(50, 50, Rgb([9, 9, 9]))),
            0.0
        );
    }
}
