//! Holds and appointments on a real SQLite file: races, expiry, idempotency, cancel, reschedule,
//! lookup by phone, DST round trips.

mod common;

use std::sync::{Arc, Barrier};

use common::{NY, checkup, provider, seeded, ts};
use frontdesk_schedule::{SlotQuery, find_slots};
use frontdesk_store::{
    AppointmentStatus, Caller, NewHold, NewSlot, SchedulingStore, SqliteStore, StoreError,
};
use jiff::SignedDuration;

const NOW: &str = "2026-11-23T14:00:00Z";

fn hold_at(start: &str) -> NewHold {
    NewHold::new("lee", "checkup", ts(start), NY)
}

fn book(store: &SqliteStore, start: &str, phone: &str) -> frontdesk_store::Appointment {
    let h = store.hold(&hold_at(start), ts(NOW)).expect("hold");
    store.book_from_hold(h.id, &Caller::phone(phone), ts(NOW)).expect("book")
}

#[test]
fn two_connections_race_for_one_slot_exactly_one_wins() {
    let (dir, first) = seeded();
    let path = first.path().to_path_buf();
    let second = SqliteStore::open(&path).unwrap();
    let stores = [Arc::new(first), Arc::new(second)];
    // Several rounds, each on a new slot, so the two writers really interleave.
    for round in 0..10i64 {
        let start = ts("2026-11-24T14:00:00Z") + SignedDuration::from_mins(30 * round);
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let (s, barrier) = (Arc::clone(s), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    let req = NewHold::new("lee", "checkup", start, NY);
                    s.hold(&req, ts(NOW)).and_then(|h| {
                        s.book_from_hold(h.id, &Caller::phone(&format!("+1555000000{i}")), ts(NOW))
                    })
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        let loss = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert!(
            matches!(loss, StoreError::Conflict { start: s, .. } if *s == start),
            "round {round}: {loss:?}"
        );
    }
    // The loser asks for the next slots: the taken ones are not offered.
    let store = &stores[0];
    let from = ts("2026-11-24T14:00:00Z");
    let until = ts("2026-11-24T22:00:00Z");
    let busy = store.busy(from, until, ts(NOW)).unwrap();
    assert_eq!(busy.len(), 10);
    let resources = store.resources().unwrap();
    let kind = checkup();
    let offers = find_slots(&SlotQuery::new(&kind, &resources, from, until), &busy).unwrap();
    assert!(!offers.is_empty());
    assert_eq!(offers[0].start.timestamp(), ts("2026-11-24T19:00:00Z"), "first free after the 10 booked");
    drop(dir);
}

#[test]
fn two_reschedules_into_one_slot_race_one_conflicts() {
    let (_dir, first) = seeded();
    let a = book(&first, "2026-11-24T14:00:00Z", "+15550000001");
    let b = book(&first, "2026-11-24T15:00:00Z", "+15550000002");
    let second = SqliteStore::open(first.path()).unwrap();
    let target = NewSlot { resource: None, start: ts("2026-11-24T18:00:00Z"), tz: None };
    let barrier = Arc::new(Barrier::new(2));
    let results = std::thread::scope(|s| {
        let h1 = s.spawn(|| {
            barrier.wait();
            first.reschedule(a.id, &target, ts(NOW))
        });
        let h2 = s.spawn(|| {
            barrier.wait();
            second.reschedule(b.id, &target, ts(NOW))
        });
        [h1.join().unwrap(), h2.join().unwrap()]
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().any(|r| matches!(r, Err(StoreError::Conflict { .. }))));
    // The loser's appointment is still booked where it was.
    let still: Vec<_> = [a.id, b.id]
        .iter()
        .map(|id| first.appointment(*id).unwrap().unwrap())
        .filter(|x| x.status == AppointmentStatus::Booked)
        .collect();
    assert_eq!(still.len(), 1);
}

#[test]
fn the_unique_index_guards_live_bookings_even_without_the_check() {
    let (_dir, store) = seeded();
    let a = book(&store, "2026-11-24T14:00:00Z", "+15550000001");
    let raw = rusqlite::Connection::open(store.path()).unwrap();
    let dup = "INSERT INTO appointments (resource_id, appointment_type_id, start_ms, end_ms, block_start_ms,
                 block_end_ms, tz, caller_phone, status, created_ms)
               SELECT resource_id, appointment_type_id, start_ms, end_ms, block_start_ms, block_end_ms, tz,
                 '+15550000009', 'booked', created_ms FROM appointments WHERE id = ?1";
    let err = raw.execute(dup, [a.id.0]).unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    // Once cancelled, the same slot may be booked again (the index covers live bookings only).
    store.cancel(a.id, ts(NOW)).unwrap();
    assert_eq!(raw.execute(dup, [a.id.0]).unwrap(), 1);
}

#[test]
fn holds_block_until_they_expire_by_the_passed_in_time() {
    let (_dir, store) = seeded();
    let now = ts(NOW);
    let h = store.hold(&hold_at("2026-11-24T14:00:00Z"), now).unwrap();
    assert_eq!(h.expires_at, now + SignedDuration::from_secs(120));
    // Another caller, 119 s later: still held. An overlapping slot (buffers/length) too.
    let later = now + SignedDuration::from_secs(119);
    for start in ["2026-11-24T14:00:00Z", "2026-11-24T14:15:00Z", "2026-11-24T13:45:00Z"] {
        let err = store.hold(&hold_at(start), later).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{start}: {err}");
    }
    // Touching is fine.
    store.hold(&hold_at("2026-11-24T14:30:00Z"), later).unwrap();
    // At expiry the slot is free for someone else, and the stale hold cannot be booked.
    let expired = now + SignedDuration::from_secs(120);
    let err = store.book_from_hold(h.id, &Caller::phone("+15550000001"), expired).unwrap_err();
    assert!(matches!(err, StoreError::HoldExpired(id) if id == h.id), "{err}");
    let other = store.hold(&hold_at("2026-11-24T14:00:00Z"), expired).unwrap();
    assert_ne!(other.id, h.id);
    let err = store.book_from_hold(h.id, &Caller::phone("+15550000001"), expired).unwrap_err();
    assert!(matches!(err, StoreError::HoldNotFound(_)), "swept: {err}");
    store.book_from_hold(other.id, &Caller::phone("+15550000002"), expired).unwrap();
}

#[test]
fn idempotency_key_returns_the_same_hold_and_rejects_reuse() {
    let (_dir, store) = seeded();
    let now = ts(NOW);
    let req = hold_at("2026-11-24T14:00:00Z").with_key("call-7-offer-1");
    let h1 = store.hold(&req, now).unwrap();
    let h2 = store.hold(&req, now + SignedDuration::from_secs(5)).unwrap();
    assert_eq!(h1, h2);
    let err = store.hold(&hold_at("2026-11-24T16:00:00Z").with_key("call-7-offer-1"), now).unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyKeyReused { .. }), "{err}");
    // Booking twice (a retried request) gives the same appointment, not two.
    let caller = Caller::phone("+1 (555) 000-0001");
    let a1 = store.book_from_hold(h1.id, &caller, now).unwrap();
    let a2 = store.book_from_hold(h1.id, &caller, now + SignedDuration::from_secs(500)).unwrap();
    assert_eq!(a1, a2);
    assert_eq!(store.appointments_for_phone("+15550000001", now).unwrap().len(), 1);
}

