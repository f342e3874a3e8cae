//! The bar loop: for each bar, the broker fills what was pending, the script runs on the
//! bar's close with the resulting strategy state, and its commands go to the broker.
//! Several kline files run the same program once per symbol, each with its own capital,
//! and the totals treat them as one portfolio.

use std::collections::BTreeMap;

use super::broker::Broker;
use super::progress::Progress;
use super::result::{BacktestRun, Plots, SymbolRun};
use super::stats;
use crate::history::KlineSeries;
use crate::pine::program::Program;
use crate::pine::vm::{InputError, RuntimeError, Vm};
use crate::pine::{StrId, StringTable};

/// What to run besides the program and the data.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// First bar open time to run (ms, inclusive); earlier bars are skipped.
    pub from_ms: Option<i64>,
    /// Last bar open time to run (ms, inclusive).
    pub to_ms: Option<i64>,
    /// Input overrides (`--set name=value`).
    pub inputs: Vec<(String, String)>,
    /// Show a progress bar on a terminal.
    pub progress: bool,
}

/// Why a backtest could not complete.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// A `--set` override is wrong.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The script failed on a bar.
    #[error("{symbol}: bar {bar} ({time}): {error}")]
    Runtime {
        /// Symbol being run.
        symbol: String,
        /// Bar index.
        bar: usize,
        /// Bar open time, ISO-8601.
        time: String,
        /// The script error.
        error: RuntimeError,
    },
    /// No bar is left after `--from` / `--to`.
    #[error("{symbol}: no bars between the --from and --to times")]
    NoBars {
        /// Symbol.
        symbol: String,
    },
}

/// Runs `program` over each series and assembles the run with its totals.
pub fn run(
    program: &Program,
    series: &[KlineSeries],
    opts: &RunOptions,
) -> Result<BacktestRun, BacktestError> {
    let mut strings = program.strings.clone();
    let mut runs = Vec::with_capacity(series.len());
    for s in series {
        let (mut run, vm_strings) = run_symbol(program, s, opts)?;
        remap_ids(&mut run, program.strings.len(), &vm_strings, &mut strings);
        runs.push(run);
    }
    let total = total_stats(program.settings.initial_capital, &runs);
    Ok(BacktestRun {
        settings: program.settings.clone(),
        strings,
        runs,
        total,
    })
}

/// Runs one symbol; returns the run and the VM's strings (program strings plus any the
/// script built at run time).
pub fn run_symbol(
    program: &Program,
    series: &KlineSeries,
    opts: &RunOptions,
) -> Result<(SymbolRun, StringTable), BacktestError> {
    let bars: Vec<_> = series
        .bars
        .iter()
        .filter(|b| opts.from_ms.is_none_or(|f| b.time_ms >= f))
        .filter(|b| opts.to_ms.is_none_or(|t| b.time_ms <= t))
        .copied()
        .collect();
    if bars.is_empty() {
        return Err(BacktestError::NoBars {
            symbol: series.symbol.clone(),
        });
    }
    let mut vm = Vm::new(program, &opts.inputs)?;
    vm.set_timeframe_ms(series.timeframe.ms());
    vm.set_mintick(series.mintick);
    let mut broker = Broker::new(&program.settings, series.mintick, bars.len());
    let mut plots = Plots {
        titles: program.plots.clone(),
        values: program
            .plots
            .iter()
            .map(|_| Vec::with_capacity(bars.len()))
            .collect(),
    };
    let mut alerts = Vec::new();
    let mut progress = Progress::new(
        &series.symbol,
        if opts.progress { bars.len() as u64 } else { 0 },
    );
    for (i, bar) in bars.iter().enumerate() {
        broker.on_bar_open(i, bar);
        let view = broker.view(bar);
        if let Err(error) = vm.run_bar(bar, &view) {
            progress.finish();
            return Err(BacktestError::Runtime {
                symbol: series.symbol.clone(),
                bar: i,
                time: super::report::iso8601_utc(bar.time_ms),
                error,
            });
        }
        for (col, &v) in plots.values.iter_mut().zip(vm.plot_values()) {
            col.push(v);
        }
        for &a in vm.alerts() {
            alerts.push((i, vm.strings().get(a).to_string()));
        }
        broker.on_bar_close(i, bar, vm.commands());
        progress.inc(1);
    }
    progress.finish();
    let last = bars[bars.len() - 1];
    let open_profit = broker.view(&last).openprofit;
    let times: Vec<i64> = bars.iter().map(|b| b.time_ms).collect();
    let stats = stats::compute(
        program.settings.initial_capital,
        broker.trades(),
        open_profit,
        broker.equity_curve(),
        &times,
        bars[0].open,
        last.close,
    );
    let run = SymbolRun {
        symbol: series.symbol.clone(),
        timeframe: series.timeframe.as_str().to_string(),
        trades: broker.trades().to_vec(),
        open_trades: broker.open_trades(),
        equity: broker.equity_curve().to_vec(),
        stats,
        plots,
        alerts,
        bars,
    };
    Ok((run, vm.strings().clone()))
}

/// Order ids a script built at run time (beyond the program's own strings) are interned
/// per VM; re-intern them in the run's shared table so every id resolves.
fn remap_ids(run: &mut SymbolRun, program_len: usize, vm: &StringTable, shared: &mut StringTable) {
    let mut fix = |id: StrId| {
        if (id.0 as usize) < program_len {
            id
        } else {
            shared.intern(vm.get(id))
        }
    };
    for t in &mut run.trades {
        t.entry_id = fix(t.entry_id);
        t.exit_id = fix(t.exit_id);
    }
    for t in &mut run.open_trades {
        t.entry_id = fix(t.entry_id);
    }
}

/// Statistics of all symbols as one portfolio: each symbol starts with the declared
/// capital, the equity curves are summed on the union of bar times (a symbol's equity
/// holds between its bars), and trades are taken together.
fn total_stats(capital: f64, runs: &[SymbolRun]) -> super::Stats {
    if runs.len() == 1 {
        return runs[0].stats;
    }
    let mut by_time: BTreeMap<i64, Vec<(usize, f64)>> = BTreeMap::new();
    for (k, r) in runs.iter().enumerate() {
        for (b, e) in r.bars.iter().zip(&r.equity) {
            by_time.entry(b.time_ms).or_default().push((k, *e));
        }
    }
    let mut current = vec![capital; runs.len()];
    let mut times = Vec::with_capacity(by_time.len());
    let mut equity = Vec::with_capacity(by_time.len());
    for (t, updates) in by_time {
        for (k, e) in updates {
            current[k] = e;
        }
        times.push(t);
        equity.push(current.iter().sum());
    }
    let mut trades: Vec<_> = runs.iter().flat_map(|r| r.trades.iter().copied()).collect();
    trades.sort_by_key(|t| t.exit_time_ms);
    let open_profit = runs.iter().map(|r| r.stats.open_profit).sum();
    let initial = capital * runs.len() as f64;
    let mut s = stats::compute(initial, &trades, open_profit, &equity, &times, 1.0, 1.0);
    s.buy_hold_return = runs.iter().map(|r| r.stats.buy_hold_return).sum();
    s.bars = runs.iter().map(|r| r.stats.bars).sum();
    s
}
