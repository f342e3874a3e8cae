//! Cancel order reply (`DELETE /api/v3/order`, WebSocket API `order.cancel`). Binance's
//! documented response:
//!
//! ```text
//! {
//!   "symbol": "LTCBTC",
//!   "origClientOrderId": "myOrder1",
//!   "orderId": 4,
//!   "orderListId": -1, // Unless it is part of an order list, value will be -1
//!   "clientOrderId": "cancelMyOrder1",
//!   "transactTime": 1684804350068,
//!   "price": "2.00000000",
//!   "origQty": "1.00000000",
//!   "executedQty": "0.00000000",
//!   "origQuoteOrderQty": "0.000000",
//!   "cummulativeQuoteQty": "0.00000000",
//!   "status": "CANCELED",
//!   "timeInForce": "GTC",
//!   "type": "LIMIT",
//!   "side": "BUY",
//!   "selfTradePreventionMode": "NONE"
//! }
//! ```
//!
//! `clientOrderId` is the id of the cancel request; `origClientOrderId` is the cancelled
//! order's own client id, the one the engine journaled.

use super::order::{decode_result, OrderResult};
use super::{feed, field, DecodeError, Sink};
use crate::feed::binance::Fields;

/// A decoded cancel reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelResponse<'a> {
    /// `symbol`
    pub symbol: &'a str,
    /// `origClientOrderId`: the cancelled order's client id.
    pub orig_client_order_id: &'a str,
    /// `orderId`: the cancelled order's exchange id.
    pub order_id: u64,
    /// `orderListId`: -1 unless the order was part of an order list.
    pub order_list_id: i64,
    /// `clientOrderId`: the cancel request's own id.
    pub client_order_id: &'a str,
    /// `transactTime`, Unix ms (absent on some older replies).
    pub transact_time_ms: Option<u64>,
    /// The order's state after the cancel (`status` is normally `CANCELED`).
    pub order: OrderResult<'a>,
}

/// Decodes a cancel reply object.
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: &Sink<'a>,
) -> Result<CancelResponse<'a>, DecodeError> {
    let symbol = feed::string(field(fields, "symbol")?, "symbol")?;
    let order = decode_result(fields, sink.increments(symbol), sink.asset)?
        .ok_or(DecodeError::Missing("status"))?;
    Ok(CancelResponse {
        symbol,
        orig_client_order_id: feed::string(
            field(fields, "origClientOrderId")?,
            "origClientOrderId",
        )?,
        order_id: feed::uint(field(fields, "orderId")?, "orderId")?,
        order_list_id: feed::int(field(fields, "orderListId")?, "orderListId")?,
        client_order_id: feed::string(field(fields, "clientOrderId")?, "clientOrderId")?,
        transact_time_ms: fields
            .get("transactTime")
            .map(|v| feed::uint(v, "transactTime"))
            .transpose()?,
        order,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::with_message;
    use super::super::{DecodeError, Message, OrderResult, OrderStatus, Side};
    use super::CancelResponse;

    pub(crate) const DOC_SAMPLE: &str = r#"{
      "symbol": "LTCBTC",
      "origClientOrderId": "myOrder1",
      "orderId": 4,
      "orderListId": -1,
      "clientOrderId": "cancelMyOrder1",
      "transactTime": 1684804350068,
      "price": "2.00000000",
      "origQty": "1.00000000",
      "executedQty": "0.00000000",
      "origQuoteOrderQty": "0.000000",
      "cummulativeQuoteQty": "0.00000000",
      "status": "CANCELED",
      "timeInForce": "GTC",
      "type": "LIMIT",
      "side": "BUY",
      "selfTradePreventionMode": "NONE"
    }"#;

    #[test]
    fn decodes_the_documented_sample() {
        let want = CancelResponse {
            symbol: "LTCBTC",
            orig_client_order_id: "myOrder1",
            order_id: 4,
            order_list_id: -1,
            client_order_id: "cancelMyOrder1",
            transact_time_ms: Some(1_684_804_350_068),
            order: OrderResult {
                price_ticks: 200_000_000,
                orig_qty_lots: 100_000_000,
                executed_qty_lots: 0,
                orig_quote_order_qty_units: 0,
                cumulative_quote_qty_units: 0,
                status: OrderStatus::Canceled,
                time_in_force: "GTC",
                order_type: "LIMIT",
                side: Side::Buy,
                working_time_ms: None,
                self_trade_prevention_mode: Some("NONE"),
            },
        };
        with_message(DOC_SAMPLE, |got| {
            assert_eq!(got, Ok(Message::Cancel(want)));
            if let Ok(Message::Cancel(c)) = got {
                assert!(c.order.status.is_final());
            }
        });
    }

    #[test]
    fn bad_cancel_replies_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: no status (an ACK-shaped cancel is not a thing Binance sends)
            (
                &DOC_SAMPLE.replace("\"status\": \"CANCELED\",", ""),
                DecodeError::Missing("status"),
            ),
            // TC1: a side Binance does not have
            (
                &DOC_SAMPLE.replace("\"BUY\"", "\"HOLD\""),
                DecodeError::UnknownValue("side"),
            ),
            // TC2: a negative quantity
            (
                &DOC_SAMPLE.replace("\"1.00000000\"", "\"-1.00000000\""),
                DecodeError::Number {
                    field: "origQty",
                    error: crate::feed::fixed::FixedError::Invalid,
                },
            ),
            // TC3: origClientOrderId as a number
            (
                &DOC_SAMPLE.replace("\"myOrder1\"", "1"),
                DecodeError::WrongType("origClientOrderId"),
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            with_message(text, |got| assert_eq!(got, Err(*want), "TC{i}"));
        }
    }
}
