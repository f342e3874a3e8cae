//! Market data off the wire, from the socket to an exact per-symbol order book and klines.
//!
//! Which thread runs what:
//! * the md threads ([`md`]) own everything on the per-message path: the WebSocket
//!   connections ([`ws`]), decoding into integer ticks and lots ([`binance`], [`fixed`]), the
//!   order books kept in sync with Binance's snapshot + diff procedure ([`book`]) and the
//!   kline builders ([`kline_builder`]). That path allocates nothing after warm-up, takes no
//!   locks and never panics on bad input;
//! * helper threads do what may block: the REST fetcher ([`rest`]: depth snapshots, kline
//!   backfill), host-name resolution ([`ws::resolver`]) and, for `pinewire record`, the
//!   capture writer ([`record`], [`capture_writer`]);
//! * offline tools read captures ([`capture`], [`book_check`]).

pub mod binance;
pub mod capture;
pub mod capture_writer;
pub mod fixed;
pub mod kline_builder;

/// Which side of the book a level is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy orders (`b` in Binance messages).
    Bid,
    /// Sell orders (`a` in Binance messages).
    Ask,
}

pub mod book;
pub mod book_check;
pub mod md;
pub mod record;
pub mod rest;
pub mod ws;
