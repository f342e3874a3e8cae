//! User functions, inlined at each call with that call's argument types, so every call owns
//! its own series state as in Pine; recursion is reported.

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn user_call(
        &mut self,
        def: &'a Stmt,
        callee: &'a Ident,
        args: &'a [Arg],
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
