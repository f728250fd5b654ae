//! The event dispatcher against real HTTP receivers on loopback TCP (hyper) and a real SQLite
//! file: signatures, order per call through a flaky receiver, dead and slow receivers beside a
//! healthy one, and a stop in the middle followed by a restart.
//!
//! Backoff timing is asserted on the simulated clock in `dispatch/planner_tests.rs`; here the
//! schedule is short and the tests only wait (with a generous deadline) for outcomes.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use frontdesk_store::{
    CallStore, DeliveryQuery, DeliveryStatus, EventStore, NewCall, NewWebhook, SqliteStore, Store, Turn,
};
use frontdesk_types::{CallId, Pii};
use frontdesk_webhook::dispatch::{self, Backoff, DELIVERY_HEADER, DispatchConfig, EVENT_HEADER, Limits};
use frontdesk_webhook::{SIGNATURE_HEADER, verify};
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::watch;

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    event: String,
    delivery: String,
    signature: String,
    body: Bytes,
    status: u16,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone)]
struct Receiver {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// `/hold` answers only while this is true.
    gate: watch::Sender<bool>,
}

impl Receiver {
    fn seen(&self, path: &str) -> Vec<Seen> {
        self.seen.lock().unwrap().iter().filter(|s| s.path == path).cloned().collect()
    }

    /// The bodies answered 2xx on `path`, in arrival order.
    fn delivered(&self, path: &str) -> Vec<Seen> {
        self.seen(path).into_iter().filter(|s| (200..300).contains(&s.status)).collect()
    }
}

/// Paths: `/ok` 200; `/flaky` 500 for the first two attempts of each delivery, then 200;
/// `/hold` records the request, then waits for the gate and answers 200.
async fn receiver() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let (gate, _) = watch::channel(true);
    let r = Receiver { base, seen: seen.clone(), gate: gate.clone() };
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (seen, gate) = (seen.clone(), gate.clone());
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (seen, mut gate) = (seen.clone(), gate.subscribe());
                    async move {
                        let path = req.uri().path().to_owned();
                        let h = |n: &str| {
                            req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
                        };
                        let (event, delivery, signature) =
                            (h(EVENT_HEADER), h(DELIVERY_HEADER), h(SIGNATURE_HEADER));
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let status = {
                            let mut l = seen.lock().unwrap();
                            let tries = l.iter().filter(|s| s.path == path && s.delivery == delivery).count();
                            let status = match path.as_str() {
                                "/flaky" if tries < 2 => 500,
                                _ => 200,
                            };
                            l.push(Seen { path: path.clone(), event, delivery, signature, body, status });
                            status
                        };
                        if path == "/hold" {
                            let _ = gate.wait_for(|open| *open).await;
                        }
                        let mut resp = Response::new(Full::new(Bytes::from_static(b"ok")));
                        *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), svc).await;
            });
        }
    });
    r
}

fn config() -> DispatchConfig {
    DispatchConfig {
        // Long enough that a loaded machine does not time out a healthy receiver.
        timeout: Duration::from_secs(2),
        poll_interval: Duration::from_millis(200),
        backoff: Backoff {
            schedule: vec![Duration::from_millis(50), Duration::from_millis(100)],
            jitter: 0.2,
            max_attempts: 1000,
            max_age: Duration::from_secs(3600),
        },
        limits: Limits { per_subscription: 4, total: 16 },
        ..DispatchConfig::default()
    }
}

fn store() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    (dir, store)
}

fn now() -> Timestamp {
    "2026-11-23T14:00:00Z".parse().unwrap()
}

fn subscribe(store: &SqliteStore, url: &str, events: &[&str], seed: u8) -> NewWebhook {
    let events: Vec<String> = events.iter().map(|e| (*e).to_string()).collect();
    store.create_webhook(url, &events, &[seed; 32], now()).unwrap()
}

/// A call with `turns` turns, written the way the voice loop writes it: start, turns, end.
fn call(store: &SqliteStore, id: &str, turns: u32) {
    let call = CallId(id.into());
    store
        .start_call(&NewCall {
            id: call.clone(),
            direction: frontdesk_store::Direction::Inbound,
            transport: "sip".into(),
            from: Pii::new("+15550001111".into()),
            to: Pii::new("+15559990000".into()),
            flow_name: Some("clinic".into()),
            flow_version: Some(1),
            started_at: now(),
        })
        .unwrap();
    for i in 0..turns {
        let turn = Turn {
            index: i,
            kind: if i % 2 == 0 { "agent" } else { "caller" }.into(),
            text: Pii::new(format!("turn {i}")),
            confidence: None,
            latencies_ms: BTreeMap::new(),
            at: now(),
        };
        store.append_turn(&call, &turn).unwrap();
    }
    store.end_call(&call, now(), "completed").unwrap();
}

