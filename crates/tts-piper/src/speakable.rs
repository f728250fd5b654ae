//! Rewrites what espeak-ng reads wrongly before it is phonemised.
//!
//! espeak-ng reads clock times digit group by digit group: "10:00 AM" comes out as "ten zero
//! zero A M" and "9:05" as "nine zero five". Callers hear times in every booking read-back, so
//! times are rewritten the way people say them: "10:00 AM" → "10 AM", "9:05" → "9 oh 5",
//! "3:30 PM" → "3 30 PM", "12:00 PM" → "12 noon", "12:00 AM" → "12 midnight". Anything that is
//! not an `H:MM` / `HH:MM` clock time (ratios such as "1:2", "10:000", scores inside words) is
//! left alone.

/// `text` with clock times in their spoken form.
pub fn speakable(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if let Some((end, spoken)) = clock_at(text, i) {
            out.push_str(&text[last..i]);
            out.push_str(&spoken);
            last = end;
            i = end;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// A clock time starting at byte `i`: its end and its spoken form.
fn clock_at(text: &str, i: usize) -> Option<(usize, String)> {
    let b = text.as_bytes();
    let is_digit = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
    // Starts a token: not preceded by a digit, a letter or a colon.
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b':') {
        return None;
    }
    let hour_len = match (is_digit(i), is_digit(i + 1)) {
        (true, true) => 2,
        (true, false) => 1,
        _ => return None,
    };
    let colon = i + hour_len;
    if b.get(colon) != Some(&b':') || !is_digit(colon + 1) || !is_digit(colon + 2) {
        return None;
    }
    let end = colon + 3;
    // Ends the token: not followed by a digit, a letter or another colon.
    if b.get(end).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b':') {
        return None;
    }
    let hour: u32 = text[i..colon].parse().ok()?;
    let minute: u32 = text[colon + 1..end].parse().ok()?;
    if hour > 23 || minute > 59 {
        return None;
    }
    let h = &text[i..colon];
    let spoken = match (minute, meridiem_after(text, end)) {
        (0, Some((Meridiem::Pm, len))) if hour == 12 => return Some((end + len, "12 noon".into())),
        (0, Some((Meridiem::Am, len))) if hour == 12 => return Some((end + len, "12 midnight".into())),
        (0, Some(_)) => h.to_owned(),
        (0, None) => format!("{h} o'clock"),
        (m @ 1..=9, _) => format!("{h} oh {m}"),
        (m, _) => format!("{h} {m}"),
    };
    Some((end, spoken))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Meridiem {
    Am,
    Pm,
}

/// "AM"/"PM" (any case, "A.M." too) after optional spaces at byte `at`, and the bytes from `at`
/// through it. A dot after a bare "PM" ends the sentence and is left out.
fn meridiem_after(text: &str, at: usize) -> Option<(Meridiem, usize)> {
    let rest = &text[at..];
    let t = rest.trim_start_matches(' ');
    let spaces = rest.len() - t.len();
    let word: String = t.chars().take_while(|c| c.is_ascii_alphabetic() || *c == '.').collect();
    let bare = word.replace('.', "").to_ascii_lowercase();
    let m = match bare.as_str() {
        "am" => Meridiem::Am,
        "pm" => Meridiem::Pm,
        _ => return None,
    };
    // "A.M." keeps its last dot; "PM." leaves it to the sentence.
    let inner_dot = word.trim_end_matches('.').contains('.');
    let len = if word.ends_with('.') && !inner_dot { word.len() - 1 } else { word.len() };
    Some((m, spaces + len))
}

#[cfg(test)]
mod tests {
    use super::speakable;

    #[test]
    fn clock_times_read_as_people_say_them() {
        assert_eq!(
            speakable("That's Monday, November 23 at 10:00 AM. Is that right?"),
            "That's Monday, November 23 at 10 AM. Is that right?"
        );
        assert_eq!(speakable("at 9:05 am"), "at 9 oh 5 am");
        assert_eq!(speakable("at 3:30 PM with Dr. Chen"), "at 3 30 PM with Dr. Chen");
        assert_eq!(speakable("from 8:00 AM to 12:00 PM."), "from 8 AM to 12 noon.");
        assert_eq!(speakable("at 12:00 A.M. sharp"), "at 12 midnight sharp");
        assert_eq!(speakable("the 17:00 slot"), "the 17 o'clock slot");
        assert_eq!(speakable("between 2:00 PM and 4:15 PM"), "between 2 PM and 4 15 PM");
    }

    #[test]
    fn what_is_not_a_clock_time_is_left_alone() {
        for s in
            ["a 1:2 ratio", "10:000", "x10:00", "25:00", "9:75", "1:00:00", "no digits: here", "9:", ":30"]
        {
            assert_eq!(speakable(s), s, "{s}");
        }
        assert_eq!(speakable("ünïcödé 10:00 ✓"), "ünïcödé 10 o'clock ✓");
    }
}
