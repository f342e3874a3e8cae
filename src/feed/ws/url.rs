//! The few URL shapes the feed needs, parsed without a URL crate: WebSocket bases
//! (`ws://host:port/path`, `wss://...`) and REST bases (`http://...`, `https://...`).
//!
//! Only what Binance and the simulator use is accepted: a scheme, a host name or IP
//! address (IPv6 in brackets), an optional port and an optional path with query. User
//! info, fragments and whitespace are refused with an error that names the problem.

use thiserror::Error;

/// The URL scheme, which decides the default port and whether TLS wraps the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `ws://`: plain WebSocket.
    Ws,
    /// `wss://`: WebSocket over TLS.
    Wss,
    /// `http://`: plain HTTP/1.1.
    Http,
    /// `https://`: HTTP/1.1 over TLS.
    Https,
}

impl Scheme {
    /// Whether the connection is wrapped in TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, Scheme::Wss | Scheme::Https)
    }

    /// Whether this is a WebSocket scheme (`ws`/`wss`) rather than HTTP.
    pub fn is_websocket(self) -> bool {
        matches!(self, Scheme::Ws | Scheme::Wss)
    }

    /// The port used when the URL names none (80 or 443).
    pub fn default_port(self) -> u16 {
        if self.is_tls() {
            443
        } else {
            80
        }
    }

    /// The scheme as written in a URL, without `://`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Ws => "ws",
            Scheme::Wss => "wss",
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UrlError {
    /// The text was empty.
    #[error("empty URL")]
    Empty,
    /// The scheme is not one of `ws`, `wss`, `http`, `https` (or `://` is missing).
    #[error("URL `{0}`: the scheme must be ws://, wss://, http:// or https://")]
    Scheme(String),
    /// No host between `://` and the port or path.
    #[error("URL `{0}`: no host")]
    NoHost(String),
    /// The port is not a number from 1 to 65535.
    #[error("URL `{0}`: the port must be a number from 1 to 65535")]
    Port(String),
    /// A part this parser does not accept (user info, fragment, whitespace, a bad bracket).
    #[error("URL `{url}`: {what}")]
    Unsupported {
        /// The URL as given.
        url: String,
        /// What was not accepted.
        what: &'static str,
    },
    /// A WebSocket scheme was expected and an HTTP one given, or the other way round.
    #[error("URL `{url}`: expected a {expected} URL")]
    WrongKind {
        /// The URL as given.
        url: String,
        /// `"ws:// or wss://"` or `"http:// or https://"`.
        expected: &'static str,
    },
}

/// A parsed base URL: scheme, host, port and path (always starting with `/`, query
/// included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The scheme.
    pub scheme: Scheme,
    /// The host name or IP address, without brackets (`::1`, `127.0.0.1`, `stream.binance.com`).
    pub host: String,
    /// The port (the scheme's default when the URL has none).
    pub port: u16,
    /// The path and query, starting with `/` (`/` when the URL has none).
    pub path: String,
}

