//! The combined-stream envelope. On `/stream?streams=...` connections every payload is
//! wrapped as documented:
//!
//! ```text
//! {"stream":"<streamName>","data":<rawPayload>}
//! ```
//!
//! for example `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate",...}}`. Raw
//! streams (`/ws/<streamName>`) send the payload alone. The decoder accepts both.

use simd_json::Node;

use super::{object, string, DecodeError};

/// Splits a parsed frame into its stream name (`None` for a raw stream) and the payload.
/// A frame that is not a JSON object is [`DecodeError::UnknownMessage`]; an envelope must
/// have a string `stream` and a `data` value.
pub(crate) fn split<'t, 'a>(
    root: &'t [Node<'a>],
) -> Result<(Option<&'a str>, &'t [Node<'a>]), DecodeError> {
    let fields = object(root, "(message)").map_err(|_| DecodeError::UnknownMessage)?;
    let Some(stream) = fields.get("stream") else {
        return Ok((None, root));
    };
    let stream = string(stream, "stream")?;
    let data = fields.get("data").ok_or(DecodeError::Missing("data"))?;
    Ok((Some(stream), data))
}

#[cfg(test)]
mod tests {
    use super::split;
    use crate::feed::binance::DecodeError;
    use simd_json::Node;

    /// Parses `text` and reports the stream name and the first node of the payload.
    fn probe(text: &str) -> Result<(Option<String>, String), DecodeError> {
        let mut bytes = text.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut bytes).map_err(|_| DecodeError::Json)?;
        let (stream, data) = split(&tape.0)?;
        let first = match data.first() {
            Some(Node::Object { len, .. }) => format!("object/{len}"),
            Some(other) => format!("{other:?}"),
            None => "none".to_string(),
        };
        Ok((stream.map(str::to_string), first))
    }

    #[test]
    fn envelope_table() {
        type Case<'s> = (&'s str, Result<(Option<&'s str>, &'s str), DecodeError>);
        let cases: &[Case<'_>] = &[
            // TC0: the documented envelope
            (
                r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1}}"#,
                Ok((Some("btcusdt@depth@100ms"), "object/2")),
            ),
            // TC1: a raw stream payload passes through whole
            (r#"{"u":1,"s":"BTCUSDT"}"#, Ok((None, "object/2"))),
            // TC2: an envelope without data
            (
                r#"{"stream":"btcusdt@trade"}"#,
                Err(DecodeError::Missing("data")),
            ),
            // TC3: a stream name that is not a string
            (
                r#"{"stream":1,"data":{}}"#,
                Err(DecodeError::WrongType("stream")),
            ),
            // TC4: not an object
            (r#"[1,2]"#, Err(DecodeError::UnknownMessage)),
            // TC5: data before stream
            (
                r#"{"data":{"a":1},"stream":"x@y"}"#,
                Ok((Some("x@y"), "object/1")),
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let want = want.map(|(s, d)| (s.map(str::to_string), d.to_string()));
            assert_eq!(probe(text), want, "TC{i}");
        }
    }
}
