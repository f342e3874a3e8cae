//! The REST fetcher: a helper thread (not a hot thread) that serves one market-data
//! thread. The md thread sends requests over a crossbeam channel, each a symbol and a
//! [`RestQuery`]: a depth snapshot (`GET {rest}/api/v3/depth?symbol=X&limit=N`) or a
//! kline backfill (`GET {rest}/api/v3/klines?symbol=X&interval=I&startTime=S&limit=N`).
//! The helper hands the body back over a second channel and wakes the md thread's
//! `mio::Poll` through its [`mio::Waker`], so the md thread never polls for it and never
//! blocks. [`parse_kline_rows`] reads a klines body into [`Bar`]s without allocating.
//!
//! The HTTP client is a minimal HTTP/1.1 client of its own (keep-alive, `Content-Length`
//! and chunked bodies) over std `TcpStream` and `rustls::StreamOwned`, not ureq: ureq 3
//! with `rustls-no-provider` takes either its own root list or a list of certificates,
//! not a `rustls::ClientConfig`, and without its `rustls-webpki-roots` feature it cannot
//! combine Mozilla's roots with the simulator's self-signed certificate. Here the very
//! same `ClientConfig` as the WebSocket connections is used.
//!
//! Rate limits (Binance REQUEST_WEIGHT): every response's `X-MBX-USED-WEIGHT-1M` is kept;
//! a request that would go over `weight_limit_1m` waits for the next minute; 429 waits
//! `Retry-After` and retries (at most `max_attempts` times); 418 (IP banned) fails every
//! request until `Retry-After` has passed.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use thiserror::Error;

use crate::feed::fixed::{parse_units, FixedError, Increment};
use crate::feed::kline_builder::{parse_quote_volume, Bar, BarInterval};
use crate::feed::ws::tls;
use crate::feed::ws::url::Endpoint;

/// Largest response body accepted (a 5000-level snapshot is about 350 KB).
const MAX_BODY_BYTES: usize = 16 << 20;
/// Largest status line plus headers accepted.
const MAX_HEAD_BYTES: usize = 64 << 10;

/// Why a snapshot could not be fetched. Cloneable so that one failure can be reported for
/// several symbols.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RestError {
    /// Connecting, writing or reading failed (including timeouts).
    #[error("REST I/O: {0}")]
    Io(String),
    /// The server's answer was not valid HTTP/1.1.
    #[error("REST protocol error: {0}")]
    Protocol(String),
    /// 429 on every attempt: back off at least `retry_after`.
    #[error("REST rate limit hit (429); retry after {retry_after:?}")]
    Throttled {
        /// The server's `Retry-After`.
        retry_after: Duration,
    },
    /// 418: the IP is banned until `retry_after` has passed; requests fail until then.
    #[error("REST IP ban (418); retry after {retry_after:?}")]
    Banned {
        /// Time left on the ban.
        retry_after: Duration,
    },
    /// Any other non-200 status, with the start of the body (Binance's `{"code":..,"msg":..}`).
    #[error("REST status {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// Up to 200 bytes of the body, lossily decoded.
        body: String,
    },
    /// The fetcher is stopping.
    #[error("snapshot fetcher stopped")]
    Stopped,
}

impl RestError {
    /// The least time to wait before asking again (zero when the server named none).
    pub fn retry_after(&self) -> Duration {
        match self {
            RestError::Throttled { retry_after } | RestError::Banned { retry_after } => {
                *retry_after
            }
            _ => Duration::ZERO,
        }
    }
}

/// One HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (give it in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

enum HttpStream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for HttpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            HttpStream::Plain(s) => s.read(buf),
            HttpStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for HttpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            HttpStream::Plain(s) => s.write(buf),
            HttpStream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            HttpStream::Plain(s) => s.flush(),
            HttpStream::Tls(s) => s.flush(),
        }
    }
}

/// A blocking HTTP/1.1 GET client with one keep-alive connection, for the helper thread.
pub struct HttpClient {
    endpoint: Endpoint,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    timeout: Duration,
    conn: Option<BufReader<HttpStream>>,
}

