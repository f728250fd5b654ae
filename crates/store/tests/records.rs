//! Calls and transcripts, flow versions, API keys and opt-outs on a real SQLite file.

mod common;

use std::collections::BTreeMap;

use common::{seeded, ts};
use frontdesk_store::{
    ApiKeyStore, CallStore, Direction, FlowStore, NewCall, OptOutStore, SqliteStore, StoreError, Turn,
    sha256_hex,
};
use frontdesk_types::{CallId, Pii};

const NOW: &str = "2026-11-23T14:00:00Z";

fn turn(index: u32, kind: &str, text: &str, ms: u64) -> Turn {
    Turn {
        index,
        kind: kind.into(),
        text: Pii::new(text.into()),
        confidence: (kind == "caller").then_some(0.75),
        latencies_ms: BTreeMap::from([
            ("asr_final".to_string(), ms),
            ("tts_first_audio".to_string(), ms + 100),
        ]),
        at: ts(NOW),
    }
}

#[test]
fn calls_with_timeline_and_transcript() {
    let (_dir, store) = seeded();
    let id = CallId("c-1".into());
    let new = NewCall {
        id: id.clone(),
        direction: Direction::Inbound,
        transport: "sip".into(),
        from: Pii::new("+1 555 000 0001".into()),
        to: Pii::new("+15559990000".into()),
        flow_name: Some("clinic".into()),
        flow_version: Some(3),
        started_at: ts(NOW),
    };
    store.start_call(&new).unwrap();
    assert!(matches!(store.start_call(&new), Err(StoreError::Invalid(_))), "a call id is recorded once");
    store.append_turn(&id, &turn(0, "agent", "Thanks for calling Acme Dental.", 0)).unwrap();
    store.append_turn(&id, &turn(1, "caller", "I need a cleaning next tuesday", 180)).unwrap();
    store.append_turn(&id, &turn(2, "dtmf", "1", 0)).unwrap();
    assert!(store.append_turn(&id, &turn(1, "caller", "again", 1)).is_err(), "turn index is unique per call");
    assert!(store.append_turn(&CallId("nope".into()), &turn(0, "caller", "x", 1)).is_err());
    store.end_call(&id, ts("2026-11-23T14:03:00Z"), "booked").unwrap();

    let c = store.call(&id).unwrap().unwrap();
    assert_eq!(c.from.expose(), "+15550000001");
    assert_eq!((c.flow_name.as_deref(), c.flow_version), (Some("clinic"), Some(3)));
    assert_eq!((c.ended_at, c.disposition.as_deref()), (Some(ts("2026-11-23T14:03:00Z")), Some("booked")));
    let turns = store.turns(&id).unwrap();
    assert_eq!(turns.iter().map(|t| t.index).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(turns[1], turn(1, "caller", "I need a cleaning next tuesday", 180));
    assert_eq!(
        store.transcript(&id).unwrap(),
        "agent: Thanks for calling Acme Dental.\ncaller: I need a cleaning next tuesday\n"
    );
    assert_eq!(store.calls_for_phone("+1-555-000-0001").unwrap().len(), 1);
    assert!(store.calls_for_phone("+15550000002").unwrap().is_empty());
    assert_eq!(format!("{:?}", c.from), "REDACTED");
}

#[test]
fn flow_versions_are_numbered_and_immutable_once_published() {
    let (_dir, store) = seeded();
    let now = ts(NOW);
    let v1 = store.save_flow("clinic", "start: greet\n", now).unwrap();
    assert_eq!((v1.version, v1.sha256.clone()), (1, sha256_hex(b"start: greet\n")));
    assert_eq!(store.save_flow("clinic", "start: greet\n", now).unwrap(), v1, "same text, same version");
    let v2 = store.save_flow("clinic", "start: menu\n", now).unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(store.published_flow("clinic").unwrap(), None);
    let p1 = store.publish_flow("clinic", 1, ts("2026-11-23T15:00:00Z")).unwrap();
    assert_eq!(p1.published_at, Some(ts("2026-11-23T15:00:00Z")));
    assert_eq!(store.publish_flow("clinic", 1, ts("2026-11-24T00:00:00Z")).unwrap(), p1, "idempotent");
    assert_eq!(store.published_flow("clinic").unwrap(), Some(p1.clone()));
    assert!(matches!(store.delete_flow_draft("clinic", 1), Err(StoreError::Immutable { .. })));
    store.delete_flow_draft("clinic", 2).unwrap();
    assert_eq!(store.flow_versions("clinic").unwrap(), vec![p1.clone()]);
    // The schema itself refuses to change a published version, whoever writes.
    let raw = rusqlite::Connection::open(store.path()).unwrap();
    let err = raw.execute("UPDATE flow_versions SET yaml = 'hacked' WHERE name = 'clinic'", []).unwrap_err();
    assert!(err.to_string().contains("immutable"), "{err}");
    assert!(raw.execute("DELETE FROM flow_versions WHERE name = 'clinic'", []).is_err());
    assert_eq!(store.flow_version("clinic", 1).unwrap().unwrap().yaml, "start: greet\n");
    assert!(matches!(store.save_flow("../etc", "x", now), Err(StoreError::Invalid(_))));
}

#[test]
fn api_keys_are_stored_hashed_and_revocable() {
    let (_dir, store) = seeded();
    let now = ts(NOW);
    let k = store.create_api_key("ci", &[7u8; 32], now).unwrap();
    assert_eq!(k.key.expose().len(), 4 + 64);
    assert!(k.key.expose().starts_with(&k.prefix) && k.prefix.len() == 12);
    let info = store.verify_api_key(k.key.expose()).unwrap().unwrap();
    assert_eq!((info.label.as_str(), info.prefix.as_str()), ("ci", k.prefix.as_str()));
    assert_eq!(store.verify_api_key(&k.key.expose().replace('7', "8")).unwrap(), None);
    assert_eq!(store.verify_api_key("").unwrap(), None);
    // Not in the database file in clear.
    let raw = rusqlite::Connection::open(store.path()).unwrap();
    let stored: String = raw.query_row("SELECT key_sha256 FROM api_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, sha256_hex(k.key.expose().as_bytes()));
    let hits: i64 = raw
        .query_row(
            "SELECT count(*) FROM api_keys WHERE instr(label || prefix || key_sha256, ?1) > 0",
            [&k.key.expose()[4..]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hits, 0);
    assert!(store.revoke_api_key(k.id, now).unwrap());
    assert!(!store.revoke_api_key(k.id, now).unwrap());
    assert_eq!(store.verify_api_key(k.key.expose()).unwrap(), None);
    assert_eq!(store.api_keys().unwrap()[0].revoked_at, Some(now));
    let random = frontdesk_store::random_key_bytes().unwrap();
    assert_ne!(random, frontdesk_store::random_key_bytes().unwrap());
}

#[test]
fn opt_outs_persist_across_reopen_and_log_every_request() {
    let (dir, store) = seeded();
    let call = CallId("c-7".into());
    let first = store.add_opt_out("+1 (555) 000-0001", "voice", Some(&call), ts(NOW)).unwrap();
    assert_eq!((first.phone.expose().as_str(), first.source.as_str()), ("+15550000001", "voice"));
    let again = store.add_opt_out("+15550000001", "dtmf", None, ts("2026-11-24T00:00:00Z")).unwrap();
    assert_eq!(again, first, "the list keeps the first request");
    let path = store.path().to_path_buf();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    let entry = store.opt_out("+1 555 000 0001").unwrap().unwrap();
    assert_eq!((entry.at, entry.call_id), (ts(NOW), Some(call)));
    assert_eq!(store.opt_out_requests("+15550000001").unwrap(), 2);
    assert_eq!(store.opt_out("+15550000002").unwrap(), None);
    drop(dir);
}

#[test]
fn the_store_is_usable_as_a_trait_object() {
    let (_dir, store) = seeded();
    let store: std::sync::Arc<dyn frontdesk_store::Store> = std::sync::Arc::new(store);
    assert_eq!(store.resources().unwrap().len(), 1);
    assert_eq!(store.opt_out("+15550000001").unwrap(), None);
}
