//! The bytecode interpreter. One [`Vm`] runs one compiled program on one symbol's bars.
//!
//! Everything the run needs is allocated in [`Vm::new`] (slots, history rings, output
//! buffers) or on the first bar (`ta.*` states, whose lengths are simple values known
//! then), so [`Vm::run_bar`] allocates nothing afterwards — except `str.tostring` and
//! string `+`, which build new text by nature. The code is validated once in `new`; the
//! loop then indexes slots without bounds checks.

use std::fmt;

use super::builtins::{strategy_signature, Builtin, StratFn};
use super::compile::{eval_math1, eval_math2, strategy_params};
use super::opcodes::{Limits, Op, Reg};
use super::program::Program;
use super::strategy::{Direction, OrderCommand, StrategyView};
use super::strings::{StrId, StringTable};
use super::ta_exec::{TaFailure, TaState};
use super::types::Ty;
use super::Bar;

/// Why a script stopped on a bar (hot-path tier: small and `Copy`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RuntimeErrorKind {
    /// `x[n]` with `n` beyond `max_bars_back`.
    HistoryTooDeep {
        /// The offset asked for.
        offset: f64,
        /// The history kept.
        max: u32,
    },
    /// `x[n]` with a negative `n`.
    NegativeHistory {
        /// The offset asked for.
        offset: f64,
    },
    /// A loop ran more iterations on one bar than allowed.
    LoopLimit {
        /// The limit.
        limit: u32,
    },
    /// A `ta.*` call got an invalid simple argument (e.g. length 0).
    Ta(TaFailure),
}

/// A run-time error, with the script line it happened on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuntimeError {
    /// 1-based source line.
    pub line: u32,
    /// What happened.
    pub kind: RuntimeErrorKind,
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match self.kind {
            RuntimeErrorKind::HistoryTooDeep { offset, max } => write!(
                f,
                "history offset {offset} is beyond max_bars_back ({max}); raise max_bars_back in strategy(...)"
            ),
            RuntimeErrorKind::NegativeHistory { offset } => {
                write!(f, "history offset {offset} is negative")
            }
            RuntimeErrorKind::LoopLimit { limit } => {
                write!(f, "a loop ran more than {limit} iterations on one bar")
            }
            RuntimeErrorKind::Ta(t) => write!(f, "{t}"),
        }
    }
}

impl std::error::Error for RuntimeError {}

/// A bad `--set` input override.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// No input has this name or title.
    #[error("the script has no input named '{name}' (inputs: {known})")]
    Unknown {
        /// The name given.
        name: String,
        /// The inputs the script has.
        known: String,
    },
    /// The value does not parse as the input's type or is out of range.
    #[error("input '{name}': {why}")]
    Invalid {
        /// The input.
        name: String,
        /// What is wrong.
        why: String,
    },
}

/// Fixed-capacity history of one slot's end-of-bar values.
#[derive(Debug, Clone)]
struct Ring {
    buf: Vec<f64>,
    mask: usize,
    head: usize,
    capacity: u32,
    src: u32,
}

impl Ring {
    #[inline(always)]
    fn get(&self, back: usize) -> f64 {
        self.buf[(self.head.wrapping_sub(back)) & self.mask]
    }
}

/// A program instance running on one symbol.
#[derive(Debug, Clone)]
pub struct Vm {
    code: Box<[Op]>,
    lines: Box<[u32]>,
    slots: Vec<f64>,
    rings: Vec<Ring>,
    ta: Vec<TaState>,
    ta_simple: Vec<Vec<Reg>>,
    ta_lines: Vec<u32>,
    sources: Vec<(Reg, Builtin)>,
    strings: StringTable,
    commands: Vec<OrderCommand>,
    alerts: Vec<StrId>,
    plots: Vec<f64>,
    loop_limit: u32,
    timeframe_ms: i64,
    bar_index: i64,
    params: StratParams,
    /// The script reads hl2 / hlc3 / ohlc4 / hlcc4.
    needs_derived: bool,
    /// The script reads `strategy.*` state.
    needs_view: bool,
}