impl HttpClient {
    /// A client for `base` (`http://` or `https://`; `tls` is required for https).
    pub fn new(
        base: Endpoint,
        tls_config: Option<Arc<ClientConfig>>,
        timeout: Duration,
    ) -> Result<HttpClient, RestError> {
        if base.scheme.is_websocket() {
            return Err(RestError::Protocol(format!(
                "`{}` is not an http(s) URL",
                base.url_for("")
            )));
        }
        let tls = if base.scheme.is_tls() {
            let cfg = tls_config
                .ok_or_else(|| RestError::Protocol("https needs a TLS configuration".into()))?;
            let name =
                tls::server_name(&base.host).map_err(|e| RestError::Protocol(e.to_string()))?;
            Some((cfg, name))
        } else {
            None
        };
        Ok(HttpClient {
            endpoint: base,
            tls,
            timeout,
            conn: None,
        })
    }

    fn open(&self) -> Result<BufReader<HttpStream>, RestError> {
        let addrs: Vec<SocketAddr> = (self.endpoint.host.as_str(), self.endpoint.port)
            .to_socket_addrs()
            .map_err(|e| RestError::Io(format!("resolve {}: {e}", self.endpoint.host)))?
            .collect();
        let mut last = RestError::Io(format!("{} resolves to no address", self.endpoint.host));
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(tcp) => {
                    let setup = |tcp: &TcpStream| -> io::Result<()> {
                        tcp.set_read_timeout(Some(self.timeout))?;
                        tcp.set_write_timeout(Some(self.timeout))?;
                        tcp.set_nodelay(true)
                    };
                    setup(&tcp).map_err(|e| RestError::Io(format!("socket setup: {e}")))?;
                    let stream = match &self.tls {
                        None => HttpStream::Plain(tcp),
                        Some((cfg, name)) => {
                            let conn = ClientConnection::new(cfg.clone(), name.clone())
                                .map_err(|e| RestError::Io(format!("TLS setup: {e}")))?;
                            HttpStream::Tls(Box::new(StreamOwned::new(conn, tcp)))
                        }
                    };
                    return Ok(BufReader::with_capacity(64 << 10, stream));
                }
                Err(e) => last = RestError::Io(format!("connect to {addr}: {e}")),
            }
        }
        Err(last)
    }

    /// `GET {base}{path_and_query}`. A request on a reused keep-alive connection that fails
    /// before any answer is retried once on a fresh connection.
    pub fn get(&mut self, path_and_query: &str) -> Result<HttpResponse, RestError> {
        let reused = self.conn.is_some();
        match self.get_once(path_and_query) {
            Err(RestError::Io(_)) if reused => {
                self.conn = None;
                self.get_once(path_and_query)
            }
            r => r,
        }
    }

    fn get_once(&mut self, path_and_query: &str) -> Result<HttpResponse, RestError> {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => self.open()?,
        };
        let request = format!(
            "GET {}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: pinewire\r\nAccept: application/json\r\nConnection: keep-alive\r\n\r\n",
            self.endpoint.base_path(),
            path_and_query,
            self.endpoint.authority()
        );
        let io = |e: io::Error| RestError::Io(e.to_string());
        conn.get_mut().write_all(request.as_bytes()).map_err(io)?;
        conn.get_mut().flush().map_err(io)?;
        let (response, keep) = read_response(&mut conn)?;
        if keep {
            self.conn = Some(conn);
        }
        Ok(response)
    }
}

