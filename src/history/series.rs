//! A loaded kline file: the bars plus what the backtester needs to know about them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::error::HistoryError;
use super::timeframe::Timeframe;
use crate::pine::Bar;

/// The bars of one symbol at one timeframe, as read from one file.
///
/// Invariants established by [`super::load`]: at least one bar; open times strictly
/// increasing; consecutive bars at least one timeframe apart; every bar has positive
/// finite prices with `low <= min(open, close) <= max(open, close) <= high` and a finite
/// non-negative volume. Missing bars (exchange halts) are left missing, never invented:
/// see [`KlineSeries::gaps`].
#[derive(Debug, Clone, PartialEq)]
pub struct KlineSeries {
    /// Binance symbol without separators, e.g. `BTCUSDT`.
    pub symbol: String,
    /// The bar interval.
    pub timeframe: Timeframe,
    /// The bars, oldest first; `time_ms` is the open time in ms UTC.
    pub bars: Vec<Bar>,
    /// Price increment inferred from the data (Pine's `syminfo.mintick`); see
    /// [`super::mintick`] for how.
    pub mintick: f64,
    /// The file the bars came from, as the caller named it.
    pub source: PathBuf,
}

impl KlineSeries {
    /// The holes in the series: for each bar that opens later than the previous bar's
    /// open plus one timeframe (the next calendar month for `1M`), `(index of that bar,
    /// missing ms)`, where the missing time is how much later it opens than expected.
    /// The 2023-03-24 Binance halt in 1m data (12:39 bar followed by the 14:00 bar) is
    /// `(index of the 14:00 bar, 80 * 60_000)`: 80 one-minute bars are missing.
    pub fn gaps(&self) -> Vec<(usize, i64)> {
        self.bars
            .windows(2)
            .enumerate()
            .filter_map(|(i, w)| {
                let expected = self.timeframe.next_open_ms(w[0].time_ms);
                (w[1].time_ms > expected).then(|| (i + 1, w[1].time_ms - expected))
            })
            .collect()
    }
}

/// The timeframe of the most common spacing between consecutive bars, if that spacing
/// is a supported interval (ties go to the shorter spacing). Used only when neither the
/// caller nor the file name gives a timeframe.
pub(crate) fn infer_timeframe(bars: &[Bar]) -> Option<Timeframe> {
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for w in bars.windows(2) {
        *counts.entry(w[1].time_ms - w[0].time_ms).or_default() += 1;
    }
    let (&spacing, _) = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
    // Monthly bars are 28 to 31 days apart; `from_spacing_ms` maps each of those to 1M.
    Timeframe::from_spacing_ms(spacing)
}

/// Rejects bars closer together than the timeframe: the data and the timeframe (given
/// or from the file name) disagree, and a backtest would run at the wrong interval.
pub(crate) fn check_spacing(
    path: &Path,
    bars: &[Bar],
    timeframe: Timeframe,
) -> Result<(), HistoryError> {
    for w in bars.windows(2) {
        if w[1].time_ms < timeframe.next_open_ms(w[0].time_ms) {
            return Err(HistoryError::SpacingBelowTimeframe {
                path: path.to_path_buf(),
                time_ms: w[1].time_ms,
                spacing_ms: w[1].time_ms - w[0].time_ms,
                timeframe,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars_at(times: &[i64]) -> Vec<Bar> {
        times
            .iter()
            .map(|&t| Bar {
                time_ms: t,
                open: 1.0,
                high: 1.0,
                low: 1.0,
                close: 1.0,
                volume: 0.0,
            })
            .collect()
    }

    fn series(tf: &str, times: &[i64]) -> KlineSeries {
        KlineSeries {
            symbol: "BTCUSDT".into(),
            timeframe: tf.parse().unwrap(),
            bars: bars_at(times),
            mintick: 0.01,
            source: PathBuf::from("x.csv"),
        }
    }

    #[test]
    fn gaps_table() {
        const M: i64 = 60_000;
        const JAN_2024: i64 = 1_704_067_200_000;
        const FEB_2024: i64 = 1_706_745_600_000;
        const MAR_2024: i64 = 1_709_251_200_000;
        const APR_2024: i64 = 1_711_929_600_000;
        type Case<'a> = (&'a str, &'a [i64], &'a [(usize, i64)]);
        let cases: &[Case] = &[
            // TC0: contiguous minutes.
            ("1m", &[0, M, 2 * M], &[]),
            // TC1: 81 minutes between two bars: 80 missing.
            ("1m", &[0, M, 82 * M, 83 * M], &[(2, 80 * M)]),
            // TC2: two gaps.
            (
                "5m",
                &[0, 10 * M, 15 * M, 30 * M],
                &[(1, 5 * M), (3, 10 * M)],
            ),
            // TC3: calendar months of 31 and 29 days are contiguous.
            ("1M", &[JAN_2024, FEB_2024, MAR_2024], &[]),
            // TC4: a missing month (March) is a gap of 31 days.
            ("1M", &[JAN_2024, FEB_2024, APR_2024], &[(2, 31 * 1440 * M)]),
            // TC5: one bar has no gaps.
            ("1h", &[0], &[]),
        ];
        for (i, (tf, times, want)) in cases.iter().enumerate() {
            assert_eq!(series(tf, times).gaps(), *want, "TC{i}");
        }
    }

    #[test]
    fn infer_table() {
        const M: i64 = 60_000;
        let cases: &[(&[i64], Option<&str>)] = &[
            // TC0: plain 5m.
            (&[0, 5 * M, 10 * M, 15 * M], Some("5m")),
            // TC1: a gap does not change the mode.
            (&[0, M, 2 * M, 90 * M, 91 * M], Some("1m")),
            // TC2: one bar: nothing to infer from.
            (&[0], None),
            // TC3: 7-minute bars are no Binance interval.
            (&[0, 7 * M, 14 * M], None),
            // TC4: tie between 1m and 2m spacing goes to the shorter.
            (&[0, M, 3 * M], Some("1m")),
        ];
        for (i, (times, want)) in cases.iter().enumerate() {
            assert_eq!(
                infer_timeframe(&bars_at(times)).map(|t| t.as_str()),
                *want,
                "TC{i}"
            );
        }
    }

    #[test]
    fn spacing_below_timeframe() {
        let bars = bars_at(&[1_680_364_800_000, 1_680_364_860_000]);
        let err = check_spacing(Path::new("x.csv"), &bars, "1h".parse().unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.csv: the bar at 2023-04-01 16:01:00 UTC opens 1m after the previous one, less \
             than the timeframe 1h; pass the right --timeframe"
        );
        assert!(check_spacing(Path::new("x.csv"), &bars, "1m".parse().unwrap()).is_ok());
    }
}
