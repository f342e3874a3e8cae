//! Window extremes: `ta.highest`, `ta.lowest`, `ta.pivothigh`, `ta.pivotlow`.

use super::error::{check_len, TaError};
use super::window::{Extreme, MonotonicDeque, Ring};

/// Sliding maximum or minimum over `length` bars including the current one.
#[derive(Debug)]
struct Extremum {
    deque: MonotonicDeque,
    length: u64,
    bar: u64,
}

impl Extremum {
    fn new(length: usize, keep: Extreme) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        Ok(Extremum {
            deque: MonotonicDeque::new(length, keep),
            length: length as u64,
            bar: 0,
        })
    }

    #[inline]
    fn update(&mut self, x: f64) -> f64 {
        let t = self.bar;
        self.bar += 1;
        self.deque
            .expire_before((t + 1).saturating_sub(self.length));
        self.deque.push(t, x);
        if t + 1 < self.length {
            return f64::NAN;
        }
        self.deque.front().unwrap_or(f64::NAN)
    }
}

impl_clone_from!(Extremum { deque, length, bar });

/// `ta.highest(source, length)`: the highest value of the last `length` bars,
/// the current one included.
///
/// `na` for the first `length - 1` bars (as TradingView plots it). `na` values inside
/// the window are skipped, as TradingView's highest does; the result is `na` only when
/// every value of the window is `na`. Amortised O(1) per bar (monotonic deque).
#[derive(Debug)]
pub struct Highest {
    inner: Extremum,
}

impl Highest {
    /// The highest value over `length >= 1` bars.
    pub fn new(length: usize) -> Result<Self, TaError> {
        Ok(Highest {
            inner: Extremum::new(length, Extreme::Max)?,
        })
    }

    /// Feeds one bar's value and returns the window's maximum (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        self.inner.update(x)
    }
}

impl_clone_from!(Highest { inner });

/// `ta.lowest(source, length)`: the lowest value of the last `length` bars, the
/// current one included. `na` handling and cost as [`Highest`].
#[derive(Debug)]
pub struct Lowest {
    inner: Extremum,
}

impl Lowest {
    /// The lowest value over `length >= 1` bars.
    pub fn new(length: usize) -> Result<Self, TaError> {
        Ok(Lowest {
            inner: Extremum::new(length, Extreme::Min)?,
        })
    }

    /// Feeds one bar's value and returns the window's minimum (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        self.inner.update(x)
    }
}

impl_clone_from!(Lowest { inner });

/// A pivot detector: is the value `right` bars ago a strict extreme of the `left`
/// bars before it and the `right` bars after it?
///
/// Amortised O(1) per bar: the `right` newest values feed one monotonic deque, the
/// `left` values before the candidate (the ones leaving the candidate ring) another.
#[derive(Debug)]
struct Pivot {
    keep: Extreme,
    left: u64,
    right: u64,
    /// The last `right + 1` values; when full, the oldest is the candidate.
    recent: Ring,
    right_side: MonotonicDeque,
    left_side: MonotonicDeque,
    bar: u64,
    /// The last bar whose value was `na` (`u64::MAX` for none yet).
    last_na: u64,
}

impl Pivot {
    fn new(left: usize, right: usize, keep: Extreme) -> Result<Self, TaError> {
        let left = check_len("leftbars", left, 0)?;
        let right = check_len("rightbars", right, 0)?;
        Ok(Pivot {
            keep,
            left: left as u64,
            right: right as u64,
            recent: Ring::with_capacity(right + 1),
            right_side: MonotonicDeque::new(right, keep),
            left_side: MonotonicDeque::new(left, keep),
            bar: 0,
            last_na: u64::MAX,
        })
    }

