//! Appointment types, holds and bookings: the booking rules, pure and deterministic.
//!
//! Rules (domain rules R41-R44):
//! - Times are stored as UTC instants plus the IANA zone name they were booked in.
//! - A booking blocks `[start - buffer_before, end + buffer_after)` on its resource.
//! - A slot is first **held** (default expiry 120 s, the clock is passed in); a hold blocks its
//!   slot for others until it expires or is released. Booking requires a live hold:
//!   [`Schedule::confirm`] turns the hold into a booking, and fails when the hold is unknown or
//!   expired.
//! - No overlap per resource: [`check_conflict`] is the pure check used for holds and bookings.
//!   The storage layer adds a unique constraint on (resource, start) for concurrent writers; two
//!   attempts on the same slot give one success and one [`ScheduleError::Conflict`].
//! - Idempotency: a hold request carrying a key already used returns the same hold.
//! - Reschedule = hold the new slot (ignoring the booking it replaces), confirm it, then release the
//!   old booking; if the new booking fails, the old one is untouched.
//! - Cancel frees the slot immediately.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

use crate::ScheduleError;
use crate::calendar::ResourceId;

/// A kind of appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentType {
    pub id: String,
    pub name: String,
    pub duration: SignedDuration,
    pub buffer_before: SignedDuration,
    pub buffer_after: SignedDuration,
}

impl AppointmentType {
    /// An appointment type of `minutes` without buffers.
    pub fn minutes(id: &str, name: &str, minutes: i64) -> AppointmentType {
        AppointmentType {
            id: id.to_string(),
            name: name.to_string(),
            duration: SignedDuration::from_mins(minutes),
            buffer_before: SignedDuration::ZERO,
            buffer_after: SignedDuration::ZERO,
        }
    }

    /// Sets the buffers (minutes before and after).
    #[must_use]
    pub fn with_buffers(mut self, before_min: i64, after_min: i64) -> AppointmentType {
        self.buffer_before = SignedDuration::from_mins(before_min);
        self.buffer_after = SignedDuration::from_mins(after_min);
        self
    }
}

/// Something that occupies a resource: `[start, end)` is the appointment, `[block_start,
/// block_end)` adds the buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occupancy {
    pub resource: ResourceId,
    pub start: Timestamp,
    pub end: Timestamp,
    pub block_start: Timestamp,
    pub block_end: Timestamp,
}

impl Occupancy {
    /// The occupancy of an appointment of `kind` at `start`.
    ///
    /// # Errors
    /// [`ScheduleError::Time`] when the instants overflow.
    pub fn new(
        resource: ResourceId,
        kind: &AppointmentType,
        start: Timestamp,
    ) -> Result<Occupancy, ScheduleError> {
        let add = |t: Timestamp, d: SignedDuration| t.checked_add(d).map_err(ScheduleError::time);
        let end = add(start, kind.duration)?;
        Ok(Occupancy {
            resource,
            start,
            end,
            block_start: add(start, -kind.buffer_before)?,
            block_end: add(end, kind.buffer_after)?,
        })
    }

    /// Whether the blocked intervals overlap on the same resource (touching is fine).
    pub fn overlaps(&self, other: &Occupancy) -> bool {
        self.resource == other.resource
            && self.block_start < other.block_end
            && other.block_start < self.block_end
    }
}

/// A temporary claim on a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub id: String,
    pub slot: Occupancy,
    pub appointment_type: String,
    /// IANA zone the slot was offered in.
    pub tz: String,
    pub expires_at: Timestamp,
    pub idempotency_key: Option<String>,
    /// The booking this hold will replace (reschedule).
    pub replaces: Option<String>,
}

impl Hold {
    /// Whether the hold still blocks its slot at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

/// A confirmed appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: String,
    pub slot: Occupancy,
    pub appointment_type: String,
    /// IANA zone name (the start/end are UTC instants).
    pub tz: String,
    pub created_at: Timestamp,
}

impl Booking {
    /// The start on the booking's wall clock.
    ///
    /// # Errors
    /// [`ScheduleError::Time`] when the stored zone is unknown.
    pub fn local_start(&self) -> Result<Zoned, ScheduleError> {
        let tz = TimeZone::get(&self.tz).map_err(ScheduleError::time)?;
        Ok(self.slot.start.to_zoned(tz))
    }
}

/// Checks a candidate against bookings and live holds (ignoring the booking `ignoring`, used when
/// rescheduling, and the hold `own_hold`, used when confirming).
///
/// # Errors
/// [`ScheduleError::Conflict`] naming the resource and the clashing start.
pub fn check_conflict(
    candidate: &Occupancy,
    bookings: &[Booking],
    holds: &[Hold],
    now: Timestamp,
    ignoring: Option<&str>,
    own_hold: Option<&str>,
) -> Result<(), ScheduleError> {
    let clash = bookings
        .iter()
        .filter(|b| Some(b.id.as_str()) != ignoring)
        .map(|b| &b.slot)
        .chain(holds.iter().filter(|h| h.is_live(now) && Some(h.id.as_str()) != own_hold).map(|h| &h.slot))
        .find(|o| o.overlaps(candidate));
    match clash {
        Some(o) => {
            Err(ScheduleError::Conflict { resource: o.resource.0.clone(), start: o.start.to_string() })
        }
        None => Ok(()),
    }
}

