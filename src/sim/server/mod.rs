//! The simulator's server: Binance's market-data WebSocket streams and REST market-data
//! endpoints on one port, over plain TCP or TLS, fed by a [`MarketSource`], with fault
//! injection. Std threads only: one listener, one market thread, one thread per connection.
//! None of them is an engine hot thread.
//!
//! # What it speaks (Binance spot, as documented)
//!
//! * WebSocket: raw streams `/ws/<stream>` (also `/ws/<s1>/<s2>` and bare `/ws` followed by
//!   `SUBSCRIBE`), combined streams `/stream?streams=<s1>/<s2>` whose messages are wrapped
//!   as `{"stream":"<name>","data":<body>}`. Methods `SUBSCRIBE`, `UNSUBSCRIBE`,
//!   `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`/`GET_PROPERTY` (`combined`). Success is
//!   `{"result":..,"id":..}`. Errors: when the request's `id` could be read,
//!   `{"error":{"code":C,"msg":".."},"id":..}` (what Binance's servers send, e.g.
//!   `"Invalid request: invalid stream"`); when it could not (invalid JSON, bad id), the
//!   documented bare `{"code":C,"msg":".."}`. Codes: 0 unknown property, 1 expected
//!   Boolean, 2 invalid request, 3 invalid JSON.
//! * Connection rules: a Ping every `ping_interval` (20 s); only a Pong echoing an
//!   outstanding Ping's payload counts, and none within `pong_timeout` (60 s) closes the
//!   connection; at `max_age` (24 h) a Close frame; more than `max_incoming_per_sec` (5)
//!   incoming frames (text, ping, pong) in any second closes it (code 1008); more than
//!   `max_streams_per_conn` (1024) streams is refused with an error reply.
//! * REST (`GET`): `/api/v3/ping`, `/api/v3/time`, `/api/v3/exchangeInfo` (`symbol`,
//!   `symbols`), `/api/v3/depth`, `/api/v3/klines`, `/api/v3/trades`, with Binance's weights,
//!   a per-IP rolling one-minute weight counter reported in `X-MBX-USED-WEIGHT-1M` on every
//!   `/api` reply, 429 + `Retry-After` + code -1003 over the limit and 418 (banned) for an IP
//!   that keeps going, and Binance's error bodies (-1100, -1102, -1120, -1121, -1128, -1130).
//!
//! # Admin endpoint (not Binance; outside `/api` so that it cannot be mistaken for it)
//!
//! * `POST /sim/faults?<params>` (parameters in the query or as a form body) changes the
//!   faults at run time and answers the plan in force as JSON. Parameters: `seed=<u64>`,
//!   probabilities `drop`, `duplicate`, `reorder`, `delay`, `malformed` (0..=1),
//!   `delay_ms=<ms>`, `close_every_ms=<ms>` (0: never), and the actions `close_all=1`,
//!   `stall_ms=<ms>`, `refuse_conn_ms=<ms>`, `refuse_conn_next=<n>`, `refuse_rest_ms=<ms>`,
//!   `clear=1`. All or nothing: a bad parameter is a 400 and changes nothing.
//! * `GET /sim/faults`: the plan in force. `GET /sim/stats`: [`SimStats`] as JSON.
//!
//! # Pacing
//!
//! [`Speed::RealTime`] maps market time to wall time from the first step (`2.0` runs twice
//! as fast); a subscriber whose queue is full is too slow for real time and is closed
//! (counted in `slow_consumer_closes`), as a real exchange drops consumers that cannot keep
//! up. [`Speed::AsFastAsRead`] does not pace: the market steps only while some stream is
//! subscribed and waits while a subscriber's queue is full (backpressure; nothing is
//! dropped unless a fault says so). An exhausted market leaves connections open (pings go
//! on) and sets `market_exhausted`.

mod faults;
mod http;
mod market;
mod rest;
mod tls;
mod ws;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use faults::{FaultControl, FaultError, FaultPlan, Malformed, Prng};
pub use tls::SimCert;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::sim::source::{MarketSource, SymbolInfo};

use faults::Faults;
use http::{ReadError, Response};
use tls::Conn;