impl Endpoint {
    /// Parses any of the four schemes.
    pub fn parse(text: &str) -> Result<Endpoint, UrlError> {
        if text.is_empty() {
            return Err(UrlError::Empty);
        }
        let unsupported = |what| UrlError::Unsupported {
            url: text.to_string(),
            what,
        };
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(unsupported("whitespace or control characters"));
        }
        if text.contains('#') {
            return Err(unsupported("fragments (#...) are not supported"));
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| UrlError::Scheme(text.to_string()))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "ws" => Scheme::Ws,
            "wss" => Scheme::Wss,
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(UrlError::Scheme(text.to_string())),
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.contains('@') {
            return Err(unsupported("user info (user@host) is not supported"));
        }
        let (host, port) = if let Some(after) = authority.strip_prefix('[') {
            let (host, tail) = after
                .split_once(']')
                .ok_or_else(|| unsupported("unclosed `[` in an IPv6 host"))?;
            let port = match tail {
                "" => None,
                t => Some(
                    t.strip_prefix(':')
                        .ok_or_else(|| unsupported("text after `]` that is not `:port`"))?,
                ),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(UrlError::NoHost(text.to_string()));
        }
        if host.contains([':', '[', ']']) && !authority.starts_with('[') {
            return Err(unsupported("an IPv6 host must be written in brackets"));
        }
        let port = match port {
            None => scheme.default_port(),
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(UrlError::Port(text.to_string())),
            },
        };
        let path = if path.is_empty() {
            "/".to_string()
        } else if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        Ok(Endpoint {
            scheme,
            host: host.to_string(),
            port,
            path,
        })
    }

    /// Parses a `ws://` or `wss://` URL; an HTTP URL is [`UrlError::WrongKind`].
    pub fn parse_websocket(text: &str) -> Result<Endpoint, UrlError> {
        let e = Endpoint::parse(text)?;
        if !e.scheme.is_websocket() {
            return Err(UrlError::WrongKind {
                url: text.to_string(),
                expected: "ws:// or wss://",
            });
        }
        Ok(e)
    }

    /// Parses an `http://` or `https://` URL; a WebSocket URL is [`UrlError::WrongKind`].
    pub fn parse_http(text: &str) -> Result<Endpoint, UrlError> {
        let e = Endpoint::parse(text)?;
        if e.scheme.is_websocket() {
            return Err(UrlError::WrongKind {
                url: text.to_string(),
                expected: "http:// or https://",
            });
        }
        Ok(e)
    }

    /// `host` or `host:port` (brackets around IPv6), as sent in the `Host` header: the port
    /// is left out when it is the scheme's default, as browsers and Binance's docs do.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.scheme.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The base path without its query and trailing `/`, to which an endpoint path such
    /// as `/stream` or `/api/v3/depth` is appended (`""` for a bare host).
    pub fn base_path(&self) -> &str {
        let path = self.path.split('?').next().unwrap_or("");
        path.trim_end_matches('/')
    }

    /// The full URL for `path_and_query` under this base
    /// (`wss://stream.binance.com:9443/stream?streams=...`).
    pub fn url_for(&self, path_and_query: &str) -> String {
        format!(
            "{}://{}{}{}",
            self.scheme.as_str(),
            self.authority(),
            self.base_path(),
            path_and_query
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let ok = |scheme, host: &str, port, path: &str| {
            Ok(Endpoint {
                scheme,
                host: host.to_string(),
                port,
                path: path.to_string(),
            })
        };
        let cases: Vec<(&str, Result<Endpoint, UrlError>)> = vec![
            // TC0: Binance's combined-stream base with an explicit port
            (
                "wss://stream.binance.com:9443",
                ok(Scheme::Wss, "stream.binance.com", 9443, "/"),
            ),
            // TC1: a path and query are kept whole
            (
                "ws://127.0.0.1:8080/stream?streams=a@trade/b@trade",
                ok(
                    Scheme::Ws,
                    "127.0.0.1",
                    8080,
                    "/stream?streams=a@trade/b@trade",
                ),
            ),
            // TC2: default ports
            (
                "https://api.binance.com",
                ok(Scheme::Https, "api.binance.com", 443, "/"),
            ),
            // TC3
            (
                "http://localhost/api",
                ok(Scheme::Http, "localhost", 80, "/api"),
            ),
            // TC4: IPv6 in brackets
            ("ws://[::1]:9000/ws", ok(Scheme::Ws, "::1", 9000, "/ws")),
            // TC5: upper-case scheme
            ("WSS://h", ok(Scheme::Wss, "h", 443, "/")),
            // TC6: query without a path
            ("http://h:1?x=1", ok(Scheme::Http, "h", 1, "/?x=1")),
            // TC7: empty
            ("", Err(UrlError::Empty)),
            // TC8: unknown scheme
            ("ftp://h", Err(UrlError::Scheme("ftp://h".into()))),
            // TC9: no scheme at all
            (
                "stream.binance.com:9443",
                Err(UrlError::Scheme("stream.binance.com:9443".into())),
            ),
            // TC10: no host
            ("ws://:9443/x", Err(UrlError::NoHost("ws://:9443/x".into()))),
            // TC11: port out of range
            ("ws://h:70000", Err(UrlError::Port("ws://h:70000".into()))),
            // TC12: port zero
            ("ws://h:0", Err(UrlError::Port("ws://h:0".into()))),
            // TC13: port not a number
            ("ws://h:x1", Err(UrlError::Port("ws://h:x1".into()))),
            // TC14: empty port
            ("ws://h:", Err(UrlError::Port("ws://h:".into()))),
        ];
        for (i, (text, want)) in cases.into_iter().enumerate() {
            assert_eq!(Endpoint::parse(text), want, "TC{i}: {text}");
        }
    }

    #[test]
    fn refused_parts() {
        let cases = [
            // TC0: user info
            "ws://user:pw@h/x",
            // TC1: fragment
            "ws://h/x#frag",
            // TC2: whitespace
            "ws://h /x",
            // TC3: unclosed IPv6 bracket
            "ws://[::1/x",
            // TC4: IPv6 without brackets
            "ws://::1:80/x",
            // TC5: junk after the bracket
            "ws://[::1]x/",
        ];
        for (i, text) in cases.iter().enumerate() {
            assert!(
                matches!(Endpoint::parse(text), Err(UrlError::Unsupported { .. })),
                "TC{i}: {text} -> {:?}",
                Endpoint::parse(text)
            );
        }
    }

    #[test]
    fn kinds_authority_and_joined_urls() {
        // TC0: a WebSocket URL where HTTP is expected, and the other way round
        assert!(matches!(
            Endpoint::parse_http("wss://h"),
            Err(UrlError::WrongKind { .. })
        ));
        assert!(matches!(
            Endpoint::parse_websocket("https://h"),
            Err(UrlError::WrongKind { .. })
        ));
        let cases = [
            // TC1: the default port is left out of the authority
            ("wss://h:443", "h", "wss://h/stream?streams=x"),
            // TC2: other ports are kept; a base path is a prefix
            (
                "ws://h:9443/md/",
                "h:9443",
                "ws://h:9443/md/stream?streams=x",
            ),
            // TC3: IPv6 authority keeps its brackets; the base query is dropped
            (
                "ws://[::1]:1/?a=b",
                "[::1]:1",
                "ws://[::1]:1/stream?streams=x",
            ),
        ];
        for (i, (base, authority, joined)) in cases.iter().enumerate() {
            let e = Endpoint::parse(base).expect("valid");
            assert_eq!(e.authority(), *authority, "TC{}", i + 1);
            assert_eq!(e.url_for("/stream?streams=x"), *joined, "TC{}", i + 1);
        }
    }
}
