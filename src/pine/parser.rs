//! The Pine parser: recursive descent over the lexer's tokens (layout already turned
//! into `Newline` / `Indent` / `Dedent`) to the [`ast`](super::ast).
//!
//! The first error wins: the parser stops at the first thing it cannot read, and when
//! the lexer stopped earlier in the source its error is reported instead. Every error
//! points at the offending token and says what was expected.
//!
//! Expression ids are handed out in creation order, so they are dense (`0..node_count`)
//! and unique; the parser never builds a node it then throws away.
//!
//! Nesting (parentheses, blocks, `else if` chains, unary chains) is limited to
//! [`MAX_NESTING`] levels so that hostile input cannot overflow the stack here or in the
//! later stages, which walk the tree recursively.

use super::ast::{
    Arg, AssignOp, BaseType, BinOp, Block, DeclMode, Expr, ExprKind, Ident, Param, Qualifier,
    Script, Stmt, StmtKind, SwitchArm, TypeAnn, UnOp,
};
use super::lexer::{lex, Tok, Token};
use super::span::{CompileError, SourceFile, Span};

/// Deepest nesting of expressions and blocks the parser accepts.
pub const MAX_NESTING: u32 = 100;

const FOR_IN: &str =
    "'for ... in' loops are not supported (arrays are not part of pinewire's Pine subset)";
const ARROW: &str =
    "'=>' is only valid after a function's parameters ('f(x) => x + 1') or in a 'switch' arm";
const LIBRARY: &str = "pinewire runs self-contained scripts (no libraries)";

type PResult<T> = Result<T, CompileError>;

/// Parses a whole script. On error, the error's span points at the offending token, so
/// that [`CompileError::render`] shows `file:line:col` and a caret.
pub fn parse(file: &SourceFile) -> Result<Script, CompileError> {
    let lexed = lex(&file.text);
    let mut p = Parser {
        file,
        src: &file.text,
        toks: &lexed.tokens,
        pos: 0,
        next_id: 0,
        depth: 0,
        last_end: 0,
    };
    let parsed = p.script();
    match (parsed, lexed.error) {
        (Ok(stmts), None) => Ok(Script {
            version: lexed.version,
            stmts,
            node_count: p.next_id,
        }),
        (Ok(_), Some(lex_err)) => Err(lex_err),
        (Err(parse_err), Some(lex_err)) if lex_err.span.start <= parse_err.span.start => {
            Err(lex_err)
        }
        (Err(parse_err), _) => Err(parse_err),
    }
}

struct Parser<'a> {
    file: &'a SourceFile,
    src: &'a str,
    /// Never empty: the lexer always ends it with `Eof` or `Error`.
    toks: &'a [Token],
    pos: usize,
    next_id: u32,
    depth: u32,
    /// End of the last real (non-layout) token consumed.
    last_end: u32,
}

impl<'a> Parser<'a> {
    // ---- token access ----

