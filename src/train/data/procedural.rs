//! Built-in procedural training data for the quickstart experiment. When a spec says
//! `content = "builtin"` or `style = "builtin"`, the data loader takes its images from here
//! instead of from files, so the quickstart trains offline: [`content_scene`] paints photo-like
//! landscapes (sky, hills, houses, trees, soft light, mild grain) and [`painterly_style`] a bold,
//! swirling brush-stroke painting in a limited palette. Both are fast pure functions of their
//! arguments; all randomness comes from [`crate::rng::Rng`].

use crate::rng::Rng;
use image::RgbImage;

type Rgb = [f32; 3];
type Pt = (f32, f32);

fn hex(c: u32) -> Rgb {
    [16, 8, 0].map(|s| ((c >> s) & 255) as f32 / 255.0)
}

fn lerp(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [0, 1, 2].map(|c| a[c] + (b[c] - a[c]) * t)
}

fn mul(a: Rgb, k: f32) -> Rgb {
    a.map(|v| v * k)
}

/// Per-channel multiplicative jitter of up to `amt`.
fn jitter(rng: &mut Rng, c: Rgb, amt: f32) -> Rgb {
    c.map(|v| (v * (1.0 + amt * (2.0 * rng.f32() - 1.0))).clamp(0.0, 1.0))
}

fn hash(x: i32, y: i32, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x27d4_eb2d) ^ (y as u32).wrapping_mul(0x1656_67b1) ^ seed;
    h = (h ^ (h >> 15)).wrapping_mul(0x2c1b_3c6d);
    h = (h ^ (h >> 12)).wrapping_mul(0x297a_2d39);
    (h ^ (h >> 15)) as f32 / u32::MAX as f32
}

/// Smooth value noise in [0, 1] with unit cell size.
fn vnoise(x: f32, y: f32, seed: u32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (tx, ty) = (x - x0, y - y0);
    let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let at = |dx, dy| hash(x0 as i32 + dx, y0 as i32 + dy, seed);
    let top = at(0, 0) + (at(1, 0) - at(0, 0)) * sx;
    top + (at(0, 1) + (at(1, 1) - at(0, 1)) * sx - top) * sy
}

/// Bounding box [x0, y0, x1, y1] of some points.
fn bounds(pts: &[Pt]) -> [f32; 4] {
    let init = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    let grow = |b: [f32; 4], p: &Pt| [b[0].min(p.0), b[1].min(p.1), b[2].max(p.0), b[3].max(p.1)];
    pts.iter().fold(init, grow)
}

/// Filled shapes; ellipses and boxes are (centre x, centre y, half width, half height).
enum Shape {
    Ell(f32, f32, f32, f32),
    Rect(f32, f32, f32, f32),
    Tri([Pt; 3]),
}

/// An upright triangle: base centred on `(x, y)`, apex `height` above, shifted by `lean`.
fn spike(x: f32, y: f32, half: f32, height: f32, lean: f32) -> Shape {
    Shape::Tri([(x - half, y), (x + half, y), (x + lean, y - height)])
}

impl Shape {
    fn bbox(&self) -> [f32; 4] {
        match *self {
            Shape::Ell(x, y, a, b) | Shape::Rect(x, y, a, b) => [x - a, y - b, x + a, y + b],
            Shape::Tri(p) => bounds(&p),
        }
    }

    /// Signed distance in pixels, negative inside (approximate for ellipses and corners).
    fn sdf(&self, px: f32, py: f32) -> f32 {
        match *self {
            Shape::Ell(x, y, a, b) => (((px - x) / a).hypot((py - y) / b) - 1.0) * a.min(b),
            Shape::Rect(x, y, a, b) => {
                let (dx, dy) = ((px - x).abs() - a, (py - y).abs() - b);
                dx.max(0.0).hypot(dy.max(0.0)) + dx.max(dy).min(0.0)
            }
            Shape::Tri(p) => {
                let ((ax, ay), (bx, by), (cx, cy)) = (p[0], p[1], p[2]);
                let winding = ((bx - ax) * (cy - ay) - (by - ay) * (cx - ax)).signum();
                (0..3).fold(f32::MIN, |d, i| {
                    let ((ax, ay), (bx, by)) = (p[i], p[(i + 1) % 3]);
                    let len = (bx - ax).hypot(by - ay).max(1e-6);
                    d.max(winding * ((px - ax) * (by - ay) - (py - ay) * (bx - ax)) / len)
                })
            }
        }
    }
}

