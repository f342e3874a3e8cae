//! The Pine lexer: logos turns the text into raw tokens, then a layout pass turns line
//! structure into `Newline` / `Indent` / `Dedent` tokens so that the parser never looks
//! at whitespace.
//!
//! Layout follows TradingView's rules:
//!
//! * A block is indented 4 spaces (or one tab) deeper than the line that opens it.
//! * A line indented by a width that is not a multiple of 4 continues the previous line
//!   (`strategy("x",\n         initial_capital=1000)`).
//! * Inside `(...)` and `[...]` newlines and indentation mean nothing.
//! * Blank and comment-only lines are ignored; `\r\n` line ends and a last line without
//!   a newline are fine.
//!
//! Every logical line ends with a `Newline`; the first token of a deeper line is preceded
//! by one `Indent` per level, of a shallower line by one `Dedent` per level closed. A
//! `//@version=N` comment before the first line of code sets [`Lexed::version`].
//!
//! Lexing stops at the first error: the token list then ends with [`Tok::Error`] at the
//! error's position and [`Lexed::error`] says what is wrong. The parser reports whichever
//! error comes first in the source, its own or the lexer's.

use logos::Logos;

use super::span::{CompileError, Span};

/// Width of one indentation level, in spaces; a tab counts as one level.
pub const INDENT_WIDTH: u32 = 4;

/// Raw tokens as logos sees them; literal values and keywords are resolved by the
/// layout pass, which can report errors with positions.
#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq)]
#[logos(skip r"[ \t]+")]
enum Raw {
    #[regex(r"\r?\n")]
    Newline,
    #[regex(r"//[^\n]*")]
    Comment,
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")]
    Word,
    #[regex(r"[0-9]+")]
    Int,
    #[regex(r"[0-9]+\.[0-9]*([eE][+-]?[0-9]+)?")]
    #[regex(r"\.[0-9]+([eE][+-]?[0-9]+)?")]
    #[regex(r"[0-9]+[eE][+-]?[0-9]+")]
    Float,
    #[regex(r#""([^"\\\r\n]|\\[^\r\n])*""#)]
    #[regex(r#"'([^'\\\r\n]|\\[^\r\n])*'"#)]
    Str,
    #[regex(r#""([^"\\\r\n]|\\[^\r\n])*\\?"#)]
    #[regex(r#"'([^'\\\r\n]|\\[^\r\n])*\\?"#)]
    UnterminatedStr,
    #[regex(r"#[0-9A-Za-z_]*")]
    Color,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token("?")]
    Question,
    #[token(":")]
    Colon,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("=")]
    Assign,
    #[token(":=")]
    ColonAssign,
    #[token("+=")]
    PlusAssign,
    #[token("-=")]
    MinusAssign,
    #[token("*=")]
    StarAssign,
    #[token("/=")]
    SlashAssign,
    #[token("%=")]
    PercentAssign,
    #[token("=>")]
    Arrow,
}

