//! Order sizing (`default_qty_type` / `default_qty_value`) and commission
//! (`commission_type` / `commission_value`), as TradingView's broker emulator applies them.

use crate::pine::strategy::{CommissionType, QtyType};

/// How an order without an explicit `qty` is sized.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizing {
    kind: QtyType,
    value: f64,
}

impl Sizing {
    /// From the declaration's `default_qty_type` and `default_qty_value`.
    pub(crate) fn new(kind: QtyType, value: f64) -> Sizing {
        Sizing { kind, value }
    }

    /// The quantity of an order placed at `price` (the close of the placing bar, since
    /// TradingView sizes at placement) while equity is `equity`.
    ///
    /// An explicit `qty` that is not `NaN` is used as is; `NaN` means default sizing:
    /// fixed → `value`, percent of equity → `equity * value / 100 / price`, cash →
    /// `value / price`. No rounding to lots is done (crypto quantities are fractional).
    /// Returns `None` when the result is not a finite positive number: such an order is
    /// ignored.
    pub(crate) fn qty(&self, explicit: f64, equity: f64, price: f64) -> Option<f64> {
        let q = if explicit.is_nan() {
            match self.kind {
                QtyType::Fixed => self.value,
                QtyType::PercentOfEquity => equity * self.value / 100.0 / price,
                QtyType::Cash => self.value / price,
            }
        } else {
            explicit
        };
        (q.is_finite() && q > 0.0).then_some(q)
    }
}

/// The commission charged on each fill.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Commission {
    kind: CommissionType,
    value: f64,
}

impl Commission {
    /// From the declaration. A negative or non-finite `commission_value` is taken as 0
    /// (no commission) rather than paying the trader or poisoning equity with `NaN`.
    pub(crate) fn new(kind: CommissionType, value: f64) -> Commission {
        let value = if value.is_finite() && value > 0.0 {
            value
        } else {
            0.0
        };
        Commission { kind, value }
    }

    /// Commission of one fill of `qty` units at `price`: percent → `|qty * price| *
    /// value / 100`; cash per contract → `qty * value`; cash per order → `value` (the
    /// caller splits it pro rata when the fill closes several entries or reverses).
    pub(crate) fn of_fill(&self, qty: f64, price: f64) -> f64 {
        match self.kind {
            CommissionType::Percent => (qty * price).abs() * self.value / 100.0,
            CommissionType::CashPerContract => qty.abs() * self.value,
            CommissionType::CashPerOrder => self.value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (kind, value, explicit qty, equity, price, expected qty)
    type SizingCase = (QtyType, f64, f64, f64, f64, Option<f64>);

    #[test]
    fn sizing_table() {
        let nan = f64::NAN;
        let cases: &[SizingCase] = &[
            // TC0: fixed default
            (QtyType::Fixed, 2.0, nan, 1000.0, 10.0, Some(2.0)),
            // TC1: explicit qty wins over any default
            (QtyType::Cash, 100.0, 3.0, 1000.0, 10.0, Some(3.0)),
            // TC2: percent of equity: 1000 * 50 / 100 / 10 = 50
            (
                QtyType::PercentOfEquity,
                50.0,
                nan,
                1000.0,
                10.0,
                Some(50.0),
            ),
            // TC3: cash: 100 / 8 = 12.5
            (QtyType::Cash, 100.0, nan, 1000.0, 8.0, Some(12.5)),
            // TC4: negative explicit qty is ignored
            (QtyType::Fixed, 1.0, -1.0, 1000.0, 10.0, None),
            // TC5: zero price makes cash sizing infinite: ignored
            (QtyType::Cash, 100.0, nan, 1000.0, 0.0, None),
            // TC6: negative equity makes percent sizing negative: ignored
            (QtyType::PercentOfEquity, 10.0, nan, -5.0, 10.0, None),
            // TC7: infinite explicit qty: ignored
            (QtyType::Fixed, 1.0, f64::INFINITY, 1000.0, 10.0, None),
        ];
        for (n, &(kind, value, explicit, equity, price, want)) in cases.iter().enumerate() {
            let got = Sizing::new(kind, value).qty(explicit, equity, price);
            assert_eq!(got, want, "TC{n}");
        }
    }

    #[test]
    fn commission_table() {
        // (kind, value, qty, price, expected)
        let cases: &[(CommissionType, f64, f64, f64, f64)] = &[
            // TC0: 0.1% of 2 * 100 = 0.2
            (CommissionType::Percent, 0.1, 2.0, 100.0, 0.2),
            // TC1: 0.5 per contract * 4 = 2
            (CommissionType::CashPerContract, 0.5, 4.0, 100.0, 2.0),
            // TC2: 3 per order whatever the size
            (CommissionType::CashPerOrder, 3.0, 40.0, 100.0, 3.0),
            // TC3: negative value is clamped to 0
            (CommissionType::CashPerOrder, -3.0, 1.0, 100.0, 0.0),
            // TC4: NaN value is clamped to 0
            (CommissionType::Percent, f64::NAN, 1.0, 100.0, 0.0),
        ];
        for (n, &(kind, value, qty, price, want)) in cases.iter().enumerate() {
            let got = Commission::new(kind, value).of_fill(qty, price);
            assert!((got - want).abs() < 1e-12, "TC{n}: {got} != {want}");
        }
    }
}
