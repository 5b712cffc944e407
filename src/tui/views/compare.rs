//! The compare view and the best-of-k grid: several runs' outputs of one probe at the same step
//! (each run's nearest sample at or before it), the input alongside; for compare also one loss
//! term overlaid across the runs and the hyperparameters that differ, and the A/B flip.

use super::{footer, title};
use crate::store::Liveness;
use crate::tui::app::{App, RunView};
use crate::tui::compare::{self, Compare, Grid};
use crate::tui::images::{ImageKey, Images};
use crate::tui::keys::Context;
use crate::tui::layout;
use crate::tui::series;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, size: (u16, u16), images: &Images, show: bool) {
    let Some(c) = &app.compare else { return };
    let p = layout::compare_panes(size);
    let step = c.step();
    let n_steps = compare::steps(&c.runs).len();
    let theme = &app.theme;
    title(
        frame,
        theme,
        p.header,
        vec![Span::raw(format!(
            "compare {} runs · step {} ({}/{n_steps}){} · probe {}",
            c.runs.len(),
            step.map_or("-".into(), |s| s.to_string()),
            (c.step_idx + 1).min(n_steps),
            if c.follow { " following" } else { "" },
            c.probe + 1
        ))],
        match c.flip {
            Some(i) => format!("A/B: showing {}", if i == 0 { "A" } else { "B" }),
            None => String::new(),
        },
    );
    let input = c.runs.first().and_then(|r| compare::input_of(r, c.probe));
    let shown: Vec<usize> = match c.flip {
        Some(i) => vec![i.min(c.runs.len().saturating_sub(1))],
        None => (0..c.runs.len()).collect(),
    };
    // The input takes one column; in A/B the one run takes the rest.
    let cols = match c.flip {
        Some(_) => {
            let third = p.images.width / 3;
            vec![
                Rect {
                    width: third,
                    ..p.images
                },
                Rect {
                    x: p.images.x + third,
                    width: p.images.width - third,
                    ..p.images
                },
            ]
        }
        None => layout::columns(p.images, shown.len() + 1),
    };
    let label_cols: Vec<Rect> = cols
        .iter()
        .map(|r| Rect {
            y: p.labels.y,
            height: p.labels.height,
            ..*r
        })
        .collect();
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled("input", theme.muted)),
            Line::from(""),
        ]),
        label_cols[0],
    );
    if let (Some(rec), Some(first)) = (input, c.runs.first()) {
        image(frame, cols[0], &first.dir.join(&rec.path), images, show);
    }
    for (slot, &i) in shown.iter().enumerate() {
        let run = &c.runs[i];
        let at = step.and_then(|s| compare::output_at(run, s, c.probe));
        let stars = at.and_then(|(s, _)| app.ledger.stars_for(&run.id, Some(s), Some(c.probe)));
        let label = run_label(theme, run, i, at.map(|(s, _)| s), step, stars, i == c.focus);
        frame.render_widget(Paragraph::new(label), label_cols[slot + 1]);
        match at {
            Some((_, rec)) => image(
                frame,
                cols[slot + 1],
                &run.dir.join(&rec.path),
                images,
                show,
            ),
            None => frame.render_widget(
                Paragraph::new(" no sample at or before this step").style(theme.faint),
                cols[slot + 1],
            ),
        }
    }
    curves(frame, theme, p.chart, c, app.chart.log_y);
    diff(frame, theme, p.diff, c);
    footer(frame, theme, p.footer, Context::Compare);
}

/// A run's reported state (these views show no staleness).
fn reported(run: &RunView) -> Liveness {
    run.status
        .as_ref()
        .map_or(Liveness::Unknown, |s| Liveness::Reported(s.state))
}

/// Two label lines: letter, id and state; then the step shown and stars.
fn run_label(
    theme: &Theme,
    run: &RunView,
    i: usize,
    at: Option<u64>,
    step: Option<u64>,
    stars: Option<u8>,
    focus: bool,
) -> Vec<Line<'static>> {
    let mut head = theme.series_text(i).add_modifier(Modifier::BOLD);
    if focus {
        head = head.add_modifier(Modifier::REVERSED);
    }
    let state = run.status.as_ref().map_or("…", |s| s.state.as_str());
    let letter = (b'A' + i as u8) as char;
    let note = match (at, step) {
        (Some(a), Some(s)) if a < s => format!("step {a} (nearest before {s})"),
        (Some(a), _) => format!("step {a}"),
        _ => "no sample yet".into(),
    };
    vec![
        Line::from(vec![
            Span::styled(format!("{letter} {}", compare::short_name(run)), head),
            Span::raw(" "),
            Span::styled(format!("{state} "), theme.state(reported(run))),
        ]),
        Line::from(vec![
            Span::styled(note, theme.muted),
            Span::styled(
                stars.map_or(String::new(), |s| format!("  {}", "★".repeat(s as usize))),
                theme.accent,
            ),
        ]),
    ]
}

fn image(frame: &mut Frame, area: Rect, path: &std::path::Path, images: &Images, show: bool) {
    if show && area.width >= 2 && area.height >= 1 {
        images.draw(frame, area, &ImageKey::new(path, area));
    }
}

