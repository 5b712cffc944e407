//! The dashboard's colours, declared once by meaning (header, accent, muted label, selection,
//! each run state, the chart series, the footer's key badges, the toast …) in three palettes:
//! dark, light and mono (`NO_COLOR`: no colour at all, bold and reverse video instead). Views
//! take every style from `app.theme` and never name a colour themselves.
//!
//! The palettes use the xterm 256-colour cube and grey ramp (`Color::Indexed(16..=255)`), whose
//! RGB values every 256-colour terminal shares (the 16 ANSI colours are the ones a terminal
//! theme redefines, and some terminals, macOS Terminal for years, have no 24-bit colour), so the
//! contrast of each text colour against its background is known: the unit tests compute the
//! WCAG ratio of every pair (>= 4.5:1 against two backgrounds per palette) and check that the
//! chart series (Okabe–Ito hues) stay apart under simulated colour blindness. Which palette is
//! used is decided at start-up ([`detect`]).

pub mod detect;
#[cfg(test)]
mod tests;

use crate::run_dir::RunState;
use crate::store::Liveness;
use ratatui::style::{Color, Modifier, Style};

/// Which palette a [`Theme`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dark,
    Light,
    /// `NO_COLOR`: the terminal's own colours, emphasis by bold and reverse video.
    Mono,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Dark => "dark",
            Kind::Light => "light",
            Kind::Mono => "no colour",
        }
    }
}

/// Styles by meaning. Text styles without a background are drawn on the terminal's own.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub kind: Kind,
    /// Table headers, section titles.
    pub header: Style,
    /// Highlights: the grid's question, hints, the look, pending commands.
    pub accent: Style,
    /// Secondary text: labels ("input"), descriptions, the log.
    pub muted: Style,
    /// Tertiary text: axis labels, "no sample yet", the title bar's right side.
    pub faint: Style,
    /// The raw loss behind each smoothed line (a decoration, not text); `None` draws none.
    pub ghost: Option<Color>,
    /// Key names in the help, the text typed into a prompt.
    pub key_name: Style,
    /// `#tag` after a run's name.
    pub tag: Style,
    /// The " atelier " badge of the title bar.
    pub brand: Style,
    /// A key badge in the footer.
    pub key_badge: Style,
    pub toast: Style,
    /// The selected row of a table.
    pub selection: Style,
    /// The focused field of a form.
    pub focus: Style,
    /// An acknowledged command; a rejected one or an error.
    pub good: Style,
    pub bad: Style,
    /// Run states: running, paused, finished, failed or stalled, stopped, starting or unknown.
    pub running: Style,
    pub paused: Style,
    pub finished: Style,
    pub failed: Style,
    pub stopped: Style,
    pub idle: Style,
    /// Chart lines and compared runs, in order (colour-blind-safe hues).
    pub series: [Color; 6],
    /// Text drawn on a series colour (the run badges).
    pub on_series: Color,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::dark()
    }
}

impl Theme {
    /// For dark backgrounds: the hues the dashboard always had (yellow headers, cyan badges),
    /// on the 256-colour cube.
    pub fn dark() -> Self {
        Theme::coloured(Kind::Dark)
    }

    /// For light backgrounds: the same meanings, dark enough for white and off-white.
    pub fn light() -> Self {
        Theme::coloured(Kind::Light)
    }

    /// The one declaration of both palettes: each meaning with its (dark, light) colours.
    fn coloured(kind: Kind) -> Self {
        let pick =
            |dark: u8, light: u8| Color::Indexed(if kind == Kind::Light { light } else { dark });
        let fg = |dark, light| Style::new().fg(pick(dark, light));
        let badge = |(fd, fl), (bd, bl)| Style::new().fg(pick(fd, fl)).bg(pick(bd, bl));
        let bold = Modifier::BOLD;
        Theme {
            kind,
            header: fg(184, 94).add_modifier(bold),
            accent: fg(184, 94),
            muted: fg(250, 238),
            faint: fg(246, 241),
            ghost: Some(pick(240, 250)),
            key_name: fg(80, 24),
            tag: fg(111, 25),
            brand: badge((16, 231), (44, 24)).add_modifier(bold),
            key_badge: badge((16, 16), (245, 250)),
            toast: badge((16, 16), (220, 220)),
            selection: Style::new().add_modifier(Modifier::REVERSED),
            focus: badge((16, 231), (44, 24)),
            good: fg(77, 22),
            bad: fg(203, 124),
            running: fg(77, 22),
            paused: fg(184, 94),
            finished: fg(44, 24),
            failed: fg(203, 124),
            stopped: fg(170, 90),
            idle: fg(250, 241),
            // Okabe–Ito hues on the cube. Dark: sky blue, orange, bluish green, yellow,
            // vermillion, purple. Light, darkened for white: blue, red, teal, purple, black,
            // brown (chosen for the largest distance under colour blindness).
            series: [
                (81, 19),
                (215, 52),
                (72, 23),
                (227, 90),
                (202, 232),
                (139, 94),
            ]
            .map(|(d, l)| pick(d, l)),
            on_series: pick(16, 231),
        }
    }

