//! Binance's REST market-data endpoints (`/api/v3/...`) with their weights and error
//! bodies, the per-IP weight counter, and the simulator's admin endpoint (`/sim/...`).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::faults::FaultControl;
use super::http::{json_string, parse_query, Request, Response};
use super::{bump, lock, Shared};
use crate::sim::source::{KlineInterval, RestError, SymbolInfo};

const WINDOW: Duration = Duration::from_secs(60);

/// One IP's request weight over the last minute.
#[derive(Debug, Default)]
pub(crate) struct IpWeight {
    entries: VecDeque<(Instant, u32)>,
    used: u32,
    /// 429s in a row (reset by an accepted request).
    violations: u32,
    banned_until: Option<Instant>,
    /// Wall-clock time of the ban's end (ms), for the 418 message.
    banned_until_ms: i64,
}

impl IpWeight {
    fn expire(&mut self, now: Instant) {
        while let Some(&(t, w)) = self.entries.front() {
            if now.duration_since(t) >= WINDOW {
                self.entries.pop_front();
                self.used -= w;
            } else {
                break;
            }
        }
    }

    /// Whole seconds until `weight` more would fit under `limit` (at least 1).
    fn retry_after(&self, now: Instant, weight: u32, limit: u32) -> u64 {
        let mut used = self.used;
        for &(t, w) in &self.entries {
            used -= w;
            if used + weight <= limit {
                let wait = (t + WINDOW).saturating_duration_since(now);
                return wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            }
        }
        WINDOW.as_secs()
    }
}

/// Decoded query parameters.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// The first value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Answers one request that is not a WebSocket upgrade.
pub(crate) fn handle(shared: &Shared, request: &Request, peer: IpAddr) -> Response {
    bump(&shared.counters.rest_requests);
    if request.path.starts_with("/sim/") {
        return admin(shared, request);
    }
    if !request.path.starts_with("/api/") {
        return Response::json(404, "");
    }
    let params = Params(parse_query(&request.query));
    let weight = match request.path.as_str() {
        "/api/v3/ping" | "/api/v3/time" => 1,
        "/api/v3/exchangeInfo" => 20,
        "/api/v3/depth" => match params.get("limit").and_then(|l| l.parse::<u64>().ok()) {
            None => 5,
            Some(0..=100) => 5,
            Some(101..=500) => 25,
            Some(501..=1000) => 50,
            Some(_) => 250,
        },
        "/api/v3/klines" => 2,
        "/api/v3/trades" => 25,
        _ => 0,
    };
    let now = Instant::now();
    if shared.faults.refuse_rest(now) {
        return Response::error(
            503,
            -1008,
            "Server is currently overloaded with other requests. Please try again in a few minutes.",
        );
    }
    let limit = shared.config.rest_weight_limit;
    let used = {
        let mut weights = lock(&shared.weights);
        let ip = weights.entry(peer).or_default();
        ip.expire(now);
        if let Some(until) = ip.banned_until {
            if now < until {
                bump(&shared.counters.rest_418);
                let wait = until.duration_since(now);
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let msg = format!(
                    "Way too much request weight used; IP banned until {}. Please use WebSocket Streams for live updates to avoid bans.",
                    ip.banned_until_ms
                );
                return Response::error(418, -1003, &msg)
                    .with_header("Retry-After", secs.to_string())
                    .with_header("X-MBX-USED-WEIGHT-1M", ip.used.to_string());
            }
            ip.banned_until = None;
        }
        if ip.used + weight > limit {
            ip.violations += 1;
            let used = ip.used.to_string();
            if ip.violations > shared.config.rest_ban_after {
                let ban = shared.config.rest_ban;
                ip.banned_until = Some(now + ban);
                ip.banned_until_ms =
                    now_ms() + i64::try_from(ban.as_millis()).unwrap_or(i64::MAX / 2);
                bump(&shared.counters.rest_418);
                let msg = format!(
                    "Way too much request weight used; IP banned until {}. Please use WebSocket Streams for live updates to avoid bans.",
                    ip.banned_until_ms
                );
                return Response::error(418, -1003, &msg)
                    .with_header("Retry-After", ban.as_secs().max(1).to_string())
                    .with_header("X-MBX-USED-WEIGHT-1M", used);
            }
            bump(&shared.counters.rest_429);
            let retry = ip.retry_after(now, weight, limit);
            let msg = format!(
                "Too many requests; current limit of IP({peer}) request weight per minute is {limit}. Please use WebSocket Streams for live updates to avoid polling the API."
            );
            return Response::error(429, -1003, &msg)
                .with_header("Retry-After", retry.to_string())
                .with_header("X-MBX-USED-WEIGHT-1M", used);
        }
        if weight > 0 {
            ip.entries.push_back((now, weight));
            ip.used += weight;
        }
        ip.violations = 0;
        ip.used
    };
    let response = if request.method != "GET" {
        Response::json(405, "")
    } else {
        route(shared, &request.path, &params)
    };
    response.with_header("X-MBX-USED-WEIGHT-1M", used.to_string())
}

