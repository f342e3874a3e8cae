//! Tests of [`super::load`] against the bundled real Binance data and of the errors that
//! only the whole pipeline (files, names, arguments, feather metadata) can produce.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, TimestampMillisecondArray};
use arrow_array::{TimestampMicrosecondArray, TimestampNanosecondArray, TimestampSecondArray};
use arrow_ipc::writer::{FileWriter, IpcWriteOptions};
use arrow_schema::{DataType, Field as ArrowField, Schema, TimeUnit};

use super::*;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/binance")
        .join(name)
}

/// A fresh file under the system temp dir, unique to this process and `name`'s folder.
fn temp_file(dir: &str, name: &str, contents: &[u8]) -> PathBuf {
    let folder = std::env::temp_dir()
        .join(format!("pinewire-history-{}", std::process::id()))
        .join(dir);
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn load_err(path: &Path, symbol: Option<&str>, timeframe: Option<&str>) -> String {
    match load(path, symbol, timeframe) {
        Ok(s) => panic!("{} loaded {} bars", path.display(), s.bars.len()),
        Err(e) => e.to_string(),
    }
}

struct Expect {
    file: &'static str,
    rows: usize,
    symbol: &'static str,
    timeframe: &'static str,
    first_ms: i64,
    last_ms: i64,
    mintick: f64,
    /// (open time of the bar before the gap, missing ms)
    gaps: &'static [(i64, i64)],
}

#[test]
fn bundled_files_load() {
    // 2023-03-24 12:39 UTC: last 1m bar before the Binance spot halt.
    const HALT_1M: i64 = 1_679_661_540_000;
    // 2023-03-24 12:00 UTC: last 1h bar before it.
    const HALT_1H: i64 = 1_679_659_200_000;
    let cases = [
        // TC0: the 140k-bar 5m feather.
        Expect {
            file: "BTC_USDT-5m.feather",
            rows: 140_614,
            symbol: "BTCUSDT",
            timeframe: "5m",
            first_ms: 1_709_251_200_000, // 2024-03-01 00:00
            last_ms: 1_751_435_100_000,  // 2025-07-02 05:45
            mintick: 0.01,
            gaps: &[],
        },
        // TC1: 1h feather with the halt (13:00 missing).
        Expect {
            file: "BTC_USDT-1h.feather",
            rows: 8996,
            symbol: "BTCUSDT",
            timeframe: "1h",
            first_ms: 1_672_531_200_000, // 2023-01-01 00:00
            last_ms: 1_704_916_800_000,  // 2024-01-10 20:00
            mintick: 0.01,
            gaps: &[(HALT_1H, HOUR)],
        },
        // TC2: ETH 1h feather, same halt.
        Expect {
            file: "ETH_USDT-1h.feather",
            rows: 8996,
            symbol: "ETHUSDT",
            timeframe: "1h",
            first_ms: 1_672_531_200_000,
            last_ms: 1_704_916_800_000,
            mintick: 0.01,
            gaps: &[(HALT_1H, HOUR)],
        },
        // TC3: 1m JSON with the 81-minute spacing at 12:39 (80 bars missing).
        Expect {
            file: "BTC_USDT-1m.json.gz",
            rows: 66_087,
            symbol: "BTCUSDT",
            timeframe: "1m",
            first_ms: 1_679_004_900_000, // 2023-03-16 22:15
            last_ms: 1_682_974_860_000,  // 2023-05-01 21:01
            mintick: 0.01,
            gaps: &[(HALT_1M, 80 * MIN)],
        },
        // TC4: BTC 1h JSON.
        Expect {
            file: "BTC_USDT-1h.json.gz",
            rows: 719,
            symbol: "BTCUSDT",
            timeframe: "1h",
            first_ms: 1_680_364_800_000, // 2023-04-01 16:00
            last_ms: 1_682_949_600_000,  // 2023-05-01 14:00
            mintick: 0.01,
            gaps: &[],
        },
        // TC5: ETH 1h JSON.
        Expect {
            file: "ETH_USDT-1h.json.gz",
            rows: 719,
            symbol: "ETHUSDT",
            timeframe: "1h",
            first_ms: 1_680_364_800_000,
            last_ms: 1_682_949_600_000,
            mintick: 0.01,
            gaps: &[],
        },
        // TC6: SOL 1h JSON.
        Expect {
            file: "SOL_USDT-1h.json.gz",
            rows: 719,
            symbol: "SOLUSDT",
            timeframe: "1h",
            first_ms: 1_680_364_800_000,
            last_ms: 1_682_949_600_000,
            mintick: 0.01,
            gaps: &[],
        },
        // TC7: the derived Binance CSV fixture (first 100 bars of TC4).
        Expect {
            file: "BTCUSDT-1h-2023-04.csv",
            rows: 100,
            symbol: "BTCUSDT",
            timeframe: "1h",
            first_ms: 1_680_364_800_000,
            last_ms: 1_680_721_200_000, // 2023-04-05 19:00
            mintick: 0.01,
            gaps: &[],
        },
    ];
    for (i, e) in cases.iter().enumerate() {
        let path = data(e.file);
        let started = Instant::now();
        let s = load(&path, None, None).unwrap_or_else(|err| panic!("TC{i}: {err}"));
        eprintln!(
            "TC{i}: {} loaded in {:?} (debug build)",
            e.file,
            started.elapsed()
        );
        assert_eq!(s.bars.len(), e.rows, "TC{i}");
        assert_eq!(s.symbol, e.symbol, "TC{i}");
        assert_eq!(s.timeframe.as_str(), e.timeframe, "TC{i}");
        assert_eq!(s.bars[0].time_ms, e.first_ms, "TC{i}");
        assert_eq!(s.bars[s.bars.len() - 1].time_ms, e.last_ms, "TC{i}");
        assert_eq!(s.mintick, e.mintick, "TC{i}");
        assert_eq!(s.source, path, "TC{i}");
        let gaps: Vec<(i64, i64)> = s
            .gaps()
            .into_iter()
            .map(|(idx, missing)| (s.bars[idx - 1].time_ms, missing))
            .collect();
        assert_eq!(gaps, e.gaps, "TC{i}");
    }
}

#[test]
fn the_1m_halt_gap_in_detail() {
    let s = load(&data("BTC_USDT-1m.json.gz"), None, None).unwrap();
    let gaps = s.gaps();
    assert_eq!(gaps, vec![(10_945, 80 * MIN)]);
    let (idx, _) = gaps[0];
    assert_eq!(
        utc::UtcTime(s.bars[idx - 1].time_ms).to_string(),
        "2023-03-24 12:39:00 UTC"
    );
    assert_eq!(
        utc::UtcTime(s.bars[idx].time_ms).to_string(),
        "2023-03-24 14:00:00 UTC"
    );
    // 81 minutes between the two bars' open times.
    assert_eq!(s.bars[idx].time_ms - s.bars[idx - 1].time_ms, 81 * MIN);
}

#[test]
fn feather_and_json_agree_where_the_repos_overlap() {
    let json = load(&data("BTC_USDT-1h.json.gz"), None, None).unwrap();
    let feather = load(&data("BTC_USDT-1h.feather"), None, None).unwrap();
    let (from, to) = (json.bars[0].time_ms, json.bars[json.bars.len() - 1].time_ms);
    let overlap: Vec<Bar> = feather
        .bars
        .iter()
        .copied()
        .filter(|b| (from..=to).contains(&b.time_ms))
        .collect();
    assert_eq!(overlap.len(), 719);
    assert_eq!(overlap, json.bars);

    let eth_json = load(&data("ETH_USDT-1h.json.gz"), None, None).unwrap();
    let eth_feather = load(&data("ETH_USDT-1h.feather"), None, None).unwrap();
    let eth_overlap: Vec<Bar> = eth_feather
        .bars
        .iter()
        .copied()
        .filter(|b| (from..=to).contains(&b.time_ms))
        .collect();
    assert_eq!(eth_overlap, eth_json.bars);
}

#[test]
fn csv_fixture_matches_the_json_it_came_from() {
    let json = load(&data("BTC_USDT-1h.json.gz"), None, None).unwrap();
    let csv = load(&data("BTCUSDT-1h-2023-04.csv"), None, None).unwrap();
    assert_eq!(csv.bars, json.bars[..100]);

    // The same fixture gzipped, in microseconds and with a header loads the same bars.
    let text = std::fs::read_to_string(data("BTCUSDT-1h-2023-04.csv")).unwrap();
    let mut micros = String::from(
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,\
         taker_buy_volume,taker_buy_quote_volume,ignore\n",
    );
    for line in text.lines() {
        let (time, rest) = line.split_once(',').unwrap();
        micros.push_str(&format!("{time}000,{rest}\n"));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(micros.as_bytes()).unwrap();
    let path = temp_file("csvgz", "BTCUSDT-1h-2025-01.csv.gz", &gz.finish().unwrap());
    let again = load(&path, None, None).unwrap();
    assert_eq!(again.bars, csv.bars);
    assert_eq!(again.timeframe.as_str(), "1h");
}

#[test]
fn arguments_win_over_the_name_and_spacing_is_inferred() {
    let text = std::fs::read(data("BTCUSDT-1h-2023-04.csv")).unwrap();
    type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a str, &'a str);
    let cases: &[Case] = &[
        // TC0: no name hints: symbol given, timeframe inferred from spacing.
        ("klines.csv", Some("btc/usdt"), None, "BTCUSDT", "1h"),
        // TC1: name hints overridden by arguments (Pine spelling of 1h).
        (
            "ETHUSDT-1m-2023-04.csv",
            Some("BTCUSDT"),
            Some("60"),
            "BTCUSDT",
            "1h",
        ),
        // TC2: name gives the symbol, spacing the timeframe.
        ("BTCUSDT.csv", None, None, "BTCUSDT", "1h"),
    ];
    for (i, (name, sym, tf, want_sym, want_tf)) in cases.iter().enumerate() {
        let path = temp_file("args", name, &text);
        let s = load(&path, *sym, *tf).unwrap_or_else(|e| panic!("TC{i}: {e}"));
        assert_eq!(
            (s.symbol.as_str(), s.timeframe.as_str()),
            (*want_sym, *want_tf),
            "TC{i}"
        );
    }
}

#[test]
fn load_errors() {
    let one_bar = b"1680364800000,1,1,1,1,1,1680368399999,0,0,0,0,0\n";
    let fixture = std::fs::read(data("BTCUSDT-1h-2023-04.csv")).unwrap();
    let not_gzip = [0x1f, 0x8b, 0x08, 0x00, 0x01];
    let single = temp_file("errors", "single.csv", one_bar);
    let empty = temp_file("errors", "BTCUSDT-1h-2023-04.csv", b"open_time,open\n");
    let fixture_path = temp_file("errors", "BTCUSDT-1d-2023-04.csv", &fixture);
    let broken_gz = temp_file("errors", "BTC_USDT-1h.json.gz", &not_gzip);
    let missing = std::env::temp_dir().join("pinewire-history-no-such-dir/BTC_USDT-1h.json");
    let d = |p: &Path| p.display().to_string();
    let cases: Vec<(&Path, Option<&str>, Option<&str>, String)> = vec![
        // TC0: unsupported extension.
        (
            Path::new("BTCUSDT-1m.parquet"),
            None,
            None,
            "BTCUSDT-1m.parquet: unsupported kline file; supported formats are Binance kline \
             CSV (.csv, .csv.gz), freqtrade JSON (.json, .json.gz) and freqtrade feather \
             (.feather); convert freqtrade parquet data with `freqtrade convert-data \
             --format-to feather`"
                .into(),
        ),
        // TC1: no symbol from the name or the arguments.
        (
            &single,
            None,
            None,
            format!(
                "{}: cannot tell the symbol from the file name; pass --symbol (for example \
                 --symbol BTCUSDT)",
                d(&single)
            ),
        ),
        // TC2: one bar: no timeframe from the name, the arguments or the spacing.
        (
            &single,
            Some("BTCUSDT"),
            None,
            format!(
                "{}: cannot tell the timeframe from the file name or the bar spacing; pass \
                 --timeframe (for example --timeframe 1h)",
                d(&single)
            ),
        ),
        // TC3: bad timeframe argument.
        (
            &single,
            Some("BTCUSDT"),
            Some("7m"),
            "invalid --timeframe: unknown timeframe \"7m\"; expected one of 1m, 3m, 5m, 15m, \
             30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w, 1M (or Pine's 1, 60, 240, D, W, M)"
                .into(),
        ),
        // TC4: bad symbol argument.
        (
            &single,
            Some("BTC USDT"),
            None,
            "invalid --symbol \"BTC USDT\": expected letters and digits such as BTCUSDT or \
             BTC/USDT"
                .into(),
        ),
        // TC5: header only.
        (
            &empty,
            None,
            None,
            format!("{}: no bars in the file", d(&empty)),
        ),
        // TC6: the name says 1d but the bars are hourly.
        (
            &fixture_path,
            None,
            None,
            format!(
                "{}: the bar at 2023-04-01 17:00:00 UTC opens 1h after the previous one, less \
                 than the timeframe 1d; pass the right --timeframe",
                d(&fixture_path)
            ),
        ),
        // TC7: missing file.
        (
            &missing,
            None,
            None,
            format!(
                "cannot read {}: No such file or directory (os error 2)",
                d(&missing)
            ),
        ),
        // TC8: gzip magic but a broken stream.
        (
            &broken_gz,
            None,
            None,
            format!(
                "cannot decompress {} (gzip): unexpected end of file",
                d(&broken_gz)
            ),
        ),
    ];
    for (i, (path, sym, tf, want)) in cases.iter().enumerate() {
        assert_eq!(load_err(path, *sym, *tf), *want, "TC{i}");
    }
}

/// An Arrow IPC file in memory with the freqtrade columns, `date` in `unit`, split into
/// batches of the given sizes.
fn feather_bytes(
    unit: TimeUnit,
    batches: &[&[(i64, [f64; 5])]],
    compression: Option<arrow_ipc::CompressionType>,
) -> Vec<u8> {
    let date_type = DataType::Timestamp(unit, Some("UTC".into()));
    let mut fields = vec![ArrowField::new("date", date_type, true)];
    for name in ["open", "high", "low", "close", "volume"] {
        fields.push(ArrowField::new(name, DataType::Float64, true));
    }
    let schema = Arc::new(Schema::new(fields));
    let options = IpcWriteOptions::default()
        .try_with_compression(compression)
        .unwrap();
    let mut out = Vec::new();
    {
        let mut w = FileWriter::try_new_with_options(&mut out, &schema, options).unwrap();
        for rows in batches {
            let times: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let date: ArrayRef = match unit {
                TimeUnit::Second => {
                    Arc::new(TimestampSecondArray::from(times).with_timezone("UTC"))
                }
                TimeUnit::Millisecond => {
                    Arc::new(TimestampMillisecondArray::from(times).with_timezone("UTC"))
                }
                TimeUnit::Microsecond => {
                    Arc::new(TimestampMicrosecondArray::from(times).with_timezone("UTC"))
                }
                TimeUnit::Nanosecond => {
                    Arc::new(TimestampNanosecondArray::from(times).with_timezone("UTC"))
                }
            };
            let mut columns = vec![date];
            for c in 0..5 {
                let v: Vec<f64> = rows.iter().map(|r| r.1[c]).collect();
                columns.push(Arc::new(Float64Array::from(v)) as ArrayRef);
            }
            w.write(&RecordBatch::try_new(schema.clone(), columns).unwrap())
                .unwrap();
        }
        w.finish().unwrap();
    }
    out
}

#[test]
fn feather_units_and_batches() {
    const T0_MS: i64 = 1_680_364_800_000;
    let row = |ms: i64, scale: i64| (ms * scale, [28400.07, 28443.04, 28280.0, 28326.0, 1.5]);
    let cases: &[(TimeUnit, i64)] = &[
        // TC0: seconds.
        (TimeUnit::Second, 1),
        // TC1: milliseconds.
        (TimeUnit::Millisecond, 1),
        // TC2: microseconds.
        (TimeUnit::Microsecond, 1000),
        // TC3: nanoseconds, as pandas writes.
        (TimeUnit::Nanosecond, 1_000_000),
    ];
    for (i, (unit, scale)) in cases.iter().enumerate() {
        let (t0, t1, t2) = if *unit == TimeUnit::Second {
            (T0_MS / 1000, T0_MS / 1000 + 3600, T0_MS / 1000 + 7200)
        } else {
            (T0_MS, T0_MS + HOUR, T0_MS + 2 * HOUR)
        };
        let bytes = feather_bytes(
            *unit,
            &[&[row(t0, *scale), row(t1, *scale)], &[row(t2, *scale)]],
            None,
        );
        let parsed =
            feather::parse(Path::new("x.feather"), &bytes).unwrap_or_else(|e| panic!("TC{i}: {e}"));
        let times: Vec<i64> = parsed.bars.iter().map(|b| b.time_ms).collect();
        assert_eq!(times, [T0_MS, T0_MS + HOUR, T0_MS + 2 * HOUR], "TC{i}");
        assert_eq!(parsed.bars[2].open, 28400.07, "TC{i}");
        assert_eq!(parsed.mintick, 0.01, "TC{i}");
    }
}

#[test]
fn feather_errors() {
    const T0: i64 = 1_680_364_800_000;
    let good = [28400.07, 28443.04, 28280.0, 28326.0, 1.5];
    let p = Path::new("t/x.feather");
    let run = |bytes: &[u8]| match feather::parse(p, bytes) {
        Ok(_) => "parsed".to_owned(),
        Err(e) => e.to_string(),
    };
    // TC0: ZSTD buffers (an empty batch: this build cannot compress data, but the batch
    // header still records the codec, which is what the reader checks).
    let zstd = feather_bytes(
        TimeUnit::Millisecond,
        &[&[]],
        Some(arrow_ipc::CompressionType::ZSTD),
    );
    assert_eq!(
        run(&zstd),
        "t/x.feather: the feather file is compressed with ZSTD, which is not supported \
         (LZ4_FRAME and uncompressed files are): re-save it with \
         pyarrow.feather.write_feather(df, path, compression=\"lz4\")",
        "TC0"
    );
    // TC1: rows out of order across a batch boundary name the global row.
    let bytes = feather_bytes(
        TimeUnit::Millisecond,
        &[&[(T0, good), (T0 + HOUR, good)], &[(T0 + HOUR, good)]],
        None,
    );
    assert_eq!(
        run(&bytes),
        "t/x.feather: row 3: open time 1680368400000 (2023-04-01 17:00:00 UTC) is not after \
         the previous bar's 1680368400000 (2023-04-01 17:00:00 UTC)",
        "TC1"
    );
    // TC2: high below the body.
    let bytes = feather_bytes(
        TimeUnit::Millisecond,
        &[&[(T0, [10.0, 9.5, 9.0, 9.2, 1.0])]],
        None,
    );
    assert_eq!(
        run(&bytes),
        "t/x.feather: row 1: high 9.5 is below max(open, close) 10",
        "TC2"
    );
    // TC3: NaN close.
    let bytes = feather_bytes(
        TimeUnit::Millisecond,
        &[&[(T0, good), (T0 + HOUR, [1.0, 1.0, 1.0, f64::NAN, 1.0])]],
        None,
    );
    assert_eq!(
        run(&bytes),
        "t/x.feather: row 2: close price NaN is not a positive finite number",
        "TC3"
    );
    // TC4: not Arrow at all.
    assert_eq!(
        run(b"[[1,2,3]]"),
        "t/x.feather: not a readable Arrow IPC (feather v2) file: the file does not start \
         with the Arrow magic \"ARROW1\"",
        "TC4"
    );
    // TC5: Feather v1.
    assert_eq!(
        run(b"FEA1...."),
        "t/x.feather: not a readable Arrow IPC (feather v2) file: this is a Feather v1 \
         file; re-save it with pyarrow (Feather v2)",
        "TC5"
    );
    // TC6: truncated Arrow file.
    let mut cut = feather_bytes(TimeUnit::Millisecond, &[&[(T0, good)]], None);
    cut.truncate(cut.len() / 2);
    assert!(
        run(&cut).starts_with("t/x.feather: not a readable Arrow IPC (feather v2) file: "),
        "TC6: {}",
        run(&cut)
    );
    // TC7: a missing column.
    let schema = Arc::new(Schema::new(vec![
        ArrowField::new(
            "date",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        ArrowField::new("open", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(TimestampMillisecondArray::from(vec![T0])) as ArrayRef,
            Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
        ],
    )
    .unwrap();
    let mut bytes = Vec::new();
    {
        let mut w = FileWriter::try_new(&mut bytes, &schema).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
    }
    assert_eq!(
        run(&bytes),
        "t/x.feather: column \"high\" is missing; freqtrade feather has date, open, high, \
         low, close, volume",
        "TC7"
    );
    // TC8: wrong column type (prices as float32) and TC9: a null price.
    let mut fields = vec![ArrowField::new(
        "date",
        DataType::Timestamp(TimeUnit::Millisecond, None),
        false,
    )];
    for name in ["open", "high", "low", "close"] {
        fields.push(ArrowField::new(name, DataType::Float64, true));
    }
    let with_volume = |ty: DataType| {
        let mut f = fields.clone();
        f.push(ArrowField::new("volume", ty, true));
        Arc::new(Schema::new(f))
    };
    let write = |schema: Arc<Schema>, volume: ArrayRef, open: Vec<Option<f64>>| {
        let n = open.len();
        let times: Vec<i64> = (0..n as i64).map(|k| T0 + k * HOUR).collect();
        let mut cols: Vec<ArrayRef> = vec![Arc::new(TimestampMillisecondArray::from(times))];
        cols.push(Arc::new(Float64Array::from(open)));
        for _ in 0..3 {
            cols.push(Arc::new(Float64Array::from(vec![1.0; n])));
        }
        cols.push(volume);
        let mut out = Vec::new();
        let mut w = FileWriter::try_new(&mut out, &schema).unwrap();
        w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap())
            .unwrap();
        w.finish().unwrap();
        drop(w);
        out
    };
    let f32_volume = write(
        with_volume(DataType::Float32),
        Arc::new(arrow_array::Float32Array::from(vec![1.0f32])),
        vec![Some(1.0)],
    );
    assert_eq!(
        run(&f32_volume),
        "t/x.feather: column \"volume\" has type Float32, expected double (float64)",
        "TC8"
    );
    let null_open = write(
        with_volume(DataType::Float64),
        Arc::new(Float64Array::from(vec![1.0, 1.0])),
        vec![Some(1.0), None],
    );
    assert_eq!(
        run(&null_open),
        "t/x.feather: row 2: open price is null",
        "TC9"
    );
}

#[test]
fn lz4_path_and_arrow_reader_agree() {
    // The bundled feather files are LZ4-compressed; re-written uncompressed (in three
    // batches, ns timestamps as pandas writes them) they must give the same bars.
    let path = data("ETH_USDT-1h.feather");
    let raw = std::fs::read(&path).unwrap();
    let lz4 = feather::parse(&path, &raw).unwrap();
    let rows: Vec<(i64, [f64; 5])> = lz4
        .bars
        .iter()
        .map(|b| {
            (
                b.time_ms * 1_000_000,
                [b.open, b.high, b.low, b.close, b.volume],
            )
        })
        .collect();
    let (a, rest) = rows.split_at(1000);
    let (b, c) = rest.split_at(5000);
    let plain = feather_bytes(TimeUnit::Nanosecond, &[a, b, c], None);
    let arrow = feather::parse(Path::new("plain.feather"), &plain).unwrap();
    assert_eq!(arrow.bars.len(), 8996);
    assert_eq!(arrow, lz4);
}
