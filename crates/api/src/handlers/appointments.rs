//! Availability and appointments: open slots, booking (hold and book in one store transaction,
//! with an optional `Idempotency-Key`), listing with filters and cursor pages, reading,
//! amending (reschedule and notes) and cancelling.
//!
//! - Availability runs the flows' own search (`frontdesk_store::exec::execute` with
//!   `ScheduleOp::FindSlots`: the scheduling core's `find_slots` over the store's busy list),
//!   so the API and a caller on the phone see the same slots: on a 15-minute grid from each
//!   opening, at most `limit`, spread over the range with the earliest always first.
//! - Booking accepts any start whose appointment fits inside the resource's opening hours
//!   (422 `outside_hours` otherwise; 422 `in_the_past`). Without a resource, the first resource
//!   open at that time that is free gets it. A taken slot is 409 `slot_taken` with up to 3
//!   alternatives (the flows' conflict re-offer: the rest of that day, else the next 7 days).
//! - `Idempotency-Key`: the key is stored with the booking; the same key with the same request
//!   (type, resource, start instant, normalised phone, name, notes) returns that appointment
//!   again (201, `Idempotent-Replayed: true`), with another request it is 409
//!   `idempotency_key_reused`. The key is looked up before the booking rules, so a retry that
//!   arrives after the start has passed still gets its booking. Keys do not expire.
//! - A reschedule (`PATCH` with `start` and/or `resource`) creates a new appointment (new id,
//!   `replaces` = the old id; notes carried over) and marks the old one `rescheduled` (its
//!   `replaced_by` names the new one), in one store transaction. `PATCH` with only `notes`
//!   changes the appointment in place.
//! - Cancel is idempotent: cancelling a cancelled appointment returns it unchanged (200). A
//!   rescheduled one is 409 `not_booked` (cancel the one that replaced it), a past one 409
//!   `appointment_past`.

use frontdesk_schedule::jiff::civil::DateTime;
use frontdesk_schedule::jiff::tz::TimeZone;
use frontdesk_schedule::jiff::{SignedDuration, Timestamp, ToSpan as _};
use frontdesk_schedule::{AppointmentType, Occupancy, Resource, ResourceId, ScheduleOp, ScheduleOutcome};
use frontdesk_store::{
    Amend, AppointmentId, AppointmentQuery, AppointmentStatus, AppointmentView, Caller, DirectBooked,
    DirectBooking, IdempotencyKey, NewSlot, StoreError, exec, normalize_phone,
};
use frontdesk_types::Pii;
use hyper::StatusCode;
use hyper::header::{HeaderValue, LOCATION};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::Ctx;
use super::resources::{check_id, some};
use crate::{ApiError, Resp};

/// The longest availability range. With `limit` at most [`MAX_SLOTS`], this bounds one search:
/// the core's spreading of offers costs (candidates x limit^2); the worst case here (31 days of
/// ten round-the-clock resources, limit 50) took 2.1 s in a debug build on a loaded machine.
const MAX_RANGE_DAYS: i64 = 31;
/// The most slots one availability answer lists.
const MAX_SLOTS: u32 = 50;

/// RFC 3339 with the offset of `tz`.
fn at(t: Timestamp, tz: &TimeZone) -> String {
    let z = t.to_zoned(tz.clone());
    t.display_with_offset(z.offset()).to_string()
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// A time from a body field or query parameter: RFC 3339 with an offset.
fn parse_time(field: &str, v: &str) -> Result<Timestamp, ApiError> {
    if let Ok(t) = v.parse::<Timestamp>() {
        return Ok(t);
    }
    let message = if v.parse::<DateTime>().is_ok() {
        format!(
            "{field}={v:?} has no UTC offset: send RFC 3339 with an offset, e.g. 2026-03-03T10:00:00-05:00 \
             or 2026-03-03T15:00:00Z"
        )
    } else {
        format!("{field}={v:?} is not an RFC 3339 time with an offset (e.g. 2026-03-03T10:00:00-05:00)")
    };
    Err(ApiError::bad("bad_time", message))
}

fn time_q(ctx: &Ctx, name: &str) -> Result<Option<Timestamp>, ApiError> {
    ctx.q(name).map(|v| parse_time(name, v)).transpose()
}

fn limit_q(ctx: &Ctx, default: u32, max: u32) -> Result<u32, ApiError> {
    match ctx.q("limit") {
        None => Ok(default),
        Some(l) => {
            l.parse::<u32>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
                ApiError::bad("bad_query", format!("limit={l:?}: use a number from 1 to {max}"))
            })
        }
    }
}

