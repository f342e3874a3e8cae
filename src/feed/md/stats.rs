//! Counters the md threads keep and hand over, and the rate limit on their warnings.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::feed::binance::DecodeError;
use crate::feed::kline_builder::{BarInterval, KlineStats};
use crate::feed::md::config::KlineSource;
use crate::feed::rest::RestStats;
use crate::feed::ws::conn::{ConnCounters, ConnState};

/// Decode errors of one symbol, by [`DecodeError`] kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeErrorCounts {
    /// [`DecodeError::Json`].
    pub json: u64,
    /// [`DecodeError::Missing`].
    pub missing: u64,
    /// [`DecodeError::WrongType`].
    pub wrong_type: u64,
    /// [`DecodeError::Number`].
    pub number: u64,
    /// [`DecodeError::UnknownEvent`].
    pub unknown_event: u64,
    /// [`DecodeError::UnknownMessage`].
    pub unknown_message: u64,
}

impl DecodeErrorCounts {
    /// Counts one error.
    #[inline]
    pub fn add(&mut self, e: DecodeError) {
        match e {
            DecodeError::Json => self.json += 1,
            DecodeError::Missing(_) => self.missing += 1,
            DecodeError::WrongType(_) => self.wrong_type += 1,
            DecodeError::Number { .. } => self.number += 1,
            DecodeError::UnknownEvent => self.unknown_event += 1,
            DecodeError::UnknownMessage => self.unknown_message += 1,
        }
    }

    /// All kinds together.
    pub fn total(&self) -> u64 {
        self.json
            + self.missing
            + self.wrong_type
            + self.number
            + self.unknown_event
            + self.unknown_message
    }
}

/// Counters of one symbol (since start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SymbolCounters {
    /// Text frames routed to this symbol.
    pub messages: u64,
    /// `depthUpdate` diffs decoded.
    pub depth_updates: u64,
    /// Frames that did not decode, by kind.
    pub decode_errors: DecodeErrorCounts,
    /// Diffs that did not continue the book (lost or reordered messages, crossed book,
    /// refused level): each makes the book re-sync.
    pub gaps: u64,
    /// Times the pre-snapshot buffer overflowed.
    pub buffer_overflows: u64,
    /// Old duplicate diffs ignored.
    pub duplicates: u64,
    /// Snapshots applied that left the book synced.
    pub resyncs: u64,
    /// Snapshot requests sent to the fetcher.
    pub snapshot_requests: u64,
    /// Snapshot requests that failed (HTTP, rate limit, undecodable body).
    pub snapshot_failures: u64,
    /// Snapshots that arrived but could not be used (older than the buffered diffs).
    pub snapshots_rejected: u64,
    /// Book resets because the symbol's connection went down.
    pub reconnects: u64,
}

/// What one symbol's bar sequencer of one kline spec did (since start). Non-zero
/// `hold_overflows` or `backfill_failures` cost REST weight, never bars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KlineCounters {
    /// Bars handed to `FeedHandler::on_bar`.
    pub emitted: u64,
    /// Of those, bars from the live source (stream klines or the trade builder).
    pub live: u64,
    /// Of those, bars from a REST backfill (their `f`/`L` are -1).
    pub from_rest: u64,
    /// Live bars dropped because a bar with that open time was already emitted or held.
    pub duplicates: u64,
    /// Trade-built bars not trusted (their interval saw a disconnect, or the feed started
    /// inside it) and taken from REST instead.
    pub tainted: u64,
    /// Live bars dropped because the hold queue was full (re-fetched over REST).
    pub hold_overflows: u64,
    /// Backfill requests started.
    pub backfill_requests: u64,
    /// Backfill requests that failed (HTTP, rate limit, unreadable body) and were retried.
    pub backfill_failures: u64,
    /// Kline stream events the builder refused (wrong interval, misaligned, bad quote
    /// volume).
    pub kline_errors: u64,
}

