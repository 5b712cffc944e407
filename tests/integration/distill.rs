//! `atelier distill`: a student generator trained on a tiny teacher's outputs is a run of its
//! own, linked to its parent (spec, status, `atelier runs`), with the L1 to the teacher in its
//! metrics, and its checkpoint loads wherever a generator loads (stylize, the look worker). Its
//! trainer writes the frozen teacher's output on each probe once (`samples/teacher/`), which the
//! run view shows beside the student's and which outlives the teacher run.

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

    // The teacher on the probes, written once by the student's trainer: one `teacher` line per
    // probe at step 0, and the pixels are the teacher run's own sample at its checkpoint 6 (the
    // same probes, the same generator).
    let index: Vec<run_dir::SampleRecord> =
        run_dir::read_lines(&student.join(run_dir::SAMPLE_INDEX));
    let teacher_index: Vec<run_dir::SampleRecord> =
        run_dir::read_lines(&teacher.join(run_dir::SAMPLE_INDEX));
    let inputs: Vec<&run_dir::SampleRecord> = index.iter().filter(|r| r.kind == "input").collect();
    let teachers: Vec<&run_dir::SampleRecord> =
        index.iter().filter(|r| r.kind == "teacher").collect();
    assert!(!inputs.is_empty());
    assert_eq!(teachers.len(), inputs.len(), "{index:?}");
    for (t, i) in teachers.iter().zip(&inputs) {
        assert_eq!((t.step, &t.set, t.probe), (0, &i.set, i.probe));
        let own = teacher_index
            .iter()
            .find(|r| r.step == 6 && r.kind == "output" && r.probe == t.probe)
            .expect("the teacher's sample at its checkpoint");
        let want = image::open(teacher.join(&own.path)).unwrap().to_rgb8();
        let got = image::open(student.join(&t.path)).unwrap().to_rgb8();
        assert_eq!(got, want, "{} is the teacher at step 6", t.path);
        // And not the student's own output on that probe.
        let first = index
            .iter()
            .find(|r| r.kind == "output" && r.probe == t.probe)
            .unwrap();
        assert_ne!(
            image::open(student.join(&first.path)).unwrap().to_rgb8(),
            got
        );
    }
    // The teacher is rendered once: the samples of later steps add no teacher lines.
    assert!(index
        .iter()
        .filter(|r| r.kind == "teacher")
        .all(|r| r.step == 0));

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
    // The run view: the student beside its teacher, frozen at the checkpoint the spec names.
    let run = settle(&app, &images, 160, 40).backend().to_string();
    assert!(
        run.contains("student") && run.contains("teacher teach @6"),
        "{run}"
    );
    assert_eq!(app.run.as_ref().unwrap().teacher.len(), teachers.len());
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

    // With the teacher run gone, the student's run view still has its teacher's images.
    std::fs::remove_dir_all(&teacher).unwrap();
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.run.as_ref().unwrap().dir, student);
    let watched = Watched::new(student.clone()).poll();
    update(&mut app, Msg::RunData(Box::new(watched)));
    let shown = &app.run.as_ref().unwrap().teacher;
    assert_eq!(shown.len(), teachers.len());
    assert!(shown.iter().all(|r| student.join(&r.path).is_file()));

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

