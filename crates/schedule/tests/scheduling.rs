//! Scheduling core scenarios: hours across DST, availability, holds, booking rules, .ics.

use frontdesk_schedule::{
    AppointmentType, Exception, HoldRequest, Holiday, IcsEvent, Resource, ResourceKind, Schedule,
    ScheduleError, SlotQuery, WallInterval, WeeklyHours, find_slots, parse_datetime, range_for, to_ics,
};
use jiff::civil::{Time, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

fn ny() -> TimeZone {
    TimeZone::get("America/New_York").expect("bundled zone")
}

fn ts(s: &str) -> Timestamp {
    s.parse().expect("valid timestamp")
}

fn clinic(id: &str) -> Resource {
    Resource::new(
        id,
        "Dr. Lee",
        ResourceKind::Provider,
        ny(),
        WeeklyHours::weekdays(WallInterval::hm(9, 0, 17, 0).expect("valid hours")),
    )
}

fn local(z: &Zoned) -> String {
    z.strftime("%a %Y-%m-%d %H:%M %Z").to_string()
}

#[test]
fn business_hours_keep_wall_clock_across_dst() {
    let r = clinic("lee");
    assert_eq!(
        r.open_on(date(2026, 3, 6)).unwrap(),
        vec![(ts("2026-03-06T14:00:00Z"), ts("2026-03-06T22:00:00Z"))]
    );
    assert_eq!(
        r.open_on(date(2026, 3, 9)).unwrap(),
        vec![(ts("2026-03-09T13:00:00Z"), ts("2026-03-09T21:00:00Z"))]
    );
    assert_eq!(
        r.open_on(date(2026, 11, 2)).unwrap(),
        vec![(ts("2026-11-02T14:00:00Z"), ts("2026-11-02T22:00:00Z"))]
    );
    assert!(r.open_on(date(2026, 3, 7)).unwrap().is_empty(), "Saturday closed");
}

#[test]
fn round_the_clock_days_are_23_and_25_hours_on_dst_days() {
    let all_day = WallInterval::hm(0, 0, 24, 0).unwrap();
    let mut hours = WeeklyHours::closed();
    for wd in [jiff::civil::Weekday::Sunday, jiff::civil::Weekday::Monday] {
        hours = hours.with(wd, all_day);
    }
    let r = Resource::new("line", "Hotline", ResourceKind::Room, ny(), hours);
    let len = |d| {
        let v = r.open_on(d).unwrap();
        let (s, e) = v[0];
        e.duration_since(s)
    };
    assert_eq!(len(date(2026, 3, 8)), SignedDuration::from_hours(23));
    assert_eq!(len(date(2026, 11, 1)), SignedDuration::from_hours(25));
    assert_eq!(len(date(2026, 11, 2)), SignedDuration::from_hours(24));
}

#[test]
fn exceptions_and_holidays_close_or_change_days() {
    let mut r = clinic("lee");
    r.holidays.push(Holiday::Thanksgiving.date_in(2026).unwrap());
    r.exceptions.push(Exception::Hours(date(2026, 11, 27), vec![WallInterval::hm(9, 0, 12, 0).unwrap()]));
    r.exceptions.push(Exception::Closed(date(2026, 11, 30)));
    assert!(r.open_on(date(2026, 11, 26)).unwrap().is_empty());
    assert_eq!(
        r.open_on(date(2026, 11, 27)).unwrap(),
        vec![(ts("2026-11-27T14:00:00Z"), ts("2026-11-27T17:00:00Z"))]
    );
    assert!(r.open_on(date(2026, 11, 30)).unwrap().is_empty());
    assert!(WallInterval::hm(17, 0, 9, 0).is_err());
}

#[test]
fn offers_are_at_most_three_spread_out_and_avoid_busy_time() {
    let res = [clinic("lee")];
    let kind = AppointmentType::minutes("cleaning", "Cleaning", 30);
    let mut sched = Schedule::new();
    let now = ts("2026-11-18T15:15:00Z"); // Wed 10:15 in New York
    // Busy 12:00-13:00 local.
    sched
        .hold(
            HoldRequest {
                resource: res[0].id.clone(),
                appointment_type: &AppointmentType::minutes("long", "Long", 60),
                start: ts("2026-11-24T17:00:00Z"),
                tz: &ny(),
                idempotency_key: None,
                replaces: None,
            },
            now,
        )
        .unwrap();
    let n: Zoned = now.to_zoned(ny());
    let m = parse_datetime("next tuesday afternoon", &n).unwrap();
    let (from, until) = range_for(&m, now).unwrap();
    let q = SlotQuery::new(&kind, &res, from, until);
    let offers = find_slots(&q, &sched.busy(now)).unwrap();
    let got: Vec<String> = offers.iter().map(|s| local(&s.start)).collect();
    assert_eq!(got, vec!["Tue 2026-11-24 13:00 EST", "Tue 2026-11-24 14:45 EST", "Tue 2026-11-24 16:30 EST"]);
    // After the hold expires, noon is open again.
    let later = ts("2026-11-18T15:17:01Z");
    let offers = find_slots(&q, &sched.busy(later)).unwrap();
    assert_eq!(local(&offers[0].start), "Tue 2026-11-24 12:00 EST");
}

#[test]
fn window_preference_and_buffers() {
    let res = [clinic("lee")];
    let kind = AppointmentType::minutes("exam", "Exam", 30).with_buffers(0, 15);
    let mut sched = Schedule::new();
    let now = ts("2026-11-18T15:15:00Z");
    let zone = ny();
    let req = |start: &str| HoldRequest {
        resource: res[0].id.clone(),
        appointment_type: &kind,
        start: ts(start),
        tz: &zone,
        idempotency_key: None,
        replaces: None,
    };
    let h = sched.hold(req("2026-11-19T14:00:00Z"), now).unwrap(); // 09:00 local
    sched.confirm(&h.id, now).unwrap();
    // 09:30 is inside the 15-minute buffer after the 09:00-09:30 exam.
    assert!(matches!(sched.hold(req("2026-11-19T14:30:00Z"), now), Err(ScheduleError::Conflict { .. })));
    let mut q = SlotQuery::new(&kind, &res, ts("2026-11-19T14:00:00Z"), ts("2026-11-20T05:00:00Z"));
    q.window = Some((Time::constant(8, 0, 0, 0), Time::constant(12, 0, 0, 0)));
    q.max_offers = 2;
    let offers = find_slots(&q, &sched.busy(now)).unwrap();
    let got: Vec<String> = offers.iter().map(|s| local(&s.start)).collect();
    assert_eq!(got, vec!["Thu 2026-11-19 09:45 EST", "Thu 2026-11-19 11:30 EST"]);
    q.window = Some((Time::constant(16, 0, 0, 0), Time::constant(17, 0, 0, 0)));
    q.max_offers = 5;
    let offers = find_slots(&q, &sched.busy(now)).unwrap();
    assert_eq!(offers.len(), 3, "16:00, 16:15 and 16:30 end by 17:00");
}

#[test]
fn holds_expire_and_booking_requires_a_live_hold() {
    let r = clinic("lee");
    let kind = AppointmentType::minutes("cleaning", "Cleaning", 30);
    let mut sched = Schedule::new();
    let now = ts("2026-11-18T15:15:00Z");
    let zone = ny();
    let req = |key: Option<&str>| HoldRequest {
        resource: r.id.clone(),
        appointment_type: &kind,
        start: ts("2026-11-19T15:00:00Z"),
        tz: &zone,
        idempotency_key: key.map(str::to_string),
        replaces: None,
    };
    let a = sched.hold(req(Some("call-1")), now).unwrap();
    assert_eq!(sched.hold(req(Some("call-1")), now).unwrap().id, a.id, "idempotent");
    assert!(matches!(sched.hold(req(Some("call-2")), now), Err(ScheduleError::Conflict { .. })));
    let after = ts("2026-11-18T15:17:00Z"); // 120 s later: expired
    assert!(matches!(sched.confirm(&a.id, after), Err(ScheduleError::HoldExpired(_))));
    assert!(matches!(sched.confirm("H999", after), Err(ScheduleError::HoldNotFound(_))));
    let b = sched.hold(req(Some("call-2")), after).unwrap();
    let booking = sched.confirm(&b.id, after).unwrap();
    assert_eq!(booking.tz, "America/New_York");
    assert_eq!(local(&booking.local_start().unwrap()), "Thu 2026-11-19 10:00 EST");
    assert!(sched.holds.is_empty());
    // A booked slot conflicts with every later hold.
    assert!(sched.hold(req(None), ts("2026-11-18T18:00:00Z")).is_err());
    assert!(sched.cancel(&booking.id));
    assert!(sched.hold(req(None), ts("2026-11-18T18:00:00Z")).is_ok());
}

#[test]
fn reschedule_books_new_then_releases_old() {
    let r = clinic("lee");
    let kind = AppointmentType::minutes("cleaning", "Cleaning", 30);
    let mut sched = Schedule::new();
    let now = ts("2026-11-18T15:15:00Z");
    let zone = ny();
    let req = |start: &str| HoldRequest {
        resource: r.id.clone(),
        appointment_type: &kind,
        start: ts(start),
        tz: &zone,
        idempotency_key: None,
        replaces: None,
    };
    let h = sched.hold(req("2026-11-19T15:00:00Z"), now).unwrap();
    let old = sched.confirm(&h.id, now).unwrap();
    let h = sched.hold(req("2026-11-19T17:00:00Z"), now).unwrap();
    let other = sched.confirm(&h.id, now).unwrap();
    // Overlapping the booking it replaces is fine.
    let new = sched.reschedule(&old.id, req("2026-11-19T15:15:00Z"), now).unwrap();
    assert!(sched.bookings.iter().all(|b| b.id != old.id));
    // Into another booking: conflict, and the booking being moved stays.
    assert!(matches!(
        sched.reschedule(&new.id, req("2026-11-19T17:00:00Z"), now),
        Err(ScheduleError::Conflict { .. })
    ));
    assert!(sched.bookings.iter().any(|b| b.id == new.id));
    assert!(sched.bookings.iter().any(|b| b.id == other.id));
    assert!(matches!(
        sched.reschedule("B404", req("2026-11-20T15:00:00Z"), now),
        Err(ScheduleError::BookingNotFound(_))
    ));
}

#[test]
fn ics_confirmation_uses_utc_across_dst() {
    let r = clinic("lee");
    let kind = AppointmentType::minutes("cleaning", "Cleaning", 45);
    let mut sched = Schedule::new();
    let now = ts("2026-03-06T15:00:00Z");
    // Monday after spring forward, 09:00 local = 13:00Z.
    let start = jiff::civil::date(2026, 3, 9).at(9, 0, 0, 0).to_zoned(ny()).unwrap().timestamp();
    let h = sched
        .hold(
            HoldRequest {
                resource: r.id.clone(),
                appointment_type: &kind,
                start,
                tz: &ny(),
                idempotency_key: None,
                replaces: None,
            },
            now,
        )
        .unwrap();
    let b = sched.confirm(&h.id, now).unwrap();
    let mut ev = IcsEvent::for_booking(&b, "frontdesk.example", "Cleaning with Dr. Lee", now);
    ev.location = Some("12 Main St, Suite 3");
    let ics = to_ics(&ev);
    assert!(ics.contains("\r\nUID:B1@frontdesk.example\r\n"));
    assert!(ics.contains("\r\nDTSTART:20260309T130000Z\r\nDTEND:20260309T134500Z\r\n"));
    assert!(ics.contains("\r\nDTSTAMP:20260306T150000Z\r\n"));
    assert!(ics.contains("LOCATION:12 Main St\\, Suite 3\r\n"));
}
