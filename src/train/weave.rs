//! The single_style recipe's weave and spectrum terms (`loss.weave_weight`,
//! `loss.spectrum_weight`): `atelier eval`'s weave measure ([`crate::eval::periodicity`]) made a
//! loss, so the generator is told when its fine detail turns into one pattern repeated (the
//! diagonal weave of issue 26, which the feature losses draw and the critic only partly breaks
//! up), and the same windows' spectrum matched to the painting's, so the detail is spread over
//! the frequencies the painting's strokes have (the weave term alone removes a lattice with the
//! texture: what is left is blur, which has no peaks either).
//!
//! The same frame as the measure, read from `eval::periodicity`: the output's luminance minus its
//! Gaussian blur (sigma 2), cut into 32-px windows half overlapping, each mean-removed and
//! Hann-tapered; their power spectra (a DFT as two matrix products per side). For the weave term
//! they are normalised to sum 1 and summed over the batch's windows that hold detail; the term is
//! the share of the sum standing above its smooth part (the larger of the medians along each
//! frequency's radius and around its ring). The smooth part is read from the detached spectrum,
//! so the gradient lowers the peaks and not their surroundings. On a 64-px crop that is 9 windows
//! per image. For the spectrum term the batch's mean spectrum, averaged over the square's
//! symmetries, is compared bin by bin in log with the painting's averaged around each ring of
//! equal frequency ([`WeaveTerm::isotropic`]: its spread over scales, not its strokes'
//! directions, which the square's symmetries alone kept as a pair of crossed diagonals, a mesh
//! in flat skies): a peak, a gap and a missing band all cost. `loss.chroma_spectrum_weight` is
//! the same distance for the colour's fine detail: the windows of BT.601's Cb and Cr planes,
//! together.

use super::model::ops::{gaussian_blur, luminance, sort_rows};
use crate::eval::periodicity::{sites, Dft, FLOOR, STRIDE, TAPS, WIN};
use crate::eval::{CHROMA, DETAIL_SIGMA};
use burn::prelude::*;

pub struct WeaveTerm<B: Backend> {
    /// The two chroma channels' weights (BT.601's Cb and Cr), [1, 3, 1, 1] each.
    chroma: [Tensor<B, 4>; 2],
    /// cos and sin of 2 pi k x / WIN, [1, WIN, WIN].
    cos: Tensor<B, 3>,
    sin: Tensor<B, 3>,
    /// The 2-D Hann taper, [1, WIN, WIN].
    taper: Tensor<B, 3>,
    /// 1 everywhere but at DC, [1, WIN * WIN].
    no_dc: Tensor<B, 2>,
    /// The counted frequencies' bins, [S].
    bins: Tensor<B, 1, Int>,
    /// Each site's radial then ring samples, four bins each: [S * 2 * TAPS * 4] bins and weights.
    sample_bins: Tensor<B, 1, Int>,
    sample_weights: Tensor<B, 1>,
    sites: usize,
    /// The bins of the square's four distinct symmetries of a power spectrum (it is already
    /// symmetric under k -> -k): identity, x mirrored, transposed, both; [4 * WIN * WIN].
    turns: Tensor<B, 1, Int>,
}

impl<B: Backend> WeaveTerm<B> {
    pub fn new(device: &B::Device) -> Self {
        let dft = Dft::new();
        let table = |t: &[f64]| -> Vec<f32> {
            (0..WIN * WIN)
                .map(|i| t[(i / WIN) * (i % WIN) % WIN] as f32)
                .collect()
        };
        let square =
            |v: Vec<f32>| Tensor::<B, 3>::from_data(TensorData::new(v, [1, WIN, WIN]), device);
        let taper: Vec<f32> = (0..WIN * WIN)
            .map(|i| (dft.taper[i / WIN] * dft.taper[i % WIN]) as f32)
            .collect();
        let mut no_dc = vec![1.0f32; WIN * WIN];
        no_dc[0] = 0.0;
        let sites = sites();
        let bins: Vec<i64> = sites.iter().map(|s| s.bin as i64).collect();
        let samples: Vec<(usize, f64)> = sites
            .iter()
            .flat_map(|s| s.radial.iter().chain(&s.ring))
            .flatten()
            .copied()
            .collect();
        let ints = |v: Vec<i64>| {
            let n = v.len();
            Tensor::<B, 1, Int>::from_data(TensorData::new(v, [n]), device)
        };
        Self {
            chroma: CHROMA.map(|w| Tensor::<B, 1>::from_floats(w, device).reshape([1, 3, 1, 1])),
            cos: square(table(&dft.cos)),
            sin: square(table(&dft.sin)),
            taper: square(taper),
            no_dc: Tensor::from_data(TensorData::new(no_dc, [1, WIN * WIN]), device),
            bins: ints(bins),
            sample_bins: ints(samples.iter().map(|&(b, _)| b as i64).collect()),
            sample_weights: Tensor::from_data(
                TensorData::new(
                    samples.iter().map(|&(_, w)| w as f32).collect::<Vec<f32>>(),
                    [samples.len()],
                ),
                device,
            ),
            sites: sites.len(),
            turns: ints(turns()),
        }
    }

