//! Inference of a symbol's price increment (Pine's `syminfo.mintick`) from the data.
//!
//! Kline files do not carry the exchange's `tickSize`, so it is inferred: the tick is
//! the coarsest power of ten that every open, high, low and close of the first
//! [`MINTICK_BARS`] bars is a multiple of, between `1` and `1e-8` (Binance prints
//! prices with 8 decimals, so nothing finer exists; prices that are all integers give
//! `1`, never `10`). The inferred value can be finer than the real `tickSize` when the
//! sample happens to miss the last digit (about one chance in ten per bar and price for
//! a uniformly random last digit, so with 4000 prices the risk is negligible), and it
//! is never coarser.
//!
//! * Text formats (CSV, JSON) count the decimals of the number as written, trailing
//!   zeros dropped and exponents applied (`28400.07000000` -> 2, `1.5e-05` -> 6), so no
//!   float rounding is involved.
//! * Feather stores `f64`s, so a price `p` is a multiple of `10^-d` when `p * 10^d` is
//!   within `8 * f64::EPSILON * max(|p * 10^d|, 1)` of an integer: a few ulps, far below
//!   the next decimal, and enough to absorb the rounding of the decimal-to-binary
//!   conversion and of the multiplication.

use crate::pine::Bar;

/// How many leading bars the inference looks at.
pub const MINTICK_BARS: usize = 1000;

/// The finest tick: Binance's 8 decimals.
pub const MAX_DECIMALS: u32 = 8;

/// `10^-d` for `d` in `0..=8`, as the nearest f64 (written as literals so that `0.01`
/// is exactly the `0.01` a user would type).
const TICKS: [f64; 9] = [1.0, 0.1, 0.01, 0.001, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8];

/// `10^d` for `d` in `0..=8`, exact in f64.
const SCALES: [f64; 9] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];

/// Running maximum of decimals seen in price texts.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DecimalTicks {
    max_decimals: u32,
}

impl DecimalTicks {
    /// Notes one price as written. `text` must be a number lexical-core accepted.
    #[inline]
    pub(crate) fn observe(&mut self, text: &[u8]) {
        if self.max_decimals < MAX_DECIMALS {
            self.max_decimals = self.max_decimals.max(decimals_of(text));
        }
    }

    /// The inferred tick.
    pub(crate) fn mintick(self) -> f64 {
        TICKS[self.max_decimals.min(MAX_DECIMALS) as usize]
    }
}

/// Decimals needed to write `text` exactly, capped at [`MAX_DECIMALS`]: fraction digits
/// without trailing zeros, minus the exponent.
pub(crate) fn decimals_of(text: &[u8]) -> u32 {
    let (mantissa, exp) = match text.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => (
            &text[..i],
            lexical_core::parse::<i64>(&text[i + 1..]).unwrap_or(0),
        ),
        None => (text, 0),
    };
    let frac = match mantissa.iter().position(|&b| b == b'.') {
        Some(i) => &mantissa[i + 1..],
        None => &[][..],
    };
    let significant = frac.len() - frac.iter().rev().take_while(|&&b| b == b'0').count();
    let decimals = (significant as i64).saturating_sub(exp);
    decimals.clamp(0, i64::from(MAX_DECIMALS)) as u32
}

/// The tick inferred from the f64 prices of the first [`MINTICK_BARS`] bars (feather).
pub(crate) fn mintick_from_values(bars: &[Bar]) -> f64 {
    let sample = &bars[..bars.len().min(MINTICK_BARS)];
    let decimals = (0..=MAX_DECIMALS as usize)
        .find(|&d| {
            sample.iter().all(|b| {
                [b.open, b.high, b.low, b.close]
                    .iter()
                    .all(|&p| is_multiple(p, SCALES[d]))
            })
        })
        .unwrap_or(MAX_DECIMALS as usize);
    TICKS[decimals]
}

fn is_multiple(price: f64, scale: f64) -> bool {
    let x = price * scale;
    (x - x.round()).abs() <= 8.0 * f64::EPSILON * x.abs().max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_from_text() {
        let cases: &[(&str, u32)] = &[
            // TC0: Binance 8-decimal text with trailing zeros.
            ("28400.07000000", 2),
            // TC1: Python float repr of a round number.
            ("28280.0", 0),
            // TC2: integer.
            ("28280", 0),
            // TC3: exponent form as Python prints small floats.
            ("1.5e-05", 6),
            // TC4: exponent without fraction.
            ("5e-3", 3),
            // TC5: float noise capped at 8.
            ("0.30000000000000004", 8),
            // TC6: positive exponent removes decimals.
            ("1.25E2", 0),
            // TC7: satoshi.
            ("0.00000001", 8),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            assert_eq!(decimals_of(text.as_bytes()), *want, "TC{i}");
        }
    }

    #[test]
    fn ticks() {
        let bar = |p: f64| Bar {
            time_ms: 0,
            open: p,
            high: p,
            low: p,
            close: p,
            volume: 0.0,
        };
        let cases: &[(&[f64], f64)] = &[
            // TC0: cents.
            (&[28400.07, 28280.0, 28326.0], 0.01),
            // TC1: integers give 1.
            (&[28000.0, 28010.0], 1.0),
            // TC2: small-priced coin.
            (&[0.00001234, 0.0000125], 1e-8),
            // TC3: 4 decimals.
            (&[1.2345, 1.2], 1e-4),
            // TC4: finer than 8 decimals caps at 1e-8.
            (&[0.123456789], 1e-8),
        ];
        for (i, (prices, want)) in cases.iter().enumerate() {
            let bars: Vec<Bar> = prices.iter().map(|&p| bar(p)).collect();
            assert_eq!(mintick_from_values(&bars), *want, "TC{i} values");
            let mut t = DecimalTicks::default();
            for p in *prices {
                t.observe(p.to_string().as_bytes());
            }
            assert_eq!(t.mintick(), *want, "TC{i} text");
        }
        // TC5: the f64 check tolerates binary noise that the text check cannot see.
        assert_eq!(mintick_from_values(&[bar(0.1 + 0.2)]), 0.1, "TC5");
    }
}
