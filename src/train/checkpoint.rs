//! Checkpoints: `checkpoints/step_N/` holds every player's weights and optimizer state plus a
//! `state.json` (step, live knobs) written last. The directory is built under a temporary name and
//! renamed into place, then `checkpoints/latest` is replaced atomically, so a crash at any moment
//! leaves the previous checkpoint intact and `latest` always names a complete one.

use super::Gan;
use crate::run_dir::{self, CheckpointState, RunDir};
use anyhow::{Context, Result};
use std::collections::BTreeMap;

/// Write a checkpoint for `step`, point `latest` at it and prune old ones beyond `keep`.
pub fn save(
    run: &RunDir,
    gan: &dyn Gan,
    step: u64,
    knobs: BTreeMap<String, f64>,
    keep: usize,
) -> Result<()> {
    let final_dir = run.checkpoint(step);
    let root = run.path(run_dir::CHECKPOINTS);
    std::fs::create_dir_all(&root)?;
    let tmp = root.join(format!(
        ".tmp-{}-{}",
        run_dir::checkpoint_name(step),
        std::process::id()
    ));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    let files = gan.save(&tmp)?;
    let state = CheckpointState {
        step,
        time: run_dir::now(),
        knobs,
        files,
    };
    run_dir::write_atomic(
        &tmp.join(run_dir::CHECKPOINT_STATE),
        &serde_json::to_vec_pretty(&state)?,
    )?;
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir)
            .with_context(|| format!("replacing {}", final_dir.display()))?;
    }
    std::fs::rename(&tmp, &final_dir)
        .with_context(|| format!("renaming checkpoint into {}", final_dir.display()))?;
    run_dir::write_atomic(
        &run.path(run_dir::LATEST),
        format!("{}\n", run_dir::checkpoint_name(step)).as_bytes(),
    )?;
    prune(run, keep, step);
    Ok(())
}

fn prune(run: &RunDir, keep: usize, latest: u64) {
    let steps = run.checkpoints();
    let excess = steps.len().saturating_sub(keep.max(1));
    for &s in steps.iter().take(excess) {
        if s != latest {
            let _ = std::fs::remove_dir_all(run.checkpoint(s));
        }
    }
}

/// The saved state of a complete checkpoint.
pub fn read_state(run: &RunDir, step: u64) -> Result<CheckpointState> {
    let p = run.checkpoint(step).join(run_dir::CHECKPOINT_STATE);
    let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
}
