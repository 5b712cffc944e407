//! Tiny real training runs through the binary: what a run directory holds afterwards, resume,
//! corrupt inputs, `runs --json`.

use crate::common::*;
use atelier::run_dir::{self, RunState, SampleRecord};

fn sample_index(run: &std::path::Path) -> Vec<SampleRecord> {
    run_dir::read_lines(&run.join(run_dir::SAMPLE_INDEX))
}

#[test]
fn tiny_single_style_run_writes_the_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let run = train_tiny(tmp.path(), "tiny", "single_style", &[]);
    assert!(run
        .file_name()
        .unwrap()
        .to_string_lossy()
        .ends_with("-tiny"));

    let st = status(&run);
    assert_eq!(
        (st.state, st.step, st.total_steps),
        (RunState::Finished, 6, 6)
    );
    assert_eq!(st.backend, "flex");
    assert!(st.pid > 0 && !st.host.is_empty());
    assert!(st.heartbeat >= st.started && st.message.as_deref() == Some("finished"));

    let rows = metrics(&run);
    assert_eq!(
        rows.iter().map(|r| r.step).collect::<Vec<_>>(),
        vec![2, 4, 6]
    );
    for key in [
        "g_adv", "content", "style", "g_total", "d_real", "d_fake", "d_total",
    ] {
        assert!(
            rows.iter()
                .all(|r| r.losses.get(key).is_some_and(|v| v.is_finite())),
            "{key} in every row"
        );
    }
    assert!(rows.iter().all(|r| r.images_per_s > 0.0 && r.lr_g == 2e-4));

    let index = sample_index(&run);
    let inputs: Vec<_> = index.iter().filter(|r| r.kind == "input").collect();
    assert_eq!(inputs.len(), 2);
    for step in [0, 3, 6] {
        for kind in ["output", "patch"] {
            let recs: Vec<_> = index
                .iter()
                .filter(|r| r.step == step && r.kind == kind)
                .collect();
            assert_eq!(recs.len(), 2, "step {step} {kind}");
            for r in recs {
                let img = image::open(run.join(&r.path)).unwrap();
                assert_eq!((img.width(), img.height()), (32, 32), "{}", r.path);
            }
        }
    }
    // The probe set is fixed: the inputs are written once and never change.
    assert!(index
        .iter()
        .filter(|r| r.kind == "input")
        .all(|r| r.step == 0));

    let rd = run_dir::RunDir::new(&run);
    assert_eq!(rd.latest_checkpoint(), Some(6));
    assert_eq!(rd.checkpoints(), vec![3, 6]);
    for f in ["g.mpk", "g_optim.mpk", "d.mpk", "d_optim.mpk", "state.json"] {
        assert!(rd.checkpoint(6).join(f).is_file(), "{f}");
    }
    let spec_back = std::fs::read_to_string(run.join("spec.toml")).unwrap();
    assert!(spec_back.contains("name = \"tiny\""), "{spec_back}");
    // Objective scores for every probe at every sample step, and `atelier eval` over the run.
    let scores: Vec<atelier::run_dir::ScoreRecord> =
        run_dir::read_lines(&run.join(run_dir::SCORES));
    assert_eq!(scores.len(), 6, "3 sample steps x 2 probes");
    assert!(scores.iter().all(|r| r.ssim.is_finite()
        && r.ssim <= 1.0
        && r.texture_gain.is_finite()
        && r.histogram_style_gain.is_finite()));
    let out = run_ok(bin().arg("eval").arg("--run").arg(&run).arg("--json"));
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, 6);
    let table = run_ok(bin().arg("eval").arg("--run").arg(&run));
    assert!(String::from_utf8_lossy(&table.stdout).contains("TEXTURE GAIN"));
    let kinds: Vec<String> = events(&run).into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds.first().map(String::as_str), Some("started"));
    assert_eq!(kinds.last().map(String::as_str), Some("finished"));
    assert!(run.join("train.log").is_file());
}

#[test]
fn tiny_cyclegan_run_logs_every_term_and_both_directions() {
    let tmp = tempfile::tempdir().unwrap();
    let run = train_tiny(tmp.path(), "cyc", "cyclegan", &[]);
    assert_eq!(status(&run).state, RunState::Finished);
    let rows = metrics(&run);
    assert_eq!(rows.len(), 3);
    for key in [
        "g_adv", "cycle_a", "cycle_b", "idt_a", "idt_b", "d_real", "d_fake", "d_a", "d_b",
        "g_total", "d_total",
    ] {
        assert!(
            rows.iter()
                .all(|r| r.losses.get(key).is_some_and(|v| v.is_finite())),
            "{key}"
        );
    }
    assert!(
        !run.join(run_dir::SCORES).exists(),
        "cyclegan has no single style image to score against"
    );
    let index = sample_index(&run);
    for set in ["a", "b"] {
        assert_eq!(
            index
                .iter()
                .filter(|r| r.set == set && r.step == 6 && r.kind == "output")
                .count(),
            2,
            "{set}"
        );
    }
    for f in [
        "g_ab.mpk",
        "g_ba.mpk",
        "d_a.mpk",
        "d_b.mpk",
        "d_b_optim.mpk",
    ] {
        assert!(
            run.join("checkpoints/step_0000006").join(f).is_file(),
            "{f}"
        );
    }
}

