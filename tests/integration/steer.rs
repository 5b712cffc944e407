//! The preference-weighted discriminator through the control file: a run with
//! `steer.favored_fraction > 0` accepts `favor` for one of its own sample outputs (through the
//! CLI), mixes it into the critic's real batch (the `favored_share` metric), rejects an unreadable
//! image without dying, and keeps the pool across a resume; a run with the feature off, and a
//! cyclegan run, reject `favor`.

use crate::common::*;
use atelier::run_dir::{Command as Cmd, Event, RunDir};
use std::path::Path;

/// The acknowledgement of command `id` (any kind).
fn reply(run: &Path, pick: impl Fn(&Event) -> bool) -> Event {
    let mut found = None;
    wait_until(30, "an acknowledgement", || {
        found = events(run).into_iter().find(&pick);
        found.is_some()
    });
    found.unwrap()
}

fn by_id(run: &Path, id: &str) -> Event {
    reply(run, |e| e.id.as_deref() == Some(id))
}

fn favor(run: &Path, id: &str, image: &str) -> Event {
    send(
        run,
        id,
        Cmd::Favor {
            image: image.into(),
        },
    );
    by_id(run, id)
}

fn favored_shares(run: &Path, after: u64) -> Vec<f64> {
    metrics(run)
        .iter()
        .filter(|r| r.step > after)
        .filter_map(|r| r.losses.get("favored_share").copied())
        .collect()
}

#[test]
fn favored_outputs_join_the_real_batch_and_survive_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let steer = "[steer]\nfavored_fraction = 0.15\nfavored_ttl = 1000000\n";
    let (mut child, run) = live_run(tmp.path(), "steer", "single_style", steer);
    let own = "samples/step_0000000/content_01_output.png";
    assert!(run.join(own).is_file());

    // Through the CLI, with the path as seen from the current directory: the trainer gets it
    // relative to the run.
    let id = run.file_name().unwrap().to_string_lossy().into_owned();
    let from_cwd = format!("runs/{id}/{own}");
    let out = run_ok(
        bin()
            .current_dir(tmp.path())
            .args(["control", "--run"])
            .arg(&run)
            .args(["favor", &from_cwd]),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("sent favor"));
    let e = reply(&run, |e| e.message.contains("favoured"));
    assert_eq!(e.kind, "ack", "{e:?}");
    assert!(
        e.message
            .starts_with(&format!("favoured {own} until step ")),
        "{}",
        e.message
    );
    assert!(
        e.message.ends_with("(1 favoured image in the pool)"),
        "{}",
        e.message
    );

    let e = favor(&run, "missing", "samples/step_0000000/nope.png");
    assert_eq!(e.kind, "rejected", "{e:?}");
    assert!(e.message.contains("cannot read"), "{}", e.message);
    let e = favor(&run, "second", own);
    assert_eq!(e.kind, "ack", "{e:?}");
    assert!(e.message.contains("2 favoured images"), "{}", e.message);

    // The run lives on and its critic sees the favoured images.
    let at = status(&run).step;
    wait_until(60, "favoured slots in the real batch", || {
        favored_shares(&run, at).iter().any(|&s| s > 0.0)
    });
    assert!(favored_shares(&run, at)
        .iter()
        .all(|&s| (0.0..=1.0).contains(&s)));
    send(&run, "x", Cmd::Stop);
    assert!(child.wait().unwrap().success());
    let stopped = status(&run).step;
    let ckpt = RunDir::new(&run).checkpoint(stopped);
    assert!(ckpt.join("favored.json").is_file());
    assert!(ckpt.join("favored_01.png").is_file());

    // Resumed, the pool is still there: favoured slots keep appearing.
    let more = (stopped + 40).to_string();
    run_ok(
        bin()
            .args(["train", "--quiet", "--resume"])
            .arg(&run)
            .args(["--steps", &more]),
    );
    let after = favored_shares(&run, stopped);
    assert!(
        after.len() >= 20,
        "one favored_share per logged row: {after:?}"
    );
    assert!(after.iter().any(|&s| s > 0.0), "{after:?}");
}

#[test]
fn favor_is_rejected_when_off_or_in_cyclegan() {
    for (mode, steer, reason) in [
        ("single_style", "", "steer.favored_fraction is 0"),
        (
            "cyclegan",
            "[steer]\nfavored_fraction = 0.1\n",
            "single_style runs only",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let (mut child, run) = live_run(tmp.path(), "steer", mode, steer);
        let sample = if mode == "cyclegan" {
            "samples/step_0000000/a_00_output.png"
        } else {
            "samples/step_0000000/content_00_output.png"
        };
        assert!(run.join(sample).is_file(), "{sample}");
        let e = favor(&run, "f", sample);
        assert_eq!(e.kind, "rejected", "{e:?}");
        assert!(e.message.contains(reason), "{}", e.message);
        let held = status(&run).step;
        wait_until(30, "steps after the rejection", || status(&run).step > held);
        assert!(metrics(&run)
            .iter()
            .all(|r| !r.losses.contains_key("favored_share")));
        send(&run, "x", Cmd::Stop);
        assert!(child.wait().unwrap().success());
    }
}