    fn tok_at(&self, i: usize) -> &'a Token {
        let toks: &'a [Token] = self.toks;
        &toks[i.min(toks.len() - 1)]
    }

    fn tok(&self) -> &'a Token {
        self.tok_at(self.pos)
    }

    fn peek(&self) -> &'a Tok {
        &self.tok().kind
    }

    fn peek_n(&self, n: usize) -> &'a Tok {
        &self.tok_at(self.pos + n).kind
    }

    fn span(&self) -> Span {
        self.tok().span
    }

    fn at(&self, kind: &Tok) -> bool {
        self.peek() == kind
    }

    fn bump(&mut self) -> &'a Token {
        let t = self.tok();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        if !t.kind.is_layout() {
            self.last_end = t.span.end;
        }
        t
    }

    fn eat(&mut self, kind: &Tok) -> bool {
        if self.at(kind) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn text(&self, span: Span) -> &'a str {
        let src: &'a str = self.src;
        src.get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    fn prev_is_dedent(&self) -> bool {
        self.pos > 0 && self.toks[self.pos - 1].kind == Tok::Dedent
    }

    /// From `start` to the end of the last token consumed.
    fn since(&self, start: Span) -> Span {
        Span {
            start: start.start,
            end: self.last_end.max(start.end),
        }
    }

    fn mk(&mut self, kind: ExprKind, span: Span) -> Expr {
        let id = self.next_id;
        self.next_id += 1;
        Expr { id, kind, span }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return self.fail(
                self.span(),
                format!("nested too deeply (more than {MAX_NESTING} levels)"),
            );
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // ---- errors ----

    #[cold]
    fn fail<T>(&self, span: Span, message: impl Into<String>) -> PResult<T> {
        Err(CompileError::new(span, message))
    }

    fn describe(&self, t: &Token) -> String {
        match &t.kind {
            Tok::Newline => "end of line".to_string(),
            Tok::Indent => "an indented line".to_string(),
            Tok::Dedent => "end of block".to_string(),
            Tok::Eof => "end of file".to_string(),
            Tok::Error => "invalid input".to_string(),
            Tok::Str(_) => "a string".to_string(),
            _ => format!("'{}'", self.text(t.span)),
        }
    }

    /// `expected {what}, found {current token}` at the current token.
    #[cold]
    fn expected<T>(&self, what: &str) -> PResult<T> {
        self.fail(
            self.span(),
            format!("expected {what}, found {}", self.describe(self.tok())),
        )
    }

    #[cold]
    fn unclosed<T>(&self, open: Span, close: char) -> PResult<T> {
        let (line, col) = self.file.line_col(open.start);
        let opener = self.text(open);
        self.fail(
            self.span(),
            format!("expected '{close}' to close '{opener}' opened at {line}:{col}"),
        )
    }

    #[cold]
    fn unsupported<T>(&self) -> PResult<T> {
        let message = match self.peek() {
            Tok::Import => format!("'import' is not supported: {LIBRARY}"),
            Tok::Export => format!("'export' is not supported: {LIBRARY}"),
            Tok::Type => "user-defined types ('type') are not supported".to_string(),
            Tok::Method => "methods ('method') are not supported".to_string(),
            Tok::Enum => "enums ('enum') are not supported".to_string(),
            _ => return self.expected("a statement"),
        };
        self.fail(self.span(), message)
    }

    /// Expects the end of a logical line, unless the statement just read ended with a
    /// block (whose `Dedent` already closed the line).
    fn end_stmt(&mut self) -> PResult<()> {
        if self.prev_is_dedent() {
            return Ok(());
        }
        match self.peek() {
            Tok::Newline => {
                self.bump();
                Ok(())
            }
            Tok::Assign => self.fail(
                self.span(),
                "unexpected '=': use '==' to compare, or declare the variable on its own line",
            ),
            _ => self.expected("end of line"),
        }
    }

    // ---- statements ----

    fn script(&mut self) -> PResult<Vec<Stmt>> {
        let mut stmts = Vec::new();
        while !self.at(&Tok::Eof) {
            stmts.push(self.stmt(true)?);
            self.end_stmt()?;
        }
        Ok(stmts)
    }

    fn stmt(&mut self, top: bool) -> PResult<Stmt> {
        let start = self.span();
        match self.peek() {
            Tok::Indent => self.fail(start, "unexpected indentation"),
            Tok::Import | Tok::Export | Tok::Type | Tok::Method | Tok::Enum => self.unsupported(),
            Tok::Else => self.fail(start, "'else' without a matching 'if'"),
            Tok::Arrow => self.fail(start, ARROW),
            Tok::Break => {
                self.bump();
                Ok(Stmt {
                    kind: StmtKind::Break,
                    span: start,
                })
            }
            Tok::Continue => {
                self.bump();
                Ok(Stmt {
                    kind: StmtKind::Continue,
                    span: start,
                })
            }
            Tok::Var | Tok::Varip => self.decl(),
            t if is_type_word(t) && self.peek_n(1) != &Tok::LParen => self.decl(),
            Tok::LBracket => {
                let after = self.matching(self.pos).map(|close| self.tok_at(close + 1));
                match after.map(|t| (&t.kind, t.span)) {
                    Some((Tok::Assign, _)) => self.tuple_decl(),
                    Some((k, span)) if assign_op(k).is_some() => self.fail(
                        span,
                        "a tuple can only be declared with '=', as in '[a, b] = f()'",
                    ),
                    _ => self.expr_stmt(),
                }
            }
            Tok::Ident => match self.peek_n(1) {
                Tok::Assign => self.decl(),
                k if assign_op(k).is_some() => self.assign(),
                Tok::LParen if self.is_funcdef() => self.funcdef(top),
                Tok::Arrow => self.fail(self.tok_at(self.pos + 1).span, ARROW),
                Tok::Ident => self.unsupported_type(),
                _ => self.expr_stmt(),
            },
            _ => self.expr_stmt(),
        }
    }

    fn expr_stmt(&mut self) -> PResult<Stmt> {
        let e = self.rhs()?;
        if matches!(self.peek(), Tok::Assign) || assign_op(self.peek()).is_some() {
            let op = self.text(self.span());
            return self.fail(
                e.span,
                format!("the left side of '{op}' must be a variable name"),
            );
        }
        Ok(Stmt {
            span: e.span,
            kind: StmtKind::Expr(e),
        })
    }

    /// `[var|varip] [qualifier] [type] name = value`
    fn decl(&mut self) -> PResult<Stmt> {
        let start = self.span();
        let mode = match self.peek() {
            Tok::Var => {
                self.bump();
                DeclMode::Var
            }
            Tok::Varip => {
                self.bump();
                DeclMode::Varip
            }
            _ => DeclMode::Plain,
        };
        let ty = self.type_ann()?;
        let name = self.var_name("a variable name")?;
        match self.peek() {
            Tok::Assign => {
                self.bump();
            }
            Tok::ColonAssign => {
                return self.fail(
                    self.span(),
                    "a declaration uses '=' ('var x = 0'); ':=' changes an existing variable",
                )
            }
            _ => return self.expected(&format!("'=' after '{}'", name.name)),
        }
        let value = self.rhs()?;
        Ok(Stmt {
            kind: StmtKind::VarDecl {
                mode,
                ty,
                name,
                value,
            },
            span: self.since(start),
        })
    }

    /// `[qualifier] [type]`, used by declarations and parameters.
    fn type_ann(&mut self) -> PResult<Option<TypeAnn>> {
        let start = self.span();
        let qualifier = match self.peek() {
            Tok::Const => Some(Qualifier::Const),
            Tok::Input => Some(Qualifier::Input),
            Tok::Simple => Some(Qualifier::Simple),
            Tok::Series => Some(Qualifier::Series),
            _ => None,
        };
        if qualifier.is_some() {
            self.bump();
        }
        let base = match self.peek() {
            Tok::TyInt => Some(BaseType::Int),
            Tok::TyFloat => Some(BaseType::Float),
            Tok::TyBool => Some(BaseType::Bool),
            Tok::TyString => Some(BaseType::String),
            Tok::TyColor => Some(BaseType::Color),
            Tok::Ident if self.peek_n(1) == &Tok::Ident => return self.unsupported_type(),
            Tok::Ident if self.peek_n(1) == &Tok::Lt => {
                self.generics_check()?;
                None
            }
            _ => None,
        };
        let Some(base) = base else {
            if qualifier.is_some() {
                return self.expected("a type (int, float, bool, string or color)");
            }
            return Ok(None);
        };
        let base_span = self.bump().span;
        if self.at(&Tok::LBracket) {
            let ty = self.text(base_span);
            return self.fail(
                self.since(base_span),
                format!(
                    "array types ('{ty}[]') are not supported (arrays are not part of \
                     pinewire's Pine subset)"
                ),
            );
        }
        Ok(Some(TypeAnn {
            qualifier,
            base,
            span: self.since(start),
        }))
    }

    #[cold]
    fn unsupported_type<T>(&self) -> PResult<T> {
        let name = self.text(self.span());
        self.fail(
            self.span(),
            format!(
                "type '{name}' is not supported: pinewire's types are int, float, bool, \
                 string and color"
            ),
        )
    }

    /// A plain (undotted) name being declared or assigned.
    fn var_name(&mut self, what: &str) -> PResult<Ident> {
        if !self.at(&Tok::Ident) {
            if is_word(self.peek()) {
                let word = self.text(self.span());
                return self.fail(
                    self.span(),
                    format!("'{word}' is a reserved word and cannot be used as a name"),
                );
            }
            return self.expected(what);
        }
        let span = self.span();
        let name = self.text(span);
        if name.contains('.') {
            return self.fail(
                span,
                format!("'{name}' cannot be declared: names cannot contain '.'"),
            );
        }
        self.bump();
        Ok(Ident {
            name: name.to_string(),
            span,
        })
    }

    /// `name := value`, `name += value`, ...
    fn assign(&mut self) -> PResult<Stmt> {
        let span = self.span();
        let name = self.text(span);
        if name.contains('.') {
            return self.fail(
                span,
                format!("cannot assign to '{name}': only the script's own variables can change"),
            );
        }
        self.bump();
        let op = assign_op(self.peek()).unwrap_or(AssignOp::Reassign);
        self.bump();
        let value = self.rhs()?;
        Ok(Stmt {
            kind: StmtKind::Assign {
                target: Ident {
                    name: name.to_string(),
                    span,
                },
                op,
                value,
            },
            span: self.since(span),
        })
    }

    /// `[a, b, _] = value` (the caller has checked the `=`).
    fn tuple_decl(&mut self) -> PResult<Stmt> {
        let open = self.bump().span;
        let mut names = Vec::new();
        loop {
            names.push(self.var_name("a variable name in the tuple declaration")?);
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RBracket => break,
                _ => return self.unclosed(open, ']'),
            }
        }
        self.bump(); // ']'
        self.bump(); // '='
        let value = self.rhs()?;
        Ok(Stmt {
            kind: StmtKind::TupleDecl { names, value },
            span: self.since(open),
        })
    }

    /// Index of the bracket closing the one at `open`, if it is closed.
    fn matching(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        for (i, t) in self.toks.iter().enumerate().skip(open) {
            match t.kind {
                Tok::LParen | Tok::LBracket => depth += 1,
                Tok::RParen | Tok::RBracket => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(i);
                    }
                }
                Tok::Eof | Tok::Error | Tok::Newline => return None,
                _ => {}
            }
        }
        None
    }

    /// At `name (`: is this `name(params) =>`?
    fn is_funcdef(&self) -> bool {
        self.matching(self.pos + 1)
            .is_some_and(|close| self.tok_at(close + 1).kind == Tok::Arrow)
    }

    /// `name(params) => expr` or `name(params) =>` and an indented block.
    fn funcdef(&mut self, top: bool) -> PResult<Stmt> {
        let span = self.span();
        let name = self.text(span);
        if !top {
            return self.fail(
                span,
                "functions can only be defined at the top level of the script",
            );
        }
        if name.contains('.') {
            return self.fail(
                span,
                format!("'{name}' cannot be a function name: names cannot contain '.'"),
            );
        }
        self.bump();
        let open = self.bump().span; // '('
        let mut params: Vec<Param> = Vec::new();
        if !self.at(&Tok::RParen) {
            loop {
                let ty = self.type_ann()?;
                let pname = self.var_name("a parameter name")?;
                if params.iter().any(|p| p.name.name == pname.name) {
                    return self.fail(pname.span, format!("duplicate parameter '{}'", pname.name));
                }
                let default = if self.eat(&Tok::Assign) {
                    Some(self.expr()?)
                } else {
                    None
                };
                params.push(Param {
                    name: pname,
                    ty,
                    default,
                });
                match self.peek() {
                    Tok::Comma => {
                        self.bump();
                    }
                    Tok::RParen => break,
                    _ => return self.unclosed(open, ')'),
                }
            }
        }
        self.bump(); // ')'
        self.bump(); // '=>'
        let body = if self.at(&Tok::Newline) {
            self.block("'=>'")?
        } else {
            self.expr_block()?
        };
        Ok(Stmt {
            kind: StmtKind::FuncDef {
                name: Ident {
                    name: name.to_string(),
                    span,
                },
                params,
                body,
            },
            span: self.since(span),
        })
    }

    /// A one-line body: one expression statement.
    fn expr_block(&mut self) -> PResult<Block> {
        let e = self.rhs()?;
        let span = e.span;
        Ok(Block {
            stmts: vec![Stmt {
                kind: StmtKind::Expr(e),
                span,
            }],
            span,
        })
    }

    /// End of the header line, then an indented block of statements.
    fn block(&mut self, after: &str) -> PResult<Block> {
        match self.peek() {
            Tok::Newline => {
                self.bump();
            }
            Tok::Assign => {
                return self.fail(self.span(), "unexpected '=': use '==' to compare");
            }
            _ => return self.expected(&format!("end of line after {after}")),
        }
        if !self.at(&Tok::Indent) {
            return self.expected(&format!("an indented block after {after}"));
        }
        let indent = self.bump().span;
        self.enter()?;
        let mut stmts: Vec<Stmt> = Vec::new();
        while !self.eat(&Tok::Dedent) {
            stmts.push(self.stmt(false)?);
            self.end_stmt()?;
        }
        self.leave();
        let span = match (stmts.first(), stmts.last()) {
            (Some(a), Some(b)) => a.span.to(b.span),
            _ => indent,
        };
        Ok(Block { stmts, span })
    }

    // ---- expressions ----

    /// What may stand on the right of `=` / `:=` or alone as a statement: an
    /// expression, or `if` / `switch` / `for` / `while` with their blocks.
    fn rhs(&mut self) -> PResult<Expr> {
        match self.peek() {
            Tok::If => self.if_expr(),
            Tok::Switch => self.switch_expr(),
            Tok::For => self.for_expr(),
            Tok::While => self.while_expr(),
            _ => self.expr(),
        }
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let e = self.ternary()?;
        self.leave();
        Ok(e)
    }

    /// `cond ? a : b`, right-associative.
    fn ternary(&mut self) -> PResult<Expr> {
        let cond = self.binary(1)?;
        if !self.eat(&Tok::Question) {
            return Ok(cond);
        }
        let then = self.expr()?;
        if !self.eat(&Tok::Colon) {
            return self.expected("':' in the '?:' expression");
        }
        let otherwise = self.expr()?;
        let span = cond.span.to(otherwise.span);
        Ok(self.mk(
            ExprKind::Ternary {
                cond: Box::new(cond),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
            },
            span,
        ))
    }

    /// Binary operators by precedence climbing, all left-associative.
    fn binary(&mut self, min_prec: u8) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        while let Some((op, prec)) = bin_op(self.peek()) {
            if prec < min_prec {
                break;
            }
            self.bump();
            let rhs = self.binary(prec + 1)?;
            let span = lhs.span.to(rhs.span);
            lhs = self.mk(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            );
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> PResult<Expr> {
        let op = match self.peek() {
            Tok::Minus => UnOp::Neg,
            Tok::Plus => UnOp::Plus,
            Tok::Not => UnOp::Not,
            _ => return self.postfix(),
        };
        let start = self.bump().span;
        self.enter()?;
        let operand = self.unary()?;
        self.leave();
        let span = start.to(operand.span);
        Ok(self.mk(
            ExprKind::Unary {
                op,
                expr: Box::new(operand),
            },
            span,
        ))
    }

    /// A primary followed by any number of history references `[n]`.
    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        loop {
            match self.peek() {
                Tok::LBracket => {
                    let open = self.bump().span;
                    let offset = self.expr()?;
                    if !self.eat(&Tok::RBracket) {
                        return self.unclosed(open, ']');
                    }
                    let span = self.since(e.span);
                    e = self.mk(
                        ExprKind::Index {
                            base: Box::new(e),
                            offset: Box::new(offset),
                        },
                        span,
                    );
                }
                Tok::LParen => {
                    return self.fail(self.span(), "only a function name can be called");
                }
                _ => return Ok(e),
            }
        }
    }

    fn primary(&mut self) -> PResult<Expr> {
        let span = self.span();
        let kind = match self.peek() {
            Tok::Int(v) => ExprKind::Int(*v),
            Tok::Float(v) => ExprKind::Float(*v),
            Tok::Str(s) => ExprKind::Str(s.clone()),
            Tok::Color(c) => ExprKind::Color(*c),
            Tok::True => ExprKind::Bool(true),
            Tok::False => ExprKind::Bool(false),
            Tok::Na if self.peek_n(1) != &Tok::LParen => ExprKind::Na,
            Tok::Ident | Tok::Na => {
                if self.peek_n(1) == &Tok::Lt {
                    self.generics_check()?;
                }
                if self.peek_n(1) == &Tok::LParen {
                    return self.call();
                }
                ExprKind::Name(self.text(span).to_string())
            }
            t if is_type_word(t) => {
                if self.peek_n(1) == &Tok::LParen {
                    return self.call();
                }
                let word = self.text(span);
                return self.fail(
                    span,
                    format!(
                        "unexpected '{word}': a type can only start a declaration, as in \
                         'float x = 1.0'"
                    ),
                );
            }
            Tok::LParen => {
                self.bump();
                let mut e = self.expr()?;
                if !self.eat(&Tok::RParen) {
                    return self.unclosed(span, ')');
                }
                e.span = self.since(span);
                return Ok(e);
            }
            Tok::LBracket => return self.tuple(),
            Tok::If | Tok::Switch | Tok::For | Tok::While => {
                let word = self.text(span);
                return self.fail(
                    span,
                    format!(
                        "'{word}' must start a statement or be the whole right side of \
                         '=' or ':='"
                    ),
                );
            }
            Tok::Import | Tok::Export | Tok::Type | Tok::Method | Tok::Enum => {
                return self.unsupported()
            }
            Tok::Arrow => return self.fail(span, ARROW),
            Tok::Else => return self.fail(span, "'else' without a matching 'if'"),
            Tok::Indent => return self.fail(span, "unexpected indentation"),
            _ => return self.expected("an expression"),
        };
        self.bump();
        Ok(self.mk(kind, span))
    }

    /// At `name <`: rejects generic types (`array<float>`, `array.new<int>(...)`).
    fn generics_check(&self) -> PResult<()> {
        let span = self.span();
        let name = self.text(span);
        let root = name.split('.').next().unwrap_or("");
        let generic = matches!(root, "array" | "map" | "matrix")
            || (is_base_type(self.peek_n(2)) && matches!(self.peek_n(3), Tok::Gt | Tok::Comma));
        if generic {
            return self.fail(
                span,
                format!(
                    "generic types like '{name}<...>' are not supported (arrays, maps and \
                     matrices are not part of pinewire's Pine subset)"
                ),
            );
        }
        Ok(())
    }

    /// `callee(args)`; the callee is a name or a type word (`int(x)`, `input(...)`).
    fn call(&mut self) -> PResult<Expr> {
        let name_span = self.bump().span;
        let callee = Ident {
            name: self.text(name_span).to_string(),
            span: name_span,
        };
        let open = self.bump().span; // '('
        let mut args = Vec::new();
        let mut named_at: Option<Span> = None;
        if !self.at(&Tok::RParen) {
            loop {
                let arg = if is_word(self.peek())
                    && self.peek_n(1) == &Tok::Assign
                    && !self.text(self.span()).contains('.')
                {
                    let n = self.bump().span;
                    self.bump(); // '='
                    named_at = Some(n);
                    Arg {
                        name: Some(Ident {
                            name: self.text(n).to_string(),
                            span: n,
                        }),
                        value: self.expr()?,
                    }
                } else {
                    if named_at.is_some() {
                        return self.fail(
                            self.span(),
                            "positional arguments must come before named arguments",
                        );
                    }
                    Arg {
                        name: None,
                        value: self.expr()?,
                    }
                };
                args.push(arg);
                match self.peek() {
                    Tok::Comma => {
                        self.bump();
                    }
                    Tok::RParen => break,
                    _ => return self.unclosed(open, ')'),
                }
            }
        }
        self.bump(); // ')'
        let span = self.since(name_span);
        Ok(self.mk(ExprKind::Call { callee, args }, span))
    }

    /// `[a, b, ...]`
    fn tuple(&mut self) -> PResult<Expr> {
        let open = self.bump().span;
        if self.at(&Tok::RBracket) {
            return self.fail(self.since(open), "empty tuple '[]'");
        }
        let mut items = Vec::new();
        loop {
            items.push(self.expr()?);
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RBracket => break,
                _ => return self.unclosed(open, ']'),
            }
        }
        self.bump();
        let span = self.since(open);
        Ok(self.mk(ExprKind::Tuple(items), span))
    }

    /// `if cond` block, `else if` chains (built without recursion), `else` block.
    fn if_expr(&mut self) -> PResult<Expr> {
        let depth_before = self.depth;
        let first = self.if_link()?;
        let mut links: Vec<(Span, Expr, Block)> = Vec::new();
        let mut otherwise = None;
        while self.eat(&Tok::Else) {
            if !self.at(&Tok::If) {
                otherwise = Some(self.block("'else'")?);
                break;
            }
            // Each `else if` nests one level deeper in the tree.
            self.enter()?;
            links.push(self.if_link()?);
        }
        self.depth = depth_before;
        let end = self.last_end;
        while let Some((kw, cond, then)) = links.pop() {
            let span = Span {
                start: kw.start,
                end,
            };
            let e = self.mk(
                ExprKind::If {
                    cond: Box::new(cond),
                    then,
                    otherwise: otherwise.take(),
                },
                span,
            );
            otherwise = Some(Block {
                stmts: vec![Stmt {
                    kind: StmtKind::Expr(e),
                    span,
                }],
                span,
            });
        }
        let (kw, cond, then) = first;
        Ok(self.mk(
            ExprKind::If {
                cond: Box::new(cond),
                then,
                otherwise,
            },
            Span {
                start: kw.start,
                end,
            },
        ))
    }

    /// `if cond` and its block.
    fn if_link(&mut self) -> PResult<(Span, Expr, Block)> {
        let kw = self.bump().span; // 'if'
        let cond = self.expr()?;
        let then = self.block("the 'if' condition")?;
        Ok((kw, cond, then))
    }

    /// `switch [value]` and indented arms `pattern => body`, default arm `=> body` last.
    fn switch_expr(&mut self) -> PResult<Expr> {
        let kw = self.bump().span;
        let scrutinee = if self.at(&Tok::Newline) {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        if !self.eat(&Tok::Newline) {
            return self.expected("end of line after the 'switch' value");
        }
        if !self.at(&Tok::Indent) {
            return self.expected("indented arms after 'switch'");
        }
        self.bump();
        self.enter()?;
        let mut arms = Vec::new();
        let mut has_default = false;
        while !self.eat(&Tok::Dedent) {
            if has_default {
                return self.fail(
                    self.span(),
                    "the default arm '=>' must be the last arm of a 'switch'",
                );
            }
            let pattern = if self.at(&Tok::Arrow) {
                has_default = true;
                None
            } else {
                Some(self.expr()?)
            };
            if !self.eat(&Tok::Arrow) {
                return self.expected("'=>' after the 'switch' arm's value");
            }
            let body = if self.at(&Tok::Newline) {
                self.block("'=>'")?
            } else {
                let s = self.stmt(false)?;
                Block {
                    span: s.span,
                    stmts: vec![s],
                }
            };
            self.end_stmt()?;
            arms.push(SwitchArm { pattern, body });
        }
        self.leave();
        let span = self.since(kw);
        Ok(self.mk(ExprKind::Switch { scrutinee, arms }, span))
    }

    /// `for i = from to to [by step]` and a block.
    fn for_expr(&mut self) -> PResult<Expr> {
        let kw = self.bump().span;
        if self.at(&Tok::LBracket) {
            return self.fail(self.span(), FOR_IN);
        }
        if !self.at(&Tok::Ident) {
            return self.expected("a loop variable after 'for'");
        }
        if self.peek_n(1) == &Tok::Ident && self.text(self.tok_at(self.pos + 1).span) == "in" {
            return self.fail(self.tok_at(self.pos + 1).span, FOR_IN);
        }
        let var = self.var_name("a loop variable after 'for'")?;
        if !self.eat(&Tok::Assign) {
            return self.expected("'=' after the loop variable");
        }
        let from = self.expr()?;
        if !self.eat(&Tok::To) {
            return self.expected("'to' in the 'for' loop");
        }
        let to = self.expr()?;
        let by = if self.eat(&Tok::By) {
            Some(Box::new(self.expr()?))
        } else {
            None
        };
        let body = self.block("the 'for' header")?;
        let span = self.since(kw);
        Ok(self.mk(
            ExprKind::For {
                var,
                from: Box::new(from),
                to: Box::new(to),
                by,
                body,
            },
            span,
        ))
    }

    /// `while cond` and a block.
    fn while_expr(&mut self) -> PResult<Expr> {
        let kw = self.bump().span;
        let cond = self.expr()?;
        let body = self.block("the 'while' condition")?;
        let span = self.since(kw);
        Ok(self.mk(
            ExprKind::While {
                cond: Box::new(cond),
                body,
            },
            span,
        ))
    }
}

