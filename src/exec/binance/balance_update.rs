//! User data stream `balanceUpdate`: a deposit, withdrawal or transfer changed a balance.
//! Binance's documented payload:
//!
//! ```text
//! {
//!   "e": "balanceUpdate",         // Event Type
//!   "E": 1573200697110,           // Event Time
//!   "a": "BTC",                   // Asset
//!   "d": "100.00000000",          // Balance Delta
//!   "T": 1573200697068            // Clear Time
//! }
//! ```
//!
//! The delta is signed (a withdrawal is negative), unlike every other amount Binance sends.

use super::{amount, feed, DecodeError, Sink};
use crate::feed::binance::{required, Fields};

/// A decoded `balanceUpdate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceUpdate<'a> {
    /// `E`: event time, Unix ms.
    pub event_time_ms: u64,
    /// `a`: the asset.
    pub asset: &'a str,
    /// `d`: the signed change in [`super::ASSET_UNIT`]s.
    pub delta_units: i64,
    /// `T`: clear time, Unix ms.
    pub clear_time_ms: u64,
}

/// Decodes the fields of a `balanceUpdate` object.
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: &Sink<'a>,
) -> Result<BalanceUpdate<'a>, DecodeError> {
    let (mut e_time, mut asset, mut delta, mut clear) = (None, None, None, None);
    for (key, v) in fields {
        match key {
            "E" => e_time = Some(feed::uint(v, "E")?),
            "a" => asset = Some(feed::string(v, "a")?),
            "d" => delta = Some(amount(v, sink.asset, "d")?),
            "T" => clear = Some(feed::uint(v, "T")?),
            _ => {}
        }
    }
    Ok(BalanceUpdate {
        event_time_ms: required(e_time, "E")?,
        asset: required(asset, "a")?,
        delta_units: required(delta, "d")?,
        clear_time_ms: required(clear, "T")?,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::with_message;
    use super::super::{DecodeError, Message};
    use super::BalanceUpdate;
    use crate::feed::fixed::FixedError;

    pub(crate) const DOC_SAMPLE: &str = r#"{
      "e": "balanceUpdate",
      "E": 1573200697110,
      "a": "BTC",
      "d": "100.00000000",
      "T": 1573200697068
    }"#;

    #[test]
    fn decodes_the_documented_sample_and_negative_deltas() {
        let cases: &[(&str, i64)] = &[
            // TC0: the documented sample
            (DOC_SAMPLE, 10_000_000_000),
            // TC1: a withdrawal
            (&DOC_SAMPLE.replace("\"100.", "\"-100."), -10_000_000_000),
            // TC2: a tiny delta
            (&DOC_SAMPLE.replace("100.00000000", "0.00000001"), 1),
        ];
        for (i, (text, delta)) in cases.iter().enumerate() {
            let want = BalanceUpdate {
                event_time_ms: 1_573_200_697_110,
                asset: "BTC",
                delta_units: *delta,
                clear_time_ms: 1_573_200_697_068,
            };
            with_message(text, |got| {
                assert_eq!(got, Ok(Message::BalanceUpdate(want)), "TC{i}")
            });
        }
    }

    #[test]
    fn bad_updates_are_errors() {
        let invalid = |field| DecodeError::Number {
            field,
            error: FixedError::Invalid,
        };
        let cases: &[(&str, DecodeError)] = &[
            // TC0: a double sign
            (&DOC_SAMPLE.replace("\"100.", "\"--100."), invalid("d")),
            // TC1: a bare minus
            (
                &DOC_SAMPLE.replace("\"100.00000000\"", "\"-\""),
                DecodeError::Number {
                    field: "d",
                    error: FixedError::Empty,
                },
            ),
            // TC2: delta as a number
            (
                &DOC_SAMPLE.replace("\"100.00000000\"", "100"),
                DecodeError::WrongType("d"),
            ),
            // TC3: no clear time
            (
                &DOC_SAMPLE.replace(",\n      \"T\": 1573200697068", ""),
                DecodeError::Missing("T"),
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            with_message(text, |got| assert_eq!(got, Err(*want), "TC{i}"));
        }
    }
}
