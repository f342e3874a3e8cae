//! freqtrade feather klines: an Arrow IPC file (Feather v2) as pandas/pyarrow write it,
//! with columns
//!
//! | column | Arrow type | meaning |
//! |---|---|---|
//! | `date` | `timestamp[ns, tz=UTC]` (any unit s/ms/us/ns accepted) | bar open time |
//! | `open`, `high`, `low`, `close`, `volume` | `float64` | prices, base-asset volume |
//!
//! Other columns are ignored; the table may be split into any number of record batches.
//! Rows are numbered from 1 across batches in errors.
//!
//! Files go through arrow-ipc's `FileReader`, built with its `lz4` codec: pyarrow
//! compresses feather buffers with LZ4_FRAME by default (the bundled freqtrade files are
//! such files). ZSTD-compressed files are refused before reading, with an error that says
//! how to re-save them (the zstd codec would pull a C library into the build).

use std::io::Cursor;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_ipc::reader::FileReader;
use arrow_ipc::{Block, CompressionType, Footer, Message};
use arrow_schema::{DataType, Schema, TimeUnit};

use super::error::{Field, HistoryError, Loc};
use super::mintick::mintick_from_values;
use super::validate::BarChecker;
use super::ParsedBars;
use crate::pine::Bar;

const MAGIC: &[u8] = b"ARROW1";
const PRICE_COLUMNS: [(&str, Field); 5] = [
    ("open", Field::Open),
    ("high", Field::High),
    ("low", Field::Low),
    ("close", Field::Close),
    ("volume", Field::Volume),
];

/// Parses and validates the Arrow IPC file held in `data`; `path` only names the file in
/// errors. Returns the bars and the mintick inferred (tolerantly) from the f64 prices.
pub fn parse(path: &Path, data: &[u8]) -> Result<ParsedBars, HistoryError> {
    if !data.starts_with(MAGIC) {
        let detail = if data.starts_with(b"FEA1") {
            "this is a Feather v1 file; re-save it with pyarrow (Feather v2)"
        } else {
            "the file does not start with the Arrow magic \"ARROW1\""
        };
        return Err(arrow_error(path, detail));
    }
    match compression_codec(data) {
        None | Some(CompressionType::LZ4_FRAME) => parse_batches(path, data),
        Some(other) => Err(HistoryError::CompressedFeather {
            path: path.to_path_buf(),
            codec: codec_name(other),
        }),
    }
}

/// Where the freqtrade columns sit in the schema, and the unit of `date`.
struct Columns {
    date: usize,
    unit: TimeUnit,
    prices: [usize; 5],
}

impl Columns {
    fn find(path: &Path, schema: &Schema) -> Result<Columns, HistoryError> {
        let date = column_index(path, schema, "date")?;
        let unit = match schema.field(date).data_type() {
            DataType::Timestamp(unit, _) => *unit,
            other => return Err(type_error(path, "date", other, "timestamp")),
        };
        let mut prices = [0usize; 5];
        for (slot, (name, _)) in prices.iter_mut().zip(PRICE_COLUMNS) {
            *slot = column_index(path, schema, name)?;
            let ty = schema.field(*slot).data_type();
            if *ty != DataType::Float64 {
                return Err(type_error(path, name, ty, "double (float64)"));
            }
        }
        Ok(Columns { date, unit, prices })
    }
}

fn parse_batches(path: &Path, data: &[u8]) -> Result<ParsedBars, HistoryError> {
    let reader = FileReader::try_new(Cursor::new(data), None).map_err(|e| arrow_error(path, e))?;
    let columns = Columns::find(path, &reader.schema())?;
    let mut bars: Vec<Bar> = Vec::new();
    let mut checker = BarChecker::new(path);
    for batch in reader {
        let batch = batch.map_err(|e| arrow_error(path, e))?;
        append_batch(path, &batch, &columns, &mut bars, &mut checker)?;
    }
    let mintick = mintick_from_values(&bars);
    Ok(ParsedBars { bars, mintick })
}

fn append_batch(
    path: &Path,
    batch: &RecordBatch,
    columns: &Columns,
    bars: &mut Vec<Bar>,
    checker: &mut BarChecker<'_>,
) -> Result<(), HistoryError> {
    let first_row = bars.len() + 1;
    let dates = batch.column(columns.date);
    check_nulls(path, dates, Field::OpenTime, first_row)?;
    let times: &[i64] = match columns.unit {
        TimeUnit::Second => dates
            .as_primitive_opt::<TimestampSecondType>()
            .map(|a| &a.values()[..]),
        TimeUnit::Millisecond => dates
            .as_primitive_opt::<TimestampMillisecondType>()
            .map(|a| &a.values()[..]),
        TimeUnit::Microsecond => dates
            .as_primitive_opt::<TimestampMicrosecondType>()
            .map(|a| &a.values()[..]),
        TimeUnit::Nanosecond => dates
            .as_primitive_opt::<TimestampNanosecondType>()
            .map(|a| &a.values()[..]),
    }
    .ok_or_else(|| type_error(path, "date", dates.data_type(), "timestamp"))?;

    let mut cols: [&[f64]; 5] = [&[]; 5];
    for ((slot, &idx), (name, field)) in cols.iter_mut().zip(&columns.prices).zip(PRICE_COLUMNS) {
        let array = batch.column(idx);
        check_nulls(path, array, field, first_row)?;
        *slot = array
            .as_primitive_opt::<Float64Type>()
            .map(|a| &a.values()[..])
            .ok_or_else(|| type_error(path, name, array.data_type(), "double (float64)"))?;
    }
    push_rows(path, columns.unit, times, cols, bars, checker)
}

