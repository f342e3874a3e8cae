//! Fault injection: what the simulator does wrong on purpose, so that the engine's
//! recovery paths (gap detection, resync, reconnect with backoff, REST retries) can be
//! exercised against real sockets.
//!
//! A [`FaultPlan`] holds the per-message probabilities (drop, duplicate, reorder, delay,
//! malformed) and the periodic "close every connection every N" action. It is drawn from a
//! seeded PRNG of our own ([`Prng`], SplitMix64) by the market thread only, six draws per
//! message whatever the probabilities are, so the same seed over the same market gives the
//! same faults, and changing one probability does not shift the draws of another.
//!
//! One-shot actions (close all now, stall, refuse connections, refuse REST) are set through
//! [`FaultControl`], the run-time handle (`SimHandle::faults()`), or the admin endpoint
//! `POST /sim/faults` documented in the server's module doc.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::lock;
pub use crate::sim::prng::Prng;

/// Why a fault setting was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    /// A probability outside `[0, 1]` (or not a number).
    #[error("fault `{name}`: probability {value} is not within [0, 1]")]
    BadProbability {
        /// The setting's name (`drop`, `duplicate`, ...).
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A parameter of the admin endpoint that does not exist or does not parse.
    #[error("fault parameter `{name}`: {msg}")]
    BadParameter {
        /// The parameter as sent.
        name: String,
        /// What was wrong.
        msg: String,
    },
}

/// Per-message fault probabilities and the periodic close; all zero / `None` by default
/// (a faultless Binance).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// Seed of the PRNG that decides each message's faults.
    pub seed: u64,
    /// Probability that a market message is not sent at all (counted in stats).
    pub drop: f64,
    /// Probability that a market message is sent twice in a row.
    pub duplicate: f64,
    /// Probability that a market message is held back and sent after the next one.
    pub reorder: f64,
    /// Probability that a market message is held back for [`FaultPlan::delay_ms`]; later
    /// messages overtake it.
    pub delay: f64,
    /// How long a delayed message is held, in milliseconds.
    pub delay_ms: u64,
    /// Probability that a market message is sent malformed: truncated JSON, invalid UTF-8
    /// in a text frame, or an unknown stream/event (one third each, drawn).
    pub malformed: f64,
    /// Close every connection (TCP shutdown, no close frame) every this long.
    pub close_every: Option<Duration>,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            seed: 0x005E_ED0F_B1A5,
            drop: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            delay: 0.0,
            delay_ms: 0,
            malformed: 0.0,
            close_every: None,
        }
    }
}

impl FaultPlan {
    /// Checks every probability is within `[0, 1]`.
    pub fn validate(&self) -> Result<(), FaultError> {
        for (name, value) in [
            ("drop", self.drop),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
            ("delay", self.delay),
            ("malformed", self.malformed),
        ] {
            check_probability(name, value)?;
        }
        Ok(())
    }

    /// The plan as JSON (the admin endpoint's reply).
    pub fn to_json(&self) -> String {
        format!(
            "{{\"seed\":{},\"drop\":{},\"duplicate\":{},\"reorder\":{},\"delay\":{},\"delay_ms\":{},\"malformed\":{},\"close_every_ms\":{}}}",
            self.seed,
            self.drop,
            self.duplicate,
            self.reorder,
            self.delay,
            self.delay_ms,
            self.malformed,
            self.close_every
                .map_or_else(|| "null".to_string(), |d| d.as_millis().to_string())
        )
    }
}

fn check_probability(name: &'static str, value: f64) -> Result<(), FaultError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(FaultError::BadProbability { name, value })
    }
}

/// How a malformed message is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The frame's JSON is cut in half.
    Truncated,
    /// The text frame carries bytes that are not UTF-8.
    InvalidUtf8,
    /// The message names a stream (combined) or event (raw) that does not exist.
    UnknownStream,
}

/// What the fault plan decided for one outgoing market message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    /// Do not send it.
    pub drop: bool,
    /// Send it twice.
    pub duplicate: bool,
    /// Send it after the next one.
    pub reorder: bool,
    /// Hold it this long.
    pub delay: Option<Duration>,
    /// Send it broken.
    pub malformed: Option<Malformed>,
}

#[derive(Debug)]
struct State {
    plan: FaultPlan,
    rng: Prng,
    stall_until: Option<Instant>,
    refuse_conn_until: Option<Instant>,
    refuse_conn_next: u64,
    refuse_rest_until: Option<Instant>,
}

