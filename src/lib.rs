//! atelier: a terminal workbench for GAN style transfer.
//!
//! ```text
//! experiments/*.toml ─spec─▶ Plan ─launch─▶ `atelier train` process (burn)
//!                                               │ writes (single writer per file)
//!                                               ▼
//!                                        runs/<run-id>/  ◀── the contract (run_dir)
//!                                               │ tailed incrementally (store)
//!                                               ▼
//!            control.jsonl ◀── tui (Msg → update → Effects; views draw from state)
//! ```
//!
//! - [`spec`]: experiment specs -> validated [`spec::Plan`] (no burn types).
//! - [`run_dir`]: file names and record types of a run directory.
//! - [`train`]: the trainer, the only writer of a run directory.
//! - [`backend`]: the one backend switch (train, stylize, the look worker and bench).
//! - [`store`]: readers of run directories.
//! - [`launch`]: detached trainer processes.
//! - [`tui`]: the dashboard.
//! - [`stylize`]: inference with a trained generator.
//! - [`eval`]: objective style-transfer scores (structure, style, texture, against baselines).
//! - [`cli`], [`preview`]: the command line.

pub mod backend;
pub mod bench;
pub mod cli;
pub mod eval;
pub mod launch;
pub mod numbers;
pub mod prefs;
pub mod preview;
pub mod ratings;
pub mod rng;
pub mod run_dir;
pub mod spec;
pub mod store;
pub mod study;
pub mod stylize;
pub mod terms;
pub mod train;
pub mod tui;
