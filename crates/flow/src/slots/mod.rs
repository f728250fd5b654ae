//! Typed slot values and how they are read from speech and from DTMF.
//!
//! Every reader is a pure function of the text (and, for dates, the caller's wall-clock `now`
//! passed in). A reader returns `None` for "not understood" (the machine counts a no-match) or
//! a value that then goes through [`validate`]. Keypad input: yes/no is 1/2, enums pick the
//! n-th option, digits/phone/number take the keys as typed.

mod words;

use frontdesk_schedule::jiff::Zoned;
use frontdesk_schedule::jiff::tz::TimeZone;
use frontdesk_schedule::{DateTimeMatch, Grain, parse_datetime, read_back, rfc3339};

use crate::ast::{Literal, SlotType, Validate};
use crate::intents::{has_phrase, words};
pub use words::{digits, spoken_number};

/// A slot's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Text(String),
    /// A date/time as understood (start, optional end, grain).
    When(DateTimeMatch),
}

impl Value {
    /// JSON for `--json` output and webhooks.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::When(m) => serde_json::Value::String(rfc3339(&m.start)),
        }
    }

    /// The spoken form, with an optional template filter.
    pub fn spoken(&self, filter: Option<&str>, tz: &TimeZone) -> String {
        match (self, filter) {
            (Value::When(m), Some("spoken_date")) => m.start.strftime("%A, %B %-d").to_string(),
            (Value::When(m), Some("spoken_time")) => m.start.strftime("%-I:%M %p").to_string(),
            (Value::When(m), _) => read_back(m, tz),
            (v, Some("digits")) => {
                let s = v.plain();
                let ds: Vec<String> = s.chars().filter(char::is_ascii_digit).map(String::from).collect();
                ds.join(" ")
            }
            (v, Some("upper")) => v.plain().to_uppercase(),
            (v, Some("lower")) => v.plain().to_lowercase(),
            (v, _) => v.plain(),
        }
    }

    fn plain(&self) -> String {
        match self {
            Value::Bool(true) => "yes".into(),
            Value::Bool(false) => "no".into(),
            Value::Int(i) => i.to_string(),
            Value::Text(s) => s.clone(),
            Value::When(m) => rfc3339(&m.start),
        }
    }

    /// Equality with a condition literal (`confirmed == true`, `kind == new`).
    pub fn equals(&self, lit: &Literal) -> bool {
        match (self, lit) {
            (Value::Bool(a), Literal::Bool(b)) => a == b,
            (Value::Bool(a), Literal::Str(s)) => (s == "yes" && *a) || (s == "no" && !*a),
            (Value::Int(a), Literal::Int(b)) => a == b,
            (Value::Text(a), Literal::Str(b)) => a.eq_ignore_ascii_case(b),
            (Value::Text(a), Literal::Int(b)) => *a == b.to_string(),
            _ => false,
        }
    }
}

impl From<&Literal> for Value {
    fn from(l: &Literal) -> Self {
        match l {
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Int(i) => Value::Int(*i),
            Literal::Str(s) => Value::Text(s.clone()),
        }
    }
}

const YES: &[&str] = &[
    "yes",
    "yeah",
    "yep",
    "yup",
    "correct",
    "right",
    "sure",
    "absolutely",
    "definitely",
    "affirmative",
    "ok",
    "okay",
    "please do",
    "that works",
    "sounds good",
    "exactly",
    "perfect",
    "of course",
];
const NO: &[&str] =
    &["no", "nope", "nah", "wrong", "incorrect", "not right", "negative", "dont", "not really", "thats not"];

