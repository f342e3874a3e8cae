//! Fixed-capacity windows shared by the operators: a ring of the last N values, a ring
//! that also knows whether its window is free of `na` and when to recompute sums
//! exactly, and a monotonic deque for sliding maxima and minima.
//!
//! All three allocate their storage in the constructor and never again; their
//! `clone_from` copies into the existing storage.

/// The last `capacity` values of a series, newest first by age.
///
/// Storage is a plain `Vec<f64>` whose length is the capacity, fixed at construction.
#[derive(Debug)]
pub struct Ring {
    buf: Vec<f64>,
    /// Slot of the next write.
    next: usize,
    len: usize,
}

impl Ring {
    /// A ring holding up to `capacity` values (at least one: a zero capacity is raised
    /// to one so that `push` is always defined). Allocates once, here.
    pub fn with_capacity(capacity: usize) -> Self {
        Ring {
            buf: vec![f64::NAN; capacity.max(1)],
            next: 0,
            len: 0,
        }
    }

    /// How many values the ring holds when full.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// How many values have been pushed, up to the capacity.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first push.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True once `capacity` values have been pushed.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == self.buf.len()
    }

    /// Appends `x` as the newest value; when the ring was full, returns the oldest
    /// value, which this push overwrote.
    #[inline]
    pub fn push(&mut self, x: f64) -> Option<f64> {
        let cap = self.buf.len();
        let evicted = if self.len == cap {
            Some(self.buf[self.next])
        } else {
            self.len += 1;
            None
        };
        self.buf[self.next] = x;
        self.next += 1;
        if self.next == cap {
            self.next = 0;
        }
        evicted
    }

    /// The value pushed `age` pushes ago (0 = newest), as Pine's `x[age]`; `None` when
    /// fewer than `age + 1` values have been pushed.
    #[inline]
    pub fn get(&self, age: usize) -> Option<f64> {
        if age >= self.len {
            return None;
        }
        let cap = self.buf.len();
        let idx = if self.next > age {
            self.next - 1 - age
        } else {
            self.next + cap - 1 - age
        };
        Some(self.buf[idx])
    }

    /// The values held, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        let cap = self.buf.len();
        let start = if self.next >= self.len {
            self.next - self.len
        } else {
            self.next + cap - self.len
        };
        (0..self.len).map(move |i| {
            let j = start + i;
            self.buf[if j >= cap { j - cap } else { j }]
        })
    }
}

impl Clone for Ring {
    fn clone(&self) -> Self {
        Ring {
            buf: self.buf.clone(),
            next: self.next,
            len: self.len,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.buf.clone_from(&source.buf);
        self.next = source.next;
        self.len = source.len;
    }
}

/// What a [`Window`] push means for the running statistics kept over it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// The window is not full yet or holds an `na`: the statistic is `na`.
    NotReady,
    /// Recompute the statistic exactly from [`Window::ring`]: the window just became
    /// full and `na`-free, or `length` slides have passed since the last exact
    /// computation (this bounds floating-point drift of running sums over long runs).
    Recompute,
    /// The window slid by one clean value: update the running statistic by removing
    /// `evicted` (never `na`) and adding the new value.
    Slide {
        /// The oldest value, which left the window with this push.
        evicted: f64,
    },
}

/// A ring of the last `length` values that tracks whether all of them are non-`na`,
/// and tells its owner when to slide running sums and when to recompute them exactly.
///
/// Pine's sma/wma/stdev/sum are `na` while the window holds fewer than `length` values
/// or any `na`; the window is clean exactly when the last `length` pushes were all
/// non-`na`, so one counter of consecutive non-`na` pushes replaces an `na` count.
/// Exact recomputation happens at most once per `length` pushes, so it costs O(1)
/// amortised per bar.
#[derive(Debug)]
pub struct Window {
    ring: Ring,
    /// Consecutive non-`na` pushes, saturating at the capacity.
    clean_run: usize,
    /// Slides since the last exact recomputation.
    since_exact: usize,
}

impl Window {
    /// A window of `length` values (callers validate `length >= 1`).
    pub fn new(length: usize) -> Self {
        Window {
            ring: Ring::with_capacity(length),
            clean_run: 0,
            since_exact: 0,
        }
    }

