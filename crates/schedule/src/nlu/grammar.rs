//! The token walker: at each position the recognisers are tried in a fixed order (longest,
//! most specific first); a position nothing recognises is skipped, so fillers ("um", "can I
//! come in", "how about", "at", "on", "around") cost nothing. What a recogniser takes is
//! recorded in [`Parts`]; resolution against `now` happens later (`resolve.rs`). When a second,
//! different day, weekday, time or part of day is said, the last one wins and the match is
//! ambiguous, except for a time range: `between 2 and 4`, `from 10 to 2`, `2 to 4`, `9-11`
//! give a start and an end time.

use super::lexer::Tok;
use super::parts::{DaySpec, Parts};
use super::{date, holidays, relative, time, zones};

/// Walks the tokens and collects what was recognised.
pub(crate) fn parse(toks: &[Tok]) -> Parts {
    let mut p = Parts::default();
    let mut skipped: Vec<usize> = Vec::new();
    let mut i = 0;
    // Where the last time said started and ended (token indices).
    let mut last_time: Option<(usize, usize)> = None;
    while i < toks.len() {
        let before = (p.day.clone(), p.weekday, p.time, p.part);
        match recognize_at(toks, i, &mut p) {
            Some(n) if n > 0 => {
                if p.time != before.2 {
                    if let (Some(prev), Some((s, e))) = (before.2, last_time)
                        && p.time_end.is_none()
                        && is_range(toks, s, e, i)
                    {
                        p.time_end = p.time;
                        p.time = Some(prev);
                        p.hits += 1;
                        i += n;
                        continue;
                    }
                    last_time = Some((i, i + n));
                }
                // Two different days or times ("monday or tuesday", "tuesday, no, wednesday"):
                // the last one said wins (self-corrections are common) and the match is ambiguous.
                let changed = |was: bool, now_same: bool| was && !now_same;
                if changed(before.0.is_some(), before.0 == p.day)
                    || changed(before.1.is_some(), before.1 == p.weekday)
                    || changed(before.2.is_some(), before.2 == p.time)
                    || changed(before.3.is_some(), before.3 == p.part)
                {
                    p.conflict = true;
                }
                p.hits += 1;
                i += n;
            }
            _ => {
                skipped.push(i);
                i += 1;
            }
        }
    }
    drop_weak_time(toks, &skipped, &mut p);
    p
}

/// Whether the words between two times (`[end, next)`) make a range, given the first time
/// started at `start`.
fn is_range(toks: &[Tok], start: usize, end: usize, next: usize) -> bool {
    let gap: Vec<&str> = (end..next).filter_map(|k| toks.get(k)).filter_map(Tok::word).collect();
    if gap.len() != next.saturating_sub(end) {
        return false;
    }
    let before = start.checked_sub(1).and_then(|k| toks.get(k)).and_then(Tok::word).unwrap_or("");
    match gap.as_slice() {
        [] => true,
        ["and"] => before == "between",
        [w] => matches!(*w, "to" | "till" | "til" | "until" | "through" | "thru"),
        _ => false,
    }
}

/// Words that say nothing on their own; a bare number among only these is a time ("three",
/// "how about three", "let's say 10 please").
fn is_filler(w: &str) -> bool {
    matches!(
        w,
        "um" | "uh"
            | "er"
            | "erm"
            | "hmm"
            | "mm"
            | "like"
            | "ok"
            | "okay"
            | "yes"
            | "yeah"
            | "yep"
            | "sure"
            | "so"
            | "well"
            | "how"
            | "about"
            | "what"
            | "maybe"
            | "say"
            | "please"
            | "lets"
            | "let"
            | "us"
            | "do"
            | "at"
            | "around"
            | "the"
            | "oh"
            | "then"
            | "just"
            | "that"
            | "works"
            | "would"
            | "be"
            | "good"
            | "fine"
            | "great"
            | "i"
            | "guess"
            | "think"
            | "perhaps"
            | "probably"
            | "can"
            | "we"
            | "go"
            | "with"
            | "make"
            | "it"
            | "could"
            | "is"
            | "for"
            | "ish"
            | "or"
            | "and"
            | "no"
            | "actually"
            | "prefer"
            | "rather"
            | "want"
            | "wanna"
            | "id"
            | "love"
            | "try"
            | "book"
            | "me"
            | "to"
            | "till"
            | "til"
            | "until"
            | "from"
            | "between"
            | "by"
    )
}

fn drop_weak_time(toks: &[Tok], skipped: &[usize], p: &mut Parts) {
    let Some(t) = p.time else { return };
    let alone = p.day.is_none()
        && p.weekday.is_none()
        && p.week.is_none()
        && p.part.is_none()
        && p.zone.is_none()
        && p.shift.is_none()
        && p.offset_minutes.is_none();
    let content = skipped.iter().filter_map(|&k| toks.get(k)).any(|t| t.word().is_none_or(|w| !is_filler(w)));
    if t.weak && alone && content {
        p.time = None;
        p.hits = 0;
    }
}

fn recognize_at(toks: &[Tok], i: usize, p: &mut Parts) -> Option<usize> {
    if let Some((h, n)) = holidays::recognize(toks, i) {
        p.day = Some(DaySpec::Holiday(h));
        return Some(n);
    }
    if let Some((tz, n)) = zones::recognize(toks, i) {
        p.zone = Some(tz);
        return Some(n);
    }
    relative::recognize_offset(toks, i, p)
        .or_else(|| relative::recognize_day_word(toks, i, p))
        .or_else(|| date::recognize_week(toks, i, p))
        .or_else(|| date::recognize_date(toks, i, p))
        .or_else(|| date::recognize_weekday(toks, i, p))
        .or_else(|| time::recognize_part(toks, i, p))
        .or_else(|| time::recognize_time(toks, i, p))
}
