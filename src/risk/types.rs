//! The values that cross the risk manager's API: what the order thread asks
//! ([`Intent`], [`MarketView`], [`Fill`], [`OrderResult`]) and what it gets back
//! ([`Decision`], [`Reason`], [`RiskEvent`]). All are small `Copy` values so that the
//! order thread passes them by value without allocating.
//!
//! Units: prices in integer ticks of the symbol, quantities in integer lots (the
//! symbol's step size), money in [`Quote`] units of 1e-8 of the quote asset.

use std::fmt;

/// Money in exact integer units of 1e-8 of the quote asset (USDT satoshi-style).
///
/// Why integers and not `f64`: the limits compare sums of many notionals against a
/// percentage of equity, and an exact boundary ("exactly 70% is allowed, one unit more is
/// not") must not depend on rounding. `i128` leaves room for `lots * ticks * value`
/// products without overflow for any realistic account; the few products that could
/// overflow (absurd quantities from a script) saturate instead of wrapping.
pub type Quote = i128;

/// 1 quote unit (for example 1 USDT) in [`Quote`] units.
pub const QUOTE_ONE: Quote = 100_000_000;

/// Index of a symbol in the table given to [`crate::risk::RiskManager::new`]; the order
/// thread maps exchange symbols to these once at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymbolId(pub u16);

/// Order side, the exchange's own. On spot a sell can only close (part of) a long: there is
/// no short.
pub use crate::exec::Side;

/// An order the strategy wants to send, as the order thread pops it from the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intent {
    /// The symbol.
    pub symbol: SymbolId,
    /// Buy or sell.
    pub side: Side,
    /// Requested quantity in lots; the decision may lower it, never raise it.
    pub qty_lots: u64,
    /// Limit price in ticks; 0 for a market order (the check then prices it at
    /// [`MarketView::price_ticks`]).
    pub limit_ticks: u64,
    /// Stop-loss price in ticks from the strategy's `strategy.exit`; 0 when the script set
    /// none, in which case the ATR-based default stop sizes the trade.
    pub stop_ticks: u64,
}

/// What the order thread knows of the market and the account when it checks an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketView {
    /// Price a market buy would pay now (best ask or last trade), in ticks; 0 if unknown.
    pub price_ticks: u64,
    /// Current ATR of the symbol in ticks (for the default stop); 0 if unknown.
    pub atr_ticks: u64,
    /// Free quote balance the exchange reported last (balance check of buys).
    pub quote_free: Quote,
    /// Free base balance of the symbol in lots (balance check of sells).
    pub base_free_lots: u64,
}

/// An execution (full or partial) of an order that was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    /// The symbol.
    pub symbol: SymbolId,
    /// Side of the order that filled.
    pub side: Side,
    /// Filled quantity in lots.
    pub qty_lots: u64,
    /// Fill price in ticks.
    pub price_ticks: u64,
    /// Commission paid, converted to quote units (0 if paid in another asset and
    /// accounted elsewhere).
    pub fee: Quote,
}

/// How the exchange (or the send) answered an order the risk manager allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderOutcome {
    /// The exchange accepted the order; counts as a success in the failure window.
    Accepted,
    /// The send failed or the exchange rejected the order: counts as a failure, and the
    /// order's unfilled quantity is released.
    Failed,
    /// The order ended without filling the rest (cancel, expiry): releases the unfilled
    /// quantity, not counted in the failure window.
    Closed,
}

/// The outcome of one order, with the quantity it no longer holds open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderResult {
    /// The symbol.
    pub symbol: SymbolId,
    /// Side of the order.
    pub side: Side,
    /// Unfilled lots the order gives back (ignored for `Accepted`).
    pub unfilled_lots: u64,
    /// What happened.
    pub outcome: OrderOutcome,
}

