//! Clock times and parts of the day as said.
//!
//! - Digits: `3`, `3pm`, `3:30`, `15:30`, `3 30 pm`, `8 o'clock`.
//! - Words (ASR output): `three thirty p m`, `ten a.m.`, `two fifteen`, `three oh five`,
//!   `eleven forty five`.
//! - Relational: `quarter past two`, `half past four`, `a quarter to five`, `quarter till six`,
//!   `twenty past three`, `ten to four`, `five after two`, `ten minutes to five`. A bare number
//!   before `to` must be 5, 10, 20 or 25 (or be followed by `minutes`) so that a range like
//!   `two to four` is not read as 3:58.
//! - `noon`, `midday`, `12 noon`, `midnight`; `first thing` (08:00).
//! - Parts of the day: `morning` 08-12, `afternoon` 12-17, `evening` 17-21, `night` 21-24,
//!   `tonight` 17-24, `end of the day` / `close of business` / `late afternoon` 15-17,
//!   `lunch` 12-13. `this morning` means today's even when it has passed.

use super::lexer::Tok;
use super::parts::{Meridiem, PartOfDay, Parts, TimeSpec};

/// Words after a number that make it a quantity, not an hour.
fn is_quantity_unit(w: &str) -> bool {
    matches!(
        w,
        "minute"
            | "minutes"
            | "min"
            | "mins"
            | "hour"
            | "hours"
            | "day"
            | "days"
            | "week"
            | "weeks"
            | "month"
            | "months"
            | "year"
            | "years"
            | "people"
            | "persons"
            | "of"
            | "times"
            | "percent"
            | "dollars"
    )
}

/// An hour number at `i`: a cardinal 0..=24 without a leading zero.
fn hour_at(toks: &[Tok], i: usize) -> Option<u32> {
    match toks.get(i)? {
        Tok::Num { v, ord: false, lead_zero: false, .. } if *v <= 24 => Some(*v),
        _ => None,
    }
}

/// A minute number at `i` for `h mm` forms: 00..59 with a leading zero or >= 10.
fn minute_at(toks: &[Tok], i: usize) -> Option<u32> {
    match toks.get(i)? {
        Tok::Num { v, ord: false, lead_zero, .. } if *v < 60 && (*lead_zero || *v >= 10) => Some(*v),
        _ => None,
    }
}

/// Trailing `o'clock`, `am`/`pm`, `sharp`: returns (meridiem, tokens used).
fn suffix(toks: &[Tok], mut j: usize) -> (Option<Meridiem>, usize) {
    let start = j;
    let mut mer = None;
    while let Some(w) = toks.get(j).and_then(Tok::word) {
        match w {
            "oclock" | "sharp" | "ish" => {}
            "am" if mer.is_none() => mer = Some(Meridiem::Am),
            "pm" if mer.is_none() => mer = Some(Meridiem::Pm),
            _ => break,
        }
        j += 1;
    }
    (mer, j - start)
}

/// Whether the word before `i` introduces a time (`at 3`, `around 3`, `by 3`, `say 3`).
fn after_preposition(toks: &[Tok], i: usize) -> bool {
    let prev = i.checked_sub(1).and_then(|k| toks.get(k)).and_then(Tok::word).unwrap_or("");
    matches!(
        prev,
        "at" | "around"
            | "round"
            | "about"
            | "by"
            | "after"
            | "before"
            | "until"
            | "till"
            | "til"
            | "from"
            | "say"
            | "like"
            | "maybe"
            | "approximately"
            | "roughly"
    )
}

fn is_first(t: Option<&Tok>) -> bool {
    matches!(t, Some(Tok::Num { v: 1, ord: true, .. }))
}

/// Recognises a clock time at `i`.
pub(crate) fn recognize_time(toks: &[Tok], i: usize, p: &mut Parts) -> Option<usize> {
    let w = |k: usize| toks.get(k).and_then(Tok::word).unwrap_or("");
    // noon / midnight
    match w(i) {
        "noon" | "midday" | "noontime" => {
            p.time = Some(TimeSpec { meridiem: Some(Meridiem::Pm), ..TimeSpec::hour(12) });
            return Some(1);
        }
        "midnight" => {
            p.time = Some(TimeSpec { midnight: true, ..TimeSpec::hour(0) });
            return Some(1);
        }
        _ if is_first(toks.get(i)) && w(i + 1) == "thing" => {
            p.time = Some(TimeSpec { meridiem: Some(Meridiem::Am), ..TimeSpec::hour(8) });
            return Some(2);
        }
        _ => {}
    }
    if let Some(n) = relational(toks, i, p) {
        return Some(n);
    }
    if let Some(Tok::Clock { h, m }) = toks.get(i) {
        let (mer, n) = suffix(toks, i + 1);
        p.time = Some(TimeSpec {
            hour: *h,
            minute: *m,
            meridiem: mer,
            minute_precision: true,
            midnight: false,
            weak: mer.is_none() && !after_preposition(toks, i),
            to_hour: false,
        });
        return Some(1 + n);
    }
    let h = hour_at(toks, i)?;
    if is_quantity_unit(w(i + 1)) {
        return None;
    }
    match w(i + 1) {
        "noon" if h == 12 => {
            p.time = Some(TimeSpec { meridiem: Some(Meridiem::Pm), ..TimeSpec::hour(12) });
            return Some(2);
        }
        "midnight" if h == 12 => {
            p.time = Some(TimeSpec { midnight: true, ..TimeSpec::hour(0) });
            return Some(2);
        }
        _ => {}
    }
    let mut j = i + 1;
    let mut minute = None;
    if h <= 23
        && let Some(m) = minute_at(toks, j)
    {
        // "3 15 minutes" is not 3:15.
        if !is_quantity_unit(w(j + 1)) {
            minute = Some(m);
            j += 1;
        }
    }
    let (mer, n) = suffix(toks, j);
    j += n;
    let mut spec = TimeSpec {
        hour: h,
        minute: minute.unwrap_or(0),
        meridiem: mer,
        minute_precision: minute.is_some(),
        midnight: false,
        weak: minute.is_none() && n == 0 && !after_preposition(toks, i),
        to_hour: false,
    };
    if h == 12 && mer == Some(Meridiem::Am) && minute.is_none() {
        spec = TimeSpec { midnight: true, ..TimeSpec::hour(0) };
    }
    p.time = Some(spec);
    Some(j - i)
}

