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
