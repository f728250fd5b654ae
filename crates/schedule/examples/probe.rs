//! Prints the parse of each argument line read from stdin: `NOW\tTZ\tTEXT`.
use std::io::BufRead;

use frontdesk_schedule::{parse_datetime, read_back};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

#[allow(clippy::print_stdout)]
fn main() {
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(now), Some(tz), Some(text)) = (f.first(), f.get(1), f.get(2)) else {
            continue;
        };
        let Ok(zone) = TimeZone::get(tz) else { continue };
        let Ok(now) = now.parse::<DateTime>() else { continue };
        let Ok(now) = now.to_zoned(zone.clone()) else { continue };
        match parse_datetime(text, &now) {
            Ok(m) => println!("{text:40} {} | {}", m.to_json_with_alternatives(), read_back(&m, &zone)),
            Err(e) => println!("{text:40} ERROR {e}"),
        }
    }
}
