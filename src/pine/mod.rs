//! The Pine Script compiler and VM.
//!
//! Source text goes through the stages below, each a module with its own tests; the AST
//! never reaches the VM:
//!
//! lexer (logos) → [`parser`] → [`ast`] with spans → [`check`] (names and types) →
//! [`compile`] (bytecode) → [`vm`].
//!
//! The VM knows nothing of sockets, exchanges or threads: it takes [`Bar`]s and a
//! [`StrategyView`], and emits [`OrderCommand`]s, alerts and plot values. The same
//! compiled program runs in backtest, paper and live; on the engine it runs on the
//! market-data thread, so the per-bar path allocates nothing after the first bar.

pub mod ast;
pub mod bar;
pub mod span;
pub mod strategy;
pub mod strings;
pub mod ta;

pub use bar::Bar;
pub use span::{CompileError, SourceFile, Span};
pub use strategy::{OrderCommand, StrategySettings, StrategyView};
pub use strings::{StrId, StringTable};
