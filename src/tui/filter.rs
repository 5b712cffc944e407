//! The runs table's filter language and sort order, pure. A filter is words separated by spaces,
//! all of which must hold: `KEY OP VALUE` compares a run's value of KEY (a config key from its
//! spec by dotted path, `loss.style_weight`; a loss of its latest metric row, `g_total`; a score
//! of its latest sample step, `texture_gain`; or `state`, `mode`, `step`, `study`, `score`) with
//! OP one of `>= <= != > < =`; `tag:NAME` wants that tag; a bare word is a substring of the
//! run's name, experiment, id or tags. `parse` turns text into a [`Filter`] or an error that names
//! the word and what is wrong with it.

use std::cmp::Ordering;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ge,
    Le,
    Ne,
    Gt,
    Lt,
    Eq,
}

/// Longest first, so `>=` is not read as `>` then `=1`.
const OPS: [(&str, Op); 6] = [
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("!=", Op::Ne),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("=", Op::Eq),
];

/// A value a run has for a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Num(f64),
    Text(String),
}

/// One word of a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A substring of the name, experiment, id or a tag (lower case).
    Word(String),
    /// This tag (lower case).
    Tag(String),
    /// KEY OP VALUE; `number` is VALUE read as a number, when it is one.
    Cmp {
        key: String,
        op: Op,
        value: String,
        number: Option<f64>,
    },
}

/// A parsed filter: every term must hold. Empty: every run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub terms: Vec<Term>,
}

/// What a run offers a filter.
pub trait Subject {
    /// Name, experiment and id (any case).
    fn words(&self) -> Vec<&str>;
    fn tags(&self) -> &[String];
    /// The run's value of `key`, if it has one.
    fn field(&self, key: &str) -> Option<Field>;
}

/// The filter of every word that reads, and the first word's error if any did not: a bad word
/// is left out (and reported) while the others stay in force, so the table stays.
pub fn parse(text: &str) -> (Filter, Option<String>) {
    let mut terms = Vec::new();
    let mut error = None;
    for word in text.split_whitespace() {
        match term(word) {
            Ok(t) => terms.push(t),
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    (Filter { terms }, error)
}

fn term(word: &str) -> Result<Term, String> {
    if let Some(tag) = word.strip_prefix("tag:") {
        if tag.is_empty() {
            return Err("`tag:` needs a tag name (tag:good)".into());
        }
        return Ok(Term::Tag(tag.to_lowercase()));
    }
    let Some((at, op_text, op)) = OPS
        .iter()
        .filter_map(|(t, op)| word.find(t).map(|i| (i, *t, *op)))
        .min_by_key(|(i, t, _)| (*i, std::cmp::Reverse(t.len())))
    else {
        return Ok(Term::Word(word.to_lowercase()));
    };
    let (key, value) = (&word[..at], &word[at + op_text.len()..]);
    if key.is_empty() {
        return Err(format!(
            "`{word}`: no key before {op_text} (loss.style_weight>1)"
        ));
    }
    if value.is_empty() {
        return Err(format!("`{word}`: no value after {op_text}"));
    }
    if OPS.iter().any(|(t, _)| value.starts_with(t)) {
        return Err(format!(
            "`{word}`: unknown operator (use one of >= <= != > < =)"
        ));
    }
    let number = value.parse::<f64>().ok().filter(|v| v.is_finite());
    if number.is_none() && !matches!(op, Op::Eq | Op::Ne) {
        return Err(format!(
            "`{word}`: {op_text} compares numbers and `{value}` is not one"
        ));
    }
    Ok(Term::Cmp {
        key: key.to_string(),
        op,
        value: value.to_string(),
        number,
    })
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The keys the filter compares.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().filter_map(|t| match t {
            Term::Cmp { key, .. } => Some(key.as_str()),
            _ => None,
        })
    }

    /// Leave out the comparisons of keys `known` rejects; the first such key, if any.
    pub fn drop_unknown(&mut self, known: impl Fn(&str) -> bool) -> Option<String> {
        let mut first = None;
        self.terms.retain(|t| match t {
            Term::Cmp { key, .. } if !known(key) => {
                first.get_or_insert_with(|| key.clone());
                false
            }
            _ => true,
        });
        first
    }

    /// Whether every term holds for `run`. A run without a compared key does not match.
    pub fn matches(&self, run: &impl Subject) -> bool {
        self.terms.iter().all(|t| holds(t, run))
    }
}

fn holds(t: &Term, run: &impl Subject) -> bool {
    match t {
        Term::Word(w) => {
            run.words().iter().any(|s| s.to_lowercase().contains(w))
                || run.tags().iter().any(|s| s.to_lowercase().contains(w))
        }
        Term::Tag(tag) => run.tags().iter().any(|s| s.to_lowercase() == *tag),
        Term::Cmp {
            key,
            op,
            value,
            number,
        } => {
            let Some(field) = run.field(key) else {
                return false;
            };
            let have = match &field {
                Field::Num(v) => Some(*v),
                Field::Text(s) => s.parse::<f64>().ok(),
            };
            let ord = match (have, number) {
                (Some(a), Some(b)) => a.partial_cmp(b),
                _ => {
                    let text = match &field {
                        Field::Num(v) => v.to_string(),
                        Field::Text(s) => s.trim_matches('"').to_string(),
                    };
                    match text.eq_ignore_ascii_case(value) {
                        true => Some(Ordering::Equal),
                        false => None,
                    }
                }
            };
            match op {
                Op::Eq => ord == Some(Ordering::Equal),
                Op::Ne => ord != Some(Ordering::Equal),
                Op::Gt => ord == Some(Ordering::Greater),
                Op::Lt => ord == Some(Ordering::Less),
                Op::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
                Op::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
            }
        }
    }
}

/// A column of the runs table to order by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// Creation, newest first (the scan's order).
    Time,
    Score,
    Name,
    Mode,
    State,
    Step,
    Speed,
    GLoss,
    DLoss,
    Age,
}

