//! The TradingView-compatible broker emulator of the backtester.
//!
//! The runner drives it bar by bar on its own thread (it is single-threaded, owns all
//! its state, and allocates nothing per bar once warm apart from a new closed trade): at
//! the start of bar `i` [`Broker::on_bar_open`] fills the market orders placed on
//! earlier bars at the open, then walks TradingView's assumed intrabar path (see
//! `fill.rs`) and fills the limit, stop, stop-limit and `strategy.exit` orders that
//! trigger on it; the script then runs and reads [`Broker::view`]; at the end of the bar
//! [`Broker::on_bar_close`] takes the script's `strategy.*` commands in call order, fills
//! market orders at the close when `process_orders_on_close` or `immediately` says so,
//! and records the equity of the bar.
//!
//! Choices where TradingView's documentation is silent or where input is invalid (all
//! of them are covered by tests):
//!
//! * A bar with a non-finite open, high, low or close fills nothing: orders wait for
//!   the next valid bar, commands that would fill at its close wait for the next open,
//!   and equity is marked at the last valid close.
//! * Commands with a zero, negative or infinite `qty` (or whose default sizing is not a
//!   finite positive number) are ignored; infinite prices count as `na`.
//! * `strategy.entry` beyond `pyramiding` is dropped when it is a market order; a
//!   limit/stop entry waits while pyramiding is full and may fill later.
//! * `strategy.close` / `close_all` resolve their quantity when they fill; with nothing
//!   open then they do nothing. Trades closed by `close_all` carry their own entry id as
//!   `exit_id` (the call has no id).
//! * `strategy.exit` arms one bracket per matching open entry, binding to that fill
//!   (an exit without `from_entry` closes the entry it was armed on, not the oldest).
//!   It waits for matching entries that fill later while it is alive; it dies when it is
//!   cancelled or, once it has armed, when none of its brackets is left. A bracket leg
//!   that filled is not re-armed for the same entry by a repeated call.
//! * Open profit is net of the entry commissions already paid, so that equity drops by
//!   the commission when an entry fills.
//! * `strategy.cancel` / `cancel_all` remove pending entries, orders and exits, not
//!   pending `strategy.close` orders.

mod fill;
mod order;
mod position;
mod sizing;

use crate::backtest::result::{OpenTrade, Trade};
use crate::pine::strategy::{Direction, OrderCommand, StrategySettings, StrategyView};
use crate::pine::{Bar, StrId};
use order::{finite_or_nan, Bracket, ExitSpec, OpenKind, Pending};
use position::{At, Book, Selector, QTY_EPS};
use sizing::{Commission, Sizing};

/// The broker emulator of one symbol's backtest: pending orders, open entries, closed
/// trades and the equity curve. See the module documentation for the semantics.
#[derive(Debug, Clone)]
pub struct Broker {
    initial_capital: f64,
    sizing: Sizing,
    commission: Commission,
    /// `pyramiding`, with 0 read as 1.
    pyramiding: usize,
    process_orders_on_close: bool,
    /// Price of one tick; `NaN` when the given one was not a positive finite number
    /// (tick distances then mean `na`).
    mintick: f64,
    /// `slippage_ticks * mintick`, in price units.
    slippage: f64,
    book: Book,
    pending: Vec<Pending>,
    specs: Vec<ExitSpec>,
    brackets: Vec<Bracket>,
    equity: Vec<f64>,
    /// Last finite close seen: the mark for open profit on an invalid bar.
    last_mark: f64,
}

#[inline]
fn bar_is_valid(bar: &Bar) -> bool {
    bar.open.is_finite() && bar.high.is_finite() && bar.low.is_finite() && bar.close.is_finite()
}

impl Broker {
    /// A broker for `settings`, on a market whose price tick is `mintick`, with room
    /// for `bar_count_hint` bars of equity so that the per-bar path never reallocates.
    pub fn new(settings: &StrategySettings, mintick: f64, bar_count_hint: usize) -> Broker {
        let mintick = if mintick.is_finite() && mintick > 0.0 {
            mintick
        } else {
            f64::NAN
        };
        let slippage = f64::from(settings.slippage_ticks) * mintick;
        let slippage = if slippage.is_finite() { slippage } else { 0.0 };
        Broker {
            initial_capital: settings.initial_capital,
            sizing: Sizing::new(settings.default_qty_type, settings.default_qty_value),
            commission: Commission::new(settings.commission_type, settings.commission_value),
            pyramiding: settings.pyramiding.max(1) as usize,
            process_orders_on_close: settings.process_orders_on_close,
            mintick,
            slippage,
            book: Book::new(16 + bar_count_hint.min(1 << 20) / 8),
            pending: Vec::with_capacity(32),
            specs: Vec::with_capacity(16),
            brackets: Vec::with_capacity(64),
            equity: Vec::with_capacity(bar_count_hint),
            last_mark: f64::NAN,
        }
    }

