//! The risk manager: the pre-trade check of every intent and the live rules (daily-loss
//! halt, warnings, failure-rate pause) driven by fills, order results, marks and the UTC
//! clock. Runs on the order thread: after [`RiskManager::new`] no call allocates, locks or
//! panics on anything that came from outside (unknown symbols, absurd quantities, fills
//! that match no order).
//!
//! Semantics where the issue is silent:
//! * Exposure counts positions at their last mark plus open buy orders at their check
//!   price (limit, or the market price for a market order), so that several buys in flight
//!   can never add up past a limit. A mark that rises later can put exposure above a limit
//!   passively; that only blocks further buys, it does not force a sale.
//! * Sells (spot: they only reduce a long) are allowed while halted or paused: they can
//!   only lower risk, and the halt's flatten goes through [`RiskManager::flatten_into`].
//! * An operator resume after a daily-loss halt rebases the day's starting equity to the
//!   current equity: losses so far are accepted, a further loss of the halt level halts
//!   again the same day.

use super::config::{RiskConfig, RiskConfigError};
use super::events::{EventKind, RiskEvent, RiskEvents};
use super::failure_window::FailureWindow;
use super::limits::{
    headroom_lots, loss_bp, loss_reached, notional, risk_cap_lots, share_bp, stop_distance_ticks,
};
use super::state::{RiskState, SymbolRisk, SymbolSpec, DAY_MS};
use super::types::{
    Decision, Fill, Intent, MarketView, OrderOutcome, OrderResult, Quote, Reason, Side, SymbolId,
};

/// The risk manager of one engine (one account, a fixed table of symbols).
#[derive(Debug, Clone)]
pub struct RiskManager {
    config: RiskConfig,
    state: RiskState,
}

#[cold]
#[inline(never)]
fn reject(reason: Reason) -> Decision {
    Decision::Reject { reason }
}

/// Lowers `qty` to `cap`, remembering the rule that bound it.
#[inline(always)]
fn cap(qty: &mut u64, limited: &mut Reason, cap: u64, reason: Reason) {
    if cap < *qty {
        *qty = cap;
        *limited = reason;
    }
}

impl RiskManager {
    /// A manager over `symbols` (indexed by [`SymbolId`]) for an account holding `cash`
    /// quote and no positions, on the UTC day of `now_ms` (Unix ms). Validates the config
    /// and the symbol table; this is the only allocating call.
    pub fn new(
        config: RiskConfig,
        symbols: &[SymbolSpec],
        cash: Quote,
        now_ms: i64,
    ) -> Result<Self, RiskConfigError> {
        config.validate()?;
        if symbols.len() > u16::MAX as usize {
            return Err(RiskConfigError::TooManySymbols {
                count: symbols.len(),
            });
        }
        for (index, s) in symbols.iter().enumerate() {
            if s.lot_tick_value <= 0 {
                return Err(RiskConfigError::BadSymbolValue {
                    index,
                    value: s.lot_tick_value,
                });
            }
        }
        if cash < 0 {
            return Err(RiskConfigError::NegativeCash { value: cash });
        }
        Ok(RiskManager {
            config,
            state: RiskState {
                cash,
                specs: symbols.to_vec(),
                symbols: vec![SymbolRisk::default(); symbols.len()],
                utc_day: now_ms.div_euclid(DAY_MS),
                day_start_equity: cash,
                halted: false,
                paused: false,
                daily_warned: false,
                failures: FailureWindow::new(config.failure_window),
            },
        })
    }

    /// The limits in force.
    pub fn config(&self) -> &RiskConfig {
        &self.config
    }

    /// The state, for the dashboard and snapshots.
    pub fn state(&self) -> &RiskState {
        &self.state
    }

    /// Cash plus positions at their marks.
    pub fn equity(&self) -> Quote {
        self.state.equity()
    }

    /// True while the daily-loss halt holds.
    pub fn is_halted(&self) -> bool {
        self.state.halted
    }

