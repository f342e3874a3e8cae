//! The contract between a simulated market and the server that serves it.
//!
//! A [`MarketSource`] is a deterministic market for one or more symbols: it advances in
//! steps of at most 100 ms of market time and, at each step, produces the exact JSON bodies
//! Binance would push on each market stream (the body of a raw `/ws/<stream>` message; the
//! server adds the combined-stream wrapper itself). It also answers the REST market-data
//! endpoints from its own state. The server owns the sockets, pacing, subscriptions and
//! faults and knows nothing of how the market is made.

use std::fmt;
use std::sync::Arc;

/// A Binance kline interval (`<symbol>@kline_<interval>`, `GET /api/v3/klines?interval=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KlineInterval {
    /// `1s`
    S1,
    /// `1m`
    M1,
    /// `3m`
    M3,
    /// `5m`
    M5,
    /// `15m`
    M15,
    /// `30m`
    M30,
    /// `1h`
    H1,
    /// `2h`
    H2,
    /// `4h`
    H4,
    /// `6h`
    H6,
    /// `8h`
    H8,
    /// `12h`
    H12,
    /// `1d`
    D1,
    /// `3d`
    D3,
    /// `1w` (weeks start on Monday 00:00 UTC, as Binance's do)
    W1,
    /// `1M` (calendar months, UTC)
    Mo1,
}

impl KlineInterval {
    /// Every interval, in Binance's documented order.
    pub const ALL: [KlineInterval; 16] = [
        KlineInterval::S1,
        KlineInterval::M1,
        KlineInterval::M3,
        KlineInterval::M5,
        KlineInterval::M15,
        KlineInterval::M30,
        KlineInterval::H1,
        KlineInterval::H2,
        KlineInterval::H4,
        KlineInterval::H6,
        KlineInterval::H8,
        KlineInterval::H12,
        KlineInterval::D1,
        KlineInterval::D3,
        KlineInterval::W1,
        KlineInterval::Mo1,
    ];

    /// Binance's spelling (`"1m"`, `"1M"`, ...); case matters (`1m` is a minute, `1M` a month).
    pub fn as_str(self) -> &'static str {
        match self {
            KlineInterval::S1 => "1s",
            KlineInterval::M1 => "1m",
            KlineInterval::M3 => "3m",
            KlineInterval::M5 => "5m",
            KlineInterval::M15 => "15m",
            KlineInterval::M30 => "30m",
            KlineInterval::H1 => "1h",
            KlineInterval::H2 => "2h",
            KlineInterval::H4 => "4h",
            KlineInterval::H6 => "6h",
            KlineInterval::H8 => "8h",
            KlineInterval::H12 => "12h",
            KlineInterval::D1 => "1d",
            KlineInterval::D3 => "3d",
            KlineInterval::W1 => "1w",
            KlineInterval::Mo1 => "1M",
        }
    }

    /// Parses Binance's spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<KlineInterval> {
        KlineInterval::ALL
            .into_iter()
            .find(|interval| interval.as_str() == text)
    }

    /// The fixed length in milliseconds, or `None` for `1M` whose length depends on the
    /// month.
    pub fn fixed_ms(self) -> Option<i64> {
        const MIN: i64 = 60_000;
        const HOUR: i64 = 60 * MIN;
        const DAY: i64 = 24 * HOUR;
        Some(match self {
            KlineInterval::S1 => 1_000,
            KlineInterval::M1 => MIN,
            KlineInterval::M3 => 3 * MIN,
            KlineInterval::M5 => 5 * MIN,
            KlineInterval::M15 => 15 * MIN,
            KlineInterval::M30 => 30 * MIN,
            KlineInterval::H1 => HOUR,
            KlineInterval::H2 => 2 * HOUR,
            KlineInterval::H4 => 4 * HOUR,
            KlineInterval::H6 => 6 * HOUR,
            KlineInterval::H8 => 8 * HOUR,
            KlineInterval::H12 => 12 * HOUR,
            KlineInterval::D1 => DAY,
            KlineInterval::D3 => 3 * DAY,
            KlineInterval::W1 => 7 * DAY,
            KlineInterval::Mo1 => return None,
        })
    }
}

