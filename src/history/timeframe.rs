//! Kline intervals: the fifteen Binance spot intervals, with their Binance spelling (as
//! in file names and the `interval` API parameter) and Pine v5's `timeframe.period`.

use std::fmt;
use std::str::FromStr;

use super::utc;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Nominal length of `1M`: 30 days. Calendar months vary from 28 to 31 days, so code
/// that steps from bar to bar uses [`Timeframe::next_open_ms`] instead.
const MONTH_NOMINAL_MS: i64 = 30 * DAY_MS;

/// (Binance spelling, Pine v5 `timeframe.period`, length in ms), shortest first so that
/// the derived `Ord` on the index orders timeframes by length.
const TABLE: [(&str, &str, i64); 15] = [
    ("1m", "1", MINUTE_MS),
    ("3m", "3", 3 * MINUTE_MS),
    ("5m", "5", 5 * MINUTE_MS),
    ("15m", "15", 15 * MINUTE_MS),
    ("30m", "30", 30 * MINUTE_MS),
    ("1h", "60", HOUR_MS),
    ("2h", "120", 2 * HOUR_MS),
    ("4h", "240", 4 * HOUR_MS),
    ("6h", "360", 6 * HOUR_MS),
    ("8h", "480", 8 * HOUR_MS),
    ("12h", "720", 12 * HOUR_MS),
    ("1d", "D", DAY_MS),
    ("3d", "3D", 3 * DAY_MS),
    ("1w", "W", 7 * DAY_MS),
    ("1M", "M", MONTH_NOMINAL_MS),
];

const MONTH_IDX: u8 = 14;

/// One of Binance's kline intervals (`1m` .. `1M`). A small `Copy` value: an index into
/// a static table, ordered by length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeframe {
    idx: u8,
}

impl Timeframe {
    /// Every supported timeframe, shortest first.
    pub fn all() -> impl Iterator<Item = Timeframe> {
        (0..TABLE.len() as u8).map(|idx| Timeframe { idx })
    }

    /// Bar length in milliseconds. For `1M` this is a nominal 30 days; calendar-aware
    /// stepping is [`Timeframe::next_open_ms`].
    pub fn ms(self) -> i64 {
        TABLE[self.idx as usize].2
    }

    /// Binance spelling, as in kline file names and the API: `1m`, `4h`, `1d`, `1M`.
    pub fn as_str(self) -> &'static str {
        TABLE[self.idx as usize].0
    }

    /// Pine v5's `timeframe.period` for this interval: `1`, `60`, `D`, `3D`, `W`, `M`.
    pub fn pine_period(self) -> &'static str {
        TABLE[self.idx as usize].1
    }

    /// True for `1M`, whose bars are calendar months rather than a fixed length.
    pub fn is_calendar_month(self) -> bool {
        self.idx == MONTH_IDX
    }

    /// Where the bar after the one opening at `open_ms` opens when nothing is missing:
    /// `open_ms + ms()`, or the first day of the next calendar month for `1M`.
    pub fn next_open_ms(self, open_ms: i64) -> i64 {
        if self.is_calendar_month() {
            utc::next_month_start_ms(open_ms)
        } else {
            open_ms.saturating_add(self.ms())
        }
    }

    /// The timeframe whose bars are `spacing_ms` apart, if any: an exact fixed length, or
    /// `1M` for 28 to 31 days.
    pub fn from_spacing_ms(spacing_ms: i64) -> Option<Timeframe> {
        if let Some(tf) =
            Timeframe::all().find(|tf| !tf.is_calendar_month() && tf.ms() == spacing_ms)
        {
            return Some(tf);
        }
        if (28 * DAY_MS..=31 * DAY_MS).contains(&spacing_ms) {
            return Some(Timeframe { idx: MONTH_IDX });
        }
        None
    }

    /// Parses the Binance spelling only (`5m`, `1h`, `1M`): what file names carry.
    pub fn from_binance(s: &str) -> Option<Timeframe> {
        TABLE
            .iter()
            .position(|row| row.0 == s)
            .map(|idx| Timeframe { idx: idx as u8 })
    }
}

impl fmt::Display for Timeframe {
    /// The Binance spelling, like [`Timeframe::as_str`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is neither a Binance nor a Pine spelling of a supported timeframe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown timeframe {text:?}; expected one of 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, \
     1d, 3d, 1w, 1M (or Pine's 1, 60, 240, D, W, M)"
)]
pub struct TimeframeParseError {
    /// The text that did not parse.
    pub text: String,
}

