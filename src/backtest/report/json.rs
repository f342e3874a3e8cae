//! The machine-readable result of a backtest (`pinewire backtest --json`).
//!
//! Built with `serde_json::json!` rather than derives so that the shared result types stay
//! free of serde and the output shape is visible here in one place. Every `f64` that is
//! not finite (`NaN` for na, infinities) becomes `null`. Times come twice: ISO-8601 UTC
//! text for people (`entry_time`) and integer ms since the epoch for programs
//! (`entry_time_ms`).

use serde_json::{json, Value};

use crate::backtest::result::{BacktestRun, OpenTrade, Stats, SymbolRun, Trade};
use crate::pine::strategy::{CommissionType, QtyType};
use crate::pine::{StrategySettings, StringTable};

use super::csv::side;
use crate::calendar::iso8601_utc;

/// A number, or `null` when it is not finite.
fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn settings_json(s: &StrategySettings) -> Value {
    json!({
        "title": s.title,
        "is_strategy": s.is_strategy,
        "initial_capital": num(s.initial_capital),
        "default_qty_type": match s.default_qty_type {
            QtyType::Fixed => "fixed",
            QtyType::PercentOfEquity => "percent_of_equity",
            QtyType::Cash => "cash",
        },
        "default_qty_value": num(s.default_qty_value),
        "commission_type": match s.commission_type {
            CommissionType::Percent => "percent",
            CommissionType::CashPerContract => "cash_per_contract",
            CommissionType::CashPerOrder => "cash_per_order",
        },
        "commission_value": num(s.commission_value),
        "pyramiding": s.pyramiding,
        "process_orders_on_close": s.process_orders_on_close,
        "calc_on_every_tick": s.calc_on_every_tick,
        "overlay": s.overlay,
        "slippage_ticks": s.slippage_ticks,
        "max_bars_back": s.max_bars_back,
    })
}

/// Every field of [`Stats`], under its Rust name.
fn stats_json(s: &Stats) -> Value {
    json!({
        "initial_capital": num(s.initial_capital),
        "net_profit": num(s.net_profit),
        "gross_profit": num(s.gross_profit),
        "gross_loss": num(s.gross_loss),
        "open_profit": num(s.open_profit),
        "commission_paid": num(s.commission_paid),
        "total_trades": s.total_trades,
        "winning_trades": s.winning_trades,
        "losing_trades": s.losing_trades,
        "win_rate": num(s.win_rate),
        "profit_factor": num(s.profit_factor),
        "max_drawdown": num(s.max_drawdown),
        "max_drawdown_pct": num(s.max_drawdown_pct),
        "sharpe": num(s.sharpe),
        "sortino": num(s.sortino),
        "avg_trade": num(s.avg_trade),
        "avg_win": num(s.avg_win),
        "avg_loss": num(s.avg_loss),
        "largest_win": num(s.largest_win),
        "largest_loss": num(s.largest_loss),
        "avg_bars_in_trade": num(s.avg_bars_in_trade),
        "buy_hold_return": num(s.buy_hold_return),
        "bars": s.bars,
    })
}

fn trade_json(n: usize, t: &Trade, strings: &StringTable) -> Value {
    json!({
        "trade": n,
        "side": side(t.direction),
        "entry_id": strings.get(t.entry_id),
        "exit_id": strings.get(t.exit_id),
        "qty": num(t.qty),
        "entry_bar": t.entry_bar,
        "entry_time": iso8601_utc(t.entry_time_ms),
        "entry_time_ms": t.entry_time_ms,
        "entry_price": num(t.entry_price),
        "exit_bar": t.exit_bar,
        "exit_time": iso8601_utc(t.exit_time_ms),
        "exit_time_ms": t.exit_time_ms,
        "exit_price": num(t.exit_price),
        "profit": num(t.profit),
        "commission": num(t.commission),
    })
}

fn open_trade_json(t: &OpenTrade, strings: &StringTable) -> Value {
    json!({
        "side": side(t.direction),
        "entry_id": strings.get(t.entry_id),
        "qty": num(t.qty),
        "entry_bar": t.entry_bar,
        "entry_time": iso8601_utc(t.entry_time_ms),
        "entry_time_ms": t.entry_time_ms,
        "entry_price": num(t.entry_price),
        "entry_commission": num(t.entry_commission),
    })
}

fn symbol_json(r: &SymbolRun, strings: &StringTable) -> Value {
    let first = r.bars.first().map(|b| b.time_ms);
    let last = r.bars.last().map(|b| b.time_ms);
    let alerts: Vec<Value> = r
        .alerts
        .iter()
        .map(|(bar, message)| {
            let time = r.bars.get(*bar).map(|b| b.time_ms);
            json!({
                "bar": bar,
                "time": time.map(iso8601_utc),
                "time_ms": time,
                "message": message,
            })
        })
        .collect();
    json!({
        "symbol": r.symbol,
        "timeframe": r.timeframe,
        "bars": r.bars.len(),
        "first_time": first.map(iso8601_utc),
        "first_time_ms": first,
        "last_time": last.map(iso8601_utc),
        "last_time_ms": last,
        "stats": stats_json(&r.stats),
        "trades": r.trades.iter().enumerate()
            .map(|(i, t)| trade_json(i + 1, t, strings)).collect::<Vec<_>>(),
        "open_trades": r.open_trades.iter()
            .map(|t| open_trade_json(t, strings)).collect::<Vec<_>>(),
        "alerts": alerts,
    })
}

