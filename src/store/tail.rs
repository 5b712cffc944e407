//! Incremental readers for the store: the dashboard polls a run's append-only files
//! (`metrics.jsonl`, `events.jsonl`, `samples/index.jsonl`, `train.log`) every few hundred
//! milliseconds, and a [`Tail`] hands back only the complete lines appended since the last poll,
//! reading from a stored byte offset. It tolerates a torn last line (left unread until its
//! newline arrives), a missing file (nothing yet), truncation or an in-place rewrite (a resumed
//! run rewrites `metrics.jsonl` shorter), replacement by atomic rename (a new inode) and
//! deletion; the last three come back as [`Update::Reset`] so the caller drops what it had.
//! Nothing here panics: I/O errors other than "not found" read as "nothing new this time".

use serde::de::DeserializeOwned;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Most bytes read in one poll; a longer backlog arrives over the following polls.
const MAX_CHUNK: u64 = 64 * 1024 * 1024;
/// Bytes kept from just before the offset to notice a file rewritten in place.
const SIG_LEN: usize = 32;

/// Reads only what was appended to a file since the last poll, in complete lines.
#[derive(Debug, Clone)]
pub struct Tail {
    path: PathBuf,
    /// Start of the first byte not yet consumed (always the start of a line).
    offset: u64,
    /// Identity of the file last read (inode on unix), `None` before the first read.
    ino: Option<u64>,
    /// Whether the file existed at the last poll.
    seen: bool,
    /// The last bytes consumed (ending at `offset`), checked again on the next poll.
    sig: Vec<u8>,
    skipped: usize,
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq)]
pub enum Update<T> {
    /// New complete records since last poll (possibly empty).
    Appended(Vec<T>),
    /// The file was replaced, truncated or deleted: these are ALL its records now (a backlog
    /// beyond one poll's chunk follows as `Appended`); the caller must drop what it had.
    Reset(Vec<T>),
}

impl<T> Update<T> {
    /// The records carried, whichever the variant.
    pub fn records(&self) -> &[T] {
        match self {
            Update::Appended(v) | Update::Reset(v) => v,
        }
    }

    /// Whether the caller must drop what it had before taking these records.
    pub fn is_reset(&self) -> bool {
        matches!(self, Update::Reset(_))
    }
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    Some(meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> Option<u64> {
    None
}

fn read_range(file: &mut File, start: u64, len: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(start))?;
    let want = len.saturating_sub(start).min(MAX_CHUNK + SIG_LEN as u64);
    let mut buf = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
    file.take(want).read_to_end(&mut buf)?;
    Ok(buf)
}

impl Tail {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Tail {
            path: path.into(),
            offset: 0,
            ino: None,
            seen: false,
            sig: Vec::new(),
            skipped: 0,
        }
    }

    /// The file this tail follows.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Parse new complete lines as JSON records of type T; unparseable lines are skipped
    /// (counted in `skipped()`), blank lines ignored; a missing file yields `Appended(vec![])`
    /// (and, if it existed before and vanished, `Reset(vec![])`).
    pub fn poll_json<T: DeserializeOwned>(&mut self) -> Update<T> {
        let (reset, bytes) = self.read_new();
        let mut out = Vec::new();
        for line in lines(&bytes) {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<T>(line) {
                Ok(v) => out.push(v),
                Err(_) => self.skipped += 1,
            }
        }
        wrap(reset, out)
    }

    /// Same for plain text lines (train.log), lossy UTF-8, without the line ending.
    pub fn poll_lines(&mut self) -> Update<String> {
        let (reset, bytes) = self.read_new();
        let out = lines(&bytes)
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        wrap(reset, out)
    }

    /// Lines that were complete but did not parse, since this tail was made.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Consumes the complete lines appended since the last poll; `true` when the caller must
    /// drop what it had (the bytes are then the file's contents from its start).
    fn read_new(&mut self) -> (bool, Vec<u8>) {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let was = std::mem::replace(&mut self.seen, false);
                self.offset = 0;
                self.sig.clear();
                self.ino = None;
                return (was, Vec::new());
            }
            Err(_) => return (false, Vec::new()),
        };
        let Ok(meta) = file.metadata() else {
            return (false, Vec::new());
        };
        let ino = identity(&meta);
        let len = meta.len();
        // State changes only once the read succeeded, so a failed poll never loses a reset.
        let mut reset = self.seen && (self.ino != ino || len < self.offset);
        let (mut offset, mut sig) = if reset {
            (0, &[][..])
        } else {
            (self.offset, &self.sig[..])
        };
        let Ok(mut buf) = read_range(&mut file, offset - sig.len() as u64, len) else {
            return (false, Vec::new());
        };
        if buf.starts_with(sig) {
            buf.drain(..sig.len());
        } else {
            // Same inode, long enough, but the bytes before our offset changed: rewritten in place.
            (reset, offset, sig) = (true, 0, &[][..]);
            match read_range(&mut file, 0, len) {
                Ok(b) => buf = b,
                Err(_) => return (false, Vec::new()),
            }
        }
        let keep = match buf.iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            // One line longer than a whole chunk: consume it rather than stall forever.
            None if buf.len() as u64 >= MAX_CHUNK => buf.len(),
            None => 0,
        };
        buf.truncate(keep);
        let new_sig = if keep > 0 {
            &buf[keep.saturating_sub(SIG_LEN)..]
        } else {
            sig
        };
        self.sig = new_sig.to_vec();
        self.offset = offset + keep as u64;
        self.seen = true;
        self.ino = ino;
        (reset, buf)
    }
}

fn wrap<T>(reset: bool, v: Vec<T>) -> Update<T> {
    if reset {
        Update::Reset(v)
    } else {
        Update::Appended(v)
    }
}