/// One kline spec's state for one symbol at the time of the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KlineSpecStats {
    /// Index into `FeedConfig::klines`.
    pub spec: usize,
    /// The spec's interval.
    pub interval: BarInterval,
    /// The spec's source.
    pub source: KlineSource,
    /// The sequencer's counters.
    pub counters: KlineCounters,
    /// The builder's counters (late and duplicate trades, missed closes, ...).
    pub builder: KlineStats,
    /// Open time of the next bar to emit (`None` before the first).
    pub next_open_ms: Option<u64>,
}

/// A symbol's counters and book state at the time of the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolStats {
    /// Index into the configured symbols.
    pub symbol: usize,
    /// The symbol's name.
    pub name: String,
    /// The counters.
    pub counters: SymbolCounters,
    /// Whether the book is synced.
    pub synced: bool,
    /// The book's last update id (meaningful when synced).
    pub last_update_id: u64,
    /// Per kline spec, in `FeedConfig::klines` order.
    pub klines: Vec<KlineSpecStats>,
}

/// A connection's counters and state at the time of the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnStats {
    /// Global connection number.
    pub conn: usize,
    /// The URL.
    pub url: String,
    /// The state.
    pub state: ConnState,
    /// The connection's own counters.
    pub counters: ConnCounters,
    /// Frames that could not be attributed to one of the connection's symbols.
    pub unroutable: u64,
    /// Control replies received (SUBSCRIBE acknowledgements and errors).
    pub control_replies: u64,
    /// Why it last went down.
    pub last_error: String,
}

/// One md thread's stats.
#[derive(Debug, Clone)]
pub struct ThreadStats {
    /// Thread number.
    pub thread: usize,
    /// The core it was asked to pin to.
    pub core: Option<usize>,
    /// Whether pinning worked (`None` when no core was given).
    pub pinned: Option<bool>,
    /// Whether it busy-polls.
    pub busy_poll: bool,
    /// Loop iterations (polls) so far.
    pub polls: u64,
    /// Per symbol.
    pub symbols: Vec<SymbolStats>,
    /// Per connection.
    pub connections: Vec<ConnStats>,
    /// Receive stamp (socket read) to book applied, in ns, for every applied depth diff.
    pub depth_latency_ns: Histogram<u64>,
    /// The thread's snapshot fetcher.
    pub rest: RestStats,
}

/// Every thread's stats.
#[derive(Debug, Clone, Default)]
pub struct FeedStats {
    /// One entry per md thread, in thread order; a thread that did not answer (stopped)
    /// shows its last periodic copy or is missing.
    pub threads: Vec<ThreadStats>,
}

impl FeedStats {
    /// The stats of the symbol with this config index.
    pub fn symbol(&self, symbol: usize) -> Option<&SymbolStats> {
        self.threads
            .iter()
            .flat_map(|t| t.symbols.iter())
            .find(|s| s.symbol == symbol)
    }

    /// The stats of the connection with this global number.
    pub fn connection(&self, conn: usize) -> Option<&ConnStats> {
        self.threads
            .iter()
            .flat_map(|t| t.connections.iter())
            .find(|c| c.conn == conn)
    }

    /// All threads' depth latency histograms added together.
    pub fn depth_latency_ns(&self) -> Option<Histogram<u64>> {
        let mut it = self.threads.iter();
        let mut h = it.next()?.depth_latency_ns.clone();
        for t in it {
            // Same bounds everywhere: adding cannot fail; ignore the impossible error.
            let _ = h.add(&t.depth_latency_ns);
        }
        Some(h)
    }
}

/// The percentiles the project reports for every latency (HDR, ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LatencySummary {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest sample.
    pub max_ns: u64,
}

impl LatencySummary {
    /// Reads the percentiles off a histogram of nanoseconds.
    pub fn of(h: &Histogram<u64>) -> LatencySummary {
        LatencySummary {
            count: h.len(),
            p50_ns: h.value_at_quantile(0.50),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
        }
    }
}

