//! Replies to the live subscription requests sent on a market-data connection. Binance
//! documents these responses:
//!
//! ```text
//! {"result": null, "id": 1}                    // SUBSCRIBE / UNSUBSCRIBE / SET_PROPERTY ok
//! {"result": ["btcusdt@aggTrade"], "id": 3}    // LIST_SUBSCRIPTIONS
//! {"result": true, "id": 2}                    // GET_PROPERTY "combined"
//! {"error": {"code": 2, "msg": "Invalid request"}, "id": 1}
//! {"code": 2, "msg": "Invalid request: property name must be a string"}
//! ```
//!
//! The `id` echoes the request's: a 64-bit integer, a string or `null`.

use simd_json::{Node, StaticNode};

use super::{array, int, object, required, string, DecodeError, Fields, Sink};

/// The `id` a reply echoes from its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestId<'a> {
    /// A numeric id.
    Number(i64),
    /// An alphanumeric id.
    Text(&'a str),
    /// `null`, or no id at all (some error replies carry none).
    Null,
}

/// A decoded control reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control<'a> {
    /// `result: null`: the request (SUBSCRIBE, UNSUBSCRIBE, SET_PROPERTY) succeeded.
    Ok {
        /// The request's id.
        id: RequestId<'a>,
    },
    /// `result: [...]`: the LIST_SUBSCRIPTIONS answer.
    Subscriptions {
        /// The request's id.
        id: RequestId<'a>,
        /// The subscribed stream names.
        streams: StreamNames<'a>,
    },
    /// `result: true|false`: the GET_PROPERTY answer.
    Property {
        /// The request's id.
        id: RequestId<'a>,
        /// The property's value.
        value: bool,
    },
    /// The request failed.
    Error {
        /// The request's id.
        id: RequestId<'a>,
        /// Binance's error code (0 unknown property, 1 bad value type, 2 invalid request,
        /// 3 invalid JSON).
        code: i64,
        /// Binance's message.
        msg: &'a str,
    },
}

/// The stream names of a LIST_SUBSCRIPTIONS reply, copied into a buffer the
/// [`super::Decoder`] reuses (no allocation once it has seen the longest list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamNames<'a> {
    text: &'a str,
    ends: &'a [usize],
}

impl<'a> StreamNames<'a> {
    /// How many streams.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`-th stream name, in the order Binance listed them.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    /// The stream names in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

fn request_id<'a>(value: Option<&[Node<'a>]>) -> Result<RequestId<'a>, DecodeError> {
    let Some(value) = value else {
        return Ok(RequestId::Null);
    };
    match value.first() {
        Some(Node::Static(StaticNode::Null)) => Ok(RequestId::Null),
        Some(Node::String(s)) => Ok(RequestId::Text(s)),
        _ => int(value, "id").map(RequestId::Number),
    }
}

/// Decodes the `code` and `msg` of an error object.
fn error_parts<'a>(fields: Fields<'_, 'a>) -> Result<(i64, &'a str), DecodeError> {
    let (mut code, mut msg) = (None, None);
    for (key, value) in fields {
        match key {
            "code" => code = Some(int(value, "code")?),
            "msg" => msg = Some(string(value, "msg")?),
            _ => {}
        }
    }
    Ok((required(code, "code")?, required(msg, "msg")?))
}

