//! Knowledge base for `faq`: entries (id, question, answer, optional author-written `examples:`
//! phrasings and keyword rules) loaded from YAML, and retrieval that either finds one entry or
//! finds none. Below the threshold, or when two entries are too close to call, there is no
//! answer: the machine says it does not know and offers a person. Answers are spoken verbatim;
//! nothing is made up.
//!
//! With an embedding model, each entry is indexed by the vectors of its question, its examples
//! and its answer ([`KbIndex::build`]). An utterance's score for an entry combines
//! - the best cosine over the question and examples,
//! - the cosine to the answer (an answer often names what a caller asks about: "garage",
//!   "subway", "interpreters"),
//! - a lexical score: the IDF-weighted share of the caller's content words found in the entry's
//!   text (words that appear in no entry at all count against every entry, which is what keeps
//!   "do you do dental cleanings" from landing on a neighbouring entry), and
//! - a small bonus when one of the entry's keyword rules matches.
//!
//! The best entry must reach the threshold, lead the runner-up by [`Scoring::margin`], and its
//! best question/example cosine must beat every `out_of_scope:` question of the KB (the
//! author's list of things the business does not answer, like Dialogflow's negative examples)
//! by [`Scoring::negative`]. The
//! weights and the threshold were chosen on the dev split of `eval/faq/questions.tsv` and are
//! reported on its test split (`cargo run -p frontdesk-flow --example faq_eval`; figures in
//! `docs/performance.md`).
//!
//! Without a model, keyword rules answer (score [`crate::intents::KEYWORD_CONFIDENCE`]), else
//! the lexical score alone.

mod lexicon;

use frontdesk_engines::Embedder;
use lexicon::{Lexicon, stem};
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
    /// Other ways callers ask this question, written by the KB's author (embedded with the
    /// question; never spoken).
    pub examples: Vec<String>,
    /// Each rule: words that must all appear.
    pub keywords: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kb {
    pub entries: Vec<Entry>,
    /// Questions the business does not answer (`out_of_scope:`, author-written, like
    /// Dialogflow's negative examples): an utterance closer to one of these than to every
    /// entry's question and examples gets no answer.
    pub out_of_scope: Vec<String>,
    /// Word statistics over `entries`, built on the first query (entries are fixed once parsed).
    lexicon: std::sync::OnceLock<Lexicon>,
}

/// Per-entry embeddings (computed outside the machine): question and examples, and answer.
#[derive(Debug, Clone, Default)]
pub struct KbIndex {
    /// For each entry in order: the question and example vectors.
    pub(crate) asks: Vec<Vec<Vec<f32>>>,
    /// For each entry in order: the answer vector (empty when not embedded).
    pub(crate) answers: Vec<Vec<f32>>,
    /// The mean of every question, example and answer vector (empty: no centering). Cosines
    /// are taken after subtracting it from both sides, which spreads MiniLM's crowded cone.
    pub(crate) center: Vec<f32>,
    /// The `out_of_scope:` vectors (centred like the rest).
    pub(crate) negatives: Vec<Vec<f32>>,
}

impl KbIndex {
    /// One question vector per entry, in entry order (no examples, no answers).
    pub fn from_vectors(vectors: Vec<Vec<f32>>) -> Self {
        let answers = vec![Vec::new(); vectors.len()];
        KbIndex {
            asks: vectors.into_iter().map(|v| vec![v]).collect(),
            answers,
            center: Vec::new(),
            negatives: Vec::new(),
        }
    }

