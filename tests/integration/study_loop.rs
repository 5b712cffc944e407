//! The study loop's defects found by driving `atelier propose` from outside, each pinned by a
//! test (a pending proposal is a member-to-be, a stopped run leaves the grid, an undone
//! retirement comes back although its replacement exists, a recorded seed, what the headers
//! say), quiet exits on a closed stdout, and the loop driven end to end only through
//! `atelier judge` and `atelier propose --json` with real tiny runs.

use crate::common::dashboard::{app_with_runs, ch};
use crate::common::{bin, run_ok, tiny_spec, wait_until};
use crate::judging::{study_fixture, study_run, SEARCH};
use atelier::ratings::{self, Ledger};
use atelier::run_dir::{self, RunState, Status};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `atelier ARGS --runs-dir TMP/runs --experiments TMP/experiments`, which must succeed; stdout.
fn atelier(tmp: &Path, args: &[&str]) -> String {
    let out = run_ok(
        bin()
            .args(args)
            .arg("--runs-dir")
            .arg(tmp.join("runs"))
            .arg("--experiments")
            .arg(tmp.join("experiments")),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn propose_json(tmp: &Path, target: &str, extra: &[&str]) -> Value {
    let mut args = vec!["propose", target, "--json"];
    args.extend_from_slice(extra);
    let out = atelier(tmp, &args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The role `propose --json` gives the member named `name`.
fn role<'a>(report: &'a Value, name: &str) -> &'a str {
    report["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no member {name}: {report:#}"))["role"]
        .as_str()
        .unwrap()
}

fn study_spec(tmp: &Path, extra: &str) -> PathBuf {
    std::fs::create_dir_all(tmp.join("experiments")).unwrap();
    let spec = tmp.join("experiments/tune.toml");
    std::fs::write(
        &spec,
        format!("mode = \"single_style\"\n[data]\ncontent = \"builtin\"\nstyle = \"builtin\"\nimage_size = 32\n{SEARCH}[study]\ncandidates = 3\n{extra}"),
    )
    .unwrap();
    spec
}

fn set_state(run: &Path, state: RunState) {
    let path = run.join(run_dir::STATUS);
    let mut s: Status = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    s.state = state;
    std::fs::write(&path, serde_json::to_vec(&s).unwrap()).unwrap();
}

#[test]
fn a_pending_proposal_is_a_member_to_be() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = study_spec(tmp.path(), "");
    let spec = spec.display().to_string();
    atelier(tmp.path(), &["propose", &spec]);
    // Asked again before any is launched: the three are members-to-be, nothing new is written.
    let out = atelier(tmp.path(), &["propose", &spec]);
    assert!(out.contains("nothing to propose"), "{out}");
    assert!(out.contains("not launched yet"), "{out}");
    assert!(!tmp.path().join("experiments/proposed/tune-4.toml").exists());
    let report = propose_json(tmp.path(), &spec, &[]);
    assert_eq!(report["pending"].as_array().unwrap().len(), 3, "{report:#}");
    assert!(report["proposals"].as_array().unwrap().is_empty());
    // Deleting one gives its slot back: one new proposal, numbered on, away from the others.
    std::fs::remove_file(tmp.path().join("experiments/proposed/tune-2.toml")).unwrap();
    let report = propose_json(tmp.path(), &spec, &[]);
    let written = report["proposals"].as_array().unwrap();
    assert_eq!(written.len(), 1, "{report:#}");
    assert_eq!(written[0]["name"], "tune-4");
}

