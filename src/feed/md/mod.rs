//! The market-data threads: live Binance streams into per-symbol local books and bars.
//!
//! [`spawn`] starts one md thread per configured core (or one unpinned thread) and splits
//! the symbols across them in contiguous blocks. Each thread pins itself (a failure is
//! reported, not fatal), owns a `mio::Poll` over its WebSocket connections
//! ([`crate::feed::ws::conn`]), a REST fetcher thread ([`crate::feed::rest`]) and, per
//! symbol, a [`Decoder`], a [`LocalBook`] and, per [`KlineSpec`], a
//! [`KlineBuilder`] with its bar sequencer. Its loop polls with a zero timeout when
//! `busy_poll` is on (never sleeps) and otherwise blocks until the next event or timer.
//!
//! Per frame: the text is copied into the thread's reusable buffer with its receive stamp,
//! shown raw to [`FeedHandler::on_frame`], routed to its symbol by the combined-stream
//! envelope, decoded in place, and for depth diffs applied to the book
//! ([`LocalBook::on_diff`]); trades and stream klines go to the symbol's kline builders,
//! whose closed bars reach [`FeedHandler::on_bar`]; then [`FeedHandler::on_event`] sees the
//! decoded frame and the updated book. A book that needs a snapshot gets one request to
//! the fetcher (not another until it is answered or fails); the answer wakes the thread
//! through the Poll's `Waker` and is applied with [`LocalBook::on_snapshot`]. When a
//! connection goes down, every book of that connection is reset ([`LocalBook::reset`]) and
//! re-synced after the reconnect (backoff with full jitter). Bad input is counted per
//! symbol and kind and skipped, with at most one warning line a second per kind, never a
//! panic.
//!
//! # Klines
//!
//! The thread keeps an estimate of Binance's clock (the newest event time `E` plus the
//! local time since it arrived) and ticks the trade-built bars with it minus
//! [`FeedConfig::kline_grace`] (500 ms by default), so a bar closes on its boundary without
//! waiting for the next trade. Every closed bar goes out once, in open-time order, with no
//! bar lost across disconnects: after any reconnect (Binance's 24-hour one included) the
//! thread asks the fetcher for `GET /api/v3/klines?startTime=<next bar>&limit=1000`
//! (weight 2) and emits the bars it missed before any later stream bar, holding those in
//! a small preallocated queue meanwhile and deduplicating by open time. A trade-built bar
//! whose interval saw a disconnect (or the start) lacks trades: it is never emitted as
//! built but taken from that REST backfill once it has closed. REST rows carry no trade
//! ids: such bars have `first_trade_id == last_trade_id == -1`. Failed backfills are
//! retried with `FeedConfig::snapshot_backoff`. The module `bars` holds the ordering
//! rules.
//!
//! The thread owns its books: [`FeedHandle::book_snapshot`] and [`FeedHandle::stats`] are
//! served by the thread on request over channels; no lock is on the hot path.
//!
//! Allocation: after warm-up, the per-message path allocates nothing (reused frame buffer,
//! decoder buffers, book arenas, kline builders and hold queues; tungstenite 0.28 reuses
//! its read buffer too): `tests/feed_client.rs` counts 0.000 allocations a frame on the md
//! thread for the whole cycle, socket read to handler, and `tests/feed_klines.rs` 0 on the
//! frame path with klines on, across reconnects. Reconnects reset books in place.
//! Snapshots, kline backfill requests and answers, stats copies and `book_snapshot`
//! requests allocate (off the per-message path).

mod bars;
pub mod config;
pub mod stats;
pub(crate) mod thread;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use hdrhistogram::Histogram;
use mio::{Events, Poll, Waker};

pub use config::{BookSizes, FeedConfig, FeedError, FeedSymbol, KlineSource, KlineSpec};
pub use stats::{
    ConnStats, DecodeErrorCounts, FeedStats, KlineCounters, KlineSpecStats, LatencySummary,
    SymbolCounters, SymbolStats, ThreadStats,
};