#[test]
fn booking_needs_a_hold_and_cancel_frees_the_slot_at_once() {
    let (_dir, store) = seeded();
    let now = ts(NOW);
    let err =
        store.book_from_hold(frontdesk_store::HoldId(999), &Caller::phone("+15550000001"), now).unwrap_err();
    assert!(matches!(err, StoreError::HoldNotFound(_)));
    let a = book(&store, "2026-11-24T14:00:00Z", "+15550000001");
    assert_eq!(a.status, AppointmentStatus::Booked);
    assert!(matches!(store.hold(&hold_at("2026-11-24T14:00:00Z"), now), Err(StoreError::Conflict { .. })));
    let c = store.cancel(a.id, now).unwrap();
    assert_eq!((c.status, c.ended_at), (AppointmentStatus::Cancelled, Some(now)));
    let b = book(&store, "2026-11-24T14:00:00Z", "+15550000002");
    assert_ne!(a.id, b.id);
    assert!(matches!(store.cancel(a.id, now), Err(StoreError::NotBooked { .. })));
    assert!(store.appointments_for_phone("+15550000001", now).unwrap().is_empty());
}

#[test]
fn reschedule_conflict_leaves_old_and_new_untouched() {
    let (_dir, store) = seeded();
    let now = ts(NOW);
    let mine = book(&store, "2026-11-24T14:00:00Z", "+15550000001");
    let theirs = book(&store, "2026-11-24T16:00:00Z", "+15550000002");
    let before = store.busy(ts("2026-11-24T00:00:00Z"), ts("2026-11-25T00:00:00Z"), now).unwrap();
    let to = NewSlot { resource: None, start: ts("2026-11-24T16:15:00Z"), tz: None };
    let err = store.reschedule(mine.id, &to, now).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { start, .. } if start == theirs.slot.start), "{err}");
    assert_eq!(store.appointment(mine.id).unwrap().unwrap(), mine);
    assert_eq!(store.appointment(theirs.id).unwrap().unwrap(), theirs);
    assert_eq!(store.busy(ts("2026-11-24T00:00:00Z"), ts("2026-11-25T00:00:00Z"), now).unwrap(), before);
    // A free slot: new booked, old released, linked; the caller's data carried over.
    let moved =
        store.reschedule(mine.id, &NewSlot { start: ts("2026-11-24T18:00:00Z"), ..to.clone() }, now).unwrap();
    assert_eq!(moved.replaces, Some(mine.id));
    assert_eq!(moved.caller, mine.caller);
    let old = store.appointment(mine.id).unwrap().unwrap();
    assert_eq!(old.status, AppointmentStatus::Rescheduled);
    let upcoming = store.appointments_for_phone("+15550000001", now).unwrap();
    assert_eq!(upcoming.iter().map(|a| a.id).collect::<Vec<_>>(), vec![moved.id]);
    // Moving by 15 minutes overlaps its own old slot: the old one does not block its own move.
    let nudged =
        store.reschedule(moved.id, &NewSlot { start: ts("2026-11-24T18:15:00Z"), ..to }, now).unwrap();
    assert_eq!(nudged.slot.start, ts("2026-11-24T18:15:00Z"));
}

