//! Individual symbol book ticker (`<symbol>@bookTicker`): every change of the best bid or
//! ask, in real time. Binance's documented payload:
//!
//! ```text
//! {
//!   "u":400900217,     // order book updateId
//!   "s":"BNBUSDT",     // symbol
//!   "b":"25.35190000", // best bid price
//!   "B":"31.21000000", // best bid qty
//!   "a":"25.36520000", // best ask price
//!   "A":"40.66000000"  // best ask qty
//! }
//! ```
//!
//! It has no `e` field; the decoder recognises it by `u` without `e`.

use super::{required, string, uint, units, DecodeError, Fields, Sink};

/// A decoded book ticker: the top of the book in ticks and lots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookTicker<'a> {
    /// `u`: the order book update id this top of book reflects.
    pub update_id: u64,
    /// `s`: the symbol, upper case.
    pub symbol: &'a str,
    /// `b`: best bid price in ticks.
    pub bid_price_ticks: i64,
    /// `B`: best bid quantity in lots.
    pub bid_qty_lots: i64,
    /// `a`: best ask price in ticks.
    pub ask_price_ticks: i64,
    /// `A`: best ask quantity in lots.
    pub ask_qty_lots: i64,
}

/// Decodes the fields of a book ticker object.
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: &Sink<'a>,
) -> Result<BookTicker<'a>, DecodeError> {
    let (mut update_id, mut symbol) = (None, None);
    let (mut bid, mut bid_qty, mut ask, mut ask_qty) = (None, None, None, None);
    for (key, value) in fields {
        match key {
            "u" => update_id = Some(uint(value, "u")?),
            "s" => symbol = Some(string(value, "s")?),
            "b" => bid = Some(units(value, sink.tick, "b")?),
            "B" => bid_qty = Some(units(value, sink.step, "B")?),
            "a" => ask = Some(units(value, sink.tick, "a")?),
            "A" => ask_qty = Some(units(value, sink.step, "A")?),
            _ => {}
        }
    }
    Ok(BookTicker {
        update_id: required(update_id, "u")?,
        symbol: required(symbol, "s")?,
        bid_price_ticks: required(bid, "b")?,
        bid_qty_lots: required(bid_qty, "B")?,
        ask_price_ticks: required(ask, "a")?,
        ask_qty_lots: required(ask_qty, "A")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{btcusdt, decoder};
    use super::super::{decode, decode_frame, DecodeError, Event};
    use super::BookTicker;
    use crate::feed::fixed::FixedError;

    const DOC_SAMPLE: &str = r#"{
      "u":400900217,
      "s":"BNBUSDT",
      "b":"25.35190000",
      "B":"31.21000000",
      "a":"25.36520000",
      "A":"40.66000000"
    }"#;

    #[test]
    fn decodes_the_documented_sample() {
        let mut cx = decoder("0.0001", "0.01");
        let mut frame = DOC_SAMPLE.as_bytes().to_vec();
        let got = decode(&mut frame, &mut cx);
        let want = BookTicker {
            update_id: 400_900_217,
            symbol: "BNBUSDT",
            bid_price_ticks: 253_519,
            bid_qty_lots: 3_121,
            ask_price_ticks: 253_652,
            ask_qty_lots: 4_066,
        };
        assert_eq!(got, Ok(Event::BookTicker(want)));
    }

    #[test]
    fn decodes_a_real_enveloped_line() {
        let line = r#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#;
        let mut cx = btcusdt();
        let mut frame = line.as_bytes().to_vec();
        let f = decode_frame(&mut frame, &mut cx).expect("decodes");
        assert_eq!(f.stream, Some("btcusdt@bookTicker"));
        let want = BookTicker {
            update_id: 50_093_239_212,
            symbol: "BTCUSDT",
            bid_price_ticks: 6_183_763,
            bid_qty_lots: 378_826,
            ask_price_ticks: 6_183_764,
            ask_qty_lots: 154_698,
        };
        assert_eq!(f.event, Event::BookTicker(want));
    }

    #[test]
    fn bad_book_tickers_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: missing ask quantity
            (
                r#"{"u":1,"s":"BTCUSDT","b":"1.00","B":"1","a":"1.01"}"#,
                DecodeError::Missing("A"),
            ),
            // TC1: a negative price
            (
                r#"{"u":1,"s":"BTCUSDT","b":"-1.00","B":"1","a":"1.01","A":"1"}"#,
                DecodeError::Number {
                    field: "b",
                    error: FixedError::Invalid,
                },
            ),
            // TC2: an absurd price
            (
                r#"{"u":1,"s":"BTCUSDT","b":"1000000000000000000000.00","B":"1","a":"1.01","A":"1"}"#,
                DecodeError::Number {
                    field: "b",
                    error: FixedError::Overflow,
                },
            ),
            // TC3: a quantity finer than the lot
            (
                r#"{"u":1,"s":"BTCUSDT","b":"1.00","B":"0.000001","a":"1.01","A":"1"}"#,
                DecodeError::Number {
                    field: "B",
                    error: FixedError::NotAMultiple,
                },
            ),
            // TC4: the symbol as a number
            (
                r#"{"u":1,"s":7,"b":"1.00","B":"1","a":"1.01","A":"1"}"#,
                DecodeError::WrongType("s"),
            ),
        ];
        let mut cx = btcusdt();
        for (i, (text, want)) in cases.iter().enumerate() {
            let mut frame = text.as_bytes().to_vec();
            assert_eq!(decode(&mut frame, &mut cx), Err(*want), "TC{i}");
        }
    }
}
