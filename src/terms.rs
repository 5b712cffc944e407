//! The names a trainer reports and a user turns, declared once. Every loss term (its key in
//! `metrics.jsonl`, its chart group, the recipes that write it) is one row of `terms!`, and every
//! live knob (its spec key, its range, the recipes that read it, the dashboard dial that turns it,
//! where its start value comes from) one row of `knobs!`. The trainers push [`Term`]s, the
//! charts group by [`Term::group`], `set` commands are checked with [`Knob::parse`], the
//! dashboard's dials resolve through [`Dial::knob`], and the README's tables are generated from
//! these rows (a test keeps them equal). Adding a term or a knob is one row; the compiler rejects
//! a row without a group or a range. No burn types.

use crate::spec::{Mode, Spec};

const BOTH: &[Mode] = &[Mode::SingleStyle, Mode::Cyclegan];
const SINGLE: &[Mode] = &[Mode::SingleStyle];
const CYCLE: &[Mode] = &[Mode::Cyclegan];

/// A chart of the run view: its terms share one y axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Generator,
    Discriminator,
    /// Weighted auxiliary losses; they differ by orders of magnitude, so always log scale.
    Auxiliary,
    /// Objective scores from `samples/scores.jsonl` (see `eval`), the mean over the probe set at
    /// each sample step; never log scale.
    Quality,
}

impl Group {
    /// In the order the run view stacks them.
    pub const ALL: [Group; 4] = [
        Group::Generator,
        Group::Discriminator,
        Group::Auxiliary,
        Group::Quality,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Group::Generator => "generator",
            Group::Discriminator => "discriminator",
            Group::Auxiliary => "auxiliary",
            Group::Quality => "quality",
        }
    }

    /// The group's terms, in declaration order (which also gives each its colour).
    pub fn terms(self) -> impl Iterator<Item = Term> {
        Term::ALL.iter().copied().filter(move |t| t.group() == self)
    }
}

macro_rules! terms {
    ($($variant:ident = $name:literal, $group:ident, $modes:expr, $doc:literal;)*) => {
        /// A loss term or score: one per row of the table below.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Term { $($variant),* }

        impl Term {
            pub const ALL: &'static [Term] = &[$(Term::$variant),*];

            /// The key in `metrics.jsonl` (or `scores.jsonl` for the quality group).
            pub fn name(self) -> &'static str {
                match self { $(Term::$variant => $name),* }
            }

            pub fn group(self) -> Group {
                match self { $(Term::$variant => Group::$group),* }
            }

            /// The recipes that report it.
            pub fn modes(self) -> &'static [Mode] {
                match self { $(Term::$variant => $modes),* }
            }

            /// One line for the README's table.
            pub fn doc(self) -> &'static str {
                match self { $(Term::$variant => $doc),* }
            }
        }
    };
}

