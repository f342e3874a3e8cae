//! Replay of a recorded Binance capture (`<local ns> <raw json>` gzip lines, the format of
//! the bundled hftbacktest capture and of `pinewire record`).
//!
//! The replay starts at the capture's REST depth snapshot (earlier lines are not sent: the
//! book is unknown before it, but diffs recorded before the snapshot line with
//! `u > lastUpdateId` are applied, as Binance's local-book procedure buffers them) and
//! keeps its own book from the snapshot and the recorded diffs (those with
//! `u > lastUpdateId`). Market time is the local receive stamp, in
//! 100 ms steps. Each step sends the recorded bodies of `depth@100ms`, `bookTicker` and
//! `trade` unchanged (their `E` is the exchange's clock), and derives what the capture
//! lacks:
//! * `depth` (1000 ms): the diffs of 10 steps merged (`U` of the first, `u` of the last,
//!   `E` of the last);
//! * partial depth (5/10/20, 100 ms and 1000 ms) from its own book;
//! * `aggTrade`: consecutive trades with the same price, side and trade time merged (ids
//!   start at the first trade's id); an aggregate is closed by the next trade that does
//!   not extend it or at the end of the step;
//! * klines from the trades (exchange time), see [`super::klines`].
//!
//! Events without an exchange time (bookTicker, derived partial depth) are stamped with
//! the receive time shifted by the latest exchange-minus-local clock offset.
//!
//! While replaying, it checks the capture against itself: every recorded bookTicker whose
//! id is one a diff ends on is compared with its book at that id ([`ReplayMarket::checks`]).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::book::{BookSide, DiffBatch, Scale, SimBook, Top};
use super::json::{self, AggTrade, RestTrade};
use super::klines::Klines;
use super::symbols;
use super::synth::partial_depth;
use crate::feed::capture::{CaptureError, CaptureReader};
use crate::sim::source::{
    KlineInterval, MarketSource, RestError, SimMessage, StreamKey, StreamKind, SymbolInfo,
};

const STEP_MS: i64 = 100;
const RECENT_TRADES: usize = 1000;
/// Recorded tickers waiting for the book to reach their id (bounded like the feed's).
const PENDING_TICKERS: usize = 1 << 14;
/// Diffs (and tickers) kept from before the snapshot line.
const PRE_SNAPSHOT_BUFFER: usize = 4096;

/// Why a capture cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A file could not be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// No `GET /api/v3/depth` snapshot line: the book can never be known.
    #[error(
        "{files}: no REST depth snapshot line ({{\"lastUpdateId\":..}}) in the capture; record \
         with the snapshot (pinewire record does) or use another capture"
    )]
    NoSnapshot {
        /// The files, comma-separated.
        files: String,
    },
    /// The snapshot line is not a valid depth body.
    #[error("{path}:{line}: bad depth snapshot: {why}")]
    BadSnapshot {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        why: String,
    },
    /// No stream message names the symbol.
    #[error("{files}: no stream message to take the symbol from")]
    NoSymbol {
        /// The files, comma-separated.
        files: String,
    },
}

/// What the replay found about the capture while replaying it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayChecks {
    /// Recorded bookTickers compared with the book at their id.
    pub tickers_checked: u64,
    /// Of those, how many differed.
    pub tickers_mismatched: u64,
    /// Diffs whose `U` was not the previous `u + 1` (applied anyway).
    pub gaps: u64,
    /// Lines that were not a message the replay understands (skipped).
    pub skipped_lines: u64,
}

#[derive(Debug, Clone)]
enum RecKind {
    Depth {
        event_ms: i64,
        first_id: u64,
        last_id: u64,
        bids: Vec<(i64, i64)>,
        asks: Vec<(i64, i64)>,
        body: Arc<str>,
    },
    Ticker {
        update_id: u64,
        bid: (i64, i64),
        ask: (i64, i64),
        body: Arc<str>,
    },
    Trade {
        event_ms: i64,
        id: i64,
        price: i64,
        qty: i64,
        trade_ms: i64,
        buyer_is_maker: bool,
        body: Arc<str>,
    },
}

#[derive(Debug, Clone)]
struct Rec {
    recv_ms: i64,
    kind: RecKind,
}

