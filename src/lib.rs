//! pinewire: a low-latency trading engine for the Binance spot market that runs
//! strategies written in Pine Script.
//!
//! The crate is organised by subsystem (see `DESIGN.md` of the project):
//!
//! * [`pine`]: the Pine Script compiler and bytecode VM. Knows nothing of sockets,
//!   exchanges or threads: it takes bars and emits order commands.
//! * [`history`]: readers for historical kline files (Binance CSV, freqtrade JSON and
//!   feather) used by the backtester and, later, by the simulator.
//! * [`backtest`]: the bar-driven runner, TradingView-compatible broker emulator,
//!   statistics and reports.
//! * [`feed`]: Binance market-data decoding and the local order book.
//! * [`sim`]: the Binance-compatible exchange simulator that stands in for Binance.
//! * [`calendar`]: UTC calendar arithmetic and ISO-8601 text shared by every subsystem.
//! * [`exec`]: order signing, exchange filters and the Binance order-side messages (the order
//!   thread itself is not built yet).
//! * [`risk`]: the risk manager: pre-trade caps, stop-based sizing, daily halt, failure pause.
//! * [`cli`]: the `pinewire` command line.
#![deny(missing_docs)]

pub mod backtest;
pub mod calendar;
pub mod cli;
pub mod exec;
pub mod feed;
pub mod history;
pub mod pine;
pub mod risk;
pub mod sim;
