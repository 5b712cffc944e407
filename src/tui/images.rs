//! The dashboard's inline images: stylized outputs, inputs and heatmaps shown inside ratatui
//! layouts with the kitty, sixel or iTerm2 graphics protocol, or with unicode half-blocks when the
//! terminal offers none (via `ratatui-image`). Decoding, resizing to the cell area and protocol
//! encoding all happen on one worker thread; [`Images::draw`] only places an already-encoded image
//! into the frame, so drawing never waits on the disk or the encoder.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use image::DynamicImage;
use ratatui::layout::{Rect, Size};
use ratatui::style::Style;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use ratatui_image::errors::Errors;
use ratatui_image::picker::cap_parser::QueryStdioOptions;
use ratatui_image::picker::{Capability, Picker, ProtocolType};
use ratatui_image::protocol::{halfblocks::Halfblocks, Protocol};
use ratatui_image::{FilterType, FontSize, Image, Resize};

pub mod compose;
pub mod detect;

pub use compose::{Compose, Region};

/// How many encoded images (or errors) are kept; the least recently used go first.
const CACHE_CAP: usize = 128;
/// How often a cached file's modification time is checked (a changed file is encoded again).
const RECHECK: Duration = Duration::from_secs(1);

/// --graphics override from the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphicsMode {
    Auto,
    Kitty,
    Sixel,
    Iterm2,
    Halfblocks,
}

impl std::str::FromStr for GraphicsMode {
    type Err = String;

    /// The `--graphics` spellings (any case), through clap's `ValueEnum`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use clap::ValueEnum;
        <Self as ValueEnum>::from_str(s.trim(), true).map_err(|_| {
            let names: Vec<String> = Self::value_variants()
                .iter()
                .filter_map(|m| Some(m.to_possible_value()?.get_name().to_string()))
                .collect();
            format!("unknown graphics mode `{s}`: expected {}", names.join(", "))
        })
    }
}

/// What [`make_picker`] found: the picker set to the chosen protocol, the terminal's background
/// colour when asked and answered, and why this protocol (for the help).
pub struct Detected {
    pub picker: Picker,
    /// What the terminal query found, before [`detect::choose`]'s corrections.
    pub queried: ProtocolType,
    pub background: Option<(u8, u8, u8)>,
    pub why: String,
}

/// Query the terminal once and choose the protocol ([`detect::choose`]: the query's answer,
/// corrected for Konsole and for kitty before 0.28, or the forced mode). Never panics; falls back
/// to half-blocks when the query fails or stdin/stdout is not a terminal.
///
/// Call it once, before anything reads terminal input: the query reads the answer from stdin (and
/// waits up to 2 s for a terminal that does not answer; a kitty-graphics terminal gets a second,
/// short query, [`detect::kitty_followup`]). A forced graphics mode still queries, for the font
/// size; without an answer it assumes 10x20 pixel cells.
///
/// With `background`, the same query also asks for the terminal's background colour (OSC 11, for
/// the theme): the terminal answers it before the status report that ends the read, so it costs
/// no extra wait. ratatui-image keeps the answers only when the terminal also told its cell size;
/// `None` otherwise, and always with forced half-blocks (no query).
pub fn make_picker(mode: GraphicsMode, background: bool) -> Detected {
    let env = detect::TermEnv::from_process();
    if mode == GraphicsMode::Halfblocks {
        let choice = detect::choose(mode, ProtocolType::Halfblocks, &env, None);
        let picker = halfblock_picker();
        return Detected {
            picker,
            queried: ProtocolType::Halfblocks,
            background: None,
            why: choice.why,
        };
    }
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let options = QueryStdioOptions {
        terminal_background_color_osc: background,
        ..QueryStdioOptions::default()
    };
    let mut picker = match tty {
        true => {
            Picker::from_query_stdio_with_options(options).unwrap_or_else(|_| halfblock_picker())
        }
        false => halfblock_picker(),
    };
    let answer = picker.capabilities().iter().find_map(|c| match c {
        Capability::Background(r, g, b) => Some((*r, *g, *b)),
        _ => None,
    });
    let queried = picker.protocol_type();
    let kitty = match (queried, mode) {
        (ProtocolType::Kitty, GraphicsMode::Auto) => detect::kitty_followup(picker.tmux_detected()),
        _ => None,
    };
    let choice = detect::choose(mode, queried, &env, kitty.as_ref());
    picker.set_protocol_type(choice.protocol);
    Detected {
        picker,
        queried,
        background: answer,
        why: choice.why,
    }
}

