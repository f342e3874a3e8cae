//! The market thread: steps the [`MarketSource`](crate::sim::source::MarketSource) at the
//! configured pace, applies the per-message faults, and fans each message out to the
//! connections subscribed to its stream through bounded per-connection queues. The union
//! of all subscriptions is the source's `wanted` filter.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{SendTimeoutError, Sender, TrySendError};

use super::faults::Malformed;
use super::{bump, lock, Shared, Speed};
use crate::sim::source::{SimMessage, StreamKey};

/// One market message on its way to a connection.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) key: StreamKey,
    /// The stream's name (`btcusdt@depth@100ms`), for the combined wrapper.
    pub(crate) name: Arc<str>,
    /// The raw body.
    pub(crate) payload: Arc<str>,
    pub(crate) event_time_ms: i64,
    /// Sent broken, by a fault.
    pub(crate) malformed: Option<Malformed>,
}

/// A connection that receives market messages.
#[derive(Debug)]
pub(crate) struct Subscriber {
    /// Its streams; the connection's thread is the writer, the market thread reads them
    /// when [`Registry::version`] changes.
    pub(crate) streams: Mutex<HashSet<StreamKey>>,
    pub(crate) tx: Sender<Outgoing>,
    /// Set by the market thread: the queue was full in real-time pacing; close.
    pub(crate) slow: AtomicBool,
    /// Set by the connection's thread when it ends, so the market stops waiting on it.
    pub(crate) gone: AtomicBool,
}

/// Every subscriber, and a version bumped on every change of anyone's streams.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    subscribers: Mutex<Vec<Arc<Subscriber>>>,
    version: AtomicU64,
}

impl Registry {
    pub(crate) fn add(&self, subscriber: Arc<Subscriber>) {
        lock(&self.subscribers).push(subscriber);
        self.changed();
    }

    pub(crate) fn remove(&self, subscriber: &Arc<Subscriber>) {
        subscriber.gone.store(true, Ordering::Release);
        lock(&self.subscribers).retain(|s| !Arc::ptr_eq(s, subscriber));
        self.changed();
    }

    /// Call after changing a subscriber's streams.
    pub(crate) fn changed(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    fn snapshot(&self) -> Vec<(Arc<Subscriber>, HashSet<StreamKey>)> {
        lock(&self.subscribers)
            .iter()
            .map(|s| (Arc::clone(s), lock(&s.streams).clone()))
            .collect()
    }
}

struct Fanout {
    version: u64,
    subscribers: Vec<(Arc<Subscriber>, HashSet<StreamKey>)>,
    wanted: HashSet<StreamKey>,
}

impl Fanout {
    fn refresh(&mut self, shared: &Shared) {
        let version = shared.registry.version.load(Ordering::Acquire);
        if version == self.version {
            return;
        }
        self.version = version;
        self.subscribers = shared.registry.snapshot();
        self.wanted = self
            .subscribers
            .iter()
            .flat_map(|(_, streams)| streams.iter().copied())
            .collect();
    }

