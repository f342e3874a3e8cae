//! Tests of the synthetic market: trades re-aggregate into the file's bars, the depth
//! stream rebuilds the market's book, tickers and trades sit at the top of that book,
//! same seed gives the same bytes.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::sim::market::json::parse_e8;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/binance");

fn series(file: &str) -> KlineSeries {
    crate::history::load(Path::new(&format!("{DATA}/{file}")), None, None).expect("loads")
}

fn market(file: &str, opts: SynthOptions) -> SynthMarket {
    SynthMarket::from_series(vec![series(file)], opts).expect("builds")
}

fn all(_: &StreamKey) -> bool {
    true
}

fn json(msg: &SimMessage) -> serde_json::Value {
    serde_json::from_str(&msg.payload).expect("valid JSON")
}

fn num(v: &serde_json::Value) -> i64 {
    parse_e8(v.as_str().expect("decimal string")).expect("decimal")
}

/// One aggregated bar: (open, high, low, close, lots, trades).
fn aggregate(trades: &[Planned]) -> Option<(i64, i64, i64, i64, i64)> {
    let first = trades.first()?;
    let last = trades.last()?;
    Some((
        first.price,
        trades.iter().map(|t| t.price).max()?,
        trades.iter().map(|t| t.price).min()?,
        last.price,
        trades.iter().map(|t| t.qty).sum(),
    ))
}

#[test]
fn trades_reaggregate_into_the_first_2000_file_bars() {
    let s = series("BTC_USDT-1m.json.gz");
    let tick = Increment::parse("0.01").expect("tick");
    let lot = Increment::parse("0.00001").expect("lot");
    let opts = SynthOptions {
        max_bars: Some(2000),
        ..SynthOptions::default()
    };
    let bars = quantize("BTCUSDT", &s, tick, lot, &opts).expect("quantizes");
    assert_eq!(bars.len(), 2000);
    let mut rng = Prng::new(7);
    let mut plan = Vec::new();
    let mut prev = bars[0].open;
    let mut degenerate = 0;
    let mut total_trades = 0usize;
    for (i, bar) in bars.iter().enumerate() {
        plan_bar(bar, prev, 120, &mut rng, &mut plan);
        total_trades += plan.len();
        // TC(i): the bar's trades are its quantized OHLCV, on the grid, inside the bar
        if bar.lots < 4 {
            degenerate += 1;
            continue;
        }
        let got = aggregate(&plan).unwrap_or_else(|| panic!("TC{i}: no trades"));
        assert_eq!(
            got,
            (bar.open, bar.high, bar.low, bar.close, bar.lots),
            "TC{i}: bar at {}",
            bar.open_ms
        );
        for w in plan.windows(2) {
            assert!(w[0].time_ms <= w[1].time_ms, "TC{i}: time order");
        }
        for t in &plan {
            assert!(t.qty >= 1, "TC{i}: whole lots");
            assert!(
                (bar.open_ms..bar.end_ms).contains(&t.time_ms),
                "TC{i}: time inside the bar"
            );
        }
        prev = bar.close;
        // The file's own numbers, quantized by hand: the rounding is to the nearest tick.
        let f = &s.bars[i];
        assert_eq!(bar.open, (f.open * 100.0).round() as i64, "TC{i}: open");
        assert_eq!(bar.lots, (f.volume * 1e5).round() as i64, "TC{i}: volume");
    }
    assert_eq!(degenerate, 0, "BTCUSDT 1m bars all have at least 4 lots");
    assert!(total_trades > 2000 * 120, "{total_trades} trades");
}

#[test]
fn small_volume_bars() {
    let bar = |lots| QBar {
        open_ms: 0,
        end_ms: 60_000,
        open: 100,
        high: 110,
        low: 95,
        close: 105,
        lots,
    };
    let cases: &[(i64, &[i64])] = &[
        // TC0: no volume, no trade
        (0, &[]),
        // TC1: one lot: the open
        (1, &[100]),
        // TC2: two lots: open and close
        (2, &[100, 105]),
        // TC3: three lots: open, farther extreme, close
        (3, &[100, 110, 105]),
    ];
    let mut rng = Prng::new(1);
    let mut plan = Vec::new();
    for (i, (lots, prices)) in cases.iter().enumerate() {
        plan_bar(&bar(*lots), 100, 120, &mut rng, &mut plan);
        let mut got: Vec<i64> = plan.iter().map(|t| t.price).collect();
        got.dedup();
        assert_eq!(got, *prices, "TC{i}");
        assert_eq!(plan.iter().map(|t| t.qty).sum::<i64>(), *lots, "TC{i}");
    }
}

