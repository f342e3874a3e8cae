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
    /// simple arguments, read on the first call only, when the state is created.
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
            ($op:expr) => {{
                let (h, l, c) = (
                    s[Builtin::High as usize],
                    s[Builtin::Low as usize],
                    s[Builtin::Close as usize],
                );
                $op.update(h, l, c)
            }};
        }
        let truth = |v: f64| v != 0.0 && !v.is_nan();
        let o = dst.0 as usize;
        match self {
            TaState::Sma(Some(op)) => s[o] = op.update(x!()),
            TaState::Ema(Some(op)) => s[o] = op.update(x!()),
            TaState::Rma(Some(op)) => s[o] = op.update(x!()),
            TaState::Wma(Some(op)) => s[o] = op.update(x!()),
            TaState::Vwma(Some(op)) => s[o] = op.update(x!(), s[Builtin::Volume as usize]),
            TaState::Rsi(Some(op)) => s[o] = op.update(x!()),
            TaState::Stdev(Some(op)) => s[o] = op.update(x!()),
            TaState::Bb(Some(op)) => {
                let (m, u, l) = op.update(x!());
                s[o..o + 3].copy_from_slice(&[m, u, l]);
            }
            TaState::Macd(Some(op)) => {
                let (m, sg, h) = op.update(x!());
                s[o..o + 3].copy_from_slice(&[m, sg, h]);
            }
            TaState::Atr(Some(op)) => s[o] = hlc!(op),
            TaState::Tr(Some(op)) => s[o] = hlc!(op),
            TaState::Crossover(Some(op)) => s[o] = op.update(x!(), y!()) as u8 as f64,
            TaState::Crossunder(Some(op)) => s[o] = op.update(x!(), y!()) as u8 as f64,
            TaState::Cross(Some(op)) => s[o] = op.update(x!(), y!()) as u8 as f64,
            TaState::Highest(Some(op)) => s[o] = op.update(x!()),
            TaState::Lowest(Some(op)) => s[o] = op.update(x!()),
            TaState::Change(Some(op)) => s[o] = op.update(x!()),
            TaState::Mom(Some(op)) => s[o] = op.update(x!()),
            TaState::Roc(Some(op)) => s[o] = op.update(x!()),
            TaState::Cci(Some(op)) => s[o] = op.update(x!()),
            TaState::Stoch(Some(op)) => s[o] = op.update(x!(), y!(), z!()),
            TaState::Supertrend(Some(op)) => {
                let (v, d) = hlc!(op);
                s[o..o + 2].copy_from_slice(&[v, d]);
            }
            TaState::Dmi(Some(op)) => {
                let (p, m, adx) = hlc!(op);
                s[o..o + 3].copy_from_slice(&[p, m, adx]);
            }
            TaState::Vwap(Some(op)) => {
                s[o] = op.update(
                    x!(),
                    s[Builtin::Volume as usize],
                    s[Builtin::Time as usize] as i64,
                )
            }
            TaState::Cum(Some(op)) => s[o] = op.update(x!()),
            TaState::Barssince(Some(op)) => s[o] = op.update(truth(x!())),
            TaState::Valuewhen(Some(op)) => s[o] = op.update(truth(x!()), y!()),
            TaState::Pivothigh(Some(op)) => s[o] = op.update(x!()),
            TaState::Pivotlow(Some(op)) => s[o] = op.update(x!()),
            TaState::Sum(Some(op)) => s[o] = op.update(x!()),
            _ => {
                // First call: size the state, then run the bar. `init` leaves the state
                // `Some`, so this recursion happens once per call site.
                self.init(simple, s)?;
                return self.call(simple, s, a, b, c, dst);
            }
        }
        Ok(())
    }

    /// Creates the operator from its simple arguments (lengths, multipliers): the only
    /// allocation a call site ever makes.
    #[cold]
    #[inline(never)]
    fn init(&mut self, simple: &[Reg], s: &[f64]) -> Result<(), TaFailure> {
        let num = |i: usize| simple.get(i).map_or(f64::NAN, |r| s[r.0 as usize]);
        let len = |kind: TaKind, i: usize| -> Result<usize, TaFailure> {
            let v = num(i);
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 {
                Ok(v as usize)
            } else {
                Err(TaFailure::NotWhole { kind, got: v })
            }
        };
        let truth = |v: f64| v != 0.0 && !v.is_nan();
        match self {
            TaState::Sma(st) => *st = Some(ta::Sma::new(len(TaKind::Sma, 0)?)?),
            TaState::Ema(st) => *st = Some(ta::Ema::new(len(TaKind::Ema, 0)?)?),
            TaState::Rma(st) => *st = Some(ta::Rma::new(len(TaKind::Rma, 0)?)?),
            TaState::Wma(st) => *st = Some(ta::Wma::new(len(TaKind::Wma, 0)?)?),
            TaState::Vwma(st) => *st = Some(ta::Vwma::new(len(TaKind::Vwma, 0)?)?),
            TaState::Rsi(st) => *st = Some(ta::Rsi::new(len(TaKind::Rsi, 0)?)?),
            TaState::Stdev(st) => {
                *st = Some(ta::Stdev::new(len(TaKind::Stdev, 0)?, truth(num(1)))?)
            }
            TaState::Bb(st) => *st = Some(ta::Bb::new(len(TaKind::Bb, 0)?, num(1))?),
            TaState::Macd(st) => {
                *st = Some(ta::Macd::new(
                    len(TaKind::Macd, 0)?,
                    len(TaKind::Macd, 1)?,
                    len(TaKind::Macd, 2)?,
                )?)
            }
            TaState::Atr(st) => *st = Some(ta::Atr::new(len(TaKind::Atr, 0)?)?),
            TaState::Tr(st) => *st = Some(ta::Tr::new(truth(num(0)))),
            TaState::Crossover(st) => *st = Some(ta::Crossover::new()),
            TaState::Crossunder(st) => *st = Some(ta::Crossunder::new()),
            TaState::Cross(st) => *st = Some(ta::Cross::new()),
            TaState::Highest(st) => *st = Some(ta::Highest::new(len(TaKind::Highest, 0)?)?),
            TaState::Lowest(st) => *st = Some(ta::Lowest::new(len(TaKind::Lowest, 0)?)?),
            TaState::Change(st) => *st = Some(ta::Change::new(len(TaKind::Change, 0)?)?),
            TaState::Mom(st) => *st = Some(ta::Mom::new(len(TaKind::Mom, 0)?)?),
            TaState::Roc(st) => *st = Some(ta::Roc::new(len(TaKind::Roc, 0)?)?),
            TaState::Cci(st) => *st = Some(ta::Cci::new(len(TaKind::Cci, 0)?)?),
            TaState::Stoch(st) => *st = Some(ta::Stoch::new(len(TaKind::Stoch, 0)?)?),
            TaState::Supertrend(st) => {
                *st = Some(ta::Supertrend::new(num(0), len(TaKind::Supertrend, 1)?)?)
            }
            TaState::Dmi(st) => {
                *st = Some(ta::Dmi::new(len(TaKind::Dmi, 0)?, len(TaKind::Dmi, 1)?)?)
            }
            TaState::Vwap(st) => *st = Some(ta::Vwap::new()),
            TaState::Cum(st) => *st = Some(ta::Cum::new()),
            TaState::Barssince(st) => *st = Some(ta::BarsSince::new()),
            TaState::Valuewhen(st) => *st = Some(ta::ValueWhen::new(len(TaKind::Valuewhen, 0)?)?),
            TaState::Pivothigh(st) => {
                *st = Some(ta::PivotHigh::new(
                    len(TaKind::Pivothigh, 0)?,
                    len(TaKind::Pivothigh, 1)?,
                )?)
            }
            TaState::Pivotlow(st) => {
                *st = Some(ta::PivotLow::new(
                    len(TaKind::Pivotlow, 0)?,
                    len(TaKind::Pivotlow, 1)?,
                )?)
            }
            TaState::Sum(st) => *st = Some(ta::Sum::new(len(TaKind::Sum, 0)?)?),
        }
        Ok(())
    }
}
