//! The md thread's loop: one `mio::Poll` over its WebSocket connections and a `Waker`
//! (REST replies, commands, stop), per-symbol decoders, local books, and per symbol and
//! kline spec a [`KlineBuilder`] and a [`BarSequencer`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use hdrhistogram::Histogram;
use mio::{Events, Poll, Token};

use super::bars::{Backfill, BarSequencer, RestOutcome};
use super::config::{KlineSource, KlineSpec};
use super::stats::{
    ConnStats, KlineSpecStats, SymbolCounters, SymbolStats, ThreadStats, WarnKind, WarnLimiter,
};
use super::{BookView, FeedHandler, ResyncReason};
use crate::feed::binance::{decode_frame, Control, Decoder, Event, RequestId};
use crate::feed::book::{LocalBook, SyncStatus};
use crate::feed::kline_builder::{Bar, KlineBuilder};
use crate::feed::rest::{
    parse_kline_rows, RestError, RestQuery, SnapshotFetcher, SnapshotReply, SnapshotRequest,
};
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

/// Rows asked for per kline backfill request (Binance's maximum).
pub(crate) const KLINE_PAGE: u32 = 1000;

/// One symbol's bar series of one [`KlineSpec`].
pub(crate) struct KlineSlot {
    pub(crate) spec: KlineSpec,
    pub(crate) builder: KlineBuilder,
    pub(crate) seq: BarSequencer,
    /// No backfill request before this (after a failure or an answer without progress).
    pub(crate) retry_at: Option<Instant>,
    pub(crate) backoff: Backoff,
}

/// The thread's estimate of Binance's clock: the newest event time seen (`E`) plus the
/// local time elapsed since it arrived. It lags the exchange by the network latency, never
/// leads it (at a simulator's speed multiple it lags more), which is the safe side both
/// for closing bars on the clock and for calling a REST row final.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExchangeClock {
    pub(crate) ms: u64,
    pub(crate) at: Instant,
}

impl ExchangeClock {
    #[inline]
    pub(crate) fn now_ms(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.at).as_millis();
        self.ms
            .saturating_add(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }

    /// The local instant at which the estimate reaches `ms`.
    pub(crate) fn instant_of(&self, ms: u64) -> Instant {
        self.at + Duration::from_millis(ms.saturating_sub(self.ms))
    }
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
    /// One per `FeedConfig::klines` entry.
    pub(crate) klines: Vec<KlineSlot>,
    /// No event of this symbol yet since its connection (re)started.
    pub(crate) awaiting_event: bool,
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
    pub(crate) snapshot_limit: u32,
    pub(crate) polls: u64,
    pub(crate) clock: Option<ExchangeClock>,
    /// `FeedConfig::kline_grace` in ms.
    pub(crate) kline_grace_ms: u64,
    /// Reused for the rows of a kline backfill answer (capacity [`KLINE_PAGE`] when klines
    /// are configured).
    pub(crate) rest_rows: Vec<Bar>,
    /// The stream suffixes every symbol is subscribed to (`depth@100ms`, `kline_1m`): a
    /// frame for any other stream is counted as unroutable and skipped.
    pub(crate) streams: Vec<String>,
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
            for k in &s.klines {
                if k.seq.backfill() == Backfill::Wanted {
                    t = t.min(k.retry_at.unwrap_or(t));
                }
                if let (KlineSource::Trades, false, Some(clock), Some(bar)) = (
                    k.spec.source,
                    s.awaiting_event,
                    self.clock,
                    k.builder.current(),
                ) {
                    let due = bar
                        .close_time_ms
                        .saturating_add(1)
                        .saturating_add(self.kline_grace_ms);
                    t = t.min(clock.instant_of(due));
                }
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
        self.tick_klines(now);
        if now >= self.next_stats_at {
            self.next_stats_at = now + self.stats_interval;
            let _ = self.stats_tx.try_send(self.stats());
        }
    }

