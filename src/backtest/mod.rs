//! The backtester: runs a compiled strategy bar by bar over historical klines through a
//! TradingView-compatible broker emulator, then computes statistics and writes reports.

pub mod progress;
pub mod report;
pub mod result;

pub use result::{BacktestRun, OpenTrade, Plots, Stats, SymbolRun, Trade};
