//! The run-directory contract (`runs/<run-id>/`): file names and the record types written by the
//! trainer and read by `store`, the dashboard and `launch`. The trainer is the single writer of
//! every file except `control.jsonl`; whole files are replaced by atomic rename and logs are
//! appended one complete line per `write`, so a reader never sees a half-written record except,
//! at worst, a torn last line, which readers skip.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const SPEC: &str = "spec.toml";
pub const STATUS: &str = "status.json";
pub const METRICS: &str = "metrics.jsonl";
pub const EVENTS: &str = "events.jsonl";
pub const CONTROL: &str = "control.jsonl";
pub const LOG: &str = "train.log";
pub const SAMPLES: &str = "samples";
pub const SAMPLE_INDEX: &str = "samples/index.jsonl";
pub const SCORES: &str = "samples/scores.jsonl";
/// A distilled run's teacher on the probes: the folder under `samples/` and the index kind.
pub const TEACHER: &str = "teacher";
pub const CHECKPOINTS: &str = "checkpoints";
pub const LATEST: &str = "checkpoints/latest";
/// Present in a run made by `atelier import`: what it came from. Such a run is read-only.
pub const IMPORTED: &str = "imported.json";

/// Paths inside one run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
    /// The run id is the directory's name.
    pub fn id(&self) -> String {
        self.root
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
    pub fn checkpoint(&self, step: u64) -> PathBuf {
        self.root.join(CHECKPOINTS).join(checkpoint_name(step))
    }
    pub fn sample_dir(&self, step: u64) -> PathBuf {
        self.root.join(SAMPLES).join(format!("step_{step:07}"))
    }
    /// Step of the latest complete checkpoint, from the `checkpoints/latest` pointer.
    pub fn latest_checkpoint(&self) -> Option<u64> {
        let text = std::fs::read_to_string(self.path(LATEST)).ok()?;
        parse_checkpoint_name(text.trim())
    }
    /// Steps of every complete checkpoint on disk, ascending.
    pub fn checkpoints(&self) -> Vec<u64> {
        let mut steps: Vec<u64> = std::fs::read_dir(self.path(CHECKPOINTS))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join(CHECKPOINT_STATE).is_file())
            .filter_map(|e| parse_checkpoint_name(&e.file_name().to_string_lossy()))
            .collect();
        steps.sort_unstable();
        steps
    }
}

/// The file that completes a checkpoint directory (written last).
pub const CHECKPOINT_STATE: &str = "state.json";

pub fn checkpoint_name(step: u64) -> String {
    format!("step_{step:07}")
}

pub fn parse_checkpoint_name(name: &str) -> Option<u64> {
    name.strip_prefix("step_")?.parse().ok()
}

/// Lifecycle of a run as the trainer reports it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Starting,
    Running,
    Paused,
    Finished,
    Failed,
    Stopped,
}

impl RunState {
    /// The trainer process has ended (or should have).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunState::Finished | RunState::Failed | RunState::Stopped
        )
    }
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Starting => "starting",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Finished => "finished",
            RunState::Failed => "failed",
            RunState::Stopped => "stopped",
        }
    }
}

/// `status.json`: the heartbeat, rewritten at least every 2 s while the trainer lives.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub state: RunState,
    pub name: String,
    pub mode: String,
    pub pid: u32,
    pub host: String,
    pub step: u64,
    pub total_steps: u64,
    /// Unix seconds of the last heartbeat.
    pub heartbeat: f64,
    /// Unix seconds when this trainer process started.
    pub started: f64,
    pub backend: String,
    pub device: String,
    #[serde(default)]
    pub images_per_s: Option<f64>,
    /// Estimated seconds to the last step at the current speed.
    #[serde(default)]
    pub eta_secs: Option<f64>,
    #[serde(default)]
    pub message: Option<String>,
    /// The study this run belongs to (a spec with `[search]`), for the dashboard's grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<String>,
    /// A distilled run's teacher (its run id: `distill.parent` in the spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MetricRow {
    pub step: u64,
    /// Unix seconds.
    pub time: f64,
    pub lr_g: f64,
    pub lr_d: f64,
    pub images_per_s: f64,
    /// Every loss term by name: g_adv, d_real, d_fake, content, style, tv, cycle_a, ...
    #[serde(flatten)]
    pub losses: BTreeMap<String, f64>,
}

/// One line of `control.jsonl`, written by the dashboard or CLI.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ControlLine {
    /// Caller-chosen id echoed in the acknowledgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(flatten)]
    pub command: Command,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    Pause,
    Resume,
    /// Checkpoint, then exit with state `stopped`.
    Stop,
    /// Write a checkpoint now.
    Checkpoint,
    /// Set a live knob: `loss.*_weight`, `optim.lr`, `optim.lr_g`, `optim.lr_d`.
    Set {
        key: String,
        value: f64,
    },
    /// Preference-weighted discriminator (single_style with `steer.favored_fraction > 0`): this
    /// output joins the critic's real batch for `steer.favored_ttl` steps. `image` is absolute or
    /// relative to the run directory, normally one of its `samples/step_N/*_output.png`.
    Favor {
        image: String,
    },
}

