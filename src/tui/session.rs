//! Session restore: where the dashboard was (view, open run, its probe and step, the compare
//! view's runs, marks, chart settings, the runs table's filter and order, the seed-group toggles),
//! kept in `runs/.atelier-session.json` so a dropped SSH connection loses nothing. `Session::of`
//! reads it off the `App` (pure); `update` emits `Effect::SaveSession` when it changed and
//! applies a loaded one (`update/restore.rs`); the loop writes it through [`Saver`], at most
//! [`SAVE_DELAY`] after the first change of a burst, with `run_dir::write_atomic`. A file that
//! does not parse is ignored with a note (never an error); unknown fields are ignored and missing
//! ones take their defaults, so older and newer dashboards read each other's files.

use super::app::{App, View};
use super::filter::Sort;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The file in the runs folder (a dot file: the runs scan reads only directories).
pub const FILE: &str = ".atelier-session.json";

/// A burst of changes is written this long after its first change.
pub const SAVE_DELAY: Duration = Duration::from_secs(1);

/// The run view's place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SavedRun {
    pub id: String,
    pub probe: usize,
    /// The sample step shown; None: the latest, following new ones.
    pub step: Option<u64>,
}

/// The compare view's place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SavedCompare {
    pub runs: Vec<String>,
    pub probe: usize,
    /// The step under the scrubber; None: the latest, following new ones.
    pub step: Option<u64>,
}

/// Everything restored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    pub view: View,
    /// The runs table's selected run.
    pub selected: Option<String>,
    pub run: Option<SavedRun>,
    pub compare: Option<SavedCompare>,
    pub marks: Vec<String>,
    pub smoothing: f64,
    pub log_y: bool,
    pub x_time: bool,
    pub filter: String,
    pub sort: Sort,
    /// Seed groups: one row per group in the runs table.
    pub fold: bool,
    /// Seed groups: charts show a group's mean and min–max band.
    pub band: bool,
}

impl Default for Session {
    fn default() -> Self {
        Self {
            view: View::Runs,
            selected: None,
            run: None,
            compare: None,
            marks: Vec::new(),
            smoothing: super::series::DEFAULT_SMOOTHING,
            log_y: false,
            x_time: false,
            filter: String::new(),
            sort: Sort::default(),
            fold: false,
            band: false,
        }
    }
}

impl Session {
    /// The dashboard's place now.
    pub fn of(app: &App) -> Session {
        let run = app.run.as_ref().map(|r| SavedRun {
            id: r.id.clone(),
            probe: r.probe,
            step: r
                .seek
                .or_else(|| (!r.follow).then(|| r.shown_step()).flatten()),
        });
        let compare = app.compare.as_ref().map(|c| SavedCompare {
            runs: c.runs.iter().map(|r| r.id.clone()).collect(),
            probe: c.probe,
            step: c.seek.or_else(|| (!c.follow).then(|| c.step()).flatten()),
        });
        Session {
            // The grid is not restored: a study's grid is one key away (b).
            view: match app.view {
                View::Grid => View::Runs,
                v => v,
            },
            selected: app.selected_run().map(|r| r.id.clone()),
            run,
            compare,
            marks: app.marks.clone(),
            smoothing: app.chart.smoothing,
            log_y: app.chart.log_y,
            x_time: app.chart.x_time,
            filter: app.filter.clone(),
            sort: app.sort,
            fold: app.fold,
            band: app.band,
        }
    }
}

/// Where a runs folder's session is kept.
pub fn path(runs_dir: &Path) -> PathBuf {
    runs_dir.join(FILE)
}

/// The saved session: None when there is none; Err (a sentence) when the file cannot be read or
/// is not a session.
pub fn load(runs_dir: &Path) -> Option<Result<Session, String>> {
    let p = path(runs_dir);
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(format!("{}: {e}", p.display()))),
    };
    Some(serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", p.display())))
}