fn route(shared: &Shared, path: &str, param: &Params) -> Response {
    let result = match path {
        "/api/v3/ping" => Ok("{}".to_string()),
        "/api/v3/time" => Ok(format!("{{\"serverTime\":{}}}", now_ms())),
        "/api/v3/exchangeInfo" => exchange_info(shared, param),
        "/api/v3/depth" => depth(shared, param),
        "/api/v3/klines" => klines(shared, param),
        "/api/v3/trades" => trades(shared, param),
        _ => return Response::json(404, ""),
    };
    match result {
        Ok(body) => Response::json(200, body),
        Err(e) => e,
    }
}

fn bad(code: i32, msg: &str) -> Response {
    Response::error(400, code, msg)
}

fn mandatory(name: &str) -> Response {
    bad(
        -1102,
        &format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
    )
}

fn invalid(name: &str) -> Response {
    bad(
        -1130,
        &format!("Data sent for parameter '{name}' is not valid."),
    )
}

fn illegal(name: &str, range: &str) -> Response {
    bad(
        -1100,
        &format!("Illegal characters found in parameter '{name}'; legal range is '{range}'."),
    )
}

const SYMBOL_RANGE: &str = "^[A-Z0-9-_.]{1,20}$";

fn symbol_index(shared: &Shared, name: &str) -> Result<usize, Response> {
    let legal = !name.is_empty()
        && name.len() <= 20
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if !legal {
        return Err(illegal("symbol", SYMBOL_RANGE));
    }
    shared
        .symbols
        .iter()
        .position(|s| s.symbol == name)
        .ok_or_else(|| bad(-1121, "Invalid symbol."))
}

fn required_symbol(shared: &Shared, param: &Params) -> Result<usize, Response> {
    match param.get("symbol") {
        None | Some("") => Err(mandatory("symbol")),
        Some(name) => symbol_index(shared, name),
    }
}

/// `limit`: default when absent; `max` caps (depth truncates) or refuses (others).
fn limit(param: &Params, default: usize, max: usize, truncate: bool) -> Result<usize, Response> {
    let Some(text) = param.get("limit") else {
        return Ok(default);
    };
    let value = text
        .parse::<u64>()
        .map_err(|_| illegal("limit", "^[0-9]{1,20}$"))?;
    let value = usize::try_from(value).unwrap_or(usize::MAX);
    if value == 0 {
        return Err(invalid("limit"));
    }
    if value > max {
        return if truncate {
            Ok(max)
        } else {
            Err(invalid("limit"))
        };
    }
    Ok(value)
}

fn time_param(param: &Params, name: &str) -> Result<Option<i64>, Response> {
    match param.get(name) {
        None => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| illegal(name, "^[0-9]{1,20}$")),
    }
}

