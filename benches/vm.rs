//! VM throughput: every example strategy over the bundled 140,614-bar BTCUSDT 5m series,
//! in bars per second, next to the mean-reversion strategy written by hand in Rust with
//! the same `ta` operators; and the whole `pinewire backtest` path (load the feather
//! file, compile, run through the broker emulator) on the same file.
//!
//! `cargo bench --bench vm` prints criterion's times and element throughput (bars/s);
//! the README quotes the figures.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pinewire::backtest::runner::{self, RunOptions};
use pinewire::history;
use pinewire::pine::ta::{Sma, Stdev};
use pinewire::pine::{compile, Bar, SourceFile, StrategyView, Vm};

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/binance/BTC_USDT-5m.feather"
);
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/pine/examples");

fn bars() -> Vec<Bar> {
    history::load(Path::new(DATA), None, None)
        .expect("bundled data")
        .bars
}

fn program(name: &str) -> pinewire::pine::Program {
    let path = format!("{EXAMPLES}/{name}");
    let text = std::fs::read_to_string(&path).expect("example");
    compile(&SourceFile::new(path, text)).expect("compiles")
}

/// The mean-reversion example by hand: the same indicators, the same conditions (the
/// standard deviation computed once, as a person writing it would).
fn hand_mean_reversion(bars: &[Bar]) -> (u32, u32) {
    let mut basis = Sma::new(20).expect("length");
    let mut dev = Stdev::new(20, true).expect("length");
    let (mut entries, mut exits) = (0, 0);
    for b in bars {
        let m = basis.update(b.close);
        let d = dev.update(b.close);
        let upper = m + 2.0 * d;
        let lower = m - 2.0 * d;
        if b.close < lower {
            entries += 1;
        }
        if b.close > upper {
            exits += 1;
        }
    }
    (entries, exits)
}

fn run_vm(vm: &mut Vm, bars: &[Bar]) -> usize {
    let view = StrategyView::default();
    let mut commands = 0;
    for b in bars {
        vm.run_bar(b, &view).expect("runs");
        commands += vm.commands().len();
    }
    commands
}

fn vm_throughput(c: &mut Criterion) {
    let bars = bars();
    let mut group = c.benchmark_group("vm_bars");
    group.throughput(Throughput::Elements(bars.len() as u64));
    group.sample_size(10);
    for name in [
        "mean_reversion.pine",
        "crypto_mean_reversion.pine",
        "rsi_levels.pine",
        "sma_cross.pine",
        "macd.pine",
        "atr_breakout.pine",
        "indicator_rsi_bands.pine",
    ] {
        let p = program(name);
        group.bench_with_input(BenchmarkId::new("pine", name), &bars, |b, bars| {
            b.iter(|| {
                let mut vm = Vm::new(&p, &[]).expect("vm");
                black_box(run_vm(&mut vm, bars))
            })
        });
    }
    group.bench_with_input(
        BenchmarkId::new("hand_written_rust", "mean_reversion"),
        &bars,
        |b, bars| b.iter(|| black_box(hand_mean_reversion(bars))),
    );
    group.finish();
}

fn full_backtest(c: &mut Criterion) {
    let mut group = c.benchmark_group("backtest");
    group.sample_size(10);
    group.throughput(Throughput::Elements(140_614));
    group.bench_function("btcusdt_5m_feather_load_compile_run", |b| {
        b.iter(|| {
            let series = history::load(Path::new(DATA), None, None).expect("data");
            let p = program("crypto_mean_reversion.pine");
            let run = runner::run(&p, &[series], &RunOptions::default()).expect("runs");
            black_box(run.total.total_trades)
        })
    });
    group.finish();
}

criterion_group!(benches, vm_throughput, full_backtest);
criterion_main!(benches);
