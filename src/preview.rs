//! `atelier preview IMG`: print an image at the cursor with viuer, outside the dashboard. The
//! protocol is detected as the dashboard detects it (`tui::images::make_picker`: ratatui-image's
//! query with a timeout, corrected for Konsole), then handed to viuer, which draws it: kitty
//! (direct placement, `a=T`, so kitty before 0.28 works too), iTerm2, sixel (viuer's `icy_sixel`
//! feature, a pure-Rust encoder; its `sixel` feature would link the C library libsixel) or half
//! blocks.
//!
//! viuer writes its escapes without tmux's passthrough, so inside tmux only its half blocks
//! arrive (and its kitty query, an APC, would rename the pane): there it draws half blocks and
//! says so, and a forced protocol it cannot send is an error. viuer's own checks for the chosen
//! protocol (its sixel DA1 query, its kitty query, its iTerm2 environment list) run only after
//! the detection found that protocol, so they never wait on a terminal that does not answer;
//! when one disagrees, preview says so. It never prints nothing and exits 0.

use crate::tui::images::{self, GraphicsMode};
use anyhow::{bail, Context, Result};
use ratatui_image::picker::ProtocolType;
use std::io::IsTerminal;
use std::path::Path;

/// How viuer will draw, and a note for stderr when it is not what the terminal could show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub printer: Printer,
    pub note: Option<String>,
}

/// viuer's printers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Printer {
    Kitty,
    Iterm2,
    Sixel,
    Blocks,
}

impl Printer {
    fn name(self) -> &'static str {
        match self {
            Printer::Kitty => "kitty",
            Printer::Iterm2 => "iTerm2",
            Printer::Sixel => "sixel",
            Printer::Blocks => "half blocks",
        }
    }

    fn of(p: ProtocolType) -> Self {
        match p {
            ProtocolType::Kitty => Printer::Kitty,
            ProtocolType::Iterm2 => Printer::Iterm2,
            ProtocolType::Sixel => Printer::Sixel,
            ProtocolType::Halfblocks => Printer::Blocks,
        }
    }
}

/// The printer for the detected `protocol`: half blocks inside tmux (an error when `forced`).
/// `viuer_agrees` is asked only for a real protocol outside tmux: viuer's own check for it.
pub fn plan(
    protocol: ProtocolType,
    tmux: bool,
    forced: bool,
    viuer_agrees: impl FnOnce(Printer) -> bool,
) -> std::result::Result<Plan, String> {
    let want = Printer::of(protocol);
    if want == Printer::Blocks {
        return Ok(Plan {
            printer: want,
            note: None,
        });
    }
    let why = if tmux {
        format!(
            "inside tmux, {} images need tmux's passthrough, which viuer does not send",
            want.name()
        )
    } else if !viuer_agrees(want) {
        format!(
            "viuer's own check finds no {} support in this terminal",
            want.name()
        )
    } else {
        return Ok(Plan {
            printer: want,
            note: None,
        });
    };
    match forced {
        true => Err(format!(
            "cannot show the image with --graphics {}: {why} (the dashboard can; or use --graphics halfblocks)",
            want.name()
        )),
        false => Ok(Plan {
            printer: Printer::Blocks,
            note: Some(format!("{why}: showing half blocks")),
        }),
    }
}

pub fn preview(path: &Path, mode: GraphicsMode) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("preview prints to a terminal, but stdin or stdout is not one (redirected or piped); open {} with an image viewer instead", path.display());
    }
    let img = image::open(path).with_context(|| format!("cannot read image {}", path.display()))?;
    let detected = images::make_picker(mode, false);
    // viuer places kitty images directly, which every kitty has: the dashboard's Unicode
    // placeholders (kitty 0.28) do not matter here (Konsole's iTerm2 choice stays).
    let chosen = detected.picker.protocol_type();
    let protocol = match (detected.queried, mode, chosen) {
        (ProtocolType::Kitty, GraphicsMode::Auto, ProtocolType::Halfblocks) => ProtocolType::Kitty,
        _ => chosen,
    };
    let tmux = detected.picker.tmux_detected() || images::detect::TermEnv::from_process().tmux;
    let agrees = |p: Printer| match p {
        Printer::Kitty => viuer::get_kitty_support() != viuer::KittySupport::None,
        Printer::Iterm2 => viuer::is_iterm_supported(),
        Printer::Sixel => viuer::is_sixel_supported(),
        Printer::Blocks => true,
    };
    let plan = plan(protocol, tmux, mode != GraphicsMode::Auto, agrees)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if let Some(note) = &plan.note {
        eprintln!("preview: {note}");
    }
    let conf = viuer::Config {
        absolute_offset: false,
        use_kitty: plan.printer == Printer::Kitty,
        use_iterm: plan.printer == Printer::Iterm2,
        use_sixel: plan.printer == Printer::Sixel,
        ..Default::default()
    };
    let (w, h) = viuer::print(&img, &conf)
        .map_err(|e| anyhow::anyhow!("cannot print {}: {e}", path.display()))?;
    if w == 0 || h == 0 {
        bail!(
            "cannot show {}: the terminal has no room for it",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolType as P;

    #[test]
    fn outside_tmux_viuer_draws_what_was_detected() {
        for (p, want) in [
            (P::Kitty, Printer::Kitty),
            (P::Sixel, Printer::Sixel),
            (P::Iterm2, Printer::Iterm2),
            (P::Halfblocks, Printer::Blocks),
        ] {
            let plan = plan(p, false, false, |_| true).expect("a plan");
            assert_eq!((plan.printer, plan.note), (want, None));
        }
    }

    #[test]
    fn inside_tmux_half_blocks_and_says_why_or_refuses() {
        let mut asked = false;
        let auto = plan(P::Sixel, true, false, |_| {
            asked = true;
            true
        })
        .expect("a plan");
        assert_eq!(auto.printer, Printer::Blocks);
        assert!(auto.note.as_deref().is_some_and(|n| n.contains("tmux")));
        // viuer's kitty query (an APC) would rename the tmux pane: never asked there.
        assert!(!asked);
        let forced = plan(P::Kitty, true, true, |_| true).expect_err("refused");
        assert!(
            forced.contains("--graphics kitty") && forced.contains("tmux"),
            "{forced}"
        );
        assert_eq!(
            plan(P::Halfblocks, true, true, |_| true).map(|p| p.printer),
            Ok(Printer::Blocks)
        );
    }

    #[test]
    fn viuer_disagreeing_falls_back_or_refuses() {
        let auto = plan(P::Iterm2, false, false, |_| false).expect("a plan");
        assert_eq!(auto.printer, Printer::Blocks);
        assert!(auto.note.is_some_and(|n| n.contains("iTerm2")));
        assert!(plan(P::Sixel, false, true, |_| false).is_err());
    }
}