/// A token the parser sees. Names and keywords carry no text: the parser reads it from
/// the source through the token's span.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Integer literal.
    Int(i64),
    /// Float literal.
    Float(f64),
    /// String literal, escapes resolved.
    Str(String),
    /// Color literal as 0xRRGGBBAA.
    Color(u32),
    /// A name, possibly dotted (`ta.sma`); its text is the span's text.
    Ident,
    /// `true`
    True,
    /// `false`
    False,
    /// `na`
    Na,
    /// `and`
    And,
    /// `or`
    Or,
    /// `not`
    Not,
    /// `if`
    If,
    /// `else`
    Else,
    /// `for`
    For,
    /// `to`
    To,
    /// `by`
    By,
    /// `while`
    While,
    /// `switch`
    Switch,
    /// `var`
    Var,
    /// `varip`
    Varip,
    /// `break`
    Break,
    /// `continue`
    Continue,
    /// `int`
    TyInt,
    /// `float`
    TyFloat,
    /// `bool`
    TyBool,
    /// `string`
    TyString,
    /// `color`
    TyColor,
    /// `const`
    Const,
    /// `input` (also a function name: `input(...)`)
    Input,
    /// `simple`
    Simple,
    /// `series`
    Series,
    /// `import` (reserved, unsupported)
    Import,
    /// `export` (reserved, unsupported)
    Export,
    /// `type` (reserved, unsupported)
    Type,
    /// `method` (reserved, unsupported)
    Method,
    /// `enum` (reserved, unsupported)
    Enum,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `?`
    Question,
    /// `:`
    Colon,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `==`
    EqEq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=`
    Assign,
    /// `:=`
    ColonAssign,
    /// `+=`
    PlusAssign,
    /// `-=`
    MinusAssign,
    /// `*=`
    StarAssign,
    /// `/=`
    SlashAssign,
    /// `%=`
    PercentAssign,
    /// `=>`
    Arrow,
    /// End of a logical line (zero-width, just after its last token).
    Newline,
    /// One level deeper than the enclosing block (zero-width, at the line's first token).
    Indent,
    /// One level closed (zero-width, at the first token of the shallower line).
    Dedent,
    /// End of input (zero-width, just after the last token).
    Eof,
    /// The lexer stopped here; [`Lexed::error`] says why. Always the last token.
    Error,
}

impl Tok {
    /// The keyword for a whole word, if it is one. Dotted names are never keywords, so
    /// `input.int` and `color.red` stay names.
    pub fn keyword(word: &str) -> Option<Tok> {
        Some(match word {
            "true" => Tok::True,
            "false" => Tok::False,
            "na" => Tok::Na,
            "and" => Tok::And,
            "or" => Tok::Or,
            "not" => Tok::Not,
            "if" => Tok::If,
            "else" => Tok::Else,
            "for" => Tok::For,
            "to" => Tok::To,
            "by" => Tok::By,
            "while" => Tok::While,
            "switch" => Tok::Switch,
            "var" => Tok::Var,
            "varip" => Tok::Varip,
            "break" => Tok::Break,
            "continue" => Tok::Continue,
            "int" => Tok::TyInt,
            "float" => Tok::TyFloat,
            "bool" => Tok::TyBool,
            "string" => Tok::TyString,
            "color" => Tok::TyColor,
            "const" => Tok::Const,
            "input" => Tok::Input,
            "simple" => Tok::Simple,
            "series" => Tok::Series,
            "import" => Tok::Import,
            "export" => Tok::Export,
            "type" => Tok::Type,
            "method" => Tok::Method,
            "enum" => Tok::Enum,
            _ => return None,
        })
    }

    /// True for tokens the layout pass makes (they have no text).
    pub fn is_layout(&self) -> bool {
        matches!(
            self,
            Tok::Newline | Tok::Indent | Tok::Dedent | Tok::Eof | Tok::Error
        )
    }
}

/// A token and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: Tok,
    /// Its bytes in the source (zero-width for layout tokens).
    pub span: Span,
}

/// The lexer's output: tokens (ending in [`Tok::Eof`], or [`Tok::Error`] when `error`
/// is set), the `//@version` annotation, and the first error, if any.
#[derive(Debug, Clone)]
pub struct Lexed {
    /// The token stream the parser reads.
    pub tokens: Vec<Token>,
    /// `N` of the `//@version=N` annotation before the code, if any.
    pub version: Option<u32>,
    /// The first lexical or layout error; the token stream stops there.
    pub error: Option<CompileError>,
}

/// Lexes a whole script. Never panics; bad input ends the token stream with
/// [`Tok::Error`] and sets [`Lexed::error`].
pub fn lex(src: &str) -> Lexed {
    let mut l = Layout {
        src,
        tokens: Vec::new(),
        indents: vec![0],
        parens: Vec::new(),
        version: None,
        prev_end: 0,
    };
    match l.run() {
        Ok(()) => Lexed {
            tokens: l.tokens,
            version: l.version,
            error: None,
        },
        Err(e) => {
            l.tokens.push(Token {
                kind: Tok::Error,
                span: e.span,
            });
            Lexed {
                tokens: l.tokens,
                version: l.version,
                error: Some(e),
            }
        }
    }
}

struct Layout<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    /// Open block widths; the bottom is the top level (0).
    indents: Vec<u32>,
    /// Open `(` / `[` with their spans; layout is off while any is open.
    parens: Vec<Span>,
    version: Option<u32>,
    /// End of the last real token, where `Newline` and `Eof` are placed.
    prev_end: usize,
}

