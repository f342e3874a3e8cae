//! Binance spot exchange filters: the per-symbol trading rules from `exchangeInfo`, the
//! rounding of prices and quantities to them, and a pre-send check that names the filter
//! Binance would reject an order with (error -1013, "Filter failure: NOTIONAL").
//!
//! [`SymbolFilters`] is built once at start-up from one `exchangeInfo` `symbols[i]` entry
//! (see [`SymbolFilters::from_json`]). Every limit is held as an exact integer: prices in
//! ticks of `PRICE_FILTER.tickSize`, quantities in lots of `LOT_SIZE.stepSize`, notional
//! limits in tick-lots (one tick times one lot), percent multipliers as decimal mantissas.
//! After that the order thread calls the rounding functions and [`SymbolFilters::check`],
//! which allocate nothing, take no lock and do no floating point.
//!
//! Reference: <https://developers.binance.com/docs/binance-spot-api-docs/filters>.

mod decimal;
mod parse;
#[cfg(test)]
mod tests;

pub use decimal::Rounding;
pub use parse::FiltersError;

use crate::feed::fixed::{format_units, FixedError, Increment};
use decimal::Decimal;
use thiserror::Error;

/// Binance's error code for every filter failure (`-1013 INVALID_MESSAGE`).
pub const FILTER_FAILURE_CODE: i64 = -1013;

/// The symbol filters this module enforces, one per Binance `filterType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterType {
    /// `PRICE_FILTER`: min/max price and tick size, for `price` and `stopPrice`.
    PriceFilter,
    /// `PERCENT_PRICE`: price within multipliers of the average price.
    PercentPrice,
    /// `PERCENT_PRICE_BY_SIDE`: the same with separate bid and ask multipliers.
    PercentPriceBySide,
    /// `LOT_SIZE`: min/max quantity and step size, for `quantity` and `icebergQty`.
    LotSize,
    /// `MARKET_LOT_SIZE`: min/max quantity and step size of market orders.
    MarketLotSize,
    /// `MIN_NOTIONAL` (legacy): minimum `price * quantity`.
    MinNotional,
    /// `NOTIONAL`: minimum and maximum `price * quantity`.
    Notional,
    /// `ICEBERG_PARTS`: at most `limit` parts, `ceil(qty / icebergQty)`.
    IcebergParts,
    /// `MAX_NUM_ORDERS`: open orders on the symbol, algo orders included.
    MaxNumOrders,
    /// `MAX_NUM_ALGO_ORDERS`: open stop-loss / take-profit orders on the symbol.
    MaxNumAlgoOrders,
    /// `MAX_NUM_ICEBERG_ORDERS`: open iceberg orders on the symbol.
    MaxNumIcebergOrders,
    /// `TRAILING_DELTA`: range of `trailingDelta` for trailing stops.
    TrailingDelta,
}

impl FilterType {
    /// The `filterType` string of exchangeInfo.
    pub const fn name(self) -> &'static str {
        match self {
            FilterType::PriceFilter => "PRICE_FILTER",
            FilterType::PercentPrice => "PERCENT_PRICE",
            FilterType::PercentPriceBySide => "PERCENT_PRICE_BY_SIDE",
            FilterType::LotSize => "LOT_SIZE",
            FilterType::MarketLotSize => "MARKET_LOT_SIZE",
            FilterType::MinNotional => "MIN_NOTIONAL",
            FilterType::Notional => "NOTIONAL",
            FilterType::IcebergParts => "ICEBERG_PARTS",
            FilterType::MaxNumOrders => "MAX_NUM_ORDERS",
            FilterType::MaxNumAlgoOrders => "MAX_NUM_ALGO_ORDERS",
            FilterType::MaxNumIcebergOrders => "MAX_NUM_ICEBERG_ORDERS",
            FilterType::TrailingDelta => "TRAILING_DELTA",
        }
    }

    /// The `msg` Binance sends with code -1013 when an order fails this filter, word for
    /// word, so that a local rejection and the exchange's read the same in logs.
    pub const fn message(self) -> &'static str {
        match self {
            FilterType::PriceFilter => "Filter failure: PRICE_FILTER",
            FilterType::PercentPrice => "Filter failure: PERCENT_PRICE",
            FilterType::PercentPriceBySide => "Filter failure: PERCENT_PRICE_BY_SIDE",
            FilterType::LotSize => "Filter failure: LOT_SIZE",
            FilterType::MarketLotSize => "Filter failure: MARKET_LOT_SIZE",
            FilterType::MinNotional => "Filter failure: MIN_NOTIONAL",
            FilterType::Notional => "Filter failure: NOTIONAL",
            FilterType::IcebergParts => "Filter failure: ICEBERG_PARTS",
            FilterType::MaxNumOrders => "Filter failure: MAX_NUM_ORDERS",
            FilterType::MaxNumAlgoOrders => "Filter failure: MAX_NUM_ALGO_ORDERS",
            FilterType::MaxNumIcebergOrders => "Filter failure: MAX_NUM_ICEBERG_ORDERS",
            FilterType::TrailingDelta => "Filter failure: TRAILING_DELTA",
        }
    }
}

