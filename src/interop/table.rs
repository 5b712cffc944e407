//! `atelier export RUN --csv FILE`: every series of `metrics.jsonl` as one CSV table, a row per
//! logged step: `step`, `time`, `lr_g`, `lr_d`, `images_per_s`, then for every loss term its
//! raw value and its smoothing by the dashboard's own debiased EMA (`tui::series`), as
//! `<term>` and `<term>_smooth`. Known terms come in the order of `terms`, others (an imported
//! log's) after them by name; a row without a term leaves both cells empty.

use crate::run_dir::MetricRow;
use crate::terms::Term;
use crate::tui::series::ema_debiased;
use std::collections::{BTreeMap, BTreeSet};

/// The loss terms of `rows`: known ones in declaration order, then the rest by name.
pub fn term_names(rows: &[MetricRow]) -> Vec<String> {
    let all: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.losses.keys().map(String::as_str))
        .collect();
    let known = Term::ALL
        .iter()
        .map(|t| t.name())
        .filter(|n| all.contains(n));
    let other = all
        .iter()
        .copied()
        .filter(|n| !Term::ALL.iter().any(|t| t.name() == *n));
    known.chain(other).map(String::from).collect()
}

/// A number as a CSV cell: shortest round-trip form; non-finite values as `nan`, `inf`, `-inf`.
fn cell(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{v}")
    }
}

/// The CSV text of `rows`, smoothed with EMA weight `smoothing` (the dashboard's `+`/`-`).
pub fn csv(rows: &[MetricRow], smoothing: f64) -> String {
    let terms = term_names(rows);
    // Each term's smoothed value by row index (the EMA runs over the rows that have the term).
    let smooth: Vec<BTreeMap<usize, f64>> = terms
        .iter()
        .map(|t| {
            let (idx, pts): (Vec<usize>, Vec<(f64, f64)>) = rows
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.losses.get(t).map(|v| (i, (r.step as f64, *v))))
                .unzip();
            idx.into_iter()
                .zip(ema_debiased(&pts, smoothing))
                .map(|(i, (_, s))| (i, s))
                .collect()
        })
        .collect();
    let mut out = String::from("step,time,lr_g,lr_d,images_per_s");
    for t in &terms {
        out.push_str(&format!(",{t},{t}_smooth"));
    }
    out.push('\n');
    for (i, r) in rows.iter().enumerate() {
        out.push_str(&format!(
            "{},{},{},{},{}",
            r.step,
            cell(r.time),
            cell(r.lr_g),
            cell(r.lr_d),
            cell(r.images_per_s)
        ));
        for (t, s) in terms.iter().zip(&smooth) {
            match (r.losses.get(t), s.get(&i)) {
                (Some(v), Some(sv)) => out.push_str(&format!(",{},{}", cell(*v), cell(*sv))),
                _ => out.push_str(",,"),
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: u64, losses: &[(&str, f64)]) -> MetricRow {
        MetricRow {
            step,
            time: 100.0 + step as f64,
            lr_g: 2e-4,
            lr_d: 2e-4,
            images_per_s: 3.5,
            losses: losses.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn every_term_gets_a_raw_and_a_smoothed_column() {
        let rows = vec![
            row(10, &[("g_total", 4.0), ("d_a", 1.0), ("zeta", 7.0)]),
            row(20, &[("g_total", 2.0), ("zeta", 5.0)]),
            row(30, &[("g_total", 3.0), ("d_a", 0.5), ("zeta", 6.0)]),
        ];
        let text = csv(&rows, 0.6);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "step,time,lr_g,lr_d,images_per_s,g_total,g_total_smooth,d_a,d_a_smooth,zeta,zeta_smooth"
        );
        assert_eq!(lines.len(), 4);
        // The smoothed column is the dashboard's EMA of the raw column.
        let g = ema_debiased(&[(10.0, 4.0), (20.0, 2.0), (30.0, 3.0)], 0.6);
        let d = ema_debiased(&[(10.0, 1.0), (30.0, 0.5)], 0.6);
        assert_eq!(
            lines[2],
            format!("20,120,0.0002,0.0002,3.5,2,{},,,5,{}", g[1].1, {
                ema_debiased(&[(10.0, 7.0), (20.0, 5.0)], 0.6)[1].1
            })
        );
        let cells: Vec<&str> = lines[3].split(',').collect();
        assert_eq!(cells[6], g[2].1.to_string());
        assert_eq!(cells[8], d[1].1.to_string());
        // Smoothing 0 is the raw series.
        assert!(csv(&rows, 0.0).lines().nth(2).unwrap().contains(",2,2,"));
    }

    #[test]
    fn no_rows_is_a_header_alone() {
        assert_eq!(csv(&[], 0.6), "step,time,lr_g,lr_d,images_per_s\n");
        assert_eq!(cell(f64::NAN), "nan");
        assert_eq!(cell(f64::NEG_INFINITY), "-inf");
    }
}
