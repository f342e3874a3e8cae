//! Klines built from a market's own trades, for the kline streams and `GET /api/v3/klines`.
//!
//! Every one of Binance's 16 intervals has a running kline per symbol, fed by every trade
//! whatever the subscriptions (the market's state must not depend on them). A kline exists
//! for every window in which the market trades or could trade, trades or not: an empty one
//! carries the previous close as open, high, low and close, zero volumes, `n: 0` and
//! `f = L = -1`, as Binance's do. A window that lies entirely inside a halt (the synthetic
//! market's data gaps) gets no kline, as Binance's klines have holes across its halts.
//!
//! Stream cadence (Binance's): an update with `x: false` every 2000 ms after the window
//! opens (1000 ms for `1s`, whose window is that long, so `1s` sends only its final
//! message), and the final `x: true` message at `close + 1 ms`.
//!
//! REST history is kept as completed 1-minute klines (all of them) and the last 1000
//! completed 1-second klines; coarser intervals are merged from the minutes, which keeps
//! memory at one record a minute.

use std::collections::VecDeque;
use std::sync::Arc;

use super::book::Scale;
use super::json::{self, KlineFields};
use crate::history::utc;
use crate::sim::source::{KlineInterval, RestError, SimMessage, StreamKey, StreamKind};

const DAY_MS: i64 = 86_400_000;
/// How many completed 1s klines REST can list.
const SECOND_HISTORY: usize = 1000;

/// The window `[open, close]` (close = next open - 1) of `interval` that holds `t_ms`.
/// Weeks start on Monday 00:00 UTC, `3d` windows count from the epoch, `1M` windows are
/// calendar months.
pub fn window(interval: KlineInterval, t_ms: i64) -> (i64, i64) {
    match interval {
        KlineInterval::Mo1 => {
            let (y, m, _) = utc::civil_from_days(t_ms.div_euclid(DAY_MS));
            let open = utc::days_from_civil(y, m, 1) * DAY_MS;
            (open, utc::next_month_start_ms(t_ms) - 1)
        }
        KlineInterval::W1 => {
            // 1970-01-01 was a Thursday: Mondays are 4 days after the epoch modulo 7.
            let week = 7 * DAY_MS;
            let open = t_ms - (t_ms - 4 * DAY_MS).rem_euclid(week);
            (open, open + week - 1)
        }
        other => {
            // Every interval but 1M has a fixed length.
            let len = other.fixed_ms().unwrap_or(60_000);
            let open = t_ms - t_ms.rem_euclid(len);
            (open, open + len - 1)
        }
    }
}

/// Milliseconds between two `x: false` updates.
fn update_every_ms(interval: KlineInterval) -> i64 {
    if interval == KlineInterval::S1 {
        1000
    } else {
        2000
    }
}

/// One kline being built, in the market's price and quantity units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KlineAcc {
    /// Open time.
    pub open_ms: i64,
    /// Close time (next open - 1).
    pub close_ms: i64,
    /// Open price (the previous close while empty).
    pub open: i64,
    /// High price.
    pub high: i64,
    /// Low price.
    pub low: i64,
    /// Close price.
    pub close: i64,
    /// Base volume.
    pub volume: i64,
    /// Quote volume in price units x quantity units.
    pub quote: i128,
    /// Taker-buy base volume.
    pub taker_buy_volume: i64,
    /// Taker-buy quote volume in price units x quantity units.
    pub taker_buy_quote: i128,
    /// First trade id, -1 while empty.
    pub first_id: i64,
    /// Last trade id, -1 while empty.
    pub last_id: i64,
    /// Number of trades.
    pub trades: u64,
    next_update_ms: i64,
}

