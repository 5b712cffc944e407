//! Screen geometry as pure functions of the terminal size, shared by the draw functions and the
//! mouse handler so a click always lands on what was drawn. The last terminal row is the footer
//! and never holds an image (sixel output there would scroll the screen).

use ratatui::layout::{Constraint, Direction, Layout, Rect};

pub const MIN_W: u16 = 80;
pub const MIN_H: u16 = 24;

pub fn too_small(size: (u16, u16)) -> bool {
    size.0 < MIN_W || size.1 < MIN_H
}

pub fn screen(size: (u16, u16)) -> Rect {
    Rect::new(0, 0, size.0, size.1)
}

/// Title row, body, footer row.
pub fn frame_rows(size: (u16, u16)) -> (Rect, Rect, Rect) {
    let s = screen(size);
    let rows = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .split(s);
    (rows[0], rows[1], rows[2])
}

/// The runs view's body: the table, and below it the GPU strip of `strip` rows (at most half
/// the body).
pub fn runs_body(size: (u16, u16), strip: u16) -> (Rect, Rect) {
    let (_, body, _) = frame_rows(size);
    let strip = strip.min(body.height / 2);
    let table = Rect {
        height: body.height - strip,
        ..body
    };
    let gpus = Rect {
        y: body.y + table.height,
        height: strip,
        ..body
    };
    (table, gpus)
}

/// The runs table's body rows (below its header line), above a GPU strip of `strip` rows.
pub fn runs_rows(size: (u16, u16), strip: u16) -> Rect {
    let (table, _) = runs_body(size, strip);
    Rect {
        y: table.y + 1,
        height: table.height.saturating_sub(1),
        ..table
    }
}

/// First visible row so that `selected` stays on screen.
pub fn runs_offset(selected: usize, height: u16) -> usize {
    selected.saturating_sub((height as usize).saturating_sub(1))
}

/// The run view's panes.
pub struct RunPanes {
    pub header: Rect,
    /// Three loss charts, and a fourth for the quality scores when the run has them.
    pub charts: Vec<Rect>,
    pub status: Rect,
    pub gallery: Rect,
    pub console: Rect,
    pub footer: Rect,
}

pub fn run_panes(size: (u16, u16), quality: bool) -> RunPanes {
    let (header, body, footer) = frame_rows(size);
    let cols =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).split(body);
    // The quality lines (scores, hatch and weave, speckle and strokes, colour-only) need two
    // rows more than a run without scores: one for their fourth line, one for the state's
    // message ("finished") above them.
    let status_h = (if quality { 10 } else { 8 }).min(cols[0].height / 3);
    let left = Layout::vertical([Constraint::Min(6), Constraint::Length(status_h)]).split(cols[0]);
    let n = if quality { 4 } else { 3 };
    let charts = Layout::default()
        .direction(Direction::Vertical)
        .constraints(vec![Constraint::Ratio(1, n); n as usize])
        .split(left[0]);
    let console_h = (cols[1].height / 4).max(4);
    let right =
        Layout::vertical([Constraint::Min(8), Constraint::Length(console_h)]).split(cols[1]);
    RunPanes {
        header,
        charts: charts.to_vec(),
        status: left[1],
        gallery: right[0],
        console: right[1],
        footer,
    }
}

/// A centred popup of at most `w` x `h` cells.
pub fn popup(size: (u16, u16), w: u16, h: u16) -> Rect {
    let s = screen(size);
    let w = w.min(s.width.saturating_sub(2));
    let h = h.min(s.height.saturating_sub(2));
    Rect::new((s.width - w) / 2, (s.height - h) / 2, w, h)
}

/// The compare view's panes: images on top (the input, then one column per run), the overlaid
/// chart and the config diff below.
pub struct ComparePanes {
    pub header: Rect,
    pub labels: Rect,
    pub images: Rect,
    pub chart: Rect,
    pub diff: Rect,
    pub footer: Rect,
}

