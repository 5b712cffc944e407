//! The little dense linear algebra the preference models need, on row-major `Vec<f64>` square
//! matrices of a few hundred rows: a Cholesky factorisation that escalates a diagonal jitter
//! until the matrix factors (Bradley–Terry's Laplace covariance), and an LU factorisation with
//! partial pivoting for the non-symmetric but well-conditioned `I + K W` of the GP's Newton
//! steps. Nothing here panics on a bad matrix: a factorisation that fails returns `None`.

/// A square matrix, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Mat {
    pub n: usize,
    pub a: Vec<f64>,
}

impl Mat {
    pub fn zeros(n: usize) -> Mat {
        Mat {
            n,
            a: vec![0.0; n * n],
        }
    }

    pub fn identity(n: usize) -> Mat {
        let mut m = Mat::zeros(n);
        for i in 0..n {
            m.a[i * n + i] = 1.0;
        }
        m
    }

    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.a[i * self.n + j]
    }

    #[inline]
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.a[i * self.n + j] = v;
    }

    #[inline]
    pub fn add(&mut self, i: usize, j: usize, v: f64) {
        self.a[i * self.n + j] += v;
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.a[i * self.n..(i + 1) * self.n]
    }

    /// `self * x`.
    pub fn mul_vec(&self, x: &[f64]) -> Vec<f64> {
        (0..self.n).map(|i| dot(self.row(i), x)).collect()
    }
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Lower-triangular Cholesky factor `L` with `A + jitter I = L Lᵀ`.
#[derive(Debug, Clone)]
pub struct Chol {
    l: Mat,
}

impl Chol {
    /// Factor a symmetric matrix, adding `jitter * mean(diag)` to the diagonal, escalating
    /// tenfold from 0 (then 1e-10) up to 1e-2 until it succeeds; `None` if it never does (a
    /// non-finite entry, or a matrix far from positive definite).
    pub fn new(m: &Mat) -> Option<Chol> {
        if m.a.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let n = m.n;
        let scale = ((0..n).map(|i| m.get(i, i).abs()).sum::<f64>() / n.max(1) as f64).max(1e-12);
        let mut jitter = 0.0;
        loop {
            if let Some(l) = factor(m, jitter * scale) {
                return Some(Chol { l });
            }
            jitter = if jitter == 0.0 { 1e-10 } else { jitter * 10.0 };
            if jitter > 1e-2 {
                return None;
            }
        }
    }

    /// Solve `(A + jitter I) x = b`.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let n = self.l.n;
        let mut y = b.to_vec();
        for i in 0..n {
            let row = self.l.row(i);
            let s = y[i] - dot(&row[..i], &y[..i]);
            y[i] = s / row[i];
        }
        for i in (0..n).rev() {
            // Column i of L below the diagonal, against the solved tail of y.
            let below: f64 = y[i + 1..]
                .iter()
                .enumerate()
                .map(|(o, v)| self.l.get(i + 1 + o, i) * v)
                .sum();
            y[i] = (y[i] - below) / self.l.get(i, i);
        }
        y
    }

    /// `L x`.
    pub fn lower_mul(&self, x: &[f64]) -> Vec<f64> {
        (0..self.l.n)
            .map(|i| dot(&self.l.row(i)[..=i], &x[..=i]))
            .collect()
    }

    /// Diagonal of `(A + jitter I)^-1`: `sum_k (L^-1)_{k i}^2`, one triangular solve per column.
    pub fn inverse_diag(&self) -> Vec<f64> {
        let n = self.l.n;
        let mut out = vec![0.0; n];
        let mut y = vec![0.0; n];
        for (i, o) in out.iter_mut().enumerate() {
            // Solve L y = e_i; y is zero above i.
            y.iter_mut().for_each(|v| *v = 0.0);
            for k in i..n {
                let row = self.l.row(k);
                let rhs = if k == i { 1.0 } else { 0.0 };
                y[k] = (rhs - dot(&row[i..k], &y[i..k])) / row[k];
            }
            *o = y[i..].iter().map(|v| v * v).sum();
        }
        out
    }

    /// `log det(A + jitter I)`.
    #[cfg(test)]
    pub fn log_det(&self) -> f64 {
        (0..self.l.n).map(|i| 2.0 * self.l.get(i, i).ln()).sum()
    }
}

fn factor(m: &Mat, jitter: f64) -> Option<Mat> {
    let n = m.n;
    let mut l = Mat::zeros(n);
    for i in 0..n {
        for j in 0..=i {
            let s = m.get(i, j) + if i == j { jitter } else { 0.0 };
            let s = s - dot(&l.row(i)[..j], &l.row(j)[..j]);
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l.set(i, i, s.sqrt());
            } else {
                l.set(i, j, s / l.get(j, j));
            }
        }
    }
    Some(l)
}

