//! The user's judgements as data: one append-only `ratings.jsonl` beside the runs of a
//! workspace, one JSON line per judgement (time, kind, run ids, step, probe, value, optional
//! note). Nothing is ever rewritten: an undo is a line that retracts an earlier id, so the file
//! is a complete history and two dashboards can write at once (each line is one `write` on an
//! `O_APPEND` file under an exclusive lock, `File::lock`). [`Ledger`] folds the lines into what the
//! dashboard and the preference models read: stars, tags, notes, retired candidates and the
//! pairwise preferences that best-of-k judgements expand into.

use crate::prefs::{self, Pref};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// File name of the ledger, in the runs directory.
pub const RATINGS: &str = "ratings.jsonl";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `value`: 1 to 5 stars for one run's output (`runs[0]`) at `step`/`probe`.
    Stars,
    /// Best-of-k: `runs` were shown together; `value` is the run id judged the worst.
    Worst,
    /// Best-of-k, "can't tell": the runs are judged equal.
    Tie,
    /// `value`: a tag added to `runs[0]`.
    Tag,
    /// `value`: a tag removed from `runs[0]`.
    Untag,
    /// `note`: free text on `runs[0]`.
    Note,
    /// `value`: the id of an earlier line it retracts.
    Undo,
}

/// One line of `ratings.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rating {
    /// Unique across writers: host, process, time and a counter.
    pub id: String,
    pub time: f64,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<usize>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The study the judged runs belong to, when judged in a study's grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<String>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh rating id.
pub fn new_id() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}-{}-{}-{n}",
        crate::store::hostname(),
        std::process::id(),
        (crate::run_dir::now() * 1000.0) as u64
    )
}

impl Rating {
    fn new(kind: Kind, runs: Vec<String>) -> Self {
        Self {
            id: new_id(),
            time: crate::run_dir::now(),
            kind,
            runs,
            step: None,
            probe: None,
            value: Value::Null,
            note: None,
            study: None,
        }
    }

    /// Stars (clamped to 1..=5) for one run's output.
    pub fn stars(run: &str, step: Option<u64>, probe: Option<usize>, stars: u8) -> Self {
        Self {
            step,
            probe,
            value: Value::from(stars.clamp(1, 5)),
            ..Self::new(Kind::Stars, vec![run.to_string()])
        }
    }

    /// "The worst of `runs` is `runs[worst]`".
    pub fn worst(runs: &[String], worst: usize, step: u64, probe: usize) -> Self {
        Self {
            step: Some(step),
            probe: Some(probe),
            value: Value::from(runs.get(worst).cloned().unwrap_or_default()),
            ..Self::new(Kind::Worst, runs.to_vec())
        }
    }

    /// "Can't tell" between `runs`.
    pub fn tie(runs: &[String], step: u64, probe: usize) -> Self {
        Self {
            step: Some(step),
            probe: Some(probe),
            ..Self::new(Kind::Tie, runs.to_vec())
        }
    }

    pub fn tag(run: &str, tag: &str, add: bool) -> Self {
        let kind = if add { Kind::Tag } else { Kind::Untag };
        Self {
            value: Value::from(tag),
            ..Self::new(kind, vec![run.to_string()])
        }
    }

    pub fn note(run: &str, text: &str) -> Self {
        Self {
            note: Some(text.to_string()),
            ..Self::new(Kind::Note, vec![run.to_string()])
        }
    }

    pub fn undo(id: &str) -> Self {
        Self {
            value: Value::from(id),
            ..Self::new(Kind::Undo, Vec::new())
        }
    }

    pub fn in_study(mut self, study: Option<String>) -> Self {
        self.study = study;
        self
    }

    /// A one-line description for notifications.
    pub fn describe(&self) -> String {
        let first = self.runs.first().map_or("", String::as_str);
        match self.kind {
            Kind::Stars => format!("{} ★ for {first}", self.value),
            Kind::Worst => format!("worst of {}: {}", self.runs.len(), self.value_str()),
            Kind::Tie => format!("can't tell between {} runs", self.runs.len()),
            Kind::Tag => format!("tagged {first} #{}", self.value_str()),
            Kind::Untag => format!("untagged {first} #{}", self.value_str()),
            Kind::Note => format!("note on {first}"),
            Kind::Undo => format!("undid {}", self.value_str()),
        }
    }

    fn value_str(&self) -> &str {
        self.value.as_str().unwrap_or("")
    }
}

