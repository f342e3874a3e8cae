//! Errors of the kline readers: each names the file and, for bad data, the 1-based line
//! (CSV) or row (JSON, feather) so that the user can open the file at the right place.

use std::fmt;
use std::path::PathBuf;

use super::timeframe::{Timeframe, TimeframeParseError};
use super::utc::UtcTime;

/// Where in a file a bad bar sits. Text files with one bar per line (CSV) report the
/// physical line, as an editor numbers it; files without a line per bar (JSON, feather)
/// report the bar's 1-based row. Displays as `:17` or `: row 17` so that it follows the
/// path directly (`data.csv:17: ...`, `data.json: row 17: ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loc {
    /// 1-based physical line of a text file, header and blank lines included.
    Line(usize),
    /// 1-based index of the bar among the file's data rows.
    Row(usize),
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Line(n) => write!(f, ":{n}"),
            Loc::Row(n) => write!(f, ": row {n}"),
        }
    }
}

/// The value of a bar a message is about, in the user's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The bar's open time.
    OpenTime,
    /// The open price.
    Open,
    /// The high price.
    High,
    /// The low price.
    Low,
    /// The close price.
    Close,
    /// The base-asset volume.
    Volume,
}

impl Field {
    /// The six values of a freqtrade row / the first six Binance CSV columns, in order.
    pub const ALL: [Field; 6] = [
        Field::OpenTime,
        Field::Open,
        Field::High,
        Field::Low,
        Field::Close,
        Field::Volume,
    ];
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::OpenTime => "open time",
            Field::Open => "open price",
            Field::High => "high price",
            Field::Low => "low price",
            Field::Close => "close price",
            Field::Volume => "volume",
        })
    }
}