#[derive(Deserialize)]
struct WireDepth<'a> {
    #[serde(rename = "E")]
    event_ms: i64,
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "U")]
    first_id: u64,
    #[serde(rename = "u")]
    last_id: u64,
    #[serde(borrow, rename = "b")]
    bids: Vec<(&'a str, &'a str)>,
    #[serde(borrow, rename = "a")]
    asks: Vec<(&'a str, &'a str)>,
}

#[derive(Deserialize)]
struct WireTicker<'a> {
    #[serde(rename = "u")]
    update_id: u64,
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "b")]
    bid_price: &'a str,
    #[serde(rename = "B")]
    bid_qty: &'a str,
    #[serde(rename = "a")]
    ask_price: &'a str,
    #[serde(rename = "A")]
    ask_qty: &'a str,
}

#[derive(Deserialize)]
struct WireTrade<'a> {
    #[serde(rename = "E")]
    event_ms: i64,
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "t")]
    id: i64,
    #[serde(rename = "p")]
    price: &'a str,
    #[serde(rename = "q")]
    qty: &'a str,
    #[serde(rename = "T")]
    trade_ms: i64,
    #[serde(rename = "m")]
    buyer_is_maker: bool,
}

#[derive(Deserialize)]
struct WireSnapshot<'a> {
    #[serde(rename = "lastUpdateId")]
    last_update_id: u64,
    #[serde(borrow)]
    bids: Vec<(&'a str, &'a str)>,
    #[serde(borrow)]
    asks: Vec<(&'a str, &'a str)>,
}

fn e8(text: &str) -> Option<i64> {
    json::parse_e8(text)
}

fn levels(pairs: &[(&str, &str)]) -> Option<Vec<(i64, i64)>> {
    pairs.iter().map(|(p, q)| Some((e8(p)?, e8(q)?))).collect()
}

/// Splits a recorded line into (stream suffix, body): the combined-stream wrapper
/// `{"stream":"btcusdt@trade","data":{..}}` or a bare body.
fn unwrap(json: &str) -> (Option<&str>, &str) {
    const HEAD: &str = "{\"stream\":\"";
    if let Some(rest) = json.strip_prefix(HEAD) {
        if let Some((stream, data)) = rest.split_once("\",\"data\":") {
            if let Some(body) = data.strip_suffix('}') {
                let kind = stream.split_once('@').map(|(_, k)| k);
                return (kind, body);
            }
        }
    }
    (None, json)
}

/// Parses one stream message; `None` for anything else (unknown streams, snapshots).
fn parse_record(recv_ns: u64, json: &str, symbol: &mut Option<String>) -> Option<Rec> {
    let recv_ms = (recv_ns / 1_000_000) as i64;
    let (stream, body) = unwrap(json);
    let is = |name: &str, prefix: &str| match stream {
        Some(s) => s == name || (name == "depth" && s.starts_with("depth@")),
        None => body.starts_with(prefix),
    };
    let note_symbol = |symbol: &mut Option<String>, s: &str| {
        if symbol.is_none() {
            *symbol = Some(s.to_string());
        }
    };
    let kind = if is("depth", "{\"e\":\"depthUpdate\"") {
        let d: WireDepth = serde_json::from_str(body).ok()?;
        note_symbol(symbol, d.symbol);
        RecKind::Depth {
            event_ms: d.event_ms,
            first_id: d.first_id,
            last_id: d.last_id,
            bids: levels(&d.bids)?,
            asks: levels(&d.asks)?,
            body: Arc::from(body),
        }
    } else if is("bookTicker", "{\"u\":") {
        let t: WireTicker = serde_json::from_str(body).ok()?;
        note_symbol(symbol, t.symbol);
        RecKind::Ticker {
            update_id: t.update_id,
            bid: (e8(t.bid_price)?, e8(t.bid_qty)?),
            ask: (e8(t.ask_price)?, e8(t.ask_qty)?),
            body: Arc::from(body),
        }
    } else if is("trade", "{\"e\":\"trade\"") {
        let t: WireTrade = serde_json::from_str(body).ok()?;
        note_symbol(symbol, t.symbol);
        RecKind::Trade {
            event_ms: t.event_ms,
            id: t.id,
            price: e8(t.price)?,
            qty: e8(t.qty)?,
            trade_ms: t.trade_ms,
            buyer_is_maker: t.buyer_is_maker,
            body: Arc::from(body),
        }
    } else {
        return None;
    };
    Some(Rec { recv_ms, kind })
}

