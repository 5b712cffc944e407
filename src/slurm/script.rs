//! The batch script atelier submits for a run (`runs/<id>/job.sbatch`): the `[slurm]` table of
//! `atelier.toml` as `#SBATCH` lines, plus what every atelier job needs: its name, `train.log`
//! as output (appended, so a requeue keeps the first attempt's lines), SIGTERM to the trainer
//! `signal_secs` before the time limit (it checkpoints and stops), `--requeue`, and a body that
//! resumes from the latest checkpoint when one exists, so a requeued or preempted job continues
//! the step count (the trainer's resume cuts metrics back to the checkpoint: no row twice).
//! The trainer is `exec`ed, so it *is* the batch step and gets Slurm's signals itself.

use serde::Deserialize;
use std::path::Path;

/// The `[slurm]` table of `atelier.toml`: what to ask the scheduler for, per run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmConfig {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    /// Time limit in Slurm's forms: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`.
    pub time: Option<String>,
    /// GPUs per run (`--gpus=N`); or `gres` for a typed request.
    pub gpus: Option<u32>,
    /// A generic resource request (`--gres=gpu:a100:1`).
    pub gres: Option<String>,
    /// CPUs per run (`--cpus-per-task`).
    pub cpus: Option<u32>,
    /// Memory per run (`--mem`): a number with an optional K, M, G or T suffix.
    pub mem: Option<String>,
    /// More `#SBATCH` options, one per entry (`"--constraint=h100"`).
    #[serde(default)]
    pub extra: Vec<String>,
    /// One shell line before the trainer starts (`module load cuda; source ~/venv/bin/activate`).
    pub setup: Option<String>,
    /// Seconds before the time limit at which the trainer gets SIGTERM to checkpoint (default 120).
    pub signal_secs: Option<u32>,
}

impl SlurmConfig {
    /// Check each field; `Err((field, reason))` for the first bad one.
    pub fn check(&self) -> Result<(), (String, String)> {
        let bad = |f: &str, r: String| Err((format!("slurm.{f}"), r));
        for (f, v) in [
            ("partition", &self.partition),
            ("account", &self.account),
            ("qos", &self.qos),
            ("gres", &self.gres),
        ] {
            if let Some(v) = v {
                if v.is_empty() || v.chars().any(|c| c.is_whitespace()) {
                    return bad(f, format!("`{v}` must be one word without spaces"));
                }
            }
        }
        if let Some(t) = &self.time {
            if !valid_time(t) {
                return bad(
                    "time",
                    format!("`{t}` is not a Slurm time limit (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)"),
                );
            }
        }
        if let Some(m) = &self.mem {
            let digits = m.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
            if digits.is_empty()
                || !digits.chars().all(|c| c.is_ascii_digit())
                || m.len() - digits.len() > 1
            {
                return bad(
                    "mem",
                    format!("`{m}` is not a memory size (a number with an optional K, M, G or T)"),
                );
            }
        }
        if self.gpus.is_some() && self.gres.is_some() {
            return bad(
                "gpus",
                "give either gpus (a count) or gres (a typed request), not both".into(),
            );
        }
        if self.gpus == Some(0) || self.cpus == Some(0) {
            let f = if self.gpus == Some(0) { "gpus" } else { "cpus" };
            return bad(f, "must be at least 1 (leave it out for none)".into());
        }
        for (i, e) in self.extra.iter().enumerate() {
            if !e.starts_with('-') || e.contains('\n') {
                return bad(
                    &format!("extra[{i}]"),
                    format!("`{e}` must be one sbatch option starting with `-` (e.g. \"--constraint=h100\")"),
                );
            }
        }
        if let Some(s) = &self.setup {
            if s.contains('\n') {
                return bad(
                    "setup",
                    "must be one line (join commands with `;` or `&&`)".into(),
                );
            }
        }
        Ok(())
    }

    pub fn signal_secs(&self) -> u32 {
        self.signal_secs.unwrap_or(120)
    }
}

/// Slurm's time-limit forms (or UNLIMITED / INFINITE).
fn valid_time(t: &str) -> bool {
    if t == "UNLIMITED" || t == "INFINITE" {
        return true;
    }
    let num = |s: &str| !s.is_empty() && s.len() <= 4 && s.chars().all(|c| c.is_ascii_digit());
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, t),
    };
    if days.is_some_and(|d| !num(d)) {
        return false;
    }
    let parts: Vec<&str> = rest.split(':').collect();
    parts.iter().all(|p| num(p)) && (1..=3).contains(&parts.len())
}

