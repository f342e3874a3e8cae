//! Constant folding and the arithmetic the VM shares with the compiler.

use super::*;

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
pub(super) fn fold(op: BinOp, a: f64, b: f64, int: bool) -> f64 {
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
