//! Whole-script facts gathered before code generation.

use super::*;

/// Collects every name that some statement reassigns (`:=`, `+=`, ...), in any scope.
pub(super) fn assigned_names(stmts: &[Stmt], out: &mut std::collections::HashSet<String>) {
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
