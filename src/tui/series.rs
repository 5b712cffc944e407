//! Chart series processing for the dashboard's loss curves: smoothing (a debiased EMA, as
//! TensorBoard does), min/max decimation of up to ~50,000 points per series down to a few
//! hundred terminal cells without hiding spikes, a log10 transform for a log-Y axis, padded
//! Y bounds and a nearest-point lookup for the cursor readout. Points are `(x, y)` with x = step
//! or wall time, sorted by x. Everything is a single pass that allocates only its output, so a
//! draw with several large series stays within a few milliseconds; nothing panics on NaN,
//! infinities or empty input.

/// The dashboard's smoothing weight at start (`+`/`-` change it); `atelier export --csv`'s
/// default.
pub const DEFAULT_SMOOTHING: f64 = 0.6;

/// Debiased exponential moving average (as TensorBoard does): s_t = w*s_{t-1} + (1-w)*y_t,
/// s_0 = 0, output s_t / (1 - w^(t+1)); w in [0, 1) (0 = raw; out-of-range or NaN weights are
/// clamped to [0, 0.999]). Non-finite inputs are skipped (they do not poison the average) but
/// keep their x: they come out as they went in (like TensorBoard), so the output is 1:1 with the
/// input and a diverged run still shows as a gap rather than a flat smoothed line.
pub fn ema_debiased(points: &[(f64, f64)], weight: f64) -> Vec<(f64, f64)> {
    let w = if weight.is_nan() {
        0.0
    } else {
        weight.clamp(0.0, 0.999)
    };
    let mut s = 0.0;
    let mut w_pow = 1.0; // w^(number of finite values so far)
    points
        .iter()
        .map(|&(x, y)| {
            if !y.is_finite() {
                return (x, y);
            }
            s = w * s + (1.0 - w) * y;
            w_pow *= w;
            (x, s / (1.0 - w_pow))
        })
        .collect()
}

/// Reduce to at most `buckets` buckets along x (equal x-width buckets over [x_min, x_max]);
/// each non-empty bucket contributes its min point and its max point (in x order), so a spike
/// is never hidden. Returns the input unchanged (less non-finite points) when it already has at
/// most `2 * buckets` points. Points with a non-finite x or y are dropped; `buckets == 0` gives
/// an empty series. Input is expected sorted by x (unsorted input is tolerated, not reordered).
pub fn decimate_minmax(points: &[(f64, f64)], buckets: usize) -> Vec<(f64, f64)> {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    if buckets == 0 {
        return Vec::new();
    }
    if points.len() <= buckets.saturating_mul(2) {
        return points.iter().filter(finite).copied().collect();
    }
    let (Some(first), Some(last)) = (points.iter().find(finite), points.iter().rfind(finite))
    else {
        return Vec::new();
    };
    let x_min = first.0;
    let width = (last.0 - x_min) / buckets as f64;
    let scale = if width > 0.0 && width.is_finite() {
        1.0 / width
    } else {
        0.0
    };
    let mut out = Vec::with_capacity(buckets * 2);
    // (bucket, min point, max point) of the bucket being filled.
    let mut cur: Option<(usize, Point, Point)> = None;
    for p in points.iter().filter(finite) {
        // Saturating float->int casts: below x_min gives 0, the last point gives `buckets`.
        let b = (((p.0 - x_min) * scale) as usize).min(buckets - 1);
        match &mut cur {
            Some((cb, lo, hi)) if *cb == b => {
                if p.1 < lo.1 {
                    *lo = *p;
                }
                if p.1 > hi.1 {
                    *hi = *p;
                }
            }
            _ => {
                if let Some((_, lo, hi)) = cur {
                    flush(&mut out, lo, hi);
                }
                cur = Some((b, *p, *p));
            }
        }
    }
    if let Some((_, lo, hi)) = cur {
        flush(&mut out, lo, hi);
    }
    out
}

type Point = (f64, f64);

