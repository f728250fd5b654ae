//! Holds and appointments: the booking rules of `frontdesk_schedule::booking`, made durable.
//!
//! Every operation is one `BEGIN IMMEDIATE` transaction, so the overlap check (blocked intervals,
//! buffers included, touching allowed: the rule of `check_conflict`) and the write see the same
//! state even with several connections or processes. The partial UNIQUE indexes on live bookings
//! and open holds per `(resource, start)` back the check: a violation is reported as
//! [`StoreError::Conflict`] too.
//!
//! - `hold`: sweeps expired unbooked holds, honours the idempotency key, checks, inserts.
//! - `book_from_hold`: needs a live hold; inserts the appointment, marks the hold booked (a retry
//!   by the same caller returns the same appointment; another caller gets `HoldNotFound`, since
//!   SQLite may reuse the id of a swept hold); a hold that `replaces` an appointment releases it
//!   in the same transaction, after the new one is in.
//! - `reschedule`: the same without a hold; new first, then the old one is marked `rescheduled`.
//!   The one exception to "new first" is a move to the very same (resource, start), where the
//!   unique index forces the old row out first; it is the same transaction either way.
//! - `cancel`: status `cancelled`, the slot is free at once; the row stays.
//!
//! Each change emits its event in its transaction (see `events.rs`): `appointment.booked` from
//! `book_tx`, `appointment.rescheduled` from `reschedule_tx` and from booking a hold that
//! replaces an appointment, `appointment.cancelled` from `cancel`.

use frontdesk_schedule::{AppointmentType, Occupancy, Resource, ResourceId};
use frontdesk_types::Pii;
use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use super::resources::{self, check_zone};
use super::{SqliteStore, ms, ts, ts_opt};
use crate::error::is_unique_violation;
use crate::{
    Appointment, AppointmentId, AppointmentStatus, Caller, HoldId, HoldRecord, NewHold, NewSlot,
    SchedulingStore, StoreError, normalize_phone,
};

pub(super) const APPT_COLS: &str = "id, resource_id, appointment_type_id, start_ms, end_ms, block_start_ms, block_end_ms, \
     tz, caller_phone, caller_name, status, created_ms, ended_ms, replaces_id";

const HOLD_COLS: &str = "id, resource_id, appointment_type_id, start_ms, end_ms, block_start_ms, block_end_ms, \
     tz, created_ms, expires_ms, idempotency_key, replaces_id, booked_id";

pub(super) type ApptRow =
    (i64, String, String, [i64; 4], String, String, Option<String>, String, i64, Option<i64>, Option<i64>);

pub(super) fn appt_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApptRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        [r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?],
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        r.get(13)?,
    ))
}

fn occupancy(resource: String, t: [i64; 4]) -> Result<Occupancy, StoreError> {
    Ok(Occupancy {
        resource: ResourceId(resource),
        start: ts(t[0])?,
        end: ts(t[1])?,
        block_start: ts(t[2])?,
        block_end: ts(t[3])?,
    })
}

pub(super) fn to_appointment(row: ApptRow) -> Result<Appointment, StoreError> {
    let (id, resource, kind, times, tz, phone, name, status, created, ended, replaces) = row;
    Ok(Appointment {
        id: AppointmentId(id),
        slot: occupancy(resource, times)?,
        appointment_type: kind,
        tz,
        caller: Caller { phone: Pii::new(phone), name: name.map(Pii::new) },
        status: AppointmentStatus::parse(&status)?,
        created_at: ts(created)?,
        ended_at: ts_opt(ended)?,
        replaces: replaces.map(AppointmentId),
    })
}

pub(crate) fn appointment(c: &Connection, id: AppointmentId) -> Result<Option<Appointment>, StoreError> {
    c.query_row(&format!("SELECT {APPT_COLS} FROM appointments WHERE id = ?1"), [id.0], appt_row)
        .optional()?
        .map(to_appointment)
        .transpose()
}

fn booked(c: &Connection, id: AppointmentId) -> Result<Appointment, StoreError> {
    let a = appointment(c, id)?.ok_or(StoreError::AppointmentNotFound(id))?;
    if a.status != AppointmentStatus::Booked {
        return Err(StoreError::NotBooked { id, status: a.status.to_string() });
    }
    Ok(a)
}

type HoldRow = (i64, String, String, [i64; 4], String, i64, i64, Option<String>, Option<i64>, Option<i64>);

fn hold_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HoldRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        [r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?],
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
    ))
}

/// A hold and the appointment it was booked as, if any.
fn to_hold(row: HoldRow) -> Result<(HoldRecord, Option<AppointmentId>), StoreError> {
    let (id, resource, kind, times, tz, created, expires, key, replaces, booked_id) = row;
    let hold = HoldRecord {
        id: HoldId(id),
        slot: occupancy(resource, times)?,
        appointment_type: kind,
        tz,
        created_at: ts(created)?,
        expires_at: ts(expires)?,
        idempotency_key: key,
        replaces: replaces.map(AppointmentId),
    };
    Ok((hold, booked_id.map(AppointmentId)))
}

