//! The simulator's own order book: a `BTreeMap` per side (price units -> quantity units)
//! with Binance's update-id bookkeeping, and the diff batches the depth streams are cut
//! from.
//!
//! Deliberately simple and independent of the engine's tick-indexed arena (the feed is
//! tested against this book, so it must not share code with it). Off the hot path: one
//! market thread, a few thousand changes a second.

use std::collections::BTreeMap;

use super::json;
use crate::feed::fixed::Increment;

/// Which side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookSide {
    /// Buy orders (`b`, `bids`).
    Bid,
    /// Sell orders (`a`, `asks`).
    Ask,
}

/// Conversion of a market's integer units (ticks of `tickSize`, lots of `stepSize`, or
/// plain `1e-8` units) to the e8 values the JSON writers print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    /// e8 per price unit (`tickSize * 1e8`).
    pub price_e8: i64,
    /// e8 per quantity unit (`stepSize * 1e8`).
    pub qty_e8: i64,
}

impl Scale {
    /// Prices and quantities already in `1e-8` units (the replay keeps the wire's units).
    pub const E8: Scale = Scale {
        price_e8: 1,
        qty_e8: 1,
    };

    /// The scale of a tick and a lot increment; `None` when either has more than 8
    /// decimals (Binance prints 8, so such a filter cannot be written exactly) or
    /// overflows.
    pub fn from_increments(tick: Increment, lot: Increment) -> Option<Scale> {
        Some(Scale {
            price_e8: increment_e8(tick)?,
            qty_e8: increment_e8(lot)?,
        })
    }

    /// A price in units as e8.
    #[inline]
    pub fn price(self, units: i64) -> i64 {
        units.saturating_mul(self.price_e8)
    }

    /// A quantity in units as e8.
    #[inline]
    pub fn qty(self, units: i64) -> i64 {
        units.saturating_mul(self.qty_e8)
    }
}

/// An increment as e8, or `None` past 8 decimals.
pub fn increment_e8(inc: Increment) -> Option<i64> {
    let shift = 8u32.checked_sub(u32::from(inc.decimals()))?;
    inc.units().checked_mul(10i64.checked_pow(shift)?)
}

/// Best bid and best ask `(price, qty)` in units; either may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Top {
    /// Highest bid.
    pub bid: Option<(i64, i64)>,
    /// Lowest ask.
    pub ask: Option<(i64, i64)>,
}

/// A price-level book with the id of the last change applied to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimBook {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    last_update_id: u64,
}

impl SimBook {
    /// An empty book whose last update id is `last_update_id`.
    pub fn new(last_update_id: u64) -> SimBook {
        SimBook {
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            last_update_id,
        }
    }

    /// The id of the last change (a snapshot taken now carries it as `lastUpdateId`).
    pub fn last_update_id(&self) -> u64 {
        self.last_update_id
    }

    /// Records that changes up to `id` are applied.
    pub fn set_last_update_id(&mut self, id: u64) {
        self.last_update_id = id;
    }

    /// Sets a level's absolute quantity (0 removes it, as in a Binance diff); returns the
    /// previous quantity (0 when there was none).
    pub fn set(&mut self, side: BookSide, price: i64, qty: i64) -> i64 {
        let map = self.side_mut(side);
        if qty <= 0 {
            map.remove(&price).unwrap_or(0)
        } else {
            map.insert(price, qty).unwrap_or(0)
        }
    }

    /// A level's quantity, 0 when absent.
    pub fn qty(&self, side: BookSide, price: i64) -> i64 {
        self.side(side).get(&price).copied().unwrap_or(0)
    }

    /// Number of levels on a side.
    pub fn depth(&self, side: BookSide) -> usize {
        self.side(side).len()
    }

    /// Best bid and ask.
    pub fn top(&self) -> Top {
        Top {
            bid: self.bids.iter().next_back().map(|(&p, &q)| (p, q)),
            ask: self.asks.iter().next().map(|(&p, &q)| (p, q)),
        }
    }

