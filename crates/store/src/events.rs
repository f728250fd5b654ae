//! Events and webhook subscriptions: the records of the transactional outbox and the
//! [`EventStore`] trait.
//!
//! An event (`call.started`, `appointment.booked`...) is written in the same transaction as the
//! change that causes it, and fanned out in that transaction into one pending delivery per
//! matching subscription. A dispatcher (`frontdesk_webhook::dispatch`) reads the pending
//! deliveries, POSTs them and records each attempt; emitting an event is only row inserts, so a
//! slow or dead receiver never holds up a call or an API request.
//!
//! Ordering: deliveries carry an ordering key, the call id (or none for events without a call).
//! [`EventStore::pending_deliveries`] returns only the oldest pending delivery of each
//! (subscription, key) group, so the next event of a call is never handed out before the
//! previous one is delivered or has failed.
//!
//! Payloads carry caller numbers and transcript text: data the business owns, sent to its own
//! receivers, but wrapped in [`Pii`] wherever a record could reach a log line.

use std::fmt;
use std::sync::Arc;

use frontdesk_types::{CallId, Pii};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::StoreError;

/// Every event type the gateway emits (a subscription may also name `*`: all of them).
pub const EVENT_TYPES: &[&str] = &[
    "call.started",
    "call.turn",
    "call.ended",
    "call.transferred",
    "appointment.booked",
    "appointment.cancelled",
    "appointment.rescheduled",
];

/// Checks an event type against [`EVENT_TYPES`] (`*` allowed when `wildcard`).
///
/// # Errors
/// [`StoreError::Invalid`] naming the type and listing the valid ones.
pub fn check_event_type(kind: &str, wildcard: bool) -> Result<(), StoreError> {
    if EVENT_TYPES.contains(&kind) || (wildcard && kind == "*") {
        return Ok(());
    }
    Err(StoreError::Invalid(format!(
        "unknown event type {kind:?}; valid types: {}{}",
        EVENT_TYPES.join(", "),
        if wildcard { ", or * for all" } else { "" }
    )))
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Increasing in commit order.
    pub id: i64,
    /// One of [`EVENT_TYPES`].
    pub kind: String,
    pub call_id: Option<CallId>,
    /// The event's data (may hold caller numbers and text: never log it).
    pub data: Pii<Value>,
    pub created_at: Timestamp,
}

impl Event {
    /// The public id (`evt_<n>`).
    pub fn public_id(&self) -> String {
        format!("evt_{}", self.id)
    }

    /// The JSON body sent to receivers: `{"id", "type", "created_at", "call_id"?, "data"}`.
    /// Keys are sorted, so the same event always serialises to the same bytes.
    pub fn payload(&self) -> Value {
        let mut v = json!({
            "id": self.public_id(),
            "type": self.kind,
            "created_at": self.created_at.to_string(),
            "data": self.data.expose(),
        });
        if let (Some(call), Some(o)) = (&self.call_id, v.as_object_mut()) {
            o.insert("call_id".into(), Value::String(call.0.clone()));
        }
        v
    }
}

/// A webhook subscription (never its secret: that is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSubscription {
    pub id: i64,
    pub url: String,
    /// Event types, or `*`.
    pub events: Vec<String>,
    pub created_at: Timestamp,
}

/// A freshly created subscription with its signing secret (the only time it is returned).
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub subscription: WebhookSubscription,
    /// `whsec_` + 64 hex digits; receivers verify `X-Frontdesk-Signature` with it.
    pub secret: Pii<String>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryStatus {
    /// Not delivered yet; will be attempted (again) at `next_attempt_at`.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Given up (too many attempts or too old).
    Failed,
}

impl DeliveryStatus {
    /// The stored (and API) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses the stored spelling.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] listing the valid values.
    pub fn parse(s: &str) -> Result<DeliveryStatus, StoreError> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            other => Err(StoreError::Invalid(format!(
                "delivery status {other:?}: use pending, delivered or failed"
            ))),
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event's delivery to one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub subscription: i64,
    pub event_id: i64,
    pub event_type: String,
    pub call_id: Option<CallId>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// When it is attempted next (pending only).
    pub next_attempt_at: Option<Timestamp>,
    pub last_attempt_at: Option<Timestamp>,
    /// The HTTP status of the last attempt, if an answer came.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: Timestamp,
}

