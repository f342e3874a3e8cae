//! Binance public kline CSV (data.binance.vision `spot/monthly|daily/klines/...`).
//!
//! Twelve columns per line, no quoting:
//!
//! ```text
//! open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore
//! 1704067200000,42283.58000000,42298.62000000,42261.02000000,42298.61000000,35.92724000,1704067259999,1519032.77475390,1327,22.19063000,938287.70357280,0
//! ```
//!
//! * The header line is optional (older files have none): a first non-blank line that
//!   does not start with a digit or a sign is taken as the header and skipped.
//! * Open times are milliseconds, or microseconds in Binance's spot files from 2025 on.
//!   The unit is decided per file from the first bar's magnitude (at least `1e14` is
//!   microseconds: as milliseconds that would be the year 5138), converted to ms, and
//!   every later line must be in the same unit.
//! * Only the first six columns become a [`Bar`]; the other six are counted (a line must
//!   have exactly twelve) but not interpreted, as a bar has no place for them.
//! * A UTF-8 byte-order mark, `\r\n` line ends, blank lines and spaces around fields are
//!   tolerated. Errors give the physical 1-based line.
//!
//! Numbers are parsed straight from the bytes with lexical-core; the only allocation is
//! the bar vector, sized from the line count up front.

use std::path::Path;

use super::error::{Field, HistoryError, Loc};
use super::mintick::{DecimalTicks, MINTICK_BARS};
use super::validate::{parse_f64, parse_i64, BarChecker};
use super::ParsedBars;
use crate::pine::Bar;

/// Columns in a Binance kline CSV line.
pub const COLUMNS: usize = 12;

/// Open times at or above this are microseconds (as ms it is 5138-11-16).
const MICROS_THRESHOLD: u64 = 100_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeUnit {
    Millis,
    Micros,
}

impl TimeUnit {
    fn of(raw: i64) -> TimeUnit {
        if raw.unsigned_abs() >= MICROS_THRESHOLD {
            TimeUnit::Micros
        } else {
            TimeUnit::Millis
        }
    }

    fn name(self) -> &'static str {
        match self {
            TimeUnit::Millis => "milliseconds",
            TimeUnit::Micros => "microseconds",
        }
    }
}

