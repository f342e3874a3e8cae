//! A market synthesized from kline files: trades that re-aggregate exactly into the file's
//! bars, a depth book around them, and every market stream derived from those.
//!
//! Per bar (prices quantized to tickSize, volume to stepSize):
//! * the trades walk open -> nearer extreme -> farther extreme -> close (the extreme
//!   nearer to the open comes first), at prices on the tick grid within `[low, high]`,
//!   hitting open, high, low and close exactly; their quantities are whole lots summing
//!   exactly to the bar's volume; their times are spread over the bar (several may share
//!   a 100 ms step); ids are consecutive. About `trades_per_minute` trades a minute, never
//!   more than the bar has lots. A bar with fewer than 4 lots cannot hit four prices: it
//!   gets one trade per lot at open, (farther extreme,) close; a bar with no volume gets
//!   no trade (its klines then show the previous close, as Binance's empty klines do).
//! * the taker side follows the price: a trade above the previous one is a taker buy
//!   (`m: false`), below a taker sell, equal a coin flip; a quarter of the trades are
//!   filled against two maker orders (two trades, same price, side and time: one
//!   aggTrade).
//!
//! The book holds `levels_per_side` contiguous ticks a side. Right before each trade it
//! is moved so that the trade's price is the best ask (taker buy) or best bid (taker sell)
//! with enough quantity, the other side one or two ticks away (one update id), then the
//! fill takes the quantity off that level (another id): so each trade's price is at the
//! touch of the book just before it and the book is never crossed. Every step also changes
//! a few quantities near the top (one id), so every step has a depth diff, and
//! `U = previous u + 1` always. A bookTicker is sent for every id that changed the top.
//!
//! Time advances in 100 ms steps from the first bar of all series to the end of the last;
//! between a symbol's bars (exchange halts, or before/after its data) it has no trades and
//! no klines, but its book still moves. Deterministic: the same series and options give
//! byte-identical messages (splitmix64 seeded per symbol from `seed`).

use std::collections::VecDeque;
use std::sync::Arc;

use super::book::{BookSide, DiffBatch, Scale, SimBook, Top};
use super::json::{self, AggTrade, RestTrade};
use super::klines::Klines;
use super::symbols;
use crate::feed::fixed::Increment;
use crate::history::{KlineSeries, Timeframe};
use crate::sim::prng::Prng;
use crate::sim::source::{
    KlineInterval, MarketSource, RestError, SimMessage, StreamKey, StreamKind, SymbolInfo,
};

/// Step length, ms.
const STEP_MS: i64 = 100;
/// Trades kept for `GET /api/v3/trades` (its maximum limit).
const RECENT_TRADES: usize = 1000;

/// How the synthetic market is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthOptions {
    /// PRNG seed: same seed, same messages.
    pub seed: u64,
    /// Skip bars that open before this time (ms); `None`: from the first bar.
    pub start_ms: Option<i64>,
    /// Play at most this many bars of each series; `None`: all.
    pub max_bars: Option<usize>,
    /// Price levels a side of the book (1..=5000); default 500.
    pub levels_per_side: usize,
    /// Target number of trades a minute (at least 4 a bar when the volume allows);
    /// default 120.
    pub trades_per_minute: u32,
    /// Id of the first trade of each symbol; default 1,000,000.
    pub first_trade_id: i64,
    /// Id of the first aggregate trade of each symbol; default 100,000.
    pub first_agg_id: i64,
    /// `lastUpdateId` of each symbol's book before the first step; default 1,000,000,000.
    pub first_update_id: u64,
}

impl Default for SynthOptions {
    fn default() -> SynthOptions {
        SynthOptions {
            seed: 1,
            start_ms: None,
            max_bars: None,
            levels_per_side: 500,
            trades_per_minute: 120,
            first_trade_id: 1_000_000,
            first_agg_id: 100_000,
            first_update_id: 1_000_000_000,
        }
    }
}

