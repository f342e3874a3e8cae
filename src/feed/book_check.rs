//! `pinewire book-check`: replays a capture through the real decoder and local book and
//! checks the reconstructed best bid/ask (price and quantity) against every bookTicker
//! whose update id is the book's own last update id.
//!
//! bookTicker is a real-time stream while depth diffs come in 100 ms batches, so a ticker
//! usually arrives before the diff that ends at its id: tickers wait in a queue (ids only
//! grow) and are compared when the book reaches their id; tickers whose id the book passes
//! without ending on it are dropped uncompared.

use std::collections::VecDeque;
use std::path::Path;

use super::binance::{self, Decoder, Event};
use super::book::LocalBook;
use super::capture::{CaptureError, CaptureReader};
use super::fixed::Increment;

/// What a replay found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BookCheck {
    /// bookTickers compared with the book (same update id).
    pub checked: u64,
    /// Of those, how many differed in best price or quantity.
    pub mismatched: u64,
    /// Sequence gaps detected (each leaves the book unsynced until the next snapshot).
    pub gaps: u64,
    /// Snapshots applied after the first (re-syncs).
    pub resyncs: u64,
    /// Lines that did not decode.
    pub undecodable: u64,
    /// Messages read.
    pub messages: u64,
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum BookCheckError {
    /// The capture could not be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

/// Replays `files` for one symbol with the given price increment (tickSize) and
/// quantity increment (the wire's precision, 1e-8: book quantities are not always
/// multiples of the order stepSize).
pub fn run(
    files: &[impl AsRef<Path>],
    tick: Increment,
    qty: Increment,
) -> Result<BookCheck, BookCheckError> {
    let mut reader = CaptureReader::new(files);
    let mut decoder = Decoder::new(tick, qty);
    let mut book = LocalBook::new(1 << 16, 8192, 4096, 1 << 18);
    let mut r = BookCheck::default();
    let mut snapshots = 0u64;
    // (update id, bid price, bid qty, ask price, ask qty) of tickers not yet compared.
    let mut pending: VecDeque<(u64, i64, i64, i64, i64)> = VecDeque::with_capacity(1 << 14);
    while let Some(rec) = reader.next() {
        let rec = rec?;
        r.messages += 1;
        let Ok(event) = binance::decode(rec.json, &mut decoder) else {
            r.undecodable += 1;
            continue;
        };
        match event {
            Event::DepthSnapshot(s) => {
                snapshots += 1;
                book.on_snapshot(s.last_update_id, s.bids, s.asks);
            }
            Event::DepthUpdate(d) => {
                book.on_diff(d.first_update_id, d.final_update_id, d.bids, d.asks);
            }
            Event::BookTicker(t) => {
                if pending.len() == pending.capacity() {
                    pending.pop_front();
                }
                pending.push_back((
                    t.update_id,
                    t.bid_price_ticks,
                    t.bid_qty_lots,
                    t.ask_price_ticks,
                    t.ask_qty_lots,
                ));
            }
            _ => {}
        }
        if book.needs_snapshot() {
            continue;
        }
        let last = book.last_update_id();
        while let Some(&(u, bp, bq, ap, aq)) = pending.front() {
            if u > last {
                break;
            }
            pending.pop_front();
            if u == last {
                r.checked += 1;
                let b = book.book();
                let bid_ok = b
                    .best_bid()
                    .is_some_and(|l| l.price_ticks == bp && l.qty_lots == bq);
                let ask_ok = b
                    .best_ask()
                    .is_some_and(|l| l.price_ticks == ap && l.qty_lots == aq);
                if !(bid_ok && ask_ok) {
                    r.mismatched += 1;
                }
            }
        }
    }
    r.gaps = book.gaps();
    r.resyncs = snapshots.saturating_sub(1);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::{BufRead, Write};

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/binance/ws_capture");

    fn files() -> [String; 2] {
        [
            format!("{DIR}/btcusdt_20240808.gz"),
            format!("{DIR}/btcusdt_20240809.gz"),
        ]
    }

    fn incs() -> (Increment, Increment) {
        (
            Increment::parse("0.01").expect("tick"),
            Increment::parse("0.00000001").expect("qty"),
        )
    }

    #[test]
    fn bundled_capture_checks_every_matching_ticker() {
        let (tick, qty) = incs();
        let r = run(&files(), tick, qty).expect("replays");
        // TC0: the reference replay done while collecting found 1,072 tickers whose id a
        // diff ends on; all must match, with no gap.
        assert_eq!(
            (r.checked, r.mismatched, r.gaps, r.undecodable, r.messages),
            (1_072, 0, 0, 0, 99_574)
        );
    }

    #[test]
    fn deleted_diffs_are_gaps_never_a_wrong_book() {
        // TC1: drop every 400th depth diff of the first file: each deletion after the
        // snapshot must be seen as a gap (the capture has one snapshot, so the book stays
        // unsynced after the first) and no ticker may be compared against a wrong book.
        let src = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
            std::fs::File::open(&files()[0]).expect("capture"),
        ));
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut depth = 0;
        for line in src.lines() {
            let line = line.expect("line");
            if line.contains("depthUpdate") {
                depth += 1;
                if depth % 400 == 0 {
                    continue;
                }
            }
            writeln!(enc, "{line}").expect("write");
        }
        let path = std::env::temp_dir().join(format!("pinewire-gap-{}.gz", std::process::id()));
        std::fs::write(&path, enc.finish().expect("gzip")).expect("write");
        let (tick, qty) = incs();
        let r = run(&[&path], tick, qty).expect("replays");
        assert_eq!(r.mismatched, 0);
        assert!(r.gaps >= 1, "{r:?}");
        assert!(r.checked < 1_072, "{r:?}");
    }
}
