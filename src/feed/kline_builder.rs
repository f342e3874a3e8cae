//! The engine's own klines: bars built from the `<symbol>@trade` stream that say exactly
//! what Binance's `<symbol>@kline_<interval>` stream says, or taken from that stream.
//!
//! Binance's rules, as this builder reproduces them:
//!
//! * A bar covers `[open, next open)`: `t` (open time) is the interval's start in UTC
//!   (fixed intervals are multiples of their length since the Unix epoch; `1w` starts on
//!   Monday 00:00 UTC; `1M` is the calendar month), `T` (close time) is the next open
//!   minus 1 ms. `3d` is taken as a multiple of three days since the epoch, like every
//!   other fixed interval.
//! * `f`/`L` are the first and last trade ids, `o/h/l/c` the first, highest, lowest and
//!   last trade prices, `v` the base volume, `n` the trade count, `q` the sum of
//!   price × quantity, `V`/`Q` the same over the trades whose buyer was the taker
//!   (`m == false`).
//! * An interval without a trade still gets a bar: `f = L = -1`, `o = h = l = c` = the
//!   previous bar's close, zero volumes, `n = 0`. (Binance's answer on its developer
//!   forum for exactly such a kline; the stream sends them with `x: true` like any other.)
//! * The stream pushes the open kline every 1 s (`1s`) or 2 s (other intervals) and sends
//!   it a last time with `x: true` once its close time has passed, also for empty bars.
//!
//! Every `on_*` method takes a callback that receives each bar as it closes; bars come out
//! strictly increasing in open time and none twice. Nothing here allocates or panics after
//! `new`: prices stay integer ticks, quantities integer lots, quote volumes exact `i128`
//! counts of tick × lot. The `f64` accessors of [`Bar`] are the one place where ticks
//! become floats (for the Pine VM).

use std::fmt;

use thiserror::Error;

use crate::calendar::{civil_from_days, days_from_civil};
use crate::feed::binance::Kline;
use crate::feed::fixed::{check_decimal, FixedError, Increment};

const SECOND_MS: u64 = 1_000;
const MINUTE_MS: u64 = 60 * SECOND_MS;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;
/// 1970-01-01 was a Thursday: the first Monday 00:00 UTC is four days later.
const FIRST_MONDAY_MS: u64 = 4 * DAY_MS;

/// How many empty bars one call may emit by default before a jump in time is treated as
/// a gap that is not filled (see [`KlineBuilder::with_max_fill`]).
pub const DEFAULT_MAX_FILL: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// A fixed length, aligned to `anchor_ms + k * len_ms`.
    Fixed { len_ms: u64, anchor_ms: u64 },
    /// A calendar month in UTC.
    Month,
}

/// A Binance kline interval (`1s` .. `1M`): how bar open times are aligned.
///
/// Small and `Copy`; only Binance's sixteen intervals exist, so the spelling that a
/// kline event carries in `k.i` can be compared without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BarInterval {
    name: &'static str,
    kind: Kind,
}

const fn fixed(name: &'static str, len_ms: u64) -> BarInterval {
    BarInterval {
        name,
        kind: Kind::Fixed {
            len_ms,
            anchor_ms: 0,
        },
    }
}

/// Why an interval spelling was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "unknown kline interval {0:?}; expected one of 1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, \
     6h, 8h, 12h, 1d, 3d, 1w, 1M (case matters: 1m is a minute, 1M a month)"
)]
pub struct IntervalError(pub String);

impl BarInterval {
    /// Every Binance interval, in Binance's documented order.
    pub const ALL: [BarInterval; 16] = [
        fixed("1s", SECOND_MS),
        fixed("1m", MINUTE_MS),
        fixed("3m", 3 * MINUTE_MS),
        fixed("5m", 5 * MINUTE_MS),
        fixed("15m", 15 * MINUTE_MS),
        fixed("30m", 30 * MINUTE_MS),
        fixed("1h", HOUR_MS),
        fixed("2h", 2 * HOUR_MS),
        fixed("4h", 4 * HOUR_MS),
        fixed("6h", 6 * HOUR_MS),
        fixed("8h", 8 * HOUR_MS),
        fixed("12h", 12 * HOUR_MS),
        fixed("1d", DAY_MS),
        fixed("3d", 3 * DAY_MS),
        BarInterval {
            name: "1w",
            kind: Kind::Fixed {
                len_ms: 7 * DAY_MS,
                anchor_ms: FIRST_MONDAY_MS,
            },
        },
        BarInterval {
            name: "1M",
            kind: Kind::Month,
        },
    ];

    /// Parses Binance's spelling (`"1s"`, `"15m"`, `"1w"`, `"1M"`); anything else is an
    /// error that lists the valid spellings.
    pub fn parse(text: &str) -> Result<BarInterval, IntervalError> {
        BarInterval::ALL
            .into_iter()
            .find(|i| i.name == text)
            .ok_or_else(|| IntervalError(text.to_owned()))
    }

    /// Binance's spelling, as in stream names and `k.i`.
    pub fn as_str(self) -> &'static str {
        self.name
    }

    /// The length in ms, or `None` for `1M` whose length depends on the month.
    pub fn fixed_ms(self) -> Option<u64> {
        match self.kind {
            Kind::Fixed { len_ms, .. } => Some(len_ms),
            Kind::Month => None,
        }
    }

    /// The open time of the bar that contains `time_ms`. `None` when that bar would open
    /// before the Unix epoch (a time in the first four days of 1970 for `1w`) or the time
    /// is beyond what the calendar arithmetic handles (after year 292 million).
    #[inline]
    pub fn open_time_ms(self, time_ms: u64) -> Option<u64> {
        match self.kind {
            Kind::Fixed { len_ms, anchor_ms } => {
                let since = time_ms.checked_sub(anchor_ms)?;
                Some(anchor_ms + since - since % len_ms)
            }
            Kind::Month => {
                let days = i64::try_from(time_ms / DAY_MS).ok()?;
                let (y, m, _) = civil_from_days(days);
                month_start_ms(y, m)
            }
        }
    }

    /// The open time of the bar after the one opening at `open_ms` (which must be an open
    /// time of this interval); `None` when it does not fit a `u64`.
    #[inline]
    pub fn next_open_ms(self, open_ms: u64) -> Option<u64> {
        match self.kind {
            Kind::Fixed { len_ms, .. } => open_ms.checked_add(len_ms),
            Kind::Month => {
                let days = i64::try_from(open_ms / DAY_MS).ok()?;
                let (y, m, _) = civil_from_days(days);
                if m == 12 {
                    month_start_ms(y.checked_add(1)?, 1)
                } else {
                    month_start_ms(y, m + 1)
                }
            }
        }
    }

    /// Binance's close time of the bar opening at `open_ms`: the next open minus 1 ms.
    #[inline]
    pub fn close_time_ms(self, open_ms: u64) -> Option<u64> {
        self.next_open_ms(open_ms).map(|next| next - 1)
    }

    /// How many bars open in `[from_open_ms, to_open_ms)`; both must be open times.
    fn bars_between(self, from_open_ms: u64, to_open_ms: u64) -> u64 {
        if to_open_ms <= from_open_ms {
            return 0;
        }
        match self.kind {
            Kind::Fixed { len_ms, .. } => (to_open_ms - from_open_ms) / len_ms,
            Kind::Month => {
                let month_index = |ms: u64| {
                    let (y, m, _) = civil_from_days((ms / DAY_MS) as i64);
                    y * 12 + i64::from(m)
                };
                // Both are below i64::MAX ms (they came from `open_time_ms`).
                (month_index(to_open_ms) - month_index(from_open_ms)).unsigned_abs()
            }
        }
    }
}

impl fmt::Debug for BarInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BarInterval({})", self.name)
    }
}

impl fmt::Display for BarInterval {
    /// Binance's spelling, like [`BarInterval::as_str`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl std::str::FromStr for BarInterval {
    type Err = IntervalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BarInterval::parse(s)
    }
}

/// Unix ms of the first day of a month, `None` before the epoch or past `u64`.
fn month_start_ms(y: i64, m: u32) -> Option<u64> {
    let days = u64::try_from(days_from_civil(y, m, 1)).ok()?;
    days.checked_mul(DAY_MS)
}

/// `10^n` for `n <= 18`, exact in `f64` up to `10^22`.
const POW10_F64: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

/// `units` increments as the nearest `f64` (exact input as long as `units * inc.units()`
/// stays below 2^53, which one division then rounds correctly).
#[inline]
fn units_to_f64(units: i64, inc: Increment) -> f64 {
    units as f64 * inc.units() as f64 / POW10_F64[usize::from(inc.decimals())]
}

/// A quote volume in tick × lot units as an `f64` (two roundings: fine for indicators,
/// not for comparing; compare the `i128`).
#[inline]
fn quote_to_f64(value: i128, tick: Increment, step: Increment) -> f64 {
    let unit = i128::from(tick.units()) * i128::from(step.units());
    let decimals = i32::from(tick.decimals()) + i32::from(step.decimals());
    value.saturating_mul(unit) as f64 / 10f64.powi(decimals)
}

