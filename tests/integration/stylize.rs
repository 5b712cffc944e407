//! `atelier stylize` keeps the input's size (any size, not only multiples of 4), handles folders
//! with unreadable files, and names missing checkpoints; `preview` refuses a non-terminal.

use crate::common::*;

#[test]
fn stylize_keeps_size_and_reports_bad_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let run = train_tiny(tmp.path(), "sty", "single_style", &[]);
    let runs = run.parent().unwrap().to_path_buf();
    let photo = tmp.path().join("photo.png");
    atelier::train::data::procedural::content_scene(5, 0, 103, 61)
        .save(&photo)
        .unwrap();
    let out_png = tmp.path().join("out/styled.png");
    run_ok(
        bin()
            .args(["stylize", "--run", "sty", "--runs-dir"])
            .arg(&runs)
            .arg("--input")
            .arg(&photo)
            .arg("--output")
            .arg(&out_png),
    );
    let styled = image::open(&out_png).unwrap().to_rgb8();
    assert_eq!(styled.dimensions(), (103, 61));
    assert_ne!(
        styled,
        image::open(&photo).unwrap().to_rgb8(),
        "the generator changed the image"
    );

    // strength 0 gives the photo back.
    let same = tmp.path().join("same.png");
    run_ok(
        bin()
            .args(["stylize", "--run", "sty", "--strength", "0", "--runs-dir"])
            .arg(&runs)
            .arg("--input")
            .arg(&photo)
            .arg("--output")
            .arg(&same),
    );
    assert_eq!(
        image::open(&same).unwrap().to_rgb8(),
        image::open(&photo).unwrap().to_rgb8()
    );

    // A folder: good images are written, a corrupt one is reported and skipped.
    let dir = tmp.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&photo, dir.join("a.png")).unwrap();
    std::fs::write(dir.join("b.jpg"), b"nope").unwrap();
    let out = run_ok(
        bin()
            .args([
                "stylize",
                "--run",
                "sty",
                "--checkpoint",
                "3",
                "--preserve-color",
                "--saturation",
                "1.5",
                "--runs-dir",
            ])
            .arg(&runs)
            .arg("--input")
            .arg(&dir)
            .arg("--output")
            .arg(tmp.path().join("outdir")),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("b.jpg"));
    assert_eq!(
        image::open(tmp.path().join("outdir/a.png"))
            .unwrap()
            .width(),
        103
    );

    let out = bin()
        .args(["stylize", "--run", "sty", "--checkpoint", "4", "--runs-dir"])
        .arg(&runs)
        .arg("--input")
        .arg(&photo)
        .arg("--output")
        .arg(&same)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("no checkpoint at step 4") && err.contains("3, 6"),
        "{err}"
    );
}

#[test]
fn palette_moves_the_output_onto_the_paintings_colours() {
    let tmp = tempfile::tempdir().unwrap();
    let run = train_tiny(tmp.path(), "pal", "single_style", &[]);
    let runs = run.parent().unwrap().to_path_buf();
    let photo = tmp.path().join("photo.png");
    atelier::train::data::procedural::content_scene(7, 0, 90, 70)
        .save(&photo)
        .unwrap();
    let painting = atelier::eval::run::run_style(&atelier::run_dir::RunDir::new(&run)).unwrap();
    let means = |img: &image::RgbImage| channel_stats(img).0;
    let stylize = |extra: &[&str], out: &std::path::Path| {
        bin()
            .args(["stylize", "--run", "pal", "--runs-dir"])
            .arg(&runs)
            .args(extra)
            .arg("--input")
            .arg(&photo)
            .arg("--output")
            .arg(out)
            .output()
            .unwrap()
    };
    let (plain, matched) = (tmp.path().join("plain.png"), tmp.path().join("pal.png"));
    assert!(stylize(&[], &plain).status.success());
    let out = stylize(&["--palette"], &matched);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (p, m, target) = (
        means(&image::open(&plain).unwrap().to_rgb8()),
        means(&image::open(&matched).unwrap().to_rgb8()),
        means(&painting),
    );
    for c in 0..3 {
        assert!(
            (m[c] - target[c]).abs() < 4.0,
            "channel {c}: palette {m:?} vs painting {target:?} (plain {p:?})"
        );
    }
    // The two colour choices exclude each other (a usage error, exit 2).
    let out = stylize(&["--palette", "--preserve-color"], &matched);
    assert_eq!(out.status.code(), Some(2));
}

