//! What a strategy declares (`strategy(...)` arguments) and what it asks for
//! (`strategy.*` calls), as plain data shared by the VM and whatever executes the
//! orders: the backtester's broker emulator, or the live order thread.
//!
//! Commands are `Copy` and carry no heap data so that the VM can hand them over on
//! the hot path without allocating. Absent numeric arguments are `NaN` (Pine's `na`).

use super::strings::StrId;

/// How `default_qty_value` sizes an order that gives no `qty`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QtyType {
    /// `strategy.fixed`: a number of contracts/units.
    Fixed,
    /// `strategy.percent_of_equity`: a percentage of current equity, at the fill price.
    PercentOfEquity,
    /// `strategy.cash`: an amount of the quote currency.
    Cash,
}

/// How `commission_value` is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommissionType {
    /// `strategy.commission.percent`: percent of the order's value.
    Percent,
    /// `strategy.commission.cash_per_contract`: cash per unit traded.
    CashPerContract,
    /// `strategy.commission.cash_per_order`: cash per fill.
    CashPerOrder,
}

/// Position direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `strategy.long`
    Long,
    /// `strategy.short`
    Short,
}

/// The `strategy(...)` / `indicator(...)` declaration of a script.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySettings {
    /// Title (first argument).
    pub title: String,
    /// True for `strategy(...)`, false for `indicator(...)` / `study(...)`.
    pub is_strategy: bool,
    /// `initial_capital`, default 1,000,000 as in TradingView.
    pub initial_capital: f64,
    /// `default_qty_type`, default fixed.
    pub default_qty_type: QtyType,
    /// `default_qty_value`, default 1.
    pub default_qty_value: f64,
    /// `commission_type`, default percent.
    pub commission_type: CommissionType,
    /// `commission_value`, default 0.
    pub commission_value: f64,
    /// `pyramiding`: entries allowed in the same direction, default 1 (0 also means 1).
    pub pyramiding: u32,
    /// `process_orders_on_close`: fill market orders at the close of the bar that
    /// placed them instead of the next bar's open.
    pub process_orders_on_close: bool,
    /// `calc_on_every_tick`: run the script on every realtime tick, not only on close.
    pub calc_on_every_tick: bool,
    /// `overlay`: drawn over the price chart (kept for reports).
    pub overlay: bool,
    /// `slippage` in ticks, applied against the trader on market and stop fills.
    pub slippage_ticks: u32,
    /// `max_bars_back`: the history depth kept for dynamic `x[n]` offsets.
    pub max_bars_back: u32,
}

impl Default for StrategySettings {
    fn default() -> Self {
        StrategySettings {
            title: String::new(),
            is_strategy: true,
            initial_capital: 1_000_000.0,
            default_qty_type: QtyType::Fixed,
            default_qty_value: 1.0,
            commission_type: CommissionType::Percent,
            commission_value: 0.0,
            pyramiding: 1,
            process_orders_on_close: false,
            calc_on_every_tick: false,
            overlay: false,
            slippage_ticks: 0,
            max_bars_back: 5000,
        }
    }
}

/// One `strategy.*` call made by the script on the current bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderCommand {
    /// `strategy.entry(id, direction, qty, limit, stop, ...)`: opens or adds to a position,
    /// reversing an opposite one; obeys `pyramiding`.
    Entry {
        /// Order id.
        id: StrId,
        /// Long or short.
        direction: Direction,
        /// Quantity; `NaN` for the declaration's default sizing.
        qty: f64,
        /// Limit price; `NaN` for none.
        limit: f64,
        /// Stop price; `NaN` for none.
        stop: f64,
    },
    /// `strategy.order(id, direction, qty, limit, stop)`: a plain order, not subject to
    /// `pyramiding`, that can reduce, close or reverse.
    Order {
        /// Order id.
        id: StrId,
        /// Buy (long) or sell (short).
        direction: Direction,
        /// Quantity; `NaN` for default sizing.
        qty: f64,
        /// Limit price; `NaN` for none.
        limit: f64,
        /// Stop price; `NaN` for none.
        stop: f64,
    },
    /// `strategy.close(id, qty, qty_percent, immediately)`: market exit of the entries
    /// named `id`.
    Close {
        /// Entry id to close.
        id: StrId,
        /// Quantity to close; `NaN` for all.
        qty: f64,
        /// Percent to close; `NaN` for all (ignored when `qty` is given).
        qty_percent: f64,
        /// Fill on the current bar's close instead of the next open.
        immediately: bool,
    },
    /// `strategy.close_all(immediately)`.
    CloseAll {
        /// Fill on the current bar's close instead of the next open.
        immediately: bool,
    },
    /// `strategy.exit(...)`: bracket exit (stop / limit / trailing) of an entry.
    Exit {
        /// Exit order id.
        id: StrId,
        /// Entry it exits; `None` exits every open entry.
        from_entry: Option<StrId>,
        /// Quantity; `NaN` for all.
        qty: f64,
        /// Percent; `NaN` for 100.
        qty_percent: f64,
        /// Take-profit distance in ticks from the entry price; `NaN` for none.
        profit: f64,
        /// Take-profit price; `NaN` for none (wins over `profit`).
        limit: f64,
        /// Stop-loss distance in ticks from the entry price; `NaN` for none.
        loss: f64,
        /// Stop-loss price; `NaN` for none (wins over `loss`).
        stop: f64,
        /// Price that activates the trailing stop; `NaN` for none.
        trail_price: f64,
        /// Activation distance in ticks from the entry; `NaN` for none.
        trail_points: f64,
        /// Trailing distance in ticks; `NaN` for none.
        trail_offset: f64,
    },
    /// `strategy.cancel(id)`: cancels pending orders with this id.
    Cancel {
        /// Order id.
        id: StrId,
    },
    /// `strategy.cancel_all()`.
    CancelAll,
}

/// The strategy state the script can read (`strategy.position_size`, ...), supplied by
/// whoever executes the orders before each bar's script run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrategyView {
    /// Signed position size (positive long, negative short).
    pub position_size: f64,
    /// Average entry price of the open position; `NaN` when flat.
    pub position_avg_price: f64,
    /// Initial capital + net profit + open profit.
    pub equity: f64,
    /// Number of open trades (entries not yet exited).
    pub opentrades: u32,
    /// Number of closed trades.
    pub closedtrades: u32,
    /// Realised profit of all closed trades, commissions included.
    pub netprofit: f64,
    /// Unrealised profit of the open position.
    pub openprofit: f64,
}

impl Default for StrategyView {
    fn default() -> Self {
        StrategyView {
            position_size: 0.0,
            position_avg_price: f64::NAN,
            equity: 0.0,
            opentrades: 0,
            closedtrades: 0,
            netprofit: 0.0,
            openprofit: 0.0,
        }
    }
}
