//! [`EventStore`] for SQLite: the events outbox, webhook subscriptions and deliveries.
//!
//! [`insert_event`] is called inside the transaction of the change that causes the event (a call
//! started, a booking...): it inserts the event and, with one `INSERT ... SELECT`, a pending
//! delivery for every subscription whose `events_json` names the type or `*`. After such a
//! transaction commits, `SqliteStore::write` calls the registered listeners (the dispatcher's
//! wake-up), whichever method wrote the event.
//!
//! The pending-delivery query returns the head (smallest event id) of each (subscription,
//! ordering key) group only: one pass over the partial index on pending rows (GROUP BY), then a
//! lookup per head. Ids use
//! `AUTOINCREMENT`, so a delivery id (the receivers' idempotency key) is never reused.

use std::cell::Cell;
use std::sync::{Mutex, PoisonError};

use frontdesk_types::{CallId, Pii};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use super::{SqliteStore, ms, ts, ts_opt};
use crate::events::{
    AttemptOutcome, Delivery, DeliveryAttempt, DeliveryQuery, DeliveryStatus, Event, EventListener,
    EventStore, NewWebhook, PendingDelivery, WebhookSubscription, check_event_type,
};
use crate::{Appointment, StoreError};

/// The schema of events, subscriptions and deliveries (one migration script).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    call_id     TEXT,
    data_json   TEXT NOT NULL CHECK (json_valid(data_json)),
    created_ms  INTEGER NOT NULL
);
CREATE INDEX events_by_call ON events(call_id, id) WHERE call_id IS NOT NULL;
CREATE TABLE webhook_subscriptions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    url          TEXT NOT NULL,
    events_json  TEXT NOT NULL CHECK (json_valid(events_json) AND json_type(events_json) = 'array'),
    secret       TEXT NOT NULL,
    created_ms   INTEGER NOT NULL
);
-- One row per (subscription, event); order_key is the call id ('' for events without a call);
-- next_attempt_ms NULL: never attempted, due at once.
CREATE TABLE webhook_deliveries (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id   INTEGER NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_id          INTEGER NOT NULL REFERENCES events(id),
    order_key         TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_ms   INTEGER,
    first_attempt_ms  INTEGER,
    last_attempt_ms   INTEGER,
    last_status       INTEGER,
    last_error        TEXT,
    created_ms        INTEGER NOT NULL,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(subscription_id, order_key, event_id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_subscription ON webhook_deliveries(subscription_id, id);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries(event_id);
"#;

const SECRET_PREFIX: &str = "whsec_";

/// The functions called after a commit that wrote events.
#[derive(Default)]
pub(super) struct Listeners(Mutex<Vec<EventListener>>);

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().unwrap_or_else(PoisonError::into_inner).len();
        write!(f, "Listeners({n})")
    }
}

impl Listeners {
    fn add(&self, l: EventListener) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(l);
    }

    pub(super) fn fire(&self) {
        let ls = self.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for l in ls {
            l();
        }
    }
}

