//! Which graphics protocol to use, from the terminal's answers and its environment. ratatui-image's
//! query finds kitty, sixel and the cell size; this module corrects what it gets wrong for real
//! terminals, for the dashboard and `atelier preview` alike:
//!
//! - **Konsole** (`KONSOLE_VERSION`): iTerm2. Konsole answers the kitty and sixel queries, but its
//!   sixel draws colour strips and its kitty lacks Unicode placeholders; its iTerm2 is right.
//! - **kitty before 0.28** (Debian 12 ships 0.26.5) answers the kitty query but has no Unicode
//!   placeholders (`U=1`), which ratatui-image draws with: every image would be a box of tofu.
//!   A follow-up query ([`kitty_followup`]: a `U=1` query, which 0.28+ acknowledges, and
//!   `XTVERSION`) tells them apart; an old kitty gets half blocks.
//!
//! [`choose`] is pure (tested from environments and answers); [`kitty_followup`] does the I/O and
//! must run, like the picker's query, before anything else reads the terminal.

use super::GraphicsMode;
use ratatui_image::picker::ProtocolType;
use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

/// The first kitty with Unicode placeholders.
pub const KITTY_PLACEHOLDERS: (u32, u32, u32) = (0, 28, 0);

/// The environment variables the choice reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermEnv {
    /// `KONSOLE_VERSION` (non-empty inside Konsole).
    pub konsole: Option<String>,
    /// `TERM_PROGRAM` and `TERM_PROGRAM_VERSION`.
    pub program: Option<String>,
    pub program_version: Option<String>,
    /// Inside tmux (`TMUX` set, or `TERM` tmux*).
    pub tmux: bool,
    /// Inside tmux: the terminal of the client showing the pane, as tmux learnt it from the
    /// terminal's `XTVERSION` (`#{client_termtype}`: `Konsole 22.12.3`, `XTerm(379)`). The
    /// environment inside tmux is the server's, from whichever terminal started it.
    pub outer: Option<String>,
}

impl TermEnv {
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let tmux = var("TMUX").is_some()
            || var("TERM").is_some_and(|t| t.starts_with("tmux"))
            || var("TERM_PROGRAM").is_some_and(|t| t == "tmux");
        Self {
            konsole: var("KONSOLE_VERSION"),
            program: var("TERM_PROGRAM"),
            program_version: var("TERM_PROGRAM_VERSION"),
            tmux,
            outer: tmux.then(client_termtype).flatten(),
        }
    }

    /// Konsole's version when the terminal is Konsole: inside tmux from the client's terminal
    /// type (when tmux knows it), else from `KONSOLE_VERSION`.
    fn konsole(&self) -> Option<&str> {
        match (&self.outer, self.tmux) {
            (Some(outer), true) => outer.strip_prefix("Konsole").map(str::trim),
            _ => self.konsole.as_deref(),
        }
    }

    /// kitty's version from `TERM_PROGRAM=kitty` + `TERM_PROGRAM_VERSION` (set by newer kittys).
    fn kitty_version(&self) -> Option<(u32, u32, u32)> {
        match self.program.as_deref() {
            Some(p) if p.eq_ignore_ascii_case("kitty") => {
                parse_version(self.program_version.as_deref()?)
            }
            _ => None,
        }
    }
}

