//! The WebSocket API reply envelope. Binance documents a success and an error:
//!
//! ```text
//! {
//!   "id": "e2a85d9f-07a5-4f94-8d5f-789dc3deb097",
//!   "status": 200,
//!   "result": {
//!     "symbol": "BTCUSDT",
//!     "orderId": 12510053279,
//!     "orderListId": -1,
//!     "clientOrderId": "a097fe6304b20a7e4fc436",
//!     "transactTime": 1655716096505,
//!     "price": "0.10000000",
//!     "origQty": "10.00000000",
//!     "executedQty": "0.00000000",
//!     "origQuoteOrderQty": "0.000000",
//!     "cummulativeQuoteQty": "0.00000000",
//!     "status": "NEW",
//!     "timeInForce": "GTC",
//!     "type": "LIMIT",
//!     "side": "BUY",
//!     "workingTime": 1655716096505,
//!     "selfTradePreventionMode": "NONE"
//!   },
//!   "rateLimits": [
//!     {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000, "count": 1},
//!     {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50, "count": 1},
//!     {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000, "count": 1}
//!   ]
//! }
//!
//! {
//!   "id": "fc93a61a-a192-4cf4-bb2a-a8f0f0c51e06",
//!   "status": 400,
//!   "error": {
//!     "code": -1102,
//!     "msg": "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."
//!   },
//!   "rateLimits": [
//!     {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000, "count": 1}
//!   ]
//! }
//! ```
//!
//! `id` is whatever the request sent (string, integer or `null`); `rateLimits` is absent
//! when the request asked for none. A `result` that is no order or cancel reply (a
//! `session.logon`, a `userDataStream.subscribe`, a query list) is
//! [`Message::OtherResult`].

use simd_json::{Node, StaticNode};

use super::{feed, field, message, rest_error, DecodeError, Message, Reply, RequestId, Sink};
use crate::feed::binance::Fields;

/// `rateLimitType` of a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitKind {
    /// `REQUEST_WEIGHT`
    RequestWeight,
    /// `ORDERS`
    Orders,
    /// `RAW_REQUESTS`
    RawRequests,
    /// A type this build does not know: still counted, so the caller can log it.
    Other,
}

/// `interval` of a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateInterval {
    /// `SECOND`
    Second,
    /// `MINUTE`
    Minute,
    /// `HOUR`
    Hour,
    /// `DAY`
    Day,
    /// An interval this build does not know.
    Other,
}

/// One entry of `rateLimits`: the usage after this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// `rateLimitType`
    pub kind: RateLimitKind,
    /// `interval`
    pub interval: RateInterval,
    /// `intervalNum`: how many intervals the window spans.
    pub interval_num: u64,
    /// `limit`: the most allowed in the window.
    pub limit: u64,
    /// `count`: used so far in the window, this request included.
    pub count: u64,
}

impl RateLimit {
    /// How many more can be used in this window (0 when at or over the limit).
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.count)
    }
}

fn request_id<'a>(value: Option<&[Node<'a>]>) -> Result<RequestId<'a>, DecodeError> {
    let Some(value) = value else {
        return Ok(RequestId::Null);
    };
    match value.first() {
        Some(Node::Static(StaticNode::Null)) => Ok(RequestId::Null),
        Some(Node::String(s)) => Ok(RequestId::Text(s)),
        _ => Ok(RequestId::Number(feed::int(value, "id")?)),
    }
}