fn hold_where(
    c: &Connection,
    cond: &str,
    arg: &dyn rusqlite::ToSql,
) -> Result<Option<(HoldRecord, Option<AppointmentId>)>, StoreError> {
    c.query_row(&format!("SELECT {HOLD_COLS} FROM holds WHERE {cond}"), [arg], hold_row)
        .optional()?
        .map(to_hold)
        .transpose()
}

fn kind_of(c: &Connection, id: &str) -> Result<AppointmentType, StoreError> {
    resources::appointment_type(c, id)?
        .ok_or_else(|| StoreError::NotFound { what: "appointment type", id: id.to_string() })
}

fn occupy(
    c: &Connection,
    resource: &ResourceId,
    kind: &str,
    start: Timestamp,
) -> Result<Occupancy, StoreError> {
    if !resources::resource_exists(c, resource)? {
        return Err(StoreError::NotFound { what: "resource", id: resource.0.clone() });
    }
    let kind = kind_of(c, kind)?;
    Occupancy::new(resource.clone(), &kind, start).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// Fails with `Conflict` when `o` overlaps a live booking (other than `ignoring`) or a live open
/// hold (other than `own_hold`) on its resource.
fn check_free(
    c: &Connection,
    o: &Occupancy,
    now: Timestamp,
    ignoring: Option<AppointmentId>,
    own_hold: Option<HoldId>,
) -> Result<(), StoreError> {
    let clash: Option<i64> = c
        .query_row(
            "SELECT start_ms FROM appointments
               WHERE status = 'booked' AND resource_id = ?1 AND block_start_ms < ?3 AND ?2 < block_end_ms
                 AND id IS NOT ?4
             UNION ALL
             SELECT start_ms FROM holds
               WHERE booked_id IS NULL AND expires_ms > ?5 AND resource_id = ?1
                 AND block_start_ms < ?3 AND ?2 < block_end_ms AND id IS NOT ?6
             LIMIT 1",
            params![
                o.resource.0,
                ms(o.block_start),
                ms(o.block_end),
                ignoring.map(|a| a.0),
                ms(now),
                own_hold.map(|h| h.0)
            ],
            |r| r.get(0),
        )
        .optional()?;
    match clash {
        Some(start) => Err(StoreError::Conflict { resource: o.resource.0.clone(), start: ts(start)? }),
        None => Ok(()),
    }
}

fn conflict_on_unique(o: &Occupancy) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| {
        if is_unique_violation(&e) {
            StoreError::Conflict { resource: o.resource.0.clone(), start: o.start }
        } else {
            StoreError::from(e)
        }
    }
}

/// Marks `old` rescheduled (it must still be booked).
fn release(c: &Connection, old: AppointmentId, now: Timestamp) -> Result<(), StoreError> {
    let n = c.execute(
        "UPDATE appointments SET status = 'rescheduled', ended_ms = ?2 WHERE id = ?1 AND status = 'booked'",
        params![old.0, ms(now)],
    )?;
    if n == 1 { Ok(()) } else { Err(StoreError::NotBooked { id: old, status: "not booked".into() }) }
}

struct Booking<'a> {
    slot: &'a Occupancy,
    kind: &'a str,
    tz: &'a str,
    phone: &'a str,
    name: Option<&'a str>,
    replaces: Option<&'a Appointment>,
    hold: Option<HoldId>,
}

/// Inserts the new appointment and releases the one it replaces (new first, see module doc).
fn insert_booking(c: &Connection, b: &Booking<'_>, now: Timestamp) -> Result<AppointmentId, StoreError> {
    let same_key =
        b.replaces.is_some_and(|old| old.slot.resource == b.slot.resource && old.slot.start == b.slot.start);
    if let (true, Some(old)) = (same_key, b.replaces) {
        release(c, old.id, now)?;
    }
    c.execute(
        "INSERT INTO appointments (resource_id, appointment_type_id, start_ms, end_ms, block_start_ms,
           block_end_ms, tz, caller_phone, caller_name, status, created_ms, replaces_id, hold_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'booked', ?10, ?11, ?12)",
        params![
            b.slot.resource.0,
            b.kind,
            ms(b.slot.start),
            ms(b.slot.end),
            ms(b.slot.block_start),
            ms(b.slot.block_end),
            b.tz,
            b.phone,
            b.name,
            ms(now),
            b.replaces.map(|a| a.id.0),
            b.hold.map(|h| h.0)
        ],
    )
    .map_err(conflict_on_unique(b.slot))?;
    let id = AppointmentId(c.last_insert_rowid());
    if let (false, Some(old)) = (same_key, b.replaces) {
        release(c, old.id, now)?;
    }
    Ok(id)
}