    /// Closes trade-built bars whose close time (plus the grace) the exchange clock has
    /// passed, and sends the kline backfills that are due.
    fn tick_klines(&mut self, now: Instant) {
        let exchange_now = self
            .clock
            .map(|c| c.now_ms(now).saturating_sub(self.kline_grace_ms));
        for si in 0..self.symbols.len() {
            let MdThread {
                symbols, handler, ..
            } = self;
            let sym = &mut symbols[si];
            let mut wanted = false;
            for (spec, k) in sym.klines.iter_mut().enumerate() {
                if let (KlineSource::Trades, false, Some(t)) =
                    (k.spec.source, sym.awaiting_event, exchange_now)
                {
                    let KlineSlot { builder, seq, .. } = k;
                    let global = sym.global;
                    builder.on_time(t, &mut |bar| {
                        seq.on_live(bar, &mut |b| handler.on_bar(global, spec, b));
                    });
                }
                wanted |= k.seq.backfill() == Backfill::Wanted;
            }
            if wanted {
                self.request_backfills(si, now);
            }
        }
    }

    /// Sends every wanted kline backfill of symbol `si` whose retry time has come.
    #[cold]
    fn request_backfills(&mut self, si: usize, now: Instant) {
        let sym = &mut self.symbols[si];
        for (spec, k) in sym.klines.iter_mut().enumerate() {
            if k.seq.backfill() != Backfill::Wanted || k.retry_at.is_some_and(|t| t > now) {
                continue;
            }
            k.retry_at = None;
            let Some(start_ms) = k.seq.start_backfill() else {
                continue;
            };
            let sent = self.fetcher.request(SnapshotRequest {
                symbol: si,
                query: RestQuery::Klines {
                    spec,
                    interval: k.spec.interval,
                    start_ms,
                    limit: KLINE_PAGE,
                },
            });
            if !sent {
                k.seq.on_rest_failed();
                k.retry_at = Some(now + k.backoff.next_delay());
            }
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
            query: RestQuery::Depth {
                limit: self.snapshot_limit,
            },
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
            s.awaiting_event = true;
            for kline in &mut s.klines {
                kline.seq.on_disconnect();
            }
            if !s.dirty {
                continue;
            }
            // The book starts buffering for the new connection's stream; `reset` keeps
            // every buffer, so a reconnect allocates nothing.
            s.book.reset();
            s.dirty = false;
            s.counters.reconnects += 1;
            self.handler.on_resync(s.global, ResyncReason::Reconnect);
        }
    }

