//! Scheduling nodes in the machine: `find_slots` (search, offer at most 3, hold the pick),
//! `book` (read back, book only after an explicit yes), `lookup` (the caller's next
//! appointment) and `cancel` (read back, cancel after yes). Reschedule is `find_slots` with
//! `replaces:` followed by `book`: the hold names the old appointment and booking it releases
//! the old one in the same store transaction.
//!
//! Every op carries the caller's wall-clock instant (`FlowMachine::clock`), so holds expire on
//! the machine's clock. Outcomes: a slot taken meanwhile (hold or booking conflict) or an
//! expired hold says so and searches again (the taken slot is no longer offered); nothing
//! open goes to `none`; a store failure escalates.
//!
//! Picking an offer: "the first/second/last", keys 1-3, the time ("the 3 o'clock"), the
//! provider ("with Dr. Nair"), or "yes" to a single offer. "None of those", "later" or "no"
//! offers the next openings after the last offered one; a different day or time ("no, I said
//! Thursday") is a correction: the `when` slot takes it and the search runs again. At a `book`
//! read-back, a day or time also corrects (the hold is released and the search runs again).

use frontdesk_schedule::jiff::{SignedDuration, Timestamp, ToSpan as _, tz::TimeZone};
use frontdesk_schedule::{
    AppointmentInfo, DateTimeMatch, Grain, Offer, ScheduleOp, ScheduleOutcome, parse_datetime, range_for,
    read_back,
};
use frontdesk_types::Instant;

use super::{Command, Expect, FlowMachine, Wait};
use crate::ast::{FindSlots, Node, NodeKind};
use crate::intents::{has_phrase, words};
use crate::slots::{Value, yes_no};

/// Offers per search (R41).
const MAX_OFFERS: usize = 3;
/// Earliest offer after now.
const LEAD: SignedDuration = SignedDuration::from_mins(60);
/// Search range without a `when`, and how far "nothing then" widens, in days.
const DEFAULT_DAYS: i64 = 7;
const WIDEN_DAYS: i64 = 14;

/// A hold this close to its expiry counts as expired.
const HOLD_MARGIN: SignedDuration = SignedDuration::from_secs(5);

pub(super) const TAKEN: &str = "I'm sorry, that time was just taken.";
pub(super) const GONE: &str = "I'm sorry, that time is no longer available.";
pub(super) const STORE_DOWN: &str = "I'm sorry, I can't reach the schedule right now.";

/// What an outstanding op was for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Pending {
    Find,
    Hold(Offer),
    Book,
    Lookup,
    Cancel,
}

/// A hold the caller picked, by the `find_slots` slot name.
#[derive(Debug, Clone, PartialEq)]
struct Held {
    hold: i64,
    expires_at: Timestamp,
    offer: Offer,
    /// The `find_slots` node, to search again from.
    origin: String,
}

/// The search a `find_slots` node runs (kept for "later" and re-offers).
#[derive(Debug, Clone, PartialEq)]
struct Search {
    appointment_type: String,
    provider: Option<String>,
    from: Timestamp,
    until: Timestamp,
    replaces: Option<i64>,
}

/// Scheduling state of one call.
#[derive(Debug, Clone, Default)]
pub(crate) struct SchedState {
    offers: Vec<Offer>,
    search: Option<Search>,
    held: Vec<(String, Held)>,
    appts: Vec<(String, AppointmentInfo)>,
    /// A correction said to a `find_slots` without a `when` slot.
    when_override: Option<DateTimeMatch>,
    seq: u32,
    pub(crate) last_ics: Option<String>,
}

impl SchedState {
    fn held(&self, slot: &str) -> Option<&Held> {
        self.held.iter().find(|(s, _)| s == slot).map(|(_, h)| h)
    }
    fn appt(&self, slot: &str) -> Option<&AppointmentInfo> {
        self.appts.iter().find(|(s, _)| s == slot).map(|(_, a)| a)
    }
}

