//! User data stream `outboundAccountPosition`: the balances of the assets that changed.
//! Binance's documented payload:
//!
//! ```text
//! {
//!   "e": "outboundAccountPosition", // Event type
//!   "E": 1564034571105,             // Event Time
//!   "u": 1564034571073,             // Time of last account update
//!   "B": [                          // Balances Array
//!     {
//!       "a": "ETH",                 // Asset
//!       "f": "10000.000000",        // Free
//!       "l": "0.000000"             // Locked
//!     }
//!   ]
//! }
//! ```

use simd_json::Node;

use super::{amount, feed, field, push_name, DecodeError, Sink};
use crate::feed::binance::Fields;
use crate::feed::fixed::Increment;

/// A decoded `outboundAccountPosition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountPosition<'a> {
    /// `E`: event time, Unix ms.
    pub event_time_ms: u64,
    /// `u`: time of the last account update, Unix ms.
    pub last_update_ms: u64,
    /// `B`: the changed balances.
    pub balances: Balances<'a>,
}

/// One asset's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance<'a> {
    /// `a`: the asset.
    pub asset: &'a str,
    /// `f`: free amount in [`super::ASSET_UNIT`]s.
    pub free_units: i64,
    /// `l`: locked amount in [`super::ASSET_UNIT`]s.
    pub locked_units: i64,
}

/// A balance as kept in the decoder's reused buffer; its name lives in the name buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BalanceRow {
    asset: (usize, usize),
    free_units: i64,
    locked_units: i64,
}

/// The balances of an event, lent by the decoder until its next [`super::decode`].
#[derive(Debug, Clone, Copy)]
pub struct Balances<'a> {
    rows: &'a [BalanceRow],
    names: &'a str,
}

impl<'a> Balances<'a> {
    /// How many balances.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The `i`-th balance, in Binance's order.
    pub fn get(&self, i: usize) -> Option<Balance<'a>> {
        let r = self.rows.get(i)?;
        Some(Balance {
            asset: self.names.get(r.asset.0..r.asset.1)?,
            free_units: r.free_units,
            locked_units: r.locked_units,
        })
    }

    /// The balances in order.
    pub fn iter(&self) -> impl Iterator<Item = Balance<'a>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

impl PartialEq for Balances<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Balances<'_> {}

/// Decodes the fields of an `outboundAccountPosition` object.
pub(crate) fn decode<'a>(
    fields: Fields<'_, 'a>,
    sink: Sink<'a>,
) -> Result<AccountPosition<'a>, DecodeError> {
    let Sink {
        asset,
        names,
        balances: rows,
        ..
    } = sink;
    for item in feed::array(field(fields, "B")?, "B")? {
        rows.push(balance(item, asset, names)?);
    }
    let names: &'a String = names;
    let rows: &'a Vec<BalanceRow> = rows;
    Ok(AccountPosition {
        event_time_ms: feed::uint(field(fields, "E")?, "E")?,
        last_update_ms: feed::uint(field(fields, "u")?, "u")?,
        balances: Balances { rows, names },
    })
}

fn balance(
    item: &[Node<'_>],
    asset: Increment,
    names: &mut String,
) -> Result<BalanceRow, DecodeError> {
    let b = feed::object(item, "B")?;
    let name = feed::string(field(b, "a")?, "B.a")?;
    Ok(BalanceRow {
        free_units: amount(field(b, "f")?, asset, "B.f")?,
        locked_units: amount(field(b, "l")?, asset, "B.l")?,
        asset: push_name(names, name),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::with_message;
    use super::super::{DecodeError, Message};
    use super::Balance;

    pub(crate) const DOC_SAMPLE: &str = r#"{
      "e": "outboundAccountPosition",
      "E": 1564034571105,
      "u": 1564034571073,
      "B": [
        {
          "a": "ETH",
          "f": "10000.000000",
          "l": "0.000000"
        }
      ]
    }"#;

    #[test]
    fn decodes_the_documented_sample() {
        with_message(DOC_SAMPLE, |got| {
            let Ok(Message::AccountPosition(p)) = got else {
                panic!("{got:?}");
            };
            assert_eq!(p.event_time_ms, 1_564_034_571_105);
            assert_eq!(p.last_update_ms, 1_564_034_571_073);
            let want = Balance {
                asset: "ETH",
                free_units: 1_000_000_000_000,
                locked_units: 0,
            };
            assert!(p.balances.iter().eq([want]), "{:?}", p.balances);
        });
    }

    #[test]
    fn several_balances_keep_their_names() {
        let text = r#"{"e":"outboundAccountPosition","E":1,"u":2,"B":[{"a":"BTC","f":"0.5","l":"0.25"},{"a":"USDT","f":"100","l":"0"},{"a":"这是测试币","f":"1","l":"0"}]}"#;
        with_message(text, |got| {
            let Ok(Message::AccountPosition(p)) = got else {
                panic!("{got:?}");
            };
            let got: Vec<(&str, i64, i64)> = p
                .balances
                .iter()
                .map(|b| (b.asset, b.free_units, b.locked_units))
                .collect();
            // TC0..TC2: three assets, one with a Unicode name.
            assert_eq!(
                got,
                [
                    ("BTC", 50_000_000, 25_000_000),
                    ("USDT", 10_000_000_000, 0),
                    ("这是测试币", 100_000_000, 0)
                ]
            );
        });
    }

    #[test]
    fn bad_positions_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: balances not an array
            (
                r#"{"e":"outboundAccountPosition","E":1,"u":2,"B":{}}"#,
                DecodeError::WrongType("B"),
            ),
            // TC1: a balance without its locked amount
            (
                r#"{"e":"outboundAccountPosition","E":1,"u":2,"B":[{"a":"BTC","f":"1"}]}"#,
                DecodeError::Missing("l"),
            ),
            // TC2: more decimals than Binance's 8
            (
                r#"{"e":"outboundAccountPosition","E":1,"u":2,"B":[{"a":"BTC","f":"0.000000001","l":"0"}]}"#,
                DecodeError::Number {
                    field: "B.f",
                    error: crate::feed::fixed::FixedError::NotAMultiple,
                },
            ),
            // TC3: no update time
            (
                r#"{"e":"outboundAccountPosition","E":1,"B":[]}"#,
                DecodeError::Missing("u"),
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            with_message(text, |got| assert_eq!(got, Err(*want), "TC{i}"));
        }
    }
}
