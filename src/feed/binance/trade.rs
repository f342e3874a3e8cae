//! Trade stream (`<symbol>@trade`): every trade, each with a unique buyer and seller.
//! Binance's documented payload:
//!
//! ```text
//! {
//!   "e": "trade",       // Event type
//!   "E": 1672515782136, // Event time
//!   "s": "BNBBTC",      // Symbol
//!   "t": 12345,         // Trade ID
//!   "p": "0.001",       // Price
//!   "q": "100",         // Quantity
//!   "b": 88,            // Buyer order ID
//!   "a": 50,            // Seller order ID
//!   "T": 1672515782136, // Trade time
//!   "m": true,          // Is the buyer the market maker?
//!   "M": true           // Ignore
//! }
//! ```
//!
//! Binance has since dropped `b` and `a` (the bundled 2024 capture has neither); they and
//! the documented-as-ignore `M` are accepted and not decoded.

use super::{boolean, required, string, uint, units, DecodeError, Fields, Sink};

/// A decoded trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade<'a> {
    /// `E`: event time, Unix milliseconds.
    pub event_time_ms: u64,
    /// `s`: the symbol, upper case.
    pub symbol: &'a str,
    /// `t`: trade id.
    pub trade_id: u64,
    /// `p`: price in ticks.
    pub price_ticks: i64,
    /// `q`: quantity in lots.
    pub qty_lots: i64,
    /// `T`: trade time, Unix milliseconds.
    pub trade_time_ms: u64,
    /// `m`: the buyer was the maker, i.e. the aggressor sold.
    pub buyer_is_maker: bool,
}

/// Decodes the fields of a `trade` object.
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: &Sink<'a>,
) -> Result<Trade<'a>, DecodeError> {
    let (mut event_time, mut symbol, mut id) = (None, None, None);
    let (mut price, mut qty, mut trade_time, mut maker) = (None, None, None, None);
    for (key, value) in fields {
        match key {
            "E" => event_time = Some(uint(value, "E")?),
            "s" => symbol = Some(string(value, "s")?),
            "t" => id = Some(uint(value, "t")?),
            "p" => price = Some(units(value, sink.tick, "p")?),
            "q" => qty = Some(units(value, sink.step, "q")?),
            "T" => trade_time = Some(uint(value, "T")?),
            "m" => maker = Some(boolean(value, "m")?),
            _ => {}
        }
    }
    Ok(Trade {
        event_time_ms: required(event_time, "E")?,
        symbol: required(symbol, "s")?,
        trade_id: required(id, "t")?,
        price_ticks: required(price, "p")?,
        qty_lots: required(qty, "q")?,
        trade_time_ms: required(trade_time, "T")?,
        buyer_is_maker: required(maker, "m")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{btcusdt, decoder};
    use super::super::{decode, decode_frame, DecodeError, Event};
    use super::Trade;

    const DOC_SAMPLE: &str = r#"{
      "e": "trade",
      "E": 1672515782136,
      "s": "BNBBTC",
      "t": 12345,
      "p": "0.001",
      "q": "100",
      "b": 88,
      "a": 50,
      "T": 1672515782136,
      "m": true,
      "M": true
    }"#;

    #[test]
    fn decodes_the_documented_sample() {
        let mut cx = decoder("0.000001", "0.01");
        let mut frame = DOC_SAMPLE.as_bytes().to_vec();
        let want = Trade {
            event_time_ms: 1_672_515_782_136,
            symbol: "BNBBTC",
            trade_id: 12_345,
            price_ticks: 1_000,
            qty_lots: 10_000,
            trade_time_ms: 1_672_515_782_136,
            buyer_is_maker: true,
        };
        assert_eq!(decode(&mut frame, &mut cx), Ok(Event::Trade(want)));
    }

    #[test]
    fn decodes_a_real_enveloped_line() {
        let line = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#;
        let mut cx = btcusdt();
        let mut frame = line.as_bytes().to_vec();
        let f = decode_frame(&mut frame, &mut cx).expect("decodes");
        assert_eq!(f.stream, Some("btcusdt@trade"));
        let want = Trade {
            event_time_ms: 1_723_161_255_343,
            symbol: "BTCUSDT",
            trade_id: 3_735_683_259,
            price_ticks: 6_183_763,
            qty_lots: 2_000,
            trade_time_ms: 1_723_161_255_342,
            buyer_is_maker: true,
        };
        assert_eq!(f.event, Event::Trade(want));
    }

    #[test]
    fn bad_trades_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: maker flag as a string
            (
                r#"{"e":"trade","E":1,"s":"X","t":1,"p":"1.00","q":"1","T":1,"m":"true"}"#,
                DecodeError::WrongType("m"),
            ),
            // TC1: missing trade id
            (
                r#"{"e":"trade","E":1,"s":"X","p":"1.00","q":"1","T":1,"m":true}"#,
                DecodeError::Missing("t"),
            ),
            // TC2: fractional event time
            (
                r#"{"e":"trade","E":1.5,"s":"X","t":1,"p":"1.00","q":"1","T":1,"m":true}"#,
                DecodeError::WrongType("E"),
            ),
        ];
        let mut cx = btcusdt();
        for (i, (text, want)) in cases.iter().enumerate() {
            let mut frame = text.as_bytes().to_vec();
            assert_eq!(decode(&mut frame, &mut cx), Err(*want), "TC{i}");
        }
    }
}
