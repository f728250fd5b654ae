//! `llm` nodes and `llm_fallback` through `Effects` against a real local HTTP server that
//! speaks the chat-completions JSON with scripted answers (there is no real LLM here): a valid
//! route, a wrong route name, an undeclared tool, a declared tool, slot values the flow's own
//! parsers accept or refuse, a timeout; and the same flow with no LLM configured.

#![allow(clippy::unwrap_used, reason = "tests")]

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_effects::Effects;
use frontdesk_flow::convo::{Reply, load, parse_now, step, step_with};
use frontdesk_flow::{Command, Event, FlowMachine};
use frontdesk_llm::{LlmClient, LlmConfig, Prompts};
use frontdesk_types::Instant;
use support::{Script, Seen};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn completion(content: &str) -> String {
    serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})
        .to_string()
}

/// An executor whose LLM answers every request with `answer` after `delay`.
fn llm(answer: String, delay: Duration) -> (Effects, support::Server) {
    let script: Script = Arc::new(move |_: &Seen, _| (200, answer.clone(), delay));
    let server = support::start(script);
    let config = LlmConfig { url: server.base.clone(), model: "m".into(), api_key: None };
    let prompts = Prompts::load(&root().join("../../prompts")).unwrap();
    let fx = Effects::new().unwrap().with_llm(LlmClient::new(config).unwrap(), prompts);
    (fx, server)
}

fn machine(with_llm: bool) -> FlowMachine {
    let (bundle, _) = load(&root().join("tests/data/triage.yaml")).unwrap();
    let wall = parse_now("2026-11-18T10:15", "America/New_York").unwrap();
    FlowMachine::new(Arc::new(bundle), wall).with_llm(with_llm)
}

fn talk(fx: &Effects, m: &mut FlowMachine, lines: &[&str]) -> Reply {
    let mut r = step_with(m, Instant::ZERO, Some(Event::Start), &mut |c, x| fx.run(c, x)).unwrap();
    for (i, l) in lines.iter().enumerate() {
        let ev = Event::Utterance { text: (*l).into(), confidence: 0.9, embedding: None };
        r = step_with(m, Instant::from_millis(2000 * (i as u64 + 1)), Some(ev), &mut |c, x| fx.run(c, x))
            .unwrap();
    }
    r
}

#[test]
fn a_valid_route_goes_to_its_node() {
    let (fx, server) = llm(completion(r#"{"route": "balance"}"#), Duration::ZERO);
    let mut m = machine(true);
    let r = talk(&fx, &mut m, &["it's about my bill"]);
    assert_eq!(r.say, "Your balance is zero.");
    assert_eq!(m.slots_json()["llm_route"], "balance");
    assert_eq!(server.hits("/v1/chat/completions").len(), 1);
}

#[test]
fn a_wrong_route_name_takes_the_fallback() {
    let (fx, _s) = llm(completion(r#"{"route": "refund"}"#), Duration::ZERO);
    let mut m = machine(true);
    let r = talk(&fx, &mut m, &["it's about my bill"]);
    assert_eq!(r.say, "Billing menu (invalid_answer).");
}

#[test]
fn an_undeclared_tool_takes_the_fallback_and_a_declared_one_runs_its_node() {
    let call = |name: &str| {
        serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "1", "type": "function", "function": {"name": name, "arguments": "{}"}}]}}]})
        .to_string()
    };
    let (fx, _s) = llm(call("wire_money"), Duration::ZERO);
    let mut m = machine(true);
    assert_eq!(talk(&fx, &mut m, &["my bill"]).say, "Billing menu (undeclared_tool).");
    let (fx, _s) = llm(call("check_balance"), Duration::ZERO);
    let mut m = machine(true);
    assert_eq!(talk(&fx, &mut m, &["my bill"]).say, "Your balance is zero.");
    assert!(m.turn().actions.contains(&"llm:tool:check_balance".to_owned()), "{:?}", m.turn());
}

#[test]
fn a_timeout_takes_the_fallback() {
    let (fx, _s) = llm(completion(r#"{"route": "balance"}"#), Duration::from_millis(2500));
    let mut m = machine(true);
    assert_eq!(talk(&fx, &mut m, &["my bill"]).say, "Billing menu (timeout).");
}

#[test]
fn slot_values_go_through_the_flows_own_parsers() {
    let (fx, _s) =
        llm(completion(r#"{"slots": {"visit_time": "next Tuesday at 3", "party": "two"}}"#), Duration::ZERO);
    let mut m = machine(true);
    let r = talk(&fx, &mut m, &["I'd like to book for two next Tuesday at 3"]);
    assert_eq!(r.say, "Sure. Noted: Tuesday, November 24 at 3:00 PM.");
    assert_eq!(m.slots_json()["party"], 2);
    // A value the number parser refuses: the fallback asks the question itself.
    let (fx, _s) = llm(
        completion(r#"{"slots": {"visit_time": "next Tuesday at 3", "party": "a few"}}"#),
        Duration::ZERO,
    );
    let mut m = machine(true);
    let r = talk(&fx, &mut m, &["book please"]);
    assert_eq!(r.say, "Sure. When would you like to come in?");
    assert_eq!(m.slots_json()["llm_error"], "invalid_answer");
}

#[test]
fn llm_fallback_picks_an_intent_when_keywords_fail() {
    let (fx, server) = llm(completion(r#"{"route": "billing"}"#), Duration::ZERO);
    let mut m = machine(true);
    let r = talk(&fx, &mut m, &["I got a letter saying I owe money"]);
    // The menu's no-match went to the LLM, which picked `billing`; `triage` then asked again.
    assert!(m.turn().actions.contains(&"llm:intent:billing".to_owned()), "{:?}", m.turn());
    assert_eq!(server.hits("/v1/chat/completions").len(), 2);
    assert!(r.say.contains("Your balance is zero") || r.say.contains("Billing menu"), "{}", r.say);
    // A name that is not one of the menu's intents is a plain no-match.
    let (fx, _s) = llm(completion(r#"{"route": "refunds"}"#), Duration::ZERO);
    let mut m = machine(true);
    assert_eq!(talk(&fx, &mut m, &["I got a letter saying I owe money"]).say, "Sorry, say book or bill.");
}

#[test]
fn without_an_llm_every_path_still_works_and_nothing_is_asked() {
    let mut m = machine(false);
    let r = step(&mut m, Instant::ZERO, Some(Event::Start)).unwrap();
    assert_eq!(r.say, "How can I help?");
    let ev = |t: &str| Some(Event::Utterance { text: t.into(), confidence: 0.9, embedding: None });
    let r = step(&mut m, Instant::from_millis(2000), ev("I got a letter saying I owe money")).unwrap();
    assert_eq!(r.say, "Sorry, say book or bill.", "a plain no-match");
    let r = step(&mut m, Instant::from_millis(4000), ev("my bill")).unwrap();
    assert_eq!(r.say, "Billing menu (not_configured).");
    assert!(!r.commands.iter().any(|c| matches!(c, Command::Llm(_))));
    // An executor with no LLM answers `not_configured` too, if a machine asks anyway.
    let fx = Effects::new().unwrap();
    let mut m = machine(true);
    assert_eq!(talk(&fx, &mut m, &["book"]).say, "Sure. When would you like to come in?");
}
