//! Dashboard state: what the views draw from. Workers send `Msg`s, `update` (in `update.rs`)
//! applies them and returns `Effect`s for the loop to carry out; nothing here does I/O, so the
//! whole app can be driven headless in tests.

use super::compare::{Compare, Grid};
use super::filter::{self, Filter, Sort, SortBy};
use super::form::LaunchForm;
use super::runs_table::{Row, RunFacts};
use crate::prefs::bt::Strength;
use crate::ratings::{Ledger, Rating};
use crate::run_dir::{Event, MetricRow, SampleRecord, ScoreRecord, Status};
use crate::spec::Spec;
use crate::store::tail::Update;
use crate::store::{Liveness, RunSummary};
use crate::terms::Knob;
use crossterm::event::{KeyEvent, MouseEvent};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;

/// Everything that can happen to the dashboard.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The terminal gained (true) or lost focus (crossterm focus events; inside tmux they arrive
    /// with `focus-events on`).
    Focus(bool),
    /// tmux showed this pane again (a client attached, its window became current again, copy
    /// mode or a chooser ended: `tui::tmux`): tmux redrew it from text, without the images.
    Shown,
    /// Wall clock for ages, ETAs, toasts and stalled detection.
    Tick(f64),
    /// A fresh scan of the runs directory.
    Runs(Vec<RunSummary>),
    /// New data for the open run.
    RunData(Box<RunDelta>),
    /// Experiments found for the launch picker.
    Experiments(Vec<Experiment>),
    /// An image finished encoding: redraw.
    ImagesReady,
    /// A short notification (launch results, errors of background work).
    Notify(String),
    /// New lines of the workspace's ratings.jsonl.
    Ratings(Update<Rating>),
    /// A look preview finished rendering.
    Look(super::look::LookResult),
    /// The runs' specs and latest scores, for the filter (sent when they changed).
    Facts(BTreeMap<String, super::runs_table::RunFacts>),
    /// The GPUs changed (NVML, every 2 s at most); `None`: no NVML.
    Gpus(Option<Vec<crate::gpu::GpuSample>>),
    /// The saved session, read at start (`session::load`; not sent with `--fresh`): applied
    /// once the first runs scan has arrived; a file that did not read is a note.
    Restore(Result<super::session::Session, String>),
    /// A run's spec, read for the fork form (`Effect::ReadSpec`).
    ForkSpec {
        id: String,
        dir: PathBuf,
        spec: Box<Result<Spec, String>>,
    },
}

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Tail this run's files (None: stop tailing).
    Watch(Option<PathBuf>),
    /// Tail these runs' files (compare view, grid); empty: stop.
    WatchMany(Vec<PathBuf>),
    /// Append a judgement to the workspace's ratings.jsonl.
    Rate(Rating),
    /// Render the open run's checkpoint with a look (strength, saturation, preserve colour).
    Look(super::look::LookRequest),
    /// Refill a study's grid: fit the preference model, write proposals, launch if the study
    /// says so.
    Propose(String),
    /// Write the contact sheet of these runs at this step into a PNG (`interop::sheet`).
    ContactSheet {
        runs: Vec<PathBuf>,
        step: u64,
        out: PathBuf,
    },
    /// Write a study's top predicted configuration (`<study>-best.toml`).
    EndStudy(String),
    /// Append a command to a run's control.jsonl.
    Control {
        run: PathBuf,
        id: String,
        command: crate::run_dir::Command,
    },
    /// Validate a spec, create a run and start a detached trainer.
    Launch {
        spec: PathBuf,
        overrides: Vec<String>,
        name: Option<String>,
    },
    /// Start a detached trainer that resumes a run.
    Resume(PathBuf),
    /// Scan experiments/ for the launch picker.
    ListExperiments,
    /// Read a run's spec for the fork form (answered by `Msg::ForkSpec`).
    ReadSpec {
        id: String,
        dir: PathBuf,
    },
    /// Clear the screen and draw everything again, re-sending every image (from the image cache:
    /// nothing is encoded again). After anything that can have erased images or left them on top
    /// of text: a resize, the terminal regaining focus, tmux showing the pane again, an overlay
    /// opening or closing, a change of view.
    Repaint,
    /// The dashboard's place changed: the loop writes it (debounced, `session::Saver`).
    SaveSession(super::session::Session),
    Quit,
}