/// A bookTicker read back: (u, (bid, qty), (ask, qty)).
type Ticker = (u64, (i64, i64), (i64, i64));

/// Runs `steps` steps with every stream wanted and checks the depth and ticker
/// invariants; returns the messages.
fn run_and_check(m: &mut SynthMarket, steps: usize) -> Vec<SimMessage> {
    let scale = m.scale(0).expect("scale");
    // A fresh copy of the snapshot, maintained from the diffs alone.
    let snap: serde_json::Value =
        serde_json::from_str(&m.depth_snapshot(0, 5000)).expect("snapshot");
    let mut bids: BTreeMap<i64, i64> = BTreeMap::new();
    let mut asks: BTreeMap<i64, i64> = BTreeMap::new();
    for (side, map) in [("bids", &mut bids), ("asks", &mut asks)] {
        for l in snap[side].as_array().expect("levels") {
            map.insert(num(&l[0]), num(&l[1]));
        }
    }
    let mut last_u = snap["lastUpdateId"].as_u64().expect("id");
    let mut top = (
        bids.iter().next_back().map(|(&p, &q)| (p, q)),
        asks.iter().next().map(|(&p, &q)| (p, q)),
    );
    let mut all_msgs = Vec::new();
    let mut out = Vec::new();
    let mut trades_checked = 0;
    for step in 0..steps {
        assert!(m.step(&all, &mut out), "step {step}");
        let mut ticker_ids: Vec<u64> = Vec::new();
        let mut last_ticker: Option<Ticker> = None;
        for msg in &out {
            match msg.stream.kind {
                StreamKind::BookTicker => {
                    let v = json(msg);
                    let u = v["u"].as_u64().expect("u");
                    let bid = (num(&v["b"]), num(&v["B"]));
                    let ask = (num(&v["a"]), num(&v["A"]));
                    // TC: the top of a ticker is never crossed
                    assert!(bid.0 < ask.0, "step {step}: crossed ticker");
                    top = (Some(bid), Some(ask));
                    ticker_ids.push(u);
                    last_ticker = Some((u, bid, ask));
                }
                StreamKind::Trade => {
                    let v = json(msg);
                    let p = num(&v["p"]);
                    let maker_buyer = v["m"].as_bool().expect("m");
                    // TC: a taker buy lifts the best ask, a taker sell hits the best bid
                    let (bid, ask) = (top.0.expect("bid"), top.1.expect("ask"));
                    if maker_buyer {
                        assert_eq!(p, bid.0, "step {step}: sell at the best bid");
                    } else {
                        assert_eq!(p, ask.0, "step {step}: buy at the best ask");
                    }
                    assert!(bid.0 < ask.0, "step {step}");
                    trades_checked += 1;
                }
                StreamKind::Depth { fast: true } => {
                    let v = json(msg);
                    let (big_u, u) = (v["U"].as_u64().expect("U"), v["u"].as_u64().expect("u"));
                    // TC: every step's diff follows the previous one
                    assert_eq!(big_u, last_u + 1, "step {step}: U = previous u + 1");
                    assert!(u >= big_u, "step {step}");
                    for (side, map) in [("b", &mut bids), ("a", &mut asks)] {
                        for l in v[side].as_array().expect("levels") {
                            let (p, q) = (num(&l[0]), num(&l[1]));
                            if q == 0 {
                                map.remove(&p);
                            } else {
                                map.insert(p, q);
                            }
                        }
                    }
                    // TC: ticker ids are ids of this diff, increasing
                    for w in ticker_ids.windows(2) {
                        assert!(w[0] < w[1], "step {step}: ticker ids increase");
                    }
                    for &t in &ticker_ids {
                        assert!((big_u..=u).contains(&t), "step {step}: ticker id {t}");
                    }
                    // TC: a ticker at the diff's last id equals the rebuilt book's top
                    if let Some((tu, bid, ask)) = last_ticker {
                        if tu == u {
                            assert_eq!(bids.iter().next_back().map(|(&p, &q)| (p, q)), Some(bid));
                            assert_eq!(asks.iter().next().map(|(&p, &q)| (p, q)), Some(ask));
                        }
                    }
                    last_u = u;
                }
                _ => {}
            }
        }
        // TC: the rebuilt book is the market's book, never crossed, with its id
        let book = m.book(0).expect("book");
        assert_eq!(book.last_update_id(), last_u, "step {step}");
        assert!(!book.is_crossed(), "step {step}: crossed");
        let scaled = |side| -> BTreeMap<i64, i64> {
            book.side(side)
                .iter()
                .map(|(&p, &q)| (scale.price(p), scale.qty(q)))
                .collect()
        };
        assert_eq!(scaled(BookSide::Bid), bids, "step {step}: bids");
        assert_eq!(scaled(BookSide::Ask), asks, "step {step}: asks");
        all_msgs.append(&mut out);
    }
    assert!(trades_checked > 0, "no trade checked");
    all_msgs
}

