use frontdesk_schedule::local_now;

use super::*;

fn now() -> Zoned {
    local_now("2026-11-18T10:15", "America/New_York").unwrap()
}

#[test]
fn yes_no_from_speech_and_keys() {
    assert_eq!(yes_no("yes please"), Some(true));
    assert_eq!(yes_no("yeah that's right"), Some(true));
    assert_eq!(yes_no("no, that's wrong"), Some(false));
    assert_eq!(yes_no("purple"), None);
    assert_eq!(yes_no("yes no"), None);
    assert_eq!(from_dtmf(&SlotType::YesNo, "1"), Some(Value::Bool(true)));
    assert_eq!(from_dtmf(&SlotType::YesNo, "2"), Some(Value::Bool(false)));
    assert_eq!(from_dtmf(&SlotType::YesNo, "7"), None);
}

#[test]
fn numbers_and_digits() {
    assert_eq!(spoken_number("twenty three"), Some(23));
    assert_eq!(spoken_number("I need 2 please"), Some(2));
    assert_eq!(spoken_number("a hundred and five"), Some(105));
    assert_eq!(spoken_number("none"), None);
    assert_eq!(words::digits("five five five oh one four two"), "5550142");
    assert_eq!(words::digits("it's 617 555 0142"), "6175550142");
    assert_eq!(words::digits("double five one"), "551");
}

#[test]
fn phone_needs_ten_digits() {
    let n = now();
    assert_eq!(
        from_speech(&SlotType::Phone, "six one seven five five five oh one four two", &n),
        Some(Value::Text("+16175550142".into()))
    );
    assert_eq!(from_dtmf(&SlotType::Phone, "16175550142"), Some(Value::Text("+16175550142".into())));
    assert_eq!(from_speech(&SlotType::Phone, "five five five", &n), None);
}

#[test]
fn names_enums_dates() {
    let n = now();
    assert_eq!(person_name("my name is maria garcia"), Some("Maria Garcia".into()));
    assert_eq!(person_name("call me at 555"), None);
    let opts = vec![
        ("new_patient".to_owned(), vec!["first visit".to_owned(), "never been".to_owned()]),
        ("existing".to_owned(), vec!["returning".to_owned(), "been before".to_owned()]),
    ];
    assert_eq!(enum_value(&opts, "it's my first visit"), Some("new_patient".into()));
    assert_eq!(enum_value(&opts, "I'm a returning patient"), Some("existing".into()));
    assert_eq!(from_dtmf(&SlotType::Enum(opts.clone()), "2"), Some(Value::Text("existing".into())));
    assert_eq!(from_dtmf(&SlotType::Enum(opts), "3"), None);
    let Some(Value::When(m)) = from_speech(&SlotType::Date, "next tuesday", &n) else { panic!("no date") };
    assert_eq!(rfc3339(&m.start).get(..10), Some("2026-11-24"));
    assert_eq!(from_speech(&SlotType::Time, "next tuesday", &n), None, "a day is not a time");
    let v = from_speech(&SlotType::DateTime, "tomorrow at 3", &n).unwrap();
    assert_eq!(v.spoken(Some("spoken_time"), n.time_zone()), "3:00 PM");
    assert_eq!(v.spoken(Some("spoken_date"), n.time_zone()), "Thursday, November 19");
}

#[test]
fn validation_rules() {
    let r = Validate { min: Some(1), max: Some(10), length: None };
    assert!(validate(&Value::Int(5), &r).is_ok());
    assert!(validate(&Value::Int(11), &r).is_err());
    let r = Validate { length: Some(4), ..Validate::default() };
    assert!(validate(&Value::Text("1234".into()), &r).is_ok());
    assert!(validate(&Value::Text("123".into()), &r).is_err());
    assert_eq!(Value::Text("555".into()).spoken(Some("digits"), now().time_zone()), "5 5 5");
}