    /// True when the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        matches!(self.top(), Top { bid: Some((b, _)), ask: Some((a, _)) } if b >= a)
    }

    /// Up to `n` levels of a side, best first.
    pub fn levels(&self, side: BookSide, n: usize) -> Vec<(i64, i64)> {
        match side {
            BookSide::Bid => self
                .bids
                .iter()
                .rev()
                .take(n)
                .map(|(&p, &q)| (p, q))
                .collect(),
            BookSide::Ask => self.asks.iter().take(n).map(|(&p, &q)| (p, q)).collect(),
        }
    }

    /// The whole side as a map (tests compare books with it).
    pub fn side(&self, side: BookSide) -> &BTreeMap<i64, i64> {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    fn side_mut(&mut self, side: BookSide) -> &mut BTreeMap<i64, i64> {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }

    /// `{"lastUpdateId":..,"bids":[..],"asks":[..]}` with the best `limit` levels a side:
    /// the body of `GET /api/v3/depth` and of the partial depth streams.
    pub fn levels_json(&self, limit: usize, scale: Scale) -> String {
        let mut out = String::with_capacity(64 + limit.min(5000) * 2 * 40);
        let bids = self.bids.iter().rev().take(limit);
        let asks = self.asks.iter().take(limit);
        json::depth_levels(
            &mut out,
            self.last_update_id,
            bids.map(|(&p, &q)| (scale.price(p), scale.qty(q))),
            asks.map(|(&p, &q)| (scale.price(p), scale.qty(q))),
        );
        out
    }

    /// The bookTicker body for the current top, `None` while a side is empty (Binance has
    /// no ticker for a one-sided book).
    pub fn book_ticker_json(&self, symbol: &str, scale: Scale) -> Option<String> {
        let top = self.top();
        let (bid, ask) = (top.bid?, top.ask?);
        let mut out = String::with_capacity(128);
        json::book_ticker(
            &mut out,
            self.last_update_id,
            symbol,
            (scale.price(bid.0), scale.qty(bid.1)),
            (scale.price(ask.0), scale.qty(ask.1)),
        );
        Some(out)
    }
}

/// The net level changes of a run of consecutive update ids (`U..=u`): what one
/// `depthUpdate` message carries. A level changed twice appears once, with its final
/// quantity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffBatch {
    first_id: Option<u64>,
    last_id: u64,
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

impl DiffBatch {
    /// Notes that update id `id` belongs to the batch (ids must grow by one).
    pub fn note_id(&mut self, id: u64) {
        if self.first_id.is_none() {
            self.first_id = Some(id);
        }
        self.last_id = id;
    }

    /// Records a level's new absolute quantity (0: removed).
    pub fn record(&mut self, side: BookSide, price: i64, qty: i64) {
        let map = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        map.insert(price, qty.max(0));
    }

    /// Merges a later batch into this one (for the 1000 ms stream).
    pub fn merge(&mut self, later: &DiffBatch) {
        if let Some(first) = later.first_id {
            self.note_id(first);
            self.last_id = later.last_id;
        }
        self.bids.extend(later.bids.iter().map(|(&p, &q)| (p, q)));
        self.asks.extend(later.asks.iter().map(|(&p, &q)| (p, q)));
    }

    /// `(U, u)` when the batch holds at least one id.
    pub fn ids(&self) -> Option<(u64, u64)> {
        self.first_id.map(|first| (first, self.last_id))
    }

    /// The `depthUpdate` body, bids best first, asks best first; `None` for an empty batch.
    pub fn to_json(&self, symbol: &str, event_ms: i64, scale: Scale) -> Option<String> {
        let (first, last) = self.ids()?;
        let mut out = String::with_capacity(128 + (self.bids.len() + self.asks.len()) * 40);
        json::depth_update(
            &mut out,
            symbol,
            event_ms,
            first,
            last,
            self.bids
                .iter()
                .rev()
                .map(|(&p, &q)| (scale.price(p), scale.qty(q))),
            self.asks
                .iter()
                .map(|(&p, &q)| (scale.price(p), scale.qty(q))),
        );
        Some(out)
    }

