//! The Pine Script compiler and VM.
//!
//! Source text goes through the stages below, each a module with its own tests; the AST
//! never reaches the VM:
//!
//! [`lexer`] (logos) → [`parser`] → [`ast`] with spans → [`mod@compile`] (names, types and
//! bytecode, see its docs for why they share one walk) → [`program::Program`] → [`vm`].
//!
//! The VM knows nothing of sockets, exchanges or threads: it takes [`Bar`]s and a
//! [`StrategyView`], and emits [`OrderCommand`]s, alerts and plot values. The same
//! compiled program runs in backtest, paper and live; on the engine it runs on the
//! market-data thread, so the per-bar path allocates nothing after the first bar.

pub mod ast;
pub mod bar;
pub mod builtins;
pub mod compile;
pub mod lexer;
pub mod opcodes;
pub mod parser;
pub mod program;
pub mod span;
pub mod strategy;
pub mod strings;
pub mod ta;
pub mod ta_exec;
pub mod types;
pub mod vm;

pub use bar::Bar;
pub use program::Program;
pub use span::{CompileError, SourceFile, Span};
pub use strategy::{OrderCommand, StrategySettings, StrategyView};
pub use strings::{StrId, StringTable};
pub use vm::Vm;

/// Parses and compiles a script: the one entry point from source text to bytecode.
pub fn compile(file: &SourceFile) -> Result<Program, CompileError> {
    let script = parser::parse(file)?;
    compile::compile_script(file, &script)
}