impl FromStr for Timeframe {
    type Err = TimeframeParseError;

    /// Accepts the Binance spelling (`1m`, `1h`, `1d`, `1w`, `1M`; case matters: `1m` is
    /// a minute, `1M` a month) and Pine's (`1`, `60`, `D`/`1D`, `3D`, `W`/`1W`, `M`/`1M`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(tf) = Timeframe::from_binance(s) {
            return Ok(tf);
        }
        let pine = match s {
            "1D" => "D",
            "1W" => "W",
            other => other,
        };
        TABLE
            .iter()
            .position(|row| row.1 == pine)
            .map(|idx| Timeframe { idx: idx as u8 })
            .ok_or_else(|| TimeframeParseError { text: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        type Want = Option<(&'static str, i64, &'static str)>;
        let cases: &[(&str, Want)] = &[
            // TC0: a minute.
            ("1m", Some(("1m", 60_000, "1"))),
            // TC1: five minutes.
            ("5m", Some(("5m", 300_000, "5"))),
            // TC2: an hour.
            ("1h", Some(("1h", 3_600_000, "60"))),
            // TC3: twelve hours.
            ("12h", Some(("12h", 43_200_000, "720"))),
            // TC4: a day.
            ("1d", Some(("1d", 86_400_000, "D"))),
            // TC5: three days.
            ("3d", Some(("3d", 259_200_000, "3D"))),
            // TC6: a week.
            ("1w", Some(("1w", 604_800_000, "W"))),
            // TC7: a month is capital M, nominal 30 days.
            ("1M", Some(("1M", 2_592_000_000, "M"))),
            // TC8: Pine minutes.
            ("60", Some(("1h", 3_600_000, "60"))),
            // TC9: Pine daily with multiplier.
            ("1D", Some(("1d", 86_400_000, "D"))),
            // TC10: Pine week.
            ("W", Some(("1w", 604_800_000, "W"))),
            // TC11: not a Binance interval.
            ("7m", None),
            // TC12: capital H is not a spelling.
            ("1H", None),
            // TC13: empty.
            ("", None),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let got = text.parse::<Timeframe>();
            match want {
                Some((s, ms, pine)) => {
                    let tf = got.unwrap_or_else(|e| panic!("TC{i}: {e}"));
                    assert_eq!(
                        (tf.as_str(), tf.ms(), tf.pine_period()),
                        (*s, *ms, *pine),
                        "TC{i}"
                    );
                    assert_eq!(tf.to_string(), *s, "TC{i}");
                }
                None => assert!(got.is_err(), "TC{i}: {got:?}"),
            }
        }
    }

    #[test]
    fn error_message() {
        let err = "7m".parse::<Timeframe>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown timeframe \"7m\"; expected one of 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, \
             12h, 1d, 3d, 1w, 1M (or Pine's 1, 60, 240, D, W, M)"
        );
    }

    #[test]
    fn ordered_by_length_and_round_trips() {
        let all: Vec<_> = Timeframe::all().collect();
        assert_eq!(all.len(), 15);
        for pair in all.windows(2) {
            assert!(pair[0] < pair[1] && pair[0].ms() < pair[1].ms());
        }
        for tf in all {
            assert_eq!(tf.as_str().parse::<Timeframe>(), Ok(tf));
            assert_eq!(tf.pine_period().parse::<Timeframe>(), Ok(tf));
        }
    }

    #[test]
    fn spacing_and_next_open() {
        let cases: &[(i64, Option<&str>)] = &[
            // TC0: exact minute.
            (60_000, Some("1m")),
            // TC1: exact 4 hours.
            (14_400_000, Some("4h")),
            // TC2: 28-day February is a month.
            (28 * DAY_MS, Some("1M")),
            // TC3: 31-day month.
            (31 * DAY_MS, Some("1M")),
            // TC4: 7 minutes is nothing.
            (420_000, None),
            // TC5: zero.
            (0, None),
        ];
        for (i, (ms, want)) in cases.iter().enumerate() {
            assert_eq!(
                Timeframe::from_spacing_ms(*ms).map(|t| t.as_str()),
                *want,
                "TC{i}"
            );
        }
        let month: Timeframe = "1M".parse().unwrap();
        // 2024-02-01 -> 2024-03-01 (29 days).
        assert_eq!(month.next_open_ms(1_706_745_600_000), 1_709_251_200_000);
        let hour: Timeframe = "1h".parse().unwrap();
        assert_eq!(hour.next_open_ms(0), 3_600_000);
    }
}
