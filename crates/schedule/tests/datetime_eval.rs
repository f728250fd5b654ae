//! Runs the hand-written evaluation set `eval/datetime.tsv` and asserts accuracy >= 95 %.
//!
//! A row is correct when start, end, grain and the ambiguity flag all match (`none` rows must be
//! rejected as not recognised). Every failure is printed.

use frontdesk_schedule::{parse_datetime, rfc3339};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

#[derive(Debug)]
struct Row {
    line: usize,
    now: String,
    tz: String,
    text: String,
    start: String,
    end: String,
    grain: String,
    ambiguous: String,
}

fn rows() -> Vec<Row> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/eval/datetime.tsv");
    let text = std::fs::read_to_string(path).expect("eval set readable");
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 7, "line {}: 7 tab-separated fields", i + 1);
            Row {
                line: i + 1,
                now: f[0].into(),
                tz: f[1].into(),
                text: f[2].into(),
                start: f[3].into(),
                end: f[4].into(),
                grain: f[5].into(),
                ambiguous: f[6].into(),
            }
        })
        .collect()
}

/// Returns `None` when the row passes, else a description of the difference.
fn check(r: &Row) -> Option<String> {
    let tz = TimeZone::get(&r.tz).expect("known zone");
    let now: DateTime = r.now.parse().expect("now parses");
    let now = now.to_zoned(tz).expect("now in zone");
    let got = parse_datetime(&r.text, &now);
    match (r.start.as_str(), got) {
        ("none", Err(_)) => None,
        ("none", Ok(m)) => Some(format!("expected nothing, got {}", m.to_json())),
        (_, Err(e)) => Some(format!("expected {}, got error: {e}", r.start)),
        (_, Ok(m)) => {
            let end = m.end.as_ref().map(rfc3339).unwrap_or_else(|| "-".into());
            let got = (rfc3339(&m.start), end, m.grain.as_str().to_string(), m.ambiguous.to_string());
            let want = (r.start.clone(), r.end.clone(), r.grain.clone(), r.ambiguous.clone());
            (got != want).then(|| format!("want {want:?}\n          got  {got:?}"))
        }
    }
}

#[test]
fn datetime_eval_set_accuracy() {
    let rows = rows();
    assert!(rows.len() >= 170, "eval set has {} rows", rows.len());
    let mut failed = 0;
    for r in &rows {
        if let Some(why) = check(r) {
            failed += 1;
            println!("FAIL line {} [{} {}] {:?}\n          {why}", r.line, r.now, r.tz, r.text);
        }
    }
    let total = rows.len();
    let accuracy = (total - failed) as f64 / total as f64;
    println!("datetime eval: {} / {total} correct ({:.1} %)", total - failed, accuracy * 100.0);
    assert!(accuracy >= 0.95, "accuracy {:.1} % < 95 %", accuracy * 100.0);
}
