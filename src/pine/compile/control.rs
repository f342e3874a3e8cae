//! Control flow as expressions: `?:`, `if`, `switch`, `for`, `while`, and the fused
//! compare-and-jump used by their conditions.

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn ternary(
        &mut self,
        cond: &'a Expr,
        then: &'a Expr,
        otherwise: &'a Expr,
    ) -> Result<Val> {
        let dst = self.slot();
        let jf = self.cond_jump(cond)?;
        self.cond_depth += 1;
        let r = self.ternary_branches(dst, jf, then, otherwise);
        self.cond_depth -= 1;
        r
    }

    pub(super) fn ternary_branches(
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
        if matches!(ty, Ty::Tuple(..) | Ty::Void) {
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
    pub(super) fn cond_jump(&mut self, cond: &'a Expr) -> Result<usize> {
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

    pub(super) fn condition(&mut self, cond: &'a Expr) -> Result<Reg> {
        let c = self.expr(cond)?;
        if !matches!(c.ty.ty, Ty::Bool | Ty::Na) {
            return self.err(
                cond.span,
                format!("the condition must be a bool, got {}", c.ty.ty),
            );
        }
        Ok(c.reg)
    }

    pub(super) fn if_expr(
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

    pub(super) fn branch_type(&self, acc: Ty, next: Ty, span: Span) -> Result<Ty> {
        if matches!(next, Ty::Tuple(..)) {
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

    pub(super) fn switch(
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
                // A pattern after the first runs only when the earlier ones did not match.
                let later = (i > 0) as u32;
                self.cond_depth += later;
                let c = match key {
                    Some(k) => self
                        .expr(p)
                        .and_then(|pv| self.binary(BinOp::Eq, k, pv, p.span))
                        .map(|v| v.reg),
                    None => self.condition(p),
                };
                self.cond_depth -= later;
                let c = c?;
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

    pub(super) fn for_loop(
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

    pub(super) fn while_loop(
        &mut self,
        cond: &'a Expr,
        body: &'a Block,
        want: bool,
    ) -> Result<Option<Val>> {
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
        // The condition runs once per iteration, not once per bar.
        self.cond_depth += 1;
        let jf = self.cond_jump(cond);
        self.cond_depth -= 1;
        let jf = jf?;
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
}
