//! Colour speckle: how much of an image's finest detail is colour rather than light. A generator
//! asked for the painting's fine detail in luminance alone fills its dabs with single red, green
//! and blue pixels, a confetti that reads as noise at 2x and that the luminance-based measures
//! (texture, orientation, weave) do not see. The finest band (each pixel minus its 3x3 mean) of
//! BT.601's Cb and Cr planes, their energies summed, over the same band's energy in luminance:
//! a photo's or a painting's colour changes with its light, at a fraction of its energy (the
//! built-in paintings score about 0.4, the probe photos 0.03-0.24); a speckle scores above 1.
//! Measured at the image's own resolution (downscaling averages a speckle away).

use super::filters::{fine_band, luma, plane, CHROMA};
use image::RgbImage;

/// The finest band's colour energy over its luminance energy (module docs); 0 under 3x3 or
/// without detail. Finite: the luminance energy is floored at a thousandth of a level squared
/// per pixel, so a speckle with flat luminance scores high, not infinite.
pub fn speckle(img: &RgbImage) -> f64 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let energy = |p: Vec<f32>| fine_band(&p, w, h).iter().map(|b| b * b).sum::<f64>();
    let chroma: f64 = CHROMA.iter().map(|&c| energy(plane(img, c))).sum();
    let n = ((w - 2) * (h - 2)) as f64;
    chroma / energy(luma(img)).max(1e-3 * n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn a_colour_speckle_scores_high_and_grey_detail_zero() {
        let mut rng = crate::rng::Rng::new(3);
        // Grey noise: all light, no colour.
        let grey = RgbImage::from_fn(64, 64, |_, _| {
            let v = (rng.f32() * 255.0) as u8;
            Rgb([v, v, v])
        });
        assert!(speckle(&grey) < 1e-9, "grey {}", speckle(&grey));
        // Colour noise around a grey: single red, green and blue pixels.
        let confetti = RgbImage::from_fn(64, 64, |_, _| {
            let k = (rng.f32() * 3.0) as usize;
            let mut p = [90u8; 3];
            p[k.min(2)] = 200;
            Rgb(p)
        });
        assert!(speckle(&confetti) > 1.0, "confetti {}", speckle(&confetti));
        // A coloured pattern whose colour follows its light (a blue-and-cream stroke pattern).
        let strokes = RgbImage::from_fn(64, 64, |x, y| {
            let t = (((x + 2 * y) as f32) * 0.9).sin() * 0.5 + 0.5;
            let mix = |a: f32, b: f32| (a + (b - a) * t) as u8;
            Rgb([mix(30.0, 240.0), mix(50.0, 220.0), mix(140.0, 170.0)])
        });
        let s = speckle(&strokes);
        assert!(s > 0.05 && s < 0.5, "strokes {s}");
    }

    #[test]
    fn flat_and_tiny_images_give_zero_and_flat_light_stays_finite() {
        assert_eq!(speckle(&RgbImage::new(2, 2)), 0.0);
        assert_eq!(
            speckle(&RgbImage::from_pixel(20, 20, Rgb([40, 90, 200]))),
            0.0
        );
        // Equal luminance, alternating hue: all the detail is colour.
        let iso = RgbImage::from_fn(32, 32, |x, y| {
            if (x + y) % 2 == 0 {
                Rgb([200, 100, 100])
            } else {
                Rgb([64, 146, 255])
            }
        });
        let s = speckle(&iso);
        assert!(s.is_finite() && s > 10.0, "isoluminant {s}");
    }
}