impl Delivery {
    /// The public id (`dlv_<n>`), sent as `X-Frontdesk-Delivery` (receivers deduplicate on it).
    pub fn public_id(&self) -> String {
        delivery_public_id(self.id)
    }
}

/// `dlv_<n>`.
pub fn delivery_public_id(id: i64) -> String {
    format!("dlv_{id}")
}

/// Which deliveries of a subscription to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub subscription: i64,
    pub status: Option<DeliveryStatus>,
    /// Keyset cursor: only deliveries with a smaller id.
    pub before: Option<i64>,
    /// At most this many (1..=1000; 0 means 50).
    pub limit: u32,
}

impl DeliveryQuery {
    /// The effective row limit.
    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            0 => 50,
            n => n.min(1000),
        }
    }
}

/// The oldest pending delivery of one (subscription, call) group, with what sending it needs.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    pub id: i64,
    pub subscription: i64,
    pub url: String,
    pub secret: Pii<String>,
    /// The ordering key: the call id, or empty for events without a call.
    pub group: String,
    pub event: Event,
    pub attempts: u32,
    /// When the next attempt is due (`None`: never attempted, due at once; event times come
    /// from the writer's clock, so they do not decide when a first attempt may go).
    pub next_attempt_at: Option<Timestamp>,
    /// When the first attempt was made (the age limit counts from there).
    pub first_attempt_at: Option<Timestamp>,
}

/// What an attempt decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Try again at this time.
    Retry {
        at: Timestamp,
    },
    /// Give up.
    Failed,
}

/// One attempt of a delivery, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub at: Timestamp,
    pub outcome: AttemptOutcome,
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// Why it failed (no caller data in it: URL, status, timeout, connect error).
    pub error: Option<String>,
}

/// Called after a transaction that wrote events commits (the dispatcher's wake-up).
pub type EventListener = Arc<dyn Fn() + Send + Sync>;

/// Events, webhook subscriptions and their deliveries.
pub trait EventStore {
    /// Writes an event that has no store change of its own (`call.transferred`...), fanned out to
    /// the matching subscriptions in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a type not in [`EVENT_TYPES`].
    fn add_event(
        &self,
        kind: &str,
        call: Option<&CallId>,
        data: &Value,
        now: Timestamp,
    ) -> Result<Event, StoreError>;
    /// Events with an id above `after`, oldest first (at most `limit`).
    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>, StoreError>;
    /// Creates a subscription with a secret made from 32 random bytes (see
    /// [`crate::random_key_bytes`]). It receives events written from now on.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for no event types or an unknown one.
    fn create_webhook(
        &self,
        url: &str,
        events: &[String],
        random: &[u8; 32],
        now: Timestamp,
    ) -> Result<NewWebhook, StoreError>;
    /// A subscription by id.
    fn webhook(&self, id: i64) -> Result<Option<WebhookSubscription>, StoreError>;
    /// All subscriptions, by id.
    fn webhooks(&self) -> Result<Vec<WebhookSubscription>, StoreError>;
    /// Deletes a subscription and its deliveries (pending ones are never sent); returns whether
    /// it existed.
    fn delete_webhook(&self, id: i64) -> Result<bool, StoreError>;
    /// A subscription's deliveries, newest first.
    fn deliveries(&self, q: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError>;
    /// The oldest pending delivery of each (subscription, call) group, soonest due first (at most
    /// `limit` groups).
    fn pending_deliveries(&self, limit: u32) -> Result<Vec<PendingDelivery>, StoreError>;
    /// Records an attempt: the attempt count goes up, the status follows the outcome. A delivery
    /// deleted meanwhile (its subscription was deleted) is ignored.
    fn record_attempt(&self, delivery: i64, attempt: &DeliveryAttempt) -> Result<(), StoreError>;
    /// Deletes finished (delivered or failed) deliveries last attempted before `before`, then
    /// events older than `before` that no delivery refers to any more; returns (deliveries,
    /// events) deleted. Pending deliveries and their events are kept whatever their age.
    fn prune_events(&self, before: Timestamp) -> Result<(u64, u64), StoreError>;
    /// Registers a function called after every commit that wrote events.
    fn on_events(&self, listener: EventListener);
}
