//! Resources (weekly hours, dated exceptions, holidays) and appointment types, relational.
//!
//! The scheduling core's types do not serialise, so they are mapped to rows: wall-clock times as
//! seconds after local midnight (`end_s` NULL = 24:00), dates as `YYYY-MM-DD`, weekdays 0 = Monday.
//! Exceptions are normalised on write: the core lets the last exception for a date win, so only
//! that one is stored (one row per date; no hours rows = closed).

use std::collections::BTreeMap;

use frontdesk_schedule::{
    AppointmentType, Exception, Resource, ResourceId, ResourceKind, WallInterval, WeeklyHours,
};
use jiff::SignedDuration;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use rusqlite::{Connection, OptionalExtension, params};

use crate::StoreError;

fn secs(t: Time) -> i64 {
    i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second())
}

fn time(s: i64) -> Result<Time, StoreError> {
    let bad = || StoreError::BadData(format!("wall-clock seconds {s}"));
    if !(0..86_400).contains(&s) {
        return Err(bad());
    }
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    Time::new(h as i8, m as i8, sec as i8, 0).map_err(|_| bad())
}

fn interval(start_s: i64, end_s: Option<i64>) -> Result<WallInterval, StoreError> {
    let start = time(start_s)?;
    match end_s {
        None => Ok(WallInterval::until_midnight(start)),
        Some(e) => WallInterval::new(start, time(e)?).map_err(|e| StoreError::BadData(e.to_string())),
    }
}

fn date(s: &str) -> Result<Date, StoreError> {
    s.parse().map_err(|e| StoreError::BadData(format!("date {s:?}: {e}")))
}

const WEEK: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// Validates an IANA zone name (the bundled tz database knows it).
pub(crate) fn check_zone(name: &str) -> Result<(), StoreError> {
    TimeZone::get(name).map(|_| ()).map_err(|e| StoreError::Invalid(format!("time zone {name:?}: {e}")))
}

pub(crate) fn put_resource(c: &Connection, r: &Resource) -> Result<(), StoreError> {
    let kind = match r.kind {
        ResourceKind::Provider => "provider",
        ResourceKind::Room => "room",
        other => return Err(StoreError::Invalid(format!("resource kind {other:?}"))),
    };
    let tz =
        r.tz.iana_name()
            .ok_or_else(|| StoreError::Invalid(format!("resource {} needs an IANA time zone", r.id)))?;
    c.execute(
        "INSERT INTO resources (id, name, kind, tz) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, tz = excluded.tz",
        params![r.id.0, r.name, kind, tz],
    )?;
    for table in ["resource_hours", "resource_exceptions", "resource_holidays"] {
        c.execute(&format!("DELETE FROM {table} WHERE resource_id = ?1"), [&r.id.0])?;
    }
    for (i, wd) in WEEK.iter().enumerate() {
        for iv in r.hours.on(*wd) {
            c.execute(
                "INSERT INTO resource_hours (resource_id, weekday, start_s, end_s) VALUES (?1, ?2, ?3, ?4)",
                params![r.id.0, i as i64, secs(iv.start), iv.end.map(secs)],
            )?;
        }
    }
    let mut last: BTreeMap<Date, &[WallInterval]> = BTreeMap::new();
    for ex in &r.exceptions {
        match ex {
            Exception::Closed(d) => last.insert(*d, &[]),
            Exception::Hours(d, iv) => last.insert(*d, iv.as_slice()),
        };
    }
    for (d, ivs) in last {
        let d = d.to_string();
        c.execute("INSERT INTO resource_exceptions (resource_id, date) VALUES (?1, ?2)", params![r.id.0, d])?;
        for iv in ivs {
            c.execute(
                "INSERT INTO resource_exception_hours (resource_id, date, start_s, end_s) VALUES (?1, ?2, ?3, ?4)",
                params![r.id.0, d, secs(iv.start), iv.end.map(secs)],
            )?;
        }
    }
    for d in &r.holidays {
        c.execute(
            "INSERT OR IGNORE INTO resource_holidays (resource_id, date) VALUES (?1, ?2)",
            params![r.id.0, d.to_string()],
        )?;
    }
    Ok(())
}

