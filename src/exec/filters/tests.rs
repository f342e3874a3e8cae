//! Table-driven tests of the filters on real BTCUSDT / ETHUSDT exchangeInfo entries, and
//! property tests of the rounding.

use super::*;
use crate::feed::fixed::parse_units;
use proptest::prelude::*;

/// BTCUSDT's `symbols[0]` entry as `GET /api/v3/exchangeInfo?symbol=BTCUSDT` prints it
/// (2024 values; PRICE_FILTER, LOT_SIZE and NOTIONAL agree with
/// `src/sim/market/symbols.rs`). Trimmed of the fields the filters do not read, plus a
/// `MAX_POSITION`-like filter the module does not enforce.
pub(super) const BTCUSDT: &str = r#"{
  "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
  "filters": [
    {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
    {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
    {"filterType": "ICEBERG_PARTS", "limit": 10},
    {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "115.46151302", "stepSize": "0.00000000"},
    {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000, "minTrailingBelowDelta": 10, "maxTrailingBelowDelta": 2000},
    {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "5", "bidMultiplierDown": "0.2", "askMultiplierUp": "5", "askMultiplierDown": "0.2", "avgPriceMins": 5},
    {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true, "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5},
    {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
    {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
    {"filterType": "MAX_NUM_ORDER_AMENDS", "maxNumOrderAmends": 10}
  ]
}"#;

/// ETHUSDT, same shape, with the legacy `MIN_NOTIONAL` and `PERCENT_PRICE` filters in
/// place of `NOTIONAL` / `PERCENT_PRICE_BY_SIDE` (as older exchangeInfo answers and the
/// documentation's samples have them) and a market step of 0.001.
const ETHUSDT: &str = r#"{
  "symbol": "ETHUSDT",
  "filters": [
    {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
    {"filterType": "PERCENT_PRICE", "multiplierUp": "1.3000", "multiplierDown": "0.7000", "avgPriceMins": 5},
    {"filterType": "LOT_SIZE", "minQty": "0.00010000", "maxQty": "9000.00000000", "stepSize": "0.00010000"},
    {"filterType": "MIN_NOTIONAL", "minNotional": "5.00000000", "applyToMarket": false, "avgPriceMins": 5},
    {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00100000", "maxQty": "1000.00000000", "stepSize": "0.00100000"},
    {"filterType": "MAX_NUM_ICEBERG_ORDERS", "maxNumIcebergOrders": 5},
    {"filterType": "MAX_POSITION", "maxPosition": "10.00000000"}
  ]
}"#;

fn btc() -> SymbolFilters {
    SymbolFilters::from_json(BTCUSDT).expect("BTCUSDT sample parses")
}

fn eth() -> SymbolFilters {
    SymbolFilters::from_json(ETHUSDT).expect("ETHUSDT sample parses")
}

/// An entry with PRICE_FILTER/LOT_SIZE of BTCUSDT and `extra` filters appended.
fn with_filters(extra: &str) -> Result<SymbolFilters, FiltersError> {
    SymbolFilters::from_json(&format!(
        r#"{{"symbol":"X","filters":[
        {{"filterType":"PRICE_FILTER","minPrice":"0.01","maxPrice":"1000000","tickSize":"0.01"}},
        {{"filterType":"LOT_SIZE","minQty":"0.00001","maxQty":"9000","stepSize":"0.00001"}}{extra}]}}"#
    ))
}

fn failed(filter: FilterType, violation: Violation) -> Result<(), FilterError> {
    Err(FilterError::Failed { filter, violation })
}

#[test]
fn btcusdt_sample_parses_to_the_grid() {
    let f = btc();
    assert_eq!(f.symbol(), "BTCUSDT");
    assert_eq!((f.tick_size().units(), f.tick_size().decimals()), (1, 2));
    assert_eq!((f.step_size().units(), f.step_size().decimals()), (1, 5));
    // 0.01 .. 1000000.00 in ticks of 0.01.
    assert_eq!(
        f.price_rule(),
        RangeRule {
            min: 1,
            max: 100_000_000,
            step: 1
        }
    );
    // 0.00001 .. 9000 in lots of 0.00001.
    assert_eq!(
        f.lot_rule(),
        RangeRule {
            min: 1,
            max: 900_000_000,
            step: 1
        }
    );
    // maxQty 115.46151302 floors to 115.46151; minQty and stepSize 0 are disabled.
    assert_eq!(
        f.market_lot_rule(),
        Some(RangeRule {
            min: 0,
            max: 11_546_151,
            step: 1
        })
    );
    // 5 USDT = 5 / (0.01 * 0.00001) tick-lots; 9e6 USDT likewise.
    let n = f.notional_rule().expect("NOTIONAL");
    assert_eq!(n.min_tick_lots, 50_000_000);
    assert_eq!(n.max_tick_lots, 90_000_000_000_000);
    assert!(n.apply_min_to_market && !n.apply_max_to_market);
    assert_eq!(n.avg_price_mins, 5);
    let pp = f
        .percent_price_by_side_rule()
        .expect("PERCENT_PRICE_BY_SIDE");
    assert_eq!(
        pp.bid_down,
        Multiplier {
            units: 2,
            decimals: 1
        }
    );
    assert_eq!(f.max_num_orders(), Some(200));
    assert_eq!(f.ignored_filters(), ["MAX_NUM_ORDER_AMENDS".to_string()]);
}

#[test]
fn ethusdt_sample_parses_to_the_grid() {
    let f = eth();
    // Market step 0.001 = 10 lots of 0.0001; minQty 0.001 = 10 lots.
    assert_eq!(
        f.market_lot_rule(),
        Some(RangeRule {
            min: 10,
            max: 10_000_000,
            step: 10
        })
    );
    let mn = f.min_notional_rule().expect("MIN_NOTIONAL");
    // 5 / (0.01 * 0.0001) = 5_000_000 tick-lots.
    assert_eq!(mn.min_tick_lots, 5_000_000);
    assert!(!mn.apply_min_to_market);
    assert_eq!(f.ignored_filters(), ["MAX_POSITION".to_string()]);
}

#[test]
fn parse_error_table() {
    type Check = fn(&FiltersError) -> bool;
    let cases: &[(&str, Check)] = &[
        // TC0: not JSON
        ("{", |e| matches!(e, FiltersError::Json(_))),
        // TC1: no filters array
        (r#"{"symbol":"X"}"#, |e| {
            matches!(e, FiltersError::Shape { .. })
        }),
        // TC2: no PRICE_FILTER
        (
            r#"{"symbol":"X","filters":[{"filterType":"LOT_SIZE","minQty":"1","maxQty":"2","stepSize":"1"}]}"#,
            |e| {
                matches!(
                    e,
                    FiltersError::MissingFilter {
                        filter: "PRICE_FILTER",
                        ..
                    }
                )
            },
        ),
        // TC3: tickSize 0 (disabled) leaves no grid
        (
            r#"{"symbol":"X","filters":[{"filterType":"PRICE_FILTER","minPrice":"0","maxPrice":"0","tickSize":"0.00000000"},{"filterType":"LOT_SIZE","minQty":"1","maxQty":"2","stepSize":"1"}]}"#,
            |e| {
                matches!(
                    e,
                    FiltersError::Value {
                        field: "tickSize",
                        ..
                    }
                )
            },
        ),
        // TC4: a number where a decimal string is expected
        (
            r#"{"symbol":"X","filters":[{"filterType":"PRICE_FILTER","minPrice":0.01,"maxPrice":"0","tickSize":"0.01"},{"filterType":"LOT_SIZE","minQty":"1","maxQty":"2","stepSize":"1"}]}"#,
            |e| {
                matches!(
                    e,
                    FiltersError::Field {
                        field: "minPrice",
                        ..
                    }
                )
            },
        ),
        // TC5: a malformed decimal
        (
            r#"{"symbol":"X","filters":[{"filterType":"PRICE_FILTER","minPrice":"-1","maxPrice":"0","tickSize":"0.01"},{"filterType":"LOT_SIZE","minQty":"1","maxQty":"2","stepSize":"1"}]}"#,
            |e| {
                matches!(
                    e,
                    FiltersError::Decimal {
                        field: "minPrice",
                        source: FixedError::Invalid,
                        ..
                    }
                )
            },
        ),
        // TC6: a filter without filterType
        (r#"{"symbol":"X","filters":[{"minPrice":"1"}]}"#, |e| {
            matches!(e, FiltersError::Shape { .. })
        }),
    ];
    for (i, (text, check)) in cases.iter().enumerate() {
        match SymbolFilters::from_json(text) {
            Err(e) => assert!(check(&e), "TC{i}: wrong error {e:?}"),
            Ok(f) => panic!("TC{i}: parsed {f:?}"),
        }
    }
    // The errors say where: symbol, filter and field.
    let msg = SymbolFilters::from_json(cases[5].0)
        .expect_err("TC5 fails")
        .to_string();
    assert!(msg.contains("X: PRICE_FILTER.minPrice"), "{msg}");
}

