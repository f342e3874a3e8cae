//! Binance spot order-side messages, decoded in place: REST and WebSocket API replies to
//! order placement and cancel, REST error bodies, the WebSocket API envelope with its
//! `rateLimits`, and the user data stream events (`executionReport`,
//! `outboundAccountPosition`, `balanceUpdate`, bare or wrapped as the WebSocket API sends
//! them: `{"subscriptionId":0,"event":{..}}`).
//!
//! The order thread hands every reply body or text frame to [`decode`]. Like the market-data
//! decoder ([`crate::feed::binance`]) it parses with simd-json's tape into buffers owned by
//! the [`OrderDecoder`], so after warm-up nothing allocates: strings are `&str` borrowed
//! from the frame; list items (fills, balances, rate limits) go into vectors the decoder
//! reuses, their asset names copied into one reused string. Prices are exact counts of the
//! symbol's tick and base quantities of its lot ([`crate::feed::fixed`]); the symbol's
//! increments come from the table filled at start with [`OrderDecoder::add_symbol`], so one
//! decoder serves every symbol of the account. Quote amounts, commissions and balances
//! have no per-symbol increment: they are counted in [`ASSET_UNIT`] (1e-8, the precision
//! Binance writes every spot asset amount with).
//!
//! Bad input of any kind returns a [`DecodeError`] naming the field; nothing panics.

pub mod account_position;
pub mod balance_update;
pub mod cancel;
pub mod execution_report;
pub mod order;
pub mod rest_error;
pub mod ws_api;

use simd_json::{Buffers, Node, StaticNode, Tape};
use thiserror::Error;

use crate::feed::binance as feed;
use crate::feed::binance::Fields;
use crate::feed::fixed::{parse_units, FixedError, Increment};

pub use crate::feed::binance::RequestId;
pub use account_position::{AccountPosition, Balance, Balances};
pub use balance_update::BalanceUpdate;
pub use cancel::CancelResponse;
pub use execution_report::{ExecutionReport, ExecutionType};
pub use order::{Fill, Fills, OrderResponse, OrderResult};
pub use rest_error::ApiError;
pub use ws_api::{RateInterval, RateLimit, RateLimitKind};

/// The increment asset amounts (quote quantities, commissions, balances) are counted in:
/// `"0.00000001"`, so `"4.00000000"` USDT is `400_000_000` units.
pub const ASSET_UNIT: &str = "0.00000001";