/// Single-quote a string for the shell.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The batch script for the run at `run` (absolute), run by `exe` (absolute).
pub fn batch_script(cfg: &SlurmConfig, run: &Path, id: &str, exe: &Path) -> String {
    let run_s = run.display().to_string();
    let log = run.join(crate::run_dir::LOG).display().to_string();
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!(
        "# Written by atelier for run {id}. Submit it again with: sbatch {}\n",
        run.join(super::SCRIPT).display()
    ));
    let mut opt = |o: String| s.push_str(&format!("#SBATCH {o}\n"));
    opt(format!("--job-name=atelier-{id}"));
    opt(format!("--output={log}"));
    opt("--open-mode=append".into());
    opt(format!("--signal=B:TERM@{}", cfg.signal_secs()));
    opt("--requeue".into());
    opt("--ntasks=1".into());
    if let Some(p) = &cfg.partition {
        opt(format!("--partition={p}"));
    }
    if let Some(a) = &cfg.account {
        opt(format!("--account={a}"));
    }
    if let Some(q) = &cfg.qos {
        opt(format!("--qos={q}"));
    }
    if let Some(t) = &cfg.time {
        opt(format!("--time={t}"));
    }
    if let Some(g) = cfg.gpus {
        opt(format!("--gpus={g}"));
    }
    if let Some(g) = &cfg.gres {
        opt(format!("--gres={g}"));
    }
    if let Some(c) = cfg.cpus {
        opt(format!("--cpus-per-task={c}"));
    }
    if let Some(m) = &cfg.mem {
        opt(format!("--mem={m}"));
    }
    for e in &cfg.extra {
        opt(e.clone());
    }
    if let Some(setup) = &cfg.setup {
        s.push_str(&format!("{setup}\n"));
    }
    // The trainer tells Slurm's time limit from other stop signals by this lead.
    s.push_str(&format!(
        "export {}={}\n",
        super::SIGNAL_SECS_ENV,
        cfg.signal_secs()
    ));
    let exe = quote(&exe.display().to_string());
    let run_q = quote(&run_s);
    s.push_str(&format!(
        "echo \"atelier: slurm job $SLURM_JOB_ID on $(hostname) (restart ${{SLURM_RESTART_COUNT:-0}})\" >&2\n\
         # A requeued or preempted job continues from the latest checkpoint.\n\
         if [ -s {run_q}/checkpoints/latest ]; then\n\
         \x20 exec {exe} train --resume {run_q} --launcher local --quiet\n\
         else\n\
         \x20 exec {exe} train --start {run_q} --launcher local --quiet\n\
         fi\n"
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits_in_slurm_forms() {
        for ok in [
            "30",
            "30:00",
            "4:00:00",
            "1-0",
            "2-12:00",
            "1-00:00:00",
            "UNLIMITED",
        ] {
            assert!(valid_time(ok), "{ok}");
        }
        for bad in ["", "1h", "1:2:3:4", "a-1", "-1", "1-", "10 min"] {
            assert!(!valid_time(bad), "{bad}");
        }
    }

    #[test]
    fn script_carries_every_option_and_resumes_from_a_checkpoint() {
        let cfg = SlurmConfig {
            partition: Some("gpu".into()),
            account: Some("lab".into()),
            qos: Some("normal".into()),
            time: Some("4:00:00".into()),
            gpus: Some(1),
            cpus: Some(8),
            mem: Some("32G".into()),
            extra: vec!["--constraint=h100".into()],
            setup: Some("module load cuda".into()),
            ..SlurmConfig::default()
        };
        let s = batch_script(
            &cfg,
            Path::new("/w/runs/2026-x"),
            "2026-x",
            Path::new("/opt/at elier"),
        );
        for line in [
            "#SBATCH --job-name=atelier-2026-x",
            "#SBATCH --output=/w/runs/2026-x/train.log",
            "#SBATCH --open-mode=append",
            "#SBATCH --signal=B:TERM@120",
            "#SBATCH --requeue",
            "#SBATCH --partition=gpu",
            "#SBATCH --account=lab",
            "#SBATCH --qos=normal",
            "#SBATCH --time=4:00:00",
            "#SBATCH --gpus=1",
            "#SBATCH --cpus-per-task=8",
            "#SBATCH --mem=32G",
            "#SBATCH --constraint=h100",
            "module load cuda",
            "exec '/opt/at elier' train --resume '/w/runs/2026-x' --launcher local --quiet",
            "exec '/opt/at elier' train --start '/w/runs/2026-x' --launcher local --quiet",
        ] {
            assert!(
                s.lines().any(|l| l.trim() == line),
                "missing `{line}` in\n{s}"
            );
        }
        // Every #SBATCH line comes before the first command, or sbatch ignores it.
        let first_cmd = s.lines().position(|l| l == "module load cuda").unwrap();
        assert!(s.lines().skip(first_cmd).all(|l| !l.starts_with("#SBATCH")));
    }

    #[test]
    fn bad_fields_are_named() {
        let c = SlurmConfig {
            mem: Some("lots".into()),
            ..SlurmConfig::default()
        };
        assert_eq!(c.check().unwrap_err().0, "slurm.mem");
        let c = SlurmConfig {
            gpus: Some(1),
            gres: Some("gpu:1".into()),
            ..SlurmConfig::default()
        };
        assert_eq!(c.check().unwrap_err().0, "slurm.gpus");
        let c = SlurmConfig {
            extra: vec!["constraint=x".into()],
            ..SlurmConfig::default()
        };
        assert_eq!(c.check().unwrap_err().0, "slurm.extra[0]");
        assert!(SlurmConfig::default().check().is_ok());
    }
}
