//! Calendar dates, weekdays and weeks as said.
//!
//! - Month and day in either order: `march 3rd`, `dec 3`, `december the second`,
//!   `november twenty fourth`, `the 2nd of december`, `3 march`, optional 4-digit year.
//!   A month word counts only next to a day (`may I`, `march on` are not dates).
//! - Numeric: `3/14` is month/day (US order), `3/14/2027`, ISO `2027-03-14`.
//! - Day of month alone: `the 14th`, `on the fifteenth`, `14th`, `the second`.
//! - Weekdays with `this`, `coming`, `next`, `following`, `after next` (the rules live in the module
//!   docs of `nlu`); weeks: `this week`, `next week`, `the week after next`, `(this|next) weekend`.

use jiff::civil::Weekday;

use super::lexer::Tok;
use super::parts::{DaySpec, MonthRef, Parts, WdMod, WeekSpec};

pub(crate) fn month_word(w: &str) -> Option<i8> {
    Some(match w {
        "january" | "jan" => 1,
        "february" | "feb" | "febuary" => 2,
        "march" | "mar" => 3,
        "april" | "apr" => 4,
        "may" => 5,
        "june" | "jun" => 6,
        "july" | "jul" => 7,
        "august" | "aug" => 8,
        "september" | "sep" | "sept" => 9,
        "october" | "oct" => 10,
        "november" | "nov" => 11,
        "december" | "dec" => 12,
        _ => return None,
    })
}

pub(crate) fn weekday_word(w: &str) -> Option<Weekday> {
    Some(match w {
        "monday" | "mon" | "mondays" => Weekday::Monday,
        "tuesday" | "tue" | "tues" | "tuesdays" => Weekday::Tuesday,
        "wednesday" | "wed" | "weds" | "wednesdays" | "wensday" => Weekday::Wednesday,
        "thursday" | "thu" | "thur" | "thurs" | "thursdays" => Weekday::Thursday,
        "friday" | "fri" | "fridays" => Weekday::Friday,
        "saturday" | "sat" | "saturdays" => Weekday::Saturday,
        "sunday" | "sun" | "sundays" => Weekday::Sunday,
        _ => return None,
    })
}

/// A day-of-month number at `i` (`3`, `3rd`, `third`, `twenty third`, and `second` when
/// `allow_second`). Returns the day and tokens used.
fn day_number(toks: &[Tok], i: usize, allow_second: bool) -> Option<(i8, usize)> {
    match toks.get(i)? {
        Tok::Num { v, lead_zero: false, .. } if (1..=31).contains(v) => Some((*v as i8, 1)),
        Tok::Word(w) if w == "second" && allow_second => Some((2, 1)),
        _ => None,
    }
}

fn is_ordinal_at(toks: &[Tok], i: usize) -> bool {
    matches!(toks.get(i), Some(Tok::Num { ord: true, .. }))
        || toks.get(i).is_some_and(|t| t.is_word("second"))
}

/// A 4-digit year at `i`, optionally after a comma-like "of".
fn year_at(toks: &[Tok], i: usize) -> Option<(i16, usize)> {
    match toks.get(i)? {
        Tok::Num { v, ord: false, words: false, .. } if (1900..=2200).contains(v) => Some((*v as i16, 1)),
        _ => None,
    }
}

/// Recognises a calendar date at `i`; returns tokens used.
pub(crate) fn recognize_date(toks: &[Tok], i: usize, p: &mut Parts) -> Option<usize> {
    let t = toks.get(i)?;
    match t {
        Tok::Slash { m, d, y } => {
            if (1..=12).contains(m) && (1..=31).contains(d) {
                let y = y.and_then(|y| i16::try_from(y).ok());
                p.day = Some(DaySpec::MonthDay { m: *m as i8, d: *d as i8, y });
                return Some(1);
            }
            return None;
        }
        Tok::Ymd { y, m, d } => {
            if (1..=12).contains(m) && (1..=31).contains(d) {
                p.day = Some(DaySpec::MonthDay { m: *m as i8, d: *d as i8, y: i16::try_from(*y).ok() });
                return Some(1);
            }
            return None;
        }
        _ => {}
    }
    // MONTH [the] DAY [year]
    if let Some(m) = t.word().and_then(month_word) {
        let mut j = i + 1;
        if toks.get(j).is_some_and(|t| t.is_word("the")) {
            j += 1;
        }
        if let Some((d, n)) = day_number(toks, j, true) {
            j += n;
            let mut y = None;
            if let Some((yy, n)) = year_at(toks, j) {
                y = Some(yy);
                j += n;
            }
            p.day = Some(DaySpec::MonthDay { m, d, y });
            return Some(j - i);
        }
        return None;
    }
    // [the] DAY [of] MONTH [year]   |   [the] ORDINAL
    let mut j = i;
    let had_the = t.is_word("the");
    if had_the {
        j += 1;
    }
    if let Some(n) = nth_weekday(toks, j, p) {
        return Some(j + n - i);
    }
    let (d, n) = day_number(toks, j, had_the || toks.get(j + 1).is_some_and(|t| t.is_word("of")))?;
    let ordinal = is_ordinal_at(toks, j);
    j += n;
    let mut k = j;
    if toks.get(k).is_some_and(|t| t.is_word("of")) {
        k += 1;
    }
    if let Some(m) = toks.get(k).and_then(Tok::word).and_then(month_word) {
        k += 1;
        let mut y = None;
        if let Some((yy, n)) = year_at(toks, k) {
            y = Some(yy);
            k += n;
        }
        p.day = Some(DaySpec::MonthDay { m, d, y });
        return Some(k - i);
    }
    // A bare ordinal is a day of the month, except "first thing" and ordinals before a unit
    // ("the first week").
    if ordinal {
        let next = toks.get(j).and_then(Tok::word).unwrap_or("");
        if matches!(next, "thing" | "week" | "weeks" | "time" | "available" | "appointment" | "slot" | "one")
        {
            return None;
        }
        p.day = Some(DaySpec::DayOfMonth(d));
        return Some(j - i);
    }
    None
}

