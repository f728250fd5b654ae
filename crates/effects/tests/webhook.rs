//! Webhook nodes end to end: a flow's `webhook` through `Effects` against a real local HTTP
//! server (mapping into variables, secrets in the URL and headers, a timeout, retries counted
//! by the server, a 500, a missing field, a POST body), and a conversation-test file run with
//! the executor (`tests/data/balance.test.yaml`).

#![allow(clippy::unwrap_used, reason = "tests")]

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_effects::Effects;
use frontdesk_flow::convo::{Reply, load, parse_now, step_with};
use frontdesk_flow::{Event, FlowMachine};
use frontdesk_types::{Instant, Pii};
use support::{Script, Seen, Server};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// The billing system: a patient with a balance; payments get a receipt; `/patient` answers
/// per `mode`.
fn billing(mode: &'static str) -> Server {
    let script: Script = Arc::new(move |s: &Seen, before: usize| {
        let ok = (200, r#"{"patient": {"balance": 20, "name": "Ann"}}"#.to_owned(), Duration::ZERO);
        if s.uri.starts_with("/payments") {
            return (201, r#"{"receipt": {"id": 4711}}"#.to_owned(), Duration::ZERO);
        }
        match mode {
            "slow" => (200, ok.1, Duration::from_millis(800)),
            "500" => (500, r#"{"error": "db down"}"#.to_owned(), Duration::ZERO),
            "flaky" if before == 0 => (503, String::new(), Duration::ZERO),
            "no_name" => (200, r#"{"patient": {"balance": 20}}"#.to_owned(), Duration::ZERO),
            _ => ok,
        }
    });
    support::start(script)
}

fn effects(server: &Server) -> Effects {
    Effects::new()
        .unwrap()
        .with_env_secrets(false)
        .with_secret("BILLING_API", server.base.clone())
        .with_secret("BILLING_TOKEN", "s3cret-token")
        .with_backoff(Duration::from_millis(10))
}

struct Call {
    m: FlowMachine,
    fx: Effects,
    t: Instant,
}

impl Call {
    fn start(fx: Effects) -> (Call, Reply) {
        let (bundle, _) = load(&data("balance.yaml")).unwrap();
        let wall = parse_now("2026-11-18T10:15", "America/New_York").unwrap();
        let m = FlowMachine::new(Arc::new(bundle), wall).with_caller(Pii::new("+16175550100".to_owned()));
        let mut c = Call { m, fx, t: Instant::ZERO };
        let r = c.step(Some(Event::Start));
        (c, r)
    }

    fn step(&mut self, ev: Option<Event>) -> Reply {
        self.t += Duration::from_secs(2);
        let fx = &self.fx;
        step_with(&mut self.m, self.t, ev, &mut |c, ctx| fx.run(c, ctx)).unwrap()
    }

    fn say(&mut self, text: &str) -> Reply {
        self.step(Some(Event::Utterance { text: text.into(), confidence: 0.9, embedding: None }))
    }

    fn slot(&self, name: &str) -> serde_json::Value {
        self.m.slots_json().get(name).cloned().unwrap_or_default()
    }
}

#[test]
fn a_get_maps_the_answer_into_variables_with_secrets_filled_in() {
    let server = billing("ok");
    let (call, r) = Call::start(effects(&server));
    assert_eq!(
        r.say,
        "One moment while I look that up. Ann, your balance is 20 dollars. How much would you like to pay today?"
    );
    assert_eq!(call.slot("balance"), serde_json::json!(20));
    assert_eq!(call.slot("webhook_ok"), serde_json::json!(true));
    assert!(call.m.turn().actions.contains(&"webhook:ok".to_owned()), "{:?}", call.m.turn());
    let hits = server.hits("/patient");
    assert_eq!(hits.len(), 1);
    let h = &hits[0];
    assert_eq!(h.method, "GET");
    assert_eq!(h.uri, "/patient?phone=%2B16175550100", "the caller's number is percent-encoded");
    assert_eq!(h.header("authorization"), Some("Bearer s3cret-token"));
    assert_eq!(h.body, "", "a GET has no body");
}

#[test]
fn a_post_sends_the_templated_body_and_maps_the_receipt() {
    let server = billing("ok");
    let (mut call, _) = Call::start(effects(&server));
    let r = call.say("fifty");
    assert_eq!(r.say, "Thank you. Your receipt number is 4 7 1 1.");
    assert!(call.m.is_ended());
    let p = server.hits("/payments");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].method, "POST");
    assert_eq!(p[0].header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&p[0].body).unwrap();
    // `{{amount}}` alone keeps the number's type; inside text it is rendered.
    assert_eq!(body, serde_json::json!({"phone": "+16175550100", "amount": 50, "note": "paid 50 by phone"}));
}

#[test]
fn a_timeout_takes_the_failure_route_after_the_retry() {
    let server = billing("slow");
    let (call, r) = Call::start(effects(&server));
    assert!(r.say.contains("Sorry, I can't reach our billing system right now (timeout)."), "{}", r.say);
    assert_eq!(call.slot("webhook_ok"), serde_json::json!(false));
    assert_eq!(call.slot("webhook_error"), serde_json::json!("timeout"));
    assert_eq!(call.slot("balance"), serde_json::Value::Null, "nothing mapped on failure");
    assert!(call.m.is_ended(), "on to the person node (a transfer)");
    // `retries: 1` on a GET: two attempts reached the server.
    assert_eq!(server.hits("/patient").len(), 2);
}

#[test]
fn a_500_is_retried_as_configured_then_fails() {
    let server = billing("500");
    let (call, r) = Call::start(effects(&server));
    assert!(r.say.contains("(http_500)"), "{}", r.say);
    assert!(call.m.turn().actions.contains(&"webhook:failed:http_500".to_owned()), "{:?}", call.m.turn());
    assert_eq!(server.hits("/patient").len(), 2, "1 attempt + retries: 1");
}

#[test]
fn a_retry_after_a_503_succeeds() {
    let server = billing("flaky");
    let (call, r) = Call::start(effects(&server));
    assert!(r.say.contains("your balance is 20"), "{}", r.say);
    assert_eq!(server.hits("/patient").len(), 2);
    assert_eq!(call.slot("webhook_ok"), serde_json::json!(true));
}

#[test]
fn a_missing_result_field_is_a_failure() {
    let server = billing("no_name");
    let (call, r) = Call::start(effects(&server));
    assert!(r.say.contains("(missing_field)"), "{}", r.say);
    assert_eq!(call.slot("balance"), serde_json::Value::Null);
}

#[test]
fn a_secret_that_is_not_set_fails_without_a_request() {
    let server = billing("ok");
    let fx = Effects::new().unwrap().with_env_secrets(false).with_secret("BILLING_API", server.base.clone());
    let (call, r) = Call::start(fx);
    assert!(r.say.contains("(not_configured)"), "{}", r.say);
    assert_eq!(call.slot("webhook_error"), serde_json::json!("not_configured"));
    assert!(server.hits("/patient").is_empty());
}

#[test]
fn a_post_is_not_retried_without_retry_post() {
    // The lookup (a GET) answers; only the payment (a POST without `retry_post`) fails. A 500
    // for every path would fail the lookup first and the call would never reach the payment.
    let script: Script = Arc::new(|s: &Seen, _| {
        if s.uri.starts_with("/payments") {
            (500, String::new(), Duration::ZERO)
        } else {
            (200, r#"{"patient": {"balance": 20, "name": "Ann"}}"#.to_owned(), Duration::ZERO)
        }
    });
    let server = support::start(script);
    let (mut call, r) = Call::start(effects(&server));
    assert!(r.say.contains("How much would you like to pay today?"), "{}", r.say);
    let r = call.say("fifty");
    assert!(r.say.contains("(http_500)"), "{}", r.say);
    assert_eq!(server.hits("/payments").len(), 1, "a POST without retry_post: true is sent once");
    assert_eq!(server.hits("/patient").len(), 1);
}

#[test]
fn conversation_tests_run_webhooks_against_a_local_server() {
    let server = billing("ok");
    let fx = effects(&server);
    let results = frontdesk_flow::convo::run_file_with(&data("balance.test.yaml"), None, &fx).unwrap();
    assert_eq!(results.len(), 2);
    for r in &results {
        assert!(r.passed(), "{}: {:?}\n{}", r.name, r.failures, r.transcript.join("\n"));
    }
    assert_eq!(server.hits("/payments").len(), 1);
    // Without the executor, the same file fails where the webhook matters.
    let store_only = frontdesk_flow::convo::run_file(&data("balance.test.yaml"), None).unwrap();
    assert!(store_only.iter().any(|r| !r.passed()));
}
