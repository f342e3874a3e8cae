//! The HTML report: one self-contained file that opens offline.
//!
//! Layout: a header with the strategy and its settings; a portfolio summary when there are
//! several symbols; then per symbol a candlestick chart with the fills, the equity curve
//! (with buy & hold), the drawdown (underwater) curve, the performance summary and the
//! trade table. Styles and the drawing code are inline (no CDN, fonts or images), the
//! charts are drawn by a small hand-written script on `<canvas>`.
//!
//! Size is bounded whatever the run's length: bars are aggregated into at most
//! [`TARGET_CANDLES`] candles, fill markers are merged per candle, shape and outcome
//! (a count is kept), numbers are written with the precision a chart needs, and the trade
//! table lists at most the first and the last [`TABLE_EDGE`] trades. A 140,614-bar run
//! with 30,000 trades comes to well under 2 MB.
//!
//! Escaping: every string that came from the user (strategy title, symbol, order ids)
//! is HTML-escaped in markup; the chart data is JSON inside a
//! `<script type="application/json">` block in which `<`, `>` and `&` are written as
//! `\u003c`, `\u003e`, `\u0026`, so no text can close the block.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::backtest::result::{BacktestRun, SymbolRun, Trade};
use crate::pine::strategy::{CommissionType, Direction, QtyType};
use crate::pine::StrategySettings;

use super::summary::{self, group_thousands, money, SummaryTable, ROWS};
use crate::calendar::{iso8601_date, iso8601_utc};

/// Bars beyond this many are aggregated: consecutive bars are merged into candles so
/// that a chart has at most this many.
pub const TARGET_CANDLES: usize = 2000;
/// The trade table shows this many trades from each end of a longer list.
pub const TABLE_EDGE: usize = 500;

/// Text made safe for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A JSON string literal that is also safe inside a `<script>` element.
fn js_string(s: &str) -> String {
    let mut lit = String::with_capacity(s.len() + 2);
    lit.push('"');
    for c in s.chars() {
        match c {
            '"' => lit.push_str("\\\""),
            '\\' => lit.push_str("\\\\"),
            '<' => lit.push_str("\\u003c"),
            '>' => lit.push_str("\\u003e"),
            '&' => lit.push_str("\\u0026"),
            '\u{2028}' => lit.push_str("\\u2028"),
            '\u{2029}' => lit.push_str("\\u2029"),
            c if (c as u32) < 0x20 => lit.push_str(&format!("\\u{:04x}", c as u32)),
            c => lit.push(c),
        }
    }
    lit.push('"');
    lit
}

/// `x` with at most `decimals` decimals, trailing zeros dropped; `null` when not finite.
fn push_num(out: &mut String, x: f64, decimals: usize) {
    if !x.is_finite() {
        out.push_str("null");
        return;
    }
    let s = format!("{:.*}", decimals, x);
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s.as_str()
    };
    out.push_str(if s == "-0" { "0" } else { s });
}

fn push_array(out: &mut String, key: &str, values: &[f64], decimals: usize) {
    out.push('"');
    out.push_str(key);
    out.push_str("\":[");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_num(out, *v, decimals);
    }
    out.push(']');
}

/// Decimals that keep about 7 significant digits of the largest price: 2 for 67,123.45,
/// 7 for 0.5123, 11 for 0.00001234.
fn price_decimals(max_abs: f64) -> usize {
    if !(max_abs.is_finite() && max_abs > 0.0) {
        return 8;
    }
    (6 - max_abs.log10().floor() as i64).clamp(0, 12) as usize
}

/// Marker shapes, as the chart script knows them.
const SHAPE_LONG_ENTRY: u8 = 0;
const SHAPE_SHORT_ENTRY: u8 = 1;
const SHAPE_EXIT: u8 = 2;
/// Marker colours: the outcome of the trade the fill belongs to.
const OUTCOME_WIN: u8 = 0;
const OUTCOME_LOSS: u8 = 1;
const OUTCOME_OPEN_OR_FLAT: u8 = 2;

fn outcome(t: &Trade) -> u8 {
    if t.profit > 0.0 {
        OUTCOME_WIN
    } else if t.profit < 0.0 {
        OUTCOME_LOSS
    } else {
        OUTCOME_OPEN_OR_FLAT
    }
}

fn entry_shape(d: Direction) -> u8 {
    match d {
        Direction::Long => SHAPE_LONG_ENTRY,
        Direction::Short => SHAPE_SHORT_ENTRY,
    }
}

/// One symbol's chart data, aggregated to at most [`TARGET_CANDLES`] candles.
struct ChartData {
    /// Bars per candle.
    bars_per_candle: usize,
    price_decimals: usize,
    time_ms: Vec<f64>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    /// Equity at the close of each candle's last bar.
    equity: Vec<f64>,
    /// Value of buying the initial capital at the first open and holding.
    buy_hold: Vec<f64>,
    /// Deepest drawdown within each candle, in percent of the running equity peak (≤ 0).
    drawdown_pct: Vec<f64>,
    /// (candle, shape, outcome) → (price of the first such fill, number of fills).
    markers: BTreeMap<(usize, u8, u8), (f64, u32)>,
}