impl FlowMachine {
    fn tz(&self) -> TimeZone {
        self.b
            .flow
            .timezone
            .as_deref()
            .and_then(|z| TimeZone::get(z).ok())
            .unwrap_or_else(|| self.wall_start.time_zone().clone())
    }

    fn spoken(&self, start: &frontdesk_schedule::jiff::Zoned) -> String {
        read_back(&DateTimeMatch::at(start.clone()), &self.tz())
    }

    fn text_slot(&self, name: &str) -> Option<String> {
        match self.slots.get(name)? {
            Value::Text(t) => Some(t.clone()),
            Value::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }

    fn emit(&mut self, op: ScheduleOp, pending: Pending) {
        self.turn.actions.push(format!("schedule:{}", op.name()));
        self.out.push_back(Command::Schedule(op));
        self.deadline = None;
        self.wait = Wait::Sched(pending);
    }

    /// Enters a scheduling node; returns the node to continue at, if it does not wait.
    pub(super) fn run_sched(&mut self, now: Instant, idx: usize, node: &Node) -> Option<String> {
        match &node.kind {
            NodeKind::FindSlots(f) => {
                self.push_history(idx);
                match self.build_search(now, f) {
                    Some(s) => self.search(now, s),
                    None => {
                        self.turn.actions.push("schedule:none".into());
                        return f.none.as_ref().map(|n| n.value.clone());
                    }
                }
                None
            }
            NodeKind::Book(b) => {
                if self.sched.held(&b.slot.value).is_none() {
                    return Some(b.declined.value.clone());
                }
                let q = self.render(&b.confirm);
                self.last_prompt = q.clone();
                self.say(q);
                self.wait = Wait::SchedConfirm;
                self.listen(now, Expect::YesNo);
                None
            }
            NodeKind::Lookup(l) => {
                let id = l.id.as_ref().and_then(|s| self.text_slot(&s.value));
                let phone = self.caller.as_ref().map(|c| c.expose().clone());
                if l.id.is_some() && id.as_deref().and_then(|i| i.trim().parse::<i64>().ok()).is_none() {
                    return Some(l.none.value.clone());
                }
                let id = id.and_then(|i| i.trim().parse::<i64>().ok());
                let at = self.clock(now);
                self.emit(ScheduleOp::Lookup { phone, id, now: at }, Pending::Lookup);
                None
            }
            NodeKind::Cancel(c) => {
                if self.sched.appt(&c.slot.value).is_none() {
                    return Some(c.declined.value.clone());
                }
                let q = self.render(&c.confirm);
                self.last_prompt = q.clone();
                self.say(q);
                self.wait = Wait::SchedConfirm;
                self.listen(now, Expect::YesNo);
                None
            }
            _ => None,
        }
    }

    fn build_search(&mut self, now: Instant, f: &FindSlots) -> Option<Search> {
        let old = f.replaces.as_ref().and_then(|r| self.sched.appt(&r.value).cloned());
        let appointment_type = f
            .appointment_type
            .as_ref()
            .map(|t| t.value.clone())
            .or_else(|| f.type_slot.as_ref().and_then(|s| self.text_slot(&s.value)))
            .or_else(|| old.as_ref().map(|a| a.appointment_type.clone()))?;
        let provider = match &f.provider {
            Some(p) => self.text_slot(&p.value).filter(|v| v != "any"),
            None => old.as_ref().map(|a| a.resource.clone()),
        };
        let at = self.clock(now);
        let earliest = at.checked_add(LEAD).unwrap_or(at);
        let when = match f.when.as_ref().and_then(|w| self.slots.get(&w.value)) {
            Some(Value::When(m)) => Some(m.clone()),
            _ => None,
        };
        let when = self.sched.when_override.clone().or(when);
        let (from, until) = match when.and_then(|m| range_for(&m, at).ok()) {
            Some((from, until)) => (from.max(earliest), until),
            None => {
                let until = self
                    .wall(now)
                    .checked_add(DEFAULT_DAYS.days())
                    .map(|z| z.timestamp())
                    .unwrap_or(earliest);
                (earliest, until)
            }
        };
        Some(Search { appointment_type, provider, from, until, replaces: old.map(|a| a.id) })
    }

    fn search(&mut self, now: Instant, s: Search) {
        let at = self.clock(now);
        let op = ScheduleOp::FindSlots {
            appointment_type: s.appointment_type.clone(),
            provider: s.provider.clone(),
            from: s.from,
            until: s.until.max(s.from),
            window: None,
            max_offers: MAX_OFFERS,
            widen_days: WIDEN_DAYS,
            now: at,
        };
        self.sched.search = Some(s);
        self.emit(op, Pending::Find);
    }

    /// Feeds a scheduling outcome.
    pub(super) fn schedule_result(
        &mut self,
        now: Instant,
        o: ScheduleOutcome,
    ) -> Result<(), crate::FlowError> {
        let Wait::Sched(p) = self.wait.clone() else {
            return Err(crate::FlowError::Unexpected("schedule result while not waiting for one".into()));
        };
        let b = self.b.clone();
        let Some(node) = b.flow.nodes.get(self.node) else { return Ok(()) };
        self.wait = Wait::Nothing;
        if let ScheduleOutcome::Failed(_) = &o {
            self.turn.actions.push("schedule:failed".into());
            self.say(STORE_DOWN.into());
            self.escalate_now(now, node);
            return Ok(());
        }
        match (p, &node.kind, o) {
            (Pending::Find, NodeKind::FindSlots(f), ScheduleOutcome::Offers { offers, widened }) => {
                if offers.is_empty() {
                    self.turn.actions.push("schedule:none".into());
                    self.sched.offers.clear();
                    match &f.none {
                        Some(n) => self.goto(now, &n.value),
                        None => self.escalate_now(now, node),
                    }
                    return Ok(());
                }
                self.sched.offers = offers;
                let list = self.offer_list();
                let lead = if widened {
                    "I don't have anything open then. The nearest openings are"
                } else {
                    "I have"
                };
                let ask = match (&f.prompt, self.sched.offers.len()) {
                    (Some(p), _) => self.render(p),
                    (None, 1) => "Would that work for you?".to_owned(),
                    (None, _) => "Which would you like?".to_owned(),
                };
                let text = format!("{lead} {list}. {ask}");
                self.last_prompt = text.clone();
                self.say(text);
                self.turn.actions.push(format!("offers:{}", self.sched.offers.len()));
                self.wait = Wait::Offers;
                self.relisten(now);
            }
            (Pending::Find, _, _) => {
                self.turn.actions.push("schedule:none".into());
                match node.kind.outcome_targets().first() {
                    Some(n) => self.goto(now, &n.value),
                    None => self.escalate_now(now, node),
                }
            }
            (Pending::Hold(offer), NodeKind::FindSlots(f), ScheduleOutcome::Held { hold, expires_at }) => {
                self.turn.actions.push("hold".into());
                let slot = f.slot.value.clone();
                self.set_appt_slots(
                    &slot,
                    &offer.start,
                    &offer.resource_name,
                    &offer.resource,
                    &offer.appointment_type,
                );
                self.sched.held.retain(|(s, _)| *s != slot);
                self.sched.held.push((slot, Held { hold, expires_at, offer, origin: node.id.clone() }));
                self.sched.when_override = None;
                self.advance(now, None);
            }
            (Pending::Hold(_), _, _) => {
                self.turn.actions.push("conflict".into());
                self.say(TAKEN.into());
                self.research(now);
            }
            (Pending::Book, NodeKind::Book(bk), ScheduleOutcome::Booked { appointment, ics }) => {
                self.turn.actions.push(format!("booked:{}", appointment.id));
                self.sched.held.retain(|(s, _)| *s != bk.slot.value);
                self.slots.insert(format!("{}_id", bk.slot.value), Value::Text(appointment.id.to_string()));
                self.sched.last_ics = Some(ics);
                self.advance(now, None);
            }
            (Pending::Book, NodeKind::Book(bk), o) => {
                self.turn
                    .actions
                    .push(if o == ScheduleOutcome::Expired { "hold_expired" } else { "conflict" }.into());
                self.say(if o == ScheduleOutcome::Expired { GONE } else { TAKEN }.into());
                let origin = self.sched.held(&bk.slot.value).map(|h| h.origin.clone());
                self.sched.held.retain(|(s, _)| *s != bk.slot.value);
                self.slots.remove(&bk.slot.value);
                match origin {
                    Some(o) => self.goto(now, &o),
                    None => self.goto(now, &bk.declined.value),
                }
            }
            (Pending::Lookup, NodeKind::Lookup(l), ScheduleOutcome::Appointments(list)) => {
                match list.into_iter().next() {
                    Some(a) => {
                        self.turn.actions.push("found".into());
                        let slot = l.slot.value.clone();
                        self.set_appt_slots(&slot, &a.start, &a.resource_name, &a.resource, &a.type_name);
                        self.slots.insert(format!("{slot}_id"), Value::Text(a.id.to_string()));
                        self.sched.appts.retain(|(s, _)| *s != slot);
                        self.sched.appts.push((slot, a));
                        self.advance(now, None);
                    }
                    None => {
                        self.turn.actions.push("schedule:none".into());
                        self.goto(now, &l.none.value);
                    }
                }
            }
            (Pending::Cancel, NodeKind::Cancel(c), ScheduleOutcome::Cancelled(a)) => {
                self.turn.actions.push(format!("cancelled:{}", a.id));
                self.sched.appts.retain(|(s, _)| *s != c.slot.value);
                self.advance(now, None);
            }
            (_, _, _) => {
                self.turn.actions.push("schedule:unexpected".into());
                self.say(STORE_DOWN.into());
                self.escalate_now(now, node);
            }
        }
        Ok(())
    }

    fn set_appt_slots(
        &mut self,
        slot: &str,
        start: &frontdesk_schedule::jiff::Zoned,
        with: &str,
        provider: &str,
        kind: &str,
    ) {
        self.slots.insert(slot.to_owned(), Value::When(DateTimeMatch::at(start.clone())));
        self.slots.insert(format!("{slot}_with"), Value::Text(with.to_owned()));
        self.slots.insert(format!("{slot}_provider"), Value::Text(provider.to_owned()));
        self.slots.insert(format!("{slot}_type"), Value::Text(kind.replace('_', " ")));
    }

    fn escalate_now(&mut self, now: Instant, node: &Node) {
        match crate::check::escalation(&self.b.flow, node).map(|(t, _)| t.to_owned()) {
            Some(t) => self.goto(now, &t),
            None => {
                self.out.push_back(Command::Hangup);
                self.end();
            }
        }
    }

    /// The same search again (after a conflict: the taken slot is busy now).
    fn research(&mut self, now: Instant) {
        match self.sched.search.clone() {
            Some(s) => self.search(now, s),
            None => {
                let id = self.node_id().to_owned();
                self.goto(now, &id);
            }
        }
    }

    fn offer_list(&self) -> String {
        let items: Vec<String> = self
            .sched
            .offers
            .iter()
            .map(|o| format!("{} with {}", self.spoken(&o.start), o.resource_name))
            .collect();
        match items.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{}, or {last}", init.join(", ")),
        }
    }

