//! Webhook subscriptions over real TCP against a real SQLite file: create (secret once), list,
//! get, delete, validation messages, and the deliveries listing after the dispatcher has sent a
//! call's events to a receiver on loopback TCP (signature checked with the secret).

#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use frontdesk_api::{Api, ApiConfig, SystemClock};
use frontdesk_store::{ApiKeyStore, CallStore, Direction, NewCall, SqliteStore, Store};
use frontdesk_types::{CallId, Pii};
use frontdesk_webhook::dispatch::{self, DispatchConfig};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Env {
    addr: SocketAddr,
    key: String,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

struct Resp {
    status: u16,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn start() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let key = store.create_api_key("test", &[7u8; 32], Timestamp::UNIX_EPOCH).unwrap().key.into_inner();
    let api = Api::new(store.clone(), Arc::new(SystemClock), ApiConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(frontdesk_api::serve(listener, api));
    Env { addr, key, store, _dir: dir }
}

impl Env {
    async fn req(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.key,
            body.len()
        );
        let mut s = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out).to_string();
        let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = headers.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        Resp { status, body: body.to_string() }
    }
}

/// What the receiver got: (signature header, body) per request.
type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A receiver that answers 200 to everything and keeps (signature header, body) of each request.
async fn receiver() -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { return };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_len, len) = loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (i + 4, len);
                    }
                };
                while buf.len() < head_len + len {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_len]).to_string();
                let sig = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(name, _)| name.eq_ignore_ascii_case("x-frontdesk-signature"))
                    .map(|(_, v)| v.trim().to_string())
                    .unwrap_or_default();
                log.lock().unwrap().push((sig, buf[head_len..head_len + len].to_vec()));
                let _ =
                    s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn create_list_get_delete_and_validation() {
    let env = start().await;
    let created = env
        .req(
            "POST",
            "/v1/webhooks",
            Some(&json!({"url": "http://127.0.0.1:9/hook", "events": ["call.ended", "*"]})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let c = created.json();
    let id = c["id"].as_i64().unwrap();
    assert!(c["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(c["events"], json!(["*", "call.ended"]));

    // The secret is never shown again.
    let got = env.req("GET", &format!("/v1/webhooks/{id}"), None).await;
    assert_eq!(got.status, 200);
    assert!(got.json().get("secret").is_none());
    assert_eq!(got.json()["url"], "http://127.0.0.1:9/hook");
    let list = env.req("GET", "/v1/webhooks", None).await.json();
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("whsec_"));

    // Bad input: a clear 400 naming the problem.
    let bad = env
        .req("POST", "/v1/webhooks", Some(&json!({"url": "http://x/", "events": ["call.exploded"]})))
        .await;
    assert_eq!(bad.status, 400);
    let msg = bad.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("call.exploded") && msg.contains("call.started") && msg.contains("appointment.booked"),
        "{msg}"
    );
    let https = env
        .req("POST", "/v1/webhooks", Some(&json!({"url": "https://example.test/h", "events": ["*"]})))
        .await;
    assert_eq!(https.status, 201, "https receivers are accepted: {}", https.body);
    let https_id = https.json()["id"].as_i64().unwrap();
    assert_eq!(env.req("DELETE", &format!("/v1/webhooks/{https_id}"), None).await.status, 204);
    // Against the schema (scheme, characters): 400; schema-valid but no host: 422.
    for url in ["ftp://x/", "not a url", "http://m\u{f2}/"] {
        let r = env.req("POST", "/v1/webhooks", Some(&json!({"url": url, "events": ["*"]}))).await;
        assert_eq!(r.status, 400, "{url}: {}", r.body);
    }
    for url in ["http:///path", "https://:80/"] {
        let r = env.req("POST", "/v1/webhooks", Some(&json!({"url": url, "events": ["*"]}))).await;
        assert_eq!(
            (r.status, r.json()["error"]["code"].as_str()),
            (422, Some("bad_url")),
            "{url}: {}",
            r.body
        );
    }
    let empty = env.req("POST", "/v1/webhooks", Some(&json!({"url": "http://x/", "events": []}))).await;
    assert_eq!(empty.status, 400);
    assert_eq!(env.req("GET", "/v1/webhooks/abc", None).await.status, 400);
    assert_eq!(env.req("GET", "/v1/webhooks/999", None).await.status, 404);
    assert_eq!(env.req("GET", "/v1/webhooks/999/deliveries", None).await.status, 404);

    assert_eq!(env.req("DELETE", &format!("/v1/webhooks/{id}"), None).await.status, 204);
    assert_eq!(env.req("DELETE", &format!("/v1/webhooks/{id}"), None).await.status, 404);
    assert_eq!(env.req("GET", "/v1/webhooks", None).await.json()["webhooks"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_delivered_and_listed_with_its_deliveries() {
    let env = start().await;
    let (url, seen) = receiver().await;
    let created = env.req("POST", "/v1/webhooks", Some(&json!({"url": url, "events": ["*"]}))).await.json();
    let (id, secret) = (created["id"].as_i64().unwrap(), created["secret"].as_str().unwrap().to_string());
    let handle = dispatch::spawn(env.store.clone() as Arc<dyn Store>, DispatchConfig::default());

    let call = CallId("api-call-1".into());
    env.store
        .start_call(&NewCall {
            id: call.clone(),
            direction: Direction::Inbound,
            transport: "sip".into(),
            from: Pii::new("+15550001111".into()),
            to: Pii::new("+15559990000".into()),
            flow_name: None,
            flow_version: None,
            started_at: Timestamp::UNIX_EPOCH,
        })
        .unwrap();
    env.store.end_call(&call, Timestamp::UNIX_EPOCH, "completed").unwrap();

    let path = format!("/v1/webhooks/{id}/deliveries");
    let mut delivered = Value::Null;
    for _ in 0..500 {
        let v = env.req("GET", &format!("{path}?status=delivered"), None).await.json();
        if v["deliveries"].as_array().is_some_and(|d| d.len() == 2) {
            delivered = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.stop().await;
    let rows = delivered["deliveries"].as_array().expect("two deliveries within 10 s");
    assert_eq!(rows[0]["event_type"], "call.ended", "newest first");
    assert_eq!(rows[1]["event_type"], "call.started");
    assert!(
        rows.iter().all(|r| r["attempts"] == 1 && r["last_status"] == 200 && r["call_id"] == "api-call-1")
    );

    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    for (sig, body) in &got {
        assert!(frontdesk_webhook::verify(secret.as_bytes(), sig, body).is_some(), "signature {sig:?}");
    }
    let first: Value = serde_json::from_slice(&got[0].1).unwrap();
    assert_eq!(first["type"], "call.started");
    assert_eq!(first["data"]["from"], "+15550001111");

    // Pages and filters.
    let page = env.req("GET", &format!("{path}?limit=1"), None).await.json();
    assert_eq!(page["deliveries"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let next = env.req("GET", &format!("{path}?limit=1&cursor={cursor}"), None).await.json();
    assert_eq!(next["deliveries"][0]["event_type"], "call.started");
    assert_eq!(env.req("GET", &format!("{path}?status=failed"), None).await.json()["deliveries"], json!([]));
    assert_eq!(env.req("GET", &format!("{path}?status=lost"), None).await.status, 400);
    assert_eq!(env.req("GET", &format!("{path}?cursor=zz"), None).await.status, 400);
}
