//! Tests of [`super`] on procedural images: smooth scenes with shapes, "painterly" images made of
//! many short random strokes, and uniform noise.

use super::filters::Rgbf;
use super::swd::w1_sorted;
use super::*;
use crate::rng::Rng;
use image::Rgb;

const W: u32 = 96;
const H: u32 = 96;

/// Fewer samples and directions than the defaults, so the suite stays quick in debug builds.
fn opts(seed: u64) -> EvalOptions {
    EvalOptions {
        seed,
        samples: 1024,
        projections: 32,
        ..EvalOptions::default()
    }
}

fn to_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// Smooth colour gradients with a disc and a rectangle.
fn scene(w: u32, h: u32) -> RgbImage {
    let (fw, fh) = (w as f32, h as f32);
    RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 / fw, y as f32 / fh);
        let (dx, dy) = (u - 0.35, v - 0.4);
        if dx * dx + dy * dy < 0.18 * 0.18 {
            Rgb([220, 200, 60])
        } else if (0.6..0.85).contains(&u) && (0.55..0.85).contains(&v) {
            Rgb([40, 90, 160])
        } else {
            Rgb([
                to_u8(40.0 + 150.0 * u),
                to_u8(60.0 + 120.0 * v),
                to_u8(180.0 - 50.0 * (u + v)),
            ])
        }
    })
}

/// Smooth gradients, no flat areas: every level holds at most ~1% of the pixels.
fn gradient(w: u32, h: u32) -> RgbImage {
    let (fw, fh) = (w as f32, h as f32);
    RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 / fw, y as f32 / fh);
        Rgb([
            to_u8(20.0 + 200.0 * u),
            to_u8(30.0 + 180.0 * v),
            to_u8(220.0 - 90.0 * (u + v)),
        ])
    })
}

/// A warm gradient covered with many short strokes of random direction and random colour.
fn painterly(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut rng = Rng::stream(seed, "painterly");
    let (fw, fh) = (w as f32, h as f32);
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 / fw, y as f32 / fh);
        Rgb([
            to_u8(200.0 - 60.0 * v),
            to_u8(120.0 + 60.0 * u),
            to_u8(50.0),
        ])
    });
    for _ in 0..(w * h / 24) {
        let (cx, cy) = (rng.f32() * fw, rng.f32() * fh);
        let angle = rng.f32() * std::f32::consts::PI;
        let half_len = 2.0 + 4.0 * rng.f32();
        let half_width = 0.7 + 0.8 * rng.f32();
        let colour = Rgb([
            (rng.f32() * 255.0) as u8,
            (rng.f32() * 255.0) as u8,
            (rng.f32() * 255.0) as u8,
        ]);
        let (ax, ay) = (angle.cos(), angle.sin());
        let reach = half_len + half_width + 1.0;
        let x0 = (cx - reach).max(0.0) as u32;
        let y0 = (cy - reach).max(0.0) as u32;
        let x1 = ((cx + reach) as u32).min(w - 1);
        let y1 = ((cy + reach) as u32).min(h - 1);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (px, py) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                let along = (px * ax + py * ay).clamp(-half_len, half_len);
                let (qx, qy) = (px - along * ax, py - along * ay);
                if qx * qx + qy * qy <= half_width * half_width {
                    img.put_pixel(x, y, colour);
                }
            }
        }
    }
    img
}

fn noise(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut rng = Rng::stream(seed, "noise");
    RgbImage::from_fn(w, h, |_, _| {
        Rgb([
            (rng.f32() * 256.0) as u8,
            (rng.f32() * 256.0) as u8,
            (rng.f32() * 256.0) as u8,
        ])
    })
}

fn from_f(f: &Rgbf, scale: f32) -> RgbImage {
    let raw = f.px.iter().map(|&v| to_u8(v * scale)).collect();
    RgbImage::from_raw(f.w as u32, f.h as u32, raw).expect("buffer size")
}

fn blurred(img: &RgbImage, sigma: f32) -> RgbImage {
    let f = Rgbf::from_rgb(img);
    let kernel = filters::gaussian_kernel(sigma, filters::blur_radius(sigma));
    let px = filters::blur(&f.px, f.w, f.h, 3, &kernel);
    from_f(&Rgbf { px, ..f }, 255.0)
}

/// Channels rotated: R <- G, G <- B, B <- R.
fn rotate_channels(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        let [r, g, b] = p.0;
        p.0 = [g, b, r];
    }
    out
}

