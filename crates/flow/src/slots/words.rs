//! Spoken numbers and digit strings ("five five five oh one four two", "twenty three").

use crate::intents::words;

fn unit(w: &str) -> Option<i64> {
    Some(match w {
        "zero" | "oh" | "o" => 0,
        "one" => 1,
        "two" | "to" | "too" => 2,
        "three" => 3,
        "four" | "for" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        _ => return None,
    })
}

fn teen_or_tens(w: &str) -> Option<i64> {
    Some(match w {
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

/// Digits as said or typed: "555 0142", "five five five oh one four two", "double five".
/// Words that are neither are skipped (so "it's 555..." works); homophones `to`/`for` count
/// only between other digits.
pub fn digits(text: &str) -> String {
    let ws = words(text);
    let mut out = String::new();
    let mut double = 1;
    for (i, w) in ws.iter().enumerate() {
        if w.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(w);
            continue;
        }
        match w.as_str() {
            "double" => {
                double = 2;
                continue;
            }
            "triple" => {
                double = 3;
                continue;
            }
            "to" | "too" | "for" | "o" => {
                let near = |j: Option<&String>| {
                    j.is_some_and(|x| {
                        x.chars().all(|c| c.is_ascii_digit())
                            || unit(x).is_some() && !matches!(x.as_str(), "to" | "too" | "for" | "o")
                    })
                };
                if !(i > 0 && near(ws.get(i - 1)) && near(ws.get(i + 1))) {
                    continue;
                }
            }
            _ => {}
        }
        if let Some(d) = unit(w) {
            for _ in 0..double {
                out.push(char::from(b'0' + d as u8));
            }
        }
        double = 1;
    }
    out
}

/// A number said in words or digits: "23", "twenty three", "a hundred and five", "two". The
/// first number in the text.
pub fn spoken_number(text: &str) -> Option<i64> {
    let ws = words(text);
    let mut total: Option<i64> = None;
    let mut cur: i64 = 0;
    for w in &ws {
        if let Ok(n) = w.parse::<i64>() {
            if total.is_some() {
                break;
            }
            return Some(n);
        }
        let v = match w.as_str() {
            "to" | "too" | "for" | "oh" | "o" => None,
            _ => unit(w).or_else(|| teen_or_tens(w)),
        };
        match (v, w.as_str()) {
            (Some(v), _) => {
                cur += v;
                total = Some(0);
            }
            (None, "hundred") if total.is_some() || cur > 0 => cur = cur.max(1) * 100,
            (None, "hundred") => {
                cur = 100;
                total = Some(0);
            }
            (None, "and" | "a") => {}
            _ if total.is_some() => break,
            _ => {}
        }
    }
    total.map(|t| t + cur)
}