/// What a market stream carries, independent of its symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// `<symbol>@trade`
    Trade,
    /// `<symbol>@aggTrade`
    AggTrade,
    /// `<symbol>@depth` (every 1000 ms, `fast == false`) or `<symbol>@depth@100ms`.
    Depth {
        /// `@100ms`
        fast: bool,
    },
    /// `<symbol>@depth<levels>` / `<symbol>@depth<levels>@100ms`, levels 5, 10 or 20.
    PartialDepth {
        /// 5, 10 or 20.
        levels: u8,
        /// `@100ms`
        fast: bool,
    },
    /// `<symbol>@bookTicker` (real time).
    BookTicker,
    /// `<symbol>@kline_<interval>`.
    Kline(KlineInterval),
}

/// A market stream: a symbol (index into [`MarketSource::symbols`]) and what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamKey {
    /// Index into [`MarketSource::symbols`].
    pub symbol: usize,
    /// What the stream carries.
    pub kind: StreamKind,
}

/// Why a stream name was refused (Binance answers such a subscription with an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamNameError {
    /// The part before `@` is not a symbol this market serves.
    UnknownSymbol(String),
    /// The part after `@` is not a market stream Binance documents.
    UnknownStream(String),
}

impl fmt::Display for StreamNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamNameError::UnknownSymbol(name) => write!(f, "unknown symbol in stream `{name}`"),
            StreamNameError::UnknownStream(name) => write!(f, "unknown stream `{name}`"),
        }
    }
}

impl std::error::Error for StreamNameError {}

impl StreamKey {
    /// Parses a stream name as Binance spells it (`btcusdt@depth@100ms`): the symbol in
    /// lower case (Binance requires it), then the stream. `symbols` are the market's
    /// symbols in upper case.
    pub fn parse(name: &str, symbols: &[SymbolInfo]) -> Result<StreamKey, StreamNameError> {
        let (symbol, stream) = name
            .split_once('@')
            .ok_or_else(|| StreamNameError::UnknownStream(name.to_string()))?;
        let index = symbols
            .iter()
            .position(|info| {
                symbol.bytes().all(|b| !b.is_ascii_uppercase())
                    && info.symbol.eq_ignore_ascii_case(symbol)
            })
            .ok_or_else(|| StreamNameError::UnknownSymbol(name.to_string()))?;
        let kind = parse_kind(stream).ok_or_else(|| StreamNameError::UnknownStream(name.into()))?;
        Ok(StreamKey {
            symbol: index,
            kind,
        })
    }

    /// The stream name Binance uses (`btcusdt@depth@100ms`).
    pub fn name(&self, symbols: &[SymbolInfo]) -> String {
        let symbol = symbols
            .get(self.symbol)
            .map(|info| info.symbol.to_ascii_lowercase())
            .unwrap_or_default();
        let stream = match self.kind {
            StreamKind::Trade => "trade".to_string(),
            StreamKind::AggTrade => "aggTrade".to_string(),
            StreamKind::Depth { fast: false } => "depth".to_string(),
            StreamKind::Depth { fast: true } => "depth@100ms".to_string(),
            StreamKind::PartialDepth { levels, fast } => {
                format!("depth{levels}{}", if fast { "@100ms" } else { "" })
            }
            StreamKind::BookTicker => "bookTicker".to_string(),
            StreamKind::Kline(interval) => format!("kline_{}", interval.as_str()),
        };
        format!("{symbol}@{stream}")
    }
}

