//! Intent matching: keyword rules first, then the embedding model, with thresholds and a
//! clarifying question when the best two intents are close.
//!
//! With a model, the best example cosine decides whether an utterance is an intent at all
//! (`intent_threshold`), and a linear ranker trained on the examples ([`Ranker`]) decides which
//! one; with `intent_floor` the ranker also lets in an utterance under the threshold that it
//! finds likelier to be an intent than one of the knowledge base's questions.
//!
//! Design: the matcher never calls a model. Example phrases are embedded once, outside the
//! machine, into an [`IntentIndex`] (see [`crate::Bundle::embed`]); each caller utterance
//! arrives with its embedding already computed (or `None` when no model is configured). So
//! classification is a pure function of (utterance, embedding, index): deterministic,
//! replayable, testable with a fake embedder, and under a millisecond.
//!
//! Keyword rules are sets of words that must all appear; they make the common intents (and
//! every repair pattern, see [`repair`]) work with no model at all.

use crate::ast::{Flow, Intent};

mod ranker;
pub use ranker::Ranker;

/// Lowercased words, apostrophes dropped (`don't` -> `dont`), other punctuation splits.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c == '\'' || c == '\u{2019}' {
            continue;
        }
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// True when `phrase` (words) occurs contiguously in `ws`.
pub fn has_phrase(ws: &[String], phrase: &str) -> bool {
    let p = words(phrase);
    !p.is_empty() && ws.windows(p.len()).any(|w| w == p.as_slice())
}

/// Word match allowing a plural/verb `s` and `ing`/`ed` endings (book ~ booking ~ booked).
fn word_match(rule: &str, w: &str) -> bool {
    w == rule
        || w.strip_suffix('s') == Some(rule)
        || w.strip_suffix("ing") == Some(rule)
        || w.strip_suffix("ed") == Some(rule)
        || w.strip_suffix("ing").is_some_and(|s| rule.strip_suffix('e') == Some(s))
}

/// Cosine similarity (0 for empty or zero vectors).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na.sqrt() * nb.sqrt()) }
}

/// Example-phrase embeddings per intent (computed outside the machine).
#[derive(Debug, Clone, Default)]
pub struct IntentIndex {
    pub(crate) vectors: Vec<(String, Vec<Vec<f32>>)>,
    /// Decides which intent once the best cosine passes the threshold, and with `intent_floor`
    /// whether an utterance under it is an intent (trained on the same vectors).
    pub(crate) ranker: Option<Ranker>,
}

impl IntentIndex {
    /// Builds the index from precomputed vectors: `(intent, one vector per example)`, and
    /// trains the ranker on them.
    pub fn from_vectors(vectors: Vec<(String, Vec<Vec<f32>>)>) -> Self {
        Self::with_other(vectors, &[])
    }

    /// As [`IntentIndex::from_vectors`], the ranker also learning `other`: vectors of texts
    /// that are no intent (the knowledge base's questions, examples and out-of-scope list).
    pub fn with_other(vectors: Vec<(String, Vec<Vec<f32>>)>, other: &[Vec<f32>]) -> Self {
        let ranker = Ranker::train(&vectors, other);
        IntentIndex { vectors, ranker }
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }
}

/// How an intent was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Keyword,
    Embedding,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntentMatch {
    pub name: String,
    pub confidence: f32,
    pub source: Source,
}

/// Result of classifying one utterance against a set of allowed intents.
#[derive(Debug, Clone, PartialEq)]
pub enum Classified {
    Match(IntentMatch),
    /// Two intents are close: ask which one was meant.
    Ambiguous(IntentMatch, IntentMatch),
    NoMatch {
        best: Option<IntentMatch>,
    },
}

/// Confidence given to a keyword-rule hit.
pub const KEYWORD_CONFIDENCE: f32 = 0.9;

/// Distinct rule words covered by the intent's matching rules (`None` when no rule matches).
fn keyword_score(intent: &Intent, ws: &[String]) -> Option<usize> {
    let mut covered: Vec<&str> = Vec::new();
    for rule in intent.keywords.iter().filter(|rule| rule.iter().all(|r| ws.iter().any(|w| word_match(r, w))))
    {
        for r in rule {
            if !covered.contains(&r.as_str()) {
                covered.push(r);
            }
        }
    }
    if covered.is_empty() { None } else { Some(covered.len()) }
}

