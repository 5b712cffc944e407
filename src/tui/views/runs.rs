//! The runs view (home): every run newest first, with state (stalled when the heartbeat stopped;
//! for Slurm runs also queued, or how Slurm ended the job), progress, speed, device (a Slurm
//! run's node, or its queue reason in parentheses), ETA, last losses with sparklines and age; `/` filters, `o`/`O` sort. Below the
//! table, the GPU strip (one line per GPU, none without NVML); the header says when a GPU is
//! present and this build cannot use it. The title shows the filter (and why the text typed is
//! not in force); the sorted column's header carries ▼ or ▲. Folded (`G`), a seed group is one
//! row: `spec ×N`, its mean texture and style gains, seeds, and the mean ± sd of its step and
//! latest losses.

use super::{age, eta, footer, sparkline, title};
use crate::run_dir::RunState;
use crate::store::Liveness;
use crate::terms::Term;
use crate::tui::app::App;
use crate::tui::filter::SortBy;
use crate::tui::keys::Context;
use crate::tui::layout;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, size: (u16, u16)) {
    let (top, _, bottom) = layout::frame_rows(size);
    let (body, strip) = layout::runs_body(size, app.gpus.height());
    super::gpus::draw(frame, &app.theme, strip, &app.gpus, &app.runs, app.now);
    let runs = app.visible_runs();
    let live = app
        .runs
        .iter()
        .filter(|r| r.state == Liveness::Reported(RunState::Running))
        .count();
    let shown = if app.active.is_empty() {
        String::new()
    } else {
        format!("{} of ", runs.len())
    };
    let mut left = vec![Span::raw(format!(
        "{shown}{} runs, {live} running",
        app.runs.len()
    ))];
    if app.filtering || !app.filter.is_empty() {
        left.push(Span::raw(format!(
            "  filter: {}{}",
            app.filter,
            if app.filtering { "▏" } else { "" }
        )));
    }
    if app.fold {
        left.push(Span::raw(format!(
            "  seed groups folded: {}",
            app.groups.list.len()
        )));
    }
    if let Some(e) = &app.filter_error {
        left.push(Span::styled(format!("  {e}"), app.theme.accent));
    }
    // The notice takes the place of the runs folder and graphics mode.
    let right = match crate::gpu::no_cuda_notice(Some(&app.gpus.latest)) {
        Some(notice) => {
            left.push(Span::styled(format!("  {notice}"), app.theme.accent));
            String::new()
        }
        None => format!("{}  graphics: {}", app.runs_dir.display(), app.graphics),
    };
    title(frame, &app.theme, top, left, right);
    if runs.is_empty() {
        let msg = if app.runs.is_empty() {
            format!("No runs in {} yet.\n\nPress n to launch an experiment (try quickstart), or ? for help.", app.runs_dir.display())
        } else {
            "No run matches the filter (Esc clears it).".to_string()
        };
        frame.render_widget(
            Paragraph::new(msg).style(app.theme.muted),
            Rect {
                y: body.y + 1,
                ..body
            },
        );
    } else {
        table(frame, app, &runs, body);
    }
    footer(frame, &app.theme, bottom, Context::Runs);
}

