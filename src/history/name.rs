//! Symbol, timeframe and format from a kline file's name.
//!
//! Two naming conventions are recognised:
//! * freqtrade: `BTC_USDT-5m.json.gz`, `BTC_USDT-5m.feather` (`BASE_QUOTE-<tf>`);
//! * Binance public data: `BTCUSDT-1m-2024-01.csv`, `BTCUSDT-1m-2024-01-15.csv`
//!   (`SYMBOL-<tf>-<date>`).
//!
//! The part before the first `-` is the symbol when it is made of upper-case letters,
//! digits and `_` (the underscores dropped); the part after it is the timeframe when it
//! is a Binance interval spelling. Anything else yields no hint rather than a guess, so
//! `klines.csv` gives neither and the caller asks for `--symbol` / `--timeframe`.

use std::borrow::Cow;
use std::path::Path;

use super::error::HistoryError;
use super::timeframe::Timeframe;

/// The kline formats this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Binance public kline CSV (`.csv`, `.csv.gz`).
    BinanceCsv,
    /// freqtrade JSON (`.json`, `.json.gz`).
    FreqtradeJson,
    /// freqtrade feather, i.e. an Arrow IPC file (`.feather`).
    Feather,
}

/// Extensions in the order they are tried (longest first), with their format.
const EXTENSIONS: [(&str, Format); 5] = [
    (".csv.gz", Format::BinanceCsv),
    (".json.gz", Format::FreqtradeJson),
    (".csv", Format::BinanceCsv),
    (".json", Format::FreqtradeJson),
    (".feather", Format::Feather),
];

impl Format {
    /// The format named by `path`'s extension (case-insensitive). Whether the bytes are
    /// gzip is decided later from the content, so a mislabelled `.json` that is gzip
    /// still reads; an unknown extension is an error naming the supported formats.
    pub fn from_path(path: &Path) -> Result<Format, HistoryError> {
        let name = file_name(path).to_ascii_lowercase();
        if let Some((_, format)) = EXTENSIONS.iter().find(|(ext, _)| name.ends_with(ext)) {
            return Ok(*format);
        }
        let hint = if name.ends_with(".zip") {
            "; unzip Binance's .zip download first"
        } else if name.ends_with(".parquet") {
            "; convert freqtrade parquet data with `freqtrade convert-data --format-to feather`"
        } else {
            ""
        };
        Err(HistoryError::UnsupportedFormat {
            path: path.to_path_buf(),
            hint,
        })
    }
}

/// What a file name says about its contents; each part is `None` when the name does not
/// follow a recognised convention.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameHints {
    /// Binance symbol without separators, e.g. `BTCUSDT`.
    pub symbol: Option<String>,
    /// The interval written in the name.
    pub timeframe: Option<Timeframe>,
}

impl NameHints {
    /// Reads the hints from the last component of `path` (see the module doc).
    pub fn from_path(path: &Path) -> NameHints {
        let name = file_name(path);
        let lower = name.to_ascii_lowercase();
        let stem_len = EXTENSIONS
            .iter()
            .find(|(ext, _)| lower.ends_with(ext))
            .map_or(name.len(), |(ext, _)| name.len() - ext.len());
        let stem = &name[..stem_len];
        let mut parts = stem.split('-');
        let symbol = parts.next().and_then(symbol_from_name_part);
        let timeframe = parts.next().and_then(Timeframe::from_binance);
        NameHints { symbol, timeframe }
    }
}

/// Normalises a user-given symbol: `btc/usdt`, `BTC_USDT`, `BTC-USDT` all give
/// `BTCUSDT`. Anything but ASCII letters and digits (after dropping those separators)
/// is an error.
pub fn normalize_symbol(value: &str) -> Result<String, HistoryError> {
    let out: String = value
        .chars()
        .filter(|c| !matches!(c, '/' | '_' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if out.is_empty() || !out.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(HistoryError::BadSymbol {
            value: value.to_owned(),
        });
    }
    Ok(out)
}

fn file_name(path: &Path) -> Cow<'_, str> {
    path.file_name()
        .map_or(Cow::Borrowed(""), |n| n.to_string_lossy())
}

