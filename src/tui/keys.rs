//! Key bindings, kept apart from what they do: `Action` is a serde enum (so bindings can later be
//! configured from a file), `BINDINGS` maps keys to actions per context, and the help overlay is
//! generated from the same table, so it always lists every key.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Back,
    Help,
    Up,
    Down,
    PageUp,
    PageDown,
    Open,
    Filter,
    Launch,
    Fork,
    Resume,
    TogglePause,
    Stop,
    Checkpoint,
    PrevSample,
    NextSample,
    PrevSample10,
    NextSample10,
    FirstSample,
    LatestSample,
    PrevProbe,
    NextProbe,
    CursorLeft,
    CursorRight,
    CursorOff,
    ToggleLogY,
    ToggleXAxis,
    SmoothMore,
    SmoothLess,
    MainWeightUp,
    MainWeightDown,
    SecondWeightUp,
    SecondWeightDown,
    LrUp,
    LrDown,
    /// Mark / unmark the selected run for compare and judging.
    ToggleMark,
    /// Compare the marked runs side by side.
    Compare,
    /// Judge candidates in the best-of-k grid (the marked runs, or the selected run's study).
    Judge,
    SortByScore,
    Tag,
    Note,
    /// Retract this dashboard's latest judgement.
    Undo,
    /// Stars (1-5) for the output in view.
    Rate(u8),
    /// Best-of-k: candidate n (1-4) is the worst.
    Worst(u8),
    /// Best-of-k: cannot judge (broken image...): record nothing, next probe.
    Skip,
    /// Best-of-k: can't tell them apart.
    Tie,
    /// Compare: A/B flip between the first two runs at full size.
    Flip,
    /// Compare: next loss term in the overlaid chart.
    NextTerm,
    /// Compare: move the focus (where stars go) between runs.
    FocusPrev,
    FocusNext,
    /// Grid: end the study with its top predicted configuration.
    EndStudy,
    /// Gallery: preview the latest checkpoint with a look (inference-time steering).
    ToggleLook,
    StrengthUp,
    StrengthDown,
    SaturationUp,
    SaturationDown,
    TogglePreserve,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Everywhere outside text input.
    Global,
    Runs,
    Run,
    Compare,
    Grid,
}

pub struct Binding {
    pub context: Context,
    pub code: KeyCode,
    pub shift: bool,
    pub action: Action,
    pub help: &'static str,
}

const fn b(context: Context, code: KeyCode, action: Action, help: &'static str) -> Binding {
    Binding {
        context,
        code,
        shift: false,
        action,
        help,
    }
}

use Action as A;
use Context::{Compare as V, Global as G, Grid as J, Run as R, Runs as L};
use KeyCode::{Char as C, *};