/// Why a synthetic market could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynthError {
    /// No series were given.
    #[error("no kline series given: pass at least one kline file")]
    NoSeries,
    /// Two series for one symbol.
    #[error("{symbol}: two kline series for one symbol; pass one file per symbol")]
    DuplicateSymbol {
        /// The symbol.
        symbol: String,
    },
    /// A filter of the symbol's exchangeInfo cannot be used as an increment.
    #[error("{symbol}: filter {field} = {value:?} is not a usable increment (at most 8 decimals)")]
    BadFilter {
        /// The symbol.
        symbol: String,
        /// `tickSize` or `stepSize`.
        field: &'static str,
        /// The filter text.
        value: String,
    },
    /// A bar whose numbers cannot be put on the tick / lot grid.
    #[error("{symbol}: bar {index} (open time {time_ms}): {what}")]
    BadBar {
        /// The symbol.
        symbol: String,
        /// 0-based index in the series.
        index: usize,
        /// Its open time.
        time_ms: i64,
        /// What is wrong.
        what: &'static str,
    },
    /// After `start_ms` / `max_bars` a series has no bar left.
    #[error("{symbol}: no bar at or after the start time")]
    NoBars {
        /// The symbol.
        symbol: String,
    },
    /// `levels_per_side` out of range.
    #[error("levels_per_side must be 1..=5000, got {0}")]
    BadLevels(usize),
}

/// A bar on the symbol's grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct QBar {
    open_ms: i64,
    end_ms: i64,
    open: i64,
    high: i64,
    low: i64,
    close: i64,
    lots: i64,
}

/// A trade planned for the current bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Planned {
    time_ms: i64,
    price: i64,
    qty: i64,
    buyer_is_maker: bool,
}

/// One symbol's market.
#[derive(Debug, Clone)]
struct Sym {
    index: usize,
    info: SymbolInfo,
    scale: Scale,
    bars: Vec<QBar>,
    next_bar: usize,
    bar_end_ms: i64,
    plan: VecDeque<Planned>,
    avg_lots: i64,
    last_price: i64,
    book: SimBook,
    levels: i64,
    bid_range: Option<(i64, i64)>,
    ask_range: Option<(i64, i64)>,
    id_open: bool,
    top_before_id: Top,
    batch_fast: DiffBatch,
    batch_slow: DiffBatch,
    klines: Klines,
    rng: Prng,
    trades_per_minute: u32,
    next_trade_id: i64,
    next_agg_id: i64,
    pending_agg: Option<AggTrade>,
    recent: VecDeque<RestTrade>,
}

/// The synthetic market (see the module doc). Build with [`SynthMarket::from_series`].
#[derive(Debug, Clone)]
pub struct SynthMarket {
    infos: Vec<SymbolInfo>,
    syms: Vec<Sym>,
    /// Start of the next step.
    clock_ms: i64,
    end_ms: i64,
}

fn increment(symbol: &str, field: &'static str, value: &str) -> Result<Increment, SynthError> {
    Increment::parse(value)
        .ok()
        .filter(|inc| inc.decimals() <= 8)
        .ok_or_else(|| SynthError::BadFilter {
            symbol: symbol.to_string(),
            field,
            value: value.to_string(),
        })
}

/// `value` in whole increments, rounded to the nearest; `None` when not finite, negative
/// or too large.
fn to_units(value: f64, inc: Increment) -> Option<i64> {
    let scaled = value * 10f64.powi(i32::from(inc.decimals())) / inc.units() as f64;
    let rounded = scaled.round();
    (0.0..9.0e15).contains(&rounded).then_some(rounded as i64)
}

