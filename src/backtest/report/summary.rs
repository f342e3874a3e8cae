//! The "Performance Summary" table of TradingView's strategy tester, as text.
//!
//! The rows are computed once (a private `SummaryTable`) and rendered both as the
//! plain-text table the CLI prints and as the HTML table of the report, so that the two
//! never disagree.
//!
//! Percentages: net profit, gross profit, gross loss, buy & hold return and open P&L are
//! shown as a percentage of the initial capital; max drawdown as a percentage of the
//! equity peak it fell from (TradingView's definition, [`Stats::max_drawdown_pct`]); the
//! average and largest trade rows as the trade's own return on its entry value
//! (`profit / (entry_price × qty)`), as TradingView's "Avg trade %" is.

use crate::backtest::result::{BacktestRun, Stats, SymbolRun, Trade};

use crate::calendar::iso8601_date;

/// The text shown for a value that is not a number (`NaN`, e.g. a profit factor without
/// losing trades).
pub const NA: &str = "n/a";

/// `x` with `decimals` decimals and `,` between thousands (`-1,234.50`); `n/a` for NaN,
/// `inf`/`-inf` for infinities. A value that rounds to zero never shows a minus sign.
pub(crate) fn group_thousands(x: f64, decimals: usize) -> String {
    if x.is_nan() {
        return NA.to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let raw = format!("{:.*}", decimals, x.abs());
    let (int, frac) = match raw.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (raw.as_str(), None),
    };
    let mut out = String::with_capacity(raw.len() + raw.len() / 3 + 1);
    let negative = x < 0.0 && raw.bytes().any(|b| (b'1'..=b'9').contains(&b));
    if negative {
        out.push('-');
    }
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// Money: 2 decimals with thousands separators.
pub(crate) fn money(x: f64) -> String {
    group_thousands(x, 2)
}

/// A fraction as a percentage with 2 decimals (`0.1234` → `12.34%`).
pub(crate) fn percent(fraction: f64) -> String {
    if fraction.is_nan() {
        NA.to_string()
    } else {
        format!("{}%", group_thousands(fraction * 100.0, 2))
    }
}

/// Money followed by a percentage in parentheses; only `n/a` when the money is NaN.
fn money_pct(x: f64, fraction: f64) -> String {
    if x.is_nan() {
        NA.to_string()
    } else {
        format!("{} ({})", money(x), percent(fraction))
    }
}

fn ratio(x: f64) -> String {
    group_thousands(x, 3)
}

/// Share of the initial capital, NaN when there is no positive capital to relate to.
fn of_capital(x: f64, capital: f64) -> f64 {
    if capital > 0.0 {
        x / capital
    } else {
        f64::NAN
    }
}

/// The return of one trade on its entry value; NaN when the entry value is zero.
pub(crate) fn trade_return(t: &Trade) -> f64 {
    let value = t.entry_price * t.qty;
    if value != 0.0 {
        t.profit / value
    } else {
        f64::NAN
    }
}

/// Per-trade returns aggregated like TradingView's percentage columns.
struct TradeReturns {
    avg_trade: f64,
    avg_win: f64,
    avg_loss: f64,
    largest_win: f64,
    largest_loss: f64,
}

impl TradeReturns {
    fn of<'a>(trades: impl Iterator<Item = &'a Trade>) -> TradeReturns {
        let (mut all, mut n_all) = (0.0, 0usize);
        let (mut win, mut n_win, mut max_win) = (0.0, 0usize, f64::NAN);
        let (mut loss, mut n_loss, mut max_loss) = (0.0, 0usize, f64::NAN);
        for t in trades {
            let r = trade_return(t);
            if r.is_nan() {
                continue;
            }
            all += r;
            n_all += 1;
            if t.profit > 0.0 {
                win += r;
                n_win += 1;
                max_win = if max_win.is_nan() { r } else { max_win.max(r) };
            } else if t.profit < 0.0 {
                loss += r;
                n_loss += 1;
                max_loss = if max_loss.is_nan() {
                    r
                } else {
                    max_loss.min(r)
                };
            }
        }
        let mean = |s: f64, n: usize| if n > 0 { s / n as f64 } else { f64::NAN };
        TradeReturns {
            avg_trade: mean(all, n_all),
            avg_win: mean(win, n_win),
            avg_loss: mean(loss, n_loss),
            largest_win: max_win,
            largest_loss: max_loss,
        }
    }
}

