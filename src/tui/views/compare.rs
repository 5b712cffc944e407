//! The compare view and the best-of-k grid: several runs' outputs of one probe at the same step
//! (each run's nearest sample at or before it), the input alongside; for compare also one loss
//! term overlaid across the runs and the hyperparameters that differ, the A/B flip, the wipe (A
//! and B in one image, split at a movable line), the difference heat map with its scale, and the
//! zoom (every image cut to one region). The image row's columns are `Compare::columns`. With
//! the band on (`B`), a seed group's curve is its mean over a dimmed min–max band.

use super::{footer, title};
use crate::store::Liveness;
use crate::tui::app::{App, RunView};
use crate::tui::compare::{self, Compare, Grid, Panel};
use crate::tui::images::compose::heat;
use crate::tui::images::{Compose, ImageKey, Images};
use crate::tui::keys::Context;
use crate::tui::layout;
use crate::tui::series;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;
use std::path::PathBuf;

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
        modes(c),
    );
    for (panel, rect) in c.columns(p.images) {
        let label = Rect {
            y: p.labels.y,
            height: p.labels.height,
            ..rect
        };
        draw_panel(frame, app, c, panel, (label, rect), images, show);
    }
    curves(frame, theme, p.chart, c, app.chart.log_y);
    diff(frame, theme, p.diff, c);
    footer(frame, theme, p.footer, Context::Compare);
}

/// The header's right side: the A/B flip, the wipe's split and the zoom.
fn modes(c: &Compare) -> String {
    let mut parts = Vec::new();
    if let Some(i) = c.flip {
        parts.push(format!("A/B: showing {}", if i == 0 { "A" } else { "B" }));
    }
    if let (Some(at), None) = (c.wipe, c.flip) {
        parts.push(format!("wipe at {}%", at / 10));
    }
    if c.region.zoom > 1 {
        let r = c.region.clamped();
        parts.push(format!("zoom {}x at {}%,{}%", r.zoom, r.cx / 10, r.cy / 10));
    }
    parts.join(" · ")
}

/// The image of run `i`'s probe at the scrubber's step (its nearest sample at or before it).
fn output_path(c: &Compare, i: usize) -> Option<(u64, PathBuf)> {
    let run = c.runs.get(i)?;
    let (at, rec) = compare::output_at(run, c.step()?, c.probe)?;
    Some((at, run.dir.join(&rec.path)))
}

fn input_path(c: &Compare) -> Option<PathBuf> {
    let first = c.runs.first()?;
    compare::input_of(first, c.probe).map(|rec| first.dir.join(&rec.path))
}

