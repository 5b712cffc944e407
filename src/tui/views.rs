//! Draw functions: pure reads of `App` (and the image cache) into a frame. `draw` picks the view,
//! then overlays, then the toast; a terminal below the minimum size gets a plain message.

mod compare;
mod gallery;
pub mod gpus;
mod overlays;
mod run;
mod runs;

use super::app::{App, Overlay, View};
use super::images::Images;
use super::layout;
use super::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, images: &Images) {
    let size = (frame.area().width, frame.area().height);
    if layout::too_small(size) {
        let msg = format!(
            "terminal too small: {}x{}\natelier needs at least {}x{}\n\nenlarge the window, or press q to quit",
            size.0,
            size.1,
            layout::MIN_W,
            layout::MIN_H
        );
        frame.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), frame.area());
        return;
    }
    // Images are only drawn when no overlay covers them (sixel would paint over the popup).
    let show_images = app.overlay.is_none();
    match app.view {
        View::Runs => runs::draw(frame, app, size),
        View::Run => run::draw(frame, app, size, images, show_images),
        View::Compare => compare::draw(frame, app, size, images, show_images),
        View::Grid => compare::draw_grid(frame, app, size, images, show_images),
    }
    match &app.overlay {
        Some(Overlay::Help) => overlays::help(frame, app, size),
        Some(Overlay::Launch(form)) => overlays::launch(frame, &app.theme, form, size),
        Some(Overlay::ConfirmStop { id, .. }) => {
            overlays::confirm_stop(frame, &app.theme, id, size)
        }
        Some(Overlay::Prompt(p)) => overlays::prompt(frame, &app.theme, p, size),
        None => {}
    }
    if let Some((msg, _)) = &app.toast {
        let w = (msg.chars().count() as u16 + 4).min(size.0);
        let area = Rect::new(size.0.saturating_sub(w), size.1.saturating_sub(2), w, 1);
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(format!(" {msg} ")).style(app.theme.toast),
            area,
        );
    }
}

/// The one-line title bar.
fn title(frame: &mut Frame, theme: &Theme, area: Rect, left: Vec<Span<'static>>, right: String) {
    let mut spans = vec![Span::styled(" atelier ", theme.brand), Span::raw(" ")];
    spans.extend(left);
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    // The right side gives way when the left fills the row (a long filter and its error).
    if used + right.chars().count() < area.width as usize {
        let pad = area.width as usize - (used + right.chars().count() + 1);
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled(right, theme.faint));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Key hints in the footer (the last row), in their order of importance: a hint that does not
/// fit whole is left out rather than cut mid-word, and `? help` (which lists every key) is kept
/// whatever else is left out.
fn footer(frame: &mut Frame, theme: &Theme, area: Rect, context: super::keys::Context) {
    let hints: Vec<(String, String)> = super::keys::footer(context)
        .into_iter()
        .map(|(k, what)| (format!(" {k} "), format!(" {what}  ")))
        .collect();
    // Each hint's width with its two trailing spaces, which may fall off the edge.
    let width = |(badge, label): &(String, String)| badge.chars().count() + label.chars().count();
    let help = hints.iter().position(|(_, label)| label == " help  ");
    let mut room = (area.width as usize + 2).saturating_sub(help.map_or(0, |i| width(&hints[i])));
    let mut shown = vec![false; hints.len()];
    for (i, hint) in hints.iter().enumerate() {
        if Some(i) == help {
            continue;
        }
        if width(hint) > room {
            break;
        }
        room -= width(hint);
        shown[i] = true;
    }
    if let Some(i) = help {
        shown[i] = true;
    }
    let mut spans = Vec::new();
    for ((badge, label), _) in hints.into_iter().zip(shown).filter(|(_, s)| *s) {
        spans.push(Span::styled(badge, theme.key_badge));
        spans.push(Span::raw(label));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `42s`, `3m`, `2h`, `5d` ago.
fn age(now: f64, then: f64) -> String {
    let s = (now - then).max(0.0).round();
    match s as u64 {
        0..=59 => format!("{}s", s as u64),
        60..=3599 => format!("{}m", s as u64 / 60),
        3600..=86_399 => format!("{}h", s as u64 / 3600),
        d => format!("{}d", d / 86_400),
    }
}

/// Remaining time as the trainer estimates it.
fn eta(secs: Option<f64>) -> String {
    secs.map_or("-".into(), crate::numbers::format_secs)
}

/// A unicode sparkline of the last values.
fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let vals: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let vals = &vals[vals.len().saturating_sub(width)..];
    let (lo, hi) = vals
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    vals.iter()
        .map(|&v| {
            let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
            BARS[((t * 7.0).round() as usize).min(7)]
        })
        .collect()
}