/// Row labels, in TradingView's order.
pub(crate) const ROWS: [&str; 21] = [
    "Net profit",
    "Gross profit",
    "Gross loss",
    "Max drawdown",
    "Buy & hold return",
    "Sharpe ratio",
    "Sortino ratio",
    "Profit factor",
    "Total closed trades",
    "Number winning trades",
    "Number losing trades",
    "Percent profitable",
    "Avg trade",
    "Avg winning trade",
    "Avg losing trade",
    "Largest winning trade",
    "Largest losing trade",
    "Avg # bars in trades",
    "Commission paid",
    "Open P&L",
    "Initial capital",
];

/// One column of cells, in [`ROWS`] order.
fn column<'a>(s: &Stats, trades: impl Iterator<Item = &'a Trade>) -> Vec<String> {
    let r = TradeReturns::of(trades);
    let cap = s.initial_capital;
    vec![
        money_pct(s.net_profit, of_capital(s.net_profit, cap)),
        money_pct(s.gross_profit, of_capital(s.gross_profit, cap)),
        money_pct(s.gross_loss, of_capital(s.gross_loss, cap)),
        money_pct(s.max_drawdown, s.max_drawdown_pct),
        money_pct(s.buy_hold_return, of_capital(s.buy_hold_return, cap)),
        ratio(s.sharpe),
        ratio(s.sortino),
        ratio(s.profit_factor),
        group_thousands(s.total_trades as f64, 0),
        group_thousands(s.winning_trades as f64, 0),
        group_thousands(s.losing_trades as f64, 0),
        percent(s.win_rate),
        money_pct(s.avg_trade, r.avg_trade),
        money_pct(s.avg_win, r.avg_win),
        money_pct(s.avg_loss, r.avg_loss),
        money_pct(s.largest_win, r.largest_win),
        money_pct(s.largest_loss, r.largest_loss),
        group_thousands(s.avg_bars_in_trade, 0),
        money(s.commission_paid),
        money_pct(s.open_profit, of_capital(s.open_profit, cap)),
        money(cap),
    ]
}

/// The summary as rows × columns of display strings, shared by the text and HTML
/// renderings.
pub(crate) struct SummaryTable {
    /// Column headings (`BTCUSDT 5m`, ..., `Total`).
    pub columns: Vec<String>,
    /// `cells[col][row]`, rows in [`ROWS`] order.
    pub cells: Vec<Vec<String>>,
}

impl SummaryTable {
    /// One column per symbol, plus `Total` when there is not exactly one symbol.
    pub(crate) fn of_run(run: &BacktestRun) -> SummaryTable {
        let mut t = SummaryTable {
            columns: Vec::new(),
            cells: Vec::new(),
        };
        for r in &run.runs {
            t.columns.push(symbol_heading(r));
            t.cells.push(column(&r.stats, r.trades.iter()));
        }
        if run.runs.len() != 1 {
            t.columns.push("Total".to_string());
            let all = run.runs.iter().flat_map(|r| r.trades.iter());
            t.cells.push(column(&run.total, all));
        }
        t
    }

    /// The single column of one symbol.
    pub(crate) fn of_symbol(r: &SymbolRun) -> SummaryTable {
        SummaryTable {
            columns: vec![symbol_heading(r)],
            cells: vec![column(&r.stats, r.trades.iter())],
        }
    }
}

