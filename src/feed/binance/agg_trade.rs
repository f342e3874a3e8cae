//! Aggregate trade stream (`<symbol>@aggTrade`): the trades of one taker order at one
//! price, aggregated. Binance's documented payload:
//!
//! ```text
//! {
//!   "e": "aggTrade",    // Event type
//!   "E": 1672515782136, // Event time
//!   "s": "BNBBTC",      // Symbol
//!   "a": 12345,         // Aggregate trade ID
//!   "p": "0.001",       // Price
//!   "q": "100",         // Quantity
//!   "f": 100,           // First trade ID
//!   "l": 105,           // Last trade ID
//!   "T": 1672515782136, // Trade time
//!   "m": true,          // Is the buyer the market maker?
//!   "M": true           // Ignore
//! }
//! ```

use super::{boolean, required, string, uint, units, DecodeError, Fields, Sink};

/// A decoded aggregate trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggTrade<'a> {
    /// `E`: event time, Unix milliseconds.
    pub event_time_ms: u64,
    /// `s`: the symbol, upper case.
    pub symbol: &'a str,
    /// `a`: aggregate trade id.
    pub agg_trade_id: u64,
    /// `p`: price in ticks.
    pub price_ticks: i64,
    /// `q`: total quantity in lots.
    pub qty_lots: i64,
    /// `f`: first trade id included.
    pub first_trade_id: u64,
    /// `l`: last trade id included.
    pub last_trade_id: u64,
    /// `T`: trade time, Unix milliseconds.
    pub trade_time_ms: u64,
    /// `m`: the buyer was the maker, i.e. the aggressor sold.
    pub buyer_is_maker: bool,
}

/// Decodes the fields of an `aggTrade` object.
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: &Sink<'a>,
) -> Result<AggTrade<'a>, DecodeError> {
    let (mut event_time, mut symbol, mut id, mut first, mut last) = (None, None, None, None, None);
    let (mut price, mut qty, mut trade_time, mut maker) = (None, None, None, None);
    for (key, value) in fields {
        match key {
            "E" => event_time = Some(uint(value, "E")?),
            "s" => symbol = Some(string(value, "s")?),
            "a" => id = Some(uint(value, "a")?),
            "p" => price = Some(units(value, sink.tick, "p")?),
            "q" => qty = Some(units(value, sink.step, "q")?),
            "f" => first = Some(uint(value, "f")?),
            "l" => last = Some(uint(value, "l")?),
            "T" => trade_time = Some(uint(value, "T")?),
            "m" => maker = Some(boolean(value, "m")?),
            _ => {}
        }
    }
    Ok(AggTrade {
        event_time_ms: required(event_time, "E")?,
        symbol: required(symbol, "s")?,
        agg_trade_id: required(id, "a")?,
        price_ticks: required(price, "p")?,
        qty_lots: required(qty, "q")?,
        first_trade_id: required(first, "f")?,
        last_trade_id: required(last, "l")?,
        trade_time_ms: required(trade_time, "T")?,
        buyer_is_maker: required(maker, "m")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{btcusdt, decoder};
    use super::super::{decode, decode_frame, DecodeError, Event};
    use super::AggTrade;

    const DOC_SAMPLE: &str = r#"{
      "e": "aggTrade",
      "E": 1672515782136,
      "s": "BNBBTC",
      "a": 12345,
      "p": "0.001",
      "q": "100",
      "f": 100,
      "l": 105,
      "T": 1672515782136,
      "m": true,
      "M": true
    }"#;

    #[test]
    fn decodes_the_documented_sample() {
        let mut cx = decoder("0.000001", "0.01");
        let mut frame = DOC_SAMPLE.as_bytes().to_vec();
        let want = AggTrade {
            event_time_ms: 1_672_515_782_136,
            symbol: "BNBBTC",
            agg_trade_id: 12_345,
            price_ticks: 1_000,
            qty_lots: 10_000,
            first_trade_id: 100,
            last_trade_id: 105,
            trade_time_ms: 1_672_515_782_136,
            buyer_is_maker: true,
        };
        assert_eq!(decode(&mut frame, &mut cx), Ok(Event::AggTrade(want)));
    }

    #[test]
    fn decodes_a_btcusdt_line() {
        // The capture holds no aggTrade stream; this line carries the capture's first trade
        // in aggTrade form, as `btcusdt@aggTrade` would send it.
        let line = r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1723161255343,"s":"BTCUSDT","a":3123456789,"p":"61837.63000000","q":"0.02000000","f":3735683259,"l":3735683259,"T":1723161255342,"m":true,"M":true}}"#;
        let mut cx = btcusdt();
        let mut frame = line.as_bytes().to_vec();
        let f = decode_frame(&mut frame, &mut cx).expect("decodes");
        assert_eq!(f.stream, Some("btcusdt@aggTrade"));
        let Event::AggTrade(a) = f.event else {
            panic!("not an aggTrade");
        };
        assert_eq!((a.price_ticks, a.qty_lots), (6_183_763, 2_000));
        assert_eq!(
            (a.first_trade_id, a.last_trade_id),
            (3_735_683_259, 3_735_683_259)
        );
    }

    #[test]
    fn bad_agg_trades_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: missing last trade id
            (
                r#"{"e":"aggTrade","E":1,"s":"X","a":1,"p":"1.00","q":"1","f":1,"T":1,"m":true}"#,
                DecodeError::Missing("l"),
            ),
            // TC1: aggregate id as a string
            (
                r#"{"e":"aggTrade","E":1,"s":"X","a":"1","p":"1.00","q":"1","f":1,"l":1,"T":1,"m":true}"#,
                DecodeError::WrongType("a"),
            ),
        ];
        let mut cx = btcusdt();
        for (i, (text, want)) in cases.iter().enumerate() {
            let mut frame = text.as_bytes().to_vec();
            assert_eq!(decode(&mut frame, &mut cx), Err(*want), "TC{i}");
        }
    }
}
