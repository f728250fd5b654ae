//! The lexical side of FAQ retrieval, built for ASR transcripts of phone callers: lower case,
//! no punctuation, fillers ("um", "uh i was wondering", "can you tell me"), words split by the
//! recogniser ("wheel chair"), everyday synonyms ("meds", "kids", "doc").
//!
//! A caller's words go through the same steps as the knowledge base's text: adjacent words are
//! joined when the joined form is a word of the knowledge base, a few spoken synonyms map to one
//! form, stop and filler words are dropped, and a crude stemmer folds plurals and "-ing" forms.
//! An entry's lexical score is the IDF-weighted share of the caller's remaining words found in
//! the entry; a word that no entry contains weighs against every entry (that keeps "do you do
//! hearing tests" off the COVID-testing entry).

use std::collections::{BTreeMap, BTreeSet};

use crate::intents::words;

use super::Kb;

/// Function words and the fillers of spoken questions; never counted.
const STOP: &[&str] = &[
    "a", "an", "the", "is", "are", "am", "do", "does", "did", "doing", "done", "you", "your", "yours", "i",
    "me", "my", "mine", "we", "our", "to", "of", "in", "on", "at", "for", "and", "or", "but", "what",
    "whats", "how", "hows", "can", "could", "there", "theres", "it", "its", "be", "been", "being", "have",
    "has", "had", "having", "with", "that", "thats", "this", "these", "those", "if", "any", "get", "getting",
    "got", "about", "please", "tell", "know", "want", "wanted", "wanna", "like", "would", "from", "when",
    "where", "wheres", "which", "who", "whos", "whom", "why", "much", "so", "some", "us", "im", "ive",
    "guys", "just", "need", "needs", "will", "should", "shall", "may", "might", "must", "yes", "yeah", "yea",
    "no", "not", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "cant", "couldnt", "wouldnt",
    "id", "ill", "was", "were", "hi", "hey", "hello", "um", "umm", "uh", "uhh", "er", "erm", "ah", "oh",
    "hmm", "mm", "okay", "ok", "well", "then", "than", "go", "going", "gonna", "see", "come", "also", "them",
    "they", "their", "theyre", "he", "she", "his", "her", "him", "up", "out", "by", "into", "all", "one",
    "youre", "youve", "here", "wont", "still", "yet", "today", "thanks", "thank", "clinic", "office",
    "practice", "wonder", "kinda", "kind", "sort", "actually", "really", "maybe", "mean", "let", "lets",
    "lemme", "gotta", "right", "sure", "anything", "thing", "things", "way", "able", "possible", "question",
    "ask", "asking", "calling", "call", "quick", "quickly", "hoping", "trying", "try", "very", "too", "as",
    "ever", "even", "now", "again", "other", "else", "because", "cause", "sir", "maam", "someone",
    "somebody", "anyone", "anybody", "there", "place", "guy", "folks",
];

/// Spoken variants mapped to one form (applied to the caller's words and the KB's alike).
const SYNONYMS: &[(&str, &str)] = &[
    ("kid", "child"),
    ("kids", "child"),
    ("children", "child"),
    ("childrens", "child"),
    ("son", "child"),
    ("daughter", "child"),
    ("baby", "child"),
    ("babies", "child"),
    ("toddler", "child"),
    ("infant", "child"),
    ("newborn", "child"),
    ("newborns", "child"),
    ("teen", "child"),
    ("teens", "child"),
    ("teenager", "child"),
    ("teenagers", "child"),
    ("doc", "doctor"),
    ("physician", "doctor"),
    ("physicians", "doctor"),
    ("provider", "doctor"),
    ("providers", "doctor"),
    ("meds", "medication"),
    ("medicine", "medication"),
    ("medicines", "medication"),
    ("medications", "medication"),
    ("pill", "medication"),
    ("pills", "medication"),
    ("shot", "vaccine"),
    ("shots", "vaccine"),
    ("vaccination", "vaccine"),
    ("vaccinations", "vaccine"),
    ("vaccinate", "vaccine"),
    ("vaccinated", "vaccine"),
    ("immunization", "vaccine"),
    ("immunizations", "vaccine"),
    ("jab", "vaccine"),
    ("bloodwork", "lab"),
    ("labs", "lab"),
    ("price", "cost"),
    ("prices", "cost"),
    ("pricing", "cost"),
    ("expensive", "cost"),
    ("uninsured", "insurance"),
    ("insured", "insurance"),
    ("cancellation", "cancel"),
    ("cancelling", "cancel"),
    ("canceling", "cancel"),
    ("telemedicine", "telehealth"),
    ("translator", "interpreter"),
    ("translate", "interpreter"),
    ("bathroom", "restroom"),
    ("bathrooms", "restroom"),
    ("toilet", "restroom"),
    ("metro", "subway"),
    ("yearly", "annual"),
    ("checkup", "physical"),
    ("appt", "appointment"),
];

