//! Trend: `ta.macd`, `ta.supertrend`, `ta.dmi`.

use super::error::{check_finite, check_len, TaError};
use super::ma::{Ema, Rma};
use super::volatility::{Atr, Tr};
use super::{na_div, nz};

/// `ta.macd(source, fastlen, slowlen, siglen)`: returned as `(macd, signal, hist)` with
/// `macd = ema(x, fastlen) - ema(x, slowlen)`, `signal = ema(macd, siglen)`,
/// `hist = macd - signal`.
///
/// The signal ema skips the warm-up like any ema: it is seeded with the sma of the
/// first `siglen` non-`na` macd values. Fast longer than slow is accepted (TradingView
/// accepts it too; the sign flips). O(1) per bar.
#[derive(Debug)]
pub struct Macd {
    fast: Ema,
    slow: Ema,
    signal: Ema,
}

impl Macd {
    /// A macd with the three lengths, each at least 1.
    pub fn new(fastlen: usize, slowlen: usize, siglen: usize) -> Result<Self, TaError> {
        let fastlen = check_len("fastlen", fastlen, 1)?;
        let slowlen = check_len("slowlen", slowlen, 1)?;
        let siglen = check_len("siglen", siglen, 1)?;
        Ok(Macd {
            fast: Ema::new(fastlen)?,
            slow: Ema::new(slowlen)?,
            signal: Ema::new(siglen)?,
        })
    }

    /// Feeds one bar's value and returns `(macd, signal, hist)`.
    #[inline]
    pub fn update(&mut self, x: f64) -> (f64, f64, f64) {
        let macd = self.fast.update(x) - self.slow.update(x);
        let signal = self.signal.update(macd);
        (macd, signal, macd - signal)
    }
}

impl_clone_from!(Macd { fast, slow, signal });

/// `ta.supertrend(factor, atrPeriod)`: returned as `(value, direction)`, direction -1
/// for an uptrend (the line is the lower band, under price) and +1 for a downtrend, as
/// TradingView.
///
/// Follows the manual's reference code line by line: bands `hl2 ± factor * atr`, the
/// lower band only rises and the upper band only falls unless the previous close broke
/// through them (`nz` of the previous band, so the first band after warm-up is taken
/// as is), direction 1 on the first bar with an atr, then flipping when the close
/// crosses the active band. One choice where the reference is an artefact: on bars
/// where the atr itself is `na` (the first `atrPeriod - 1` bars) the reference would
/// output a band of 0 or `na` with direction 1; this operator returns `(na, na)`
/// there, as TradingView's built-in plots nothing before the atr exists. The internal
/// state still follows the reference, so every later bar is identical. With
/// `atrPeriod = 1` the atr exists on the very first bar, where the reference keeps the
/// upper band at `nz(upperBand[1]) = 0` (the previous close is `na`): the value is 0
/// on that one bar, reproduced as is. O(1) per bar.
#[derive(Debug)]
pub struct Supertrend {
    factor: f64,
    atr: Atr,
    prev_close: f64,
    prev_lower: f64,
    prev_upper: f64,
    prev_atr: f64,
    prev_value: f64,
}

impl Supertrend {
    /// A supertrend with a finite `factor` and `atr_period >= 1`.
    pub fn new(factor: f64, atr_period: usize) -> Result<Self, TaError> {
        let factor = check_finite("factor", factor)?;
        let atr_period = check_len("atrPeriod", atr_period, 1)?;
        Ok(Supertrend {
            factor,
            atr: Atr::new(atr_period)?,
            prev_close: f64::NAN,
            prev_lower: f64::NAN,
            prev_upper: f64::NAN,
            prev_atr: f64::NAN,
            prev_value: f64::NAN,
        })
    }

    /// Feeds one bar and returns `(value, direction)`; both `na` during the atr warm-up.
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> (f64, f64) {
        let atr = self.atr.update(high, low, close);
        let src = (high + low) / 2.0;
        let mut upper = src + self.factor * atr;
        let mut lower = src - self.factor * atr;
        let prev_lower = nz(self.prev_lower);
        let prev_upper = nz(self.prev_upper);
        // Comparisons with na are false, as in Pine.
        if !(lower > prev_lower || self.prev_close < prev_lower) {
            lower = prev_lower;
        }
        if !(upper < prev_upper || self.prev_close > prev_upper) {
            upper = prev_upper;
        }
        let direction = if self.prev_atr.is_nan() {
            1.0
        } else if self.prev_value == prev_upper {
            if close > upper {
                -1.0
            } else {
                1.0
            }
        } else if close < lower {
            1.0
        } else {
            -1.0
        };
        let value = if direction == -1.0 { lower } else { upper };
        self.prev_close = close;
        self.prev_lower = lower;
        self.prev_upper = upper;
        self.prev_atr = atr;
        self.prev_value = value;
        if atr.is_nan() {
            (f64::NAN, f64::NAN)
        } else {
            (value, direction)
        }
    }
}

