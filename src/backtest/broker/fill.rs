//! The intrabar price path and the trigger logic of limit, stop, stop-limit and exit
//! orders on it.
//!
//! TradingView's broker emulator does not know the ticks inside a historical bar; it
//! assumes the price went open → high → low → close when the high is nearer the open
//! than the low (a tie counts as nearer), else open → low → high → close, moving in
//! straight lines. Every waiting order is checked on each leg in that order; the order
//! the price reaches first fills first, then the others are checked again from that
//! point (a fill may open an entry whose exits can fill later on the same path, or close
//! the entry whose bracket was about to fill).

use super::order::{OpenKind, Pending};
use super::position::At;
use super::Broker;
use crate::pine::strategy::Direction;
use crate::pine::Bar;

/// The four points of the assumed intrabar path.
#[inline]
pub(crate) fn path(bar: &Bar) -> [f64; 4] {
    if (bar.high - bar.open).abs() <= (bar.low - bar.open).abs() {
        [bar.open, bar.high, bar.low, bar.close]
    } else {
        [bar.open, bar.low, bar.high, bar.close]
    }
}

/// Where a leg from `cur` to `end` first has price ≥ `p` (buy stop, sell limit): `cur`
/// when it is already there (a gap through the level fills at the current price),
/// else `p` when the leg rises to it. `None` when it never does or `p` is `NaN`.
#[inline]
pub(crate) fn reach_up(cur: f64, end: f64, p: f64) -> Option<f64> {
    if cur >= p {
        Some(cur)
    } else if end >= p {
        Some(p)
    } else {
        None
    }
}

/// Mirror of [`reach_up`]: where the leg first has price ≤ `p` (buy limit, sell stop).
#[inline]
pub(crate) fn reach_down(cur: f64, end: f64, p: f64) -> Option<f64> {
    if cur <= p {
        Some(cur)
    } else if end <= p {
        Some(p)
    } else {
        None
    }
}

/// Something that happens at one point of the path.
#[derive(Debug, Clone, Copy)]
enum Event {
    /// Take-profit leg of bracket `i` fills (limit: no slippage).
    Take(usize),
    /// Stop-loss leg of bracket `i` fills (stop: slippage).
    Stop(usize),
    /// Trailing stop of bracket `i` activates.
    TrailOn(usize),
    /// Trailing stop of bracket `i` fills (stop: slippage).
    TrailStop(usize),
    /// Stop of stop-limit pending order `i` triggers: it becomes a limit order.
    StopHit(usize),
    /// Pending order `i` fills; `slip` for stop fills.
    Fill { idx: usize, slip: bool },
}

#[inline]
fn consider(best: &mut Option<(Event, f64)>, cur: f64, ev: Event, t: Option<f64>) {
    if let Some(t) = t {
        let nearer = match *best {
            None => true,
            Some((_, bt)) => (t - cur).abs() < (bt - cur).abs(),
        };
        if nearer {
            *best = Some((ev, t));
        }
    }
}

