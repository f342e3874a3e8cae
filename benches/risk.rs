//! The risk manager's pre-trade check, the call on every intent of the order thread
//! (`cargo bench --bench risk`): a buy through every rule (cut by the stop risk) on an
//! account of 8 symbols, a sell, a buy followed by the release of its order, and a
//! rejected buy while halted. Every iteration starts from the same state.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use pinewire::risk::{
    Fill, Intent, MarketView, OrderOutcome, OrderResult, RiskConfig, RiskEvents, RiskManager, Side,
    SymbolId, SymbolSpec,
};

fn manager() -> RiskManager {
    let specs = [SymbolSpec { lot_tick_value: 10 }; 8];
    let mut m = RiskManager::new(RiskConfig::default(), &specs, 1_000_000_000_000_000, 0)
        .expect("valid config");
    let mut ev = RiskEvents::new();
    // 0.6% of equity in each symbol, so that the exposure sums have work to do and a
    // crash of every mark loses 4.8% (the halted case).
    for s in 0..8u16 {
        let f = Fill {
            symbol: SymbolId(s),
            side: Side::Buy,
            qty_lots: 100_000,
            price_ticks: 6_000_000,
            fee: 0,
        };
        m.on_fill(&f, &mut ev).expect("known symbol");
    }
    m
}

fn bench_check(c: &mut Criterion) {
    let market = MarketView {
        price_ticks: 6_000_000,
        atr_ticks: 5_000,
        quote_free: i128::MAX,
        base_free_lots: u64::MAX,
    };
    let buy = Intent {
        symbol: SymbolId(3),
        side: Side::Buy,
        qty_lots: 1_000_000,
        limit_ticks: 6_000_000,
        stop_ticks: 5_990_000,
    };
    let sell = Intent {
        side: Side::Sell,
        qty_lots: 500,
        limit_ticks: 0,
        stop_ticks: 0,
        ..buy
    };
    // The state is cloned outside the timed part, so that each timed call is one check
    // alone from the same starting state.
    let m = manager();
    let d = m.clone().check(&buy, &market);
    assert!(
        d.qty_lots() > 0,
        "the benched buy goes through every rule: {d}"
    );
    assert!(m.clone().check(&sell, &market).qty_lots() > 0);
    c.bench_function("risk_check_buy_8_symbols", |b| {
        b.iter_batched_ref(
            || m.clone(),
            |m| m.check(black_box(&buy), black_box(&market)),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("risk_check_sell", |b| {
        b.iter_batched_ref(
            || m.clone(),
            |m| m.check(black_box(&sell), black_box(&market)),
            BatchSize::SmallInput,
        )
    });
    // Check plus the release of the allowed quantity: the state stays the same without
    // a clone, so this one is timed with plain `iter`.
    let mut ev = RiskEvents::new();
    let mut m2 = manager();
    c.bench_function("risk_check_buy_and_release", |b| {
        b.iter(|| {
            let d = m2.check(black_box(&buy), black_box(&market));
            let r = OrderResult {
                symbol: buy.symbol,
                side: Side::Buy,
                unfilled_lots: d.qty_lots(),
                outcome: OrderOutcome::Closed,
            };
            let _ = m2.on_order_result(&r, &mut ev);
            d
        })
    });

    let mut m = manager();
    let mut ev = RiskEvents::new();
    m.on_mark(&[1; 8], &mut ev);
    assert!(m.is_halted(), "a crash of every mark halts");
    c.bench_function("risk_check_buy_halted", |b| {
        b.iter(|| m.check(black_box(&buy), black_box(&market)))
    });
}

criterion_group!(benches, bench_check);
criterion_main!(benches);
