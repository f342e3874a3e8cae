//! exchangeInfo filters of the symbols the simulator serves.
//!
//! The table holds Binance spot's published `PRICE_FILTER`, `LOT_SIZE` and `NOTIONAL`
//! values for the symbols of the bundled data, as `GET /api/v3/exchangeInfo` prints them
//! (8-decimal strings). Sources: Binance's exchangeInfo answers as quoted in public code
//! (a BTCUSDT symbol dump with `minPrice "0.01000000"`, `maxPrice "1000000.00000000"`; a
//! ccxt market export for BTC/USDT: price 0.01..1000000, amount 0.00001..9000; per-symbol
//! step/tick tables for BTC 0.00001/0.01, ETH 0.0001/0.01, XRP 1/0.0001, DOGE 1/0.00001,
//! ADA 0.1); the remaining limits (`maxPrice`, `maxQty`, `maxNotional`) are the values
//! exchangeInfo carried for these symbols in 2024. They matter to the sim only as
//! exchangeInfo text and as the grid its synthetic trades and book use.
//!
//! A symbol not in the table gets derived filters (see [`derived`]): its tickSize is the
//! price increment of its data, its stepSize [`DEFAULT_STEP_SIZE`].

use crate::sim::source::SymbolInfo;

/// stepSize given to a symbol that is not in the table: `0.00001` (BTCUSDT's). Fine
/// enough that any realistic volume quantizes with negligible loss; an order-entry
/// simulator that needs the real value should add the symbol to the table.
pub const DEFAULT_STEP_SIZE: &str = "0.00001000";

/// Quote assets recognised when a derived symbol is split into base and quote, longest
/// first so that `FDUSD` wins over `USD`-like suffixes.
const QUOTES: [&str; 10] = [
    "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY",
];

/// (symbol, base, quote, tickSize, maxPrice, stepSize, maxQty, minNotional, maxNotional)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// Published filters (see the module doc). `minPrice == tickSize` and
/// `minQty == stepSize` for every one of these symbols.
const TABLE: [Row; 7] = [
    (
        "BTCUSDT",
        "BTC",
        "USDT",
        "0.01000000",
        "1000000.00000000",
        "0.00001000",
        "9000.00000000",
        "5.00000000",
        "9000000.00000000",
    ),
    (
        "ETHUSDT",
        "ETH",
        "USDT",
        "0.01000000",
        "1000000.00000000",
        "0.00010000",
        "9000.00000000",
        "5.00000000",
        "9000000.00000000",
    ),
    (
        "SOLUSDT",
        "SOL",
        "USDT",
        "0.01000000",
        "10000.00000000",
        "0.00100000",
        "9000000.00000000",
        "5.00000000",
        "9000000.00000000",
    ),
    (
        "BNBUSDT",
        "BNB",
        "USDT",
        "0.01000000",
        "100000.00000000",
        "0.00100000",
        "900000.00000000",
        "5.00000000",
        "9000000.00000000",
    ),
    (
        "ADAUSDT",
        "ADA",
        "USDT",
        "0.00010000",
        "1000.00000000",
        "0.10000000",
        "900000.00000000",
        "5.00000000",
        "9000000.00000000",
    ),
    (
        "XRPUSDT",
        "XRP",
        "USDT",
        "0.00010000",
        "1000.00000000",
        "1.00000000",
        "9222449.00000000",
        "5.00000000",
        "9000000.00000000",
    ),
    (
        "DOGEUSDT",
        "DOGE",
        "USDT",
        "0.00001000",
        "1000.00000000",
        "1.00000000",
        "9000000.00000000",
        "5.00000000",
        "9000000.00000000",
    ),
];

/// The published filters of `symbol` (upper case), if it is in the table.
pub fn known(symbol: &str) -> Option<SymbolInfo> {
    let row = TABLE.iter().find(|row| row.0 == symbol)?;
    let (symbol, base, quote, tick, max_price, step, max_qty, min_notional, max_notional) = *row;
    Some(SymbolInfo {
        symbol: symbol.to_string(),
        base_asset: base.to_string(),
        quote_asset: quote.to_string(),
        base_precision: 8,
        quote_precision: 8,
        tick_size: tick.to_string(),
        min_price: tick.to_string(),
        max_price: max_price.to_string(),
        step_size: step.to_string(),
        min_qty: step.to_string(),
        max_qty: max_qty.to_string(),
        min_notional: min_notional.to_string(),
        max_notional: max_notional.to_string(),
    })
}

