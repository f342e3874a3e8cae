//! Runs the `ta.*` operators for the VM: one [`TaState`] per call site, created empty
//! with the program and initialised on its first call, when its simple arguments
//! (lengths, multipliers) have their values. That first call allocates the operator's
//! window; every later call only updates it.

use std::fmt;

use super::builtins::{Builtin, TaKind};
use super::opcodes::Reg;
use super::ta::{self, TaError};

/// Why a `ta.*` call could not run (hot-path tier: `Copy`, formatted only on display).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TaFailure {
    /// The operator rejected a parameter.
    Param(TaError),
    /// A length-like argument is na, negative or fractional.
    NotWhole {
        /// The operator.
        kind: TaKind,
        /// The value given.
        got: f64,
    },
}

impl fmt::Display for TaFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaFailure::Param(e) => write!(f, "{e}"),
            TaFailure::NotWhole { kind, got } => write!(
                f,
                "ta.{}: a length must be a whole number of bars, got {got}",
                format!("{kind:?}").to_lowercase()
            ),
        }
    }
}

impl From<TaError> for TaFailure {
    fn from(e: TaError) -> Self {
        TaFailure::Param(e)
    }
}

/// Number of result slots an operator writes.
pub fn outputs(kind: TaKind) -> u32 {
    match kind {
        TaKind::Bb | TaKind::Macd | TaKind::Dmi => 3,
        TaKind::Supertrend => 2,
        _ => 1,
    }
}

/// The state of one `ta.*` call site; `None` until its first call.
#[allow(missing_docs)]
#[derive(Debug, Clone)]
pub enum TaState {
    Sma(Option<ta::Sma>),
    Ema(Option<ta::Ema>),
    Rma(Option<ta::Rma>),
    Wma(Option<ta::Wma>),
    Vwma(Option<ta::Vwma>),
    Rsi(Option<ta::Rsi>),
    Stdev(Option<ta::Stdev>),
    Bb(Option<ta::Bb>),
    Macd(Option<ta::Macd>),
    Atr(Option<ta::Atr>),
    Tr(Option<ta::Tr>),
    Crossover(Option<ta::Crossover>),
    Crossunder(Option<ta::Crossunder>),
    Cross(Option<ta::Cross>),
    Highest(Option<ta::Highest>),
    Lowest(Option<ta::Lowest>),
    Change(Option<ta::Change>),
    Mom(Option<ta::Mom>),
    Roc(Option<ta::Roc>),
    Cci(Option<ta::Cci>),
    Stoch(Option<ta::Stoch>),
    Supertrend(Option<ta::Supertrend>),
    Dmi(Option<ta::Dmi>),
    Vwap(Option<ta::Vwap>),
    Cum(Option<ta::Cum>),
    Barssince(Option<ta::BarsSince>),
    Valuewhen(Option<ta::ValueWhen>),
    Pivothigh(Option<ta::PivotHigh>),
    Pivotlow(Option<ta::PivotLow>),
    Sum(Option<ta::Sum>),
}

impl TaState {
    /// An uninitialised state for `kind`.
    pub fn new(kind: TaKind) -> TaState {
        match kind {
            TaKind::Sma => TaState::Sma(None),
            TaKind::Ema => TaState::Ema(None),
            TaKind::Rma => TaState::Rma(None),
            TaKind::Wma => TaState::Wma(None),
            TaKind::Vwma => TaState::Vwma(None),
            TaKind::Rsi => TaState::Rsi(None),
            TaKind::Stdev => TaState::Stdev(None),
            TaKind::Bb => TaState::Bb(None),
            TaKind::Macd => TaState::Macd(None),
            TaKind::Atr => TaState::Atr(None),
            TaKind::Tr => TaState::Tr(None),
            TaKind::Crossover => TaState::Crossover(None),
            TaKind::Crossunder => TaState::Crossunder(None),
            TaKind::Cross => TaState::Cross(None),
            TaKind::Highest => TaState::Highest(None),
            TaKind::Lowest => TaState::Lowest(None),
            TaKind::Change => TaState::Change(None),
            TaKind::Mom => TaState::Mom(None),
            TaKind::Roc => TaState::Roc(None),
            TaKind::Cci => TaState::Cci(None),
            TaKind::Stoch => TaState::Stoch(None),
            TaKind::Supertrend => TaState::Supertrend(None),
            TaKind::Dmi => TaState::Dmi(None),
            TaKind::Vwap => TaState::Vwap(None),
            TaKind::Cum => TaState::Cum(None),
            TaKind::Barssince => TaState::Barssince(None),
            TaKind::Valuewhen => TaState::Valuewhen(None),
            TaKind::Pivothigh => TaState::Pivothigh(None),
            TaKind::Pivotlow => TaState::Pivotlow(None),
            TaKind::Sum => TaState::Sum(None),
        }
    }

