//! Property tests of the risk manager: random sequences of buys, sells, marks, fills,
//! order results, clock ticks and resumes never let an allowed buy push exposure or
//! stop risk past a limit, and never let a buy through between a daily halt and the next
//! UTC day or operator resume.

use proptest::prelude::*;

use super::limits::{loss_reached, share_bp};
use super::*;

#[derive(Debug, Clone)]
enum Op {
    Buy {
        sym: u16,
        qty: u64,
        limit: u64,
        stop_off: u64,
        market_px: u64,
        atr: u64,
        quote_free: Quote,
    },
    Sell {
        sym: u16,
        qty: u64,
    },
    Mark {
        sym: u16,
        px: u64,
    },
    Fill {
        sym: u16,
        buy: bool,
        pct: u64,
        px: u64,
    },
    Result {
        sym: u16,
        buy: bool,
        pct: u64,
        outcome: u8,
    },
    Clock {
        advance_ms: i64,
    },
    Resume,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u16..3, 1u64..5_000, 0u64..200, 0u64..40, 0u64..200, 0u64..20, prop_oneof![Just(Quote::MAX), 0..2_000_000i128])
            .prop_map(|(sym, qty, limit, stop_off, market_px, atr, quote_free)| Op::Buy { sym, qty, limit, stop_off, market_px, atr, quote_free }),
        2 => (0u16..3, 1u64..5_000).prop_map(|(sym, qty)| Op::Sell { sym, qty }),
        4 => (0u16..3, 1u64..250).prop_map(|(sym, px)| Op::Mark { sym, px }),
        4 => (0u16..3, any::<bool>(), 1u64..=100, 1u64..250).prop_map(|(sym, buy, pct, px)| Op::Fill { sym, buy, pct, px }),
        3 => (0u16..3, any::<bool>(), 1u64..=100, 0u8..3).prop_map(|(sym, buy, pct, outcome)| Op::Result { sym, buy, pct, outcome }),
        1 => (0i64..DAY_MS).prop_map(|advance_ms| Op::Clock { advance_ms }),
        1 => Just(Op::Resume),
    ]
}

