use super::*;
use crate::parse::parse_flow;

const BASE: &str = "\
flow: t
business: Acme
start: ask
global: {human: person}
intents:
  book: {keywords: [book]}
nodes:
  ask:
    menu: {no_input: Hello?, no_match: Pardon?}
    routes:
      - {intent: book, goto: name}
  name:
    collect: {slot: who, type: person_name, prompt: Name?, no_input: Name?, no_match: Name please?}
    next: done
  done:
    say: Thanks {{who}}.
    hangup: true
  person:
    transfer: {queue: desk}
";

fn diags(src: &str) -> Vec<Diagnostic> {
    match parse_flow(src) {
        Ok(f) => check(&f),
        Err(d) => d,
    }
}

fn codes(src: &str) -> Vec<(&'static str, usize, usize)> {
    diags(src).iter().map(|d| (d.code, d.pos.line, d.pos.col)).collect()
}

#[test]
fn base_flow_is_clean() {
    assert_eq!(diags(BASE), vec![]);
}

#[test]
fn bad_yaml_has_a_position() {
    let d = diags("flow: t\nnodes:\n  a:\n    say: [unclosed\n");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "yaml");
    assert!(d[0].pos.line >= 4, "{d:?}");
}

#[test]
fn unknown_key_suggests_the_right_one() {
    let d = diags(&BASE.replace("    collect: {slot", "    colect: {slot"));
    let u = d.iter().find(|d| d.code == "unknown-key").unwrap();
    assert_eq!((u.pos.line, u.pos.col), (13, 5));
    assert_eq!(u.hint, "did you mean `collect`?");
}

#[test]
fn unknown_node_target() {
    let d = diags(&BASE.replace("next: done", "next: dne"));
    let u = d.iter().find(|d| d.code == "unknown-node").unwrap();
    assert_eq!((u.pos.line, u.pos.col), (14, 11));
    assert!(u.hint.contains("done"), "{u:?}");
}

#[test]
fn unreachable_node() {
    let src = format!("{BASE}  orphan:\n    say: Hi\n    next: done\n");
    assert_eq!(codes(&src), vec![("unreachable", 20, 3)]);
}

#[test]
fn slot_used_before_set() {
    // `done` is also reachable straight from the menu, before `who` is collected.
    let src = BASE.replace(
        "      - {intent: book, goto: name}",
        "      - {intent: book, goto: name}\n      - {intent: book, if: who, goto: done}",
    );
    let d = diags(&src);
    let u: Vec<_> = d.iter().filter(|d| d.code == "unset-slot").collect();
    assert_eq!(u.len(), 1, "{d:?}");
    assert_eq!(u[0].pos.line, 17);
    // A slot nothing sets is a different hint.
    let d = diags(&BASE.replace("Thanks {{who}}", "Thanks {{whom}}"));
    assert!(d.iter().any(|d| d.code == "unset-slot" && d.hint.contains("no node sets")), "{d:?}");
}

#[test]
fn escalation_leaves_before_the_slot_is_set() {
    // The escalation target reads the slot the collect failed to get.
    let src = BASE.replace(
        "  person:\n    transfer: {queue: desk}",
        "  person:\n    say: Transferring {{who}}\n    transfer: {queue: desk}",
    );
    assert!(codes(&src).iter().any(|c| c.0 == "unset-slot"), "{:?}", codes(&src));
}

#[test]
fn missing_reprompts() {
    let d = diags(&BASE.replace(", no_match: Name please?", ""));
    let m: Vec<_> = d.iter().filter(|d| d.code == "missing-reprompt").collect();
    assert_eq!(m.len(), 1, "{d:?}");
    assert!(m[0].message.contains("no_match"));
    assert_eq!(m[0].pos.line, 12);
}

#[test]
fn type_mismatches() {
    let src = BASE
        .replace("type: person_name", "type: yes_no")
        .replace("    next: done", "    routes:\n      - {if: who == maybe, goto: done}\n    next: done");
    let d = diags(&src);
    assert!(d.iter().any(|d| d.code == "type-mismatch" && d.message.contains("maybe")), "{d:?}");
    let d = diags(&BASE.replace("Thanks {{who}}", "Thanks {{who | spoken_date}}"));
    assert!(d.iter().any(|d| d.code == "type-mismatch" && d.message.contains("spoken_date")), "{d:?}");
}

