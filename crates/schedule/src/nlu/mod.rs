//! Dates and times as callers say them, resolved in the caller's local time.
//!
//! [`parse_datetime`] takes an utterance (typed or ASR output) and `now` (a [`jiff::Zoned`] in the
//! caller's zone; never read from a clock) and returns a [`DateTimeMatch`]: `start`, optional `end`,
//! a [`Grain`] and an `ambiguous` flag with the alternative readings. Pipeline:
//! `lexer` (normalise, tokens) -> `grammar` (recognisers in `relative`, `date`, `time`,
//! `holidays`, `zones` fill [`parts`]) -> `resolve` (rules below) -> [`DateTimeMatch`].
//!
//! # Rules
//!
//! | said | resolves to |
//! |---|---|
//! | hour 1-7 without am/pm | PM (`at 3` = 15:00) |
//! | hour 8-11 without am/pm | AM (`at 9` = 09:00) |
//! | `12` without am/pm | noon; `12 am` = midnight |
//! | `quarter to eight`, `ten to one` | the hour rules apply to the spoken hour: 07:45, 12:50 |
//! | hour with a part of day | the part decides: `7 in the morning` 07:00, `evening at 8` 20:00, `tonight at 7` 19:00 |
//! | `0`, `13`-`23` | 24-hour clock as said |
//! | a time without a day | today if still ahead, else tomorrow |
//! | `midnight`, `tonight at 12` | 00:00 ending the named day (`midnight` = the coming one; `friday night at midnight` = 00:00 after Friday; `tomorrow at midnight` = 00:00 after tomorrow, **ambiguous**, the alternative is 00:00 starting tomorrow) |
//! | bare weekday (`monday`) | the next one; today's weekday means today if the stated time (or part of day) is still ahead, else a week later; without a time it means a week later and is **ambiguous** (alternative: today) |
//! | `this monday`, `coming monday` | the next one, today included (unless the stated time has passed today) |
//! | `next monday` | the next Monday that is not in the current calendar week (weeks start Monday). When the nearest Monday is still in this week, `next` skips it and the match is **ambiguous** (alternative: the nearest). On Friday, `next tuesday` is the coming Tuesday, not ambiguous |
//! | `the friday after thanksgiving`, `the monday before christmas` | the first such weekday strictly after / before the named day |
//! | `monday after next` | the next Monday plus 7 days |
//! | `tuesday next week` | the Tuesday of the next calendar week |
//! | `the 14th` | the next 14th on or after today (skipping months without that day) |
//! | `march 3rd`, `3/14` (US month/day) | that date this year, or next year when already past; today counts |
//! | weekday + date (`monday december 4th`) | the date; **ambiguous** when the weekday does not match (alternative: the weekday reading). With a day of month only (`monday the 14th`) the first of the next two 14ths that is a Monday |
//! | `a week from friday`, `2 weeks from monday` | the base day plus the shift, grain day |
//! | `in 2 hours`, `in 30 minutes`, `in half an hour` | now plus the exact duration (absolute time), seconds dropped, grain minute |
//! | `in 3 days`, `in 2 weeks`, `in a month` | calendar shift of today, grain day |
//! | part of day | `morning` 08-12, `afternoon` 12-17, `evening` 17-21, `night` 21-24, `tonight` 17-24, `lunch` 12-13, `end of the day` / `close of business` / `late afternoon` 15-17; grain `part_of_day` with `end`. Without a day: today if the part has not ended, else tomorrow (`this morning` is always today) |
//! | `this weekend` | Saturday 00:00 to Monday 00:00 (from today when it is Saturday or Sunday), grain week |
//! | `next weekend` | the weekend of the next calendar week; **ambiguous** on Monday-Friday (alternative: this weekend) |
//! | `next week` | Monday 00:00 of the next calendar week, grain week |
//! | `now`, `right now`, `as soon as possible` | now, grain minute |
//! | `this time tomorrow`, `same time next week` | the current wall-clock time on that day, grain minute |
//! | `the first monday of december`, `the last friday of the month` | that weekday of that month (next year / next month when past) |
//! | `the 3rd of next month`; `next month` alone | the day in next month; alone the 1st of next month, **ambiguous** |
//! | `end of the month` | the last day of the current month, grain day |
//! | a bare number with nothing time-like around it | a time only when the rest is filler (`three`, `how about 10`); `I have one question` is not a time |
//! | `between 2 and 4`, `from 10 to 2`, `9-11` | start and end on that day (hour rules per end; a bare start takes the end's PM when `8 to 10 pm`), grain of the start |
//! | two different days or times (`monday or tuesday`) | the last one said, **ambiguous** |
//! | holidays | US holidays by name, next occurrence on or after today, actual (not observed) date |
//! | `3 pm eastern`, `pst`, `central time` | the expression is read on that zone's wall clock (today/tomorrow in that zone); `est` and `edt` both mean US Eastern time |
//!
//! Grains: a time said with minutes (`3:00`, `three thirty`, `quarter past two`) is `minute`; a
//! whole hour (`3 pm`, `noon`, `8 o'clock`) is `hour`; a day is `day` (start 00:00, no end); weeks
//! and weekends are `week`; parts of the day are `part_of_day` with an `end`.
//!
//! # DST
//!
//! Wall-clock times are mapped with the zone's rules from the bundled tz database:
//! - spring forward (US 2026-03-08): `tomorrow at 2:30 am` does not exist; it moves forward by the
//!   gap to 03:30 daylight time (RFC 5545 and jiff's "compatible" rule); not ambiguous (there is
//!   one reading). Note that `tomorrow at 2:30` without am/pm is 14:30 by the hour rule.
//! - fall back (US 2026-11-01): `tomorrow at 1:30 am` happens twice; the first (daylight)
//!   occurrence is chosen, `ambiguous` is set and the second occurrence is the alternative.
//! - `in 24 hours` is an exact duration, so across a change it lands an hour off the same wall
//!   time; `tomorrow at 10` keeps the wall time.
//!
//! Nothing recognised (no date, time, weekday, holiday, part of day or offset) is
//! [`crate::ScheduleError::NotRecognised`].

