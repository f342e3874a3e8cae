//! Market data off the wire: Binance message decoding into integer ticks and lots, and the
//! per-symbol order book kept exactly in sync with Binance's snapshot + diff procedure.
//! This code runs on the market-data thread: it allocates nothing after warm-up, takes no
//! locks and never panics on bad input.

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