fn appointment_json(v: &AppointmentView) -> Value {
    let a = &v.appointment;
    let tz = zone(&a.tz);
    json!({
        "id": a.id.0,
        "status": a.status.as_str(),
        "type": a.appointment_type,
        "resource": a.slot.resource.0,
        "start": at(a.slot.start, &tz),
        "end": at(a.slot.end, &tz),
        "time_zone": a.tz,
        "caller": { "phone": a.caller.phone.expose(), "name": a.caller.name.as_ref().map(|n| n.expose()) },
        "notes": v.notes,
        "created_at": a.created_at.to_string(),
        "ended_at": a.ended_at.map(|t| t.to_string()),
        "replaces": a.replaces.map(|r| r.0),
        "replaced_by": v.replaced_by.map(|r| r.0),
    })
}

fn unknown_type(id: &str) -> ApiError {
    ApiError::Unprocessable {
        code: "unknown_appointment_type",
        message: format!("no appointment type {id:?}; list them with GET /v1/appointment-types"),
    }
}

fn unknown_resource(id: &str) -> ApiError {
    ApiError::Unprocessable {
        code: "unknown_resource",
        message: format!("no resource {id:?}; list them with GET /v1/resources"),
    }
}

/// The appointment type and the candidate resources (one, or all), each checked to exist.
async fn load(
    ctx: &Ctx,
    kind: &str,
    resource: Option<&str>,
) -> Result<(AppointmentType, Vec<Resource>), ApiError> {
    let (k, r) = (kind.to_string(), resource.map(str::to_string));
    let (t, rs) = ctx
        .state
        .db(move |s| {
            let t = s.appointment_type(&k)?;
            let rs = match &r {
                Some(id) => s.resource(&ResourceId(id.clone()))?.into_iter().collect(),
                None => s.resources()?,
            };
            Ok((t, rs))
        })
        .await?;
    let t = t.ok_or_else(|| unknown_type(kind))?;
    match (resource, rs.is_empty()) {
        (Some(id), true) => Err(unknown_resource(id)),
        (None, true) => Err(ApiError::Unprocessable {
            code: "unknown_resource",
            message: "there are no resources yet; create one with POST /v1/resources".into(),
        }),
        _ => Ok((t, rs)),
    }
}

/// Whether an appointment of `kind` at `start` fits inside one of the resource's opening
/// intervals that day (weekly hours, exceptions and holidays applied by the core).
fn fits_hours(r: &Resource, kind: &AppointmentType, start: Timestamp) -> bool {
    let Ok(occ) = Occupancy::new(r.id.clone(), kind, start) else { return false };
    let date = start.to_zoned(r.tz.clone()).date();
    r.open_on(date).is_ok_and(|ivs| ivs.iter().any(|(o, c)| *o <= occ.start && occ.end <= *c))
}

fn outside_hours(start: Timestamp, rs: &[Resource]) -> ApiError {
    let names: Vec<String> = rs.iter().map(|r| format!("{} ({})", r.id, at(start, &r.tz))).collect();
    ApiError::Unprocessable {
        code: "outside_hours",
        message: format!(
            "the appointment does not fit inside the opening hours of {}; find open slots with GET /v1/availability",
            names.join(", ")
        ),
    }
}

fn slot_json(o: &frontdesk_schedule::Offer) -> Value {
    let start = o.start.timestamp().display_with_offset(o.start.offset()).to_string();
    let end = o.end.timestamp().display_with_offset(o.end.offset()).to_string();
    json!({
        "resource": o.resource,
        "resource_name": o.resource_name,
        "type": o.appointment_type,
        "start": start,
        "end": end,
        "time_zone": o.start.time_zone().iana_name().unwrap_or("UTC"),
    })
}