impl KlineAcc {
    /// An empty kline over `[open_ms, close_ms]` whose prices are the previous close.
    pub fn empty(open_ms: i64, close_ms: i64, last_price: i64) -> KlineAcc {
        KlineAcc {
            open_ms,
            close_ms,
            open: last_price,
            high: last_price,
            low: last_price,
            close: last_price,
            volume: 0,
            quote: 0,
            taker_buy_volume: 0,
            taker_buy_quote: 0,
            first_id: -1,
            last_id: -1,
            trades: 0,
            next_update_ms: open_ms,
        }
    }

    /// Adds one trade.
    pub fn add(&mut self, id: i64, price: i64, qty: i64, buyer_is_maker: bool) {
        if self.trades == 0 {
            self.open = price;
            self.high = price;
            self.low = price;
            self.first_id = id;
        } else {
            self.high = self.high.max(price);
            self.low = self.low.min(price);
        }
        self.close = price;
        self.last_id = id;
        self.trades += 1;
        self.volume += qty;
        let quote = i128::from(price) * i128::from(qty);
        self.quote += quote;
        if !buyer_is_maker {
            self.taker_buy_volume += qty;
            self.taker_buy_quote += quote;
        }
    }

    /// Appends a later kline (REST merging of minutes into coarser windows). Empty parts
    /// contribute no price: an hour whose first minute had no trade opens at its first
    /// trade, as Binance's do.
    fn absorb(&mut self, later: &KlineAcc) {
        if later.trades == 0 {
            if self.trades == 0 {
                self.close = later.close;
            }
            return;
        }
        if self.trades == 0 {
            self.open = later.open;
            self.high = later.high;
            self.low = later.low;
            self.first_id = later.first_id;
        } else {
            self.high = self.high.max(later.high);
            self.low = self.low.min(later.low);
        }
        self.close = later.close;
        self.last_id = later.last_id;
        self.trades += later.trades;
        self.volume += later.volume;
        self.quote += later.quote;
        self.taker_buy_volume += later.taker_buy_volume;
        self.taker_buy_quote += later.taker_buy_quote;
    }

    /// The numbers as the JSON writers take them (e8).
    pub fn fields(&self, scale: Scale) -> KlineFields {
        let quote_scale = i128::from(scale.price_e8) * i128::from(scale.qty_e8);
        let to_e8 = |v: i128| v * quote_scale / i128::from(json::E8);
        KlineFields {
            open_ms: self.open_ms,
            close_ms: self.close_ms,
            first_trade_id: self.first_id,
            last_trade_id: self.last_id,
            open_e8: scale.price(self.open),
            high_e8: scale.price(self.high),
            low_e8: scale.price(self.low),
            close_e8: scale.price(self.close),
            volume_e8: scale.qty(self.volume),
            trades: self.trades,
            quote_volume_e8: to_e8(self.quote),
            taker_buy_volume_e8: scale.qty(self.taker_buy_volume),
            taker_buy_quote_e8: to_e8(self.taker_buy_quote),
        }
    }
}

/// The klines of one symbol, every interval.
#[derive(Debug, Clone)]
pub struct Klines {
    symbol_index: usize,
    symbol: String,
    scale: Scale,
    running: [Option<KlineAcc>; 16],
    seconds: VecDeque<KlineAcc>,
    minutes: Vec<KlineAcc>,
    last_price: i64,
}

impl Klines {
    /// Klines for the symbol at `symbol_index` named `symbol`; `initial_price` stands in
    /// for the previous close until the first trade.
    pub fn new(symbol_index: usize, symbol: &str, scale: Scale, initial_price: i64) -> Klines {
        Klines {
            symbol_index,
            symbol: symbol.to_string(),
            scale,
            running: [None; 16],
            seconds: VecDeque::with_capacity(SECOND_HISTORY + 1),
            minutes: Vec::new(),
            last_price: initial_price,
        }
    }

    /// Completed 1-minute klines, oldest first.
    pub fn minutes(&self) -> &[KlineAcc] {
        &self.minutes
    }

    /// The running kline of `interval`, if a window is open.
    pub fn running(&self, interval: KlineInterval) -> Option<&KlineAcc> {
        self.running[index(interval)].as_ref()
    }

