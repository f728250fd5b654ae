//! Machine tests on small inline flows: timers, embeddings through a deterministic fake,
//! clarifying questions, webhooks and determinism (the step cost is `benches/flow_step.rs`).

use frontdesk_engines::{Embedder, EngineError};
use frontdesk_schedule::local_now;

use super::*;
use crate::ast::TransferTarget;
use crate::convo::step;
use crate::{Kb, parse::parse_flow};

const FLOW: &str = "\
flow: t
business: Acme Dental
start: menu
global: {human: person}
settings: {intent_threshold: 0.6, clarify_margin: 0.05, no_input_ms: 5000}
intents:
  billing: {examples: [question about my invoice], description: ask about a bill}
  hours: {examples: [when do you open], description: hear our hours}
  book: {keywords: [book]}
nodes:
  menu:
    menu: {prompt: How can I help?, no_input: Still there?, no_match: Say book or billing.}
    routes:
      - {intent: book, goto: count}
      - {intent: billing, goto: lookup}
      - {intent: hours, goto: person}
  count:
    collect: {slot: n, type: number, prompt: How many people?, min: 1, max: 6, no_input: How many?, no_match: Say a number from 1 to 6.}
    routes:
      - {if: n == 1, goto: solo}
    next: group
  solo:
    say: Just you.
    hangup: true
  group:
    say: A group of {{n}}.
    hangup: true
  lookup:
    webhook: {url: 'https://example.com/balance', result: balance, on_failure: person}
    next: tell
  tell:
    say: Your balance is {{balance}}.
    hangup: true
  person:
    transfer: {sip: 'sip:desk@example.com', context: {why: help}}
";

/// A fake embedder: each known phrase maps to a fixed direction; unknown text is orthogonal.
struct Fake;

impl Fake {
    fn vec(t: &str) -> Vec<f32> {
        match t {
            "question about my invoice" | "my bill" => vec![1.0, 0.0, 0.0],
            "when do you open" | "what time do you start" => vec![0.0, 1.0, 0.0],
            "bill hours" => vec![0.7, 0.71, 0.0],
            "sort of a bill" => vec![0.5, 0.0, 0.866],
            _ => vec![0.0, 0.0, 1.0],
        }
    }
}