/// Which rule of a filter an order broke (Binance's message does not say; logs and tests
/// want to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Violation {
    /// Below the filter's minimum (or zero / negative where a positive value is needed).
    BelowMin,
    /// Above the filter's maximum.
    AboveMax,
    /// Not a whole multiple of the filter's step.
    OffStep,
    /// An iceberg order would have more parts than `ICEBERG_PARTS.limit`.
    TooManyParts,
    /// The account already has the most open orders of this kind the filter allows.
    TooManyOpen,
}

/// Why [`SymbolFilters::check`] refused an order. Small and `Copy`: the order thread
/// returns it by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FilterError {
    /// Binance would reject the order with -1013 and [`FilterType::message`]. Terminal:
    /// resending the same order fails the same way.
    #[error("{}", .filter.message())]
    Failed {
        /// The filter that failed.
        filter: FilterType,
        /// Which of its rules.
        violation: Violation,
    },
    /// The filter needs the symbol's average price (percent price, or the notional of an
    /// order without a price) and [`CheckContext::ref_price_ticks`] was not positive.
    /// Retryable once a reference price is known.
    #[error("{}: no reference price known to check it against", .0.name())]
    NoReferencePrice(FilterType),
}

impl FilterError {
    /// The filter involved.
    pub const fn filter(self) -> FilterType {
        match self {
            FilterError::Failed { filter, .. } | FilterError::NoReferencePrice(filter) => filter,
        }
    }

    /// Binance's error code for a [`FilterError::Failed`] (-1013); `None` for a local-only
    /// refusal.
    pub const fn binance_code(self) -> Option<i64> {
        match self {
            FilterError::Failed { .. } => Some(FILTER_FAILURE_CODE),
            FilterError::NoReferencePrice(_) => None,
        }
    }

    /// Whether retrying the same order later may succeed (an open-order count going down,
    /// a reference price arriving); price, quantity and notional failures are final.
    pub const fn is_retryable(self) -> bool {
        match self {
            FilterError::Failed { violation, .. } => matches!(violation, Violation::TooManyOpen),
            FilterError::NoReferencePrice(_) => true,
        }
    }
}

#[cold]
#[inline(never)]
fn fail(filter: FilterType, violation: Violation) -> FilterError {
    FilterError::Failed { filter, violation }
}

/// Why a caller's price or quantity could not be put on the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RoundError {
    /// The decimal text was malformed (see [`FixedError`]).
    #[error("bad decimal: {0}")]
    Decimal(#[from] FixedError),
    /// A negative fixed-point value was given: prices and quantities are positive.
    #[error("negative value")]
    Negative,
    /// The rounded count of ticks or lots does not fit an `i64`.
    #[error("value too large for the symbol's grid")]
    Overflow,
}

pub use crate::exec::Side;

