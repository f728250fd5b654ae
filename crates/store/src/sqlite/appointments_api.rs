//! [`AppointmentApiStore`] for SQLite: the HTTP API's scheduling queries and writes.
//!
//! - Direct booking runs `hold_tx` then `book_tx` of [`super::appointments`] inside one
//!   `BEGIN IMMEDIATE` transaction, so the overlap check, the hold, the booking, the notes and the
//!   idempotency key commit together or not at all. A conflict on one candidate resource
//!   writes nothing (the check fails before any insert), so the next candidate is tried in the
//!   same transaction.
//! - Amend runs `reschedule_tx` (new appointment first, old one marked `rescheduled`) and copies
//!   the notes to the new appointment, in one transaction.
//! - Listing is keyset-paginated by `(start_ms, id)` ascending.
//!
//! Webhook events: the booking and reschedule written here go through the same `book_tx` /
//! `reschedule_tx` as the trait methods, which write `appointment.booked` /
//! `appointment.rescheduled` in the same transaction; an idempotent replay, a failed booking and
//! a notes-only change write no event.

use frontdesk_schedule::{AppointmentType, Resource};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};

use super::appointments::{APPT_COLS, ApptRow, appt_row, book_tx, hold_tx, reschedule_tx, to_appointment};
use super::resources;
use super::{SqliteStore, ms};
use crate::{
    Amend, AppointmentApiStore, AppointmentId, AppointmentQuery, AppointmentView, DirectBooked,
    DirectBooking, NewHold, StoreError, normalize_phone,
};

/// Schema additions (a migration script, listed in `migrations.rs`).
pub(super) const MIGRATION: &str = r#"
-- Notes written through the HTTP API (kept beside the appointment; carried over on reschedule).
CREATE TABLE appointment_notes (
    appointment_id INTEGER PRIMARY KEY REFERENCES appointments(id),
    notes          TEXT NOT NULL
);
-- Idempotency-Key of POST /v1/appointments: the first request's fingerprint and its booking.
CREATE TABLE appointment_idempotency (
    key            TEXT PRIMARY KEY,
    fingerprint    TEXT NOT NULL,
    appointment_id INTEGER NOT NULL REFERENCES appointments(id),
    created_ms     INTEGER NOT NULL
);
CREATE INDEX appointments_by_start ON appointments(start_ms, id);
CREATE INDEX appointments_by_resource_start ON appointments(resource_id, start_ms, id);
CREATE INDEX appointments_by_replaces ON appointments(replaces_id) WHERE replaces_id IS NOT NULL;
"#;

/// The appointment columns, then notes and the id of the appointment that replaced it.
fn view_select() -> String {
    format!(
        "SELECT {APPT_COLS}, (SELECT n.notes FROM appointment_notes n WHERE n.appointment_id = appointments.id),
                (SELECT r.id FROM appointments r WHERE r.replaces_id = appointments.id ORDER BY r.id LIMIT 1)
         FROM appointments"
    )
}

type ViewRow = (ApptRow, Option<String>, Option<i64>);

fn view_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ViewRow> {
    Ok((appt_row(r)?, r.get(14)?, r.get(15)?))
}

fn to_view((row, notes, replaced_by): ViewRow) -> Result<AppointmentView, StoreError> {
    Ok(AppointmentView {
        appointment: to_appointment(row)?,
        notes,
        replaced_by: replaced_by.map(AppointmentId),
    })
}

fn view(c: &Connection, id: AppointmentId) -> Result<Option<AppointmentView>, StoreError> {
    c.query_row(&format!("{} WHERE id = ?1", view_select()), [id.0], view_row)
        .optional()?
        .map(to_view)
        .transpose()
}

fn must_view(c: &Connection, id: AppointmentId) -> Result<AppointmentView, StoreError> {
    view(c, id)?.ok_or(StoreError::AppointmentNotFound(id))
}

fn set_notes(c: &Connection, id: AppointmentId, notes: Option<&str>) -> Result<(), StoreError> {
    match notes {
        Some(text) => c.execute(
            "INSERT INTO appointment_notes (appointment_id, notes) VALUES (?1, ?2)
             ON CONFLICT (appointment_id) DO UPDATE SET notes = excluded.notes",
            params![id.0, text],
        )?,
        None => c.execute("DELETE FROM appointment_notes WHERE appointment_id = ?1", [id.0])?,
    };
    Ok(())
}

