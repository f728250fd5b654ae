use jiff::Zoned;
use jiff::tz::TimeZone;

use super::*;

fn now(s: &str, tz: &str) -> Zoned {
    let dt: jiff::civil::DateTime = s.parse().unwrap();
    dt.to_zoned(TimeZone::get(tz).unwrap()).unwrap()
}

fn start(text: &str) -> String {
    let n = now("2026-11-18T10:15", "America/New_York");
    rfc3339(&parse_datetime(text, &n).unwrap().start)
}

#[test]
fn json_shape() {
    let n = now("2026-11-18T10:15", "America/New_York");
    let m = parse_datetime("tomorrow at 3", &n).unwrap();
    assert_eq!(
        m.to_json(),
        r#"{"start":"2026-11-19T15:00:00-05:00","end":null,"grain":"hour","ambiguous":false}"#
    );
}

#[test]
fn nothing_recognised_is_an_error() {
    let n = now("2026-11-18T10:15", "America/New_York");
    assert!(matches!(
        parse_datetime("I would like to speak to someone", &n),
        Err(crate::ScheduleError::NotRecognised)
    ));
    assert!(parse_datetime("", &n).is_err());
}

#[test]
fn hour_rules() {
    assert_eq!(start("at 7"), "2026-11-18T19:00:00-05:00");
    assert_eq!(start("at 11"), "2026-11-18T11:00:00-05:00");
    assert_eq!(start("at 12"), "2026-11-18T12:00:00-05:00");
    assert_eq!(start("7 in the morning"), "2026-11-19T07:00:00-05:00");
}

#[test]
fn fall_back_is_ambiguous_with_the_second_occurrence() {
    let n = now("2026-10-31T11:00", "America/Los_Angeles");
    let m = parse_datetime("tomorrow at 1:30 am", &n).unwrap();
    assert!(m.ambiguous);
    assert_eq!(rfc3339(&m.start), "2026-11-01T01:30:00-07:00");
    assert_eq!(
        m.alternatives.iter().map(rfc3339).collect::<Vec<_>>(),
        vec!["2026-11-01T01:30:00-08:00".to_string()]
    );
}

#[test]
fn read_back_is_absolute_and_names_foreign_zones() {
    let n = now("2026-11-18T10:15", "America/New_York");
    let ny = TimeZone::get("America/New_York").unwrap();
    let m = parse_datetime("next tuesday at 3", &n).unwrap();
    assert_eq!(read_back(&m, &ny), "Tuesday, November 24 at 3:00 PM");
    let m = parse_datetime("tomorrow at 9 am pacific", &n).unwrap();
    assert_eq!(read_back(&m, &ny), "Thursday, November 19 at 9:00 AM Pacific time");
    let m = parse_datetime("friday morning", &n).unwrap();
    assert_eq!(read_back(&m, &ny), "Friday, November 20 between 8:00 AM and 12:00 PM");
    let m = parse_datetime("this weekend", &n).unwrap();
    assert_eq!(read_back(&m, &ny), "Saturday, November 21 through Sunday, November 22");
}

#[test]
fn spring_forward_gap_moves_forward_and_is_not_ambiguous() {
    let n = now("2026-03-07T09:00", "America/New_York");
    let m = parse_datetime("tomorrow at 2:30 am", &n).unwrap();
    assert_eq!(rfc3339(&m.start), "2026-03-08T03:30:00-04:00");
    assert!(!m.ambiguous);
    // Without am/pm the hour rule applies first: 2:30 is 14:30.
    let m = parse_datetime("tomorrow at 2:30", &n).unwrap();
    assert_eq!(rfc3339(&m.start), "2026-03-08T14:30:00-04:00");
}