/// One kline, in the engine's exact units. The same shape whether it was built from
/// trades or taken from Binance's kline stream, so the two compare with `==`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bar {
    /// `t`: open time, Unix ms, aligned to the interval.
    pub open_time_ms: u64,
    /// `T`: close time, Unix ms: the next open time minus 1.
    pub close_time_ms: u64,
    /// `f`: id of the first trade; -1 for a bar without trades.
    pub first_trade_id: i64,
    /// `L`: id of the last trade; -1 for a bar without trades.
    pub last_trade_id: i64,
    /// `o` in ticks (the previous close for a bar without trades).
    pub open_ticks: i64,
    /// `h` in ticks.
    pub high_ticks: i64,
    /// `l` in ticks.
    pub low_ticks: i64,
    /// `c` in ticks.
    pub close_ticks: i64,
    /// `v`: base volume in lots.
    pub volume_lots: i64,
    /// `q`: sum of price × quantity, exactly, in tick × lot units.
    pub quote_volume: i128,
    /// `n`: number of trades.
    pub trade_count: u64,
    /// `V`: base volume of the trades whose buyer was the taker, in lots.
    pub taker_buy_volume_lots: i64,
    /// `Q`: quote volume of the trades whose buyer was the taker, in tick × lot units.
    pub taker_buy_quote_volume: i128,
    /// `x`: the bar is final. Every bar handed to a callback is closed; the bar of
    /// [`KlineBuilder::current`] is not.
    pub closed: bool,
}

impl Bar {
    /// A bar without trades at `price_ticks` (the previous close), as Binance sends one.
    #[inline]
    fn empty(open_time_ms: u64, close_time_ms: u64, price_ticks: i64, closed: bool) -> Bar {
        Bar {
            open_time_ms,
            close_time_ms,
            first_trade_id: -1,
            last_trade_id: -1,
            open_ticks: price_ticks,
            high_ticks: price_ticks,
            low_ticks: price_ticks,
            close_ticks: price_ticks,
            volume_lots: 0,
            quote_volume: 0,
            trade_count: 0,
            taker_buy_volume_lots: 0,
            taker_buy_quote_volume: 0,
            closed,
        }
    }

    /// Adds one trade: the first one sets all four prices and `f`.
    #[inline(always)]
    fn add_trade(&mut self, id: i64, price_ticks: i64, qty_lots: i64, buyer_is_maker: bool) {
        if self.trade_count == 0 {
            self.first_trade_id = id;
            self.open_ticks = price_ticks;
            self.high_ticks = price_ticks;
            self.low_ticks = price_ticks;
        } else {
            self.high_ticks = self.high_ticks.max(price_ticks);
            self.low_ticks = self.low_ticks.min(price_ticks);
        }
        self.close_ticks = price_ticks;
        self.last_trade_id = id;
        self.trade_count += 1;
        let quote = i128::from(price_ticks) * i128::from(qty_lots);
        self.volume_lots = self.volume_lots.saturating_add(qty_lots);
        self.quote_volume = self.quote_volume.saturating_add(quote);
        if !buyer_is_maker {
            self.taker_buy_volume_lots = self.taker_buy_volume_lots.saturating_add(qty_lots);
            self.taker_buy_quote_volume = self.taker_buy_quote_volume.saturating_add(quote);
        }
    }

    /// The bar a kline event describes (a REST `GET /api/v3/klines` row put in the same
    /// shape works too), with its quote volumes read exactly in tick × lot units of `tick`
    /// and `step` and `closed` taken from `k.x`. Checks nothing about the interval: that
    /// is [`KlineBuilder::on_kline`]'s job (or the caller's). Allocation-free.
    pub fn from_kline(k: &Kline<'_>, tick: Increment, step: Increment) -> Result<Bar, KlineError> {
        let quote = parse_quote_volume(k.quote_volume, tick, step).map_err(|error| {
            KlineError::QuoteVolume {
                field: "k.q",
                error,
            }
        })?;
        let taker_quote =
            parse_quote_volume(k.taker_buy_quote_volume, tick, step).map_err(|error| {
                KlineError::QuoteVolume {
                    field: "k.Q",
                    error,
                }
            })?;
        Ok(Bar {
            open_time_ms: k.open_time_ms,
            close_time_ms: k.close_time_ms,
            first_trade_id: k.first_trade_id,
            last_trade_id: k.last_trade_id,
            open_ticks: k.open_ticks,
            high_ticks: k.high_ticks,
            low_ticks: k.low_ticks,
            close_ticks: k.close_ticks,
            volume_lots: k.volume_lots,
            quote_volume: quote,
            trade_count: k.trade_count,
            taker_buy_volume_lots: k.taker_buy_volume_lots,
            taker_buy_quote_volume: taker_quote,
            closed: k.closed,
        })
    }

    /// True for a bar of an interval without trades (`n == 0`, `f == L == -1`).
    pub fn is_empty(&self) -> bool {
        self.trade_count == 0
    }

    /// Open price as `f64`. This and its siblings are the one place where ticks become
    /// floats: the nearest `f64` to the exact decimal price, for the Pine VM.
    #[inline]
    pub fn open(&self, tick: Increment) -> f64 {
        units_to_f64(self.open_ticks, tick)
    }

    /// High price as `f64` (see [`Bar::open`]).
    #[inline]
    pub fn high(&self, tick: Increment) -> f64 {
        units_to_f64(self.high_ticks, tick)
    }

    /// Low price as `f64` (see [`Bar::open`]).
    #[inline]
    pub fn low(&self, tick: Increment) -> f64 {
        units_to_f64(self.low_ticks, tick)
    }

    /// Close price as `f64` (see [`Bar::open`]).
    #[inline]
    pub fn close(&self, tick: Increment) -> f64 {
        units_to_f64(self.close_ticks, tick)
    }

    /// Base volume as `f64` (see [`Bar::open`]).
    #[inline]
    pub fn volume(&self, step: Increment) -> f64 {
        units_to_f64(self.volume_lots, step)
    }

    /// Taker-buy base volume as `f64` (see [`Bar::open`]).
    #[inline]
    pub fn taker_buy_volume(&self, step: Increment) -> f64 {
        units_to_f64(self.taker_buy_volume_lots, step)
    }

    /// Quote volume as `f64`: approximate (compare [`Bar::quote_volume`] for exactness).
    #[inline]
    pub fn quote_volume_f64(&self, tick: Increment, step: Increment) -> f64 {
        quote_to_f64(self.quote_volume, tick, step)
    }

    /// Taker-buy quote volume as `f64`: approximate, like [`Bar::quote_volume_f64`].
    #[inline]
    pub fn taker_buy_quote_volume_f64(&self, tick: Increment, step: Increment) -> f64 {
        quote_to_f64(self.taker_buy_quote_volume, tick, step)
    }

    /// `q` as an exact decimal, printed the way Binance prints it (at least 8 decimals),
    /// e.g. `"1234.56789010"`. For logs and tests: it allocates.
    #[cold]
    pub fn quote_volume_string(&self, tick: Increment, step: Increment) -> String {
        format_quote_volume(self.quote_volume, tick, step)
    }

    /// `Q` as an exact decimal, like [`Bar::quote_volume_string`].
    #[cold]
    pub fn taker_buy_quote_volume_string(&self, tick: Increment, step: Increment) -> String {
        format_quote_volume(self.taker_buy_quote_volume, tick, step)
    }
}

/// Formats a quote volume in tick × lot units as an exact decimal with the tick's plus
/// the step's decimals, padded with zeros to at least 8 (Binance's spot precision).
/// Saturates at `i128::MAX` rather than overflow. It allocates.
#[cold]
pub fn format_quote_volume(value: i128, tick: Increment, step: Increment) -> String {
    let unit = i128::from(tick.units()) * i128::from(step.units());
    let scaled = value.saturating_mul(unit);
    let exact = usize::from(tick.decimals()) + usize::from(step.decimals());
    let decimals = exact.max(8);
    let digits = scaled.unsigned_abs().to_string() + &"0".repeat(decimals - exact);
    let padded = format!("{digits:0>width$}", width = decimals + 1);
    let (int, frac) = padded.split_at(padded.len() - decimals);
    let sign = if scaled < 0 { "-" } else { "" };
    format!("{sign}{int}.{frac}")
}