fn idempotent(c: &Connection, key: &str) -> Result<Option<(String, AppointmentView)>, StoreError> {
    let prior: Option<(String, i64)> = c
        .query_row(
            "SELECT fingerprint, appointment_id FROM appointment_idempotency WHERE key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    prior.map(|(fingerprint, id)| Ok((fingerprint, must_view(c, AppointmentId(id))?))).transpose()
}

fn book_direct_tx(c: &Connection, req: &DirectBooking, now: Timestamp) -> Result<DirectBooked, StoreError> {
    if let Some(k) = &req.idempotency
        && let Some((fingerprint, v)) = idempotent(c, &k.key)?
    {
        return if fingerprint == k.fingerprint {
            Ok(DirectBooked::Replayed(v))
        } else {
            Err(StoreError::IdempotencyKeyReused { key: k.key.clone() })
        };
    }
    normalize_phone(req.caller.phone.expose())?;
    let mut last_conflict = None;
    for resource in &req.resources {
        let r = resources::resource(c, &resource.0)?
            .ok_or_else(|| StoreError::NotFound { what: "resource", id: resource.0.clone() })?;
        let tz = r.tz.iana_name().unwrap_or("UTC").to_string();
        let hold = match hold_tx(c, &NewHold::new(&resource.0, &req.appointment_type, req.start, &tz), now) {
            Ok(h) => h,
            Err(e @ StoreError::Conflict { .. }) => {
                last_conflict = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        // book_tx writes the appointment.booked event in this transaction.
        let appt = book_tx(c, hold.id, &req.caller, now)?;
        if let Some(n) = &req.notes {
            set_notes(c, appt.id, Some(n))?;
        }
        if let Some(k) = &req.idempotency {
            c.execute(
                "INSERT INTO appointment_idempotency (key, fingerprint, appointment_id, created_ms)
                 VALUES (?1, ?2, ?3, ?4)",
                params![k.key, k.fingerprint, appt.id.0, ms(now)],
            )?;
        }
        return Ok(DirectBooked::Booked(must_view(c, appt.id)?));
    }
    Err(last_conflict.unwrap_or_else(|| StoreError::Invalid("no resource to book on".into())))
}

fn amend_tx(
    c: &Connection,
    id: AppointmentId,
    change: &Amend,
    now: Timestamp,
) -> Result<AppointmentView, StoreError> {
    let mut target = id;
    if let Some(slot) = &change.slot {
        // reschedule_tx writes the appointment.rescheduled event in this transaction.
        let new = reschedule_tx(c, id, slot, now)?;
        c.execute(
            "INSERT INTO appointment_notes (appointment_id, notes)
             SELECT ?2, notes FROM appointment_notes WHERE appointment_id = ?1",
            params![id.0, new.id.0],
        )?;
        target = new.id;
    } else {
        must_view(c, id)?;
    }
    if let Some(notes) = &change.notes {
        set_notes(c, target, notes.as_deref())?;
    }
    must_view(c, target)
}

impl AppointmentApiStore for SqliteStore {
    fn create_resource(&self, resource: &Resource) -> Result<bool, StoreError> {
        self.write(|c| {
            if resources::resource_exists(c, &resource.id)? {
                return Ok(false);
            }
            resources::put_resource(c, resource)?;
            Ok(true)
        })
    }

    fn create_appointment_type(&self, kind: &AppointmentType) -> Result<bool, StoreError> {
        self.write(|c| {
            if resources::appointment_type(c, &kind.id)?.is_some() {
                return Ok(false);
            }
            resources::put_appointment_type(c, kind)?;
            Ok(true)
        })
    }

    fn list_appointments(&self, q: &AppointmentQuery) -> Result<Vec<AppointmentView>, StoreError> {
        let mut conds: Vec<String> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        let arg = |v: Value, args: &mut Vec<Value>| {
            args.push(v);
            format!("?{}", args.len())
        };
        if let Some(phone) = &q.phone {
            let p = arg(Value::Text(normalize_phone(phone)?), &mut args);
            conds.push(format!("caller_phone = {p}"));
        }
        if let Some(r) = &q.resource {
            let p = arg(Value::Text(r.0.clone()), &mut args);
            conds.push(format!("resource_id = {p}"));
        }
        if let Some(t) = q.from {
            let p = arg(Value::Integer(ms(t)), &mut args);
            conds.push(format!("start_ms >= {p}"));
        }
        if let Some(t) = q.until {
            let p = arg(Value::Integer(ms(t)), &mut args);
            conds.push(format!("start_ms < {p}"));
        }
        if let Some(s) = q.status {
            let p = arg(Value::Text(s.as_str().into()), &mut args);
            conds.push(format!("status = {p}"));
        }
        if let Some((t, id)) = q.after {
            let pt = arg(Value::Integer(ms(t)), &mut args);
            let pi = arg(Value::Integer(id.0), &mut args);
            conds.push(format!("(start_ms > {pt} OR (start_ms = {pt} AND id > {pi}))"));
        }
        let where_ = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
        let sql = format!("{} {where_} ORDER BY start_ms, id LIMIT {}", view_select(), q.effective_limit());
        self.read(|c| {
            let mut st = c.prepare(&sql)?;
            let rows: Vec<ViewRow> =
                st.query_map(params_from_iter(args.iter()), view_row)?.collect::<Result<_, _>>()?;
            rows.into_iter().map(to_view).collect()
        })
    }

    fn appointment_view(&self, id: AppointmentId) -> Result<Option<AppointmentView>, StoreError> {
        self.read(|c| view(c, id))
    }

    fn book_direct(&self, req: &DirectBooking, now: Timestamp) -> Result<DirectBooked, StoreError> {
        self.write(|c| book_direct_tx(c, req, now))
    }

    fn idempotent_booking(&self, key: &str) -> Result<Option<(String, AppointmentView)>, StoreError> {
        self.read(|c| idempotent(c, key))
    }

    fn amend_appointment(
        &self,
        id: AppointmentId,
        change: &Amend,
        now: Timestamp,
    ) -> Result<AppointmentView, StoreError> {
        self.write(|c| amend_tx(c, id, change, now))
    }
}
