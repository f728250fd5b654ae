//! The events outbox on a real SQLite file: events written in the transaction of their change
//! (and not at all when it rolls back), fan-out by subscription filter, heads of (subscription,
//! call) groups, attempts, listeners, deletion.

#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{NY, seeded, ts};
use frontdesk_schedule::ResourceId;
use frontdesk_store::{
    Amend, AppointmentApiStore, AttemptOutcome, CallStore, Caller, DeliveryAttempt, DeliveryQuery,
    DeliveryStatus, DirectBooked, DirectBooking, Direction, EventStore, IdempotencyKey, NewCall, NewHold,
    NewSlot, SchedulingStore, SqliteStore, StoreError, Turn,
};
use frontdesk_types::{CallId, Pii};
use serde_json::json;

const NOW: &str = "2026-11-23T14:00:00Z";

fn new_call(id: &str) -> NewCall {
    NewCall {
        id: CallId(id.into()),
        direction: Direction::Inbound,
        transport: "sip".into(),
        from: Pii::new("+1 555 000 0001".into()),
        to: Pii::new("+15559990000".into()),
        flow_name: Some("clinic".into()),
        flow_version: Some(3),
        started_at: ts(NOW),
    }
}

fn turn(index: u32) -> Turn {
    Turn {
        index,
        kind: "caller".into(),
        text: Pii::new(format!("hello {index}")),
        confidence: Some(0.5),
        latencies_ms: BTreeMap::from([("asr_final".to_string(), 120)]),
        at: ts("2026-11-23T14:00:05Z"),
    }
}

fn subscribe(store: &SqliteStore, events: &[&str]) -> i64 {
    let events: Vec<String> = events.iter().map(|e| (*e).to_string()).collect();
    store.create_webhook("http://127.0.0.1:9/hook", &events, &[1; 32], ts(NOW)).unwrap().subscription.id
}

fn kinds(store: &SqliteStore) -> Vec<String> {
    store.events_after(0, 100).unwrap().into_iter().map(|e| e.kind).collect()
}

#[test]
fn call_writes_emit_their_events_in_the_same_transaction() {
    let (_dir, store) = seeded();
    let id = CallId("c-1".into());
    store.start_call(&new_call("c-1")).unwrap();
    store.append_turn(&id, &turn(0)).unwrap();
    // A failing write rolls its event back with it.
    assert!(store.append_turn(&id, &turn(0)).is_err());
    assert!(store.end_call(&CallId("nope".into()), ts(NOW), "completed").is_err());
    assert!(store.start_call(&new_call("c-1")).is_err());
    let transfer = Turn { kind: "transfer".into(), text: Pii::new("sip:desk@pbx".into()), ..turn(1) };
    store.append_turn(&id, &transfer).unwrap();
    store.end_call(&id, ts("2026-11-23T14:01:30Z"), "booked").unwrap();
    assert_eq!(kinds(&store), ["call.started", "call.turn", "call.turn", "call.transferred", "call.ended"]);

    let ev = store.events_after(0, 10).unwrap();
    let started = ev[0].payload();
    assert_eq!(started["type"], "call.started");
    assert_eq!(started["call_id"], "c-1");
    assert_eq!(started["id"], format!("evt_{}", ev[0].id));
    assert_eq!(started["data"]["from"], "+15550000001", "numbers as stored (normalised)");
    assert_eq!(started["data"]["flow_version"], 3);
    assert_eq!(ev[1].payload()["data"]["text"], "hello 0");
    assert_eq!(
        ev[4].payload()["data"],
        json!({"ended_at": "2026-11-23T14:01:30Z", "disposition": "booked", "duration_ms": 90_000})
    );
    assert!(!format!("{:?}", ev[1]).contains("hello"), "event data is redacted in Debug");
    assert_eq!(ev[3].payload()["data"]["target"], "sip:desk@pbx");
    assert_eq!(ev[3].payload()["call_id"], "c-1");

    // record_call: started and one turn event per turn, all or nothing.
    store.record_call(&new_call("c-2"), &[turn(0), turn(1)]).unwrap();
    assert!(store.record_call(&new_call("c-3"), &[turn(0), turn(0)]).is_err());
    assert_eq!(kinds(&store).len(), 8);
    assert!(store.events_after(5, 10).unwrap().iter().all(|e| e.call_id == Some(CallId("c-2".into()))));
}

