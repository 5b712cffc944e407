//! Live knobs: the loss weights and learning rates a running trainer reads every step. They start
//! from the spec, change through `set` commands in `control.jsonl`, and are saved with every
//! checkpoint so a resumed run continues with the values it had. Which knobs exist, their keys
//! and ranges are the rows of [`crate::terms::Knob`]; this is only their current values.

use crate::spec::{Mode, Spec};
use crate::terms::Knob;
use std::collections::BTreeMap;
use std::ops::Index;

#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    pub mode: Mode,
    /// Indexed by `Knob as usize`: every knob of the table, whether or not the mode reads it.
    values: Vec<f64>,
}

impl Index<Knob> for Knobs {
    type Output = f64;
    fn index(&self, k: Knob) -> &f64 {
        &self.values[k as usize]
    }
}

impl Knobs {
    pub fn from_spec(spec: &Spec) -> Self {
        Self {
            mode: spec.mode,
            values: Knob::ALL.iter().map(|k| k.from_spec(spec)).collect(),
        }
    }

    /// Change a knob by its `set` key (`optim.lr` sets both rates); the reason is returned when
    /// the key or value is not acceptable.
    pub fn set(&mut self, key: &str, value: f64) -> Result<(), String> {
        let knobs = Knob::parse(key, self.mode)?;
        knobs[0].range().check(key, value)?;
        for k in knobs {
            self.values[k as usize] = value;
        }
        Ok(())
    }

    /// Every knob of this mode with its value, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (Knob, f64)> + '_ {
        Knob::of(self.mode).map(|k| (k, self[k]))
    }

    /// Every knob of this mode by key.
    pub fn to_map(&self) -> BTreeMap<String, f64> {
        self.iter().map(|(k, v)| (k.key().to_string(), v)).collect()
    }

    /// Re-apply values saved in a checkpoint (unknown keys are ignored).
    pub fn restore(&mut self, saved: &BTreeMap<String, f64>) {
        for (k, v) in saved {
            let _ = self.set(k, *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_validates_and_round_trips() {
        let spec: Spec = toml::from_str("mode = \"single_style\"").unwrap();
        let mut k = Knobs::from_spec(&spec);
        k.set("loss.style_weight", 3.0).unwrap();
        k.set("optim.lr", 1e-3).unwrap();
        assert_eq!(
            (k[Knob::StyleWeight], k[Knob::LrG], k[Knob::LrD]),
            (3.0, 1e-3, 1e-3)
        );
        assert!(k.set("loss.cycle_weight", 1.0).is_err());
        assert!(k.set("loss.style_weight", -1.0).is_err());
        assert!(k.set("optim.lr", 0.0).is_err());
        assert!(k.set("loss.style_weight", f64::NAN).is_err());
        let mut fresh = Knobs::from_spec(&spec);
        fresh.restore(&k.to_map());
        assert_eq!(fresh, k);
    }
}
