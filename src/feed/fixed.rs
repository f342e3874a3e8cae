//! Exact decimal fixed-point for Binance prices and quantities.
//!
//! Binance sends every price and quantity as a decimal string ("61837.63000000") and
//! publishes, per symbol, the smallest price step (`PRICE_FILTER.tickSize`) and quantity step
//! (`LOT_SIZE.stepSize`), also as decimal strings. The engine keeps prices as an integer
//! count of ticks and quantities as an integer count of lots, so that a book level is two
//! `i64`s and equality is exact. This module converts between the two without ever going
//! through `f64`: a price that is not a whole number of ticks is an error, never a silent
//! rounding.

use thiserror::Error;

/// The largest number of decimals an [`Increment`] may have: `10^18` is the largest power
/// of ten that fits an `i64`.
const MAX_DECIMALS: u8 = 18;

/// Why a decimal string could not be turned into an exact count of increments.
///
/// Small and `Copy` so that the hot path returns it by value without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FixedError {
    /// The text was empty.
    #[error("empty decimal")]
    Empty,
    /// The text was not a plain unsigned decimal (`digits[.digits]`): a sign, an exponent,
    /// a missing digit around the point or any other character.
    #[error("not a plain unsigned decimal")]
    Invalid,
    /// The value does not fit an `i64` once scaled to the increment's decimals.
    #[error("decimal too large")]
    Overflow,
    /// The value is not a whole multiple of the increment (for example "0.015" with a tick
    /// of "0.01").
    #[error("decimal is not a whole multiple of the increment")]
    NotAMultiple,
    /// An increment of zero was given: no value could be counted in it.
    #[error("increment is zero")]
    ZeroIncrement,
    /// An increment with more than 18 decimals was given.
    #[error("increment has more than 18 decimals")]
    TooManyDecimals,
}

/// A positive decimal step such as a tick size or a lot size, held exactly as
/// `units * 10^-decimals` with `units` as small as possible ("0.01000000" is 1e-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Increment {
    units: i64,
    decimals: u8,
}

impl Increment {
    /// `10^-decimals` (`decimal_unit(8)` is `0.00000001`), usable in constants; `None` past
    /// 18 decimals.
    pub const fn decimal_unit(decimals: u8) -> Option<Increment> {
        if decimals > MAX_DECIMALS {
            return None;
        }
        Some(Increment { units: 1, decimals })
    }

    /// Parses an exchangeInfo filter string ("0.01000000", "0.00001000", "1.00000000",
    /// "10"). Trailing zeros are insignificant. Zero, signs, exponents and more than 18
    /// significant decimals are errors.
    pub fn parse(filter: &str) -> Result<Increment, FixedError> {
        let (mut int, mut frac) = split_decimal(filter.as_bytes())?;
        while let [rest @ .., b'0'] = frac {
            frac = rest;
        }
        if frac.len() > usize::from(MAX_DECIMALS) {
            return Err(FixedError::TooManyDecimals);
        }
        while let [b'0', rest @ ..] = int {
            int = rest;
        }
        let mut units: i64 = 0;
        for &d in int.iter().chain(frac) {
            units = units
                .checked_mul(10)
                .and_then(|u| u.checked_add(i64::from(d - b'0')))
                .ok_or(FixedError::Overflow)?;
        }
        if units == 0 {
            return Err(FixedError::ZeroIncrement);
        }
        // `frac.len() <= 18` was checked above.
        let decimals = frac.len() as u8;
        Ok(Increment { units, decimals })
    }

    /// The increment's integer mantissa: the increment is `units() * 10^-decimals()`.
    pub fn units(self) -> i64 {
        self.units
    }

    /// The number of decimals of the increment's mantissa (2 for "0.01", 0 for "1" or "10").
    pub fn decimals(self) -> u8 {
        self.decimals
    }
}