/// Parses a Binance quote volume (`k.q`, `k.Q`: a plain unsigned decimal) exactly into
/// tick × lot units, the unit of [`Bar::quote_volume`], so that the stream and the
/// builder compare with `==`.
///
/// Fractional digits past the tick's plus the step's decimals must be zero and the value
/// a whole multiple of `tick × step`, else [`FixedError::NotAMultiple`] (Binance prints 8
/// decimals; for a symbol whose tick and step have more than 8 decimals together, its `q`
/// is rounded and cannot be compared exactly). Allocation-free.
pub fn parse_quote_volume(
    text: &str,
    tick: Increment,
    step: Increment,
) -> Result<i128, FixedError> {
    check_decimal(text.as_bytes())?;
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let decimals = usize::from(tick.decimals()) + usize::from(step.decimals());
    let (kept, dropped) = if frac.len() > decimals {
        frac.split_at(decimals)
    } else {
        (frac, "")
    };
    if dropped.bytes().any(|d| d != b'0') {
        return Err(FixedError::NotAMultiple);
    }
    let mut scaled: i128 = 0;
    for d in int.bytes().chain(kept.bytes()) {
        scaled = scaled
            .checked_mul(10)
            .and_then(|s| s.checked_add(i128::from(d - b'0')))
            .ok_or(FixedError::Overflow)?;
    }
    for _ in kept.len()..decimals {
        scaled = scaled.checked_mul(10).ok_or(FixedError::Overflow)?;
    }
    let unit = i128::from(tick.units()) * i128::from(step.units());
    if scaled % unit != 0 {
        return Err(FixedError::NotAMultiple);
    }
    Ok(scaled / unit)
}

/// Why a kline event was not taken. Small and `Copy`: returned by value on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum KlineError {
    /// The builder was made with [`KlineBuilder::new`], which has no tick and step to
    /// read the quote volumes with; use [`KlineBuilder::with_increments`].
    #[error("kline builder has no tick/step: build it with KlineBuilder::with_increments")]
    NoIncrements,
    /// `k.i` is not the builder's interval (the stream is routed to the wrong builder).
    #[error("kline interval does not match the builder's")]
    WrongInterval,
    /// `k.t` is not an open time of the interval or `k.T` is not its close time.
    #[error("kline open/close times are not aligned to the interval")]
    Misaligned,
    /// `k.q` or `k.Q` is not an exact count of tick × lot.
    #[error("kline `{field}`: {error}")]
    QuoteVolume {
        /// `k.q` or `k.Q`.
        field: &'static str,
        /// What was wrong with it.
        error: FixedError,
    },
}

/// What the builder ignored or filled in, since it was made. Every count is a signal the
/// engine exports as a metric: non-zero `missing_trade_ids` or `missed_closes` means the
/// bars differ from Binance's and should be re-fetched over REST.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KlineStats {
    /// Trades whose id was not above the last one taken (replays, reconnect overlap).
    pub duplicate_trades: u64,
    /// Trades with a new id but a time in a bar already closed (they came after
    /// `on_time` had closed it; see [`KlineBuilder::on_time`]).
    pub late_trades: u64,
    /// Trades with a price or quantity that is not positive, an id above `i64::MAX`, or
    /// a time whose bar cannot be placed.
    pub rejected_trades: u64,
    /// Trade ids skipped between consecutive trades taken (dropped messages): each is a
    /// trade Binance's `n` counts and these bars do not.
    pub missing_trade_ids: u64,
    /// Bars without trades emitted (by any method).
    pub empty_bars: u64,
    /// Jumps in time longer than the fill limit, left without empty bars.
    pub unfilled_gaps: u64,
    /// Kline events for a bar already closed or older than the open one.
    pub stale_klines: u64,
    /// Open bars taken from kline events that were dropped because a later kline came
    /// before their `x: true` (never emitted: their last values were not final).
    pub missed_closes: u64,
}

/// Builds one symbol's bars of one interval from its trades (or its kline stream).
///
/// One per symbol and interval on the market-data thread. All state is a few integers
/// and one [`Bar`]; no method allocates or panics.
#[derive(Debug, Clone)]
pub struct KlineBuilder {
    interval: BarInterval,
    increments: Option<(Increment, Increment)>,
    /// The open bar; meaningful only while `has_bar`.
    bar: Bar,
    has_bar: bool,
    /// Open time of the last bar handed out; nothing at or before it is emitted again.
    last_emitted_open_ms: Option<u64>,
    /// The last close price, which empty bars repeat.
    last_close_ticks: Option<i64>,
    last_trade_id: Option<u64>,
    max_fill: u64,
    stats: KlineStats,
}

impl KlineBuilder {
    /// A builder for trades only: [`KlineBuilder::on_kline`] needs the symbol's tick and
    /// step to read quote volumes and answers [`KlineError::NoIncrements`] here.
    pub fn new(interval: BarInterval) -> KlineBuilder {
        KlineBuilder {
            interval,
            increments: None,
            bar: Bar::empty(0, 0, 0, false),
            has_bar: false,
            last_emitted_open_ms: None,
            last_close_ticks: None,
            last_trade_id: None,
            max_fill: DEFAULT_MAX_FILL,
            stats: KlineStats::default(),
        }
    }

    /// A builder that also takes the kline stream, reading its quote volumes with the
    /// symbol's `PRICE_FILTER.tickSize` and `LOT_SIZE.stepSize`.
    pub fn with_increments(interval: BarInterval, tick: Increment, step: Increment) -> Self {
        KlineBuilder {
            increments: Some((tick, step)),
            ..KlineBuilder::new(interval)
        }
    }

    /// Sets how many empty bars one call may emit (default [`DEFAULT_MAX_FILL`]). A
    /// longer jump in time (a bad timestamp, a long outage) emits none and counts an
    /// [`KlineStats::unfilled_gaps`] instead, so that one message cannot stall the thread.
    pub fn with_max_fill(mut self, max_bars: u64) -> Self {
        self.max_fill = max_bars;
        self
    }

    /// The interval this builder aligns to.
    pub fn interval(&self) -> BarInterval {
        self.interval
    }

    /// The open (not yet closed) bar, if any: what Binance's stream would push with
    /// `x: false` now. `None` before the first trade and right after an `x: true` kline.
    pub fn current(&self) -> Option<&Bar> {
        self.has_bar.then_some(&self.bar)
    }

    /// The counters of what was ignored or filled in.
    pub fn stats(&self) -> KlineStats {
        self.stats
    }

    /// The id of the last trade taken, if any.
    pub fn last_trade_id(&self) -> Option<u64> {
        self.last_trade_id
    }

    /// Takes one trade of the `@trade` stream (`t`, `T`, `p` in ticks, `q` in lots, `m`).
    ///
    /// A trade in the open bar updates it. A trade in a later interval first closes the
    /// open bar, then emits an empty bar for every interval in between (Binance's empty
    /// klines), then opens the trade's bar. Trades with an id not above the last one are
    /// ignored and counted ([`KlineStats::duplicate_trades`]), as are trades that fall in a
    /// bar already closed ([`KlineStats::late_trades`]) and invalid ones.
    #[inline]
    pub fn on_trade(
        &mut self,
        trade_id: u64,
        time_ms: u64,
        price_ticks: i64,
        qty_lots: i64,
        buyer_is_maker: bool,
        out: &mut impl FnMut(&Bar),
    ) {
        if let Some(last) = self.last_trade_id {
            if trade_id <= last {
                self.stats.duplicate_trades += 1;
                return;
            }
        }
        let Ok(id) = i64::try_from(trade_id) else {
            self.stats.rejected_trades += 1;
            return;
        };
        if price_ticks <= 0 || qty_lots <= 0 {
            self.stats.rejected_trades += 1;
            return;
        }
        let in_open_bar =
            self.has_bar && time_ms >= self.bar.open_time_ms && time_ms <= self.bar.close_time_ms;
        if !in_open_bar && !self.open_bar_for_trade(time_ms, out) {
            return;
        }
        if let Some(last) = self.last_trade_id {
            self.stats.missing_trade_ids += trade_id - last - 1;
        }
        self.last_trade_id = Some(trade_id);
        self.bar
            .add_trade(id, price_ticks, qty_lots, buyer_is_maker);
    }

    /// The slow part of [`KlineBuilder::on_trade`]: the trade is not in the open bar.
    /// Closes and fills up to its bar and opens it; false (counted) when the trade cannot
    /// be taken.
    #[cold]
    fn open_bar_for_trade(&mut self, time_ms: u64, out: &mut impl FnMut(&Bar)) -> bool {
        let Some((open, close)) = self
            .interval
            .open_time_ms(time_ms)
            .and_then(|open| Some((open, self.interval.close_time_ms(open)?)))
        else {
            self.stats.rejected_trades += 1;
            return false;
        };
        let newest = if self.has_bar {
            Some(self.bar.open_time_ms)
        } else {
            self.last_emitted_open_ms
        };
        if newest.is_some_and(|newest| open <= newest) {
            self.stats.late_trades += 1;
            return false;
        }
        self.advance_to(open, out);
        // The prices are set by the trade about to be added.
        self.bar = Bar::empty(open, close, 0, false);
        self.has_bar = true;
        true
    }