/// `generator.palette`: the trained generator's own output (no `--palette`) takes the
/// painting's per-channel mean ("mean"), or mean and spread ("moments"), from statistics saved
/// with its weights.
#[test]
fn a_palette_head_gives_the_generators_output_the_paintings_colours() {
    let tmp = tempfile::tempdir().unwrap();
    let photo = tmp.path().join("photo.png");
    atelier::train::data::procedural::content_scene(7, 0, 96, 72)
        .save(&photo)
        .unwrap();
    for kind in ["mean", "moments"] {
        let dir = tmp.path().join(kind);
        std::fs::create_dir_all(&dir).unwrap();
        let run = train_tiny(
            &dir,
            kind,
            "single_style",
            &["--set", &format!("generator.palette={kind}")],
        );
        let painting = atelier::eval::run::run_style(&atelier::run_dir::RunDir::new(&run)).unwrap();
        let out = dir.join("out.png");
        run_ok(
            bin()
                .args(["stylize", "--run", kind, "--runs-dir"])
                .arg(run.parent().unwrap())
                .arg("--input")
                .arg(&photo)
                .arg("--output")
                .arg(&out),
        );
        let ((m, sd), (pm, psd)) = (
            channel_stats(&image::open(&out).unwrap().to_rgb8()),
            channel_stats(&painting),
        );
        // Clamping to [0, 255] moves a dark channel's mean up a little once its spread is the
        // painting's.
        let tolerance = if kind == "mean" { 4.0 } else { 10.0 };
        for c in 0..3 {
            assert!(
                (m[c] - pm[c]).abs() < tolerance,
                "{kind}, channel {c}: output mean {m:?} vs painting {pm:?}"
            );
            if kind == "moments" {
                assert!(
                    (sd[c] - psd[c]).abs() < 0.15 * psd[c] + 3.0,
                    "channel {c}: output sd {sd:?} vs painting {psd:?}"
                );
            }
        }
    }
}