/// `tmux display-message -p '#{client_termtype}'`; `None` when empty or tmux cannot be asked.
fn client_termtype() -> Option<String> {
    let out = std::process::Command::new("tmux")
        .args(["display-message", "-p", "#{client_termtype}"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// What the follow-up query to a kitty-graphics terminal found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KittyAnswer {
    /// The terminal acknowledged a query with `U=1` (Unicode placeholders).
    pub placeholders_ok: bool,
    /// `XTVERSION`'s answer, e.g. `kitty(0.26.5)` (inside tmux, tmux's own if passthrough is off).
    pub xtversion: Option<String>,
}

impl KittyAnswer {
    /// kitty's version from `XTVERSION` (`kitty(0.26.5)`), if the answer names kitty.
    pub fn kitty_version(&self) -> Option<(u32, u32, u32)> {
        let v = self.xtversion.as_deref()?;
        let rest = v.trim().strip_prefix("kitty")?;
        parse_version(rest.trim_matches(|c: char| c == '(' || c == ')' || c.is_whitespace()))
    }
}

/// `0.26.5` -> (0, 26, 5); missing parts are 0.
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.trim().split(['.', '-', '+', ' ']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// The protocol and why, for the header and the help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub protocol: ProtocolType,
    pub why: String,
}

fn name(p: ProtocolType) -> &'static str {
    match p {
        ProtocolType::Kitty => "kitty",
        ProtocolType::Sixel => "sixel",
        ProtocolType::Iterm2 => "iTerm2",
        ProtocolType::Halfblocks => "half blocks",
    }
}

/// The protocol for `mode`, given what the terminal query chose (`queried`; half blocks when the
/// terminal told no cell size), the environment and, when the query chose kitty, the follow-up's
/// answer.
pub fn choose(
    mode: GraphicsMode,
    queried: ProtocolType,
    env: &TermEnv,
    kitty: Option<&KittyAnswer>,
) -> Choice {
    let forced = match mode {
        GraphicsMode::Auto => None,
        GraphicsMode::Kitty => Some(ProtocolType::Kitty),
        GraphicsMode::Sixel => Some(ProtocolType::Sixel),
        GraphicsMode::Iterm2 => Some(ProtocolType::Iterm2),
        GraphicsMode::Halfblocks => Some(ProtocolType::Halfblocks),
    };
    if let Some(protocol) = forced {
        let why = format!("{} (--graphics)", name(protocol));
        return Choice { protocol, why };
    }
    // Konsole answers the kitty query (and `U=1`) but draws kitty images wrongly; inside a tmux
    // started elsewhere its `XTVERSION` answer is what names it.
    let konsole = env.konsole().map(str::to_string).or_else(|| {
        let v = kitty?.xtversion.as_deref()?.strip_prefix("Konsole")?;
        Some(v.trim().to_string())
    });
    if let Some(v) = konsole {
        let why = format!("iTerm2 (Konsole {v}: its sixel and kitty images are broken)");
        return Choice {
            protocol: ProtocolType::Iterm2,
            why,
        };
    }
    if queried == ProtocolType::Kitty {
        let answer = kitty.cloned().unwrap_or_default();
        let version = answer.kitty_version().or_else(|| env.kitty_version());
        let placeholders =
            answer.placeholders_ok || version.is_some_and(|v| v >= KITTY_PLACEHOLDERS);
        if placeholders {
            return Choice {
                protocol: ProtocolType::Kitty,
                why: "kitty (the terminal answered the kitty query)".into(),
            };
        }
        let which = match version {
            Some((a, b, c)) => format!("kitty {a}.{b}.{c}"),
            None => "this kitty-graphics terminal".into(),
        };
        return Choice {
            protocol: ProtocolType::Halfblocks,
            why: format!(
                "half blocks ({which} has no Unicode placeholders, which need kitty 0.28)"
            ),
        };
    }
    let why = match queried {
        ProtocolType::Sixel => "sixel (the terminal reports sixel)",
        ProtocolType::Iterm2 => "iTerm2 (from the environment)",
        ProtocolType::Halfblocks => "half blocks (no graphics protocol found)",
        ProtocolType::Kitty => unreachable!("handled above"),
    };
    Choice {
        protocol: queried,
        why: why.into(),
    }
}

/// Ask a terminal that answered the kitty graphics query whether it has Unicode placeholders:
/// a `U=1` query (acknowledged from kitty 0.28 on), `XTVERSION`, and a status report that ends
/// the read (every terminal answers it; 1 s at most otherwise). Inside tmux all three go through
/// passthrough to the outer terminal. Returns `None` when stdin/stdout is not a terminal or the
/// terminal answered nothing. Call before anything else reads stdin.
pub fn kitty_followup(tmux: bool) -> Option<KittyAnswer> {
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return None;
    }
    let (start, esc, end) = match tmux {
        true => ("\x1bPtmux;", "\x1b\x1b", "\x1b\\"),
        false => ("", "\x1b", ""),
    };
    let query =
        format!("{start}{esc}_Gi=34,s=1,v=1,a=q,t=d,f=24,U=1;AAAA{esc}\\{esc}[>q{esc}[5n{end}");
    let was_raw = crossterm::terminal::is_raw_mode_enabled().unwrap_or(false);
    crossterm::terminal::enable_raw_mode().ok()?;
    let reply = (|| {
        let mut out = std::io::stdout();
        out.write_all(query.as_bytes()).ok()?;
        out.flush().ok()?;
        Some(read_until_status(Duration::from_secs(1)))
    })();
    if !was_raw {
        let _ = crossterm::terminal::disable_raw_mode();
    }
    reply.filter(|r| !r.is_empty()).map(|r| parse_followup(&r))
}

/// Read stdin until the status report's answer (`ESC [ 0 n`) or the timeout.
fn read_until_status(timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut stdin = std::io::stdin();
    while !String::from_utf8_lossy(&got).contains("\x1b[0n") {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let mut fds = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(1);
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut fds, 1, ms) };
        if ready <= 0 {
            break;
        }
        let mut buf = [0u8; 256];
        match stdin.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Parse the follow-up's answers: `ESC _Gi=34;OK ESC \` and `ESC P >| text ESC \`.