impl SortBy {
    /// The order `o` cycles through.
    pub const ALL: [SortBy; 10] = [
        SortBy::Time,
        SortBy::Score,
        SortBy::Name,
        SortBy::Mode,
        SortBy::State,
        SortBy::Step,
        SortBy::Speed,
        SortBy::GLoss,
        SortBy::DLoss,
        SortBy::Age,
    ];

    pub fn next(self) -> SortBy {
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// The table's header of the column (Time has none: it is the default order).
    pub fn header(self) -> &'static str {
        match self {
            SortBy::Time => "TIME",
            SortBy::Score => "SCORE",
            SortBy::Name => "NAME",
            SortBy::Mode => "MODE",
            SortBy::State => "STATE",
            SortBy::Step => "STEP",
            SortBy::Speed => "IMG/S",
            SortBy::GLoss => "G LOSS",
            SortBy::DLoss => "D LOSS",
            SortBy::Age => "AGE",
        }
    }

    /// Whether the column's first order is largest first (scores, steps, speed; newest first).
    pub fn starts_descending(self) -> bool {
        matches!(
            self,
            SortBy::Time | SortBy::Score | SortBy::Step | SortBy::Speed
        )
    }
}

/// The runs table's order: a column and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sort {
    pub by: SortBy,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Self {
            by: SortBy::Time,
            descending: true,
        }
    }
}

impl Sort {
    /// The next column, in its first direction.
    pub fn next(self) -> Sort {
        let by = self.by.next();
        Sort {
            by,
            descending: by.starts_descending(),
        }
    }

    pub fn flipped(self) -> Sort {
        Sort {
            descending: !self.descending,
            ..self
        }
    }

