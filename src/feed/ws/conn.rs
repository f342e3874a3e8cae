//! One non-blocking WebSocket connection on a mio `TcpStream`, optionally wrapped in
//! rustls, framed by tungstenite, driven by the market-data thread's `mio::Poll`.
//!
//! States: `Connecting` (TCP connect in flight) -> `Handshaking` (TLS and the HTTP
//! upgrade, driven through `HandshakeError::Interrupted` on every readiness event) ->
//! `Subscribing` (the SUBSCRIBE messages that did not fit the URL, paced, until every one
//! is acknowledged) -> `Live`; any failure goes to `Backoff` (reconnect after a full-jitter
//! delay) and [`WsConn::close`] to `Closed`.
//!
//! The thread calls [`WsConn::drive`] on every readiness event until it returns
//! [`Drive::Idle`] (mio is edge-triggered: the socket must be read to `WouldBlock`) and
//! [`WsConn::on_timer`] when [`WsConn::next_deadline`] passes. Text frames are copied into
//! the caller's reusable buffer (simd-json parses in place) and stamped with the
//! `quanta::Instant` of the socket read that completed them. Pings are answered by
//! tungstenite's queued Pong, which `drive` flushes (again on every writable event if the
//! socket was full). Everything here reuses its buffers; tungstenite 0.28 splits messages
//! off its reused read buffer, so steady-state reads were measured allocation-free.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use tungstenite::client::client_with_config;
use tungstenite::handshake::client::ClientHandshake;
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use super::backoff::{Backoff, BackoffConfig};
use super::resolver::Resolver;
use super::url::Endpoint;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// TCP connect in flight.
    Connecting,
    /// TLS and WebSocket upgrade in flight.
    Handshaking,
    /// Upgraded; SUBSCRIBE messages still to send or to be acknowledged. Market data may
    /// already flow (streams named in the URL).
    Subscribing,
    /// Every stream subscribed.
    Live,
    /// Down; a reconnect is scheduled.
    Backoff,
    /// Closed for good (the feed is stopping).
    Closed,
}

/// Everything a connection needs to (re)connect and subscribe.
#[derive(Clone)]
pub struct ConnSpec {
    /// The WebSocket base (`wss://stream.binance.com:9443`).
    pub endpoint: Endpoint,
    /// The endpoint host's addresses, resolved off this thread (see [`Resolver`]).
    pub resolver: Arc<Resolver>,
    /// Path and query under the base (`/stream?streams=btcusdt@depth@100ms/...`).
    pub path: String,
    /// Streams to subscribe after the upgrade, already grouped: one SUBSCRIBE message per
    /// inner `Vec`.
    pub subscribe: Vec<Vec<String>>,
    /// TLS configuration, used when the endpoint's scheme is `wss`.
    pub tls: Option<Arc<ClientConfig>>,
    /// Reconnect backoff.
    pub backoff: BackoffConfig,
    /// Least time between two SUBSCRIBE messages (Binance closes connections that send
    /// more than 5 messages a second, pongs included).
    pub subscribe_interval: Duration,
    /// Longest time TCP connect plus handshakes may take.
    pub connect_timeout: Duration,
    /// A connection that receives nothing at all (Binance pings every 20 s) for this long
    /// is considered dead and replaced.
    pub idle_timeout: Duration,
}

impl std::fmt::Debug for ConnSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnSpec")
            .field("endpoint", &self.endpoint)
            .field("path", &self.path)
            .field("subscribe", &self.subscribe)
            .field("tls", &self.tls.is_some())
            .field("backoff", &self.backoff)
            .field("subscribe_interval", &self.subscribe_interval)
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .finish()
    }
}

/// Counters of one connection (all since start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnCounters {
    /// TCP connects started.
    pub attempts: u64,
    /// Handshakes completed.
    pub connects: u64,
    /// Connections lost or failed (each schedules a reconnect).
    pub disconnects: u64,
    /// Text frames received.
    pub text_frames: u64,
    /// Bytes of text frames received.
    pub text_bytes: u64,
    /// Binary frames received (Binance sends none; counted and skipped).
    pub binary_frames: u64,
    /// Pings received (each answered with a Pong).
    pub pings: u64,
    /// Pongs received.
    pub pongs: u64,
    /// Close frames received.
    pub closes: u64,
    /// SUBSCRIBE messages sent.
    pub subscribes_sent: u64,
    /// SUBSCRIBE messages answered with an error.
    pub subscribe_errors: u64,
}

