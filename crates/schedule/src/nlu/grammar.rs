//! The token walker: at each position the recognisers are tried in a fixed order (longest,
//! most specific first); a position nothing recognises is skipped, so fillers ("um", "can I
//! come in", "how about", "at", "on", "around") cost nothing. What a recogniser takes is
//! recorded in [`Parts`]; resolution against `now` happens later (`resolve.rs`). When a second,
//! different day, weekday, time or part of day is said, the last one wins and the match is
//! ambiguous.

use super::lexer::Tok;
use super::parts::{DaySpec, Parts};
use super::{date, holidays, relative, time, zones};

/// Walks the tokens and collects what was recognised.
pub(crate) fn parse(toks: &[Tok]) -> Parts {
    let mut p = Parts::default();
    let mut i = 0;
    while i < toks.len() {
        let before = (p.day.clone(), p.weekday, p.time, p.part);
        match recognize_at(toks, i, &mut p) {
            Some(n) if n > 0 => {
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
            _ => i += 1,
        }
    }
    p
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