impl Layout<'_> {
    fn run(&mut self) -> Result<(), CompileError> {
        let mut raw = Raw::lexer(self.src);
        let mut line_start = 0usize;
        let mut at_line_start = true;
        while let Some(res) = raw.next() {
            let r = raw.span();
            let span = Span::new(r.start, r.end);
            let kind = match res {
                Ok(k) => k,
                Err(()) => return Err(self.bad_char(r.start)),
            };
            match kind {
                Raw::Newline => {
                    at_line_start = true;
                    line_start = r.end;
                    continue;
                }
                Raw::Comment => {
                    self.annotation(&self.src[r.clone()], span)?;
                    continue;
                }
                _ => {}
            }
            if at_line_start {
                at_line_start = false;
                self.line_layout(line_start, r.start)?;
            }
            let tok = self.convert(kind, &self.src[r.clone()], span)?;
            if matches!(tok, Tok::LParen | Tok::LBracket) {
                self.parens.push(span);
            } else if matches!(tok, Tok::RParen | Tok::RBracket) && self.parens.pop().is_none() {
                return Err(CompileError::new(
                    span,
                    format!("unmatched '{}'", &self.src[r.clone()]),
                ));
            }
            self.tokens.push(Token { kind: tok, span });
            self.prev_end = r.end;
        }
        let end = Span::new(self.prev_end, self.prev_end);
        if !self.tokens.is_empty() {
            self.tokens.push(Token {
                kind: Tok::Newline,
                span: end,
            });
        }
        while self.indents.len() > 1 {
            self.indents.pop();
            self.tokens.push(Token {
                kind: Tok::Dedent,
                span: end,
            });
        }
        self.tokens.push(Token {
            kind: Tok::Eof,
            span: end,
        });
        Ok(())
    }

    /// Emits the layout tokens for a line whose first token starts at `tok_start`.
    fn line_layout(&mut self, line_start: usize, tok_start: usize) -> Result<(), CompileError> {
        if !self.parens.is_empty() {
            return Ok(());
        }
        let indent = &self.src[line_start..tok_start];
        let indent_span = Span::new(line_start, tok_start);
        let tabs = indent.bytes().filter(|&b| b == b'\t').count() as u32;
        let spaces = indent.bytes().filter(|&b| b == b' ').count() as u32;
        if tabs > 0 && spaces > 0 {
            return Err(CompileError::new(
                indent_span,
                "indentation mixes tabs and spaces: use 4 spaces (or one tab) per level",
            ));
        }
        let width = spaces + tabs * INDENT_WIDTH;
        let at = Span::new(tok_start, tok_start);
        if self.tokens.is_empty() {
            if width != 0 {
                return Err(CompileError::new(at, "unexpected indentation"));
            }
            return Ok(());
        }
        if width % INDENT_WIDTH != 0 {
            // A continuation of the previous line.
            return Ok(());
        }
        self.tokens.push(Token {
            kind: Tok::Newline,
            span: Span::new(self.prev_end, self.prev_end),
        });
        let mut top = self.indents.last().copied().unwrap_or(0);
        while width > top {
            top += INDENT_WIDTH;
            self.indents.push(top);
            self.tokens.push(Token {
                kind: Tok::Indent,
                span: at,
            });
        }
        while width < top && self.indents.len() > 1 {
            self.indents.pop();
            top = self.indents.last().copied().unwrap_or(0);
            self.tokens.push(Token {
                kind: Tok::Dedent,
                span: at,
            });
        }
        Ok(())
    }

    /// Handles `//@version=N`; every other comment is ignored.
    fn annotation(&mut self, text: &str, span: Span) -> Result<(), CompileError> {
        let Some(rest) = text.strip_prefix("//@version") else {
            return Ok(());
        };
        if !self.tokens.is_empty() {
            return Err(CompileError::new(
                span,
                "'//@version' must come before the first line of code",
            ));
        }
        if self.version.is_some() {
            return Err(CompileError::new(span, "duplicate '//@version' annotation"));
        }
        let number = rest
            .trim()
            .strip_prefix('=')
            .map(str::trim)
            .and_then(|n| n.parse::<u32>().ok());
        match number {
            Some(n) => {
                self.version = Some(n);
                Ok(())
            }
            None => Err(CompileError::new(
                span,
                "expected a version number, as in '//@version=5'",
            )),
        }
    }

    fn convert(&self, kind: Raw, text: &str, span: Span) -> Result<Tok, CompileError> {
        Ok(match kind {
            Raw::Word => Tok::keyword(text).unwrap_or(Tok::Ident),
            Raw::Int => match text.parse::<i64>() {
                Ok(v) => Tok::Int(v),
                Err(_) => {
                    return Err(CompileError::new(
                        span,
                        format!("integer literal '{text}' is too large"),
                    ))
                }
            },
            Raw::Float => match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Tok::Float(v),
                _ => {
                    return Err(CompileError::new(
                        span,
                        format!("float literal '{text}' is out of range"),
                    ))
                }
            },
            Raw::Str => Tok::Str(unescape(text, span)?),
            Raw::UnterminatedStr => {
                return Err(CompileError::new(span, "unterminated string"));
            }
            Raw::Color => Tok::Color(color(text, span)?),
            Raw::LParen => Tok::LParen,
            Raw::RParen => Tok::RParen,
            Raw::LBracket => Tok::LBracket,
            Raw::RBracket => Tok::RBracket,
            Raw::Comma => Tok::Comma,
            Raw::Question => Tok::Question,
            Raw::Colon => Tok::Colon,
            Raw::Plus => Tok::Plus,
            Raw::Minus => Tok::Minus,
            Raw::Star => Tok::Star,
            Raw::Slash => Tok::Slash,
            Raw::Percent => Tok::Percent,
            Raw::EqEq => Tok::EqEq,
            Raw::NotEq => Tok::NotEq,
            Raw::Lt => Tok::Lt,
            Raw::Le => Tok::Le,
            Raw::Gt => Tok::Gt,
            Raw::Ge => Tok::Ge,
            Raw::Assign => Tok::Assign,
            Raw::ColonAssign => Tok::ColonAssign,
            Raw::PlusAssign => Tok::PlusAssign,
            Raw::MinusAssign => Tok::MinusAssign,
            Raw::StarAssign => Tok::StarAssign,
            Raw::SlashAssign => Tok::SlashAssign,
            Raw::PercentAssign => Tok::PercentAssign,
            Raw::Arrow => Tok::Arrow,
            // Handled by `run` before conversion.
            Raw::Newline | Raw::Comment => {
                return Err(CompileError::new(span, "internal lexer error"));
            }
        })
    }

    #[cold]
    fn bad_char(&self, at: usize) -> CompileError {
        let c = self.src[at..].chars().next().unwrap_or('\0');
        let span = Span::new(at, at + c.len_utf8());
        let hint = match c {
            '&' => " (Pine writes 'and')",
            '|' => " (Pine writes 'or')",
            '!' => " (Pine writes 'not', or '!=')",
            '.' => " (a '.' must join two names, as in 'ta.sma')",
            _ => "",
        };
        CompileError::new(
            span,
            format!("unexpected character '{}'{hint}", c.escape_debug()),
        )
    }
}