pub const BINDINGS: &[Binding] = &[
    b(G, C('?'), A::Help, "show or hide this help"),
    b(G, C('q'), A::Quit, "quit (training runs keep going)"),
    b(G, Esc, A::Back, "back / close"),
    b(
        G,
        C('n'),
        A::Launch,
        "launch an experiment from experiments/*.toml",
    ),
    b(L, Up, A::Up, "select previous run"),
    b(L, C('k'), A::Up, "select previous run"),
    b(L, Down, A::Down, "select next run"),
    b(L, C('j'), A::Down, "select next run"),
    b(L, PageUp, A::PageUp, "page up"),
    b(L, PageDown, A::PageDown, "page down"),
    b(L, Enter, A::Open, "open the selected run"),
    b(
        L,
        C('/'),
        A::Filter,
        "filter runs by name (Enter keeps, Esc clears)",
    ),
    b(
        L,
        C('f'),
        A::Fork,
        "fork the selected run with edited hyperparameters",
    ),
    b(L, C('r'), A::Resume, "resume the selected stopped run"),
    b(
        L,
        C(' '),
        A::ToggleMark,
        "mark / unmark the run (2-4 for c and b)",
    ),
    b(
        L,
        C('c'),
        A::Compare,
        "compare the marked runs side by side",
    ),
    b(
        L,
        C('b'),
        A::Judge,
        "best-of-4: judge the marked runs, or the selected run's study",
    ),
    b(L, C('o'), A::SortByScore, "order by score / by time"),
    b(L, C('t'), A::Tag, "tag the run (-tag removes it)"),
    b(L, C('N'), A::Note, "add a note to the run"),
    b(L, C('u'), A::Undo, "undo your latest judgement"),
    b(L, C('p'), A::TogglePause, "pause / resume the selected run"),
    b(L, C('s'), A::Stop, "stop the selected run (asks first)"),
    b(R, C('['), A::PrevSample, "previous sample step"),
    b(R, C(']'), A::NextSample, "next sample step"),
    b(R, C('{'), A::PrevSample10, "ten sample steps back"),
    b(R, C('}'), A::NextSample10, "ten sample steps forward"),
    b(R, Home, A::FirstSample, "first sample step"),
    b(
        R,
        End,
        A::LatestSample,
        "latest sample step and follow new ones",
    ),
    b(R, Up, A::PrevProbe, "previous probe image"),
    b(R, Down, A::NextProbe, "next probe image"),
    b(
        R,
        Left,
        A::CursorLeft,
        "chart cursor left (read values at a step)",
    ),
    b(R, Right, A::CursorRight, "chart cursor right"),
    b(R, C('.'), A::CursorOff, "hide the chart cursor"),
    b(R, C('l'), A::ToggleLogY, "log / linear Y axis"),
    b(R, C('x'), A::ToggleXAxis, "x axis: step / wall time"),
    b(R, C('+'), A::SmoothMore, "more smoothing"),
    b(R, C('-'), A::SmoothLess, "less smoothing"),
    b(R, C('p'), A::TogglePause, "pause / resume training"),
    b(R, C('s'), A::Stop, "stop training (asks first)"),
    b(R, C('c'), A::Checkpoint, "checkpoint now"),
    b(R, C('r'), A::Resume, "resume a stopped run"),
    b(
        R,
        C('f'),
        A::Fork,
        "fork this run with edited hyperparameters",
    ),
    b(
        R,
        C('w'),
        A::MainWeightUp,
        "style weight x1.5 (cyclegan: cycle weight)",
    ),
    b(
        R,
        C('W'),
        A::MainWeightDown,
        "style weight /1.5 (cyclegan: cycle weight)",
    ),
    b(
        R,
        C('e'),
        A::SecondWeightUp,
        "content weight x1.5 (cyclegan: identity weight)",
    ),
    b(
        R,
        C('E'),
        A::SecondWeightDown,
        "content weight /1.5 (cyclegan: identity weight)",
    ),
    b(R, C('a'), A::LrUp, "learning rate x1.5"),
    b(R, C('A'), A::LrDown, "learning rate /1.5"),
    b(R, C('1'), A::Rate(1), "1 star for the output in view"),
    b(R, C('2'), A::Rate(2), "2 stars"),
    b(R, C('3'), A::Rate(3), "3 stars"),
    b(R, C('4'), A::Rate(4), "4 stars"),
    b(R, C('5'), A::Rate(5), "5 stars"),
    b(R, C('t'), A::Tag, "tag the run (-tag removes it)"),
    b(R, C('N'), A::Note, "add a note to the run"),
    b(R, C('u'), A::Undo, "undo your latest judgement"),
    b(
        R,
        C('v'),
        A::ToggleLook,
        "look preview: the latest checkpoint on this probe, steered live",
    ),
    b(R, C('>'), A::StrengthUp, "look: style strength +0.1"),
    b(R, C('<'), A::StrengthDown, "look: style strength -0.1"),
    b(R, C(')'), A::SaturationUp, "look: saturation +0.1"),
    b(R, C('('), A::SaturationDown, "look: saturation -0.1"),
    b(
        R,
        C('k'),
        A::TogglePreserve,
        "look: keep the photo's colours",
    ),
    b(V, C('['), A::PrevSample, "previous step (all runs)"),
    b(V, C(']'), A::NextSample, "next step (all runs)"),
    b(V, C('{'), A::PrevSample10, "ten steps back"),
    b(V, C('}'), A::NextSample10, "ten steps forward"),
    b(V, Home, A::FirstSample, "first step"),
    b(V, End, A::LatestSample, "latest step and follow"),
    b(V, Up, A::PrevProbe, "previous probe image"),
    b(V, Down, A::NextProbe, "next probe image"),
    b(
        V,
        Left,
        A::FocusPrev,
        "focus the previous run (stars go there)",
    ),
    b(V, Right, A::FocusNext, "focus the next run"),
    b(
        V,
        Tab,
        A::Flip,
        "A/B: flip between the first two runs at full size",
    ),
    b(
        V,
        C('m'),
        A::NextTerm,
        "next loss term in the overlaid chart",
    ),
    b(V, C('l'), A::ToggleLogY, "log / linear Y axis"),
    b(V, C('+'), A::SmoothMore, "more smoothing"),
    b(V, C('-'), A::SmoothLess, "less smoothing"),
    b(V, C('1'), A::Rate(1), "1 star for the focused run's output"),
    b(V, C('2'), A::Rate(2), "2 stars"),
    b(V, C('3'), A::Rate(3), "3 stars"),
    b(V, C('4'), A::Rate(4), "4 stars"),
    b(V, C('5'), A::Rate(5), "5 stars"),
    b(V, C('u'), A::Undo, "undo your latest judgement"),
    b(
        J,
        C('1'),
        A::Worst(1),
        "candidate 1 (top left) is the worst",
    ),
    b(
        J,
        C('2'),
        A::Worst(2),
        "candidate 2 (top right) is the worst",
    ),
    b(
        J,
        C('3'),
        A::Worst(3),
        "candidate 3 (bottom left) is the worst",
    ),
    b(
        J,
        C('4'),
        A::Worst(4),
        "candidate 4 (bottom right) is the worst",
    ),
    b(
        J,
        C('s'),
        A::Skip,
        "skip: can't judge (records nothing), next probe",
    ),
    b(J, C('='), A::Tie, "can't tell them apart"),
    b(J, C('u'), A::Undo, "undo your latest judgement"),
    b(
        J,
        C('e'),
        A::EndStudy,
        "end the study: write its top predicted configuration",
    ),
    b(J, Up, A::PrevProbe, "previous probe image"),
    b(J, Down, A::NextProbe, "next probe image"),
];