fn check_invariants(m: &RiskManager) -> Result<(), TestCaseError> {
    let s = m.state();
    let t = s.totals();
    prop_assert_eq!(
        (t.equity, t.exposure, t.free_cash),
        (m.equity(), s.total_exposure(), s.free_cash())
    );
    for r in &s.symbols {
        prop_assert!(
            r.open_sell_lots <= r.position_lots,
            "selling more than held: {r:?}"
        );
        prop_assert!(r.open_buy_quote >= 0);
    }
    // The halt flag is exactly "the day's loss reached the limit at some point".
    if !m.is_halted() {
        prop_assert!(!loss_reached(
            s.day_start_equity,
            m.equity(),
            m.config().daily_loss_halt_bp
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn limits_and_halt_hold_under_random_sequences(ops in proptest::collection::vec(op(), 1..200)) {
        let specs = [
            SymbolSpec { lot_tick_value: 1 },
            SymbolSpec { lot_tick_value: 2 },
            SymbolSpec { lot_tick_value: 3 },
        ];
        let cfg = RiskConfig { failure_min_samples: 10, failure_window: 20, ..RiskConfig::default() };
        let mut m = RiskManager::new(cfg, &specs, 1_000_000, 0)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut now = 0i64;
        let mut ev = RiskEvents::new();
        // The halt as seen through the events alone.
        let mut halted_by_events = false;
        for op in ops {
            ev.clear();
            match op {
                Op::Buy { sym, qty, limit, stop_off, market_px, atr, quote_free } => {
                    let px = if limit != 0 { limit } else { market_px };
                    let stop = if stop_off == 0 { 0 } else { px.saturating_sub(stop_off) };
                    let intent = Intent { symbol: SymbolId(sym), side: Side::Buy, qty_lots: qty, limit_ticks: limit, stop_ticks: stop };
                    let market = MarketView { price_ticks: market_px, atr_ticks: atr, quote_free, base_free_lots: u64::MAX };
                    let equity = m.equity();
                    let d = m.check(&intent, &market);
                    if halted_by_events {
                        prop_assert_eq!(d, Decision::Reject { reason: Reason::Halted });
                    }
                    if let Decision::Allow { qty_lots, .. } = d {
                        prop_assert!(qty_lots <= qty && qty_lots > 0);
                        prop_assert!(!halted_by_events && !m.is_paused());
                        prop_assert_eq!(m.equity(), equity, "a check moves no money");
                        let s = m.state();
                        prop_assert!(s.total_exposure() <= share_bp(equity, cfg.max_total_exposure_bp),
                            "total {} > 70% of {}", s.total_exposure(), equity);
                        prop_assert!(s.symbol_exposure(sym as usize) <= share_bp(equity, cfg.max_symbol_exposure_bp),
                            "symbol {} > 30% of {}", s.symbol_exposure(sym as usize), equity);
                        let dist = if stop != 0 { px - stop } else { (atr * 2).max(1) };
                        let risk = qty_lots as Quote * dist as Quote * specs[sym as usize].lot_tick_value;
                        prop_assert!(risk <= share_bp(equity, cfg.max_trade_risk_bp), "stop risk {risk} > 1% of {equity}");
                        prop_assert!(s.free_cash() >= 0 && s.free_cash() <= s.cash);
                        prop_assert!(qty_lots as Quote * px as Quote * specs[sym as usize].lot_tick_value <= quote_free);
                    }
                }
                Op::Sell { sym, qty } => {
                    let held = m.state().symbols[sym as usize].position_lots;
                    let d = m.check(&Intent { symbol: SymbolId(sym), side: Side::Sell, qty_lots: qty, limit_ticks: 0, stop_ticks: 0 },
                        &MarketView { price_ticks: 0, atr_ticks: 0, quote_free: 0, base_free_lots: u64::MAX });
                    if held == 0 {
                        prop_assert_eq!(d, Decision::Reject { reason: Reason::NoShortOnSpot });
                    }
                }
                Op::Mark { sym, px } => {
                    let mut marks = [0u64; 3];
                    marks[sym as usize] = px;
                    m.on_mark(&marks, &mut ev);
                }
                Op::Fill { sym, buy, pct, px } => {
                    let r = m.state().symbols[sym as usize];
                    let open = if buy { r.open_buy_lots } else { r.open_sell_lots };
                    let lots = (open * pct).div_ceil(100);
                    if lots > 0 {
                        let side = if buy { Side::Buy } else { Side::Sell };
                        let f = Fill { symbol: SymbolId(sym), side, qty_lots: lots, price_ticks: px, fee: (lots as Quote) / 10 };
                        prop_assert_eq!(m.on_fill(&f, &mut ev), Ok(()));
                    }
                }
                Op::Result { sym, buy, pct, outcome } => {
                    let r = m.state().symbols[sym as usize];
                    let open = if buy { r.open_buy_lots } else { r.open_sell_lots };
                    let outcome = [OrderOutcome::Accepted, OrderOutcome::Failed, OrderOutcome::Closed][outcome as usize];
                    let res = OrderResult { symbol: SymbolId(sym), side: if buy { Side::Buy } else { Side::Sell }, unfilled_lots: open * pct / 100, outcome };
                    prop_assert_eq!(m.on_order_result(&res, &mut ev), Ok(()));
                }
                Op::Clock { advance_ms } => {
                    now += advance_ms;
                    m.on_day_roll(now, &mut ev);
                }
                Op::Resume => {
                    m.resume(&mut ev);
                }
            }
            for e in ev.as_slice() {
                match e.kind {
                    EventKind::Halt => {
                        prop_assert!(!halted_by_events, "halted twice without a resume");
                        halted_by_events = true;
                    }
                    EventKind::Resume => halted_by_events = false,
                    EventKind::Pause | EventKind::Warn => {}
                }
            }
            prop_assert_eq!(ev.dropped(), 0);
            prop_assert_eq!(halted_by_events, m.is_halted());
            check_invariants(&m)?;
        }
    }
}
