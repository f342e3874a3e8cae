//! Strategy-tester statistics of a finished backtest, with TradingView's definitions.
//!
//! Runs once per backtest on the runner's thread, after the last bar; it may allocate.
//! Undefined ratios and means (no trades, no losses, fewer than two months) are `NaN`,
//! never a division by zero.

use crate::backtest::result::{Stats, Trade};

/// Annual risk-free rate TradingView uses for Sharpe and Sortino.
pub const RISK_FREE_RATE_ANNUAL: f64 = 0.02;

const MS_PER_DAY: i64 = 86_400_000;

/// Computes the statistics of one run.
///
/// * `trades`: closed trades; profit, win/loss counts, averages and commission paid come
///   from them (`commission_paid` is that of closed trades only).
/// * `open_profit`: unrealised profit at the end, reported as is.
/// * `equity` and `bar_times_ms`: equity after each bar's close and the bar's open time
///   (pairs beyond the shorter slice are ignored; non-finite equity values are skipped).
///   Max drawdown is the largest fall from a running peak that starts at
///   `initial_capital`; its percentage is that same fall over the peak it fell from.
///   Sharpe and Sortino use monthly returns: the equity at the last bar of each UTC
///   calendar month over that of the month before (`initial_capital` before the first),
///   minus 2%/12; Sharpe divides the mean excess return by the population standard
///   deviation of the returns, Sortino by the downside deviation
///   `sqrt(sum(min(0, r - rf)^2) / n)`. Both are `NaN` with fewer than 2 months or a
///   zero deviation.
/// * Buy & hold return: `initial_capital * (last_close / first_open - 1)`.
/// * Average bars in trade: mean of `exit_bar - entry_bar`.
pub fn compute(
    initial_capital: f64,
    trades: &[Trade],
    open_profit: f64,
    equity: &[f64],
    bar_times_ms: &[i64],
    first_open: f64,
    last_close: f64,
) -> Stats {
    let mut s = Stats {
        initial_capital,
        open_profit,
        total_trades: trades.len(),
        bars: equity.len(),
        ..Stats::default()
    };
    let (mut largest_win, mut largest_loss) = (f64::NAN, f64::NAN);
    let mut bars_held = 0.0;
    for t in trades {
        s.net_profit += t.profit;
        s.commission_paid += t.commission;
        bars_held += t.exit_bar.saturating_sub(t.entry_bar) as f64;
        if t.profit > 0.0 {
            s.winning_trades += 1;
            s.gross_profit += t.profit;
            largest_win = if largest_win.is_nan() {
                t.profit
            } else {
                largest_win.max(t.profit)
            };
        } else if t.profit < 0.0 {
            s.losing_trades += 1;
            s.gross_loss -= t.profit;
            largest_loss = if largest_loss.is_nan() {
                t.profit
            } else {
                largest_loss.min(t.profit)
            };
        }
    }
    let n = trades.len() as f64;
    s.largest_win = largest_win;
    s.largest_loss = largest_loss;
    s.win_rate = ratio(s.winning_trades as f64, n);
    s.profit_factor = ratio(s.gross_profit, s.gross_loss);
    s.avg_trade = ratio(s.net_profit, n);
    s.avg_win = ratio(s.gross_profit, s.winning_trades as f64);
    s.avg_loss = ratio(-s.gross_loss, s.losing_trades as f64);
    s.avg_bars_in_trade = ratio(bars_held, n);
    let (dd, dd_pct) = max_drawdown(initial_capital, equity);
    s.max_drawdown = dd;
    s.max_drawdown_pct = dd_pct;
    let returns = monthly_returns(initial_capital, equity, bar_times_ms);
    let (sharpe, sortino) = sharpe_sortino(&returns);
    s.sharpe = sharpe;
    s.sortino = sortino;
    s.buy_hold_return = initial_capital * (last_close / first_open - 1.0);
    if !s.buy_hold_return.is_finite() {
        s.buy_hold_return = f64::NAN;
    }
    s
}

/// `a / b`, `NaN` when `b` is 0 (or either is not finite).
fn ratio(a: f64, b: f64) -> f64 {
    let r = a / b;
    if b != 0.0 && r.is_finite() {
        r
    } else {
        f64::NAN
    }
}

/// Largest fall from a running peak (starting at `initial_capital`) in cash, and that
/// fall over its peak (`NaN` when the peak is not positive).
fn max_drawdown(initial_capital: f64, equity: &[f64]) -> (f64, f64) {
    let mut peak = initial_capital;
    let (mut dd, mut dd_pct) = (0.0, 0.0);
    for &e in equity.iter().filter(|e| e.is_finite()) {
        if e > peak || peak.is_nan() {
            // Also replaces a NaN initial capital.
            peak = e;
        }
        let fall = peak - e;
        if fall > dd {
            dd = fall;
            dd_pct = if peak > 0.0 { fall / peak } else { f64::NAN };
        }
    }
    (dd, dd_pct)
}