/// Binance spot order types that filters treat differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderKind {
    /// `LIMIT`.
    Limit,
    /// `LIMIT_MAKER`.
    LimitMaker,
    /// `MARKET`: no price; notional uses the reference price.
    Market,
    /// `STOP_LOSS`: a market order once `stopPrice` triggers (algo order).
    StopLoss,
    /// `STOP_LOSS_LIMIT`: a limit order once `stopPrice` triggers (algo order).
    StopLossLimit,
    /// `TAKE_PROFIT`: a market order once `stopPrice` triggers (algo order).
    TakeProfit,
    /// `TAKE_PROFIT_LIMIT`: a limit order once `stopPrice` triggers (algo order).
    TakeProfitLimit,
}

impl OrderKind {
    /// Whether the order carries a `price` (limit kinds).
    pub const fn has_price(self) -> bool {
        matches!(
            self,
            OrderKind::Limit
                | OrderKind::LimitMaker
                | OrderKind::StopLossLimit
                | OrderKind::TakeProfitLimit
        )
    }

    /// Whether the order executes as a market order (no price): `MARKET_LOT_SIZE` and the
    /// notional filters' `apply*ToMarket` flags apply to it.
    pub const fn is_market(self) -> bool {
        !self.has_price()
    }

    /// Whether Binance counts it as an "algo" order (stop-loss / take-profit kinds).
    pub const fn is_algo(self) -> bool {
        matches!(
            self,
            OrderKind::StopLoss
                | OrderKind::StopLossLimit
                | OrderKind::TakeProfit
                | OrderKind::TakeProfitLimit
        )
    }
}

/// An order as the filters see it: already on the symbol's grid (ticks and lots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRequest {
    /// Buy or sell.
    pub side: Side,
    /// Order type.
    pub kind: OrderKind,
    /// Limit price in ticks; ignored for kinds without a price.
    pub price_ticks: i64,
    /// `stopPrice` in ticks; 0 when the order has none (checked by `PRICE_FILTER` when
    /// positive).
    pub stop_price_ticks: i64,
    /// Quantity in lots of `LOT_SIZE.stepSize`.
    pub qty_lots: i64,
    /// `icebergQty` in lots; 0 for an ordinary order.
    pub iceberg_qty_lots: i64,
    /// `trailingDelta` in basis points; 0 for none. Checked for algo kinds only.
    pub trailing_delta_bips: u32,
}

impl OrderRequest {
    /// A plain `LIMIT` order (no stop, no iceberg, no trailing delta).
    pub const fn limit(side: Side, price_ticks: i64, qty_lots: i64) -> OrderRequest {
        OrderRequest {
            side,
            kind: OrderKind::Limit,
            price_ticks,
            stop_price_ticks: 0,
            qty_lots,
            iceberg_qty_lots: 0,
            trailing_delta_bips: 0,
        }
    }

    /// A plain `MARKET` order by base quantity.
    pub const fn market(side: Side, qty_lots: i64) -> OrderRequest {
        OrderRequest {
            side,
            kind: OrderKind::Market,
            price_ticks: 0,
            stop_price_ticks: 0,
            qty_lots,
            iceberg_qty_lots: 0,
            trailing_delta_bips: 0,
        }
    }
}

/// What the filters need to know beyond the order: the account's open orders on the
/// symbol and the price the percent-price and market-notional rules compare against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckContext {
    /// The reference price in ticks: Binance's `avgPrice` over the filter's `avgPriceMins`
    /// (or the last price when that is 0), rounded to the tick by the caller
    /// ([`SymbolFilters::round_price`] with [`Rounding::Nearest`]). 0 = unknown.
    pub ref_price_ticks: i64,
    /// Orders open on the symbol now, algo orders included (not counting this one).
    pub open_orders: u32,
    /// Algo (stop / take-profit) orders open on the symbol now.
    pub open_algo_orders: u32,
    /// Iceberg orders open on the symbol now.
    pub open_iceberg_orders: u32,
}

/// `PRICE_FILTER` (or the qty part of `LOT_SIZE` / `MARKET_LOT_SIZE`) in grid units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeRule {
    /// Smallest allowed value in grid units (the filter's minimum rounded up to the grid);
    /// 0 when the filter disables its minimum.
    pub min: i64,
    /// Largest allowed value in grid units (rounded down to the grid); `i64::MAX` when
    /// disabled or beyond the grid's range.
    pub max: i64,
    /// The value must be a multiple of this many grid units (1 for the grid's own step,
    /// `MARKET_LOT_SIZE.stepSize / LOT_SIZE.stepSize` for market orders).
    pub step: i64,
}

