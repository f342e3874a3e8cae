//! Writers for the JSON bodies Binance pushes on its market streams and returns from the
//! REST market-data endpoints, byte for byte in Binance's field order and formatting.
//!
//! Every price and quantity is an exact integer count of `1e-8` (an "e8" value) and is
//! printed the way Binance prints it: always 8 decimals (`"61837.63000000"`), never through
//! `f64`. Samples from Binance's documentation (spot `web-socket-streams.md` and
//! `rest-api.md`, binance/binance-spot-api-docs) are in each writer's doc and tests.
//!
//! The writers append to a caller-owned `String` so that a market step can reuse one buffer.

use std::fmt::Write as _;

use crate::sim::source::KlineInterval;

/// `10^8`: one unit of an e8 value.
pub const E8: i64 = 100_000_000;

/// Appends an e8 value as Binance prints decimals: `-`, integer part, `.`, 8 decimals.
#[inline]
pub fn push_e8(out: &mut String, value_e8: i64) {
    let abs = value_e8.unsigned_abs();
    if value_e8 < 0 {
        out.push('-');
    }
    let int = abs / E8 as u64;
    let frac = abs % E8 as u64;
    // Writing to a String cannot fail.
    let _ = write!(out, "{int}.{frac:08}");
}

/// Parses an unsigned decimal (`digits[.digits]`, at most 8 significant decimals, as
/// Binance prints them) into an e8 value; `None` for anything else or on overflow.
pub fn parse_e8(text: &str) -> Option<i64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() || (text.contains('.') && frac.is_empty()) {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 8 || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut value: i64 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    value.checked_mul(10i64.pow(8 - frac.len() as u32))
}

/// Appends `"<e8 decimal>"` (a quoted decimal).
#[inline]
pub fn push_e8_str(out: &mut String, value_e8: i64) {
    out.push('"');
    push_e8(out, value_e8);
    out.push('"');
}

/// Appends an i128 e8 value (sums of quote volume), saturating at `i64` bounds: a quote
/// volume above 92 billion units is beyond anything a symbol trades in one kline.
#[inline]
fn push_e8_wide_str(out: &mut String, value_e8: i128) {
    let clamped = value_e8.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    push_e8_str(out, clamped);
}

#[inline]
fn push_int(out: &mut String, value: impl std::fmt::Display) {
    let _ = write!(out, "{value}");
}

#[inline]
fn push_bool(out: &mut String, value: bool) {
    out.push_str(if value { "true" } else { "false" });
}

/// `price * qty` of two e8 values as an e8 value, truncated toward zero (Binance's
/// `quoteQty` keeps 8 decimals).
#[inline]
pub fn quote_e8(price_e8: i64, qty_e8: i64) -> i128 {
    i128::from(price_e8) * i128::from(qty_e8) / i128::from(E8)
}

/// `<symbol>@trade` body:
/// `{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.00100000","q":"100.00000000","T":1672515782136,"m":true,"M":true}`.
///
/// The buyer/seller order ids (`b`, `a`) of older documentation are not sent: Binance
/// dropped them from the stream (the bundled 2024 capture has none).
#[allow(clippy::too_many_arguments)]
pub fn trade(
    out: &mut String,
    symbol: &str,
    event_ms: i64,
    trade_id: i64,
    price_e8: i64,
    qty_e8: i64,
    trade_ms: i64,
    buyer_is_maker: bool,
) {
    out.push_str("{\"e\":\"trade\",\"E\":");
    push_int(out, event_ms);
    out.push_str(",\"s\":\"");
    out.push_str(symbol);
    out.push_str("\",\"t\":");
    push_int(out, trade_id);
    out.push_str(",\"p\":");
    push_e8_str(out, price_e8);
    out.push_str(",\"q\":");
    push_e8_str(out, qty_e8);
    out.push_str(",\"T\":");
    push_int(out, trade_ms);
    out.push_str(",\"m\":");
    push_bool(out, buyer_is_maker);
    out.push_str(",\"M\":true}");
}