#[test]
fn reschedule_through_a_hold_that_replaces_the_booking() {
    let (_dir, store) = seeded();
    let now = ts(NOW);
    let old = book(&store, "2026-11-24T14:00:00Z", "+15550000001");
    // The new slot overlaps the old one; only the replaced booking may overlap.
    let h = store.hold(&hold_at("2026-11-24T14:15:00Z").replacing(old.id), now).unwrap();
    let new = store.book_from_hold(h.id, &old.caller, now).unwrap();
    assert_eq!(store.appointment(old.id).unwrap().unwrap().status, AppointmentStatus::Rescheduled);
    assert_eq!(new.replaces, Some(old.id));
    // Same (resource, start) as the old booking (the unique index case): still one transaction.
    let h = store.hold(&hold_at("2026-11-24T14:15:00Z").replacing(new.id), now).unwrap();
    let same = store.book_from_hold(h.id, &new.caller, now).unwrap();
    assert_eq!(same.slot.start, new.slot.start);
    assert_eq!(store.appointments_for_phone("+15550000001", now).unwrap().len(), 1);
    // A hold replacing a booking that was cancelled meanwhile books nothing.
    let h = store.hold(&hold_at("2026-11-24T17:00:00Z").replacing(same.id), now).unwrap();
    store.cancel(same.id, now).unwrap();
    let err = store.book_from_hold(h.id, &same.caller, now).unwrap_err();
    assert!(matches!(err, StoreError::NotBooked { .. }), "{err}");
    assert!(store.appointments_for_phone("+15550000001", now).unwrap().is_empty());
}

#[test]
fn buffers_block_neighbouring_slots() {
    let (_dir, store) = seeded();
    store.put_appointment_type(&checkup().with_buffers(0, 15)).unwrap();
    let now = ts(NOW);
    book(&store, "2026-11-24T14:00:00Z", "+15550000001");
    // 14:30 falls in the 15-minute buffer after; 14:45 touches it.
    assert!(matches!(store.hold(&hold_at("2026-11-24T14:30:00Z"), now), Err(StoreError::Conflict { .. })));
    store.hold(&hold_at("2026-11-24T14:45:00Z"), now).unwrap();
}

