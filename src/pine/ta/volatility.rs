//! Volatility: `ta.tr`, `ta.atr`, `ta.stdev`, `ta.bb`.

use super::error::{check_finite, check_len, TaError};
use super::ma::Rma;
use super::na_max;
use super::window::{Step, Window};

/// `ta.tr(handle_na)`: true range,
/// `max(high - low, |high - close[1]|, |low - close[1]|)`.
///
/// When the previous close is `na` (always on the first bar), the result is
/// `high - low` if `handle_na` is true and `na` otherwise, as the manual says; the
/// variable `ta.tr` is `ta.tr(false)`. Any `na` among the current bar's values gives
/// `na` (Pine's `math.max` propagates `na`). O(1) per bar.
#[derive(Debug)]
pub struct Tr {
    handle_na: bool,
    prev_close: f64,
}

impl Tr {
    /// A true-range operator; it has no parameter that can be wrong.
    pub fn new(handle_na: bool) -> Self {
        Tr {
            handle_na,
            prev_close: f64::NAN,
        }
    }

    /// Feeds one bar and returns its true range (or `na`).
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> f64 {
        let prev = self.prev_close;
        self.prev_close = close;
        if prev.is_nan() {
            return if self.handle_na { high - low } else { f64::NAN };
        }
        na_max(na_max(high - low, (high - prev).abs()), (low - prev).abs())
    }
}

impl_clone_from!(Tr {
    handle_na,
    prev_close
});

/// `ta.atr(length)`: average true range, `rma(tr(true), length)` as the manual's
/// reference. The first value is on bar `length - 1`. O(1) per bar.
#[derive(Debug)]
pub struct Atr {
    tr: Tr,
    rma: Rma,
}

impl Atr {
    /// An atr over `length >= 1` bars.
    pub fn new(length: usize) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        Ok(Atr {
            tr: Tr::new(true),
            rma: Rma::new(length)?,
        })
    }

    /// Feeds one bar and returns the atr (or `na`).
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> f64 {
        self.rma.update(self.tr.update(high, low, close))
    }
}

impl_clone_from!(Atr { tr, rma });

/// Mean and sum of squared deviations of a window, slid with Welford's update and
/// recomputed exactly (two passes) every `length` bars and whenever they stop being
/// finite. Welford's form keeps the deviations small, which avoids the cancellation of
/// a naive sum of squares on prices far from zero.
#[derive(Debug)]
struct Moments {
    window: Window,
    length: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn new(length: usize) -> Self {
        Moments {
            window: Window::new(length),
            length: length as f64,
            mean: 0.0,
            m2: 0.0,
        }
    }

    /// Returns false while the window is not full and clean.
    #[inline]
    fn update(&mut self, x: f64) -> bool {
        match self.window.push(x) {
            Step::NotReady => return false,
            Step::Recompute => self.recompute(),
            Step::Slide { evicted } => {
                let d = x - evicted;
                let mean = self.mean + d / self.length;
                self.m2 += d * ((x - mean) + (evicted - self.mean));
                self.mean = mean;
                if !(self.m2.is_finite() && self.mean.is_finite()) {
                    self.recompute();
                } else if self.m2 < 0.0 {
                    self.m2 = 0.0;
                }
            }
        }
        true
    }

    fn recompute(&mut self) {
        let ring = self.window.ring();
        let mean = ring.iter().sum::<f64>() / self.length;
        self.m2 = ring.iter().map(|v| (v - mean) * (v - mean)).sum();
        self.mean = mean;
    }
}

impl_clone_from!(Moments {
    window,
    length,
    mean,
    m2
});

/// `ta.stdev(source, length, biased)`: standard deviation of the last `length` values.
///
/// `biased = true` (Pine's default, and what `ta.bb` uses) is the population standard
/// deviation, `sqrt(sum((x - mean)^2) / length)`; `biased = false` divides by
/// `length - 1` (so length 1 is `na`). `na` while the window is not full or holds an
/// `na`. O(1) per bar, exact recomputation every `length` bars. The manual's reference
/// also rounds deviations below 1e-10 to zero; that is not reproduced (it moves the
/// result by less than 1e-10).
#[derive(Debug)]
pub struct Stdev {
    moments: Moments,
    divisor: f64,
}

impl Stdev {
    /// A standard deviation over `length >= 1` bars.
    pub fn new(length: usize, biased: bool) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        let n = length as f64;
        Ok(Stdev {
            moments: Moments::new(length),
            divisor: if biased { n } else { n - 1.0 },
        })
    }

    /// Feeds one bar's value and returns the standard deviation (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        if !self.moments.update(x) || self.divisor == 0.0 {
            return f64::NAN;
        }
        (self.moments.m2 / self.divisor).sqrt()
    }
}

impl_clone_from!(Stdev { moments, divisor });

/// `ta.bb(series, length, mult)`: Bollinger Bands, returned as `(basis, upper, lower)`
/// with `basis = sma(x, length)` and `upper/lower = basis ± mult * stdev(x, length)`
/// (population stdev, as the manual).
///
/// All three `na` while the window is not full or holds an `na`. O(1) per bar.
#[derive(Debug)]
pub struct Bb {
    moments: Moments,
    mult: f64,
}

impl Bb {
    /// Bands over `length >= 1` bars, `mult` standard deviations wide (any finite value).
    pub fn new(length: usize, mult: f64) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        let mult = check_finite("mult", mult)?;
        Ok(Bb {
            moments: Moments::new(length),
            mult,
        })
    }

    /// Feeds one bar's value and returns `(basis, upper, lower)`.
    #[inline]
    pub fn update(&mut self, x: f64) -> (f64, f64, f64) {
        if !self.moments.update(x) {
            return (f64::NAN, f64::NAN, f64::NAN);
        }
        let basis = self.moments.mean;
        let dev = self.mult * (self.moments.m2 / self.moments.length).sqrt();
        (basis, basis + dev, basis - dev)
    }
}