    pub(super) fn offer_expect(&self) -> Expect {
        Expect::Choice(self.sched.offers.iter().map(|o| self.spoken(&o.start)).collect())
    }

    fn pick(&mut self, now: Instant, i: usize) {
        let Some(offer) = self.sched.offers.get(i).cloned() else {
            self.fail(now, false);
            return;
        };
        let replaces = self.sched.search.as_ref().and_then(|s| s.replaces);
        self.sched.seq += 1;
        // Unique per call (caller and call start) and per request: a retry of this request
        // gets the same hold, another call never does.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&self.caller.as_ref().map(|c| c.expose().clone()), &mut h);
        std::hash::Hash::hash(&self.wall_start.timestamp().as_nanosecond(), &mut h);
        let call = std::hash::Hasher::finish(&h);
        let key = format!("{call:016x}:{}:{}:{}", self.node_id(), self.sched.seq, offer.start.timestamp());
        let at = self.clock(now);
        self.emit(ScheduleOp::Hold { offer: offer.clone(), replaces, key, now: at }, Pending::Hold(offer));
    }

    /// The next openings after the last offered one.
    fn later(&mut self, now: Instant) {
        self.turn.actions.push("later".into());
        let (Some(mut s), Some(last)) = (self.sched.search.clone(), self.sched.offers.last()) else {
            self.fail(now, false);
            return;
        };
        s.from = last.start.timestamp().checked_add(SignedDuration::from_mins(1)).unwrap_or(s.from);
        self.search(now, s);
    }

