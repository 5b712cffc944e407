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
        ("critic: bright = real", find("patch", &set, probe)),
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
    let thumbs = Layout::horizontal(vec![Constraint::Ratio(1, n as u32); n]).split(rows[3]);
    for (i, (s, p)) in probes.iter().enumerate() {
        let area = thumbs[i];
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
