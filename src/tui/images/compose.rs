//! Images the compare view builds from probe outputs before they are encoded: a region of the
//! probe at native pixels (zoom 2x/4x, nearest-neighbour), A and B in one image split at a
//! movable column (wipe), and |A − B| as a heat map whose scale (the largest difference) comes
//! back with it. Pure functions over decoded images; the image worker runs them.

use image::{imageops, DynamicImage, Rgb, RgbImage};
use std::path::PathBuf;

/// What is drawn from the key's file (and, for two-image views, the other file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Compose {
    /// The file itself.
    #[default]
    Plain,
    /// The key's file left of `split` (thousandths of the width), `other` right of it, with a
    /// one-pixel white line at the split.
    Wipe { other: PathBuf, split: u16 },
    /// The per-pixel mean over channels of |file − other| as a heat map, scaled to its maximum.
    Diff { other: PathBuf },
}

impl Compose {
    /// The second file, if any.
    pub fn other(&self) -> Option<&PathBuf> {
        match self {
            Compose::Plain => None,
            Compose::Wipe { other, .. } | Compose::Diff { other } => Some(other),
        }
    }
}

/// The part of a probe shown: `zoom` 1 (all), 2 or 4 times magnified around a centre given in
/// thousandths of the width and height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    pub zoom: u8,
    pub cx: u16,
    pub cy: u16,
}

impl Default for Region {
    fn default() -> Self {
        Self {
            zoom: 1,
            cx: 500,
            cy: 500,
        }
    }
}

/// Zoom levels, in the order a key cycles them.
pub const ZOOMS: [u8; 3] = [1, 2, 4];

impl Region {
    /// Half the window's side in thousandths.
    fn half(self) -> u16 {
        500 / u16::from(self.zoom.max(1))
    }

    /// The next zoom level (1 -> 2 -> 4 -> 1), the centre kept inside the image.
    pub fn cycle(self) -> Self {
        let i = ZOOMS.iter().position(|z| *z == self.zoom).unwrap_or(0);
        Self {
            zoom: ZOOMS[(i + 1) % ZOOMS.len()],
            ..self
        }
        .clamped()
    }

    /// Move the window by a quarter of its side (`dx`, `dy` in quarters).
    pub fn pan(self, dx: i32, dy: i32) -> Self {
        let step = i32::from(self.half()) / 2;
        let at = |c: u16, d: i32| (i32::from(c) + d * step).clamp(0, 1000) as u16;
        Self {
            cx: at(self.cx, dx),
            cy: at(self.cy, dy),
            ..self
        }
        .clamped()
    }

    /// The centre moved so the window stays inside the image.
    pub fn clamped(self) -> Self {
        let half = self.half();
        Self {
            cx: self.cx.clamp(half, 1000 - half),
            cy: self.cy.clamp(half, 1000 - half),
            ..self
        }
    }

    /// The window in pixels of a `w` x `h` image: (x, y, width, height), at least 1x1.
    pub fn pixels(self, w: u32, h: u32) -> (u32, u32, u32, u32) {
        let z = u32::from(self.zoom.max(1));
        let (rw, rh) = ((w / z).max(1), (h / z).max(1));
        let r = self.clamped();
        let start = |c: u16, full: u32, part: u32| {
            let centre = u64::from(c) * u64::from(full) / 1000;
            (centre.saturating_sub(u64::from(part) / 2) as u32).min(full - part)
        };
        (start(r.cx, w, rw), start(r.cy, h, rh), rw, rh)
    }
}

/// The region of `img`, magnified `zoom` times with nearest-neighbour (each probe pixel a
/// `zoom` x `zoom` block).
pub fn crop(img: &RgbImage, region: Region) -> RgbImage {
    if region.zoom <= 1 {
        return img.clone();
    }
    let (x, y, w, h) = region.pixels(img.width(), img.height());
    let part = imageops::crop_imm(img, x, y, w, h).to_image();
    let z = u32::from(region.zoom);
    imageops::resize(&part, w * z, h * z, imageops::FilterType::Nearest)
}