    /// Brings every interval to market time `now_ms`: closes windows that ended (final
    /// message at `close + 1`), sends the 2-second updates that are due, and, when the
    /// market is `trading` at `now_ms`, opens the window holding it (and every empty
    /// window in between since the last close).
    pub fn advance(
        &mut self,
        now_ms: i64,
        trading: bool,
        wanted: &dyn Fn(&StreamKey) -> bool,
        out: &mut Vec<SimMessage>,
    ) {
        for (i, interval) in KlineInterval::ALL.into_iter().enumerate() {
            let key = StreamKey {
                symbol: self.symbol_index,
                kind: StreamKind::Kline(interval),
            };
            let want = wanted(&key);
            loop {
                match self.running[i] {
                    Some(acc) if now_ms > acc.close_ms => {
                        if want {
                            self.push(out, key, interval, &acc, true, acc.close_ms + 1);
                        }
                        self.archive(interval, acc);
                        self.running[i] = trading.then(|| {
                            let (open, close) = window(interval, acc.close_ms + 1);
                            self.fresh(interval, open, close)
                        });
                        if self.running[i].is_none() {
                            break;
                        }
                    }
                    Some(mut acc) => {
                        while acc.next_update_ms <= now_ms && acc.next_update_ms <= acc.close_ms {
                            if want {
                                self.push(out, key, interval, &acc, false, acc.next_update_ms);
                            }
                            acc.next_update_ms += update_every_ms(interval);
                        }
                        self.running[i] = Some(acc);
                        break;
                    }
                    None => {
                        if trading {
                            let (open, close) = window(interval, now_ms);
                            self.running[i] = Some(self.fresh(interval, open, close));
                        }
                        break;
                    }
                }
            }
        }
    }

    fn fresh(&self, interval: KlineInterval, open: i64, close: i64) -> KlineAcc {
        let mut acc = KlineAcc::empty(open, close, self.last_price);
        acc.next_update_ms = open + update_every_ms(interval);
        acc
    }

    /// Adds a trade (at a time [`Klines::advance`] has reached) to every open window.
    pub fn on_trade(&mut self, id: i64, price: i64, qty: i64, buyer_is_maker: bool) {
        for acc in self.running.iter_mut().flatten() {
            acc.add(id, price, qty, buyer_is_maker);
        }
        self.last_price = price;
    }

    fn archive(&mut self, interval: KlineInterval, acc: KlineAcc) {
        match interval {
            KlineInterval::S1 => {
                if self.seconds.len() == SECOND_HISTORY {
                    self.seconds.pop_front();
                }
                self.seconds.push_back(acc);
            }
            KlineInterval::M1 => self.minutes.push(acc),
            _ => {}
        }
    }

    fn push(
        &self,
        out: &mut Vec<SimMessage>,
        key: StreamKey,
        interval: KlineInterval,
        acc: &KlineAcc,
        closed: bool,
        event_ms: i64,
    ) {
        let mut body = String::with_capacity(400);
        json::kline(
            &mut body,
            &self.symbol,
            event_ms,
            interval,
            &acc.fields(self.scale),
            closed,
        );
        out.push(SimMessage {
            stream: key,
            event_time_ms: event_ms,
            payload: Arc::from(body),
        });
    }