/// `train.ema`: the averaged generator is saved beside the live one, renders the probes, and is
/// what `stylize` loads (the live one only where a checkpoint has no average); a resumed run
/// goes on averaging from its checkpoint's average. A decay of 1 and a CycleGAN average are
/// refused by name.
#[test]
fn an_averaged_generator_renders_the_probes_and_is_the_one_stylize_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let run = train_tiny(
        tmp.path(),
        "avg",
        "single_style",
        &["--set", "train.ema=0.5"],
    );
    let runs = run.parent().unwrap().to_path_buf();
    let ckpt = atelier::run_dir::RunDir::new(&run).checkpoint(6);
    let state = std::fs::read_to_string(ckpt.join("state.json")).unwrap();
    assert!(
        state.contains("g_ema.mpk") && state.contains("\"g.mpk\""),
        "{state}"
    );

    // The last probe sample (step 6) is the averaged generator's output on the probe's input,
    // and it is the generator a checkpoint loads (stylize, the look view, distill, export).
    let index: Vec<atelier::run_dir::SampleRecord> =
        atelier::run_dir::read_lines(&run.join(atelier::run_dir::SAMPLE_INDEX));
    let input = index
        .iter()
        .find(|r| r.kind == "input" && r.probe == 0)
        .unwrap();
    let sample = index
        .iter()
        .find(|r| r.kind == "output" && r.probe == 0 && r.step == 6)
        .unwrap();
    let shown = image::open(run.join(&sample.path)).unwrap().to_rgb8();
    let probe = image::open(run.join(&input.path)).unwrap().to_rgb8();
    let loaded = || {
        let dev = Default::default();
        let (g, step, _) = atelier::stylize::load_generator::<burn::backend::Flex>(
            &atelier::run_dir::RunDir::new(&run),
            None,
            None,
            &dev,
        )
        .unwrap();
        assert_eq!(step, 6);
        atelier::train::render_generator(&g, std::slice::from_ref(&probe), "content", &dev)
            .remove(0)
            .image
    };
    assert!(
        loaded() == shown,
        "the probes show the loaded (averaged) generator"
    );
    let stylize = |out: &std::path::Path| {
        run_ok(
            bin()
                .args(["stylize", "--run", "avg", "--runs-dir"])
                .arg(&runs)
                .arg("--input")
                .arg(run.join(&input.path))
                .arg("--output")
                .arg(out),
        );
        image::open(out).unwrap().to_rgb8()
    };
    let averaged = stylize(&tmp.path().join("averaged.png"));
    // Without the average, a checkpoint gives its live generator: different pictures.
    std::fs::rename(ckpt.join("g_ema.mpk"), tmp.path().join("g_ema.mpk")).unwrap();
    assert!(loaded() != shown, "the live generator is not the average");
    let live = stylize(&tmp.path().join("live.png"));
    assert!(live != averaged, "stylize loaded the average");
    std::fs::rename(tmp.path().join("g_ema.mpk"), ckpt.join("g_ema.mpk")).unwrap();

    // Resumed, the run averages on from its checkpoint and saves the average again.
    run_ok(
        bin()
            .args(["train", "--quiet", "--steps", "9", "--resume"])
            .arg(&run),
    );
    let state = std::fs::read_to_string(
        atelier::run_dir::RunDir::new(&run)
            .checkpoint(9)
            .join("state.json"),
    )
    .unwrap();
    assert!(state.contains("g_ema.mpk"), "{state}");

    for (mode, value) in [("single_style", "1"), ("cyclegan", "0.9")] {
        let spec = tiny_spec(tmp.path(), &format!("bad-{mode}"), mode, "");
        let err = fails(
            bin()
                .arg("train")
                .arg(&spec)
                .args(["--check", "--set", &format!("train.ema={value}")]),
            2,
        );
        assert!(err.contains("train.ema"), "{mode}: {err}");
    }
}

