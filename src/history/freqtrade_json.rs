//! freqtrade JSON klines (`--data-format-ohlcv json` / `jsongz`): one JSON array of rows
//!
//! ```text
//! [[1680364800000,28400.07,28443.04,28280.0,28326.0,1529.35437],[1680368400000,...],...]
//! ```
//!
//! each `[open_time_ms, open, high, low, close, volume]` with JSON numbers.
//!
//! The shape is fixed, so instead of building a `serde_json::Value` tree (an allocation
//! per number) a small scanner walks the bytes once: it checks the brackets and commas,
//! slices out each number token and hands it to lexical-core. Tokens end at `,`, `]`,
//! `[` or whitespace; anything that is not a number (strings, `null`, `true`) fails
//! to parse and is reported with its text. Python's `NaN` / `Infinity`, which
//! freqtrade's writer can emit, parse and are then rejected as non-finite prices.
//! Errors give the 1-based row, and for syntax errors also the byte offset.

use std::path::Path;

use super::error::{Field, HistoryError, Loc};
use super::mintick::{DecimalTicks, MINTICK_BARS};
use super::validate::{parse_f64, parse_i64, BarChecker};
use super::ParsedBars;
use crate::pine::Bar;

/// Values in a freqtrade row.
pub const VALUES: usize = 6;

struct Scanner<'a> {
    path: &'a Path,
    data: &'a [u8],
    pos: usize,
    row: usize,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.data.get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Consumes `byte` or fails with `msg`.
    #[inline]
    fn expect(&mut self, byte: u8, msg: &'static str) -> Result<(), HistoryError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax(msg))
        }
    }

    /// The bytes up to the next delimiter (possibly empty).
    #[inline]
    fn token(&mut self) -> &'a [u8] {
        let start = self.pos;
        while let Some(&b) = self.data.get(self.pos) {
            if matches!(b, b',' | b']' | b'[' | b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }

    #[cold]
    fn syntax(&self, msg: &'static str) -> HistoryError {
        HistoryError::JsonSyntax {
            path: self.path.to_path_buf(),
            row: self.row.max(1),
            offset: self.pos,
            msg,
        }
    }
}