fn from_source(e: RestError) -> Response {
    match e {
        RestError::InvalidSymbol => bad(-1121, "Invalid symbol."),
        RestError::BadParameter { code, msg } => bad(code, &msg),
    }
}

fn depth(shared: &Shared, param: &Params) -> Result<String, Response> {
    let symbol = required_symbol(shared, param)?;
    let limit = limit(param, 100, 5000, true)?;
    Ok(lock(&shared.market).depth_snapshot(symbol, limit))
}

fn trades(shared: &Shared, param: &Params) -> Result<String, Response> {
    let symbol = required_symbol(shared, param)?;
    let limit = limit(param, 500, 1000, false)?;
    Ok(lock(&shared.market).recent_trades(symbol, limit))
}

fn klines(shared: &Shared, param: &Params) -> Result<String, Response> {
    let symbol = required_symbol(shared, param)?;
    let interval = match param.get("interval") {
        None | Some("") => return Err(mandatory("interval")),
        Some(text) => KlineInterval::parse(text).ok_or_else(|| bad(-1120, "Invalid interval."))?,
    };
    let start = time_param(param, "startTime")?;
    let end = time_param(param, "endTime")?;
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return Err(bad(-1128, "Combination of optional parameters invalid."));
        }
    }
    let limit = limit(param, 500, 1000, false)?;
    lock(&shared.market)
        .klines(symbol, interval, start, end, limit)
        .map_err(from_source)
}

fn exchange_info(shared: &Shared, param: &Params) -> Result<String, Response> {
    let selected: Vec<&SymbolInfo> = match (param.get("symbol"), param.get("symbols")) {
        (Some(_), Some(_)) => {
            return Err(bad(-1128, "Combination of optional parameters invalid."))
        }
        (Some(name), None) => vec![&shared.symbols[symbol_index(shared, name)?]],
        (None, Some(list)) => {
            let names: Vec<String> = serde_json::from_str(list).map_err(|_| {
                illegal(
                    "symbols",
                    "^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$",
                )
            })?;
            let mut out = Vec::with_capacity(names.len());
            for name in &names {
                out.push(&shared.symbols[symbol_index(shared, name)?]);
            }
            out
        }
        (None, None) => shared.symbols.iter().collect(),
    };
    let limit = shared.config.rest_weight_limit;
    let symbols: Vec<String> = selected.iter().map(|s| symbol_json(s)).collect();
    Ok(format!(
        "{{\"timezone\":\"UTC\",\"serverTime\":{},\"rateLimits\":[{{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\",\"intervalNum\":1,\"limit\":{limit}}},{{\"rateLimitType\":\"ORDERS\",\"interval\":\"SECOND\",\"intervalNum\":10,\"limit\":100}},{{\"rateLimitType\":\"ORDERS\",\"interval\":\"DAY\",\"intervalNum\":1,\"limit\":200000}},{{\"rateLimitType\":\"RAW_REQUESTS\",\"interval\":\"MINUTE\",\"intervalNum\":5,\"limit\":61000}}],\"exchangeFilters\":[],\"symbols\":[{}]}}",
        now_ms(),
        symbols.join(",")
    ))
}

