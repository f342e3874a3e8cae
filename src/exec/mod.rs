//! Order execution on Binance: request signing, exchange filters and the Binance order
//! messages. The order thread (DESIGN.md section 2) runs this: after warm-up it allocates
//! nothing, takes no locks and never panics on a reply it does not understand.

pub mod binance;
pub mod filters;
pub mod sign;

/// Buy or sell, as Binance's order `side` (`BUY` / `SELL`); shared by the filters, the
/// message decoders and (later) the order thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// `BUY`
    Buy,
    /// `SELL`
    Sell,
}