#[test]
fn resume_continues_the_step_count_without_duplicate_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let run = train_tiny(tmp.path(), "res", "single_style", &[]);
    // As if the trainer had crashed after logging past its last checkpoint (step 6).
    let torn = "{\"step\":7,\"time\":1,\"lr_g\":1,\"lr_d\":1,\"images_per_s\":1,\"g_adv\":9}\n{\"step\":8,\"ti";
    let mut m = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    m.push_str(torn);
    std::fs::write(run.join("metrics.jsonl"), m).unwrap();

    run_ok(
        bin()
            .arg("train")
            .arg("--resume")
            .arg(&run)
            .args(["--steps", "10", "--quiet"]),
    );
    let st = status(&run);
    assert_eq!(
        (st.state, st.step, st.total_steps),
        (RunState::Finished, 10, 10)
    );
    let steps: Vec<u64> = metrics(&run).iter().map(|r| r.step).collect();
    assert_eq!(steps, vec![2, 4, 6, 8, 10]);
    assert!(
        metrics(&run).iter().all(|r| r.losses["g_adv"] != 9.0),
        "rows past the checkpoint are dropped"
    );
    assert!(events(&run)
        .iter()
        .any(|e| e.kind == "resumed" && e.step == 6));
    assert_eq!(run_dir::RunDir::new(&run).latest_checkpoint(), Some(10));
    // The spec records the extended length.
    assert!(std::fs::read_to_string(run.join("spec.toml"))
        .unwrap()
        .contains("steps = 10"));
}

#[test]
fn corrupt_content_image_is_skipped_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let content = tmp.path().join("photos");
    std::fs::create_dir_all(content.join("nested")).unwrap();
    atelier::train::data::procedural::content_scene(1, 0, 48, 40)
        .save(content.join("one.png"))
        .unwrap();
    atelier::train::data::procedural::content_scene(1, 1, 40, 48)
        .save(content.join("nested/two.jpg"))
        .unwrap();
    std::fs::write(content.join("broken.jpg"), b"\xff\xd8\xff garbage").unwrap();
    let spec = tiny_spec(tmp.path(), "cor", "single_style", "");
    let text = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("content = \"builtin\"", "content = \"photos\"");
    std::fs::write(&spec, text).unwrap();
    let run = train_spec(tmp.path(), &spec, &["--steps", "2"]);
    assert_eq!(status(&run).state, RunState::Finished);
    let warnings: Vec<_> = events(&run)
        .into_iter()
        .filter(|e| e.kind == "warning")
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].message.contains("broken.jpg"),
        "{}",
        warnings[0].message
    );
    assert!(std::fs::read_to_string(run.join("train.log"))
        .unwrap()
        .contains("broken.jpg"));
}

#[test]
fn runs_lists_state_and_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let run = train_tiny(tmp.path(), "lst", "single_style", &["--steps", "2"]);
    let runs = run.parent().unwrap().to_path_buf();
    // A stray non-run folder and a run with a torn status are tolerated.
    std::fs::create_dir_all(runs.join("not-a-run")).unwrap();
    std::fs::create_dir_all(runs.join("0-broken")).unwrap();
    std::fs::write(runs.join("0-broken/spec.toml"), "mode = ").unwrap();
    std::fs::write(runs.join("0-broken/status.json"), "{\"state\":").unwrap();
    let out = run_ok(bin().arg("runs").arg("--runs-dir").arg(&runs).arg("--json"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let lst = list.iter().find(|r| r["name"] == "lst").unwrap();
    assert_eq!(lst["state"]["reported"], "finished");
    assert_eq!(lst["step"], 2);
    assert!(lst["last"]["g_adv"].is_number());
    let broken = list.iter().find(|r| r["id"] == "0-broken").unwrap();
    assert_eq!(broken["state"], "unknown");
    let table = run_ok(bin().arg("runs").arg("--runs-dir").arg(&runs));
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("finished") && table.contains("2/2"),
        "{table}"
    );
}

#[test]
fn resume_without_a_checkpoint_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let run = train_tiny(tmp.path(), "nock", "single_style", &["--steps", "1"]);
    std::fs::remove_dir_all(run.join("checkpoints")).unwrap();
    let err = fails(bin().arg("train").arg("--resume").arg(&run), 1);
    assert!(err.contains("no checkpoint to resume from"), "{err}");
}

#[test]
fn the_same_seed_trains_the_same_run() {
    // Two runs of one spec (one thread, so reductions keep their order) log identical losses;
    // another seed does not.
    let losses = |seed: u64| {
        let tmp = tempfile::tempdir().unwrap();
        let run = train_tiny(
            tmp.path(),
            "seeded",
            "single_style",
            &["--set", &format!("train.seed={seed}")],
        );
        metrics(&run)
            .into_iter()
            .map(|m| m.losses)
            .collect::<Vec<_>>()
    };
    let a = losses(7);
    assert!(!a.is_empty());
    assert_eq!(a, losses(7));
    assert_ne!(a, losses(8));
}

