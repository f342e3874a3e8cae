//! From AST to bytecode: name resolution, type checking and code generation.
//!
//! Checking and generation happen in one walk because Pine's user functions are generic
//! (their parameter types follow the arguments) and every call of a user function owns its
//! own series state, exactly like an inlined body. So each call is checked and generated
//! where it is made, with the argument types of that call; recursion, which Pine forbids,
//! is reported instead of looping.
//!
//! Every literal is pre-loaded into its own slot (see [`Program::init`]), so the bytecode
//! never loads constants; expressions of literals are folded at compile time.

use std::collections::HashMap;

use super::ast::*;
use super::builtins::{
    self, Builtin, ConstVal, Dflt, FnSig, Impl, Math1, Math2, PTy, Ret, StratFn, TaKind,
};
use super::opcodes::{Cmp, Label, Op, Reg};
use super::program::{InputSpec, Program, RingSpec, TaSpec};
use super::span::{CompileError, SourceFile, Span};
use super::strategy::{CommissionType, QtyType, StrategySettings};
use super::strings::StringTable;
use super::types::{Qual, Ty, Type};

/// Iterations one loop may run on one bar before the script stops with an error
/// (TradingView stops loops that run too long; this is the deterministic equivalent).
pub const LOOP_LIMIT: u32 = 1_000_000;

/// Deepest user-function call nesting accepted (recursion is reported before this).
const MAX_INLINE_DEPTH: usize = 64;

type Result<T> = std::result::Result<T, CompileError>;

mod analysis;
mod calls;
mod control;
mod declaration;
mod effects;
mod eval;
mod expressions;
mod functions;
mod statements;
mod ta_calls;

use analysis::assigned_names;
use eval::fold;
pub use eval::{eval_math1, eval_math2, strategy_params};

/// Compiles a parsed script.
pub fn compile_script(file: &SourceFile, script: &Script) -> Result<Program> {
    let version = script.version.unwrap_or(5);
    if !(4..=5).contains(&version) {
        return Err(CompileError::new(
            version_span(file),
            format!(
                "pinewire runs Pine Script v5 (and v4 study/input forms), found //@version={version}"
            ),
        ));
    }
    let mut c = Compiler::new(file, version);
    assigned_names(&script.stmts, &mut c.reassigned);
    c.declaration(script)?;
    c.scopes.push(Scope::default());
    for stmt in &script.stmts {
        c.stmt(stmt, false)?;
    }
    c.finish()
}

fn version_span(file: &SourceFile) -> Span {
    let at = file.text.find("//@version").unwrap_or(0);
    let end = file.text[at..]
        .find('\n')
        .map_or(file.text.len(), |e| at + e);
    Span::new(at, end)
}

/// A compiled value: where it is, its type, and its value when known at compile time.
#[derive(Debug, Clone, Copy)]
struct Val {
    reg: Reg,
    ty: Type,
    konst: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Var {
    slot: Reg,
    ty: Type,
}

#[derive(Debug, Default)]
struct Scope {
    vars: HashMap<String, Var>,
    /// A function body: lookups skip the caller's scopes and go to the globals.
    barrier: bool,
}

#[derive(Debug, Default)]
struct LoopCtx {
    breaks: Vec<usize>,
    continues: Vec<usize>,
}

struct Compiler<'a> {
    file: &'a SourceFile,
    version: u32,
    code: Vec<Op>,
    lines: Vec<u32>,
    init: Vec<f64>,
    consts: HashMap<u64, Reg>,
    rings: Vec<RingSpec>,
    ring_of: HashMap<u32, usize>,
    ta: Vec<TaSpec>,
    inputs: Vec<InputSpec>,
    plots: Vec<String>,
    untitled_plots: u32,
    strings: StringTable,
    settings: StrategySettings,
    scopes: Vec<Scope>,
    funcs: HashMap<String, &'a Stmt>,
    inline_stack: Vec<String>,
    loops: Vec<LoopCtx>,
    line: u32,
    /// Name of the variable being declared, so that an input can be named after it.
    decl_name: Option<String>,
    /// Slots that belong to a variable or an input: never reused as another variable.
    owned: std::collections::HashSet<u32>,
    /// Input slots.
    input_slots: std::collections::HashSet<u32>,
    /// Names assigned with `:=` (or `+=`...) anywhere in the script.
    reassigned: std::collections::HashSet<String>,
    /// Results of `ta.*` calls made unconditionally at the top level, by operator and
    /// argument slots: a second identical call reads the first one's result (the same
    /// operator on the same series over the same bars gives the same values).
    ta_cache: HashMap<(TaKind, [u32; 3], Vec<u32>), Val>,
    /// Depth of code that does not run on every bar (ternary branches, `var` initialisers).
    cond_depth: u32,
}