pub(crate) fn resource(c: &Connection, id: &str) -> Result<Option<Resource>, StoreError> {
    let row: Option<(String, String, String)> = c
        .query_row("SELECT name, kind, tz FROM resources WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((name, kind, tz_name)) = row else { return Ok(None) };
    let kind = match kind.as_str() {
        "provider" => ResourceKind::Provider,
        "room" => ResourceKind::Room,
        other => return Err(StoreError::BadData(format!("resource kind {other:?}"))),
    };
    let tz = TimeZone::get(&tz_name).map_err(|e| StoreError::BadData(format!("zone {tz_name:?}: {e}")))?;
    let mut hours = WeeklyHours::closed();
    let mut st = c.prepare("SELECT weekday, start_s, end_s FROM resource_hours WHERE resource_id = ?1")?;
    let rows =
        st.query_map([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<i64>>(2)?)))?;
    for row in rows {
        let (wd, s, e) = row?;
        let wd = usize::try_from(wd)
            .ok()
            .and_then(|i| WEEK.get(i))
            .ok_or_else(|| StoreError::BadData(format!("weekday {wd}")))?;
        hours = hours.with(*wd, interval(s, e)?);
    }
    let mut r = Resource::new(id, &name, kind, tz, hours);
    let mut st = c.prepare("SELECT date FROM resource_exceptions WHERE resource_id = ?1 ORDER BY date")?;
    let dates: Vec<String> = st.query_map([id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    let mut st = c.prepare(
        "SELECT start_s, end_s FROM resource_exception_hours WHERE resource_id = ?1 AND date = ?2 ORDER BY start_s",
    )?;
    for d in dates {
        let ivs = st
            .query_map(params![id, d], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)))?
            .map(|row| row.map_err(StoreError::from).and_then(|(s, e)| interval(s, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let day = date(&d)?;
        r.exceptions.push(if ivs.is_empty() { Exception::Closed(day) } else { Exception::Hours(day, ivs) });
    }
    let mut st = c.prepare("SELECT date FROM resource_holidays WHERE resource_id = ?1 ORDER BY date")?;
    let holidays: Vec<String> = st.query_map([id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    r.holidays = holidays.iter().map(|d| date(d)).collect::<Result<_, _>>()?;
    Ok(Some(r))
}

pub(crate) fn resources(c: &Connection) -> Result<Vec<Resource>, StoreError> {
    let mut st = c.prepare("SELECT id FROM resources ORDER BY id")?;
    let ids: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(r) = resource(c, &id)? {
            out.push(r);
        }
    }
    Ok(out)
}

/// Whether a resource exists (so a hold names a real one).
pub(crate) fn resource_exists(c: &Connection, id: &ResourceId) -> Result<bool, StoreError> {
    Ok(c.query_row("SELECT 1 FROM resources WHERE id = ?1", [&id.0], |_| Ok(())).optional()?.is_some())
}

pub(crate) fn put_appointment_type(c: &Connection, t: &AppointmentType) -> Result<(), StoreError> {
    if t.duration <= SignedDuration::ZERO || t.buffer_before.is_negative() || t.buffer_after.is_negative() {
        return Err(StoreError::Invalid(format!(
            "appointment type {}: duration must be positive and buffers not negative",
            t.id
        )));
    }
    c.execute(
        "INSERT INTO appointment_types (id, name, duration_s, buffer_before_s, buffer_after_s)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, duration_s = excluded.duration_s,
           buffer_before_s = excluded.buffer_before_s, buffer_after_s = excluded.buffer_after_s",
        params![t.id, t.name, t.duration.as_secs(), t.buffer_before.as_secs(), t.buffer_after.as_secs()],
    )?;
    Ok(())
}

fn type_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AppointmentType> {
    Ok(AppointmentType {
        id: r.get(0)?,
        name: r.get(1)?,
        duration: SignedDuration::from_secs(r.get(2)?),
        buffer_before: SignedDuration::from_secs(r.get(3)?),
        buffer_after: SignedDuration::from_secs(r.get(4)?),
    })
}

const TYPE_COLS: &str = "id, name, duration_s, buffer_before_s, buffer_after_s";

pub(crate) fn appointment_type(c: &Connection, id: &str) -> Result<Option<AppointmentType>, StoreError> {
    Ok(c.query_row(&format!("SELECT {TYPE_COLS} FROM appointment_types WHERE id = ?1"), [id], type_row)
        .optional()?)
}

pub(crate) fn appointment_types(c: &Connection) -> Result<Vec<AppointmentType>, StoreError> {
    let mut st = c.prepare(&format!("SELECT {TYPE_COLS} FROM appointment_types ORDER BY id"))?;
    Ok(st.query_map([], type_row)?.collect::<Result<_, _>>()?)
}
