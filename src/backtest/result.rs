//! The data a backtest produces, shared by the broker emulator (which fills it), the
//! statistics and the reports (which read it).

use crate::pine::strategy::Direction;
use crate::pine::StrId;

/// One round trip: an entry and the exit that closed it (or part of it).
///
/// Ids are interned in the program's string table; reports resolve them to text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trade {
    /// Id of the entry order (`strategy.entry` / `strategy.order` id).
    pub entry_id: StrId,
    /// Id of the order that closed it (the `strategy.close` / `strategy.exit` id, or the
    /// entry id of a reversing order).
    pub exit_id: StrId,
    /// Long or short.
    pub direction: Direction,
    /// Quantity closed (always positive).
    pub qty: f64,
    /// Bar index of the entry fill.
    pub entry_bar: usize,
    /// Open time (ms, UTC) of the entry fill's bar.
    pub entry_time_ms: i64,
    /// Entry fill price (slippage included).
    pub entry_price: f64,
    /// Bar index of the exit fill.
    pub exit_bar: usize,
    /// Open time (ms, UTC) of the exit fill's bar.
    pub exit_time_ms: i64,
    /// Exit fill price (slippage included).
    pub exit_price: f64,
    /// Profit in quote currency, net of both commissions.
    pub profit: f64,
    /// Commission paid on entry and exit of this quantity.
    pub commission: f64,
}

/// An entry still open at the end of the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenTrade {
    /// Entry order id.
    pub entry_id: StrId,
    /// Long or short.
    pub direction: Direction,
    /// Open quantity (positive).
    pub qty: f64,
    /// Bar index of the entry fill.
    pub entry_bar: usize,
    /// Open time (ms, UTC) of the entry bar.
    pub entry_time_ms: i64,
    /// Entry fill price.
    pub entry_price: f64,
    /// Commission paid on entry.
    pub entry_commission: f64,
}

/// Summary statistics, as TradingView's strategy tester reports them. Money in quote
/// currency, ratios as plain fractions (0.5 = 50%).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    /// Capital at the start.
    pub initial_capital: f64,
    /// Realised net profit of closed trades.
    pub net_profit: f64,
    /// Sum of profits of winning trades.
    pub gross_profit: f64,
    /// Sum of losses of losing trades (a positive number).
    pub gross_loss: f64,
    /// Unrealised profit of trades open at the end.
    pub open_profit: f64,
    /// Commission paid in total.
    pub commission_paid: f64,
    /// Number of closed trades.
    pub total_trades: usize,
    /// Closed trades with profit > 0.
    pub winning_trades: usize,
    /// Closed trades with profit < 0.
    pub losing_trades: usize,
    /// winning / total; `NaN` without trades.
    pub win_rate: f64,
    /// gross profit / gross loss; `NaN` when there is no loss.
    pub profit_factor: f64,
    /// Largest peak-to-trough fall of the equity curve, in cash.
    pub max_drawdown: f64,
    /// The same fall as a fraction of the peak it fell from.
    pub max_drawdown_pct: f64,
    /// Sharpe ratio of monthly returns (TradingView's definition).
    pub sharpe: f64,
    /// Sortino ratio of monthly returns (TradingView's definition).
    pub sortino: f64,
    /// net profit / total trades.
    pub avg_trade: f64,
    /// Mean profit of winning trades.
    pub avg_win: f64,
    /// Mean loss of losing trades (negative).
    pub avg_loss: f64,
    /// Largest single profit.
    pub largest_win: f64,
    /// Largest single loss (negative).
    pub largest_loss: f64,
    /// Mean number of bars a closed trade was held.
    pub avg_bars_in_trade: f64,
    /// Profit of buying `initial_capital` worth at the first bar's open and holding to
    /// the last close.
    pub buy_hold_return: f64,
    /// Number of bars run.
    pub bars: usize,
}

/// The series a script recorded with `plot`, `plotshape`, `plotchar`, `bgcolor`... :
/// one column per plot, one value per bar (`NaN` for na).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plots {
    /// Column titles: the plot's `title` argument, or `plot`, `plot_1`, ... when untitled.
    pub titles: Vec<String>,
    /// `values[p][bar]`: the value of plot `p` on bar `bar`.
    pub values: Vec<Vec<f64>>,
}

/// Everything a backtest of one symbol produced.
#[derive(Debug, Clone)]
pub struct SymbolRun {
    /// Exchange symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Timeframe as written (`5m`, `1h`, ...).
    pub timeframe: String,
    /// The bars run, in time order.
    pub bars: Vec<crate::pine::Bar>,
    /// Closed trades in exit order.
    pub trades: Vec<Trade>,
    /// Entries still open after the last bar.
    pub open_trades: Vec<OpenTrade>,
    /// Equity after each bar's close (one per bar), open profit marked at the close.
    pub equity: Vec<f64>,
    /// Statistics of this symbol.
    pub stats: Stats,
    /// What the script plotted.
    pub plots: Plots,
    /// Alerts raised (`alert()`, `alertcondition()`): bar index and message.
    pub alerts: Vec<(usize, String)>,
}

/// A whole backtest: one run per `--data` file, plus the totals.
#[derive(Debug, Clone)]
pub struct BacktestRun {
    /// The script's `strategy(...)` declaration (after `--set` overrides).
    pub settings: crate::pine::StrategySettings,
    /// Resolves the [`StrId`]s in trades (order ids).
    pub strings: crate::pine::StringTable,
    /// One per symbol, in the order the files were given.
    pub runs: Vec<SymbolRun>,
    /// Statistics of all symbols together (one portfolio, equity curves summed by time).
    pub total: Stats,
}
