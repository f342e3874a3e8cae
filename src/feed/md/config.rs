//! The feed's configuration and how it is split into md threads and connections.

use std::time::Duration;

use thiserror::Error;

use crate::feed::fixed::Increment;
use crate::feed::kline_builder::BarInterval;
use crate::feed::rest::RestOptions;
use crate::feed::ws::backoff::BackoffConfig;
use crate::feed::ws::tls::{TlsError, TrustedCert};
use crate::feed::ws::url::UrlError;

/// One symbol to follow, with the exchange filters its prices and quantities are counted
/// in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSymbol {
    /// Upper-case symbol as in REST and in the `s` field (`BTCUSDT`).
    pub name: String,
    /// `PRICE_FILTER.tickSize`.
    pub tick: Increment,
    /// The quantity increment (`LOT_SIZE.stepSize`, or the wire's 1e-8 when book
    /// quantities are finer than the order step, see `book_check`).
    pub step: Increment,
}

/// Where the bars of a [`KlineSpec`] come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KlineSource {
    /// Binance's `<symbol>@kline_<interval>` stream (subscribed automatically): bars close
    /// on its `x: true` event. Each stream kline carries the whole bar's totals, so a bar
    /// that spans a reconnect is still complete.
    Stream,
    /// Built by the engine from the `@trade` stream (which `FeedConfig::streams` must then
    /// name): bars close on the first trade of a later bar or on the thread's clock (the
    /// exchange time estimate minus [`FeedConfig::kline_grace`]). A bar whose interval
    /// saw a disconnect misses trades and is taken from REST instead.
    Trades,
}

/// One bar series every symbol of the feed gets: an interval and where its bars come
/// from. Closed bars reach [`crate::feed::md::FeedHandler::on_bar`] with the index of the
/// spec in [`FeedConfig::klines`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KlineSpec {
    /// The bar interval (`1m`, `1h`, ...).
    pub interval: BarInterval,
    /// Stream klines or trade-built bars.
    pub source: KlineSource,
}

impl KlineSpec {
    /// The stream suffix this spec needs for every symbol (`kline_1m` or `trade`).
    pub fn stream_suffix(&self) -> String {
        match self.source {
            KlineSource::Stream => format!("kline_{}", self.interval.as_str()),
            KlineSource::Trades => "trade".to_string(),
        }
    }
}

/// Sizes of each symbol's [`crate::feed::book::LocalBook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookSizes {
    /// Ticks of the dense window (rounded up to a power of two by the book).
    pub window_ticks: u32,
    /// Levels outside the window per side.
    pub overflow_capacity: usize,
    /// Diffs buffered while waiting for a snapshot.
    pub buffer_diffs: usize,
    /// Levels of the buffered diffs in all.
    pub buffer_levels: usize,
}

impl Default for BookSizes {
    /// The sizes `pinewire book-check` uses on the bundled BTCUSDT capture.
    fn default() -> BookSizes {
        BookSizes {
            window_ticks: 1 << 16,
            overflow_capacity: 8192,
            buffer_diffs: 4096,
            buffer_levels: 1 << 18,
        }
    }
}

