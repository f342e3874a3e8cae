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
//! Uncompressed files go through arrow-ipc's `FileReader`. pyarrow compresses feather
//! buffers with LZ4_FRAME by default (the bundled freqtrade files are such files), and
//! this crate's arrow-ipc is built without codecs, so for LZ4 files the record batches
//! are decoded here instead: the footer and batch headers are read with arrow-ipc's
//! flatbuffer accessors, and only the six needed columns' buffers are decompressed with
//! the crate's own LZ4 frame decoder (`history/lz4.rs`). ZSTD-compressed files are refused with an error that says how to
//! re-save them.

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
        None => parse_uncompressed(path, data),
        Some(CompressionType::LZ4_FRAME) => parse_lz4(path, data),
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

fn parse_uncompressed(path: &Path, data: &[u8]) -> Result<ParsedBars, HistoryError> {
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

/// Reads an LZ4_FRAME-compressed file without arrow-ipc's codec (see the module doc).
/// Only flat schemas are supported (every column primitive, boolean or string-like),
/// which is what pandas writes for OHLCV frames.
fn parse_lz4(path: &Path, data: &[u8]) -> Result<ParsedBars, HistoryError> {
    let footer = read_footer(data).map_err(|e| arrow_error(path, e))?;
    let fb_schema = footer
        .schema()
        .ok_or_else(|| arrow_error(path, "the file footer has no schema"))?;
    let schema =
        arrow_ipc::convert::try_fb_to_schema(fb_schema).map_err(|e| arrow_error(path, e))?;
    let columns = Columns::find(path, &schema)?;
    // Index of each field's first buffer in a record batch's buffer list.
    let mut first_buffer = Vec::with_capacity(schema.fields().len());
    let mut next = 0usize;
    for field in schema.fields() {
        first_buffer.push(next);
        next += match field.data_type() {
            DataType::Null => 0,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary => 3,
            ty if ty.is_primitive() || *ty == DataType::Boolean => 2,
            other => {
                return Err(arrow_error(
                    path,
                    format!(
                        "column {:?} has type {other}, which this reader cannot skip in an \
                         LZ4-compressed file; re-save it uncompressed",
                        field.name()
                    ),
                ))
            }
        };
    }

    let mut bars: Vec<Bar> = Vec::new();
    let mut checker = BarChecker::new(path);
    let blocks = footer
        .recordBatches()
        .ok_or_else(|| arrow_error(path, "the file footer lists no record batches"))?;
    for block in blocks.iter() {
        let message = read_message(data, block).map_err(|e| arrow_error(path, e))?;
        let batch = message
            .header_as_record_batch()
            .ok_or_else(|| arrow_error(path, "a footer block is not a record batch"))?;
        let body = usize::try_from(block.offset())
            .ok()
            .zip(usize::try_from(block.metaDataLength()).ok())
            .zip(usize::try_from(block.bodyLength()).ok())
            .and_then(|((off, meta), body)| {
                let start = off.checked_add(meta)?;
                data.get(start..start.checked_add(body)?)
            })
            .ok_or_else(|| arrow_error(path, "a record batch body lies outside the file"))?;
        let compressed = match batch.compression().map(|c| c.codec()) {
            None => false,
            Some(CompressionType::LZ4_FRAME) => true,
            Some(other) => {
                return Err(HistoryError::CompressedFeather {
                    path: path.to_path_buf(),
                    codec: codec_name(other),
                })
            }
        };
        let rows = usize::try_from(batch.length())
            .map_err(|_| arrow_error(path, "a record batch has a negative length"))?;
        let decoder = BatchBuffers {
            path,
            body,
            batch,
            compressed,
            rows,
            first_row: bars.len() + 1,
        };
        let times =
            decoder.column_i64(columns.date, first_buffer[columns.date], Field::OpenTime)?;
        let mut values: [Vec<f64>; 5] = Default::default();
        for (k, (&idx, (_, field))) in columns.prices.iter().zip(PRICE_COLUMNS).enumerate() {
            values[k] = decoder.column_f64(idx, first_buffer[idx], field)?;
        }
        let cols = [
            &values[0][..],
            &values[1][..],
            &values[2][..],
            &values[3][..],
            &values[4][..],
        ];
        push_rows(path, columns.unit, &times, cols, &mut bars, &mut checker)?;
    }
    let mintick = mintick_from_values(&bars);
    Ok(ParsedBars { bars, mintick })
}

/// The buffers of one LZ4-compressed record batch.
struct BatchBuffers<'a> {
    path: &'a Path,
    body: &'a [u8],
    batch: arrow_ipc::RecordBatch<'a>,
    /// False for a batch stored uncompressed in an otherwise LZ4 file.
    compressed: bool,
    rows: usize,
    first_row: usize,
}