    /// Start of bar `bar_index`: fills the orders placed on earlier bars. Market orders
    /// fill at `bar.open` (plus slippage, in placement order); then limit, stop,
    /// stop-limit orders and exit brackets fill along the intrabar path, each at its
    /// price or at the current price of the path when the bar gaps through it. An entry
    /// that fills here arms its waiting exits, which can fill later on the same path.
    pub fn on_bar_open(&mut self, bar_index: usize, bar: &Bar) {
        if !bar_is_valid(bar) {
            return;
        }
        self.last_mark = bar.close;
        self.fill_market_orders(bar.open, bar_index, bar.time_ms);
        self.walk_path(bar_index, bar);
    }

    /// The strategy state the script sees on this bar (after [`Broker::on_bar_open`]),
    /// open profit marked at `bar.close`.
    pub fn view(&self, bar: &Bar) -> StrategyView {
        let openprofit = self.open_profit(self.mark(bar));
        let netprofit = self.book.net_profit;
        StrategyView {
            position_size: self.book.signed_size(),
            position_avg_price: self.book.avg_price(),
            equity: self.initial_capital + netprofit + openprofit,
            opentrades: u32::try_from(self.book.entries.len()).unwrap_or(u32::MAX),
            closedtrades: u32::try_from(self.book.trades.len()).unwrap_or(u32::MAX),
            netprofit,
            openprofit,
        }
    }

    /// End of bar `bar_index`: takes the script's commands in call order (see the
    /// module documentation for each), fills market orders at `bar.close` when
    /// `process_orders_on_close` is set or a close says `immediately` (otherwise they
    /// wait for the next open; limit/stop orders and exits are active from the next bar
    /// on), then records the equity marked at `bar.close`.
    pub fn on_bar_close(&mut self, bar_index: usize, bar: &Bar, commands: &[OrderCommand]) {
        let valid = bar_is_valid(bar);
        if valid {
            self.last_mark = bar.close;
        }
        for cmd in commands {
            self.apply(cmd, bar_index, bar, valid);
        }
        let mark = self.mark(bar);
        let equity = self.initial_capital + self.book.net_profit + self.open_profit(mark);
        self.equity.push(equity);
    }

    /// Closed trades in exit order (a partial exit is a trade of its own).
    pub fn trades(&self) -> &[Trade] {
        &self.book.trades
    }

    /// Entries still open, oldest first.
    pub fn open_trades(&self) -> Vec<OpenTrade> {
        self.book.open_trades()
    }

    /// Equity after each bar's close, one value per [`Broker::on_bar_close`] call.
    pub fn equity_curve(&self) -> &[f64] {
        &self.equity
    }

    fn mark(&self, bar: &Bar) -> f64 {
        if bar.close.is_finite() {
            bar.close
        } else {
            self.last_mark
        }
    }

    fn open_profit(&self, mark: f64) -> f64 {
        if self.book.entries.is_empty() {
            0.0
        } else {
            self.book.open_profit(mark)
        }
    }

    /// `price` moved against the trader by the slippage.
    #[inline]
    fn slipped(&self, price: f64, buy: bool) -> f64 {
        if buy {
            price + self.slippage
        } else {
            price - self.slippage
        }
    }

    /// True when a `strategy.entry` in `direction` would exceed pyramiding.
    #[inline]
    fn entry_blocked(&self, direction: Direction) -> bool {
        self.book.count(direction) >= self.pyramiding
    }

    fn apply(&mut self, cmd: &OrderCommand, bar_index: usize, bar: &Bar, valid: bool) {
        match *cmd {
            OrderCommand::Entry {
                id,
                direction,
                qty,
                limit,
                stop,
            } => self.place_open(
                OpenKind::Entry,
                id,
                direction,
                qty,
                limit,
                stop,
                bar_index,
                bar,
                valid,
            ),
            OrderCommand::Order {
                id,
                direction,
                qty,
                limit,
                stop,
            } => self.place_open(
                OpenKind::Order,
                id,
                direction,
                qty,
                limit,
                stop,
                bar_index,
                bar,
                valid,
            ),
            OrderCommand::Close {
                id,
                qty,
                qty_percent,
                immediately,
            } => {
                // NaN compares false: NaN means "all".
                if qty <= 0.0 || qty_percent <= 0.0 {
                    return;
                }
                let order = Pending::Close {
                    id,
                    qty: finite_or_nan(qty),
                    qty_percent: finite_or_nan(qty_percent).min(100.0),
                };
                self.place_close(order, immediately, bar_index, bar, valid);
            }
            OrderCommand::CloseAll { immediately } => {
                self.place_close(Pending::CloseAll, immediately, bar_index, bar, valid)
            }
            OrderCommand::Exit {
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
            } => {
                if let Some(spec) = ExitSpec::new(
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
                ) {
                    self.place_exit(spec);
                }
            }
            OrderCommand::Cancel { id } => {
                self.pending.retain(|p| !p.is_open_with_id(id));
                self.specs.retain(|s| s.id != id);
                // A leg that already filled stays on record so that a new exit with
                // this id does not exit the same entry twice.
                self.brackets.retain(|b| b.exit_id != id || b.done);
            }
            OrderCommand::CancelAll => {
                self.pending.retain(|p| !matches!(p, Pending::Open { .. }));
                self.specs.clear();
                self.brackets.retain(|b| b.done);
            }
        }
    }