mod date;
mod grammar;
mod holidays;
mod lexer;
mod numbers;
mod parts;
mod readback;
mod relative;
mod resolve;
mod time;
mod zones;

use jiff::Zoned;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

pub use holidays::Holiday;
pub use readback::read_back;

use crate::ScheduleError;

/// How precise a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Grain {
    Minute,
    Hour,
    Day,
    Week,
    PartOfDay,
}

impl Grain {
    /// The name used in JSON (`minute`, `hour`, `day`, `week`, `part_of_day`).
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Minute => "minute",
            Grain::Hour => "hour",
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::PartOfDay => "part_of_day",
        }
    }
}

/// A resolved date/time expression.
///
/// Serialises as exactly `{"start": RFC 3339, "end": RFC 3339 or null, "grain": ...,
/// "ambiguous": bool}`; [`DateTimeMatch::to_json_with_alternatives`] adds
/// `"alternatives": [RFC 3339...]`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DateTimeMatch {
    /// Start, in the zone the expression was said in (the caller's, or a named one).
    pub start: Zoned,
    /// End (exclusive) for intervals: parts of the day and weekends.
    pub end: Option<Zoned>,
    pub grain: Grain,
    /// True when the words have more than one reasonable reading.
    pub ambiguous: bool,
    /// Starts of the other readings (same grain).
    pub alternatives: Vec<Zoned>,
}

impl DateTimeMatch {
    pub(crate) fn new(start: Zoned, end: Option<Zoned>, grain: Grain) -> DateTimeMatch {
        DateTimeMatch { start, end, grain, ambiguous: false, alternatives: Vec::new() }
    }

    /// An exact time (minute grain, not ambiguous), e.g. an offered or booked slot's start.
    pub fn at(start: Zoned) -> DateTimeMatch {
        DateTimeMatch::new(start, None, Grain::Minute)
    }

    /// The JSON the CLI prints (one line, exactly the four keys).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The JSON with `"alternatives": [RFC 3339 starts]` added (empty when not ambiguous).
    pub fn to_json_with_alternatives(&self) -> String {
        let w = WithAlternatives { m: self, alternatives: self.alternatives.iter().map(rfc3339).collect() };
        serde_json::to_string(&w).unwrap_or_default()
    }
}

/// RFC 3339 with the numeric offset, e.g. `2026-11-19T15:00:00-05:00`.
pub fn rfc3339(z: &Zoned) -> String {
    z.timestamp().display_with_offset(z.offset()).to_string()
}

impl Serialize for DateTimeMatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("DateTimeMatch", 4)?;
        st.serialize_field("start", &rfc3339(&self.start))?;
        st.serialize_field("end", &self.end.as_ref().map(rfc3339))?;
        st.serialize_field("grain", &self.grain)?;
        st.serialize_field("ambiguous", &self.ambiguous)?;
        st.end()
    }
}

/// The match plus its alternative readings (for logs and a verbose CLI).
#[derive(Serialize)]
struct WithAlternatives<'a> {
    #[serde(flatten)]
    m: &'a DateTimeMatch,
    alternatives: Vec<String>,
}

/// `now` from a local wall-clock time (`2026-11-18T10:15`, seconds optional) and an IANA zone
/// name, as a CLI's `--now`/`--tz` give them. A time in a DST fold takes the earlier instant; one
/// in a gap moves forward.
///
/// # Errors
/// [`ScheduleError::Invalid`] for an unparsable time or an unknown zone.
pub fn local_now(local: &str, tz: &str) -> Result<Zoned, ScheduleError> {
    let zone = jiff::tz::TimeZone::get(tz)
        .map_err(|e| ScheduleError::Invalid(format!("unknown time zone {tz:?}: {e}")))?;
    let dt: jiff::civil::DateTime =
        local.parse().map_err(|e| ScheduleError::Invalid(format!("bad local time {local:?}: {e}")))?;
    dt.to_zoned(zone).map_err(ScheduleError::time)
}

/// Parses a date/time expression said at `now` (the caller's local time and zone).
///
/// # Errors
/// [`ScheduleError::NotRecognised`] when nothing date- or time-like was found.
pub fn parse_datetime(text: &str, now: &Zoned) -> Result<DateTimeMatch, ScheduleError> {
    let toks = lexer::tokenize(text);
    let parts = grammar::parse(&toks);
    resolve::resolve(&parts, now)
}

#[cfg(test)]
mod tests;