/// `b` at `a`'s size (outputs of runs with another image size still compare).
fn same_size(a: &RgbImage, b: &RgbImage) -> RgbImage {
    if a.dimensions() == b.dimensions() {
        b.clone()
    } else {
        imageops::resize(b, a.width(), a.height(), imageops::FilterType::Triangle)
    }
}

/// `a` left of the split (thousandths of the width), `b` right of it, a white column at it.
pub fn wipe(a: &RgbImage, b: &RgbImage, split: u16) -> RgbImage {
    let b = same_size(a, b);
    let w = a.width();
    let at = (u64::from(split.min(1000)) * u64::from(w) / 1000) as u32;
    RgbImage::from_fn(w, a.height(), |x, y| match x.cmp(&at) {
        std::cmp::Ordering::Less => *a.get_pixel(x, y),
        std::cmp::Ordering::Equal => Rgb([255, 255, 255]),
        std::cmp::Ordering::Greater => *b.get_pixel(x, y),
    })
}

/// |a − b| per pixel (mean over the channels, 0–1) as a heat map scaled to the largest
/// difference, and that largest difference. Identical images give black and 0.
pub fn diff(a: &RgbImage, b: &RgbImage) -> (RgbImage, f32) {
    let b = same_size(a, b);
    let d: Vec<f32> = a
        .pixels()
        .zip(b.pixels())
        .map(|(p, q)| {
            let s: i32 = (0..3)
                .map(|c| (i32::from(p[c]) - i32::from(q[c])).abs())
                .sum();
            s as f32 / (3.0 * 255.0)
        })
        .collect();
    let max = d.iter().copied().fold(0.0f32, f32::max);
    let w = a.width();
    let img = RgbImage::from_fn(w, a.height(), |x, y| {
        let v = d[(y * w + x) as usize];
        Rgb(heat(if max > 0.0 { v / max } else { 0.0 }))
    });
    (img, max)
}

/// The heat map's colours (an inferno-like ramp: black, purple, red, orange, pale yellow) at
/// `t` in 0–1; the view's colour bar uses the same.
pub fn heat(t: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] = [
        [0.0, 0.0, 4.0],
        [87.0, 16.0, 110.0],
        [188.0, 55.0, 84.0],
        [249.0, 142.0, 9.0],
        [252.0, 255.0, 164.0],
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (STOPS.len() - 1) as f32;
    let i = (pos.floor() as usize).min(STOPS.len() - 2);
    let f = pos - i as f32;
    let mix = |c: usize| (STOPS[i][c] + (STOPS[i + 1][c] - STOPS[i][c]) * f).round() as u8;
    [mix(0), mix(1), mix(2)]
}

