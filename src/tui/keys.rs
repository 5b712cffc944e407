//! Key bindings, kept apart from what they do: `Action` is a serde enum (so bindings can later be
//! configured from a file), `BINDINGS` maps keys to actions in a set of contexts (the views, the
//! overlays and the text inputs), and the help overlay and every footer are generated from the
//! same table, so what the screen says is what the keys do. The view → context map is
//! `Context::of`. Text contexts (filter, prompt, form) take unbound characters as text.

use super::app::View;
use crate::terms::Dial;
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
    /// A live knob x1.5 (see `terms::Dial` for what each dial turns per recipe).
    KnobUp(Dial),
    /// A live knob /1.5.
    KnobDown(Dial),
    /// Mark / unmark the selected run for compare and judging.
    ToggleMark,
    /// Compare the marked runs side by side.
    Compare,
    /// Judge candidates in the best-of-k grid (the marked runs, or the selected run's study).
    Judge,
    /// Runs table: order by the next column.
    SortNext,
    /// Runs table: reverse the order.
    SortFlip,
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
    /// Compare: write the contact sheet of the runs x probes at the current step.
    ContactSheet,
    /// Compare: A and B in one image with a movable split, or side by side again.
    ToggleWipe,
    /// Compare: move the wipe's split left / right (turns the wipe on).
    WipeLeft,
    WipeRight,
    /// Compare: the difference |A − B| as a heat map beside the pair, on or off.
    ToggleDiff,
    /// Compare: zoom 1x -> 2x -> 4x (the same region of every image).
    Zoom,
    /// Compare: move the zoomed region.
    PanLeft,
    PanRight,
    PanUp,
    PanDown,
    /// Compare: move the focus (where stars go) between runs.
    FocusPrev,
    FocusNext,
    /// Runs table: one row per seed group (runs differing only in `train.seed`), or all runs.
    ToggleFold,
    /// Run and compare views: a seed group's mean and min–max band instead of a line per run.
    ToggleBand,
    /// Grid: end the study with its top predicted configuration.
    EndStudy,
    /// Gallery: preview the latest checkpoint with a look (inference-time strength, saturation).
    ToggleLook,
    StrengthUp,
    StrengthDown,
    SaturationUp,
    SaturationDown,
    TogglePreserve,
    TogglePalette,
    /// Look: the next / previous style (every finished run's generator).
    NextStyle,
    PrevStyle,
    /// Look: every style at once.
    StyleGrid,
    /// Look: write the chosen style at full resolution.
    SaveLook,
    /// A distilled run's gallery: its teacher or the critic's map beside the student.
    ToggleTeacher,
    /// Text input and forms: accept (launch, keep the filter, save the note).
    Submit,
    /// Forms: the next field.
    NextField,
    /// Text input: delete the last character.
    DeleteChar,
    /// The stop confirmation: yes.
    Confirm,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Every view (not overlays or text input); a view's own binding wins.
    Global,
    Runs,
    Run,
    Compare,
    Grid,
    /// The help overlay.
    Help,
    /// The stop confirmation: any key but the confirming one cancels.
    Confirm,
    /// The launch / fork form (text fields).
    Form,
    /// A one-line prompt (tag, note).
    Prompt,
    /// The runs table's filter line.
    Filter,
}

impl Context {
    /// The context of a view: the one map from views to key contexts.
    pub fn of(view: View) -> Context {
        match view {
            View::Runs => Context::Runs,
            View::Run => Context::Run,
            View::Compare => Context::Compare,
            View::Grid => Context::Grid,
        }
    }

    /// Heading in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "everywhere",
            Context::Runs => "runs table",
            Context::Run => "run view",
            Context::Compare => "compare view",
            Context::Grid => "best-of-4 grid",
            Context::Help => "help",
            Context::Confirm => "confirmation",
            Context::Form => "launch form",
            Context::Prompt => "prompt",
            Context::Filter => "filter",
        }
    }

    /// Contexts whose unbound characters are typed text, and that global keys do not reach.
    pub fn is_text(self) -> bool {
        matches!(self, Context::Form | Context::Prompt | Context::Filter)
    }

    fn takes_global(self) -> bool {
        matches!(
            self,
            Context::Runs | Context::Run | Context::Compare | Context::Grid
        )
    }
}

/// A key, with Ctrl where it matters (shifted letters arrive as their upper case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn k(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

