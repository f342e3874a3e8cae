//! The bar sequencer: what stands between a symbol's bar sources (its [`KlineBuilder`],
//! fed from the stream, and the REST backfill) and [`super::FeedHandler::on_bar`], so that
//! every closed bar is handed out once, in open-time order, with none lost across
//! disconnects. One per symbol and kline spec, on the md thread; nothing here allocates
//! after [`BarSequencer::new`], blocks or panics.
//!
//! The rules:
//!
//! * `next_open` is the open time of the next bar to emit. A bar opening before it is a
//!   duplicate (dropped and counted); a bar opening at it is emitted; a live bar opening
//!   after it means bars were missed: it is held and a REST backfill is asked for.
//! * While a backfill is wanted or in flight, live bars are held in a fixed-capacity queue
//!   (a bar that finds it full is dropped and counted: it is fetched over REST later, since
//!   the queue then has a gap that asks for another backfill).
//! * A REST answer is merged with the held bars by open time: on a tie the live bar wins
//!   (it has trade ids; REST rows carry none, so their `f`/`L` are -1). A REST row is taken
//!   only when it is final: its close time is behind the caller's `closed_before_ms` (the
//!   exchange time estimate minus the grace), or a live bar at or after its open time has
//!   already closed. The first row that is not final (Binance's open bar) ends the merge.
//!   The REST answer is authoritative on which bars exist: a held bar is emitted across a
//!   gap only when the answer reaches its open time (an exchange halt has no bars).
//! * Trade-built series are "untrusted": a disconnect taints every bar up to the bar that
//!   holds the first event after the reconnect (and, at start, the first bar: the builder
//!   starts mid-bar). A tainted bar from the builder is never emitted; when it closes, a
//!   backfill is asked for and the bar is taken from REST. Stream klines are cumulative,
//!   so a stream series is never tainted; after a reconnect it asks for one backfill of the
//!   bars whose `x: true` it may have missed.

use std::collections::VecDeque;

use super::stats::KlineCounters;
use crate::feed::kline_builder::{Bar, BarInterval};

/// Where a series stands with its REST backfill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backfill {
    /// Nothing missing that we know of.
    Idle,
    /// Bars are missing; a request should be sent (when the retry time allows).
    Wanted,
    /// A request is in flight.
    Pending,
}

/// Which live bars of a trade-built series cannot be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taint {
    /// Every live bar is complete.
    Clean,
    /// The connection is down (or not yet up): every live bar is incomplete.
    Open,
    /// Bars opening at or before this time are incomplete.
    Until(u64),
}

/// What a REST answer did, for the caller's retry timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RestOutcome {
    /// Nothing more is missing (as far as is known).
    Done,
    /// Bars were emitted and more are missing: ask again at once.
    More,
    /// Bars are still missing and this answer brought none of them: ask again after the
    /// backoff (the exchange may not have closed the bar yet).
    NoProgress,
}

/// One symbol's bars of one kline spec, in order, once (see the module doc).
#[derive(Debug)]
pub(crate) struct BarSequencer {
    interval: BarInterval,
    /// Live bars are complete across disconnects (stream klines).
    trusted: bool,
    next_open: Option<u64>,
    /// Before the first emit: the oldest bar known to be missing (a tainted first bar).
    first_wanted: Option<u64>,
    held: VecDeque<Bar>,
    hold_capacity: usize,
    backfill: Backfill,
    taint: Taint,
    /// The newest open time of a closed bar that was not emitted and must come from REST
    /// (a tainted bar, or one dropped on a full hold queue).
    missing_newest: Option<u64>,
    /// The newest open time of a bar known closed (live bars, tainted ones included).
    known_closed: Option<u64>,
    counters: KlineCounters,
}

impl BarSequencer {
    /// A sequencer for `interval`; `trusted` for stream klines, false for trade-built
    /// bars (whose first bar starts mid-interval and is taken from REST). Holds at most
    /// `hold_capacity` bars (at least 1) while a backfill is pending.
    pub(crate) fn new(interval: BarInterval, trusted: bool, hold_capacity: usize) -> Self {
        let hold_capacity = hold_capacity.max(1);
        BarSequencer {
            interval,
            trusted,
            next_open: None,
            first_wanted: None,
            held: VecDeque::with_capacity(hold_capacity),
            hold_capacity,
            backfill: Backfill::Idle,
            taint: if trusted { Taint::Clean } else { Taint::Open },
            missing_newest: None,
            known_closed: None,
            counters: KlineCounters::default(),
        }
    }

