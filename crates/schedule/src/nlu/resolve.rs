//! Resolution of recognised [`Parts`] against `now` (rules: module docs of `nlu`).

use jiff::civil::{Date, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan, Zoned};

use super::parts::{DaySpec, Meridiem, MonthRef, PartOfDay, Parts, Shift, TimeSpec, WdMod, WeekSpec};
use super::{DateTimeMatch, Grain};
use crate::ScheduleError;

/// Ambiguity collected while resolving.
#[derive(Default)]
struct Amb {
    ambiguous: bool,
    /// Alternative dates (the time of day is re-applied to each).
    alt_dates: Vec<Date>,
    /// Alternative instants (DST folds).
    alt_starts: Vec<Zoned>,
}

/// Local wall-clock to an instant. Gap (spring forward): the wall time does not exist and is moved
/// forward by the gap (02:30 -> 03:30 daylight time, RFC 5545 and jiff "compatible"); not
/// ambiguous. Fold (fall back): the wall time happens twice; the first (daylight) occurrence is
/// chosen and the match is ambiguous, the second occurrence being the alternative.
fn to_zoned(tz: &TimeZone, date: Date, h: i8, m: i8, amb: &mut Amb) -> Result<Zoned, ScheduleError> {
    let az = tz.to_ambiguous_zoned(date.at(h, m, 0, 0));
    match az.offset() {
        AmbiguousOffset::Fold { .. } => {
            let later = az.clone().later().map_err(ScheduleError::time)?;
            amb.ambiguous = true;
            amb.alt_starts.push(later);
            az.earlier().map_err(ScheduleError::time)
        }
        _ => az.compatible().map_err(ScheduleError::time),
    }
}

fn zoned_quiet(tz: &TimeZone, date: Date, h: i8, m: i8) -> Result<Zoned, ScheduleError> {
    to_zoned(tz, date, h, m, &mut Amb::default())
}

fn add_days(d: Date, n: i64) -> Result<Date, ScheduleError> {
    d.checked_add(n.days()).map_err(ScheduleError::time)
}

fn monday_of(d: Date) -> Result<Date, ScheduleError> {
    add_days(d, -i64::from(d.weekday().to_monday_zero_offset()))
}

/// Days from `today` to the next `wd`, 0 when today is `wd`.
fn days_until(today: Date, wd: Weekday) -> i64 {
    i64::from((wd.to_monday_zero_offset() - today.weekday().to_monday_zero_offset()).rem_euclid(7))
}

/// 24-hour clock from what was said (hour rules of the module docs of `nlu`).
fn hour24(t: &TimeSpec, part: Option<PartOfDay>) -> (i8, i8) {
    if t.to_hour {
        let spoken = TimeSpec { to_hour: false, minute: 0, ..*t };
        let (h, _) = hour24(&spoken, part);
        return ((h + 23) % 24, t.minute as i8);
    }
    let h = t.hour;
    let m = t.minute as i8;
    if h == 0 || h > 12 {
        return ((h % 24) as i8, m);
    }
    let pm = match (t.meridiem, part) {
        (Some(Meridiem::Am), _) => false,
        (Some(Meridiem::Pm), _) => true,
        (None, Some(part)) => part.is_pm(),
        (None, None) => h <= 7 || h == 12,
    };
    let h = match (pm, h) {
        (false, 12) => 0,
        (true, 12) => 12,
        (true, h) => h + 12,
        (false, h) => h,
    };
    (h as i8, m)
}

struct Clock {
    h: i8,
    m: i8,
    /// `midnight`: 00:00 of the day after the named day.
    midnight: bool,
    grain: Grain,
}