/// Why a reply could not be decoded. Small and `Copy`: returned by value on the order
/// thread; `Display` says what was wrong and in which field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The body is not valid JSON (or not valid UTF-8).
    #[error("malformed JSON")]
    Json,
    /// A required field is absent.
    #[error("missing field `{0}`")]
    Missing(&'static str),
    /// A field has the wrong JSON type (or a number out of range for its meaning).
    #[error("field `{0}` has the wrong type")]
    WrongType(&'static str),
    /// A price, quantity or amount string is not an exact count of its increment.
    #[error("field `{field}`: {error}")]
    Number {
        /// The field that held the decimal.
        field: &'static str,
        /// What was wrong with it.
        error: FixedError,
    },
    /// An enum field (side, status, execution type) holds a value this build does not know.
    #[error("field `{0}` has a value this build does not know")]
    UnknownValue(&'static str),
    /// A user data event type (`e`) this decoder does not know.
    #[error("unknown event type in field `e`")]
    UnknownEvent,
    /// A JSON value that matches none of the known reply shapes.
    #[error("unrecognised message shape")]
    UnknownMessage,
    /// A reply carries prices or quantities of a symbol that was never given to
    /// [`OrderDecoder::add_symbol`]: its increments are unknown, so nothing can be counted.
    #[error("symbol has no registered tick/lot increments")]
    UnknownSymbol,
}

impl DecodeError {
    /// Whether the same bytes can never decode: every variant but [`UnknownSymbol`]
    /// (which a later `add_symbol` cures) is a property of the message itself.
    ///
    /// [`UnknownSymbol`]: DecodeError::UnknownSymbol
    pub fn is_terminal(self) -> bool {
        !matches!(self, DecodeError::UnknownSymbol)
    }
}

impl From<feed::DecodeError> for DecodeError {
    #[cold]
    fn from(e: feed::DecodeError) -> Self {
        match e {
            feed::DecodeError::Json => DecodeError::Json,
            feed::DecodeError::Missing(f) => DecodeError::Missing(f),
            feed::DecodeError::WrongType(f) => DecodeError::WrongType(f),
            feed::DecodeError::Number { field, error } => DecodeError::Number { field, error },
            feed::DecodeError::UnknownEvent => DecodeError::UnknownEvent,
            feed::DecodeError::UnknownMessage => DecodeError::UnknownMessage,
        }
    }
}

pub use crate::exec::Side;

/// Reads an order side (`side` / `S`).
fn parse_side(text: &str, field: &'static str) -> Result<Side, DecodeError> {
    match text {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        _ => Err(DecodeError::UnknownValue(field)),
    }
}

/// Order status (`status` / `X`), as Binance's enum definitions list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// `NEW`: accepted by the engine.
    New,
    /// `PENDING_NEW`: part of an order list whose working order is not yet placed.
    PendingNew,
    /// `PARTIALLY_FILLED`
    PartiallyFilled,
    /// `FILLED`
    Filled,
    /// `CANCELED`: cancelled by the user.
    Canceled,
    /// `PENDING_CANCEL`: unused by Binance today, listed in its enums.
    PendingCancel,
    /// `REJECTED`
    Rejected,
    /// `EXPIRED`: cancelled by the exchange's rules (FOK/IOC, maintenance).
    Expired,
    /// `EXPIRED_IN_MATCH`: expired by self-trade prevention.
    ExpiredInMatch,
}

impl OrderStatus {
    fn parse(text: &str, field: &'static str) -> Result<OrderStatus, DecodeError> {
        Ok(match text {
            "NEW" => OrderStatus::New,
            "PENDING_NEW" => OrderStatus::PendingNew,
            "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
            "FILLED" => OrderStatus::Filled,
            "CANCELED" => OrderStatus::Canceled,
            "PENDING_CANCEL" => OrderStatus::PendingCancel,
            "REJECTED" => OrderStatus::Rejected,
            "EXPIRED" => OrderStatus::Expired,
            "EXPIRED_IN_MATCH" => OrderStatus::ExpiredInMatch,
            _ => return Err(DecodeError::UnknownValue(field)),
        })
    }

    /// Whether the order can no longer fill (filled, cancelled, rejected or expired).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Filled
                | OrderStatus::Canceled
                | OrderStatus::Rejected
                | OrderStatus::Expired
                | OrderStatus::ExpiredInMatch
        )
    }
}

