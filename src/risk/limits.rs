//! The pre-trade rules as pure integer functions: the stop distance (script stop or the
//! ATR default), the lots the per-trade risk allows, and the lots left under an exposure
//! limit. Kept apart from the state so that each rule's boundary is tested on its own.
//!
//! Every comparison is exact: a limit of `bp` basis points of equity `E` admits a total
//! `T` exactly when `T * 10000 <= E * bp`, which is what `floor(E * bp / 10000)` as the
//! limit gives for integer `T`.

use super::types::{Quote, Reason};

/// `bp` basis points of `amount`, rounded down (towards negative infinity).
#[inline(always)]
pub fn share_bp(amount: Quote, bp: u32) -> Quote {
    amount.saturating_mul(bp as Quote).div_euclid(10_000)
}

/// Value of `lots` at `ticks` for a symbol whose one lot at one tick is worth
/// `lot_tick_value`; saturates instead of overflowing on absurd inputs.
#[inline(always)]
pub fn notional(lots: u64, ticks: u64, lot_tick_value: Quote) -> Quote {
    (lots as Quote)
        .saturating_mul(ticks as Quote)
        .saturating_mul(lot_tick_value)
}

/// Whole lots of `lot_value` that fit between `used` and `limit` (0 when already at or
/// above the limit, or when a lot has no value).
#[inline(always)]
pub fn headroom_lots(limit: Quote, used: Quote, lot_value: Quote) -> u64 {
    if lot_value <= 0 || used >= limit {
        return 0;
    }
    let lots = (limit - used) / lot_value;
    u64::try_from(lots).unwrap_or(u64::MAX)
}

/// Distance in ticks from the entry to the stop of a buy: the script's stop when it gave
/// one, else `atr_mult_bp` bp of the ATR (at least one tick).
///
/// Errors: a script stop at or above the entry ([`Reason::StopAboveEntry`]); no script
/// stop and no ATR ([`Reason::NoStop`]).
#[inline(always)]
pub fn stop_distance_ticks(
    entry_ticks: u64,
    stop_ticks: u64,
    atr_ticks: u64,
    atr_mult_bp: u32,
) -> Result<u64, Reason> {
    if stop_ticks != 0 {
        if stop_ticks >= entry_ticks {
            return Err(Reason::StopAboveEntry);
        }
        return Ok(entry_ticks - stop_ticks);
    }
    if atr_ticks == 0 {
        return Err(Reason::NoStop);
    }
    let d = (atr_ticks as u128 * atr_mult_bp as u128) / 10_000;
    Ok(u64::try_from(d).unwrap_or(u64::MAX).max(1))
}

/// Lots whose loss at the stop (`dist_ticks` each) stays within `risk_bp` of `equity`.
#[inline(always)]
pub fn risk_cap_lots(equity: Quote, risk_bp: u32, dist_ticks: u64, lot_tick_value: Quote) -> u64 {
    let budget = share_bp(equity, risk_bp);
    let loss_per_lot = (dist_ticks as Quote).saturating_mul(lot_tick_value);
    headroom_lots(budget, 0, loss_per_lot)
}

/// True when the loss from `start` to `now` is at least `bp` of `start` (a day that
/// started with no equity never triggers).
#[inline(always)]
pub fn loss_reached(start: Quote, now: Quote, bp: u32) -> bool {
    start > 0 && (start - now).saturating_mul(10_000) >= start.saturating_mul(bp as Quote)
}

/// The loss from `start` to `now` in bp of `start` (rounded down; 0 when `start <= 0`).
#[inline]
pub fn loss_bp(start: Quote, now: Quote) -> i64 {
    if start <= 0 {
        return 0;
    }
    let bp = (start - now).saturating_mul(10_000).div_euclid(start);
    bp.clamp(i64::MIN as Quote, i64::MAX as Quote) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_table() {
        // (limit, used, lot_value, lots)
        let cases: &[(Quote, Quote, Quote, u64)] = &[
            // TC0: exactly one lot fits.
            (100, 0, 100, 1),
            // TC1: one unit short of a lot.
            (99, 0, 100, 0),
            // TC2: used at the limit.
            (100, 100, 1, 0),
            // TC3: used above the limit (prices moved).
            (100, 150, 1, 0),
            // TC4: partial headroom rounds down.
            (1_000, 250, 300, 2),
            // TC5: zero-valued lot gives nothing rather than dividing by zero.
            (1_000, 0, 0, 0),
        ];
        for (i, &(limit, used, lv, want)) in cases.iter().enumerate() {
            assert_eq!(headroom_lots(limit, used, lv), want, "TC{i}");
        }
    }

    #[test]
    fn stop_distance_table() {
        // (entry, stop, atr, mult_bp, result)
        type Case = (u64, u64, u64, u32, Result<u64, Reason>);
        let cases: &[Case] = &[
            // TC0: script stop.
            (1_000, 990, 50, 20_000, Ok(10)),
            // TC1: stop one tick below entry.
            (1_000, 999, 0, 20_000, Ok(1)),
            // TC2: stop at the entry.
            (1_000, 1_000, 50, 20_000, Err(Reason::StopAboveEntry)),
            // TC3: stop above the entry.
            (1_000, 1_001, 50, 20_000, Err(Reason::StopAboveEntry)),
            // TC4: ATR default: 2 x 50.
            (1_000, 0, 50, 20_000, Ok(100)),
            // TC5: ATR default rounds down but never to 0.
            (1_000, 0, 1, 5_000, Ok(1)),
            // TC6: no stop, no ATR.
            (1_000, 0, 0, 20_000, Err(Reason::NoStop)),
        ];
        for (i, &(e, s, a, m, want)) in cases.iter().enumerate() {
            assert_eq!(stop_distance_ticks(e, s, a, m), want, "TC{i}");
        }
    }

    #[test]
    fn risk_cap_table() {
        // (equity, bp, dist, lot_tick_value, lots)
        let cases: &[(Quote, u32, u64, Quote, u64)] = &[
            // TC0: 1% of 10_000 = 100; 10 ticks x 1 = 10 per lot -> 10 lots.
            (10_000, 100, 10, 1, 10),
            // TC1: one unit less equity: 99 budget -> 9 lots.
            (9_999, 100, 10, 1, 9),
            // TC2: a lot's stop loss above the budget -> 0.
            (10_000, 100, 101, 1, 0),
            // TC3: negative equity -> 0.
            (-5, 100, 1, 1, 0),
        ];
        for (i, &(e, bp, d, v, want)) in cases.iter().enumerate() {
            assert_eq!(risk_cap_lots(e, bp, d, v), want, "TC{i}");
        }
    }

    #[test]
    fn loss_table() {
        // (start, now, bp, reached, loss_bp)
        let cases: &[(Quote, Quote, u32, bool, i64)] = &[
            // TC0: exactly 3%.
            (10_000, 9_700, 300, true, 300),
            // TC1: one unit short of 3%.
            (10_000, 9_701, 300, false, 299),
            // TC2: a gain.
            (10_000, 10_500, 300, false, -500),
            // TC3: no starting equity never triggers.
            (0, -10, 300, false, 0),
        ];
        for (i, &(s, n, bp, reached, lbp)) in cases.iter().enumerate() {
            assert_eq!(loss_reached(s, n, bp), reached, "TC{i}");
            assert_eq!(loss_bp(s, n), lbp, "TC{i} bp");
        }
        // share_bp rounds down exactly.
        assert_eq!(share_bp(10_001, 7_000), 7_000);
        assert_eq!(share_bp(10_000, 7_000), 7_000);
    }
}