/// A half-block picker with a fixed font size (10x20), for tests (TestBackend snapshots) - no
/// terminal I/O (inside tmux, ratatui-image still runs `tmux set -p allow-passthrough on`).
pub fn halfblock_picker() -> Picker {
    Picker::halfblocks()
}

/// Identifies one encoded image: the file (composed with another as `compose` says, cut to
/// `region`) and the cell area it was fitted to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageKey {
    pub path: PathBuf,
    pub compose: Compose,
    pub region: Region,
    pub width: u16,
    pub height: u16,
}

impl ImageKey {
    /// The key for `path` fitted into `area` (only its size matters).
    pub fn new(path: impl Into<PathBuf>, area: Rect) -> Self {
        let (width, height) = (area.width, area.height);
        Self {
            path: path.into(),
            compose: Compose::Plain,
            region: Region::default(),
            width,
            height,
        }
    }

    /// The same picture composed with another file (wipe, difference).
    pub fn compose(self, compose: Compose) -> Self {
        Self { compose, ..self }
    }

    /// The same picture cut to a region (zoom).
    pub fn region(self, region: Region) -> Self {
        Self { region, ..self }
    }

    /// The newest modification time of the files it is made of.
    fn mtime(&self) -> Option<SystemTime> {
        let first = mtime_of(&self.path);
        match self.compose.other() {
            Some(other) => first.max(mtime_of(other)),
            None => first,
        }
    }
}

/// The encoded image and, for a difference, its largest value (the heat map's scale).
type Encoded = Result<(Arc<Protocol>, Option<f32>), String>;

struct Slot {
    /// `None` until the worker has finished this key once.
    state: Option<Encoded>,
    /// Sent to the worker and not finished yet.
    queued: bool,
    /// Recency stamp for eviction and for the worker's order (most recently wanted first).
    used: u64,
    mtime: Option<SystemTime>,
    checked: Instant,
}

#[derive(Default)]
struct Cache {
    slots: HashMap<ImageKey, Slot>,
    tick: u64,
}

fn lock(cache: &Mutex<Cache>) -> MutexGuard<'_, Cache> {
    cache.lock().unwrap_or_else(PoisonError::into_inner)
}

