//! Standard normal functions for the probit likelihood and expected improvement, accurate in
//! the tails where a naive `ln(cdf(z))` underflows: `log_cdf` works from the complementary
//! error function in log form (Numerical Recipes' `erfcc`, relative error < 1.2e-7), the inverse
//! Mills ratio `phi/Phi` comes from the difference of two logs, and the EI factor
//! `u Phi(u) + phi(u)` switches to its asymptotic series far below zero. Inputs are clamped so
//! no NaN or infinity comes out for any finite input.

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// `ln erfc(x)` for `x >= 0`, from `erfc(x) = t exp(-x^2 + P(t))`, `t = 1 / (1 + x/2)`.
fn ln_erfc_pos(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * x);
    let p = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    t.ln() - x * x + p
}

fn clamp(z: f64) -> f64 {
    if z.is_nan() {
        0.0
    } else {
        z.clamp(-1e6, 1e6)
    }
}

/// `ln phi(z)`.
pub fn log_pdf(z: f64) -> f64 {
    let z = clamp(z);
    -0.5 * z * z - LN_SQRT_2PI
}

/// Standard normal density.
pub fn pdf(z: f64) -> f64 {
    log_pdf(z).exp()
}

/// `ln Phi(z)`, accurate far into the lower tail.
pub fn log_cdf(z: f64) -> f64 {
    let z = clamp(z);
    let x = z / std::f64::consts::SQRT_2;
    if z < 0.0 {
        ln_erfc_pos(-x) - std::f64::consts::LN_2
    } else {
        (-0.5 * ln_erfc_pos(x).exp()).ln_1p()
    }
}

/// Standard normal distribution function.
pub fn cdf(z: f64) -> f64 {
    log_cdf(z).exp()
}

/// Inverse Mills ratio `phi(z) / Phi(z)`: about `-z` far below zero, tending to 0 above.
pub fn mills(z: f64) -> f64 {
    (log_pdf(z) - log_cdf(z)).exp()
}

/// `ln(u Phi(u) + phi(u))`, the expected-improvement factor of a normal with standardised mean
/// `u`; finite for every finite `u`, so candidates can be ranked where EI itself underflows.
pub fn log_ei_factor(u: f64) -> f64 {
    let u = clamp(u);
    if u >= 0.0 {
        (u * cdf(u) + pdf(u)).ln()
    } else if u > -20.0 {
        // phi(u) (1 - |u| Phi(u)/phi(u)), the ratio from logs to keep its relative accuracy.
        let ratio = (log_cdf(u) - log_pdf(u)).exp();
        log_pdf(u) + (1.0 + u * ratio).max(1e-300).ln()
    } else {
        let u2 = u * u;
        log_pdf(u) + (1.0 / u2 - 3.0 / (u2 * u2) + 15.0 / (u2 * u2 * u2)).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_known_values_and_stays_finite_in_the_tails() {
        assert!((cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-7);
        assert!((cdf(-1.0) - 0.158_655_253_931_457).abs() < 1e-7);
        // ln Phi(-10) = -53.2312851...
        assert!((log_cdf(-10.0) + 53.231_285_150_8).abs() < 1e-5);
        assert!((mills(-30.0) - 30.033).abs() < 0.01);
        assert!(mills(10.0) < 1e-20);
        for z in [-1e300, -1e5, -40.0, -5.0, 0.0, 5.0, 40.0, 1e300, f64::NAN] {
            assert!(log_cdf(z).is_finite() && mills(z).is_finite(), "{z}");
            assert!(log_ei_factor(z).is_finite(), "{z}");
        }
    }

    #[test]
    fn ei_factor_is_continuous_and_increasing() {
        let mut prev = f64::NEG_INFINITY;
        let mut u = -40.0;
        while u < 5.0 {
            let v = log_ei_factor(u);
            assert!(v > prev, "{u}");
            prev = v;
            u += 0.01;
        }
        // Against direct evaluation where that is accurate.
        let u: f64 = -1.3;
        let direct = (u * cdf(u) + pdf(u)).ln();
        assert!((log_ei_factor(u) - direct).abs() < 1e-6);
        let a = log_ei_factor(-20.0 + 1e-9);
        let b = log_ei_factor(-20.0 - 1e-9);
        assert!((a - b).abs() < 1e-4);
    }
}