fn flush(out: &mut Vec<Point>, lo: Point, hi: Point) {
    if lo == hi {
        out.push(lo);
    } else if lo.0 <= hi.0 {
        out.extend([lo, hi]);
    } else {
        out.extend([hi, lo]);
    }
}

/// log10 transform for a log-Y axis: non-positive and non-finite values are dropped.
pub fn log10_points(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    points
        .iter()
        .filter(|p| p.1 > 0.0 && p.1.is_finite())
        .map(|&(x, y)| (x, y.log10()))
        .collect()
}

/// y bounds with a little padding (5% of the range each side), ignoring non-finite; (0,1) for
/// empty; never min==max (a flat line is padded by 5% of its value, or 0.5 around zero).
pub fn y_bounds(series: &[&[(f64, f64)]]) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for &(_, y) in series.iter().flat_map(|s| s.iter()) {
        if y.is_finite() {
            lo = lo.min(y);
            hi = hi.max(y);
        }
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    let range = hi - lo;
    let pad = if range > 0.0 {
        range * 0.05
    } else if lo != 0.0 {
        lo.abs() * 0.05
    } else {
        0.5
    };
    let (a, b) = ((lo - pad).max(f64::MIN), (hi + pad).min(f64::MAX));
    if a < b {
        (a, b)
    } else {
        // A flat line of subnormal values, whose 5% underflows to zero.
        (lo - 1.0, hi + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn ema_constant_stays_constant() {
        let pts: Vec<_> = (0..500).map(|i| (i as f64, 3.25)).collect();
        for w in [0.0, 0.5, 0.9, 0.99, 0.999] {
            let out = ema_debiased(&pts, w);
            assert_eq!(out.len(), pts.len());
            assert!(out.iter().all(|p| close(p.1, 3.25)), "w={w}");
        }
    }

    #[test]
    fn ema_weight_zero_is_raw() {
        let pts = vec![(0.0, 1.0), (1.0, 5.0), (2.0, -2.0), (4.0, 0.5)];
        assert_eq!(ema_debiased(&pts, 0.0), pts);
        assert_eq!(ema_debiased(&pts, -1.0), pts);
        assert_eq!(ema_debiased(&pts, f64::NAN), pts);
    }

    #[test]
    fn ema_known_values_and_step_converges() {
        // w = 0.5: s1 = 0.5*2 = 1 -> 1/(1-0.5) = 2; s2 = 0.5 + 0.5*4 = 2.5 -> 2.5/0.75.
        let out = ema_debiased(&[(0.0, 2.0), (1.0, 4.0)], 0.5);
        assert!(close(out[0].1, 2.0) && close(out[1].1, 2.5 / 0.75));
        // A step from 0 to 1 rises monotonically and converges to 1.
        let pts: Vec<_> = (0..400)
            .map(|i| (i as f64, if i < 100 { 0.0 } else { 1.0 }))
            .collect();
        let out = ema_debiased(&pts, 0.9);
        assert!(out[..100].iter().all(|p| p.1 == 0.0));
        assert!(out[100..].windows(2).all(|w| w[1].1 >= w[0].1));
        assert!(out[100].1 > 0.0 && out[100].1 < 0.2);
        assert!((out[399].1 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn ema_skips_nan_but_keeps_x() {
        let pts = vec![
            (0.0, 2.0),
            (1.0, f64::NAN),
            (2.0, f64::INFINITY),
            (3.0, 2.0),
        ];
        let out = ema_debiased(&pts, 0.8);
        assert_eq!(
            out.iter().map(|p| p.0).collect::<Vec<_>>(),
            [0.0, 1.0, 2.0, 3.0]
        );
        assert!(out[1].1.is_nan() && out[2].1 == f64::INFINITY);
        assert!(close(out[0].1, 2.0) && close(out[3].1, 2.0));
    }

    fn spike_series(n: usize, at: usize) -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| {
                (
                    i as f64,
                    if i == at {
                        100.0
                    } else {
                        1.0 + (i % 7) as f64 * 0.01
                    },
                )
            })
            .collect()
    }

    #[test]
    fn decimate_keeps_single_point_spike() {
        let pts = spike_series(50_000, 31_337);
        let out = decimate_minmax(&pts, 200);
        assert!(out.len() <= 400 && out.len() >= 200);
        assert!(out.contains(&(31_337.0, 100.0)));
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0), "x order kept");
        assert_eq!(out.first(), pts.first());
        let min = out.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        assert_eq!(min, 1.0);
    }

    #[test]
    fn decimate_small_flat_and_nonfinite() {
        let small = vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0)];
        assert_eq!(decimate_minmax(&small, 10), vec![(0.0, 1.0), (2.0, 3.0)]);
        assert!(decimate_minmax(&small, 0).is_empty());
        assert!(decimate_minmax(&[], 10).is_empty());
        // All points at one x: a single bucket with its min and max.
        let same: Vec<_> = (0..100).map(|i| (5.0, i as f64)).collect();
        assert_eq!(decimate_minmax(&same, 10), vec![(5.0, 0.0), (5.0, 99.0)]);
        // Max before min within a bucket stays in x order.
        let down: Vec<_> = (0..100).map(|i| (i as f64, -(i as f64))).collect();
        let out = decimate_minmax(&down, 1);
        assert_eq!(out, vec![(0.0, 0.0), (99.0, -99.0)]);
        let nan: Vec<_> = (0..100).map(|i| (i as f64, f64::NAN)).collect();
        assert!(decimate_minmax(&nan, 10).is_empty());
    }

    #[test]
    fn log10_drops_nonpositive() {
        let pts = vec![
            (0.0, 100.0),
            (1.0, 0.0),
            (2.0, -1.0),
            (3.0, f64::NAN),
            (4.0, 0.01),
        ];
        let out = log10_points(&pts);
        assert_eq!(out.len(), 2);
        assert!(close(out[0].1, 2.0) && close(out[1].1, -2.0));
        assert_eq!((out[0].0, out[1].0), (0.0, 4.0));
    }

    #[test]
    fn y_bounds_cases() {
        assert_eq!(y_bounds(&[]), (0.0, 1.0));
        assert_eq!(y_bounds(&[&[(0.0, f64::NAN)]]), (0.0, 1.0));
        let a = [(0.0, 0.0), (1.0, 10.0)];
        let b = [(0.0, 20.0), (1.0, f64::INFINITY)];
        let (lo, hi) = y_bounds(&[&a, &b]);
        assert!(close(lo, -1.0) && close(hi, 21.0));
        let (lo, hi) = y_bounds(&[&[(0.0, 2.0), (1.0, 2.0)]]);
        assert!(lo < 2.0 && hi > 2.0);
        let (lo, hi) = y_bounds(&[&[(0.0, 0.0)]]);
        assert_eq!((lo, hi), (-0.5, 0.5));
        for v in [f64::MAX, f64::MIN, 1e-320, -1e-320] {
            let (lo, hi) = y_bounds(&[&[(0.0, v)]]);
            assert!(lo < hi && lo.is_finite() && hi.is_finite(), "v={v}");
        }
        let (lo, hi) = y_bounds(&[&[(0.0, f64::MIN), (1.0, f64::MAX)]]);
        assert!(lo < hi && lo.is_finite() && hi.is_finite());
    }

    #[test]
    #[ignore = "timing print, run with --ignored --nocapture (use --release)"]
    fn timing_print() {
        let series: Vec<_> = (0..4)
            .map(|k| spike_series(50_000, 1_000 * k + 7))
            .collect();
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let mut n = 0;
            for s in &series {
                let dec = log10_points(&decimate_minmax(&ema_debiased(s, 0.9), 300));
                n += dec.len();
                n += y_bounds(&[&dec]).0 as usize;
            }
            eprintln!("4 x 50k points: {:?} ({n} points out)", t.elapsed());
        }
    }
}
