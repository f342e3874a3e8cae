//! User data stream `executionReport`: every change of an order's state. Binance's
//! documented payload:
//!
//! ```text
//! {
//!   "e": "executionReport",        // Event type
//!   "E": 1499405658658,            // Event time
//!   "s": "ETHBTC",                 // Symbol
//!   "c": "mUvoqJxFIILMdfAW5iGSOW", // Client order ID
//!   "S": "BUY",                    // Side
//!   "o": "LIMIT",                  // Order type
//!   "f": "GTC",                    // Time in force
//!   "q": "1.00000000",             // Order quantity
//!   "p": "0.10264410",             // Order price
//!   "P": "0.00000000",             // Stop price
//!   "F": "0.00000000",             // Iceberg quantity
//!   "g": -1,                       // OrderListId
//!   "C": "",                       // Original client order ID; This is the ID of the order being canceled
//!   "x": "NEW",                    // Current execution type
//!   "X": "NEW",                    // Current order status
//!   "r": "NONE",                   // Order reject reason
//!   "i": 4293153,                  // Order ID
//!   "l": "0.00000000",             // Last executed quantity
//!   "z": "0.00000000",             // Cumulative filled quantity
//!   "L": "0.00000000",             // Last executed price
//!   "n": "0",                      // Commission amount
//!   "N": null,                     // Commission asset
//!   "T": 1499405658657,            // Transaction time
//!   "t": -1,                       // Trade ID
//!   "v": 3,                        // Prevented Match Id; only visible if the order expired due to STP
//!   "I": 8641984,                  // Ignore
//!   "w": true,                     // Is the order on the book?
//!   "m": false,                    // Is this trade the maker side?
//!   "M": false,                    // Ignore
//!   "O": 1499405658657,            // Order creation time
//!   "Z": "0.00000000",             // Cumulative quote asset transacted quantity
//!   "Y": "0.00000000",             // Last quote asset transacted quantity (i.e. lastPrice * lastQty)
//!   "Q": "0.00000000",             // Quote Order Quantity
//!   "W": 1499405658657,            // Working Time; only visible if the order has been placed on the book
//!   "V": "NONE"                    // SelfTradePreventionMode
//! }
//! ```
//!
//! Conditional fields (`d` trailing delta, `j`/`J` strategy, `A`/`B` prevented quantities,
//! `u` trade group, ...) and the ignored `I`/`M` are accepted and not decoded.

use super::{amount, feed, lots, opt_string, ticks, DecodeError, OrderStatus, Side, Sink};
use crate::feed::binance::{required, Fields};

/// `x`: what happened to the order in this report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionType {
    /// `NEW`: accepted.
    New,
    /// `CANCELED`: cancelled by the user.
    Canceled,
    /// `REPLACED`: amended (keep-priority) or replaced.
    Replaced,
    /// `REJECTED`: rejected (e.g. a cancel-replace's new order).
    Rejected,
    /// `TRADE`: part or all of it filled; `l`, `L`, `n`, `N`, `t` describe the fill.
    Trade,
    /// `EXPIRED`: cancelled by the exchange's rules.
    Expired,
    /// `TRADE_PREVENTION`: expired by self-trade prevention.
    TradePrevention,
}

impl ExecutionType {
    fn parse(text: &str) -> Result<ExecutionType, DecodeError> {
        Ok(match text {
            "NEW" => ExecutionType::New,
            "CANCELED" => ExecutionType::Canceled,
            "REPLACED" => ExecutionType::Replaced,
            "REJECTED" => ExecutionType::Rejected,
            "TRADE" => ExecutionType::Trade,
            "EXPIRED" => ExecutionType::Expired,
            "TRADE_PREVENTION" => ExecutionType::TradePrevention,
            _ => return Err(DecodeError::UnknownValue("x")),
        })
    }
}

