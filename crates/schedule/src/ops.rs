//! Scheduling requests a flow makes and their outcomes: plain data passed between the sans-IO
//! flow machine (which emits a [`ScheduleOp`]) and the shell (which runs it against a store and
//! feeds the [`ScheduleOutcome`] back). Every request carries the instant it is made at (`now`),
//! so holds expire and searches start on the machine's clock, never on a clock read here.

use jiff::civil::Time;
use jiff::{Timestamp, Zoned};

/// One offered slot (a candidate from the availability search, not yet held).
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub resource: String,
    /// The provider's name as spoken ("Dr. Amelia Chen").
    pub resource_name: String,
    pub appointment_type: String,
    /// On the resource's wall clock.
    pub start: Zoned,
    pub end: Zoned,
}

/// A booked appointment as the flow sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AppointmentInfo {
    pub id: i64,
    pub resource: String,
    pub resource_name: String,
    pub appointment_type: String,
    /// The appointment type's name as spoken ("office visit").
    pub type_name: String,
    /// On the appointment's own wall clock.
    pub start: Zoned,
    pub end: Zoned,
}

/// A scheduling request.
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleOp {
    /// Open slots of `appointment_type` starting in `[from, until)` (optionally on one
    /// provider, optionally inside a wall-clock window), at most `max_offers`, spread out. When
    /// nothing is open in the range, the search widens to the `widen_days` local days after it.
    FindSlots {
        appointment_type: String,
        provider: Option<String>,
        from: Timestamp,
        until: Timestamp,
        window: Option<(Time, Time)>,
        max_offers: usize,
        widen_days: i64,
        now: Timestamp,
    },
    /// Holds an offered slot; `replaces` names the appointment a reschedule moves. `key` is an
    /// idempotency key (a retried request returns the same hold).
    Hold { offer: Offer, replaces: Option<i64>, key: String, now: Timestamp },
    /// Books a live hold for the caller (after an explicit yes). A hold that replaces an
    /// appointment releases it in the same transaction, after the new one is in place.
    Book { hold: i64, phone: String, name: Option<String>, now: Timestamp },
    /// Releases a hold the caller declined. No outcome is expected.
    Release { hold: i64 },
    /// The caller's booked appointments that have not ended (by number), or one by id.
    Lookup { phone: Option<String>, id: Option<i64>, now: Timestamp },
    /// Cancels a booked appointment; its slot is free at once.
    Cancel { appointment: i64, now: Timestamp },
}

impl ScheduleOp {
    /// Whether the machine waits for a [`ScheduleOutcome`] (every op but `Release`).
    pub fn expects_outcome(&self) -> bool {
        !matches!(self, ScheduleOp::Release { .. })
    }

    /// A short name for logs and turn summaries.
    pub fn name(&self) -> &'static str {
        match self {
            ScheduleOp::FindSlots { .. } => "find_slots",
            ScheduleOp::Hold { .. } => "hold",
            ScheduleOp::Book { .. } => "book",
            ScheduleOp::Release { .. } => "release",
            ScheduleOp::Lookup { .. } => "lookup",
            ScheduleOp::Cancel { .. } => "cancel",
        }
    }
}

/// The result of a [`ScheduleOp`].
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleOutcome {
    /// Open slots (empty: nothing open, even after widening). `widened` is true when none was
    /// open in the asked range and these are the nearest after it.
    Offers {
        offers: Vec<Offer>,
        widened: bool,
    },
    Held {
        hold: i64,
        expires_at: Timestamp,
    },
    /// Booked, with the iCalendar confirmation.
    Booked {
        appointment: AppointmentInfo,
        ics: String,
    },
    Appointments(Vec<AppointmentInfo>),
    Cancelled(AppointmentInfo),
    /// The slot was taken meanwhile (a booking or another caller's live hold).
    Conflict,
    /// The hold expired before the booking.
    Expired,
    /// No such appointment type, appointment or hold.
    NotFound,
    /// Anything else (storage unavailable); the flow escalates.
    Failed(String),
}
