//! The LLM client against a real local HTTP server that speaks the OpenAI chat-completions JSON
//! and returns scripted completions: a valid route, a wrong route name, malformed content, an
//! undeclared and a declared tool call, slot values, a 500, a timeout; and the same server over
//! TLS with a certificate from a CA made at test time (trusted through an extra CA file, and not
//! trusted without it). (There is no real LLM on the build machine; these are the only LLM tests.)

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use frontdesk_flow::{LlmAsk, LlmFailure, LlmOutcome, LlmRequest};
use frontdesk_http_client::test_util::TestCa;
use frontdesk_llm::{CA_FILE_ENV, ExtraCa, LlmClient, LlmConfig, LlmError, Prompts};
use frontdesk_types::Pii;
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// What the fake LLM got: the Authorization header and the JSON body.
type Seen = Arc<Mutex<Vec<(Option<String>, serde_json::Value)>>>;

/// A server answering every request with `status`, `body` after `delay`.
async fn fake_llm(status: u16, body: serde_json::Value, delay: Duration) -> (String, Seen) {
    fake_llm_on(None, status, body, delay).await
}

/// As [`fake_llm`]; over TLS with `ca`'s server certificate (an `https://` URL) when given.
async fn fake_llm_on(
    ca: Option<&TestCa>,
    status: u16,
    body: serde_json::Value,
    delay: Duration,
) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let log = seen.clone();
    let acceptor = ca.map(TestCa::acceptor);
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = l.accept().await else { continue };
            let (log, body) = (log.clone(), body.clone());
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    None => serve(TokioIo::new(sock), log, status, body, delay).await,
                    Some(a) => {
                        // A client that does not trust the certificate ends the handshake here.
                        let Ok(tls) = a.accept(sock).await else { return };
                        serve(TokioIo::new(tls), log, status, body, delay).await;
                    }
                }
            });
        }
    });
    (format!("{scheme}://{addr}"), seen)
}

/// Serves one connection: records each request, answers `status`, `body` after `delay`.
async fn serve<IO>(io: IO, log: Seen, status: u16, body: serde_json::Value, delay: Duration)
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
        let (log, body) = (log.clone(), body.clone());
        async move {
            let auth = req.headers().get("authorization").map(|v| v.to_str().unwrap().to_owned());
            let b = req.into_body().collect().await.unwrap().to_bytes();
            log.lock().unwrap().push((auth, serde_json::from_slice(&b).unwrap()));
            tokio::time::sleep(delay).await;
            let r = Response::builder().status(status).body(Full::new(Bytes::from(body.to_string())));
            Ok::<_, Infallible>(r.unwrap())
        }
    });
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
}

