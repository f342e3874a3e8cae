//! The feed (`pinewire::feed::md`) against the real `pinewire` simulator
//! (`pinewire::sim::server`) over loopback: the same sockets, TLS, REST snapshots, pings
//! and faults the engine meets in paper mode. Nothing is mocked.
//!
//! Every test ends with the same identity check: the faults are cleared, the market runs
//! a little clean, then it is stalled (no more steps; the replay instead runs to the end
//! of its capture) and, once the feed's book has caught up to the simulator's
//! `last_update_id`, every level of the feed's book must equal the simulator's own book
//! (its `GET /api/v3/depth?limit=5000` body decoded with the feed's decoder and the
//! symbol's increments) exactly.
//!
//! * `plain_feed_survives_faults_over_100k_updates` / `tls_feed_survives_faults_over_100k_updates`:
//!   at least 100,000 update ids under dropped, duplicated and reordered messages and
//!   connections killed (periodically and once on demand).
//! * `unanswered_ping_drops_the_connection_and_the_feed_resumes`: the md thread is blocked
//!   once for longer than the pong timeout; the simulator closes the connection, the feed
//!   reconnects and re-syncs.
//! * `malformed_frames_are_counted_and_never_reach_the_book`: truncated JSON, invalid UTF-8
//!   and unknown streams from the simulator.
//! * `capture_replay_ends_with_the_simulators_book`: the bundled two-day capture replayed
//!   as fast as the feed reads.
//!
//! The synthetic market runs 1,800 trades a minute (about 8 update ids a 100 ms step
//! instead of 1.5 at the default 120): every lost or reordered diff costs the feed a REST
//! snapshot, and Binance's 6,000 weight a minute allows 240 snapshots of 500 levels. At
//! 120 trades a minute, 100,000 ids are 68,000 diffs; faults at 0.4 % with 1000-level
//! snapshots used the minute's weight (120 snapshots) in two seconds and the feed then
//! (rightly) waited for the next minute. At 1,800 the same ids take 13,000 diffs and about
//! 35 snapshots. Everything runs as fast as the
//! feed reads (`Speed::AsFastAsRead`) except the ping test.
//!
//! Wall times in a debug build on a 2-core machine are printed with `--nocapture`;
//! `FEED_SIM_TRACE=1` also prints both sides' counters every 2 s while a test waits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinewire::feed::binance::{decode, Decoder, Event, Frame};
use pinewire::feed::book::LocalBook;
use pinewire::feed::fixed::Increment;
use pinewire::feed::md::{self, BookView, FeedConfig, FeedHandle, FeedHandler, FeedSymbol};
use pinewire::feed::md::{FeedStats, ResyncReason};
use pinewire::feed::ws::{BackoffConfig, TrustedCert};
use pinewire::sim::market::{ReplayMarket, SynthMarket, SynthOptions};
use pinewire::sim::server::{self, FaultPlan, SimConfig, SimHandle, SimStats, Speed};
use pinewire::sim::source::MarketSource;

/// `lastUpdateId` of the synthetic book before its first step (`SynthOptions`' default,
/// set explicitly so that the update count below does not depend on it).
const FIRST_UPDATE_ID: u64 = 1_000_000_000;

fn data(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/binance/")).join(path)
}

// ---------------------------------------------------------------------------------------
// The feed's handler: counts what reaches it and can block the md thread once.

#[derive(Default)]
struct Probe {
    depth: AtomicU64,
    trades: AtomicU64,
    book_tickers: AtomicU64,
    disconnects: AtomicU64,
    resyncs_reconnect: AtomicU64,
    resyncs_book: AtomicU64,
    /// Set by a test: the next `on_event` sleeps this many ms (then clears it).
    block_ms: AtomicU64,
    /// Set by the handler once it has blocked.
    blocked: AtomicBool,
}

struct Handler {
    probe: Arc<Probe>,
}

