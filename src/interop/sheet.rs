//! The contact sheet (`atelier export --contact-sheet FILE`, and the compare view's `x`): runs
//! × probes at one sample step as one PNG for a paper or a slide. The first row is the probes'
//! inputs, then one row per run, each cell that run's output at its last sample step at or
//! before the step (the compare view's rule); rows are labelled with the run's name (and its
//! own step when it differs), columns with the probe, the corner with the step.

use super::font;
use super::samples::{self, ProbeId, RunSamples};
use crate::run_dir::RunDir;
use anyhow::{bail, Context, Result};
use image::{Rgb, RgbImage};
use std::collections::BTreeSet;
use std::path::Path;

const PAD: u32 = 6;
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const INK: Rgb<u8> = Rgb([20, 20, 20]);
const EMPTY: Rgb<u8> = Rgb([225, 225, 225]);

/// The step a sheet shows by default: the latest every run has reached (None: a run without
/// samples).
pub fn common_step(runs: &[RunSamples]) -> Option<u64> {
    runs.iter()
        .map(|r| r.steps().last().copied())
        .min()
        .flatten()
}

/// Probe columns: every probe any run has, in the dashboard's order.
fn columns(runs: &[RunSamples]) -> Vec<ProbeId> {
    let set: BTreeSet<ProbeId> = runs.iter().flat_map(|r| r.probes()).collect();
    set.into_iter().collect()
}

/// The inputs row's label: `input`, or `input (RUN)` when the runs' probes are not the same
/// images (runs of different specs), naming the first run, whose inputs the row shows.
fn input_label(runs: &[RunSamples], cols: &[ProbeId]) -> String {
    let differ = cols.iter().any(|p| {
        let files: Vec<Vec<u8>> = runs
            .iter()
            .filter_map(|r| r.input(p))
            .filter_map(|f| std::fs::read(f).ok())
            .collect();
        files.windows(2).any(|w| w[0] != w[1])
    });
    match runs
        .iter()
        .find(|r| cols.iter().any(|p| r.input(p).is_some()))
    {
        Some(r) if differ => format!("input ({})", font::fit(&r.name, 16)),
        _ => "input".into(),
    }
}

/// One labelled row of cells.
struct Row {
    label: String,
    cells: Vec<Option<RgbImage>>,
}

fn open(path: Option<std::path::PathBuf>) -> Option<RgbImage> {
    path.and_then(|p| samples::load(&p).ok())
}

/// The sheet of `runs` at `step`.
pub fn render(runs: &[RunSamples], step: u64) -> Result<RgbImage> {
    let cols = columns(runs);
    if cols.is_empty() {
        bail!("none of the runs has samples yet");
    }
    let mut rows = vec![Row {
        label: input_label(runs, &cols),
        cells: cols
            .iter()
            .map(|p| open(runs.iter().find_map(|r| r.input(p))))
            .collect(),
    }];
    for r in runs {
        let mut at = None;
        let cells = cols
            .iter()
            .map(|p| {
                let (s, path) = r.output_at(p, step)?;
                at = Some(s);
                open(Some(path))
            })
            .collect();
        let label = match at {
            Some(s) if s != step => format!("{} (step {s})", font::fit(&r.name, 24)),
            None => format!("{} (none)", font::fit(&r.name, 24)),
            _ => font::fit(&r.name, 24),
        };
        rows.push(Row { label, cells });
    }
    let (cw, ch) = rows
        .iter()
        .flat_map(|r| r.cells.iter().flatten())
        .map(|i| i.dimensions())
        .next()
        .context("no sample image of these runs could be read")?;
    let scale = if cw >= 96 { 2 } else { 1 };
    let line = font::HEIGHT * scale;
    let title = format!("step {step}");
    let labels = rows
        .iter()
        .map(|r| r.label.as_str())
        .chain([title.as_str()]);
    let label_w = labels
        .map(|l| font::text_width(l, scale))
        .max()
        .unwrap_or(0)
        + 2 * PAD;
    let header_h = line + 2 * PAD;
    let n = cols.len() as u32;
    let width = label_w + n * (cw + PAD) + PAD;
    let height = header_h + rows.len() as u32 * (ch + PAD) + PAD;
    let mut sheet = RgbImage::from_pixel(width, height, WHITE);
    font::draw_text(&mut sheet, PAD, PAD, &title, scale, INK);
    let max_chars = (cw / ((font::WIDTH + 1) * scale)).max(1) as usize;
    for (j, (set, probe)) in cols.iter().enumerate() {
        let x = label_w + j as u32 * (cw + PAD);
        let text = font::fit(&format!("{set} {probe}"), max_chars);
        font::draw_text(&mut sheet, x, PAD, &text, scale, INK);
    }
    for (i, row) in rows.iter().enumerate() {
        let y = header_h + i as u32 * (ch + PAD);
        font::draw_text(
            &mut sheet,
            PAD,
            y + (ch - line.min(ch)) / 2,
            &row.label,
            scale,
            INK,
        );
        for (j, cell) in row.cells.iter().enumerate() {
            let x = label_w + j as u32 * (cw + PAD);
            match cell {
                Some(img) if img.dimensions() == (cw, ch) => {
                    image::imageops::replace(&mut sheet, img, x.into(), y.into())
                }
                Some(img) => {
                    let fitted =
                        image::imageops::resize(img, cw, ch, image::imageops::FilterType::Triangle);
                    image::imageops::replace(&mut sheet, &fitted, x.into(), y.into())
                }
                None => {
                    for dy in 0..ch {
                        for dx in 0..cw {
                            sheet.put_pixel(x + dx, y + dy, EMPTY);
                        }
                    }
                }
            }
        }
    }
    Ok(sheet)
}