/// Everything [`crate::feed::md::spawn`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    /// WebSocket base, e.g. `wss://stream.binance.com:9443` (a path is kept as a prefix of
    /// `/stream`).
    pub ws_url: String,
    /// REST base, e.g. `https://api.binance.com`.
    pub rest_url: String,
    /// Certificates trusted besides Mozilla's roots (the simulator's self-signed one).
    pub extra_roots: Vec<TrustedCert>,
    /// The symbols; handler calls and [`crate::feed::md::FeedHandle`] name a symbol by its
    /// index here.
    pub symbols: Vec<FeedSymbol>,
    /// Stream suffixes subscribed for every symbol: `depth@100ms`, `trade`, `bookTicker`,
    /// `aggTrade`, `kline_1m`, ...
    /// The `kline_<interval>` streams of [`FeedConfig::klines`]' `Stream` specs are added
    /// to these (see [`symbol_streams`]).
    pub streams: Vec<String>,
    /// One md thread per entry, pinned to that core; symbols are split across threads in
    /// contiguous blocks. Empty: one unpinned thread.
    pub md_cores: Vec<usize>,
    /// Poll with a zero timeout and never sleep (latency benches); off by default.
    pub busy_poll: bool,
    /// Streams per connection (Binance allows 1024); a thread's symbols are sharded over
    /// as many connections as needed, a symbol's streams always on one connection.
    pub max_streams_per_connection: usize,
    /// Streams named in the connection URL (`/stream?streams=a/b/c`, the preferred way);
    /// the rest of a connection's streams are sent as SUBSCRIBE messages after connect.
    pub url_streams_max: usize,
    /// Streams per SUBSCRIBE message.
    pub subscribe_batch: usize,
    /// Least time between SUBSCRIBE messages (Binance: at most 5 messages a second,
    /// pongs included; the default 250 ms leaves room for the pongs).
    pub subscribe_interval: Duration,
    /// `limit` of `GET /api/v3/depth` (1..=5000; the weight grows with it).
    pub snapshot_limit: u32,
    /// Reconnect backoff.
    pub backoff: BackoffConfig,
    /// Backoff between snapshot attempts for one symbol after a failed or unusable one.
    pub snapshot_backoff: BackoffConfig,
    /// TCP connect plus TLS and WebSocket handshakes must finish within this.
    pub connect_timeout: Duration,
    /// A connection silent this long (no data, no ping) is replaced.
    pub idle_timeout: Duration,
    /// Per-symbol book sizes.
    pub book: BookSizes,
    /// Frame size the per-symbol decoders are pre-sized for.
    pub max_frame_bytes: usize,
    /// How often each md thread hands a copy of its stats over.
    pub stats_interval: Duration,
    /// REST fetcher settings.
    pub rest: RestOptions,
    /// Bar series built for every symbol (empty: none). A `Stream` spec adds its
    /// `kline_<interval>` stream to every symbol's subscriptions; a `Trades` spec needs
    /// `trade` in [`FeedConfig::streams`].
    pub klines: Vec<KlineSpec>,
    /// How late a trade may arrive after its bar's close time (exchange clock) and still
    /// count: trade-built bars close on the clock only this long after the boundary, and a
    /// REST kline row counts as final only once its close time is this far behind the
    /// thread's exchange time estimate. Default 500 ms.
    pub kline_grace: Duration,
    /// Closed bars held per symbol and spec while a REST backfill is pending (preallocated;
    /// a bar that finds it full is dropped and re-fetched over REST, never lost).
    /// Default 64.
    pub kline_hold: usize,
}

impl FeedConfig {
    /// A configuration with the defaults: Binance's limits, 250 ms to 30 s backoff,
    /// snapshot limit 1000, one unpinned thread, no busy polling.
    pub fn new(
        ws_url: impl Into<String>,
        rest_url: impl Into<String>,
        symbols: Vec<FeedSymbol>,
        streams: Vec<String>,
    ) -> FeedConfig {
        FeedConfig {
            ws_url: ws_url.into(),
            rest_url: rest_url.into(),
            extra_roots: Vec::new(),
            symbols,
            streams,
            md_cores: Vec::new(),
            busy_poll: false,
            max_streams_per_connection: 1024,
            url_streams_max: 1024,
            subscribe_batch: 100,
            subscribe_interval: Duration::from_millis(250),
            snapshot_limit: 1000,
            backoff: BackoffConfig::default(),
            snapshot_backoff: BackoffConfig {
                base: Duration::from_millis(500),
                cap: Duration::from_secs(30),
                healthy_after: Duration::from_secs(60),
            },
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            book: BookSizes::default(),
            max_frame_bytes: crate::feed::binance::DEFAULT_MAX_FRAME_BYTES,
            stats_interval: Duration::from_secs(1),
            rest: RestOptions::default(),
            klines: Vec::new(),
            kline_grace: Duration::from_millis(500),
            kline_hold: 64,
        }
    }
}

