//! The `Store` trait, split by area so each backend file implements one part.
//!
//! Synchronous on purpose: SQLite is a synchronous library, every operation is short (one
//! transaction, indexed), and an async trait would force boxed futures or a runtime on this
//! crate. The tokio shell calls the store on a blocking thread (`spawn_blocking`) through an
//! `Arc<dyn Store>`; a Postgres backend for several nodes can implement the same traits with the
//! synchronous `postgres` client (or a pool), and the shell's wrapper does not change.
//!
//! Time is always passed in (`now`): nothing here reads a clock.

use frontdesk_schedule::{AppointmentType, Occupancy, Resource, ResourceId};
use frontdesk_types::CallId;
use jiff::Timestamp;

use crate::{
    ApiKeyInfo, Appointment, AppointmentId, CallRecord, Caller, FlowVersion, HoldId, HoldRecord, NewApiKey,
    NewCall, NewHold, NewSlot, OptOut, StoreError, Turn,
};

/// Resources, appointment types, holds and appointments (R41-R44).
pub trait SchedulingStore {
    /// Inserts or replaces a resource with its hours, exceptions and holidays.
    fn put_resource(&self, resource: &Resource) -> Result<(), StoreError>;
    /// A resource by id.
    fn resource(&self, id: &ResourceId) -> Result<Option<Resource>, StoreError>;
    /// All resources, by id.
    fn resources(&self) -> Result<Vec<Resource>, StoreError>;
    /// Inserts or replaces an appointment type.
    fn put_appointment_type(&self, kind: &AppointmentType) -> Result<(), StoreError>;
    /// An appointment type by id.
    fn appointment_type(&self, id: &str) -> Result<Option<AppointmentType>, StoreError>;
    /// All appointment types, by id.
    fn appointment_types(&self) -> Result<Vec<AppointmentType>, StoreError>;

    /// Holds a slot until `now + ttl`. A request whose idempotency key names a live hold returns
    /// that hold (the same request retried).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the slot overlaps a booking or a live hold;
    /// [`StoreError::IdempotencyKeyReused`] when the key names a hold for another slot.
    fn hold(&self, req: &NewHold, now: Timestamp) -> Result<HoldRecord, StoreError>;
    /// Releases a hold; returns whether it existed.
    fn release_hold(&self, id: HoldId) -> Result<bool, StoreError>;
    /// Books the slot of a live hold for `caller`. When the hold replaces an appointment
    /// (reschedule), that appointment is released in the same transaction, after the new one is
    /// in place. Booking an already-booked hold again returns the same appointment.
    ///
    /// # Errors
    /// [`StoreError::HoldNotFound`], [`StoreError::HoldExpired`], [`StoreError::Conflict`],
    /// [`StoreError::NotBooked`] when the replaced appointment was cancelled meanwhile.
    fn book_from_hold(&self, id: HoldId, caller: &Caller, now: Timestamp) -> Result<Appointment, StoreError>;
    /// Cancels a booked appointment; its slot is free at once.
    fn cancel(&self, id: AppointmentId, now: Timestamp) -> Result<Appointment, StoreError>;
    /// Moves a booked appointment in ONE transaction: the new appointment is booked, then the old
    /// one marked rescheduled. If the new slot conflicts, nothing changes.
    fn reschedule(&self, id: AppointmentId, to: &NewSlot, now: Timestamp) -> Result<Appointment, StoreError>;
    /// An appointment by id (any status).
    fn appointment(&self, id: AppointmentId) -> Result<Option<Appointment>, StoreError>;
    /// A caller's booked appointments ending after `after`, by start (the number is normalised).
    fn appointments_for_phone(&self, phone: &str, after: Timestamp) -> Result<Vec<Appointment>, StoreError>;
    /// What blocks availability in `[from, until)` at `now`: booked appointments and live holds
    /// (for `frontdesk_schedule::find_slots`).
    fn busy(&self, from: Timestamp, until: Timestamp, now: Timestamp) -> Result<Vec<Occupancy>, StoreError>;
}

