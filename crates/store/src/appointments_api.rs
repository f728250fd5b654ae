//! What the HTTP API's appointments and resources endpoints need beyond [`crate::SchedulingStore`]:
//! create-only inserts of resources and appointment types, appointments listed by filters with
//! keyset pagination (by start, then id), a direct booking (hold and book in one transaction,
//! with an idempotency key), and amending an appointment (reschedule and notes in one
//! transaction). Notes and idempotency keys live in their own tables beside the appointments.

use frontdesk_schedule::{AppointmentType, Resource, ResourceId};
use jiff::Timestamp;

use crate::{Appointment, AppointmentId, AppointmentStatus, Caller, NewSlot, StoreError};

/// An appointment with what the API shows beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentView {
    pub appointment: Appointment,
    /// Free-text notes (`None`: none).
    pub notes: Option<String>,
    /// The appointment this one was rescheduled to, if it was.
    pub replaced_by: Option<AppointmentId>,
}

/// Which appointments to list, by start then id (earliest first).
#[derive(Debug, Clone, Default)]
pub struct AppointmentQuery {
    /// The caller's number (normalised like stored numbers).
    pub phone: Option<String>,
    pub resource: Option<ResourceId>,
    /// Starting at or after.
    pub from: Option<Timestamp>,
    /// Starting before.
    pub until: Option<Timestamp>,
    pub status: Option<AppointmentStatus>,
    /// Keyset cursor: only appointments strictly after this (start, id) pair.
    pub after: Option<(Timestamp, AppointmentId)>,
    /// At most this many rows (1..=1000; 0 means the default 50).
    pub limit: u32,
}

impl AppointmentQuery {
    /// The effective row limit.
    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            0 => 50,
            n => n.min(1000),
        }
    }
}

/// An idempotency key with the fingerprint of the request it was first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    /// Any stable text that identifies the request (the API uses a hash of its normalised body).
    pub fingerprint: String,
}

/// A booking without a prior hold: the first free resource of `resources` (in order) gets it.
#[derive(Debug, Clone)]
pub struct DirectBooking {
    /// Candidate resources, tried in order (at least one).
    pub resources: Vec<ResourceId>,
    pub appointment_type: String,
    pub start: Timestamp,
    pub caller: Caller,
    pub notes: Option<String>,
    pub idempotency: Option<IdempotencyKey>,
}

/// The result of [`AppointmentApiStore::book_direct`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectBooked {
    /// A new appointment.
    Booked(AppointmentView),
    /// The key was used before for the same request: that appointment, as it is now.
    Replayed(AppointmentView),
}

/// A change to an appointment: a new slot (a reschedule), new notes, or both.
#[derive(Debug, Clone, Default)]
pub struct Amend {
    /// Reschedule to this slot (the resource and zone default to the old ones).
    pub slot: Option<NewSlot>,
    /// `Some(None)` clears the notes, `Some(Some(text))` sets them, `None` keeps them.
    pub notes: Option<Option<String>>,
}

/// Store methods of the HTTP API's scheduling endpoints.
pub trait AppointmentApiStore {
    /// Inserts a resource unless one with its id exists; returns whether it was inserted.
    fn create_resource(&self, resource: &Resource) -> Result<bool, StoreError>;
    /// Inserts an appointment type unless one with its id exists; returns whether it was inserted.
    fn create_appointment_type(&self, kind: &AppointmentType) -> Result<bool, StoreError>;
    /// Appointments matching the query, earliest start first.
    fn list_appointments(&self, q: &AppointmentQuery) -> Result<Vec<AppointmentView>, StoreError>;
    /// One appointment (any status) with its notes.
    fn appointment_view(&self, id: AppointmentId) -> Result<Option<AppointmentView>, StoreError>;
    /// Holds and books in ONE transaction (the hold is booked at once, so the rules and records
    /// are those of `hold` + `book_from_hold`), saving notes and the idempotency key with it.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when every candidate resource is taken at that time;
    /// [`StoreError::IdempotencyKeyReused`] when the key was used for another request;
    /// [`StoreError::NotFound`] for an unknown resource or type; [`StoreError::Invalid`] for an
    /// empty candidate list or a bad phone number.
    fn book_direct(&self, req: &DirectBooking, now: Timestamp) -> Result<DirectBooked, StoreError>;
    /// The fingerprint stored with an idempotency key and the appointment it booked (as it is
    /// now), if the key was used.
    fn idempotent_booking(&self, key: &str) -> Result<Option<(String, AppointmentView)>, StoreError>;
    /// Reschedules (as [`crate::SchedulingStore::reschedule`]: new appointment, old one marked
    /// `rescheduled`, notes carried over) and/or sets notes, in ONE transaction. Returns the
    /// appointment as it is afterwards (the new one after a reschedule).
    ///
    /// # Errors
    /// Those of `reschedule`; [`StoreError::AppointmentNotFound`].
    fn amend_appointment(
        &self,
        id: AppointmentId,
        change: &Amend,
        now: Timestamp,
    ) -> Result<AppointmentView, StoreError>;
}