/// Why the risk manager rejected, cut down, halted, paused, warned or resumed. One small
/// `Copy` enum for every decision and event, so that alerts and the dashboard get a
/// reason without any formatting on the order thread; `Display` gives the alert text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Nothing limited the intent.
    None,
    /// Trading is halted by the daily-loss limit (until the UTC day rolls or a resume).
    Halted,
    /// Trading is paused by the order failure rate (until an operator resumes).
    Paused,
    /// The symbol id is not in the table.
    UnknownSymbol,
    /// The intent asks for zero lots.
    ZeroQty,
    /// No price to value the order: market order and no market price.
    NoPrice,
    /// Equity is zero or negative: nothing may be deployed.
    NoEquity,
    /// The stop is at or above the entry price of a buy.
    StopAboveEntry,
    /// No stop from the script and no ATR for the default stop: the trade cannot be sized.
    NoStop,
    /// Cut by the per-trade risk: the stop would cost more than the allowed share of equity.
    TradeRisk,
    /// Cut by the limit on total capital deployed.
    TotalExposure,
    /// Cut by the limit on capital deployed in one symbol.
    SymbolExposure,
    /// Cut by the free balance (quote for buys, base for sells).
    InsufficientBalance,
    /// A sell with no long to close: spot has no short exposure.
    NoShortOnSpot,
    /// A sell whose whole position is already being sold by open orders.
    NothingToSell,
    /// The daily loss reached the halt limit.
    DailyLoss,
    /// The daily loss reached the warning level.
    DailyLossWarning,
    /// One closed trade lost at least the single-trade warning level.
    TradeLossWarning,
    /// The order failure rate over the rolling window exceeded the limit.
    FailureRate,
    /// A new UTC day started.
    DayRoll,
    /// An operator resumed trading.
    Operator,
}

impl Reason {
    /// The alert text, without allocation.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::None => "no limit applied",
            Reason::Halted => "trading halted by the daily loss limit",
            Reason::Paused => "trading paused by the order failure rate",
            Reason::UnknownSymbol => "unknown symbol",
            Reason::ZeroQty => "zero quantity",
            Reason::NoPrice => "no market price to value the order",
            Reason::NoEquity => "no equity left",
            Reason::StopAboveEntry => "stop loss at or above the entry price",
            Reason::NoStop => "no stop loss and no ATR to size the trade",
            Reason::TradeRisk => "stop loss would cost more than the per-trade risk limit",
            Reason::TotalExposure => "total deployed capital limit",
            Reason::SymbolExposure => "per-symbol deployed capital limit",
            Reason::InsufficientBalance => "insufficient free balance",
            Reason::NoShortOnSpot => "sell without a long position (spot has no short)",
            Reason::NothingToSell => "position already being sold by open orders",
            Reason::DailyLoss => "daily loss limit reached",
            Reason::DailyLossWarning => "daily loss warning level reached",
            Reason::TradeLossWarning => "single trade loss warning level reached",
            Reason::FailureRate => "order failure rate above the limit",
            Reason::DayRoll => "new UTC day",
            Reason::Operator => "operator resume",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer to one intent. Every decision carries its reason so that it can be
/// forwarded as an event as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send `qty_lots` (at most the requested quantity). `limited_by` is the rule that cut
    /// the quantity down, or [`Reason::None`] when the full request fits.
    Allow {
        /// Quantity to send, in lots, never zero.
        qty_lots: u64,
        /// The rule that bound the quantity.
        limited_by: Reason,
    },
    /// Do not send.
    Reject {
        /// Why.
        reason: Reason,
    },
}

impl Decision {
    /// The reason of the decision (the limiting rule for an allow).
    pub fn reason(self) -> Reason {
        match self {
            Decision::Allow { limited_by, .. } => limited_by,
            Decision::Reject { reason } => reason,
        }
    }

    /// The quantity to send; 0 for a reject.
    pub fn qty_lots(self) -> u64 {
        match self {
            Decision::Allow { qty_lots, .. } => qty_lots,
            Decision::Reject { .. } => 0,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allow {
                qty_lots,
                limited_by: Reason::None,
            } => write!(f, "allow {qty_lots} lots"),
            Decision::Allow {
                qty_lots,
                limited_by,
            } => write!(f, "allow {qty_lots} lots (cut by {limited_by})"),
            Decision::Reject { reason } => write!(f, "reject: {reason}"),
        }
    }
}
