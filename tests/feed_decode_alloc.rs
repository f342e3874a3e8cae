//! The Binance decoder allocates nothing after warm-up: a counting global allocator watches
//! 20,000 real frames of the bundled BTCUSDT capture being decoded, after the 100 frames
//! before them warmed the decoder up.

use std::io::{BufRead, BufReader};

use pinewire::feed::binance::{decode, Decoder, Event};
use pinewire::feed::fixed::Increment;

#[path = "support/alloc_counter.rs"]
mod alloc_counter;

const WARM_UP: usize = 100;
const MEASURED: usize = 20_000;

#[derive(Default)]
struct Tally {
    depth: usize,
    book_ticker: usize,
    trade: usize,
    snapshot: usize,
    errors: usize,
    levels: usize,
}

fn run(lines: &[Vec<u8>], frame: &mut Vec<u8>, cx: &mut Decoder, tally: &mut Tally) {
    for line in lines {
        frame.clear();
        frame.extend_from_slice(line);
        match decode(frame, cx) {
            Ok(Event::DepthUpdate(d)) => {
                tally.depth += 1;
                tally.levels += d.bids.len() + d.asks.len();
            }
            Ok(Event::BookTicker(_)) => tally.book_ticker += 1,
            Ok(Event::Trade(_)) => tally.trade += 1,
            Ok(Event::DepthSnapshot(s)) => {
                tally.snapshot += 1;
                tally.levels += s.bids.len() + s.asks.len();
            }
            Ok(_) => {}
            Err(_) => tally.errors += 1,
        }
    }
}

#[test]
fn decoding_allocates_nothing_after_warm_up() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/binance/ws_capture/btcusdt_20240808.gz"
    );
    let file = std::fs::File::open(path).expect("bundled capture");
    let lines: Vec<Vec<u8>> = BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .take(WARM_UP + MEASURED)
        .map(|line| {
            let line = line.expect("capture line");
            let (_, json) = line.split_once(' ').expect("`<ns> <json>`");
            json.as_bytes().to_vec()
        })
        .collect();
    assert_eq!(lines.len(), WARM_UP + MEASURED);
    let longest = lines.iter().map(Vec::len).max().unwrap_or(0);

    let tick = Increment::parse("0.01000000").expect("tick");
    let step = Increment::parse("0.00001000").expect("step");
    let mut cx = Decoder::new(tick, step);
    let mut frame = Vec::with_capacity(longest);
    let mut warm = Tally::default();
    run(&lines[..WARM_UP], &mut frame, &mut cx, &mut warm);
    assert_eq!(
        warm.snapshot, 1,
        "the REST snapshot is among the warm-up frames"
    );

    let mut tally = Tally::default();
    let allocs_before = alloc_counter::thread_allocs();
    run(&lines[WARM_UP..], &mut frame, &mut cx, &mut tally);
    let allocs_during = alloc_counter::thread_allocs() - allocs_before;
    let allocs = allocs_during;

    // Every measured frame was decoded (one diff has an ask quantity finer than the step
    // and is rejected with an error, which must not allocate either).
    assert_eq!(
        tally.depth + tally.book_ticker + tally.trade + tally.errors,
        MEASURED
    );
    assert_eq!(tally.errors, 1);
    assert!(tally.depth > 1_000 && tally.book_ticker > 10_000 && tally.trade > 1_000);
    assert!(tally.levels > 10_000);
    assert_eq!(allocs, 0, "allocations while decoding {MEASURED} frames");
}
