//! Historical kline files: Binance's public kline CSV, freqtrade JSON (`.json` /
//! `.json.gz`) and freqtrade feather (Arrow IPC). Used off the hot path by the
//! backtester (and the simulator), so these readers favour clear errors over speed
//! where the two disagree.
//!
//! Entry point: [`load`] picks the reader from the file extension, takes the symbol and
//! timeframe from the arguments or the file name (see [`name`]), validates every bar
//! (see [`HistoryError`] for what is rejected) and infers the price tick (see
//! [`mintick`]). Gaps in time (exchange halts) are kept as they are and reported by
//! [`KlineSeries::gaps`]; bars are never invented.

pub mod binance_csv;
pub mod error;
pub mod feather;
pub mod freqtrade_json;

pub mod mintick;
pub mod name;
pub mod series;
pub mod timeframe;
pub mod utc;
mod validate;

#[cfg(test)]
mod tests;

use std::io::Read;
use std::path::Path;

pub use error::{Field, HistoryError, Loc};
pub use name::{Format, NameHints};
pub use series::KlineSeries;
pub use timeframe::{Timeframe, TimeframeParseError};

use crate::pine::Bar;

/// What a format reader returns: validated bars (file order, strictly increasing open
/// times) and the price tick inferred from them.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedBars {
    /// The bars, oldest first.
    pub bars: Vec<Bar>,
    /// The inferred price increment, `1` to `1e-8`.
    pub mintick: f64,
}

/// Loads one kline file.
///
/// * Format from the extension: `.csv` / `.csv.gz` Binance kline CSV, `.json` /
///   `.json.gz` freqtrade JSON, `.feather` freqtrade feather. Gzip is recognised by its
///   magic bytes, not the name.
/// * `symbol` (`BTCUSDT`, `btc/usdt`, `BTC_USDT`) and `timeframe` (`5m`, `1h`, `1M`, or
///   Pine's `60`, `D`) win over the file name; without them the name is used
///   (`BTC_USDT-5m.json.gz`, `BTCUSDT-1m-2024-01.csv`). Without a timeframe from either,
///   it is inferred from the most common spacing between bars (any format); only when
///   that fails too is it an error asking for `--timeframe`. A missing symbol is an
///   error asking for `--symbol`.
/// * Bars closer together than the timeframe are an error (wrong `--timeframe`), gaps
///   are not.
pub fn load(
    path: &Path,
    symbol: Option<&str>,
    timeframe: Option<&str>,
) -> Result<KlineSeries, HistoryError> {
    let format = Format::from_path(path)?;
    let symbol_arg = symbol.map(name::normalize_symbol).transpose()?;
    let timeframe_arg = timeframe.map(str::parse::<Timeframe>).transpose()?;
    let hints = NameHints::from_path(path);
    let symbol = symbol_arg
        .or(hints.symbol)
        .ok_or_else(|| HistoryError::MissingSymbol {
            path: path.to_path_buf(),
        })?;

    let data = read_bytes(path)?;
    let parsed = match format {
        Format::BinanceCsv => binance_csv::parse(path, &data)?,
        Format::FreqtradeJson => freqtrade_json::parse(path, &data)?,
        Format::Feather => feather::parse(path, &data)?,
    };
    drop(data);
    if parsed.bars.is_empty() {
        return Err(HistoryError::Empty {
            path: path.to_path_buf(),
        });
    }
    let timeframe = timeframe_arg
        .or(hints.timeframe)
        .or_else(|| series::infer_timeframe(&parsed.bars))
        .ok_or_else(|| HistoryError::MissingTimeframe {
            path: path.to_path_buf(),
        })?;
    series::check_spacing(path, &parsed.bars, timeframe)?;
    Ok(KlineSeries {
        symbol,
        timeframe,
        bars: parsed.bars,
        mintick: parsed.mintick,
        source: path.to_path_buf(),
    })
}

/// The file's bytes, gunzipped when they start with the gzip magic (`1f 8b`), whatever
/// the name says. Multi-member gzip files are read to the end.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, HistoryError> {
    let raw = std::fs::read(path).map_err(|source| HistoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    // The gzip trailer holds the uncompressed size mod 2^32: a capacity hint, capped so
    // that a forged trailer cannot make us reserve more than 64x the compressed size.
    let hint = raw
        .len()
        .checked_sub(4)
        .and_then(|i| raw.get(i..))
        .and_then(|t| <[u8; 4]>::try_from(t).ok())
        .map_or(0, |t| u32::from_le_bytes(t) as usize)
        .min(raw.len().saturating_mul(64));
    let mut out = Vec::with_capacity(hint);
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|source| HistoryError::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(out)
}