    pub(super) fn offer_keys(&mut self, now: Instant, keys: &str) {
        match keys.parse::<usize>() {
            Ok(n) if (1..=self.sched.offers.len()).contains(&n) => self.pick(now, n - 1),
            _ => self.fail(now, false),
        }
    }

    pub(super) fn offer_choice(&mut self, now: Instant, text: &str) {
        let ws = words(text);
        let has = |p: &str| has_phrase(&ws, p);
        let n = self.sched.offers.len();
        // "The first one" is a position, not the 1st of the month (unless a day is named).
        let day_said = ws.iter().any(|w| DAY_WORDS.contains(&w.as_str()));
        let ordinal = if day_said {
            None
        } else if has("first") || has("earliest") || has("1st") {
            Some(0)
        } else if has("second") || has("middle") || has("2nd") {
            Some(1)
        } else if has("third") || has("3rd") || has("last") || has("latest") {
            Some(n.saturating_sub(1).min(2))
        } else {
            None
        };
        if let Some(i) = ordinal {
            self.pick(now, i);
            return;
        }
        // A day or time: one of the offers, or a new request (a correction).
        if let Ok(m) = parse_datetime(text, &self.wall(now)) {
            let hits: Vec<usize> = (0..n)
                .filter(|&i| self.sched.offers.get(i).is_some_and(|o| matches_offer(&m, &o.start, day_said)))
                .collect();
            if let [i] = hits.as_slice() {
                self.pick(now, *i);
                return;
            }
            if hits.is_empty() {
                self.correct_when(now, m);
                return;
            }
        }
        // A provider named in exactly one offer.
        let by_provider: Vec<usize> = (0..n)
            .filter(|&i| {
                self.sched.offers.get(i).is_some_and(|o| {
                    words(&o.resource_name)
                        .iter()
                        .filter(|w| w.len() > 2 && !["dr", "np"].contains(&w.as_str()))
                        .any(|w| ws.contains(w))
                })
            })
            .collect();
        if let [i] = by_provider.as_slice() {
            self.pick(now, *i);
            return;
        }
        if ["none", "neither", "later", "other", "another", "different", "something else"]
            .iter()
            .any(|p| has(p))
        {
            self.later(now);
            return;
        }
        match yes_no(text) {
            Some(true) if n == 1 => self.pick(now, 0),
            Some(false) => self.later(now),
            _ => self.fail(now, false),
        }
    }

