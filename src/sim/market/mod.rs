//! The simulator's markets: what happens on the simulated exchange, as
//! [`MarketSource`]s the server steps and serves.
//!
//! Runs on the sim's market thread (the server owns it and serializes access); never on
//! the engine's hot threads, so plain `BTreeMap` books and `String` bodies are fine here.
//! Independent of the engine's feed on purpose: it reuses only the decimal helpers
//! ([`crate::feed::fixed`]), the kline file readers ([`crate::history`]) and the capture
//! line reader ([`crate::feed::capture`]), so the feed is tested against an independent
//! implementation of Binance's formats and book rules.
//!
//! * [`synth`]: a market synthesized from kline files (trades that re-aggregate into the
//!   file's bars exactly, a depth book around them, every stream derived).
//! * [`replay`]: replay of a recorded capture, with the streams it lacks derived.
//! * [`book`], [`json`], [`klines`], [`symbols`]: the order book, the Binance JSON
//!   writers, kline building, and the exchangeInfo filter table they share.
//!
//! [`open_source`] picks one from file names.

pub mod book;
pub mod json;
pub mod klines;
pub mod replay;
pub mod symbols;
pub mod synth;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

pub use replay::{ReplayChecks, ReplayError, ReplayMarket};
pub use synth::{SynthError, SynthMarket, SynthOptions};

use crate::sim::source::MarketSource;

/// What a file is to [`open_sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A capture (`*.gz` that is not `*.json.gz` / `*.csv.gz`): replayed.
    Capture,
    /// A kline file (`.feather`, `.json`, `.json.gz`, `.csv`, `.csv.gz`): synthesized.
    Klines,
}

impl SourceKind {
    /// Classifies `path` by its name (case-insensitive); `None` for anything else.
    pub fn of(path: &Path) -> Option<SourceKind> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let kline_ext = [".feather", ".json", ".json.gz", ".csv", ".csv.gz"];
        if kline_ext.iter().any(|ext| name.ends_with(ext)) {
            Some(SourceKind::Klines)
        } else if name.ends_with(".gz") {
            Some(SourceKind::Capture)
        } else {
            None
        }
    }
}

/// Opens one file as a market with default [`SynthOptions`]: see [`open_sources`].
pub fn open_source(path: &Path) -> anyhow::Result<Box<dyn MarketSource>> {
    open_sources(&[path.to_path_buf()], &SynthOptions::default())
}

/// Opens a market from files of one kind: capture files (`*.gz`, replayed in the order
/// given as one capture of one symbol) or kline files (one per symbol; symbol and
/// timeframe from the file name as [`crate::history::load`] reads them, e.g.
/// `BTC_USDT-1m.json.gz`, `BTCUSDT-1h-2023-04.csv`), synthesized with `opts`.
pub fn open_sources(
    paths: &[PathBuf],
    opts: &SynthOptions,
) -> anyhow::Result<Box<dyn MarketSource>> {
    let Some(first) = paths.first() else {
        bail!("no market data file given: pass a capture (*.gz) or kline files");
    };
    let mut kinds = paths.iter().map(|p| (p, SourceKind::of(p)));
    let kind = SourceKind::of(first);
    if let Some((p, _)) = kinds.find(|(_, k)| k.is_none()) {
        bail!(
            "{}: not a market data file; expected a capture (*.gz) or klines (.feather, \
             .json, .json.gz, .csv, .csv.gz)",
            p.display()
        );
    }
    if let Some((p, _)) = paths
        .iter()
        .map(|p| (p, SourceKind::of(p)))
        .find(|(_, k)| *k != kind)
    {
        bail!(
            "{}: mixes a capture with kline files; give one kind of source",
            p.display()
        );
    }
    match kind {
        Some(SourceKind::Capture) => {
            let market = ReplayMarket::open(paths).context("opening the capture")?;
            Ok(Box::new(market))
        }
        Some(SourceKind::Klines) => {
            let mut series = Vec::with_capacity(paths.len());
            for path in paths {
                let s = crate::history::load(path, None, None)
                    .with_context(|| format!("loading {}", path.display()))?;
                series.push(s);
            }
            let market = SynthMarket::from_series(series, opts.clone())
                .context("building the synthetic market")?;
            Ok(Box::new(market))
        }
        None => bail!("{}: not a market data file", first.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_kinds() {
        let cases: &[(&str, Option<SourceKind>)] = &[
            // TC0: capture
            ("ws_capture/btcusdt_20240808.gz", Some(SourceKind::Capture)),
            // TC1: freqtrade gzip JSON is klines, not a capture
            ("BTC_USDT-1m.json.gz", Some(SourceKind::Klines)),
            // TC2: feather
            ("BTC_USDT-5m.feather", Some(SourceKind::Klines)),
            // TC3: Binance CSV, plain and gzip
            ("BTCUSDT-1h-2023-04.csv", Some(SourceKind::Klines)),
            ("BTCUSDT-1h-2023-04.CSV.GZ", Some(SourceKind::Klines)),
            // TC5: anything else
            ("notes.txt", None),
        ];
        for (i, (path, want)) in cases.iter().enumerate() {
            assert_eq!(SourceKind::of(Path::new(path)), *want, "TC{i}");
        }
    }

    #[test]
    fn open_source_table() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/binance");
        // TC0: a kline file gives a synthetic market named after the file
        let m = open_source(Path::new(&format!("{dir}/ETH_USDT-1h.json.gz"))).expect("synth");
        assert_eq!(m.symbols()[0].symbol, "ETHUSDT", "TC0");
        assert!(m.next_time_ms().is_some(), "TC0");
        // TC1: a CSV kline file
        let m = open_source(Path::new(&format!("{dir}/BTCUSDT-1h-2023-04.csv"))).expect("csv");
        assert_eq!(m.symbols()[0].symbol, "BTCUSDT", "TC1");
        // TC2: a capture gives a replay
        let m = open_source(Path::new(&format!("{dir}/ws_capture/btcusdt_20240808.gz")))
            .expect("replay");
        assert_eq!(m.last_update_id(0), 50_093_239_224, "TC2");
        // TC3: mixing kinds is refused
        let err = open_sources(
            &[
                PathBuf::from(format!("{dir}/ETH_USDT-1h.json.gz")),
                PathBuf::from(format!("{dir}/ws_capture/btcusdt_20240808.gz")),
            ],
            &SynthOptions::default(),
        )
        .err()
        .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("mixes")), "TC3");
        // TC4: unknown extension, no files
        assert!(open_source(Path::new("x.txt")).is_err(), "TC4");
        assert!(open_sources(&[], &SynthOptions::default()).is_err(), "TC4");
    }
}
