//! A price-level book indexed by integer tick, with every byte allocated up front.
//!
//! Each side keeps a dense window of `window_ticks` slots (a power of two). A price's slot is
//! `price & (window_ticks - 1)`, so the window is a ring: re-centring moves only the levels
//! that leave or enter the window, never the ones that stay. A bitmap with one bit per slot
//! lets the next occupied slot be found 64 slots at a time.
//!
//! Levels outside the window go to a sorted overflow (best first) whose capacity is fixed at
//! construction; when it is full, `set` returns [`BookError::OverflowFull`] and changes
//! nothing, so a level is never lost silently (the caller resyncs).
//!
//! Costs: `set` inside the window is O(1); removing the best level scans the bitmap to the
//! next occupied slot, at most `window_ticks / 64` words (1,024 for 65,536 slots). A set
//! outside the window is a binary search plus a shift of the overflow (O(overflow_capacity)).
//! A re-centre (when the best price comes within `window_ticks / 8` of the window's edge)
//! costs O(window_ticks / 64 + overflow_capacity) and happens only when the market has moved
//! by many ticks.

use crate::feed::Side;

/// One price level: a price in ticks and the resting quantity in lots (always > 0 in a book).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Level {
    /// Price in exchange ticks (> 0).
    pub price_ticks: i64,
    /// Quantity in exchange lots (> 0).
    pub qty_lots: i64,
}

/// Why a [`Book::set`] was refused. The book is unchanged whenever one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    /// A price of zero or below cannot come from the exchange: the message is corrupt.
    #[error("price {price_ticks} ticks is not positive")]
    InvalidPrice {
        /// The offending price.
        price_ticks: i64,
    },
    /// A negative quantity cannot come from the exchange: the message is corrupt.
    #[error("quantity {qty_lots} lots is negative")]
    NegativeQty {
        /// The offending quantity.
        qty_lots: i64,
    },
    /// The level lies outside the window and the side's overflow is full; the caller must
    /// resync (and should size the overflow larger).
    #[error("{side:?} overflow is full; resync the book")]
    OverflowFull {
        /// The side whose overflow is full.
        side: Side,
    },
}

impl BookError {
    /// Whether a resync with a fresh snapshot can cure the error (only a full overflow can;
    /// a corrupt price or quantity will be corrupt again).
    pub fn is_retryable(&self) -> bool {
        matches!(self, BookError::OverflowFull { .. })
    }
}

/// One side of the book: the ring window, its bitmap and the sorted overflow.
#[derive(Debug)]
struct SideBook {
    is_bid: bool,
    /// Lowest price the window covers; the window is `[base, base + window)`.
    base: i64,
    /// Whether `base` has been placed (false until the first level after `clear`).
    placed: bool,
    qty: Box<[i64]>,
    bits: Box<[u64]>,
    /// Best occupied price in the window, if any.
    best_window: Option<i64>,
    window_len: usize,
    /// Levels outside the window, best first; never grows past its initial capacity.
    overflow: Vec<Level>,
    overflow_cap: usize,
}

impl SideBook {
    fn new(is_bid: bool, window: usize, overflow_cap: usize) -> SideBook {
        SideBook {
            is_bid,
            base: 0,
            placed: false,
            qty: vec![0; window].into_boxed_slice(),
            bits: vec![0; window / 64].into_boxed_slice(),
            best_window: None,
            window_len: 0,
            overflow: Vec::with_capacity(overflow_cap),
            overflow_cap,
        }
    }

    #[inline(always)]
    fn window(&self) -> i64 {
        self.qty.len() as i64
    }

    #[inline(always)]
    fn slot(&self, price: i64) -> usize {
        (price & (self.window() - 1)) as usize
    }

    #[inline(always)]
    fn in_window(&self, price: i64) -> bool {
        price >= self.base && price < self.base + self.window()
    }

    /// `a` is strictly better than `b` on this side.
    #[inline(always)]
    fn better(&self, a: i64, b: i64) -> bool {
        if self.is_bid {
            a > b
        } else {
            a < b
        }
    }

    fn clear(&mut self) {
        if self.window_len > 0 {
            // Touch only occupied slots: O(window / 64 + len).
            let mut p = self.base;
            let hi = self.base + self.window() - 1;
            while let Some(found) = self.next_occupied(p, hi) {
                let s = self.slot(found);
                self.qty[s] = 0;
                p = found + 1;
            }
            self.bits.iter_mut().for_each(|w| *w = 0);
        }
        self.window_len = 0;
        self.best_window = None;
        self.overflow.clear();
        self.placed = false;
    }

