//! Interop with what researchers already use: `atelier export` (CSV with the dashboard's EMA, a
//! probe's GIF, a contact sheet, the generator as a PyTorch state dict under the CycleGAN
//! repository's key names) and `atelier import cyclegan-log` (the repository's loss_log.txt as
//! a read-only run the dashboard charts and compares).

use crate::common::dashboard::{app_with_runs, ch, fixture_run, press};
use crate::common::*;
use atelier::run_dir::{self, MetricRow, RunState};
use atelier::tui::app::{Effect, Msg, View};
use atelier::tui::update::update;
use atelier::tui::workers::Watched;
use crossterm::event::KeyCode;
use image::AnimationDecoder;
use std::path::Path;

const LOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/cyclegan/loss_log.txt"
);

fn feed(app: &mut atelier::tui::app::App, fx: &[Effect]) {
    for e in fx {
        let dirs = match e {
            Effect::Watch(Some(d)) => vec![d.clone()],
            Effect::WatchMany(d) => d.clone(),
            _ => continue,
        };
        for d in dirs {
            update(app, Msg::RunData(Box::new(Watched::new(d).poll())));
        }
    }
}

#[test]
fn a_cyclegan_loss_log_becomes_a_read_only_run_the_dashboard_charts() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let now = run_dir::now();
    fixture_run(
        &runs,
        "20261121-100000-ours",
        RunState::Finished,
        400,
        40,
        now,
    );
    let out = run_ok(
        bin()
            .args([
                "import",
                "cyclegan-log",
                LOG,
                "--name",
                "horse2zebra",
                "--runs-dir",
            ])
            .arg(&runs),
    );
    let said = String::from_utf8_lossy(&out.stdout);
    let warned = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("12 rows (steps 100..1200)"), "{said}");
    assert!(
        warned.contains("skipped 1 malformed line(s) (line 14)"),
        "{warned}"
    );
    let scanned = atelier::store::scan(&runs);
    let imported = scanned.iter().find(|r| r.name == "horse2zebra").unwrap();
    assert_eq!(imported.state.label(), "finished");
    assert_eq!(imported.step, 1200);
    let dir = std::path::PathBuf::from(&imported.dir);
    let rows: Vec<MetricRow> = run_dir::read_lines(&dir.join(run_dir::METRICS));
    assert_eq!(rows.len(), 12);
    // Epoch 2's first line: step 400 + 100; its D_A (critic of domain B) is d_b.
    assert_eq!(rows[4].step, 500);
    assert_eq!(rows[4].losses["d_b"], 0.223);
    assert_eq!(rows[4].losses["idt_a"], 0.928);
    // Read-only: resume refuses it.
    let err = atelier::train::prepare_resume(&run_dir::RunDir::new(&dir), &[]).unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");

    // The run view charts every group.
    let mut app = app_with_runs(&runs, now);
    let at = app
        .visible_runs()
        .iter()
        .position(|r| r.name == "horse2zebra")
        .unwrap();
    app.selected = at;
    let fx = press(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Run);
    feed(&mut app, &fx);
    let charts = &app.run.as_ref().unwrap().charts;
    let names = |g: usize| -> Vec<&str> { charts[g].lines.iter().map(|l| l.term.name()).collect() };
    assert_eq!(names(0), ["g_adv", "g_total"]);
    assert_eq!(names(1), ["d_total", "d_a", "d_b"]);
    assert_eq!(names(2), ["cycle_a", "cycle_b", "idt_a", "idt_b"]);
    // Beside one of atelier's runs in compare: both overlay g_total.
    press(&mut app, KeyCode::Esc);
    ch(&mut app, ' ');
    app.selected = 1 - at;
    ch(&mut app, ' ');
    let fx = ch(&mut app, 'c');
    assert_eq!(app.view, View::Compare);
    feed(&mut app, &fx);
    let c = app.compare.as_ref().unwrap();
    let terms = atelier::tui::compare::terms(&c.runs);
    assert_eq!(terms[..2], ["d_total", "g_total"]);
    let curves = atelier::tui::compare::curves(&c.runs, "g_total", &app.chart, 40);
    assert!(curves.iter().all(|s| !s.is_empty()), "{curves:?}");

    // Its CSV has the renamed terms, raw and smoothed.
    let csv = tmp.path().join("h2z.csv");
    run_ok(
        bin()
            .args(["export", "horse2zebra", "--csv"])
            .arg(&csv)
            .arg("--runs-dir")
            .arg(&runs),
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.contains(",cycle_a,cycle_a_smooth,"), "{header}");
    assert_eq!(text.lines().count(), 13);
}

