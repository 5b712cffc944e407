//! Loss values on their way from the device to the metric rows. A recipe's step leaves its loss
//! terms on the device, summed in [`DeviceLosses`]; the loop reads them back once per log row
//! (and before a sample, a checkpoint or the end) as [`LossSums`]. Reading a scalar back
//! synchronises a GPU with the host, so a read per term per step would stall the device a dozen
//! times a step; one read per log row lets the host queue steps ahead of the device. On the CPU
//! backends the values are computed synchronously anyway and the read costs nothing.

use crate::terms::Term;
use burn::prelude::*;
use std::collections::BTreeMap;

/// Per-term sums and step counts of loss values, host side. A term can be missing from some
/// steps (a weight switched on live), so each term keeps its own count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LossSums {
    sums: BTreeMap<Term, (f64, u64)>,
}

impl LossSums {
    /// Add one step's value of `term`.
    pub fn add(&mut self, term: Term, value: f64) {
        self.add_n(term, value, 1);
    }

    /// Add `steps` steps whose values of `term` sum to `sum`.
    pub fn add_n(&mut self, term: Term, sum: f64, steps: u64) {
        let e = self.sums.entry(term).or_default();
        e.0 += sum;
        e.1 += steps;
    }

    /// Everything in `other` added to `self`.
    pub fn merge(&mut self, other: LossSums) {
        for (term, (sum, n)) in other.sums {
            self.add_n(term, sum, n);
        }
    }

    /// The mean of each term over its steps.
    pub fn means(&self) -> BTreeMap<Term, f64> {
        self.sums
            .iter()
            .map(|(t, (s, n))| (*t, s / (*n).max(1) as f64))
            .collect()
    }

    /// The first term whose sum is not finite (a NaN or an infinity in one of its steps).
    pub fn non_finite(&self) -> Option<(Term, f64)> {
        self.sums
            .iter()
            .find(|(_, (s, _))| !s.is_finite())
            .map(|(t, (s, _))| (*t, *s))
    }

    pub fn is_empty(&self) -> bool {
        self.sums.is_empty()
    }
}

/// Loss terms summed on the device over the steps since the last [`DeviceLosses::read`], one
/// running sum per distinct list of terms (the list changes only when a weight is switched on or
/// off live), plus terms the recipe computes on the host.
pub struct DeviceLosses<B: Backend> {
    device: Vec<(Vec<Term>, Tensor<B, 1>, u64)>,
    host: LossSums,
}

impl<B: Backend> Default for DeviceLosses<B> {
    fn default() -> Self {
        Self {
            device: Vec::new(),
            host: LossSums::default(),
        }
    }
}

impl<B: Backend> DeviceLosses<B> {
    /// One step's terms, each a one-element tensor (detached: only the values are kept).
    pub fn push(&mut self, terms: Vec<(Term, Tensor<B, 1>)>) {
        if terms.is_empty() {
            return;
        }
        let (names, values): (Vec<Term>, Vec<Tensor<B, 1>>) = terms
            .into_iter()
            .map(|(t, v)| (t, v.detach().reshape([1])))
            .unzip();
        let row = Tensor::cat(values, 0);
        match self.device.iter_mut().find(|(n, _, _)| *n == names) {
            Some((_, sum, steps)) => {
                *sum = sum.clone() + row;
                *steps += 1;
            }
            None => self.device.push((names, row, 1)),
        }
    }

    /// One step's value of a term computed on the host.
    pub fn push_host(&mut self, term: Term, value: f32) {
        self.host.add(term, f64::from(value));
    }

    /// The sums since the last read, read back from the device (one transfer per term list), and
    /// start again from zero.
    pub fn read(&mut self) -> LossSums {
        let mut out = std::mem::take(&mut self.host);
        for (names, sum, steps) in self.device.drain(..) {
            let values = super::data::convert::values(sum.into_data());
            for (term, v) in names.into_iter().zip(values) {
                out.add_n(term, f64::from(v), steps);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    #[test]
    fn sums_stay_on_the_device_until_read_and_terms_may_come_and_go() {
        type B = NdArray<f64>;
        let dev = Default::default();
        let v = |x: f64| Tensor::<B, 1>::from_floats([x], &dev);
        let mut l = DeviceLosses::<B>::default();
        l.push(vec![(Term::GAdv, v(1.0)), (Term::DTotal, v(0.5))]);
        l.push(vec![(Term::GAdv, v(3.0)), (Term::DTotal, v(1.5))]);
        // A weight switched on for the third step: a second term list.
        l.push(vec![
            (Term::GAdv, v(2.0)),
            (Term::Tv, v(4.0)),
            (Term::DTotal, v(1.0)),
        ]);
        l.push_host(Term::FavoredShare, 0.25);
        let sums = l.read();
        let m = sums.means();
        assert_eq!(m[&Term::GAdv], 2.0);
        assert_eq!(m[&Term::DTotal], 1.0);
        assert_eq!(m[&Term::Tv], 4.0, "a term's mean is over its own steps");
        assert_eq!(m[&Term::FavoredShare], 0.25);
        assert!(sums.non_finite().is_none());
        assert!(l.read().is_empty(), "a read starts again from zero");

        l.push(vec![(Term::GAdv, v(f64::NAN))]);
        l.push(vec![(Term::GAdv, v(1.0))]);
        let mut all = LossSums::default();
        all.merge(l.read());
        assert_eq!(all.non_finite().map(|(t, _)| t), Some(Term::GAdv));
    }
}
