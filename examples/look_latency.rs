//! The look preview's keypress → new image latency, worker only (not the terminal): the
//! dashboard's look worker (`tui::look`, flex, generators kept loaded) is sent one request at a
//! time, as a key that changes the strength sends it, and the time until its `Msg::Look` answer
//! (forward pass at the displayed size, the look's post-processing, the temporary PNG) is taken.
//! The first request of each run loads its checkpoint and is reported apart.
//!
//! `cargo run --release --example look_latency -- RUN_DIR [RUN_DIR ...] [--n N] [--palette]`
//!
//! `--palette` renders with the painting's palette on (`P`, `stylize::Palette`; single_style
//! runs whose painting is still where the spec says).
//!
//! Sizes: the preview's image area of a 120x36 and of a 200x60 terminal with 10x20-pixel cells
//! (the run view's layout, `tui::layout`), and the full 512x512 photo for reference. The photo is
//! a 512x512 procedural scene.

use atelier::stylize::Look;
use atelier::tui::app::Msg;
use atelier::tui::layout;
use atelier::tui::look::{spawn, LookRequest};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn preview_px(size: (u16, u16), cell: (u16, u16)) -> (u32, u32) {
    let g = layout::gallery_panes(layout::run_panes(size, false).gallery);
    let r = layout::look_image(g.big[1]);
    (
        u32::from(r.width) * u32::from(cell.0),
        u32::from(r.height) * u32::from(cell.1),
    )
}

fn main() {
    let mut runs: Vec<PathBuf> = Vec::new();
    let mut n = 20usize;
    let mut palette = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--n" {
            n = args.next().and_then(|v| v.parse().ok()).expect("--n N");
        } else if a == "--palette" {
            palette = true;
        } else {
            runs.push(a.into());
        }
    }
    assert!(!runs.is_empty(), "give one or more run directories");
    let photo = std::env::temp_dir().join(format!("atelier-latency-{}.png", std::process::id()));
    atelier::train::data::procedural::content_scene(3, 0, 512, 512)
        .save(&photo)
        .expect("writing the photo");
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = spawn(tx);
    let mut seq = 0u64;
    let mut ask = |generator: &PathBuf, fit: Option<(u32, u32)>, strength: f32| -> Duration {
        seq += 1;
        let t = Instant::now();
        worker
            .send(LookRequest {
                run: generator.clone(),
                generator: generator.clone(),
                input: photo.clone(),
                direction: None,
                look: Look {
                    strength,
                    palette,
                    ..Look::default()
                },
                seq,
                slot: 0,
                fit,
                save: None,
            })
            .expect("worker alive");
        match rx.recv().expect("an answer") {
            Msg::Look(r) => {
                r.outcome.expect("rendered");
            }
            _ => unreachable!("only the look worker sends here"),
        }
        t.elapsed()
    };
    let sizes = [
        ("120x36 preview", Some(preview_px((120, 36), (10, 20)))),
        ("200x60 preview", Some(preview_px((200, 60), (10, 20)))),
        ("512x512 full", None),
    ];
    println!("run\tsize\tpixels\tfirst_ms\tmedian_ms\tp90_ms");
    for run in &runs {
        let name = run.file_name().unwrap_or_default().to_string_lossy();
        for (label, fit) in sizes {
            let first = ask(run, fit, 1.0);
            let mut times: Vec<f64> = (0..n)
                .map(|i| ask(run, fit, 0.5 + 0.5 * (i % 2) as f32).as_secs_f64() * 1e3)
                .collect();
            times.sort_by(f64::total_cmp);
            let px = fit.map_or("512x512".to_string(), |(w, h)| {
                let s = (w as f32 / 512.0).min(h as f32 / 512.0).min(1.0);
                let side = (512.0 * s).round() as u32;
                format!("{side}x{side}")
            });
            println!(
                "{name}\t{label}\t{px}\t{:.0}\t{:.1}\t{:.1}",
                first.as_secs_f64() * 1e3,
                times[times.len() / 2],
                times[times.len() * 9 / 10]
            );
        }
    }
    let _ = std::fs::remove_file(photo);
}