#[test]
fn optional_filter_error_table() {
    type Check = fn(&FiltersError) -> bool;
    let cases: &[(&str, Check)] = &[
        // TC0: duplicate filter
        (
            r#",{"filterType":"MAX_NUM_ORDERS","maxNumOrders":1},{"filterType":"MAX_NUM_ORDERS","maxNumOrders":2}"#,
            |e| {
                matches!(
                    e,
                    FiltersError::Duplicate {
                        filter: "MAX_NUM_ORDERS",
                        ..
                    }
                )
            },
        ),
        // TC1: NOTIONAL without applyMinToMarket
        (
            r#",{"filterType":"NOTIONAL","minNotional":"5","maxNotional":"10","applyMaxToMarket":false}"#,
            |e| {
                matches!(
                    e,
                    FiltersError::Field {
                        field: "applyMinToMarket",
                        ..
                    }
                )
            },
        ),
        // TC2: market step not a whole number of lot steps
        (
            r#",{"filterType":"MARKET_LOT_SIZE","minQty":"0","maxQty":"0","stepSize":"0.000015"}"#,
            |e| {
                matches!(
                    e,
                    FiltersError::Value {
                        field: "stepSize",
                        ..
                    }
                )
            },
        ),
        // TC3: count that is not an integer
        (r#",{"filterType":"ICEBERG_PARTS","limit":"ten"}"#, |e| {
            matches!(e, FiltersError::Field { field: "limit", .. })
        }),
        // TC4: multiplier with more than 18 decimals
        (
            r#",{"filterType":"PERCENT_PRICE","multiplierUp":"1.0000000000000000001","multiplierDown":"0.5"}"#,
            |e| {
                matches!(
                    e,
                    FiltersError::Value {
                        field: "multiplierUp",
                        ..
                    }
                )
            },
        ),
    ];
    for (i, (extra, check)) in cases.iter().enumerate() {
        match with_filters(extra) {
            Err(e) => assert!(check(&e), "TC{i}: wrong error {e:?}"),
            Ok(f) => panic!("TC{i}: parsed {f:?}"),
        }
    }
}

