//! frontdesk-schedule: the scheduling core, sans-IO (the current time is always passed in).
//!
//! - [`nlu`]: dates and times as callers say them ([`parse_datetime`], [`read_back`]).
//! - [`calendar`]: resources (providers, rooms) with weekly hours, exceptions and holidays.
//! - [`booking`]: appointment types, holds with expiry, bookings, [`check_conflict`],
//!   reschedule (book new, then release old), cancel.
//! - [`slots`]: availability search with a part-of-day preference, at most N offers, spread out.
//! - [`ics`]: iCalendar (RFC 5545) confirmation.
//! - [`ops`]: the scheduling requests a flow makes and their outcomes (plain data).
//!
//! Instants are stored in UTC with the IANA zone name beside them; wall-clock arithmetic (DST)
//! uses `jiff` with its bundled tz database, so answers do not depend on the host's zoneinfo.
//! Nothing here reads a clock.

pub mod booking;
pub mod calendar;
pub mod ics;
pub mod nlu;
pub mod ops;
pub mod slots;

pub use booking::{AppointmentType, Booking, Hold, HoldRequest, Occupancy, Schedule, check_conflict};
pub use calendar::{Exception, Resource, ResourceId, ResourceKind, WallInterval, WeeklyHours};
pub use ics::{IcsEvent, to_ics};
pub use nlu::{DateTimeMatch, Grain, Holiday, local_now, parse_datetime, read_back, rfc3339};
pub use ops::{AppointmentInfo, Offer, ScheduleOp, ScheduleOutcome};

/// The `jiff` this crate's API speaks (so callers need not pin their own copy).
pub use jiff;
pub use slots::{Slot, SlotQuery, find_slots, range_for};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// Nothing date- or time-like was recognised in the text.
    #[error("no date or time recognised")]
    NotRecognised,
    /// A date/time computation went out of range or a zone lookup failed.
    #[error("date/time error: {0}")]
    Time(String),
    /// Invalid configuration or request (e.g. an interval that ends before it starts).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The slot overlaps a booking or a live hold on the same resource.
    #[error("slot conflicts with an existing booking or hold on {resource} at {start}")]
    Conflict { resource: String, start: String },
    #[error("hold {0} not found")]
    HoldNotFound(String),
    #[error("hold {0} expired")]
    HoldExpired(String),
    #[error("booking {0} not found")]
    BookingNotFound(String),
}

impl ScheduleError {
    pub(crate) fn time(e: jiff::Error) -> ScheduleError {
        ScheduleError::Time(e.to_string())
    }
}

/// The error of [`parse_datetime`] (the crate has one error enum).
pub type NluError = ScheduleError;
