//! The look keys of the run view (a look: inference-time strength, saturation and colours): the preview's on/off, strength,
//! saturation, preserve-colour and the painting's palette (the two colour choices exclude each other), each answered by a rendering request for the look worker.

use crate::tui::app::{App, Effect, RunView, View};
use crate::tui::keys::Action;

/// Look keys: turn the preview on or off, or change the look, and ask for a rendering.
pub fn adjust(app: &mut App, a: Action) -> Vec<Effect> {
    let Some(run) = app.run.as_mut().filter(|_| app.view == View::Run) else {
        return Vec::new();
    };
    if a == Action::ToggleLook {
        if run.look.take().is_some() {
            return vec![Effect::Repaint];
        }
        run.look = Some(crate::tui::look::LookView::default());
    } else if let Some(l) = run.look.as_mut() {
        let look = &mut l.look;
        match a {
            Action::StrengthUp => look.strength = (look.strength + 0.1).min(1.0),
            Action::StrengthDown => look.strength = (look.strength - 0.1).max(0.0),
            Action::SaturationUp => look.saturation = (look.saturation + 0.1).min(3.0),
            Action::SaturationDown => look.saturation = (look.saturation - 0.1).max(0.0),
            Action::TogglePreserve => {
                look.preserve_color = !look.preserve_color;
                look.palette &= !look.preserve_color;
            }
            Action::TogglePalette => {
                look.palette = !look.palette;
                look.preserve_color &= !look.palette;
            }
            _ => {}
        }
    } else {
        app.notify("press v first: the look preview renders the latest checkpoint");
        return Vec::new();
    }
    request(run)
}

/// A rendering of the selected probe with the run's look, if the preview is on.
pub fn request(run: &mut RunView) -> Vec<Effect> {
    let probes = run.probes();
    let Some((set, probe)) = probes.get(run.probe).cloned() else {
        return Vec::new();
    };
    let Some(input) = run.inputs.iter().find(|r| r.set == set && r.probe == probe) else {
        return Vec::new();
    };
    let input = run.dir.join(&input.path);
    let Some(l) = run.look.as_mut() else {
        return Vec::new();
    };
    l.seq += 1;
    vec![Effect::Look(crate::tui::look::LookRequest {
        run: run.dir.clone(),
        input,
        direction: (set == "b").then(|| "ba".to_string()),
        look: l.look,
        seq: l.seq,
    })]
}