async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// (type, turn index) of each payload, for order checks.
fn labels(seen: &[Seen]) -> Vec<String> {
    seen.iter()
        .map(|s| {
            let v = s.json();
            match v["data"]["index"].as_u64() {
                Some(i) => format!("{}#{i}", v["type"].as_str().unwrap()),
                None => v["type"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_receiver_gets_every_event_of_a_call_in_order_signed() {
    let rx = receiver().await;
    let (_dir, store) = store();
    let sub = subscribe(&store, &format!("{}/flaky", rx.base), &["*"], 1);
    let handle = dispatch::spawn(store.clone() as Arc<dyn Store>, config());
    call(&store, "call-1", 3);
    until("5 events delivered", || rx.delivered("/flaky").len() == 5).await;

    let all = rx.seen("/flaky");
    // Each delivery failed twice, then went through: 15 requests.
    assert_eq!(all.len(), 15);
    for s in &all {
        let t = verify(sub.secret.expose().as_bytes(), &s.signature, &s.body);
        assert!(t.is_some(), "signature {} does not verify", s.signature);
        assert_eq!(s.json()["type"], s.event.as_str(), "X-Frontdesk-Event is the payload's type");
        assert!(verify(b"another secret", &s.signature, &s.body).is_none());
    }
    // In order, and never the next event before the previous one succeeded: the requests, in
    // arrival order, go A A A B B B C C C...
    let want = ["call.started", "call.turn#0", "call.turn#1", "call.turn#2", "call.ended"];
    assert_eq!(labels(&rx.delivered("/flaky")), want);
    let arrivals: Vec<String> = labels(&all).into_iter().step_by(3).collect();
    assert_eq!(arrivals, want);
    for chunk in all.chunks(3) {
        assert!(chunk.iter().all(|s| s.delivery == chunk[0].delivery), "retries keep the delivery id");
        assert_eq!(chunk.iter().map(|s| s.status).collect::<Vec<_>>(), [500, 500, 200]);
    }
    let first = all[0].json();
    assert_eq!(first["call_id"], "call-1");
    assert_eq!(first["data"]["from"], "+15550001111");
    assert!(first["id"].as_str().unwrap().starts_with("evt_"));

    // The store agrees: delivered after 3 attempts each, nothing pending.
    let id = sub.subscription.id;
    let rows = || store.deliveries(&DeliveryQuery { subscription: id, ..Default::default() }).unwrap();
    until("all recorded", || rows().iter().all(|d| d.status == DeliveryStatus::Delivered)).await;
    let rows = rows();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|d| d.attempts == 3 && d.last_status == Some(200) && d.last_error.is_none()));
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_and_slow_receivers_do_not_hold_up_a_healthy_one_or_the_calls() {
    let rx = receiver().await;
    rx.gate.send_replace(false); // /hold never answers during this test: slower than the timeout
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}/gone")
    };
    let (_dir, store) = store();
    let dead_sub = subscribe(&store, &dead, &["*"], 1);
    let slow_sub = subscribe(&store, &format!("{}/hold", rx.base), &["*"], 2);
    subscribe(&store, &format!("{}/ok", rx.base), &["call.started", "call.ended"], 3);
    let handle = dispatch::spawn(store.clone() as Arc<dyn Store>, config());

    // Ten calls while the slow receiver holds connections open: every write returns (the test
    // would hang otherwise) and the healthy receiver gets both events of every call.
    for i in 0..10 {
        call(&store, &format!("c{i}"), 2);
    }
    let unique = |seen: Vec<Seen>| {
        let mut ids: Vec<String> = seen.into_iter().map(|s| s.delivery).collect();
        ids.sort();
        ids.dedup();
        ids.len()
    };
    until("the healthy receiver has 20 events", || unique(rx.delivered("/ok")) == 20).await;
    let ok = rx.delivered("/ok");
    // Per call: started before ended; the filter left out the turns. (At least once: a repeat
    // of the same delivery is dropped, as a receiver would by X-Frontdesk-Delivery.)
    let mut per_call: HashMap<String, Vec<String>> = HashMap::new();
    let mut seen_ids = std::collections::HashSet::new();
    for s in ok.iter().filter(|s| seen_ids.insert(s.delivery.clone())) {
        let v = s.json();
        let call = v["call_id"].as_str().unwrap().to_string();
        per_call.entry(call).or_default().push(v["type"].as_str().unwrap().into());
    }
    assert_eq!(per_call.len(), 10);
    assert!(per_call.values().all(|v| v == &["call.started", "call.ended"]), "{per_call:?}");

    // The slow and dead receivers are retried, each recorded with its reason.
    let last = |id| {
        store
            .deliveries(&DeliveryQuery {
                subscription: id,
                status: Some(DeliveryStatus::Pending),
                ..Default::default()
            })
            .unwrap()
    };
    until("timeouts recorded", || last(slow_sub.subscription.id).iter().any(|d| d.attempts >= 1)).await;
    until("refusals recorded", || last(dead_sub.subscription.id).iter().any(|d| d.attempts >= 2)).await;
    let slow = last(slow_sub.subscription.id);
    assert!(
        slow.iter().any(|d| d.last_error.as_deref().is_some_and(|e| e.contains("no answer within 2000 ms")))
    );
    let gone = last(dead_sub.subscription.id);
    assert!(
        gone.iter().any(|d| d.last_error.as_deref().is_some_and(|e| e.contains("cannot connect"))),
        "{gone:?}"
    );
    // The dead subscription's backlog: one group per call, nothing delivered, 40 events queued.
    assert_eq!(gone.len(), 40);
    // The slow receiver only ever saw the first event of each call: the later ones wait for it.
    let held = rx.seen("/hold");
    assert!(!held.is_empty());
    assert!(
        held.iter().all(|s| s.json()["type"] == "call.started"),
        "a call's later events wait for its first"
    );
    rx.gate.send_replace(true);
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_stopped_mid_way_and_restarted_delivers_the_rest() {
    let rx = receiver().await;
    let (_dir, store) = store();
    subscribe(&store, &format!("{}/hold", rx.base), &["*"], 9);
    let handle = dispatch::spawn(store.clone() as Arc<dyn Store>, config());
    call(&store, "a", 1); // 3 events
    until("first call delivered", || rx.delivered("/hold").len() == 3).await;

    // The receiver stops answering; the next call's first event is in flight when we stop.
    rx.gate.send_replace(false);
    call(&store, "b", 1);
    until("call b's first event in flight", || rx.seen("/hold").len() == 4).await;
    handle.stop().await;
    call(&store, "c", 0); // written while no dispatcher runs
    rx.gate.send_replace(true);

    let handle = dispatch::spawn(store.clone() as Arc<dyn Store>, config());
    until("everything delivered", || {
        let mut ids: Vec<String> = rx.delivered("/hold").iter().map(|s| s.delivery.clone()).collect();
        ids.sort();
        ids.dedup();
        ids.len() == 8
    })
    .await;
    handle.stop().await;
    // Per call, in order; the interrupted delivery was sent again with the same delivery id.
    let mut per_call: HashMap<String, Vec<String>> = HashMap::new();
    let mut deliveries: HashMap<String, Vec<String>> = HashMap::new();
    for s in rx.seen("/hold") {
        let v = s.json();
        deliveries.entry(s.delivery.clone()).or_default().push(v["id"].as_str().unwrap().into());
        if (200..300).contains(&s.status) {
            per_call.entry(v["call_id"].as_str().unwrap().into()).or_default().push(labels(&[s])[0].clone());
        }
    }
    assert_eq!(per_call["a"], ["call.started", "call.turn#0", "call.ended"]);
    let mut b = per_call["b"].clone();
    b.dedup(); // at least once: the interrupted first event may arrive twice
    assert_eq!(b, ["call.started", "call.turn#0", "call.ended"]);
    assert_eq!(per_call["c"], ["call.started", "call.ended"]);
    assert!(deliveries.values().all(|evs| evs.iter().all(|e| e == &evs[0])), "a delivery id is one event");
    assert!(deliveries.values().any(|evs| evs.len() >= 2), "the interrupted delivery was retried");
}
