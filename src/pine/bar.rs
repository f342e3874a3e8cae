//! The unit of market data the VM consumes.

/// One OHLCV candle. Times are the bar's **open** time in milliseconds since the Unix
/// epoch (UTC), as Binance's kline `t` field and Pine's `time` built-in are.
///
/// Prices are `f64` because Pine's arithmetic is double precision by definition; they
/// are parsed straight from the source bytes, never through a formatting round trip.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bar {
    /// Open time, ms since the epoch (UTC).
    pub time_ms: i64,
    /// First traded price of the bar.
    pub open: f64,
    /// Highest traded price of the bar.
    pub high: f64,
    /// Lowest traded price of the bar.
    pub low: f64,
    /// Last traded price of the bar.
    pub close: f64,
    /// Traded volume in the base asset.
    pub volume: f64,
}
