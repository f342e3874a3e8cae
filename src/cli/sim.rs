//! `pinewire sim`: the exchange simulator alone, for other clients and load tests.
//!
//! The market comes from files given as positional arguments: a recorded capture is
//! replayed, kline files become a synthesized market ([`run`]); [`run_with`] serves a source
//! the caller opened itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::sim::market::SynthOptions;
use crate::sim::server::{self, FaultPlan, SimConfig, Speed};
use crate::sim::source::MarketSource;

/// Arguments of `pinewire sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Market files to replay: recorded captures or kline files.
    #[arg(required = true)]
    pub sources: Vec<PathBuf>,
    /// Address to listen on (REST and WebSocket share it).
    #[arg(long, default_value = "127.0.0.1:9443")]
    pub listen: SocketAddr,
    /// Serve TLS (wss://, https://) with a self-signed certificate for localhost and
    /// 127.0.0.1, made at start.
    #[arg(long)]
    pub tls: bool,
    /// Write the TLS certificate (PEM) here, for clients to trust. Needs --tls.
    #[arg(long, value_name = "PATH")]
    pub cert_out: Option<PathBuf>,
    /// Pace: a multiple of real time (1, 10, 0.5) or `max` (as fast as clients read).
    #[arg(long, default_value = "1")]
    pub speed: String,
    /// WebSocket ping interval (500ms, 20s, 1m, 24h; a bare number is seconds).
    #[arg(long, default_value = "20s")]
    pub ping_interval: String,
    /// Close a WebSocket connection whose pong has not come this long after a ping.
    #[arg(long, default_value = "60s")]
    pub pong_timeout: String,
    /// Close a WebSocket connection this long after it opened.
    #[arg(long, default_value = "24h")]
    pub max_age: String,
    /// Incoming WebSocket messages a second above which the connection is closed.
    #[arg(long, default_value_t = 5)]
    pub max_incoming_per_sec: u32,
    /// Streams one WebSocket connection may hold.
    #[arg(long, default_value_t = 1024)]
    pub max_streams: usize,
    /// REST request weight per IP per minute.
    #[arg(long, default_value_t = 6000)]
    pub weight_limit: u32,
    /// Fault PRNG seed (same seed, same market: same faults).
    #[arg(long, default_value_t = FaultPlan::default().seed)]
    pub fault_seed: u64,
    /// Probability of dropping each market message.
    #[arg(long, default_value_t = 0.0)]
    pub fault_drop: f64,
    /// Probability of sending a market message twice.
    #[arg(long, default_value_t = 0.0)]
    pub fault_duplicate: f64,
    /// Probability of swapping a market message with the next.
    #[arg(long, default_value_t = 0.0)]
    pub fault_reorder: f64,
    /// Probability of delaying a market message by --fault-delay-ms.
    #[arg(long, default_value_t = 0.0)]
    pub fault_delay: f64,
    /// Delay of a delayed market message, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub fault_delay_ms: u64,
    /// Probability of sending a market message malformed.
    #[arg(long, default_value_t = 0.0)]
    pub fault_malformed: f64,
    /// Close every connection this often (e.g. 30s).
    #[arg(long)]
    pub fault_close_every: Option<String>,
    /// Refuse the first N connections.
    #[arg(long, default_value_t = 0)]
    pub fault_refuse_next: u64,
    /// Answer REST with 503 for this long from the start.
    #[arg(long)]
    pub fault_refuse_rest: Option<String>,
    /// Stop the market for this long from the start.
    #[arg(long)]
    pub fault_stall: Option<String>,
    /// Stop after this long (default: run until killed).
    #[arg(long)]
    pub run_for: Option<String>,
    /// Print the counters every this long (0: never).
    #[arg(long, default_value = "10s")]
    pub stats_every: String,
    /// Seed of the market synthesized from kline files (same seed, same market).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Start the synthesized market at this bar open time (ISO-8601 UTC or ms); default:
    /// the first bar of the files.
    #[arg(long)]
    pub start: Option<String>,
    /// Synthesize at most this many bars per symbol.
    #[arg(long)]
    pub max_bars: Option<usize>,
    /// Depth levels a side of the synthesized book.
    #[arg(long, default_value_t = 500)]
    pub levels: usize,
    /// Trades a minute in the synthesized market.
    #[arg(long, default_value_t = 120)]
    pub trades_per_minute: u32,
}