/// `BTCUSDT 5m`: how a symbol's run is named in headings.
pub(crate) fn symbol_heading(r: &SymbolRun) -> String {
    if r.timeframe.is_empty() {
        r.symbol.clone()
    } else {
        format!("{} {}", r.symbol, r.timeframe)
    }
}

/// First and last bar open time over all symbols; `None` without bars.
pub(crate) fn period(run: &BacktestRun) -> Option<(i64, i64)> {
    let first = run
        .runs
        .iter()
        .filter_map(|r| r.bars.first())
        .map(|b| b.time_ms)
        .min()?;
    let last = run
        .runs
        .iter()
        .filter_map(|r| r.bars.last())
        .map(|b| b.time_ms)
        .max()?;
    Some((first, last))
}

/// The header lines: title, symbols, period and bar count.
fn header(run: &BacktestRun) -> String {
    let title = if run.settings.title.is_empty() {
        "(untitled strategy)"
    } else {
        run.settings.title.as_str()
    };
    let symbols: Vec<String> = run.runs.iter().map(symbol_heading).collect();
    let bars: usize = run.runs.iter().map(|r| r.bars.len()).sum();
    let period = match period(run) {
        Some((a, b)) => format!("{} to {} (UTC)", iso8601_date(a), iso8601_date(b)),
        None => "no bars".to_string(),
    };
    format!(
        "Performance summary: {title}\nSymbols: {}\nPeriod:  {period}, {} bars\n",
        if symbols.is_empty() {
            "none".to_string()
        } else {
            symbols.join(", ")
        },
        group_thousands(bars as f64, 0),
    )
}