/// `first monday of december`, `last friday of the month`, `second tuesday in january`,
/// `third thursday of next month` (after an optional `the`).
fn nth_weekday(toks: &[Tok], j: usize, p: &mut Parts) -> Option<usize> {
    let w = |k: usize| toks.get(k).and_then(Tok::word).unwrap_or("");
    let nth: i8 = match toks.get(j)? {
        Tok::Num { v, ord: true, .. } if (1..=5).contains(v) => *v as i8,
        Tok::Word(x) if x == "second" => 2,
        Tok::Word(x) if x == "last" => -1,
        _ => return None,
    };
    let wd = weekday_word(w(j + 1))?;
    if !matches!(w(j + 2), "of" | "in") {
        return None;
    }
    let (month, n) = match (w(j + 3), w(j + 4)) {
        ("the" | "this", "month") => (MonthRef::This, 5),
        ("next", "month") => (MonthRef::Next, 5),
        (m, _) => (MonthRef::Named(month_word(m)?), 4),
    };
    p.day = Some(DaySpec::NthWeekday { nth, wd, month });
    Some(n)
}

/// Recognises a weekday with its qualifiers at `i`.
pub(crate) fn recognize_weekday(toks: &[Tok], i: usize, p: &mut Parts) -> Option<usize> {
    let w = |k: usize| toks.get(k).and_then(Tok::word).unwrap_or("");
    let (modifier, skip) = match (w(i), w(i + 1)) {
        ("this", "coming") => (WdMod::This, 2),
        ("this", "upcoming") => (WdMod::This, 2),
        ("this", _) | ("coming", _) | ("upcoming", _) => (WdMod::This, 1),
        ("next", "coming") => (WdMod::This, 2),
        ("the", "following") => (WdMod::Next, 2),
        ("next", _) | ("following", _) => (WdMod::Next, 1),
        _ => (WdMod::Plain, 0),
    };
    let wd = weekday_word(w(i + skip))?;
    let mut n = skip + 1;
    let mut modifier = modifier;
    if w(i + n) == "after" && w(i + n + 1) == "next" {
        modifier = WdMod::AfterNext;
        n += 2;
    } else if matches!(w(i + n), "after" | "before") && modifier == WdMod::Plain {
        modifier = if w(i + n) == "after" { WdMod::After } else { WdMod::Before };
        n += 1;
    }
    p.weekday = Some((wd, modifier));
    Some(n)
}

/// Recognises week-sized expressions at `i`.
pub(crate) fn recognize_week(toks: &[Tok], i: usize, p: &mut Parts) -> Option<usize> {
    let w = |k: usize| toks.get(k).and_then(Tok::word).unwrap_or("");
    let is_weekend = |s: &str| matches!(s, "weekend" | "weekends");
    let (spec, n) = match (w(i), w(i + 1), w(i + 2), w(i + 3)) {
        ("the", "week", "after", "next") => (WeekSpec::WeekAfterNext, 4),
        ("the", e, "after", "next") if is_weekend(e) => (WeekSpec::WeekendAfterNext, 4),
        ("this", "coming", e, _) if is_weekend(e) => (WeekSpec::ThisWeekend, 3),
        ("this" | "the" | "coming", e, _, _) if is_weekend(e) => (WeekSpec::ThisWeekend, 2),
        ("next", e, _, _) if is_weekend(e) => (WeekSpec::NextWeekend, 2),
        (e, _, _, _) if is_weekend(e) => (WeekSpec::ThisWeekend, 1),
        ("this", "week", _, _) => (WeekSpec::ThisWeek, 2),
        ("next", "week", _, _) => (WeekSpec::NextWeek, 2),
        ("later", "this", "week", _) => (WeekSpec::ThisWeek, 3),
        ("next", "month", _, _) => {
            p.next_month = true;
            return Some(2);
        }
        _ => return None,
    };
    p.week = Some(spec);
    Some(n)
}