/// Words that can start a declaration's type (`float x`, `series int y`) or, followed
/// by `(`, name a built-in function (`int(x)`, `input(...)`).
fn is_type_word(t: &Tok) -> bool {
    is_base_type(t) || matches!(t, Tok::Const | Tok::Input | Tok::Simple | Tok::Series)
}

fn is_base_type(t: &Tok) -> bool {
    matches!(
        t,
        Tok::TyInt | Tok::TyFloat | Tok::TyBool | Tok::TyString | Tok::TyColor
    )
}

/// A name or keyword: anything that may name a named argument (`color=color.red`).
fn is_word(t: &Tok) -> bool {
    matches!(t, Tok::Ident) || (!t.is_layout() && !is_symbol(t) && !is_literal(t))
}

fn is_literal(t: &Tok) -> bool {
    matches!(t, Tok::Int(_) | Tok::Float(_) | Tok::Str(_) | Tok::Color(_))
}

fn is_symbol(t: &Tok) -> bool {
    matches!(
        t,
        Tok::LParen
            | Tok::RParen
            | Tok::LBracket
            | Tok::RBracket
            | Tok::Comma
            | Tok::Question
            | Tok::Colon
            | Tok::Plus
            | Tok::Minus
            | Tok::Star
            | Tok::Slash
            | Tok::Percent
            | Tok::EqEq
            | Tok::NotEq
            | Tok::Lt
            | Tok::Le
            | Tok::Gt
            | Tok::Ge
            | Tok::Assign
            | Tok::ColonAssign
            | Tok::PlusAssign
            | Tok::MinusAssign
            | Tok::StarAssign
            | Tok::SlashAssign
            | Tok::PercentAssign
            | Tok::Arrow
    )
}