/// The performance summary of a run as a text table for the terminal: a header with the
/// strategy title, the symbols and timeframes, the period (ISO dates, UTC) and the number
/// of bars; then one row per TradingView statistic (see [`crate::backtest::report::summary`]
/// for what the percentages relate to) and one column per symbol, plus a `Total` column
/// when there are several symbols. Money has 2 decimals and thousands separators; a value
/// that is not a number reads `n/a`. Ends with a newline.
pub fn summary_text(run: &BacktestRun) -> String {
    let table = SummaryTable::of_run(run);
    let label_w = ROWS.iter().map(|r| r.len()).max().unwrap_or(0) + 2;
    let widths: Vec<usize> = table
        .columns
        .iter()
        .zip(&table.cells)
        .map(|(h, col)| {
            col.iter()
                .map(|c| c.chars().count())
                .chain(std::iter::once(h.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = header(run);
    out.push('\n');
    let mut line = format!("{:label_w$}", "");
    for (h, w) in table.columns.iter().zip(&widths) {
        line.push_str(&format!("  {}", pad_left(h, *w)));
    }
    out.push_str(line.trim_end());
    out.push('\n');
    let total_w = label_w + widths.iter().map(|w| w + 2).sum::<usize>();
    out.push_str(&"-".repeat(total_w));
    out.push('\n');
    for (i, label) in ROWS.iter().enumerate() {
        let mut line = format!("{label:label_w$}");
        for (col, w) in table.cells.iter().zip(&widths) {
            line.push_str(&format!("  {}", pad_left(&col[i], *w)));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Right-aligns by characters, not bytes (symbols and titles may be any Unicode).
fn pad_left(s: &str, w: usize) -> String {
    let n = s.chars().count();
    format!("{}{s}", " ".repeat(w.saturating_sub(n)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::report::testdata::small_run;

    #[test]
    fn group_thousands_cases() {
        let cases: &[(f64, usize, &str)] = &[
            // TC0: zero
            (0.0, 2, "0.00"),
            // TC1: thousands
            (1234.5, 2, "1,234.50"),
            // TC2: millions, negative
            (-1_234_567.891, 2, "-1,234,567.89"),
            // TC3: rounds to zero: no minus sign
            (-0.001, 2, "0.00"),
            // TC4: exactly three digits: no separator
            (999.0, 0, "999"),
            // TC5: NaN
            (f64::NAN, 2, "n/a"),
            // TC6: infinities
            (f64::INFINITY, 2, "inf"),
            (f64::NEG_INFINITY, 3, "-inf"),
            // TC7: 100,000
            (100_000.0, 0, "100,000"),
        ];
        for (i, (x, d, want)) in cases.iter().enumerate() {
            assert_eq!(group_thousands(*x, *d), *want, "case {i}");
        }
    }

    #[test]
    fn summary_text_one_symbol() {
        let run = small_run();
        let text = summary_text(&run);
        let row = |label: &str| -> String {
            text.lines()
                .find(|l| l.starts_with(label))
                .unwrap_or_else(|| panic!("row {label} missing in\n{text}"))
                .to_string()
        };
        // TC0: header with the title, symbol/timeframe, ISO period and bars
        assert!(
            text.starts_with("Performance summary: Test \"strat\"\n"),
            "{text}"
        );
        assert!(text.contains("Symbols: BTCUSDT 5m\n"), "{text}");
        assert!(
            text.contains("Period:  2024-03-01 to 2024-03-01 (UTC), 4 bars"),
            "{text}"
        );
        // TC1: one symbol: no Total column
        let head = text.lines().nth(4).unwrap_or_default();
        assert_eq!(head.trim(), "BTCUSDT 5m", "{text}");
        // TC2: every row is present
        for label in ROWS {
            row(label);
        }
        // TC3: money with 2 decimals and % of the initial capital (10,000)
        assert!(
            row("Net profit").ends_with("5.20 (0.05%)"),
            "{}",
            row("Net profit")
        );
        assert!(
            row("Gross loss").ends_with("4.80 (0.05%)"),
            "{}",
            row("Gross loss")
        );
        // TC4: max drawdown as % of the peak
        assert!(
            row("Max drawdown").ends_with("12.00 (0.12%)"),
            "{}",
            row("Max drawdown")
        );
        // TC5: NaN shows as n/a (sortino NaN in the fixture)
        assert!(
            row("Sortino ratio").ends_with("n/a"),
            "{}",
            row("Sortino ratio")
        );
        // TC6: counts and percent profitable
        assert!(row("Total closed trades").ends_with(" 2"));
        assert!(row("Percent profitable").ends_with("50.00%"));
        // TC7: avg trade % is the trade's return on its entry value: winner 10/100 = 10%,
        // loser -4.8/(1*104) = -4.615%, mean 2.69%
        assert!(
            row("Avg trade").ends_with("2.60 (2.69%)"),
            "{}",
            row("Avg trade")
        );
        assert!(row("Largest winning trade").ends_with("10.00 (10.00%)"));
        assert!(row("Largest losing trade").ends_with("-4.80 (-4.62%)"));
        assert!(row("Commission paid").ends_with("0.40"));
        assert!(row("Avg # bars in trades").ends_with(" 1"));
    }

    #[test]
    fn summary_text_several_symbols_has_total() {
        let mut run = small_run();
        let mut second = run.runs[0].clone();
        second.symbol = "ETHUSDT".into();
        second.timeframe = "1h".into();
        run.runs.push(second);
        run.total.net_profit = 10.4;
        let text = summary_text(&run);
        // TC0: a column per symbol and a Total column, in the header line
        let head = text.lines().nth(4).unwrap_or_default();
        assert!(head.contains("BTCUSDT 5m"), "{text}");
        assert!(head.contains("ETHUSDT 1h"), "{text}");
        assert!(head.trim_end().ends_with("Total"), "{text}");
        assert!(text.contains("Symbols: BTCUSDT 5m, ETHUSDT 1h"), "{text}");
        assert!(text.contains("8 bars"), "{text}");
        // TC1: Total column comes from run.total
        let net = text
            .lines()
            .find(|l| l.starts_with("Net profit"))
            .unwrap_or_default();
        assert!(net.ends_with("10.40 (0.10%)"), "{net}");
    }
}