/// One decoded reply or event. Strings borrow the frame; lists borrow the
/// [`OrderDecoder`]: consume it before the next call to [`decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// A new-order reply (`newOrderRespType` ACK, RESULT or FULL).
    Order(OrderResponse<'a>),
    /// A cancel-order reply.
    Cancel(CancelResponse<'a>),
    /// A user data `executionReport`.
    ExecutionReport(ExecutionReport<'a>),
    /// A user data `outboundAccountPosition`.
    AccountPosition(AccountPosition<'a>),
    /// A user data `balanceUpdate`.
    BalanceUpdate(BalanceUpdate<'a>),
    /// An error: a REST error body or a WebSocket API `error` object.
    Error(ApiError<'a>),
    /// A successful WebSocket API `result` of another shape (`session.logon`,
    /// `userDataStream.subscribe`, a query): the request succeeded; its body is not decoded.
    OtherResult,
}

/// A decoded frame: the message, and the WebSocket API envelope around it if there was one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The WebSocket API request `id` echoed back; `None` for a REST body or an event.
    pub id: Option<RequestId<'a>>,
    /// The WebSocket API `status` (HTTP-like: 200, 400, 429, 418, ...); `None` outside it.
    pub status: Option<u16>,
    /// The `subscriptionId` of a WebSocket API user data event; `None` otherwise.
    pub subscription_id: Option<u64>,
    /// The WebSocket API `rateLimits` (empty when absent).
    pub rate_limits: &'a [RateLimit],
    /// The message itself.
    pub message: Message<'a>,
}

/// Largest reply the default [`OrderDecoder::new`] pre-sizes for (a FULL reply with a few
/// hundred fills).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 64 * 1024;

/// A symbol's increments, registered at start.
struct SymbolIncrements {
    symbol: String,
    tick: Increment,
    step: Increment,
}

/// Decoding state for the order thread: the symbols' increments, simd-json's buffers and
/// tape, and the reused list buffers. Everything is allocated in [`OrderDecoder::new`] /
/// [`OrderDecoder::add_symbol`]; a larger frame grows the buffers once.
pub struct OrderDecoder {
    symbols: Vec<SymbolIncrements>,
    asset: Increment,
    buffers: Buffers,
    /// Empty between calls; it only holds nodes while [`decode`] runs.
    tape: Tape<'static>,
    names: String,
    fills: Vec<order::FillRow>,
    balances: Vec<account_position::BalanceRow>,
    rate_limits: Vec<RateLimit>,
}

impl OrderDecoder {
    /// A decoder with no symbols yet, pre-sized for frames up to
    /// [`DEFAULT_MAX_FRAME_BYTES`].
    pub fn new() -> OrderDecoder {
        OrderDecoder::with_capacity(DEFAULT_MAX_FRAME_BYTES)
    }

    /// Like [`OrderDecoder::new`], pre-sized for frames up to `max_frame_bytes`.
    pub fn with_capacity(max_frame_bytes: usize) -> OrderDecoder {
        let mut cx = OrderDecoder {
            symbols: Vec::new(),
            asset: ASSET_INCREMENT,
            buffers: Buffers::new(max_frame_bytes),
            tape: Tape(Vec::with_capacity(max_frame_bytes / 2 + 16)),
            names: String::with_capacity(4096),
            fills: Vec::with_capacity(512),
            balances: Vec::with_capacity(512),
            rate_limits: Vec::with_capacity(16),
        };
        cx.warm_up(max_frame_bytes);
        cx
    }

    /// Registers (or replaces) `symbol`'s price tick (`PRICE_FILTER.tickSize`) and
    /// quantity lot (`LOT_SIZE.stepSize`). Call at start for every traded symbol.
    pub fn add_symbol(&mut self, symbol: &str, tick: Increment, step: Increment) {
        match self.symbols.iter_mut().find(|s| s.symbol == symbol) {
            Some(s) => {
                s.tick = tick;
                s.step = step;
            }
            None => self.symbols.push(SymbolIncrements {
                symbol: symbol.to_string(),
                tick,
                step,
            }),
        }
    }

    /// Parses a synthetic frame as dense as any real one so that simd-json's internal
    /// buffers reach their working size now rather than on the first big reply.
    fn warm_up(&mut self, max_frame_bytes: usize) {
        let zeros = max_frame_bytes.saturating_sub(8) / 2;
        let mut synthetic = Vec::with_capacity(zeros * 2 + 8);
        synthetic.extend_from_slice(b"[[[[0");
        for _ in 1..zeros {
            synthetic.extend_from_slice(b",0");
        }
        synthetic.extend_from_slice(b"]]]]");
        let mut tape = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        // Valid JSON; a failure would only leave the buffers smaller (an allocation later).
        let _ = simd_json::fill_tape(&mut synthetic, &mut self.buffers, &mut tape);
        self.tape = tape.reset();
    }
}

impl Default for OrderDecoder {
    fn default() -> Self {
        OrderDecoder::new()
    }
}

/// [`ASSET_UNIT`] as an increment (checked when the crate compiles).
const ASSET_INCREMENT: Increment = match Increment::decimal_unit(8) {
    Some(inc) => inc,
    None => panic!("8 decimals fit an Increment"),
};

/// The parts of an [`OrderDecoder`] a message decoder fills.
pub(crate) struct Sink<'a> {
    symbols: &'a [SymbolIncrements],
    pub(crate) asset: Increment,
    pub(crate) names: &'a mut String,
    pub(crate) fills: &'a mut Vec<order::FillRow>,
    pub(crate) balances: &'a mut Vec<account_position::BalanceRow>,
}

impl Sink<'_> {
    /// The (tick, step) of `symbol`, if registered.
    #[inline]
    pub(crate) fn increments(&self, symbol: &str) -> Option<(Increment, Increment)> {
        self.symbols
            .iter()
            .find(|s| s.symbol == symbol)
            .map(|s| (s.tick, s.step))
    }
}

/// Copies `name` into the reused name buffer and returns its byte range there.
#[inline]
pub(crate) fn push_name(names: &mut String, name: &str) -> (usize, usize) {
    let start = names.len();
    names.push_str(name);
    (start, names.len())
}

/// Decodes one reply body or WebSocket API text frame. The parser rewrites `frame` in
/// place; the result borrows it and `cx`.
pub fn decode<'a>(frame: &'a mut [u8], cx: &'a mut OrderDecoder) -> Result<Reply<'a>, DecodeError> {
    let OrderDecoder {
        symbols,
        asset,
        buffers,
        tape: slot,
        names,
        fills,
        balances,
        rate_limits,
    } = cx;
    names.clear();
    fills.clear();
    balances.clear();
    rate_limits.clear();
    let mut tape: Tape<'a> = std::mem::replace(slot, Tape(Vec::new())).reset();
    let result = match simd_json::fill_tape(frame, buffers, &mut tape) {
        Ok(()) => classify(
            &tape.0,
            Sink {
                symbols,
                asset: *asset,
                names,
                fills,
                balances,
            },
            rate_limits,
        ),
        Err(_) => Err(DecodeError::Json),
    };
    *slot = tape.reset();
    result
}

/// Recognises the outer shape: WebSocket API envelope, subscription event wrapper, or a
/// bare body.
fn classify<'a>(
    root: &[Node<'a>],
    sink: Sink<'a>,
    rate_limits: &'a mut Vec<RateLimit>,
) -> Result<Reply<'a>, DecodeError> {
    let fields = feed::object(root, "(message)").map_err(|_| DecodeError::UnknownMessage)?;
    // A WebSocket API envelope has `result` or `error` and a numeric `status`; an order
    // reply's own `status` is a string ("NEW"), so it does not count.
    let numeric_status = matches!(
        fields.get("status").and_then(<[Node<'_>]>::first),
        Some(Node::Static(StaticNode::U64(_) | StaticNode::I64(_)))
    );
    if numeric_status || fields.get("result").is_some() || fields.get("error").is_some() {
        return ws_api::decode(fields, sink, rate_limits);
    }
    let mut subscription_id = None;
    let mut body = root;
    if let Some(event) = fields.get("event") {
        let id = fields
            .get("subscriptionId")
            .ok_or(DecodeError::Missing("subscriptionId"))?;
        subscription_id = Some(feed::uint(id, "subscriptionId")?);
        body = event;
    }
    Ok(Reply {
        id: None,
        status: None,
        subscription_id,
        rate_limits: &[],
        message: message(body, sink)?,
    })
}

/// Decodes one message object (a REST body, a WebSocket API `result`/`error` holder's
/// payload, or an event).
pub(crate) fn message<'a>(value: &[Node<'a>], sink: Sink<'a>) -> Result<Message<'a>, DecodeError> {
    let fields = feed::object(value, "(message)").map_err(|_| DecodeError::UnknownMessage)?;
    if let Some(e) = fields.get("e") {
        return Ok(match feed::string(e, "e")? {
            "executionReport" => Message::ExecutionReport(execution_report::decode(fields, &sink)?),
            "outboundAccountPosition" => {
                Message::AccountPosition(account_position::decode(fields, sink)?)
            }
            "balanceUpdate" => Message::BalanceUpdate(balance_update::decode(fields, &sink)?),
            _ => return Err(DecodeError::UnknownEvent),
        });
    }
    if fields.get("code").is_some() && fields.get("msg").is_some() {
        return Ok(Message::Error(rest_error::decode(fields)?));
    }
    if fields.get("orderId").is_some() {
        return Ok(if fields.get("origClientOrderId").is_some() {
            Message::Cancel(cancel::decode(fields, &sink)?)
        } else {
            Message::Order(order::decode(fields, sink)?)
        });
    }
    Err(DecodeError::UnknownMessage)
}

/// A price counted in the symbol's tick.
#[inline]
pub(crate) fn ticks(
    value: &[Node<'_>],
    incs: Option<(Increment, Increment)>,
    field: &'static str,
) -> Result<i64, DecodeError> {
    let (tick, _) = incs.ok_or(DecodeError::UnknownSymbol)?;
    Ok(feed::units(value, tick, field)?)
}

/// A base quantity counted in the symbol's lot.
#[inline]
pub(crate) fn lots(
    value: &[Node<'_>],
    incs: Option<(Increment, Increment)>,
    field: &'static str,
) -> Result<i64, DecodeError> {
    let (_, step) = incs.ok_or(DecodeError::UnknownSymbol)?;
    Ok(feed::units(value, step, field)?)
}

/// An asset amount counted in [`ASSET_UNIT`]; a leading `-` is allowed (balance deltas).
#[inline]
pub(crate) fn amount(
    value: &[Node<'_>],
    asset: Increment,
    field: &'static str,
) -> Result<i64, DecodeError> {
    let text = feed::string(value, field)?.as_bytes();
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    let units = parse_units(digits, asset).map_err(|error| DecodeError::Number { field, error })?;
    Ok(if negative { -units } else { units })
}

/// A string or `null` (`None`).
#[inline]
pub(crate) fn opt_string<'a>(
    value: &[Node<'a>],
    field: &'static str,
) -> Result<Option<&'a str>, DecodeError> {
    match value.first() {
        Some(Node::Static(StaticNode::Null)) => Ok(None),
        _ => Ok(Some(feed::string(value, field)?)),
    }
}

/// The value of required field `key`.
#[inline]
pub(crate) fn field<'t, 'a>(
    fields: Fields<'t, 'a>,
    key: &'static str,
) -> Result<&'t [Node<'a>], DecodeError> {
    fields.get(key).ok_or(DecodeError::Missing(key))
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::{decode, DecodeError, Message, OrderDecoder};
    use crate::feed::fixed::Increment;

    #[test]
    fn asset_increment_is_asset_unit() {
        assert_eq!(
            Increment::parse(super::ASSET_UNIT),
            Ok(super::ASSET_INCREMENT)
        );
    }

    /// A decoder knowing the symbols of Binance's documented samples: BTCUSDT (tick 0.01,
    /// lot 0.00001); LTCBTC and ETHBTC counted in 1e-8 ticks and lots, so that every
    /// documented sample value is exact.
    pub(crate) fn decoder() -> OrderDecoder {
        let inc = |s: &str| Increment::parse(s).expect("test increment");
        let mut cx = OrderDecoder::with_capacity(8 * 1024);
        cx.add_symbol("BTCUSDT", inc("0.01"), inc("0.00001"));
        cx.add_symbol("LTCBTC", inc("0.00000001"), inc("0.00000001"));
        cx.add_symbol("ETHBTC", inc("0.00000001"), inc("0.00000001"));
        cx
    }

    /// Decodes `text` with a fresh [`decoder`] and hands the message to `check`.
    pub(crate) fn with_message<R>(
        text: &str,
        check: impl FnOnce(Result<Message<'_>, DecodeError>) -> R,
    ) -> R {
        let mut cx = decoder();
        let mut frame = text.as_bytes().to_vec();
        check(decode(&mut frame, &mut cx).map(|r| r.message))
    }

    #[test]
    fn unknown_shapes_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: not JSON
            ("{\"orderId\":", DecodeError::Json),
            // TC1: an array body
            ("[1,2]", DecodeError::UnknownMessage),
            // TC2: an unknown event type
            (r#"{"e":"listStatus","E":1}"#, DecodeError::UnknownEvent),
            // TC3: an object of no known shape
            (r#"{"x":1}"#, DecodeError::UnknownMessage),
            // TC4: an event wrapper without its subscription id
            (
                r#"{"event":{"e":"balanceUpdate"}}"#,
                DecodeError::Missing("subscriptionId"),
            ),
            // TC5: a symbol nobody registered
            (
                r#"{"symbol":"DOGEUSDT","orderId":1,"orderListId":-1,"clientOrderId":"a","transactTime":1,"price":"1.0","origQty":"1","executedQty":"0","origQuoteOrderQty":"0","cummulativeQuoteQty":"0","status":"NEW","timeInForce":"GTC","type":"LIMIT","side":"BUY"}"#,
                DecodeError::UnknownSymbol,
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            with_message(text, |got| assert_eq!(got, Err(*want), "TC{i}"));
        }
        assert!(!DecodeError::UnknownSymbol.is_terminal());
        assert!(DecodeError::Json.is_terminal());
    }

    #[test]
    fn the_decoder_is_reusable_after_errors() {
        let mut cx = decoder();
        for _ in 0..3 {
            let mut bad = br#"{"code":"#.to_vec();
            assert_eq!(decode(&mut bad, &mut cx).err(), Some(DecodeError::Json));
            let mut good = br#"{"code":-1121,"msg":"Invalid symbol."}"#.to_vec();
            assert!(matches!(
                decode(&mut good, &mut cx).map(|r| r.message),
                Ok(Message::Error(_))
            ));
        }
    }

    /// Every documented sample of this module's files, for the mutation property tests.
    fn samples() -> [&'static str; 9] {
        [
            super::order::tests::DOC_ACK,
            super::order::tests::DOC_RESULT,
            super::order::tests::DOC_FULL,
            super::cancel::tests::DOC_SAMPLE,
            super::execution_report::tests::DOC_SAMPLE,
            super::account_position::tests::DOC_SAMPLE,
            super::balance_update::tests::DOC_SAMPLE,
            super::ws_api::tests::DOC_OK,
            super::ws_api::tests::DOC_ERROR,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut cx = decoder();
            let mut frame = bytes;
            let _ = decode(&mut frame, &mut cx);
        }

        #[test]
        fn mutated_samples_never_panic(
            pick in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let samples = samples();
            let mut frame = samples[pick.index(samples.len())].as_bytes().to_vec();
            for (at, byte) in edits {
                let i = at.index(frame.len());
                frame[i] = byte;
            }
            let keep = cut.index(frame.len() + 1);
            if keep % 3 == 0 {
                frame.truncate(keep);
            }
            let mut cx = decoder();
            let _ = decode(&mut frame, &mut cx);
        }

        #[test]
        fn structure_preserving_mutations_never_panic(
            pick in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            with in prop::sample::select(vec![
                &b"-"[..], b"1e5", b"null", b"[]", b"{}", b"\"\"", b"99999999999999999999", b"-1", b"true",
            ]),
        ) {
            let samples = samples();
            let sample = samples[pick.index(samples.len())].as_bytes();
            let i = at.index(sample.len());
            let mut frame = sample[..i].to_vec();
            frame.extend_from_slice(with);
            frame.extend_from_slice(&sample[i + 1..]);
            let mut cx = decoder();
            let _ = decode(&mut frame, &mut cx);
        }
    }
}