/// A crude suffix stemmer: good enough to join "refill"/"refills", "test"/"tests"/"testing".
pub(super) fn stem(w: &str) -> &str {
    for suf in ["ing", "ed", "es", "s"] {
        if let Some(s) = w.strip_suffix(suf)
            && s.len() >= 3
        {
            return s;
        }
    }
    w
}

fn canon(w: &str) -> &str {
    SYNONYMS.iter().find(|(from, _)| *from == w).map_or(w, |(_, to)| to)
}

/// Content terms of `text`: adjacent words joined when `joined` holds the joined form,
/// synonyms mapped, stop words dropped, stemmed.
fn terms(text: &str, joined: &BTreeSet<String>) -> Vec<String> {
    let ws = words(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let pair = ws.get(i + 1).map(|next| format!("{}{next}", ws[i]));
        let w = match pair {
            Some(p) if joined.contains(&p) => {
                i += 2;
                p
            }
            _ => {
                i += 1;
                ws[i - 1].clone()
            }
        };
        let w = canon(&w);
        if !STOP.contains(&w) && !STOP.contains(&stem(w)) {
            out.push(stem(w).to_owned());
        }
    }
    out
}

/// Each entry's content terms and their IDF over entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Lexicon {
    docs: Vec<Vec<String>>,
    idf: BTreeMap<String, f32>,
    /// IDF given to a term no entry contains.
    unseen: f32,
    /// The KB's words (before stemming): a caller's two adjacent words that form one of them
    /// are read as that word ("wheel chair").
    vocab: BTreeSet<String>,
}

impl Lexicon {
    pub(super) fn new(kb: &Kb) -> Self {
        let vocab: BTreeSet<String> = kb
            .entries
            .iter()
            .flat_map(|e| {
                let mut t = words(&e.question);
                e.examples.iter().for_each(|x| t.extend(words(x)));
                t.extend(words(&e.answer));
                e.keywords.iter().flatten().for_each(|k| t.push(k.clone()));
                t
            })
            .filter(|w| w.len() >= 5)
            .collect();
        let docs: Vec<Vec<String>> = kb
            .entries
            .iter()
            .map(|e| {
                let mut d = terms(&e.question, &vocab);
                e.examples.iter().for_each(|x| d.extend(terms(x, &vocab)));
                d.extend(terms(&e.answer, &vocab));
                e.keywords.iter().flatten().for_each(|k| d.push(stem(canon(k)).to_owned()));
                d.sort();
                d.dedup();
                d
            })
            .collect();
        let n = docs.len() as f32;
        let mut df: BTreeMap<String, f32> = BTreeMap::new();
        for d in &docs {
            for w in d {
                *df.entry(w.clone()).or_default() += 1.0;
            }
        }
        let idf = df.into_iter().map(|(w, f)| (w, (1.0 + n / f).ln())).collect();
        Lexicon { docs, idf, unseen: (1.0 + n).ln(), vocab }
    }

    /// The caller's content terms (see the module doc).
    pub(super) fn terms(&self, text: &str) -> Vec<String> {
        terms(text, &self.vocab)
    }

    /// For each entry: the IDF-weighted share of `said` found in it (0 when nothing was said).
    pub(super) fn scores(&self, said: &[String]) -> Vec<f32> {
        let weight = |w: &String| self.idf.get(w).copied().unwrap_or(self.unseen);
        let total: f32 = said.iter().map(weight).sum();
        self.docs
            .iter()
            .map(|d| {
                if total <= 0.0 {
                    return 0.0;
                }
                said.iter().filter(|w| d.binary_search(w).is_ok()).map(weight).sum::<f32>() / total
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KB: &str = "entries:\n  - id: hours\n    question: What are your opening hours?\n    answer: Nine to five.\n  - id: access\n    question: Is the building wheelchair accessible?\n    examples: [can my kids come]\n    answer: Yes.\n";

    #[test]
    fn fillers_splits_and_synonyms() {
        let kb = Kb::parse(KB).unwrap();
        let lex = Lexicon::new(&kb);
        assert_eq!(lex.terms("um uh i was wondering can you tell me like your hours"), vec!["hour"]);
        assert_eq!(lex.terms("is there a wheel chair ramp"), vec!["wheelchair", "ramp"]);
        assert_eq!(lex.terms("my son and daughter"), vec!["child", "child"]);
        let s = lex.scores(&lex.terms("uh do you guys have wheel chair access for my kid"));
        assert!(s[1] > 0.6 && s[0] == 0.0, "{s:?}");
    }

    #[test]
    fn unknown_words_weigh_against_every_entry() {
        let kb = Kb::parse(KB).unwrap();
        let lex = Lexicon::new(&kb);
        let known = lex.scores(&lex.terms("wheelchair accessible"));
        let mixed = lex.scores(&lex.terms("wheelchair for my boat trailer"));
        assert!(known[1] > 0.99, "{known:?}");
        assert!(mixed[1] < 0.5, "{mixed:?}");
    }
}
