//! Socket tests of the server over loopback: a raw WebSocket client of our own (sees every
//! frame, pings included, and can refuse to pong), tungstenite's blocking client (plain
//! and over rustls with the generated certificate) and a tiny HTTP/1.1 client.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::testing::{expected, TestMarket};
use super::{start, FaultPlan, SimConfig, SimHandle, Speed};

const BOTH: &[&str] = &["BTCUSDT", "ETHUSDT"];

fn sim(market: TestMarket, configure: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut config = SimConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        ..SimConfig::default()
    };
    configure(&mut config);
    start(config, Box::new(market)).expect("start the simulator")
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------- raw WebSocket client

#[derive(Debug, PartialEq)]
enum Ev {
    Frame(u8, Vec<u8>),
    Eof,
}

struct RawWs {
    tcp: TcpStream,
    buf: Vec<u8>,
}

const OP_TEXT: u8 = 0x1;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

impl RawWs {
    fn connect(addr: SocketAddr, path: &str) -> io::Result<RawWs> {
        let mut tcp = TcpStream::connect(addr)?;
        tcp.set_read_timeout(Some(Duration::from_millis(10)))?;
        write!(
            tcp,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )?;
        let mut buf = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(pos) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..pos]).to_string();
                if !head.starts_with("HTTP/1.1 101") {
                    return Err(io::Error::other(head));
                }
                assert!(
                    head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
                    "accept key: {head}"
                );
                buf.drain(..pos + 4);
                return Ok(RawWs { tcp, buf });
            }
            match tcp.read(&mut chunk) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if super::http::is_timeout(&e) => {
                    if Instant::now() > deadline {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The next frame; `None` on timeout.
    fn next(&mut self, timeout: Duration) -> Option<Ev> {
        let deadline = Instant::now() + timeout;
        let mut chunk = [0u8; 65536];
        loop {
            if let Some((op, payload, used)) = parse_frame(&self.buf) {
                self.buf.drain(..used);
                return Some(Ev::Frame(op, payload));
            }
            match self.tcp.read(&mut chunk) {
                Ok(0) => return Some(Ev::Eof),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if super::http::is_timeout(&e) => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                }
                Err(_) => return Some(Ev::Eof),
            }
        }
    }

    fn send(&mut self, op: u8, payload: &[u8]) {
        let mask = [1u8, 2, 3, 4];
        let mut frame = vec![0x80 | op];
        if payload.len() < 126 {
            frame.push(0x80 | payload.len() as u8);
        } else {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.tcp.write_all(&frame).expect("client write");
    }

    fn text(&mut self, text: &str) {
        self.send(OP_TEXT, text.as_bytes());
    }

    /// The next text frame, answering pings; `None` on timeout, close or EOF.
    fn next_text(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left)? {
                Ev::Frame(OP_TEXT, p) => return Some(String::from_utf8_lossy(&p).into_owned()),
                Ev::Frame(OP_PING, p) => self.send(OP_PONG, &p),
                Ev::Frame(OP_CLOSE, _) | Ev::Eof => return None,
                Ev::Frame(..) => {}
            }
        }
    }

    /// Text frames until `n` have come or `timeout` passes.
    fn texts(&mut self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_text(left) {
                Some(t) => out.push(t),
                None => break,
            }
        }
        out
    }

    /// Reads until the close frame; its status code, or `None` if the connection ended
    /// without one (or `timeout` passed).
    fn close_code(&mut self, timeout: Duration) -> Option<u16> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left)? {
                Ev::Frame(OP_CLOSE, p) => {
                    return (p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]]))
                }
                Ev::Eof => return None,
                Ev::Frame(..) => {}
            }
        }
    }
}

fn parse_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    if buf.len() < 2 {
        return None;
    }
    let op = buf[0] & 0x0F;
    let (len, header) = match buf[1] & 0x7F {
        126 => {
            if buf.len() < 4 {
                return None;
            }
            (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4)
        }
        127 => {
            if buf.len() < 10 {
                return None;
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(b) as usize, 10)
        }
        n => (n as usize, 2),
    };
    if buf.len() < header + len {
        return None;
    }
    Some((op, buf[header..header + len].to_vec(), header + len))
}

fn method(ws: &mut RawWs, request: &str) -> String {
    ws.text(request);
    ws.next_text(Duration::from_secs(2))
        .unwrap_or_else(|| panic!("no reply to {request}"))
}

// ---------------------------------------------------------------- HTTP client

trait Rw: Read + Write {}
impl<T: Read + Write> Rw for T {}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn weight(&self) -> Option<u32> {
        self.header("X-MBX-USED-WEIGHT-1M")
            .and_then(|v| v.parse().ok())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Http {
    stream: Box<dyn Rw>,
    buf: Vec<u8>,
}

impl Http {
    fn plain(addr: SocketAddr) -> Http {
        let tcp = TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        Http {
            stream: Box::new(tcp),
            buf: Vec::new(),
        }
    }