#[test]
fn depth_diffs_rebuild_the_book_at_every_step() {
    let mut m = market(
        "BTC_USDT-1m.json.gz",
        SynthOptions {
            max_bars: Some(3),
            levels_per_side: 200,
            ..SynthOptions::default()
        },
    );
    let msgs = run_and_check(&mut m, 1800);
    // TC0: the market is exhausted after its 3 bars
    assert_eq!(m.next_time_ms(), None, "TC0");
    let mut out = Vec::new();
    assert!(!m.step(&all, &mut out), "TC0");
    // TC1: the trades of each minute and the closed 1m klines are the file's bars
    let s = series("BTC_USDT-1m.json.gz");
    let closed: Vec<serde_json::Value> = msgs
        .iter()
        .filter(|m| m.stream.kind == StreamKind::Kline(KlineInterval::M1))
        .map(json)
        .filter(|v| v["k"]["x"].as_bool() == Some(true))
        .collect();
    assert_eq!(closed.len(), 3, "TC1");
    for (i, k) in closed.iter().enumerate() {
        let f = &s.bars[i];
        let k = &k["k"];
        assert_eq!(k["t"].as_i64(), Some(f.time_ms), "TC1.{i}");
        assert_eq!(num(&k["o"]), (f.open * 1e8).round() as i64, "TC1.{i} open");
        assert_eq!(num(&k["h"]), (f.high * 1e8).round() as i64, "TC1.{i} high");
        assert_eq!(num(&k["l"]), (f.low * 1e8).round() as i64, "TC1.{i} low");
        assert_eq!(
            num(&k["c"]),
            (f.close * 1e8).round() as i64,
            "TC1.{i} close"
        );
        assert_eq!(
            num(&k["v"]),
            (f.volume * 1e8).round() as i64,
            "TC1.{i} volume"
        );
        // 29 updates every 2 s and the final one for each minute
        let updates = msgs
            .iter()
            .filter(|m| m.stream.kind == StreamKind::Kline(KlineInterval::M1))
            .filter(|m| m.event_time_ms > f.time_ms && m.event_time_ms <= f.time_ms + 60_000)
            .count();
        assert_eq!(updates, 30, "TC1.{i}");
    }
    // TC2: the trade stream sums to the bars' volume, ids consecutive
    let trades: Vec<serde_json::Value> = msgs
        .iter()
        .filter(|m| m.stream.kind == StreamKind::Trade)
        .map(json)
        .collect();
    for w in trades.windows(2) {
        assert_eq!(w[1]["t"].as_i64(), w[0]["t"].as_i64().map(|t| t + 1), "TC2");
    }
    let volume: i64 = trades.iter().map(|t| num(&t["q"])).sum();
    let want: i64 = s.bars[..3]
        .iter()
        .map(|b| (b.volume * 1e8).round() as i64)
        .sum();
    assert_eq!(volume, want, "TC2");
    // TC3: aggTrades cover the trades in order, merging same price / side / ms
    let aggs: Vec<serde_json::Value> = msgs
        .iter()
        .filter(|m| m.stream.kind == StreamKind::AggTrade)
        .map(json)
        .collect();
    let mut next = trades[0]["t"].as_i64().expect("t");
    for a in &aggs {
        assert_eq!(a["f"].as_i64(), Some(next), "TC3");
        next = a["l"].as_i64().expect("l") + 1;
    }
    assert_eq!(
        next,
        trades[trades.len() - 1]["t"].as_i64().expect("t") + 1,
        "TC3"
    );
    assert!(aggs.len() < trades.len(), "TC3: some fills aggregate");
    // TC4: REST klines and trades answer from the same trades
    let rest: serde_json::Value = serde_json::from_str(
        &m.klines(0, KlineInterval::M1, None, None, 10)
            .expect("rest"),
    )
    .expect("json");
    let rows = rest.as_array().expect("rows");
    assert_eq!(rows.len(), 3, "TC4");
    assert_eq!(rows[2][4], closed[2]["k"]["c"], "TC4");
    let recent: serde_json::Value = serde_json::from_str(&m.recent_trades(0, 5)).expect("json");
    assert_eq!(recent[4]["id"], trades[trades.len() - 1]["t"], "TC4");
    // TC5: 1000 ms depth and partial depth streams exist
    let slow = msgs
        .iter()
        .filter(|m| m.stream.kind == StreamKind::Depth { fast: false })
        .count();
    assert_eq!(slow, 180, "TC5");
    let partial = msgs
        .iter()
        .filter(|m| {
            m.stream.kind
                == StreamKind::PartialDepth {
                    levels: 20,
                    fast: true,
                }
        })
        .map(json)
        .next_back()
        .expect("partial");
    assert_eq!(partial["bids"].as_array().map(Vec::len), Some(20), "TC5");
}