impl RangeRule {
    #[inline(always)]
    fn check(&self, value: i64, filter: FilterType) -> Result<(), FilterError> {
        if value <= 0 || value < self.min {
            return Err(fail(filter, Violation::BelowMin));
        }
        if value > self.max {
            return Err(fail(filter, Violation::AboveMax));
        }
        if self.step > 1 && value % self.step != 0 {
            return Err(fail(filter, Violation::OffStep));
        }
        Ok(())
    }
}

/// An exact decimal multiplier (`units * 10^-decimals`) such as `PERCENT_PRICE`'s
/// `multiplierUp` "1.3000" (13, 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Multiplier {
    /// Mantissa.
    pub units: i64,
    /// Decimals of the mantissa (at most 18).
    pub decimals: u8,
}

impl Multiplier {
    /// `ref_ticks * self` compared with `price_ticks` exactly: the sign of
    /// `price_ticks - ref_ticks * self`.
    #[inline(always)]
    fn cmp_price(self, price_ticks: i64, ref_ticks: i64) -> std::cmp::Ordering {
        // 10^18 * i64 and i64 * i64 both fit an i128.
        let lhs = i128::from(price_ticks) * 10i128.pow(u32::from(self.decimals));
        let rhs = i128::from(ref_ticks) * i128::from(self.units);
        lhs.cmp(&rhs)
    }
}

/// `PERCENT_PRICE_BY_SIDE` (and `PERCENT_PRICE`, which is the same rule with one pair of
/// multipliers for both sides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PercentPriceRule {
    /// Buy price must be at most `ref * bid_up`.
    pub bid_up: Multiplier,
    /// Buy price must be at least `ref * bid_down`.
    pub bid_down: Multiplier,
    /// Sell price must be at most `ref * ask_up`.
    pub ask_up: Multiplier,
    /// Sell price must be at least `ref * ask_down`.
    pub ask_down: Multiplier,
    /// Minutes Binance averages the reference price over (0: last price).
    pub avg_price_mins: u32,
}

impl PercentPriceRule {
    #[inline(always)]
    fn check(
        &self,
        side: Side,
        price_ticks: i64,
        ref_ticks: i64,
        filter: FilterType,
    ) -> Result<(), FilterError> {
        if ref_ticks <= 0 {
            return Err(FilterError::NoReferencePrice(filter));
        }
        let (up, down) = match side {
            Side::Buy => (self.bid_up, self.bid_down),
            Side::Sell => (self.ask_up, self.ask_down),
        };
        if up.cmp_price(price_ticks, ref_ticks).is_gt() {
            return Err(fail(filter, Violation::AboveMax));
        }
        if down.cmp_price(price_ticks, ref_ticks).is_lt() {
            return Err(fail(filter, Violation::BelowMin));
        }
        Ok(())
    }
}

/// `NOTIONAL` or `MIN_NOTIONAL`, with limits in tick-lots: `price_ticks * qty_lots` is
/// compared with them directly, exactly equivalent to comparing `price * quantity` with the
/// decimal limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotionalRule {
    /// `minNotional` in tick-lots, rounded up; 0 when disabled.
    pub min_tick_lots: i128,
    /// `maxNotional` in tick-lots, rounded down; `i128::MAX` when absent or disabled.
    pub max_tick_lots: i128,
    /// Whether the minimum applies to market orders (`applyMinToMarket`, or
    /// `MIN_NOTIONAL.applyToMarket`).
    pub apply_min_to_market: bool,
    /// Whether the maximum applies to market orders (`applyMaxToMarket`).
    pub apply_max_to_market: bool,
    /// Minutes Binance averages the market orders' reference price over.
    pub avg_price_mins: u32,
}

