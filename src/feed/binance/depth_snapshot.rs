//! Order book snapshot: the body of REST `GET /api/v3/depth` (and the same shape pushed by
//! the partial book depth streams `<symbol>@depth<levels>`). Binance's documented
//! response:
//!
//! ```text
//! {
//!   "lastUpdateId": 1027024,
//!   "bids": [
//!     [
//!       "4.00000000",     // PRICE
//!       "431.00000000"    // QTY
//!     ]
//!   ],
//!   "asks": [
//!     [
//!       "4.00000200",
//!       "12.00000000"
//!     ]
//!   ]
//! }
//! ```

use super::{levels, required, uint, DecodeError, Fields, Sink};
use crate::feed::Side;

/// A decoded depth snapshot. Levels are `(price_ticks, qty_lots)` in the order Binance
/// sent them (bids best first, asks best first), lent from the [`super::Decoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthSnapshot<'a> {
    /// `lastUpdateId`: the book state this snapshot reflects; diffs with `u` at or below it
    /// are already included.
    pub last_update_id: u64,
    /// `bids`: `(price_ticks, qty_lots)`.
    pub bids: &'a [(i64, i64)],
    /// `asks`: `(price_ticks, qty_lots)`.
    pub asks: &'a [(i64, i64)],
}

impl<'a> DepthSnapshot<'a> {
    /// The levels of one side.
    pub fn levels(&self, side: Side) -> &'a [(i64, i64)] {
        match side {
            Side::Bid => self.bids,
            Side::Ask => self.asks,
        }
    }
}

/// Decodes the fields of a snapshot object.
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: Sink<'a>,
) -> Result<DepthSnapshot<'a>, DecodeError> {
    let mut last_update_id = None;
    let (mut have_bids, mut have_asks) = (false, false);
    for (key, value) in fields {
        match key {
            "lastUpdateId" => last_update_id = Some(uint(value, "lastUpdateId")?),
            "bids" => {
                levels(value, sink.tick, sink.step, sink.bids, "bids")?;
                have_bids = true;
            }
            "asks" => {
                levels(value, sink.tick, sink.step, sink.asks, "asks")?;
                have_asks = true;
            }
            _ => {}
        }
    }
    if !have_bids {
        return Err(DecodeError::Missing("bids"));
    }
    if !have_asks {
        return Err(DecodeError::Missing("asks"));
    }
    Ok(DepthSnapshot {
        last_update_id: required(last_update_id, "lastUpdateId")?,
        bids: sink.bids,
        asks: sink.asks,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{btcusdt, decoder};
    use super::super::{decode, decode_frame, DecodeError, Event};
    use crate::feed::Side;

    const DOC_SAMPLE: &str = r#"{
      "lastUpdateId": 1027024,
      "bids": [["4.00000000", "431.00000000"]],
      "asks": [["4.00000200", "12.00000000"]]
    }"#;

    #[test]
    fn decodes_the_documented_sample() {
        let mut cx = decoder("0.00000100", "1.00000000");
        let mut frame = DOC_SAMPLE.as_bytes().to_vec();
        let Ok(Event::DepthSnapshot(s)) = decode(&mut frame, &mut cx) else {
            panic!("not a snapshot");
        };
        assert_eq!(s.last_update_id, 1_027_024);
        assert_eq!(s.bids, &[(4_000_000, 431)]);
        assert_eq!(s.levels(Side::Ask), &[(4_000_002, 12)]);
    }

    #[test]
    fn decodes_a_real_partial_book_depth_message() {
        // The same shape arrives enveloped from `<symbol>@depth5`; trimmed real levels.
        let line = r#"{"stream":"btcusdt@depth5","data":{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"],["61837.62000000","0.61700000"]],"asks":[]}}"#;
        let mut cx = btcusdt();
        let mut frame = line.as_bytes().to_vec();
        let f = decode_frame(&mut frame, &mut cx).expect("decodes");
        assert_eq!(f.stream, Some("btcusdt@depth5"));
        let Event::DepthSnapshot(s) = f.event else {
            panic!("not a snapshot");
        };
        assert_eq!(s.last_update_id, 50_093_239_218);
        assert_eq!(s.bids, &[(6_183_763, 378_826), (6_183_762, 61_700)]);
        assert!(s.asks.is_empty());
    }

    #[test]
    fn bad_snapshots_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: missing asks
            (
                r#"{"lastUpdateId":1,"bids":[]}"#,
                DecodeError::Missing("asks"),
            ),
            // TC1: id as a string
            (
                r#"{"lastUpdateId":"1","bids":[],"asks":[]}"#,
                DecodeError::WrongType("lastUpdateId"),
            ),
            // TC2: a level that is not an array
            (
                r#"{"lastUpdateId":1,"bids":["1.00"],"asks":[]}"#,
                DecodeError::WrongType("bids"),
            ),
        ];
        let mut cx = btcusdt();
        for (i, (text, want)) in cases.iter().enumerate() {
            let mut frame = text.as_bytes().to_vec();
            assert_eq!(decode(&mut frame, &mut cx), Err(*want), "TC{i}");
        }
    }
}
