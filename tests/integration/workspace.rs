//! Finding the workspace (flags, ATELIER_RUNS_DIR, walking up from a subdirectory), the
//! dashboard's options at the top level, and the generated completions and manual page.

use crate::common::{bin, fails, run_ok, tiny_spec};
use crate::judging::study_fixture;
use atelier::run_dir;

#[test]
fn runs_are_found_from_a_subdirectory_and_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    study_fixture(&tmp.path().join("runs"), run_dir::now());
    let deep = tmp.path().join("notes/2026");
    std::fs::create_dir_all(&deep).unwrap();
    let out = run_ok(bin().arg("runs").current_dir(&deep));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("tune-4"),
        "walked up to the workspace: {text}"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let out = run_ok(
        bin()
            .arg("runs")
            .current_dir(elsewhere.path())
            .env("ATELIER_RUNS_DIR", tmp.path().join("runs")),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("tune-1"));
}

#[test]
fn dashboard_options_work_without_the_subcommand() {
    let tmp = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("--runs-dir")
        .arg(tmp.path())
        .arg("--theme")
        .arg("light")
        .arg("--fresh")
        .output()
        .unwrap();
    // Accepted (not a usage error, exit 2): it only refuses because stdout is not a terminal.
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a terminal"));
}

#[test]
fn completions_and_manual_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run_ok(bin().args(["completions", shell]));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("judge") && text.contains("--runs-dir"),
            "{shell}"
        );
    }
    let out = run_ok(bin().arg("man"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(".ie") || text.contains(".TH atelier"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    run_ok(bin().arg("man").arg("--dir").arg(dir.path()));
    assert!(dir.path().join("atelier.1").is_file());
    assert!(dir.path().join("atelier-judge.1").is_file());
}

#[test]
fn a_broken_workspace_file_stops_only_what_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tiny_spec(tmp.path(), "ws", "single_style", "");
    let runs = tmp.path().join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    std::fs::write(
        tmp.path().join("atelier.toml"),
        "launcher = \"slurm\"\n[slurm]\npartiton = \"gpu\"\n",
    )
    .unwrap();
    let train = |extra: &[&str]| {
        let mut c = bin();
        c.arg("train")
            .arg(&spec)
            .arg("--runs-dir")
            .arg(&runs)
            .args(["--quiet", "--steps", "2"])
            .args(extra);
        c
    };
    // The workspace file decides the launcher: its error names file, field and reason.
    let err = fails(&mut train(&[]), 2);
    assert!(
        err.contains("atelier.toml") && err.contains("partiton"),
        "{err}"
    );
    // An explicit local launcher does not read it.
    run_ok(&mut train(&["--launcher", "local"]));
    run_ok(train(&[]).env("ATELIER_LAUNCHER", "local"));
}