impl ChartData {
    fn of(r: &SymbolRun) -> ChartData {
        let n = r.bars.len();
        let k = n.div_ceil(TARGET_CANDLES).max(1);
        let candles = n.div_ceil(k);
        let mut d = ChartData {
            bars_per_candle: k,
            price_decimals: price_decimals(r.bars.iter().map(|b| b.high.abs()).fold(0.0, f64::max)),
            time_ms: Vec::with_capacity(candles),
            open: Vec::with_capacity(candles),
            high: Vec::with_capacity(candles),
            low: Vec::with_capacity(candles),
            close: Vec::with_capacity(candles),
            equity: Vec::with_capacity(candles),
            buy_hold: Vec::with_capacity(candles),
            drawdown_pct: Vec::with_capacity(candles),
            markers: BTreeMap::new(),
        };
        let first_open = r.bars.first().map_or(f64::NAN, |b| b.open);
        let capital = r.stats.initial_capital;
        let mut peak = f64::NAN;
        for (ci, chunk) in r.bars.chunks(k).enumerate() {
            let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
                continue;
            };
            d.time_ms.push(first.time_ms as f64);
            d.open.push(first.open);
            d.high
                .push(chunk.iter().map(|b| b.high).fold(f64::NAN, f64::max));
            d.low
                .push(chunk.iter().map(|b| b.low).fold(f64::NAN, f64::min));
            d.close.push(last.close);
            let start = ci * k;
            let end = start + chunk.len();
            d.equity
                .push(r.equity.get(end - 1).copied().unwrap_or(f64::NAN));
            d.buy_hold.push(if first_open > 0.0 {
                capital * last.close / first_open
            } else {
                f64::NAN
            });
            let mut deepest = f64::NAN;
            for &e in r.equity.get(start..end.min(r.equity.len())).unwrap_or(&[]) {
                if e.is_nan() {
                    continue;
                }
                peak = if peak.is_nan() { e } else { peak.max(e) };
                if peak > 0.0 {
                    let dd = (e - peak) / peak * 100.0;
                    deepest = if deepest.is_nan() {
                        dd
                    } else {
                        deepest.min(dd)
                    };
                }
            }
            d.drawdown_pct.push(deepest);
        }
        let mut mark = |bar: usize, shape: u8, outcome: u8, price: f64| {
            if bar < n {
                let m = d
                    .markers
                    .entry((bar / k, shape, outcome))
                    .or_insert((price, 0));
                m.1 += 1;
            }
        };
        for t in &r.trades {
            let o = outcome(t);
            mark(t.entry_bar, entry_shape(t.direction), o, t.entry_price);
            mark(t.exit_bar, SHAPE_EXIT, o, t.exit_price);
        }
        for t in &r.open_trades {
            mark(
                t.entry_bar,
                entry_shape(t.direction),
                OUTCOME_OPEN_OR_FLAT,
                t.entry_price,
            );
        }
        d
    }

    /// The compact JSON object the chart script reads.
    fn push_json(&self, out: &mut String, name: &str) {
        let pd = self.price_decimals;
        out.push_str("{\"name\":");
        out.push_str(&js_string(name));
        out.push_str(&format!(",\"k\":{},\"pd\":{pd},", self.bars_per_candle));
        push_array(out, "t", &self.time_ms, 0);
        out.push(',');
        push_array(out, "o", &self.open, pd);
        out.push(',');
        push_array(out, "h", &self.high, pd);
        out.push(',');
        push_array(out, "l", &self.low, pd);
        out.push(',');
        push_array(out, "c", &self.close, pd);
        out.push(',');
        push_array(out, "eq", &self.equity, 2);
        out.push(',');
        push_array(out, "bh", &self.buy_hold, 2);
        out.push(',');
        push_array(out, "dd", &self.drawdown_pct, 2);
        // Markers as a flat list of 5-tuples: candle, shape, outcome, price, count.
        out.push_str(",\"m\":[");
        for (i, ((candle, shape, outcome), (price, count))) in self.markers.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!("{candle},{shape},{outcome},"));
            push_num(out, *price, pd);
            out.push_str(&format!(",{count}"));
        }
        out.push_str("]}");
    }
}

fn describe_sizing(s: &StrategySettings) -> String {
    let v = s.default_qty_value;
    match s.default_qty_type {
        QtyType::Fixed => format!("{v} units per order"),
        QtyType::PercentOfEquity => format!("{v}% of equity per order"),
        QtyType::Cash => format!("{} cash per order", money(v)),
    }
}

fn describe_commission(s: &StrategySettings) -> String {
    let v = s.commission_value;
    match s.commission_type {
        CommissionType::Percent => format!("{v}%"),
        CommissionType::CashPerContract => format!("{v} per unit"),
        CommissionType::CashPerOrder => format!("{v} per order"),
    }
}

/// `2024-03-01 00:05:00`: ISO-8601 UTC, easier to read in a table.
fn table_time(ms: i64) -> String {
    let iso = iso8601_utc(ms);
    iso.trim_end_matches('Z').replacen('T', " ", 1)
}

/// `class="pos"` / `class="neg"` by sign, for colouring money cells.
fn sign_class(x: f64) -> &'static str {
    if x > 0.0 {
        " class=\"pos\""
    } else if x < 0.0 {
        " class=\"neg\""
    } else {
        ""
    }
}

/// A number for a table: at most `decimals` decimals, trailing zeros dropped.
fn short_num(x: f64, decimals: usize) -> String {
    if x.is_nan() {
        return summary::NA.to_string();
    }
    let mut s = String::new();
    push_num(&mut s, x, decimals);
    s
}

