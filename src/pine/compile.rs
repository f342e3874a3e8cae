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

    // ----- the declaration ------------------------------------------------------------

    /// Finds `strategy(...)` / `indicator(...)` / `study(...)` at the top level and reads
    /// its constant arguments into the settings.
    fn declaration(&mut self, script: &'a Script) -> Result<()> {
        let mut found: Option<(&Ident, &Vec<Arg>)> = None;
        for stmt in &script.stmts {
            if let StmtKind::Expr(Expr {
                kind: ExprKind::Call { callee, args },
                ..
            }) = &stmt.kind
            {
                if matches!(callee.name.as_str(), "strategy" | "indicator" | "study") {
                    if found.is_some() {
                        return self.err(
                            callee.span,
                            "a script has exactly one strategy(...) or indicator(...) declaration",
                        );
                    }
                    found = Some((callee, args));
                }
            }
        }
        let Some((callee, args)) = found else {
            return self.err(
                Span::new(0, 0),
                "the script has no strategy(...) or indicator(...) declaration",
            );
        };
        if callee.name == "study" && self.version > 4 {
            return self.err(
                callee.span,
                "'study' is the Pine v4 name: use indicator(...) with //@version=5",
            );
        }
        let sig = builtins::function(&callee.name).expect("declarations are built-ins");
        let bound = self.bind_args(sig, callee, args)?;
        let mut s = StrategySettings {
            is_strategy: callee.name == "strategy",
            ..StrategySettings::default()
        };
        for (param, arg) in sig.params.iter().zip(&bound) {
            let Some(arg) = arg else { continue };
            let value = self.const_arg(arg, param.name, sig.name)?;
            let num = |v: &ConstArg| match v {
                ConstArg::Num(n) => Ok(*n),
                ConstArg::Str(_) => Err(CompileError::new(
                    arg.span,
                    format!("'{}' of {} must be a number", param.name, sig.name),
                )),
            };
            let text = |v: &ConstArg| match v {
                ConstArg::Str(s) => Ok(s.clone()),
                ConstArg::Num(_) => Err(CompileError::new(
                    arg.span,
                    format!("'{}' of {} must be a string", param.name, sig.name),
                )),
            };
            match param.name {
                "title" => s.title = text(&value)?,
                "overlay" => s.overlay = num(&value)? != 0.0,
                "pyramiding" => s.pyramiding = non_negative(num(&value)?, arg.span, "pyramiding")?,
                "calc_on_every_tick" => s.calc_on_every_tick = num(&value)? != 0.0,
                "max_bars_back" => {
                    let v = non_negative(num(&value)?, arg.span, "max_bars_back")?;
                    if !(1..=5000).contains(&v) {
                        return self.err(arg.span, "max_bars_back must be between 1 and 5000");
                    }
                    s.max_bars_back = v;
                }
                "default_qty_type" => {
                    s.default_qty_type = match text(&value)?.as_str() {
                        "fixed" => QtyType::Fixed,
                        "percent_of_equity" => QtyType::PercentOfEquity,
                        "cash" => QtyType::Cash,
                        other => {
                            return self.err(
                                arg.span,
                                format!("unknown default_qty_type '{other}': use strategy.fixed, strategy.percent_of_equity or strategy.cash"),
                            )
                        }
                    }
                }
                "default_qty_value" => s.default_qty_value = positive(num(&value)?, arg.span, "default_qty_value")?,
                "initial_capital" => s.initial_capital = positive(num(&value)?, arg.span, "initial_capital")?,
                "slippage" => s.slippage_ticks = non_negative(num(&value)?, arg.span, "slippage")?,
                "commission_type" => {
                    s.commission_type = match text(&value)?.as_str() {
                        "percent" => CommissionType::Percent,
                        "cash_per_contract" => CommissionType::CashPerContract,
                        "cash_per_order" => CommissionType::CashPerOrder,
                        other => {
                            return self.err(
                                arg.span,
                                format!("unknown commission_type '{other}': use strategy.commission.percent, .cash_per_contract or .cash_per_order"),
                            )
                        }
                    }
                }
                "commission_value" => {
                    let v = num(&value)?;
                    if !(v >= 0.0 && v.is_finite()) {
                        return self.err(arg.span, "commission_value must be zero or positive");
                    }
                    s.commission_value = v;
                }
                "process_orders_on_close" => s.process_orders_on_close = num(&value)? != 0.0,
                _ => {}
            }
        }
        if s.pyramiding == 0 {
            s.pyramiding = 1;
        }
        self.settings = s;
        Ok(())
    }

    /// The value of a constant argument (declarations, titles).
    fn const_arg(&mut self, e: &'a Expr, param: &str, func: &str) -> Result<ConstArg> {
        match &e.kind {
            ExprKind::Str(s) => Ok(ConstArg::Str(s.clone())),
            ExprKind::Name(n) => match builtins::constant(n) {
                Some(ConstVal::Str(s)) => Ok(ConstArg::Str(s.to_string())),
                Some(ConstVal::Num(v, _)) => Ok(ConstArg::Num(v)),
                None => self.err(
                    e.span,
                    format!("'{param}' of {func} must be a constant, '{n}' is not"),
                ),
            },
            _ => {
                self.scopes.push(Scope::default());
                let v = self.expr(e);
                self.scopes.pop();
                match v?.konst {
                    Some(v) => Ok(ConstArg::Num(v)),
                    None => self.err(e.span, format!("'{param}' of {func} must be a constant")),
                }
            }
        }
    }

    // ----- statements -----------------------------------------------------------------

    /// Compiles a statement; returns its value when it is an expression statement and
    /// `want` asks for one.
    fn stmt(&mut self, stmt: &'a Stmt, want: bool) -> Result<Option<Val>> {
        self.set_line(stmt.span);
        match &stmt.kind {
            StmtKind::VarDecl {
                mode,
                ty,
                name,
                value,
            } => {
                self.var_decl(*mode, *ty, name, value)?;
                Ok(None)
            }
            StmtKind::TupleDecl { names, value } => {
                self.tuple_decl(names, value, stmt.span)?;
                Ok(None)
            }
            StmtKind::Assign { target, op, value } => {
                self.assign(target, *op, value)?;
                Ok(None)
            }
            StmtKind::FuncDef { name, .. } => {
                if self.scopes.len() > 1 || !self.inline_stack.is_empty() {
                    return self.err(name.span, "functions must be declared at the top level");
                }
                if builtins::function(&name.name).is_some() || name.name.contains('.') {
                    return self.err(
                        name.span,
                        format!("cannot redefine the built-in function '{}'", name.name),
                    );
                }
                if self.funcs.insert(name.name.clone(), stmt).is_some() {
                    return self.err(
                        name.span,
                        format!("function '{}' is already declared", name.name),
                    );
                }
                Ok(None)
            }
            StmtKind::Break | StmtKind::Continue => {
                let is_break = matches!(stmt.kind, StmtKind::Break);
                if self.loops.is_empty() {
                    let what = if is_break { "break" } else { "continue" };
                    return self.err(stmt.span, format!("'{what}' outside of a loop"));
                }
                let at = self.emit(Op::Jump { to: Label(0) });
                let ctx = self.loops.last_mut().expect("checked above");
                if is_break {
                    ctx.breaks.push(at);
                } else {
                    ctx.continues.push(at);
                }
                Ok(None)
            }
            StmtKind::Expr(e) => {
                if let ExprKind::Call { callee, .. } = &e.kind {
                    if matches!(callee.name.as_str(), "strategy" | "indicator" | "study") {
                        if self.scopes.len() > 1 {
                            return self.err(
                                callee.span,
                                format!("{}(...) must be at the top level", callee.name),
                            );
                        }
                        return Ok(None);
                    }
                }
                let v = self.expr_opt(e, want)?;
                Ok(if want { v } else { None })
            }
        }
    }

    fn block(&mut self, block: &'a Block, want: bool) -> Result<Option<Val>> {
        self.scopes.push(Scope::default());
        let mut last = None;
        let n = block.stmts.len();
        for (i, s) in block.stmts.iter().enumerate() {
            let v = self.stmt(s, want && i + 1 == n);
            match v {
                Ok(v) => last = v,
                Err(e) => {
                    self.scopes.pop();
                    return Err(e);
                }
            }
        }
        self.scopes.pop();
        Ok(last)
    }

    fn var_decl(
        &mut self,
        mode: DeclMode,
        ann: Option<TypeAnn>,
        name: &Ident,
        value: &'a Expr,
    ) -> Result<()> {
        let skip = match mode {
            DeclMode::Plain => None,
            DeclMode::Var | DeclMode::Varip => {
                let flag = self.slot();
                self.init[flag.0 as usize] = 0.0;
                Some(self.emit(Op::Once { flag, to: Label(0) }))
            }
        };
        self.decl_name = Some(name.name.clone());
        let fresh_from = self.init.len() as u32;
        let once = skip.is_some() as u32;
        self.cond_depth += once;
        let v = self.expr(value);
        self.cond_depth -= once;
        self.decl_name = None;
        let v = v?;
        let ty = self.decl_type(name, ann, v.ty, value.span)?;
        // The value's own temporary becomes the variable when nothing else owns it: a
        // slot computed by this statement alone, not a constant, an input (re-read every
        // bar) or another variable. That saves a move per declaration per bar.
        let never_reassigned = mode == DeclMode::Plain && !self.reassigned.contains(&name.name);
        let slot = if v.reg.0 >= fresh_from && v.konst.is_none() && !self.owned.contains(&v.reg.0) {
            v.reg
        } else if never_reassigned && self.input_slots.contains(&v.reg.0) {
            // An input that its variable never overwrites: read the input slot directly.
            v.reg
        } else {
            let slot = self.slot();
            self.mov(slot, v.reg);
            slot
        };
        self.owned.insert(slot.0);
        if let Some(at) = skip {
            let here = self.here();
            self.patch(at, here);
        }
        // A `var` keeps its value across bars, so it is a series even when its initial
        // value is a constant; a plain variable takes the qualifier of its value.
        let q = match mode {
            DeclMode::Plain => ty.q,
            _ => Qual::Series,
        };
        self.declare(
            name,
            Var {
                slot,
                ty: Type::new(q, ty.ty),
            },
        )
    }

    fn decl_type(
        &self,
        name: &Ident,
        ann: Option<TypeAnn>,
        value: Type,
        value_span: Span,
    ) -> Result<Type> {
        if matches!(value.ty, Ty::Void) {
            return self.err(value_span, "this expression has no value to assign");
        }
        if let Ty::Tuple(_) = value.ty {
            return self.err(
                value_span,
                format!(
                    "this returns a tuple: destructure it with [a, b, ...] = instead of assigning it to '{}'",
                    name.name
                ),
            );
        }
        match ann {
            Some(a) => {
                let want = Ty::from_base(a.base);
                if !value.ty.fits(want) {
                    return self.err(
                        value_span,
                        format!(
                            "cannot assign a {} value to '{}', declared {}",
                            value.ty, name.name, want
                        ),
                    );
                }
                let q = match a.qualifier {
                    Some(q) => {
                        let q = Qual::from_ast(q);
                        if value.q > q {
                            return self.err(
                                value_span,
                                format!(
                                    "'{}' is declared {} {} but its value is {}",
                                    name.name, q, want, value
                                ),
                            );
                        }
                        q
                    }
                    None => value.q,
                };
                Ok(Type::new(q, want))
            }
            None if value.ty == Ty::Na => self.err(
                value_span,
                format!(
                    "cannot tell the type of '{}' from na: declare it with a type, e.g. 'float {} = na'",
                    name.name, name.name
                ),
            ),
            None => Ok(value),
        }
    }

    fn tuple_decl(&mut self, names: &[Ident], value: &'a Expr, span: Span) -> Result<()> {
        let v = self.expr(value)?;
        let Ty::Tuple(n) = v.ty.ty else {
            return self.err(
                value.span,
                format!(
                    "expected a tuple of {} values, got {}",
                    names.len(),
                    v.ty.ty
                ),
            );
        };
        if n as usize != names.len() {
            return self.err(
                span,
                format!(
                    "the tuple has {n} values but {} names are declared",
                    names.len()
                ),
            );
        }
        for (i, name) in names.iter().enumerate() {
            if name.name == "_" {
                continue;
            }
            let slot = self.slot();
            self.mov(slot, Reg(v.reg.0 + i as u32));
            self.declare(
                name,
                Var {
                    slot,
                    ty: Type::series(Ty::Float),
                },
            )?;
        }
        Ok(())
    }

    fn assign(&mut self, target: &Ident, op: AssignOp, value: &'a Expr) -> Result<()> {
        let Some(var) = self.lookup(&target.name) else {
            if builtins::variable(&target.name).is_some() {
                return self.err(
                    target.span,
                    format!("cannot assign to the built-in variable '{}'", target.name),
                );
            }
            return self.err(
                target.span,
                format!(
                    "undeclared identifier '{}': declare it with '=' before assigning with ':='",
                    target.name
                ),
            );
        };
        if self.is_global_from_function(&target.name) {
            return self.err(
                target.span,
                format!(
                    "cannot modify the global variable '{}' inside a function",
                    target.name
                ),
            );
        }
        let v = self.expr(value)?;
        // A reassignment may change a slot that a cached ta result or argument lives in.
        self.ta_cache.clear();
        let result = match op {
            AssignOp::Reassign => v,
            _ => {
                let bop = match op {
                    AssignOp::Add => BinOp::Add,
                    AssignOp::Sub => BinOp::Sub,
                    AssignOp::Mul => BinOp::Mul,
                    AssignOp::Div => BinOp::Div,
                    _ => BinOp::Rem,
                };
                let cur = Val {
                    reg: var.slot,
                    ty: var.ty,
                    konst: None,
                };
                self.binary(bop, cur, v, target.span.to(value.span))?
            }
        };
        if !result.ty.ty.fits(var.ty.ty) {
            return self.err(
                value.span,
                format!(
                    "cannot assign a {} value to '{}', which is {}",
                    result.ty.ty, target.name, var.ty.ty
                ),
            );
        }
        self.mov(var.slot, result.reg);
        self.upgrade_var(&target.name);
        Ok(())
    }

    /// A reassigned variable can change from bar to bar: it is a series from now on.
    fn upgrade_var(&mut self, name: &str) {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(v) = scope.vars.get_mut(name) {
                v.ty.q = Qual::Series;
                return;
            }
        }
    }

    fn is_global_from_function(&self, name: &str) -> bool {
        for scope in self.scopes.iter().rev() {
            if scope.vars.contains_key(name) {
                return false;
            }
            if scope.barrier {
                return true;
            }
        }
        false
    }

    // ----- expressions ----------------------------------------------------------------

    fn expr(&mut self, e: &'a Expr) -> Result<Val> {
        match self.expr_opt(e, true)? {
            Some(v) => Ok(v),
            None => self.err(e.span, "this expression has no value"),
        }
    }

    fn expr_opt(&mut self, e: &'a Expr, want: bool) -> Result<Option<Val>> {
        Ok(Some(match &e.kind {
            ExprKind::Int(i) => self.konst(*i as f64, Ty::Int),
            ExprKind::Float(f) => self.konst(*f, Ty::Float),
            ExprKind::Bool(b) => self.konst(if *b { 1.0 } else { 0.0 }, Ty::Bool),
            ExprKind::Str(s) => self.str_const(s),
            ExprKind::Color(c) => self.konst(*c as f64, Ty::Color),
            ExprKind::Na => self.konst(f64::NAN, Ty::Na),
            ExprKind::Name(n) => self.name(n, e.span)?,
            ExprKind::Call { callee, args } => return self.call(callee, args, e.span, want),
            ExprKind::Index { base, offset } => self.history(base, offset, e.span)?,
            ExprKind::Unary { op, expr } => self.unary(*op, expr, e.span)?,
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.expr(lhs)?;
                let b = self.expr(rhs)?;
                let v = self.binary(*op, a, b, e.span)?;
                if matches!(rhs.kind, ExprKind::Binary { op: BinOp::Mul, .. }) {
                    self.fuse_mul_add(*op, v);
                }
                v
            }
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => self.ternary(cond, then, otherwise)?,
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => return self.if_expr(cond, then, otherwise.as_ref(), want),
            ExprKind::Switch { scrutinee, arms } => {
                return self.switch(scrutinee.as_deref(), arms, want, e.span)
            }
            ExprKind::For {
                var,
                from,
                to,
                by,
                body,
            } => return self.for_loop(var, from, to, by.as_deref(), body, want),
            ExprKind::While { cond, body } => return self.while_loop(cond, body, want),
            ExprKind::Tuple(items) => self.tuple(items, e.span)?,
        }))
    }

    fn name(&mut self, n: &str, span: Span) -> Result<Val> {
        if let Some(v) = self.lookup(n) {
            return Ok(Val {
                reg: v.slot,
                ty: v.ty,
                konst: None,
            });
        }
        if let Some((b, ty)) = builtins::variable(n) {
            if n.starts_with("strategy.") && !self.settings.is_strategy {
                return self.err(span, format!("'{n}' is only available in a strategy"));
            }
            return Ok(Val {
                reg: Reg(b as u32),
                ty,
                konst: None,
            });
        }
        match n {
            "ta.tr" => return self.ta_call(TaKind::Tr, &[], &[], span, Ty::Float),
            "ta.vwap" => {
                let src = Reg(Builtin::Hlc3 as u32);
                return self.ta_call(TaKind::Vwap, &[src], &[], span, Ty::Float);
            }
            _ => {}
        }
        match builtins::constant(n) {
            Some(ConstVal::Num(v, ty)) => return Ok(self.konst(v, ty)),
            Some(ConstVal::Str(s)) => return Ok(self.str_const(s)),
            None => {}
        }
        if let Some(why) = builtins::unsupported(n) {
            return self.err(span, format!("'{n}': {why}"));
        }
        if builtins::function(n).is_some() || self.funcs.contains_key(n) {
            return self.err(span, format!("'{n}' is a function: call it with ( )"));
        }
        self.err(span, format!("undeclared identifier '{n}'"))
    }

    fn history(&mut self, base: &'a Expr, offset: &'a Expr, span: Span) -> Result<Val> {
        let b = self.expr(base)?;
        if matches!(b.ty.ty, Ty::Tuple(_) | Ty::Void) {
            return self.err(base.span, "the history operator [] needs a single value");
        }
        let off = self.expr(offset)?;
        if off.ty.ty != Ty::Int && off.ty.ty != Ty::Na {
            return self.err(
                offset.span,
                format!("the history offset must be an int, got {}", off.ty.ty),
            );
        }
        let ty = Type::series(b.ty.ty);
        if let Some(k) = b.konst {
            // The history of a constant is the constant.
            return Ok(self.konst(k, b.ty.ty));
        }
        let dst = self.slot();
        match off.konst {
            Some(n) if n < 0.0 || n.is_nan() => {
                self.err(offset.span, "the history offset cannot be negative or na")
            }
            Some(0.0) => Ok(Val {
                reg: b.reg,
                ty,
                konst: None,
            }),
            Some(n) => {
                if n > self.settings.max_bars_back as f64 {
                    return self.err(
                        offset.span,
                        format!(
                            "history offset {n} is beyond max_bars_back ({}); raise max_bars_back in the declaration",
                            self.settings.max_bars_back
                        ),
                    );
                }
                let ring = self.ring_for(b.reg, n as u32);
                self.emit(Op::Hist {
                    dst,
                    ring,
                    back: n as u32,
                });
                let _ = span;
                Ok(Val {
                    reg: dst,
                    ty,
                    konst: None,
                })
            }
            None => {
                let ring = self.ring_for(b.reg, u32::MAX);
                self.emit(Op::HistDyn {
                    dst,
                    ring,
                    offset: off.reg,
                });
                Ok(Val {
                    reg: dst,
                    ty,
                    konst: None,
                })
            }
        }
    }

    /// The ring recording `src`, grown to keep at least `back` bars (`u32::MAX`: up to
    /// `max_bars_back`, for dynamic offsets).
    fn ring_for(&mut self, src: Reg, back: u32) -> u32 {
        if let Some(&i) = self.ring_of.get(&src.0) {
            let r = &mut self.rings[i];
            r.capacity = r.capacity.max(back);
            return i as u32;
        }
        self.rings.push(RingSpec {
            src,
            capacity: back,
        });
        self.ring_of.insert(src.0, self.rings.len() - 1);
        self.rings.len() as u32 - 1
    }

    fn unary(&mut self, op: UnOp, e: &'a Expr, span: Span) -> Result<Val> {
        let v = self.expr(e)?;
        match op {
            UnOp::Plus | UnOp::Neg => {
                if !v.ty.ty.is_numeric() {
                    return self.err(span, format!("unary '-' needs a number, got {}", v.ty.ty));
                }
                if op == UnOp::Plus {
                    return Ok(v);
                }
                if let Some(k) = v.konst {
                    return Ok(self.konst(-k, v.ty.ty));
                }
                let dst = self.slot();
                self.emit(Op::Neg { dst, a: v.reg });
                Ok(Val {
                    reg: dst,
                    ty: v.ty,
                    konst: None,
                })
            }
            UnOp::Not => {
                if !matches!(v.ty.ty, Ty::Bool | Ty::Na) {
                    return self.err(span, format!("'not' needs a bool, got {}", v.ty.ty));
                }
                if let Some(k) = v.konst {
                    let r = if k.is_nan() {
                        f64::NAN
                    } else if k != 0.0 {
                        0.0
                    } else {
                        1.0
                    };
                    return Ok(self.konst(r, Ty::Bool));
                }
                let dst = self.slot();
                self.emit(Op::Not { dst, a: v.reg });
                Ok(Val {
                    reg: dst,
                    ty: Type::new(v.ty.q, Ty::Bool),
                    konst: None,
                })
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: Val, b: Val, span: Span) -> Result<Val> {
        let q = a.ty.q.max(b.ty.q);
        let (ta, tb) = (a.ty.ty, b.ty.ty);
        let result_ty = match op {
            BinOp::And | BinOp::Or => {
                if !matches!(ta, Ty::Bool | Ty::Na) || !matches!(tb, Ty::Bool | Ty::Na) {
                    return self.err(
                        span,
                        format!("'{}' needs bool operands, got {ta} and {tb}", op.symbol()),
                    );
                }
                Ty::Bool
            }
            BinOp::Eq | BinOp::Ne => {
                if ta.unify(tb).is_none() || matches!(ta, Ty::Tuple(_) | Ty::Void) {
                    return self.err(
                        span,
                        format!("cannot compare {ta} with {tb} using '{}'", op.symbol()),
                    );
                }
                Ty::Bool
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                if !ta.is_numeric() || !tb.is_numeric() {
                    return self.err(
                        span,
                        format!("'{}' needs numbers, got {ta} and {tb}", op.symbol()),
                    );
                }
                Ty::Bool
            }
            BinOp::Add if ta == Ty::Str || tb == Ty::Str => {
                if !matches!(ta, Ty::Str | Ty::Na) || !matches!(tb, Ty::Str | Ty::Na) {
                    return self.err(
                        span,
                        format!("cannot add {ta} and {tb}: convert numbers with str.tostring()"),
                    );
                }
                if let (Some(x), Some(y)) = (a.konst, b.konst) {
                    let s = format!(
                        "{}{}",
                        self.strings.get(super::StrId(x as u32)),
                        self.strings.get(super::StrId(y as u32))
                    );
                    return Ok(self.str_const(&s));
                }
                let dst = self.slot();
                self.emit(Op::Concat {
                    dst,
                    a: a.reg,
                    b: b.reg,
                });
                return Ok(Val {
                    reg: dst,
                    ty: Type::new(q, Ty::Str),
                    konst: None,
                });
            }
            _ => {
                if !ta.is_numeric() || !tb.is_numeric() {
                    return self.err(
                        span,
                        format!("'{}' needs numbers, got {ta} and {tb}", op.symbol()),
                    );
                }
                match (ta, tb, op) {
                    // int / int is fractional except for two constants (Pine v5 rule).
                    (Ty::Int, Ty::Int, BinOp::Div) if q != Qual::Const => Ty::Float,
                    (Ty::Int, Ty::Int, _) => Ty::Int,
                    _ => Ty::Float,
                }
            }
        };
        if let (Some(x), Some(y)) = (a.konst, b.konst) {
            let v = fold(op, x, y, result_ty == Ty::Int);
            return Ok(self.konst(v, result_ty));
        }
        let dst = self.slot();
        let (ar, br) = (a.reg, b.reg);
        self.emit(match op {
            BinOp::Or => Op::Or { dst, a: ar, b: br },
            BinOp::And => Op::And { dst, a: ar, b: br },
            BinOp::Eq => Op::Eq { dst, a: ar, b: br },
            BinOp::Ne => Op::Ne { dst, a: ar, b: br },
            BinOp::Lt => Op::Lt { dst, a: ar, b: br },
            BinOp::Le => Op::Le { dst, a: ar, b: br },
            BinOp::Gt => Op::Gt { dst, a: ar, b: br },
            BinOp::Ge => Op::Ge { dst, a: ar, b: br },
            BinOp::Add => Op::Add { dst, a: ar, b: br },
            BinOp::Sub => Op::Sub { dst, a: ar, b: br },
            BinOp::Mul => Op::Mul { dst, a: ar, b: br },
            BinOp::Div => Op::Div { dst, a: ar, b: br },
            BinOp::Rem => Op::Rem { dst, a: ar, b: br },
        });
        Ok(Val {
            reg: dst,
            ty: Type::new(q, result_ty),
            konst: None,
        })
    }

    /// `a + b * c` / `a - b * c`: when the product was computed just before for this sum
    /// alone, the pair becomes one instruction (same arithmetic, one dispatch less).
    fn fuse_mul_add(&mut self, op: BinOp, v: Val) {
        let n = self.code.len();
        if v.konst.is_some() || n < 2 {
            return;
        }
        let (Op::Mul { dst: m, a: b, b: c }, sum) = (self.code[n - 2], self.code[n - 1]) else {
            return;
        };
        if self.owned.contains(&m.0) {
            return;
        }
        let fused = match (op, sum) {
            (BinOp::Add, Op::Add { dst, a, b: t }) if t == m && dst == v.reg => {
                Op::MulAdd { dst, a, b, c }
            }
            (BinOp::Sub, Op::Sub { dst, a, b: t }) if t == m && dst == v.reg => {
                Op::MulSub { dst, a, b, c }
            }
            _ => return,
        };
        self.code.truncate(n - 2);
        self.lines.truncate(n - 2);
        self.emit(fused);
    }

    fn ternary(&mut self, cond: &'a Expr, then: &'a Expr, otherwise: &'a Expr) -> Result<Val> {
        let dst = self.slot();
        let jf = self.cond_jump(cond)?;
        self.cond_depth += 1;
        let r = self.ternary_branches(dst, jf, then, otherwise);
        self.cond_depth -= 1;
        r
    }

    fn ternary_branches(
        &mut self,
        dst: Reg,
        jf: usize,
        then: &'a Expr,
        otherwise: &'a Expr,
    ) -> Result<Val> {
        let a = self.expr(then)?;
        self.mov(dst, a.reg);
        let jend = self.emit(Op::Jump { to: Label(0) });
        let l_else = self.here();
        self.patch(jf, l_else);
        let b = self.expr(otherwise)?;
        self.mov(dst, b.reg);
        let l_end = self.here();
        self.patch(jend, l_end);
        let Some(ty) = a.ty.ty.unify(b.ty.ty) else {
            return self.err(
                otherwise.span,
                format!(
                    "both branches of '?:' must have the same type, got {} and {}",
                    a.ty.ty, b.ty.ty
                ),
            );
        };
        if matches!(ty, Ty::Tuple(_) | Ty::Void) {
            return self.err(then.span, "'?:' branches must be single values");
        }
        Ok(Val {
            reg: dst,
            ty: Type::series(ty),
            konst: None,
        })
    }

    /// Compiles a condition and the jump taken when it is false. A comparison written as
    /// the condition itself is fused with the jump: its result slot is used by nothing
    /// else, and it is the last instruction the condition emitted.
    fn cond_jump(&mut self, cond: &'a Expr) -> Result<usize> {
        let c = self.condition(cond)?;
        let is_cmp = matches!(
            cond.kind,
            ExprKind::Binary {
                op: BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne,
                ..
            }
        );
        let fused = match self.code.last() {
            Some(&op) if is_cmp => match op {
                Op::Lt { dst, a, b } if dst == c => Some((Cmp::Lt, a, b)),
                Op::Le { dst, a, b } if dst == c => Some((Cmp::Le, a, b)),
                Op::Gt { dst, a, b } if dst == c => Some((Cmp::Gt, a, b)),
                Op::Ge { dst, a, b } if dst == c => Some((Cmp::Ge, a, b)),
                Op::Eq { dst, a, b } if dst == c => Some((Cmp::Eq, a, b)),
                Op::Ne { dst, a, b } if dst == c => Some((Cmp::Ne, a, b)),
                _ => None,
            },
            _ => None,
        };
        match fused {
            Some((cmp, a, b)) => {
                let at = self.code.len() - 1;
                self.code[at] = Op::JumpIfNotCmp {
                    cmp,
                    a,
                    b,
                    to: Label(0),
                };
                Ok(at)
            }
            None => Ok(self.emit(Op::JumpIfNot {
                cond: c,
                to: Label(0),
            })),
        }
    }

    fn condition(&mut self, cond: &'a Expr) -> Result<Reg> {
        let c = self.expr(cond)?;
        if !matches!(c.ty.ty, Ty::Bool | Ty::Na) {
            return self.err(
                cond.span,
                format!("the condition must be a bool, got {}", c.ty.ty),
            );
        }
        Ok(c.reg)
    }

    fn if_expr(
        &mut self,
        cond: &'a Expr,
        then: &'a Block,
        otherwise: Option<&'a Block>,
        want: bool,
    ) -> Result<Option<Val>> {
        let dst = if want { Some(self.slot()) } else { None };
        let jf = self.cond_jump(cond)?;
        let mut ty = Ty::Na;
        let a = self.block(then, want)?;
        if let (Some(d), Some(v)) = (dst, a) {
            ty = self.branch_type(ty, v.ty.ty, then.span)?;
            self.mov(d, v.reg);
        }
        match otherwise {
            Some(els) => {
                let jend = self.emit(Op::Jump { to: Label(0) });
                let l_else = self.here();
                self.patch(jf, l_else);
                let b = self.block(els, want)?;
                if let (Some(d), Some(v)) = (dst, b) {
                    ty = self.branch_type(ty, v.ty.ty, els.span)?;
                    self.mov(d, v.reg);
                }
                let l_end = self.here();
                self.patch(jend, l_end);
            }
            None => {
                if let Some(d) = dst {
                    // Without an else, the value is na when the condition is false.
                    let jend = self.emit(Op::Jump { to: Label(0) });
                    let l_else = self.here();
                    self.patch(jf, l_else);
                    let na = self.const_slot(f64::NAN);
                    self.mov(d, na);
                    let l_end = self.here();
                    self.patch(jend, l_end);
                } else {
                    let l_end = self.here();
                    self.patch(jf, l_end);
                }
            }
        }
        Ok(dst.map(|reg| Val {
            reg,
            ty: Type::series(ty),
            konst: None,
        }))
    }

    fn branch_type(&self, acc: Ty, next: Ty, span: Span) -> Result<Ty> {
        if matches!(next, Ty::Tuple(_)) {
            return self.err(span, "a branch returning a tuple is not supported");
        }
        if next == Ty::Void {
            return Ok(acc);
        }
        match acc.unify(next) {
            Some(t) => Ok(t),
            None => self.err(
                span,
                format!("all branches must return the same type: got {acc} and {next}"),
            ),
        }
    }

    fn switch(
        &mut self,
        scrutinee: Option<&'a Expr>,
        arms: &'a [SwitchArm],
        want: bool,
        span: Span,
    ) -> Result<Option<Val>> {
        let key = match scrutinee {
            Some(s) => Some(self.expr(s)?),
            None => None,
        };
        let dst = if want { Some(self.slot()) } else { None };
        if let Some(d) = dst {
            let na = self.const_slot(f64::NAN);
            self.mov(d, na);
        }
        let mut ends = Vec::new();
        let mut ty = Ty::Na;
        for (i, arm) in arms.iter().enumerate() {
            let mut jnext = None;
            if let Some(p) = &arm.pattern {
                let c = match key {
                    Some(k) => {
                        let pv = self.expr(p)?;
                        self.binary(BinOp::Eq, k, pv, p.span)?.reg
                    }
                    None => self.condition(p)?,
                };
                jnext = Some(self.emit(Op::JumpIfNot {
                    cond: c,
                    to: Label(0),
                }));
            } else if i + 1 != arms.len() {
                return self.err(span, "the default arm '=>' of a switch must be the last");
            }
            let v = self.block(&arm.body, want)?;
            if let (Some(d), Some(v)) = (dst, v) {
                ty = self.branch_type(ty, v.ty.ty, arm.body.span)?;
                self.mov(d, v.reg);
            }
            ends.push(self.emit(Op::Jump { to: Label(0) }));
            if let Some(j) = jnext {
                let l = self.here();
                self.patch(j, l);
            }
        }
        let l_end = self.here();
        for j in ends {
            self.patch(j, l_end);
        }
        Ok(dst.map(|reg| Val {
            reg,
            ty: Type::series(ty),
            konst: None,
        }))
    }

    fn for_loop(
        &mut self,
        var: &Ident,
        from: &'a Expr,
        to: &'a Expr,
        by: Option<&'a Expr>,
        body: &'a Block,
        want: bool,
    ) -> Result<Option<Val>> {
        let f = self.expr(from)?;
        let t = self.expr(to)?;
        for (v, e) in [(f, from), (t, to)] {
            if !v.ty.ty.is_numeric() {
                return self.err(
                    e.span,
                    format!("loop bounds must be numbers, got {}", v.ty.ty),
                );
            }
        }
        let i = self.slot();
        let end = self.slot();
        let step = self.slot();
        self.mov(i, f.reg);
        self.mov(end, t.reg);
        match by {
            Some(b) => {
                let s = self.expr(b)?;
                if !s.ty.ty.is_numeric() {
                    return self.err(
                        b.span,
                        format!("the loop step must be a number, got {}", s.ty.ty),
                    );
                }
                if s.konst == Some(0.0) {
                    return self.err(b.span, "the loop step cannot be 0");
                }
                self.mov(step, s.reg);
            }
            None => {
                // +1 counting up, -1 counting down (decided at run time: bounds may be series).
                let one = self.const_slot(1.0);
                let minus = self.const_slot(-1.0);
                let up = self.slot();
                self.emit(Op::Le {
                    dst: up,
                    a: f.reg,
                    b: t.reg,
                });
                self.emit(Op::Mov {
                    dst: step,
                    src: minus,
                });
                let j = self.emit(Op::JumpIfNot {
                    cond: up,
                    to: Label(0),
                });
                self.emit(Op::Mov {
                    dst: step,
                    src: one,
                });
                let l = self.here();
                self.patch(j, l);
            }
        }
        let counter = self.slot();
        let zero = self.const_slot(0.0);
        self.emit(Op::Mov {
            dst: counter,
            src: zero,
        });
        let dst = if want { Some(self.slot()) } else { None };
        if let Some(d) = dst {
            let na = self.const_slot(f64::NAN);
            self.mov(d, na);
        }
        let top = self.here();
        let check = self.emit(Op::ForCheck {
            i,
            end,
            step,
            to: Label(0),
        });
        self.emit(Op::LoopGuard { counter });
        self.loops.push(LoopCtx::default());
        self.scopes.push(Scope::default());
        let int_ty = if f.ty.ty == Ty::Int && t.ty.ty == Ty::Int {
            Ty::Int
        } else {
            Ty::Float
        };
        let declared = self.declare(
            var,
            Var {
                slot: i,
                ty: Type::series(int_ty),
            },
        );
        let v = declared.and_then(|_| self.block(body, want));
        self.scopes.pop();
        let ctx = self.loops.pop().expect("pushed above");
        let v = v?;
        if let (Some(d), Some(v)) = (dst, v) {
            self.mov(d, v.reg);
        }
        let l_continue = self.here();
        for j in ctx.continues {
            self.patch(j, l_continue);
        }
        self.emit(Op::Add {
            dst: i,
            a: i,
            b: step,
        });
        self.emit(Op::Jump { to: top });
        let l_end = self.here();
        self.patch(check, l_end);
        for j in ctx.breaks {
            self.patch(j, l_end);
        }
        Ok(dst.map(|reg| Val {
            reg,
            ty: Type::series(v.map_or(Ty::Float, |v| v.ty.ty)),
            konst: None,
        }))
    }

    fn while_loop(&mut self, cond: &'a Expr, body: &'a Block, want: bool) -> Result<Option<Val>> {
        let counter = self.slot();
        let zero = self.const_slot(0.0);
        self.emit(Op::Mov {
            dst: counter,
            src: zero,
        });
        let dst = if want { Some(self.slot()) } else { None };
        if let Some(d) = dst {
            let na = self.const_slot(f64::NAN);
            self.mov(d, na);
        }
        let top = self.here();
        let jf = self.cond_jump(cond)?;
        self.emit(Op::LoopGuard { counter });
        self.loops.push(LoopCtx::default());
        let v = self.block(body, want);
        let ctx = self.loops.pop().expect("pushed above");
        let v = v?;
        if let (Some(d), Some(v)) = (dst, v) {
            self.mov(d, v.reg);
        }
        for j in ctx.continues {
            self.patch(j, top);
        }
        self.emit(Op::Jump { to: top });
        let l_end = self.here();
        self.patch(jf, l_end);
        for j in ctx.breaks {
            self.patch(j, l_end);
        }
        Ok(dst.map(|reg| Val {
            reg,
            ty: Type::series(v.map_or(Ty::Float, |v| v.ty.ty)),
            konst: None,
        }))
    }

    fn tuple(&mut self, items: &'a [Expr], span: Span) -> Result<Val> {
        if items.is_empty() || items.len() > 16 {
            return self.err(span, "a tuple has between 1 and 16 values");
        }
        let vals = items
            .iter()
            .map(|e| self.expr(e))
            .collect::<Result<Vec<_>>>()?;
        for (v, e) in vals.iter().zip(items) {
            if !v.ty.ty.is_numeric() && v.ty.ty != Ty::Bool {
                return self.err(
                    e.span,
                    format!("tuple values must be numbers or bools, got {}", v.ty.ty),
                );
            }
        }
        let first = self.slots(vals.len());
        for (i, v) in vals.iter().enumerate() {
            self.mov(Reg(first.0 + i as u32), v.reg);
        }
        Ok(Val {
            reg: first,
            ty: Type::series(Ty::Tuple(vals.len() as u8)),
            konst: None,
        })
    }

    // ----- calls ----------------------------------------------------------------------

    fn call(
        &mut self,
        callee: &'a Ident,
        args: &'a [Arg],
        span: Span,
        want: bool,
    ) -> Result<Option<Val>> {
        let name = callee.name.as_str();
        if let Some(&def) = self.funcs.get(name) {
            return self.user_call(def, callee, args, span, want);
        }
        let sig = builtins::function(name).or_else(|| {
            // Pine v4 wrote the ta and math functions without their namespace.
            (self.version <= 4 && !name.contains('.')).then(|| {
                builtins::function(&format!("ta.{name}"))
                    .or_else(|| builtins::function(&format!("math.{name}")))
            })?
        });
        let Some(sig) = sig else {
            if let Some(why) = builtins::unsupported(name) {
                return self.err(callee.span, format!("'{name}': {why}"));
            }
            if self.lookup(name).is_some() {
                return self.err(
                    callee.span,
                    format!("'{name}' is a variable, not a function"),
                );
            }
            return self.err(callee.span, format!("could not find function '{name}'"));
        };
        self.builtin_call(sig, callee, args, span).map(Some)
    }

    /// Matches positional and named arguments to the signature's parameters.
    fn bind_args(
        &self,
        sig: &FnSig,
        callee: &Ident,
        args: &'a [Arg],
    ) -> Result<Vec<Option<&'a Expr>>> {
        let mut bound: Vec<Option<&Expr>> = vec![None; sig.params.len()];
        let mut pos = 0;
        let mut seen_named = false;
        for arg in args {
            match &arg.name {
                None => {
                    if seen_named {
                        return self.err(
                            arg.value.span,
                            "positional arguments must come before named ones",
                        );
                    }
                    if pos >= sig.params.len() {
                        return self.err(
                            arg.value.span,
                            format!(
                                "too many arguments for {}: it takes at most {}",
                                sig.name,
                                sig.params.len()
                            ),
                        );
                    }
                    bound[pos] = Some(&arg.value);
                    pos += 1;
                }
                Some(n) => {
                    seen_named = true;
                    let Some(i) = sig.params.iter().position(|p| p.name == n.name) else {
                        return self.err(
                            n.span,
                            format!("{} has no parameter '{}'", sig.name, n.name),
                        );
                    };
                    if bound[i].is_some() {
                        return self.err(
                            n.span,
                            format!("argument '{}' of {} is given twice", n.name, sig.name),
                        );
                    }
                    bound[i] = Some(&arg.value);
                }
            }
        }
        for (p, b) in sig.params.iter().zip(&bound) {
            if b.is_none() && p.d == Dflt::Req {
                return self.err(
                    callee.span,
                    format!("{} needs the argument '{}'", sig.name, p.name),
                );
            }
        }
        Ok(bound)
    }

    /// Compiles and checks one argument against its parameter type (or its default).
    fn arg(&mut self, sig: &FnSig, idx: usize, bound: Option<&'a Expr>) -> Result<Val> {
        let p = &sig.params[idx];
        let Some(e) = bound else {
            return Ok(match p.d {
                Dflt::Req | Dflt::Na => self.konst(f64::NAN, Ty::Na),
                Dflt::Num(v) => self.konst(v, Ty::Float),
                Dflt::Bool(b) => self.konst(if b { 1.0 } else { 0.0 }, Ty::Bool),
                Dflt::Str(s) => self.str_const(s),
                Dflt::Series(b) => Val {
                    reg: Reg(b as u32),
                    ty: Type::series(Ty::Float),
                    konst: None,
                },
            });
        };
        let v = self.expr(e)?;
        let t = v.ty.ty;
        let bad = |what: &str| {
            Err(CompileError::new(
                e.span,
                format!(
                    "argument '{}' of {} expects {what}, got {}",
                    p.name, sig.name, v.ty
                ),
            ))
        };
        match p.ty {
            PTy::Float if !t.fits(Ty::Float) => return bad("a number"),
            PTy::Int if !t.fits(Ty::Int) => return bad("an int"),
            PTy::SimpleInt if !t.fits(Ty::Int) || v.ty.q == Qual::Series => {
                return bad("a simple int (a literal, an input or an expression of them)")
            }
            PTy::SimpleFloat if !t.fits(Ty::Float) || v.ty.q == Qual::Series => {
                return bad("a simple number (a literal, an input or an expression of them)")
            }
            PTy::Bool if !t.fits(Ty::Bool) => return bad("a bool"),
            PTy::ConstBool if !t.fits(Ty::Bool) || v.ty.q > Qual::Input => {
                return bad("a constant bool")
            }
            PTy::Str if !t.fits(Ty::Str) => return bad("a string"),
            PTy::Color if !t.fits(Ty::Color) => return bad("a color"),
            PTy::Any if matches!(t, Ty::Void | Ty::Tuple(_)) => return bad("a value"),
            _ => {}
        }
        Ok(v)
    }

    fn builtin_call(
        &mut self,
        sig: &'static FnSig,
        callee: &'a Ident,
        args: &'a [Arg],
        span: Span,
    ) -> Result<Val> {
        // Overloads with an implicit source: ta.highest(length) reads high, and so on.
        let implicit = match (sig.imp, args.len(), args.iter().all(|a| a.name.is_none())) {
            (Impl::Ta(TaKind::Highest), 1, true) => Some(Builtin::High),
            (Impl::Ta(TaKind::Lowest), 1, true) => Some(Builtin::Low),
            (Impl::Ta(TaKind::Pivothigh), 2, true) => Some(Builtin::High),
            (Impl::Ta(TaKind::Pivotlow), 2, true) => Some(Builtin::Low),
            _ => None,
        };
        let variadic = matches!(sig.imp, Impl::Variadic(_) | Impl::Avg);
        if variadic {
            return self.variadic(sig, callee, args);
        }
        let mut bound = if implicit.is_some() {
            let mut shifted: Vec<Option<&Expr>> = vec![None];
            shifted.extend(args.iter().map(|a| Some(&a.value)));
            shifted.resize(sig.params.len(), None);
            shifted
        } else {
            self.bind_args(sig, callee, args)?
        };
        if let Some(b) = implicit {
            bound[0] = None;
            let mut vals = vec![Val {
                reg: Reg(b as u32),
                ty: Type::series(Ty::Float),
                konst: None,
            }];
            for (i, b) in bound.iter().enumerate().skip(1) {
                vals.push(self.arg(sig, i, *b)?);
            }
            return self.ta_dispatch(sig, &vals, span);
        }
        match sig.imp {
            Impl::Strategy(f) => return self.strategy_call(sig, f, callee, &bound, span),
            Impl::Input(ty) => return self.input_call(sig, ty, &bound, span),
            Impl::Plot => return self.plot_call(sig, &bound, span),
            Impl::Declaration => {
                return self.err(
                    callee.span,
                    format!(
                        "{}(...) must be a statement of its own at the top level",
                        sig.name
                    ),
                )
            }
            _ => {}
        }
        let mut vals = Vec::with_capacity(sig.params.len());
        for (i, b) in bound.iter().enumerate() {
            vals.push(self.arg(sig, i, *b)?);
        }
        let q = vals.iter().map(|v| v.ty.q).max().unwrap_or(Qual::Const);
        let ret_ty = match sig.ret {
            Ret::Of(t) => t,
            Ret::Args(n) => {
                let mut t = Ty::Na;
                for (v, e) in vals.iter().zip(&bound).take(n as usize) {
                    t = match t.unify(v.ty.ty) {
                        Some(t) => t,
                        None => {
                            return self.err(
                                e.map_or(span, |e| e.span),
                                format!("arguments of {} must have the same type", sig.name),
                            )
                        }
                    };
                }
                t
            }
            Ret::Void => Ty::Void,
        };
        let dst = self.slot();
        let out = |reg, ty| Val {
            reg,
            ty: Type::new(q, ty),
            konst: None,
        };
        match sig.imp {
            Impl::Ta(_) => self.ta_dispatch(sig, &vals, span),
            Impl::Math1(f) => {
                if let Some(k) = vals[0].konst {
                    let v = eval_math1(f, k);
                    return Ok(self.konst(v, ret_ty));
                }
                self.emit(Op::Math1 {
                    f,
                    dst,
                    a: vals[0].reg,
                });
                Ok(out(dst, ret_ty))
            }
            Impl::Math2(f) => {
                let ret_ty = if f == Math2::Round && bound[1].is_none() {
                    Ty::Int
                } else {
                    ret_ty
                };
                if let (Some(a), Some(b)) = (vals[0].konst, vals[1].konst) {
                    return Ok(self.konst(eval_math2(f, a, b), ret_ty));
                }
                self.emit(Op::Math2 {
                    f,
                    dst,
                    a: vals[0].reg,
                    b: vals[1].reg,
                });
                Ok(out(dst, ret_ty))
            }
            Impl::IsNa => {
                if let Some(k) = vals[0].konst {
                    return Ok(self.konst(if k.is_nan() { 1.0 } else { 0.0 }, Ty::Bool));
                }
                self.emit(Op::IsNa {
                    dst,
                    a: vals[0].reg,
                });
                Ok(out(dst, Ty::Bool))
            }
            Impl::Nz => {
                let repl = if bound[1].is_none() {
                    // nz(x) replaces na with 0 (false for bools, black for colors).
                    self.const_slot(0.0)
                } else {
                    if vals[0].ty.ty.unify(vals[1].ty.ty).is_none() {
                        return self.err(
                            span,
                            "nz(): the replacement must have the type of the source",
                        );
                    }
                    vals[1].reg
                };
                self.emit(Op::Nz {
                    dst,
                    a: vals[0].reg,
                    b: repl,
                });
                Ok(out(dst, ret_ty))
            }
            Impl::Fixnan => {
                let last = self.slot();
                self.emit(Op::Fixnan {
                    dst,
                    a: vals[0].reg,
                    last,
                });
                Ok(Val {
                    reg: dst,
                    ty: Type::series(ret_ty),
                    konst: None,
                })
            }
            Impl::ToString => {
                let ty = match vals[0].ty.ty {
                    Ty::Bool => 1,
                    Ty::Str => 2,
                    _ => 0,
                };
                self.emit(Op::ToStr {
                    dst,
                    a: vals[0].reg,
                    ty,
                });
                Ok(out(dst, Ty::Str))
            }
            Impl::ColorNew => {
                self.emit(Op::ColorNew {
                    dst,
                    color: vals[0].reg,
                    transp: vals[1].reg,
                });
                Ok(out(dst, Ty::Color))
            }
            Impl::ColorRgb => {
                let first = self.slots(4);
                for (i, v) in vals.iter().enumerate() {
                    self.mov(Reg(first.0 + i as u32), v.reg);
                }
                self.emit(Op::ColorRgb { dst, args: first });
                Ok(out(dst, Ty::Color))
            }
            Impl::Cast(to) => {
                let from = vals[0].ty.ty;
                match to {
                    Ty::Int => {
                        if let Some(k) = vals[0].konst {
                            return Ok(self.konst(k.trunc(), Ty::Int));
                        }
                        self.emit(Op::Math1 {
                            f: Math1::ToInt,
                            dst,
                            a: vals[0].reg,
                        });
                        Ok(out(dst, Ty::Int))
                    }
                    Ty::Bool if from != Ty::Bool => {
                        let zero = self.const_slot(0.0);
                        self.emit(Op::Ne {
                            dst,
                            a: vals[0].reg,
                            b: zero,
                        });
                        Ok(out(dst, Ty::Bool))
                    }
                    _ => Ok(Val {
                        ty: Type::new(vals[0].ty.q, to),
                        ..vals[0]
                    }),
                }
            }
            Impl::Alert => {
                self.emit(Op::Alert { msg: vals[0].reg });
                Ok(out(dst, Ty::Void))
            }
            Impl::AlertCondition => {
                let msg = if bound[2].is_some() {
                    vals[2].reg
                } else {
                    vals[1].reg
                };
                self.emit(Op::AlertIf {
                    cond: vals[0].reg,
                    msg,
                });
                Ok(out(dst, Ty::Void))
            }
            Impl::Ignore => Ok(out(dst, Ty::Void)),
            Impl::Strategy(_)
            | Impl::Input(_)
            | Impl::Plot
            | Impl::Declaration
            | Impl::Variadic(_)
            | Impl::Avg => unreachable!("handled above"),
        }
    }

    fn variadic(&mut self, sig: &FnSig, callee: &Ident, args: &'a [Arg]) -> Result<Val> {
        if args.len() < 2 {
            return self.err(
                callee.span,
                format!("{} needs at least two arguments", sig.name),
            );
        }
        let mut vals = Vec::new();
        for a in args {
            if let Some(n) = &a.name {
                return self.err(
                    n.span,
                    format!("{} takes positional arguments only", sig.name),
                );
            }
            let v = self.expr(&a.value)?;
            if !v.ty.ty.is_numeric() {
                return self.err(
                    a.value.span,
                    format!("{} needs numbers, got {}", sig.name, v.ty.ty),
                );
            }
            vals.push(v);
        }
        let mut acc = vals[0];
        match sig.imp {
            Impl::Variadic(f) => {
                for v in &vals[1..] {
                    let ty = acc.ty.ty.unify(v.ty.ty).unwrap_or(Ty::Float);
                    let q = acc.ty.q.max(v.ty.q);
                    if let (Some(a), Some(b)) = (acc.konst, v.konst) {
                        acc = self.konst(eval_math2(f, a, b), ty);
                        continue;
                    }
                    let dst = self.slot();
                    self.emit(Op::Math2 {
                        f,
                        dst,
                        a: acc.reg,
                        b: v.reg,
                    });
                    acc = Val {
                        reg: dst,
                        ty: Type::new(q, ty),
                        konst: None,
                    };
                }
                Ok(acc)
            }
            _ => {
                for v in &vals[1..] {
                    acc = self.binary(BinOp::Add, acc, *v, callee.span)?;
                }
                let n = self.konst(vals.len() as f64, Ty::Float);
                self.binary(BinOp::Div, acc, n, callee.span)
            }
        }
    }

    fn ta_dispatch(&mut self, sig: &FnSig, vals: &[Val], span: Span) -> Result<Val> {
        let Impl::Ta(kind) = sig.imp else {
            unreachable!("only ta signatures come here")
        };
        let mut series = Vec::new();
        let mut simple = Vec::new();
        for (p, v) in sig.params.iter().zip(vals) {
            match p.ty {
                PTy::SimpleInt | PTy::SimpleFloat | PTy::ConstBool => simple.push(v.reg),
                _ => series.push(v.reg),
            }
        }
        let ret = match sig.ret {
            Ret::Of(t) => t,
            Ret::Args(_) => vals[0].ty.ty.unify(Ty::Float).unwrap_or(Ty::Float),
            Ret::Void => Ty::Void,
        };
        let ret = if kind == TaKind::Change && vals[0].ty.ty == Ty::Int {
            Ty::Int
        } else if kind == TaKind::Change && vals[0].ty.ty == Ty::Bool {
            Ty::Bool
        } else {
            ret
        };
        self.ta_call(kind, &series, &simple, span, ret)
    }

    fn ta_call(
        &mut self,
        kind: TaKind,
        series: &[Reg],
        simple: &[Reg],
        span: Span,
        ret: Ty,
    ) -> Result<Val> {
        let arg = |i: usize| series.get(i).copied().unwrap_or(Reg(0));
        let cacheable =
            self.scopes.len() == 1 && self.inline_stack.is_empty() && self.cond_depth == 0;
        let key = (
            kind,
            [arg(0).0, arg(1).0, arg(2).0],
            simple.iter().map(|r| r.0).collect::<Vec<_>>(),
        );
        if cacheable {
            if let Some(v) = self.ta_cache.get(&key) {
                return Ok(*v);
            }
        }
        let outputs = match ret {
            Ty::Tuple(n) => n as usize,
            _ => 1,
        };
        let dst = self.slots(outputs);
        let st = self.ta.len() as u32;
        self.set_line(span);
        self.ta.push(TaSpec {
            kind,
            line: self.line,
            simple: simple.to_vec(),
        });
        self.emit(Op::Ta {
            st,
            dst,
            a: arg(0),
            b: arg(1),
            c: arg(2),
        });
        let v = Val {
            reg: dst,
            ty: Type::series(ret),
            konst: None,
        };
        if cacheable {
            self.ta_cache.insert(key, v);
        }
        Ok(v)
    }

    fn strategy_call(
        &mut self,
        sig: &FnSig,
        f: StratFn,
        callee: &Ident,
        bound: &[Option<&'a Expr>],
        _span: Span,
    ) -> Result<Val> {
        if !self.settings.is_strategy {
            return self.err(
                callee.span,
                format!(
                    "{} can only be used in a strategy: declare the script with strategy(...)",
                    sig.name
                ),
            );
        }
        let used = strategy_params(f);
        let first = self.slots(sig.params.len());
        for (i, p) in sig.params.iter().enumerate() {
            let v = self.arg(sig, i, bound[i])?;
            if used.contains(&p.name) {
                self.mov(Reg(first.0 + i as u32), v.reg);
            }
        }
        self.emit(Op::Strategy { f, args: first });
        Ok(Val {
            reg: first,
            ty: Type::konst(Ty::Void),
            konst: None,
        })
    }

    fn input_call(
        &mut self,
        sig: &FnSig,
        ty: Ty,
        bound: &[Option<&'a Expr>],
        span: Span,
    ) -> Result<Val> {
        if self.scopes.len() > 1 || !self.inline_stack.is_empty() {
            return self.err(span, "inputs must be declared at the top level");
        }
        let defval = bound[0].expect("defval is required");
        // input(close) / input.source(close): a choice of built-in series.
        let source = match &defval.kind {
            ExprKind::Name(n) => match builtins::variable(n) {
                Some((b, t)) if t.q == Qual::Series && matches!(t.ty, Ty::Float) => Some(b),
                _ => None,
            },
            _ => None,
        };
        if ty == Ty::Float && sig.name == "input.source" && source.is_none() {
            return self.err(
                defval.span,
                "input.source needs a built-in series such as close",
            );
        }
        let (value, vty) = if source.is_some() {
            (f64::NAN, Ty::Float)
        } else {
            let v = self.expr(defval)?;
            let Some(k) = v.konst else {
                return self.err(
                    defval.span,
                    "the default value of an input must be a constant",
                );
            };
            let vty = match ty {
                Ty::Na => v.ty.ty,
                t if v.ty.ty.fits(t) => t,
                t => {
                    return self.err(
                        defval.span,
                        format!("{} needs a {t} default value, got {}", sig.name, v.ty.ty),
                    )
                }
            };
            (k, vty)
        };
        let title = match bound.get(1).copied().flatten() {
            Some(e) => match self.const_arg(e, "title", sig.name)? {
                ConstArg::Str(s) => s,
                ConstArg::Num(_) => return self.err(e.span, "an input's title must be a string"),
            },
            None => String::new(),
        };
        let bound_num = |this: &mut Self, name: &str| -> Result<f64> {
            let Some(i) = sig.params.iter().position(|p| p.name == name) else {
                return Ok(f64::NAN);
            };
            match bound[i] {
                Some(e) => match this.const_arg(e, name, sig.name)? {
                    ConstArg::Num(v) => Ok(v),
                    ConstArg::Str(_) => this.err(e.span, format!("'{name}' must be a number")),
                },
                None => Ok(f64::NAN),
            }
        };
        let minval = bound_num(self, "minval")?;
        let maxval = bound_num(self, "maxval")?;
        if value < minval || value > maxval {
            return self.err(
                defval.span,
                format!("the default {value} is outside minval/maxval"),
            );
        }
        let slot = self.slot();
        self.init[slot.0 as usize] = value;
        self.owned.insert(slot.0);
        self.input_slots.insert(slot.0);
        let name = self.decl_name.clone().unwrap_or_default();
        let title = if title.is_empty() {
            name.clone()
        } else {
            title
        };
        self.inputs.push(InputSpec {
            name,
            title,
            ty: vty,
            default: value,
            slot,
            minval,
            maxval,
            source,
        });
        let q = if source.is_some() {
            Qual::Series
        } else {
            Qual::Input
        };
        Ok(Val {
            reg: slot,
            ty: Type::new(q, vty),
            konst: None,
        })
    }

    fn plot_call(&mut self, sig: &FnSig, bound: &[Option<&'a Expr>], _span: Span) -> Result<Val> {
        if self.scopes.len() > 1 || !self.inline_stack.is_empty() {
            let e = bound[0].expect("required");
            return self.err(
                e.span,
                format!(
                    "{} cannot be called in a local scope (if, loop or function)",
                    sig.name
                ),
            );
        }
        let v = self.arg(sig, 0, bound[0])?;
        match v.ty.ty {
            Ty::Int | Ty::Float | Ty::Bool | Ty::Color | Ty::Na => {}
            t => {
                let e = bound[0].expect("required");
                return self.err(
                    e.span,
                    format!("{} needs a number, bool or color, got {t}", sig.name),
                );
            }
        }
        let ti = sig
            .params
            .iter()
            .position(|p| p.name == "title")
            .expect("plots have titles");
        let mut title = match bound[ti] {
            Some(e) => match self.const_arg(e, "title", sig.name)? {
                ConstArg::Str(s) => s,
                ConstArg::Num(_) => return self.err(e.span, "a plot's title must be a string"),
            },
            None => String::new(),
        };
        if title.is_empty() {
            title = if self.untitled_plots == 0 {
                "plot".to_string()
            } else {
                format!("plot_{}", self.untitled_plots)
            };
            self.untitled_plots += 1;
        }
        let idx = self.plots.len() as u32;
        self.plots.push(title);
        self.emit(Op::Plot {
            plot: idx,
            src: v.reg,
        });
        Ok(Val {
            reg: v.reg,
            ty: Type::konst(Ty::Void),
            konst: None,
        })
    }

    fn user_call(
        &mut self,
        def: &'a Stmt,
        callee: &'a Ident,
        args: &'a [Arg],
        span: Span,
        want: bool,
    ) -> Result<Option<Val>> {
        let StmtKind::FuncDef { name, params, body } = &def.kind else {
            unreachable!("funcs holds function definitions")
        };
        if self.inline_stack.iter().any(|f| f == &name.name) {
            return self.err(
                callee.span,
                format!(
                    "function '{}' calls itself: recursion is not supported in Pine",
                    name.name
                ),
            );
        }
        if self.inline_stack.len() >= MAX_INLINE_DEPTH {
            return self.err(callee.span, "functions are nested too deeply");
        }
        // Bind arguments to parameters, positional then named.
        let mut bound: Vec<Option<&'a Expr>> = vec![None; params.len()];
        let mut pos = 0;
        for a in args {
            match &a.name {
                None => {
                    if pos >= params.len() {
                        return self.err(
                            a.value.span,
                            format!(
                                "too many arguments for '{}': it takes {}",
                                name.name,
                                params.len()
                            ),
                        );
                    }
                    bound[pos] = Some(&a.value);
                    pos += 1;
                }
                Some(n) => {
                    let Some(i) = params.iter().position(|p| p.name.name == n.name) else {
                        return self.err(
                            n.span,
                            format!("'{}' has no parameter '{}'", name.name, n.name),
                        );
                    };
                    bound[i] = Some(&a.value);
                }
            }
        }
        let mut vals = Vec::with_capacity(params.len());
        for (p, b) in params.iter().zip(&bound) {
            let e = match (b, &p.default) {
                (Some(e), _) => *e,
                (None, Some(d)) => d,
                (None, None) => {
                    return self.err(
                        callee.span,
                        format!("'{}' needs the argument '{}'", name.name, p.name.name),
                    )
                }
            };
            let v = self.expr(e)?;
            if let Some(ann) = p.ty {
                let want_ty = Ty::from_base(ann.base);
                if !v.ty.ty.fits(want_ty) {
                    return self.err(
                        e.span,
                        format!(
                            "argument '{}' of '{}' must be {want_ty}, got {}",
                            p.name.name, name.name, v.ty.ty
                        ),
                    );
                }
            }
            vals.push(v);
        }
        self.inline_stack.push(name.name.clone());
        self.scopes.push(Scope {
            vars: HashMap::new(),
            barrier: true,
        });
        let mut result = Ok(None);
        for (p, v) in params.iter().zip(&vals) {
            if let Err(e) = self.declare(
                &p.name,
                Var {
                    slot: v.reg,
                    ty: v.ty,
                },
            ) {
                result = Err(e);
                break;
            }
        }
        if result.is_ok() {
            result = self.block(body, true);
        }
        self.scopes.pop();
        self.inline_stack.pop();
        let _ = (span, want);
        match result? {
            Some(v) => Ok(Some(v)),
            None => Ok(Some(Val {
                reg: self.const_slot(f64::NAN),
                ty: Type::konst(Ty::Void),
                konst: None,
            })),
        }
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

/// The parameters of each `strategy.*` call that the VM reads (the others, such as
/// comments, are checked but not moved into place).
pub fn strategy_params(f: StratFn) -> &'static [&'static str] {
    match f {
        StratFn::Entry | StratFn::Order => &["id", "direction", "qty", "limit", "stop", "when"],
        StratFn::Close => &["id", "qty", "qty_percent", "immediately", "when"],
        StratFn::CloseAll => &["immediately", "when"],
        StratFn::Exit => &[
            "id",
            "from_entry",
            "qty",
            "qty_percent",
            "profit",
            "limit",
            "loss",
            "stop",
            "trail_price",
            "trail_points",
            "trail_offset",
            "when",
        ],
        StratFn::Cancel => &["id", "when"],
        StratFn::CancelAll => &["when"],
    }
}

/// Folds an operator on two constants, with the VM's semantics.
fn fold(op: BinOp, a: f64, b: f64, int: bool) -> f64 {
    let bool_of = |x: f64| x != 0.0 && !x.is_nan();
    let cmp = |r: bool| {
        if a.is_nan() || b.is_nan() {
            0.0
        } else if r {
            1.0
        } else {
            0.0
        }
    };
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => {
            if b == 0.0 {
                f64::NAN
            } else if int {
                (a / b).trunc()
            } else {
                a / b
            }
        }
        BinOp::Rem => {
            if b == 0.0 {
                f64::NAN
            } else {
                a % b
            }
        }
        BinOp::And => (bool_of(a) && bool_of(b)) as u8 as f64,
        BinOp::Or => (bool_of(a) || bool_of(b)) as u8 as f64,
        BinOp::Eq => cmp(a == b),
        BinOp::Ne => cmp(a != b),
        BinOp::Lt => cmp(a < b),
        BinOp::Le => cmp(a <= b),
        BinOp::Gt => cmp(a > b),
        BinOp::Ge => cmp(a >= b),
    }
}

/// One-argument math with Pine's semantics (shared with the VM).
pub fn eval_math1(f: Math1, x: f64) -> f64 {
    match f {
        Math1::Abs => x.abs(),
        Math1::Floor => x.floor(),
        Math1::Ceil => x.ceil(),
        Math1::Sqrt => {
            if x < 0.0 {
                f64::NAN
            } else {
                x.sqrt()
            }
        }
        Math1::Log => {
            if x <= 0.0 {
                f64::NAN
            } else {
                x.ln()
            }
        }
        Math1::Log10 => {
            if x <= 0.0 {
                f64::NAN
            } else {
                x.log10()
            }
        }
        Math1::Exp => x.exp(),
        Math1::Sign => {
            if x.is_nan() {
                f64::NAN
            } else if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        Math1::ToInt => x.trunc(),
    }
}

/// Two-argument math with Pine's semantics (shared with the VM). `math.max`/`min` return
/// na when either side is na, as Pine does.
pub fn eval_math2(f: Math2, a: f64, b: f64) -> f64 {
    match f {
        Math2::Pow => {
            let r = a.powf(b);
            if r.is_finite() {
                r
            } else {
                f64::NAN
            }
        }
        Math2::Round => {
            if b.is_nan() {
                // Half away from zero, as Pine's math.round.
                a.round()
            } else {
                let p = 10f64.powi(b.clamp(0.0, 15.0) as i32);
                (a * p).round() / p
            }
        }
        Math2::Max => {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else {
                a.max(b)
            }
        }
        Math2::Min => {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else {
                a.min(b)
            }
        }
    }
}

/// Collects every name that some statement reassigns (`:=`, `+=`, ...), in any scope.
fn assigned_names(stmts: &[Stmt], out: &mut std::collections::HashSet<String>) {
    for s in stmts {
        match &s.kind {
            StmtKind::Assign { target, value, .. } => {
                out.insert(target.name.clone());
                assigned_in_expr(value, out);
            }
            StmtKind::VarDecl { value, .. } | StmtKind::TupleDecl { value, .. } => {
                assigned_in_expr(value, out)
            }
            StmtKind::FuncDef { body, .. } => assigned_names(&body.stmts, out),
            StmtKind::Expr(e) => assigned_in_expr(e, out),
            StmtKind::Break | StmtKind::Continue => {}
        }
    }
}

fn assigned_in_expr(e: &Expr, out: &mut std::collections::HashSet<String>) {
    match &e.kind {
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => {
            assigned_in_expr(cond, out);
            assigned_names(&then.stmts, out);
            if let Some(b) = otherwise {
                assigned_names(&b.stmts, out);
            }
        }
        ExprKind::Switch { scrutinee, arms } => {
            if let Some(s) = scrutinee {
                assigned_in_expr(s, out);
            }
            for arm in arms {
                assigned_names(&arm.body.stmts, out);
            }
        }
        ExprKind::For { body, .. } | ExprKind::While { body, .. } => {
            assigned_names(&body.stmts, out)
        }
        ExprKind::Call { args, .. } => {
            for a in args {
                assigned_in_expr(&a.value, out);
            }
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            assigned_in_expr(lhs, out);
            assigned_in_expr(rhs, out);
        }
        ExprKind::Unary { expr, .. } => assigned_in_expr(expr, out),
        ExprKind::Ternary {
            cond,
            then,
            otherwise,
        } => {
            assigned_in_expr(cond, out);
            assigned_in_expr(then, out);
            assigned_in_expr(otherwise, out);
        }
        ExprKind::Index { base, offset } => {
            assigned_in_expr(base, out);
            assigned_in_expr(offset, out);
        }
        ExprKind::Tuple(items) => {
            for i in items {
                assigned_in_expr(i, out);
            }
        }
        _ => {}
    }
}
