//! New order reply (`POST /api/v3/order`, WebSocket API `order.place`), in the three
//! `newOrderRespType` forms Binance documents:
//!
//! ```text
//! ACK:
//! {
//!   "symbol": "BTCUSDT",
//!   "orderId": 28,
//!   "orderListId": -1, // Unless it is part of an order list, value will be -1
//!   "clientOrderId": "6gCrw2kRUAF9CvJDGP16IP",
//!   "transactTime": 1507725176595
//! }
//! RESULT: the ACK fields and
//!   "price": "0.00000000",
//!   "origQty": "10.00000000",
//!   "executedQty": "10.00000000",
//!   "origQuoteOrderQty": "0.000000",
//!   "cummulativeQuoteQty": "10.00000000",
//!   "status": "FILLED",
//!   "timeInForce": "GTC",
//!   "type": "MARKET",
//!   "side": "SELL",
//!   "workingTime": 1507725176595,
//!   "selfTradePreventionMode": "NONE"
//! FULL: the RESULT fields and
//!   "fills": [
//!     {"price": "4000.00000000", "qty": "1.00000000", "commission": "4.00000000",
//!      "commissionAsset": "USDT", "tradeId": 56},
//!     {"price": "3999.00000000", "qty": "5.00000000", "commission": "19.99500000",
//!      "commissionAsset": "USDT", "tradeId": 57},
//!     {"price": "3998.00000000", "qty": "2.00000000", "commission": "7.99600000",
//!      "commissionAsset": "USDT", "tradeId": 58},
//!     {"price": "3997.00000000", "qty": "1.00000000", "commission": "3.99700000",
//!      "commissionAsset": "USDT", "tradeId": 59},
//!     {"price": "3995.00000000", "qty": "1.00000000", "commission": "3.99500000",
//!      "commissionAsset": "USDT", "tradeId": 60}
//!   ]
//! ```
//!
//! Conditional fields (`icebergQty`, `preventedMatchId`, `stopPrice`, `trailingDelta`,
//! strategy ids, ...) are accepted and not decoded.

use simd_json::Node;

use super::{
    amount, feed, field, lots, opt_string, push_name, ticks, DecodeError, OrderStatus, Side, Sink,
};
use crate::feed::binance::Fields;
use crate::feed::fixed::Increment;

/// A decoded new-order reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderResponse<'a> {
    /// `symbol`
    pub symbol: &'a str,
    /// `orderId`: the exchange's id.
    pub order_id: u64,
    /// `orderListId`: -1 unless the order is part of an order list.
    pub order_list_id: i64,
    /// `clientOrderId`: the `newClientOrderId` sent (or one Binance made up).
    pub client_order_id: &'a str,
    /// `transactTime`: Unix milliseconds.
    pub transact_time_ms: u64,
    /// The RESULT / FULL fields; `None` for an ACK reply.
    pub result: Option<OrderResult<'a>>,
    /// The FULL reply's `fills`; empty for ACK and RESULT.
    pub fills: Fills<'a>,
}

/// The order state fields that RESULT and FULL replies (and cancel replies) carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderResult<'a> {
    /// `price` in ticks (0 for a market order).
    pub price_ticks: i64,
    /// `origQty` in lots.
    pub orig_qty_lots: i64,
    /// `executedQty` in lots.
    pub executed_qty_lots: i64,
    /// `origQuoteOrderQty` in [`super::ASSET_UNIT`]s of the quote asset.
    pub orig_quote_order_qty_units: i64,
    /// `cummulativeQuoteQty` (Binance's spelling) in quote asset units.
    pub cumulative_quote_qty_units: i64,
    /// `status`
    pub status: OrderStatus,
    /// `timeInForce` (`GTC`, `IOC`, `FOK`).
    pub time_in_force: &'a str,
    /// `type` (`LIMIT`, `MARKET`, `LIMIT_MAKER`, ...).
    pub order_type: &'a str,
    /// `side`
    pub side: Side,
    /// `workingTime`: when the order went on the book, Unix ms; absent on some replies.
    pub working_time_ms: Option<u64>,
    /// `selfTradePreventionMode`; absent on older replies.
    pub self_trade_prevention_mode: Option<&'a str>,
}