/// Write the sheet of the runs at `step` (default: [`common_step`]) to `out`; returns a line
/// saying what was written.
pub fn write(runs: &[RunDir], step: Option<u64>, out: &Path) -> Result<String> {
    if runs.is_empty() {
        bail!("a contact sheet needs at least one run");
    }
    let samples: Vec<RunSamples> = runs.iter().map(RunSamples::read).collect();
    let step = match step.or_else(|| common_step(&samples)) {
        Some(s) => s,
        None => bail!("a run has no samples yet, so there is no common step: pass --step"),
    };
    let sheet = render(&samples, step)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    sheet
        .save(out)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(format!(
        "contact sheet of {} run{} at step {step} ({}x{}) -> {}",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" },
        sheet.width(),
        sheet.height(),
        out.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_dir::{append_json, SampleRecord, SAMPLE_INDEX};

    /// A run with `probes` probes whose outputs at each of `steps` are flat images of one
    /// colour per (step, probe).
    pub(crate) fn fake_run(root: &Path, id: &str, steps: &[u64], probes: usize) -> RunDir {
        let run = RunDir::new(root.join(id));
        std::fs::create_dir_all(run.path("samples")).unwrap();
        let put = |step: u64, probe: usize, kind: &str, c: [u8; 3]| {
            let rel = format!("samples/{kind}_{step}_{probe}.png");
            RgbImage::from_pixel(32, 24, Rgb(c))
                .save(run.root.join(&rel))
                .unwrap();
            let rec = SampleRecord {
                step,
                set: "content".into(),
                probe,
                kind: kind.into(),
                path: rel,
            };
            append_json(&run.path(SAMPLE_INDEX), &rec).unwrap();
        };
        for p in 0..probes {
            put(0, p, "input", [0, 0, 0]);
        }
        for &s in steps {
            for p in 0..probes {
                put(s, p, "output", [s as u8, 10 * p as u8 + 100, 7]);
            }
        }
        run
    }

    #[test]
    fn a_sheet_has_a_row_per_run_a_column_per_probe_and_each_runs_step() {
        let dir = tempfile::tempdir().unwrap();
        let a = fake_run(dir.path(), "20261205-000000-alpha", &[10, 20, 30], 2);
        let b = fake_run(dir.path(), "20261205-000001-beta", &[10, 20], 2);
        let runs: Vec<RunSamples> = [&a, &b].map(RunSamples::read).into();
        assert_eq!(common_step(&runs), Some(20));
        let sheet = render(&runs, 30).unwrap();
        // Three rows (input, alpha, beta) of 24 px and two columns of 32 px, with labels.
        let label_w = sheet.width() - 2 * (32 + PAD) - PAD;
        assert!(label_w > font::text_width("beta (step 20)", 1));
        assert_eq!(
            sheet.height(),
            font::HEIGHT + 2 * PAD + 3 * (24 + PAD) + PAD
        );
        let px = |row: u32, col: u32| {
            let y = font::HEIGHT + 2 * PAD + row * (24 + PAD) + 12;
            sheet.get_pixel(label_w + col * (32 + PAD) + 16, y).0
        };
        assert_eq!(px(0, 1), [0, 0, 0], "the inputs' row");
        assert_eq!(input_label(&runs, &columns(&runs)), "input");
        assert_eq!(px(1, 0), [30, 100, 7], "alpha at 30");
        assert_eq!(px(1, 1), [30, 110, 7]);
        assert_eq!(px(2, 1), [20, 110, 7], "beta's last step before 30");
        // The labels are drawn in the label column.
        let ink = (0..sheet.height())
            .flat_map(|y| (0..label_w).map(move |x| (x, y)))
            .filter(|&(x, y)| sheet.get_pixel(x, y) == &INK)
            .count();
        assert!(ink > 100, "{ink}");
        // write() picks the common step and says where it wrote.
        let out = dir.path().join("sheets/s.png");
        let msg = write(&[a, b], None, &out).unwrap();
        assert!(msg.contains("at step 20") && out.is_file(), "{msg}");
    }

    #[test]
    fn inputs_that_differ_between_runs_name_the_run_they_come_from() {
        let dir = tempfile::tempdir().unwrap();
        let a = fake_run(dir.path(), "20261205-000000-alpha", &[10], 1);
        let b = fake_run(dir.path(), "20261205-000001-beta", &[10], 1);
        RgbImage::from_pixel(32, 24, Rgb([9, 9, 9]))
            .save(b.root.join("samples/input_0_0.png"))
            .unwrap();
        let runs: Vec<RunSamples> = [&a, &b].map(RunSamples::read).into();
        assert_eq!(input_label(&runs, &columns(&runs)), "input (alpha)");
    }

    #[test]
    fn a_run_without_samples_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let empty = RunDir::new(dir.path().join("x"));
        let err = write(&[empty], None, &dir.path().join("s.png")).unwrap_err();
        assert!(err.to_string().contains("pass --step"), "{err}");
    }
}
