//! Building [`SymbolFilters`] from one `GET /api/v3/exchangeInfo` `symbols[i]` entry, at
//! start-up (serde_json, allocating; never on the order thread).
//!
//! The shape, as Binance documents it (trimmed to the fields read here):
//!
//! ```json
//! {
//!   "symbol": "BTCUSDT",
//!   "filters": [
//!     {"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
//!      "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
//!     {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
//!      "stepSize": "0.00001000"},
//!     {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true,
//!      "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5}
//!   ]
//! }
//! ```
//!
//! Decimal limits are converted to the symbol's grid: minimums round up, maximums round
//! down (so a value on the grid passes the integer check exactly when it passes Binance's
//! decimal one); a limit of 0 disables it, as Binance's docs say.

use super::decimal::{Decimal, Rounding};
use super::{
    div_to_i128, FilterType, Multiplier, NotionalRule, PercentPriceRule, RangeRule, SymbolFilters,
    TrailingDeltaRule,
};
use crate::feed::fixed::{FixedError, Increment};
use serde_json::{Map, Value};
use thiserror::Error;

/// Why an exchangeInfo symbol entry could not be turned into [`SymbolFilters`]. Start-up
/// only: the engine should refuse to trade the symbol and say which filter and field.
#[derive(Debug, Error)]
pub enum FiltersError {
    /// The text was not JSON.
    #[error("exchangeInfo symbol entry is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The entry, its `filters` or one filter was not the JSON shape Binance documents.
    #[error("exchangeInfo symbol entry: {what}")]
    Shape {
        /// What was wrong.
        what: &'static str,
    },
    /// A filter the engine cannot trade without (`PRICE_FILTER`, `LOT_SIZE`) is absent.
    #[error("symbol {symbol}: no {filter} filter; prices and quantities need its grid")]
    MissingFilter {
        /// Symbol name.
        symbol: String,
        /// The absent filterType.
        filter: &'static str,
    },
    /// The same filterType appears twice.
    #[error("symbol {symbol}: {filter} appears twice")]
    Duplicate {
        /// Symbol name.
        symbol: String,
        /// The repeated filterType.
        filter: &'static str,
    },
    /// A field the filter needs is absent or has the wrong JSON type.
    #[error("symbol {symbol}: {filter}.{field} is missing or not a {expected}")]
    Field {
        /// Symbol name.
        symbol: String,
        /// filterType.
        filter: &'static str,
        /// Field name.
        field: &'static str,
        /// The JSON type expected.
        expected: &'static str,
    },
    /// A decimal field could not be read exactly.
    #[error("symbol {symbol}: {filter}.{field} = {text:?}: {source}")]
    Decimal {
        /// Symbol name.
        symbol: String,
        /// filterType.
        filter: &'static str,
        /// Field name.
        field: &'static str,
        /// The field's text.
        text: String,
        /// What was wrong with it.
        source: FixedError,
    },
    /// A value is well-formed but unusable (zero step, too large for the grid,
    /// `MARKET_LOT_SIZE.stepSize` not a whole number of `LOT_SIZE.stepSize`).
    #[error("symbol {symbol}: {filter}.{field} = {text:?}: {why}")]
    Value {
        /// Symbol name.
        symbol: String,
        /// filterType.
        filter: &'static str,
        /// Field name.
        field: &'static str,
        /// The field's text.
        text: String,
        /// Why it cannot be used.
        why: &'static str,
    },
}