    /// The counters.
    pub(crate) fn counters(&self) -> KlineCounters {
        self.counters
    }

    /// Counts a kline stream event the builder refused.
    #[cold]
    pub(crate) fn note_kline_error(&mut self) {
        self.counters.kline_errors += 1;
    }

    /// The backfill state.
    #[inline]
    pub(crate) fn backfill(&self) -> Backfill {
        self.backfill
    }

    /// The open time of the next bar to emit (`None` before the first).
    pub(crate) fn next_open(&self) -> Option<u64> {
        self.next_open
    }

    /// The symbol's connection went down: an untrusted series taints every bar from now
    /// until [`BarSequencer::on_first_event`].
    #[cold]
    pub(crate) fn on_disconnect(&mut self) {
        if !self.trusted {
            self.taint = Taint::Open;
        }
    }

    /// The first event (exchange time `event_ms`) of the symbol after a (re)connect: bars
    /// up to the one holding it are tainted (untrusted series), and a series that has
    /// emitted bars asks for a backfill of what the outage hid.
    #[cold]
    pub(crate) fn on_first_event(&mut self, event_ms: u64) {
        if self.taint == Taint::Open {
            let until = self.interval.open_time_ms(event_ms).unwrap_or(event_ms);
            self.taint = Taint::Until(until);
        }
        if self.next_open.is_some() {
            self.want();
        }
    }

    #[inline]
    fn want(&mut self) {
        if self.backfill == Backfill::Idle {
            self.backfill = Backfill::Wanted;
        }
    }

    #[inline]
    fn is_tainted(&self, open_ms: u64) -> bool {
        match self.taint {
            Taint::Clean => false,
            Taint::Open => true,
            Taint::Until(until) => open_ms <= until,
        }
    }

    /// A bar closed by the live source (the builder, from trades or stream klines).
    #[inline]
    pub(crate) fn on_live(&mut self, bar: &Bar, out: &mut impl FnMut(&Bar)) {
        let open = bar.open_time_ms;
        self.known_closed = Some(self.known_closed.map_or(open, |k| k.max(open)));
        if self.next_open.is_some_and(|next| open < next) {
            self.counters.duplicates += 1;
            return;
        }
        if self.is_tainted(open) {
            self.on_tainted(open);
            return;
        }
        if self.backfill != Backfill::Idle || !self.held.is_empty() {
            self.hold(bar);
            return;
        }
        match self.next_open {
            Some(next) if open > next => {
                self.hold(bar);
            }
            _ => {
                self.counters.live += 1;
                self.emit(bar, out);
            }
        }
    }

    #[cold]
    fn on_tainted(&mut self, open: u64) {
        self.counters.tainted += 1;
        self.missing_newest = Some(self.missing_newest.map_or(open, |t| t.max(open)));
        if self.next_open.is_none() {
            self.first_wanted = Some(self.first_wanted.map_or(open, |f| f.min(open)));
        }
        self.want();
    }

    /// Queues a live bar behind a backfill; a full queue drops it (REST will bring it).
    #[cold]
    fn hold(&mut self, bar: &Bar) {
        self.want();
        if self
            .held
            .back()
            .is_some_and(|b| b.open_time_ms >= bar.open_time_ms)
        {
            self.counters.duplicates += 1;
            return;
        }
        if self.held.len() >= self.hold_capacity {
            self.counters.hold_overflows += 1;
            let open = bar.open_time_ms;
            self.missing_newest = Some(self.missing_newest.map_or(open, |t| t.max(open)));
            return;
        }
        self.held.push_back(*bar);
    }

