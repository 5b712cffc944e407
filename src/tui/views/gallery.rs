//! The gallery: the fixed probe set at the chosen sample step, as real images: the selected
//! probe's input, output and the discriminator's patch map side by side, and below, every
//! probe's output at that step. Encoding happens on the image worker; this only places images.

use crate::run_dir::SampleRecord;
use crate::tui::app::RunView;
use crate::tui::images::{ImageKey, Images};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

pub fn draw(
    frame: &mut Frame,
    theme: &Theme,
    area: Rect,
    run: &RunView,
    images: &Images,
    show_images: bool,
) {
    let block = Block::default()
        .borders(Borders::TOP)
        .title(gallery_title(run));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let probes = run.probes();
    let Some(step) = run.shown_step() else {
        frame.render_widget(Paragraph::new(" no samples yet").style(theme.faint), inner);
        return;
    };
    let records = run.samples.get(&step).map(Vec::as_slice).unwrap_or(&[]);
    let (set, probe) = probes
        .get(run.probe)
        .cloned()
        .unwrap_or_else(|| ("content".into(), 0));
    let find = |kind: &str, set: &str, probe: usize| -> Option<&SampleRecord> {
        records
            .iter()
            .find(|r| r.kind == kind && r.set == set && r.probe == probe)
    };
    let input = run.inputs.iter().find(|r| r.set == set && r.probe == probe);

    let rows = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(62),
        Constraint::Length(1),
        Constraint::Min(3),
    ])
    .split(inner);
    let big = Layout::horizontal([
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
    ])
    .split(rows[1]);
    let labels = Layout::horizontal([
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
    ])
    .split(rows[0]);
    for (i, (label, rec)) in [
        ("input", input),
        ("output", find("output", &set, probe)),
        (critic_label(labels[2].width), find("patch", &set, probe)),
    ]
    .into_iter()
    .enumerate()
    {
        if let (1, Some(l)) = (i, &run.look) {
            look(frame, theme, labels[i], big[i], l, images, show_images);
            continue;
        }
        frame.render_widget(Paragraph::new(label).style(theme.muted), labels[i]);
        image(frame, theme, big[i], run, rec, images, show_images);
    }
    let n = probes.len().max(1);
    frame.render_widget(
        Paragraph::new(format!("all probes at step {step}")).style(theme.muted),
        rows[2],
    );
    let thumbs = thumb_areas(rows[3], n);
    for (i, (s, p)) in probes.iter().enumerate() {
        let Some(&area) = thumbs.get(i) else { break };
        if i == run.probe && area.width > 2 {
            frame.render_widget(
                Paragraph::new(Line::from("▔".repeat(area.width as usize))).style(theme.header),
                Rect { height: 1, ..area },
            );
        }
        let below = Rect {
            y: area.y + 1,
            height: area.height.saturating_sub(1),
            ..area
        };
        image(
            frame,
            theme,
            below,
            run,
            find("output", s, *p),
            images,
            show_images,
        );
    }
}

/// The critic map's label, as long as fits: a 120-column terminal gives it 18 columns.
fn critic_label(width: u16) -> &'static str {
    const LABELS: [&str; 4] = [
        "critic: bright = real",
        "critic: bright=real",
        "critic bright=real",
        "bright = real",
    ];
    let fits = LABELS
        .into_iter()
        .find(|l| l.chars().count() <= usize::from(width));
    fits.unwrap_or("critic")
}

/// `n` thumbnail slots of one width, one column apart, the row centred in `area`: every probe is
/// fitted into the same cell size, so the thumbnails come out the same size and evenly spaced
/// (equal shares of an uneven width differ by a column, and so did the images fitted into them).
fn thumb_areas(area: Rect, n: usize) -> Vec<Rect> {
    let n16 = u16::try_from(n.max(1)).unwrap_or(u16::MAX);
    let gap = u16::from(n16 > 1 && area.width >= n16 * 3);
    let width = area.width.saturating_sub(gap * (n16 - 1)) / n16;
    if width == 0 {
        return Vec::new();
    }
    let used = width * n16 + gap * (n16 - 1);
    let left = area.x + (area.width - used) / 2;
    (0..n16)
        .map(|i| Rect::new(left + i * (width + gap), area.y, width, area.height))
        .collect()
}

