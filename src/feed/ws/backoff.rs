//! Exponential backoff with full jitter for reconnects and snapshot retries.
//!
//! The n-th consecutive failure waits `rand(0, min(cap, base * 2^n))` ("full jitter"):
//! many clients that lost the same server spread their retries over the whole window
//! instead of arriving together. The generator is a small xorshift64* seeded from the
//! clock (or from a given seed, so tests are deterministic); no allocation, no syscall.
//! The failure count is reset by the caller once a connection has stayed healthy.

use std::time::Duration;

/// Base, cap and health period of a [`Backoff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The first window (`base * 2^0`).
    pub base: Duration,
    /// The largest window.
    pub cap: Duration,
    /// How long a connection must stay up before the failure count is reset.
    pub healthy_after: Duration,
}

impl Default for BackoffConfig {
    /// 250 ms base, 30 s cap, reset after 60 s of health.
    fn default() -> BackoffConfig {
        BackoffConfig {
            base: Duration::from_millis(250),
            cap: Duration::from_secs(30),
            healthy_after: Duration::from_secs(60),
        }
    }
}

/// The backoff state of one connection (or one symbol's snapshot retries).
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    failures: u32,
    state: u64,
}

impl Backoff {
    /// A backoff seeded from the clock (different for every call).
    pub fn new(config: BackoffConfig) -> Backoff {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        // Mix in a per-process counter so that backoffs made in the same nanosecond differ.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Backoff::with_seed(config, now ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// A backoff whose delays are a fixed function of `seed` (for tests).
    pub fn with_seed(config: BackoffConfig, seed: u64) -> Backoff {
        Backoff {
            config,
            failures: 0,
            // splitmix64 of the seed: never zero-stuck, well spread even for small seeds.
            state: splitmix64(seed) | 1,
        }
    }

    /// The configuration.
    pub fn config(&self) -> BackoffConfig {
        self.config
    }

    /// Failures since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The current window `min(cap, base * 2^failures)`.
    pub fn window(&self) -> Duration {
        let shift = self.failures.min(32);
        let base = self.config.base.as_nanos();
        let window = base.saturating_mul(1u128 << shift);
        Duration::from_nanos(window.min(self.config.cap.as_nanos()).min(u64::MAX as u128) as u64)
    }

    /// Records a failure and returns how long to wait: uniform in `[0, window]` where the
    /// window is taken before the failure count grows.
    pub fn next_delay(&mut self) -> Duration {
        let window = self.window().as_nanos() as u64;
        self.failures = self.failures.saturating_add(1);
        if window == 0 {
            return Duration::ZERO;
        }
        let r = self.next_u64();
        // Multiply-shift: uniform enough for jitter, no modulo bias worth the name.
        let pick = ((u128::from(r) * (u128::from(window) + 1)) >> 64) as u64;
        Duration::from_nanos(pick)
    }

    /// Forgets the failures (call once a connection has stayed up `healthy_after`).
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cfg(base_ms: u64, cap_ms: u64) -> BackoffConfig {
        BackoffConfig {
            base: Duration::from_millis(base_ms),
            cap: Duration::from_millis(cap_ms),
            healthy_after: Duration::from_secs(1),
        }
    }

    #[test]
    fn windows_double_up_to_the_cap() {
        let mut b = Backoff::with_seed(cfg(100, 1000), 7);
        let want_ms = [100, 200, 400, 800, 1000, 1000];
        for (i, want) in want_ms.iter().enumerate() {
            // TC{i}: window after i failures
            assert_eq!(b.window(), Duration::from_millis(*want), "TC{i}");
            let d = b.next_delay();
            assert!(d <= Duration::from_millis(*want), "TC{i}: {d:?}");
        }
        // TC6: reset starts over
        b.reset();
        assert_eq!(
            (b.failures(), b.window()),
            (0, Duration::from_millis(100)),
            "TC6"
        );
        // TC7: many failures never overflow
        for _ in 0..200 {
            b.next_delay();
        }
        assert_eq!(b.window(), Duration::from_millis(1000), "TC7");
    }

    #[test]
    fn the_same_seed_gives_the_same_delays() {
        let run = |seed| {
            let mut b = Backoff::with_seed(cfg(10, 10_000), seed);
            (0..10).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        // TC0: deterministic by seed
        assert_eq!(run(42), run(42), "TC0");
        // TC1: another seed differs
        assert_ne!(run(42), run(43), "TC1");
        // TC2: clock-seeded backoffs differ from each other
        let mut a = Backoff::new(cfg(10, 10_000));
        let mut b = Backoff::new(cfg(10, 10_000));
        for _ in 0..6 {
            a.next_delay();
            b.next_delay();
        }
        let da: Vec<_> = (0..4).map(|_| a.next_delay()).collect();
        let db: Vec<_> = (0..4).map(|_| b.next_delay()).collect();
        assert_ne!(da, db, "TC2");
        // TC3: a zero base never waits
        let mut z = Backoff::with_seed(cfg(0, 0), 1);
        assert_eq!(z.next_delay(), Duration::ZERO, "TC3");
    }

    #[test]
    fn jitter_covers_the_window() {
        // Full jitter: over many draws at a fixed window, both halves of the window occur.
        let mut b = Backoff::with_seed(cfg(1000, 1000), 3);
        let (mut low, mut high) = (0, 0);
        for _ in 0..1000 {
            b.reset();
            let d = b.next_delay();
            if d < Duration::from_millis(500) {
                low += 1;
            } else {
                high += 1;
            }
        }
        assert!(low > 400 && high > 400, "TC0: {low}/{high}");
    }

    proptest! {
        #[test]
        fn delays_stay_inside_the_window(seed in any::<u64>(), base in 0u64..5000, cap in 0u64..100_000, n in 0usize..80) {
            let mut b = Backoff::with_seed(cfg(base, cap), seed);
            for _ in 0..n {
                let window = b.window();
                let d = b.next_delay();
                prop_assert!(d <= window);
                prop_assert!(window <= Duration::from_millis(cap));
            }
        }
    }
}
