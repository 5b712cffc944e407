//! The control file and signals against a live trainer process: pause holds the step count,
//! resume continues, `set` changes a knob (and bad ones are rejected), stop and SIGTERM both end
//! with a checkpoint and state `stopped`; every command is acknowledged in events.jsonl.

use crate::common::*;
use atelier::run_dir::{Command as Cmd, RunDir, RunState};

fn ack(run: &std::path::Path, id: &str, kind: &str) -> atelier::run_dir::Event {
    let mut found = None;
    wait_until(30, &format!("{kind} for {id}"), || {
        found = events(run)
            .into_iter()
            .find(|e| e.id.as_deref() == Some(id));
        found.is_some()
    });
    let e = found.unwrap();
    assert_eq!(e.kind, kind, "{e:?}");
    e
}

#[test]
fn pause_set_resume_stop_through_the_control_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, run) = live_run(tmp.path(), "ctl", "single_style", "");

    send(&run, "p1", Cmd::Pause);
    ack(&run, "p1", "ack");
    wait_state(&run, RunState::Paused, 10);
    let held = status(&run).step;
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let st = status(&run);
    assert_eq!(st.step, held, "no step while paused");
    assert_eq!(st.state, RunState::Paused);
    assert!(
        atelier::run_dir::now() - st.heartbeat < 2.5,
        "heartbeat continues while paused"
    );

    send(
        &run,
        "s1",
        Cmd::Set {
            key: "loss.style_weight".into(),
            value: 7.5,
        },
    );
    let e = ack(&run, "s1", "ack");
    assert!(
        e.message.contains("loss.style_weight = 7.5"),
        "{}",
        e.message
    );
    send(
        &run,
        "s2",
        Cmd::Set {
            key: "loss.cycle_weight".into(),
            value: 1.0,
        },
    );
    ack(&run, "s2", "rejected");
    send(
        &run,
        "s3",
        Cmd::Set {
            key: "optim.lr".into(),
            value: 1e-3,
        },
    );
    ack(&run, "s3", "ack");
    std::fs::OpenOptions::new()
        .append(true)
        .open(run.join("control.jsonl"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"cmd\":\"dance\"}\n"))
        .unwrap();

    send(&run, "r1", Cmd::Resume);
    ack(&run, "r1", "ack");
    wait_until(30, "steps after resume", || status(&run).step > held + 2);
    assert!(events(&run)
        .iter()
        .any(|e| e.kind == "rejected" && e.message.contains("dance")));
    // The new learning rate shows in the metrics from the next logged row on.
    wait_until(30, "a metrics row with the new lr", || {
        metrics(&run).last().is_some_and(|r| r.lr_g == 1e-3)
    });

    send(&run, "x1", Cmd::Stop);
    ack(&run, "x1", "ack");
    let code = child.wait().unwrap();
    assert!(code.success(), "{code:?}");
    let st = status(&run);
    assert_eq!(st.state, RunState::Stopped);
    let rd = RunDir::new(&run);
    assert_eq!(
        rd.latest_checkpoint(),
        Some(st.step),
        "stop checkpoints at the current step"
    );
    let state = std::fs::read_to_string(rd.checkpoint(st.step).join("state.json")).unwrap();
    assert!(
        state.contains("\"loss.style_weight\": 7.5"),
        "knobs saved with the checkpoint: {state}"
    );
}

#[test]
fn sigterm_stops_gracefully_with_a_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, run) = live_run(tmp.path(), "sig", "single_style", "");
    // SAFETY: sending SIGTERM to our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let code = child.wait().unwrap();
    assert!(code.success(), "{code:?}");
    let st = status(&run);
    assert_eq!(st.state, RunState::Stopped);
    assert_eq!(RunDir::new(&run).latest_checkpoint(), Some(st.step));
    assert!(events(&run)
        .iter()
        .any(|e| e.kind == "stopped" && e.message.contains("signal")));
}

#[test]
fn resume_refuses_a_live_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, run) = live_run(tmp.path(), "live", "single_style", "");
    let err = fails(bin().arg("train").arg("--resume").arg(&run), 1);
    assert!(err.contains("still running"), "{err}");
    send(&run, "x", Cmd::Stop);
    child.wait().unwrap();
}

/// `atelier control set` checks the key and value against the knob table of the run's recipe
/// before writing anything: a typo or a bad value is exit 1 with the reason, and no line.
#[test]
fn control_set_checks_the_knob_table_first() {
    let tmp = tempfile::tempdir().unwrap();
    let run = crate::common::dashboard::fixture_run(
        tmp.path(),
        "20261121-100000-knobs",
        RunState::Running,
        10,
        1,
        atelier::run_dir::now(),
    );
    let control = |args: &[&str]| {
        let mut c = bin();
        c.args(["control", "--runs-dir"])
            .arg(tmp.path())
            .args(["--run", "20261121-100000-knobs", "set"])
            .args(args);
        c
    };
    let err = fails(&mut control(&["loss.cycle_weight", "2"]), 1);
    assert!(
        err.contains("not a live knob") && err.contains("loss.style_weight"),
        "{err}"
    );
    let err = fails(&mut control(&["optim.lr", "0"]), 1);
    assert!(err.contains("(0, 1]"), "{err}");
    assert!(!run.join("control.jsonl").exists(), "nothing written");
    run_ok(&mut control(&["loss.style_weight", "3"]));
    let text = std::fs::read_to_string(run.join("control.jsonl")).unwrap();
    assert!(text.contains("loss.style_weight"), "{text}");
}
