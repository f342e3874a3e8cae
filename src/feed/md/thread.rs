//! The md thread's loop: one `mio::Poll` over its WebSocket connections and a `Waker`
//! (snapshot replies, commands, stop), per-symbol decoders and local books.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use hdrhistogram::Histogram;
use mio::{Events, Poll, Token};

use super::config::BookSizes;
use super::stats::{ConnStats, SymbolCounters, SymbolStats, ThreadStats, WarnKind, WarnLimiter};
use super::{BookView, FeedHandler, ResyncReason};
use crate::feed::binance::{decode_frame, Control, Decoder, Event, RequestId};
use crate::feed::book::{LocalBook, SyncStatus};
use crate::feed::rest::{SnapshotFetcher, SnapshotReply, SnapshotRequest};
use crate::feed::ws::backoff::Backoff;
use crate::feed::ws::conn::{ConnState, Drive, WsConn};
use crate::feed::Side;

/// The token of the thread's `Waker`; connection `i` uses `Token(i + 1)`.
pub(crate) const WAKER: Token = Token(0);

/// Frames one connection may hand over before the loop turns to snapshot replies,
/// commands, timers and the other connections. Without a budget a stream that arrives
/// faster than it is handled (a backlog burst, a replay at full speed) kept the thread
/// inside one connection: snapshot replies, `book_snapshot`/`stats` requests, the
/// periodic stats and every timer waited until the socket ran dry (seconds, measured by
/// `tests/feed_sim.rs`). 256 frames is well under a millisecond of work in release.
const FRAMES_PER_TURN: usize = 256;

/// A request from the [`super::FeedHandle`].
pub(crate) enum Command {
    /// Send a fresh stats copy.
    Stats(Sender<ThreadStats>),
    /// Send a copy of a symbol's book (thread-local symbol index).
    Book(usize, Sender<Option<BookView>>),
}

pub(crate) struct SymbolSlot {
    pub(crate) global: usize,
    pub(crate) name: String,
    pub(crate) lower: String,
    pub(crate) conn: usize,
    pub(crate) decoder: Decoder,
    pub(crate) book: LocalBook,
    /// A diff was fed since the last reset (a reset is only worth it then).
    pub(crate) dirty: bool,
    pub(crate) snapshot_pending: bool,
    pub(crate) snapshot_retry_at: Option<Instant>,
    pub(crate) snapshot_backoff: Backoff,
    pub(crate) counters: SymbolCounters,
}

pub(crate) struct ConnSlot {
    pub(crate) global: usize,
    pub(crate) conn: WsConn,
    /// Thread-local indices of the connection's symbols.
    pub(crate) symbols: Vec<usize>,
    pub(crate) unroutable: u64,
    pub(crate) control_replies: u64,
}

pub(crate) struct MdThread<H: FeedHandler> {
    pub(crate) index: usize,
    pub(crate) core: Option<usize>,
    pub(crate) pinned: Option<bool>,
    pub(crate) busy_poll: bool,
    pub(crate) poll: Poll,
    pub(crate) events: Events,
    pub(crate) ready: Vec<usize>,
    pub(crate) symbols: Vec<SymbolSlot>,
    pub(crate) conns: Vec<ConnSlot>,
    pub(crate) buf: Vec<u8>,
    pub(crate) handler: H,
    pub(crate) commands: Receiver<Command>,
    pub(crate) replies: Receiver<SnapshotReply>,
    pub(crate) fetcher: SnapshotFetcher,
    pub(crate) stats_tx: Sender<ThreadStats>,
    pub(crate) latency: Histogram<u64>,
    pub(crate) warn: WarnLimiter,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) stats_interval: Duration,
    pub(crate) next_stats_at: Instant,
    pub(crate) book_sizes: BookSizes,
    pub(crate) snapshot_limit: u32,
    pub(crate) polls: u64,
}

