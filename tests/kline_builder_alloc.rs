//! The kline builder allocates nothing: a counting global allocator watches one million
//! trades (with replays, skipped ids, quiet stretches that become empty bars, and trades
//! made late by a clock running 200 ms ahead), the clock ticking between them and kline
//! events, all after `new`.

use pinewire::feed::binance::Kline;
use pinewire::feed::fixed::Increment;
use pinewire::feed::kline_builder::{Bar, BarInterval, KlineBuilder};

#[path = "support/alloc_counter.rs"]
mod alloc_counter;

const TRADES: u64 = 1_000_000;

/// What came out of the builders, counted without allocating.
#[derive(Default)]
struct Tally {
    bars: u64,
    empty: u64,
    trades_in_bars: u64,
}

impl Tally {
    fn take(&mut self, bar: &Bar) {
        self.bars += 1;
        self.empty += u64::from(bar.is_empty());
        self.trades_in_bars += bar.trade_count;
    }
}

/// A small deterministic generator (xorshift), so that the run is the same every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn building_bars_allocates_nothing() {
    let tick = Increment::parse("0.01").expect("tick");
    let step = Increment::parse("0.00001").expect("step");
    let interval = BarInterval::parse("1s").expect("interval");
    let mut trades = KlineBuilder::new(interval);
    let mut stream = KlineBuilder::with_increments(interval, tick, step);
    let mut tally = Tally::default();
    let mut from_stream = 0u64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut time_ms, mut id) = (1_723_161_255_342u64, 3_735_683_259u64);
    let mut price = 6_183_763i64;
    let allocs_before = alloc_counter::thread_allocs();
    for i in 0..TRADES {
        let r = rng.next();
        time_ms += match r % 1000 {
            0 => 30_000, // a quiet half minute: 29 or 30 empty bars
            1..=9 => 1_500,
            _ => r % 40,
        };
        id += if r % 5000 == 7 { 3 } else { 1 };
        price += (r >> 20) as i64 % 5 - 2;
        let qty = 1 + (r >> 40) as i64 % 5_000;
        let maker = r & 1 == 0;
        let mut out = |bar: &Bar| tally.take(bar);
        trades.on_trade(id, time_ms, price, qty, maker, &mut out);
        if r % 97 == 0 {
            // Replays of trades already taken (a reconnect overlap).
            if let Some(last) = trades.last_trade_id() {
                trades.on_trade(last, time_ms, price, qty, maker, &mut out);
                trades.on_trade(last - 1, time_ms, price, qty, maker, &mut out);
            }
        }
        if i % 100 == 0 {
            trades.on_time(time_ms + 200, &mut out);
        }
        if i % 50 == 0 {
            if let Some(open) = trades.current() {
                let k = Kline {
                    event_time_ms: time_ms,
                    symbol: "BTCUSDT",
                    open_time_ms: open.open_time_ms,
                    close_time_ms: open.close_time_ms,
                    interval: "1s",
                    first_trade_id: open.first_trade_id,
                    last_trade_id: open.last_trade_id,
                    open_ticks: open.open_ticks,
                    high_ticks: open.high_ticks,
                    low_ticks: open.low_ticks,
                    close_ticks: open.close_ticks,
                    volume_lots: open.volume_lots,
                    trade_count: open.trade_count,
                    closed: i % 100 == 0,
                    quote_volume: "61837.6300000",
                    taker_buy_volume_lots: open.taker_buy_volume_lots,
                    taker_buy_quote_volume: "0.00000000",
                };
                let taken = stream.on_kline(&k, &mut |_: &Bar| from_stream += 1);
                assert!(taken.is_ok());
            }
        }
    }
    let allocs_during = alloc_counter::thread_allocs() - allocs_before;
    let allocs = allocs_during;

    let stats = trades.stats();
    let open_trades = trades.current().map_or(0, |b| b.trade_count);
    assert_eq!(
        tally.trades_in_bars + open_trades + stats.late_trades,
        TRADES,
        "every new trade is in a bar, or late"
    );
    assert!(tally.bars > 50_000, "{} bars", tally.bars);
    assert!(tally.empty > 10_000, "{} empty bars", tally.empty);
    assert!(stats.duplicate_trades > 10_000 && stats.late_trades > 1_000);
    assert!(stats.missing_trade_ids > 100);
    assert!(from_stream > 1_000);
    assert_eq!(allocs, 0, "allocations while building bars");
}
