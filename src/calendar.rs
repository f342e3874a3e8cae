//! UTC calendar arithmetic and timestamps as text, both ways, without a calendar
//! dependency: reports, the kline builder (weekly and monthly bars) and the capture
//! recorder (hourly files) share it.
//!
//! Bars carry their open time as milliseconds since the Unix epoch; reports print it as
//! ISO-8601 UTC and the CLI's `--from`/`--to` read it back. The proleptic Gregorian
//! calendar conversions are Howard Hinnant's `days_from_civil` / `civil_from_days`,
//! exact for every `i64` millisecond value.

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (`m` in 1..=12, `d` in 1..=31).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = i64::from((m + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01; inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Days in month `m` (1..=12) of year `y` (proleptic Gregorian).
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn push_year(out: &mut String, y: i64) {
    if (0..=9999).contains(&y) {
        out.push_str(&format!("{y:04}"));
    } else {
        // ISO 8601 expanded year: explicit sign.
        out.push_str(&format!("{y:+05}"));
    }
}

/// `ms` since the epoch as an ISO-8601 UTC timestamp: `2024-03-01T00:05:00Z`, with the
/// milliseconds shown only when they are not zero (`2024-03-01T00:05:00.123Z`).
///
/// Total over `i64`: times before 1970 count backwards (`-1` is
/// `1969-12-31T23:59:59.999Z`); years outside 0000..=9999 are written with a sign.
pub fn iso8601_utc(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let (hh, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (mm, rest) = (rest / 60_000, rest % 60_000);
    let (ss, frac) = (rest / 1000, rest % 1000);
    let mut out = String::with_capacity(24);
    push_year(&mut out, y);
    out.push_str(&format!("-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}"));
    if frac != 0 {
        out.push_str(&format!(".{frac:03}"));
    }
    out.push('Z');
    out
}

/// The UTC calendar date of `ms` since the epoch, `2024-03-01`: for headers and axis
/// labels where the time of day is noise.
pub fn iso8601_date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    let mut out = String::with_capacity(10);
    push_year(&mut out, y);
    out.push_str(&format!("-{m:02}-{d:02}"));
    out
}

const FORMATS: &str = "expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.mmm]][Z|±HH:MM] \
     (a space may replace the T), or milliseconds since the epoch";

/// Reads a time given on the command line (`--from`, `--to`) as ms since the epoch, UTC.
///
/// Accepted: a plain integer of milliseconds (`1709251200000`, may be negative);
/// `YYYY-MM-DD` (midnight UTC); `YYYY-MM-DDTHH:MM`, optionally with `:SS` and a fraction
/// of 1 to 3 digits (`.5` is 500 ms), with `T` or a single space between date and time,
/// and an optional zone `Z` or `±HH:MM` (no zone means UTC). Every field is range
/// checked (February 29 only in leap years, no leap second); the error says what was
/// wrong and which forms are accepted.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("empty time; {FORMATS}"));
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i64>()
            .map_err(|_| format!("time {s:?} is out of range for milliseconds since the epoch"));
    }
    parse_datetime(t).map_err(|why| format!("invalid time {s:?}: {why}; {FORMATS}"))
}

/// A cursor over the ASCII bytes of a date-time string.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Exactly `n` ASCII digits as a number, named `what` in the error.
    fn digits(&mut self, n: usize, what: &str) -> Result<u32, String> {
        let end = self.i + n;
        match self.b.get(self.i..end) {
            Some(d) if d.iter().all(u8::is_ascii_digit) => {
                self.i = end;
                Ok(d.iter().fold(0, |acc, &c| acc * 10 + u32::from(c - b'0')))
            }
            _ => Err(format!(
                "expected {n} digits for the {what} at position {}",
                self.i + 1
            )),
        }
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {what} at position {}", self.i + 1))
        }
    }
}

fn check_range(v: u32, lo: u32, hi: u32, what: &str) -> Result<(), String> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(format!("{what} {v} is not in {lo}..={hi}"))
    }
}

