//! The Binance-compatible exchange simulator (`pinewire sim`): it stands in for Binance,
//! which our machines cannot reach, so that the same feed (and, later, order) code runs
//! against it unchanged.
//!
//! The simulator speaks Binance's documented wire formats exactly and reuses nothing of the
//! engine but the Binance message formats, so that it stays an honest stand-in. It runs on
//! its own threads, never on the engine's hot threads. Its parts:
//!
//! * [`source`]: the contract between a market (what happens) and the server (who hears
//!   it): stream names, kline intervals, the [`source::MarketSource`] trait.
//! * [`market`]: the markets themselves (capture replay, synthesis from kline files).
//! * [`prng`]: the seeded generator behind the synthesized market and the faults.
//! * [`server`]: the sockets: Binance's WebSocket streams and REST market data on one
//!   port (plain or TLS), pacing, subscriptions, connection rules and fault injection.
pub mod market;
pub mod prng;
pub mod server;
pub mod source;