#[test]
fn appointment_changes_emit_their_events() {
    let (_dir, store) = seeded();
    let h = store.hold(&NewHold::new("lee", "checkup", ts("2026-11-24T14:00:00Z"), NY), ts(NOW)).unwrap();
    let caller = Caller { phone: Pii::new("+15550000001".into()), name: Some(Pii::new("Ada".into())) };
    let a = store.book_from_hold(h.id, &caller, ts(NOW)).unwrap();
    // A retried booking returns the same appointment and emits nothing more.
    store.book_from_hold(h.id, &caller, ts(NOW)).unwrap();
    let moved = store
        .reschedule(a.id, &NewSlot { resource: None, start: ts("2026-11-24T15:00:00Z"), tz: None }, ts(NOW))
        .unwrap();
    let h2 = store
        .hold(&NewHold::new("lee", "checkup", ts("2026-11-24T16:00:00Z"), NY).replacing(moved.id), ts(NOW))
        .unwrap();
    let moved2 = store.book_from_hold(h2.id, &caller, ts(NOW)).unwrap();
    store.cancel(moved2.id, ts(NOW)).unwrap();
    assert!(store.cancel(moved2.id, ts(NOW)).is_err(), "cancelling twice fails and emits nothing");
    assert_eq!(
        kinds(&store),
        ["appointment.booked", "appointment.rescheduled", "appointment.rescheduled", "appointment.cancelled"]
    );
    let ev = store.events_after(0, 10).unwrap();
    let booked = ev[0].payload();
    assert_eq!(booked["data"]["appointment"]["id"], a.id.0);
    assert_eq!(booked["data"]["appointment"]["caller"], json!({"phone": "+15550000001", "name": "Ada"}));
    assert_eq!(booked["data"]["appointment"]["start"], "2026-11-24T14:00:00Z");
    assert!(booked.get("call_id").is_none());
    assert_eq!(ev[1].payload()["data"]["previous_id"], a.id.0);
    assert_eq!(ev[2].payload()["data"]["previous_id"], moved.id.0);
    assert_eq!(ev[3].payload()["data"]["appointment"]["status"], "cancelled");
}

#[test]
fn direct_bookings_and_amends_of_the_api_emit_too() {
    let (_dir, store) = seeded();
    let req = DirectBooking {
        resources: vec![ResourceId("lee".into())],
        appointment_type: "checkup".into(),
        start: ts("2026-11-24T14:00:00Z"),
        caller: Caller::phone("+15550000001"),
        notes: None,
        idempotency: Some(IdempotencyKey { key: "k1".into(), fingerprint: "f1".into() }),
    };
    let DirectBooked::Booked(v) = store.book_direct(&req, ts(NOW)).unwrap() else { panic!("not booked") };
    // A replay with the same key returns the booking without a second event.
    assert!(matches!(store.book_direct(&req, ts(NOW)).unwrap(), DirectBooked::Replayed(_)));
    let slot = NewSlot { resource: None, start: ts("2026-11-24T15:00:00Z"), tz: None };
    store.amend_appointment(v.appointment.id, &Amend { slot: Some(slot), notes: None }, ts(NOW)).unwrap();
    assert_eq!(kinds(&store), ["appointment.booked", "appointment.rescheduled"]);
}