/// One line of `events.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub time: f64,
    pub step: u64,
    /// started, resumed, ack, rejected, checkpoint, sample, warning, paused, resumed_run, finished,
    /// failed, stopped
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// For an acknowledged `set`: the knob and its new value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// One line of `samples/index.jsonl`: one image written at a sample step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SampleRecord {
    pub step: u64,
    /// Which probe set: "content" (single_style), "a" or "b" (cyclegan: inputs of that domain).
    pub set: String,
    pub probe: usize,
    /// "input", "output", "patch" (the discriminator's realness map of the output), or
    /// "teacher" (a distilled run's frozen teacher on the probe, written once, under
    /// `samples/teacher/`).
    pub kind: String,
    /// Relative to the run directory.
    pub path: String,
}

/// One line of `samples/scores.jsonl`: objective scores of one probe's output at a sample step
/// (see `eval`): structure kept (SSIM) and gains over the untouched photo in style and texture
/// distance to the style image, beside the colour-only (histogram-matched) baseline's gains.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScoreRecord {
    pub step: u64,
    pub set: String,
    pub probe: usize,
    pub ssim: f64,
    pub style_gain: f64,
    pub texture_gain: f64,
    pub histogram_style_gain: f64,
    pub histogram_texture_gain: f64,
    /// The output's checkerboard index (`eval::checkerboard`); absent in older runs.
    #[serde(default)]
    pub checkerboard: f64,
    /// The output's high-pass energy over the style's (`eval::Scores::texture_energy`); absent
    /// in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texture_energy: Option<f64>,
    /// The output's, the photo's and the style image's orientation coherence
    /// (`eval::orientation_coherence`); absent in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<Against>,
    /// The output's, the photo's and the style image's periodicity (`eval::periodicity`: a
    /// weave); absent in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periodicity: Option<Against>,
    /// The output's, the photo's and the style image's colour speckle (`eval::speckle`); absent
    /// in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speckle: Option<Against>,
    /// The output's, the photo's and the style image's local stroke coherence
    /// (`eval::local_coherence`); absent in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coherence: Option<Against>,
}

impl ScoreRecord {
    /// The mean of several records (the probes of one step), under the first's step, set and
    /// probe; an optional measure is kept only when every record has it. `None` when empty.
    pub fn mean(v: &[&ScoreRecord]) -> Option<ScoreRecord> {
        let first = v.first()?;
        let m = |f: fn(&ScoreRecord) -> f64| v.iter().map(|r| f(r)).sum::<f64>() / v.len() as f64;
        let all = |f: fn(&ScoreRecord) -> Option<f64>| {
            let e: Option<Vec<f64>> = v.iter().map(|r| f(r)).collect();
            e.map(|e| e.iter().sum::<f64>() / e.len() as f64)
        };
        let against = |f: fn(&ScoreRecord) -> Option<Against>| {
            v.iter()
                .map(|r| f(r))
                .collect::<Option<Vec<_>>>()
                .and_then(|a| Against::mean(&a))
        };
        Some(ScoreRecord {
            step: first.step,
            set: first.set.clone(),
            probe: first.probe,
            ssim: m(|r| r.ssim),
            style_gain: m(|r| r.style_gain),
            texture_gain: m(|r| r.texture_gain),
            histogram_style_gain: m(|r| r.histogram_style_gain),
            histogram_texture_gain: m(|r| r.histogram_texture_gain),
            checkerboard: m(|r| r.checkerboard),
            texture_energy: all(|r| r.texture_energy),
            orientation: against(|r| r.orientation),
            periodicity: against(|r| r.periodicity),
            speckle: against(|r| r.speckle),
            coherence: against(|r| r.coherence),
        })
    }
}

/// A measure of an output beside the same measure of its photo and of its style image (a hatch
/// or a weave: the output's well above both).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Against {
    pub output: f64,
    pub photo: f64,
    pub style: f64,
}

impl Against {
    /// The mean of each of the three over `v` (the probes of one step); `None` when empty.
    pub fn mean(v: &[Against]) -> Option<Against> {
        if v.is_empty() {
            return None;
        }
        let m = |f: fn(&Against) -> f64| v.iter().map(f).sum::<f64>() / v.len() as f64;
        Some(Against {
            output: m(|a| a.output),
            photo: m(|a| a.photo),
            style: m(|a| a.style),
        })
    }
}

/// `checkpoints/step_N/state.json`: what the tensors alone do not say.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckpointState {
    pub step: u64,
    pub time: f64,
    /// Live knob values at checkpoint time, re-applied on resume: key -> value.
    pub knobs: BTreeMap<String, f64>,
    /// Files of this checkpoint (model and optimizer records).
    pub files: Vec<String>,
}

/// `imported.json`: where an imported run came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Imported {
    /// `cyclegan-log` or `cyclegan`.
    pub kind: String,
    /// The file(s) it was made from.
    pub source: String,
    /// Unix seconds of the import.
    pub time: f64,
}

