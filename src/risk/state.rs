//! What the risk manager knows of the account: quote cash, per-symbol positions, marks and
//! open order reservations, the UTC day and its starting equity, the failure window and the
//! halted / paused flags. Sized once at construction; nothing here allocates afterwards.

use super::failure_window::FailureWindow;
use super::limits::notional;
use super::types::{Quote, Side};

/// Milliseconds in a UTC day.
pub const DAY_MS: i64 = 86_400_000;

/// The static facts of one symbol the risk manager needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolSpec {
    /// Value of one lot at a price of one tick, in [`Quote`] units:
    /// `stepSize * tickSize * 1e8`. For BTCUSDT (step 0.00001 BTC, tick 0.01 USDT) that is
    /// 0.0000001 USDT = 10 units. Must be a positive integer (every Binance spot pair with
    /// `stepSize * tickSize >= 1e-8` qualifies).
    pub lot_tick_value: Quote,
}

/// One symbol's position and open orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SymbolRisk {
    /// Lots held (never negative: spot has no short).
    pub position_lots: u64,
    /// Cost basis of the position, fees included, in quote units.
    pub cost: Quote,
    /// Last mark (or fill) price in ticks; 0 before the first.
    pub mark_ticks: u64,
    /// Lots of open buy orders allowed and not yet filled or released.
    pub open_buy_lots: u64,
    /// Quote reserved by those buy orders, at their check price.
    pub open_buy_quote: Quote,
    /// Lots of open sell orders allowed and not yet filled or released.
    pub open_sell_lots: u64,
}

/// The account-wide sums of [`RiskState::totals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Cash plus positions at mark ([`RiskState::equity`]).
    pub equity: Quote,
    /// Positions at mark plus open buy reservations ([`RiskState::total_exposure`]).
    pub exposure: Quote,
    /// Cash not reserved by open buys ([`RiskState::free_cash`]).
    pub free_cash: Quote,
}

/// The whole risk state. Fields are public for the dashboard and the state snapshot; only
/// [`crate::risk::RiskManager`] mutates it.
#[derive(Debug, Clone)]
pub struct RiskState {
    /// Quote cash held (reservations of open buys included).
    pub cash: Quote,
    /// Per-symbol static facts, indexed by symbol id.
    pub specs: Vec<SymbolSpec>,
    /// Per-symbol positions and orders, indexed by symbol id.
    pub symbols: Vec<SymbolRisk>,
    /// Current UTC day (days since 1970-01-01).
    pub utc_day: i64,
    /// Equity at the start of the UTC day (or at the last operator resume).
    pub day_start_equity: Quote,
    /// Halted by the daily loss: no buys until the day rolls or an operator resumes.
    pub halted: bool,
    /// Paused by the failure rate: no buys until an operator resumes.
    pub paused: bool,
    /// The daily-loss warning was raised today.
    pub daily_warned: bool,
    /// The recent order outcomes.
    pub failures: FailureWindow,
}

impl RiskState {
    /// Value of symbol `i`'s position at its mark.
    #[inline(always)]
    pub fn position_value(&self, i: usize) -> Quote {
        let s = &self.symbols[i];
        notional(s.position_lots, s.mark_ticks, self.specs[i].lot_tick_value)
    }

    /// Capital deployed in symbol `i`: the position at mark plus open buy reservations.
    #[inline(always)]
    pub fn symbol_exposure(&self, i: usize) -> Quote {
        self.position_value(i)
            .saturating_add(self.symbols[i].open_buy_quote)
    }

    /// Equity: cash plus every position at its mark.
    #[inline]
    pub fn equity(&self) -> Quote {
        let mut e = self.cash;
        for i in 0..self.symbols.len() {
            e = e.saturating_add(self.position_value(i));
        }
        e
    }

    /// Capital deployed across all symbols.
    #[inline]
    pub fn total_exposure(&self) -> Quote {
        let mut t: Quote = 0;
        for i in 0..self.symbols.len() {
            t = t.saturating_add(self.symbol_exposure(i));
        }
        t
    }

    /// Quote not reserved by open buys.
    #[inline]
    pub fn free_cash(&self) -> Quote {
        let mut r: Quote = 0;
        for s in &self.symbols {
            r = r.saturating_add(s.open_buy_quote);
        }
        self.cash.saturating_sub(r)
    }

    /// Equity, total exposure and unreserved cash in one pass over the symbols (the
    /// pre-trade check needs all three; one loop instead of three).
    #[inline(always)]
    pub fn totals(&self) -> Totals {
        let mut positions: Quote = 0;
        let mut reserved: Quote = 0;
        for (s, spec) in self.symbols.iter().zip(&self.specs) {
            positions = positions.saturating_add(notional(
                s.position_lots,
                s.mark_ticks,
                spec.lot_tick_value,
            ));
            reserved = reserved.saturating_add(s.open_buy_quote);
        }
        Totals {
            equity: self.cash.saturating_add(positions),
            exposure: positions.saturating_add(reserved),
            free_cash: self.cash.saturating_sub(reserved),
        }
    }

    /// Gives back `lots` of open orders of `side` (filled, failed or cancelled); a buy
    /// releases its share of the reserved quote. Over-release saturates at zero.
    pub fn release(&mut self, i: usize, side: Side, lots: u64) {
        let s = &mut self.symbols[i];
        match side {
            Side::Buy => {
                let lots = lots.min(s.open_buy_lots);
                if lots == s.open_buy_lots {
                    s.open_buy_quote = 0;
                } else if s.open_buy_lots > 0 {
                    let share = s.open_buy_quote * lots as Quote / s.open_buy_lots as Quote;
                    s.open_buy_quote -= share;
                }
                s.open_buy_lots -= lots;
            }
            Side::Sell => s.open_sell_lots = s.open_sell_lots.saturating_sub(lots),
        }
    }
}