/// The shared fault state: the plan, the PRNG and the pending one-shot actions.
#[derive(Debug)]
pub(crate) struct Faults {
    state: Mutex<State>,
    /// Bumped by "close all connections"; every connection remembers the value it started
    /// with and closes when it changes.
    close_epoch: AtomicU64,
}

impl Faults {
    pub(crate) fn new(plan: FaultPlan) -> Faults {
        Faults {
            state: Mutex::new(State {
                rng: Prng::new(plan.seed),
                plan,
                stall_until: None,
                refuse_conn_until: None,
                refuse_conn_next: 0,
                refuse_rest_until: None,
            }),
            close_epoch: AtomicU64::new(0),
        }
    }

    /// Draws the faults of one message: always six draws, in a fixed order.
    pub(crate) fn decide(&self) -> Decision {
        let mut s = lock(&self.state);
        let draws = [
            s.rng.next_f64(),
            s.rng.next_f64(),
            s.rng.next_f64(),
            s.rng.next_f64(),
            s.rng.next_f64(),
            s.rng.next_f64(),
        ];
        let plan = &s.plan;
        Decision {
            drop: draws[0] < plan.drop,
            duplicate: draws[1] < plan.duplicate,
            reorder: draws[2] < plan.reorder,
            delay: (draws[3] < plan.delay).then(|| Duration::from_millis(plan.delay_ms)),
            malformed: (draws[4] < plan.malformed).then(|| {
                if draws[5] < 1.0 / 3.0 {
                    Malformed::Truncated
                } else if draws[5] < 2.0 / 3.0 {
                    Malformed::InvalidUtf8
                } else {
                    Malformed::UnknownStream
                }
            }),
        }
    }

    pub(crate) fn close_every(&self) -> Option<Duration> {
        lock(&self.state).plan.close_every
    }

    pub(crate) fn close_epoch(&self) -> u64 {
        self.close_epoch.load(Ordering::Acquire)
    }

    pub(crate) fn close_all(&self) {
        self.close_epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// True while a stall is in force: the market neither steps nor sends.
    pub(crate) fn stalled(&self, now: Instant) -> bool {
        lock(&self.state).stall_until.is_some_and(|t| now < t)
    }

    /// Whether a new connection must be refused; consumes one of "the next N".
    pub(crate) fn refuse_connection(&self, now: Instant) -> bool {
        let mut s = lock(&self.state);
        if s.refuse_conn_until.is_some_and(|t| now < t) {
            return true;
        }
        if s.refuse_conn_next > 0 {
            s.refuse_conn_next -= 1;
            return true;
        }
        false
    }

    /// Whether REST requests get HTTP 503 now.
    pub(crate) fn refuse_rest(&self, now: Instant) -> bool {
        lock(&self.state).refuse_rest_until.is_some_and(|t| now < t)
    }
}

/// A one-shot action of the admin endpoint, applied once every parameter parsed.
type Action = Box<dyn Fn(&FaultControl)>;

/// The run-time handle on the simulator's faults (`SimHandle::faults()`); cheap to clone,
/// usable from any thread. Changes apply to the next market message / connection / request.
#[derive(Debug, Clone)]
pub struct FaultControl {
    pub(crate) faults: Arc<Faults>,
}

impl FaultControl {
    /// The plan in force.
    pub fn plan(&self) -> FaultPlan {
        lock(&self.faults.state).plan.clone()
    }

    /// Replaces the plan and restarts the PRNG from the plan's seed.
    pub fn set_plan(&self, plan: FaultPlan) -> Result<(), FaultError> {
        plan.validate()?;
        let mut s = lock(&self.faults.state);
        s.rng = Prng::new(plan.seed);
        s.plan = plan;
        Ok(())
    }

    fn update(&self, f: impl FnOnce(&mut FaultPlan)) -> Result<(), FaultError> {
        let mut s = lock(&self.faults.state);
        let mut plan = s.plan.clone();
        f(&mut plan);
        plan.validate()?;
        s.plan = plan;
        Ok(())
    }

    /// Probability of dropping a market message.
    pub fn set_drop(&self, p: f64) -> Result<(), FaultError> {
        self.update(|plan| plan.drop = p)
    }

    /// Probability of sending a market message twice.
    pub fn set_duplicate(&self, p: f64) -> Result<(), FaultError> {
        self.update(|plan| plan.duplicate = p)
    }

