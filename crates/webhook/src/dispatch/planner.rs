//! The sans-IO delivery core: which pending deliveries to send at `now`, and what an attempt's
//! result means (delivered, retry at some time, or give up).
//!
//! Contract: the shell loads the head of every (subscription, call) group from the store
//! ([`Head`]s), calls [`Planner::plan`] with the time, sends what it returns, and sleeps until
//! [`Plan::wake_at`] (or until an attempt finishes or new events arrive). When an attempt
//! finishes it calls [`Planner::complete`] with the time and the result, and records the returned
//! [`DeliveryAttempt`] in the store before planning again.
//!
//! Rules:
//! - **Order per group**: at most one delivery of a (subscription, group) is in flight, and of
//!   several candidates of a group only the one with the smallest event sequence is considered,
//!   so an event is never sent before the previous one of its call (for that subscription) is
//!   delivered or has failed. Events without a call form one group per subscription.
//! - **Independence**: groups do not wait for each other; a retrying group only holds itself.
//! - **Bounds**: at most [`Limits::per_subscription`] attempts in flight per subscription and
//!   [`Limits::total`] overall; due deliveries over the bounds wait for a completion.
//! - **Backoff** ([`Backoff`]): after the n-th failed attempt the next one is
//!   `schedule[n-1]` later (the last entry repeats), stretched or shrunk by up to `jitter` (a
//!   fraction) with a seeded generator. After `max_attempts` attempts, or when the next attempt
//!   would start more than `max_age` after the first, the delivery fails.
//!
//! Nothing here reads a clock or does I/O.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use frontdesk_store::{AttemptOutcome, DeliveryAttempt, PendingDelivery};
use jiff::{SignedDuration, Timestamp};

/// The retry schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// Wait after the 1st, 2nd... failed attempt; the last entry repeats.
    pub schedule: Vec<Duration>,
    /// Each wait is multiplied by a factor drawn uniformly from `[1 - jitter, 1 + jitter]`
    /// (clamped to `0..=1`).
    pub jitter: f64,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// No attempt starts later than this after the first one.
    pub max_age: Duration,
}

impl Default for Backoff {
    /// 1 s, 5 s, 30 s, 2 min, 10 min, 30 min, then hourly; ±20 % jitter; at most 30 attempts
    /// within 24 h.
    fn default() -> Backoff {
        let s = Duration::from_secs;
        Backoff {
            schedule: vec![s(1), s(5), s(30), s(120), s(600), s(1800), s(3600)],
            jitter: 0.2,
            max_attempts: 30,
            max_age: s(24 * 3600),
        }
    }
}

/// In-flight bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Attempts in flight to one subscription.
    pub per_subscription: usize,
    /// Attempts in flight overall.
    pub total: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { per_subscription: 8, total: 64 }
    }
}

/// What the core needs of a pending delivery (the head of its group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub delivery: i64,
    pub subscription: i64,
    /// The ordering key (a call id, or empty).
    pub group: String,
    /// The event's sequence number (its id): smaller goes first within a group.
    pub seq: i64,
    /// Attempts made so far.
    pub attempts: u32,
    /// Due at this time (`Timestamp::MIN`: never attempted, due at once).
    pub next_attempt_at: Timestamp,
    pub first_attempt_at: Option<Timestamp>,
}

impl From<&PendingDelivery> for Head {
    fn from(d: &PendingDelivery) -> Head {
        Head {
            delivery: d.id,
            subscription: d.subscription,
            group: d.group.clone(),
            seq: d.event.id,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.unwrap_or(Timestamp::MIN),
            first_attempt_at: d.first_attempt_at,
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// The receiver answered with this HTTP status (2xx: delivered; anything else: retry).
    Status(u16),
    /// No complete answer within the timeout.
    Timeout { after: Duration },
    /// Could not connect or send (the reason has no caller data).
    Error(String),
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Deliveries to send now (they are in flight until [`Planner::complete`]).
    pub send: Vec<i64>,
    /// When a delivery that is not due yet becomes due (`None`: nothing waits on time; a
    /// completion or new events will call for a new plan).
    pub wake_at: Option<Timestamp>,
}

/// A small seeded generator (SplitMix64) for jitter.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1]`.
    fn symmetric(&mut self) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit * 2.0 - 1.0
    }
}

/// The delivery planner: in-flight bookkeeping, ordering, bounds and backoff.
#[derive(Debug, Clone)]
pub struct Planner {
    backoff: Backoff,
    limits: Limits,
    rng: Rng,
    in_flight: HashMap<i64, (i64, String)>,
    busy_groups: HashSet<(i64, String)>,
    per_sub: HashMap<i64, usize>,
}

