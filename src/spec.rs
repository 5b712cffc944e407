//! Experiment specs -> validated `Plan`. This is the first arrow of the data flow
//! (`experiments/*.toml ─spec─▶ Plan`): parse the TOML with unknown fields denied, apply
//! `--set key=value` overrides, check every value and every referenced image, and resolve paths
//! relative to the spec file. Every failure is one `SpecError` naming the file, the field (and
//! line when the parser knows it) and the reason; nothing is written before a plan exists.

mod keys;
mod schema;
mod validate;

pub use keys::{format_number, get_number, set_number};
pub use schema::*;
pub use validate::{list_images, ImageSet, StyleSource};

use std::fmt;
use std::path::{Path, PathBuf};

/// A spec that passed validation, with paths made absolute.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The spec with overrides applied and paths resolved (what `spec.toml` in a run records).
    pub spec: Spec,
    /// Experiment name (spec `name` or the file stem).
    pub name: String,
    /// Where the spec came from.
    pub source: PathBuf,
    /// Content images (single_style) or domain A (cyclegan).
    pub images_a: ImageSet,
    /// The style image (single_style).
    pub style: Option<StyleSource>,
    /// Domain B (cyclegan).
    pub images_b: Option<ImageSet>,
}

impl Plan {
    /// The resolved spec as TOML, as written to a run's `spec.toml`.
    pub fn resolved_toml(&self) -> String {
        let mut spec = self.spec.clone();
        spec.name = Some(self.name.clone());
        toml::to_string_pretty(&spec).unwrap_or_else(|e| format!("# could not serialize: {e}\n"))
    }
}

/// One clear reason why a spec cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub file: PathBuf,
    /// Dotted field path, e.g. `loss.style_weight`, when known.
    pub field: Option<String>,
    /// 1-based line in the file, when the parser gives it.
    pub line: Option<usize>,
    pub reason: String,
}

impl SpecError {
    pub(crate) fn new(file: &Path, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            field: Some(field.into()),
            line: None,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        // One line, always: parser messages can span several.
        let reason: Vec<&str> = self
            .reason
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        write!(f, ": {}", reason.join("; "))
    }
}

impl std::error::Error for SpecError {}

/// Read, override, validate: the whole path from a spec file to a plan.
pub fn load(path: &Path, overrides: &[String]) -> Result<Plan, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError {
        file: path.to_path_buf(),
        field: None,
        line: None,
        reason: format!("cannot read spec: {e}"),
    })?;
    parse(&text, path, overrides)
}

/// Like [`load`], from text already read (`path` names it in errors and anchors relative paths).
pub fn parse(text: &str, path: &Path, overrides: &[String]) -> Result<Plan, SpecError> {
    let mut spec: Spec = toml::from_str(text).map_err(|e| toml_error(text, path, &e))?;
    if !overrides.is_empty() {
        spec = keys::apply_overrides(spec, overrides, path)?;
    }
    validate::validate(spec, path)
}

/// Turn a TOML/serde error into a `SpecError` with the line and the field found at its span.
pub(crate) fn toml_error(text: &str, path: &Path, e: &toml::de::Error) -> SpecError {
    let (line, field) = match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            (Some(line), field_at_line(text, line))
        }
        None => (None, None),
    };
    SpecError {
        file: path.to_path_buf(),
        field,
        line,
        reason: e.message().trim().to_string(),
    }
}

/// The dotted key defined on `line` (1-based): the enclosing `[table]` plus the key before `=`.
fn field_at_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?.trim();
    let table = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    if here.starts_with('[') {
        return Some(
            here.trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string(),
        );
    }
    let key = here.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() {
        return table;
    }
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_at_line_uses_enclosing_table() {
        let text = "mode = \"cyclegan\"\n[loss]\nstyle_weight = \"x\"\n";
        assert_eq!(field_at_line(text, 3).as_deref(), Some("loss.style_weight"));
        assert_eq!(field_at_line(text, 1).as_deref(), Some("mode"));
    }

    #[test]
    fn unknown_field_names_line_and_field() {
        let text = "mode = \"single_style\"\n[loss]\nstyle_wieght = 3.0\n";
        let err = parse(text, Path::new("x.toml"), &[]).unwrap_err();
        assert_eq!(err.line, Some(3));
        assert_eq!(err.field.as_deref(), Some("loss.style_wieght"));
        assert!(err.reason.contains("unknown field"), "{}", err.reason);
    }

    #[test]
    fn list_images_follows_symlinked_folders_but_not_loops() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("photos");
        let other = tmp.path().join("more");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        for f in [
            root.join("b.PNG"),
            root.join("sub/a.jpg"),
            other.join("c.jpeg"),
        ] {
            std::fs::write(f, b"").unwrap();
        }
        std::fs::write(root.join("notes.txt"), b"").unwrap();
        std::os::unix::fs::symlink(&other, root.join("linked")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();
        let names: Vec<String> = list_images(&root)
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["b.PNG", "linked/c.jpeg", "sub/a.jpg"]);
    }
}
