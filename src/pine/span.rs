//! Source positions and the compile-error format every stage of the compiler uses.
//!
//! Errors carry a byte [`Span`]; rendering turns it into `file:line:col` and a caret
//! line under the source, the way rustc and TradingView's editor point at a mistake.

use std::fmt;

/// A half-open byte range `[start, end)` into the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from byte offsets.
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span that covers both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// A named source text with a line index, so that spans can be shown as line:col.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown in errors (usually the path as the user typed it).
    pub name: String,
    /// The whole source text.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Indexes the line starts of `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and 1-based column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let offset = (offset as usize).min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self.text[start..floor_char_boundary(&self.text, offset)]
            .chars()
            .count();
        (line + 1, col + 1)
    }

    /// The text of a 1-based line, without its line terminator.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// An error in a Pine script: what is wrong and where.
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError {
    /// What is wrong, in the user's terms (and, where it helps, what to do).
    pub message: String,
    /// Where in the source.
    pub span: Span,
}

impl CompileError {
    /// An error at `span`.
    pub fn new(span: Span, message: impl Into<String>) -> CompileError {
        CompileError {
            message: message.into(),
            span,
        }
    }

    /// `file:line:col: error: message`, the source line and a caret under the span.
    pub fn render(&self, file: &SourceFile) -> String {
        let (line, col) = file.line_col(self.span.start);
        let text = file.line_text(line);
        let (end_line, end_col) = file.line_col(self.span.end.max(self.span.start + 1) - 1);
        let width = if end_line == line {
            (end_col + 1).saturating_sub(col).max(1)
        } else {
            text.chars().count().saturating_sub(col - 1).max(1)
        };
        let gutter = line.to_string().len();
        format!(
            "{}:{}:{}: error: {}\n{:gutter$} |\n{} | {}\n{:gutter$} | {}{}",
            file.name,
            line,
            col,
            self.message,
            "",
            line,
            text,
            "",
            " ".repeat(col - 1),
            "^".repeat(width),
            gutter = gutter
        )
    }

    /// `file:line:col: error: message` on one line (for tests and logs).
    pub fn short(&self, file: &SourceFile) -> String {
        let (line, col) = file.line_col(self.span.start);
        format!("{}:{}:{}: {}", file.name, line, col, self.message)
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CompileError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_and_render() {
        let f = SourceFile::new("s.pine", "a = 1\nb = foo(2)\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(6), (2, 1));
        assert_eq!(f.line_col(10), (2, 5));
        let e = CompileError::new(Span::new(10, 13), "unknown function 'foo'");
        assert_eq!(
            e.render(&f),
            "s.pine:2:5: error: unknown function 'foo'\n  |\n2 | b = foo(2)\n  |     ^^^"
        );
        assert_eq!(e.short(&f), "s.pine:2:5: unknown function 'foo'");
    }
}