/// The whole run as JSON, for `--json` and for scripts that compare backtests:
///
/// ```text
/// { "strategy": {title, is_strategy, initial_capital, default_qty_type, default_qty_value,
///                commission_type, commission_value, pyramiding, process_orders_on_close,
///                calc_on_every_tick, overlay, slippage_ticks, max_bars_back},
///   "symbols": [ { symbol, timeframe, bars (count), first_time, first_time_ms,
///                  last_time, last_time_ms (open time of the last bar; null without bars),
///                  stats {every field of Stats},
///                  trades [{trade (1-based, exit order), side, entry_id, exit_id, qty,
///                           entry_bar, entry_time, entry_time_ms, entry_price,
///                           exit_bar, exit_time, exit_time_ms, exit_price, profit,
///                           commission}],
///                  open_trades [{side, entry_id, qty, entry_bar, entry_time,
///                                entry_time_ms, entry_price, entry_commission}],
///                  alerts [{bar, time, time_ms, message}] } ],
///   "total": {every field of Stats, all symbols together} }
/// ```
///
/// Enums are lower-case strings as Pine spells them (`long`, `percent_of_equity`); `NaN`
/// and infinities are `null`. Object keys come out in alphabetical order.
pub fn to_json(run: &BacktestRun) -> Value {
    json!({
        "strategy": settings_json(&run.settings),
        "symbols": run.runs.iter().map(|r| symbol_json(r, &run.strings)).collect::<Vec<_>>(),
        "total": stats_json(&run.total),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::report::testdata::{small_run, T0};

    #[test]
    fn json_fields_and_nulls() {
        let run = small_run();
        let v = to_json(&run);
        // TC0: strategy settings
        assert_eq!(v["strategy"]["title"], "Test \"strat\"");
        assert_eq!(v["strategy"]["initial_capital"], 10_000.0);
        assert_eq!(v["strategy"]["default_qty_type"], "fixed");
        assert_eq!(v["strategy"]["commission_type"], "percent");
        assert_eq!(v["strategy"]["pyramiding"], 1);
        // TC1: per-symbol header fields
        let s = &v["symbols"][0];
        assert_eq!(s["symbol"], "BTCUSDT");
        assert_eq!(s["timeframe"], "5m");
        assert_eq!(s["bars"], 4);
        assert_eq!(s["first_time"], "2024-03-01T00:00:00Z");
        assert_eq!(s["first_time_ms"], T0);
        assert_eq!(s["last_time"], "2024-03-01T00:15:00Z");
        // TC2: NaN is null, in the symbol's stats and the totals
        assert!(s["stats"]["sortino"].is_null());
        assert!(v["total"]["sortino"].is_null());
        assert_eq!(s["stats"]["net_profit"], 5.2);
        // TC3: stats has every field of Stats (23)
        assert_eq!(s["stats"].as_object().map(|o| o.len()), Some(23));
        // TC4: trades with resolved ids, sides, times, numbered from 1
        let t = &s["trades"][1];
        assert_eq!(t["trade"], 2);
        assert_eq!(t["side"], "short");
        assert_eq!(t["entry_id"], "Short <1>");
        assert_eq!(t["exit_id"], "Short <1>");
        assert_eq!(t["entry_time"], "2024-03-01T00:10:00Z");
        assert_eq!(t["exit_price"], 108.6);
        assert_eq!(t["profit"], -4.8);
        assert_eq!(s["trades"][0]["exit_id"], "TP");
        // TC5: open trades
        assert_eq!(s["open_trades"][0]["entry_id"], "Again");
        assert_eq!(s["open_trades"][0]["qty"], 0.5);
        // TC6: alerts with their bar time
        assert_eq!(s["alerts"][0]["message"], "cross <up>");
        assert_eq!(s["alerts"][0]["time"], "2024-03-01T00:10:00Z");
    }

    #[test]
    fn json_nan_in_trades_and_no_bars() {
        let mut run = small_run();
        run.runs[0].trades[0].profit = f64::NAN;
        run.runs[0].trades[0].qty = f64::INFINITY;
        run.runs[0].bars.clear();
        let v = to_json(&run);
        let s = &v["symbols"][0];
        // TC0: NaN and infinity in a trade are null
        assert!(s["trades"][0]["profit"].is_null());
        assert!(s["trades"][0]["qty"].is_null());
        // TC1: no bars: null times, alert time null (bar index out of range)
        assert!(s["first_time"].is_null());
        assert!(s["last_time_ms"].is_null());
        assert!(s["alerts"][0]["time"].is_null());
        // TC2: the document serialises (no NaN left that serde_json would refuse)
        let text = serde_json::to_string(&v).expect("serialises");
        assert!(!text.contains("NaN"), "{text}");
    }
}