    /// Runs one bar: reads the series arguments `a`, `b`, `c` and the built-in series
    /// it needs from `s`, writes its result(s) from `dst`. `simple` are the slots of the
    /// simple arguments, read on the first call only.
    #[inline]
    pub fn call(
        &mut self,
        simple: &[Reg],
        s: &mut [f64],
        a: Reg,
        b: Reg,
        c: Reg,
        dst: Reg,
    ) -> Result<(), TaFailure> {
        // Each arm reads only the operands it uses: this runs once per call site per bar.
        macro_rules! x {
            () => {
                s[a.0 as usize]
            };
        }
        macro_rules! y {
            () => {
                s[b.0 as usize]
            };
        }
        macro_rules! z {
            () => {
                s[c.0 as usize]
            };
        }
        macro_rules! hlc {
            () => {
                (
                    s[Builtin::High as usize],
                    s[Builtin::Low as usize],
                    s[Builtin::Close as usize],
                )
            };
        }
        let num = |i: usize| simple.get(i).map_or(f64::NAN, |r| s[r.0 as usize]);
        let len = |kind: TaKind, i: usize| -> Result<usize, TaFailure> {
            let v = num(i);
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 {
                Ok(v as usize)
            } else {
                Err(TaFailure::NotWhole { kind, got: v })
            }
        };
        let bool_of = |v: f64| v != 0.0 && !v.is_nan();
        let o = dst.0 as usize;
        let mut out = [f64::NAN; 3];
        match self {
            TaState::Sma(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Sma::new(len(TaKind::Sma, 0)?)?),
                };
                out[0] = op.update(x!());
            }
            TaState::Ema(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Ema::new(len(TaKind::Ema, 0)?)?),
                };
                out[0] = op.update(x!());
            }
            TaState::Rma(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Rma::new(len(TaKind::Rma, 0)?)?),
                };
                out[0] = op.update(x!());
            }
            TaState::Wma(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Wma::new(len(TaKind::Wma, 0)?)?),
                };
                out[0] = op.update(x!());
            }
            TaState::Vwma(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Vwma::new(len(TaKind::Vwma, 0)?)?),
                };
                out[0] = op.update(x!(), s[Builtin::Volume as usize]);
            }
            TaState::Rsi(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Rsi::new(len(TaKind::Rsi, 0)?)?),
                };
                out[0] = op.update(x!());
            }
            TaState::Stdev(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Stdev::new(len(TaKind::Stdev, 0)?, bool_of(num(1)))?),
                };
                out[0] = op.update(x!());
            }
            TaState::Bb(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Bb::new(len(TaKind::Bb, 0)?, num(1))?),
                };
                let (m, u, l) = op.update(x!());
                out = [m, u, l];
            }
            TaState::Macd(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Macd::new(
                        len(TaKind::Macd, 0)?,
                        len(TaKind::Macd, 1)?,
                        len(TaKind::Macd, 2)?,
                    )?),
                };
                let (m, sg, h) = op.update(x!());
                out = [m, sg, h];
            }
            TaState::Atr(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Atr::new(len(TaKind::Atr, 0)?)?),
                };
                out[0] = {
                    let (h, l, c) = hlc!();
                    op.update(h, l, c)
                };
            }
            TaState::Tr(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Tr::new(bool_of(num(0)))),
                };
                out[0] = {
                    let (h, l, c) = hlc!();
                    op.update(h, l, c)
                };
            }
            TaState::Crossover(st) => {
                out[0] = st.get_or_insert_with(ta::Crossover::new).update(x!(), y!()) as u8 as f64;
            }
            TaState::Crossunder(st) => {
                out[0] = st
                    .get_or_insert_with(ta::Crossunder::new)
                    .update(x!(), y!()) as u8 as f64;
            }
            TaState::Cross(st) => {
                out[0] = st.get_or_insert_with(ta::Cross::new).update(x!(), y!()) as u8 as f64;
            }
            TaState::Highest(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Highest::new(len(TaKind::Highest, 0)?)?),
                };
                out[0] = op.update(x!());
            }
            TaState::Lowest(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Lowest::new(len(TaKind::Lowest, 0)?)?),
                };
                out[0] = op.update(x!());
            }
            TaState::Change(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Change::new(len(TaKind::Change, 0)?)?),
                };
                out[0] = op.update(x!());
            }
            TaState::Mom(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Mom::new(len(TaKind::Mom, 0)?)?),
                };
                out[0] = op.update(x!());
            }
            TaState::Roc(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Roc::new(len(TaKind::Roc, 0)?)?),
                };
                out[0] = op.update(x!());
            }
            TaState::Cci(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Cci::new(len(TaKind::Cci, 0)?)?),
                };
                out[0] = op.update(x!());
            }
            TaState::Stoch(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Stoch::new(len(TaKind::Stoch, 0)?)?),
                };
                out[0] = op.update(x!(), y!(), z!());
            }
            TaState::Supertrend(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Supertrend::new(num(0), len(TaKind::Supertrend, 1)?)?),
                };
                let (v, d) = {
                    let (h, l, c) = hlc!();
                    op.update(h, l, c)
                };
                out[0] = v;
                out[1] = d;
            }
            TaState::Dmi(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Dmi::new(len(TaKind::Dmi, 0)?, len(TaKind::Dmi, 1)?)?),
                };
                let (p, m, adx) = {
                    let (h, l, c) = hlc!();
                    op.update(h, l, c)
                };
                out = [p, m, adx];
            }
            TaState::Vwap(st) => {
                out[0] = st.get_or_insert_with(ta::Vwap::new).update(
                    x!(),
                    s[Builtin::Volume as usize],
                    s[Builtin::Time as usize] as i64,
                );
            }
            TaState::Cum(st) => {
                out[0] = st.get_or_insert_with(ta::Cum::new).update(x!());
            }
            TaState::Barssince(st) => {
                out[0] = st
                    .get_or_insert_with(ta::BarsSince::new)
                    .update(bool_of(x!()));
            }
            TaState::Valuewhen(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::ValueWhen::new(len(TaKind::Valuewhen, 0)?)?),
                };
                out[0] = op.update(bool_of(x!()), y!());
            }
            TaState::Pivothigh(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::PivotHigh::new(
                        len(TaKind::Pivothigh, 0)?,
                        len(TaKind::Pivothigh, 1)?,
                    )?),
                };
                out[0] = op.update(x!());
            }
            TaState::Pivotlow(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::PivotLow::new(
                        len(TaKind::Pivotlow, 0)?,
                        len(TaKind::Pivotlow, 1)?,
                    )?),
                };
                out[0] = op.update(x!());
            }
            TaState::Sum(st) => {
                let op = match st {
                    Some(op) => op,
                    None => st.insert(ta::Sum::new(len(TaKind::Sum, 0)?)?),
                };
                out[0] = op.update(x!());
            }
        }
        match self {
            TaState::Bb(_) | TaState::Macd(_) | TaState::Dmi(_) => {
                s[o..o + 3].copy_from_slice(&out)
            }
            TaState::Supertrend(_) => s[o..o + 2].copy_from_slice(&out[..2]),
            _ => s[o] = out[0],
        }
        Ok(())
    }
}
