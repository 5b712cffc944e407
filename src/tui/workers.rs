//! Background work that reports to the UI through the one `Msg` channel: the poller rescans the
//! runs directory every second (and reads the specs and latest scores of runs whose files
//! changed, for the table's filter), tails the open run's files every 250 ms (only what was appended),
//! lists experiments on request, and samples the GPUs every 2 s (a message only when a sample
//! changed; never again once the source says there is no NVML). When runs went through Slurm,
//! a thread of its own asks the scheduler about all their jobs in one `squeue` call every
//! [`SLURM_POLL`] (a slow or absent controller never delays the poller) and leaves the answer in
//! [`SharedJobs`] for the poller's scans. Nothing here blocks the UI thread.

use super::app::{Experiment, Msg, RunDelta};
use crate::gpu::{GpuSample, GpuSource};
use crate::run_dir::{self, RunDir};
use crate::store::{self, tail::Tail};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Requests from the UI thread to the poller.
#[derive(Debug)]
pub enum Request {
    Watch(Option<PathBuf>),
    /// The runs of the compare view or the grid (empty: none).
    WatchMany(Vec<PathBuf>),
    ListExperiments,
    /// A run's spec for the fork form.
    ReadSpec {
        id: String,
        dir: PathBuf,
    },
    Rescan,
}

/// The open run: one tail per file.
pub struct Watched {
    dir: PathBuf,
    metrics: Tail,
    events: Tail,
    log: Tail,
    samples: Tail,
    scores: Tail,
    spec_sent: bool,
    /// What the UI last heard (status, liveness), so unchanged polls send nothing.
    told: (Option<run_dir::Status>, Option<store::Liveness>),
}

impl Watched {
    pub fn new(dir: PathBuf) -> Self {
        let run = RunDir::new(&dir);
        Self {
            metrics: Tail::new(run.path(run_dir::METRICS)),
            events: Tail::new(run.path(run_dir::EVENTS)),
            log: Tail::new(run.path(run_dir::LOG)),
            samples: Tail::new(run.path(run_dir::SAMPLE_INDEX)),
            scores: Tail::new(run.path(run_dir::SCORES)),
            dir,
            spec_sent: false,
            told: (None, None),
        }
    }

    /// The next delta, if it carries news; a Slurm run's liveness follows its job.
    pub fn news(&mut self, jobs: Option<&crate::slurm::Jobs>) -> Option<RunDelta> {
        let mut delta = self.poll();
        if let Some((_, info)) = store::job_of(&RunDir::new(&self.dir), jobs) {
            delta.liveness = store::scheduled(delta.status.as_ref(), info.as_ref(), run_dir::now());
        }
        if !delta.is_news(self.told.0.as_ref(), self.told.1) {
            return None;
        }
        self.told = (delta.status.clone(), Some(delta.liveness));
        Some(delta)
    }

    /// Everything new since the last poll, with the current status.
    pub fn poll(&mut self) -> RunDelta {
        let status = run_dir::read_status(&self.dir);
        let liveness = store::liveness(status.as_ref(), run_dir::now());
        let spec = if self.spec_sent {
            None
        } else {
            let s = store::read_spec(&RunDir::new(&self.dir)).ok();
            self.spec_sent = s.is_some();
            s
        };
        RunDelta {
            dir: self.dir.clone(),
            status,
            liveness,
            spec,
            metrics: self.metrics.poll_json(),
            events: self.events.poll_json(),
            log: self.log.poll_lines(),
            samples: self.samples.poll_json(),
            scores: self.scores.poll_json(),
        }
    }
}

/// What the scheduler last said about the Slurm runs' jobs (`None`: no Slurm runs, or the
/// controller could not be asked: runs are then judged by their heartbeat).
pub type SharedJobs = Arc<Mutex<Option<crate::slurm::Jobs>>>;

/// How often the Slurm thread asks the scheduler.
pub const SLURM_POLL: Duration = Duration::from_secs(3);

/// Start the poller; it ends when the UI drops the request sender or the message receiver.
pub fn spawn_poller(
    runs_dir: PathBuf,
    experiments_dir: PathBuf,
    tx: Sender<Msg>,
    gpus: Box<dyn GpuSource>,
) -> Sender<Request> {
    let (req_tx, req_rx) = std::sync::mpsc::channel();
    let jobs: SharedJobs = Arc::new(Mutex::new(None));
    spawn_slurm_watch(runs_dir.clone(), tx.clone(), jobs.clone());
    std::thread::Builder::new()
        .name("poller".into())
        .spawn(move || {
            poll_loop(
                runs_dir,
                experiments_dir,
                tx,
                req_rx,
                GpuPoll::new(gpus),
                jobs,
            )
        })
        .expect("spawning the poller thread");
    req_tx
}