#[test]
fn subscriptions_filter_and_fan_out_from_their_creation_on() {
    let (_dir, store) = seeded();
    let c = CallId("c-1".into());
    store.add_event("call.transferred", Some(&c), &json!({"target": "sip:desk@pbx"}), ts(NOW)).unwrap();
    let all = subscribe(&store, &["*"]);
    let ends = subscribe(&store, &["call.ended", "call.ended"]);
    store.start_call(&new_call("c-1")).unwrap();
    store.end_call(&c, ts(NOW), "completed").unwrap();
    let q = |sub| store.deliveries(&DeliveryQuery { subscription: sub, ..Default::default() }).unwrap();
    let got: Vec<String> = q(all).into_iter().map(|d| d.event_type).collect();
    assert_eq!(
        got,
        ["call.ended", "call.started"],
        "newest first; the earlier event was before the subscription"
    );
    assert_eq!(q(ends).len(), 1);
    assert_eq!(store.webhook(ends).unwrap().unwrap().events, ["call.ended"], "deduplicated");
    assert_eq!(store.webhooks().unwrap().len(), 2);

    let e = store.add_event("call.exploded", None, &json!({}), ts(NOW)).unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(m) if m.contains("call.transferred")), "{e}");
    let e = store.create_webhook("http://x/", &["nope".into()], &[2; 32], ts(NOW)).unwrap_err();
    assert!(e.to_string().contains("or * for all"), "{e}");
    assert!(store.create_webhook("http://x/", &[], &[2; 32], ts(NOW)).is_err());

    assert!(store.delete_webhook(all).unwrap());
    assert!(!store.delete_webhook(all).unwrap());
    assert!(q(all).is_empty(), "deliveries go with their subscription");
    assert_eq!(store.pending_deliveries(100).unwrap().len(), 1);
}

#[test]
fn pending_deliveries_are_the_heads_of_each_group() {
    let (_dir, store) = seeded();
    let sub = subscribe(&store, &["*"]);
    let other = subscribe(&store, &["call.turn"]);
    let c1 = CallId("c-1".into());
    store.start_call(&new_call("c-1")).unwrap();
    store.append_turn(&c1, &turn(0)).unwrap();
    store.append_turn(&c1, &turn(1)).unwrap();
    store.start_call(&new_call("c-2")).unwrap();
    store.add_event("appointment.booked", None, &json!({"n": 1}), ts(NOW)).unwrap();
    store.add_event("appointment.cancelled", None, &json!({"n": 2}), ts(NOW)).unwrap();

    let heads = |s: &SqliteStore| {
        let mut v: Vec<(i64, String, String)> = s
            .pending_deliveries(100)
            .unwrap()
            .into_iter()
            .map(|d| (d.subscription, d.group, d.event.kind))
            .collect();
        v.sort();
        v
    };
    let t = |s: &str| s.to_string();
    assert_eq!(
        heads(&store),
        [
            (sub, t(""), t("appointment.booked")),
            (sub, t("c-1"), t("call.started")),
            (sub, t("c-2"), t("call.started")),
            (other, t("c-1"), t("call.turn")),
        ]
    );
    let pending = store.pending_deliveries(100).unwrap();
    assert!(pending.iter().all(|d| d.next_attempt_at.is_none() && d.attempts == 0), "new: due at once");
    let head = |kind: &str, group: &str, s: i64| {
        pending
            .iter()
            .find(|d| d.event.kind == kind && d.group == group && d.subscription == s)
            .unwrap()
            .clone()
    };
    assert_eq!(head("call.turn", "c-1", other).secret.expose().len(), "whsec_".len() + 64);

    // A retry keeps the head (with its new time); delivered and failed both move to the next.
    let at = ts("2026-11-23T14:00:10Z");
    let retry = DeliveryAttempt {
        at: ts(NOW),
        outcome: AttemptOutcome::Retry { at },
        status: Some(503),
        error: Some("HTTP 503".into()),
    };
    let d = head("call.started", "c-1", sub);
    store.record_attempt(d.id, &retry).unwrap();
    let again = store.pending_deliveries(100).unwrap().into_iter().find(|x| x.id == d.id).unwrap();
    assert_eq!((again.attempts, again.next_attempt_at, again.first_attempt_at), (1, Some(at), Some(ts(NOW))));
    let done = DeliveryAttempt { at, outcome: AttemptOutcome::Delivered, status: Some(200), error: None };
    store.record_attempt(d.id, &done).unwrap();
    let fail =
        DeliveryAttempt { at, outcome: AttemptOutcome::Failed, status: None, error: Some("gave up".into()) };
    store.record_attempt(head("appointment.booked", "", sub).id, &fail).unwrap();
    // A second result for a finished delivery changes nothing.
    store.record_attempt(d.id, &fail).unwrap();
    let h = heads(&store);
    assert!(h.contains(&(sub, t("c-1"), t("call.turn"))));
    assert!(h.contains(&(sub, t(""), t("appointment.cancelled"))));

    let listed = store.deliveries(&DeliveryQuery { subscription: sub, ..Default::default() }).unwrap();
    let first = listed.iter().find(|x| x.id == d.id).unwrap();
    assert_eq!((first.status, first.attempts, first.last_status), (DeliveryStatus::Delivered, 2, Some(200)));
    assert_eq!(first.next_attempt_at, None);
    let failed = store.deliveries(&DeliveryQuery {
        subscription: sub,
        status: Some(DeliveryStatus::Failed),
        ..Default::default()
    });
    assert_eq!(failed.unwrap().len(), 1);
    // Keyset pages, newest first.
    let page1 =
        store.deliveries(&DeliveryQuery { subscription: sub, limit: 2, ..Default::default() }).unwrap();
    let page2 = store
        .deliveries(&DeliveryQuery {
            subscription: sub,
            limit: 2,
            before: Some(page1[1].id),
            ..Default::default()
        })
        .unwrap();
    assert!(page1[0].id > page1[1].id && page1[1].id > page2[0].id);
}