thread_local! {
    /// Set by [`insert_event`]; read and cleared by `SqliteStore::write` around each transaction,
    /// which runs on one thread under the connection lock, so the flag belongs to that
    /// transaction.
    static EMITTED: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread's transaction wrote events since the last call (and clears it).
pub(super) fn take_emitted() -> bool {
    EMITTED.with(|e| e.replace(false))
}

/// Inserts an event and its pending deliveries (inside the caller's transaction).
pub(super) fn insert_event(
    c: &Connection,
    kind: &str,
    call: Option<&CallId>,
    data: &Value,
    at: Timestamp,
) -> Result<i64, StoreError> {
    check_event_type(kind, false)?;
    c.execute(
        "INSERT INTO events (kind, call_id, data_json, created_ms) VALUES (?1, ?2, ?3, ?4)",
        params![kind, call.map(|c| c.0.as_str()), data.to_string(), ms(at)],
    )?;
    let id = c.last_insert_rowid();
    EMITTED.with(|e| e.set(true));
    c.execute(
        "INSERT INTO webhook_deliveries (subscription_id, event_id, order_key, status, next_attempt_ms, created_ms)
         SELECT s.id, ?1, ?2, 'pending', NULL, ?3 FROM webhook_subscriptions s
         WHERE EXISTS (SELECT 1 FROM json_each(s.events_json) j WHERE j.value IN ('*', ?4))",
        params![id, call.map_or("", |c| c.0.as_str()), ms(at), kind],
    )?;
    Ok(id)
}

/// An appointment as event data.
pub(super) fn appointment_json(a: &Appointment) -> Value {
    json!({
        "id": a.id.0,
        "resource": a.slot.resource.0,
        "appointment_type": a.appointment_type,
        "start": a.slot.start.to_string(),
        "end": a.slot.end.to_string(),
        "tz": a.tz,
        "status": a.status.as_str(),
        "caller": { "phone": a.caller.phone.expose(), "name": a.caller.name.as_ref().map(|n| n.expose()) },
        "replaces": a.replaces.map(|r| r.0),
        "created_at": a.created_at.to_string(),
    })
}

/// `appointment.booked` (or `appointment.rescheduled` when it replaces another).
pub(super) fn emit_booked(c: &Connection, a: &Appointment, now: Timestamp) -> Result<(), StoreError> {
    let id = match a.replaces {
        Some(old) => insert_event(
            c,
            "appointment.rescheduled",
            None,
            &json!({ "appointment": appointment_json(a), "previous_id": old.0 }),
            now,
        ),
        None => {
            insert_event(c, "appointment.booked", None, &json!({ "appointment": appointment_json(a) }), now)
        }
    };
    id.map(|_| ())
}

type EventRow = (i64, String, Option<String>, String, i64);

fn to_event((id, kind, call, data, created): EventRow) -> Result<Event, StoreError> {
    let data: Value =
        serde_json::from_str(&data).map_err(|e| StoreError::BadData(format!("event {id} data: {e}")))?;
    Ok(Event { id, kind, call_id: call.map(CallId), data: Pii::new(data), created_at: ts(created)? })
}

fn to_subscription(
    id: i64,
    url: String,
    events: &str,
    created: i64,
) -> Result<WebhookSubscription, StoreError> {
    let events: Vec<String> =
        serde_json::from_str(events).map_err(|e| StoreError::BadData(format!("webhook {id} events: {e}")))?;
    Ok(WebhookSubscription { id, url, events, created_at: ts(created)? })
}

fn subscription(c: &Connection, id: i64) -> Result<Option<WebhookSubscription>, StoreError> {
    let row: Option<(String, String, i64)> = c
        .query_row(
            "SELECT url, events_json, created_ms FROM webhook_subscriptions WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(url, ev, created)| to_subscription(id, url, &ev, created)).transpose()
}

fn status_u16(v: Option<i64>) -> Option<u16> {
    v.and_then(|s| u16::try_from(s).ok())
}

fn attempts_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl EventStore for SqliteStore {
    fn add_event(
        &self,
        kind: &str,
        call: Option<&CallId>,
        data: &Value,
        now: Timestamp,
    ) -> Result<Event, StoreError> {
        let id = self.write(|c| insert_event(c, kind, call, data, now))?;
        Ok(Event {
            id,
            kind: kind.to_string(),
            call_id: call.cloned(),
            data: Pii::new(data.clone()),
            created_at: now,
        })
    }

    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT id, kind, call_id, data_json, created_ms FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows: Vec<EventRow> = st
                .query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
                .collect::<Result<_, _>>()?;
            rows.into_iter().map(to_event).collect()
        })
    }

    fn create_webhook(
        &self,
        url: &str,
        events: &[String],
        random: &[u8; 32],
        now: Timestamp,
    ) -> Result<NewWebhook, StoreError> {
        use std::fmt::Write;
        if events.is_empty() {
            return Err(StoreError::Invalid("a webhook needs at least one event type (or * for all)".into()));
        }
        for e in events {
            check_event_type(e, true)?;
        }
        let mut events: Vec<String> = events.to_vec();
        events.sort();
        events.dedup();
        let mut secret = String::from(SECRET_PREFIX);
        for b in random {
            let _ = write!(secret, "{b:02x}");
        }
        let events_json = serde_json::to_string(&events).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.write(|c| {
            c.execute(
                "INSERT INTO webhook_subscriptions (url, events_json, secret, created_ms) VALUES (?1, ?2, ?3, ?4)",
                params![url, events_json, secret, ms(now)],
            )?;
            let id = c.last_insert_rowid();
            tracing::info!(id, url, "store: webhook subscription created");
            Ok(NewWebhook {
                subscription: WebhookSubscription { id, url: url.to_string(), events, created_at: now },
                secret: Pii::new(secret),
            })
        })
    }

    fn webhook(&self, id: i64) -> Result<Option<WebhookSubscription>, StoreError> {
        self.read(|c| subscription(c, id))
    }

    fn webhooks(&self) -> Result<Vec<WebhookSubscription>, StoreError> {
        self.read(|c| {
            let mut st =
                c.prepare("SELECT id, url, events_json, created_ms FROM webhook_subscriptions ORDER BY id")?;
            let rows: Vec<(i64, String, String, i64)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<_, _>>()?;
            rows.into_iter().map(|(id, url, ev, created)| to_subscription(id, url, &ev, created)).collect()
        })
    }

    fn delete_webhook(&self, id: i64) -> Result<bool, StoreError> {
        self.write(|c| {
            let n = c.execute("DELETE FROM webhook_subscriptions WHERE id = ?1", [id])?;
            if n == 1 {
                tracing::info!(id, "store: webhook subscription deleted");
            }
            Ok(n == 1)
        })
    }

    fn deliveries(&self, q: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT d.id, d.event_id, e.kind, e.call_id, d.status, d.attempts, d.next_attempt_ms,
                        d.last_attempt_ms, d.last_status, d.last_error, d.created_ms
                 FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
                 WHERE d.subscription_id = ?1 AND (?2 IS NULL OR d.status = ?2) AND (?3 IS NULL OR d.id < ?3)
                 ORDER BY d.id DESC LIMIT ?4",
            )?;
            type Row = (
                i64,
                i64,
                String,
                Option<String>,
                String,
                i64,
                Option<i64>,
                Option<i64>,
                Option<i64>,
                Option<String>,
                i64,
            );
            let rows: Vec<Row> = st
                .query_map(
                    params![
                        q.subscription,
                        q.status.map(DeliveryStatus::as_str),
                        q.before,
                        q.effective_limit()
                    ],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                            r.get(8)?,
                            r.get(9)?,
                            r.get(10)?,
                        ))
                    },
                )?
                .collect::<Result<_, _>>()?;
            rows.into_iter()
                .map(|(id, event_id, kind, call, status, attempts, next, last, last_status, err, created)| {
                    let status =
                        DeliveryStatus::parse(&status).map_err(|e| StoreError::BadData(e.to_string()))?;
                    Ok(Delivery {
                        id,
                        subscription: q.subscription,
                        event_id,
                        event_type: kind,
                        call_id: call.map(CallId),
                        status,
                        attempts: attempts_u32(attempts),
                        next_attempt_at: if status == DeliveryStatus::Pending { ts_opt(next)? } else { None },
                        last_attempt_at: ts_opt(last)?,
                        last_status: status_u16(last_status),
                        last_error: err,
                        created_at: ts(created)?,
                    })
                })
                .collect()
        })
    }

    fn pending_deliveries(&self, limit: u32) -> Result<Vec<PendingDelivery>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(
                "WITH heads AS (
                   SELECT subscription_id, min(event_id) AS event_id FROM webhook_deliveries
                   WHERE status = 'pending' GROUP BY subscription_id, order_key
                 )
                 SELECT d.id, d.subscription_id, s.url, s.secret, d.order_key, d.attempts, d.next_attempt_ms,
                        d.first_attempt_ms, e.id, e.kind, e.call_id, e.data_json, e.created_ms
                 FROM heads h
                 JOIN webhook_deliveries d ON d.subscription_id = h.subscription_id AND d.event_id = h.event_id
                 JOIN webhook_subscriptions s ON s.id = d.subscription_id
                 JOIN events e ON e.id = d.event_id
                 ORDER BY d.next_attempt_ms, d.id LIMIT ?1",
            )?;
            type Row = (i64, i64, String, String, String, i64, Option<i64>, Option<i64>, EventRow);
            let rows: Vec<Row> = st
                .query_map([limit], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        (r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?),
                    ))
                })?
                .collect::<Result<_, _>>()?;
            rows.into_iter()
                .map(|(id, subscription, url, secret, group, attempts, next, first, ev)| {
                    let event = to_event(ev)?;
                    Ok(PendingDelivery {
                        id,
                        subscription,
                        url,
                        secret: Pii::new(secret),
                        group,
                        attempts: attempts_u32(attempts),
                        next_attempt_at: ts_opt(next)?,
                        first_attempt_at: ts_opt(first)?,
                        event,
                    })
                })
                .collect()
        })
    }

    fn record_attempt(&self, delivery: i64, a: &DeliveryAttempt) -> Result<(), StoreError> {
        let (status, next) = match a.outcome {
            AttemptOutcome::Delivered => ("delivered", None),
            AttemptOutcome::Retry { at } => ("pending", Some(ms(at))),
            AttemptOutcome::Failed => ("failed", None),
        };
        self.write(|c| {
            c.execute(
                "UPDATE webhook_deliveries SET status = ?2, attempts = attempts + 1, next_attempt_ms = ?3,
                   first_attempt_ms = coalesce(first_attempt_ms, ?4), last_attempt_ms = ?4,
                   last_status = ?5, last_error = ?6
                 WHERE id = ?1 AND status = 'pending'",
                params![delivery, status, next, ms(a.at), a.status, a.error],
            )?;
            Ok(())
        })
    }

    fn prune_events(&self, before: Timestamp) -> Result<(u64, u64), StoreError> {
        self.write(|c| {
            let d = c.execute(
                "DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'failed')
                   AND coalesce(last_attempt_ms, created_ms) < ?1",
                [ms(before)],
            )?;
            let e = c.execute(
                "DELETE FROM events WHERE created_ms < ?1
                   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = events.id)",
                [ms(before)],
            )?;
            Ok((d as u64, e as u64))
        })
    }

    fn on_events(&self, listener: EventListener) {
        self.listeners.add(listener);
    }
}
