//! Reading `control.jsonl` between steps: the trainer remembers a byte offset and parses only the
//! complete lines appended since, so a command being written right now is picked up next time.
//! Malformed lines are returned as errors to be rejected in `events.jsonl`, never fatal.

use crate::run_dir::{self, ControlLine};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct ControlReader {
    path: PathBuf,
    offset: u64,
    /// When the file was last read (`poll_due`).
    last: Option<Instant>,
}

impl ControlReader {
    /// Read from the start (fresh run: commands written before the trainer started count).
    pub fn from_start(path: PathBuf) -> Self {
        Self {
            path,
            offset: 0,
            last: None,
        }
    }

    /// Skip what is already there (resumed run: old commands were for the previous process).
    pub fn from_end(path: PathBuf) -> Self {
        let offset = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Self {
            path,
            offset,
            last: None,
        }
    }

    /// `poll`, at most once per `every`: between steps of a few milliseconds (a GPU's) the file
    /// is not opened each step; a command waits at most `every` longer.
    pub fn poll_due(&mut self, every: Duration) -> Vec<Result<ControlLine, String>> {
        if self.last.is_some_and(|t| t.elapsed() < every) {
            return Vec::new();
        }
        self.poll()
    }

    /// New complete lines since the last call: parsed commands, or the raw text that failed.
    pub fn poll(&mut self) -> Vec<Result<ControlLine, String>> {
        self.last = Some(Instant::now());
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len < self.offset {
            // Truncated by someone: start over from the new end.
            self.offset = len;
            return Vec::new();
        }
        if len == self.offset || f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        if f.take(len - self.offset).read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        self.offset += end as u64 + 1;
        String::from_utf8_lossy(&buf[..end])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str::<ControlLine>(l).map_err(|e| format!("{l}: {e}")))
            .collect()
    }
}

/// Append a command (used by the CLI, the dashboard and tests).
pub fn send(run: &run_dir::RunDir, line: &ControlLine) -> std::io::Result<()> {
    run_dir::append_json(&run.path(run_dir::CONTROL), line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_dir::Command;
    use std::io::Write;

    #[test]
    fn reads_only_complete_new_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.jsonl");
        let mut r = ControlReader::from_start(path.clone());
        assert!(r.poll().is_empty());
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        write!(f, "{{\"cmd\":\"pause\"}}\n{{\"cmd\":\"res").unwrap();
        let got = r.poll();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap().command, Command::Pause);
        write!(f, "ume\"}}\nnonsense\n").unwrap();
        let got = r.poll();
        assert_eq!(got[0].as_ref().unwrap().command, Command::Resume);
        assert!(got[1].is_err());
        assert!(r.poll().is_empty());
        let late = ControlReader::from_end(path).poll();
        assert!(late.is_empty());
    }
}