/// One fill of a FULL reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill<'a> {
    /// `price` in ticks.
    pub price_ticks: i64,
    /// `qty` in lots.
    pub qty_lots: i64,
    /// `commission` in [`super::ASSET_UNIT`]s of `commission_asset`.
    pub commission_units: i64,
    /// `commissionAsset`
    pub commission_asset: &'a str,
    /// `tradeId`
    pub trade_id: u64,
}

/// A fill as kept in the decoder's reused buffer; its asset name lives in the name buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FillRow {
    price_ticks: i64,
    qty_lots: i64,
    commission_units: i64,
    asset: (usize, usize),
    trade_id: u64,
}

/// The fills of a FULL reply, lent by the decoder until its next [`super::decode`].
#[derive(Debug, Clone, Copy)]
pub struct Fills<'a> {
    rows: &'a [FillRow],
    names: &'a str,
}

impl<'a> Fills<'a> {
    /// No fills (ACK and RESULT replies).
    pub const EMPTY: Fills<'static> = Fills {
        rows: &[],
        names: "",
    };

    /// How many fills.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The `i`-th fill, in Binance's order.
    pub fn get(&self, i: usize) -> Option<Fill<'a>> {
        let r = self.rows.get(i)?;
        Some(Fill {
            price_ticks: r.price_ticks,
            qty_lots: r.qty_lots,
            commission_units: r.commission_units,
            commission_asset: self.names.get(r.asset.0..r.asset.1)?,
            trade_id: r.trade_id,
        })
    }

    /// The fills in order.
    pub fn iter(&self) -> impl Iterator<Item = Fill<'a>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

impl PartialEq for Fills<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Fills<'_> {}

/// Decodes a new-order reply object.
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: Sink<'a>,
) -> Result<OrderResponse<'a>, DecodeError> {
    let symbol = feed::string(field(fields, "symbol")?, "symbol")?;
    let incs = sink.increments(symbol);
    let result = decode_result(fields, incs, sink.asset)?;
    let mut fills = Fills::EMPTY;
    let Sink {
        names,
        fills: rows,
        asset,
        ..
    } = sink;
    if let Some(list) = fields.get("fills") {
        for item in feed::array(list, "fills")? {
            rows.push(fill(item, incs, asset, names)?);
        }
        let names: &'a String = names;
        let rows: &'a Vec<FillRow> = rows;
        fills = Fills { rows, names };
    }
    Ok(OrderResponse {
        symbol,
        order_id: feed::uint(field(fields, "orderId")?, "orderId")?,
        order_list_id: feed::int(field(fields, "orderListId")?, "orderListId")?,
        client_order_id: feed::string(field(fields, "clientOrderId")?, "clientOrderId")?,
        transact_time_ms: feed::uint(field(fields, "transactTime")?, "transactTime")?,
        result,
        fills,
    })
}