terms! {
    GAdv = "g_adv", Generator, BOTH, "the generator's LSGAN loss against the critic(s)";
    GTotal = "g_total", Generator, BOTH, "the weighted sum the generator descends";
    DReal = "d_real", Discriminator, BOTH, "the critic's loss on real images";
    DFake = "d_fake", Discriminator, BOTH, "the critic's loss on the generator's outputs";
    DTotal = "d_total", Discriminator, BOTH, "the critic's total";
    DA = "d_a", Discriminator, CYCLE, "critic A's loss (real and fake)";
    DB = "d_b", Discriminator, CYCLE, "critic B's loss (real and fake)";
    FavoredShare = "favored_share", Discriminator, SINGLE,
        "share of the critic's real batch taken by favoured outputs (`steer.favored_fraction` > 0)";
    Content = "content", Auxiliary, SINGLE, "feature distance to the photo";
    Style = "style", Auxiliary, SINGLE, "Gram-matrix distance to the painting";
    Swd = "swd", Auxiliary, SINGLE, "sliced-Wasserstein feature distance (`loss.swd_weight` > 0)";
    Color = "color", Auxiliary, SINGLE, "sliced-Wasserstein palette distance (`loss.color_weight` > 0)";
    Tv = "tv", Auxiliary, SINGLE, "total variation (`loss.tv_weight` > 0)";
    Weave = "weave", Auxiliary, SINGLE, "share of the output's fine detail in one repeated pattern (`loss.weave_weight` > 0)";
    Spectrum = "spectrum", Auxiliary, SINGLE, "log distance of the fine detail's spectrum to the painting's (`loss.spectrum_weight` > 0)";
    ChromaSpectrum = "chroma_spectrum", Auxiliary, SINGLE, "log distance of the colour's fine-detail spectrum to the painting's (`loss.chroma_spectrum_weight` > 0)";
    Flow = "flow", Auxiliary, SINGLE, "shortfall of the fine detail's stroke coherence along the photo's shapes below the painting's (`loss.flow_weight` > 0)";
    Strokes = "strokes", Auxiliary, SINGLE, "stroke-distribution distance to the painting's crops (`loss.stroke_weight` > 0)";
    Distill = "distill", Auxiliary, SINGLE, "L1 to the teacher's output (a run made by `atelier distill`)";
    DistillFeatures = "distill_features", Auxiliary, SINGLE,
        "feature distance to the teacher's output (`distill.feature_weight` > 0)";
    DistillStrokes = "distill_strokes", Auxiliary, SINGLE,
        "stroke-distribution distance to the teacher's output (`distill.stroke_weight` > 0)";
    CycleA = "cycle_a", Auxiliary, CYCLE, "L1 of A -> B -> A";
    CycleB = "cycle_b", Auxiliary, CYCLE, "L1 of B -> A -> B";
    IdtA = "idt_a", Auxiliary, CYCLE, "identity L1 of G_BA on A (`loss.identity_weight` > 0)";
    IdtB = "idt_b", Auxiliary, CYCLE, "identity L1 of G_AB on B (`loss.identity_weight` > 0)";
    TextureGain = "texture_gain", Quality, SINGLE, "texture gain of the probes' outputs (`atelier eval`)";
    StyleGain = "style_gain", Quality, SINGLE, "style (palette and patch) gain of the outputs";
    Ssim = "ssim", Quality, SINGLE, "structural similarity to the photos";
}

/// The values a knob accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// A loss weight: >= 0.
    Weight,
    /// A learning rate: in (0, 1].
    Rate,
}

impl Range {
    pub fn check(self, key: &str, value: f64) -> Result<(), String> {
        if !value.is_finite() {
            return Err(format!("{key} must be finite, got {value}"));
        }
        match self {
            Range::Rate if !(value > 0.0 && value <= 1.0) => {
                Err(format!("{key} must be in (0, 1], got {value}"))
            }
            Range::Weight if value < 0.0 => Err(format!("{key} must be >= 0, got {value}")),
            _ => Ok(()),
        }
    }
}

/// The dashboard's three knob dials (`w`/`W`, `e`/`E`, `a`/`A` in the run view); what each turns
/// depends on the recipe, per the knob table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dial {
    /// The main loss weight: style (single_style), cycle (cyclegan).
    Main,
    /// The second loss weight: content (single_style), identity (cyclegan).
    Second,
    /// Both learning rates.
    Lr,
}

macro_rules! knobs {
    ($($variant:ident = $key:literal, $range:ident, $modes:expr, $dial:expr, $from:expr;)*) => {
        /// A live knob: a value the trainer reads every step and `set` changes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Knob { $($variant),* }

        impl Knob {
            pub const ALL: &'static [Knob] = &[$(Knob::$variant),*];

            /// The spec key, which is also the `set` key.
            pub fn key(self) -> &'static str {
                match self { $(Knob::$variant => $key),* }
            }

            pub fn range(self) -> Range {
                match self { $(Knob::$variant => Range::$range),* }
            }

            /// The recipes that read it.
            pub fn modes(self) -> &'static [Mode] {
                match self { $(Knob::$variant => $modes),* }
            }

            /// The dashboard dial that turns it, if any.
            pub fn dial(self) -> Option<Dial> {
                match self { $(Knob::$variant => $dial),* }
            }

            /// Its value in a spec (where a run starts).
            pub fn from_spec(self, spec: &Spec) -> f64 {
                let from: fn(&Spec) -> f64 = match self { $(Knob::$variant => $from),* };
                from(spec)
            }
        }
    };
}

