//! Spec fixtures through the binary: every valid fixture passes `train --check`; every invalid
//! one exits 2 with ONE message naming the file, the field and the reason (its `# expect:`
//! lines), and writes nothing. Also `train.device` / `--gpu`, and the GPU commands without a GPU
//! (`atelier gpus`, `bench --backend cuda`).

use crate::common::{bin, run_ok};
use std::path::PathBuf;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/specs")
        .join(kind);
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn valid_fixtures_and_shipped_experiments_check() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut all = fixtures("valid");
    all.push(root.join("experiments/quickstart.toml"));
    all.push(root.join("experiments/study.toml"));
    // The shipped how-to specs, with images placed where their comments say.
    let how_to = tempfile::tempdir().unwrap();
    let images = how_to.path().join("images");
    for sub in ["photos/trip", "a", "b"] {
        std::fs::create_dir_all(images.join(sub)).unwrap();
    }
    let scene = |i| atelier::train::data::procedural::content_scene(3, i, 160, 120);
    scene(0).save(images.join("photos/trip/one.jpg")).unwrap();
    scene(1).save(images.join("a/one.png")).unwrap();
    scene(2).save(images.join("b/one.png")).unwrap();
    atelier::train::data::procedural::painterly_style(1, 600, 500)
        .save(images.join("starry_night.jpg"))
        .unwrap();
    std::fs::create_dir_all(how_to.path().join("gpu")).unwrap();
    for e in ["starry", "cyclegan", "gpu/starry", "gpu/cyclegan"] {
        let dest = how_to.path().join(format!("{e}.toml"));
        std::fs::copy(root.join("experiments").join(format!("{e}.toml")), &dest).unwrap();
        all.push(dest);
    }
    assert!(all.len() >= 10);
    for spec in all {
        let tmp = tempfile::tempdir().unwrap();
        let out = run_ok(
            bin()
                .arg("train")
                .arg(&spec)
                .arg("--check")
                .arg("--runs-dir")
                .arg(tmp.path().join("runs")),
        );
        let resolved = String::from_utf8_lossy(&out.stdout);
        assert!(
            resolved.contains("mode = "),
            "{}: {resolved}",
            spec.display()
        );
        assert!(!tmp.path().join("runs").exists(), "--check wrote nothing");
    }
}

#[test]
fn invalid_fixtures_fail_with_one_clear_message_and_write_nothing() {
    let invalid = fixtures("invalid");
    assert!(invalid.len() >= 10, "{invalid:?}");
    for spec in invalid {
        let text = std::fs::read_to_string(&spec).unwrap();
        let expects: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(
            !expects.is_empty(),
            "{} has no `# expect:` line",
            spec.display()
        );
        let tmp = tempfile::tempdir().unwrap();
        let runs = tmp.path().join("runs");
        let out = bin()
            .arg("train")
            .arg(&spec)
            .arg("--runs-dir")
            .arg(&runs)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", spec.display());
        let name = spec.file_name().unwrap().to_string_lossy();
        assert!(
            err.contains(&*name),
            "{name}: message names the file: {err}"
        );
        for e in expects {
            assert!(err.contains(e), "{name}: expected `{e}` in: {err}");
        }
        assert_eq!(err.lines().count(), 1, "{name}: one message: {err}");
        assert!(!runs.exists(), "{name}: nothing written");
    }
}

#[test]
fn how_to_spec_without_its_images_names_the_missing_path() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("starry.toml");
    std::fs::copy(root.join("experiments/starry.toml"), &dest).unwrap();
    let out = bin()
        .arg("train")
        .arg(&dest)
        .arg("--check")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("data.content")
            && err.contains("images/photos")
            && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn set_overrides_apply_and_bad_ones_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = crate::common::tiny_spec(tmp.path(), "t", "single_style", "");
    let out = run_ok(
        bin()
            .args([
                "train",
                "--check",
                "--set",
                "loss.style_weight=3",
                "--steps",
                "11",
            ])
            .arg(&spec),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("style_weight = 3.0"), "{text}");
    assert!(text.contains("steps = 11"), "{text}");
    let out = bin()
        .args(["train", "--check", "--set", "loss.stlye_weight=3"])
        .arg(&spec)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("loss.stlye_weight") && err.contains("unknown field"),
        "{err}"
    );
}

#[test]
fn gpu_flag_sets_the_device_and_a_cpu_build_refuses_cuda() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = crate::common::tiny_spec(tmp.path(), "t", "single_style", "");
    let out = bin()
        .args(["train", "--check", "--gpu", "1"])
        .arg(&spec)
        .output()
        .unwrap();
    let (stdout, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    if cfg!(feature = "cuda") {
        assert!(out.status.success(), "{err}");
        assert!(stdout.contains("device = \"cuda:1\""), "{stdout}");
    } else {
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("train.device") && err.contains("--features cuda"),
            "{err}"
        );
    }
    // `cpu` always validates, and contradicts backend = "cuda".
    let out = run_ok(
        bin()
            .args(["train", "--check", "--set", "train.device=cpu"])
            .arg(&spec),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("device = \"cpu\""));
    let out = bin()
        .args(["train", "--check", "--set", "train.device=cuda:0"])
        .args(["--backend", "flex"])
        .arg(&spec)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("train.device"), "{err}");
}

#[test]
fn gpus_without_nvml_says_so_and_bench_cuda_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = run_ok(bin().arg("gpus").arg("--runs-dir").arg(&runs));
    let text = String::from_utf8_lossy(&out.stdout);
    // This machine has no NVIDIA driver; on one that has, the lines name the GPUs.
    if text.contains("no NVIDIA GPU") {
        assert_eq!(text.trim(), atelier::gpu::NO_GPU);
        let out = run_ok(bin().args(["gpus", "--json"]));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    } else {
        assert!(text.contains("util") && text.contains("GiB"), "{text}");
    }
    if atelier::backend::cuda_available(0) {
        return;
    }
    let out = bin()
        .args(["bench", "--backend", "cuda", "--steps", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let expected = if cfg!(feature = "cuda") {
        "no usable CUDA device"
    } else {
        "rebuild with --features cuda"
    };
    assert!(err.contains(expected), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