/// Resolves the escapes of a quoted string literal (quotes included in `text`).
fn unescape(text: &str, span: Span) -> Result<String, CompileError> {
    let inner = &text[1..text.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else {
            return Err(CompileError::new(span, "unterminated string"));
        };
        out.push(match e {
            'n' => '\n',
            't' => '\t',
            '\\' => '\\',
            '"' => '"',
            '\'' => '\'',
            other => {
                let at = span.start as usize + 1 + i;
                return Err(CompileError::new(
                    Span::new(at, at + 1 + other.len_utf8()),
                    format!(
                        "unknown escape '\\{}' in string (expected \\n, \\t, \\\\, \\\" or \\')",
                        other.escape_debug()
                    ),
                ));
            }
        });
    }
    Ok(out)
}

/// `#RRGGBB` (opaque) or `#RRGGBBAA` as 0xRRGGBBAA.
fn color(text: &str, span: Span) -> Result<u32, CompileError> {
    let hex = &text[1..];
    let ok = (hex.len() == 6 || hex.len() == 8) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    let value = if ok {
        u32::from_str_radix(hex, 16).ok()
    } else {
        None
    };
    match value {
        Some(v) if hex.len() == 6 => Ok((v << 8) | 0xFF),
        Some(v) => Ok(v),
        None => Err(CompileError::new(
            span,
            format!("invalid color literal '{text}': expected #RRGGBB or #RRGGBBAA"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compact view of a token stream: layout tokens as `NL`, `IN`, `DE`, `EOF`, `ERR`,
    /// others as their source text.
    fn show(src: &str) -> String {
        let lexed = lex(src);
        lexed
            .tokens
            .iter()
            .map(|t| match &t.kind {
                Tok::Newline => "NL".to_string(),
                Tok::Indent => "IN".to_string(),
                Tok::Dedent => "DE".to_string(),
                Tok::Eof => "EOF".to_string(),
                Tok::Error => "ERR".to_string(),
                _ => src[t.span.start as usize..t.span.end as usize].to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn layout_tokens() {
        let cases: &[(&str, &str)] = &[
            // TC0: empty and comment-only input
            ("", "EOF"),
            ("// nothing\n\n   // still nothing\n", "EOF"),
            // TC1: one line without trailing newline
            ("x = 1", "x = 1 NL EOF"),
            // TC2: a block, dedent at end of file
            ("if a\n    b\n", "if a NL IN b NL DE EOF"),
            // TC3: nested blocks closed at once
            (
                "if a\n    if b\n        c\nd",
                "if a NL IN if b NL IN c NL DE DE d NL EOF",
            ),
            // TC4: continuation line (not a multiple of 4)
            (
                "f(a,\n  b)\nx = 1 +\n  2",
                "f ( a , b ) NL x = 1 + 2 NL EOF",
            ),
            // TC5: newlines inside brackets are ignored, whatever the indentation
            ("x = [1,\n2,\n        3]\n", "x = [ 1 , 2 , 3 ] NL EOF"),
            // TC6: blank and comment lines inside a block; CRLF
            (
                "if a\r\n\r\n    // c\r\n    b // d\r\n  \r\nc\r\n",
                "if a NL IN b NL DE c NL EOF",
            ),
            // TC7: tabs count as one level
            (
                "if a\n\tb\n\tif c\n\t\td",
                "if a NL IN b NL if c NL IN d NL DE DE EOF",
            ),
            // TC8: a jump of two levels gives two indents
            ("if a\n        b", "if a NL IN IN b NL DE DE EOF"),
            // TC9: dotted names are one token, keywords inside them are not keywords
            (
                "input.int color.red strategy.commission.percent",
                "input.int color.red strategy.commission.percent NL EOF",
            ),
            // TC10: operators, longest match
            (
                "a:=b+=c-=d*=e/=f%=g==h!=i<=j>=k=>l<m>n",
                "a := b += c -= d *= e /= f %= g == h != i <= j >= k => l < m > n NL EOF",
            ),
            // TC11: errors stop the stream
            ("x = 1 @ 2", "x = 1 ERR"),
        ];
        for (i, (src, want)) in cases.iter().enumerate() {
            assert_eq!(show(src), *want, "TC{i}: {src:?}");
        }
    }

    #[test]
    fn literals() {
        let one = |src: &str| -> Tok {
            let l = lex(src);
            assert!(l.error.is_none(), "{src:?}: {:?}", l.error);
            l.tokens[0].kind.clone()
        };
        let cases: &[(&str, Tok)] = &[
            // TC0: ints
            ("0", Tok::Int(0)),
            ("42", Tok::Int(42)),
            // TC1: floats in every spelling
            ("1.", Tok::Float(1.0)),
            (".5", Tok::Float(0.5)),
            ("1e-3", Tok::Float(0.001)),
            ("1.5E+2", Tok::Float(150.0)),
            ("2.25", Tok::Float(2.25)),
            // TC2: strings with escapes, both quotes
            (r#""a\nb""#, Tok::Str("a\nb".into())),
            (r#"'it\'s'"#, Tok::Str("it's".into())),
            (r#""q\"\\\t""#, Tok::Str("q\"\\\t".into())),
            (r#""say 'hi'""#, Tok::Str("say 'hi'".into())),
            // TC3: colors
            ("#FF0000", Tok::Color(0xFF0000FF)),
            ("#00ff0080", Tok::Color(0x00FF0080)),
            // TC4: keywords
            ("na", Tok::Na),
            ("input", Tok::Input),
            ("varip", Tok::Varip),
        ];
        for (i, (src, want)) in cases.iter().enumerate() {
            assert_eq!(one(src), *want, "TC{i}: {src:?}");
        }
    }

    #[test]
    fn version_annotation() {
        // TC0: first line
        assert_eq!(lex("//@version=5\nx = 1").version, Some(5));
        // TC1: after other comments, with spaces
        assert_eq!(lex("// hi\n//@version = 4 \nx = 1").version, Some(4));
        // TC2: other annotations are comments
        assert_eq!(lex("//@description x\nx = 1").version, None);
        // TC3: after code is an error
        let l = lex("x = 1\n//@version=5\n");
        assert_eq!(
            l.error.map(|e| e.message),
            Some("'//@version' must come before the first line of code".to_string())
        );
    }
}
