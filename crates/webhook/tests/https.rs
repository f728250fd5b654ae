//! The webhook client over TLS against a real https server on loopback TCP (hyper behind
//! tokio-rustls), with a certificate from a CA made at test time: the signed POST and the flow
//! node's GET arrive intact; a server whose certificate is not trusted fails at once with an error
//! that says so; a bad extra CA file is refused when the client is built.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use frontdesk_http_client::test_util::TestCa;
use frontdesk_webhook::{
    CA_FILE_ENV, CallOptions, ExtraCa, Method, SIGNATURE_HEADER, WebhookCall, WebhookClient, WebhookError,
    verify,
};
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    signature: Option<String>,
    body: Bytes,
}

/// An https server on 127.0.0.1:0 with `ca`'s certificate, answering `{"ok": true}` to every
/// request and recording it.
async fn tls_server(ca: &TestCa) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    let acceptor = ca.acceptor();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (log, acceptor) = (log.clone(), acceptor.clone());
            tokio::spawn(async move {
                // A client that does not trust the certificate aborts the handshake here.
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let method = req.method().to_string();
                        let path = req.uri().path().to_owned();
                        let signature = req
                            .headers()
                            .get(SIGNATURE_HEADER)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        log.lock().unwrap().push(Seen { method, path, signature, body });
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(r#"{"ok":true}"#))))
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), svc).await;
            });
        }
    });
    (base, seen)
}

fn opts() -> CallOptions {
    CallOptions {
        timeout: Duration::from_secs(5),
        retries: 2,
        backoff: Duration::from_millis(20),
        ..Default::default()
    }
}

/// A client trusting `ca` through an explicit extra CA file (not the process-wide variable).
fn trusting(ca: &TestCa, dir: &tempfile::TempDir) -> WebhookClient {
    let path = dir.path().join("ca.pem");
    ca.write_ca(&path);
    WebhookClient::with_extra_ca(&ExtraCa::File(path)).unwrap()
}

#[tokio::test]
async fn https_post_reaches_the_receiver_signed() {
    let ca = TestCa::new();
    let (base, seen) = tls_server(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let client = trusting(&ca, &dir);

    let o = CallOptions { signature: Some((b"topsecret".to_vec(), 1_763_800_000)), ..opts() };
    let r = client.post_json(&format!("{base}/hook"), &json!({"name": "Ada"}), &o).await.unwrap();
    assert_eq!((r.status, r.attempts, r.body.clone()), (200, 1, json!({"ok": true})));

    // The flow node's request: GET with a query string.
    let call = WebhookCall {
        method: Method::Get,
        url: format!("{base}/balance?id=7"),
        headers: vec![("x-api-key".into(), "k".into())],
        body: None,
    };
    let r = client.call(&call, &opts()).await.unwrap();
    assert_eq!(r.body, json!({"ok": true}));

    // The event dispatcher's single attempt.
    let status = client
        .post_once(
            &format!("{base}/event"),
            Bytes::from_static(br#"{"type":"call.started"}"#),
            &[],
            Some((b"evsecret", 1_763_800_001)),
            Duration::from_secs(5),
            1024,
        )
        .await
        .unwrap();
    assert_eq!(status, 200);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    let post = &seen[0];
    assert_eq!((post.method.as_str(), post.path.as_str()), ("POST", "/hook"));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&post.body).unwrap(), json!({"name": "Ada"}));
    let header = post.signature.as_deref().unwrap();
    assert_eq!(verify(b"topsecret", header, &post.body), Some(1_763_800_000));
    assert_eq!(verify(b"wrong", header, &post.body), None);
    assert_eq!((seen[1].method.as_str(), seen[1].path.as_str()), ("GET", "/balance"));
    let ev = &seen[2];
    assert_eq!((ev.path.as_str(), &ev.body[..]), ("/event", &br#"{"type":"call.started"}"#[..]));
    assert_eq!(verify(b"evsecret", ev.signature.as_deref().unwrap(), &ev.body), Some(1_763_800_001));
}

#[tokio::test]
async fn an_untrusted_certificate_fails_at_once_and_says_so() {
    let ca = TestCa::new();
    let (base, seen) = tls_server(&ca).await;
    // The built-in roots only: the test CA is not among them.
    let client = WebhookClient::with_extra_ca(&ExtraCa::None).unwrap();
    // Fails within 2 s: no hang, and no retries with backoff.
    let e = tokio::time::timeout(
        Duration::from_secs(2),
        client.post_json(&format!("{base}/hook"), &json!({}), &opts()),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    let WebhookError::Connect { attempts, why, .. } = &e else { panic!("{e}") };
    assert_eq!(*attempts, 1, "not retried: {e}");
    assert!(why.contains("certificate is not trusted") && why.contains(CA_FILE_ENV), "{e}");

    // Trusting another CA does not help either; the dispatcher's attempt says the same.
    let dir = tempfile::tempdir().unwrap();
    let other = trusting(&TestCa::new(), &dir);
    let e = other
        .post_once(
            &format!("{base}/event"),
            Bytes::from_static(b"{}"),
            &[],
            None,
            Duration::from_secs(5),
            1024,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("certificate is not trusted"), "{e}");
    assert!(seen.lock().unwrap().is_empty(), "nothing was sent to an untrusted server");
}

#[test]
fn a_bad_extra_ca_file_is_refused_when_the_client_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.pem");
    let e = WebhookClient::with_extra_ca(&ExtraCa::File(missing)).unwrap_err();
    assert!(matches!(e, WebhookError::Tls(_)), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("nope.pem") && msg.contains(CA_FILE_ENV), "{msg}");

    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    let msg = WebhookClient::with_extra_ca(&ExtraCa::File(bad)).unwrap_err().to_string();
    assert!(msg.contains("bad.pem") && msg.contains("no CERTIFICATE"), "{msg}");
}