/// Splits `digits[.digits]` into its integer and fractional digit runs, checking that
/// every byte is an ASCII digit and that neither run is empty.
#[inline]
fn split_decimal(text: &[u8]) -> Result<(&[u8], &[u8]), FixedError> {
    if text.is_empty() {
        return Err(FixedError::Empty);
    }
    let (int, frac) = match text.iter().position(|&b| b == b'.') {
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
    Ok((int, frac))
}

/// Checks that `text` is a plain unsigned decimal (`digits[.digits]`) without converting
/// it, for values that have no increment (a kline's quote volume).
#[inline]
pub fn check_decimal(text: &[u8]) -> Result<(), FixedError> {
    split_decimal(text).map(|_| ())
}

/// Turns a Binance decimal string into an exact whole count of `inc` (ticks for a price,
/// lots for a quantity).
///
/// Accepts `digits[.digits]` only. Fractional digits beyond the increment's decimals must
/// be zero and the value must be a whole multiple of the increment, else
/// [`FixedError::NotAMultiple`]. The value scaled to the increment's decimals must fit an
/// `i64` ([`FixedError::Overflow`]): with a tick of 0.01 that is prices up to about 9.2e16.
///
/// Binance's fixed shape (1 to 8 integer digits, a point, exactly 8 decimals, with an
/// increment of at most 8 decimals) takes a branch-light SWAR path, eight digits per `u64`;
/// anything else, and every input the fast path would reject, goes through the general
/// digit-by-digit path, so results and errors are the same whichever path runs.
#[inline]
pub fn parse_units(text: &[u8], inc: Increment) -> Result<i64, FixedError> {
    match parse_units_fast(text, inc) {
        Some(units) => Ok(units),
        None => parse_units_slow(text, inc),
    }
}

/// `0x30` ('0') in every byte.
const ASCII_ZEROS: u64 = 0x3030_3030_3030_3030;

/// Whether every byte of `t` (a word already XORed with [`ASCII_ZEROS`]) is 0..=9, i.e.
/// whether the original bytes were all ASCII digits. The first test bounds every byte to
/// 0x0F, so the add cannot carry from one byte into the next.
#[inline(always)]
fn all_digits(t: u64) -> bool {
    (t & 0xF0F0_F0F0_F0F0_F0F0) == 0
        && (t.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) == 0
}

/// The value of eight decimal digits held one per byte (0..=9, most significant in the
/// lowest byte, as loaded little-endian from text): three multiplies instead of eight.
#[inline(always)]
fn eight_digits(t: u64) -> u64 {
    let t = (t.wrapping_mul(10 << 8 | 1) >> 8) & 0x00FF_00FF_00FF_00FF;
    let t = (t.wrapping_mul(100 << 16 | 1) >> 16) & 0x0000_FFFF_0000_FFFF;
    t.wrapping_mul(10_000 << 32 | 1) >> 32
}

/// Powers of ten that the fast path scales by (`10^0 ..= 10^8`).
const POW10: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The fast path of [`parse_units`] for `int.dddddddd` with 1 to 8 integer digits and an
/// increment of at most 8 decimals. `None` means "not this shape or not an exact multiple":
/// the caller then runs the general path, which also produces the error.
#[inline(always)]
fn parse_units_fast(text: &[u8], inc: Increment) -> Option<i64> {
    let len = text.len();
    if !(10..=17).contains(&len) || inc.decimals > 8 {
        return None;
    }
    let int_len = len - 9;
    if text[int_len] != b'.' {
        return None;
    }
    // The first eight bytes hold every integer digit (1 to 8 of them, then the point and
    // some decimals); shifting left drops the bytes after the integer digits and leaves
    // zero bytes, read as leading zeros, in front of them.
    let head = u64::from_le_bytes(text[..8].try_into().ok()?) ^ ASCII_ZEROS;
    let int = head << (8 * (8 - int_len) as u32);
    let frac = u64::from_le_bytes(text[len - 8..].try_into().ok()?) ^ ASCII_ZEROS;
    if !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let decimals = u32::from(inc.decimals);
    let kept = if decimals == 0 {
        // Every decimal is dropped and must be zero.
        if frac != 0 {
            return None;
        }
        0
    } else {
        // Decimals past the increment's (the high bytes) must be zero; the kept ones,
        // shifted to the top, read as a number with leading zeros.
        if decimals < 8 && frac >> (8 * decimals) != 0 {
            return None;
        }
        eight_digits(frac << (8 * (8 - decimals)))
    };
    // Below 10^8 * 10^8 + 10^8: no overflow is possible.
    let scaled = (eight_digits(int) * POW10[decimals as usize] + kept) as i64;
    if inc.units == 1 {
        return Some(scaled);
    }
    (scaled % inc.units == 0).then(|| scaled / inc.units)
}

/// The general path of [`parse_units`]: any length, any number of decimals, every error.
#[cold]
fn parse_units_slow(text: &[u8], inc: Increment) -> Result<i64, FixedError> {
    let (int, frac) = split_decimal(text)?;
    let decimals = usize::from(inc.decimals);
    let (kept, dropped) = if frac.len() > decimals {
        frac.split_at(decimals)
    } else {
        (frac, &frac[frac.len()..])
    };
    if dropped.iter().any(|&d| d != b'0') {
        return Err(FixedError::NotAMultiple);
    }
    let mut scaled: i64 = 0;
    for &d in int.iter().chain(kept) {
        scaled = scaled
            .checked_mul(10)
            .and_then(|s| s.checked_add(i64::from(d - b'0')))
            .ok_or(FixedError::Overflow)?;
    }
    for _ in kept.len()..decimals {
        scaled = scaled.checked_mul(10).ok_or(FixedError::Overflow)?;
    }
    if scaled % inc.units != 0 {
        return Err(FixedError::NotAMultiple);
    }
    Ok(scaled / inc.units)
}

/// Formats `units` increments as a decimal string with exactly the increment's decimals
/// ("61837.63" for 6183763 ticks of 0.01; "-" in front of a negative count). For display
/// and tests: it allocates.
#[cold]
pub fn format_units(units: i64, inc: Increment) -> String {
    let scaled = i128::from(units) * i128::from(inc.units);
    let digits = scaled.unsigned_abs().to_string();
    let decimals = usize::from(inc.decimals);
    let sign = if scaled < 0 { "-" } else { "" };
    if decimals == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = decimals + 1);
    let (int, frac) = padded.split_at(padded.len() - decimals);
    format!("{sign}{int}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inc(s: &str) -> Increment {
        Increment::parse(s).expect("valid increment")
    }

    #[test]
    fn decimal_unit_equals_its_parsed_text() {
        // TC0..: every power of ten an Increment can hold, and the first it cannot
        for d in 0..=18u8 {
            let text = format!("0.{}1", "0".repeat(usize::from(d).saturating_sub(1)));
            let text = if d == 0 { "1".to_string() } else { text };
            assert_eq!(
                Increment::decimal_unit(d),
                Some(inc(&text)),
                "TC{d}: {text}"
            );
        }
        assert_eq!(Increment::decimal_unit(19), None, "TC19");
    }

    #[test]
    fn increment_parse_table() {
        type Case<'s> = (&'s str, Result<(i64, u8), FixedError>);
        let cases: &[Case<'_>] = &[
            // TC0: Binance tickSize for BTCUSDT
            ("0.01000000", Ok((1, 2))),
            // TC1: Binance stepSize for BTCUSDT
            ("0.00001000", Ok((1, 5))),
            // TC2: a whole step
            ("1.00000000", Ok((1, 0))),
            // TC3: a step that is not a power of ten
            ("0.00500000", Ok((5, 3))),
            // TC4: a step larger than one, no point
            ("10", Ok((10, 0))),
            // TC5: leading zeros are insignificant
            ("0010.0", Ok((10, 0))),
            // TC6: zero is an error
            ("0.00000000", Err(FixedError::ZeroIncrement)),
            // TC7: empty
            ("", Err(FixedError::Empty)),
            // TC8: sign
            ("-0.01", Err(FixedError::Invalid)),
            // TC9: exponent
            ("1e-2", Err(FixedError::Invalid)),
            // TC10: 18 decimals is the most
            ("0.000000000000000001", Ok((1, 18))),
            // TC11: 19 decimals is too many
            ("0.0000000000000000001", Err(FixedError::TooManyDecimals)),
            // TC12: too large
            ("99999999999999999999", Err(FixedError::Overflow)),
            // TC13: point without fraction
            ("1.", Err(FixedError::Invalid)),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let got = Increment::parse(text).map(|i| (i.units(), i.decimals()));
            assert_eq!(&got, want, "TC{i}: {text:?}");
        }
    }

    #[test]
    fn parse_units_table() {
        let tick = inc("0.01000000");
        let step = inc("0.00001000");
        let five = inc("0.005");
        let ten = inc("10");
        let cases: &[(&str, Increment, Result<i64, FixedError>)] = &[
            // TC0: a real price
            ("61837.63000000", tick, Ok(6_183_763)),
            // TC1: zero quantity (removes a level)
            ("0.00000000", step, Ok(0)),
            // TC2: integer without point
            ("1", tick, Ok(100)),
            // TC3: fewer decimals than the increment
            ("1.5", tick, Ok(150)),
            // TC4: a real quantity
            ("1.54698000", step, Ok(154_698)),
            // TC5: a non-zero digit beyond the increment's decimals
            ("61837.63100000", tick, Err(FixedError::NotAMultiple)),
            // TC6: not a multiple of a non-power-of-ten step
            ("0.012", five, Err(FixedError::NotAMultiple)),
            // TC7: a multiple of a non-power-of-ten step
            ("0.015000", five, Ok(3)),
            // TC8: steps larger than one
            ("120", ten, Ok(12)),
            // TC9: not a multiple of a step larger than one
            ("125.0", ten, Err(FixedError::NotAMultiple)),
            // TC10: empty
            ("", tick, Err(FixedError::Empty)),
            // TC11: signs
            ("-1.00", tick, Err(FixedError::Invalid)),
            // TC12: plus sign
            ("+1.00", tick, Err(FixedError::Invalid)),
            // TC13: exponent
            ("1e5", tick, Err(FixedError::Invalid)),
            // TC14: junk
            ("12a.00", tick, Err(FixedError::Invalid)),
            // TC15: missing integer digits
            (".5", tick, Err(FixedError::Invalid)),
            // TC16: missing fraction digits
            ("5.", tick, Err(FixedError::Invalid)),
            // TC17: two points
            ("1.2.3", tick, Err(FixedError::Invalid)),
            // TC18: overflow once scaled
            ("92233720368547758.08", tick, Err(FixedError::Overflow)),
            // TC19: the largest value that fits
            ("92233720368547758.07", tick, Ok(i64::MAX)),
            // TC20: overflow only from padding the fraction
            ("9223372036854775807", tick, Err(FixedError::Overflow)),
            // TC21: many trailing zeros beyond the decimals are fine
            ("1.000000000000000000000000", tick, Ok(100)),
            // TC22: whitespace is junk
            (" 1.00", tick, Err(FixedError::Invalid)),
            // TC23: fast-path shape, eight integer digits (the largest it takes)
            ("99999999.99000000", tick, Ok(9_999_999_999)),
            // TC24: fast-path shape, a stray digit past the tick
            ("61837.63000001", tick, Err(FixedError::NotAMultiple)),
            // TC25: fast-path shape, junk among the decimals
            ("61837.630x0000", tick, Err(FixedError::Invalid)),
            // TC26: fast-path shape, junk in the integer digits
            ("6/837.63000000", tick, Err(FixedError::Invalid)),
            // TC27: fast-path shape, a step of 0.005
            ("0.01500000", five, Ok(3)),
            // TC28: fast-path shape, not a multiple of 0.005
            ("0.01200000", five, Err(FixedError::NotAMultiple)),
            // TC29: fast-path shape, a whole step: every decimal must be zero
            ("120.00000000", ten, Ok(12)),
            // TC30: fast-path shape, a whole step with a non-zero decimal
            ("120.00000001", ten, Err(FixedError::NotAMultiple)),
            // TC31: nine integer digits leave the fast path and still parse
            ("123456789.12000000", tick, Ok(12_345_678_912)),
            // TC32: eight decimals where the step has eight
            (
                "0.00000001",
                Increment {
                    units: 1,
                    decimals: 8,
                },
                Ok(1),
            ),
            // TC33: a point where the fast path expects the last digit before the decimals
            ("1234.5.000000", tick, Err(FixedError::Invalid)),
        ];
        for (i, (text, inc, want)) in cases.iter().enumerate() {
            assert_eq!(&parse_units(text.as_bytes(), *inc), want, "TC{i}: {text:?}");
        }
    }

    #[test]
    fn format_units_table() {
        let cases: &[(i64, &str, &str)] = &[
            // TC0: a price
            (6_183_763, "0.01", "61837.63"),
            // TC1: a value below one keeps its leading zero
            (5, "0.00001", "0.00005"),
            // TC2: zero
            (0, "0.01", "0.00"),
            // TC3: whole increments
            (12, "10", "120"),
            // TC4: non-power-of-ten step
            (3, "0.005", "0.015"),
            // TC5: negative
            (-150, "0.01", "-1.50"),
        ];
        for (i, (units, step, want)) in cases.iter().enumerate() {
            assert_eq!(format_units(*units, inc(step)), *want, "TC{i}");
        }
    }

    fn any_increment() -> impl Strategy<Value = Increment> {
        (1i64..=1000, 0u8..=12).prop_map(|(units, decimals)| Increment { units, decimals })
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(inc in any_increment(), seed in any::<i64>()) {
            let max = i64::MAX / inc.units;
            let units = seed.rem_euclid(max);
            let text = format_units(units, inc);
            prop_assert_eq!(parse_units(text.as_bytes(), inc), Ok(units), "{}", text);
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40), inc in any_increment()) {
            let _ = parse_units(&bytes, inc);
            if let Ok(text) = std::str::from_utf8(&bytes) {
                let _ = Increment::parse(text);
            }
        }

        /// The SWAR fast path agrees with the general path on random decimals near
        /// Binance's shape: every length of integer part around the eight-digit limit,
        /// every number of decimals around eight, runs of zeros (trailing, leading, all),
        /// stray bytes anywhere, and increments with 0 to 10 decimals, powers of ten or not.
        #[test]
        fn fast_path_equals_slow_path(
            int in prop_oneof!["[0-9]{1,9}", "0{1,3}[0-9]{0,6}", "9{7,9}", "[0-9]{0,2}"],
            frac in prop_oneof![
                "[0-9]{8}",
                "[0-9]{0,4}0{0,8}",
                "0{8}",
                "[0-9]{7,9}",
                "[0-9]{1,2}0{6}",
            ],
            point in prop::bool::weighted(0.95),
            junk in proptest::option::weighted(0.2, (any::<prop::sample::Index>(), any::<u8>())),
            inc in prop_oneof![
                3 => (Just(1i64), 0u8..=10),
                1 => (1i64..=1000, 0u8..=10),
                1 => (prop::sample::select(vec![2i64, 5, 10, 25, 100, 1000]), 0u8..=9),
            ].prop_map(|(units, decimals)| Increment { units, decimals }),
        ) {
            let mut text = int.into_bytes();
            if point {
                text.push(b'.');
                text.extend_from_slice(frac.as_bytes());
            }
            if let Some((at, byte)) = junk {
                if !text.is_empty() {
                    let i = at.index(text.len());
                    text[i] = byte;
                }
            }
            let slow = parse_units_slow(&text, inc);
            if let Some(fast) = parse_units_fast(&text, inc) {
                prop_assert_eq!(Ok(fast), slow, "{:?} {:?}", String::from_utf8_lossy(&text), inc);
            }
            prop_assert_eq!(parse_units(&text, inc), slow);
        }

        /// On exactly Binance's shape with a power-of-ten increment of at most 8 decimals
        /// and no stray digit past it, the fast path must answer (not fall back).
        #[test]
        fn fast_path_covers_binance_shape(int in "[0-9]{1,8}", kept in "[0-9]{0,8}", decimals in 0u8..=8) {
            let kept = &kept[..kept.len().min(usize::from(decimals))];
            let text = format!("{int}.{kept:0<8}");
            let inc = Increment { units: 1, decimals };
            prop_assert_eq!(parse_units_fast(text.as_bytes(), inc).map(Ok), Some(parse_units_slow(text.as_bytes(), inc)));
        }

        #[test]
        fn decimal_like_text_never_panics(text in "[0-9.]{0,30}", inc in any_increment()) {
            let _ = parse_units(text.as_bytes(), inc);
            let _ = Increment::parse(&text);
        }
    }
}
