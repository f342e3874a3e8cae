//! Hand-checked trade lists for every order type and rule of the broker emulator, plus a
//! property test over random command streams.
//!
//! Bars are `[open, high, low, close]`, one minute apart. Unless a case says otherwise:
//! initial capital 1000, fixed qty 1, no commission, pyramiding 1, mintick 1. Path rule
//! reminder: high nearer the open (tie: high) → O→H→L→C, else O→L→H→C.

use super::*;
use crate::pine::strategy::{CommissionType, QtyType};
use proptest::prelude::*;
use Direction::{Long, Short};

const N: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;
const L: StrId = StrId(1);
const L2: StrId = StrId(2);
const L3: StrId = StrId(3);
const S: StrId = StrId(4);
const X: StrId = StrId(10);
const Y: StrId = StrId(11);
const UNKNOWN: StrId = StrId(99);

fn st() -> StrategySettings {
    StrategySettings {
        initial_capital: 1000.0,
        ..StrategySettings::default()
    }
}

fn bar(i: usize, [open, high, low, close]: [f64; 4]) -> Bar {
    Bar {
        time_ms: i as i64 * 60_000,
        open,
        high,
        low,
        close,
        volume: 1.0,
    }
}

fn entry(id: StrId, direction: Direction, qty: f64) -> OrderCommand {
    entry_at(id, direction, qty, N, N)
}

fn entry_at(id: StrId, direction: Direction, qty: f64, limit: f64, stop: f64) -> OrderCommand {
    OrderCommand::Entry {
        id,
        direction,
        qty,
        limit,
        stop,
    }
}

fn order(id: StrId, direction: Direction, qty: f64) -> OrderCommand {
    OrderCommand::Order {
        id,
        direction,
        qty,
        limit: N,
        stop: N,
    }
}

fn close(id: StrId, qty: f64, qty_percent: f64, immediately: bool) -> OrderCommand {
    OrderCommand::Close {
        id,
        qty,
        qty_percent,
        immediately,
    }
}

/// `strategy.exit` without trailing: (qty, qty_percent, profit, limit, loss, stop).
#[allow(clippy::too_many_arguments)]
fn exit(
    id: StrId,
    from_entry: Option<StrId>,
    qty: f64,
    qty_percent: f64,
    profit: f64,
    limit: f64,
    loss: f64,
    stop: f64,
) -> OrderCommand {
    OrderCommand::Exit {
        id,
        from_entry,
        qty,
        qty_percent,
        profit,
        limit,
        loss,
        stop,
        trail_price: N,
        trail_points: N,
        trail_offset: N,
    }
}

/// `strategy.exit` with only a trailing stop.
fn trail(
    id: StrId,
    from_entry: Option<StrId>,
    price: f64,
    points: f64,
    offset: f64,
) -> OrderCommand {
    OrderCommand::Exit {
        id,
        from_entry,
        qty: N,
        qty_percent: N,
        profit: N,
        limit: N,
        loss: N,
        stop: N,
        trail_price: price,
        trail_points: points,
        trail_offset: offset,
    }
}

/// Expected closed trade: entry id, exit id, direction, qty, entry bar, entry price,
/// exit bar, exit price, profit, commission.
type Tr = (
    StrId,
    StrId,
    Direction,
    f64,
    usize,
    f64,
    usize,
    f64,
    f64,
    f64,
);
/// Expected open trade: id, direction, qty, entry bar, entry price, entry commission.
type Op = (StrId, Direction, f64, usize, f64, f64);

struct Case {
    s: StrategySettings,
    tick: f64,
    bars: Vec<[f64; 4]>,
    cmds: Vec<(usize, OrderCommand)>,
    trades: Vec<Tr>,
    open: Vec<Op>,
    /// Expected equity curve, when the case checks it.
    equity: Option<Vec<f64>>,
}

fn case(
    s: StrategySettings,
    tick: f64,
    bars: &[[f64; 4]],
    cmds: &[(usize, OrderCommand)],
    trades: &[Tr],
    open: &[Op],
) -> Case {
    Case {
        s,
        tick,
        bars: bars.to_vec(),
        cmds: cmds.to_vec(),
        trades: trades.to_vec(),
        open: open.to_vec(),
        equity: None,
    }
}

/// Runs the bars in the runner's order: open, view, close with that bar's commands.
fn run(
    s: &StrategySettings,
    tick: f64,
    bars: &[[f64; 4]],
    cmds: &[(usize, OrderCommand)],
) -> Broker {
    let mut b = Broker::new(s, tick, bars.len());
    let mut buf = Vec::new();
    for (i, ohlc) in bars.iter().enumerate() {
        let bar = bar(i, *ohlc);
        b.on_bar_open(i, &bar);
        let _ = b.view(&bar);
        buf.clear();
        buf.extend(cmds.iter().filter(|c| c.0 == i).map(|c| c.1));
        b.on_bar_close(i, &bar, &buf);
    }
    b
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + b.abs())
}

const B0: [f64; 4] = [10.0, 11.0, 9.0, 10.0];