impl Planner {
    /// A planner with a retry schedule, bounds and a jitter seed.
    pub fn new(backoff: Backoff, limits: Limits, seed: u64) -> Planner {
        Planner {
            backoff,
            limits: Limits { per_subscription: limits.per_subscription.max(1), total: limits.total.max(1) },
            rng: Rng(seed),
            in_flight: HashMap::new(),
            busy_groups: HashSet::new(),
            per_sub: HashMap::new(),
        }
    }

    /// Attempts in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether a delivery is in flight.
    pub fn is_in_flight(&self, delivery: i64) -> bool {
        self.in_flight.contains_key(&delivery)
    }

    /// Picks the deliveries to send at `now` among `heads` (see the module doc) and marks them in
    /// flight.
    pub fn plan(&mut self, now: Timestamp, heads: &[Head]) -> Plan {
        // The smallest sequence of each group, groups in order of due time then sequence.
        let mut first: HashMap<(i64, &str), &Head> = HashMap::new();
        for h in heads {
            let e = first.entry((h.subscription, h.group.as_str())).or_insert(h);
            if h.seq < e.seq {
                *e = h;
            }
        }
        let mut cands: Vec<&Head> = first.into_values().collect();
        cands.sort_by_key(|h| (h.next_attempt_at, h.seq, h.delivery));
        let mut plan = Plan::default();
        for h in cands {
            let group = (h.subscription, h.group.clone());
            if self.busy_groups.contains(&group) {
                continue;
            }
            let sub_busy = self.per_sub.get(&h.subscription).copied().unwrap_or(0);
            if sub_busy >= self.limits.per_subscription || self.in_flight.len() >= self.limits.total {
                continue;
            }
            if h.next_attempt_at > now {
                plan.wake_at = Some(plan.wake_at.map_or(h.next_attempt_at, |w| w.min(h.next_attempt_at)));
                continue;
            }
            self.in_flight.insert(h.delivery, group.clone());
            self.busy_groups.insert(group);
            *self.per_sub.entry(h.subscription).or_insert(0) += 1;
            plan.send.push(h.delivery);
        }
        plan
    }

    /// Takes a delivery out of flight without a result (its attempt was abandoned).
    pub fn abandon(&mut self, delivery: i64) {
        if let Some((sub, group)) = self.in_flight.remove(&delivery) {
            self.busy_groups.remove(&(sub, group));
            if let Some(n) = self.per_sub.get_mut(&sub) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.per_sub.remove(&sub);
                }
            }
        }
    }

    /// The result of an attempt of `head` (sent by this planner) finishing at `now`: takes it out
    /// of flight and says what to record.
    pub fn complete(&mut self, now: Timestamp, head: &Head, result: &AttemptResult) -> DeliveryAttempt {
        self.abandon(head.delivery);
        let attempts = head.attempts.saturating_add(1);
        let (status, error) = match result {
            AttemptResult::Status(s) if (200..300).contains(s) => {
                return DeliveryAttempt {
                    at: now,
                    outcome: AttemptOutcome::Delivered,
                    status: Some(*s),
                    error: None,
                };
            }
            AttemptResult::Status(s) => (Some(*s), format!("HTTP {s}")),
            AttemptResult::Timeout { after } => (None, format!("no answer within {} ms", after.as_millis())),
            AttemptResult::Error(e) => (None, e.clone()),
        };
        let first = head.first_attempt_at.unwrap_or(now);
        let outcome = if attempts >= self.backoff.max_attempts {
            AttemptOutcome::Failed
        } else {
            let next = now.saturating_add(signed(self.delay(attempts))).unwrap_or(Timestamp::MAX);
            let limit = first.saturating_add(signed(self.backoff.max_age)).unwrap_or(Timestamp::MAX);
            if next > limit { AttemptOutcome::Failed } else { AttemptOutcome::Retry { at: next } }
        };
        let error = match outcome {
            AttemptOutcome::Failed => Some(format!("{error}; gave up after {attempts} attempt(s)")),
            _ => Some(error),
        };
        DeliveryAttempt { at: now, outcome, status, error }
    }

    /// The wait after the `attempts`-th failed attempt, with jitter.
    pub fn delay(&mut self, attempts: u32) -> Duration {
        let i = usize::try_from(attempts.saturating_sub(1)).unwrap_or(usize::MAX);
        let base = self
            .backoff
            .schedule
            .get(i)
            .or(self.backoff.schedule.last())
            .copied()
            .unwrap_or(Duration::from_secs(1));
        let jitter = self.backoff.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 {
            return base;
        }
        base.mul_f64((1.0 + jitter * self.rng.symmetric()).max(0.0))
    }
}

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

#[cfg(test)]
#[path = "planner_tests.rs"]
mod tests;