fn gallery_title(run: &RunView) -> String {
    let steps = run.samples.len();
    let n = run.probes().len();
    match run.shown_step() {
        Some(step) => format!(
            " samples: step {step} ({}/{steps})  probe {}/{n}{} ",
            run.sample_idx + 1,
            (run.probe + 1).min(n),
            if run.follow { "  following latest" } else { "" }
        ),
        None => " samples ".into(),
    }
}

fn image(
    frame: &mut Frame,
    theme: &Theme,
    area: Rect,
    run: &RunView,
    rec: Option<&SampleRecord>,
    images: &Images,
    show: bool,
) {
    if area.width < 2 || area.height < 1 {
        return;
    }
    let Some(rec) = rec else {
        frame.render_widget(Paragraph::new("—").style(theme.faint), area);
        return;
    };
    if !show {
        return;
    }
    let key = ImageKey::new(run.dir.join(&rec.path), area);
    images.draw(frame, area, &key);
}

/// The look preview in place of the output: the latest checkpoint rendered with the look.
fn look(
    frame: &mut Frame,
    theme: &Theme,
    label: Rect,
    area: Rect,
    l: &crate::tui::look::LookView,
    images: &Images,
    show: bool,
) {
    let head = format!(
        "look{}{}",
        l.checkpoint
            .map_or(String::new(), |c| format!(" (checkpoint {c})")),
        if l.busy() { " rendering…" } else { "" }
    );
    frame.render_widget(Paragraph::new(head).style(theme.header), label);
    // Three lines for the look's settings: a narrow column wraps them.
    let body = Rect {
        height: area.height.saturating_sub(3),
        ..area
    };
    let foot = Rect {
        y: area.y + area.height.saturating_sub(3),
        height: 3.min(area.height),
        ..area
    };
    frame.render_widget(
        Paragraph::new(l.describe())
            .style(theme.accent)
            .wrap(ratatui::widgets::Wrap { trim: true }),
        foot,
    );
    match (&l.error, &l.image) {
        (Some(e), _) => frame.render_widget(
            Paragraph::new(format!("look: {e}"))
                .style(theme.bad)
                .wrap(ratatui::widgets::Wrap { trim: true }),
            body,
        ),
        (None, Some(path)) if show && body.width >= 2 && body.height >= 1 => {
            images.draw(frame, body, &ImageKey::new(path, body))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_are_one_size_and_evenly_spaced() {
        for (width, n) in [(54, 5), (54, 2), (77, 7), (40, 3), (10, 4), (3, 4)] {
            let area = Rect::new(66, 20, width, 6);
            let slots = thumb_areas(area, n);
            if slots.is_empty() {
                assert!(
                    usize::from(width) < n,
                    "{width} columns gave no slots for {n}"
                );
                continue;
            }
            assert_eq!(slots.len(), n);
            assert!(slots
                .iter()
                .all(|r| r.width == slots[0].width && r.height == 6));
            let steps: Vec<u16> = slots.windows(2).map(|w| w[1].x - w[0].x).collect();
            assert!(steps.iter().all(|s| *s == steps[0]), "{steps:?}");
            let (first, last) = (slots[0], slots[n - 1]);
            assert!(first.x >= area.x && last.right() <= area.right());
            // Centred: the margins differ by at most one column.
            assert!((first.x - area.x).abs_diff(area.right() - last.right()) <= 1);
        }
    }

    #[test]
    fn critic_label_fits() {
        assert_eq!(critic_label(30), "critic: bright = real");
        assert_eq!(critic_label(18), "critic bright=real");
        assert_eq!(critic_label(5), "critic");
        for w in 6..30 {
            let l = critic_label(w);
            assert!(
                l.chars().count() <= usize::from(w) || l == "critic",
                "{w}: {l}"
            );
        }
    }
}