    /// A new day or time while offering or confirming: search again with it.
    fn correct_when(&mut self, now: Instant, m: DateTimeMatch) {
        self.turn.actions.push("correction".into());
        let b = self.b.clone();
        let when = match b.flow.nodes.get(self.node).map(|n| &n.kind) {
            Some(NodeKind::FindSlots(f)) => f.when.clone(),
            _ => None,
        };
        match when {
            Some(w) => {
                self.slots.insert(w.value, Value::When(m));
                self.sched.when_override = None;
            }
            None => self.sched.when_override = Some(m),
        }
        let id = self.node_id().to_owned();
        self.goto(now, &id);
    }

    pub(super) fn sched_confirm(&mut self, now: Instant, text: &str) {
        let yn = yes_no(text);
        if yn != Some(true)
            && let Ok(m) = parse_datetime(text, &self.wall(now))
        {
            self.sched_no(now, Some(m));
            return;
        }
        match yn {
            Some(true) => self.sched_yes(now),
            Some(false) => self.sched_no(now, None),
            None => self.fail(now, false),
        }
    }

    pub(super) fn sched_yes(&mut self, now: Instant) {
        let b = self.b.clone();
        let Some(node) = b.flow.nodes.get(self.node) else { return };
        let at = self.clock(now);
        match &node.kind {
            NodeKind::Book(bk) => {
                let Some(h) = self.sched.held(&bk.slot.value).cloned() else {
                    self.goto(now, &bk.declined.value);
                    return;
                };
                // A hold that expired (with a margin for clock skew between calls) is not
                // booked: the slot may be someone else's by now, and the store may have reused
                // its id. The caller hears so and gets fresh offers.
                if at.checked_add(HOLD_MARGIN).unwrap_or(at) >= h.expires_at {
                    self.sched.held.retain(|(s, _)| *s != bk.slot.value);
                    self.slots.remove(&bk.slot.value);
                    self.turn.actions.push("hold_expired".into());
                    self.say(GONE.into());
                    self.goto(now, &h.origin);
                    return;
                }
                let phone = self.caller.as_ref().map(|c| c.expose().clone()).unwrap_or_default();
                let name = bk.name.as_ref().and_then(|n| self.text_slot(&n.value));
                self.emit(ScheduleOp::Book { hold: h.hold, phone, name, now: at }, Pending::Book);
            }
            NodeKind::Cancel(c) => {
                let Some(a) = self.sched.appt(&c.slot.value).cloned() else {
                    self.goto(now, &c.declined.value);
                    return;
                };
                self.emit(ScheduleOp::Cancel { appointment: a.id, now: at }, Pending::Cancel);
            }
            _ => self.fail(now, false),
        }
    }

