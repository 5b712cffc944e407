//! `atelier import cyclegan-log loss_log.txt`: the CycleGAN repository's training log
//! (`checkpoints/<name>/loss_log.txt`, written by `util/visualizer.py`): a header line
//! `================ Training Loss (<ctime>) ================` per start of training, then lines
//! `(epoch: E, iters: I, time: T, data: D) D_A: x G_A: x cycle_A: x idt_A: x D_B: x G_B: x
//! cycle_B: x idt_B: x `, where `iters` counts images within the epoch and `time` is the compute
//! seconds per image. Each line becomes a metrics row at the global step `(E - 1) * L + I`, with
//! L the largest `iters` of the log (the epoch's length as far as the log shows it); a later
//! start that goes back (`--continue_train --epoch_count`) replaces the rows from its first step
//! on, as a resumed atelier run does. Terms are renamed to atelier's: the repository's `D_A`
//! judges domain B (it is G_A's critic), so it is `d_b`, its `idt_A` is G_A on B, so `idt_b`;
//! `g_adv` is G_A + G_B, `g_total` the sum of every generator term (the repository's `loss_G`),
//! `d_total` D_A + D_B. Other names (pix2pix's `G_GAN`, `G_L1`, `D_real`, `D_fake`) are kept in
//! lower case. Values are as logged, i.e. with the repository's λ weights already applied.

use crate::run_dir::MetricRow;
use std::collections::BTreeMap;

/// What a log held.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub rows: Vec<MetricRow>,
    /// Lines that are neither a header, blank, nor a loss line (line number, 1-based).
    pub malformed: Vec<usize>,
    /// Header lines (one per start of training).
    pub starts: usize,
    /// Rows dropped because a later start logged the same steps again.
    pub replaced: usize,
}

/// One loss line before it gets its global step.
struct Line {
    epoch: u64,
    iters: u64,
    secs_per_image: Option<f64>,
    losses: Vec<(String, f64)>,
}

/// The header's date (`time.ctime()`: `Sat Dec  5 06:00:00 2026`), as Unix seconds (UTC).
fn header_time(line: &str) -> Option<f64> {
    let inner = line.split_once('(')?.1.rsplit_once(')')?.0;
    let f: Vec<&str> = inner.split_whitespace().collect();
    let [_, mon, day, hms, year] = f.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| x == mon)? as i64 + 1;
    let (d, y): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let t: Vec<i64> = hms
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [hh, mm, ss] = t.as_slice() else {
        return None;
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss) as f64)
}

fn is_header(line: &str) -> bool {
    line.starts_with("================") && line.contains("Training Loss")
}

fn parse_line(line: &str) -> Option<Line> {
    let rest = line.strip_prefix('(')?;
    let (head, tail) = rest.split_once(')')?;
    let mut fields = BTreeMap::new();
    for part in head.split(',') {
        let (k, v) = part.split_once(':')?;
        fields.insert(k.trim(), v.trim());
    }
    let epoch: u64 = fields.get("epoch")?.parse().ok()?;
    let iters: u64 = fields.get("iters")?.parse().ok()?;
    let secs_per_image = match fields.get("time") {
        Some(t) => Some(t.parse::<f64>().ok()?),
        None => None,
    };
    let tokens: Vec<&str> = tail
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.is_empty() || !tokens.len().is_multiple_of(2) {
        return None;
    }
    let mut losses = Vec::new();
    for pair in tokens.chunks(2) {
        let name = pair[0].strip_suffix(':')?;
        if name.is_empty() {
            return None;
        }
        losses.push((name.to_string(), pair[1].parse::<f64>().ok()?));
    }
    Some(Line {
        epoch,
        iters,
        secs_per_image,
        losses,
    })
}

/// The repository's terms as atelier's (see the module's doc).
pub fn rename(losses: &[(String, f64)]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let get = |k: &str| losses.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    let mut g_total = 0.0;
    let mut any_g = false;
    for (name, v) in losses {
        let ours = match name.as_str() {
            "D_A" => "d_b",
            "D_B" => "d_a",
            "cycle_A" => "cycle_a",
            "cycle_B" => "cycle_b",
            "idt_A" => "idt_b",
            "idt_B" => "idt_a",
            "G_A" | "G_B" => {
                g_total += v;
                any_g = true;
                continue;
            }
            other => {
                out.insert(other.to_ascii_lowercase(), *v);
                continue;
            }
        };
        if ours.starts_with("cycle") || ours.starts_with("idt") {
            g_total += v;
        }
        out.insert(ours.to_string(), *v);
    }
    if let (Some(a), Some(b)) = (get("G_A"), get("G_B")) {
        out.insert("g_adv".into(), a + b);
    }
    if any_g {
        out.insert("g_total".into(), g_total);
    }
    if let (Some(a), Some(b)) = (get("D_A"), get("D_B")) {
        out.insert("d_total".into(), a + b);
    }
    // JSON has no NaN: a diverged value is left out of its row (a gap in the chart).
    out.retain(|_, v| v.is_finite());
    out
}