fn rate_limit(item: &[Node<'_>]) -> Result<RateLimit, DecodeError> {
    let f = feed::object(item, "rateLimits")?;
    let kind = match feed::string(field(f, "rateLimitType")?, "rateLimitType")? {
        "REQUEST_WEIGHT" => RateLimitKind::RequestWeight,
        "ORDERS" => RateLimitKind::Orders,
        "RAW_REQUESTS" => RateLimitKind::RawRequests,
        _ => RateLimitKind::Other,
    };
    let interval = match feed::string(field(f, "interval")?, "interval")? {
        "SECOND" => RateInterval::Second,
        "MINUTE" => RateInterval::Minute,
        "HOUR" => RateInterval::Hour,
        "DAY" => RateInterval::Day,
        _ => RateInterval::Other,
    };
    Ok(RateLimit {
        kind,
        interval,
        interval_num: feed::uint(field(f, "intervalNum")?, "intervalNum")?,
        limit: feed::uint(field(f, "limit")?, "limit")?,
        count: feed::uint(field(f, "count")?, "count")?,
    })
}

/// Decodes a WebSocket API reply object.
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: Sink<'a>,
    rate_limits: &'a mut Vec<RateLimit>,
) -> Result<Reply<'a>, DecodeError> {
    let id = request_id(fields.get("id"))?;
    let status = feed::uint(field(fields, "status")?, "status")?;
    let status = u16::try_from(status).map_err(|_| DecodeError::WrongType("status"))?;
    if let Some(list) = fields.get("rateLimits") {
        for item in feed::array(list, "rateLimits")? {
            rate_limits.push(rate_limit(item)?);
        }
    }
    let message = if let Some(error) = fields.get("error") {
        Message::Error(rest_error::decode(feed::object(error, "error")?)?)
    } else {
        let result = field(fields, "result")?;
        match message(result, sink) {
            Err(DecodeError::UnknownMessage) => Message::OtherResult,
            other => other?,
        }
    };
    Ok(Reply {
        id: Some(id),
        status: Some(status),
        subscription_id: None,
        rate_limits,
        message,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::decoder;
    use super::super::{decode, ApiError, DecodeError, Message, OrderStatus, RequestId};
    use super::{RateInterval, RateLimit, RateLimitKind};

    pub(crate) const DOC_OK: &str = r#"{
      "id": "e2a85d9f-07a5-4f94-8d5f-789dc3deb097",
      "status": 200,
      "result": {
        "symbol": "BTCUSDT",
        "orderId": 12510053279,
        "orderListId": -1,
        "clientOrderId": "a097fe6304b20a7e4fc436",
        "transactTime": 1655716096505,
        "price": "0.10000000",
        "origQty": "10.00000000",
        "executedQty": "0.00000000",
        "origQuoteOrderQty": "0.000000",
        "cummulativeQuoteQty": "0.00000000",
        "status": "NEW",
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": "BUY",
        "workingTime": 1655716096505,
        "selfTradePreventionMode": "NONE"
      },
      "rateLimits": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000, "count": 1},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50, "count": 1},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000, "count": 1}
      ]
    }"#;

    pub(crate) const DOC_ERROR: &str = r#"{
      "id": "fc93a61a-a192-4cf4-bb2a-a8f0f0c51e06",
      "status": 400,
      "error": {
        "code": -1102,
        "msg": "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."
      },
      "rateLimits": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000, "count": 1}
      ]
    }"#;

    fn limit(kind: RateLimitKind, interval: RateInterval, n: u64, limit: u64) -> RateLimit {
        RateLimit {
            kind,
            interval,
            interval_num: n,
            limit,
            count: 1,
        }
    }

    #[test]
    fn decodes_the_documented_success() {
        let mut cx = decoder();
        let mut frame = DOC_OK.as_bytes().to_vec();
        let reply = decode(&mut frame, &mut cx).expect("decodes");
        assert_eq!(
            reply.id,
            Some(RequestId::Text("e2a85d9f-07a5-4f94-8d5f-789dc3deb097"))
        );
        assert_eq!(reply.status, Some(200));
        assert_eq!(
            reply.rate_limits,
            [
                limit(RateLimitKind::RequestWeight, RateInterval::Minute, 1, 6000),
                limit(RateLimitKind::Orders, RateInterval::Second, 10, 50),
                limit(RateLimitKind::Orders, RateInterval::Day, 1, 160_000),
            ]
        );
        assert_eq!(reply.rate_limits[1].remaining(), 49);
        let Message::Order(o) = reply.message else {
            panic!("{reply:?}");
        };
        assert_eq!(
            (o.order_id, o.client_order_id),
            (12_510_053_279, "a097fe6304b20a7e4fc436")
        );
        let r = o.result.expect("RESULT fields");
        assert_eq!(
            (r.price_ticks, r.orig_qty_lots, r.status),
            (10, 1_000_000, OrderStatus::New)
        );
    }

    #[test]
    fn decodes_the_documented_error() {
        let mut cx = decoder();
        let mut frame = DOC_ERROR.as_bytes().to_vec();
        let reply = decode(&mut frame, &mut cx).expect("decodes");
        assert_eq!(reply.status, Some(400));
        assert_eq!(reply.rate_limits.len(), 1);
        assert_eq!(
            reply.message,
            Message::Error(ApiError {
                code: -1102,
                msg: "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."
            })
        );
    }

    #[test]
    fn envelope_table() {
        type Case<'s> = (
            &'s str,
            Result<(RequestId<'s>, u16, Message<'s>), DecodeError>,
        );
        let cases: &[Case<'_>] = &[
            // TC0: a session.logon result: another shape, still a success
            (
                r#"{"id":7,"status":200,"result":{"apiKey":"k","authorizedSince":1,"serverTime":2}}"#,
                Ok((RequestId::Number(7), 200, Message::OtherResult)),
            ),
            // TC1: an empty result and a null id, no rateLimits
            (
                r#"{"id":null,"status":200,"result":{}}"#,
                Ok((RequestId::Null, 200, Message::OtherResult)),
            ),
            // TC2: a list result (openOrders)
            (
                r#"{"id":"q","status":200,"result":[]}"#,
                Ok((RequestId::Text("q"), 200, Message::OtherResult)),
            ),
            // TC3: neither result nor error
            (
                r#"{"id":1,"status":200}"#,
                Err(DecodeError::Missing("result")),
            ),
            // TC4: status out of range
            (
                r#"{"id":1,"status":70000,"result":{}}"#,
                Err(DecodeError::WrongType("status")),
            ),
            // TC5: status missing
            (
                r#"{"id":1,"result":{}}"#,
                Err(DecodeError::Missing("status")),
            ),
            // TC6: a rate limit without count
            (
                r#"{"id":1,"status":200,"result":{},"rateLimits":[{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":5}]}"#,
                Err(DecodeError::Missing("count")),
            ),
            // TC7: an error object that is not an object
            (
                r#"{"id":1,"status":400,"error":"bad"}"#,
                Err(DecodeError::WrongType("error")),
            ),
            // TC8: a malformed order result is reported, not hidden as OtherResult
            (
                r#"{"id":1,"status":200,"result":{"symbol":"BTCUSDT","orderId":"x"}}"#,
                Err(DecodeError::WrongType("orderId")),
            ),
            // TC9: an id of the wrong type
            (
                r#"{"id":true,"status":200,"result":{}}"#,
                Err(DecodeError::WrongType("id")),
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let mut cx = decoder();
            let mut frame = text.as_bytes().to_vec();
            let got = decode(&mut frame, &mut cx).map(|r| {
                (
                    r.id.unwrap_or(RequestId::Null),
                    r.status.unwrap_or(0),
                    r.message,
                )
            });
            assert_eq!(got, *want, "TC{i}");
        }
    }
}
