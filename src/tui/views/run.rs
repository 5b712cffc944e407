//! The run view: grouped loss charts (generator, discriminator, auxiliary terms) with debiased
//! EMA smoothing over a faint raw ghost, min/max decimation to the chart width, log-Y and a step
//! cursor; the status pane (state, speed, ETA, device, live knobs, unacknowledged commands); the
//! gallery; and the console tailing `train.log`.

use super::{eta, footer, gallery, state_style, title};
use crate::tui::app::{App, ChartOpts, RunView};
use crate::tui::images::Images;
use crate::tui::layout;
use crate::tui::series;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;

/// Chart groups: title and the loss terms it may hold.
pub const GROUPS: [(&str, &[&str]); 3] = [
    ("generator", &["g_adv", "g_total"]),
    (
        "discriminator",
        &["d_real", "d_fake", "d_total", "d_a", "d_b"],
    ),
    (
        "auxiliary",
        &[
            "content", "style", "tv", "cycle_a", "cycle_b", "idt_a", "idt_b",
        ],
    ),
];
const COLORS: [Color; 7] = [
    Color::Cyan,
    Color::Magenta,
    Color::Yellow,
    Color::Green,
    Color::LightRed,
    Color::LightBlue,
    Color::White,
];

pub fn draw(frame: &mut Frame, app: &App, size: (u16, u16), images: &Images, show_images: bool) {
    let panes = layout::run_panes(size);
    let Some(run) = &app.run else { return };
    let st = run.status.as_ref();
    let label = run.liveness.map_or("unknown", |l| l.label());
    title(
        frame,
        panes.header,
        vec![
            Span::raw(format!("{}  ", run.id)),
            Span::styled(label.to_string(), state_style(label)),
            Span::raw(format!(
                "  step {}/{}",
                st.map_or(0, |s| s.step),
                st.map_or(0, |s| s.total_steps)
            )),
        ],
        format!("graphics: {}", app.graphics),
    );
    for (i, (name, terms)) in GROUPS.iter().enumerate() {
        // Auxiliary terms differ by orders of magnitude: always log scale.
        let log = app.chart.log_y || i == 2;
        chart(frame, panes.charts[i], run, &app.chart, name, terms, log);
    }
    status(frame, panes.status, app, run);
    gallery::draw(frame, panes.gallery, run, images, show_images);
    console(frame, panes.console, run);
    footer(
        frame,
        panes.footer,
        &[
            ("Esc", "back"),
            ("[ ]", "step"),
            ("↑↓", "probe"),
            ("← →", "cursor"),
            ("p", "pause"),
            ("s", "stop"),
            ("w/W e/E a/A", "knobs"),
            ("?", "help"),
        ],
    );
}

/// (x, y) points of one term, x = step or hours since the first row.
fn points(run: &RunView, term: &str, x_time: bool) -> Vec<(f64, f64)> {
    let t0 = run.metrics.first().map_or(0.0, |m| m.time);
    run.metrics
        .iter()
        .filter_map(|m| {
            m.losses.get(term).map(|v| {
                (
                    if x_time {
                        (m.time - t0) / 3600.0
                    } else {
                        m.step as f64
                    },
                    *v,
                )
            })
        })
        .collect()
}

fn chart(
    frame: &mut Frame,
    area: Rect,
    run: &RunView,
    opts: &ChartOpts,
    name: &str,
    terms: &[&str],
    log: bool,
) {
    let buckets = (area.width as usize).saturating_sub(10).max(10) * 2;
    let mut ghosts = Vec::new();
    let mut smooth = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        let mut raw = points(run, term, opts.x_time);
        if raw.is_empty() {
            continue;
        }
        if log {
            raw = series::log10_points(&raw);
        }
        let sm = series::ema_debiased(&raw, opts.smoothing);
        ghosts.push(series::decimate_minmax(&raw, buckets));
        smooth.push((
            *term,
            COLORS[i % COLORS.len()],
            series::decimate_minmax(&sm, buckets),
        ));
    }
    let all: Vec<&[(f64, f64)]> = ghosts.iter().map(|g| g.as_slice()).collect();
    let (ylo, yhi) = series::y_bounds(&all);
    let (xlo, xhi) = all
        .iter()
        .flat_map(|s| s.iter())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let (xlo, xhi) = match (xlo.is_finite(), xhi > xlo) {
        (true, true) => (xlo, xhi),
        // A single logged step: centre it.
        (true, false) => (xlo - 1.0, xhi + 1.0),
        _ => (0.0, 1.0),
    };
    let cursor_x = run.cursor.and_then(|c| run.metrics.get(c)).map(|m| {
        if opts.x_time {
            (m.time - run.metrics.first().map_or(m.time, |f| f.time)) / 3600.0
        } else {
            m.step as f64
        }
    });
    let cursor_line: Vec<(f64, f64)> = cursor_x
        .map(|x| vec![(x, ylo), (x, yhi)])
        .unwrap_or_default();
    let mut datasets: Vec<Dataset> = ghosts
        .iter()
        .map(|g| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(Color::DarkGray))
                .data(g)
        })
        .collect();
    for (term, color, data) in &smooth {
        datasets.push(
            Dataset::default()
                .name(term.to_string())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(*color))
                .data(data),
        );
    }
    if !cursor_line.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(Color::White))
                .data(&cursor_line),
        );
    }
    let fmt_y = |v: f64| {
        if log {
            format!("1e{v:.1}")
        } else {
            crate::train::session::format_loss(v)
        }
    };
    let mut title_text = format!(" {name}{} ", if log { " (log)" } else { "" });
    if let Some(m) = run.cursor.and_then(|c| run.metrics.get(c)) {
        let vals: Vec<String> = terms
            .iter()
            .filter_map(|t| {
                m.losses
                    .get(*t)
                    .map(|v| format!("{t} {}", crate::train::session::format_loss(*v)))
            })
            .collect();
        title_text = format!(" {name} @ step {}: {} ", m.step, vals.join(" "));
    }
    let x_title = if opts.x_time { "hours" } else { "step" };
    let chart = Chart::new(datasets)
        .hidden_legend_constraints((
            ratatui::layout::Constraint::Ratio(1, 3),
            ratatui::layout::Constraint::Ratio(3, 4),
        ))
        .block(Block::default().borders(Borders::TOP).title(title_text))
        .x_axis(
            Axis::default()
                .title(x_title)
                .bounds([xlo, xhi])
                .labels([format!("{xlo:.0}"), format!("{xhi:.0}")])
                .style(Style::default().fg(Color::DarkGray)),
        )
        .y_axis(
            Axis::default()
                .bounds([ylo, yhi])
                .labels([fmt_y(ylo), fmt_y(yhi)])
                .style(Style::default().fg(Color::DarkGray)),
        );
    if smooth.is_empty() {
        frame.render_widget(
            Paragraph::new(format!(" {name}: no data yet"))
                .block(Block::default().borders(Borders::TOP)),
            area,
        );
    } else {
        frame.render_widget(chart, area);
    }
}