impl FeedHandler for Handler {
    fn on_event(&mut self, _symbol: usize, frame: &Frame<'_>, _book: &LocalBook) {
        match frame.event {
            Event::DepthUpdate(_) => self.probe.depth.fetch_add(1, Ordering::Relaxed),
            Event::Trade(_) => self.probe.trades.fetch_add(1, Ordering::Relaxed),
            Event::BookTicker(_) => self.probe.book_tickers.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        let ms = self.probe.block_ms.swap(0, Ordering::AcqRel);
        if ms > 0 {
            // Deliberately breaks the handler contract (never block): the md thread reads
            // nothing, so the simulator's Pings go unanswered.
            std::thread::sleep(Duration::from_millis(ms));
            self.probe.blocked.store(true, Ordering::Release);
        }
    }

    fn on_resync(&mut self, _symbol: usize, reason: ResyncReason) {
        let counter = match reason {
            ResyncReason::Reconnect => &self.probe.resyncs_reconnect,
            _ => &self.probe.resyncs_book,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn on_disconnect(&mut self, _conn: usize, _why: &str) {
        self.probe.disconnects.fetch_add(1, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------
// Simulator and feed set-up.

/// The synthetic BTCUSDT market from the bundled 1-minute klines.
fn synth_market(opts: SynthOptions) -> Box<dyn MarketSource> {
    let series = pinewire::history::load(&data("BTC_USDT-1m.json.gz"), None, None)
        .expect("load BTC_USDT-1m.json.gz");
    Box::new(SynthMarket::from_series(vec![series], opts).expect("synthetic market"))
}

fn synth_options() -> SynthOptions {
    SynthOptions {
        seed: 7,
        first_update_id: FIRST_UPDATE_ID,
        trades_per_minute: 1800,
        ..SynthOptions::default()
    }
}

fn sim_config(tls: bool) -> SimConfig {
    SimConfig {
        bind: "127.0.0.1:0".parse().expect("loopback address"),
        tls,
        speed: Speed::AsFastAsRead,
        faults: FaultPlan {
            seed: 42,
            ..FaultPlan::default()
        },
        ..SimConfig::default()
    }
}

/// The increments of the simulator's symbol `index` as its exchangeInfo gives them;
/// `step` overrides the quantity increment.
fn feed_symbol(sim: &SimHandle, index: usize, step: Option<&str>) -> FeedSymbol {
    let info = sim.with_market(|m| m.symbols()[index].clone());
    FeedSymbol {
        tick: Increment::parse(&info.tick_size).expect("tickSize"),
        step: Increment::parse(step.unwrap_or(&info.step_size)).expect("stepSize"),
        name: info.symbol,
    }
}

/// A feed config for one symbol of `sim`: depth@100ms, trade and bookTicker; fast
/// backoff; the simulator's certificate trusted when it serves TLS.
fn feed_config(sim: &SimHandle, symbol: FeedSymbol, snapshot_limit: u32) -> FeedConfig {
    let mut c = FeedConfig::new(
        sim.ws_url(),
        sim.rest_url(),
        vec![symbol],
        vec!["depth@100ms".into(), "trade".into(), "bookTicker".into()],
    );
    let fast = BackoffConfig {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(200),
        healthy_after: Duration::from_secs(5),
    };
    c.backoff = fast;
    c.snapshot_backoff = fast;
    c.snapshot_limit = snapshot_limit;
    c.connect_timeout = Duration::from_secs(5);
    c.idle_timeout = Duration::from_secs(20);
    c.stats_interval = Duration::from_millis(200);
    if let Some(der) = sim.cert_der() {
        c.extra_roots = vec![TrustedCert::Der(der.to_vec())];
    }
    c
}

fn spawn_feed(config: FeedConfig) -> (FeedHandle, Arc<Probe>) {
    let probe = Arc::new(Probe::default());
    let p = Arc::clone(&probe);
    let feed = md::spawn(config, move |_, _| Handler {
        probe: Arc::clone(&p),
    })
    .expect("feed spawn");
    (feed, probe)
}

/// Polls `ready` every 20 ms until it is true; panics with `what` and `detail()` after
/// `limit`.
fn wait_for(
    limit: Duration,
    what: &str,
    mut ready: impl FnMut() -> bool,
    detail: impl Fn() -> String,
) {
    let t0 = Instant::now();
    let mut last = Instant::now();
    while !ready() {
        if std::env::var_os("FEED_SIM_TRACE").is_some() && last.elapsed() > Duration::from_secs(2) {
            last = Instant::now();
            eprintln!("[{:?}] {what}: {}", t0.elapsed(), detail());
        }
        if t0.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}: {}", detail());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sim_id(sim: &SimHandle) -> u64 {
    sim.with_market(|m| m.last_update_id(0))
}

fn feed_id(feed: &FeedHandle) -> Option<u64> {
    feed.book_snapshot(0).map(|b| b.last_update_id)
}

fn describe(sim: &SimHandle, feed: &FeedHandle) -> String {
    let s = feed.stats();
    format!(
        "sim id {} feed id {:?}\nsim {:?}\nfeed symbol {:?}\nfeed conn {:?}\nfeed rest {:?}",
        sim_id(sim),
        feed_id(feed),
        sim.stats(),
        s.symbol(0),
        s.connection(0),
        s.threads.first().map(|t| t.rest)
    )
}

/// The simulator's whole book (up to 5000 levels a side) in the feed's units, read under
/// the market lock: its REST depth body decoded with the feed's decoder.
fn sim_book(sim: &SimHandle, symbol: &FeedSymbol) -> BookView {
    let (id, body) = sim.with_market(|m| (m.last_update_id(0), m.depth_snapshot(0, 5000)));
    let mut bytes = body.into_bytes();
    let mut decoder = Decoder::new(symbol.tick, symbol.step);
    match decode(&mut bytes, &mut decoder) {
        Ok(Event::DepthSnapshot(s)) => {
            assert_eq!(s.last_update_id, id, "the depth body's id is the market's");
            BookView {
                last_update_id: s.last_update_id,
                bids: s.bids.to_vec(),
                asks: s.asks.to_vec(),
            }
        }
        other => panic!("the simulator's depth body did not decode as a snapshot: {other:?}"),
    }
}

/// The first place two books differ, in words; `None` when equal.
fn first_difference(feed: &BookView, sim: &BookView) -> Option<String> {
    if feed.last_update_id != sim.last_update_id {
        return Some(format!(
            "ids differ: feed {} sim {}",
            feed.last_update_id, sim.last_update_id
        ));
    }
    for (side, f, s) in [
        ("bid", &feed.bids, &sim.bids),
        ("ask", &feed.asks, &sim.asks),
    ] {
        if let Some(i) = (0..f.len().max(s.len())).find(|&i| f.get(i) != s.get(i)) {
            return Some(format!(
                "{side} level {i} (price_ticks, qty_lots): feed {:?} sim {:?} ({} vs {} levels)",
                f.get(i),
                s.get(i),
                f.len(),
                s.len()
            ));
        }
    }
    None
}

/// The identity check: clears the faults, lets the market run clean until the feed has
/// applied `clean_ids` more ids, stalls the market, waits until the feed's book reaches
/// the simulator's id and compares every level. Returns the compared book.
fn assert_identical(
    sim: &SimHandle,
    feed: &FeedHandle,
    symbol: &FeedSymbol,
    clean_ids: u64,
) -> BookView {
    let faults = sim.faults();
    faults.clear();
    let cleared_at = sim_id(sim);
    wait_for(
        Duration::from_secs(60),
        "the feed to run clean after the faults were cleared",
        || feed_id(feed).is_some_and(|id| id >= cleared_at + clean_ids),
        || describe(sim, feed),
    );
    faults.stall_for(Duration::from_secs(600));
    // A step under way when the stall began may still land: read the id after a pause.
    std::thread::sleep(Duration::from_millis(50));
    let want_id = sim_id(sim);
    wait_for(
        Duration::from_secs(60),
        "the feed's book to reach the stalled simulator's id",
        || feed_id(feed) == Some(want_id),
        || describe(sim, feed),
    );
    let want = sim_book(sim, symbol);
    assert_eq!(
        want.last_update_id, want_id,
        "the market stepped during the stall"
    );
    let got = feed
        .book_snapshot(0)
        .expect("the feed's book is synced at the simulator's id");
    if let Some(diff) = first_difference(&got, &want) {
        panic!(
            "feed book != simulator book at id {want_id}: {diff}\n{}",
            describe(sim, feed)
        );
    }
    assert!(
        !want.bids.is_empty() && !want.asks.is_empty(),
        "an empty book proves nothing"
    );
    faults.clear();
    want
}

fn symbol_counters(stats: &FeedStats) -> md::SymbolCounters {
    stats.symbol(0).expect("symbol 0 stats").counters
}

// ---------------------------------------------------------------------------------------
// 1. 100,000 updates under drops, duplicates, reorders and killed connections.

/// Update ids the faulted tests run through.
const FAULTED_IDS: u64 = 100_000;

fn faulted_run(tls: bool) {
    let t0 = Instant::now();
    let sim = server::start(sim_config(tls), synth_market(synth_options())).expect("sim start");
    let symbol = feed_symbol(&sim, 0, None);
    let (feed, probe) = spawn_feed(feed_config(&sim, symbol.clone(), 500));
    wait_for(
        Duration::from_secs(30),
        "the first sync",
        || feed_id(&feed).is_some(),
        || describe(&sim, &feed),
    );
    let synced_at = t0.elapsed();
    let faults = sim.faults();
    faults.set_drop(0.003).expect("drop");
    faults.set_duplicate(0.003).expect("duplicate");
    faults.set_reorder(0.003).expect("reorder");
    faults.set_close_every(Some(Duration::from_millis(300)));
    let target = FIRST_UPDATE_ID + FAULTED_IDS;
    let mut killed_once = false;
    wait_for(
        Duration::from_secs(120),
        "100,000 update ids under faults",
        || {
            let id = sim_id(&sim);
            if !killed_once && id >= FIRST_UPDATE_ID + FAULTED_IDS / 2 {
                faults.close_all_now();
                killed_once = true;
            }
            id >= target
        },
        || describe(&sim, &feed),
    );
    let faulted_at = t0.elapsed();
    let book = assert_identical(&sim, &feed, &symbol, 2_000);
    let sim_stats: SimStats = sim.stats();
    let stats = feed.stats();
    let c = symbol_counters(&stats);
    let conn = stats.connection(0).expect("conn 0 stats").clone();
    eprintln!(
        "feed_sim faulted tls={tls}: synced {synced_at:?}, {} ids by {faulted_at:?}, identical \
         at id {} ({} bids, {} asks) by {:?}\n  sim {sim_stats:?}\n  feed {c:?}\n  conn {:?}\n  \
         handler: depth {} trades {} bookTickers {}, md polls {}",
        book.last_update_id - FIRST_UPDATE_ID,
        book.last_update_id,
        book.bids.len(),
        book.asks.len(),
        t0.elapsed(),
        conn.counters,
        probe.depth.load(Ordering::Relaxed),
        probe.trades.load(Ordering::Relaxed),
        probe.book_tickers.load(Ordering::Relaxed),
        stats.threads[0].polls,
    );
    // TC0: the market really ran 100,000 update ids
    assert!(
        book.last_update_id >= target,
        "TC0: {}",
        book.last_update_id
    );
    // TC1: the simulator really dropped, duplicated, reordered and killed connections
    assert!(
        sim_stats.dropped_by_fault > 0
            && sim_stats.duplicated_by_fault > 0
            && sim_stats.reordered_by_fault > 0
            && sim_stats.fault_closes >= 3,
        "TC1: {sim_stats:?}"
    );
    // TC2: the feed saw gaps, re-synced from snapshots, ignored duplicates and reconnected
    assert!(
        c.gaps > 0 && c.resyncs > 1 && c.duplicates > 0 && c.reconnects > 0,
        "TC2: {c:?}"
    );
    assert!(conn.counters.connects >= 3, "TC2: {:?}", conn.counters);
    assert!(
        probe.resyncs_reconnect.load(Ordering::Relaxed) > 0
            && probe.resyncs_book.load(Ordering::Relaxed) > 0
            && probe.disconnects.load(Ordering::Relaxed) > 0,
        "TC2: handler hooks"
    );
    // TC3: nothing was undecodable; all three streams were routed to the handler
    assert_eq!(c.decode_errors.total(), 0, "TC3: {:?}", c.decode_errors);
    assert_eq!(conn.unroutable, 0, "TC3");
    assert!(
        probe.depth.load(Ordering::Relaxed) > 0
            && probe.trades.load(Ordering::Relaxed) > 0
            && probe.book_tickers.load(Ordering::Relaxed) > 0,
        "TC3: every stream reached the handler"
    );
    // TC4: the md thread came back to its loop (snapshot replies, requests, timers) at
    // least every 256 frames (`FRAMES_PER_TURN` in src/feed/md/thread.rs). Without that
    // budget it stayed inside the connection while the stream ran flat out: 161 loop
    // turns for 1.38 million frames, the book left unsynced for 10 s with its snapshot
    // reply unread, and `book_snapshot` timing out.
    let polls = stats.threads[0].polls;
    assert!(
        polls >= conn.counters.text_frames / 256,
        "TC4: {polls} loop turns for {} frames",
        conn.counters.text_frames
    );
    // TC5: over TLS the WebSocket URL was wss:// (the simulator's port speaks only TLS
    // then, so the REST snapshots went over https:// too)
    let scheme = if tls { "wss://" } else { "ws://" };
    assert!(conn.url.starts_with(scheme), "TC5: {}", conn.url);
}

#[test]
fn plain_feed_survives_faults_over_100k_updates() {
    faulted_run(false);
}

#[test]
fn tls_feed_survives_faults_over_100k_updates() {
    faulted_run(true);
}

// ---------------------------------------------------------------------------------------
// 2. An unanswered ping.

#[test]
fn unanswered_ping_drops_the_connection_and_the_feed_resumes() {
    let t0 = Instant::now();
    let mut config = sim_config(false);
    config.ping_interval = Duration::from_millis(200);
    config.pong_timeout = Duration::from_millis(600);
    // Paced (20x real time: about 2,400 frames a second, well within what a debug feed
    // reads): flat out, the socket buffers hold more than 600 ms of backlog in front of
    // each Ping on a busy machine, and a Pong would be late without any blocking.
    config.speed = Speed::RealTime(20.0);
    let sim = server::start(config, synth_market(synth_options())).expect("sim start");
    let symbol = feed_symbol(&sim, 0, None);
    let (feed, probe) = spawn_feed(feed_config(&sim, symbol.clone(), 500));
    wait_for(
        Duration::from_secs(30),
        "the first sync",
        || feed_id(&feed).is_some(),
        || describe(&sim, &feed),
    );
    // Five pings (a second) on the first connection: the first was due for its Pong 400 ms
    // ago, so a connection still up with no pong timeout proves the Pongs went back.
    wait_for(
        Duration::from_secs(30),
        "five pings on the first connection",
        || {
            feed.stats()
                .connection(0)
                .is_some_and(|c| c.counters.pings >= 5)
        },
        || describe(&sim, &feed),
    );
    let before = sim.stats();
    let first = feed.stats().connection(0).expect("conn").counters;
    // Block the md thread for 2.5 pong timeouts on its next event.
    probe.block_ms.store(1500, Ordering::Release);
    wait_for(
        Duration::from_secs(30),
        "the md thread to block once",
        || probe.blocked.load(Ordering::Acquire),
        || describe(&sim, &feed),
    );
    wait_for(
        Duration::from_secs(30),
        "the feed to reconnect and re-sync",
        || {
            let c = feed.stats().connection(0).map(|c| c.counters);
            c.is_some_and(|c| c.connects > first.connects) && feed_id(&feed).is_some()
        },
        || describe(&sim, &feed),
    );
    let book = assert_identical(&sim, &feed, &symbol, 2_000);
    let after = sim.stats();
    let stats = feed.stats();
    let c = symbol_counters(&stats);
    let conn = stats.connection(0).expect("conn").clone();
    eprintln!(
        "feed_sim ping: identical at id {} in {:?}\n  sim {after:?}\n  feed {c:?}\n  conn {:?} \
         last error {:?}",
        book.last_update_id,
        t0.elapsed(),
        conn.counters,
        conn.last_error
    );
    // TC0: the pings were answered before the block (no pong timeout until then)...
    assert_eq!(before.pong_timeouts, 0, "TC0: {before:?}");
    assert_eq!(
        (first.connects, first.disconnects),
        (1, 0),
        "TC0: {first:?}"
    );
    // TC1: ...and the unanswered one closed the connection on the simulator's side
    assert!(after.pong_timeouts >= 1, "TC1: {after:?}");
    // TC2: the feed saw the connection go down, reconnected and reset the book
    assert!(
        conn.counters.disconnects >= 1 && conn.counters.connects >= 2,
        "TC2: {:?}",
        conn.counters
    );
    assert!(c.reconnects >= 1 && c.resyncs >= 2, "TC2: {c:?}");
    assert!(
        probe.resyncs_reconnect.load(Ordering::Relaxed) >= 1,
        "TC2: on_resync(Reconnect)"
    );
}

// ---------------------------------------------------------------------------------------
// 3. Malformed frames.

#[test]
fn malformed_frames_are_counted_and_never_reach_the_book() {
    let t0 = Instant::now();
    let sim = server::start(sim_config(false), synth_market(synth_options())).expect("sim start");
    let symbol = feed_symbol(&sim, 0, None);
    let (feed, _probe) = spawn_feed(feed_config(&sim, symbol.clone(), 500));
    wait_for(
        Duration::from_secs(30),
        "the first sync",
        || feed_id(&feed).is_some(),
        || describe(&sim, &feed),
    );
    let faults = sim.faults();
    faults.set_malformed(0.01).expect("malformed");
    let from = sim_id(&sim);
    wait_for(
        Duration::from_secs(60),
        "30,000 update ids with malformed frames",
        || sim_id(&sim) >= from + 30_000,
        || describe(&sim, &feed),
    );
    let book = assert_identical(&sim, &feed, &symbol, 2_000);
    let sim_stats = sim.stats();
    let stats = feed.stats();
    let c = symbol_counters(&stats);
    let conn = stats.connection(0).expect("conn").clone();
    eprintln!(
        "feed_sim malformed: identical at id {} in {:?}\n  sim {sim_stats:?}\n  feed {c:?}\n  \
         conn {:?} unroutable {}",
        book.last_update_id,
        t0.elapsed(),
        conn.counters,
        conn.unroutable
    );
    // TC0: the simulator sent malformed frames
    assert!(sim_stats.malformed_by_fault > 0, "TC0: {sim_stats:?}");
    // TC1: the unknown-stream ones were refused before decoding (unroutable), the truncated
    // ones were counted as JSON decode errors, nothing else was
    assert!(conn.unroutable > 0, "TC1: unknown streams not refused");
    let e = c.decode_errors;
    assert!(e.json > 0, "TC1: {e:?}");
    assert_eq!((e.missing, e.wrong_type, e.number), (0, 0, 0), "TC1: {e:?}");
    // TC2: a text frame that is not UTF-8 is a WebSocket protocol error: the connection
    // is dropped and re-made (not counted as a decode error)
    assert!(conn.counters.disconnects >= 1, "TC2: {:?}", conn.counters);
    // TC3: the decode errors and reconnects cost re-syncs, never a wrong book (checked
    // above), and the book was not merely reset at the end
    assert!(c.resyncs >= 2, "TC3: {c:?}");
}

// ---------------------------------------------------------------------------------------
// 4. Capture replay.

#[test]
fn capture_replay_ends_with_the_simulators_book() {
    let t0 = Instant::now();
    let market = ReplayMarket::open(&[
        data("ws_capture/btcusdt_20240808.gz"),
        data("ws_capture/btcusdt_20240809.gz"),
    ])
    .expect("open the capture");
    let sim = server::start(sim_config(false), Box::new(market)).expect("sim start");
    let opened = t0.elapsed();
    // A few capture quantities are not multiples of stepSize: count the book in 1e-8.
    let symbol = feed_symbol(&sim, 0, Some("0.00000001"));
    assert_eq!(
        (symbol.name.as_str(), symbol.tick),
        ("BTCUSDT", Increment::parse("0.01").expect("tick"),),
        "the capture's symbol and tick"
    );
    let (feed, probe) = spawn_feed(feed_config(&sim, symbol.clone(), 5000));
    // While the replay streams flat out, the md thread keeps answering `book_snapshot`,
    // with ever newer ids (the book stays synced from its first snapshot on).
    let mut fresh_answers = 0u32;
    let mut last_seen = 0u64;
    wait_for(
        Duration::from_secs(240),
        "the end of the replay",
        || {
            let exhausted = sim.stats().market_exhausted;
            if !exhausted {
                if let Some(id) = feed_id(&feed) {
                    if id > last_seen {
                        fresh_answers += 1;
                        last_seen = id;
                    }
                }
            }
            exhausted
        },
        || describe(&sim, &feed),
    );
    let replayed_at = t0.elapsed();
    let want_id = sim_id(&sim);
    wait_for(
        Duration::from_secs(60),
        "the feed's book to reach the replay's last id",
        || feed_id(&feed) == Some(want_id),
        || describe(&sim, &feed),
    );
    let want = sim_book(&sim, &symbol);
    let got = feed.book_snapshot(0).expect("synced at the end");
    let sim_stats = sim.stats();
    let stats = feed.stats();
    let c = symbol_counters(&stats);
    eprintln!(
        "feed_sim replay: opened {opened:?}, replayed by {replayed_at:?} ({fresh_answers} fresh \
         book copies on the way), compared at id {want_id} ({} bids, {} asks; feed {} / {}) by {:?}\n  sim {sim_stats:?}\n  feed {c:?}\n  \
         handler: depth {} trades {} bookTickers {}",
        want.bids.len(),
        want.asks.len(),
        got.bids.len(),
        got.asks.len(),
        t0.elapsed(),
        probe.depth.load(Ordering::Relaxed),
        probe.trades.load(Ordering::Relaxed),
        probe.book_tickers.load(Ordering::Relaxed),
    );
    // TC0: every level equal at the replay's last id
    if let Some(diff) = first_difference(&got, &want) {
        panic!("feed book != replay book: {diff}");
    }
    // TC1: one snapshot, then every diff applied in order: no gap, nothing undecodable
    assert_eq!(
        (c.gaps, c.reconnects, c.decode_errors.total()),
        (0, 0, 0),
        "TC1: {c:?}"
    );
    assert_eq!(c.resyncs, 1, "TC1: {c:?}");
    // TC2: the md thread answered requests while the stream ran flat out
    assert!(
        fresh_answers >= 3,
        "TC2: {fresh_answers} fresh book copies during the replay"
    );
    // TC3: the whole capture went through: trades and tickers too
    assert!(sim_stats.market_steps > 1000, "TC3: {sim_stats:?}");
    assert!(
        probe.trades.load(Ordering::Relaxed) > 0 && probe.book_tickers.load(Ordering::Relaxed) > 0,
        "TC3"
    );
}
