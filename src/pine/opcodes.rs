//! The bytecode: every opcode is declared once, in the `opcodes!` table below, and the
//! instruction enum, its mnemonic and its disassembly are generated from that table, so
//! they can never disagree (`pinewire check FILE --dump` prints the disassembly).
//!
//! The VM is a register machine: every value lives in an `f64` slot (`r12`). Ints, bools
//! (0/1), colors (0xRRGGBBAA) and interned string ids all fit exactly in an `f64`, and
//! Pine's `na` is `NaN`, so one flat slot array serves every type and no instruction
//! needs a type tag at run time: the compiler has already checked the types.

use std::fmt::{self, Write};

use super::builtins::{Math1, Math2, StratFn};

/// A VM slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reg(pub u32);

/// An instruction index (jump target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(pub u32);

/// The sizes an instruction's operands must stay within (see [`Op::operands_valid`]).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Number of slots.
    pub slots: u32,
    /// Number of instructions (a jump may target one past the end: the end of the bar).
    pub code: u32,
    /// Number of history rings.
    pub rings: u32,
    /// Number of `ta` call sites.
    pub ta: u32,
    /// Number of plots.
    pub plots: u32,
}

/// How an operand prints in the disassembly, and how it is validated.
pub trait Operand {
    /// Writes the operand.
    fn show(&self, out: &mut String);
    /// Whether the operand, in the field named `field`, is within `lim`.
    fn valid(&self, _field: &str, _lim: &Limits) -> bool {
        true
    }
    /// Calls `f` with the slot number when the operand is a slot.
    fn visit_reg(&self, _f: &mut dyn FnMut(u32)) {}
}

impl Operand for Reg {
    fn show(&self, out: &mut String) {
        let _ = write!(out, "r{}", self.0);
    }
    fn valid(&self, _field: &str, lim: &Limits) -> bool {
        self.0 < lim.slots
    }
    fn visit_reg(&self, f: &mut dyn FnMut(u32)) {
        f(self.0)
    }
}
impl Operand for Label {
    fn show(&self, out: &mut String) {
        let _ = write!(out, "@{}", self.0);
    }
    fn valid(&self, _field: &str, lim: &Limits) -> bool {
        self.0 <= lim.code
    }
}
impl Operand for f64 {
    fn show(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}
impl Operand for u32 {
    fn show(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
    fn valid(&self, field: &str, lim: &Limits) -> bool {
        match field {
            "ring" => *self < lim.rings,
            "st" => *self < lim.ta,
            "plot" => *self < lim.plots,
            _ => true,
        }
    }
}
impl Operand for u8 {
    fn show(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}
macro_rules! debug_operand {
    ($($t:ty),*) => {$(
        impl Operand for $t {
            fn show(&self, out: &mut String) {
                let _ = write!(out, "{:?}", self);
            }
        }
    )*};
}
debug_operand!(Math1, Math2, StratFn, Cmp);

/// A comparison fused into a conditional jump.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Cmp {
    /// `a <cmp> b`, false when either side is na (Pine).
    #[inline(always)]
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b && !a.is_nan() && !b.is_nan(),
        }
    }
}