#[test]
fn limits_off_the_grid_round_inwards() {
    // minPrice 0.015 with tick 0.01 -> 2 ticks; maxPrice 9.999 -> 999 ticks; a notional
    // min of 0.00000015 (1.5 tick-lots of 1e-7) -> 2; max 0.00000025 -> 2.
    let f = SymbolFilters::from_json(
        r#"{"symbol":"X","filters":[
        {"filterType":"PRICE_FILTER","minPrice":"0.015","maxPrice":"9.999","tickSize":"0.01"},
        {"filterType":"LOT_SIZE","minQty":"0","maxQty":"0","stepSize":"0.00001"},
        {"filterType":"NOTIONAL","minNotional":"0.00000015","applyMinToMarket":false,"maxNotional":"0.00000025","applyMaxToMarket":false}]}"#,
    )
    .expect("parses");
    assert_eq!(
        f.price_rule(),
        RangeRule {
            min: 2,
            max: 999,
            step: 1
        }
    );
    assert_eq!(
        f.lot_rule(),
        RangeRule {
            min: 0,
            max: i64::MAX,
            step: 1
        }
    );
    let n = f.notional_rule().expect("NOTIONAL");
    assert_eq!((n.min_tick_lots, n.max_tick_lots), (2, 2));
}

#[test]
fn round_price_table() {
    let f = btc();
    let five = SymbolFilters::from_json(
        r#"{"symbol":"Y","filters":[
        {"filterType":"PRICE_FILTER","minPrice":"0","maxPrice":"0","tickSize":"0.005"},
        {"filterType":"LOT_SIZE","minQty":"0","maxQty":"0","stepSize":"1"}]}"#,
    )
    .expect("tick 0.005 parses");
    use Rounding::*;
    let cases: &[(&SymbolFilters, &str, Rounding, Result<i64, RoundError>)] = &[
        // TC0: on the grid, every mode leaves it alone
        (&f, "61837.63", Down, Ok(6_183_763)),
        // TC1: on the grid, up
        (&f, "61837.63000000", Up, Ok(6_183_763)),
        // TC2: on the grid, nearest
        (&f, "61837.63", Nearest, Ok(6_183_763)),
        // TC3: between ticks, down
        (&f, "61837.639", Down, Ok(6_183_763)),
        // TC4: between ticks, up
        (&f, "61837.631", Up, Ok(6_183_764)),
        // TC5: below half, nearest
        (&f, "61837.634999", Nearest, Ok(6_183_763)),
        // TC6: exactly half goes up
        (&f, "61837.635", Nearest, Ok(6_183_764)),
        // TC7: below one tick rounds down to zero ticks
        (&f, "0.009", Down, Ok(0)),
        // TC8: a tick that is not a power of ten: 0.012 -> 2 ticks of 0.005 (down)
        (&five, "0.012", Down, Ok(2)),
        // TC9: 0.0125 is exactly half of 0.010..0.015: nearest goes up
        (&five, "0.0125", Nearest, Ok(3)),
        // TC10: bad text
        (
            &f,
            "1e5",
            Down,
            Err(RoundError::Decimal(FixedError::Invalid)),
        ),
        // TC11: too large for i64 ticks
        (&f, "99999999999999999999", Down, Err(RoundError::Overflow)),
        // TC12: many decimals
        (&f, "1.000000000000000000000000000001", Up, Ok(101)),
    ];
    for (i, (f, text, mode, want)) in cases.iter().enumerate() {
        assert_eq!(
            f.round_price(text.as_bytes(), *mode),
            *want,
            "TC{i}: {text}"
        );
    }
    let scaled: &[(i64, u8, Rounding, Result<i64, RoundError>)] = &[
        // TC0: 61837.635 as 61837635e-3, down
        (61_837_635, 3, Down, Ok(6_183_763)),
        // TC1: nearest
        (61_837_635, 3, Nearest, Ok(6_183_764)),
        // TC2: fewer decimals than the tick
        (7, 0, Down, Ok(700)),
        // TC3: negative
        (-1, 2, Down, Err(RoundError::Negative)),
    ];
    for (i, (m, d, mode, want)) in scaled.iter().enumerate() {
        assert_eq!(f.round_price_scaled(*m, *d, *mode), *want, "scaled TC{i}");
    }
}

