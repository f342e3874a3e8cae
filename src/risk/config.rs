//! Risk limits (DESIGN.md section 6), all configurable, with the documented defaults and a
//! validation that says which limit is wrong and why. Percentages are integer basis points
//! (1% = 100 bp) so that every limit compares exactly against integer money.

use super::failure_window::MAX_FAILURE_WINDOW;
use super::types::Quote;

/// The risk limits. Built from the `[risk]` config section (or `Default`), checked once by
/// [`RiskConfig::validate`] when the [`crate::risk::RiskManager`] is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskConfig {
    /// Largest share of equity deployed across all symbols (positions at mark plus open
    /// buy orders), in bp. Default 7000 (70%).
    pub max_total_exposure_bp: u32,
    /// Largest share of equity deployed in one symbol, in bp. Default 3000 (30%).
    pub max_symbol_exposure_bp: u32,
    /// Largest loss at the stop of one trade, as a share of equity, in bp. Default 100 (1%).
    pub max_trade_risk_bp: u32,
    /// Default stop distance when the script gives no stop: this many bp of the ATR
    /// (20000 = 2 x ATR). Default 20000.
    pub atr_stop_mult_bp: u32,
    /// Daily loss (from the UTC day's starting equity) that halts trading, in bp.
    /// Default 300 (3%).
    pub daily_loss_halt_bp: u32,
    /// Daily loss that raises a warning, in bp. Default 250 (2.5%).
    pub daily_loss_warn_bp: u32,
    /// Loss of one closed trade (against equity before it) that raises a warning, in bp.
    /// Default 80 (0.8%).
    pub trade_loss_warn_bp: u32,
    /// Failure rate over the window above which trading pauses, in bp. Default 500 (5%).
    pub max_failure_rate_bp: u32,
    /// Number of most recent order outcomes in the rolling window. Default 100.
    pub failure_window: usize,
    /// Outcomes the window needs before the rate is judged (so that one early failure does
    /// not pause at 100%). Default 20.
    pub failure_min_samples: usize,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            max_total_exposure_bp: 7_000,
            max_symbol_exposure_bp: 3_000,
            max_trade_risk_bp: 100,
            atr_stop_mult_bp: 20_000,
            daily_loss_halt_bp: 300,
            daily_loss_warn_bp: 250,
            trade_loss_warn_bp: 80,
            max_failure_rate_bp: 500,
            failure_window: 100,
            failure_min_samples: 20,
        }
    }
}

/// A risk limit that cannot be used, named as in the config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RiskConfigError {
    /// A percentage limit outside (0, 100%].
    #[error("risk.{name} = {value} bp is outside 1..=10000 bp (0% excluded, 100% at most); set a share of equity such as 7000 for 70%")]
    PercentOutOfRange {
        /// Config key.
        name: &'static str,
        /// The value given.
        value: u32,
    },
    /// The per-symbol limit is larger than the total limit.
    #[error("risk.max_symbol_exposure_bp = {symbol} bp is above risk.max_total_exposure_bp = {total} bp; one symbol cannot hold more than the whole book")]
    SymbolAboveTotal {
        /// Per-symbol limit.
        symbol: u32,
        /// Total limit.
        total: u32,
    },
    /// A warning level at or above the halt it warns of.
    #[error("risk.daily_loss_warn_bp = {warn} bp must be below risk.daily_loss_halt_bp = {halt} bp, or the warning never comes first")]
    WarnNotBelowHalt {
        /// Warning level.
        warn: u32,
        /// Halt level.
        halt: u32,
    },
    /// The ATR multiple of the default stop is zero.
    #[error("risk.atr_stop_mult_bp = 0: the default stop would sit at the entry price; use e.g. 20000 for 2 x ATR")]
    ZeroAtrMultiple,
    /// The failure window length is out of range.
    #[error("risk.failure_window = {value} is outside 1..={max}")]
    WindowOutOfRange {
        /// The value given.
        value: usize,
        /// Largest window.
        max: usize,
    },
    /// The minimum sample count is larger than the window, so the rate is never judged.
    #[error("risk.failure_min_samples = {min} is above risk.failure_window = {window}; the failure rate would never be judged")]
    MinSamplesAboveWindow {
        /// Minimum samples.
        min: usize,
        /// Window length.
        window: usize,
    },
    /// A symbol's lot-tick value is not positive.
    #[error("symbol #{index}: value of one lot at one tick = {value} (1e-8 quote units) must be positive; check the symbol's stepSize and tickSize")]
    BadSymbolValue {
        /// Index in the symbol table.
        index: usize,
        /// The value given.
        value: Quote,
    },
    /// Too many symbols for a `u16` id.
    #[error("{count} symbols: at most 65535 fit the symbol ids")]
    TooManySymbols {
        /// Number of symbols given.
        count: usize,
    },
    /// The starting cash is negative.
    #[error("starting quote balance {value} (1e-8 units) is negative")]
    NegativeCash {
        /// The value given.
        value: Quote,
    },
}

impl RiskConfigError {
    /// Every config error is terminal: the engine must not start with limits it cannot
    /// enforce; the operator fixes the config.
    pub fn is_terminal(&self) -> bool {
        true
    }
}