    #[inline]
    fn update(&mut self, x: f64) -> f64 {
        let t = self.bar;
        self.bar += 1;
        if x.is_nan() {
            self.last_na = t;
        }
        if let Some(evicted) = self.recent.push(x) {
            // `evicted` is bar t - right - 1, the bar just left of the candidate.
            if self.left > 0 {
                let bar = t - self.right - 1;
                self.left_side
                    .expire_before((bar + 1).saturating_sub(self.left));
                self.left_side.push(bar, evicted);
            }
        }
        if self.right > 0 {
            self.right_side
                .expire_before((t + 1).saturating_sub(self.right));
            self.right_side.push(t, x);
        }
        if t < self.left + self.right {
            return f64::NAN;
        }
        let first = t - self.left - self.right;
        if self.last_na != u64::MAX && self.last_na >= first {
            return f64::NAN;
        }
        let Some(candidate) = self.recent.get(self.right as usize) else {
            return f64::NAN;
        };
        let beats = |other: Option<f64>| match (other, self.keep) {
            (None, _) => true,
            (Some(m), Extreme::Max) => candidate > m,
            (Some(m), Extreme::Min) => candidate < m,
        };
        if beats(self.left_side.front()) && beats(self.right_side.front()) {
            candidate
        } else {
            f64::NAN
        }
    }
}

impl_clone_from!(Pivot {
    keep,
    left,
    right,
    recent,
    right_side,
    left_side,
    bar,
    last_na
});

/// `ta.pivothigh(source, leftbars, rightbars)`: on the bar `rightbars` bars after a
/// pivot high, the pivot's value; `na` on every other bar.
///
/// A pivot high is strictly greater than each of the `leftbars` values before it and
/// each of the `rightbars` values after it: a tie on either side disqualifies it (so a
/// flat top of two equal bars is no pivot), as TradingView's does. `na` when any value
/// of that window is `na`. Zero is accepted for either side (no condition on that
/// side). Amortised O(1) per bar.
#[derive(Debug)]
pub struct PivotHigh {
    inner: Pivot,
}

impl PivotHigh {
    /// A pivot-high detector with `leftbars` and `rightbars` (each at most
    /// [`super::MAX_LENGTH`]).
    pub fn new(leftbars: usize, rightbars: usize) -> Result<Self, TaError> {
        Ok(PivotHigh {
            inner: Pivot::new(leftbars, rightbars, Extreme::Max)?,
        })
    }

    /// Feeds one bar's value; returns the value of the bar `rightbars` ago if it is a
    /// pivot high, else `na`.
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        self.inner.update(x)
    }
}

impl_clone_from!(PivotHigh { inner });

/// `ta.pivotlow(source, leftbars, rightbars)`: the mirror of [`PivotHigh`], a pivot low
/// being strictly less than its neighbours on both sides.
#[derive(Debug)]
pub struct PivotLow {
    inner: Pivot,
}

impl PivotLow {
    /// A pivot-low detector with `leftbars` and `rightbars`.
    pub fn new(leftbars: usize, rightbars: usize) -> Result<Self, TaError> {
        Ok(PivotLow {
            inner: Pivot::new(leftbars, rightbars, Extreme::Min)?,
        })
    }

    /// Feeds one bar's value; returns the value of the bar `rightbars` ago if it is a
    /// pivot low, else `na`.
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        self.inner.update(x)
    }
}