/// Why the feed could not start.
#[derive(Debug, Error)]
pub enum FeedError {
    /// A URL was refused.
    #[error("feed config: {0}")]
    Url(#[from] UrlError),
    /// The TLS configuration could not be built.
    #[error("feed config: {0}")]
    Tls(#[from] TlsError),
    /// Another configuration problem, said in words.
    #[error("feed config: {0}")]
    Config(String),
    /// A thread, poll or socket could not be created.
    #[error("feed start: {0}")]
    Start(String),
}

/// One connection of a thread: its symbols (indices into the config) and what to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnPlan {
    /// Global connection number (handler `conn` argument).
    pub conn: usize,
    /// Config indices of the symbols on this connection.
    pub symbols: Vec<usize>,
    /// Path and query under the WebSocket base.
    pub path: String,
    /// SUBSCRIBE messages, one inner `Vec` each.
    pub subscribe: Vec<Vec<String>>,
}

/// One md thread: its core and connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadPlan {
    /// Thread number.
    pub thread: usize,
    /// Core to pin to.
    pub core: Option<usize>,
    /// Config indices of the thread's symbols.
    pub symbols: Vec<usize>,
    /// The thread's connections.
    pub conns: Vec<ConnPlan>,
}

/// Checks the configuration and splits it into threads and connections.
pub fn plan(config: &FeedConfig) -> Result<Vec<ThreadPlan>, FeedError> {
    let bad = |s: String| Err(FeedError::Config(s));
    if config.symbols.is_empty() {
        return bad("no symbols".into());
    }
    let streams = symbol_streams(config)?;
    if streams.is_empty() {
        return bad("no streams (e.g. \"depth@100ms\", \"trade\")".into());
    }
    let mut seen = std::collections::HashSet::new();
    for (i, s) in config.symbols.iter().enumerate() {
        if s.name.is_empty() || !s.name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return bad(format!(
                "symbol #{i} `{}`: a symbol is letters and digits only (BTCUSDT)",
                s.name
            ));
        }
        if !seen.insert(s.name.to_ascii_uppercase()) {
            return bad(format!("symbol `{}` is listed twice", s.name));
        }
    }
    for s in &config.streams {
        if s.is_empty()
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'@' || b == b'_')
        {
            return bad(format!(
                "stream suffix `{s}`: letters, digits, `@` and `_` only (depth@100ms, kline_1m)"
            ));
        }
    }
    let per_symbol = streams.len();
    if config.max_streams_per_connection < per_symbol {
        return bad(format!(
            "max_streams_per_connection {} is below the {per_symbol} streams of one symbol",
            config.max_streams_per_connection
        ));
    }
    if config.subscribe_batch == 0 {
        return bad("subscribe_batch must be at least 1".into());
    }
    if !(1..=5000).contains(&config.snapshot_limit) {
        return bad(format!(
            "snapshot_limit {} is outside 1..=5000",
            config.snapshot_limit
        ));
    }
    let n = config.symbols.len();
    let threads = config.md_cores.len().max(1).min(n);
    let per_conn = config.max_streams_per_connection / per_symbol;
    let mut plans = Vec::with_capacity(threads);
    let mut conn_no = 0;
    for t in 0..threads {
        let symbols: Vec<usize> = (t * n / threads..(t + 1) * n / threads).collect();
        let mut conns = Vec::new();
        for chunk in symbols.chunks(per_conn) {
            let streams: Vec<String> = chunk
                .iter()
                .flat_map(|&s| {
                    let lower = config.symbols[s].name.to_ascii_lowercase();
                    streams.iter().map(move |x| format!("{lower}@{x}"))
                })
                .collect();
            let in_url = streams.len().min(config.url_streams_max);
            let path = if in_url == 0 {
                "/stream".to_string()
            } else {
                format!("/stream?streams={}", streams[..in_url].join("/"))
            };
            let subscribe = streams[in_url..]
                .chunks(config.subscribe_batch)
                .map(<[String]>::to_vec)
                .collect();
            conns.push(ConnPlan {
                conn: conn_no,
                symbols: chunk.to_vec(),
                path,
                subscribe,
            });
            conn_no += 1;
        }
        plans.push(ThreadPlan {
            thread: t,
            core: config.md_cores.get(t).copied(),
            symbols,
            conns,
        });
    }
    Ok(plans)
}

