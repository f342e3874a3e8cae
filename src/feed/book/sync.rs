//! Binance's documented local-book procedure (snapshot + diff stream) over a [`Book`].
//!
//! Until a snapshot is loaded, diffs are buffered in a preallocated buffer. On a snapshot
//! with `lastUpdateId`: buffered diffs with `u <= lastUpdateId` are dropped, the first
//! applied diff must satisfy `U <= lastUpdateId + 1 <= u`, and every later diff must start
//! at the previous `u + 1`. Anything else is a gap: the book is cleared and a new snapshot
//! is needed. A diff wholly at or before the last applied id is an old duplicate and is
//! ignored. A crossed book after a diff is treated like a gap. Nothing here allocates after
//! [`LocalBook::new`].

use crate::feed::book::arena::{Book, BookError};
use crate::feed::Side;

/// Why the book needs a (new) snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncReason {
    /// No snapshot has been loaded yet (or the book was reset).
    NoSnapshot,
    /// A diff did not continue from the last applied id (a message was lost or reordered),
    /// or the first diff after the snapshot did not straddle `lastUpdateId + 1`.
    Gap,
    /// Applying a diff or snapshot left the best bid at or above the best ask.
    Crossed,
    /// A diff larger than the whole pre-snapshot buffer arrived; it could not be kept, so
    /// the pending snapshot cannot be continued. (A buffer that merely fills drops its
    /// oldest diffs instead, counted in `dropped`.)
    BufferOverflow,
    /// A level was refused by the book (overflow full or a corrupt price/quantity).
    Book(BookError),
}

/// What [`LocalBook::on_diff`] / [`LocalBook::on_snapshot`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    /// Stored until a snapshot arrives.
    Buffered,
    /// The book is synced and up to date with this message.
    Applied,
    /// An old duplicate (or a diff already covered by the snapshot); nothing changed.
    Ignored,
    /// The book is not usable; fetch a snapshot and call `on_snapshot`.
    NeedSnapshot(SyncReason),
}

#[derive(Debug, Clone, Copy)]
struct BufferedDiff {
    first_id: u64,
    last_id: u64,
    start: usize,
    n_bids: usize,
    n_asks: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Buffering; no usable book.
    Waiting,
    /// Snapshot loaded, no diff applied yet (the straddle rule applies).
    FirstDiff,
    /// Synced; every diff must start at `last_update_id + 1`.
    Live,
}

enum Decision {
    Ignore,
    Apply,
    Gap,
}

/// A [`Book`] kept in sync with Binance's diff-depth stream.
///
/// Contract: whenever `needs_snapshot()` is false, the book equals the exchange's book as of
/// `last_update_id()`; every fault in the stream is either ignored (old duplicates) or
/// detected (returns `NeedSnapshot`), never applied.
#[derive(Debug)]
pub struct LocalBook {
    book: Book,
    state: State,
    last_update_id: u64,
    diffs: Vec<BufferedDiff>,
    levels: Vec<(i64, i64)>,
    /// Requested capacities (a `Vec` may hold more; these are the limits we promise).
    max_diffs: usize,
    max_levels: usize,
    gaps: u64,
    resyncs: u64,
    dropped: u64,
    duplicates: u64,
}

impl LocalBook {
    /// A local book over `Book::new(window_ticks, overflow_capacity)`, buffering at most
    /// `buffer_diffs` diffs holding at most `buffer_levels` levels in all before a snapshot.
    pub fn new(
        window_ticks: u32,
        overflow_capacity: usize,
        buffer_diffs: usize,
        buffer_levels: usize,
    ) -> LocalBook {
        LocalBook {
            book: Book::new(window_ticks, overflow_capacity),
            state: State::Waiting,
            last_update_id: 0,
            diffs: Vec::with_capacity(buffer_diffs),
            levels: Vec::with_capacity(buffer_levels),
            max_diffs: buffer_diffs,
            max_levels: buffer_levels,
            gaps: 0,
            resyncs: 0,
            dropped: 0,
            duplicates: 0,
        }
    }