fn mtime_of(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Encodes images on a background thread and keeps the results.
///
/// Everything takes `&self` (the cache sits behind a mutex), so it can be called from draw code.
/// Dropping it closes the job channel; the worker finishes at most the image in hand and exits.
pub struct Images {
    cache: Arc<Mutex<Cache>>,
    jobs: Sender<ImageKey>,
    protocol: ProtocolType,
    /// The picker's pixels per cell.
    font: (u16, u16),
    /// Style of the messages drawn in place of an image ("loading…").
    note: Style,
}

impl Images {
    /// `notify` is called (from the worker thread) whenever an image finished (or failed), so the
    /// app can redraw.
    pub fn new(picker: Picker, notify: impl Fn() + Send + 'static) -> Self {
        let cache = Arc::new(Mutex::new(Cache::default()));
        let (jobs, rx) = mpsc::channel();
        let protocol = picker.protocol_type();
        let font = picker.font_size();
        let shared = Arc::clone(&cache);
        // If the thread cannot start, `rx` is dropped and every request fails with a message.
        let _ = std::thread::Builder::new()
            .name("images".into())
            .spawn(move || worker(&picker, &rx, &shared, &notify));
        Self {
            cache,
            jobs,
            protocol,
            // Half blocks show 1x2 pixels a cell; 4x that keeps a look's strokes near the
            // scale of the full-size image.
            font: if protocol == ProtocolType::Halfblocks {
                (4, 8)
            } else {
                (font.width.max(1), font.height.max(1))
            },
            note: crate::tui::theme::Theme::default().faint,
        }
    }

    /// Draw the messages in place of images ("loading…") in `style` (the theme's faint text).
    pub fn with_note_style(mut self, style: Style) -> Self {
        self.note = style;
        self
    }

    /// Ask for `path` fitted into `width`x`height` cells. Cheap and idempotent, takes `&self` and
    /// never blocks on work: queues a job only if the key is neither cached nor queued, or if its
    /// file's modification time changed (checked at most once a second). [`Images::draw`] calls
    /// it too, so calling it directly is only needed to prefetch.
    pub fn request(&self, key: ImageKey) {
        self.touch(&key);
    }

    fn touch(&self, key: &ImageKey) {
        if key.width == 0 || key.height == 0 {
            return;
        }
        let mut cache = lock(&self.cache);
        cache.tick += 1;
        let tick = cache.tick;
        let send = match cache.slots.get_mut(key) {
            Some(slot) => {
                slot.used = tick;
                let due = !slot.queued && slot.checked.elapsed() >= RECHECK;
                if due {
                    slot.checked = Instant::now();
                }
                due && key.mtime() != slot.mtime
            }
            None => {
                let (state, mtime, checked) = (None, None, Instant::now());
                let slot = Slot {
                    state,
                    queued: false,
                    used: tick,
                    mtime,
                    checked,
                };
                cache.slots.insert(key.clone(), slot);
                if cache.slots.len() > CACHE_CAP {
                    let oldest = cache.slots.iter().min_by_key(|(_, s)| s.used);
                    if let Some(old) = oldest.map(|(k, _)| k.clone()) {
                        cache.slots.remove(&old);
                    }
                }
                true
            }
        };
        if let (true, Some(slot)) = (send, cache.slots.get_mut(key)) {
            slot.queued = self.jobs.send(key.clone()).is_ok();
            if !slot.queued {
                slot.state = Some(Err("image worker stopped".into()));
            }
        }
    }

    /// Whether `key` has been encoded (or has failed) and is not being encoded again.
    pub fn is_ready(&self, key: &ImageKey) -> bool {
        let cache = lock(&self.cache);
        cache
            .slots
            .get(key)
            .is_some_and(|s| s.state.is_some() && !s.queued)
    }

    /// Draw the image for `key`, centred in `area`, if it is ready (an [`Image`] widget of the
    /// already-encoded [`Protocol`]); otherwise a dim "loading…" or the error ("unreadable image",
    /// "missing image"). Requests the key if needed. `area` is clipped to the frame and, for real
    /// graphics, kept off the terminal's last row (a sixel there scrolls the screen). Build the key
    /// from the area you draw in: a sixel/iTerm2 image larger than `area` is not drawn.
    pub fn draw(&self, frame: &mut Frame, area: Rect, key: &ImageKey) {
        let screen = frame.area();
        let mut area = area.intersection(screen);
        if self.protocol != ProtocolType::Halfblocks {
            let last_row = screen.bottom().saturating_sub(1);
            area.height = area.height.min(last_row.saturating_sub(area.y));
        }
        if area.is_empty() || key.width == 0 || key.height == 0 {
            return;
        }
        self.touch(key);
        let state = lock(&self.cache)
            .slots
            .get(key)
            .and_then(|s| s.state.clone());
        let proto = match state {
            None => return note(frame, area, "loading…", self.note),
            Some(Err(msg)) => return note(frame, area, &msg, self.note),
            Some(Ok((proto, _))) => proto,
        };
        let Size { width, height } = proto.size();
        let fits = width <= area.width && height <= area.height;
        if !fits && matches!(*proto, Protocol::Sixel(_) | Protocol::ITerm2(_)) {
            return note(frame, area, "image does not fit", self.note);
        }
        let x = area.x + area.width.saturating_sub(width) / 2;
        let y = area.y + area.height.saturating_sub(height) / 2;
        let target = Rect::new(x, y, width.min(area.width), height.min(area.height));
        frame.render_widget(Image::new(&proto).allow_clipping(true), target);
        if matches!(*proto, Protocol::Sixel(_) | Protocol::ITerm2(_)) {
            erase_under(frame, target);
        }
    }

    /// Pixels per terminal cell worth rendering: the terminal's font size for a graphics
    /// protocol, 4x half blocks' 1x2 for half blocks.
    pub fn cell_px(&self) -> (u16, u16) {
        self.font
    }

    /// The scale of a ready difference image: its largest |A − B| (0–1).
    pub fn stat(&self, key: &ImageKey) -> Option<f32> {
        let cache = lock(&self.cache);
        match cache.slots.get(key).and_then(|s| s.state.as_ref()) {
            Some(Ok((_, stat))) => *stat,
            _ => None,
        }
    }

    /// The protocol in use, for a status line: "kitty", "sixel", "iterm2", "halfblocks".
    pub fn protocol_name(&self) -> &'static str {
        match self.protocol {
            ProtocolType::Kitty => "kitty",
            ProtocolType::Sixel => "sixel",
            ProtocolType::Iterm2 => "iterm2",
            ProtocolType::Halfblocks => "halfblocks",
        }
    }
}

