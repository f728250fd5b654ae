//! Scheduling nodes end to end: the sans-IO machine on a simulated clock, a real SQLite store
//! in a temporary directory behind it (`convo::Desk`), and the checker against a resources file.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_flow::convo::{Desk, Reply, load, step_with, store_effects};
use frontdesk_flow::parse::resources::parse_resources;
use frontdesk_flow::{Command, Event, FlowMachine};
use frontdesk_schedule::ScheduleOp;
use frontdesk_store::SchedulingStore as _;
use frontdesk_types::{Instant, Pii};

fn flows() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows")
}

struct Call<'d> {
    m: FlowMachine,
    now: Instant,
    desk: &'d Desk,
}

impl Call<'_> {
    fn say(&mut self, text: &str) -> Reply {
        self.now += Duration::from_secs(3);
        let ev = Event::Utterance { text: text.into(), confidence: 0.9, embedding: None };
        step_with(&mut self.m, self.now, Some(ev), &mut store_effects(self.desk.store())).unwrap()
    }
    fn wait(&mut self, secs: u64) {
        self.now += Duration::from_secs(secs);
    }
}

fn clinic<'d>(desk: &'d Desk, caller: &str, start: Instant) -> (Call<'d>, Reply) {
    let (bundle, res) = load(&flows().join("clinic.yaml")).unwrap();
    desk.seed(res.as_ref().unwrap()).unwrap();
    // A call starting later starts later on the wall clock too (one clock for all calls).
    let base = frontdesk_schedule::local_now("2026-11-18T10:15", "America/New_York").unwrap();
    let elapsed = start.saturating_duration_since(Instant::ZERO);
    let wall =
        base.checked_add(frontdesk_schedule::jiff::SignedDuration::try_from(elapsed).unwrap()).unwrap();
    let mut m = FlowMachine::new(Arc::new(bundle), wall).with_caller(Pii::new(caller.to_owned()));
    let r = step_with(&mut m, start, Some(Event::Start), &mut store_effects(desk.store())).unwrap();
    (Call { m, now: start, desk }, r)
}

/// Drives a call to the offers for Tuesday at 3 PM with Dr. Chen.
fn to_offers(c: &mut Call<'_>) -> Reply {
    c.say("book an appointment");
    c.say("next tuesday at 3 pm");
    c.say("yes");
    c.say("Maria Garcia");
    c.say("doctor chen")
}

#[test]
fn the_machine_emits_ops_and_books_only_after_yes() {
    let desk = Desk::open(None).unwrap();
    let (mut c, _) = clinic(&desk, "+16175550100", Instant::ZERO);
    let r = to_offers(&mut c);
    // One search with the caller's provider and day, at most 3 offers, nothing booked.
    let finds: Vec<&ScheduleOp> = r
        .commands
        .iter()
        .filter_map(|k| match k {
            Command::Schedule(op) => Some(op),
            _ => None,
        })
        .collect();
    assert_eq!(finds.len(), 1, "{:?}", r.commands);
    match finds[0] {
        ScheduleOp::FindSlots { provider, max_offers, .. } => {
            assert_eq!(provider.as_deref(), Some("chen"));
            assert_eq!(*max_offers, 3);
        }
        other => panic!("{other:?}"),
    }
    assert!(r.say.contains("Tuesday, November 24 at 3:00 PM with Dr. Amelia Chen"), "{}", r.say);
    let r = c.say("the first one");
    assert!(r.say.contains("Shall I book it?"), "{}", r.say);
    let held_until = desk.store().busy(
        frontdesk_schedule::jiff::Timestamp::from_second(0).unwrap(),
        frontdesk_schedule::jiff::Timestamp::from_second(4_000_000_000).unwrap(),
        c.m.clock(c.now),
    );
    assert_eq!(held_until.unwrap().len(), 1, "the hold blocks the slot");
    assert!(desk.store().appointments_for_phone("+16175550100", c.m.clock(c.now)).unwrap().is_empty());
    // An unclear answer books nothing.
    let r = c.say("hmm");
    assert!(r.commands.iter().all(|k| !matches!(k, Command::Schedule(ScheduleOp::Book { .. }))));
    let r = c.say("yes");
    assert!(r.commands.iter().any(|k| matches!(k, Command::Schedule(ScheduleOp::Book { .. }))));
    let booked = desk.store().appointments_for_phone("+16175550100", c.m.clock(c.now)).unwrap();
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0].caller.name.as_ref().map(|n| n.expose().as_str()), Some("Maria Garcia"));
    let ics = c.m.last_ics().unwrap();
    assert!(ics.contains("DTSTART:20261124T200000Z"), "{ics}");
}

