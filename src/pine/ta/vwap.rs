//! `ta.vwap`: the volume-weighted average price anchored to the UTC day.

/// Milliseconds in a UTC day (Unix time has no leap seconds).
const DAY_MS: i64 = 86_400_000;

/// `ta.vwap(source)` with the default session anchor on a 24/7 crypto market: the
/// volume-weighted average of `source` since the first bar of the current UTC day,
/// `sum(source * volume) / sum(volume)`.
///
/// The sums reset when the UTC date of the bar's open time (`time_ms`) differs from the
/// previous bar's (any change, forwards or backwards). A bar whose source or volume is
/// `na` adds nothing; the result is `na` while the day's volume is zero (division by
/// zero). Sums are plain running sums from the anchor, as Pine's. O(1) per bar.
#[derive(Debug)]
pub struct Vwap {
    day: i64,
    started: bool,
    sum_pv: f64,
    sum_v: f64,
}

impl Vwap {
    /// A vwap anchored to the UTC day; it has no parameter.
    pub fn new() -> Self {
        Vwap {
            day: 0,
            started: false,
            sum_pv: 0.0,
            sum_v: 0.0,
        }
    }

    /// Feeds one bar (source, volume, bar open time in ms since the epoch, UTC) and
    /// returns the day's vwap so far (or `na`).
    #[inline]
    pub fn update(&mut self, source: f64, volume: f64, time_ms: i64) -> f64 {
        let day = time_ms.div_euclid(DAY_MS);
        if !self.started || day != self.day {
            self.started = true;
            self.day = day;
            self.sum_pv = 0.0;
            self.sum_v = 0.0;
        }
        if !(source.is_nan() || volume.is_nan()) {
            self.sum_pv += source * volume;
            self.sum_v += volume;
        }
        super::na_div(self.sum_pv, self.sum_v)
    }
}

impl Default for Vwap {
    fn default() -> Self {
        Self::new()
    }
}

impl_clone_from!(Vwap {
    day,
    started,
    sum_pv,
    sum_v
});

#[cfg(test)]
mod tests {
    use super::super::testutil::{same, NA};
    use super::*;

    #[test]
    fn vwap_table() {
        let h = 3_600_000;
        // (source, volume, time_ms, want)
        let cases: [(f64, f64, i64, f64); 7] = [
            // TC0: first bar of a day
            (10.0, 1.0, 22 * h, 10.0),
            // TC1: same day: (10 + 20*3) / 4
            (20.0, 3.0, 23 * h, 17.5),
            // TC2: new UTC day resets
            (30.0, 2.0, 24 * h, 30.0),
            // TC3: na source adds nothing
            (NA, 5.0, 25 * h, 30.0),
            // TC4: next day with zero volume: na
            (40.0, 0.0, 48 * h, NA),
            // TC5: then volume arrives
            (50.0, 1.0, 49 * h, 50.0),
            // TC6: times before 1970 floor to the right day
            (60.0, 1.0, -1, 60.0),
        ];
        let mut op = Vwap::new();
        for (i, (s, v, t, want)) in cases.iter().enumerate() {
            let got = op.update(*s, *v, *t);
            assert!(same(got, *want), "TC{i}: {got} vs {want}");
        }
    }
}
