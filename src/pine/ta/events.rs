//! Events and their memory: `ta.crossover`, `ta.crossunder`, `ta.cross`,
//! `ta.barssince`, `ta.valuewhen`, `ta.cum`.

use super::error::{check_len, TaError};
use super::window::Ring;

/// `ta.crossover(a, b)`: true on the bar where `a` goes above `b`,
/// `a > b and a[1] <= b[1]`.
///
/// False (never `na`) when any of the four values is `na`, which includes the first
/// bar. O(1) per bar.
#[derive(Debug)]
pub struct Crossover {
    prev_a: f64,
    prev_b: f64,
}

impl Crossover {
    /// A crossover detector; it has no parameter.
    pub fn new() -> Self {
        Crossover {
            prev_a: f64::NAN,
            prev_b: f64::NAN,
        }
    }

    /// Feeds one bar's two values; true when `a` crossed over `b` on this bar.
    #[inline]
    pub fn update(&mut self, a: f64, b: f64) -> bool {
        // Every comparison with NaN is false, which is exactly the `na` rule.
        let crossed = a > b && self.prev_a <= self.prev_b;
        self.prev_a = a;
        self.prev_b = b;
        crossed
    }
}

impl Default for Crossover {
    fn default() -> Self {
        Self::new()
    }
}

impl_clone_from!(Crossover { prev_a, prev_b });

/// `ta.crossunder(a, b)`: true on the bar where `a` goes below `b`,
/// `a < b and a[1] >= b[1]`; `na` rule and cost as [`Crossover`].
#[derive(Debug)]
pub struct Crossunder {
    prev_a: f64,
    prev_b: f64,
}

impl Crossunder {
    /// A crossunder detector; it has no parameter.
    pub fn new() -> Self {
        Crossunder {
            prev_a: f64::NAN,
            prev_b: f64::NAN,
        }
    }

    /// Feeds one bar's two values; true when `a` crossed under `b` on this bar.
    #[inline]
    pub fn update(&mut self, a: f64, b: f64) -> bool {
        let crossed = a < b && self.prev_a >= self.prev_b;
        self.prev_a = a;
        self.prev_b = b;
        crossed
    }
}

impl Default for Crossunder {
    fn default() -> Self {
        Self::new()
    }
}

impl_clone_from!(Crossunder { prev_a, prev_b });

/// `ta.cross(a, b)`: crossover or crossunder on this bar; `na` rule as [`Crossover`].
#[derive(Debug)]
pub struct Cross {
    prev_a: f64,
    prev_b: f64,
}

impl Cross {
    /// A cross detector; it has no parameter.
    pub fn new() -> Self {
        Cross {
            prev_a: f64::NAN,
            prev_b: f64::NAN,
        }
    }

    /// Feeds one bar's two values; true when `a` crossed `b` either way on this bar.
    #[inline]
    pub fn update(&mut self, a: f64, b: f64) -> bool {
        let crossed =
            (a > b && self.prev_a <= self.prev_b) || (a < b && self.prev_a >= self.prev_b);
        self.prev_a = a;
        self.prev_b = b;
        crossed
    }
}

impl Default for Cross {
    fn default() -> Self {
        Self::new()
    }
}

impl_clone_from!(Cross { prev_a, prev_b });

/// `ta.barssince(condition)`: bars since the condition was last true (0 on a bar where
/// it is true), `na` before the first true. The VM passes an `na` condition as false.
/// O(1) per bar.
#[derive(Debug)]
pub struct BarsSince {
    /// Bars since the last true, `None` before the first.
    since: Option<u64>,
}

impl BarsSince {
    /// A bars-since counter; it has no parameter.
    pub fn new() -> Self {
        BarsSince { since: None }
    }

    /// Feeds one bar's condition and returns the count as a Pine number (or `na`).
    #[inline]
    pub fn update(&mut self, condition: bool) -> f64 {
        self.since = if condition {
            Some(0)
        } else {
            self.since.map(|n| n.saturating_add(1))
        };
        self.since.map_or(f64::NAN, |n| n as f64)
    }
}

impl Default for BarsSince {
    fn default() -> Self {
        Self::new()
    }
}

impl_clone_from!(BarsSince { since });

/// `ta.valuewhen(condition, source, occurrence)`: the source's value on the
/// `occurrence`-th most recent bar where the condition was true (0 = the most recent,
/// which is the current bar if the condition is true now); `na` until that many
/// occurrences have happened. The value stored is the source as it was on that bar,
/// `na` included. O(1) per bar: a ring of the last `occurrence + 1` values.
#[derive(Debug)]
pub struct ValueWhen {
    values: Ring,
    occurrence: usize,
}

