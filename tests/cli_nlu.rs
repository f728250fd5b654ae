//! `frontdesk nlu datetime` as a flow author runs it: one JSON object on stdout, exit 1 with a
//! message when nothing is recognised or the reference time is bad.

use std::process::Command;

fn nlu(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .arg("nlu")
        .arg("datetime")
        .args(args)
        .output()
        .expect("run frontdesk");
    let s = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 output");
    (out.status.code().unwrap_or(-1), s(out.stdout), s(out.stderr))
}

#[test]
fn prints_one_json_object_in_the_callers_zone() {
    let (code, out, _) = nlu(&["tomorrow at 3", "--now", "2026-11-18T10:15", "--tz", "America/New_York"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["start"], "2026-11-19T15:00:00-05:00");
    assert_eq!(v["end"], serde_json::Value::Null);
    assert_eq!(v["grain"], "hour");
    assert_eq!(v["ambiguous"], false);
    assert_eq!(out.lines().count(), 1);

    // The same words on the other coast, across the DST change (2026-11-01).
    let (_, out, _) =
        nlu(&["next tuesday afternoon", "--now", "2026-10-30T09:00", "--tz", "America/Los_Angeles"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["start"].as_str().unwrap().ends_with("-08:00"), "{out}");
    assert_eq!(v["grain"], "part_of_day");
}

#[test]
fn says_what_went_wrong_with_exit_1() {
    let (code, out, err) = nlu(&["purple elephant", "--now", "2026-11-18T10:15"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("no date or time recognised"), "{err}");
    let (code, _, err) = nlu(&["noon", "--now", "2026-11-18T10:15", "--tz", "Mars/Olympus_Mons"]);
    assert_eq!(code, 1);
    assert!(err.contains("Mars/Olympus_Mons"), "{err}");
}
