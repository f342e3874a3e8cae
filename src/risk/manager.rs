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
        let totals = self.state.totals();
        let equity = totals.equity;
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
                totals.exposure,
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
        let free = market.quote_free.min(totals.free_cash);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 1,000,000 units of cash, three symbols whose lot-tick is worth 1 unit.
    const CASH: Quote = 1_000_000;

    fn mgr() -> RiskManager {
        let specs = [SymbolSpec { lot_tick_value: 1 }; 3];
        match RiskManager::new(RiskConfig::default(), &specs, CASH, 0) {
            Ok(m) => m,
            Err(e) => panic!("valid test config: {e}"),
        }
    }

    fn buy(sym: u16, qty: u64, limit: u64, stop: u64) -> Intent {
        Intent {
            symbol: SymbolId(sym),
            side: Side::Buy,
            qty_lots: qty,
            limit_ticks: limit,
            stop_ticks: stop,
        }
    }

    fn sell(sym: u16, qty: u64) -> Intent {
        Intent {
            symbol: SymbolId(sym),
            side: Side::Sell,
            qty_lots: qty,
            limit_ticks: 0,
            stop_ticks: 0,
        }
    }

    fn mkt(price: u64, atr: u64) -> MarketView {
        MarketView {
            price_ticks: price,
            atr_ticks: atr,
            quote_free: Quote::MAX,
            base_free_lots: u64::MAX,
        }
    }

    fn fill(m: &mut RiskManager, sym: u16, side: Side, qty: u64, px: u64) -> Vec<RiskEvent> {
        let mut ev = RiskEvents::new();
        let f = Fill {
            symbol: SymbolId(sym),
            side,
            qty_lots: qty,
            price_ticks: px,
            fee: 0,
        };
        assert_eq!(m.on_fill(&f, &mut ev), Ok(()));
        ev.as_slice().to_vec()
    }

    /// Holds `lots` of `sym` bought at `px` (checked, then filled).
    fn hold(m: &mut RiskManager, sym: u16, lots: u64, px: u64) {
        let d = m.check(&buy(sym, lots, px, px - 1), &mkt(px, 0));
        assert_eq!(d.qty_lots(), lots, "setup buy: {d}");
        fill(m, sym, Side::Buy, lots, px);
    }

    fn allow(q: u64, r: Reason) -> Decision {
        Decision::Allow {
            qty_lots: q,
            limited_by: r,
        }
    }

    fn rej(r: Reason) -> Decision {
        Decision::Reject { reason: r }
    }

    #[test]
    fn buy_table() {
        type Setup = fn(&mut RiskManager);
        let none: Setup = |_| {};
        let two_full: Setup = |m| {
            hold(m, 1, 3_000, 100);
            hold(m, 2, 3_000, 100);
        };
        let halted: Setup = |m| m.state.halted = true;
        let paused: Setup = |m| m.state.paused = true;
        let poor = MarketView {
            quote_free: 500,
            ..mkt(100, 0)
        };
        let broke = MarketView {
            quote_free: 99,
            ..mkt(100, 0)
        };
        let cases: Vec<(Setup, Intent, MarketView, Decision)> = vec![
            // TC0: fits every rule.
            (
                none,
                buy(0, 10, 100, 90),
                mkt(100, 0),
                allow(10, Reason::None),
            ),
            // TC1: stop 10 ticks away, 1% of 1e6 = 10_000 -> at most 1000 lots.
            (
                none,
                buy(0, 2_000, 100, 90),
                mkt(100, 0),
                allow(1_000, Reason::TradeRisk),
            ),
            // TC2: exactly at the stop risk.
            (
                none,
                buy(0, 1_000, 100, 90),
                mkt(100, 0),
                allow(1_000, Reason::None),
            ),
            // TC3: ATR default stop (2 x 5 = 10 ticks) sizes like TC1.
            (
                none,
                buy(0, 2_000, 100, 0),
                mkt(100, 5),
                allow(1_000, Reason::TradeRisk),
            ),
            // TC4: exactly 30% of equity in one symbol.
            (
                none,
                buy(0, 3_000, 100, 99),
                mkt(100, 0),
                allow(3_000, Reason::None),
            ),
            // TC5: one lot over 30%.
            (
                none,
                buy(0, 3_001, 100, 99),
                mkt(100, 0),
                allow(3_000, Reason::SymbolExposure),
            ),
            // TC6: 60% deployed elsewhere: exactly 70% in total.
            (
                two_full,
                buy(0, 1_000, 100, 99),
                mkt(100, 0),
                allow(1_000, Reason::None),
            ),
            // TC7: one lot over 70%.
            (
                two_full,
                buy(0, 1_001, 100, 99),
                mkt(100, 0),
                allow(1_000, Reason::TotalExposure),
            ),
            // TC8: free quote for 5 lots.
            (
                none,
                buy(0, 10, 100, 90),
                poor,
                allow(5, Reason::InsufficientBalance),
            ),
            // TC9: free quote below one lot.
            (
                none,
                buy(0, 10, 100, 90),
                broke,
                rej(Reason::InsufficientBalance),
            ),
            // TC10: market order priced at the market price.
            (
                none,
                buy(0, 3_001, 0, 99),
                mkt(100, 0),
                allow(3_000, Reason::SymbolExposure),
            ),
            // TC11: market order with no price.
            (none, buy(0, 10, 0, 90), mkt(0, 0), rej(Reason::NoPrice)),
            // TC12: no stop, no ATR.
            (none, buy(0, 10, 100, 0), mkt(100, 0), rej(Reason::NoStop)),
            // TC13: stop at the entry.
            (
                none,
                buy(0, 10, 100, 100),
                mkt(100, 0),
                rej(Reason::StopAboveEntry),
            ),
            // TC14: unknown symbol.
            (
                none,
                buy(3, 10, 100, 90),
                mkt(100, 0),
                rej(Reason::UnknownSymbol),
            ),
            // TC15: zero quantity.
            (none, buy(0, 0, 100, 90), mkt(100, 0), rej(Reason::ZeroQty)),
            // TC16: halted.
            (
                halted,
                buy(0, 10, 100, 90),
                mkt(100, 0),
                rej(Reason::Halted),
            ),
            // TC17: paused.
            (
                paused,
                buy(0, 10, 100, 90),
                mkt(100, 0),
                rej(Reason::Paused),
            ),
            // TC18: the stop loss of one lot exceeds the 1% budget.
            (
                none,
                buy(0, 1, 20_000, 9_000),
                mkt(100, 0),
                rej(Reason::TradeRisk),
            ),
        ];
        for (i, (setup, intent, market, want)) in cases.into_iter().enumerate() {
            let mut m = mgr();
            setup(&mut m);
            assert_eq!(m.check(&intent, &market), want, "TC{i}");
        }
    }

    #[test]
    fn open_buys_count_against_limits_until_released() {
        let mut m = mgr();
        let mut ev = RiskEvents::new();
        // TC0: 30% in flight, unfilled.
        assert_eq!(
            m.check(&buy(0, 3_000, 100, 99), &mkt(100, 0)),
            allow(3_000, Reason::None)
        );
        // TC1: a second buy finds the symbol full.
        assert_eq!(
            m.check(&buy(0, 1, 100, 99), &mkt(100, 0)),
            rej(Reason::SymbolExposure)
        );
        // TC2: the first fails and gives its lots back: room again.
        let failed = OrderResult {
            symbol: SymbolId(0),
            side: Side::Buy,
            unfilled_lots: 3_000,
            outcome: OrderOutcome::Failed,
        };
        assert_eq!(m.on_order_result(&failed, &mut ev), Ok(()));
        assert_eq!(m.state().symbols[0].open_buy_quote, 0);
        assert_eq!(
            m.check(&buy(0, 10, 100, 99), &mkt(100, 0)),
            allow(10, Reason::None)
        );
        // TC3: a partial fill moves lots from open to held; the reservation shrinks pro rata.
        fill(&mut m, 0, Side::Buy, 4, 100);
        let s = m.state().symbols[0];
        assert_eq!(
            (s.position_lots, s.open_buy_lots, s.open_buy_quote),
            (4, 6, 600)
        );
        assert_eq!(m.equity(), CASH);
        // TC4: unknown symbol in a result is an error, not a panic.
        let bad = OrderResult {
            symbol: SymbolId(9),
            ..failed
        };
        assert_eq!(m.on_order_result(&bad, &mut ev), Err(Reason::UnknownSymbol));
    }

    #[test]
    fn sell_table() {
        let mut m = mgr();
        // TC0: no long: a short entry is refused on spot.
        assert_eq!(
            m.check(&sell(0, 5), &mkt(100, 0)),
            rej(Reason::NoShortOnSpot)
        );
        hold(&mut m, 0, 100, 100);
        // TC1: more than held: cut to the long.
        assert_eq!(
            m.check(&sell(0, 150), &mkt(100, 0)),
            allow(100, Reason::NoShortOnSpot)
        );
        // TC2: all of it is already being sold.
        assert_eq!(
            m.check(&sell(0, 1), &mkt(100, 0)),
            rej(Reason::NothingToSell)
        );
        let closed = OrderResult {
            symbol: SymbolId(0),
            side: Side::Sell,
            unfilled_lots: 100,
            outcome: OrderOutcome::Closed,
        };
        let mut ev = RiskEvents::new();
        assert_eq!(m.on_order_result(&closed, &mut ev), Ok(()));
        // TC3: free base balance below the request.
        let low = MarketView {
            base_free_lots: 40,
            ..mkt(100, 0)
        };
        assert_eq!(
            m.check(&sell(0, 50), &low),
            allow(40, Reason::InsufficientBalance)
        );
        // TC4: no free base at all.
        let none = MarketView {
            base_free_lots: 0,
            ..mkt(100, 0)
        };
        assert_eq!(
            m.check(&sell(0, 50), &none),
            rej(Reason::InsufficientBalance)
        );
        // TC5: sells still pass while halted (they only reduce the long).
        m.state.halted = true;
        assert_eq!(m.check(&sell(0, 10), &mkt(100, 0)), allow(10, Reason::None));
    }

    #[test]
    fn daily_loss_table() {
        // 3000 lots held at 100 (30% of 1e6); a mark of 90 loses 30_000 = 3%.
        // (mark, expected event kinds with reasons, halted after)
        type Case = (u64, &'static [(EventKind, Reason)], bool);
        let cases: &[Case] = &[
            // TC0: 2.4%: nothing.
            (92, &[], false),
            // TC1: 2.7%: the daily warning.
            (91, &[(EventKind::Warn, Reason::DailyLossWarning)], false),
            // TC2: exactly 3%: the halt.
            (90, &[(EventKind::Halt, Reason::DailyLoss)], true),
            // TC3: far below: one halt, no separate warning.
            (50, &[(EventKind::Halt, Reason::DailyLoss)], true),
        ];
        for (i, &(mark, want, halted)) in cases.iter().enumerate() {
            let mut m = mgr();
            hold(&mut m, 0, 3_000, 100);
            let mut ev = RiskEvents::new();
            m.on_mark(&[mark], &mut ev);
            let got: Vec<_> = ev.as_slice().iter().map(|e| (e.kind, e.reason)).collect();
            assert_eq!(got, want, "TC{i}");
            assert_eq!(m.is_halted(), halted, "TC{i} halted");
        }
        // TC4: exactly 2.5% warns (inclusive); exactly 2.5% needs a loss of 25_000: 3000 lots cannot hit it, 1000 lots at -25 can.
        let mut m = mgr();
        hold(&mut m, 0, 1_000, 100);
        let mut ev = RiskEvents::new();
        m.on_mark(&[76], &mut ev);
        assert!(ev.is_empty(), "24_000 = 2.4%");
        m.on_mark(&[75], &mut ev);
        assert_eq!(ev.as_slice()[0].reason, Reason::DailyLossWarning);
        assert_eq!(ev.as_slice()[0].value_bp, 250);
        // Warned once a day only.
        ev.clear();
        m.on_mark(&[74], &mut ev);
        assert!(ev.is_empty());
    }

    #[test]
    fn halt_holds_until_day_roll_or_resume() {
        let mut m = mgr();
        hold(&mut m, 0, 3_000, 100);
        let mut ev = RiskEvents::new();
        m.on_mark(&[90], &mut ev);
        assert!(m.is_halted());
        // TC0: the halt asks for a flatten: one sell per position, in as many calls as needed.
        hold_after_halt_setup(&mut m);
        let mut out = [buy(0, 0, 0, 0); 1];
        assert_eq!(m.flatten_into(&mut out), 1);
        assert_eq!(
            (out[0].symbol, out[0].side, out[0].qty_lots),
            (SymbolId(0), Side::Sell, 3_000)
        );
        assert_eq!(m.flatten_into(&mut out), 1);
        assert_eq!((out[0].symbol, out[0].qty_lots), (SymbolId(2), 5));
        assert_eq!(m.flatten_into(&mut out), 0);
        // TC1: buys rejected; a recovery of the mark does not lift the halt.
        m.on_mark(&[200, 0, 200], &mut ev);
        assert_eq!(
            m.check(&buy(1, 1, 100, 99), &mkt(100, 0)),
            rej(Reason::Halted)
        );
        // TC2: same day later: still halted.
        ev.clear();
        m.on_day_roll(DAY_MS - 1, &mut ev);
        assert!(m.is_halted() && ev.is_empty());
        // TC3: clock going back: nothing.
        m.on_day_roll(-5, &mut ev);
        assert!(m.is_halted());
        // TC4: next UTC day: resumed, with the event, and the day start rebased.
        m.on_day_roll(DAY_MS, &mut ev);
        assert!(!m.is_halted());
        assert_eq!(ev.as_slice()[0].kind, EventKind::Resume);
        assert_eq!(ev.as_slice()[0].reason, Reason::DayRoll);
        assert_eq!(m.state().day_start_equity, m.equity());
        assert_eq!(
            m.check(&buy(1, 1, 100, 99), &mkt(100, 0)),
            allow(1, Reason::None)
        );
    }

    fn hold_after_halt_setup(m: &mut RiskManager) {
        // A fill that arrives after the halt (an order already in flight) is still booked.
        fill(m, 2, Side::Buy, 5, 100);
    }

    #[test]
    fn operator_resume_rebases_the_day() {
        let mut m = mgr();
        hold(&mut m, 0, 3_000, 100);
        let mut ev = RiskEvents::new();
        // TC0: resume with nothing to resume.
        assert!(!m.resume(&mut ev));
        assert!(ev.is_empty());
        m.on_mark(&[90], &mut ev);
        assert!(m.is_halted());
        ev.clear();
        // TC1: resume lifts the halt at 970_000 equity.
        assert!(m.resume(&mut ev));
        assert_eq!(ev.as_slice()[0].reason, Reason::Operator);
        assert_eq!(m.state().day_start_equity, 970_000);
        // TC2: a small further loss does not halt again at once.
        ev.clear();
        m.on_mark(&[89], &mut ev);
        assert!(!m.is_halted() && ev.is_empty());
        // TC3: a further 3% of the rebased equity (29_100 = 9.7 ticks x 3000) halts again.
        m.on_mark(&[80], &mut ev);
        assert!(m.is_halted());
    }

    #[test]
    fn trade_loss_warning_table() {
        // Buy 1000 at 100 (1% risk with a 10-tick stop), sell all at `px`.
        // (exit price, warned)
        let cases: &[(u64, bool)] = &[
            // TC0: -8000 = exactly 0.8% of 1e6: warning.
            (92, true),
            // TC1: -7000 = 0.7%: none.
            (93, false),
            // TC2: a win: none.
            (120, false),
        ];
        for (i, &(px, warned)) in cases.iter().enumerate() {
            let mut m = mgr();
            hold(&mut m, 0, 1_000, 100);
            assert_eq!(m.check(&sell(0, 1_000), &mkt(px, 0)).qty_lots(), 1_000);
            let ev = fill(&mut m, 0, Side::Sell, 1_000, px);
            let got = ev.iter().any(|e| e.reason == Reason::TradeLossWarning);
            assert_eq!(got, warned, "TC{i}");
            let s = m.state().symbols[0];
            assert_eq!(
                (s.position_lots, s.cost, s.open_sell_lots),
                (0, 0, 0),
                "TC{i}"
            );
            assert_eq!(m.equity(), CASH - 100_000 + 1_000 * px as Quote, "TC{i}");
        }
    }

    #[test]
    fn failure_rate_pauses_until_resume() {
        let mut m = mgr();
        let mut ev = RiskEvents::new();
        let res = |outcome| OrderResult {
            symbol: SymbolId(0),
            side: Side::Buy,
            unfilled_lots: 0,
            outcome,
        };
        // TC0: 1 failure in 20 = 5%: not above, no pause.
        for _ in 0..19 {
            assert_eq!(
                m.on_order_result(&res(OrderOutcome::Accepted), &mut ev),
                Ok(())
            );
        }
        assert_eq!(
            m.on_order_result(&res(OrderOutcome::Failed), &mut ev),
            Ok(())
        );
        assert!(!m.is_paused() && ev.is_empty());
        // TC1: closed orders do not count as samples.
        for _ in 0..50 {
            assert_eq!(
                m.on_order_result(&res(OrderOutcome::Closed), &mut ev),
                Ok(())
            );
        }
        assert!(!m.is_paused());
        // TC2: a second failure: 2 in 21 > 5%: pause, once.
        assert_eq!(
            m.on_order_result(&res(OrderOutcome::Failed), &mut ev),
            Ok(())
        );
        assert_eq!(
            m.on_order_result(&res(OrderOutcome::Failed), &mut ev),
            Ok(())
        );
        assert!(m.is_paused());
        assert_eq!(ev.len(), 1);
        assert_eq!(
            (ev.as_slice()[0].kind, ev.as_slice()[0].value_bp),
            (EventKind::Pause, 952)
        );
        assert_eq!(
            m.check(&buy(0, 1, 100, 99), &mkt(100, 0)),
            rej(Reason::Paused)
        );
        // TC3: resume clears the window; buys pass; day start is kept.
        assert!(m.resume(&mut ev));
        assert_eq!(m.state().failures.samples(), 0);
        assert_eq!(m.state().day_start_equity, CASH);
        assert_eq!(
            m.check(&buy(0, 1, 100, 99), &mkt(100, 0)),
            allow(1, Reason::None)
        );
    }

    #[test]
    fn bad_construction_and_inputs() {
        let cfg = RiskConfig::default();
        // TC0: zero-valued symbol.
        let e = RiskManager::new(cfg, &[SymbolSpec { lot_tick_value: 0 }], 1, 0).err();
        assert_eq!(
            e,
            Some(RiskConfigError::BadSymbolValue { index: 0, value: 0 })
        );
        // TC1: negative cash.
        let e = RiskManager::new(cfg, &[SymbolSpec { lot_tick_value: 1 }], -1, 0).err();
        assert_eq!(e, Some(RiskConfigError::NegativeCash { value: -1 }));
        // TC2: invalid config surfaces.
        let bad = RiskConfig {
            max_trade_risk_bp: 0,
            ..cfg
        };
        assert!(RiskManager::new(bad, &[], 1, 0).is_err());
        // TC3: absurd quantities and prices saturate instead of overflowing.
        let mut m = mgr();
        let d = m.check(&buy(0, u64::MAX, u64::MAX, u64::MAX - 1), &mkt(0, 0));
        // (the 1-tick stop allows 10_000 lots; one lot is worth more than all equity)
        assert_eq!(d, rej(Reason::TotalExposure));
        let mut ev = RiskEvents::new();
        let f = Fill {
            symbol: SymbolId(7),
            side: Side::Buy,
            qty_lots: 1,
            price_ticks: 1,
            fee: 0,
        };
        // TC4: a fill for an unknown symbol is an error.
        assert_eq!(m.on_fill(&f, &mut ev), Err(Reason::UnknownSymbol));
        // TC5: a sell fill with no position changes nothing but the mark.
        fill(&mut m, 1, Side::Sell, 10, 100);
        assert_eq!(m.equity(), CASH);
        // Display texts for alerts.
        assert_eq!(
            rej(Reason::Halted).to_string(),
            "reject: trading halted by the daily loss limit"
        );
        assert_eq!(
            allow(3, Reason::TradeRisk).to_string(),
            "allow 3 lots (cut by stop loss would cost more than the per-trade risk limit)"
        );
    }
}