/// Reads one response; also says whether the connection may be reused.
fn read_response<R: BufRead>(r: &mut R) -> Result<(HttpResponse, bool), RestError> {
    let io = |e: io::Error| RestError::Io(e.to_string());
    let mut head = 0usize;
    let mut line = String::new();
    let mut read_line = |r: &mut R, line: &mut String| -> Result<(), RestError> {
        line.clear();
        let n = r.read_line(line).map_err(io)?;
        if n == 0 {
            return Err(RestError::Io(
                "connection closed before the response".into(),
            ));
        }
        head += n;
        if head > MAX_HEAD_BYTES {
            return Err(RestError::Protocol("response head over 64 KiB".into()));
        }
        Ok(())
    };
    read_line(r, &mut line)?;
    let status_line = line.trim_end();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(RestError::Protocol(format!(
            "bad status line `{status_line}`"
        )));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| RestError::Protocol(format!("bad status line `{status_line}`")))?;
    let mut keep = version == "HTTP/1.1";
    let mut headers = Vec::new();
    loop {
        read_line(r, &mut line)?;
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        let (name, value) = l
            .split_once(':')
            .ok_or_else(|| RestError::Protocol(format!("bad header line `{l}`")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    match find("connection") {
        Some(v) if v.eq_ignore_ascii_case("close") => keep = false,
        Some(v) if v.eq_ignore_ascii_case("keep-alive") => keep = true,
        _ => {}
    }
    let chunked =
        find("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = match find("content-length") {
        Some(v) => Some(
            v.parse::<usize>()
                .map_err(|_| RestError::Protocol(format!("bad Content-Length `{v}`")))?,
        ),
        None => None,
    };
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line).map_err(io)?;
            let size_text = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| RestError::Protocol(format!("bad chunk size `{size_text}`")))?;
            if body.len() + size > MAX_BODY_BYTES {
                return Err(RestError::Protocol("response body over 16 MiB".into()));
            }
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    line.clear();
                    let n = r.read_line(&mut line).map_err(io)?;
                    if n == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..]).map_err(io)?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).map_err(io)?;
            if &crlf != b"\r\n" {
                return Err(RestError::Protocol("chunk not followed by CRLF".into()));
            }
        }
    } else if let Some(n) = length {
        if n > MAX_BODY_BYTES {
            return Err(RestError::Protocol("response body over 16 MiB".into()));
        }
        body.resize(n, 0);
        r.read_exact(&mut body).map_err(io)?;
    } else {
        r.take(MAX_BODY_BYTES as u64 + 1)
            .read_to_end(&mut body)
            .map_err(io)?;
        if body.len() > MAX_BODY_BYTES {
            return Err(RestError::Protocol("response body over 16 MiB".into()));
        }
        keep = false;
    }
    Ok((
        HttpResponse {
            status,
            headers,
            body,
        },
        keep,
    ))
}

/// Binance's REQUEST_WEIGHT of `GET /api/v3/depth` for a given `limit`.
pub fn depth_weight(limit: u32) -> u64 {
    match limit {
        0..=100 => 5,
        101..=500 => 25,
        501..=1000 => 50,
        _ => 250,
    }
}

/// Binance's REQUEST_WEIGHT of `GET /api/v3/klines` (any `limit`).
pub const KLINES_WEIGHT: u64 = 2;

/// What a [`SnapshotRequest`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestQuery {
    /// `GET /api/v3/depth?symbol=X&limit=N`: levels per side (5, 10, 20, 50, 100, 500,
    /// 1000 or 5000).
    Depth {
        /// `limit`.
        limit: u32,
    },
    /// `GET /api/v3/klines?symbol=X&interval=I&startTime=S&limit=N` (weight 2): the bars
    /// opening at or after `start_ms`, oldest first, the open one included.
    Klines {
        /// The caller's tag (its kline spec index), echoed in the reply.
        spec: usize,
        /// `interval`.
        interval: BarInterval,
        /// `startTime`, Unix ms.
        start_ms: u64,
        /// `limit` (1..=1000).
        limit: u32,
    },
}

impl RestQuery {
    /// Binance's REQUEST_WEIGHT of this request.
    pub fn weight(&self) -> u64 {
        match *self {
            RestQuery::Depth { limit } => depth_weight(limit),
            RestQuery::Klines { .. } => KLINES_WEIGHT,
        }
    }

    /// The path and query for `symbol` (allocates: once per request, on the helper
    /// thread).
    fn path(&self, symbol: &str) -> String {
        match *self {
            RestQuery::Depth { limit } => format!("/api/v3/depth?symbol={symbol}&limit={limit}"),
            RestQuery::Klines {
                interval,
                start_ms,
                limit,
                ..
            } => format!(
                "/api/v3/klines?symbol={symbol}&interval={}&startTime={start_ms}&limit={limit}",
                interval.as_str()
            ),
        }
    }
}

/// A request from the md thread: the symbol's index in the fetcher's name table and what
/// to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotRequest {
    /// Index into the names given to [`SnapshotFetcher::spawn`].
    pub symbol: usize,
    /// What to fetch.
    pub query: RestQuery,
}

/// The answer to one [`SnapshotRequest`].
#[derive(Debug)]
pub struct SnapshotReply {
    /// As in the request.
    pub symbol: usize,
    /// As in the request.
    pub query: RestQuery,
    /// The body of a 200 answer, or why there is none.
    pub result: Result<Vec<u8>, RestError>,
}

