//! The text normaliser and word error rate shared by every system the evaluation scores (ours
//! and the faster-whisper hypotheses that `eval/asr/run.sh` feeds in), so both sides are judged
//! by the same rules:
//!
//! - lower case; notes in brackets or parentheses dropped; `* # @ % &` spelled out;
//! - English contractions expanded (as openai-whisper's English normaliser does: `n't` -> not,
//!   `'re` -> are, `'m` -> am, `'ll` -> will, `'ve` -> have, `'d` -> would, `'s` -> is);
//! - dots inside a word (`P.M.`, `www.asterisk.org`) removed, other punctuation replaced by a
//!   space (so hyphenated words split);
//! - numbers as words (`24` -> twenty four, `3rd` -> third, `28.8` -> twenty eight point eight),
//!   and a leading "one" before hundred / thousand / million / billion dropped on both sides
//!   ("100" and "hundred" read the same);
//! - a few spelling variants unified (okay, through, US spellings), and the misspellings of the
//!   reference transcripts corrected (`represenatives`, `witheld`, `fourtieth`...).
//!
//! [`score`] then counts word edits; with `compounds`, two adjacent words on one side that
//! are written as one word on the other (`mail box` / `mailbox`, `re record` / `rerecord`) are
//! joined first, since that is spelling rather than recognition. The evaluation prints both.

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] =
    ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

fn number_words(n: u64, out: &mut Vec<String>) {
    match n {
        0..=19 => out.push(ONES[n as usize].into()),
        20..=99 => {
            out.push(TENS[(n / 10) as usize].into());
            if !n.is_multiple_of(10) {
                out.push(ONES[(n % 10) as usize].into());
            }
        }
        100..=999 => {
            number_words(n / 100, out);
            out.push("hundred".into());
            if !n.is_multiple_of(100) {
                number_words(n % 100, out);
            }
        }
        _ => {
            for (unit, name) in [(1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand")] {
                if n >= unit {
                    number_words(n / unit, out);
                    out.push(name.into());
                    if !n.is_multiple_of(unit) {
                        number_words(n % unit, out);
                    }
                    return;
                }
            }
        }
    }
}

fn ordinal(word: &str) -> String {
    match word {
        "one" => "first".into(),
        "two" => "second".into(),
        "three" => "third".into(),
        "five" => "fifth".into(),
        "eight" => "eighth".into(),
        "nine" => "ninth".into(),
        "twelve" => "twelfth".into(),
        w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
        w => format!("{w}th"),
    }
}

/// Spelling variants mapped to one form.
fn spelling(w: &str) -> &str {
    match w {
        "ok" => "okay",
        "thru" => "through",
        "colour" => "color",
        "favourite" => "favorite",
        "centre" => "center",
        "cancelled" => "canceled",
        "cancelling" => "canceling",
        "dialled" => "dialed",
        "dialling" => "dialing",
        "recognised" => "recognized",
        "organisation" => "organization",
        "licence" => "license",
        "programme" => "program",
        // Misspellings in the asterisk-core-sounds-en transcripts (the audio says the word).
        "represenatives" => "representatives",
        "witheld" => "withheld",
        "indentified" => "identified",
        "fourtieth" => "fortieth",
        "exclaimation" => "exclamation",
        "umute" => "unmute",
        w => w,
    }
}

fn expand_contraction(w: &str, out: &mut Vec<String>) {
    let special = match w {
        "won't" => Some("will not"),
        "can't" => Some("can not"),
        "cannot" => Some("can not"),
        "let's" => Some("let us"),
        "ain't" => Some("is not"),
        _ => None,
    };
    if let Some(s) = special {
        out.extend(s.split(' ').map(str::to_owned));
        return;
    }
    for (suffix, full) in [
        ("n't", "not"),
        ("'re", "are"),
        ("'m", "am"),
        ("'ll", "will"),
        ("'ve", "have"),
        ("'d", "would"),
        ("'s", "is"),
    ] {
        if let Some(stem) = w.strip_suffix(suffix)
            && !stem.is_empty()
        {
            out.push(stem.to_owned());
            out.push(full.to_owned());
            return;
        }
    }
    out.push(w.replace('\'', ""));
}

/// Normalised words of `text`.
pub(crate) fn normalise(text: &str) -> Vec<String> {
    let text = text.replace(['\u{2019}', '\u{2018}'], "'");
    let chars: Vec<char> = text.chars().collect();
    let mut s = String::new();
    let mut depth = 0i32;
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied().unwrap_or(' ');
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        match c {
            '[' | '(' | '<' => depth += 1,
            ']' | ')' | '>' => depth = (depth - 1).max(0),
            _ if depth > 0 => {}
            '*' => s.push_str(" star "),
            '#' => s.push_str(" pound "),
            '@' => s.push_str(" at "),
            '%' => s.push_str(" percent "),
            '&' => s.push_str(" and "),
            '.' if prev.is_ascii_digit() && next.is_ascii_digit() => s.push_str(" point "),
            '.' if prev.is_alphabetic() && next.is_alphabetic() => {}
            '\'' if prev.is_alphabetic() && next.is_alphabetic() => s.push('\''),
            c if c.is_alphanumeric() || c.is_whitespace() => s.extend(c.to_lowercase()),
            _ => s.push(' '),
        }
    }
    let mut words = Vec::new();
    for w in s.split_whitespace() {
        expand_contraction(w, &mut words);
    }
    let mut out: Vec<String> = Vec::new();
    for w in &words {
        let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
        let rest = &w[digits.len()..];
        let start = out.len();
        match (digits.parse::<u64>(), rest) {
            (Ok(n), "") => number_words(n, &mut out),
            (Ok(n), "st" | "nd" | "rd" | "th") => {
                number_words(n, &mut out);
                if let Some(last) = out.pop() {
                    out.push(ordinal(&last));
                }
            }
            (Ok(n), "s") => {
                number_words(n, &mut out);
                if let Some(last) = out.pop() {
                    out.push(format!("{last}s"));
                }
            }
            _ => out.push(spelling(w).to_owned()),
        }
        // "one hundred" reads as "hundred" (both sides get the same rule).
        let scale = |w: &str| {
            ["hundred", "thousand", "million", "billion"]
                .iter()
                .any(|s| w.strip_prefix(s).is_some_and(|r| r.len() <= 3))
        };
        if out.len() >= start + 2 && out[start] == "one" && scale(&out[start + 1]) {
            out.remove(start);
        } else if out.len() == start + 1
            && scale(&out[start])
            && out.len() >= 2
            && out[start - 1] == "one"
            && (start < 2 || ONES.iter().chain(TENS.iter()).all(|n| *n != out[start - 2]))
        {
            out.remove(start - 1);
        }
    }
    out
}

fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(x != y)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Joins adjacent words of `a` whose concatenation is a word of `b` (and not a pair in `b`).
fn join_compounds(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(a.len());
    let mut i = 0;
    while i < a.len() {
        if let Some(next) = a.get(i + 1) {
            let joined = format!("{}{}", a[i], next);
            let pair_in_b = b.windows(2).any(|w| w[0] == a[i] && w[1] == *next);
            if b.contains(&joined) && !pair_in_b {
                out.push(joined);
                i += 2;
                continue;
            }
        }
        out.push(a[i].clone());
        i += 1;
    }
    out
}

/// Word edits between a reference and a hypothesis (normalised here) and the reference length.
pub(crate) fn score(reference: &str, hypothesis: &str, compounds: bool) -> (usize, usize) {
    let (mut r, mut h) = (normalise(reference), normalise(hypothesis));
    if compounds {
        let r2 = join_compounds(&r, &h);
        h = join_compounds(&h, &r2);
        r = r2;
    }
    // The reference length is that of the plain normalised reference.
    (edit_distance(&r, &h), normalise(reference).len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_spells_numbers_and_symbols() {
        assert_eq!(
            normalise("Press 1, then # or *; 24 hours [beep] on the 3rd (note) - party's"),
            [
                "press", "one", "then", "pound", "or", "star", "twenty", "four", "hours", "on", "the",
                "third", "party", "is"
            ]
        );
        assert_eq!(normalise("I'm sorry, you can't"), ["i", "am", "sorry", "you", "can", "not"]);
        assert_eq!(normalise("P.M. at 28.8K"), ["pm", "at", "twenty", "eight", "point", "8k"]);
        assert_eq!(normalise("100th"), normalise("hundredth"));
        assert_eq!(normalise("1000"), normalise("thousand"));
        assert_eq!(normalise("press 1 hundred"), ["press", "hundred"]);
        assert_eq!(normalise("twenty one hundred"), ["twenty", "one", "hundred"]);
        assert_eq!(normalise("OK thru"), ["okay", "through"]);
        assert_eq!(score("Un-indentified or witheld", "unidentified or withheld", true), (0, 4));
    }

    #[test]
    fn compounds_are_spelling() {
        assert_eq!(score("the mailbox", "the mail box", false), (2, 2));
        assert_eq!(score("the mailbox", "the mail box", true), (0, 2));
        assert_eq!(score("to re-record it", "to rerecord it", true), (0, 4));
        assert_eq!(score("a b c", "a x c d", true), (2, 3));
    }
}