macro_rules! opcodes {
    ($( $(#[doc = $doc:literal])* $name:ident { $($field:ident : $fty:ty),* } ),* $(,)?) => {
        /// One VM instruction.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub enum Op {
            $( $(#[doc = $doc])* $name { $(#[allow(missing_docs)] $field: $fty),* }, )*
        }

        impl Op {
            /// The mnemonic.
            pub fn mnemonic(&self) -> &'static str {
                match self {
                    $( Op::$name { .. } => stringify!($name), )*
                }
            }

            /// One line of disassembly: mnemonic and named operands.
            pub fn disassemble(&self, out: &mut String) {
                match self {
                    $( Op::$name { $($field),* } => {
                        let _ = write!(out, "{:<12}", stringify!($name));
                        $(
                            out.push(' ');
                            out.push_str(stringify!($field));
                            out.push('=');
                            Operand::show($field, out);
                        )*
                    } )*
                }
            }
        }

        impl Op {
            /// Whether every operand is within `lim` (checked once before a VM runs the
            /// code, so that the interpreter loop needs no bounds checks).
            pub fn operands_valid(&self, lim: &Limits) -> bool {
                match self {
                    $( Op::$name { $($field),* } => {
                        true $( && Operand::valid($field, stringify!($field), lim) )*
                    } )*
                }
            }
        }

        impl Op {
            /// Calls `f` with every slot the instruction names (argument blocks count by
            /// their first slot).
            pub fn visit_regs(&self, f: &mut dyn FnMut(u32)) {
                match self {
                    $( Op::$name { $($field),* } => {
                        $( Operand::visit_reg($field, f); )*
                    } )*
                }
            }
        }

        /// Every mnemonic, in declaration order.
        pub const MNEMONICS: &[&str] = &[$(stringify!($name)),*];
    };
}

opcodes! {
    /// `dst = value`
    Const { dst: Reg, value: f64 },
    /// `dst = src`
    Mov { dst: Reg, src: Reg },
    /// `dst = a + b`
    Add { dst: Reg, a: Reg, b: Reg },
    /// `dst = a - b`
    Sub { dst: Reg, a: Reg, b: Reg },
    /// `dst = a * b`
    Mul { dst: Reg, a: Reg, b: Reg },
    /// `dst = a + b * c` (two roundings, exactly as the unfused pair).
    MulAdd { dst: Reg, a: Reg, b: Reg, c: Reg },
    /// `dst = a - b * c` (two roundings, exactly as the unfused pair).
    MulSub { dst: Reg, a: Reg, b: Reg, c: Reg },
    /// `dst = a / b`, na when b is 0 (Pine).
    Div { dst: Reg, a: Reg, b: Reg },
    /// `dst = a % b` (sign of a), na when b is 0.
    Rem { dst: Reg, a: Reg, b: Reg },
    /// `dst = -a`
    Neg { dst: Reg, a: Reg },
    /// `dst = not a`; `not na` is na.
    Not { dst: Reg, a: Reg },
    /// `dst = a and b` (na counts as false).
    And { dst: Reg, a: Reg, b: Reg },
    /// `dst = a or b` (na counts as false).
    Or { dst: Reg, a: Reg, b: Reg },
    /// `dst = a < b`; false when either is na.
    Lt { dst: Reg, a: Reg, b: Reg },
    /// `dst = a <= b`; false when either is na.
    Le { dst: Reg, a: Reg, b: Reg },
    /// `dst = a > b`; false when either is na.
    Gt { dst: Reg, a: Reg, b: Reg },
    /// `dst = a >= b`; false when either is na.
    Ge { dst: Reg, a: Reg, b: Reg },
    /// `dst = a == b`; false when either is na.
    Eq { dst: Reg, a: Reg, b: Reg },
    /// `dst = a != b`; false when either is na.
    Ne { dst: Reg, a: Reg, b: Reg },
    /// `dst = f(a)`
    Math1 { f: Math1, dst: Reg, a: Reg },
    /// `dst = f(a, b)`
    Math2 { f: Math2, dst: Reg, a: Reg, b: Reg },
    /// `dst = na(a)`
    IsNa { dst: Reg, a: Reg },
    /// `dst = na(a) ? b : a`
    Nz { dst: Reg, a: Reg, b: Reg },
    /// `last = na(a) ? last : a; dst = last` (`fixnan`).
    Fixnan { dst: Reg, a: Reg, last: Reg },
    /// Unconditional jump.
    Jump { to: Label },
    /// Jump when `cond` is false or na.
    JumpIfNot { cond: Reg, to: Label },
    /// Jump when `a <cmp> b` is false or either is na (a comparison and its `if`, fused).
    JumpIfNotCmp { cmp: Cmp, a: Reg, b: Reg, to: Label },
    /// First time through: set `flag` and fall through; afterwards jump (`var` init).
    Once { flag: Reg, to: Label },
    /// `for` loop test: jump to `to` when `i` has passed `end` in the direction of `step`
    /// (or any of them is na).
    ForCheck { i: Reg, end: Reg, step: Reg, to: Label },
    /// `dst = a + b` on strings (interns the result).
    Concat { dst: Reg, a: Reg, b: Reg },
    /// Counts a loop iteration in `counter`; fails past the per-bar loop limit.
    LoopGuard { counter: Reg },
    /// `dst` = value of history ring `ring` `back` bars ago (back >= 1).
    Hist { dst: Reg, ring: u32, back: u32 },
    /// `dst` = value of history ring `ring` `offset` bars ago (offset from a slot).
    HistDyn { dst: Reg, ring: u32, offset: Reg },
    /// Runs `ta` call site `st` on its series arguments `a`, `b`, `c` (those it takes);
    /// results go to `dst..` (several for tuple-valued operators). Its simple arguments
    /// (lengths) are read once, on the first call, to size the state.
    Ta { st: u32, dst: Reg, a: Reg, b: Reg, c: Reg },
    /// A `strategy.*` order call with its arguments in consecutive slots from `args`.
    Strategy { f: StratFn, args: Reg },
    /// Records `src` as the value of plot `plot` on this bar.
    Plot { plot: u32, src: Reg },
    /// Raises an alert with the message (string id) in `msg`.
    Alert { msg: Reg },
    /// Raises alert `msg` when `cond` is true.
    AlertIf { cond: Reg, msg: Reg },
    /// `dst` = interned text of `a` (`str.tostring`; `ty` 0 number, 1 bool, 2 string).
    ToStr { dst: Reg, a: Reg, ty: u8 },
    /// `dst = color.new(color, transp)`
    ColorNew { dst: Reg, color: Reg, transp: Reg },
    /// `dst = color.rgb(r, g, b, transp)` with arguments from `args`.
    ColorRgb { dst: Reg, args: Reg },
}

/// A whole program's disassembly with source lines.
pub fn disassemble(code: &[Op], lines: &[u32]) -> String {
    let mut out = String::new();
    for (i, op) in code.iter().enumerate() {
        let _ = write!(out, "{i:5}  ");
        let start = out.len();
        op.disassemble(&mut out);
        let width = out.len() - start;
        if let Some(line) = lines.get(i) {
            let pad = 52usize.saturating_sub(width);
            let _ = write!(out, "{:pad$}; line {line}", "");
        }
        out.push('\n');
    }
    out
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.disassemble(&mut s);
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disassembly_comes_from_the_declaration() {
        // TC0: operands named as declared
        let op = Op::Add {
            dst: Reg(3),
            a: Reg(1),
            b: Reg(2),
        };
        assert_eq!(op.to_string(), "Add          dst=r3 a=r1 b=r2");
        // TC1: every mnemonic listed once
        assert!(MNEMONICS.contains(&"HistDyn"));
        assert_eq!(op.mnemonic(), "Add");
        // TC2: the op stays small enough to keep the code dense
        assert!(std::mem::size_of::<Op>() <= 24);
    }
}
