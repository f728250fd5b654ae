//! The API over real TCP against a real SQLite file: authentication, errors, flows, calls,
//! live-call control, OpenAPI, metrics and readiness.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use frontdesk_api::{Api, ApiConfig, CallControl, ControlError, Originate, SystemClock};
use frontdesk_store::{ApiKeyStore, CallStore, Direction, NewCall, SqliteStore, Turn};
use frontdesk_types::{CallId, Pii};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLINIC: &str = include_str!("../../../flows/clinic.yaml");

struct Resp {
    status: u16,
    headers: String,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

struct Env {
    addr: SocketAddr,
    key: String,
    store: Arc<SqliteStore>,
    control: Arc<FakeControl>,
    _dir: tempfile::TempDir,
}

#[derive(Debug, Default)]
struct FakeControl {
    log: Mutex<Vec<String>>,
}

impl CallControl for FakeControl {
    fn originate(&self, req: Originate) -> Result<CallId, ControlError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("originate {} {} v{} {:?}", req.to, req.flow, req.flow_version, req.variables));
        Ok(CallId("out-1".into()))
    }
    fn say(&self, call: &CallId, text: &str, interrupt: bool) -> Result<(), ControlError> {
        if call.0 != "live-1" {
            return Err(ControlError::NotLive(call.0.clone()));
        }
        self.log.lock().unwrap().push(format!("say {} {text} {interrupt}", call.0));
        Ok(())
    }
    fn transfer(&self, call: &CallId, target: &str) -> Result<(), ControlError> {
        self.log.lock().unwrap().push(format!("transfer {} {target}", call.0));
        Ok(())
    }
    fn hangup(&self, call: &CallId) -> Result<(), ControlError> {
        self.log.lock().unwrap().push(format!("hangup {}", call.0));
        Ok(())
    }
}

async fn start(config: ApiConfig) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let key = store.create_api_key("test", &[7u8; 32], Timestamp::UNIX_EPOCH).unwrap().key.into_inner();
    let control = Arc::new(FakeControl::default());
    let api = Api::with_control(store.clone(), Arc::new(SystemClock), config, Some(control.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(frontdesk_api::serve(listener, api));
    Env { addr, key, store, control, _dir: dir }
}

impl Env {
    async fn raw(&self, head: &str, body: &[u8]) -> Resp {
        let mut s = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out).to_string();
        let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = headers.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        Resp { status, headers: headers.to_string(), body: body.to_string() }
    }

    async fn req(&self, method: &str, path: &str, ctype: Option<&str>, body: &str) -> Resp {
        let ct = ctype.map(|c| format!("Content-Type: {c}\r\n")).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {}\r\n{ct}Content-Length: {}\r\n\r\n",
            self.key,
            body.len()
        );
        self.raw(&head, body.as_bytes()).await
    }

    async fn get(&self, path: &str) -> Resp {
        self.req("GET", path, None, "").await
    }

    async fn post_json(&self, path: &str, v: &Value) -> Resp {
        self.req("POST", path, Some("application/json"), &v.to_string()).await
    }

    async fn put_yaml(&self, path: &str, yaml: &str) -> Resp {
        self.req("PUT", path, Some("application/yaml"), yaml).await
    }
}