    /// The window's length.
    #[inline]
    pub fn length(&self) -> usize {
        self.ring.capacity()
    }

    /// Pushes one bar's value and says what to do with the running statistic.
    #[inline]
    pub fn push(&mut self, x: f64) -> Step {
        let cap = self.ring.capacity();
        let evicted = self.ring.push(x);
        if x.is_nan() {
            self.clean_run = 0;
            return Step::NotReady;
        }
        if self.clean_run < cap {
            self.clean_run += 1;
            if self.clean_run < cap {
                return Step::NotReady;
            }
            self.since_exact = 0;
            return Step::Recompute;
        }
        self.since_exact += 1;
        match evicted {
            Some(evicted) if self.since_exact < cap => Step::Slide { evicted },
            _ => {
                self.since_exact = 0;
                Step::Recompute
            }
        }
    }

    /// True when the window is full and holds no `na`.
    #[inline]
    pub fn is_clean(&self) -> bool {
        self.clean_run == self.ring.capacity()
    }

    /// The values in the window, for exact recomputation.
    #[inline]
    pub fn ring(&self) -> &Ring {
        &self.ring
    }
}

impl Clone for Window {
    fn clone(&self) -> Self {
        Window {
            ring: self.ring.clone(),
            clean_run: self.clean_run,
            since_exact: self.since_exact,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.ring.clone_from(&source.ring);
        self.clean_run = source.clean_run;
        self.since_exact = source.since_exact;
    }
}

/// Which extreme a [`MonotonicDeque`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extreme {
    /// The front is the window's maximum.
    Max,
    /// The front is the window's minimum.
    Min,
}

/// Sliding-window maximum or minimum in amortised O(1) per bar: a deque of
/// `(bar, value)` whose values are strictly monotonic from front to back, so the front
/// is the extreme of the window. `na` values are never stored (Pine's highest/lowest
/// skip them).
///
/// The owner calls [`MonotonicDeque::expire_before`] with the first bar of the window
/// before each [`MonotonicDeque::push`]; then at most `capacity` entries are ever live.
#[derive(Debug)]
pub struct MonotonicDeque {
    bars: Vec<u64>,
    vals: Vec<f64>,
    head: usize,
    len: usize,
    keep: Extreme,
}

impl MonotonicDeque {
    /// A deque for a window of `capacity` bars (at least one).
    pub fn new(capacity: usize, keep: Extreme) -> Self {
        let cap = capacity.max(1);
        MonotonicDeque {
            bars: vec![0; cap],
            vals: vec![f64::NAN; cap],
            head: 0,
            len: 0,
            keep,
        }
    }

    #[inline]
    fn slot(&self, i: usize) -> usize {
        let j = self.head + i;
        if j >= self.bars.len() {
            j - self.bars.len()
        } else {
            j
        }
    }

    /// Drops the entries of bars before `first_bar`, the oldest bar still in the window.
    #[inline]
    pub fn expire_before(&mut self, first_bar: u64) {
        while self.len > 0 && self.bars[self.head] < first_bar {
            self.head += 1;
            if self.head == self.bars.len() {
                self.head = 0;
            }
            self.len -= 1;
        }
    }

    /// Adds bar `bar`'s value; `na` is ignored. Earlier values that can never be the
    /// extreme again (not better than `x`, which outlives them) are dropped first.
    #[inline]
    pub fn push(&mut self, bar: u64, x: f64) {
        if x.is_nan() {
            return;
        }
        while self.len > 0 {
            let back = self.vals[self.slot(self.len - 1)];
            let dominated = match self.keep {
                Extreme::Max => back <= x,
                Extreme::Min => back >= x,
            };
            if !dominated {
                break;
            }
            self.len -= 1;
        }
        if self.len == self.bars.len() {
            // Only reachable if the owner skipped `expire_before`; keep the newest values
            // rather than write out of the window.
            self.expire_before(self.bars[self.head].saturating_add(1));
        }
        let s = self.slot(self.len);
        self.bars[s] = bar;
        self.vals[s] = x;
        self.len += 1;
    }

    /// The extreme of the values pushed and not expired, `None` if there are none.
    #[inline]
    pub fn front(&self) -> Option<f64> {
        if self.len == 0 {
            None
        } else {
            Some(self.vals[self.head])
        }
    }
}