impl<H: FeedHandler> MdThread<H> {
    pub(crate) fn run(mut self) {
        if let Some(core) = self.core {
            let ok = core_affinity::set_for_current(core_affinity::CoreId { id: core });
            self.pinned = Some(ok);
            if !ok {
                eprintln!(
                    "pinewire md{}: could not pin to core {core}; running unpinned",
                    self.index
                );
            }
        }
        // Calibrate quanta's clock here, not on the first frame.
        let _ = quanta::Instant::now();
        let now = Instant::now();
        self.next_stats_at = now + self.stats_interval;
        self.on_timers(now);
        // Connections that stopped at the frame budget with bytes still readable. mio is
        // edge-triggered: they get no new event until drained, so they are driven again
        // on the next turn, after a zero-timeout poll.
        let mut carry: Vec<usize> = Vec::with_capacity(self.conns.len());
        let ready_cap = self.events.capacity() + self.conns.len();
        self.ready.reserve(ready_cap);
        while !self.stop.load(Ordering::Relaxed) {
            let timeout = if self.busy_poll || !carry.is_empty() {
                Some(Duration::ZERO)
            } else {
                self.next_deadline()
                    .map(|d| d.saturating_duration_since(Instant::now()))
            };
            self.polls += 1;
            if let Err(e) = self.poll.poll(&mut self.events, timeout) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    eprintln!("pinewire md{}: poll failed: {e}; stopping", self.index);
                    break;
                }
            }
            let now = Instant::now();
            self.ready.clear();
            for event in self.events.iter() {
                if event.token() != WAKER {
                    self.ready.push(event.token().0 - 1);
                }
            }
            for &ci in &carry {
                if !self.ready.contains(&ci) {
                    self.ready.push(ci);
                }
            }
            carry.clear();
            for k in 0..self.ready.len() {
                let ci = self.ready[k];
                if ci < self.conns.len() && self.drive_conn(ci, now) && !carry.contains(&ci) {
                    carry.push(ci);
                }
            }
            self.drain_replies(now);
            self.drain_commands();
            self.on_timers(now);
        }
        let registry = self.poll.registry();
        for c in &mut self.conns {
            c.conn.close(registry);
        }
        self.fetcher.stop();
        let _ = self.stats_tx.try_send(self.stats());
    }

    /// The earliest timer of any connection, symbol retry or stats handover.
    fn next_deadline(&self) -> Option<Instant> {
        let mut t = self.next_stats_at;
        for c in &self.conns {
            if let Some(d) = c.conn.next_deadline() {
                t = t.min(d);
            }
        }
        for s in &self.symbols {
            if let Some(d) = s.snapshot_retry_at {
                t = t.min(d);
            }
        }
        Some(t)
    }

    /// Reads and handles up to [`FRAMES_PER_TURN`] frames of connection `ci`; true when it
    /// stopped at that budget (more may be readable: drive it again next turn).
    fn drive_conn(&mut self, ci: usize, now: Instant) -> bool {
        for _ in 0..FRAMES_PER_TURN {
            let drive = self.conns[ci]
                .conn
                .drive(self.poll.registry(), now, &mut self.buf);
            match drive {
                Drive::Text(recv) => self.on_text(ci, recv, now),
                Drive::Idle => return false,
                Drive::Down => {
                    self.on_conn_down(ci, now);
                    return false;
                }
            }
        }
        true
    }

    fn on_timers(&mut self, now: Instant) {
        for ci in 0..self.conns.len() {
            let due = self.conns[ci]
                .conn
                .next_deadline()
                .is_some_and(|d| d <= now);
            if due && self.conns[ci].conn.on_timer(self.poll.registry(), now) == Drive::Down {
                self.on_conn_down(ci, now);
            }
        }
        for si in 0..self.symbols.len() {
            let (due, conn) = {
                let s = &self.symbols[si];
                (s.snapshot_retry_at.is_some_and(|t| t <= now), s.conn)
            };
            if due {
                self.symbols[si].snapshot_retry_at = None;
                let conn_up = matches!(
                    self.conns[conn].conn.state(),
                    ConnState::Subscribing | ConnState::Live
                );
                if conn_up && self.symbols[si].book.needs_snapshot() {
                    self.request_snapshot(si, now);
                }
            }
        }
        if now >= self.next_stats_at {
            self.next_stats_at = now + self.stats_interval;
            let _ = self.stats_tx.try_send(self.stats());
        }
    }

    /// Asks the fetcher for a snapshot unless one is in flight or a retry is scheduled.
    fn request_snapshot(&mut self, si: usize, now: Instant) {
        let s = &mut self.symbols[si];
        if s.snapshot_pending || s.snapshot_retry_at.is_some_and(|t| t > now) {
            return;
        }
        let sent = self.fetcher.request(SnapshotRequest {
            symbol: si,
            limit: self.snapshot_limit,
        });
        if sent {
            s.snapshot_pending = true;
            s.counters.snapshot_requests += 1;
        } else {
            s.snapshot_retry_at = Some(now + s.snapshot_backoff.next_delay());
        }
    }

    #[cold]
    fn on_conn_down(&mut self, ci: usize, now: Instant) {
        let c = &mut self.conns[ci];
        self.warn.warn(
            WarnKind::Disconnect,
            now,
            format_args!(
                "connection {} ({}) down: {}",
                c.global,
                c.conn.url(),
                c.conn.last_error()
            ),
        );
        self.handler.on_disconnect(c.global, c.conn.last_error());
        for k in 0..self.conns[ci].symbols.len() {
            let si = self.conns[ci].symbols[k];
            let s = &mut self.symbols[si];
            if !s.dirty {
                continue;
            }
            // LocalBook has no reset: a fresh one (allocated here, once per reconnect, off
            // the per-message path) starts buffering for the new connection's stream.
            let b = self.book_sizes;
            s.book = LocalBook::new(
                b.window_ticks,
                b.overflow_capacity,
                b.buffer_diffs,
                b.buffer_levels,
            );
            s.dirty = false;
            s.counters.reconnects += 1;
            self.handler.on_resync(s.global, ResyncReason::Reconnect);
        }
    }

    /// Routes, decodes and applies the text frame in `self.buf`.
    fn on_text(&mut self, ci: usize, recv: quanta::Instant, now: Instant) {
        let conn_global = self.conns[ci].global;
        self.handler.on_frame(conn_global, recv, &self.buf);
        let si = match route(&self.buf, &self.conns[ci].symbols, &self.symbols) {
            Route::Symbol(si) => si,
            Route::Unenveloped => self.conns[ci].symbols[0],
            Route::Unknown => {
                self.conns[ci].unroutable += 1;
                self.warn.warn(
                    WarnKind::Unroutable,
                    now,
                    format_args!("connection {conn_global}: a frame for a stream of no symbol of this connection"),
                );
                return;
            }
        };
        let MdThread {
            buf,
            symbols,
            conns,
            handler,
            latency,
            warn,
            ..
        } = self;
        let sym = &mut symbols[si];
        let frame = match decode_frame(buf, &mut sym.decoder) {
            Ok(f) => f,
            Err(e) => {
                sym.counters.messages += 1;
                sym.counters.decode_errors.add(e);
                warn.warn(
                    WarnKind::Decode,
                    now,
                    format_args!("{}: undecodable frame: {e}", sym.name),
                );
                return;
            }
        };
        let mut need_snapshot = false;
        match frame.event {
            Event::Control(c) => {
                let conn = &mut conns[ci];
                conn.control_replies += 1;
                let (id, ok) = match c {
                    Control::Ok { id } => (id, true),
                    Control::Error { id, code, msg } => {
                        warn.warn(
                            WarnKind::Subscribe,
                            now,
                            format_args!(
                                "connection {conn_global}: request refused ({code}: {msg})"
                            ),
                        );
                        (id, false)
                    }
                    _ => (RequestId::Null, true),
                };
                if let RequestId::Number(n) = id {
                    conn.conn.on_subscribe_reply(n, ok, now);
                }
                return;
            }
            Event::DepthUpdate(d) => {
                sym.counters.messages += 1;
                if !d.symbol.eq_ignore_ascii_case(&sym.name) {
                    conns[ci].unroutable += 1;
                    return;
                }
                sym.counters.depth_updates += 1;
                sym.dirty = true;
                let was_synced = !sym.book.needs_snapshot();
                match sym
                    .book
                    .on_diff(d.first_update_id, d.final_update_id, d.bids, d.asks)
                {
                    SyncStatus::Applied => {
                        latency.saturating_record(recv.elapsed().as_nanos() as u64);
                    }
                    SyncStatus::Buffered => need_snapshot = true,
                    SyncStatus::Ignored => sym.counters.duplicates += 1,
                    SyncStatus::NeedSnapshot(reason) => {
                        if reason == crate::feed::book::SyncReason::BufferOverflow {
                            sym.counters.buffer_overflows += 1;
                        } else {
                            sym.counters.gaps += 1;
                        }
                        need_snapshot = true;
                        if was_synced {
                            warn.warn(
                                WarnKind::Gap,
                                now,
                                format_args!(
                                    "{}: book lost sync ({reason:?}); re-syncing",
                                    sym.name
                                ),
                            );
                            handler.on_resync(sym.global, ResyncReason::Book(reason));
                        }
                    }
                }
                handler.on_event(sym.global, &frame, &sym.book);
            }
            _ => {
                sym.counters.messages += 1;
                // Trades, aggTrades and klines reach the kline builder through the handler
                // (see `FeedHandler::on_event`).
                handler.on_event(sym.global, &frame, &sym.book);
            }
        }
        if need_snapshot && self.symbols[si].book.needs_snapshot() {
            self.request_snapshot(si, now);
        }
    }

    fn drain_replies(&mut self, now: Instant) {
        while let Ok(reply) = self.replies.try_recv() {
            self.on_snapshot_reply(reply, now);
        }
    }

    fn on_snapshot_reply(&mut self, reply: SnapshotReply, now: Instant) {
        let si = reply.symbol;
        let Some(sym) = self.symbols.get_mut(si) else {
            return;
        };
        sym.snapshot_pending = false;
        let mut body = match reply.result {
            Ok(body) => body,
            Err(e) => {
                sym.counters.snapshot_failures += 1;
                let delay = sym.snapshot_backoff.next_delay().max(e.retry_after());
                sym.snapshot_retry_at = Some(now + delay);
                self.warn.warn(
                    WarnKind::Snapshot,
                    now,
                    format_args!("{}: snapshot failed: {e}; retry in {delay:?}", sym.name),
                );
                return;
            }
        };
        self.handler.on_snapshot(sym.global, &body);
        let outcome = match decode_frame(&mut body, &mut sym.decoder) {
            Ok(f) => match f.event {
                Event::DepthSnapshot(s) => {
                    Ok(sym.book.on_snapshot(s.last_update_id, s.bids, s.asks))
                }
                _ => Err("the body is not a depth snapshot".to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(SyncStatus::Applied) => {
                sym.counters.resyncs += 1;
                sym.snapshot_backoff.reset();
            }
            Ok(status) => {
                sym.counters.snapshots_rejected += 1;
                let delay = sym.snapshot_backoff.next_delay();
                sym.snapshot_retry_at = Some(now + delay);
                self.warn.warn(
                    WarnKind::Snapshot,
                    now,
                    format_args!(
                        "{}: snapshot not usable ({status:?}); retry in {delay:?}",
                        sym.name
                    ),
                );
                let reason = match status {
                    SyncStatus::NeedSnapshot(r) => r,
                    _ => crate::feed::book::SyncReason::Gap,
                };
                self.handler
                    .on_resync(sym.global, ResyncReason::SnapshotRejected(reason));
            }
            Err(why) => {
                sym.counters.snapshot_failures += 1;
                let delay = sym.snapshot_backoff.next_delay();
                sym.snapshot_retry_at = Some(now + delay);
                self.warn.warn(
                    WarnKind::Snapshot,
                    now,
                    format_args!(
                        "{}: snapshot body refused: {why}; retry in {delay:?}",
                        sym.name
                    ),
                );
            }
        }
    }

    fn drain_commands(&mut self) {
        while let Ok(cmd) = self.commands.try_recv() {
            match cmd {
                Command::Stats(tx) => {
                    let _ = tx.send(self.stats());
                }
                Command::Book(si, tx) => {
                    let view = self.symbols.get(si).and_then(|s| {
                        if s.book.needs_snapshot() {
                            return None;
                        }
                        let b = s.book.book();
                        let side = |side| {
                            b.levels(side)
                                .map(|l| (l.price_ticks, l.qty_lots))
                                .collect()
                        };
                        Some(BookView {
                            last_update_id: s.book.last_update_id(),
                            bids: side(Side::Bid),
                            asks: side(Side::Ask),
                        })
                    });
                    let _ = tx.send(view);
                }
            }
        }
    }

    /// A copy of the thread's stats (allocates; once a second or on request).
    fn stats(&self) -> ThreadStats {
        ThreadStats {
            thread: self.index,
            core: self.core,
            pinned: self.pinned,
            busy_poll: self.busy_poll,
            polls: self.polls,
            symbols: self
                .symbols
                .iter()
                .map(|s| SymbolStats {
                    symbol: s.global,
                    name: s.name.clone(),
                    counters: s.counters,
                    synced: !s.book.needs_snapshot(),
                    last_update_id: s.book.last_update_id(),
                })
                .collect(),
            connections: self
                .conns
                .iter()
                .map(|c| ConnStats {
                    conn: c.global,
                    url: c.conn.url().to_string(),
                    state: c.conn.state(),
                    counters: c.conn.counters(),
                    unroutable: c.unroutable,
                    control_replies: c.control_replies,
                    last_error: c.conn.last_error().to_string(),
                })
                .collect(),
            depth_latency_ns: self.latency.clone(),
            rest: self.fetcher.stats(),
        }
    }
}

/// Where a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// The combined-stream envelope names this (thread-local) symbol.
    Symbol(usize),
    /// No envelope (a control reply, or a raw stream): the connection's first symbol's
    /// decoder reads it.
    Unenveloped,
    /// An envelope naming a stream of no symbol of this connection.
    Unknown,
}

