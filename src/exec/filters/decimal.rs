//! Exact unsigned decimals and integer division with a chosen rounding, for turning
//! exchangeInfo limits and caller prices into ticks and lots without `f64`.
//!
//! Allocation-free: the order thread rounds through these on every order.

use crate::feed::fixed::FixedError;

/// The most significant digits a [`Decimal`] holds: `10^38 < 2^128`.
const MAX_DIGITS: u32 = 38;

/// Which way a value that is not on the grid goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Towards zero (the grid point at or below the value).
    Down,
    /// Away from zero (the grid point at or above the value).
    Up,
    /// The closer grid point; an exact half goes up (away from zero).
    Nearest,
}

/// An unsigned decimal held exactly as `mantissa * 10^-scale` (trailing fractional
/// zeros dropped). Parsed from `digits[.digits]` only, the shape Binance prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal {
    pub(crate) mantissa: u128,
    pub(crate) scale: u32,
}

impl Decimal {
    /// Parses `digits[.digits]`; a sign, an exponent, a lone point or more than 38
    /// significant digits is an error.
    #[inline]
    pub(crate) fn parse(text: &[u8]) -> Result<Decimal, FixedError> {
        if text.is_empty() {
            return Err(FixedError::Empty);
        }
        let (int, mut frac) = match text.iter().position(|&b| b == b'.') {
            Some(dot) => {
                let frac = &text[dot + 1..];
                if frac.is_empty() {
                    return Err(FixedError::Invalid);
                }
                (&text[..dot], frac)
            }
            None => (text, &text[text.len()..]),
        };
        if int.is_empty() || !int.iter().chain(frac).all(u8::is_ascii_digit) {
            return Err(FixedError::Invalid);
        }
        while let [rest @ .., b'0'] = frac {
            frac = rest;
        }
        let mut mantissa: u128 = 0;
        for &d in int.iter().chain(frac) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(u128::from(d - b'0')))
                .ok_or(FixedError::Overflow)?;
        }
        let scale = u32::try_from(frac.len()).map_err(|_| FixedError::Overflow)?;
        if scale > MAX_DIGITS {
            return Err(FixedError::TooManyDecimals);
        }
        Ok(Decimal { mantissa, scale })
    }

    /// Whether the value is zero (Binance's "this limit is disabled").
    #[inline]
    pub(crate) fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// `self / (unit_units * 10^-unit_scale)`, rounded by `mode`, exactly. `None` when an
    /// intermediate product does not fit a `u128` (a value beyond any real market's) or
    /// the unit is zero.
    #[inline]
    pub(crate) fn div_unit(
        self,
        unit_units: u128,
        unit_scale: u32,
        mode: Rounding,
    ) -> Option<u128> {
        // value / unit = (m * 10^-s) / (u * 10^-us) = (m * 10^us) / (u * 10^s)
        let (num, den) = if unit_scale >= self.scale {
            let k = 10u128.checked_pow(unit_scale - self.scale)?;
            (self.mantissa.checked_mul(k)?, unit_units)
        } else {
            let k = 10u128.checked_pow(self.scale - unit_scale)?;
            (self.mantissa, unit_units.checked_mul(k)?)
        };
        div_round(num, den, mode)
    }
}

/// `num / den` rounded by `mode`; `None` when `den` is zero.
#[inline]
pub(crate) fn div_round(num: u128, den: u128, mode: Rounding) -> Option<u128> {
    if den == 0 {
        return None;
    }
    let q = num / den;
    let r = num % den;
    Some(match mode {
        Rounding::Down => q,
        Rounding::Up => q + u128::from(r != 0),
        // r >= den - r  <=>  2r >= den, written so that it cannot overflow.
        Rounding::Nearest => q + u128::from(r != 0 && r >= den - r),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_parse_table() {
        type Case<'s> = (&'s str, Result<(u128, u32), FixedError>);
        let cases: &[Case<'_>] = &[
            // TC0: Binance's 8-decimal shape, trailing zeros dropped
            ("1.30000000", Ok((13, 1))),
            // TC1: integer
            ("5", Ok((5, 0))),
            // TC2: zero
            ("0.00000000", Ok((0, 0))),
            // TC3: sign
            ("-1", Err(FixedError::Invalid)),
            // TC4: empty
            ("", Err(FixedError::Empty)),
            // TC5: lone point
            ("1.", Err(FixedError::Invalid)),
            // TC6: exponent
            ("1e3", Err(FixedError::Invalid)),
            // TC7: too many digits for a u128
            (
                "999999999999999999999999999999999999999",
                Err(FixedError::Overflow),
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let got = Decimal::parse(text.as_bytes()).map(|d| (d.mantissa, d.scale));
            assert_eq!(&got, want, "TC{i}: {text:?}");
        }
    }

    #[test]
    fn div_round_table() {
        use Rounding::*;
        let cases: &[(u128, u128, Rounding, Option<u128>)] = &[
            // TC0: exact, every mode
            (10, 5, Down, Some(2)),
            // TC1: exact up
            (10, 5, Up, Some(2)),
            // TC2: exact nearest
            (10, 5, Nearest, Some(2)),
            // TC3: below half
            (11, 5, Nearest, Some(2)),
            // TC4: exact half goes up
            (5, 2, Nearest, Some(3)),
            // TC5: above half
            (14, 5, Nearest, Some(3)),
            // TC6: up with remainder
            (11, 5, Up, Some(3)),
            // TC7: down with remainder
            (14, 5, Down, Some(2)),
            // TC8: zero denominator
            (1, 0, Down, None),
            // TC9: huge values do not overflow the half test
            (u128::MAX, u128::MAX - 1, Nearest, Some(1)),
        ];
        for (i, (n, d, m, want)) in cases.iter().enumerate() {
            assert_eq!(div_round(*n, *d, *m), *want, "TC{i}");
        }
    }
}
