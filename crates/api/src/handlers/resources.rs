//! Resources (providers, rooms) and appointment types: list, create (409 when the id exists),
//! read, replace (`PUT`, creating when absent).
//!
//! A resource is what the scheduling core models: an IANA time zone, weekly hours per weekday as
//! `"HH:MM-HH:MM"` wall-clock intervals (`24:00` closes at midnight; several per day for a lunch
//! break), dated exceptions (other hours that day, or `[]` for closed) and holidays (closed).
//! Changing hours keeps existing appointments (list them with `GET /v1/appointments?resource=`).
//! Appointment types are a duration and buffers in minutes.

use std::collections::BTreeMap;

use frontdesk_schedule::jiff::civil::{Date, Time};
use frontdesk_schedule::jiff::tz::TimeZone;
use frontdesk_schedule::jiff::{SignedDuration, civil::Weekday};
use frontdesk_schedule::{
    AppointmentType, Exception, Resource, ResourceId, ResourceKind, WallInterval, WeeklyHours,
};
use hyper::StatusCode;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::Ctx;
use crate::{ApiError, Resp};

/// For `#[serde(default, deserialize_with = "some")]`: an absent field is `None`, an explicit
/// `null` is an error (the schema says the field is a string, not nullable).
pub(super) fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Minutes as a whole number; `30.0` is whole too (JSON Schema integers include it).
fn minutes<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    n.as_u64()
        .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && (0.0..=1e9).contains(f)).map(|f| f as u64))
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| D::Error::custom(format!("invalid value: {n}, expected a whole number of minutes")))
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// Ids are path segments: letters, digits, `.`, `_`, `-`, 1 to 64 characters.
pub(super) fn check_id(what: &str, id: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad(
            "invalid_request",
            format!("{what} id {id:?}: use 1 to 64 letters, digits, '.', '_' or '-'"),
        ))
    }
}

fn hm(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn interval_text(iv: &WallInterval) -> String {
    format!("{}-{}", hm(iv.start), iv.end.map_or_else(|| "24:00".to_string(), hm))
}

fn parse_hm(s: &str) -> Option<(i8, i8)> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m) = (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?);
    ((0..=24).contains(&h) && (0..60).contains(&m)).then_some((h, m))
}

/// `"HH:MM-HH:MM"` (24-hour clock; `24:00` is midnight at the end of the day).
fn parse_interval(field: &str, s: &str) -> Result<WallInterval, ApiError> {
    let bad = || {
        ApiError::bad(
            "invalid_request",
            format!(
                "{field}={s:?}: use \"HH:MM-HH:MM\" on the 24-hour clock with the end after the start \
                 (\"24:00\" for midnight), e.g. \"08:00-12:30\""
            ),
        )
    };
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let ((sh, sm), (eh, em)) = (parse_hm(a).ok_or_else(bad)?, parse_hm(b).ok_or_else(bad)?);
    if sh == 24 || (eh == 24 && em != 0) {
        return Err(bad());
    }
    WallInterval::hm(sh, sm, eh, em).map_err(|_| bad())
}

fn parse_intervals(field: &str, items: &[String]) -> Result<Vec<WallInterval>, ApiError> {
    let mut ivs = items
        .iter()
        .enumerate()
        .map(|(i, s)| parse_interval(&format!("{field}[{i}]"), s))
        .collect::<Result<Vec<_>, _>>()?;
    ivs.sort_by_key(|iv| iv.start);
    for pair in ivs.windows(2) {
        if let [a, b] = pair
            && a.end.is_none_or(|end| end > b.start)
        {
            return Err(ApiError::bad(
                "invalid_request",
                format!(
                    "{field}: {} and {} overlap; merge them into one interval",
                    interval_text(a),
                    interval_text(b)
                ),
            ));
        }
    }
    Ok(ivs)
}