    fn len(&self) -> usize {
        self.window_len + self.overflow.len()
    }

    /// Lowest occupied window price in `[from, to]` (both inside the window).
    fn next_occupied(&self, from: i64, to: i64) -> Option<i64> {
        let mut cur = from;
        let mut remaining = to - from + 1;
        while remaining > 0 {
            let s = self.slot(cur);
            let bit = (s & 63) as i64;
            let avail = (64 - bit).min(remaining);
            let mut word = self.bits[s >> 6] >> bit;
            if avail < 64 {
                word &= (1u64 << avail) - 1;
            }
            if word != 0 {
                return Some(cur + word.trailing_zeros() as i64);
            }
            cur += avail;
            remaining -= avail;
        }
        None
    }

    /// Highest occupied window price in `[to, from]` (both inside the window).
    fn prev_occupied(&self, from: i64, to: i64) -> Option<i64> {
        let mut cur = from;
        let mut remaining = from - to + 1;
        while remaining > 0 {
            let s = self.slot(cur);
            let bit = (s & 63) as i64;
            let avail = (bit + 1).min(remaining);
            let lb = bit + 1 - avail;
            // Keep bits lb..=bit.
            let mut word = self.bits[s >> 6];
            if bit < 63 {
                word &= (1u64 << (bit + 1)) - 1;
            }
            word &= !((1u64 << lb) - 1);
            if word != 0 {
                let hb = 63 - word.leading_zeros() as i64;
                return Some(cur - (bit - hb));
            }
            cur -= avail;
            remaining -= avail;
        }
        None
    }

    /// Best occupied window price strictly worse than `price`, if any.
    fn window_after(&self, price: i64) -> Option<i64> {
        if self.is_bid {
            (price > self.base).then(|| self.prev_occupied(price - 1, self.base))?
        } else {
            let hi = self.base + self.window() - 1;
            (price < hi).then(|| self.next_occupied(price + 1, hi))?
        }
    }

    /// Best occupied window price, scanning from the best end of the window.
    fn scan_window_best(&self) -> Option<i64> {
        let hi = self.base + self.window() - 1;
        if self.is_bid {
            self.prev_occupied(hi, self.base)
        } else {
            self.next_occupied(self.base, hi)
        }
    }

    fn window_put(&mut self, price: i64, qty: i64) {
        let s = self.slot(price);
        if self.qty[s] == 0 {
            self.window_len += 1;
            self.bits[s >> 6] |= 1u64 << (s & 63);
            match self.best_window {
                Some(b) if !self.better(price, b) => {}
                _ => self.best_window = Some(price),
            }
        }
        self.qty[s] = qty;
    }

    fn window_remove(&mut self, price: i64) {
        let s = self.slot(price);
        if self.qty[s] == 0 {
            return;
        }
        self.qty[s] = 0;
        self.bits[s >> 6] &= !(1u64 << (s & 63));
        self.window_len -= 1;
        if self.best_window == Some(price) {
            self.best_window = self.window_after(price);
        }
    }

    /// Position of `price` in the best-first overflow.
    fn overflow_search(&self, price: i64) -> Result<usize, usize> {
        if self.is_bid {
            self.overflow
                .binary_search_by(|l| price.cmp(&l.price_ticks))
        } else {
            self.overflow
                .binary_search_by(|l| l.price_ticks.cmp(&price))
        }
    }

    fn overflow_set(&mut self, side: Side, price: i64, qty: i64) -> Result<(), BookError> {
        match self.overflow_search(price) {
            Ok(i) if qty == 0 => {
                self.overflow.remove(i);
            }
            Ok(i) => self.overflow[i].qty_lots = qty,
            Err(_) if qty == 0 => {}
            Err(i) => {
                if self.overflow.len() >= self.overflow_cap {
                    return Err(BookError::OverflowFull { side });
                }
                self.overflow.insert(
                    i,
                    Level {
                        price_ticks: price,
                        qty_lots: qty,
                    },
                );
            }
        }
        Ok(())
    }

    fn best(&self) -> Option<Level> {
        let w = self.best_window.map(|p| Level {
            price_ticks: p,
            qty_lots: self.qty[self.slot(p)],
        });
        match (w, self.overflow.first()) {
            (Some(w), Some(o)) => Some(if self.better(o.price_ticks, w.price_ticks) {
                *o
            } else {
                w
            }),
            (w, o) => w.or(o.copied()),
        }
    }