/// The Slurm thread: one scheduler poll every [`SLURM_POLL`] while any run went through Slurm
/// (none at all otherwise); a failure (controller down, squeue missing) is told once, and its
/// recovery too. Ends when the UI's receiver is gone.
fn spawn_slurm_watch(runs_dir: PathBuf, tx: Sender<Msg>, shared: SharedJobs) {
    std::thread::Builder::new()
        .name("slurm".into())
        .spawn(move || {
            let mut failing: Option<String> = None;
            loop {
                let (jobs, note) = match crate::slurm::poll(&runs_dir) {
                    None => (None, None),
                    Some(Ok(j)) => (
                        Some(j),
                        failing.take().map(|_| "slurm answers again".to_string()),
                    ),
                    Some(Err(e)) => {
                        let msg = format!("slurm: {e:#} (runs judged by heartbeat)");
                        let new = failing.as_deref() != Some(msg.as_str());
                        failing = Some(msg.clone());
                        (None, new.then_some(msg))
                    }
                };
                if let Ok(mut g) = shared.lock() {
                    *g = jobs;
                }
                if let Some(n) = note {
                    if tx.send(Msg::Notify(n)).is_err() {
                        return;
                    }
                }
                std::thread::sleep(SLURM_POLL);
            }
        })
        .expect("spawning the slurm thread");
}

/// The GPU half of the poller: a source, when it last sampled, and what the UI last heard.
pub struct GpuPoll {
    source: Box<dyn GpuSource>,
    /// How often to sample (2 s; tests use 0).
    pub every: Duration,
    last: Option<Instant>,
    told: Option<Vec<GpuSample>>,
    /// The source said "no NVML": stop asking.
    gone: bool,
}

impl GpuPoll {
    pub fn new(source: Box<dyn GpuSource>) -> Self {
        Self {
            source,
            every: Duration::from_secs_f64(crate::tui::gpus::SAMPLE_SECS),
            last: None,
            told: None,
            gone: false,
        }
    }

    /// A message when a sample is due and differs from the last one told.
    pub fn news(&mut self) -> Option<Msg> {
        if self.gone || self.last.is_some_and(|t| t.elapsed() < self.every) {
            return None;
        }
        self.last = Some(Instant::now());
        let Some(sample) = self.source.sample() else {
            self.gone = true;
            // Tell the UI only if it had heard of GPUs.
            return self.told.take().map(|_| Msg::Gpus(None));
        };
        if self.told.as_ref() == Some(&sample) {
            return None;
        }
        self.told = Some(sample.clone());
        Some(Msg::Gpus(Some(sample)))
    }
}