impl Embedder for Fake {
    fn dim(&self) -> usize {
        3
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EngineError> {
        Ok(texts.iter().map(|t| Fake::vec(t)).collect())
    }
}

/// `src` parsed, checked and embedded with [`Fake`] (no knowledge base).
fn bundle(src: &str) -> Arc<Bundle> {
    let flow = parse_flow(src).unwrap();
    assert_eq!(crate::check::check(&flow), vec![]);
    let mut b = Bundle { flow, kb: Kb::default(), intents: Default::default(), kb_index: Default::default() };
    b.embed(&Fake).unwrap();
    Arc::new(b)
}

fn machine_on(b: &Arc<Bundle>) -> FlowMachine {
    FlowMachine::new(b.clone(), local_now("2026-11-18T10:15", "America/New_York").unwrap())
}

fn machine() -> FlowMachine {
    machine_on(&bundle(FLOW))
}

/// A machine on `b` that has started (said its first prompt).
fn started(b: &Arc<Bundle>) -> FlowMachine {
    let mut m = machine_on(b);
    step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap();
    m
}

fn said(m: &mut FlowMachine, now: u64, text: &str) -> crate::convo::Reply {
    let e = Fake::vec(text);
    let ev = Event::Utterance { text: text.into(), confidence: 0.9, embedding: Some(e) };
    step(m, Instant::from_millis(now), Some(ev)).unwrap()
}

/// As [`said`], with any webhook left out for the test to answer by hand (a shell whose call
/// is still under way); [`said`] answers it `not_configured` at once.
fn said_held(m: &mut FlowMachine, now: u64, text: &str) -> crate::convo::Reply {
    let e = Fake::vec(text);
    let ev = Event::Utterance { text: text.into(), confidence: 0.9, embedding: Some(e) };
    crate::convo::step_with(m, Instant::from_millis(now), Some(ev), &mut |c, ctx| match c {
        Command::Webhook(_) => None,
        other => crate::convo::no_effects(other, ctx),
    })
    .unwrap()
}

#[test]
fn start_says_and_listens_with_a_deadline() {
    let mut m = machine();
    let r = step(&mut m, Instant::from_millis(1000), Some(Event::Start)).unwrap();
    assert_eq!(r.say, "How can I help?");
    assert_eq!(r.commands.last(), Some(&Command::Listen { expect: Expect::Open, no_input_ms: 5000 }));
    assert_eq!(m.poll_timeout(), Some(Instant::from_millis(6000)));
    // Early timeout: nothing happens.
    m.handle_timeout(Instant::from_millis(5999));
    assert_eq!(m.poll_command(), None);
    // Playback finishing later re-arms the timer from then.
    m.handle_event(Instant::from_millis(3000), Event::PlaybackDone).unwrap();
    assert_eq!(m.poll_timeout(), Some(Instant::from_millis(8000)));
    let r = step(&mut m, Instant::from_millis(8000), None).unwrap();
    assert_eq!(r.say, "Still there?");
    assert_eq!(m.turn().actions, vec!["no_input"]);
    assert!(m.handle_event(Instant::from_millis(9000), Event::Start).is_err());
}

#[test]
fn embedding_matches_an_intent_and_a_webhook_result_fills_a_slot() {
    let mut m = machine();
    step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap();
    let r = said_held(&mut m, 1000, "my bill");
    let i = m.turn().intent.clone().unwrap();
    assert_eq!((i.name.as_str(), i.source), ("billing", crate::intents::Source::Embedding));
    assert!(i.confidence > 0.99);
    let Some(Command::Webhook(req)) = r.commands.first() else { panic!("{r:?}") };
    assert_eq!(req.url.resolve(|_| None).as_deref(), Ok("https://example.com/balance"));
    assert_eq!(req.method, crate::ast::HttpMethod::Post);
    assert_eq!(m.poll_timeout(), None, "no no-input timer while waiting for a webhook");
    let r = step(
        &mut m,
        Instant::from_millis(1500),
        Some(Event::WebhookResult { ok: true, value: Some("$20".into()) }),
    )
    .unwrap();
    assert_eq!(r.say, "Your balance is $20.");
    assert_eq!(r.commands.last(), Some(&Command::Hangup));
    assert!(m.is_ended());
}

#[test]
fn failed_webhook_routes_to_a_person_with_context() {
    let mut m = machine();
    step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap();
    said_held(&mut m, 1000, "my bill");
    let r = step(&mut m, Instant::from_millis(1500), Some(Event::WebhookResult { ok: false, value: None }))
        .unwrap();
    assert_eq!(
        r.commands,
        vec![Command::Transfer {
            target: TransferTarget::Sip("sip:desk@example.com".into()),
            context: vec![("why".into(), "help".into())]
        }]
    );
}

#[test]
fn close_intents_get_a_clarifying_question() {
    let mut m = machine();
    step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap();
    let r = said(&mut m, 1000, "bill hours");
    assert_eq!(r.say, "Sorry, did you want to hear our hours, or ask about a bill?");
    assert_eq!(m.turn().actions, vec!["clarify:hours|billing"]);
    // Listed word for word for the prompt cache, both ways round.
    let texts = question_texts(&m.b);
    assert!(texts.contains(&r.say), "{texts:?}");
    assert!(texts.contains(&"Sorry, did you want to ask about a bill, or hear our hours?".to_owned()));
    said(&mut m, 2000, "the second one");
    assert_eq!(m.turn().intent.as_ref().map(|i| i.name.as_str()), Some("billing"));
}

#[test]
fn without_a_model_unknown_phrasing_is_a_no_match_and_keywords_still_work() {
    let mut m = machine();
    step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap();
    let ev = Event::Utterance { text: "my bill".into(), confidence: 0.9, embedding: None };
    let r = step(&mut m, Instant::from_millis(1000), Some(ev)).unwrap();
    assert_eq!(r.say, "Say book or billing.");
    let ev = Event::Utterance { text: "I want to book".into(), confidence: 0.9, embedding: None };
    let r = step(&mut m, Instant::from_millis(2000), Some(ev)).unwrap();
    assert_eq!(r.say, "How many people?");
    assert_eq!(r.commands.last(), Some(&Command::Listen { expect: Expect::Number, no_input_ms: 5000 }));
}

#[test]
fn validation_conditions_and_dtmf() {
    let mut m = machine();
    step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap();
    said(&mut m, 1000, "book");
    let r = said(&mut m, 2000, "nine");
    assert_eq!(r.say, "Say a number from 1 to 6.", "9 is above max");
    let r = step(&mut m, Instant::from_millis(3000), Some(Event::Dtmf("1#".into()))).unwrap();
    assert_eq!(r.say, "Just you.");
    let mut m = machine();
    step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap();
    said(&mut m, 1000, "book");
    let r = said(&mut m, 2000, "four of us");
    assert_eq!(r.say, "A group of 4.");
    assert_eq!(m.slots_json(), serde_json::json!({"n": 4}));
}

#[test]
fn replay_is_deterministic() {
    let script = ["my bill", "uh", "book", "two"];
    let run = || {
        let mut m = machine();
        let mut log =
            vec![format!("{:?}", step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap().commands)];
        for (i, s) in script.iter().enumerate() {
            let r = said(&mut m, 1000 * (i as u64 + 1), s);
            log.push(format!("{:?} {:?} {:?}", r.commands, m.turn(), m.poll_timeout()));
        }
        log
    };
    let a = run();
    assert_eq!(a, run());
    assert!(a.len() == 5 && a.iter().all(|l| !l.is_empty()));
}

#[test]
fn built_in_answers_are_listed_word_for_word_for_the_prompt_cache() {
    let mut m = machine();
    let texts = built_in_texts(&m.b.flow);
    assert!(texts.iter().any(|t| t.contains("Acme Dental")), "{texts:?}");
    // `global.human` is set, so "no one to connect you with" is never said.
    assert!(!texts.iter().any(|t| t.contains("no one I can connect")), "{texts:?}");
    step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap();
    for (i, asked) in ["are you a real person", "help"].into_iter().enumerate() {
        let ev = Event::Utterance { text: asked.into(), confidence: 0.9, embedding: None };
        let r = step(&mut m, Instant::from_millis(1000 * (i as u64 + 1)), Some(ev)).unwrap();
        let first = r.commands.iter().find_map(|c| match c {
            Command::Say { text } => Some(text.clone()),
            _ => None,
        });
        let first = first.unwrap_or_else(|| panic!("{asked:?}: nothing said: {r:?}"));
        assert!(texts.contains(&first), "{asked:?}: {first:?} is not in {texts:?}");
    }
}

const FAQ_FLOW: &str = "\
flow: f
business: Acme Dental
start: main
knowledge: kb.yaml
global: {human: person}
settings: {faq_threshold: 0.7, faq_confirm_threshold: 0.4}
intents:
  book: {keywords: [book]}
nodes:
  main:
    menu: {prompt: How can I help?, faq: true, no_match: Ask me a question.}
    routes:
      - {intent: book, goto: person}
    next: more
  more:
    menu: {prompt: Anything else?, faq: true}
    routes:
      - {intent: book, goto: person}
    next: more
  person:
    transfer: {sip: 'sip:desk@example.com'}
";

/// A machine on [`FAQ_FLOW`] with one KB entry whose question points where the fake embeds
/// \"when do you open\": that phrase scores above `faq_threshold`, \"bill hours\" in the
/// confirmation band, anything else below it.
fn faq_machine() -> FlowMachine {
    let flow = parse_flow(FAQ_FLOW).unwrap();
    let kb = Kb::parse(
        "entries:\n  - id: hours\n    question: What are your opening hours?\n    answer: Nine to five.\n",
    )
    .unwrap();
    let kb_index = crate::KbIndex::from_vectors(vec![Fake::vec("when do you open")]);
    let b = Bundle { flow, kb, intents: Default::default(), kb_index };
    FlowMachine::new(Arc::new(b), local_now("2026-11-18T10:15", "America/New_York").unwrap())
}

#[test]
fn faq_confirmation_band_asks_then_answers_on_yes_and_declines_on_no() {
    let mut m = faq_machine();
    step(&mut m, Instant::from_millis(0), Some(Event::Start)).unwrap();
    // Above the threshold: answered at once.
    let r = said(&mut m, 1000, "when do you open");
    assert_eq!((m.turn().faq_id.as_deref(), r.say.as_str()), (Some("hours"), "Nine to five. Anything else?"));
    // In the band: a question, no answer yet; a yes answers and the flow goes on.
    let r = said(&mut m, 2000, "bill hours");
    assert_eq!(m.turn().faq_id, None);
    assert_eq!(r.say, "Just to be sure, are you asking: What are your opening hours?");
    assert_eq!(m.turn().actions, ["faq:confirm:hours"]);
    assert!(question_texts(&m.b).contains(&r.say), "the question is in the prompt cache's list");
    assert!(r.commands.contains(&Command::Listen { expect: Expect::YesNo, no_input_ms: 6000 }), "{r:?}");
    let r = said(&mut m, 3000, "yes");
    assert_eq!((m.turn().faq_id.as_deref(), r.say.as_str()), (Some("hours"), "Nine to five. Anything else?"));
    // A bare no: "I don't know" and the offer of a person, no answer.
    said(&mut m, 4000, "bill hours");
    let r = said(&mut m, 5000, "no");
    assert_eq!(m.turn().faq_id, None);
    assert!(r.say.contains("don't have an answer"), "{}", r.say);
    assert!(m.turn().actions.contains(&"faq:unknown".to_owned()), "{:?}", m.turn().actions);
    // Not a yes or no: taken as a new question.
    said(&mut m, 6000, "bill hours");
    said(&mut m, 7000, "when do you open");
    assert_eq!(m.turn().faq_id.as_deref(), Some("hours"));
    // Below the band: no question, "I don't know" at once.
    let r = said(&mut m, 8000, "do you sell pizza");
    assert!(r.say.starts_with("I'm sorry, I don't have an answer"), "{}", r.say);
}

#[test]
fn faq_confirm_threshold_must_be_below_faq_threshold() {
    let src = FAQ_FLOW.replace("faq_confirm_threshold: 0.4", "faq_confirm_threshold: 0.8");
    let e = parse_flow(&src).unwrap_err();
    assert!(e.iter().any(|d| d.message.contains("faq_confirm_threshold (0.8) must be below")), "{e:?}");
}

#[test]
fn keyword_rules_of_two_intents_are_decided_by_the_model_or_asked_without_one() {
    // Both intents have a rule on "bill"; the embedding of "my bill" is the billing example's.
    let src = FLOW.replace(
        "billing: {examples: [question about my invoice], description: ask about a bill}",
        "billing: {examples: [question about my invoice], description: ask about a bill, keywords: [bill]}",
    )
    .replace(
        "hours: {examples: [when do you open], description: hear our hours}",
        "hours: {examples: [when do you open], description: hear our hours, keywords: [bill]}",
    );
    let b = bundle(&src);
    let mut m = started(&b);
    said_held(&mut m, 1000, "my bill");
    let i = m.turn().intent.clone().unwrap();
    assert_eq!((i.name.as_str(), i.source), ("billing", crate::intents::Source::Keyword));
    // Without a model the tie stays a tie: a clarifying question.
    let mut m = started(&b);
    let ev = Event::Utterance { text: "my bill".into(), confidence: 0.9, embedding: None };
    let r = step(&mut m, Instant::from_millis(1000), Some(ev)).unwrap();
    assert_eq!(m.turn().actions, vec!["clarify:billing|hours"], "{}", r.say);
}

#[test]
fn an_faq_entry_nearer_than_the_intent_examples_is_answered_at_a_menu() {
    // The intent's example sits between the KB question and the rest: "when do you open" is
    // an intent match above intent_threshold (cosine 0.71), but the KB question is nearer (1).
    let src =
        FAQ_FLOW.replace("book: {keywords: [book]}", "book: {keywords: [book], examples: [bill hours]}");
    let flow = parse_flow(&src).unwrap();
    let kb = Kb::parse(
        "entries:\n  - id: hours\n    question: What are your opening hours?\n    answer: Nine to five.\n",
    )
    .unwrap();
    let mut b = Bundle { flow, kb, intents: Default::default(), kb_index: Default::default() };
    b.embed(&Fake).unwrap();
    b.kb_index = crate::KbIndex::from_vectors(vec![Fake::vec("when do you open")]);
    let mut m = FlowMachine::new(Arc::new(b), local_now("2026-11-18T10:15", "America/New_York").unwrap());
    step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap();
    let r = said(&mut m, 1000, "when do you open");
    assert_eq!((m.turn().faq_id.as_deref(), r.say.as_str()), (Some("hours"), "Nine to five. Anything else?"));
    assert_eq!(m.turn().intent, None);
    // Nearer to the intent's example than to the KB: the intent's route.
    said(&mut m, 2000, "bill hours");
    assert_eq!(m.turn().intent.as_ref().map(|i| i.name.as_str()), Some("book"));
    assert_eq!(m.turn().faq_id, None);
}

#[test]
fn intent_confirmation_band_asks_did_you_want_to_and_routes_on_yes() {
    let src = FLOW.replace("clarify_margin: 0.05", "clarify_margin: 0.05, intent_confirm_threshold: 0.4");
    let b = bundle(&src);
    let mut m = started(&b);
    // Cosine 0.5 with the billing example: under intent_threshold (0.6), in the band.
    let r = said(&mut m, 1000, "sort of a bill");
    assert_eq!(r.say, "Sorry, did you want to ask about a bill?");
    assert_eq!(m.turn().actions, ["intent:confirm:billing"]);
    assert!(r.commands.contains(&Command::Listen { expect: Expect::YesNo, no_input_ms: 5000 }), "{r:?}");
    said_held(&mut m, 2000, "yes please");
    assert_eq!(m.turn().intent.as_ref().map(|i| i.name.as_str()), Some("billing"));
    // A bare no: "I don't know", the offer of a person, and a failed try at the menu.
    let mut m = started(&b);
    said(&mut m, 1000, "sort of a bill");
    let r = said(&mut m, 2000, "no");
    assert!(r.say.contains("don't have an answer"), "{}", r.say);
    assert!(m.turn().actions.contains(&"no_match".to_owned()), "{:?}", m.turn().actions);
    assert_eq!(m.turn().intent, None);
    // Anything else is a new request: "when do you open" routes to hours.
    let mut m = started(&b);
    said(&mut m, 1000, "sort of a bill");
    said(&mut m, 2000, "when do you open");
    assert_eq!(m.turn().intent.as_ref().map(|i| i.name.as_str()), Some("hours"));
    // Without the setting the same words are a plain no-match.
    let mut m = started(&bundle(FLOW));
    let r = said(&mut m, 1000, "sort of a bill");
    assert_eq!(r.say, "Say book or billing.");
}

#[test]
fn intent_confirm_threshold_must_be_below_intent_threshold() {
    let src = FLOW.replace("clarify_margin: 0.05", "clarify_margin: 0.05, intent_confirm_threshold: 0.7");
    let e = parse_flow(&src).unwrap_err();
    assert!(e.iter().any(|d| d.message.contains("intent_confirm_threshold (0.7) must be below")), "{e:?}");
}

#[test]
fn an_intent_let_in_under_the_threshold_gives_way_to_an_faq_entry_in_the_band() {
    use crate::intents::test_vectors::unit;
    // `book` on axes 0-1, other texts on axis 5, the KB's question on axis 6. The caller's
    // words lean to `book` (cosine 0.63, under intent_threshold but over intent_floor, the
    // ranker finds it likelier than the other texts) and nearer still to the KB question
    // (cosine 0.75, in the FAQ confirmation band).
    let machine_with = |settings: &str| {
        let src = FAQ_FLOW
            .replace("settings: {faq_threshold: 0.7, faq_confirm_threshold: 0.4}", settings)
            .replace("book: {keywords: [book]}", "book: {keywords: [book], examples: [a booking]}");
        let flow = parse_flow(&src).unwrap();
        let kb = Kb::parse(
            "entries:\n  - id: hours\n    question: What are your opening hours?\n    answer: Nine to five.\n",
        )
        .unwrap();
        let book = (0..4).map(|i| unit(&[1.0, 0.3, 0.05 * i as f32])).collect();
        let other: Vec<Vec<f32>> =
            (0..4).map(|i| unit(&[0.2, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.05 * i as f32])).collect();
        let intents = crate::IntentIndex::with_other(vec![("book".into(), book)], &other);
        let kb_index = crate::KbIndex::from_vectors(vec![unit(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])]);
        let b = Arc::new(Bundle { flow, kb, intents, kb_index });
        let mut m = started(&b);
        let ev = Event::Utterance {
            text: "zzz".into(),
            confidence: 0.9,
            embedding: Some(unit(&[1.0, 0.3, 0.0, 0.0, 0.0, 0.0, 1.2])),
        };
        let r = step(&mut m, Instant::from_millis(1000), Some(ev)).unwrap();
        (m.turn().intent.as_ref().map(|i| i.name.clone()), r.say)
    };
    let (intent, say) = machine_with(
        "settings: {intent_threshold: 0.9, intent_floor: 0.4, faq_threshold: 0.9, faq_confirm_threshold: 0.3}",
    );
    assert_eq!(intent, None);
    assert_eq!(say, "Just to be sure, are you asking: What are your opening hours?");
    // Without the band the let-in intent stands (no FAQ answer reaches faq_threshold).
    let (intent, _) =
        machine_with("settings: {intent_threshold: 0.9, intent_floor: 0.4, faq_threshold: 0.9}");
    assert_eq!(intent.as_deref(), Some("book"));
    // Without the floor: no intent, no answer.
    let (intent, say) = machine_with("settings: {intent_threshold: 0.9, faq_threshold: 0.9}");
    assert_eq!(intent, None);
    assert!(say.contains("don't have an answer"), "{say}");
}

