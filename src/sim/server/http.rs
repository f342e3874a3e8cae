//! A minimal HTTP/1.1 server side: hand-parsed request line and headers, `Content-Length`
//! bodies, keep-alive. Enough for Binance's REST market-data endpoints, the admin endpoint
//! and the WebSocket upgrade request; nothing more (no chunked request bodies).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// Largest request head (request line + headers) accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Largest request body accepted.
const MAX_BODY: usize = 64 * 1024;

/// One parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// The path without the query (`/api/v3/depth`).
    pub(crate) path: String,
    /// The raw query after `?` (not decoded), empty when none.
    pub(crate) query: String,
    /// Header names in lower case, values trimmed.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// `HTTP/1.0` (closes after the reply unless `Connection: keep-alive`).
    pub(crate) http10: bool,
}

impl Request {
    /// The first header of that name (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// True when the header is a comma-separated list containing `token` (any case).
    pub(crate) fn header_has(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Whether the connection stays open after the reply.
    pub(crate) fn keep_alive(&self) -> bool {
        if self.header_has("connection", "close") {
            return false;
        }
        !self.http10 || self.header_has("connection", "keep-alive")
    }

    /// A WebSocket upgrade request (`Upgrade: websocket`).
    pub(crate) fn is_upgrade(&self) -> bool {
        self.method == "GET" && self.header_has("upgrade", "websocket")
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed (or went idle past the limit, or we are shutting down) between
    /// requests: close quietly.
    Closed,
    /// The request could not be parsed: answer 400 (or 413/431) and close.
    Bad(u16, &'static str),
    /// A socket error.
    Io,
}

/// Reads one request from `stream` (blocking with a short read timeout set by the caller),
/// using and refilling `buf`, which keeps bytes that arrived after this request. Gives up
/// with [`ReadError::Closed`] when `stop()` turns true or after `idle` without a request.
pub(crate) fn read_request(
    stream: &mut impl Read,
    buf: &mut Vec<u8>,
    idle: Duration,
    stop: &dyn Fn() -> bool,
) -> Result<Request, ReadError> {
    let started = Instant::now();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = find(buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Bad(431, "Request Header Fields Too Large"));
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err(ReadError::Closed),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if is_timeout(&e) => {
                if stop() || started.elapsed() >= idle {
                    return Err(ReadError::Closed);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(ReadError::Io),
        }
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| ReadError::Bad(400, "Bad Request"))?
        .to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(400, "Bad Request"));
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(ReadError::Bad(505, "HTTP Version Not Supported")),
    };
    if method.is_empty() || !target.starts_with('/') {
        return Err(ReadError::Bad(400, "Bad Request"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or(ReadError::Bad(400, "Bad Request"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.to_string(), String::new()),
    };
    let mut request = Request {
        method: method.to_string(),
        path,
        query,
        headers,
        body: Vec::new(),
        http10,
    };
    if request.header("transfer-encoding").is_some() {
        return Err(ReadError::Bad(501, "Not Implemented"));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| ReadError::Bad(400, "Bad Request"))?,
    };
    if length > MAX_BODY {
        return Err(ReadError::Bad(413, "Payload Too Large"));
    }
    let body_start = head_end + 4;
    while buf.len() < body_start + length {
        match stream.read(&mut chunk) {
            Ok(0) => return Err(ReadError::Closed),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if is_timeout(&e) => {
                if stop() || started.elapsed() >= idle {
                    return Err(ReadError::Closed);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(ReadError::Io),
        }
    }
    request.body = buf[body_start..body_start + length].to_vec();
    buf.drain(..body_start + length);
    Ok(request)
}

/// A read that timed out (`set_read_timeout`) or would block.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One reply: status, extra headers, JSON body.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: String,
}

impl Response {
    pub(crate) fn json(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Binance's error body `{"code":..,"msg":".."}`.
    pub(crate) fn error(status: u16, code: i32, msg: &str) -> Response {
        Response::json(
            status,
            format!("{{\"code\":{code},\"msg\":{}}}", json_string(msg)),
        )
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// Writes `response`; `close` adds `Connection: close`.
pub(crate) fn write_response(
    stream: &mut impl Write,
    response: &Response,
    close: bool,
) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\n",
        response.status,
        reason(response.status),
        response.body.len()
    );
    for (name, value) in &response.headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&response.body);
    stream.write_all(out.as_bytes())?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        418 => "I'm a teapot",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// A JSON string literal (quotes and escapes).
pub(crate) fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Splits a query string (or form body) into decoded `(name, value)` pairs.
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// `%XX` and `+` decoding; a malformed escape is kept as written.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests() {
        type Parsed<'a> = Result<(&'a str, &'a str, &'a str, bool), u16>;
        let cases: &[(&str, Parsed)] = &[
            // TC0: REST GET with query, keep-alive by default
            (
                "GET /api/v3/depth?symbol=BTCUSDT&limit=5 HTTP/1.1\r\nHost: x\r\n\r\n",
                Ok(("GET", "/api/v3/depth", "symbol=BTCUSDT&limit=5", true)),
            ),
            // TC1: HTTP/1.0 closes
            (
                "GET /api/v3/ping HTTP/1.0\r\n\r\n",
                Ok(("GET", "/api/v3/ping", "", false)),
            ),
            // TC2: Connection: close
            (
                "GET /api/v3/ping HTTP/1.1\r\nConnection: close\r\n\r\n",
                Ok(("GET", "/api/v3/ping", "", false)),
            ),
            // TC3: body by Content-Length
            (
                "POST /sim/faults HTTP/1.1\r\nContent-Length: 8\r\n\r\ndrop=0.1",
                Ok(("POST", "/sim/faults", "", true)),
            ),
            // TC4: garbage
            ("HELLO\r\n\r\n", Err(400)),
            // TC5: bad version
            ("GET / HTTP/2.0\r\n\r\n", Err(505)),
            // TC6: header without colon
            ("GET / HTTP/1.1\r\nbroken\r\n\r\n", Err(400)),
        ];
        for (i, (text, expected)) in cases.iter().enumerate() {
            let mut stream = io::Cursor::new(text.as_bytes().to_vec());
            let mut buf = Vec::new();
            let got = read_request(&mut stream, &mut buf, Duration::from_secs(1), &|| false);
            match (got, expected) {
                (Ok(r), Ok((m, p, q, ka))) => {
                    assert_eq!(
                        (&r.method[..], &r.path[..], &r.query[..], r.keep_alive()),
                        (*m, *p, *q, *ka),
                        "TC{i}"
                    );
                }
                (Err(ReadError::Bad(code, _)), Err(expected)) => {
                    assert_eq!(code, *expected, "TC{i}")
                }
                (got, _) => panic!("TC{i}: {got:?}"),
            }
        }
    }

    #[test]
    fn keeps_pipelined_bytes() {
        let text = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let mut stream = io::Cursor::new(text.as_bytes().to_vec());
        let mut buf = Vec::new();
        let stop = || false;
        let a = read_request(&mut stream, &mut buf, Duration::from_secs(1), &stop);
        let b = read_request(&mut stream, &mut buf, Duration::from_secs(1), &stop);
        assert_eq!(a.map(|r| r.path).ok().as_deref(), Some("/a"));
        assert_eq!(b.map(|r| r.path).ok().as_deref(), Some("/b"));
        assert!(matches!(
            read_request(&mut stream, &mut buf, Duration::from_secs(1), &stop),
            Err(ReadError::Closed)
        ));
    }

    #[test]
    fn decodes_queries() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            // TC0: plain
            ("a=1&b=2", &[("a", "1"), ("b", "2")]),
            // TC1: percent-encoded JSON array
            (
                "symbols=%5B%22BTCUSDT%22,%22ETHUSDT%22%5D",
                &[("symbols", "[\"BTCUSDT\",\"ETHUSDT\"]")],
            ),
            // TC2: bad escape kept, plus as space, no value
            ("x=%zz+1&flag", &[("x", "%zz 1"), ("flag", "")]),
            // TC3: trailing percent
            ("x=5%", &[("x", "5%")]),
        ];
        for (i, (query, expected)) in cases.iter().enumerate() {
            let got = parse_query(query);
            let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (&k[..], &v[..])).collect();
            assert_eq!(&got[..], *expected, "TC{i}");
        }
    }
}