impl SynthMarket {
    /// Builds the market from one series per symbol. Each symbol's filters come from
    /// [`symbols::lookup`] (the table, else derived from the series' price tick).
    pub fn from_series(
        series: Vec<KlineSeries>,
        opts: SynthOptions,
    ) -> Result<SynthMarket, SynthError> {
        if series.is_empty() {
            return Err(SynthError::NoSeries);
        }
        if !(1..=5000).contains(&opts.levels_per_side) {
            return Err(SynthError::BadLevels(opts.levels_per_side));
        }
        let mut syms: Vec<Sym> = Vec::with_capacity(series.len());
        for (index, s) in series.into_iter().enumerate() {
            if syms.iter().any(|x| x.info.symbol == s.symbol) {
                return Err(SynthError::DuplicateSymbol { symbol: s.symbol });
            }
            let info = symbols::lookup(&s.symbol, symbols::decimals_of_mintick(s.mintick));
            syms.push(Sym::new(index, info, &s, &opts)?);
        }
        let clock_ms = syms.iter().map(|s| s.bars[0].open_ms).min().unwrap_or(0);
        let end_ms = syms
            .iter()
            .filter_map(|s| s.bars.last().map(|b| b.end_ms))
            .max()
            .unwrap_or(clock_ms);
        Ok(SynthMarket {
            infos: syms.iter().map(|s| s.info.clone()).collect(),
            syms,
            clock_ms,
            end_ms,
        })
    }

    /// The book of symbol `symbol` (tests and the server's diagnostics compare with it).
    pub fn book(&self, symbol: usize) -> Option<&SimBook> {
        self.syms.get(symbol).map(|s| &s.book)
    }

    /// The price / quantity units of symbol `symbol` as e8 (its tickSize and stepSize).
    pub fn scale(&self, symbol: usize) -> Option<Scale> {
        self.syms.get(symbol).map(|s| s.scale)
    }
}

impl Sym {
    fn new(
        index: usize,
        info: SymbolInfo,
        series: &KlineSeries,
        opts: &SynthOptions,
    ) -> Result<Sym, SynthError> {
        let symbol = info.symbol.clone();
        let tick = increment(&symbol, "tickSize", &info.tick_size)?;
        let lot = increment(&symbol, "stepSize", &info.step_size)?;
        let scale = Scale::from_increments(tick, lot).ok_or_else(|| SynthError::BadFilter {
            symbol: symbol.clone(),
            field: "tickSize",
            value: info.tick_size.clone(),
        })?;
        let bars = quantize(&symbol, series, tick, lot, opts)?;
        let first = *bars.first().ok_or(SynthError::NoBars {
            symbol: symbol.clone(),
        })?;
        let mut rng = Prng::new(opts.seed ^ (index as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F));
        // Warm the generator so that nearby seeds diverge at once.
        rng.next_u64();
        let levels = opts.levels_per_side as i64;
        let mut sym = Sym {
            index,
            klines: Klines::new(index, &symbol, scale, first.open),
            info,
            scale,
            bars,
            next_bar: 0,
            bar_end_ms: i64::MIN,
            plan: VecDeque::new(),
            avg_lots: 1,
            last_price: first.open,
            book: SimBook::new(opts.first_update_id),
            levels,
            bid_range: None,
            ask_range: None,
            id_open: false,
            top_before_id: Top::default(),
            batch_fast: DiffBatch::default(),
            batch_slow: DiffBatch::default(),
            rng,
            trades_per_minute: opts.trades_per_minute.max(1),
            next_trade_id: opts.first_trade_id,
            next_agg_id: opts.first_agg_id,
            pending_agg: None,
            recent: VecDeque::with_capacity(RECENT_TRADES),
        };
        sym.avg_lots = (first.lots / 120).max(1);
        // The initial book: best ask at the first open, best bid one tick below. Not a
        // diff: it is the state a snapshot before the first step shows.
        let bid_best = first.open - 1;
        let ask_best = first.open;
        sym.bid_range = range(BookSide::Bid, bid_best, levels);
        sym.ask_range = range(BookSide::Ask, ask_best, levels);
        for (side, r) in [
            (BookSide::Bid, sym.bid_range),
            (BookSide::Ask, sym.ask_range),
        ] {
            if let Some((lo, hi)) = r {
                for p in lo..=hi {
                    let q = sym.level_qty();
                    sym.book.set(side, p, q);
                }
            }
        }
        Ok(sym)
    }