/// Reads the symbol from the envelope's leading `{"stream":"<symbol>@` without parsing
/// the frame (the decoder to parse with depends on it). Binance always writes `stream`
/// first; a frame with `data` first is decoded as unenveloped.
#[inline]
fn route(frame: &[u8], conn_symbols: &[usize], symbols: &[SymbolSlot]) -> Route {
    const PREFIX: &[u8] = b"{\"stream\":\"";
    let Some(rest) = frame.strip_prefix(PREFIX) else {
        return Route::Unenveloped;
    };
    let end = rest
        .iter()
        .position(|&b| b == b'@' || b == b'"')
        .unwrap_or(rest.len());
    let name = &rest[..end];
    for &si in conn_symbols {
        if symbols[si].lower.as_bytes().eq_ignore_ascii_case(name) {
            return Route::Symbol(si);
        }
    }
    Route::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::fixed::Increment;
    use crate::feed::ws::backoff::BackoffConfig;

    fn slot(name: &str) -> SymbolSlot {
        let inc = Increment::parse("0.01").expect("inc");
        SymbolSlot {
            global: 0,
            name: name.to_string(),
            lower: name.to_ascii_lowercase(),
            conn: 0,
            decoder: Decoder::with_capacity(inc, inc, 1024, 8),
            book: LocalBook::new(64, 4, 4, 16),
            dirty: false,
            snapshot_pending: false,
            snapshot_retry_at: None,
            snapshot_backoff: Backoff::with_seed(BackoffConfig::default(), 1),
            counters: SymbolCounters::default(),
        }
    }

    #[test]
    fn routing_table() {
        let symbols = vec![slot("BTCUSDT"), slot("ETHUSDT"), slot("BNBUSDT")];
        let conn = [0, 1];
        let cases: &[(&str, Route)] = &[
            // TC0: the envelope names the symbol
            (
                r#"{"stream":"ethusdt@depth@100ms","data":{}}"#,
                Route::Symbol(1),
            ),
            // TC1: upper case in the stream still matches
            (r#"{"stream":"BTCUSDT@trade","data":{}}"#, Route::Symbol(0)),
            // TC2: a symbol of another connection
            (r#"{"stream":"bnbusdt@trade","data":{}}"#, Route::Unknown),
            // TC3: a prefix of a symbol is not the symbol
            (r#"{"stream":"btc@trade","data":{}}"#, Route::Unknown),
            // TC4: a control reply has no envelope
            (r#"{"result":null,"id":1}"#, Route::Unenveloped),
            // TC5: a truncated envelope
            (r#"{"stream":"ethusdt"#, Route::Symbol(1)),
            // TC6: empty frame
            ("", Route::Unenveloped),
            // TC7: a stream name without `@`
            (r#"{"stream":"ethusdt","data":{}}"#, Route::Symbol(1)),
        ];
        for (i, (frame, want)) in cases.iter().enumerate() {
            assert_eq!(route(frame.as_bytes(), &conn, &symbols), *want, "TC{i}");
        }
    }
}