    /// `strategy.entry` / `strategy.order`: sizes the order now (TradingView sizes at
    /// placement, at this bar's close and equity) and replaces a pending order with the
    /// same id, keeping its place in the queue.
    #[allow(clippy::too_many_arguments)]
    fn place_open(
        &mut self,
        kind: OpenKind,
        id: StrId,
        direction: Direction,
        qty: f64,
        limit: f64,
        stop: f64,
        bar_index: usize,
        bar: &Bar,
        valid: bool,
    ) {
        let equity = self.initial_capital + self.book.net_profit + self.open_profit(self.mark(bar));
        let Some(qty) = self.sizing.qty(qty, equity, bar.close) else {
            return;
        };
        let order = Pending::Open {
            kind,
            id,
            direction,
            qty,
            limit: finite_or_nan(limit),
            stop: finite_or_nan(stop),
            stop_hit: false,
        };
        let slot = self.pending.iter().position(|p| p.is_open_with_id(id));
        if order.is_market() && self.process_orders_on_close && valid {
            if let Some(i) = slot {
                self.pending.remove(i);
            }
            let at = At {
                bar_index,
                time_ms: bar.time_ms,
                price: self.slipped(bar.close, direction == Direction::Long),
            };
            self.fill_open(kind, id, direction, qty, at);
        } else if let Some(i) = slot {
            self.pending[i] = order;
        } else {
            self.pending.push(order);
        }
    }

    fn place_close(
        &mut self,
        order: Pending,
        immediately: bool,
        bar_index: usize,
        bar: &Bar,
        valid: bool,
    ) {
        if (immediately || self.process_orders_on_close) && valid {
            self.fill_pending_market(order, bar.close, bar_index, bar.time_ms);
        } else {
            self.pending.push(order);
        }
    }

    /// `strategy.exit`: registers or updates the spec keyed by `(id, from_entry)`, then
    /// arms (or reprices) its bracket on every matching open entry.
    fn place_exit(&mut self, spec: ExitSpec) {
        let si = match self
            .specs
            .iter()
            .position(|s| s.id == spec.id && s.from_entry == spec.from_entry)
        {
            Some(i) => {
                let armed = self.specs[i].armed;
                self.specs[i] = ExitSpec { armed, ..spec };
                i
            }
            None => {
                self.specs.push(spec);
                self.specs.len() - 1
            }
        };
        for e in &self.book.entries {
            if !spec.applies_to(e.id) {
                continue;
            }
            let existing = self
                .brackets
                .iter_mut()
                .find(|b| b.entry_uid == e.uid && b.belongs_to(&spec));
            match existing {
                Some(b) => {
                    if !b.done {
                        b.reprice(&spec, e, self.mintick);
                    }
                }
                None => {
                    if let Some(b) = Bracket::arm(&spec, e, self.mintick) {
                        self.brackets.push(b);
                        self.specs[si].armed = true;
                    }
                }
            }
        }
    }

    /// Fills a market order at `base` (open or close) plus slippage.
    fn fill_pending_market(&mut self, order: Pending, base: f64, bar_index: usize, time_ms: i64) {
        let at = |price| At {
            bar_index,
            time_ms,
            price,
        };
        match order {
            Pending::Open {
                kind,
                id,
                direction,
                qty,
                ..
            } => {
                let price = self.slipped(base, direction == Direction::Long);
                self.fill_open(kind, id, direction, qty, at(price));
            }
            Pending::Close {
                id,
                qty,
                qty_percent,
            } => {
                let sel = Selector::EntryId(id);
                let open = self.book.matching_qty(sel);
                if open <= 0.0 {
                    return;
                }
                let want = if qty.is_finite() {
                    qty
                } else if qty_percent.is_finite() {
                    open * qty_percent / 100.0
                } else {
                    f64::INFINITY
                };
                let buy = self.book.direction() == Some(Direction::Short);
                let price = self.slipped(base, buy);
                self.execute(Some(id), sel, want, None, at(price));
            }
            Pending::CloseAll => {
                let Some(dir) = self.book.direction() else {
                    return;
                };
                let price = self.slipped(base, dir == Direction::Short);
                self.execute(None, Selector::All, f64::INFINITY, None, at(price));
            }
        }
    }