/// One `symbols[]` entry of exchangeInfo, in Binance's field order.
fn symbol_json(s: &SymbolInfo) -> String {
    let q = |text: &str| json_string(text);
    format!(
        concat!(
            "{{\"symbol\":{},\"status\":\"TRADING\",\"baseAsset\":{},\"baseAssetPrecision\":{},",
            "\"quoteAsset\":{},\"quotePrecision\":{},\"quoteAssetPrecision\":{},",
            "\"baseCommissionPrecision\":{},\"quoteCommissionPrecision\":{},",
            "\"orderTypes\":[\"LIMIT\",\"LIMIT_MAKER\",\"MARKET\",\"STOP_LOSS\",\"STOP_LOSS_LIMIT\",\"TAKE_PROFIT\",\"TAKE_PROFIT_LIMIT\"],",
            "\"icebergAllowed\":true,\"ocoAllowed\":true,\"otoAllowed\":true,",
            "\"quoteOrderQtyMarketAllowed\":true,\"allowTrailingStop\":true,\"cancelReplaceAllowed\":true,",
            "\"amendAllowed\":true,\"pegInstructionsAllowed\":true,",
            "\"isSpotTradingAllowed\":true,\"isMarginTradingAllowed\":false,",
            "\"filters\":[",
            "{{\"filterType\":\"PRICE_FILTER\",\"minPrice\":{},\"maxPrice\":{},\"tickSize\":{}}},",
            "{{\"filterType\":\"LOT_SIZE\",\"minQty\":{},\"maxQty\":{},\"stepSize\":{}}},",
            "{{\"filterType\":\"ICEBERG_PARTS\",\"limit\":10}},",
            "{{\"filterType\":\"MARKET_LOT_SIZE\",\"minQty\":\"0.00000000\",\"maxQty\":{},\"stepSize\":\"0.00000000\"}},",
            "{{\"filterType\":\"TRAILING_DELTA\",\"minTrailingAboveDelta\":10,\"maxTrailingAboveDelta\":2000,\"minTrailingBelowDelta\":10,\"maxTrailingBelowDelta\":2000}},",
            "{{\"filterType\":\"PERCENT_PRICE_BY_SIDE\",\"bidMultiplierUp\":\"5\",\"bidMultiplierDown\":\"0.2\",\"askMultiplierUp\":\"5\",\"askMultiplierDown\":\"0.2\",\"avgPriceMins\":5}},",
            "{{\"filterType\":\"NOTIONAL\",\"minNotional\":{},\"applyMinToMarket\":true,\"maxNotional\":{},\"applyMaxToMarket\":false,\"avgPriceMins\":5}},",
            "{{\"filterType\":\"MAX_NUM_ORDERS\",\"maxNumOrders\":200}},",
            "{{\"filterType\":\"MAX_NUM_ALGO_ORDERS\",\"maxNumAlgoOrders\":5}}",
            "],\"permissions\":[],\"permissionSets\":[[\"SPOT\"]],",
            "\"defaultSelfTradePreventionMode\":\"EXPIRE_MAKER\",",
            "\"allowedSelfTradePreventionModes\":[\"EXPIRE_TAKER\",\"EXPIRE_MAKER\",\"EXPIRE_BOTH\",\"DECREMENT\"]}}"
        ),
        q(&s.symbol),
        q(&s.base_asset),
        s.base_precision,
        q(&s.quote_asset),
        s.quote_precision,
        s.quote_precision,
        s.base_precision,
        s.quote_precision,
        q(&s.min_price),
        q(&s.max_price),
        q(&s.tick_size),
        q(&s.min_qty),
        q(&s.max_qty),
        q(&s.step_size),
        q(&s.max_qty),
        q(&s.min_notional),
        q(&s.max_notional),
    )
}

/// `/sim/faults` and `/sim/stats` (see the server's module doc). No weight.
fn admin(shared: &Shared, request: &Request) -> Response {
    let control = FaultControl {
        faults: std::sync::Arc::clone(&shared.faults),
    };
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/sim/faults") => Response::json(200, control.plan().to_json()),
        ("POST", "/sim/faults") => {
            let mut params = parse_query(&request.query);
            if !request.body.is_empty() {
                match std::str::from_utf8(&request.body) {
                    Ok(body) => params.extend(parse_query(body.trim())),
                    Err(_) => return Response::error(400, -1100, "body is not UTF-8"),
                }
            }
            match control.apply_params(params.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
                Ok(()) => Response::json(200, control.plan().to_json()),
                Err(e) => Response::error(400, -1130, &e.to_string()),
            }
        }
        ("GET", "/sim/stats") => Response::json(200, shared.counters.snapshot().to_json()),
        (_, "/sim/faults" | "/sim/stats") => Response::json(405, ""),
        _ => Response::json(404, ""),
    }
}
