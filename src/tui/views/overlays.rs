//! Overlays drawn over a view: the help (generated from the key table), the launch/fork form and
//! the stop confirmation.

use crate::tui::app::App;
use crate::tui::form::LaunchForm;
use crate::tui::keys::{self, Context};
use crate::tui::layout;
use crate::tui::theme::Theme;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// The help: the keys of the view on screen, then the global ones, and how colours and images
/// were chosen. When one column does not fit the terminal's height it flows into two side by
/// side (the run view has more keys than 36 rows hold); what still does not fit is counted on
/// the last line rather than cut silently.
pub fn help(frame: &mut Frame, app: &App, size: (u16, u16)) {
    let mut lines = Vec::new();
    // The keys of the view on screen, then the global ones: the whole table does not fit.
    for ctx in [Context::of(app.view), Context::Global] {
        lines.push(Line::from(Span::styled(ctx.title(), app.theme.header)));
        for (keys, help) in keys::help(ctx) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<12}"), app.theme.key_name),
                Span::raw(help),
            ]));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "  mouse: click selects, click again opens; wheel scrolls runs and sample steps",
        app.theme.muted,
    )));
    lines.push(Line::from(Span::styled(
        format!("  colours: {}", app.theme_why),
        app.theme.muted,
    )));
    lines.push(Line::from(Span::styled(
        format!("  images: {}", app.graphics_why),
        app.theme.muted,
    )));
    let rows = usize::from(size.1.saturating_sub(4));
    let two = lines.len() > rows && size.0 >= 120;
    let needed = if two {
        lines.len().div_ceil(2)
    } else {
        lines.len()
    };
    let area = layout::popup(
        size,
        if two { 168 } else { 84 },
        (needed as u16 + 2).min(size.1.saturating_sub(2)),
    );
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" keys (? or Esc closes) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let columns: Vec<Vec<Line>> = if two {
        let half = lines.len().div_ceil(2);
        let second = lines.split_off(half);
        vec![lines, second]
    } else {
        vec![lines]
    };
    let width = inner.width / columns.len() as u16;
    for (i, col) in columns.into_iter().enumerate() {
        let mut col: Vec<Line> = col
            .into_iter()
            .map(|l| ellipsis(l, usize::from(width.saturating_sub(1))))
            .collect();
        let rows = usize::from(inner.height);
        if col.len() > rows && rows > 0 {
            let hidden = col.len() - (rows - 1);
            col.truncate(rows - 1);
            col.push(Line::from(Span::styled(
                format!("  … {hidden} more lines: a taller terminal shows them"),
                app.theme.accent,
            )));
        }
        let rect = ratatui::layout::Rect {
            x: inner.x + i as u16 * width,
            width,
            ..inner
        };
        frame.render_widget(Paragraph::new(col), rect);
    }
}

/// `line` cut to `width` columns, its last visible character replaced by `…` when cut.
fn ellipsis(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width || width == 0 {
        return line;
    }
    let mut room = width - 1;
    let mut spans = Vec::new();
    for span in line.spans {
        if room == 0 {
            break;
        }
        let text: String = span.content.chars().take(room).collect();
        room -= text.chars().count();
        spans.push(Span::styled(text, span.style));
    }
    spans.push(Span::raw("…"));
    Line::from(spans)
}