    /// Tells the builder the time: closes the open bar once `now_ms` is past its close
    /// time, emits an empty bar for every interval that has ended since, and opens an
    /// empty bar for the interval of `now_ms` (as Binance's stream does on the boundary,
    /// trade or not). Nothing happens before the first trade or kline: there is no price
    /// to repeat.
    ///
    /// `now_ms` is Binance's clock, not the local one: pass the local time converted to
    /// exchange time *minus the lateness allowed to trades*. A trade whose time falls in a
    /// bar that `on_time` already closed is dropped and counted as late, so calling this
    /// with a clock ahead of the trade stream loses trades. On the kline-stream path
    /// ([`KlineBuilder::on_kline`]) bars close on `x: true`; calling `on_time` there
    /// closes a snapshot bar with the values it had, which may not be final.
    #[inline]
    pub fn on_time(&mut self, now_ms: u64, out: &mut impl FnMut(&Bar)) {
        if self.has_bar && now_ms <= self.bar.close_time_ms {
            return;
        }
        self.on_time_slow(now_ms, out);
    }

    #[cold]
    fn on_time_slow(&mut self, now_ms: u64, out: &mut impl FnMut(&Bar)) {
        let newest = if self.has_bar {
            self.bar.open_time_ms
        } else if let Some(emitted) = self.last_emitted_open_ms {
            emitted
        } else {
            return;
        };
        let Some(target) = self.interval.open_time_ms(now_ms) else {
            return;
        };
        if target <= newest {
            return;
        }
        self.advance_to(target, out);
        if let (Some(price), Some(close)) =
            (self.last_close_ticks, self.interval.close_time_ms(target))
        {
            self.bar = Bar::empty(target, close, price, false);
            self.has_bar = true;
        }
    }

    /// Takes one event of the `@kline_<interval>` stream directly.
    ///
    /// An open kline (`x: false`) replaces the open bar (unless it is older than what the
    /// builder holds); a closed one (`x: true`) is emitted, once. A kline for a bar
    /// already emitted is ignored ([`KlineStats::stale_klines`]). An open bar whose
    /// `x: true` never came (a later kline arrived first) is dropped, not emitted, and
    /// counted ([`KlineStats::missed_closes`]): its last values were not final.
    /// Intervals the stream skipped are not filled in. The kline's `L` also moves the
    /// builder's last trade id, so trades and klines can be fed to one builder (a REST or
    /// stream kline seeding the trade path).
    pub fn on_kline(
        &mut self,
        k: &Kline<'_>,
        out: &mut impl FnMut(&Bar),
    ) -> Result<(), KlineError> {
        let Some((tick, step)) = self.increments else {
            return Err(KlineError::NoIncrements);
        };
        if k.interval != self.interval.as_str() {
            return Err(KlineError::WrongInterval);
        }
        if self.interval.open_time_ms(k.open_time_ms) != Some(k.open_time_ms)
            || self.interval.close_time_ms(k.open_time_ms) != Some(k.close_time_ms)
        {
            return Err(KlineError::Misaligned);
        }
        let mut bar = Bar::from_kline(k, tick, step)?;
        bar.closed = false;
        if self
            .last_emitted_open_ms
            .is_some_and(|emitted| bar.open_time_ms <= emitted)
        {
            self.stats.stale_klines += 1;
            return Ok(());
        }
        if self.has_bar {
            if bar.open_time_ms < self.bar.open_time_ms
                || (bar.open_time_ms == self.bar.open_time_ms
                    && !k.closed
                    && bar.last_trade_id < self.bar.last_trade_id)
            {
                self.stats.stale_klines += 1;
                return Ok(());
            }
            if bar.open_time_ms > self.bar.open_time_ms {
                self.stats.missed_closes += 1;
                self.has_bar = false;
            }
        }
        if let Ok(last) = u64::try_from(bar.last_trade_id) {
            self.last_trade_id = Some(self.last_trade_id.map_or(last, |l| l.max(last)));
        }
        self.bar = bar;
        self.has_bar = true;
        if k.closed {
            self.close_open_bar(out);
        }
        Ok(())
    }

    /// Closes and emits the open bar.
    #[inline]
    fn close_open_bar(&mut self, out: &mut impl FnMut(&Bar)) {
        let mut bar = self.bar;
        bar.closed = true;
        self.has_bar = false;
        self.emit(&bar, out);
    }

    /// Hands a closed bar out and remembers it.
    #[inline]
    fn emit(&mut self, bar: &Bar, out: &mut impl FnMut(&Bar)) {
        debug_assert!(bar.closed);
        debug_assert!(self
            .last_emitted_open_ms
            .is_none_or(|e| bar.open_time_ms > e));
        self.last_emitted_open_ms = Some(bar.open_time_ms);
        self.last_close_ticks = Some(bar.close_ticks);
        if bar.trade_count == 0 {
            self.stats.empty_bars += 1;
        }
        out(bar);
    }

