//! Oscillators and differences: `ta.rsi`, `ta.stoch`, `ta.cci`, `ta.mom`, `ta.roc`,
//! `ta.change`.

use super::error::{check_len, TaError};
use super::extremes::{Highest, Lowest};
use super::ma::Rma;
use super::window::{Ring, Window};
use super::{na_div, na_max};

/// `ta.rsi(source, length)`: relative strength index.
///
/// As the manual's reference and TradingView's built-in RSI indicator:
/// `up = rma(max(x - x[1], 0), length)`, `down = rma(max(x[1] - x, 0), length)`,
/// then `down == 0 ? 100 : up == 0 ? 0 : 100 - 100 / (1 + up / down)` (so a flat
/// window, both zero, is 100). The change is `na` on the first bar, so the first value
/// is on bar `length` (0-based), the rma seeds being the sma of changes 1..=length.
/// O(1) per bar.
#[derive(Debug)]
pub struct Rsi {
    prev: f64,
    up: Rma,
    down: Rma,
}

impl Rsi {
    /// An rsi over `length >= 1` bars.
    pub fn new(length: usize) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        Ok(Rsi {
            prev: f64::NAN,
            up: Rma::new(length)?,
            down: Rma::new(length)?,
        })
    }

    /// Feeds one bar's value and returns the rsi in [0, 100] (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        let up = self.up.update(na_max(x - self.prev, 0.0));
        let down = self.down.update(na_max(self.prev - x, 0.0));
        self.prev = x;
        if up.is_nan() || down.is_nan() {
            f64::NAN
        } else if down == 0.0 {
            100.0
        } else if up == 0.0 {
            0.0
        } else {
            100.0 - 100.0 / (1.0 + up / down)
        }
    }
}

impl_clone_from!(Rsi { prev, up, down });

/// `ta.stoch(source, high, low, length)`: stochastic %K,
/// `100 * (close - lowest(low, length)) / (highest(high, length) - lowest(low, length))`.
///
/// `na` while highest/lowest are `na` (see [`Highest`]) and when the range is zero
/// (division by zero). Amortised O(1) per bar.
#[derive(Debug)]
pub struct Stoch {
    highest: Highest,
    lowest: Lowest,
}

impl Stoch {
    /// A stochastic over `length >= 1` bars.
    pub fn new(length: usize) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        Ok(Stoch {
            highest: Highest::new(length)?,
            lowest: Lowest::new(length)?,
        })
    }

    /// Feeds one bar (source, usually the close, then high and low) and returns %K.
    #[inline]
    pub fn update(&mut self, close: f64, high: f64, low: f64) -> f64 {
        let hh = self.highest.update(high);
        let ll = self.lowest.update(low);
        na_div(100.0 * (close - ll), hh - ll)
    }
}

impl_clone_from!(Stoch { highest, lowest });

/// `ta.cci(source, length)`: commodity channel index,
/// `(x - sma(x, length)) / (0.015 * dev(x, length))` where `dev` is the mean absolute
/// deviation from that sma (the manual's `ta.dev`).
///
/// Cost: **O(length) per bar**, exact. The mean absolute deviation depends on every
/// value's distance to the *current* mean, which moves each bar, so it cannot be slid;
/// a sorted window with prefix sums would need O(length) insertion as well (an
/// order-statistics tree would give O(log length) but keep running float sums with
/// drift). Typical lengths are 14 to 20, so a plain loop over the ring is both exact
/// and fast. `na` while the window is not full or holds an `na`, and when the
/// deviation is zero (a flat window: division by zero).
#[derive(Debug)]
pub struct Cci {
    window: Window,
    length: f64,
}

impl Cci {
    /// A cci over `length >= 1` bars (length 1 is always `na`: zero deviation).
    pub fn new(length: usize) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        Ok(Cci {
            window: Window::new(length),
            length: length as f64,
        })
    }

    /// Feeds one bar's value and returns the cci (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        self.window.push(x);
        if !self.window.is_clean() {
            return f64::NAN;
        }
        let ring = self.window.ring();
        let mean = ring.iter().sum::<f64>() / self.length;
        let dev = ring.iter().map(|v| (v - mean).abs()).sum::<f64>() / self.length;
        na_div(x - mean, 0.015 * dev)
    }
}

impl_clone_from!(Cci { window, length });

/// `ta.change(source, length)`: `x - x[length]`.
///
/// `na` for the first `length` bars and when either value is `na`. O(1) per bar.
#[derive(Debug)]
pub struct Change {
    history: Ring,
    length: usize,
}

impl Change {
    /// The difference with the value `length >= 1` bars ago.
    pub fn new(length: usize) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        Ok(Change {
            history: Ring::with_capacity(length + 1),
            length,
        })
    }

    /// Feeds one bar's value and returns `x - x[length]` (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        self.history.push(x);
        match self.history.get(self.length) {
            Some(old) => x - old,
            None => f64::NAN,
        }
    }
}

impl_clone_from!(Change { history, length });

/// `ta.mom(source, length)`: momentum, `x - x[length]`; the same operator as
/// [`Change`], under the name the compiler maps `ta.mom` to.
pub type Mom = Change;

/// `ta.roc(source, length)`: rate of change in percent,
/// `100 * (x - x[length]) / x[length]`.
///
/// `na` for the first `length` bars, when either value is `na`, and when `x[length]`
/// is zero (division by zero). O(1) per bar.
#[derive(Debug)]
pub struct Roc {
    history: Ring,
    length: usize,
}