/// One aggregated trade: the fills of one taker order at one price in one millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggTrade {
    /// Aggregate trade id (`a`).
    pub agg_id: i64,
    /// Price, e8.
    pub price_e8: i64,
    /// Summed quantity, e8.
    pub qty_e8: i64,
    /// First trade id (`f`).
    pub first_id: i64,
    /// Last trade id (`l`).
    pub last_id: i64,
    /// Trade time (`T`).
    pub trade_ms: i64,
    /// Event time (`E`) of the last fill.
    pub event_ms: i64,
    /// `m`: the buyer was the maker (the taker sold).
    pub buyer_is_maker: bool,
}

/// `<symbol>@aggTrade` body:
/// `{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.00100000","q":"100.00000000","f":100,"l":105,"T":1672515782136,"m":true,"M":true}`.
pub fn agg_trade(out: &mut String, symbol: &str, agg: &AggTrade) {
    out.push_str("{\"e\":\"aggTrade\",\"E\":");
    push_int(out, agg.event_ms);
    out.push_str(",\"s\":\"");
    out.push_str(symbol);
    out.push_str("\",\"a\":");
    push_int(out, agg.agg_id);
    out.push_str(",\"p\":");
    push_e8_str(out, agg.price_e8);
    out.push_str(",\"q\":");
    push_e8_str(out, agg.qty_e8);
    out.push_str(",\"f\":");
    push_int(out, agg.first_id);
    out.push_str(",\"l\":");
    push_int(out, agg.last_id);
    out.push_str(",\"T\":");
    push_int(out, agg.trade_ms);
    out.push_str(",\"m\":");
    push_bool(out, agg.buyer_is_maker);
    out.push_str(",\"M\":true}");
}

/// Appends `[["p","q"],..]` from e8 `(price, qty)` pairs, in the order given.
pub fn push_levels(out: &mut String, levels: impl IntoIterator<Item = (i64, i64)>) {
    out.push('[');
    for (i, (price_e8, qty_e8)) in levels.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        push_e8_str(out, price_e8);
        out.push(',');
        push_e8_str(out, qty_e8);
        out.push(']');
    }
    out.push(']');
}

/// `<symbol>@depth[@100ms]` body:
/// `{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":[["0.00240000","10.00000000"]],"a":[["0.00260000","100.00000000"]]}`.
/// Bids best (highest) first, asks best (lowest) first, as in Binance's pushes.
pub fn depth_update(
    out: &mut String,
    symbol: &str,
    event_ms: i64,
    first_update_id: u64,
    final_update_id: u64,
    bids_e8: impl IntoIterator<Item = (i64, i64)>,
    asks_e8: impl IntoIterator<Item = (i64, i64)>,
) {
    out.push_str("{\"e\":\"depthUpdate\",\"E\":");
    push_int(out, event_ms);
    out.push_str(",\"s\":\"");
    out.push_str(symbol);
    out.push_str("\",\"U\":");
    push_int(out, first_update_id);
    out.push_str(",\"u\":");
    push_int(out, final_update_id);
    out.push_str(",\"b\":");
    push_levels(out, bids_e8);
    out.push_str(",\"a\":");
    push_levels(out, asks_e8);
    out.push('}');
}

/// Body of `GET /api/v3/depth` and of `<symbol>@depth<levels>[@100ms]` (same shape):
/// `{"lastUpdateId":160,"bids":[["0.00240000","10.00000000"]],"asks":[["0.00260000","100.00000000"]]}`.
pub fn depth_levels(
    out: &mut String,
    last_update_id: u64,
    bids_e8: impl IntoIterator<Item = (i64, i64)>,
    asks_e8: impl IntoIterator<Item = (i64, i64)>,
) {
    out.push_str("{\"lastUpdateId\":");
    push_int(out, last_update_id);
    out.push_str(",\"bids\":");
    push_levels(out, bids_e8);
    out.push_str(",\"asks\":");
    push_levels(out, asks_e8);
    out.push('}');
}

