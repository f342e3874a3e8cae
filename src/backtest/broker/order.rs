//! Orders waiting to fill: entries and plain orders (market, limit, stop, stop-limit),
//! market closes, the `strategy.exit` specifications and the brackets they arm on each
//! open entry.

use super::position::{sign, OpenEntry};
use crate::pine::strategy::Direction;
use crate::pine::StrId;

/// Which call created an opening order: the two differ in pyramiding and reversal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenKind {
    /// `strategy.entry`: obeys pyramiding, reverses an opposite position.
    Entry,
    /// `strategy.order`: no pyramiding, reduces an opposite position first.
    Order,
}

/// An order placed on an earlier bar, not filled yet.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pending {
    /// `strategy.entry` / `strategy.order`. `limit`/`stop` are `NaN` when absent (both
    /// absent: market). `stop_hit` turns a stop-limit into a plain limit for good.
    Open {
        kind: OpenKind,
        id: StrId,
        direction: Direction,
        qty: f64,
        limit: f64,
        stop: f64,
        stop_hit: bool,
    },
    /// `strategy.close(id, qty, qty_percent)`: market; the quantity is resolved at fill
    /// time against what is open then.
    Close {
        id: StrId,
        qty: f64,
        qty_percent: f64,
    },
    /// `strategy.close_all()`: market.
    CloseAll,
}

impl Pending {
    /// True for orders that fill at the next open (or now, on close).
    #[inline]
    pub(crate) fn is_market(&self) -> bool {
        match *self {
            Pending::Open { limit, stop, .. } => limit.is_nan() && stop.is_nan(),
            Pending::Close { .. } | Pending::CloseAll => true,
        }
    }

    /// True for an opening order (entry or order) with this id.
    #[inline]
    pub(crate) fn is_open_with_id(&self, want: StrId) -> bool {
        matches!(*self, Pending::Open { id, .. } if id == want)
    }
}

/// Infinite or `NaN` prices and distances are all `na`.
#[inline]
pub(crate) fn finite_or_nan(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::NAN
    }
}

/// A `strategy.exit` call, kept (keyed by `(id, from_entry)`) until cancelled or until it
/// has armed at least one bracket and none of its brackets remain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExitSpec {
    pub id: StrId,
    pub from_entry: Option<StrId>,
    /// Absolute quantity per entry; `NaN` for none.
    pub qty: f64,
    /// Percent of each entry's filled quantity, in (0, 100]; `NaN` for none.
    pub qty_percent: f64,
    pub profit: f64,
    pub limit: f64,
    pub loss: f64,
    pub stop: f64,
    pub trail_price: f64,
    pub trail_points: f64,
    pub trail_offset: f64,
    /// Has armed a bracket at least once.
    pub armed: bool,
}

impl ExitSpec {
    /// Validates a `strategy.exit` call. Returns `None` (the call is ignored) when its
    /// `qty` or `qty_percent` is zero or negative, or when it has no leg at all (no
    /// take-profit, no stop-loss, no complete trailing stop). `qty_percent` above 100 is
    /// clamped to 100; non-finite prices and distances are `na`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: StrId,
        from_entry: Option<StrId>,
        qty: f64,
        qty_percent: f64,
        profit: f64,
        limit: f64,
        loss: f64,
        stop: f64,
        trail_price: f64,
        trail_points: f64,
        trail_offset: f64,
    ) -> Option<ExitSpec> {
        if qty <= 0.0 || qty_percent <= 0.0 {
            return None;
        }
        let qty = finite_or_nan(qty);
        let qty_percent = finite_or_nan(qty_percent).min(100.0);
        let (profit, limit, loss, stop) = (
            finite_or_nan(profit),
            finite_or_nan(limit),
            finite_or_nan(loss),
            finite_or_nan(stop),
        );
        let (trail_price, trail_points, trail_offset) = (
            finite_or_nan(trail_price),
            finite_or_nan(trail_points),
            finite_or_nan(trail_offset),
        );
        let has_trail =
            (trail_price.is_finite() || trail_points.is_finite()) && trail_offset.is_finite();
        let has_leg = profit.is_finite()
            || limit.is_finite()
            || loss.is_finite()
            || stop.is_finite()
            || has_trail;
        has_leg.then_some(ExitSpec {
            id,
            from_entry,
            qty,
            qty_percent,
            profit,
            limit,
            loss,
            stop,
            trail_price,
            trail_points,
            trail_offset,
            armed: false,
        })
    }

    /// True when this exit applies to entries with id `entry_id`.
    #[inline]
    pub(crate) fn applies_to(&self, entry_id: StrId) -> bool {
        match self.from_entry {
            None => true,
            Some(f) => f == entry_id,
        }
    }
}

