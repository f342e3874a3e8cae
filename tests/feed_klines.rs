//! Klines on the md thread against the real simulator over loopback: a market synthesized
//! from `tests/data/binance/BTC_USDT-1m.json.gz` played at a high speed multiple, with the
//! simulator's 24-hour connection limit shortened to two seconds so that the feed is
//! disconnected again and again (the "24 h rollover (shortened) loses no bar").
//! The feed builds 1m bars from the kline stream and from trades; every bar it hands to
//! `on_bar` must be there exactly once, in order, and equal both the simulator's REST
//! `GET /api/v3/klines` row and the source file's bar on the tick / lot grid. A counting
//! allocator checks that the per-frame path (decode, kline builders, sequencers, `on_bar`)
//! allocates nothing after warm-up, reconnects included.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pinewire::feed::binance::Frame;
use pinewire::feed::book::LocalBook;
use pinewire::feed::fixed::{parse_units, Increment};
use pinewire::feed::kline_builder::{parse_quote_volume, Bar, BarInterval};
use pinewire::feed::md::{
    self, FeedConfig, FeedHandle, FeedHandler, FeedSymbol, KlineSource, KlineSpec,
};
use pinewire::feed::rest::HttpClient;
use pinewire::feed::ws::url::Endpoint;
use pinewire::feed::ws::BackoffConfig;
use pinewire::history::{self, KlineSeries};
use pinewire::sim::market::{SynthMarket, SynthOptions};
use pinewire::sim::server::{self, SimConfig, SimHandle, Speed};

// ---------------------------------------------------------------------------------------
// Allocation counting (per thread, so the simulator's threads do not count).

#[path = "support/alloc_counter.rs"]
mod alloc_counter;
use alloc_counter::thread_allocs;

// ---------------------------------------------------------------------------------------

const MIN_MS: u64 = 60_000;
/// Frames before the allocation count starts.
const WARMUP_FRAMES: u64 = 200;
/// Bars each series must reach.
const WANT_BARS: usize = 32;
/// Market time runs this many times as fast as wall time (a 1m bar every 0.4 s).
const SPEED: f64 = 150.0;

/// What the handler saw.
struct Seen {
    /// (spec, bar) in the order `on_bar` was called (preallocated: pushing does not
    /// allocate on the md thread).
    bars: Vec<(usize, Bar)>,
    disconnects: usize,
    frames: u64,
    /// Allocations on the md thread from `on_frame` to `on_event` of the same frame,
    /// after warm-up.
    path_allocs: u64,
    measured: u64,
}

struct Collect {
    seen: Arc<Mutex<Seen>>,
    at_frame: u64,
}

impl FeedHandler for Collect {
    fn on_frame(&mut self, _conn: usize, _recv: quanta::Instant, _raw: &[u8]) {
        self.seen.lock().expect("seen").frames += 1;
        self.at_frame = thread_allocs();
    }

    fn on_event(&mut self, _symbol: usize, _frame: &Frame<'_>, _book: &LocalBook) {
        let allocs = thread_allocs() - self.at_frame;
        let mut seen = self.seen.lock().expect("seen");
        if seen.frames > WARMUP_FRAMES {
            seen.path_allocs += allocs;
            seen.measured += 1;
        }
    }

    fn on_bar(&mut self, symbol: usize, spec: usize, bar: &Bar) {
        assert_eq!(symbol, 0);
        self.seen.lock().expect("seen").bars.push((spec, *bar));
    }

    fn on_disconnect(&mut self, _conn: usize, _why: &str) {
        self.seen.lock().expect("seen").disconnects += 1;
    }
}

fn series() -> KlineSeries {
    history::load(
        Path::new("tests/data/binance/BTC_USDT-1m.json.gz"),
        None,
        None,
    )
    .expect("load the 1m kline file")
}

fn start_sim(series: KlineSeries) -> SimHandle {
    let market = SynthMarket::from_series(
        vec![series],
        SynthOptions {
            max_bars: Some(WANT_BARS + 30),
            ..SynthOptions::default()
        },
    )
    .expect("synth market");
    let config = SimConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        speed: Speed::RealTime(SPEED),
        max_age: Duration::from_secs(2),
        ..SimConfig::default()
    };
    server::start(config, Box::new(market)).expect("start the simulator")
}