#[test]
fn a_stopped_run_is_not_a_candidate() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let dirs = study_fixture(&runs, run_dir::now());
    set_state(&dirs[1], RunState::Stopped);
    let study = atelier::study::Study::load(&runs, "tune", None).unwrap();
    let live: Vec<&str> = study
        .live(&Ledger::default())
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(live, ["tune-1", "tune-3", "tune-4"]);
    // The dashboard's grid follows the same rule.
    let mut app = app_with_runs(&runs, run_dir::now());
    app.selected = 0;
    ch(&mut app, 'b');
    let grid = app.grid.as_ref().expect("b opens the study's grid");
    assert!(
        !grid.ids().iter().any(|id| id.ends_with("tune-2")),
        "{:?}",
        grid.ids()
    );
    // And a proposal fills its slot (candidates = 4 in the fixture).
    let report = propose_json(tmp.path(), "tune", &[]);
    assert_eq!(role(&report, "tune-2"), "dead");
    assert_eq!(
        report["proposals"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
}

#[test]
fn undoing_a_retirement_brings_the_run_back_although_its_replacement_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let now = run_dir::now();
    let dirs = study_fixture(&runs, now);
    // The oldest candidate is judged the worst; its replacement is made.
    let line = atelier(
        tmp.path(),
        &["judge", "tune", "--worst", "tune-1", "--json"],
    );
    let worst: ratings::Rating = serde_json::from_str(&line).unwrap();
    assert_eq!(worst.runs.len(), 4);
    study_run(
        &runs,
        "20261121-100009-tune-5",
        "tune-5",
        [2e5, 500.0, 2e-3],
        now,
    );
    let report = propose_json(tmp.path(), "tune", &[]);
    assert_eq!(role(&report, "tune-1"), "retired");
    assert_eq!(role(&report, "tune-5"), "live");
    // Undo: tune-1 is back in the grid, its replacement waits for the next free slot.
    let out = atelier(tmp.path(), &["judge", "tune", "--undo", &worst.id]);
    assert!(out.contains(&format!("undid {}", worst.id)), "{out}");
    let report = propose_json(tmp.path(), "tune", &[]);
    assert_eq!(role(&report, "tune-1"), "live");
    assert_eq!(role(&report, "tune-5"), "waiting");
    assert!(report["proposals"].as_array().unwrap().is_empty());
    // The dashboard's grid shows the same four.
    let mut app = app_with_runs(&runs, now);
    app.selected = app
        .runs
        .iter()
        .position(|r| r.dir == dirs[0].display().to_string())
        .unwrap();
    ch(&mut app, 'b');
    let ids = app.grid.as_ref().unwrap().ids();
    assert_eq!(ids.len(), 4);
    assert!(ids[0].ends_with("tune-1"), "{ids:?}");
    assert!(!ids.iter().any(|i| i.ends_with("tune-5")), "{ids:?}");
    // Undoing it twice is a clear error.
    let out = bin()
        .args(["judge", "tune", "--undo", &worst.id, "--runs-dir"])
        .arg(&runs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already undone"));
}

/// The searched values of each proposal file, in number order.
fn proposed_values(tmp: &Path, n: usize) -> Vec<Vec<f64>> {
    (1..=n)
        .map(|i| {
            let p = tmp.join(format!("experiments/proposed/tune-{i}.toml"));
            let plan = atelier::spec::load(&p, &[]).unwrap();
            ["loss.style_weight", "loss.content_weight", "optim.lr"]
                .iter()
                .map(|k| atelier::spec::get_number(&plan.spec, k).unwrap())
                .collect()
        })
        .collect()
}

fn recorded_seed(tmp: &Path, n: usize) -> Option<u64> {
    let p = tmp.join(format!("experiments/proposed/tune-{n}.toml"));
    atelier::spec::load(&p, &[]).unwrap().spec.study.seed
}

#[test]
fn each_study_draws_its_own_seed_and_records_it() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    for t in [&a, &b, &c] {
        study_spec(t.path(), "");
    }
    let spec = |t: &tempfile::TempDir| t.path().join("experiments/tune.toml").display().to_string();
    let report = propose_json(a.path(), &spec(&a), &[]);
    let seed = recorded_seed(a.path(), 1).expect("the first proposal records the study's seed");
    assert_eq!(report["seed"], seed);
    assert!((1..=3).all(|n| recorded_seed(a.path(), n) == Some(seed)));
    // Replayed with that seed: the same design.
    atelier(
        b.path(),
        &["propose", &spec(&b), "--seed", &seed.to_string()],
    );
    assert_eq!(proposed_values(a.path(), 3), proposed_values(b.path(), 3));
    // Another seed: another design (the first point is the centre in both).
    atelier(
        c.path(),
        &["propose", &spec(&c), "--seed", &(seed + 1).to_string()],
    );
    let (va, vc) = (proposed_values(a.path(), 3), proposed_values(c.path(), 3));
    assert_eq!(va[0], vc[0]);
    assert_ne!(va[1..], vc[1..]);
}

#[test]
fn thompson_proposals_say_thompson() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    for d in study_fixture(&runs, run_dir::now()) {
        // The fixture asks for expected improvement; the default is Thompson sampling.
        let p = d.join(run_dir::SPEC);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(
            &p,
            text.replace("acquisition = \"expected_improvement\"\n", ""),
        )
        .unwrap();
    }
    atelier(tmp.path(), &["judge", "tune", "--worst", "tune-4"]);
    let report = propose_json(tmp.path(), "tune", &[]);
    assert_eq!(report["acquisition"], "thompson");
    let text =
        std::fs::read_to_string(tmp.path().join("experiments/proposed/tune-5.toml")).unwrap();
    assert!(text.contains("# Thompson sampling"), "{text}");
    let why = report["proposals"][0]["why"].as_str().unwrap();
    assert!(why.starts_with("Thompson sampling"), "{why}");
}

#[test]
fn a_closed_stdout_ends_commands_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    study_fixture(&runs, run_dir::now());
    let runs_s = runs.display().to_string();
    for args in [
        vec!["runs", "--runs-dir", &runs_s],
        vec!["runs", "--json", "--runs-dir", &runs_s],
        vec!["propose", "tune", "--runs-dir", &runs_s],
        vec!["propose", "tune", "--json", "--runs-dir", &runs_s],
        vec!["gpus", "--runs-dir", &runs_s],
    ] {
        let mut child = bin()
            .args(&args)
            .current_dir(tmp.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the command writes (`atelier … | head -0`).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
    }
}