/// Append one rating to the workspace's ledger: one `write` of the whole line on an `O_APPEND`
/// file, under an exclusive lock (`File::lock`, `flock` on Linux) so writers on filesystems
/// without atomic appends still never interleave. A short write is an error, never a torn line
/// followed by more data.
pub fn append(runs_dir: &Path, rating: &Rating) -> std::io::Result<()> {
    std::fs::create_dir_all(runs_dir)?;
    let mut line = serde_json::to_vec(rating).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(runs_dir.join(RATINGS))?;
    // Written even when locking is unsupported; the lock is also released when `f` is closed.
    let locked = f.lock().is_ok();
    let result = f.write_all(&line).and_then(|_| f.flush());
    if locked {
        let _ = f.unlock();
    }
    result
}

/// Every readable line of the ledger (torn or malformed lines skipped).
pub fn read(runs_dir: &Path) -> Vec<Rating> {
    crate::run_dir::read_lines(&runs_dir.join(RATINGS))
}

/// The ledger folded: every line once (by id), with undos applied on read.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    lines: Vec<Rating>,
    ids: HashSet<String>,
    retracted: HashSet<String>,
}

impl Ledger {
    pub fn new(lines: Vec<Rating>) -> Self {
        let mut l = Self::default();
        l.extend(lines);
        l
    }

    /// Add lines; ids already seen are ignored (a dashboard adds its own lines at once and then
    /// reads them back from the file).
    pub fn extend(&mut self, lines: impl IntoIterator<Item = Rating>) {
        for r in lines {
            if !self.ids.insert(r.id.clone()) {
                continue;
            }
            if r.kind == Kind::Undo {
                if let Some(target) = r.value.as_str() {
                    self.retracted.insert(target.to_string());
                }
            }
            self.lines.push(r);
        }
    }

    /// Start over from a re-read file (it was truncated or replaced).
    pub fn reset(&mut self, lines: Vec<Rating>) {
        *self = Self::new(lines);
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn is_retracted(&self, id: &str) -> bool {
        self.retracted.contains(id)
    }

    /// Judgements in force: not undos, not retracted.
    pub fn active(&self) -> impl Iterator<Item = &Rating> {
        self.lines
            .iter()
            .filter(|r| r.kind != Kind::Undo && !self.retracted.contains(&r.id))
    }

    /// The latest stars given to one output (run, step, probe), if any.
    pub fn stars_for(&self, run: &str, step: Option<u64>, probe: Option<usize>) -> Option<u8> {
        self.active()
            .filter(|r| r.kind == Kind::Stars && r.step == step && r.probe == probe)
            .filter(|r| r.runs.first().is_some_and(|x| x == run))
            .last()
            .and_then(|r| r.value.as_u64())
            .map(|v| v as u8)
    }

    /// Tags of each run, in the order added (an untag removes).
    pub fn tags(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for r in self.active() {
            let (Some(run), Some(tag)) = (r.runs.first(), r.value.as_str()) else {
                continue;
            };
            let tags = out.entry(run.as_str()).or_default();
            match r.kind {
                Kind::Tag if !tags.contains(&tag) => tags.push(tag),
                Kind::Untag => tags.retain(|t| *t != tag),
                _ => {}
            }
        }
        out.retain(|_, v| !v.is_empty());
        out
    }

    /// Notes of one run, oldest first.
    pub fn notes<'a>(&'a self, run: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.active()
            .filter(move |r| r.kind == Kind::Note && r.runs.first().is_some_and(|x| x == run))
            .filter_map(|r| r.note.as_deref())
    }

    /// Runs judged the worst of a best-of-k screen: retired from a study's grid.
    pub fn retired(&self) -> HashSet<&str> {
        self.active()
            .filter(|r| r.kind == Kind::Worst)
            .filter_map(|r| r.value.as_str())
            .collect()
    }

    /// Pairwise preferences among the runs in `index` (run id -> item), from every best-of-k
    /// and tie judgement in force; runs outside `index` are left out of each judgement.
    pub fn prefs(&self, index: &HashMap<String, usize>) -> Vec<Pref> {
        let mut out = Vec::new();
        for r in self.active() {
            let items: Vec<usize> = r
                .runs
                .iter()
                .filter_map(|id| index.get(id))
                .copied()
                .collect();
            match r.kind {
                Kind::Worst => {
                    if let Some(&w) = r.value.as_str().and_then(|id| index.get(id)) {
                        out.extend(prefs::worst_of(&items, w));
                    }
                }
                Kind::Tie => out.extend(prefs::tie(&items)),
                _ => {}
            }
        }
        out
    }