/// How market time maps to wall time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Market time runs this many times as fast as wall time (`1.0`: real time).
    RealTime(f64),
    /// No pacing: as fast as the slowest subscriber reads (backpressure).
    AsFastAsRead,
}

impl Speed {
    /// Parses the CLI's spelling: `max` or a positive multiple (`1`, `10`, `0.5`).
    pub fn parse(text: &str) -> Result<Speed> {
        if text.eq_ignore_ascii_case("max") {
            return Ok(Speed::AsFastAsRead);
        }
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(Speed::RealTime(x)),
            _ => bail!("speed `{text}`: expected `max` or a positive number such as 1 or 10"),
        }
    }
}

/// The simulator's settings; `Default` is Binance's documented behaviour on
/// `127.0.0.1:9443`, plain TCP, real time, no faults.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub bind: SocketAddr,
    /// Serve TLS (`wss://`, `https://`) with a certificate made at start.
    pub tls: bool,
    /// Market pacing.
    pub speed: Speed,
    /// A WebSocket Ping every this long (Binance: 20 s).
    pub ping_interval: Duration,
    /// Close a connection whose Pong has not come this long after a Ping (Binance: 1 min).
    pub pong_timeout: Duration,
    /// Close a WebSocket connection this long after it opened (Binance: 24 h).
    pub max_age: Duration,
    /// More incoming WebSocket frames than this in a second closes the connection
    /// (Binance: 5).
    pub max_incoming_per_sec: u32,
    /// Most streams one connection may hold (Binance: 1024).
    pub max_streams_per_conn: usize,
    /// Messages queued for one connection before it counts as full.
    pub queue_capacity: usize,
    /// REST request weight allowed per IP in a rolling minute (Binance: 6000).
    pub rest_weight_limit: u32,
    /// Requests refused with 429 in a row after which the IP is banned (418).
    pub rest_ban_after: u32,
    /// How long a ban lasts (Binance's shortest: 2 min).
    pub rest_ban: Duration,
    /// An HTTP connection idle this long between requests is closed.
    pub http_idle_timeout: Duration,
    /// Faults in force from the start.
    pub faults: FaultPlan,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9443),
            tls: false,
            speed: Speed::RealTime(1.0),
            ping_interval: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(60),
            max_age: Duration::from_secs(24 * 3600),
            max_incoming_per_sec: 5,
            max_streams_per_conn: 1024,
            queue_capacity: 4096,
            rest_weight_limit: 6000,
            rest_ban_after: 10,
            rest_ban: Duration::from_secs(120),
            http_idle_timeout: Duration::from_secs(60),
            faults: FaultPlan::default(),
        }
    }
}

impl SimConfig {
    fn validate(&self) -> Result<()> {
        if let Speed::RealTime(x) = self.speed {
            if !(x.is_finite() && x > 0.0) {
                bail!("speed must be a positive multiple, got {x}");
            }
        }
        for (name, d) in [
            ("ping_interval", self.ping_interval),
            ("pong_timeout", self.pong_timeout),
            ("max_age", self.max_age),
            ("http_idle_timeout", self.http_idle_timeout),
        ] {
            if d.is_zero() {
                bail!("{name} must be longer than zero");
            }
        }
        if self.max_incoming_per_sec == 0
            || self.max_streams_per_conn == 0
            || self.queue_capacity == 0
            || self.rest_weight_limit == 0
        {
            bail!("max_incoming_per_sec, max_streams_per_conn, queue_capacity and rest_weight_limit must be at least 1");
        }
        self.faults.validate()?;
        Ok(())
    }
}