impl SimArgs {
    /// The synthesis options these flags ask for (ignored for a capture replay).
    pub fn synth_options(&self) -> Result<SynthOptions> {
        let start_ms = self
            .start
            .as_deref()
            .map(|s| crate::calendar::parse_time(s).map_err(|e| anyhow::anyhow!("--start: {e}")))
            .transpose()?;
        Ok(SynthOptions {
            seed: self.seed,
            start_ms,
            max_bars: self.max_bars,
            levels_per_side: self.levels,
            trades_per_minute: self.trades_per_minute,
            ..SynthOptions::default()
        })
    }
}

/// `pinewire sim`: opens the market the files describe and serves it until stopped.
pub fn run(args: &SimArgs) -> Result<()> {
    let source = crate::sim::market::open_sources(&args.sources, &args.synth_options()?)?;
    run_with(args, source)
}

/// Parses `500ms`, `20s`, `5m`, `24h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let (number, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60e3)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600e3)
    } else {
        (text, 1e3)
    };
    match number.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(Duration::from_secs_f64(x * unit_ms / 1e3)),
        _ => bail!("duration `{text}`: expected e.g. 500ms, 20s, 5m or 24h"),
    }
}

impl SimArgs {
    /// The server configuration these arguments ask for.
    pub fn config(&self) -> Result<SimConfig> {
        if self.cert_out.is_some() && !self.tls {
            bail!("--cert-out needs --tls");
        }
        let duration =
            |text: &str, flag: &str| parse_duration(text).with_context(|| format!("--{flag}"));
        let faults = FaultPlan {
            seed: self.fault_seed,
            drop: self.fault_drop,
            duplicate: self.fault_duplicate,
            reorder: self.fault_reorder,
            delay: self.fault_delay,
            delay_ms: self.fault_delay_ms,
            malformed: self.fault_malformed,
            close_every: self
                .fault_close_every
                .as_deref()
                .map(|t| duration(t, "fault-close-every"))
                .transpose()?
                .filter(|d| !d.is_zero()),
        };
        faults.validate().context("fault flags")?;
        Ok(SimConfig {
            bind: self.listen,
            tls: self.tls,
            speed: Speed::parse(&self.speed).context("--speed")?,
            ping_interval: duration(&self.ping_interval, "ping-interval")?,
            pong_timeout: duration(&self.pong_timeout, "pong-timeout")?,
            max_age: duration(&self.max_age, "max-age")?,
            max_incoming_per_sec: self.max_incoming_per_sec,
            max_streams_per_conn: self.max_streams,
            rest_weight_limit: self.weight_limit,
            faults,
            ..SimConfig::default()
        })
    }
}

