//! Crash safety: a writer killed mid-transaction, a connection dropped mid-transaction, and the
//! store's own multi-row writes being all or nothing.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::{NY, seeded, ts};
use frontdesk_store::{
    AppointmentStatus, CallStore, Caller, Direction, NewCall, NewHold, NewSlot, SchedulingStore, SqliteStore,
    StoreError, Turn,
};
use frontdesk_types::{CallId, Pii};
use rusqlite::TransactionBehavior;

const CHILD_ENV: &str = "FRONTDESK_STORE_CRASH_CHILD_DB";
const NOW: &str = "2026-11-23T14:00:00Z";

/// Half of a reschedule, by hand: the new row is in, the old one released, plus enough timeline
/// rows that pages spill into the WAL file before any commit.
fn half_written_reschedule(tx: &rusqlite::Transaction<'_>, old_id: i64) {
    tx.execute(
        "INSERT INTO appointments (resource_id, appointment_type_id, start_ms, end_ms, block_start_ms, block_end_ms,
           tz, caller_phone, status, created_ms, replaces_id)
         SELECT resource_id, appointment_type_id, start_ms + 14400000, end_ms + 14400000, block_start_ms + 14400000,
           block_end_ms + 14400000, tz, caller_phone, 'booked', created_ms, id FROM appointments WHERE id = ?1",
        [old_id],
    )
    .expect("insert the new appointment");
    tx.execute("UPDATE appointments SET status = 'rescheduled' WHERE id = ?1", [old_id])
        .expect("release the old one");
    let filler = "x".repeat(2000);
    for i in 0..500 {
        tx.execute(
            "INSERT INTO call_turns (call_id, turn_index, kind, text, latencies_json, at_ms)
             VALUES ('call-1', ?1, 'caller', ?2, '{}', 0)",
            rusqlite::params![i + 10, filler],
        )
        .expect("insert a turn");
    }
}

/// The child process: writes half a transaction, says READY, and waits to be killed.
#[test]
#[ignore = "child process of a_writer_killed_mid_transaction_leaves_nothing_half_written"]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let old_id: i64 = std::env::var("FRONTDESK_STORE_CRASH_OLD_ID").unwrap().parse().unwrap();
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "cache_size", 10).unwrap();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
    half_written_reschedule(&tx, old_id);
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line); // blocks until killed
    std::process::abort(); // never commit, even if stdin closes
}

fn call(id: &str) -> NewCall {
    NewCall {
        id: CallId(id.into()),
        direction: Direction::Inbound,
        transport: "sip".into(),
        from: Pii::new("+15550000001".into()),
        to: Pii::new("+15559990000".into()),
        flow_name: Some("clinic".into()),
        flow_version: Some(1),
        started_at: ts(NOW),
    }
}

fn turn(i: u32) -> Turn {
    Turn {
        index: i,
        kind: "caller".into(),
        text: Pii::new(format!("turn {i}")),
        confidence: Some(0.9),
        latencies_ms: Default::default(),
        at: ts(NOW),
    }
}

#[test]
fn a_writer_killed_mid_transaction_leaves_nothing_half_written() {
    let (_dir, store) = seeded();
    let h = store.hold(&NewHold::new("lee", "checkup", ts("2026-11-24T14:00:00Z"), NY), ts(NOW)).unwrap();
    let old = store.book_from_hold(h.id, &Caller::phone("+15550000001"), ts(NOW)).unwrap();
    store.record_call(&call("call-1"), &[turn(0)]).unwrap();
    let wal = store.path().with_file_name(format!("{}-wal", frontdesk_store::DB_FILE_NAME));
    let wal_before = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, store.path())
        .env("FRONTDESK_STORE_CRASH_OLD_ID", old.id.0.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = BufReader::new(stdout).lines().map_while(Result::ok).any(|l| l.trim_end().ends_with("READY")); // libtest may print "test crash_child ... " first
    assert!(ready, "child reached the middle of its transaction");
    let wal_during = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(wal_during > wal_before, "uncommitted pages reached the WAL file ({wal_before} -> {wal_during})");
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());

    // The already-open store and a fresh open both see the state before the transaction.
    for s in [&store, &SqliteStore::open(store.path()).unwrap()] {
        assert!(s.integrity_ok().unwrap());
        assert_eq!(s.appointment(old.id).unwrap().unwrap().status, AppointmentStatus::Booked);
        assert_eq!(s.appointments_for_phone("+15550000001", ts(NOW)).unwrap().len(), 1);
        assert_eq!(s.turns(&CallId("call-1".into())).unwrap().len(), 1);
    }
    // No lock left behind: the real reschedule goes through at once.
    let to = NewSlot { resource: None, start: ts("2026-11-24T18:00:00Z"), tz: None };
    let moved = store.reschedule(old.id, &to, ts(NOW)).unwrap();
    assert_eq!(moved.replaces, Some(old.id));
}

#[test]
fn a_connection_dropped_mid_transaction_rolls_back() {
    let (_dir, store) = seeded();
    let h = store.hold(&NewHold::new("lee", "checkup", ts("2026-11-24T14:00:00Z"), NY), ts(NOW)).unwrap();
    let old = store.book_from_hold(h.id, &Caller::phone("+15550000001"), ts(NOW)).unwrap();
    store.record_call(&call("call-1"), &[turn(0)]).unwrap();
    let mut conn = rusqlite::Connection::open(store.path()).unwrap();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
    half_written_reschedule(&tx, old.id.0);
    // While it is open, the store's readers see none of it (snapshot isolation in WAL).
    assert_eq!(store.appointment(old.id).unwrap().unwrap().status, AppointmentStatus::Booked);
    std::mem::forget(tx); // no rollback from the Transaction guard: the connection itself goes
    drop(conn);
    assert_eq!(store.appointment(old.id).unwrap().unwrap().status, AppointmentStatus::Booked);
    assert_eq!(store.appointments_for_phone("+15550000001", ts(NOW)).unwrap().len(), 1);
    assert_eq!(store.turns(&CallId("call-1".into())).unwrap().len(), 1);
    assert!(store.integrity_ok().unwrap());
}

#[test]
fn record_call_is_all_or_nothing() {
    let (_dir, store) = seeded();
    // Turn 2 twice: the constraint fails on the last row, after the call and two turns went in.
    let err = store.record_call(&call("call-9"), &[turn(0), turn(2), turn(2)]).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(store.call(&CallId("call-9".into())).unwrap(), None);
    assert!(store.turns(&CallId("call-9".into())).unwrap().is_empty());
    store.record_call(&call("call-9"), &[turn(0), turn(1)]).unwrap();
    assert_eq!(store.turns(&CallId("call-9".into())).unwrap().len(), 2);
}