impl Roc {
    /// The rate of change over `length >= 1` bars.
    pub fn new(length: usize) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        Ok(Roc {
            history: Ring::with_capacity(length + 1),
            length,
        })
    }

    /// Feeds one bar's value and returns the rate of change in percent (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        self.history.push(x);
        match self.history.get(self.length) {
            Some(old) => na_div(100.0 * (x - old), old),
            None => f64::NAN,
        }
    }
}

impl_clone_from!(Roc { history, length });

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_series, NA};
    use super::*;

    #[test]
    fn rsi_table() {
        type Case = (&'static str, usize, &'static [f64], &'static [f64]);
        let cases: [Case; 5] = [
            // TC0: length 2: changes +2,-1 -> up=1, down=0.5 -> 100-100/3;
            // then +3: up=0.5*3+0.5*1=2, down=0.25 -> 100-100/9
            (
                "TC0",
                2,
                &[10.0, 12.0, 11.0, 14.0],
                &[NA, NA, 100.0 - 100.0 / 3.0, 100.0 - 100.0 / 9.0],
            ),
            // TC1: only gains -> 100; only losses -> 0
            ("TC1", 2, &[1.0, 2.0, 3.0, 4.0], &[NA, NA, 100.0, 100.0]),
            ("TC2", 2, &[4.0, 3.0, 2.0, 1.0], &[NA, NA, 0.0, 0.0]),
            // TC3: flat: down == 0 is tested first -> 100
            ("TC3", 1, &[5.0, 5.0, 6.0, 4.0], &[NA, 100.0, 100.0, 0.0]),
            // TC4: na source resets both rma seeds
            (
                "TC4",
                1,
                &[1.0, 2.0, NA, 3.0, 4.0, 2.0],
                &[NA, 100.0, NA, NA, 100.0, 0.0],
            ),
        ];
        for (name, len, xs, want) in cases {
            let mut op = Rsi::new(len).expect("valid length");
            check_series(name, xs, want, |x| op.update(x));
        }
        assert!(Rsi::new(0).is_err());
    }

    #[test]
    fn stoch_table() {
        type Case = (
            &'static str,
            usize,
            &'static [(f64, f64, f64)],
            &'static [f64],
        );
        let cases: [Case; 3] = [
            // TC0: length 2: hh=12, ll=8 -> 100*(11-8)/4 = 75
            (
                "TC0",
                2,
                &[(9.0, 10.0, 8.0), (11.0, 12.0, 9.0), (12.0, 12.0, 12.0)],
                &[NA, 75.0, 100.0 * (12.0 - 9.0) / 3.0],
            ),
            // TC1: zero range -> na
            ("TC1", 1, &[(5.0, 5.0, 5.0), (5.0, 6.0, 4.0)], &[NA, 50.0]),
            // TC2: na close
            ("TC2", 1, &[(NA, 6.0, 4.0)], &[NA]),
        ];
        for (name, len, bars, want) in cases {
            let mut op = Stoch::new(len).expect("valid length");
            let idx: Vec<f64> = (0..bars.len()).map(|i| i as f64).collect();
            check_series(name, &idx, want, |i| {
                let (c, h, l) = bars[i as usize];
                op.update(c, h, l)
            });
        }
    }

    #[test]
    fn cci_table() {
        type Case = (&'static str, usize, &'static [f64], &'static [f64]);
        let cases: [Case; 4] = [
            // TC0: [1,2,3]: mean 2, dev 2/3 -> (3-2)/(0.01) = 100
            ("TC0", 3, &[1.0, 2.0, 3.0], &[NA, NA, 100.0]),
            // TC1: [2,3,7]: mean 4, dev (2+1+3)/3 = 2 -> 3/0.03 = 100
            ("TC1", 3, &[1.0, 2.0, 3.0, 7.0], &[NA, NA, 100.0, 100.0]),
            // TC2: flat window (and length 1) -> na
            ("TC2", 1, &[5.0, 6.0], &[NA, NA]),
            // TC3: na in the window
            ("TC3", 2, &[1.0, NA, 2.0, 4.0], &[NA, NA, NA, 1.0 / 0.015]),
        ];
        for (name, len, xs, want) in cases {
            let mut op = Cci::new(len).expect("valid length");
            check_series(name, xs, want, |x| op.update(x));
        }
    }

    #[test]
    fn change_mom_roc_table() {
        type Case = (
            &'static str,
            usize,
            &'static [f64],
            &'static [f64],
            &'static [f64],
        );
        let cases: [Case; 3] = [
            // TC0: length 1
            (
                "TC0",
                1,
                &[2.0, 3.0, 1.5],
                &[NA, 1.0, -1.5],
                &[NA, 50.0, -50.0],
            ),
            // TC1: length 2 with na
            (
                "TC1",
                2,
                &[1.0, NA, 2.0, 4.0, 5.0],
                &[NA, NA, 1.0, NA, 3.0],
                &[NA, NA, 100.0, NA, 150.0],
            ),
            // TC2: roc divides by a zero old value -> na
            ("TC2", 1, &[0.0, 1.0], &[NA, 1.0], &[NA, NA]),
        ];
        for (name, len, xs, diff, roc) in cases {
            let mut ch = Change::new(len).expect("valid length");
            check_series(name, xs, diff, |x| ch.update(x));
            let mut mom = Mom::new(len).expect("valid length");
            check_series(name, xs, diff, |x| mom.update(x));
            let mut r = Roc::new(len).expect("valid length");
            check_series(name, xs, roc, |x| r.update(x));
        }
        assert!(Change::new(0).is_err());
        assert!(Roc::new(0).is_err());
    }
}