/// A filter object being read, for error messages that name the symbol, filter and field.
struct Obj<'a> {
    symbol: &'a str,
    filter: &'static str,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    fn field_err(&self, field: &'static str, expected: &'static str) -> FiltersError {
        FiltersError::Field {
            symbol: self.symbol.to_string(),
            filter: self.filter,
            field,
            expected,
        }
    }

    fn value_err(&self, field: &'static str, text: &str, why: &'static str) -> FiltersError {
        FiltersError::Value {
            symbol: self.symbol.to_string(),
            filter: self.filter,
            field,
            text: text.to_string(),
            why,
        }
    }

    fn str(&self, field: &'static str) -> Result<&'a str, FiltersError> {
        self.map
            .get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| self.field_err(field, "decimal string"))
    }

    fn decimal(&self, field: &'static str) -> Result<(Decimal, &'a str), FiltersError> {
        let text = self.str(field)?;
        let dec = Decimal::parse(text.as_bytes()).map_err(|source| FiltersError::Decimal {
            symbol: self.symbol.to_string(),
            filter: self.filter,
            field,
            text: text.to_string(),
            source,
        })?;
        Ok((dec, text))
    }

    fn increment(&self, field: &'static str) -> Result<Increment, FiltersError> {
        let text = self.str(field)?;
        Increment::parse(text).map_err(|source| match source {
            FixedError::ZeroIncrement => self.value_err(
                field,
                text,
                "a step of zero (disabled) leaves no grid to round to",
            ),
            source => FiltersError::Decimal {
                symbol: self.symbol.to_string(),
                filter: self.filter,
                field,
                text: text.to_string(),
                source,
            },
        })
    }

    /// A JSON number (or a digit string, which some mirrors print) that fits a `u32`.
    fn u32(&self, field: &'static str) -> Result<u32, FiltersError> {
        let v = self.map.get(field);
        v.and_then(Value::as_u64)
            .or_else(|| v.and_then(Value::as_str).and_then(|s| s.parse().ok()))
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.field_err(field, "non-negative integer below 2^32"))
    }

    /// `avgPriceMins`, informational: absent reads as 0.
    fn avg_price_mins(&self) -> Result<u32, FiltersError> {
        if self.map.contains_key("avgPriceMins") {
            self.u32("avgPriceMins")
        } else {
            Ok(0)
        }
    }

    fn bool(&self, field: &'static str) -> Result<bool, FiltersError> {
        self.map
            .get(field)
            .and_then(Value::as_bool)
            .ok_or_else(|| self.field_err(field, "boolean"))
    }

    /// A decimal limit in units of `unit_units * 10^-unit_scale`; `None` when it is zero
    /// (disabled). Minimums round up, maximums down; `max` saturates at `i128::MAX`.
    fn limit(
        &self,
        field: &'static str,
        unit_units: u128,
        unit_scale: u32,
        mode: Rounding,
    ) -> Result<Option<i128>, FiltersError> {
        let (dec, text) = self.decimal(field)?;
        if dec.is_zero() {
            return Ok(None);
        }
        match div_to_i128(dec, unit_units, unit_scale, mode) {
            Some(v) => Ok(Some(v)),
            None if mode == Rounding::Down => Ok(Some(i128::MAX)),
            None => Err(self.value_err(field, text, "too large for the symbol's grid")),
        }
    }

    /// `minX`/`maxX` of a range filter on the grid of `inc`.
    fn range(
        &self,
        min_field: &'static str,
        max_field: &'static str,
        inc: Increment,
    ) -> Result<RangeRule, FiltersError> {
        let (u, s) = unit(inc);
        let min = self.limit(min_field, u, s, Rounding::Up)?.unwrap_or(0);
        let min = i64::try_from(min).map_err(|_| {
            self.value_err(min_field, self.str(min_field).unwrap_or(""), "too large")
        })?;
        let max = self
            .limit(max_field, u, s, Rounding::Down)?
            .map_or(i64::MAX, |m| i64::try_from(m).unwrap_or(i64::MAX));
        Ok(RangeRule { min, max, step: 1 })
    }

    fn multiplier(&self, field: &'static str) -> Result<Multiplier, FiltersError> {
        let (dec, text) = self.decimal(field)?;
        let units = i64::try_from(dec.mantissa)
            .map_err(|_| self.value_err(field, text, "too many digits"))?;
        let decimals = u8::try_from(dec.scale)
            .ok()
            .filter(|&d| d <= 18)
            .ok_or_else(|| self.value_err(field, text, "more than 18 decimals"))?;
        Ok(Multiplier { units, decimals })
    }
}

/// An increment as `(units, scale)` for [`Decimal::div_unit`].
fn unit(inc: Increment) -> (u128, u32) {
    (inc.units().unsigned_abs().into(), u32::from(inc.decimals()))
}

