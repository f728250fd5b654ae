//! The HTTP API's store methods on a real SQLite file: direct booking with idempotency keys,
//! listing with filters and keyset pages, amend (reschedule + notes), create-only inserts.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::{checkup, provider, seeded, ts};
use frontdesk_schedule::ResourceId;
use frontdesk_store::{
    Amend, AppointmentApiStore, AppointmentId, AppointmentQuery, AppointmentStatus, Caller, DirectBooked,
    DirectBooking, EventStore, IdempotencyKey, NewSlot, SchedulingStore, SqliteStore, StoreError,
};

fn direct(resources: &[&str], start: &str, phone: &str, key: Option<(&str, &str)>) -> DirectBooking {
    DirectBooking {
        resources: resources.iter().map(|r| ResourceId((*r).into())).collect(),
        appointment_type: "checkup".into(),
        start: ts(start),
        caller: Caller::phone(phone),
        notes: Some("first visit".into()),
        idempotency: key.map(|(k, f)| IdempotencyKey { key: k.into(), fingerprint: f.into() }),
    }
}

const NOW: &str = "2026-03-02T12:00:00Z";

fn booked(d: DirectBooked) -> frontdesk_store::AppointmentView {
    match d {
        DirectBooked::Booked(v) => v,
        DirectBooked::Replayed(v) => panic!("replayed {v:?}"),
    }
}

#[test]
fn direct_booking_is_atomic_and_idempotent() {
    let (_d, s) = seeded();
    s.put_resource(&provider("kim")).unwrap();
    let now = ts(NOW);
    let a = booked(
        s.book_direct(&direct(&["lee"], "2026-03-03T15:00:00Z", "+15550001", Some(("k1", "f1"))), now)
            .unwrap(),
    );
    assert_eq!(a.notes.as_deref(), Some("first visit"));
    assert_eq!(a.appointment.status, AppointmentStatus::Booked);
    assert_eq!(a.appointment.tz, "America/New_York");
    // The same key and request: the same appointment, nothing new written.
    match s
        .book_direct(&direct(&["lee"], "2026-03-03T15:00:00Z", "+15550001", Some(("k1", "f1"))), now)
        .unwrap()
    {
        DirectBooked::Replayed(v) => assert_eq!(v.appointment.id, a.appointment.id),
        other => panic!("{other:?}"),
    }
    // The same key for another request.
    let e = s.book_direct(&direct(&["lee"], "2026-03-03T16:00:00Z", "+15550001", Some(("k1", "f2"))), now);
    assert!(matches!(e, Err(StoreError::IdempotencyKeyReused { .. })), "{e:?}");
    // The same slot without a key: conflict on lee; with kim as a second candidate it goes there.
    let e = s.book_direct(&direct(&["lee"], "2026-03-03T15:15:00Z", "+15550002", None), now);
    assert!(matches!(e, Err(StoreError::Conflict { .. })), "{e:?}");
    let b = booked(
        s.book_direct(&direct(&["lee", "kim"], "2026-03-03T15:00:00Z", "+15550002", None), now).unwrap(),
    );
    assert_eq!(b.appointment.slot.resource.0, "kim");
    // A failed booking leaves no hold behind: the slot next to it is bookable.
    booked(s.book_direct(&direct(&["lee"], "2026-03-03T15:30:00Z", "+15550003", None), now).unwrap());
    let unknown = s.book_direct(&direct(&["nobody"], "2026-03-03T15:00:00Z", "+15550002", None), now);
    assert!(matches!(unknown, Err(StoreError::NotFound { what: "resource", .. })), "{unknown:?}");
    // The key was not consumed by the failed request.
    let e = s.book_direct(&direct(&["lee"], "2026-03-03T15:00:00Z", "+15550009", Some(("k2", "f"))), now);
    assert!(matches!(e, Err(StoreError::Conflict { .. })));
    booked(
        s.book_direct(&direct(&["lee"], "2026-03-03T17:00:00Z", "+15550009", Some(("k2", "g"))), now)
            .unwrap(),
    );
}