#[test]
fn a_malformed_log_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("loss_log.txt");
    std::fs::write(&log, "hello\nworld\n").unwrap();
    let out = bin()
        .args(["import", "cyclegan-log"])
        .arg(&log)
        .args(["--name", "x", "--runs-dir"])
        .arg(tmp.path().join("runs"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no loss lines") && err.contains("2 malformed"),
        "{err}"
    );
}

/// CSV, GIF, contact sheet and weights of a tiny cyclegan run.
#[test]
fn export_writes_csv_gif_sheet_and_a_state_dict() {
    let tmp = tempfile::tempdir().unwrap();
    let run = train_tiny(tmp.path(), "exp", "cyclegan", &[]);
    let runs = run.parent().unwrap().to_path_buf();
    let at = |f: &str| tmp.path().join(f);
    run_ok(
        bin()
            .args(["export", "exp", "--runs-dir"])
            .arg(&runs)
            .arg("--csv")
            .arg(at("m.csv"))
            .arg("--gif")
            .arg(at("p.gif"))
            .args(["--probe", "1", "--contact-sheet"])
            .arg(at("sheet.png"))
            .arg("--weights")
            .arg(at("g.safetensors")),
    );
    let csv = std::fs::read_to_string(at("m.csv")).unwrap();
    let rows: Vec<MetricRow> = run_dir::read_lines(&run.join(run_dir::METRICS));
    assert_eq!(csv.lines().count(), rows.len() + 1);
    assert!(csv.starts_with("step,time,lr_g,lr_d,images_per_s,g_adv,g_adv_smooth,"));
    // One frame per sample step, of the probe's size plus the label strip.
    let gif = std::io::BufReader::new(std::fs::File::open(at("p.gif")).unwrap());
    let frames = image::codecs::gif::GifDecoder::new(gif)
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    let index: Vec<run_dir::SampleRecord> = run_dir::read_lines(&run.join(run_dir::SAMPLE_INDEX));
    let steps: std::collections::BTreeSet<u64> = index
        .iter()
        .filter(|r| r.kind == "output")
        .map(|r| r.step)
        .collect();
    assert_eq!(frames.len(), steps.len());
    assert!(frames[0].buffer().height() > frames[0].buffer().width());
    assert!(image::open(at("sheet.png")).unwrap().width() > 4 * 32);
    check_state_dict(&at("g.safetensors"));
    // --probe out of range names the count.
    let out = bin()
        .args(["export", "exp", "--runs-dir"])
        .arg(&runs)
        .arg("--gif")
        .arg(at("q.gif"))
        .args(["--probe", "9"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has 4 probes (0..3), not probe 9"), "{err}");
}

/// The keys and shapes of `ResnetGenerator(3, 3, ngf=4, n_blocks=1)`'s state dict.
fn check_state_dict(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let mut want: Vec<String> = [1, 4, 7, 11, 14, 18]
        .iter()
        .flat_map(|i| [format!("model.{i}.weight"), format!("model.{i}.bias")])
        .chain([1, 5].iter().flat_map(|j| {
            [
                format!("model.10.conv_block.{j}.weight"),
                format!("model.10.conv_block.{j}.bias"),
            ]
        }))
        .collect();
    want.sort();
    assert_eq!(names, want);
    assert_eq!(st.tensor("model.1.weight").unwrap().shape(), [4, 3, 7, 7]);
    assert_eq!(st.tensor("model.11.weight").unwrap().shape(), [16, 8, 3, 3]);
    assert_eq!(st.tensor("model.18.weight").unwrap().shape(), [3, 4, 7, 7]);
}

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cyclegan");

/// The imported generator applied to the fixture's input, as floats in [-1, 1] (NCHW).
fn forward(run: &Path, direction: Option<atelier::stylize::Direction>) -> Vec<f32> {
    use atelier::train::data::convert;
    use burn::prelude::{Tensor, TensorData};
    type B = burn::backend::Flex;
    let dev = Default::default();
    let (g, step, _) =
        atelier::stylize::load_generator::<B>(&run_dir::RunDir::new(run), None, direction, &dev)
            .unwrap();
    assert_eq!(step, 0);
    let photo = image::open(format!("{FIXTURE}/input.png"))
        .unwrap()
        .to_rgb8();
    let (w, h) = photo.dimensions();
    let x = Tensor::<B, 4>::from_data(
        TensorData::new(
            convert::images_to_nchw(std::slice::from_ref(&photo)),
            [1, 3, h as usize, w as usize],
        ),
        &dev,
    );
    convert::values(g.forward(x).into_data())
}

fn imported(runs: &Path, name: &str) -> std::path::PathBuf {
    let r = atelier::store::scan(runs);
    std::path::PathBuf::from(&r.iter().find(|r| r.name == name).unwrap().dir)
}

/// Golden interop: PyTorch's own output of the repository's ResnetGenerator (ngf 4, 2 blocks,
/// `make_fixture.py`) is reproduced within 1e-4 by the imported run; its exported state dict
/// imports again to the very same outputs; stylize and the look view's samples work on it.
#[test]
fn an_imported_cyclegan_generator_reproduces_pytorch_and_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let pth = format!("{FIXTURE}/latest_net_G_A.pth");
    let out = run_ok(
        bin()
            .args([
                "import",
                "cyclegan",
                "h2z",
                "--weights",
                &pth,
                "--weights-ba",
                &pth,
            ])
            .args(["--ngf", "4", "--runs-dir"])
            .arg(&runs),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("(ngf 4, 2 blocks)"));
    let run = imported(&runs, "h2z");
    let ours = forward(&run, None);
    let bytes = std::fs::read(format!("{FIXTURE}/output.f32")).unwrap();
    let torch: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(ours.len(), torch.len());
    let err = ours
        .iter()
        .zip(&torch)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!(
        "golden: max |atelier - pytorch| = {err:e} over {} values",
        ours.len()
    );
    assert!(err < 1e-4, "max |atelier - pytorch| = {err}");
    assert_eq!(ours, forward(&run, Some(atelier::stylize::Direction::Ba)));
    // Samples for the gallery, the look view and compare: 4 probes of each direction.
    let index: Vec<run_dir::SampleRecord> = run_dir::read_lines(&run.join(run_dir::SAMPLE_INDEX));
    assert_eq!(index.iter().filter(|r| r.kind == "output").count(), 8);
    assert!(index.iter().all(|r| run.join(&r.path).is_file()));
    // stylize takes it like any run.
    let styled = tmp.path().join("styled.png");
    run_ok(
        bin()
            .args(["stylize", "--run", "h2z", "--input"])
            .arg(format!("{FIXTURE}/input.png"))
            .arg("--output")
            .arg(&styled)
            .arg("--runs-dir")
            .arg(&runs),
    );
    assert_eq!(image::open(&styled).unwrap().width(), 32);

    // Round trip: export --weights, import, the same outputs bit for bit.
    let st = tmp.path().join("g.safetensors");
    run_ok(
        bin()
            .args(["export", "h2z", "--weights"])
            .arg(&st)
            .arg("--runs-dir")
            .arg(&runs),
    );
    check_names_of_fixture(&st);
    run_ok(
        bin()
            .args(["import", "cyclegan", "again", "--weights"])
            .arg(&st)
            .arg("--runs-dir")
            .arg(&runs),
    );
    assert_eq!(forward(&imported(&runs, "again"), None), ours);

    // A size that is not the file's, and a file that is not a generator, are named.
    let out = bin()
        .args([
            "import",
            "cyclegan",
            "x",
            "--weights",
            &pth,
            "--blocks",
            "9",
            "--runs-dir",
        ])
        .arg(&runs)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--blocks 9, but") && err.contains("has 2 residual blocks"),
        "{err}"
    );
    let out = bin()
        .args(["import", "cyclegan", "x", "--weights", LOG, "--runs-dir"])
        .arg(&runs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loss_log.txt is neither a PyTorch file"));
}

/// The exported state dict has exactly the keys PyTorch saved in the fixture.
fn check_names_of_fixture(st: &Path) {
    let bytes = std::fs::read(st).unwrap();
    let ours = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let theirs = atelier::interop::torch::read_state_dict(Path::new(&format!(
        "{FIXTURE}/latest_net_G_A.pth"
    )))
    .unwrap();
    let mut names: Vec<String> = ours.names().into_iter().map(String::from).collect();
    names.sort();
    assert_eq!(names, theirs.keys().cloned().collect::<Vec<_>>());
    for (k, (shape, values)) in &theirs {
        let t = ours.tensor(k).unwrap();
        assert_eq!(t.shape(), shape.as_slice(), "{k}");
        let v: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(&v, values, "{k}");
    }
}
