//! Dotted keys into a spec (`loss.style_weight`, `optim.lr`): the `--set key=value` overrides of
//! the command line, the numeric lookups used by `[search]` validation, and the live `set`
//! commands a running trainer accepts. All go through the spec's TOML value tree, so a key is
//! valid exactly when the schema has that field.

use super::{Spec, SpecError};
use std::path::Path;
use toml::Value;

/// Apply `key=value` overrides in order; the first that does not fit the schema is the error.
pub(crate) fn apply_overrides(
    spec: Spec,
    overrides: &[String],
    file: &Path,
) -> Result<Spec, SpecError> {
    let mut tree = Value::try_from(&spec).map_err(|e| SpecError::new(file, "", e.to_string()))?;
    let mut current = spec;
    for raw in overrides {
        let (key, value) = raw.split_once('=').ok_or_else(|| {
            SpecError::new(
                file,
                raw.as_str(),
                "--set expects KEY=VALUE, e.g. loss.style_weight=3",
            )
        })?;
        let key = key.trim();
        let value = parse_value(value.trim());
        insert(&mut tree, key, value)
            .map_err(|r| SpecError::new(file, key, format!("--set {raw}: {r}")))?;
        current = tree.clone().try_into().map_err(|e: toml::de::Error| {
            SpecError::new(file, key, format!("--set {raw}: {}", e.message().trim()))
        })?;
    }
    Ok(current)
}

/// A value as TOML would read it (`3`, `2e-4`, `true`, `"x"`, `[1, 2]`), else a bare string.
fn parse_value(raw: &str) -> Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

fn insert(tree: &mut Value, key: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("`{key}` is not a valid dotted key"));
    }
    let mut node = tree;
    for part in &parts[..parts.len() - 1] {
        let table = node
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is not a table"))?;
        node = table
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(toml::Table::new()));
    }
    let table = node
        .as_table_mut()
        .ok_or_else(|| format!("`{key}` does not name a field inside a table"))?;
    table.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

fn lookup<'a>(tree: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(tree, |node, part| node.get(part))
}

/// The numeric value of a dotted key, when the spec has it and it is a number. Optional fields
/// that are unset (`optim.lr_g`) resolve through their fallback where there is one.
pub fn get_number(spec: &Spec, key: &str) -> Option<f64> {
    match key {
        "optim.lr_g" => return Some(spec.optim.lr_g.unwrap_or(spec.optim.lr)),
        "optim.lr_d" => return Some(spec.optim.lr_d.unwrap_or(spec.optim.lr)),
        _ => {}
    }
    let tree = Value::try_from(spec).ok()?;
    match lookup(&tree, key)? {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Set a numeric dotted key, keeping the field's type (integers are rounded).
pub fn set_number(spec: &Spec, key: &str, value: f64) -> Result<Spec, String> {
    let mut tree = Value::try_from(spec).map_err(|e| e.to_string())?;
    let is_int = matches!(lookup(&tree, key), Some(Value::Integer(_)));
    let known = get_number(spec, key).is_some();
    if !known {
        return Err(format!("`{key}` is not a numeric field of the spec"));
    }
    let v = if is_int {
        Value::Integer(value.round() as i64)
    } else {
        Value::Float(value)
    };
    insert(&mut tree, key, v)?;
    tree.try_into()
        .map_err(|e: toml::de::Error| e.message().trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Spec {
        toml::from_str("mode = \"single_style\"").unwrap()
    }

    #[test]
    fn overrides_set_typed_values_and_reject_unknown_keys() {
        let spec = apply_overrides(
            base(),
            &[
                "loss.style_weight=3".into(),
                "train.steps=7".into(),
                "train.backend=flex".into(),
            ],
            Path::new("s.toml"),
        )
        .unwrap();
        assert_eq!(spec.loss.style_weight, 3.0);
        assert_eq!(spec.train.steps, 7);
        assert_eq!(spec.train.backend, super::super::BackendChoice::Flex);

        let err = apply_overrides(base(), &["loss.styl_weight=3".into()], Path::new("s.toml"))
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("loss.styl_weight"));
        assert!(err.reason.contains("unknown field"), "{}", err.reason);

        let err =
            apply_overrides(base(), &["train.steps=many".into()], Path::new("s.toml")).unwrap_err();
        assert!(err.reason.contains("train.steps=many"), "{}", err.reason);
    }

    #[test]
    fn numbers_get_and_set() {
        let spec = base();
        assert_eq!(get_number(&spec, "optim.lr_g"), Some(2e-4));
        assert_eq!(get_number(&spec, "generator.width"), Some(32.0));
        assert_eq!(get_number(&spec, "mode"), None);
        let s = set_number(&spec, "generator.blocks", 4.6).unwrap();
        assert_eq!(s.generator.blocks, 5);
        assert!(set_number(&spec, "loss.nope", 1.0).is_err());
    }
}

/// Four significant digits: `2020`, `0.1235`, `3.519e6`.
pub fn format_number(f: f64) -> String {
    if f != 0.0 && (f.abs() >= 1e4 || f.abs() < 1e-2) {
        return format!("{f:.3e}");
    }
    let decimals = (3 - f.abs().max(1e-300).log10().floor() as i32).clamp(0, 4) as usize;
    let s = format!("{f:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod format_tests {
    use super::format_number;

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(format_number(2019.7750319534266), "2020");
        assert_eq!(format_number(440.1193), "440.1");
        assert_eq!(format_number(0.123456), "0.1235");
        assert_eq!(format_number(3.519e6), "3.519e6");
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(0.0), "0");
    }
}