/// One spec file of experiments/, parsed without validation (validation happens on launch).
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub path: PathBuf,
    pub name: String,
    pub spec: Result<Spec, String>,
    /// What it needs before it can start, in words ("photos in
    /// experiments/images/photos"): its image folders or weights are missing. The form shows
    /// it and Enter refuses until it is there.
    pub needs: Option<String>,
}

/// An increment of the open run's files, read by the poller.
#[derive(Debug)]
pub struct RunDelta {
    pub dir: PathBuf,
    pub status: Option<Status>,
    pub liveness: Liveness,
    pub spec: Option<Spec>,
    pub metrics: Update<MetricRow>,
    pub events: Update<Event>,
    pub log: Update<String>,
    pub samples: Update<SampleRecord>,
    pub scores: Update<ScoreRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    Runs,
    Run,
    Compare,
    Grid,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help,
    Launch(LaunchForm),
    ConfirmStop {
        id: String,
        dir: PathBuf,
    },
    /// A line of text for a run: a tag (`-tag` removes it) or a note.
    Prompt(Prompt),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub note: bool,
    pub run: String,
    pub text: String,
}

/// Chart settings, kept across runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartOpts {
    /// EMA weight in [0, 0.99].
    pub smoothing: f64,
    pub log_y: bool,
    /// X axis is wall time (hours since the first row) instead of the step.
    pub x_time: bool,
}

/// A control command sent and not yet acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub id: String,
    pub label: String,
    pub sent: f64,
}

/// The open run: everything tailed from its directory.
#[derive(Debug, Clone, Default)]
pub struct RunView {
    pub dir: PathBuf,
    pub id: String,
    pub status: Option<Status>,
    pub liveness: Option<Liveness>,
    pub spec: Option<Spec>,
    pub metrics: Vec<MetricRow>,
    pub events: Vec<Event>,
    pub log: VecDeque<String>,
    pub inputs: Vec<SampleRecord>,
    /// A distilled run's frozen teacher on each probe (written once by its trainer).
    pub teacher: Vec<SampleRecord>,
    /// A distilled run: the critic's map beside the student instead of the teacher (`T`).
    pub show_critic: bool,
    pub samples: BTreeMap<u64, Vec<SampleRecord>>,
    /// Index into the sample steps shown in the gallery.
    pub sample_idx: usize,
    /// Jump to new sample steps as they land.
    pub follow: bool,
    /// A sample step to show once the samples have arrived (a restored session).
    pub seek: Option<u64>,
    /// Selected probe (index into the probe set).
    pub probe: usize,
    /// Chart cursor: index into `metrics`.
    pub cursor: Option<usize>,
    pub pending: Vec<Pending>,
    /// Objective scores of the probe set per sample step (single_style runs).
    pub scores: Vec<ScoreRecord>,
    /// Chart series derived from `metrics` (see `charts`), refreshed by `update`.
    pub charts: Vec<super::charts::ChartData>,
    /// Steering at inference: the look preview, when on.
    pub look: Option<super::look::LookView>,
}

/// Log lines kept for the console pane.
pub const LOG_LINES: usize = 500;

impl RunView {
    /// The sample step on screen, if any.
    pub fn shown_step(&self) -> Option<u64> {
        self.samples.keys().nth(self.sample_idx).copied()
    }

    /// Probe ids (set, index) in a stable order.
    pub fn probes(&self) -> Vec<(String, usize)> {
        let mut p: Vec<(String, usize)> = self
            .inputs
            .iter()
            .map(|r| (r.set.clone(), r.probe))
            .collect();
        p.sort();
        p.dedup();
        p
    }