/// Prefix a sixel or iTerm2 image's escape (in the first cell of `area`) with an erase of `area`
/// that the terminal multiplexer itself sees. ratatui writes only that first cell and skips the
/// rest, and ratatui-image's own erase travels inside tmux's passthrough, so tmux's copy of the
/// screen would keep what those cells held before ("loading…") and show it again when it redraws
/// the pane (reattach, window switch) until the dashboard re-sends the image. Ends with the cursor
/// back on the first cell, where ratatui expects it.
fn erase_under(frame: &mut Frame, area: Rect) {
    use std::fmt::Write;
    let Some(cell) = frame.buffer_mut().cell_mut((area.x, area.y)) else {
        return;
    };
    let mut seq = String::new();
    for y in area.top()..area.bottom() {
        let _ = write!(seq, "\x1b[{};{}H\x1b[{}X", y + 1, area.x + 1, area.width);
    }
    let _ = write!(seq, "\x1b[{};{}H{}", area.y + 1, area.x + 1, cell.symbol());
    cell.set_symbol(&seq);
}

fn note(frame: &mut Frame, area: Rect, msg: &str, style: Style) {
    let text = Paragraph::new(msg).style(style);
    frame.render_widget(text.wrap(Wrap { trim: true }), area);
}

/// The worker: takes queued keys, most recently wanted first, skipping keys that were evicted or
/// dropped meanwhile. Returns when the channel closes (the `Images` was dropped).
fn worker(picker: &Picker, rx: &Receiver<ImageKey>, cache: &Mutex<Cache>, notify: &dyn Fn()) {
    let mut queue: Vec<ImageKey> = Vec::new();
    loop {
        if queue.is_empty() {
            match rx.recv() {
                Ok(key) => queue.push(key),
                Err(_) => return,
            }
        }
        loop {
            match rx.try_recv() {
                Ok(key) => queue.push(key),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        let key = {
            let cache = lock(cache);
            queue.retain(|k| cache.slots.get(k).is_some_and(|s| s.queued));
            let best = (0..queue.len()).max_by_key(|&i| cache.slots.get(&queue[i]).map(|s| s.used));
            match best {
                Some(i) => queue.swap_remove(i),
                None => continue,
            }
        };
        queue.retain(|k| *k != key);
        let mtime = key.mtime();
        let encoded = std::panic::catch_unwind(|| encode(picker, &key))
            .unwrap_or_else(|_| Err("image encoder failed".into()));
        if let Some(slot) = lock(cache).slots.get_mut(&key).filter(|s| s.queued) {
            (slot.state, slot.queued, slot.mtime) = (Some(encoded), false, mtime);
            slot.checked = Instant::now();
        }
        notify();
    }
}

fn decode(path: &Path) -> Result<DynamicImage, String> {
    let reader = image::ImageReader::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "missing image".to_string(),
        _ => format!("cannot open image: {e}"),
    })?;
    let reader = reader
        .with_guessed_format()
        .map_err(|_| "unreadable image")?;
    let img = reader.decode().map_err(|_| "unreadable image")?;
    if img.width() == 0 || img.height() == 0 {
        return Err("empty image".into());
    }
    Ok(img)
}

/// Decode `key.path` (and the file it is composed with), compose and cut it (`compose`), fit it
/// (aspect ratio kept, scaled up or down) into the key's cell area and encode it for the
/// picker's protocol. A zoomed image is scaled with nearest-neighbour, so probe pixels stay
/// sharp squares.
fn encode(picker: &Picker, key: &ImageKey) -> Encoded {
    let img = decode(&key.path)?;
    let other = key.compose.other().map(|p| decode(p)).transpose()?;
    let plain = key.compose == Compose::Plain && key.region.zoom <= 1;
    let (img, stat) = match plain {
        true => (img, None),
        false => compose::render(&img, other.as_ref(), &key.compose, key.region),
    };
    let area = Size::new(key.width, key.height);
    let filter = match key.region.zoom > 1 {
        true => FilterType::Nearest,
        false => FilterType::Triangle,
    };
    let proto = match picker.protocol_type() {
        ProtocolType::Halfblocks => halfblocks(img, picker.font_size(), area),
        _ => picker.new_protocol(img, area, Resize::Scale(Some(filter))),
    };
    proto
        .map(|p| (Arc::new(p), stat))
        .map_err(|e| format!("cannot encode image: {e}"))
}