/// What [`WsConn::drive`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drive {
    /// A text frame is in the caller's buffer, read from the socket at this instant.
    Text(quanta::Instant),
    /// Nothing more until the next readiness event or timer.
    Idle,
    /// The connection failed or was closed by the server; [`WsConn::last_error`] says
    /// why and a reconnect is scheduled.
    Down,
}

/// The socket under tungstenite: plain TCP or rustls over TCP. Remembers when the last
/// read that returned bytes happened, which is the receive stamp of the frames it
/// completed.
pub struct NetStream {
    inner: Inner,
    last_read: quanta::Instant,
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

/// rustls over a non-blocking socket. `rustls::StreamOwned` assumes a blocking socket
/// (it loops on `complete_io`), so this adapter moves records by hand: reads pull records
/// until plaintext is available or the socket would block; every call pushes pending
/// records (handshake replies, buffered plaintext) out as far as the socket takes them.
struct TlsStream {
    tls: ClientConnection,
    tcp: TcpStream,
}

impl TlsStream {
    /// Writes pending TLS records; `WouldBlock` when the socket is full.
    fn write_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            if self.tls.write_tls(&mut self.tcp)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// Like `write_records` but a full socket is not an error (a writable event retries).
    fn try_write_records(&mut self) -> io::Result<()> {
        match self.write_records() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            r => r,
        }
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let n = self.tls.read_tls(&mut self.tcp)?;
            if let Err(e) = self.tls.process_new_packets() {
                // Send the alert rustls queued, then fail.
                let _ = self.write_records();
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            self.try_write_records()?;
            if n == 0 {
                // EOF: rustls now reports a clean close (Ok(0)) or an unexpected EOF.
                return match self.tls.reader().read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        Err(io::ErrorKind::UnexpectedEof.into())
                    }
                    r => r,
                };
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.tls.writer().write(buf)?;
        self.try_write_records()?;
        if n == 0 && !buf.is_empty() {
            // rustls' plaintext buffer is full (handshake not done yet): come back later.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tls.writer().flush()?;
        self.write_records()
    }
}

impl NetStream {
    fn plain(tcp: TcpStream) -> NetStream {
        NetStream {
            inner: Inner::Plain(tcp),
            last_read: quanta::Instant::now(),
        }
    }

    fn tls(tcp: TcpStream, tls: ClientConnection) -> NetStream {
        NetStream {
            inner: Inner::Tls(Box::new(TlsStream { tls, tcp })),
            last_read: quanta::Instant::now(),
        }
    }

    /// The TCP socket (for registration and connect status).
    fn tcp_mut(&mut self) -> &mut TcpStream {
        match &mut self.inner {
            Inner::Plain(t) => t,
            Inner::Tls(t) => &mut t.tcp,
        }
    }

    /// Pushes out TLS records that a full socket held back (no-op for plain TCP).
    fn write_pending(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Plain(_) => Ok(()),
            Inner::Tls(t) => t.try_write_records(),
        }
    }
}

impl Read for NetStream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = match &mut self.inner {
            Inner::Plain(t) => t.read(buf),
            Inner::Tls(t) => t.read(buf),
        };
        if matches!(r, Ok(n) if n > 0) {
            self.last_read = quanta::Instant::now();
        }
        r
    }
}

impl Write for NetStream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(t) => t.write(buf),
            Inner::Tls(t) => t.write(buf),
        }
    }

    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Plain(t) => t.flush(),
            Inner::Tls(t) => t.flush(),
        }
    }
}

enum Phase {
    Down,
    Connecting(NetStream),
    Handshaking(MidHandshake<ClientHandshake<NetStream>>),
    Open(WebSocket<NetStream>),
}