    /// True while the failure-rate pause holds.
    pub fn is_paused(&self) -> bool {
        self.state.paused
    }

    /// The pre-trade check. An `Allow` reserves its quantity as an open order (the caller
    /// sends it, then reports fills and the outcome); a `Reject` changes nothing.
    ///
    /// Buys are cut down, in this order, by the per-trade stop risk, the total and the
    /// per-symbol exposure limits and the free quote balance (the lower of the exchange's
    /// figure and the manager's own unreserved cash); `limited_by` names the tightest.
    /// Sells are cut to the position not already being sold, and to the free base balance.
    #[inline]
    pub fn check(&mut self, intent: &Intent, market: &MarketView) -> Decision {
        let i = intent.symbol.0 as usize;
        if i >= self.state.symbols.len() {
            return reject(Reason::UnknownSymbol);
        }
        if intent.qty_lots == 0 {
            return reject(Reason::ZeroQty);
        }
        match intent.side {
            Side::Buy => self.check_buy(i, intent, market),
            Side::Sell => self.check_sell(i, intent, market),
        }
    }

    #[inline(always)]
    fn check_buy(&mut self, i: usize, intent: &Intent, market: &MarketView) -> Decision {
        if self.state.halted {
            return reject(Reason::Halted);
        }
        if self.state.paused {
            return reject(Reason::Paused);
        }
        let px = if intent.limit_ticks != 0 {
            intent.limit_ticks
        } else {
            market.price_ticks
        };
        if px == 0 {
            return reject(Reason::NoPrice);
        }
        let equity = self.state.equity();
        if equity <= 0 {
            return reject(Reason::NoEquity);
        }
        let dist = match stop_distance_ticks(
            px,
            intent.stop_ticks,
            market.atr_ticks,
            self.config.atr_stop_mult_bp,
        ) {
            Ok(d) => d,
            Err(r) => return reject(r),
        };
        let v = self.state.specs[i].lot_tick_value;
        let lot_value = notional(1, px, v);
        let mut qty = intent.qty_lots;
        let mut limited = Reason::None;
        cap(
            &mut qty,
            &mut limited,
            risk_cap_lots(equity, self.config.max_trade_risk_bp, dist, v),
            Reason::TradeRisk,
        );
        cap(
            &mut qty,
            &mut limited,
            headroom_lots(
                share_bp(equity, self.config.max_total_exposure_bp),
                self.state.total_exposure(),
                lot_value,
            ),
            Reason::TotalExposure,
        );
        cap(
            &mut qty,
            &mut limited,
            headroom_lots(
                share_bp(equity, self.config.max_symbol_exposure_bp),
                self.state.symbol_exposure(i),
                lot_value,
            ),
            Reason::SymbolExposure,
        );
        let free = market.quote_free.min(self.state.free_cash());
        cap(
            &mut qty,
            &mut limited,
            headroom_lots(free, 0, lot_value),
            Reason::InsufficientBalance,
        );
        if qty == 0 {
            return reject(limited);
        }
        let s = &mut self.state.symbols[i];
        s.open_buy_lots += qty;
        s.open_buy_quote = s.open_buy_quote.saturating_add(notional(qty, px, v));
        Decision::Allow {
            qty_lots: qty,
            limited_by: limited,
        }
    }

    #[inline(always)]
    fn check_sell(&mut self, i: usize, intent: &Intent, market: &MarketView) -> Decision {
        let s = &self.state.symbols[i];
        if s.position_lots == 0 {
            return reject(Reason::NoShortOnSpot);
        }
        let available = s.position_lots.saturating_sub(s.open_sell_lots);
        if available == 0 {
            return reject(Reason::NothingToSell);
        }
        let mut qty = intent.qty_lots;
        let mut limited = Reason::None;
        cap(&mut qty, &mut limited, available, Reason::NoShortOnSpot);
        cap(
            &mut qty,
            &mut limited,
            market.base_free_lots,
            Reason::InsufficientBalance,
        );
        if qty == 0 {
            return reject(limited);
        }
        self.state.symbols[i].open_sell_lots += qty;
        Decision::Allow {
            qty_lots: qty,
            limited_by: limited,
        }
    }

