//! Number words as callers and recognisers say them.
//!
//! Cardinals `zero`..`ninety`, ordinals `first`..`thirty first`, and the folding rules:
//! a tens word followed by a unit word is one number (`twenty five` -> 25, `twenty third` -> 23rd,
//! `twenty second` -> 22nd); `oh`/`o` followed by a unit is a two-digit minute (`three oh five`);
//! anything else stays separate, so `two fifteen` is 2 then 15 (a clock time, decided by the grammar)
//! and `one twenty five` is 1 then 25.

use super::lexer::Tok;

const CARDINALS: [(&str, u32); 28] = [
    ("zero", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fourty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("ninety", 90),
];

const ORDINALS: [(&str, u32); 21] = [
    ("first", 1),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
    ("eleventh", 11),
    ("twelfth", 12),
    ("thirteenth", 13),
    ("fourteenth", 14),
    ("fifteenth", 15),
    ("sixteenth", 16),
    ("seventeenth", 17),
    ("eighteenth", 18),
    ("nineteenth", 19),
    ("twentieth", 20),
    ("thirtieth", 30),
    ("twelveth", 12),
];

/// A single number word as a token (`second` is deliberately absent: see the module docs).
pub(crate) fn word_token(w: &str) -> Option<Tok> {
    if let Some((_, v)) = CARDINALS.iter().find(|(n, _)| *n == w) {
        return Some(Tok::Num { v: *v, ord: false, words: true, lead_zero: false });
    }
    if let Some((_, v)) = ORDINALS.iter().find(|(n, _)| *n == w) {
        return Some(Tok::Num { v: *v, ord: true, words: true, lead_zero: false });
    }
    None
}

/// Small quantity words used in durations: `a`, `an`, `couple`, `few`.
pub(crate) fn quantity_word(w: &str) -> Option<u32> {
    match w {
        "a" | "an" | "one" => Some(1),
        "couple" => Some(2),
        "few" => Some(3),
        _ => None,
    }
}

fn is_tens(t: &Tok) -> Option<u32> {
    match t {
        Tok::Num { v, ord: false, words: true, .. } if *v >= 20 && v % 10 == 0 => Some(*v),
        _ => None,
    }
}

/// Folds multi-word numbers (see the module docs).
pub(crate) fn fold_number_words(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        let next = toks.get(i + 1);
        if let Some(tens) = is_tens(t) {
            match next {
                Some(Tok::Num { v, ord, words: true, .. }) if (1..=9).contains(v) => {
                    out.push(Tok::Num { v: tens + v, ord: *ord, words: true, lead_zero: false });
                    i += 2;
                    continue;
                }
                Some(Tok::Word(w)) if w == "second" => {
                    out.push(Tok::Num { v: tens + 2, ord: true, words: true, lead_zero: false });
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        if (t.is_word("oh") || t.is_word("o"))
            && let Some(Tok::Num { v, ord: false, words: true, .. }) = next
            && (0..=9).contains(v)
        {
            out.push(Tok::Num { v: *v, ord: false, words: true, lead_zero: true });
            i += 2;
            continue;
        }
        out.push(t.clone());
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn nums(s: &str) -> Vec<(u32, bool)> {
        tokenize(s)
            .iter()
            .filter_map(|t| match t {
                Tok::Num { v, ord, .. } => Some((*v, *ord)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn folds_tens_and_units() {
        assert_eq!(nums("twenty five"), vec![(25, false)]);
        assert_eq!(nums("twenty-third"), vec![(23, true)]);
        assert_eq!(nums("the twenty second"), vec![(22, true)]);
        assert_eq!(nums("two fifteen"), vec![(2, false), (15, false)]);
        assert_eq!(nums("eleven forty five"), vec![(11, false), (45, false)]);
        assert_eq!(nums("one twenty five"), vec![(1, false), (25, false)]);
    }

    #[test]
    fn oh_marks_a_minute() {
        let t = tokenize("three oh five");
        assert!(matches!(t.get(1), Some(Tok::Num { v: 5, lead_zero: true, .. })));
    }
}
