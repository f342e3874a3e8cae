//! The risk manager: pre-trade checks, position sizing, the daily-loss halt and the alert
//! thresholds (DESIGN.md section 6). It runs on the order thread, between popping an intent
//! and signing its request: no allocation, no lock, no I/O.
