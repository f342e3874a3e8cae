//! One WebSocket session: the upgrade (our HTTP parser already read the request, so the
//! 101 reply is written here and tungstenite takes over with `from_partially_read`),
//! then a loop on a non-blocking socket that writes queued market messages, answers the
//! client's methods, pings, and enforces Binance's connection rules.

use std::collections::{HashSet, VecDeque};
use std::io::{self, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError};
use serde_json::Value;
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::{CloseFrame, Frame};
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

use super::faults::Malformed;
use super::http::{self, json_string, Request, Response};
use super::market::{Outgoing, Subscriber};
use super::tls::Conn;
use super::{bump, lock, Shared};
use crate::sim::source::StreamKey;

/// What the upgrade request asked for.
#[derive(Debug, PartialEq)]
pub(crate) struct Route {
    pub(crate) streams: Vec<StreamKey>,
    pub(crate) combined: bool,
}

/// Maps the upgrade request's path to streams; `Err` is the HTTP reply that refuses it.
pub(crate) fn route(shared: &Shared, request: &Request) -> Result<Route, Response> {
    let (names, combined): (Vec<&str>, bool) = if request.path == "/ws" || request.path == "/ws/" {
        (Vec::new(), false)
    } else if let Some(rest) = request.path.strip_prefix("/ws/") {
        (rest.split('/').filter(|s| !s.is_empty()).collect(), false)
    } else if request.path == "/stream" || request.path == "/stream/" {
        let streams = request
            .query
            .split('&')
            .find_map(|p| p.strip_prefix("streams="))
            .unwrap_or("");
        (streams.split('/').filter(|s| !s.is_empty()).collect(), true)
    } else {
        return Err(Response::json(404, ""));
    };
    let mut streams = Vec::with_capacity(names.len());
    for name in names {
        let name = http::percent_decode(name);
        let key = StreamKey::parse(&name, &shared.symbols)
            .map_err(|_| Response::error(400, 2, "Invalid request: invalid stream"))?;
        if !streams.contains(&key) {
            streams.push(key);
        }
    }
    if streams.len() > shared.config.max_streams_per_conn {
        return Err(Response::error(
            400,
            2,
            &too_many_streams(shared.config.max_streams_per_conn),
        ));
    }
    Ok(Route { streams, combined })
}

fn too_many_streams(max: usize) -> String {
    format!("Invalid request: too many streams; a connection may hold at most {max}")
}

/// Upgrades the connection and runs the session until it ends.
pub(crate) fn serve(
    shared: &Arc<Shared>,
    mut conn: Conn,
    request: &Request,
    leftover: Vec<u8>,
    epoch: u64,
) {
    let route = match route(shared, request) {
        Ok(route) => route,
        Err(response) => {
            let _ = http::write_response(&mut conn, &response, true);
            return;
        }
    };
    let key = request.header("sec-websocket-key").unwrap_or("");
    if key.is_empty() || request.header("sec-websocket-version") != Some("13") {
        let response = Response::json(426, "").with_header("Sec-WebSocket-Version", "13");
        let _ = http::write_response(&mut conn, &response, true);
        return;
    }
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if conn.write_all(reply.as_bytes()).is_err() || conn.flush().is_err() {
        return;
    }
    if conn.tcp().set_read_timeout(None).is_err() || conn.tcp().set_nonblocking(true).is_err() {
        return;
    }
    bump(&shared.counters.ws_sessions);
    let (tx, rx) = bounded(shared.config.queue_capacity);
    let subscriber = Arc::new(Subscriber {
        streams: Mutex::new(route.streams.iter().copied().collect()),
        tx,
        slow: AtomicBool::new(false),
        gone: AtomicBool::new(false),
    });
    shared.registry.add(Arc::clone(&subscriber));
    let mut session = Session {
        shared: Arc::clone(shared),
        ws: WebSocket::from_partially_read(conn, leftover, Role::Server, None),
        set: route.streams.iter().copied().collect(),
        order: route.streams,
        combined: route.combined,
        subscriber: Arc::clone(&subscriber),
        rx,
        epoch,
        opened: Instant::now(),
        last_ping: Instant::now(),
        ping_seq: 0,
        outstanding: VecDeque::new(),
        incoming: VecDeque::new(),
        write_blocked: false,
        idle_wait: MIN_IDLE_WAIT,
    };
    session.run();
    shared.registry.remove(&subscriber);
}