    fn set(&mut self, side: Side, price: i64, qty: i64) -> Result<(), BookError> {
        if !self.placed {
            if qty == 0 {
                return Ok(());
            }
            self.base = price - self.window() / 2;
            self.placed = true;
        }
        if self.in_window(price) {
            if qty == 0 {
                self.window_remove(price);
            } else {
                self.window_put(price, qty);
            }
        } else {
            self.overflow_set(side, price, qty)?;
        }
        self.maybe_recentre();
        Ok(())
    }

    /// Re-centres the window on the best price when that price is within `window / 8` of an
    /// edge (or outside the window). Skipped, with the book still exact, when the overflow
    /// could not hold the levels that would leave the window; the best is then served from
    /// the overflow until a later set makes room.
    fn maybe_recentre(&mut self) {
        let Some(best) = self.best() else {
            return;
        };
        let w = self.window();
        let margin = w / 8;
        let p = best.price_ticks;
        if p >= self.base + margin && p < self.base + w - margin {
            return;
        }
        let new_base = p - w / 2;
        let old_base = self.base;
        // Prices in the old window but not in the new one.
        let (lo, hi) = if new_base > old_base {
            (old_base, (new_base - 1).min(old_base + w - 1))
        } else {
            ((new_base + w).max(old_base), old_base + w - 1)
        };
        let mut outgoing = 0usize;
        if self.window_len > 0 && lo <= hi {
            let mut q = lo;
            while let Some(found) = self.next_occupied(q, hi) {
                outgoing += 1;
                q = found + 1;
            }
        }
        if self.overflow.len() + outgoing > self.overflow_cap {
            return;
        }
        if outgoing > 0 {
            let mut q = lo;
            while let Some(found) = self.next_occupied(q, hi) {
                let qty = self.qty[self.slot(found)];
                self.window_remove(found);
                if let Err(i) = self.overflow_search(found) {
                    self.overflow.insert(
                        i,
                        Level {
                            price_ticks: found,
                            qty_lots: qty,
                        },
                    );
                }
                q = found + 1;
            }
        }
        self.base = new_base;
        // Overflow levels now inside the window are contiguous in the sorted overflow.
        let start = self.overflow.partition_point(|l| {
            if self.is_bid {
                l.price_ticks >= new_base + w
            } else {
                l.price_ticks < new_base
            }
        });
        let end = start
            + self.overflow[start..]
                .partition_point(|l| l.price_ticks >= new_base && l.price_ticks < new_base + w);
        for i in start..end {
            let l = self.overflow[i];
            let s = self.slot(l.price_ticks);
            self.qty[s] = l.qty_lots;
            self.bits[s >> 6] |= 1u64 << (s & 63);
            self.window_len += 1;
        }
        self.overflow.drain(start..end);
        self.best_window = self.scan_window_best();
    }
}

/// A two-sided price-level book with all storage allocated in [`Book::new`].
///
/// Contract: after `new`, no method allocates or frees; `set` is total (every input gives
/// `Ok` or a [`BookError`] that leaves the book unchanged); `levels` and the bests always
/// agree with the sequence of accepted `set` calls, whatever the prices.
#[derive(Debug)]
pub struct Book {
    bids: SideBook,
    asks: SideBook,
}

impl Book {
    /// A book with `window_ticks` dense slots per side and room for `overflow_capacity`
    /// levels per side outside the window. `window_ticks` is rounded up to a power of two of
    /// at least 64 (the bitmap word), so any value is accepted; 65,536 suits BTCUSDT.
    pub fn new(window_ticks: u32, overflow_capacity: usize) -> Book {
        let window = (window_ticks.max(64) as usize).next_power_of_two();
        Book {
            bids: SideBook::new(true, window, overflow_capacity),
            asks: SideBook::new(false, window, overflow_capacity),
        }
    }

    /// The dense window size per side actually used (after rounding).
    pub fn window_ticks(&self) -> u32 {
        self.bids.qty.len() as u32
    }

    /// Removes every level; the next level on each side re-centres that side's window.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    #[inline(always)]
    fn side(&self, side: Side) -> &SideBook {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    /// Sets the level at `price_ticks` to `qty_lots` (0 removes it; removing an absent level
    /// is a no-op). Errors leave the book unchanged: `price_ticks <= 0`, `qty_lots < 0`, or a
    /// new level outside the window with the overflow full.
    #[inline]
    pub fn set(&mut self, side: Side, price_ticks: i64, qty_lots: i64) -> Result<(), BookError> {
        if price_ticks <= 0 {
            return Err(BookError::InvalidPrice { price_ticks });
        }
        if qty_lots < 0 {
            return Err(BookError::NegativeQty { qty_lots });
        }
        match side {
            Side::Bid => self.bids.set(side, price_ticks, qty_lots),
            Side::Ask => self.asks.set(side, price_ticks, qty_lots),
        }
    }

    /// Highest bid, if any.
    #[inline]
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.best()
    }