/// The photo plus the style's high-pass band: the style's texture, the photo's palette.
fn textured(photo: &RgbImage, style: &RgbImage, sigma: f32) -> RgbImage {
    let band = Rgbf::from_rgb(style).high_pass(sigma);
    let mut out = photo.clone();
    for (v, b) in out.as_mut().iter_mut().zip(&band.px) {
        *v = to_u8(f32::from(*v) + 255.0 * b);
    }
    out
}

fn channel_mean(img: &RgbImage, c: usize) -> f64 {
    let raw = img.as_raw();
    raw.iter()
        .skip(c)
        .step_by(3)
        .map(|&v| f64::from(v))
        .sum::<f64>()
        / (raw.len() / 3) as f64
}

fn channel_quantile(img: &RgbImage, c: usize, q: f64) -> f64 {
    let mut v: Vec<u8> = img.as_raw().iter().skip(c).step_by(3).copied().collect();
    v.sort_unstable();
    f64::from(v[((v.len() - 1) as f64 * q).round() as usize])
}

#[test]
fn identical_images_are_at_distance_zero_with_ssim_one() {
    let o = opts(7);
    for img in [painterly(W, H, 1), scene(W, H), noise(W, H, 2)] {
        assert!(style_distance(&img, &img, &o).expect("distance").abs() < 1e-12);
        assert!(texture_distance(&img, &img, &o).expect("distance").abs() < 1e-12);
        assert!((ssim_luma(&img, &img) - 1.0).abs() < 1e-9);
    }
    // The output is the style image: both output distances vanish.
    let style = painterly(W, H, 3);
    let s = score(&scene(W, H), &style, &style, &o).expect("score");
    assert!(s.output.style < 1e-12 && s.output.texture < 1e-12, "{s:?}");
    assert!((s.style_gain - 1.0).abs() < 1e-9 && (s.texture_gain - 1.0).abs() < 1e-9);
}

#[test]
fn recolouring_moves_style_but_barely_texture() {
    for seed in 0..4 {
        let painting = painterly(W, H, 10 + seed);
        let recoloured = rotate_channels(&painting);
        let o = opts(seed);
        let style = style_distance(&recoloured, &painting, &o).expect("distance");
        let texture = texture_distance(&recoloured, &painting, &o).expect("distance");
        // Stroke colours are uniform in the RGB cube (invariant under the rotation), the
        // background gradient is not: the palette moves, the strokes' texture does not.
        assert!(style > 0.05, "seed {seed}: style {style}");
        assert!(
            texture < 0.25 * style,
            "seed {seed}: texture {texture} style {style}"
        );
    }
}

#[test]
fn ssim_is_low_for_noise_and_high_for_a_slight_blur() {
    let img = scene(W, H);
    for seed in 0..3 {
        let v = ssim_luma(&img, &noise(W, H, seed));
        assert!(v < 0.1, "noise: {v}");
    }
    let v = ssim_luma(&img, &blurred(&img, 1.0));
    assert!(v > 0.8 && v < 1.0, "blur: {v}");
    // A stronger blur keeps less structure.
    assert!(ssim_luma(&img, &blurred(&img, 3.0)) < v);
}

#[test]
fn histogram_matching_moves_the_palette_but_not_the_texture() {
    let photo = scene(W, H);
    for seed in 0..3 {
        let style = painterly(W, H, 20 + seed);
        let matched = histogram_match(&photo, &style);
        for c in 0..3 {
            let (m, t) = (channel_mean(&matched, c), channel_mean(&style, c));
            assert!(
                (m - t).abs() < 2.0,
                "seed {seed} channel {c}: mean {m} vs {t}"
            );
            // Quantiles match up to the photo's ties: a level's pixels all map to one level, so
            // the check is on a photo with no flat areas (each level holds ~1% of the pixels),
            // and in rank: the matched q-quantile lies between the style's (q -/+ 2%)-quantiles.
            let smooth = histogram_match(&gradient(W, H), &style);
            for q in [0.1, 0.25, 0.5, 0.75, 0.9] {
                let a = channel_quantile(&smooth, c, q);
                let lo = channel_quantile(&style, c, q - 0.02) - 1.0;
                let hi = channel_quantile(&style, c, q + 0.02) + 1.0;
                assert!(
                    (lo..=hi).contains(&a),
                    "seed {seed} channel {c} q {q}: {a} not in [{lo}, {hi}]"
                );
            }
        }
        let o = opts(seed);
        let s = score(&photo, &style, &textured(&photo, &style, o.blur_sigma), &o).expect("score");
        assert_eq!(
            s.histogram.style,
            style_distance(&matched, &style, &o).expect("distance")
        );
        assert!(s.histogram.style < 0.8 * s.photo.style, "{s:?}");
        assert!(s.histogram_style_gain > 0.2, "{s:?}");
        // The colour-only baseline gains little texture; the textured output gains a lot.
        assert!(s.texture_gain > 0.6, "{s:?}");
        assert!(s.histogram_texture_gain < s.texture_gain - 0.4, "{s:?}");
        assert!(s.ssim > 0.1 && s.ssim < 0.9, "{s:?}");
    }
}

