//! End-to-end tests of `pinewire record` with the real binaries: `pinewire sim` replays the
//! bundled BTCUSDT capture at `--speed max` on a port of its own choosing (plain and TLS),
//! `pinewire record` records it over real sockets, and `pinewire book-check` replays what
//! was recorded: every bookTicker whose id the rebuilt book reaches must match it, which
//! proves that the snapshot and the diffs were recorded consistently and in order.
//! Nothing is mocked. Children are killed by a guard if a test fails.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pinewire");
const CAPTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/binance/ws_capture");

/// Kills and reaps the child when dropped (a failed assertion must not leave servers).
struct Guard(Child);

impl Guard {
    fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pinewire-record-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A running `pinewire sim` over the bundled capture, and its base URLs.
struct Sim {
    _child: Guard,
    ws: String,
    rest: String,
}

/// Starts the simulator on port 0 and reads the URLs from its first stdout line.
fn start_sim(dir: &Path, tls: bool) -> Sim {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "sim",
        &format!("{CAPTURE}/btcusdt_20240808.gz"),
        &format!("{CAPTURE}/btcusdt_20240809.gz"),
        "--listen",
        "127.0.0.1:0",
        "--speed",
        "max",
        "--stats-every",
        "0",
        "--run-for",
        "60s",
    ]);
    if tls {
        cmd.args(["--tls", "--cert-out"]);
        cmd.arg(dir.join("sim.pem"));
    }
    let mut child = Guard(
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("pinewire sim starts"),
    );
    let stdout = child.0.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("sim prints its URLs");
    // "pinewire sim: streams ws://127.0.0.1:PORT/ws/<stream> and ..., REST http://127.0.0.1:PORT/api/v3/..."
    let url = |scheme: &str| {
        let start = line
            .find(&format!("{scheme}://"))
            .unwrap_or_else(|| panic!("no {scheme}:// URL in `{line}`"));
        let rest = &line[start..];
        let end = rest[scheme.len() + 3..]
            .find('/')
            .map_or(rest.len(), |i| i + scheme.len() + 3);
        rest[..end].to_string()
    };
    let (ws, rest) = if tls {
        (url("wss"), url("https"))
    } else {
        (url("ws"), url("http"))
    };
    Sim {
        _child: child,
        ws,
        rest,
    }
}

/// Runs `pinewire record` against `sim`; returns (exit status, stdout, stderr).
fn record(sim: &Sim, out: &Path, extra: &[&str], stop: Stop) -> (ExitStatus, String, String) {
    let log = out.with_extension("log");
    std::fs::create_dir_all(&log).expect("log dir");
    let (so, se) = (log.join("stdout"), log.join("stderr"));
    let mut cmd = Command::new(BIN);
    cmd.args([
        "record",
        "--ws-url",
        &sim.ws,
        "--rest-url",
        &sim.rest,
        "--out",
    ])
    .arg(out)
    .args(extra)
    .stdout(File::create(&so).expect("stdout file"))
    .stderr(File::create(&se).expect("stderr file"));
    if let Stop::Duration(d) = stop {
        cmd.args(["--duration", d]);
    }
    let mut child = Guard(cmd.spawn().expect("pinewire record starts"));
    if let Stop::Sigterm { after_lines_in } = stop {
        // Wait until a file exists, then a little longer, and send SIGTERM.
        let deadline = Instant::now() + Duration::from_secs(15);
        while gz_files(after_lines_in, "btcusdt").is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_secs(2));
        let ok = Command::new("kill")
            .args(["-TERM", &child.0.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(ok.success(), "kill -TERM failed");
    }
    let status = child
        .wait_timeout(Duration::from_secs(20))
        .expect("pinewire record exits in time");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (status, read(&so), read(&se))
}

#[derive(Clone, Copy)]
enum Stop<'a> {
    Duration(&'a str),
    Sigterm { after_lines_in: &'a Path },
}

fn gz_files(dir: &Path, symbol: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&format!("{symbol}_")) && n.ends_with(".gz"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// `pinewire book-check` on the recorded files: (exit success, checked, mismatched, output).
fn book_check(files: &[PathBuf]) -> (bool, u64, u64, String) {
    let out = Command::new(BIN)
        .arg("book-check")
        .args(files)
        .args(["--tick", "0.01", "--qty", "0.00000001"])
        .output()
        .expect("book-check runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {name}= in `{text}`"))
    };
    (
        out.status.success(),
        field("checked"),
        field("mismatched"),
        text,
    )
}

/// Records, checks the summary and book-checks the files.
fn record_and_check(name: &str, tls: bool, stop_by_signal: bool) {
    let dir = temp_dir(name);
    let sim = start_sim(&dir, tls);
    let out = dir.join("out");
    let cert = dir.join("sim.pem");
    let cert_arg = cert.display().to_string();
    let mut extra = vec![
        "--symbols",
        "btcusdt",
        "--streams",
        "depth@100ms,bookTicker,trade",
    ];
    if tls {
        extra.extend(["--ca-cert", &cert_arg]);
    }
    let stop = if stop_by_signal {
        Stop::Sigterm {
            after_lines_in: &out,
        }
    } else {
        Stop::Duration("5s")
    };
    let (status, stdout, stderr) = record(&sim, &out, &extra, stop);
    assert!(
        status.success(),
        "{name}: record failed ({status}): {stdout}{stderr}"
    );
    assert!(
        stdout.starts_with("recorded ") && stdout.contains("BTCUSDT lines="),
        "{name}: summary line: {stdout}"
    );
    assert!(stdout.contains("snapshots=1"), "{name}: {stdout}");
    let files = gz_files(&out, "btcusdt");
    assert!(!files.is_empty(), "{name}: no capture file in {out:?}");
    let (ok, checked, mismatched, text) = book_check(&files);
    assert!(
        ok && checked > 0 && mismatched == 0,
        "{name}: book-check: {text}"
    );
    eprintln!("{name}: {}; book-check: {}", stdout.trim(), text.trim());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn records_a_replay_that_book_check_accepts() {
    record_and_check("plain", false, false);
}

#[test]
fn records_over_tls_with_the_sims_certificate() {
    record_and_check("tls", true, false);
}

#[test]
fn sigterm_finishes_the_files() {
    // book-check reads to the end of the gzip stream: a missing trailer would be an error.
    record_and_check("sigterm", false, true);
}

#[test]
fn unknown_symbol_is_a_clear_error() {
    let dir = temp_dir("unknown");
    let sim = start_sim(&dir, false);
    let out = dir.join("out");
    let (status, stdout, stderr) = record(
        &sim,
        &out,
        &["--symbols", "btcusdt,ethusdt"],
        Stop::Duration("1s"),
    );
    assert!(!status.success(), "an unknown symbol must fail: {stdout}");
    assert!(
        stderr.contains("unknown symbol ETHUSDT"),
        "the error names the symbol: {stderr}"
    );
    assert!(
        gz_files(&out, "btcusdt").is_empty(),
        "nothing recorded when refused"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