    /// Embeds every entry's question, examples and answer with `model` (one batch per entry),
    /// and the out-of-scope questions (one batch).
    ///
    /// # Errors
    /// The model's error.
    pub fn build(kb: &Kb, model: &dyn Embedder) -> Result<Self, frontdesk_engines::EngineError> {
        let mut idx = KbIndex::default();
        for e in &kb.entries {
            let mut texts: Vec<&str> = vec![e.question.as_str()];
            texts.extend(e.examples.iter().map(String::as_str));
            texts.push(e.answer.as_str());
            let mut vs = model.embed(&texts)?;
            let answer = vs.pop().unwrap_or_default();
            idx.asks.push(vs);
            idx.answers.push(answer);
        }
        let all: Vec<&Vec<f32>> = idx.asks.iter().flatten().chain(&idx.answers).collect();
        if let Some(dim) = all.first().map(|v| v.len())
            && all.iter().all(|v| v.len() == dim)
        {
            let mut c = vec![0.0f32; dim];
            for v in &all {
                c.iter_mut().zip(v.iter()).for_each(|(c, x)| *c += x / all.len() as f32);
            }
            let sub = |v: &mut Vec<f32>| v.iter_mut().zip(&c).for_each(|(x, c)| *x -= c);
            idx.asks.iter_mut().flatten().for_each(sub);
            idx.answers.iter_mut().for_each(sub);
            idx.center = c;
        }
        if !kb.out_of_scope.is_empty() {
            let texts: Vec<&str> = kb.out_of_scope.iter().map(String::as_str).collect();
            idx.negatives = model.embed(&texts)?;
            if !idx.center.is_empty() {
                for v in &mut idx.negatives {
                    v.iter_mut().zip(&idx.center).for_each(|(x, c)| *x -= c);
                }
            }
        }
        Ok(idx)
    }

    /// The same index with the center added back and dropped (raw cosines; for evaluation).
    #[must_use]
    pub fn without_centering(mut self) -> Self {
        let c = std::mem::take(&mut self.center);
        if !c.is_empty() {
            let add = |v: &mut Vec<f32>| v.iter_mut().zip(&c).for_each(|(x, c)| *x += c);
            self.asks.iter_mut().flatten().for_each(add);
            self.answers.iter_mut().for_each(add);
            self.negatives.iter_mut().for_each(add);
        }
        self
    }

    /// Every question, example and out-of-scope vector as the model gave it (center added
    /// back): the texts that are no intent, for the intent ranker.
    #[must_use]
    pub fn raw_asks_and_negatives(&self) -> Vec<Vec<f32>> {
        let add = |v: &Vec<f32>| -> Vec<f32> {
            if self.center.len() == v.len() {
                v.iter().zip(&self.center).map(|(x, c)| x + c).collect()
            } else {
                v.clone()
            }
        };
        self.asks.iter().flatten().chain(&self.negatives).map(add).collect()
    }

    /// `e` with the index's center subtracted (unchanged without centering).
    fn centered(&self, e: &[f32]) -> Vec<f32> {
        if self.center.len() == e.len() {
            e.iter().zip(&self.center).map(|(x, c)| x - c).collect()
        } else {
            e.to_vec()
        }
    }

    fn fits(&self, kb: &Kb) -> bool {
        self.asks.len() == kb.entries.len() && self.answers.len() == kb.entries.len()
    }
}

/// How the parts of an entry's score are weighted; see the module doc.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scoring {
    /// Weight of the best question/example cosine.
    pub ask: f32,
    /// Weight of the answer cosine.
    pub answer: f32,
    /// Weight of the lexical score (0..1).
    pub lexical: f32,
    /// Added when a keyword rule of the entry matches.
    pub keyword: f32,
    /// The best entry must lead the second by at least this much.
    pub margin: f32,
    /// Share of the second-best question/example cosine in the ask part (0: the best alone).
    pub second: f32,
    /// The best entry's best question/example cosine must beat the nearest out-of-scope
    /// question's cosine by this much.
    pub negative: f32,
}

impl Default for Scoring {
    /// Chosen on the dev split of `eval/faq/questions.tsv`.
    fn default() -> Self {
        Scoring {
            ask: 0.75,
            answer: 0.1,
            lexical: 0.15,
            keyword: 0.05,
            margin: 0.06,
            second: 0.0,
            negative: 0.08,
        }
    }
}

/// A retrieved entry and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<'a> {
    pub entry: &'a Entry,
    pub score: f32,
    /// The best cosine between the utterance and the entry's question or examples (0 without
    /// an embedding).
    pub ask: f32,
}

