//! Days and offsets relative to now.
//!
//! - `today`, `tomorrow`, `the day after tomorrow`, `yesterday`, `tonight` (today, 17:00-24:00).
//! - `in two hours`, `in 30 minutes`, `in half an hour`, `in an hour and a half`,
//!   `in a couple of hours`, `in a half hour`, `in about an hour`, `in 2 and a half hours`, `90 minutes from now`: an exact offset from now (absolute time, so
//!   `in 24 hours` across a DST change lands on a different wall-clock hour), grain minute.
//! - `in 3 days`, `in 2 weeks`, `in a month`, `3 days from now`: a calendar shift of today,
//!   grain day (the whole day, from 00:00).
//! - `the day before christmas`, `the day after thanksgiving`: a one-day shift of the day named.
//! - `three days before christmas`: a negative shift, same rule.
//! - `a week from friday`, `two weeks from monday`, `a week from tomorrow`: a calendar shift
//!   applied to the day that follows (`from`/`after`), grain day.

use super::lexer::Tok;
use super::numbers::quantity_word;
use super::parts::{DaySpec, PartOfDay, Parts, Shift};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
}

fn unit_word(w: &str) -> Option<Unit> {
    Some(match w {
        "minute" | "minutes" | "min" | "mins" => Unit::Minute,
        "hour" | "hours" | "hr" | "hrs" => Unit::Hour,
        "day" | "days" => Unit::Day,
        "week" | "weeks" | "wk" | "wks" => Unit::Week,
        "month" | "months" => Unit::Month,
        _ => return None,
    })
}

/// A quantity with its unit at `i`: `two hours`, `an hour`, `a couple of hours`, `half an hour`,
/// `an hour and a half`. Returns (amount in half-units, unit, tokens used).
fn quantity_unit(toks: &[Tok], i: usize) -> Option<(i64, Unit, usize)> {
    let w = |k: usize| toks.get(k).and_then(Tok::word).unwrap_or("");
    let mut j = i;
    // "half an hour", "half a day", "a half hour"
    if w(j) == "half" && matches!(w(j + 1), "a" | "an") {
        let unit = unit_word(w(j + 2))?;
        return Some((1, unit, 3));
    }
    if w(j) == "a" && w(j + 1) == "half" {
        let unit = unit_word(w(j + 2))?;
        return Some((1, unit, 3));
    }
    let qty: i64 = match toks.get(j)? {
        Tok::Num { v, ord: false, lead_zero: false, .. } => i64::from(*v),
        Tok::Word(word) => {
            let q = quantity_word(word)?;
            if w(j + 1) == "of" && word == "couple" {
                j += 1;
            }
            i64::from(q)
        }
        _ => return None,
    };
    j += 1;
    let mut halves = qty * 2;
    // "2 and a half hours"
    if w(j) == "and" && w(j + 1) == "a" && w(j + 2) == "half" {
        halves += 1;
        j += 3;
    }
    let unit = unit_word(w(j))?;
    j += 1;
    if w(j) == "and" && w(j + 1) == "a" && w(j + 2) == "half" {
        halves += 1;
        j += 3;
    }
    Some((halves, unit, j - i))
}

fn apply(p: &mut Parts, halves: i64, unit: Unit) {
    match unit {
        Unit::Minute => p.offset_minutes = Some(halves / 2),
        Unit::Hour => p.offset_minutes = Some(halves * 30),
        Unit::Day => p.shift = Some(Shift::Days(halves / 2)),
        Unit::Week => p.shift = Some(Shift::Days(halves * 7 / 2)),
        Unit::Month => p.shift = Some(Shift::Months(halves / 2)),
    }
}