fn clock(p: &Parts, now: &Zoned) -> Option<Clock> {
    if p.time.is_none() && p.same_time {
        return Some(Clock { h: now.hour(), m: now.minute(), midnight: false, grain: Grain::Minute });
    }
    let t = p.time?;
    // "tonight at 12", "tomorrow night at 12": midnight, not noon.
    let night_twelve = t.hour == 12
        && t.minute == 0
        && t.meridiem.is_none()
        && matches!(p.part, Some(PartOfDay::Night | PartOfDay::Tonight));
    if t.midnight || night_twelve || (t.hour == 24 && t.minute == 0) {
        return Some(Clock { h: 0, m: 0, midnight: true, grain: Grain::Hour });
    }
    let (mut h, m) = hour24(&t, p.part);
    // "8 to 10 pm": a bare start hour takes the end's afternoon when it would otherwise be
    // more than 12 hours before it.
    if let Some(end) = p.time_end {
        let (eh, em) = hour24(&end, p.part);
        if t.meridiem.is_none() && h < 12 && (h + 12, m) < (eh, em) {
            h += 12;
        }
    }
    Some(Clock { h, m, midnight: false, grain: if t.minute_precision { Grain::Minute } else { Grain::Hour } })
}

/// The end of a time range on the 24-hour clock. A bare end hour that would fall before the
/// start moves to the afternoon (`10 to 2` = 10:00-14:00).
fn range_end(p: &Parts, c: &Clock) -> Option<(i8, i8)> {
    let t = p.time_end?;
    if t.midnight {
        return Some((0, 0));
    }
    let (mut h, m) = hour24(&t, p.part);
    if (h, m) <= (c.h, c.m) && t.meridiem.is_none() && h < 12 {
        h += 12;
    }
    Some((h, m))
}

/// Whether the stated time (or part of day) on `date` is still ahead of `now`.
fn ahead(
    p: &Parts,
    c: Option<&Clock>,
    tz: &TimeZone,
    date: Date,
    now: &Zoned,
) -> Result<bool, ScheduleError> {
    if let Some(c) = c {
        let d = if c.midnight { add_days(date, 1)? } else { date };
        return Ok(zoned_quiet(tz, d, c.h, c.m)?.timestamp() > now.timestamp());
    }
    if let Some(part) = p.part {
        let (_, end) = part.hours();
        let end = if end == 24 {
            zoned_quiet(tz, add_days(date, 1)?, 0, 0)?
        } else {
            zoned_quiet(tz, date, end, 0)?
        };
        return Ok(end.timestamp() > now.timestamp());
    }
    Ok(false)
}

/// The `nth` `wd` of a month: this year's (or the current month), or the next when past.
fn nth_weekday_date(today: Date, nth: i8, wd: Weekday, month: MonthRef) -> Result<Date, ScheduleError> {
    let in_month = |first: Date| first.nth_weekday_of_month(nth, wd).map_err(ScheduleError::time);
    let first = today.first_of_month();
    match month {
        MonthRef::Next => in_month(first.checked_add(1.month()).map_err(ScheduleError::time)?),
        MonthRef::This => {
            let d = in_month(first)?;
            if d >= today {
                Ok(d)
            } else {
                in_month(first.checked_add(1.month()).map_err(ScheduleError::time)?)
            }
        }
        MonthRef::Named(m) => {
            let this_year = Date::new(today.year(), m, 1).map_err(ScheduleError::time)?;
            let d = in_month(this_year)?;
            if d >= today {
                Ok(d)
            } else {
                in_month(this_year.checked_add(1.year()).map_err(ScheduleError::time)?)
            }
        }
    }
}

/// A named day without weekday constraints (`DayOfMonth` is handled by the caller).
fn simple_day(day: &DaySpec, today: Date) -> Result<Date, ScheduleError> {
    Ok(match day {
        DaySpec::Today => today,
        DaySpec::Tomorrow => add_days(today, 1)?,
        DaySpec::DayAfterTomorrow => add_days(today, 2)?,
        DaySpec::Yesterday => add_days(today, -1)?,
        DaySpec::EndOfMonth => today.last_of_month(),
        DaySpec::NthWeekday { nth, wd, month } => nth_weekday_date(today, *nth, *wd, *month)?,
        DaySpec::MonthDay { m, d, y } => month_day(today, *m, *d, *y)?,
        DaySpec::Holiday(h) => h.next_on_or_after(today).ok_or(ScheduleError::NotRecognised)?,
        DaySpec::DayOfMonth(_) => today,
    })
}

