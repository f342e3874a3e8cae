//! Depth decode + apply over the bundled BTCUSDT capture (the REST snapshot, then every
//! depthUpdate of both files), in bytes/s and messages/s: pinewire's decoder into integer
//! ticks and lots plus the tick-indexed `LocalBook`, both through the default entry point
//! (`decode`: the frame-specific depth scanner, simd-json for anything else) and through
//! simd-json's tape alone (`decode_frame_tape`), against the conventional baseline measured
//! in the same run: serde_json into owned structs plus a `BTreeMap` book keyed by the
//! parsed price (`cargo bench --bench feed`). Also the kline builder over the capture's
//! trades, in trades/s.
//!
//! Every pinewire variant first copies each frame into a reused buffer, as the socket read
//! does in the engine (and because simd-json rewrites the frame in place).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::BufRead;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pinewire::feed::binance::{self, Decoder, Event};
use pinewire::feed::book::LocalBook;
use pinewire::feed::fixed::Increment;
use pinewire::feed::kline_builder::{BarInterval, KlineBuilder};
use serde::Deserialize;

/// The snapshot and the depth diffs of the capture, JSON only, in order.
fn depth_messages() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/binance/ws_capture");
    let mut out = Vec::new();
    for f in ["btcusdt_20240808.gz", "btcusdt_20240809.gz"] {
        let file = std::fs::File::open(format!("{dir}/{f}")).expect("capture");
        let r = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file));
        for line in r.lines() {
            let line = line.expect("line");
            if line.contains("depthUpdate") || line.contains("lastUpdateId") {
                let json = line.split_once(' ').expect("record").1;
                out.push(json.as_bytes().to_vec());
            }
        }
    }
    // The snapshot arrived after the first diffs; replay it first, then the diffs after it.
    let snap = out
        .iter()
        .position(|m| m.starts_with(b"{\"lastUpdateId\""))
        .expect("snapshot");
    let s = out.remove(snap);
    out.insert(0, s);
    out
}

/// Which pinewire decode entry point a run goes through.
#[derive(Clone, Copy)]
enum Path {
    /// `binance::decode`: the depth scanner, simd-json for anything else.
    Default,
    /// `binance::decode_frame_tape`: simd-json's tape for every frame.
    Tape,
}

fn pinewire(
    msgs: &[Vec<u8>],
    scratch: &mut Vec<u8>,
    dec: &mut Decoder,
    book: &mut LocalBook,
    path: Path,
) -> u64 {
    let mut applied = 0;
    for m in msgs {
        scratch.clear();
        scratch.extend_from_slice(m);
        let event = match path {
            Path::Default => binance::decode(scratch, dec),
            Path::Tape => binance::decode_frame_tape(scratch, dec).map(|f| f.event),
        };
        match event {
            Ok(Event::DepthSnapshot(s)) => {
                book.on_snapshot(s.last_update_id, s.bids, s.asks);
            }
            Ok(Event::DepthUpdate(d)) => {
                book.on_diff(d.first_update_id, d.final_update_id, d.bids, d.asks);
                applied += 1;
            }
            _ => {}
        }
    }
    applied + book.last_update_id() % 2
}

