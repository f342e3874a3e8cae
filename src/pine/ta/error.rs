//! Parameter errors of the `ta` operators, reported when the program is compiled.

/// The largest window any operator accepts (lengths, pivot bars, `valuewhen`
/// occurrences). A window is allocated up front, so a length taken from a script must be
/// bounded: one million bars is about two years of 1-minute bars and 8 MB per ring,
/// far beyond any real indicator, while a typo such as `ta.sma(close, 1e12)` becomes an
/// error instead of an allocation failure.
pub const MAX_LENGTH: usize = 1_000_000;

/// Why an operator could not be created. Small and `Copy` because it is a hot-path-tier
/// error (no allocation, no formatting until displayed); the compiler attaches the span
/// of the offending argument.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum TaError {
    /// An integer parameter is below its minimum (a length of 0, for instance).
    #[error("{param} must be at least {min}, got {got}")]
    TooSmall {
        /// The parameter's name as the Pine manual spells it (`length`, `slow`, ...).
        param: &'static str,
        /// The smallest accepted value.
        min: usize,
        /// The value given.
        got: usize,
    },
    /// An integer parameter is above [`MAX_LENGTH`].
    #[error("{param} must be at most {max}, got {got}")]
    TooLarge {
        /// The parameter's name as the Pine manual spells it.
        param: &'static str,
        /// The largest accepted value.
        max: usize,
        /// The value given.
        got: usize,
    },
    /// A float parameter (a multiplier or factor) is NaN or infinite.
    #[error("{param} must be a finite number, got {got}")]
    NotFinite {
        /// The parameter's name as the Pine manual spells it (`mult`, `factor`).
        param: &'static str,
        /// The value given.
        got: f64,
    },
}

/// Checks `min <= got <= MAX_LENGTH` and returns `got`.
pub(crate) fn check_len(param: &'static str, got: usize, min: usize) -> Result<usize, TaError> {
    if got < min {
        Err(TaError::TooSmall { param, min, got })
    } else if got > MAX_LENGTH {
        Err(TaError::TooLarge {
            param,
            max: MAX_LENGTH,
            got,
        })
    } else {
        Ok(got)
    }
}

/// Checks that a float parameter is finite and returns it.
pub(crate) fn check_finite(param: &'static str, got: f64) -> Result<f64, TaError> {
    if got.is_finite() {
        Ok(got)
    } else {
        Err(TaError::NotFinite { param, got })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_parameter() {
        let cases: [(TaError, &str); 3] = [
            // TC0: the example of the contract
            (
                TaError::TooSmall {
                    param: "length",
                    min: 1,
                    got: 0,
                },
                "length must be at least 1, got 0",
            ),
            // TC1: too large
            (
                TaError::TooLarge {
                    param: "slow",
                    max: MAX_LENGTH,
                    got: 2_000_000,
                },
                "slow must be at most 1000000, got 2000000",
            ),
            // TC2: not finite
            (
                TaError::NotFinite {
                    param: "mult",
                    got: f64::INFINITY,
                },
                "mult must be a finite number, got inf",
            ),
        ];
        for (i, (err, want)) in cases.iter().enumerate() {
            assert_eq!(err.to_string(), *want, "TC{i}");
        }
    }

    #[test]
    fn check_len_bounds() {
        // TC0: below, TC1: at min, TC2: at max, TC3: above max
        assert!(check_len("length", 0, 1).is_err());
        assert_eq!(check_len("length", 1, 1), Ok(1));
        assert_eq!(check_len("length", MAX_LENGTH, 1), Ok(MAX_LENGTH));
        assert!(check_len("length", MAX_LENGTH + 1, 1).is_err());
        // TC4: finite checks
        assert!(check_finite("mult", f64::NAN).is_err());
        assert_eq!(check_finite("mult", -2.5), Ok(-2.5));
    }
}