impl_clone_from!(PivotLow { inner });

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_series, NA};
    use super::*;

    #[test]
    fn highest_lowest_table() {
        type Case = (
            &'static str,
            usize,
            &'static [f64],
            &'static [f64],
            &'static [f64],
        );
        let cases: [Case; 3] = [
            // TC0: length 3, na until 3 bars
            (
                "TC0",
                3,
                &[1.0, 3.0, 2.0, 0.0, 5.0, 4.0],
                &[NA, NA, 3.0, 3.0, 5.0, 5.0],
                &[NA, NA, 1.0, 0.0, 0.0, 0.0],
            ),
            // TC1: length 1 is the source
            ("TC1", 1, &[2.0, NA, 1.0], &[2.0, NA, 1.0], &[2.0, NA, 1.0]),
            // TC2: na inside the window is skipped; all-na window is na
            (
                "TC2",
                2,
                &[1.0, NA, 3.0, NA, NA, 2.0],
                &[NA, 1.0, 3.0, 3.0, NA, 2.0],
                &[NA, 1.0, 3.0, 3.0, NA, 2.0],
            ),
        ];
        for (name, len, xs, hi, lo) in cases {
            let mut h = Highest::new(len).expect("valid length");
            check_series(name, xs, hi, |x| h.update(x));
            let mut l = Lowest::new(len).expect("valid length");
            check_series(name, xs, lo, |x| l.update(x));
        }
        assert!(Highest::new(0).is_err());
        assert!(Lowest::new(0).is_err());
    }

    #[test]
    fn pivot_table() {
        type Case = (
            &'static str,
            usize,
            usize,
            &'static [f64],
            &'static [f64],
            &'static [f64],
        );
        let cases: [Case; 5] = [
            // TC0: (2,1): high 5 at bar 2 reported at bar 3; low 1 at bar 4 at bar 5
            (
                "TC0",
                2,
                1,
                &[1.0, 2.0, 5.0, 3.0, 1.0, 4.0],
                &[NA, NA, NA, 5.0, NA, NA],
                &[NA, NA, NA, NA, NA, 1.0],
            ),
            // TC1: ties disqualify on both sides
            (
                "TC1",
                1,
                1,
                &[1.0, 3.0, 3.0, 1.0, 0.0, 0.0, 2.0],
                &[NA, NA, NA, NA, NA, NA, NA],
                &[NA, NA, NA, NA, NA, NA, NA],
            ),
            // TC2: na in the window blocks a pivot until it leaves
            (
                "TC2",
                1,
                1,
                &[NA, 3.0, 1.0, 4.0, 2.0],
                &[NA, NA, NA, NA, 4.0],
                &[NA, NA, NA, 1.0, NA],
            ),
            // TC3: right = 0: reported on the pivot bar itself
            (
                "TC3",
                2,
                0,
                &[1.0, 2.0, 3.0, 0.0],
                &[NA, NA, 3.0, NA],
                &[NA, NA, NA, 0.0],
            ),
            // TC4: left = 0 and right = 2
            (
                "TC4",
                0,
                2,
                &[3.0, 1.0, 2.0, 0.5, 0.7],
                &[NA, NA, 3.0, NA, 2.0],
                &[NA, NA, NA, NA, NA],
            ),
        ];
        for (name, left, right, xs, hi, lo) in cases {
            let mut h = PivotHigh::new(left, right).expect("valid bars");
            check_series(name, xs, hi, |x| h.update(x));
            let mut l = PivotLow::new(left, right).expect("valid bars");
            check_series(name, xs, lo, |x| l.update(x));
        }
    }

    #[test]
    fn pivot_matches_brute_force() {
        // TC0: a long pseudo-random walk with many ties, against the definition.
        let xs: Vec<f64> = (0..2000u64)
            .map(|i| ((i * 2_654_435_761) % 97 % 13) as f64)
            .collect();
        for (left, right) in [(1, 1), (3, 2), (5, 5), (0, 4), (4, 0)] {
            let mut h = PivotHigh::new(left, right).expect("valid bars");
            let mut l = PivotLow::new(left, right).expect("valid bars");
            for t in 0..xs.len() {
                let (gh, gl) = (h.update(xs[t]), l.update(xs[t]));
                let (mut wh, mut wl) = (NA, NA);
                if t >= left + right {
                    let c = t - right;
                    let v = xs[c];
                    let others = (c - left..=t).filter(|&j| j != c).map(|j| xs[j]);
                    if others.clone().all(|o| v > o) {
                        wh = v;
                    }
                    if others.clone().all(|o| v < o) {
                        wl = v;
                    }
                }
                assert!(
                    super::super::testutil::same(gh, wh),
                    "high ({left},{right}) t={t}"
                );
                assert!(
                    super::super::testutil::same(gl, wl),
                    "low ({left},{right}) t={t}"
                );
            }
        }
    }
}
