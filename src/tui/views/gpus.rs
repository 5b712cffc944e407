//! The GPU strip: one line per GPU (index and model, utilisation, memory, power, temperature, a
//! ten-minute utilisation sparkline, and the atelier runs on it, found by matching the GPU's
//! processes against the runs' status.json pids). The runs view shows every GPU; the run view the
//! line of the GPU its trainer is on.

use crate::gpu::GpuSample;
use crate::store::RunSummary;
use crate::tui::gpus::{util_sparkline, GpuStrip};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Width of the sparkline in cells (20 s a cell).
pub const SPARK_W: usize = 30;

/// One GPU's line.
pub fn line(
    theme: &Theme,
    g: &GpuSample,
    strip: &GpuStrip,
    runs: &[RunSummary],
    now: f64,
) -> Line<'static> {
    let dim = theme.faint;
    let on: Vec<String> = crate::gpu::runs_on(g, runs)
        .iter()
        .map(|(r, _)| r.name.clone())
        .collect();
    let hot = if g.util_pct >= 50 {
        theme.running
    } else {
        theme.muted
    };
    Line::from(vec![
        Span::styled("gpu ", dim),
        Span::styled(g.summary(), hot),
        Span::raw("  "),
        Span::styled(
            util_sparkline(&strip.utilisation(g.index, now, SPARK_W)),
            theme.running,
        ),
        Span::styled(if on.is_empty() { "" } else { "  " }, dim),
        Span::raw(on.join(", ")),
    ])
}

/// Every GPU's line in `area` (as many as fit).
pub fn draw(
    frame: &mut Frame,
    theme: &Theme,
    area: Rect,
    strip: &GpuStrip,
    runs: &[RunSummary],
    now: f64,
) {
    let lines: Vec<Line> = strip
        .latest
        .iter()
        .take(area.height as usize)
        .map(|g| line(theme, g, strip, runs, now))
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}