fn poll_loop(
    runs_dir: PathBuf,
    experiments_dir: PathBuf,
    tx: Sender<Msg>,
    rx: Receiver<Request>,
    mut gpus: GpuPoll,
    jobs: SharedJobs,
) {
    let mut watched: Option<Watched> = None;
    let mut many: Vec<Watched> = Vec::new();
    let mut ratings = Tail::new(runs_dir.join(crate::ratings::RATINGS));
    let mut last_scan: Option<Instant> = None;
    let mut last_runs: Option<Vec<store::RunSummary>> = None;
    // The runs' specs and scores for the filter, read again only when their files change.
    let mut facts = crate::tui::runs_table::FactsReader::default();
    let mut last_facts = None;
    loop {
        let update = ratings.poll_json();
        if (update.is_reset() || !update.records().is_empty())
            && tx.send(Msg::Ratings(update)).is_err()
        {
            return;
        }
        let known = jobs.lock().ok().and_then(|g| g.clone());
        if last_scan.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            let runs = store::scan_with(&runs_dir, known.as_ref());
            let read = facts.read(&runs);
            if last_facts.as_ref() != Some(&read) {
                last_facts = Some(read.clone());
                if tx.send(Msg::Facts(read)).is_err() {
                    return;
                }
            }
            if last_runs.as_ref() != Some(&runs) {
                last_runs = Some(runs.clone());
                if tx.send(Msg::Runs(runs)).is_err() {
                    return;
                }
            }
            last_scan = Some(Instant::now());
        }
        if let Some(msg) = gpus.news() {
            if tx.send(msg).is_err() {
                return;
            }
        }
        for w in watched.iter_mut().chain(many.iter_mut()) {
            if let Some(delta) = w.news(known.as_ref()) {
                if tx.send(Msg::RunData(Box::new(delta))).is_err() {
                    return;
                }
            }
        }
        match rx.recv_timeout(Duration::from_millis(250)) {
            Ok(Request::Watch(dir)) => watched = dir.map(Watched::new),
            Ok(Request::WatchMany(dirs)) => {
                // Keep the tails of runs still watched: their views already hold that data.
                let mut old = std::mem::take(&mut many);
                many = dirs
                    .into_iter()
                    .map(|d| match old.iter().position(|w| w.dir == d) {
                        Some(i) => old.swap_remove(i),
                        None => Watched::new(d),
                    })
                    .collect();
            }
            Ok(Request::ListExperiments) => {
                if tx
                    .send(Msg::Experiments(list_experiments(&experiments_dir)))
                    .is_err()
                {
                    return;
                }
            }
            Ok(Request::ReadSpec { id, dir }) => {
                if tx.send(read_spec(id, dir)).is_err() {
                    return;
                }
            }
            Ok(Request::Rescan) => {
                last_scan = None;
                last_runs = None;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// A run's spec as the fork form's message.
pub fn read_spec(id: String, dir: PathBuf) -> Msg {
    let spec =
        crate::store::read_spec(&crate::run_dir::RunDir::new(&dir)).map_err(|e| format!("{e:#}"));
    Msg::ForkSpec {
        id,
        dir,
        spec: Box::new(spec),
    }
}

/// Every `*.toml` in the folder, then the GPU recipes in `gpu/` and the studies' proposals in
/// `proposed/`, parsed (not
/// validated: that happens on launch), by name.
pub fn list_experiments(dir: &std::path::Path) -> Vec<Experiment> {
    let mut out = list_specs(dir, "");
    // The quickstart first: it is what a new user wants.
    out.sort_by_key(|e| (e.name != "quickstart", e.name.clone()));
    // GPU-sized recipes (experiments/gpu/), then the proposals.
    let mut gpu = list_specs(&dir.join("gpu"), "gpu/");
    gpu.sort_by(|a, b| a.name.cmp(&b.name));
    out.extend(gpu);
    let mut proposed = list_specs(&dir.join("proposed"), "proposed/");
    proposed.sort_by(|a, b| b.name.cmp(&a.name));
    out.extend(proposed);
    out
}

fn list_specs(dir: &std::path::Path, prefix: &str) -> Vec<Experiment> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|path| {
            let name = path
                .file_stem()
                .map(|s| format!("{prefix}{}", s.to_string_lossy()))
                .unwrap_or_default();
            let spec = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| {
                    toml::from_str(&t).map_err(|e: toml::de::Error| e.message().to_string())
                });
            let needs = spec.as_ref().ok().and_then(|s| needs(&path, s));
            Experiment {
                path,
                name,
                spec,
                needs,
            }
        })
        .collect()
}

/// A path as a person would type it: `..` folded away, relative to the current directory when
/// under it (`experiments/images/photos`).
fn shown(p: &std::path::Path) -> String {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    out.strip_prefix(&cwd)
        .map(std::path::Path::to_path_buf)
        .unwrap_or(out)
        .display()
        .to_string()
}

/// What a spec needs before it can start, when its validation fails on files the user has to
/// provide (image folders, the style image, feature weights); `None` when it validates or fails
/// on something the form's fields can change (that error comes on Enter). Validating reads the
/// folders, so this runs on the poller, never on the UI thread.
pub fn needs(path: &std::path::Path, spec: &crate::spec::Spec) -> Option<String> {
    use crate::spec::ImageSource;
    let err = crate::spec::load(path, &[]).err()?;
    let base = path.parent().unwrap_or(std::path::Path::new(""));
    let at = |s: &str| shown(&base.join(s));
    let folder = |src: &Option<ImageSource>| match src {
        Some(ImageSource::One(s)) => Some(at(s)),
        _ => None,
    };
    let missing = err.reason.contains("does not exist") || err.reason.contains("holds no");
    let said = match err.field.as_deref()? {
        "data.content" if missing => folder(&spec.data.content).map(|p| format!("photos in {p}")),
        "data.a" if missing => folder(&spec.data.a).map(|p| format!("domain A images in {p}")),
        "data.b" if missing => folder(&spec.data.b).map(|p| format!("domain B images in {p}")),
        "data.style" if missing => spec
            .data
            .style
            .as_deref()
            .map(|s| format!("its style image {}", at(s))),
        f @ ("data.content" | "data.a" | "data.b" | "data.style" | "features.weights") => {
            Some(format!("{f}: {}", err.reason))
        }
        _ => return None,
    };
    Some(said.unwrap_or_else(|| err.reason.clone()))
}