    fn request(&mut self, method: &str, target: &str) -> io::Result<Reply> {
        write!(
            self.stream,
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        )?;
        let mut chunk = [0u8; 65536];
        let head_end = loop {
            if let Some(pos) = find(&self.buf, b"\r\n\r\n") {
                break pos;
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other(head.clone()))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while self.buf.len() < head_end + 4 + length {
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let body =
            String::from_utf8_lossy(&self.buf[head_end + 4..head_end + 4 + length]).to_string();
        self.buf.drain(..head_end + 4 + length);
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    fn get(&mut self, target: &str) -> Reply {
        self.request("GET", target)
            .unwrap_or_else(|e| panic!("GET {target}: {e}"))
    }
}

fn tls_client(cert_der: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(cert_der.to_vec()))
        .expect("trust the simulator's certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn tls_stream(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(Arc::clone(config), name).expect("client");
    rustls::StreamOwned::new(conn, tcp)
}

// ---------------------------------------------------------------- streams

#[test]
fn raw_and_combined_streams_carry_the_source_bodies() {
    let cases: &[(&str, &[&str], bool)] = &[
        // TC0: one raw stream
        ("/ws/btcusdt@depth@100ms", &["btcusdt@depth@100ms"], false),
        // TC1: two raw streams in the path
        (
            "/ws/btcusdt@trade/ethusdt@bookTicker",
            &["btcusdt@trade", "ethusdt@bookTicker"],
            false,
        ),
        // TC2: combined streams, wrapped
        (
            "/stream?streams=btcusdt@depth@100ms/ethusdt@trade/btcusdt@depth",
            &["btcusdt@depth@100ms", "ethusdt@trade", "btcusdt@depth"],
            true,
        ),
    ];
    for (i, (path, streams, combined)) in cases.iter().enumerate() {
        let handle = sim(TestMarket::new(30), |c| c.speed = Speed::AsFastAsRead);
        let mut ws = RawWs::connect(handle.local_addr(), path).expect("connect");
        let want = expected(BOTH, 30, streams);
        let got = ws.texts(want.len(), Duration::from_secs(5));
        assert_eq!(got.len(), want.len(), "TC{i}: message count");
        for (k, (text, (name, body))) in got.iter().zip(&want).enumerate() {
            let wanted = if *combined {
                format!("{{\"stream\":\"{name}\",\"data\":{body}}}")
            } else {
                body.clone()
            };
            assert_eq!(text, &wanted, "TC{i}: message {k}");
        }
        assert_eq!(
            ws.next_text(Duration::from_millis(100)),
            None,
            "TC{i}: extra"
        );
        wait_for("exhaustion", Duration::from_secs(2), || {
            handle.stats().market_exhausted
        });
        assert_eq!(handle.stats().messages_sent, want.len() as u64, "TC{i}");
    }
}

#[test]
fn set_property_combined_wraps_the_next_messages() {
    // 100 ms of market time per 20 ms of wall time: the switch lands mid-stream.
    let handle = sim(TestMarket::new(40), |c| c.speed = Speed::RealTime(5.0));
    let mut ws = RawWs::connect(handle.local_addr(), "/ws/btcusdt@trade").expect("connect");
    let want = expected(BOTH, 40, &["btcusdt@trade"]);
    let first = ws.texts(3, Duration::from_secs(2));
    assert!(
        want.iter().any(|(_, body)| *body == first[0]),
        "{}",
        first[0]
    );
    ws.text(r#"{"method":"SET_PROPERTY","params":["combined",true],"id":5}"#);
    let mut after_reply = false;
    let mut wrapped = 0;
    while let Some(text) = ws.next_text(Duration::from_millis(300)) {
        if text == r#"{"result":null,"id":5}"# {
            after_reply = true;
        } else if after_reply {
            assert!(
                text.starts_with(r#"{"stream":"btcusdt@trade","data":{"e":"trade""#),
                "{text}"
            );
            wrapped += 1;
        } else {
            assert!(text.starts_with(r#"{"e":"trade""#), "{text}");
        }
    }
    assert!(
        after_reply && wrapped > 0,
        "reply {after_reply}, wrapped {wrapped}"
    );
}

#[test]
fn methods_and_error_replies() {
    let handle = sim(TestMarket::new(0), |c| c.max_incoming_per_sec = 100);
    let mut ws = RawWs::connect(handle.local_addr(), "/ws").expect("connect");
    let unknown = "Invalid request: unknown variant `FOO`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`";
    let cases: Vec<(&str, String)> = vec![
        // TC0: subscribe
        (
            r#"{"method":"SUBSCRIBE","params":["btcusdt@trade","ethusdt@depth@100ms"],"id":1}"#,
            r#"{"result":null,"id":1}"#.into(),
        ),
        // TC1: list, in subscription order
        (
            r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#,
            r#"{"result":["btcusdt@trade","ethusdt@depth@100ms"],"id":3}"#.into(),
        ),
        // TC2: unsubscribe
        (
            r#"{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":312}"#,
            r#"{"result":null,"id":312}"#.into(),
        ),
        // TC3: list again, string id
        (
            r#"{"method":"LIST_SUBSCRIPTIONS","id":"abc1"}"#,
            r#"{"result":["ethusdt@depth@100ms"],"id":"abc1"}"#.into(),
        ),
        // TC4: properties
        (
            r#"{"method":"GET_PROPERTY","params":["combined"],"id":2}"#,
            r#"{"result":false,"id":2}"#.into(),
        ),
        (
            r#"{"method":"SET_PROPERTY","params":["combined",true],"id":5}"#,
            r#"{"result":null,"id":5}"#.into(),
        ),
        (
            r#"{"method":"GET_PROPERTY","params":["combined"],"id":6}"#,
            r#"{"result":true,"id":6}"#.into(),
        ),
        // TC7: invalid JSON: bare shape, code 3
        (
            "not json",
            r#"{"code":3,"msg":"Invalid JSON: expected ident at line 1 column 2"}"#.into(),
        ),
        // TC8: bad id: bare shape
        (
            r#"{"method":"LIST_SUBSCRIPTIONS","id":1.5}"#,
            r#"{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"}"#.into(),
        ),
        // TC9: unknown method
        (
            r#"{"method":"FOO","id":7}"#,
            format!(r#"{{"error":{{"code":2,"msg":"{unknown}"}},"id":7}}"#),
        ),
        // TC10: invalid stream (unknown kind, upper-case symbol, unknown symbol)
        (
            r#"{"method":"SUBSCRIBE","params":["btcusdt@nonsense"],"id":8}"#,
            r#"{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":8}"#.into(),
        ),
        (
            r#"{"method":"SUBSCRIBE","params":["BTCUSDT@trade"],"id":9}"#,
            r#"{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":9}"#.into(),
        ),
        (
            r#"{"method":"SUBSCRIBE","params":["xrpusdt@trade"],"id":null}"#,
            r#"{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":null}"#.into(),
        ),
        // TC13: unknown property, non-boolean value
        (
            r#"{"method":"SET_PROPERTY","params":["colour",true],"id":10}"#,
            r#"{"error":{"code":0,"msg":"Unknown property"},"id":10}"#.into(),
        ),
        (
            r#"{"method":"SET_PROPERTY","params":["combined","yes"],"id":11}"#,
            r#"{"error":{"code":1,"msg":"Invalid value type: expected Boolean"},"id":11}"#.into(),
        ),
        // TC15: missing method, too many parameters
        (
            r#"{"params":[],"id":12}"#,
            r#"{"error":{"code":2,"msg":"Invalid request: missing field `method`"},"id":12}"#
                .into(),
        ),
        (
            r#"{"method":"GET_PROPERTY","params":["combined",1],"id":13}"#,
            r#"{"error":{"code":2,"msg":"Invalid request: too many parameters"},"id":13}"#.into(),
        ),
        // TC17: the failed subscriptions changed nothing
        (
            r#"{"method":"LIST_SUBSCRIPTIONS","id":14}"#,
            r#"{"result":["ethusdt@depth@100ms"],"id":14}"#.into(),
        ),
    ];
    for (i, (request, reply)) in cases.iter().enumerate() {
        assert_eq!(&method(&mut ws, request), reply, "TC{i}: {request}");
    }
}

#[test]
fn the_sixth_message_in_a_second_disconnects() {
    let handle = sim(TestMarket::new(0), |_| {});
    let mut ws = RawWs::connect(handle.local_addr(), "/ws").expect("connect");
    for id in 0..6 {
        ws.text(&format!(r#"{{"method":"LIST_SUBSCRIPTIONS","id":{id}}}"#));
    }
    let replies = ws.texts(6, Duration::from_secs(2));
    assert_eq!(
        replies.len(),
        5,
        "five replies, then the close: {replies:?}"
    );
    assert_eq!(replies[4], r#"{"result":[],"id":4}"#);
    // The close frame came (texts stopped at it); then the connection ends.
    assert_eq!(ws.next(Duration::from_secs(1)), Some(Ev::Eof));
    wait_for("the counter", Duration::from_secs(1), || {
        handle.stats().rate_limit_closes == 1
    });

    // Five a second is fine.
    let mut ws = RawWs::connect(handle.local_addr(), "/ws").expect("connect");
    for id in 0..5 {
        assert_eq!(
            method(
                &mut ws,
                &format!(r#"{{"method":"LIST_SUBSCRIPTIONS","id":{id}}}"#)
            ),
            format!(r#"{{"result":[],"id":{id}}}"#)
        );
    }
    std::thread::sleep(Duration::from_millis(1050));
    assert_eq!(
        method(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":9}"#),
        r#"{"result":[],"id":9}"#
    );
}

#[test]
fn stream_limit_per_connection() {
    let names: Vec<String> = (0..40).map(|i| format!("S{i:02}USDT")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let handle = sim(TestMarket::with_symbols(&refs, 0), |c| {
        c.max_incoming_per_sec = 100
    });
    let kinds = [
        "trade",
        "aggTrade",
        "bookTicker",
        "depth",
        "depth@100ms",
        "depth5",
        "depth10",
        "depth20",
        "depth5@100ms",
        "depth10@100ms",
        "depth20@100ms",
        "kline_1s",
        "kline_1m",
        "kline_3m",
        "kline_5m",
        "kline_15m",
        "kline_30m",
        "kline_1h",
        "kline_2h",
        "kline_4h",
        "kline_6h",
        "kline_8h",
        "kline_12h",
        "kline_1d",
        "kline_3d",
        "kline_1w",
        "kline_1M",
    ];
    let streams: Vec<String> = names
        .iter()
        .flat_map(|n| {
            kinds
                .iter()
                .map(move |k| format!("{}@{k}", n.to_lowercase()))
        })
        .take(1025)
        .collect();
    assert_eq!(streams.len(), 1025);
    let params = |s: &[String]| serde_json::to_string(s).expect("json");
    let mut ws = RawWs::connect(handle.local_addr(), "/ws").expect("connect");
    let too_many =
        r#""msg":"Invalid request: too many streams; a connection may hold at most 1024"#;
    // TC0: 1025 at once: refused
    let reply = method(
        &mut ws,
        &format!(
            r#"{{"method":"SUBSCRIBE","params":{},"id":1}}"#,
            params(&streams)
        ),
    );
    assert!(
        reply.contains(too_many) && reply.contains(r#""code":2"#),
        "TC0: {reply}"
    );
    // TC1: 1024: accepted
    let reply = method(
        &mut ws,
        &format!(
            r#"{{"method":"SUBSCRIBE","params":{},"id":2}}"#,
            params(&streams[..1024])
        ),
    );
    assert_eq!(reply, r#"{"result":null,"id":2}"#, "TC1");
    // TC2: one more: refused
    let reply = method(
        &mut ws,
        &format!(
            r#"{{"method":"SUBSCRIBE","params":{},"id":3}}"#,
            params(&streams[1024..])
        ),
    );
    assert!(reply.contains(too_many), "TC2: {reply}");
    // TC3: an existing one again: fine
    let reply = method(
        &mut ws,
        &format!(
            r#"{{"method":"SUBSCRIBE","params":{},"id":4}}"#,
            params(&streams[..1])
        ),
    );
    assert_eq!(reply, r#"{"result":null,"id":4}"#, "TC3");
    let list: Value = serde_json::from_str(&method(
        &mut ws,
        r#"{"method":"LIST_SUBSCRIPTIONS","id":5}"#,
    ))
    .expect("json");
    assert_eq!(list["result"].as_array().map(Vec::len), Some(1024));
    // TC4: in the URL: HTTP 400
    let path = format!("/stream?streams={}", streams.join("/"));
    assert!(RawWs::connect(handle.local_addr(), &path).is_err(), "TC4");
}

#[test]
fn upgrade_paths() {
    let handle = sim(TestMarket::new(0), |_| {});
    let cases: &[(&str, bool)] = &[
        // TC0..2: accepted
        ("/ws", true),
        ("/stream?streams=btcusdt@trade", true),
        ("/ws/btcusdt@kline_1M", true),
        // TC3..5: refused
        ("/ws/btcusdt@ticker!", false),
        ("/websocket", false),
        ("/stream?streams=BTCUSDT@trade", false),
    ];
    for (i, (path, ok)) in cases.iter().enumerate() {
        assert_eq!(
            RawWs::connect(handle.local_addr(), path).is_ok(),
            *ok,
            "TC{i}: {path}"
        );
    }
}

// ---------------------------------------------------------------- connection rules

#[test]
fn pong_timeout_drops_silent_clients_only() {
    let handle = sim(TestMarket::new(0), |c| {
        c.ping_interval = Duration::from_millis(100);
        c.pong_timeout = Duration::from_millis(300);
        c.max_incoming_per_sec = 100;
    });
    let addr = handle.local_addr();
    // TC0: never pongs: closed after the timeout with a close frame
    let mut silent = RawWs::connect(addr, "/ws").expect("connect");
    let opened = Instant::now();
    let mut pings = 0;
    let code = loop {
        match silent.next(Duration::from_secs(3)) {
            Some(Ev::Frame(OP_PING, _)) => pings += 1,
            Some(Ev::Frame(OP_CLOSE, p)) => break u16::from_be_bytes([p[0], p[1]]),
            other => panic!("TC0: {other:?}"),
        }
    };
    let elapsed = opened.elapsed();
    assert_eq!(code, 1008, "TC0: policy violation");
    assert!(pings >= 2, "TC0: pings {pings}");
    assert!(
        elapsed >= Duration::from_millis(380) && elapsed < Duration::from_millis(1500),
        "TC0: closed after {elapsed:?}"
    );
    // TC1: pongs with the wrong payload (unsolicited): still dropped
    let mut wrong = RawWs::connect(addr, "/ws").expect("connect");
    let dropped = loop {
        match wrong.next(Duration::from_secs(3)) {
            Some(Ev::Frame(OP_PING, _)) => wrong.send(OP_PONG, b"nope"),
            Some(Ev::Frame(OP_CLOSE, _)) | Some(Ev::Eof) => break true,
            None => break false,
            Some(_) => {}
        }
    };
    assert!(dropped, "TC1");
    // TC2: echoes each ping: still open after 1 s (tungstenite's client pongs by itself)
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    let (mut client, _) =
        tungstenite::client::client(format!("ws://{addr}/ws"), tcp).expect("handshake");
    let started = Instant::now();
    let mut pings = 0;
    while started.elapsed() < Duration::from_millis(1000) {
        match client.read() {
            Ok(tungstenite::Message::Ping(_)) => pings += 1,
            Ok(other) => panic!("TC2: {other:?}"),
            Err(tungstenite::Error::Io(e)) if super::http::is_timeout(&e) => {}
            Err(e) => panic!("TC2: dropped: {e}"),
        }
    }
    assert!(pings >= 8, "TC2: pings {pings}");
    assert_eq!(handle.stats().pong_timeouts, 2);
}

#[test]
fn max_age_closes_with_a_close_frame() {
    let handle = sim(TestMarket::new(0), |c| {
        c.max_age = Duration::from_millis(300)
    });
    let mut ws = RawWs::connect(handle.local_addr(), "/ws").expect("connect");
    let opened = Instant::now();
    assert_eq!(ws.close_code(Duration::from_secs(3)), Some(1000));
    let elapsed = opened.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    wait_for("the counter", Duration::from_secs(1), || {
        handle.stats().max_age_closes == 1
    });
}

#[test]
fn exhausted_market_keeps_connections_and_pings() {
    let handle = sim(TestMarket::new(3), |c| {
        c.speed = Speed::AsFastAsRead;
        c.ping_interval = Duration::from_millis(100);
        c.max_incoming_per_sec = 100;
    });
    let mut ws = RawWs::connect(handle.local_addr(), "/ws/btcusdt@trade").expect("connect");
    assert_eq!(ws.texts(3, Duration::from_secs(2)).len(), 3);
    wait_for("exhaustion", Duration::from_secs(2), || {
        handle.stats().market_exhausted
    });
    let mut pings = 0;
    while pings < 3 {
        match ws.next(Duration::from_secs(1)) {
            Some(Ev::Frame(OP_PING, p)) => {
                pings += 1;
                ws.send(OP_PONG, &p);
            }
            other => panic!("after exhaustion: {other:?}"),
        }
    }
    let stats = handle.stats();
    assert_eq!((stats.market_steps, stats.connections_closed), (3, 0));
}

#[test]
fn shutdown_sends_going_away() {
    let mut handle = sim(TestMarket::new(0), |_| {});
    let mut ws = RawWs::connect(handle.local_addr(), "/ws").expect("connect");
    wait_for("the session", Duration::from_secs(1), || {
        handle.stats().ws_sessions == 1
    });
    let started = Instant::now();
    handle.shutdown();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(ws.close_code(Duration::from_secs(2)), Some(1001));
    assert_eq!(handle.stats().connections_closed, 1);
}

// ---------------------------------------------------------------- faults

fn depth_bodies(faults: FaultPlan, steps: u64) -> (Vec<Vec<u8>>, SimHandle) {
    let handle = sim(TestMarket::new(steps), |c| {
        c.speed = Speed::AsFastAsRead;
        c.faults = faults;
    });
    let mut ws = RawWs::connect(handle.local_addr(), "/ws/btcusdt@depth@100ms").expect("ws");
    let mut frames = Vec::new();
    while let Some(ev) = ws.next(Duration::from_millis(300)) {
        match ev {
            Ev::Frame(OP_TEXT, p) => frames.push(p),
            Ev::Frame(OP_PING, p) => ws.send(OP_PONG, &p),
            other => panic!("{other:?}"),
        }
    }
    wait_for("exhaustion", Duration::from_secs(2), || {
        handle.stats().market_exhausted
    });
    (frames, handle)
}

#[test]
fn per_message_faults() {
    let steps = 60;
    let want: Vec<Vec<u8>> = expected(BOTH, steps, &["btcusdt@depth@100ms"])
        .into_iter()
        .map(|(_, b)| b.into_bytes())
        .collect();
    let plan = |f: &dyn Fn(&mut FaultPlan)| {
        let mut p = FaultPlan {
            seed: 42,
            ..FaultPlan::default()
        };
        f(&mut p);
        p
    };

    // TC0: drop: the rest arrive in order, the drops are counted
    let (got, handle) = depth_bodies(plan(&|p| p.drop = 0.3), steps);
    let dropped = handle.stats().dropped_by_fault as usize;
    assert!(dropped > 5 && dropped < 35, "TC0: dropped {dropped}");
    assert_eq!(got.len() + dropped, want.len(), "TC0");
    let mut it = want.iter();
    assert!(got.iter().all(|g| it.any(|w| w == g)), "TC0: in order");

    // TC1: duplicate: every message twice in a row
    let (got, handle) = depth_bodies(plan(&|p| p.duplicate = 1.0), steps);
    assert_eq!(got.len(), 2 * want.len(), "TC1");
    for (k, w) in want.iter().enumerate() {
        assert_eq!((&got[2 * k], &got[2 * k + 1]), (w, w), "TC1: {k}");
    }
    assert_eq!(handle.stats().duplicated_by_fault, steps, "TC1");

    // TC2: reorder: each pair swapped
    let (got, handle) = depth_bodies(plan(&|p| p.reorder = 1.0), steps);
    assert_eq!(got.len(), want.len(), "TC2");
    for k in (0..want.len()).step_by(2) {
        assert_eq!((&got[k], &got[k + 1]), (&want[k + 1], &want[k]), "TC2: {k}");
    }
    assert_eq!(handle.stats().reordered_by_fault, steps / 2, "TC2");

    // TC3: malformed: truncated JSON, invalid UTF-8, unknown event, all three seen
    let (got, handle) = depth_bodies(plan(&|p| p.malformed = 1.0), steps);
    assert_eq!(got.len(), want.len(), "TC3");
    let (mut truncated, mut utf8, mut unknown) = (0, 0, 0);
    for (g, w) in got.iter().zip(&want) {
        match std::str::from_utf8(g) {
            Err(_) => utf8 += 1,
            Ok(text) => match serde_json::from_str::<Value>(text) {
                Err(_) => {
                    assert!(w.starts_with(g) && g.len() < w.len(), "TC3: {text}");
                    truncated += 1;
                }
                Ok(v) => {
                    assert_eq!(v["e"], "simUnknownEvent", "TC3: {text}");
                    unknown += 1;
                }
            },
        }
    }
    assert!(
        truncated > 0 && utf8 > 0 && unknown > 0,
        "TC3: {truncated} {utf8} {unknown}"
    );
    assert_eq!(handle.stats().malformed_by_fault, steps, "TC3");

    // TC4: delay: everything arrives, later messages overtake the delayed ones
    let (got, handle) = depth_bodies(
        plan(&|p| {
            p.delay = 0.3;
            p.delay_ms = 40;
        }),
        steps,
    );
    let delayed = handle.stats().delayed_by_fault;
    assert!(delayed > 5, "TC4: delayed {delayed}");
    assert_eq!(got.len(), want.len(), "TC4");
    assert_ne!(got, want, "TC4: some overtaken");
    let mut sorted = got.clone();
    sorted.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(sorted, want_sorted, "TC4: same messages");

    // TC5: the same seed gives the same faults
    let (a, _) = depth_bodies(plan(&|p| p.drop = 0.5), steps);
    let (b, _) = depth_bodies(plan(&|p| p.drop = 0.5), steps);
    assert_eq!(a, b, "TC5");
}

#[test]
fn connection_faults() {
    let handle = sim(TestMarket::new(0), |_| {});
    let addr = handle.local_addr();
    let faults = handle.faults();

    // TC0: refuse the next two connections
    faults.refuse_next_connections(2);
    assert!(RawWs::connect(addr, "/ws").is_err(), "TC0: first");
    assert!(RawWs::connect(addr, "/ws").is_err(), "TC0: second");
    assert!(RawWs::connect(addr, "/ws").is_ok(), "TC0: third");
    assert_eq!(handle.stats().connections_refused, 2, "TC0");

    // TC1: refuse for a while
    faults.refuse_connections_for(Duration::from_millis(200));
    assert!(RawWs::connect(addr, "/ws").is_err(), "TC1: during");
    std::thread::sleep(Duration::from_millis(250));
    assert!(RawWs::connect(addr, "/ws").is_ok(), "TC1: after");

    // TC2: close all now: no close frame, the socket just ends
    let mut a = RawWs::connect(addr, "/ws").expect("connect");
    let mut b = RawWs::connect(addr, "/stream?streams=btcusdt@trade").expect("connect");
    let mut rest = Http::plain(addr);
    assert_eq!(rest.get("/api/v3/ping").status, 200);
    let before = handle.stats().fault_closes;
    faults.close_all_now();
    assert_eq!(a.close_code(Duration::from_secs(1)), None, "TC2: a");
    assert_eq!(b.next(Duration::from_secs(1)), Some(Ev::Eof), "TC2: b");
    assert!(rest.request("GET", "/api/v3/ping").is_err(), "TC2: rest");
    wait_for("the counter", Duration::from_secs(1), || {
        handle.stats().fault_closes >= before + 3
    });

    // TC3: close every 150 ms
    faults.set_close_every(Some(Duration::from_millis(150)));
    let mut c = RawWs::connect(addr, "/ws").expect("connect");
    let opened = Instant::now();
    assert_eq!(c.next(Duration::from_secs(1)), Some(Ev::Eof), "TC3");
    assert!(opened.elapsed() < Duration::from_millis(400), "TC3");
    faults.set_close_every(None);

    // TC4: REST refused with 503 for a while
    faults.refuse_rest_for(Duration::from_millis(200));
    let mut rest = Http::plain(addr);
    let reply = rest.get("/api/v3/ping");
    assert_eq!(reply.status, 503, "TC4");
    assert_eq!(reply.json()["code"], -1008, "TC4");
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(rest.get("/api/v3/ping").status, 200, "TC4: after");
}

#[test]
fn stall_stops_the_market_then_catches_up() {
    let handle = sim(TestMarket::new(200), |c| c.speed = Speed::RealTime(10.0));
    let mut ws = RawWs::connect(handle.local_addr(), "/ws/btcusdt@depth@100ms").expect("ws");
    // 100 ms of market time is 10 ms of wall time.
    assert_eq!(ws.texts(5, Duration::from_secs(2)).len(), 5);
    handle.faults().stall_for(Duration::from_millis(300));
    let stalled_at = Instant::now();
    let mut arrivals = Vec::new();
    while arrivals.len() < 40 {
        ws.next_text(Duration::from_secs(2)).expect("message");
        arrivals.push(Instant::now());
    }
    let gap = arrivals
        .windows(2)
        .map(|w| w[1] - w[0])
        .chain([arrivals[0] - stalled_at])
        .max()
        .unwrap_or_default();
    assert!(gap >= Duration::from_millis(250), "longest gap {gap:?}");
    // After the stall the backlog comes in a burst, on schedule overall.
    let total = arrivals[39] - stalled_at;
    assert!(total < Duration::from_millis(800), "caught up in {total:?}");
}

#[test]
fn real_time_pacing_follows_market_time() {
    // 20 steps of 100 ms at 4x: 25 ms of wall time per step.
    let handle = sim(TestMarket::new(20), |c| c.speed = Speed::RealTime(4.0));
    let mut ws = RawWs::connect(handle.local_addr(), "/ws/btcusdt@trade").expect("ws");
    let event_time = |text: &str| -> i64 {
        let v: Value = serde_json::from_str(text).expect("json");
        v["E"].as_i64().expect("E")
    };
    let mut arrivals = Vec::new();
    while let Some(text) = ws.next_text(Duration::from_millis(300)) {
        arrivals.push((Instant::now(), event_time(&text)));
    }
    assert!(arrivals.len() >= 10, "{} messages", arrivals.len());
    let (first, last) = (arrivals[0], arrivals[arrivals.len() - 1]);
    let market_ms = (last.1 - first.1) as f64;
    let wall_ms = (last.0 - first.0).as_secs_f64() * 1000.0;
    let ratio = wall_ms / (market_ms / 4.0);
    assert!(
        (0.85..1.6).contains(&ratio),
        "wall {wall_ms} ms for {market_ms} ms of market"
    );
}

#[test]
fn admin_endpoint() {
    let handle = sim(TestMarket::new(0), |_| {});
    let mut http = Http::plain(handle.local_addr());
    let cases: &[(&str, &str, u16, &str)] = &[
        // TC0: set probabilities
        (
            "POST",
            "/sim/faults?drop=0.25&duplicate=0.1&seed=9",
            200,
            r#""drop":0.25,"duplicate":0.1"#,
        ),
        // TC1: read back
        ("GET", "/sim/faults", 200, r#""seed":9,"drop":0.25"#),
        // TC2: out of range: 400, unchanged
        ("POST", "/sim/faults?drop=2", 400, r#""code":-1130"#),
        ("GET", "/sim/faults", 200, r#""drop":0.25"#),
        // TC4: unknown parameter
        (
            "POST",
            "/sim/faults?explode=1",
            400,
            "unknown fault parameter",
        ),
        // TC5: clear
        (
            "POST",
            "/sim/faults?clear=1",
            200,
            r#""drop":0,"duplicate":0"#,
        ),
        // TC6: stats
        ("GET", "/sim/stats", 200, r#""connections_accepted":1"#),
        // TC7: wrong method, unknown admin path
        ("DELETE", "/sim/faults", 405, ""),
        ("GET", "/sim/nothing", 404, ""),
    ];
    for (i, (m, target, status, contains)) in cases.iter().enumerate() {
        let reply = http.request(m, target).expect("request");
        assert_eq!(reply.status, *status, "TC{i}: {}", reply.body);
        assert!(reply.body.contains(contains), "TC{i}: {}", reply.body);
        assert_eq!(reply.weight(), None, "TC{i}: admin carries no weight");
    }
    assert_eq!(handle.faults().plan().drop, 0.0);
}

// ---------------------------------------------------------------- REST

#[test]
fn rest_endpoints_and_errors() {
    let handle = sim(TestMarket::new(0), |_| {});
    let mut http = Http::plain(handle.local_addr());
    let err = |code: i32, msg: &str| format!(r#"{{"code":{code},"msg":"{msg}"}}"#);
    // (target, status, body: exact or prefix with a trailing '*', weight)
    let cases: Vec<(&str, u16, String, u32)> = vec![
        // TC0: ping, time
        ("/api/v3/ping", 200, "{}".into(), 1),
        ("/api/v3/time", 200, r#"{"serverTime":*"#.into(), 1),
        // TC2: exchangeInfo, all, one, a list
        (
            "/api/v3/exchangeInfo",
            200,
            r#"{"timezone":"UTC","serverTime":*"#.into(),
            20,
        ),
        ("/api/v3/exchangeInfo?symbol=ETHUSDT", 200, "{*".into(), 20),
        (
            "/api/v3/exchangeInfo?symbols=%5B%22ETHUSDT%22,%22BTCUSDT%22%5D",
            200,
            "{*".into(),
            20,
        ),
        (
            "/api/v3/exchangeInfo?symbol=XRPUSDT",
            400,
            err(-1121, "Invalid symbol."),
            20,
        ),
        // TC6: depth and its weights by limit
        (
            "/api/v3/depth?symbol=BTCUSDT&limit=2",
            200,
            r#"{"lastUpdateId":1000,"bids":[["60000.00000000","1.00000000"],["59999.99000000","1.00000000"]],"asks":[["60000.01000000","2.00000000"],["60000.02000000","2.00000000"]]}"#.into(),
            5,
        ),
        ("/api/v3/depth?symbol=BTCUSDT", 200, "{*".into(), 5),
        ("/api/v3/depth?symbol=BTCUSDT&limit=500", 200, "{*".into(), 25),
        ("/api/v3/depth?symbol=BTCUSDT&limit=1000", 200, "{*".into(), 50),
        ("/api/v3/depth?symbol=BTCUSDT&limit=5000", 200, "{*".into(), 250),
        ("/api/v3/depth?symbol=BTCUSDT&limit=6000", 200, "{*".into(), 250),
        // TC12: depth errors
        (
            "/api/v3/depth",
            400,
            err(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."),
            5,
        ),
        (
            "/api/v3/depth?symbol=btcusdt",
            400,
            err(-1100, "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'."),
            5,
        ),
        (
            "/api/v3/depth?symbol=BTCUSDT&limit=0",
            400,
            err(-1130, "Data sent for parameter 'limit' is not valid."),
            5,
        ),
        (
            "/api/v3/depth?symbol=BTCUSDT&limit=ten",
            400,
            err(-1100, "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."),
            5,
        ),
        // TC16: klines
        (
            "/api/v3/klines?symbol=BTCUSDT&interval=1m",
            200,
            r#"[[1709251200000,"60000.00000000","60000.00000000","60000.00000000","60000.00000000","1.00000000",1709251259999,"60000.00000000",1,"0.50000000","60000.00000000","0"]]"#.into(),
            2,
        ),
        (
            "/api/v3/klines?symbol=BTCUSDT",
            400,
            err(-1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed."),
            2,
        ),
        (
            "/api/v3/klines?symbol=BTCUSDT&interval=2m",
            400,
            err(-1120, "Invalid interval."),
            2,
        ),
        (
            "/api/v3/klines?symbol=BTCUSDT&interval=1M",
            400,
            err(-1130, "Data sent for parameter 'interval' is not valid."),
            2,
        ),
        (
            "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001",
            400,
            err(-1130, "Data sent for parameter 'limit' is not valid."),
            2,
        ),
        (
            "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=2&endTime=1",
            400,
            err(-1128, "Combination of optional parameters invalid."),
            2,
        ),
        (
            "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=x",
            400,
            err(-1100, "Illegal characters found in parameter 'startTime'; legal range is '^[0-9]{1,20}$'."),
            2,
        ),
        // TC23: trades
        ("/api/v3/trades?symbol=ETHUSDT&limit=3", 200, "[]".into(), 25),
        // TC24: unknown path
        ("/api/v3/ticker/nothing", 404, "".into(), 0),
    ];
    let mut used = 0;
    for (i, (target, status, body, weight)) in cases.iter().enumerate() {
        let reply = http.get(target);
        used += weight;
        assert_eq!(reply.status, *status, "TC{i}: {target}: {}", reply.body);
        match body.strip_suffix('*') {
            Some(prefix) => assert!(reply.body.starts_with(prefix), "TC{i}: {}", reply.body),
            None => assert_eq!(&reply.body, body, "TC{i}"),
        }
        assert_eq!(reply.weight(), Some(used), "TC{i}: weight header");
        assert_eq!(
            reply.header("Content-Type"),
            Some("application/json;charset=UTF-8"),
            "TC{i}"
        );
        if reply.status == 200 && reply.body.starts_with('{') {
            serde_json::from_str::<Value>(&reply.body).expect("valid JSON");
        }
    }
}

#[test]
fn exchange_info_shape() {
    let handle = sim(TestMarket::new(0), |_| {});
    let mut http = Http::plain(handle.local_addr());
    let all = http.get("/api/v3/exchangeInfo").json();
    assert_eq!(all["rateLimits"][0]["rateLimitType"], "REQUEST_WEIGHT");
    assert_eq!(all["rateLimits"][0]["limit"], 6000);
    assert_eq!(all["exchangeFilters"], Value::Array(Vec::new()));
    let symbols = all["symbols"].as_array().expect("symbols");
    assert_eq!(symbols.len(), 2);
    let btc = &symbols[0];
    let cases: &[(&str, Value)] = &[
        // TC0: identity and status
        ("symbol", "BTCUSDT".into()),
        ("status", "TRADING".into()),
        ("baseAsset", "BTC".into()),
        ("quoteAsset", "USDT".into()),
        // TC4: precisions
        ("baseAssetPrecision", 8.into()),
        ("quoteAssetPrecision", 8.into()),
        ("isSpotTradingAllowed", true.into()),
    ];
    for (i, (field, value)) in cases.iter().enumerate() {
        assert_eq!(&btc[field], value, "TC{i}: {field}");
    }
    let filter = |t: &str| {
        btc["filters"]
            .as_array()
            .and_then(|f| f.iter().find(|x| x["filterType"] == t).cloned())
            .unwrap_or_else(|| panic!("filter {t}"))
    };
    assert_eq!(filter("PRICE_FILTER")["tickSize"], "0.01000000");
    assert_eq!(filter("LOT_SIZE")["stepSize"], "0.00001000");
    assert_eq!(filter("MARKET_LOT_SIZE")["maxQty"], "9000.00000000");
    assert_eq!(filter("NOTIONAL")["minNotional"], "5.00000000");
    assert!(btc["orderTypes"]
        .as_array()
        .is_some_and(|o| o.contains(&"LIMIT".into())));
    let one = http.get("/api/v3/exchangeInfo?symbol=ETHUSDT").json();
    assert_eq!(one["symbols"].as_array().map(Vec::len), Some(1));
    assert_eq!(one["symbols"][0]["symbol"], "ETHUSDT");
    let list = http
        .get("/api/v3/exchangeInfo?symbols=%5B%22ETHUSDT%22%5D")
        .json();
    assert_eq!(list["symbols"][0]["symbol"], "ETHUSDT");
    let both = http.get("/api/v3/exchangeInfo?symbol=ETHUSDT&symbols=%5B%5D");
    assert_eq!(both.json()["code"], -1128);
}

#[test]
fn weight_limit_gives_429_then_418() {
    let handle = sim(TestMarket::new(0), |c| {
        c.rest_weight_limit = 50;
        c.rest_ban_after = 1;
    });
    let mut http = Http::plain(handle.local_addr());
    // (target, status, weight header)
    let cases: &[(&str, u16, u32)] = &[
        // TC0..1: 20 + 20
        ("/api/v3/exchangeInfo", 200, 20),
        ("/api/v3/exchangeInfo", 200, 40),
        // TC2: 60 > 50: 429, not charged
        ("/api/v3/exchangeInfo", 429, 40),
        // TC3: a ping still fits (and resets the run of 429s)
        ("/api/v3/ping", 200, 41),
        // TC4: 429 again, then a second one in a row bans
        ("/api/v3/exchangeInfo", 429, 41),
        ("/api/v3/exchangeInfo", 418, 41),
        // TC6: banned even for a ping
        ("/api/v3/ping", 418, 41),
    ];
    for (i, (target, status, weight)) in cases.iter().enumerate() {
        let reply = http.get(target);
        assert_eq!(reply.status, *status, "TC{i}: {}", reply.body);
        assert_eq!(reply.weight(), Some(*weight), "TC{i}");
        if *status != 200 {
            assert_eq!(reply.json()["code"], -1003, "TC{i}");
            let retry: u64 = reply
                .header("Retry-After")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("TC{i}: Retry-After"));
            assert!((1..=120).contains(&retry), "TC{i}: Retry-After {retry}");
        }
    }
    let stats = handle.stats();
    assert_eq!((stats.rest_429, stats.rest_418), (2, 2));
}

// ---------------------------------------------------------------- TLS and tungstenite

#[test]
fn tungstenite_clients_plain_and_tls() {
    for (i, tls) in [false, true].into_iter().enumerate() {
        let handle = sim(TestMarket::new(10), |c| {
            c.speed = Speed::AsFastAsRead;
            c.tls = tls;
        });
        let addr = handle.local_addr();
        let url = format!("{}/stream?streams=btcusdt@trade", handle.ws_url());
        let want = expected(BOTH, 10, &["btcusdt@trade"]);
        let mut got = Vec::new();
        if tls {
            let pem = handle.cert_pem().expect("pem");
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "TC{i}");
            assert!(url.starts_with("wss://127.0.0.1:"), "TC{i}: {url}");
            let config = tls_client(handle.cert_der().expect("der"));
            let stream = tls_stream(addr, &config);
            let (mut ws, _) = tungstenite::client::client(url, stream).expect("TC1: handshake");
            while got.len() < want.len() {
                got.push(
                    ws.read()
                        .expect("TC1: read")
                        .into_text()
                        .expect("text")
                        .to_string(),
                );
            }
            let mut https = Http {
                stream: Box::new(tls_stream(addr, &config)),
                buf: Vec::new(),
            };
            let reply = https.get("/api/v3/ping");
            assert_eq!(
                (reply.status, reply.weight()),
                (200, Some(1)),
                "TC{i}: https"
            );
            assert!(handle.rest_url().starts_with("https://"), "TC{i}");
        } else {
            assert!(handle.cert_der().is_none(), "TC{i}");
            let tcp = TcpStream::connect(addr).expect("connect");
            let (mut ws, _) = tungstenite::client::client(url, tcp).expect("TC0: handshake");
            while got.len() < want.len() {
                got.push(
                    ws.read()
                        .expect("TC0: read")
                        .into_text()
                        .expect("text")
                        .to_string(),
                );
            }
        }
        for (k, (text, (name, body))) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                text,
                &format!("{{\"stream\":\"{name}\",\"data\":{body}}}"),
                "TC{i}: {k}"
            );
        }
    }
}

#[test]
fn with_market_reads_the_source() {
    let handle = sim(TestMarket::new(5), |c| c.speed = Speed::AsFastAsRead);
    assert_eq!(handle.with_market(|m| m.last_update_id(0)), 1000);
    let mut ws = RawWs::connect(handle.local_addr(), "/ws/btcusdt@trade").expect("ws");
    assert_eq!(ws.texts(5, Duration::from_secs(2)).len(), 5);
    wait_for("exhaustion", Duration::from_secs(2), || {
        handle.stats().market_exhausted
    });
    assert_eq!(handle.with_market(|m| m.last_update_id(0)), 1010);
    assert_eq!(handle.with_market(|m| m.next_time_ms()), None);
}

#[test]
fn bad_configs_are_refused() {
    let cases: &[fn(&mut SimConfig)] = &[
        // TC0: zero speed
        |c| c.speed = Speed::RealTime(0.0),
        // TC1: zero ping interval
        |c| c.ping_interval = Duration::ZERO,
        // TC2: no streams allowed
        |c| c.max_streams_per_conn = 0,
        // TC3: probability over one
        |c| c.faults.drop = 1.5,
    ];
    for (i, configure) in cases.iter().enumerate() {
        let mut config = SimConfig {
            bind: "127.0.0.1:0".parse().expect("addr"),
            ..SimConfig::default()
        };
        configure(&mut config);
        assert!(start(config, super::testing_market(0)).is_err(), "TC{i}");
    }
    assert!(Speed::parse("max").is_ok_and(|s| s == Speed::AsFastAsRead));
    assert!(Speed::parse("10").is_ok_and(|s| s == Speed::RealTime(10.0)));
    assert!(Speed::parse("-1").is_err() && Speed::parse("fast").is_err());
}
