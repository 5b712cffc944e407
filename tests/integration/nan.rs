//! A non-finite loss fails the run with a message and keeps the last good checkpoint. The session
//! loop is driven in-process with a recipe that turns NaN at a chosen step (real models do not
//! diverge on demand).

use atelier::rng::Rng;
use atelier::run_dir::{self, RunDir, RunState, Status};
use atelier::terms::Term;
use atelier::train::checkpoint::Checkpointer;
use atelier::train::sampler::Sampler;
use atelier::train::session::{Outcome, Session};
use atelier::train::writer::Writer;
use atelier::train::{control::ControlReader, Gan, Knobs, LossSums, Rendered, Snapshot};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

struct Diverging {
    step: u64,
    nan_at: u64,
    losses: LossSums,
}

impl Gan for Diverging {
    fn step(&mut self, _: &mut Rng, _: &Knobs) {
        self.step += 1;
        let v = if self.step >= self.nan_at {
            f64::NAN
        } else {
            0.5
        };
        self.losses.add(Term::GAdv, v);
        self.losses.add(Term::DTotal, 0.25);
    }
    fn losses(&mut self) -> LossSums {
        std::mem::take(&mut self.losses)
    }
    fn images_per_step(&self) -> usize {
        1
    }
    fn render(&self) -> Vec<Rendered> {
        Vec::new()
    }
    fn snapshot(&self) -> Snapshot {
        let step = self.step;
        Box::new(move |dir: &Path| {
            std::fs::write(dir.join("g.mpk"), step.to_string())?;
            Ok(vec!["g.mpk".into()])
        })
    }
    fn load(&mut self, _: &Path) -> anyhow::Result<()> {
        Ok(())
    }
}

#[test]
fn nan_loss_fails_the_run_and_keeps_the_last_good_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = crate::common::tiny_spec(tmp.path(), "nan", "single_style", "");
    let plan = atelier::spec::load(
        &spec,
        &[
            "train.checkpoint_every=2".into(),
            "train.log_every=1".into(),
        ],
    )
    .unwrap();
    let run = RunDir::new(tmp.path().join("run"));
    let status = Status {
        state: RunState::Starting,
        name: "nan".into(),
        mode: "single_style".into(),
        pid: std::process::id(),
        host: atelier::store::hostname(),
        step: 0,
        total_steps: 6,
        heartbeat: 0.0,
        started: 0.0,
        backend: "test".into(),
        device: "none".into(),
        images_per_s: None,
        eta_secs: None,
        message: None,
        study: None,
        parent: None,
    };
    let mut writer = Writer::start(run.clone(), status, true, false).unwrap();
    let session = Session {
        plan: &plan,
        writer: &mut writer,
        gan: Box::new(Diverging {
            step: 0,
            nan_at: 3,
            losses: LossSums::default(),
        }),
        knobs: Knobs::from_spec(&plan.spec),
        step: 0,
        control: ControlReader::from_start(run.path(run_dir::CONTROL)),
        signal: Arc::new(AtomicBool::new(false)),
        last_checkpoint: None,
        sampler: Sampler::start(run.clone(), None, false, None),
        checkpoints: Checkpointer::start(run.clone(), plan.spec.train.keep_checkpoints),
    };
    let outcome = session.run();
    let Outcome::Failed(msg) = outcome else {
        panic!("expected failure, got {outcome:?}")
    };
    assert!(
        msg.contains("g_adv") && msg.contains("NaN") && msg.contains("step 3"),
        "{msg}"
    );
    assert!(msg.contains("last good checkpoint: step 2"), "{msg}");
    assert_eq!(run.latest_checkpoint(), Some(2));
    assert_eq!(run.checkpoints(), vec![2]);
    let rows: Vec<run_dir::MetricRow> = run_dir::read_lines(&run.path(run_dir::METRICS));
    assert_eq!(
        rows.iter().map(|r| r.step).collect::<Vec<_>>(),
        vec![1, 2],
        "no NaN row logged"
    );
    let events: Vec<run_dir::Event> = run_dir::read_lines(&run.path(run_dir::EVENTS));
    assert!(events
        .iter()
        .any(|e| e.kind == "failed" && e.message == msg));
    writer.finish(RunState::Failed, msg.clone());
    let st = run_dir::read_status(&run.root).unwrap();
    assert_eq!(st.state, RunState::Failed);
    assert_eq!(st.message.as_deref(), Some(msg.as_str()));
}