/// How a session ended.
enum End {
    /// The peer closed or the socket failed: nothing more to send.
    Gone,
    /// Close with a Close frame.
    Close(CloseCode, &'static str),
    /// Drop the TCP connection without a Close frame (a fault).
    Abort,
}

struct Session {
    shared: Arc<Shared>,
    ws: WebSocket<Conn>,
    /// Subscribed streams, in subscription order (LIST_SUBSCRIPTIONS).
    order: Vec<StreamKey>,
    set: HashSet<StreamKey>,
    combined: bool,
    subscriber: Arc<Subscriber>,
    rx: Receiver<Outgoing>,
    epoch: u64,
    opened: Instant,
    last_ping: Instant,
    ping_seq: u64,
    /// Pings not yet answered: payload and when sent.
    outstanding: VecDeque<(Vec<u8>, Instant)>,
    /// When the recent incoming frames came (the per-second limit).
    incoming: VecDeque<Instant>,
    /// The socket refused bytes: wait before writing more.
    write_blocked: bool,
    /// How long an idle turn waits on the market queue before looking at the socket again:
    /// 1 ms after activity, doubling to [`MAX_IDLE_WAIT`] while nothing happens, so that an
    /// idle connection does not wake a thousand times a second. Market messages end the
    /// wait at once; only the client's own frames (pongs, SUBSCRIBE) wait up to that long.
    idle_wait: Duration,
}

/// The longest an idle connection's thread sleeps between looks at its socket.
const MAX_IDLE_WAIT: Duration = Duration::from_millis(16);
/// The idle wait right after activity.
const MIN_IDLE_WAIT: Duration = Duration::from_millis(1);

fn would_block(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(io) if io.kind() == io::ErrorKind::WouldBlock)
}

impl Session {
    fn run(&mut self) {
        let end = loop {
            match self.turn() {
                Ok(()) => {}
                Err(end) => break end,
            }
        };
        match end {
            End::Gone => {}
            End::Abort => {
                let _ = self.ws.get_ref().tcp().shutdown(Shutdown::Both);
            }
            End::Close(code, reason) => self.close(code, reason),
        }
    }