    /// Empties the batch for the next run of ids.
    pub fn clear(&mut self) {
        self.first_id = None;
        self.last_id = 0;
        self.bids.clear();
        self.asks.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_table() {
        let mut b = SimBook::new(10);
        // TC0: set / replace / remove return the previous quantity
        assert_eq!(b.set(BookSide::Bid, 100, 5), 0, "TC0");
        assert_eq!(b.set(BookSide::Bid, 100, 7), 5, "TC0");
        assert_eq!(b.set(BookSide::Bid, 99, 1), 0, "TC0");
        assert_eq!(b.set(BookSide::Ask, 101, 2), 0, "TC0");
        assert_eq!(b.set(BookSide::Ask, 103, 3), 0, "TC0");
        // TC1: top is best bid (highest) and best ask (lowest)
        assert_eq!(
            b.top(),
            Top {
                bid: Some((100, 7)),
                ask: Some((101, 2))
            },
            "TC1"
        );
        assert!(!b.is_crossed(), "TC1");
        // TC2: removing a level that is not there is normal
        assert_eq!(b.set(BookSide::Ask, 555, 0), 0, "TC2");
        // TC3: levels best first
        assert_eq!(b.levels(BookSide::Bid, 5), vec![(100, 7), (99, 1)], "TC3");
        assert_eq!(b.levels(BookSide::Ask, 1), vec![(101, 2)], "TC3");
        // TC4: snapshot body with a tick scale of 0.01 and lots of 0.00001
        let scale = Scale::from_increments(
            Increment::parse("0.01").expect("tick"),
            Increment::parse("0.00001").expect("lot"),
        )
        .expect("scale");
        assert_eq!(
            b.levels_json(1, scale),
            r#"{"lastUpdateId":10,"bids":[["1.00000000","0.00007000"]],"asks":[["1.01000000","0.00002000"]]}"#,
            "TC4"
        );
        // TC5: bookTicker carries the book's last update id
        b.set_last_update_id(11);
        assert_eq!(
            b.book_ticker_json("BTCUSDT", scale).as_deref(),
            Some(
                r#"{"u":11,"s":"BTCUSDT","b":"1.00000000","B":"0.00007000","a":"1.01000000","A":"0.00002000"}"#
            ),
            "TC5"
        );
        // TC6: crossed detection
        b.set(BookSide::Bid, 101, 1);
        assert!(b.is_crossed(), "TC6");
        // TC7: no ticker for a one-sided book
        let one = SimBook::new(1);
        assert_eq!(one.book_ticker_json("X", Scale::E8), None, "TC7");
    }

    #[test]
    fn diff_batches() {
        let mut d = DiffBatch::default();
        // TC0: empty batch has no body
        assert_eq!(d.to_json("X", 1, Scale::E8), None, "TC0");
        d.note_id(5);
        d.record(BookSide::Bid, 10, 1);
        d.record(BookSide::Bid, 12, 3);
        d.note_id(6);
        d.record(BookSide::Bid, 10, 0);
        d.record(BookSide::Ask, 20, 4);
        d.record(BookSide::Ask, 15, 2);
        // TC1: U/u of the run, last quantity per level, bids descending, asks ascending
        assert_eq!(
            d.to_json("X", 7, Scale::E8).as_deref(),
            Some(
                r#"{"e":"depthUpdate","E":7,"s":"X","U":5,"u":6,"b":[["0.00000012","0.00000003"],["0.00000010","0.00000000"]],"a":[["0.00000015","0.00000002"],["0.00000020","0.00000004"]]}"#
            ),
            "TC1"
        );
        // TC2: merging keeps U of the first and u of the last
        let mut later = DiffBatch::default();
        later.note_id(7);
        later.record(BookSide::Bid, 12, 9);
        let mut merged = d.clone();
        merged.merge(&later);
        assert_eq!(merged.ids(), Some((5, 7)), "TC2");
        assert_eq!(merged.bids.get(&12), Some(&9), "TC2");
        // TC3: clear
        merged.clear();
        assert_eq!(merged.ids(), None, "TC3");
    }

    #[test]
    fn scale_table() {
        let cases: &[(&str, Option<i64>)] = &[
            // TC0: BTCUSDT tick
            ("0.01", Some(1_000_000)),
            // TC1: 8 decimals
            ("0.00000001", Some(1)),
            // TC2: a whole step
            ("1", Some(100_000_000)),
            // TC3: 9 decimals cannot be printed by Binance
            ("0.000000001", None),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let inc = Increment::parse(text).expect("increment");
            assert_eq!(increment_e8(inc), *want, "TC{i}");
        }
    }
}
