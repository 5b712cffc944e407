//! `atelier preview IMG`: print an image at the cursor with viuer (kitty, iTerm2, sixel or half
//! blocks), outside the dashboard. viuer has no tmux support and its terminal query has no
//! timeout, so it is only called when stdout is a terminal. Sixel goes through viuer's `icy_sixel`
//! feature, a pure-Rust encoder (its `sixel` feature would link the C library libsixel).

use anyhow::{bail, Context, Result};
use std::io::IsTerminal;
use std::path::Path;

pub fn preview(path: &Path) -> Result<()> {
    if !std::io::stdout().is_terminal() {
        bail!("preview prints to a terminal, but stdout is not one (redirected or piped); open {} with an image viewer instead", path.display());
    }
    let img = image::open(path).with_context(|| format!("cannot read image {}", path.display()))?;
    let conf = viuer::Config {
        absolute_offset: false,
        ..Default::default()
    };
    viuer::print(&img, &conf)
        .map_err(|e| anyhow::anyhow!("cannot print {}: {e}", path.display()))?;
    Ok(())
}