/// A decoded `executionReport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutionReport<'a> {
    /// `E`: event time, Unix ms.
    pub event_time_ms: u64,
    /// `s`
    pub symbol: &'a str,
    /// `c`: the order's client id (for a cancel, the cancel request's id; see `C`).
    pub client_order_id: &'a str,
    /// `S`
    pub side: Side,
    /// `o`: order type.
    pub order_type: &'a str,
    /// `f`: time in force.
    pub time_in_force: &'a str,
    /// `q`: order quantity in lots.
    pub qty_lots: i64,
    /// `p`: order price in ticks.
    pub price_ticks: i64,
    /// `P`: stop price in ticks.
    pub stop_price_ticks: i64,
    /// `F`: iceberg quantity in lots.
    pub iceberg_qty_lots: i64,
    /// `g`: order list id, -1 if none.
    pub order_list_id: i64,
    /// `C`: the original client id of a cancelled order; empty otherwise.
    pub orig_client_order_id: &'a str,
    /// `x`
    pub execution_type: ExecutionType,
    /// `X`
    pub status: OrderStatus,
    /// `r`: reject reason (`NONE` when not rejected).
    pub reject_reason: &'a str,
    /// `i`: the exchange's order id.
    pub order_id: u64,
    /// `l`: last executed quantity in lots.
    pub last_qty_lots: i64,
    /// `z`: cumulative filled quantity in lots.
    pub cum_qty_lots: i64,
    /// `L`: last executed price in ticks.
    pub last_price_ticks: i64,
    /// `n`: commission of the last fill in [`super::ASSET_UNIT`]s of `commission_asset`.
    pub commission_units: i64,
    /// `N`: commission asset; `None` (`null`) when there was no fill.
    pub commission_asset: Option<&'a str>,
    /// `T`: transaction time, Unix ms.
    pub transaction_time_ms: u64,
    /// `t`: trade id, -1 when the report is not a fill.
    pub trade_id: i64,
    /// `m`: the fill was on the maker side.
    pub is_maker: bool,
    /// `O`: order creation time, Unix ms.
    pub order_created_ms: u64,
    /// `Z`: cumulative quote quantity in quote asset units.
    pub cum_quote_qty_units: i64,
    /// `Y`: last fill's quote quantity in quote asset units.
    pub last_quote_qty_units: i64,
    /// `Q`: quote order quantity in quote asset units.
    pub quote_order_qty_units: i64,
    /// `W`: working time, Unix ms; only once the order is on the book.
    pub working_time_ms: Option<u64>,
}

