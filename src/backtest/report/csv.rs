//! Trades and plots as CSV (RFC 4180, `\n` line ends), for spreadsheets and notebooks.
//!
//! Numbers are written with Rust's shortest round-trip `{}` formatting of `f64`, so that
//! a reader gets back exactly the value the backtest computed (never rounded, never in
//! exponent notation); a `NaN` is an empty cell.

use std::io::{self, Write};

use crate::backtest::result::{BacktestRun, SymbolRun};
use crate::pine::strategy::Direction;

use crate::calendar::iso8601_utc;

/// The trades CSV header (one symbol); with several symbols a `symbol,` column comes first.
pub const TRADES_HEADER: &str =
    "trade,side,entry_time,entry_price,exit_time,exit_price,qty,profit,commission";

/// A field quoted when it holds a comma, a quote or a line break (quotes doubled).
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// An `f64` cell: shortest round-trip text, empty for `NaN`.
fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        format!("{x}")
    }
}

/// `long` / `short`.
pub(crate) fn side(d: Direction) -> &'static str {
    match d {
        Direction::Long => "long",
        Direction::Short => "short",
    }
}

/// Writes every closed trade of `run` as CSV.
///
/// Header, exactly: `trade,side,entry_time,entry_price,exit_time,exit_price,qty,profit,commission`
/// ([`TRADES_HEADER`]). When the run has more than one symbol, every line starts with an
/// extra `symbol` column (header `symbol,trade,...`) so that the rows stay apart; with one
/// symbol (or none) there is no such column. `trade` numbers from 1 within each symbol in
/// exit order (the order of [`SymbolRun::trades`]); `side` is `long` or `short`; times are
/// the fill bars' open times in ISO-8601 UTC; numbers use the shortest round-trip `{}`
/// formatting of `f64` (a `NaN` is an empty cell). Trades still open at the end are not
/// rows (they have no exit). Order ids are not columns: the JSON output has them.
pub fn write_trades_csv(run: &BacktestRun, w: &mut impl Write) -> io::Result<()> {
    let several = run.runs.len() > 1;
    if several {
        w.write_all(b"symbol,")?;
    }
    writeln!(w, "{TRADES_HEADER}")?;
    for r in &run.runs {
        let symbol = csv_field(&r.symbol);
        for (i, t) in r.trades.iter().enumerate() {
            if several {
                write!(w, "{symbol},")?;
            }
            writeln!(
                w,
                "{},{},{},{},{},{},{},{},{}",
                i + 1,
                side(t.direction),
                iso8601_utc(t.entry_time_ms),
                num(t.entry_price),
                iso8601_utc(t.exit_time_ms),
                num(t.exit_price),
                num(t.qty),
                num(t.profit),
                num(t.commission),
            )?;
        }
    }
    Ok(())
}

/// Writes what the script plotted on one symbol as CSV: header `time,<title>,...` with
/// the titles of [`crate::backtest::Plots::titles`] in order (quoted when they hold a
/// comma, a quote or a line break), then one row per bar: the bar's open time in
/// ISO-8601 UTC and each plot's value (shortest round-trip `{}` text, an empty cell for
/// `na`, and also empty where a plot has fewer values than there are bars).
pub fn write_plots_csv(run: &SymbolRun, w: &mut impl Write) -> io::Result<()> {
    w.write_all(b"time")?;
    for title in &run.plots.titles {
        write!(w, ",{}", csv_field(title))?;
    }
    w.write_all(b"\n")?;
    let columns = run.plots.titles.len();
    let mut line = String::new();
    for (i, bar) in run.bars.iter().enumerate() {
        line.clear();
        line.push_str(&iso8601_utc(bar.time_ms));
        for p in 0..columns {
            line.push(',');
            let v = run.plots.values.get(p).and_then(|col| col.get(i)).copied();
            line.push_str(&num(v.unwrap_or(f64::NAN)));
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::report::testdata::small_run;

    fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut buf = Vec::new();
        f(&mut buf).expect("writing to a Vec cannot fail");
        String::from_utf8(buf).expect("CSV is UTF-8")
    }

    #[test]
    fn trades_csv_one_symbol_exact() {
        // TC0: exact bytes: header, numbering from 1, sides, ISO times, `{}` numbers,
        // no row for the open trade
        let run = small_run();
        let got = text(|w| write_trades_csv(&run, w));
        let want = "\
trade,side,entry_time,entry_price,exit_time,exit_price,qty,profit,commission
1,long,2024-03-01T00:00:00Z,100,2024-03-01T00:05:00Z,110.2,1,10,0.2
2,short,2024-03-01T00:10:00Z,104,2024-03-01T00:15:00Z,108.6,1,-4.8,0.2
";
        assert_eq!(got, want);
    }

    #[test]
    fn trades_csv_several_symbols_exact() {
        // TC0: a leading symbol column (quoted when needed), numbering restarts per symbol
        let mut run = small_run();
        let mut second = run.runs[0].clone();
        second.symbol = "ETH,USDT".into();
        second.trades.truncate(1);
        second.trades[0].qty = 0.1 + 0.2;
        second.trades[0].profit = f64::NAN;
        run.runs.push(second);
        let got = text(|w| write_trades_csv(&run, w));
        let want = "\
symbol,trade,side,entry_time,entry_price,exit_time,exit_price,qty,profit,commission
BTCUSDT,1,long,2024-03-01T00:00:00Z,100,2024-03-01T00:05:00Z,110.2,1,10,0.2
BTCUSDT,2,short,2024-03-01T00:10:00Z,104,2024-03-01T00:15:00Z,108.6,1,-4.8,0.2
\"ETH,USDT\",1,long,2024-03-01T00:00:00Z,100,2024-03-01T00:05:00Z,110.2,0.30000000000000004,,0.2
";
        assert_eq!(got, want);
    }

    #[test]
    fn trades_csv_no_trades_is_header_only() {
        // TC0: header line only
        let mut run = small_run();
        run.runs[0].trades.clear();
        assert_eq!(
            text(|w| write_trades_csv(&run, w)),
            format!("{TRADES_HEADER}\n")
        );
    }

    #[test]
    fn plots_csv_exact() {
        // TC0: quoted titles, empty cells for na, shortest round-trip numbers without
        // exponents
        let run = small_run();
        let got = text(|w| write_plots_csv(&run.runs[0], w));
        let want = "\
time,\"EMA, fast\",\"say \"\"hi\"\"\",plot
2024-03-01T00:00:00Z,,1,1000000000000000000000
2024-03-01T00:05:00Z,100.5,,0.0000001
2024-03-01T00:10:00Z,101.25,,0
2024-03-01T00:15:00Z,0.30000000000000004,-2.5,
";
        assert_eq!(got, want);
    }

    #[test]
    fn plots_csv_short_columns_and_no_plots() {
        let mut run = small_run().runs.remove(0);
        // TC0: a plot column shorter than the bars gives empty cells, not a panic
        run.plots.values[1].truncate(1);
        let got = text(|w| write_plots_csv(&run, w));
        assert!(
            got.ends_with("2024-03-01T00:15:00Z,0.30000000000000004,,\n"),
            "{got}"
        );
        // TC1: no plots: the time column alone
        run.plots = Default::default();
        let got = text(|w| write_plots_csv(&run, w));
        assert_eq!(got.lines().next(), Some("time"));
        assert_eq!(got.lines().count(), 5);
    }
}