/// Decodes a control reply object.
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: Sink<'a>,
) -> Result<Control<'a>, DecodeError> {
    let id = request_id(fields.get("id"))?;
    if let Some(error) = fields.get("error") {
        let (code, msg) = error_parts(object(error, "error")?)?;
        return Ok(Control::Error { id, code, msg });
    }
    if fields.get("code").is_some() {
        let (code, msg) = error_parts(fields)?;
        return Ok(Control::Error { id, code, msg });
    }
    let result = fields.get("result").ok_or(DecodeError::Missing("result"))?;
    match result.first() {
        Some(Node::Static(StaticNode::Null)) => Ok(Control::Ok { id }),
        Some(Node::Static(StaticNode::Bool(value))) => Ok(Control::Property { id, value: *value }),
        Some(Node::Array { .. }) => {
            sink.names.clear();
            sink.name_ends.clear();
            for name in array(result, "result")? {
                sink.names.push_str(string(name, "result")?);
                sink.name_ends.push(sink.names.len());
            }
            Ok(Control::Subscriptions {
                id,
                streams: StreamNames {
                    text: sink.names,
                    ends: sink.name_ends,
                },
            })
        }
        _ => Err(DecodeError::WrongType("result")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::btcusdt;
    use super::super::{decode, DecodeError, Event};
    use super::{Control, RequestId};

    #[test]
    fn decodes_the_documented_replies() {
        let mut cx = btcusdt();
        // TC0: SUBSCRIBE ok
        let mut frame = br#"{"result": null, "id": 1}"#.to_vec();
        assert_eq!(
            decode(&mut frame, &mut cx),
            Ok(Event::Control(Control::Ok {
                id: RequestId::Number(1)
            }))
        );
        // TC1: LIST_SUBSCRIPTIONS
        let mut frame =
            br#"{"result": ["btcusdt@aggTrade", "btcusdt@depth@100ms"], "id": 3}"#.to_vec();
        let Ok(Event::Control(Control::Subscriptions { id, streams })) =
            decode(&mut frame, &mut cx)
        else {
            panic!("not a subscription list");
        };
        assert_eq!(id, RequestId::Number(3));
        assert_eq!(streams.len(), 2);
        let names: Vec<&str> = streams.iter().collect();
        assert_eq!(names, ["btcusdt@aggTrade", "btcusdt@depth@100ms"]);
        // TC2: error reply
        let mut frame = br#"{"error":{"code":2,"msg":"Invalid request"},"id":1}"#.to_vec();
        assert_eq!(
            decode(&mut frame, &mut cx),
            Ok(Event::Control(Control::Error {
                id: RequestId::Number(1),
                code: 2,
                msg: "Invalid request"
            }))
        );
        // TC3: GET_PROPERTY
        let mut frame = br#"{"result": true, "id": "abc"}"#.to_vec();
        assert_eq!(
            decode(&mut frame, &mut cx),
            Ok(Event::Control(Control::Property {
                id: RequestId::Text("abc"),
                value: true
            }))
        );
        // TC4: bare error, no id
        let mut frame = br#"{"code": 3, "msg": "Invalid JSON"}"#.to_vec();
        assert_eq!(
            decode(&mut frame, &mut cx),
            Ok(Event::Control(Control::Error {
                id: RequestId::Null,
                code: 3,
                msg: "Invalid JSON"
            }))
        );
        // TC5: empty list
        let mut frame = br#"{"result": [], "id": null}"#.to_vec();
        let Ok(Event::Control(Control::Subscriptions { id, streams })) =
            decode(&mut frame, &mut cx)
        else {
            panic!("not a subscription list");
        };
        assert_eq!(
            (id, streams.is_empty(), streams.get(0)),
            (RequestId::Null, true, None)
        );
    }

    #[test]
    fn bad_replies_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: result of an unexpected type
            (
                r#"{"result": 5, "id": 1}"#,
                DecodeError::WrongType("result"),
            ),
            // TC1: no result and no error
            (r#"{"id": 1}"#, DecodeError::Missing("result")),
            // TC2: a list entry that is not a string
            (
                r#"{"result": [1], "id": 1}"#,
                DecodeError::WrongType("result"),
            ),
            // TC3: error without msg
            (
                r#"{"error": {"code": 1}, "id": 1}"#,
                DecodeError::Missing("msg"),
            ),
            // TC4: a fractional id
            (
                r#"{"result": null, "id": 1.5}"#,
                DecodeError::WrongType("id"),
            ),
        ];
        let mut cx = btcusdt();
        for (i, (text, want)) in cases.iter().enumerate() {
            let mut frame = text.as_bytes().to_vec();
            assert_eq!(decode(&mut frame, &mut cx), Err(*want), "TC{i}");
        }
    }
}