fn cases() -> Vec<Case> {
    let pyr = |n| StrategySettings {
        pyramiding: n,
        ..st()
    };
    let comm = |kind, value| StrategySettings {
        commission_type: kind,
        commission_value: value,
        ..st()
    };
    vec![
        // TC0: market entry placed on bar 0 fills at bar 1's open (12); close placed on
        // bar 1 fills at bar 2's open (14): profit 2. Equity 1000, 1000 (marked at 12),
        // 1002.
        Case {
            equity: Some(vec![1000.0, 1000.0, 1002.0]),
            ..case(
                st(),
                1.0,
                &[B0, [12.0, 13.0, 11.0, 12.0], [14.0, 15.0, 13.0, 14.0]],
                &[(0, entry(L, Long, N)), (1, close(L, N, N, false))],
                &[(L, L, Long, 1.0, 1, 12.0, 2, 14.0, 2.0, 0.0)],
                &[],
            )
        },
        // TC1: process_orders_on_close: entry fills at bar 0's close (10), close at bar
        // 1's close (12): profit 2. Equity 1000, 1002, 1002.
        Case {
            equity: Some(vec![1000.0, 1002.0, 1002.0]),
            ..case(
                StrategySettings {
                    process_orders_on_close: true,
                    ..st()
                },
                1.0,
                &[B0, [12.0, 13.0, 11.0, 12.0], [14.0, 15.0, 13.0, 14.0]],
                &[(0, entry(L, Long, N)), (1, close(L, N, N, false))],
                &[(L, L, Long, 1.0, 0, 10.0, 1, 12.0, 2.0, 0.0)],
                &[],
            )
        },
        // TC2: buy limit 9.5 (bar 0's own low 9 does not count): bar 1 O→H→L (0.5 < 1)
        // falls 10.5 → 9 through 9.5: fills at 9.5 on bar 1.
        case(
            st(),
            1.0,
            &[B0, [10.0, 10.5, 9.0, 9.8], [10.0, 10.0, 10.0, 10.0]],
            &[(0, entry_at(L, Long, N, 9.5, N))],
            &[],
            &[(L, Long, 1.0, 1, 9.5, 0.0)],
        ),
        // TC3: buy limit 9.5, bar 1 opens at 9 below it: fills at the open, 9.
        case(
            st(),
            1.0,
            &[B0, [9.0, 9.8, 8.5, 9.5], [10.0, 10.0, 10.0, 10.0]],
            &[(0, entry_at(L, Long, N, 9.5, N))],
            &[],
            &[(L, Long, 1.0, 1, 9.0, 0.0)],
        ),
        // TC4: buy limit 9.5 not reached on bar 1 (low 9.6); bar 2 O→H→L (0 < 0.6)
        // reaches it: fills at 9.5 on bar 2.
        case(
            st(),
            1.0,
            &[B0, [10.0, 11.0, 9.6, 10.5], [10.0, 10.0, 9.4, 9.5]],
            &[(0, entry_at(L, Long, N, 9.5, N))],
            &[],
            &[(L, Long, 1.0, 2, 9.5, 0.0)],
        ),
        // TC5: buy stop 11: bar 1 O→L→H (2 > 0.5) rises 9.5 → 12 through 11: fills 11.
        case(
            st(),
            1.0,
            &[B0, [10.0, 12.0, 9.5, 11.5], [11.5, 11.5, 11.5, 11.5]],
            &[(0, entry_at(L, Long, N, N, 11.0))],
            &[],
            &[(L, Long, 1.0, 1, 11.0, 0.0)],
        ),
        // TC6: sell stop 9, bar 1 gaps down to 8.5: short fills at the open, 8.5.
        case(
            st(),
            1.0,
            &[B0, [8.5, 9.0, 8.0, 8.8]],
            &[(0, entry_at(S, Short, N, N, 9.0))],
            &[],
            &[(S, Short, 1.0, 1, 8.5, 0.0)],
        ),
        // TC7: buy stop-limit stop 11 limit 10.5. Bar 1 O→L→H→C (2 > 0.2): 9.8 is below
        // the limit but the stop is not hit yet; 9.8 → 12 hits the stop at 11 (now a
        // limit 10.5), 12 → 11 does not reach 10.5. Bar 2 O→H→L (0.2 < 1): 11.2 → 10
        // reaches 10.5: fills 10.5 on bar 2.
        case(
            st(),
            1.0,
            &[B0, [10.0, 12.0, 9.8, 11.0], [11.0, 11.2, 10.0, 10.2]],
            &[(0, entry_at(L, Long, N, 10.5, 11.0))],
            &[],
            &[(L, Long, 1.0, 2, 10.5, 0.0)],
        ),
        // TC8: the same stop-limit triggers and fills on one path: bar 1 O→L→H→C hits
        // the stop at 11 on 9.8 → 12, then 12 → 10.2 reaches 10.5: fills 10.5 on bar 1.
        case(
            st(),
            1.0,
            &[B0, [10.0, 12.0, 9.8, 10.2]],
            &[(0, entry_at(L, Long, N, 10.5, 11.0))],
            &[],
            &[(L, Long, 1.0, 1, 10.5, 0.0)],
        ),
        // TC9: exit by profit ticks, mintick 0.5: entry 10 on bar 1, profit 4 ticks →
        // take-profit 12. Bar 1 high 11; bar 2 O→L→H (1.5 > 0.2) reaches 12: profit 2.
        case(
            st(),
            0.5,
            &[B0, [10.0, 11.0, 9.5, 10.5], [11.0, 12.5, 10.8, 12.0]],
            &[
                (0, entry(L, Long, N)),
                (0, exit(X, Some(L), N, N, 4.0, N, N, N)),
            ],
            &[(L, X, Long, 1.0, 1, 10.0, 2, 12.0, 2.0, 0.0)],
            &[],
        ),
        // TC10: exit by limit price 11.5, same bars: fills 11.5 on bar 2, profit 1.5.
        case(
            st(),
            0.5,
            &[B0, [10.0, 11.0, 9.5, 10.5], [11.0, 12.5, 10.8, 12.0]],
            &[
                (0, entry(L, Long, N)),
                (0, exit(X, Some(L), N, N, N, 11.5, N, N)),
            ],
            &[(L, X, Long, 1.0, 1, 10.0, 2, 11.5, 1.5, 0.0)],
            &[],
        ),
        // TC11: exit by loss ticks, mintick 0.5: loss 4 ticks → stop 8. Bar 1 low 9.5;
        // bar 2 opens 9, O→H→L (0.5 < 2) falls to 7 through 8: fills 8, profit -2.
        case(
            st(),
            0.5,
            &[B0, [10.0, 11.0, 9.5, 10.5], [9.0, 9.5, 7.0, 7.5]],
            &[
                (0, entry(L, Long, N)),
                (0, exit(X, Some(L), N, N, N, N, 4.0, N)),
            ],
            &[(L, X, Long, 1.0, 1, 10.0, 2, 8.0, -2.0, 0.0)],
            &[],
        ),
        // TC12: exit by stop price 9.2: bar 2 opens at 9, through the stop: fills at the
        // open 9, profit -1.
        case(
            st(),
            0.5,
            &[B0, [10.0, 11.0, 9.5, 10.5], [9.0, 9.5, 7.0, 7.5]],
            &[
                (0, entry(L, Long, N)),
                (0, exit(X, Some(L), N, N, N, N, N, 9.2)),
            ],
            &[(L, X, Long, 1.0, 1, 10.0, 2, 9.0, -1.0, 0.0)],
            &[],
        ),
        // TC13: both legs (limit 12, stop 8) inside bar 1, the entry's own bar; low
        // nearer (3 > 2.5): O→L→H, the stop fills first at 8: profit -2.
        case(
            st(),
            1.0,
            &[B0, [10.0, 13.0, 7.5, 10.0]],
            &[
                (0, entry(L, Long, N)),
                (0, exit(X, Some(L), N, N, N, 12.0, N, 8.0)),
            ],
            &[(L, X, Long, 1.0, 1, 10.0, 1, 8.0, -2.0, 0.0)],
            &[],
        ),
        // TC14: both legs again, high nearer (2.5 < 3): O→H→L, take-profit 12 first:
        // profit 2; the stop is cancelled (OCA).
        case(
            st(),
            1.0,
            &[B0, [10.0, 12.5, 7.0, 10.0]],
            &[
                (0, entry(L, Long, N)),
                (0, exit(X, Some(L), N, N, N, 12.0, N, 8.0)),
            ],
            &[(L, X, Long, 1.0, 1, 10.0, 1, 12.0, 2.0, 0.0)],
            &[],
        ),
        // TC15: trailing stop, trail_points 2 (activation 12), trail_offset 1. Bar 1
        // tops at 11: inactive. Bar 2 O→L→H→C (3 > 0.1): activates at 12, best 14, stop
        // 13 not reached by 14 → 13.5. Bar 3 O→H→L (0.1 < 1.5): 13.6 stays under the best
        // 14, the stop stays 13, the fall to 12 fills it at 13 on bar 3: profit 3.
        case(
            st(),
            1.0,
            &[
                B0,
                [10.0, 11.0, 9.5, 10.8],
                [11.0, 14.0, 10.9, 13.5],
                [13.5, 13.6, 12.0, 12.5],
            ],
            &[(0, entry(L, Long, N)), (0, trail(X, Some(L), N, 2.0, 1.0))],
            &[(L, X, Long, 1.0, 1, 10.0, 3, 13.0, 3.0, 0.0)],
            &[],
        ),
        // TC16: short trailing stop activated by trail_price 9, offset 1. Bar 1 (short
        // at 10) O→H→L→C: activates at 9, best 8, stop 9 not reached by 8.5. Bar 2
        // O→H→L→C (0.3 < 1): 8.8 stays under the stop 9; the fall to 7.5 moves the best
        // to 7.5 and the stop to 8.5; the close leg back to 8.5 fills it: profit 1.5.
        case(
            st(),
            1.0,
            &[B0, [10.0, 10.2, 8.0, 8.5], [8.5, 8.8, 7.5, 8.5]],
            &[(0, entry(S, Short, N)), (0, trail(X, Some(S), 9.0, N, 1.0))],
            &[(S, X, Short, 1.0, 1, 10.0, 2, 8.5, 1.5, 0.0)],
            &[],
        ),
        // TC17: exit placed before its limit entry fills: bar 1 O→H→L falls 10.2 → 8,
        // the entry fills at 9.5 and arms the stop 8.5 (loss 1 tick), which fills later
        // on the same leg: profit -1, both on bar 1.
        case(
            st(),
            1.0,
            &[B0, [10.0, 10.2, 8.0, 9.0]],
            &[
                (0, entry_at(L, Long, N, 9.5, N)),
                (0, exit(X, Some(L), N, N, N, N, 1.0, N)),
            ],
            &[(L, X, Long, 1.0, 1, 9.5, 1, 8.5, -1.0, 0.0)],
            &[],
        ),
        // TC18: partial exit by qty: entry 4 at 10; X closes qty 1 at limit 11, Y the
        // rest at limit 12; bar 1 O→L→H (2.5 > 0.1) reaches 11 then 12: trades 1 @ 11
        // (profit 1) and 3 @ 12 (profit 6).
        case(
            st(),
            1.0,
            &[B0, [10.0, 12.5, 9.9, 12.0]],
            &[
                (0, entry(L, Long, 4.0)),
                (0, exit(X, Some(L), 1.0, N, N, 11.0, N, N)),
                (0, exit(Y, Some(L), N, N, N, 12.0, N, N)),
            ],
            &[
                (L, X, Long, 1.0, 1, 10.0, 1, 11.0, 1.0, 0.0),
                (L, Y, Long, 3.0, 1, 10.0, 1, 12.0, 6.0, 0.0),
            ],
            &[],
        ),
        // TC19: partial exit by qty_percent 50 of 4 = 2 at limit 11 on bar 1 (profit
        // 2); the same exit called again on bar 1 does not re-arm on this entry, so bar
        // 2 reaching 11 again closes nothing: 2 stay open.
        case(
            st(),
            1.0,
            &[B0, [10.0, 12.5, 9.9, 12.0], [11.0, 12.0, 10.5, 11.5]],
            &[
                (0, entry(L, Long, 4.0)),
                (0, exit(X, Some(L), N, 50.0, N, 11.0, N, N)),
                (1, exit(X, Some(L), N, 50.0, N, 11.0, N, N)),
            ],
            &[(L, X, Long, 2.0, 1, 10.0, 1, 11.0, 2.0, 0.0)],
            &[(L, Long, 2.0, 1, 10.0, 0.0)],
        ),
        // TC20: close by id with pyramiding 2: L and L2 fill at 10 on bar 1; close(L)
        // fills at bar 2's open 12 and leaves L2 open. Profit 2.
        case(
            pyr(2),
            1.0,
            &[B0, B0, [12.0, 13.0, 11.0, 12.0]],
            &[
                (0, entry(L, Long, N)),
                (0, entry(L2, Long, N)),
                (1, close(L, N, N, false)),
            ],
            &[(L, L, Long, 1.0, 1, 10.0, 2, 12.0, 2.0, 0.0)],
            &[(L2, Long, 1.0, 1, 10.0, 0.0)],
        ),
        // TC21: close_all closes both at 12 (FIFO order, exit id = own id).
        case(
            pyr(2),
            1.0,
            &[B0, B0, [12.0, 13.0, 11.0, 12.0]],
            &[
                (0, entry(L, Long, N)),
                (0, entry(L2, Long, N)),
                (1, OrderCommand::CloseAll { immediately: false }),
            ],
            &[
                (L, L, Long, 1.0, 1, 10.0, 2, 12.0, 2.0, 0.0),
                (L2, L2, Long, 1.0, 1, 10.0, 2, 12.0, 2.0, 0.0),
            ],
            &[],
        ),
        // TC22: close(immediately) fills at the placing bar's close 11: profit 1.
        case(
            st(),
            1.0,
            &[B0, [10.0, 11.5, 9.5, 11.0], [12.0, 13.0, 11.0, 12.0]],
            &[(0, entry(L, Long, N)), (1, close(L, N, N, true))],
            &[(L, L, Long, 1.0, 1, 10.0, 1, 11.0, 1.0, 0.0)],
            &[],
        ),
        // TC23: reversal: long 1 at 10; short entry S qty 2 on bar 1 fills at 12 as one
        // order of 3: L closes (exit id S, profit 2) and S opens 2 at 12.
        case(
            st(),
            1.0,
            &[B0, [10.0, 11.0, 9.0, 11.0], [12.0, 13.0, 11.0, 12.0]],
            &[(0, entry(L, Long, 1.0)), (1, entry(S, Short, 2.0))],
            &[(L, S, Long, 1.0, 1, 10.0, 2, 12.0, 2.0, 0.0)],
            &[(S, Short, 2.0, 2, 12.0, 0.0)],
        ),
        // TC24: the same reversal with 0.1 per contract: entry 0.1; the reversing fill
        // of 3 costs 0.3, 0.1 to the closed long (trade commission 0.2, profit 1.8) and
        // 0.2 to the new short.
        case(
            comm(CommissionType::CashPerContract, 0.1),
            1.0,
            &[B0, [10.0, 11.0, 9.0, 11.0], [12.0, 13.0, 11.0, 12.0]],
            &[(0, entry(L, Long, 1.0)), (1, entry(S, Short, 2.0))],
            &[(L, S, Long, 1.0, 1, 10.0, 2, 12.0, 1.8, 0.2)],
            &[(S, Short, 2.0, 2, 12.0, 0.2)],
        ),
        // TC25: pyramiding 2: three long entries, the third is dropped.
        case(
            pyr(2),
            1.0,
            &[B0, B0],
            &[
                (0, entry(L, Long, N)),
                (0, entry(L2, Long, N)),
                (0, entry(L3, Long, N)),
            ],
            &[],
            &[(L, Long, 1.0, 1, 10.0, 0.0), (L2, Long, 1.0, 1, 10.0, 0.0)],
        ),
        // TC26: pyramiding 1: the second entry is dropped.
        case(
            pyr(1),
            1.0,
            &[B0, B0],
            &[(0, entry(L, Long, N)), (0, entry(L2, Long, N))],
            &[],
            &[(L, Long, 1.0, 1, 10.0, 0.0)],
        ),
        // TC27: pyramiding 0 means 1.
        case(
            pyr(0),
            1.0,
            &[B0, B0],
            &[(0, entry(L, Long, N)), (0, entry(L2, Long, N))],
            &[],
            &[(L, Long, 1.0, 1, 10.0, 0.0)],
        ),
        // TC28: strategy.order: buy 3 at 10 (bar 1); sell 1 at 12 (bar 2) reduces FIFO
        // (profit 2, 2 left); sell 5 at 11 (bar 3) closes 2 (profit 2) and opens short 3.
        case(
            st(),
            1.0,
            &[B0, B0, [12.0, 13.0, 11.0, 12.0], [11.0, 12.0, 10.0, 11.0]],
            &[
                (0, order(L, Long, 3.0)),
                (1, order(S, Short, 1.0)),
                (2, order(X, Short, 5.0)),
            ],
            &[
                (L, S, Long, 1.0, 1, 10.0, 2, 12.0, 2.0, 0.0),
                (L, X, Long, 2.0, 1, 10.0, 3, 11.0, 2.0, 0.0),
            ],
            &[(X, Short, 3.0, 3, 11.0, 0.0)],
        ),
        // TC29: cancel: a pending limit entry L2 (5) and the exit X (stop 9) are
        // cancelled on bar 1; bar 2 falls to 4 and nothing fills.
        case(
            pyr(2),
            1.0,
            &[B0, [10.0, 10.5, 9.5, 10.0], [10.0, 10.0, 4.0, 5.0]],
            &[
                (0, entry(L, Long, N)),
                (0, entry_at(L2, Long, N, 5.0, N)),
                (0, exit(X, Some(L), N, N, N, N, N, 9.0)),
                (1, OrderCommand::Cancel { id: X }),
                (1, OrderCommand::Cancel { id: L2 }),
            ],
            &[],
            &[(L, Long, 1.0, 1, 10.0, 0.0)],
        ),
        // TC30: cancel_all: same, one call.
        case(
            pyr(2),
            1.0,
            &[B0, [10.0, 10.5, 9.5, 10.0], [10.0, 10.0, 4.0, 5.0]],
            &[
                (0, entry(L, Long, N)),
                (0, entry_at(L2, Long, N, 5.0, N)),
                (0, exit(X, Some(L), N, N, N, N, N, 9.0)),
                (1, OrderCommand::CancelAll),
            ],
            &[],
            &[(L, Long, 1.0, 1, 10.0, 0.0)],
        ),
        // TC31: percent_of_equity 50: 1000 * 50% / 10 (bar 0's close) = 50, filled at
        // bar 1's open 12.
        case(
            StrategySettings {
                default_qty_type: QtyType::PercentOfEquity,
                default_qty_value: 50.0,
                ..st()
            },
            1.0,
            &[B0, [12.0, 13.0, 11.0, 12.0]],
            &[(0, entry(L, Long, N))],
            &[],
            &[(L, Long, 50.0, 1, 12.0, 0.0)],
        ),
        // TC32: cash 100: 100 / 8 (bar 0's close) = 12.5.
        case(
            StrategySettings {
                default_qty_type: QtyType::Cash,
                default_qty_value: 100.0,
                ..st()
            },
            1.0,
            &[[8.0, 9.0, 7.0, 8.0], [10.0, 11.0, 9.0, 10.0]],
            &[(0, entry(L, Long, N))],
            &[],
            &[(L, Long, 12.5, 1, 10.0, 0.0)],
        ),
        // TC33: percent commission 0.1: 100 → 110 on qty 1: 0.1 + 0.11 = 0.21, profit
        // 10 - 0.21 = 9.79.
        case(
            comm(CommissionType::Percent, 0.1),
            0.01,
            &[
                [100.0, 101.0, 99.0, 100.0],
                [100.0, 101.0, 99.0, 100.0],
                [110.0, 111.0, 109.0, 110.0],
            ],
            &[(0, entry(L, Long, N)), (1, close(L, N, N, false))],
            &[(L, L, Long, 1.0, 1, 100.0, 2, 110.0, 9.79, 0.21)],
            &[],
        ),
        // TC34: 0.5 per contract, qty 2: 1 + 1 = 2, profit 20 - 2 = 18.
        case(
            comm(CommissionType::CashPerContract, 0.5),
            0.01,
            &[
                [100.0, 101.0, 99.0, 100.0],
                [100.0, 101.0, 99.0, 100.0],
                [110.0, 111.0, 109.0, 110.0],
            ],
            &[(0, entry(L, Long, 2.0)), (1, close(L, N, N, false))],
            &[(L, L, Long, 2.0, 1, 100.0, 2, 110.0, 18.0, 2.0)],
            &[],
        ),
        // TC35: 3 per order, qty 2: 3 + 3 = 6, profit 20 - 6 = 14.
        case(
            comm(CommissionType::CashPerOrder, 3.0),
            0.01,
            &[
                [100.0, 101.0, 99.0, 100.0],
                [100.0, 101.0, 99.0, 100.0],
                [110.0, 111.0, 109.0, 110.0],
            ],
            &[(0, entry(L, Long, 2.0)), (1, close(L, N, N, false))],
            &[(L, L, Long, 2.0, 1, 100.0, 2, 110.0, 14.0, 6.0)],
            &[],
        ),
        // TC36: 3 per order, one close_all fill of 4 over entries of 1 and 3: split
        // 0.75 / 2.25. L: 3 + 0.75 = 3.75, profit 10 - 3.75 = 6.25; L2: 3 + 2.25 =
        // 5.25, profit 30 - 5.25 = 24.75.
        case(
            StrategySettings {
                pyramiding: 2,
                ..comm(CommissionType::CashPerOrder, 3.0)
            },
            0.01,
            &[
                [100.0, 101.0, 99.0, 100.0],
                [100.0, 101.0, 99.0, 100.0],
                [110.0, 111.0, 109.0, 110.0],
            ],
            &[
                (0, entry(L, Long, 1.0)),
                (0, entry(L2, Long, 3.0)),
                (1, OrderCommand::CloseAll { immediately: false }),
            ],
            &[
                (L, L, Long, 1.0, 1, 100.0, 2, 110.0, 6.25, 3.75),
                (L2, L2, Long, 3.0, 1, 100.0, 2, 110.0, 24.75, 5.25),
            ],
            &[],
        ),
        // TC37: slippage 2 ticks of 0.5 = 1: market buy at 10 + 1 = 11; the stop exit
        // at 8 sells at 8 - 1 = 7 (bar 2 O→H→L): profit -4.
        case(
            StrategySettings {
                slippage_ticks: 2,
                ..st()
            },
            0.5,
            &[B0, [10.0, 10.5, 9.5, 10.0], [9.0, 9.5, 7.0, 7.5]],
            &[
                (0, entry(L, Long, N)),
                (0, exit(X, Some(L), N, N, N, N, N, 8.0)),
            ],
            &[(L, X, Long, 1.0, 1, 11.0, 2, 7.0, -4.0, 0.0)],
            &[],
        ),
        // TC38: no slippage on a limit fill: entry 11 (slipped), take-profit at 12 fills
        // at 12 exactly on bar 2 (O→L→H): profit 1.
        case(
            StrategySettings {
                slippage_ticks: 2,
                ..st()
            },
            0.5,
            &[B0, [10.0, 10.5, 9.5, 10.0], [11.0, 13.0, 10.9, 12.0]],
            &[
                (0, entry(L, Long, N)),
                (0, exit(X, Some(L), N, N, N, 12.0, N, N)),
            ],
            &[(L, X, Long, 1.0, 1, 11.0, 2, 12.0, 1.0, 0.0)],
            &[],
        ),
        // TC39: garbage is ignored: negative, infinite and zero qty, a close and an exit
        // for entries that never happened, an exit with no leg, a close with a negative
        // qty, exit qty_percent 0, a cancel of an unknown id. The valid entry placed on
        // bar 1 still fills alone at 12 on bar 2, and the waiting exit for UNKNOWN does
        // not arm on it.
        case(
            st(),
            1.0,
            &[B0, B0, [12.0, 13.0, 1.0, 12.0]],
            &[
                (0, entry(L, Long, -1.0)),
                (0, entry(L, Long, INF)),
                (0, order(L2, Long, 0.0)),
                (0, close(UNKNOWN, N, N, true)),
                (0, exit(X, Some(UNKNOWN), N, N, N, N, 1.0, N)),
                (0, exit(Y, None, N, N, N, N, N, N)),
                (0, exit(Y, None, N, 0.0, N, N, 1.0, N)),
                (0, close(L, -1.0, N, false)),
                (0, OrderCommand::Cancel { id: UNKNOWN }),
                (1, entry(L, Long, N)),
            ],
            &[],
            &[(L, Long, 1.0, 2, 12.0, 0.0)],
        ),
        // TC40: a bar of NaN prices fills nothing and keeps equity: the entry waits and
        // fills at bar 2's open 12. Equity 1000 throughout (marked at 12 on bar 2).
        Case {
            equity: Some(vec![1000.0, 1000.0, 1000.0]),
            ..case(
                st(),
                1.0,
                &[B0, [N, N, N, N], [12.0, 13.0, 11.0, 12.0]],
                &[(0, entry(L, Long, N))],
                &[],
                &[(L, Long, 1.0, 2, 12.0, 0.0)],
            )
        },
        // TC41: exit without from_entry arms every entry, later ones too while alive:
        // L at 10 (bar 1, stop 9), L2 at 12 (bar 2, stop 11). Bar 3 O→H→L falls 12 → 8:
        // L2 stops at 11 (profit -1), then L at 9 (profit -1).
        case(
            pyr(2),
            1.0,
            &[
                B0,
                [10.0, 11.0, 9.5, 11.0],
                [12.0, 12.5, 11.5, 12.0],
                [12.0, 12.0, 8.0, 8.0],
            ],
            &[
                (0, entry(L, Long, N)),
                (1, entry(L2, Long, N)),
                (1, exit(X, None, N, N, N, N, 1.0, N)),
            ],
            &[
                (L2, X, Long, 1.0, 2, 12.0, 3, 11.0, -1.0, 0.0),
                (L, X, Long, 1.0, 1, 10.0, 3, 9.0, -1.0, 0.0),
            ],
            &[],
        ),
        // TC42: calling exit again with the same id moves its stop from 5 to 9: bar 2
        // falls to 8 and the stop fills at 9, profit -1.
        case(
            st(),
            1.0,
            &[B0, [10.0, 11.0, 9.5, 10.0], [10.0, 10.0, 8.0, 8.5]],
            &[
                (0, entry(L, Long, N)),
                (0, exit(X, Some(L), N, N, N, N, N, 5.0)),
                (1, exit(X, Some(L), N, N, N, N, N, 9.0)),
            ],
            &[(L, X, Long, 1.0, 1, 10.0, 2, 9.0, -1.0, 0.0)],
            &[],
        ),
        // TC43: calling entry again with a pending id replaces it: limit 9 becomes limit
        // 5 on bar 1 (bar 1's low 9.5 missed 9); bar 2 falls to 8.5: nothing fills.
        case(
            st(),
            1.0,
            &[B0, [10.0, 11.0, 9.5, 10.0], [10.0, 10.0, 8.5, 9.0]],
            &[
                (0, entry_at(L, Long, N, 9.0, N)),
                (1, entry_at(L, Long, N, 5.0, N)),
            ],
            &[],
            &[],
        ),
        // TC44: close by qty_percent 50 and then by qty 1 of an entry of 4, short:
        // 4 short at 10; bar 1 close 50% → 2 at 8 (profit 4); bar 2 close qty 1 → 1 at
        // 9 (profit 1); 1 stays open.
        case(
            st(),
            1.0,
            &[B0, B0, [8.0, 9.0, 7.0, 8.0], [9.0, 10.0, 8.0, 9.0]],
            &[
                (0, entry(S, Short, 4.0)),
                (1, close(S, N, 50.0, false)),
                (2, close(S, 1.0, N, false)),
            ],
            &[
                (S, S, Short, 2.0, 1, 10.0, 2, 8.0, 4.0, 0.0),
                (S, S, Short, 1.0, 1, 10.0, 3, 9.0, 1.0, 0.0),
            ],
            &[(S, Short, 1.0, 1, 10.0, 0.0)],
        ),
        // TC45: an exit dies with the entry it protected: X (stop 9) is armed on L;
        // close(L) fills at 12 on bar 2 (profit 2) and removes X; the new L filled at 12
        // on bar 3 is not protected, so bar 3's fall to 5 closes nothing.
        case(
            st(),
            1.0,
            &[
                B0,
                [10.0, 10.5, 9.5, 10.0],
                [12.0, 12.5, 11.5, 12.0],
                [12.0, 12.0, 5.0, 6.0],
            ],
            &[
                (0, entry(L, Long, N)),
                (0, exit(X, Some(L), N, N, N, N, N, 9.0)),
                (1, close(L, N, N, false)),
                (2, entry(L, Long, N)),
            ],
            &[(L, L, Long, 1.0, 1, 10.0, 2, 12.0, 2.0, 0.0)],
            &[(L, Long, 1.0, 3, 12.0, 0.0)],
        ),
        // TC46: an exit placed while flat waits for the next entry: X (no from_entry,
        // loss 1 tick) on bar 0; L fills at 10 on bar 2 and arms stop 9; bar 2 O→H→L
        // (0.5 < 2) falls to 8: fills 9, profit -1.
        case(
            st(),
            1.0,
            &[B0, B0, [10.0, 10.5, 8.0, 9.0]],
            &[
                (0, exit(X, None, N, N, N, N, 1.0, N)),
                (1, entry(L, Long, N)),
            ],
            &[(L, X, Long, 1.0, 2, 10.0, 2, 9.0, -1.0, 0.0)],
            &[],
        ),
        // TC47: path tie (|12 - 10| = |8 - 10|): high first, the take-profit 12 fills
        // before the stop 8: profit 2.
        case(
            st(),
            1.0,
            &[B0, [10.0, 12.0, 8.0, 10.0]],
            &[
                (0, entry(L, Long, N)),
                (0, exit(X, Some(L), N, N, N, 12.0, N, 8.0)),
            ],
            &[(L, X, Long, 1.0, 1, 10.0, 1, 12.0, 2.0, 0.0)],
            &[],
        ),
    ]
}