    /// Body of `GET /api/v3/klines`: klines whose open time is within
    /// `[start_ms, end_ms]`, the open one included; the first `limit` from `start_ms`
    /// when it is given, else the `limit` most recent. `1s` covers the last 1000 seconds.
    pub fn rest(
        &self,
        interval: KlineInterval,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        limit: usize,
    ) -> Result<String, RestError> {
        if let (Some(start), Some(end)) = (start_ms, end_ms) {
            if start > end {
                return Err(RestError::BadParameter {
                    code: -1023,
                    msg: "Start time is greater than end time.".to_string(),
                });
            }
        }
        let limit = limit.max(1);
        let (history, current): (Vec<&KlineAcc>, Option<&KlineAcc>) = match interval {
            KlineInterval::S1 => (
                self.seconds.iter().collect(),
                self.running[index(KlineInterval::S1)].as_ref(),
            ),
            _ => {
                let minutes = &self.minutes[..];
                let hi = match end_ms {
                    // Every minute of a window that opens by `end` opens by `end`'s window close.
                    Some(end) => minutes.partition_point(|m| m.open_ms <= window(interval, end).1),
                    None => minutes.len(),
                };
                let lo = match start_ms {
                    Some(start) => minutes.partition_point(|m| m.open_ms < start),
                    None => {
                        let per_window = match interval.fixed_ms() {
                            Some(len) => (len / 60_000).max(1) as usize,
                            None => 31 * 1440,
                        };
                        hi.saturating_sub((limit + 1).saturating_mul(per_window))
                    }
                }
                .min(hi);
                (
                    minutes[lo..hi].iter().collect(),
                    self.running[index(KlineInterval::M1)].as_ref(),
                )
            }
        };
        let mut windows: Vec<KlineAcc> = Vec::new();
        for atom in history.into_iter().chain(current) {
            let (open, close) = window(interval, atom.open_ms);
            match windows.last_mut() {
                Some(last) if last.open_ms == open => last.absorb(atom),
                _ => {
                    let mut w = KlineAcc::empty(open, close, atom.open);
                    w.absorb(atom);
                    windows.push(w);
                }
            }
        }
        // Without a start the scan may have begun inside a window: drop that partial one
        // when more than `limit` windows were found.
        let keep = |w: &&KlineAcc| {
            start_ms.is_none_or(|s| w.open_ms >= s) && end_ms.is_none_or(|e| w.open_ms <= e)
        };
        let selected: Vec<&KlineAcc> = windows.iter().filter(keep).collect();
        let chosen: &[&KlineAcc] = if start_ms.is_some() {
            &selected[..selected.len().min(limit)]
        } else {
            &selected[selected.len().saturating_sub(limit)..]
        };
        let mut out = String::with_capacity(2 + chosen.len() * 160);
        out.push('[');
        for (i, w) in chosen.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::kline_row(&mut out, &w.fields(self.scale));
        }
        out.push(']');
        Ok(out)
    }
}

