//! The order book allocates nothing after construction: a counting global allocator
//! watches 1,000,000 random sets on `Book` (near and far prices, removals, overflow-full
//! errors, re-centring) and 10,000 diffs through `LocalBook` (buffering, snapshot replay,
//! gaps and resyncs included).

use pinewire::feed::book::{Book, LocalBook, SyncStatus};
use pinewire::feed::Side;

#[path = "support/alloc_counter.rs"]
mod alloc_counter;

/// xorshift64*: deterministic, allocation-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn book_and_local_book_allocate_nothing_after_construction() {
    let mut book = Book::new(65_536, 512);
    let mut lb = LocalBook::new(65_536, 512, 256, 8_192);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Level scratch for diffs, allocated before counting starts.
    let mut bids: Vec<(i64, i64)> = Vec::with_capacity(16);
    let mut asks: Vec<(i64, i64)> = Vec::with_capacity(16);
    let snap_bids: Vec<(i64, i64)> = (0..100).map(|i| (5_000_000 - i, 1 + i)).collect();
    let snap_asks: Vec<(i64, i64)> = (0..100).map(|i| (5_000_001 + i, 1 + i)).collect();

    let allocs_before = alloc_counter::thread_allocs();
    let (mut ok, mut full) = (0u32, 0u32);
    let mut mid: i64 = 5_000_000;
    for _ in 0..1_000_000 {
        // A random walk of the market plus occasional far prices.
        mid = (mid + rng.below(41) as i64 - 20).max(200_000);
        let side = if rng.below(2) == 0 {
            Side::Bid
        } else {
            Side::Ask
        };
        let price = match rng.below(100) {
            0 => 1 + rng.below(20_000_000) as i64,
            _ => mid + rng.below(2_001) as i64 - 1_000,
        };
        let qty = if rng.below(3) == 0 {
            0
        } else {
            1 + rng.below(1_000) as i64
        };
        match book.set(side, price, qty) {
            Ok(()) => ok += 1,
            Err(_) => {
                // What the caller does: resync (here, start the book over).
                full += 1;
                book.clear();
            }
        }
    }

    let (mut applied, mut need, mut other) = (0u32, 0u32, 0u32);
    let mut id: u64 = 1_000;
    let mut snapshot_due = true;
    for k in 0..10_000u64 {
        if snapshot_due && k % 7 == 3 {
            lb.on_snapshot(id, &snap_bids, &snap_asks);
            snapshot_due = false;
        }
        bids.clear();
        asks.clear();
        for _ in 0..rng.below(8) {
            bids.push((4_999_000 + rng.below(1_001) as i64, rng.below(50) as i64));
            asks.push((5_000_001 + rng.below(1_001) as i64, rng.below(50) as i64));
        }
        // Occasionally skip ids to force a gap and a resync.
        let skip = if rng.below(500) == 0 { 5 } else { 0 };
        let first = id + 1 + skip;
        let last = first + rng.below(3);
        id = last;
        match lb.on_diff(first, last, &bids, &asks) {
            SyncStatus::Applied => applied += 1,
            SyncStatus::NeedSnapshot(_) => {
                need += 1;
                snapshot_due = true;
            }
            _ => other += 1,
        }
    }
    let allocs_during = alloc_counter::thread_allocs() - allocs_before;

    assert_eq!(allocs_during, 0, "allocations after construction");
    // The workload really exercised the paths it claims to.
    assert!(
        ok > 900_000 && book.len(Side::Bid) > 0,
        "sets ok={ok} full={full}"
    );
    assert!(
        applied > 5_000,
        "applied={applied} need={need} other={other}"
    );
    assert!(
        need > 0 && lb.resyncs() > 1,
        "need={need} resyncs={}",
        lb.resyncs()
    );
    eprintln!(
        "sets ok={ok} overflow_full={full}; diffs applied={applied} need_snapshot={need} \
         other={other} resyncs={} gaps={} dropped={}",
        lb.resyncs(),
        lb.gaps(),
        lb.dropped()
    );
}