/// The symbol's tick and step as the simulator's exchangeInfo publishes them.
fn increments(sim: &SimHandle) -> (Increment, Increment) {
    sim.with_market(|m| {
        let info = &m.symbols()[0];
        (
            Increment::parse(&info.tick_size).expect("tick"),
            Increment::parse(&info.step_size).expect("step"),
        )
    })
}

fn m1() -> BarInterval {
    BarInterval::parse("1m").expect("1m")
}

fn start_feed(sim: &SimHandle, tick: Increment, step: Increment) -> (FeedHandle, Arc<Mutex<Seen>>) {
    let mut c = FeedConfig::new(
        sim.ws_url(),
        sim.rest_url(),
        vec![FeedSymbol {
            name: "BTCUSDT".into(),
            tick,
            step,
        }],
        vec!["trade".into()],
    );
    c.klines = vec![
        KlineSpec {
            interval: m1(),
            source: KlineSource::Stream,
        },
        KlineSpec {
            interval: m1(),
            source: KlineSource::Trades,
        },
    ];
    let fast = BackoffConfig {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(100),
        healthy_after: Duration::from_secs(5),
    };
    c.backoff = fast;
    c.snapshot_backoff = fast;
    c.connect_timeout = Duration::from_secs(3);
    c.idle_timeout = Duration::from_secs(5);
    // Stats are asked for once at the end; no periodic copies meanwhile.
    c.stats_interval = Duration::from_secs(3600);
    let seen = Arc::new(Mutex::new(Seen {
        bars: Vec::with_capacity(4096),
        disconnects: 0,
        frames: 0,
        path_allocs: 0,
        measured: 0,
    }));
    let s = seen.clone();
    let handle = md::spawn(c, move |_, _| Collect {
        seen: s.clone(),
        at_frame: 0,
    })
    .expect("spawn the feed");
    (handle, seen)
}