#[test]
fn output_equal_to_the_photo_gains_nothing() {
    let (photo, style) = (scene(W, H), painterly(W, H, 4));
    for seed in 0..2 {
        let s = score(&photo, &style, &photo, &opts(seed)).expect("score");
        assert_eq!(s.style_gain, 0.0);
        assert_eq!(s.texture_gain, 0.0);
        assert_eq!(s.output, s.photo);
        assert!((s.ssim - 1.0).abs() < 1e-9);
        assert!(s.photo.style > 0.0 && s.photo.texture > 0.0);
    }
}

#[test]
fn detail_energy_says_too_smooth_from_too_busy() {
    let style = painterly(W, H, 4);
    let o = opts(0);
    // The style itself has exactly the style's amount of detail.
    let same = score(&scene(W, H), &style, &style, &o).expect("score");
    assert!(
        (same.texture_energy - 1.0).abs() < 1e-9,
        "{}",
        same.texture_energy
    );
    // A blurred style has less, the style plus noise more; the photo's own ratio is reported.
    let smooth = score(&scene(W, H), &style, &blurred(&style, 2.0), &o).expect("score");
    let mut busy = style.clone();
    for (v, n) in busy.as_mut().iter_mut().zip(noise(W, H, 9).as_raw()) {
        *v = to_u8(f32::from(*v) + f32::from(*n) - 127.5);
    }
    let busy = score(&scene(W, H), &style, &busy, &o).expect("score");
    assert!(smooth.texture_energy < 0.7, "{}", smooth.texture_energy);
    assert!(busy.texture_energy > 1.3, "{}", busy.texture_energy);
    assert_eq!(smooth.photo_texture_energy, busy.photo_texture_energy);
    assert!(smooth.photo_texture_energy > 0.0);
}

#[test]
fn mismatched_sizes_and_small_images_are_handled() {
    let o = opts(0);
    let (photo, style) = (scene(80, 64), painterly(50, 120, 5));
    // Different sizes everywhere: the output is resized to the content's size.
    let s = score(&photo, &style, &scene(40, 32), &o).expect("score");
    assert!(s.ssim > 0.8 && s.ssim <= 1.0, "{s:?}");
    assert!(s.output.style.is_finite() && s.output.texture.is_finite());
    assert!(style_distance(&photo, &style, &o).expect("distance") > 0.0);
    assert!(ssim_luma(&photo, &scene(40, 32)) > 0.8);
    // Fewer positions than samples: all of them are used; counts differ between the images.
    let tiny = painterly(6, 7, 6);
    assert!(texture_distance(&tiny, &style, &o).expect("distance") > 0.0);

    // Too small for the patch, empty, or bad options: errors, no panic.
    let small = scene(4, 30);
    assert!(style_distance(&small, &style, &o).is_err());
    assert!(texture_distance(&style, &small, &o).is_err());
    assert!(score(&small, &style, &photo, &o).is_err());
    assert!(score(&photo, &small, &photo, &o).is_err());
    assert!(score(&photo, &style, &RgbImage::new(0, 0), &o).is_err());
    for bad in [
        EvalOptions { patch: 0, ..o },
        EvalOptions { samples: 0, ..o },
        EvalOptions {
            projections: 0,
            ..o
        },
        EvalOptions {
            blur_sigma: 0.0,
            ..o
        },
        EvalOptions {
            blur_sigma: f32::NAN,
            ..o
        },
    ] {
        assert!(score(&photo, &style, &photo, &bad).is_err(), "{bad:?}");
    }
    // A very long thin image falls under the patch once downscaled to `max_side`.
    let err = style_distance(&scene(2000, 8), &style, &o).expect_err("too thin");
    assert!(err.contains("measured at"), "{err}");
    assert!(style_distance(&scene(2000, 8), &style, &EvalOptions { max_side: 0, ..o }).is_ok());

    // SSIM of tiny images uses a smaller window; empty images give NaN.
    assert!((ssim_luma(&scene(3, 3), &scene(3, 3)) - 1.0).abs() < 1e-9);
    assert!(ssim_luma(&scene(1, 1), &noise(5, 5, 1)).is_finite());
    assert!(ssim_luma(&RgbImage::new(0, 0), &photo).is_nan());
    assert_eq!(histogram_match(&photo, &RgbImage::new(0, 0)), photo);
    assert_eq!(histogram_match(&RgbImage::new(0, 0), &style).len(), 0);
}