/// Settings of the fetcher thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestOptions {
    /// Connect, read and write timeout.
    pub timeout: Duration,
    /// REQUEST_WEIGHT allowed a minute (Binance: 6000).
    pub weight_limit_1m: u64,
    /// Tries on 429 before failing the request.
    pub max_attempts: u32,
}

impl Default for RestOptions {
    /// 10 s timeout, 6000 weight a minute, 3 attempts.
    fn default() -> RestOptions {
        RestOptions {
            timeout: Duration::from_secs(10),
            weight_limit_1m: 6000,
            max_attempts: 3,
        }
    }
}

/// Counters of a fetcher, readable from any thread.
#[derive(Debug, Default)]
pub struct RestCounters {
    requests: AtomicU64,
    ok: AtomicU64,
    failed: AtomicU64,
    throttled: AtomicU64,
    banned: AtomicU64,
    used_weight_1m: AtomicU64,
    weight_waits: AtomicU64,
}

/// A copy of [`RestCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestStats {
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// Answers delivered (depth snapshots and kline pages).
    pub ok: u64,
    /// Requests answered with an error.
    pub failed: u64,
    /// 429 answers.
    pub throttled: u64,
    /// 418 answers.
    pub banned: u64,
    /// The last `X-MBX-USED-WEIGHT-1M` seen.
    pub used_weight_1m: u64,
    /// Times a request waited for the next minute to stay under the weight limit.
    pub weight_waits: u64,
}

impl RestCounters {
    /// A consistent-enough copy (each counter read once).
    pub fn snapshot(&self) -> RestStats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RestStats {
            requests: l(&self.requests),
            ok: l(&self.ok),
            failed: l(&self.failed),
            throttled: l(&self.throttled),
            banned: l(&self.banned),
            used_weight_1m: l(&self.used_weight_1m),
            weight_waits: l(&self.weight_waits),
        }
    }
}

/// The md thread's handle on its fetcher thread. Dropping it stops and joins the thread.
pub struct SnapshotFetcher {
    requests: Option<Sender<SnapshotRequest>>,
    counters: Arc<RestCounters>,
    stop: Arc<AtomicBool>,
    join: Option<JoinHandle<()>>,
}

impl SnapshotFetcher {
    /// Starts the fetcher thread for `base` (`http(s)://host[:port]`). `names` are the
    /// symbols (`BTCUSDT`) that request indices refer to. Every reply is sent on
    /// `replies` and followed by `waker.wake()`.
    pub fn spawn(
        base: Endpoint,
        tls_config: Option<Arc<ClientConfig>>,
        names: Vec<String>,
        replies: Sender<SnapshotReply>,
        waker: Arc<mio::Waker>,
        options: RestOptions,
        thread_name: String,
    ) -> Result<SnapshotFetcher, RestError> {
        let client = HttpClient::new(base, tls_config, options.timeout)?;
        let (tx, rx) = crossbeam_channel::unbounded();
        let counters = Arc::new(RestCounters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            client,
            names,
            rx,
            replies,
            waker,
            options,
            counters: counters.clone(),
            stop: stop.clone(),
            banned_until: None,
            weight_minute: 0,
        };
        let join = std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || worker.run())
            .map_err(|e| RestError::Io(format!("spawn the snapshot thread: {e}")))?;
        Ok(SnapshotFetcher {
            requests: Some(tx),
            counters,
            stop,
            join: Some(join),
        })
    }

    /// Queues a request; false when the thread is gone. Never blocks.
    pub fn request(&self, request: SnapshotRequest) -> bool {
        self.requests
            .as_ref()
            .is_some_and(|tx| tx.send(request).is_ok())
    }

    /// The fetcher's counters.
    pub fn stats(&self) -> RestStats {
        self.counters.snapshot()
    }

    /// Stops the thread (after the request in flight, whose own timeout bounds the wait)
    /// and joins it.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.requests = None;
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

impl Drop for SnapshotFetcher {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Worker {
    client: HttpClient,
    names: Vec<String>,
    rx: Receiver<SnapshotRequest>,
    replies: Sender<SnapshotReply>,
    waker: Arc<mio::Waker>,
    options: RestOptions,
    counters: Arc<RestCounters>,
    stop: Arc<AtomicBool>,
    banned_until: Option<Instant>,
    /// The wall-clock minute (Unix minutes) the last used-weight header belongs to.
    weight_minute: u64,
}

fn unix_minute() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 60)
        .unwrap_or(0)
}