#[tokio::test]
async fn keys_are_required_and_errors_are_json() {
    let env = start(ApiConfig { body_limit: 4096 }).await;
    let none = env.raw("GET /v1/calls HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", b"").await;
    assert_eq!(none.status, 401);
    assert_eq!(none.code(), "unauthorized");
    assert!(none.headers.to_ascii_lowercase().contains("www-authenticate: bearer"));
    let bad = env
        .raw(
            "GET /v1/calls HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer fdk_00\r\n\r\n",
            b"",
        )
        .await;
    assert_eq!(bad.status, 401);
    // A revoked key stops working at once.
    let k2 = env.store.create_api_key("second", &[9u8; 32], Timestamp::UNIX_EPOCH).unwrap();
    let with = |k: &str| {
        format!("GET /v1/flows HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {k}\r\n\r\n")
    };
    assert_eq!(env.raw(&with(k2.key.expose()), b"").await.status, 200);
    env.store.revoke_api_key(k2.id, Timestamp::UNIX_EPOCH).unwrap();
    assert_eq!(env.raw(&with(k2.key.expose()), b"").await.status, 401);

    let nf = env.get("/v1/nothing").await;
    assert_eq!((nf.status, nf.code().as_str()), (404, "not_found"));
    let m = env.req("DELETE", "/v1/calls", None, "").await;
    assert_eq!(m.status, 405);
    assert!(m.headers.contains("allow: GET, POST"), "{}", m.headers);

    let malformed =
        env.req("POST", "/v1/flows/f/rollback", Some("application/json"), "{\"version\": 1,").await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.code(), "malformed_json");
    let msg = malformed.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("line 1 column 14"), "{msg}");
    let wrong = env.post_json("/v1/flows/f/rollback", &json!({"version": "one"})).await;
    assert_eq!((wrong.status, wrong.code().as_str()), (400, "invalid_request"));
    assert!(wrong.body.contains("invalid type"), "{}", wrong.body);
    let unknown = env.post_json("/v1/flows/f/rollback", &json!({"version": 1, "x": 2})).await;
    assert!(unknown.body.contains("unknown field `x`"), "{}", unknown.body);
    let ctype = env.req("POST", "/v1/flows/f/rollback", Some("text/plain"), "{}").await;
    assert_eq!(ctype.status, 415);

    let big = "a".repeat(5000);
    let too_big = env.req("POST", "/v1/validate", Some("application/yaml"), &big).await;
    assert_eq!((too_big.status, too_big.code().as_str()), (413, "payload_too_large"));
    // Chunked bodies without a length are cut off at the limit too.
    let chunked = format!(
        "POST /v1/validate HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: application/yaml\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        env.key,
        big.len()
    );
    assert_eq!(env.raw(&chunked, b"").await.status, 413);
}

#[tokio::test]
async fn flows_draft_validate_publish_rollback() {
    let env = start(ApiConfig::default()).await;
    let broken = CLINIC.replace("start: greet", "start: gret");
    let v = env.req("POST", "/v1/validate", Some("application/yaml"), &broken).await;
    assert_eq!(v.status, 200);
    let v = v.json();
    assert_eq!(v["valid"], false);
    let line = CLINIC.lines().position(|l| l == "start: greet").unwrap() + 1;
    let d =
        v["diagnostics"].as_array().unwrap().iter().find(|d| d["code"] == "unknown-node").unwrap().clone();
    assert_eq!(d["line"], line);
    assert_eq!(d["column"], 8);
    assert_eq!(env.req("POST", "/v1/validate", Some("application/yaml"), CLINIC).await.json()["valid"], true);

    // A draft is saved even when invalid; publishing it is refused with the diagnostics.
    let d1 = env.put_yaml("/v1/flows/clinic/draft", &broken).await;
    assert_eq!(d1.status, 200, "{}", d1.body);
    assert_eq!((d1.json()["version"].clone(), d1.json()["valid"].clone()), (json!(1), json!(false)));
    let refused = env.req("POST", "/v1/flows/clinic/versions/1/publish", None, "").await;
    assert_eq!((refused.status, refused.code().as_str()), (409, "flow_invalid"));
    assert!(refused.json()["error"]["details"]["diagnostics"][0]["line"].is_u64());
    // Updating the draft keeps its number; publishing makes it immutable.
    let d1b = env.put_yaml("/v1/flows/clinic/draft", CLINIC).await.json();
    assert_eq!((d1b["version"].clone(), d1b["valid"].clone()), (json!(1), json!(true)));
    let p1 = env.req("POST", "/v1/flows/clinic/versions/1/publish", None, "").await;
    assert_eq!(p1.status, 200);
    assert_eq!(p1.json()["status"], "published");
    let v2yaml = CLINIC.replace("Maple Grove Family Clinic", "Oak Clinic");
    let d2 = env.put_yaml("/v1/flows/clinic/draft", &v2yaml).await.json();
    assert_eq!(d2["version"], 2);
    assert_eq!(env.get("/v1/flows/clinic/versions/1").await.json()["yaml"], CLINIC);
    env.req("POST", "/v1/flows/clinic/versions/2/publish", None, "").await;
    let f = env.get("/v1/flows/clinic").await.json();
    assert_eq!((f["published_version"].clone(), f["latest_version"].clone()), (json!(2), json!(2)));
    assert_eq!(f["published"]["yaml"], v2yaml);

    // Rollback publishes v1's text as v3; history stays. (`1.0` is a JSON Schema integer.)
    let rb = env.post_json("/v1/flows/clinic/rollback", &json!({"version": 1.0})).await;
    assert_eq!(rb.status, 200, "{}", rb.body);
    assert_eq!((rb.json()["version"].clone(), rb.json()["rolled_back_to"].clone()), (json!(3), json!(1)));
    let f = env.get("/v1/flows/clinic").await.json();
    assert_eq!(f["published"]["yaml"], CLINIC);
    assert_eq!(f["published"]["sha256"], f["versions"][0]["sha256"]);
    let vs = env.get("/v1/flows/clinic/versions").await.json();
    assert_eq!(vs["versions"].as_array().unwrap().len(), 3);
    let list = env.get("/v1/flows").await.json();
    assert_eq!(list["flows"][0]["name"], "clinic");
    assert_eq!(list["flows"][0]["published_version"], 3);

    // Rolling back to a draft is a conflict; missing things are 404; bad names 400.
    env.put_yaml("/v1/flows/clinic/draft", "flow: x\n").await;
    let c = env.post_json("/v1/flows/clinic/rollback", &json!({"version": 4})).await;
    assert_eq!((c.status, c.code().as_str()), (409, "not_published"));
    assert_eq!(env.get("/v1/flows/clinic/versions/99").await.status, 404);
    assert_eq!(env.get("/v1/flows/nope").await.status, 404);
    assert_eq!(env.get("/v1/flows/clinic/versions/zero").await.status, 400);
    assert_eq!(env.put_yaml("/v1/flows/bad%20name/draft", CLINIC).await.status, 400);
    assert_eq!(env.req("PUT", "/v1/flows/clinic/draft", Some("application/json"), "{}").await.status, 415);
}