pub struct Binding {
    pub contexts: &'static [Context],
    pub keys: &'static [Key],
    pub action: Action,
    pub help: &'static str,
}

const fn b(
    contexts: &'static [Context],
    keys: &'static [Key],
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        contexts,
        keys,
        action,
        help,
    }
}

use Action as A;
use Context::{
    Compare as V, Confirm as Y, Filter as F, Form as M, Global as G, Grid as J, Help as H,
    Prompt as P, Run as R, Runs as L,
};
use KeyCode::{Char as C, *};

const RV: &[Context] = &[R, V];
const LR: &[Context] = &[L, R];
const LRV: &[Context] = &[L, R, V];
const RVJ: &[Context] = &[R, V, J];

pub const BINDINGS: &[Binding] = &[
    b(&[G], &[k(C('?'))], A::Help, "show or hide this help"),
    b(
        &[G],
        &[k(C('q'))],
        A::Quit,
        "quit (training runs keep going)",
    ),
    // The views reach Ctrl-C through Global; overlays and text input list it themselves.
    b(
        &[G, H, Y, M, P, F],
        &[ctrl('c')],
        A::Quit,
        "quit (training runs keep going)",
    ),
    b(&[G], &[k(Esc)], A::Back, "back / close"),
    b(
        &[G],
        &[k(C('n'))],
        A::Launch,
        "launch an experiment from experiments/*.toml",
    ),
    b(
        &[H],
        &[k(Esc), k(C('?')), k(C('q'))],
        A::Back,
        "close the help",
    ),
    b(
        &[Y],
        &[k(C('y')), k(C('Y'))],
        A::Confirm,
        "yes (any other key cancels)",
    ),
    b(&[M, P, F], &[k(Esc)], A::Back, "cancel"),
    b(&[M, P, F], &[k(Enter)], A::Submit, "accept"),
    b(
        &[M, P, F],
        &[k(Backspace)],
        A::DeleteChar,
        "delete a character",
    ),
    b(&[M], &[k(Tab)], A::NextField, "next field"),
    b(&[M], &[k(Up), k(BackTab)], A::Up, "previous experiment"),
    b(&[M], &[k(Down)], A::Down, "next experiment"),
    b(&[L], &[k(Up), k(C('k'))], A::Up, "select previous run"),
    b(&[L], &[k(Down), k(C('j'))], A::Down, "select next run"),
    b(&[L], &[k(PageUp)], A::PageUp, "page up"),
    b(&[L], &[k(PageDown)], A::PageDown, "page down"),
    b(&[L], &[k(Enter)], A::Open, "open the selected run"),
    b(
        &[L],
        &[k(C('/'))],
        A::Filter,
        "filter: words, tag:NAME, key>value (Enter keeps, Esc clears)",
    ),
    b(
        LR,
        &[k(C('f'))],
        A::Fork,
        "fork the run with edited hyperparameters",
    ),
    b(LR, &[k(C('r'))], A::Resume, "resume a stopped run"),
    b(
        &[L],
        &[k(C(' '))],
        A::ToggleMark,
        "mark / unmark the run (2-4 for c and b)",
    ),
    b(
        &[L],
        &[k(C('c'))],
        A::Compare,
        "compare the marked runs side by side",
    ),
    b(
        &[L],
        &[k(C('b'))],
        A::Judge,
        "best-of-4: judge the marked runs, or the selected run's study",
    ),
    b(
        &[L],
        &[k(C('o'))],
        A::SortNext,
        "order by the next column (▼ ▲ in its header)",
    ),
    b(&[L], &[k(C('O'))], A::SortFlip, "reverse the order"),
    b(
        &[L],
        &[k(C('G'))],
        A::ToggleFold,
        "seed groups: one row each (mean ± sd), or every run",
    ),
    b(
        RV,
        &[k(C('B'))],
        A::ToggleBand,
        "seed groups: mean and min–max band instead of a line per run",
    ),
    b(LR, &[k(C('t'))], A::Tag, "tag the run (-tag removes it)"),
    b(LR, &[k(C('N'))], A::Note, "add a note to the run"),
    b(LRV, &[k(C('u'))], A::Undo, "undo your latest judgement"),
    b(LR, &[k(C('p'))], A::TogglePause, "pause / resume the run"),
    b(
        LR,
        &[k(C('s'))],
        A::Stop,
        "stop the run (asks first; resumable)",
    ),
    b(&[R], &[k(C('C'))], A::Checkpoint, "checkpoint now"),
    b(
        RV,
        &[k(C('['))],
        A::PrevSample,
        "previous sample step (compare: every run)",
    ),
    b(RV, &[k(C(']'))], A::NextSample, "next sample step"),
    b(RV, &[k(C('{'))], A::PrevSample10, "ten sample steps back"),
    b(
        RV,
        &[k(C('}'))],
        A::NextSample10,
        "ten sample steps forward",
    ),
    b(RV, &[k(Home)], A::FirstSample, "first sample step"),
    b(
        RV,
        &[k(End)],
        A::LatestSample,
        "latest sample step and follow new ones",
    ),
    b(RVJ, &[k(Up)], A::PrevProbe, "previous probe image"),
    b(RVJ, &[k(Down)], A::NextProbe, "next probe image"),
    b(
        &[R],
        &[k(Left)],
        A::CursorLeft,
        "chart cursor left (read values at a step)",
    ),
    b(&[R], &[k(Right)], A::CursorRight, "chart cursor right"),
    b(&[R], &[k(C('.'))], A::CursorOff, "hide the chart cursor"),
    b(&[R], &[k(C('l'))], A::ToggleLogY, "log / linear Y axis"),
    b(RV, &[k(C('y'))], A::ToggleLogY, "log / linear Y axis"),
    b(
        &[R],
        &[k(C('x'))],
        A::ToggleXAxis,
        "x axis: step / wall time",
    ),
    b(RV, &[k(C('+'))], A::SmoothMore, "more smoothing"),
    b(RV, &[k(C('-'))], A::SmoothLess, "less smoothing"),
    b(
        &[R],
        &[k(C('w'))],
        A::KnobUp(Dial::Main),
        "style weight x1.5 (cyclegan: cycle weight)",
    ),
    b(
        &[R],
        &[k(C('W'))],
        A::KnobDown(Dial::Main),
        "style weight /1.5 (cyclegan: cycle weight)",
    ),
    b(
        &[R],
        &[k(C('e'))],
        A::KnobUp(Dial::Second),
        "content weight x1.5 (cyclegan: identity weight)",
    ),
    b(
        &[R],
        &[k(C('E'))],
        A::KnobDown(Dial::Second),
        "content weight /1.5 (cyclegan: identity weight)",
    ),
    b(
        &[R],
        &[k(C('a'))],
        A::KnobUp(Dial::Lr),
        "learning rate x1.5",
    ),
    b(
        &[R],
        &[k(C('A'))],
        A::KnobDown(Dial::Lr),
        "learning rate /1.5",
    ),
    b(
        RV,
        &[k(C('1'))],
        A::Rate(1),
        "1 star for the output in view (compare: the focused run's)",
    ),
    b(RV, &[k(C('2'))], A::Rate(2), "2 stars"),
    b(RV, &[k(C('3'))], A::Rate(3), "3 stars"),
    b(RV, &[k(C('4'))], A::Rate(4), "4 stars"),
    b(RV, &[k(C('5'))], A::Rate(5), "5 stars"),
    b(
        &[R],
        &[k(C('T'))],
        A::ToggleTeacher,
        "distilled run: its teacher or the critic",
    ),
    b(
        &[R],
        &[k(C('v'))],
        A::ToggleLook,
        "look preview: the latest checkpoint on this probe, adjusted live",
    ),
    b(
        &[R],
        &[k(C('>'))],
        A::StrengthUp,
        "look: style strength +0.1",
    ),
    b(
        &[R],
        &[k(C('<'))],
        A::StrengthDown,
        "look: style strength -0.1",
    ),
    b(&[R], &[k(C(')'))], A::SaturationUp, "look: saturation +0.1"),
    b(
        &[R],
        &[k(C('('))],
        A::SaturationDown,
        "look: saturation -0.1",
    ),
    b(
        &[R],
        &[k(C('k'))],
        A::TogglePreserve,
        "look: keep the photo's colours",
    ),
    b(
        &[R],
        &[k(C('P'))],
        A::TogglePalette,
        "look: the painting's palette (colours matched to it)",
    ),
    b(
        &[R],
        &[k(Tab)],
        A::NextStyle,
        "look: next style (every finished run's generator)",
    ),
    b(&[R], &[k(BackTab)], A::PrevStyle, "look: previous style"),
    b(
        &[R],
        &[k(C('g'))],
        A::StyleGrid,
        "look: every style at once (Tab moves the choice)",
    ),
    b(
        &[R],
        &[k(Enter)],
        A::SaveLook,
        "look: write the chosen style at full resolution",
    ),
    b(
        &[V],
        &[k(Left)],
        A::FocusPrev,
        "focus the previous run (stars go there)",
    ),
    b(&[V], &[k(Right)], A::FocusNext, "focus the next run"),
    b(
        &[V],
        &[k(Tab)],
        A::Flip,
        "A/B: flip between the first two runs at full size",
    ),
    b(
        &[V],
        &[k(C('m'))],
        A::NextTerm,
        "next loss term in the overlaid chart",
    ),
    b(
        &[V],
        &[k(C('X'))],
        A::ContactSheet,
        "write the contact sheet (runs x probes at this step) as a PNG",
    ),
    b(
        &[V],
        &[k(C('|'))],
        A::ToggleWipe,
        "wipe: A and B in one image split at a movable line (mouse drags it)",
    ),
    b(
        &[V],
        &[k(C('h'))],
        A::WipeLeft,
        "move the wipe's split left",
    ),
    b(
        &[V],
        &[k(C('l'))],
        A::WipeRight,
        "move the wipe's split right",
    ),
    b(
        &[V],
        &[k(C('d'))],
        A::ToggleDiff,
        "difference |A − B| as a heat map (A/B flip: output − input)",
    ),
    b(
        &[V],
        &[k(C('z'))],
        A::Zoom,
        "zoom 1x, 2x, 4x: the same region of every image, native pixels",
    ),
    b(&[V], &[k(C('H'))], A::PanLeft, "zoom: pan left"),
    b(&[V], &[k(C('L'))], A::PanRight, "zoom: pan right"),
    b(&[V], &[k(C('K'))], A::PanUp, "zoom: pan up"),
    b(&[V], &[k(C('J'))], A::PanDown, "zoom: pan down"),
    b(
        &[J],
        &[k(C('1'))],
        A::Worst(1),
        "here 1-4 pick the worst, not stars: candidate 1 (top left)",
    ),
    b(
        &[J],
        &[k(C('2'))],
        A::Worst(2),
        "candidate 2 (top right) is the worst",
    ),
    b(
        &[J],
        &[k(C('3'))],
        A::Worst(3),
        "candidate 3 (bottom left) is the worst",
    ),
    b(
        &[J],
        &[k(C('4'))],
        A::Worst(4),
        "candidate 4 (bottom right) is the worst",
    ),
    b(
        &[J],
        &[k(C('0'))],
        A::Skip,
        "skip: can't judge any (records nothing), next probe",
    ),
    b(&[J], &[k(C('='))], A::Tie, "can't tell them apart"),
    b(&[J], &[k(C('u'))], A::Undo, "undo your latest judgement"),
    b(
        &[J],
        &[k(C('e'))],
        A::EndStudy,
        "end the study: write its top predicted configuration",
    ),
];

