//! Finding the workspace (flags, ATELIER_RUNS_DIR, walking up from a subdirectory), the
//! dashboard's options at the top level, and the generated completions and manual page.

use crate::common::{bin, run_ok};
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