/// The OCA group an exit spec arms on one open entry: take-profit (limit), stop-loss
/// (stop) and trailing stop; the first leg that fills cancels the others.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bracket {
    pub exit_id: StrId,
    pub from_entry: Option<StrId>,
    pub entry_uid: u64,
    /// Direction of the entry it protects (the exit trades the other way).
    pub direction: Direction,
    /// Quantity to close (clamped to what is open when it fills).
    pub qty: f64,
    /// Take-profit price; `NaN` for none.
    pub tp: f64,
    /// Stop-loss price; `NaN` for none.
    pub sl: f64,
    /// Trailing activation price; `NaN` for no trailing stop.
    pub trail_act: f64,
    /// Trailing distance in price units (≥ 0); `NaN` for no trailing stop.
    pub trail_off: f64,
    pub trail_active: bool,
    /// Best price since activation (highest for a long entry, lowest for a short).
    pub trail_best: f64,
    /// A leg has filled: the bracket stays (so that a repeated `strategy.exit` call does
    /// not re-arm it for this entry) but never fills again.
    pub done: bool,
}

impl Bracket {
    /// The bracket `spec` arms on `entry`; `None` when no leg has a price (e.g. only tick
    /// distances and an invalid `mintick`).
    pub(crate) fn arm(spec: &ExitSpec, entry: &OpenEntry, mintick: f64) -> Option<Bracket> {
        let mut b = Bracket {
            exit_id: spec.id,
            from_entry: spec.from_entry,
            entry_uid: entry.uid,
            direction: entry.direction,
            qty: 0.0,
            tp: f64::NAN,
            sl: f64::NAN,
            trail_act: f64::NAN,
            trail_off: f64::NAN,
            trail_active: false,
            trail_best: f64::NAN,
            done: false,
        };
        b.reprice(spec, entry, mintick);
        b.has_leg().then_some(b)
    }

    /// Recomputes quantity and prices from `spec` (a repeated `strategy.exit` call with
    /// the same id updates the bracket). The trailing state (active, best price) is kept.
    ///
    /// Take-profit: `limit`, else entry ± `profit` ticks; stop-loss: `stop`, else entry ∓
    /// `loss` ticks; trailing activation: `trail_price`, else entry ± `trail_points` ticks,
    /// trailing distance `trail_offset` ticks (negative offsets are clamped to 0).
    /// Quantity: `qty` (capped at the entry), else `qty_percent` of the entry's filled
    /// quantity, else all of it.
    pub(crate) fn reprice(&mut self, spec: &ExitSpec, entry: &OpenEntry, mintick: f64) {
        let s = sign(entry.direction);
        let p = entry.entry_price;
        self.qty = if spec.qty.is_finite() {
            spec.qty.min(entry.initial_qty)
        } else if spec.qty_percent.is_finite() {
            entry.initial_qty * spec.qty_percent / 100.0
        } else {
            entry.initial_qty
        };
        self.tp = if spec.limit.is_finite() {
            spec.limit
        } else {
            finite_or_nan(p + s * spec.profit * mintick)
        };
        self.sl = if spec.stop.is_finite() {
            spec.stop
        } else {
            finite_or_nan(p - s * spec.loss * mintick)
        };
        let act = if spec.trail_price.is_finite() {
            spec.trail_price
        } else {
            finite_or_nan(p + s * spec.trail_points * mintick)
        };
        let off = spec.trail_offset * mintick;
        let off = if off.is_finite() {
            off.max(0.0)
        } else {
            f64::NAN
        };
        if act.is_finite() && off.is_finite() {
            self.trail_act = act;
            self.trail_off = off;
        } else {
            self.trail_act = f64::NAN;
            self.trail_off = f64::NAN;
            self.trail_active = false;
        }
    }

    /// True when the trailing leg exists.
    #[inline]
    pub(crate) fn has_trail(&self) -> bool {
        self.trail_act.is_finite() && self.trail_off.is_finite()
    }

    fn has_leg(&self) -> bool {
        self.tp.is_finite() || self.sl.is_finite() || self.has_trail()
    }

    /// True when this bracket came from `spec`.
    #[inline]
    pub(crate) fn belongs_to(&self, spec: &ExitSpec) -> bool {
        self.exit_id == spec.id && self.from_entry == spec.from_entry
    }
}
