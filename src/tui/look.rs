//! Steering at inference, in the gallery: a run's latest checkpoint applied to the selected
//! probe's input with a chosen style strength, saturation, preserve-colour or the painting's
//! palette, rendered at once without retraining. The styles to choose among are the open run's
//! own generator and every finished run's of the workspace (`Tab` cycles, `g` shows them all as a
//! grid, `Enter` writes the chosen one at full resolution). A worker thread owns the generators
//! (cached per run and checkpoint, so a keypress costs one forward pass), keeps only the newest
//! request per slot when keys come faster than it renders, renders previews at the size they are
//! displayed, writes each result to a temporary PNG and reports with `Msg::Look`. It runs on
//! flex, whatever the build: a trainer may hold the GPU.

use super::app::Msg;
use crate::backend::{dispatch, BackendKind, WithBackend};
use crate::run_dir::RunDir;
use crate::stylize::{Direction, Look, Stylizer};
use burn::tensor::backend::AutodiffBackend;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};

/// A generator to render with: a run of the workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    pub dir: PathBuf,
    /// The run's name, for labels.
    pub name: String,
}

/// One style's newest rendering.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// A temporary PNG.
    pub image: Option<PathBuf>,
    /// The checkpoint it came from.
    pub checkpoint: Option<u64>,
    /// The sequence number of the newest request for this cell, and of the newest answer.
    pub want: u64,
    pub done: u64,
    pub error: Option<String>,
}

impl Cell {
    pub fn busy(&self) -> bool {
        self.done < self.want
    }
}

/// The look preview of the open run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LookView {
    pub look: Look,
    /// The generators to choose among: the open run's first, then the workspace's finished runs.
    pub styles: Vec<Style>,
    /// The chosen style (index into `styles` and `cells`).
    pub style: usize,
    /// Every style at once.
    pub grid: bool,
    /// One per style.
    pub cells: Vec<Cell>,
    /// Requests sent (a counter shared by every cell).
    pub seq: u64,
}

impl LookView {
    pub fn new(styles: Vec<Style>) -> Self {
        Self {
            cells: vec![Cell::default(); styles.len()],
            styles,
            ..Self::default()
        }
    }

    /// A one-line description: `strength 0.7 · saturation 1.2 · preserve colour`.
    pub fn describe(&self) -> String {
        let l = self.look;
        format!(
            "strength {:.1} · saturation {:.1}{}",
            l.strength,
            l.saturation,
            if l.preserve_color {
                " · preserve colour"
            } else if l.palette {
                " · painting's palette"
            } else {
                ""
            }
        )
    }

    /// The chosen style's cell.
    pub fn shown(&self) -> Option<&Cell> {
        self.cells.get(self.style)
    }

    pub fn busy(&self) -> bool {
        self.cells.iter().any(Cell::busy)
    }

    /// Take a worker's answer: a cell keeps only the answer to its newest request.
    pub fn absorb(&mut self, r: LookResult) {
        let Some(cell) = self.cells.get_mut(r.slot) else {
            return;
        };
        cell.done = cell.done.max(r.seq);
        match r.outcome {
            Ok((path, step)) if r.seq == cell.want => {
                cell.image = Some(path);
                cell.checkpoint = Some(step);
                cell.error = None;
            }
            Ok(_) => {}
            Err(e) if r.seq == cell.want => cell.error = Some(e),
            Err(_) => {}
        }
    }
}

/// One rendering to do.
#[derive(Debug, Clone, PartialEq)]
pub struct LookRequest {
    /// The open run (where the answer goes).
    pub run: PathBuf,
    /// The run whose generator renders.
    pub generator: PathBuf,
    /// The probe's input image.
    pub input: PathBuf,
    /// For cyclegan: the generator direction ("ba" for domain-b probes).
    pub direction: Option<String>,
    pub look: Look,
    pub seq: u64,
    /// The style's index in the view (its grid cell).
    pub slot: usize,
    /// A preview fitted into this many pixels (the displayed size); `None`: the input's own size.
    pub fit: Option<(u32, u32)>,
    /// Write the result here, at the input's full resolution, instead of a temporary preview.
    pub save: Option<PathBuf>,
}

/// What the worker reports.
#[derive(Debug, Clone, PartialEq)]
pub struct LookResult {
    pub run: PathBuf,
    pub seq: u64,
    pub slot: usize,
    /// The image written and the checkpoint it came from.
    pub outcome: Result<(PathBuf, u64), String>,
    /// The answer to a [`LookRequest::save`]: not a preview.
    pub saved: bool,
}