/// Everything that can go wrong loading a kline file. All of them are terminal for the
/// file: the data or the arguments must be fixed, retrying cannot help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS or the gzip decoder said.
        #[source]
        source: std::io::Error,
    },
    /// The file starts like gzip but does not decompress.
    #[error("cannot decompress {} (gzip): {source}", path.display())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// What the gzip decoder said.
        #[source]
        source: std::io::Error,
    },
    /// The file's extension is none of the supported formats.
    #[error(
        "{}: unsupported kline file; supported formats are Binance kline CSV (.csv, .csv.gz), \
         freqtrade JSON (.json, .json.gz) and freqtrade feather (.feather){hint}",
        path.display()
    )]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// Extra advice for a format we recognise but do not read (empty otherwise).
        hint: &'static str,
    },
    /// Neither the argument nor the file name gives the symbol.
    #[error(
        "{}: cannot tell the symbol from the file name; pass --symbol (for example --symbol BTCUSDT)",
        path.display()
    )]
    MissingSymbol {
        /// The file.
        path: PathBuf,
    },
    /// Neither the argument, the file name nor the bar spacing gives the timeframe.
    #[error(
        "{}: cannot tell the timeframe from the file name or the bar spacing; pass --timeframe \
         (for example --timeframe 1h)",
        path.display()
    )]
    MissingTimeframe {
        /// The file.
        path: PathBuf,
    },
    /// The symbol argument is not a Binance symbol.
    #[error("invalid --symbol {value:?}: expected letters and digits such as BTCUSDT or BTC/USDT")]
    BadSymbol {
        /// The argument as given.
        value: String,
    },
    /// The timeframe argument is not a supported timeframe.
    #[error("invalid --timeframe: {0}")]
    BadTimeframe(#[from] TimeframeParseError),
    /// The file holds no bars at all.
    #[error("{}: no bars in the file", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A CSV line or JSON row has the wrong number of values.
    #[error("{}{at}: expected {expected} {what}, found {found}", path.display())]
    ColumnCount {
        /// The file.
        path: PathBuf,
        /// The line or row.
        at: Loc,
        /// `columns` (CSV) or `values` (JSON).
        what: &'static str,
        /// How many the format has.
        expected: usize,
        /// How many were there.
        found: usize,
    },
    /// A value is not a number (or an open time is not an integer).
    #[error("{}{at}: cannot parse {text:?} as the {field}", path.display())]
    Number {
        /// The file.
        path: PathBuf,
        /// The line or row.
        at: Loc,
        /// Which value.
        field: Field,
        /// The offending text (cut to 40 bytes, invalid UTF-8 replaced).
        text: String,
    },
    /// A price is NaN, infinite, zero or negative.
    #[error("{}{at}: {field} {value} is not a positive finite number", path.display())]
    BadPrice {
        /// The file.
        path: PathBuf,
        /// The line or row.
        at: Loc,
        /// Which price.
        field: Field,
        /// The value read.
        value: f64,
    },
    /// The volume is NaN, infinite or negative.
    #[error("{}{at}: volume {value} is not a finite non-negative number", path.display())]
    BadVolume {
        /// The file.
        path: PathBuf,
        /// The line or row.
        at: Loc,
        /// The value read.
        value: f64,
    },
    /// `high < max(open, close)`.
    #[error("{}{at}: high {high} is below max(open, close) {body_high}", path.display())]
    HighBelowBody {
        /// The file.
        path: PathBuf,
        /// The line or row.
        at: Loc,
        /// The bar's high.
        high: f64,
        /// `max(open, close)`.
        body_high: f64,
    },
    /// `low > min(open, close)`.
    #[error("{}{at}: low {low} is above min(open, close) {body_low}", path.display())]
    LowAboveBody {
        /// The file.
        path: PathBuf,
        /// The line or row.
        at: Loc,
        /// The bar's low.
        low: f64,
        /// `min(open, close)`.
        body_low: f64,
    },
    /// Open times repeat or go backwards.
    #[error(
        "{}{at}: open time {time_ms} ({}) is not after the previous bar's {prev_ms} ({})",
        path.display(), UtcTime(*time_ms), UtcTime(*prev_ms)
    )]
    NotIncreasing {
        /// The file.
        path: PathBuf,
        /// The line or row.
        at: Loc,
        /// This bar's open time, ms.
        time_ms: i64,
        /// The previous bar's open time, ms.
        prev_ms: i64,
    },
    /// A CSV file mixes millisecond and microsecond open times.
    #[error(
        "{}{at}: open time {raw} is in {found} but the file's first bar is in {expected}",
        path.display()
    )]
    MixedTimeUnits {
        /// The file.
        path: PathBuf,
        /// The line.
        at: Loc,
        /// The open time as written.
        raw: i64,
        /// The unit this row's magnitude says.
        found: &'static str,
        /// The unit of the file's first bar.
        expected: &'static str,
    },
    /// An open time does not fit in i64 milliseconds once converted.
    #[error("{}{at}: open time {raw} is out of range", path.display())]
    TimeOutOfRange {
        /// The file.
        path: PathBuf,
        /// The row.
        at: Loc,
        /// The value as stored.
        raw: i64,
    },
    /// Two bars are closer together than the timeframe: the timeframe is wrong.
    #[error(
        "{}: the bar at {} opens {} after the previous one, less than the timeframe {timeframe}; \
         pass the right --timeframe",
        path.display(), UtcTime(*time_ms), super::utc::Duration(*spacing_ms)
    )]
    SpacingBelowTimeframe {
        /// The file.
        path: PathBuf,
        /// The later bar's open time, ms.
        time_ms: i64,
        /// Its distance to the previous bar, ms.
        spacing_ms: i64,
        /// The timeframe in force.
        timeframe: Timeframe,
    },
    /// The JSON text is not an array of arrays.
    #[error("{}: row {row}, byte offset {offset}: {msg}", path.display())]
    JsonSyntax {
        /// The file.
        path: PathBuf,
        /// The 1-based row being read.
        row: usize,
        /// 0-based byte offset in the (decompressed) text.
        offset: usize,
        /// What was expected.
        msg: &'static str,
    },
    /// The feather file uses a buffer compression other than LZ4_FRAME.
    #[error(
        "{}: the feather file is compressed with {codec}, which is not supported (LZ4_FRAME and \
         uncompressed files are): re-save it with pyarrow.feather.write_feather(df, path, \
         compression=\"lz4\")",
        path.display()
    )]
    CompressedFeather {
        /// The file.
        path: PathBuf,
        /// The codec named in the file (`ZSTD`).
        codec: String,
    },
    /// The file is not an Arrow IPC file (or is damaged).
    #[error("{}: not a readable Arrow IPC (feather v2) file: {detail}", path.display())]
    Arrow {
        /// The file.
        path: PathBuf,
        /// What the Arrow reader said.
        detail: String,
    },
    /// A feather column is missing.
    #[error(
        "{}: column {column:?} is missing; freqtrade feather has date, open, high, low, close, volume",
        path.display()
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column name.
        column: &'static str,
    },
    /// A feather column has a type we do not read.
    #[error("{}: column {column:?} has type {found}, expected {expected}", path.display())]
    ColumnType {
        /// The file.
        path: PathBuf,
        /// The column name.
        column: &'static str,
        /// Its Arrow type.
        found: String,
        /// What we read.
        expected: &'static str,
    },
    /// A feather value is null.
    #[error("{}{at}: {field} is null", path.display())]
    Null {
        /// The file.
        path: PathBuf,
        /// The row.
        at: Loc,
        /// Which value.
        field: Field,
    },
}

/// Shortens `bytes` for an error message: at most 40 bytes, lossy UTF-8.
#[cold]
pub(crate) fn snippet(bytes: &[u8]) -> String {
    const MAX: usize = 40;
    if bytes.len() <= MAX {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        format!("{}...", String::from_utf8_lossy(&bytes[..MAX]))
    }
}