    /// Current value of every live knob: the spec's, overridden by acknowledged `set`s.
    pub fn knobs(&self) -> BTreeMap<Knob, f64> {
        let Some(spec) = &self.spec else {
            return BTreeMap::new();
        };
        // The trainer's own `Knobs`, replaying the acknowledged sets.
        let mut k = crate::train::Knobs::from_spec(spec);
        for e in &self.events {
            if let (Some(key), Some(v)) = (&e.key, e.value) {
                let _ = k.set(key, v);
            }
        }
        k.iter().collect()
    }
}

pub struct App {
    pub runs_dir: PathBuf,
    pub experiments_dir: PathBuf,
    pub now: f64,
    pub size: (u16, u16),
    /// Pixels per terminal cell (the image picker's font size): what the look preview renders
    /// for an area of cells.
    pub cell_px: (u16, u16),
    pub view: View,
    pub overlay: Option<Overlay>,
    pub runs: Vec<RunSummary>,
    /// Selected row of the (filtered) runs table.
    pub selected: usize,
    /// The filter's text as typed (`filter` module); `set_filter` parses it.
    pub filter: String,
    pub filtering: bool,
    /// The filter in force: the last text that parsed and named only keys some run has.
    pub active: Filter,
    /// Why the text typed is not in force (the table keeps the last good filter).
    pub filter_error: Option<String>,
    /// The runs table's order.
    pub sort: Sort,
    /// Each run's flattened spec and latest scores (by id), for the filter.
    pub facts: BTreeMap<String, RunFacts>,
    pub run: Option<RunView>,
    pub chart: ChartOpts,
    pub toast: Option<(String, f64)>,
    /// Graphics protocol in use, for the footer.
    pub graphics: &'static str,
    /// Why that protocol (Konsole, an old kitty, the query's answer, `--graphics`), for the help.
    pub graphics_why: String,
    /// The colours of every view, and why this palette (the foot of the help).
    pub theme: crate::tui::theme::Theme,
    pub theme_why: String,
    pub quit: bool,
    /// Runs marked (space) for compare and judging, in the order marked.
    pub marks: Vec<String>,
    /// The workspace's judgements, folded.
    pub ledger: Ledger,
    /// Bradley–Terry score of each run with judgements (derived from `ledger`).
    pub scores: HashMap<String, Strength>,
    /// Tags of each tagged run (derived from `ledger`).
    pub tags: BTreeMap<String, Vec<String>>,
    /// Ids of the judgements made in this dashboard, for undo (latest last).
    pub mine: Vec<String>,
    pub compare: Option<Compare>,
    pub grid: Option<Grid>,
    /// The GPU strip (empty without NVML).
    pub gpus: super::gpus::GpuStrip,
    /// A saved session waiting for the first runs scan (`Msg::Restore`); nothing is saved
    /// meanwhile, so the file is not overwritten by the empty start.
    pub restore: Option<super::session::Session>,
    /// The session last handed to the loop for saving.
    pub saved: Option<super::session::Session>,
    /// Seed groups among the runs (derived from `runs` and `facts` by `regroup`).
    pub groups: super::groups::Groups,
    /// The runs table shows one row per seed group.
    pub fold: bool,
    /// The charts show a seed group's mean and min–max band instead of a line per run.
    pub band: bool,
    /// Members of the groups on screen that are not on screen themselves, tailed for the band
    /// (`update/groups::sync_peers`).
    pub peers: Vec<RunView>,
    next_id: u64,
}

/// How long a notification stays.
pub const TOAST_SECS: f64 = 6.0;

