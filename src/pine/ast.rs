//! The abstract syntax tree the parser produces and the checker and compiler read.
//!
//! Every node carries a [`Span`] so that any later stage can point at the source.
//! Dotted names (`ta.sma`, `strategy.long`, `color.red`) are kept as one string: the
//! Pine subset has no user-defined objects, so a dot is always a namespace.
//! `if`, `switch`, `for` and `while` are expressions, as in Pine: their value is the
//! value of the last expression statement of the branch taken.

use super::span::Span;

/// Identifies an expression node uniquely within one script (dense, from 0), so that
/// later stages can keep side tables indexed by it.
pub type NodeId = u32;

/// A whole script.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// The `//@version=N` annotation, if present.
    pub version: Option<u32>,
    /// Top-level statements in source order.
    pub stmts: Vec<Stmt>,
    /// Number of expression nodes (every [`Expr::id`] is below this).
    pub node_count: u32,
}

/// A name as written, with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The name, dots included for namespaced names.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    /// What kind of statement.
    pub kind: StmtKind,
    /// The whole statement.
    pub span: Span,
}

/// How a declared variable lives across bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclMode {
    /// `x = ...`: re-evaluated on every bar.
    Plain,
    /// `var x = ...`: initialised on the first bar, then kept.
    Var,
    /// `varip x = ...`: like `var`, and not rolled back between ticks of a realtime bar.
    Varip,
}

/// The type qualifier of an annotation (`series float x = ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    /// `const`
    Const,
    /// `input`
    Input,
    /// `simple`
    Simple,
    /// `series`
    Series,
}

/// The base type of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseType {
    /// `int`
    Int,
    /// `float`
    Float,
    /// `bool`
    Bool,
    /// `string`
    String,
    /// `color`
    Color,
}

/// A type annotation as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeAnn {
    /// Optional qualifier.
    pub qualifier: Option<Qualifier>,
    /// The base type.
    pub base: BaseType,
    /// Where it was written.
    pub span: Span,
}

/// Assignment operators that change an existing variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    /// `:=`
    Reassign,
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
    /// `%=`
    Rem,
}

/// A function parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Parameter name.
    pub name: Ident,
    /// Optional type annotation (`float x`).
    pub ty: Option<TypeAnn>,
    /// Default value, if written (`x = 14`).
    pub default: Option<Expr>,
}

/// Statement kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// `[var|varip] [type] name = value`
    VarDecl {
        /// Lifetime across bars.
        mode: DeclMode,
        /// Optional type annotation.
        ty: Option<TypeAnn>,
        /// The declared name.
        name: Ident,
        /// The initial value.
        value: Expr,
    },
    /// `[a, b, c] = value`; `_` names a discarded element.
    TupleDecl {
        /// The declared names, in order.
        names: Vec<Ident>,
        /// The tuple-valued expression.
        value: Expr,
    },
    /// `name := value`, `name += value`, ...
    Assign {
        /// The variable assigned.
        target: Ident,
        /// Which operator.
        op: AssignOp,
        /// The right-hand side.
        value: Expr,
    },
    /// `name(params) => body`: a user function.
    FuncDef {
        /// Function name.
        name: Ident,
        /// Parameters in order.
        params: Vec<Param>,
        /// The body; a one-line function has a block of one expression statement.
        body: Block,
    },
    /// `break` inside a loop.
    Break,
    /// `continue` inside a loop.
    Continue,
    /// An expression evaluated for its effect or value (calls, `if`, loops...).
    Expr(Expr),
}

/// An indented block of statements.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Statements in order.
    pub stmts: Vec<Stmt>,
    /// The whole block.
    pub span: Span,
}

/// A call argument, positional or named (`overlay=true`).
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// The parameter name for a named argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
}

/// One arm of a `switch`.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchArm {
    /// The value (or, without a scrutinee, the condition) matched; `None` for the
    /// default arm `=>`.
    pub pattern: Option<Expr>,
    /// What runs when it matches.
    pub body: Block,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `+x`
    Plus,
    /// `not x`
    Not,
}

/// Binary operators, in Pine's precedence order (lowest first: or, and, equality,
/// comparison, additive, multiplicative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

impl BinOp {
    /// The operator as written in Pine.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// Unique id within the script (see [`NodeId`]).
    pub id: NodeId,
    /// What kind of expression.
    pub kind: ExprKind,
    /// The whole expression.
    pub span: Span,
}

/// Expression kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// Integer literal.
    Int(i64),
    /// Float literal (`1.5`, `1e-3`, `.5`).
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// String literal, escapes resolved.
    Str(String),
    /// Color literal `#RRGGBB` or `#RRGGBBAA`, as 0xRRGGBBAA (alpha 0xFF when omitted).
    Color(u32),
    /// `na`
    Na,
    /// A (possibly dotted) name: a variable, a built-in series or a constant.
    Name(String),
    /// `callee(args)`; `callee` may be dotted (`ta.sma`).
    Call {
        /// The function name as written.
        callee: Ident,
        /// Arguments in order.
        args: Vec<Arg>,
    },
    /// History reference `base[offset]`.
    Index {
        /// The series.
        base: Box<Expr>,
        /// Bars back.
        offset: Box<Expr>,
    },
    /// Unary operator.
    Unary {
        /// Which operator.
        op: UnOp,
        /// Operand.
        expr: Box<Expr>,
    },
    /// Binary operator.
    Binary {
        /// Which operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `cond ? a : b`
    Ternary {
        /// Condition.
        cond: Box<Expr>,
        /// Value when true.
        then: Box<Expr>,
        /// Value when false.
        otherwise: Box<Expr>,
    },
    /// `if cond` block, with optional `else` (an `else if` is an `else` block holding one
    /// `if` expression statement).
    If {
        /// Condition.
        cond: Box<Expr>,
        /// Taken when true.
        then: Block,
        /// Taken when false.
        otherwise: Option<Block>,
    },
    /// `switch [scrutinee]` with arms.
    Switch {
        /// The value compared with each arm's pattern; without it each pattern is a
        /// condition.
        scrutinee: Option<Box<Expr>>,
        /// Arms in order; at most one default arm, last.
        arms: Vec<SwitchArm>,
    },
    /// `for var = from to to [by step]`
    For {
        /// Loop counter.
        var: Ident,
        /// First value.
        from: Box<Expr>,
        /// Last value (inclusive).
        to: Box<Expr>,
        /// Step, `1` (or `-1` when counting down) when omitted.
        by: Option<Box<Expr>>,
        /// Loop body.
        body: Block,
    },
    /// `while cond`
    While {
        /// Condition checked before every iteration.
        cond: Box<Expr>,
        /// Loop body.
        body: Block,
    },
    /// `[a, b, c]`: a tuple, valid as the value of a function body.
    Tuple(Vec<Expr>),
}