impl NotionalRule {
    #[inline(always)]
    fn check(
        &self,
        order: &OrderRequest,
        ref_ticks: i64,
        filter: FilterType,
    ) -> Result<(), FilterError> {
        let market = order.kind.is_market();
        let check_min = self.min_tick_lots > 0 && (!market || self.apply_min_to_market);
        let check_max = self.max_tick_lots < i128::MAX && (!market || self.apply_max_to_market);
        if !check_min && !check_max {
            return Ok(());
        }
        let price = if market {
            if ref_ticks <= 0 {
                return Err(FilterError::NoReferencePrice(filter));
            }
            ref_ticks
        } else {
            order.price_ticks
        };
        let notional = i128::from(price) * i128::from(order.qty_lots);
        if check_min && notional < self.min_tick_lots {
            return Err(fail(filter, Violation::BelowMin));
        }
        if check_max && notional > self.max_tick_lots {
            return Err(fail(filter, Violation::AboveMax));
        }
        Ok(())
    }
}

/// `TRAILING_DELTA`, in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrailingDeltaRule {
    /// Least delta of `STOP_LOSS*` buys and `TAKE_PROFIT*` sells.
    pub min_above: u32,
    /// Greatest delta of `STOP_LOSS*` buys and `TAKE_PROFIT*` sells.
    pub max_above: u32,
    /// Least delta of `STOP_LOSS*` sells and `TAKE_PROFIT*` buys.
    pub min_below: u32,
    /// Greatest delta of `STOP_LOSS*` sells and `TAKE_PROFIT*` buys.
    pub max_below: u32,
}

/// One symbol's exchange filters with every number on the symbol's integer grid.
///
/// Build it with [`SymbolFilters::from_json`] or [`SymbolFilters::from_value`]; the
/// fields are read through accessors so that the grid and the limits stay consistent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolFilters {
    symbol: String,
    tick: Increment,
    step: Increment,
    price: RangeRule,
    lot: RangeRule,
    market_lot: Option<RangeRule>,
    percent_price: Option<PercentPriceRule>,
    percent_price_by_side: Option<PercentPriceRule>,
    min_notional: Option<NotionalRule>,
    notional: Option<NotionalRule>,
    iceberg_parts: Option<i64>,
    max_num_orders: Option<u32>,
    max_num_algo_orders: Option<u32>,
    max_num_iceberg_orders: Option<u32>,
    trailing_delta: Option<TrailingDeltaRule>,
    ignored: Vec<String>,
}

impl SymbolFilters {
    /// The symbol name (`"BTCUSDT"`).
    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// `PRICE_FILTER.tickSize`: one price tick.
    pub fn tick_size(&self) -> Increment {
        self.tick
    }

    /// `LOT_SIZE.stepSize`: one quantity lot.
    pub fn step_size(&self) -> Increment {
        self.step
    }

    /// `PRICE_FILTER` in ticks.
    pub fn price_rule(&self) -> RangeRule {
        self.price
    }

    /// `LOT_SIZE` in lots.
    pub fn lot_rule(&self) -> RangeRule {
        self.lot
    }

    /// `MARKET_LOT_SIZE` in lots, when the symbol has one.
    pub fn market_lot_rule(&self) -> Option<RangeRule> {
        self.market_lot
    }

    /// `NOTIONAL` in tick-lots, when the symbol has one.
    pub fn notional_rule(&self) -> Option<NotionalRule> {
        self.notional
    }

    /// `MIN_NOTIONAL` in tick-lots, when the symbol has one.
    pub fn min_notional_rule(&self) -> Option<NotionalRule> {
        self.min_notional
    }

    /// `PERCENT_PRICE_BY_SIDE`, when the symbol has one.
    pub fn percent_price_by_side_rule(&self) -> Option<PercentPriceRule> {
        self.percent_price_by_side
    }

    /// `MAX_NUM_ORDERS.maxNumOrders`, when the symbol has one.
    pub fn max_num_orders(&self) -> Option<u32> {
        self.max_num_orders
    }

    /// The `filterType`s of this entry that the module does not enforce (`MAX_POSITION`,
    /// `MAX_NUM_ORDER_AMENDS`, anything new), in exchangeInfo order, so that start-up can
    /// log them: an unknown filter is never an error.
    pub fn ignored_filters(&self) -> &[String] {
        &self.ignored
    }