impl App {
    pub fn new(runs_dir: PathBuf, experiments_dir: PathBuf, now: f64) -> Self {
        Self {
            runs_dir,
            experiments_dir,
            now,
            size: (120, 36),
            cell_px: (10, 20),
            view: View::Runs,
            overlay: None,
            runs: Vec::new(),
            selected: 0,
            filter: String::new(),
            filtering: false,
            active: Filter::default(),
            filter_error: None,
            sort: Sort::default(),
            facts: BTreeMap::new(),
            run: None,
            chart: ChartOpts {
                smoothing: super::series::DEFAULT_SMOOTHING,
                log_y: false,
                x_time: false,
            },
            toast: None,
            graphics: "halfblocks",
            graphics_why: "half blocks (no terminal query)".into(),
            theme: crate::tui::theme::Theme::default(),
            theme_why: "dark (default)".into(),
            quit: false,
            marks: Vec::new(),
            ledger: Ledger::default(),
            scores: HashMap::new(),
            tags: BTreeMap::new(),
            mine: Vec::new(),
            compare: None,
            grid: None,
            gpus: Default::default(),
            restore: None,
            saved: None,
            groups: Default::default(),
            fold: false,
            band: false,
            peers: Vec::new(),
            next_id: 0,
        }
    }

    /// The table's view of a run (for the filter and the sort).
    pub fn row<'a>(&'a self, r: &'a RunSummary) -> Row<'a> {
        Row {
            run: r,
            tags: self.tags.get(&r.id).map_or(&[], Vec::as_slice),
            facts: self.facts.get(&r.id),
            score: self
                .scores
                .get(&r.id)
                .filter(|s| s.comparisons > 0.0)
                .map(|s| s.score),
            now: self.now,
        }
    }

    /// Runs shown in the table: those the filter in force keeps, in the table's order (by
    /// creation, newest first, unless sorted by a column; ties keep that order). Folded, a seed
    /// group is one row: its first member in that order stands for it.
    pub fn visible_runs(&self) -> Vec<&RunSummary> {
        let mut rows: Vec<Row> = self
            .runs
            .iter()
            .map(|r| self.row(r))
            .filter(|row| self.active.matches(row))
            .collect();
        let sort = self.sort;
        if sort.by != SortBy::Time {
            rows.sort_by(|a, b| sort.cmp_keys(&a.key(sort.by), &b.key(sort.by)));
        } else if !sort.descending {
            rows.reverse();
        }
        if self.fold {
            let mut seen = std::collections::HashSet::new();
            rows.retain(|row| {
                self.groups
                    .index_of(&row.run.id)
                    .is_none_or(|g| seen.insert(g))
            });
        }
        rows.into_iter().map(|row| row.run).collect()
    }

    /// Derive the seed groups (after a runs scan or new facts).
    pub fn regroup(&mut self) {
        self.groups = super::groups::Groups::find(&self.runs, &self.facts);
    }

    /// Take the filter's text: its words that read, and compare keys some run has, are in force;
    /// `filter_error` names the first that is not (the table stays filtered by the others).
    pub fn set_filter(&mut self, text: String) {
        self.filter = text;
        let (mut f, error) = filter::parse(&self.filter);
        let unknown = f.drop_unknown(|k| self.runs.iter().any(|r| self.row(r).has(k)));
        self.filter_error = error.or(unknown.map(|k| format!("no run has `{k}` (see ? for keys)")));
        self.active = f;
    }

    /// Derive the runs' scores and tags from the ledger (after new judgements or new runs).
    /// Only runs that were judged take part in the fit: it stays small however many runs the
    /// table holds.
    pub fn rescore(&mut self) {
        self.tags = self
            .ledger
            .tags()
            .into_iter()
            .map(|(run, tags)| {
                (
                    run.to_string(),
                    tags.into_iter().map(String::from).collect(),
                )
            })
            .collect();
        let judged: std::collections::HashSet<&str> = self
            .ledger
            .active()
            .flat_map(|r| r.runs.iter().map(String::as_str))
            .collect();
        let ids: Vec<&str> = self
            .runs
            .iter()
            .map(|r| r.id.as_str())
            .filter(|id| judged.contains(id))
            .collect();
        self.scores = self.ledger.scores(&ids);
    }

