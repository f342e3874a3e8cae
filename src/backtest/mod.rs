//! The backtester: runs a compiled strategy bar by bar over historical klines through a
//! TradingView-compatible broker emulator, then computes statistics and writes reports.

pub mod broker;
pub mod result;
pub mod stats;

pub use result::{BacktestRun, OpenTrade, Plots, Stats, SymbolRun, Trade};
