//! Inside tmux, images vanish whenever tmux redraws the pane from its own copy of the screen,
//! which holds text only: when a client attaches (the usual way back over SSH), when the pane's
//! window becomes current again, when copy mode or a chooser (`prefix w`) ends. Nothing reaches
//! the program then (no resize when the size is unchanged, focus events only with tmux's
//! `focus-events on`), so a thread asks tmux about the pane every [`EVERY`] (one
//! `tmux display-message`, a few milliseconds) and sends `Msg::Shown` when the pane becomes
//! visible again or another client took over; the loop then repaints and re-sends every image.
//! [`PaneState`] and [`shown_again`] are pure and tested; the thread only runs inside tmux.

use super::app::Msg;
use std::process::{Command, Stdio};
use std::sync::mpsc::Sender;
use std::time::Duration;

/// How often tmux is asked.
pub const EVERY: Duration = Duration::from_millis(300);

/// The tmux format asked for; [`PaneState::parse`] reads its answer.
const FORMAT: &str = "#{session_attached} #{window_active} #{pane_in_mode} #{client_pid}";

/// What tmux says about the dashboard's pane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaneState {
    /// Clients attached to the session.
    pub attached: u32,
    /// The pane's window is the session's current window.
    pub window_active: bool,
    /// Copy mode, a chooser or another mode covers the pane.
    pub in_mode: bool,
    /// The pid of the client showing the session ("" when none).
    pub client: String,
}

impl PaneState {
    /// Parse `tmux display-message -p` output for [`FORMAT`].
    pub fn parse(text: &str) -> Option<Self> {
        let mut f = text.trim_end_matches(['\n', '\r']).split(' ');
        let attached = f.next()?.parse().ok()?;
        let window_active = f.next()? == "1";
        let in_mode = f.next()? == "1";
        let client = f.next().unwrap_or("").to_string();
        Some(Self {
            attached,
            window_active,
            in_mode,
            client,
        })
    }

    /// Whether a client shows the pane's contents now.
    pub fn visible(&self) -> bool {
        self.attached > 0 && self.window_active && !self.in_mode
    }
}

/// Whether tmux has just redrawn the pane: it became visible, or a different client shows it (a
/// detach and reattach between two polls).
pub fn shown_again(before: &PaneState, now: &PaneState) -> bool {
    now.visible() && (!before.visible() || before.client != now.client)
}

/// Ask tmux about `pane` (`$TMUX_PANE`); `None` when tmux cannot be asked.
fn ask(pane: &str) -> Option<PaneState> {
    let out = Command::new("tmux")
        .args(["display-message", "-p", "-t", pane, FORMAT])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(())?;
    PaneState::parse(&String::from_utf8_lossy(&out.stdout))
}

/// Start the watcher when running inside tmux (`TMUX` and `TMUX_PANE` set); it ends when the
/// channel closes or tmux stops answering (three failures in a row).
pub fn spawn_watch(tx: Sender<Msg>) {
    let inside = std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
    let Some(pane) = std::env::var("TMUX_PANE")
        .ok()
        .filter(|p| inside && !p.is_empty())
    else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("tmux".into())
        .spawn(move || {
            let mut before = ask(&pane).unwrap_or_default();
            let mut failures = 0;
            while failures < 3 {
                std::thread::sleep(EVERY);
                let Some(now) = ask(&pane) else {
                    failures += 1;
                    continue;
                };
                failures = 0;
                if shown_again(&before, &now) && tx.send(Msg::Shown).is_err() {
                    return;
                }
                before = now;
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(text: &str) -> PaneState {
        PaneState::parse(text).expect("parses")
    }

    #[test]
    fn parses_tmux_answers() {
        let s = state("1 1 0 4242\n");
        assert_eq!((s.attached, s.window_active, s.in_mode), (1, true, false));
        assert_eq!(s.client, "4242");
        assert!(s.visible());
        // Detached: no client.
        let d = state("0 1 0 \n");
        assert!(!d.visible() && d.client.is_empty());
        assert!(PaneState::parse("").is_none());
        assert!(PaneState::parse("x 1 0 1").is_none());
    }

    #[test]
    fn what_counts_as_shown_again() {
        let shown = state("1 1 0 100");
        // Reattach: detached, then attached (same or new client).
        assert!(shown_again(&state("0 1 0 "), &shown));
        // Detach and reattach between two polls: a new client.
        assert!(shown_again(&shown, &state("1 1 0 101")));
        // Back from another window, from copy mode or a chooser.
        assert!(shown_again(&state("1 0 0 100"), &shown));
        assert!(shown_again(&state("1 1 1 100"), &shown));
        // Nothing changed, or it went away: nothing to redraw.
        assert!(!shown_again(&shown, &shown));
        assert!(!shown_again(&shown, &state("1 0 0 100")));
        assert!(!shown_again(&shown, &state("0 1 0 ")));
        // A second client attaching elsewhere does not change who shows it.
        assert!(!shown_again(&shown, &state("2 1 0 100")));
    }
}
