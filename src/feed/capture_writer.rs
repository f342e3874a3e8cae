//! Writes recorded market data in the capture format that [`crate::feed::capture`] reads:
//! gzip text, one message per line, `<local receive time, ns since the epoch> <raw JSON>`.
//!
//! One writer per symbol; files rotate on the UTC hour (`<prefix>_<YYYYMMDD>_<HH>.gz`), so
//! that a long recording is a series of small files that can be copied, replayed and
//! deleted independently. A file that already exists (a restart within the same hour) gets
//! a new gzip member appended: gzip readers, ours included, read concatenated members as
//! one stream, so nothing recorded before the restart is lost.
//!
//! Crash safety: [`CaptureWriter::flush`] ends a deflate block and flushes the file, so a
//! recorder that flushes every second loses at most the last second if the process dies;
//! the reader stops with an error at the truncated tail, after every complete line.
//!
//! The recorder runs this on its own writer thread: it allocates and blocks on disk, which
//! the market-data thread must never do.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::calendar::civil_from_days;

const NS_PER_HOUR: u64 = 3_600_000_000_000;
const HOURS_PER_DAY: u64 = 24;

/// An hourly-rotated gzip capture file set for one prefix (one symbol).
pub struct CaptureWriter {
    dir: PathBuf,
    prefix: String,
    current: Option<OpenFile>,
    line: Vec<u8>,
    lines_written: u64,
    newlines_replaced: u64,
}

struct OpenFile {
    hour: u64,
    path: PathBuf,
    gz: GzEncoder<BufWriter<File>>,
}

impl CaptureWriter {
    /// A writer of `dir/<prefix>_<YYYYMMDD>_<HH>.gz` files. Nothing is created until the
    /// first line is written. `prefix` should be a file-name-safe word (the lower-case
    /// symbol).
    pub fn new(dir: impl Into<PathBuf>, prefix: &str) -> CaptureWriter {
        CaptureWriter {
            dir: dir.into(),
            prefix: prefix.to_string(),
            current: None,
            line: Vec::with_capacity(64 * 1024),
            lines_written: 0,
            newlines_replaced: 0,
        }
    }

    /// Appends one message received at `recv_ns` (ns since the epoch, UTC), rotating to a
    /// new file when the hour changed. A raw line break inside the message (legal JSON
    /// whitespace, never sent by Binance) becomes a space so that the line format holds and
    /// the JSON means the same.
    pub fn write(&mut self, recv_ns: u64, raw: &[u8]) -> io::Result<()> {
        let hour = recv_ns / NS_PER_HOUR;
        if self.current.as_ref().map(|f| f.hour) != Some(hour) {
            self.rotate(hour)?;
        }
        self.line.clear();
        let mut digits = [0u8; lexical_core::BUFFER_SIZE];
        self.line
            .extend_from_slice(lexical_core::write(recv_ns, &mut digits));
        self.line.push(b' ');
        let start = self.line.len();
        self.line.extend_from_slice(raw);
        for byte in &mut self.line[start..] {
            if matches!(*byte, b'\n' | b'\r') {
                *byte = b' ';
                self.newlines_replaced += 1;
            }
        }
        self.line.push(b'\n');
        let file = self
            .current
            .as_mut()
            .ok_or_else(|| io::Error::other("capture file not open after rotation"))?;
        file.gz
            .write_all(&self.line)
            .map_err(|e| with_path(&file.path, e))?;
        self.lines_written += 1;
        Ok(())
    }

    /// Ends the current deflate block and flushes it to the file, so that everything written
    /// so far survives a crash.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(file) = self.current.as_mut() {
            file.gz.flush().map_err(|e| with_path(&file.path, e))?;
            file.gz
                .get_mut()
                .flush()
                .map_err(|e| with_path(&file.path, e))?;
        }
        Ok(())
    }

    /// Writes the gzip trailer of the open file and closes it.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(file) = self.current.take() {
            let path = file.path;
            let mut inner = file.gz.finish().map_err(|e| with_path(&path, e))?;
            inner.flush().map_err(|e| with_path(&path, e))?;
        }
        Ok(())
    }

    /// The file being written, if any.
    pub fn current_path(&self) -> Option<&Path> {
        self.current.as_ref().map(|f| f.path.as_path())
    }

    /// Lines written since creation.
    pub fn lines_written(&self) -> u64 {
        self.lines_written
    }

    /// Raw line breaks replaced by spaces since creation.
    pub fn newlines_replaced(&self) -> u64 {
        self.newlines_replaced
    }

    fn rotate(&mut self, hour: u64) -> io::Result<()> {
        self.finish()?;
        let path = self.dir.join(file_name(&self.prefix, hour));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| with_path(&path, e))?;
        self.current = Some(OpenFile {
            hour,
            path,
            gz: GzEncoder::new(
                BufWriter::with_capacity(256 * 1024, file),
                Compression::fast(),
            ),
        });
        Ok(())
    }
}