#[test]
fn lists_with_filters_and_pages_by_start() {
    let (_d, s) = seeded();
    let now = ts(NOW);
    let mut ids = Vec::new();
    for (i, start) in
        ["2026-03-03T16:00:00Z", "2026-03-03T14:00:00Z", "2026-03-03T15:00:00Z", "2026-03-04T14:00:00Z"]
            .iter()
            .enumerate()
    {
        let phone = if i % 2 == 0 { "+15550001" } else { "+15550002" };
        ids.push(booked(s.book_direct(&direct(&["lee"], start, phone, None), now).unwrap()).appointment.id);
    }
    s.cancel(ids[3], now).unwrap();
    let page = s.list_appointments(&AppointmentQuery { limit: 2, ..Default::default() }).unwrap();
    assert_eq!(page.iter().map(|v| v.appointment.id).collect::<Vec<_>>(), [ids[1], ids[2]]);
    let last = &page[1].appointment;
    let next = s
        .list_appointments(&AppointmentQuery {
            limit: 2,
            after: Some((last.slot.start, last.id)),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(next.iter().map(|v| v.appointment.id).collect::<Vec<_>>(), [ids[0], ids[3]]);
    let by_phone = s
        .list_appointments(&AppointmentQuery { phone: Some("+1 555-0001".into()), ..Default::default() })
        .unwrap();
    assert_eq!(by_phone.iter().map(|v| v.appointment.id).collect::<Vec<_>>(), [ids[2], ids[0]]);
    let cancelled = s
        .list_appointments(&AppointmentQuery {
            status: Some(AppointmentStatus::Cancelled),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(cancelled.len(), 1);
    let day = s
        .list_appointments(&AppointmentQuery {
            from: Some(ts("2026-03-03T15:00:00Z")),
            until: Some(ts("2026-03-04T00:00:00Z")),
            resource: Some(ResourceId("lee".into())),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(day.iter().map(|v| v.appointment.id).collect::<Vec<_>>(), [ids[2], ids[0]]);
}

#[test]
fn amend_reschedules_with_notes_in_one_transaction() {
    let (_d, s) = seeded();
    let now = ts(NOW);
    let a = booked(s.book_direct(&direct(&["lee"], "2026-03-03T15:00:00Z", "+15550001", None), now).unwrap());
    let b = booked(s.book_direct(&direct(&["lee"], "2026-03-03T16:00:00Z", "+15550002", None), now).unwrap());
    let to = |start: &str| Amend {
        slot: Some(NewSlot { resource: None, start: ts(start), tz: None }),
        notes: None,
    };
    // Onto b's slot: conflict, nothing changes.
    let e = s.amend_appointment(a.appointment.id, &to("2026-03-03T16:00:00Z"), now);
    assert!(matches!(e, Err(StoreError::Conflict { .. })), "{e:?}");
    assert_eq!(
        s.appointment_view(a.appointment.id).unwrap().unwrap().appointment.status,
        AppointmentStatus::Booked
    );
    let moved = s.amend_appointment(a.appointment.id, &to("2026-03-03T17:00:00Z"), now).unwrap();
    assert_eq!(moved.appointment.replaces, Some(a.appointment.id));
    assert_eq!(moved.notes.as_deref(), Some("first visit"), "notes carried over");
    let old = s.appointment_view(a.appointment.id).unwrap().unwrap();
    assert_eq!(
        (old.appointment.status, old.replaced_by),
        (AppointmentStatus::Rescheduled, Some(moved.appointment.id))
    );
    // The old slot is free again.
    booked(s.book_direct(&direct(&["lee"], "2026-03-03T15:00:00Z", "+15550003", None), now).unwrap());
    // Notes only: same appointment.
    let n = s
        .amend_appointment(
            b.appointment.id,
            &Amend { slot: None, notes: Some(Some("bring x-rays".into())) },
            now,
        )
        .unwrap();
    assert_eq!((n.appointment.id, n.notes.as_deref()), (b.appointment.id, Some("bring x-rays")));
    let n = s.amend_appointment(b.appointment.id, &Amend { slot: None, notes: Some(None) }, now).unwrap();
    assert_eq!(n.notes, None);
    let missing = s.amend_appointment(AppointmentId(999), &Amend::default(), now);
    assert!(matches!(missing, Err(StoreError::AppointmentNotFound(_))));
}

#[test]
fn create_only_inserts_and_reopen_keeps_schema() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    assert!(s.create_resource(&provider("lee")).unwrap());
    assert!(!s.create_resource(&provider("lee")).unwrap());
    assert!(s.create_appointment_type(&checkup()).unwrap());
    assert!(!s.create_appointment_type(&checkup()).unwrap());
    drop(s);
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    assert_eq!(s.resources().unwrap().len(), 1);
}

#[test]
fn api_writes_emit_their_webhook_events_once() {
    let (_d, s) = seeded();
    let now = ts(NOW);
    let key = Some(("k", "f"));
    let a = booked(s.book_direct(&direct(&["lee"], "2026-03-03T15:00:00Z", "+15550001", key), now).unwrap());
    // A replay and a failed booking write nothing.
    s.book_direct(&direct(&["lee"], "2026-03-03T15:00:00Z", "+15550001", key), now).unwrap();
    assert!(s.book_direct(&direct(&["lee"], "2026-03-03T15:00:00Z", "+15550002", None), now).is_err());
    let slot = NewSlot { resource: None, start: ts("2026-03-03T16:00:00Z"), tz: None };
    let moved = s.amend_appointment(a.appointment.id, &Amend { slot: Some(slot), notes: None }, now).unwrap();
    // Notes alone are not an appointment event.
    s.amend_appointment(moved.appointment.id, &Amend { slot: None, notes: Some(None) }, now).unwrap();
    let kinds: Vec<String> = s.events_after(0, 100).unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["appointment.booked", "appointment.rescheduled"]);
}