fn parse_date(field: &str, s: &str) -> Result<Date, ApiError> {
    s.parse::<Date>().map_err(|_| {
        ApiError::bad("invalid_request", format!("{field}={s:?}: use a date as YYYY-MM-DD, e.g. 2026-12-24"))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionBody {
    date: String,
    /// Open hours that day; empty: closed.
    hours: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceBody {
    #[serde(default, deserialize_with = "some")]
    id: Option<String>,
    name: String,
    #[serde(default, deserialize_with = "some")]
    kind: Option<String>,
    time_zone: String,
    #[serde(default)]
    weekly_hours: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    exceptions: Vec<ExceptionBody>,
    #[serde(default)]
    holidays: Vec<String>,
}

impl ResourceBody {
    fn into_resource(self, id: &str) -> Result<Resource, ApiError> {
        check_id("resource", id)?;
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::bad("invalid_request", "name must have 1 to 200 characters"));
        }
        // Well-formed but unknown: 422, like an unknown appointment type.
        let tz = TimeZone::get(&self.time_zone).map_err(|_| ApiError::Unprocessable {
            code: "unknown_time_zone",
            message: format!(
                "time_zone={:?} is not an IANA time zone name; use one such as America/New_York or Europe/Paris",
                self.time_zone
            ),
        })?;
        let mut hours = WeeklyHours::closed();
        for (day, items) in &self.weekly_hours {
            let wd = DAYS.iter().find(|(d, _)| d == day).map(|(_, wd)| *wd).ok_or_else(|| {
                ApiError::bad(
                    "invalid_request",
                    format!("weekly_hours has a key {day:?}; use mon, tue, wed, thu, fri, sat or sun"),
                )
            })?;
            for iv in parse_intervals(&format!("weekly_hours.{day}"), items)? {
                hours = hours.with(wd, iv);
            }
        }
        let kind = match self.kind.as_deref() {
            None | Some("provider") => ResourceKind::Provider,
            Some("room") => ResourceKind::Room,
            Some(other) => {
                return Err(ApiError::bad(
                    "invalid_request",
                    format!("kind={other:?}: use provider or room"),
                ));
            }
        };
        let mut r = Resource::new(id, name, kind, tz, hours);
        for (i, ex) in self.exceptions.iter().enumerate() {
            let date = parse_date(&format!("exceptions[{i}].date"), &ex.date)?;
            if r.exceptions
                .iter()
                .any(|e| matches!(e, Exception::Closed(d) | Exception::Hours(d, _) if *d == date))
            {
                return Err(ApiError::bad(
                    "invalid_request",
                    format!("exceptions has {date} twice; give each date once"),
                ));
            }
            let ivs = parse_intervals(&format!("exceptions[{i}].hours"), &ex.hours)?;
            r.exceptions.push(if ivs.is_empty() {
                Exception::Closed(date)
            } else {
                Exception::Hours(date, ivs)
            });
        }
        for (i, d) in self.holidays.iter().enumerate() {
            let date = parse_date(&format!("holidays[{i}]"), d)?;
            if !r.holidays.contains(&date) {
                r.holidays.push(date);
            }
        }
        r.holidays.sort();
        Ok(r)
    }
}

pub(super) fn resource_json(r: &Resource) -> Value {
    let weekly: serde_json::Map<String, Value> = DAYS
        .iter()
        .map(|(d, wd)| {
            ((*d).to_string(), json!(r.hours.on(*wd).iter().map(interval_text).collect::<Vec<_>>()))
        })
        .collect();
    let exceptions: Vec<Value> = r
        .exceptions
        .iter()
        .map(|e| match e {
            Exception::Closed(d) => json!({ "date": d.to_string(), "hours": [] }),
            Exception::Hours(d, ivs) => {
                json!({ "date": d.to_string(), "hours": ivs.iter().map(interval_text).collect::<Vec<_>>() })
            }
        })
        .collect();
    json!({
        "id": r.id.0,
        "name": r.name,
        "kind": if r.kind == ResourceKind::Room { "room" } else { "provider" },
        "time_zone": r.tz.iana_name().unwrap_or("UTC"),
        "weekly_hours": weekly,
        "exceptions": exceptions,
        "holidays": r.holidays.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn id_mismatch(what: &str, path: &str, body: Option<&str>) -> Result<(), ApiError> {
    match body {
        Some(b) if b != path => Err(ApiError::bad(
            "invalid_request",
            format!(
                "the body's id {b:?} differs from the {what} id {path:?} in the path; leave id out or make them equal"
            ),
        )),
        _ => Ok(()),
    }
}

pub(super) async fn list(ctx: &Ctx) -> Result<Resp, ApiError> {
    let rs = ctx.state.db(|s| s.resources()).await?;
    Ok(crate::json(StatusCode::OK, &json!({ "resources": rs.iter().map(resource_json).collect::<Vec<_>>() })))
}

pub(super) async fn create(ctx: &Ctx) -> Result<Resp, ApiError> {
    let body: ResourceBody = ctx.json()?;
    let id = body.id.clone().ok_or_else(|| {
        ApiError::bad(
            "invalid_request",
            "missing field `id`: name the resource (letters, digits, '.', '_', '-')",
        )
    })?;
    let r = body.into_resource(&id)?;
    let r2 = r.clone();
    if !ctx.state.db(move |s| s.create_resource(&r2)).await? {
        return Err(ApiError::Conflict {
            code: "already_exists",
            message: format!("resource {id:?} exists; change it with PUT /v1/resources/{id}"),
        });
    }
    Ok(crate::json(StatusCode::CREATED, &resource_json(&r)))
}

pub(super) async fn get(ctx: &Ctx) -> Result<Resp, ApiError> {
    let id = ResourceId(ctx.p(0).to_string());
    let id2 = id.clone();
    let r = ctx.state.db(move |s| s.resource(&id2)).await?.ok_or_else(|| {
        ApiError::NotFound(format!("no resource {:?} (list them with GET /v1/resources)", id.0))
    })?;
    Ok(crate::json(StatusCode::OK, &resource_json(&r)))
}

/// Replaces a resource's name, kind, zone, hours, exceptions and holidays (creates it if absent).
pub(super) async fn put(ctx: &Ctx) -> Result<Resp, ApiError> {
    let body: ResourceBody = ctx.json()?;
    let id = ctx.p(0).to_string();
    id_mismatch("resource", &id, body.id.as_deref())?;
    let r = body.into_resource(&id)?;
    let r2 = r.clone();
    let existed = ctx
        .state
        .db(move |s| {
            let existed = s.resource(&r2.id)?.is_some();
            s.put_resource(&r2)?;
            Ok(existed)
        })
        .await?;
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok(crate::json(status, &resource_json(&r)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeBody {
    #[serde(default, deserialize_with = "some")]
    id: Option<String>,
    name: String,
    #[serde(deserialize_with = "minutes")]
    duration_minutes: u32,
    #[serde(default, deserialize_with = "minutes")]
    buffer_before_minutes: u32,
    #[serde(default, deserialize_with = "minutes")]
    buffer_after_minutes: u32,
}

impl TypeBody {
    fn into_type(self, id: &str) -> Result<AppointmentType, ApiError> {
        check_id("appointment type", id)?;
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::bad("invalid_request", "name must have 1 to 200 characters"));
        }
        if !(1..=1440).contains(&self.duration_minutes) {
            return Err(ApiError::bad(
                "invalid_request",
                format!("duration_minutes={}: use 1 to 1440", self.duration_minutes),
            ));
        }
        for (field, v) in [
            ("buffer_before_minutes", self.buffer_before_minutes),
            ("buffer_after_minutes", self.buffer_after_minutes),
        ] {
            if v > 1440 {
                return Err(ApiError::bad("invalid_request", format!("{field}={v}: use 0 to 1440")));
            }
        }
        let mins = |m: u32| SignedDuration::from_mins(i64::from(m));
        Ok(AppointmentType {
            id: id.to_string(),
            name: name.to_string(),
            duration: mins(self.duration_minutes),
            buffer_before: mins(self.buffer_before_minutes),
            buffer_after: mins(self.buffer_after_minutes),
        })
    }
}

fn type_json(t: &AppointmentType) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "duration_minutes": t.duration.as_mins(),
        "buffer_before_minutes": t.buffer_before.as_mins(),
        "buffer_after_minutes": t.buffer_after.as_mins(),
    })
}

pub(super) async fn list_types(ctx: &Ctx) -> Result<Resp, ApiError> {
    let ts = ctx.state.db(|s| s.appointment_types()).await?;
    Ok(crate::json(
        StatusCode::OK,
        &json!({ "appointment_types": ts.iter().map(type_json).collect::<Vec<_>>() }),
    ))
}

pub(super) async fn create_type(ctx: &Ctx) -> Result<Resp, ApiError> {
    let body: TypeBody = ctx.json()?;
    let id = body.id.clone().ok_or_else(|| {
        ApiError::bad(
            "invalid_request",
            "missing field `id`: name the appointment type (letters, digits, '.', '_', '-')",
        )
    })?;
    let t = body.into_type(&id)?;
    let t2 = t.clone();
    if !ctx.state.db(move |s| s.create_appointment_type(&t2)).await? {
        return Err(ApiError::Conflict {
            code: "already_exists",
            message: format!("appointment type {id:?} exists; change it with PUT /v1/appointment-types/{id}"),
        });
    }
    Ok(crate::json(StatusCode::CREATED, &type_json(&t)))
}

pub(super) async fn get_type(ctx: &Ctx) -> Result<Resp, ApiError> {
    let id = ctx.p(0).to_string();
    let id2 = id.clone();
    let t = ctx.state.db(move |s| s.appointment_type(&id2)).await?.ok_or_else(|| {
        ApiError::NotFound(format!("no appointment type {id:?} (list them with GET /v1/appointment-types)"))
    })?;
    Ok(crate::json(StatusCode::OK, &type_json(&t)))
}

/// Replaces an appointment type (creates it if absent). Booked appointments keep their times.
pub(super) async fn put_type(ctx: &Ctx) -> Result<Resp, ApiError> {
    let body: TypeBody = ctx.json()?;
    let id = ctx.p(0).to_string();
    id_mismatch("appointment type", &id, body.id.as_deref())?;
    let t = body.into_type(&id)?;
    let t2 = t.clone();
    let existed = ctx
        .state
        .db(move |s| {
            let existed = s.appointment_type(&t2.id)?.is_some();
            s.put_appointment_type(&t2)?;
            Ok(existed)
        })
        .await?;
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok(crate::json(status, &type_json(&t)))
}
