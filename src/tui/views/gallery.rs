//! The gallery: the fixed probe set at the chosen sample step, as real images: the selected
//! probe's input, output and the discriminator's patch map side by side (for a distilled run the
//! student's output and its teacher's, or the map after `T`), and below, every probe's output
//! at that step. Encoding happens on the image worker; this only places images.

use crate::run_dir::SampleRecord;
use crate::tui::app::RunView;
use crate::tui::images::{ImageKey, Images};
use crate::tui::layout;
use crate::tui::look::{Cell, LookView};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
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
    if let Some(l) = run.look.as_ref().filter(|l| l.grid) {
        look_grid(frame, theme, inner, l, images, show_images);
        return;
    }
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

    let panes = layout::gallery_panes(area);
    let (labels, big) = (panes.labels, panes.big);
    // A distilled run: the student beside its teacher (the frozen generator it learns from),
    // unless `T` asked for the critic's map.
    let distilled = !run.teacher.is_empty();
    let third = if distilled && !run.show_critic {
        let teacher = run
            .teacher
            .iter()
            .find(|r| r.set == set && r.probe == probe);
        (teacher_label(run, labels[2].width), teacher)
    } else {
        (
            critic_label(labels[2].width).to_string(),
            find("patch", &set, probe),
        )
    };
    let output = if distilled { "student" } else { "output" };
    for (i, (label, rec)) in [
        ("input".to_string(), input),
        (output.to_string(), find("output", &set, probe)),
        third,
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
        panes.caption,
    );
    let thumbs = thumb_areas(panes.thumbs, n);
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

/// The teacher pane's label: the teacher run and the checkpoint its generator is frozen at, as
/// the student's spec names them; as much as fits in `width`.
fn teacher_label(run: &RunView, width: u16) -> String {
    let Some(d) = run.spec.as_ref().and_then(|s| s.distill.as_ref()) else {
        return "teacher".into();
    };
    let name = crate::run_dir::run_name(&d.parent);
    first_fit(
        [
            format!("teacher {name} @{}", d.checkpoint),
            format!("teacher @{}", d.checkpoint),
            "teacher".into(),
        ],
        width,
    )
}

/// The first of `labels` (longest first) that fits in `width` columns, else the last one cut
/// with `…`: a narrow column keeps what matters most instead of losing the label's end.
fn first_fit(labels: impl IntoIterator<Item = String>, width: u16) -> String {
    let width = usize::from(width);
    let mut last = String::new();
    for l in labels {
        if l.chars().count() <= width {
            return l;
        }
        last = l;
    }
    match width {
        0 => String::new(),
        w => last.chars().take(w - 1).chain(['…']).collect(),
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

/// The look preview in place of the output: the chosen style rendered with the look.
fn look(
    frame: &mut Frame,
    theme: &Theme,
    label: Rect,
    area: Rect,
    l: &LookView,
    images: &Images,
    show: bool,
) {
    let cell = l.shown();
    let (name, count) = match (l.styles.len(), l.styles.get(l.style)) {
        (0 | 1, _) | (_, None) => (String::new(), String::new()),
        (n, Some(s)) => (format!(" {}", s.name), format!(" ({}/{n})", l.style + 1)),
    };
    let at = cell
        .and_then(|c| c.checkpoint)
        .map_or(String::new(), |c| format!(" @{c}"));
    let busy = if cell.is_some_and(Cell::busy) {
        " rendering…"
    } else {
        ""
    };
    // Narrow columns lose the checkpoint first, then the style's name; "rendering…" stays.
    let head = first_fit(
        [
            format!("look{name}{count}{at}{busy}"),
            format!("look{name}{count}{busy}"),
            format!("look{count}{busy}"),
        ],
        label.width,
    );
    frame.render_widget(Paragraph::new(head).style(theme.header), label);
    let body = layout::look_image(area);
    let foot = Rect {
        y: area.y + body.height,
        height: area.height - body.height,
        ..area
    };
    frame.render_widget(
        Paragraph::new(l.describe())
            .style(theme.accent)
            .wrap(ratatui::widgets::Wrap { trim: true }),
        foot,
    );
    if let Some(c) = cell {
        look_image(frame, theme, body, c, images, show);
    }
}

/// A cell's image, or its error.
fn look_image(frame: &mut Frame, theme: &Theme, area: Rect, c: &Cell, images: &Images, show: bool) {
    match (&c.error, &c.image) {
        (Some(e), _) => frame.render_widget(
            Paragraph::new(format!("look: {e}"))
                .style(theme.bad)
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        ),
        (None, Some(path)) if show && area.width >= 2 && area.height >= 1 => {
            images.draw(frame, area, &ImageKey::new(path, area))
        }
        (None, None) if c.busy() => {
            frame.render_widget(Paragraph::new("rendering…").style(theme.faint), area)
        }
        _ => {}
    }
}

/// Every style at once: the selected probe under each generator with the look, the chosen one
/// marked.
fn look_grid(
    frame: &mut Frame,
    theme: &Theme,
    inner: Rect,
    l: &LookView,
    images: &Images,
    show: bool,
) {
    let (head, cells) = layout::look_grid(inner, l.styles.len());
    frame.render_widget(
        Paragraph::new(format!("styles · {}", l.describe())).style(theme.accent),
        head,
    );
    for (i, (area, style)) in cells.iter().zip(&l.styles).enumerate() {
        let cell = &l.cells[i];
        let chosen = i == l.style;
        let mark = format!("{}{}", if chosen { "▶" } else { " " }, i + 1);
        let label = first_fit(
            [
                format!(
                    "{mark} {}{}",
                    style.name,
                    cell.checkpoint.map_or(String::new(), |c| format!(" @{c}"))
                ),
                format!("{mark} {}", style.name),
            ],
            area.width,
        );
        let label_area = Rect {
            height: 1.min(area.height),
            ..*area
        };
        frame.render_widget(
            Paragraph::new(label).style(if chosen { theme.header } else { theme.muted }),
            label_area,
        );
        look_image(frame, theme, layout::below_label(*area), cell, images, show);
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
    fn a_label_that_does_not_fit_loses_its_least_part_first_then_is_cut() {
        let labels = || ["look starry (2/3) @3000".to_string(), "look (2/3)".into()];
        assert_eq!(first_fit(labels(), 30), "look starry (2/3) @3000");
        assert_eq!(first_fit(labels(), 12), "look (2/3)");
        assert_eq!(first_fit(labels(), 6), "look …");
        assert_eq!(first_fit(labels(), 0), "");
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