/// Start the worker; it ends when the request sender is dropped.
pub fn spawn(tx: Sender<Msg>) -> Sender<LookRequest> {
    let (req_tx, req_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("look".into())
        .spawn(move || dispatch(BackendKind::Flex, Worker { rx: req_rx, tx }))
        .expect("spawning the look thread");
    req_tx
}

/// The worker's loop, as a job for [`dispatch`].
struct Worker {
    rx: Receiver<LookRequest>,
    tx: Sender<Msg>,
}

impl WithBackend for Worker {
    type Output = ();

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<()> {
        work::<B::InnerBackend>(self.rx, self.tx, device);
        Ok(())
    }
}

/// Generators kept loaded: a grid of this many styles re-renders without reading a checkpoint.
const CACHED: usize = 16;

/// What is waiting: every save in order, and the newest preview of each slot (older ones are
/// stale: their answer would be replaced before anyone saw it).
fn coalesce(first: LookRequest, rx: &Receiver<LookRequest>) -> Vec<LookRequest> {
    let mut todo: Vec<LookRequest> = Vec::new();
    for req in std::iter::once(first).chain(rx.try_iter()) {
        if req.save.is_none() {
            todo.retain(|r| r.save.is_some() || r.slot != req.slot || r.run != req.run);
        }
        todo.push(req);
    }
    todo
}

/// The generators the worker holds, by (run, direction, checkpoint).
struct Cache<B: burn::prelude::Backend> {
    loaded: HashMap<(PathBuf, Option<String>, u64), Stylizer<B>>,
    /// Keys, least recently used first.
    order: Vec<(PathBuf, Option<String>, u64)>,
}

impl<B: burn::prelude::Backend> Cache<B> {
    fn get(&mut self, req: &LookRequest, device: &B::Device) -> anyhow::Result<&Stylizer<B>> {
        let run = RunDir::new(&req.generator);
        let latest = run
            .latest_checkpoint()
            .ok_or_else(|| anyhow::anyhow!("{}: no checkpoint yet", run.id()))?;
        let key = (req.generator.clone(), req.direction.clone(), latest);
        if !self.loaded.contains_key(&key) {
            let direction = req
                .direction
                .as_deref()
                .map(|d| <Direction as clap::ValueEnum>::from_str(d, false))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let s = Stylizer::<B>::load(&run, Some(latest), direction, device)?;
            // A newer checkpoint of the same generator replaces the older one.
            let same = |k: &(PathBuf, Option<String>, u64)| k.0 == key.0 && k.1 == key.1;
            self.loaded.retain(|k, _| !same(k));
            self.order.retain(|k| !same(k));
            if self.order.len() >= CACHED {
                let old = self.order.remove(0);
                self.loaded.remove(&old);
            }
            self.loaded.insert(key.clone(), s);
        }
        self.order.retain(|k| *k != key);
        self.order.push(key.clone());
        Ok(&self.loaded[&key])
    }
}

/// Shrink `photo` to fit `fit` (never enlarge).
fn fitted(photo: image::RgbImage, fit: Option<(u32, u32)>) -> image::RgbImage {
    let Some((w, h)) = fit.filter(|&(w, h)| w > 0 && h > 0) else {
        return photo;
    };
    if photo.width() <= w && photo.height() <= h {
        return photo;
    }
    let scale = (w as f32 / photo.width() as f32).min(h as f32 / photo.height() as f32);
    let (nw, nh) = (
        ((photo.width() as f32 * scale).round() as u32).max(1),
        ((photo.height() as f32 * scale).round() as u32).max(1),
    );
    image::imageops::resize(&photo, nw, nh, image::imageops::FilterType::Triangle)
}

/// Render one request: the preview (or the saved image) and its checkpoint.
fn render<B: burn::prelude::Backend>(
    cache: &mut Cache<B>,
    req: &LookRequest,
    device: &B::Device,
) -> anyhow::Result<(PathBuf, u64)> {
    let stylizer = cache.get(req, device)?;
    if let Some(why) = stylizer.cannot_render(req.look) {
        anyhow::bail!("palette: {why}");
    }
    let photo = image::open(&req.input)?.to_rgb8();
    let photo = if req.save.is_some() {
        photo
    } else {
        fitted(photo, req.fit)
    };
    let out = stylizer.apply(&photo, req.look);
    let path = match &req.save {
        Some(p) => {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            p.clone()
        }
        None => std::env::temp_dir().join(format!(
            "atelier-look-{}-{}-{}.png",
            std::process::id(),
            req.slot,
            req.seq
        )),
    };
    out.save(&path)?;
    Ok((path, stylizer.step))
}

fn work<B: burn::prelude::Backend>(rx: Receiver<LookRequest>, tx: Sender<Msg>, device: B::Device) {
    let mut cache = Cache::<B> {
        loaded: HashMap::new(),
        order: Vec::new(),
    };
    // Each slot's current temporary PNG, removed when a newer one replaces it.
    let mut previous: HashMap<usize, PathBuf> = HashMap::new();
    'outer: while let Ok(first) = rx.recv() {
        for req in coalesce(first, &rx) {
            let outcome = render(&mut cache, &req, &device);
            if let (Ok((path, _)), None) = (&outcome, &req.save) {
                if let Some(old) = previous.insert(req.slot, path.clone()) {
                    let _ = std::fs::remove_file(old);
                }
            }
            let msg = Msg::Look(LookResult {
                run: req.run,
                seq: req.seq,
                slot: req.slot,
                outcome: outcome.map_err(|e| format!("{e:#}")),
                saved: req.save.is_some(),
            });
            if tx.send(msg).is_err() {
                break 'outer;
            }
        }
    }
    for p in previous.values() {
        let _ = std::fs::remove_file(p);
    }
}

