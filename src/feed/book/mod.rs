//! The local order book: [`arena::Book`], a preallocated tick-indexed arena, and
//! [`sync::LocalBook`], which keeps it exactly in step with Binance's snapshot + diff stream.
//! Both run on the market-data thread and allocate nothing after construction.

pub mod arena;
pub mod sync;

pub use arena::{Book, BookError, Level};
pub use sync::{LocalBook, SyncReason, SyncStatus};
