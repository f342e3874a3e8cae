//! The recorder behind `pinewire record`: live Binance streams (and the REST depth
//! snapshots the feed fetches at start and after every resync) written to hourly rotated
//! gzip files in the capture format (`<local ns> <raw json>` per line), one file set per
//! symbol (`<dir>/<symbol>_<YYYYMMDD>_<HH>.gz`), exactly what `pinewire book-check` and the
//! simulator's replay read.
//!
//! Threads: the feed's md thread ([`crate::feed::md::spawn`]) runs a [`FeedHandler`] that
//! copies every frame, as received and before decoding, into a reused buffer and hands
//! `(symbol, wall ns, bytes)` over a bounded crossbeam channel to one writer thread, which
//! owns a [`CaptureWriter`] per symbol, flushes every second and finishes every file when
//! the feed stops. Emptied buffers go back to the md thread over a return channel, so the
//! per-frame path allocates nothing after warm-up.
//!
//! Backpressure, chosen: a full channel **blocks** the md thread (counted as a stall), it
//! never drops. A dropped diff would make the whole recording after it useless for the
//! local book until the next resync, while a blocked md thread only delays reading the
//! socket; the recorder's md thread has nothing else to do, and if the disk is that slow
//! for long, Binance ends the connection, which the feed handles as a reconnect + resync
//! (recorded too). The channel holds 65,536 frames by default (seconds of a busy market).
//!
//! Time: the line stamp is the wall clock at the socket read that completed the frame,
//! from the frame's quanta stamp and one calibration at start ([`WallClock`]). A snapshot
//! body has no socket stamp of its own: it is stamped when the md thread hands it over.
//! Within a symbol's files time never goes backwards: a stamp earlier than the previous
//! line's (a snapshot stamped after frames read in the same batch) is raised to it and
//! counted (`clamped`), so that readers that pace by the stamp see a monotonic clock.
//!
//! Routing: by the combined-stream envelope's stream name (`{"stream":"btcusdt@...`);
//! frames without an envelope (replies to SUBSCRIBE) or for a stream of no recorded symbol
//! are not market data and are counted (`unrouted`), not written.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use rustls::ClientConfig;
use serde::Deserialize;
use thiserror::Error;

use crate::feed::capture_writer::CaptureWriter;
use crate::feed::fixed::Increment;
use crate::feed::md::ResyncReason;
use crate::feed::md::{
    self, FeedConfig, FeedError, FeedHandle, FeedHandler, FeedSymbol, LatencySummary,
};
use crate::feed::rest::{HttpClient, RestError};
use crate::feed::ws::url::Endpoint;

/// Quantity increment the recorder's decoder counts book levels in: Binance's wire
/// precision (8 decimals). Book quantities are not always multiples of the order
/// `stepSize` (see `pinewire book-check --qty`), so the step filter is not used for them.
pub const WIRE_QTY_INCREMENT: &str = "0.00000001";

/// Frames the md thread may queue for the writer before it blocks (the default of
/// [`RecordOptions::channel_capacity`]).
pub const DEFAULT_CHANNEL_CAPACITY: usize = 1 << 16;

/// Why recording could not start or did not finish cleanly.
#[derive(Debug, Error)]
pub enum RecordError {
    /// A symbol name is not letters and digits.
    #[error("symbol `{0}`: a symbol is letters and digits only (BTCUSDT)")]
    BadSymbol(String),
    /// No symbol was given.
    #[error("no symbols to record")]
    NoSymbols,
    /// The exchange does not list a symbol.
    #[error("unknown symbol {symbol}: {rest_url} does not list it (check the name, e.g. BTCUSDT)")]
    UnknownSymbol {
        /// The symbol, upper case.
        symbol: String,
        /// The REST base asked.
        rest_url: String,
    },
    /// `GET /api/v3/exchangeInfo` failed or its body could not be used.
    #[error("exchangeInfo from {rest_url}: {why}")]
    ExchangeInfo {
        /// The REST base asked.
        rest_url: String,
        /// What went wrong.
        why: String,
    },
    /// The feed could not start.
    #[error(transparent)]
    Feed(#[from] FeedError),
    /// The output directory or a capture file could not be written.
    #[error("recording: {0}")]
    Io(#[from] io::Error),
    /// The writer thread panicked (a bug; the files may lack their gzip trailer).
    #[error("the capture writer thread panicked")]
    WriterPanicked,
}

/// Maps quanta receive stamps to wall-clock nanoseconds since the Unix epoch, from one
/// calibration (a `SystemTime` and a `quanta::Instant` read together at start): the feed
/// stamps frames with quanta (cheap, monotonic) and the capture format wants wall time.
/// A later NTP step of the system clock is not followed: stamps stay monotonic.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    wall_ns_at_base: u64,
    base: quanta::Instant,
}

impl WallClock {
    /// Reads both clocks now.
    pub fn calibrate() -> WallClock {
        let base = quanta::Instant::now();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        WallClock::from_parts(wall, base)
    }