/// A float RGB canvas; shapes and strokes touch only their bounding boxes.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<Rgb>,
}

impl Canvas {
    /// Zero sizes are treated as 1.
    fn new(width: u32, height: u32, fill: Rgb) -> Self {
        let (w, h) = (width.max(1) as usize, height.max(1) as usize);
        let px = vec![fill; w * h];
        Self { w, h, px }
    }

    fn blend(&mut self, x: usize, y: usize, c: Rgb, a: f32) {
        let p = &mut self.px[y * self.w + x];
        *p = lerp(*p, c, a);
    }

    /// Pixel ranges covering box `b` grown by `pad`, clipped to the canvas.
    fn span(&self, b: [f32; 4], pad: f32) -> [std::ops::Range<usize>; 2] {
        let lo = |v: f32| (v - pad).max(0.0) as usize;
        let hi = |v: f32, n: usize| ((v + pad).ceil().max(0.0) as usize).min(n);
        [lo(b[0])..hi(b[2], self.w), lo(b[1])..hi(b[3], self.h)]
    }

    /// Paints `shape` with an anti-aliased edge `soft` pixels wide.
    fn fill(&mut self, shape: Shape, soft: f32, alpha: f32, color: impl Fn(f32, f32) -> Rgb) {
        let soft = soft.max(0.5);
        let [xs, ys] = self.span(shape.bbox(), soft + 1.0);
        for y in ys {
            for x in xs.clone() {
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                let a = ((soft - shape.sdf(fx, fy)) / (2.0 * soft)).clamp(0.0, 1.0) * alpha;
                if a > 0.0 {
                    self.blend(x, y, color(fx, fy), a);
                }
            }
        }
    }