/// `P A = L U` with partial pivoting, `L` unit lower and `U` upper stored in one matrix.
#[derive(Debug, Clone)]
pub struct Lu {
    lu: Mat,
    perm: Vec<usize>,
    sign: f64,
}

impl Lu {
    /// `None` when a pivot is (numerically) zero or an entry is not finite.
    pub fn new(m: &Mat) -> Option<Lu> {
        if m.a.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let n = m.n;
        let mut lu = m.clone();
        let mut perm: Vec<usize> = (0..n).collect();
        let mut sign = 1.0;
        let norm =
            lu.a.iter()
                .fold(0.0f64, |acc, v| acc.max(v.abs()))
                .max(1e-300);
        for k in 0..n {
            let p = (k..n)
                .max_by(|&a, &b| lu.get(a, k).abs().total_cmp(&lu.get(b, k).abs()))
                .unwrap_or(k);
            if lu.get(p, k).abs() <= 1e-14 * norm {
                return None;
            }
            if p != k {
                for j in 0..n {
                    lu.a.swap(k * n + j, p * n + j);
                }
                perm.swap(k, p);
                sign = -sign;
            }
            let pivot = lu.get(k, k);
            let (top, rest) = lu.a.split_at_mut((k + 1) * n);
            let krow = &top[k * n..];
            for row in rest.chunks_mut(n) {
                let f = row[k] / pivot;
                row[k] = f;
                if f != 0.0 {
                    for j in k + 1..n {
                        row[j] -= f * krow[j];
                    }
                }
            }
        }
        Some(Lu { lu, perm, sign })
    }

    /// Solve `A x = b`.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let n = self.lu.n;
        let mut y: Vec<f64> = self.perm.iter().map(|&p| b[p]).collect();
        for i in 0..n {
            let row = self.lu.row(i);
            y[i] -= dot(&row[..i], &y[..i]);
        }
        for i in (0..n).rev() {
            let row = self.lu.row(i);
            let s = y[i] - dot(&row[i + 1..], &y[i + 1..]);
            y[i] = s / row[i];
        }
        y
    }

    /// `A^-1`, column by column.
    pub fn inverse(&self) -> Mat {
        let n = self.lu.n;
        let mut inv = Mat::zeros(n);
        let mut e = vec![0.0; n];
        for j in 0..n {
            e.iter_mut().for_each(|v| *v = 0.0);
            e[j] = 1.0;
            for (i, v) in self.solve(&e).into_iter().enumerate() {
                inv.set(i, j, v);
            }
        }
        inv
    }

    /// `log |det A|` and the sign of `det A`.
    pub fn log_abs_det(&self) -> (f64, f64) {
        let n = self.lu.n;
        let mut sign = self.sign;
        let mut s = 0.0;
        for i in 0..n {
            let d = self.lu.get(i, i);
            if d < 0.0 {
                sign = -sign;
            }
            s += d.abs().ln();
        }
        (s, sign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spd(n: usize) -> Mat {
        let mut m = Mat::zeros(n);
        for i in 0..n {
            for j in 0..n {
                let d = i as f64 - j as f64;
                m.set(i, j, (-d * d / 8.0).exp());
            }
            m.add(i, i, 0.1);
        }
        m
    }

    #[test]
    fn cholesky_and_lu_solve_and_agree_on_the_determinant() {
        let m = spd(6);
        let b: Vec<f64> = (0..6).map(|i| i as f64 - 2.0).collect();
        assert!(factor(&m, 0.0).is_some());
        let c = Chol::new(&m).unwrap();
        let x = c.solve(&b);
        let back = m.mul_vec(&x);
        assert!(back.iter().zip(&b).all(|(u, v)| (u - v).abs() < 1e-9));
        let lu = Lu::new(&m).unwrap();
        let y = lu.solve(&b);
        assert!(x.iter().zip(&y).all(|(u, v)| (u - v).abs() < 1e-9));
        let (ld, sign) = lu.log_abs_det();
        assert_eq!(sign, 1.0);
        assert!((ld - c.log_det()).abs() < 1e-9);
        let inv = lu.inverse();
        let d = c.inverse_diag();
        assert!((0..6).all(|i| (inv.get(i, i) - d[i]).abs() < 1e-9));
    }

    #[test]
    fn singular_matrices_get_jitter_or_none() {
        // Two identical rows: positive semi-definite, factors only with jitter.
        let mut m = Mat::zeros(2);
        m.a = vec![1.0, 1.0, 1.0, 1.0];
        assert!(factor(&m, 0.0).is_none());
        let c = Chol::new(&m).unwrap();
        assert!(c.solve(&[1.0, 1.0]).iter().all(|v| v.is_finite()));
        assert!(Lu::new(&m).is_none());
        m.a[0] = f64::NAN;
        assert!(Chol::new(&m).is_none());
        m.a = vec![-1.0, 0.0, 0.0, -1.0];
        assert!(Chol::new(&m).is_none());
    }
}