    /// A fresh level's quantity: 1 to 3x the bar's average trade, in lots.
    fn level_qty(&mut self) -> i64 {
        1 + self.rng.below((3 * self.avg_lots) as u64) as i64
    }

    fn symbol(&self) -> &str {
        &self.info.symbol
    }

    /// Opens an update id if none is open.
    fn touch(&mut self) {
        if !self.id_open {
            self.id_open = true;
            self.top_before_id = self.book.top();
            let id = self.book.last_update_id() + 1;
            self.book.set_last_update_id(id);
            self.batch_fast.note_id(id);
        }
    }

    /// Sets a level inside the open id.
    fn set_level(&mut self, side: BookSide, price: i64, qty: i64) {
        self.touch();
        self.book.set(side, price, qty);
        self.batch_fast.record(side, price, qty);
    }

    /// Closes the open id: a bookTicker when it changed the top.
    fn end_id(
        &mut self,
        time_ms: i64,
        wanted: &dyn Fn(&StreamKey) -> bool,
        out: &mut Vec<SimMessage>,
    ) {
        if !self.id_open {
            return;
        }
        self.id_open = false;
        let key = StreamKey {
            symbol: self.index,
            kind: StreamKind::BookTicker,
        };
        if self.book.top() != self.top_before_id && wanted(&key) {
            if let Some(body) = self.book.book_ticker_json(&self.info.symbol, self.scale) {
                out.push(SimMessage {
                    stream: key,
                    event_time_ms: time_ms,
                    payload: Arc::from(body),
                });
            }
        }
    }

    /// Moves a side so that its best is `best` (contiguous `levels` ticks).
    fn move_side(&mut self, side: BookSide, best: i64) {
        let old = match side {
            BookSide::Bid => self.bid_range,
            BookSide::Ask => self.ask_range,
        };
        let new = range(side, best, self.levels);
        if old == new {
            return;
        }
        let (removed, added) = range_diff(old, new);
        for (lo, hi) in removed {
            for p in lo..=hi {
                self.set_level(side, p, 0);
            }
        }
        for (lo, hi) in added {
            for p in lo..=hi {
                let q = self.level_qty();
                self.set_level(side, p, q);
            }
        }
        match side {
            BookSide::Bid => self.bid_range = new,
            BookSide::Ask => self.ask_range = new,
        }
    }

    /// Starts the bar opening at `now_ms`, if any.
    fn maybe_start_bar(&mut self, now_ms: i64) {
        let Some(bar) = self.bars.get(self.next_bar).copied() else {
            return;
        };
        if bar.open_ms != now_ms {
            return;
        }
        self.next_bar += 1;
        self.bar_end_ms = bar.end_ms;
        let mut plan = Vec::new();
        plan_bar(
            &bar,
            self.last_price,
            self.trades_per_minute,
            &mut self.rng,
            &mut plan,
        );
        self.avg_lots = (bar.lots / plan.len().max(1) as i64).max(1);
        self.plan = plan.into();
    }

