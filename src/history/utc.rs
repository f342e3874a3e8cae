//! UTC calendar arithmetic on millisecond timestamps, without a date crate: readable
//! times in error messages and the calendar-month step of the `1M` timeframe.
//!
//! Days to civil dates use Howard Hinnant's `civil_from_days` / `days_from_civil`
//! algorithms (proleptic Gregorian calendar, exact for every i64 day count we meet).

use std::fmt;

const MS_PER_DAY: i64 = 86_400_000;

/// A millisecond timestamp that displays as `2023-03-24 12:39:00 UTC` (with `.123` when
/// the milliseconds are not zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime(pub i64);

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )?;
        if ms_of_day % 1000 != 0 {
            write!(f, ".{:03}", ms_of_day % 1000)?;
        }
        f.write_str(" UTC")
    }
}

/// A span of milliseconds that displays in the largest whole unit: `81m`, `2h`, `3d`,
/// `90s`, `1500ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration(pub i64);

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        for (unit_ms, suffix) in [
            (MS_PER_DAY, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1000, "s"),
        ] {
            if ms != 0 && ms % unit_ms == 0 {
                return write!(f, "{}{suffix}", ms / unit_ms);
            }
        }
        write!(f, "{ms}ms")
    }
}

/// Year, month (1-12), day (1-31) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day count since 1970-01-01 of a civil date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Open time (ms) of the calendar month after the one holding `time_ms`: where the
/// next `1M` bar opens.
pub(crate) fn next_month_start_ms(time_ms: i64) -> i64 {
    let (y, m, _) = civil_from_days(time_ms.div_euclid(MS_PER_DAY));
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(ny, nm, 1).saturating_mul(MS_PER_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_display() {
        let cases: &[(i64, &str)] = &[
            // TC0: the epoch.
            (0, "1970-01-01 00:00:00 UTC"),
            // TC1: the bar before the 2023-03-24 Binance halt.
            (1_679_661_540_000, "2023-03-24 12:39:00 UTC"),
            // TC2: milliseconds shown only when present.
            (1_679_661_540_123, "2023-03-24 12:39:00.123 UTC"),
            // TC3: leap day.
            (1_709_164_800_000, "2024-02-29 00:00:00 UTC"),
            // TC4: before the epoch.
            (-1, "1969-12-31 23:59:59.999 UTC"),
        ];
        for (i, (ms, want)) in cases.iter().enumerate() {
            assert_eq!(UtcTime(*ms).to_string(), *want, "TC{i}");
        }
    }

    #[test]
    fn duration_display() {
        let cases: &[(i64, &str)] = &[
            // TC0: minutes.
            (81 * 60_000, "81m"),
            // TC1: hours win over minutes.
            (7_200_000, "2h"),
            // TC2: days.
            (3 * 86_400_000, "3d"),
            // TC3: odd milliseconds.
            (1500, "1500ms"),
            // TC4: zero.
            (0, "0ms"),
        ];
        for (i, (ms, want)) in cases.iter().enumerate() {
            assert_eq!(Duration(*ms).to_string(), *want, "TC{i}");
        }
    }

    #[test]
    fn civil_round_trip_and_month_step() {
        for days in -800_000..800_000i64 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        let cases: &[(i64, i64)] = &[
            // TC0: mid-January 2024 -> 2024-02-01.
            (1_705_320_000_000, 1_706_745_600_000),
            // TC1: December rolls the year: 2023-12-01 -> 2024-01-01.
            (1_701_388_800_000, 1_704_067_200_000),
            // TC2: February of a leap year: 2024-02-01 -> 2024-03-01.
            (1_706_745_600_000, 1_709_251_200_000),
        ];
        for (i, (from, want)) in cases.iter().enumerate() {
            assert_eq!(next_month_start_ms(*from), *want, "TC{i}");
        }
    }
}
