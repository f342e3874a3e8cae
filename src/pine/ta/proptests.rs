//! Property tests: random series, `na` included, over wide magnitudes, never make an
//! operator panic, and finite inputs never give an infinity (a division by zero is
//! `na`).
//!
//! Inputs are finite with magnitudes from 1e-150 to 1e151 (plus 0 and `na`): products
//! and squares of two such values, and sums of a few dozen of them, stay inside f64's
//! range, so any infinity would be a bug rather than an overflow the definition itself
//! implies. Volumes are non-negative, as they are by definition; bars are consistent
//! (low <= close <= high).

use super::*;
use proptest::prelude::*;

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        1 => Just(f64::NAN),
        1 => Just(0.0),
        4 => -1000.0f64..1000.0,
        3 => (1.0f64..10.0, -150i32..=150, any::<bool>()).prop_map(|(m, e, neg)| {
            let v = m * 10f64.powi(e);
            if neg { -v } else { v }
        }),
    ]
}

/// (high, low, close) with low <= close <= high when all are present; `na` bars too.
fn bar() -> impl Strategy<Value = (f64, f64, f64)> {
    (value(), value(), value()).prop_map(|(a, b, c)| {
        let mut v = [a, b, c];
        if v.iter().any(|x| x.is_nan()) {
            return (a, b, c);
        }
        v.sort_by(f64::total_cmp);
        (v[2], v[0], v[1])
    })
}

fn ok(x: f64) -> bool {
    !x.is_infinite()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn single_series_operators(
        xs in proptest::collection::vec(value(), 0..160),
        len in 1usize..24,
        other in 0usize..6,
    ) {
        let mut sma = Sma::new(len).unwrap();
        let mut sum = Sum::new(len).unwrap();
        let mut ema = Ema::new(len).unwrap();
        let mut rma = Rma::new(len).unwrap();
        let mut wma = Wma::new(len).unwrap();
        let mut rsi = Rsi::new(len).unwrap();
        let mut cci = Cci::new(len).unwrap();
        let mut change = Change::new(len).unwrap();
        let mut roc = Roc::new(len).unwrap();
        let mut stdev = Stdev::new(len, true).unwrap();
        let mut stdev_u = Stdev::new(len, false).unwrap();
        let mut bb = Bb::new(len, 2.5).unwrap();
        let mut macd = Macd::new(len, len + other, other + 1).unwrap();
        let mut hi = Highest::new(len).unwrap();
        let mut lo = Lowest::new(len).unwrap();
        let mut ph = PivotHigh::new(other, len % 5).unwrap();
        let mut pl = PivotLow::new(len % 5, other).unwrap();
        let mut cum = Cum::new();
        let mut vw = ValueWhen::new(other).unwrap();
        let mut bs = BarsSince::new();
        let mut over = Crossover::new();
        let mut cross = Cross::new();
        let mut prev = f64::NAN;
        for &x in &xs {
            for v in [sma.update(x), sum.update(x), ema.update(x), rma.update(x),
                      wma.update(x), cci.update(x), change.update(x), roc.update(x),
                      stdev.update(x), stdev_u.update(x), ph.update(x), pl.update(x),
                      cum.update(x), vw.update(x > 0.0, x)] {
                prop_assert!(ok(v), "inf from {x}");
            }
            let r = rsi.update(x);
            prop_assert!(r.is_nan() || (0.0..=100.0).contains(&r), "rsi {r}");
            let (b, u, l) = bb.update(x);
            prop_assert!(ok(b) && ok(u) && ok(l));
            // mult 2.5 > 0: the lower band is never above the basis, nor the basis above
            // the upper band.
            prop_assert!(b.is_nan() || (l <= b && b <= u), "bb ({b}, {u}, {l})");
            let (m, s, h) = macd.update(x);
            prop_assert!(ok(m) && ok(s) && ok(h));
            let (h1, l1) = (hi.update(x), lo.update(x));
            prop_assert!(h1.is_nan() == l1.is_nan());
            prop_assert!(h1.is_nan() || h1 >= l1);
            let since = bs.update(x > 0.0);
            prop_assert!(since.is_nan() || since >= 0.0);
            over.update(x, prev);
            cross.update(x, prev);
            prev = x;
        }
    }

    #[test]
    fn bar_operators(
        bars in proptest::collection::vec((bar(), value(), 0i64..400_000_000), 0..160),
        len in 1usize..24,
        other in 1usize..6,
    ) {
        let mut tr = Tr::new(false);
        let mut atr = Atr::new(len).unwrap();
        let mut stoch = Stoch::new(len).unwrap();
        let mut st = Supertrend::new(3.0, len).unwrap();
        let mut dmi = Dmi::new(len, other).unwrap();
        let mut vwma = Vwma::new(len).unwrap();
        let mut vwap = Vwap::new();
        let mut t_ms = 0i64;
        for &((h, l, c), v, dt) in &bars {
            let volume = v.abs();
            t_ms += dt;
            for x in [tr.update(h, l, c), atr.update(h, l, c), stoch.update(c, h, l),
                      vwma.update(c, volume), vwap.update(c, volume, t_ms)] {
                prop_assert!(ok(x), "inf from bar ({h}, {l}, {c}, {volume})");
            }
            let (value, dir) = st.update(h, l, c);
            prop_assert!(ok(value));
            prop_assert!(dir.is_nan() || dir == 1.0 || dir == -1.0);
            let (p, m, a) = dmi.update(h, l, c);
            prop_assert!(ok(p) && ok(m) && ok(a), "dmi ({p}, {m}, {a})");
            prop_assert!(a.is_nan() || (-1e-9..=100.0 + 1e-9).contains(&a), "adx {a}");
        }
    }
}