/// Call records, their per-turn timeline and transcripts (R28).
pub trait CallStore {
    /// Records the start of a call.
    fn start_call(&self, call: &NewCall) -> Result<(), StoreError>;
    /// Appends a timeline row (the index must be new for the call).
    fn append_turn(&self, call: &CallId, turn: &Turn) -> Result<(), StoreError>;
    /// Records the end and disposition.
    fn end_call(&self, call: &CallId, ended_at: Timestamp, disposition: &str) -> Result<(), StoreError>;
    /// Records a whole call with its turns in one transaction (an importer, or a shell that writes
    /// at hang-up): all or nothing.
    fn record_call(&self, call: &NewCall, turns: &[Turn]) -> Result<(), StoreError>;
    /// A call by id.
    fn call(&self, id: &CallId) -> Result<Option<CallRecord>, StoreError>;
    /// A call's timeline, by turn index.
    fn turns(&self, id: &CallId) -> Result<Vec<Turn>, StoreError>;
    /// The transcript: `caller`/`agent` turns as `kind: text` lines.
    fn transcript(&self, id: &CallId) -> Result<String, StoreError>;
    /// Calls from or to a number, newest first (R22 data-subject requests).
    fn calls_for_phone(&self, phone: &str) -> Result<Vec<CallRecord>, StoreError>;
}

/// Flow versions: numbered per name, immutable once published.
pub trait FlowStore {
    /// Stores YAML as the next version of `name` (unpublished). Saving the same text as the latest
    /// version returns that version instead of a new one.
    fn save_flow(&self, name: &str, yaml: &str, now: Timestamp) -> Result<FlowVersion, StoreError>;
    /// Publishes a version (idempotent); from then on it cannot change.
    fn publish_flow(&self, name: &str, version: i64, now: Timestamp) -> Result<FlowVersion, StoreError>;
    /// A version.
    fn flow_version(&self, name: &str, version: i64) -> Result<Option<FlowVersion>, StoreError>;
    /// The newest published version (the one new calls run).
    fn published_flow(&self, name: &str) -> Result<Option<FlowVersion>, StoreError>;
    /// All versions of a flow, oldest first.
    fn flow_versions(&self, name: &str) -> Result<Vec<FlowVersion>, StoreError>;
    /// Deletes an unpublished version.
    ///
    /// # Errors
    /// [`StoreError::Immutable`] when it is published.
    fn delete_flow_draft(&self, name: &str, version: i64) -> Result<(), StoreError>;
}

/// API keys, stored as SHA-256 hashes.
pub trait ApiKeyStore {
    /// Creates a key from 32 random bytes (see [`crate::random_key_bytes`]); the full key is
    /// returned once and never stored.
    fn create_api_key(&self, label: &str, random: &[u8; 32], now: Timestamp)
    -> Result<NewApiKey, StoreError>;
    /// The key's record when `presented` is a known, unrevoked key.
    fn verify_api_key(&self, presented: &str) -> Result<Option<ApiKeyInfo>, StoreError>;
    /// Revokes a key; returns whether it was live.
    fn revoke_api_key(&self, id: i64, now: Timestamp) -> Result<bool, StoreError>;
    /// All keys (prefixes only), by id.
    fn api_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError>;
}

/// The company do-not-call list (R12, R13, R18): "stop calling me" persists across calls and
/// campaigns.
pub trait OptOutStore {
    /// Records an opt-out; every request is logged, the list keeps the first. Returns the entry.
    fn add_opt_out(
        &self,
        phone: &str,
        source: &str,
        call: Option<&CallId>,
        now: Timestamp,
    ) -> Result<OptOut, StoreError>;
    /// The entry for a number, if it opted out.
    fn opt_out(&self, phone: &str) -> Result<Option<OptOut>, StoreError>;
    /// How many requests were logged for a number (R12: record every request).
    fn opt_out_requests(&self, phone: &str) -> Result<u64, StoreError>;
}

/// Everything the gateway stores. Use as `Arc<dyn Store>`.
pub trait Store:
    SchedulingStore
    + CallStore
    + FlowStore
    + ApiKeyStore
    + OptOutStore
    + crate::QueryStore
    + crate::AppointmentApiStore
    + crate::EventStore
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: SchedulingStore
        + CallStore
        + FlowStore
        + ApiKeyStore
        + OptOutStore
        + crate::QueryStore
        + crate::AppointmentApiStore
        + crate::EventStore
        + Send
        + Sync
{
}
