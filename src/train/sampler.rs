//! Probe samples off the training thread. At a sample step the training loop only renders the
//! probes (it needs the model); a background `samples` thread writes their PNGs and index lines
//! (each line appended only after its PNG is complete) and scores them against the style image
//! (samples/scores.jsonl). With a TensorBoard feed it also hands each encoded PNG to the
//! mirror's thread. The thread runs at a lower CPU priority on its own one-thread rayon
//! pool, so the scores' parallel loops never queue on the training pool, and it only uses the
//! cycles training leaves idle. A distilled run's teacher on the probes is written once, into
//! `samples/teacher/` with `teacher` lines in the index. At most two sample steps wait for it; a third blocks the loop
//! rather than piling up images. Dropping the `Sampler` writes everything submitted before it
//! returns, also when the training failed or panicked.

use super::{Rendered, TeacherRender};
use crate::eval::run::ProbeScorer;
use crate::run_dir::{self, RunDir, SampleRecord};
use crate::tensorboard::{mirror, Feed, Item};
use anyhow::{Context, Result};
use image::{ImageFormat, RgbImage};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Niceness of the samples thread (0 is normal, 19 the lowest).
const NICE: i32 = 10;

enum Job {
    /// The probes at a sample step.
    Step { step: u64, renders: Vec<Rendered> },
    /// A distilled run's teacher on the probes (once per run), recorded at `step`.
    Teacher {
        step: u64,
        images: Vec<TeacherRender>,
    },
}

pub struct Sampler {
    jobs: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    warnings: Receiver<String>,
    /// A resumed run whose teacher images an earlier process wrote needs none.
    teacher_written: bool,
}

impl Sampler {
    /// Start the samples thread for `dir`. `style` is the image the probes are scored against
    /// (single_style), `resumed` says whether an earlier process of this run wrote the inputs.
    /// `tb`: the TensorBoard mirror, sent every PNG as it is written.
    pub fn start(dir: RunDir, style: Option<RgbImage>, resumed: bool, tb: Option<Feed>) -> Self {
        let (jobs, queue) = mpsc::sync_channel::<Job>(2);
        let (warn, warnings) = mpsc::channel();
        let inputs_written = resumed && dir.path(run_dir::SAMPLES).join("inputs").is_dir();
        let teacher_written = resumed && dir.path(run_dir::SAMPLES).join(run_dir::TEACHER).is_dir();
        let thread = std::thread::Builder::new()
            .name("samples".into())
            .spawn(move || {
                lower_priority();
                let mut out = Output {
                    dir,
                    inputs_written,
                    style,
                    scorer: None,
                    tb,
                };
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .use_current_thread()
                    .build();
                for job in queue {
                    let messages = match (&pool, &job) {
                        (_, Job::Teacher { step, images }) => out.teacher(*step, images),
                        (Ok(pool), Job::Step { step, renders }) => {
                            pool.install(|| out.write(*step, renders))
                        }
                        (Err(_), Job::Step { step, renders }) => out.write(*step, renders),
                    };
                    for m in messages {
                        let _ = warn.send(m);
                    }
                }
            });
        match thread {
            Ok(thread) => Self {
                jobs: Some(jobs),
                thread: Some(thread),
                warnings,
                teacher_written,
            },
            // No thread to spare: drop the channel, so `submit` reports it and writes nothing.
            Err(_) => Self {
                jobs: None,
                thread: None,
                warnings,
                teacher_written,
            },
        }
    }

    /// Whether this run still needs its teacher's images (not written by an earlier process).
    pub fn wants_teacher(&self) -> bool {
        !self.teacher_written
    }

    /// Hand a distilled run's teacher images to the samples thread, recorded at `step`.
    pub fn submit_teacher(&self, step: u64, images: Vec<TeacherRender>) -> Result<(), String> {
        self.send(Job::Teacher { step, images })
    }

    /// Hand the renders of `step` to the samples thread (waits while two steps are pending).
    pub fn submit(&self, step: u64, renders: Vec<Rendered>) -> Result<(), String> {
        self.send(Job::Step { step, renders })
    }

    fn send(&self, job: Job) -> Result<(), String> {
        let jobs = self
            .jobs
            .as_ref()
            .ok_or("the samples thread did not start")?;
        jobs.send(job)
            .map_err(|_| "the samples thread has stopped".to_string())
    }

    /// Warnings the samples thread reported since the last call.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.try_iter().collect()
    }

    /// Wait until everything submitted is written; the warnings not yet collected.
    pub fn finish(&mut self) -> Vec<String> {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.warnings()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.finish();
    }
}