/// Decodes the fields of an `executionReport` object in one pass (the prices are counted
/// in the symbol's increments, found first).
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: &Sink<'a>,
) -> Result<ExecutionReport<'a>, DecodeError> {
    let symbol = feed::string(fields.get("s").ok_or(DecodeError::Missing("s"))?, "s")?;
    let incs = sink.increments(symbol);
    let asset = sink.asset;
    let (mut e_time, mut cid, mut side, mut otype, mut tif) = (None, None, None, None, None);
    let (mut qty, mut price, mut stop, mut iceberg, mut list) = (None, None, None, None, None);
    let (mut orig, mut exec, mut status, mut reject, mut oid) = (None, None, None, None, None);
    let (mut last_qty, mut cum_qty, mut last_price, mut comm) = (None, None, None, None);
    let (mut comm_asset, mut t_time, mut trade, mut maker) = (None, None, None, None);
    let (mut created, mut cum_quote, mut last_quote, mut quote_qty) = (None, None, None, None);
    let mut working = None;
    for (key, v) in fields {
        match key {
            "E" => e_time = Some(feed::uint(v, "E")?),
            "c" => cid = Some(feed::string(v, "c")?),
            "S" => side = Some(super::parse_side(feed::string(v, "S")?, "S")?),
            "o" => otype = Some(feed::string(v, "o")?),
            "f" => tif = Some(feed::string(v, "f")?),
            "q" => qty = Some(lots(v, incs, "q")?),
            "p" => price = Some(ticks(v, incs, "p")?),
            "P" => stop = Some(ticks(v, incs, "P")?),
            "F" => iceberg = Some(lots(v, incs, "F")?),
            "g" => list = Some(feed::int(v, "g")?),
            "C" => orig = Some(feed::string(v, "C")?),
            "x" => exec = Some(ExecutionType::parse(feed::string(v, "x")?)?),
            "X" => status = Some(OrderStatus::parse(feed::string(v, "X")?, "X")?),
            "r" => reject = Some(feed::string(v, "r")?),
            "i" => oid = Some(feed::uint(v, "i")?),
            "l" => last_qty = Some(lots(v, incs, "l")?),
            "z" => cum_qty = Some(lots(v, incs, "z")?),
            "L" => last_price = Some(ticks(v, incs, "L")?),
            "n" => comm = Some(amount(v, asset, "n")?),
            "N" => comm_asset = Some(opt_string(v, "N")?),
            "T" => t_time = Some(feed::uint(v, "T")?),
            "t" => trade = Some(feed::int(v, "t")?),
            "m" => maker = Some(feed::boolean(v, "m")?),
            "O" => created = Some(feed::uint(v, "O")?),
            "Z" => cum_quote = Some(amount(v, asset, "Z")?),
            "Y" => last_quote = Some(amount(v, asset, "Y")?),
            "Q" => quote_qty = Some(amount(v, asset, "Q")?),
            "W" => working = Some(feed::uint(v, "W")?),
            _ => {}
        }
    }
    Ok(ExecutionReport {
        event_time_ms: required(e_time, "E")?,
        symbol,
        client_order_id: required(cid, "c")?,
        side: required(side, "S")?,
        order_type: required(otype, "o")?,
        time_in_force: required(tif, "f")?,
        qty_lots: required(qty, "q")?,
        price_ticks: required(price, "p")?,
        stop_price_ticks: required(stop, "P")?,
        iceberg_qty_lots: required(iceberg, "F")?,
        order_list_id: required(list, "g")?,
        orig_client_order_id: required(orig, "C")?,
        execution_type: required(exec, "x")?,
        status: required(status, "X")?,
        reject_reason: required(reject, "r")?,
        order_id: required(oid, "i")?,
        last_qty_lots: required(last_qty, "l")?,
        cum_qty_lots: required(cum_qty, "z")?,
        last_price_ticks: required(last_price, "L")?,
        commission_units: required(comm, "n")?,
        commission_asset: comm_asset.flatten(),
        transaction_time_ms: required(t_time, "T")?,
        trade_id: required(trade, "t")?,
        is_maker: required(maker, "m")?,
        order_created_ms: required(created, "O")?,
        cum_quote_qty_units: required(cum_quote, "Z")?,
        last_quote_qty_units: required(last_quote, "Y")?,
        quote_order_qty_units: required(quote_qty, "Q")?,
        working_time_ms: working,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::with_message;
    use super::super::{DecodeError, Message, OrderStatus, Side};
    use super::{ExecutionReport, ExecutionType};

    pub(crate) const DOC_SAMPLE: &str = r#"{
      "e": "executionReport",
      "E": 1499405658658,
      "s": "ETHBTC",
      "c": "mUvoqJxFIILMdfAW5iGSOW",
      "S": "BUY",
      "o": "LIMIT",
      "f": "GTC",
      "q": "1.00000000",
      "p": "0.10264410",
      "P": "0.00000000",
      "F": "0.00000000",
      "g": -1,
      "C": "",
      "x": "NEW",
      "X": "NEW",
      "r": "NONE",
      "i": 4293153,
      "l": "0.00000000",
      "z": "0.00000000",
      "L": "0.00000000",
      "n": "0",
      "N": null,
      "T": 1499405658657,
      "t": -1,
      "v": 3,
      "I": 8641984,
      "w": true,
      "m": false,
      "M": false,
      "O": 1499405658657,
      "Z": "0.00000000",
      "Y": "0.00000000",
      "Q": "0.00000000",
      "W": 1499405658657,
      "V": "NONE"
    }"#;

    fn doc_report() -> ExecutionReport<'static> {
        ExecutionReport {
            event_time_ms: 1_499_405_658_658,
            symbol: "ETHBTC",
            client_order_id: "mUvoqJxFIILMdfAW5iGSOW",
            side: Side::Buy,
            order_type: "LIMIT",
            time_in_force: "GTC",
            qty_lots: 100_000_000,
            price_ticks: 10_264_410,
            stop_price_ticks: 0,
            iceberg_qty_lots: 0,
            order_list_id: -1,
            orig_client_order_id: "",
            execution_type: ExecutionType::New,
            status: OrderStatus::New,
            reject_reason: "NONE",
            order_id: 4_293_153,
            last_qty_lots: 0,
            cum_qty_lots: 0,
            last_price_ticks: 0,
            commission_units: 0,
            commission_asset: None,
            transaction_time_ms: 1_499_405_658_657,
            trade_id: -1,
            is_maker: false,
            order_created_ms: 1_499_405_658_657,
            cum_quote_qty_units: 0,
            last_quote_qty_units: 0,
            quote_order_qty_units: 0,
            working_time_ms: Some(1_499_405_658_657),
        }
    }

    #[test]
    fn decodes_the_documented_sample() {
        with_message(DOC_SAMPLE, |got| {
            assert_eq!(got, Ok(Message::ExecutionReport(doc_report())));
        });
    }

    #[test]
    fn decodes_a_fill_wrapped_by_the_websocket_api() {
        // TC0: a TRADE report as `userDataStream.subscribe` delivers it.
        let fill = DOC_SAMPLE
            .replace("\"x\": \"NEW\"", "\"x\": \"TRADE\"")
            .replace("\"X\": \"NEW\"", "\"X\": \"FILLED\"")
            .replace("\"l\": \"0.00000000\"", "\"l\": \"1.00000000\"")
            .replace("\"L\": \"0.00000000\"", "\"L\": \"0.10264410\"")
            .replace("\"n\": \"0\"", "\"n\": \"0.00010264\"")
            .replace("\"N\": null", "\"N\": \"BTC\"")
            .replace("\"t\": -1", "\"t\": 77");
        let text = format!(r#"{{"subscriptionId":0,"event":{fill}}}"#);
        let mut cx = super::super::tests::decoder();
        let mut frame = text.into_bytes();
        let reply = super::super::decode(&mut frame, &mut cx).expect("decodes");
        assert_eq!(reply.subscription_id, Some(0), "TC0");
        let Message::ExecutionReport(r) = reply.message else {
            panic!("TC0: {reply:?}");
        };
        assert_eq!(r.execution_type, ExecutionType::Trade, "TC0");
        assert_eq!(r.status, OrderStatus::Filled, "TC0");
        assert_eq!(
            (r.last_qty_lots, r.last_price_ticks, r.commission_units),
            (100_000_000, 10_264_410, 10_264),
            "TC0"
        );
        assert_eq!((r.commission_asset, r.trade_id), (Some("BTC"), 77), "TC0");
    }

    #[test]
    fn bad_reports_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: an execution type Binance does not document
            (
                &DOC_SAMPLE.replace("\"x\": \"NEW\"", "\"x\": \"TELEPORT\""),
                DecodeError::UnknownValue("x"),
            ),
            // TC1: no order id
            (
                &DOC_SAMPLE.replace("\"i\": 4293153,", ""),
                DecodeError::Missing("i"),
            ),
            // TC2: maker flag as a string
            (
                &DOC_SAMPLE.replace("\"m\": false", "\"m\": \"false\""),
                DecodeError::WrongType("m"),
            ),
            // TC3: no symbol
            (
                &DOC_SAMPLE.replace("\"s\": \"ETHBTC\",", ""),
                DecodeError::Missing("s"),
            ),
            // TC4: commission asset as a number
            (
                &DOC_SAMPLE.replace("\"N\": null", "\"N\": 5"),
                DecodeError::WrongType("N"),
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            with_message(text, |got| assert_eq!(got, Err(*want), "TC{i}"));
        }
    }
}