    /// Order two keys of this column; missing values (None) go last in either direction.
    pub fn cmp_keys(self, a: &Key, b: &Key) -> Ordering {
        let ord = match (a, b) {
            (Key::Num(x), Key::Num(y)) => x.total_cmp(y),
            (Key::Text(x), Key::Text(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
            (Key::None, Key::None) => return Ordering::Equal,
            (Key::None, _) => return Ordering::Greater,
            (_, Key::None) => return Ordering::Less,
            (Key::Num(_), Key::Text(_)) => Ordering::Less,
            (Key::Text(_), Key::Num(_)) => Ordering::Greater,
        };
        if self.descending {
            ord.reverse()
        } else {
            ord
        }
    }
}

/// A run's value in the sorted column.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Num(f64),
    Text(String),
    None,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Run {
        name: String,
        tags: Vec<String>,
        fields: BTreeMap<String, Field>,
    }

    impl Subject for Run {
        fn words(&self) -> Vec<&str> {
            vec![&self.name]
        }
        fn tags(&self) -> &[String] {
            &self.tags
        }
        fn field(&self, key: &str) -> Option<Field> {
            self.fields.get(key).cloned()
        }
    }

    fn run(name: &str, tags: &[&str], fields: &[(&str, Field)]) -> Run {
        Run {
            name: name.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    fn ok(text: &str) -> Filter {
        let (f, err) = parse(text);
        assert_eq!(err, None, "{text}");
        f
    }

    #[test]
    fn parses_words_tags_and_comparisons() {
        let f = ok("  loss.style_weight>1 texture_gain>=0.5 tag:Good sky mode!=cyclegan");
        assert_eq!(f.terms.len(), 5);
        assert_eq!(
            f.terms[0],
            Term::Cmp {
                key: "loss.style_weight".into(),
                op: Op::Gt,
                value: "1".into(),
                number: Some(1.0)
            }
        );
        assert!(matches!(&f.terms[1], Term::Cmp { op: Op::Ge, number: Some(n), .. } if *n == 0.5));
        assert_eq!(f.terms[2], Term::Tag("good".into()));
        assert_eq!(f.terms[3], Term::Word("sky".into()));
        assert!(
            matches!(&f.terms[4], Term::Cmp { op: Op::Ne, number: None, value, .. } if value == "cyclegan")
        );
        assert_eq!(
            f.keys().collect::<Vec<_>>(),
            ["loss.style_weight", "texture_gain", "mode"]
        );
        for (text, op) in [("a<=1e-3", Op::Le), ("a<2", Op::Lt), ("a=2", Op::Eq)] {
            assert!(matches!(&ok(text).terms[0], Term::Cmp { op: o, .. } if *o == op));
        }
        assert!(ok("").is_empty());
    }

    #[test]
    fn bad_words_name_themselves() {
        for (text, says) in [
            (">1", "no key before >"),
            ("loss.style_weight>", "no value after >"),
            ("a>>1", "unknown operator"),
            ("a=<1", "unknown operator"),
            ("ssim>high", "`high` is not one"),
            ("tag:", "tag name"),
            ("ok a<=nan", "`nan` is not one"),
        ] {
            let err = parse(text).1.expect(text);
            assert!(err.contains(says), "{text}: {err}");
        }
        // The other words stay.
        let (f, err) = parse("sky a>> tag:x b<");
        assert_eq!(f.terms, [Term::Word("sky".into()), Term::Tag("x".into())]);
        assert!(err.unwrap().contains("`a>>`"));
        let mut f = ok("a>1 b>2 sky");
        assert_eq!(f.drop_unknown(|k| k == "a"), Some("b".into()));
        assert_eq!(f.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(f.terms.len(), 2);
    }

    #[test]
    fn matching() {
        let a = run(
            "sky-2",
            &["good"],
            &[
                ("loss.style_weight", Field::Text("3.000e6".into())),
                ("texture_gain", Field::Num(0.7)),
                ("mode", Field::Text("\"single_style\"".into())),
            ],
        );
        let b = run("sea", &[], &[("texture_gain", Field::Num(0.5))]);
        let m = |text: &str, r: &Run| ok(text).matches(r);
        assert!(m("loss.style_weight>1 texture_gain>0.5 tag:good", &a));
        assert!(!m("texture_gain>0.5", &b));
        assert!(m("texture_gain>=0.5", &b) && m("texture_gain<=0.5", &b));
        assert!(m("texture_gain=0.5", &b) && !m("texture_gain!=0.5", &b));
        assert!(m("texture_gain<0.6", &b));
        // A run without the key matches no comparison.
        assert!(!m("loss.style_weight>1", &b) && !m("loss.style_weight!=1", &b));
        // Text compares without case or TOML quotes.
        assert!(m("mode=SINGLE_STYLE", &a) && !m("mode!=single_style", &a));
        // Bare words: substrings of names and tags; tag: is exact.
        assert!(m("SKY", &a) && m("goo", &a) && !m("tag:goo", &a));
        assert!(!m("sky", &b));
        assert!(ok("").matches(&b));
    }

    #[test]
    fn sort_cycles_and_flips() {
        let mut s = Sort::default();
        assert_eq!((s.by, s.descending), (SortBy::Time, true));
        s = s.next();
        assert_eq!((s.by, s.descending), (SortBy::Score, true));
        s = s.next();
        assert_eq!((s.by, s.descending), (SortBy::Name, false));
        let flipped = s.flipped();
        assert!(flipped.descending);
        for _ in 0..SortBy::ALL.len() {
            s = s.next();
        }
        assert_eq!(s.by, SortBy::Name);
        // Missing values last either way.
        let keys = [Key::None, Key::Num(2.0), Key::Num(1.0)];
        for sort in [s, flipped] {
            let mut v = keys.to_vec();
            v.sort_by(|a, b| sort.cmp_keys(a, b));
            assert_eq!(v[2], Key::None);
        }
        let up = Sort {
            by: SortBy::GLoss,
            descending: false,
        };
        let mut v = keys.to_vec();
        v.sort_by(|a, b| up.cmp_keys(a, b));
        assert_eq!(v, [Key::Num(1.0), Key::Num(2.0), Key::None]);
    }
}