impl_clone_from!(Supertrend {
    factor,
    atr,
    prev_close,
    prev_lower,
    prev_upper,
    prev_atr,
    prev_value
});

/// `ta.dmi(diLength, adxSmoothing)`: returned as `(plus, minus, adx)`.
///
/// The manual's reference code: `up = change(high)`, `down = -change(low)`,
/// `plusDM = up > down and up > 0 ? up : 0` (`na` when `up` is), likewise `minusDM`;
/// `trur = rma(ta.tr, diLength)` where `ta.tr` is `tr(false)`;
/// `plus = fixnan(100 * rma(plusDM, diLength) / trur)` (and `minus`), so a zero `trur`
/// (division by zero, `na`) holds the previous value;
/// `adx = 100 * rma(|plus - minus| / (sum == 0 ? 1 : sum), adxSmoothing)`. The first
/// plus/minus is on bar `diLength`, the first adx on bar
/// `diLength + adxSmoothing - 1`. O(1) per bar.
#[derive(Debug)]
pub struct Dmi {
    prev_high: f64,
    prev_low: f64,
    tr: Tr,
    trur: Rma,
    plus_rma: Rma,
    minus_rma: Rma,
    plus: f64,
    minus: f64,
    adx: Rma,
}

impl Dmi {
    /// A dmi with `di_length >= 1` and `adx_smoothing >= 1`.
    pub fn new(di_length: usize, adx_smoothing: usize) -> Result<Self, TaError> {
        let di_length = check_len("diLength", di_length, 1)?;
        let adx_smoothing = check_len("adxSmoothing", adx_smoothing, 1)?;
        Ok(Dmi {
            prev_high: f64::NAN,
            prev_low: f64::NAN,
            tr: Tr::new(false),
            trur: Rma::new(di_length)?,
            plus_rma: Rma::new(di_length)?,
            minus_rma: Rma::new(di_length)?,
            plus: f64::NAN,
            minus: f64::NAN,
            adx: Rma::new(adx_smoothing)?,
        })
    }

    /// Feeds one bar and returns `(plus, minus, adx)`.
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> (f64, f64, f64) {
        let up = high - self.prev_high;
        let down = -(low - self.prev_low);
        self.prev_high = high;
        self.prev_low = low;
        let plus_dm = if up.is_nan() {
            f64::NAN
        } else if up > down && up > 0.0 {
            up
        } else {
            0.0
        };
        let minus_dm = if down.is_nan() {
            f64::NAN
        } else if down > up && down > 0.0 {
            down
        } else {
            0.0
        };
        let trur = self.trur.update(self.tr.update(high, low, close));
        let plus = na_div(100.0 * self.plus_rma.update(plus_dm), trur);
        let minus = na_div(100.0 * self.minus_rma.update(minus_dm), trur);
        if !plus.is_nan() {
            self.plus = plus;
        }
        if !minus.is_nan() {
            self.minus = minus;
        }
        let sum = self.plus + self.minus;
        let ratio = (self.plus - self.minus).abs() / if sum == 0.0 { 1.0 } else { sum };
        let adx = 100.0 * self.adx.update(ratio);
        (self.plus, self.minus, adx)
    }
}

impl_clone_from!(Dmi {
    prev_high,
    prev_low,
    tr,
    trur,
    plus_rma,
    minus_rma,
    plus,
    minus,
    adx
});

#[cfg(test)]
mod tests {
    use super::super::testutil::{same, NA};
    use super::*;

    fn same3(got: (f64, f64, f64), want: (f64, f64, f64)) -> bool {
        same(got.0, want.0) && same(got.1, want.1) && same(got.2, want.2)
    }

    #[test]
    fn macd_table() {
        // fast 1 (the source), slow 2, signal 1.
        let cases: [(f64, (f64, f64, f64)); 4] = [
            // TC0: slow ema not seeded
            (1.0, (NA, NA, NA)),
            // TC1: slow seed = 2 -> macd 1; signal(1) = 1; hist 0
            (3.0, (1.0, 1.0, 0.0)),
            // TC2: slow = 2/3*6 + 1/3*2 = 14/3 -> macd 4/3
            (6.0, (4.0 / 3.0, 4.0 / 3.0, 0.0)),
            // TC3: na source
            (NA, (NA, NA, NA)),
        ];
        let mut op = Macd::new(1, 2, 1).expect("valid lengths");
        for (i, (x, want)) in cases.iter().enumerate() {
            let got = op.update(*x);
            assert!(same3(got, *want), "TC{i}: {got:?} vs {want:?}");
        }
        // TC4: signal over 2 macd values: 0.5*(1 + 4/3) at the second
        let mut op = Macd::new(1, 2, 2).expect("valid lengths");
        op.update(1.0);
        let (_, s, _) = op.update(3.0);
        assert!(s.is_nan(), "TC4 warm-up");
        let (m, s, h) = op.update(6.0);
        assert!(
            same3((m, s, h), (4.0 / 3.0, 7.0 / 6.0, 4.0 / 3.0 - 7.0 / 6.0)),
            "TC4"
        );
        // TC5: validation names the parameter
        assert_eq!(
            Macd::new(12, 0, 9).err().map(|e| e.to_string()).as_deref(),
            Some("slowlen must be at least 1, got 0")
        );
    }