    /// Applies an execution: moves the lots from open to held (or sold), books cash and
    /// fees, marks the symbol at the fill price, raises the single-trade loss warning on a
    /// sell that lost at least `trade_loss_warn_bp` of equity, and applies the daily rules.
    /// A sell fill larger than the position closes the position (the excess is left to the
    /// reconciliation with the exchange). Errors only on an unknown symbol.
    pub fn on_fill(&mut self, fill: &Fill, events: &mut RiskEvents) -> Result<(), Reason> {
        let i = fill.symbol.0 as usize;
        if i >= self.state.symbols.len() {
            return Err(Reason::UnknownSymbol);
        }
        let v = self.state.specs[i].lot_tick_value;
        let equity_before = self.state.equity();
        self.state.release(i, fill.side, fill.qty_lots);
        let amount = notional(fill.qty_lots, fill.price_ticks, v);
        match fill.side {
            Side::Buy => {
                let spent = amount.saturating_add(fill.fee);
                let s = &mut self.state.symbols[i];
                s.position_lots = s.position_lots.saturating_add(fill.qty_lots);
                s.cost = s.cost.saturating_add(spent);
                s.mark_ticks = fill.price_ticks;
                self.state.cash = self.state.cash.saturating_sub(spent);
            }
            Side::Sell => {
                let s = &mut self.state.symbols[i];
                let sold = fill.qty_lots.min(s.position_lots);
                let proceeds = notional(sold, fill.price_ticks, v).saturating_sub(fill.fee);
                let basis = if s.position_lots == 0 {
                    0
                } else {
                    s.cost.saturating_mul(sold as Quote) / s.position_lots as Quote
                };
                s.position_lots -= sold;
                s.cost -= basis;
                if s.position_lots == 0 {
                    s.cost = 0;
                }
                s.mark_ticks = fill.price_ticks;
                self.state.cash = self.state.cash.saturating_add(proceeds);
                let realized = proceeds - basis;
                if realized < 0
                    && loss_reached(
                        equity_before,
                        equity_before.saturating_add(realized),
                        self.config.trade_loss_warn_bp,
                    )
                {
                    events.push(RiskEvent {
                        kind: EventKind::Warn,
                        reason: Reason::TradeLossWarning,
                        symbol: Some(fill.symbol),
                        value_bp: loss_bp(equity_before, equity_before + realized),
                        amount: -realized,
                    });
                }
            }
        }
        self.evaluate_daily(events);
        Ok(())
    }

    /// Records an order's outcome in the failure window (accepted / failed), releases the
    /// unfilled lots of a failed or closed order, and pauses trading when the failure rate
    /// over the window is above the limit. Errors only on an unknown symbol.
    pub fn on_order_result(
        &mut self,
        result: &OrderResult,
        events: &mut RiskEvents,
    ) -> Result<(), Reason> {
        let i = result.symbol.0 as usize;
        if i >= self.state.symbols.len() {
            return Err(Reason::UnknownSymbol);
        }
        match result.outcome {
            OrderOutcome::Accepted => self.state.failures.record(false),
            OrderOutcome::Failed => {
                self.state.failures.record(true);
                self.state.release(i, result.side, result.unfilled_lots);
            }
            OrderOutcome::Closed => self.state.release(i, result.side, result.unfilled_lots),
        }
        if !self.state.paused
            && self.state.failures.exceeds(
                self.config.max_failure_rate_bp,
                self.config.failure_min_samples,
            )
        {
            self.state.paused = true;
            events.push(RiskEvent {
                kind: EventKind::Pause,
                reason: Reason::FailureRate,
                symbol: None,
                value_bp: self.state.failures.rate_bp(),
                amount: 0,
            });
        }
        Ok(())
    }