#[test]
fn appointments_across_dst_round_trip_as_utc_plus_zone() {
    let (dir, store) = seeded();
    let now = ts("2026-03-01T12:00:00Z");
    // 09:00 New York the Friday before spring forward (EST, -5) and the Monday after (EDT, -4).
    let before = store.hold(&NewHold::new("lee", "checkup", ts("2026-03-06T14:00:00Z"), NY), now).unwrap();
    let after = store.hold(&NewHold::new("lee", "checkup", ts("2026-03-09T13:00:00Z"), NY), now).unwrap();
    let a = store.book_from_hold(before.id, &Caller::phone("+15550000001"), now).unwrap();
    let b = store.book_from_hold(after.id, &Caller::phone("+15550000001"), now).unwrap();
    let path = store.path().to_path_buf();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    let a = store.appointment(a.id).unwrap().unwrap();
    let b = store.appointment(b.id).unwrap().unwrap();
    assert_eq!(a.tz, NY);
    for (appt, utc, offset) in [(&a, "2026-03-06T14:00:00Z", -5), (&b, "2026-03-09T13:00:00Z", -4)] {
        assert_eq!(appt.slot.start, ts(utc));
        let local = appt.local_start().unwrap();
        assert_eq!((local.hour(), local.minute()), (9, 0), "{local}");
        assert_eq!(local.offset().seconds(), offset * 3600);
        assert_eq!(appt.slot.end.duration_since(appt.slot.start), SignedDuration::from_mins(30));
    }
    // A booking spanning the fall-back hour keeps its real length (30 min, not 90).
    let fold = store.hold(&NewHold::new("lee", "checkup", ts("2026-11-01T05:45:00Z"), NY), now).unwrap();
    let c = store.book_from_hold(fold.id, &Caller::phone("+15550000001"), now).unwrap();
    let c = store.appointment(c.id).unwrap().unwrap();
    assert_eq!(c.slot.end, ts("2026-11-01T06:15:00Z"));
    assert_eq!(c.local_start().unwrap().offset().seconds(), -4 * 3600);
    assert!(
        store.hold(&NewHold::new("lee", "checkup", ts("2026-03-09T13:00:00Z"), "Mars/Olympus"), now).is_err()
    );
    drop(dir);
}

#[test]
fn lookup_by_phone_normalises_and_lists_upcoming_booked_only() {
    let (_dir, store) = seeded();
    store.put_resource(&provider("kim")).unwrap();
    let now = ts(NOW);
    let a = book(&store, "2026-11-24T14:00:00Z", "+1 555-000-0001");
    let h = store
        .hold(&NewHold::new("kim", "checkup", ts("2026-11-20T14:00:00Z"), NY), ts("2026-11-19T00:00:00Z"))
        .unwrap();
    store.book_from_hold(h.id, &Caller::phone("+15550000001"), ts("2026-11-19T00:00:00Z")).unwrap(); // past
    let b = book(&store, "2026-11-25T14:00:00Z", "555.000.0001");
    book(&store, "2026-11-24T16:00:00Z", "+15550000002");
    let mine = store.appointments_for_phone("+15550000001", now).unwrap();
    assert_eq!(mine.iter().map(|x| x.id).collect::<Vec<_>>(), vec![a.id]);
    let b_phone = store.appointments_for_phone("5550000001", now).unwrap();
    assert_eq!(b_phone.iter().map(|x| x.id).collect::<Vec<_>>(), vec![b.id]);
    assert_eq!(format!("{:?}", mine[0].caller.phone), "REDACTED");
    assert!(matches!(store.appointments_for_phone("call me", now), Err(StoreError::Invalid(_))));
}

#[test]
fn a_swept_hold_id_reused_by_sqlite_never_books_another_callers_appointment() {
    let (_dir, store) = seeded();
    let now = ts(NOW);
    // The only hold expires and is swept by the next hold, which SQLite gives the same id.
    let first = store.hold(&hold_at("2026-11-24T14:00:00Z"), now).unwrap();
    let later = now + SignedDuration::from_secs(150);
    let second = store.hold(&hold_at("2026-11-24T14:00:00Z"), later).unwrap();
    let theirs = store.book_from_hold(second.id, &Caller::phone("+15550000002"), later).unwrap();
    // A retry by the same caller is the same appointment; the first caller's stale id is not.
    let again = store.book_from_hold(second.id, &Caller::phone("+15550000002"), later).unwrap();
    assert_eq!(again.id, theirs.id);
    if first.id == second.id {
        let err = store.book_from_hold(first.id, &Caller::phone("+15550000001"), later).unwrap_err();
        assert!(matches!(err, StoreError::HoldNotFound(_)), "{err}");
    }
    assert!(store.appointments_for_phone("+15550000001", later).unwrap().is_empty());
}
