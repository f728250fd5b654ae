//! Read-back: what the agent says to confirm a match.
//!
//! Always absolute: weekday, month, day and time ("Tuesday, November 24 at 3:00 PM"), never
//! "tomorrow". The zone is named when the match's zone differs from the business zone
//! ("... at 3:00 PM Pacific time"). Days read "Tuesday, November 24, any time"; parts of the day
//! and time ranges read their window ("Friday, November 20 between 8:00 AM and 12:00 PM"); weeks read
//! "the week of Monday, November 23"; weekends read "Saturday, November 21 through Sunday,
//! November 22".

use jiff::Zoned;
use jiff::tz::TimeZone;

use super::{DateTimeMatch, Grain, zones};

fn day_text(z: &Zoned) -> String {
    z.strftime("%A, %B %-d").to_string()
}

fn time_text(z: &Zoned) -> String {
    z.strftime("%-I:%M %p").to_string()
}

fn zone_suffix(z: &Zoned, business_tz: &TimeZone) -> String {
    let name = z.time_zone().iana_name();
    if name.is_some() && name == business_tz.iana_name() {
        return String::new();
    }
    if name.is_none() && z.time_zone() == business_tz {
        return String::new();
    }
    match name.and_then(zones::spoken_name) {
        Some(spoken) => format!(" {spoken}"),
        None => format!(" {}", z.strftime("%Z")),
    }
}

/// Says a match back in absolute terms (see the module docs).
pub fn read_back(m: &DateTimeMatch, business_tz: &TimeZone) -> String {
    let s = &m.start;
    let zone = zone_suffix(s, business_tz);
    match m.grain {
        Grain::Day => format!("{}, any time", day_text(s)),
        Grain::Minute | Grain::Hour | Grain::PartOfDay => match &m.end {
            Some(e) => format!("{} between {} and {}{zone}", day_text(s), time_text(s), time_text(e)),
            None => format!("{} at {}{zone}", day_text(s), time_text(s)),
        },
        Grain::Week => match &m.end {
            Some(e) => {
                let last = e.yesterday().map(|d| day_text(&d)).unwrap_or_else(|_| day_text(e));
                format!("{} through {}", day_text(s), last)
            }
            None => format!("the week of {}", day_text(s)),
        },
    }
}