use crate::feed::binance::{Decoder, Frame};
use crate::feed::book::{LocalBook, SyncReason};
use crate::feed::kline_builder::{Bar, KlineBuilder};
use crate::feed::rest::SnapshotFetcher;
use crate::feed::ws::backoff::Backoff;
use crate::feed::ws::conn::{ConnSpec, WsConn};
use crate::feed::ws::resolver::Resolver;
use crate::feed::ws::tls::client_config;
use crate::feed::ws::url::Endpoint;
use bars::BarSequencer;
use thread::{Command, ConnSlot, KlineSlot, MdThread, SymbolSlot, KLINE_PAGE, WAKER};

/// Why a symbol's book must be re-synced (given to [`FeedHandler::on_resync`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncReason {
    /// The book lost sync on a diff (gap, crossed book, refused level, buffer overflow).
    Book(SyncReason),
    /// The symbol's connection went down; the book was reset.
    Reconnect,
    /// A snapshot arrived but could not be used with the buffered diffs (too old).
    SnapshotRejected(SyncReason),
}

/// The engine's hooks on an md thread. Every method runs on the md thread, between two
/// frames: it must not block, and should not allocate. All have empty default bodies.
pub trait FeedHandler: Send {
    /// Every text frame as received, before decoding (the decoder rewrites the buffer in
    /// place): for the recorder. `conn` is the global connection number, `recv` the
    /// receive stamp of the socket read that completed the frame.
    fn on_frame(&mut self, conn: usize, recv: quanta::Instant, raw: &[u8]) {
        let _ = (conn, recv, raw);
    }

    /// A REST depth snapshot body as received, before decoding (`symbol` is the config
    /// index).
    fn on_snapshot(&mut self, symbol: usize, raw: &[u8]) {
        let _ = (symbol, raw);
    }

    /// A decoded market message of `symbol`, after the book was updated with it (depth
    /// diffs). The book is meaningful only while `!book.needs_snapshot()`.
    ///
    /// Bars are built on the thread (see `FeedConfig::klines` and
    /// [`FeedHandler::on_bar`]); a bar closed by this frame was handed out just before.
    fn on_event(&mut self, symbol: usize, frame: &Frame<'_>, book: &LocalBook) {
        let _ = (symbol, frame, book);
    }

    /// `symbol`'s book became unusable and a snapshot will be fetched.
    fn on_resync(&mut self, symbol: usize, reason: ResyncReason) {
        let _ = (symbol, reason);
    }

    /// Connection `conn` went down (it will reconnect with backoff).
    fn on_disconnect(&mut self, conn: usize, why: &str) {
        let _ = (conn, why);
    }

    /// A closed bar of `symbol` (config index) for kline spec `spec` (index into
    /// `FeedConfig::klines`). Per symbol and spec, every closed bar comes exactly once, in
    /// open-time order, with no bar missing across disconnects: bars the stream could not
    /// give (missed while disconnected, or trade-built bars whose interval saw a
    /// disconnect) come from a REST backfill, with `first_trade_id`/`last_trade_id` -1
    /// since REST rows carry no trade ids. A REST-backfilled bar is handed out no earlier
    /// than its REST answer arrives, so bars can come in a burst after a reconnect.
    fn on_bar(&mut self, symbol: usize, spec: usize, bar: &Bar) {
        let _ = (symbol, spec, bar);
    }
}

/// A copy of one symbol's book, served by its md thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookView {
    /// The id the book is current to.
    pub last_update_id: u64,
    /// `(price_ticks, qty_lots)`, best first.
    pub bids: Vec<(i64, i64)>,
    /// `(price_ticks, qty_lots)`, best first.
    pub asks: Vec<(i64, i64)>,
}

struct ThreadCtl {
    join: Option<JoinHandle<()>>,
    commands: Sender<Command>,
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
    periodic: Receiver<ThreadStats>,
    latest: Mutex<Option<ThreadStats>>,
}

/// The running feed. Dropping it stops and joins every md thread.
pub struct FeedHandle {
    threads: Vec<ThreadCtl>,
    /// Per config symbol: (thread, thread-local index).
    homes: Vec<(usize, usize)>,
    names: Vec<String>,
}

/// How long [`FeedHandle::stats`] and [`FeedHandle::book_snapshot`] wait for a thread.
/// How often the WebSocket host is resolved again (Binance rotates its addresses through
/// DNS); a reconnect uses the latest list.
const DNS_REFRESH: Duration = Duration::from_secs(60);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

