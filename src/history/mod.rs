//! Historical kline files: Binance's public kline CSV, freqtrade JSON (`.json` /
//! `.json.gz`) and freqtrade feather (Arrow IPC). Used off the hot path by the
//! backtester (and the simulator), so these readers favour clear errors over speed
//! where the two disagree.
