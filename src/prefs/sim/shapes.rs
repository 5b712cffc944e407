//! Hidden utilities for the simulated rater: smooth functions over the unit cube, each rescaled
//! to [0, 1] over the cube by its own minimum and maximum, found numerically once at
//! construction (a full grid, then a pattern-search climb from the best grid points, so the
//! maximum is exact to ~1e-9 and regret is measured against it). Three 3-D shapes of different
//! difficulty and one 6-D shape.

/// A hidden utility.
#[derive(Debug, Clone)]
pub struct Shape {
    pub name: &'static str,
    pub dim: usize,
    kind: Kind,
    lo: f64,
    hi: f64,
    /// Where the maximum is (numerically).
    pub argmax: Vec<f64>,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Gaussian bump: centre, sd per dimension.
    Bump { c: Vec<f64>, sd: Vec<f64> },
    /// Elongated Gaussian along unit vector `v`: sd `along` on it, `across` perpendicular.
    Ridge {
        c: Vec<f64>,
        v: Vec<f64>,
        along: f64,
        across: f64,
    },
    /// Sum of isotropic bumps: (height, centre, sd).
    Mixture(Vec<(f64, Vec<f64>, f64)>),
}

fn bump(x: &[f64], c: &[f64], sd: &[f64]) -> f64 {
    let q: f64 = x
        .iter()
        .zip(c)
        .zip(sd)
        .map(|((x, c), s)| ((x - c) / s).powi(2))
        .sum();
    (-0.5 * q).exp()
}

impl Kind {
    fn eval(&self, x: &[f64]) -> f64 {
        match self {
            Kind::Bump { c, sd } => bump(x, c, sd),
            Kind::Ridge {
                c,
                v,
                along,
                across,
            } => {
                let d: Vec<f64> = x.iter().zip(c).map(|(x, c)| x - c).collect();
                let t: f64 = d.iter().zip(v).map(|(d, v)| d * v).sum();
                let perp2 = (d.iter().map(|d| d * d).sum::<f64>() - t * t).max(0.0);
                (-0.5 * (t * t / (along * along) + perp2 / (across * across))).exp()
            }
            Kind::Mixture(parts) => parts
                .iter()
                .map(|(h, c, s)| h * bump(x, c, &vec![*s; c.len()]))
                .sum(),
        }
    }
}

impl Shape {
    fn new(name: &'static str, dim: usize, kind: Kind, grid: usize) -> Shape {
        let (lo, hi, argmax) = range(&kind, dim, grid);
        Shape {
            name,
            dim,
            kind,
            lo,
            hi,
            argmax,
        }
    }

    /// A smooth single bump off-centre.
    pub fn bump3() -> Shape {
        let kind = Kind::Bump {
            c: vec![0.72, 0.25, 0.6],
            sd: vec![0.3; 3],
        };
        Shape::new("bump-3d", 3, kind, 41)
    }

    /// A narrow ridge (sd 0.12 across, 0.6 along) on a rotated axis.
    pub fn ridge3() -> Shape {
        let v = [1.0f64, -0.8, 0.6];
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        let kind = Kind::Ridge {
            c: vec![0.4, 0.55, 0.5],
            v: v.iter().map(|a| a / norm).collect(),
            along: 0.6,
            across: 0.12,
        };
        Shape::new("ridge-3d", 3, kind, 41)
    }

    /// A broad local optimum (height 0.75, sd 0.3) and a narrower global peak (sd 0.15).
    pub fn multimodal3() -> Shape {
        let kind = Kind::Mixture(vec![
            (0.75, vec![0.25, 0.3, 0.35], 0.3),
            (1.0, vec![0.75, 0.7, 0.7], 0.15),
        ]);
        Shape::new("two-peaks-3d", 3, kind, 41)
    }

    /// An off-centre bump in 6-D whose dimensions matter unequally (sd 0.3 to 0.7).
    pub fn bump6() -> Shape {
        let kind = Kind::Bump {
            c: vec![0.3, 0.7, 0.45, 0.6, 0.25, 0.55],
            sd: vec![0.3, 0.3, 0.35, 0.4, 0.5, 0.7],
        };
        Shape::new("bump-6d", 6, kind, 9)
    }

    /// The benchmark's shapes: three in 3-D, one in 6-D.
    pub fn all() -> Vec<Shape> {
        vec![
            Shape::bump3(),
            Shape::ridge3(),
            Shape::multimodal3(),
            Shape::bump6(),
        ]
    }

    /// The utility at `x`, scaled to [0, 1] over the cube (1 at the maximum).
    pub fn utility(&self, x: &[f64]) -> f64 {
        ((self.kind.eval(x) - self.lo) / (self.hi - self.lo).max(1e-12)).clamp(0.0, 1.0)
    }
}

/// (min, max, argmax) of `kind` over the cube: a grid of `g` points a side, then a pattern
/// search from the best few grid points.
fn range(kind: &Kind, dim: usize, g: usize) -> (f64, f64, Vec<f64>) {
    let total = g.pow(dim as u32);
    let mut lo = f64::INFINITY;
    let mut tops: Vec<(f64, Vec<f64>)> = Vec::new();
    for idx in 0..total {
        let mut r = idx;
        let x: Vec<f64> = (0..dim)
            .map(|_| {
                let i = r % g;
                r /= g;
                i as f64 / (g - 1) as f64
            })
            .collect();
        let v = kind.eval(&x);
        lo = lo.min(v);
        tops.push((v, x));
        if tops.len() > 64 {
            tops.sort_by(|a, b| b.0.total_cmp(&a.0));
            tops.truncate(8);
        }
    }
    tops.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut best = tops[0].clone();
    for (mut v, mut x) in tops.into_iter().take(8) {
        let mut step = 1.0 / (g - 1) as f64;
        while step > 1e-10 {
            let mut moved = false;
            for d in 0..dim {
                for s in [step, -step] {
                    let mut y = x.clone();
                    y[d] = (y[d] + s).clamp(0.0, 1.0);
                    let vy = kind.eval(&y);
                    if vy > v {
                        (v, x, moved) = (vy, y, true);
                    }
                }
            }
            if !moved {
                step *= 0.5;
            }
        }
        if v > best.0 {
            best = (v, x);
        }
    }
    (lo, best.0, best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utilities_span_zero_to_one_with_the_max_at_argmax() {
        for s in Shape::all() {
            assert_eq!(s.argmax.len(), s.dim);
            assert!((s.utility(&s.argmax) - 1.0).abs() < 1e-12, "{}", s.name);
            assert!(s.utility(&vec![0.0; s.dim]) < 0.5, "{}", s.name);
        }
        // The two-peak shape's maximum is at the narrow peak, not the broad one.
        let m = Shape::multimodal3();
        assert!((m.argmax[0] - 0.75).abs() < 0.02);
        assert!(m.utility(&[0.25, 0.3, 0.35]) < 0.8);
    }
}
