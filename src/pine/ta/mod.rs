//! The `ta.*` built-ins and `math.sum` as incremental operators.
//!
//! Every function of Pine's `ta` namespace that a strategy calls becomes one operator
//! struct here, created once when the program is compiled (with all of its state
//! allocated up front, window rings sized by the function's length) and then fed one
//! bar at a time with `update`. `update` does O(1) work per bar (amortised; the few
//! exceptions say so in their docs), never allocates and never panics on any input
//! value: `na` is `f64::NAN` in and out, and a division by zero gives `na`. The
//! semantics are those of TradingView's Pine v5 reference manual and its Pine reference
//! implementations; where the manual is silent, each operator's doc comment says what
//! it does and why. The operators run on the market-data thread inside the VM, which
//! snapshots and restores them with `clone_from` between realtime ticks: every
//! operator's `clone_from` copies into the existing buffers and allocates nothing.

/// Implements `Clone` field by field so that `clone_from` reuses the destination's
/// buffers (`#[derive(Clone)]` would fall back to `*self = source.clone()`, which
/// allocates). The destructuring makes a forgotten field a compile error.
macro_rules! impl_clone_from {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl Clone for $ty {
            fn clone(&self) -> Self {
                let Self { $($field),* } = self;
                Self { $($field: $field.clone()),* }
            }

            fn clone_from(&mut self, source: &Self) {
                let Self { $($field),* } = source;
                $(self.$field.clone_from($field);)*
            }
        }
    };
}

pub mod error;
pub mod events;
pub mod extremes;
pub mod ma;
pub mod oscillators;
pub mod trend;
pub mod volatility;
pub mod vwap;
pub mod window;

#[cfg(test)]
mod proptests;

pub use error::{TaError, MAX_LENGTH};
pub use events::{BarsSince, Cross, Crossover, Crossunder, Cum, ValueWhen};
pub use extremes::{Highest, Lowest, PivotHigh, PivotLow};
pub use ma::{Ema, Rma, Sma, Sum, Vwma, Wma};
pub use oscillators::{Cci, Change, Mom, Roc, Rsi, Stoch};
pub use trend::{Dmi, Macd, Supertrend};
pub use volatility::{Atr, Bb, Stdev, Tr};
pub use vwap::Vwap;

/// `math.max` as Pine has it: `na` if either side is `na` (`f64::max` would drop the
/// NaN and return the other side).
#[inline]
pub(crate) fn na_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Pine's `nz(x)`: `na` becomes 0.
#[inline]
pub(crate) fn nz(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x
    }
}

/// Pine's float division: a zero divisor gives `na` instead of an infinity. A quotient
/// that overflows (a running sum cancelled down to rounding noise under values near
/// f64's range, e.g. vwma's volume) is `na` too: every ratio here is bounded by its
/// inputs, so an infinity can only be an arithmetic artefact.
#[inline]
pub(crate) fn na_div(num: f64, den: f64) -> f64 {
    let q = num / den;
    if den == 0.0 || !q.is_finite() {
        f64::NAN
    } else {
        q
    }
}

/// Helpers for the operators' unit tests.
#[cfg(test)]
pub(crate) mod testutil {
    /// `na`, short for the tables.
    pub const NA: f64 = f64::NAN;

    /// True when both are `na` or they agree to 1e-12 (relative, absolute near 0).
    pub fn same(a: f64, b: f64) -> bool {
        if a.is_nan() || b.is_nan() {
            return a.is_nan() && b.is_nan();
        }
        if a == b {
            return true;
        }
        let diff = (a - b).abs();
        diff <= 1e-12 || diff <= 1e-12 * a.abs().max(b.abs())
    }

    /// Feeds `xs` one bar at a time through `f` and compares with `want`, naming the
    /// table case and bar on failure.
    pub fn check_series(case: &str, xs: &[f64], want: &[f64], mut f: impl FnMut(f64) -> f64) {
        assert_eq!(xs.len(), want.len(), "{case}: table lengths differ");
        for (i, (&x, &w)) in xs.iter().zip(want).enumerate() {
            let got = f(x);
            assert!(
                same(got, w),
                "{case}: bar {i}: input {x}, want {w}, got {got}"
            );
        }
    }
}