/// Civil (year, month 1..=12) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, valid for the whole `i64` millisecond range used here).
fn civil_month(days: i64) -> (i64, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32)
}

/// One key per UTC calendar month of a millisecond timestamp.
fn month_key(time_ms: i64) -> i64 {
    let (y, m) = civil_month(time_ms.div_euclid(MS_PER_DAY));
    y * 12 + i64::from(m)
}

/// Returns of equity month over month (last bar of each month), the first month
/// measured from `initial_capital`.
fn monthly_returns(initial_capital: f64, equity: &[f64], bar_times_ms: &[i64]) -> Vec<f64> {
    let mut returns = Vec::new();
    let mut base = initial_capital;
    let mut current: Option<(i64, f64)> = None;
    for (&e, &t) in equity.iter().zip(bar_times_ms) {
        if !e.is_finite() {
            continue;
        }
        let key = month_key(t);
        match current {
            Some((k, last)) if k != key => {
                returns.push(last / base - 1.0);
                base = last;
                current = Some((key, e));
            }
            _ => current = Some((key, e)),
        }
    }
    if let Some((_, last)) = current {
        returns.push(last / base - 1.0);
    }
    returns
}

/// Sharpe and Sortino of monthly returns (see [`compute`]).
fn sharpe_sortino(returns: &[f64]) -> (f64, f64) {
    if returns.len() < 2 || returns.iter().any(|r| !r.is_finite()) {
        return (f64::NAN, f64::NAN);
    }
    let n = returns.len() as f64;
    let rf = RISK_FREE_RATE_ANNUAL / 12.0;
    let mean = returns.iter().sum::<f64>() / n;
    let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    let down = returns
        .iter()
        .map(|r| (r - rf).min(0.0).powi(2))
        .sum::<f64>()
        / n;
    let excess = mean - rf;
    let sd = var.sqrt();
    let dd = down.sqrt();
    (
        if sd > 0.0 { excess / sd } else { f64::NAN },
        if dd > 0.0 { excess / dd } else { f64::NAN },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pine::strategy::Direction;
    use crate::pine::StrId;

    fn trade(profit: f64, commission: f64, entry_bar: usize, exit_bar: usize) -> Trade {
        Trade {
            entry_id: StrId(0),
            exit_id: StrId(0),
            direction: Direction::Long,
            qty: 1.0,
            entry_bar,
            entry_time_ms: 0,
            entry_price: 100.0,
            exit_bar,
            exit_time_ms: 0,
            exit_price: 100.0 + profit,
            profit,
            commission,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * (1.0 + b.abs())
    }

    /// 2024-01-15, 2024-02-15, 2024-03-15 (UTC) in ms.
    const JAN: i64 = 1_705_276_800_000;
    const FEB: i64 = 1_707_955_200_000;
    const MAR: i64 = 1_710_460_800_000;
    const DAY: i64 = 86_400_000;

    #[test]
    fn civil_month_table() {
        let cases = [
            // TC0: the epoch
            (0_i64, (1970, 1)),
            // TC1: 2024-01-15
            (JAN, (2024, 1)),
            // TC2: 2024-02-29 (leap day) is still February
            (FEB + 14 * DAY, (2024, 2)),
            // TC3: 2024-03-15
            (MAR, (2024, 3)),
            // TC4: one ms before the epoch is 1969-12
            (-1, (1969, 12)),
        ];
        for (n, &(ms, want)) in cases.iter().enumerate() {
            assert_eq!(civil_month(ms.div_euclid(MS_PER_DAY)), want, "TC{n}");
        }
    }

    #[test]
    fn trade_stats_table() {
        // TC0: wins 30 and 10, losses -20 and -5, one even trade.
        // net 15, gross profit 40, gross loss 25, pf 1.6, win rate 2/5, avg trade 3,
        // avg win 20, avg loss -12.5, largest 30 / -20, bars held (2+1+3+0+4)/5 = 2,
        // commission 1+1+1+1+1 = 5.
        let trades = [
            trade(30.0, 1.0, 0, 2),
            trade(-20.0, 1.0, 2, 3),
            trade(10.0, 1.0, 3, 6),
            trade(0.0, 1.0, 6, 6),
            trade(-5.0, 1.0, 6, 10),
        ];
        let s = compute(1000.0, &trades, 7.0, &[], &[], 100.0, 120.0);
        assert_eq!(
            (s.total_trades, s.winning_trades, s.losing_trades),
            (5, 2, 2)
        );
        for (n, (got, want)) in [
            (s.net_profit, 15.0),
            (s.gross_profit, 40.0),
            (s.gross_loss, 25.0),
            (s.profit_factor, 1.6),
            (s.win_rate, 0.4),
            (s.avg_trade, 3.0),
            (s.avg_win, 20.0),
            (s.avg_loss, -12.5),
            (s.largest_win, 30.0),
            (s.largest_loss, -20.0),
            (s.avg_bars_in_trade, 2.0),
            (s.commission_paid, 5.0),
            (s.open_profit, 7.0),
            // buy & hold: 1000 * (120 / 100 - 1) = 200
            (s.buy_hold_return, 200.0),
        ]
        .into_iter()
        .enumerate()
        {
            assert!(close(got, want), "field {n}: {got} != {want}");
        }

        // TC1: no losses: profit factor NaN, avg loss NaN.
        let s = compute(1000.0, &[trade(5.0, 0.0, 0, 1)], 0.0, &[], &[], 1.0, 1.0);
        assert!(s.profit_factor.is_nan() && s.avg_loss.is_nan());
        assert!(close(s.win_rate, 1.0));
        // TC2: no trades at all: ratios NaN, sums zero, buy & hold of a zero open NaN.
        let s = compute(1000.0, &[], 0.0, &[], &[], 0.0, 1.0);
        assert!(s.win_rate.is_nan() && s.avg_trade.is_nan() && s.avg_bars_in_trade.is_nan());
        assert_eq!((s.net_profit, s.total_trades), (0.0, 0));
        assert!(s.buy_hold_return.is_nan());
    }

    #[test]
    fn drawdown_table() {
        // (initial, equity, max dd, max dd pct)
        let cases: &[(f64, &[f64], f64, f64)] = &[
            // TC0: peak 1200, trough 900: 300, 300/1200 = 0.25; the later fall from 1300
            // to 1100 (200) is smaller.
            (
                1000.0,
                &[1100.0, 1200.0, 900.0, 1300.0, 1100.0],
                300.0,
                0.25,
            ),
            // TC1: falls straight from the initial capital: 1000 -> 800 = 200, 0.2
            (1000.0, &[950.0, 800.0, 850.0], 200.0, 0.2),
            // TC2: only rises: 0
            (1000.0, &[1000.0, 1010.0, 1020.0], 0.0, 0.0),
            // TC3: non-finite values are skipped: 1000 -> 500 = 500, 0.5
            (1000.0, &[f64::NAN, 500.0, f64::INFINITY], 500.0, 0.5),
        ];
        for (n, &(init, eq, dd, pct)) in cases.iter().enumerate() {
            let s = compute(init, &[], 0.0, eq, &vec![0; eq.len()], 1.0, 1.0);
            assert!(close(s.max_drawdown, dd), "TC{n}: dd {}", s.max_drawdown);
            assert!(
                close(s.max_drawdown_pct, pct),
                "TC{n}: pct {}",
                s.max_drawdown_pct
            );
            assert_eq!(s.bars, eq.len(), "TC{n}");
        }
    }

    #[test]
    fn sharpe_sortino_table() {
        // TC0: two bars a month; month-end equity 1100, 1045, 1149.5 from 1000:
        // returns 0.10, -0.05, 0.10; mean 0.05; rf = 0.02/12 = 0.0016667;
        // excess 0.0483333. Population variance: (0.05^2 + 0.10^2 + 0.05^2) / 3 =
        // 0.005, sd 0.0707107 -> Sharpe 0.683537. Downside: only -0.05 - rf =
        // -0.0516667, squared 0.00266944 / 3 = 0.00088981, sqrt 0.0298296 ->
        // Sortino 1.620306.
        let eq = [1050.0, 1100.0, 1080.0, 1045.0, 1100.0, 1149.5];
        let times = [JAN, JAN + DAY, FEB, FEB + DAY, MAR, MAR + DAY];
        let s = compute(1000.0, &[], 0.0, &eq, &times, 1.0, 1.0);
        assert!((s.sharpe - 0.683537).abs() < 1e-5, "sharpe {}", s.sharpe);
        assert!((s.sortino - 1.620306).abs() < 1e-5, "sortino {}", s.sortino);

        // TC1: one month only: both NaN.
        let s = compute(
            1000.0,
            &[],
            0.0,
            &[1010.0, 1020.0],
            &[JAN, JAN + DAY],
            1.0,
            1.0,
        );
        assert!(s.sharpe.is_nan() && s.sortino.is_nan());

        // TC2: two months, no losing month (+10%, +10%): Sharpe has sd 0 -> NaN,
        // Sortino has no downside -> NaN.
        let s = compute(1000.0, &[], 0.0, &[1100.0, 1210.0], &[JAN, FEB], 1.0, 1.0);
        assert!(s.sharpe.is_nan() && s.sortino.is_nan());

        // TC3: two months +10%, -10%: mean 0, excess -rf = -0.0016667, sd 0.1 ->
        // Sharpe -0.016667; downside: (-0.1016667)^2 / 2 = 0.00516806, sqrt 0.0718892
        // -> Sortino -0.0231839.
        let s = compute(1000.0, &[], 0.0, &[1100.0, 990.0], &[JAN, FEB], 1.0, 1.0);
        assert!((s.sharpe + 0.0166667).abs() < 1e-6, "sharpe {}", s.sharpe);
        assert!(
            (s.sortino + 0.0231839).abs() < 1e-6,
            "sortino {}",
            s.sortino
        );
    }
}