/// Waits until both series have `WANT_BARS` bars and the simulator has closed at least
/// three connections at `max_age`; panics after 50 s.
fn wait_for_bars(sim: &SimHandle, seen: &Mutex<Seen>) {
    let start = Instant::now();
    loop {
        let (stream, trades) = {
            let s = seen.lock().expect("seen");
            let n = |spec| s.bars.iter().filter(|(k, _)| *k == spec).count();
            (n(0), n(1))
        };
        let closes = sim.stats().max_age_closes;
        if stream >= WANT_BARS && trades >= WANT_BARS && closes >= 3 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(50),
            "after 50 s: {stream} stream bars, {trades} trade bars, {closes} max-age closes"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The simulator's REST rows from `start_ms` on, read with serde_json (not the feed's
/// parser): open time -> the row's fields.
fn sim_rows(sim: &SimHandle, start_ms: u64) -> Vec<serde_json::Value> {
    let endpoint = Endpoint::parse_http(&sim.rest_url()).expect("rest url");
    let mut client = HttpClient::new(endpoint, None, Duration::from_secs(5)).expect("client");
    let resp = client
        .get(&format!(
            "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime={start_ms}&limit=1000"
        ))
        .expect("GET klines");
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let rows: serde_json::Value = serde_json::from_slice(&resp.body).expect("klines JSON");
    rows.as_array().expect("array of rows").clone()
}

fn text(v: &serde_json::Value) -> &str {
    v.as_str().expect("a decimal string")
}

/// The file's value on the increment's grid, rounded to the nearest (as the synthetic
/// market quantizes it).
fn quantized(value: f64, inc: Increment) -> i64 {
    (value * 10f64.powi(i32::from(inc.decimals())) / inc.units() as f64).round() as i64
}

/// Checks one series: contiguous, no duplicate, each bar equal to the REST row and to
/// the file's bar. Returns how many bars were checked.
fn check_series(
    name: &str,
    bars: &[Bar],
    rows: &[serde_json::Value],
    file: &KlineSeries,
    (tick, step): (Increment, Increment),
) -> usize {
    assert!(bars.len() >= WANT_BARS, "{name}: only {} bars", bars.len());
    for (i, w) in bars.windows(2).enumerate() {
        assert_eq!(
            w[1].open_time_ms,
            w[0].open_time_ms + MIN_MS,
            "{name}: bar {} does not follow bar {i} (gap or duplicate)",
            i + 1
        );
    }
    for (i, b) in bars.iter().enumerate() {
        assert!(b.closed, "{name} bar {i}: not closed");
        assert_eq!(
            b.close_time_ms,
            b.open_time_ms + MIN_MS - 1,
            "{name} bar {i}"
        );
        // Against the simulator's REST row for that open time.
        let row = rows
            .iter()
            .find(|r| r[0].as_u64() == Some(b.open_time_ms))
            .unwrap_or_else(|| panic!("{name} bar {i}: no REST row opens at {}", b.open_time_ms));
        let ticks = |k: usize| parse_units(text(&row[k]).as_bytes(), tick).expect("price");
        let lots = |k: usize| parse_units(text(&row[k]).as_bytes(), step).expect("qty");
        let quote = |k: usize| parse_quote_volume(text(&row[k]), tick, step).expect("quote");
        let got = (
            b.open_ticks,
            b.high_ticks,
            b.low_ticks,
            b.close_ticks,
            b.volume_lots,
            b.trade_count,
            b.quote_volume,
            b.taker_buy_volume_lots,
            b.taker_buy_quote_volume,
        );
        let want = (
            ticks(1),
            ticks(2),
            ticks(3),
            ticks(4),
            lots(5),
            row[8].as_u64().expect("n"),
            quote(7),
            lots(9),
            quote(10),
        );
        assert_eq!(
            got, want,
            "{name} bar {i} (open {}): vs REST",
            b.open_time_ms
        );
        // Against the source file's bar, on the tick / lot grid.
        let f = file
            .bars
            .iter()
            .find(|f| f.time_ms == b.open_time_ms as i64)
            .unwrap_or_else(|| panic!("{name} bar {i}: not in the file"));
        let want_file = (
            quantized(f.open, tick),
            quantized(f.high, tick),
            quantized(f.low, tick),
            quantized(f.close, tick),
            quantized(f.volume, step),
        );
        assert_eq!(
            (
                b.open_ticks,
                b.high_ticks,
                b.low_ticks,
                b.close_ticks,
                b.volume_lots
            ),
            want_file,
            "{name} bar {i} (open {}): vs the file",
            b.open_time_ms
        );
    }
    bars.len()
}

/// Runs the feed until both series have their bars, with `faults` applied to the
/// simulator while it runs; checks both series and returns the feed's kline stats.
fn run_and_check(faults: impl FnOnce(&SimHandle)) -> Vec<md::KlineSpecStats> {
    let file = series();
    let mut sim = start_sim(file.clone());
    let inc = increments(&sim);
    let (mut feed, seen) = start_feed(&sim, inc.0, inc.1);
    faults(&sim);
    wait_for_bars(&sim, &seen);
    let stats = feed.stats();
    feed.stop();
    let seen = seen.lock().expect("seen");
    let of = |spec| -> Vec<Bar> {
        seen.bars
            .iter()
            .filter(|(k, _)| *k == spec)
            .map(|(_, b)| *b)
            .collect()
    };
    let (stream, trades) = (of(0), of(1));
    let first = stream[0].open_time_ms.min(trades[0].open_time_ms);
    let rows = sim_rows(&sim, first);
    let sim_stats = sim.stats();
    sim.shutdown();
    // TC0: the connection was closed at max_age at least three times, and the feed saw it
    assert!(sim_stats.max_age_closes >= 3, "TC0: {sim_stats:?}");
    assert!(
        seen.disconnects >= 3,
        "TC0: {} disconnects",
        seen.disconnects
    );
    // TC1: stream-built series: contiguous, each bar equal to REST and to the file
    let n_stream = check_series("stream", &stream, &rows, &file, inc);
    // TC2: trade-built series: the same
    let n_trades = check_series("trades", &trades, &rows, &file, inc);
    // TC3: both series start no later than the first full bar after connecting, and the
    // REST rows between their first and last bars are exactly the bars emitted
    for (name, bars) in [("stream", &stream), ("trades", &trades)] {
        let (lo, hi) = (bars[0].open_time_ms, bars[bars.len() - 1].open_time_ms);
        let in_range = rows
            .iter()
            .filter(|r| r[0].as_u64().is_some_and(|t| (lo..=hi).contains(&t)))
            .count();
        assert_eq!(
            in_range,
            bars.len(),
            "TC3: {name}: a bar REST has is missing"
        );
    }
    let klines = stats.symbol(0).expect("symbol stats").klines.clone();
    eprintln!(
        "feed_klines: {n_stream} stream bars, {n_trades} trade bars, {} max-age closes, {} disconnects, {} frames measured with {} allocations; {klines:#?}",
        sim_stats.max_age_closes, seen.disconnects, seen.measured, seen.path_allocs
    );
    klines
}

#[test]
fn rollover_every_two_seconds_loses_no_bar() {
    let klines = run_and_check(|_| {});
    // TC4: the trade-built series took its disconnect bars from REST; both backfilled
    let trades = &klines[1];
    assert!(trades.counters.tainted >= 3, "TC4: {trades:?}");
    assert!(trades.counters.from_rest >= 3, "TC4: {trades:?}");
    assert!(
        klines[0].counters.backfill_requests >= 3,
        "TC4: {:?}",
        klines[0]
    );
    // TC5: nothing emitted twice (the sequencer's own count agrees with the handler's)
    for k in &klines {
        assert_eq!(
            k.counters.emitted,
            k.counters.live + k.counters.from_rest,
            "TC5: {k:?}"
        );
    }
}

#[test]
fn rest_refused_then_retried_loses_no_bar() {
    let klines = run_and_check(|sim| {
        // Let the first bars through, then take the REST endpoint away while the
        // connection is cut and kept down for more than a bar.
        // (at 150x, 1 s of wall time is 2.5 bars: at least one `x: true` is missed).
        std::thread::sleep(Duration::from_millis(1500));
        let f = sim.faults();
        f.refuse_rest_for(Duration::from_millis(2000));
        f.refuse_connections_for(Duration::from_millis(1000));
        f.close_all_now();
    });
    // TC5: backfills failed while REST was refused and were retried until they worked
    let failures: u64 = klines.iter().map(|k| k.counters.backfill_failures).sum();
    assert!(failures >= 1, "TC5: {klines:?}");
    // TC6: the stream series missed at least one close in the outage and took it from REST
    assert!(klines[0].counters.from_rest >= 1, "TC6: {:?}", klines[0]);
}

#[test]
fn local_book_reset_keeps_its_buffers() {
    use pinewire::feed::book::SyncStatus::{Applied, Buffered};
    use pinewire::feed::Side;
    let bids = [(100, 1), (99, 2)];
    let asks = [(101, 1), (102, 3)];
    let mut book = LocalBook::new(1024, 16, 8, 64);
    // TC0: a buffered diff and a snapshot sync the book
    assert_eq!(book.on_diff(11, 12, &bids, &asks), Buffered, "TC0");
    assert_eq!(book.on_snapshot(10, &bids, &asks), Applied, "TC0");
    assert_eq!(book.last_update_id(), 12, "TC0");
    let before = thread_allocs();
    book.reset();
    // TC1: the reset allocates nothing and forgets levels, id and sync state
    assert_eq!(thread_allocs() - before, 0, "TC1");
    assert!(book.needs_snapshot(), "TC1");
    assert_eq!(book.last_update_id(), 0, "TC1");
    assert_eq!(book.book().levels(Side::Bid).count(), 0, "TC1");
    assert_eq!(book.book().levels(Side::Ask).count(), 0, "TC1");
    // TC2: it re-syncs like a new book, still without allocating
    let before = thread_allocs();
    assert_eq!(book.on_diff(21, 22, &bids, &asks), Buffered, "TC2");
    assert_eq!(book.on_snapshot(20, &bids, &asks), Applied, "TC2");
    assert_eq!(thread_allocs() - before, 0, "TC2");
    assert_eq!(book.last_update_id(), 22, "TC2");
    assert_eq!(book.book().levels(Side::Bid).count(), 2, "TC2");
    // TC3: diffs buffered before a reset are not replayed after it
    book.reset();
    assert_eq!(book.on_diff(41, 41, &[(97, 7)], &[]), Buffered, "TC3");
    book.reset();
    assert_eq!(book.on_diff(31, 31, &[(98, 5)], &[]), Buffered, "TC3");
    assert_eq!(book.on_snapshot(30, &bids, &asks), Applied, "TC3");
    let levels: Vec<(i64, i64)> = book
        .book()
        .levels(Side::Bid)
        .map(|l| (l.price_ticks, l.qty_lots))
        .collect();
    assert_eq!(levels, vec![(100, 1), (99, 2), (98, 5)], "TC3");
}