#[test]
fn concurrent_callers_one_wins_the_other_gets_the_next_slots() {
    let desk = Desk::open(None).unwrap();
    let (mut a, _) = clinic(&desk, "+16175550100", Instant::ZERO);
    let (mut b, _) = clinic(&desk, "+16175550111", Instant::ZERO);
    let ra = to_offers(&mut a);
    let rb = to_offers(&mut b);
    assert!(ra.say.contains("at 3:00 PM with Dr. Amelia Chen"));
    assert!(rb.say.contains("at 3:00 PM with Dr. Amelia Chen"));
    a.say("the first one");
    let rb = b.say("the first one");
    assert!(b.m.turn().actions.contains(&"conflict".to_owned()), "{:?}", b.m.turn());
    assert!(rb.say.contains("just taken") && !rb.say.contains("at 3:00 PM with"), "{}", rb.say);
    a.say("yes");
    b.say("first");
    b.say("yes");
    let now = a.m.clock(a.now);
    let sa = desk.store().appointments_for_phone("+16175550100", now).unwrap();
    let sb = desk.store().appointments_for_phone("+16175550111", now).unwrap();
    assert_eq!((sa.len(), sb.len()), (1, 1));
    assert_ne!(sa[0].slot.start, sb[0].slot.start);
}

#[test]
fn an_expired_hold_is_not_booked_and_the_caller_is_offered_again() {
    let desk = Desk::open(None).unwrap();
    let (mut a, _) = clinic(&desk, "+16175550100", Instant::ZERO);
    to_offers(&mut a);
    a.say("the first one");
    // The caller hesitates past the hold's lifetime (about 120 s) ...
    a.wait(150);
    // ... and someone else takes the slot meanwhile.
    let (mut b, _) = clinic(&desk, "+16175550111", a.now);
    let rb = to_offers(&mut b);
    assert!(
        rb.say.contains("at 3:00 PM with Dr. Amelia Chen"),
        "the expired hold no longer blocks: {}",
        rb.say
    );
    b.say("the first one");
    b.say("yes");
    let r = a.say("yes");
    assert!(a.m.turn().actions.contains(&"hold_expired".to_owned()), "{:?}", a.m.turn());
    assert!(r.say.contains("no longer available") && !r.say.contains("at 3:00 PM with"), "{}", r.say);
    assert!(desk.store().appointments_for_phone("+16175550100", a.m.clock(a.now)).unwrap().is_empty());
}

#[test]
fn a_hold_within_its_lifetime_books_even_after_a_pause() {
    let desk = Desk::open(None).unwrap();
    let (mut a, _) = clinic(&desk, "+16175550100", Instant::ZERO);
    to_offers(&mut a);
    a.say("the first one");
    a.wait(100);
    a.say("yes");
    assert!(a.m.turn().actions.iter().any(|x| x.starts_with("booked:")), "{:?}", a.m.turn());
}

#[test]
fn bookings_persist_across_calls_in_one_data_directory() {
    let dir = std::env::temp_dir().join(format!("frontdesk-sched-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let desk = Desk::open(Some(&dir)).unwrap();
        let (mut a, _) = clinic(&desk, "+16175550100", Instant::ZERO);
        to_offers(&mut a);
        a.say("first");
        a.say("yes");
    }
    let desk = Desk::open(Some(&dir)).unwrap();
    let (mut a, _) = clinic(&desk, "+16175550100", Instant::ZERO);
    let r = a.say("I need to cancel my appointment");
    assert!(
        r.say.contains("office visit with Dr. Amelia Chen on Tuesday, November 24 at 3:00 PM"),
        "{}",
        r.say
    );
    drop(desk);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn checker_reports_unknown_types_providers_and_missing_routes_with_positions() {
    let res =
        parse_resources(&std::fs::read_to_string(flows().join("clinic-resources.yaml")).unwrap()).unwrap();
    let src = "flow: t\nbusiness: B\nstart: who\nresources: r.yaml\nglobal: {human: bye}\nnodes:\n  who:\n    collect:\n      slot: doc\n      type: enum\n      options: {chen: [chen], smith: [smith]}\n      prompt: Who?\n      no_input: Who?\n      no_match: Who?\n    next: offer\n  offer:\n    find_slots:\n      type: ofice_visit\n      provider: doc\n      slot: appt\n      no_input: Which?\n      no_match: Which?\n    next: book_it\n  book_it:\n    book:\n      slot: apt\n      confirm: Book {{appt}}?\n      declined: bye\n      no_input: Yes or no?\n      no_match: Yes or no?\n    next: bye\n  bye:\n    say: Bye.\n    hangup: true\n";
    let flow = frontdesk_flow::parse::parse_flow(src).unwrap();
    let mut all: Vec<String> =
        frontdesk_flow::check::check(&flow).iter().map(|d| d.render("t.yaml")).collect();
    all.extend(frontdesk_flow::check::check_resources(&flow, &res).iter().map(|d| d.render("t.yaml")));
    let has = |needle: &str, at: &str| all.iter().any(|m| m.contains(needle) && m.starts_with(at));
    assert!(has("appointment type `ofice_visit`", "t.yaml:18:13"), "{all:#?}");
    assert!(all.iter().any(|m| m.contains("office_visit")), "did-you-mean hint: {all:#?}");
    assert!(has("option `smith` of slot `doc` is not a provider", "t.yaml:7:"), "{all:#?}");
    assert!(has("has no `none:`", "t.yaml:16:"), "{all:#?}");
    assert!(has("slot `apt` is not set by any node", "t.yaml:26:13"), "{all:#?}");
}