/// `<symbol>@bookTicker` body:
/// `{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}`.
pub fn book_ticker(
    out: &mut String,
    update_id: u64,
    symbol: &str,
    bid_e8: (i64, i64),
    ask_e8: (i64, i64),
) {
    out.push_str("{\"u\":");
    push_int(out, update_id);
    out.push_str(",\"s\":\"");
    out.push_str(symbol);
    out.push_str("\",\"b\":");
    push_e8_str(out, bid_e8.0);
    out.push_str(",\"B\":");
    push_e8_str(out, bid_e8.1);
    out.push_str(",\"a\":");
    push_e8_str(out, ask_e8.0);
    out.push_str(",\"A\":");
    push_e8_str(out, ask_e8.1);
    out.push('}');
}

/// The numbers of one kline, all prices and volumes in e8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KlineFields {
    /// Open time (`t`).
    pub open_ms: i64,
    /// Close time (`T`): the next kline's open minus 1 ms.
    pub close_ms: i64,
    /// First trade id (`f`), `-1` when the kline has no trade.
    pub first_trade_id: i64,
    /// Last trade id (`L`), `-1` when the kline has no trade.
    pub last_trade_id: i64,
    /// Open price.
    pub open_e8: i64,
    /// High price.
    pub high_e8: i64,
    /// Low price.
    pub low_e8: i64,
    /// Close price.
    pub close_e8: i64,
    /// Base asset volume.
    pub volume_e8: i64,
    /// Number of trades.
    pub trades: u64,
    /// Quote asset volume.
    pub quote_volume_e8: i128,
    /// Taker buy base asset volume.
    pub taker_buy_volume_e8: i64,
    /// Taker buy quote asset volume.
    pub taker_buy_quote_e8: i128,
}

/// `<symbol>@kline_<interval>` body:
/// `{"e":"kline","E":1672515782136,"s":"BNBBTC","k":{"t":1672515780000,"T":1672515839999,"s":"BNBBTC","i":"1m","f":100,"L":200,"o":"0.00100000","c":"0.00200000","h":"0.00250000","l":"0.00150000","v":"1000.00000000","n":100,"x":false,"q":"1.00000000","V":"500.00000000","Q":"0.50000000","B":"0"}}`.
/// `B` is Binance's "ignore" field; it is written as `"0"`.
pub fn kline(
    out: &mut String,
    symbol: &str,
    event_ms: i64,
    interval: KlineInterval,
    k: &KlineFields,
    closed: bool,
) {
    out.push_str("{\"e\":\"kline\",\"E\":");
    push_int(out, event_ms);
    out.push_str(",\"s\":\"");
    out.push_str(symbol);
    out.push_str("\",\"k\":{\"t\":");
    push_int(out, k.open_ms);
    out.push_str(",\"T\":");
    push_int(out, k.close_ms);
    out.push_str(",\"s\":\"");
    out.push_str(symbol);
    out.push_str("\",\"i\":\"");
    out.push_str(interval.as_str());
    out.push_str("\",\"f\":");
    push_int(out, k.first_trade_id);
    out.push_str(",\"L\":");
    push_int(out, k.last_trade_id);
    out.push_str(",\"o\":");
    push_e8_str(out, k.open_e8);
    out.push_str(",\"c\":");
    push_e8_str(out, k.close_e8);
    out.push_str(",\"h\":");
    push_e8_str(out, k.high_e8);
    out.push_str(",\"l\":");
    push_e8_str(out, k.low_e8);
    out.push_str(",\"v\":");
    push_e8_str(out, k.volume_e8);
    out.push_str(",\"n\":");
    push_int(out, k.trades);
    out.push_str(",\"x\":");
    push_bool(out, closed);
    out.push_str(",\"q\":");
    push_e8_wide_str(out, k.quote_volume_e8);
    out.push_str(",\"V\":");
    push_e8_str(out, k.taker_buy_volume_e8);
    out.push_str(",\"Q\":");
    push_e8_wide_str(out, k.taker_buy_quote_e8);
    out.push_str(",\"B\":\"0\"}}");
}