impl_clone_from!(Bb { moments, mult });

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_series, same, NA};
    use super::*;

    #[test]
    fn tr_atr_table() {
        type Bars = &'static [(f64, f64, f64)];
        let bars: Bars = &[
            (10.0, 8.0, 9.0),   // tr(true) 2, tr(false) na
            (12.0, 11.0, 11.5), // max(1, |12-9|, |11-9|) = 3
            (11.0, 10.0, 10.5), // max(1, 0.5, 1.5) = 1.5
            (NA, 10.0, 10.0),   // na high -> na
            (11.0, 10.0, 10.0), // max(1, 1, 0) = 1
        ];
        let idx: Vec<f64> = (0..bars.len()).map(|i| i as f64).collect();
        // TC0: tr(true)
        let mut t = Tr::new(true);
        check_series("TC0", &idx, &[2.0, 3.0, 1.5, NA, 1.0], |i| {
            let (h, l, c) = bars[i as usize];
            t.update(h, l, c)
        });
        // TC1: tr(false)
        let mut t = Tr::new(false);
        check_series("TC1", &idx, &[NA, 3.0, 1.5, NA, 1.0], |i| {
            let (h, l, c) = bars[i as usize];
            t.update(h, l, c)
        });
        // TC2: atr(2) = rma(tr(true), 2): seed (2+3)/2, then 0.5*1.5 + 0.5*2.5 = 2,
        // then na (na high), then re-seeds only after two clean trs.
        let mut a = Atr::new(2).expect("valid length");
        check_series("TC2", &idx, &[NA, 2.5, 2.0, NA, NA], |i| {
            let (h, l, c) = bars[i as usize];
            a.update(h, l, c)
        });
        // TC3: atr(1) is tr(true)
        let mut a = Atr::new(1).expect("valid length");
        check_series("TC3", &idx, &[2.0, 3.0, 1.5, NA, 1.0], |i| {
            let (h, l, c) = bars[i as usize];
            a.update(h, l, c)
        });
        // TC4: previous close na with handle_na falls back to high - low
        let mut t = Tr::new(true);
        check_series("TC4", &[0.0, 1.0], &[NA, 2.0], |i| {
            if i == 0.0 {
                t.update(NA, 1.0, NA)
            } else {
                t.update(3.0, 1.0, 2.0)
            }
        });
    }

    #[test]
    fn stdev_table() {
        type Case = (&'static str, usize, bool, &'static [f64], &'static [f64]);
        let cases: [Case; 5] = [
            // TC0: population stdev of [2,4,4,4,5,5,7,9] is 2
            (
                "TC0",
                8,
                true,
                &[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0],
                &[NA, NA, NA, NA, NA, NA, NA, 2.0],
            ),
            // TC1: length 2 slides: [1,3] -> 1, [3,3] -> 0, [3,7] -> 2, [7,NA] -> na
            (
                "TC1",
                2,
                true,
                &[1.0, 3.0, 3.0, 7.0, NA, 1.0, 2.0],
                &[NA, 1.0, 0.0, 2.0, NA, NA, 0.5],
            ),
            // TC2: length 1 is 0 (biased)
            ("TC2", 1, true, &[5.0, NA, 6.0], &[0.0, NA, 0.0]),
            // TC3: unbiased length 1 is na (n - 1 = 0)
            ("TC3", 1, false, &[5.0, 6.0], &[NA, NA]),
            // TC4: unbiased [1,3]: sqrt(2 / 1)
            (
                "TC4",
                2,
                false,
                &[1.0, 3.0],
                &[NA, std::f64::consts::SQRT_2],
            ),
        ];
        for (name, len, biased, xs, want) in cases {
            let mut op = Stdev::new(len, biased).expect("valid length");
            check_series(name, xs, want, |x| op.update(x));
        }
    }

    #[test]
    fn bb_table() {
        // TC0: length 2, mult 2: [1,3] -> basis 2, stdev 1 -> (2, 4, 0)
        let mut op = Bb::new(2, 2.0).expect("valid params");
        let (b, u, l) = op.update(1.0);
        assert!(b.is_nan() && u.is_nan() && l.is_nan(), "TC0 warm-up");
        let got = op.update(3.0);
        assert_eq!(got, (2.0, 4.0, 0.0), "TC0");
        // TC1: mult must be finite
        assert_eq!(
            Bb::new(20, f64::NAN)
                .err()
                .map(|e| e.to_string())
                .as_deref(),
            Some("mult must be a finite number, got NaN")
        );
        // TC2: length 0
        assert!(Bb::new(0, 2.0).is_err());
    }

    #[test]
    fn stdev_stays_exact_on_prices() {
        // TC0: prices around 30000 over 100k bars: sliding Welford plus periodic
        // recompute stays within 1e-9 relative of the two-pass definition.
        let len = 20;
        let xs: Vec<f64> = (0..100_000u32)
            .map(|i| 30_000.0 + ((i * 7919) % 613) as f64 * 0.37)
            .collect();
        let mut op = Stdev::new(len, true).expect("valid length");
        for (t, &x) in xs.iter().enumerate() {
            let got = op.update(x);
            if t % 997 == 0 && t + 1 >= len {
                let w = &xs[t + 1 - len..=t];
                let mean = w.iter().sum::<f64>() / len as f64;
                let var = w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / len as f64;
                let want = var.sqrt();
                assert!(
                    same(got, want) || (got - want).abs() <= 1e-9 * want,
                    "bar {t}: {got} vs {want}"
                );
            }
        }
    }
}