/// One WebSocket connection and its reconnect state. See the module docs.
pub struct WsConn {
    spec: ConnSpec,
    url: String,
    server_name: Option<ServerName<'static>>,
    token: Token,
    state: ConnState,
    phase: Phase,
    backoff: Backoff,
    /// When the Backoff state ends, or when Connecting/Handshaking times out.
    deadline: Option<Instant>,
    next_subscribe: usize,
    next_subscribe_at: Instant,
    acked: Vec<bool>,
    n_acked: usize,
    live_since: Option<Instant>,
    last_rx: Instant,
    addr_turn: usize,
    last_error: String,
    counters: ConnCounters,
}

impl WsConn {
    /// A connection in the `Backoff` state with no delay: the first [`WsConn::on_timer`]
    /// (or [`WsConn::connect`]) starts it. `seed` makes the backoff deterministic.
    pub fn new(spec: ConnSpec, token: Token, seed: Option<u64>) -> Result<WsConn, ConnError> {
        if !spec.endpoint.scheme.is_websocket() {
            return Err(ConnError::NotWebSocket(spec.endpoint.url_for("")));
        }
        let server_name = if spec.endpoint.scheme.is_tls() {
            if spec.tls.is_none() {
                return Err(ConnError::NoTlsConfig);
            }
            Some(
                super::tls::server_name(&spec.endpoint.host)
                    .map_err(|e| ConnError::ServerName(e.to_string()))?,
            )
        } else {
            None
        };
        let backoff = match seed {
            Some(s) => Backoff::with_seed(spec.backoff, s),
            None => Backoff::new(spec.backoff),
        };
        let now = Instant::now();
        Ok(WsConn {
            url: spec.endpoint.url_for(&spec.path),
            acked: vec![false; spec.subscribe.len()],
            spec,
            server_name,
            token,
            state: ConnState::Backoff,
            phase: Phase::Down,
            backoff,
            deadline: Some(now),
            next_subscribe: 0,
            next_subscribe_at: now,
            n_acked: 0,
            live_since: None,
            last_rx: now,
            addr_turn: 0,
            last_error: String::new(),
            counters: ConnCounters::default(),
        })
    }

    /// The current state.
    pub fn state(&self) -> ConnState {
        self.state
    }

    /// The counters.
    pub fn counters(&self) -> ConnCounters {
        self.counters
    }

    /// Why the connection last went down (empty before the first failure).
    pub fn last_error(&self) -> &str {
        &self.last_error
    }

    /// The full URL connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The mio token the socket is registered under.
    pub fn token(&self) -> Token {
        self.token
    }

