//! `ta.*` calls: each call site gets its own operator state; identical unconditional
//! top-level calls share one.

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn ta_dispatch(&mut self, sig: &FnSig, vals: &[Val], span: Span) -> Result<Val> {
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

    pub(super) fn ta_call(
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
            Ty::Tuple(n, _) => n as usize,
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
}
