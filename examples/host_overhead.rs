//! The trainer's own cost at GPU step times: the session loop driven by an injected recipe whose
//! step takes a fixed time (a sleep, as a host thread waiting on a GPU does), so what remains is
//! atelier's: metric rows, status, control polling, probe renders handed to the samples thread
//! (PNG encoding and scores run there), and checkpoints. Prints the `finished` event's overhead.
//!
//! `cargo run --release --example host_overhead -- [STEP_MS ...]` (default 5 and 20). The recipe
//! reports eight loss terms, renders four probes at `--probe` pixels (default 256, the GPU
//! recipes' size) with the style image scored against them, and writes checkpoints of about
//! 20 MB, the 256 px starry recipe's size; log, sample and checkpoint intervals are those of
//! `experiments/gpu/starry.toml`.

use atelier::rng::Rng;
use atelier::run_dir::{self, RunDir, RunState, Status};
use atelier::terms::Term;
use atelier::train::checkpoint::Checkpointer;
use atelier::train::control::ControlReader;
use atelier::train::data::procedural::{content_scene, painterly_style};
use atelier::train::sampler::Sampler;
use atelier::train::session::{Outcome, Session};
use atelier::train::writer::Writer;
use atelier::train::{Gan, Knobs, LossSums, Rendered, Snapshot};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

struct Fixed {
    step: Duration,
    /// The probes' renders, made once: `render` copies them, as a GPU recipe copies its
    /// outputs back to the host.
    renders: Vec<Rendered>,
    checkpoint_bytes: usize,
    losses: LossSums,
}

impl Gan for Fixed {
    fn step(&mut self, _: &mut Rng, _: &Knobs) {
        std::thread::sleep(self.step);
        for t in [
            Term::GAdv,
            Term::Content,
            Term::Style,
            Term::Swd,
            Term::GTotal,
            Term::DReal,
            Term::DFake,
            Term::DTotal,
        ] {
            self.losses.add(t, 0.5);
        }
    }
    fn losses(&mut self) -> LossSums {
        std::mem::take(&mut self.losses)
    }
    fn images_per_step(&self) -> usize {
        8
    }
    fn render(&self) -> Vec<Rendered> {
        self.renders
            .iter()
            .map(|r| Rendered {
                set: r.set,
                probe: r.probe,
                input: r.input.clone(),
                output: r.output.clone(),
                patch: r.patch.clone(),
            })
            .collect()
    }
    fn snapshot(&self) -> Snapshot {
        // The weights as a GPU recipe's snapshot holds them: still to be copied and encoded.
        let n = self.checkpoint_bytes / 2;
        Box::new(move |dir: &Path| {
            let bytes = vec![7u8; n];
            for f in ["g.mpk", "d.mpk"] {
                std::fs::write(dir.join(f), &bytes)?;
            }
            Ok(vec!["g.mpk".into(), "d.mpk".into()])
        })
    }
    fn load(&mut self, _: &Path) -> anyhow::Result<()> {
        Ok(())
    }
}

fn run(step_ms: f64, steps: u64, probe: u32) -> anyhow::Result<String> {
    let tmp =
        std::env::temp_dir().join(format!("atelier-overhead-{}-{step_ms}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/quickstart.toml");
    let plan = atelier::spec::load(
        &spec,
        &[
            format!("train.steps={steps}"),
            "train.log_every=10".into(),
            "train.sample_every=200".into(),
            "train.checkpoint_every=1000".into(),
            "train.max_minutes=0".into(),
        ],
    )?;
    let run = RunDir::new(tmp.join("run"));
    let status = Status {
        state: RunState::Starting,
        name: "overhead".into(),
        mode: "single_style".into(),
        pid: std::process::id(),
        host: atelier::store::hostname(),
        step: 0,
        total_steps: steps,
        heartbeat: 0.0,
        started: 0.0,
        backend: "injected".into(),
        device: format!("sleep {step_ms} ms"),
        images_per_s: None,
        eta_secs: None,
        message: None,
        study: None,
        parent: None,
    };
    let mut writer = Writer::start(run.clone(), status, true, false)?;
    let style = painterly_style(3, 256, 256);
    let session = Session {
        plan: &plan,
        writer: &mut writer,
        gan: Box::new(Fixed {
            step: Duration::from_secs_f64(step_ms / 1000.0),
            renders: (0..4)
                .map(|p| Rendered {
                    set: "content",
                    probe: p,
                    input: content_scene(7, p, probe, probe),
                    output: painterly_style(p as u64, probe, probe),
                    patch: painterly_style(9 + p as u64, probe / 8, probe / 8),
                })
                .collect(),
            checkpoint_bytes: 20 << 20,
            losses: LossSums::default(),
        }),
        knobs: Knobs::from_spec(&plan.spec),
        step: 0,
        control: ControlReader::from_start(run.path(run_dir::CONTROL)),
        signal: Arc::new(AtomicBool::new(false)),
        last_checkpoint: None,
        sampler: Sampler::start(run.clone(), Some(style), false, None),
        checkpoints: Checkpointer::start(run.clone(), plan.spec.train.keep_checkpoints),
    };
    let outcome = session.run();
    writer.finish(RunState::Finished, "done".into());
    anyhow::ensure!(outcome == Outcome::Finished, "{outcome:?}");
    let events: Vec<run_dir::Event> = run_dir::read_lines(&run.path(run_dir::EVENTS));
    let finished = events
        .iter()
        .rev()
        .find(|e| e.kind == "finished")
        .map(|e| e.message.clone())
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(finished)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let probe = 256;
    let steps_ms: Vec<f64> = if args.is_empty() {
        vec![5.0, 20.0]
    } else {
        args.iter().map(|a| a.parse()).collect::<Result<_, _>>()?
    };
    for ms in steps_ms {
        // About 10 s of stepping each.
        let steps = (10_000.0 / ms).round().max(100.0) as u64;
        let msg = run(ms, steps, probe)?;
        println!("step {ms} ms, {steps} steps, probes {probe} px: {msg}");
    }
    Ok(())
}