    fn send(&self, shared: &Shared, item: &Outgoing) {
        for (subscriber, streams) in &self.subscribers {
            if !streams.contains(&item.key) || subscriber.gone.load(Ordering::Acquire) {
                continue;
            }
            match shared.config.speed {
                Speed::RealTime(_) => match subscriber.tx.try_send(item.clone()) {
                    Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                    Err(TrySendError::Full(_)) => {
                        if !subscriber.slow.swap(true, Ordering::AcqRel) {
                            bump(&shared.counters.slow_consumer_closes);
                        }
                    }
                },
                Speed::AsFastAsRead => {
                    let mut pending = item.clone();
                    loop {
                        match subscriber
                            .tx
                            .send_timeout(pending, Duration::from_millis(5))
                        {
                            Ok(()) | Err(SendTimeoutError::Disconnected(_)) => break,
                            Err(SendTimeoutError::Timeout(back)) => {
                                if shared.stopping() || subscriber.gone.load(Ordering::Acquire) {
                                    break;
                                }
                                pending = back;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The market thread's body; returns at shutdown.
pub(crate) fn run(shared: &Shared) {
    let mut fanout = Fanout {
        version: u64::MAX,
        subscribers: Vec::new(),
        wanted: HashSet::new(),
    };
    let mut names: HashMap<StreamKey, Arc<str>> = HashMap::new();
    let mut out: Vec<SimMessage> = Vec::new();
    let mut origin: Option<(Instant, i64)> = None;
    let mut held: Option<Outgoing> = None;
    let mut delayed: Vec<(Instant, Outgoing)> = Vec::new();
    let mut last_close = Instant::now();
    let mut exhausted = false;
    let faults = &shared.faults;
    while !shared.stopping() {
        let now = Instant::now();
        match faults.close_every() {
            Some(every) if now.duration_since(last_close) >= every => {
                faults.close_all();
                last_close = now;
            }
            Some(_) => {}
            None => last_close = now,
        }
        fanout.refresh(shared);
        if !delayed.is_empty() {
            let mut i = 0;
            while i < delayed.len() {
                if delayed[i].0 <= now {
                    let (_, item) = delayed.remove(i);
                    fanout.send(shared, &item);
                } else {
                    i += 1;
                }
            }
        }
        if faults.stalled(now) {
            thread::sleep(Duration::from_millis(1));
            continue;
        }
        if exhausted {
            if let Some(item) = held.take() {
                fanout.send(shared, &item);
            }
            thread::sleep(Duration::from_millis(2));
            continue;
        }
        let next = lock(&shared.market).next_time_ms();
        let Some(next_ms) = next else {
            exhausted = true;
            shared
                .counters
                .market_exhausted
                .store(true, Ordering::Release);
            continue;
        };
        match shared.config.speed {
            Speed::RealTime(multiple) => {
                let (wall0, market0) = *origin.get_or_insert((now, next_ms));
                let ahead_ms = (next_ms - market0).max(0) as f64 / multiple;
                let due = wall0 + Duration::from_secs_f64(ahead_ms / 1000.0);
                if now < due {
                    thread::sleep((due - now).min(Duration::from_millis(2)));
                    continue;
                }
            }
            Speed::AsFastAsRead => {
                if fanout.wanted.is_empty() {
                    thread::sleep(Duration::from_millis(1));
                    continue;
                }
            }
        }
        {
            let wanted = &fanout.wanted;
            let mut market = lock(&shared.market);
            if !market.step(&|key| wanted.contains(key), &mut out) {
                continue;
            }
        }
        bump(&shared.counters.market_steps);
        shared
            .counters
            .market_time_ms
            .store(next_ms, Ordering::Relaxed);
        for message in out.drain(..) {
            let name = names
                .entry(message.stream)
                .or_insert_with(|| Arc::from(message.stream.name(&shared.symbols)))
                .clone();
            let mut item = Outgoing {
                key: message.stream,
                name,
                payload: message.payload,
                event_time_ms: message.event_time_ms,
                malformed: None,
            };
            let decision = faults.decide();
            if decision.drop {
                bump(&shared.counters.dropped_by_fault);
                continue;
            }
            if decision.malformed.is_some() {
                bump(&shared.counters.malformed_by_fault);
                item.malformed = decision.malformed;
            }
            let copies = if decision.duplicate {
                bump(&shared.counters.duplicated_by_fault);
                2
            } else {
                1
            };
            if let Some(delay) = decision.delay {
                bump(&shared.counters.delayed_by_fault);
                for _ in 0..copies {
                    delayed.push((now + delay, item.clone()));
                }
                continue;
            }
            if decision.reorder && held.is_none() && copies == 1 {
                bump(&shared.counters.reordered_by_fault);
                held = Some(item);
                continue;
            }
            for _ in 0..copies {
                fanout.send(shared, &item);
            }
            if let Some(previous) = held.take() {
                fanout.send(shared, &previous);
            }
        }
    }
}
