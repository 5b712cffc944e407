//! atelier: a terminal workbench for GAN style transfer.
//!
//! ```text
//! experiments/*.toml ─spec─▶ Plan ─launch─▶ `atelier train` process (burn)
//!        ▲                                      │ writes (single writer per file)
//!        │ proposals                            ▼
//!      study (prefs)                     runs/<run-id>/  ◀── the contract (run_dir)
//!        ▲                                      │ tailed incrementally (store)
//!        │ judgements                           ▼
//!  runs/ratings.jsonl ◀── ratings ◀── tui (Msg → update → Effects; views draw from state)
//!                                               │
//!                                               ▼ control.jsonl (pause, set a knob, favor …)
//! ```
//!
//! - [`spec`]: experiment specs -> validated [`spec::Plan`] (no burn types).
//! - [`terms`]: every loss term and live knob, declared once (no burn types).
//! - [`run_dir`]: file names and record types of a run directory.
//! - [`train`]: the trainer, the only writer of a run directory.
//! - [`backend`]: the one backend switch (train, stylize, the look worker and bench).
//! - [`gpu`]: the machine's NVIDIA GPUs (NVML, loaded at run time), device visibility and placement.
//! - [`store`]: readers of run directories.
//! - [`launch`]: detached trainer processes.
//! - [`tui`]: the dashboard.
//! - [`ratings`]: the workspace's judgements (`runs/ratings.jsonl`) folded into preferences.
//! - [`prefs`]: pure math of preferences: Bradley–Terry scores, the Gaussian-process model.
//! - [`study`]: a study fits [`prefs`] to the [`ratings`] of its members and proposes the next
//!   experiments (`experiments/proposed/`), launching them when it auto-launches.
//! - [`tensorboard`]: TensorBoard event files (the trainer's mirror in `runs/<id>/tb/`).
//! - [`stylize`]: inference with a trained generator, with a look (strength, saturation, colours).
//! - [`eval`]: objective style-transfer scores (structure, style, texture, against baselines).
//! - [`bench`]: the PyTorch reference's workloads, per backend.
//! - [`rng`]: the project's seeded random streams (identical on every backend).
//! - [`numbers`]: how numbers are written for people.
//! - [`cli`], [`preview`]: the command line.
//!
//! Three ways a user steers, each with its own name: a **study** (judgements → the next
//! experiments), the **favoured critic** (highly rated outputs join a running critic's real
//! batch, `[steer]` in a spec), and a **look** (inference-time strength, saturation and colours
//! of a trained generator, in the run view and `stylize`).

pub mod backend;
pub mod bench;
pub mod cli;
pub mod eval;
pub mod gpu;
pub mod interop;
pub mod launch;
pub mod numbers;
pub mod prefs;
pub mod preview;
pub mod ratings;
pub mod rng;
pub mod run_dir;
pub mod slurm;
pub mod spec;
pub mod store;
pub mod study;
pub mod stylize;
pub mod tensorboard;
pub mod terms;
pub mod train;
pub mod tui;