/// Each distance to the teacher's output is a term of its own, in the spec and in every metric
/// row: the defaults write the L1 (of blurred outputs) and the stroke distance, `--feature-weight`
/// adds the feature-net distance, `--stroke-weight 0` drops the stroke one.
#[test]
fn feature_and_stroke_weights_add_their_distances_to_the_teacher() {
    let tmp = tempfile::tempdir().unwrap();
    train_tiny(tmp.path(), "teach", "single_style", &[]);
    let runs = tmp.path().join("runs");
    let run_named = |name: &str| {
        std::fs::read_dir(&runs)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(name))
            .expect("the student's run")
    };
    let student = |name: &str, extra: &[&str]| {
        run_ok(
            bin()
                .args(["distill", "teach", "--width", "2", "--blocks", "1"])
                .args(["--steps", "3", "--quiet", "--name", name])
                .args(extra)
                .arg("--runs-dir")
                .arg(&runs),
        );
        let dir = run_named(name);
        let d = atelier::store::read_spec(&run_dir::RunDir::new(&dir))
            .unwrap()
            .distill
            .expect("distilled");
        let rows = metrics(&dir);
        assert!(!rows.is_empty());
        (d, rows)
    };
    let data_and_steps = |name: &str| {
        let dir = run_named(name);
        let run = run_dir::RunDir::new(&dir);
        let spec = atelier::store::read_spec(&run).unwrap();
        (spec.data, spec.train.steps, run.latest_checkpoint())
    };
    // Every row has exactly the terms `with`, each finite and positive.
    let terms = |rows: &[run_dir::MetricRow], with: &[&str]| {
        for r in rows {
            for term in ["distill", "distill_features", "distill_strokes"] {
                let v = r.losses.get(term).copied();
                if with.contains(&term) {
                    assert!(v.is_some_and(|v| v.is_finite() && v > 0.0), "{term}: {v:?}");
                } else {
                    assert!(v.is_none(), "{term}: {v:?}");
                }
            }
        }
    };
    let (d, rows) = student("plain", &[]);
    let recipe = atelier::spec::DistillSpec {
        teacher: d.teacher.clone(),
        parent: d.parent.clone(),
        checkpoint: d.checkpoint,
        pixel_weight: atelier::spec::DistillSpec::default_pixel_weight(),
        feature_weight: 0.0,
        stroke_weight: atelier::spec::DistillSpec::default_stroke_weight(),
        pixel_blur: atelier::spec::DistillSpec::default_pixel_blur(),
    };
    assert_eq!(d, recipe);
    assert!(d.stroke_weight > 0.0 && d.pixel_blur > 0.0);
    terms(&rows, &["distill", "distill_strokes"]);
    // The default crop is the teacher's (32), and with `--steps` the student takes that many.
    let (data, steps, last) = data_and_steps("plain");
    assert_eq!((data.image_size, data.probe_size, steps), (32, None, 3));
    assert_eq!(last, Some(3));
    // Another crop: the probes stay the teacher's size, and without `--steps` the student sees
    // as many pixels as the teacher did, 6 x 32² / 48² = 2.67 -> 2 steps.
    run_ok(
        bin()
            .args(["distill", "teach", "--width", "2", "--blocks", "1"])
            .args(["--crop", "48", "--quiet", "--name", "crop48", "--runs-dir"])
            .arg(&runs),
    );
    let (data, steps, last) = data_and_steps("crop48");
    assert_eq!((data.image_size, data.probe_size, steps), (48, Some(32), 2));
    assert_eq!(last, Some(2));
    let (d, rows) = student("feat", &["--feature-weight", "2", "--stroke-weight", "0"]);
    assert_eq!((d.feature_weight, d.stroke_weight), (2.0, 0.0));
    terms(&rows, &["distill", "distill_features"]);
    let (d, rows) = student("strokes", &["--stroke-weight", "2", "--pixel-blur", "1"]);
    assert_eq!((d.stroke_weight, d.pixel_blur), (2.0, 1.0));
    terms(&rows, &["distill", "distill_strokes"]);

    // A negative weight, a blur out of range and a crop the generator cannot take (not a
    // multiple of 4) are each refused by the field's name, and no run is left behind.
    let before = std::fs::read_dir(&runs).unwrap().count();
    for (args, field) in [
        (&["--feature-weight=-1"][..], "distill.feature_weight"),
        (&["--pixel-blur", "9"][..], "distill.pixel_blur"),
        (&["--crop", "30"][..], "data.image_size"),
    ] {
        let err = fails(
            bin()
                .args(["distill", "teach", "--width", "2", "--blocks", "1"])
                .args(args)
                .arg("--runs-dir")
                .arg(&runs),
            2,
        );
        assert!(err.contains(field), "{field}: {err}");
    }
    assert_eq!(std::fs::read_dir(&runs).unwrap().count(), before);
}