    fn step(&mut self, w: i64, wanted: &dyn Fn(&StreamKey) -> bool, out: &mut Vec<SimMessage>) {
        let t_next = w + STEP_MS;
        self.maybe_start_bar(w);
        let trading = w < self.bar_end_ms;
        self.klines.advance(w, trading, wanted, out);

        // Book noise: a few quantities near the top change (one id).
        let changes = 1 + self.rng.below(3);
        for _ in 0..changes {
            let side = if self.rng.coin() {
                BookSide::Bid
            } else {
                BookSide::Ask
            };
            let range = match side {
                BookSide::Bid => self.bid_range,
                BookSide::Ask => self.ask_range,
            };
            if let Some((lo, hi)) = range {
                let depth = (hi - lo + 1).min(10) as u64;
                let offset = self.rng.below(depth) as i64;
                let price = match side {
                    BookSide::Bid => hi - offset,
                    BookSide::Ask => lo + offset,
                };
                let q = self.level_qty();
                self.set_level(side, price, q);
            }
        }
        self.end_id(w, wanted, out);

        while let Some(t) = self.plan.front().copied() {
            if t.time_ms >= t_next {
                break;
            }
            self.plan.pop_front();
            self.trade(t, wanted, out);
        }
        self.flush_agg(wanted, out);

        // Depth diffs: every step (100 ms), merged every 10 steps (1000 ms).
        let slow_due = t_next % 1000 == 0;
        let key = StreamKey {
            symbol: self.index,
            kind: StreamKind::Depth { fast: true },
        };
        if wanted(&key) {
            if let Some(body) = self.batch_fast.to_json(self.symbol(), t_next, self.scale) {
                out.push(msg(key, t_next, body));
            }
        }
        self.batch_slow.merge(&self.batch_fast);
        self.batch_fast.clear();
        if slow_due {
            let key = StreamKey {
                symbol: self.index,
                kind: StreamKind::Depth { fast: false },
            };
            if wanted(&key) {
                if let Some(body) = self.batch_slow.to_json(self.symbol(), t_next, self.scale) {
                    out.push(msg(key, t_next, body));
                }
            }
            self.batch_slow.clear();
        }
        partial_depth(
            self.index, &self.book, self.scale, t_next, slow_due, wanted, out,
        );
        self.klines.advance(t_next, false, wanted, out);
    }

    fn trade(
        &mut self,
        t: Planned,
        wanted: &dyn Fn(&StreamKey) -> bool,
        out: &mut Vec<SimMessage>,
    ) {
        let taker_buys = !t.buyer_is_maker;
        // Put the trade's price at the touch, with enough quantity (one id).
        let top = self.book.top();
        let (touch_side, touch_ok) = if taker_buys {
            let ok = top.ask.is_some_and(|(p, _)| p == t.price)
                && top.bid.is_none_or(|(p, _)| p < t.price);
            (BookSide::Ask, ok)
        } else {
            let ok = top.bid.is_some_and(|(p, _)| p == t.price)
                && top.ask.is_none_or(|(p, _)| p > t.price);
            (BookSide::Bid, ok)
        };
        if !touch_ok {
            let spread = 1 + i64::from(self.rng.below(4) == 0);
            // Both moves are one update id: only the book after it is observable.
            if taker_buys {
                self.move_side(BookSide::Bid, t.price - spread);
                self.move_side(BookSide::Ask, t.price);
            } else {
                self.move_side(BookSide::Ask, t.price + spread);
                self.move_side(BookSide::Bid, t.price);
            }
        }
        let have = self.book.qty(touch_side, t.price);
        if have <= t.qty {
            let q = t.qty + self.level_qty();
            self.set_level(touch_side, t.price, q);
        }
        self.end_id(t.time_ms, wanted, out);

        // The fill (one id): the maker quantity leaves the level.
        let have = self.book.qty(touch_side, t.price);
        self.set_level(touch_side, t.price, have - t.qty);
        self.end_id(t.time_ms, wanted, out);

        let id = self.next_trade_id;
        self.next_trade_id += 1;
        let (price_e8, qty_e8) = (self.scale.price(t.price), self.scale.qty(t.qty));
        let key = StreamKey {
            symbol: self.index,
            kind: StreamKind::Trade,
        };
        // A different price, side or millisecond ends the pending aggregate.
        if let Some(agg) = self.pending_agg {
            if agg.price_e8 != price_e8
                || agg.buyer_is_maker != t.buyer_is_maker
                || agg.trade_ms != t.time_ms
            {
                self.flush_agg(wanted, out);
            }
        }
        if wanted(&key) {
            let mut body = String::with_capacity(200);
            json::trade(
                &mut body,
                self.symbol(),
                t.time_ms,
                id,
                price_e8,
                qty_e8,
                t.time_ms,
                t.buyer_is_maker,
            );
            out.push(msg(key, t.time_ms, body));
        }
        match &mut self.pending_agg {
            Some(agg) => {
                agg.qty_e8 += qty_e8;
                agg.last_id = id;
            }
            None => {
                self.pending_agg = Some(AggTrade {
                    agg_id: self.next_agg_id,
                    price_e8,
                    qty_e8,
                    first_id: id,
                    last_id: id,
                    trade_ms: t.time_ms,
                    event_ms: t.time_ms,
                    buyer_is_maker: t.buyer_is_maker,
                });
                self.next_agg_id += 1;
            }
        }
        self.klines.advance(t.time_ms, true, wanted, out);
        self.klines.on_trade(id, t.price, t.qty, t.buyer_is_maker);
        self.last_price = t.price;
        if self.recent.len() == RECENT_TRADES {
            self.recent.pop_front();
        }
        self.recent.push_back(RestTrade {
            id,
            price_e8,
            qty_e8,
            time_ms: t.time_ms,
            buyer_is_maker: t.buyer_is_maker,
        });
    }