pub fn compare_panes(size: (u16, u16)) -> ComparePanes {
    let (header, body, footer) = frame_rows(size);
    let rows = Layout::vertical([
        Constraint::Length(2),
        Constraint::Percentage(58),
        Constraint::Min(6),
    ])
    .split(body);
    let bottom =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).split(rows[2]);
    ComparePanes {
        header,
        labels: rows[0],
        images: rows[1],
        chart: bottom[0],
        diff: bottom[1],
        footer,
    }
}

/// `n` equal columns of `area`.
pub fn columns(area: Rect, n: usize) -> Vec<Rect> {
    let n = n.max(1) as u32;
    Layout::horizontal(vec![Constraint::Ratio(1, n); n as usize])
        .split(area)
        .to_vec()
}

/// The best-of-k grid: the input photo on the left, the candidates in a 2x2 grid (label row +
/// image per cell).
pub struct GridPanes {
    pub header: Rect,
    pub side: Rect,
    pub cells: [Rect; 4],
    pub footer: Rect,
}

pub fn grid_panes(size: (u16, u16)) -> GridPanes {
    let (header, body, footer) = frame_rows(size);
    let cols =
        Layout::horizontal([Constraint::Percentage(22), Constraint::Percentage(78)]).split(body);
    let rows = Layout::vertical([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).split(cols[1]);
    let top = Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).split(rows[0]);
    let bot = Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).split(rows[1]);
    GridPanes {
        header,
        side: cols[0],
        cells: [top[0], top[1], bot[0], bot[1]],
        footer,
    }
}

/// The run view's gallery inside its top border: a label row and three big images (input,
/// output or the look preview, the critic's map), a caption, the thumbnails.
pub struct GalleryPanes {
    pub inner: Rect,
    pub labels: [Rect; 3],
    pub big: [Rect; 3],
    pub caption: Rect,
    pub thumbs: Rect,
}

pub fn gallery_panes(gallery: Rect) -> GalleryPanes {
    let inner = Rect {
        y: gallery.y + 1.min(gallery.height),
        height: gallery.height.saturating_sub(1),
        ..gallery
    };
    let rows = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(62),
        Constraint::Length(1),
        Constraint::Min(3),
    ])
    .split(inner);
    let thirds = |r: Rect| {
        let c = Layout::horizontal([Constraint::Ratio(1, 3); 3]).split(r);
        [c[0], c[1], c[2]]
    };
    GalleryPanes {
        inner,
        labels: thirds(rows[0]),
        big: thirds(rows[1]),
        caption: rows[2],
        thumbs: rows[3],
    }
}

/// Rows under the look preview for its settings (a narrow column wraps them).
pub const LOOK_SETTINGS: u16 = 3;

/// The look preview's image: the output column above its settings.
pub fn look_image(big: Rect) -> Rect {
    Rect {
        height: big.height.saturating_sub(LOOK_SETTINGS),
        ..big
    }
}

/// The look grid over the gallery's inner area: a heading row, then `n` cells in the squarest
/// grid, each a label row and an image.
pub fn look_grid(inner: Rect, n: usize) -> (Rect, Vec<Rect>) {
    let head = Rect {
        height: 1.min(inner.height),
        ..inner
    };
    let body = Rect {
        y: inner.y + head.height,
        height: inner.height - head.height,
        ..inner
    };
    let n = n.max(1);
    let cols = (1..=n).find(|c| c * c >= n).unwrap_or(n);
    let rows = n.div_ceil(cols);
    let row_areas = Layout::vertical(vec![Constraint::Ratio(1, rows as u32); rows]).split(body);
    let cells = (0..n)
        .map(|i| {
            let r = row_areas[i / cols];
            Layout::horizontal(vec![Constraint::Ratio(1, cols as u32); cols]).split(r)[i % cols]
        })
        .collect();
    (head, cells)
}

/// A grid cell's image, below its label row.
pub fn below_label(cell: Rect) -> Rect {
    Rect {
        y: cell.y + 1.min(cell.height),
        height: cell.height.saturating_sub(1),
        ..cell
    }
}
