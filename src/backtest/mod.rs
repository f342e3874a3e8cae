//! The backtester: runs a compiled strategy bar by bar over historical klines through a
//! TradingView-compatible broker emulator, then computes statistics and writes reports.
//! Nothing here runs on the live engine's hot threads.

pub mod broker;
pub mod progress;
pub mod report;
pub mod result;
pub mod runner;
pub mod stats;

pub use result::{BacktestRun, OpenTrade, Plots, Stats, SymbolRun, Trade};
