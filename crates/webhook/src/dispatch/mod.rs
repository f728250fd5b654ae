//! Event delivery to webhook subscriptions: a sans-IO planner ([`planner`]) and its tokio shell
//! ([`spawn`]).
//!
//! The store writes every event with the change that causes it and fans it out into pending
//! deliveries in the same transaction (a transactional outbox, see `frontdesk_store::EventStore`).
//! The dispatcher task here:
//! 1. loads the head pending delivery of each (subscription, call) group (on a blocking thread),
//! 2. asks the [`Planner`] which are due at the current wall time within the in-flight bounds,
//! 3. POSTs each on its own task with [`WebhookClient::post_once`]: the event's JSON payload,
//!    `X-Frontdesk-Event` (the type), `X-Frontdesk-Delivery` (`dlv_<n>`, stable across retries:
//!    receivers deduplicate on it) and `X-Frontdesk-Signature` (HMAC-SHA256 with the
//!    subscription's secret, see [`crate::sign`]),
//! 4. when an attempt ends (2xx: delivered; anything else, a timeout or a connection error:
//!    retry with backoff; give up after the planner's limits) records it in the store before
//!    planning again.
//!
//! Finished deliveries and their events older than [`DispatchConfig::retention`] (30 days) are
//! pruned at start and hourly; pending ones are kept whatever their age.
//!
//! It wakes when events are committed (the store's listener, or [`DispatcherHandle::notify`]),
//! when an attempt ends, when the next retry is due, and at least every
//! [`DispatchConfig::poll_interval`]. Delivery state lives in the database, so a restart resumes
//! where it stopped; an attempt cut short by a stop is made again (at least once: receivers may
//! see a delivery id twice). Emitting an event is only row inserts: a slow or dead receiver holds
//! up its own group of deliveries, never a call or an API request.

pub mod planner;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use frontdesk_store::{PendingDelivery, Store, StoreError, delivery_public_id};
use jiff::Timestamp;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;

pub use self::planner::{AttemptResult, Backoff, Head, Limits, Plan, Planner};
use crate::{WebhookClient, WebhookError};

/// The event type header.
pub const EVENT_HEADER: &str = "X-Frontdesk-Event";
/// The delivery id header (`dlv_<n>`): the same on every attempt of a delivery.
pub const DELIVERY_HEADER: &str = "X-Frontdesk-Delivery";

/// Where the dispatcher gets the wall time (retry times are stored as wall time; signatures carry
/// unix seconds).
pub trait WallClock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    #[allow(clippy::disallowed_methods, reason = "the dispatcher shell's one wall-clock read")]
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// How the dispatcher runs.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Per attempt: connect, send and the whole answer.
    pub timeout: Duration,
    /// The longest sleep without a wake-up (a fallback for writers in other processes).
    pub poll_interval: Duration,
    /// Groups loaded per round.
    pub batch: u32,
    pub backoff: Backoff,
    pub limits: Limits,
    /// Seed of the jitter generator.
    pub seed: u64,
    /// Largest answer body read (the rest is dropped).
    pub max_body: usize,
    /// Finished deliveries and their events are deleted this long after their last attempt
    /// (`None`: kept forever). Checked at start and then every [`DispatchConfig::prune_every`].
    pub retention: Option<Duration>,
    pub prune_every: Duration,
    pub clock: Arc<dyn WallClock>,
}

impl Default for DispatchConfig {
    fn default() -> DispatchConfig {
        DispatchConfig {
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            batch: 1000,
            backoff: Backoff::default(),
            limits: Limits::default(),
            seed: 0x5EED,
            max_body: 64 * 1024,
            retention: Some(Duration::from_secs(30 * 24 * 3600)),
            prune_every: Duration::from_secs(3600),
            clock: Arc::new(SystemClock),
        }
    }
}

