//! Splitting a long first clause so the first audio comes sooner.
//!
//! Piper synthesises a clause in one model run whose cost grows with its length (about 0.1 s of
//! compute per second of audio on one core), so the time to first audio is the cost of the first
//! clause. [`split_first`] cuts a first clause longer than a few words once, before a conjunction
//! or a preposition that starts a phrase ("Your appointment is confirmed | for Tuesday at three"),
//! never leaving fewer than three words in front or two behind. A clause without such a word is
//! left whole rather than cut inside a phrase. The two halves are joined without a pause: the
//! stream trims the silence VITS puts at the end of the first half and the start of the second
//! to a short word gap (see [`crate::stream`]).

/// Words before which a clause may be cut: coordinating and subordinating conjunctions,
/// relative words and prepositions that usually open a phrase. ("to" is not one: it is more often
/// an infinitive marker, where a cut would split a verb; nor are "in" and "on", often particles
/// of a phrasal verb: "book you in", "hold on".)
const BOUNDARY_WORDS: [&str; 24] = [
    "and", "but", "or", "so", "because", "if", "when", "while", "which", "who", "where", "unless",
    "although", "since", "for", "at", "from", "with", "about", "by", "after", "before", "until", "during",
];

/// The fewest words in front of a cut.
const MIN_HEAD: usize = 3;
/// The fewest words behind a cut.
const MIN_TAIL: usize = 2;

/// Cuts `clause` before the first boundary word that leaves at least three words in front, if the
/// clause has more than `max_words` words and the cut leaves at most `max_words` in front and at
/// least two behind. `None` when it should stay whole.
pub fn split_first(clause: &str, max_words: usize) -> Option<(String, String)> {
    let words: Vec<&str> = clause.split_whitespace().collect();
    if max_words == 0 || words.len() <= max_words {
        return None;
    }
    let last_head = max_words.min(words.len().saturating_sub(MIN_TAIL));
    let cut = (MIN_HEAD..=last_head).find(|&i| {
        let prev_ends_phrase = words[i - 1].ends_with([',', ';', ':', '.', '!', '?']);
        let w: String = words[i].chars().filter(|c| c.is_alphabetic()).collect::<String>().to_lowercase();
        !prev_ends_phrase && BOUNDARY_WORDS.contains(&w.as_str())
    })?;
    Some((words[..cut].join(" "), words[cut..].join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_first_clauses_are_cut_before_a_phrase() {
        assert_eq!(
            split_first("Your appointment is confirmed for Tuesday at three in the afternoon.", 6),
            Some(("Your appointment is confirmed".into(), "for Tuesday at three in the afternoon.".into()))
        );
        // Not before "to" (an infinitive), and never with fewer than three words in front.
        assert_eq!(
            split_first("I want to book a visit with the doctor next week.", 6),
            Some(("I want to book a visit".into(), "with the doctor next week.".into()))
        );
        assert_eq!(
            split_first("We can book you in at nine and also later today.", 6),
            Some(("We can book you in".into(), "at nine and also later today.".into()))
        );
    }

    #[test]
    fn short_clauses_or_clauses_without_a_boundary_stay_whole() {
        assert_eq!(split_first("Thanks for calling the clinic,", 6), None);
        assert_eq!(split_first("Please hold the line one moment please thank you.", 6), None);
        // A boundary word too late (more than max_words in front) does not count.
        assert_eq!(split_first("Please hold the line one moment please and thanks.", 6), None);
        // Two words must stay behind.
        assert_eq!(split_first("One two three four five six seven on", 6), None);
        assert_eq!(split_first("anything at all here and more", 0), None);
    }
}