impl BatchBuffers<'_> {
    /// Buffer `index` of the batch, decompressed. Each compressed buffer starts with its
    /// uncompressed length as an i64 (-1: stored as is); an empty buffer is empty.
    fn buffer(&self, index: usize) -> Result<std::borrow::Cow<'_, [u8]>, HistoryError> {
        let bad =
            |what: &str| arrow_error(self.path, format!("record batch buffer {index}: {what}"));
        let buffers = self.batch.buffers().ok_or_else(|| bad("missing"))?;
        if index >= buffers.len() {
            return Err(bad("missing"));
        }
        let b = buffers.get(index);
        let raw = usize::try_from(b.offset())
            .ok()
            .zip(usize::try_from(b.length()).ok())
            .and_then(|(off, len)| self.body.get(off..off.checked_add(len)?))
            .ok_or_else(|| bad("lies outside the batch body"))?;
        if raw.is_empty() || !self.compressed {
            return Ok(std::borrow::Cow::Borrowed(raw));
        }
        let (prefix, rest) = raw.split_at_checked(8).ok_or_else(|| bad("truncated"))?;
        let declared = i64::from_le_bytes(prefix.try_into().map_err(|_| bad("truncated"))?);
        if declared == -1 {
            return Ok(std::borrow::Cow::Borrowed(rest));
        }
        let len = usize::try_from(declared).map_err(|_| bad("negative length"))?;
        // An OHLCV column never needs more than 8 bytes a row; refuse wild lengths
        // before allocating.
        if len > self.rows.saturating_mul(8).saturating_add(64) {
            return Err(bad("declared length is larger than the rows need"));
        }
        super::lz4::decompress_frames(rest, len)
            .map(std::borrow::Cow::Owned)
            .map_err(bad)
    }

    /// The 8-byte little-endian values of the primitive column `field_idx`, after
    /// checking its validity bitmap for nulls.
    fn column_bytes(
        &self,
        field_idx: usize,
        first_buffer: usize,
        field: Field,
    ) -> Result<std::borrow::Cow<'_, [u8]>, HistoryError> {
        let nodes = self
            .batch
            .nodes()
            .ok_or_else(|| arrow_error(self.path, "record batch has no field nodes"))?;
        if field_idx >= nodes.len() {
            return Err(arrow_error(
                self.path,
                "record batch has too few field nodes",
            ));
        }
        if nodes.get(field_idx).null_count() > 0 {
            let validity = self.buffer(first_buffer)?;
            let row = (0..self.rows)
                .find(|&i| {
                    validity
                        .get(i / 8)
                        .map_or(true, |byte| byte >> (i % 8) & 1 == 0)
                })
                .unwrap_or(0);
            return Err(HistoryError::Null {
                path: self.path.to_path_buf(),
                at: Loc::Row(self.first_row + row),
                field,
            });
        }
        let values = self.buffer(first_buffer + 1)?;
        if values.len() < self.rows * 8 {
            return Err(arrow_error(
                self.path,
                format!(
                    "column buffer {} is shorter than its {} rows",
                    first_buffer + 1,
                    self.rows
                ),
            ));
        }
        Ok(values)
    }

    fn column_i64(
        &self,
        field_idx: usize,
        first_buffer: usize,
        field: Field,
    ) -> Result<Vec<i64>, HistoryError> {
        let bytes = self.column_bytes(field_idx, first_buffer, field)?;
        Ok(bytes[..self.rows * 8]
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }

    fn column_f64(
        &self,
        field_idx: usize,
        first_buffer: usize,
        field: Field,
    ) -> Result<Vec<f64>, HistoryError> {
        let bytes = self.column_bytes(field_idx, first_buffer, field)?;
        Ok(bytes[..self.rows * 8]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }
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