impl Clone for MonotonicDeque {
    fn clone(&self) -> Self {
        MonotonicDeque {
            bars: self.bars.clone(),
            vals: self.vals.clone(),
            head: self.head,
            len: self.len,
            keep: self.keep,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.bars.clone_from(&source.bars);
        self.vals.clone_from(&source.vals);
        self.head = source.head;
        self.len = source.len;
        self.keep = source.keep;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_push_get_iter() {
        let mut r = Ring::with_capacity(3);
        // TC0: empty
        assert!(r.is_empty());
        assert_eq!(r.get(0), None);
        // TC1: partial fill, no eviction
        assert_eq!(r.push(1.0), None);
        assert_eq!(r.push(2.0), None);
        assert_eq!(r.get(0), Some(2.0));
        assert_eq!(r.get(1), Some(1.0));
        assert_eq!(r.get(2), None);
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![1.0, 2.0]);
        // TC2: full, then wrap with eviction of the oldest
        assert_eq!(r.push(3.0), None);
        assert!(r.is_full());
        assert_eq!(r.push(4.0), Some(1.0));
        assert_eq!(r.push(5.0), Some(2.0));
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![3.0, 4.0, 5.0]);
        assert_eq!(r.get(0), Some(5.0));
        assert_eq!(r.get(2), Some(3.0));
        // TC3: capacity 0 is raised to 1
        let mut one = Ring::with_capacity(0);
        assert_eq!(one.capacity(), 1);
        assert_eq!(one.push(7.0), None);
        assert_eq!(one.push(8.0), Some(7.0));
        assert_eq!(one.iter().collect::<Vec<_>>(), vec![8.0]);
    }

    #[test]
    fn window_steps() {
        let nan = f64::NAN;
        let mut w = Window::new(2);
        let cases: [(f64, Step); 9] = [
            // TC0: filling
            (1.0, Step::NotReady),
            // TC1: becomes full and clean
            (2.0, Step::Recompute),
            // TC2: slides
            (3.0, Step::Slide { evicted: 1.0 }),
            // TC3: second slide reaches the exact-recompute period (length 2)
            (4.0, Step::Recompute),
            // TC4: na makes it dirty
            (nan, Step::NotReady),
            // TC5: still holds the na
            (5.0, Step::NotReady),
            // TC6: na left the window: recompute
            (6.0, Step::Recompute),
            // TC7: slide
            (7.0, Step::Slide { evicted: 5.0 }),
            // TC8: periodic recompute
            (8.0, Step::Recompute),
        ];
        for (i, (x, want)) in cases.iter().enumerate() {
            assert_eq!(w.push(*x), *want, "TC{i}");
        }
        assert!(w.is_clean());
    }

    #[test]
    fn deque_tracks_window_max_and_min() {
        let xs = [3.0, 1.0, 4.0, 1.0, 5.0, f64::NAN, 2.0, 6.0, 5.0, 3.0];
        let len = 3u64;
        let mut hi = MonotonicDeque::new(3, Extreme::Max);
        let mut lo = MonotonicDeque::new(3, Extreme::Min);
        for (t, &x) in xs.iter().enumerate() {
            let t = t as u64;
            let first = (t + 1).saturating_sub(len);
            hi.expire_before(first);
            lo.expire_before(first);
            hi.push(t, x);
            lo.push(t, x);
            let window = &xs[first as usize..=t as usize];
            let want_hi = window
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .fold(f64::NEG_INFINITY, f64::max);
            let want_lo = window
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .fold(f64::INFINITY, f64::min);
            // TC<t>: the front equals the brute-force extreme of the window
            assert_eq!(hi.front(), Some(want_hi), "TC{t} max");
            assert_eq!(lo.front(), Some(want_lo), "TC{t} min");
        }
    }

    #[test]
    fn clone_from_keeps_contents() {
        let mut a = Ring::with_capacity(4);
        for x in [1.0, 2.0, 3.0, 4.0, 5.0] {
            a.push(x);
        }
        let mut b = Ring::with_capacity(4);
        b.clone_from(&a);
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![2.0, 3.0, 4.0, 5.0]);
        assert_eq!(b.push(6.0), Some(2.0));
    }
}
