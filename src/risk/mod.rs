//! The risk manager: pre-trade checks, position sizing, the daily-loss halt and the alert
//! thresholds (DESIGN.md section 6). It runs on the order thread, between popping an intent
//! and signing its request: no allocation, no lock, no I/O.
//!
//! Files: [`types`] (the API's values), [`config`] (limits and their validation),
//! [`limits`] (each pre-trade rule as a pure integer function), [`failure_window`] (the
//! rolling failure ring), [`events`] (the caller-owned event buffer), [`state`] (the
//! account as the risk manager sees it) and [`manager`] (the checks and live rules).

pub mod config;
pub mod events;
pub mod failure_window;
pub mod limits;
pub mod manager;
pub mod state;
pub mod types;

#[cfg(test)]
mod proptests;

pub use config::{RiskConfig, RiskConfigError};
pub use events::{EventKind, RiskEvent, RiskEvents, EVENT_CAPACITY};
pub use failure_window::{FailureWindow, MAX_FAILURE_WINDOW};
pub use manager::RiskManager;
pub use state::{RiskState, SymbolRisk, SymbolSpec, Totals, DAY_MS};
pub use types::{
    Decision, Fill, Intent, MarketView, OrderOutcome, OrderResult, Quote, Reason, Side, SymbolId,
    QUOTE_ONE,
};