    /// Every run view fed by the poller: the open run, the compared runs, the grid's, the
    /// band's peers.
    pub fn views_mut(&mut self) -> impl Iterator<Item = &mut RunView> {
        self.run
            .iter_mut()
            .chain(self.compare.iter_mut().flat_map(|c| c.runs.iter_mut()))
            .chain(self.grid.iter_mut().flat_map(|g| g.runs.iter_mut()))
            .chain(self.peers.iter_mut())
    }

    pub fn selected_run(&self) -> Option<&RunSummary> {
        self.visible_runs().get(self.selected).copied()
    }

    pub fn notify(&mut self, msg: impl Into<String>) {
        self.toast = Some((msg.into(), self.now + TOAST_SECS));
    }

    /// A fresh id for a control command.
    pub fn command_id(&mut self) -> String {
        self.next_id += 1;
        format!("ui-{}-{}", (self.now * 1000.0) as u64, self.next_id)
    }
}

/// Apply an update of a tailed file to a vector.
pub fn apply<T>(into: &mut Vec<T>, update: Update<T>) {
    match update {
        Update::Appended(v) => into.extend(v),
        Update::Reset(v) => *into = v,
    }
}

impl RunDelta {
    /// Whether this delta carries anything new beyond what `previous_status` already said.
    pub fn is_news(
        &self,
        previous_status: Option<&Status>,
        previous_liveness: Option<Liveness>,
    ) -> bool {
        let grew = |u: &Update<_>| matches!(u, Update::Reset(_)) || !u.records().is_empty();
        self.spec.is_some()
            || self.status.as_ref() != previous_status
            || Some(self.liveness) != previous_liveness
            || grew(&self.metrics)
            || matches!(self.events, Update::Reset(_))
            || !self.events.records().is_empty()
            || matches!(self.log, Update::Reset(_))
            || !self.log.records().is_empty()
            || matches!(self.samples, Update::Reset(_))
            || !self.samples.records().is_empty()
            || matches!(self.scores, Update::Reset(_))
            || !self.scores.records().is_empty()
    }
}

impl RunView {
    /// Fold a delta from the poller into the view.
    pub fn absorb(&mut self, d: RunDelta) {
        self.status = d.status.or(self.status.take());
        self.liveness = Some(d.liveness);
        if d.spec.is_some() {
            self.spec = d.spec;
        }
        apply(&mut self.metrics, d.metrics);
        if let Some(c) = self.cursor {
            self.cursor = Some(c.min(self.metrics.len().saturating_sub(1)));
        }
        apply(&mut self.events, d.events);
        apply(&mut self.scores, d.scores);
        let acked: Vec<String> = self.events.iter().filter_map(|e| e.id.clone()).collect();
        self.pending.retain(|p| !acked.contains(&p.id));
        match d.log {
            Update::Appended(v) => self.log.extend(v),
            Update::Reset(v) => self.log = v.into(),
        }
        while self.log.len() > LOG_LINES {
            self.log.pop_front();
        }
        let records = match d.samples {
            Update::Appended(v) => v,
            Update::Reset(v) => {
                self.samples.clear();
                self.inputs.clear();
                self.teacher.clear();
                v
            }
        };
        for r in records {
            if r.kind == "input" {
                self.inputs.push(r);
            } else if r.kind == crate::run_dir::TEACHER {
                self.teacher.push(r);
            } else {
                self.samples.entry(r.step).or_default().push(r);
            }
        }
        if let Some(step) = self.seek.filter(|_| !self.samples.is_empty()) {
            self.seek = None;
            self.follow = false;
            self.sample_idx = self.samples.range(..=step).count().saturating_sub(1);
        }
        if self.follow && !self.samples.is_empty() {
            self.sample_idx = self.samples.len() - 1;
        }
        self.sample_idx = self.sample_idx.min(self.samples.len().saturating_sub(1));
    }
}