    /// The power spectra of the windows of `x`'s luminance's fine detail ([N, 3, H, W], any
    /// range), read once for both terms.
    pub fn spectra(&self, x: Tensor<B, 4>) -> Spectra<B> {
        self.band_spectra(luminance(x))
    }

    /// The same for the two chroma channels' fine detail, their windows together: the colour's
    /// finest detail, which the luminance's spectrum does not see (a speckle of single red, green
    /// and blue pixels has none in luminance).
    pub fn chroma_spectra(&self, x: Tensor<B, 4>) -> Spectra<B> {
        let planes = self
            .chroma
            .clone()
            .map(|w| (x.clone() * w).sum_dim(1))
            .to_vec();
        self.band_spectra(Tensor::cat(planes, 0))
    }

    /// The windows' spectra of the fine detail of single planes, [N, 1, H, W].
    fn band_spectra(&self, y: Tensor<B, 4>) -> Spectra<B> {
        let [n, _, h, w] = y.dims();
        let device = y.device();
        if h < WIN || w < WIN {
            return Spectra {
                power: None,
                device,
            };
        }
        let band = y.clone() - gaussian_blur(y, DETAIL_SIGMA);
        let windows: Vec<Tensor<B, 4>> = (0..=h - WIN)
            .step_by(STRIDE)
            .flat_map(|y0| (0..=w - WIN).step_by(STRIDE).map(move |x0| (y0, x0)))
            .map(|(y0, x0)| band.clone().slice([0..n, 0..1, y0..y0 + WIN, x0..x0 + WIN]))
            .collect();
        let m = n * windows.len();
        let v = Tensor::cat(windows, 0).reshape([m, WIN, WIN]);
        let mean = v.clone().mean_dim(2).mean_dim(1);
        let v = (v - mean) * self.taper.clone();
        // F = C V C - S V S - i (S V C + C V S): the tables are symmetric.
        let (c, s) = (
            self.cos.clone().expand([m, WIN, WIN]),
            self.sin.clone().expand([m, WIN, WIN]),
        );
        let (vc, vs) = (v.clone().matmul(c.clone()), v.matmul(s.clone()));
        let re = c.clone().matmul(vc.clone()) - s.clone().matmul(vs.clone());
        let im = s.matmul(vc) + c.matmul(vs);
        let power = (re.square() + im.square()).reshape([m, WIN * WIN]) * self.no_dc.clone();
        Spectra {
            power: Some(power),
            device,
        }
    }

    /// The mean power spectrum of the windows, averaged over the square's symmetries: [WIN *
    /// WIN] (zeros for images smaller than a window).
    pub fn spectrum(&self, s: &Spectra<B>) -> Tensor<B, 1> {
        let Some(power) = s.power.clone() else {
            return Tensor::zeros([WIN * WIN], &s.device);
        };
        let mean = power.mean_dim(0).reshape([WIN * WIN]);
        mean.select(0, self.turns.clone())
            .reshape([4, WIN * WIN])
            .mean_dim(0)
            .reshape([WIN * WIN])
    }

    /// `spectrum` averaged around each ring of equal frequency radius (rounded to whole bins):
    /// the painting's spread of detail over scales, with no direction preferred. The spectrum
    /// terms' targets: a generator painting a flat sky from its noise channel lays a stationary
    /// texture there whose spectrum is the target's, and the square-symmetrised spectrum of a
    /// painting with diagonal strokes asks for both diagonals at once, a mesh
    /// (docs/quality.md, "The mesh in the sky").
    pub fn isotropic(&self, spectrum: Tensor<B, 1>) -> Tensor<B, 1> {
        let device = spectrum.device();
        let v: Vec<f32> = spectrum
            .into_data()
            .to_vec()
            .expect("a spectrum is f32 on every backend");
        let rings = ring_of_bins();
        let n = rings.iter().max().map_or(0, |m| m + 1);
        let (mut sum, mut count) = (vec![0.0f64; n], vec![0usize; n]);
        for (&p, &r) in v.iter().zip(&rings) {
            sum[r] += f64::from(p);
            count[r] += 1;
        }
        let out: Vec<f32> = rings
            .iter()
            .map(|&r| (sum[r] / count[r] as f64) as f32)
            .collect();
        Tensor::from_data(TensorData::new(out, [WIN * WIN]), &device)
    }