fn assign_op(t: &Tok) -> Option<AssignOp> {
    Some(match t {
        Tok::ColonAssign => AssignOp::Reassign,
        Tok::PlusAssign => AssignOp::Add,
        Tok::MinusAssign => AssignOp::Sub,
        Tok::StarAssign => AssignOp::Mul,
        Tok::SlashAssign => AssignOp::Div,
        Tok::PercentAssign => AssignOp::Rem,
        _ => return None,
    })
}

/// Binary operator and its precedence (higher binds tighter).
fn bin_op(t: &Tok) -> Option<(BinOp, u8)> {
    Some(match t {
        Tok::Or => (BinOp::Or, 1),
        Tok::And => (BinOp::And, 2),
        Tok::EqEq => (BinOp::Eq, 3),
        Tok::NotEq => (BinOp::Ne, 3),
        Tok::Lt => (BinOp::Lt, 4),
        Tok::Le => (BinOp::Le, 4),
        Tok::Gt => (BinOp::Gt, 4),
        Tok::Ge => (BinOp::Ge, 4),
        Tok::Plus => (BinOp::Add, 5),
        Tok::Minus => (BinOp::Sub, 5),
        Tok::Star => (BinOp::Mul, 6),
        Tok::Slash => (BinOp::Div, 6),
        Tok::Percent => (BinOp::Rem, 6),
        _ => return None,
    })
}

/// A compact, one-statement-a-line rendering of the tree, for tests and debugging
/// (`pinewire check --dump` style): `(decl x (+ 1 (* 2 3)))`, blocks as `{a; b}`.
pub fn to_sexpr(script: &Script) -> String {
    let mut out = String::new();
    for (i, s) in script.stmts.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        sx_stmt(s, &mut out);
    }
    out
}

fn sx_type(t: &Option<TypeAnn>, out: &mut String) {
    let Some(t) = t else { return };
    if let Some(q) = t.qualifier {
        out.push_str(match q {
            Qualifier::Const => "const ",
            Qualifier::Input => "input ",
            Qualifier::Simple => "simple ",
            Qualifier::Series => "series ",
        });
    }
    out.push_str(match t.base {
        BaseType::Int => "int ",
        BaseType::Float => "float ",
        BaseType::Bool => "bool ",
        BaseType::String => "string ",
        BaseType::Color => "color ",
    });
}

