//! Order execution on Binance: request signing, exchange filters and the Binance order
//! messages. The order thread (DESIGN.md section 2) runs this: after warm-up it allocates
//! nothing, takes no locks and never panics on a reply it does not understand.

pub mod binance;
pub mod sign;
