//! A counting global allocator for the zero-allocation tests, shared by every test file that
//! includes it (`#[path = "support/alloc_counter.rs"] mod alloc_counter;`).
//!
//! Counts are kept per thread, so that the test harness's own threads (progress output,
//! other tests running in parallel) and helper threads such as a loopback server never add
//! to the count of the code under test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count_alloc() {
    // `try_with`: during thread teardown the slot may be gone; such allocations are not
    // the code under test's.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

/// Allocations (alloc, alloc_zeroed, realloc) made by the calling thread so far.
#[allow(dead_code)]
pub fn thread_allocs() -> u64 {
    ALLOCS.try_with(Cell::get).unwrap_or(0)
}

/// Runs `f` and returns its result with the number of allocations it made on this thread.
#[allow(dead_code)]
pub fn count<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = thread_allocs();
    let result = f();
    (result, thread_allocs() - before)
}

// SAFETY: every method forwards to the system allocator with the caller's arguments
// unchanged; the only addition is a thread-local counter with a const initialiser, which
// never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_alloc();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_alloc();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_alloc();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;