pub fn parse_followup(reply: &str) -> KittyAnswer {
    let placeholders_ok = reply.contains("_Gi=34;OK");
    let xtversion = reply.split("\x1bP>|").nth(1).map(|rest| {
        let text = rest.split('\x1b').next().unwrap_or(rest);
        text.to_string()
    });
    KittyAnswer {
        placeholders_ok,
        xtversion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use GraphicsMode as G;
    use ProtocolType as P;

    fn env() -> TermEnv {
        TermEnv::default()
    }

    #[test]
    fn konsole_gets_iterm2_unless_forced() {
        let konsole = TermEnv {
            konsole: Some("221203".into()),
            ..env()
        };
        for queried in [P::Halfblocks, P::Sixel, P::Kitty] {
            let c = choose(G::Auto, queried, &konsole, None);
            assert_eq!(c.protocol, P::Iterm2, "{queried:?}");
            assert!(c.why.contains("Konsole 221203"), "{}", c.why);
        }
        assert_eq!(
            choose(G::Sixel, P::Halfblocks, &konsole, None).protocol,
            P::Sixel
        );
        assert_eq!(
            choose(G::Halfblocks, P::Kitty, &konsole, None).protocol,
            P::Halfblocks
        );
        // Inside a tmux server started elsewhere: no KONSOLE_VERSION, but tmux knows the client's
        // terminal, and Konsole's own XTVERSION answer names it (it acknowledges U=1 too).
        let tmux = TermEnv {
            tmux: true,
            outer: Some("Konsole 22.12.3".into()),
            ..env()
        };
        assert_eq!(choose(G::Auto, P::Kitty, &tmux, None).protocol, P::Iterm2);
        let answer = parse_followup("\x1b_Gi=34;OK\x1b\\\x1bP>|Konsole 22.12.3\x1b\\\x1b[0n");
        assert!(answer.placeholders_ok);
        let bare = TermEnv {
            tmux: true,
            ..env()
        };
        let c = choose(G::Auto, P::Kitty, &bare, Some(&answer));
        assert_eq!(c.protocol, P::Iterm2);
        assert!(c.why.contains("Konsole 22.12.3"), "{}", c.why);
        // A stale KONSOLE_VERSION in a tmux now attached from xterm does not count.
        let stale = TermEnv {
            konsole: Some("221203".into()),
            tmux: true,
            outer: Some("XTerm(379)".into()),
            ..env()
        };
        assert_eq!(choose(G::Auto, P::Sixel, &stale, None).protocol, P::Sixel);
    }

    #[test]
    fn old_kitty_never_gets_placeholders() {
        // kitty 0.26.5 (Debian 12): no OK to the U=1 query, XTVERSION says its version.
        let old = parse_followup("\x1bP>|kitty(0.26.5)\x1b\\\x1b[0n");
        assert!(!old.placeholders_ok);
        assert_eq!(old.kitty_version(), Some((0, 26, 5)));
        let c = choose(G::Auto, P::Kitty, &env(), Some(&old));
        assert_eq!(c.protocol, P::Halfblocks);
        assert!(
            c.why.contains("kitty 0.26.5") && c.why.contains("0.28"),
            "{}",
            c.why
        );
        // No answer at all: no evidence of placeholders, so none.
        assert_eq!(
            choose(G::Auto, P::Kitty, &env(), None).protocol,
            P::Halfblocks
        );
        // Forced kitty stays kitty (the user asked for it).
        assert_eq!(
            choose(G::Kitty, P::Kitty, &env(), Some(&old)).protocol,
            P::Kitty
        );
    }

    #[test]
    fn new_kitty_gets_kitty() {
        let acked = parse_followup("\x1b_Gi=34;OK\x1b\\\x1bP>|kitty(0.39.1)\x1b\\\x1b[0n");
        assert!(acked.placeholders_ok);
        assert_eq!(
            choose(G::Auto, P::Kitty, &env(), Some(&acked)).protocol,
            P::Kitty
        );
        // The version alone is enough (an OK lost on the way)...
        let versioned = parse_followup("\x1bP>|kitty(0.28.0)\x1b\\\x1b[0n");
        assert_eq!(
            choose(G::Auto, P::Kitty, &env(), Some(&versioned)).protocol,
            P::Kitty
        );
        // ... and so is TERM_PROGRAM_VERSION when XTVERSION was answered by tmux.
        let tmux = parse_followup("\x1bP>|tmux 3.3a\x1b\\\x1b[0n");
        assert_eq!(tmux.kitty_version(), None);
        let kitty_env = TermEnv {
            program: Some("kitty".into()),
            program_version: Some("0.35.2".into()),
            ..env()
        };
        assert_eq!(
            choose(G::Auto, P::Kitty, &kitty_env, Some(&tmux)).protocol,
            P::Kitty
        );
        let old_env = TermEnv {
            program_version: Some("0.27.1".into()),
            ..kitty_env
        };
        assert_eq!(
            choose(G::Auto, P::Kitty, &old_env, Some(&tmux)).protocol,
            P::Halfblocks
        );
    }

    #[test]
    fn other_answers_pass_through() {
        for p in [P::Sixel, P::Iterm2, P::Halfblocks] {
            assert_eq!(choose(G::Auto, p, &env(), None).protocol, p);
        }
        assert_eq!(parse_version("0.26"), Some((0, 26, 0)));
        assert_eq!(parse_version("x"), None);
        assert!((0, 27, 9) < KITTY_PLACEHOLDERS && (0, 28, 0) >= KITTY_PLACEHOLDERS);
    }
}