#[test]
fn listeners_hear_committed_events_only() {
    let (_dir, store) = seeded();
    let heard = Arc::new(AtomicUsize::new(0));
    let h = heard.clone();
    store.on_events(Arc::new(move || {
        h.fetch_add(1, Ordering::SeqCst);
    }));
    store.start_call(&new_call("c-1")).unwrap();
    assert_eq!(heard.load(Ordering::SeqCst), 1);
    assert!(store.start_call(&new_call("c-1")).is_err());
    subscribe(&store, &["*"]);
    store.hold(&NewHold::new("lee", "checkup", ts("2026-11-24T14:00:00Z"), NY), ts(NOW)).unwrap();
    assert_eq!(heard.load(Ordering::SeqCst), 1, "no event, no call");
    store.add_event("call.transferred", None, &json!({}), ts(NOW)).unwrap();
    assert_eq!(heard.load(Ordering::SeqCst), 2);
}

#[test]
fn pruning_keeps_pending_deliveries_and_their_events() {
    let (_dir, store) = seeded();
    let sub = subscribe(&store, &["*"]);
    let old = ts("2026-10-01T00:00:00Z");
    store.add_event("call.transferred", None, &json!({"n": 1}), old).unwrap();
    store.add_event("call.transferred", None, &json!({"n": 2}), old).unwrap();
    store.add_event("call.transferred", Some(&CallId("x".into())), &json!({"n": 3}), old).unwrap();
    let pending = store.pending_deliveries(10).unwrap();
    let first = pending.iter().find(|d| d.group.is_empty()).unwrap();
    let done =
        DeliveryAttempt { at: old, outcome: AttemptOutcome::Delivered, status: Some(200), error: None };
    store.record_attempt(first.id, &done).unwrap();
    // One delivered long ago, two pending: only the delivered one and its event go.
    assert_eq!(store.prune_events(ts(NOW)).unwrap(), (1, 1));
    assert_eq!(store.events_after(0, 10).unwrap().len(), 2);
    assert_eq!(
        store.deliveries(&DeliveryQuery { subscription: sub, ..Default::default() }).unwrap().len(),
        2
    );
    // Events nobody subscribed to are pruned by age alone.
    store.delete_webhook(sub).unwrap();
    assert_eq!(store.prune_events(ts(NOW)).unwrap(), (0, 2));
    assert_eq!(store.prune_events(ts(NOW)).unwrap(), (0, 0));
}
