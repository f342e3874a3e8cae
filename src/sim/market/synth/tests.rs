//! Tests of the synthetic market.