#[test]
fn stylize_one_photo_under_several_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    std::fs::create_dir_all(&one).unwrap();
    std::fs::create_dir_all(&two).unwrap();
    let a = train_tiny(&one, "sa", "single_style", &[]);
    let b = train_spec(
        &two,
        &tiny_spec(&two, "sb", "single_style", ""),
        &["--set", "train.seed=11"],
    );
    // Both in one workspace, plus a run that never finished (no style to offer).
    let runs = tmp.path().join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    let (a_id, b_id) = (
        a.file_name().unwrap().to_owned(),
        b.file_name().unwrap().to_owned(),
    );
    std::fs::rename(&a, runs.join(&a_id)).unwrap();
    std::fs::rename(&b, runs.join(&b_id)).unwrap();
    let photo = tmp.path().join("photo.png");
    atelier::train::data::procedural::content_scene(9, 0, 50, 37)
        .save(&photo)
        .unwrap();

    let out_dir = tmp.path().join("styles");
    let out = run_ok(
        bin()
            .args(["stylize", "--run", "sa", "--run", "sb", "--strength", "0.8"])
            .arg("--runs-dir")
            .arg(&runs)
            .arg("--input")
            .arg(&photo)
            .arg("--output")
            .arg(&out_dir),
    );
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let img = |id: &std::ffi::OsStr| {
        let p = out_dir.join(format!("{}.png", id.to_string_lossy()));
        assert!(listed.contains(&p.display().to_string()), "{listed}");
        image::open(&p).unwrap().to_rgb8()
    };
    let (ia, ib) = (img(&a_id), img(&b_id));
    assert_eq!(ia.dimensions(), (50, 37));
    assert_ne!(ia, ib, "each run's own generator");

    // The single-run path with the same look writes the same pixels as its file in the set.
    let single = tmp.path().join("single.png");
    run_ok(
        bin()
            .args(["stylize", "--run", "sa", "--strength", "0.8", "--runs-dir"])
            .arg(&runs)
            .arg("--input")
            .arg(&photo)
            .arg("--output")
            .arg(&single),
    );
    assert_eq!(image::open(&single).unwrap().to_rgb8(), ia);

    // --all-runs: every finished run; a run that never finished is left out.
    let text = std::fs::read_to_string(runs.join(&b_id).join("status.json")).unwrap();
    std::fs::write(
        runs.join(&b_id).join("status.json"),
        text.replace("\"finished\"", "\"failed\""),
    )
    .unwrap();
    let all_dir = tmp.path().join("all");
    run_ok(
        bin()
            .args(["stylize", "--all-runs", "--runs-dir"])
            .arg(&runs)
            .arg("--input")
            .arg(&photo)
            .arg("--output")
            .arg(&all_dir),
    );
    let names: Vec<String> = std::fs::read_dir(&all_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![format!("{}.png", a_id.to_string_lossy())]);

    // Several runs need a folder, and --checkpoint names one run's step.
    let err = fails(
        bin()
            .args(["stylize", "--run", "sa", "--run", "sb", "--checkpoint", "3"])
            .arg("--runs-dir")
            .arg(&runs)
            .arg("--input")
            .arg(&photo)
            .arg("--output")
            .arg(&out_dir),
        1,
    );
    assert!(err.contains("--checkpoint applies to one --run"), "{err}");
    let err = fails(
        bin()
            .args(["stylize", "--run", "sa", "--run", "sb", "--runs-dir"])
            .arg(&runs)
            .arg("--input")
            .arg(&photo)
            .arg("--output")
            .arg(&single),
        1,
    );
    assert!(err.contains("names a folder"), "{err}");
}

#[test]
fn preview_needs_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.png");
    image::RgbImage::new(4, 4).save(&p).unwrap();
    let out = bin().arg("preview").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not one"));
}

