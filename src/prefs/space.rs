//! A study's hyperparameter space as the unit cube the GP works in. Each dimension comes from
//! one `[search]` range of the spec (in key order): linear ranges map affinely to [0, 1], log
//! ranges map their logarithm, and integer ranges are rounded on the way back. Both directions
//! clamp, so a value outside its range (or a NaN) never leaves the cube or the range.

use crate::spec::SearchRange;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One searched hyperparameter: its dotted spec key and range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dim {
    pub key: String,
    pub min: f64,
    pub max: f64,
    pub log: bool,
    pub integer: bool,
}

/// The searched hyperparameters, in the order of the unit-cube coordinates.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Space {
    pub dims: Vec<Dim>,
}

impl Dim {
    /// Log scale only where it is defined (both bounds > 0).
    fn is_log(&self) -> bool {
        self.log && self.min > 0.0 && self.max > 0.0
    }

    /// The range's ends in the scale the cube is linear in.
    fn scaled_bounds(&self) -> (f64, f64) {
        if self.is_log() {
            (self.min.ln(), self.max.ln())
        } else {
            (self.min, self.max)
        }
    }

    fn unit_of(&self, v: f64) -> f64 {
        let (lo, hi) = self.scaled_bounds();
        if !v.is_finite() || !lo.is_finite() || !hi.is_finite() || hi <= lo {
            return 0.5;
        }
        let s = if self.is_log() {
            v.max(self.min).ln()
        } else {
            v
        };
        ((s - lo) / (hi - lo)).clamp(0.0, 1.0)
    }

    fn value_at(&self, x: f64) -> f64 {
        let (lo, hi) = self.scaled_bounds();
        let x = if x.is_finite() {
            x.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let s = lo + x * (hi - lo);
        let mut v = if self.is_log() { s.exp() } else { s };
        let (min, max) = (self.min.min(self.max), self.max.max(self.min));
        v = v.clamp(min, max);
        if self.integer {
            v = v.round();
            // Rounding may leave the range when its ends are not integers.
            if v > max && max.floor() >= min {
                v = max.floor();
            } else if v < min && min.ceil() <= max {
                v = min.ceil();
            }
        }
        if v.is_finite() {
            v
        } else {
            0.0
        }
    }
}

impl Space {
    /// The space of a spec's `[search]` table, dimensions in key order.
    pub fn from_search(search: &BTreeMap<String, SearchRange>) -> Space {
        Space {
            dims: search
                .iter()
                .map(|(key, r)| Dim {
                    key: key.clone(),
                    min: r.min,
                    max: r.max,
                    log: r.log,
                    integer: r.integer,
                })
                .collect(),
        }
    }

    /// Values to the unit cube (log dimensions in log space), clamped to [0, 1]. A missing or
    /// non-finite value, or a degenerate range, maps to the middle, 0.5.
    pub fn to_unit(&self, values: &[f64]) -> Vec<f64> {
        self.dims
            .iter()
            .enumerate()
            .map(|(i, d)| values.get(i).map_or(0.5, |&v| d.unit_of(v)))
            .collect()
    }

    /// Unit-cube coordinates back to values: integer dimensions rounded, every value clamped to
    /// its range. A missing or non-finite coordinate is taken as 0.5.
    pub fn from_unit(&self, x: &[f64]) -> Vec<f64> {
        self.dims
            .iter()
            .enumerate()
            .map(|(i, d)| d.value_at(x.get(i).copied().unwrap_or(0.5)))
            .collect()
    }

    pub fn dim(&self) -> usize {
        self.dims.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> Space {
        let mut search = BTreeMap::new();
        let r = |min, max, log, integer| SearchRange {
            min,
            max,
            log,
            integer,
        };
        search.insert("optim.lr_g".to_string(), r(1e-5, 1e-2, true, false));
        search.insert("loss.style_weight".to_string(), r(0.0, 10.0, false, false));
        search.insert("generator.width".to_string(), r(8.0, 64.0, true, true));
        search.insert("generator.blocks".to_string(), r(1.0, 9.0, false, true));
        Space::from_search(&search)
    }

    #[test]
    fn round_trips_linear_log_and_integer_dims() {
        let s = space();
        assert_eq!(s.dim(), 4);
        let keys: Vec<&str> = s.dims.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "generator.blocks",
                "generator.width",
                "loss.style_weight",
                "optim.lr_g"
            ]
        );
        let values = [5.0, 16.0, 2.5, 3e-4];
        let x = s.to_unit(&values);
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
        // Log dims: the geometric middle of 1e-5..1e-2 is at 0.5.
        assert!((s.to_unit(&[1.0, 8.0, 0.0, 10f64.powf(-3.5)])[3] - 0.5).abs() < 1e-12);
        let back = s.from_unit(&x);
        for (a, b) in back.iter().zip(&values) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
        }
        // Integer dims come back as integers; the cube's corners map to the range's ends.
        let mid = s.from_unit(&[0.37, 0.61, 0.5, 0.5]);
        assert_eq!(mid[0], mid[0].round());
        assert_eq!(mid[1], mid[1].round());
        assert_eq!(s.from_unit(&[0.0; 4]), vec![1.0, 8.0, 0.0, 1e-5]);
        let top = s.from_unit(&[1.0; 4]);
        assert_eq!(top[..3], [9.0, 64.0, 10.0]);
        assert!((top[3] - 1e-2).abs() < 1e-15);
    }

    #[test]
    fn clamps_out_of_range_and_bad_values() {
        let s = space();
        let x = s.to_unit(&[100.0, 1.0, f64::NAN]);
        assert_eq!(x, vec![1.0, 0.0, 0.5, 0.5]);
        let v = s.from_unit(&[2.0, -1.0, f64::INFINITY]);
        assert_eq!(v[..3], [9.0, 8.0, 5.0]);
        assert!(v.iter().all(|v| v.is_finite()));
        // A degenerate range and a "log" range through zero stay finite.
        let d = Space {
            dims: vec![
                Dim {
                    key: "a".into(),
                    min: 3.0,
                    max: 3.0,
                    log: false,
                    integer: false,
                },
                Dim {
                    key: "b".into(),
                    min: 0.0,
                    max: 4.0,
                    log: true,
                    integer: false,
                },
            ],
        };
        assert_eq!(d.to_unit(&[3.0, 1.0]), vec![0.5, 0.25]);
        assert_eq!(d.from_unit(&[0.9, 0.25]), vec![3.0, 1.0]);
    }
}