/// Positions of the parameters the VM reads in each `strategy.*` argument block.
#[derive(Debug, Clone)]
struct StratParams {
    entry: [usize; 6],
    close: [usize; 5],
    close_all: [usize; 2],
    exit: [usize; 12],
}

/// Where each used parameter of a `strategy.*` signature sits in its argument block.
fn param_positions<const N: usize>(f: StratFn) -> [usize; N] {
    let sig = strategy_signature(f);
    let used = strategy_params(f);
    let mut out = [0; N];
    for (o, u) in out.iter_mut().zip(used) {
        *o = sig
            .params
            .iter()
            .position(|p| p.name == *u)
            .expect("used params are declared");
    }
    out
}

impl Vm {
    /// An instance of `program` with input overrides (`name=value` by variable name or
    /// title). Validates the bytecode once.
    pub fn new(program: &Program, overrides: &[(String, String)]) -> Result<Vm, InputError> {
        let mut slots = program.init.clone();
        let mut strings = program.strings.clone();
        let mut sources = Vec::new();
        for inp in &program.inputs {
            if let Some(b) = inp.source {
                sources.push((inp.slot, b));
            }
        }
        for (key, value) in overrides {
            let Some(inp) = program
                .inputs
                .iter()
                .find(|i| i.name == *key)
                .or_else(|| program.inputs.iter().find(|i| i.title == *key))
            else {
                let known = program
                    .inputs
                    .iter()
                    .map(|i| {
                        if i.name.is_empty() {
                            i.title.clone()
                        } else {
                            i.name.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(InputError::Unknown {
                    name: key.clone(),
                    known,
                });
            };
            let invalid = |why: String| InputError::Invalid {
                name: key.clone(),
                why,
            };
            let v = value.trim();
            let parsed = if inp.source.is_some() {
                let b = source_builtin(v).ok_or_else(|| {
                    invalid(format!(
                        "'{v}' is not a source: use open, high, low, close, volume, hl2, hlc3, ohlc4 or hlcc4"
                    ))
                })?;
                for s in sources.iter_mut().filter(|s| s.0 == inp.slot) {
                    s.1 = b;
                }
                continue;
            } else {
                match inp.ty {
                    Ty::Int => match v.parse::<i64>() {
                        Ok(i) => i as f64,
                        Err(_) => return Err(invalid(format!("'{v}' is not a whole number"))),
                    },
                    Ty::Float => match v.parse::<f64>() {
                        Ok(f) if f.is_finite() => f,
                        _ => return Err(invalid(format!("'{v}' is not a number"))),
                    },
                    Ty::Bool => match v {
                        "true" => 1.0,
                        "false" => 0.0,
                        _ => return Err(invalid(format!("'{v}' is not true or false"))),
                    },
                    Ty::Str => strings.intern(v).0 as f64,
                    other => {
                        return Err(invalid(format!(
                            "inputs of type {other} cannot be set from the command line"
                        )))
                    }
                }
            };
            if parsed < inp.minval {
                return Err(invalid(format!("{parsed} is below minval {}", inp.minval)));
            }
            if parsed > inp.maxval {
                return Err(invalid(format!("{parsed} is above maxval {}", inp.maxval)));
            }
            slots[inp.slot.0 as usize] = parsed;
        }
        let lim = Limits {
            slots: slots.len() as u32,
            code: program.code.len() as u32,
            rings: program.rings.len() as u32,
            ta: program.ta.len() as u32,
            plots: program.plots.len() as u32,
        };
        validate(program, &lim);
        let rings = program
            .rings
            .iter()
            .map(|r| {
                let size = (r.capacity as usize + 1).next_power_of_two();
                Ring {
                    buf: vec![f64::NAN; size],
                    mask: size - 1,
                    head: 0,
                    capacity: r.capacity,
                    src: r.src.0,
                }
            })
            .collect();
        // Which built-in slots the script reads, so that a bar loads only what is used.
        let mut used = vec![false; super::builtins::BUILTIN_SLOTS as usize];
        let mut mark = |r: u32| {
            if let Some(u) = used.get_mut(r as usize) {
                *u = true;
            }
        };
        for op in &program.code {
            op.visit_regs(&mut mark);
        }
        program.rings.iter().for_each(|r| mark(r.src.0));
        sources.iter().for_each(|&(_, b)| mark(b as u32));
        if program
            .ta
            .iter()
            .any(|t| t.kind == super::builtins::TaKind::Vwap)
        {
            mark(Builtin::Hlc3 as u32);
        }
        let any = |bs: &[Builtin]| bs.iter().any(|&b| used[b as usize]);
        let needs_derived = any(&[Builtin::Hl2, Builtin::Hlc3, Builtin::Ohlc4, Builtin::Hlcc4]);
        let needs_view = any(&[
            Builtin::PositionSize,
            Builtin::PositionAvgPrice,
            Builtin::Equity,
            Builtin::OpenTrades,
            Builtin::ClosedTrades,
            Builtin::NetProfit,
            Builtin::OpenProfit,
        ]);
        Ok(Vm {
            needs_derived,
            needs_view,
            code: program.code.clone().into_boxed_slice(),
            lines: program.lines.clone().into_boxed_slice(),
            slots,
            rings,
            ta: program.ta.iter().map(|t| TaState::new(t.kind)).collect(),
            ta_simple: program.ta.iter().map(|t| t.simple.clone()).collect(),
            ta_lines: program.ta.iter().map(|t| t.line).collect(),
            sources,
            strings,
            commands: Vec::with_capacity(64),
            alerts: Vec::with_capacity(16),
            plots: vec![f64::NAN; program.plots.len()],
            loop_limit: program.loop_limit,
            timeframe_ms: 0,
            bar_index: -1,
            params: StratParams {
                entry: param_positions(StratFn::Entry),
                close: param_positions(StratFn::Close),
                close_all: param_positions(StratFn::CloseAll),
                exit: param_positions(StratFn::Exit),
            },
        })
    }

    /// Sets the bar length, used for `time_close`.
    pub fn set_timeframe_ms(&mut self, ms: i64) {
        self.timeframe_ms = ms;
    }

    /// Sets `syminfo.mintick`.
    pub fn set_mintick(&mut self, mintick: f64) {
        self.slots[Builtin::Mintick as usize] = mintick;
    }

    /// The order commands of the last bar, in call order.
    pub fn commands(&self) -> &[OrderCommand] {
        &self.commands
    }

    /// The alerts of the last bar (message ids).
    pub fn alerts(&self) -> &[StrId] {
        &self.alerts
    }

    /// Plot values of the last bar, in plot order (na when a plot was not reached).
    pub fn plot_values(&self) -> &[f64] {
        &self.plots
    }

    /// Strings of this instance (program strings plus any built at run time).
    pub fn strings(&self) -> &StringTable {
        &self.strings
    }

    /// Number of bars run.
    pub fn bars_run(&self) -> i64 {
        self.bar_index + 1
    }

    /// Runs the script on one closed bar. `view` is the strategy state after the orders
    /// that filled on this bar. On error the bar's outputs are incomplete and the caller
    /// should stop the run.
    pub fn run_bar(&mut self, bar: &Bar, view: &StrategyView) -> Result<(), RuntimeError> {
        self.bar_index += 1;
        self.commands.clear();
        self.alerts.clear();
        for p in self.plots.iter_mut() {
            *p = f64::NAN;
        }
        self.load_bar(bar, view);
        self.exec()?;
        for r in self.rings.iter_mut() {
            r.buf[r.head & r.mask] = self.slots[r.src as usize];
            r.head = r.head.wrapping_add(1);
        }
        Ok(())
    }

    fn load_bar(&mut self, bar: &Bar, view: &StrategyView) {
        let s = &mut self.slots;
        let (o, h, l, c) = (bar.open, bar.high, bar.low, bar.close);
        s[Builtin::Open as usize] = o;
        s[Builtin::High as usize] = h;
        s[Builtin::Low as usize] = l;
        s[Builtin::Close as usize] = c;
        s[Builtin::Volume as usize] = bar.volume;
        s[Builtin::Time as usize] = bar.time_ms as f64;
        s[Builtin::TimeClose as usize] = (bar.time_ms + self.timeframe_ms) as f64;
        s[Builtin::BarIndex as usize] = self.bar_index as f64;
        if self.needs_derived {
            s[Builtin::Hl2 as usize] = (h + l) / 2.0;
            s[Builtin::Hlc3 as usize] = (h + l + c) / 3.0;
            s[Builtin::Ohlc4 as usize] = (o + h + l + c) / 4.0;
            s[Builtin::Hlcc4 as usize] = (h + l + c + c) / 4.0;
        }
        if self.needs_view {
            s[Builtin::PositionSize as usize] = view.position_size;
            s[Builtin::PositionAvgPrice as usize] = view.position_avg_price;
            s[Builtin::Equity as usize] = view.equity;
            s[Builtin::OpenTrades as usize] = view.opentrades as f64;
            s[Builtin::ClosedTrades as usize] = view.closedtrades as f64;
            s[Builtin::NetProfit as usize] = view.netprofit;
            s[Builtin::OpenProfit as usize] = view.openprofit;
        }
        for &(slot, b) in &self.sources {
            s[slot.0 as usize] = s[b as usize];
        }
    }

    #[inline(never)]
    fn exec(&mut self) -> Result<(), RuntimeError> {
        let Vm {
            code,
            lines,
            slots,
            rings,
            ta,
            ta_simple,
            ta_lines,
            strings,
            commands,
            alerts,
            plots,
            loop_limit,
            params,
            ..
        } = self;
        let code: &[Op] = code;
        let s: &mut [f64] = slots;
        let loop_limit = *loop_limit;
        let error = |pc: usize, kind| RuntimeError {
            line: lines.get(pc).copied().unwrap_or(0),
            kind,
        };
        // Reads and writes slots without bounds checks.
        macro_rules! rd {
            ($r:expr) => {{
                let i = $r.0 as usize;
                debug_assert!(i < s.len());
                // SAFETY: `validate` checked in `new` that every register operand of
                // `code` is below `slots.len()`, and `slots` never shrinks.
                unsafe { *s.get_unchecked(i) }
            }};
        }
        macro_rules! wr {
            ($r:expr, $v:expr) => {{
                let v = $v;
                let i = $r.0 as usize;
                debug_assert!(i < s.len());
                // SAFETY: as in `rd!`: register operands were validated against the
                // slot count in `new`.
                unsafe { *s.get_unchecked_mut(i) = v }
            }};
        }
        let truthy = |x: f64| x != 0.0 && !x.is_nan();
        let cmp = |a: f64, b: f64, r: bool| {
            if a.is_nan() || b.is_nan() {
                0.0
            } else {
                r as u8 as f64
            }
        };
        let mut pc = 0usize;
        while pc < code.len() {
            // SAFETY: `pc < code.len()` is the loop condition.
            let op = unsafe { *code.get_unchecked(pc) };
            pc += 1;
            match op {
                Op::Const { dst, value } => wr!(dst, value),
                Op::Mov { dst, src } => wr!(dst, rd!(src)),
                Op::Add { dst, a, b } => wr!(dst, rd!(a) + rd!(b)),
                Op::Sub { dst, a, b } => wr!(dst, rd!(a) - rd!(b)),
                Op::Mul { dst, a, b } => wr!(dst, rd!(a) * rd!(b)),
                Op::MulAdd { dst, a, b, c } => wr!(dst, rd!(a) + rd!(b) * rd!(c)),
                Op::MulSub { dst, a, b, c } => wr!(dst, rd!(a) - rd!(b) * rd!(c)),
                Op::Div { dst, a, b } => {
                    let d = rd!(b);
                    wr!(dst, if d == 0.0 { f64::NAN } else { rd!(a) / d })
                }
                Op::Rem { dst, a, b } => {
                    let d = rd!(b);
                    wr!(dst, if d == 0.0 { f64::NAN } else { rd!(a) % d })
                }
                Op::Neg { dst, a } => wr!(dst, -rd!(a)),
                Op::Not { dst, a } => {
                    let x = rd!(a);
                    wr!(
                        dst,
                        if x.is_nan() {
                            f64::NAN
                        } else {
                            (x == 0.0) as u8 as f64
                        }
                    )
                }
                Op::And { dst, a, b } => wr!(dst, (truthy(rd!(a)) && truthy(rd!(b))) as u8 as f64),
                Op::Or { dst, a, b } => wr!(dst, (truthy(rd!(a)) || truthy(rd!(b))) as u8 as f64),
                Op::Lt { dst, a, b } => {
                    let (x, y) = (rd!(a), rd!(b));
                    wr!(dst, cmp(x, y, x < y))
                }
                Op::Le { dst, a, b } => {
                    let (x, y) = (rd!(a), rd!(b));
                    wr!(dst, cmp(x, y, x <= y))
                }
                Op::Gt { dst, a, b } => {
                    let (x, y) = (rd!(a), rd!(b));
                    wr!(dst, cmp(x, y, x > y))
                }
                Op::Ge { dst, a, b } => {
                    let (x, y) = (rd!(a), rd!(b));
                    wr!(dst, cmp(x, y, x >= y))
                }
                Op::Eq { dst, a, b } => {
                    let (x, y) = (rd!(a), rd!(b));
                    wr!(dst, cmp(x, y, x == y))
                }
                Op::Ne { dst, a, b } => {
                    let (x, y) = (rd!(a), rd!(b));
                    wr!(dst, cmp(x, y, x != y))
                }
                Op::Math1 { f, dst, a } => wr!(dst, eval_math1(f, rd!(a))),
                Op::Math2 { f, dst, a, b } => wr!(dst, eval_math2(f, rd!(a), rd!(b))),
                Op::IsNa { dst, a } => wr!(dst, rd!(a).is_nan() as u8 as f64),
                Op::Nz { dst, a, b } => {
                    let x = rd!(a);
                    wr!(dst, if x.is_nan() { rd!(b) } else { x })
                }
                Op::Fixnan { dst, a, last } => {
                    let x = rd!(a);
                    if !x.is_nan() {
                        wr!(last, x);
                    }
                    wr!(dst, rd!(last))
                }
                Op::Jump { to } => pc = to.0 as usize,
                Op::JumpIfNot { cond, to } => {
                    if !truthy(rd!(cond)) {
                        pc = to.0 as usize;
                    }
                }
                Op::JumpIfNotCmp { cmp, a, b, to } => {
                    if !cmp.holds(rd!(a), rd!(b)) {
                        pc = to.0 as usize;
                    }
                }
                Op::Once { flag, to } => {
                    if rd!(flag) != 0.0 {
                        pc = to.0 as usize;
                    } else {
                        wr!(flag, 1.0);
                    }
                }
                Op::ForCheck { i, end, step, to } => {
                    let (x, e, st) = (rd!(i), rd!(end), rd!(step));
                    let done = x.is_nan()
                        || e.is_nan()
                        || st.is_nan()
                        || st == 0.0
                        || (st > 0.0 && x > e)
                        || (st < 0.0 && x < e);
                    if done {
                        pc = to.0 as usize;
                    }
                }
                Op::LoopGuard { counter } => {
                    let n = rd!(counter) + 1.0;
                    wr!(counter, n);
                    if n > loop_limit as f64 {
                        return Err(error(
                            pc - 1,
                            RuntimeErrorKind::LoopLimit { limit: loop_limit },
                        ));
                    }
                }
                Op::Hist { dst, ring, back } => {
                    // SAFETY: ring indices were validated in `new`.
                    let r = unsafe { rings.get_unchecked(ring as usize) };
                    wr!(dst, r.get(back as usize))
                }
                Op::HistDyn { dst, ring, offset } => {
                    let off = rd!(offset);
                    let r = &rings[ring as usize];
                    if off.is_nan() {
                        wr!(dst, f64::NAN);
                    } else if off < 0.0 {
                        return Err(error(
                            pc - 1,
                            RuntimeErrorKind::NegativeHistory { offset: off },
                        ));
                    } else if off > r.capacity as f64 {
                        return Err(error(
                            pc - 1,
                            RuntimeErrorKind::HistoryTooDeep {
                                offset: off,
                                max: r.capacity,
                            },
                        ));
                    } else {
                        let back = off as usize;
                        let v = if back == 0 {
                            rd!(Reg(r.src))
                        } else {
                            r.get(back)
                        };
                        wr!(dst, v)
                    }
                }
                Op::Ta { st, dst, a, b, c } => {
                    let i = st as usize;
                    if let Err(kind) = ta[i].call(&ta_simple[i], s, a, b, c, dst) {
                        let line = ta_lines[i];
                        return Err(RuntimeError {
                            line,
                            kind: RuntimeErrorKind::Ta(kind),
                        });
                    }
                }
                Op::Strategy { f, args } => {
                    let at = |k: usize| s[args.0 as usize + k];
                    if let Some(cmd) = order_command(params, f, &at) {
                        commands.push(cmd);
                    }
                }
                Op::Plot { plot, src } => {
                    plots[plot as usize] = rd!(src);
                }
                Op::Alert { msg } => {
                    let m = rd!(msg);
                    if !m.is_nan() {
                        alerts.push(StrId(m as u32));
                    }
                }
                Op::AlertIf { cond, msg } => {
                    if truthy(rd!(cond)) {
                        let m = rd!(msg);
                        if !m.is_nan() {
                            alerts.push(StrId(m as u32));
                        }
                    }
                }
                Op::ToStr { dst, a, ty } => {
                    let x = rd!(a);
                    let text = match ty {
                        2 => {
                            wr!(dst, x);
                            continue;
                        }
                        1 if !x.is_nan() => (if x != 0.0 { "true" } else { "false" }).to_string(),
                        _ => format_number(x),
                    };
                    wr!(dst, strings.intern(&text).0 as f64)
                }
                Op::Concat { dst, a, b } => {
                    let (x, y) = (rd!(a), rd!(b));
                    if x.is_nan() || y.is_nan() {
                        wr!(dst, f64::NAN);
                    } else {
                        let text = format!(
                            "{}{}",
                            strings.get(StrId(x as u32)),
                            strings.get(StrId(y as u32))
                        );
                        wr!(dst, strings.intern(&text).0 as f64)
                    }
                }
                Op::ColorNew { dst, color, transp } => {
                    let (c, t) = (rd!(color), rd!(transp));
                    if c.is_nan() {
                        wr!(dst, f64::NAN);
                    } else {
                        let alpha = ((100.0 - t.clamp(0.0, 100.0)) / 100.0 * 255.0).round() as u32;
                        wr!(dst, ((c as u32 & 0xFFFF_FF00) | alpha) as f64)
                    }
                }
                Op::ColorRgb { dst, args } => {
                    let base = args.0 as usize;
                    let ch = |k: usize| s[base + k].clamp(0.0, 255.0).round() as u32;
                    let t = s[base + 3];
                    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 100.0) };
                    let alpha = ((100.0 - t) / 100.0 * 255.0).round() as u32;
                    let v = (ch(0) << 24) | (ch(1) << 16) | (ch(2) << 8) | alpha;
                    wr!(dst, v as f64)
                }
            }
        }
        Ok(())
    }
}

/// Builds the command of a `strategy.*` call from its argument block; `None` when
/// `when` is false or the id / direction is na.
fn order_command(
    params: &StratParams,
    f: StratFn,
    at: &dyn Fn(usize) -> f64,
) -> Option<OrderCommand> {
    let id = |v: f64| (!v.is_nan()).then_some(StrId(v as u32));
    let flag = |v: f64| v != 0.0 && !v.is_nan();
    let dir = |v: f64| match v {
        0.0 => Some(Direction::Long),
        1.0 => Some(Direction::Short),
        _ => None,
    };
    match f {
        StratFn::Entry | StratFn::Order => {
            let p = &params.entry;
            if !flag(at(p[5])) {
                return None;
            }
            let (id, direction) = (id(at(p[0]))?, dir(at(p[1]))?);
            let (qty, limit, stop) = (at(p[2]), at(p[3]), at(p[4]));
            Some(if f == StratFn::Entry {
                OrderCommand::Entry {
                    id,
                    direction,
                    qty,
                    limit,
                    stop,
                }
            } else {
                OrderCommand::Order {
                    id,
                    direction,
                    qty,
                    limit,
                    stop,
                }
            })
        }
        StratFn::Close => {
            let p = &params.close;
            if !flag(at(p[4])) {
                return None;
            }
            Some(OrderCommand::Close {
                id: id(at(p[0]))?,
                qty: at(p[1]),
                qty_percent: at(p[2]),
                immediately: flag(at(p[3])),
            })
        }
        StratFn::CloseAll => {
            let p = &params.close_all;
            if !flag(at(p[1])) {
                return None;
            }
            Some(OrderCommand::CloseAll {
                immediately: flag(at(p[0])),
            })
        }
        StratFn::Exit => {
            let p = &params.exit;
            if !flag(at(p[11])) {
                return None;
            }
            Some(OrderCommand::Exit {
                id: id(at(p[0]))?,
                from_entry: id(at(p[1])),
                qty: at(p[2]),
                qty_percent: at(p[3]),
                profit: at(p[4]),
                limit: at(p[5]),
                loss: at(p[6]),
                stop: at(p[7]),
                trail_price: at(p[8]),
                trail_points: at(p[9]),
                trail_offset: at(p[10]),
            })
        }
        StratFn::Cancel => {
            if !flag(at(1)) {
                return None;
            }
            Some(OrderCommand::Cancel { id: id(at(0))? })
        }
        StratFn::CancelAll => flag(at(0)).then_some(OrderCommand::CancelAll),
    }
}

/// `str.tostring` of a number: whole numbers without decimals, others with up to 8
/// decimals (TradingView's default `#.########`), `NaN` for na.
pub fn format_number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let s = format!("{x:.8}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn source_builtin(name: &str) -> Option<Builtin> {
    Some(match name {
        "open" => Builtin::Open,
        "high" => Builtin::High,
        "low" => Builtin::Low,
        "close" => Builtin::Close,
        "volume" => Builtin::Volume,
        "hl2" => Builtin::Hl2,
        "hlc3" => Builtin::Hlc3,
        "ohlc4" => Builtin::Ohlc4,
        "hlcc4" => Builtin::Hlcc4,
        _ => return None,
    })
}

/// Checks every operand of the program against its sizes. A failure is a compiler bug,
/// never a user error, so it stops loudly instead of running unchecked code.
fn validate(program: &Program, lim: &Limits) {
    for (pc, op) in program.code.iter().enumerate() {
        assert!(
            op.operands_valid(lim),
            "invalid bytecode at {pc}: {op} (compiler bug)"
        );
        let width = match op {
            Op::Strategy { f, .. } => strategy_signature(*f).params.len() as u32,
            Op::ColorRgb { .. } => 4,
            Op::Ta { st, .. } => super::ta_exec::outputs(program.ta[*st as usize].kind),
            _ => 0,
        };
        let base = match op {
            Op::Strategy { args, .. } | Op::ColorRgb { args, .. } => args.0,
            Op::Ta { dst, .. } => dst.0,
            _ => 0,
        };
        assert!(
            base + width <= lim.slots,
            "invalid bytecode at {pc}: {op} (compiler bug)"
        );
    }
    for t in &program.ta {
        for r in &t.simple {
            assert!(r.0 < lim.slots, "invalid ta argument slot (compiler bug)");
        }
    }
    for r in &program.rings {
        assert!(r.src.0 < lim.slots, "invalid ring source (compiler bug)");
    }
}