/// Parse a whole log.
pub fn parse(text: &str) -> Parsed {
    let mut malformed = Vec::new();
    let mut starts = 0;
    // (start time of its session, line)
    let mut lines: Vec<(Option<f64>, Line)> = Vec::new();
    let mut session = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if is_header(line) {
            starts += 1;
            session = header_time(line);
            continue;
        }
        match parse_line(line) {
            Some(l) => lines.push((session, l)),
            None => malformed.push(i + 1),
        }
    }
    let epoch_len = lines.iter().map(|(_, l)| l.iters).max().unwrap_or(0);
    let mut rows: Vec<MetricRow> = Vec::with_capacity(lines.len());
    let mut replaced = 0;
    let mut clock: Option<(Option<f64>, f64, u64)> = None; // (session, time, step)
    for (sess, l) in lines {
        let step = l.epoch.saturating_sub(1) * epoch_len + l.iters;
        if rows.last().is_some_and(|r| r.step >= step) {
            let keep = rows.partition_point(|r| r.step < step);
            replaced += rows.len() - keep;
            rows.truncate(keep);
        }
        // Wall time: the session's start plus the compute time of the images since the last
        // row (an estimate: the log keeps no clock).
        let per_image = l.secs_per_image.unwrap_or(0.0).max(0.0);
        let time = match clock {
            Some((s, t, prev)) if s == sess && step > prev => t + per_image * (step - prev) as f64,
            _ => sess.unwrap_or(0.0) + per_image * l.iters as f64,
        };
        clock = Some((sess, time, step));
        rows.push(MetricRow {
            step,
            time,
            lr_g: 0.0,
            lr_d: 0.0,
            images_per_s: if per_image > 0.0 {
                1.0 / per_image
            } else {
                0.0
            },
            losses: rename(&l.losses),
        });
    }
    Parsed {
        rows,
        malformed,
        starts,
        replaced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_of_the_repository_becomes_atelier_s_terms() {
        let p = parse(
            "================ Training Loss (Sat Dec  5 06:00:00 2026) ================\n\
             (epoch: 1, iters: 100, time: 0.250, data: 0.004) D_A: 0.300 G_A: 0.500 cycle_A: 1.200 idt_A: 0.400 D_B: 0.200 G_B: 0.700 cycle_B: 1.100 idt_B: 0.600 \n",
        );
        assert_eq!((p.starts, p.malformed.len(), p.rows.len()), (1, 0, 1));
        let r = &p.rows[0];
        assert_eq!(r.step, 100);
        assert_eq!(r.images_per_s, 4.0);
        // 2026-12-05 06:00:00 UTC, plus 100 images at 0.25 s.
        assert_eq!(r.time, 1_796_450_400.0 + 25.0);
        let l = &r.losses;
        assert_eq!(l["d_b"], 0.3);
        assert_eq!(l["d_a"], 0.2);
        assert_eq!(l["idt_b"], 0.4);
        assert_eq!(l["idt_a"], 0.6);
        assert_eq!(l["cycle_a"], 1.2);
        assert!((l["g_adv"] - 1.2).abs() < 1e-12);
        assert!((l["g_total"] - (0.5 + 0.7 + 1.2 + 1.1 + 0.4 + 0.6)).abs() < 1e-12);
        assert!((l["d_total"] - 0.5).abs() < 1e-12);
        assert_eq!(l.len(), 9);
    }

    #[test]
    fn steps_run_across_epochs_and_a_restart_replaces_what_it_repeats() {
        let line = |e, i| {
            format!("(epoch: {e}, iters: {i}, time: 0.100, data: 0.010) D_A: 0.1 G_A: 0.2 \n")
        };
        let mut text = String::new();
        for e in 1..=3 {
            for i in [100, 200] {
                text.push_str(&line(e, i));
            }
        }
        text.push_str("garbage that is not a loss line\n(epoch: x, iters: 1) D_A: 1\n");
        text.push_str(
            "================ Training Loss (Sun Dec  6 08:00:00 2026) ================\n",
        );
        text.push_str(&line(3, 100));
        text.push_str("(epoch: 3, iters: 200, time: 0.1, data: 0.0) D_A: 0.1 G_A:\n");
        let p = parse(&text);
        assert_eq!(p.malformed, vec![7, 8, 11]);
        assert_eq!(p.starts, 1);
        let steps: Vec<u64> = p.rows.iter().map(|r| r.step).collect();
        // Epoch 3 started again: its two old rows go, the new one stays.
        assert_eq!(steps, vec![100, 200, 300, 400, 500]);
        assert_eq!(p.replaced, 2);
        assert!(p.rows[1].time > p.rows[0].time);
        // A pix2pix name is kept in lower case; no NaN reaches a row.
        let l = rename(&[("G_L1".into(), 2.0), ("D_A".into(), f64::NAN)]);
        assert_eq!(l.get("g_l1"), Some(&2.0));
        assert!(!l.contains_key("d_b"));
    }
}
