//! The market-data WebSocket client: URL parsing ([`url`]), the rustls client
//! configuration ([`tls`]), reconnect backoff with full jitter ([`backoff`]) and one
//! non-blocking connection on mio + rustls + tungstenite ([`conn`]).
//!
//! Everything here runs on a market-data thread (see [`crate::feed::md`]), driven by its
//! `mio::Poll`; nothing blocks: host names are resolved on a thread of their own
//! ([`resolver`]).
//! On the per-message path nothing allocates after warm-up (tungstenite included, as
//! measured by `tests/feed_client.rs` for frames well under its 128 KiB read buffer).

pub mod backoff;
pub mod conn;
pub mod resolver;
pub mod tls;
pub mod url;

pub use backoff::{Backoff, BackoffConfig};
pub use conn::{ConnCounters, ConnSpec, ConnState, Drive, WsConn};
pub use resolver::Resolver;
pub use tls::TrustedCert;
pub use url::{Endpoint, Scheme, UrlError};