fn push_summary_table(out: &mut String, t: &SummaryTable, rows: std::ops::Range<usize>) {
    out.push_str("<table class=\"summary\"><thead><tr><th></th>");
    for c in &t.columns {
        out.push_str(&format!("<th>{}</th>", esc(c)));
    }
    out.push_str("</tr></thead><tbody>");
    for (i, label) in ROWS.iter().enumerate().take(rows.end).skip(rows.start) {
        out.push_str(&format!("<tr><td>{}</td>", esc(label)));
        for col in &t.cells {
            out.push_str(&format!("<td>{}</td>", esc(&col[i])));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn push_trade_row(out: &mut String, n: usize, t: &Trade, run: &BacktestRun, pd: usize) {
    let ret = summary::trade_return(t) * 100.0;
    let bars = t.exit_bar.saturating_sub(t.entry_bar);
    let side = match t.direction {
        Direction::Long => "<td class=\"long\">Long</td>",
        Direction::Short => "<td class=\"short\">Short</td>",
    };
    out.push_str(&format!(
        "<tr><td>{n}</td>{side}<td class=\"id\">{}</td><td>{}</td><td>{}</td>\
         <td class=\"id\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td{}>{}</td><td{}>{}</td><td>{bars}</td><td>{}</td></tr>",
        esc(run.strings.get(t.entry_id)),
        table_time(t.entry_time_ms),
        group_thousands(t.entry_price, pd),
        esc(run.strings.get(t.exit_id)),
        table_time(t.exit_time_ms),
        group_thousands(t.exit_price, pd),
        short_num(t.qty, 8),
        sign_class(t.profit),
        money(t.profit),
        sign_class(ret),
        if ret.is_nan() {
            summary::NA.to_string()
        } else {
            format!("{}%", group_thousands(ret, 2))
        },
        money(t.commission),
    ));
}

fn push_trade_table(out: &mut String, r: &SymbolRun, run: &BacktestRun, pd: usize) {
    let n = r.trades.len();
    out.push_str("<h3>Trades</h3>");
    if n == 0 {
        out.push_str("<p class=\"note\">No closed trades.</p>");
    } else {
        if n > 2 * TABLE_EDGE {
            out.push_str(&format!(
                "<p class=\"note\">Showing the first and the last {TABLE_EDGE} of {} closed \
                 trades; the trades CSV (or <code>--json</code>) has them all.</p>",
                group_thousands(n as f64, 0)
            ));
        }
        out.push_str(
            "<div class=\"scroll\"><table class=\"trades\"><thead><tr><th>#</th><th>Side</th>\
             <th>Entry</th><th>Entry time</th><th>Entry price</th><th>Exit</th>\
             <th>Exit time</th><th>Exit price</th><th>Qty</th><th>Profit</th>\
             <th>Profit %</th><th>Bars</th><th>Commission</th></tr></thead><tbody>",
        );
        for (i, t) in r.trades.iter().enumerate() {
            if n > 2 * TABLE_EDGE && i == TABLE_EDGE {
                out.push_str(&format!(
                    "<tr class=\"gap\"><td colspan=\"13\">… {} trades not shown …</td></tr>",
                    group_thousands((n - 2 * TABLE_EDGE) as f64, 0)
                ));
            }
            if n > 2 * TABLE_EDGE && (TABLE_EDGE..n - TABLE_EDGE).contains(&i) {
                continue;
            }
            push_trade_row(out, i + 1, t, run, pd);
        }
        out.push_str("</tbody></table></div>");
    }
    if !r.open_trades.is_empty() {
        out.push_str(&format!(
            "<h3>Open trades ({})</h3><div class=\"scroll short\"><table class=\"trades\">\
             <thead><tr><th>Side</th><th>Entry</th><th>Entry time</th><th>Entry price</th>\
             <th>Qty</th><th>Commission</th></tr></thead><tbody>",
            r.open_trades.len()
        ));
        for t in r.open_trades.iter().take(TABLE_EDGE) {
            let side = match t.direction {
                Direction::Long => "<td class=\"long\">Long</td>",
                Direction::Short => "<td class=\"short\">Short</td>",
            };
            out.push_str(&format!(
                "<tr>{side}<td class=\"id\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(run.strings.get(t.entry_id)),
                table_time(t.entry_time_ms),
                group_thousands(t.entry_price, pd),
                short_num(t.qty, 8),
                money(t.entry_commission),
            ));
        }
        if r.open_trades.len() > TABLE_EDGE {
            out.push_str(&format!(
                "<tr class=\"gap\"><td colspan=\"6\">… {} more …</td></tr>",
                r.open_trades.len() - TABLE_EDGE
            ));
        }
        out.push_str("</tbody></table></div>");
    }
}

/// The headline figures above a symbol's charts.
fn push_kpis(out: &mut String, r: &SymbolRun) {
    let s = &r.stats;
    let t = SummaryTable::of_symbol(r);
    let cell = |label: &str| -> String {
        ROWS.iter()
            .position(|l| *l == label)
            .and_then(|i| t.cells.first().and_then(|c| c.get(i)))
            .cloned()
            .unwrap_or_default()
    };
    let tiles = [
        ("Net profit", cell("Net profit"), sign_class(s.net_profit)),
        ("Closed trades", cell("Total closed trades"), ""),
        ("Percent profitable", cell("Percent profitable"), ""),
        ("Profit factor", cell("Profit factor"), ""),
        ("Max drawdown", cell("Max drawdown"), ""),
        ("Sharpe ratio", cell("Sharpe ratio"), ""),
    ];
    out.push_str("<div class=\"kpis\">");
    for (label, value, class) in tiles {
        out.push_str(&format!(
            "<div class=\"kpi\"><div class=\"k\">{}</div><div{class} >{}</div></div>",
            esc(label),
            esc(&value)
        ));
    }
    out.push_str("</div>");
}

fn push_symbol(out: &mut String, idx: usize, r: &SymbolRun, run: &BacktestRun, chart: &ChartData) {
    out.push_str(&format!(
        "<section class=\"card\"><h2>{} <span class=\"tf\">{}</span></h2>",
        esc(&r.symbol),
        esc(&r.timeframe)
    ));
    let (first, last) = match (r.bars.first(), r.bars.last()) {
        (Some(a), Some(b)) => (table_time(a.time_ms), table_time(b.time_ms)),
        _ => (String::new(), String::new()),
    };
    out.push_str(&format!(
        "<p class=\"meta\">{} bars · {} → {} UTC</p>",
        group_thousands(r.bars.len() as f64, 0),
        first,
        last
    ));
    push_kpis(out, r);
    if r.bars.is_empty() {
        out.push_str("<p class=\"note\">No bars: nothing to chart.</p>");
    } else {
        if chart.bars_per_candle > 1 {
            out.push_str(&format!(
                "<p class=\"note\">Each candle aggregates {} consecutive bars ({} candles for {} \
                 bars); a marker sits on the candle that contains its fill, merged with fills \
                 of the same kind there.</p>",
                chart.bars_per_candle,
                group_thousands(chart.time_ms.len() as f64, 0),
                group_thousands(r.bars.len() as f64, 0)
            ));
        }
        out.push_str(&format!(
            "<div class=\"charts\"><div class=\"legend\" id=\"pw-i{idx}\">&nbsp;</div>\
             <div class=\"lab\">Price</div><canvas class=\"price\" id=\"pw-c{idx}-0\"></canvas>\
             <div class=\"lab\">Equity <span class=\"sw eq\"></span> strategy \
             <span class=\"sw bh\"></span> buy &amp; hold</div>\
             <canvas class=\"equity\" id=\"pw-c{idx}-1\"></canvas>\
             <div class=\"lab\">Drawdown from equity peak</div>\
             <canvas class=\"dd\" id=\"pw-c{idx}-2\"></canvas>\
             <p class=\"keys\"><span class=\"win\">▲</span> long entry (under the candle) \
             <span class=\"win\">▼</span> short entry (over the candle) \
             <span class=\"win\">●</span> exit at its fill price: \
             <span class=\"win\">green</span> winning trade, <span class=\"loss\">red</span> \
             losing trade, <span class=\"open\">amber</span> open or break-even. Drag to pan, \
             Ctrl + wheel to zoom, double-click to reset. Times UTC.</p></div>"
        ));
    }
    // One column of 21 rows reads better as two side-by-side halves, as TradingView
    // lays it out.
    let half = ROWS.len().div_ceil(2);
    let table = SummaryTable::of_symbol(r);
    out.push_str("<h3>Performance summary</h3><div class=\"halves\">");
    push_summary_table(out, &table, 0..half);
    push_summary_table(out, &table, half..ROWS.len());
    out.push_str("</div>");
    push_trade_table(out, r, run, chart.price_decimals);
    out.push_str("</section>");
}

/// Writes the HTML report of `run` to `w`: one self-contained UTF-8 file (inline CSS and
/// script, no external resource of any kind) that any browser opens offline.
///
/// Per symbol it draws a candlestick chart with the fills (▲ long entry, ▼ short entry,
/// ● exit; green when the trade won, red when it lost, amber when open or break-even),
/// the equity curve with buy & hold, and the drawdown curve, then the performance summary
/// and the trade table; with several symbols a portfolio summary comes first. A symbol
/// with more than [`TARGET_CANDLES`] bars is drawn with candles of consecutive bars (open
/// of the first, highest high, lowest low, close of the last) and its markers sit on the
/// candle that holds the fill; the trade table shows at most the first and last
/// [`TABLE_EDGE`] trades with a note. Every user-provided string is escaped.
pub fn write_html(run: &BacktestRun, w: &mut impl Write) -> io::Result<()> {
    let charts: Vec<ChartData> = run.runs.iter().map(ChartData::of).collect();
    let mut out = String::with_capacity(256 * 1024);
    let title = if run.settings.title.is_empty() {
        "Untitled strategy".to_string()
    } else {
        run.settings.title.clone()
    };
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"pinewire\">",
    );
    out.push_str(&format!("<title>{} · backtest report</title>", esc(&title)));
    out.push_str("<style>");
    out.push_str(CSS);
    out.push_str(
        "</style></head><body><header><div class=\"brand\">pinewire · backtest report</div>",
    );
    out.push_str(&format!("<h1>{}</h1>", esc(&title)));
    let s = &run.settings;
    let period = match summary::period(run) {
        Some((a, b)) => format!("{} → {} UTC", iso8601_date(a), iso8601_date(b)),
        None => "no bars".to_string(),
    };
    let bars: usize = run.runs.iter().map(|r| r.bars.len()).sum();
    let symbols: Vec<String> = run.runs.iter().map(summary::symbol_heading).collect();
    out.push_str(&format!(
        "<p class=\"meta\">{} · {} · {} bars</p><p class=\"meta\">Initial capital {} · \
         sizing {} · commission {} · pyramiding {} · slippage {} ticks{}</p></header><main>",
        esc(&symbols.join(", ")),
        period,
        group_thousands(bars as f64, 0),
        money(s.initial_capital),
        esc(&describe_sizing(s)),
        esc(&describe_commission(s)),
        s.pyramiding.max(1),
        s.slippage_ticks,
        if s.process_orders_on_close {
            " · orders filled on close"
        } else {
            ""
        },
    ));
    if run.runs.len() != 1 {
        out.push_str("<section class=\"card\"><h2>Portfolio summary</h2>");
        push_summary_table(&mut out, &SummaryTable::of_run(run), 0..ROWS.len());
        out.push_str("</section>");
    }
    for (i, (r, chart)) in run.runs.iter().zip(&charts).enumerate() {
        push_symbol(&mut out, i, r, run, chart);
    }
    out.push_str(
        "</main><footer>Generated by pinewire. Times are UTC. Money in the quote currency.\
         </footer><script type=\"application/json\" id=\"pw-data\">[",
    );
    for (i, (r, chart)) in run.runs.iter().zip(&charts).enumerate() {
        if i > 0 {
            out.push(',');
        }
        chart.push_json(&mut out, &summary::symbol_heading(r));
    }
    out.push_str("]</script><script>");
    out.push_str(JS);
    out.push_str("</script></body></html>\n");
    w.write_all(out.as_bytes())
}

const CSS: &str = r##"
:root{--bg:#0d1117;--card:#151b23;--line:#262f3b;--text:#d1d7e0;--muted:#8b949e;--win:#26a69a;--loss:#ef5350;--open:#f0b90b;--accent:#4c8dff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header{padding:22px 32px 14px;border-bottom:1px solid var(--line);background:linear-gradient(180deg,#121923,#0d1117)}
.brand{color:var(--accent);font-size:12px;letter-spacing:.08em;text-transform:uppercase;font-weight:600}
h1{margin:4px 0 6px;font-size:24px;font-weight:600;word-break:break-word}
h2{margin:0 0 4px;font-size:19px;font-weight:600}
h2 .tf{color:var(--muted);font-weight:500;font-size:15px;margin-left:6px}
h3{margin:18px 0 8px;font-size:14px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.meta{margin:2px 0;color:var(--muted);font-size:13px}
main{padding:18px 32px;max-width:1600px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:18px 20px;margin:0 0 20px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:10px;margin:14px 0}
.kpi{background:#0f141b;border:1px solid var(--line);border-radius:6px;padding:9px 12px}
.kpi .k{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.05em}
.kpi div:last-child{font-size:17px;font-weight:600;font-variant-numeric:tabular-nums;margin-top:2px}
.pos{color:var(--win)}.neg{color:var(--loss)}
.note{color:var(--muted);font-size:12.5px;margin:6px 0}
.charts{margin-top:6px}
.legend{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--text);min-height:36px;white-space:pre-wrap}
.lab{color:var(--muted);font-size:11.5px;margin:8px 0 2px;text-transform:uppercase;letter-spacing:.05em}
.sw{display:inline-block;width:14px;height:3px;vertical-align:middle;margin:0 3px 0 10px}
.sw.eq{background:var(--accent)}.sw.bh{background:var(--muted)}
canvas{display:block;width:100%;background:#0f141b;border:1px solid var(--line);border-radius:4px;cursor:crosshair}
canvas.price{height:440px}canvas.equity{height:200px}canvas.dd{height:140px}
.keys{color:var(--muted);font-size:12px;margin:8px 0 0}
.win{color:var(--win)}.loss{color:var(--loss)}.open{color:var(--open)}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:12.5px}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{color:var(--muted);font-weight:600;background:#11171f;position:sticky;top:0}
table.summary{min-width:460px}table.summary td:first-child{color:var(--muted);padding-right:28px}
table.summary td+td,table.summary th+th{min-width:150px}
table.trades{width:100%}
.halves{display:flex;flex-wrap:wrap;gap:0 32px;align-items:flex-start}
table.trades td.id{text-align:left;max-width:160px;overflow:hidden;text-overflow:ellipsis}
td.long{color:var(--win);text-align:left}td.short{color:var(--loss);text-align:left}
tbody tr:hover{background:#1b2430}
tr.gap td{text-align:center;color:var(--muted);font-style:italic}
.scroll{max-height:620px;overflow:auto;border:1px solid var(--line);border-radius:4px}
.scroll.short{max-height:260px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
footer{color:var(--muted);font-size:12px;padding:4px 32px 28px}
"##;

const JS: &str = r##"
(function () {
  "use strict";
  var el = document.getElementById("pw-data");
  if (!el) return;
  var DATA = JSON.parse(el.textContent);
  var C = { grid: "#1f2733", axis: "#8b949e", up: "#26a69a", down: "#ef5350", eq: "#4c8dff",
            bh: "#8b949e", dd: "#ef5350", cross: "rgba(209,215,224,0.5)", edge: "#0f141b",
            ring: "rgba(230,237,243,0.9)" };
  var MC = ["#26a69a", "#ef5350", "#f0b90b"];
  var RIGHT = 84, BOTTOM = 22, TOP = 10, LEFT = 6, DAY = 864e5;

  function p2(n) { return n < 10 ? "0" + n : "" + n; }
  function ymd(d) { return d.getUTCFullYear() + "-" + p2(d.getUTCMonth() + 1) + "-" + p2(d.getUTCDate()); }
  function hm(d) { return p2(d.getUTCHours()) + ":" + p2(d.getUTCMinutes()); }
  function fullTime(ms) { var d = new Date(ms); return ymd(d) + " " + hm(d); }
  function axisTime(ms, span) {
    var d = new Date(ms);
    if (span > 3 * 365 * DAY) return d.getUTCFullYear() + "-" + p2(d.getUTCMonth() + 1);
    if (span > 20 * DAY) return ymd(d);
    return p2(d.getUTCMonth() + 1) + "-" + p2(d.getUTCDate()) + " " + hm(d);
  }
  function fmt(v, dec) {
    if (v === null || v === undefined || !isFinite(v)) return "n/a";
    return v.toLocaleString("en-US", { minimumFractionDigits: dec, maximumFractionDigits: dec });
  }
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  function ticks(lo, hi, n) {
    var span = hi - lo;
    if (!(span > 0)) return { v: [lo], dec: 2 };
    var raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
    var step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag, v = [];
    for (var j = Math.ceil(lo / step); j * step <= hi + step * 1e-9; j++) v.push(j === 0 ? 0 : j * step);
    return { v: v, dec: clamp(-Math.floor(Math.log10(step) + 1e-9), 0, 10) };
  }
  function setup(cv) {
    var r = cv.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    var w = Math.max(120, Math.floor(r.width)), h = Math.max(60, Math.floor(r.height));
    var W = Math.round(w * dpr), H = Math.round(h * dpr);
    if (cv.width !== W || cv.height !== H) { cv.width = W; cv.height = H; }
    var g = cv.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.font = "11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
    return { g: g, w: w, h: h, pw: w - LEFT - RIGHT, ph: h - TOP - BOTTOM };
  }
  function xOf(c, S, i) { return LEFT + (i - S.a + 0.5) * c.pw / (S.b - S.a); }
  function yOf(c, lo, hi, v) { return TOP + (hi - v) / (hi - lo) * c.ph; }
  function frame(c, S, lo, hi, suffix, maxDec) {
    var g = c.g, tk = ticks(lo, hi, Math.max(2, Math.floor(c.ph / 42))), i, y, x;
    var dec = Math.min(maxDec, tk.dec);
    g.lineWidth = 1; g.strokeStyle = C.grid; g.fillStyle = C.axis;
    g.textBaseline = "middle"; g.textAlign = "left";
    for (i = 0; i < tk.v.length; i++) {
      y = Math.round(yOf(c, lo, hi, tk.v[i])) + 0.5;
      if (y < TOP - 1 || y > TOP + c.ph + 1) continue;
      g.beginPath(); g.moveTo(LEFT, y); g.lineTo(LEFT + c.pw, y); g.stroke();
      g.fillText(fmt(tk.v[i], dec) + suffix, LEFT + c.pw + 7, y);
    }
    var n = S.b - S.a, span = S.t[S.b - 1] - S.t[S.a];
    var every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(c.pw / 130))));
    g.textAlign = "center"; g.textBaseline = "top";
    for (i = Math.ceil(S.a / every) * every; i < S.b; i += every) {
      x = Math.round(xOf(c, S, i)) + 0.5;
      g.beginPath(); g.moveTo(x, TOP); g.lineTo(x, TOP + c.ph); g.stroke();
      if (x > LEFT + 40 && x < LEFT + c.pw - 40) g.fillText(axisTime(S.t[i], span), x, TOP + c.ph + 6);
    }
    g.strokeStyle = "#303a48";
    g.beginPath(); g.moveTo(LEFT + c.pw + 0.5, TOP); g.lineTo(LEFT + c.pw + 0.5, TOP + c.ph);
    g.lineTo(LEFT, TOP + c.ph + 0.5); g.stroke();
  }
  function cross(c, S) {
    if (S.hover < S.a || S.hover >= S.b) return;
    var g = c.g, x = Math.round(xOf(c, S, S.hover)) + 0.5;
    g.save(); g.strokeStyle = C.cross; g.setLineDash([3, 3]);
    g.beginPath(); g.moveTo(x, TOP); g.lineTo(x, TOP + c.ph); g.stroke(); g.restore();
  }
  function range(arrs, a, b) {
    var lo = Infinity, hi = -Infinity;
    arrs.forEach(function (v) {
      for (var i = a; i < b; i++) if (v[i] !== null) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i]; }
    });
    return [lo, hi];
  }
  function line(c, S, v, lo, hi, color, dash, fill) {
    var g = c.g, started = false, first = -1, last = -1, i, x, y;
    g.save(); g.strokeStyle = color; g.lineWidth = 1.5; g.setLineDash(dash); g.beginPath();
    for (i = S.a; i < S.b; i++) {
      if (v[i] === null) { started = false; continue; }
      x = xOf(c, S, i); y = yOf(c, lo, hi, v[i]);
      if (started) g.lineTo(x, y); else { g.moveTo(x, y); started = true; }
      if (first < 0) first = i;
      last = i;
    }
    g.stroke();
    if (fill && first >= 0) {
      g.lineTo(xOf(c, S, last), TOP + c.ph); g.lineTo(xOf(c, S, first), TOP + c.ph); g.closePath();
      g.fillStyle = fill; g.fill();
    }
    g.restore();
  }
  function drawPrice(S) {
    var c = setup(S.cv[0]), g = c.g, a = S.a, b = S.b, i, m;
    var r = range([S.l, S.h], a, b), lo = r[0], hi = r[1];
    for (i = 0; i < S.mk.length; i++) {
      m = S.mk[i];
      if (m.c >= a && m.c < b && m.p !== null) { lo = Math.min(lo, m.p); hi = Math.max(hi, m.p); }
    }
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    var pad = (hi - lo) * 0.07 || Math.abs(hi) * 0.01 || 1; lo -= pad; hi += pad;
    frame(c, S, lo, hi, "", S.pd);
    var cw = c.pw / (b - a), bw = Math.max(1, Math.min(cw * 0.72, 14));
    for (i = a; i < b; i++) {
      if (S.o[i] === null || S.h[i] === null || S.l[i] === null || S.c[i] === null) continue;
      var x = xOf(c, S, i), yo = yOf(c, lo, hi, S.o[i]), yc = yOf(c, lo, hi, S.c[i]);
      var yh = yOf(c, lo, hi, S.h[i]), yl = yOf(c, lo, hi, S.l[i]);
      g.fillStyle = S.c[i] >= S.o[i] ? C.up : C.down;
      g.fillRect(x - 0.5, yh, 1, Math.max(1, yl - yh));
      g.fillRect(x - bw / 2, Math.min(yo, yc), bw, Math.max(1, Math.abs(yo - yc)));
    }
    // Entries sit outside the candle as TradingView draws them (a long's triangle under
    // the low, a short's over the high); exits are dots at the fill price, outlined so
    // that they stand out from a candle of the same colour.
    var sz = clamp(cw * 0.9, 3, 7), gap = 3;
    for (i = 0; i < S.mk.length; i++) {
      m = S.mk[i];
      if (m.c < a || m.c >= b || m.p === null) continue;
      var mx = xOf(c, S, m.c), my = yOf(c, lo, hi, m.p), ty;
      g.fillStyle = MC[m.k] || MC[2];
      g.beginPath();
      if (m.s === 0) {
        ty = (S.l[m.c] === null ? my : Math.max(my, yOf(c, lo, hi, S.l[m.c]))) + gap;
        g.moveTo(mx, ty); g.lineTo(mx - sz, ty + sz * 1.6); g.lineTo(mx + sz, ty + sz * 1.6);
        g.strokeStyle = C.edge;
      } else if (m.s === 1) {
        ty = (S.h[m.c] === null ? my : Math.min(my, yOf(c, lo, hi, S.h[m.c]))) - gap;
        g.moveTo(mx, ty); g.lineTo(mx - sz, ty - sz * 1.6); g.lineTo(mx + sz, ty - sz * 1.6);
        g.strokeStyle = C.edge;
      } else {
        g.arc(mx, my, sz * 0.75, 0, 2 * Math.PI);
        g.strokeStyle = C.ring;
      }
      g.closePath(); g.fill(); g.lineWidth = 1; g.stroke();
    }
    var lc = S.c[b - 1];
    if (lc !== null) {
      var ly = Math.round(yOf(c, lo, hi, lc));
      g.fillStyle = lc >= S.o[b - 1] ? C.up : C.down;
      g.fillRect(LEFT + c.pw + 1, ly - 8, RIGHT - 2, 16);
      g.fillStyle = "#fff"; g.textAlign = "left"; g.textBaseline = "middle";
      g.fillText(fmt(lc, S.pd), LEFT + c.pw + 7, ly);
    }
    cross(c, S);
  }
  function drawEquity(S) {
    var c = setup(S.cv[1]), r = range([S.eq, S.bh], S.a, S.b), lo = r[0], hi = r[1];
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    var pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.01 || 1; lo -= pad; hi += pad;
    frame(c, S, lo, hi, "", 2);
    line(c, S, S.bh, lo, hi, C.bh, [4, 3], null);
    line(c, S, S.eq, lo, hi, C.eq, [], "rgba(76,141,255,0.12)");
    cross(c, S);
  }
  function drawDD(S) {
    var c = setup(S.cv[2]), g = c.g, r = range([S.dd], S.a, S.b), lo = Math.min(r[0], 0), hi = 0, i;
    if (!isFinite(lo) || lo === 0) lo = -1;
    lo -= (hi - lo) * 0.08; hi += (hi - lo) * 0.04;
    frame(c, S, lo, hi, "%", 2);
    var y0 = yOf(c, lo, hi, 0);
    g.save(); g.beginPath(); g.moveTo(xOf(c, S, S.a), y0);
    for (i = S.a; i < S.b; i++) g.lineTo(xOf(c, S, i), yOf(c, lo, hi, S.dd[i] === null ? 0 : S.dd[i]));
    g.lineTo(xOf(c, S, S.b - 1), y0); g.closePath();
    g.fillStyle = "rgba(239,83,80,0.28)"; g.fill();
    g.strokeStyle = C.dd; g.lineWidth = 1.2; g.stroke(); g.restore();
    cross(c, S);
  }
  var NAMES = [["long entry", "short entry", "exit"], ["long entries", "short entries", "exits"],
               ["win", "loss", "open/flat"]];
  var GLYPH = ["\u25b2", "\u25bc", "\u25cf"];
  function info(S) {
    var i = S.hover >= S.a && S.hover < S.b ? S.hover : S.b - 1, pd = S.pd;
    var s = S.name + "  " + fullTime(S.t[i]) + (S.k > 1 ? " (" + S.k + " bars)" : "") +
      "  O " + fmt(S.o[i], pd) + "  H " + fmt(S.h[i], pd) + "  L " + fmt(S.l[i], pd) +
      "  C " + fmt(S.c[i], pd) + "   Equity " + fmt(S.eq[i], 2) + "   DD " + fmt(S.dd[i], 2) + "%";
    (S.byC[i] || []).forEach(function (m) {
      s += "   " + GLYPH[m.s] + " " + m.n + " " + NAMES[m.n > 1 ? 1 : 0][m.s] +
        (m.n > 1 ? ", first @ " : " @ ") + fmt(m.p, pd) + " (" + NAMES[2][m.k] + ")";
    });
    S.info.textContent = s;
  }
  function draw(S) { drawPrice(S); drawEquity(S); drawDD(S); info(S); }
  function schedule(S) {
    if (S.raf) return;
    S.raf = window.requestAnimationFrame(function () { S.raf = 0; draw(S); });
  }
  function attach(S) {
    S.cv.forEach(function (cv) {
      function at(e) {
        var r = cv.getBoundingClientRect();
        return { x: e.clientX - r.left, pw: r.width - LEFT - RIGHT };
      }
      cv.addEventListener("mousemove", function (e) {
        var p = at(e), n = S.b - S.a;
        if (S.drag) {
          var a = clamp(S.drag.a + Math.round((S.drag.x - p.x) / p.pw * n), 0, S.t.length - n);
          S.a = a; S.b = a + n;
        }
        var i = S.a + Math.floor((p.x - LEFT) / p.pw * n);
        S.hover = i >= S.a && i < S.b ? i : -1;
        schedule(S);
      });
      cv.addEventListener("mousedown", function (e) { S.drag = { x: at(e).x, a: S.a }; e.preventDefault(); });
      cv.addEventListener("mouseleave", function () { S.hover = -1; S.drag = null; schedule(S); });
      cv.addEventListener("dblclick", function () { S.a = 0; S.b = S.t.length; schedule(S); });
      cv.addEventListener("wheel", function (e) {
        if (!e.ctrlKey && !e.metaKey) return;
        e.preventDefault();
        var p = at(e), n = S.b - S.a, N = S.t.length, f = clamp((p.x - LEFT) / p.pw, 0, 1);
        var nn = clamp(Math.round(n * (e.deltaY > 0 ? 1.25 : 0.8)), Math.min(N, 20), N);
        var a = clamp(Math.round(S.a + f * n - f * nn), 0, N - nn);
        S.a = a; S.b = a + nn; schedule(S);
      }, { passive: false });
    });
  }
  var ALL = [];
  DATA.forEach(function (d, idx) {
    if (!d.t.length) return;
    var cv = [0, 1, 2].map(function (k) { return document.getElementById("pw-c" + idx + "-" + k); });
    if (cv.some(function (x) { return !x; })) return;
    var S = { name: d.name, k: d.k, pd: d.pd, t: d.t, o: d.o, h: d.h, l: d.l, c: d.c, eq: d.eq,
              bh: d.bh, dd: d.dd, mk: [], byC: {}, cv: cv, a: 0, b: d.t.length, hover: -1,
              drag: null, raf: 0, info: document.getElementById("pw-i" + idx) };
    for (var i = 0; i + 4 < d.m.length; i += 5) {
      var m = { c: d.m[i], s: d.m[i + 1], k: d.m[i + 2], p: d.m[i + 3], n: d.m[i + 4] };
      S.mk.push(m);
      (S.byC[m.c] = S.byC[m.c] || []).push(m);
    }
    attach(S);
    ALL.push(S);
    draw(S);
  });
  window.addEventListener("mouseup", function () { ALL.forEach(function (S) { S.drag = null; }); });
  window.addEventListener("resize", function () { ALL.forEach(schedule); });
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::report::testdata::{small_run, M5, T0};
    use crate::pine::Bar;

    fn html(run: &BacktestRun) -> String {
        let mut buf = Vec::new();
        write_html(run, &mut buf).expect("writing to a Vec cannot fail");
        String::from_utf8(buf).expect("HTML is UTF-8")
    }

    /// The run the size target is stated for: 140,614 five-minute bars, 30,000 trades.
    fn big_run() -> BacktestRun {
        let mut run = small_run();
        let template = run.runs[0].trades[0];
        let r = &mut run.runs[0];
        let n = 140_614usize;
        let mut price = 42_000.0f64;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            // xorshift64*: deterministic noise, no dependency.
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
        };
        r.bars = (0..n)
            .map(|i| {
                let open = price;
                let close = open * (1.0 + (rnd() - 0.5) * 0.004);
                price = close;
                Bar {
                    time_ms: T0 + i as i64 * M5,
                    open,
                    high: open.max(close) * (1.0 + rnd() * 0.001),
                    low: open.min(close) * (1.0 - rnd() * 0.001),
                    close,
                    volume: rnd() * 10.0,
                }
            })
            .collect();
        let mut equity = 10_000.0;
        r.equity = (0..n)
            .map(|_| {
                equity += (rnd() - 0.49) * 5.0;
                equity
            })
            .collect();
        r.trades = (0..30_000usize)
            .map(|i| {
                let entry_bar = i * 4 + (i % 3);
                let exit_bar = entry_bar + 2;
                let profit = (rnd() - 0.45) * 50.0;
                Trade {
                    direction: if i % 2 == 0 {
                        Direction::Long
                    } else {
                        Direction::Short
                    },
                    entry_bar,
                    entry_time_ms: T0 + entry_bar as i64 * M5,
                    entry_price: r.bars[entry_bar].open,
                    exit_bar,
                    exit_time_ms: T0 + exit_bar as i64 * M5,
                    exit_price: r.bars[exit_bar].open,
                    qty: 0.123_456_789,
                    profit,
                    commission: 0.0421,
                    ..template
                }
            })
            .collect();
        r.open_trades[0].entry_bar = n - 1;
        r.open_trades[0].entry_time_ms = T0 + (n as i64 - 1) * M5;
        r.open_trades[0].entry_price = r.bars[n - 1].open;
        run
    }

    fn assert_self_contained(h: &str) {
        for bad in ["http://", "https://", "src=", "@import", "url("] {
            assert!(!h.contains(bad), "found {bad:?}");
        }
    }

    #[test]
    fn small_report_structure() {
        let run = small_run();
        let h = html(&run);
        // TC0: a complete, self-contained document
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.trim_end().ends_with("</html>"));
        assert_self_contained(&h);
        // TC1: title (escaped), symbol, charts, summary rows, trades with escaped ids
        assert!(h.contains("<h1>Test &quot;strat&quot;</h1>"), "title");
        assert!(h.contains("BTCUSDT <span class=\"tf\">5m</span>"));
        for id in ["pw-c0-0", "pw-c0-1", "pw-c0-2", "pw-i0"] {
            assert!(h.contains(&format!("id=\"{id}\"")), "{id}");
        }
        for row in ROWS {
            assert!(h.contains(&format!("<td>{}</td>", esc(row))), "{row}");
        }
        assert!(h.contains("Short &lt;1&gt;"), "escaped order id");
        assert!(h.contains("<td>2024-03-01 00:10:00</td>"), "trade time");
        // TC2: one symbol: no portfolio section, no aggregation note, no truncation note
        assert!(!h.contains("Portfolio summary"));
        assert!(!h.contains("Each candle aggregates"));
        assert!(!h.contains("Showing the first"));
        // TC3: chart data: raw candles, equity, markers merged per (candle, shape, outcome)
        let data = h
            .split("<script type=\"application/json\" id=\"pw-data\">")
            .nth(1)
            .and_then(|s| s.split("</script>").next())
            .expect("data block");
        let v: serde_json::Value = serde_json::from_str(data).expect("data is JSON");
        assert_eq!(v[0]["k"], 1);
        assert_eq!(v[0]["pd"], 4);
        assert_eq!(v[0]["t"][1], (T0 + M5) as f64);
        assert_eq!(v[0]["o"][1], 110.2);
        assert_eq!(v[0]["eq"][3], 10_004.85);
        assert_eq!(v[0]["bh"][3], 10_800.0);
        // drawdown of 10,009 from the 10,010 peak, in percent
        assert_eq!(v[0]["dd"][2], -0.01);
        let m: Vec<f64> = v[0]["m"]
            .as_array()
            .expect("markers")
            .iter()
            .map(|x| x.as_f64().unwrap_or(f64::NAN))
            .collect();
        // candle, shape, outcome, price, count: long entry win; exit win; short entry
        // loss; open long entry at candle 3; exit loss
        let want = [
            0.0, 0.0, 0.0, 100.0, 1.0, //
            1.0, 2.0, 0.0, 110.2, 1.0, //
            2.0, 1.0, 1.0, 104.0, 1.0, //
            3.0, 0.0, 2.0, 108.6, 1.0, //
            3.0, 2.0, 1.0, 108.6, 1.0,
        ];
        assert_eq!(m, want);
    }

    #[test]
    fn malicious_strings_are_escaped() {
        let mut run = small_run();
        let evil = "</script><script>alert(1)</script>";
        run.settings.title = evil.into();
        run.runs[0].symbol = evil.into();
        run.runs[0].timeframe = "<b>5m</b>".into();
        let id = run.strings.intern("\"><img onerror=alert(2)>");
        run.runs[0].trades[0].entry_id = id;
        run.runs[0].open_trades[0].entry_id = id;
        let mut second = run.runs[0].clone();
        second.symbol = "x\u{2028}y'&".into();
        run.runs.push(second);
        let h = html(&run);
        // TC0: only our own two script elements exist
        assert_eq!(h.matches("<script").count(), 2, "script open tags");
        assert_eq!(h.matches("</script>").count(), 2, "script close tags");
        assert!(!h.contains("alert(1)</script>"));
        // TC1: escaped in markup and in the data block
        assert!(h.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(h.contains("\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"));
        assert!(!h.contains("<img"));
        assert!(!h.contains("<b>5m"));
        assert!(h.contains("&quot;&gt;&lt;img onerror=alert(2)&gt;"));
        // TC2: JS line separators and quotes in the data are escaped too
        assert!(h.contains("x\\u2028y'\\u0026"));
        assert!(h.contains("x\u{2028}y&#39;&amp;"));
        // TC3: the data block is still valid JSON
        let data = h
            .split("<script type=\"application/json\" id=\"pw-data\">")
            .nth(1)
            .and_then(|s| s.split("</script>").next())
            .expect("data block");
        let v: serde_json::Value = serde_json::from_str(data).expect("data is JSON");
        assert_eq!(v[0]["name"], format!("{evil} <b>5m</b>"));
        assert_self_contained(&h);
    }

    #[test]
    fn several_symbols_and_empty_symbol() {
        let mut run = small_run();
        let mut empty = run.runs[0].clone();
        empty.symbol = "ETHUSDT".into();
        empty.bars.clear();
        empty.equity.clear();
        run.runs.push(empty);
        let h = html(&run);
        // TC0: a portfolio summary with a column per symbol and a total
        assert!(h.contains("<h2>Portfolio summary</h2>"));
        assert!(h.contains("<th>BTCUSDT 5m</th><th>ETHUSDT 5m</th><th>Total</th>"));
        // TC1: the symbol without bars gets a note, not a chart; markers out of range are
        // dropped instead of indexing past the bars
        assert!(h.contains("No bars: nothing to chart."));
        assert!(!h.contains("id=\"pw-c1-0\""));
        assert!(h.contains("\"name\":\"ETHUSDT 5m\",\"k\":1,\"pd\":8,\"t\":[]"));
        assert!(h.contains(",\"m\":[]}]"));
    }

    #[test]
    fn big_run_stays_small() {
        let run = big_run();
        let h = html(&run);
        // TC0: under 2 MB for 140,614 bars and 30,000 trades
        assert!(h.len() < 2_000_000, "{} bytes", h.len());
        assert_self_contained(&h);
        // TC1: bars aggregated into at most TARGET_CANDLES candles (71 bars each)
        assert!(h.contains("Each candle aggregates 71 consecutive bars (1,981 candles"));
        let data = h
            .split("<script type=\"application/json\" id=\"pw-data\">")
            .nth(1)
            .and_then(|s| s.split("</script>").next())
            .expect("data block");
        let v: serde_json::Value = serde_json::from_str(data).expect("data is JSON");
        let candles = v[0]["t"].as_array().map_or(0, Vec::len);
        assert_eq!(candles, 1981);
        assert!(candles <= TARGET_CANDLES);
        // aggregated candle 1 = bars 71..142: open of the first, max high, min low,
        // close of the last
        let bars = &run.runs[0].bars[71..142];
        assert_eq!(v[0]["t"][1], bars[0].time_ms as f64);
        let hi = bars.iter().map(|b| b.high).fold(f64::MIN, f64::max);
        let lo = bars.iter().map(|b| b.low).fold(f64::MAX, f64::min);
        let pd = price_decimals(hi);
        assert_eq!(pd, 2);
        let close = |k: &str, x: f64| {
            let got = v[0][k][1].as_f64().unwrap_or(f64::NAN);
            assert!((got - x).abs() <= 0.005 + 1e-9, "{k}: {got} vs {x}");
        };
        close("o", bars[0].open);
        close("h", hi);
        close("l", lo);
        close("c", bars[70].close);
        // TC2: every fill is counted once in the merged markers
        let m = v[0]["m"].as_array().expect("markers");
        let fills: f64 = m.iter().skip(4).step_by(5).filter_map(|x| x.as_f64()).sum();
        assert_eq!(
            fills, 60_001.0,
            "30,000 entries + 30,000 exits + 1 open entry"
        );
        // TC3: the trade table is truncated to 500 + 500 rows with a note
        assert!(h.contains("Showing the first and the last 500 of 30,000 closed trades"));
        assert!(h.contains("… 29,000 trades not shown …"));
        assert!(h.contains("<tr><td>500</td>"));
        assert!(!h.contains("<tr><td>501</td>"));
        assert!(!h.contains("<tr><td>29500</td>"));
        assert!(h.contains("<tr><td>29501</td>"));
        assert!(h.contains("<tr><td>30000</td>"));
    }

    #[test]
    fn number_helpers() {
        let cases: &[(f64, usize, &str)] = &[
            // TC0: trailing zeros dropped
            (100.5, 2, "100.5"),
            // TC1: integer
            (42.0, 2, "42"),
            // TC2: rounding to the precision needed
            (67_123.456_789, 2, "67123.46"),
            // TC3: negative zero
            (-0.0001, 2, "0"),
            // TC4: not finite
            (f64::NAN, 2, "null"),
            (f64::INFINITY, 2, "null"),
        ];
        for (i, (x, d, want)) in cases.iter().enumerate() {
            let mut s = String::new();
            push_num(&mut s, *x, *d);
            assert_eq!(s, *want, "case {i}");
        }
        // TC5: price decimals keep ~7 significant digits
        assert_eq!(price_decimals(67_123.45), 2);
        assert_eq!(price_decimals(0.5123), 7);
        assert_eq!(price_decimals(0.000_012_34), 11);
        assert_eq!(price_decimals(f64::NAN), 8);
    }
}