/// Yes/no from speech: one side only, else not understood ("yes no" is not an answer).
pub fn yes_no(text: &str) -> Option<bool> {
    let ws = words(text);
    let yes = YES.iter().any(|p| has_phrase(&ws, p));
    let no = NO.iter().any(|p| has_phrase(&ws, p));
    match (yes, no) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// Reads a value of type `ty` from speech. `now` is the caller's wall clock.
pub fn from_speech(ty: &SlotType, text: &str, now: &Zoned) -> Option<Value> {
    match ty {
        SlotType::YesNo => yes_no(text).map(Value::Bool),
        SlotType::Number => spoken_number(text).map(Value::Int),
        SlotType::Digits => Some(Value::Text(words::digits(text))).filter(|v| !v.plain().is_empty()),
        SlotType::Phone => phone(&words::digits(text)),
        SlotType::Date | SlotType::Time | SlotType::DateTime => {
            let m = parse_datetime(text, now).ok()?;
            let ok = match ty {
                SlotType::Date => !matches!(m.grain, Grain::Week),
                SlotType::Time => matches!(m.grain, Grain::Minute | Grain::Hour),
                _ => true,
            };
            ok.then_some(Value::When(m))
        }
        SlotType::PersonName => person_name(text).map(Value::Text),
        SlotType::Enum(options) => enum_value(options, text).map(Value::Text),
        SlotType::Text => Some(text.trim()).filter(|t| !t.is_empty()).map(|t| Value::Text(t.to_owned())),
    }
}

/// Reads a value of type `ty` from keypad digits (without the terminating `#`).
pub fn from_dtmf(ty: &SlotType, keys: &str) -> Option<Value> {
    let digits: String = keys.chars().filter(char::is_ascii_digit).collect();
    match ty {
        SlotType::YesNo => match digits.as_str() {
            "1" => Some(Value::Bool(true)),
            "2" => Some(Value::Bool(false)),
            _ => None,
        },
        SlotType::Number => digits.parse().ok().map(Value::Int),
        SlotType::Digits => Some(Value::Text(digits)).filter(|v| !v.plain().is_empty()),
        SlotType::Phone => phone(&digits),
        SlotType::Enum(options) => {
            let n: usize = digits.parse().ok()?;
            options.get(n.checked_sub(1)?).map(|(c, _)| Value::Text(c.clone()))
        }
        _ => None,
    }
}

/// North American numbers: 10 digits, or 11 starting with 1 -> E.164.
fn phone(digits: &str) -> Option<Value> {
    let d = match digits.len() {
        10 => digits,
        11 if digits.starts_with('1') => digits.get(1..)?,
        _ => return None,
    };
    Some(Value::Text(format!("+1{d}")))
}

const NAME_LEAD: &[&str] =
    &["my name is", "this is", "its", "i am", "im", "name is", "names", "the name is", "it is"];

/// A person's name: lead-ins dropped ("my name is ..."), words capitalised; 1-4 words, no digits.
pub fn person_name(text: &str) -> Option<String> {
    let mut ws = words(text);
    for lead in NAME_LEAD {
        let l = words(lead);
        if ws.starts_with(&l) {
            ws.drain(..l.len());
            break;
        }
    }
    if ws.is_empty() || ws.len() > 4 || ws.iter().any(|w| w.chars().any(|c| c.is_ascii_digit())) {
        return None;
    }
    let cap: Vec<String> = ws
        .iter()
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
        })
        .collect();
    Some(cap.join(" "))
}

/// The enum option whose name or a synonym occurs in `text` (longest phrase wins).
pub fn enum_value(options: &[(String, Vec<String>)], text: &str) -> Option<String> {
    let ws = words(text);
    let mut best: Option<(usize, &str)> = None;
    for (canon, syns) in options {
        for p in std::iter::once(canon.replace('_', " ")).chain(syns.iter().cloned()) {
            if has_phrase(&ws, &p) {
                let n = words(&p).len();
                if best.is_none_or(|(b, _)| n > b) {
                    best = Some((n, canon));
                }
            }
        }
    }
    best.map(|(_, c)| c.to_owned())
}

/// Validation against `min`/`max` (numbers) and `length` (digits). Err is the reason.
pub fn validate(v: &Value, rules: &Validate) -> Result<(), &'static str> {
    match v {
        Value::Int(n) => {
            if rules.min.is_some_and(|m| *n < m) {
                return Err("too small");
            }
            if rules.max.is_some_and(|m| *n > m) {
                return Err("too large");
            }
        }
        Value::Text(s) => {
            if let Some(len) = rules.length
                && s.chars().filter(char::is_ascii_digit).count() != len
            {
                return Err("wrong length");
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