    /// The earliest instant at which [`WsConn::on_timer`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            ConnState::Closed => None,
            ConnState::Backoff | ConnState::Connecting | ConnState::Handshaking => self.deadline,
            ConnState::Subscribing | ConnState::Live => {
                let idle = self.last_rx + self.spec.idle_timeout;
                let mut t = idle;
                if self.next_subscribe < self.spec.subscribe.len() {
                    t = t.min(self.next_subscribe_at);
                }
                if let Some(since) = self.live_since {
                    if self.backoff.failures() > 0 {
                        t = t.min(since + self.spec.backoff.healthy_after);
                    }
                }
                Some(t)
            }
        }
    }

    /// Starts a TCP connect now to the next of the resolver's addresses (the list is walked
    /// one address per attempt; nothing here waits on DNS). `false` leaves the connection in `Backoff`, with
    /// [`WsConn::last_error`] saying why.
    pub fn connect(&mut self, registry: &Registry, now: Instant) -> bool {
        self.counters.attempts += 1;
        let addrs = match self.spec.resolver.addrs() {
            Ok(addrs) => addrs,
            Err(why) => {
                self.schedule_retry(now, why);
                return false;
            }
        };
        let addr = addrs[self.addr_turn % addrs.len()];
        self.addr_turn = self.addr_turn.wrapping_add(1);
        let tcp = match TcpStream::connect(addr) {
            Ok(t) => t,
            Err(e) => {
                self.schedule_retry(now, format!("connect to {addr}: {e}"));
                return false;
            }
        };
        let mut stream = match (&self.spec.tls, &self.server_name) {
            (Some(cfg), Some(name)) => match ClientConnection::new(cfg.clone(), name.clone()) {
                Ok(tls) => NetStream::tls(tcp, tls),
                Err(e) => {
                    self.schedule_retry(now, format!("TLS setup: {e}"));
                    return false;
                }
            },
            _ => NetStream::plain(tcp),
        };
        if let Err(e) = registry.register(
            stream.tcp_mut(),
            self.token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.schedule_retry(now, format!("mio register: {e}"));
            return false;
        }
        self.phase = Phase::Connecting(stream);
        self.state = ConnState::Connecting;
        self.deadline = Some(now + self.spec.connect_timeout);
        true
    }

    /// Handles timers: starts a due reconnect, sends a due SUBSCRIBE, fails a connect that
    /// took too long or a connection that went silent, and resets the backoff after a
    /// healthy period. Returns [`Drive::Down`] when the connection failed here.
    pub fn on_timer(&mut self, registry: &Registry, now: Instant) -> Drive {
        match self.state {
            ConnState::Closed => Drive::Idle,
            ConnState::Backoff => {
                if self.deadline.is_some_and(|d| now >= d) && !self.connect(registry, now) {
                    return Drive::Down;
                }
                Drive::Idle
            }
            ConnState::Connecting | ConnState::Handshaking => {
                if self.deadline.is_some_and(|d| now >= d) {
                    let what = if self.state == ConnState::Connecting {
                        "TCP connect"
                    } else {
                        "handshake"
                    };
                    self.fail(
                        registry,
                        now,
                        format!("{what} timed out after {:?}", self.spec.connect_timeout),
                    );
                    return Drive::Down;
                }
                Drive::Idle
            }
            ConnState::Subscribing | ConnState::Live => {
                if now.duration_since(self.last_rx) >= self.spec.idle_timeout {
                    self.fail(
                        registry,
                        now,
                        format!("nothing received for {:?}", self.spec.idle_timeout),
                    );
                    return Drive::Down;
                }
                if let Some(since) = self.live_since {
                    if now.duration_since(since) >= self.spec.backoff.healthy_after {
                        self.backoff.reset();
                    }
                }
                if let Err(why) = self.send_due_subscribe(now) {
                    self.fail(registry, now, why);
                    return Drive::Down;
                }
                Drive::Idle
            }
        }
    }

    /// Advances the connection after a readiness event (or any time): finishes connect and
    /// handshakes, flushes queued writes (pongs included), sends a due SUBSCRIBE, and
    /// reads the next message. Call until it returns `Idle` or `Down`.
    pub fn drive(&mut self, registry: &Registry, now: Instant, buf: &mut Vec<u8>) -> Drive {
        loop {
            match std::mem::replace(&mut self.phase, Phase::Down) {
                Phase::Down => return Drive::Idle,
                Phase::Connecting(mut stream) => {
                    let tcp = stream.tcp_mut();
                    match tcp.take_error() {
                        Ok(None) => {}
                        Ok(Some(e)) | Err(e) => {
                            self.phase = Phase::Connecting(stream);
                            self.fail(registry, now, format!("connect: {e}"));
                            return Drive::Down;
                        }
                    }
                    match tcp.peer_addr() {
                        Ok(_) => {}
                        Err(e)
                            if e.kind() == io::ErrorKind::NotConnected
                                || e.kind() == io::ErrorKind::WouldBlock =>
                        {
                            self.phase = Phase::Connecting(stream);
                            return Drive::Idle;
                        }
                        Err(e) => {
                            self.phase = Phase::Connecting(stream);
                            self.fail(registry, now, format!("connect: {e}"));
                            return Drive::Down;
                        }
                    }
                    // Latency over throughput: small frames (SUBSCRIBE, pong) go out now.
                    let _ = tcp.set_nodelay(true);
                    self.state = ConnState::Handshaking;
                    let config = WebSocketConfig::default();
                    match client_with_config(self.url.as_str(), stream, Some(config)) {
                        Ok((ws, _)) => self.on_open(ws, now),
                        Err(HandshakeError::Interrupted(mid)) => {
                            self.phase = Phase::Handshaking(mid);
                            return Drive::Idle;
                        }
                        Err(HandshakeError::Failure(e)) => {
                            // The stream was consumed by the failed handshake: the socket
                            // is closed by the drop, so there is nothing to deregister.
                            self.went_down(now, format!("WebSocket handshake: {e}"));
                            return Drive::Down;
                        }
                    }
                }
                Phase::Handshaking(mid) => match mid.handshake() {
                    Ok((ws, _)) => self.on_open(ws, now),
                    Err(HandshakeError::Interrupted(mid)) => {
                        self.phase = Phase::Handshaking(mid);
                        return Drive::Idle;
                    }
                    Err(HandshakeError::Failure(e)) => {
                        self.went_down(now, format!("WebSocket handshake: {e}"));
                        return Drive::Down;
                    }
                },
                Phase::Open(ws) => {
                    self.phase = Phase::Open(ws);
                    return self.read_open(registry, now, buf);
                }
            }
        }
    }

    fn on_open(&mut self, ws: WebSocket<NetStream>, now: Instant) {
        self.counters.connects += 1;
        self.phase = Phase::Open(ws);
        self.deadline = None;
        self.last_rx = now;
        self.live_since = None;
        self.next_subscribe = 0;
        self.next_subscribe_at = now;
        self.n_acked = 0;
        self.acked.iter_mut().for_each(|a| *a = false);
        if self.spec.subscribe.is_empty() {
            self.go_live(now);
        } else {
            self.state = ConnState::Subscribing;
        }
    }

    fn go_live(&mut self, now: Instant) {
        self.state = ConnState::Live;
        self.live_since = Some(now);
    }

    /// The read loop body for an open connection.
    fn read_open(&mut self, registry: &Registry, now: Instant, buf: &mut Vec<u8>) -> Drive {
        if let Err(why) = self.send_due_subscribe(now) {
            self.fail(registry, now, why);
            return Drive::Down;
        }
        let Phase::Open(ws) = &mut self.phase else {
            return Drive::Idle;
        };
        // Push out whatever a full socket held back (a queued pong, TLS records).
        if let Err(e) = ws.get_mut().write_pending() {
            self.fail(registry, now, format!("write: {e}"));
            return Drive::Down;
        }
        loop {
            let Phase::Open(ws) = &mut self.phase else {
                return Drive::Idle;
            };
            match ws.read() {
                Ok(Message::Text(text)) => {
                    self.last_rx = now;
                    self.counters.text_frames += 1;
                    self.counters.text_bytes += text.len() as u64;
                    buf.clear();
                    buf.extend_from_slice(text.as_bytes());
                    return Drive::Text(ws.get_ref().last_read);
                }
                Ok(Message::Binary(_)) => {
                    self.last_rx = now;
                    self.counters.binary_frames += 1;
                }
                Ok(Message::Ping(_)) => {
                    // tungstenite queued the Pong; the next read (or the flush below) sends it.
                    self.last_rx = now;
                    self.counters.pings += 1;
                }
                Ok(Message::Pong(_)) => {
                    self.last_rx = now;
                    self.counters.pongs += 1;
                }
                Ok(Message::Frame(_)) => {
                    self.last_rx = now;
                }
                Ok(Message::Close(frame)) => {
                    self.counters.closes += 1;
                    // Send our Close reply if the socket takes it.
                    let _ = ws.flush();
                    let why = match frame {
                        Some(f) => {
                            format!("server closed the connection ({}: {})", f.code, f.reason)
                        }
                        None => "server closed the connection".to_string(),
                    };
                    self.fail(registry, now, why);
                    return Drive::Down;
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    return match ws.flush() {
                        Ok(()) => Drive::Idle,
                        Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                            Drive::Idle
                        }
                        Err(e) => {
                            self.fail(registry, now, format!("write: {e}"));
                            Drive::Down
                        }
                    };
                }
                Err(e) => {
                    self.fail(registry, now, format!("read: {e}"));
                    return Drive::Down;
                }
            }
        }
    }

    /// Sends the next SUBSCRIBE message when one is due (paced by `subscribe_interval`).
    fn send_due_subscribe(&mut self, now: Instant) -> Result<(), String> {
        if self.next_subscribe >= self.spec.subscribe.len() || now < self.next_subscribe_at {
            return Ok(());
        }
        let Phase::Open(ws) = &mut self.phase else {
            return Ok(());
        };
        let i = self.next_subscribe;
        let text = subscribe_message(&self.spec.subscribe[i], i as u64 + 1);
        match ws.send(Message::text(text)) {
            Ok(()) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(format!("sending SUBSCRIBE: {e}")),
        }
        self.counters.subscribes_sent += 1;
        self.next_subscribe += 1;
        self.next_subscribe_at = now + self.spec.subscribe_interval;
        Ok(())
    }

    /// A reply to one of our SUBSCRIBE messages (`id` as sent, 1-based). Returns true if
    /// the id was ours. The connection is `Live` once every message was answered; an
    /// error reply is counted (its streams stay missing until the next reconnect).
    pub fn on_subscribe_reply(&mut self, id: i64, ok: bool, now: Instant) -> bool {
        let Some(slot) = usize::try_from(id)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.acked.get_mut(i))
        else {
            return false;
        };
        if !*slot {
            *slot = true;
            self.n_acked += 1;
            if !ok {
                self.counters.subscribe_errors += 1;
            }
        }
        if self.state == ConnState::Subscribing && self.n_acked == self.acked.len() {
            self.go_live(now);
        }
        true
    }

    /// Sends a Close frame if the connection is open, then drops the socket; the
    /// connection stays `Closed`.
    pub fn close(&mut self, registry: &Registry) {
        if let Phase::Open(ws) = &mut self.phase {
            let _ = ws.close(None);
            let _ = ws.flush();
        }
        self.drop_socket(registry);
        self.state = ConnState::Closed;
        self.deadline = None;
    }

    /// Deregisters and drops the socket, schedules a reconnect.
    fn fail(&mut self, registry: &Registry, now: Instant, why: String) {
        self.drop_socket(registry);
        self.went_down(now, why);
    }

    fn drop_socket(&mut self, registry: &Registry) {
        match std::mem::replace(&mut self.phase, Phase::Down) {
            Phase::Down => {}
            Phase::Connecting(mut s) => {
                let _ = registry.deregister(s.tcp_mut());
            }
            Phase::Handshaking(mut mid) => {
                let _ = registry.deregister(mid.get_mut().get_mut().tcp_mut());
            }
            Phase::Open(mut ws) => {
                let _ = registry.deregister(ws.get_mut().tcp_mut());
            }
        }
    }

    #[cold]
    fn went_down(&mut self, now: Instant, why: String) {
        self.counters.disconnects += 1;
        self.schedule_retry(now, why);
    }

    fn schedule_retry(&mut self, now: Instant, why: String) {
        self.phase = Phase::Down;
        self.last_error = why;
        self.live_since = None;
        self.state = ConnState::Backoff;
        self.deadline = Some(now + self.backoff.next_delay());
    }
}