    /// A clock where `base` is `wall_ns_at_base` ns since the epoch.
    pub fn from_parts(wall_ns_at_base: u64, base: quanta::Instant) -> WallClock {
        WallClock {
            wall_ns_at_base,
            base,
        }
    }

    /// Wall ns since the epoch of the quanta stamp `at` (earlier than the calibration too).
    #[inline]
    pub fn wall_ns(&self, at: quanta::Instant) -> u64 {
        match at.checked_duration_since(self.base) {
            Some(after) => self
                .wall_ns_at_base
                .saturating_add(u64::try_from(after.as_nanos()).unwrap_or(u64::MAX)),
            None => {
                let before = self.base.duration_since(at);
                self.wall_ns_at_base
                    .saturating_sub(u64::try_from(before.as_nanos()).unwrap_or(u64::MAX))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Symbols and their filters (start-up, not the hot path).

/// Upper-cases and checks symbol names (letters and digits, each once).
pub fn normalize_symbols(names: &[String]) -> Result<Vec<String>, RecordError> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(RecordError::BadSymbol(name.to_string()));
        }
        let upper = name.to_ascii_uppercase();
        if !out.contains(&upper) {
            out.push(upper);
        }
    }
    if out.is_empty() {
        return Err(RecordError::NoSymbols);
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ExchangeInfo {
    symbols: Vec<SymbolEntry>,
}

#[derive(Deserialize)]
struct SymbolEntry {
    symbol: String,
    #[serde(default)]
    filters: Vec<FilterEntry>,
}

#[derive(Deserialize)]
struct FilterEntry {
    #[serde(rename = "filterType")]
    filter_type: String,
    #[serde(rename = "tickSize")]
    tick_size: Option<String>,
}

/// The feed symbols for `wanted` (upper case, in that order) from an exchangeInfo body:
/// `PRICE_FILTER.tickSize` as the price increment and [`WIRE_QTY_INCREMENT`] as the
/// quantity increment. A wanted symbol missing from the body is
/// [`RecordError::UnknownSymbol`].
pub fn parse_exchange_info(
    body: &[u8],
    wanted: &[String],
    rest_url: &str,
) -> Result<Vec<FeedSymbol>, RecordError> {
    let bad = |why: String| RecordError::ExchangeInfo {
        rest_url: rest_url.to_string(),
        why,
    };
    let info: ExchangeInfo =
        serde_json::from_slice(body).map_err(|e| bad(format!("unreadable body: {e}")))?;
    let qty = Increment::parse(WIRE_QTY_INCREMENT)
        .map_err(|e| bad(format!("wire quantity increment: {e}")))?;
    let mut out = Vec::with_capacity(wanted.len());
    for name in wanted {
        let entry = info
            .symbols
            .iter()
            .find(|s| s.symbol.eq_ignore_ascii_case(name))
            .ok_or_else(|| RecordError::UnknownSymbol {
                symbol: name.clone(),
                rest_url: rest_url.to_string(),
            })?;
        let tick_text = entry
            .filters
            .iter()
            .find(|f| f.filter_type == "PRICE_FILTER")
            .and_then(|f| f.tick_size.as_deref())
            .ok_or_else(|| bad(format!("{name} has no PRICE_FILTER.tickSize")))?;
        let tick = Increment::parse(tick_text)
            .map_err(|e| bad(format!("{name}: tickSize `{tick_text}`: {e}")))?;
        out.push(FeedSymbol {
            name: name.clone(),
            tick,
            step: qty,
        });
    }
    Ok(out)
}

/// `%XX`-encodes everything but unreserved characters (for a query value).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/api/v3/exchangeInfo?symbols=["A","B"]`, percent-encoded.
fn exchange_info_path(names: &[String]) -> String {
    let list = serde_json::to_string(names).unwrap_or_else(|_| "[]".to_string());
    format!("/api/v3/exchangeInfo?symbols={}", percent_encode(&list))
}

/// Binance's "Invalid symbol." error code.
const INVALID_SYMBOL: i64 = -1121;

fn error_code(body: &[u8]) -> Option<i64> {
    #[derive(Deserialize)]
    struct Code {
        code: i64,
    }
    serde_json::from_slice::<Code>(body).ok().map(|c| c.code)
}

/// Fetches `GET /api/v3/exchangeInfo?symbols=[..]` from `rest_url` (through the feed's own
/// HTTP client, with `tls` for https) and returns the feed symbols for `names` (see
/// [`parse_exchange_info`]). When Binance refuses the list as holding an invalid symbol
/// (-1121), each symbol is asked alone so that the error names the unknown one.
pub fn fetch_symbols(
    rest_url: &str,
    tls: Option<Arc<ClientConfig>>,
    names: &[String],
    timeout: Duration,
) -> Result<Vec<FeedSymbol>, RecordError> {
    let names = normalize_symbols(names)?;
    let bad = |why: String| RecordError::ExchangeInfo {
        rest_url: rest_url.to_string(),
        why,
    };
    let endpoint = Endpoint::parse_http(rest_url).map_err(|e| bad(e.to_string()))?;
    let mut client = HttpClient::new(endpoint, tls, timeout).map_err(|e| bad(e.to_string()))?;
    let refused = |status: u16, body: &[u8]| {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        bad(RestError::Status { status, body: text }.to_string())
    };
    let response = client
        .get(&exchange_info_path(&names))
        .map_err(|e| bad(e.to_string()))?;
    if response.status == 200 {
        return parse_exchange_info(&response.body, &names, rest_url);
    }
    if error_code(&response.body) != Some(INVALID_SYMBOL) {
        return Err(refused(response.status, &response.body));
    }
    for name in &names {
        let one = client
            .get(&format!("/api/v3/exchangeInfo?symbol={name}"))
            .map_err(|e| bad(e.to_string()))?;
        if one.status != 200 && error_code(&one.body) == Some(INVALID_SYMBOL) {
            return Err(RecordError::UnknownSymbol {
                symbol: name.clone(),
                rest_url: rest_url.to_string(),
            });
        }
    }
    Err(refused(response.status, &response.body))
}

// ---------------------------------------------------------------------------------------
// The md thread's side.

/// What the md thread hands to the writer thread.
#[derive(Debug)]
enum Msg {
    /// One line for `symbol` (config index).
    Line {
        symbol: usize,
        recv_ns: u64,
        bytes: Vec<u8>,
        snapshot: bool,
    },
    /// `symbol`'s book lost sync (a snapshot follows).
    Resync { symbol: usize },
    /// A connection went down (it reconnects).
    Disconnect,
}

/// Counters the handler keeps where the writer cannot (it may be gone), shared by atomics
/// touched only off the common path (a full channel, a missing writer, a stray frame).
#[derive(Debug, Default)]
struct Shared {
    stalls: AtomicU64,
    lost: AtomicU64,
    unrouted: AtomicU64,
}

/// The recorder's hook on an md thread.
struct RecordHandler {
    /// `(lower-case name, config index)` of the symbols of this thread.
    routes: Vec<(Vec<u8>, usize)>,
    clock: WallClock,
    tx: Sender<Msg>,
    free: Receiver<Vec<u8>>,
    shared: Arc<Shared>,
}

impl RecordHandler {
    /// Hands a copy of `raw` over; blocks while the channel is full (see the module doc).
    #[inline]
    fn send_line(&mut self, symbol: usize, recv_ns: u64, raw: &[u8], snapshot: bool) {
        let mut bytes = self.free.try_recv().unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(raw);
        self.send(Msg::Line {
            symbol,
            recv_ns,
            bytes,
            snapshot,
        });
    }

    #[inline]
    fn send(&mut self, msg: Msg) {
        match self.tx.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Full(msg)) => {
                self.shared.stalls.fetch_add(1, Ordering::Relaxed);
                if self.tx.send(msg).is_err() {
                    self.shared.lost.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                self.shared.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The config index of the symbol named by a combined-stream envelope
/// (`{"stream":"<symbol>@...`), `None` for a frame without one or for another symbol.
#[inline]
fn route(frame: &[u8], routes: &[(Vec<u8>, usize)]) -> Option<usize> {
    const PREFIX: &[u8] = b"{\"stream\":\"";
    let rest = frame.strip_prefix(PREFIX)?;
    let end = rest.iter().position(|&b| b == b'@' || b == b'"')?;
    let name = &rest[..end];
    routes
        .iter()
        .find(|(lower, _)| lower.eq_ignore_ascii_case(name))
        .map(|&(_, index)| index)
}

impl FeedHandler for RecordHandler {
    fn on_frame(&mut self, _conn: usize, recv: quanta::Instant, raw: &[u8]) {
        match route(raw, &self.routes) {
            Some(symbol) => {
                let ns = self.clock.wall_ns(recv);
                self.send_line(symbol, ns, raw, false);
            }
            None => {
                self.shared.unrouted.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn on_snapshot(&mut self, symbol: usize, raw: &[u8]) {
        let ns = self.clock.wall_ns(quanta::Instant::now());
        self.send_line(symbol, ns, raw, true);
    }

    fn on_resync(&mut self, symbol: usize, reason: ResyncReason) {
        // A reconnect is counted once per connection by `on_disconnect`.
        if !matches!(reason, ResyncReason::Reconnect) {
            self.send(Msg::Resync { symbol });
        }
    }

    fn on_disconnect(&mut self, _conn: usize, _why: &str) {
        self.send(Msg::Disconnect);
    }
}

// ---------------------------------------------------------------------------------------
// The writer thread's side.

/// What was recorded for one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolSummary {
    /// The symbol, upper case.
    pub name: String,
    /// Lines written (stream frames and snapshots).
    pub lines: u64,
    /// Of those, REST depth snapshots.
    pub snapshots: u64,
    /// Times the book lost sync (gap, crossed book, rejected snapshot); each is followed
    /// by a snapshot. Reconnects are counted apart.
    pub resyncs: u64,
    /// Stamps raised to the previous line's so that time never goes backwards.
    pub clamped: u64,
    /// Bytes of JSON written (before compression).
    pub bytes: u64,
    /// The files written, in order.
    pub files: Vec<PathBuf>,
}

/// What a recording did, printed as one line at the end by `pinewire record`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    /// Per symbol, in config order.
    pub symbols: Vec<SymbolSummary>,
    /// Connection losses (each reconnected with backoff, its books re-synced).
    pub reconnects: u64,
    /// Frames that found the writer channel full (the md thread waited).
    pub stalls: u64,
    /// Lines that could not be handed over because the writer had stopped (an error).
    pub lost: u64,
    /// Frames not written: no envelope (SUBSCRIBE replies) or a stream of no symbol.
    pub unrouted: u64,
    /// From start to the last file finished.
    pub elapsed: Duration,
    /// Socket read to book applied, over every depth diff of every md thread.
    pub socket_to_book: Option<LatencySummary>,
}

impl RecordSummary {
    /// Lines written over all symbols.
    pub fn lines(&self) -> u64 {
        self.symbols.iter().map(|s| s.lines).sum()
    }

    /// Files written over all symbols.
    pub fn files(&self) -> usize {
        self.symbols.iter().map(|s| s.files.len()).sum()
    }
}

impl fmt::Display for RecordSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "recorded {} lines to {} files in {:.1} s: reconnects={} stalls={} lost={} unrouted={}",
            self.lines(),
            self.files(),
            self.elapsed.as_secs_f64(),
            self.reconnects,
            self.stalls,
            self.lost,
            self.unrouted
        )?;
        for s in &self.symbols {
            write!(
                f,
                "; {} lines={} snapshots={} resyncs={} files={} clamped={}",
                s.name,
                s.lines,
                s.snapshots,
                s.resyncs,
                s.files.len(),
                s.clamped
            )?;
        }
        if let Some(latency) = &self.socket_to_book {
            write!(f, "; socket-to-book {latency}")?;
        }
        Ok(())
    }
}

/// One symbol's file set on the writer thread.
struct SymbolFiles {
    writer: CaptureWriter,
    last_ns: u64,
    summary: SymbolSummary,
}

/// What the writer thread returns: the per-symbol summaries and the reconnect count.
type WriterResult = io::Result<(Vec<SymbolSummary>, u64)>;

/// The writer thread's loop: writes lines as they come, flushes every `flush_every`,
/// finishes every file when all senders are gone. A write error finishes the other files
/// and ends the loop with the error (the handler then counts lost lines).
fn write_loop(
    rx: Receiver<Msg>,
    free: Sender<Vec<u8>>,
    dir: &Path,
    names: &[String],
    flush_every: Duration,
) -> WriterResult {
    let mut files: Vec<SymbolFiles> = names
        .iter()
        .map(|name| SymbolFiles {
            writer: CaptureWriter::new(dir, &name.to_ascii_lowercase()),
            last_ns: 0,
            summary: SymbolSummary {
                name: name.clone(),
                lines: 0,
                snapshots: 0,
                resyncs: 0,
                clamped: 0,
                bytes: 0,
                files: Vec::new(),
            },
        })
        .collect();
    let mut reconnects = 0u64;
    let mut next_flush = Instant::now() + flush_every;
    let result = loop {
        let msg = match rx.recv_deadline(next_flush) {
            Ok(msg) => Some(msg),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break Ok(()),
        };
        match msg {
            Some(Msg::Line {
                symbol,
                recv_ns,
                bytes,
                snapshot,
            }) => {
                let Some(f) = files.get_mut(symbol) else {
                    continue;
                };
                let ns = if recv_ns < f.last_ns {
                    f.summary.clamped += 1;
                    f.last_ns
                } else {
                    recv_ns
                };
                f.last_ns = ns;
                if let Err(e) = f.writer.write(ns, &bytes) {
                    break Err(e);
                }
                if let Some(path) = f.writer.current_path() {
                    if f.summary.files.last().map(PathBuf::as_path) != Some(path) {
                        f.summary.files.push(path.to_path_buf());
                    }
                }
                f.summary.lines += 1;
                f.summary.bytes += bytes.len() as u64;
                if snapshot {
                    f.summary.snapshots += 1;
                }
                // The pool is as deep as the channel; a buffer that does not fit is freed.
                let _ = free.try_send(bytes);
            }
            Some(Msg::Resync { symbol }) => {
                if let Some(f) = files.get_mut(symbol) {
                    f.summary.resyncs += 1;
                }
            }
            Some(Msg::Disconnect) => reconnects += 1,
            None => {}
        }
        if Instant::now() >= next_flush {
            next_flush = Instant::now() + flush_every;
            if let Err(e) = files.iter_mut().try_for_each(|f| f.writer.flush()) {
                break Err(e);
            }
        }
    };
    // Finish every file, also after an error: what was written stays readable.
    let mut finish_error = None;
    for f in &mut files {
        if let Err(e) = f.writer.finish() {
            finish_error.get_or_insert(e);
        }
    }
    result?;
    if let Some(e) = finish_error {
        return Err(e);
    }
    Ok((files.into_iter().map(|f| f.summary).collect(), reconnects))
}

// ---------------------------------------------------------------------------------------
// The recorder.

/// Where and how to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOptions {
    /// The directory of the capture files (created if missing).
    pub out_dir: PathBuf,
    /// Frames queued for the writer before the md thread waits.
    pub channel_capacity: usize,
    /// How often the writer flushes every open file (at most this much is lost in a
    /// crash).
    pub flush_every: Duration,
}

impl RecordOptions {
    /// Defaults: a 65,536-frame channel, a flush every second.
    pub fn new(out_dir: impl Into<PathBuf>) -> RecordOptions {
        RecordOptions {
            out_dir: out_dir.into(),
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
            flush_every: Duration::from_secs(1),
        }
    }
}

/// A running recording: the feed's md thread(s) and the writer thread.
pub struct Recorder {
    feed: Option<FeedHandle>,
    writer: Option<JoinHandle<WriterResult>>,
    shared: Arc<Shared>,
    started: Instant,
}

impl Recorder {
    /// Starts the feed for `config` (its symbols' filters already known, e.g. from
    /// [`fetch_symbols`]) and the writer thread. Files appear at the first line.
    pub fn start(config: FeedConfig, options: RecordOptions) -> Result<Recorder, RecordError> {
        std::fs::create_dir_all(&options.out_dir).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create {}: {e}", options.out_dir.display()),
            )
        })?;
        let started = Instant::now();
        let capacity = options.channel_capacity.max(1);
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let (free_tx, free_rx) = crossbeam_channel::bounded(capacity);
        let names: Vec<String> = config.symbols.iter().map(|s| s.name.clone()).collect();
        let dir = options.out_dir.clone();
        let flush_every = options.flush_every;
        let writer = std::thread::Builder::new()
            .name("pinewire-record-writer".into())
            .spawn(move || write_loop(rx, free_tx, &dir, &names, flush_every))?;
        let shared = Arc::new(Shared::default());
        let clock = WallClock::calibrate();
        let lower: Vec<Vec<u8>> = config
            .symbols
            .iter()
            .map(|s| s.name.to_ascii_lowercase().into_bytes())
            .collect();
        let handler_shared = shared.clone();
        let feed = md::spawn(config, |_thread, symbols| RecordHandler {
            routes: symbols.iter().map(|&s| (lower[s].clone(), s)).collect(),
            clock,
            tx: tx.clone(),
            free: free_rx.clone(),
            shared: handler_shared.clone(),
        });
        // Only the handlers hold senders now: the writer ends when the feed stops.
        drop(tx);
        let feed = match feed {
            Ok(feed) => feed,
            Err(e) => {
                let _ = writer.join();
                return Err(e.into());
            }
        };
        Ok(Recorder {
            feed: Some(feed),
            writer: Some(writer),
            shared,
            started,
        })
    }

