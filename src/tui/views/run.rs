//! The run view: grouped loss charts (generator, discriminator, auxiliary terms) with debiased
//! EMA smoothing over a faint raw ghost, min/max decimation to the chart width, log-Y and a step
//! cursor (with the band on and a seed group, each term's group mean over its min–max band as
//! the ghost; the chart's title says so); the status pane (state, speed, ETA, device and its GPU's strip line, live knobs,
//! unacknowledged commands); the gallery; and the console tailing `train.log`.

use super::{eta, footer, gallery, title};
use crate::eval::{ORIENTATION_MARGIN, PERIODICITY_MARGIN, SPECKLE_MARGIN};
use crate::run_dir::{Against, ScoreRecord};
use crate::store::Liveness;
use crate::terms::{Knob, Range};
use crate::tui::app::{App, ChartOpts, RunView};
use crate::tui::charts::{self, ChartData};
use crate::tui::images::Images;
use crate::tui::keys::Context;
use crate::tui::layout;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;
use std::collections::BTreeMap;

pub fn draw(frame: &mut Frame, app: &App, size: (u16, u16), images: &Images, show_images: bool) {
    let Some(run) = &app.run else { return };
    let panes = layout::run_panes(size, !run.scores.is_empty());
    let st = run.status.as_ref();
    let label = run.liveness.map_or("unknown", |l| l.label());
    let theme = &app.theme;
    title(
        frame,
        theme,
        panes.header,
        vec![
            Span::raw(format!("{}  ", run.id)),
            // The experiment, when the run has a name of its own.
            Span::styled(
                st.filter(|s| s.name != crate::run_dir::run_name(&run.id))
                    .map_or(String::new(), |s| format!("spec {}  ", s.name)),
                theme.muted,
            ),
            Span::styled(
                label.to_string(),
                theme.state(run.liveness.unwrap_or(Liveness::Unknown)),
            ),
            Span::raw(format!(
                "  step {}/{}",
                st.map_or(0, |s| s.step),
                st.map_or(0, |s| s.total_steps)
            )),
        ],
        format!("graphics: {}", app.graphics),
    );
    for (data, area) in run.charts.iter().zip(&panes.charts) {
        chart(frame, theme, *area, run, &app.chart, data);
    }
    status(frame, panes.status, app, run);
    gallery::draw(frame, theme, panes.gallery, run, images, show_images);
    console(frame, theme, panes.console, run);
    footer(frame, theme, panes.footer, Context::Run);
}

/// Rows of a chart that are not its plot: the title border and the x axis (labels and title).
const CHART_FRAME_ROWS: usize = 3;