/// One row of `GET /api/v3/klines`, 12 fields:
/// `[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]`.
pub fn kline_row(out: &mut String, k: &KlineFields) {
    out.push('[');
    push_int(out, k.open_ms);
    out.push(',');
    push_e8_str(out, k.open_e8);
    out.push(',');
    push_e8_str(out, k.high_e8);
    out.push(',');
    push_e8_str(out, k.low_e8);
    out.push(',');
    push_e8_str(out, k.close_e8);
    out.push(',');
    push_e8_str(out, k.volume_e8);
    out.push(',');
    push_int(out, k.close_ms);
    out.push(',');
    push_e8_wide_str(out, k.quote_volume_e8);
    out.push(',');
    push_int(out, k.trades);
    out.push(',');
    push_e8_str(out, k.taker_buy_volume_e8);
    out.push(',');
    push_e8_wide_str(out, k.taker_buy_quote_e8);
    out.push_str(",\"0\"]");
}

/// One trade as `GET /api/v3/trades` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestTrade {
    /// Trade id.
    pub id: i64,
    /// Price, e8.
    pub price_e8: i64,
    /// Quantity, e8.
    pub qty_e8: i64,
    /// Trade time, ms.
    pub time_ms: i64,
    /// The buyer was the maker.
    pub buyer_is_maker: bool,
}