fn completion(content: &str) -> serde_json::Value {
    serde_json::json!({"id": "x", "object": "chat.completion", "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]})
}

fn tool_call(name: &str, args: &str) -> serde_json::Value {
    serde_json::json!({"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": null,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": name, "arguments": args}}]}}]})
}

fn prompts() -> Prompts {
    Prompts::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../prompts")).unwrap()
}

fn route_req() -> LlmRequest {
    LlmRequest {
        node: "triage".into(),
        prompt: "routing.md".into(),
        utterance: Pii::new("I got a letter about money I owe".into()),
        vars: Pii::new(BTreeMap::from([("business".to_owned(), "Acme Dental".to_owned())])),
        ask: LlmAsk::Route(vec![
            ("billing".into(), "questions about a bill".into()),
            ("booking".into(), "book a visit".into()),
        ]),
        tools: vec!["check_balance".into()],
        timeout_ms: 500,
    }
}

async fn ask(status: u16, body: serde_json::Value, delay: Duration, req: &LlmRequest) -> (LlmOutcome, Seen) {
    let (url, seen) = fake_llm(status, body, delay).await;
    let c =
        LlmClient::new(LlmConfig { url, model: "test-model".into(), api_key: Some("k-123".into()) }).unwrap();
    (c.decide(&prompts(), req).await, seen)
}

#[tokio::test]
async fn a_valid_route_and_what_the_model_is_sent() {
    let req = route_req();
    let (o, seen) = ask(200, completion(r#"{"route": "billing"}"#), Duration::ZERO, &req).await;
    assert_eq!(o, LlmOutcome::Route("billing".into()));
    let seen = seen.lock().unwrap();
    let (auth, body) = &seen[0];
    assert_eq!(auth.as_deref(), Some("Bearer k-123"));
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["response_format"]["type"], "json_object");
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("You route phone calls for Acme Dental"), "{system}");
    assert!(system.contains("- billing: questions about a bill\n- booking: book a visit"), "{system}");
    assert!(system.contains(r#"{"route": "<one of: billing, booking>"}"#), "{system}");
    assert_eq!(body["messages"][1]["content"], "I got a letter about money I owe");
    assert_eq!(body["tools"][0]["function"]["name"], "check_balance");
}

#[tokio::test]
async fn a_route_name_not_offered_is_refused() {
    let (o, _) = ask(200, completion(r#"{"route": "refunds"}"#), Duration::ZERO, &route_req()).await;
    assert_eq!(o, LlmOutcome::Failed(LlmFailure::InvalidAnswer("refunds".into())));
}

#[tokio::test]
async fn malformed_answers_are_failures() {
    for content in ["billing", r#"{"choice": "billing"}"#, "```json\n{\"route\": \n```", ""] {
        let (o, _) = ask(200, completion(content), Duration::ZERO, &route_req()).await;
        assert_eq!(o, LlmOutcome::Failed(LlmFailure::Malformed), "{content:?}");
    }
    // A fenced JSON answer is read.
    let (o, _) =
        ask(200, completion("```json\n{\"route\": \"booking\"}\n```"), Duration::ZERO, &route_req()).await;
    assert_eq!(o, LlmOutcome::Route("booking".into()));
    // Not chat-completions JSON at all.
    let (o, _) = ask(200, serde_json::json!({"error": "?"}), Duration::ZERO, &route_req()).await;
    assert_eq!(o, LlmOutcome::Failed(LlmFailure::Malformed));
}

#[tokio::test]
async fn only_declared_tools_may_be_called() {
    let (o, _) = ask(200, tool_call("delete_patient", r#"{"id": "7"}"#), Duration::ZERO, &route_req()).await;
    assert_eq!(o, LlmOutcome::Failed(LlmFailure::UndeclaredTool("delete_patient".into())));
    let (o, _) =
        ask(200, tool_call("check_balance", r#"{"account": 42}"#), Duration::ZERO, &route_req()).await;
    assert_eq!(
        o,
        LlmOutcome::Tool { name: "check_balance".into(), args: vec![("account".into(), "42".into())] }
    );
    let (o, _) = ask(200, tool_call("check_balance", "not json"), Duration::ZERO, &route_req()).await;
    assert_eq!(o, LlmOutcome::Failed(LlmFailure::Malformed));
}

#[tokio::test]
async fn slot_values_are_returned_as_said() {
    let mut req = route_req();
    req.prompt = "slots.md".into();
    req.ask = LlmAsk::Slots(vec![("when".into(), "datetime".into()), ("party".into(), "number".into())]);
    let (o, seen) = ask(
        200,
        completion(r#"{"slots": {"when": "next Tuesday at 3", "party": null, "extra": "x"}}"#),
        Duration::ZERO,
        &req,
    )
    .await;
    assert_eq!(o, LlmOutcome::Slots(vec![("when".into(), "next Tuesday at 3".into())]));
    let system = seen.lock().unwrap()[0].1["messages"][0]["content"].as_str().unwrap().to_owned();
    assert!(system.contains("- when (datetime)\n- party (number)"), "{system}");
}

#[tokio::test]
async fn errors_and_timeouts_are_failures() {
    let (o, _) = ask(500, serde_json::json!({"error": "overloaded"}), Duration::ZERO, &route_req()).await;
    assert_eq!(o, LlmOutcome::Failed(LlmFailure::Unavailable));
    let (o, _) =
        ask(200, completion(r#"{"route": "billing"}"#), Duration::from_millis(1500), &route_req()).await;
    assert_eq!(o, LlmOutcome::Failed(LlmFailure::Timeout));
    // Nothing listening.
    let c = LlmClient::new(LlmConfig { url: "http://127.0.0.1:9".into(), model: "m".into(), api_key: None })
        .unwrap();
    assert_eq!(c.decide(&prompts(), &route_req()).await, LlmOutcome::Failed(LlmFailure::Unavailable));
    // A prompt file that does not exist.
    let mut req = route_req();
    req.prompt = "nope.md".into();
    assert_eq!(c.decide(&prompts(), &req).await, LlmOutcome::Failed(LlmFailure::NotConfigured));
}

#[test]
fn configuration() {
    let c = |url: &str| LlmConfig { url: url.into(), model: "m".into(), api_key: Some("secret".into()) };
    assert_eq!(c("http://h:1").endpoint(), "http://h:1/v1/chat/completions");
    assert_eq!(c("http://h:1/v1/").endpoint(), "http://h:1/v1/chat/completions");
    assert!(LlmClient::with_extra_ca(c("https://api.example.com"), &ExtraCa::None).is_ok());
    assert!(matches!(
        LlmClient::with_extra_ca(c("ftp://x"), &ExtraCa::None),
        Err(frontdesk_llm::LlmError::BadUrl(_))
    ));
    assert!(!format!("{:?}", c("http://h")).contains("secret"), "the key is not printed");
}

#[tokio::test]
async fn https_with_an_extra_ca() {
    let ca = TestCa::new();
    let (url, seen) =
        fake_llm_on(Some(&ca), 200, completion(r#"{"route": "billing"}"#), Duration::ZERO).await;
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    ca.write_ca(&ca_file);
    let config = LlmConfig { url: url.clone(), model: "test-model".into(), api_key: Some("k-123".into()) };
    let c = LlmClient::with_extra_ca(config.clone(), &ExtraCa::File(ca_file)).unwrap();
    assert_eq!(c.decide(&prompts(), &route_req()).await, LlmOutcome::Route("billing".into()));
    {
        let seen = seen.lock().unwrap();
        let (auth, body) = &seen[0];
        assert_eq!(auth.as_deref(), Some("Bearer k-123"));
        assert_eq!(body["model"], "test-model");
        assert_eq!(body["messages"][1]["content"], "I got a letter about money I owe");
    }

    // Without the CA the server is not trusted: a failure that says so, not a hang.
    let untrusting = LlmClient::with_extra_ca(config, &ExtraCa::None).unwrap();
    let e = tokio::time::timeout(
        Duration::from_secs(2),
        untrusting.chat(&serde_json::json!({}), Duration::from_secs(5)),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert!(matches!(&e, LlmError::Connect(why) if why.contains("certificate is not trusted")), "{e}");
    assert_eq!(
        untrusting.decide(&prompts(), &route_req()).await,
        LlmOutcome::Failed(LlmFailure::Unavailable)
    );
    assert_eq!(seen.lock().unwrap().len(), 1, "nothing reached the untrusted server");
}

#[test]
fn a_bad_extra_ca_file_is_refused_when_the_client_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-ca.pem");
    std::fs::write(&bad, "").unwrap();
    let config = LlmConfig { url: "https://llm.example.com".into(), model: "m".into(), api_key: None };
    let e = LlmClient::with_extra_ca(config, &ExtraCa::File(bad)).unwrap_err();
    assert!(matches!(e, LlmError::Tls(_)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("bad-ca.pem") && msg.contains(CA_FILE_ENV) && msg.contains("no CERTIFICATE"),
        "{msg}"
    );
}
