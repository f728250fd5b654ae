//! Normalisation and tokenisation of a caller's utterance (typed text or ASR output).
//!
//! The lexer turns text into a small token stream the grammar can walk without caring how the
//! caller (or the recogniser) wrote things:
//!
//! - case is folded, apostrophes are dropped (`o'clock` -> `oclock`, `new year's` -> `new years`),
//!   hyphens between words split (`twenty-one` -> `twenty one`), other punctuation separates tokens;
//! - `a.m.`, `a m`, `am`, `3pm`, `3p.m.` all become a number followed by the word `am`/`pm`;
//! - `3:30`, `3.30` (two-digit tail) become [`Tok::Clock`]; `3/14` and `3/14/2027` become
//!   [`Tok::Slash`] (US month/day order); compact `930`, `1030`, `0900` are clocks too; `2026-03-14` becomes [`Tok::Ymd`];
//! - `3rd`, `14th`, `third`, `twenty third` become ordinal numbers; number words are folded
//!   (`twenty five` -> 25, `oh five` -> 05 with a leading-zero mark). `second` stays a word: it is
//!   an ordinal only in date context (`the second`, `december second`), which the grammar decides.

use super::numbers;

/// One token of a normalised utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A number. `ord`: written or spoken as an ordinal. `words`: spoken as words.
    /// `lead_zero`: written `05` or spoken `oh five` (a minute, never an hour).
    Num { v: u32, ord: bool, words: bool, lead_zero: bool },
    /// `h:mm` or `h.mm`.
    Clock { h: u32, m: u32 },
    /// `m/d` or `m/d/y` (US order).
    Slash { m: u32, d: u32, y: Option<i32> },
    /// ISO `yyyy-mm-dd`.
    Ymd { y: i32, m: u32, d: u32 },
    /// Any other word, lower case, without punctuation.
    Word(String),
}

impl Tok {
    pub(crate) fn is_word(&self, w: &str) -> bool {
        matches!(self, Tok::Word(x) if x == w)
    }

    pub(crate) fn word(&self) -> Option<&str> {
        match self {
            Tok::Word(w) => Some(w.as_str()),
            _ => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn num(v: u32) -> Tok {
        Tok::Num { v, ord: false, words: false, lead_zero: false }
    }
}

/// Tokenises `text`. Never fails: unknown material becomes [`Tok::Word`] and is skipped later.
pub(crate) fn tokenize(text: &str) -> Vec<Tok> {
    let lower = text.to_lowercase().replace(['\'', '’', '`'], "");
    let mut raw: Vec<String> = Vec::new();
    for piece in lower.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | '!' | '?' | '(' | ')' | '"' | '@' | '&')
    }) {
        split_piece(piece, &mut raw);
    }
    let mut toks: Vec<Tok> = Vec::new();
    for r in &raw {
        lex_raw(r, &mut toks);
    }
    let toks = merge_letters(toks);
    numbers::fold_number_words(toks)
}

/// Splits hyphenated words (keeping `2026-03-14`) and strips stray periods.
fn split_piece(piece: &str, out: &mut Vec<String>) {
    if piece.is_empty() {
        return;
    }
    let iso = piece.len() == 10
        && piece.chars().enumerate().all(
            |(i, c)| {
                if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() }
            },
        );
    if iso {
        out.push(piece.to_string());
        return;
    }
    // "9-11": a range of hours.
    if let Some((a, b)) = piece.split_once('-') {
        let short = |s: &str| all_digits(s) && s.len() <= 2;
        if short(a) && short(b) {
            out.extend([a.to_string(), "to".to_string(), b.to_string()]);
            return;
        }
    }
    for part in piece.split('-') {
        // Keep "3.30" (a clock) but drop the dots of "a.m." and a sentence's final period.
        let digits_dot = part.contains('.')
            && part.split('.').all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()));
        let cleaned = if digits_dot { part.to_string() } else { part.replace('.', "") };
        if !cleaned.is_empty() {
            out.push(cleaned);
        }
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

fn parse_u32(s: &str) -> Option<u32> {
    if all_digits(s) && s.len() <= 6 { s.parse().ok() } else { None }
}