/// Parses and validates the (already decompressed) JSON text `data`; `path` only names
/// the file in errors. Returns the bars and the mintick inferred from the number text.
pub fn parse(path: &Path, data: &[u8]) -> Result<ParsedBars, HistoryError> {
    // A row is at least 13 bytes ("[1,1,1,1,1,1]" plus a comma); real rows are ~60.
    let mut bars = Vec::with_capacity(data.len() / 48 + 1);
    let mut checker = BarChecker::new(path);
    let mut ticks = DecimalTicks::default();
    let mut s = Scanner {
        path,
        data,
        pos: 0,
        row: 0,
    };

    s.skip_ws();
    s.expect(b'[', "expected '[' at the start of the file")?;
    s.skip_ws();
    if s.peek() == Some(b']') {
        s.pos += 1;
    } else {
        loop {
            s.row += 1;
            let at = Loc::Row(s.row);
            s.skip_ws();
            s.expect(b'[', "expected '[' to start a row")?;
            let mut values: [&[u8]; VALUES] = [&[]; VALUES];
            let mut found = 0usize;
            s.skip_ws();
            if s.peek() == Some(b']') {
                s.pos += 1;
            } else {
                loop {
                    s.skip_ws();
                    let token = s.token();
                    if let Some(slot) = values.get_mut(found) {
                        *slot = token;
                    }
                    found += 1;
                    s.skip_ws();
                    match s.peek() {
                        Some(b',') => s.pos += 1,
                        Some(b']') => {
                            s.pos += 1;
                            break;
                        }
                        _ => return Err(s.syntax("expected ',' or ']' inside a row")),
                    }
                }
            }
            if found != VALUES {
                return Err(HistoryError::ColumnCount {
                    path: path.to_path_buf(),
                    at,
                    what: "values",
                    expected: VALUES,
                    found,
                });
            }
            let bar = Bar {
                time_ms: parse_i64(path, at, values[0])?,
                open: parse_f64(path, at, Field::Open, values[1])?,
                high: parse_f64(path, at, Field::High, values[2])?,
                low: parse_f64(path, at, Field::Low, values[3])?,
                close: parse_f64(path, at, Field::Close, values[4])?,
                volume: parse_f64(path, at, Field::Volume, values[5])?,
            };
            checker.check(&bar, at)?;
            if bars.len() < MINTICK_BARS {
                for price in &values[1..5] {
                    ticks.observe(price);
                }
            }
            bars.push(bar);

            s.skip_ws();
            match s.peek() {
                Some(b',') => s.pos += 1,
                Some(b']') => {
                    s.pos += 1;
                    break;
                }
                _ => return Err(s.syntax("expected ',' or ']' after a row")),
            }
        }
    }
    s.skip_ws();
    if s.pos != data.len() {
        return Err(s.syntax("unexpected data after the closing ']'"));
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

    const P: &str = "t/x.json";

    fn run(text: &str) -> Result<ParsedBars, String> {
        parse(Path::new(P), text.as_bytes()).map_err(|e| e.to_string())
    }

    const R1: &str = "[1680364800000,28400.07,28443.04,28280.0,28326.0,1529.35437]";
    const R2: &str = "[1680368400000,28326.0,28383.32,28317.39,28372.37,683.02376]";

    #[test]
    fn variants_load() {
        let cases: Vec<(String, usize, f64)> =
            vec![
            // TC0: compact, as freqtrade writes.
            (format!("[{R1},{R2}]"), 2, 0.01),
            // TC1: pretty-printed with whitespace everywhere.
            (
                "[\n  [ 1680364800000 , 28400.07, 28443.04, 28280.0, 28326.0, 1529.35437 ] ,\n  \
                 [1680368400000,28326.0,28383.32,28317.39,28372.37,683.02376]\n]\n"
                    .to_owned(),
                2,
                0.01,
            ),
            // TC2: empty array.
            ("[]".to_owned(), 0, 1.0),
            // TC3: exponent notation from Python for a small-priced coin.
            ("[[1,1.234e-05,1.3e-05,1.2e-05,1.25e-05,100]]".to_owned(), 1, 1e-8),
        ];
        for (i, (text, n, tick)) in cases.iter().enumerate() {
            let parsed = run(text).unwrap_or_else(|e| panic!("TC{i}: {e}"));
            assert_eq!(parsed.bars.len(), *n, "TC{i}");
            assert_eq!(parsed.mintick, *tick, "TC{i}");
        }
        let parsed = run(&format!("[{R1},{R2}]")).unwrap();
        assert_eq!(
            parsed.bars[1],
            Bar {
                time_ms: 1_680_368_400_000,
                open: 28326.0,
                high: 28383.32,
                low: 28317.39,
                close: 28372.37,
                volume: 683.02376,
            }
        );
    }

    #[test]
    fn errors() {
        let cases: Vec<(String, &str)> = vec![
            // TC0: five values.
            (
                format!("[{R1},[1680368400000,1,1,1,1]]"),
                "t/x.json: row 2: expected 6 values, found 5",
            ),
            // TC1: seven values.
            (
                "[[1,1,1,1,1,1,1]]".to_owned(),
                "t/x.json: row 1: expected 6 values, found 7",
            ),
            // TC2: empty row.
            (
                "[[]]".to_owned(),
                "t/x.json: row 1: expected 6 values, found 0",
            ),
            // TC3: a string price.
            (
                "[[1,\"1.0\",1,1,1,1]]".to_owned(),
                "t/x.json: row 1: cannot parse \"\\\"1.0\\\"\" as the open price",
            ),
            // TC4: null volume.
            (
                "[[1,1,1,1,1,null]]".to_owned(),
                "t/x.json: row 1: cannot parse \"null\" as the volume",
            ),
            // TC5: float open time.
            (
                "[[1.5,1,1,1,1,1]]".to_owned(),
                "t/x.json: row 1: cannot parse \"1.5\" as the open time",
            ),
            // TC6: Python NaN.
            (
                "[[1,1,1,1,NaN,1]]".to_owned(),
                "t/x.json: row 1: close price NaN is not a positive finite number",
            ),
            // TC7: Python -Infinity.
            (
                "[[1,-Infinity,1,1,1,1]]".to_owned(),
                "t/x.json: row 1: open price -inf is not a positive finite number",
            ),
            // TC8: negative volume.
            (
                "[[1,1,1,1,1,-1]]".to_owned(),
                "t/x.json: row 1: volume -1 is not a finite non-negative number",
            ),
            // TC9: high below open.
            (
                "[[1,5,4,3,4,1]]".to_owned(),
                "t/x.json: row 1: high 4 is below max(open, close) 5",
            ),
            // TC10: low above close.
            (
                "[[1,5,6,4.5,4,1]]".to_owned(),
                "t/x.json: row 1: low 4.5 is above min(open, close) 4",
            ),
            // TC11: duplicate time.
            (
                format!("[{R1},{R1}]"),
                "t/x.json: row 2: open time 1680364800000 (2023-04-01 16:00:00 UTC) is not \
                 after the previous bar's 1680364800000 (2023-04-01 16:00:00 UTC)",
            ),
            // TC12: out of order.
            (
                format!("[{R2},{R1}]"),
                "t/x.json: row 2: open time 1680364800000 (2023-04-01 16:00:00 UTC) is not \
                 after the previous bar's 1680368400000 (2023-04-01 17:00:00 UTC)",
            ),
            // TC13: not an array.
            (
                "{\"a\":1}".to_owned(),
                "t/x.json: row 1, byte offset 0: expected '[' at the start of the file",
            ),
            // TC14: missing comma between rows.
            (
                format!("[{R1} {R2}]"),
                "t/x.json: row 1, byte offset 62: expected ',' or ']' after a row",
            ),
            // TC15: truncated file.
            (
                "[[1,1,1,1,1,1],[2,1".to_owned(),
                "t/x.json: row 2, byte offset 19: expected ',' or ']' inside a row",
            ),
            // TC16: trailing garbage.
            (
                "[[1,1,1,1,1,1]] x".to_owned(),
                "t/x.json: row 1, byte offset 16: unexpected data after the closing ']'",
            ),
            // TC17: row that is not an array.
            (
                "[1,2]".to_owned(),
                "t/x.json: row 1, byte offset 1: expected '[' to start a row",
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
            let _ = parse(Path::new("r.json"), &data);
        }

        #[test]
        fn random_jsonish_text_never_panics(text in "[\\[\\]0-9,.\\-eE nul]{0,300}") {
            let _ = parse(Path::new("r.json"), text.as_bytes());
        }
    }
}