fn new_call(id: &str, secs: i64, dir: Direction) -> NewCall {
    NewCall {
        id: CallId(id.into()),
        direction: dir,
        transport: "sip".into(),
        from: Pii::new("+16175550100".into()),
        to: Pii::new("+16175550142".into()),
        flow_name: Some("clinic".into()),
        flow_version: Some(1),
        started_at: Timestamp::from_second(secs).unwrap(),
    }
}

fn turn(index: u32, kind: &str, text: &str, conf: Option<f32>, lat: &[(&str, u64)]) -> Turn {
    Turn {
        index,
        kind: kind.into(),
        text: Pii::new(text.into()),
        confidence: conf,
        latencies_ms: lat.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
        at: Timestamp::from_second(1_800_000_000 + i64::from(index)).unwrap(),
    }
}

#[tokio::test]
async fn calls_list_fetch_timeline_transcript() {
    let env = start(ApiConfig::default()).await;
    let turns = [
        turn(
            0,
            "agent",
            "Maple Grove, how can I help?",
            None,
            &[("tts_first_audio", 180), ("heard_ms", 900)],
        ),
        turn(1, "caller", "I'd like to book", Some(0.91), &[("asr_final", 240)]),
        turn(2, "dtmf", "1", None, &[]),
        turn(3, "transfer", "sip:desk@clinic", None, &[]),
    ];
    env.store.record_call(&new_call("c-a", 1_800_000_000, Direction::Inbound), &turns).unwrap();
    env.store
        .end_call(&CallId("c-a".into()), Timestamp::from_second(1_800_000_060).unwrap(), "transferred")
        .unwrap();
    for i in 0..5 {
        let dir = if i % 2 == 0 { Direction::Outbound } else { Direction::Inbound };
        env.store.start_call(&new_call(&format!("c-{i}"), 1_800_001_000 + i, dir)).unwrap();
    }

    let c = env.get("/v1/calls/c-a").await;
    assert_eq!(c.status, 200);
    let c = c.json();
    assert_eq!(
        (c["status"].clone(), c["disposition"].clone(), c["duration_ms"].clone()),
        (json!("ended"), json!("transferred"), json!(60_000))
    );
    assert_eq!(c["timeline"].as_array().unwrap().len(), 4);
    assert_eq!(c["timeline"][1]["confidence"].as_f64().map(|f| (f * 100.0).round()), Some(91.0));
    assert_eq!(c["timeline"][0]["latencies_ms"]["heard_ms"], 900);
    assert_eq!(c["timeline"][3]["kind"], "transfer");
    assert_eq!(c["transcript"]["text"], "agent: Maple Grove, how can I help?\ncaller: I'd like to book\n");
    let t = env.get("/v1/calls/c-a/transcript").await.json();
    assert_eq!(t["lines"].as_array().unwrap().len(), 2);
    assert_eq!(t["lines"][1]["speaker"], "caller");
    assert_eq!(env.get("/v1/calls/none").await.status, 404);

    // Pagination walks every call once, newest first.
    let mut seen = Vec::new();
    let mut path = "/v1/calls?limit=2".to_string();
    loop {
        let page = env.get(&path).await.json();
        for c in page["calls"].as_array().unwrap() {
            seen.push(c["id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(cur) => path = format!("/v1/calls?limit=2&cursor={cur}"),
            None => break,
        }
    }
    assert_eq!(seen, ["c-4", "c-3", "c-2", "c-1", "c-0", "c-a"]);
    let out = env.get("/v1/calls?direction=outbound&status=live").await.json();
    let ids: Vec<_> =
        out["calls"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, ["c-4", "c-2", "c-0"]);
    let since = env.get("/v1/calls?since=2027-01-15T08:08:20Z").await.json();
    assert_eq!(since["calls"].as_array().unwrap().len(), 5, "{since}");
    let ended = env.get("/v1/calls?status=ended&phone=%2B1%20617%20555%200100").await.json();
    assert_eq!(ended["calls"].as_array().unwrap().len(), 1);
    for bad in
        ["/v1/calls?limit=0", "/v1/calls?direction=up", "/v1/calls?since=yesterday", "/v1/calls?cursor=zz"]
    {
        let r = env.get(bad).await;
        assert_eq!((r.status, r.code().as_str()), (400, "bad_query"), "{bad}");
    }
}

#[tokio::test]
async fn live_control_and_originate_go_through_call_control() {
    let env = start(ApiConfig::default()).await;
    let o = env.post_json("/v1/calls", &json!({"to": "+16175550100", "flow": "clinic"})).await;
    assert_eq!((o.status, o.code().as_str()), (409, "flow_not_published"));
    env.put_yaml("/v1/flows/clinic/draft", CLINIC).await;
    env.req("POST", "/v1/flows/clinic/versions/1/publish", None, "").await;
    let o = env
        .post_json(
            "/v1/calls",
            &json!({"to": "sip:bob@192.0.2.7", "flow": "clinic", "variables": {"name": "Ann"}}),
        )
        .await;
    assert_eq!(o.status, 202, "{}", o.body);
    assert_eq!((o.json()["call_id"].clone(), o.json()["flow_version"].clone()), (json!("out-1"), json!(1)));
    assert_eq!(env.post_json("/v1/calls", &json!({"to": "bob", "flow": "clinic"})).await.status, 400);

    assert_eq!(
        env.post_json("/v1/calls/live-1/say", &json!({"text": "One moment", "interrupt": true})).await.status,
        202
    );
    let gone = env.post_json("/v1/calls/other/say", &json!({"text": "hi"})).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        env.post_json("/v1/calls/live-1/transfer", &json!({"target": "sip:desk@clinic"})).await.status,
        202
    );
    assert_eq!(env.req("POST", "/v1/calls/live-1/hangup", None, "").await.status, 202);
    let log = env.control.log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "originate sip:bob@192.0.2.7 clinic v1 {\"name\": \"Ann\"}",
            "say live-1 One moment true",
            "transfer live-1 sip:desk@clinic",
            "hangup live-1"
        ]
    );
}

#[tokio::test]
async fn ops_endpoints_metrics_readyz_openapi() {
    let env = start(ApiConfig::default()).await;
    let r = env.raw("GET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["checks"]["store"], "ok");
    env.get("/v1/calls").await;
    env.get("/v1/calls/x").await;
    let m = env.raw("GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", b"").await;
    assert_eq!(m.status, 200);
    assert!(m.headers.contains("text/plain; version=0.0.4"));
    assert!(
        m.body
            .contains("frontdesk_http_requests_total{method=\"GET\",route=\"/v1/calls\",status=\"200\"} 1\n"),
        "{}",
        m.body
    );
    assert!(m.body.contains(
        "frontdesk_http_requests_total{method=\"GET\",route=\"/v1/calls/{id}\",status=\"404\"} 1\n"
    ));
    assert!(m.body.contains("# TYPE frontdesk_turn_latency_seconds histogram"));
    let o = env.raw("GET /openapi.json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", b"").await;
    assert_eq!(o.json()["openapi"], "3.1.0");
}