knobs! {
    AdversarialWeight = "loss.adversarial_weight", Weight, BOTH, None, |s| s.loss.adversarial_weight;
    ContentWeight = "loss.content_weight", Weight, SINGLE, Some(Dial::Second), |s| s.loss.content_weight;
    StyleWeight = "loss.style_weight", Weight, SINGLE, Some(Dial::Main), |s| s.loss.style_weight;
    SwdWeight = "loss.swd_weight", Weight, SINGLE, None, |s| s.loss.swd_weight;
    ColorWeight = "loss.color_weight", Weight, SINGLE, None, |s| s.loss.color_weight;
    TvWeight = "loss.tv_weight", Weight, SINGLE, None, |s| s.loss.tv_weight;
    WeaveWeight = "loss.weave_weight", Weight, SINGLE, None, |s| s.loss.weave_weight;
    SpectrumWeight = "loss.spectrum_weight", Weight, SINGLE, None, |s| s.loss.spectrum_weight;
    ChromaSpectrumWeight = "loss.chroma_spectrum_weight", Weight, SINGLE, None, |s| s.loss.chroma_spectrum_weight;
    FlowWeight = "loss.flow_weight", Weight, SINGLE, None, |s| s.loss.flow_weight;
    StrokeWeight = "loss.stroke_weight", Weight, SINGLE, None, |s| s.loss.stroke_weight;
    CycleWeight = "loss.cycle_weight", Weight, CYCLE, Some(Dial::Main), |s| s.loss.cycle_weight;
    IdentityWeight = "loss.identity_weight", Weight, CYCLE, Some(Dial::Second), |s| s.loss.identity_weight;
    LrG = "optim.lr_g", Rate, BOTH, Some(Dial::Lr), |s| s.optim.lr_g.unwrap_or(s.optim.lr);
    LrD = "optim.lr_d", Rate, BOTH, Some(Dial::Lr), |s| s.optim.lr_d.unwrap_or(s.optim.lr);
}

/// The `set` key that changes both learning rates at once.
pub const LR_BOTH: &str = "optim.lr";

impl Knob {
    /// The knobs of a recipe, in table order.
    pub fn of(mode: Mode) -> impl Iterator<Item = Knob> {
        Knob::ALL
            .iter()
            .copied()
            .filter(move |k| k.modes().contains(&mode))
    }

    /// The knobs a `set` key names for a recipe (`optim.lr` names both rates), or why none.
    pub fn parse(key: &str, mode: Mode) -> Result<Vec<Knob>, String> {
        let found: Vec<Knob> = Knob::of(mode)
            .filter(|k| k.key() == key || (key == LR_BOTH && k.range() == Range::Rate))
            .collect();
        if found.is_empty() {
            return Err(format!(
                "`{key}` is not a live knob here; known: {}",
                set_keys(mode).join(", ")
            ));
        }
        Ok(found)
    }
}

/// Every key `set` accepts for a recipe.
pub fn set_keys(mode: Mode) -> Vec<&'static str> {
    let mut keys: Vec<&str> = Knob::of(mode).map(Knob::key).collect();
    keys.push(LR_BOTH);
    keys
}