/// Position of `interval` in [`KlineInterval::ALL`].
fn index(interval: KlineInterval) -> usize {
    KlineInterval::ALL
        .iter()
        .position(|&i| i == interval)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_table() {
        // 2024-08-08 23:54:13.937 UTC (a Thursday)
        let t = 1_723_161_253_937;
        let cases: &[(KlineInterval, i64, i64)] = &[
            // TC0: 1s
            (KlineInterval::S1, 1_723_161_253_000, 1_723_161_253_999),
            // TC1: 1m
            (KlineInterval::M1, 1_723_161_240_000, 1_723_161_299_999),
            // TC2: 1h
            (KlineInterval::H1, 1_723_158_000_000, 1_723_161_599_999),
            // TC3: 1d
            (KlineInterval::D1, 1_723_075_200_000, 1_723_161_599_999),
            // TC4: 1w opens Monday 2024-08-05 00:00 UTC
            (KlineInterval::W1, 1_722_816_000_000, 1_723_420_799_999),
            // TC5: 1M is August 2024
            (KlineInterval::Mo1, 1_722_470_400_000, 1_725_148_799_999),
        ];
        for (i, (interval, open, close)) in cases.iter().enumerate() {
            assert_eq!(window(*interval, t), (*open, *close), "TC{i}");
        }
    }

    fn all(_: &StreamKey) -> bool {
        true
    }

    #[test]
    fn stream_cadence_and_empty_windows() {
        let mut k = Klines::new(0, "BTCUSDT", Scale::E8, 500);
        let mut out = Vec::new();
        let t0 = 1_700_000_040_000; // a minute boundary
        k.advance(t0, true, &all, &mut out);
        k.on_trade(7, 510, 2, false);
        k.advance(t0 + 100, true, &all, &mut out);
        k.on_trade(8, 505, 3, true);
        let mut t = t0 + 100;
        while t < t0 + 120_000 {
            t += 100;
            k.advance(t, true, &all, &mut out);
        }
        let m1: Vec<&SimMessage> = out
            .iter()
            .filter(|m| m.stream.kind == StreamKind::Kline(KlineInterval::M1))
            .collect();
        // TC0: 29 updates every 2 s then the final one at close + 1, for each of 2 minutes
        assert_eq!(m1.len(), 60, "TC0");
        assert_eq!(m1[29].event_time_ms, t0 + 60_000, "TC0");
        assert!(m1[29].payload.contains("\"x\":true"), "TC0");
        assert!(
            m1[29].payload.contains(
                "\"f\":7,\"L\":8,\"o\":\"0.00000510\",\"c\":\"0.00000505\",\"h\":\"0.00000510\",\"l\":\"0.00000505\",\"v\":\"0.00000005\",\"n\":2"
            ),
            "TC0: {}",
            m1[29].payload
        );
        // TC1: the second minute had no trade: previous close everywhere, f = L = -1
        assert!(
            m1[59].payload.contains(
                "\"f\":-1,\"L\":-1,\"o\":\"0.00000505\",\"c\":\"0.00000505\",\"h\":\"0.00000505\",\"l\":\"0.00000505\",\"v\":\"0.00000000\",\"n\":0,\"x\":true"
            ),
            "TC1: {}",
            m1[59].payload
        );
        // TC2: 1s sends only final messages, one a second
        let s1 = out
            .iter()
            .filter(|m| m.stream.kind == StreamKind::Kline(KlineInterval::S1))
            .count();
        assert_eq!(s1, 120, "TC2");
        // TC3: REST 1m lists both closed minutes plus the open one (most recent first cut)
        let body = k.rest(KlineInterval::M1, None, None, 2).expect("rest");
        assert!(
            body.starts_with(&format!("[[{},", t0 + 60_000)),
            "TC3: {body}"
        );
        // TC4: a 5m window merges minutes: opens at the first trade, not the empty minute
        let body = k.rest(KlineInterval::M5, None, None, 10).expect("rest");
        assert!(
            body.contains(
                "\"0.00000510\",\"0.00000510\",\"0.00000505\",\"0.00000505\",\"0.00000005\""
            ),
            "TC4: {body}"
        );
        // TC5: start > end is Binance's -1023
        assert!(matches!(
            k.rest(KlineInterval::M1, Some(2), Some(1), 10),
            Err(RestError::BadParameter { code: -1023, .. })
        ));
        // TC6: startTime filters by open time
        let body = k
            .rest(KlineInterval::M1, Some(t0 + 1), None, 10)
            .expect("rest");
        assert!(
            body.starts_with(&format!("[[{},", t0 + 60_000)),
            "TC6: {body}"
        );
    }

    #[test]
    fn halted_windows_are_not_opened() {
        let mut k = Klines::new(0, "X", Scale::E8, 1);
        let mut out = Vec::new();
        let t0 = 1_700_000_040_000;
        // TC0: while not trading nothing opens and nothing is sent
        k.advance(t0, false, &all, &mut out);
        k.advance(t0 + 60_000, false, &all, &mut out);
        assert!(out.is_empty(), "TC0");
        assert!(k.running(KlineInterval::M1).is_none(), "TC0");
        // TC1: trading resumes: the window holding now opens
        k.advance(t0 + 90_000, true, &all, &mut out);
        assert_eq!(
            k.running(KlineInterval::M1).map(|a| a.open_ms),
            Some(t0 + 60_000),
            "TC1"
        );
    }
}