/// Where `Enter` writes the chosen style at full resolution: beside the open run's samples, in
/// `looks/`, named by probe, style and look.
pub fn save_path(open: &Path, probe: &str, style: &Path, look: Look) -> PathBuf {
    let id = style
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    open.join("looks").join(format!(
        "{probe}_{id}_s{:.1}_sat{:.1}{}.png",
        look.strength,
        look.saturation,
        if look.preserve_color { "_keep" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(slot: usize, seq: u64, save: bool) -> LookRequest {
        LookRequest {
            run: "r".into(),
            generator: "g".into(),
            input: "i.png".into(),
            direction: None,
            look: Look::default(),
            seq,
            slot,
            fit: None,
            save: save.then(|| PathBuf::from(format!("out{seq}.png"))),
        }
    }

    #[test]
    fn only_the_newest_preview_per_slot_is_rendered_and_saves_are_kept() {
        let (tx, rx) = mpsc::channel();
        for r in [
            req(1, 2, false),
            req(0, 3, true),
            req(1, 4, false),
            req(2, 5, false),
        ] {
            tx.send(r).unwrap();
        }
        let todo = coalesce(req(0, 1, false), &rx);
        let got: Vec<(usize, u64)> = todo.iter().map(|r| (r.slot, r.seq)).collect();
        assert_eq!(got, vec![(0, 1), (0, 3), (1, 4), (2, 5)]);
        assert!(todo[1].save.is_some());
    }

    #[test]
    fn previews_shrink_to_the_displayed_size_only() {
        let photo = image::RgbImage::new(200, 100);
        assert_eq!(fitted(photo.clone(), Some((50, 50))).dimensions(), (50, 25));
        assert_eq!(
            fitted(photo.clone(), Some((400, 400))).dimensions(),
            (200, 100)
        );
        assert_eq!(fitted(photo, None).dimensions(), (200, 100));
    }

    #[test]
    fn a_cell_keeps_only_its_newest_answer() {
        let mut v = LookView::new(vec![
            Style {
                dir: "a".into(),
                name: "a".into(),
            },
            Style {
                dir: "b".into(),
                name: "b".into(),
            },
        ]);
        v.cells[1].want = 5;
        let answer = |seq, ok: bool| LookResult {
            run: "r".into(),
            seq,
            slot: 1,
            outcome: if ok {
                Ok((PathBuf::from(format!("{seq}.png")), 3))
            } else {
                Err("broken".into())
            },
            saved: false,
        };
        v.absorb(answer(4, true));
        assert!(v.cells[1].image.is_none() && v.cells[1].busy());
        v.absorb(answer(4, false));
        assert!(v.cells[1].error.is_none(), "a stale error is dropped too");
        v.absorb(answer(5, true));
        assert_eq!(v.cells[1].image.as_deref(), Some(Path::new("5.png")));
        assert!(!v.busy());
        assert!(v.cells[0].image.is_none());
    }
}