impl Worker {
    fn run(mut self) {
        loop {
            let request = match self.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(r) => r,
                Err(RecvTimeoutError::Timeout) => {
                    if self.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let result = self.fetch(request);
            match &result {
                Ok(_) => self.counters.ok.fetch_add(1, Ordering::Relaxed),
                Err(_) => self.counters.failed.fetch_add(1, Ordering::Relaxed),
            };
            let reply = SnapshotReply {
                symbol: request.symbol,
                query: request.query,
                result,
            };
            if self.replies.send(reply).is_err() {
                return;
            }
            // A failed wake means the md thread's Poll is gone: it is stopping.
            let _ = self.waker.wake();
        }
    }

    /// Sleeps up to `d` in short steps; false when asked to stop meanwhile.
    fn sleep(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }

    fn fetch(&mut self, request: SnapshotRequest) -> Result<Vec<u8>, RestError> {
        let name = self
            .names
            .get(request.symbol)
            .ok_or_else(|| RestError::Protocol(format!("unknown symbol index {}", request.symbol)))?
            .clone();
        if let Some(until) = self.banned_until {
            let now = Instant::now();
            if now < until {
                return Err(RestError::Banned {
                    retry_after: until - now,
                });
            }
            self.banned_until = None;
        }
        let cost = request.query.weight();
        let used = self.counters.used_weight_1m.load(Ordering::Relaxed);
        if self.weight_minute == unix_minute() && used + cost > self.options.weight_limit_1m {
            self.counters.weight_waits.fetch_add(1, Ordering::Relaxed);
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            let to_next_minute = 60.0 - secs % 60.0;
            if !self.sleep(Duration::from_secs_f64(to_next_minute.max(0.0) + 0.05)) {
                return Err(RestError::Stopped);
            }
        }
        let path = request.query.path(&name);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let response = self.client.get(&path)?;
            if let Some(w) = response
                .header("x-mbx-used-weight-1m")
                .and_then(|v| v.parse::<u64>().ok())
            {
                self.counters.used_weight_1m.store(w, Ordering::Relaxed);
                self.weight_minute = unix_minute();
            }
            let retry_after = response
                .header("retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_secs);
            match response.status {
                200 => return Ok(response.body),
                429 => {
                    self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                    let wait = retry_after.unwrap_or(Duration::from_secs(1));
                    if attempt >= self.options.max_attempts {
                        return Err(RestError::Throttled { retry_after: wait });
                    }
                    if !self.sleep(wait) {
                        return Err(RestError::Stopped);
                    }
                }
                418 => {
                    self.counters.banned.fetch_add(1, Ordering::Relaxed);
                    let wait = retry_after.unwrap_or(Duration::from_secs(60));
                    self.banned_until = Some(Instant::now() + wait);
                    return Err(RestError::Banned { retry_after: wait });
                }
                status => {
                    let n = response.body.len().min(200);
                    return Err(RestError::Status {
                        status,
                        body: String::from_utf8_lossy(&response.body[..n]).into_owned(),
                    });
                }
            }
        }
    }
}

/// Why a `GET /api/v3/klines` body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum KlineRowsError {
    /// The body is not an array of 12-element arrays of numbers and plain strings.
    #[error("klines body: malformed JSON at byte {0}")]
    Malformed(usize),
    /// Row `row`, field `field` (0-based, Binance's order) is not a valid value.
    #[error("klines body: row {row}, field {field}: {error}")]
    Field {
        /// 0-based row.
        row: usize,
        /// 0-based field.
        field: usize,
        /// What was wrong.
        error: FixedError,
    },
    /// Row `row`'s open or close time is not a bar of the interval asked for.
    #[error("klines body: row {0} is not aligned to the interval")]
    Misaligned(usize),
}

