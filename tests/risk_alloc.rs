//! The risk manager allocates nothing after construction: a counting global allocator
//! watches 200,000 random calls of every kind (checks of buys and sells, fills, order
//! results, marks, day rolls, resumes, flattens) with the halt, the pause and the warnings
//! all triggered along the way.

use pinewire::risk::{
    EventKind, Fill, Intent, MarketView, OrderOutcome, OrderResult, Quote, RiskConfig, RiskEvents,
    RiskManager, Side, SymbolId, SymbolSpec, DAY_MS,
};

#[path = "support/alloc_counter.rs"]
mod alloc_counter;

/// xorshift64*: deterministic, allocation-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn risk_manager_allocates_nothing_after_construction() {
    let specs = [SymbolSpec { lot_tick_value: 10 }; 8];
    let mut m =
        RiskManager::new(RiskConfig::default(), &specs, 100_000_000_000, 0).expect("valid config");
    let mut ev = RiskEvents::new();
    let mut flat = [Intent {
        symbol: SymbolId(0),
        side: Side::Sell,
        qty_lots: 0,
        limit_ticks: 0,
        stop_ticks: 0,
    }; 8];
    let mut marks = [0u64; 8];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut now = 0i64;
    let (mut halts, mut pauses, mut warns, mut allows) = (0u32, 0u32, 0u32, 0u32);
    let ((), allocs) = alloc_counter::count(|| {
        for _ in 0..200_000 {
            ev.clear();
            let sym = SymbolId(rng.below(8) as u16);
            let i = sym.0 as usize;
            let px = 900 + rng.below(200);
            match rng.below(9) {
                0 | 1 => {
                    let intent = Intent {
                        symbol: sym,
                        side: Side::Buy,
                        qty_lots: 1 + rng.below(100_000),
                        limit_ticks: px,
                        stop_ticks: px - 1 - rng.below(50),
                    };
                    let market = MarketView {
                        price_ticks: px,
                        atr_ticks: rng.below(20),
                        quote_free: Quote::MAX,
                        base_free_lots: u64::MAX,
                    };
                    allows += u32::from(m.check(&intent, &market).qty_lots() > 0);
                }
                2 => {
                    let intent = Intent {
                        symbol: sym,
                        side: Side::Sell,
                        qty_lots: 1 + rng.below(100_000),
                        limit_ticks: 0,
                        stop_ticks: 0,
                    };
                    let market = MarketView {
                        price_ticks: px,
                        atr_ticks: 0,
                        quote_free: 0,
                        base_free_lots: u64::MAX,
                    };
                    allows += u32::from(m.check(&intent, &market).qty_lots() > 0);
                }
                3 | 4 => {
                    let s = m.state().symbols[i];
                    let buy = rng.below(2) == 0;
                    let open = if buy {
                        s.open_buy_lots
                    } else {
                        s.open_sell_lots
                    };
                    if open > 0 {
                        let f = Fill {
                            symbol: sym,
                            side: if buy { Side::Buy } else { Side::Sell },
                            qty_lots: 1 + rng.below(open),
                            price_ticks: px,
                            fee: 5,
                        };
                        m.on_fill(&f, &mut ev).expect("known symbol");
                    }
                }
                5 => {
                    let s = m.state().symbols[i];
                    let outcome = match rng.below(10) {
                        0 => OrderOutcome::Failed,
                        1..=3 => OrderOutcome::Closed,
                        _ => OrderOutcome::Accepted,
                    };
                    let r = OrderResult {
                        symbol: sym,
                        side: Side::Buy,
                        unfilled_lots: s.open_buy_lots,
                        outcome,
                    };
                    m.on_order_result(&r, &mut ev).expect("known symbol");
                }
                6 => {
                    marks[i] = px;
                    m.on_mark(&marks, &mut ev);
                }
                7 => {
                    now += rng.below(DAY_MS as u64 / 50) as i64;
                    m.on_day_roll(now, &mut ev);
                }
                _ => {
                    if m.is_halted() {
                        let _ = m.flatten_into(&mut flat);
                    }
                    if rng.below(20) == 0 {
                        m.resume(&mut ev);
                    }
                }
            }
            for e in ev.as_slice() {
                match e.kind {
                    EventKind::Halt => halts += 1,
                    EventKind::Pause => pauses += 1,
                    EventKind::Warn => warns += 1,
                    EventKind::Resume => {}
                }
            }
        }
    });
    assert_eq!(allocs, 0, "the risk manager allocated after construction");
    // The run must have exercised the live rules, or the zero above proves little.
    assert!(allows > 1_000, "allows {allows}");
    assert!(
        halts > 0 && pauses > 0 && warns > 0,
        "halts {halts} pauses {pauses} warns {warns}"
    );
}
