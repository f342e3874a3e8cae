//! Moving averages (`ta.sma`, `ta.ema`, `ta.rma`, `ta.wma`, `ta.vwma`) and
//! `math.sum`, the sliding-window sum they share.

use super::error::{check_len, TaError};
use super::na_div;
use super::window::{Ring, Step, Window};

/// Sum of a [`Window`] kept incrementally and recomputed exactly every `length`
/// slides (and whenever it stops being finite, so one overflow cannot poison it).
#[derive(Debug)]
struct RunningSum {
    window: Window,
    sum: f64,
}

impl RunningSum {
    fn new(length: usize) -> Self {
        RunningSum {
            window: Window::new(length),
            sum: 0.0,
        }
    }

    /// The sum of the last `length` values, `na` unless the window is full and clean.
    #[inline]
    fn update(&mut self, x: f64) -> f64 {
        match self.window.push(x) {
            Step::NotReady => return f64::NAN,
            Step::Recompute => self.recompute(),
            Step::Slide { evicted } => {
                self.sum += x - evicted;
                if !self.sum.is_finite() {
                    self.recompute();
                }
            }
        }
        self.sum
    }

    fn recompute(&mut self) {
        self.sum = self.window.ring().iter().sum();
    }
}

impl_clone_from!(RunningSum { window, sum });

/// `math.sum(source, length)`: the sum of the last `length` values.
///
/// `na` until `length` values have been seen and while any of the last `length` values
/// is `na`. O(1) per bar: a running sum, recomputed exactly from the window every
/// `length` bars so that rounding cannot drift over long runs.
#[derive(Debug)]
pub struct Sum {
    inner: RunningSum,
}

impl Sum {
    /// A sliding sum over `length >= 1` bars.
    pub fn new(length: usize) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        Ok(Sum {
            inner: RunningSum::new(length),
        })
    }

    /// Feeds one bar's value and returns the window's sum (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        self.inner.update(x)
    }
}

impl_clone_from!(Sum { inner });

/// `ta.sma(source, length)`: the arithmetic mean of the last `length` values.
///
/// `na` until `length` values have been seen and while any of them is `na` (the
/// manual's reference sums `x[i] / length` over the window, which is `na` as soon as
/// one term is). O(1) per bar with exact recomputation every `length` bars, as
/// [`Sum`].
#[derive(Debug)]
pub struct Sma {
    inner: RunningSum,
    length: f64,
}

impl Sma {
    /// A simple moving average over `length >= 1` bars.
    pub fn new(length: usize) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        Ok(Sma {
            inner: RunningSum::new(length),
            length: length as f64,
        })
    }

    /// Feeds one bar's value and returns the mean of the window (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        self.inner.update(x) / self.length
    }
}

impl_clone_from!(Sma { inner, length });

/// The recursion shared by ema and rma, exactly as the manual's `pine_rma`:
/// `sum := na(sum[1]) ? ta.sma(src, length) : alpha * src + (1 - alpha) * nz(sum[1])`.
#[derive(Debug)]
struct Smoother {
    alpha: f64,
    seed: Sma,
    value: f64,
}

impl Smoother {
    fn new(length: usize, alpha: f64) -> Result<Self, TaError> {
        Ok(Smoother {
            alpha,
            seed: Sma::new(length)?,
            value: f64::NAN,
        })
    }

    #[inline]
    fn update(&mut self, x: f64) -> f64 {
        // The sma is fed every bar (Pine evaluates `ta.*` calls in both branches of a
        // conditional on every bar), so a re-seed sees the right window.
        let sma = self.seed.update(x);
        self.value = if self.value.is_nan() {
            sma
        } else {
            self.alpha * x + (1.0 - self.alpha) * self.value
        };
        self.value
    }
}

impl_clone_from!(Smoother { alpha, seed, value });

/// `ta.ema(source, length)`: exponential moving average, `alpha = 2 / (length + 1)`.
///
/// Seeded as TradingView's built-in is, with the sma of the first `length` values
/// (`na` before that), then `alpha * x + (1 - alpha) * ema[1]`. An `na` source after
/// the seed makes that bar's value `na` and, as in the manual's reference recursion
/// (`na(sum[1]) ? ta.sma(...) : ...`), the average then re-seeds from the sma of the
/// next `length` clean values. O(1) per bar.
#[derive(Debug)]
pub struct Ema {
    inner: Smoother,
}