    /// `NO_COLOR`: no colour anywhere; emphasis by bold, badges and selection in reverse video.
    pub fn mono() -> Self {
        let plain = Style::new();
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let reverse = Style::new().add_modifier(Modifier::REVERSED);
        Theme {
            kind: Kind::Mono,
            header: bold,
            accent: bold,
            muted: plain,
            faint: plain,
            ghost: None,
            key_name: bold,
            tag: plain,
            brand: reverse.add_modifier(Modifier::BOLD),
            key_badge: reverse,
            toast: reverse,
            selection: reverse,
            focus: reverse,
            good: plain,
            bad: bold,
            running: bold,
            paused: plain,
            finished: plain,
            failed: bold,
            stopped: plain,
            idle: plain,
            series: [Color::Reset; 6],
            on_series: Color::Reset,
        }
    }

    pub fn of(kind: Kind) -> Self {
        match kind {
            Kind::Dark => Theme::dark(),
            Kind::Light => Theme::light(),
            Kind::Mono => Theme::mono(),
        }
    }

    /// The style of a run state's label.
    pub fn state(&self, state: Liveness) -> Style {
        match state {
            Liveness::Reported(RunState::Running) => self.running,
            Liveness::Reported(RunState::Paused) => self.paused,
            Liveness::Reported(RunState::Finished) => self.finished,
            Liveness::Reported(RunState::Failed) | Liveness::Stalled => self.failed,
            Liveness::Reported(RunState::Stopped) => self.stopped,
            Liveness::Reported(RunState::Starting) | Liveness::Unknown | Liveness::Queued => {
                self.idle
            }
            Liveness::Ended(_) => self.failed,
        }
    }

    /// The colour of series (chart line, compared run) `i`, cycling.
    pub fn series(&self, i: usize) -> Color {
        self.series[i % self.series.len()]
    }

    /// Text in series `i`'s colour.
    pub fn series_text(&self, i: usize) -> Style {
        Style::new().fg(self.series(i))
    }

    /// A badge on series `i`'s colour (a marked run's letter, a grid cell's number); reverse
    /// video without colours.
    pub fn series_badge(&self, i: usize) -> Style {
        match self.kind {
            Kind::Mono => self.selection,
            _ => Style::new().fg(self.on_series).bg(self.series(i)),
        }
    }

    /// Every text style with its name, for the contrast checks: (name, foreground, background;
    /// `None` is the terminal's background).
    pub fn text_pairs(&self) -> Vec<(String, Option<Color>, Option<Color>)> {
        let named = [
            ("header", self.header),
            ("accent", self.accent),
            ("muted", self.muted),
            ("faint", self.faint),
            ("key_name", self.key_name),
            ("tag", self.tag),
            ("brand", self.brand),
            ("key_badge", self.key_badge),
            ("toast", self.toast),
            ("focus", self.focus),
            ("good", self.good),
            ("bad", self.bad),
            ("running", self.running),
            ("paused", self.paused),
            ("finished", self.finished),
            ("failed", self.failed),
            ("stopped", self.stopped),
            ("idle", self.idle),
        ];
        let mut pairs: Vec<_> = named
            .into_iter()
            .map(|(n, s)| (n.to_string(), s.fg, s.bg))
            .collect();
        for i in 0..self.series.len() {
            pairs.push((format!("series {i}"), Some(self.series(i)), None));
            let b = self.series_badge(i);
            pairs.push((format!("series badge {i}"), b.fg, b.bg));
        }
        pairs
    }
}

/// The RGB value of a colour whose value every 256-colour terminal agrees on: the cube
/// (16–231), the grey ramp (232–255) and `Rgb`. The 16 ANSI colours and `Reset` depend on the
/// terminal's theme: `None`.
pub fn rgb(c: Color) -> Option<(u8, u8, u8)> {
    match c {
        Color::Rgb(r, g, b) => Some((r, g, b)),
        Color::Indexed(i @ 16..=231) => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            let i = i - 16;
            Some((level(i / 36), level(i / 6 % 6), level(i % 6)))
        }
        Color::Indexed(i @ 232..=255) => {
            let v = 8 + 10 * (i - 232);
            Some((v, v, v))
        }
        _ => None,
    }
}

/// WCAG 2 relative luminance of an sRGB colour.
pub fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

/// An sRGB channel as linear light (0 to 1).
pub fn linear(c: u8) -> f64 {
    let c = c as f64 / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// WCAG 2 contrast ratio of two colours (1 to 21).
pub fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Whether a background is light: black text on it reads better than white.
pub fn is_light(background: (u8, u8, u8)) -> bool {
    contrast(background, (0, 0, 0)) > contrast(background, (255, 255, 255))
}