/// Parses and validates the (already decompressed) CSV text `data`; `path` only names
/// the file in errors. Returns the bars and the mintick inferred from the price text.
pub fn parse(path: &Path, data: &[u8]) -> Result<ParsedBars, HistoryError> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    let mut bars = Vec::with_capacity(lines);
    let mut checker = BarChecker::new(path);
    let mut ticks = DecimalTicks::default();
    let mut file_unit: Option<TimeUnit> = None;
    let mut seen_line = false;

    for (i, raw_line) in data.split(|&b| b == b'\n').enumerate() {
        let line = raw_line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if !seen_line {
            seen_line = true;
            if !matches!(line[0], b'0'..=b'9' | b'-' | b'+') {
                continue; // header
            }
        }
        let at = Loc::Line(i + 1);

        let mut fields: [&[u8]; COLUMNS] = [&[]; COLUMNS];
        let mut found = 0usize;
        for field in line.split(|&b| b == b',') {
            if let Some(slot) = fields.get_mut(found) {
                *slot = field.trim_ascii();
            }
            found += 1;
        }
        if found != COLUMNS {
            return Err(HistoryError::ColumnCount {
                path: path.to_path_buf(),
                at,
                what: "columns",
                expected: COLUMNS,
                found,
            });
        }

        let raw_time = parse_i64(path, at, fields[0])?;
        let unit = TimeUnit::of(raw_time);
        let expected = *file_unit.get_or_insert(unit);
        if unit != expected {
            return Err(HistoryError::MixedTimeUnits {
                path: path.to_path_buf(),
                at,
                raw: raw_time,
                found: unit.name(),
                expected: expected.name(),
            });
        }
        let time_ms = match unit {
            TimeUnit::Millis => raw_time,
            TimeUnit::Micros => raw_time.div_euclid(1000),
        };
        let bar = Bar {
            time_ms,
            open: parse_f64(path, at, Field::Open, fields[1])?,
            high: parse_f64(path, at, Field::High, fields[2])?,
            low: parse_f64(path, at, Field::Low, fields[3])?,
            close: parse_f64(path, at, Field::Close, fields[4])?,
            volume: parse_f64(path, at, Field::Volume, fields[5])?,
        };
        checker.check(&bar, at)?;
        if bars.len() < MINTICK_BARS {
            for price in &fields[1..5] {
                ticks.observe(price);
            }
        }
        bars.push(bar);
    }
    Ok(ParsedBars {
        bars,
        mintick: ticks.mintick(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: &str = "t/x.csv";

    fn run(text: &str) -> Result<ParsedBars, String> {
        parse(Path::new(P), text.as_bytes()).map_err(|e| e.to_string())
    }

    const ROW1: &str = "1680364800000,28400.07000000,28443.04000000,28280.00000000,28326.00000000,1529.35437000,1680368399999,43320491.88462000,0,0.00000000,0.00000000,0";
    const ROW2: &str = "1680368400000,28326.00000000,28383.32000000,28317.39000000,28372.37000000,683.02376000,1680371999999,19379002.83751120,0,0.00000000,0.00000000,0";

    #[test]
    fn variants_load() {
        let header = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore";
        // Microsecond form of ROW1 / ROW2, as Binance writes spot files from 2025.
        let micros1 = ROW1.replacen("1680364800000,", "1680364800000000,", 1);
        let micros2 = ROW2.replacen("1680368400000,", "1680368400000000,", 1);
        let cases: Vec<(String, usize)> = vec![
            // TC0: plain, no header.
            (format!("{ROW1}\n{ROW2}\n"), 2),
            // TC1: header row.
            (format!("{header}\n{ROW1}\n{ROW2}"), 2),
            // TC2: microsecond open times.
            (format!("{micros1}\n{micros2}\n"), 2),
            // TC3: CRLF, BOM and a blank line.
            (format!("\u{feff}{header}\r\n{ROW1}\r\n\r\n{ROW2}\r\n"), 2),
            // TC4: an empty file parses to no bars (load() turns that into an error).
            (String::new(), 0),
        ];
        for (i, (text, n)) in cases.iter().enumerate() {
            let parsed = run(text).unwrap_or_else(|e| panic!("TC{i}: {e}"));
            assert_eq!(parsed.bars.len(), *n, "TC{i}");
            if *n == 2 {
                assert_eq!(
                    parsed.bars[0],
                    Bar {
                        time_ms: 1_680_364_800_000,
                        open: 28400.07,
                        high: 28443.04,
                        low: 28280.0,
                        close: 28326.0,
                        volume: 1529.35437,
                    },
                    "TC{i}"
                );
                assert_eq!(parsed.bars[1].time_ms, 1_680_368_400_000, "TC{i}");
                assert_eq!(parsed.mintick, 0.01, "TC{i}");
            }
        }
    }

    #[test]
    fn errors() {
        let tail = "1680368399999,0,0,0,0,0";
        let cases: Vec<(String, &str)> = vec![
            // TC0: a missing column.
            (
                format!("{ROW1}\n1680368400000,1,2,0.5,1,10,1680371999999,0,0,0,0\n"),
                "t/x.csv:2: expected 12 columns, found 11",
            ),
            // TC1: an extra column, after a header (lines count the header).
            (
                format!("open_time,o\n{ROW1},7\n"),
                "t/x.csv:2: expected 12 columns, found 13",
            ),
            // TC2: unparsable price.
            (
                format!("1680364800000,28400.07,abc,28280,28326,1,{tail}\n"),
                "t/x.csv:1: cannot parse \"abc\" as the high price",
            ),
            // TC3: unparsable open time.
            (
                format!("1680364800000.5,1,1,1,1,1,{tail}\n"),
                "t/x.csv:1: cannot parse \"1680364800000.5\" as the open time",
            ),
            // TC4: unparsable volume (empty).
            (
                format!("1680364800000,1,1,1,1,,{tail}\n"),
                "t/x.csv:1: cannot parse \"\" as the volume",
            ),
            // TC5: NaN price.
            (
                format!("1680364800000,NaN,1,1,1,1,{tail}\n"),
                "t/x.csv:1: open price NaN is not a positive finite number",
            ),
            // TC6: infinite price.
            (
                format!("1680364800000,1,inf,1,1,1,{tail}\n"),
                "t/x.csv:1: high price inf is not a positive finite number",
            ),
            // TC7: negative price.
            (
                format!("1680364800000,1,1,-1,1,1,{tail}\n"),
                "t/x.csv:1: low price -1 is not a positive finite number",
            ),
            // TC8: zero price.
            (
                format!("1680364800000,1,1,1,0,1,{tail}\n"),
                "t/x.csv:1: close price 0 is not a positive finite number",
            ),
            // TC9: negative volume.
            (
                format!("1680364800000,1,1,1,1,-2.5,{tail}\n"),
                "t/x.csv:1: volume -2.5 is not a finite non-negative number",
            ),
            // TC10: high below the close.
            (
                format!("1680364800000,10,11,9,11.5,1,{tail}\n"),
                "t/x.csv:1: high 11 is below max(open, close) 11.5",
            ),
            // TC11: low above the open.
            (
                format!("1680364800000,10,11,10.5,11,1,{tail}\n"),
                "t/x.csv:1: low 10.5 is above min(open, close) 10",
            ),
            // TC12: duplicate open time.
            (
                format!("{ROW1}\n{ROW1}\n"),
                "t/x.csv:2: open time 1680364800000 (2023-04-01 16:00:00 UTC) is not after \
                 the previous bar's 1680364800000 (2023-04-01 16:00:00 UTC)",
            ),
            // TC13: out of order.
            (
                format!("{ROW2}\n{ROW1}\n"),
                "t/x.csv:2: open time 1680364800000 (2023-04-01 16:00:00 UTC) is not after \
                 the previous bar's 1680368400000 (2023-04-01 17:00:00 UTC)",
            ),
            // TC14: microseconds then milliseconds.
            (
                format!("1680364800000000,1,1,1,1,1,{tail}\n1680368400000,1,1,1,1,1,{tail}\n"),
                "t/x.csv:2: open time 1680368400000 is in milliseconds but the file's first \
                 bar is in microseconds",
            ),
            // TC15: microsecond rows out of order report ms times.
            (
                format!("1680368400000000,1,1,1,1,1,{tail}\n1680364800000000,1,1,1,1,1,{tail}\n"),
                "t/x.csv:2: open time 1680364800000 (2023-04-01 16:00:00 UTC) is not after \
                 the previous bar's 1680368400000 (2023-04-01 17:00:00 UTC)",
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            match run(text) {
                Ok(_) => panic!("TC{i}: parsed"),
                Err(got) => assert_eq!(got, *want, "TC{i}"),
            }
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(Path::new("r.csv"), &data);
        }

        #[test]
        fn random_csvish_text_never_panics(text in "[0-9,.\\-eE\\n\\r a-z]{0,300}") {
            let _ = parse(Path::new("r.csv"), text.as_bytes());
        }
    }
}