/// Write the session (atomically). A missing runs folder is left alone: the dashboard does not
/// create a workspace just to remember its place.
pub fn save(runs_dir: &Path, s: &Session) -> std::io::Result<()> {
    if !runs_dir.is_dir() {
        return Ok(());
    }
    let bytes = serde_json::to_vec_pretty(s).map_err(std::io::Error::other)?;
    crate::run_dir::write_atomic(&path(runs_dir), &bytes)
}

/// The loop's debouncer: the latest session offered, written [`SAVE_DELAY`] after the first
/// unsaved change (so within 2 s of any change, however long the burst).
#[derive(Debug, Default)]
pub struct Saver {
    pending: Option<(Session, Instant)>,
}

impl Saver {
    pub fn offer(&mut self, s: Session, now: Instant) {
        let since = self.pending.take().map_or(now, |(_, t)| t);
        self.pending = Some((s, since));
    }

    /// The session to write now, if one is due.
    pub fn due(&mut self, now: Instant) -> Option<Session> {
        match &self.pending {
            Some((_, since)) if now.duration_since(*since) >= SAVE_DELAY => {
                self.pending.take().map(|(s, _)| s)
            }
            _ => None,
        }
    }

    /// Whatever is pending (on quit).
    pub fn flush(&mut self) -> Option<Session> {
        self.pending.take().map(|(s, _)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::filter::SortBy;

    fn sample() -> Session {
        Session {
            view: View::Compare,
            selected: Some("20261205-100000-a".into()),
            run: Some(SavedRun {
                id: "20261205-100000-a".into(),
                probe: 2,
                step: Some(150),
            }),
            compare: Some(SavedCompare {
                runs: vec!["a".into(), "b".into()],
                probe: 1,
                step: None,
            }),
            marks: vec!["a".into(), "b".into()],
            smoothing: 0.3,
            log_y: true,
            x_time: true,
            filter: "loss.style_weight>1 tag:good".into(),
            sort: Sort {
                by: SortBy::GLoss,
                descending: false,
            },
            fold: true,
            band: true,
        }
    }

    #[test]
    fn round_trips_through_json() {
        let s = sample();
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Session>(&text).unwrap(), s);
        // Missing fields take defaults, unknown ones are ignored (files of other versions).
        let partial: Session =
            serde_json::from_str(r#"{"view":"run","log_y":true,"later":1}"#).unwrap();
        assert_eq!(partial.view, View::Run);
        assert!(partial.log_y);
        assert_eq!(partial.smoothing, super::super::series::DEFAULT_SMOOTHING);
        assert_eq!(partial.sort, Sort::default());
    }

    #[test]
    fn load_and_save_in_the_runs_folder() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(load(tmp.path()).is_none(), "no file: nothing to restore");
        save(tmp.path(), &sample()).unwrap();
        assert_eq!(load(tmp.path()).unwrap().unwrap(), sample());
        std::fs::write(path(tmp.path()), b"{\"view\": \"runs\", ").unwrap();
        let err = load(tmp.path()).unwrap().unwrap_err();
        assert!(err.contains(FILE), "{err}");
        std::fs::write(path(tmp.path()), b"{\"view\": \"sideways\"}").unwrap();
        assert!(load(tmp.path()).unwrap().is_err(), "an unknown view");
        // No runs folder: nothing is created.
        let missing = tmp.path().join("nope");
        save(&missing, &sample()).unwrap();
        assert!(!missing.exists());
    }

    #[test]
    fn saver_writes_a_burst_once_within_the_delay() {
        let t0 = Instant::now();
        let mut saver = Saver::default();
        assert!(saver.due(t0).is_none());
        let mut s = sample();
        saver.offer(s.clone(), t0);
        s.log_y = false;
        // Changes keep coming: the first change's clock still runs.
        saver.offer(s.clone(), t0 + Duration::from_millis(900));
        assert!(saver.due(t0 + Duration::from_millis(950)).is_none());
        assert_eq!(saver.due(t0 + SAVE_DELAY), Some(s.clone()), "the latest");
        assert!(saver.due(t0 + Duration::from_secs(5)).is_none(), "once");
        saver.offer(s.clone(), t0 + Duration::from_secs(6));
        assert_eq!(saver.flush(), Some(s));
        assert!(saver.flush().is_none());
    }
}
