//! Availability search: open slots for an appointment type across resources.
//!
//! Candidates start on a grid (`step`, default 15 min) anchored at each opening interval's start
//! on the resource's wall clock; a candidate must fit inside the opening interval, start within
//! `[from, until)`, fall inside the optional wall-clock `window` (a part-of-day preference:
//! start >= window start and end <= window end), and its blocked interval (buffers included) must
//! not overlap anything busy on that resource (bookings and live holds).
//!
//! Offers are spread out (R41 asks for at most 3 concrete slots): the earliest open slot is always
//! offered (so an exact request that is free comes first), and the others are the open slots
//! nearest to evenly spaced targets between the earliest and the latest open slot in range
//! (`tomorrow afternoon` -> 13:00, 14:45, 16:30 rather than 13:00, 13:15, 13:30). The caller
//! bounds the range (`until`), which is how wide the offers spread. Offers come back in time
//! order. The search looks at most [`MAX_DAYS`] local days ahead.
//!
//! [`range_for`] turns a parsed [`DateTimeMatch`] into `from`/`until` (never before `now`).

use jiff::civil::Time;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

use crate::ScheduleError;
use crate::booking::{AppointmentType, Occupancy};
use crate::calendar::{Resource, ResourceId};
use crate::nlu::{DateTimeMatch, Grain};

/// The furthest the search walks, in local days.
pub const MAX_DAYS: i64 = 62;

/// What to search for.
#[derive(Debug, Clone)]
pub struct SlotQuery<'a> {
    pub appointment_type: &'a AppointmentType,
    pub resources: &'a [Resource],
    /// Earliest start (inclusive).
    pub from: Timestamp,
    /// Latest start (exclusive).
    pub until: Timestamp,
    /// Wall-clock window on each resource's clock (e.g. 12:00-17:00 for "afternoon").
    pub window: Option<(Time, Time)>,
    pub step: SignedDuration,
    pub max_offers: usize,
}

impl<'a> SlotQuery<'a> {
    /// A query with the defaults: 15-minute grid, 3 offers.
    pub fn new(
        appointment_type: &'a AppointmentType,
        resources: &'a [Resource],
        from: Timestamp,
        until: Timestamp,
    ) -> SlotQuery<'a> {
        SlotQuery {
            appointment_type,
            resources,
            from,
            until,
            window: None,
            step: SignedDuration::from_mins(15),
            max_offers: 3,
        }
    }
}

/// An offered slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub resource: ResourceId,
    /// On the resource's wall clock.
    pub start: Zoned,
    pub end: Zoned,
}

/// The search range for a parsed expression: `(from, until)`, `from` never before `now`.
/// A time (minute/hour grain) searches from that time to the end of its day, so the asked time
/// comes first when free and the nearest later ones otherwise.
///
/// # Errors
/// [`ScheduleError::Time`] on overflow.
pub fn range_for(m: &DateTimeMatch, now: Timestamp) -> Result<(Timestamp, Timestamp), ScheduleError> {
    let start = m.start.timestamp();
    let until = match (&m.end, m.grain) {
        (Some(end), _) => end.timestamp(),
        (None, Grain::Week) => m.start.checked_add(7.days()).map_err(ScheduleError::time)?.timestamp(),
        (None, _) => {
            let day = m.start.start_of_day().map_err(ScheduleError::time)?;
            day.checked_add(1.day()).map_err(ScheduleError::time)?.timestamp()
        }
    };
    Ok((start.max(now), until))
}

fn candidates(q: &SlotQuery<'_>, busy: &[Occupancy]) -> Result<Vec<(Timestamp, usize)>, ScheduleError> {
    let mut out = Vec::new();
    if q.step <= SignedDuration::ZERO || q.until <= q.from {
        return Ok(out);
    }
    for (ri, res) in q.resources.iter().enumerate() {
        let first = q.from.to_zoned(res.tz.clone()).date();
        let last = q.until.to_zoned(res.tz.clone()).date();
        let mut date = first;
        let mut days = 0;
        while date <= last && days < MAX_DAYS {
            for (open, close) in res.open_on(date)? {
                let mut t = open;
                while t < close && t < q.until {
                    let occ = Occupancy::new(res.id.clone(), q.appointment_type, t)?;
                    if t >= q.from
                        && occ.end <= close
                        && in_window(q.window, &res.tz, &occ)
                        && !busy.iter().any(|b| b.overlaps(&occ))
                    {
                        out.push((t, ri));
                    }
                    t = t.checked_add(q.step).map_err(ScheduleError::time)?;
                }
            }
            date = date.checked_add(1.day()).map_err(ScheduleError::time)?;
            days += 1;
        }
    }
    out.sort();
    Ok(out)
}

fn in_window(window: Option<(Time, Time)>, tz: &jiff::tz::TimeZone, occ: &Occupancy) -> bool {
    let Some((ws, we)) = window else {
        return true;
    };
    let s = occ.start.to_zoned(tz.clone());
    let e = occ.end.to_zoned(tz.clone());
    let same_day = s.date() == e.date();
    s.time() >= ws && (if same_day { e.time() <= we } else { false })
}

/// Picks `k` candidates: the first, then the nearest unpicked to evenly spaced targets.
fn spread_picks(cands: &[(Timestamp, usize)], k: usize) -> Vec<(Timestamp, usize)> {
    let (Some(first), Some(last)) = (cands.first(), cands.last()) else {
        return Vec::new();
    };
    if cands.len() <= k {
        return cands.to_vec();
    }
    let mut picks: Vec<(Timestamp, usize)> = Vec::with_capacity(k);
    let span = last.0.duration_since(first.0).as_secs();
    for i in 0..k {
        let offset = if k > 1 { span * i as i64 / (k as i64 - 1) } else { 0 };
        let target = first.0.as_second().saturating_add(offset);
        let best =
            cands.iter().filter(|c| !picks.contains(c)).min_by_key(|c| (c.0.as_second() - target).abs());
        if let Some(b) = best {
            picks.push(*b);
        }
    }
    picks.sort();
    picks
}

/// Finds at most `max_offers` open slots, spread out (see the module docs).
///
/// # Errors
/// [`ScheduleError::Time`] on date overflow.
pub fn find_slots(q: &SlotQuery<'_>, busy: &[Occupancy]) -> Result<Vec<Slot>, ScheduleError> {
    let cands = candidates(q, busy)?;
    let picks = spread_picks(&cands, q.max_offers);
    let mut out = Vec::with_capacity(picks.len());
    for (t, ri) in picks {
        let Some(res) = q.resources.get(ri) else {
            continue;
        };
        let occ = Occupancy::new(res.id.clone(), q.appointment_type, t)?;
        out.push(Slot {
            resource: res.id.clone(),
            start: occ.start.to_zoned(res.tz.clone()),
            end: occ.end.to_zoned(res.tz.clone()),
        });
    }
    Ok(out)
}
