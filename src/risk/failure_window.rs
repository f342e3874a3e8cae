//! The rolling window of order outcomes behind the failure-rate pause: a fixed ring of the
//! last `len` outcomes with a running failure count, so that recording and reading the
//! rate are O(1) and allocation-free.

/// Largest window [`crate::risk::RiskConfig::failure_window`] may ask for.
pub const MAX_FAILURE_WINDOW: usize = 1024;

/// The last `len` order outcomes (true = failed) in a fixed ring.
#[derive(Debug, Clone)]
pub struct FailureWindow {
    ring: [bool; MAX_FAILURE_WINDOW],
    len: usize,
    next: usize,
    filled: usize,
    failures: usize,
}

impl FailureWindow {
    /// An empty window over the last `len` outcomes; `len` is clamped to
    /// `1..=MAX_FAILURE_WINDOW` (the config validation rejects anything else first).
    pub fn new(len: usize) -> Self {
        FailureWindow {
            ring: [false; MAX_FAILURE_WINDOW],
            len: len.clamp(1, MAX_FAILURE_WINDOW),
            next: 0,
            filled: 0,
            failures: 0,
        }
    }

    /// Records one outcome, evicting the oldest once the window is full.
    #[inline]
    pub fn record(&mut self, failed: bool) {
        if self.filled == self.len {
            if self.ring[self.next] {
                self.failures -= 1;
            }
        } else {
            self.filled += 1;
        }
        self.ring[self.next] = failed;
        if failed {
            self.failures += 1;
        }
        self.next += 1;
        if self.next == self.len {
            self.next = 0;
        }
    }

    /// Outcomes currently in the window.
    pub fn samples(&self) -> usize {
        self.filled
    }

    /// Failures currently in the window.
    pub fn failures(&self) -> usize {
        self.failures
    }

    /// Failure rate in basis points (0 when empty).
    pub fn rate_bp(&self) -> i64 {
        (self.failures * 10_000)
            .checked_div(self.filled)
            .unwrap_or(0) as i64
    }

    /// True when the window holds at least `min_samples` outcomes and the failure rate is
    /// strictly above `max_bp` basis points (compared exactly, without division).
    pub fn exceeds(&self, max_bp: u32, min_samples: usize) -> bool {
        self.filled >= min_samples
            && self.filled > 0
            && (self.failures as u128) * 10_000 > (max_bp as u128) * (self.filled as u128)
    }

    /// Forgets every outcome (after an operator resume).
    pub fn clear(&mut self) {
        self.next = 0;
        self.filled = 0;
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        // (window, outcomes as 0/1, max_bp, min_samples, samples, failures, exceeds)
        type Case = (usize, &'static [u8], u32, usize, usize, usize, bool);
        let cases: &[Case] = &[
            // TC0: empty window never exceeds.
            (20, &[], 500, 0, 0, 0, false),
            // TC1: 1 failure in 20 = exactly 5%: not above.
            (
                20,
                &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                500,
                20,
                20,
                1,
                false,
            ),
            // TC2: 2 in 20 = 10%: above.
            (
                20,
                &[1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                500,
                20,
                20,
                2,
                true,
            ),
            // TC3: too few samples: no verdict yet.
            (20, &[1, 1, 1], 500, 20, 3, 3, false),
            // TC4: old failures roll out of a window of 4.
            (4, &[1, 1, 0, 0, 0, 0], 500, 4, 4, 0, false),
            // TC5: the newest failure stays in.
            (4, &[1, 0, 0, 0, 1], 500, 4, 4, 1, true),
            // TC6: window of 1.
            (1, &[1, 0], 0, 1, 1, 0, false),
        ];
        for (i, &(len, outs, bp, min, samples, fails, exceeds)) in cases.iter().enumerate() {
            let mut w = FailureWindow::new(len);
            for &o in outs {
                w.record(o == 1);
            }
            assert_eq!(w.samples(), samples, "TC{i} samples");
            assert_eq!(w.failures(), fails, "TC{i} failures");
            assert_eq!(w.exceeds(bp, min), exceeds, "TC{i} exceeds");
        }
    }

    proptest! {
        // The running count always equals a recount of the last `len` outcomes.
        #[test]
        fn matches_naive_recount(len in 1usize..64, outs in proptest::collection::vec(any::<bool>(), 0..300)) {
            let mut w = FailureWindow::new(len);
            for (k, &o) in outs.iter().enumerate() {
                w.record(o);
                let start = (k + 1).saturating_sub(len);
                let naive = outs[start..=k].iter().filter(|&&f| f).count();
                prop_assert_eq!(w.failures(), naive);
                prop_assert_eq!(w.samples(), (k + 1).min(len));
            }
        }
    }
}