/// A seed group's row (folded): its size and seeds, the mean ± sd of the members' scores, latest
/// losses and step, their states, the newest update.
fn folded(app: &App, g: &crate::tui::groups::Group, mark: Span<'static>) -> Vec<Cell<'static>> {
    let members: Vec<&crate::store::RunSummary> = g
        .members
        .iter()
        .filter_map(|id| app.runs.iter().find(|r| r.id == *id))
        .collect();
    let mut name = vec![mark, Span::raw(format!("{} ×{}", g.spec, g.members.len()))];
    for (key, short) in [("texture_gain", "tex"), ("style_gain", "sty")] {
        if let Some(s) = g.stats.get(key) {
            name.push(Span::styled(
                format!(" {short} {:.2}±{:.2}", s.mean, s.sd),
                app.theme.muted,
            ));
        }
    }
    name.push(Span::styled(
        format!(" seeds {}", g.seeds.join(",")),
        app.theme.muted,
    ));
    let first = members.first().copied();
    let states: Vec<&str> = members.iter().map(|r| r.state.label()).collect();
    let state = match states.first() {
        Some(s) if states.iter().all(|t| t == s) => s.to_string(),
        _ => "mixed".into(),
    };
    let steps = crate::tui::groups::Spread::of(members.iter().map(|r| r.step as f64));
    let total = first.map_or(0, |r| r.total_steps);
    let frac = match (steps, total) {
        (Some(s), t) if t > 0 => s.mean / t as f64,
        _ => 0.0,
    };
    let filled = ((frac * 6.0).round() as usize).min(6);
    let loss = |k: &str| g.stats.get(k).map_or("-".into(), |s| s.label());
    let updated = members
        .iter()
        .map(|r| r.updated)
        .fold(f64::NEG_INFINITY, f64::max);
    vec![
        Cell::from(Line::from(name)),
        Cell::from(first.map_or(String::new(), |r| r.mode.clone())),
        Cell::from(Span::styled(
            state,
            first.map_or(Style::default(), |r| app.theme.state(r.state)),
        )),
        Cell::from(format!("{:.0}/{total}", steps.map_or(0.0, |s| s.mean))),
        Cell::from(format!("{}{}", "█".repeat(filled), "░".repeat(6 - filled))),
        Cell::from("-"),
        Cell::from(format!("{} runs", members.len())),
        Cell::from("-"),
        Cell::from(format!("{:>17}", loss("g_total"))),
        Cell::from(format!("{:>17}", loss("d_total"))),
        Cell::from(age(app.now, updated)),
    ]
}

fn table(frame: &mut Frame, app: &App, runs: &[&crate::store::RunSummary], body: Rect) {
    let rows_area = layout::runs_rows((frame.area().width, frame.area().height), app.gpus.height());
    let offset = layout::runs_offset(app.selected, rows_area.height);
    let spark_w = 7;
    let scored = app.scores.values().any(|s| s.comparisons > 0.0);
    // Slurm runs widen the state (timeout, cancelled, ...) and device (node, queue reason) columns.
    let slurm = runs.iter().any(|r| r.job.is_some());
    // (cells, style, the name cell's width) per shown row.
    let built: Vec<(Vec<Cell>, Style, usize)> = runs
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows_area.height as usize)
        .map(|(i, r)| {
            let label = r.state.label();
            let frac = if r.total_steps > 0 {
                r.step as f64 / r.total_steps as f64
            } else {
                0.0
            };
            let filled = (frac * 6.0).round() as usize;
            let bar = format!(
                "{}{}",
                "█".repeat(filled.min(6)),
                "░".repeat(6 - filled.min(6))
            );
            let loss = |k: Term| {
                r.last
                    .as_ref()
                    .and_then(|m| m.losses.get(k.name()))
                    .map_or("-".into(), |v| crate::numbers::format_loss(*v))
            };
            let style = if i == app.selected {
                app.theme.selection
            } else {
                Style::default()
            };
            let mark = match app.marks.iter().position(|m| *m == r.id) {
                Some(i) => Span::styled(
                    format!("{} ", (b'A' + i as u8) as char),
                    app.theme.series_badge(i),
                ),
                None => Span::raw("  "),
            };
            let mut name = vec![mark.clone(), Span::raw(r.name.clone())];
            // The experiment, when the run's name does not already say it (a distilled run's
            // is its parent's, named next).
            if !r.name.starts_with(r.spec.as_str()) && r.parent.is_none() {
                name.push(Span::styled(format!(" ({})", r.spec), app.theme.muted));
            }
            if let Some(p) = &r.parent {
                name.push(Span::styled(
                    format!(" ← {}", crate::run_dir::run_name(p)),
                    app.theme.muted,
                ));
            }
            for t in app.tags.get(&r.id).into_iter().flatten() {
                name.push(Span::styled(format!(" #{t}"), app.theme.tag));
            }
            let score = match app.scores.get(&r.id).filter(|s| s.comparisons > 0.0) {
                Some(s) => format!("{:+.2}±{:.2}", s.score, s.sd),
                None => "-".into(),
            };
            if let Some(g) = app.groups.of(&r.id).filter(|_| app.fold) {
                let mut cells = folded(app, g, mark);
                if scored {
                    cells.insert(1, Cell::from("-"));
                }
                return (cells, style, 0);
            }
            let name = Line::from(name);
            let name_width = name.width();
            let mut cells = vec![Cell::from(name)];
            if scored {
                cells.push(Cell::from(score));
            }
            cells.extend([
                Cell::from(r.mode.clone()),
                Cell::from(Span::styled(label.to_string(), app.theme.state(r.state))),
                Cell::from(format!("{}/{}", r.step, r.total_steps)),
                Cell::from(bar),
                Cell::from(r.images_per_s.map_or("-".into(), |v| format!("{v:.1}"))),
                Cell::from(r.place()),
                Cell::from(if label == "running" {
                    eta(r.eta_secs)
                } else {
                    "-".into()
                }),
                Cell::from(Line::from(vec![
                    Span::raw(format!("{:>9} ", loss(Term::GTotal))),
                    Span::styled(sparkline(&r.spark_g, spark_w), app.theme.series_text(0)),
                ])),
                Cell::from(Line::from(vec![
                    Span::raw(format!("{:>9} ", loss(Term::DTotal))),
                    Span::styled(sparkline(&r.spark_d, spark_w), app.theme.series_text(1)),
                ])),
                Cell::from(age(app.now, r.updated)),
            ]);
            (cells, style, name_width)
        })
        .collect();
    // The score column appears once something was judged.
    let mut names = vec!["NAME"];
    if scored {
        names.push("SCORE");
    }
    names.extend([
        "MODE", "STATE", "STEP", "PROGRESS", "IMG/S", "DEVICE", "ETA", "G LOSS", "D LOSS", "AGE",
    ]);
    // The sorted column says so (creation order, the default, has no column).
    let arrow = if app.sort.descending { "▼" } else { "▲" };
    let names: Vec<String> = names
        .into_iter()
        .map(
            |n| match n == app.sort.by.header() && app.sort.by != SortBy::Time {
                true => format!("{n}{arrow}"),
                false => n.to_string(),
            },
        )
        .collect();
    let mut widths = vec![Constraint::Min(14)];
    if scored {
        widths.push(Constraint::Length(11));
    }
    widths.extend([
        Constraint::Length(12),
        Constraint::Length(if slurm { 10 } else { 8 }),
        Constraint::Length(11),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(if slurm { 13 } else { 6 }),
        Constraint::Length(7),
        Constraint::Length(17),
        Constraint::Length(17),
        Constraint::Length(4),
    ]);
    // A narrow terminal gives the names the MODE column (its 12 cells say single_style or
    // cyclegan, which the spec's name usually says too) before it cuts a name short.
    let fixed: usize = widths
        .iter()
        .map(|w| match w {
            Constraint::Length(n) => *n as usize + 1,
            _ => 0,
        })
        .sum();
    let longest = built.iter().map(|b| b.2).max().unwrap_or(0).max(14);
    let mode = usize::from(scored) + 1;
    let drop_mode = (body.width as usize) < fixed + longest;
    let skip = drop_mode.then_some(mode);
    let rows: Vec<Row> = built
        .into_iter()
        .map(|(cells, style, _)| Row::new(without(cells, skip)).style(style))
        .collect();
    let header = Row::new(without(names, skip)).style(app.theme.header);
    let widths = without(widths, skip);
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        body,
    );
}

/// `v` less its element at `skip`.
fn without<T>(v: Vec<T>, skip: Option<usize>) -> Vec<T> {
    v.into_iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .map(|(_, x)| x)
        .collect()
}