/// Decimals of a decimal string without its trailing zeros.
fn decimals(text: &str) -> u8 {
    text.split_once('.')
        .map_or(0, |(_, f)| f.trim_end_matches('0').len().min(8) as u8)
}

/// A market replaying one symbol's capture. Build with [`ReplayMarket::open`].
pub struct ReplayMarket {
    infos: Vec<SymbolInfo>,
    reader: CaptureReader,
    ahead: Option<Rec>,
    reader_done: bool,
    book: SimBook,
    batch_slow: DiffBatch,
    last_depth_event_ms: i64,
    klines: Klines,
    /// Start of the next step (local clock, ms).
    clock_ms: i64,
    offset_ms: i64,
    pending_agg: Option<AggTrade>,
    next_agg_id: Option<i64>,
    recent: VecDeque<RestTrade>,
    pending_tickers: VecDeque<(u64, Top)>,
    checks: ReplayChecks,
    last_error: Option<String>,
}

impl std::fmt::Debug for ReplayMarket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayMarket")
            .field("symbol", &self.infos[0].symbol)
            .field("clock_ms", &self.clock_ms)
            .field("last_update_id", &self.book.last_update_id())
            .field("checks", &self.checks)
            .finish()
    }
}

impl ReplayMarket {
    /// Opens the capture `paths` (read in order as one stream), reads up to and including
    /// its REST depth snapshot and the first message after it.
    pub fn open(paths: &[PathBuf]) -> Result<ReplayMarket, ReplayError> {
        let files = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut reader = CaptureReader::new(paths);
        let mut symbol: Option<String> = None;
        let mut snapshot_line: Option<(String, u64, u64)> = None;
        let mut before: VecDeque<Rec> = VecDeque::new();
        while let Some(rec) = reader.next() {
            let rec = rec?;
            let line = rec.line;
            let recv_ns = rec.recv_ns;
            let Ok(json) = std::str::from_utf8(rec.json) else {
                continue;
            };
            if json.starts_with("{\"lastUpdateId\"") {
                snapshot_line = Some((json.to_string(), line, recv_ns));
                break;
            }
            // Before the snapshot: diffs are buffered (the snapshot usually arrives after
            // the diff that straddles its id, as Binance's procedure expects), tickers
            // too (for the self-check); the rest only tells the symbol.
            if let Some(rec) = parse_record(recv_ns, json, &mut symbol) {
                if matches!(rec.kind, RecKind::Depth { .. } | RecKind::Ticker { .. }) {
                    if before.len() == PRE_SNAPSHOT_BUFFER {
                        before.pop_front();
                    }
                    before.push_back(rec);
                }
            }
        }
        let (text, line, recv_ns) = snapshot_line.ok_or_else(|| ReplayError::NoSnapshot {
            files: files.clone(),
        })?;
        let path = reader
            .current_file()
            .map_or_else(PathBuf::new, Path::to_path_buf);
        let bad = |why: String| ReplayError::BadSnapshot {
            path: path.clone(),
            line,
            why,
        };
        let s: WireSnapshot = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let mut book = SimBook::new(s.last_update_id);
        let mut price_decimals = 0u8;
        for (side, pairs) in [(BookSide::Bid, &s.bids), (BookSide::Ask, &s.asks)] {
            for (p, q) in pairs.iter() {
                let (Some(price), Some(qty)) = (e8(p), e8(q)) else {
                    return Err(bad(format!("level [{p:?}, {q:?}] is not two decimals")));
                };
                price_decimals = price_decimals.max(decimals(p));
                book.set(side, price, qty);
            }
        }
        let snapshot_ms = (recv_ns / 1_000_000) as i64;
        let mut market = ReplayMarket {
            infos: Vec::new(),
            reader,
            ahead: None,
            reader_done: false,
            batch_slow: DiffBatch::default(),
            last_depth_event_ms: snapshot_ms,
            klines: Klines::new(0, "", Scale::E8, 0),
            clock_ms: snapshot_ms - snapshot_ms.rem_euclid(STEP_MS),
            offset_ms: 0,
            pending_agg: None,
            next_agg_id: None,
            recent: VecDeque::with_capacity(RECENT_TRADES),
            pending_tickers: VecDeque::with_capacity(1024),
            checks: ReplayChecks::default(),
            last_error: None,
            book,
        };
        // Buffered diffs with `u > lastUpdateId` bring the book to the replay's start; they
        // are not sent again (they happened before it).
        for rec in before {
            market.process(rec, &|_| false, &mut Vec::new());
        }
        market.batch_slow.clear();
        market.read_ahead(&mut symbol);
        let symbol = symbol.ok_or(ReplayError::NoSymbol { files })?;
        let info = symbols::lookup(&symbol, price_decimals);
        let initial = market.book.top().bid.map_or(0, |(p, _)| p);
        market.klines = Klines::new(0, &symbol, Scale::E8, initial);
        market.infos = vec![info];
        Ok(market)
    }

