//! Calls of built-in functions: argument binding against the signature tables, argument
//! type checks, and the value-returning built-ins (math, na handling, strings, colors, casts).

use super::*;

impl<'a> Compiler<'a> {
    // ----- calls ----------------------------------------------------------------------

    pub(super) fn call(
        &mut self,
        callee: &'a Ident,
        args: &'a [Arg],
        span: Span,
    ) -> Result<Option<Val>> {
        let name = callee.name.as_str();
        if let Some(&def) = self.funcs.get(name) {
            return self.user_call(def, callee, args);
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
    pub(super) fn bind_args(
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
    pub(super) fn arg(&mut self, sig: &FnSig, idx: usize, bound: Option<&'a Expr>) -> Result<Val> {
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
            PTy::Any if matches!(t, Ty::Void | Ty::Tuple(..)) => return bad("a value"),
            _ => {}
        }
        Ok(v)
    }

    pub(super) fn builtin_call(
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
            Impl::Strategy(f) => return self.strategy_call(sig, f, callee, &bound),
            Impl::Input(ty) => return self.input_call(sig, ty, &bound, span),
            Impl::Plot => return self.plot_call(sig, &bound),
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

    pub(super) fn variadic(&mut self, sig: &FnSig, callee: &Ident, args: &'a [Arg]) -> Result<Val> {
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
}