    /// One turn of the loop: rules, outgoing, incoming, then a short wait if idle.
    fn turn(&mut self) -> Result<(), End> {
        let shared = Arc::clone(&self.shared);
        let config = &shared.config;
        if shared.stopping() {
            return Err(End::Close(CloseCode::Away, "server shutting down"));
        }
        if shared.faults.close_epoch() != self.epoch {
            bump(&shared.counters.fault_closes);
            return Err(End::Abort);
        }
        if self.subscriber.slow.load(Ordering::Acquire) {
            return Err(End::Close(CloseCode::Policy, "slow consumer"));
        }
        let now = Instant::now();
        if now.duration_since(self.opened) >= config.max_age {
            bump(&shared.counters.max_age_closes);
            return Err(End::Close(CloseCode::Normal, "connection reached 24 hours"));
        }
        if let Some((_, sent)) = self.outstanding.front() {
            if now.duration_since(*sent) >= config.pong_timeout {
                bump(&shared.counters.pong_timeouts);
                return Err(End::Close(CloseCode::Policy, "pong timeout"));
            }
        }
        if now.duration_since(self.last_ping) >= config.ping_interval {
            self.ping_seq += 1;
            let payload = self.ping_seq.to_string().into_bytes();
            self.outstanding.push_back((payload.clone(), now));
            self.last_ping = now;
            bump(&shared.counters.pings_sent);
            self.write(Message::Ping(payload.into()))?;
        }
        let mut busy = false;
        if !self.write_blocked {
            for _ in 0..256 {
                match self.rx.try_recv() {
                    Ok(item) => {
                        busy = true;
                        self.send_market(&item)?;
                        if self.write_blocked {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        self.flush()?;
        loop {
            match self.ws.read() {
                Ok(message) => {
                    busy = true;
                    self.on_message(message)?;
                }
                Err(e) if would_block(&e) => break,
                Err(_) => return Err(End::Gone),
            }
        }
        if busy {
            self.idle_wait = MIN_IDLE_WAIT;
        } else if self.write_blocked {
            thread::sleep(MIN_IDLE_WAIT);
        } else {
            match self.rx.recv_timeout(self.idle_wait) {
                Ok(item) => {
                    self.idle_wait = MIN_IDLE_WAIT;
                    self.send_market(&item)?;
                    self.flush()?;
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    self.idle_wait = (self.idle_wait * 2).min(MAX_IDLE_WAIT);
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, message: Message) -> Result<(), End> {
        match self.ws.write(message) {
            Ok(()) => Ok(()),
            // The frame is buffered; the socket is full.
            Err(e) if would_block(&e) => {
                self.write_blocked = true;
                Ok(())
            }
            Err(_) => Err(End::Gone),
        }
    }

    fn flush(&mut self) -> Result<(), End> {
        match self.ws.flush() {
            Ok(()) => {
                self.write_blocked = false;
                Ok(())
            }
            Err(e) if would_block(&e) => {
                self.write_blocked = true;
                Ok(())
            }
            Err(_) => Err(End::Gone),
        }
    }

    fn send_market(&mut self, item: &Outgoing) -> Result<(), End> {
        // The market's snapshot of our streams may lag an UNSUBSCRIBE: filter again.
        if !self.set.contains(&item.key) {
            return Ok(());
        }
        let message = render(item, self.combined, &self.shared);
        bump(&self.shared.counters.messages_sent);
        self.write(message)
    }

    fn on_message(&mut self, message: Message) -> Result<(), End> {
        match message {
            Message::Text(_) | Message::Binary(_) | Message::Ping(_) | Message::Pong(_) => {}
            Message::Close(_) | Message::Frame(_) => return Ok(()),
        }
        let now = Instant::now();
        self.incoming.push_back(now);
        while self
            .incoming
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.incoming.pop_front();
        }
        if self.incoming.len() > self.shared.config.max_incoming_per_sec as usize {
            bump(&self.shared.counters.rate_limit_closes);
            return Err(End::Close(CloseCode::Policy, "too many messages"));
        }
        match message {
            Message::Pong(payload) => {
                if let Some(i) = self
                    .outstanding
                    .iter()
                    .position(|(p, _)| p[..] == payload[..])
                {
                    // Answering a ping answers every older one too.
                    self.outstanding.drain(..=i);
                }
                Ok(())
            }
            Message::Text(text) => {
                let reply = self.request(text.as_str());
                self.write(Message::text(reply))?;
                self.flush()
            }
            Message::Binary(bytes) => {
                let reply = match std::str::from_utf8(&bytes) {
                    Ok(text) => self.request(text),
                    Err(_) => bare(3, "Invalid JSON: invalid UTF-8"),
                };
                self.write(Message::text(reply))?;
                self.flush()
            }
            // tungstenite queued the Pong reply itself.
            _ => Ok(()),
        }
    }

    /// Answers one method call (Binance's reply shapes, see the module doc of `server`).
    fn request(&mut self, text: &str) -> String {
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return bare(3, &format!("Invalid JSON: {e}")),
        };
        let Some(object) = value.as_object() else {
            return bare(2, "Invalid request: expected a JSON object");
        };
        let id = match object.get("id") {
            Some(Value::Null) => Value::Null,
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Value::Number(n.clone()),
            Some(Value::String(s))
                if !s.is_empty()
                    && s.len() <= 36
                    && s.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                Value::String(s.clone())
            }
            _ => return bare(2, "Invalid request: request ID must be an unsigned integer"),
        };
        let method = match object.get("method") {
            Some(Value::String(m)) => m.as_str(),
            Some(_) => return error(&id, 2, "Invalid request: method must be a string"),
            None => return error(&id, 2, "Invalid request: missing field `method`"),
        };
        let params = object.get("params");
        match method {
            "SUBSCRIBE" | "UNSUBSCRIBE" => {
                let Some(Value::Array(params)) = params else {
                    return error(&id, 2, "Invalid request: missing field `params`");
                };
                let mut keys = Vec::with_capacity(params.len());
                for param in params {
                    let Some(name) = param.as_str() else {
                        return error(&id, 2, "Invalid request: invalid stream");
                    };
                    match StreamKey::parse(name, &self.shared.symbols) {
                        Ok(key) => keys.push(key),
                        Err(_) => return error(&id, 2, "Invalid request: invalid stream"),
                    }
                }
                if method == "SUBSCRIBE" {
                    let new = keys.iter().filter(|k| !self.set.contains(k)).count();
                    let max = self.shared.config.max_streams_per_conn;
                    if self.set.len() + new > max {
                        return error(&id, 2, &too_many_streams(max));
                    }
                    for key in keys {
                        if self.set.insert(key) {
                            self.order.push(key);
                        }
                    }
                } else {
                    for key in &keys {
                        self.set.remove(key);
                    }
                    let set = &self.set;
                    self.order.retain(|k| set.contains(k));
                }
                *lock(&self.subscriber.streams) = self.set.clone();
                self.shared.registry.changed();
                success(&id, "null")
            }
            "LIST_SUBSCRIPTIONS" => {
                let names: Vec<String> = self
                    .order
                    .iter()
                    .map(|k| json_string(&k.name(&self.shared.symbols)))
                    .collect();
                success(&id, &format!("[{}]", names.join(",")))
            }
            "SET_PROPERTY" | "GET_PROPERTY" => {
                let arity = if method == "SET_PROPERTY" { 2 } else { 1 };
                let Some(Value::Array(params)) = params else {
                    return error(&id, 2, "Invalid request: missing field `params`");
                };
                if params.len() > arity {
                    return error(&id, 2, "Invalid request: too many parameters");
                }
                let Some(name) = params.first() else {
                    return error(&id, 2, "Invalid request: property name must be a string");
                };
                let Some(name) = name.as_str() else {
                    return error(&id, 2, "Invalid request: property name must be a string");
                };
                if name != "combined" {
                    return error(&id, 0, "Unknown property");
                }
                if arity == 1 {
                    return success(&id, if self.combined { "true" } else { "false" });
                }
                match params.get(1) {
                    Some(Value::Bool(b)) => {
                        self.combined = *b;
                        success(&id, "null")
                    }
                    _ => error(&id, 1, "Invalid value type: expected Boolean"),
                }
            }
            other => error(
                &id,
                2,
                &format!(
                    "Invalid request: unknown variant `{other}`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"
                ),
            ),
        }
    }

    /// Sends a Close frame and waits briefly for the peer's, so that the peer reads the
    /// frame before the socket goes (no reset over unread data).
    fn close(&mut self, code: CloseCode, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = self.ws.close(Some(frame));
        let deadline = Instant::now() + Duration::from_millis(200);
        while Instant::now() < deadline {
            match self.ws.read() {
                Ok(_) => {}
                Err(e) if would_block(&e) => {
                    let _ = self.ws.flush();
                    thread::sleep(Duration::from_millis(1));
                }
                Err(_) => break,
            }
        }
        self.ws.get_mut().close_notify();
        let _ = self.ws.get_ref().tcp().shutdown(Shutdown::Both);
    }
}

/// `{"result":..,"id":..}`
fn success(id: &Value, result: &str) -> String {
    format!("{{\"result\":{result},\"id\":{id}}}")
}

/// `{"error":{"code":..,"msg":".."},"id":..}`
fn error(id: &Value, code: i32, msg: &str) -> String {
    format!(
        "{{\"error\":{{\"code\":{code},\"msg\":{}}},\"id\":{id}}}",
        json_string(msg)
    )
}

/// `{"code":..,"msg":".."}`: the id could not be read.
fn bare(code: i32, msg: &str) -> String {
    format!("{{\"code\":{code},\"msg\":{}}}", json_string(msg))
}

/// The frame a market message goes out as: raw body or combined wrapper, broken when a
/// fault says so.
fn render(item: &Outgoing, combined: bool, shared: &Shared) -> Message {
    let wrap = |name: &str| format!("{{\"stream\":\"{name}\",\"data\":{}}}", item.payload);
    let body = if combined {
        wrap(&item.name)
    } else {
        item.payload.to_string()
    };
    match item.malformed {
        None => Message::text(body),
        Some(Malformed::Truncated) => {
            let mut cut = body.len() / 2;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            Message::text(&body[..cut])
        }
        Some(Malformed::InvalidUtf8) => {
            let mut bytes = body.into_bytes();
            let mid = bytes.len() / 2;
            bytes.splice(mid..mid, [0xFF, 0xFE]);
            Message::Frame(Frame::message(bytes, OpCode::Data(Data::Text), true))
        }
        Some(Malformed::UnknownStream) => {
            let symbol = shared
                .symbols
                .get(item.key.symbol)
                .map_or("", |s| s.symbol.as_str());
            if combined {
                wrap(&format!("{}@simUnknownStream", symbol.to_ascii_lowercase())).into()
            } else {
                Message::text(format!(
                    "{{\"e\":\"simUnknownEvent\",\"E\":{},\"s\":\"{symbol}\"}}",
                    item.event_time_ms
                ))
            }
        }
    }
}