#[test]
fn large_images_are_downscaled_to_max_side() {
    let (photo, style) = (scene(300, 200), painterly(240, 240, 8));
    let o = EvalOptions {
        max_side: 120,
        ..opts(1)
    };
    let s = score(&photo, &style, &photo, &o).expect("score");
    let small = score(&scene(120, 80), &style, &scene(120, 80), &o).expect("score");
    // The downscaled content is close to the scene drawn at that size.
    assert!(
        (s.photo.style - small.photo.style).abs() < 0.2 * small.photo.style,
        "{s:?} {small:?}"
    );
}

#[test]
fn scores_are_deterministic_for_a_seed() {
    let (photo, style) = (scene(W, H), painterly(W, H, 9));
    let output = textured(&photo, &style, 2.0);
    let a = score(&photo, &style, &output, &opts(3)).expect("score");
    let b = score(&photo, &style, &output, &opts(3)).expect("score");
    assert_eq!(a, b);
    let c = score(&photo, &style, &output, &opts(4)).expect("score");
    assert_ne!(a.output, c.output);
    // Another seed draws other patches and directions, but measures the same thing.
    assert!((a.texture_gain - c.texture_gain).abs() < 0.1, "{a:?} {c:?}");
}

#[test]
fn wasserstein_compares_unequal_counts_at_equal_quantiles() {
    // Quantile functions: a = 0 on [0, 1/2), 1 after; b = 0, 0.5, 1 on thirds.
    let d = w1_sorted(&[0.0, 1.0], &[0.0, 0.5, 1.0]);
    assert!((d - 1.0 / 6.0).abs() < 1e-12, "{d}");
    assert!((w1_sorted(&[0.0, 0.5, 1.0], &[0.0, 1.0]) - d).abs() < 1e-12);
    // Repeating every sample leaves the distribution, and the distance, unchanged.
    let (a, b) = ([0.1f32, 0.4, 0.9], [0.0f32, 0.2, 0.3]);
    let b2 = [0.0f32, 0.0, 0.2, 0.2, 0.3, 0.3];
    assert!((w1_sorted(&a, &b) - w1_sorted(&a, &b2)).abs() < 1e-9);
    assert!((w1_sorted(&a, &b) - 0.3).abs() < 1e-6);
    assert!(w1_sorted(&[], &b).is_nan());
    assert_eq!(gain(0.0, 0.0), 0.0);
    assert!(gain(1.0, 0.0).is_finite());
    assert_eq!(gain(0.5, 2.0), 0.75);
}

#[test]
fn checkerboard_index_flags_upsampling_grids_not_photos_or_noise() {
    let photo = scene(256, 192);
    let base = super::checkerboard(&photo);
    assert!(base > 0.0 && base < 0.01, "photo {base}");
    let noisy = super::checkerboard(&noise(256, 192, 3));
    assert!(noisy < 0.01, "noise {noisy}");
    // The photo with a faint grid added (+-6 levels) at the 2- and at the 4-pixel period.
    for period in [2u32, 4] {
        let mut gridded = photo.clone();
        for (x, y, p) in gridded.enumerate_pixels_mut() {
            let on = (x % period < period / 2) ^ (y % period < period / 2);
            let d: i16 = if on { 6 } else { -6 };
            for c in p.0.iter_mut() {
                *c = (i16::from(*c) + d).clamp(0, 255) as u8;
            }
        }
        let artefact = super::checkerboard(&gridded);
        assert!(
            artefact > 0.05 && artefact > 10.0 * base,
            "period {period}: {artefact} vs photo {base}"
        );
    }
    // A pure checkerboard: every bit of its detail is on the grid; a flat image gives 0.
    let pure = RgbImage::from_fn(32, 32, |x, y| {
        let v = if (x + y) % 2 == 0 { 200 } else { 40 };
        image::Rgb([v, v, v])
    });
    assert!((super::checkerboard(&pure) - 1.0).abs() < 1e-6);
    assert_eq!(super::checkerboard(&RgbImage::new(16, 16)), 0.0);
    // And it is reported with the scores, beside the photo's own.
    let out = noise(256, 192, 4);
    let s = score(&photo, &painterly(256, 192, 1), &out, &opts(0)).unwrap();
    assert_eq!(s.photo_checkerboard, base);
    assert_eq!(s.checkerboard, super::checkerboard(&out));
}