impl Ema {
    /// An ema over `length >= 1` bars (length 1 is the source itself).
    pub fn new(length: usize) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        Ok(Ema {
            inner: Smoother::new(length, 2.0 / (length as f64 + 1.0))?,
        })
    }

    /// Feeds one bar's value and returns the ema (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        self.inner.update(x)
    }
}

impl_clone_from!(Ema { inner });

/// `ta.rma(source, length)`: Wilder's moving average, `alpha = 1 / length`, used by
/// rsi, atr and dmi.
///
/// Exactly the manual's reference: seeded with the sma of the first `length` values,
/// `na` before that; `na` handling as [`Ema`]. O(1) per bar.
#[derive(Debug)]
pub struct Rma {
    inner: Smoother,
}

impl Rma {
    /// An rma over `length >= 1` bars.
    pub fn new(length: usize) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        Ok(Rma {
            inner: Smoother::new(length, 1.0 / length as f64)?,
        })
    }

    /// Feeds one bar's value and returns the rma (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        self.inner.update(x)
    }
}

impl_clone_from!(Rma { inner });

/// `ta.wma(source, length)`: weighted moving average, weights `length` for the newest
/// value down to 1 for the oldest, divided by `length * (length + 1) / 2`.
///
/// `na` as [`Sma`]. O(1) per bar: with `S` the plain sum and `N` the weighted sum of
/// the window, a slide is `N += length * x - S; S += x - evicted`; both are recomputed
/// exactly every `length` bars.
#[derive(Debug)]
pub struct Wma {
    window: Window,
    sum: f64,
    weighted: f64,
    length: f64,
    norm: f64,
}

impl Wma {
    /// A wma over `length >= 1` bars.
    pub fn new(length: usize) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        let n = length as f64;
        Ok(Wma {
            window: Window::new(length),
            sum: 0.0,
            weighted: 0.0,
            length: n,
            norm: n * (n + 1.0) / 2.0,
        })
    }

    /// Feeds one bar's value and returns the wma (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        match self.window.push(x) {
            Step::NotReady => return f64::NAN,
            Step::Recompute => self.recompute(),
            Step::Slide { evicted } => {
                self.weighted += self.length * x - self.sum;
                self.sum += x - evicted;
                if !(self.weighted.is_finite() && self.sum.is_finite()) {
                    self.recompute();
                }
            }
        }
        self.weighted / self.norm
    }

    fn recompute(&mut self) {
        let (mut sum, mut weighted) = (0.0, 0.0);
        for (i, v) in self.window.ring().iter().enumerate() {
            sum += v;
            weighted += (i + 1) as f64 * v;
        }
        self.sum = sum;
        self.weighted = weighted;
    }
}

impl_clone_from!(Wma {
    window,
    sum,
    weighted,
    length,
    norm
});

/// `ta.vwma(source, length)`: volume-weighted moving average, the manual's
/// `ta.sma(source * volume, length) / ta.sma(volume, length)`.
///
/// `na` while the window is not full or any `source * volume` in it is `na`, and when
/// the window's volume is zero (division by zero). O(1) per bar, two running sums with
/// exact recomputation every `length` bars.
#[derive(Debug)]
pub struct Vwma {
    price_volume: Window,
    volume: Ring,
    sum_pv: f64,
    sum_v: f64,
}

impl Vwma {
    /// A vwma over `length >= 1` bars.
    pub fn new(length: usize) -> Result<Self, TaError> {
        let length = check_len("length", length, 1)?;
        Ok(Vwma {
            price_volume: Window::new(length),
            volume: Ring::with_capacity(length),
            sum_pv: 0.0,
            sum_v: 0.0,
        })
    }

    /// Feeds one bar's source value and volume and returns the vwma (or `na`).
    #[inline]
    pub fn update(&mut self, x: f64, volume: f64) -> f64 {
        let evicted_v = self.volume.push(volume);
        match self.price_volume.push(x * volume) {
            Step::NotReady => return f64::NAN,
            Step::Recompute => self.recompute(),
            Step::Slide { evicted } => {
                self.sum_pv += x * volume - evicted;
                self.sum_v += volume - evicted_v.unwrap_or(0.0);
                if !(self.sum_pv.is_finite() && self.sum_v.is_finite()) {
                    self.recompute();
                }
            }
        }
        na_div(self.sum_pv, self.sum_v)
    }