fn parse_kind(stream: &str) -> Option<StreamKind> {
    Some(match stream {
        "trade" => StreamKind::Trade,
        "aggTrade" => StreamKind::AggTrade,
        "bookTicker" => StreamKind::BookTicker,
        "depth" | "depth@1000ms" => StreamKind::Depth { fast: false },
        "depth@100ms" => StreamKind::Depth { fast: true },
        _ => {
            if let Some(interval) = stream.strip_prefix("kline_") {
                return KlineInterval::parse(interval).map(StreamKind::Kline);
            }
            let rest = stream.strip_prefix("depth")?;
            let (levels, fast) = match rest.split_once('@') {
                None => (rest, false),
                Some((levels, "100ms")) => (levels, true),
                Some((levels, "1000ms")) => (levels, false),
                Some(_) => return None,
            };
            let levels = match levels {
                "5" => 5,
                "10" => 10,
                "20" => 20,
                _ => return None,
            };
            StreamKind::PartialDepth { levels, fast }
        }
    })
}

/// A symbol the market serves, with the exchangeInfo filters Binance publishes for it.
/// All numbers are Binance's decimal strings (`"0.01000000"`), exactly as exchangeInfo
/// prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolInfo {
    /// `BTCUSDT`
    pub symbol: String,
    /// `BTC`
    pub base_asset: String,
    /// `USDT`
    pub quote_asset: String,
    /// Decimals of the base asset (`baseAssetPrecision`).
    pub base_precision: u8,
    /// Decimals of the quote asset (`quoteAssetPrecision`).
    pub quote_precision: u8,
    /// `PRICE_FILTER.tickSize`
    pub tick_size: String,
    /// `PRICE_FILTER.minPrice`
    pub min_price: String,
    /// `PRICE_FILTER.maxPrice`
    pub max_price: String,
    /// `LOT_SIZE.stepSize`
    pub step_size: String,
    /// `LOT_SIZE.minQty`
    pub min_qty: String,
    /// `LOT_SIZE.maxQty`
    pub max_qty: String,
    /// `NOTIONAL.minNotional`
    pub min_notional: String,
    /// `NOTIONAL.maxNotional`
    pub max_notional: String,
}

/// One message a market step produced for one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimMessage {
    /// The stream it belongs to.
    pub stream: StreamKey,
    /// Market time of the event, ms since the Unix epoch (the `E` field where there is one).
    pub event_time_ms: i64,
    /// The JSON body exactly as Binance pushes it on the raw stream `/ws/<stream>`. Shared
    /// because the server sends the same body to every subscriber.
    pub payload: Arc<str>,
}

/// Why a REST query could not be answered; the server turns it into Binance's error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestError {
    /// `{"code":-1121,"msg":"Invalid symbol."}`
    InvalidSymbol,
    /// `{"code":-1100/-1102/-1104/-1130,...}`: a parameter was missing or out of range.
    BadParameter {
        /// Binance's error code.
        code: i32,
        /// Binance's message.
        msg: String,
    },
}

/// A deterministic simulated market. Implementations: replay of a recorded capture, and a
/// market synthesized from kline files. One thread owns it; the server serializes access.
pub trait MarketSource: Send {
    /// The symbols served, in a fixed order ([`StreamKey::symbol`] indexes this).
    fn symbols(&self) -> &[SymbolInfo];

    /// Market time (ms since the epoch) the next [`MarketSource::step`] will advance to, or
    /// `None` once the source is exhausted.
    fn next_time_ms(&self) -> Option<i64>;

    /// Advances the market by one step (at most 100 ms of market time) and appends, in the
    /// order Binance would push them, the messages of every stream for which `wanted` is
    /// true. The market's state advances the same whatever `wanted` says. Returns false
    /// (and appends nothing) once exhausted.
    fn step(&mut self, wanted: &dyn Fn(&StreamKey) -> bool, out: &mut Vec<SimMessage>) -> bool;

    /// Body of `GET /api/v3/depth?symbol=..&limit=..` for the current state
    /// (`{"lastUpdateId":..,"bids":[[p,q],..],"asks":[..]}`, best first). `limit` has been
    /// validated by the server (1..=5000).
    fn depth_snapshot(&self, symbol: usize, limit: usize) -> String;