    /// Rounds a decimal price ("61837.635") to a whole number of ticks. Exact; allocates
    /// nothing. The result is on the tick grid but may still be outside `PRICE_FILTER`'s
    /// range: [`SymbolFilters::check`] says so.
    #[inline]
    pub fn round_price(&self, price: &[u8], mode: Rounding) -> Result<i64, RoundError> {
        to_grid(Decimal::parse(price)?, self.tick, mode)
    }

    /// Rounds a fixed-point price `mantissa * 10^-decimals` (a value computed by the
    /// strategy or the risk manager) to a whole number of ticks.
    #[inline]
    pub fn round_price_scaled(
        &self,
        mantissa: i64,
        decimals: u8,
        mode: Rounding,
    ) -> Result<i64, RoundError> {
        to_grid(scaled(mantissa, decimals)?, self.tick, mode)
    }

    /// Rounds a decimal quantity DOWN to whole lots of `LOT_SIZE.stepSize`: rounding up
    /// could ask for more than the balance holds. Never above the input; unchanged if the
    /// input is already on the grid.
    #[inline]
    pub fn floor_qty(&self, qty: &[u8]) -> Result<i64, RoundError> {
        to_grid(Decimal::parse(qty)?, self.step, Rounding::Down)
    }

    /// [`SymbolFilters::floor_qty`] for a fixed-point quantity `mantissa * 10^-decimals`.
    #[inline]
    pub fn floor_qty_scaled(&self, mantissa: i64, decimals: u8) -> Result<i64, RoundError> {
        to_grid(scaled(mantissa, decimals)?, self.step, Rounding::Down)
    }

    /// Rounds a quantity in lots DOWN to `MARKET_LOT_SIZE.stepSize` (a whole number of
    /// lots; unchanged when the symbol has no market step of its own). Does not clamp to
    /// `maxQty`: a market order that is too large fails [`SymbolFilters::check`] instead of
    /// silently shrinking.
    #[inline]
    pub fn floor_market_qty(&self, qty_lots: i64) -> i64 {
        match self.market_lot {
            Some(rule) if rule.step > 1 => qty_lots - qty_lots.rem_euclid(rule.step),
            _ => qty_lots,
        }
    }

    /// `price * quantity` of `price_ticks` and `qty_lots` in tick-lots, exact.
    #[inline(always)]
    pub fn notional_tick_lots(price_ticks: i64, qty_lots: i64) -> i128 {
        i128::from(price_ticks) * i128::from(qty_lots)
    }

    /// A price in ticks as Binance's decimal text. For requests and display; allocates.
    #[cold]
    pub fn format_price(&self, price_ticks: i64) -> String {
        format_units(price_ticks, self.tick)
    }

    /// A quantity in lots as Binance's decimal text. For requests and display; allocates.
    #[cold]
    pub fn format_qty(&self, qty_lots: i64) -> String {
        format_units(qty_lots, self.step)
    }

