//! The launch form (`n`) and the fork form (`f`): pick a spec from experiments/ (or start from a
//! run's own spec), edit the main overrides (name, steps, the mode's two main loss weights,
//! backend) and turn them into `--set` overrides for the launcher.

use super::app::Experiment;
use crate::spec::{self, Mode, Spec};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub label: &'static str,
    /// Dotted spec key it overrides; None for the run name.
    pub key: Option<&'static str>,
    pub value: String,
    /// The value it started with: unchanged fields are not sent as overrides.
    pub initial: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LaunchForm {
    pub experiments: Vec<Experiment>,
    /// Index into `experiments`.
    pub selected: usize,
    pub fields: Vec<Field>,
    /// 0 = the experiment list, 1.. = fields.
    pub focus: usize,
    /// Forking this run (its spec.toml is the base, the list is not shown).
    pub fork_of: Option<String>,
}

fn fields_for(spec: &Spec, name: &str) -> Vec<Field> {
    let num = |key: &'static str| {
        spec::get_number(spec, key)
            .map(|v| format!("{v}"))
            .unwrap_or_default()
    };
    let (w1, w2) = match spec.mode {
        Mode::SingleStyle => (
            ("style weight", "loss.style_weight"),
            ("content weight", "loss.content_weight"),
        ),
        Mode::Cyclegan => (
            ("cycle weight", "loss.cycle_weight"),
            ("identity weight", "loss.identity_weight"),
        ),
    };
    let backend = format!("{:?}", spec.train.backend).to_lowercase();
    let f = |label, key: Option<&'static str>, value: String| Field {
        label,
        key,
        initial: value.clone(),
        value,
    };
    vec![
        f("name", None, name.to_string()),
        f("steps", Some("train.steps"), num("train.steps")),
        f(
            "max minutes",
            Some("train.max_minutes"),
            num("train.max_minutes"),
        ),
        f(w1.0, Some(w1.1), num(w1.1)),
        f(w2.0, Some(w2.1), num(w2.1)),
        f("learning rate", Some("optim.lr"), num("optim.lr")),
        f("backend", Some("train.backend"), backend),
    ]
}

impl LaunchForm {
    pub fn new(experiments: Vec<Experiment>) -> Self {
        let mut form = Self {
            experiments,
            selected: 0,
            fields: Vec::new(),
            focus: 0,
            fork_of: None,
        };
        form.refill();
        form
    }

    /// A form over one run's spec (fork).
    pub fn fork(run_id: &str, spec_path: PathBuf, spec: Spec) -> Self {
        let name = format!(
            "{}-fork",
            spec.name.clone().unwrap_or_else(|| run_id.to_string())
        );
        let exp = Experiment {
            path: spec_path,
            name: name.clone(),
            spec: Ok(spec),
            needs: None,
        };
        let mut form = Self {
            experiments: vec![exp],
            selected: 0,
            fields: Vec::new(),
            focus: 1,
            fork_of: Some(run_id.to_string()),
        };
        form.refill();
        form
    }

    /// Reset the fields from the selected experiment.
    pub fn refill(&mut self) {
        self.fields = match self.experiments.get(self.selected) {
            Some(Experiment {
                spec: Ok(spec),
                name,
                ..
            }) => fields_for(spec, name),
            _ => Vec::new(),
        };
    }

    pub fn move_selection(&mut self, delta: isize) {
        if self.focus == 0 && !self.experiments.is_empty() {
            let n = self.experiments.len() as isize;
            self.selected = (self.selected as isize + delta).rem_euclid(n) as usize;
            self.refill();
        } else {
            let n = self.fields.len() as isize + 1;
            let lowest = if self.fork_of.is_some() { 1 } else { 0 };
            let next = (self.focus as isize + delta).rem_euclid(n) as usize;
            self.focus = next.max(lowest);
        }
    }

    pub fn next_focus(&mut self) {
        let n = self.fields.len() + 1;
        self.focus = (self.focus + 1) % n;
        if self.fork_of.is_some() && self.focus == 0 {
            self.focus = 1;
        }
    }

    pub fn type_char(&mut self, c: char) {
        if let Some(f) = self
            .focus
            .checked_sub(1)
            .and_then(|i| self.fields.get_mut(i))
        {
            f.value.push(c);
        }
    }

    pub fn backspace(&mut self) {
        if let Some(f) = self
            .focus
            .checked_sub(1)
            .and_then(|i| self.fields.get_mut(i))
        {
            f.value.pop();
        }
    }

    /// The launch request: spec path, `--set` overrides of changed fields, run name.
    pub fn request(&self) -> Result<(PathBuf, Vec<String>, Option<String>), String> {
        let exp = self
            .experiments
            .get(self.selected)
            .ok_or("no experiment selected")?;
        if let Err(e) = &exp.spec {
            return Err(format!("{}: {e}", exp.path.display()));
        }
        if let Some(needs) = &exp.needs {
            return Err(format!("{} can't start yet: it needs {needs}", exp.name));
        }
        let mut overrides = Vec::new();
        let mut name = None;
        for f in &self.fields {
            let v = f.value.trim();
            match f.key {
                None => name = (!v.is_empty()).then(|| v.to_string()),
                Some(key) if v != f.initial.trim() => {
                    if v.is_empty() {
                        return Err(format!("{} is empty", f.label));
                    }
                    overrides.push(format!("{key}={v}"));
                }
                Some(_) => {}
            }
        }
        Ok((exp.path.clone(), overrides, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(name: &str, mode: &str) -> Experiment {
        let spec: Spec = toml::from_str(&format!("mode = \"{mode}\"")).unwrap();
        Experiment {
            path: PathBuf::from(format!("experiments/{name}.toml")),
            name: name.into(),
            spec: Ok(spec),
            needs: None,
        }
    }

    #[test]
    fn only_changed_fields_become_overrides() {
        let mut f = LaunchForm::new(vec![exp("quick", "single_style"), exp("cyc", "cyclegan")]);
        assert_eq!(f.fields[3].label, "style weight");
        f.move_selection(1);
        assert_eq!(f.fields[3].label, "cycle weight");
        f.focus = 2; // steps
        f.backspace();
        f.backspace();
        f.backspace();
        f.backspace();
        for c in "250".chars() {
            f.type_char(c);
        }
        let (path, overrides, name) = f.request().unwrap();
        assert_eq!(path, PathBuf::from("experiments/cyc.toml"));
        assert_eq!(overrides, vec!["train.steps=250".to_string()]);
        assert_eq!(name.as_deref(), Some("cyc"));
    }
}
