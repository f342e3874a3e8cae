//! Diff depth stream (`<symbol>@depth` / `<symbol>@depth@100ms`): the changes to apply to a
//! local order book. Binance's documented payload:
//!
//! ```text
//! {
//!   "e": "depthUpdate", // Event type
//!   "E": 1672515782136, // Event time
//!   "s": "BNBBTC",      // Symbol
//!   "U": 157,           // First update ID in event
//!   "u": 160,           // Final update ID in event
//!   "b": [              // Bids to be updated
//!     [
//!       "0.0024",       // Price level to be updated
//!       "10"            // Quantity
//!     ]
//!   ],
//!   "a": [              // Asks to be updated
//!     [
//!       "0.0026",       // Price level to be updated
//!       "100"           // Quantity
//!     ]
//!   ]
//! }
//! ```
//!
//! Quantities are absolute; a quantity of 0 removes the level. Sequencing against the
//! snapshot (`U`/`u` vs `lastUpdateId`) is the order book's job, not the decoder's.

use super::{levels, required, string, uint, DecodeError, Fields, Sink};
use crate::feed::Side;

/// A decoded `depthUpdate`. Levels are `(price_ticks, qty_lots)` in frame order, lent
/// from the [`super::Decoder`]'s reusable buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthUpdate<'a> {
    /// `E`: event time, Unix milliseconds.
    pub event_time_ms: u64,
    /// `s`: the symbol, upper case.
    pub symbol: &'a str,
    /// `U`: first update id in this event.
    pub first_update_id: u64,
    /// `u`: final update id in this event.
    pub final_update_id: u64,
    /// `b`: bid levels to set, `(price_ticks, qty_lots)`; qty 0 removes.
    pub bids: &'a [(i64, i64)],
    /// `a`: ask levels to set, `(price_ticks, qty_lots)`; qty 0 removes.
    pub asks: &'a [(i64, i64)],
}

impl<'a> DepthUpdate<'a> {
    /// The levels of one side, for code that walks both sides alike.
    pub fn levels(&self, side: Side) -> &'a [(i64, i64)] {
        match side {
            Side::Bid => self.bids,
            Side::Ask => self.asks,
        }
    }
}

/// Decodes the fields of a `depthUpdate` object.
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: Sink<'a>,
) -> Result<DepthUpdate<'a>, DecodeError> {
    let (mut event_time, mut symbol, mut first, mut last) = (None, None, None, None);
    let (mut have_bids, mut have_asks) = (false, false);
    for (key, value) in fields {
        match key {
            "E" => event_time = Some(uint(value, "E")?),
            "s" => symbol = Some(string(value, "s")?),
            "U" => first = Some(uint(value, "U")?),
            "u" => last = Some(uint(value, "u")?),
            "b" => {
                levels(value, sink.tick, sink.step, sink.bids, "b")?;
                have_bids = true;
            }
            "a" => {
                levels(value, sink.tick, sink.step, sink.asks, "a")?;
                have_asks = true;
            }
            _ => {}
        }
    }
    if !have_bids {
        return Err(DecodeError::Missing("b"));
    }
    if !have_asks {
        return Err(DecodeError::Missing("a"));
    }
    Ok(DepthUpdate {
        event_time_ms: required(event_time, "E")?,
        symbol: required(symbol, "s")?,
        first_update_id: required(first, "U")?,
        final_update_id: required(last, "u")?,
        bids: sink.bids,
        asks: sink.asks,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{btcusdt, decoder};
    use super::super::{decode, decode_frame, DecodeError, Event};
    use crate::feed::fixed::FixedError;
    use crate::feed::Side;

    const DOC_SAMPLE: &str = r#"{
      "e": "depthUpdate",
      "E": 1672515782136,
      "s": "BNBBTC",
      "U": 157,
      "u": 160,
      "b": [["0.0024", "10"]],
      "a": [["0.0026", "100"]]
    }"#;

    #[test]
    fn decodes_the_documented_sample() {
        let mut cx = decoder("0.0001", "1");
        let mut frame = DOC_SAMPLE.as_bytes().to_vec();
        let Ok(Event::DepthUpdate(d)) = decode(&mut frame, &mut cx) else {
            panic!("not a depth update");
        };
        assert_eq!(d.event_time_ms, 1_672_515_782_136);
        assert_eq!(d.symbol, "BNBBTC");
        assert_eq!((d.first_update_id, d.final_update_id), (157, 160));
        assert_eq!(d.bids, &[(24, 10)]);
        assert_eq!(d.asks, &[(26, 100)]);
        assert_eq!(d.levels(Side::Ask), d.asks);
    }

    #[test]
    fn decodes_a_real_enveloped_line() {
        // The first line of btcusdt_20240808.gz.
        let line = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"],["61844.30000000","0.40163000"],["61862.50000000","0.05019000"],["61862.51000000","0.00000000"]]}}"#;
        let mut cx = btcusdt();
        let mut frame = line.as_bytes().to_vec();
        let f = decode_frame(&mut frame, &mut cx).expect("decodes");
        assert_eq!(f.stream, Some("btcusdt@depth@100ms"));
        let Event::DepthUpdate(d) = f.event else {
            panic!("not a depth update");
        };
        assert_eq!(
            (d.first_update_id, d.final_update_id),
            (50_093_239_203, 50_093_239_207)
        );
        assert_eq!(d.bids, &[(5_565_387, 0)]);
        assert_eq!(
            d.asks,
            &[
                (6_183_804, 32_332),
                (6_184_430, 40_163),
                (6_186_250, 5_019),
                (6_186_251, 0)
            ]
        );
    }

    #[test]
    fn bad_depth_updates_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: missing U
            (
                r#"{"e":"depthUpdate","E":1,"s":"X","u":2,"b":[],"a":[]}"#,
                DecodeError::Missing("U"),
            ),
            // TC1: bids not an array
            (
                r#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":{},"a":[]}"#,
                DecodeError::WrongType("b"),
            ),
            // TC2: a level with one element
            (
                r#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1.00"]],"a":[]}"#,
                DecodeError::WrongType("b"),
            ),
            // TC3: a price off the tick
            (
                r#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[],"a":[["1.001","1"]]}"#,
                DecodeError::Number {
                    field: "a",
                    error: FixedError::NotAMultiple,
                },
            ),
            // TC4: a numeric price instead of a string
            (
                r#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[],"a":[[1.0,"1"]]}"#,
                DecodeError::WrongType("a"),
            ),
            // TC5: negative update id
            (
                r#"{"e":"depthUpdate","E":1,"s":"X","U":-1,"u":2,"b":[],"a":[]}"#,
                DecodeError::WrongType("U"),
            ),
            // TC6: missing asks
            (
                r#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[]}"#,
                DecodeError::Missing("a"),
            ),
        ];
        let mut cx = btcusdt();
        for (i, (text, want)) in cases.iter().enumerate() {
            let mut frame = text.as_bytes().to_vec();
            assert_eq!(decode(&mut frame, &mut cx), Err(*want), "TC{i}");
        }
    }
}
