//! Precision on the CPU: the trainer generic over the float type, run in f64 (`NdArray<f64>`,
//! standing in for CUDA's bf16: a float type other than f32 through the same code path) and in
//! f32. Checkpoints are f32 on disk whatever wrote them, and each precision resumes and stylizes
//! from the other's checkpoint.

use super::*;
use burn::backend::{Autodiff, NdArray};

type F64 = Autodiff<NdArray<f64>>;
type F32 = Autodiff<NdArray<f32>>;

fn spec(dir: &std::path::Path) -> std::path::PathBuf {
    let text = "mode = \"single_style\"\n[data]\ncontent = \"builtin\"\nstyle = \"builtin\"\n\
        image_size = 32\nprobe_count = 2\nbuiltin_count = 4\n\
        [generator]\nwidth = 4\nblocks = 1\n[discriminator]\nwidth = 4\nlayers = 2\n\
        [train]\nsteps = 4\nbatch_size = 2\nlog_every = 2\nsample_every = 2\n\
        checkpoint_every = 2\nbackend = \"ndarray\"\nthreads = 1\n";
    let path = dir.join("precision.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn fresh<B: burn::tensor::backend::AutodiffBackend>(dir: &std::path::Path, name: &str) -> RunDir {
    let plan = spec::load(&spec(dir), &[]).unwrap();
    let run = create_run(&plan, &dir.join("runs"), Some(name)).unwrap();
    let req = TrainRequest {
        plan,
        run: run.clone(),
        resume_from: None,
        quiet: true,
        progress: false,
    };
    let out = train_on::<B>(req, Default::default(), "ndarray", name.into()).unwrap();
    assert_eq!(out, Outcome::Finished, "{name}");
    run
}

fn resume<B: burn::tensor::backend::AutodiffBackend>(run: &RunDir, name: &str) {
    let (plan, from) = prepare_resume(run, &["train.steps=6".into()]).unwrap();
    assert_eq!(from, 4);
    let req = TrainRequest {
        plan,
        run: run.clone(),
        resume_from: Some(from),
        quiet: true,
        progress: false,
    };
    let out = train_on::<B>(req, Default::default(), "ndarray", name.into()).unwrap();
    assert_eq!(out, Outcome::Finished, "{name}");
    let rows: Vec<run_dir::MetricRow> = run_dir::read_lines(&run.path(run_dir::METRICS));
    assert_eq!(
        rows.iter().map(|r| r.step).collect::<Vec<_>>(),
        vec![2, 4, 6],
        "{name}: the step count continues"
    );
    assert!(rows
        .iter()
        .all(|r| !r.losses.is_empty() && r.losses.values().all(|v| v.is_finite())));
}

/// The generator of `run`'s checkpoint at `step` through a fixed input, on backend `B`.
fn stylized<B: Backend>(run: &RunDir, step: u64) -> Vec<f32> {
    let plan = spec::load(&run.path(run_dir::SPEC), &[]).unwrap();
    let dev = Default::default();
    let g = player::load_weights(
        Generator::<B>::new(&plan.spec.generator, &dev),
        &run.checkpoint(step).join("g"),
        &dev,
    )
    .unwrap();
    let x = Tensor::<B, 4>::from_data(
        TensorData::new(
            (0..3 * 32 * 32)
                .map(|i| ((i % 97) as f32 / 48.0) - 1.0)
                .collect::<Vec<f32>>(),
            [1, 3, 32, 32],
        ),
        &dev,
    );
    convert::values(g.forward(x).into_data())
}

#[test]
fn checkpoints_are_f32_on_disk_and_cross_precisions() {
    let tmp = tempfile::tempdir().unwrap();
    let wide = fresh::<F64>(tmp.path(), "f64");
    let narrow = fresh::<F32>(tmp.path(), "f32");

    // f32 on disk: the f64 run's weight files have the f32 run's size to the byte.
    for f in ["g.mpk", "d.mpk", "g_optim.mpk"] {
        let size = |r: &RunDir| std::fs::metadata(r.checkpoint(4).join(f)).unwrap().len();
        assert_eq!(size(&wide), size(&narrow), "{f}");
    }
    // The renders of a non-f32 run are real images, not empty reads (an f32 read of f64 data
    // gives nothing, and the image would be a flat grey).
    let index: Vec<run_dir::SampleRecord> = run_dir::read_lines(&wide.path(run_dir::SAMPLE_INDEX));
    let outputs: Vec<_> = index.iter().filter(|r| r.kind == "output").collect();
    assert!(!outputs.is_empty(), "the f64 run wrote its samples");
    for r in outputs {
        let img = image::open(wide.root.join(&r.path)).unwrap().to_rgb8();
        let first = img.get_pixel(0, 0);
        assert!(img.pixels().any(|p| p != first), "{} is flat", r.path);
    }

    // Each checkpoint stylizes the same in both precisions' inference paths.
    for run in [&wide, &narrow] {
        let (a, b) = (
            stylized::<NdArray<f64>>(run, 4),
            stylized::<NdArray>(run, 4),
        );
        assert_eq!(a.len(), 3 * 32 * 32);
        let err = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(err < 1e-4, "{err}");
    }

    // And each resumes in the other precision, the step count continuing.
    resume::<F32>(&wide, "f64 resumed in f32");
    resume::<F64>(&narrow, "f32 resumed in f64");
}
