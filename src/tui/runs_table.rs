//! The runs table's rows as the filter and the sort see them: a `RunSummary` with its tags, its
//! Bradley–Terry score and the facts the poller read (`RunFacts`: the flattened spec and the
//! latest scores), as a filter `Subject` and as a sort key per column; and the poller's reader of
//! those facts, which reads a run's files again only when they changed.

use super::filter::{Field, Key, SortBy, Subject};
use crate::run_dir::{self, RunDir, ScoreRecord};
use crate::store::RunSummary;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::SystemTime;

/// What the poller read for the filter: a run's spec flattened to dotted keys, and the mean over
/// the probes of each score of its latest scored sample step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFacts {
    pub config: BTreeMap<String, String>,
    pub scores: BTreeMap<String, f64>,
}

/// One row of the table.
pub struct Row<'a> {
    pub run: &'a RunSummary,
    pub tags: &'a [String],
    pub facts: Option<&'a RunFacts>,
    /// The Bradley–Terry score, when the run was judged.
    pub score: Option<f64>,
    pub now: f64,
}

impl Subject for Row<'_> {
    fn words(&self) -> Vec<&str> {
        vec![&self.run.name, &self.run.spec, &self.run.id]
    }

    fn tags(&self) -> &[String] {
        self.tags
    }

    fn field(&self, key: &str) -> Option<Field> {
        let r = self.run;
        let text = |s: &str| Some(Field::Text(s.to_string()));
        match key {
            "state" => return text(r.state.label()),
            "mode" => return text(&r.mode),
            "name" => return text(&r.name),
            "study" => return r.study.as_deref().and_then(text),
            "step" => return Some(Field::Num(r.step as f64)),
            "score" => return self.score.map(Field::Num),
            _ => {}
        }
        if let Some(v) = r.last.as_ref().and_then(|m| m.losses.get(key)) {
            return Some(Field::Num(*v));
        }
        let facts = self.facts?;
        if let Some(v) = facts.scores.get(key) {
            return Some(Field::Num(*v));
        }
        facts.config.get(key).map(|v| Field::Text(v.clone()))
    }
}

impl Row<'_> {
    /// The run's value in a column.
    pub fn key(&self, by: SortBy) -> Key {
        let r = self.run;
        let num = |v: Option<f64>| v.filter(|v| v.is_finite()).map_or(Key::None, Key::Num);
        let loss = |k: &str| num(r.last.as_ref().and_then(|m| m.losses.get(k).copied()));
        match by {
            SortBy::Time => Key::None,
            SortBy::Score => num(self.score),
            SortBy::Name => Key::Text(r.name.clone()),
            SortBy::Mode => Key::Text(r.mode.clone()),
            SortBy::State => Key::Text(r.state.label().to_string()),
            SortBy::Step => Key::Num(r.step as f64),
            SortBy::Speed => num(r.images_per_s),
            SortBy::GLoss => loss("g_total"),
            SortBy::DLoss => loss("d_total"),
            SortBy::Age => Key::Num(self.now - r.updated),
        }
    }

    /// Whether the run has `key` (for "no run has `key`").
    pub fn has(&self, key: &str) -> bool {
        self.field(key).is_some()
    }
}

/// The poller's reader of `RunFacts`: per run directory, the modification times of spec.toml
/// and samples/scores.jsonl when last read.
#[derive(Default)]
pub struct FactsReader {
    seen: HashMap<PathBuf, (Option<SystemTime>, Option<SystemTime>, RunFacts)>,
}

fn mtime(p: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

impl FactsReader {
    /// The facts of every run (by id), reading only files that changed since the last call.
    pub fn read(&mut self, runs: &[RunSummary]) -> BTreeMap<String, RunFacts> {
        let mut out = BTreeMap::new();
        let mut seen = HashMap::new();
        for r in runs {
            let dir = PathBuf::from(&r.dir);
            let stamps = (
                mtime(&dir.join(run_dir::SPEC)),
                mtime(&dir.join(run_dir::SCORES)),
            );
            let facts = match self.seen.remove(&dir) {
                Some((s, c, f)) if (s, c) == stamps => f,
                _ => read_facts(&RunDir::new(&dir)),
            };
            out.insert(r.id.clone(), facts.clone());
            seen.insert(dir, (stamps.0, stamps.1, facts));
        }
        self.seen = seen;
        out
    }
}

fn read_facts(dir: &RunDir) -> RunFacts {
    let config = crate::store::read_spec(dir)
        .ok()
        .map(|s| super::compare::flat_config(&s))
        .unwrap_or_default();
    let records = run_dir::read_lines::<ScoreRecord>(&dir.path(run_dir::SCORES));
    let last = records.iter().map(|r| r.step).max();
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for r in records.iter().filter(|r| Some(r.step) == last) {
        let Ok(serde_json::Value::Object(map)) = serde_json::to_value(r) else {
            continue;
        };
        for (k, v) in map {
            if let (Some(v), false) = (v.as_f64(), matches!(k.as_str(), "step" | "probe")) {
                let e = sums.entry(k).or_default();
                (e.0, e.1) = (e.0 + v, e.1 + 1);
            }
        }
    }
    let scores = sums
        .into_iter()
        .map(|(k, (s, n))| (k, s / n as f64))
        .collect();
    RunFacts { config, scores }
}
