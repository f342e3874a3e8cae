//! State changes of the risk manager (halt, pause, warnings, resume), pushed into a
//! caller-owned fixed-capacity buffer: the order thread drains it after each call and
//! forwards the events to the pool with `try_send`. Nothing here allocates.

use super::types::{Quote, Reason, SymbolId};

/// What kind of state change an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Trading halted: the caller must cancel every open order and flatten every
    /// position (see [`crate::risk::RiskManager::flatten_into`]).
    Halt,
    /// Trading paused: no new buys until an operator resumes.
    Pause,
    /// A warning threshold was crossed; trading goes on.
    Warn,
    /// Trading may go on again (new UTC day or operator resume).
    Resume,
}

/// One risk event, with its reason and the figure that triggered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskEvent {
    /// Halt, pause, warning or resume.
    pub kind: EventKind,
    /// Why.
    pub reason: Reason,
    /// The symbol concerned, for per-trade events.
    pub symbol: Option<SymbolId>,
    /// The triggering figure in basis points (loss as a share of equity, failure rate);
    /// 0 where none applies.
    pub value_bp: i64,
    /// The triggering amount in quote units (the loss); 0 where none applies.
    pub amount: Quote,
}

/// Capacity of [`RiskEvents`]: one call produces at most four events, so a buffer that is
/// drained after every call never overflows.
pub const EVENT_CAPACITY: usize = 16;

/// A caller-owned fixed-capacity event buffer. A push into a full buffer is counted in
/// [`RiskEvents::dropped`] (and should be alerted), never a panic or an allocation.
#[derive(Debug, Clone)]
pub struct RiskEvents {
    buf: [RiskEvent; EVENT_CAPACITY],
    len: usize,
    dropped: u64,
}

impl Default for RiskEvents {
    fn default() -> Self {
        Self::new()
    }
}

impl RiskEvents {
    /// An empty buffer.
    pub const fn new() -> Self {
        const EMPTY: RiskEvent = RiskEvent {
            kind: EventKind::Warn,
            reason: Reason::None,
            symbol: None,
            value_bp: 0,
            amount: 0,
        };
        RiskEvents {
            buf: [EMPTY; EVENT_CAPACITY],
            len: 0,
            dropped: 0,
        }
    }

    /// Appends `ev`; returns false (and counts a drop) when the buffer is full.
    #[inline]
    pub fn push(&mut self, ev: RiskEvent) -> bool {
        if self.len == EVENT_CAPACITY {
            self.dropped += 1;
            return false;
        }
        self.buf[self.len] = ev;
        self.len += 1;
        true
    }

    /// The events pushed since the last [`RiskEvents::clear`], oldest first.
    pub fn as_slice(&self) -> &[RiskEvent] {
        &self.buf[..self.len]
    }

    /// Empties the buffer (the drop counter is kept).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Number of events waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no event waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Events lost because the buffer was full, since construction.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(bp: i64) -> RiskEvent {
        RiskEvent {
            kind: EventKind::Warn,
            reason: Reason::DailyLossWarning,
            symbol: None,
            value_bp: bp,
            amount: 0,
        }
    }

    #[test]
    fn push_until_full_then_count_drops() {
        let mut b = RiskEvents::new();
        // TC0: empty.
        assert!(b.is_empty());
        // TC1: fills to capacity in order.
        for i in 0..EVENT_CAPACITY {
            assert!(b.push(ev(i as i64)));
        }
        assert_eq!(b.len(), EVENT_CAPACITY);
        assert_eq!(b.as_slice()[3].value_bp, 3);
        // TC2: one more is dropped and counted.
        assert!(!b.push(ev(99)));
        assert_eq!(b.dropped(), 1);
        assert_eq!(b.as_slice().last().map(|e| e.value_bp), Some(15));
        // TC3: clear keeps the drop count.
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.dropped(), 1);
        assert!(b.push(ev(1)));
    }
}