/// The study loop from outside, as a script would drive it: real tiny runs launched by
/// `propose --launch`, judged by a simulated rater through `atelier judge`, the state read back
/// only from `propose --json`.
#[test]
fn a_study_driven_only_through_judge_and_propose_json() {
    let tmp = tempfile::tempdir().unwrap();
    let extra = format!("{SEARCH}[study]\ncandidates = 3\nmax_runs = 6\n");
    let spec = tiny_spec(tmp.path(), "tune", "single_style", "");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::create_dir_all(tmp.path().join("experiments")).unwrap();
    let spec_path = tmp.path().join("experiments/tune.toml");
    std::fs::write(&spec_path, format!("{text}{extra}")).unwrap();
    let spec = spec_path.display().to_string();
    let finished = |report: &Value, n: usize| {
        report["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["state"] == "finished")
            .count()
            >= n
    };
    let wait_finished = |n: usize| {
        wait_until(180, &format!("{n} finished runs"), || {
            finished(&propose_json(tmp.path(), "tune", &[]), n)
        })
    };
    // The first design, launched.
    let report = propose_json(tmp.path(), &spec, &["--launch"]);
    let first = report["proposals"].as_array().unwrap();
    assert_eq!(first.len(), 3, "{report:#}");
    assert!(first.iter().all(|p| p["run"].is_string()), "{report:#}");
    assert!(report["seed"].is_u64(), "{report:#}");
    wait_finished(3);
    // The simulated rater: the style weight nearest 10^5.5 is best.
    let distance =
        |m: &Value| (m["values"]["loss.style_weight"].as_f64().unwrap().log10() - 5.5).abs();
    let mut losers = Vec::new();
    for round in 1..=2 {
        let report = propose_json(tmp.path(), "tune", &[]);
        let live: Vec<&Value> = report["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "live")
            .collect();
        assert_eq!(live.len(), 3, "round {round}: {report:#}");
        let loser = live
            .iter()
            .max_by(|a, b| distance(a).total_cmp(&distance(b)))
            .unwrap();
        let name = loser["name"].as_str().unwrap().to_string();
        let line = atelier(tmp.path(), &["judge", "tune", "--worst", &name, "--json"]);
        let r: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(r["kind"], "worst");
        assert_eq!(r["study"], "tune");
        assert_eq!(r["value"], loser["id"]);
        assert_eq!(r["runs"].as_array().unwrap().len(), 3);
        assert_eq!(r["step"], 6, "judged at the common last sample step");
        // The dashboard's ledger reads it as a retirement.
        let ledger = Ledger::new(ratings::read(&tmp.path().join("runs")));
        assert!(ledger.retired().contains(loser["id"].as_str().unwrap()));
        let report = propose_json(tmp.path(), "tune", &["--launch"]);
        assert_eq!(role(&report, &name), "retired");
        assert_eq!(report["judgements"].as_array().unwrap().len(), round);
        let written = report["proposals"].as_array().unwrap();
        assert_eq!(written.len(), 1, "one slot was freed: {report:#}");
        assert!(written[0]["why"]
            .as_str()
            .unwrap()
            .starts_with("Thompson sampling"));
        assert!(written[0]["predicted"]["mean"].is_f64());
        losers.push(name);
        wait_finished(3 + round);
    }
    // Every member has a predicted utility; the best is marked; the losers score lowest.
    let report = propose_json(tmp.path(), "tune", &[]);
    let members = report["members"].as_array().unwrap();
    assert_eq!(members.len(), 5);
    assert_eq!(members.iter().filter(|m| m["best"] == true).count(), 1);
    let best = members.iter().find(|m| m["best"] == true).unwrap();
    assert!(!losers.contains(&best["name"].as_str().unwrap().to_string()));
    // Undo the last judgement: that loser is live again, the newest run waits.
    atelier(tmp.path(), &["judge", "tune", "--undo", "last"]);
    let report = propose_json(tmp.path(), "tune", &[]);
    assert_eq!(role(&report, &losers[1]), "live", "{report:#}");
    assert_eq!(role(&report, "tune-5"), "waiting", "{report:#}");
    assert_eq!(report["judgements"].as_array().unwrap().len(), 1);
    // A tie and stars are the dashboard's lines too.
    let tie: Value =
        serde_json::from_str(&atelier(tmp.path(), &["judge", "tune", "--tie", "--json"])).unwrap();
    assert_eq!(tie["kind"], "tie");
    assert_eq!(tie["runs"].as_array().unwrap().len(), 3);
    let stars: Value = serde_json::from_str(&atelier(
        tmp.path(),
        &["judge", "tune", "--stars", "4", "tune-1", "--json"],
    ))
    .unwrap();
    assert_eq!(stars["kind"], "stars");
    assert_eq!(stars["value"], 4);
    assert_eq!(stars["step"], 6);
    // The end: the top predicted configuration.
    let report = propose_json(tmp.path(), "tune", &["--best"]);
    assert_eq!(report["proposals"][0]["name"], "tune-best");
}