#[test]
fn same_seed_same_messages() {
    let opts = |seed| SynthOptions {
        seed,
        max_bars: Some(2),
        ..SynthOptions::default()
    };
    let run = |seed| {
        let mut m = market("ETH_USDT-1h.json.gz", opts(seed));
        let mut out = Vec::new();
        for _ in 0..1500 {
            m.step(&all, &mut out);
        }
        out
    };
    let a = run(5);
    // TC0: identical bytes for the same seed
    assert_eq!(a, run(5), "TC0");
    // TC1: a different seed gives a different market
    assert_ne!(a, run(6), "TC1");
    // TC2: the state does not depend on what is wanted
    let mut m1 = market("ETH_USDT-1h.json.gz", opts(5));
    let mut m2 = market("ETH_USDT-1h.json.gz", opts(5));
    let mut out = Vec::new();
    for _ in 0..500 {
        m1.step(&all, &mut out);
        m2.step(&|_| false, &mut out);
    }
    assert_eq!(m1.depth_snapshot(0, 100), m2.depth_snapshot(0, 100), "TC2");
    assert_eq!(m1.recent_trades(0, 10), m2.recent_trades(0, 10), "TC2");
    assert!(out.len() > 500, "TC2");
}

#[test]
fn several_symbols_and_halts() {
    // ETH 1h starts 2023-04-01 16:00 like BTC 1h; BTC's hourly bars, ETH's too
    let btc = series("BTC_USDT-1h.json.gz");
    let eth = series("ETH_USDT-1h.json.gz");
    let mut m = SynthMarket::from_series(
        vec![btc, eth],
        SynthOptions {
            max_bars: Some(1),
            levels_per_side: 50,
            ..SynthOptions::default()
        },
    )
    .expect("builds");
    // TC0: both symbols, table filters
    let names: Vec<&str> = m.symbols().iter().map(|s| s.symbol.as_str()).collect();
    assert_eq!(names, ["BTCUSDT", "ETHUSDT"], "TC0");
    assert_eq!(m.symbols()[1].step_size, "0.00010000", "TC0");
    let mut out = Vec::new();
    let mut per_symbol = [0usize; 2];
    while m.step(&all, &mut out) {
        for msg in out.drain(..) {
            if msg.stream.kind == StreamKind::Trade {
                per_symbol[msg.stream.symbol] += 1;
            }
        }
    }
    // TC1: about 120 trades a minute for each symbol over its one hour
    assert!(per_symbol.iter().all(|&n| n > 7000), "TC1: {per_symbol:?}");
    // TC2: errors: a duplicate symbol, no series, bad levels
    let e = SynthMarket::from_series(
        vec![series("BTC_USDT-1h.json.gz"), series("BTC_USDT-1h.feather")],
        SynthOptions::default(),
    )
    .expect_err("duplicate");
    assert!(matches!(e, SynthError::DuplicateSymbol { .. }), "TC2");
    assert_eq!(
        SynthMarket::from_series(vec![], SynthOptions::default()).expect_err("none"),
        SynthError::NoSeries,
        "TC2"
    );
    let e = SynthMarket::from_series(
        vec![series("SOL_USDT-1h.json.gz")],
        SynthOptions {
            levels_per_side: 0,
            ..SynthOptions::default()
        },
    )
    .expect_err("levels");
    assert_eq!(e, SynthError::BadLevels(0), "TC2");
    // TC3: a start after every bar
    let e = SynthMarket::from_series(
        vec![series("SOL_USDT-1h.json.gz")],
        SynthOptions {
            start_ms: Some(i64::MAX),
            ..SynthOptions::default()
        },
    )
    .expect_err("no bars");
    assert!(matches!(e, SynthError::NoBars { .. }), "TC3");
}