    /// What the replay has found so far (see [`ReplayChecks`]).
    pub fn checks(&self) -> ReplayChecks {
        self.checks
    }

    /// The last read error, if reading stopped early because of one.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// The replay's own book (prices and quantities in `1e-8` units).
    pub fn book(&self) -> &SimBook {
        &self.book
    }

    fn read_ahead(&mut self, symbol: &mut Option<String>) {
        self.ahead = None;
        while !self.reader_done {
            match self.reader.next() {
                None => self.reader_done = true,
                Some(Err(e)) => {
                    self.last_error = Some(e.to_string());
                    self.reader_done = true;
                }
                Some(Ok(rec)) => {
                    let parsed = std::str::from_utf8(rec.json)
                        .ok()
                        .and_then(|json| parse_record(rec.recv_ns, json, symbol));
                    match parsed {
                        Some(r) => {
                            self.ahead = Some(r);
                            return;
                        }
                        None => self.checks.skipped_lines += 1,
                    }
                }
            }
        }
    }

    fn symbol(&self) -> &str {
        &self.infos[0].symbol
    }

    fn key(kind: StreamKind) -> StreamKey {
        StreamKey { symbol: 0, kind }
    }

    /// Compares queued tickers whose id the book has reached.
    fn drain_tickers(&mut self) {
        let last = self.book.last_update_id();
        while let Some(&(u, top)) = self.pending_tickers.front() {
            if u > last {
                break;
            }
            self.pending_tickers.pop_front();
            if u == last {
                self.checks.tickers_checked += 1;
                if self.book.top() != top {
                    self.checks.tickers_mismatched += 1;
                }
            }
        }
    }