/// The running dispatcher. Dropping it stops the dispatcher like [`DispatcherHandle::stop`]
/// without waiting.
#[derive(Debug)]
pub struct DispatcherHandle {
    notify: Arc<Notify>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl DispatcherHandle {
    /// Wakes the dispatcher (after events were written by a store it is not listening to).
    pub fn notify(&self) {
        self.notify.notify_one();
    }

    /// Stops the dispatcher and waits for its task; attempts in flight are abandoned (their
    /// deliveries stay pending and are sent again by the next dispatcher).
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for DispatcherHandle {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Starts the dispatcher on the current tokio runtime. It registers a listener on the store, so
/// events written through this store wake it at once.
pub fn spawn(store: Arc<dyn Store>, config: DispatchConfig) -> DispatcherHandle {
    let notify = Arc::new(Notify::new());
    let n = notify.clone();
    store.on_events(Arc::new(move || n.notify_one()));
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(run(store, config, notify.clone(), stop_rx));
    DispatcherHandle { notify, stop: Some(stop_tx), task: Some(task) }
}

async fn db<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .unwrap_or_else(|e| Err(StoreError::Invalid(format!("store task failed: {e}"))))
}

async fn run(
    store: Arc<dyn Store>,
    config: DispatchConfig,
    notify: Arc<Notify>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut planner = Planner::new(config.backoff.clone(), config.limits, config.seed);
    let client = WebhookClient::new();
    let mut attempts: JoinSet<(PendingDelivery, AttemptResult)> = JoinSet::new();
    let mut tasks: HashMap<tokio::task::Id, i64> = HashMap::new();
    let mut prune = tokio::time::interval(config.prune_every.max(Duration::from_secs(1)));
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!("webhook dispatcher started");
    loop {
        let mut sleep_for = config.poll_interval;
        let batch = config.batch;
        match db(&store, move |s| s.pending_deliveries(batch)).await {
            Ok(pending) => {
                let now = config.clock.now();
                let heads: Vec<Head> = pending.iter().map(Head::from).collect();
                let plan = planner.plan(now, &heads);
                let mut by_id: HashMap<i64, PendingDelivery> =
                    pending.into_iter().map(|d| (d.id, d)).collect();
                for id in plan.send {
                    if let Some(d) = by_id.remove(&id) {
                        let task = attempts.spawn(attempt(client.clone(), d, config.clone()));
                        tasks.insert(task.id(), id);
                    }
                }
                if let Some(at) = plan.wake_at {
                    let wait = Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO);
                    sleep_for = sleep_for.min(wait);
                }
            }
            Err(e) => tracing::warn!("webhook dispatcher: cannot read pending deliveries: {e}"),
        }
        tokio::select! {
            _ = &mut stop => break,
            () = notify.notified() => {}
            Some(done) = attempts.join_next_with_id(), if !attempts.is_empty() => {
                let mut next = Some(done);
                // Record every attempt that has ended, before planning again.
                while let Some(done) = next {
                    match done {
                        Ok((task, (d, result))) => {
                            tasks.remove(&task);
                            finish(&store, &config, &mut planner, d, result).await;
                        }
                        Err(e) => {
                            // A panicked attempt: its delivery stays pending and is tried again.
                            if let Some(id) = tasks.remove(&e.id()) {
                                tracing::warn!(delivery = id, "webhook attempt task failed: {e}");
                                planner.abandon(id);
                            }
                        }
                    }
                    next = attempts.try_join_next_with_id();
                }
            }
            () = tokio::time::sleep(sleep_for) => {}
            _ = prune.tick(), if config.retention.is_some() => {
                prune_old(&store, &config).await;
            }
        }
    }
    attempts.shutdown().await;
    tracing::info!("webhook dispatcher stopped");
}

async fn prune_old(store: &Arc<dyn Store>, config: &DispatchConfig) {
    let Some(keep) = config.retention.and_then(|r| jiff::SignedDuration::try_from(r).ok()) else { return };
    let before = config.clock.now().saturating_sub(keep).unwrap_or(Timestamp::MIN);
    match db(store, move |s| s.prune_events(before)).await {
        Ok((0, 0)) => {}
        Ok((d, e)) => {
            tracing::info!(deliveries = d, events = e, "webhook dispatcher: pruned before {before}")
        }
        Err(e) => tracing::warn!("webhook dispatcher: cannot prune old events: {e}"),
    }
}

async fn finish(
    store: &Arc<dyn Store>,
    config: &DispatchConfig,
    planner: &mut Planner,
    d: PendingDelivery,
    result: AttemptResult,
) {
    let now = config.clock.now();
    let record = planner.complete(now, &Head::from(&d), &result);
    match &record.outcome {
        frontdesk_store::AttemptOutcome::Delivered => {
            tracing::debug!(delivery = d.id, subscription = d.subscription, "webhook delivered");
        }
        frontdesk_store::AttemptOutcome::Retry { at } => tracing::debug!(
            delivery = d.id,
            subscription = d.subscription,
            url = %d.url,
            retry_at = %at,
            "webhook attempt failed: {}",
            record.error.as_deref().unwrap_or("")
        ),
        frontdesk_store::AttemptOutcome::Failed => tracing::warn!(
            delivery = d.id,
            subscription = d.subscription,
            url = %d.url,
            "webhook delivery failed: {}",
            record.error.as_deref().unwrap_or("")
        ),
    }
    let id = d.id;
    if let Err(e) = db(store, move |s| s.record_attempt(id, &record)).await {
        // The delivery stays pending in the store: it is sent again (at least once).
        tracing::warn!(delivery = id, "webhook dispatcher: cannot record an attempt: {e}");
    }
}

async fn attempt(
    client: WebhookClient,
    d: PendingDelivery,
    config: DispatchConfig,
) -> (PendingDelivery, AttemptResult) {
    let body = Bytes::from(d.event.payload().to_string());
    let headers = [(EVENT_HEADER, d.event.kind.clone()), (DELIVERY_HEADER, delivery_public_id(d.id))];
    let unix = u64::try_from(config.clock.now().as_second()).unwrap_or(0);
    let secret = d.secret.expose().as_bytes();
    let r =
        client.post_once(&d.url, body, &headers, Some((secret, unix)), config.timeout, config.max_body).await;
    let result = match r {
        Ok(status) => AttemptResult::Status(status),
        Err(WebhookError::Timeout { .. }) => AttemptResult::Timeout { after: config.timeout },
        Err(e) => AttemptResult::Error(e.to_string()),
    };
    (d, result)
}