    /// Ids of the best-of-k judgements in force that involve any of `runs`.
    pub fn judgement_ids<'a>(&'a self, runs: &'a HashSet<&str>) -> impl Iterator<Item = &'a str> {
        self.active()
            .filter(|r| matches!(r.kind, Kind::Worst | Kind::Tie))
            .filter(move |r| r.runs.iter().any(|id| runs.contains(id.as_str())))
            .map(|r| r.id.as_str())
    }

    /// Bradley–Terry strength of each run in `runs` from every preference and star in force.
    pub fn scores(&self, runs: &[&str]) -> HashMap<String, prefs::bt::Strength> {
        let index: HashMap<String, usize> = runs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.to_string(), i))
            .collect();
        let prefs = self.prefs(&index);
        let stars: Vec<(usize, f64)> = self
            .active()
            .filter(|r| r.kind == Kind::Stars)
            .filter_map(|r| Some((*index.get(r.runs.first()?)?, r.value.as_f64()?)))
            .collect();
        let fitted = prefs::bt::fit(runs.len(), &prefs, &stars);
        runs.iter().map(|r| r.to_string()).zip(fitted).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_undo() {
        let dir = tempfile::tempdir().unwrap();
        let runs: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let w = Rating::worst(&runs, 2, 300, 1).in_study(Some("s".into()));
        let s = Rating::stars("a", Some(300), Some(1), 4);
        let t = Rating::tag("b", "crisp", true);
        let n = Rating::note("b", "sky looks great");
        for r in [&w, &s, &t, &n] {
            append(dir.path(), r).unwrap();
        }
        let back = read(dir.path());
        // JSON keeps every field; the time to within float parsing (serde_json may be 1 ulp off).
        assert_eq!(back.len(), 4);
        for (got, sent) in back.iter().zip([&w, &s, &t, &n]) {
            assert!((got.time - sent.time).abs() < 1e-6);
            let same_time = Rating {
                time: sent.time,
                ..got.clone()
            };
            assert_eq!(&same_time, sent);
        }
        let mut ledger = Ledger::new(back);
        assert_eq!(ledger.retired(), HashSet::from(["c"]));
        assert_eq!(ledger.stars_for("a", Some(300), Some(1)), Some(4));
        assert_eq!(ledger.tags().get("b"), Some(&vec!["crisp"]));
        assert_eq!(
            ledger.notes("b").collect::<Vec<_>>(),
            vec!["sky looks great"]
        );
        let index: HashMap<String, usize> = runs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.clone(), i))
            .collect();
        assert_eq!(ledger.prefs(&index).len(), 3);
        // Undo the judgement: the retirement and its preferences are gone, the file only grew.
        let u = Rating::undo(&w.id);
        append(dir.path(), &u).unwrap();
        ledger.extend(read(dir.path()));
        assert!(ledger.retired().is_empty());
        assert!(ledger.prefs(&index).is_empty());
        assert_eq!(ledger.len(), 5);
        assert_eq!(read(dir.path()).len(), 5);
    }

    #[test]
    fn torn_lines_are_skipped_and_duplicates_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let s = Rating::stars("a", None, None, 9);
        assert_eq!(s.value, Value::from(5));
        append(dir.path(), &s).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(RATINGS))
            .unwrap()
            .write_all(b"{\"id\":\"torn\",\"ti")
            .unwrap();
        let mut ledger = Ledger::new(read(dir.path()));
        assert_eq!(ledger.len(), 1);
        ledger.extend(vec![s.clone()]);
        assert_eq!(ledger.len(), 1);
    }

    #[test]
    fn tags_untag_and_ties() {
        let mut l = Ledger::default();
        l.extend([
            Rating::tag("a", "x", true),
            Rating::tag("a", "y", true),
            Rating::tag("a", "x", false),
        ]);
        assert_eq!(l.tags().get("a"), Some(&vec!["y"]));
        let runs: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        l.extend([Rating::tie(&runs, 10, 0)]);
        let index: HashMap<String, usize> = runs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.clone(), i))
            .collect();
        let prefs = l.prefs(&index);
        assert_eq!(prefs.len(), 6);
        assert!(prefs.iter().all(|p| (p.weight - 0.5).abs() < 1e-12));
    }

    #[test]
    fn concurrent_appends_keep_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let note = "n".repeat(20_000);
        std::thread::scope(|s| {
            for t in 0..4 {
                let (dir, note) = (dir.path(), &note);
                s.spawn(move || {
                    for i in 0..25 {
                        append(dir, &Rating::note(&format!("run{t}-{i}"), note)).unwrap();
                    }
                });
            }
        });
        let text = std::fs::read_to_string(dir.path().join(RATINGS)).unwrap();
        assert_eq!(text.lines().count(), 100);
        assert_eq!(read(dir.path()).len(), 100);
    }
}
