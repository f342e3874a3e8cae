//! `ta.*` operator throughput: each operator over the 140,614 closes (or bars) of the bundled
//! BTCUSDT 5m series, in updates per second (`cargo bench --bench ta`).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pinewire::history;
use pinewire::pine::ta;
use pinewire::pine::Bar;

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/binance/BTC_USDT-5m.feather"
);

fn bench_close<T>(
    c: &mut Criterion,
    bars: &[Bar],
    name: &str,
    mut op: T,
    f: fn(&mut T, f64) -> f64,
) {
    c.benchmark_group("ta")
        .throughput(Throughput::Elements(bars.len() as u64))
        .sample_size(20)
        .bench_function(name, |b| {
            b.iter(|| {
                let mut acc = 0.0;
                for bar in bars {
                    acc += f(&mut op, bar.close);
                }
                black_box(acc)
            })
        });
}

fn operators(c: &mut Criterion) {
    let bars = history::load(Path::new(DATA), None, None)
        .expect("bundled data")
        .bars;
    let b = &bars;
    bench_close(c, b, "sma_20", ta::Sma::new(20).expect("len"), |o, x| {
        o.update(x)
    });
    bench_close(c, b, "ema_20", ta::Ema::new(20).expect("len"), |o, x| {
        o.update(x)
    });
    bench_close(c, b, "rsi_14", ta::Rsi::new(14).expect("len"), |o, x| {
        o.update(x)
    });
    bench_close(
        c,
        b,
        "stdev_20",
        ta::Stdev::new(20, true).expect("len"),
        |o, x| o.update(x),
    );
    bench_close(c, b, "wma_20", ta::Wma::new(20).expect("len"), |o, x| {
        o.update(x)
    });
    bench_close(
        c,
        b,
        "highest_50",
        ta::Highest::new(50).expect("len"),
        |o, x| o.update(x),
    );
    bench_close(c, b, "cci_20", ta::Cci::new(20).expect("len"), |o, x| {
        o.update(x)
    });
    bench_close(
        c,
        b,
        "bb_20_2",
        ta::Bb::new(20, 2.0).expect("len"),
        |o, x| o.update(x).1,
    );
    bench_close(
        c,
        b,
        "macd_12_26_9",
        ta::Macd::new(12, 26, 9).expect("len"),
        |o, x| o.update(x).0,
    );
    c.benchmark_group("ta")
        .throughput(Throughput::Elements(bars.len() as u64))
        .sample_size(20)
        .bench_function("atr_14", |bch| {
            bch.iter(|| {
                let mut op = ta::Atr::new(14).expect("len");
                let mut acc = 0.0;
                for bar in b {
                    acc += op.update(bar.high, bar.low, bar.close);
                }
                black_box(acc)
            })
        });
}

criterion_group!(benches, operators);
criterion_main!(benches);