/// Body of `GET /api/v3/trades`, oldest first:
/// `[{"id":28457,"price":"4.00000100","qty":"12.00000000","quoteQty":"48.00001200","time":1499865549590,"isBuyerMaker":true,"isBestMatch":true}]`.
/// `quoteQty` is `price * qty` with 8 decimals, as the live API prints it (the
/// documentation's `"48.000012"` is abbreviated; real answers carry 8 decimals).
pub fn rest_trades<'a>(out: &mut String, trades: impl IntoIterator<Item = &'a RestTrade>) {
    out.push('[');
    for (i, t) in trades.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":");
        push_int(out, t.id);
        out.push_str(",\"price\":");
        push_e8_str(out, t.price_e8);
        out.push_str(",\"qty\":");
        push_e8_str(out, t.qty_e8);
        out.push_str(",\"quoteQty\":");
        push_e8_wide_str(out, quote_e8(t.price_e8, t.qty_e8));
        out.push_str(",\"time\":");
        push_int(out, t.time_ms);
        out.push_str(",\"isBuyerMaker\":");
        push_bool(out, t.buyer_is_maker);
        out.push_str(",\"isBestMatch\":true}");
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// e8 of a decimal literal written in the test (test-only helper; panics on a typo).
    fn e8(text: &str) -> i64 {
        let inc = crate::feed::fixed::Increment::parse("0.00000001").expect("inc");
        crate::feed::fixed::parse_units(text.as_bytes(), inc).expect("decimal")
    }

    #[test]
    fn decimals_table() {
        let cases: &[(i64, &str)] = &[
            // TC0: a BTCUSDT price from the capture
            (6_183_763_000_000, "61837.63000000"),
            // TC1: zero (a removed level)
            (0, "0.00000000"),
            // TC2: below one keeps its leading zero
            (1_000, "0.00001000"),
            // TC3: one unit
            (1, "0.00000001"),
            // TC4: negative
            (-150_000_000, "-1.50000000"),
        ];
        for (i, (value, want)) in cases.iter().enumerate() {
            let mut s = String::new();
            push_e8(&mut s, *value);
            assert_eq!(s, *want, "TC{i}");
        }
    }

    #[test]
    fn parse_e8_table() {
        let cases: &[(&str, Option<i64>)] = &[
            // TC0: a price
            ("61837.63000000", Some(6_183_763_000_000)),
            // TC1: zero
            ("0.00000000", Some(0)),
            // TC2: no point
            ("12", Some(1_200_000_000)),
            // TC3: 9 significant decimals
            ("0.000000001", None),
            // TC4: trailing zeros beyond 8 are fine
            ("1.0000000000", Some(100_000_000)),
            // TC5: junk, sign, empty parts
            ("1a", None),
            ("-1", None),
            (".5", None),
            ("5.", None),
            ("", None),
            // TC10: overflow
            ("999999999999.0", None),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            assert_eq!(parse_e8(text), *want, "TC{i}: {text:?}");
        }
    }

    #[test]
    fn stream_bodies_match_documented_samples() {
        let mut cases: Vec<(String, &str)> = Vec::new();
        // TC0: trade (the 2024 capture's shape: no b/a order ids)
        let mut s = String::new();
        trade(
            &mut s,
            "BTCUSDT",
            1723161255343,
            3735683259,
            e8("61837.63"),
            e8("0.02"),
            1723161255342,
            true,
        );
        cases.push((
            s,
            r#"{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}"#,
        ));
        // TC1: aggTrade, documented field order
        let mut s = String::new();
        agg_trade(
            &mut s,
            "BNBBTC",
            &AggTrade {
                agg_id: 12345,
                price_e8: e8("0.001"),
                qty_e8: e8("100"),
                first_id: 100,
                last_id: 105,
                trade_ms: 1672515782136,
                event_ms: 1672515782136,
                buyer_is_maker: true,
            },
        );
        cases.push((
            s,
            r#"{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.00100000","q":"100.00000000","f":100,"l":105,"T":1672515782136,"m":true,"M":true}"#,
        ));
        // TC2: depthUpdate
        let mut s = String::new();
        depth_update(
            &mut s,
            "BNBBTC",
            1672515782136,
            157,
            160,
            [(e8("0.0024"), e8("10"))],
            [(e8("0.0026"), e8("100"))],
        );
        cases.push((
            s,
            r#"{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":[["0.00240000","10.00000000"]],"a":[["0.00260000","100.00000000"]]}"#,
        ));
        // TC3: partial depth / REST depth
        let mut s = String::new();
        depth_levels(
            &mut s,
            160,
            [(e8("0.0024"), e8("10"))],
            [(e8("0.0026"), e8("100"))],
        );
        cases.push((
            s,
            r#"{"lastUpdateId":160,"bids":[["0.00240000","10.00000000"]],"asks":[["0.00260000","100.00000000"]]}"#,
        ));
        // TC4: bookTicker, exactly the documented sample
        let mut s = String::new();
        book_ticker(
            &mut s,
            400900217,
            "BNBUSDT",
            (e8("25.3519"), e8("31.21")),
            (e8("25.3652"), e8("40.66")),
        );
        cases.push((
            s,
            r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#,
        ));
        // TC5: kline, documented sample values
        let k = KlineFields {
            open_ms: 1672515780000,
            close_ms: 1672515839999,
            first_trade_id: 100,
            last_trade_id: 200,
            open_e8: e8("0.0010"),
            high_e8: e8("0.0025"),
            low_e8: e8("0.0015"),
            close_e8: e8("0.0020"),
            volume_e8: e8("1000"),
            trades: 100,
            quote_volume_e8: i128::from(e8("1.0")),
            taker_buy_volume_e8: e8("500"),
            taker_buy_quote_e8: i128::from(e8("0.5")),
        };
        let mut s = String::new();
        kline(
            &mut s,
            "BNBBTC",
            1672515782136,
            KlineInterval::M1,
            &k,
            false,
        );
        cases.push((
            s,
            r#"{"e":"kline","E":1672515782136,"s":"BNBBTC","k":{"t":1672515780000,"T":1672515839999,"s":"BNBBTC","i":"1m","f":100,"L":200,"o":"0.00100000","c":"0.00200000","h":"0.00250000","l":"0.00150000","v":"1000.00000000","n":100,"x":false,"q":"1.00000000","V":"500.00000000","Q":"0.50000000","B":"0"}}"#,
        ));
        // TC6: REST kline row, the documented sample
        let k = KlineFields {
            open_ms: 1499040000000,
            close_ms: 1499644799999,
            first_trade_id: 0,
            last_trade_id: 0,
            open_e8: e8("0.01634790"),
            high_e8: e8("0.80000000"),
            low_e8: e8("0.01575800"),
            close_e8: e8("0.01577100"),
            volume_e8: e8("148976.11427815"),
            trades: 308,
            quote_volume_e8: i128::from(e8("2434.19055334")),
            taker_buy_volume_e8: e8("1756.87402397"),
            taker_buy_quote_e8: i128::from(e8("28.46694368")),
        };
        let mut s = String::new();
        kline_row(&mut s, &k);
        cases.push((
            s,
            r#"[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]"#,
        ));
        // TC7: REST trades, documented sample (quoteQty with 8 decimals)
        let mut s = String::new();
        rest_trades(
            &mut s,
            &[RestTrade {
                id: 28457,
                price_e8: e8("4.00000100"),
                qty_e8: e8("12.00000000"),
                time_ms: 1499865549590,
                buyer_is_maker: true,
            }],
        );
        cases.push((
            s,
            r#"[{"id":28457,"price":"4.00000100","qty":"12.00000000","quoteQty":"48.00001200","time":1499865549590,"isBuyerMaker":true,"isBestMatch":true}]"#,
        ));
        // TC8: a real trades row (46410.42 * 0.00084 = 38.9847528)
        let mut s = String::new();
        rest_trades(
            &mut s,
            &[RestTrade {
                id: 1211494274,
                price_e8: e8("46410.42"),
                qty_e8: e8("0.00084"),
                time_ms: 1641391959278,
                buyer_is_maker: false,
            }],
        );
        cases.push((
            s,
            r#"[{"id":1211494274,"price":"46410.42000000","qty":"0.00084000","quoteQty":"38.98475280","time":1641391959278,"isBuyerMaker":false,"isBestMatch":true}]"#,
        ));
        for (i, (got, want)) in cases.iter().enumerate() {
            assert_eq!(got, want, "TC{i}");
            // Every body is valid JSON.
            serde_json::from_str::<serde_json::Value>(got)
                .unwrap_or_else(|e| panic!("TC{i}: invalid JSON: {e}"));
        }
    }

    #[test]
    fn empty_kline_uses_minus_one_ids() {
        // TC0: the shape of a real empty 1s kline (no trades: f = L = -1, n = 0)
        let k = KlineFields {
            open_ms: 1682244927000,
            close_ms: 1682244927999,
            first_trade_id: -1,
            last_trade_id: -1,
            open_e8: e8("1870.76"),
            high_e8: e8("1870.76"),
            low_e8: e8("1870.76"),
            close_e8: e8("1870.76"),
            volume_e8: 0,
            trades: 0,
            quote_volume_e8: 0,
            taker_buy_volume_e8: 0,
            taker_buy_quote_e8: 0,
        };
        let mut s = String::new();
        kline(
            &mut s,
            "ETHUSDT",
            1682244928001,
            KlineInterval::S1,
            &k,
            true,
        );
        assert_eq!(
            s,
            r#"{"e":"kline","E":1682244928001,"s":"ETHUSDT","k":{"t":1682244927000,"T":1682244927999,"s":"ETHUSDT","i":"1s","f":-1,"L":-1,"o":"1870.76000000","c":"1870.76000000","h":"1870.76000000","l":"1870.76000000","v":"0.00000000","n":0,"x":true,"q":"0.00000000","V":"0.00000000","Q":"0.00000000","B":"0"}}"#
        );
    }
}