fn percent(name: &'static str, value: u32) -> Result<(), RiskConfigError> {
    if value == 0 || value > 10_000 {
        return Err(RiskConfigError::PercentOutOfRange { name, value });
    }
    Ok(())
}

impl RiskConfig {
    /// Checks every limit; the first problem found is returned.
    pub fn validate(&self) -> Result<(), RiskConfigError> {
        percent("max_total_exposure_bp", self.max_total_exposure_bp)?;
        percent("max_symbol_exposure_bp", self.max_symbol_exposure_bp)?;
        percent("max_trade_risk_bp", self.max_trade_risk_bp)?;
        percent("daily_loss_halt_bp", self.daily_loss_halt_bp)?;
        percent("daily_loss_warn_bp", self.daily_loss_warn_bp)?;
        percent("trade_loss_warn_bp", self.trade_loss_warn_bp)?;
        percent("max_failure_rate_bp", self.max_failure_rate_bp)?;
        if self.max_symbol_exposure_bp > self.max_total_exposure_bp {
            return Err(RiskConfigError::SymbolAboveTotal {
                symbol: self.max_symbol_exposure_bp,
                total: self.max_total_exposure_bp,
            });
        }
        if self.daily_loss_warn_bp >= self.daily_loss_halt_bp {
            return Err(RiskConfigError::WarnNotBelowHalt {
                warn: self.daily_loss_warn_bp,
                halt: self.daily_loss_halt_bp,
            });
        }
        if self.atr_stop_mult_bp == 0 {
            return Err(RiskConfigError::ZeroAtrMultiple);
        }
        if self.failure_window == 0 || self.failure_window > MAX_FAILURE_WINDOW {
            return Err(RiskConfigError::WindowOutOfRange {
                value: self.failure_window,
                max: MAX_FAILURE_WINDOW,
            });
        }
        if self.failure_min_samples > self.failure_window {
            return Err(RiskConfigError::MinSamplesAboveWindow {
                min: self.failure_min_samples,
                window: self.failure_window,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_table() {
        let d = RiskConfig::default();
        let cases: Vec<(RiskConfig, Option<RiskConfigError>)> = vec![
            // TC0: the defaults are valid.
            (d, None),
            // TC1: 0% total exposure.
            (
                RiskConfig {
                    max_total_exposure_bp: 0,
                    ..d
                },
                Some(RiskConfigError::PercentOutOfRange {
                    name: "max_total_exposure_bp",
                    value: 0,
                }),
            ),
            // TC2: 100% is allowed, one bp more is not.
            (
                RiskConfig {
                    max_total_exposure_bp: 10_000,
                    ..d
                },
                None,
            ),
            (
                RiskConfig {
                    max_total_exposure_bp: 10_001,
                    ..d
                },
                Some(RiskConfigError::PercentOutOfRange {
                    name: "max_total_exposure_bp",
                    value: 10_001,
                }),
            ),
            // TC4: symbol above total.
            (
                RiskConfig {
                    max_symbol_exposure_bp: 7_001,
                    ..d
                },
                Some(RiskConfigError::SymbolAboveTotal {
                    symbol: 7_001,
                    total: 7_000,
                }),
            ),
            // TC5: symbol equal to total is fine.
            (
                RiskConfig {
                    max_symbol_exposure_bp: 7_000,
                    ..d
                },
                None,
            ),
            // TC6: warning equal to halt.
            (
                RiskConfig {
                    daily_loss_warn_bp: 300,
                    ..d
                },
                Some(RiskConfigError::WarnNotBelowHalt {
                    warn: 300,
                    halt: 300,
                }),
            ),
            // TC7: zero ATR multiple.
            (
                RiskConfig {
                    atr_stop_mult_bp: 0,
                    ..d
                },
                Some(RiskConfigError::ZeroAtrMultiple),
            ),
            // TC8: window 0 and too large.
            (
                RiskConfig {
                    failure_window: 0,
                    failure_min_samples: 0,
                    ..d
                },
                Some(RiskConfigError::WindowOutOfRange {
                    value: 0,
                    max: MAX_FAILURE_WINDOW,
                }),
            ),
            (
                RiskConfig {
                    failure_window: MAX_FAILURE_WINDOW + 1,
                    ..d
                },
                Some(RiskConfigError::WindowOutOfRange {
                    value: MAX_FAILURE_WINDOW + 1,
                    max: MAX_FAILURE_WINDOW,
                }),
            ),
            // TC10: min samples above window.
            (
                RiskConfig {
                    failure_min_samples: 101,
                    ..d
                },
                Some(RiskConfigError::MinSamplesAboveWindow {
                    min: 101,
                    window: 100,
                }),
            ),
            // TC11: zero trade-loss warning.
            (
                RiskConfig {
                    trade_loss_warn_bp: 0,
                    ..d
                },
                Some(RiskConfigError::PercentOutOfRange {
                    name: "trade_loss_warn_bp",
                    value: 0,
                }),
            ),
        ];
        for (i, (cfg, want)) in cases.into_iter().enumerate() {
            assert_eq!(cfg.validate().err(), want, "TC{i}");
        }
        // The messages name the key.
        let msg = RiskConfig {
            max_symbol_exposure_bp: 0,
            ..d
        }
        .validate()
        .err()
        .map(|e| e.to_string());
        assert!(msg.is_some_and(|m| m.contains("risk.max_symbol_exposure_bp")));
    }
}
