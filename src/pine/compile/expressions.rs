//! Expressions: literals, names, history references, operators (with constant folding and
//! the multiply-add fusion), tuples.

use super::*;

impl<'a> Compiler<'a> {
    // ----- expressions ----------------------------------------------------------------

    pub(super) fn expr(&mut self, e: &'a Expr) -> Result<Val> {
        match self.expr_opt(e, true)? {
            Some(v) => Ok(v),
            None => self.err(e.span, "this expression has no value"),
        }
    }

    pub(super) fn expr_opt(&mut self, e: &'a Expr, want: bool) -> Result<Option<Val>> {
        Ok(Some(match &e.kind {
            ExprKind::Int(i) => self.konst(*i as f64, Ty::Int),
            ExprKind::Float(f) => self.konst(*f, Ty::Float),
            ExprKind::Bool(b) => self.konst(if *b { 1.0 } else { 0.0 }, Ty::Bool),
            ExprKind::Str(s) => self.str_const(s),
            ExprKind::Color(c) => self.konst(*c as f64, Ty::Color),
            ExprKind::Na => self.konst(f64::NAN, Ty::Na),
            ExprKind::Name(n) => self.name(n, e.span)?,
            ExprKind::Call { callee, args } => return self.call(callee, args, e.span),
            ExprKind::Index { base, offset } => self.history(base, offset)?,
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

    pub(super) fn name(&mut self, n: &str, span: Span) -> Result<Val> {
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

    pub(super) fn history(&mut self, base: &'a Expr, offset: &'a Expr) -> Result<Val> {
        let b = self.expr(base)?;
        if matches!(b.ty.ty, Ty::Tuple(..) | Ty::Void) {
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
    pub(super) fn ring_for(&mut self, src: Reg, back: u32) -> u32 {
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

    pub(super) fn unary(&mut self, op: UnOp, e: &'a Expr, span: Span) -> Result<Val> {
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

    pub(super) fn binary(&mut self, op: BinOp, a: Val, b: Val, span: Span) -> Result<Val> {
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
                if ta.unify(tb).is_none() || matches!(ta, Ty::Tuple(..) | Ty::Void) {
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
                        self.strings.get(crate::pine::StrId(x as u32)),
                        self.strings.get(crate::pine::StrId(y as u32))
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
    pub(super) fn fuse_mul_add(&mut self, op: BinOp, v: Val) {
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

    pub(super) fn tuple(&mut self, items: &'a [Expr], span: Span) -> Result<Val> {
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
            ty: Type::series(Ty::Tuple(
                vals.len() as u8,
                vals.iter()
                    .enumerate()
                    .map(|(i, v)| v.ty.ty.tuple_kind() << (2 * i))
                    .sum(),
            )),
            konst: None,
        })
    }
}