    /// New marks, one per symbol id (`marks[i]` for symbol `i`; 0 leaves a mark as is;
    /// extra entries are ignored), then the daily rules.
    pub fn on_mark(&mut self, marks_ticks: &[u64], events: &mut RiskEvents) {
        for (s, &m) in self.state.symbols.iter_mut().zip(marks_ticks) {
            if m != 0 {
                s.mark_ticks = m;
            }
        }
        self.evaluate_daily(events);
    }

    /// The clock: on the first call in a later UTC day than the current one, the day's
    /// starting equity becomes the current equity, the daily warning re-arms and a daily
    /// halt lifts (with a `Resume` event). A clock that goes back changes nothing.
    pub fn on_day_roll(&mut self, now_ms: i64, events: &mut RiskEvents) {
        let day = now_ms.div_euclid(DAY_MS);
        if day <= self.state.utc_day {
            return;
        }
        self.state.utc_day = day;
        self.state.day_start_equity = self.state.equity();
        self.state.daily_warned = false;
        if self.state.halted {
            self.state.halted = false;
            events.push(RiskEvent {
                kind: EventKind::Resume,
                reason: Reason::DayRoll,
                symbol: None,
                value_bp: 0,
                amount: 0,
            });
        }
    }

    /// An operator's resume: lifts a halt and a pause, forgets the failure window and, after
    /// a halt, rebases the day's starting equity to the current equity. Returns false (and
    /// pushes nothing) when trading was neither halted nor paused.
    pub fn resume(&mut self, events: &mut RiskEvents) -> bool {
        if !self.state.halted && !self.state.paused {
            return false;
        }
        if self.state.halted {
            self.state.day_start_equity = self.state.equity();
            self.state.daily_warned = false;
        }
        self.state.halted = false;
        self.state.paused = false;
        self.state.failures.clear();
        events.push(RiskEvent {
            kind: EventKind::Resume,
            reason: Reason::Operator,
            symbol: None,
            value_bp: 0,
            amount: 0,
        });
        true
    }

    /// The market sells that flatten every position not already being sold, written into
    /// `out` (at most `out.len()`; call again for the rest) and reserved as open sells.
    /// Call it on a `Halt` event after the open orders are cancelled; a second call only
    /// adds what the first did not cover. Returns the number written.
    pub fn flatten_into(&mut self, out: &mut [Intent]) -> usize {
        let mut n = 0;
        for (i, s) in self.state.symbols.iter_mut().enumerate() {
            if n == out.len() {
                break;
            }
            let available = s.position_lots.saturating_sub(s.open_sell_lots);
            if available == 0 {
                continue;
            }
            s.open_sell_lots += available;
            out[n] = Intent {
                symbol: SymbolId(i as u16),
                side: Side::Sell,
                qty_lots: available,
                limit_ticks: 0,
                stop_ticks: 0,
            };
            n += 1;
        }
        n
    }

    /// The daily-loss halt and warning against the day's starting equity.
    #[inline]
    fn evaluate_daily(&mut self, events: &mut RiskEvents) {
        let start = self.state.day_start_equity;
        let now = self.state.equity();
        if !self.state.halted && loss_reached(start, now, self.config.daily_loss_halt_bp) {
            self.state.halted = true;
            self.state.daily_warned = true;
            events.push(RiskEvent {
                kind: EventKind::Halt,
                reason: Reason::DailyLoss,
                symbol: None,
                value_bp: loss_bp(start, now),
                amount: start - now,
            });
        } else if !self.state.daily_warned
            && loss_reached(start, now, self.config.daily_loss_warn_bp)
        {
            self.state.daily_warned = true;
            events.push(RiskEvent {
                kind: EventKind::Warn,
                reason: Reason::DailyLossWarning,
                symbol: None,
                value_bp: loss_bp(start, now),
                amount: start - now,
            });
        }
    }
}