#[test]
fn a_time_budget_ends_the_run_with_a_sample_and_a_checkpoint() {
    // 1,000,000 steps but 0.05 s of budget: the run stops early, as finished, and its last step
    // has a sample and a checkpoint like any final step.
    let tmp = tempfile::tempdir().unwrap();
    let run = train_tiny(
        tmp.path(),
        "budget",
        "single_style",
        &["--steps", "1000000", "--set", "train.max_minutes=0.001"],
    );
    let st = status(&run);
    assert_eq!(st.state, RunState::Finished);
    assert!(st.step >= 1 && st.step < 1_000_000, "{}", st.step);
    let finished = events(&run)
        .into_iter()
        .find(|e| e.kind == "finished")
        .expect("a finished event");
    assert!(
        finished
            .message
            .contains("time budget of 0.001 min reached"),
        "{}",
        finished.message
    );
    let last = sample_index(&run).last().map(|r| r.step);
    assert_eq!(last, Some(st.step));
    assert_eq!(
        run_dir::RunDir::new(&run).latest_checkpoint(),
        Some(st.step)
    );
}

#[test]
fn the_quality_options_train_and_log_their_terms() {
    // SWD style, colour, stroke, weave, spectrum (luminance and colour) and flow terms,
    // normalised losses, bilinear upsampling, a coarse noise channel and a two-scale critic
    // together.
    let tmp = tempfile::tempdir().unwrap();
    let spec = tiny_spec(
        tmp.path(),
        "recipe",
        "single_style",
        "[loss]\nnormalize = true\ncontent_weight = 1.0\nstyle_weight = 1.0\nswd_weight = 1.0\nswd_directions = 4\ncolor_weight = 1.0\nstroke_weight = 1.0\nweave_weight = 1.0\nspectrum_weight = 1.0\nchroma_spectrum_weight = 1.0\nflow_weight = 1.0\n",
    );
    let spec_text = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("layers = 2", "layers = 2\nscales = 2")
        .replace(
            "blocks = 1",
            "blocks = 1\nupsample = \"bilinear\"\nnoise = 1.0\nnoise_scale = 4",
        );
    std::fs::write(&spec, spec_text).unwrap();
    let run = train_spec(tmp.path(), &spec, &[]);
    assert_eq!(status(&run).state, RunState::Finished);
    let rows = metrics(&run);
    // The weave term is a share, 0 where a crop has no fine detail above its floor; the
    // distances are positive.
    let distance = 1e-12..=10.0;
    for (term, range) in [
        ("swd", distance.clone()),
        ("color", distance.clone()),
        ("strokes", distance.clone()),
        ("weave", 0.0..=1.0),
        // A log distance: finite, and not 0 for a crop of a few steps' training.
        ("spectrum", 1e-6..=100.0),
        ("chroma_spectrum", 1e-6..=100.0),
        // A shortfall below the painting's coherence, itself in [0, 1].
        ("flow", 0.0..=1.0),
    ] {
        let values: Vec<f64> = rows
            .iter()
            .filter_map(|r| r.losses.get(term).copied())
            .collect();
        assert_eq!(values.len(), rows.len(), "every row has the {term} term");
        assert!(
            values.iter().all(|v| range.contains(v)),
            "{term}: {values:?}"
        );
    }
    // Normalised, the content term is relative to its target: of order 1, not 1e-3.
    let content = rows[0].losses["content"];
    assert!(content > 0.01 && content < 10.0, "{content}");
    // Both critics' weights come back from the checkpoint.
    run_ok(
        bin()
            .arg("train")
            .arg("--resume")
            .arg(&run)
            .args(["--steps", "8", "--quiet"]),
    );
    assert_eq!(status(&run).step, 8);
}

#[test]
fn every_run_mirrors_itself_for_tensorboard_unless_told_not_to() {
    use atelier::tensorboard::record::{read_records, Stop};
    let tmp = tempfile::tempdir().unwrap();
    let run = train_tiny(tmp.path(), "tb", "single_style", &[]);
    let files: Vec<_> = std::fs::read_dir(run.join("tb"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("events.out.tfevents."), "{name}");
    let bytes = std::fs::read(&files[0]).unwrap();
    let (records, stop) = read_records(&bytes);
    assert_eq!(stop, Stop::End);
    // The file version, the spec, 3 metric rows, 2 inputs and (output, critic) x 2 probes x 3
    // sample steps (TensorBoard's own reader checks the contents: tests/e2e/tensorboard.sh).
    assert_eq!(records.len(), 1 + 1 + 3 + 2 + 12);
    assert!(records[0].ends_with(b"brain.Event:2"));

    let other = tmp.path().join("off");
    std::fs::create_dir_all(&other).unwrap();
    let off = train_tiny(
        &other,
        "tb-off",
        "single_style",
        &["--set", "train.tensorboard=false"],
    );
    assert!(!off.join("tb").exists());
    assert!(off.join("metrics.jsonl").is_file());
}