/// What the simulator has done so far (a snapshot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Connections accepted (REST and WebSocket).
    pub connections_accepted: u64,
    /// Accepted connections that have ended.
    pub connections_closed: u64,
    /// Connections refused by a fault.
    pub connections_refused: u64,
    /// WebSocket connections upgraded.
    pub ws_sessions: u64,
    /// Market messages written to WebSocket connections (each copy counts).
    pub messages_sent: u64,
    /// Market messages dropped by a fault.
    pub dropped_by_fault: u64,
    /// Market messages duplicated by a fault.
    pub duplicated_by_fault: u64,
    /// Market messages swapped with the next by a fault.
    pub reordered_by_fault: u64,
    /// Market messages delayed by a fault.
    pub delayed_by_fault: u64,
    /// Market messages sent malformed by a fault.
    pub malformed_by_fault: u64,
    /// Connections closed by a close-all fault.
    pub fault_closes: u64,
    /// Pings sent.
    pub pings_sent: u64,
    /// Connections closed for want of a Pong.
    pub pong_timeouts: u64,
    /// Connections closed at `max_age`.
    pub max_age_closes: u64,
    /// Connections closed for sending too many messages a second.
    pub rate_limit_closes: u64,
    /// Connections closed because their queue was full in real-time pacing.
    pub slow_consumer_closes: u64,
    /// REST requests answered (any status).
    pub rest_requests: u64,
    /// REST requests answered 429.
    pub rest_429: u64,
    /// REST requests answered 418.
    pub rest_418: u64,
    /// Market steps taken.
    pub market_steps: u64,
    /// Market time of the last step (ms since the epoch), 0 before the first.
    pub market_time_ms: i64,
    /// The source has nothing more.
    pub market_exhausted: bool,
}

impl SimStats {
    /// The stats as a JSON object (the admin endpoint's `GET /sim/stats`).
    pub fn to_json(&self) -> String {
        format!(
            "{{\"connections_accepted\":{},\"connections_closed\":{},\"connections_refused\":{},\"ws_sessions\":{},\"messages_sent\":{},\"dropped_by_fault\":{},\"duplicated_by_fault\":{},\"reordered_by_fault\":{},\"delayed_by_fault\":{},\"malformed_by_fault\":{},\"fault_closes\":{},\"pings_sent\":{},\"pong_timeouts\":{},\"max_age_closes\":{},\"rate_limit_closes\":{},\"slow_consumer_closes\":{},\"rest_requests\":{},\"rest_429\":{},\"rest_418\":{},\"market_steps\":{},\"market_time_ms\":{},\"market_exhausted\":{}}}",
            self.connections_accepted,
            self.connections_closed,
            self.connections_refused,
            self.ws_sessions,
            self.messages_sent,
            self.dropped_by_fault,
            self.duplicated_by_fault,
            self.reordered_by_fault,
            self.delayed_by_fault,
            self.malformed_by_fault,
            self.fault_closes,
            self.pings_sent,
            self.pong_timeouts,
            self.max_age_closes,
            self.rate_limit_closes,
            self.slow_consumer_closes,
            self.rest_requests,
            self.rest_429,
            self.rest_418,
            self.market_steps,
            self.market_time_ms,
            self.market_exhausted
        )
    }
}

/// The live counters behind [`SimStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) connections_closed: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) ws_sessions: AtomicU64,
    pub(crate) messages_sent: AtomicU64,
    pub(crate) dropped_by_fault: AtomicU64,
    pub(crate) duplicated_by_fault: AtomicU64,
    pub(crate) reordered_by_fault: AtomicU64,
    pub(crate) delayed_by_fault: AtomicU64,
    pub(crate) malformed_by_fault: AtomicU64,
    pub(crate) fault_closes: AtomicU64,
    pub(crate) pings_sent: AtomicU64,
    pub(crate) pong_timeouts: AtomicU64,
    pub(crate) max_age_closes: AtomicU64,
    pub(crate) rate_limit_closes: AtomicU64,
    pub(crate) slow_consumer_closes: AtomicU64,
    pub(crate) rest_requests: AtomicU64,
    pub(crate) rest_429: AtomicU64,
    pub(crate) rest_418: AtomicU64,
    pub(crate) market_steps: AtomicU64,
    pub(crate) market_time_ms: AtomicI64,
    pub(crate) market_exhausted: AtomicBool,
}

