//! `atelier propose` through the binary: a study's first proposals are space-filling; after
//! judgements they come from the preference model with their provenance, are valid specs inside
//! the search space, and `--best` writes the top predicted configuration.

use crate::common::{bin, run_ok};
use crate::judging::{study_fixture, SEARCH};
use atelier::ratings::{self, Rating};
use atelier::run_dir;
use std::path::Path;

fn propose(tmp: &Path, target: &str, extra: &[&str]) -> String {
    let out = run_ok(
        bin()
            .arg("propose")
            .arg(target)
            .arg("--runs-dir")
            .arg(tmp.join("runs"))
            .arg("--experiments")
            .arg(tmp.join("experiments"))
            .args(extra),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The searched values of a proposal, checked against the space.
fn searched(path: &Path) -> Vec<f64> {
    let plan = atelier::spec::load(path, &[]).expect("a proposal is a valid spec");
    assert_eq!(plan.spec.study.name.as_deref(), Some("tune"));
    let keys = ["loss.style_weight", "loss.content_weight", "optim.lr"];
    let bounds = [(1e4, 1e7), (100.0, 1e4), (1e-4, 1e-2)];
    keys.iter()
        .zip(bounds)
        .map(|(k, (lo, hi))| {
            let v = atelier::spec::get_number(&plan.spec, k).unwrap();
            assert!(
                v >= lo * 0.999 && v <= hi * 1.001,
                "{k} = {v} outside {lo}..{hi}"
            );
            v
        })
        .collect()
}

#[test]
fn a_study_starts_space_filling_from_its_spec() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("experiments")).unwrap();
    let spec = tmp.path().join("experiments/tune.toml");
    std::fs::write(
        &spec,
        format!("mode = \"single_style\"\n[data]\ncontent = \"builtin\"\nstyle = \"builtin\"\nimage_size = 32\n{SEARCH}[study]\ncandidates = 3\n"),
    )
    .unwrap();
    let out = propose(tmp.path(), &spec.display().to_string(), &[]);
    assert!(out.contains("study tune: 0 runs, 0 judgements"), "{out}");
    let proposed = tmp.path().join("experiments/proposed");
    let mut points = Vec::new();
    for n in 1..=3 {
        let p = proposed.join(format!("tune-{n}.toml"));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("space-filling"), "{text}");
        points.push(searched(&p));
    }
    assert!(!proposed.join("tune-4.toml").exists());
    // Three distinct points.
    assert!(points[0] != points[1] && points[1] != points[2] && points[0] != points[2]);
}

#[test]
fn judgements_steer_the_next_proposal() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let now = run_dir::now();
    let dirs = study_fixture(&runs, now);
    let ids: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // The grid is full: nothing to propose yet.
    let out = propose(tmp.path(), "tune", &[]);
    assert!(out.contains("nothing to propose"), "{out}");
    // Run 4 (the highest style weight) is judged the worst, twice.
    let first = Rating::worst(&ids, 3, 400, 0);
    ratings::append(&runs, &first).unwrap();
    ratings::append(&runs, &Rating::worst(&ids[..3], 2, 400, 1)).unwrap();
    let out = propose(tmp.path(), "tune", &[]);
    assert!(out.contains("study tune: 4 runs, 2 judgements"), "{out}");
    let path = tmp.path().join("experiments/proposed/tune-5.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("expected improvement"), "{text}");
    assert!(
        text.contains(&first.id),
        "provenance names the judgements: {text}"
    );
    assert!(text.contains("predicted utility"), "{text}");
    searched(&path);
    // Two slots were free (two retired): two proposals, numbered on.
    assert!(tmp.path().join("experiments/proposed/tune-6.toml").exists());
    // The study's answer.
    let out = propose(tmp.path(), "tune", &["--best"]);
    assert!(out.contains("tune-best.toml"), "{out}");
    searched(&tmp.path().join("experiments/proposed/tune-best.toml"));
}

#[test]
fn unknown_study_and_spec_without_search_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["propose", "nope", "--runs-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no study `nope`"), "{err}");
    let spec = crate::common::tiny_spec(tmp.path(), "plain", "single_style", "");
    let out = bin()
        .arg("propose")
        .arg(&spec)
        .arg("--runs-dir")
        .arg(tmp.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a [search] table"), "{err}");
}