/// Half-blocks over whole cells, rounded to the nearest cell. `Picker::new_protocol` would pad
/// the image to full cells with transparent pixels, which half-blocks draw as a black strip.
fn halfblocks(img: DynamicImage, font: FontSize, area: Size) -> Result<Protocol, Errors> {
    let (fw, fh) = (f64::from(font.width.max(1)), f64::from(font.height.max(1)));
    let (iw, ih) = (f64::from(img.width()), f64::from(img.height()));
    let scale = (f64::from(area.width) * fw / iw).min(f64::from(area.height) * fh / ih);
    let cells = |px: f64, font: f64, max: u16| ((px * scale / font).round() as u16).clamp(1, max);
    let size = Size::new(cells(iw, fw, area.width), cells(ih, fh, area.height));
    Halfblocks::new(img, size).map(Protocol::Halfblocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;
    use ratatui::{backend::TestBackend, buffer::Buffer, Terminal};
    use std::str::FromStr;

    fn key(path: impl Into<PathBuf>, width: u16, height: u16) -> ImageKey {
        ImageKey::new(path, Rect::new(0, 0, width, height))
    }

    /// A 64x32 PNG: red left half, blue right half.
    fn split_png(dir: &Path) -> PathBuf {
        let img = image::RgbImage::from_fn(64, 32, |x, _| match x < 32 {
            true => image::Rgb([230, 20, 20]),
            false => image::Rgb([20, 20, 230]),
        });
        let path = dir.join("split.png");
        img.save(&path).expect("write test png");
        path
    }

    /// Images whose notify feeds a channel, so tests can wait for the worker.
    fn images() -> (Images, Receiver<()>) {
        let (tx, rx) = mpsc::channel();
        let notify = move || tx.send(()).unwrap_or_default();
        (Images::new(halfblock_picker(), notify), rx)
    }

    fn wait(images: &Images, rx: &Receiver<()>, key: &ImageKey) {
        images.request(key.clone());
        let deadline = Instant::now() + Duration::from_secs(10);
        while !images.is_ready(key) && Instant::now() < deadline {
            let _ = rx.recv_timeout(Duration::from_millis(50));
        }
        assert!(images.is_ready(key), "image not ready after 10 s");
    }

    /// Draws `key` at (2, 1) in a 30x12 terminal; returns the buffer and its text.
    fn draw(images: &Images, key: &ImageKey) -> (Buffer, String) {
        let mut term = Terminal::new(TestBackend::new(30, 12)).expect("test terminal");
        let area = Rect::new(2, 1, key.width, key.height);
        term.draw(|f| images.draw(f, area, key)).expect("draw");
        let buf = term.backend().buffer().clone();
        let text = buf.content().iter().map(|c| c.symbol()).collect();
        (buf, text)
    }

    #[test]
    fn draws_image_colours_in_halfblocks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = key(split_png(dir.path()), 20, 10);
        let (images, rx) = images();
        assert_eq!(images.protocol_name(), "halfblocks");
        wait(&images, &rx, &key);
        let (buf, text) = draw(&images, &key);
        assert!(!text.contains("loading"));
        let rgb = |x: u16, y: u16| match (buf[(x, y)].fg, buf[(x, y)].bg) {
            (Color::Rgb(r, g, b), bg) if bg == buf[(x, y)].fg => Some((r, g, b)),
            _ => None,
        };
        // 64x32 px in 20x10 cells of 10x20 px: 20x5 cells at x 2..22, centred at y 3..8.
        for y in 3..8 {
            assert!(rgb(4, y).is_some_and(|(r, g, b)| r > 200 && g < 40 && b < 40));
            assert!(rgb(19, y).is_some_and(|(r, g, b)| b > 200 && r < 40 && g < 40));
        }
        for (x, y) in [(4, 2), (19, 8), (1, 5), (22, 5)] {
            assert_eq!(buf[(x, y)].bg, Color::Reset, "drawn outside at {x},{y}");
        }
    }

    #[test]
    fn corrupt_and_missing_files_draw_a_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("bad.png");
        std::fs::write(&bad, b"\x89PNG\r\n\x1a\nnot really a png").expect("write");
        let (images, rx) = images();
        let (bad, missing) = (key(bad, 20, 10), key(dir.path().join("nope.png"), 20, 10));
        wait(&images, &rx, &bad);
        assert!(draw(&images, &bad).1.contains("unreadable image"));
        wait(&images, &rx, &missing);
        assert!(draw(&images, &missing).1.contains("missing image"));
        // Once the file exists (new mtime), a request after the recheck delay retries.
        std::fs::rename(split_png(dir.path()), &missing.path).expect("rename");
        std::thread::sleep(RECHECK);
        images.request(missing.clone());
        wait(&images, &rx, &missing);
        assert!(!draw(&images, &missing).1.contains("missing"));
    }

    #[test]
    fn odd_areas_do_not_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (images, rx) = images();
        let (key, zero) = (key(split_png(dir.path()), 20, 10), key(dir.path(), 0, 3));
        wait(&images, &rx, &key);
        let mut term = Terminal::new(TestBackend::new(10, 4)).expect("test terminal");
        let areas = [(5, 2, 40, 40), (50, 50, 4, 4), (0, 0, 0, 0), (0, 3, 5, 5)];
        term.draw(|f| {
            for (x, y, w, h) in areas {
                images.draw(f, Rect::new(x, y, w, h), &key);
                images.draw(f, Rect::new(x, y, w, h), &zero);
            }
        })
        .expect("draw");
    }

    #[test]
    fn sixel_stays_off_the_last_row() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut picker = halfblock_picker();
        picker.set_protocol_type(ProtocolType::Sixel);
        let (tx, rx) = mpsc::channel();
        let images = Images::new(picker, move || tx.send(()).unwrap_or_default());
        assert_eq!(images.protocol_name(), "sixel");
        let path = dir.path().join("tall.png");
        image::RgbImage::new(32, 64).save(&path).expect("write png");
        // 32x64 px fill 11x11 cells of 10x20 px, and 10x10 cells.
        let (fits, tall) = (key(&path, 20, 10), key(&path, 20, 11));
        wait(&images, &rx, &fits);
        wait(&images, &rx, &tall);
        let mut term = Terminal::new(TestBackend::new(30, 12)).expect("test terminal");
        term.draw(|f| images.draw(f, Rect::new(2, 1, 20, 11), &tall))
            .expect("draw");
        let buf = term.backend().buffer();
        assert!(buf.content().iter().all(|c| !c.symbol().contains('\x1b')));
        assert!(
            buf.content().iter().any(|c| c.symbol() == "i"),
            "no 'does not fit'"
        );
        term.draw(|f| images.draw(f, Rect::new(2, 1, 20, 11), &fits))
            .expect("draw");
        let buf = term.backend().buffer();
        let row = |y: u16| (0..30).any(|x| buf[(x, y)].symbol().contains('\x1b'));
        assert!(
            (0..11).any(row) && !row(11),
            "sixel missing or on the last row"
        );
    }

    #[test]
    fn cache_is_bounded_and_drop_stops_the_worker() {
        let (images, rx) = images();
        for i in 0..(CACHE_CAP + 50) {
            images.request(key(format!("/nonexistent/{i}.png"), 4, 4));
        }
        assert!(lock(&images.cache).slots.len() <= CACHE_CAP);
        drop(images);
        // The notify closure (holding the sender) is dropped when the worker thread ends.
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Err(mpsc::RecvTimeoutError::Timeout) | Ok(()) =
            rx.recv_timeout(Duration::from_millis(100))
        {
            assert!(Instant::now() < deadline, "worker still running");
        }
    }

    #[test]
    fn graphics_mode_from_str() {
        use GraphicsMode as G;
        let modes = [("auto", G::Auto), ("kitty", G::Kitty), ("Sixel", G::Sixel)];
        for (name, mode) in modes
            .into_iter()
            .chain([("iterm2", G::Iterm2), ("halfblocks", G::Halfblocks)])
        {
            assert_eq!(G::from_str(name), Ok(mode));
        }
        let err = GraphicsMode::from_str("ascii").expect_err("ascii is no mode");
        assert!(err.contains("ascii") && err.contains("halfblocks"));
        assert!(GraphicsMode::from_str("").is_err());
    }
}