impl Dial {
    /// The key a dial sends for a recipe (the learning-rate dial moves both rates).
    pub fn key(self, mode: Mode) -> Option<&'static str> {
        match self {
            Dial::Lr => Some(LR_BOTH),
            _ => self.knob(mode).map(Knob::key),
        }
    }

    /// The knob whose current value the dial starts from.
    pub fn knob(self, mode: Mode) -> Option<Knob> {
        Knob::of(mode).find(|k| k.dial() == Some(self))
    }
}

fn mode_list(modes: &[Mode]) -> String {
    if modes.len() > 1 {
        "both".into()
    } else {
        modes.iter().map(|m| m.as_str()).collect()
    }
}

/// The README's table of loss terms (between its `terms-table` markers).
pub fn readme_terms_table() -> String {
    let mut s = String::from("| term | chart | recipes | what |\n|---|---|---|---|\n");
    for t in Term::ALL {
        s += &format!(
            "| `{}` | {} | {} | {} |\n",
            t.name(),
            t.group().title(),
            mode_list(t.modes()),
            t.doc()
        );
    }
    s
}

/// The README's table of live knobs (between its `knobs-table` markers).
pub fn readme_knobs_table() -> String {
    let mut s = String::from("| knob | recipes | range | run view |\n|---|---|---|---|\n");
    for k in Knob::ALL {
        let dial = match k.dial() {
            Some(Dial::Main) => "main dial",
            Some(Dial::Second) => "second dial",
            Some(Dial::Lr) => "rate dial (both rates)",
            None => "",
        };
        let range = match k.range() {
            Range::Weight => ">= 0",
            Range::Rate => "(0, 1]",
        };
        s += &format!(
            "| `{}` | {} | {range} | {dial} |\n",
            k.key(),
            mode_list(k.modes())
        );
    }
    s += &format!("| `{LR_BOTH}` | both | (0, 1] | sets `optim.lr_g` and `optim.lr_d` |\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_keys_are_unique_and_every_group_has_terms() {
        let mut names: Vec<&str> = Term::ALL.iter().map(|t| t.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Term::ALL.len());
        let mut keys: Vec<&str> = Knob::ALL.iter().map(|k| k.key()).collect();
        keys.push(LR_BOTH);
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), Knob::ALL.len() + 1);
        for g in Group::ALL {
            assert!(g.terms().count() > 0, "{g:?} has no terms");
        }
    }

    #[test]
    fn every_dial_turns_one_knob_per_recipe() {
        for mode in [Mode::SingleStyle, Mode::Cyclegan] {
            for dial in [Dial::Main, Dial::Second] {
                assert_eq!(Knob::of(mode).filter(|k| k.dial() == Some(dial)).count(), 1);
            }
        }
        assert_eq!(Dial::Main.key(Mode::Cyclegan), Some("loss.cycle_weight"));
        assert_eq!(
            Dial::Second.key(Mode::SingleStyle),
            Some("loss.content_weight")
        );
        assert_eq!(Dial::Lr.key(Mode::SingleStyle), Some("optim.lr"));
    }

    #[test]
    fn parse_names_the_known_keys() {
        assert_eq!(
            Knob::parse("optim.lr", Mode::Cyclegan).unwrap(),
            vec![Knob::LrG, Knob::LrD]
        );
        let e = Knob::parse("loss.style_weight", Mode::Cyclegan).unwrap_err();
        assert!(
            e.contains("loss.cycle_weight") && e.contains("optim.lr"),
            "{e}"
        );
    }

    #[test]
    fn readme_tables_are_generated_from_the_rows() {
        let readme = include_str!("../README.md");
        for (marker, table) in [
            ("terms-table", readme_terms_table()),
            ("knobs-table", readme_knobs_table()),
        ] {
            let start = format!("<!-- {marker} -->\n");
            let end = format!("<!-- /{marker} -->");
            let at = readme.find(&start).expect("README marker") + start.len();
            let len = readme[at..].find(&end).expect("README end marker");
            assert_eq!(
                &readme[at..at + len],
                table,
                "README's {marker} is stale: paste the output of `cargo run --release --example readme_tables`"
            );
        }
    }
}