/// Footer hints per context, in the order shown: the actions of a hint, and its label. The keys
/// come from `BINDINGS`.
const HINTS: &[(Context, &[Action], &str)] = &[
    (L, &[A::Open], "open"),
    (L, &[A::Launch], "new"),
    (L, &[A::TogglePause], "pause"),
    (L, &[A::Stop], "stop"),
    (L, &[A::ToggleMark], "mark"),
    (L, &[A::Compare], "compare"),
    (L, &[A::Judge], "judge"),
    (L, &[A::Filter], "filter"),
    (L, &[A::Help], "help"),
    (L, &[A::Quit], "quit"),
    (L, &[A::ToggleFold], "groups"),
    (R, &[A::Back], "back"),
    (R, &[A::PrevSample, A::NextSample], "step"),
    (R, &[A::PrevProbe, A::NextProbe], "probe"),
    (R, &[A::CursorLeft, A::CursorRight], "cursor"),
    (R, &[A::TogglePause], "pause"),
    (R, &[A::Stop], "stop"),
    (
        R,
        &[
            A::KnobUp(Dial::Main),
            A::KnobDown(Dial::Main),
            A::KnobUp(Dial::Second),
            A::KnobDown(Dial::Second),
            A::KnobUp(Dial::Lr),
            A::KnobDown(Dial::Lr),
        ],
        "knobs",
    ),
    (R, &[A::Help], "help"),
    (R, &[A::ToggleBand], "band"),
    (V, &[A::PrevSample, A::NextSample], "step"),
    (V, &[A::PrevProbe, A::NextProbe], "probe"),
    (V, &[A::FocusPrev, A::FocusNext], "focus"),
    (
        V,
        &[A::Rate(1), A::Rate(2), A::Rate(3), A::Rate(4), A::Rate(5)],
        "stars",
    ),
    (V, &[A::Flip], "A/B"),
    (V, &[A::ToggleWipe, A::WipeLeft, A::WipeRight], "wipe"),
    (V, &[A::ToggleDiff], "diff"),
    (V, &[A::Zoom], "zoom"),
    (V, &[A::NextTerm], "term"),
    (V, &[A::Back], "back"),
    (
        J,
        &[A::Worst(1), A::Worst(2), A::Worst(3), A::Worst(4)],
        "worst",
    ),
    (J, &[A::Skip], "skip"),
    (J, &[A::Tie], "can't tell"),
    (J, &[A::Undo], "undo"),
    (J, &[A::PrevProbe, A::NextProbe], "probe"),
    (J, &[A::EndStudy], "end study"),
    (J, &[A::Back], "back"),
];