impl Kb {
    /// Parses a KB file (`entries:` list, optional `out_of_scope:` list of questions; other
    /// top-level keys are allowed and ignored).
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
        let mut out_of_scope = Vec::new();
        if let Some(root) = docs.first()
            && let Some(top) = map(&mut cx, root, "the knowledge base", &[])
        {
            if let Some(list) = get(&top, "out_of_scope") {
                out_of_scope = strings(&mut cx, list, "out_of_scope").into_iter().map(|s| s.value).collect();
            }
            match get(&top, "entries") {
                None => cx.err(pos(root), "missing", "the knowledge base needs `entries:`", ""),
                Some(list) => {
                    for item in seq(&mut cx, list, "entries") {
                        let Some(e) = map(
                            &mut cx,
                            item,
                            "an entry",
                            &["id", "question", "answer", "examples", "keywords"],
                        ) else {
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
                        let list = |cx: &mut Ctx, k: &str| {
                            get(&e, k)
                                .map(|y| strings(cx, y, k))
                                .unwrap_or_default()
                                .into_iter()
                                .map(|s| s.value)
                        };
                        let examples = list(&mut cx, "examples").collect();
                        let keywords = list(&mut cx, "keywords").map(|s| words(&s)).collect();
                        if let (Some(id), Some(question), Some(answer)) = (id, q, a) {
                            entries.push(Entry { id, question, answer, examples, keywords });
                        }
                    }
                }
            }
        }
        if cx.diags.is_empty() {
            Ok(Kb { entries, out_of_scope, lexicon: std::sync::OnceLock::new() })
        } else {
            Err(cx.diags)
        }
    }