    fn process(
        &mut self,
        rec: Rec,
        wanted: &dyn Fn(&StreamKey) -> bool,
        out: &mut Vec<SimMessage>,
    ) {
        match rec.kind {
            RecKind::Depth {
                event_ms,
                first_id,
                last_id,
                bids,
                asks,
                body,
            } => {
                self.offset_ms = event_ms - rec.recv_ms;
                let key = Self::key(StreamKind::Depth { fast: true });
                if wanted(&key) {
                    out.push(SimMessage {
                        stream: key,
                        event_time_ms: event_ms,
                        payload: body,
                    });
                }
                let last = self.book.last_update_id();
                if last_id > last {
                    if first_id > last + 1 {
                        self.checks.gaps += 1;
                    }
                    for (side, levels) in [(BookSide::Bid, &bids), (BookSide::Ask, &asks)] {
                        for &(p, q) in levels.iter() {
                            self.book.set(side, p, q);
                            self.batch_slow.record(side, p, q);
                        }
                    }
                    self.batch_slow.note_id(first_id.max(last + 1));
                    self.batch_slow.note_id(last_id);
                    self.book.set_last_update_id(last_id);
                    self.last_depth_event_ms = event_ms;
                }
            }
            RecKind::Ticker {
                update_id,
                bid,
                ask,
                body,
            } => {
                let key = Self::key(StreamKind::BookTicker);
                if wanted(&key) {
                    out.push(SimMessage {
                        stream: key,
                        event_time_ms: rec.recv_ms + self.offset_ms,
                        payload: body,
                    });
                }
                if self.pending_tickers.len() == PENDING_TICKERS {
                    self.pending_tickers.pop_front();
                }
                self.pending_tickers.push_back((
                    update_id,
                    Top {
                        bid: Some(bid),
                        ask: Some(ask),
                    },
                ));
            }
            RecKind::Trade {
                event_ms,
                id,
                price,
                qty,
                trade_ms,
                buyer_is_maker,
                body,
            } => {
                self.offset_ms = event_ms - rec.recv_ms;
                if let Some(agg) = self.pending_agg {
                    if agg.price_e8 != price
                        || agg.buyer_is_maker != buyer_is_maker
                        || agg.trade_ms != trade_ms
                    {
                        self.flush_agg(wanted, out);
                    }
                }
                let key = Self::key(StreamKind::Trade);
                if wanted(&key) {
                    out.push(SimMessage {
                        stream: key,
                        event_time_ms: event_ms,
                        payload: body,
                    });
                }
                match &mut self.pending_agg {
                    Some(agg) => {
                        agg.qty_e8 += qty;
                        agg.last_id = id;
                        agg.event_ms = event_ms;
                    }
                    None => {
                        let agg_id = *self.next_agg_id.get_or_insert(id);
                        self.next_agg_id = Some(agg_id + 1);
                        self.pending_agg = Some(AggTrade {
                            agg_id,
                            price_e8: price,
                            qty_e8: qty,
                            first_id: id,
                            last_id: id,
                            trade_ms,
                            event_ms,
                            buyer_is_maker,
                        });
                    }
                }
                self.klines.advance(trade_ms, true, wanted, out);
                self.klines.on_trade(id, price, qty, buyer_is_maker);
                if self.recent.len() == RECENT_TRADES {
                    self.recent.pop_front();
                }
                self.recent.push_back(RestTrade {
                    id,
                    price_e8: price,
                    qty_e8: qty,
                    time_ms: trade_ms,
                    buyer_is_maker,
                });
            }
        }
        self.drain_tickers();
    }

    fn flush_agg(&mut self, wanted: &dyn Fn(&StreamKey) -> bool, out: &mut Vec<SimMessage>) {
        if let Some(agg) = self.pending_agg.take() {
            let key = Self::key(StreamKind::AggTrade);
            if wanted(&key) {
                let mut body = String::with_capacity(200);
                json::agg_trade(&mut body, self.symbol(), &agg);
                out.push(SimMessage {
                    stream: key,
                    event_time_ms: agg.event_ms,
                    payload: Arc::from(body),
                });
            }
        }
    }
}

impl MarketSource for ReplayMarket {
    fn symbols(&self) -> &[SymbolInfo] {
        &self.infos
    }

    fn next_time_ms(&self) -> Option<i64> {
        self.ahead.as_ref().map(|_| self.clock_ms + STEP_MS)
    }

    fn step(&mut self, wanted: &dyn Fn(&StreamKey) -> bool, out: &mut Vec<SimMessage>) -> bool {
        if self.ahead.is_none() {
            return false;
        }
        let t_next = self.clock_ms + STEP_MS;
        let mut symbol = Some(self.symbol().to_string());
        while let Some(rec) = self.ahead.take() {
            if rec.recv_ms >= t_next {
                self.ahead = Some(rec);
                break;
            }
            self.process(rec, wanted, out);
            self.read_ahead(&mut symbol);
        }
        self.flush_agg(wanted, out);
        let slow_due = t_next % 1000 == 0;
        let now_ex = t_next + self.offset_ms;
        if slow_due {
            let key = Self::key(StreamKind::Depth { fast: false });
            if wanted(&key) {
                if let Some(body) =
                    self.batch_slow
                        .to_json(self.symbol(), self.last_depth_event_ms, Scale::E8)
                {
                    out.push(SimMessage {
                        stream: key,
                        event_time_ms: self.last_depth_event_ms,
                        payload: Arc::from(body),
                    });
                }
            }
            self.batch_slow.clear();
        }
        partial_depth(0, &self.book, Scale::E8, now_ex, slow_due, wanted, out);
        self.klines.advance(now_ex, true, wanted, out);
        self.clock_ms = t_next;
        true
    }