/// A request to hold a slot.
#[derive(Debug, Clone)]
pub struct HoldRequest<'a> {
    pub resource: ResourceId,
    pub appointment_type: &'a AppointmentType,
    pub start: Timestamp,
    pub tz: &'a TimeZone,
    pub idempotency_key: Option<String>,
    /// Set when rescheduling: the booking the new slot replaces (it does not conflict).
    pub replaces: Option<String>,
}

/// In-memory bookings and holds with the rules above (the store persists the same shapes).
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    pub bookings: Vec<Booking>,
    pub holds: Vec<Hold>,
    next_hold: u64,
    next_booking: u64,
    /// Hold lifetime (default 120 s).
    pub hold_ttl: Option<SignedDuration>,
}

impl Schedule {
    /// An empty schedule.
    pub fn new() -> Schedule {
        Schedule::default()
    }

    fn next_hold_id(&mut self) -> String {
        self.next_hold += 1;
        format!("H{}", self.next_hold)
    }

    fn next_booking_id(&mut self) -> String {
        self.next_booking += 1;
        format!("B{}", self.next_booking)
    }

    /// Drops expired holds.
    pub fn expire(&mut self, now: Timestamp) {
        self.holds.retain(|h| h.is_live(now));
    }

    /// Holds a slot until `now + hold_ttl`.
    ///
    /// # Errors
    /// [`ScheduleError::Conflict`] when the slot overlaps a booking or a live hold.
    pub fn hold(&mut self, req: HoldRequest<'_>, now: Timestamp) -> Result<Hold, ScheduleError> {
        self.expire(now);
        if let Some(key) = &req.idempotency_key
            && let Some(h) = self.holds.iter().find(|h| h.idempotency_key.as_ref() == Some(key))
        {
            return Ok(h.clone());
        }
        let slot = Occupancy::new(req.resource, req.appointment_type, req.start)?;
        check_conflict(&slot, &self.bookings, &self.holds, now, req.replaces.as_deref(), None)?;
        let ttl = self.hold_ttl.unwrap_or(SignedDuration::from_secs(120));
        let hold = Hold {
            id: self.next_hold_id(),
            slot,
            appointment_type: req.appointment_type.id.clone(),
            tz: req.tz.iana_name().unwrap_or("UTC").to_string(),
            expires_at: now.checked_add(ttl).map_err(ScheduleError::time)?,
            idempotency_key: req.idempotency_key,
            replaces: req.replaces,
        };
        self.holds.push(hold.clone());
        Ok(hold)
    }

    /// Releases a hold (no-op when it is gone).
    pub fn release_hold(&mut self, hold_id: &str) {
        self.holds.retain(|h| h.id != hold_id);
    }

    /// Turns a live hold into a booking (after the caller's explicit yes to the read-back). When the
    /// hold replaces a booking, that booking is released after the new one is in place.
    ///
    /// # Errors
    /// [`ScheduleError::HoldNotFound`], [`ScheduleError::HoldExpired`], [`ScheduleError::Conflict`].
    pub fn confirm(&mut self, hold_id: &str, now: Timestamp) -> Result<Booking, ScheduleError> {
        let hold = self
            .holds
            .iter()
            .find(|h| h.id == hold_id)
            .cloned()
            .ok_or_else(|| ScheduleError::HoldNotFound(hold_id.to_string()))?;
        if !hold.is_live(now) {
            self.release_hold(hold_id);
            return Err(ScheduleError::HoldExpired(hold_id.to_string()));
        }
        check_conflict(
            &hold.slot,
            &self.bookings,
            &self.holds,
            now,
            hold.replaces.as_deref(),
            Some(hold_id),
        )?;
        let booking = Booking {
            id: self.next_booking_id(),
            slot: hold.slot.clone(),
            appointment_type: hold.appointment_type.clone(),
            tz: hold.tz.clone(),
            created_at: now,
        };
        self.bookings.push(booking.clone());
        self.release_hold(hold_id);
        if let Some(old) = &hold.replaces {
            self.cancel(old);
        }
        Ok(booking)
    }

    /// Cancels a booking, freeing its slot at once. Returns whether it existed.
    pub fn cancel(&mut self, booking_id: &str) -> bool {
        let before = self.bookings.len();
        self.bookings.retain(|b| b.id != booking_id);
        self.bookings.len() != before
    }

    /// Reschedules: holds the new slot (the old booking does not count as a conflict), books it, then
    /// releases the old booking. On any error the old booking stays.
    ///
    /// # Errors
    /// [`ScheduleError::BookingNotFound`] or the errors of [`Schedule::hold`] / [`Schedule::confirm`].
    pub fn reschedule(
        &mut self,
        booking_id: &str,
        mut req: HoldRequest<'_>,
        now: Timestamp,
    ) -> Result<Booking, ScheduleError> {
        if !self.bookings.iter().any(|b| b.id == booking_id) {
            return Err(ScheduleError::BookingNotFound(booking_id.to_string()));
        }
        req.replaces = Some(booking_id.to_string());
        let hold = self.hold(req, now)?;
        self.confirm(&hold.id, now)
    }

    /// Occupancies that block availability at `now` (bookings and live holds).
    pub fn busy(&self, now: Timestamp) -> Vec<Occupancy> {
        self.bookings
            .iter()
            .map(|b| b.slot.clone())
            .chain(self.holds.iter().filter(|h| h.is_live(now)).map(|h| h.slot.clone()))
            .collect()
    }
}