    fn flush_agg(&mut self, wanted: &dyn Fn(&StreamKey) -> bool, out: &mut Vec<SimMessage>) {
        if let Some(agg) = self.pending_agg.take() {
            let key = StreamKey {
                symbol: self.index,
                kind: StreamKind::AggTrade,
            };
            if wanted(&key) {
                let mut body = String::with_capacity(200);
                json::agg_trade(&mut body, self.symbol(), &agg);
                out.push(msg(key, agg.event_ms, body));
            }
        }
    }
}

fn msg(stream: StreamKey, event_time_ms: i64, body: String) -> SimMessage {
    SimMessage {
        stream,
        event_time_ms,
        payload: Arc::from(body),
    }
}

/// Partial depth messages (5, 10, 20 levels) of `book`: the `@100ms` ones every step, the
/// 1000 ms ones when `slow_due`.
pub(crate) fn partial_depth(
    symbol: usize,
    book: &SimBook,
    scale: Scale,
    time_ms: i64,
    slow_due: bool,
    wanted: &dyn Fn(&StreamKey) -> bool,
    out: &mut Vec<SimMessage>,
) {
    for levels in [5u8, 10, 20] {
        for fast in [true, false] {
            if !fast && !slow_due {
                continue;
            }
            let key = StreamKey {
                symbol,
                kind: StreamKind::PartialDepth { levels, fast },
            };
            if wanted(&key) {
                let body = book.levels_json(usize::from(levels), scale);
                out.push(msg(key, time_ms, body));
            }
        }
    }
}

/// The price range of a side whose best is `best`: bids `[best - levels + 1, best]`,
/// asks `[best, best + levels - 1]`, clipped to prices of at least one tick.
fn range(side: BookSide, best: i64, levels: i64) -> Option<(i64, i64)> {
    let (lo, hi) = match side {
        BookSide::Bid => (best - levels + 1, best),
        BookSide::Ask => (best, best + levels - 1),
    };
    let lo = lo.max(1);
    (lo <= hi).then_some((lo, hi))
}

/// Inclusive price ranges.
type Ranges = Vec<(i64, i64)>;

/// Ranges in `old` but not `new` (removed) and in `new` but not `old` (added).
fn range_diff(old: Option<(i64, i64)>, new: Option<(i64, i64)>) -> (Ranges, Ranges) {
    fn minus(a: Option<(i64, i64)>, b: Option<(i64, i64)>) -> Ranges {
        let Some((a0, a1)) = a else {
            return Vec::new();
        };
        let Some((b0, b1)) = b else {
            return vec![(a0, a1)];
        };
        let mut out = Vec::new();
        if a0 < b0 {
            out.push((a0, a1.min(b0 - 1)));
        }
        if a1 > b1 {
            out.push((a0.max(b1 + 1), a1));
        }
        out
    }
    (minus(old, new), minus(new, old))
}