    /// Hands a bar out and moves `next_open` past it.
    #[inline]
    fn emit(&mut self, bar: &Bar, out: &mut impl FnMut(&Bar)) {
        debug_assert!(self.next_open.is_none_or(|n| bar.open_time_ms >= n));
        let next = self
            .interval
            .next_open_ms(bar.open_time_ms)
            .unwrap_or(u64::MAX);
        self.next_open = Some(next);
        if let Taint::Until(until) = self.taint {
            if next > until {
                self.taint = Taint::Clean;
            }
        }
        self.counters.emitted += 1;
        out(bar);
    }

    /// Starts the backfill that is wanted: the `startTime` to ask for, or `None` when there
    /// is nothing to ask for (then the state goes back to idle). The state becomes
    /// [`Backfill::Pending`] until [`BarSequencer::on_rest`] or
    /// [`BarSequencer::on_rest_failed`].
    pub(crate) fn start_backfill(&mut self) -> Option<u64> {
        if self.backfill != Backfill::Wanted {
            return None;
        }
        let start = self
            .next_open
            .or(self.first_wanted)
            .or(self.held.front().map(|b| b.open_time_ms));
        match start {
            Some(start) => {
                if self.next_open.is_none() {
                    // The series starts here: nothing older is wanted.
                    self.next_open = Some(start);
                }
                self.backfill = Backfill::Pending;
                self.counters.backfill_requests += 1;
                Some(start)
            }
            None => {
                self.backfill = Backfill::Idle;
                None
            }
        }
    }

    /// The backfill request failed (or could not be sent): it is wanted again.
    #[cold]
    pub(crate) fn on_rest_failed(&mut self) {
        if self.backfill == Backfill::Pending {
            self.backfill = Backfill::Wanted;
        }
        self.counters.backfill_failures += 1;
    }

    /// A backfill answer: `rows` are the REST bars in the order received (a row not after
    /// the previous one is skipped), `limit` the page size asked for, `closed_before_ms`
    /// the exchange time before which a bar's close makes it final. Emits the missing
    /// bars merged with the held ones, in order (see the module doc).
    pub(crate) fn on_rest(
        &mut self,
        rows: impl Iterator<Item = Bar>,
        limit: usize,
        closed_before_ms: u64,
        out: &mut impl FnMut(&Bar),
    ) -> RestOutcome {
        if self.backfill == Backfill::Pending {
            self.backfill = Backfill::Idle;
        }
        let emitted_before = self.counters.emitted;
        let mut last_open: Option<u64> = None;
        let mut rows_seen = 0usize;
        let mut all_final = true;
        for mut row in rows {
            if last_open.is_some_and(|l| row.open_time_ms <= l) {
                continue;
            }
            rows_seen += 1;
            last_open = Some(row.open_time_ms);
            let is_final = row.close_time_ms < closed_before_ms
                || self.known_closed.is_some_and(|k| row.open_time_ms <= k);
            if !is_final {
                all_final = false;
                break;
            }
            while let Some(h) = self.held.front().copied() {
                if h.open_time_ms > row.open_time_ms {
                    break;
                }
                self.held.pop_front();
                self.emit_merged(&h, false, out);
            }
            row.closed = true;
            row.first_trade_id = -1;
            row.last_trade_id = -1;
            self.emit_merged(&row, true, out);
        }
        // Held bars after the answer's last final row: contiguous ones, or ones the answer
        // reaches (it would have listed any bar before them).
        while let Some(h) = self.held.front().copied() {
            let next = self.next_open.unwrap_or(0);
            let covered = last_open.is_some_and(|l| h.open_time_ms <= l);
            if h.open_time_ms > next && !covered {
                break;
            }
            self.held.pop_front();
            self.emit_merged(&h, false, out);
        }
        let next = self.next_open.unwrap_or(0);
        let more = (rows_seen >= limit && all_final)
            || !self.held.is_empty()
            || self.missing_newest.is_some_and(|t| t >= next);
        if !more {
            return RestOutcome::Done;
        }
        self.want();
        if self.counters.emitted > emitted_before {
            RestOutcome::More
        } else {
            RestOutcome::NoProgress
        }
    }