fn parse_datetime(t: &str) -> Result<i64, String> {
    let mut c = Cursor {
        b: t.as_bytes(),
        i: 0,
    };
    let y = c.digits(4, "year")?;
    c.expect(b'-', "'-' after the year")?;
    let mo = c.digits(2, "month")?;
    c.expect(b'-', "'-' after the month")?;
    let d = c.digits(2, "day")?;
    check_range(mo, 1, 12, "month")?;
    let dim = days_in_month(i64::from(y), mo);
    if d < 1 || d > dim {
        return Err(format!("day {d} is not in 1..={dim} for {y:04}-{mo:02}"));
    }
    let mut ms = days_from_civil(i64::from(y), mo, d) * MS_PER_DAY;
    if c.peek().is_none() {
        return Ok(ms);
    }
    match c.peek() {
        Some(b'T') | Some(b't') | Some(b' ') => c.i += 1,
        _ => {
            return Err(format!(
                "expected 'T' or a space after the date at position {}",
                c.i + 1
            ))
        }
    }
    let hh = c.digits(2, "hour")?;
    c.expect(b':', "':' after the hour")?;
    let mi = c.digits(2, "minute")?;
    check_range(hh, 0, 23, "hour")?;
    check_range(mi, 0, 59, "minute")?;
    let mut ss = 0;
    let mut frac_ms = 0;
    if c.peek() == Some(b':') {
        c.i += 1;
        ss = c.digits(2, "second")?;
        check_range(ss, 0, 59, "second")?;
        if c.peek() == Some(b'.') {
            c.i += 1;
            let start = c.i;
            while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                c.i += 1;
            }
            let n = c.i - start;
            if n == 0 || n > 3 {
                return Err(format!(
                    "the fraction of a second must have 1 to 3 digits (milliseconds), found {n}"
                ));
            }
            let frac = c.b[start..c.i]
                .iter()
                .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0'));
            frac_ms = frac * 10u32.pow(3 - n as u32);
        }
    }
    ms += i64::from(hh) * 3_600_000 + i64::from(mi) * 60_000 + i64::from(ss) * 1000;
    ms += i64::from(frac_ms);
    match c.peek() {
        None => {}
        Some(b'Z') | Some(b'z') => c.i += 1,
        Some(sign @ (b'+' | b'-')) => {
            c.i += 1;
            let oh = c.digits(2, "zone hours")?;
            c.expect(b':', "':' in the zone offset")?;
            let om = c.digits(2, "zone minutes")?;
            check_range(oh, 0, 23, "zone hours")?;
            check_range(om, 0, 59, "zone minutes")?;
            let offset = i64::from(oh) * 3_600_000 + i64::from(om) * 60_000;
            // Local time = UTC + offset, so UTC = local - offset.
            ms += if sign == b'+' { -offset } else { offset };
        }
        Some(_) => {
            return Err(format!("unexpected text at position {}", c.i + 1));
        }
    }
    if c.i != c.b.len() {
        return Err(format!("unexpected text at position {}", c.i + 1));
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_utc_cases() {
        let cases: &[(i64, &str)] = &[
            // TC0: the epoch
            (0, "1970-01-01T00:00:00Z"),
            // TC1: one ms before the epoch
            (-1, "1969-12-31T23:59:59.999Z"),
            // TC2: a 5m bar open
            (1_709_251_500_000, "2024-03-01T00:05:00Z"),
            // TC3: ms fraction shown
            (1_709_251_500_123, "2024-03-01T00:05:00.123Z"),
            // TC4: ms fraction with leading zeros
            (1_709_251_500_007, "2024-03-01T00:05:00.007Z"),
            // TC5: leap day 2024
            (1_709_164_800_000, "2024-02-29T00:00:00Z"),
            // TC6: leap day 2000 (divisible by 400)
            (951_782_400_000, "2000-02-29T00:00:00Z"),
            // TC7: 2100 is not leap: Feb 28 is followed by Mar 1
            (4_107_542_400_000 - 1, "2100-02-28T23:59:59.999Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00Z"),
            // TC8: end of a leap year
            (1_735_689_599_000, "2024-12-31T23:59:59Z"),
            // TC9: year 10000 gets a sign
            (253_402_300_800_000, "+10000-01-01T00:00:00Z"),
            // TC10: extremes do not panic
            (i64::MAX, "+292278994-08-17T07:12:55.807Z"),
            (i64::MIN, "-292275055-05-16T16:47:04.192Z"),
        ];
        for (i, (ms, want)) in cases.iter().enumerate() {
            assert_eq!(iso8601_utc(*ms), *want, "case {i}");
        }
    }

    #[test]
    fn iso8601_date_cases() {
        // TC0: epoch; TC1: before the epoch; TC2: leap day
        assert_eq!(iso8601_date(0), "1970-01-01");
        assert_eq!(iso8601_date(-1), "1969-12-31");
        assert_eq!(iso8601_date(1_709_164_800_000 + 86_399_999), "2024-02-29");
    }

    #[test]
    fn parse_time_cases() {
        let ok: &[(&str, i64)] = &[
            // TC0: the epoch as a date
            ("1970-01-01", 0),
            // TC1: plain ms integers, also negative
            ("1709251200000", 1_709_251_200_000),
            ("-1", -1),
            ("0", 0),
            // TC2: date only
            ("2024-03-01", 1_709_251_200_000),
            // TC3: hours and minutes
            ("2024-03-01T12:00", 1_709_294_400_000),
            // TC4: seconds and Z
            ("2024-03-01T12:00:00Z", 1_709_294_400_000),
            // TC5: space separator
            ("2024-03-01 12:00:00", 1_709_294_400_000),
            // TC6: fractions: 1, 2, 3 digits
            ("2024-03-01T00:05:00.123Z", 1_709_251_500_123),
            ("2024-03-01T00:05:00.5", 1_709_251_500_500),
            ("2024-03-01T00:05:00.05", 1_709_251_500_050),
            // TC7: leap days 2000 and 2024
            ("2000-02-29", 951_782_400_000),
            ("2024-02-29", 1_709_164_800_000),
            // TC8: 2100-03-01
            ("2100-03-01", 4_107_542_400_000),
            // TC9: zone offsets
            ("2024-03-01T09:00+09:00", 1_709_251_200_000),
            ("2024-02-29T19:00:00-05:00", 1_709_251_200_000),
            // TC10: surrounding whitespace is ignored
            ("  2024-03-01 ", 1_709_251_200_000),
        ];
        for (i, (s, want)) in ok.iter().enumerate() {
            assert_eq!(parse_time(s), Ok(*want), "ok case {i}: {s}");
        }
        let bad: &[(&str, &str)] = &[
            // TC11: empty
            ("", "empty time"),
            // TC12: 2100 is not a leap year
            ("2100-02-29", "day 29 is not in 1..=28 for 2100-02"),
            // TC13: 2023 is not a leap year
            ("2023-02-29", "day 29 is not in 1..=28"),
            // TC14: month out of range
            ("2024-13-01", "month 13 is not in 1..=12"),
            // TC15: day 0
            ("2024-01-00", "day 0 is not in 1..=31"),
            // TC16: hour 24
            ("2024-03-01T24:00", "hour 24 is not in 0..=23"),
            // TC17: leap second refused
            ("2024-03-01T12:00:60", "second 60 is not in 0..=59"),
            // TC18: missing minutes
            ("2024-03-01T12", "expected ':' after the hour"),
            // TC19: one-digit month
            ("2024-3-01", "expected 2 digits for the month"),
            // TC20: trailing garbage
            ("2024-03-01T12:00:00Zjunk", "unexpected text at position 21"),
            // TC21: words
            ("yesterday", "expected 4 digits for the year"),
            // TC22: too many fraction digits
            ("2024-03-01T00:00:00.1234", "1 to 3 digits"),
            // TC23: integer overflow
            ("99999999999999999999", "out of range"),
            // TC24: lone minus
            ("-", "expected 4 digits for the year"),
        ];
        for (i, (s, want)) in bad.iter().enumerate() {
            match parse_time(s) {
                Ok(v) => panic!("bad case {i}: {s:?} parsed as {v}"),
                Err(e) => assert!(e.contains(want), "bad case {i}: {s:?} gave {e:?}"),
            }
        }
        // TC25: the accepted forms are named in a date error
        let e = parse_time("2024-13-01").unwrap_err();
        assert!(e.contains("expected YYYY-MM-DD"), "{e}");
    }

    #[test]
    fn round_trip_every_day_of_four_centuries() {
        // TC0: days_from_civil and civil_from_days are inverse over a whole 400-year
        // cycle around the epoch, and parse_time reads what iso8601_utc writes.
        let start = days_from_civil(1900, 1, 1);
        for day in start..start + 146_097 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
            assert!(d >= 1 && d <= days_in_month(y, m));
            let ms = day * MS_PER_DAY + 45_296_789; // 12:34:56.789
            assert_eq!(parse_time(&iso8601_utc(ms)), Ok(ms));
        }
    }
}