    fn depth_snapshot(&self, symbol: usize, limit: usize) -> String {
        let limit = if symbol == 0 { limit } else { 0 };
        self.book.levels_json(limit, Scale::E8)
    }

    fn last_update_id(&self, _symbol: usize) -> u64 {
        self.book.last_update_id()
    }

    fn klines(
        &self,
        symbol: usize,
        interval: KlineInterval,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        limit: usize,
    ) -> Result<String, RestError> {
        if symbol != 0 {
            return Err(RestError::InvalidSymbol);
        }
        self.klines.rest(interval, start_ms, end_ms, limit)
    }

    fn recent_trades(&self, symbol: usize, limit: usize) -> String {
        let mut out = String::new();
        if symbol == 0 {
            let skip = self.recent.len().saturating_sub(limit);
            json::rest_trades(&mut out, self.recent.iter().skip(skip));
        } else {
            out.push_str("[]");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/binance/ws_capture");

    fn files() -> Vec<PathBuf> {
        vec![
            PathBuf::from(format!("{DIR}/btcusdt_20240808.gz")),
            PathBuf::from(format!("{DIR}/btcusdt_20240809.gz")),
        ]
    }

    /// An independent book: snapshot + every diff with `u > lastUpdateId` (those recorded
    /// before the snapshot line too), read with serde_json values from the capture.
    fn reference_book() -> (BTreeMap<i64, i64>, BTreeMap<i64, i64>, u64) {
        let mut reader = CaptureReader::new(&files());
        let mut bids = BTreeMap::new();
        let mut asks = BTreeMap::new();
        let mut last: Option<u64> = None;
        let num = |v: &serde_json::Value| e8(v.as_str().expect("string")).expect("decimal");
        let mut early: Vec<serde_json::Value> = Vec::new();
        let mut lines: Vec<serde_json::Value> = Vec::new();
        while let Some(rec) = reader.next() {
            let rec = rec.expect("record");
            let v: serde_json::Value = serde_json::from_slice(rec.json).expect("json");
            if let Some(id) = v.get("lastUpdateId").and_then(|x| x.as_u64()) {
                for (side, map) in [("bids", &mut bids), ("asks", &mut asks)] {
                    for l in v[side].as_array().expect("levels") {
                        map.insert(num(&l[0]), num(&l[1]));
                    }
                }
                last = Some(id);
                lines.append(&mut early);
                continue;
            }
            if last.is_none() {
                early.push(v);
            } else {
                lines.push(v);
            }
        }
        for v in lines {
            let (Some(l), Some(d)) = (last, v.get("data")) else {
                continue;
            };
            if d.get("e").and_then(|e| e.as_str()) != Some("depthUpdate") {
                continue;
            }
            let u = d["u"].as_u64().expect("u");
            if u <= l {
                continue;
            }
            for (side, map) in [("b", &mut bids), ("a", &mut asks)] {
                for lv in d[side].as_array().expect("levels") {
                    let (p, q) = (num(&lv[0]), num(&lv[1]));
                    if q == 0 {
                        map.remove(&p);
                    } else {
                        map.insert(p, q);
                    }
                }
            }
            last = Some(u);
        }
        (bids, asks, last.expect("snapshot"))
    }

    #[test]
    fn bundled_capture_replays_to_the_reference_book() {
        let mut m = ReplayMarket::open(&files()).expect("opens");
        // TC0: the symbol and its filters come from the table
        assert_eq!(m.symbols()[0].symbol, "BTCUSDT", "TC0");
        assert_eq!(m.symbols()[0].tick_size, "0.01000000", "TC0");
        // TC1: before any step: the snapshot (50093239218) plus the buffered diff that
        // straddles it (U 50093239208, u 50093239224), recorded before the snapshot line
        assert_eq!(m.last_update_id(0), 50_093_239_224, "TC1");
        let all = |_: &StreamKey| true;
        let mut out = Vec::new();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut prev_u: Option<u64> = None;
        let mut steps = 0;
        let mut trade_ids: Vec<i64> = Vec::new();
        let mut agg_ranges: Vec<(i64, i64)> = Vec::new();
        while m.step(&all, &mut out) {
            steps += 1;
            for msg in out.drain(..) {
                let name = msg.stream.name(m.symbols());
                *counts.entry(name.clone()).or_default() += 1;
                let v: serde_json::Value = serde_json::from_str(&msg.payload).expect("valid JSON");
                match msg.stream.kind {
                    StreamKind::Depth { fast: false } => {
                        // TC2: the 1000 ms diffs chain: U = previous u + 1
                        let (big_u, u) = (v["U"].as_u64().expect("U"), v["u"].as_u64().expect("u"));
                        if let Some(p) = prev_u {
                            assert_eq!(big_u, p + 1, "TC2");
                        }
                        prev_u = Some(u);
                    }
                    StreamKind::Trade => trade_ids.push(v["t"].as_i64().expect("t")),
                    StreamKind::AggTrade => {
                        agg_ranges.push((v["f"].as_i64().expect("f"), v["l"].as_i64().expect("l")))
                    }
                    _ => {}
                }
            }
        }
        // TC3: every recorded ticker whose id a diff ends on equals the book (1,072)
        let c = m.checks();
        assert_eq!(
            (c.tickers_checked, c.tickers_mismatched, c.gaps),
            (1_072, 0, 0),
            "TC3"
        );
        // TC4: the final book equals an independent replay
        let (bids, asks, last) = reference_book();
        assert_eq!(m.last_update_id(0), last, "TC4");
        assert_eq!(m.book().side(BookSide::Bid), &bids, "TC4 bids");
        assert_eq!(m.book().side(BookSide::Ask), &asks, "TC4 asks");
        // TC5: aggTrades cover every trade exactly once, in order
        let mut covered = Vec::new();
        for (f, l) in &agg_ranges {
            covered.extend(*f..=*l);
        }
        assert_eq!(covered, trade_ids, "TC5");
        assert!(
            agg_ranges.len() < trade_ids.len(),
            "TC5: some trades aggregate"
        );
        // TC6: every derived stream was produced
        for stream in [
            "btcusdt@depth",
            "btcusdt@depth20@100ms",
            "btcusdt@depth5",
            "btcusdt@kline_1m",
            "btcusdt@kline_1s",
            "btcusdt@aggTrade",
        ] {
            assert!(
                counts.get(stream).copied().unwrap_or(0) > 0,
                "TC6: {stream}"
            );
        }
        assert!(steps > 6000, "TC6: {steps} steps");
        // TC7: REST answers from the replayed state
        let trades: serde_json::Value = serde_json::from_str(&m.recent_trades(0, 3)).expect("json");
        assert_eq!(trades.as_array().map(Vec::len), Some(3), "TC7");
        let klines: serde_json::Value =
            serde_json::from_str(&m.klines(0, KlineInterval::M1, None, None, 5).expect("rest"))
                .expect("json");
        assert_eq!(klines.as_array().map(Vec::len), Some(5), "TC7");
    }

    #[test]
    fn capture_without_snapshot_is_an_error() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("pinewire-replay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("nosnap.gz");
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"1 {\"stream\":\"btcusdt@bookTicker\",\"data\":{\"u\":1,\"s\":\"BTCUSDT\",\"b\":\"1.0\",\"B\":\"1.0\",\"a\":\"2.0\",\"A\":\"1.0\"}}\n")
            .expect("gzip");
        std::fs::write(&path, enc.finish().expect("gzip")).expect("write");
        // TC0: no snapshot line
        let err = ReplayMarket::open(&[path]).expect_err("no snapshot");
        assert!(matches!(err, ReplayError::NoSnapshot { .. }), "TC0: {err}");
        // TC1: a missing file
        let err = ReplayMarket::open(&[PathBuf::from("/nonexistent/x.gz")]).expect_err("io");
        assert!(matches!(err, ReplayError::Capture(_)), "TC1: {err}");
    }

    #[test]
    fn unwrap_table() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            // TC0: combined stream wrapper
            (
                r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate"}}"#,
                Some("depth@100ms"),
                r#"{"e":"depthUpdate"}"#,
            ),
            // TC1: bare body
            (r#"{"u":1}"#, None, r#"{"u":1}"#),
        ];
        for (i, (line, stream, body)) in cases.iter().enumerate() {
            assert_eq!(unwrap(line), (*stream, *body), "TC{i}");
        }
    }
}
