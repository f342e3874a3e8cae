//! A small deterministic market for the server's tests: every 100 ms step, for each
//! symbol, one diff-depth update (`@depth@100ms`, consecutive `U`/`u`), one trade and one
//! bookTicker, plus a 1000 ms diff every tenth step, with Binance's exact bodies.

use std::sync::Arc;

use crate::sim::source::{
    KlineInterval, MarketSource, RestError, SimMessage, StreamKey, StreamKind, SymbolInfo,
};

/// Market time of the first step: 2024-03-01T00:00:00Z.
pub(crate) const START_MS: i64 = 1_709_251_200_000;

pub(crate) fn symbol(name: &str) -> SymbolInfo {
    let base = name.strip_suffix("USDT").unwrap_or(name);
    SymbolInfo {
        symbol: name.to_string(),
        base_asset: base.to_string(),
        quote_asset: "USDT".to_string(),
        base_precision: 8,
        quote_precision: 8,
        tick_size: "0.01000000".into(),
        min_price: "0.01000000".into(),
        max_price: "1000000.00000000".into(),
        step_size: "0.00001000".into(),
        min_qty: "0.00001000".into(),
        max_qty: "9000.00000000".into(),
        min_notional: "5.00000000".into(),
        max_notional: "9000000.00000000".into(),
    }
}

pub(crate) struct TestMarket {
    symbols: Vec<SymbolInfo>,
    steps_total: u64,
    steps_done: u64,
    update_id: Vec<u64>,
    trade_id: u64,
    trades: Vec<String>,
}

impl TestMarket {
    /// BTCUSDT and ETHUSDT, `steps` steps.
    pub(crate) fn new(steps: u64) -> TestMarket {
        TestMarket::with_symbols(&["BTCUSDT", "ETHUSDT"], steps)
    }

    pub(crate) fn with_symbols(names: &[&str], steps: u64) -> TestMarket {
        TestMarket {
            symbols: names.iter().map(|n| symbol(n)).collect(),
            steps_total: steps,
            steps_done: 0,
            update_id: vec![1000; names.len()],
            trade_id: 0,
            trades: Vec::new(),
        }
    }

    fn price(&self, symbol: usize) -> i64 {
        // Cents: moves by the step so that bodies differ.
        6_000_000 + (self.steps_done as i64 % 50) * 100 + symbol as i64 * 10_000
    }
}

fn dec(cents: i64) -> String {
    format!("{}.{:02}000000", cents / 100, cents % 100)
}

impl MarketSource for TestMarket {
    fn symbols(&self) -> &[SymbolInfo] {
        &self.symbols
    }

    fn next_time_ms(&self) -> Option<i64> {
        (self.steps_done < self.steps_total).then(|| START_MS + 100 * (self.steps_done as i64 + 1))
    }

    fn step(&mut self, wanted: &dyn Fn(&StreamKey) -> bool, out: &mut Vec<SimMessage>) -> bool {
        let Some(t) = self.next_time_ms() else {
            return false;
        };
        self.steps_done += 1;
        for i in 0..self.symbols.len() {
            let name = self.symbols[i].symbol.clone();
            let first = self.update_id[i] + 1;
            self.update_id[i] += 2;
            let last = self.update_id[i];
            let bid = dec(self.price(i));
            let ask = dec(self.price(i) + 1);
            let mut push = |kind: StreamKind, body: String| {
                let stream = StreamKey { symbol: i, kind };
                if wanted(&stream) {
                    out.push(SimMessage {
                        stream,
                        event_time_ms: t,
                        payload: Arc::from(body),
                    });
                }
            };
            let diff = format!(
                "{{\"e\":\"depthUpdate\",\"E\":{t},\"s\":\"{name}\",\"U\":{first},\"u\":{last},\"b\":[[\"{bid}\",\"1.00000000\"]],\"a\":[[\"{ask}\",\"2.00000000\"]]}}"
            );
            push(StreamKind::Depth { fast: true }, diff.clone());
            if self.steps_done % 10 == 0 {
                push(StreamKind::Depth { fast: false }, diff);
            }
            self.trade_id += 1;
            let trade = format!(
                "{{\"e\":\"trade\",\"E\":{t},\"s\":\"{name}\",\"t\":{},\"p\":\"{bid}\",\"q\":\"0.01000000\",\"T\":{t},\"m\":true,\"M\":true}}",
                self.trade_id
            );
            self.trades.push(format!(
                "{{\"id\":{},\"price\":\"{bid}\",\"qty\":\"0.01000000\",\"quoteQty\":\"600.00000000\",\"time\":{t},\"isBuyerMaker\":true,\"isBestMatch\":true}}",
                self.trade_id
            ));
            push(StreamKind::Trade, trade);
            push(
                StreamKind::BookTicker,
                format!(
                    "{{\"u\":{last},\"s\":\"{name}\",\"b\":\"{bid}\",\"B\":\"1.00000000\",\"a\":\"{ask}\",\"A\":\"2.00000000\"}}"
                ),
            );
        }
        true
    }