    /// Quantises to 8 bits after a per-pixel `post` pass (vignette, grain).
    fn into_image(self, mut post: impl FnMut(usize, usize, Rgb) -> Rgb) -> RgbImage {
        let mut buf = Vec::with_capacity(self.px.len() * 3);
        for (i, p) in self.px.iter().enumerate() {
            let c = post(i % self.w, i / self.w, *p);
            buf.extend(c.map(|v| (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8));
        }
        let (w, h) = (self.w as u32, self.h as u32);
        RgbImage::from_raw(w, h, buf).unwrap_or_else(|| RgbImage::new(w, h))
    }
}

/// Sky top, sky at horizon, far ground, near ground, foliage, sun: for a clear day, a dusk,
/// autumn, winter, a dry land and an overcast day.
const PALETTES: [[u32; 6]; 6] = [
    [0x4080d9, 0xb8d9f2, 0x809e52, 0x427529, 0x337326, 0xfff7d9],
    [0x4d4d94, 0xfa9e61, 0x6b5747, 0x383321, 0x38451f, 0xffd980],
    [0x598ccc, 0xd1dbe6, 0xb88f4d, 0x805726, 0xd1661a, 0xfff2cc],
    [0x8ca6cc, 0xe6ebf2, 0xe0e6f0, 0xc7d1e0, 0x264d33, 0xffffeb],
    [0x3385cc, 0xc2d9e6, 0xd9b375, 0xad804d, 0x6b8033, 0xfff2bf],
    [0x858f9e, 0xcccccc, 0x808f75, 0x4d6147, 0x385933, 0xf2f2e6],
];
const WALLS: [u32; 5] = [0xebe6d6, 0xb8543d, 0xedd18c, 0x99a8b8, 0xd9bfa6];
const ROOFS: [u32; 3] = [0x8c2e24, 0x4d525c, 0x6b472e];

/// A "photo-like" content scene: index `i` of the built-in content set for `seed`.
pub fn content_scene(seed: u64, i: usize, width: u32, height: u32) -> RgbImage {
    let key = seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = Rng::stream(key, "procedural-scene");
    let pal = PALETTES[(i + (seed % 6) as usize) % 6];
    let [sky0, sky1, far, near, leaf, sun] = pal.map(|c| jitter(&mut rng, hex(c), 0.08));
    let mut cv = Canvas::new(width, height, sky0);
    let (fw, fh) = (cv.w as f32, cv.h as f32);
    let s = fw.min(fh);
    let horizon = fh * rng.range_f32(0.42, 0.64);
    let ground = (fh - horizon).max(1.0);
    let (sx, sy) = (fw * rng.range_f32(0.1, 0.9), horizon * rng.f32());
    let light = if sx < fw * 0.5 { -1.0 } else { 1.0 };
    let nseed = rng.next_u64() as u32;
    let w = cv.w;
    for (idx, p) in cv.px.iter_mut().enumerate() {
        let (x, y) = ((idx % w) as f32 + 0.5, (idx / w) as f32 + 0.5);
        *p = if y < horizon {
            let (t, d2) = (y / horizon, (x - sx).powi(2) + (y - sy).powi(2));
            let sky = lerp(sky0, sky1, t * t * (3.0 - 2.0 * t));
            lerp(sky, sun, 0.55 * (-d2 / (0.18 * s * s)).exp())
        } else {
            let t = (y - horizon) / ground;
            let sc = s * (0.01 + 0.05 * t);
            let n = vnoise(x / sc / 4.0, y / sc, nseed) + vnoise(x / sc, y / sc * 3.0, !nseed);
            mul(lerp(far, near, t), 0.86 + 0.14 * n)
        };
    }
    cv.fill(Shape::Ell(sx, sy, s * 0.06, s * 0.06), 1.2, 1.0, |_, _| sun);
    let white = lerp([1.0; 3], sky1, 0.25);
    for _ in 0..rng.below(4) {
        let (cx, cy) = (fw * rng.f32(), horizon * rng.f32());
        let r = s * rng.range_f32(0.05, 0.1);
        for _ in 0..3 + rng.below(3) {
            let x = cx + r * rng.range_f32(-1.5, 1.5);
            let y = cy + r * rng.range_f32(-0.3, 0.3);
            let (a, b) = (r * rng.range_f32(0.6, 1.1), r * rng.range_f32(0.3, 0.55));
            let shade = |_, py: f32| mul(white, 1.0 - 0.18 * ((py - y) / b).max(0.0));
            cv.fill(Shape::Ell(x, y, a, b), s * 0.012, 0.9, shade);
        }
    }
    let hills = 1 + rng.below(3);
    for k in 0..hills {
        let col = lerp(mul(far, 0.8), sky1, 0.5 - 0.4 * k as f32 / hills as f32);
        let amp = s * rng.range_f32(0.05, 0.2);
        let (f1, f2) = (rng.range_f32(2.0, 6.0) / fw, rng.range_f32(8.0, 20.0) / fw);
        let (p1, p2) = (rng.range_f32(0.0, 6.3), rng.range_f32(0.0, 6.3));
        for x in 0..cv.w {
            let fx = x as f32 + 0.5;
            let wave = 0.55 + 0.3 * (fx * f1 + p1).sin() + 0.15 * (fx * f2 + p2).sin();
            let top = horizon - amp * wave;
            for y in (top.max(0.0) as usize)..(horizon.ceil() as usize).min(cv.h) {
                let fy = y as f32 + 0.5;
                let rim = 1.0 + 0.12 * (-(fy - top) / (s * 0.03)).exp();
                let tex = 0.92 + 0.16 * vnoise(fx / s * 33.0, fy / s * 66.0, nseed ^ k as u32);
                cv.blend(x, y, mul(col, rim * tex), (fy + 0.5 - top).clamp(0.0, 1.0));
            }
        }
    }
    // Houses and trees, stratified in depth so that nearer (lower, larger) ones are drawn later.
    let (n, p_house) = (2 + rng.below(8), rng.range_f32(0.15, 0.5));
    for j in 0..n {
        let x = fw * rng.range_f32(0.05, 0.95);
        let base = horizon + ground * (0.08 + 0.77 * (j as f32 + rng.f32()) / n as f32);
        let r = s * (0.4 + 1.2 * (base - horizon) / ground) * rng.range_f32(0.05, 0.08);
        let shadow = Shape::Ell(x - light * r * 0.7, base, r * 1.6, r * 0.2);
        cv.fill(shadow, r * 0.15, 0.35, |_, _| [0.0; 3]);
        if rng.f32() < p_house {
            house(&mut cv, &mut rng, (x, base, r), light);
        } else {
            tree(&mut cv, &mut rng, (x, base, r), light, leaf);
        }
    }
    for _ in 0..(fw * 0.5) as usize {
        let (x, y) = (fw * rng.f32(), fh * rng.range_f32(0.85, 1.02));
        let h = s * rng.range_f32(0.015, 0.04);
        let blade = spike(x, y, s * 0.003 + 0.4, h, h * rng.range_f32(-0.4, 0.4));
        let col = mul(lerp(near, leaf, rng.f32()), rng.range_f32(0.7, 1.3));
        cv.fill(blade, 0.5, 0.9, |_, _| col);
    }
    let (cx, cy) = (fw * 0.5, fh * 0.5);
    cv.into_image(|x, y, p| {
        let r2 = ((x as f32 - cx) / cx).powi(2) + ((y as f32 - cy) / cy).powi(2);
        let grain = 0.03 * (rng.f32() - 0.5);
        p.map(|v| v * (1.0 - 0.12 * r2) + grain)
    })
}

/// A house standing at `(x, base)` with half-width `r`, lit from side `light` (-1 or 1).
fn house(cv: &mut Canvas, rng: &mut Rng, (x, base, r): (f32, f32, f32), light: f32) {
    let (wall, roof) = (hex(WALLS[rng.below(5)]), hex(ROOFS[rng.below(3)]));
    let (bh, rh) = (r * rng.range_f32(1.2, 2.0), r * rng.range_f32(0.7, 1.2));
    let top = base - bh;
    let body = Shape::Rect(x, base - bh * 0.5, r, bh * 0.5);
    let shade = |px: f32, py: f32| 1.0 + 0.15 * light * (px - x) / r - 0.1 * (py - top) / bh;
    cv.fill(body, 0.6, 1.0, |px, py| mul(wall, shade(px, py)));
    let side = move |px: f32| if (px - x) * light > 0.0 { 1.1 } else { 0.75 };
    let gable = spike(x, top, r * 1.25, rh, 0.0);
    cv.fill(gable, 0.6, 1.0, |px, _| mul(roof, side(px)));
    let glass = hex(if rng.bool() { 0x26334d } else { 0xf2d980 });
    for dx in [-0.5, 0.5] {
        let (cx, cy, a, b) = (x + dx * r, top + 0.45 * bh, 0.22 * r, 0.14 * bh);
        let frame = Shape::Rect(cx, cy, a + 0.8, b + 0.8);
        cv.fill(frame, 0.5, 1.0, |_, _| [0.95; 3]);
        let shade = |_, py: f32| mul(glass, 1.0 - 0.2 * (py - cy) / b);
        cv.fill(Shape::Rect(cx, cy, a, b), 0.5, 1.0, shade);
    }
    let door = Shape::Rect(x, base - 0.18 * bh, 0.16 * r, 0.18 * bh);
    cv.fill(door, 0.5, 1.0, |_, _| hex(0x4d331f));
}

/// A tree at `(x, base)` with crown radius `r`: a round broadleaf or a conifer.
fn tree(cv: &mut Canvas, rng: &mut Rng, (x, base, r): (f32, f32, f32), light: f32, leaf: Rgb) {
    let th = r * rng.range_f32(0.8, 1.4);
    let trunk = Shape::Rect(x, base - th * 0.5, r * 0.12, th * 0.5);
    let bark = |px: f32, _| mul(hex(0x593d26), 1.0 + 0.3 * light * (px - x) / r);
    cv.fill(trunk, 0.5, 1.0, bark);
    let (leaf, conifer) = (jitter(rng, leaf, 0.15), rng.f32() < 0.35);
    let nseed = rng.next_u64() as u32;
    for b in 0..if conifer { 3 } else { 4 } {
        let (b, a) = (b as f32, b as f32 * 2.2 + rng.f32());
        let off = if b > 0.0 { 0.6 * r } else { 0.0 };
        let (ox, oy) = (off * a.cos(), 1.3 * r + off * a.sin());
        let (bx, by, rr) = if conifer {
            (x, base - th - r * (0.7 + 0.8 * b), r * (1.2 - 0.3 * b))
        } else {
            (x + ox, base - th - oy, r - 0.5 * off)
        };
        let shade = move |px: f32, py: f32| {
            let lit = (((px - bx) * light * 0.6 - (py - by) * 0.8) / rr).max(-0.5);
            let tex = 0.8 + 0.4 * vnoise(px / (1.5 + r * 0.1), py / (1.5 + r * 0.1), nseed);
            mul(leaf, (0.75 + 0.35 * lit) * tex)
        };
        let blob = if conifer {
            spike(bx, by + rr * 0.6, rr, rr * 1.9, 0.0)
        } else {
            Shape::Ell(bx, by, rr, rr)
        };
        cv.fill(blob, 0.8, 1.0, shade);
    }
}

/// One brush stroke along polyline `pts`: opaque body, darker rim, bristle streaks.
fn stroke(cv: &mut Canvas, pts: &[Pt], r: f32, color: Rgb, phase: f32) {
    let [xs, ys] = cv.span(bounds(pts), r + 1.5);
    let segs = pts.len().saturating_sub(1).max(1) as f32;
    for y in ys {
        for x in xs.clone() {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let (mut best, mut cross, mut u) = (f32::MAX, 0.0, 0.0);
            for (k, w) in pts.windows(2).enumerate() {
                let (ax, ay, ex, ey) = (w[0].0, w[0].1, w[1].0 - w[0].0, w[1].1 - w[0].1);
                let len2 = (ex * ex + ey * ey).max(1e-6);
                let t = (((px - ax) * ex + (py - ay) * ey) / len2).clamp(0.0, 1.0);
                let d2 = (px - ax - t * ex).powi(2) + (py - ay - t * ey).powi(2);
                if d2 < best {
                    best = d2;
                    cross = (ex * (py - ay) - ey * (px - ax)) / len2.sqrt();
                    u = (k as f32 + t) / segs;
                }
            }
            let (re, d) = (r * (1.0 - 0.45 * (2.0 * u - 1.0).powi(4)), best.sqrt());
            if d < re + 0.5 {
                let shade = 1.0 - 0.3 * (d / re).powi(2) + 0.16 * (cross / r * 4.5 + phase).sin();
                cv.blend(x, y, mul(color, shade), (re + 0.5 - d).min(1.0) * 0.95);
            }
        }
    }
}

const SKY: [u32; 6] = [0x142980, 0x2952b8, 0x6694e0, 0x29808f, 0xf0db80, 0x0a123d];
const STAR: [u32; 4] = [0xfcdb38, 0xfff2ad, 0xf2941f, 0xe6c240];
const LAND: [u32; 5] = [0x14474d, 0x12215c, 0x234a9c, 0xbd8f2e, 0x0d122e];
const TREE: [u32; 3] = [0x0a1f12, 0x1f381a, 0x334724];

/// A painterly style texture (the built-in style image).
pub fn painterly_style(seed: u64, width: u32, height: u32) -> RgbImage {
    let mut rng = Rng::stream(seed, "procedural-style");
    let mut cv = Canvas::new(width, height, hex(0x0d1a4d));
    let (fw, fh) = (cv.w as f32, cv.h as f32);
    let s = fw.min(fh);
    let k = (s / 256.0).sqrt().clamp(0.4, 2.0);
    let ph = rng.range_f32(0.0, 6.3);
    let horizon = move |x: f32| fh * (0.72 + 0.05 * (x / fw * 7.0 + ph).sin());
    // Vortices [x, y, radius, spin]: four big swirls, then a moon and stars that get halos.
    let mut vort = Vec::new();
    for j in 0..10 + rng.below(4) {
        let (x, y) = (fw * rng.f32(), fh * rng.range_f32(0.05, 0.6));
        let (lo, hi) = if j < 4 { (0.1, 0.22) } else { (0.025, 0.05) };
        let r = rng.range_f32(lo, hi) * if j == 4 { 2.2 } else { 1.0 };
        let spin = if j < 4 && rng.bool() { -2.5 } else { 2.5 };
        vort.push([x, y, s * r, spin]);
    }
    let (swirls, stars) = vort.split_at(4);
    let (tx, ty) = (fw * rng.range_f32(0.1, 0.9), fh * rng.range_f32(0.15, 0.35));
    let tw = s * rng.range_f32(0.06, 0.1);
    let in_tree = |x: f32, y: f32| y > ty && (x - tx).abs() < tw * ((y - ty) / fh).powf(0.6);
    // Direction of the strokes: rising flames in the cypress, waves on land, whirls in the sky.
    let flow = |x: f32, y: f32| -> Pt {
        let (tree, land) = (in_tree(x, y), y > horizon(x));
        let (mut vx, mut vy) = if tree {
            (0.3 * (y / s * 20.0).sin(), -1.0)
        } else {
            (1.0, 0.4 * (x / s * 9.0 + y / s * 3.0).sin())
        };
        for v in vort.iter().filter(|_| !tree && !land) {
            let (dx, dy) = (x - v[0], y - v[1]);
            let f = v[3] * v[2] * 1.5 / (dx * dx + dy * dy + (v[2] * 1.5).powi(2));
            (vx, vy) = (vx - dy * f, vy + dx * f);
        }
        let n = vx.hypot(vy).max(1e-6);
        (vx / n, vy / n)
    };
    for _ in 0..(fw * fh * 3.5 / (100.0 * k * k)) as usize {
        let (x, y) = (rng.range_f32(-4.0, fw + 4.0), rng.range_f32(-4.0, fh + 4.0));
        let halo = |v: &[f32; 4]| (x - v[0]).hypot(y - v[1]) / (v[2] * 1.8);
        let star = stars.iter().map(halo).fold(f32::MAX, f32::min);
        let base = if in_tree(x, y) {
            TREE[rng.below(3)]
        } else if y > horizon(x) {
            LAND[rng.below(5)]
        } else if star < 1.0 {
            STAR[rng.below(2) + if star < 0.45 { 0 } else { 2 }]
        } else {
            // Concentric light bands around each swirl, as in Van Gogh's night sky.
            let band = |v: &[f32; 4]| {
                let d = (x - v[0]).hypot(y - v[1]);
                (d / (s * 0.035)).sin() * (-d / (v[2] * 2.0)).exp()
            };
            let light = swirls.iter().map(band).sum::<f32>() > 0.25;
            let (lo, n) = if light { (2, 3) } else { (0, 6) };
            SKY[lo + rng.below(n)]
        };
        let color = mul(jitter(&mut rng, hex(base), 0.12), rng.range_f32(0.75, 1.15));
        let (len, r) = (k * rng.range_f32(1.5, 4.0), k * rng.range_f32(1.6, 3.2));
        let (sin, cos) = rng.range_f32(-0.25, 0.25).sin_cos();
        let mut pts = [(x, y); 5];
        for j in 1..pts.len() {
            let ((px, py), (dx, dy)) = (pts[j - 1], flow(pts[j - 1].0, pts[j - 1].1));
            let (dx, dy) = (dx * cos - dy * sin, dx * sin + dy * cos);
            pts[j] = (px + dx * len, py + dy * len);
        }
        stroke(&mut cv, &pts, r, color, rng.range_f32(0.0, 6.3));
    }
    cv.into_image(|_, _, p| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_rgb(img: &RgbImage) -> [f64; 3] {
        let n = f64::from(img.width() * img.height());
        [0, 1, 2].map(|c| img.pixels().map(|p| f64::from(p[c])).sum::<f64>() / n)
    }

    /// Mean absolute difference between horizontally adjacent pixels, over all channels.
    fn hf_energy(img: &RgbImage) -> f64 {
        let (w, raw) = (img.width() as usize * 3, img.as_raw());
        let mut total = 0.0;
        for row in raw.chunks(w) {
            total += row[3..]
                .iter()
                .zip(row)
                .map(|(a, b)| f64::from(a.abs_diff(*b)))
                .sum::<f64>();
        }
        total / (raw.len() - raw.len() / w * 3) as f64
    }

    fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
        let diffs = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| f64::from(x.abs_diff(*y)));
        diffs.sum::<f64>() / a.as_raw().len() as f64
    }