#[test]
fn understanding_is_a_dry_run_that_leaves_the_machine_as_it_was() {
    let ask = |m: &FlowMachine, text: &str| {
        m.understands(Instant::from_millis(1000), text, 0.9, Some(&Fake::vec(text)))
    };
    let mut m = machine();
    assert_eq!(ask(&m, "my bill"), None, "not listening before the start");
    step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap();
    let (node, timeout) = (m.turn().node.clone(), m.poll_timeout());
    // At the menu: an intent by its embedding or a keyword, a repair.
    assert_eq!(ask(&m, "my bill"), Some(true));
    assert_eq!(ask(&m, "I want to book"), Some(true));
    assert_eq!(ask(&m, "goodbye"), Some(true));
    // Nothing the menu can use, two intents too close to choose, too little confidence.
    assert_eq!(ask(&m, "purple elephants"), Some(false));
    assert_eq!(ask(&m, "bill hours"), Some(false), "a clarifying question is not understanding");
    assert_eq!(
        m.understands(Instant::from_millis(1000), "my bill", 0.1, Some(&Fake::vec("my bill"))),
        Some(false)
    );
    // The machine itself did not move: no command, same node, same timer.
    assert_eq!(m.poll_command(), None);
    assert_eq!((m.turn().node.clone(), m.poll_timeout()), (node, timeout));
    let r = said(&mut m, 2000, "I want to book");
    assert_eq!(r.say, "How many people?", "{r:?}");
    // At a number slot: a number is understood, anything else is not.
    assert_eq!(ask(&m, "three"), Some(true));
    assert_eq!(ask(&m, "purple elephants"), Some(false));
    // While a webhook is out, the machine is not listening for words.
    let mut w = machine();
    step(&mut w, Instant::ZERO, Some(Event::Start)).unwrap();
    said_held(&mut w, 1000, "my bill");
    assert_eq!(ask(&w, "my bill"), None);
}