/// `quarter past two`, `ten to four`, `half past twelve`...
fn relational(toks: &[Tok], i: usize, p: &mut Parts) -> Option<usize> {
    let w = |k: usize| toks.get(k).and_then(Tok::word).unwrap_or("");
    // "from 10 to 2", "between 10 and 2": a range, not 1:50.
    if matches!(w(i.wrapping_sub(1)), "from" | "between") {
        return None;
    }
    let mut j = i;
    if w(j) == "a" {
        j += 1;
    }
    let (amount, strict) = match toks.get(j)? {
        Tok::Word(x) if x == "quarter" => (15, false),
        Tok::Word(x) if x == "half" => (30, false),
        Tok::Num { v, ord: false, lead_zero: false, .. } if (1..60).contains(v) => (*v, true),
        _ => return None,
    };
    j += 1;
    let mut said_minutes = false;
    if matches!(w(j), "minute" | "minutes" | "min" | "mins") {
        said_minutes = true;
        j += 1;
    }
    let before = match w(j) {
        "past" | "after" => false,
        "to" | "till" | "til" | "until" | "of" | "before" => true,
        _ => return None,
    };
    if strict && !said_minutes && !matches!(amount, 5 | 10 | 15 | 20 | 25) {
        return None;
    }
    if amount == 30 && before {
        return None;
    }
    j += 1;
    let hour = match w(j) {
        "noon" => 12,
        "midnight" => 24,
        _ => hour_at(toks, j)?,
    };
    j += 1;
    let (mer, n) = suffix(toks, j);
    j += n;
    let (hour, minute) = if before { (hour, 60 - amount) } else { (hour % 24, amount) };
    p.time = Some(TimeSpec {
        hour,
        minute,
        meridiem: mer,
        minute_precision: true,
        midnight: false,
        weak: false,
        to_hour: before,
    });
    Some(j - i)
}

/// Recognises a part of the day at `i`.
pub(crate) fn recognize_part(toks: &[Tok], i: usize, p: &mut Parts) -> Option<usize> {
    let w = |k: usize| toks.get(k).and_then(Tok::word).unwrap_or("");
    let mut j = i;
    let mut this = false;
    match w(j) {
        "this" => {
            this = true;
            j += 1;
        }
        "early" | "mid" => j += 1,
        "late" if matches!(w(j + 1), "tonight" | "night" | "evening") => {
            p.part = Some(PartOfDay::Night);
            p.part_today |= w(j + 1) == "tonight";
            if w(j + 1) == "tonight" && p.day.is_none() {
                p.day = Some(super::parts::DaySpec::Today);
            }
            return Some(2);
        }
        _ => {}
    }
    let part = match (w(j), w(j + 1), w(j + 2)) {
        ("end", "of", "the") if matches!(w(j + 3), "day" | "business" | "workday") => {
            j += 4;
            PartOfDay::EndOfDay
        }
        ("end", "of", "day" | "business") => {
            j += 3;
            PartOfDay::EndOfDay
        }
        ("close", "of", "business") => {
            j += 3;
            PartOfDay::EndOfDay
        }
        ("eod" | "cob", _, _) => {
            j += 1;
            PartOfDay::EndOfDay
        }
        ("late", "afternoon", _) => {
            j += 2;
            PartOfDay::EndOfDay
        }
        ("morning" | "mornings" | "midmorning", _, _) => {
            j += 1;
            PartOfDay::Morning
        }
        ("afternoon" | "afternoons", _, _) => {
            j += 1;
            PartOfDay::Afternoon
        }
        ("evening" | "evenings", _, _) => {
            j += 1;
            PartOfDay::Evening
        }
        ("night" | "nite" | "nights", _, _) => {
            j += 1;
            PartOfDay::Night
        }
        ("lunch" | "lunchtime", _, _) => {
            j += 1;
            PartOfDay::Lunch
        }
        _ => return None,
    };
    p.part = Some(part);
    if this {
        p.part_today = true;
    }
    Some(j - i)
}