    /// The spectrum term: the mean square of the log ratio of the windows' [`Self::spectrum`]
    /// to `target` (the painting's, detached) over the bins, each side floored at a hundredth of
    /// the target's mean so the bins the band leaves empty do not count.
    pub fn spectrum_loss(&self, s: &Spectra<B>, target: Tensor<B, 1>) -> Tensor<B, 1> {
        let target = target.detach();
        let eps = target.clone().mean() * 0.01 + 1e-12;
        let ln = |t: Tensor<B, 1>| (t + eps.clone()).log();
        let d = ln(self.spectrum(s)) - ln(target);
        (d.square() * self.no_dc.clone().reshape([WIN * WIN])).sum() / (WIN * WIN - 1) as f32
    }

    /// The weave term of the windows: in [0, 1], 0 for images smaller than one window or
    /// without detail.
    pub fn loss(&self, s: &Spectra<B>) -> Tensor<B, 1> {
        let Some(power) = s.power.clone() else {
            return Tensor::zeros([1], &s.device);
        };
        let m = power.dims()[0];
        // Each window with detail counts once, whatever its contrast.
        let energy = power.clone().sum_dim(1);
        let floor = energy.clone().mean().detach() * FLOOR as f32;
        let kept = energy
            .clone()
            .greater(floor.unsqueeze::<2>().expand([m, 1]))
            .float();
        let spectrum = (power / (energy + 1e-12) * kept)
            .sum_dim(0)
            .reshape([WIN * WIN]);
        let smooth = {
            let s = spectrum.clone().detach();
            let samples = (s.select(0, self.sample_bins.clone()) * self.sample_weights.clone())
                .reshape([self.sites * 2 * TAPS, 4])
                .sum_dim(1)
                .reshape([self.sites, 2, TAPS]);
            sort_rows(samples)
                .slice([0..self.sites, 0..2, TAPS / 2..TAPS / 2 + 1])
                .max_dim(1)
                .reshape([self.sites])
        };
        let excess = (spectrum.clone().select(0, self.bins.clone()) - smooth)
            .clamp_min(0.0)
            .sum();
        excess / (spectrum.sum() + 1e-12)
    }
}

/// The windows' power spectra of one batch ([`WeaveTerm::spectra`]): [M, WIN * WIN] with DC
/// zeroed, M = N times the windows per image; `None` for images smaller than a window.
pub struct Spectra<B: Backend> {
    power: Option<Tensor<B, 2>>,
    device: B::Device,
}

/// Each bin's ring: its frequency's radius (the DFT's signed frequencies), rounded.
fn ring_of_bins() -> Vec<usize> {
    let signed = |k: usize| {
        if k <= WIN / 2 {
            k as f64
        } else {
            k as f64 - WIN as f64
        }
    };
    (0..WIN * WIN)
        .map(|i| signed(i / WIN).hypot(signed(i % WIN)).round() as usize)
        .collect()
}