fn bound_in(b: &Binding, ctx: Context) -> bool {
    b.contexts.contains(&ctx)
}

/// The action bound to `key` in `context` (a context's own bindings win over global ones, which
/// reach only the views).
pub fn lookup(context: Context, key: &KeyEvent) -> Option<Action> {
    let pressed = Key {
        code: key.code,
        ctrl: key.modifiers.contains(KeyModifiers::CONTROL),
    };
    let find = |ctx: Context| {
        BINDINGS
            .iter()
            .find(|b| bound_in(b, ctx) && b.keys.contains(&pressed))
            .map(|b| b.action)
    };
    find(context).or_else(|| context.takes_global().then(|| find(G)).flatten())
}

/// The keys bound to `action` in `context` (or globally, for a view).
fn keys_for(context: Context, action: Action) -> Vec<Key> {
    let of = |ctx: Context| -> Vec<Key> {
        BINDINGS
            .iter()
            .filter(|b| bound_in(b, ctx) && b.action == action)
            .flat_map(|b| b.keys.iter().copied())
            .collect()
    };
    let own = of(context);
    if own.is_empty() && context.takes_global() {
        of(G)
    } else {
        own
    }
}

/// The footer of a context: (keys, label) per hint. Runs of consecutive digits read `1-5`.
pub fn footer(context: Context) -> Vec<(String, &'static str)> {
    HINTS
        .iter()
        .filter(|(ctx, _, _)| *ctx == context)
        .map(|(_, actions, label)| {
            let keys: Vec<Key> = actions
                .iter()
                .filter_map(|a| keys_for(context, *a).first().copied())
                .collect();
            (keys_label(&keys), *label)
        })
        .collect()
}

