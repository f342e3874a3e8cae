//! The market-data WebSocket client: URL parsing ([`url`]), the rustls client
//! configuration ([`tls`]), reconnect backoff with full jitter ([`backoff`]) and one
//! non-blocking connection on mio + rustls + tungstenite ([`conn`]).
//!
//! Everything here runs on a market-data thread (see [`crate::feed::md`]), driven by its
//! `mio::Poll`; nothing blocks except host-name resolution when a connection (re)starts.
//! On the per-message path only tungstenite allocates (one buffer per message).

pub mod backoff;
pub mod conn;
pub mod tls;
pub mod url;

pub use backoff::{Backoff, BackoffConfig};
pub use conn::{ConnCounters, ConnSpec, ConnState, Drive, WsConn};
pub use tls::TrustedCert;
pub use url::{Endpoint, Scheme, UrlError};