/// The picture for a key: `first` composed with `other` as `compose` says, both cut to
/// `region` first (so the wipe's split and the difference's scale are those of what is shown).
/// Returns the image and, for a difference, its largest value.
pub fn render(
    first: &DynamicImage,
    other: Option<&DynamicImage>,
    compose: &Compose,
    region: Region,
) -> (DynamicImage, Option<f32>) {
    let a = crop(&first.to_rgb8(), region);
    let b = other.map(|o| crop(&same_size(&first.to_rgb8(), &o.to_rgb8()), region));
    match (compose, b) {
        (Compose::Wipe { split, .. }, Some(b)) => (wipe(&a, &b, *split).into(), None),
        (Compose::Diff { .. }, Some(b)) => {
            let (img, max) = diff(&a, &b);
            (img.into(), Some(max))
        }
        _ => (a.into(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: u32, h: u32, c: [u8; 3]) -> RgbImage {
        RgbImage::from_pixel(w, h, Rgb(c))
    }

    #[test]
    fn wipe_takes_a_left_and_b_right_of_the_split() {
        let (a, b) = (solid(100, 10, [200, 0, 0]), solid(100, 10, [0, 0, 200]));
        let w = wipe(&a, &b, 300);
        assert_eq!(w.get_pixel(29, 5).0, [200, 0, 0]);
        assert_eq!(w.get_pixel(30, 5).0, [255, 255, 255]);
        assert_eq!(w.get_pixel(31, 5).0, [0, 0, 200]);
        // Another size is scaled to A's.
        let w = wipe(&a, &solid(50, 5, [0, 0, 200]), 900);
        assert_eq!(w.dimensions(), (100, 10));
        assert_eq!(w.get_pixel(95, 9).0, [0, 0, 200]);
        assert_eq!(wipe(&a, &b, 0).get_pixel(1, 0).0, [0, 0, 200]);
    }

    #[test]
    fn diff_is_scaled_to_its_maximum() {
        let a = solid(4, 4, [100, 100, 100]);
        let (img, max) = diff(&a, &a);
        assert_eq!(max, 0.0);
        assert!(img.pixels().all(|p| p.0 == heat(0.0)));
        let mut b = a.clone();
        b.put_pixel(1, 2, Rgb([202, 100, 100]));
        b.put_pixel(3, 3, Rgb([151, 100, 100]));
        let (img, max) = diff(&a, &b);
        assert!((max - 102.0 / 765.0).abs() < 1e-6, "{max}");
        assert_eq!(img.get_pixel(1, 2).0, heat(1.0));
        assert_eq!(img.get_pixel(3, 3).0, heat(0.5));
        assert_eq!(img.get_pixel(0, 0).0, heat(0.0));
    }

    #[test]
    fn heat_runs_dark_to_light() {
        let lum =
            |c: [u8; 3]| 0.3 * f32::from(c[0]) + 0.59 * f32::from(c[1]) + 0.11 * f32::from(c[2]);
        let ramp: Vec<f32> = (0..=10).map(|i| lum(heat(i as f32 / 10.0))).collect();
        assert!(ramp.windows(2).all(|w| w[1] > w[0]), "{ramp:?}");
        assert_eq!(heat(f32::NAN), heat(0.0));
        assert_eq!(heat(7.0), heat(1.0));
    }

    #[test]
    fn zoom_shows_native_pixels_of_the_region_and_pans_inside() {
        // A 8x8 image whose pixel (x, y) has red x*10 and green y*10.
        let img = RgbImage::from_fn(8, 8, |x, y| Rgb([x as u8 * 10, y as u8 * 10, 0]));
        let r = Region::default().cycle();
        assert_eq!(r.zoom, 2);
        assert_eq!(r.pixels(8, 8), (2, 2, 4, 4));
        let z = crop(&img, r);
        assert_eq!(z.dimensions(), (8, 8));
        // Each source pixel is a 2x2 block.
        assert_eq!(z.get_pixel(0, 0).0, [20, 20, 0]);
        assert_eq!(z.get_pixel(1, 1).0, [20, 20, 0]);
        assert_eq!(z.get_pixel(2, 0).0, [30, 20, 0]);
        // Panning stops at the edge.
        let far = (0..10).fold(r, |r, _| r.pan(1, -1));
        assert_eq!(far.pixels(8, 8), (4, 0, 4, 4));
        assert_eq!(crop(&img, far).get_pixel(7, 7).0, [70, 30, 0]);
        let four = r.cycle();
        assert_eq!((four.zoom, four.pixels(8, 8).2), (4, 2));
        assert_eq!(four.cycle().zoom, 1);
        assert_eq!(crop(&img, Region::default()), img);
    }

    #[test]
    fn render_cuts_both_images_before_composing() {
        let a = DynamicImage::from(RgbImage::from_fn(8, 8, |x, _| {
            Rgb([if x < 4 { 200 } else { 0 }, 0, 0])
        }));
        let b = DynamicImage::from(solid(8, 8, [0, 0, 0]));
        // Zoomed 2x on the left half: the difference is the same everywhere shown.
        let left = Region {
            zoom: 2,
            cx: 0,
            cy: 500,
        };
        let diff = Compose::Diff { other: "b".into() };
        let (img, max) = render(&a, Some(&b), &diff, left);
        assert!((max.unwrap() - 200.0 / 765.0).abs() < 1e-6);
        assert!(img.to_rgb8().pixels().all(|p| p.0 == heat(1.0)));
        let (img, max) = render(&a, None, &Compose::Plain, Region::default());
        assert_eq!((img.width(), max), (8, None));
    }
}