    #[test]
    fn supertrend_table() {
        // factor 1, atr period 1 (atr = tr(true)).
        type Case = ((f64, f64, f64), (f64, f64));
        let cases: [Case; 7] = [
            // TC0: first bar, literally as the reference: upper 12 is not < nz(na) = 0 and
            // close[1] is na, so upper := 0; direction 1 -> value 0 (see the doc comment)
            ((11.0, 9.0, 10.0), (0.0, 1.0)),
            // TC1: tr = max(2, 3, 1) = 3, hl2 12: upper 15 (prev close 10 > 0: take),
            // lower 9 (> 8: take); prev value 0 == prev upper 0, close 12.5 > 15? no -> 1
            ((13.0, 11.0, 12.5), (15.0, 1.0)),
            // TC2: tr = max(1, 0.5, 1.5) = 1.5, hl2 11.5: upper 13 (< 15: take), lower 10;
            // prev value 15 == prev upper, close 11 > 13? no -> 1
            ((12.0, 11.0, 11.0), (13.0, 1.0)),
            // TC3: tr = max(2, 3, 5) = 5, hl2 7: lower 2 is not > 10 and prev close 11 is
            // not < 10: keep 10; upper 12 (< 13: take); close 6 > 12? no -> 1
            ((8.0, 6.0, 6.0), (12.0, 1.0)),
            // TC4: jump: tr 14, hl2 19: lower 5 (prev close 6 < 10: take), upper 33 kept
            // at 12; prev value 12 == prev upper, close 19.5 > 12 -> -1, value = lower 5
            ((20.0, 18.0, 19.5), (5.0, -1.0)),
            // TC5: tr 1.5, hl2 20.5: lower 19 (> 5), upper 22 (prev close 19.5 > 12: take);
            // prev value 5 != prev upper 12, close 20.5 < 19? no -> -1, value 19
            ((21.0, 20.0, 20.5), (19.0, -1.0)),
            // TC6: na bar: atr na -> (na, na)
            ((NA, NA, NA), (NA, NA)),
        ];
        let mut op = Supertrend::new(1.0, 1).expect("valid params");
        for (i, ((h, l, c), (v, d))) in cases.iter().enumerate() {
            let (gv, gd) = op.update(*h, *l, *c);
            assert!(same(gv, *v) && same(gd, *d), "TC{i}: ({gv}, {gd})");
        }
        // TC5: warm-up bars are (na, na) with period 3
        let mut op = Supertrend::new(3.0, 3).expect("valid params");
        for _ in 0..2 {
            let (v, d) = op.update(11.0, 9.0, 10.0);
            assert!(v.is_nan() && d.is_nan(), "TC5");
        }
        let (v, d) = op.update(11.0, 9.0, 10.0);
        assert_eq!((v, d), (16.0, 1.0), "TC5 first value: hl2 10 + 3 * atr 2");
        // TC6: validation
        assert!(Supertrend::new(f64::INFINITY, 10).is_err());
        assert!(Supertrend::new(3.0, 0).is_err());
    }

    #[test]
    fn dmi_table() {
        // di length 1, adx smoothing 1.
        type Case = ((f64, f64, f64), (f64, f64, f64));
        let cases: [Case; 4] = [
            // TC0: first bar: no change, tr(false) na
            ((10.0, 8.0, 9.0), (NA, NA, NA)),
            // TC1: up 2, down -1 -> +DM 2, -DM 0; tr max(3, 3, 2) = 3 -> plus 66.67,
            // minus 0, adx 100
            ((12.0, 9.0, 11.0), (200.0 / 3.0, 0.0, 100.0)),
            // TC2: up -1, down 2 -> -DM 2; tr max(4, 0, 4) = 4 -> minus 50, plus 0
            ((11.0, 7.0, 8.0), (0.0, 50.0, 100.0)),
            // TC3: flat bar equal to the close: tr 0 -> division by zero, fixnan holds
            ((8.0, 8.0, 8.0), (0.0, 50.0, 100.0)),
        ];
        let mut op = Dmi::new(1, 1).expect("valid params");
        for (i, ((h, l, c), want)) in cases.iter().enumerate() {
            let got = op.update(*h, *l, *c);
            assert!(same3(got, *want), "TC{i}: {got:?} vs {want:?}");
        }
        // TC4: equal plus and minus (both 0) give a ratio of 0 (sum == 0 -> divide by 1)
        let mut op = Dmi::new(1, 1).expect("valid params");
        op.update(10.0, 8.0, 9.0);
        let got = op.update(10.0, 8.0, 9.0);
        assert!(same3(got, (0.0, 0.0, 0.0)), "TC4: {got:?}");
        assert!(Dmi::new(14, 0).is_err());
    }
}