#[derive(Deserialize)]
struct Envelope {
    #[allow(dead_code)]
    stream: String,
    data: DepthOwned,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct DepthOwned {
    U: u64,
    u: u64,
    b: Vec<(String, String)>,
    a: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct SnapshotOwned {
    lastUpdateId: u64,
    bids: Vec<(String, String)>,
    asks: Vec<(String, String)>,
}

/// The conventional way: owned structs, f64 prices, a tree per side.
fn baseline(msgs: &[Vec<u8>]) -> u64 {
    let mut bids: BTreeMap<u64, f64> = BTreeMap::new();
    let mut asks: BTreeMap<u64, f64> = BTreeMap::new();
    let mut last = 0u64;
    let apply = |side: &mut BTreeMap<u64, f64>, levels: &[(String, String)]| {
        for (p, q) in levels {
            let (p, q): (f64, f64) = (p.parse().unwrap_or(0.0), q.parse().unwrap_or(0.0));
            // Positive finite floats order like their bit patterns.
            if q == 0.0 {
                side.remove(&p.to_bits());
            } else {
                side.insert(p.to_bits(), q);
            }
        }
    };
    for m in msgs {
        if m.starts_with(b"{\"lastUpdateId\"") {
            let s: SnapshotOwned = serde_json::from_slice(m).expect("snapshot");
            last = s.lastUpdateId;
            apply(&mut bids, &s.bids);
            apply(&mut asks, &s.asks);
        } else {
            let e: Envelope = serde_json::from_slice(m).expect("diff");
            if e.data.u <= last {
                continue;
            }
            black_box(e.data.U);
            last = e.data.u;
            apply(&mut bids, &e.data.b);
            apply(&mut asks, &e.data.a);
        }
    }
    last + bids.len() as u64 + asks.len() as u64
}

fn depth(c: &mut Criterion) {
    let msgs = depth_messages();
    let bytes: usize = msgs.iter().map(Vec::len).sum();
    let tick = Increment::parse("0.01").expect("tick");
    let qty = Increment::parse("0.00000001").expect("qty");
    let mut g = c.benchmark_group("depth_decode_apply");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(bytes as u64));
    let mut scratch = Vec::with_capacity(128 * 1024);
    let mut dec = Decoder::new(tick, qty);
    for (name, path) in [
        ("pinewire_depth_scan_tick_book", Path::Default),
        ("pinewire_simd_json_tick_book", Path::Tape),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut book = LocalBook::new(1 << 16, 8192, 4096, 1 << 18);
                black_box(pinewire(&msgs, &mut scratch, &mut dec, &mut book, path))
            })
        });
    }
    g.bench_function("baseline_serde_json_btreemap", |b| {
        b.iter(|| black_box(baseline(&msgs)))
    });
    g.throughput(criterion::Throughput::Elements(msgs.len() as u64));
    g.bench_function("pinewire_messages", |b| {
        b.iter(|| {
            let mut book = LocalBook::new(1 << 16, 8192, 4096, 1 << 18);
            black_box(pinewire(
                &msgs,
                &mut scratch,
                &mut dec,
                &mut book,
                Path::Default,
            ))
        })
    });
    g.finish();
}

/// The capture's trades, decoded once: (id, time, price ticks, qty lots, buyer is maker).
fn capture_trades() -> Vec<(u64, u64, i64, i64, bool)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/binance/ws_capture");
    let tick = Increment::parse("0.01").expect("tick");
    let step = Increment::parse("0.00001").expect("step");
    let mut dec = Decoder::new(tick, step);
    let mut out = Vec::new();
    for f in ["btcusdt_20240808.gz", "btcusdt_20240809.gz"] {
        let file = std::fs::File::open(format!("{dir}/{f}")).expect("capture");
        let r = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file));
        for line in r.lines() {
            let line = line.expect("line");
            if !line.contains("@trade") {
                continue;
            }
            let mut json = line.split_once(' ').expect("record").1.as_bytes().to_vec();
            if let Ok(Event::Trade(t)) = binance::decode(&mut json, &mut dec) {
                out.push((
                    t.trade_id,
                    t.trade_time_ms,
                    t.price_ticks,
                    t.qty_lots,
                    t.buyer_is_maker,
                ));
            }
        }
    }
    out
}

/// `KlineBuilder::on_trade` over the capture's ~20k trades, in trades/s: 1m bars (the
/// common case: almost every trade lands in the open bar) and 1s bars (a boundary every
/// few trades, with empty seconds filled in).
fn kline_builder(c: &mut Criterion) {
    let trades = capture_trades();
    let mut g = c.benchmark_group("kline_builder_on_trade");
    g.throughput(Throughput::Elements(trades.len() as u64));
    for name in ["1m", "1s"] {
        let interval = BarInterval::parse(name).expect("interval");
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut builder = KlineBuilder::new(interval);
                let mut closed = 0u64;
                for &(id, t, px, qty, maker) in &trades {
                    builder.on_trade(id, t, px, qty, maker, &mut |bar| {
                        closed += bar.trade_count;
                    });
                }
                black_box(closed)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, depth, kline_builder);
criterion_main!(benches);