/// `{"method":"SUBSCRIBE","params":[...],"id":N}`.
pub fn subscribe_message(streams: &[String], id: u64) -> String {
    let mut s = String::with_capacity(48 + streams.iter().map(|x| x.len() + 3).sum::<usize>());
    s.push_str(r#"{"method":"SUBSCRIBE","params":["#);
    for (i, stream) in streams.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        s.push_str(stream);
        s.push('"');
    }
    s.push_str(r#"],"id":"#);
    s.push_str(&id.to_string());
    s.push('}');
    s
}

/// Why a connection could not be set up (configuration errors; network errors are
/// retried, never returned).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnError {
    /// The endpoint is not `ws://` or `wss://`.
    #[error("`{0}` is not a ws:// or wss:// URL")]
    NotWebSocket(String),
    /// A `wss://` endpoint without a TLS configuration.
    #[error("a wss:// endpoint needs a TLS configuration")]
    NoTlsConfig,
    /// The host is not a valid TLS server name.
    #[error("{0}")]
    ServerName(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> ConnSpec {
        let endpoint = Endpoint::parse(url).expect("url");
        ConnSpec {
            resolver: Resolver::start(&endpoint.host, endpoint.port, Duration::from_secs(60)),
            endpoint,
            path: "/stream?streams=btcusdt@trade".to_string(),
            subscribe: vec![vec!["a@trade".into()], vec!["b@trade".into()]],
            tls: None,
            backoff: BackoffConfig {
                base: Duration::from_millis(10),
                cap: Duration::from_millis(100),
                healthy_after: Duration::from_secs(1),
            },
            subscribe_interval: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn subscribe_messages() {
        let cases: &[(&[&str], u64, &str)] = &[
            // TC0: one stream
            (
                &["btcusdt@trade"],
                1,
                r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}"#,
            ),
            // TC1: several
            (
                &["a@depth@100ms", "b@bookTicker"],
                12,
                r#"{"method":"SUBSCRIBE","params":["a@depth@100ms","b@bookTicker"],"id":12}"#,
            ),
        ];
        for (i, (streams, id, want)) in cases.iter().enumerate() {
            let streams: Vec<String> = streams.iter().map(|s| s.to_string()).collect();
            assert_eq!(subscribe_message(&streams, *id), *want, "TC{i}");
        }
    }

    #[test]
    fn construction_errors() {
        // TC0: an http URL is refused
        assert!(matches!(
            WsConn::new(spec("http://h"), Token(1), Some(1)),
            Err(ConnError::NotWebSocket(_))
        ));
        // TC1: wss without a TLS config is refused
        assert!(matches!(
            WsConn::new(spec("wss://h"), Token(1), Some(1)),
            Err(ConnError::NoTlsConfig)
        ));
        // TC2: ws builds the full URL and starts in Backoff, due now
        let c = WsConn::new(spec("ws://h:1/base"), Token(1), Some(1)).expect("ws");
        assert_eq!(c.url(), "ws://h:1/base/stream?streams=btcusdt@trade");
        assert_eq!(c.state(), ConnState::Backoff);
        assert!(c.next_deadline().is_some_and(|d| d <= Instant::now()));
    }

    #[test]
    fn subscribe_replies_move_to_live() {
        let mut c = WsConn::new(spec("ws://h:1"), Token(1), Some(1)).expect("ws");
        let now = Instant::now();
        c.state = ConnState::Subscribing;
        // TC0: an id that is not ours
        assert!(!c.on_subscribe_reply(7, true, now), "TC0");
        assert!(!c.on_subscribe_reply(0, true, now), "TC0");
        // TC1: first reply: still subscribing
        assert!(c.on_subscribe_reply(1, true, now), "TC1");
        assert_eq!(c.state(), ConnState::Subscribing, "TC1");
        // TC2: a duplicate reply is not counted twice
        assert!(c.on_subscribe_reply(1, false, now), "TC2");
        assert_eq!(c.counters().subscribe_errors, 0, "TC2");
        // TC3: the last reply (an error) makes it live and is counted
        assert!(c.on_subscribe_reply(2, false, now), "TC3");
        assert_eq!(c.state(), ConnState::Live, "TC3");
        assert_eq!(c.counters().subscribe_errors, 1, "TC3");
    }

    #[test]
    fn a_refused_connect_goes_to_backoff() {
        // A port nothing listens on: bind, note the port, drop the listener.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind")
            .port();
        let mut poll = mio::Poll::new().expect("poll");
        let mut events = mio::Events::with_capacity(8);
        let mut c =
            WsConn::new(spec(&format!("ws://127.0.0.1:{port}")), Token(1), Some(3)).expect("ws");
        let mut buf = Vec::new();
        let start = Instant::now();
        assert_eq!(c.on_timer(poll.registry(), start), Drive::Idle);
        // TC0: connecting, then refused -> Down with the reason and a reconnect scheduled
        let mut got = Drive::Idle;
        while start.elapsed() < Duration::from_secs(2) && got != Drive::Down {
            if c.state() == ConnState::Backoff {
                got = Drive::Down;
                break;
            }
            poll.poll(&mut events, Some(Duration::from_millis(50)))
                .expect("poll");
            got = c.drive(poll.registry(), Instant::now(), &mut buf);
        }
        assert_eq!(got, Drive::Down, "TC0");
        assert_eq!(c.state(), ConnState::Backoff, "TC0");
        assert!(!c.last_error().is_empty(), "TC0");
        assert_eq!(c.counters().attempts, 1, "TC0");
        assert!(c.next_deadline().is_some(), "TC0");
    }
}