#[test]
fn undefined_intent() {
    let d = diags(&BASE.replace("{intent: book, goto", "{intent: bok, goto"));
    let u = d.iter().find(|d| d.code == "undefined-intent").unwrap();
    assert_eq!(u.pos.line, 11);
    assert_eq!(u.hint, "did you mean `book`?");
}

#[test]
fn unknown_slot_type_and_dead_end() {
    let d = diags(&BASE.replace("type: person_name", "type: persn_name"));
    assert!(d.iter().any(|d| d.code == "unknown-type" && d.hint.contains("person_name")), "{d:?}");
    let d = diags(&BASE.replace("    say: Thanks {{who}}.\n    hangup: true", "    say: Thanks {{who}}."));
    assert!(d.iter().any(|d| d.code == "dead-end"), "{d:?}");
}

#[test]
fn all_errors_are_reported_at_once() {
    let src = BASE.replace("next: done", "next: dne").replace("{intent: book, goto", "{intent: bok, goto");
    let c: Vec<&str> = diags(&src).iter().map(|d| d.code).collect();
    assert!(c.contains(&"unknown-node") && c.contains(&"undefined-intent"), "{c:?}");
}

#[test]
fn are_you_human_must_be_truthful() {
    let src =
        BASE.replace("global: {human: person}", "global: {human: person, are_you_human: Yes of course I am}");
    assert_eq!(codes(&src), vec![("untruthful", 4, 40)]);
    let src = BASE.replace(
        "global: {human: person}",
        "global: {human: person, are_you_human: No I am an automated assistant}",
    );
    assert_eq!(codes(&src), vec![]);
}

const LLM: &str = "\
flow: t
business: Acme
start: ask
global: {human: person}
intents:
  billing: {keywords: [bill]}
nodes:
  ask:
    menu: {no_input: Hello?, no_match: Pardon?}
    routes:
      - {intent: billing, goto: triage}
  triage:
    llm:
      prompt: routing.md
      routes: {balance: balance}
      tools: {check_balance: checked}
      fallback: menu2
  menu2:
    say: Billing menu ({{llm_error}}).
    hangup: true
  balance:
    say: Route {{llm_route}}.
    hangup: true
  checked:
    say: Checked.
    hangup: true
  person:
    transfer: {queue: desk}
";

#[test]
fn an_llm_fallback_sets_llm_error_and_a_route_sets_llm_route() {
    assert_eq!(diags(LLM), vec![]);
    // Only the fallback edge carries `llm_error`; a route target cannot read it.
    let d = diags(&LLM.replace("Route {{llm_route}}.", "Route {{llm_error}}."));
    let u: Vec<_> = d.iter().filter(|d| d.code == "unset-slot").collect();
    assert_eq!(u.len(), 1, "{d:?}");
    assert!(u[0].hint.contains("fallback"), "{:?}", u[0]);
    // Nor a tool's target `llm_route`.
    let d = diags(&LLM.replace("Checked.", "Checked {{llm_route}}."));
    assert_eq!(d.iter().filter(|d| d.code == "unset-slot").count(), 1, "{d:?}");
    // `llm_ok` is set on every outcome edge.
    let d = diags(&LLM.replace("Checked.", "Checked {{llm_ok}}.").replace("({{llm_error}})", "({{llm_ok}})"));
    assert_eq!(d, vec![]);
}

#[test]
fn a_webhook_that_succeeds_clears_an_earlier_webhook_error() {
    // `second` runs only after `first` failed; on its success path the machine has removed
    // `webhook_error`, so `tell` must not read it (its failure path may).
    let src = "\
flow: t
business: Acme
start: first
global: {human: person}
nodes:
  first:
    webhook: {url: 'http://example.com/a', on_failure: second}
    next: done
  second:
    webhook: {url: 'http://example.com/b', on_failure: failed}
    next: tell
  tell:
    say: 'Earlier: {{webhook_error}}.'
    hangup: true
  failed:
    say: 'Now: {{webhook_error}}.'
    hangup: true
  done:
    say: Bye.
    hangup: true
  person:
    transfer: {queue: desk}
";
    let d = diags(src);
    let unset: Vec<&Diagnostic> = d.iter().filter(|d| d.code == "unset-slot").collect();
    assert_eq!(unset.len(), 1, "{d:?}");
    assert!(unset[0].message.contains("node `tell`"), "{d:?}");
}