impl Drop for CaptureWriter {
    fn drop(&mut self) {
        // Best effort: a writer dropped without `finish` (an error path) still closes its
        // gzip member; an error here has nowhere to go and the reader tolerates the tail.
        let _ = self.finish();
    }
}

/// `<prefix>_<YYYYMMDD>_<HH>.gz` for an hour counted since the epoch (UTC).
fn file_name(prefix: &str, hour: u64) -> String {
    let days = (hour / HOURS_PER_DAY) as i64;
    let (y, m, d) = civil_from_days(days);
    format!("{prefix}_{y:04}{m:02}{d:02}_{:02}.gz", hour % HOURS_PER_DAY)
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::capture::CaptureReader;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pinewire-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn read_all(files: &[PathBuf]) -> Vec<(u64, String)> {
        let mut reader = CaptureReader::new(files);
        let mut out = Vec::new();
        while let Some(record) = reader.next() {
            let record = record.expect("readable capture");
            out.push((
                record.recv_ns,
                String::from_utf8(record.json.to_vec()).expect("utf8"),
            ));
        }
        out
    }

    #[test]
    fn file_names() {
        let cases: &[(u64, &str)] = &[
            // TC0: the epoch
            (0, "btcusdt_19700101_00.gz"),
            // TC1: the bundled capture's first hour (2024-08-08 23:54 UTC)
            (
                1_723_161_253_000_000_000 / NS_PER_HOUR,
                "btcusdt_20240808_23.gz",
            ),
            // TC2: the hour after midnight rolls the date
            (
                1_723_161_600_000_000_000 / NS_PER_HOUR,
                "btcusdt_20240809_00.gz",
            ),
        ];
        for (i, (hour, want)) in cases.iter().enumerate() {
            assert_eq!(file_name("btcusdt", *hour), *want, "TC{i}");
        }
    }

    #[test]
    fn rotates_hourly_and_reads_back() {
        let dir = temp_dir("capture-rotate");
        let mut writer = CaptureWriter::new(&dir, "btcusdt");
        let t0 = 1_723_161_599_000_000_000u64; // 2024-08-08 23:59:59
        writer.write(t0, br#"{"a":1}"#).expect("write");
        writer.write(t0 + 1, b"{\"b\":\n2}").expect("write");
        let first = writer.current_path().map(Path::to_path_buf);
        writer
            .write(t0 + 1_000_000_000, br#"{"c":3}"#)
            .expect("write");
        let second = writer.current_path().map(Path::to_path_buf);
        writer.finish().expect("finish");
        assert_ne!(first, second, "a new hour opens a new file");
        assert_eq!(writer.lines_written(), 3);
        assert_eq!(writer.newlines_replaced(), 1);
        let files = [
            dir.join("btcusdt_20240808_23.gz"),
            dir.join("btcusdt_20240809_00.gz"),
        ];
        let got = read_all(&files);
        assert_eq!(
            got,
            vec![
                (t0, r#"{"a":1}"#.to_string()),
                (t0 + 1, r#"{"b": 2}"#.to_string()),
                (t0 + 1_000_000_000, r#"{"c":3}"#.to_string()),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn restart_in_the_same_hour_appends() {
        let dir = temp_dir("capture-append");
        let t0 = 1_723_161_253_000_000_000u64;
        for (i, body) in [r#"{"x":1}"#, r#"{"x":2}"#].iter().enumerate() {
            let mut writer = CaptureWriter::new(&dir, "ethusdt");
            writer.write(t0 + i as u64, body.as_bytes()).expect("write");
            writer.finish().expect("finish");
        }
        let got = read_all(&[dir.join("ethusdt_20240808_23.gz")]);
        assert_eq!(got.len(), 2, "both runs' lines are kept: {got:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn flushed_lines_survive_a_crash() {
        let dir = temp_dir("capture-crash");
        let t0 = 1_723_161_253_000_000_000u64;
        let mut writer = CaptureWriter::new(&dir, "btcusdt");
        writer.write(t0, br#"{"kept":1}"#).expect("write");
        writer.flush().expect("flush");
        let path = writer.current_path().map(Path::to_path_buf).expect("open");
        // A crash: the process dies without the gzip trailer.
        std::mem::forget(writer);
        let mut reader = CaptureReader::new(&[path]);
        let first = reader.next().expect("a record").expect("readable");
        assert_eq!(first.json, br#"{"kept":1}"#);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
