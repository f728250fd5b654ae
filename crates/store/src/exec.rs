//! Runs a flow's [`ScheduleOp`] against a [`SchedulingStore`] and the scheduling core, giving the
//! [`ScheduleOutcome`] the flow machine waits for. This is shell code (it touches the store);
//! the time is the op's `now`, never a clock read here.
//!
//! - `FindSlots`: resources (one provider or all) and what blocks them (bookings and live holds)
//!   go into `frontdesk_schedule::find_slots`; with nothing open in the range, the search
//!   widens to the next `widen_days` days and says so (`widened`).
//! - `Hold` / `Book` / `Cancel` map store errors to outcomes: an overlapping booking or live
//!   hold is `Conflict`, an expired or swept hold is `Expired`, unknown ids are `NotFound`.
//! - `Book` returns the iCalendar confirmation (RFC 5545) of the new appointment.

use frontdesk_schedule::jiff::{SignedDuration, Timestamp, ToSpan as _};
use frontdesk_schedule::{
    AppointmentInfo, IcsEvent, Offer, ResourceId, ScheduleOp, ScheduleOutcome, SlotQuery, find_slots, to_ics,
};

use crate::{
    Appointment, AppointmentId, AppointmentStatus, Caller, HoldId, NewHold, SchedulingStore, StoreError,
};

/// The domain in iCalendar UIDs (`A12@frontdesk.invalid`).
pub const ICS_UID_DOMAIN: &str = "frontdesk.invalid";

/// Runs one op. Never fails: problems are outcomes the flow can speak about.
pub fn execute(store: &dyn SchedulingStore, op: &ScheduleOp) -> ScheduleOutcome {
    let r = match op {
        ScheduleOp::FindSlots { .. } => find(store, op),
        ScheduleOp::Hold { offer, replaces, key, now } => {
            let mut req = NewHold::new(
                &offer.resource,
                &offer.appointment_type,
                offer.start.timestamp(),
                offer.start.time_zone().iana_name().unwrap_or("UTC"),
            )
            .with_key(key);
            if let Some(r) = replaces {
                req = req.replacing(AppointmentId(*r));
            }
            store.hold(&req, *now).map(|h| ScheduleOutcome::Held { hold: h.id.0, expires_at: h.expires_at })
        }
        ScheduleOp::Book { hold, phone, name, now } => {
            let caller = Caller {
                phone: frontdesk_types::Pii::new(phone.clone()),
                name: name.clone().map(frontdesk_types::Pii::new),
            };
            store.book_from_hold(HoldId(*hold), &caller, *now).and_then(|a| {
                let info = info(store, &a)?;
                let summary = format!("{} with {}", cap(&info.type_name), info.resource_name);
                let ics = to_ics(&IcsEvent::for_booking(&a.to_booking(), ICS_UID_DOMAIN, &summary, *now));
                Ok(ScheduleOutcome::Booked { appointment: info, ics })
            })
        }
        ScheduleOp::Release { hold } => store.release_hold(HoldId(*hold)).map(|_| ScheduleOutcome::NotFound),
        ScheduleOp::Lookup { phone, id, now } => lookup(store, phone.as_deref(), *id, *now),
        ScheduleOp::Cancel { appointment, now } => store
            .cancel(AppointmentId(*appointment), *now)
            .and_then(|a| Ok(ScheduleOutcome::Cancelled(info(store, &a)?))),
    };
    r.unwrap_or_else(|e| match e {
        StoreError::Conflict { .. } => ScheduleOutcome::Conflict,
        StoreError::HoldExpired(_) | StoreError::HoldNotFound(_) => ScheduleOutcome::Expired,
        StoreError::AppointmentNotFound(_) | StoreError::NotBooked { .. } => ScheduleOutcome::NotFound,
        other => ScheduleOutcome::Failed(other.to_string()),
    })
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn find(store: &dyn SchedulingStore, op: &ScheduleOp) -> Result<ScheduleOutcome, StoreError> {
    let ScheduleOp::FindSlots {
        appointment_type,
        provider,
        from,
        until,
        window,
        max_offers,
        widen_days,
        now,
    } = op
    else {
        return Ok(ScheduleOutcome::NotFound);
    };
    let Some(kind) = store.appointment_type(appointment_type)? else {
        return Ok(ScheduleOutcome::NotFound);
    };
    let mut resources = store.resources()?;
    if let Some(p) = provider {
        resources.retain(|r| r.id == ResourceId(p.clone()));
    }
    if resources.is_empty() {
        return Ok(ScheduleOutcome::NotFound);
    }
    let search = |from: Timestamp, until: Timestamp, window| -> Result<Vec<Offer>, StoreError> {
        let pad = SignedDuration::from_hours(24);
        let busy = store.busy(from - pad, until + pad, *now)?;
        let mut q = SlotQuery::new(&kind, &resources, from, until);
        q.window = window;
        q.max_offers = *max_offers;
        let slots = find_slots(&q, &busy).map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(slots
            .into_iter()
            .map(|s| Offer {
                resource_name: resources
                    .iter()
                    .find(|r| r.id == s.resource)
                    .map_or_else(|| s.resource.0.clone(), |r| r.name.clone()),
                resource: s.resource.0,
                appointment_type: kind.id.clone(),
                start: s.start,
                end: s.end,
            })
            .collect())
    };
    let from = (*from).max(*now);
    let offers = search(from, *until, *window)?;
    if !offers.is_empty() || *widen_days <= 0 {
        return Ok(ScheduleOutcome::Offers { offers, widened: false });
    }
    // Nothing in the asked range: the nearest openings after it, on any time of day, with the
    // first ones (not spread out) so the caller hears the soonest.
    let tz = resources.first().map(|r| r.tz.clone()).unwrap_or(frontdesk_schedule::jiff::tz::TimeZone::UTC);
    let start = (*until).max(from);
    let end = start
        .to_zoned(tz)
        .checked_add(widen_days.days())
        .map_err(|e| StoreError::Invalid(e.to_string()))?
        .timestamp();
    let offers = search(start, end, None)?;
    Ok(ScheduleOutcome::Offers { offers, widened: true })
}

fn lookup(
    store: &dyn SchedulingStore,
    phone: Option<&str>,
    id: Option<i64>,
    now: Timestamp,
) -> Result<ScheduleOutcome, StoreError> {
    let appts: Vec<Appointment> = match (id, phone) {
        (Some(id), _) => store
            .appointment(AppointmentId(id))?
            .into_iter()
            .filter(|a| a.status == AppointmentStatus::Booked && a.slot.end > now)
            .collect(),
        (None, Some(p)) => store.appointments_for_phone(p, now)?,
        (None, None) => Vec::new(),
    };
    let infos = appts.iter().map(|a| info(store, a)).collect::<Result<Vec<_>, _>>()?;
    Ok(ScheduleOutcome::Appointments(infos))
}

/// The flow's view of a stored appointment (provider and type names from the store).
pub fn info(store: &dyn SchedulingStore, a: &Appointment) -> Result<AppointmentInfo, StoreError> {
    let start = a.local_start()?;
    let end = a.slot.end.to_zoned(start.time_zone().clone());
    let resource_name =
        store.resource(&a.slot.resource)?.map_or_else(|| a.slot.resource.0.clone(), |r| r.name);
    let type_name = store
        .appointment_type(&a.appointment_type)?
        .map_or_else(|| a.appointment_type.replace('_', " "), |t| t.name);
    Ok(AppointmentInfo {
        id: a.id.0,
        resource: a.slot.resource.0.clone(),
        resource_name,
        appointment_type: a.appointment_type.clone(),
        type_name,
        start,
        end,
    })
}