impl std::fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "n={} p50={:.1}us p99={:.1}us p99.9={:.1}us max={:.1}us",
            self.count,
            self.p50_ns as f64 / 1e3,
            self.p99_ns as f64 / 1e3,
            self.p999_ns as f64 / 1e3,
            self.max_ns as f64 / 1e3
        )
    }
}

/// Kinds of warning, each limited to one line a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarnKind {
    /// A frame did not decode.
    Decode,
    /// A frame could not be routed to a symbol.
    Unroutable,
    /// A connection went down.
    Disconnect,
    /// A snapshot failed or was unusable.
    Snapshot,
    /// A SUBSCRIBE was refused.
    Subscribe,
    /// A book lost sync.
    Gap,
}

const KINDS: usize = 6;

/// At most one stderr line a second per [`WarnKind`]; the lines in between are counted
/// and the count is printed with the next line.
#[derive(Debug, Clone)]
pub struct WarnLimiter {
    last: [Option<Instant>; KINDS],
    suppressed: [u64; KINDS],
    prefix: String,
}

impl WarnLimiter {
    /// A limiter whose lines start with `prefix` (e.g. `pinewire md0`).
    pub fn new(prefix: String) -> WarnLimiter {
        WarnLimiter {
            last: [None; KINDS],
            suppressed: [0; KINDS],
            prefix,
        }
    }

    /// Whether a line of `kind` may be printed now; if not, it is counted as suppressed.
    pub fn allow(&mut self, kind: WarnKind, now: Instant) -> bool {
        let k = kind as usize;
        match self.last[k] {
            Some(t) if now.duration_since(t) < Duration::from_secs(1) => {
                self.suppressed[k] += 1;
                false
            }
            _ => {
                self.last[k] = Some(now);
                true
            }
        }
    }

    /// Prints `msg` to stderr unless a line of this kind went out less than a second ago.
    #[cold]
    pub fn warn(&mut self, kind: WarnKind, now: Instant, msg: std::fmt::Arguments<'_>) {
        if self.allow(kind, now) {
            let k = kind as usize;
            let n = std::mem::take(&mut self.suppressed[k]);
            if n > 0 {
                eprintln!("{}: {msg} ({n} more like it suppressed)", self.prefix);
            } else {
                eprintln!("{}: {msg}", self.prefix);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_by_kind() {
        let mut c = DecodeErrorCounts::default();
        let errors = [
            DecodeError::Json,
            DecodeError::Missing("E"),
            DecodeError::WrongType("u"),
            DecodeError::UnknownEvent,
            DecodeError::UnknownMessage,
            DecodeError::Json,
        ];
        for e in errors {
            c.add(e);
        }
        // TC0: each kind lands in its own counter
        assert_eq!(
            (
                c.json,
                c.missing,
                c.wrong_type,
                c.number,
                c.unknown_event,
                c.unknown_message
            ),
            (2, 1, 1, 0, 1, 1),
            "TC0"
        );
        // TC1: total
        assert_eq!(c.total(), 6, "TC1");
    }

    #[test]
    fn warnings_are_rate_limited_per_kind() {
        let mut w = WarnLimiter::new("t".into());
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let cases = [
            // TC0: first line of a kind goes out
            (WarnKind::Decode, t0, true),
            // TC1: same kind within a second: suppressed
            (WarnKind::Decode, t0 + ms(500), false),
            // TC2: another kind is independent
            (WarnKind::Gap, t0 + ms(500), true),
            // TC3: a second later the kind may speak again
            (WarnKind::Decode, t0 + ms(1000), true),
            // TC4
            (WarnKind::Decode, t0 + ms(1999), false),
        ];
        for (i, (kind, at, want)) in cases.iter().enumerate() {
            assert_eq!(w.allow(*kind, *at), *want, "TC{i}");
        }
    }
}
