//! The webhook client against a real HTTP server on loopback TCP (hyper), which records every
//! request it gets: retries on 5xx and not on 4xx, the timeout, the signature as a receiver
//! checks it, the size cap and result mapping.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use frontdesk_webhook::{CallOptions, SIGNATURE_HEADER, WebhookClient, WebhookError, lookup, verify};
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    signature: Option<String>,
    body: Bytes,
}

/// Serves on 127.0.0.1:0. Paths: `/ok` answers JSON; `/flaky` 503 twice then 200; `/down`
/// always 500; `/bad` 400; `/slow` sleeps 2 s; `/big` 100 kB; `/text` a non-JSON body.
async fn server() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let log = log.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        let signature = req
                            .headers()
                            .get(SIGNATURE_HEADER)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let n = {
                            let mut l = log.lock().unwrap();
                            l.push(Seen { path: path.clone(), signature, body });
                            l.iter().filter(|s| s.path == path).count()
                        };
                        let (status, text) = match path.as_str() {
                            "/ok" => {
                                (200, r#"{"patient":{"balance":"$20","visits":[{"id":"a1"}]}}"#.to_owned())
                            }
                            "/flaky" if n <= 2 => (503, String::new()),
                            "/flaky" => (200, r#"{"ok":true}"#.to_owned()),
                            "/down" => (500, String::new()),
                            "/bad" => (400, r#"{"error":"no"}"#.to_owned()),
                            "/slow" => {
                                tokio::time::sleep(Duration::from_secs(2)).await;
                                (200, "{}".to_owned())
                            }
                            "/big" => (200, format!("\"{}\"", "x".repeat(100_000))),
                            _ => (200, "not json".to_owned()),
                        };
                        let mut r = Response::new(Full::new(Bytes::from(text)));
                        *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        Ok::<_, Infallible>(r)
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), svc).await;
            });
        }
    });
    (base, seen)
}

fn fast() -> CallOptions {
    CallOptions {
        timeout: Duration::from_millis(500),
        retries: 2,
        backoff: Duration::from_millis(20),
        ..Default::default()
    }
}

fn count(seen: &Arc<Mutex<Vec<Seen>>>, path: &str) -> usize {
    seen.lock().unwrap().iter().filter(|s| s.path == path).count()
}

#[tokio::test]
async fn posts_signed_json_and_maps_the_result() {
    let (base, seen) = server().await;
    let c = WebhookClient::new();
    let opts = CallOptions { signature: Some((b"topsecret".to_vec(), 1_763_800_000)), ..fast() };
    let r = c.post_json(&format!("{base}/ok"), &json!({"name": "Ada"}), &opts).await.unwrap();
    assert_eq!((r.status, r.attempts), (200, 1));
    assert_eq!(lookup(&r.body, "patient.balance"), Some(&json!("$20")));
    assert_eq!(lookup(&r.body, "/patient/visits/0/id"), Some(&json!("a1")));
    let s = seen.lock().unwrap()[0].clone();
    assert_eq!(s.body.as_ref(), br#"{"name":"Ada"}"#);
    let header = s.signature.unwrap();
    assert!(header.starts_with("t=1763800000,v1="), "{header}");
    assert_eq!(verify(b"topsecret", &header, &s.body), Some(1_763_800_000));
    assert_eq!(verify(b"wrong", &header, &s.body), None);
}

#[tokio::test]
async fn retries_5xx_with_backoff_then_succeeds() {
    let (base, seen) = server().await;
    let r = WebhookClient::new().post_json(&format!("{base}/flaky"), &json!({}), &fast()).await.unwrap();
    assert_eq!(r.attempts, 3);
    assert_eq!(count(&seen, "/flaky"), 3);
    let e = WebhookClient::new().post_json(&format!("{base}/down"), &json!({}), &fast()).await.unwrap_err();
    assert!(matches!(e, WebhookError::Status { status: 500, attempts: 3, .. }), "{e}");
    assert_eq!(count(&seen, "/down"), 3);
}

#[tokio::test]
async fn does_not_retry_4xx() {
    let (base, seen) = server().await;
    let e = WebhookClient::new().post_json(&format!("{base}/bad"), &json!({}), &fast()).await.unwrap_err();
    assert!(matches!(e, WebhookError::Status { status: 400, attempts: 1, .. }), "{e}");
    assert_eq!(count(&seen, "/bad"), 1);
}

#[tokio::test]
async fn times_out_each_attempt() {
    let (base, seen) = server().await;
    let opts = CallOptions { timeout: Duration::from_millis(150), retries: 1, ..fast() };
    #[allow(clippy::disallowed_methods, reason = "the test measures the real timeout on the wall clock")]
    let started = tokio::time::Instant::now();
    let e = WebhookClient::new().post_json(&format!("{base}/slow"), &json!({}), &opts).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(e, WebhookError::Timeout { timeout_ms: 150, attempts: 2, .. }), "{e}");
    assert_eq!(count(&seen, "/slow"), 2);
    assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(1500), "{took:?}");
}

#[tokio::test]
async fn caps_the_body_and_rejects_non_json() {
    let (base, _) = server().await;
    let c = WebhookClient::new();
    let e = c.post_json(&format!("{base}/big"), &json!({}), &fast()).await.unwrap_err();
    assert!(matches!(e, WebhookError::TooLarge { limit: 65536, .. }), "{e}");
    let e = c.post_json(&format!("{base}/text"), &json!({}), &fast()).await.unwrap_err();
    assert!(matches!(e, WebhookError::NotJson { .. }), "{e}");
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    // Bind then drop a listener: its port is (almost certainly) closed now.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let e =
        WebhookClient::new().post_json(&format!("http://{addr}/x"), &json!({}), &fast()).await.unwrap_err();
    assert!(matches!(e, WebhookError::Connect { attempts: 3, .. }), "{e}");
    let e = WebhookClient::new().post_json("ftp://example.com/x", &json!({}), &fast()).await.unwrap_err();
    assert!(matches!(e, WebhookError::BadUrl { .. }), "{e}");
}
