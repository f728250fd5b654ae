//! Time-zone words that change the zone of an expression ("3 pm eastern").
//!
//! US zone names and abbreviations map to one IANA zone each: standard and daylight abbreviations
//! are treated alike (`est` in July means Eastern time, as callers use it), so `3 pm est` is 3 PM
//! on the New York wall clock whatever the season. `mountain` is Denver (with DST); `arizona` is
//! Phoenix (no DST). `utc`/`gmt`/`zulu` is UTC. Zones come from jiff's bundled tz database.

use jiff::tz::TimeZone;

use super::lexer::Tok;

const ZONES: &[(&[&str], &str)] = &[
    (&["eastern"], "America/New_York"),
    (&["et"], "America/New_York"),
    (&["est"], "America/New_York"),
    (&["edt"], "America/New_York"),
    (&["east", "coast"], "America/New_York"),
    (&["new", "york"], "America/New_York"),
    (&["central"], "America/Chicago"),
    (&["ct"], "America/Chicago"),
    (&["cst"], "America/Chicago"),
    (&["cdt"], "America/Chicago"),
    (&["chicago"], "America/Chicago"),
    (&["mountain"], "America/Denver"),
    (&["mt"], "America/Denver"),
    (&["mst"], "America/Denver"),
    (&["mdt"], "America/Denver"),
    (&["denver"], "America/Denver"),
    (&["arizona"], "America/Phoenix"),
    (&["phoenix"], "America/Phoenix"),
    (&["pacific"], "America/Los_Angeles"),
    (&["pt"], "America/Los_Angeles"),
    (&["pst"], "America/Los_Angeles"),
    (&["pdt"], "America/Los_Angeles"),
    (&["west", "coast"], "America/Los_Angeles"),
    (&["california"], "America/Los_Angeles"),
    (&["alaska"], "America/Anchorage"),
    (&["alaskan"], "America/Anchorage"),
    (&["akst"], "America/Anchorage"),
    (&["akdt"], "America/Anchorage"),
    (&["hawaii"], "Pacific/Honolulu"),
    (&["hawaiian"], "Pacific/Honolulu"),
    (&["hst"], "Pacific/Honolulu"),
    (&["utc"], "UTC"),
    (&["gmt"], "UTC"),
    (&["zulu"], "UTC"),
    (&["london"], "Europe/London"),
];

/// City-like names count as a zone only with `time` after them or `in` before them
/// (`chicago time`, `3 pm in new york`).
fn needs_time_word(words: &[&str]) -> bool {
    matches!(words, ["new", "york"] | ["chicago"] | ["denver"] | ["phoenix"] | ["california"] | ["london"])
}

/// Recognises a zone at `i`; returns the zone and the number of tokens used.
pub(crate) fn recognize(toks: &[Tok], i: usize) -> Option<(TimeZone, usize)> {
    for (words, name) in ZONES {
        let matched = words.iter().enumerate().all(|(k, w)| toks.get(i + k).is_some_and(|t| t.is_word(w)));
        if !matched {
            continue;
        }
        let mut n = words.len();
        if toks.get(i + n).is_some_and(|t| t.is_word("standard") || t.is_word("daylight")) {
            n += 1;
        }
        let has_time = toks.get(i + n).is_some_and(|t| t.is_word("time"));
        if has_time {
            n += 1;
        } else if needs_time_word(words)
            && !i.checked_sub(1).and_then(|k| toks.get(k)).is_some_and(|t| t.is_word("in"))
        {
            continue;
        }
        let tz = TimeZone::get(name).ok()?;
        return Some((tz, n));
    }
    None
}

/// A friendly spoken name for the zones above (used by read-back).
pub(crate) fn spoken_name(iana: &str) -> Option<&'static str> {
    Some(match iana {
        "America/New_York" => "Eastern time",
        "America/Chicago" => "Central time",
        "America/Denver" => "Mountain time",
        "America/Phoenix" => "Arizona time",
        "America/Los_Angeles" => "Pacific time",
        "America/Anchorage" => "Alaska time",
        "Pacific/Honolulu" => "Hawaii time",
        "UTC" => "UTC",
        _ => return None,
    })
}