fn lex_raw(r: &str, out: &mut Vec<Tok>) {
    // ISO date.
    if r.len() == 10 && r.as_bytes().get(4) == Some(&b'-') {
        let y = r.get(0..4).and_then(parse_u32);
        let m = r.get(5..7).and_then(parse_u32);
        let d = r.get(8..10).and_then(parse_u32);
        if let (Some(y), Some(m), Some(d)) = (y, m, d) {
            out.push(Tok::Ymd { y: y as i32, m, d });
            return;
        }
    }
    // Clock "3:30", "3:30pm", "3.30".
    if let Some((h, rest)) = r.split_once([':', '.']) {
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let suffix = rest.get(digits.len()..).unwrap_or("");
        if let (Some(hh), Some(mm)) = (parse_u32(h), parse_u32(&digits))
            && digits.len() == 2
            && hh <= 24
            && mm < 60
        {
            out.push(Tok::Clock { h: hh, m: mm });
            push_suffix(suffix, out);
            return;
        }
    }
    // Slash date "3/14", "3/14/27", "3/14/2027".
    if r.contains('/') {
        let parts: Vec<&str> = r.split('/').collect();
        if let [m, d, rest @ ..] = parts.as_slice()
            && let (Some(m), Some(d)) = (parse_u32(m), parse_u32(d))
        {
            let y = match rest {
                [] => Some(None),
                [y] => parse_u32(y).map(|y| {
                    let y = y as i32;
                    Some(if y < 100 { 2000 + y } else { y })
                }),
                _ => None,
            };
            if let Some(y) = y {
                out.push(Tok::Slash { m, d, y });
                return;
            }
        }
    }
    // Digits with a suffix: "3pm", "14th", "3rd", "10am".
    let digits: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
    if !digits.is_empty() {
        let suffix = r.get(digits.len()..).unwrap_or("");
        let Some(v) = parse_u32(&digits) else {
            out.push(Tok::Word(r.to_string()));
            return;
        };
        // Compact clock: "930", "1030", "0900" (never a year: 1900 and up stay numbers).
        let compact = (digits.len() == 3 || (digits.len() == 4 && v < 1900))
            && v % 100 < 60
            && v / 100 <= 23
            && !matches!(suffix, "st" | "nd" | "rd" | "th");
        if compact {
            out.push(Tok::Clock { h: v / 100, m: v % 100 });
            push_suffix(suffix, out);
            return;
        }
        let ord = matches!(suffix, "st" | "nd" | "rd" | "th");
        out.push(Tok::Num { v, ord, words: false, lead_zero: digits.len() == 2 && digits.starts_with('0') });
        if !ord {
            push_suffix(suffix, out);
        }
        return;
    }
    if let Some(t) = numbers::word_token(r) {
        out.push(t);
        return;
    }
    out.push(Tok::Word(r.to_string()));
}

fn push_suffix(suffix: &str, out: &mut Vec<Tok>) {
    match suffix {
        "" => {}
        "a" | "am" => out.push(Tok::Word("am".into())),
        "p" | "pm" => out.push(Tok::Word("pm".into())),
        "h" | "hrs" | "hours" => {}
        other => out.push(Tok::Word(other.to_string())),
    }
}

/// Merges ASR letter sequences: `a m` -> `am`, `p m` -> `pm`, `o clock` -> `oclock`.
fn merge_letters(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut it = toks.into_iter().peekable();
    while let Some(t) = it.next() {
        let merged = match (&t, it.peek()) {
            (Tok::Word(a), Some(Tok::Word(b))) => match (a.as_str(), b.as_str()) {
                ("a", "m") => Some("am"),
                ("p", "m") => Some("pm"),
                ("o", "clock") => Some("oclock"),
                _ => None,
            },
            _ => None,
        };
        if let Some(m) = merged {
            // "a m" only after a number-ish token: "a meeting" never reaches here (b == "m").
            it.next();
            out.push(Tok::Word(m.to_string()));
        } else {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Tok {
        Tok::Word(s.into())
    }

    #[test]
    fn asr_meridiem_forms() {
        let t = tokenize("Ten A.M.");
        assert_eq!(t.get(1), Some(&w("am")));
        let t = tokenize("three thirty p m");
        assert_eq!(t.len(), 3);
        assert_eq!(t.get(2), Some(&w("pm")));
        let t = tokenize("3pm");
        assert_eq!(t, vec![Tok::num(3), w("pm")]);
    }

    #[test]
    fn clocks_dates_and_ordinals() {
        assert_eq!(tokenize("3:30"), vec![Tok::Clock { h: 3, m: 30 }]);
        assert_eq!(tokenize("3/14"), vec![Tok::Slash { m: 3, d: 14, y: None }]);
        assert_eq!(tokenize("2026-03-14"), vec![Tok::Ymd { y: 2026, m: 3, d: 14 }]);
        assert!(matches!(tokenize("14th").first(), Some(Tok::Num { v: 14, ord: true, .. })));
        assert_eq!(tokenize("o'clock"), vec![w("oclock")]);
    }
}