pub fn launch(frame: &mut Frame, theme: &Theme, form: &LaunchForm, size: (u16, u16)) {
    let area = layout::popup(size, 76, 22);
    let mut lines = Vec::new();
    let focus = theme.focus;
    if let Some(run) = &form.fork_of {
        lines.push(Line::from(format!(
            "fork of {run}: a new run from its spec with these values"
        )));
    } else {
        lines.push(Line::from(Span::styled(
            "experiment (↑↓ to choose)",
            theme.accent,
        )));
        for (i, e) in form.experiments.iter().enumerate() {
            let mark = if i == form.selected { "▶ " } else { "  " };
            let desc = match &e.spec {
                Ok(_) if e.needs.is_some() => {
                    format!("✗ needs {}", e.needs.as_deref().unwrap_or_default())
                }
                Ok(s) => {
                    format!(
                        "{}, {} steps  {}",
                        s.mode.as_str(),
                        s.train.steps,
                        s.description
                    )
                }
                Err(err) => format!("unreadable: {err}"),
            };
            // One line per experiment: cut the description to the popup's width.
            let room = (area.width as usize).saturating_sub(22);
            let desc: String = if desc.chars().count() > room {
                desc.chars()
                    .take(room.saturating_sub(1))
                    .chain(std::iter::once('…'))
                    .collect()
            } else {
                desc
            };
            let style = if form.focus == 0 && i == form.selected {
                focus
            } else {
                Style::default()
            };
            let desc_style = if e.needs.is_some() {
                theme.failed
            } else {
                theme.muted
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{mark}{:<16}", e.name), style),
                Span::styled(format!(" {desc}"), desc_style),
            ]));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "overrides (Tab to move, type to edit)",
        theme.accent,
    )));
    for (i, f) in form.fields.iter().enumerate() {
        let style = if form.focus == i + 1 {
            focus
        } else {
            Style::default()
        };
        let cursor = if form.focus == i + 1 { "▏" } else { "" };
        lines.push(Line::from(vec![
            Span::raw(format!("  {:<16}", f.label)),
            Span::styled(format!("{}{cursor}", f.value), style),
        ]));
    }
    lines.push(Line::from(""));
    let study = form
        .experiments
        .get(form.selected)
        .filter(|_| form.fork_of.is_none())
        .and_then(|e| e.spec.as_ref().ok().map(|s| (e, s)))
        .filter(|(e, s)| crate::study::starts_study(s, s.name.as_deref().unwrap_or(&e.name)));
    let needs = form
        .experiments
        .get(form.selected)
        .filter(|_| form.fork_of.is_none())
        .and_then(|e| e.needs.as_deref());
    let hint = match study {
        _ if needs.is_some() => format!(
            "can't start yet: put {}   Esc cancels",
            needs.unwrap_or_default()
        ),
        Some((_, s)) => format!(
            "Enter starts the study: {} candidates, steered by your judgements (b)   Esc cancels",
            s.study.candidates
        ),
        None => {
            "Enter starts a detached trainer (it keeps running after you quit)   Esc cancels".into()
        }
    };
    lines.push(Line::from(Span::styled(hint, theme.muted)));
    frame.render_widget(Clear, area);
    let title = if form.fork_of.is_some() {
        " fork "
    } else {
        " launch "
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

pub fn confirm_stop(frame: &mut Frame, theme: &Theme, id: &str, size: (u16, u16)) {
    let area = layout::popup(size, 60, 5);
    frame.render_widget(Clear, area);
    let text = vec![
        Line::from(format!("Stop {id}?")),
        Line::from("It checkpoints first; `r` resumes it later."),
        Line::from(Span::styled(
            "y: stop   any other key: cancel",
            theme.accent,
        )),
    ];
    frame.render_widget(
        Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" stop ")),
        area,
    );
}

/// The one-line prompt for a tag or a note on a run.
pub fn prompt(frame: &mut Frame, theme: &Theme, p: &crate::tui::app::Prompt, size: (u16, u16)) {
    let area = layout::popup(size, 70, 5);
    frame.render_widget(Clear, area);
    let (title, hint) = if p.note {
        (" note ", "Enter saves the note, Esc cancels")
    } else {
        (" tag ", "Enter adds the tag (-tag removes it), Esc cancels")
    };
    let text = vec![
        Line::from(format!("{} for {}:", title.trim(), p.run)),
        Line::from(Span::styled(format!("> {}▏", p.text), theme.key_name)),
        Line::from(Span::styled(hint, theme.accent)),
    ];
    frame.render_widget(
        Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}