/// Classifies `text` (with its embedding, if a model is configured) among `allowed` intents.
pub fn classify(
    flow: &Flow,
    index: &IntentIndex,
    allowed: &[&str],
    text: &str,
    emb: Option<&[f32]>,
) -> Classified {
    let ws = words(text);
    let s = &flow.settings;
    // Keyword rules: the intent whose matching rules cover most words wins; a tie is ambiguous.
    let mut kw: Vec<(usize, &str)> = allowed
        .iter()
        .filter_map(|name| flow.intents.get(*name).and_then(|i| keyword_score(i, &ws)).map(|n| (n, *name)))
        .collect();
    kw.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let km = |name: &str| IntentMatch {
        name: name.to_owned(),
        confidence: KEYWORD_CONFIDENCE,
        source: Source::Keyword,
    };
    // Rules of several intents match ("I booked for the 12th but need to move it"): the
    // embedding model, when there is one, decides among them; else the most words covered.
    if kw.len() > 1
        && let Some(e) = emb
        && !index.is_empty()
    {
        let hit: Vec<&str> = kw.iter().map(|(_, name)| *name).collect();
        // The ranker only when it knows every intent hit (a keyword-only intent has no vectors).
        let scored: Vec<(String, f32)> = match &index.ranker {
            Some(r) if hit.iter().all(|h| r.knows(h)) => r.rank(&hit, e),
            _ => embedding_scores(index, &hit, e).into_iter().map(|m| (m.name, m.confidence)).collect(),
        };
        match scored.as_slice() {
            [(a, pa), (b, pb), ..] if pa - pb < s.clarify_margin => {
                return Classified::Ambiguous(km(a), km(b));
            }
            [(a, _), ..] => return Classified::Match(km(a)),
            [] => {}
        }
    }
    match kw.as_slice() {
        [(n1, a), (n2, b), ..] if n1 == n2 => return Classified::Ambiguous(km(a), km(b)),
        [(_, a), ..] => return Classified::Match(km(a)),
        [] => {}
    }
    let Some(e) = emb else { return Classified::NoMatch { best: None } };
    let scored = embedding_scores(index, allowed, e);
    let Some(top) = scored.first() else { return Classified::NoMatch { best: None } };
    let passed = top.confidence >= s.intent_threshold;
    // Under the threshold, `intent_floor` lets an intent in when the ranker, which also learnt
    // the knowledge base's questions as "other", finds an intent likelier than "other".
    let floored = !passed
        && s.intent_floor.is_some_and(|f| top.confidence >= f)
        && index.ranker.as_ref().is_some_and(|r| r.intent_beats_other(allowed, e));
    if !passed && !floored {
        return Classified::NoMatch { best: Some(top.clone()) };
    }
    // Which intent: the ranker's choice when there is one, else the nearest example's. The
    // confidence is the cosine that passed the gate.
    let at = |name: &str| IntentMatch {
        name: name.to_owned(),
        confidence: top.confidence,
        source: Source::Embedding,
    };
    if let Some(r) = &index.ranker {
        match r.rank(allowed, e).as_slice() {
            [(a, pa), (b, pb), ..] if pa - pb < s.clarify_margin => {
                return Classified::Ambiguous(at(a), at(b));
            }
            [(a, _), ..] => return Classified::Match(at(a)),
            [] => {}
        }
    }
    match scored.get(1) {
        Some(b) if b.confidence >= s.intent_threshold && top.confidence - b.confidence < s.clarify_margin => {
            Classified::Ambiguous(top.clone(), b.clone())
        }
        _ => Classified::Match(top.clone()),
    }
}

/// The best example cosine of each `allowed` intent, best first (ties by name).
pub fn embedding_scores(index: &IntentIndex, allowed: &[&str], e: &[f32]) -> Vec<IntentMatch> {
    let mut scored: Vec<IntentMatch> = index
        .vectors
        .iter()
        .filter(|(name, _)| allowed.contains(&name.as_str()))
        .map(|(name, vs)| {
            let best = vs.iter().map(|v| cosine(e, v)).fold(f32::MIN, f32::max);
            IntentMatch { name: name.clone(), confidence: best, source: Source::Embedding }
        })
        .collect();
    scored.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.name.cmp(&b.name)));
    scored
}

/// Repair patterns recognised on every listening turn (Rasa CALM's patterns, CX event handlers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    OptOut,
    AreYouHuman,
    Human,
    Repeat,
    Back,
    Help,
    Goodbye,
}

impl Repair {
    pub fn name(self) -> &'static str {
        match self {
            Repair::OptOut => "opt_out",
            Repair::AreYouHuman => "are_you_human",
            Repair::Human => "human",
            Repair::Repeat => "repeat",
            Repair::Back => "go_back",
            Repair::Help => "help",
            Repair::Goodbye => "goodbye",
        }
    }
}