#[test]
fn understanding_an_faq_question_means_an_answer_not_a_confirmation() {
    let mut m = faq_machine();
    step(&mut m, Instant::from_millis(0), Some(Event::Start)).unwrap();
    let ask = |m: &FlowMachine, text: &str| {
        m.understands(Instant::from_millis(1000), text, 0.9, Some(&Fake::vec(text)))
    };
    assert_eq!(ask(&m, "when do you open"), Some(true));
    assert_eq!(ask(&m, "bill hours"), Some(false), "\"are you asking ...?\" is not an answer");
    assert_eq!(ask(&m, "do you sell pizza"), Some(false), "\"I don't know\" is not an answer");
}

#[test]
fn a_dry_run_tells_what_the_step_would_say() {
    let mut m = machine();
    step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap();
    let dry = |m: &FlowMachine, text: &str| {
        m.dry_run(Instant::from_millis(1000), text, 0.9, Some(&Fake::vec(text))).unwrap()
    };
    let d = dry(&m, "I want to book");
    assert_eq!((d.understood, d.say.as_deref()), (true, Some("How many people?")));
    let d = dry(&m, "purple elephants");
    assert_eq!((d.understood, d.say.as_deref()), (false, Some("Say book or billing.")));
    // What the real step then says is the same.
    let r = said(&mut m, 2000, "I want to book");
    assert_eq!(r.say, "How many people?");
    // A step that goes out to a webhook says nothing before it.
    let mut w = machine();
    step(&mut w, Instant::ZERO, Some(Event::Start)).unwrap();
    assert_eq!(dry(&w, "my bill").say, None);
}