impl FeedHandle {
    /// Number of md threads.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// The config index of a symbol by name (case-insensitive).
    pub fn symbol_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.eq_ignore_ascii_case(name))
    }

    /// Fresh stats from every thread (asked over a channel; a thread that does not answer
    /// within a second contributes its last periodic copy).
    pub fn stats(&self) -> FeedStats {
        let mut threads = Vec::with_capacity(self.threads.len());
        for t in &self.threads {
            let mut latest = t.latest.lock().unwrap_or_else(|p| p.into_inner());
            while let Ok(s) = t.periodic.try_recv() {
                *latest = Some(s);
            }
            let (tx, rx) = crossbeam_channel::bounded(1);
            let fresh = if t.commands.send(Command::Stats(tx)).is_ok() {
                let _ = t.waker.wake();
                rx.recv_timeout(ANSWER_TIMEOUT).ok()
            } else {
                None
            };
            if let Some(s) = fresh {
                *latest = Some(s);
            }
            if let Some(s) = latest.clone() {
                threads.push(s);
            }
        }
        FeedStats { threads }
    }

    /// A copy of `symbol`'s book (config index) with its last update id; `None` when the
    /// book is not synced, the index is unknown or the thread is gone.
    pub fn book_snapshot(&self, symbol: usize) -> Option<BookView> {
        let &(t, local) = self.homes.get(symbol)?;
        let ctl = &self.threads[t];
        let (tx, rx) = crossbeam_channel::bounded(1);
        ctl.commands.send(Command::Book(local, tx)).ok()?;
        let _ = ctl.waker.wake();
        rx.recv_timeout(ANSWER_TIMEOUT).ok().flatten()
    }

    /// Stops every md thread (connections closed with a Close frame, fetchers stopped) and
    /// joins them. Idempotent.
    pub fn stop(&mut self) {
        for t in &self.threads {
            t.stop.store(true, Ordering::Relaxed);
            let _ = t.waker.wake();
        }
        for t in &mut self.threads {
            if let Some(j) = t.join.take() {
                if j.join().is_err() {
                    eprintln!("pinewire: an md thread panicked");
                }
            }
        }
    }
}