/// Runs the flows' slot search.
async fn find(ctx: &Ctx, op: ScheduleOp) -> Result<Vec<frontdesk_schedule::Offer>, ApiError> {
    match ctx.state.db(move |s| Ok(exec::execute(s, &op))).await? {
        ScheduleOutcome::Offers { offers, .. } => Ok(offers),
        ScheduleOutcome::NotFound => Ok(Vec::new()),
        ScheduleOutcome::Failed(m) => Err(ApiError::Internal(format!("slot search failed: {m}"))),
        other => Err(ApiError::Internal(format!("slot search gave {other:?}"))),
    }
}

/// 409 `slot_taken` with up to 3 alternatives: the rest of that local day, else the next 7 days.
async fn slot_taken(
    ctx: &Ctx,
    kind: &str,
    resource: Option<&str>,
    start: Timestamp,
    tz: &TimeZone,
) -> ApiError {
    let now = ctx.state.clock.now();
    let end_of_day = start
        .to_zoned(tz.clone())
        .start_of_day()
        .and_then(|d| d.checked_add(1.day()))
        .map_or(start, |z| z.timestamp());
    let op = ScheduleOp::FindSlots {
        appointment_type: kind.to_string(),
        provider: resource.map(str::to_string),
        from: start,
        until: end_of_day,
        window: None,
        max_offers: 3,
        widen_days: 7,
        now,
    };
    let alternatives = find(ctx, op).await.unwrap_or_default();
    ApiError::Refused {
        code: "slot_taken",
        message: format!(
            "{} is no longer free{}; pick one of the alternatives or search GET /v1/availability",
            at(start, tz),
            resource.map(|r| format!(" on {r}")).unwrap_or_default()
        ),
        details: Some(json!({ "alternatives": alternatives.iter().map(slot_json).collect::<Vec<_>>() })),
    }
}