fn chart(
    frame: &mut Frame,
    theme: &Theme,
    area: Rect,
    run: &RunView,
    opts: &ChartOpts,
    data: &ChartData,
) {
    let (name, log) = (data.group.title(), data.log);
    let (xlo, xhi) = data.x;
    let (ylo, yhi) = data.y;
    let cursor_x = run.cursor.and_then(|c| charts::x_of(run, c, opts.x_time));
    let cursor_line: Vec<(f64, f64)> = cursor_x
        .map(|x| vec![(x, ylo), (x, yhi)])
        .unwrap_or_default();
    // Without colours the ghosts would look like the lines: none then.
    let mut datasets: Vec<Dataset> = match theme.ghost {
        Some(ghost) => data
            .lines
            .iter()
            .map(|l| {
                Dataset::default()
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(Style::default().fg(ghost))
                    .data(&l.ghost)
            })
            .collect(),
        None => Vec::new(),
    };
    for line in &data.lines {
        datasets.push(
            Dataset::default()
                .name(line.term.name())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.series_text(line.index))
                .data(&line.smooth),
        );
    }
    if !cursor_line.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.accent)
                .data(&cursor_line),
        );
    }
    let fmt_y = |v: f64| {
        if log {
            format!("1e{v:.1}")
        } else {
            crate::numbers::format_loss(v)
        }
    };
    let seeds = match data.members {
        0 => String::new(),
        n => format!(", mean of {n} seeds, band min–max"),
    };
    // Each term's name in its line's colour: the title carries the key when the legend box
    // would not fit (ratatui hides it then) and beside the cursor's values.
    let named = |t: crate::terms::Term| -> Style {
        data.lines
            .iter()
            .find(|l| l.term == t)
            .map_or(Style::default(), |l| theme.series_text(l.index))
    };
    // ratatui's legend box: a row per line and a border, inside the plot's height, and the
    // widest name, its marker and a border inside a third of the width.
    let widest = data
        .lines
        .iter()
        .map(|l| l.term.name().len())
        .max()
        .unwrap_or(0);
    let legend_fits = data.lines.len() + 2 + CHART_FRAME_ROWS <= area.height as usize
        && widest + 4 <= area.width as usize / 3;
    let mut heading: Vec<Span> = vec![Span::raw(format!(
        " {name}{}{seeds}",
        if log { " (log)" } else { "" }
    ))];
    if let Some(m) = run.cursor.and_then(|c| run.metrics.get(c)) {
        heading = vec![Span::raw(format!(" {name} @ step {}:", m.step))];
        for t in data.group.terms() {
            if let Some(v) = m.losses.get(t.name()) {
                heading.push(Span::raw(" "));
                heading.push(Span::styled(t.name(), named(t)));
                heading.push(Span::raw(format!(" {}", crate::numbers::format_loss(*v))));
            }
        }
    } else if !legend_fits {
        heading.push(Span::raw(":"));
        for line in &data.lines {
            heading.push(Span::raw(" "));
            heading.push(Span::styled(line.term.name(), named(line.term)));
        }
    }
    heading.push(Span::raw(" "));
    let x_title = if opts.x_time { "hours" } else { "step" };
    let chart = Chart::new(datasets)
        .hidden_legend_constraints((
            ratatui::layout::Constraint::Ratio(1, 3),
            // The quality chart's four terms need the height when four charts share the column.
            ratatui::layout::Constraint::Ratio(1, 1),
        ))
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(Line::from(heading)),
        )
        .x_axis(
            Axis::default()
                .title(x_title)
                .bounds([xlo, xhi])
                .labels([format!("{xlo:.0}"), format!("{xhi:.0}")])
                .style(theme.faint),
        )
        .y_axis(
            Axis::default()
                .bounds([ylo, yhi])
                .labels([fmt_y(ylo), fmt_y(yhi)])
                .style(theme.faint),
        );
    if data.lines.is_empty() {
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
    let dim = app.theme.faint;
    if let Some(s) = &run.status {
        lines.push(Line::from(vec![
            Span::styled("speed ", dim),
            Span::raw(
                s.images_per_s
                    .map_or("-".into(), |v| format!("{v:.1} img/s")),
            ),
            Span::styled("  eta ", dim),
            Span::raw(
                if s.state.is_final() || s.state == crate::run_dir::RunState::Paused {
                    "-".into()
                } else {
                    eta(s.eta_secs)
                },
            ),
            Span::styled("  on ", dim),
            // An imported run has a backend name ("imported") and no device.
            Span::raw(if s.device.is_empty() {
                s.backend.clone()
            } else {
                format!("{} ({})", s.backend, s.device)
            }),
        ]));
        // Its GPU's strip line, when NVML lists the trainer among a GPU's processes.
        if let Some(g) = (s.host == crate::store::hostname())
            .then(|| app.gpus.of_process(s.pid))
            .flatten()
        {
            lines.push(super::gpus::line(
                &app.theme, g, &app.gpus, &app.runs, app.now,
            ));
        }
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
            // The probes are the averaged generator's (`train.ema`): say so.
            Span::styled(
                if spec.train.ema > 0.0 {
                    format!("  probes: G averaged ({})", spec.train.ema)
                } else {
                    String::new()
                },
                dim,
            ),
        ]));
    }
    lines.extend(knob_lines(&run.knobs(), dim));
    // The last sample step's scores, averaged over its probes.
    let last = run.scores.last().and_then(|last| {
        let at: Vec<&ScoreRecord> = run.scores.iter().filter(|r| r.step == last.step).collect();
        ScoreRecord::mean(&at)
    });
    if let Some(m) = last {
        let mut first = vec![
            Span::styled(format!("quality @{} ", m.step), dim),
            Span::raw(format!(
                "ssim {:.2}  style {:+.2}  texture {:+.2}",
                m.ssim, m.style_gain, m.texture_gain
            )),
        ];
        // Fine detail against the painting's (says whether a texture miss is too little or too
        // much; absent in runs scored before it existed).
        if let Some(e) = m.texture_energy {
            first.push(Span::styled("  detail ", dim));
            first.push(Span::raw(format!("{e:.2}x")));
        }
        lines.push(Line::from(first));
        // Orientation coherence and periodicity: a hatch or a weave shows as the output's well
        // above the photo's and the painting's (accented when over the larger by the margin);
        // then the colour speckle (accented the same way) and the local stroke coherence (read
        // against the painting's: strokes, or dabs). The later pairs of values are in the
        // first's order (photo, painting).
        let mut named = true;
        for row in [
            [
                ("orient ", m.orientation, Some(ORIENTATION_MARGIN)),
                ("weave ", m.periodicity, Some(PERIODICITY_MARGIN)),
            ],
            [
                ("speckle ", m.speckle, Some(SPECKLE_MARGIN)),
                ("strokes ", m.coherence, None),
            ],
        ] {
            let mut spans = Vec::new();
            for (label, value, margin) in row {
                if let Some(v) = value {
                    spans.extend(against_spans(
                        label,
                        v,
                        margin,
                        named,
                        app.theme.accent,
                        dim,
                    ));
                    named = false;
                }
            }
            if !spans.is_empty() {
                lines.push(Line::from(spans));
            }
        }
        lines.push(Line::from(Span::styled(
            format!(
                "colour-only: style {:+.2}  texture {:+.2}",
                m.histogram_style_gain, m.histogram_texture_gain
            ),
            dim,
        )));
    }
    for p in &run.pending {
        let waited = app.now - p.sent;
        lines.push(Line::from(Span::styled(
            format!(
                "waiting for the trainer to acknowledge: {} ({waited:.0}s)",
                p.label
            ),
            app.theme.accent,
        )));
    }
    if let Some(last) = run
        .events
        .iter()
        .rev()
        .find(|e| e.kind == "ack" || e.kind == "rejected")
    {
        let style = if last.kind == "ack" {
            app.theme.good
        } else {
            app.theme.bad
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

/// `label` and the probes' mean output value (accented when more than `margin` above the larger
/// of the photo's and the painting's means), then those two, `named` or in that order.
fn against_spans(
    label: &'static str,
    v: Against,
    margin: Option<f64>,
    named: bool,
    accent: Style,
    dim: Style,
) -> Vec<Span<'static>> {
    let Against {
        output: out,
        photo,
        style,
    } = v;
    vec![
        Span::styled(label, dim),
        Span::styled(
            format!("{out:.2}"),
            if margin.is_some_and(|m| out > photo.max(style) + m) {
                accent
            } else {
                Style::default()
            },
        ),
        Span::styled(
            if named {
                format!(" (photo {photo:.2}, painting {style:.2})  ")
            } else {
                format!(" ({photo:.2}, {style:.2})  ")
            },
            dim,
        ),
    ]
}

/// The characters of weight names the "off:" list spells out before it counts the rest: the
/// learning rate's line then fits the half-width status panel.
const OFF_NAMES: usize = 36;

/// The live knobs in two short lines: the loss weights in use (the ones at zero named once, as
/// "off"), then the learning rates (one number when generator and critic share it).
fn knob_lines(knobs: &BTreeMap<Knob, f64>, dim: Style) -> Vec<Line<'static>> {
    let short = |k: &Knob| {
        let k = k.key().rsplit('.').next().unwrap_or_default();
        k.trim_end_matches("_weight").to_string()
    };
    // By key, so the line reads alphabetically whatever the table's order.
    let mut weights: Vec<(&Knob, &f64)> = knobs
        .iter()
        .filter(|(k, _)| k.range() == Range::Weight)
        .collect();
    weights.sort_by_key(|(k, _)| k.key());
    let weights = weights.into_iter();
    let on: Vec<String> = weights
        .clone()
        .filter(|(_, v)| **v != 0.0)
        .map(|(k, v)| format!("{}={}", short(k), compact(*v)))
        .collect();
    let off: Vec<String> = weights
        .filter(|(_, v)| **v == 0.0)
        .map(|(k, _)| short(k))
        .collect();
    let first = vec![Span::styled("knobs ", dim), Span::raw(on.join("  "))];
    // The weights that are off go after the learning rate, the shorter line, so that neither
    // wraps in the half-width status panel as the knob table grows.
    // Past a few names the rest are counted, not named (the knob table keeps growing).
    let off = (!off.is_empty()).then(|| {
        let mut named = String::new();
        let mut shown = 0;
        for name in &off {
            if !named.is_empty() && named.len() + 1 + name.len() > OFF_NAMES {
                break;
            }
            if !named.is_empty() {
                named.push(' ');
            }
            named.push_str(name);
            shown += 1;
        }
        if shown < off.len() {
            named.push_str(&format!(" +{}", off.len() - shown));
        }
        Span::styled(format!("  off: {named}"), dim)
    });
    let (g, d) = (knobs.get(&Knob::LrG), knobs.get(&Knob::LrD));
    let lr = match (g, d) {
        (Some(g), Some(d)) if g == d => compact(*g),
        (Some(g), Some(d)) => format!("G {}  D {}", compact(*g), compact(*d)),
        _ => return vec![Line::from(first.into_iter().chain(off).collect::<Vec<_>>())],
    };
    let second = vec![Span::styled("lr ", dim), Span::raw(lr)];
    vec![
        Line::from(first),
        Line::from(second.into_iter().chain(off).collect::<Vec<_>>()),
    ]
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

fn console(frame: &mut Frame, theme: &Theme, area: Rect, run: &RunView) {
    let h = area.height.saturating_sub(1) as usize;
    let lines: Vec<Line> = run
        .log
        .iter()
        .skip(run.log.len().saturating_sub(h))
        .map(|l| Line::from(l.clone()))
        .collect();
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.muted)
            .block(Block::default().borders(Borders::TOP).title(" train.log ")),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accented(v: Against, margin: Option<f64>) -> bool {
        let accent = Style::default().fg(ratatui::style::Color::Red);
        against_spans("m ", v, margin, true, accent, Style::default())[1].style == accent
    }

    #[test]
    fn a_measure_is_flagged_only_over_both_references_by_its_margin() {
        let v = |output| Against {
            output,
            photo: 0.1,
            style: 0.38,
        };
        // The speckle's margin: the painting's 0.38 plus 0.3.
        assert!(accented(v(1.2), Some(SPECKLE_MARGIN)));
        assert!(!accented(v(0.6), Some(SPECKLE_MARGIN)));
        // Stroke coherence has no margin: it is read against the painting, never flagged.
        assert!(!accented(v(5.0), None));
    }
}