#[test]
fn floor_qty_table() {
    let f = btc();
    let e = eth();
    let cases: &[(&SymbolFilters, &str, Result<i64, RoundError>)] = &[
        // TC0: on the grid
        (&f, "0.00123000", Ok(123)),
        // TC1: never rounds up, even at .99999
        (&f, "0.001239999", Ok(123)),
        // TC2: below one lot
        (&f, "0.000009", Ok(0)),
        // TC3: ETH lots of 0.0001
        (&e, "1.23456789", Ok(12_345)),
        // TC4: bad text
        (&f, "", Err(RoundError::Decimal(FixedError::Empty))),
    ];
    for (i, (f, text, want)) in cases.iter().enumerate() {
        assert_eq!(f.floor_qty(text.as_bytes()), *want, "TC{i}: {text}");
    }
    assert_eq!(f.floor_qty_scaled(123_999, 8), Ok(123), "scaled TC0");
    assert_eq!(
        f.floor_qty_scaled(-5, 8),
        Err(RoundError::Negative),
        "scaled TC1"
    );
    // Market step of 0.001 on ETH = 10 lots.
    let market: &[(i64, i64)] = &[
        // TC0: on the market grid
        (120, 120),
        // TC1: floors
        (129, 120),
        // TC2: below one market step
        (9, 0),
    ];
    for (i, (lots, want)) in market.iter().enumerate() {
        assert_eq!(e.floor_market_qty(*lots), *want, "market TC{i}");
    }
    // BTC has no market step of its own.
    assert_eq!(f.floor_market_qty(12_345), 12_345, "market TC3");
}