/// One column of the image row: its two label lines and its image.
fn draw_panel(
    frame: &mut Frame,
    app: &App,
    c: &Compare,
    panel: Panel,
    (label, area): (Rect, Rect),
    images: &Images,
    show: bool,
) {
    let theme = &app.theme;
    let key = |path: PathBuf| ImageKey::new(path, area).region(c.region);
    let (lines, key): (Vec<Line>, Option<ImageKey>) = match panel {
        Panel::Input => (
            vec![Line::from(Span::styled("input", theme.muted))],
            input_path(c).map(key),
        ),
        Panel::Run(i) => {
            let run = &c.runs[i];
            let at = output_path(c, i);
            let step = at.as_ref().map(|(s, _)| *s);
            let stars = step.and_then(|s| app.ledger.stars_for(&run.id, Some(s), Some(c.probe)));
            let lines = run_label(theme, run, i, step, c.step(), stars, i == c.focus);
            (lines, at.map(|(_, p)| key(p)))
        }
        Panel::Wipe(a, b) => {
            let split = c.wipe.unwrap_or(500);
            let name = |i: usize| format!("{} {}", letter(i), compare::short_name(&c.runs[i]));
            let lines = vec![
                Line::from(vec![
                    Span::styled(name(a), theme.series_text(a).add_modifier(Modifier::BOLD)),
                    Span::styled(" ◀│▶ ", theme.muted),
                    Span::styled(name(b), theme.series_text(b).add_modifier(Modifier::BOLD)),
                ]),
                Line::from(Span::styled(
                    format!("split {}% (h l or drag)", split / 10),
                    theme.muted,
                )),
            ];
            let key = match (output_path(c, a), output_path(c, b)) {
                (Some((_, pa)), Some((_, pb))) => {
                    Some(key(pa).compose(Compose::Wipe { other: pb, split }))
                }
                _ => None,
            };
            (lines, key)
        }
        Panel::Diff(a, b) => {
            let key = match (output_path(c, a), output_path(c, b)) {
                (Some((_, pa)), Some((_, pb))) => {
                    Some(key(pa).compose(Compose::Diff { other: pb }))
                }
                _ => None,
            };
            let what = format!("|{} − {}|", letter(a), letter(b));
            (
                scale_label(theme, &what, key.as_ref(), images, label.width),
                key,
            )
        }
        Panel::Change(i) => {
            let key = match (output_path(c, i), input_path(c)) {
                (Some((_, out)), Some(input)) => {
                    Some(key(out).compose(Compose::Diff { other: input }))
                }
                _ => None,
            };
            let what = format!("|{} − input|", letter(i));
            (
                scale_label(theme, &what, key.as_ref(), images, label.width),
                key,
            )
        }
    };
    frame.render_widget(Paragraph::new(lines), label);
    match key {
        Some(key) => {
            if show && area.width >= 2 && area.height >= 1 {
                images.draw(frame, area, &key);
            }
        }
        None => frame.render_widget(
            Paragraph::new(" no sample at or before this step").style(theme.faint),
            area,
        ),
    }
}

fn letter(i: usize) -> char {
    (b'A' + i as u8) as char
}

/// A difference's label: what it shows and its largest value, then a colour bar from 0 to it.
fn scale_label(
    theme: &Theme,
    what: &str,
    key: Option<&ImageKey>,
    images: &Images,
    width: u16,
) -> Vec<Line<'static>> {
    let max = key.and_then(|k| images.stat(k));
    let head = match max {
        Some(m) => format!("{what} · max |Δ| = {m:.2}"),
        None => what.to_string(),
    };
    let Some(max) = max else {
        return vec![Line::from(Span::styled(head, theme.muted))];
    };
    let right = format!(" {max:.2}");
    let n = (width as usize)
        .saturating_sub(right.len() + 2)
        .clamp(1, 24);
    let mut bar = vec![Span::styled("0 ", theme.faint)];
    bar.extend((0..n).map(|j| {
        let [r, g, b] = heat(j as f32 / (n - 1).max(1) as f32);
        Span::styled(" ", Style::default().bg(Color::Rgb(r, g, b)))
    }));
    bar.push(Span::styled(right, theme.faint));
    vec![Line::from(Span::styled(head, theme.muted)), Line::from(bar)]
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
    let letter = letter(i);
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
    let banded = if c.bands.iter().any(|b| !b.is_empty()) {
        ", seed groups: mean and min–max band"
    } else {
        ""
    };
    let block = Block::default().borders(Borders::TOP).title(format!(
        " {term}{}{banded} across runs (m: next term) ",
        if log { ", log10" } else { "" }
    ));
    let all: Vec<&[(f64, f64)]> = c
        .curves
        .iter()
        .chain(c.bands.iter())
        .map(Vec::as_slice)
        .collect();
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
    // A group's band first, in its run's colour dimmed, its mean line over it.
    let bands = c.bands.iter().enumerate().map(|(i, pts)| {
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(
                theme
                    .series_text(i)
                    .add_modifier(ratatui::style::Modifier::DIM),
            )
            .data(pts)
    });
    let lines = c.curves.iter().enumerate().map(|(i, pts)| {
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.series_text(i))
            .data(pts)
    });
    let datasets: Vec<Dataset> = bands.chain(lines).collect();
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