/// Reads a `GET /api/v3/klines` body, Binance's documented shape:
///
/// ```text
/// [
///   [
///     1499040000000,      // Kline open time
///     "0.01634790",       // Open price
///     "0.80000000",       // High price
///     "0.01575800",       // Low price
///     "0.01577100",       // Close price
///     "148976.11427815",  // Volume
///     1499644799999,      // Kline Close time
///     "2434.19055334",    // Quote asset volume
///     308,                // Number of trades
///     "1756.87402397",    // Taker buy base asset volume
///     "28.46694368",      // Taker buy quote asset volume
///     "0"                 // Unused field, ignore.
///   ]
/// ]
/// ```
///
/// Calls `row` with each row as a [`Bar`] in the symbol's ticks and lots (quote volumes
/// exact in tick × lot units), in body order. The rows carry no trade ids: `f` and `L`
/// are -1 (whatever `n` says); `closed` is false, since the body does not say which row is
/// still open. Each row must be a bar of `interval`. Stops at the first error (rows
/// before it were already passed on: parse once with a no-op callback to validate).
/// Allocation-free.
pub fn parse_kline_rows(
    body: &[u8],
    interval: BarInterval,
    tick: Increment,
    step: Increment,
    mut row: impl FnMut(Bar),
) -> Result<usize, KlineRowsError> {
    let mut c = Cursor { s: body, i: 0 };
    c.expect(b'[')?;
    let mut n = 0usize;
    if c.peek() == Some(b']') {
        c.i += 1;
        return c.end().map(|()| 0);
    }
    loop {
        c.expect(b'[')?;
        let mut fields: [&[u8]; 12] = [&[]; 12];
        for (k, f) in fields.iter_mut().enumerate() {
            if k > 0 {
                c.expect(b',')?;
            }
            *f = c.scalar()?;
        }
        c.expect(b']')?;
        let field = |k: usize| {
            move |error: FixedError| KlineRowsError::Field {
                row: n,
                field: k,
                error,
            }
        };
        let int = |k: usize, text: &[u8]| -> Result<u64, KlineRowsError> {
            lexical_core::parse::<u64>(text).map_err(|_| field(k)(FixedError::Invalid))
        };
        let units = |k: usize, inc: Increment| parse_units(fields[k], inc).map_err(field(k));
        let quote = |k: usize| {
            let text = std::str::from_utf8(fields[k]).map_err(|_| field(k)(FixedError::Invalid))?;
            parse_quote_volume(text, tick, step).map_err(field(k))
        };
        let open_ms = int(0, fields[0])?;
        let close_ms = int(6, fields[6])?;
        if interval.open_time_ms(open_ms) != Some(open_ms)
            || interval.close_time_ms(open_ms) != Some(close_ms)
        {
            return Err(KlineRowsError::Misaligned(n));
        }
        row(Bar {
            open_time_ms: open_ms,
            close_time_ms: close_ms,
            first_trade_id: -1,
            last_trade_id: -1,
            open_ticks: units(1, tick)?,
            high_ticks: units(2, tick)?,
            low_ticks: units(3, tick)?,
            close_ticks: units(4, tick)?,
            volume_lots: units(5, step)?,
            quote_volume: quote(7)?,
            trade_count: int(8, fields[8])?,
            taker_buy_volume_lots: units(9, step)?,
            taker_buy_quote_volume: quote(10)?,
            closed: false,
        });
        n += 1;
        match c.next_token()? {
            b',' => continue,
            b']' => return c.end().map(|()| n),
            _ => return Err(KlineRowsError::Malformed(c.i - 1)),
        }
    }
}