#[test]
fn check_btcusdt_table() {
    let f = btc();
    use FilterType::*;
    use Violation::*;
    let ctx = CheckContext {
        ref_price_ticks: 6_000_000, // 60000.00
        open_orders: 0,
        open_algo_orders: 0,
        open_iceberg_orders: 0,
    };
    let lim = OrderRequest::limit;
    let mkt = OrderRequest::market;
    let stop = |side, kind, price_ticks, stop_price_ticks, trailing| OrderRequest {
        side,
        kind,
        price_ticks,
        stop_price_ticks,
        qty_lots: 1_000,
        iceberg_qty_lots: 0,
        trailing_delta_bips: trailing,
    };
    let ice = |qty_lots, iceberg_qty_lots| OrderRequest {
        iceberg_qty_lots,
        ..lim(Side::Buy, 6_000_000, qty_lots)
    };
    let b = Side::Buy;
    let s = Side::Sell;
    let cases: &[(OrderRequest, CheckContext, Result<(), FilterError>)] = &[
        // TC0: an ordinary order passes
        (lim(b, 6_000_000, 100), ctx, Ok(())),
        // TC1: PRICE_FILTER: zero price
        (lim(b, 0, 100), ctx, failed(PriceFilter, BelowMin)),
        // TC2: PRICE_FILTER: exactly at maxPrice (but PERCENT_PRICE_BY_SIDE would refuse,
        // so the reference is raised)
        (
            lim(s, 100_000_000, 100),
            CheckContext {
                ref_price_ticks: 50_000_000,
                ..ctx
            },
            Ok(()),
        ),
        // TC3: PRICE_FILTER: one tick above maxPrice
        (lim(s, 100_000_001, 100), ctx, failed(PriceFilter, AboveMax)),
        // TC4: PERCENT_PRICE_BY_SIDE: buy at exactly 5x the reference passes
        (lim(b, 30_000_000, 100), ctx, Ok(())),
        // TC5: one tick above 5x fails
        (
            lim(b, 30_000_001, 1),
            ctx,
            failed(PercentPriceBySide, AboveMax),
        ),
        // TC6: sell at exactly 0.2x passes (notional 12000 * 0.001 = 12 USDT)
        (lim(s, 1_200_000, 100), ctx, Ok(())),
        // TC7: one tick below 0.2x fails
        (
            lim(s, 1_199_999, 100),
            ctx,
            failed(PercentPriceBySide, BelowMin),
        ),
        // TC8: no reference price known
        (
            lim(b, 6_000_000, 100),
            CheckContext {
                ref_price_ticks: 0,
                ..ctx
            },
            Err(FilterError::NoReferencePrice(PercentPriceBySide)),
        ),
        // TC9: LOT_SIZE: zero quantity
        (lim(b, 6_000_000, 0), ctx, failed(LotSize, BelowMin)),
        // TC10: LOT_SIZE: exactly maxQty (notional 60000 * 9000 = 5.4e8 > maxNotional)
        (
            lim(b, 6_000_000, 900_000_000),
            ctx,
            failed(Notional, AboveMax),
        ),
        // TC11: LOT_SIZE: one lot above maxQty
        (
            lim(b, 6_000_000, 900_000_001),
            ctx,
            failed(LotSize, AboveMax),
        ),
        // TC12: NOTIONAL: exactly 5 USDT (1 lot at 500000.00)
        (
            lim(b, 50_000_000, 1),
            CheckContext {
                ref_price_ticks: 50_000_000,
                ..ctx
            },
            Ok(()),
        ),
        // TC13: NOTIONAL: one tick under 5 USDT
        (
            lim(b, 49_999_999, 1),
            CheckContext {
                ref_price_ticks: 50_000_000,
                ..ctx
            },
            failed(Notional, BelowMin),
        ),
        // TC14: NOTIONAL: exactly 9,000,000 USDT passes (150 BTC at 60000)
        (lim(b, 6_000_000, 15_000_000), ctx, Ok(())),
        // TC15: NOTIONAL: one lot above fails
        (
            lim(b, 6_000_000, 15_000_001),
            ctx,
            failed(Notional, AboveMax),
        ),
        // TC16: market order: min notional applies to market (avg price), 8 lots at
        // 60000 = 4.8 USDT
        (mkt(b, 8), ctx, failed(Notional, BelowMin)),
        // TC17: market: 9 lots = 5.4 USDT passes
        (mkt(b, 9), ctx, Ok(())),
        // TC18: market: max notional does not apply to market, but MARKET_LOT_SIZE max
        // (115.46151) does: exactly at it passes
        (mkt(s, 11_546_151), ctx, Ok(())),
        // TC19: MARKET_LOT_SIZE: one lot above
        (mkt(s, 11_546_152), ctx, failed(MarketLotSize, AboveMax)),
        // TC20: market order without reference price
        (
            mkt(b, 9),
            CheckContext {
                ref_price_ticks: 0,
                ..ctx
            },
            Err(FilterError::NoReferencePrice(Notional)),
        ),
        // TC21: MAX_NUM_ORDERS: 199 open, one more is the 200th
        (
            lim(b, 6_000_000, 100),
            CheckContext {
                open_orders: 199,
                ..ctx
            },
            Ok(()),
        ),
        // TC22: MAX_NUM_ORDERS: 200 open
        (
            lim(b, 6_000_000, 100),
            CheckContext {
                open_orders: 200,
                ..ctx
            },
            failed(MaxNumOrders, TooManyOpen),
        ),
        // TC23: MAX_NUM_ALGO_ORDERS: 5 open algo orders refuse a stop-limit
        (
            stop(s, OrderKind::StopLossLimit, 5_900_000, 5_950_000, 0),
            CheckContext {
                open_algo_orders: 5,
                ..ctx
            },
            failed(MaxNumAlgoOrders, TooManyOpen),
        ),
        // TC24: ... but not a plain limit
        (
            lim(b, 6_000_000, 100),
            CheckContext {
                open_algo_orders: 5,
                ..ctx
            },
            Ok(()),
        ),
        // TC25: stopPrice above maxPrice fails PRICE_FILTER
        (
            stop(s, OrderKind::StopLossLimit, 5_900_000, 100_000_001, 0),
            ctx,
            failed(PriceFilter, AboveMax),
        ),
        // TC26: TRAILING_DELTA: stop-loss sell is "below": 10 passes
        (stop(s, OrderKind::StopLoss, 0, 0, 10), ctx, Ok(())),
        // TC27: 9 fails
        (
            stop(s, OrderKind::StopLoss, 0, 0, 9),
            ctx,
            failed(TrailingDelta, BelowMin),
        ),
        // TC28: take-profit-limit sell is "above": 2001 fails
        (
            stop(s, OrderKind::TakeProfitLimit, 6_100_000, 0, 2_001),
            ctx,
            failed(TrailingDelta, AboveMax),
        ),
        // TC29: ICEBERG_PARTS: 10 parts passes
        (ice(1_000, 100), ctx, Ok(())),
        // TC30: 11 parts (ceil(1001 / 100)) fails
        (ice(1_001, 100), ctx, failed(IcebergParts, TooManyParts)),
        // TC31: iceberg quantity below LOT_SIZE min
        (ice(1_000, -1), ctx, failed(LotSize, BelowMin)),
        // TC32: negative quantity
        (lim(b, 6_000_000, -5), ctx, failed(LotSize, BelowMin)),
    ];
    for (i, (order, ctx, want)) in cases.iter().enumerate() {
        assert_eq!(f.check(order, ctx), *want, "TC{i}: {order:?}");
    }
}