impl Drop for FeedHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the feed: one md thread per `config.md_cores` entry (one unpinned thread when
/// empty). `handler_factory(thread, symbols)` builds each thread's handler, given the
/// config indices of the thread's symbols; the handler moves to the thread.
pub fn spawn<H, F>(config: FeedConfig, mut handler_factory: F) -> Result<FeedHandle, FeedError>
where
    H: FeedHandler + 'static,
    F: FnMut(usize, &[usize]) -> H,
{
    let plans = config::plan(&config)?;
    let streams = config::symbol_streams(&config)?;
    let ws = Endpoint::parse_websocket(&config.ws_url)?;
    // Resolved here and then refreshed off the md threads, which must never wait on DNS.
    let resolver = Resolver::start(&ws.host, ws.port, DNS_REFRESH);
    let rest = Endpoint::parse_http(&config.rest_url)?;
    let tls = if ws.scheme.is_tls() || rest.scheme.is_tls() {
        Some(client_config(&config.extra_roots)?)
    } else {
        None
    };
    let start = |e: std::io::Error| FeedError::Start(e.to_string());
    let mut homes = vec![(0, 0); config.symbols.len()];
    let mut handle = FeedHandle {
        threads: Vec::with_capacity(plans.len()),
        homes: Vec::new(),
        names: config.symbols.iter().map(|s| s.name.clone()).collect(),
    };
    for plan in plans {
        let poll = Poll::new().map_err(start)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(start)?);
        let (reply_tx, reply_rx) = crossbeam_channel::unbounded();
        let names: Vec<String> = plan
            .symbols
            .iter()
            .map(|&s| config.symbols[s].name.clone())
            .collect();
        let fetcher = SnapshotFetcher::spawn(
            rest.clone(),
            tls.clone(),
            names,
            reply_tx,
            waker.clone(),
            config.rest,
            format!("pinewire-rest{}", plan.thread),
        )
        .map_err(|e| FeedError::Start(e.to_string()))?;
        let mut symbols = Vec::with_capacity(plan.symbols.len());
        let mut conns = Vec::with_capacity(plan.conns.len());
        for (local_conn, cp) in plan.conns.iter().enumerate() {
            let spec = ConnSpec {
                resolver: resolver.clone(),
                endpoint: ws.clone(),
                path: cp.path.clone(),
                subscribe: cp.subscribe.clone(),
                tls: tls.clone(),
                backoff: config.backoff,
                subscribe_interval: config.subscribe_interval,
                connect_timeout: config.connect_timeout,
                idle_timeout: config.idle_timeout,
            };
            let conn = WsConn::new(spec, mio::Token(local_conn + 1), None)
                .map_err(|e| FeedError::Config(e.to_string()))?;
            let mut local_syms = Vec::with_capacity(cp.symbols.len());
            for &g in &cp.symbols {
                let s = &config.symbols[g];
                let b = config.book;
                homes[g] = (plan.thread, symbols.len());
                local_syms.push(symbols.len());
                symbols.push(SymbolSlot {
                    global: g,
                    name: s.name.to_ascii_uppercase(),
                    lower: s.name.to_ascii_lowercase(),
                    conn: local_conn,
                    decoder: Decoder::with_capacity(
                        s.tick,
                        s.step,
                        config.max_frame_bytes,
                        (config.snapshot_limit as usize)
                            .max(crate::feed::binance::DEFAULT_MAX_LEVELS),
                    ),
                    book: LocalBook::new(
                        b.window_ticks,
                        b.overflow_capacity,
                        b.buffer_diffs,
                        b.buffer_levels,
                    ),
                    dirty: false,
                    snapshot_pending: false,
                    snapshot_retry_at: None,
                    snapshot_backoff: Backoff::new(config.snapshot_backoff),
                    counters: SymbolCounters::default(),
                    klines: config
                        .klines
                        .iter()
                        .map(|&spec| KlineSlot {
                            spec,
                            builder: KlineBuilder::with_increments(spec.interval, s.tick, s.step),
                            seq: BarSequencer::new(
                                spec.interval,
                                spec.source == KlineSource::Stream,
                                config.kline_hold,
                            ),
                            retry_at: None,
                            backoff: Backoff::new(config.snapshot_backoff),
                        })
                        .collect(),
                    awaiting_event: true,
                });
            }
            conns.push(ConnSlot {
                global: cp.conn,
                conn,
                symbols: local_syms,
                unroutable: 0,
                control_replies: 0,
            });
        }
        let handler = handler_factory(plan.thread, &plan.symbols);
        let (cmd_tx, cmd_rx) = crossbeam_channel::unbounded();
        let (stats_tx, stats_rx) = crossbeam_channel::bounded(2);
        let stop = Arc::new(AtomicBool::new(false));
        let latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
            .map_err(|e| FeedError::Start(format!("latency histogram: {e}")))?;
        let n_conns = conns.len();
        let md = MdThread {
            index: plan.thread,
            core: plan.core,
            pinned: None,
            busy_poll: config.busy_poll,
            poll,
            events: Events::with_capacity(256),
            ready: Vec::with_capacity(256.max(n_conns)),
            symbols,
            conns,
            buf: Vec::with_capacity(config.max_frame_bytes),
            handler,
            commands: cmd_rx,
            replies: reply_rx,
            fetcher,
            stats_tx,
            latency,
            warn: stats::WarnLimiter::new(format!("pinewire md{}", plan.thread)),
            stop: stop.clone(),
            stats_interval: config.stats_interval,
            next_stats_at: Instant::now(),
            snapshot_limit: config.snapshot_limit,
            polls: 0,
            clock: None,
            kline_grace_ms: u64::try_from(config.kline_grace.as_millis()).unwrap_or(u64::MAX),
            rest_rows: if config.klines.is_empty() {
                Vec::new()
            } else {
                Vec::with_capacity(KLINE_PAGE as usize)
            },
            streams: streams.clone(),
        };
        let join = std::thread::Builder::new()
            .name(format!("pinewire-md{}", plan.thread))
            .spawn(move || md.run())
            .map_err(start)?;
        handle.threads.push(ThreadCtl {
            join: Some(join),
            commands: cmd_tx,
            waker,
            stop,
            periodic: stats_rx,
            latest: Mutex::new(None),
        });
    }
    handle.homes = homes;
    Ok(handle)
}