fn symbol_from_name_part(part: &str) -> Option<String> {
    let ok = part
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && part.bytes().any(|b| b.is_ascii_uppercase());
    ok.then(|| part.replace('_', ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_from_names() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            // TC0: freqtrade gzip JSON.
            ("data/BTC_USDT-5m.json.gz", Some("BTCUSDT"), Some("5m")),
            // TC1: freqtrade feather.
            ("BTC_USDT-1h.feather", Some("BTCUSDT"), Some("1h")),
            // TC2: Binance monthly file.
            ("BTCUSDT-1m-2024-01.csv", Some("BTCUSDT"), Some("1m")),
            // TC3: Binance daily file, gzip.
            (
                "x/BTCUSDT-1m-2024-01-15.csv.gz",
                Some("BTCUSDT"),
                Some("1m"),
            ),
            // TC4: month interval keeps its capital M.
            ("ETHUSDT-1M-2024.csv", Some("ETHUSDT"), Some("1M")),
            // TC5: no convention: nothing guessed.
            ("klines.csv", None, None),
            // TC6: symbol only.
            ("SOLUSDT.json", Some("SOLUSDT"), None),
            // TC7: unknown interval is no hint.
            ("BTCUSDT-7m.csv", Some("BTCUSDT"), None),
            // TC8: upper-case extension.
            ("BTC_USDT-1h.JSON.GZ", Some("BTCUSDT"), Some("1h")),
        ];
        for (i, (path, sym, tf)) in cases.iter().enumerate() {
            let h = NameHints::from_path(Path::new(path));
            assert_eq!(h.symbol.as_deref(), *sym, "TC{i}");
            assert_eq!(h.timeframe.map(|t| t.as_str()), *tf, "TC{i}");
        }
    }

    #[test]
    fn formats() {
        let cases: &[(&str, Result<Format, &str>)] = &[
            // TC0: csv.
            ("a.csv", Ok(Format::BinanceCsv)),
            // TC1: gzip csv.
            ("a.csv.gz", Ok(Format::BinanceCsv)),
            // TC2: json.
            ("a.json", Ok(Format::FreqtradeJson)),
            // TC3: gzip json.
            ("a.json.gz", Ok(Format::FreqtradeJson)),
            // TC4: feather.
            ("a.feather", Ok(Format::Feather)),
            // TC5: unknown.
            (
                "a.txt",
                Err(
                    "a.txt: unsupported kline file; supported formats are Binance kline CSV \
                     (.csv, .csv.gz), freqtrade JSON (.json, .json.gz) and freqtrade feather \
                     (.feather)",
                ),
            ),
            // TC6: Binance zip gets advice.
            (
                "BTCUSDT-1m-2024-01.zip",
                Err(
                    "BTCUSDT-1m-2024-01.zip: unsupported kline file; supported formats are \
                     Binance kline CSV (.csv, .csv.gz), freqtrade JSON (.json, .json.gz) and \
                     freqtrade feather (.feather); unzip Binance's .zip download first",
                ),
            ),
        ];
        for (i, (path, want)) in cases.iter().enumerate() {
            let got = Format::from_path(Path::new(path)).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_owned), "TC{i}");
        }
    }

    #[test]
    fn symbols() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            // TC0: already normal.
            ("BTCUSDT", Ok("BTCUSDT")),
            // TC1: lower case with a slash.
            ("btc/usdt", Ok("BTCUSDT")),
            // TC2: freqtrade pair.
            ("ETH_USDT", Ok("ETHUSDT")),
            // TC3: empty.
            ("", Err("invalid --symbol \"\": expected letters and digits such as BTCUSDT or BTC/USDT")),
            // TC4: a space.
            ("BTC USDT", Err("invalid --symbol \"BTC USDT\": expected letters and digits such as BTCUSDT or BTC/USDT")),
        ];
        for (i, (value, want)) in cases.iter().enumerate() {
            let got = normalize_symbol(value).map_err(|e| e.to_string());
            assert_eq!(got, want.map(str::to_owned).map_err(str::to_owned), "TC{i}");
        }
    }
}