    /// Checks an order against every filter the symbol has, in this order: PRICE_FILTER
    /// (price, then stopPrice), PERCENT_PRICE, PERCENT_PRICE_BY_SIDE, LOT_SIZE (quantity,
    /// then icebergQty), MARKET_LOT_SIZE, ICEBERG_PARTS, MIN_NOTIONAL, NOTIONAL,
    /// MAX_NUM_ORDERS, MAX_NUM_ALGO_ORDERS, MAX_NUM_ICEBERG_ORDERS, TRAILING_DELTA; the
    /// first failure is returned. Allocates nothing.
    pub fn check(&self, order: &OrderRequest, ctx: &CheckContext) -> Result<(), FilterError> {
        let priced = order.kind.has_price();
        if priced {
            self.price
                .check(order.price_ticks, FilterType::PriceFilter)?;
        }
        if order.stop_price_ticks != 0 {
            self.price
                .check(order.stop_price_ticks, FilterType::PriceFilter)?;
        }
        if priced {
            if let Some(rule) = &self.percent_price {
                rule.check(
                    order.side,
                    order.price_ticks,
                    ctx.ref_price_ticks,
                    FilterType::PercentPrice,
                )?;
            }
            if let Some(rule) = &self.percent_price_by_side {
                rule.check(
                    order.side,
                    order.price_ticks,
                    ctx.ref_price_ticks,
                    FilterType::PercentPriceBySide,
                )?;
            }
        }
        self.lot.check(order.qty_lots, FilterType::LotSize)?;
        let iceberg = order.iceberg_qty_lots != 0;
        if iceberg {
            self.lot
                .check(order.iceberg_qty_lots, FilterType::LotSize)?;
        }
        if order.kind.is_market() {
            if let Some(rule) = &self.market_lot {
                rule.check(order.qty_lots, FilterType::MarketLotSize)?;
            }
        }
        if iceberg {
            if let Some(limit) = self.iceberg_parts {
                // ceil(qty / icebergQty); both positive here (LOT_SIZE passed).
                let (q, i) = (order.qty_lots, order.iceberg_qty_lots);
                let parts = q / i + i64::from(q % i != 0);
                if parts > limit {
                    return Err(fail(FilterType::IcebergParts, Violation::TooManyParts));
                }
            }
        }
        if let Some(rule) = &self.min_notional {
            rule.check(order, ctx.ref_price_ticks, FilterType::MinNotional)?;
        }
        if let Some(rule) = &self.notional {
            rule.check(order, ctx.ref_price_ticks, FilterType::Notional)?;
        }
        if let Some(max) = self.max_num_orders {
            if ctx.open_orders >= max {
                return Err(fail(FilterType::MaxNumOrders, Violation::TooManyOpen));
            }
        }
        if order.kind.is_algo() {
            if let Some(max) = self.max_num_algo_orders {
                if ctx.open_algo_orders >= max {
                    return Err(fail(FilterType::MaxNumAlgoOrders, Violation::TooManyOpen));
                }
            }
        }
        if iceberg {
            if let Some(max) = self.max_num_iceberg_orders {
                if ctx.open_iceberg_orders >= max {
                    return Err(fail(
                        FilterType::MaxNumIcebergOrders,
                        Violation::TooManyOpen,
                    ));
                }
            }
        }
        if order.kind.is_algo() && order.trailing_delta_bips != 0 {
            if let Some(rule) = &self.trailing_delta {
                let above = matches!(
                    (order.kind, order.side),
                    (OrderKind::StopLoss | OrderKind::StopLossLimit, Side::Buy)
                        | (
                            OrderKind::TakeProfit | OrderKind::TakeProfitLimit,
                            Side::Sell
                        )
                );
                let (min, max) = if above {
                    (rule.min_above, rule.max_above)
                } else {
                    (rule.min_below, rule.max_below)
                };
                let delta = order.trailing_delta_bips;
                if delta < min {
                    return Err(fail(FilterType::TrailingDelta, Violation::BelowMin));
                }
                if delta > max {
                    return Err(fail(FilterType::TrailingDelta, Violation::AboveMax));
                }
            }
        }
        Ok(())
    }
}

/// A non-negative fixed-point value as a [`Decimal`].
#[inline(always)]
fn scaled(mantissa: i64, decimals: u8) -> Result<Decimal, RoundError> {
    if mantissa < 0 {
        return Err(RoundError::Negative);
    }
    Ok(Decimal {
        mantissa: mantissa.unsigned_abs().into(),
        scale: u32::from(decimals),
    })
}

/// `value / inc` rounded by `mode`, as an `i64` count of increments.
#[inline(always)]
fn to_grid(value: Decimal, inc: Increment, mode: Rounding) -> Result<i64, RoundError> {
    let units = value
        .div_unit(
            inc.units().unsigned_abs().into(),
            u32::from(inc.decimals()),
            mode,
        )
        .ok_or(RoundError::Overflow)?;
    i64::try_from(units).map_err(|_| RoundError::Overflow)
}

/// `value / unit` rounded by `mode`, as an `i128` (limits in tick-lots); `None` when it
/// does not fit.
fn div_to_i128(value: Decimal, unit_units: u128, unit_scale: u32, mode: Rounding) -> Option<i128> {
    value
        .div_unit(unit_units, unit_scale, mode)
        .and_then(|v| i128::try_from(v).ok())
}