    /// Probability of swapping a market message with the next one.
    pub fn set_reorder(&self, p: f64) -> Result<(), FaultError> {
        self.update(|plan| plan.reorder = p)
    }

    /// Probability of holding a market message back for `delay`.
    pub fn set_delay(&self, p: f64, delay: Duration) -> Result<(), FaultError> {
        self.update(|plan| {
            plan.delay = p;
            plan.delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        })
    }

    /// Probability of sending a market message malformed.
    pub fn set_malformed(&self, p: f64) -> Result<(), FaultError> {
        self.update(|plan| plan.malformed = p)
    }

    /// Close every connection every `every` (`None`: never).
    pub fn set_close_every(&self, every: Option<Duration>) {
        lock(&self.faults.state).plan.close_every = every;
    }

    /// Closes every open connection now (TCP shutdown, no close frame, as a network
    /// failure would).
    pub fn close_all_now(&self) {
        self.faults.close_all();
    }

    /// Stops the market (no steps, no messages) for `duration` from now; in real-time
    /// pacing the backlog is then sent in a burst, as after a real stall.
    pub fn stall_for(&self, duration: Duration) {
        lock(&self.faults.state).stall_until = Some(Instant::now() + duration);
    }

    /// Refuses (accepts and closes at once) every new connection for `duration`.
    pub fn refuse_connections_for(&self, duration: Duration) {
        lock(&self.faults.state).refuse_conn_until = Some(Instant::now() + duration);
    }

    /// Refuses the next `n` new connections.
    pub fn refuse_next_connections(&self, n: u64) {
        lock(&self.faults.state).refuse_conn_next = n;
    }

    /// Answers every REST request with HTTP 503 for `duration`.
    pub fn refuse_rest_for(&self, duration: Duration) {
        lock(&self.faults.state).refuse_rest_until = Some(Instant::now() + duration);
    }

    /// Back to a faultless Binance: zero probabilities, no periodic close, no pending
    /// stall or refusal (the seed is kept).
    pub fn clear(&self) {
        let mut s = lock(&self.faults.state);
        let seed = s.plan.seed;
        s.plan = FaultPlan {
            seed,
            ..FaultPlan::default()
        };
        s.rng = Prng::new(seed);
        s.stall_until = None;
        s.refuse_conn_until = None;
        s.refuse_conn_next = 0;
        s.refuse_rest_until = None;
    }

