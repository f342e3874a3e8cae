//! Checks every `ta` operator against the independent Python reference
//! (`tests/reference/ta_reference.py`, written from the Pine manual's definitions with
//! whole-history loops) over the bundled BTC/USDT 1h klines, value by value, and checks
//! that neither `update` nor `clone_from` ever touches the heap.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

use pinewire::pine::ta::*;
use pinewire::pine::Bar;

/// Counts heap allocations per thread, so that parallel tests do not disturb each other.
struct CountingAlloc;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

fn allocs() -> u64 {
    ALLOCS.with(|c| c.get())
}

// SAFETY: every method forwards unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; counting touches only a const-initialised thread-local `Cell`,
// which never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's `layout` obligations are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` was allocated by `System` through this allocator with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn data_path() -> PathBuf {
    root().join("tests/data/binance/BTC_USDT-1h.json.gz")
}

/// Reads the freqtrade JSON klines: a gzip of `[[open_time_ms, o, h, l, c, v], ...]`.
fn load_bars(path: &Path) -> Vec<Bar> {
    let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let rows: Vec<(i64, f64, f64, f64, f64, f64)> =
        serde_json::from_reader(BufReader::new(flate2::read::GzDecoder::new(file)))
            .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    rows.into_iter()
        .map(|(time_ms, open, high, low, close, volume)| Bar {
            time_ms,
            open,
            high,
            low,
            close,
            volume,
        })
        .collect()
}

/// The close with `na` holes, exactly as the reference's `gappy`.
fn gap(i: usize, bar: &Bar) -> f64 {
    if i % 53 == 7 || (300..304).contains(&i) {
        f64::NAN
    } else {
        bar.close
    }
}