impl Broker {
    /// Fills, in placement order, the market orders placed on earlier bars at `price`
    /// (the open), slippage against the trader added per order.
    pub(super) fn fill_market_orders(&mut self, price: f64, bar_index: usize, time_ms: i64) {
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].is_market() {
                let order = self.pending.remove(i);
                self.fill_pending_market(order, price, bar_index, time_ms);
            } else {
                i += 1;
            }
        }
    }

    /// Walks the intrabar path of `bar` and fills what triggers on it.
    ///
    /// Terminates: each event removes a pending order, marks a bracket done (or removes
    /// it), or flips a one-way flag (stop hit, trailing active); new brackets only come
    /// from entry fills, which remove a pending order.
    pub(super) fn walk_path(&mut self, bar_index: usize, bar: &Bar) {
        let pts = path(bar);
        for leg in 0..3 {
            let (mut cur, end) = (pts[leg], pts[leg + 1]);
            while let Some((ev, t)) = self.next_event(cur, end) {
                self.advance_trails(t);
                cur = t;
                self.handle(ev, t, bar_index, bar.time_ms);
            }
            self.advance_trails(end);
        }
    }

    /// The event nearest to `cur` on the leg `cur → end`; ties go to exits before
    /// pending orders, and within each to the older one.
    fn next_event(&self, cur: f64, end: f64) -> Option<(Event, f64)> {
        let mut best = None;
        for (i, b) in self.brackets.iter().enumerate() {
            if b.done {
                continue;
            }
            let long = b.direction == Direction::Long;
            let (take, stop) = if long {
                (reach_up(cur, end, b.tp), reach_down(cur, end, b.sl))
            } else {
                (reach_down(cur, end, b.tp), reach_up(cur, end, b.sl))
            };
            consider(&mut best, cur, Event::Take(i), take);
            consider(&mut best, cur, Event::Stop(i), stop);
            if b.has_trail() {
                if !b.trail_active {
                    let t = if long {
                        reach_up(cur, end, b.trail_act)
                    } else {
                        reach_down(cur, end, b.trail_act)
                    };
                    consider(&mut best, cur, Event::TrailOn(i), t);
                } else {
                    let t = if long {
                        reach_down(cur, end, b.trail_best - b.trail_off)
                    } else {
                        reach_up(cur, end, b.trail_best + b.trail_off)
                    };
                    consider(&mut best, cur, Event::TrailStop(i), t);
                }
            }
        }
        for (i, p) in self.pending.iter().enumerate() {
            let Pending::Open {
                kind,
                direction,
                limit,
                stop,
                stop_hit,
                ..
            } = *p
            else {
                continue;
            };
            if kind == OpenKind::Entry && self.entry_blocked(direction) {
                // Pyramiding is full: the order waits (it may fill later on this path if
                // the position changes).
                continue;
            }
            let buy = direction == Direction::Long;
            if limit.is_finite() && stop.is_finite() && !stop_hit {
                let t = if buy {
                    reach_up(cur, end, stop)
                } else {
                    reach_down(cur, end, stop)
                };
                consider(&mut best, cur, Event::StopHit(i), t);
            } else if limit.is_finite() {
                let t = if buy {
                    reach_down(cur, end, limit)
                } else {
                    reach_up(cur, end, limit)
                };
                consider(
                    &mut best,
                    cur,
                    Event::Fill {
                        idx: i,
                        slip: false,
                    },
                    t,
                );
            } else if stop.is_finite() {
                let t = if buy {
                    reach_up(cur, end, stop)
                } else {
                    reach_down(cur, end, stop)
                };
                consider(&mut best, cur, Event::Fill { idx: i, slip: true }, t);
            }
        }
        best
    }

    /// The price has moved to `price`: active trailing stops follow their best price.
    fn advance_trails(&mut self, price: f64) {
        for b in self.brackets.iter_mut() {
            if b.trail_active && !b.done {
                b.trail_best = match b.direction {
                    Direction::Long => b.trail_best.max(price),
                    Direction::Short => b.trail_best.min(price),
                };
            }
        }
    }

    fn handle(&mut self, ev: Event, t: f64, bar_index: usize, time_ms: i64) {
        match ev {
            Event::Take(i) => self.fill_bracket(i, t, false, bar_index, time_ms),
            Event::Stop(i) | Event::TrailStop(i) => {
                self.fill_bracket(i, t, true, bar_index, time_ms)
            }
            Event::TrailOn(i) => {
                if let Some(b) = self.brackets.get_mut(i) {
                    b.trail_active = true;
                    b.trail_best = t;
                }
            }
            Event::StopHit(i) => {
                if let Some(Pending::Open { stop_hit, .. }) = self.pending.get_mut(i) {
                    *stop_hit = true;
                }
            }
            Event::Fill { idx, slip } => {
                if idx >= self.pending.len() {
                    return;
                }
                if let Pending::Open {
                    kind,
                    id,
                    direction,
                    qty,
                    ..
                } = self.pending.remove(idx)
                {
                    let price = if slip {
                        self.slipped(t, direction == Direction::Long)
                    } else {
                        t
                    };
                    let at = At {
                        bar_index,
                        time_ms,
                        price,
                    };
                    self.fill_open(kind, id, direction, qty, at);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_table() {
        let bar = |o, h, l, c| Bar {
            time_ms: 0,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: 0.0,
        };
        let cases = [
            // TC0: high nearer (1 < 5): open, high, low, close
            (bar(10.0, 11.0, 5.0, 8.0), [10.0, 11.0, 5.0, 8.0]),
            // TC1: low nearer (1 < 5): open, low, high, close
            (bar(10.0, 15.0, 9.0, 12.0), [10.0, 9.0, 15.0, 12.0]),
            // TC2: tie: high first
            (bar(10.0, 12.0, 8.0, 10.0), [10.0, 12.0, 8.0, 10.0]),
        ];
        for (n, (b, want)) in cases.iter().enumerate() {
            assert_eq!(path(b), *want, "TC{n}");
        }
    }

    #[test]
    fn reach_table() {
        let nan = f64::NAN;
        // (up?, cur, end, level, expected)
        let cases = [
            // TC0: rising leg reaches a buy stop at its price
            (true, 10.0, 12.0, 11.0, Some(11.0)),
            // TC1: already above: fills at the current point (gap)
            (true, 12.0, 14.0, 11.0, Some(12.0)),
            // TC2: never reached
            (true, 10.0, 10.5, 11.0, None),
            // TC3: falling leg reaches a buy limit
            (false, 10.0, 8.0, 9.0, Some(9.0)),
            // TC4: falling leg starting below the limit (gap down)
            (false, 8.5, 8.0, 9.0, Some(8.5)),
            // TC5: NaN level never triggers
            (false, 10.0, 8.0, nan, None),
            // TC6: falling leg never reaches an upper level
            (true, 10.0, 8.0, 11.0, None),
        ];
        for (n, &(up, cur, end, p, want)) in cases.iter().enumerate() {
            let got = if up {
                reach_up(cur, end, p)
            } else {
                reach_down(cur, end, p)
            };
            assert_eq!(got, want, "TC{n}");
        }
    }
}
