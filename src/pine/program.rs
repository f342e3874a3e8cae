//! A compiled script: immutable bytecode plus everything the VM needs to size its state
//! before the first bar. One `Program` can back many VM instances (one per symbol).

use super::builtins::{Builtin, TaKind};
use super::opcodes::{self, Op, Reg};
use super::strategy::StrategySettings;
use super::strings::StringTable;
use super::types::Ty;

/// A history ring: the last `capacity` end-of-bar values of slot `src`.
#[derive(Debug, Clone, PartialEq)]
pub struct RingSpec {
    /// The slot whose value is recorded at the end of every bar.
    pub src: Reg,
    /// How many past bars are kept.
    pub capacity: u32,
}

/// One `ta.*` call site (each owns its state).
#[derive(Debug, Clone, PartialEq)]
pub struct TaSpec {
    /// Which operator.
    pub kind: TaKind,
    /// Source line of the call, for run-time errors.
    pub line: u32,
    /// Slots of the simple arguments (lengths, multipliers), in signature order, read
    /// on the first call to size the state.
    pub simple: Vec<Reg>,
}

/// An `input*()` of the script, settable before the run (`--set name=value`).
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    /// The variable the input is assigned to (empty when not assigned directly).
    pub name: String,
    /// The input's title (its second argument), or the variable name.
    pub title: String,
    /// Value type (`Float` for `input.source`).
    pub ty: Ty,
    /// Default value, in slot form (string ids for strings).
    pub default: f64,
    /// The slot that holds the value.
    pub slot: Reg,
    /// `minval`, na when absent.
    pub minval: f64,
    /// `maxval`, na when absent.
    pub maxval: f64,
    /// For `input.source`: the built-in series chosen by default.
    pub source: Option<Builtin>,
}

/// A compiled script.
#[derive(Debug, Clone)]
pub struct Program {
    /// File name as given to the compiler (for messages).
    pub source_name: String,
    /// The declaration.
    pub settings: StrategySettings,
    /// The bytecode, run from the top once per bar.
    pub code: Vec<Op>,
    /// Source line of each instruction.
    pub lines: Vec<u32>,
    /// Initial slot values: built-ins, constants (pre-loaded, so no instruction ever
    /// loads a literal), inputs, and `na` for the rest.
    pub init: Vec<f64>,
    /// History rings.
    pub rings: Vec<RingSpec>,
    /// `ta.*` call sites.
    pub ta: Vec<TaSpec>,
    /// Inputs.
    pub inputs: Vec<InputSpec>,
    /// Plot titles, in plot order.
    pub plots: Vec<String>,
    /// Interned strings (order ids, messages, string constants).
    pub strings: StringTable,
    /// The most iterations one loop may run on one bar before the script is stopped.
    pub loop_limit: u32,
}

impl Program {
    /// The bytecode listing (`pinewire check --dump`).
    pub fn disassemble(&self) -> String {
        let mut out = format!(
            "; {} ({}), {} slots, {} history rings, {} ta states, {} plots\n",
            self.source_name,
            if self.settings.is_strategy {
                "strategy"
            } else {
                "indicator"
            },
            self.init.len(),
            self.rings.len(),
            self.ta.len(),
            self.plots.len()
        );
        for (i, r) in self.rings.iter().enumerate() {
            out.push_str(&format!("; ring {i}: r{} x {} bars\n", r.src.0, r.capacity));
        }
        for (i, t) in self.ta.iter().enumerate() {
            out.push_str(&format!("; ta {i}: {:?} (line {})\n", t.kind, t.line));
        }
        for inp in &self.inputs {
            out.push_str(&format!(
                "; input r{} {} \"{}\" = {}\n",
                inp.slot.0, inp.name, inp.title, inp.default
            ));
        }
        out.push_str(&opcodes::disassemble(&self.code, &self.lines));
        out
    }
}