fn hlc3(bar: &Bar) -> f64 {
    (bar.high + bar.low + bar.close) / 3.0
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

type Series = BTreeMap<String, Vec<f64>>;

/// Runs one operator over all bars, storing its `N` outputs under `names`. After each
/// bar it snapshots and restores the operator with `clone_from`, as the VM does
/// between realtime ticks, and asserts that the update and both copies made no heap
/// allocation.
fn run<T: Clone, const N: usize>(
    out: &mut Series,
    bars: &[Bar],
    names: [&str; N],
    mut op: T,
    mut step: impl FnMut(&mut T, usize, &Bar) -> [f64; N],
) {
    let mut series: Vec<Vec<f64>> = (0..N).map(|_| Vec::with_capacity(bars.len())).collect();
    let mut snapshot = op.clone();
    for (i, bar) in bars.iter().enumerate() {
        let before = allocs();
        let values = step(&mut op, i, bar);
        snapshot.clone_from(&op);
        op.clone_from(&snapshot);
        let made = allocs() - before;
        assert_eq!(
            made, 0,
            "{}: bar {i}: {made} heap allocation(s) in update or clone_from",
            names[0]
        );
        for (s, v) in series.iter_mut().zip(values) {
            s.push(v);
        }
    }
    for (name, s) in names.iter().zip(series) {
        assert!(
            out.insert(name.to_string(), s).is_none(),
            "duplicate case {name}"
        );
    }
}

/// Every case of the reference, computed with the Rust operators.
fn rust_cases(bars: &[Bar]) -> Series {
    let mut o = Series::new();
    let o = &mut o;
    let ok = "valid parameters";

    run(
        o,
        bars,
        ["sma_close_20"],
        Sma::new(20).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["sma_close_1"],
        Sma::new(1).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["sma_gappy_10"],
        Sma::new(10).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    run(
        o,
        bars,
        ["sum_close_10"],
        Sum::new(10).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["sum_volume_24"],
        Sum::new(24).expect(ok),
        |op, _, b| [op.update(b.volume)],
    );
    run(
        o,
        bars,
        ["sum_gappy_3"],
        Sum::new(3).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    run(
        o,
        bars,
        ["ema_close_9"],
        Ema::new(9).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["ema_close_21"],
        Ema::new(21).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["ema_close_1"],
        Ema::new(1).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["ema_gappy_5"],
        Ema::new(5).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    run(
        o,
        bars,
        ["rma_close_14"],
        Rma::new(14).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["rma_close_1"],
        Rma::new(1).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["rma_gappy_7"],
        Rma::new(7).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    run(
        o,
        bars,
        ["wma_close_9"],
        Wma::new(9).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["wma_close_30"],
        Wma::new(30).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["wma_gappy_4"],
        Wma::new(4).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    for n in [20, 5] {
        let name = format!("vwma_close_{n}");
        run(
            o,
            bars,
            [name.as_str()],
            Vwma::new(n).expect(ok),
            |op, _, b| [op.update(b.close, b.volume)],
        );
    }
    run(
        o,
        bars,
        ["rsi_close_14"],
        Rsi::new(14).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["rsi_close_2"],
        Rsi::new(2).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["rsi_gappy_14"],
        Rsi::new(14).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    for n in [14, 5] {
        let name = format!("stoch_{n}");
        run(
            o,
            bars,
            [name.as_str()],
            Stoch::new(n).expect(ok),
            |op, _, b| [op.update(b.close, b.high, b.low)],
        );
    }
    run(
        o,
        bars,
        ["cci_close_20"],
        Cci::new(20).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["cci_hlc3_14"],
        Cci::new(14).expect(ok),
        |op, _, b| [op.update(hlc3(b))],
    );
    run(
        o,
        bars,
        ["mom_close_10"],
        Mom::new(10).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["roc_close_9"],
        Roc::new(9).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["roc_gappy_2"],
        Roc::new(2).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    run(
        o,
        bars,
        ["change_close_1"],
        Change::new(1).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["change_close_5"],
        Change::new(5).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["change_gappy_1"],
        Change::new(1).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    run(o, bars, ["tr_false"], Tr::new(false), |op, _, b| {
        [op.update(b.high, b.low, b.close)]
    });
    run(o, bars, ["tr_true"], Tr::new(true), |op, _, b| {
        [op.update(b.high, b.low, b.close)]
    });
    for n in [14, 1] {
        let name = format!("atr_{n}");
        run(
            o,
            bars,
            [name.as_str()],
            Atr::new(n).expect(ok),
            |op, _, b| [op.update(b.high, b.low, b.close)],
        );
    }
    run(
        o,
        bars,
        ["stdev_close_20"],
        Stdev::new(20, true).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["stdev_close_5"],
        Stdev::new(5, true).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["stdev_close_20_unbiased"],
        Stdev::new(20, false).expect(ok),
        |op, _, b| [op.update(b.close)],
    );
    run(
        o,
        bars,
        ["stdev_gappy_8"],
        Stdev::new(8, true).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    for (n, mult, name) in [(20, 2.0, "bb_close_20_2"), (10, 1.5, "bb_close_10_1.5")] {
        let names = [
            format!("{name}_basis"),
            format!("{name}_upper"),
            format!("{name}_lower"),
        ];
        let names = [names[0].as_str(), names[1].as_str(), names[2].as_str()];
        run(o, bars, names, Bb::new(n, mult).expect(ok), |op, _, b| {
            let (basis, upper, lower) = op.update(b.close);
            [basis, upper, lower]
        });
    }
    for (f, s, g) in [(12, 26, 9), (5, 35, 5)] {
        let names = [
            format!("macd_close_{f}_{s}_{g}_macd"),
            format!("macd_close_{f}_{s}_{g}_signal"),
            format!("macd_close_{f}_{s}_{g}_hist"),
        ];
        let names = [names[0].as_str(), names[1].as_str(), names[2].as_str()];
        run(o, bars, names, Macd::new(f, s, g).expect(ok), |op, _, b| {
            let (m, sig, h) = op.update(b.close);
            [m, sig, h]
        });
    }
    for (factor, period, name) in [
        (3.0, 10, "supertrend_3_10"),
        (2.0, 7, "supertrend_2_7"),
        (1.5, 1, "supertrend_1.5_1"),
    ] {
        let names = [format!("{name}_value"), format!("{name}_dir")];
        let names = [names[0].as_str(), names[1].as_str()];
        run(
            o,
            bars,
            names,
            Supertrend::new(factor, period).expect(ok),
            |op, _, b| {
                let (v, d) = op.update(b.high, b.low, b.close);
                [v, d]
            },
        );
    }
    for (di, adx) in [(14, 14), (7, 3)] {
        let names = [
            format!("dmi_{di}_{adx}_plus"),
            format!("dmi_{di}_{adx}_minus"),
            format!("dmi_{di}_{adx}_adx"),
        ];
        let names = [names[0].as_str(), names[1].as_str(), names[2].as_str()];
        run(o, bars, names, Dmi::new(di, adx).expect(ok), |op, _, b| {
            let (p, m, a) = op.update(b.high, b.low, b.close);
            [p, m, a]
        });
    }
    run(
        o,
        bars,
        ["highest_high_20"],
        Highest::new(20).expect(ok),
        |op, _, b| [op.update(b.high)],
    );
    run(
        o,
        bars,
        ["highest_high_1"],
        Highest::new(1).expect(ok),
        |op, _, b| [op.update(b.high)],
    );
    run(
        o,
        bars,
        ["highest_gappy_10"],
        Highest::new(10).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    run(
        o,
        bars,
        ["lowest_low_20"],
        Lowest::new(20).expect(ok),
        |op, _, b| [op.update(b.low)],
    );
    run(
        o,
        bars,
        ["lowest_low_5"],
        Lowest::new(5).expect(ok),
        |op, _, b| [op.update(b.low)],
    );
    run(
        o,
        bars,
        ["lowest_gappy_10"],
        Lowest::new(10).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    run(
        o,
        bars,
        ["pivothigh_high_5_5"],
        PivotHigh::new(5, 5).expect(ok),
        |op, _, b| [op.update(b.high)],
    );
    run(
        o,
        bars,
        ["pivothigh_high_2_3"],
        PivotHigh::new(2, 3).expect(ok),
        |op, _, b| [op.update(b.high)],
    );
    run(
        o,
        bars,
        ["pivothigh_gappy_3_3"],
        PivotHigh::new(3, 3).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    run(
        o,
        bars,
        ["pivotlow_low_5_5"],
        PivotLow::new(5, 5).expect(ok),
        |op, _, b| [op.update(b.low)],
    );
    run(
        o,
        bars,
        ["pivotlow_low_3_1"],
        PivotLow::new(3, 1).expect(ok),
        |op, _, b| [op.update(b.low)],
    );
    run(
        o,
        bars,
        ["pivotlow_gappy_2_2"],
        PivotLow::new(2, 2).expect(ok),
        |op, i, b| [op.update(gap(i, b))],
    );
    // Compositions take the Rust series computed above as inputs.
    let sma20 = o["sma_close_20"].clone();
    let ema9 = o["ema_close_9"].clone();
    let ema21 = o["ema_close_21"].clone();
    let gap_sma10 = o["sma_gappy_10"].clone();
    run(
        o,
        bars,
        ["crossover_close_sma20"],
        Crossover::new(),
        |op, i, b| [flag(op.update(b.close, sma20[i]))],
    );
    run(
        o,
        bars,
        ["crossunder_close_sma20"],
        Crossunder::new(),
        |op, i, b| [flag(op.update(b.close, sma20[i]))],
    );
    run(o, bars, ["cross_ema9_ema21"], Cross::new(), |op, i, _| {
        [flag(op.update(ema9[i], ema21[i]))]
    });
    run(
        o,
        bars,
        ["crossover_gappy_sma10"],
        Crossover::new(),
        |op, i, b| [flag(op.update(gap(i, b), gap_sma10[i]))],
    );
    run(o, bars, ["barssince_up"], BarsSince::new(), |op, _, b| {
        [op.update(b.close > b.open)]
    });
    run(
        o,
        bars,
        ["barssince_bigvol"],
        BarsSince::new(),
        |op, _, b| [op.update(b.volume > 2000.0)],
    );
    run(
        o,
        bars,
        ["valuewhen_up_close_0"],
        ValueWhen::new(0).expect(ok),
        |op, _, b| [op.update(b.close > b.open, b.close)],
    );
    run(
        o,
        bars,
        ["valuewhen_up_close_2"],
        ValueWhen::new(2).expect(ok),
        |op, _, b| [op.update(b.close > b.open, b.close)],
    );
    run(
        o,
        bars,
        ["valuewhen_bigvol_gappy_1"],
        ValueWhen::new(1).expect(ok),
        |op, i, b| [op.update(b.volume > 2000.0, gap(i, b))],
    );
    run(o, bars, ["cum_volume"], Cum::new(), |op, _, b| {
        [op.update(b.volume)]
    });
    run(o, bars, ["cum_gappy"], Cum::new(), |op, i, b| {
        [op.update(gap(i, b))]
    });
    run(o, bars, ["vwap_hlc3"], Vwap::new(), |op, _, b| {
        [op.update(hlc3(b), b.volume, b.time_ms)]
    });
    run(o, bars, ["vwap_gappy"], Vwap::new(), |op, i, b| {
        [op.update(gap(i, b), b.volume, b.time_ms)]
    });
    std::mem::take(o)
}

/// Both `na`, or within 1e-9 relative (1e-9 absolute near zero).
fn agrees(want: Option<f64>, got: f64) -> bool {
    match want {
        None => got.is_nan(),
        Some(w) => {
            let diff = (w - got).abs();
            !got.is_nan() && (diff <= 1e-9 || diff <= 1e-9 * w.abs().max(got.abs()))
        }
    }
}

fn python_reference(data: &Path) -> BTreeMap<String, Vec<Option<f64>>> {
    let script = root().join("tests/reference/ta_reference.py");
    let output = match Command::new("python3").arg(&script).arg(data).output() {
        Ok(output) => output,
        Err(e) => panic!(
            "cannot run python3 ({e}): this test compares the ta operators with \
             {}, which needs Python 3 (standard library only) on PATH; install python3",
            script.display()
        ),
    };
    assert!(
        output.status.success(),
        "{} failed ({}):\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("reference output is not the expected JSON: {e}"))
}

#[test]
fn matches_python_reference() {
    let data = data_path();
    let bars = load_bars(&data);
    assert_eq!(bars.len(), 719, "the bundled BTC/USDT 1h file has 719 bars");
    let want = python_reference(&data);
    let got = rust_cases(&bars);

    let missing: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "case lists differ: only in the reference {missing:?}, only in Rust {extra:?}"
    );

    let mut failures = Vec::new();
    let (mut compared, mut values, mut worst) = (0usize, 0usize, 0.0f64);
    for (case, expected) in &want {
        let series = &got[case];
        assert_eq!(expected.len(), bars.len(), "{case}: reference length");
        for (i, (&w, &g)) in expected.iter().zip(series).enumerate() {
            compared += 1;
            if !agrees(w, g) {
                failures.push(format!("{case}: bar {i}: expected {w:?}, got {g}"));
            } else if let Some(w) = w {
                values += 1;
                let scale = w.abs().max(g.abs()).max(1.0);
                worst = worst.max((w - g).abs() / scale);
            }
        }
    }
    println!(
        "ta reference: {} cases, {compared} bar values compared ({values} non-na), \
         worst relative error {worst:.3e}",
        want.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {compared} values differ from the reference; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn update_and_clone_from_never_allocate() {
    // `run` asserts zero allocations per bar for every operator; this test does not need
    // python3, so the allocation contract is checked even where the reference cannot run.
    let bars = load_bars(&data_path());
    let cases = rust_cases(&bars);
    assert_eq!(cases.len(), 88, "every case ran");
}