/// [`WeaveTerm::spectrum`]'s symmetries as bin indices (bin = row * WIN + column).
fn turns() -> Vec<i64> {
    let neg = |k: usize| ((WIN - k) % WIN) as i64;
    let w = WIN as i64;
    let mut v = Vec::with_capacity(4 * WIN * WIN);
    for t in 0..4 {
        for i in 0..WIN * WIN {
            let (r, c) = (i / WIN, i % WIN);
            let (ri, ci) = (r as i64, c as i64);
            v.push(match t {
                0 => ri * w + ci,
                1 => ri * w + neg(c),
                2 => ci * w + ri,
                _ => ci * w + neg(r),
            });
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::LUMA;
    use burn::backend::{Autodiff, Flex};
    use image::RgbImage;

    type B = Flex;
    const PI: f64 = std::f64::consts::PI;

    /// `eval`'s grey test image, as an RgbImage and as a [1, 3, H, W] tensor in [-1, 1].
    fn both(size: u32, f: impl Fn(f64, f64) -> f64) -> (RgbImage, Tensor<B, 4>) {
        let img = crate::eval::grey_pattern(size, size, f);
        let s = size as usize;
        let v: Vec<f32> = (0..3)
            .flat_map(|_| img.pixels().map(|p| f32::from(p[0]) / 127.5 - 1.0))
            .collect();
        let t = Tensor::from_data(TensorData::new(v, [1, 3, s, s]), &Default::default());
        (img, t)
    }

    fn weave(x: f64, y: f64) -> f64 {
        0.5 * ((x + y) * PI / 2.0).sin() + 0.5 * ((x - y) * PI / 2.0).sin()
    }

    fn noise(x: f64, y: f64) -> f64 {
        // A hash of the position: white noise without a generator.
        let h = ((x * 12.9898 + y * 78.233).sin() * 43758.5453).fract();
        2.0 * h.abs() - 1.0
    }

    fn value(t: Tensor<impl Backend, 1>) -> f64 {
        f64::from(t.into_scalar().elem::<f32>())
    }

    #[test]
    fn the_term_reads_what_the_measure_reads() {
        let term = WeaveTerm::<B>::new(&Default::default());
        for (name, f) in [("weave", weave as fn(f64, f64) -> f64), ("noise", noise)] {
            let (img, x) = both(64, f);
            let (l, m) = (
                value(term.loss(&term.spectra(x))),
                crate::eval::periodicity(&img),
            );
            // The blur's edges differ (mirrored here, clamped there).
            assert!((l - m).abs() < 0.05, "{name}: term {l}, measure {m}");
        }
        let (_, w) = both(64, weave);
        let (_, n) = both(64, noise);
        let read = |x| value(term.loss(&term.spectra(x)));
        let (w, n) = (read(w), read(n));
        assert!(w > 0.8 && n < 0.1, "weave {w}, noise {n}");
        // Smaller than a window: nothing to read.
        let (_, tiny) = both(20, weave);
        assert_eq!(read(tiny), 0.0);
    }

    #[test]
    fn descending_it_undoes_a_weave() {
        type A = Autodiff<Flex>;
        let term = WeaveTerm::<A>::new(&Default::default());
        let (_, x) = both(64, |x, y| 0.5 * weave(x, y) + 0.5 * noise(x, y));
        let mut x = Tensor::<A, 4>::from_inner(x).require_grad();
        let start = value(term.loss(&term.spectra(x.clone())).inner());
        for _ in 0..20 {
            let l = term.loss(&term.spectra(x.clone()));
            let g = x.grad(&l.backward()).expect("the input's gradient");
            let step = g.clone().abs().max().into_scalar().elem::<f32>().max(1e-12);
            x = Tensor::from_inner(x.inner() - g * (0.05 / step)).require_grad();
        }
        let end = value(term.loss(&term.spectra(x)).inner());
        assert!(start > 0.3 && end < start / 2.0, "{start} -> {end}");
    }

    #[test]
    fn the_spectrum_is_blind_to_turns_and_sees_peaks_and_blur() {
        let term = WeaveTerm::<B>::new(&Default::default());
        let spectrum = |x: Tensor<B, 4>| {
            let s = term.spectrum(&term.spectra(x));
            s.into_data().to_vec::<f32>().unwrap()
        };
        // Turned a quarter, the same stripes have the same symmetrised spectrum.
        let stripes = |x: f64, y: f64| (x * PI / 3.0).sin() + 0.3 * noise(x, y);
        let (_, a) = both(64, stripes);
        let (_, b) = both(64, |x, y| stripes(y, x));
        let (sa, sb) = (spectrum(a.clone()), spectrum(b));
        let worst = sa
            .iter()
            .zip(&sb)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f32::max);
        let peak = sa.iter().copied().fold(0.0, f32::max);
        assert!(
            worst < 1e-3 * peak,
            "turned: {worst} against a peak of {peak}"
        );
        // Against a noise painting: noise is near, a weave and a blur (no fine detail) are far.
        let (_, n1) = both(64, noise);
        let (_, n2) = both(64, |x, y| noise(x + 64.0, y));
        let target = term.spectrum(&term.spectra(n1));
        let (_, w) = both(64, weave);
        let (_, flat) = both(64, |x, _| x / 64.0);
        let [near, woven, blurred] =
            [n2, w, flat].map(|x| value(term.spectrum_loss(&term.spectra(x), target.clone())));
        assert!(
            near < 0.5 && woven > 4.0 * near && blurred > 4.0 * near,
            "noise {near}, weave {woven}, flat {blurred}"
        );
    }

    #[test]
    fn an_isotropic_target_asks_for_scales_and_not_for_a_mesh() {
        let term = WeaveTerm::<B>::new(&Default::default());
        let period = 5.0;
        // A painting whose strokes run one diagonal way.
        let diagonal = move |x: f64, y: f64| ((x + y) / period * PI).sin() + 0.2 * noise(x, y);
        // Two outputs with its stroke width: both diagonals crossed, and rings (every direction).
        let mesh = move |x: f64, y: f64| {
            0.5 * ((x + y) / period * PI).sin() + 0.5 * ((x - y) / period * PI).sin()
        };
        let rings =
            move |x: f64, y: f64| ((x - 32.0).hypot(y - 32.0) * 2f64.sqrt() / period * PI).sin();
        let painting = term.spectrum(&term.spectra(both(64, diagonal).1));
        let iso = term.isotropic(painting.clone());
        // The same energy, spread around the rings.
        let total = |t: &Tensor<B, 1>| value(t.clone().sum());
        assert!((total(&iso) - total(&painting)).abs() < 1e-3 * total(&painting));
        let loss = |target: &Tensor<B, 1>, f: &dyn Fn(f64, f64) -> f64| {
            value(term.spectrum_loss(&term.spectra(both(64, f).1), target.clone()))
        };
        // Square-symmetrised, the diagonal painting's target has both diagonals: the mesh is the
        // nearer output. Isotropic, the rings are.
        let (sym_mesh, sym_rings) = (loss(&painting, &mesh), loss(&painting, &rings));
        let (iso_mesh, iso_rings) = (loss(&iso, &mesh), loss(&iso, &rings));
        assert!(
            sym_mesh < sym_rings,
            "symmetrised: mesh {sym_mesh}, rings {sym_rings}"
        );
        assert!(
            iso_rings < iso_mesh,
            "isotropic: mesh {iso_mesh}, rings {iso_rings}"
        );
    }

    #[test]
    fn descending_the_spectrum_term_brings_detail_to_a_flat_image() {
        type A = Autodiff<Flex>;
        let term = WeaveTerm::<A>::new(&Default::default());
        let (_, n) = both(64, noise);
        let target = term.spectrum(&term.spectra(Tensor::from_inner(n)));
        // A smooth ramp with a trace of detail (a gradient needs some to start from).
        let (_, x) = both(64, |x, y| x / 64.0 + 0.01 * noise(x + 7.0, y));
        let mut x = Tensor::<A, 4>::from_inner(x).require_grad();
        let distance = |x: Tensor<A, 4>| term.spectrum_loss(&term.spectra(x), target.clone());
        let start = value(distance(x.clone()).inner());
        for _ in 0..30 {
            let l = distance(x.clone());
            let g = x.grad(&l.backward()).expect("the input's gradient");
            let step = g.clone().abs().max().into_scalar().elem::<f32>().max(1e-12);
            x = Tensor::from_inner(x.inner() - g * (0.02 / step)).require_grad();
        }
        let end = value(distance(x).inner());
        assert!(end < start / 2.0, "{start} -> {end}");
    }

    #[test]
    fn the_chroma_spectrum_sees_a_colour_speckle_the_luminance_spectrum_does_not() {
        let term = WeaveTerm::<B>::new(&Default::default());
        // One luminance everywhere, the colour changing from pixel to pixel: R and B trade
        // places around grey in proportion to their luminance weights.
        let s = 64;
        let speckle: Vec<f32> = (0..3)
            .flat_map(|c| {
                (0..s * s).map(move |i| {
                    let t = 0.3 * noise((i % s) as f64, (i / s) as f64) as f32;
                    match c {
                        0 => t / LUMA[0],
                        2 => -t / LUMA[2],
                        _ => 0.0,
                    }
                })
            })
            .collect();
        let speckle =
            Tensor::<B, 4>::from_data(TensorData::new(speckle, [1, 3, s, s]), &Default::default());
        let (_, grey) = both(64, noise);
        let energy = |t: Tensor<B, 1>| value(t.sum());
        let luma_of = |x: Tensor<B, 4>| energy(term.spectrum(&term.spectra(x)));
        let chroma_of = |x: Tensor<B, 4>| energy(term.spectrum(&term.chroma_spectra(x)));
        let (sl, sc) = (luma_of(speckle.clone()), chroma_of(speckle));
        let (gl, gc) = (luma_of(grey.clone()), chroma_of(grey));
        assert!(sl < 1e-3 * sc, "speckle: luminance {sl}, chroma {sc}");
        assert!(gc < 1e-3 * gl, "grey noise: luminance {gl}, chroma {gc}");
    }
}
