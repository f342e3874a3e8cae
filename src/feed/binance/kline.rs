//! Kline/candlestick stream (`<symbol>@kline_<interval>`): the current candle, pushed
//! every second or two until it closes (`x: true`). Binance's documented payload:
//!
//! ```text
//! {
//!   "e": "kline",         // Event type
//!   "E": 1672515782136,   // Event time
//!   "s": "BNBBTC",        // Symbol
//!   "k": {
//!     "t": 1672515780000, // Kline start time
//!     "T": 1672515839999, // Kline close time
//!     "s": "BNBBTC",      // Symbol
//!     "i": "1m",          // Interval
//!     "f": 100,           // First trade ID
//!     "L": 200,           // Last trade ID
//!     "o": "0.0010",      // Open price
//!     "c": "0.0020",      // Close price
//!     "h": "0.0025",      // High price
//!     "l": "0.0015",      // Low price
//!     "v": "1000",        // Base asset volume
//!     "n": 100,           // Number of trades
//!     "x": false,         // Is this kline closed?
//!     "q": "1.0000",      // Quote asset volume
//!     "V": "500",         // Taker buy base asset volume
//!     "Q": "0.500",       // Taker buy quote asset volume
//!     "B": "123456"       // Ignore
//!   }
//! }
//! ```
//!
//! Prices are in ticks and base volumes in lots. The quote volumes (`q`, `Q`) are a sum of
//! price × quantity that no exchange filter makes a multiple of anything, so they are
//! checked to be plain decimals and lent as text; the kline builder decides their scale.

use simd_json::Node;

use super::{boolean, int, object, required, string, uint, units, DecodeError, Fields, Sink};
use crate::feed::fixed::check_decimal;

/// A decoded kline event (the outer event and its `k` object, flattened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kline<'a> {
    /// `E`: event time, Unix milliseconds.
    pub event_time_ms: u64,
    /// `k.s`: the symbol, upper case.
    pub symbol: &'a str,
    /// `k.t`: candle open time, Unix milliseconds.
    pub open_time_ms: u64,
    /// `k.T`: candle close time, Unix milliseconds (inclusive: open + interval - 1).
    pub close_time_ms: u64,
    /// `k.i`: the interval, e.g. `1m`.
    pub interval: &'a str,
    /// `k.f`: first trade id in the candle; -1 when the candle has no trade.
    pub first_trade_id: i64,
    /// `k.L`: last trade id in the candle; -1 when the candle has no trade.
    pub last_trade_id: i64,
    /// `k.o`: open price in ticks.
    pub open_ticks: i64,
    /// `k.h`: high price in ticks.
    pub high_ticks: i64,
    /// `k.l`: low price in ticks.
    pub low_ticks: i64,
    /// `k.c`: close (last) price in ticks.
    pub close_ticks: i64,
    /// `k.v`: base asset volume in lots.
    pub volume_lots: i64,
    /// `k.n`: number of trades.
    pub trade_count: u64,
    /// `k.x`: the candle is closed (final).
    pub closed: bool,
    /// `k.q`: quote asset volume, as Binance sent it (a checked plain decimal).
    pub quote_volume: &'a str,
    /// `k.V`: taker buy base asset volume in lots.
    pub taker_buy_volume_lots: i64,
    /// `k.Q`: taker buy quote asset volume, as Binance sent it (a checked plain decimal).
    pub taker_buy_quote_volume: &'a str,
}

/// A plain unsigned decimal string, lent as is.
fn decimal<'a>(value: &[Node<'a>], field: &'static str) -> Result<&'a str, DecodeError> {
    let text = string(value, field)?;
    check_decimal(text.as_bytes()).map_err(|error| DecodeError::Number { field, error })?;
    Ok(text)
}