#[test]
fn eval_scores_a_triple_and_names_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let photo = tmp.path().join("photo.png");
    let style = tmp.path().join("style.png");
    atelier::train::data::procedural::content_scene(2, 0, 96, 80)
        .save(&photo)
        .unwrap();
    atelier::train::data::procedural::painterly_style(2, 120, 120)
        .save(&style)
        .unwrap();
    let out = run_ok(
        bin()
            .arg("eval")
            .arg("--content")
            .arg(&photo)
            .arg("--style")
            .arg(&style)
            .arg("--output")
            .arg(&photo)
            .arg("--json"),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ssim"].as_f64(), Some(1.0));
    assert_eq!(
        v["style_gain"].as_f64(),
        Some(0.0),
        "the photo itself gains nothing"
    );
    assert!(
        v["histogram_style_gain"].as_f64().unwrap() > 0.0,
        "colour matching moves towards the style"
    );
    // Orientation coherence and periodicity: the output is the photo, so each pair agrees;
    // all in [0, 1].
    let o = |k: &str| v[k].as_f64().unwrap();
    assert_eq!(o("orientation"), o("photo_orientation"));
    assert_eq!(o("periodicity"), o("photo_periodicity"));
    for k in [
        "orientation",
        "photo_orientation",
        "style_orientation",
        "periodicity",
        "photo_periodicity",
        "style_periodicity",
    ] {
        assert!((0.0..=1.0).contains(&o(k)), "{k} = {}", o(k));
    }
    let out = bin()
        .arg("eval")
        .arg("--content")
        .arg(&photo)
        .arg("--style")
        .arg(tmp.path().join("nope.png"))
        .arg("--output")
        .arg(&photo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.png"));

    // A crosshatch laid over the photo (two diagonals 4 px apart, issue 26's weave) reads as a
    // weave against the photo, in the JSON and in the table.
    let photo_img = image::open(&photo).unwrap().to_rgb8();
    let woven = image::RgbImage::from_fn(photo_img.width(), photo_img.height(), |x, y| {
        let t = |a: f64| (a * std::f64::consts::PI / 2.0).sin();
        let (x, y) = (f64::from(x), f64::from(y));
        let d = 12.0 * (t(x + y) + t(x - y));
        image::Rgb(
            photo_img
                .get_pixel(x as u32, y as u32)
                .0
                .map(|c| (f64::from(c) + d).clamp(0.0, 255.0) as u8),
        )
    });
    let woven_path = tmp.path().join("woven.png");
    woven.save(&woven_path).unwrap();
    let eval = |json: bool| {
        let mut c = bin();
        c.arg("eval")
            .arg("--content")
            .arg(&photo)
            .arg("--style")
            .arg(&style)
            .arg("--output")
            .arg(&woven_path);
        if json {
            c.arg("--json");
        }
        run_ok(&mut c)
    };
    let v: serde_json::Value = serde_json::from_slice(&eval(true).stdout).unwrap();
    let o = |k: &str| v[k].as_f64().unwrap();
    assert!(
        o("periodicity") > o("photo_periodicity") + 0.1,
        "woven {} against the photo's {}",
        o("periodicity"),
        o("photo_periodicity")
    );
    // Two crossing hatches are not strokes: the local coherence falls below the photo's.
    assert!(
        o("coherence") < o("photo_coherence"),
        "woven {} against the photo's {}",
        o("coherence"),
        o("photo_coherence")
    );
    let table = String::from_utf8_lossy(&eval(false).stdout).into_owned();
    assert!(
        table.contains("WEAVE") && table.contains("STROKES") && table.contains("woven.png"),
        "{table}"
    );
    // Two tables (the scores, then the fine detail), each narrow enough for a wide terminal.
    assert_eq!(table.matches("woven.png").count(), 2, "{table}");
    assert!(table.lines().all(|l| l.chars().count() <= 130), "{table}");

    // A confetti of coloured pixels (red up and green down, or the reverse, at random: the light
    // barely moves) reads as a colour speckle against the photo.
    let mut state = 0x9e37_79b9_u32;
    let confetti = image::RgbImage::from_fn(photo_img.width(), photo_img.height(), |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let d = if state & 1 == 0 { 40.0 } else { -40.0 };
        let p = photo_img.get_pixel(x, y).0.map(f64::from);
        let c = |v: f64| v.clamp(0.0, 255.0) as u8;
        image::Rgb([c(p[0] + d), c(p[1] - d * 0.51), c(p[2])])
    });
    let confetti_path = tmp.path().join("confetti.png");
    confetti.save(&confetti_path).unwrap();
    let out = run_ok(
        bin()
            .arg("eval")
            .arg("--json")
            .arg("--content")
            .arg(&photo)
            .arg("--style")
            .arg(&style)
            .arg("--output")
            .arg(&confetti_path),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let o = |k: &str| v[k].as_f64().unwrap();
    assert!(
        o("speckle") > o("photo_speckle").max(o("style_speckle")) + atelier::eval::SPECKLE_MARGIN,
        "confetti {} against the photo's {} and the painting's {}",
        o("speckle"),
        o("photo_speckle"),
        o("style_speckle")
    );
}

/// Each channel's mean and standard deviation over `img`'s pixels (0-255).
fn channel_stats(img: &image::RgbImage) -> ([f64; 3], [f64; 3]) {
    let n = (img.width() * img.height()) as f64;
    let mean = [0, 1, 2].map(|c| img.pixels().map(|p| f64::from(p.0[c])).sum::<f64>() / n);
    let sd = [0, 1, 2].map(|c| {
        (img.pixels()
            .map(|p| (f64::from(p.0[c]) - mean[c]).powi(2))
            .sum::<f64>()
            / n)
            .sqrt()
    });
    (mean, sd)
}
