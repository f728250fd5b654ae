//! Resources (providers, rooms) and when they are open.
//!
//! A [`Resource`] has weekly hours in its own IANA zone (wall-clock intervals per weekday),
//! dated exceptions (closed, or different hours that day) and holidays (closed). Open time is
//! computed per local date and converted to UTC instants with the zone's rules, so a 09:00-17:00
//! day is 8 hours on both sides of a DST change while its UTC bounds move by an hour. A wall-clock
//! bound that falls in a spring-forward gap moves forward by the gap (jiff "compatible"); one that
//! falls in a fall-back fold takes the earlier instant. Hours are `[open, close)`; a close of
//! 24:00 ([`WallInterval::until_midnight`]) means the next midnight, so a round-the-clock day is
//! 23 hours long on spring-forward day and 25 on fall-back day.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::ScheduleError;

/// A resource identifier (a provider or a room).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(pub String);

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResourceKind {
    Provider,
    Room,
}

/// A wall-clock interval within one day, `[start, end)`; `end == None` means midnight at the end
/// of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallInterval {
    pub start: Time,
    pub end: Option<Time>,
}

impl WallInterval {
    /// `[start, end)` on the same day.
    ///
    /// # Errors
    /// [`ScheduleError::Invalid`] when `end <= start`.
    pub fn new(start: Time, end: Time) -> Result<WallInterval, ScheduleError> {
        if end <= start {
            return Err(ScheduleError::Invalid(format!("interval ends ({end}) before it starts ({start})")));
        }
        Ok(WallInterval { start, end: Some(end) })
    }

    /// `[start, 24:00)`.
    pub fn until_midnight(start: Time) -> WallInterval {
        WallInterval { start, end: None }
    }

    /// Hours as `(h, m, h, m)`, e.g. `hm(9, 0, 17, 0)`.
    ///
    /// # Errors
    /// [`ScheduleError::Invalid`] for impossible times or an empty interval.
    pub fn hm(sh: i8, sm: i8, eh: i8, em: i8) -> Result<WallInterval, ScheduleError> {
        let t = |h: i8, m: i8| Time::new(h, m, 0, 0).map_err(|e| ScheduleError::Invalid(e.to_string()));
        if eh == 24 && em == 0 {
            return Ok(WallInterval::until_midnight(t(sh, sm)?));
        }
        WallInterval::new(t(sh, sm)?, t(eh, em)?)
    }
}

/// Opening hours per weekday.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    days: [Vec<WallInterval>; 7],
}

impl WeeklyHours {
    /// No opening hours.
    pub fn closed() -> WeeklyHours {
        WeeklyHours::default()
    }

    /// The same hours Monday to Friday.
    pub fn weekdays(interval: WallInterval) -> WeeklyHours {
        let mut h = WeeklyHours::default();
        for wd in [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday]
        {
            h = h.with(wd, interval);
        }
        h
    }

    /// Adds an interval on a weekday (intervals may be several, e.g. a lunch break).
    #[must_use]
    pub fn with(mut self, wd: Weekday, interval: WallInterval) -> WeeklyHours {
        let idx = wd.to_monday_zero_offset() as usize;
        if let Some(day) = self.days.get_mut(idx) {
            day.push(interval);
            day.sort_by_key(|i| i.start);
        }
        self
    }

    /// The intervals of a weekday.
    pub fn on(&self, wd: Weekday) -> &[WallInterval] {
        self.days.get(wd.to_monday_zero_offset() as usize).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// A dated change to the weekly hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exception {
    /// Closed all day.
    Closed(Date),
    /// Open only these hours that day.
    Hours(Date, Vec<WallInterval>),
}

/// A provider or a room.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: ResourceId,
    pub name: String,
    pub kind: ResourceKind,
    pub tz: TimeZone,
    pub hours: WeeklyHours,
    pub exceptions: Vec<Exception>,
    /// Closed dates (e.g. from [`crate::Holiday::date_in`]).
    pub holidays: Vec<Date>,
}

impl Resource {
    /// A resource with weekly hours and no exceptions.
    pub fn new(id: &str, name: &str, kind: ResourceKind, tz: TimeZone, hours: WeeklyHours) -> Resource {
        Resource {
            id: ResourceId(id.to_string()),
            name: name.to_string(),
            kind,
            tz,
            hours,
            exceptions: Vec::new(),
            holidays: Vec::new(),
        }
    }

    /// The wall-clock intervals open on a local date (exceptions and holidays applied).
    pub fn wall_hours(&self, date: Date) -> Vec<WallInterval> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        // The last exception for a date wins.
        for ex in self.exceptions.iter().rev() {
            match ex {
                Exception::Closed(d) if *d == date => return Vec::new(),
                Exception::Hours(d, iv) if *d == date => return iv.clone(),
                _ => {}
            }
        }
        self.hours.on(date.weekday()).to_vec()
    }

    /// Open intervals on a local date, as UTC instants `[start, end)`.
    ///
    /// # Errors
    /// [`ScheduleError::Time`] when the date is out of range.
    pub fn open_on(&self, date: Date) -> Result<Vec<(Timestamp, Timestamp)>, ScheduleError> {
        let mut out = Vec::new();
        for iv in self.wall_hours(date) {
            let start = local_instant(&self.tz, date, iv.start)?;
            let end = match iv.end {
                Some(t) => local_instant(&self.tz, date, t)?,
                None => {
                    let next = date.checked_add(1.day()).map_err(ScheduleError::time)?;
                    local_instant(&self.tz, next, Time::midnight())?
                }
            };
            if end > start {
                out.push((start, end));
            }
        }
        Ok(out)
    }
}

/// A local wall-clock time to an instant (gap: moved forward; fold: earlier instant).
pub(crate) fn local_instant(tz: &TimeZone, date: Date, time: Time) -> Result<Timestamp, ScheduleError> {
    tz.to_ambiguous_timestamp(jiff::civil::DateTime::from_parts(date, time))
        .compatible()
        .map_err(ScheduleError::time)
}
