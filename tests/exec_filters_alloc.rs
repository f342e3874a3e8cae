//! Rounding and `SymbolFilters::check` allocate nothing: a counting global allocator
//! watches 200,000 random orders (every order kind, passing and failing every filter) and
//! as many price and quantity roundings, text and fixed point, on BTCUSDT's filters.

use pinewire::exec::filters::{
    CheckContext, OrderKind, OrderRequest, RoundError, Rounding, Side, SymbolFilters,
};

#[path = "support/alloc_counter.rs"]
mod alloc_counter;

/// BTCUSDT's exchangeInfo filters (see `src/exec/filters/tests.rs`).
const BTCUSDT: &str = r#"{"symbol":"BTCUSDT","filters":[
 {"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},
 {"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},
 {"filterType":"ICEBERG_PARTS","limit":10},
 {"filterType":"MARKET_LOT_SIZE","minQty":"0.00000000","maxQty":"115.46151302","stepSize":"0.00000000"},
 {"filterType":"TRAILING_DELTA","minTrailingAboveDelta":10,"maxTrailingAboveDelta":2000,"minTrailingBelowDelta":10,"maxTrailingBelowDelta":2000},
 {"filterType":"PERCENT_PRICE_BY_SIDE","bidMultiplierUp":"5","bidMultiplierDown":"0.2","askMultiplierUp":"5","askMultiplierDown":"0.2","avgPriceMins":5},
 {"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true,"maxNotional":"9000000.00000000","applyMaxToMarket":false,"avgPriceMins":5},
 {"filterType":"MAX_NUM_ORDERS","maxNumOrders":200},
 {"filterType":"MAX_NUM_ALGO_ORDERS","maxNumAlgoOrders":5}]}"#;

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

/// Writes `int.frac` (frac zero-padded to 10 digits) into `buf` without allocating and
/// returns the used prefix.
fn decimal(buf: &mut [u8; 40], int: u64, frac: u64) -> &[u8] {
    let mut len = 0;
    let mut digits = [0u8; 20];
    let mut n = int;
    let mut k = 0;
    loop {
        digits[k] = b'0' + (n % 10) as u8;
        k += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    while k > 0 {
        k -= 1;
        buf[len] = digits[k];
        len += 1;
    }
    buf[len] = b'.';
    len += 1;
    let mut f = frac % 10_000_000_000;
    for i in (0..10).rev() {
        buf[len + i] = b'0' + (f % 10) as u8;
        f /= 10;
    }
    len += 10;
    &buf[..len]
}

#[test]
fn check_and_rounding_allocate_nothing() {
    let filters = SymbolFilters::from_json(BTCUSDT).expect("BTCUSDT parses");
    let kinds = [
        OrderKind::Limit,
        OrderKind::LimitMaker,
        OrderKind::Market,
        OrderKind::StopLoss,
        OrderKind::StopLossLimit,
        OrderKind::TakeProfit,
        OrderKind::TakeProfitLimit,
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut buf = [0u8; 40];

    let before = alloc_counter::thread_allocs();
    let (mut passed, mut failed, mut rounded) = (0u32, 0u32, 0u32);
    let mut ok = |r: Result<i64, RoundError>| rounded += u32::from(r.is_ok_and(|v| v > 0));
    for _ in 0..200_000 {
        let order = OrderRequest {
            side: if rng.below(2) == 0 {
                Side::Buy
            } else {
                Side::Sell
            },
            kind: kinds[rng.below(7) as usize],
            price_ticks: rng.below(40_000_000) as i64 - 1_000,
            stop_price_ticks: if rng.below(2) == 0 {
                0
            } else {
                rng.below(200_000_000) as i64
            },
            qty_lots: rng.below(2_000_000) as i64 - 10,
            iceberg_qty_lots: if rng.below(8) == 0 {
                rng.below(100_000) as i64
            } else {
                0
            },
            trailing_delta_bips: if rng.below(4) == 0 {
                rng.below(3_000) as u32
            } else {
                0
            },
        };
        let ctx = CheckContext {
            ref_price_ticks: rng.below(10_000_000) as i64,
            open_orders: rng.below(210) as u32,
            open_algo_orders: rng.below(7) as u32,
            open_iceberg_orders: 0,
        };
        match filters.check(&order, &ctx) {
            Ok(()) => passed += 1,
            Err(e) => {
                // Reading the message is a `&'static str`: no allocation either.
                failed += 1;
                assert!(e.filter().message().starts_with("Filter failure: "));
            }
        }
        let text = decimal(&mut buf, rng.below(100_000), rng.next());
        let mode = [Rounding::Down, Rounding::Up, Rounding::Nearest][rng.below(3) as usize];
        ok(filters.round_price(text, mode));
        ok(filters.floor_qty(text));
        ok(filters.round_price_scaled(rng.below(1 << 40) as i64, rng.below(12) as u8, mode));
        ok(filters.floor_qty_scaled(rng.below(1 << 40) as i64, rng.below(12) as u8));
        ok(Ok(filters.floor_market_qty(rng.below(1 << 30) as i64)));
    }
    let allocs = alloc_counter::thread_allocs() - before;
    assert_eq!(allocs, 0, "check/rounding allocated {allocs} times");
    // The workload exercised both outcomes and real roundings.
    assert!(
        passed > 1_000 && failed > 1_000,
        "passed {passed}, failed {failed}"
    );
    assert!(
        rounded > 500_000,
        "only {rounded} roundings gave a positive count"
    );
}