pub(super) async fn availability(ctx: &Ctx) -> Result<Resp, ApiError> {
    let kind = ctx
        .q("type")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::bad("bad_query", "type is required: an appointment type id (GET /v1/appointment-types)")
        })?
        .to_string();
    let resource = ctx.q("resource").filter(|r| !r.is_empty()).map(str::to_string);
    let now = ctx.state.clock.now();
    let from = time_q(ctx, "from")?.unwrap_or(now);
    let to = match time_q(ctx, "to")? {
        Some(t) => t,
        None => from.checked_add(SignedDuration::from_hours(24 * 7)).unwrap_or(Timestamp::MAX),
    };
    // Each time well-formed, the window they make not searchable: 422.
    if to <= from {
        let message = format!("to must be after from ({from}; from defaults to now)");
        return Err(ApiError::Unprocessable { code: "bad_window", message });
    }
    if to.duration_since(from) > SignedDuration::from_hours(24 * MAX_RANGE_DAYS) {
        let message = format!("from..to spans more than {MAX_RANGE_DAYS} days; narrow it");
        return Err(ApiError::Unprocessable { code: "bad_window", message });
    }
    let limit = limit_q(ctx, 20, MAX_SLOTS)?;
    load(ctx, &kind, resource.as_deref()).await?;
    let op = ScheduleOp::FindSlots {
        appointment_type: kind.clone(),
        provider: resource.clone(),
        from,
        until: to,
        window: None,
        max_offers: limit as usize,
        widen_days: 0,
        now,
    };
    let offers = find(ctx, op).await?;
    Ok(crate::json(
        StatusCode::OK,
        &json!({
            "type": kind,
            "resource": resource,
            "from": from.max(now).to_string(),
            "to": to.to_string(),
            "slots": offers.iter().map(slot_json).collect::<Vec<_>>(),
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallerBody {
    phone: String,
    #[serde(default, deserialize_with = "some")]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BookBody {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, deserialize_with = "some")]
    resource: Option<String>,
    start: String,
    caller: CallerBody,
    #[serde(default, deserialize_with = "some")]
    notes: Option<String>,
}

fn check_text(field: &str, v: Option<&str>, max: usize) -> Result<(), ApiError> {
    match v {
        Some(s) if s.chars().count() > max => {
            Err(ApiError::bad("invalid_request", format!("{field} is over {max} characters")))
        }
        _ => Ok(()),
    }
}

fn phone(raw: &str) -> Result<String, ApiError> {
    normalize_phone(raw).map_err(|_| {
        ApiError::bad(
            "invalid_request",
            "caller.phone: use a phone number of digits with an optional leading + (spaces, dashes, dots and parentheses are ignored)",
        )
    })
}

fn idempotency_key(ctx: &Ctx) -> Result<Option<String>, ApiError> {
    let Some(v) = ctx.headers.get("idempotency-key") else { return Ok(None) };
    let key = v.to_str().ok().map(str::trim).filter(|k| (1..=255).contains(&k.len()));
    match key {
        Some(k) => Ok(Some(k.to_string())),
        None => Err(ApiError::bad(
            "bad_idempotency_key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters (a UUID is a good key)",
        )),
    }
}

fn not_in_past(start: Timestamp, now: Timestamp) -> Result<(), ApiError> {
    if start <= now {
        return Err(ApiError::Unprocessable {
            code: "in_the_past",
            message: format!("start {start} is not in the future; book a time after {now}"),
        });
    }
    Ok(())
}

pub(super) async fn create(ctx: &Ctx) -> Result<Resp, ApiError> {
    let body: BookBody = ctx.json()?;
    let key = idempotency_key(ctx)?;
    let start = parse_time("start", &body.start)?;
    let phone = phone(&body.caller.phone)?;
    let name = body.caller.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
    check_text("caller.name", name.as_deref(), 200)?;
    check_text("notes", body.notes.as_deref(), 2000)?;
    let fingerprint = frontdesk_store::sha256_hex(
        json!([body.kind, body.resource, start.as_millisecond(), phone, name, body.notes])
            .to_string()
            .as_bytes(),
    );
    // A retry is answered from the key before any rule is checked again: its start may have
    // passed or the hours changed since the first request booked it.
    if let Some(k) = key.clone() {
        let (k2, fp) = (k.clone(), fingerprint.clone());
        match ctx.state.db(move |s| s.idempotent_booking(&k2)).await? {
            Some((stored, v)) if stored == fp => return Ok(created(&v, true)),
            Some(_) => return Err(key_reused(&k)),
            None => {}
        }
    }
    let now = ctx.state.clock.now();
    not_in_past(start, now)?;
    let (kind, rs) = load(ctx, &body.kind, body.resource.as_deref()).await?;
    let open: Vec<&Resource> = rs.iter().filter(|r| fits_hours(r, &kind, start)).collect();
    if open.is_empty() {
        return Err(outside_hours(start, &rs));
    }
    let req = DirectBooking {
        resources: open.iter().map(|r| r.id.clone()).collect(),
        appointment_type: kind.id.clone(),
        start,
        caller: Caller { phone: Pii::new(phone), name: name.map(Pii::new) },
        notes: body.notes.clone(),
        idempotency: key.clone().map(|key| IdempotencyKey { key, fingerprint }),
    };
    let tz = open.first().map_or(TimeZone::UTC, |r| r.tz.clone());
    match ctx.state.db(move |s| s.book_direct(&req, now)).await {
        Ok(DirectBooked::Booked(v)) => Ok(created(&v, false)),
        Ok(DirectBooked::Replayed(v)) => Ok(created(&v, true)),
        Err(ApiError::Store(StoreError::Conflict { .. })) => {
            Err(slot_taken(ctx, &kind.id, body.resource.as_deref(), start, &tz).await)
        }
        Err(ApiError::Store(StoreError::IdempotencyKeyReused { key })) => Err(key_reused(&key)),
        Err(e) => Err(e),
    }
}

fn key_reused(key: &str) -> ApiError {
    ApiError::Conflict {
        code: "idempotency_key_reused",
        message: format!(
            "Idempotency-Key {key:?} was already used for a different booking request; send a new key for a new booking"
        ),
    }
}

fn created(v: &AppointmentView, replayed: bool) -> Resp {
    let mut resp = crate::json(StatusCode::CREATED, &appointment_json(v));
    if let Ok(loc) = HeaderValue::from_str(&format!("/v1/appointments/{}", v.appointment.id.0)) {
        resp.headers_mut().insert(LOCATION, loc);
    }
    if replayed {
        resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

/// An opaque cursor: the last row's start (ms) and id.
fn cursor(v: &AppointmentView) -> String {
    format!("{}.{}", v.appointment.slot.start.as_millisecond(), v.appointment.id.0)
}

fn parse_cursor(s: &str) -> Option<(Timestamp, AppointmentId)> {
    let (ms, id) = s.split_once('.')?;
    let digits = |x: &str| !x.is_empty() && x.len() <= 18 && x.bytes().all(|b| b.is_ascii_digit());
    let neg = ms.strip_prefix('-');
    if !digits(neg.unwrap_or(ms)) || !digits(id) {
        return None;
    }
    let ms: i64 = ms.parse().ok()?;
    let at = Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 { Timestamp::MIN } else { Timestamp::MAX });
    Some((at, AppointmentId(id.parse().ok()?)))
}

pub(super) async fn list(ctx: &Ctx) -> Result<Resp, ApiError> {
    let mut q = AppointmentQuery {
        phone: ctx.q("phone").map(phone).transpose()?,
        resource: ctx.q("resource").map(|r| ResourceId(r.to_string())),
        from: time_q(ctx, "from")?,
        until: time_q(ctx, "to")?,
        limit: limit_q(ctx, 50, 1000)?,
        ..AppointmentQuery::default()
    };
    if let Some(s) = ctx.q("status") {
        q.status = Some(match s {
            "booked" => AppointmentStatus::Booked,
            "cancelled" => AppointmentStatus::Cancelled,
            "rescheduled" => AppointmentStatus::Rescheduled,
            _ => {
                return Err(ApiError::bad(
                    "bad_query",
                    format!("status={s:?}: use booked, cancelled or rescheduled"),
                ));
            }
        });
    }
    if let Some(c) = ctx.q("cursor") {
        q.after = Some(parse_cursor(c).ok_or_else(|| {
            ApiError::bad(
                "bad_query",
                "cursor is not one this API returned (pass next_cursor back unchanged)",
            )
        })?);
    }
    let limit = q.effective_limit() as usize;
    let rows = ctx.state.db(move |s| s.list_appointments(&q)).await?;
    let next = if rows.len() == limit { rows.last().map(cursor) } else { None };
    Ok(crate::json(
        StatusCode::OK,
        &json!({ "appointments": rows.iter().map(appointment_json).collect::<Vec<_>>(), "next_cursor": next }),
    ))
}

fn id_param(ctx: &Ctx) -> Result<AppointmentId, ApiError> {
    let p = ctx.p(0);
    p.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .map(AppointmentId)
        .ok_or_else(|| ApiError::bad("bad_id", format!("appointment id {p:?} is not a positive integer")))
}

async fn view(ctx: &Ctx, id: AppointmentId) -> Result<AppointmentView, ApiError> {
    ctx.state
        .db(move |s| s.appointment_view(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no appointment {}", id.0)))
}

pub(super) async fn get(ctx: &Ctx) -> Result<Resp, ApiError> {
    let v = view(ctx, id_param(ctx)?).await?;
    Ok(crate::json(StatusCode::OK, &appointment_json(&v)))
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent (with `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "some")]
    start: Option<String>,
    #[serde(default, deserialize_with = "some")]
    resource: Option<String>,
    #[serde(default, deserialize_with = "present")]
    notes: Option<Option<String>>,
}

fn not_booked(v: &AppointmentView) -> ApiError {
    let a = &v.appointment;
    let hint = match v.replaced_by {
        Some(n) => format!(" (it was moved to appointment {}; change that one)", n.0),
        None => String::new(),
    };
    ApiError::Conflict {
        code: "not_booked",
        message: format!("appointment {} is {}{hint}", a.id.0, a.status),
    }
}

fn past(v: &AppointmentView) -> ApiError {
    ApiError::Conflict {
        code: "appointment_past",
        message: format!(
            "appointment {} started at {}; past appointments cannot change",
            v.appointment.id.0, v.appointment.slot.start
        ),
    }
}

/// Reschedules (`start` and/or `resource`) and/or sets `notes` (`null` clears them).
pub(super) async fn patch(ctx: &Ctx) -> Result<Resp, ApiError> {
    let body: PatchBody = ctx.json()?;
    let id = id_param(ctx)?;
    if body.start.is_none() && body.resource.is_none() && body.notes.is_none() {
        return Err(ApiError::bad("invalid_request", "nothing to change: send start, resource and/or notes"));
    }
    check_text("notes", body.notes.as_ref().and_then(Option::as_deref), 2000)?;
    if let Some(r) = &body.resource {
        check_id("resource", r)?;
    }
    let new_start = body.start.as_deref().map(|s| parse_time("start", s)).transpose()?;
    let now = ctx.state.clock.now();
    let current = view(ctx, id).await?;
    let mut change = Amend { slot: None, notes: body.notes.clone() };
    let moving = new_start.is_some() || body.resource.is_some();
    let mut target: Option<(String, Timestamp, TimeZone)> = None;
    if moving {
        let a = &current.appointment;
        if a.status != AppointmentStatus::Booked {
            return Err(not_booked(&current));
        }
        if a.slot.start <= now {
            return Err(past(&current));
        }
        let start = new_start.unwrap_or(a.slot.start);
        not_in_past(start, now)?;
        let resource = body.resource.clone().unwrap_or_else(|| a.slot.resource.0.clone());
        let (kind, rs) = load(ctx, &a.appointment_type, Some(&resource)).await?;
        let r = rs.first().ok_or_else(|| unknown_resource(&resource))?;
        if !fits_hours(r, &kind, start) {
            return Err(outside_hours(start, &rs));
        }
        let tz = r.tz.iana_name().map(str::to_string);
        change.slot = Some(NewSlot { resource: Some(r.id.clone()), start, tz });
        target = Some((kind.id.clone(), start, r.tz.clone()));
    }
    let resource = body.resource.clone().unwrap_or_else(|| current.appointment.slot.resource.0.clone());
    match ctx.state.db(move |s| s.amend_appointment(id, &change, now)).await {
        Ok(v) => Ok(crate::json(StatusCode::OK, &appointment_json(&v))),
        Err(ApiError::Store(StoreError::Conflict { .. })) => {
            let (kind, start, tz) = target.unwrap_or_else(|| (String::new(), now, TimeZone::UTC));
            Err(slot_taken(ctx, &kind, Some(&resource), start, &tz).await)
        }
        Err(ApiError::Store(StoreError::NotBooked { .. })) => Err(not_booked(&view(ctx, id).await?)),
        Err(e) => Err(e),
    }
}

/// Cancels a booked future appointment; a cancelled one is returned as it is.
pub(super) async fn cancel(ctx: &Ctx) -> Result<Resp, ApiError> {
    let id = id_param(ctx)?;
    let v = view(ctx, id).await?;
    match v.appointment.status {
        AppointmentStatus::Cancelled => return Ok(crate::json(StatusCode::OK, &appointment_json(&v))),
        AppointmentStatus::Booked => {}
        _ => return Err(not_booked(&v)),
    }
    let now = ctx.state.clock.now();
    if v.appointment.slot.start <= now {
        return Err(past(&v));
    }
    match ctx.state.db(move |s| s.cancel(id, now)).await {
        Ok(_) | Err(ApiError::Store(StoreError::NotBooked { .. })) => {}
        Err(e) => return Err(e),
    }
    let v = view(ctx, id).await?;
    match v.appointment.status {
        AppointmentStatus::Cancelled => Ok(crate::json(StatusCode::OK, &appointment_json(&v))),
        _ => Err(not_booked(&v)),
    }
}