pub(super) fn hold_tx(c: &Connection, req: &NewHold, now: Timestamp) -> Result<HoldRecord, StoreError> {
    if req.ttl <= SignedDuration::ZERO {
        return Err(StoreError::Invalid("hold ttl must be positive".into()));
    }
    check_zone(&req.tz)?;
    c.execute("DELETE FROM holds WHERE booked_id IS NULL AND expires_ms <= ?1", [ms(now)])?;
    if let Some(key) = &req.idempotency_key
        && let Some((h, _)) = hold_where(c, "idempotency_key = ?1", key)?
    {
        let same = h.slot.resource == req.resource
            && h.slot.start == req.start
            && h.appointment_type == req.appointment_type
            && h.replaces == req.replaces;
        return if same { Ok(h) } else { Err(StoreError::IdempotencyKeyReused { key: key.clone() }) };
    }
    let slot = occupy(c, &req.resource, &req.appointment_type, req.start)?;
    if let Some(old) = req.replaces {
        booked(c, old)?;
    }
    check_free(c, &slot, now, req.replaces, None)?;
    let expires = now.checked_add(req.ttl).map_err(|e| StoreError::Invalid(e.to_string()))?;
    c.execute(
        "INSERT INTO holds (resource_id, appointment_type_id, start_ms, end_ms, block_start_ms, block_end_ms,
           tz, created_ms, expires_ms, idempotency_key, replaces_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            slot.resource.0,
            req.appointment_type,
            ms(slot.start),
            ms(slot.end),
            ms(slot.block_start),
            ms(slot.block_end),
            req.tz,
            ms(now),
            ms(expires),
            req.idempotency_key,
            req.replaces.map(|a| a.0)
        ],
    )
    .map_err(conflict_on_unique(&slot))?;
    let id = HoldId(c.last_insert_rowid());
    tracing::debug!(hold = %id, resource = %slot.resource, start = %slot.start, "store: slot held");
    Ok(HoldRecord {
        id,
        slot,
        appointment_type: req.appointment_type.clone(),
        tz: req.tz.clone(),
        created_at: now,
        expires_at: expires,
        idempotency_key: req.idempotency_key.clone(),
        replaces: req.replaces,
    })
}

pub(super) fn book_tx(
    c: &Connection,
    id: HoldId,
    caller: &Caller,
    now: Timestamp,
) -> Result<Appointment, StoreError> {
    let phone = normalize_phone(caller.phone.expose())?;
    let (hold, booked_as) = hold_where(c, "id = ?1", &id.0)?.ok_or(StoreError::HoldNotFound(id))?;
    if let Some(a) = booked_as {
        // A retry by the same caller gets the same appointment. Hold ids of swept (expired)
        // holds can be reused by SQLite, so a stale id must never hand out another caller's
        // booking.
        let appt = appointment(c, a)?.ok_or(StoreError::AppointmentNotFound(a))?;
        return if *appt.caller.phone.expose() == phone {
            Ok(appt)
        } else {
            Err(StoreError::HoldNotFound(id))
        };
    }
    if !hold.is_live(now) {
        return Err(StoreError::HoldExpired(id));
    }
    let old = hold.replaces.map(|a| booked(c, a)).transpose()?;
    check_free(c, &hold.slot, now, hold.replaces, Some(id))?;
    let new_id = insert_booking(
        c,
        &Booking {
            slot: &hold.slot,
            kind: &hold.appointment_type,
            tz: &hold.tz,
            phone: &phone,
            name: caller.name.as_ref().map(|n| n.expose().as_str()),
            replaces: old.as_ref(),
            hold: Some(id),
        },
        now,
    )?;
    c.execute("UPDATE holds SET booked_id = ?2 WHERE id = ?1", params![id.0, new_id.0])?;
    tracing::info!(appointment = %new_id, hold = %id, caller = %caller.phone, "store: booked");
    let appt = appointment(c, new_id)?.ok_or(StoreError::AppointmentNotFound(new_id))?;
    super::events::emit_booked(c, &appt, now)?;
    Ok(appt)
}