#[test]
fn halt_has_no_trades_and_no_klines() {
    // The 2023-03-24 Binance halt: the 12:39 bar is followed by 14:00 in the 1m file.
    let s = series("BTC_USDT-1m.json.gz");
    let gap = s.gaps()[0];
    let before = s.bars[gap.0 - 1].time_ms;
    let mut m = SynthMarket::from_series(
        vec![s],
        SynthOptions {
            start_ms: Some(before),
            max_bars: Some(2),
            levels_per_side: 20,
            ..SynthOptions::default()
        },
    )
    .expect("builds");
    let mut out = Vec::new();
    let mut minute_klines = Vec::new();
    let mut trades_in_gap = 0;
    let halt = (before + 60_000)..(before + 60_000 + gap.1);
    let wanted = |k: &StreamKey| {
        matches!(
            k.kind,
            StreamKind::Kline(KlineInterval::M1) | StreamKind::Trade
        )
    };
    while m.step(&wanted, &mut out) {
        for msg in out.drain(..) {
            match msg.stream.kind {
                StreamKind::Kline(KlineInterval::M1) => {
                    let v = json(&msg);
                    if v["k"]["x"].as_bool() == Some(true) {
                        minute_klines.push(v["k"]["t"].as_i64().expect("t"));
                    }
                }
                StreamKind::Trade if halt.contains(&msg.event_time_ms) => trades_in_gap += 1,
                _ => {}
            }
        }
    }
    // TC0: two closed minutes, with the halt's 80 minutes missing between them
    assert_eq!(minute_klines, vec![before, halt.end], "TC0");
    assert_eq!(trades_in_gap, 0, "TC0");
}

#[test]
#[ignore = "timing: run with --ignored --nocapture to measure messages/s"]
fn throughput_debug_build() {
    let mut m = market(
        "BTC_USDT-1m.json.gz",
        SynthOptions {
            max_bars: Some(200),
            ..SynthOptions::default()
        },
    );
    let mut out = Vec::new();
    let start = std::time::Instant::now();
    let mut messages = 0usize;
    let mut diffs = 0usize;
    let mut steps = 0usize;
    while diffs < 100_000 && m.step(&all, &mut out) {
        steps += 1;
        messages += out.len();
        diffs += out
            .iter()
            .filter(|m| m.stream.kind == StreamKind::Depth { fast: true })
            .count();
        out.clear();
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = messages as f64 / secs;
    println!(
        "synth: {steps} steps, {messages} messages ({diffs} diffs) in {secs:.2} s = {rate:.0} messages/s"
    );
    assert!(rate >= 20_000.0, "{rate:.0} messages/s");
}

#[test]
fn range_diff_table() {
    type Case = (Option<(i64, i64)>, Option<(i64, i64)>, Ranges, Ranges);
    let cases: Vec<Case> = vec![
        // TC0: shift up by 2 (bids moving up)
        (Some((1, 10)), Some((3, 12)), vec![(1, 2)], vec![(11, 12)]),
        // TC1: shift down by 3
        (Some((5, 10)), Some((2, 7)), vec![(8, 10)], vec![(2, 4)]),
        // TC2: disjoint jump replaces everything
        (Some((1, 3)), Some((10, 12)), vec![(1, 3)], vec![(10, 12)]),
        // TC3: from nothing, to nothing
        (None, Some((4, 6)), vec![], vec![(4, 6)]),
        (Some((4, 6)), None, vec![(4, 6)], vec![]),
        // TC5: same range: no change
        (Some((4, 6)), Some((4, 6)), vec![], vec![]),
        // TC6: clipped at one tick (a bid range near zero shrinks)
        (Some((1, 5)), Some((1, 3)), vec![(4, 5)], vec![]),
    ];
    for (i, (old, new, removed, added)) in cases.into_iter().enumerate() {
        assert_eq!(range_diff(old, new), (removed, added), "TC{i}");
    }
    // TC7: a bid range is clipped to prices of at least one tick
    assert_eq!(range(BookSide::Bid, 3, 10), Some((1, 3)), "TC7");
    assert_eq!(range(BookSide::Bid, 0, 10), None, "TC7");
    assert_eq!(range(BookSide::Ask, 3, 10), Some((3, 12)), "TC7");
}