fn day_of_month_candidates(today: Date, d: i8) -> Vec<Date> {
    let mut out = Vec::new();
    let first = today.first_of_month();
    for k in 0..24i64 {
        let Ok(month) = first.checked_add(k.months()) else {
            break;
        };
        if let Ok(date) = Date::new(month.year(), month.month(), d)
            && date >= today
        {
            out.push(date);
            if out.len() == 2 {
                break;
            }
        }
    }
    out
}

fn month_day(today: Date, m: i8, d: i8, y: Option<i16>) -> Result<Date, ScheduleError> {
    if let Some(y) = y {
        return Date::new(y, m, d).map_err(|_| ScheduleError::NotRecognised);
    }
    // A date without a year is the next one on or after today (a past date means next year);
    // February 29 waits for the next leap year.
    for y in today.year()..today.year().saturating_add(9) {
        if let Ok(date) = Date::new(y, m, d)
            && date >= today
        {
            return Ok(date);
        }
    }
    Err(ScheduleError::NotRecognised)
}

/// What the weekday rules need to know besides the weekday.
struct Ctx<'a> {
    p: &'a Parts,
    c: Option<&'a Clock>,
    tz: &'a TimeZone,
    today: Date,
    now: &'a Zoned,
}

fn weekday_date(ctx: &Ctx<'_>, wd: Weekday, md: WdMod, amb: &mut Amb) -> Result<Date, ScheduleError> {
    let Ctx { p, c, tz, today, now } = *ctx;
    let d = days_until(today, wd);
    match p.week {
        Some(WeekSpec::NextWeek) => {
            return add_days(monday_of(today)?, 7 + i64::from(wd.to_monday_zero_offset()));
        }
        Some(WeekSpec::WeekAfterNext) => {
            return add_days(monday_of(today)?, 14 + i64::from(wd.to_monday_zero_offset()));
        }
        Some(WeekSpec::ThisWeek) => return add_days(today, d),
        _ => {}
    }
    let upcoming = if d == 0 { 7 } else { d };
    match md {
        // "this wednesday at 9" said on Wednesday after 9: next week's (today's has passed).
        WdMod::This if d == 0 && (c.is_some() || p.part.is_some()) && !ahead(p, c, tz, today, now)? => {
            add_days(today, 7)
        }
        WdMod::This => add_days(today, d),
        WdMod::AfterNext => add_days(today, upcoming + 7),
        WdMod::Next => {
            let offset = i64::from(today.weekday().to_monday_zero_offset());
            if offset + upcoming <= 6 {
                amb.ambiguous = true;
                amb.alt_dates.push(add_days(today, upcoming)?);
                add_days(today, upcoming + 7)
            } else {
                add_days(today, upcoming)
            }
        }
        WdMod::Plain | WdMod::After | WdMod::Before => {
            if d != 0 {
                return add_days(today, d);
            }
            if c.is_some() || p.part.is_some() {
                if ahead(p, c, tz, today, now)? { Ok(today) } else { add_days(today, 7) }
            } else {
                amb.ambiguous = true;
                amb.alt_dates.push(today);
                add_days(today, 7)
            }
        }
    }
}