#[test]
fn broker_table() {
    for (n, c) in cases().iter().enumerate() {
        let b = run(&c.s, c.tick, &c.bars, &c.cmds);
        let got: Vec<Tr> = b
            .trades()
            .iter()
            .map(|t| {
                (
                    t.entry_id,
                    t.exit_id,
                    t.direction,
                    t.qty,
                    t.entry_bar,
                    t.entry_price,
                    t.exit_bar,
                    t.exit_price,
                    t.profit,
                    t.commission,
                )
            })
            .collect();
        assert_eq!(got.len(), c.trades.len(), "TC{n}: trades {got:?}");
        for (g, w) in got.iter().zip(&c.trades) {
            let same = (g.0, g.1, g.2, g.4, g.6) == (w.0, w.1, w.2, w.4, w.6)
                && near(g.3, w.3)
                && near(g.5, w.5)
                && near(g.7, w.7)
                && near(g.8, w.8)
                && near(g.9, w.9);
            assert!(same, "TC{n}: got {g:?}, want {w:?}");
        }
        let open = b.open_trades();
        assert_eq!(open.len(), c.open.len(), "TC{n}: open {open:?}");
        for (g, w) in open.iter().zip(&c.open) {
            let same = (g.entry_id, g.direction, g.entry_bar) == (w.0, w.1, w.3)
                && near(g.qty, w.2)
                && near(g.entry_price, w.4)
                && near(g.entry_commission, w.5);
            assert!(same, "TC{n}: got {g:?}, want {w:?}");
        }
        assert_eq!(b.equity_curve().len(), c.bars.len(), "TC{n}");
        if let Some(eq) = &c.equity {
            for (g, w) in b.equity_curve().iter().zip(eq) {
                assert!(near(*g, *w), "TC{n}: equity {:?}", b.equity_curve());
            }
        }
    }
}