    /// Lowest ask, if any.
    #[inline]
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.best()
    }

    /// True when both sides are non-empty and the best bid is at or above the best ask: a
    /// book that can never be real, so the caller treats it as lost sync.
    #[inline]
    pub fn is_crossed(&self) -> bool {
        match (self.best_bid(), self.best_ask()) {
            (Some(b), Some(a)) => b.price_ticks >= a.price_ticks,
            _ => false,
        }
    }

    /// Number of levels on `side`.
    pub fn len(&self, side: Side) -> usize {
        self.side(side).len()
    }

    /// True when neither side has a level.
    pub fn is_empty(&self) -> bool {
        self.bids.len() == 0 && self.asks.len() == 0
    }

    /// The levels of `side`, best first (bids descending, asks ascending). Allocates nothing.
    pub fn levels(&self, side: Side) -> Levels<'_> {
        let s = self.side(side);
        Levels {
            side: s,
            next_window: s.best_window,
            next_overflow: 0,
        }
    }
}

/// Iterator over one side's levels, best first; see [`Book::levels`].
#[derive(Debug)]
pub struct Levels<'a> {
    side: &'a SideBook,
    next_window: Option<i64>,
    next_overflow: usize,
}

impl Iterator for Levels<'_> {
    type Item = Level;

    fn next(&mut self) -> Option<Level> {
        let s = self.side;
        let o = s.overflow.get(self.next_overflow).copied();
        let take_overflow = match (self.next_window, o) {
            (Some(w), Some(o)) => s.better(o.price_ticks, w),
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if take_overflow {
            self.next_overflow += 1;
            return o;
        }
        let p = self.next_window?;
        self.next_window = s.window_after(p);
        Some(Level {
            price_ticks: p,
            qty_lots: s.qty[s.slot(p)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn lv(price_ticks: i64, qty_lots: i64) -> Level {
        Level {
            price_ticks,
            qty_lots,
        }
    }

    #[test]
    fn table() {
        struct Case {
            sets: &'static [(Side, i64, i64)],
            bids: &'static [(i64, i64)],
            asks: &'static [(i64, i64)],
            last: Result<(), BookError>,
        }
        use Side::{Ask, Bid};
        let cases = [
            // TC0: empty book
            Case {
                sets: &[],
                bids: &[],
                asks: &[],
                last: Ok(()),
            },
            // TC1: one level each side
            Case {
                sets: &[(Bid, 100, 5), (Ask, 101, 7)],
                bids: &[(100, 5)],
                asks: &[(101, 7)],
                last: Ok(()),
            },
            // TC2: qty 0 removes; best bid moves down
            Case {
                sets: &[(Bid, 100, 5), (Bid, 98, 1), (Bid, 100, 0)],
                bids: &[(98, 1)],
                asks: &[],
                last: Ok(()),
            },
            // TC3: removing an absent level is a no-op
            Case {
                sets: &[(Ask, 50, 1), (Ask, 51, 0)],
                bids: &[],
                asks: &[(50, 1)],
                last: Ok(()),
            },
            // TC4: update in place
            Case {
                sets: &[(Ask, 50, 1), (Ask, 50, 9)],
                bids: &[],
                asks: &[(50, 9)],
                last: Ok(()),
            },
            // TC5: price 0 rejected
            Case {
                sets: &[(Bid, 0, 1)],
                bids: &[],
                asks: &[],
                last: Err(BookError::InvalidPrice { price_ticks: 0 }),
            },
            // TC6: negative qty rejected, book unchanged
            Case {
                sets: &[(Bid, 10, 1), (Bid, 10, -1)],
                bids: &[(10, 1)],
                asks: &[],
                last: Err(BookError::NegativeQty { qty_lots: -1 }),
            },
            // TC7: far levels go to overflow and come back in order (window 64, centred on 1000)
            Case {
                sets: &[(Bid, 1000, 1), (Bid, 10, 2), (Bid, 5000, 3)],
                bids: &[(5000, 3), (1000, 1), (10, 2)],
                asks: &[],
                last: Ok(()),
            },
            // TC8: overflow full (capacity 2) is an error, not a silent drop
            Case {
                sets: &[
                    (Ask, 1000, 1),
                    (Ask, 5000, 1),
                    (Ask, 6000, 1),
                    (Ask, 7000, 1),
                ],
                bids: &[],
                asks: &[(1000, 1), (5000, 1), (6000, 1)],
                last: Err(BookError::OverflowFull { side: Ask }),
            },
            // TC9: best removal scans across several bitmap words after re-centre
            Case {
                sets: &[(Ask, 1000, 1), (Ask, 1020, 2), (Ask, 1000, 0)],
                bids: &[],
                asks: &[(1020, 2)],
                last: Ok(()),
            },
        ];
        for (i, c) in cases.iter().enumerate() {
            let mut b = Book::new(64, 2);
            let mut last = Ok(());
            for &(side, p, q) in c.sets {
                last = b.set(side, p, q);
            }
            let bids: Vec<_> = c.bids.iter().map(|&(p, q)| lv(p, q)).collect();
            let asks: Vec<_> = c.asks.iter().map(|&(p, q)| lv(p, q)).collect();
            assert_eq!(b.levels(Side::Bid).collect::<Vec<_>>(), bids, "TC{i} bids");
            assert_eq!(b.levels(Side::Ask).collect::<Vec<_>>(), asks, "TC{i} asks");
            assert_eq!(b.best_bid(), bids.first().copied(), "TC{i} best bid");
            assert_eq!(b.best_ask(), asks.first().copied(), "TC{i} best ask");
            assert_eq!(b.len(Side::Bid), bids.len(), "TC{i} len");
            assert_eq!(last, c.last, "TC{i} result");
        }
    }

    #[test]
    fn crossed_and_clear() {
        // TC0: bid above ask is crossed; TC1: equal is crossed; TC2: clear empties.
        let mut b = Book::new(1024, 4);
        b.set(Side::Bid, 101, 1).unwrap();
        b.set(Side::Ask, 100, 1).unwrap();
        assert!(b.is_crossed(), "TC0");
        b.set(Side::Bid, 101, 0).unwrap();
        b.set(Side::Bid, 100, 1).unwrap();
        assert!(b.is_crossed(), "TC1");
        b.set(Side::Bid, 100, 0).unwrap();
        assert!(!b.is_crossed());
        b.clear();
        assert!(b.is_empty(), "TC2");
        assert_eq!(b.levels(Side::Ask).count(), 0, "TC2");
        b.set(Side::Ask, 1_000_000, 3).unwrap();
        assert_eq!(b.best_ask(), Some(lv(1_000_000, 3)), "TC2 re-centred");
    }

    fn side_of(bid: bool) -> Side {
        if bid {
            Side::Bid
        } else {
            Side::Ask
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Every step of a random sequence (near prices, far prices, removals) leaves the
        /// arena equal to a BTreeMap reference, both sides, in order.
        #[test]
        fn matches_btreemap(ops in prop::collection::vec(
            (any::<bool>(), prop_oneof![
                4 => 900i64..1100,
                1 => 1i64..100_000,
                1 => 1i64..5_000_000,
            ], prop_oneof![1 => Just(0i64), 3 => 1i64..1000]), 1..400)) {
            let cap = 64;
            let mut book = Book::new(256, cap);
            let mut refs: [BTreeMap<i64, i64>; 2] = [BTreeMap::new(), BTreeMap::new()];
            for (bid, price, qty) in ops {
                let side = side_of(bid);
                let r = &mut refs[usize::from(bid)];
                let res = book.set(side, price, qty);
                match res {
                    Ok(()) => {
                        if qty == 0 { r.remove(&price); } else { r.insert(price, qty); }
                    }
                    Err(BookError::OverflowFull { side: s }) => {
                        prop_assert_eq!(s, side);
                        prop_assert!(!r.contains_key(&price) && qty > 0);
                        prop_assert!(book.side(side).overflow.len() == cap);
                    }
                    Err(e) => prop_assert!(false, "unexpected {e}"),
                }
                let want_bids: Vec<_> = refs[1].iter().rev().map(|(&p, &q)| lv(p, q)).collect();
                let want_asks: Vec<_> = refs[0].iter().map(|(&p, &q)| lv(p, q)).collect();
                prop_assert_eq!(book.levels(Side::Bid).collect::<Vec<_>>(), want_bids.clone());
                prop_assert_eq!(book.levels(Side::Ask).collect::<Vec<_>>(), want_asks.clone());
                prop_assert_eq!(book.best_bid(), want_bids.first().copied());
                prop_assert_eq!(book.best_ask(), want_asks.first().copied());
                prop_assert_eq!(book.len(Side::Bid), want_bids.len());
                prop_assert_eq!(book.len(Side::Ask), want_asks.len());
                for s in [&book.bids, &book.asks] {
                    prop_assert_eq!(s.best_window, s.scan_window_best());
                    prop_assert!(s.overflow.iter().all(|l| !s.in_window(l.price_ticks)));
                }
            }
        }
    }
}