#[test]
fn next_weekday_rule_and_its_ambiguity() {
    // Wednesday: Friday is still in this week, so "next friday" skips it (ambiguous).
    let n = now("2026-11-18T10:15", "America/New_York");
    let m = parse_datetime("next friday", &n).unwrap();
    assert_eq!(rfc3339(&m.start), "2026-11-27T00:00:00-05:00");
    assert!(m.ambiguous);
    assert_eq!(rfc3339(&m.alternatives[0]), "2026-11-20T00:00:00-05:00");
    // Friday: the coming Tuesday is in next week already.
    let n = now("2026-11-20T10:15", "America/New_York");
    let m = parse_datetime("next tuesday", &n).unwrap();
    assert_eq!(rfc3339(&m.start), "2026-11-24T00:00:00-05:00");
    assert!(!m.ambiguous);
}

#[test]
fn bare_numbers_need_a_time_context() {
    let n = now("2026-11-18T10:15", "America/New_York");
    assert!(parse_datetime("I have one question", &n).is_err());
    assert!(parse_datetime("my number is 555 1234", &n).is_err());
    assert_eq!(start("how about three"), "2026-11-18T15:00:00-05:00");
    assert_eq!(start("one"), "2026-11-18T13:00:00-05:00");
}

#[test]
fn two_different_days_are_ambiguous() {
    let n = now("2026-11-18T10:15", "America/New_York");
    let m = parse_datetime("monday, no, tuesday", &n).unwrap();
    assert_eq!(rfc3339(&m.start), "2026-11-24T00:00:00-05:00");
    assert!(m.ambiguous);
}

#[test]
fn local_now_reads_cli_arguments() {
    let n = local_now("2026-11-18T10:15", "America/New_York").unwrap();
    assert_eq!(rfc3339(&n), "2026-11-18T10:15:00-05:00");
    assert!(local_now("2026-11-18T10:15", "Mars/Olympus").is_err());
    assert!(local_now("yesterday-ish", "UTC").is_err());
}

#[test]
fn time_ranges_have_an_end() {
    let n = now("2026-11-18T10:15", "America/New_York");
    let ny = TimeZone::get("America/New_York").unwrap();
    let m = parse_datetime("between 2 and 4 tomorrow", &n).unwrap();
    assert_eq!(rfc3339(&m.start), "2026-11-19T14:00:00-05:00");
    assert_eq!(m.end.as_ref().map(rfc3339).as_deref(), Some("2026-11-19T16:00:00-05:00"));
    assert_eq!(read_back(&m, &ny), "Thursday, November 19 between 2:00 PM and 4:00 PM");
    let m = parse_datetime("from 10 to 2 on friday", &n).unwrap();
    assert_eq!(m.end.as_ref().map(rfc3339).as_deref(), Some("2026-11-20T14:00:00-05:00"));
    // "ten to four" stays a clock time.
    let m = parse_datetime("ten to four", &n).unwrap();
    assert_eq!(rfc3339(&m.start), "2026-11-18T15:50:00-05:00");
    assert!(m.end.is_none());
}

#[test]
fn nth_weekday_of_month_and_next_month() {
    assert_eq!(start("the first monday of december"), "2026-12-07T00:00:00-05:00");
    assert_eq!(start("last friday of the month"), "2026-11-27T00:00:00-05:00");
    assert_eq!(start("the 3rd of next month"), "2026-12-03T00:00:00-05:00");
    // Past this year: next year's.
    assert_eq!(start("the second tuesday in january"), "2027-01-12T00:00:00-05:00");
    assert_eq!(start("the first monday of november"), "2027-11-01T00:00:00-04:00");
}

#[test]
fn json_with_alternatives() {
    let n = now("2026-11-18T10:15", "America/New_York");
    let m = parse_datetime("next friday", &n).unwrap();
    assert_eq!(
        m.to_json(),
        r#"{"start":"2026-11-27T00:00:00-05:00","end":null,"grain":"day","ambiguous":true}"#
    );
    assert_eq!(
        m.to_json_with_alternatives(),
        r#"{"start":"2026-11-27T00:00:00-05:00","end":null,"grain":"day","ambiguous":true,"alternatives":["2026-11-20T00:00:00-05:00"]}"#
    );
}