/// Resolves recognised parts against `now`.
pub(crate) fn resolve(p: &Parts, now: &Zoned) -> Result<DateTimeMatch, ScheduleError> {
    if p.hits == 0 {
        return Err(ScheduleError::NotRecognised);
    }
    let tz = p.zone.clone().unwrap_or_else(|| now.time_zone().clone());
    let now_l = now.with_time_zone(tz.clone());
    let today = now_l.date();
    let mut amb = Amb { ambiguous: p.conflict, ..Amb::default() };

    if let Some(mins) = p.offset_minutes {
        let ts = now_l.timestamp().checked_add(mins.minutes()).map_err(ScheduleError::time)?;
        let secs = ts.as_second();
        let ts = Timestamp::from_second(secs - secs.rem_euclid(60)).map_err(ScheduleError::time)?;
        return Ok(DateTimeMatch::new(ts.to_zoned(tz), None, Grain::Minute));
    }

    let c = clock(p, &now_l);
    let has_day = p.day.is_some() || p.weekday.is_some();

    // Week-sized answers.
    if let (Some(week), false, None, None) = (p.week, has_day, &c, p.part) {
        let monday = monday_of(today)?;
        let (start, end, alt) = match week {
            WeekSpec::ThisWeek => (monday, None, None),
            WeekSpec::NextWeek => (add_days(monday, 7)?, None, None),
            WeekSpec::WeekAfterNext => (add_days(monday, 14)?, None, None),
            WeekSpec::ThisWeekend => {
                let off = i64::from(today.weekday().to_monday_zero_offset());
                let start = if off >= 5 { today } else { add_days(monday, 5)? };
                (start, Some(add_days(monday, 7)?), None)
            }
            WeekSpec::NextWeekend => {
                let off = i64::from(today.weekday().to_monday_zero_offset());
                let alt = if off < 5 { Some(add_days(monday, 5)?) } else { None };
                (add_days(monday, 12)?, Some(add_days(monday, 14)?), alt)
            }
            WeekSpec::WeekendAfterNext => (add_days(monday, 19)?, Some(add_days(monday, 21)?), None),
        };
        let mut m = DateTimeMatch::new(
            zoned_quiet(&tz, start, 0, 0)?,
            end.map(|e| zoned_quiet(&tz, e, 0, 0)).transpose()?,
            Grain::Week,
        );
        m.ambiguous = p.conflict;
        if let Some(alt) = alt {
            m.ambiguous = true;
            m.alternatives.push(zoned_quiet(&tz, alt, 0, 0)?);
        }
        return Ok(m);
    }

    // The day.
    let ctx = Ctx { p, c: c.as_ref(), tz: &tz, today, now: &now_l };
    let relative_wd = match p.weekday {
        Some((wd, WdMod::After)) => Some((wd, 1)),
        Some((wd, WdMod::Before)) => Some((wd, -1)),
        _ => None,
    };
    let mut date = match (&p.day, p.weekday) {
        (Some(day), Some(_)) if relative_wd.is_some() => {
            let base = match day {
                DaySpec::DayOfMonth(d) => {
                    *day_of_month_candidates(today, *d).first().ok_or(ScheduleError::NotRecognised)?
                }
                other => simple_day(other, today)?,
            };
            let (wd, dir) = relative_wd.ok_or(ScheduleError::NotRecognised)?;
            let mut d = add_days(base, dir)?;
            while d.weekday() != wd {
                d = add_days(d, dir)?;
            }
            d
        }
        (Some(DaySpec::DayOfMonth(d)), wd) => {
            let from = if p.next_month {
                today.first_of_month().checked_add(1.month()).map_err(ScheduleError::time)?
            } else {
                today
            };
            let cands = day_of_month_candidates(from, *d);
            let first = *cands.first().ok_or(ScheduleError::NotRecognised)?;
            match wd {
                Some((wd, _)) => match cands.iter().find(|c| c.weekday() == wd) {
                    Some(found) => *found,
                    None => {
                        amb.ambiguous = true;
                        first
                    }
                },
                None => first,
            }
        }
        (Some(day), wd) => {
            let date = simple_day(day, today)?;
            if let Some((wd, md)) = wd
                && date.weekday() != wd
                && matches!(day, DaySpec::MonthDay { .. })
            {
                amb.ambiguous = true;
                let mut scratch = Amb::default();
                amb.alt_dates.push(weekday_date(&ctx, wd, md, &mut scratch)?);
            }
            date
        }
        (None, Some((wd, md))) => weekday_date(&ctx, wd, md, &mut amb)?,
        (None, None) => {
            if p.shift.is_some() {
                today
            } else if p.next_month && c.is_none() && p.part.is_none() {
                // "next month" alone: from the 1st; which day is open, so ambiguous.
                amb.ambiguous = true;
                today.first_of_month().checked_add(1.month()).map_err(ScheduleError::time)?
            } else if let (true, Some(week)) = (p.same_time, p.week) {
                match week {
                    WeekSpec::NextWeek | WeekSpec::NextWeekend => add_days(today, 7)?,
                    WeekSpec::WeekAfterNext | WeekSpec::WeekendAfterNext => add_days(today, 14)?,
                    _ => today,
                }
            } else if let Some(week) = p.week.filter(|w| *w != WeekSpec::ThisWeek) {
                // "next week at 3", "next weekend in the morning": the first day of that span.
                let monday = monday_of(today)?;
                match week {
                    WeekSpec::NextWeek => add_days(monday, 7)?,
                    WeekSpec::NextWeekend => {
                        if today.weekday().to_monday_zero_offset() < 5 {
                            amb.ambiguous = true;
                            amb.alt_dates.push(add_days(monday, 5)?);
                        }
                        add_days(monday, 12)?
                    }
                    WeekSpec::WeekAfterNext => add_days(monday, 14)?,
                    WeekSpec::WeekendAfterNext => add_days(monday, 19)?,
                    WeekSpec::ThisWeekend => {
                        if today.weekday().to_monday_zero_offset() >= 5 {
                            today
                        } else {
                            add_days(monday, 5)?
                        }
                    }
                    WeekSpec::ThisWeek => today,
                }
            } else if let Some(c) = &c {
                if c.midnight || ahead(p, Some(c), &tz, today, &now_l)? { today } else { add_days(today, 1)? }
            } else if p.part.is_some() {
                if p.part_today || ahead(p, None, &tz, today, &now_l)? { today } else { add_days(today, 1)? }
            } else {
                return Err(ScheduleError::NotRecognised);
            }
        }
    };
    match p.shift {
        Some(Shift::Days(n)) => date = add_days(date, n)?,
        Some(Shift::Months(n)) => date = date.checked_add(n.months()).map_err(ScheduleError::time)?,
        None => {}
    }

    // The time of day on that day.
    if let Some(c) = &c {
        let explicit_day = p.day.is_some() || p.weekday.is_some();
        let day_is_tonight = matches!(p.day, Some(DaySpec::Today))
            || p.part_today
            || matches!(p.part, Some(PartOfDay::Night | PartOfDay::Tonight));
        let at = |d: Date, amb: &mut Amb| -> Result<Zoned, ScheduleError> {
            if c.midnight {
                to_zoned(&tz, add_days(d, 1)?, 0, 0, amb)
            } else {
                to_zoned(&tz, d, c.h, c.m, amb)
            }
        };
        if c.midnight && explicit_day && !day_is_tonight {
            // "tomorrow at midnight": the end of tomorrow, or the night before it.
            amb.ambiguous = true;
            amb.alt_starts.push(zoned_quiet(&tz, date, 0, 0)?);
        }
        let start = at(date, &mut amb)?;
        let end = match range_end(p, c) {
            Some((h, m)) if !c.midnight => {
                let d = if (h, m) <= (c.h, c.m) { add_days(date, 1)? } else { date };
                Some(zoned_quiet(&tz, d, h, m)?)
            }
            _ => None,
        };
        let mut m = DateTimeMatch::new(start, end, c.grain);
        for d in std::mem::take(&mut amb.alt_dates) {
            let mut scratch = Amb::default();
            m.alternatives.push(at(d, &mut scratch)?);
        }
        m.alternatives.append(&mut amb.alt_starts);
        m.ambiguous = amb.ambiguous;
        return Ok(m);
    }
    if let Some(part) = p.part {
        let (sh, eh) = part.hours();
        let span = |d: Date| -> Result<(Zoned, Zoned), ScheduleError> {
            let s = zoned_quiet(&tz, d, sh, 0)?;
            let e =
                if eh == 24 { zoned_quiet(&tz, add_days(d, 1)?, 0, 0)? } else { zoned_quiet(&tz, d, eh, 0)? };
            Ok((s, e))
        };
        let (s, e) = span(date)?;
        let mut m = DateTimeMatch::new(s, Some(e), Grain::PartOfDay);
        for d in std::mem::take(&mut amb.alt_dates) {
            m.alternatives.push(span(d)?.0);
        }
        m.ambiguous = amb.ambiguous;
        return Ok(m);
    }
    let mut m = DateTimeMatch::new(zoned_quiet(&tz, date, 0, 0)?, None, Grain::Day);
    for d in std::mem::take(&mut amb.alt_dates) {
        m.alternatives.push(zoned_quiet(&tz, d, 0, 0)?);
    }
    m.ambiguous = amb.ambiguous;
    Ok(m)
}