/// The test market, for tests elsewhere in the crate (the CLI's).
#[cfg(test)]
pub(crate) fn testing_market(steps: u64) -> Box<dyn MarketSource> {
    Box::new(testing::TestMarket::new(steps))
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> SimStats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SimStats {
            connections_accepted: g(&self.connections_accepted),
            connections_closed: g(&self.connections_closed),
            connections_refused: g(&self.connections_refused),
            ws_sessions: g(&self.ws_sessions),
            messages_sent: g(&self.messages_sent),
            dropped_by_fault: g(&self.dropped_by_fault),
            duplicated_by_fault: g(&self.duplicated_by_fault),
            reordered_by_fault: g(&self.reordered_by_fault),
            delayed_by_fault: g(&self.delayed_by_fault),
            malformed_by_fault: g(&self.malformed_by_fault),
            fault_closes: g(&self.fault_closes),
            pings_sent: g(&self.pings_sent),
            pong_timeouts: g(&self.pong_timeouts),
            max_age_closes: g(&self.max_age_closes),
            rate_limit_closes: g(&self.rate_limit_closes),
            slow_consumer_closes: g(&self.slow_consumer_closes),
            rest_requests: g(&self.rest_requests),
            rest_429: g(&self.rest_429),
            rest_418: g(&self.rest_418),
            market_steps: g(&self.market_steps),
            market_time_ms: self.market_time_ms.load(Ordering::Relaxed),
            market_exhausted: self.market_exhausted.load(Ordering::Relaxed),
        }
    }
}

/// Everything the server's threads share.
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    /// The market; the market thread steps it, REST handlers read it.
    pub(crate) market: Mutex<Box<dyn MarketSource>>,
    /// The market's symbols (fixed for its life), copied so that routing needs no lock.
    pub(crate) symbols: Vec<SymbolInfo>,
    pub(crate) registry: market::Registry,
    pub(crate) counters: Counters,
    pub(crate) faults: Arc<Faults>,
    pub(crate) weights: Mutex<HashMap<IpAddr, rest::IpWeight>>,
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: AtomicBool,
    conn_threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    pub(crate) fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }
}

/// Locks a mutex; a panic in another holder does not stop the simulator (the data
/// behind these locks stays consistent between statements).
pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running simulator. Dropping it shuts it down (and joins its threads).
pub struct SimHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    cert: Option<SimCert>,
    threads: Vec<JoinHandle<()>>,
}

/// Starts the simulator: binds, makes the TLS certificate when asked, starts the listener
/// and market threads, and returns at once. Fails on a bad config or a port in use.
pub fn start(config: SimConfig, source: Box<dyn MarketSource>) -> Result<SimHandle> {
    config.validate()?;
    let listener = TcpListener::bind(config.bind)
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let local_addr = listener.local_addr().context("listener address")?;
    let (cert, tls) = if config.tls {
        let (cert, tls) = tls::server_config()?;
        (Some(cert), Some(tls))
    } else {
        (None, None)
    };
    let symbols = source.symbols().to_vec();
    let shared = Arc::new(Shared {
        faults: Arc::new(Faults::new(config.faults.clone())),
        config,
        market: Mutex::new(source),
        symbols,
        registry: market::Registry::default(),
        counters: Counters::default(),
        weights: Mutex::new(HashMap::new()),
        tls,
        shutdown: AtomicBool::new(false),
        conn_threads: Mutex::new(Vec::new()),
    });
    let mut threads = Vec::new();
    let s = Arc::clone(&shared);
    threads.push(
        thread::Builder::new()
            .name("sim-market".into())
            .spawn(move || market::run(&s))
            .context("cannot start the market thread")?,
    );
    let s = Arc::clone(&shared);
    let spawned = thread::Builder::new()
        .name("sim-listen".into())
        .spawn(move || listen(&s, listener));
    match spawned {
        Ok(t) => threads.push(t),
        Err(e) => {
            shared.shutdown.store(true, Ordering::Release);
            for t in threads {
                let _ = t.join();
            }
            return Err(e).context("cannot start the listener thread");
        }
    }
    Ok(SimHandle {
        shared,
        local_addr,
        cert,
        threads,
    })
}