    /// Emits a bar taken while merging, unless it is already behind `next_open`.
    fn emit_merged(&mut self, bar: &Bar, from_rest: bool, out: &mut impl FnMut(&Bar)) {
        if self.next_open.is_some_and(|next| bar.open_time_ms < next) {
            if !from_rest {
                self.counters.duplicates += 1;
            }
            return;
        }
        if from_rest {
            self.counters.from_rest += 1;
        } else {
            self.counters.live += 1;
        }
        self.emit(bar, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;
    /// 2024-01-01 00:00 UTC.
    const T0: u64 = 1_704_067_200_000;

    fn m1() -> BarInterval {
        BarInterval::parse("1m").expect("1m")
    }

    /// A closed 1m bar `i` minutes after `T0`, tagged by its close price; `live` bars have
    /// trade ids, REST rows do not (the sequencer clears them anyway).
    fn bar(i: u64, close: i64, live: bool) -> Bar {
        let open = T0 + i * MIN;
        Bar {
            open_time_ms: open,
            close_time_ms: open + MIN - 1,
            first_trade_id: if live { i as i64 * 10 } else { 7 },
            last_trade_id: if live { i as i64 * 10 + 9 } else { 7 },
            open_ticks: close,
            high_ticks: close,
            low_ticks: close,
            close_ticks: close,
            volume_lots: 1,
            quote_volume: i128::from(close),
            trade_count: if live { 10 } else { 3 },
            taker_buy_volume_lots: 0,
            taker_buy_quote_volume: 0,
            closed: true,
        }
    }

    /// One input to a sequencer.
    #[derive(Debug, Clone, Copy)]
    enum Ev {
        /// A live bar `i` (close price 100 + i).
        Live(u64),
        /// The connection went down.
        Down,
        /// First event after a connect, at minute `i` plus 30 s.
        First(u64),
        /// Start the wanted backfill; expect this start minute (`None`: nothing to ask).
        Start(Option<u64>),
        /// REST rows `from..to` (close 100 + i), page limit, `closed_before` minute;
        /// expect this outcome.
        Rest(u64, u64, usize, u64, RestOutcome),
        /// The request failed.
        Fail,
    }
    use Ev::{Down, Fail, First, Live, Rest, Start};
    use RestOutcome::{Done, More, NoProgress};

    /// Emitted bars as (minute, from REST).
    fn run(trusted: bool, cap: usize, evs: &[Ev]) -> (Vec<(u64, bool)>, BarSequencer) {
        let mut s = BarSequencer::new(m1(), trusted, cap);
        let mut got = Vec::new();
        for (k, ev) in evs.iter().enumerate() {
            let mut out = |b: &Bar| {
                assert!(b.closed);
                got.push(((b.open_time_ms - T0) / MIN, b.first_trade_id == -1));
            };
            match *ev {
                Live(i) => s.on_live(&bar(i, 100 + i as i64, true), &mut out),
                Down => s.on_disconnect(),
                First(i) => s.on_first_event(T0 + i * MIN + 30_000),
                Start(want) => {
                    let got = s.start_backfill().map(|t| (t - T0) / MIN);
                    assert_eq!(got, want, "event {k}: start");
                }
                Rest(from, to, limit, before, want) => {
                    let rows = (from..to).map(|i| bar(i, 100 + i as i64, false));
                    let outcome = s.on_rest(rows, limit, T0 + before * MIN, &mut out);
                    assert_eq!(outcome, want, "event {k}: outcome");
                }
                Fail => s.on_rest_failed(),
            }
        }
        (got, s)
    }

    #[test]
    fn backfill_ordering_table() {
        struct Case {
            trusted: bool,
            cap: usize,
            evs: &'static [Ev],
            /// (minute, from REST) in emission order.
            want: &'static [(u64, bool)],
            state: Backfill,
        }
        let cases = [
            // TC0: stream bars in order, no disconnect: emitted at once, no backfill
            Case {
                trusted: true,
                cap: 4,
                evs: &[First(0), Live(0), Live(1), Live(2)],
                want: &[(0, false), (1, false), (2, false)],
                state: Backfill::Idle,
            },
            // TC1: reconnect; bars 2 and 3 missed; stream bar 4 arrives before the REST
            // answer: held, emitted after the backfilled 2, 3
            Case {
                trusted: true,
                cap: 4,
                evs: &[
                    First(0),
                    Live(0),
                    Live(1),
                    Down,
                    First(4),
                    Start(Some(2)),
                    Live(4),
                    Rest(2, 5, 1000, 4, Done),
                ],
                want: &[(0, false), (1, false), (2, true), (3, true), (4, false)],
                state: Backfill::Idle,
            },
            // TC2: REST answers first (rows 2..=4, 4 still open), then stream bar 4
            Case {
                trusted: true,
                cap: 4,
                evs: &[
                    First(0),
                    Live(1),
                    Down,
                    First(4),
                    Start(Some(2)),
                    Rest(2, 5, 1000, 4, Done),
                    Live(4),
                ],
                want: &[(1, false), (2, true), (3, true), (4, false)],
                state: Backfill::Idle,
            },
            // TC3: overlap and duplicates: REST repeats bar 1 (already emitted); stream
            // re-sends 1 and 4 twice; the live bar 4 wins the tie with REST row 4
            Case {
                trusted: true,
                cap: 4,
                evs: &[
                    First(0),
                    Live(1),
                    Down,
                    First(3),
                    Start(Some(2)),
                    Live(1),
                    Live(4),
                    Live(4),
                    Rest(1, 6, 1000, 5, Done),
                    Live(4),
                    Live(5),
                ],
                want: &[(1, false), (2, true), (3, true), (4, false), (5, false)],
                state: Backfill::Idle,
            },
            // TC4: REST failure then retry: bars held meanwhile, nothing emitted twice
            Case {
                trusted: true,
                cap: 4,
                evs: &[
                    First(0),
                    Live(0),
                    Down,
                    First(3),
                    Start(Some(1)),
                    Fail,
                    Live(3),
                    Start(Some(1)),
                    Rest(1, 4, 1000, 3, Done),
                    Live(4),
                ],
                want: &[(0, false), (1, true), (2, true), (3, false), (4, false)],
                state: Backfill::Idle,
            },
            // TC5: the REST answer is older than a held bar (bar 3 not yet in it): no
            // progress past 2, asks again; the second answer fills 3..=4
            Case {
                trusted: true,
                cap: 4,
                evs: &[
                    First(0),
                    Live(0),
                    Down,
                    First(2),
                    Start(Some(1)),
                    Live(5),
                    Rest(1, 3, 1000, 2, More),
                    Start(Some(3)),
                    Rest(3, 5, 1000, 4, Done),
                ],
                want: &[
                    (0, false),
                    (1, true),
                    (2, true),
                    (3, true),
                    (4, true),
                    (5, false),
                ],
                state: Backfill::Idle,
            },
            // TC6: a stream gap without a disconnect (missed x:true): held, backfilled
            Case {
                trusted: true,
                cap: 4,
                evs: &[
                    First(0),
                    Live(0),
                    Live(2),
                    Start(Some(1)),
                    Rest(1, 3, 1000, 2, Done),
                ],
                want: &[(0, false), (1, true), (2, false)],
                state: Backfill::Idle,
            },
            // TC7: hold queue full: bar 4 dropped, fetched over REST in a second page
            Case {
                trusted: true,
                cap: 1,
                evs: &[
                    First(0),
                    Live(0),
                    Down,
                    First(2),
                    Start(Some(1)),
                    Live(3),
                    Live(4),
                    Rest(1, 3, 1000, 2, More),
                    Start(Some(4)),
                    Rest(4, 5, 1000, 5, Done),
                ],
                want: &[(0, false), (1, true), (2, true), (3, false), (4, true)],
                state: Backfill::Idle,
            },
            // TC8: trades: the first bar (started mid-interval) and the reconnect bar are
            // tainted and come from REST; the bars between are clean
            Case {
                trusted: false,
                cap: 4,
                evs: &[
                    First(0),
                    Live(0),
                    Start(Some(0)),
                    Live(1),
                    Rest(0, 2, 1000, 1, Done),
                    Live(2),
                    Down,
                    Live(3),
                    First(5),
                    Live(4),
                    Start(Some(3)),
                    Rest(3, 6, 1000, 5, Done),
                    Live(5),
                    Start(Some(5)),
                    Live(6),
                    Rest(5, 7, 1000, 6, Done),
                    Live(7),
                ],
                want: &[
                    (0, true),
                    (1, false),
                    (2, false),
                    (3, true),
                    (4, true),
                    (5, true),
                    (6, false),
                    (7, false),
                ],
                state: Backfill::Idle,
            },
            // TC9: trades: a tainted bar that closed live makes its REST row final even
            // with a clock behind its close; the live copy that follows is a duplicate
            Case {
                trusted: false,
                cap: 4,
                evs: &[
                    First(0),
                    Live(0),
                    Start(Some(0)),
                    Rest(0, 1, 1000, 0, Done),
                    Live(0),
                ],
                want: &[(0, true)],
                state: Backfill::Idle,
            },
            // TC10: a full page of final rows asks for the next page
            Case {
                trusted: true,
                cap: 4,
                evs: &[
                    First(0),
                    Live(0),
                    Down,
                    First(9),
                    Start(Some(1)),
                    Rest(1, 4, 3, 9, More),
                    Start(Some(4)),
                    Rest(4, 10, 1000, 9, Done),
                ],
                want: &[
                    (0, false),
                    (1, true),
                    (2, true),
                    (3, true),
                    (4, true),
                    (5, true),
                    (6, true),
                    (7, true),
                    (8, true),
                ],
                state: Backfill::Idle,
            },
            // TC11: an exchange halt: REST has no bars 2..=3; the held bar 4 is emitted
            // across the gap because the answer reaches it
            Case {
                trusted: true,
                cap: 4,
                evs: &[
                    First(0),
                    Live(1),
                    Down,
                    First(4),
                    Start(Some(2)),
                    Live(4),
                    Rest(4, 5, 1000, 4, Done),
                ],
                want: &[(1, false), (4, false)],
                state: Backfill::Idle,
            },
            // TC12: nothing emitted yet on a stream reconnect: nothing to backfill
            Case {
                trusted: true,
                cap: 4,
                evs: &[First(0), Down, First(3), Start(None), Live(3)],
                want: &[(3, false)],
                state: Backfill::Idle,
            },
            // TC13: an empty REST answer while a held bar waits: no progress, still wanted
            Case {
                trusted: true,
                cap: 4,
                evs: &[
                    First(0),
                    Live(0),
                    Live(2),
                    Start(Some(1)),
                    Rest(1, 1, 1000, 5, NoProgress),
                ],
                want: &[(0, false)],
                state: Backfill::Wanted,
            },
        ];
        for (i, c) in cases.iter().enumerate() {
            let (got, s) = run(c.trusted, c.cap, c.evs);
            assert_eq!(got, c.want, "TC{i}");
            assert_eq!(s.backfill(), c.state, "TC{i}: state");
            let opens: Vec<u64> = got.iter().map(|g| g.0).collect();
            assert!(opens.windows(2).all(|w| w[0] < w[1]), "TC{i}: order");
        }
    }

    #[test]
    fn rest_rows_finality() {
        // TC0: a row past the newest live close and the clock is not final: the merge
        // stops there and the next bar to emit is that row's
        let (got, s) = run(
            false,
            4,
            &[First(0), Live(0), Start(Some(0)), Rest(0, 2, 1000, 0, Done)],
        );
        assert_eq!(got, vec![(0, true)], "TC0");
        assert_eq!(s.next_open(), Some(T0 + MIN), "TC0");
        // TC1: a REST answer without the tainted bar's row: no progress, wanted again
        let (got, s) = run(
            false,
            4,
            &[
                First(0),
                Live(0),
                Start(Some(0)),
                Rest(0, 0, 1000, 0, NoProgress),
            ],
        );
        assert!(got.is_empty(), "TC1");
        assert_eq!(s.backfill(), Backfill::Wanted, "TC1");
        // TC2: counters: one tainted, one from REST, one request
        let c = run(
            false,
            4,
            &[First(0), Live(0), Start(Some(0)), Rest(0, 1, 1000, 1, Done)],
        )
        .1
        .counters();
        assert_eq!(
            (c.tainted, c.from_rest, c.backfill_requests, c.emitted),
            (1, 1, 1, 1),
            "TC2"
        );
    }
}