/// Runs the simulator on `source` until `--run-for` passes (or forever), printing the
/// URLs at start and the counters every `--stats-every`.
pub fn run_with(args: &SimArgs, source: Box<dyn MarketSource>) -> Result<()> {
    let config = args.config()?;
    let run_for = args
        .run_for
        .as_deref()
        .map(parse_duration)
        .transpose()
        .context("--run-for")?;
    let stats_every = parse_duration(&args.stats_every).context("--stats-every")?;
    let stall = args
        .fault_stall
        .as_deref()
        .map(parse_duration)
        .transpose()
        .context("--fault-stall")?;
    let refuse_rest = args
        .fault_refuse_rest
        .as_deref()
        .map(parse_duration)
        .transpose()
        .context("--fault-refuse-rest")?;
    let mut handle = server::start(config, source)?;
    if let (Some(path), Some(pem)) = (&args.cert_out, handle.cert_pem()) {
        std::fs::write(path, pem)
            .with_context(|| format!("cannot write the certificate to {}", path.display()))?;
        eprintln!("certificate written to {}", path.display());
    }
    let faults = handle.faults();
    if args.fault_refuse_next > 0 {
        faults.refuse_next_connections(args.fault_refuse_next);
    }
    if let Some(d) = stall {
        faults.stall_for(d);
    }
    if let Some(d) = refuse_rest {
        faults.refuse_rest_for(d);
    }
    println!(
        "pinewire sim: streams {}/ws/<stream> and {}/stream?streams=..., REST {}/api/v3/..., admin {}/sim/faults",
        handle.ws_url(),
        handle.ws_url(),
        handle.rest_url(),
        handle.rest_url()
    );
    let started = Instant::now();
    let mut last_stats = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        if run_for.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        if !stats_every.is_zero() && last_stats.elapsed() >= stats_every {
            last_stats = Instant::now();
            eprintln!("{}", handle.stats().to_json());
        }
    }
    handle.shutdown();
    println!("{}", handle.stats().to_json());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimArgs,
    }

    #[test]
    fn durations() {
        let cases: &[(&str, Option<u64>)] = &[
            // TC0..4: units, in ms
            ("500ms", Some(500)),
            ("20s", Some(20_000)),
            ("1m", Some(60_000)),
            ("24h", Some(86_400_000)),
            ("1.5", Some(1_500)),
            // TC5..6: refused
            ("soon", None),
            ("-1s", None),
        ];
        for (i, (text, ms)) in cases.iter().enumerate() {
            let got = parse_duration(text).ok().map(|d| d.as_millis() as u64);
            assert_eq!(got, *ms, "TC{i}: {text}");
        }
    }

    #[test]
    fn flags_to_config() {
        let parse = |argv: &[&str]| {
            Cli::try_parse_from(argv)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .and_then(|c| c.args.config())
        };
        // TC0: defaults are Binance's
        let c = parse(&["sim", "a.gz"]).expect("TC0");
        assert_eq!(c.ping_interval, Duration::from_secs(20));
        assert_eq!(c.max_age, Duration::from_secs(86_400));
        assert_eq!(c.speed, Speed::RealTime(1.0));
        assert_eq!(c.bind.port(), 9443);
        // TC1: everything set
        let c = parse(&[
            "sim",
            "a.gz",
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "--cert-out",
            "/tmp/x.pem",
            "--speed",
            "max",
            "--ping-interval",
            "100ms",
            "--fault-drop",
            "0.01",
            "--fault-close-every",
            "30s",
        ])
        .expect("TC1");
        assert!(c.tls);
        assert_eq!(c.speed, Speed::AsFastAsRead);
        assert_eq!(c.ping_interval, Duration::from_millis(100));
        assert_eq!(c.faults.drop, 0.01);
        assert_eq!(c.faults.close_every, Some(Duration::from_secs(30)));
        // TC2..5: refused
        assert!(parse(&["sim"]).is_err(), "TC2: no source");
        assert!(parse(&["sim", "a", "--cert-out", "x"]).is_err(), "TC3");
        assert!(parse(&["sim", "a", "--speed", "0"]).is_err(), "TC4");
        assert!(parse(&["sim", "a", "--fault-drop", "2"]).is_err(), "TC5");
    }

    #[test]
    fn runs_for_a_while_and_writes_the_certificate() {
        let dir = std::env::temp_dir().join(format!("pinewire-sim-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let cert = dir.join("sim.pem");
        let cert_arg = cert.display().to_string();
        let cli = Cli::try_parse_from([
            "sim",
            "a.gz",
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "--cert-out",
            &cert_arg,
            "--run-for",
            "100ms",
            "--stats-every",
            "0",
        ])
        .expect("args");
        let market = crate::sim::server::testing_market(0);
        run_with(&cli.args, market).expect("run");
        let pem = std::fs::read_to_string(&cert).expect("certificate written");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
