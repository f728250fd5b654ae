//! Property tests: the parser never panics on any input, and what it returns is coherent.

use frontdesk_schedule::{Grain, parse_datetime, read_back};
use jiff::Zoned;
use jiff::civil::date;
use jiff::tz::TimeZone;
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "tomorrow",
    "today",
    "tonight",
    "at",
    "3",
    "12",
    "0",
    "24",
    "99",
    "pm",
    "am",
    "a",
    "m",
    "p",
    "next",
    "this",
    "coming",
    "tuesday",
    "sunday",
    "the",
    "14th",
    "31st",
    "second",
    "of",
    "quarter",
    "past",
    "half",
    "to",
    "till",
    "in",
    "two",
    "twenty",
    "oh",
    "five",
    "hours",
    "minutes",
    "days",
    "weeks",
    "month",
    "midnight",
    "noon",
    "eastern",
    "pacific",
    "est",
    "week",
    "weekend",
    "from",
    "after",
    "before",
    "day",
    "friday",
    "2:30",
    "1:30",
    "25:99",
    "3/14",
    "2/30",
    "13/45",
    "2028-02-29",
    "0900",
    "december",
    "february",
    "29th",
    "thirty",
    "first",
    "morning",
    "evening",
    "night",
    "end",
    "christmas",
    "thanksgiving",
    "new",
    "years",
    "eve",
    "o'clock",
    "-",
    ",",
    ".",
    "?",
    "couple",
    "and",
    "now",
    "same",
    "time",
    "1234",
    "999999999",
];

const ZONES: &[&str] = &[
    "America/New_York",
    "America/Los_Angeles",
    "America/Phoenix",
    "Europe/London",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/Santiago",
];

fn now_strategy() -> impl Strategy<Value = Zoned> {
    (2020i16..2035, 1i8..=12, 1i8..=28, 0i8..24, 0i8..60, 0usize..ZONES.len()).prop_map(
        |(y, mo, d, h, mi, z)| {
            let tz = TimeZone::get(ZONES[z]).expect("bundled zone");
            date(y, mo, d).at(h, mi, 0, 0).to_zoned(tz).expect("valid local time")
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn word_salad_never_panics_and_is_coherent(
        idx in proptest::collection::vec(0usize..WORDS.len(), 0..9),
        now in now_strategy(),
    ) {
        let text = idx.iter().map(|&i| WORDS[i]).collect::<Vec<_>>().join(" ");
        if let Ok(m) = parse_datetime(&text, &now) {
            if let Some(end) = &m.end {
                prop_assert!(*end > m.start, "{text}: end before start");
            }
            // Never absurdly far from now.
            let gap = (m.start.timestamp().as_second() - now.timestamp().as_second()).abs();
            prop_assert!(gap < 10 * 366 * 86_400, "{text}: {gap} s from now");
            if m.grain == Grain::Day {
                prop_assert!(m.end.is_none(), "{text}: a day has no end");
            }
            if m.grain == Grain::PartOfDay {
                prop_assert!(m.end.is_some(), "{text}: a part of day has an end");
            }
            let said = read_back(&m, now.time_zone());
            prop_assert!(said.contains("day"), "{text}: read-back {said:?} names a weekday");
            let json = m.to_json();
            prop_assert!(json.starts_with(r#"{"start":"#), "{}", json);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,40}", now in now_strategy()) {
        let _ = parse_datetime(&text, &now);
    }
}