pub(super) fn reschedule_tx(
    c: &Connection,
    id: AppointmentId,
    to: &NewSlot,
    now: Timestamp,
) -> Result<Appointment, StoreError> {
    let old = booked(c, id)?;
    let resource = to.resource.clone().unwrap_or_else(|| old.slot.resource.clone());
    let tz = to.tz.clone().unwrap_or_else(|| old.tz.clone());
    check_zone(&tz)?;
    let slot = occupy(c, &resource, &old.appointment_type, to.start)?;
    check_free(c, &slot, now, Some(id), None)?;
    let new_id = insert_booking(
        c,
        &Booking {
            slot: &slot,
            kind: &old.appointment_type,
            tz: &tz,
            phone: old.caller.phone.expose(),
            name: old.caller.name.as_ref().map(|n| n.expose().as_str()),
            replaces: Some(&old),
            hold: None,
        },
        now,
    )?;
    tracing::info!(from = %id, to = %new_id, "store: rescheduled");
    let appt = appointment(c, new_id)?.ok_or(StoreError::AppointmentNotFound(new_id))?;
    super::events::emit_booked(c, &appt, now)?;
    Ok(appt)
}

impl SchedulingStore for SqliteStore {
    fn put_resource(&self, resource: &Resource) -> Result<(), StoreError> {
        self.write(|c| resources::put_resource(c, resource))
    }

    fn resource(&self, id: &ResourceId) -> Result<Option<Resource>, StoreError> {
        self.read(|c| resources::resource(c, &id.0))
    }

    fn resources(&self) -> Result<Vec<Resource>, StoreError> {
        self.read(|c| resources::resources(c))
    }

    fn put_appointment_type(&self, kind: &AppointmentType) -> Result<(), StoreError> {
        self.write(|c| resources::put_appointment_type(c, kind))
    }

    fn appointment_type(&self, id: &str) -> Result<Option<AppointmentType>, StoreError> {
        self.read(|c| resources::appointment_type(c, id))
    }

    fn appointment_types(&self) -> Result<Vec<AppointmentType>, StoreError> {
        self.read(|c| resources::appointment_types(c))
    }

    fn hold(&self, req: &NewHold, now: Timestamp) -> Result<HoldRecord, StoreError> {
        self.write(|c| hold_tx(c, req, now))
    }

    fn release_hold(&self, id: HoldId) -> Result<bool, StoreError> {
        self.write(|c| Ok(c.execute("DELETE FROM holds WHERE id = ?1 AND booked_id IS NULL", [id.0])? == 1))
    }

    fn book_from_hold(&self, id: HoldId, caller: &Caller, now: Timestamp) -> Result<Appointment, StoreError> {
        self.write(|c| book_tx(c, id, caller, now))
    }

    fn cancel(&self, id: AppointmentId, now: Timestamp) -> Result<Appointment, StoreError> {
        self.write(|c| {
            booked(c, id)?;
            c.execute(
                "UPDATE appointments SET status = 'cancelled', ended_ms = ?2 WHERE id = ?1",
                params![id.0, ms(now)],
            )?;
            tracing::info!(appointment = %id, "store: cancelled");
            let appt = appointment(c, id)?.ok_or(StoreError::AppointmentNotFound(id))?;
            let data = serde_json::json!({ "appointment": super::events::appointment_json(&appt) });
            super::events::insert_event(c, "appointment.cancelled", None, &data, now)?;
            Ok(appt)
        })
    }

    fn reschedule(&self, id: AppointmentId, to: &NewSlot, now: Timestamp) -> Result<Appointment, StoreError> {
        self.write(|c| reschedule_tx(c, id, to, now))
    }

    fn appointment(&self, id: AppointmentId) -> Result<Option<Appointment>, StoreError> {
        self.read(|c| appointment(c, id))
    }

    fn appointments_for_phone(&self, phone: &str, after: Timestamp) -> Result<Vec<Appointment>, StoreError> {
        let phone = normalize_phone(phone)?;
        self.read(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {APPT_COLS} FROM appointments
                 WHERE caller_phone = ?1 AND status = 'booked' AND end_ms > ?2 ORDER BY start_ms"
            ))?;
            let rows: Vec<ApptRow> =
                st.query_map(params![phone, ms(after)], appt_row)?.collect::<Result<_, _>>()?;
            rows.into_iter().map(to_appointment).collect()
        })
    }

    fn busy(&self, from: Timestamp, until: Timestamp, now: Timestamp) -> Result<Vec<Occupancy>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT resource_id, start_ms, end_ms, block_start_ms, block_end_ms FROM appointments
                   WHERE status = 'booked' AND block_start_ms < ?2 AND ?1 < block_end_ms
                 UNION ALL
                 SELECT resource_id, start_ms, end_ms, block_start_ms, block_end_ms FROM holds
                   WHERE booked_id IS NULL AND expires_ms > ?3 AND block_start_ms < ?2 AND ?1 < block_end_ms
                 ORDER BY 2",
            )?;
            let rows: Vec<(String, [i64; 4])> = st
                .query_map(params![ms(from), ms(until), ms(now)], |r| {
                    Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
                })?
                .collect::<Result<_, _>>()?;
            rows.into_iter().map(|(r, t)| occupancy(r, t)).collect()
        })
    }
}