    fn recompute(&mut self) {
        self.sum_pv = self.price_volume.ring().iter().sum();
        self.sum_v = self.volume.iter().sum();
    }
}

impl_clone_from!(Vwma {
    price_volume,
    volume,
    sum_pv,
    sum_v
});

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_series, NA};
    use super::*;

    #[test]
    fn sma_table() {
        type Case = (&'static str, usize, &'static [f64], &'static [f64]);
        let cases: [Case; 4] = [
            // TC0: length 3, na until full, then the mean
            (
                "TC0",
                3,
                &[1.0, 2.0, 3.0, 4.0, 8.0],
                &[NA, NA, 2.0, 3.0, 5.0],
            ),
            // TC1: length 1 is the source, na passes through
            ("TC1", 1, &[5.0, NA, 7.0], &[5.0, NA, 7.0]),
            // TC2: an na stays in the window for `length` bars
            (
                "TC2",
                2,
                &[1.0, 3.0, NA, 5.0, 7.0, 9.0],
                &[NA, 2.0, NA, NA, 6.0, 8.0],
            ),
            // TC3: long run crosses several exact recomputations
            (
                "TC3",
                2,
                &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
                &[NA, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5],
            ),
        ];
        for (name, len, xs, want) in cases {
            let mut op = Sma::new(len).expect("valid length");
            check_series(name, xs, want, |x| op.update(x));
        }
    }

    #[test]
    fn sum_table() {
        type Case = (&'static str, usize, &'static [f64], &'static [f64]);
        let cases: [Case; 3] = [
            // TC0: length 3
            ("TC0", 3, &[1.0, 2.0, 3.0, 4.0], &[NA, NA, 6.0, 9.0]),
            // TC1: length 1 with na
            ("TC1", 1, &[1.0, NA, -2.0], &[1.0, NA, -2.0]),
            // TC2: overflow inside the window is inf only while the overflow is there
            (
                "TC2",
                2,
                &[f64::MAX, f64::MAX, 1.0, 2.0],
                &[NA, f64::INFINITY, f64::MAX, 3.0],
            ),
        ];
        for (name, len, xs, want) in cases {
            let mut op = Sum::new(len).expect("valid length");
            check_series(name, xs, want, |x| op.update(x));
        }
    }

    #[test]
    fn ema_rma_seeding() {
        type Case = (&'static str, bool, usize, &'static [f64], &'static [f64]);
        let cases: [Case; 5] = [
            // TC0: ema(3): seed = sma(1,2,3) = 2; alpha 0.5: 0.5*6 + 0.5*2 = 4; 0.5*0+0.5*4 = 2
            (
                "TC0",
                true,
                3,
                &[1.0, 2.0, 3.0, 6.0, 0.0],
                &[NA, NA, 2.0, 4.0, 2.0],
            ),
            // TC1: rma(2): seed = 1.5; alpha 0.5: 0.5*4 + 0.5*1.5 = 2.75
            ("TC1", false, 2, &[1.0, 2.0, 4.0], &[NA, 1.5, 2.75]),
            // TC2: length 1 is the source (alpha 1)
            ("TC2", true, 1, &[3.0, 4.0, NA, 5.0], &[3.0, 4.0, NA, 5.0]),
            // TC3: na after the seed gives na, then re-seeds from the next clean sma(2)
            (
                "TC3",
                false,
                2,
                &[2.0, 4.0, NA, 6.0, 8.0, 10.0],
                &[NA, 3.0, NA, NA, 7.0, 8.5],
            ),
            // TC4: leading na delays the seed until `length` clean values
            (
                "TC4",
                true,
                2,
                &[NA, 1.0, 3.0, 6.0],
                &[NA, NA, 2.0, 2.0 / 3.0 * 6.0 + 1.0 / 3.0 * 2.0],
            ),
        ];
        for (name, is_ema, len, xs, want) in cases {
            if is_ema {
                let mut op = Ema::new(len).expect("valid length");
                check_series(name, xs, want, |x| op.update(x));
            } else {
                let mut op = Rma::new(len).expect("valid length");
                check_series(name, xs, want, |x| op.update(x));
            }
        }
    }

    #[test]
    fn wma_table() {
        type Case = (&'static str, usize, &'static [f64], &'static [f64]);
        let cases: [Case; 3] = [
            // TC0: length 3: (1*1 + 2*2 + 3*3)/6 = 14/6; (2 + 6 + 12)/6 = 20/6; (3+8+30)/6
            (
                "TC0",
                3,
                &[1.0, 2.0, 3.0, 4.0, 10.0],
                &[NA, NA, 14.0 / 6.0, 20.0 / 6.0, 41.0 / 6.0],
            ),
            // TC1: length 1 is the source
            ("TC1", 1, &[2.0, NA, 4.0], &[2.0, NA, 4.0]),
            // TC2: na in the window
            (
                "TC2",
                2,
                &[1.0, 2.0, NA, 4.0, 5.0, 6.0],
                &[NA, 5.0 / 3.0, NA, NA, 14.0 / 3.0, 17.0 / 3.0],
            ),
        ];
        for (name, len, xs, want) in cases {
            let mut op = Wma::new(len).expect("valid length");
            check_series(name, xs, want, |x| op.update(x));
        }
    }

    #[test]
    fn vwma_table() {
        type Case = (&'static str, usize, &'static [(f64, f64)], &'static [f64]);
        let cases: [Case; 4] = [
            // TC0: (1*1 + 2*3)/4 = 1.75; (2*3 + 4*1)/4 = 2.5
            (
                "TC0",
                2,
                &[(1.0, 1.0), (2.0, 3.0), (4.0, 1.0)],
                &[NA, 1.75, 2.5],
            ),
            // TC1: zero volume in the window is na (division by zero)
            (
                "TC1",
                2,
                &[(1.0, 0.0), (2.0, 0.0), (3.0, 2.0)],
                &[NA, NA, 3.0],
            ),
            // TC2: na source or na volume
            (
                "TC2",
                1,
                &[(NA, 1.0), (1.0, NA), (5.0, 2.0)],
                &[NA, NA, 5.0],
            ),
            // TC3: na volume leaves the window after `length` bars
            (
                "TC3",
                2,
                &[(1.0, NA), (2.0, 1.0), (4.0, 1.0), (6.0, 2.0)],
                &[NA, NA, 3.0, 16.0 / 3.0],
            ),
        ];
        for (name, len, bars, want) in cases {
            let mut op = Vwma::new(len).expect("valid length");
            let xs: Vec<f64> = (0..bars.len()).map(|i| i as f64).collect();
            check_series(name, &xs, want, |i| {
                let (x, v) = bars[i as usize];
                op.update(x, v)
            });
        }
    }

    #[test]
    fn lengths_are_validated() {
        // TC0..TC5: length 0 is refused by each, naming the parameter
        let errs = [
            Sma::new(0).err(),
            Sum::new(0).err(),
            Ema::new(0).err(),
            Rma::new(0).err(),
            Wma::new(0).err(),
            Vwma::new(0).err(),
        ];
        for (i, e) in errs.iter().enumerate() {
            let msg = e.map(|e| e.to_string());
            assert_eq!(
                msg.as_deref(),
                Some("length must be at least 1, got 0"),
                "TC{i}"
            );
        }
        // TC6: too large
        assert!(Sma::new(super::super::MAX_LENGTH + 1).is_err());
    }

    #[test]
    fn running_sums_do_not_drift() {
        // TC0: 200k bars of values with awkward binary fractions; the running mean must
        // stay within a few ulps of the exact window mean thanks to periodic recompute.
        let len = 50;
        let mut sma = Sma::new(len).expect("valid length");
        let mut wma = Wma::new(len).expect("valid length");
        let xs: Vec<f64> = (0..200_000u32)
            .map(|i| 30_000.0 + ((i * 7919) % 1000) as f64 * 0.1 + 1e-3 / 3.0)
            .collect();
        let (mut s, mut w) = (f64::NAN, f64::NAN);
        for &x in &xs {
            s = sma.update(x);
            w = wma.update(x);
        }
        let tail = &xs[xs.len() - len..];
        let want_s: f64 = tail.iter().sum::<f64>() / len as f64;
        let want_w: f64 = tail
            .iter()
            .enumerate()
            .map(|(i, v)| (i + 1) as f64 * v)
            .sum::<f64>()
            / (len * (len + 1) / 2) as f64;
        assert!((s - want_s).abs() <= 1e-9 * want_s, "sma {s} vs {want_s}");
        assert!((w - want_w).abs() <= 1e-9 * want_w, "wma {w} vs {want_w}");
    }
}
