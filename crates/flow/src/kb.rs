//! Knowledge base for `faq`: entries (id, question, answer, optional keyword rules) loaded
//! from YAML; retrieval by embedding similarity to the question, with keyword rules and word
//! overlap when no model is configured. Below the threshold there is no answer: the machine
//! says it does not know and offers a person. Answers are spoken verbatim; nothing is made up.

use saphyr::{LoadableYamlNode as _, MarkedYaml};

use crate::ast::Pos;
use crate::diag::Diagnostic;
use crate::intents::{cosine, words};
use crate::parse::yaml::{Ctx, get, map, pos, seq, string, strings};

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub question: String,
    pub answer: String,
    /// Each rule: words that must all appear.
    pub keywords: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kb {
    pub entries: Vec<Entry>,
}

/// Question embeddings, one per entry, in entry order (computed outside the machine).
#[derive(Debug, Clone, Default)]
pub struct KbIndex {
    pub(crate) vectors: Vec<Vec<f32>>,
}

impl KbIndex {
    pub fn from_vectors(vectors: Vec<Vec<f32>>) -> Self {
        KbIndex { vectors }
    }
}

/// A retrieved entry and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<'a> {
    pub entry: &'a Entry,
    pub score: f32,
}

const STOP: &[&str] = &[
    "a", "an", "the", "is", "are", "am", "do", "does", "did", "you", "your", "i", "me", "my", "we", "our",
    "to", "of", "in", "on", "at", "for", "and", "or", "what", "how", "can", "could", "there", "it", "its",
    "be", "have", "has", "with", "that", "this", "if", "any", "get", "about", "please", "tell", "know",
    "want", "like", "would", "from", "when", "where", "which", "who", "much", "so", "some", "us",
];

fn stem(w: &str) -> &str {
    for suf in ["ing", "es", "s"] {
        if let Some(s) = w.strip_suffix(suf)
            && s.len() >= 3
        {
            return s;
        }
    }
    w
}

fn content(text: &str) -> Vec<String> {
    words(text).into_iter().filter(|w| !STOP.contains(&w.as_str())).map(|w| stem(&w).to_owned()).collect()
}

impl Kb {
    /// Parses a KB file (`entries:` list; other top-level keys are allowed and ignored).
    pub fn parse(src: &str) -> Result<Kb, Vec<Diagnostic>> {
        let docs = MarkedYaml::load_from_str(src).map_err(|e| {
            let m = e.marker();
            vec![Diagnostic::new(
                Pos { line: m.line(), col: m.col() + 1 },
                "yaml",
                format!("bad YAML: {}", e.info()),
                "",
            )]
        })?;
        let mut cx = Ctx::default();
        let mut entries = Vec::new();
        if let Some(root) = docs.first()
            && let Some(top) = map(&mut cx, root, "the knowledge base", &[])
        {
            match get(&top, "entries") {
                None => cx.err(pos(root), "missing", "the knowledge base needs `entries:`", ""),
                Some(list) => {
                    for item in seq(&mut cx, list, "entries") {
                        let Some(e) =
                            map(&mut cx, item, "an entry", &["id", "question", "answer", "keywords"])
                        else {
                            continue;
                        };
                        let field = |cx: &mut Ctx, k: &str| match get(&e, k) {
                            Some(y) => string(cx, y, k).map(|s| s.value),
                            None => {
                                cx.err(pos(item), "missing", format!("entry needs `{k}:`"), "");
                                None
                            }
                        };
                        let (id, q, a) =
                            (field(&mut cx, "id"), field(&mut cx, "question"), field(&mut cx, "answer"));
                        let keywords = get(&e, "keywords")
                            .map(|y| strings(&mut cx, y, "keywords"))
                            .unwrap_or_default()
                            .into_iter()
                            .map(|s| words(&s.value))
                            .collect();
                        if let (Some(id), Some(question), Some(answer)) = (id, q, a) {
                            entries.push(Entry { id, question, answer, keywords });
                        }
                    }
                }
            }
        }
        if cx.diags.is_empty() { Ok(Kb { entries }) } else { Err(cx.diags) }
    }

    /// The best entry for `text`: a keyword rule (score 0.9), else embedding similarity when
    /// `emb` and `index` are given, else the share of the entry question's content words the
    /// caller said. `None` below `threshold`.
    pub fn answer<'a>(
        &'a self,
        index: &KbIndex,
        text: &str,
        emb: Option<&[f32]>,
        threshold: f32,
    ) -> Option<Hit<'a>> {
        let ws: Vec<String> = words(text).iter().map(|w| stem(w).to_owned()).collect();
        let kw = self
            .entries
            .iter()
            .filter_map(|e| {
                let n = e
                    .keywords
                    .iter()
                    .filter(|r| r.iter().all(|k| ws.iter().any(|w| w == stem(k))))
                    .map(Vec::len)
                    .max()?;
                Some((n, e))
            })
            .max_by_key(|(n, _)| *n);
        if let Some((_, entry)) = kw {
            return Some(Hit { entry, score: crate::intents::KEYWORD_CONFIDENCE });
        }
        let best = match emb {
            Some(e) if index.vectors.len() == self.entries.len() => self
                .entries
                .iter()
                .zip(&index.vectors)
                .map(|(entry, v)| Hit { entry, score: cosine(e, v) })
                .max_by(|a, b| a.score.total_cmp(&b.score)),
            _ => {
                let said = content(text);
                self.entries
                    .iter()
                    .map(|entry| {
                        let q = content(&entry.question);
                        let hit = q.iter().filter(|w| said.contains(w)).count();
                        let score = if q.is_empty() || said.is_empty() {
                            0.0
                        } else {
                            hit as f32 / q.len().max(said.len()) as f32
                        };
                        Hit { entry, score }
                    })
                    .max_by(|a, b| a.score.total_cmp(&b.score))
            }
        };
        best.filter(|h| h.score >= threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KB: &str = "business: {legal_name: X}\nentries:\n  - id: hours\n    question: What are your opening hours?\n    answer: Nine to five.\n    keywords: [open, hours]\n  - id: parking\n    question: Is there parking at the clinic?\n    answer: Free garage.\n";

    #[test]
    fn keyword_and_overlap_retrieval() {
        let kb = Kb::parse(KB).unwrap();
        let idx = KbIndex::default();
        assert_eq!(
            kb.answer(&idx, "when are you open, what hours", None, 0.6).map(|h| h.entry.id.as_str()),
            Some("hours")
        );
        assert_eq!(
            kb.answer(&idx, "is there parking at the clinic", None, 0.6).map(|h| h.entry.id.as_str()),
            Some("parking")
        );
        assert!(kb.answer(&idx, "do you sell pizza", None, 0.6).is_none());
    }

    #[test]
    fn embedding_retrieval_respects_threshold() {
        let kb = Kb::parse(KB).unwrap();
        let idx = KbIndex::from_vectors(vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
        let h = kb.answer(&idx, "zzz", Some(&[0.1, 0.9]), 0.6).unwrap();
        assert_eq!(h.entry.id, "parking");
        assert!(kb.answer(&idx, "zzz", Some(&[0.7, 0.7]), 0.8).is_none());
    }

    #[test]
    fn bad_kb_reports_position() {
        let e = Kb::parse("entries:\n  - id: x\n    answer: y\n").unwrap_err();
        assert_eq!(e[0].pos.line, 2);
        assert!(e[0].message.contains("question"));
    }
}