#[test]
fn check_ethusdt_legacy_table() {
    let f = eth();
    use FilterType::*;
    use Violation::*;
    let ctx = CheckContext {
        ref_price_ticks: 300_000, // 3000.00
        ..CheckContext::default()
    };
    let lim = OrderRequest::limit;
    let mkt = OrderRequest::market;
    let b = Side::Buy;
    let s = Side::Sell;
    let cases: &[(OrderRequest, CheckContext, Result<(), FilterError>)] = &[
        // TC0: PERCENT_PRICE up: exactly 1.3x = 3900.00 passes
        (lim(b, 390_000, 100), ctx, Ok(())),
        // TC1: one tick above 1.3x
        (lim(b, 390_001, 100), ctx, failed(PercentPrice, AboveMax)),
        // TC2: exactly 0.7x = 2100.00 (same for sells)
        (lim(s, 210_000, 100), ctx, Ok(())),
        // TC3: one tick below 0.7x
        (lim(s, 209_999, 100), ctx, failed(PercentPrice, BelowMin)),
        // TC4: MIN_NOTIONAL: exactly 5 USDT: 3000.00 * 0.0017 = 5.1, 2500.00 * 0.002 = 5
        (lim(b, 250_000, 20), ctx, Ok(())),
        // TC5: one tick under 5 USDT
        (lim(b, 249_999, 20), ctx, failed(MinNotional, BelowMin)),
        // TC6: MIN_NOTIONAL does not apply to market (applyToMarket false); MARKET_LOT_SIZE
        // min 0.001 = 10 lots passes
        (mkt(b, 10), ctx, Ok(())),
        // TC7: below MARKET_LOT_SIZE min, though LOT_SIZE would allow it
        (mkt(b, 9), ctx, failed(MarketLotSize, BelowMin)),
        // TC8: off the market step
        (mkt(b, 15), ctx, failed(MarketLotSize, OffStep)),
        // TC9: a limit order is not held to the market step
        (lim(b, 300_000, 25), ctx, Ok(())),
        // TC10: MAX_NUM_ICEBERG_ORDERS: 5 open icebergs refuse an iceberg
        (
            OrderRequest {
                iceberg_qty_lots: 10,
                ..lim(b, 300_000, 50)
            },
            CheckContext {
                open_iceberg_orders: 5,
                ..ctx
            },
            failed(MaxNumIcebergOrders, TooManyOpen),
        ),
        // TC11: no MAX_NUM_ORDERS filter: any count passes
        (
            lim(b, 300_000, 100),
            CheckContext {
                open_orders: u32::MAX,
                ..ctx
            },
            Ok(()),
        ),
    ];
    for (i, (order, ctx, want)) in cases.iter().enumerate() {
        assert_eq!(f.check(order, ctx), *want, "TC{i}: {order:?}");
    }
}

