//! Live knobs: the loss weights and learning rates a running trainer reads every step. They start
//! from the spec, change through `set` commands in `control.jsonl`, and are saved with every
//! checkpoint so a resumed run continues with the values it had.

use crate::spec::{Mode, Spec};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    pub mode: Mode,
    pub adversarial_weight: f64,
    pub content_weight: f64,
    pub style_weight: f64,
    pub swd_weight: f64,
    pub color_weight: f64,
    pub tv_weight: f64,
    pub cycle_weight: f64,
    pub identity_weight: f64,
    pub lr_g: f64,
    pub lr_d: f64,
}

/// Knob keys that apply to a mode (as accepted by `set`).
pub fn keys(mode: Mode) -> &'static [&'static str] {
    match mode {
        Mode::SingleStyle => &[
            "loss.adversarial_weight",
            "loss.content_weight",
            "loss.style_weight",
            "loss.swd_weight",
            "loss.color_weight",
            "loss.tv_weight",
            "optim.lr",
            "optim.lr_g",
            "optim.lr_d",
        ],
        Mode::Cyclegan => &[
            "loss.adversarial_weight",
            "loss.cycle_weight",
            "loss.identity_weight",
            "optim.lr",
            "optim.lr_g",
            "optim.lr_d",
        ],
    }
}

impl Knobs {
    pub fn from_spec(spec: &Spec) -> Self {
        let l = &spec.loss;
        Self {
            mode: spec.mode,
            adversarial_weight: l.adversarial_weight,
            content_weight: l.content_weight,
            style_weight: l.style_weight,
            swd_weight: l.swd_weight,
            color_weight: l.color_weight,
            tv_weight: l.tv_weight,
            cycle_weight: l.cycle_weight,
            identity_weight: l.identity_weight,
            lr_g: spec.optim.lr_g.unwrap_or(spec.optim.lr),
            lr_d: spec.optim.lr_d.unwrap_or(spec.optim.lr),
        }
    }

    /// Change one knob; the reason is returned when the key or value is not acceptable.
    pub fn set(&mut self, key: &str, value: f64) -> Result<(), String> {
        if !keys(self.mode).contains(&key) {
            return Err(format!(
                "`{key}` is not a live knob here; known: {}",
                keys(self.mode).join(", ")
            ));
        }
        if !value.is_finite() {
            return Err(format!("{key} must be finite, got {value}"));
        }
        if key.starts_with("optim.") {
            if !(value > 0.0 && value <= 1.0) {
                return Err(format!("{key} must be in (0, 1], got {value}"));
            }
        } else if value < 0.0 {
            return Err(format!("{key} must be >= 0, got {value}"));
        }
        match key {
            "loss.adversarial_weight" => self.adversarial_weight = value,
            "loss.content_weight" => self.content_weight = value,
            "loss.style_weight" => self.style_weight = value,
            "loss.swd_weight" => self.swd_weight = value,
            "loss.color_weight" => self.color_weight = value,
            "loss.tv_weight" => self.tv_weight = value,
            "loss.cycle_weight" => self.cycle_weight = value,
            "loss.identity_weight" => self.identity_weight = value,
            "optim.lr" => {
                self.lr_g = value;
                self.lr_d = value;
            }
            "optim.lr_g" => self.lr_g = value,
            "optim.lr_d" => self.lr_d = value,
            _ => unreachable!("checked against keys()"),
        }
        Ok(())
    }

    /// Every knob of this mode by key (`optim.lr` is represented by lr_g and lr_d).
    pub fn to_map(&self) -> BTreeMap<String, f64> {
        keys(self.mode)
            .iter()
            .filter(|k| **k != "optim.lr")
            .map(|k| (k.to_string(), self.get(k)))
            .collect()
    }

    fn get(&self, key: &str) -> f64 {
        match key {
            "loss.adversarial_weight" => self.adversarial_weight,
            "loss.content_weight" => self.content_weight,
            "loss.style_weight" => self.style_weight,
            "loss.swd_weight" => self.swd_weight,
            "loss.color_weight" => self.color_weight,
            "loss.tv_weight" => self.tv_weight,
            "loss.cycle_weight" => self.cycle_weight,
            "loss.identity_weight" => self.identity_weight,
            "optim.lr_g" => self.lr_g,
            _ => self.lr_d,
        }
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
        assert_eq!((k.style_weight, k.lr_g, k.lr_d), (3.0, 1e-3, 1e-3));
        assert!(k.set("loss.cycle_weight", 1.0).is_err());
        assert!(k.set("loss.style_weight", -1.0).is_err());
        assert!(k.set("optim.lr", 0.0).is_err());
        let mut fresh = Knobs::from_spec(&spec);
        fresh.restore(&k.to_map());
        assert_eq!(fresh, k);
    }
}