    /// Routes, decodes and applies the text frame in `self.buf`.
    fn on_text(&mut self, ci: usize, recv: quanta::Instant, now: Instant) {
        let conn_global = self.conns[ci].global;
        self.handler.on_frame(conn_global, recv, &self.buf);
        let si = match route(
            &self.buf,
            &self.conns[ci].symbols,
            &self.symbols,
            &self.streams,
        ) {
            Route::Symbol(si) => si,
            Route::Unenveloped => self.conns[ci].symbols[0],
            Route::Unknown => {
                self.conns[ci].unroutable += 1;
                self.warn.warn(
                    WarnKind::Unroutable,
                    now,
                    format_args!("connection {conn_global}: a frame for a stream not subscribed on this connection"),
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
            clock,
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
            }
            _ => sym.counters.messages += 1,
        }
        // Closed bars go out (on_bar) before the frame that closed them (on_event).
        feed_klines(
            KlineTarget {
                global: sym.global,
                name: &sym.name,
                klines: &mut sym.klines,
                awaiting_event: &mut sym.awaiting_event,
            },
            &frame.event,
            clock,
            now,
            handler,
        );
        handler.on_event(sym.global, &frame, &sym.book);
        if need_snapshot && self.symbols[si].book.needs_snapshot() {
            self.request_snapshot(si, now);
        }
        if self.symbols[si]
            .klines
            .iter()
            .any(|k| k.seq.backfill() == Backfill::Wanted)
        {
            self.request_backfills(si, now);
        }
    }

    fn drain_replies(&mut self, now: Instant) {
        while let Ok(reply) = self.replies.try_recv() {
            self.on_snapshot_reply(reply, now);
        }
    }

    fn on_snapshot_reply(&mut self, reply: SnapshotReply, now: Instant) {
        if let RestQuery::Klines { spec, limit, .. } = reply.query {
            self.on_klines_reply(reply.symbol, spec, limit, reply.result, now);
            return;
        }
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

    /// A kline backfill answer: rows parsed into the reused buffer, merged by the
    /// sequencer; failures retried after the spec's backoff.
    #[cold]
    fn on_klines_reply(
        &mut self,
        si: usize,
        spec: usize,
        limit: u32,
        result: Result<Vec<u8>, RestError>,
        now: Instant,
    ) {
        let closed_before = self
            .clock
            .map_or(0, |c| c.now_ms(now).saturating_sub(self.kline_grace_ms));
        let MdThread {
            symbols,
            handler,
            warn,
            rest_rows,
            ..
        } = self;
        let Some(sym) = symbols.get_mut(si) else {
            return;
        };
        let (tick, step) = (sym.decoder.tick(), sym.decoder.step());
        let Some(k) = sym.klines.get_mut(spec) else {
            return;
        };
        if k.seq.backfill() != Backfill::Pending {
            return;
        }
        rest_rows.clear();
        let parsed = match result {
            Ok(body) => parse_kline_rows(&body, k.spec.interval, tick, step, |bar| {
                rest_rows.push(bar)
            })
            .map_err(|e| e.to_string()),
            Err(e) => {
                let delay = k.backoff.next_delay().max(e.retry_after());
                k.seq.on_rest_failed();
                k.retry_at = Some(now + delay);
                warn.warn(
                    WarnKind::Snapshot,
                    now,
                    format_args!(
                        "{} {}: kline backfill failed: {e}; retry in {delay:?}",
                        sym.name, k.spec.interval
                    ),
                );
                return;
            }
        };
        if let Err(why) = parsed {
            let delay = k.backoff.next_delay();
            k.seq.on_rest_failed();
            k.retry_at = Some(now + delay);
            warn.warn(
                WarnKind::Snapshot,
                now,
                format_args!(
                    "{} {}: kline backfill body refused: {why}; retry in {delay:?}",
                    sym.name, k.spec.interval
                ),
            );
            return;
        }
        let global = sym.global;
        let outcome = k.seq.on_rest(
            rest_rows.iter().copied(),
            limit as usize,
            closed_before,
            &mut |b| handler.on_bar(global, spec, b),
        );
        match outcome {
            RestOutcome::Done => {
                k.backoff.reset();
                k.retry_at = None;
            }
            RestOutcome::More => k.retry_at = None,
            RestOutcome::NoProgress => k.retry_at = Some(now + k.backoff.next_delay()),
        }
        self.request_backfills(si, now);
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
                    klines: s
                        .klines
                        .iter()
                        .enumerate()
                        .map(|(spec, k)| KlineSpecStats {
                            spec,
                            interval: k.spec.interval,
                            source: k.spec.source,
                            counters: k.seq.counters(),
                            builder: k.builder.stats(),
                            next_open_ms: k.seq.next_open(),
                        })
                        .collect(),
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

/// The parts of a [`SymbolSlot`] that [`feed_klines`] needs (the decoder stays borrowed by
/// the frame).
struct KlineTarget<'a> {
    global: usize,
    name: &'a str,
    klines: &'a mut [KlineSlot],
    awaiting_event: &'a mut bool,
}

/// The exchange time of a market event (`E`), if it has one.
#[inline]
fn event_time_ms(event: &Event<'_>) -> Option<u64> {
    match event {
        Event::Trade(t) => Some(t.event_time_ms),
        Event::AggTrade(a) => Some(a.event_time_ms),
        Event::Kline(k) => Some(k.event_time_ms),
        Event::DepthUpdate(d) => Some(d.event_time_ms),
        _ => None,
    }
}

/// Moves the exchange clock, marks the symbol's first event after a (re)connect, and
/// feeds trades and stream klines to the symbol's builders; closed bars go through the
/// sequencers to [`FeedHandler::on_bar`]. Allocation-free.
#[inline]
fn feed_klines<H: FeedHandler>(
    sym: KlineTarget<'_>,
    event: &Event<'_>,
    clock: &mut Option<ExchangeClock>,
    now: Instant,
    handler: &mut H,
) {
    let Some(event_ms) = event_time_ms(event) else {
        return;
    };
    if clock.is_none_or(|c| event_ms >= c.ms) {
        *clock = Some(ExchangeClock {
            ms: event_ms,
            at: now,
        });
    }
    if sym.klines.is_empty() {
        return;
    }
    if *sym.awaiting_event {
        *sym.awaiting_event = false;
        for k in sym.klines.iter_mut() {
            k.seq.on_first_event(event_ms);
        }
    }
    let global = sym.global;
    match event {
        Event::Trade(t) if t.symbol.eq_ignore_ascii_case(sym.name) => {
            for (spec, k) in sym.klines.iter_mut().enumerate() {
                if k.spec.source != KlineSource::Trades {
                    continue;
                }
                let KlineSlot { builder, seq, .. } = k;
                builder.on_trade(
                    t.trade_id,
                    t.trade_time_ms,
                    t.price_ticks,
                    t.qty_lots,
                    t.buyer_is_maker,
                    &mut |bar| seq.on_live(bar, &mut |b| handler.on_bar(global, spec, b)),
                );
            }
        }
        Event::Kline(kline) if kline.symbol.eq_ignore_ascii_case(sym.name) => {
            for (spec, k) in sym.klines.iter_mut().enumerate() {
                if k.spec.source != KlineSource::Stream
                    || k.spec.interval.as_str() != kline.interval
                {
                    continue;
                }
                let KlineSlot { builder, seq, .. } = k;
                let taken = builder.on_kline(kline, &mut |bar| {
                    seq.on_live(bar, &mut |b| handler.on_bar(global, spec, b))
                });
                if taken.is_err() {
                    seq.note_kline_error();
                }
            }
        }
        _ => {}
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

/// Reads the stream name from the envelope's leading `{"stream":"<symbol>@<stream>"`
/// without parsing the frame (the decoder to parse with depends on it) and routes it to
/// the connection's symbol when `<stream>` is one of the streams subscribed (`streams`,
/// the suffixes after `@`). Binance always writes `stream` first; a frame with `data` first
/// is decoded as unenveloped. A stream this feed never asked for is bad input, whatever its
/// body says: it is not decoded.
#[inline]
fn route(
    frame: &[u8],
    conn_symbols: &[usize],
    symbols: &[SymbolSlot],
    streams: &[String],
) -> Route {
    const PREFIX: &[u8] = b"{\"stream\":\"";
    let Some(rest) = frame.strip_prefix(PREFIX) else {
        return Route::Unenveloped;
    };
    let Some(quote) = rest.iter().position(|&b| b == b'"') else {
        return Route::Unknown;
    };
    let Some((name, stream)) = rest[..quote]
        .iter()
        .position(|&b| b == b'@')
        .map(|at| (&rest[..at], &rest[at + 1..quote]))
    else {
        return Route::Unknown;
    };
    if !streams.iter().any(|s| s.as_bytes() == stream) {
        return Route::Unknown;
    }
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
            klines: Vec::new(),
            awaiting_event: true,
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
            (r#"{"stream":"ethusdt"#, Route::Unknown),
            // TC6: empty frame
            ("", Route::Unenveloped),
            // TC7: a stream name without `@`
            (r#"{"stream":"ethusdt","data":{}}"#, Route::Unknown),
            // TC8: a stream that was not subscribed
            (
                r#"{"stream":"ethusdt@simUnknownStream","data":{}}"#,
                Route::Unknown,
            ),
            (r#"{"stream":"ethusdt@depth","data":{}}"#, Route::Unknown),
            // TC10: a subscribed kline stream
            (
                r#"{"stream":"ethusdt@kline_1m","data":{}}"#,
                Route::Symbol(1),
            ),
        ];
        let streams: Vec<String> = ["depth@100ms", "trade", "kline_1m"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for (i, (frame, want)) in cases.iter().enumerate() {
            assert_eq!(
                route(frame.as_bytes(), &conn, &symbols, &streams),
                *want,
                "TC{i}"
            );
        }
    }
}