    fn depth_snapshot(&self, symbol: usize, limit: usize) -> String {
        let bid = self.price(symbol);
        let bids: Vec<String> = (0..limit.min(3) as i64)
            .map(|k| format!("[\"{}\",\"1.00000000\"]", dec(bid - k)))
            .collect();
        let asks: Vec<String> = (0..limit.min(3) as i64)
            .map(|k| format!("[\"{}\",\"2.00000000\"]", dec(bid + 1 + k)))
            .collect();
        format!(
            "{{\"lastUpdateId\":{},\"bids\":[{}],\"asks\":[{}]}}",
            self.last_update_id(symbol),
            bids.join(","),
            asks.join(",")
        )
    }

    fn last_update_id(&self, symbol: usize) -> u64 {
        self.update_id.get(symbol).copied().unwrap_or(0)
    }

    fn klines(
        &self,
        symbol: usize,
        interval: KlineInterval,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        limit: usize,
    ) -> Result<String, RestError> {
        let Some(len) = interval.fixed_ms() else {
            return Err(RestError::BadParameter {
                code: -1130,
                msg: "Data sent for parameter 'interval' is not valid.".into(),
            });
        };
        let now = START_MS + 100 * self.steps_done as i64;
        let price = dec(self.price(symbol));
        let bars: Vec<String> = (0..)
            .map(|k| START_MS + k * len)
            .take_while(|open| *open <= now)
            .filter(|open| start_ms.is_none_or(|s| *open >= s) && end_ms.is_none_or(|e| *open <= e))
            .take(limit)
            .map(|open| {
                format!(
                    "[{open},\"{price}\",\"{price}\",\"{price}\",\"{price}\",\"1.00000000\",{},\"{price}\",1,\"0.50000000\",\"{price}\",\"0\"]",
                    open + len - 1
                )
            })
            .collect();
        Ok(format!("[{}]", bars.join(",")))
    }

    fn recent_trades(&self, _symbol: usize, limit: usize) -> String {
        let from = self.trades.len().saturating_sub(limit);
        format!("[{}]", self.trades[from..].join(","))
    }
}

/// The bodies the market produces for `streams`, in order, for its first `steps` steps:
/// what a subscriber to exactly those streams must receive.
pub(crate) fn expected(names: &[&str], steps: u64, streams: &[&str]) -> Vec<(String, String)> {
    let mut market = TestMarket::with_symbols(names, steps);
    let keys: Vec<StreamKey> = streams
        .iter()
        .filter_map(|s| StreamKey::parse(s, market.symbols()).ok())
        .collect();
    assert_eq!(keys.len(), streams.len(), "test stream names");
    let mut out = Vec::new();
    let mut all = Vec::new();
    while market.step(&|k| keys.contains(k), &mut out) {
        for m in out.drain(..) {
            all.push((m.stream.name(market.symbols()), m.payload.to_string()));
        }
    }
    all
}