#[test]
fn error_messages_are_binances() {
    let cases: &[(FilterType, &str)] = &[
        // TC0
        (FilterType::Notional, "Filter failure: NOTIONAL"),
        // TC1
        (FilterType::PriceFilter, "Filter failure: PRICE_FILTER"),
        // TC2
        (FilterType::LotSize, "Filter failure: LOT_SIZE"),
        // TC3
        (FilterType::MarketLotSize, "Filter failure: MARKET_LOT_SIZE"),
        // TC4
        (FilterType::MinNotional, "Filter failure: MIN_NOTIONAL"),
        // TC5
        (FilterType::MaxNumOrders, "Filter failure: MAX_NUM_ORDERS"),
    ];
    for (i, (ft, msg)) in cases.iter().enumerate() {
        let e = FilterError::Failed {
            filter: *ft,
            violation: Violation::BelowMin,
        };
        assert_eq!(e.to_string(), *msg, "TC{i}");
        assert_eq!(e.binance_code(), Some(-1013), "TC{i}");
        assert!(!e.is_retryable(), "TC{i}");
    }
    let busy = FilterError::Failed {
        filter: FilterType::MaxNumOrders,
        violation: Violation::TooManyOpen,
    };
    assert!(busy.is_retryable());
    let no_ref = FilterError::NoReferencePrice(FilterType::Notional);
    assert_eq!(no_ref.binance_code(), None);
    assert!(no_ref.is_retryable());
    assert_eq!(no_ref.filter(), FilterType::Notional);
}

/// Steps as exchangeInfo prints them, powers of ten and not.
fn any_step() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "0.00001000",
        "0.00010000",
        "0.00100000",
        "0.01000000",
        "0.10000000",
        "1.00000000",
        "10.00000000",
        "0.00500000",
        "0.25000000",
        "0.00000001",
    ])
}

fn filters_with_step(step: &str, min_lots: i64, max_lots: i64) -> SymbolFilters {
    let inc = Increment::parse(step).expect("valid step");
    let min = format_units(min_lots, inc);
    let max = format_units(max_lots, inc);
    SymbolFilters::from_json(&format!(
        r#"{{"symbol":"P","filters":[
        {{"filterType":"PRICE_FILTER","minPrice":"0","maxPrice":"0","tickSize":"{step}"}},
        {{"filterType":"LOT_SIZE","minQty":"{min}","maxQty":"{max}","stepSize":"{step}"}}]}}"#
    ))
    .expect("generated entry parses")
}