impl<'a> Compiler<'a> {
    fn new(file: &'a SourceFile, version: u32) -> Compiler<'a> {
        let mut init = vec![f64::NAN; builtins::BUILTIN_SLOTS as usize];
        init[Builtin::BarIndex as usize] = -1.0;
        Compiler {
            file,
            version,
            code: Vec::new(),
            lines: Vec::new(),
            init,
            consts: HashMap::new(),
            rings: Vec::new(),
            ring_of: HashMap::new(),
            ta: Vec::new(),
            inputs: Vec::new(),
            plots: Vec::new(),
            untitled_plots: 0,
            strings: StringTable::new(),
            settings: StrategySettings::default(),
            scopes: Vec::new(),
            funcs: HashMap::new(),
            inline_stack: Vec::new(),
            loops: Vec::new(),
            line: 1,
            decl_name: None,
            owned: std::collections::HashSet::new(),
            input_slots: std::collections::HashSet::new(),
            reassigned: std::collections::HashSet::new(),
            ta_cache: HashMap::new(),
            cond_depth: 0,
        }
    }

    fn finish(mut self) -> Result<Program> {
        let max_back = self.settings.max_bars_back.max(1);
        for r in &mut self.rings {
            if r.capacity == u32::MAX {
                r.capacity = max_back;
            }
        }
        self.init[Builtin::InitialCapital as usize] = self.settings.initial_capital;
        Ok(Program {
            source_name: self.file.name.clone(),
            settings: self.settings,
            code: self.code,
            lines: self.lines,
            init: self.init,
            rings: self.rings,
            ta: self.ta,
            inputs: self.inputs,
            plots: self.plots,
            strings: self.strings,
            loop_limit: LOOP_LIMIT,
        })
    }

    // ----- errors, slots and emission -------------------------------------------------

    fn err<T>(&self, span: Span, msg: impl Into<String>) -> Result<T> {
        Err(CompileError::new(span, msg))
    }

    fn set_line(&mut self, span: Span) {
        self.line = self.file.line_col(span.start).0 as u32;
    }

    fn emit(&mut self, op: Op) -> usize {
        self.code.push(op);
        self.lines.push(self.line);
        self.code.len() - 1
    }

    fn here(&self) -> Label {
        Label(self.code.len() as u32)
    }

    /// Points the jump at `at` to `to`.
    fn patch(&mut self, at: usize, to: Label) {
        match &mut self.code[at] {
            Op::Jump { to: t }
            | Op::JumpIfNot { to: t, .. }
            | Op::JumpIfNotCmp { to: t, .. }
            | Op::Once { to: t, .. }
            | Op::ForCheck { to: t, .. } => *t = to,
            _ => unreachable!("patching a non-jump"),
        }
    }

    fn slot(&mut self) -> Reg {
        self.init.push(f64::NAN);
        Reg(self.init.len() as u32 - 1)
    }

    fn slots(&mut self, n: usize) -> Reg {
        let first = self.init.len() as u32;
        self.init.extend(std::iter::repeat_n(f64::NAN, n));
        Reg(first)
    }

    fn const_slot(&mut self, v: f64) -> Reg {
        let key = v.to_bits();
        if let Some(&r) = self.consts.get(&key) {
            return r;
        }
        let r = self.slot();
        self.init[r.0 as usize] = v;
        self.consts.insert(key, r);
        r
    }

    fn konst(&mut self, v: f64, ty: Ty) -> Val {
        Val {
            reg: self.const_slot(v),
            ty: Type::konst(ty),
            konst: Some(v),
        }
    }

    fn str_const(&mut self, s: &str) -> Val {
        let id = self.strings.intern(s);
        self.konst(id.0 as f64, Ty::Str)
    }

    fn mov(&mut self, dst: Reg, src: Reg) {
        if dst != src {
            self.emit(Op::Mov { dst, src });
        }
    }

    // ----- scopes -----------------------------------------------------------------------

    fn lookup(&self, name: &str) -> Option<Var> {
        for scope in self.scopes.iter().rev() {
            if let Some(v) = scope.vars.get(name) {
                return Some(*v);
            }
            if scope.barrier {
                return self.scopes.first().and_then(|g| g.vars.get(name).copied());
            }
        }
        None
    }

    fn declare(&mut self, ident: &Ident, var: Var) -> Result<()> {
        self.owned.insert(var.slot.0);
        if ident.name == "_" {
            return Ok(());
        }
        if builtins::variable(&ident.name).is_some() {
            return self.err(
                ident.span,
                format!("cannot redeclare the built-in variable '{}'", ident.name),
            );
        }
        if ident.name.contains('.') {
            return self.err(
                ident.span,
                format!("'{}': variable names cannot contain '.'", ident.name),
            );
        }
        let scope = self.scopes.last_mut().expect("a scope is always open");
        if scope.vars.contains_key(&ident.name) {
            return self.err(
                ident.span,
                format!(
                    "'{}' is already declared in this scope; use ':=' to assign a new value",
                    ident.name
                ),
            );
        }
        scope.vars.insert(ident.name.clone(), var);
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum ConstArg {
    Num(f64),
    Str(String),
}

fn non_negative(v: f64, span: Span, what: &str) -> Result<u32> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 {
        Ok(v as u32)
    } else {
        Err(CompileError::new(
            span,
            format!("{what} must be a whole number, zero or more"),
        ))
    }
}

fn positive(v: f64, span: Span, what: &str) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(CompileError::new(
            span,
            format!("{what} must be greater than zero"),
        ))
    }
}