    /// Forgets the book and every buffered diff and waits for a new snapshot, keeping
    /// every buffer's capacity: the md thread calls this when the symbol's connection goes
    /// down, so a reconnect allocates nothing. The counters ([`LocalBook::gaps`] and the
    /// others) are totals since construction and are kept.
    pub fn reset(&mut self) {
        self.book.clear();
        self.state = State::Waiting;
        self.last_update_id = 0;
        self.diffs.clear();
        self.levels.clear();
    }

    /// True until a snapshot is loaded, and again after any gap.
    pub fn needs_snapshot(&self) -> bool {
        self.state == State::Waiting
    }

    /// The id the book is current to (the snapshot's `lastUpdateId` or the last applied
    /// diff's `u`); 0 before the first snapshot. Meaningless while `needs_snapshot()`.
    pub fn last_update_id(&self) -> u64 {
        self.last_update_id
    }

    /// The book; only meaningful while `needs_snapshot()` is false.
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// Gaps detected (lost, reordered or non-straddling diffs, crossed books, refused
    /// levels) since construction.
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// Snapshots loaded since construction.
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// Buffered diffs thrown away because the buffer overflowed before a snapshot.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Diffs ignored as old duplicates (including those already covered by the snapshot).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    fn decide(&self, first_id: u64, last_id: u64) -> Decision {
        let next = self.last_update_id.wrapping_add(1);
        if last_id <= self.last_update_id {
            return Decision::Ignore;
        }
        match self.state {
            State::FirstDiff if first_id <= next => Decision::Apply,
            State::Live if first_id == next => Decision::Apply,
            _ => Decision::Gap,
        }
    }

    fn apply(book: &mut Book, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> Result<(), SyncReason> {
        for &(p, q) in bids {
            book.set(Side::Bid, p, q).map_err(SyncReason::Book)?;
        }
        for &(p, q) in asks {
            book.set(Side::Ask, p, q).map_err(SyncReason::Book)?;
        }
        if book.is_crossed() {
            return Err(SyncReason::Crossed);
        }
        Ok(())
    }

    #[cold]
    fn lose_sync(&mut self) {
        self.gaps += 1;
        self.book.clear();
        self.state = State::Waiting;
    }

    /// Stores a diff for replay after the next snapshot. On overflow the oldest buffered
    /// diffs make room (counted in `dropped`): the pending snapshot's `lastUpdateId` is
    /// newer than the diffs that were buffered first, so the newest ones are those it needs;
    /// if it turns out older than every kept diff, [`LocalBook::on_snapshot`] says so and the
    /// caller fetches another.
    fn buffer(
        &mut self,
        first_id: u64,
        last_id: u64,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) -> SyncStatus {
        let n = bids.len() + asks.len();
        if self.max_diffs == 0 || n > self.max_levels {
            self.dropped += 1;
            return SyncStatus::NeedSnapshot(SyncReason::BufferOverflow);
        }
        let mut oldest_kept = 0;
        let mut levels_freed = 0;
        while self.diffs.len() - oldest_kept >= self.max_diffs
            || self.levels.len() - levels_freed + n > self.max_levels
        {
            let d = self.diffs[oldest_kept];
            levels_freed = d.start + d.n_bids + d.n_asks;
            oldest_kept += 1;
        }
        if oldest_kept > 0 {
            self.dropped += oldest_kept as u64;
            self.diffs.drain(..oldest_kept);
            self.levels.drain(..levels_freed);
            for d in &mut self.diffs {
                d.start -= levels_freed;
            }
        }
        let start = self.levels.len();
        self.levels.extend_from_slice(bids);
        self.levels.extend_from_slice(asks);
        self.diffs.push(BufferedDiff {
            first_id,
            last_id,
            start,
            n_bids: bids.len(),
            n_asks: asks.len(),
        });
        SyncStatus::Buffered
    }

    /// Feeds one diff-depth event (`U` = `first_id`, `u` = `last_id`).
    pub fn on_diff(
        &mut self,
        first_id: u64,
        last_id: u64,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) -> SyncStatus {
        if self.state == State::Waiting {
            return self.buffer(first_id, last_id, bids, asks);
        }
        match self.decide(first_id, last_id) {
            Decision::Ignore => {
                self.duplicates += 1;
                SyncStatus::Ignored
            }
            Decision::Apply => match Self::apply(&mut self.book, bids, asks) {
                Ok(()) => {
                    self.last_update_id = last_id;
                    self.state = State::Live;
                    SyncStatus::Applied
                }
                Err(reason) => {
                    self.lose_sync();
                    SyncStatus::NeedSnapshot(reason)
                }
            },
            Decision::Gap => {
                self.lose_sync();
                // Keep the diff: it may continue the next snapshot.
                if let SyncStatus::NeedSnapshot(r) = self.buffer(first_id, last_id, bids, asks) {
                    return SyncStatus::NeedSnapshot(r);
                }
                SyncStatus::NeedSnapshot(SyncReason::Gap)
            }
        }
    }

    /// Loads a REST depth snapshot and replays the buffered diffs after it. Returns
    /// `Applied` when the book is synced, `NeedSnapshot` when the snapshot or a buffered diff
    /// could not be used (the diffs from the offending one on stay buffered).
    pub fn on_snapshot(
        &mut self,
        last_update_id: u64,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) -> SyncStatus {
        self.book.clear();
        if let Err(reason) = Self::apply(&mut self.book, bids, asks) {
            self.book.clear();
            self.state = State::Waiting;
            self.gaps += 1;
            return SyncStatus::NeedSnapshot(reason);
        }
        self.resyncs += 1;
        self.last_update_id = last_update_id;
        self.state = State::FirstDiff;
        for i in 0..self.diffs.len() {
            let d = self.diffs[i];
            let outcome = match self.decide(d.first_id, d.last_id) {
                Decision::Ignore => {
                    self.duplicates += 1;
                    Ok(false)
                }
                Decision::Apply => {
                    let b = &self.levels[d.start..d.start + d.n_bids];
                    let a = &self.levels[d.start + d.n_bids..d.start + d.n_bids + d.n_asks];
                    Self::apply(&mut self.book, b, a).map(|()| true)
                }
                Decision::Gap => Err(SyncReason::Gap),
            };
            match outcome {
                Ok(true) => {
                    self.last_update_id = d.last_id;
                    self.state = State::Live;
                }
                Ok(false) => {}
                Err(reason) => {
                    self.lose_sync();
                    // Keep diffs i.. for the next snapshot (drain never allocates).
                    let shift = d.start;
                    self.diffs.drain(..i);
                    self.levels.drain(..shift);
                    self.diffs.iter_mut().for_each(|x| x.start -= shift);
                    return SyncStatus::NeedSnapshot(reason);
                }
            }
        }
        self.diffs.clear();
        self.levels.clear();
        SyncStatus::Applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::book::arena::Level;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// One event in a table case.
    #[derive(Clone, Copy)]
    enum Ev {
        Diff(u64, u64, &'static [(i64, i64)], &'static [(i64, i64)]),
        Snap(u64, &'static [(i64, i64)], &'static [(i64, i64)]),
    }
    use Ev::{Diff, Snap};
    use SyncStatus::{Applied, Buffered, Ignored, NeedSnapshot};

    const B1: &[(i64, i64)] = &[(100, 1)];
    const B2: &[(i64, i64)] = &[(99, 2)];
    const A1: &[(i64, i64)] = &[(101, 1)];
    const A_CROSS: &[(i64, i64)] = &[(100, 5)];
    const NONE: &[(i64, i64)] = &[];

    #[test]
    fn table() {
        struct Case {
            evs: &'static [Ev],
            want: &'static [SyncStatus],
            needs_snapshot: bool,
            last_id: u64,
            bids: &'static [(i64, i64)],
            counters: (u64, u64, u64, u64), // gaps, resyncs, dropped, duplicates
        }
        let cases = [
            // TC0: before the snapshot, diffs are buffered
            Case {
                evs: &[Diff(1, 3, B1, NONE)],
                want: &[Buffered],
                needs_snapshot: true,
                last_id: 0,
                bids: &[],
                counters: (0, 0, 0, 0),
            },
            // TC1: snapshot with no buffer is applied
            Case {
                evs: &[Snap(10, B1, A1)],
                want: &[Applied],
                needs_snapshot: false,
                last_id: 10,
                bids: &[(100, 1)],
                counters: (0, 1, 0, 0),
            },
            // TC2: buffered diffs with u <= lastUpdateId dropped; straddling diff applied
            Case {
                evs: &[
                    Diff(5, 8, B2, NONE),
                    Diff(9, 12, B2, NONE),
                    Snap(10, B1, A1),
                ],
                want: &[Buffered, Buffered, Applied],
                needs_snapshot: false,
                last_id: 12,
                bids: &[(100, 1), (99, 2)],
                counters: (0, 1, 0, 1),
            },
            // TC3: first diff after snapshot not straddling (U > lastUpdateId+1) => gap
            Case {
                evs: &[Snap(10, B1, A1), Diff(12, 13, B2, NONE)],
                want: &[Applied, NeedSnapshot(SyncReason::Gap)],
                needs_snapshot: true,
                last_id: 10,
                bids: &[],
                counters: (1, 1, 0, 0),
            },
            // TC4: first diff straddles exactly at U == lastUpdateId+1
            Case {
                evs: &[Snap(10, B1, A1), Diff(11, 11, B2, NONE)],
                want: &[Applied, Applied],
                needs_snapshot: false,
                last_id: 11,
                bids: &[(100, 1), (99, 2)],
                counters: (0, 1, 0, 0),
            },
            // TC5: later diffs must be consecutive; a skipped id is a gap
            Case {
                evs: &[
                    Snap(10, B1, A1),
                    Diff(11, 12, NONE, NONE),
                    Diff(14, 15, B2, NONE),
                ],
                want: &[Applied, Applied, NeedSnapshot(SyncReason::Gap)],
                needs_snapshot: true,
                last_id: 12,
                bids: &[],
                counters: (1, 1, 0, 0),
            },
            // TC6: old duplicate ignored, counted; book unchanged
            Case {
                evs: &[
                    Snap(10, B1, A1),
                    Diff(11, 12, B2, NONE),
                    Diff(11, 12, &[(99, 0)], NONE),
                ],
                want: &[Applied, Applied, Ignored],
                needs_snapshot: false,
                last_id: 12,
                bids: &[(100, 1), (99, 2)],
                counters: (0, 1, 0, 1),
            },
            // TC7: overlapping (U <= last u < u) after sync is a gap, not a partial apply
            Case {
                evs: &[
                    Snap(10, B1, A1),
                    Diff(11, 12, NONE, NONE),
                    Diff(12, 13, B2, NONE),
                ],
                want: &[Applied, Applied, NeedSnapshot(SyncReason::Gap)],
                needs_snapshot: true,
                last_id: 12,
                bids: &[],
                counters: (1, 1, 0, 0),
            },
            // TC8: a diff that crosses the book is treated like a gap
            Case {
                evs: &[Snap(10, B1, A1), Diff(11, 11, NONE, A_CROSS)],
                want: &[Applied, NeedSnapshot(SyncReason::Crossed)],
                needs_snapshot: true,
                last_id: 10,
                bids: &[],
                counters: (1, 1, 0, 0),
            },
            // TC9: buffer overflow (capacity 2 diffs) drops the oldest diff and keeps the
            // newest, which a snapshot taken after the first diff still continues from
            Case {
                evs: &[
                    Diff(1, 1, NONE, NONE),
                    Diff(2, 2, NONE, NONE),
                    Diff(3, 3, B2, NONE),
                    Snap(1, B1, A1),
                ],
                want: &[Buffered, Buffered, Buffered, Applied],
                needs_snapshot: false,
                last_id: 3,
                bids: &[(100, 1), (99, 2)],
                counters: (0, 1, 1, 0),
            },
            // TC10: buffered diffs not straddling the snapshot => gap on snapshot, diff kept
            Case {
                evs: &[Diff(20, 21, B2, NONE), Snap(10, B1, A1), Snap(19, B1, A1)],
                want: &[Buffered, NeedSnapshot(SyncReason::Gap), Applied],
                needs_snapshot: false,
                last_id: 21,
                bids: &[(100, 1), (99, 2)],
                counters: (1, 2, 0, 0),
            },
            // TC11: after a gap, the gapping diff is buffered and replayed on the next snapshot
            Case {
                evs: &[Snap(10, B1, A1), Diff(15, 16, B2, NONE), Snap(14, B1, A1)],
                want: &[Applied, NeedSnapshot(SyncReason::Gap), Applied],
                needs_snapshot: false,
                last_id: 16,
                bids: &[(100, 1), (99, 2)],
                counters: (1, 2, 0, 0),
            },
            // TC12: a crossed snapshot is refused
            Case {
                evs: &[Snap(10, B1, A_CROSS)],
                want: &[NeedSnapshot(SyncReason::Crossed)],
                needs_snapshot: true,
                last_id: 0,
                bids: &[],
                counters: (1, 0, 0, 0),
            },
            // TC13: a corrupt level is refused, not applied
            Case {
                evs: &[Snap(10, B1, A1), Diff(11, 11, &[(0, 1)], NONE)],
                want: &[
                    Applied,
                    NeedSnapshot(SyncReason::Book(BookError::InvalidPrice { price_ticks: 0 })),
                ],
                needs_snapshot: true,
                last_id: 10,
                bids: &[],
                counters: (1, 1, 0, 0),
            },
            // TC14: a stale diff right after the snapshot is ignored, the next one straddles
            Case {
                evs: &[
                    Snap(10, B1, A1),
                    Diff(8, 9, B2, NONE),
                    Diff(9, 11, B2, NONE),
                ],
                want: &[Applied, Ignored, Applied],
                needs_snapshot: false,
                last_id: 11,
                bids: &[(100, 1), (99, 2)],
                counters: (0, 1, 0, 1),
            },
        ];
        for (i, c) in cases.iter().enumerate() {
            let mut lb = LocalBook::new(1024, 16, 2, 64);
            assert!(lb.needs_snapshot(), "TC{i} fresh");
            let got: Vec<SyncStatus> = c
                .evs
                .iter()
                .map(|e| match *e {
                    Diff(u0, u1, b, a) => lb.on_diff(u0, u1, b, a),
                    Snap(id, b, a) => lb.on_snapshot(id, b, a),
                })
                .collect();
            assert_eq!(got, c.want, "TC{i} statuses");
            assert_eq!(
                lb.needs_snapshot(),
                c.needs_snapshot,
                "TC{i} needs_snapshot"
            );
            if !c.needs_snapshot {
                assert_eq!(lb.last_update_id(), c.last_id, "TC{i} last id");
            }
            let bids: Vec<Level> = c
                .bids
                .iter()
                .map(|&(price_ticks, qty_lots)| Level {
                    price_ticks,
                    qty_lots,
                })
                .collect();
            assert_eq!(
                lb.book().levels(Side::Bid).collect::<Vec<_>>(),
                bids,
                "TC{i} bids"
            );
            assert_eq!(
                (lb.gaps(), lb.resyncs(), lb.dropped(), lb.duplicates()),
                c.counters,
                "TC{i} counters"
            );
        }
    }

    type RefBook = (BTreeMap<i64, i64>, BTreeMap<i64, i64>);
    type RefDiff = (u64, u64, Vec<(i64, i64)>, Vec<(i64, i64)>);

    fn ref_apply(r: &mut RefBook, d: &RefDiff) {
        for &(p, q) in &d.2 {
            if q == 0 {
                r.0.remove(&p);
            } else {
                r.0.insert(p, q);
            }
        }
        for &(p, q) in &d.3 {
            if q == 0 {
                r.1.remove(&p);
            } else {
                r.1.insert(p, q);
            }
        }
    }

    fn to_vec(m: &BTreeMap<i64, i64>) -> Vec<(i64, i64)> {
        m.iter().map(|(&p, &q)| (p, q)).collect()
    }

    fn levels(b: &Book, side: Side) -> Vec<(i64, i64)> {
        let mut v: Vec<_> = b
            .levels(side)
            .map(|l| (l.price_ticks, l.qty_lots))
            .collect();
        v.sort_unstable();
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// A valid stream with drops, duplicates and swaps injected: whenever the book says
        /// it is synced, it equals the reference built from the unfaulted stream at that id.
        #[test]
        fn faults_are_ignored_or_detected(
            widths in prop::collection::vec(1u64..4, 1..120),
            lvls in prop::collection::vec(
                (prop::collection::vec((1i64..1000, 0i64..5), 0..4),
                 prop::collection::vec((1001i64..2000, 0i64..5), 0..4)), 120),
            faults in prop::collection::vec(0u8..20, 120),
            snap_at in 0usize..10,
        ) {
            // Build the valid stream and the reference state after every diff.
            let mut diffs: Vec<RefDiff> = Vec::new();
            let mut next = 100u64;
            for (w, (b, a)) in widths.iter().zip(lvls) {
                diffs.push((next, next + w - 1, b, a));
                next += w;
            }
            let mut states: BTreeMap<u64, RefBook> = BTreeMap::new();
            let mut r: RefBook = Default::default();
            states.insert(99, r.clone());
            for d in &diffs {
                ref_apply(&mut r, d);
                states.insert(d.1, r.clone());
            }
            // Inject faults: 0 = drop, 1 = duplicate an earlier diff, 2 = swap with next.
            let mut stream: Vec<&RefDiff> = Vec::new();
            let mut i = 0;
            let mut faulted = false;
            while i < diffs.len() {
                match faults[i] {
                    0 => { faulted = true; }
                    1 => { stream.push(&diffs[i]); stream.push(&diffs[i / 2]); }
                    2 if i + 1 < diffs.len() => {
                        stream.push(&diffs[i + 1]); stream.push(&diffs[i]); faulted = true; i += 1;
                    }
                    _ => stream.push(&diffs[i]),
                }
                i += 1;
            }
            let mut lb = LocalBook::new(256, 64, 1024, 16_384);
            let mut last_delivered: u64 = 99;
            let mut snapped = false;
            for (k, d) in stream.iter().enumerate() {
                if k == snap_at.min(stream.len() - 1) || (snapped && lb.needs_snapshot()) {
                    // A snapshot taken at the newest id the "exchange" has published so far.
                    let id = last_delivered;
                    let s = &states[&id];
                    let st = lb.on_snapshot(id, &to_vec(&s.0), &to_vec(&s.1));
                    snapped = true;
                    if !faulted && st != SyncStatus::Applied {
                        prop_assert!(false, "unfaulted stream lost sync at snapshot: {st:?}");
                    }
                }
                let st = lb.on_diff(d.0, d.1, &d.2, &d.3);
                last_delivered = last_delivered.max(d.1);
                if !faulted && snapped {
                    prop_assert_ne!(st, SyncStatus::NeedSnapshot(SyncReason::Gap));
                }
                if !lb.needs_snapshot() {
                    let id = lb.last_update_id();
                    let s = &states[&id];
                    prop_assert_eq!(levels(lb.book(), Side::Bid), to_vec(&s.0));
                    prop_assert_eq!(levels(lb.book(), Side::Ask), to_vec(&s.1));
                }
            }
        }
    }
}