/// The run's `imported.json`, if it is an imported run.
pub fn read_imported(dir: &Path) -> Option<Imported> {
    serde_json::from_slice(&std::fs::read(dir.join(IMPORTED)).ok()?).ok()
}

/// Unix time in seconds.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Replace a file atomically: write a temporary sibling, fsync, rename over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Append one JSON line with a single `write` on an `O_APPEND` file, so concurrent appenders
/// never interleave inside a line.
pub fn append_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(&line)
}

/// Parse complete JSON lines, skipping torn or malformed ones.
pub fn parse_lines<T: for<'de> Deserialize<'de>>(text: &str) -> Vec<T> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Read a JSON-lines file; a missing file is empty.
pub fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> Vec<T> {
    std::fs::read_to_string(path)
        .map(|t| parse_lines(&t))
        .unwrap_or_default()
}

/// Read and parse `status.json`, if present and well-formed.
pub fn read_status(dir: &Path) -> Option<Status> {
    let text = std::fs::read_to_string(dir.join(STATUS)).ok()?;
    serde_json::from_str(&text).ok()
}

/// `YYYYmmdd-HHMMSS` in UTC for run ids.
pub fn timestamp_id(unix: f64) -> String {
    let secs = unix.max(0.0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A run's own name: its id without the `YYYYmmdd-HHMMSS-` prefix (`--name`, the launch form's
/// name, else the spec's name, plus `-2`… when that id was taken). An id of another shape is its
/// own name.
pub fn run_name(id: &str) -> &str {
    let b = id.as_bytes();
    let stamped = b.len() > 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'-'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'-';
    if stamped {
        &id[16..]
    } else {
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_name_strips_the_timestamp() {
        assert_eq!(run_name("20261204-101500-watched"), "watched");
        assert_eq!(run_name("20261204-101500-watched-2"), "watched-2");
        assert_eq!(run_name("my-old-run"), "my-old-run");
        assert_eq!(run_name("20261204-101500-"), "20261204-101500-");
        assert_eq!(run_name("20261204-10150x-a"), "20261204-10150x-a");
        let id = format!("{}-x", timestamp_id(1.7e9));
        assert_eq!(run_name(&id), "x");
    }

    #[test]
    fn a_step_s_mean_record_keeps_only_the_measures_every_probe_has() {
        let against = |v: f64| {
            Some(Against {
                output: v,
                photo: 2.0 * v,
                style: 3.0,
            })
        };
        let r = |ssim: f64, speckle: Option<Against>| ScoreRecord {
            step: 400,
            set: "content".into(),
            probe: 0,
            ssim,
            style_gain: ssim,
            texture_gain: ssim,
            histogram_style_gain: 0.5,
            histogram_texture_gain: 0.1,
            checkerboard: 0.0,
            texture_energy: Some(ssim),
            orientation: against(ssim),
            periodicity: against(ssim),
            speckle,
            coherence: against(ssim),
        };
        let (a, b) = (r(0.2, against(1.0)), r(0.4, None));
        let m = ScoreRecord::mean(&[&a, &b]).unwrap();
        assert!((m.ssim - 0.3).abs() < 1e-12 && m.step == 400);
        assert_eq!(m.texture_energy.map(|e| (e * 10.0).round()), Some(3.0));
        let o = m.orientation.unwrap();
        assert!((o.output - 0.3).abs() < 1e-12 && (o.photo - 0.6).abs() < 1e-12);
        // One probe scored before the speckle existed: no mean to show.
        assert_eq!(m.speckle, None);
        assert_eq!(ScoreRecord::mean(&[]), None);
    }

    #[test]
    fn timestamp_is_civil_utc() {
        assert_eq!(timestamp_id(0.0), "19700101-000000");
        assert_eq!(timestamp_id(1_795_293_296.0), "20261121-203456");
    }

    #[test]
    fn torn_lines_are_skipped_and_commands_round_trip() {
        let text = "{\"cmd\":\"pause\"}\n{\"id\":\"k\",\"cmd\":\"set\",\"key\":\"optim.lr\",\"value\":0.001}\n{\"cmd\":\"favor\",\"image\":\"samples/a.png\"}\n{\"cmd\":\"sto";
        let lines: Vec<ControlLine> = parse_lines(text);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[2].command,
            Command::Favor {
                image: "samples/a.png".into()
            }
        );
        assert_eq!(lines[0].command, Command::Pause);
        assert_eq!(lines[1].id.as_deref(), Some("k"));
        assert_eq!(
            lines[1].command,
            Command::Set {
                key: "optim.lr".into(),
                value: 0.001
            }
        );
    }

    #[test]
    fn metric_rows_flatten_losses() {
        let mut losses = BTreeMap::new();
        losses.insert("g_adv".to_string(), 0.5);
        let row = MetricRow {
            step: 3,
            time: 1.0,
            lr_g: 1e-4,
            lr_d: 1e-4,
            images_per_s: 2.0,
            losses,
        };
        let json = serde_json::to_string(&row).unwrap();
        assert!(json.contains("\"g_adv\":0.5"), "{json}");
        let back: MetricRow = serde_json::from_str(&json).unwrap();
        assert_eq!(back, row);
    }
}