impl SimHandle {
    /// The address the listener is bound to (the real port when the config said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    fn host_port(&self) -> String {
        let ip = match self.local_addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        SocketAddr::new(ip, self.local_addr.port()).to_string()
    }

    /// Base WebSocket URL, `ws://127.0.0.1:PORT` or `wss://...`; append `/ws/<stream>` or
    /// `/stream?streams=..` as for `wss://stream.binance.com:9443`.
    pub fn ws_url(&self) -> String {
        let scheme = if self.cert.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{}", self.host_port())
    }

    /// Base REST URL, `http://127.0.0.1:PORT` or `https://...` (as `https://api.binance.com`).
    pub fn rest_url(&self) -> String {
        let scheme = if self.cert.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.host_port())
    }

    /// The self-signed certificate (DER) a client must trust; `None` without TLS.
    pub fn cert_der(&self) -> Option<&[u8]> {
        self.cert.as_ref().map(|c| c.der.as_slice())
    }

    /// The same certificate as PEM; `None` without TLS.
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert.as_ref().map(|c| c.pem.as_str())
    }

    /// The run-time fault controls.
    pub fn faults(&self) -> FaultControl {
        FaultControl {
            faults: Arc::clone(&self.shared.faults),
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SimStats {
        self.shared.counters.snapshot()
    }

    /// Runs `f` on the market under its lock (between two steps); for tests and checks.
    pub fn with_market<R>(&self, f: impl FnOnce(&dyn MarketSource) -> R) -> R {
        let market = lock(&self.shared.market);
        f(&**market)
    }

    /// Stops accepting, closes every connection (WebSocket ones with a Close frame) and
    /// joins every thread. Idempotent; also done on drop.
    pub fn shutdown(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        self.shared.shutdown.store(true, Ordering::Release);
        // Wake the listener out of `accept`.
        let wake = SocketAddr::new(
            match self.local_addr.ip() {
                ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                ip => ip,
            },
            self.local_addr.port(),
        );
        let _ = TcpStream::connect_timeout(&wake, Duration::from_millis(200));
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let conns: Vec<JoinHandle<()>> = lock(&self.shared.conn_threads).drain(..).collect();
        for t in conns {
            let _ = t.join();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("local_addr", &self.local_addr)
            .field("tls", &self.cert.is_some())
            .finish()
    }
}

fn listen(shared: &Arc<Shared>, listener: TcpListener) {
    for incoming in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let tcp = match incoming {
            Ok(tcp) => tcp,
            Err(_) => {
                // Out of descriptors or an aborted handshake: wait a little, go on.
                thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        if shared.faults.refuse_connection(Instant::now()) {
            bump(&shared.counters.connections_refused);
            let _ = tcp.shutdown(Shutdown::Both);
            continue;
        }
        bump(&shared.counters.connections_accepted);
        let s = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name("sim-conn".into())
            .spawn(move || {
                serve(&s, tcp);
                bump(&s.counters.connections_closed);
            });
        let mut threads = lock(&shared.conn_threads);
        threads.retain(|t| !t.is_finished());
        match spawned {
            Ok(t) => threads.push(t),
            Err(_) => bump(&shared.counters.connections_closed),
        }
    }
}

/// Serves one connection: HTTP requests until one is a WebSocket upgrade (then the
/// WebSocket session owns the connection) or the connection ends.
fn serve(shared: &Arc<Shared>, tcp: TcpStream) {
    let peer = tcp
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let _ = tcp.set_nodelay(true);
    if tcp
        .set_read_timeout(Some(Duration::from_millis(20)))
        .is_err()
    {
        return;
    }
    let Ok(mut conn) = Conn::new(tcp, shared.tls.as_ref()) else {
        return;
    };
    let epoch = shared.faults.close_epoch();
    let mut buf = Vec::new();
    loop {
        let stop = || shared.stopping() || shared.faults.close_epoch() != epoch;
        match http::read_request(&mut conn, &mut buf, shared.config.http_idle_timeout, &stop) {
            Ok(request) if request.is_upgrade() => {
                ws::serve(shared, conn, &request, std::mem::take(&mut buf), epoch);
                return;
            }
            Ok(request) => {
                let response = rest::handle(shared, &request, peer);
                let keep = request.keep_alive() && !shared.stopping();
                if http::write_response(&mut conn, &response, !keep).is_err() || !keep {
                    break;
                }
            }
            Err(ReadError::Closed) => {
                if shared.faults.close_epoch() != epoch && !shared.stopping() {
                    bump(&shared.counters.fault_closes);
                    let _ = conn.tcp().shutdown(Shutdown::Both);
                    return;
                }
                break;
            }
            Err(ReadError::Bad(status, reason)) => {
                let response = Response::error(status, -1000, reason);
                let _ = http::write_response(&mut conn, &response, true);
                break;
            }
            Err(ReadError::Io) => return,
        }
    }
    conn.close_notify();
}