fn curves(frame: &mut Frame, theme: &Theme, area: Rect, c: &Compare, log: bool) {
    let term = c.term_name().unwrap_or_else(|| "-".into());
    let block = Block::default().borders(Borders::TOP).title(format!(
        " {term}{} across runs (m: next term) ",
        if log { ", log10" } else { "" }
    ));
    let all: Vec<&[(f64, f64)]> = c.curves.iter().map(Vec::as_slice).collect();
    let (y0, y1) = series::y_bounds(&all);
    let (x0, x1) = all
        .iter()
        .flat_map(|s| s.iter().map(|p| p.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    let (x0, x1) = if x0.is_finite() && x1 > x0 {
        (x0, x1)
    } else {
        (0.0, 1.0)
    };
    let datasets: Vec<Dataset> = c
        .curves
        .iter()
        .enumerate()
        .map(|(i, pts)| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.series_text(i))
                .data(pts)
        })
        .collect();
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .labels([format!("{x0:.0}"), format!("{x1:.0}")])
                .style(theme.faint),
        )
        .y_axis(
            Axis::default()
                .bounds([y0, y1])
                .labels([format!("{y0:.3}"), format!("{y1:.3}")])
                .style(theme.faint),
        );
    frame.render_widget(chart, area);
}

fn diff(frame: &mut Frame, theme: &Theme, area: Rect, c: &Compare) {
    let block = Block::default()
        .borders(Borders::TOP | Borders::LEFT)
        .title(" hyperparameters that differ ");
    let d = compare::config_diff(&c.runs);
    let mut lines: Vec<Line> = Vec::new();
    if c.runs.iter().any(|r| r.spec.is_none()) {
        lines.push(Line::from(Span::styled("reading specs…", theme.faint)));
    } else if d.is_empty() {
        lines.push(Line::from(Span::styled(
            "same configuration (seed and all)",
            theme.faint,
        )));
    }
    for (key, vals) in d {
        let mut spans = vec![Span::styled(format!("{key}: "), theme.muted)];
        for (i, v) in vals.iter().enumerate() {
            spans.push(Span::styled(format!("{v}  "), theme.series_text(i)));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        area,
    );
}

pub fn draw_grid(frame: &mut Frame, app: &App, size: (u16, u16), images: &Images, show: bool) {
    let Some(g) = &app.grid else { return };
    let p = layout::grid_panes(size);
    let step = g.step();
    let what = match &g.study {
        Some(s) => format!("study {s}"),
        None => "marked runs".into(),
    };
    // Candidates judged at an earlier step than the others have reached: say who holds it back.
    let behind: Vec<String> = g
        .runs
        .iter()
        .filter(|r| {
            r.samples.keys().next_back().copied() == step
                && r.status.as_ref().is_some_and(|s| !s.state.is_final())
        })
        .filter(|_| {
            g.runs
                .iter()
                .any(|o| o.samples.keys().next_back().copied() > step)
        })
        .map(|r| {
            let s = r.status.as_ref().map_or(0, |s| s.step);
            format!("{} at {s}", compare::short_name(r))
        })
        .collect();
    let what = if behind.is_empty() {
        what
    } else {
        format!("{what} · waiting for {}", behind.join(", "))
    };
    let theme = &app.theme;
    title(
        frame,
        theme,
        p.header,
        vec![Span::raw(format!(
            "best-of-{} · {what} · round {} · step {} · probe {}",
            g.runs.len(),
            g.rounds + 1,
            step.map_or("-".into(), |s| s.to_string()),
            g.probe + 1
        ))],
        format!("{} judgements in the ledger", app.ledger.len()),
    );
    side(frame, theme, p.side, g, images, show);
    for (i, cell) in p.cells.iter().enumerate() {
        let Some(run) = g.runs.get(i) else {
            let msg = match &g.study {
                Some(_) => " waiting for the next proposal…",
                None => "",
            };
            frame.render_widget(Paragraph::new(msg).style(theme.faint), *cell);
            continue;
        };
        let at = step.and_then(|s| compare::output_at(run, s, g.probe));
        let state = run.status.as_ref().map_or("…", |s| s.state.as_str());
        let progress = run
            .status
            .as_ref()
            .map_or(String::new(), |s| format!(" {}/{}", s.step, s.total_steps));
        let head = Line::from(vec![
            Span::styled(
                format!(" {} ", i + 1),
                theme.series_badge(i).add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(" {} ", compare::short_name(run))),
            Span::styled(state.to_string(), theme.state(reported(run))),
            Span::styled(progress, theme.faint),
        ]);
        frame.render_widget(Paragraph::new(head), Rect { height: 1, ..*cell });
        let body = Rect {
            y: cell.y + 1,
            height: cell.height.saturating_sub(1),
            ..*cell
        };
        match at {
            Some((_, rec)) => image(frame, body, &run.dir.join(&rec.path), images, show),
            None => frame.render_widget(Paragraph::new(" no sample yet").style(theme.faint), body),
        }
    }
    footer(frame, theme, p.footer, Context::Grid);
}

/// The input photo and the question.
fn side(frame: &mut Frame, theme: &Theme, area: Rect, g: &Grid, images: &Images, show: bool) {
    let text = vec![
        Line::from(Span::styled("Which is the worst?", theme.header)),
        Line::from(" 1-4 pick it"),
        Line::from(" s   skip (can't judge)"),
        Line::from(" =   can't tell"),
        Line::from(" u   undo"),
        Line::from(""),
        Line::from(Span::styled("input", theme.muted)),
    ];
    let h = text.len() as u16;
    frame.render_widget(Paragraph::new(text), Rect { height: h, ..area });
    let below = Rect {
        y: area.y + h,
        height: area.height.saturating_sub(h),
        ..area
    };
    if let Some((run, rec)) = g
        .runs
        .first()
        .and_then(|r| compare::input_of(r, g.probe).map(|i| (r, i)))
    {
        image(frame, below, &run.dir.join(&rec.path), images, show);
    }
}
