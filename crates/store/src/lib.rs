//! frontdesk-store: what the gateway keeps, behind the [`Store`] trait, with SQLite by default.
//!
//! # Design
//! - **One trait, split by area** ([`SchedulingStore`], [`CallStore`], [`FlowStore`],
//!   [`ApiKeyStore`], [`OptOutStore`]; [`Store`] is all of them). Synchronous: the tokio shell
//!   calls it on a blocking thread through `Arc<dyn Store>`. A Postgres backend (several nodes
//!   sharing state) implements the same traits later; nothing in the API names SQLite.
//! - **Times are passed in** (`now`); nothing reads a clock. Instants are stored as UTC
//!   milliseconds since the Unix epoch (`*_ms` INTEGER columns) with the IANA zone name beside
//!   appointment times (R44), so DST never changes a stored instant.
//! - **[`SqliteStore`]**: one file `frontdesk.db` in the data directory (`--data DIR`, default
//!   `./data`), WAL journal, `synchronous=FULL` (a confirmed booking or an opt-out must survive a
//!   power cut, not only a crash; in WAL mode FULL costs one fsync per commit, and we commit a
//!   few times per call), `busy_timeout` 5 s, foreign keys on. Every write is one
//!   `BEGIN IMMEDIATE` transaction: writers queue on the database lock instead of failing on a
//!   read-to-write upgrade, so the overlap check and the insert see the same state.
//! - **Migrations** are numbered SQL scripts run at open in one transaction that also sets
//!   `PRAGMA user_version`; a database with a newer version is refused
//!   ([`StoreError::SchemaTooNew`]), a non-SQLite or corrupt file gives
//!   [`StoreError::NotADatabase`] naming the file and what to do, and another application's
//!   database ([`StoreError::ForeignDatabase`]) is recognised by `PRAGMA application_id`.
//! - **No double booking** (R42): holds and appointments are checked for overlap (buffers
//!   included, the rule of `frontdesk_schedule::check_conflict`) inside the write transaction,
//!   and a partial UNIQUE index on `(resource_id, start_ms) WHERE status = 'booked'` (and one on
//!   live holds) backs it for any writer that skips the check. Either way the loser gets
//!   [`StoreError::Conflict`].
//! - **Holds** carry an expiry (passed-in `now` + ttl) and an optional idempotency key; expired
//!   holds are swept inside the next hold transaction. Booking needs a live hold.
//! - **Reschedule** books the new appointment and marks the old one `rescheduled` in one
//!   transaction; a conflict rolls back everything. Cancel frees the slot at once (status, not
//!   delete: the record is kept).
//! - **Flow versions** are immutable once published, enforced by triggers in the schema as well
//!   as by the code. **API keys** are stored as SHA-256 of a 256-bit random key (no salt needed
//!   for random keys) with a display prefix. **Opt-outs** keep the first request per number and
//!   log every request (R12).
//! - **[`exec`]** runs a flow's scheduling request (`frontdesk_schedule::ScheduleOp`) against the
//!   store and the scheduling core and gives the outcome back (the shell side of a flow).
//! - **[`QueryStore`]** serves the HTTP API: calls listed by filters with keyset pagination
//!   (newest first), flow summaries, in-place draft updates, and a write probe for readiness.
//! - **[`EventStore`]** is a transactional outbox: call and appointment writes insert their
//!   event (`call.started`, `call.turn`, `call.ended`, `appointment.booked`/`cancelled`/
//!   `rescheduled`) and one pending delivery per matching webhook subscription in the same
//!   transaction; `add_event` writes events with no store change (`call.transferred`). Listeners
//!   registered with `on_events` run after such a commit (the webhook dispatcher's wake-up).
//! - Caller numbers and transcript text are [`frontdesk_types::Pii`] in the records, so they
//!   never reach a log line by accident.

mod appointments_api;
mod error;
mod events;
pub mod exec;
mod model;
mod query;
mod sqlite;
mod traits;

pub use appointments_api::{
    Amend, AppointmentApiStore, AppointmentQuery, AppointmentView, DirectBooked, DirectBooking,
    IdempotencyKey,
};
pub use error::{BackendError, StoreError};
pub use events::{
    AttemptOutcome, Delivery, DeliveryAttempt, DeliveryQuery, DeliveryStatus, EVENT_TYPES, Event,
    EventListener, EventStore, NewWebhook, PendingDelivery, WebhookSubscription, check_event_type,
    delivery_public_id,
};
pub use model::{
    ApiKeyInfo, Appointment, AppointmentId, AppointmentStatus, CallRecord, Caller, DEFAULT_HOLD_TTL,
    Direction, FlowVersion, HoldId, HoldRecord, NewApiKey, NewCall, NewHold, NewSlot, OptOut, Turn,
    normalize_phone,
};
pub use query::{CallQuery, FlowSummary, QueryStore};
pub use sqlite::{DB_FILE_NAME, DEFAULT_DATA_DIR, SCHEMA_VERSION, SqliteStore};
pub use traits::{ApiKeyStore, CallStore, FlowStore, OptOutStore, SchedulingStore, Store};

/// 32 bytes from the operating system's random source, for [`ApiKeyStore::create_api_key`].
///
/// # Errors
/// [`StoreError::Invalid`] when the OS has no random source.
pub fn random_key_bytes() -> Result<[u8; 32], StoreError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| StoreError::Invalid(format!("no OS random source: {e}")))?;
    Ok(b)
}

/// Lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    let digest = sha2::Sha256::digest(data);
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        let _ = write!(s, "{b:02x}");
    }
    s
}
