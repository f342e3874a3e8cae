//! Open entries of the position, their FIFO closing and realised PnL.
//!
//! Invariant: every open entry has the same direction (an opposite fill first closes, then
//! opens), a finite positive `qty`, and the position size is the signed sum of the entries.

use crate::backtest::result::{OpenTrade, Trade};
use crate::pine::strategy::Direction;
use crate::pine::StrId;

/// Relative tolerance under which a remaining quantity counts as zero, so that
/// `qty_percent` arithmetic (0.3 * 50% + 0.15 ...) never leaves a dust entry behind.
pub(crate) const QTY_EPS: f64 = 1e-12;

/// +1 for long, -1 for short.
#[inline]
pub(crate) fn sign(direction: Direction) -> f64 {
    match direction {
        Direction::Long => 1.0,
        Direction::Short => -1.0,
    }
}

/// Where and when a fill happens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At {
    /// Bar index of the fill.
    pub bar_index: usize,
    /// Open time of the fill's bar.
    pub time_ms: i64,
    /// Fill price, slippage included.
    pub price: f64,
}

/// One filled entry not yet fully closed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenEntry {
    /// Unique per fill, so that exit brackets bind to this fill and not to its id.
    pub uid: u64,
    /// The entry / order id.
    pub id: StrId,
    /// Long or short.
    pub direction: Direction,
    /// Quantity still open.
    pub qty: f64,
    /// Quantity at the fill: the base of `strategy.exit(qty_percent=...)`.
    pub initial_qty: f64,
    /// Bar of the fill.
    pub entry_bar: usize,
    /// Time of the fill's bar.
    pub entry_time_ms: i64,
    /// Fill price.
    pub entry_price: f64,
    /// Entry commission of the quantity still open.
    pub commission: f64,
}

/// Which open entries a closing fill may take from (always oldest first).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Selector {
    /// Every entry.
    All,
    /// Entries with this id.
    EntryId(StrId),
    /// The one entry with this uid.
    Uid(u64),
}

impl Selector {
    #[inline]
    fn matches(self, e: &OpenEntry) -> bool {
        match self {
            Selector::All => true,
            Selector::EntryId(id) => e.id == id,
            Selector::Uid(uid) => e.uid == uid,
        }
    }
}

/// The open entries (FIFO order), the closed trades and realised profit.
#[derive(Debug, Clone)]
pub(crate) struct Book {
    pub entries: Vec<OpenEntry>,
    pub trades: Vec<Trade>,
    pub net_profit: f64,
    next_uid: u64,
}

impl Book {
    /// Preallocates room for `trades_hint` closed trades.
    pub(crate) fn new(trades_hint: usize) -> Book {
        Book {
            entries: Vec::with_capacity(64),
            trades: Vec::with_capacity(trades_hint),
            net_profit: 0.0,
            next_uid: 0,
        }
    }

    /// Direction of the position; `None` when flat.
    #[inline]
    pub(crate) fn direction(&self) -> Option<Direction> {
        self.entries.first().map(|e| e.direction)
    }

    /// Signed size: positive long, negative short.
    pub(crate) fn signed_size(&self) -> f64 {
        self.entries.iter().map(|e| sign(e.direction) * e.qty).sum()
    }

    /// Number of open entries in `direction`.
    pub(crate) fn count(&self, direction: Direction) -> usize {
        self.entries
            .iter()
            .filter(|e| e.direction == direction)
            .count()
    }

    /// Quantity-weighted average entry price; `NaN` when flat.
    pub(crate) fn avg_price(&self) -> f64 {
        let (mut qty, mut value) = (0.0, 0.0);
        for e in &self.entries {
            qty += e.qty;
            value += e.qty * e.entry_price;
        }
        if qty > 0.0 {
            value / qty
        } else {
            f64::NAN
        }
    }

    /// Unrealised profit marked at `mark`, net of the entry commissions already paid
    /// (the exit commission is not known yet and is not deducted). 0 when flat.
    pub(crate) fn open_profit(&self, mark: f64) -> f64 {
        self.entries
            .iter()
            .map(|e| sign(e.direction) * (mark - e.entry_price) * e.qty - e.commission)
            .sum()
    }

    /// Open quantity of the entries `sel` matches.
    pub(crate) fn matching_qty(&self, sel: Selector) -> f64 {
        self.entries
            .iter()
            .filter(|e| sel.matches(e))
            .map(|e| e.qty)
            .sum()
    }

    /// Index of the first entry at or after `from` that `sel` matches.
    pub(crate) fn next_match(&self, from: usize, sel: Selector) -> Option<usize> {
        (from..self.entries.len()).find(|&i| sel.matches(&self.entries[i]))
    }

    /// Opens an entry; returns its uid.
    pub(crate) fn open(
        &mut self,
        id: StrId,
        direction: Direction,
        qty: f64,
        commission: f64,
        at: At,
    ) -> u64 {
        let uid = self.next_uid;
        self.next_uid += 1;
        self.entries.push(OpenEntry {
            uid,
            id,
            direction,
            qty,
            initial_qty: qty,
            entry_bar: at.bar_index,
            entry_time_ms: at.time_ms,
            entry_price: at.price,
            commission,
        });
        uid
    }

    /// Closes `take` (clamped to what is open) of entry `idx` at `at`, records the trade
    /// with `exit_id` (`None`: the entry's own id) and returns the uid of the entry when
    /// this closed it fully (it is then removed), `None` when part of it stays open.
    pub(crate) fn close_part(
        &mut self,
        idx: usize,
        take: f64,
        exit_commission: f64,
        exit_id: Option<StrId>,
        at: At,
    ) -> Option<u64> {
        let e = self.entries.get_mut(idx)?;
        let full = take >= e.qty * (1.0 - QTY_EPS);
        let take = if full { e.qty } else { take };
        let entry_commission = if full {
            e.commission
        } else {
            e.commission * take / e.qty
        };
        let commission = entry_commission + exit_commission;
        let profit = sign(e.direction) * (at.price - e.entry_price) * take - commission;
        self.trades.push(Trade {
            entry_id: e.id,
            exit_id: exit_id.unwrap_or(e.id),
            direction: e.direction,
            qty: take,
            entry_bar: e.entry_bar,
            entry_time_ms: e.entry_time_ms,
            entry_price: e.entry_price,
            exit_bar: at.bar_index,
            exit_time_ms: at.time_ms,
            exit_price: at.price,
            profit,
            commission,
        });
        self.net_profit += profit;
        if full {
            let uid = e.uid;
            self.entries.remove(idx);
            Some(uid)
        } else {
            e.qty -= take;
            e.commission -= entry_commission;
            None
        }
    }

    /// The open entries as the report shows them.
    pub(crate) fn open_trades(&self) -> Vec<OpenTrade> {
        self.entries
            .iter()
            .map(|e| OpenTrade {
                entry_id: e.id,
                direction: e.direction,
                qty: e.qty,
                entry_bar: e.entry_bar,
                entry_time_ms: e.entry_time_ms,
                entry_price: e.entry_price,
                entry_commission: e.commission,
            })
            .collect()
    }
}
