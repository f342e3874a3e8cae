//! Calls that act rather than compute: `strategy.*` orders, inputs and plots.

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn strategy_call(
        &mut self,
        sig: &FnSig,
        f: StratFn,
        callee: &Ident,
        bound: &[Option<&'a Expr>],
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

    pub(super) fn input_call(
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

    pub(super) fn plot_call(&mut self, sig: &FnSig, bound: &[Option<&'a Expr>]) -> Result<Val> {
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
}