#[test]
fn view_table() {
    // TC0: pyramiding 2, long 1 at 10 (bar 1) and 3 at 12 (bar 2): size 4, average
    // (10 + 36) / 4 = 11.5; marked at bar 2's close 13: (13-10)*1 + (13-12)*3 = 6;
    // equity 1006.
    let s = StrategySettings {
        pyramiding: 2,
        ..st()
    };
    let bars = [B0, [10.0, 11.0, 9.0, 10.0], [12.0, 13.5, 11.5, 13.0]];
    let cmds = [(0, entry(L, Long, 1.0)), (1, entry(L2, Long, 3.0))];
    let b = run(&s, 1.0, &bars, &cmds);
    let v = b.view(&bar(2, bars[2]));
    assert_eq!((v.opentrades, v.closedtrades), (2, 0));
    assert!(near(v.position_size, 4.0) && near(v.position_avg_price, 11.5));
    assert!(near(v.openprofit, 6.0) && near(v.equity, 1006.0));

    // TC1: short 2 at 10 with 1 per contract commission, closed half at 8, marked at
    // 9: realised (10-8)*1 - (1 + 1) = 0; open (10-9)*1 - 1 (entry commission left) =
    // 0; size -1, average 10.
    let s = StrategySettings {
        commission_type: CommissionType::CashPerContract,
        commission_value: 1.0,
        ..st()
    };
    let bars = [B0, B0, [8.0, 9.0, 7.0, 9.0]];
    let cmds = [(0, entry(S, Short, 2.0)), (1, close(S, 1.0, N, false))];
    let b = run(&s, 1.0, &bars, &cmds);
    let v = b.view(&bar(2, bars[2]));
    assert_eq!((v.opentrades, v.closedtrades), (1, 1));
    assert!(near(v.position_size, -1.0) && near(v.position_avg_price, 10.0));
    assert!(near(v.netprofit, 0.0) && near(v.openprofit, 0.0), "{v:?}");
    assert!(near(v.equity, 1000.0));

    // TC2: flat: average price NaN, equity = initial capital.
    let b = Broker::new(&st(), 1.0, 0);
    let v = b.view(&bar(0, B0));
    assert!(v.position_avg_price.is_nan() && v.position_size == 0.0 && v.equity == 1000.0);
}