/// Complete lines of `bytes`, without `\n` or `\r\n`.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').map(|l| {
        let l = l.strip_suffix(b"\n").unwrap_or(l);
        l.strip_suffix(b"\r").unwrap_or(l)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::io::Write;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Row {
        step: u64,
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn steps(u: Update<Row>) -> (bool, Vec<u64>) {
        (u.is_reset(), u.records().iter().map(|r| r.step).collect())
    }

    #[test]
    fn appended_lines_arrive_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.jsonl");
        append(&p, "{\"step\":1}\n{\"step\":2}\n");
        let mut t = Tail::new(&p);
        assert_eq!(steps(t.poll_json()), (false, vec![1, 2]));
        assert_eq!(steps(t.poll_json()), (false, vec![]));
        append(&p, "{\"step\":3}\n\n");
        assert_eq!(steps(t.poll_json()), (false, vec![3]));
        assert_eq!(steps(t.poll_json()), (false, vec![]));
        assert_eq!(t.skipped(), 0);
    }

    #[test]
    fn torn_line_completes_later() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.jsonl");
        append(&p, "{\"step\":1}\n{\"st");
        let mut t = Tail::new(&p);
        assert_eq!(steps(t.poll_json()), (false, vec![1]));
        assert_eq!(steps(t.poll_json()), (false, vec![]));
        append(&p, "ep\":2}");
        assert_eq!(steps(t.poll_json()), (false, vec![]));
        append(&p, "\r\n{\"step\":3}\n");
        assert_eq!(steps(t.poll_json()), (false, vec![2, 3]));
        assert_eq!(t.skipped(), 0);
    }

    #[test]
    fn torn_garbage_line_is_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.jsonl");
        // A writer died mid-line, then the resumed writer appended a fresh line after it.
        append(&p, "{\"step\":1}\n{\"step\":2,\"lo");
        let mut t = Tail::new(&p);
        assert_eq!(steps(t.poll_json()), (false, vec![1]));
        append(&p, "{\"step\":3}\nnot json\n{\"step\":4}\n");
        assert_eq!(steps(t.poll_json()), (false, vec![4]));
        assert_eq!(t.skipped(), 2);
    }

    #[test]
    fn truncation_and_rewrite_reset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.jsonl");
        append(&p, "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n");
        let mut t = Tail::new(&p);
        assert_eq!(steps(t.poll_json()).1, vec![1, 2, 3]);
        // Resume rewrites it shorter, in place (same inode).
        std::fs::write(&p, "{\"step\":1}\n{\"step\":9}\n").unwrap();
        assert_eq!(steps(t.poll_json()), (true, vec![1, 9]));
        assert_eq!(steps(t.poll_json()), (false, vec![]));
        // Rewritten in place to something at least as long: caught by the bytes before the offset.
        std::fs::write(&p, "{\"step\":5}\n{\"step\":6}\n{\"step\":7}\n").unwrap();
        assert_eq!(steps(t.poll_json()), (true, vec![5, 6, 7]));
        append(&p, "{\"step\":8}\n");
        assert_eq!(steps(t.poll_json()), (false, vec![8]));
    }

    #[test]
    fn atomic_rename_replacement_resets() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.jsonl");
        append(&p, "{\"step\":1}\n");
        let mut t = Tail::new(&p);
        assert_eq!(steps(t.poll_json()).1, vec![1]);
        let tmp = dir.path().join("index.jsonl.tmp");
        // Same length and same leading bytes: only the inode tells.
        std::fs::write(&tmp, "{\"step\":1}\n{\"step\":2}\n").unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        let expect = if cfg!(unix) {
            (true, vec![1, 2])
        } else {
            (false, vec![2])
        };
        assert_eq!(steps(t.poll_json()), expect);
        assert_eq!(steps(t.poll_json()), (false, vec![]));
    }

    #[test]
    fn missing_then_deleted_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let mut t = Tail::new(&p);
        assert_eq!(steps(t.poll_json()), (false, vec![]));
        append(&p, "{\"step\":1}\n");
        assert_eq!(steps(t.poll_json()), (false, vec![1]));
        std::fs::remove_file(&p).unwrap();
        assert_eq!(steps(t.poll_json()), (true, vec![]));
        assert_eq!(steps(t.poll_json()), (false, vec![]));
        append(&p, "{\"step\":2}\n");
        assert_eq!(steps(t.poll_json()), (false, vec![2]));
    }

    #[test]
    fn plain_lines_lossy() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("train.log");
        std::fs::write(&p, b"start\n\nbad \xff byte\r\npart").unwrap();
        let mut t = Tail::new(&p);
        let got = t.poll_lines();
        assert_eq!(
            got,
            Update::Appended(vec!["start".into(), "".into(), "bad \u{fffd} byte".into()])
        );
        append(&p, "ial\n");
        assert_eq!(t.poll_lines(), Update::Appended(vec!["partial".into()]));
        assert_eq!(t.skipped(), 0);
    }

    #[test]
    fn large_file_in_one_poll() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.jsonl");
        let mut text = String::new();
        for i in 0..50_000 {
            text.push_str(&format!(
                "{{\"step\":{i},\"wall\":{i}.5,\"loss_g\":0.123456789,\"loss_d\":0.987654321,\"pad\":\"{}\"}}\n",
                "x".repeat(120)
            ));
        }
        assert!(text.len() > 8_000_000);
        std::fs::write(&p, &text).unwrap();
        let mut t = Tail::new(&p);
        let (reset, got) = steps(t.poll_json());
        assert!(!reset);
        assert_eq!(got.len(), 50_000);
        assert_eq!(got[49_999], 49_999);
        assert_eq!(steps(t.poll_json()), (false, vec![]));
    }
}
