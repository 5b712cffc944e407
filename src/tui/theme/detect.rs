//! Which palette the dashboard starts with. The setting (`--theme`, else `ATELIER_THEME`) wins
//! when it says light or dark; otherwise `NO_COLOR` (set and not empty) means no colours; otherwise
//! the terminal's background decides: its answer to the OSC 11 question, then `COLORFGBG` (rxvt,
//! Konsole), then dark. The question rides along with the graphics query
//! (`images::make_picker`: one write, one read, ended by the terminal's status report); ratatui-image
//! drops the answers when the terminal does not tell its cell size (xterm without
//! `allowWindowOps`, a detached tmux), and then [`ask_background`] asks on its own right after
//! (terminal-colorsaurus: OSC 11 followed by DA1, which every terminal answers, so a terminal
//! without OSC 11 costs one round trip, and a silent one at most [`TIMEOUT`]). Both run before the
//! input thread starts. Everything here but [`Env::from_process`] and [`ask_background`] is pure,
//! so the precedence is unit-tested.

use super::{is_light, Kind, Theme};
use std::time::Duration;

/// The longest the separate background question may delay the first frame.
pub const TIMEOUT: Duration = Duration::from_millis(90);

/// The terminal's background colour (OSC 11) through `/dev/tty`, or `None` when it does not say
/// within [`TIMEOUT`] (or `TERM` is dumb or screen, which cannot answer reliably). Call it only
/// before anything else reads terminal input.
pub fn ask_background() -> Option<(u8, u8, u8)> {
    let mut options = terminal_colorsaurus::QueryOptions::default();
    options.timeout = TIMEOUT;
    terminal_colorsaurus::background_color(options)
        .ok()
        .map(|c| c.scale_to_8bit())
}

/// `--theme` and `ATELIER_THEME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ThemeChoice {
    /// Ask the terminal for its background (then COLORFGBG, then dark).
    Auto,
    Light,
    Dark,
}

/// The environment variables that choose a theme.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    pub atelier_theme: Option<String>,
    pub no_color: Option<String>,
    pub colorfgbg: Option<String>,
}

impl Env {
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned());
        Env {
            atelier_theme: var("ATELIER_THEME"),
            no_color: var("NO_COLOR"),
            colorfgbg: var("COLORFGBG"),
        }
    }
}

/// The palette chosen and why (shown at the foot of the help).
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub theme: Theme,
    pub why: String,
}

/// The setting: the flag, else a readable `ATELIER_THEME`; an unreadable one is reported.
fn setting(flag: Option<ThemeChoice>, env: &Env) -> (Option<ThemeChoice>, Option<String>) {
    if flag.is_some() {
        return (flag, None);
    }
    let Some(value) = env
        .atelier_theme
        .as_deref()
        .filter(|v| !v.trim().is_empty())
    else {
        return (None, None);
    };
    match <ThemeChoice as clap::ValueEnum>::from_str(value.trim(), true) {
        Ok(c) => (Some(c), None),
        Err(_) => (
            None,
            Some(format!(
                "ATELIER_THEME={value:?} is not auto, light or dark; "
            )),
        ),
    }
}

/// Whether [`choose`] would use the terminal's answer (the query is only sent then).
pub fn needs_query(flag: Option<ThemeChoice>, env: &Env) -> bool {
    match setting(flag, env).0 {
        Some(ThemeChoice::Light | ThemeChoice::Dark) => false,
        _ => !no_color(env),
    }
}

fn no_color(env: &Env) -> bool {
    env.no_color.as_deref().is_some_and(|v| !v.is_empty())
}

/// The theme for a setting, the environment and the terminal's answer to OSC 11 (if any).
pub fn choose(flag: Option<ThemeChoice>, env: &Env, background: Option<(u8, u8, u8)>) -> Chosen {
    let (setting, warning) = setting(flag, env);
    let chosen = |kind: Kind, why: String| Chosen {
        theme: Theme::of(kind),
        why: format!("{}{why}", warning.clone().unwrap_or_default()),
    };
    let by = if flag.is_some() {
        "--theme"
    } else {
        "ATELIER_THEME"
    };
    match setting {
        Some(ThemeChoice::Light) => return chosen(Kind::Light, format!("light, set by {by}")),
        Some(ThemeChoice::Dark) => return chosen(Kind::Dark, format!("dark, set by {by}")),
        Some(ThemeChoice::Auto) | None => {}
    }
    if no_color(env) {
        return chosen(Kind::Mono, "no colour, as NO_COLOR asks".into());
    }
    if let Some(bg) = background {
        let kind = if is_light(bg) {
            Kind::Light
        } else {
            Kind::Dark
        };
        let (r, g, b) = bg;
        return chosen(
            kind,
            format!(
                "{}, for the terminal's background #{r:02x}{g:02x}{b:02x} (OSC 11)",
                kind.name()
            ),
        );
    }
    if let Some(light) = env.colorfgbg.as_deref().and_then(colorfgbg_is_light) {
        let kind = if light { Kind::Light } else { Kind::Dark };
        return chosen(kind, format!("{}, from COLORFGBG", kind.name()));
    }
    chosen(
        Kind::Dark,
        "dark: the terminal did not say its background".into(),
    )
}

/// `COLORFGBG` is "fg;bg" (or "fg;default;bg") in ANSI colour numbers: the last field is the
/// background. 7 and 9–15 are light, 0–6 and 8 dark; anything else says nothing.
pub fn colorfgbg_is_light(value: &str) -> Option<bool> {
    let bg: u8 = value.rsplit(';').next()?.trim().parse().ok()?;
    match bg {
        0..=6 | 8 => Some(false),
        7 | 9..=15 => Some(true),
        _ => None,
    }
}