/// Filters for a symbol that is not in the table, from what its data shows:
/// * tickSize `10^-price_decimals` (the finest price increment of the data; capped at 8);
/// * stepSize [`DEFAULT_STEP_SIZE`], minQty the same, maxQty `9000000`;
/// * minPrice the tick, maxPrice `1000000`;
/// * minNotional `5` for a USD-like quote, `0.0001` for BTC, `0.001` for ETH, `0.01`
///   for BNB and other quotes (Binance's usual minimums), maxNotional `9000000`;
/// * base/quote split on a known quote suffix (`ADABTC` -> `ADA`/`BTC`); an unknown
///   suffix leaves the quote empty.
pub fn derived(symbol: &str, price_decimals: u8) -> SymbolInfo {
    let decimals = price_decimals.min(8);
    let tick = format_power_of_ten(decimals);
    let (base, quote) = QUOTES
        .iter()
        .find(|q| symbol.len() > q.len() && symbol.ends_with(*q))
        .map_or((symbol, ""), |q| (&symbol[..symbol.len() - q.len()], *q));
    let min_notional = match quote {
        "BTC" => "0.00010000",
        "ETH" => "0.00100000",
        "BNB" | "" => "0.01000000",
        _ => "5.00000000",
    };
    SymbolInfo {
        symbol: symbol.to_string(),
        base_asset: base.to_string(),
        quote_asset: quote.to_string(),
        base_precision: 8,
        quote_precision: 8,
        tick_size: tick.clone(),
        min_price: tick,
        max_price: "1000000.00000000".to_string(),
        step_size: DEFAULT_STEP_SIZE.to_string(),
        min_qty: DEFAULT_STEP_SIZE.to_string(),
        max_qty: "9000000.00000000".to_string(),
        min_notional: min_notional.to_string(),
        max_notional: "9000000.00000000".to_string(),
    }
}

/// The table's filters for `symbol`, else [`derived`] ones.
pub fn lookup(symbol: &str, price_decimals: u8) -> SymbolInfo {
    known(symbol).unwrap_or_else(|| derived(symbol, price_decimals))
}

/// Decimals of a power-of-ten price increment given as `f64` (a kline series'
/// `mintick`, `1` .. `1e-8`); 8 when it is none of those.
pub fn decimals_of_mintick(mintick: f64) -> u8 {
    (0u8..=8)
        .find(|&d| (mintick * 10f64.powi(i32::from(d)) - 1.0).abs() < 1e-6)
        .unwrap_or(8)
}

/// `10^-decimals` with 8 decimals (`"0.01000000"`).
fn format_power_of_ten(decimals: u8) -> String {
    let mut out = String::new();
    super::json::push_e8(&mut out, 10i64.pow(8 - u32::from(decimals.min(8))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::fixed::Increment;

    #[test]
    fn table_is_well_formed() {
        for (i, row) in TABLE.iter().enumerate() {
            // TC(i): every filter parses and every value has Binance's 8 decimals
            let info = known(row.0).unwrap_or_else(|| panic!("TC{i}"));
            for text in [
                &info.tick_size,
                &info.min_price,
                &info.max_price,
                &info.step_size,
                &info.min_qty,
                &info.max_qty,
                &info.min_notional,
                &info.max_notional,
            ] {
                assert_eq!(
                    text.split('.').nth(1).map(str::len),
                    Some(8),
                    "TC{i}: {text}"
                );
                assert!(Increment::parse(text).is_ok(), "TC{i}: {text}");
            }
            assert_eq!(
                format!("{}{}", info.base_asset, info.quote_asset),
                info.symbol,
                "TC{i}"
            );
        }
    }

    #[test]
    fn derived_table() {
        let cases: &[(&str, u8, &str, &str, &str, &str)] = &[
            // TC0: a *BTC pair with 8-decimal prices
            ("ADABTC", 8, "ADA", "BTC", "0.00000001", "0.00010000"),
            // TC1: a USDT pair with 3-decimal prices
            ("LINKUSDT", 3, "LINK", "USDT", "0.00100000", "5.00000000"),
            // TC2: integer prices
            ("ABCUSDC", 0, "ABC", "USDC", "1.00000000", "5.00000000"),
            // TC3: unknown quote
            ("FOOBAR", 2, "FOOBAR", "", "0.01000000", "0.01000000"),
            // TC4: more than 8 decimals is capped
            ("XYZETH", 12, "XYZ", "ETH", "0.00000001", "0.00100000"),
        ];
        for (i, (symbol, dec, base, quote, tick, notional)) in cases.iter().enumerate() {
            let info = derived(symbol, *dec);
            assert_eq!(info.base_asset, *base, "TC{i}");
            assert_eq!(info.quote_asset, *quote, "TC{i}");
            assert_eq!(info.tick_size, *tick, "TC{i}");
            assert_eq!(info.min_notional, *notional, "TC{i}");
            assert_eq!(info.step_size, DEFAULT_STEP_SIZE, "TC{i}");
        }
        // TC5: table symbols win over derivation
        assert_eq!(lookup("BTCUSDT", 8).tick_size, "0.01000000", "TC5");
    }

    #[test]
    fn mintick_decimals() {
        let cases: &[(f64, u8)] = &[(1.0, 0), (0.01, 2), (1e-5, 5), (1e-8, 8), (0.3, 8)];
        for (i, (tick, want)) in cases.iter().enumerate() {
            // TC(i)
            assert_eq!(decimals_of_mintick(*tick), *want, "TC{i}");
        }
    }
}
