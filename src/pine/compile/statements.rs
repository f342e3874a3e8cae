//! Statements: declarations, tuple declarations, reassignments, function definitions,
//! `break` / `continue`, blocks.

use super::*;

impl<'a> Compiler<'a> {
    // ----- statements -----------------------------------------------------------------

    /// Compiles a statement; returns its value when it is an expression statement and
    /// `want` asks for one.
    pub(super) fn stmt(&mut self, stmt: &'a Stmt, want: bool) -> Result<Option<Val>> {
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

    pub(super) fn block(&mut self, block: &'a Block, want: bool) -> Result<Option<Val>> {
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

    pub(super) fn var_decl(
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

    pub(super) fn decl_type(
        &self,
        name: &Ident,
        ann: Option<TypeAnn>,
        value: Type,
        value_span: Span,
    ) -> Result<Type> {
        if matches!(value.ty, Ty::Void) {
            return self.err(value_span, "this expression has no value to assign");
        }
        if let Ty::Tuple(..) = value.ty {
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

    pub(super) fn tuple_decl(
        &mut self,
        names: &[Ident],
        value: &'a Expr,
        span: Span,
    ) -> Result<()> {
        let fresh_from = self.init.len() as u32;
        let v = self.expr(value)?;
        let Ty::Tuple(n, kinds) = v.ty.ty else {
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
            // As in `var_decl`: a slot this statement computed and nobody owns becomes
            // the variable itself.
            let element = Reg(v.reg.0 + i as u32);
            let slot = if element.0 >= fresh_from && !self.owned.contains(&element.0) {
                element
            } else {
                let slot = self.slot();
                self.mov(slot, element);
                slot
            };
            self.declare(
                name,
                Var {
                    slot,
                    ty: Type::series(Ty::tuple_element(kinds, i)),
                },
            )?;
        }
        Ok(())
    }

    pub(super) fn assign(&mut self, target: &Ident, op: AssignOp, value: &'a Expr) -> Result<()> {
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
    pub(super) fn upgrade_var(&mut self, name: &str) {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(v) = scope.vars.get_mut(name) {
                v.ty.q = Qual::Series;
                return;
            }
        }
    }

    pub(super) fn is_global_from_function(&self, name: &str) -> bool {
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
}