/// Puts a series' bars on the tick / lot grid, after `start_ms` and `max_bars`.
fn quantize(
    symbol: &str,
    series: &KlineSeries,
    tick: Increment,
    lot: Increment,
    opts: &SynthOptions,
) -> Result<Vec<QBar>, SynthError> {
    let tf: Timeframe = series.timeframe;
    let start = opts.start_ms.unwrap_or(i64::MIN);
    let skip = series.bars.partition_point(|b| b.time_ms < start);
    let take = opts.max_bars.unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(series.bars.len().saturating_sub(skip).min(take));
    for (index, bar) in series.bars.iter().enumerate().skip(skip).take(take) {
        let bad = |what| SynthError::BadBar {
            symbol: symbol.to_string(),
            index,
            time_ms: bar.time_ms,
            what,
        };
        if bar.time_ms.rem_euclid(STEP_MS) != 0 {
            return Err(bad("open time is not a multiple of 100 ms"));
        }
        let price = |v: f64| to_units(v, tick).filter(|&t| t >= 1);
        let (Some(open), Some(high), Some(low), Some(close)) = (
            price(bar.open),
            price(bar.high),
            price(bar.low),
            price(bar.close),
        ) else {
            return Err(bad(
                "a price is not a positive finite number on the tick grid",
            ));
        };
        let Some(lots) = to_units(bar.volume, lot) else {
            return Err(bad("the volume is not a finite non-negative number"));
        };
        if !(low <= open.min(close) && open.max(close) <= high) {
            return Err(bad("low <= open, close <= high does not hold"));
        }
        out.push(QBar {
            open_ms: bar.time_ms,
            end_ms: tf.next_open_ms(bar.time_ms),
            open,
            high,
            low,
            close,
            lots,
        });
    }
    if out.is_empty() {
        return Err(SynthError::NoBars {
            symbol: symbol.to_string(),
        });
    }
    Ok(out)
}