/// The stream suffixes every symbol subscribes to: [`FeedConfig::streams`] followed by
/// the `kline_<interval>` stream of each `Stream` kline spec not already listed. Refuses
/// kline specs that cannot work: a `Trades` spec without `trade` in the streams, the same
/// spec twice, a zero `kline_hold`.
pub fn symbol_streams(config: &FeedConfig) -> Result<Vec<String>, FeedError> {
    let mut streams = config.streams.clone();
    for (i, spec) in config.klines.iter().enumerate() {
        if config.klines[..i].contains(spec) {
            return Err(FeedError::Config(format!(
                "kline spec #{i} ({} from {:?}) is listed twice",
                spec.interval, spec.source
            )));
        }
        let suffix = spec.stream_suffix();
        match spec.source {
            KlineSource::Trades if !config.streams.contains(&suffix) => {
                return Err(FeedError::Config(format!(
                    "kline spec #{i} builds {} bars from trades: add \"trade\" to the streams",
                    spec.interval
                )));
            }
            KlineSource::Stream if !streams.contains(&suffix) => streams.push(suffix),
            _ => {}
        }
    }
    if !config.klines.is_empty() && config.kline_hold == 0 {
        return Err(FeedError::Config(
            "kline_hold must be at least 1 when klines are configured".into(),
        ));
    }
    Ok(streams)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str) -> FeedSymbol {
        FeedSymbol {
            name: name.to_string(),
            tick: Increment::parse("0.01").expect("tick"),
            step: Increment::parse("0.001").expect("step"),
        }
    }

    fn config(symbols: &[&str], streams: &[&str]) -> FeedConfig {
        FeedConfig::new(
            "ws://h:1",
            "http://h:2",
            symbols.iter().map(|s| sym(s)).collect(),
            streams.iter().map(|s| s.to_string()).collect(),
        )
    }

    #[test]
    fn plans() {
        // TC0: defaults: one thread, one connection, every stream in the URL
        let c = config(&["BTCUSDT", "ETHUSDT"], &["depth@100ms", "trade"]);
        let p = plan(&c).expect("TC0");
        assert_eq!(p.len(), 1, "TC0");
        assert_eq!(
            p[0].conns,
            vec![ConnPlan {
                conn: 0,
                symbols: vec![0, 1],
                path: "/stream?streams=btcusdt@depth@100ms/btcusdt@trade/ethusdt@depth@100ms/ethusdt@trade".into(),
                subscribe: vec![],
            }],
            "TC0"
        );
        // TC1: two cores, three symbols: blocks of 1 and 2, pinned; connections numbered globally
        let mut c = config(&["A", "B", "C"], &["trade"]);
        c.md_cores = vec![3, 5];
        let p = plan(&c).expect("TC1");
        assert_eq!(
            p.iter()
                .map(|t| (t.core, t.symbols.clone()))
                .collect::<Vec<_>>(),
            vec![(Some(3), vec![0]), (Some(5), vec![1, 2])],
            "TC1"
        );
        assert_eq!(p[1].conns[0].conn, 1, "TC1");
        // TC2: more cores than symbols: one thread per symbol
        let mut c = config(&["A"], &["trade"]);
        c.md_cores = vec![1, 2, 3];
        assert_eq!(plan(&c).expect("TC2").len(), 1, "TC2");
        // TC3: sharding: 2 streams a symbol, 5 streams a connection -> 2 symbols a connection
        let mut c = config(&["A", "B", "C", "D", "E"], &["trade", "bookTicker"]);
        c.max_streams_per_connection = 5;
        let p = plan(&c).expect("TC3");
        let shards: Vec<_> = p[0].conns.iter().map(|c| c.symbols.clone()).collect();
        assert_eq!(shards, vec![vec![0, 1], vec![2, 3], vec![4]], "TC3");
        // TC4: URL holds 1 stream, the rest go in SUBSCRIBE batches of 2
        let mut c = config(&["A", "B"], &["trade", "bookTicker"]);
        c.url_streams_max = 1;
        c.subscribe_batch = 2;
        let p = plan(&c).expect("TC4");
        assert_eq!(p[0].conns[0].path, "/stream?streams=a@trade", "TC4");
        assert_eq!(
            p[0].conns[0].subscribe,
            vec![
                vec!["a@bookTicker".to_string(), "b@trade".to_string()],
                vec!["b@bookTicker".to_string()]
            ],
            "TC4"
        );
        // TC5: nothing in the URL: bare /stream
        c.url_streams_max = 0;
        assert_eq!(plan(&c).expect("TC5")[0].conns[0].path, "/stream", "TC5");
        // TC6: a Stream kline spec adds its stream; a Trades spec uses the trade stream
        let mut c = config(&["BTCUSDT"], &["trade"]);
        c.klines = vec![
            spec("1m", KlineSource::Stream),
            spec("1m", KlineSource::Trades),
        ];
        assert_eq!(
            plan(&c).expect("TC6")[0].conns[0].path,
            "/stream?streams=btcusdt@trade/btcusdt@kline_1m",
            "TC6"
        );
        // TC7: a kline stream already listed is not subscribed twice; Stream specs alone
        // are enough streams
        let mut c = config(&["BTCUSDT"], &["kline_1m"]);
        c.klines = vec![spec("1m", KlineSource::Stream)];
        assert_eq!(
            plan(&c).expect("TC7")[0].conns[0].path,
            "/stream?streams=btcusdt@kline_1m",
            "TC7"
        );
        let mut c = config(&["BTCUSDT"], &[]);
        c.klines = vec![spec("1h", KlineSource::Stream)];
        assert_eq!(
            plan(&c).expect("TC7")[0].conns[0].path,
            "/stream?streams=btcusdt@kline_1h",
            "TC7"
        );
    }

    fn spec(interval: &str, source: KlineSource) -> KlineSpec {
        KlineSpec {
            interval: BarInterval::parse(interval).expect("interval"),
            source,
        }
    }

    #[test]
    fn refused_configs() {
        let cases: Vec<(FeedConfig, &str)> = vec![
            // TC0
            (config(&[], &["trade"]), "no symbols"),
            // TC1
            (config(&["A"], &[]), "no streams"),
            // TC2
            (config(&["BTC/USDT"], &["trade"]), "letters and digits"),
            // TC3
            (config(&["A", "a"], &["trade"]), "listed twice"),
            // TC4
            (config(&["A"], &["tr ade"]), "stream suffix"),
            // TC5
            (
                {
                    let mut c = config(&["A"], &["trade", "depth"]);
                    c.max_streams_per_connection = 1;
                    c
                },
                "max_streams_per_connection",
            ),
            // TC6
            (
                {
                    let mut c = config(&["A"], &["trade"]);
                    c.snapshot_limit = 0;
                    c
                },
                "snapshot_limit",
            ),
            // TC7: trade-built bars without the trade stream
            (
                {
                    let mut c = config(&["A"], &["depth@100ms"]);
                    c.klines = vec![spec("1m", KlineSource::Trades)];
                    c
                },
                "add \"trade\" to the streams",
            ),
            // TC8: the same spec twice
            (
                {
                    let mut c = config(&["A"], &["trade"]);
                    c.klines = vec![spec("5m", KlineSource::Stream); 2];
                    c
                },
                "listed twice",
            ),
            // TC9: no room to hold bars
            (
                {
                    let mut c = config(&["A"], &["trade"]);
                    c.klines = vec![spec("5m", KlineSource::Stream)];
                    c.kline_hold = 0;
                    c
                },
                "kline_hold",
            ),
        ];
        for (i, (c, want)) in cases.iter().enumerate() {
            let err = plan(c).expect_err("refused").to_string();
            assert!(err.contains(want), "TC{i}: {err}");
        }
    }
}