fn arb_bars() -> impl Strategy<Value = Vec<[f64; 4]>> {
    prop::collection::vec(
        (1.0f64..100.0, 0.0f64..1.0, 0.0f64..1.0, 0.0f64..5.0),
        1..40,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(low, a, c, range)| [low + a * range, low + range, low, low + c * range])
            .collect()
    })
}

fn arb_price() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => Just(f64::NAN),
        4 => 1.0f64..110.0,
        1 => Just(f64::INFINITY),
        1 => Just(-5.0),
    ]
}

fn arb_qty() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => Just(f64::NAN),
        4 => 0.01f64..10.0,
        1 => Just(-1.0),
        1 => Just(0.0),
        1 => Just(f64::INFINITY),
    ]
}

fn arb_cmd() -> impl Strategy<Value = OrderCommand> {
    let id = (0u32..4).prop_map(StrId);
    let dir = prop_oneof![Just(Long), Just(Short)];
    prop_oneof![
        (id.clone(), dir.clone(), arb_qty(), arb_price(), arb_price()).prop_map(
            |(id, direction, qty, limit, stop)| OrderCommand::Entry {
                id,
                direction,
                qty,
                limit,
                stop
            }
        ),
        (id.clone(), dir, arb_qty(), arb_price(), arb_price()).prop_map(
            |(id, direction, qty, limit, stop)| OrderCommand::Order {
                id,
                direction,
                qty,
                limit,
                stop
            }
        ),
        (id.clone(), arb_qty(), arb_qty(), any::<bool>()).prop_map(
            |(id, qty, qty_percent, immediately)| OrderCommand::Close {
                id,
                qty,
                qty_percent,
                immediately
            }
        ),
        any::<bool>().prop_map(|immediately| OrderCommand::CloseAll { immediately }),
        (
            (
                id.clone(),
                prop::option::of(id.clone()),
                arb_qty(),
                arb_qty()
            ),
            (arb_qty(), arb_price(), arb_qty(), arb_price()),
            (arb_price(), arb_qty(), arb_qty()),
        )
            .prop_map(
                |(
                    (id, from_entry, qty, qty_percent),
                    (profit, limit, loss, stop),
                    (tp, tpts, toff),
                )| {
                    OrderCommand::Exit {
                        id,
                        from_entry,
                        qty,
                        qty_percent,
                        profit,
                        limit,
                        loss,
                        stop,
                        trail_price: tp,
                        trail_points: tpts,
                        trail_offset: toff,
                    }
                }
            ),
        id.prop_map(|id| OrderCommand::Cancel { id }),
        Just(OrderCommand::CancelAll),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn random_streams_keep_invariants(
        bars in arb_bars(),
        cmds in prop::collection::vec((0usize..40, arb_cmd()), 0..60),
        pyramiding in 0u32..4,
        poc in any::<bool>(),
        slippage_ticks in 0u32..3,
        kind in 0u8..3,
        qty_kind in 0u8..3,
    ) {
        let s = StrategySettings {
            initial_capital: 10_000.0,
            pyramiding,
            process_orders_on_close: poc,
            slippage_ticks,
            commission_type: [CommissionType::Percent, CommissionType::CashPerContract, CommissionType::CashPerOrder][kind as usize],
            commission_value: 0.1,
            default_qty_type: [QtyType::Fixed, QtyType::PercentOfEquity, QtyType::Cash][qty_kind as usize],
            default_qty_value: 10.0,
            ..StrategySettings::default()
        };
        let mut b = Broker::new(&s, 0.01, bars.len());
        let mut buf = Vec::new();
        for (i, ohlc) in bars.iter().enumerate() {
            let bar = bar(i, *ohlc);
            b.on_bar_open(i, &bar);
            let v = b.view(&bar);
            prop_assert!(v.equity.is_finite(), "bar {i}: {v:?}");
            buf.clear();
            buf.extend(cmds.iter().filter(|c| c.0 == i).map(|c| c.1));
            b.on_bar_close(i, &bar, &buf);
            let v = b.view(&bar);
            let open = b.open_trades();
            let sum: f64 = open.iter().map(|t| position::sign(t.direction) * t.qty).sum();
            prop_assert!((v.position_size - sum).abs() <= 1e-9 * (1.0 + sum.abs()));
            prop_assert_eq!(v.opentrades as usize, open.len());
            prop_assert!(open.iter().all(|t| t.qty > 0.0 && t.qty.is_finite()));
            prop_assert!(open.windows(2).all(|w| w[0].direction == w[1].direction));
            prop_assert!(b.equity_curve().iter().all(|e| e.is_finite()));
        }
        prop_assert_eq!(b.equity_curve().len(), bars.len());
        prop_assert!(b.trades().iter().all(|t| t.profit.is_finite() && t.qty > 0.0 && t.exit_bar >= t.entry_bar));
    }
}