fn sx_stmt(s: &Stmt, out: &mut String) {
    match &s.kind {
        StmtKind::VarDecl {
            mode,
            ty,
            name,
            value,
        } => {
            out.push_str(match mode {
                DeclMode::Plain => "(decl ",
                DeclMode::Var => "(var ",
                DeclMode::Varip => "(varip ",
            });
            sx_type(ty, out);
            out.push_str(&name.name);
            out.push(' ');
            sx_expr(value, out);
            out.push(')');
        }
        StmtKind::TupleDecl { names, value } => {
            out.push_str("(decl [");
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&n.name);
            }
            out.push_str("] ");
            sx_expr(value, out);
            out.push(')');
        }
        StmtKind::Assign { target, op, value } => {
            out.push('(');
            out.push_str(match op {
                AssignOp::Reassign => ":=",
                AssignOp::Add => "+=",
                AssignOp::Sub => "-=",
                AssignOp::Mul => "*=",
                AssignOp::Div => "/=",
                AssignOp::Rem => "%=",
            });
            out.push(' ');
            out.push_str(&target.name);
            out.push(' ');
            sx_expr(value, out);
            out.push(')');
        }
        StmtKind::FuncDef { name, params, body } => {
            out.push_str("(fn ");
            out.push_str(&name.name);
            out.push_str(" (");
            for (i, p) in params.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                sx_type(&p.ty, out);
                out.push_str(&p.name.name);
                if let Some(d) = &p.default {
                    out.push('=');
                    sx_expr(d, out);
                }
            }
            out.push_str(") ");
            sx_block(body, out);
            out.push(')');
        }
        StmtKind::Break => out.push_str("break"),
        StmtKind::Continue => out.push_str("continue"),
        StmtKind::Expr(e) => sx_expr(e, out),
    }
}

fn sx_block(b: &Block, out: &mut String) {
    out.push('{');
    for (i, s) in b.stmts.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        sx_stmt(s, out);
    }
    out.push('}');
}