fn fill(
    item: &[Node<'_>],
    incs: Option<(Increment, Increment)>,
    asset: Increment,
    names: &mut String,
) -> Result<FillRow, DecodeError> {
    let f = feed::object(item, "fills")?;
    let name = feed::string(field(f, "commissionAsset")?, "commissionAsset")?;
    Ok(FillRow {
        price_ticks: ticks(field(f, "price")?, incs, "fills.price")?,
        qty_lots: lots(field(f, "qty")?, incs, "fills.qty")?,
        commission_units: amount(field(f, "commission")?, asset, "fills.commission")?,
        trade_id: feed::uint(field(f, "tradeId")?, "fills.tradeId")?,
        asset: push_name(names, name),
    })
}

/// The RESULT fields of an order object, or `None` if it has no `status` (an ACK).
pub(crate) fn decode_result<'a>(
    fields: Fields<'_, 'a>,
    incs: Option<(Increment, Increment)>,
    asset: Increment,
) -> Result<Option<OrderResult<'a>>, DecodeError> {
    let Some(status) = fields.get("status") else {
        return Ok(None);
    };
    let opt_uint = |key: &'static str| -> Result<Option<u64>, DecodeError> {
        fields
            .get(key)
            .map(|v| feed::uint(v, key).map_err(DecodeError::from))
            .transpose()
    };
    let stp = match fields.get("selfTradePreventionMode") {
        Some(v) => opt_string(v, "selfTradePreventionMode")?,
        None => None,
    };
    Ok(Some(OrderResult {
        price_ticks: ticks(field(fields, "price")?, incs, "price")?,
        orig_qty_lots: lots(field(fields, "origQty")?, incs, "origQty")?,
        executed_qty_lots: lots(field(fields, "executedQty")?, incs, "executedQty")?,
        orig_quote_order_qty_units: match fields.get("origQuoteOrderQty") {
            Some(v) => amount(v, asset, "origQuoteOrderQty")?,
            None => 0,
        },
        cumulative_quote_qty_units: amount(
            field(fields, "cummulativeQuoteQty")?,
            asset,
            "cummulativeQuoteQty",
        )?,
        status: OrderStatus::parse(feed::string(status, "status")?, "status")?,
        time_in_force: feed::string(field(fields, "timeInForce")?, "timeInForce")?,
        order_type: feed::string(field(fields, "type")?, "type")?,
        side: super::parse_side(feed::string(field(fields, "side")?, "side")?, "side")?,
        working_time_ms: opt_uint("workingTime")?,
        self_trade_prevention_mode: stp,
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::with_message;
    use super::super::{DecodeError, Message, OrderStatus, Side};
    use super::{Fill, OrderResult};
    use crate::feed::fixed::FixedError;

    pub(crate) const DOC_ACK: &str = r#"{
      "symbol": "BTCUSDT",
      "orderId": 28,
      "orderListId": -1,
      "clientOrderId": "6gCrw2kRUAF9CvJDGP16IP",
      "transactTime": 1507725176595
    }"#;

    pub(crate) const DOC_RESULT: &str = r#"{
      "symbol": "BTCUSDT",
      "orderId": 28,
      "orderListId": -1,
      "clientOrderId": "6gCrw2kRUAF9CvJDGP16IP",
      "transactTime": 1507725176595,
      "price": "0.00000000",
      "origQty": "10.00000000",
      "executedQty": "10.00000000",
      "origQuoteOrderQty": "0.000000",
      "cummulativeQuoteQty": "10.00000000",
      "status": "FILLED",
      "timeInForce": "GTC",
      "type": "MARKET",
      "side": "SELL",
      "workingTime": 1507725176595,
      "selfTradePreventionMode": "NONE"
    }"#;

    pub(crate) const DOC_FULL: &str = r#"{
      "symbol": "BTCUSDT",
      "orderId": 28,
      "orderListId": -1,
      "clientOrderId": "6gCrw2kRUAF9CvJDGP16IP",
      "transactTime": 1507725176595,
      "price": "0.00000000",
      "origQty": "10.00000000",
      "executedQty": "10.00000000",
      "origQuoteOrderQty": "0.000000",
      "cummulativeQuoteQty": "10.00000000",
      "status": "FILLED",
      "timeInForce": "GTC",
      "type": "MARKET",
      "side": "SELL",
      "workingTime": 1507725176595,
      "selfTradePreventionMode": "NONE",
      "fills": [
        {"price": "4000.00000000", "qty": "1.00000000", "commission": "4.00000000", "commissionAsset": "USDT", "tradeId": 56},
        {"price": "3999.00000000", "qty": "5.00000000", "commission": "19.99500000", "commissionAsset": "USDT", "tradeId": 57},
        {"price": "3998.00000000", "qty": "2.00000000", "commission": "7.99600000", "commissionAsset": "USDT", "tradeId": 58},
        {"price": "3997.00000000", "qty": "1.00000000", "commission": "3.99700000", "commissionAsset": "USDT", "tradeId": 59},
        {"price": "3995.00000000", "qty": "1.00000000", "commission": "3.99500000", "commissionAsset": "USDT", "tradeId": 60}
      ]
    }"#;

    fn doc_result() -> OrderResult<'static> {
        OrderResult {
            price_ticks: 0,
            orig_qty_lots: 1_000_000,
            executed_qty_lots: 1_000_000,
            orig_quote_order_qty_units: 0,
            cumulative_quote_qty_units: 1_000_000_000,
            status: OrderStatus::Filled,
            time_in_force: "GTC",
            order_type: "MARKET",
            side: Side::Sell,
            working_time_ms: Some(1_507_725_176_595),
            self_trade_prevention_mode: Some("NONE"),
        }
    }

    #[test]
    fn decodes_the_documented_samples() {
        for (i, (text, result, fills)) in [
            // TC0: ACK
            (DOC_ACK, None, 0),
            // TC1: RESULT
            (DOC_RESULT, Some(doc_result()), 0),
            // TC2: FULL
            (DOC_FULL, Some(doc_result()), 5),
        ]
        .into_iter()
        .enumerate()
        {
            with_message(text, |got| {
                let Ok(Message::Order(o)) = got else {
                    panic!("TC{i}: {got:?}");
                };
                assert_eq!(o.symbol, "BTCUSDT", "TC{i}");
                assert_eq!(o.order_id, 28, "TC{i}");
                assert_eq!(o.order_list_id, -1, "TC{i}");
                assert_eq!(o.client_order_id, "6gCrw2kRUAF9CvJDGP16IP", "TC{i}");
                assert_eq!(o.transact_time_ms, 1_507_725_176_595, "TC{i}");
                assert_eq!(o.result, result, "TC{i}");
                assert_eq!(o.fills.len(), fills, "TC{i}");
            });
        }
        // TC3: the FULL fills, exact.
        with_message(DOC_FULL, |got| {
            let Ok(Message::Order(o)) = got else {
                panic!("TC3: {got:?}");
            };
            let want = [
                (400_000, 100_000, 400_000_000, 56),
                (399_900, 500_000, 1_999_500_000, 57),
                (399_800, 200_000, 799_600_000, 58),
                (399_700, 100_000, 399_700_000, 59),
                (399_500, 100_000, 399_500_000, 60),
            ]
            .map(|(p, q, c, t)| Fill {
                price_ticks: p,
                qty_lots: q,
                commission_units: c,
                commission_asset: "USDT",
                trade_id: t,
            });
            assert!(o.fills.iter().eq(want), "TC3: {:?}", o.fills);
            assert_eq!(o.fills.get(5), None, "TC3");
        });
    }

    #[test]
    fn bad_order_replies_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: a price off the tick
            (
                &DOC_RESULT.replace("\"0.00000000\"", "\"0.00500000\""),
                DecodeError::Number {
                    field: "price",
                    error: FixedError::NotAMultiple,
                },
            ),
            // TC1: an unknown status
            (
                &DOC_RESULT.replace("FILLED", "SHREDDED"),
                DecodeError::UnknownValue("status"),
            ),
            // TC2: a fill without its trade id
            (
                &DOC_FULL.replace(", \"tradeId\": 58", ""),
                DecodeError::Missing("tradeId"),
            ),
            // TC3: fills that are not an array
            (
                &DOC_RESULT.replace("\"NONE\"", "\"NONE\", \"fills\": 3"),
                DecodeError::WrongType("fills"),
            ),
            // TC4: an order id as a string
            (
                &DOC_ACK.replace("28", "\"28\""),
                DecodeError::WrongType("orderId"),
            ),
            // TC5: a RESULT without side
            (
                &DOC_RESULT.replace("\"side\": \"SELL\",", ""),
                DecodeError::Missing("side"),
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            with_message(text, |got| assert_eq!(got, Err(*want), "TC{i}"));
        }
    }
}