/// Every filterType this module knows, by its exchangeInfo name.
fn known(name: &str) -> Option<FilterType> {
    use FilterType::*;
    [
        PriceFilter,
        PercentPrice,
        PercentPriceBySide,
        LotSize,
        MarketLotSize,
        MinNotional,
        Notional,
        IcebergParts,
        MaxNumOrders,
        MaxNumAlgoOrders,
        MaxNumIcebergOrders,
        TrailingDelta,
    ]
    .into_iter()
    .find(|f| f.name() == name)
}

impl SymbolFilters {
    /// Parses one `symbols[i]` entry of exchangeInfo (JSON text).
    pub fn from_json(entry: &str) -> Result<SymbolFilters, FiltersError> {
        let value: Value = serde_json::from_str(entry)?;
        SymbolFilters::from_value(&value)
    }

    /// Builds the filters from one `symbols[i]` entry already parsed as JSON.
    ///
    /// `PRICE_FILTER` and `LOT_SIZE` are required and their steps must be positive (they
    /// define the grid). Every other known filter is optional; unknown filterTypes are
    /// kept by name in [`SymbolFilters::ignored_filters`], never an error. A known filter
    /// with a missing or malformed field is an error naming the filter and the field.
    pub fn from_value(entry: &Value) -> Result<SymbolFilters, FiltersError> {
        let shape = |what| FiltersError::Shape { what };
        let entry = entry
            .as_object()
            .ok_or_else(|| shape("not a JSON object"))?;
        let symbol = entry
            .get("symbol")
            .and_then(Value::as_str)
            .ok_or_else(|| shape("no \"symbol\" string"))?;
        let list = entry
            .get("filters")
            .and_then(Value::as_array)
            .ok_or_else(|| shape("no \"filters\" array"))?;

        // First pass: find each known filter once, keep the unknown names.
        let mut found: Vec<(FilterType, &Map<String, Value>)> = Vec::with_capacity(list.len());
        let mut ignored = Vec::new();
        for item in list {
            let map = item
                .as_object()
                .ok_or_else(|| shape("a filter is not a JSON object"))?;
            let name = map
                .get("filterType")
                .and_then(Value::as_str)
                .ok_or_else(|| shape("a filter has no \"filterType\" string"))?;
            match known(name) {
                Some(ft) => {
                    if found.iter().any(|(f, _)| *f == ft) {
                        return Err(FiltersError::Duplicate {
                            symbol: symbol.to_string(),
                            filter: ft.name(),
                        });
                    }
                    found.push((ft, map));
                }
                None => ignored.push(name.to_string()),
            }
        }
        let get = |ft: FilterType| {
            found.iter().find(|(f, _)| *f == ft).map(|(_, map)| Obj {
                symbol,
                filter: ft.name(),
                map,
            })
        };
        let require = |ft: FilterType| {
            get(ft).ok_or_else(|| FiltersError::MissingFilter {
                symbol: symbol.to_string(),
                filter: ft.name(),
            })
        };

        let pf = require(FilterType::PriceFilter)?;
        let tick = pf.increment("tickSize")?;
        let price = pf.range("minPrice", "maxPrice", tick)?;

        let ls = require(FilterType::LotSize)?;
        let step = ls.increment("stepSize")?;
        let lot = ls.range("minQty", "maxQty", step)?;
        let (step_u, step_s) = unit(step);

        let market_lot = match get(FilterType::MarketLotSize) {
            None => None,
            Some(o) => {
                let mut rule = o.range("minQty", "maxQty", step)?;
                let (dec, text) = o.decimal("stepSize")?;
                if !dec.is_zero() {
                    let down = dec.div_unit(step_u, step_s, Rounding::Down);
                    let up = dec.div_unit(step_u, step_s, Rounding::Up);
                    rule.step = match (down, up) {
                        (Some(d), Some(u)) if d == u && d > 0 => i64::try_from(d)
                            .map_err(|_| o.value_err("stepSize", text, "too large"))?,
                        _ => {
                            return Err(o.value_err(
                                "stepSize",
                                text,
                                "not a whole number of LOT_SIZE.stepSize",
                            ))
                        }
                    };
                }
                Some(rule)
            }
        };

        let percent_price = get(FilterType::PercentPrice)
            .map(|o| -> Result<_, FiltersError> {
                let up = o.multiplier("multiplierUp")?;
                let down = o.multiplier("multiplierDown")?;
                Ok(PercentPriceRule {
                    bid_up: up,
                    bid_down: down,
                    ask_up: up,
                    ask_down: down,
                    avg_price_mins: o.avg_price_mins()?,
                })
            })
            .transpose()?;
        let percent_price_by_side = get(FilterType::PercentPriceBySide)
            .map(|o| -> Result<_, FiltersError> {
                Ok(PercentPriceRule {
                    bid_up: o.multiplier("bidMultiplierUp")?,
                    bid_down: o.multiplier("bidMultiplierDown")?,
                    ask_up: o.multiplier("askMultiplierUp")?,
                    ask_down: o.multiplier("askMultiplierDown")?,
                    avg_price_mins: o.avg_price_mins()?,
                })
            })
            .transpose()?;

        // Notional limits in tick-lots: one unit is tickSize * stepSize.
        let (tick_u, tick_s) = unit(tick);
        let tl_units = tick_u * step_u; // both below 2^63
        let tl_scale = tick_s + step_s;
        let min_notional = get(FilterType::MinNotional)
            .map(|o| -> Result<_, FiltersError> {
                // Legacy MIN_NOTIONAL calls the field "minNotional"; some mirrors "notional".
                let field = if o.map.contains_key("minNotional") {
                    "minNotional"
                } else {
                    "notional"
                };
                Ok(NotionalRule {
                    min_tick_lots: o
                        .limit(field, tl_units, tl_scale, Rounding::Up)?
                        .unwrap_or(0),
                    max_tick_lots: i128::MAX,
                    apply_min_to_market: o.bool("applyToMarket")?,
                    apply_max_to_market: false,
                    avg_price_mins: o.avg_price_mins()?,
                })
            })
            .transpose()?;
        let notional = get(FilterType::Notional)
            .map(|o| -> Result<_, FiltersError> {
                Ok(NotionalRule {
                    min_tick_lots: o
                        .limit("minNotional", tl_units, tl_scale, Rounding::Up)?
                        .unwrap_or(0),
                    max_tick_lots: o
                        .limit("maxNotional", tl_units, tl_scale, Rounding::Down)?
                        .unwrap_or(i128::MAX),
                    apply_min_to_market: o.bool("applyMinToMarket")?,
                    apply_max_to_market: o.bool("applyMaxToMarket")?,
                    avg_price_mins: o.avg_price_mins()?,
                })
            })
            .transpose()?;

        let iceberg_parts = get(FilterType::IcebergParts)
            .map(|o| o.u32("limit").map(i64::from))
            .transpose()?;
        let max_num_orders = get(FilterType::MaxNumOrders)
            .map(|o| o.u32("maxNumOrders"))
            .transpose()?;
        let max_num_algo_orders = get(FilterType::MaxNumAlgoOrders)
            .map(|o| o.u32("maxNumAlgoOrders"))
            .transpose()?;
        let max_num_iceberg_orders = get(FilterType::MaxNumIcebergOrders)
            .map(|o| o.u32("maxNumIcebergOrders"))
            .transpose()?;
        let trailing_delta = get(FilterType::TrailingDelta)
            .map(|o| -> Result<_, FiltersError> {
                Ok(TrailingDeltaRule {
                    min_above: o.u32("minTrailingAboveDelta")?,
                    max_above: o.u32("maxTrailingAboveDelta")?,
                    min_below: o.u32("minTrailingBelowDelta")?,
                    max_below: o.u32("maxTrailingBelowDelta")?,
                })
            })
            .transpose()?;

        Ok(SymbolFilters {
            symbol: symbol.to_string(),
            tick,
            step,
            price,
            lot,
            market_lot,
            percent_price,
            percent_price_by_side,
            min_notional,
            notional,
            iceberg_parts,
            max_num_orders,
            max_num_algo_orders,
            max_num_iceberg_orders,
            trailing_delta,
            ignored,
        })
    }
}