    /// Fills an opening order of `qty` at `at`. `strategy.entry` against an opposite
    /// position reverses it (closes it all, exit id = this id, and opens `qty`);
    /// `strategy.order` against it closes up to `qty` FIFO and opens the rest. In the
    /// same direction (or flat) an entry beyond pyramiding is dropped.
    fn fill_open(&mut self, kind: OpenKind, id: StrId, direction: Direction, qty: f64, at: At) {
        match self.book.direction() {
            Some(d) if d != direction => match kind {
                OpenKind::Entry => self.execute(
                    Some(id),
                    Selector::All,
                    f64::INFINITY,
                    Some((id, direction, qty)),
                    at,
                ),
                OpenKind::Order => {
                    let rest = qty - self.book.matching_qty(Selector::All);
                    let open = (rest > qty * QTY_EPS).then_some((id, direction, rest));
                    self.execute(Some(id), Selector::All, qty, open, at);
                }
            },
            _ => {
                if kind == OpenKind::Entry && self.entry_blocked(direction) {
                    return;
                }
                self.execute(None, Selector::All, 0.0, Some((id, direction, qty)), at);
            }
        }
    }

    /// Fills leg of bracket `i` at path point `t` (minus slippage for stop legs).
    fn fill_bracket(&mut self, i: usize, t: f64, slip: bool, bar_index: usize, time_ms: i64) {
        let Some(b) = self.brackets.get(i).copied() else {
            return;
        };
        let Some(open) = self
            .book
            .entries
            .iter()
            .find(|e| e.uid == b.entry_uid)
            .map(|e| e.qty)
        else {
            self.brackets.remove(i);
            return;
        };
        self.brackets[i].done = true;
        let price = if slip {
            self.slipped(t, b.direction == Direction::Short)
        } else {
            t
        };
        let at = At {
            bar_index,
            time_ms,
            price,
        };
        self.execute(
            Some(b.exit_id),
            Selector::Uid(b.entry_uid),
            b.qty.min(open),
            None,
            at,
        );
        self.prune_specs();
    }

    /// One fill at `at.price`: closes up to `close_qty` of the entries `sel` matches,
    /// oldest first (trades get `exit_id`, or their own id when `None`), then opens
    /// `open`. The fill's commission is charged once on its whole quantity and split
    /// pro rata between the closed entries and the new one.
    fn execute(
        &mut self,
        exit_id: Option<StrId>,
        sel: Selector,
        close_qty: f64,
        open: Option<(StrId, Direction, f64)>,
        at: At,
    ) {
        let close_qty = if close_qty > 0.0 {
            close_qty.min(self.book.matching_qty(sel))
        } else {
            0.0
        };
        let open_qty = open.map_or(0.0, |o| o.2);
        let total = close_qty + open_qty;
        if !(total > 0.0 && total.is_finite() && at.price.is_finite()) {
            return;
        }
        let commission = self.commission.of_fill(total, at.price);
        let mut left = close_qty;
        let mut from = 0;
        let mut closed_any = false;
        while left > close_qty * QTY_EPS {
            let Some(i) = self.book.next_match(from, sel) else {
                break;
            };
            let take = left.min(self.book.entries[i].qty);
            let part = commission * take / total;
            match self.book.close_part(i, take, part, exit_id, at) {
                Some(uid) => {
                    self.brackets.retain(|b| b.entry_uid != uid);
                    closed_any = true;
                    from = i;
                }
                None => from = i + 1,
            }
            left -= take;
        }
        if closed_any {
            self.prune_specs();
        }
        if let Some((id, direction, qty)) = open {
            let part = commission * qty / total;
            let uid = self.book.open(id, direction, qty, part, at);
            self.arm_new_entry(uid);
        }
    }

    /// Arms every live exit spec that applies to the entry just filled.
    fn arm_new_entry(&mut self, uid: u64) {
        let Some(entry) = self.book.entries.iter().rev().find(|e| e.uid == uid) else {
            return;
        };
        for s in self.specs.iter_mut() {
            if s.applies_to(entry.id) {
                if let Some(b) = Bracket::arm(s, entry, self.mintick) {
                    self.brackets.push(b);
                    s.armed = true;
                }
            }
        }
    }

    /// Drops the exit specs that have armed and have no bracket left.
    fn prune_specs(&mut self) {
        let brackets = &self.brackets;
        self.specs
            .retain(|s| !s.armed || brackets.iter().any(|b| b.belongs_to(s)));
    }
}

#[cfg(test)]
mod tests;