    /// Closes the open bar (if any) and emits an empty bar for every interval that opens
    /// before `target_open_ms`, within the fill limit. `target_open_ms` is an open time
    /// later than every bar emitted or open.
    fn advance_to(&mut self, target_open_ms: u64, out: &mut impl FnMut(&Bar)) {
        if self.has_bar {
            self.close_open_bar(out);
        }
        let (Some(price), Some(emitted)) = (self.last_close_ticks, self.last_emitted_open_ms)
        else {
            return;
        };
        let Some(mut open) = self.interval.next_open_ms(emitted) else {
            return;
        };
        if self.interval.bars_between(open, target_open_ms) > self.max_fill {
            self.stats.unfilled_gaps += 1;
            return;
        }
        while open < target_open_ms {
            let Some(next) = self.interval.next_open_ms(open) else {
                return;
            };
            self.emit(&Bar::empty(open, next - 1, price, true), out);
            open = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;
    use crate::feed::binance::tests::{btcusdt, capture, decoder};
    use crate::feed::binance::{decode, Event};

    /// A generated trade: id, time, price ticks, qty lots, buyer is maker.
    type TradeRow = (u64, u64, i64, i64, bool);
    /// A trade inside a reference group: id, price ticks, qty lots, buyer is maker.
    type GroupTrade = (u64, i64, i64, bool);

    fn iv(text: &str) -> BarInterval {
        BarInterval::parse(text).expect("test interval")
    }

    fn inc(text: &str) -> Increment {
        Increment::parse(text).expect("test increment")
    }

    /// One input to a builder.
    #[derive(Debug, Clone, Copy)]
    enum Ev {
        /// A trade: id, time, price ticks, qty lots, buyer is maker.
        T(u64, u64, i64, i64, bool),
        /// `on_time(now)`.
        Now(u64),
    }

    fn feed(b: &mut KlineBuilder, events: &[Ev]) -> Vec<Bar> {
        let mut bars = Vec::new();
        let mut out = |bar: &Bar| bars.push(*bar);
        for ev in events {
            match *ev {
                Ev::T(id, ms, px, qty, maker) => b.on_trade(id, ms, px, qty, maker, &mut out),
                Ev::Now(ms) => b.on_time(ms, &mut out),
            }
        }
        bars
    }

    /// A bar with trades, written out field by field.
    #[allow(clippy::too_many_arguments)]
    fn traded(
        open: u64,
        close: u64,
        (first, last): (i64, i64),
        [o, h, l, c]: [i64; 4],
        (volume, quote, count): (i64, i128, u64),
        (taker_volume, taker_quote): (i64, i128),
        closed: bool,
    ) -> Bar {
        Bar {
            open_time_ms: open,
            close_time_ms: close,
            first_trade_id: first,
            last_trade_id: last,
            open_ticks: o,
            high_ticks: h,
            low_ticks: l,
            close_ticks: c,
            volume_lots: volume,
            quote_volume: quote,
            trade_count: count,
            taker_buy_volume_lots: taker_volume,
            taker_buy_quote_volume: taker_quote,
            closed,
        }
    }

    fn empty(open: u64, close: u64, px: i64, closed: bool) -> Bar {
        Bar::empty(open, close, px, closed)
    }

    #[test]
    fn interval_parse_table() {
        let cases: &[(&str, Option<Option<u64>>)] = &[
            // TC0: one second
            ("1s", Some(Some(1_000))),
            // TC1: one minute
            ("1m", Some(Some(60_000))),
            // TC2: fifteen minutes
            ("15m", Some(Some(900_000))),
            // TC3: twelve hours
            ("12h", Some(Some(43_200_000))),
            // TC4: three days
            ("3d", Some(Some(259_200_000))),
            // TC5: a week
            ("1w", Some(Some(604_800_000))),
            // TC6: a calendar month has no fixed length
            ("1M", Some(None)),
            // TC7: case matters
            ("1H", None),
            // TC8: not a Binance interval
            ("2d", None),
            // TC9: empty
            ("", None),
            // TC10: another spelling of a month
            ("1mo", None),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let got = BarInterval::parse(text).ok().map(BarInterval::fixed_ms);
            assert_eq!(&got, want, "TC{i}: {text:?}");
        }
        for interval in BarInterval::ALL {
            assert_eq!(iv(interval.as_str()), interval);
            assert_eq!(interval.to_string().parse::<BarInterval>(), Ok(interval));
        }
        let error = BarInterval::parse("1H").expect_err("unknown").to_string();
        assert!(error.contains("\"1H\"") && error.contains("1M"), "{error}");
    }

    #[test]
    fn alignment_table() {
        type Span = Option<(u64, u64)>;
        let cases: &[(&str, u64, Span)] = &[
            // TC0: the documented kline sample's event time, 1m
            (
                "1m",
                1_672_515_782_136,
                Some((1_672_515_780_000, 1_672_515_839_999)),
            ),
            // TC1: an open time is its own bar
            (
                "1m",
                1_672_515_780_000,
                Some((1_672_515_780_000, 1_672_515_839_999)),
            ),
            // TC2: the last millisecond of a bar
            (
                "1m",
                1_672_515_839_999,
                Some((1_672_515_780_000, 1_672_515_839_999)),
            ),
            // TC3: one second
            (
                "1s",
                1_723_161_255_342,
                Some((1_723_161_255_000, 1_723_161_255_999)),
            ),
            // TC4: one hour
            (
                "1h",
                1_723_161_255_342,
                Some((1_723_158_000_000, 1_723_161_599_999)),
            ),
            // TC5: one day
            (
                "1d",
                1_723_161_255_342,
                Some((1_723_075_200_000, 1_723_161_599_999)),
            ),
            // TC6: three days, multiples since the epoch
            (
                "3d",
                1_723_161_255_342,
                Some((1_722_902_400_000, 1_723_161_599_999)),
            ),
            // TC7: a week opens on Monday: Binance's documented kline row (Mon 2017-07-03)
            (
                "1w",
                1_499_040_000_000,
                Some((1_499_040_000_000, 1_499_644_799_999)),
            ),
            // TC8: the Sunday before the next Monday is in the same week
            (
                "1w",
                1_499_644_799_999,
                Some((1_499_040_000_000, 1_499_644_799_999)),
            ),
            // TC9: a Thursday (2024-08-08) belongs to the week of Monday 2024-08-05
            (
                "1w",
                1_723_161_255_342,
                Some((1_722_816_000_000, 1_723_420_799_999)),
            ),
            // TC10: the first Monday after the epoch
            ("1w", 345_600_000, Some((345_600_000, 950_399_999))),
            // TC11: a week that would open before the epoch
            ("1w", 0, None),
            // TC12: February of a leap year
            (
                "1M",
                1_708_000_000_000,
                Some((1_706_745_600_000, 1_709_251_199_999)),
            ),
            // TC13: December rolls over to January
            (
                "1M",
                1_704_067_199_999,
                Some((1_701_388_800_000, 1_704_067_199_999)),
            ),
            // TC14: the first month
            ("1M", 0, Some((0, 2_678_399_999))),
            // TC15: a fixed interval near the end of time
            ("1m", u64::MAX, None),
            // TC16: a month past what the calendar handles
            ("1M", u64::MAX, None),
        ];
        for (i, (name, time, want)) in cases.iter().enumerate() {
            let interval = iv(name);
            let got = interval
                .open_time_ms(*time)
                .and_then(|open| Some((open, interval.close_time_ms(open)?)));
            assert_eq!(&got, want, "TC{i}: {name} {time}");
        }
    }

    #[test]
    fn bars_from_trades_table() {
        struct Case {
            interval: &'static str,
            events: Vec<Ev>,
            emitted: Vec<Bar>,
            current: Option<Bar>,
            stats: KlineStats,
        }
        const M1: u64 = 60_000;
        let feb = 1_706_745_600_000;
        let mar = 1_709_251_200_000;
        let apr = 1_711_929_600_000;
        let may = 1_714_521_600_000;
        let week = 1_722_816_000_000;
        let next_week = 1_723_420_800_000;
        let cases = [
            // TC0: three trades in a minute, a fourth in the next one closes it
            Case {
                interval: "1m",
                events: vec![
                    Ev::T(1, M1, 100, 2, false),
                    Ev::T(2, M1 + 500, 105, 1, true),
                    Ev::T(3, 2 * M1 - 1, 98, 3, false),
                    Ev::T(4, 2 * M1, 99, 1, true),
                ],
                emitted: vec![traded(
                    M1,
                    2 * M1 - 1,
                    (1, 3),
                    [100, 105, 98, 98],
                    (6, 200 + 105 + 294, 3),
                    (5, 200 + 294),
                    true,
                )],
                current: Some(traded(
                    2 * M1,
                    3 * M1 - 1,
                    (4, 4),
                    [99, 99, 99, 99],
                    (1, 99, 1),
                    (0, 0),
                    false,
                )),
                stats: KlineStats::default(),
            },
            // TC1: two minutes without trades become empty bars at the last close
            Case {
                interval: "1m",
                events: vec![
                    Ev::T(1, M1, 100, 1, true),
                    Ev::T(2, 4 * M1 + 5_000, 110, 1, true),
                ],
                emitted: vec![
                    traded(M1, 2 * M1 - 1, (1, 1), [100; 4], (1, 100, 1), (0, 0), true),
                    empty(2 * M1, 3 * M1 - 1, 100, true),
                    empty(3 * M1, 4 * M1 - 1, 100, true),
                ],
                current: Some(traded(
                    4 * M1,
                    5 * M1 - 1,
                    (2, 2),
                    [110; 4],
                    (1, 110, 1),
                    (0, 0),
                    false,
                )),
                stats: KlineStats {
                    empty_bars: 2,
                    ..KlineStats::default()
                },
            },
            // TC2: time closes bars on the boundary, trade or not; the next trade
            // replaces the empty open bar's prices
            Case {
                interval: "1m",
                events: vec![
                    Ev::T(1, M1, 100, 1, true),
                    Ev::Now(2 * M1 - 1),
                    Ev::Now(2 * M1),
                    Ev::Now(5 * M1 + 1),
                    Ev::T(2, 5 * M1 + 2, 90, 2, false),
                ],
                emitted: vec![
                    traded(M1, 2 * M1 - 1, (1, 1), [100; 4], (1, 100, 1), (0, 0), true),
                    empty(2 * M1, 3 * M1 - 1, 100, true),
                    empty(3 * M1, 4 * M1 - 1, 100, true),
                    empty(4 * M1, 5 * M1 - 1, 100, true),
                ],
                current: Some(traded(
                    5 * M1,
                    6 * M1 - 1,
                    (2, 2),
                    [90; 4],
                    (2, 180, 1),
                    (2, 180),
                    false,
                )),
                stats: KlineStats {
                    empty_bars: 3,
                    ..KlineStats::default()
                },
            },
            // TC3: time before any trade does nothing; an open empty bar closes as empty
            Case {
                interval: "1m",
                events: vec![
                    Ev::Now(10 * M1),
                    Ev::T(1, 10 * M1, 7, 1, true),
                    Ev::Now(11 * M1),
                    Ev::Now(12 * M1),
                ],
                emitted: vec![
                    traded(
                        10 * M1,
                        11 * M1 - 1,
                        (1, 1),
                        [7; 4],
                        (1, 7, 1),
                        (0, 0),
                        true,
                    ),
                    empty(11 * M1, 12 * M1 - 1, 7, true),
                ],
                current: Some(empty(12 * M1, 13 * M1 - 1, 7, false)),
                stats: KlineStats {
                    empty_bars: 1,
                    ..KlineStats::default()
                },
            },
            // TC4: replayed and out-of-order ids are ignored; skipped ids are counted
            Case {
                interval: "1m",
                events: vec![
                    Ev::T(5, M1, 100, 1, true),
                    Ev::T(5, M1 + 1, 200, 1, true),
                    Ev::T(4, M1 + 2, 300, 1, true),
                    Ev::T(8, M1 + 3, 101, 1, true),
                ],
                emitted: vec![],
                current: Some(traded(
                    M1,
                    2 * M1 - 1,
                    (5, 8),
                    [100, 101, 100, 101],
                    (2, 201, 2),
                    (0, 0),
                    false,
                )),
                stats: KlineStats {
                    duplicate_trades: 2,
                    missing_trade_ids: 2,
                    ..KlineStats::default()
                },
            },
            // TC5: a trade in a bar that time already closed is late
            Case {
                interval: "1m",
                events: vec![
                    Ev::T(1, M1, 100, 1, true),
                    Ev::Now(2 * M1),
                    Ev::T(2, 2 * M1 - 5, 120, 1, true),
                    Ev::T(3, 2 * M1 + 5, 95, 1, true),
                ],
                emitted: vec![traded(
                    M1,
                    2 * M1 - 1,
                    (1, 1),
                    [100; 4],
                    (1, 100, 1),
                    (0, 0),
                    true,
                )],
                current: Some(traded(
                    2 * M1,
                    3 * M1 - 1,
                    (3, 3),
                    [95; 4],
                    (1, 95, 1),
                    (0, 0),
                    false,
                )),
                stats: KlineStats {
                    late_trades: 1,
                    missing_trade_ids: 1,
                    ..KlineStats::default()
                },
            },
            // TC6: invalid trades are rejected without touching the bar
            Case {
                interval: "1w",
                events: vec![
                    Ev::T(1, week, 0, 1, true),
                    Ev::T(2, week, 10, 0, true),
                    Ev::T(3, week, -10, 1, true),
                    Ev::T(u64::MAX, week, 10, 1, true),
                    Ev::T(4, 1_000, 10, 1, true),
                ],
                emitted: vec![],
                current: None,
                stats: KlineStats {
                    rejected_trades: 5,
                    ..KlineStats::default()
                },
            },
            // TC7: weekly bars close on Monday 00:00 UTC
            Case {
                interval: "1w",
                events: vec![
                    Ev::T(1, 1_723_161_255_342, 6_183_763, 2_000, true),
                    Ev::T(2, next_week - 1, 6_000_000, 1, false),
                    Ev::T(3, next_week, 5_900_000, 1, true),
                ],
                emitted: vec![traded(
                    week,
                    next_week - 1,
                    (1, 2),
                    [6_183_763, 6_183_763, 6_000_000, 6_000_000],
                    (2_001, 6_183_763 * 2_000 + 6_000_000, 2),
                    (1, 6_000_000),
                    true,
                )],
                current: Some(traded(
                    next_week,
                    next_week + 7 * DAY_MS - 1,
                    (3, 3),
                    [5_900_000; 4],
                    (1, 5_900_000, 1),
                    (0, 0),
                    false,
                )),
                stats: KlineStats::default(),
            },
            // TC8: calendar months, a leap February, an empty March
            Case {
                interval: "1M",
                events: vec![
                    Ev::T(1, 1_708_000_000_000, 50, 1, true),
                    Ev::T(2, apr + 86_400_000, 60, 1, true),
                ],
                emitted: vec![
                    traded(feb, mar - 1, (1, 1), [50; 4], (1, 50, 1), (0, 0), true),
                    empty(mar, apr - 1, 50, true),
                ],
                current: Some(traded(
                    apr,
                    may - 1,
                    (2, 2),
                    [60; 4],
                    (1, 60, 1),
                    (0, 0),
                    false,
                )),
                stats: KlineStats {
                    empty_bars: 1,
                    ..KlineStats::default()
                },
            },
        ];
        for (i, case) in cases.iter().enumerate() {
            let mut b = KlineBuilder::new(iv(case.interval));
            let emitted = feed(&mut b, &case.events);
            assert_eq!(emitted, case.emitted, "TC{i}: emitted");
            assert_eq!(b.current(), case.current.as_ref(), "TC{i}: current");
            assert_eq!(b.stats(), case.stats, "TC{i}: stats");
        }
    }

    #[test]
    fn a_jump_past_the_fill_limit_is_counted_not_filled() {
        let mut b = KlineBuilder::new(iv("1s")).with_max_fill(10);
        let bars = feed(
            &mut b,
            &[
                Ev::T(1, 1_000, 5, 1, true),
                Ev::T(2, 12_000, 6, 1, true),
                Ev::T(3, 24_000, 7, 1, true),
                // A bad timestamp far in the future must not stall the thread.
                Ev::T(4, u64::MAX / 2, 8, 1, true),
            ],
        );
        let opens: Vec<u64> = bars.iter().map(|b| b.open_time_ms).collect();
        let mut want = vec![1_000];
        want.extend((2..12).map(|s| s * 1_000));
        want.extend([12_000, 24_000]);
        assert_eq!(opens, want);
        assert_eq!(b.stats().unfilled_gaps, 2);
        assert_eq!(b.stats().empty_bars, 10);
        assert_eq!(b.current().map(|c| c.first_trade_id), Some(4));
    }

    const DOC_SAMPLE: &str = r#"{
      "e": "kline", "E": 1672515782136, "s": "BNBBTC",
      "k": {
        "t": 1672515780000, "T": 1672515839999, "s": "BNBBTC", "i": "1m",
        "f": 100, "L": 200, "o": "0.0010", "c": "0.0020", "h": "0.0025", "l": "0.0015",
        "v": "1000", "n": 100, "x": false, "q": "1.0000", "V": "500", "Q": "0.500",
        "B": "123456"
      }
    }"#;

    #[test]
    fn the_documented_kline_sample() {
        let (tick, step) = (inc("0.0001"), inc("1"));
        let want = traded(
            1_672_515_780_000,
            1_672_515_839_999,
            (100, 200),
            [10, 25, 15, 20],
            (1_000, 10_000, 100),
            (500, 5_000),
            false,
        );
        for closed in [false, true] {
            let text = DOC_SAMPLE.replace("\"x\": false", &format!("\"x\": {closed}"));
            let mut frame = text.into_bytes();
            let mut cx = decoder("0.0001", "1");
            let Ok(Event::Kline(k)) = decode(&mut frame, &mut cx) else {
                panic!("the documented sample decodes");
            };
            let mut b = KlineBuilder::with_increments(iv("1m"), tick, step);
            let mut bars = Vec::new();
            assert_eq!(b.on_kline(&k, &mut |bar| bars.push(*bar)), Ok(()));
            if closed {
                assert_eq!(
                    bars,
                    vec![Bar {
                        closed: true,
                        ..want
                    }]
                );
                assert_eq!(b.current(), None);
                assert_eq!(b.last_trade_id(), Some(200));
            } else {
                assert!(bars.is_empty());
                assert_eq!(b.current(), Some(&want));
            }
            assert_eq!(want.quote_volume_string(tick, step), "1.00000000");
            assert_eq!(want.taker_buy_quote_volume_string(tick, step), "0.50000000");
            assert_eq!(
                (
                    want.open(tick),
                    want.high(tick),
                    want.low(tick),
                    want.close(tick)
                ),
                (0.001, 0.0025, 0.0015, 0.002)
            );
            assert_eq!(
                (want.volume(step), want.taker_buy_volume(step)),
                (1000.0, 500.0)
            );
            assert_eq!(
                (
                    want.quote_volume_f64(tick, step),
                    want.taker_buy_quote_volume_f64(tick, step)
                ),
                (1.0, 0.5)
            );
        }
    }

    /// A kline event with the given bar's values, quote volumes as text.
    fn kline<'a>(bar: &Bar, interval: &'a str, q: &'a str, big_q: &'a str) -> Kline<'a> {
        Kline {
            event_time_ms: bar.open_time_ms,
            symbol: "BTCUSDT",
            open_time_ms: bar.open_time_ms,
            close_time_ms: bar.close_time_ms,
            interval,
            first_trade_id: bar.first_trade_id,
            last_trade_id: bar.last_trade_id,
            open_ticks: bar.open_ticks,
            high_ticks: bar.high_ticks,
            low_ticks: bar.low_ticks,
            close_ticks: bar.close_ticks,
            volume_lots: bar.volume_lots,
            trade_count: bar.trade_count,
            closed: bar.closed,
            quote_volume: q,
            taker_buy_volume_lots: bar.taker_buy_volume_lots,
            taker_buy_quote_volume: big_q,
        }
    }

    #[test]
    fn kline_event_table() {
        let (tick, step) = (inc("0.01"), inc("0.00001"));
        let m1 = traded(
            60_000,
            119_999,
            (1, 3),
            [100, 105, 98, 98],
            (6, 599, 3),
            (5, 494),
            false,
        );
        let m2 = traded(120_000, 179_999, (4, 4), [99; 4], (1, 99, 1), (0, 0), false);
        let fin = |b: Bar| Bar { closed: true, ..b };
        let q = |b: &Bar| format_quote_volume(b.quote_volume, tick, step);
        let big_q = |b: &Bar| format_quote_volume(b.taker_buy_quote_volume, tick, step);
        type Case = (
            Vec<(Bar, &'static str)>,
            Result<(), KlineError>,
            Vec<Bar>,
            Option<Bar>,
            KlineStats,
        );
        let cases: Vec<Case> = vec![
            // TC0: a snapshot, a newer one, then the final
            (
                vec![(m1, "1m"), (m1, "1m"), (fin(m1), "1m")],
                Ok(()),
                vec![fin(m1)],
                None,
                KlineStats::default(),
            ),
            // TC1: the final twice: emitted once
            (
                vec![(fin(m1), "1m"), (fin(m1), "1m")],
                Ok(()),
                vec![fin(m1)],
                None,
                KlineStats {
                    stale_klines: 1,
                    ..KlineStats::default()
                },
            ),
            // TC2: an older snapshot after a newer one is ignored
            (
                vec![
                    (m1, "1m"),
                    (
                        Bar {
                            last_trade_id: 2,
                            ..m1
                        },
                        "1m",
                    ),
                ],
                Ok(()),
                vec![],
                Some(m1),
                KlineStats {
                    stale_klines: 1,
                    ..KlineStats::default()
                },
            ),
            // TC3: the next bar's kline before this one's final: dropped, counted
            (
                vec![(m1, "1m"), (m2, "1m")],
                Ok(()),
                vec![],
                Some(m2),
                KlineStats {
                    missed_closes: 1,
                    ..KlineStats::default()
                },
            ),
            // TC4: a kline of another interval
            (
                vec![(m1, "5m")],
                Err(KlineError::WrongInterval),
                vec![],
                None,
                KlineStats::default(),
            ),
            // TC5: an open time that is not a minute
            (
                vec![(
                    Bar {
                        open_time_ms: 60_001,
                        ..m1
                    },
                    "1m",
                )],
                Err(KlineError::Misaligned),
                vec![],
                None,
                KlineStats::default(),
            ),
            // TC6: a close time that is not the next open minus 1
            (
                vec![(
                    Bar {
                        close_time_ms: 120_000,
                        ..m1
                    },
                    "1m",
                )],
                Err(KlineError::Misaligned),
                vec![],
                None,
                KlineStats::default(),
            ),
        ];
        for (i, (events, result, emitted, current, stats)) in cases.into_iter().enumerate() {
            let mut b = KlineBuilder::with_increments(iv("1m"), tick, step);
            let mut bars = Vec::new();
            let mut last = Ok(());
            for (bar, name) in &events {
                let (q, big_q) = (q(bar), big_q(bar));
                last = b.on_kline(&kline(bar, name, &q, &big_q), &mut |b| bars.push(*b));
                if last.is_err() {
                    break;
                }
            }
            assert_eq!(last, result, "TC{i}: result");
            assert_eq!(bars, emitted, "TC{i}: emitted");
            assert_eq!(b.current(), current.as_ref(), "TC{i}: current");
            assert_eq!(b.stats(), stats, "TC{i}: stats");
        }
    }

    #[test]
    fn kline_event_errors() {
        let (tick, step) = (inc("0.01"), inc("0.00001"));
        let bar = traded(
            60_000,
            119_999,
            (1, 1),
            [100; 4],
            (1, 100, 1),
            (0, 0),
            false,
        );
        let cases: &[(bool, &str, &str, KlineError)] = &[
            // TC0: a builder without increments cannot read quote volumes
            (false, "0.0000100", "0", KlineError::NoIncrements),
            // TC1: a quote volume finer than tick * step
            (
                true,
                "0.000000001",
                "0",
                KlineError::QuoteVolume {
                    field: "k.q",
                    error: FixedError::NotAMultiple,
                },
            ),
            // TC2: a taker quote volume that is not a decimal
            (
                true,
                "0.00001",
                "1e5",
                KlineError::QuoteVolume {
                    field: "k.Q",
                    error: FixedError::Invalid,
                },
            ),
        ];
        for (i, (increments, q, big_q, want)) in cases.iter().enumerate() {
            let mut b = if *increments {
                KlineBuilder::with_increments(iv("1m"), tick, step)
            } else {
                KlineBuilder::new(iv("1m"))
            };
            let got = b.on_kline(&kline(&bar, "1m", q, big_q), &mut |_| {});
            assert_eq!(got, Err(*want), "TC{i}");
            assert_eq!(b.current(), None, "TC{i}");
        }
    }

    #[test]
    fn quote_volume_parse_table() {
        let btc = (inc("0.01"), inc("0.00001"));
        let odd = (inc("0.005"), inc("10"));
        type Case<'s> = (&'s str, (Increment, Increment), Result<i128, FixedError>);
        let cases: &[Case<'_>] = &[
            // TC0: Binance's 8 decimals, BTCUSDT's 7 significant
            ("1234.56789010", btc, Ok(12_345_678_901)),
            // TC1: zero
            ("0.00000000", btc, Ok(0)),
            // TC2: no point
            ("12", btc, Ok(12 * 10_000_000)),
            // TC3: a digit beyond tick * step
            ("0.00000001", btc, Err(FixedError::NotAMultiple)),
            // TC4: tick * step = 0.05: a multiple
            ("0.15", odd, Ok(3)),
            // TC5: not a multiple of 0.05
            ("0.12", odd, Err(FixedError::NotAMultiple)),
            // TC6: beyond i64 but within i128
            (
                "98765432109876543210.12345670",
                btc,
                Ok(987_654_321_098_765_432_101_234_567),
            ),
            // TC7: beyond i128
            ("9".repeat(40).leak(), btc, Err(FixedError::Overflow)),
            // TC8: a sign
            ("-1.0", btc, Err(FixedError::Invalid)),
            // TC9: empty
            ("", btc, Err(FixedError::Empty)),
        ];
        for (i, (text, (tick, step), want)) in cases.iter().enumerate() {
            assert_eq!(
                &parse_quote_volume(text, *tick, *step),
                want,
                "TC{i}: {text:?}"
            );
        }
    }

    #[test]
    fn quote_volume_format_table() {
        let cases: &[(i128, &str, &str, &str)] = &[
            // TC0: BTCUSDT, padded to Binance's 8 decimals
            (12_345_678_901, "0.01", "0.00001", "1234.56789010"),
            // TC1: zero
            (0, "0.01", "0.00001", "0.00000000"),
            // TC2: more than 8 decimals are kept exact
            (5, "0.00000001", "0.001", "0.00000000005"),
            // TC3: non-power-of-ten increments
            (3, "0.005", "10", "0.15000000"),
            // TC4: beyond i64
            (
                987_654_321_098_765_432_101_234_567,
                "0.01",
                "0.00001",
                "98765432109876543210.12345670",
            ),
        ];
        for (i, (value, tick, step, want)) in cases.iter().enumerate() {
            let (tick, step) = (inc(tick), inc(step));
            let text = format_quote_volume(*value, tick, step);
            assert_eq!(text, *want, "TC{i}");
            assert_eq!(
                parse_quote_volume(&text, tick, step),
                Ok(*value),
                "TC{i}: round trip"
            );
        }
    }

    #[test]
    fn float_accessors_are_the_nearest_double() {
        let cases: &[(i64, &str, f64)] = &[
            // TC0: a BTCUSDT price
            (6_183_763, "0.01", 61_837.63),
            // TC1: a BTCUSDT quantity
            (2_000, "0.00001", 0.02),
            // TC2: a non-power-of-ten tick
            (3, "0.005", 0.015),
            // TC3: a step above one
            (12, "10", 120.0),
            // TC4: eight decimals
            (1, "0.00000001", 1e-8),
        ];
        for (i, (units, increment, want)) in cases.iter().enumerate() {
            let bar = Bar::empty(0, 0, *units, true);
            assert_eq!(bar.close(inc(increment)), *want, "TC{i}");
            let text = crate::feed::fixed::format_units(*units, inc(increment));
            assert_eq!(
                text.parse::<f64>(),
                Ok(*want),
                "TC{i}: same as parsing {text}"
            );
        }
    }

    /// The bundled capture's trades, built into 5m bars, against Binance's own 5m klines
    /// for the two bars the capture covers whole (2024-08-08 23:55 and 2024-08-09 00:00).
    #[test]
    fn five_minute_bars_from_the_capture_match_binance_klines() {
        let mut cx = btcusdt();
        let mut b = KlineBuilder::new(iv("5m"));
        let mut bars = Vec::new();
        let mut trades = 0;
        for name in ["btcusdt_20240808.gz", "btcusdt_20240809.gz"] {
            for mut frame in capture(name) {
                if let Ok(Event::Trade(t)) = decode(&mut frame, &mut cx) {
                    trades += 1;
                    b.on_trade(
                        t.trade_id,
                        t.trade_time_ms,
                        t.price_ticks,
                        t.qty_lots,
                        t.buyer_is_maker,
                        &mut |bar| bars.push(*bar),
                    );
                }
            }
        }
        assert_eq!(trades, 9_757 + 10_147);
        // 23:50 (the capture starts at 23:54:13), 23:55, 00:00; 00:05 is still open.
        let opens: Vec<u64> = bars.iter().map(|b| b.open_time_ms).collect();
        assert_eq!(
            opens,
            [1_723_161_000_000, 1_723_161_300_000, 1_723_161_600_000]
        );
        assert_eq!(b.current().map(|c| c.open_time_ms), Some(1_723_161_900_000));
        let stats = b.stats();
        assert_eq!((stats.duplicate_trades, stats.missing_trade_ids), (0, 0));
        assert_eq!(bars[2].first_trade_id, bars[1].last_trade_id + 1);
        assert_eq!(
            bars[1].trade_count,
            (bars[1].last_trade_id - bars[1].first_trade_id + 1) as u64
        );

        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/binance/BTC_USDT-5m.feather"
        );
        let series = crate::history::load(Path::new(path), None, None).expect("bundled 5m klines");
        let (tick, step) = (inc("0.01"), inc("0.00001"));
        for bar in &bars[1..] {
            let row = series
                .bars
                .iter()
                .find(|r| r.time_ms == bar.open_time_ms as i64)
                .expect("Binance kline for the bar");
            let ohlc = [
                bar.open(tick),
                bar.high(tick),
                bar.low(tick),
                bar.close(tick),
            ];
            assert_eq!(
                ohlc,
                [row.open, row.high, row.low, row.close],
                "{}",
                bar.open_time_ms
            );
            assert_eq!(
                bar.volume_lots,
                (row.volume * 1e5).round() as i64,
                "{}",
                bar.open_time_ms
            );
            assert_eq!(bar.volume(step), row.volume, "{}", bar.open_time_ms);
            assert!(bar.trade_count > 1_000);
        }
    }

    /// Month starts from 1970 to 2100 by counting days in months, the plain way.
    fn month_starts() -> Vec<u64> {
        let mut starts = Vec::new();
        let mut ms = 0u64;
        for year in 1970u64..2100 {
            for month in 1..=12 {
                starts.push(ms);
                let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
                let days = match month {
                    4 | 6 | 9 | 11 => 30,
                    2 if leap => 29,
                    2 => 28,
                    _ => 31,
                };
                ms += days * DAY_MS;
            }
        }
        starts
    }

    /// The reference: drop replays, group by interval, fold each group, fill the gaps
    /// between groups with the previous close. Returns the closed bars and the open one.
    fn reference(interval: &str, trades: &[TradeRow]) -> (Vec<Bar>, Bar) {
        let starts = month_starts();
        let open_of = |t: u64| -> u64 {
            match interval {
                "1M" => starts[starts.partition_point(|&s| s <= t) - 1],
                "1w" => (t - FIRST_MONDAY_MS) / (7 * DAY_MS) * (7 * DAY_MS) + FIRST_MONDAY_MS,
                _ => {
                    let len = iv(interval).fixed_ms().expect("fixed");
                    t / len * len
                }
            }
        };
        let next_of = |open: u64| -> u64 {
            match interval {
                "1M" => starts[starts.partition_point(|&s| s <= open)],
                _ => open + iv(interval).fixed_ms().expect("fixed"),
            }
        };
        let mut groups: Vec<(u64, Vec<GroupTrade>)> = Vec::new();
        let mut max_id = None;
        for &(id, t, px, qty, maker) in trades {
            if max_id.is_some_and(|m| id <= m) {
                continue;
            }
            max_id = Some(id);
            let open = open_of(t);
            match groups.last_mut() {
                Some((o, g)) if *o == open => g.push((id, px, qty, maker)),
                _ => groups.push((open, vec![(id, px, qty, maker)])),
            }
        }
        let fold = |open: u64, g: &[GroupTrade], closed: bool| Bar {
            open_time_ms: open,
            close_time_ms: next_of(open) - 1,
            first_trade_id: g[0].0 as i64,
            last_trade_id: g[g.len() - 1].0 as i64,
            open_ticks: g[0].1,
            high_ticks: g.iter().map(|x| x.1).max().unwrap_or(0),
            low_ticks: g.iter().map(|x| x.1).min().unwrap_or(0),
            close_ticks: g[g.len() - 1].1,
            volume_lots: g.iter().map(|x| x.2).sum(),
            quote_volume: g.iter().map(|x| i128::from(x.1) * i128::from(x.2)).sum(),
            trade_count: g.len() as u64,
            taker_buy_volume_lots: g.iter().filter(|x| !x.3).map(|x| x.2).sum(),
            taker_buy_quote_volume: g
                .iter()
                .filter(|x| !x.3)
                .map(|x| i128::from(x.1) * i128::from(x.2))
                .sum(),
            closed,
        };
        let mut closed = Vec::new();
        for pair in groups.windows(2) {
            let bar = fold(pair[0].0, &pair[0].1, true);
            closed.push(bar);
            let mut open = next_of(pair[0].0);
            while open < pair[1].0 {
                closed.push(Bar::empty(open, next_of(open) - 1, bar.close_ticks, true));
                open = next_of(open);
            }
        }
        let (open, g) = groups.last().expect("at least one trade");
        (closed, fold(*open, g, false))
    }

    /// Random trades: ids mostly consecutive (some skipped), times non-decreasing with
    /// jumps of up to three intervals, some trades replayed.
    fn trades_strategy() -> impl Strategy<Value = (&'static str, Vec<TradeRow>)> {
        let interval = prop::sample::select(vec!["1s", "1m", "15m", "1h", "1d", "3d", "1w", "1M"]);
        (interval, 1_500_000_000_000u64..1_800_000_000_000).prop_flat_map(|(interval, start)| {
            let len = iv(interval).fixed_ms().unwrap_or(30 * DAY_MS);
            let step = prop_oneof![
                6 => 0..len / 4,
                2 => 0..3 * len,
                1 => Just(0),
            ];
            let trade = (step, 1i64..1_000, 1i64..100, any::<bool>(), 0u8..20);
            prop::collection::vec(trade, 1..120).prop_map(move |raw| {
                let (mut t, mut id) = (start, 1_000u64);
                let mut trades: Vec<TradeRow> = Vec::new();
                for (dt, px, qty, maker, roll) in raw {
                    if roll == 0 && !trades.is_empty() {
                        // A replay of an earlier trade.
                        let k = trades.len() / 2;
                        trades.push(trades[k]);
                        continue;
                    }
                    t += dt;
                    id += if roll == 1 { 3 } else { 1 };
                    trades.push((id, t, px, qty, maker));
                }
                (interval, trades)
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn trades_build_the_reference_bars((interval, trades) in trades_strategy()) {
            let mut b = KlineBuilder::new(iv(interval));
            let mut bars = Vec::new();
            for &(id, t, px, qty, maker) in &trades {
                b.on_trade(id, t, px, qty, maker, &mut |bar| bars.push(*bar));
            }
            let (closed, open) = reference(interval, &trades);
            prop_assert_eq!(&bars, &closed);
            prop_assert_eq!(b.current(), Some(&open));
            // Time past the open bar's close closes it and opens an empty one.
            b.on_time(open.close_time_ms + 1, &mut |bar| bars.push(*bar));
            prop_assert_eq!(bars.last(), Some(&Bar { closed: true, ..open }));
            prop_assert_eq!(bars.len(), closed.len() + 1);
            let next = b.current().copied();
            prop_assert_eq!(next.map(|n| (n.open_time_ms, n.trade_count, n.close_ticks)),
                Some((open.close_time_ms + 1, 0, open.close_ticks)));
        }

        #[test]
        fn the_kline_stream_agrees_with_the_trades(
            (interval, trades) in trades_strategy(),
            snapshot_every in 1usize..5,
            increments in prop::sample::select(vec![("0.01", "0.00001"), ("0.005", "10"), ("0.00000001", "0.001")]),
        ) {
            let (tick, step) = (inc(increments.0), inc(increments.1));
            // Builder A takes the trades; the stream Binance would send is made from what
            // A holds: a snapshot of the open bar every few trades (and a stale one now
            // and then), every closed bar as `x: true`.
            let mut a = KlineBuilder::new(iv(interval));
            let mut from_trades = Vec::new();
            let mut stream: Vec<Bar> = Vec::new();
            for (i, &(id, t, px, qty, maker)) in trades.iter().enumerate() {
                a.on_trade(id, t, px, qty, maker, &mut |bar| {
                    from_trades.push(*bar);
                    stream.push(*bar);
                });
                if let Some(open) = a.current() {
                    if i % snapshot_every == 0 || i + 1 == trades.len() {
                        stream.push(*open);
                        if i % 7 == 3 && open.trade_count > 1 {
                            // An older snapshot arriving late: must be ignored.
                            stream.push(Bar { last_trade_id: open.last_trade_id - 1, ..*open });
                        }
                    }
                }
            }
            let texts: Vec<(String, String)> = stream
                .iter()
                .map(|bar| (
                    format_quote_volume(bar.quote_volume, tick, step),
                    format_quote_volume(bar.taker_buy_quote_volume, tick, step),
                ))
                .collect();
            let mut b = KlineBuilder::with_increments(iv(interval), tick, step);
            let mut from_stream = Vec::new();
            for (bar, (q, big_q)) in stream.iter().zip(&texts) {
                let k = kline(bar, interval, q, big_q);
                prop_assert_eq!(b.on_kline(&k, &mut |bar| from_stream.push(*bar)), Ok(()));
            }
            prop_assert_eq!(&from_stream, &from_trades);
            prop_assert_eq!(b.current(), a.current());
            prop_assert_eq!(b.stats().missed_closes, 0);
            // The builder fed by the stream takes trades on from the stream's last id.
            prop_assert_eq!(b.last_trade_id(), a.last_trade_id());
        }
    }
}