    /// The writer thread has ended before [`Recorder::finish`]: a disk error (which
    /// `finish` returns). The caller should stop recording.
    pub fn writer_stopped(&self) -> bool {
        self.writer.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the feed (connections closed), lets the writer write what is queued, finish
    /// every file (gzip trailer) and returns what was recorded.
    pub fn finish(mut self) -> Result<RecordSummary, RecordError> {
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> Result<RecordSummary, RecordError> {
        let mut socket_to_book = None;
        if let Some(mut feed) = self.feed.take() {
            socket_to_book = feed
                .stats()
                .depth_latency_ns()
                .filter(|h| !h.is_empty())
                .map(|h| LatencySummary::of(&h));
            feed.stop();
        }
        let Some(writer) = self.writer.take() else {
            return Err(RecordError::WriterPanicked);
        };
        let (symbols, reconnects) = writer.join().map_err(|_| RecordError::WriterPanicked)??;
        Ok(RecordSummary {
            symbols,
            reconnects,
            stalls: self.shared.stalls.load(Ordering::Relaxed),
            lost: self.shared.lost.load(Ordering::Relaxed),
            unrouted: self.shared.unrouted.load(Ordering::Relaxed),
            elapsed: self.started.elapsed(),
            socket_to_book,
        })
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.finish_inner();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::capture::CaptureReader;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wall_clock() {
        let base = quanta::Instant::now();
        let clock = WallClock::from_parts(1_000_000_000, base);
        let later = base + Duration::from_nanos(1_500);
        let earlier = base
            .checked_sub(Duration::from_nanos(250))
            .expect("earlier");
        // TC0: the base itself
        assert_eq!(clock.wall_ns(base), 1_000_000_000, "TC0");
        // TC1: after the base
        assert_eq!(clock.wall_ns(later), 1_000_001_500, "TC1");
        // TC2: before the base (a frame read before calibration)
        assert_eq!(clock.wall_ns(earlier), 999_999_750, "TC2");
        // TC3: calibrate() is close to SystemTime now
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos() as u64;
        let c = WallClock::calibrate();
        let got = c.wall_ns(quanta::Instant::now());
        assert!(got.abs_diff(now) < 1_000_000_000, "TC3: {got} vs {now}");
    }

    #[test]
    fn routing_table() {
        let routes = vec![(b"btcusdt".to_vec(), 3), (b"ethusdt".to_vec(), 7)];
        let cases: &[(&str, Option<usize>)] = &[
            // TC0: depth of the first symbol
            (r#"{"stream":"btcusdt@depth@100ms","data":{}}"#, Some(3)),
            // TC1: upper-case stream name
            (r#"{"stream":"ETHUSDT@trade","data":{}}"#, Some(7)),
            // TC2: a SUBSCRIBE reply has no envelope
            (r#"{"result":null,"id":1}"#, None),
            // TC3: a symbol not recorded here
            (r#"{"stream":"bnbusdt@trade","data":{}}"#, None),
            // TC4: a prefix of a symbol is not the symbol
            (r#"{"stream":"btc@trade","data":{}}"#, None),
            // TC5: truncated envelope
            (r#"{"stream":"btcusdt"#, None),
            // TC6: empty frame
            ("", None),
        ];
        for (i, (frame, want)) in cases.iter().enumerate() {
            assert_eq!(route(frame.as_bytes(), &routes), *want, "TC{i}");
        }
    }

    #[test]
    fn symbol_names() {
        // TC0: upper-cased, trimmed, duplicates removed
        assert_eq!(
            normalize_symbols(&names(&["btcusdt", " ETHUSDT", "BTCUSDT"])).expect("TC0"),
            names(&["BTCUSDT", "ETHUSDT"])
        );
        // TC1: punctuation refused
        assert!(matches!(
            normalize_symbols(&names(&["BTC/USDT"])),
            Err(RecordError::BadSymbol(_))
        ));
        // TC2: an empty name refused
        assert!(matches!(
            normalize_symbols(&names(&["btcusdt", ""])),
            Err(RecordError::BadSymbol(_))
        ));
        // TC3: nothing
        assert!(matches!(
            normalize_symbols(&[]),
            Err(RecordError::NoSymbols)
        ));
        // TC4: the query is percent-encoded JSON
        assert_eq!(
            exchange_info_path(&names(&["BTCUSDT", "ETHUSDT"])),
            "/api/v3/exchangeInfo?symbols=%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D"
        );
    }

    const INFO: &str = r#"{"timezone":"UTC","serverTime":1,"rateLimits":[],"exchangeFilters":[],
        "symbols":[
          {"symbol":"BTCUSDT","status":"TRADING","filters":[
            {"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},
            {"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},
            {"filterType":"ICEBERG_PARTS","limit":10}]},
          {"symbol":"DOGEUSDT","status":"TRADING","filters":[
            {"filterType":"PRICE_FILTER","minPrice":"0.00001000","maxPrice":"1000.00000000","tickSize":"0.00001000"}]},
          {"symbol":"NOTICK","filters":[{"filterType":"LOT_SIZE","stepSize":"1"}]},
          {"symbol":"BADTICK","filters":[{"filterType":"PRICE_FILTER","tickSize":"0"}]}
        ]}"#;

    #[test]
    fn exchange_info_table() {
        let wire = Increment::parse(WIRE_QTY_INCREMENT).expect("wire");
        let ok = |wanted: &[&str]| parse_exchange_info(INFO.as_bytes(), &names(wanted), "R");
        // TC0: two symbols in the order asked, quantities at the wire's 1e-8
        let got = ok(&["DOGEUSDT", "BTCUSDT"]).expect("TC0");
        assert_eq!(
            got,
            vec![
                FeedSymbol {
                    name: "DOGEUSDT".into(),
                    tick: Increment::parse("0.00001").expect("tick"),
                    step: wire,
                },
                FeedSymbol {
                    name: "BTCUSDT".into(),
                    tick: Increment::parse("0.01").expect("tick"),
                    step: wire,
                },
            ],
            "TC0"
        );
        let errors: &[(&[u8], &[&str], &str)] = &[
            // TC1: a symbol the exchange does not list
            (
                INFO.as_bytes(),
                &["BTCUSDT", "ETHUSDT"],
                "unknown symbol ETHUSDT: R does not list it",
            ),
            // TC2: no PRICE_FILTER
            (
                INFO.as_bytes(),
                &["NOTICK"],
                "NOTICK has no PRICE_FILTER.tickSize",
            ),
            // TC3: a zero tick
            (INFO.as_bytes(), &["BADTICK"], "BADTICK: tickSize `0`"),
            // TC4: not JSON
            (b"<html>", &["BTCUSDT"], "unreadable body"),
            // TC5: JSON without symbols
            (
                br#"{"code":-1121,"msg":"Invalid symbol."}"#,
                &["BTCUSDT"],
                "unreadable body",
            ),
        ];
        for (i, (body, wanted, want)) in errors.iter().enumerate() {
            let err = parse_exchange_info(body, &names(wanted), "R")
                .expect_err("refused")
                .to_string();
            assert!(err.contains(want), "TC{}: {err}", i + 1);
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pinewire-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn read_back(files: &[PathBuf]) -> Vec<(u64, String)> {
        let mut reader = CaptureReader::new(files);
        let mut out = Vec::new();
        while let Some(r) = reader.next() {
            let r = r.expect("complete capture");
            out.push((r.recv_ns, String::from_utf8_lossy(r.json).into_owned()));
        }
        out
    }

    #[test]
    fn writer_thread_routes_clamps_rotates_and_finishes() {
        let dir = temp_dir("record-writer");
        let (tx, rx) = crossbeam_channel::bounded(16);
        let (free_tx, free_rx) = crossbeam_channel::bounded(16);
        let writer_dir = dir.clone();
        let join = std::thread::spawn(move || {
            write_loop(
                rx,
                free_tx,
                &writer_dir,
                &names(&["BTCUSDT", "ETHUSDT"]),
                Duration::from_millis(10),
            )
        });
        let t0 = 1_723_161_599_000_000_000u64; // 2024-08-08 23:59:59 UTC
        let line = |symbol, recv_ns, text: &str, snapshot| Msg::Line {
            symbol,
            recv_ns,
            bytes: text.as_bytes().to_vec(),
            snapshot,
        };
        let msgs = vec![
            // TC0: a frame of each symbol
            line(0, t0, r#"{"stream":"btcusdt@trade"}"#, false),
            line(1, t0 + 5, r#"{"stream":"ethusdt@trade"}"#, false),
            // TC1: a snapshot stamped before the previous line is raised to it
            line(0, t0 - 10, r#"{"lastUpdateId":1}"#, true),
            Msg::Resync { symbol: 0 },
            Msg::Disconnect,
            // TC2: the next hour rotates BTCUSDT to a second file
            line(
                0,
                t0 + 1_000_000_000,
                r#"{"stream":"btcusdt@depth"}"#,
                false,
            ),
            // TC3: an index outside the table is ignored
            line(9, t0, "{}", false),
        ];
        for m in msgs {
            tx.send(m).expect("send");
        }
        std::thread::sleep(Duration::from_millis(30));
        drop(tx);
        let (summary, reconnects) = join.join().expect("no panic").expect("written");
        assert_eq!(reconnects, 1);
        let btc = &summary[0];
        assert_eq!(
            (btc.lines, btc.snapshots, btc.resyncs, btc.clamped),
            (3, 1, 1, 1)
        );
        assert_eq!(
            btc.files,
            vec![
                dir.join("btcusdt_20240808_23.gz"),
                dir.join("btcusdt_20240809_00.gz")
            ]
        );
        assert_eq!(
            read_back(&btc.files),
            vec![
                (t0, r#"{"stream":"btcusdt@trade"}"#.to_string()),
                (t0, r#"{"lastUpdateId":1}"#.to_string()),
                (
                    t0 + 1_000_000_000,
                    r#"{"stream":"btcusdt@depth"}"#.to_string()
                ),
            ]
        );
        let eth = &summary[1];
        assert_eq!((eth.lines, eth.files.len()), (1, 1));
        assert_eq!(read_back(&eth.files)[0].0, t0 + 5);
        // TC4: written buffers came back to the pool
        assert_eq!(free_rx.try_iter().count(), 4);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn writer_error_is_returned_and_handler_counts_lost_lines() {
        // TC0: the output directory vanished: the write fails, the loop ends with the error
        let dir = temp_dir("record-writer-error").join("gone");
        let (tx, rx) = crossbeam_channel::bounded(4);
        let (free_tx, free_rx) = crossbeam_channel::bounded(4);
        let writer_dir = dir.clone();
        let join = std::thread::spawn(move || {
            write_loop(
                rx,
                free_tx,
                &writer_dir,
                &names(&["BTCUSDT"]),
                Duration::from_secs(1),
            )
        });
        let shared = Arc::new(Shared::default());
        let mut handler = RecordHandler {
            routes: vec![(b"btcusdt".to_vec(), 0)],
            clock: WallClock::calibrate(),
            tx,
            free: free_rx,
            shared: shared.clone(),
        };
        handler.on_frame(0, quanta::Instant::now(), br#"{"stream":"btcusdt@trade"}"#);
        let err = join.join().expect("no panic").expect_err("no directory");
        assert!(err.to_string().contains("btcusdt_"), "TC0: {err}");
        // TC1: later frames find no writer: counted as lost, never a panic
        handler.on_frame(0, quanta::Instant::now(), br#"{"stream":"btcusdt@trade"}"#);
        handler.on_snapshot(0, br#"{"lastUpdateId":1}"#);
        assert_eq!(shared.lost.load(Ordering::Relaxed), 2, "TC1");
        // TC2: a SUBSCRIBE reply is not market data
        handler.on_frame(0, quanta::Instant::now(), br#"{"result":null,"id":1}"#);
        assert_eq!(shared.unrouted.load(Ordering::Relaxed), 1, "TC2");
    }
}