/// Decodes the fields of a `kline` event object.
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: &Sink<'a>,
) -> Result<Kline<'a>, DecodeError> {
    let mut event_time = None;
    let mut candle = None;
    for (key, value) in fields {
        match key {
            "E" => event_time = Some(uint(value, "E")?),
            "k" => candle = Some(object(value, "k")?),
            _ => {}
        }
    }
    let event_time_ms = required(event_time, "E")?;
    let candle = required(candle, "k")?;
    let (mut symbol, mut open_time, mut close_time, mut interval) = (None, None, None, None);
    let (mut first, mut last, mut count, mut closed) = (None, None, None, None);
    let (mut open, mut high, mut low, mut close) = (None, None, None, None);
    let (mut volume, mut quote, mut taker, mut taker_quote) = (None, None, None, None);
    for (key, value) in candle {
        match key {
            "s" => symbol = Some(string(value, "k.s")?),
            "t" => open_time = Some(uint(value, "k.t")?),
            "T" => close_time = Some(uint(value, "k.T")?),
            "i" => interval = Some(string(value, "k.i")?),
            "f" => first = Some(int(value, "k.f")?),
            "L" => last = Some(int(value, "k.L")?),
            "o" => open = Some(units(value, sink.tick, "k.o")?),
            "c" => close = Some(units(value, sink.tick, "k.c")?),
            "h" => high = Some(units(value, sink.tick, "k.h")?),
            "l" => low = Some(units(value, sink.tick, "k.l")?),
            "v" => volume = Some(units(value, sink.step, "k.v")?),
            "n" => count = Some(uint(value, "k.n")?),
            "x" => closed = Some(boolean(value, "k.x")?),
            "q" => quote = Some(decimal(value, "k.q")?),
            "V" => taker = Some(units(value, sink.step, "k.V")?),
            "Q" => taker_quote = Some(decimal(value, "k.Q")?),
            _ => {}
        }
    }
    Ok(Kline {
        event_time_ms,
        symbol: required(symbol, "k.s")?,
        open_time_ms: required(open_time, "k.t")?,
        close_time_ms: required(close_time, "k.T")?,
        interval: required(interval, "k.i")?,
        first_trade_id: required(first, "k.f")?,
        last_trade_id: required(last, "k.L")?,
        open_ticks: required(open, "k.o")?,
        high_ticks: required(high, "k.h")?,
        low_ticks: required(low, "k.l")?,
        close_ticks: required(close, "k.c")?,
        volume_lots: required(volume, "k.v")?,
        trade_count: required(count, "k.n")?,
        closed: required(closed, "k.x")?,
        quote_volume: required(quote, "k.q")?,
        taker_buy_volume_lots: required(taker, "k.V")?,
        taker_buy_quote_volume: required(taker_quote, "k.Q")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{btcusdt, decoder};
    use super::super::{decode, decode_frame, DecodeError, Event};
    use super::Kline;
    use crate::feed::fixed::FixedError;

    const DOC_SAMPLE: &str = r#"{
      "e": "kline",
      "E": 1672515782136,
      "s": "BNBBTC",
      "k": {
        "t": 1672515780000,
        "T": 1672515839999,
        "s": "BNBBTC",
        "i": "1m",
        "f": 100,
        "L": 200,
        "o": "0.0010",
        "c": "0.0020",
        "h": "0.0025",
        "l": "0.0015",
        "v": "1000",
        "n": 100,
        "x": false,
        "q": "1.0000",
        "V": "500",
        "Q": "0.500",
        "B": "123456"
      }
    }"#;

    #[test]
    fn decodes_the_documented_sample() {
        let mut cx = decoder("0.0001", "1");
        let mut frame = DOC_SAMPLE.as_bytes().to_vec();
        let want = Kline {
            event_time_ms: 1_672_515_782_136,
            symbol: "BNBBTC",
            open_time_ms: 1_672_515_780_000,
            close_time_ms: 1_672_515_839_999,
            interval: "1m",
            first_trade_id: 100,
            last_trade_id: 200,
            open_ticks: 10,
            high_ticks: 25,
            low_ticks: 15,
            close_ticks: 20,
            volume_lots: 1_000,
            trade_count: 100,
            closed: false,
            quote_volume: "1.0000",
            taker_buy_volume_lots: 500,
            taker_buy_quote_volume: "0.500",
        };
        assert_eq!(decode(&mut frame, &mut cx), Ok(Event::Kline(want)));
    }

    #[test]
    fn decodes_a_btcusdt_line() {
        // The capture holds no kline stream; this closed 1m candle uses its BTCUSDT prices
        // and an empty-candle trade id of -1 as Binance sends it for a candle with no trade.
        let line = r#"{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1723161300001,"s":"BTCUSDT","k":{"t":1723161240000,"T":1723161299999,"s":"BTCUSDT","i":"1m","f":-1,"L":-1,"o":"61837.63000000","c":"61837.63000000","h":"61837.63000000","l":"61837.63000000","v":"0.00000000","n":0,"x":true,"q":"0.00000000","V":"0.00000000","Q":"0.00000000","B":"0"}}}"#;
        let mut cx = btcusdt();
        let mut frame = line.as_bytes().to_vec();
        let f = decode_frame(&mut frame, &mut cx).expect("decodes");
        assert_eq!(f.stream, Some("btcusdt@kline_1m"));
        let Event::Kline(k) = f.event else {
            panic!("not a kline");
        };
        assert_eq!((k.first_trade_id, k.last_trade_id), (-1, -1));
        assert_eq!(
            (k.open_ticks, k.close_ticks, k.volume_lots),
            (6_183_763, 6_183_763, 0)
        );
        assert!(k.closed);
    }

    #[test]
    fn bad_klines_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: no k object
            (r#"{"e":"kline","E":1,"s":"X"}"#, DecodeError::Missing("k")),
            // TC1: k not an object
            (
                r#"{"e":"kline","E":1,"s":"X","k":[]}"#,
                DecodeError::WrongType("k"),
            ),
            // TC2: k without a close price
            (
                r#"{"e":"kline","E":1,"s":"X","k":{"t":1,"T":2,"s":"X","i":"1m","f":1,"L":1,"o":"1.00","h":"1.00","l":"1.00","v":"1","n":1,"x":true,"q":"1","V":"1","Q":"1"}}"#,
                DecodeError::Missing("k.c"),
            ),
            // TC3: a quote volume in exponent form
            (
                r#"{"e":"kline","E":1,"s":"X","k":{"t":1,"T":2,"s":"X","i":"1m","f":1,"L":1,"o":"1.00","c":"1.00","h":"1.00","l":"1.00","v":"1","n":1,"x":true,"q":"1e3","V":"1","Q":"1"}}"#,
                DecodeError::Number {
                    field: "k.q",
                    error: FixedError::Invalid,
                },
            ),
        ];
        let mut cx = btcusdt();
        for (i, (text, want)) in cases.iter().enumerate() {
            let mut frame = text.as_bytes().to_vec();
            assert_eq!(decode(&mut frame, &mut cx), Err(*want), "TC{i}");
        }
    }
}