const OPT_OUT: &[&str] = &[
    "stop calling",
    "dont call",
    "do not call",
    "remove me",
    "take me off",
    "unsubscribe",
    "never call",
    "no more calls",
    "put me on the do not call",
];
const ARE_YOU_HUMAN: &[&str] = &[
    "real person",
    "are you human",
    "are you a human",
    "are you a robot",
    "are you a bot",
    "are you a machine",
    "is this a robot",
    "is this a machine",
    "is this a recording",
    "am i talking to a computer",
    "am i talking to a robot",
    "are you real",
    "are you a computer",
    "are you ai",
    "are you an ai",
];
const HUMAN: &[&str] = &[
    "speak to a person",
    "talk to a person",
    "speak to someone",
    "talk to someone",
    "speak with someone",
    "speak with a person",
    "talk to a human",
    "speak to a human",
    "speak to an agent",
    "talk to an agent",
    "representative",
    "operator",
    "receptionist",
    "live person",
    "real human",
    "speak to somebody",
    "talk to somebody",
    "transfer me",
    "connect me",
    "a person",
    "a human",
    "person please",
    "someone please",
];
const REPEAT: &[&str] =
    &["repeat", "say that again", "come again", "pardon", "what did you say", "say again"];
const BACK: &[&str] = &["go back", "back up", "previous question", "undo"];
const HELP: &[&str] =
    &["what can i say", "what are my options", "i need help", "what can you do", "how does this work"];
const GOODBYE: &[&str] =
    &["goodbye", "bye", "thats all", "that is all", "nothing else", "hang up", "thats it thanks"];

/// The repair pattern `text` expresses, if any. Opt-out is checked first (it must work on
/// every turn); "are you a real person" before "a person" so it is answered, not transferred.
pub fn repair(text: &str) -> Option<Repair> {
    let ws = words(text);
    let any = |list: &[&str]| list.iter().any(|p| has_phrase(&ws, p));
    if any(OPT_OUT) {
        Some(Repair::OptOut)
    } else if any(ARE_YOU_HUMAN) {
        Some(Repair::AreYouHuman)
    } else if any(HUMAN) {
        Some(Repair::Human)
    } else if any(REPEAT) {
        Some(Repair::Repeat)
    } else if any(BACK) {
        Some(Repair::Back)
    } else if ws == ["help"] || ws == ["help", "me"] || any(HELP) {
        Some(Repair::Help)
    } else if ws.len() <= 4 && any(GOODBYE) {
        Some(Repair::Goodbye)
    } else {
        None
    }
}

/// Repair by keypad: `0` a person, `*` repeat.
pub fn repair_dtmf(digit: char) -> Option<Repair> {
    match digit {
        '0' => Some(Repair::Human),
        '*' => Some(Repair::Repeat),
        _ => None,
    }
}

