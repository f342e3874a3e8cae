//! Number parsing and the per-bar checks every reader applies, in one place so that the
//! three formats reject exactly the same data with exactly the same messages.

use std::path::Path;

use super::error::{snippet, Field, HistoryError, Loc};
use crate::pine::Bar;

/// Checks bars in file order: prices positive and finite, volume finite and not
/// negative, `low <= min(open, close)`, `max(open, close) <= high`, open times strictly
/// increasing. Gaps in time are not checked here (they are legal, see
/// [`super::KlineSeries::gaps`]).
pub(crate) struct BarChecker<'a> {
    path: &'a Path,
    prev_ms: Option<i64>,
}

impl<'a> BarChecker<'a> {
    /// A checker for the bars of `path`, which only names the file in errors.
    pub(crate) fn new(path: &'a Path) -> Self {
        BarChecker {
            path,
            prev_ms: None,
        }
    }

    /// Checks the next bar; `at` is where it sits in the file.
    #[inline]
    pub(crate) fn check(&mut self, bar: &Bar, at: Loc) -> Result<(), HistoryError> {
        for (field, value) in [
            (Field::Open, bar.open),
            (Field::High, bar.high),
            (Field::Low, bar.low),
            (Field::Close, bar.close),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(self.bad_price(at, field, value));
            }
        }
        if !(bar.volume.is_finite() && bar.volume >= 0.0) {
            return Err(HistoryError::BadVolume {
                path: self.path.to_path_buf(),
                at,
                value: bar.volume,
            });
        }
        let body_high = bar.open.max(bar.close);
        if bar.high < body_high {
            return Err(HistoryError::HighBelowBody {
                path: self.path.to_path_buf(),
                at,
                high: bar.high,
                body_high,
            });
        }
        let body_low = bar.open.min(bar.close);
        if bar.low > body_low {
            return Err(HistoryError::LowAboveBody {
                path: self.path.to_path_buf(),
                at,
                low: bar.low,
                body_low,
            });
        }
        if let Some(prev_ms) = self.prev_ms {
            if bar.time_ms <= prev_ms {
                return Err(HistoryError::NotIncreasing {
                    path: self.path.to_path_buf(),
                    at,
                    time_ms: bar.time_ms,
                    prev_ms,
                });
            }
        }
        self.prev_ms = Some(bar.time_ms);
        Ok(())
    }

    #[cold]
    fn bad_price(&self, at: Loc, field: Field, value: f64) -> HistoryError {
        HistoryError::BadPrice {
            path: self.path.to_path_buf(),
            at,
            field,
            value,
        }
    }
}

/// Parses a price or volume straight from its bytes; `field` and `at` name it in the
/// error.
#[inline]
pub(crate) fn parse_f64(
    path: &Path,
    at: Loc,
    field: Field,
    text: &[u8],
) -> Result<f64, HistoryError> {
    lexical_core::parse::<f64>(text).map_err(|_| number_error(path, at, field, text))
}

/// Parses an integer open time straight from its bytes.
#[inline]
pub(crate) fn parse_i64(path: &Path, at: Loc, text: &[u8]) -> Result<i64, HistoryError> {
    lexical_core::parse::<i64>(text).map_err(|_| number_error(path, at, Field::OpenTime, text))
}

#[cold]
fn number_error(path: &Path, at: Loc, field: Field, text: &[u8]) -> HistoryError {
    HistoryError::Number {
        path: path.to_path_buf(),
        at,
        field,
        text: snippet(text),
    }
}