    /// The update id of the last depth change (the `u` of the last diff, the
    /// `lastUpdateId` a snapshot taken now would carry).
    fn last_update_id(&self, symbol: usize) -> u64;

    /// Body of `GET /api/v3/klines` (arrays of 12 fields, oldest first) for bars known so
    /// far, the open bar included, filtered by open time like Binance (`startTime`,
    /// `endTime`), at most `limit` (validated by the server, 1..=1000).
    fn klines(
        &self,
        symbol: usize,
        interval: KlineInterval,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        limit: usize,
    ) -> Result<String, RestError>;

    /// Body of `GET /api/v3/trades` (the `limit` most recent trades, oldest first;
    /// validated by the server, 1..=1000).
    fn recent_trades(&self, symbol: usize, limit: usize) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(symbol: &str) -> SymbolInfo {
        SymbolInfo {
            symbol: symbol.to_string(),
            base_asset: String::new(),
            quote_asset: String::new(),
            base_precision: 8,
            quote_precision: 8,
            tick_size: "0.01000000".into(),
            min_price: "0.01000000".into(),
            max_price: "1000000.00000000".into(),
            step_size: "0.00001000".into(),
            min_qty: "0.00001000".into(),
            max_qty: "9000.00000000".into(),
            min_notional: "5.00000000".into(),
            max_notional: "9000000.00000000".into(),
        }
    }

    #[test]
    fn stream_names_round_trip() {
        let symbols = [info("BTCUSDT"), info("ETHUSDT")];
        let cases: &[(&str, Option<StreamKind>, usize)] = &[
            // TC0: diff depth, fast
            (
                "btcusdt@depth@100ms",
                Some(StreamKind::Depth { fast: true }),
                0,
            ),
            // TC1: diff depth, 1000 ms
            ("ethusdt@depth", Some(StreamKind::Depth { fast: false }), 1),
            // TC2: partial depth
            (
                "btcusdt@depth20@100ms",
                Some(StreamKind::PartialDepth {
                    levels: 20,
                    fast: true,
                }),
                0,
            ),
            // TC3: kline, month vs minute
            (
                "btcusdt@kline_1M",
                Some(StreamKind::Kline(KlineInterval::Mo1)),
                0,
            ),
            (
                "btcusdt@kline_1m",
                Some(StreamKind::Kline(KlineInterval::M1)),
                0,
            ),
            // TC5: the rest
            ("btcusdt@trade", Some(StreamKind::Trade), 0),
            ("btcusdt@aggTrade", Some(StreamKind::AggTrade), 0),
            ("btcusdt@bookTicker", Some(StreamKind::BookTicker), 0),
            // TC8: refused: upper-case symbol, unknown symbol, unknown stream, bad levels
            ("BTCUSDT@trade", None, 0),
            ("xrpusdt@trade", None, 0),
            ("btcusdt@ticker", None, 0),
            ("btcusdt@depth15", None, 0),
            ("btcusdt@kline_2m", None, 0),
            ("btcusdt", None, 0),
        ];
        for (i, (name, kind, symbol)) in cases.iter().enumerate() {
            let parsed = StreamKey::parse(name, &symbols);
            match kind {
                Some(kind) => {
                    let key = parsed.unwrap_or_else(|e| panic!("TC{i}: {e}"));
                    assert_eq!(key.kind, *kind, "TC{i}");
                    assert_eq!(key.symbol, *symbol, "TC{i}");
                    assert_eq!(key.name(&symbols), *name, "TC{i}: round trip");
                }
                None => assert!(parsed.is_err(), "TC{i}: {name} accepted"),
            }
        }
    }

    #[test]
    fn interval_lengths() {
        assert_eq!(KlineInterval::M1.fixed_ms(), Some(60_000));
        assert_eq!(KlineInterval::W1.fixed_ms(), Some(604_800_000));
        assert_eq!(KlineInterval::Mo1.fixed_ms(), None);
        for interval in KlineInterval::ALL {
            assert_eq!(KlineInterval::parse(interval.as_str()), Some(interval));
        }
    }
}