fn status(frame: &mut Frame, area: Rect, app: &App, run: &RunView) {
    let mut lines = Vec::new();
    let dim = Style::default().fg(Color::DarkGray);
    if let Some(s) = &run.status {
        lines.push(Line::from(vec![
            Span::styled("speed ", dim),
            Span::raw(
                s.images_per_s
                    .map_or("-".into(), |v| format!("{v:.1} img/s")),
            ),
            Span::styled("  eta ", dim),
            Span::raw(if s.state.is_final() {
                "-".into()
            } else {
                eta(s.eta_secs)
            }),
            Span::styled("  on ", dim),
            Span::raw(format!("{} ({})", s.backend, s.device)),
        ]));
        if let Some(m) = &s.message {
            lines.push(Line::from(vec![
                Span::styled("message ", dim),
                Span::raw(m.clone()),
            ]));
        }
    }
    if let Some(spec) = &run.spec {
        lines.push(Line::from(vec![
            Span::styled("model ", dim),
            Span::raw(format!(
                "G({}, {}) D({}, {}) {}px batch {}",
                spec.generator.width,
                spec.generator.blocks,
                spec.discriminator.width,
                spec.discriminator.layers,
                spec.data.image_size,
                spec.train.batch_size
            )),
        ]));
    }
    let knobs: Vec<String> = run
        .knobs()
        .iter()
        .map(|(k, v)| {
            let short = k.rsplit('.').next().unwrap_or(k);
            format!("{}={}", short.trim_end_matches("_weight"), compact(*v))
        })
        .collect();
    lines.push(Line::from(vec![
        Span::styled("knobs ", dim),
        Span::raw(knobs.join("  ")),
    ]));
    for p in &run.pending {
        let waited = app.now - p.sent;
        lines.push(Line::from(Span::styled(
            format!(
                "waiting for the trainer to acknowledge: {} ({waited:.0}s)",
                p.label
            ),
            Style::default().fg(Color::Yellow),
        )));
    }
    if let Some(last) = run
        .events
        .iter()
        .rev()
        .find(|e| e.kind == "ack" || e.kind == "rejected")
    {
        let style = if last.kind == "ack" {
            Style::default().fg(Color::Green)
        } else {
            Style::default().fg(Color::Red)
        };
        lines.push(Line::from(Span::styled(
            format!("{} at step {}: {}", last.kind, last.step, last.message),
            style,
        )));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(ratatui::widgets::Wrap { trim: true })
            .block(Block::default().borders(Borders::TOP).title(" status ")),
        area,
    );
}

/// `1e6`, `1500`, `0.001`, `2.5e-4`: short numbers for knob values.
fn compact(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        let s = format!("{v:.2e}");
        s.replace(".00e", "e").replace("0e", "e")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn console(frame: &mut Frame, area: Rect, run: &RunView) {
    let h = area.height.saturating_sub(1) as usize;
    let lines: Vec<Line> = run
        .log
        .iter()
        .skip(run.log.len().saturating_sub(h))
        .map(|l| Line::from(l.clone()))
        .collect();
    frame.render_widget(
        Paragraph::new(lines)
            .style(Style::default().fg(Color::Gray))
            .block(Block::default().borders(Borders::TOP).title(" train.log ")),
        area,
    );
}