/// Hand-made embedding vectors for tests.
#[cfg(test)]
pub(crate) mod test_vectors {
    /// A unit vector from its first components (the rest zero), in 16 dimensions.
    pub(crate) fn unit(parts: &[f32]) -> Vec<f32> {
        let mut v = [0.0f32; 16];
        v[..parts.len()].copy_from_slice(parts);
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_by_keyword() {
        assert_eq!(repair("Please stop calling me!"), Some(Repair::OptOut));
        assert_eq!(repair("am I talking to a real person?"), Some(Repair::AreYouHuman));
        assert_eq!(repair("can I speak to a person"), Some(Repair::Human));
        assert_eq!(repair("sorry, can you repeat that"), Some(Repair::Repeat));
        assert_eq!(repair("help"), Some(Repair::Help));
        assert_eq!(repair("ok bye"), Some(Repair::Goodbye));
        assert_eq!(repair("I'd like to book an appointment"), None);
        // "help me book" is a request, not a call for help.
        assert_eq!(repair("can you help me book a visit next week"), None);
    }

    #[test]
    fn words_and_stems() {
        assert_eq!(words("Don't, I'm OK."), vec!["dont", "im", "ok"]);
        assert!(word_match("book", "booking"));
        assert!(word_match("schedule", "scheduling"));
        assert!(!word_match("book", "bookshelf"));
    }

    /// A flow with `book` and `change` at a menu and the given settings.
    fn flow(settings: &str) -> Flow {
        crate::parse::parse_flow(&format!(
            "flow: t\nbusiness: B\nstart: menu\nknowledge: kb.yaml\nsettings: {{{settings}}}\nintents:\n  book: {{examples: [a]}}\n  change: {{examples: [b]}}\nnodes:\n  menu:\n    menu: {{prompt: Hi, no_input: Hi?, no_match: Say book.}}\n    routes:\n      - {{intent: book, goto: bye}}\n      - {{intent: change, goto: bye}}\n  bye:\n    say: Bye.\n    hangup: true\n"
        ))
        .unwrap()
    }

    use super::test_vectors::unit;

    /// `book` and `change` share a topic (axis 0) and differ by a cue (axis 1); the other
    /// texts (a knowledge base's questions) are about something else (axis 5).
    fn index(with_other: bool) -> IntentIndex {
        let book = (0..6).map(|i| unit(&[1.0, 0.3, 0.05 * i as f32])).collect();
        let change = (0..6).map(|i| unit(&[1.0, -0.3, 0.0, 0.05 * i as f32])).collect();
        let other: Vec<Vec<f32>> =
            (0..8).map(|i| unit(&[0.3, 0.0, 0.0, 0.0, 0.0, 1.0, 0.05 * i as f32])).collect();
        let vectors = vec![("book".to_owned(), book), ("change".to_owned(), change)];
        IntentIndex::with_other(vectors, if with_other { &other } else { &[] })
    }

    #[test]
    fn intent_floor_lets_in_what_the_ranker_finds_likelier_than_other_texts() {
        let allowed = ["book", "change"];
        let best = |idx: &IntentIndex, q: &[f32]| embedding_scores(idx, &allowed, q)[0].confidence;
        // On the book side, with some of the other texts' axis: under the threshold.
        let q = unit(&[1.0, 0.25, 0.0, 0.0, 0.0, 0.6]);
        let cos = best(&index(true), &q);
        assert!((0.5..0.95).contains(&cos), "premise: {cos}");
        let floored = flow("intent_threshold: 0.95, clarify_margin: 0.05, intent_floor: 0.5");
        match classify(&floored, &index(true), &allowed, "x", Some(&q)) {
            Classified::Match(m) => {
                assert_eq!(m.name, "book");
                assert!((m.confidence - cos).abs() < 1e-6, "the gate's cosine: {m:?}");
            }
            other => panic!("{other:?}"),
        }
        // No floor, or a ranker that never saw other texts: a no-match, as before.
        let plain = flow("intent_threshold: 0.95, clarify_margin: 0.05");
        assert!(matches!(
            classify(&plain, &index(true), &allowed, "x", Some(&q)),
            Classified::NoMatch { .. }
        ));
        assert!(matches!(
            classify(&floored, &index(false), &allowed, "x", Some(&q)),
            Classified::NoMatch { .. }
        ));
        // Above the floor but nearer the other texts: still a no-match.
        let q2 = unit(&[0.6, 0.0, 0.0, 0.0, 0.0, 1.0]);
        assert!(best(&index(true), &q2) >= 0.3);
        let low = flow("intent_threshold: 0.95, clarify_margin: 0.05, intent_floor: 0.3");
        assert!(matches!(classify(&low, &index(true), &allowed, "x", Some(&q2)), Classified::NoMatch { .. }));
        // Above the threshold the ranker picks the intent, and close probabilities are asked.
        let q3 = unit(&[1.0, -0.2]);
        let sure = flow("intent_threshold: 0.5, clarify_margin: 0.05");
        assert!(
            matches!(classify(&sure, &index(true), &allowed, "x", Some(&q3)), Classified::Match(m) if m.name == "change")
        );
        let middle = unit(&[1.0, 0.0]);
        assert!(matches!(
            classify(&sure, &index(true), &allowed, "x", Some(&middle)),
            Classified::Ambiguous(..)
        ));
    }

    #[test]
    fn intent_floor_needs_a_knowledge_base() {
        let src = "flow: t\nbusiness: B\nstart: bye\nsettings: {intent_threshold: 0.5, intent_floor: 0.3}\nnodes:\n  bye:\n    say: Bye.\n    hangup: true\n";
        let e = crate::parse::parse_flow(src).unwrap_err();
        assert!(e.iter().any(|d| d.message.contains("intent_floor needs a knowledge base")), "{e:?}");
        let with_kb = src.replace("start: bye\n", "start: bye\nknowledge: kb.yaml\n");
        assert!(crate::parse::parse_flow(&with_kb).is_ok());
    }

    #[test]
    fn intent_floor_must_be_below_intent_threshold() {
        let src = "flow: t\nbusiness: B\nstart: bye\nknowledge: kb.yaml\nsettings: {intent_threshold: 0.5, intent_floor: 0.5}\nnodes:\n  bye:\n    say: Bye.\n    hangup: true\n";
        let e = crate::parse::parse_flow(src).unwrap_err();
        assert!(
            e.iter().any(|d| d.message.contains("intent_floor (0.5) must be below intent_threshold (0.5)")),
            "{e:?}"
        );
    }

    #[test]
    fn cosine_basics() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
        assert_eq!(cosine(&[], &[]), 0.0);
    }
}
