//! The workspace file, `atelier.toml` beside the runs directory: where runs go
//! (`launcher = "local" | "slurm"`) and, for Slurm, what each run asks for (`[slurm]`). Parsed
//! like a spec: unknown fields and bad values are one `SpecError` naming the file, the field (and
//! line) and the reason. `--launcher` and `ATELIER_LAUNCHER` choose over the file.

use super::LauncherKind;
use crate::slurm::script::SlurmConfig;
use crate::spec::SpecError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The workspace file's name.
pub const FILE: &str = "atelier.toml";
/// The environment variable that chooses the launcher (over the file, under `--launcher`).
pub const ENV: &str = "ATELIER_LAUNCHER";

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workspace {
    pub launcher: Option<LauncherKind>,
    pub slurm: Option<SlurmConfig>,
}

/// Where the workspace file of `runs_dir` is: in the folder that holds it.
pub fn path(runs_dir: &Path) -> PathBuf {
    let parent = runs_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join(FILE)
}

/// Parse a workspace file's text (`file` names it in errors).
pub fn parse(text: &str, file: &Path) -> Result<Workspace, SpecError> {
    let ws: Workspace =
        toml::from_str(text).map_err(|e| crate::spec::toml_error(text, file, &e))?;
    if let Some(s) = &ws.slurm {
        s.check()
            .map_err(|(field, reason)| SpecError::new(file, field, reason))?;
    }
    Ok(ws)
}

/// The workspace of `runs_dir`; no file is the default workspace (local launches).
pub fn load(runs_dir: &Path) -> Result<Workspace, SpecError> {
    let file = path(runs_dir);
    match std::fs::read_to_string(&file) {
        Ok(text) => parse(&text, &file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Workspace::default()),
        Err(e) => Err(SpecError {
            file,
            field: None,
            line: None,
            reason: format!("cannot read the workspace file: {e}"),
        }),
    }
}

/// `ATELIER_LAUNCHER`, if set: its launcher, or an error naming the variable.
pub fn from_env() -> Result<Option<LauncherKind>, SpecError> {
    match std::env::var(ENV) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => match v.trim() {
            "local" => Ok(Some(LauncherKind::Local)),
            "slurm" => Ok(Some(LauncherKind::Slurm)),
            other => Err(SpecError {
                file: PathBuf::from(format!("${ENV}")),
                field: None,
                line: None,
                reason: format!("`{other}` is not a launcher (local or slurm)"),
            }),
        },
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> (String, PathBuf) {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/workspace")
            .join(name);
        (std::fs::read_to_string(&p).unwrap(), p)
    }

    #[test]
    fn a_full_slurm_workspace_parses() {
        let (text, p) = fixture("slurm.toml");
        let ws = parse(&text, &p).unwrap();
        assert_eq!(ws.launcher, Some(LauncherKind::Slurm));
        let s = ws.slurm.unwrap();
        assert_eq!(s.partition.as_deref(), Some("gpu"));
        assert_eq!(s.gpus, Some(1));
        assert_eq!(s.cpus, Some(8));
        assert_eq!(s.mem.as_deref(), Some("32G"));
        assert_eq!(s.time.as_deref(), Some("1-00:00:00"));
        assert_eq!(s.extra, ["--constraint=h100", "--mail-type=END"]);
        assert_eq!(s.setup.as_deref(), Some("module load cuda/12.4"));
        assert_eq!(s.signal_secs(), 300);
    }

    #[test]
    fn an_unknown_field_names_file_field_and_line() {
        let (text, p) = fixture("unknown_field.toml");
        let e = parse(&text, &p).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("slurm.partiton"));
        assert_eq!(e.line, Some(4));
        assert!(e.reason.contains("unknown field"), "{}", e.reason);
        assert!(e.to_string().contains("unknown_field.toml:4"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let (text, p) = fixture("bad_launcher.toml");
        let e = parse(&text, &p).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("launcher"));
        let (text, p) = fixture("bad_time.toml");
        let e = parse(&text, &p).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("slurm.time"));
        assert!(e.reason.contains("1 hour"), "{}", e.reason);
    }

    #[test]
    fn the_file_sits_beside_the_runs_folder() {
        assert_eq!(path(Path::new("runs")), Path::new("./atelier.toml"));
        assert_eq!(path(Path::new("/w/runs")), Path::new("/w/atelier.toml"));
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            load(&dir.path().join("runs")).unwrap(),
            Workspace::default()
        );
    }
}