    /// "No" to a read-back: release the hold and go to `declined`; with a new day or time,
    /// search again with it instead.
    pub(super) fn sched_no(&mut self, now: Instant, correction: Option<DateTimeMatch>) {
        self.turn.actions.push("confirm:no".into());
        let b = self.b.clone();
        let Some(node) = b.flow.nodes.get(self.node) else { return };
        match &node.kind {
            NodeKind::Book(bk) => {
                let held = self.sched.held(&bk.slot.value).cloned();
                if let Some(h) = &held {
                    self.out.push_back(Command::Schedule(ScheduleOp::Release { hold: h.hold }));
                    self.turn.actions.push("schedule:release".into());
                }
                self.sched.held.retain(|(s, _)| *s != bk.slot.value);
                self.slots.remove(&bk.slot.value);
                match (correction, held) {
                    (Some(m), Some(h)) => {
                        self.node = b.flow.nodes.iter().position(|n| n.id == h.origin).unwrap_or(self.node);
                        self.correct_when(now, m);
                    }
                    _ => self.goto(now, &bk.declined.value),
                }
            }
            NodeKind::Cancel(c) => self.goto(now, &c.declined.value),
            _ => self.fail(now, false),
        }
    }
}

/// Words that name a day: with one, a time must match an offer's date too.
const DAY_WORDS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "today",
    "tomorrow",
    "week",
    "next",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Whether a caller's day/time names this offer: the same date and time; a time said without
/// a day, the same wall-clock time; a day, the same date.
fn matches_offer(m: &DateTimeMatch, start: &frontdesk_schedule::jiff::Zoned, day_said: bool) -> bool {
    let s = start.with_time_zone(m.start.time_zone().clone());
    match m.grain {
        Grain::Minute | Grain::Hour => {
            s.time() == m.start.time() && (!day_said || s.date() == m.start.date())
        }
        Grain::Day => s.date() == m.start.date(),
        _ => false,
    }
}
