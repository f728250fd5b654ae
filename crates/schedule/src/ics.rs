//! iCalendar (RFC 5545) confirmation for a booking.
//!
//! One `VCALENDAR` with one `VEVENT`: `UID`, `DTSTAMP` (passed in: sans-IO), `DTSTART`/`DTEND` in
//! UTC (`19970714T173000Z` form, so no `VTIMEZONE` is needed and DST cannot shift the event),
//! `SUMMARY`, optional `LOCATION` and `DESCRIPTION`. TEXT values are escaped (`\\`, `\;`, `\,`,
//! newline as `\n`), lines end with CRLF, and lines longer than 75 octets are folded (CRLF then
//! one space), never inside a UTF-8 character.

use jiff::Timestamp;

use crate::booking::Booking;

/// What goes into the event.
#[derive(Debug, Clone)]
pub struct IcsEvent<'a> {
    pub uid: String,
    pub summary: &'a str,
    pub location: Option<&'a str>,
    pub description: Option<&'a str>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// When the object was created (the caller's `now`).
    pub dtstamp: Timestamp,
}

impl<'a> IcsEvent<'a> {
    /// The event for a booking, with `UID` = `<booking id>@<uid_domain>`.
    pub fn for_booking(b: &Booking, uid_domain: &str, summary: &'a str, dtstamp: Timestamp) -> IcsEvent<'a> {
        IcsEvent {
            uid: format!("{}@{}", b.id, uid_domain),
            summary,
            location: None,
            description: None,
            start: b.slot.start,
            end: b.slot.end,
            dtstamp,
        }
    }
}

/// Escapes a TEXT value (RFC 5545 3.3.11).
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds one content line at 75 octets and terminates it with CRLF (RFC 5545 3.1).
pub fn fold_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut width = 0;
    let mut limit = 75;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > limit {
            out.push_str("\r\n ");
            width = 1;
            limit = 75;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// The whole `.ics` text.
pub fn to_ics(ev: &IcsEvent<'_>) -> String {
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//frontdesk//schedule//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        "BEGIN:VEVENT".into(),
        format!("UID:{}", escape_text(&ev.uid)),
        format!("DTSTAMP:{}", utc(ev.dtstamp)),
        format!("DTSTART:{}", utc(ev.start)),
        format!("DTEND:{}", utc(ev.end)),
        format!("SUMMARY:{}", escape_text(ev.summary)),
    ];
    if let Some(loc) = ev.location {
        lines.push(format!("LOCATION:{}", escape_text(loc)));
    }
    if let Some(desc) = ev.description {
        lines.push(format!("DESCRIPTION:{}", escape_text(desc)));
    }
    lines.push("STATUS:CONFIRMED".into());
    lines.push("END:VEVENT".into());
    lines.push("END:VCALENDAR".into());
    lines.iter().map(|l| fold_line(l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text() {
        assert_eq!(escape_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(escape_text("x\r\ny"), "x\\ny");
    }

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let line = format!("DESCRIPTION:{}", "é".repeat(60));
        let folded = fold_line(&line);
        for l in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        let unfolded = folded.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
        assert!(folded.contains("\r\n "));
        assert_eq!(fold_line("SHORT:x"), "SHORT:x\r\n");
    }

    #[test]
    fn utc_event_with_crlf() {
        let start: Timestamp = "2026-03-09T13:00:00Z".parse().unwrap();
        let end: Timestamp = "2026-03-09T13:30:00Z".parse().unwrap();
        let ics = to_ics(&IcsEvent {
            uid: "B1@example.org".into(),
            summary: "Cleaning, Dr. Lee",
            location: Some("Room 2; 1 Main St"),
            description: None,
            start,
            end,
            dtstamp: start,
        });
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.contains("\r\nDTSTART:20260309T130000Z\r\nDTEND:20260309T133000Z\r\n"));
        assert!(ics.contains("SUMMARY:Cleaning\\, Dr. Lee\r\n"));
        assert!(ics.contains("LOCATION:Room 2\\; 1 Main St\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'));
    }
}