    #[test]
    fn deterministic_in_all_arguments() {
        assert_eq!(content_scene(7, 3, 96, 64), content_scene(7, 3, 96, 64));
        assert_eq!(painterly_style(7, 96, 64), painterly_style(7, 96, 64));
        assert!(mean_abs_diff(&content_scene(7, 3, 96, 64), &content_scene(8, 3, 96, 64)) > 10.0);
        assert!(mean_abs_diff(&painterly_style(7, 96, 64), &painterly_style(8, 96, 64)) > 25.0);
    }

    #[test]
    fn different_indices_give_clearly_different_scenes() {
        let scenes: Vec<_> = (0..8).map(|i| content_scene(1, i, 64, 64)).collect();
        for (i, a) in scenes.iter().enumerate() {
            for b in &scenes[i + 1..] {
                assert!(mean_abs_diff(a, b) > 10.0, "scenes too alike");
            }
        }
    }

    #[test]
    fn any_size_works_and_keeps_its_dimensions() {
        let sizes = [
            100, 37, 37, 100, 32, 32, 300, 20, 1, 1, 0, 0, 0, 9, 1024, 48,
        ];
        for wh in sizes.chunks(2) {
            let want = (wh[0].max(1), wh[1].max(1));
            assert_eq!(content_scene(3, 2, wh[0], wh[1]).dimensions(), want);
            assert_eq!(painterly_style(3, wh[0], wh[1]).dimensions(), want);
        }
    }