impl ValueWhen {
    /// A value-when memory for `occurrence` (0 or more, at most
    /// [`super::MAX_LENGTH`]).
    pub fn new(occurrence: usize) -> Result<Self, TaError> {
        let occurrence = check_len("occurrence", occurrence, 0)?;
        Ok(ValueWhen {
            values: Ring::with_capacity(occurrence + 1),
            occurrence,
        })
    }

    /// Feeds one bar's condition and source value; returns the remembered value.
    #[inline]
    pub fn update(&mut self, condition: bool, source: f64) -> f64 {
        if condition {
            self.values.push(source);
        }
        self.values.get(self.occurrence).unwrap_or(f64::NAN)
    }
}

impl_clone_from!(ValueWhen { values, occurrence });

/// `ta.cum(source)`: the running total of the source since the first bar. An `na`
/// value adds nothing (the total is 0 until the first non-`na` value, never `na`).
/// Plain summation, as Pine's; O(1) per bar.
#[derive(Debug)]
pub struct Cum {
    total: f64,
}

impl Cum {
    /// A running total starting at 0; it has no parameter.
    pub fn new() -> Self {
        Cum { total: 0.0 }
    }

    /// Feeds one bar's value and returns the total so far.
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        if !x.is_nan() {
            self.total += x;
        }
        self.total
    }
}

impl Default for Cum {
    fn default() -> Self {
        Self::new()
    }
}

impl_clone_from!(Cum { total });

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_series, NA};
    use super::*;

    #[test]
    fn cross_table() {
        // (a, b, over, under, cross)
        let cases: [(f64, f64, bool, bool, bool); 8] = [
            // TC0: first bar never crosses
            (2.0, 1.0, false, false, false),
            // TC1: goes under
            (0.0, 1.0, false, true, true),
            // TC2: touches (equal): no cross
            (1.0, 1.0, false, false, false),
            // TC3: from equal to above is a crossover (a[1] <= b[1])
            (2.0, 1.0, true, false, true),
            // TC4: na on the current bar -> false
            (NA, 1.0, false, false, false),
            // TC5: na on the previous bar -> false
            (0.0, 1.0, false, false, false),
            // TC6: from below to above
            (3.0, 1.0, true, false, true),
            // TC7: from above to equal: not a crossunder (a < b fails)
            (1.0, 1.0, false, false, false),
        ];
        let (mut over, mut under, mut cross) = (Crossover::new(), Crossunder::new(), Cross::new());
        for (i, (a, b, o, u, c)) in cases.iter().enumerate() {
            assert_eq!(over.update(*a, *b), *o, "TC{i} over");
            assert_eq!(under.update(*a, *b), *u, "TC{i} under");
            assert_eq!(cross.update(*a, *b), *c, "TC{i} cross");
        }
    }

    #[test]
    fn barssince_valuewhen_cum_table() {
        let conds = [false, true, false, false, true, true, false];
        let src = [1.0, 2.0, 3.0, 4.0, NA, 6.0, 7.0];
        // TC0: barssince
        let mut bs = BarsSince::new();
        let want = [NA, 0.0, 1.0, 2.0, 0.0, 0.0, 1.0];
        let idx: Vec<f64> = (0..conds.len()).map(|i| i as f64).collect();
        check_series("TC0", &idx, &want, |i| bs.update(conds[i as usize]));
        // TC1: valuewhen occurrence 0 (na source on a true bar is remembered as na)
        let mut vw = ValueWhen::new(0).expect("valid occurrence");
        let want = [NA, 2.0, 2.0, 2.0, NA, 6.0, 6.0];
        check_series("TC1", &idx, &want, |i| {
            vw.update(conds[i as usize], src[i as usize])
        });
        // TC2: valuewhen occurrence 1
        let mut vw = ValueWhen::new(1).expect("valid occurrence");
        let want = [NA, NA, NA, NA, 2.0, NA, NA];
        check_series("TC2", &idx, &want, |i| {
            vw.update(conds[i as usize], src[i as usize])
        });
        // TC3: valuewhen occurrence 2
        let mut vw = ValueWhen::new(2).expect("valid occurrence");
        let want = [NA, NA, NA, NA, NA, 2.0, 2.0];
        check_series("TC3", &idx, &want, |i| {
            vw.update(conds[i as usize], src[i as usize])
        });
        // TC4: cum skips na
        let mut cum = Cum::new();
        check_series("TC4", &src, &[1.0, 3.0, 6.0, 10.0, 10.0, 16.0, 23.0], |x| {
            cum.update(x)
        });
        // TC5: cum of leading na is 0
        let mut cum = Cum::new();
        check_series("TC5", &[NA, 2.0], &[0.0, 2.0], |x| cum.update(x));
        // TC6: occurrence beyond the maximum is refused
        assert!(ValueWhen::new(super::super::MAX_LENGTH + 1).is_err());
    }
}