fn sx_expr(e: &Expr, out: &mut String) {
    match &e.kind {
        ExprKind::Int(v) => out.push_str(&v.to_string()),
        ExprKind::Float(v) => out.push_str(&format!("{v:?}")),
        ExprKind::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
        ExprKind::Str(s) => out.push_str(&format!("{s:?}")),
        ExprKind::Color(c) => out.push_str(&format!("#{c:08X}")),
        ExprKind::Na => out.push_str("na"),
        ExprKind::Name(n) => out.push_str(n),
        ExprKind::Call { callee, args } => {
            out.push_str("(call ");
            out.push_str(&callee.name);
            for a in args {
                out.push(' ');
                if let Some(n) = &a.name {
                    out.push_str(&n.name);
                    out.push('=');
                }
                sx_expr(&a.value, out);
            }
            out.push(')');
        }
        ExprKind::Index { base, offset } => {
            out.push_str("(index ");
            sx_expr(base, out);
            out.push(' ');
            sx_expr(offset, out);
            out.push(')');
        }
        ExprKind::Unary { op, expr } => {
            out.push_str(match op {
                UnOp::Neg => "(neg ",
                UnOp::Plus => "(pos ",
                UnOp::Not => "(not ",
            });
            sx_expr(expr, out);
            out.push(')');
        }
        ExprKind::Binary { op, lhs, rhs } => {
            out.push('(');
            out.push_str(op.symbol());
            out.push(' ');
            sx_expr(lhs, out);
            out.push(' ');
            sx_expr(rhs, out);
            out.push(')');
        }
        ExprKind::Ternary {
            cond,
            then,
            otherwise,
        } => {
            out.push_str("(? ");
            sx_expr(cond, out);
            out.push(' ');
            sx_expr(then, out);
            out.push(' ');
            sx_expr(otherwise, out);
            out.push(')');
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => {
            out.push_str("(if ");
            sx_expr(cond, out);
            out.push(' ');
            sx_block(then, out);
            if let Some(o) = otherwise {
                out.push_str(" else ");
                sx_block(o, out);
            }
            out.push(')');
        }
        ExprKind::Switch { scrutinee, arms } => {
            out.push_str("(switch");
            if let Some(s) = scrutinee {
                out.push(' ');
                sx_expr(s, out);
            }
            for arm in arms {
                match &arm.pattern {
                    Some(p) => {
                        out.push_str(" (case ");
                        sx_expr(p, out);
                        out.push(' ');
                    }
                    None => out.push_str(" (default "),
                }
                sx_block(&arm.body, out);
                out.push(')');
            }
            out.push(')');
        }
        ExprKind::For {
            var,
            from,
            to,
            by,
            body,
        } => {
            out.push_str("(for ");
            out.push_str(&var.name);
            out.push(' ');
            sx_expr(from, out);
            out.push(' ');
            sx_expr(to, out);
            if let Some(b) = by {
                out.push_str(" by ");
                sx_expr(b, out);
            }
            out.push(' ');
            sx_block(body, out);
            out.push(')');
        }
        ExprKind::While { cond, body } => {
            out.push_str("(while ");
            sx_expr(cond, out);
            out.push(' ');
            sx_block(body, out);
            out.push(')');
        }
        ExprKind::Tuple(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                sx_expr(it, out);
            }
            out.push(']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CRYPTO_MEAN_REVERSION: &str = r#"// The production strategy example from the system's design document (section "Configuration").
//@version=5
strategy("Crypto Mean Reversion", overlay=true,
         initial_capital=10000, commission_type=strategy.commission.percent,
         commission_value=0.1)

// inputs
bb_length = input.int(20, "Bollinger Bands Length", minval=1)
bb_mult = input.float(2.0, "BB StdDev Multiplier", step=0.1)
rsi_period = input.int(14, "RSI Period", minval=1)
rsi_overbought = input.int(70, "RSI Overbought", minval=50, maxval=100)
rsi_oversold = input.int(30, "RSI Oversold", minval=0, maxval=50)

// indicators
[bb_middle, bb_upper, bb_lower] = ta.bb(close, bb_length, bb_mult)
rsi = ta.rsi(close, rsi_period)

// entry and exit conditions
long_condition = close < bb_lower and rsi < rsi_oversold
short_condition = close > bb_upper and rsi > rsi_overbought

// orders
if long_condition
    strategy.entry("Long", strategy.long)

if short_condition
    strategy.close("Long")

// plots
plot(bb_middle, color=color.blue)
plot(bb_upper, color=color.red)
plot(bb_lower, color=color.green)
"#;

    const MEAN_REVERSION: &str = r#"// Example strategy from the system's design document (section "Strategy Engine").
//@version=5
strategy("Mean Reversion", overlay=true)

// parameters
length = input(20, "MA Length")
std_dev = input(2.0, "Std Dev")

// indicators
basis = ta.sma(close, length)
upper = basis + std_dev * ta.stdev(close, length)
lower = basis - std_dev * ta.stdev(close, length)

// trading logic
if close < lower
    strategy.entry("Long", strategy.long)
if close > upper
    strategy.close("Long")
"#;

    const RSI_LEVELS: &str = r#"// The "core syntax" example from the system's design document, with the header it needs to run.
//@version=5
strategy("RSI levels", overlay=true)

// variable declarations
length = input(20, "Period")
price = close

// indicators
ma = ta.sma(close, length)
rsi_val = ta.rsi(close, 14)

// conditions
if rsi_val < 30
    strategy.entry("Long", strategy.long)
else if rsi_val > 70
    strategy.close("Long")
"#;

    fn parse_str(src: &str) -> Result<Script, String> {
        let file = SourceFile::new("t.pine", src);
        parse(&file).map_err(|e| e.short(&file))
    }

    /// Every expression id in the tree, in no particular order.
    fn ids(script: &Script) -> Vec<u32> {
        fn block(b: &Block, out: &mut Vec<u32>) {
            for s in &b.stmts {
                stmt(s, out);
            }
        }
        fn stmt(s: &Stmt, out: &mut Vec<u32>) {
            match &s.kind {
                StmtKind::VarDecl { value, .. }
                | StmtKind::TupleDecl { value, .. }
                | StmtKind::Assign { value, .. }
                | StmtKind::Expr(value) => expr(value, out),
                StmtKind::FuncDef { params, body, .. } => {
                    for p in params {
                        if let Some(d) = &p.default {
                            expr(d, out);
                        }
                    }
                    block(body, out);
                }
                StmtKind::Break | StmtKind::Continue => {}
            }
        }
        fn expr(e: &Expr, out: &mut Vec<u32>) {
            out.push(e.id);
            match &e.kind {
                ExprKind::Call { args, .. } => args.iter().for_each(|a| expr(&a.value, out)),
                ExprKind::Index { base, offset } => {
                    expr(base, out);
                    expr(offset, out);
                }
                ExprKind::Unary { expr: x, .. } => expr(x, out),
                ExprKind::Binary { lhs, rhs, .. } => {
                    expr(lhs, out);
                    expr(rhs, out);
                }
                ExprKind::Ternary {
                    cond,
                    then,
                    otherwise,
                } => {
                    expr(cond, out);
                    expr(then, out);
                    expr(otherwise, out);
                }
                ExprKind::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    expr(cond, out);
                    block(then, out);
                    if let Some(o) = otherwise {
                        block(o, out);
                    }
                }
                ExprKind::Switch { scrutinee, arms } => {
                    if let Some(s) = scrutinee {
                        expr(s, out);
                    }
                    for a in arms {
                        if let Some(p) = &a.pattern {
                            expr(p, out);
                        }
                        block(&a.body, out);
                    }
                }
                ExprKind::For {
                    from, to, by, body, ..
                } => {
                    expr(from, out);
                    expr(to, out);
                    if let Some(b) = by {
                        expr(b, out);
                    }
                    block(body, out);
                }
                ExprKind::While { cond, body } => {
                    expr(cond, out);
                    block(body, out);
                }
                ExprKind::Tuple(items) => items.iter().for_each(|i| expr(i, out)),
                ExprKind::Int(_)
                | ExprKind::Float(_)
                | ExprKind::Bool(_)
                | ExprKind::Str(_)
                | ExprKind::Color(_)
                | ExprKind::Na
                | ExprKind::Name(_) => {}
            }
        }
        let mut out = Vec::new();
        for s in &script.stmts {
            stmt(s, &mut out);
        }
        out
    }

    /// Ids are exactly 0..node_count, each once.
    fn assert_dense_ids(script: &Script) {
        let mut got = ids(script);
        got.sort_unstable();
        let want: Vec<u32> = (0..script.node_count).collect();
        assert_eq!(got, want, "ids not dense and unique");
    }

    #[test]
    fn good_programs() {
        let cases: &[(&str, &str)] = &[
            // TC0: literals of every kind
            (
                "a = 1\nb = 1.5\nc = .5\nd = 1e-3\ne = true\nf = false\ng = na\nh = \"s\\n\"\ni = 's'\nj = #FF0000\nk = #00FF0080",
                "(decl a 1)\n(decl b 1.5)\n(decl c 0.5)\n(decl d 0.001)\n(decl e true)\n(decl f false)\n(decl g na)\n(decl h \"s\\n\")\n(decl i \"s\")\n(decl j #FF0000FF)\n(decl k #00FF0080)",
            ),
            // TC1: arithmetic precedence and left associativity
            ("x = 1 + 2 * 3 - 4 / 5 % 6", "(decl x (- (+ 1 (* 2 3)) (% (/ 4 5) 6)))"),
            // TC2: logical and comparison precedence
            (
                "x = a or b and c == d < e + 1",
                "(decl x (or a (and b (== c (< d (+ e 1))))))",
            ),
            // TC3: unary binds tighter than binary; not too
            (
                "x = -a * +b\ny = not a and not b == c",
                "(decl x (* (neg a) (pos b)))\n(decl y (and (not a) (== (not b) c)))",
            ),
            // TC4: ternary is lowest and right-associative
            (
                "x = a > b ? 1 : c ? 2 : 3",
                "(decl x (? (> a b) 1 (? c 2 3)))",
            ),
            // TC5: history on names, calls and parenthesised expressions
            (
                "x = close[1] + ta.sma(close, 5)[2] + (a + b)[1] + x[1][2]",
                "(decl x (+ (+ (+ (index close 1) (index (call ta.sma close 5) 2)) (index (+ a b) 1)) (index (index x 1) 2)))",
            ),
            // TC6: calls with named arguments, keyword-named ones, type-word callees
            (
                "plot(x, color=color.red, title=\"t\")\ny = na(x) ? int(z) : float(w)\nz = input(5)",
                "(call plot x color=color.red title=\"t\")\n(decl y (? (call na x) (call int z) (call float w)))\n(decl z (call input 5))",
            ),
            // TC7: declarations with var/varip, qualifiers and types
            (
                "var x = 0\nvarip int y = 1\nseries float z = close\nvar const string s = \"a\"\nbool b = true\ncolor c = color.red",
                "(var x 0)\n(varip int y 1)\n(decl series float z close)\n(var const string s \"a\")\n(decl bool b true)\n(decl color c color.red)",
            ),
            // TC8: tuple declaration and tuple value
            (
                "[a, b, _] = f()\nf() => [1, 2]",
                "(decl [a b _] (call f))\n(fn f () {[1 2]})",
            ),
            // TC9: reassignment operators
            (
                "x := 1\nx += 2\nx -= 3\nx *= 4\nx /= 5\nx %= 6",
                "(:= x 1)\n(+= x 2)\n(-= x 3)\n(*= x 4)\n(/= x 5)\n(%= x 6)",
            ),
            // TC10: one-line function with typed and default parameters
            (
                "f(a, float b, c = 2) => a + b * c",
                "(fn f (a float b c=2) {(+ a (* b c))})",
            ),
            // TC11: block function
            (
                "f(x) =>\n    y = x * 2\n    y + 1\nz = f(1)",
                "(fn f (x) {(decl y (* x 2)); (+ y 1)})\n(decl z (call f 1))",
            ),
            // TC12: if / else if / else
            (
                "if a\n    x := 1\nelse if b\n    x := 2\nelse\n    x := 3",
                "(if a {(:= x 1)} else {(if b {(:= x 2)} else {(:= x 3)})})",
            ),
            // TC13: if as the right side of a declaration
            (
                "x = if c\n    1\nelse\n    2\ny = x",
                "(decl x (if c {1} else {2}))\n(decl y x)",
            ),
            // TC14: nested blocks close together
            (
                "if a\n    if b\n        x := 1\n    y := 2\nz = 3",
                "(if a {(if b {(:= x 1)}); (:= y 2)})\n(decl z 3)",
            ),
            // TC15: switch with a scrutinee, one-line and block arms, default arm
            (
                "s = switch m\n    \"a\" => 1\n    \"b\" =>\n        t = 2\n        t * 2\n    => 0",
                "(decl s (switch m (case \"a\" {1}) (case \"b\" {(decl t 2); (* t 2)}) (default {0})))",
            ),
            // TC16: switch without a scrutinee, as a statement
            (
                "switch\n    a > b => x := 1\n    => x := 2",
                "(switch (case (> a b) {(:= x 1)}) (default {(:= x 2)}))",
            ),
            // TC17: for with and without by; break and continue
            (
                "for i = 0 to 10 by 2\n    if i == 4\n        continue\n    if i > 8\n        break\nfor j = n to 0\n    s += j",
                "(for i 0 10 by 2 {(if (== i 4) {continue}); (if (> i 8) {break})})\n(for j n 0 {(+= s j)})",
            ),
            // TC18: while, and a loop as a value
            (
                "while i < 3\n    i += 1\nn := for k = 1 to 3\n    k",
                "(while (< i 3) {(+= i 1)})\n(:= n (for k 1 3 {k}))",
            ),
            // TC19: continuation lines (not a multiple of 4) and brackets ignore layout
            (
                "x = a +\n  b\ny = f(1,\n2,\n          3)\nif x and\n  y\n    z := [1,\n 2]",
                "(decl x (+ a b))\n(decl y (call f 1 2 3))\n(if (and x y) {(:= z [1 2])})",
            ),
            // TC20: comments, blank lines, CRLF, tabs, no final newline
            (
                "// c\r\n\r\nif a // c\r\n\tx := 1\r\n\r\n\t// c\r\n\ty := 2",
                "(if a {(:= x 1); (:= y 2)})",
            ),
            // TC21: dotted names and strategy constants
            (
                "strategy.entry(\"L\", strategy.long, qty=strategy.equity / close)",
                "(call strategy.entry \"L\" strategy.long qty=(/ strategy.equity close))",
            ),
            // TC22: parenthesised expressions and nested calls
            (
                "x = (a + b) * (c - d)\ny = math.max(ta.sma(c, 3), nz(c[1], 0))",
                "(decl x (* (+ a b) (- c d)))\n(decl y (call math.max (call ta.sma c 3) (call nz (index c 1) 0)))",
            ),
            // TC23: library(...) is just a call, left to the checker
            ("library(\"x\")", "(call library \"x\")"),
            // TC24: a statement after a block-valued declaration inside a block
            (
                "if a\n    x = switch\n        b => 1\n        => 2\n    y = x\nz = 1",
                "(if a {(decl x (switch (case b {1}) (default {2}))); (decl y x)})\n(decl z 1)",
            ),
            // TC25: empty script and comment-only script
            ("", ""),
            ("// nothing here\n//@version=5\n", ""),
        ];
        for (i, (src, want)) in cases.iter().enumerate() {
            let script = parse_str(src).unwrap_or_else(|e| panic!("TC{i}: {e}"));
            assert_eq!(to_sexpr(&script), *want, "TC{i}: {src:?}");
            assert_dense_ids(&script);
        }
    }

    #[test]
    fn example_scripts_parse() {
        let cases: &[(&str, usize)] = &[
            // TC0: crypto_mean_reversion.pine (continuation lines in the header)
            (CRYPTO_MEAN_REVERSION, 15),
            // TC1: mean_reversion.pine
            (MEAN_REVERSION, 8),
            // TC2: rsi_levels.pine (else if)
            (RSI_LEVELS, 6),
        ];
        for (i, (src, stmts)) in cases.iter().enumerate() {
            let script = parse_str(src).unwrap_or_else(|e| panic!("TC{i}: {e}"));
            assert_eq!(script.version, Some(5), "TC{i}");
            assert_eq!(script.stmts.len(), *stmts, "TC{i}");
            assert_dense_ids(&script);
        }
        // The header's continuation lines fold into one call.
        let script = parse_str(CRYPTO_MEAN_REVERSION).unwrap_or_else(|e| panic!("{e}"));
        let first = to_sexpr(&script);
        assert_eq!(
            first.lines().next(),
            Some(
                "(call strategy \"Crypto Mean Reversion\" overlay=true initial_capital=10000 \
                 commission_type=strategy.commission.percent commission_value=0.1)"
            )
        );
        let rsi = to_sexpr(&parse_str(RSI_LEVELS).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(
            rsi.lines().last(),
            Some(
                "(if (< rsi_val 30) {(call strategy.entry \"Long\" strategy.long)} else \
                 {(if (> rsi_val 70) {(call strategy.close \"Long\")})})"
            )
        );
    }

    #[test]
    fn bad_programs() {
        let cases: &[(&str, &str)] = &[
            // TC0: import
            (
                "//@version=5\nimport user/lib/1 as l",
                "t.pine:2:1: 'import' is not supported: pinewire runs self-contained scripts (no libraries)",
            ),
            // TC1: export
            (
                "export f(x) => x",
                "t.pine:1:1: 'export' is not supported: pinewire runs self-contained scripts (no libraries)",
            ),
            // TC2: user-defined type
            (
                "type Point\n    float x",
                "t.pine:1:1: user-defined types ('type') are not supported",
            ),
            // TC3: method
            ("method m(int x) => x", "t.pine:1:1: methods ('method') are not supported"),
            // TC4: enum
            ("enum Side\n    buy", "t.pine:1:1: enums ('enum') are not supported"),
            // TC5: generic call
            (
                "a = array.new<float>(10)",
                "t.pine:1:5: generic types like 'array.new<...>' are not supported (arrays, maps and matrices are not part of pinewire's Pine subset)",
            ),
            // TC6: generic declaration type
            (
                "map<string, float> m = na",
                "t.pine:1:1: generic types like 'map<...>' are not supported (arrays, maps and matrices are not part of pinewire's Pine subset)",
            ),
            // TC7: for ... in
            (
                "for x in xs\n    y := x",
                "t.pine:1:7: 'for ... in' loops are not supported (arrays are not part of pinewire's Pine subset)",
            ),
            // TC8: for [i, x] in
            (
                "for [i, x] in xs\n    y := x",
                "t.pine:1:5: 'for ... in' loops are not supported (arrays are not part of pinewire's Pine subset)",
            ),
            // TC9: => outside a function or switch
            (
                "x => 1",
                "t.pine:1:3: '=>' is only valid after a function's parameters ('f(x) => x + 1') or in a 'switch' arm",
            ),
            // TC10: tabs mixed with spaces in one indent
            (
                "if a\n \tx := 1",
                "t.pine:2:1: indentation mixes tabs and spaces: use 4 spaces (or one tab) per level",
            ),
            // TC11: unterminated string
            ("s = \"abc\nt = 1", "t.pine:1:5: unterminated string"),
            // TC12: bad character, with a hint
            ("x = a && b", "t.pine:1:7: unexpected character '&' (Pine writes 'and')"),
            // TC13: unclosed parenthesis, reported at the next token
            (
                "x = 1\ny = f(1, 2\nz = 3",
                "t.pine:3:1: expected ')' to close '(' opened at 2:6",
            ),
            // TC14: unclosed parenthesis at end of file
            ("x = (1 + 2", "t.pine:1:11: expected ')' to close '(' opened at 1:5"),
            // TC15: unmatched closer
            ("x = 1)", "t.pine:1:6: unmatched ')'"),
            // TC16: missing => body
            (
                "f(x) =>\ny = 1",
                "t.pine:2:1: expected an indented block after '=>', found 'y'",
            ),
            // TC17: else without if
            ("else\n    x := 1", "t.pine:1:1: 'else' without a matching 'if'"),
            // TC18: assignment to a non-name
            ("x[1] := 2", "t.pine:1:1: the left side of ':=' must be a variable name"),
            // TC19: unexpected indentation
            ("x = 1\n    y = 2", "t.pine:2:5: unexpected indentation"),
            // TC20: missing block after if
            (
                "if c\nx := 1",
                "t.pine:2:1: expected an indented block after the 'if' condition, found 'x'",
            ),
            // TC21: dangling operator
            ("x = 1 +\ny = 2", "t.pine:1:8: expected an expression, found end of line"),
            // TC22: unknown escape
            (
                "s = \"a\\qb\"",
                "t.pine:1:7: unknown escape '\\q' in string (expected \\n, \\t, \\\\, \\\" or \\')",
            ),
            // TC23: bad color
            (
                "c = #12345",
                "t.pine:1:5: invalid color literal '#12345': expected #RRGGBB or #RRGGBBAA",
            ),
            // TC24: integer too large
            (
                "x = 99999999999999999999",
                "t.pine:1:5: integer literal '99999999999999999999' is too large",
            ),
            // TC25: default switch arm not last
            (
                "x = switch m\n    => 1\n    2 => 3",
                "t.pine:3:5: the default arm '=>' must be the last arm of a 'switch'",
            ),
            // TC26: tuple declaration with a non-name
            (
                "[a, 1] = f()",
                "t.pine:1:5: expected a variable name in the tuple declaration, found '1'",
            ),
            // TC27: ternary without ':'
            ("x = c ? 1", "t.pine:1:10: expected ':' in the '?:' expression, found end of line"),
            // TC28: positional after named argument
            (
                "plot(x, title=\"a\", 2)",
                "t.pine:1:20: positional arguments must come before named arguments",
            ),
            // TC29: version annotation after code
            (
                "x = 1\n//@version=5",
                "t.pine:2:1: '//@version' must come before the first line of code",
            ),
            // TC30: array type
            (
                "float[] xs = na",
                "t.pine:1:1: array types ('float[]') are not supported (arrays are not part of pinewire's Pine subset)",
            ),
            // TC31: unsupported built-in type
            (
                "var line l = na",
                "t.pine:1:5: type 'line' is not supported: pinewire's types are int, float, bool, string and color",
            ),
            // TC32: if inside an expression
            (
                "y = 1 + if c\n    2",
                "t.pine:1:9: 'if' must start a statement or be the whole right side of '=' or ':='",
            ),
            // TC33: first line indented
            ("  x = 1", "t.pine:1:3: unexpected indentation"),
            // TC34: dotted declaration
            ("a.b = 1", "t.pine:1:1: 'a.b' cannot be declared: names cannot contain '.'"),
            // TC35: function defined inside a block
            (
                "if a\n    f(x) => x",
                "t.pine:2:5: functions can only be defined at the top level of the script",
            ),
            // TC36: '=' where '==' was meant
            (
                "if a = 1\n    x := 1",
                "t.pine:1:6: unexpected '=': use '==' to compare",
            ),
            // TC37: jump of two indentation levels
            ("if a\n        x := 1", "t.pine:2:9: unexpected indentation"),
            // TC38: ':=' in a declaration
            (
                "var x := 1",
                "t.pine:1:7: a declaration uses '=' ('var x = 0'); ':=' changes an existing variable",
            ),
            // TC39: mismatched brackets
            ("x = f(1]", "t.pine:1:8: expected ')' to close '(' opened at 1:6"),
            // TC40: lexer error after a parser error: the earlier one wins
            ("x = = 1\ny = \"abc", "t.pine:1:5: expected an expression, found '='"),
            // TC41: parser error after a lexer error: the earlier one wins
            ("y = \"abc\nx = = 1", "t.pine:1:5: unterminated string"),
            // TC42: for without 'to'
            (
                "for i = 0 10\n    x := i",
                "t.pine:1:11: expected 'to' in the 'for' loop, found '10'",
            ),
            // TC43: calling something that is not a name
            ("x = (f)(1)", "t.pine:1:8: only a function name can be called"),
            // TC44: reserved word as a variable name
            (
                "var to = 1",
                "t.pine:1:5: 'to' is a reserved word and cannot be used as a name",
            ),
            // TC45: empty tuple
            ("x = []", "t.pine:1:5: empty tuple '[]'"),
            // TC46: duplicate parameter
            ("f(a, a) => a", "t.pine:1:6: duplicate parameter 'a'"),
            // TC47: tuple reassignment
            (
                "[a, b] := f()",
                "t.pine:1:8: a tuple can only be declared with '=', as in '[a, b] = f()'",
            ),
            // TC48: switch arm without =>
            (
                "switch x\n    1 2",
                "t.pine:2:7: expected '=>' after the 'switch' arm's value, found '2'",
            ),
            // TC49: type word in an expression
            (
                "x = float + 1",
                "t.pine:1:5: unexpected 'float': a type can only start a declaration, as in 'float x = 1.0'",
            ),
        ];
        for (i, (src, want)) in cases.iter().enumerate() {
            match parse_str(src) {
                Ok(s) => panic!("TC{i}: {src:?} parsed: {}", to_sexpr(&s)),
                Err(e) => assert_eq!(e, *want, "TC{i}: {src:?}"),
            }
        }
    }

    #[test]
    fn error_render_points_at_token() {
        let file = SourceFile::new("t.pine", "x = 1\ny = f(1, 2\nz = 3\n");
        let err = parse(&file).err().map(|e| e.render(&file));
        assert_eq!(
            err.as_deref(),
            Some(
                "t.pine:3:1: error: expected ')' to close '(' opened at 2:6\n  |\n3 | z = 3\n  | ^"
            )
        );
    }

    #[test]
    fn spans_cover_source() {
        let src = "x = ta.sma(close, 14)[1] + 2\nif x > 1\n    y := 2";
        let script = parse_str(src).unwrap_or_else(|e| panic!("{e}"));
        let text = |s: Span| &src[s.start as usize..s.end as usize];
        // TC0: a declaration covers its line; its value covers the expression
        assert_eq!(text(script.stmts[0].span), "x = ta.sma(close, 14)[1] + 2");
        match &script.stmts[0].kind {
            StmtKind::VarDecl { value, .. } => {
                assert_eq!(text(value.span), "ta.sma(close, 14)[1] + 2")
            }
            other => panic!("not a declaration: {other:?}"),
        }
        // TC1: an if covers its block
        assert_eq!(text(script.stmts[1].span), "if x > 1\n    y := 2");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let cases: &[String] = &[
            // TC0: parentheses
            format!("x = {}1{}", "(".repeat(10_000), ")".repeat(10_000)),
            // TC1: unary chain
            format!("x = {}1", "-".repeat(10_000)),
            // TC2: else-if chain
            format!(
                "if a\n    x := 1\n{}",
                "else if a\n    x := 1\n".repeat(500)
            ),
            // TC3: tuples and history
            format!("x = {}1{}", "[a[".repeat(5_000), "]]".repeat(5_000)),
            // TC4: ternary chain
            format!("x = {}1", "a ? 1 : ".repeat(10_000)),
        ];
        for (i, src) in cases.iter().enumerate() {
            let err = parse_str(src).err().unwrap_or_default();
            assert!(err.contains("nested too deeply"), "TC{i}: {err}");
        }
        // Just under the limit still parses.
        let depth = (MAX_NESTING - 2) as usize;
        let ok = format!("x = {}1{}", "(".repeat(depth), ")".repeat(depth));
        assert!(parse_str(&ok).is_ok());
        let chain = format!("if a\n    x := 1\n{}", "else if a\n    x := 1\n".repeat(90));
        assert!(parse_str(&chain).is_ok());
        // The deepest stack per level: every precedence level and a unary operator
        // (two nesting levels a repetition), on a test thread's 2 MiB stack.
        let reps = (MAX_NESTING / 2 - 1) as usize;
        let worst = format!(
            "x = {}1{}",
            "1 or 1 and 1 == 1 < 1 + 1 * -(".repeat(reps),
            ")".repeat(reps)
        );
        let script = parse_str(&worst).unwrap_or_else(|e| panic!("{e}"));
        assert!(to_sexpr(&script).starts_with("(decl x (or 1 (and 1 (== 1 (< 1 (+ 1 (* 1 (neg"));
    }

    /// Pine-ish fragments for the fuzz property.
    const FRAGMENTS: &[&str] = &[
        "x",
        "y",
        "ta.sma",
        "close",
        "strategy.entry",
        "f",
        "1",
        "2.5",
        ".5",
        "1e3",
        "\"s\"",
        "'t'",
        "#FF0000",
        "true",
        "na",
        "(",
        ")",
        "[",
        "]",
        ",",
        "+",
        "-",
        "*",
        "/",
        "%",
        "==",
        "!=",
        "<",
        ">=",
        "=",
        ":=",
        "+=",
        "=>",
        "?",
        ":",
        "and",
        "or",
        "not",
        "if",
        "else",
        "for",
        "to",
        "by",
        "in",
        "while",
        "switch",
        "var",
        "varip",
        "float",
        "int",
        "series",
        "input",
        "break",
        "continue",
        "import",
        "type",
        "//@version=5",
        "// c",
        "\n",
        "\n",
        "\n    ",
        "\n        ",
        "\n  ",
        "\n\t",
        "\r\n",
        " ",
        " ",
        "@",
        "\"",
        "&&",
    ];

    fn fragment_program() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                8 => prop::sample::select(FRAGMENTS).prop_map(str::to_string),
                1 => any::<u8>().prop_map(|b| char::from(b).to_string()),
                1 => any::<char>().prop_map(|c| c.to_string()),
            ],
            0..60,
        )
        .prop_map(|parts| parts.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn fragments_never_panic(src in fragment_program()) {
            if let Ok(script) = parse_str(&src) {
                assert_dense_ids(&script);
            }
        }

        #[test]
        fn random_text_never_panics(src in "\\PC{0,80}") {
            if let Ok(script) = parse_str(&src) {
                assert_dense_ids(&script);
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
            let src = String::from_utf8_lossy(&bytes);
            if let Ok(script) = parse_str(&src) {
                assert_dense_ids(&script);
            }
        }

        #[test]
        fn valid_lines_parse_with_dense_ids(
            lines in prop::collection::vec(
                prop::sample::select(&[
                    "x = a + b * c",
                    "if x > 1",
                    "    y := x[1]",
                    "else",
                    "    y := 0",
                    "plot(x, color=color.red)",
                    "[a, b] = f(1, k=2)",
                    "z = c ? 1 : 2",
                ][..]),
                0..20,
            )
        ) {
            // Whatever the order, the parser answers; when it accepts, ids are dense.
            let src = lines.join("\n");
            if let Ok(script) = parse_str(&src) {
                assert_dense_ids(&script);
            }
        }
    }
}
