//! A caller's words as the embedding model should see them.
//!
//! Phone callers open with fillers and politeness ("um, hi, yeah, I was wondering if you take
//! Medicare"); the embedding of the whole sentence drifts towards what those openings share and
//! away from the question, while the intent examples and knowledge-base questions are written
//! plainly. [`embedding_text`] drops the opening (filler words, then one lead-in phrase such as
//! "I was wondering if" or "can you tell me") and hesitation sounds anywhere ("um", "uh"), and
//! keeps the rest as it was said. Text that is nothing but an opening ("yes", "okay") is kept
//! whole: there the opening is the answer.
//!
//! The voice loop, `frontdesk chat`, conversation tests and the FAQ evaluation all embed through
//! this, so what is measured is what runs.

/// Words that open a sentence without carrying its meaning.
const OPENERS: &[&str] = &[
    "um",
    "umm",
    "uh",
    "uhh",
    "er",
    "erm",
    "ah",
    "oh",
    "hmm",
    "mm",
    "hi",
    "hey",
    "hello",
    "yeah",
    "yes",
    "so",
    "well",
    "okay",
    "ok",
    "alright",
    "there",
    "good",
    "morning",
    "afternoon",
    "evening",
    "and",
    "just",
];

/// Hesitation sounds, dropped anywhere.
const HESITATIONS: &[&str] = &["um", "umm", "uh", "uhh", "er", "erm", "hmm", "mm"];

/// Lead-in phrases (after the openers), longest first when they share a start.
const LEAD_INS: &[&str] = &[
    "i was just wondering",
    "i was wondering",
    "i am wondering",
    "i'm wondering",
    "im wondering",
    "i just wanted to ask",
    "i just wanted to know",
    "i wanted to ask",
    "i want to ask",
    "i wanted to know",
    "i want to know",
    "i'd like to know",
    "id like to know",
    "i would like to know",
    "i was hoping you could tell me",
    "can you please tell me",
    "could you please tell me",
    "can you tell me",
    "could you tell me",
    "i have a quick question",
    "i have a question",
    "i've got a question",
    "ive got a question",
    "quick question",
    "i'm calling to ask",
    "im calling to ask",
    "i was calling to ask",
    "i'm calling to find out",
    "im calling to find out",
    "do you know",
];

/// `text` without its opening and hesitations; see the module doc.
pub fn embedding_text(text: &str) -> String {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
                .to_lowercase()
                .replace('\u{2019}', "'")
        })
        .filter(|w| !w.is_empty())
        .collect();
    let mut start = 0;
    while start < words.len() && OPENERS.contains(&words[start].as_str()) {
        start += 1;
    }
    let rest = &words[start..];
    let lead = LEAD_INS
        .iter()
        .map(|p| p.split(' ').collect::<Vec<_>>())
        .filter(|p| p.len() <= rest.len() && p.iter().zip(rest).all(|(a, b)| a == b))
        .map(|p| p.len())
        .max()
        .unwrap_or(0);
    start += lead;
    if lead > 0 && words.get(start).is_some_and(|w| w == "if" || w == "whether") {
        start += 1;
    }
    let kept: Vec<&str> =
        words[start..].iter().map(String::as_str).filter(|w| !HESITATIONS.contains(w)).collect();
    if kept.is_empty() {
        return text.trim().to_owned();
    }
    kept.join(" ")
}

#[cfg(test)]
mod tests {
    use super::embedding_text;

    #[test]
    fn openings_and_hesitations_go_the_question_stays() {
        assert_eq!(
            embedding_text("Um, hi, yeah, I was wondering if you take Medicare?"),
            "you take medicare"
        );
        assert_eq!(embedding_text("uh can you tell me what your hours are"), "what your hours are");
        assert_eq!(embedding_text("So, where do I, um, park?"), "where do i park");
        assert_eq!(
            embedding_text("hello i have a quick question do you do flu shots"),
            "do you do flu shots"
        );
        assert_eq!(embedding_text("I'd like to book an appointment"), "i'd like to book an appointment");
        assert_eq!(embedding_text("Do you know where you are located"), "where you are located");
    }

    #[test]
    fn an_opening_alone_is_the_answer() {
        assert_eq!(embedding_text("Yes."), "Yes.");
        assert_eq!(embedding_text("okay"), "okay");
        assert_eq!(embedding_text("  um  "), "um");
        assert_eq!(embedding_text(""), "");
    }
}