proptest! {
    /// A floored quantity is a whole number of steps, never above the input, and passes
    /// LOT_SIZE whenever the input is within [minQty, maxQty] (minQty on the grid).
    #[test]
    fn floored_qty_is_on_grid_below_input_and_passes_lot_size(
        step in any_step(),
        min_lots in 1i64..1_000,
        extra in 0i64..1_000_000,
        int in 0u64..1_000_000,
        frac in "[0-9]{0,12}",
    ) {
        let f = filters_with_step(step, min_lots, min_lots + extra);
        let text = if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") };
        let lots = f.floor_qty(text.as_bytes()).expect("rounds");
        let inc = f.step_size();
        // Exact comparison in units of 10^-30: input vs lots * step.
        let input = Decimal::parse(text.as_bytes()).expect("decimal");
        let scale = 30u32;
        let input_scaled = input.mantissa * 10u128.pow(scale - input.scale);
        let lots_scaled = u128::try_from(lots).expect("non-negative")
            * u128::try_from(inc.units()).expect("positive")
            * 10u128.pow(scale - u32::from(inc.decimals()));
        prop_assert!(lots_scaled <= input_scaled, "{} -> {} lots", text, lots);
        // The next step up is above the input: it really is the floor.
        let step_scaled = u128::try_from(inc.units()).expect("positive")
            * 10u128.pow(scale - u32::from(inc.decimals()));
        prop_assert!(lots_scaled + step_scaled > input_scaled);
        // On the grid: formats and parses back exactly.
        prop_assert_eq!(parse_units(f.format_qty(lots).as_bytes(), inc), Ok(lots));
        let min_scaled = u128::try_from(min_lots).expect("positive") * step_scaled;
        let max_scaled = u128::try_from(min_lots + extra).expect("positive") * step_scaled;
        if input_scaled >= min_scaled && input_scaled <= max_scaled {
            let order = OrderRequest::limit(Side::Buy, 1, lots);
            prop_assert_eq!(f.check(&order, &CheckContext::default()), Ok(()));
        }
    }

    /// Rounding never moves a value already on the grid, in any mode, for prices and
    /// quantities, as text or fixed point.
    #[test]
    fn on_grid_values_are_unchanged(step in any_step(), units in 0i64..i64::MAX / 1_000) {
        let f = filters_with_step(step, 1, 2);
        let text = f.format_price(units);
        for mode in [Rounding::Down, Rounding::Up, Rounding::Nearest] {
            prop_assert_eq!(f.round_price(text.as_bytes(), mode), Ok(units));
        }
        prop_assert_eq!(f.floor_qty(text.as_bytes()), Ok(units));
        let inc = f.tick_size();
        if let Some(m) = units.checked_mul(inc.units()) {
            prop_assert_eq!(f.round_price_scaled(m, inc.decimals(), Rounding::Up), Ok(units));
            prop_assert_eq!(f.floor_qty_scaled(m, inc.decimals()), Ok(units));
        }
    }

    /// Down <= Nearest <= Up, and Up - Down is 0 on the grid and 1 off it.
    #[test]
    fn rounding_modes_bracket_the_value(step in any_step(), m in 0i64..i64::MAX, d in 0u8..=18) {
        let f = filters_with_step(step, 1, 2);
        let down = f.round_price_scaled(m, d, Rounding::Down);
        let up = f.round_price_scaled(m, d, Rounding::Up);
        let near = f.round_price_scaled(m, d, Rounding::Nearest);
        if let (Ok(down), Ok(up), Ok(near)) = (down, up, near) {
            prop_assert!(down <= near && near <= up);
            prop_assert!(up - down <= 1);
        }
    }

    /// check never panics, whatever the order and context.
    #[test]
    fn check_never_panics(
        price in any::<i64>(), stop in any::<i64>(), qty in any::<i64>(), ice in any::<i64>(),
        delta in any::<u32>(), r in any::<i64>(), kind in 0usize..7, sell in any::<bool>(),
        open in any::<u32>(),
    ) {
        let kinds = [
            OrderKind::Limit, OrderKind::LimitMaker, OrderKind::Market, OrderKind::StopLoss,
            OrderKind::StopLossLimit, OrderKind::TakeProfit, OrderKind::TakeProfitLimit,
        ];
        let order = OrderRequest {
            side: if sell { Side::Sell } else { Side::Buy },
            kind: kinds[kind],
            price_ticks: price,
            stop_price_ticks: stop,
            qty_lots: qty,
            iceberg_qty_lots: ice,
            trailing_delta_bips: delta,
        };
        let ctx = CheckContext {
            ref_price_ticks: r,
            open_orders: open,
            open_algo_orders: open,
            open_iceberg_orders: open,
        };
        let _ = btc().check(&order, &ctx);
        let _ = eth().check(&order, &ctx);
    }
}