/// Recognises relative offsets and shifts at `i`.
pub(crate) fn recognize_offset(toks: &[Tok], i: usize, p: &mut Parts) -> Option<usize> {
    let w = |k: usize| toks.get(k).and_then(Tok::word).unwrap_or("");
    if w(i) == "in" || w(i) == "within" {
        let mut j = i + 1;
        // Hedges: "in about an hour", "in roughly 20 minutes".
        if matches!(w(j), "about" | "around" | "roughly" | "approximately" | "like" | "maybe" | "just") {
            j += 1;
        }
        if w(j) == "a" && matches!(w(j + 1), "couple" | "few") {
            j += 1;
        }
        let (halves, unit, n) = quantity_unit(toks, j)?;
        apply(p, halves, unit);
        return Some(j + n - i);
    }
    // QTY UNIT (from|after) ...
    let mut j = i;
    if w(j) == "a" && matches!(w(j + 1), "couple" | "few") {
        j += 1;
    }
    let (halves, unit, n) = quantity_unit(toks, j)?;
    j += n;
    match (w(j), w(j + 1)) {
        ("from", "now") | ("from", "today") => {
            apply(p, halves, unit);
            Some(j + 2 - i)
        }
        ("from" | "after", _) => {
            // The base day follows and is recognised on its own.
            if matches!(unit, Unit::Minute | Unit::Hour) {
                return None;
            }
            apply(p, halves, unit);
            Some(j + 1 - i)
        }
        ("before", _) => {
            // "three days before christmas": a negative shift of the day that follows.
            if matches!(unit, Unit::Minute | Unit::Hour) {
                return None;
            }
            apply(p, -halves, unit);
            Some(j + 1 - i)
        }
        ("later", _) | ("out", _) => {
            apply(p, halves, unit);
            Some(j + 1 - i)
        }
        _ => None,
    }
}

/// Recognises `today`, `tomorrow`, `tonight`, `the day after tomorrow`, `yesterday` at `i`.
pub(crate) fn recognize_day_word(toks: &[Tok], i: usize, p: &mut Parts) -> Option<usize> {
    let w = |k: usize| toks.get(k).and_then(Tok::word).unwrap_or("");
    let mut j = i;
    if w(j) == "the" && w(j + 1) == "day" && w(j + 2) == "after" {
        j += 1;
    }
    if w(j) == "day" && w(j + 1) == "after" && is_tomorrow(w(j + 2)) {
        p.day = Some(DaySpec::DayAfterTomorrow);
        return Some(j + 3 - i);
    }
    if w(j) == "day" && matches!(w(j + 1), "before" | "after") {
        // "the day before christmas", "the day after thanksgiving": the base day follows.
        p.shift = Some(Shift::Days(if w(j + 1) == "before" { -1 } else { 1 }));
        return Some(j + 2 - i);
    }
    if matches!(w(i), "this" | "same") && w(i + 1) == "time" {
        p.same_time = true;
        return Some(2);
    }
    if w(i) == "end" && w(i + 1) == "of" && w(i + 2 + usize::from(w(i + 2) == "the")) == "month" {
        p.day = Some(DaySpec::EndOfMonth);
        return Some(3 + usize::from(w(i + 2) == "the"));
    }
    let asap = (w(i) == "as" && w(i + 1) == "soon" && w(i + 2) == "as" && w(i + 3) == "possible")
        .then_some(4)
        .or((w(i) == "asap").then_some(1))
        .or((w(i) == "right" && w(i + 1) == "now").then_some(2))
        .or((w(i) == "now" && w(i.wrapping_sub(1)) != "from").then_some(1));
    if let Some(n) = asap {
        p.offset_minutes = Some(0);
        return Some(n);
    }
    match w(i) {
        "today" | "todays" => p.day = Some(DaySpec::Today),
        t if is_tomorrow(t) => p.day = Some(DaySpec::Tomorrow),
        "yesterday" => p.day = Some(DaySpec::Yesterday),
        "tonight" | "tonite" | "tonights" => {
            if p.day.is_none() {
                p.day = Some(DaySpec::Today);
            }
            p.part = Some(PartOfDay::Tonight);
            p.part_today = true;
        }
        _ => return None,
    }
    Some(1)
}

fn is_tomorrow(w: &str) -> bool {
    matches!(w, "tomorrow" | "tomorrows" | "tmrw" | "tmr" | "tomorow" | "tommorow" | "tommorrow" | "morrow")
}
