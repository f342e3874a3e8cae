//! The `strategy(...)` / `indicator(...)` declaration: its constant arguments become the
//! program's settings.

use super::*;

impl<'a> Compiler<'a> {
    // ----- the declaration ------------------------------------------------------------

    /// Finds `strategy(...)` / `indicator(...)` / `study(...)` at the top level and reads
    /// its constant arguments into the settings.
    pub(super) fn declaration(&mut self, script: &'a Script) -> Result<()> {
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
    pub(super) fn const_arg(&mut self, e: &'a Expr, param: &str, func: &str) -> Result<ConstArg> {
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
}