    /// Every entry with its score for `text`, best first (see the module doc). Without a
    /// usable embedding the score is the keyword confidence for a keyword hit, else the
    /// lexical score.
    pub fn rank<'a>(&'a self, index: &KbIndex, text: &str, emb: Option<&[f32]>, s: &Scoring) -> Vec<Hit<'a>> {
        let ws: Vec<String> = words(text).iter().map(|w| stem(w).to_owned()).collect();
        let lexicon = self.lexicon.get_or_init(|| Lexicon::new(self));
        let lex = lexicon.scores(&lexicon.terms(text));
        // Length of the longest matching keyword rule (0: none); the more specific rule wins.
        let kw = |e: &Entry| {
            e.keywords
                .iter()
                .filter(|r| r.iter().all(|k| ws.iter().any(|w| w == stem(k))))
                .map(Vec::len)
                .max()
        };
        let centered: Option<Vec<f32>> = emb.filter(|_| index.fits(self)).map(|e| index.centered(e));
        let emb = centered.as_deref();
        let mut hits: Vec<(Hit<'a>, usize)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let l = lex.get(i).copied().unwrap_or(0.0);
                let k = kw(entry).unwrap_or(0);
                let mut best_ask = 0.0;
                let score = match emb {
                    Some(e) => {
                        let (mut first, mut second) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
                        for v in &index.asks[i] {
                            let c = cosine(e, v);
                            if c > first {
                                (first, second) = (c, first);
                            } else if c > second {
                                second = c;
                            }
                        }
                        let first = if first.is_finite() { first } else { 0.0 };
                        best_ask = first;
                        let second = if second.is_finite() { second } else { first };
                        let ask = (1.0 - s.second) * first + s.second * second;
                        let ans = cosine(e, &index.answers[i]);
                        let bonus = if k > 0 { s.keyword } else { 0.0 };
                        s.ask * ask + s.answer * ans + s.lexical * l + bonus
                    }
                    // Without a model a keyword rule outranks any word overlap.
                    None if k > 0 => crate::intents::KEYWORD_CONFIDENCE,
                    None => l.min(crate::intents::KEYWORD_CONFIDENCE - 0.01),
                };
                (Hit { entry, score, ask: best_ask }, k)
            })
            .collect();
        hits.sort_by(|a, b| b.0.score.total_cmp(&a.0.score).then(b.1.cmp(&a.1)));
        hits.into_iter().map(|(h, _)| h).collect()
    }

    /// The entry that answers `text`, or `None` below `threshold` or within the margin of the
    /// runner-up (default [`Scoring`]).
    pub fn answer<'a>(
        &'a self,
        index: &KbIndex,
        text: &str,
        emb: Option<&[f32]>,
        threshold: f32,
    ) -> Option<Hit<'a>> {
        self.answer_with(index, text, emb, threshold, &Scoring::default())
    }

    /// [`Kb::answer`] with explicit weights (for evaluation).
    pub fn answer_with<'a>(
        &'a self,
        index: &KbIndex,
        text: &str,
        emb: Option<&[f32]>,
        threshold: f32,
        s: &Scoring,
    ) -> Option<Hit<'a>> {
        let mut r = self.rank(index, text, emb, s).into_iter();
        let best = r.next()?;
        let second = r.next().map_or(0.0, |h| h.score);
        // The margin is a rule of embedding scores; keyword rules decide without a model.
        let embedded = emb.filter(|_| index.fits(self));
        let margin = if embedded.is_some() { s.margin } else { 0.0 };
        // Nearer to a question the business does not answer than to any of the entry's own.
        let negative = embedded.is_some_and(|e| {
            let e = index.centered(e);
            index.negatives.iter().any(|v| cosine(&e, v) + s.negative > best.ask)
        });
        (best.score >= threshold && best.score - second >= margin && !negative).then_some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KB: &str = "business: {legal_name: X}\nentries:\n  - id: hours\n    question: What are your opening hours?\n    answer: Nine to five.\n    keywords: [open, hours]\n  - id: parking\n    question: Is there parking at the clinic?\n    examples: [where do I leave my car]\n    answer: Free garage.\n";

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
        assert_eq!(kb.entries[1].examples, vec!["where do I leave my car".to_owned()]);
        assert!(kb.answer(&idx, "do you sell pizza", None, 0.6).is_none());
    }

    #[test]
    fn embedding_retrieval_respects_threshold() {
        let kb = Kb::parse(KB).unwrap();
        let idx = KbIndex::from_vectors(vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
        let h = kb.answer(&idx, "zzz", Some(&[0.1, 0.9]), 0.5).unwrap();
        assert_eq!(h.entry.id, "parking");
        assert!(kb.answer(&idx, "zzz", Some(&[0.7, 0.7]), 0.6).is_none());
    }

    #[test]
    fn margin_refuses_a_tie() {
        let kb = Kb::parse(KB).unwrap();
        let idx = KbIndex::from_vectors(vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
        let s = Scoring { margin: 0.05, ..Scoring::default() };
        assert!(kb.answer_with(&idx, "zzz", Some(&[0.7, 0.7]), 0.1, &s).is_none());
        assert!(kb.answer_with(&idx, "zzz", Some(&[0.2, 0.9]), 0.1, &s).is_some());
    }

    #[test]
    fn out_of_scope_questions_are_parsed_and_veto_a_nearer_answer() {
        let kb = Kb::parse(&format!("{KB}out_of_scope: [do you sell pizza, can you call a taxi]\n")).unwrap();
        assert_eq!(kb.out_of_scope, ["do you sell pizza", "can you call a taxi"]);
        let mut idx = KbIndex::from_vectors(vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]]);
        idx.negatives = vec![vec![0.0, 0.6, 0.8]];
        // Nearer the parking entry than the negative: answered.
        assert_eq!(
            kb.answer(&idx, "zzz", Some(&[0.0, 1.0, 0.1]), 0.1).map(|h| h.entry.id.as_str()),
            Some("parking")
        );
        // Nearer the negative: no answer, though parking still ranks first.
        assert!(kb.answer(&idx, "zzz", Some(&[0.0, 0.7, 0.7]), 0.1).is_none());
        assert!(Kb::parse(&format!("{KB}out_of_scope: {{a: b}}\n")).is_err());
    }

    #[test]
    fn bad_kb_reports_position() {
        let e = Kb::parse("entries:\n  - id: x\n    answer: y\n").unwrap_err();
        assert_eq!(e[0].pos.line, 2);
        assert!(e[0].message.contains("question"));
    }
}

#[cfg(test)]
mod clinic_tests {
    use super::*;

    #[test]
    fn clinic_kb_without_a_model() {
        let kb = Kb::parse(include_str!("../../../flows/clinic-kb.yaml")).unwrap();
        let idx = KbIndex::default();
        let r = kb.rank(&idx, "what are your opening hours", None, &Scoring::default());
        let top: Vec<(&str, f32)> = r.iter().take(3).map(|h| (h.entry.id.as_str(), h.score)).collect();
        assert_eq!(top[0].0, "hours", "{top:?}");
    }
}

#[cfg(test)]
mod model_tests;
