//! Recorded market data in the capture format: gzip text, one message per line,
//! `<local receive time, ns since the epoch> <raw JSON exactly as received>` (the format of
//! the bundled hftbacktest capture and of `pinewire record`). Several files read as one
//! stream, in the order given.
//!
//! The reader reuses one line buffer, so reading allocates only while the longest line
//! seen so far grows it.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read (or is not gzip).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A line does not start with a timestamp and a space.
    #[error("{path}:{line}: expected '<ns timestamp> <json>'")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
    },
}

/// One recorded message.
#[derive(Debug, PartialEq)]
pub struct Record<'a> {
    /// Local receive time, ns since the epoch.
    pub recv_ns: u64,
    /// The raw message, mutable so that it can be parsed in place.
    pub json: &'a mut [u8],
    /// 1-based line number in its file (for messages).
    pub line: u64,
}

/// Reads capture files line by line.
pub struct CaptureReader {
    files: Vec<PathBuf>,
    next_file: usize,
    current: Option<(PathBuf, BufReader<MultiGzDecoder<File>>)>,
    line_no: u64,
    buf: Vec<u8>,
}

impl CaptureReader {
    /// A reader over `files`, in order.
    pub fn new(files: &[impl AsRef<Path>]) -> CaptureReader {
        CaptureReader {
            files: files.iter().map(|f| f.as_ref().to_path_buf()).collect(),
            next_file: 0,
            current: None,
            line_no: 0,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// The file being read (for messages).
    pub fn current_file(&self) -> Option<&Path> {
        self.current.as_ref().map(|(p, _)| p.as_path())
    }

    /// The next record, `None` at the end of the last file. Empty lines are skipped.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<Record<'_>, CaptureError>> {
        loop {
            if self.current.is_none() {
                let path = self.files.get(self.next_file)?.clone();
                self.next_file += 1;
                self.line_no = 0;
                match File::open(&path) {
                    Ok(f) => {
                        self.current = Some((path, BufReader::new(MultiGzDecoder::new(f))));
                    }
                    Err(source) => return Some(Err(CaptureError::Io { path, source })),
                }
            }
            let (path, reader) = self.current.as_mut()?;
            self.buf.clear();
            match reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.current = None;
                    continue;
                }
                Ok(_) => {}
                Err(source) => {
                    let path = path.clone();
                    self.current = None;
                    return Some(Err(CaptureError::Io { path, source }));
                }
            }
            self.line_no += 1;
            while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                self.buf.pop();
            }
            if self.buf.is_empty() {
                continue;
            }
            let line = self.line_no;
            let Some(space) = self.buf.iter().position(|&b| b == b' ') else {
                return Some(Err(CaptureError::BadLine {
                    path: path.clone(),
                    line,
                }));
            };
            let recv_ns = match lexical_core::parse::<u64>(&self.buf[..space]) {
                Ok(ns) => ns,
                Err(_) => {
                    return Some(Err(CaptureError::BadLine {
                        path: path.clone(),
                        line,
                    }))
                }
            };
            return Some(Ok(Record {
                recv_ns,
                json: &mut self.buf[space + 1..],
                line,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gz(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pinewire-capture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(name);
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).expect("gzip");
        std::fs::write(&path, enc.finish().expect("gzip")).expect("write");
        path
    }

    #[test]
    fn reads_files_in_order_and_reports_bad_lines() {
        let a = gz("a.gz", "1 {\"x\":1}\n2 {\"x\":2}\r\n\n");
        let b = gz("b.gz", "3 {\"x\":3}\nnot a record\n");
        let mut r = CaptureReader::new(&[&a, &b]);
        let mut got = Vec::new();
        // TC0: records from both files, CRLF and empty lines handled
        while let Some(rec) = r.next() {
            match rec {
                Ok(rec) => got.push((rec.recv_ns, String::from_utf8_lossy(rec.json).into_owned())),
                Err(e) => {
                    // TC1: a line without a timestamp names file and line
                    assert!(
                        e.to_string()
                            .ends_with("b.gz:2: expected '<ns timestamp> <json>'"),
                        "{e}"
                    );
                    break;
                }
            }
        }
        assert_eq!(
            got,
            vec![
                (1, "{\"x\":1}".to_string()),
                (2, "{\"x\":2}".to_string()),
                (3, "{\"x\":3}".to_string())
            ]
        );
        // TC2: a missing file is an error, not a panic
        let mut r = CaptureReader::new(&["/nonexistent/x.gz"]);
        assert!(matches!(r.next(), Some(Err(CaptureError::Io { .. }))));
    }

    #[test]
    fn bundled_capture_line_counts() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/binance/ws_capture");
        let files = [
            format!("{dir}/btcusdt_20240808.gz"),
            format!("{dir}/btcusdt_20240809.gz"),
        ];
        let mut r = CaptureReader::new(&files);
        let mut n = 0u64;
        let mut last = 0u64;
        while let Some(rec) = r.next() {
            let rec = rec.expect("valid record");
            assert!(
                rec.recv_ns >= last,
                "time goes backwards at line {}",
                rec.line
            );
            last = rec.recv_ns;
            n += 1;
        }
        assert_eq!(n, 41_249 + 58_325);
    }
}
