//! The clinic flow with the real embedding model (all-MiniLM-L6-v2): paraphrases that no
//! keyword rule covers reach the right FAQ entry or intent, out-of-scope questions stay below
//! the threshold, and the keyword-based conversation tests still pass with the model on.
//! Skipped (with a message) when the model is not installed (`frontdesk models fetch`).

#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] functions")]

use std::path::PathBuf;
use std::sync::Arc;

use frontdesk_embed_minilm::MiniLm;
use frontdesk_engines::Embedder as _;
use frontdesk_flow::convo::{parse_now, step};
use frontdesk_flow::{Bundle, Event, FlowMachine};
use frontdesk_types::Instant;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn model() -> Option<MiniLm> {
    let dir = std::env::var_os("FRONTDESK_MODELS").map_or_else(|| root().join("models"), PathBuf::from);
    match MiniLm::load(&dir) {
        Ok(m) => Some(m),
        Err(e) => {
            eprintln!("skipping: MiniLM not available ({e})");
            None
        }
    }
}

/// Says `text` at the clinic's main menu; returns (faq id, intent, reply).
fn ask(m: &MiniLm, b: &Arc<Bundle>, text: &str) -> (Option<String>, Option<String>, String) {
    let wall = parse_now("2026-11-18T10:15", "America/New_York").unwrap();
    let mut fm = FlowMachine::new(b.clone(), wall);
    step(&mut fm, Instant::ZERO, Some(Event::Start)).unwrap();
    let emb = m.embed(&[frontdesk_flow::spoken::embedding_text(text).as_str()]).unwrap().into_iter().next();
    let ev = Event::Utterance { text: text.into(), confidence: 0.9, embedding: emb };
    let r = step(&mut fm, Instant::from_millis(2000), Some(ev)).unwrap();
    (fm.turn().faq_id.clone(), fm.turn().intent.as_ref().map(|i| i.name.clone()), r.say)
}

#[test]
fn paraphrases_and_out_of_scope_with_the_model() {
    let Some(m) = model() else { return };
    let mut b = Bundle::load(&root().join("flows/clinic.yaml")).unwrap();
    b.embed(&m).unwrap();
    let b = Arc::new(b);
    // No keyword rule covers these words.
    let faq = [
        ("Is the office reachable by metro?", "transit"),
        ("Can someone push a wheelchair in easily?", "accessibility"),
        ("Is there somewhere to leave my car?", "parking"),
        ("Which physicians practice there?", "doctors"),
        ("When do you shut on Saturdays?", "hours"),
        ("How do I get my test outcomes?", "lab_results"),
    ];
    let mut right = 0;
    for (q, want) in faq {
        let (got, intent, say) = ask(&m, &b, q);
        eprintln!("{q:?} -> faq {got:?} intent {intent:?}: {say}");
        right += usize::from(got.as_deref() == Some(want));
    }
    // Measured: 6/6 with the clinic's faq_threshold (0.49) and about 20 examples per entry
    // (3/6 at 0.6 with the KB's questions alone). The floor leaves room for one to drop under
    // the threshold (an "I don't know" or a confirmation question, never a wrong answer).
    assert!(right >= 5, "only {right}/6 paraphrased questions found their entry");
    // Intents at the main menu (none of these is in flows/clinic.yaml or eval/route/).
    let intents = [
        ("Could I come in to see Dr. Chen sometime next week?", "book"),
        ("my son needs a checkup before summer camp", "book"),
        ("is there any time on Thursday for a visit with doctor ortiz", "book"),
        ("I'd like to get an appointment for my mother", "book"),
        ("I have to call off my visit on Friday", "change"),
        ("I won't make it to my appointment tomorrow", "change"),
        ("can you put my visit off until next month", "change"),
        ("I need a later time for my appointment on Monday", "change"),
    ];
    let mut hits = 0;
    for (q, want) in intents {
        let (faq, got, say) = ask(&m, &b, q);
        eprintln!("{q:?} -> intent {got:?} faq {faq:?}: {say}");
        hits += usize::from(got.as_deref() == Some(want));
    }
    eprintln!("{hits}/8 paraphrased intents matched");
    // Measured: 8/8 with the intent ranker and intent_floor (7/8 with the nearest example).
    assert!(hits >= 7, "only {hits}/8 paraphrased requests reached their intent");
    for q in ["What is the capital of France?", "Can you recommend a good pizza place nearby?"] {
        let (faq, intent, say) = ask(&m, &b, q);
        eprintln!("{q:?} -> faq {faq:?} intent {intent:?}: {say}");
        assert_eq!(faq, None, "{q}: invented an answer: {say}");
        assert!(say.contains("don't have an answer"), "{say}");
    }
}

#[test]
fn conversation_tests_pass_with_the_model() {
    let Some(m) = model() else { return };
    let results = frontdesk_flow::convo::run_file(&root().join("flows/clinic.test.yaml"), Some(&m)).unwrap();
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| format!("{}: {:?}\n{}", r.name, r.failures, r.transcript.join("\n")))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