fn keys_label(keys: &[Key]) -> String {
    let digits: Vec<u32> = keys
        .iter()
        .filter_map(|k| match k.code {
            C(c) => c.to_digit(10),
            _ => None,
        })
        .collect();
    let consecutive = digits.windows(2).all(|w| w[1] == w[0] + 1);
    if digits.len() > 2 && digits.len() == keys.len() && consecutive {
        return format!("{}-{}", digits[0], digits[digits.len() - 1]);
    }
    keys.iter()
        .map(|k| key_name(*k))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The help overlay's lines for a context: (keys, help), keys with the same help merged (j ↓).
pub fn help(context: Context) -> Vec<(String, &'static str)> {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for b in BINDINGS.iter().filter(|b| bound_in(b, context)) {
        let names: Vec<String> = b.keys.iter().map(|k| key_name(*k)).collect();
        match seen.iter_mut().find(|(_, h)| *h == b.help) {
            Some((keys, _)) => {
                keys.push(' ');
                keys.push_str(&names.join(" "));
            }
            None => seen.push((names.join(" "), b.help)),
        }
    }
    seen
}

/// Human name of a key for the help overlay and footers.
pub fn key_name(key: Key) -> String {
    let name = match key.code {
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
        BackTab => "S-Tab".into(),
        Backspace => "Bksp".into(),
        other => format!("{other:?}"),
    };
    if key.ctrl {
        format!("Ctrl-{name}")
    } else {
        name
    }
}

#[cfg(test)]
const ALL: &[Context] = &[G, L, R, V, J, H, Y, M, P, F];

#[cfg(test)]
mod tests;