/// What the samples thread owns: where to write, and the scorer it builds on first use.
struct Output {
    dir: RunDir,
    inputs_written: bool,
    style: Option<RgbImage>,
    scorer: Option<ProbeScorer>,
    tb: Option<Feed>,
}

impl Output {
    fn write(&mut self, step: u64, renders: &[Rendered]) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Err(e) = self.images(step, renders) {
            warnings.push(format!("could not write samples: {e:#}"));
        }
        if self.scorer.is_none() {
            self.scorer = self.style.take().and_then(|s| ProbeScorer::new(&s).ok());
        }
        let Some(scorer) = self.scorer.as_mut() else {
            return warnings;
        };
        for r in renders {
            let Ok(rec) = scorer.score(step, r.set, r.probe, &r.input, &r.output) else {
                continue;
            };
            if let Err(e) = run_dir::append_json(&self.dir.path(run_dir::SCORES), &rec) {
                warnings.push(format!("appending samples/scores.jsonl: {e:#}"));
            }
        }
        warnings
    }

    /// The PNGs of `step` and their index lines (the inputs once per run).
    fn images(&mut self, step: u64, renders: &[Rendered]) -> Result<()> {
        let step_dir = self.dir.sample_dir(step);
        std::fs::create_dir_all(&step_dir)?;
        if !self.inputs_written {
            let inputs = self.dir.path(run_dir::SAMPLES).join("inputs");
            std::fs::create_dir_all(&inputs)?;
            for r in renders {
                let p = inputs.join(format!("{}_{:02}.png", r.set, r.probe));
                self.save(step, &r.input, &p, (r.set, r.probe), "input")?;
            }
            self.inputs_written = true;
        }
        for r in renders {
            for (kind, img) in [("output", &r.output), ("patch", &r.patch)] {
                let p = step_dir.join(format!("{}_{:02}_{kind}.png", r.set, r.probe));
                self.save(step, img, &p, (r.set, r.probe), kind)?;
            }
        }
        Ok(())
    }

    /// The teacher's images (`samples/teacher/<set>_<probe>.png`, kind `teacher`).
    fn teacher(&self, step: u64, images: &[TeacherRender]) -> Vec<String> {
        let dir = self.dir.path(run_dir::SAMPLES).join(run_dir::TEACHER);
        let written = std::fs::create_dir_all(&dir)
            .context("creating samples/teacher")
            .and_then(|()| {
                images.iter().try_for_each(|t| {
                    let p = dir.join(format!("{}_{:02}.png", t.set, t.probe));
                    self.save(step, &t.image, &p, (t.set, t.probe), run_dir::TEACHER)
                })
            });
        match written {
            Ok(()) => Vec::new(),
            Err(e) => vec![format!("could not write the teacher's samples: {e:#}")],
        }
    }

    /// One PNG, its TensorBoard image and its index line (appended once the file is complete).
    fn save(
        &self,
        step: u64,
        img: &RgbImage,
        p: &Path,
        (set, probe): (&str, usize),
        kind: &str,
    ) -> Result<()> {
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
            .with_context(|| format!("encoding {}", p.display()))?;
        std::fs::write(p, &png).with_context(|| format!("writing {}", p.display()))?;
        if let Some(tb) = &self.tb {
            let tb_kind = if kind == "patch" { "critic" } else { kind };
            tb.send(Item::Image {
                step,
                tag: mirror::image_tag(tb_kind, set, probe),
                width: img.width(),
                height: img.height(),
                png,
            });
        }
        let rec = SampleRecord {
            step,
            set: set.into(),
            probe,
            kind: kind.into(),
            path: p
                .strip_prefix(&self.dir.root)
                .unwrap_or(p)
                .display()
                .to_string(),
        };
        run_dir::append_json(&self.dir.path(run_dir::SAMPLE_INDEX), &rec)
            .context("appending samples/index.jsonl")
    }
}