/// The action bound to `key` in `context` (context bindings win over global ones).
pub fn lookup(context: Context, key: &KeyEvent) -> Option<Action> {
    // Shifted letters arrive as their upper case; Shift only matters for non-character keys.
    let code = key.code;
    let shift = key.modifiers.contains(KeyModifiers::SHIFT) && !matches!(code, C(_));
    let find = |ctx: Context| {
        BINDINGS
            .iter()
            .find(|b| b.context == ctx && b.code == code && b.shift == shift)
            .map(|b| b.action)
    };
    find(context).or_else(|| find(G))
}

/// Human name of a key for the help overlay.
pub fn key_name(code: KeyCode) -> String {
    match code {
        C(' ') => "Space".into(),
        C(c) => c.to_string(),
        Enter => "Enter".into(),
        Esc => "Esc".into(),
        Up => "↑".into(),
        Down => "↓".into(),
        Left => "←".into(),
        Right => "→".into(),
        Home => "Home".into(),
        End => "End".into(),
        PageUp => "PgUp".into(),
        PageDown => "PgDn".into(),
        Tab => "Tab".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_bindings_shadow_global_and_every_action_has_help() {
        let key = |c| KeyEvent::new(C(c), KeyModifiers::NONE);
        assert_eq!(lookup(Context::Runs, &key('j')), Some(Action::Down));
        assert_eq!(lookup(Context::Run, &key('q')), Some(Action::Quit));
        assert_eq!(
            lookup(Context::Run, &KeyEvent::new(C('W'), KeyModifiers::SHIFT)),
            Some(Action::MainWeightDown)
        );
        assert_eq!(lookup(Context::Runs, &key('z')), None);
        assert!(BINDINGS.iter().all(|b| !b.help.is_empty()));
        // No key is bound twice in one context.
        for (i, a) in BINDINGS.iter().enumerate() {
            for b2 in &BINDINGS[i + 1..] {
                assert!(
                    !(a.context == b2.context && a.code == b2.code && a.shift == b2.shift),
                    "{:?} twice",
                    a.code
                );
            }
        }
        let json = serde_json::to_string(&Action::MainWeightUp).unwrap();
        assert_eq!(json, "\"main_weight_up\"");
    }
}