/// Converts one batch's columns (all of `times.len()` rows) to bars, checking each.
fn push_rows(
    path: &Path,
    unit: TimeUnit,
    times: &[i64],
    cols: [&[f64]; 5],
    bars: &mut Vec<Bar>,
    checker: &mut BarChecker<'_>,
) -> Result<(), HistoryError> {
    let first_row = bars.len() + 1;
    bars.reserve(times.len());
    for (i, &raw) in times.iter().enumerate() {
        let at = Loc::Row(first_row + i);
        let time_ms = match unit {
            TimeUnit::Second => raw.checked_mul(1000).ok_or(HistoryError::TimeOutOfRange {
                path: path.to_path_buf(),
                at,
                raw,
            })?,
            TimeUnit::Millisecond => raw,
            TimeUnit::Microsecond => raw.div_euclid(1000),
            TimeUnit::Nanosecond => raw.div_euclid(1_000_000),
        };
        let bar = Bar {
            time_ms,
            open: cols[0][i],
            high: cols[1][i],
            low: cols[2][i],
            close: cols[3][i],
            volume: cols[4][i],
        };
        checker.check(&bar, at)?;
        bars.push(bar);
    }
    Ok(())
}

fn check_nulls(
    path: &Path,
    array: &ArrayRef,
    field: Field,
    first_row: usize,
) -> Result<(), HistoryError> {
    if array.null_count() == 0 {
        return Ok(());
    }
    let i = (0..array.len()).find(|&i| array.is_null(i)).unwrap_or(0);
    Err(HistoryError::Null {
        path: path.to_path_buf(),
        at: Loc::Row(first_row + i),
        field,
    })
}

/// The codec of the first compressed record batch, read from the file footer and the
/// batch message headers; `None` when nothing is compressed or the metadata cannot be
/// read (then the Arrow reader reports the damage itself).
fn compression_codec(data: &[u8]) -> Option<CompressionType> {
    let footer = read_footer(data).ok()?;
    for block in footer.recordBatches()?.iter() {
        let message = read_message(data, block).ok()?;
        if let Some(compression) = message
            .header_as_record_batch()
            .and_then(|b| b.compression())
        {
            return Some(compression.codec());
        }
    }
    None
}

fn codec_name(codec: CompressionType) -> String {
    codec
        .variant_name()
        .map_or_else(|| format!("codec {}", codec.0), str::to_owned)
}

/// The file footer: the last 10 bytes are its i32 length and the magic.
fn read_footer(data: &[u8]) -> Result<Footer<'_>, &'static str> {
    const BAD: &str = "the file footer is damaged";
    let len = data.len();
    if len < 10 || &data[len - 6..] != MAGIC {
        return Err("the file does not end with the Arrow magic (truncated?)");
    }
    let footer_len = i32::from_le_bytes(data[len - 10..len - 6].try_into().map_err(|_| BAD)?);
    let footer_len = usize::try_from(footer_len).map_err(|_| BAD)?;
    let start = (len - 10).checked_sub(footer_len).ok_or(BAD)?;
    arrow_ipc::root_as_footer(&data[start..len - 10]).map_err(|_| BAD)
}

/// The flatbuffer message that a footer block points at.
fn read_message<'a>(data: &'a [u8], block: &Block) -> Result<Message<'a>, &'static str> {
    const BAD: &str = "a record batch header is damaged";
    let start = usize::try_from(block.offset()).map_err(|_| BAD)?;
    let meta_len = usize::try_from(block.metaDataLength()).map_err(|_| BAD)?;
    let meta = data
        .get(start..start.checked_add(meta_len).ok_or(BAD)?)
        .ok_or(BAD)?;
    // Current IPC: 0xFFFFFFFF continuation marker, then the i32 length; pre-0.15 files
    // have the length alone.
    let fb = if meta.starts_with(&[0xff; 4]) {
        meta.get(8..)
    } else {
        meta.get(4..)
    }
    .ok_or(BAD)?;
    arrow_ipc::root_as_message(fb).map_err(|_| BAD)
}

fn column_index(path: &Path, schema: &Schema, name: &'static str) -> Result<usize, HistoryError> {
    schema
        .index_of(name)
        .map_err(|_| HistoryError::MissingColumn {
            path: path.to_path_buf(),
            column: name,
        })
}

#[cold]
fn type_error(
    path: &Path,
    column: &'static str,
    found: &DataType,
    expected: &'static str,
) -> HistoryError {
    HistoryError::ColumnType {
        path: path.to_path_buf(),
        column,
        found: found.to_string(),
        expected,
    }
}

#[cold]
fn arrow_error(path: &Path, detail: impl ToString) -> HistoryError {
    HistoryError::Arrow {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}
