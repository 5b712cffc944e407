//! `atelier distill`: a student generator trained on a tiny teacher's outputs is a run of its
//! own, linked to its parent (spec, status, `atelier runs`), with the L1 to the teacher in its
//! metrics, and its checkpoint loads wherever a generator loads (stylize, the look worker).

use crate::common::dashboard::{app_with_runs, ch, press, settle};
use crate::common::*;
use atelier::run_dir::{self, RunState};
use atelier::tui::app::Msg;
use atelier::tui::images::{halfblock_picker, Images};
use atelier::tui::update::update;
use atelier::tui::workers::Watched;
use crossterm::event::KeyCode;
use std::path::PathBuf;

#[test]
fn a_student_trains_from_a_teacher_and_loads_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = train_tiny(tmp.path(), "teach", "single_style", &[]);
    let runs = tmp.path().join("runs");
    let teacher_id = teacher.file_name().unwrap().to_string_lossy().into_owned();

    run_ok(
        bin()
            .args(["distill", "teach", "--width", "2", "--blocks", "1"])
            .args(["--steps", "4", "--quiet", "--runs-dir"])
            .arg(&runs),
    );
    let student: PathBuf = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir() && *p != teacher)
        .expect("a second run");
    assert!(
        student.to_string_lossy().ends_with("teach-w2b1"),
        "{}",
        student.display()
    );
    let st = status(&student);
    assert_eq!(st.state, RunState::Finished);
    assert_eq!(st.parent.as_deref(), Some(teacher_id.as_str()));
    let spec = atelier::store::read_spec(&run_dir::RunDir::new(&student)).unwrap();
    assert_eq!((spec.generator.width, spec.generator.blocks), (2, 1));
    let d = spec.distill.expect("the link to the teacher");
    assert_eq!((d.parent.as_str(), d.checkpoint), (teacher_id.as_str(), 6));
    // The student learned against the teacher's output: the term is in every metric row.
    let rows = metrics(&student);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r
        .losses
        .get("distill")
        .is_some_and(|v| v.is_finite() && *v > 0.0)));
    // The teacher's metrics have no such term.
    assert!(metrics(&teacher)
        .iter()
        .all(|r| !r.losses.contains_key("distill")));

    // `atelier runs` names the parent.
    let out = run_ok(bin().arg("runs").arg("--runs-dir").arg(&runs));
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = listing
        .lines()
        .find(|l| l.contains("teach-w2b1"))
        .expect("student listed");
    assert!(
        line.contains(&format!("distilled from {teacher_id}")),
        "{listing}"
    );

    // stylize loads the student's generator like any other.
    let photo = tmp.path().join("photo.png");
    atelier::train::data::procedural::content_scene(3, 0, 40, 30)
        .save(&photo)
        .unwrap();
    let out_dir = tmp.path().join("both");
    run_ok(
        bin()
            .args(["stylize", "--all-runs", "--runs-dir"])
            .arg(&runs)
            .arg("--input")
            .arg(&photo)
            .arg("--output")
            .arg(&out_dir),
    );
    let student_id = student.file_name().unwrap().to_string_lossy().into_owned();
    let s_img = image::open(out_dir.join(format!("{student_id}.png"))).unwrap();
    assert_eq!((s_img.width(), s_img.height()), (40, 30));
    assert!(out_dir.join(format!("{teacher_id}.png")).is_file());

    // And so does the look worker.
    let (tx, rx) = std::sync::mpsc::channel();
    let looker = atelier::tui::look::spawn(tx);
    looker
        .send(atelier::tui::look::LookRequest {
            run: teacher.clone(),
            generator: student.clone(),
            input: photo.clone(),
            direction: None,
            look: atelier::stylize::Look::default(),
            seq: 1,
            slot: 1,
            fit: Some((20, 20)),
            save: None,
        })
        .unwrap();
    let Msg::Look(r) = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap() else {
        panic!("expected a look result")
    };
    let (path, step) = r.outcome.expect("rendered with the student");
    assert_eq!(step, 4);
    assert_eq!(image::open(path).unwrap().width(), 20, "fitted to 20 px");

    // The dashboard: the runs table names the parent, and the student's look preview offers the
    // teacher's generator right after its own, so the grid shows them side by side.
    let mut app = app_with_runs(&runs, run_dir::now());
    let images = Images::new(halfblock_picker(), || {});
    let table = settle(&app, &images, 160, 36).backend().to_string();
    assert!(table.contains("teach-w2b1 ← teach"), "{table}");
    app.selected = app
        .visible_runs()
        .iter()
        .position(|r| r.id == student_id)
        .unwrap();
    press(&mut app, KeyCode::Enter);
    update(
        &mut app,
        Msg::RunData(Box::new(Watched::new(student.clone()).poll())),
    );
    ch(&mut app, 'v');
    let styles = app
        .run
        .as_ref()
        .unwrap()
        .look
        .as_ref()
        .unwrap()
        .styles
        .clone();
    let dirs: Vec<&std::path::Path> = styles.iter().map(|s| s.dir.as_path()).collect();
    assert_eq!(dirs, vec![student.as_path(), teacher.as_path()]);

    // A teacher that is not single_style is refused by name.
    let cyc = tmp.path().join("cyc");
    std::fs::create_dir_all(&cyc).unwrap();
    let c = train_tiny(&cyc, "cyc", "cyclegan", &[]);
    let err = fails(
        bin()
            .args(["distill", "--width", "2", "--blocks", "1", "--runs-dir"])
            .arg(cyc.join("runs"))
            .arg(&c),
        1,
    );
    assert!(err.contains("single_style"), "{err}");
}