    #[test]
    fn style_is_much_more_textured_than_content() {
        let style = hf_energy(&painterly_style(5, 128, 128));
        let content: Vec<f64> = (0..8)
            .map(|i| hf_energy(&content_scene(5, i, 128, 128)))
            .collect();
        let mean = content.iter().sum::<f64>() / 8.0;
        assert!(
            style > 15.0 && style > 3.0 * mean,
            "style {style:.1}, content {content:.1?}"
        );
        assert!(
            content.iter().all(|&c| style > 2.0 * c),
            "style {style:.1}, content {content:.1?}"
        );
    }

    #[test]
    fn style_palette_differs_from_content() {
        let scenes: Vec<_> = (0..12)
            .map(|i| mean_rgb(&content_scene(9, i, 64, 64)))
            .collect();
        let avg = [0, 1, 2].map(|c| scenes.iter().map(|m| m[c]).sum::<f64>() / 12.0);
        let style = mean_rgb(&painterly_style(9, 128, 128));
        let dist = (0..3)
            .map(|c| (style[c] - avg[c]).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(
            dist > 60.0,
            "style mean {style:.0?} vs content mean {avg:.0?}"
        );
        assert!(
            style[2] > style[0] + 10.0,
            "style should lean blue: {style:.0?}"
        );
    }
}