/// Make the calling thread yield to the training threads (Linux: a thread's own niceness).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread's own id; failure only leaves the priority.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, NICE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_dir::ScoreRecord;
    use crate::train::data::procedural;

    fn renders(n: usize) -> Vec<Rendered> {
        (0..n)
            .map(|i| Rendered {
                set: "content",
                probe: i,
                input: procedural::content_scene(5, i, 48, 40),
                output: procedural::painterly_style(i as u64, 48, 40),
                patch: RgbImage::new(48, 40),
            })
            .collect()
    }

    #[test]
    fn every_submitted_step_is_on_disk_after_finish_with_its_scores() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::new(tmp.path().join("run"));
        let style = procedural::painterly_style(9, 64, 64);
        let mut sampler = Sampler::start(dir.clone(), Some(style), false, None);
        for step in [0, 10, 20, 30, 40] {
            sampler.submit(step, renders(2)).unwrap();
        }
        assert!(sampler.finish().is_empty());
        let index: Vec<SampleRecord> = run_dir::read_lines(&dir.path(run_dir::SAMPLE_INDEX));
        // Inputs once, then an output and a patch per probe and step, in submission order.
        assert_eq!(index.len(), 2 + 5 * 2 * 2);
        assert_eq!(index.iter().filter(|r| r.kind == "input").count(), 2);
        let steps: Vec<u64> = index.iter().map(|r| r.step).collect();
        assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
        for r in &index {
            let img = image::open(dir.root.join(&r.path)).unwrap();
            assert_eq!((img.width(), img.height()), (48, 40), "{}", r.path);
        }
        let scores: Vec<ScoreRecord> = run_dir::read_lines(&dir.path(run_dir::SCORES));
        assert_eq!(scores.len(), 5 * 2);
        assert!(scores.iter().all(|s| s.ssim.is_finite() && s.ssim < 1.0));
    }

    #[test]
    fn a_dropped_sampler_still_writes_and_a_resumed_run_keeps_its_inputs() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::new(tmp.path().join("run"));
        {
            let sampler = Sampler::start(dir.clone(), None, false, None);
            sampler.submit(0, renders(1)).unwrap();
        }
        let sampler = Sampler::start(dir.clone(), None, true, None);
        sampler.submit(5, renders(1)).unwrap();
        drop(sampler);
        let index: Vec<SampleRecord> = run_dir::read_lines(&dir.path(run_dir::SAMPLE_INDEX));
        let kinds: Vec<(u64, &str)> = index.iter().map(|r| (r.step, r.kind.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (0, "input"),
                (0, "output"),
                (0, "patch"),
                (5, "output"),
                (5, "patch")
            ]
        );
        // No style image: nothing to score against.
        assert!(!dir.path(run_dir::SCORES).exists());
    }

    #[test]
    fn a_write_failure_comes_back_as_a_warning_and_the_next_step_is_still_tried() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::new(tmp.path().join("run"));
        std::fs::create_dir_all(dir.path(run_dir::SAMPLES)).unwrap();
        // A file where step 10's directory must go.
        std::fs::write(dir.sample_dir(10), b"not a directory").unwrap();
        let mut sampler = Sampler::start(dir.clone(), None, false, None);
        sampler.submit(10, renders(1)).unwrap();
        sampler.submit(20, renders(1)).unwrap();
        let warnings = sampler.finish();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("could not write samples"),
            "{warnings:?}"
        );
        let index: Vec<SampleRecord> = run_dir::read_lines(&dir.path(run_dir::SAMPLE_INDEX));
        assert!(index.iter().any(|r| r.step == 20 && r.kind == "output"));
        assert!(!index.iter().any(|r| r.step == 10));
        assert!(sampler.submit(30, renders(1)).is_err(), "finished sampler");
    }

    #[test]
    fn the_teacher_is_written_once_with_index_lines_and_a_resume_skips_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::new(tmp.path().join("run"));
        let teacher = |n: usize| -> Vec<TeacherRender> {
            (0..n)
                .map(|i| TeacherRender {
                    set: "content",
                    probe: i,
                    image: procedural::painterly_style(40 + i as u64, 48, 40),
                })
                .collect()
        };
        let mut sampler = Sampler::start(dir.clone(), None, false, None);
        assert!(sampler.wants_teacher());
        sampler.submit_teacher(0, teacher(2)).unwrap();
        sampler.submit(0, renders(2)).unwrap();
        assert!(sampler.finish().is_empty());
        let index: Vec<SampleRecord> = run_dir::read_lines(&dir.path(run_dir::SAMPLE_INDEX));
        let teachers: Vec<&SampleRecord> = index.iter().filter(|r| r.kind == "teacher").collect();
        assert_eq!(teachers.len(), 2);
        for (i, r) in teachers.iter().enumerate() {
            assert_eq!((r.step, r.probe), (0, i));
            assert_eq!(r.path, format!("samples/teacher/content_{i:02}.png"));
            let img = image::open(dir.root.join(&r.path)).unwrap().to_rgb8();
            assert_eq!(img, teacher(2)[i].image, "the teacher's pixels, losslessly");
        }
        // A resumed process of the same run finds them and renders nothing again.
        assert!(!Sampler::start(dir.clone(), None, true, None).wants_teacher());
        // A fresh start (a new run directory's first process) always wants them.
        assert!(Sampler::start(dir, None, false, None).wants_teacher());
    }
}