/// Plans the trades of one bar (see the module doc). `prev_price` is the last trade
/// before the bar (for the first trade's side).
fn plan_bar(
    bar: &QBar,
    prev_price: i64,
    trades_per_minute: u32,
    rng: &mut Prng,
    out: &mut Vec<Planned>,
) {
    out.clear();
    if bar.lots <= 0 {
        return;
    }
    let len = (bar.end_ms - bar.open_ms).max(1);
    let (o, h, l, c) = (bar.open, bar.high, bar.low, bar.close);
    let (a, b) = if o - l <= h - o { (l, h) } else { (h, l) };
    let target = (len.saturating_mul(i64::from(trades_per_minute)) / 60_000).max(1);
    let prices: Vec<i64> = match bar.lots {
        1 => vec![o],
        2 => vec![o, c],
        3 => vec![o, b, c],
        lots => {
            let n = target.clamp(4, lots);
            let segs = [(o, a), (a, b), (b, c)];
            let lens: Vec<i64> = segs.iter().map(|(s, e)| (e - s).abs()).collect();
            let total: i64 = lens.iter().sum();
            let spare = n - 4;
            let mut counts: Vec<i64> = lens
                .iter()
                .map(|&d| {
                    1 + if total > 0 {
                        spare * d / total
                    } else {
                        spare / 3
                    }
                })
                .collect();
            let given: i64 = counts.iter().sum();
            // The rounding remainder goes to the longest segment.
            let longest = (0..3).max_by_key(|&k| lens[k]).unwrap_or(0);
            counts[longest] += (n - 1) - given;
            let mut prices = Vec::with_capacity(n as usize);
            prices.push(o);
            for (k, &(start, end)) in segs.iter().enumerate() {
                let m = counts[k];
                let step = (end - start).abs() / m;
                for j in 1..=m {
                    let base = start + (end - start) * j / m;
                    let p = if j < m && step > 1 {
                        let jitter = rng.below((step + 1) as u64) as i64 - step / 2;
                        (base + jitter).clamp(l, h)
                    } else {
                        base
                    };
                    prices.push(p);
                }
            }
            prices
        }
    };
    let n = prices.len() as i64;
    // Quantities: one lot each plus a random share of the rest; exact sum.
    let extra = bar.lots - n;
    let weights: Vec<u64> = (0..n).map(|_| 1 + rng.below(8)).collect();
    let wsum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    let mut qtys: Vec<i64> = weights
        .iter()
        .map(|&w| 1 + (extra as u128 * u128::from(w) / wsum) as i64)
        .collect();
    let mut rest = bar.lots - qtys.iter().sum::<i64>();
    while rest > 0 {
        let k = rng.below(n as u64) as usize;
        qtys[k] += 1;
        rest -= 1;
    }
    // Times: one slot of len / n per trade, a random moment inside it.
    let mut prev = prev_price;
    out.reserve(prices.len() + prices.len() / 3);
    for (i, (&price, &qty)) in prices.iter().zip(&qtys).enumerate() {
        let slot_start = bar.open_ms + (i as i64) * len / n;
        let slot_len = ((i as i64 + 1) * len / n - (i as i64) * len / n).max(1);
        let time_ms = slot_start + rng.below(slot_len as u64) as i64;
        let buyer_is_maker = match price.cmp(&prev) {
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Equal => rng.coin(),
        };
        prev = price;
        // A quarter of the taker orders fill against two makers.
        if qty >= 2 && rng.below(4) == 0 {
            let first = 1 + rng.below((qty - 1) as u64) as i64;
            for q in [first, qty - first] {
                out.push(Planned {
                    time_ms,
                    price,
                    qty: q,
                    buyer_is_maker,
                });
            }
        } else {
            out.push(Planned {
                time_ms,
                price,
                qty,
                buyer_is_maker,
            });
        }
    }
}

impl MarketSource for SynthMarket {
    fn symbols(&self) -> &[SymbolInfo] {
        &self.infos
    }

    fn next_time_ms(&self) -> Option<i64> {
        (self.clock_ms < self.end_ms).then_some(self.clock_ms + STEP_MS)
    }

    fn step(&mut self, wanted: &dyn Fn(&StreamKey) -> bool, out: &mut Vec<SimMessage>) -> bool {
        if self.clock_ms >= self.end_ms {
            return false;
        }
        let w = self.clock_ms;
        for sym in &mut self.syms {
            sym.step(w, wanted, out);
        }
        self.clock_ms += STEP_MS;
        true
    }

    fn depth_snapshot(&self, symbol: usize, limit: usize) -> String {
        match self.syms.get(symbol) {
            Some(s) => s.book.levels_json(limit, s.scale),
            None => SimBook::new(0).levels_json(0, Scale::E8),
        }
    }

    fn last_update_id(&self, symbol: usize) -> u64 {
        self.syms.get(symbol).map_or(0, |s| s.book.last_update_id())
    }

    fn klines(
        &self,
        symbol: usize,
        interval: KlineInterval,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        limit: usize,
    ) -> Result<String, RestError> {
        self.syms
            .get(symbol)
            .ok_or(RestError::InvalidSymbol)?
            .klines
            .rest(interval, start_ms, end_ms, limit)
    }

    fn recent_trades(&self, symbol: usize, limit: usize) -> String {
        let mut out = String::new();
        match self.syms.get(symbol) {
            Some(s) => {
                let skip = s.recent.len().saturating_sub(limit);
                json::rest_trades(&mut out, s.recent.iter().skip(skip));
            }
            None => out.push_str("[]"),
        }
        out
    }
}

#[cfg(test)]
mod tests;