    /// Applies the admin endpoint's parameters (see the server's module doc), all or
    /// nothing: the first bad parameter is the error and nothing is changed.
    pub fn apply_params<'a>(
        &self,
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), FaultError> {
        let params: Vec<(&str, &str)> = params.into_iter().collect();
        let mut plan = self.plan();
        let mut actions: Vec<Action> = Vec::new();
        let mut reseed = false;
        for &(name, value) in &params {
            let bad = |msg: &str| FaultError::BadParameter {
                name: name.to_string(),
                msg: msg.to_string(),
            };
            let prob = || -> Result<f64, FaultError> {
                value
                    .parse::<f64>()
                    .map_err(|_| bad("expected a probability such as 0.01"))
            };
            let ms = || -> Result<u64, FaultError> {
                value
                    .parse::<u64>()
                    .map_err(|_| bad("expected whole milliseconds"))
            };
            match name {
                "seed" => {
                    plan.seed = value
                        .parse()
                        .map_err(|_| bad("expected an unsigned integer"))?;
                    reseed = true;
                }
                "drop" => plan.drop = prob()?,
                "duplicate" => plan.duplicate = prob()?,
                "reorder" => plan.reorder = prob()?,
                "delay" => plan.delay = prob()?,
                "delay_ms" => plan.delay_ms = ms()?,
                "malformed" => plan.malformed = prob()?,
                "close_every_ms" => {
                    let v = ms()?;
                    plan.close_every = (v > 0).then(|| Duration::from_millis(v));
                }
                "close_all" => match value {
                    "1" | "true" => actions.push(Box::new(|f| f.close_all_now())),
                    "0" | "false" => {}
                    _ => return Err(bad("expected 1 or 0")),
                },
                "stall_ms" => {
                    let d = Duration::from_millis(ms()?);
                    actions.push(Box::new(move |f| f.stall_for(d)));
                }
                "refuse_conn_ms" => {
                    let d = Duration::from_millis(ms()?);
                    actions.push(Box::new(move |f| f.refuse_connections_for(d)));
                }
                "refuse_conn_next" => {
                    let n = ms()?;
                    actions.push(Box::new(move |f| f.refuse_next_connections(n)));
                }
                "refuse_rest_ms" => {
                    let d = Duration::from_millis(ms()?);
                    actions.push(Box::new(move |f| f.refuse_rest_for(d)));
                }
                "clear" => match value {
                    "1" | "true" => {
                        let seed = plan.seed;
                        plan = FaultPlan {
                            seed,
                            ..FaultPlan::default()
                        };
                        actions.push(Box::new(|f| {
                            let mut s = lock(&f.faults.state);
                            s.stall_until = None;
                            s.refuse_conn_until = None;
                            s.refuse_conn_next = 0;
                            s.refuse_rest_until = None;
                        }));
                    }
                    "0" | "false" => {}
                    _ => return Err(bad("expected 1 or 0")),
                },
                _ => return Err(bad("unknown fault parameter")),
            }
        }
        plan.validate()?;
        {
            let mut s = lock(&self.faults.state);
            if reseed {
                s.rng = Prng::new(plan.seed);
            }
            s.plan = plan;
        }
        for action in actions {
            action(self);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prng_is_deterministic_and_uniform() {
        let mut a = Prng::new(7);
        let mut b = Prng::new(7);
        let mut sum = 0.0;
        for _ in 0..10_000 {
            let x = a.next_f64();
            assert_eq!(x.to_bits(), b.next_f64().to_bits());
            assert!((0.0..1.0).contains(&x));
            sum += x;
        }
        let mean = sum / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
        assert_ne!(Prng::new(8).next_u64(), Prng::new(7).next_u64());
    }

    #[test]
    fn decisions_follow_probabilities() {
        type Case = (FaultPlan, fn(&Decision) -> bool, f64);
        let cases: &[Case] = &[
            // TC0: no faults by default
            (FaultPlan::default(), |d| *d != Decision::default(), 0.0),
            // TC1: drop everything
            (
                FaultPlan {
                    drop: 1.0,
                    ..FaultPlan::default()
                },
                |d| d.drop,
                1.0,
            ),
            // TC2: duplicate about a quarter
            (
                FaultPlan {
                    duplicate: 0.25,
                    ..FaultPlan::default()
                },
                |d| d.duplicate,
                0.25,
            ),
            // TC3: malformed, each kind present
            (
                FaultPlan {
                    malformed: 0.5,
                    ..FaultPlan::default()
                },
                |d| d.malformed.is_some(),
                0.5,
            ),
        ];
        for (i, (plan, pick, expected)) in cases.iter().enumerate() {
            let faults = Faults::new(plan.clone());
            let n = 4000;
            let hits = (0..n).filter(|_| pick(&faults.decide())).count();
            let rate = hits as f64 / n as f64;
            assert!((rate - expected).abs() < 0.03, "TC{i}: rate {rate}");
        }
    }

    #[test]
    fn admin_params() {
        let control = FaultControl {
            faults: Arc::new(Faults::new(FaultPlan::default())),
        };
        // TC0: probabilities and delay
        control
            .apply_params([("drop", "0.5"), ("delay", "0.1"), ("delay_ms", "20")])
            .expect("TC0");
        let plan = control.plan();
        assert_eq!((plan.drop, plan.delay, plan.delay_ms), (0.5, 0.1, 20));
        // TC1: out of range probability: nothing changes
        assert!(control
            .apply_params([("duplicate", "0.2"), ("drop", "1.5")])
            .is_err());
        assert_eq!(control.plan().duplicate, 0.0, "TC1");
        // TC2: unknown parameter
        assert!(control.apply_params([("explode", "1")]).is_err(), "TC2");
        // TC3: actions
        let epoch = control.faults.close_epoch();
        control
            .apply_params([("close_all", "1"), ("refuse_conn_next", "2")])
            .expect("TC3");
        assert_eq!(control.faults.close_epoch(), epoch + 1, "TC3");
        let now = Instant::now();
        assert!(control.faults.refuse_connection(now));
        assert!(control.faults.refuse_connection(now));
        assert!(!control.faults.refuse_connection(now), "TC3: only two");
        // TC4: clear
        control.apply_params([("clear", "1")]).expect("TC4");
        assert_eq!(control.plan().drop, 0.0, "TC4");
    }
}
