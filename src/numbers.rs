//! How atelier writes numbers for people: losses to four significant figures, durations as
//! `3m05s`. Shared by the trainer's log lines, the dashboard and the CLI's reports, so a value
//! reads the same everywhere.

/// Four significant figures, scientific when small: `0.3792`, `4.513e-8`.
pub fn format_loss(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

/// `1h02m`, `3m05s`, `42s`.
pub fn format_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_and_durations() {
        assert_eq!(format_loss(0.37921), "0.3792");
        assert_eq!(format_loss(4.5131e-8), "4.513e-8");
        assert_eq!(format_loss(0.0), "0.0000");
        assert_eq!(format_secs(42.4), "42s");
        assert_eq!(format_secs(185.0), "3m05s");
        assert_eq!(format_secs(3720.0), "1h02m");
        assert_eq!(format_secs(-3.0), "0s");
    }
}