/// A tiny JSON scanner for the klines body: whitespace, punctuation, numbers and strings
/// without escapes.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn next_token(&mut self) -> Result<u8, KlineRowsError> {
        let b = self.peek().ok_or(KlineRowsError::Malformed(self.i))?;
        self.i += 1;
        Ok(b)
    }

    fn expect(&mut self, want: u8) -> Result<(), KlineRowsError> {
        let at = self.i;
        if self.next_token()? == want {
            Ok(())
        } else {
            Err(KlineRowsError::Malformed(at))
        }
    }

    fn end(&mut self) -> Result<(), KlineRowsError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(KlineRowsError::Malformed(self.i)),
        }
    }

    /// A number (its text) or a string without escapes (its contents).
    fn scalar(&mut self) -> Result<&'a [u8], KlineRowsError> {
        let start = self.i;
        match self.peek() {
            Some(b'"') => {
                self.i += 1;
                let from = self.i;
                while let Some(&b) = self.s.get(self.i) {
                    match b {
                        b'"' => {
                            self.i += 1;
                            return Ok(&self.s[from..self.i - 1]);
                        }
                        b'\\' | 0..=0x1f => return Err(KlineRowsError::Malformed(self.i)),
                        _ => self.i += 1,
                    }
                }
                Err(KlineRowsError::Malformed(start))
            }
            Some(b'0'..=b'9' | b'-') => {
                let from = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|b| b.is_ascii_digit() || b"-+.eE".contains(b))
                {
                    self.i += 1;
                }
                Ok(&self.s[from..self.i])
            }
            _ => Err(KlineRowsError::Malformed(self.i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn response_parsing_table() {
        type Want = Result<(u16, &'static [u8], bool), ()>;
        let cases: &[(&str, Want)] = &[
            // TC0: Content-Length body, keep-alive by default on 1.1
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                Ok((200, b"hello", true)),
            ),
            // TC1: chunked body with an extension and a trailer
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
                Ok((200, b"abcde", true)),
            ),
            // TC2: Connection: close
            (
                "HTTP/1.1 429 Too Many\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                Ok((429, b"", false)),
            ),
            // TC3: no length: read to EOF, not reusable
            ("HTTP/1.0 200 OK\r\n\r\nrest", Ok((200, b"rest", false))),
            // TC4: not HTTP
            ("SSH-2.0\r\n\r\n", Err(())),
            // TC5: bad status code
            ("HTTP/1.1 abc OK\r\n\r\n", Err(())),
            // TC6: truncated body
            ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", Err(())),
            // TC7: bad chunk size
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", Err(())),
            // TC8: header without a colon
            ("HTTP/1.1 200 OK\r\nbroken\r\n\r\n", Err(())),
            // TC9: empty input
            ("", Err(())),
            // TC10: absurd Content-Length
            ("HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n", Err(())),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let mut r = Cursor::new(text.as_bytes().to_vec());
            let got = read_response(&mut r)
                .map(|(resp, keep)| (resp.status, resp.body, keep))
                .map_err(|_| ());
            let want = want.map(|(s, b, k)| (s, b.to_vec(), k));
            assert_eq!(got, want, "TC{i}");
        }
    }

    #[test]
    fn headers_are_found_case_insensitively() {
        let text = "HTTP/1.1 200 OK\r\nX-MBX-USED-WEIGHT-1M: 42\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n";
        let (resp, _) = read_response(&mut Cursor::new(text.as_bytes())).expect("parse");
        // TC0, TC1: lower-cased names
        assert_eq!(resp.header("x-mbx-used-weight-1m"), Some("42"), "TC0");
        assert_eq!(resp.header("retry-after"), Some("3"), "TC1");
        // TC2: absent
        assert_eq!(resp.header("x-none"), None, "TC2");
    }

    #[test]
    fn depth_weights() {
        // TC0..TC4: Binance's documented weights by limit
        let cases = [(5, 5), (100, 5), (500, 25), (1000, 50), (5000, 250)];
        for (i, (limit, want)) in cases.iter().enumerate() {
            assert_eq!(depth_weight(*limit), *want, "TC{i}");
        }
    }

    #[test]
    fn retry_after_of_errors() {
        let d = Duration::from_secs(2);
        // TC0..TC2
        assert_eq!(
            RestError::Throttled { retry_after: d }.retry_after(),
            d,
            "TC0"
        );
        assert_eq!(RestError::Banned { retry_after: d }.retry_after(), d, "TC1");
        assert_eq!(
            RestError::Io("x".into()).retry_after(),
            Duration::ZERO,
            "TC2"
        );
    }

    #[test]
    fn client_refuses_bad_bases() {
        // TC0: ws URL
        let ws = Endpoint::parse("ws://h").expect("url");
        assert!(
            HttpClient::new(ws, None, Duration::from_secs(1)).is_err(),
            "TC0"
        );
        // TC1: https without TLS config
        let https = Endpoint::parse("https://h").expect("url");
        assert!(
            HttpClient::new(https, None, Duration::from_secs(1)).is_err(),
            "TC1"
        );
    }

    #[test]
    fn query_paths_and_weights() {
        let m1 = BarInterval::parse("1m").expect("1m");
        let cases: &[(RestQuery, &str, u64)] = &[
            // TC0: depth, weight by limit
            (
                RestQuery::Depth { limit: 100 },
                "/api/v3/depth?symbol=BTCUSDT&limit=100",
                5,
            ),
            // TC1: klines backfill, weight 2
            (
                RestQuery::Klines {
                    spec: 3,
                    interval: m1,
                    start_ms: 1_704_067_200_000,
                    limit: 1000,
                },
                "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=1704067200000&limit=1000",
                2,
            ),
        ];
        for (i, (q, path, weight)) in cases.iter().enumerate() {
            assert_eq!(q.path("BTCUSDT"), *path, "TC{i}");
            assert_eq!(q.weight(), *weight, "TC{i}");
        }
    }

    #[test]
    fn kline_rows_table() {
        let m1 = BarInterval::parse("1m").expect("1m");
        let tick = Increment::parse("0.01").expect("tick");
        let step = Increment::parse("0.00001").expect("step");
        // Binance's documented row shape, with values on this tick/step grid.
        let row = r#"[1499040000000,"0.01000000","0.80000000","0.01000000","0.02000000","1.50000000",1499040059999,"0.30000000",308,"0.50000000","0.10000000","0"]"#;
        let first = Bar {
            open_time_ms: 1_499_040_000_000,
            close_time_ms: 1_499_040_059_999,
            first_trade_id: -1,
            last_trade_id: -1,
            open_ticks: 1,
            high_ticks: 80,
            low_ticks: 1,
            close_ticks: 2,
            volume_lots: 150_000,
            quote_volume: 3_000_000,
            trade_count: 308,
            taker_buy_volume_lots: 50_000,
            taker_buy_quote_volume: 1_000_000,
            closed: false,
        };
        let two = format!(
            " [ {row} ,\n{} ] ",
            row.replace("1499040000000", "1499040060000")
                .replace("1499040059999", "1499040119999")
        );
        type Want = Result<usize, fn(&KlineRowsError) -> bool>;
        let cases: Vec<(String, Want)> = vec![
            // TC0: one row
            (format!("[{row}]"), Ok(1)),
            // TC1: two rows with whitespace
            (two, Ok(2)),
            // TC2: empty array
            ("[]".into(), Ok(0)),
            // TC3: an error object instead of rows
            (
                r#"{"code":-1121,"msg":"Invalid symbol."}"#.into(),
                Err(|e| matches!(e, KlineRowsError::Malformed(0))),
            ),
            // TC4: 11 fields
            (
                r#"[[1499040000000,"1","1","1","1","1",1499040059999,"1",1,"1","1"]]"#.into(),
                Err(|e| matches!(e, KlineRowsError::Malformed(_))),
            ),
            // TC5: a price off the tick grid
            (
                format!("[{}]", row.replace("\"0.80000000\"", "\"0.80500000\"")),
                Err(|e| {
                    matches!(
                        e,
                        KlineRowsError::Field {
                            row: 0,
                            field: 2,
                            ..
                        }
                    )
                }),
            ),
            // TC6: close time of another interval
            (
                format!("[{}]", row.replace("1499040059999", "1499040299999")),
                Err(|e| matches!(e, KlineRowsError::Misaligned(0))),
            ),
            // TC7: trailing garbage
            (
                format!("[{row}]x"),
                Err(|e| matches!(e, KlineRowsError::Malformed(_))),
            ),
            // TC8: truncated
            (
                format!("[{row}"),
                Err(|e| matches!(e, KlineRowsError::Malformed(_))),
            ),
            // TC9: an escaped string
            (
                format!("[{}]", row.replace("\"0\"]", "\"\\u0030\"]")),
                Err(|e| matches!(e, KlineRowsError::Malformed(_))),
            ),
            // TC10: a negative trade count
            (
                format!("[{}]", row.replace(",308,", ",-3,")),
                Err(|e| matches!(e, KlineRowsError::Field { field: 8, .. })),
            ),
        ];
        for (i, (body, want)) in cases.iter().enumerate() {
            let mut bars = Vec::new();
            let got = parse_kline_rows(body.as_bytes(), m1, tick, step, |b| bars.push(b));
            match (got, want) {
                (Ok(n), Ok(w)) => {
                    assert_eq!(n, *w, "TC{i}");
                    assert_eq!(bars.len(), n, "TC{i}");
                    if n > 0 {
                        assert_eq!(bars[0], first, "TC{i}");
                    }
                    if n > 1 {
                        assert_eq!(bars[1].open_time_ms, 1_499_040_060_000, "TC{i}");
                    }
                }
                (Err(e), Err(check)) => assert!(check(&e), "TC{i}: {e}"),
                (got, _) => panic!("TC{i}: unexpected {got:?}"),
            }
        }
    }
}
