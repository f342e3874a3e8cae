//! `pinewire record`: captures Binance streams (and the REST depth snapshots taken at start
//! and after every resync) to hourly rotated gzip files that `pinewire book-check` and
//! `pinewire sim` read. See [`crate::feed::record`] for the threads and the file format.
//!
//! Stops on Ctrl-C, SIGTERM (and SIGHUP, through the `ctrlc` crate's `termination`
//! feature) or when `--duration` has passed, finishing every file; then prints one summary
//! line on stdout.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::feed::md::FeedConfig;
use crate::feed::record::{self, RecordOptions, RecordSummary, Recorder};
use crate::feed::ws::tls::{client_config, TrustedCert};

use super::sim::parse_duration;

/// Arguments of `pinewire record`.
#[derive(Debug, Clone, clap::Args)]
pub struct RecordArgs {
    /// Symbols, comma-separated (btcusdt,ethusdt; case does not matter).
    #[arg(long, value_delimiter = ',', required = true)]
    pub symbols: Vec<String>,
    /// Stream suffixes recorded for every symbol, comma-separated (depth@100ms, trade,
    /// bookTicker, aggTrade, kline_1m, ...).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "depth@100ms,trade,bookTicker"
    )]
    pub streams: Vec<String>,
    /// Directory of the capture files (`<symbol>_<YYYYMMDD>_<HH>.gz`), created if missing;
    /// a file of the same hour is appended to.
    #[arg(long)]
    pub out: PathBuf,
    /// WebSocket base URL.
    #[arg(long, default_value = "wss://stream.binance.com:9443")]
    pub ws_url: String,
    /// REST base URL (exchangeInfo at start, depth snapshots).
    #[arg(long, default_value = "https://api.binance.com")]
    pub rest_url: String,
    /// A certificate (PEM or DER) to trust besides the public roots: the simulator's
    /// (`pinewire sim --tls --cert-out FILE`).
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Stop after this long (500ms, 10s, 5m, 24h; a bare number is seconds). Default: run
    /// until Ctrl-C or SIGTERM.
    #[arg(long)]
    pub duration: Option<String>,
    /// Levels per side of the REST depth snapshots (1..=5000; Binance's weight grows with
    /// it).
    #[arg(long, default_value_t = 1000)]
    pub snapshot_limit: u32,
    /// Frames queued for the writer thread before the market-data thread waits for it.
    #[arg(long, default_value_t = record::DEFAULT_CHANNEL_CAPACITY)]
    pub channel_capacity: usize,
}

/// How long the exchangeInfo request at start may take.
const EXCHANGE_INFO_TIMEOUT: Duration = Duration::from_secs(10);

/// `pinewire record`: looks the symbols up, records until stopped, prints the summary.
/// Recording nothing at all (no frame, no snapshot) is an error, so that a wrong URL does
/// not pass for an empty market.
pub fn run(args: &RecordArgs) -> Result<()> {
    let duration = args
        .duration
        .as_deref()
        .map(parse_duration)
        .transpose()
        .context("--duration")?;
    if args.channel_capacity == 0 {
        bail!("--channel-capacity must be at least 1");
    }
    let symbols = record::normalize_symbols(&args.symbols)?;
    let extra_roots = match &args.ca_cert {
        Some(path) => vec![TrustedCert::load(path).context("--ca-cert")?],
        None => Vec::new(),
    };
    let tls = client_config(&extra_roots).context("--ca-cert")?;
    let feed_symbols =
        record::fetch_symbols(&args.rest_url, Some(tls), &symbols, EXCHANGE_INFO_TIMEOUT)?;
    let mut config = FeedConfig::new(
        args.ws_url.clone(),
        args.rest_url.clone(),
        feed_symbols,
        args.streams.iter().map(|s| s.trim().to_string()).collect(),
    );
    config.extra_roots = extra_roots;
    config.snapshot_limit = args.snapshot_limit;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C / SIGTERM handler")?;

    let mut options = RecordOptions::new(&args.out);
    options.channel_capacity = args.channel_capacity;
    let recorder = Recorder::start(config, options)?;
    eprintln!(
        "pinewire record: {} x {} from {} into {} ({})",
        symbols.join(","),
        args.streams.join(","),
        args.ws_url,
        args.out.display(),
        match duration {
            Some(d) => format!("for {d:?}"),
            None => "until Ctrl-C".to_string(),
        }
    );
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed)
        && duration.is_none_or(|d| started.elapsed() < d)
        && !recorder.writer_stopped()
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let summary: RecordSummary = recorder.finish()?;
    println!("{summary}");
    if summary.lines() == 0 {
        bail!(
            "nothing was recorded from {} (see the warnings above; check --ws-url, --rest-url \
             and the stream names)",
            args.ws_url
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: RecordArgs,
    }

    #[test]
    fn flags() {
        // TC0: defaults are Binance's and the streams
        let c = Cli::try_parse_from(["record", "--symbols", "btcusdt,ethusdt", "--out", "d"])
            .expect("TC0");
        assert_eq!(c.args.symbols, vec!["btcusdt", "ethusdt"]);
        assert_eq!(c.args.streams, vec!["depth@100ms", "trade", "bookTicker"]);
        assert_eq!(c.args.ws_url, "wss://stream.binance.com:9443");
        assert_eq!(c.args.rest_url, "https://api.binance.com");
        assert_eq!(c.args.duration, None);
        // TC1: overrides
        let c = Cli::try_parse_from([
            "record",
            "--symbols",
            "btcusdt",
            "--streams",
            "trade",
            "--out",
            "d",
            "--ws-url",
            "ws://127.0.0.1:1",
            "--rest-url",
            "http://127.0.0.1:1",
            "--ca-cert",
            "sim.pem",
            "--duration",
            "10s",
        ])
        .expect("TC1");
        assert_eq!(c.args.streams, vec!["trade"]);
        assert_eq!(c.args.ca_cert, Some(PathBuf::from("sim.pem")));
        assert_eq!(c.args.duration.as_deref(), Some("10s"));
        // TC2: symbols and --out are required
        assert!(
            Cli::try_parse_from(["record", "--out", "d"]).is_err(),
            "TC2"
        );
        assert!(
            Cli::try_parse_from(["record", "--symbols", "x"]).is_err(),
            "TC2"
        );
    }

    #[test]
    fn refused_before_any_network() {
        let run_with = |extra: &[&str]| {
            let mut argv = vec!["record", "--symbols", "btcusdt", "--out", "/nonexistent/x"];
            argv.extend_from_slice(extra);
            let c = Cli::try_parse_from(argv).expect("parses");
            run(&c.args).expect_err("refused").to_string()
        };
        let cases: &[(&[&str], &str)] = &[
            // TC0
            (&["--duration", "soon"], "--duration"),
            // TC1
            (&["--channel-capacity", "0"], "--channel-capacity"),
            // TC2
            (&["--ca-cert", "/nonexistent/sim.pem"], "--ca-cert"),
            // TC3: a symbol with punctuation
            (&["--symbols", "BTC/USDT"], "letters and digits"),
            // TC4: a REST URL of the wrong kind
            (&["--rest-url", "ws://127.0.0.1:1"], "exchangeInfo"),
        ];
        for (i, (extra, want)) in cases.iter().enumerate() {
            let err = run_with(extra);
            assert!(err.contains(want), "TC{i}: {err}");
        }
    }
}
