//! Entering nodes, routing, prompts, reprompts and escalation.

use std::time::Duration;

use frontdesk_schedule::jiff::tz::TimeZone;
use frontdesk_types::Instant;

use super::{Command, Expect, FlowMachine, Wait};
use crate::ast::{Cond, CondOp, Node, NodeKind, SlotType};
use crate::intents::{IntentMatch, Source, words};
use crate::kb::Hit;
use crate::slots::Value;
use crate::template::Template;

/// Nodes entered in one step before we call it a loop (`say` -> `set` -> `say` ...).
const MAX_HOPS: usize = 64;

pub(super) const DONT_KNOW: &str = "I'm sorry, I don't have an answer to that.";
pub(super) const OFFER_PERSON: &str =
    "I can connect you with someone at the front desk if you'd like; just say \"a person\".";
pub(super) const ESCALATE: &str = "Let me connect you with someone who can help.";

impl FlowMachine {
    pub(super) fn render(&self, t: &Template) -> String {
        let f = &self.b.flow;
        let tz = f
            .timezone
            .as_deref()
            .and_then(|z| TimeZone::get(z).ok())
            .unwrap_or_else(|| self.wall_start.time_zone().clone());
        t.render(|name, filter| match name {
            "business" => Some(f.business.clone()),
            "business_phone" => f.business_phone.clone(),
            "caller_number" => self.caller.as_ref().map(|c| c.expose().clone()),
            _ => self.slots.get(name).map(|v| v.spoken(filter, &tz)),
        })
    }

    pub(super) fn say(&mut self, text: String) {
        if !text.trim().is_empty() {
            self.out.push_back(Command::Say { text });
        }
    }

    pub(super) fn listen(&mut self, now: Instant, expect: Expect) {
        self.heard = 1.0;
        self.deadline = Some(now + Duration::from_millis(self.no_input_ms));
        self.out.push_back(Command::Listen { expect, no_input_ms: self.no_input_ms });
    }

    pub(super) fn end(&mut self) {
        self.wait = Wait::Ended;
        self.deadline = None;
    }

    pub(super) fn cur(&self) -> Option<&Node> {
        self.b.flow.nodes.get(self.node)
    }

    /// Enters node `id` and runs non-listening nodes until one listens or the call ends.
    pub(super) fn goto(&mut self, now: Instant, id: &str) {
        let mut next = Some(id.to_owned());
        for _ in 0..MAX_HOPS {
            let Some(id) = next.take() else { return };
            let b = self.b.clone();
            let Some((idx, node)) = b.flow.nodes.iter().enumerate().find(|(_, n)| n.id == id) else {
                // The checker rejects unknown targets; a flow that skipped it ends safely.
                self.say(ESCALATE.into());
                self.out.push_back(Command::Hangup);
                self.end();
                return;
            };
            self.node = idx;
            self.tries = 0;
            self.deadline = None;
            self.wait = Wait::Nothing;
            if let Some(s) = &node.say {
                let text = self.render(s);
                self.last_prompt = text.clone();
                self.say(text);
            }
            next = self.run_node(now, idx, node);
        }
        if next.is_some() {
            self.turn.actions.push("loop".into());
            self.say(ESCALATE.into());
            self.out.push_back(Command::Hangup);
            self.end();
        }
    }

    /// Runs `node`'s action; returns the node to continue at, if it does not wait.
    fn run_node(&mut self, now: Instant, idx: usize, node: &Node) -> Option<String> {
        match &node.kind {
            NodeKind::Say => self.route(node, None),
            NodeKind::Set(items) => {
                for (k, lit, _) in items {
                    self.slots.insert(k.clone(), Value::from(lit));
                    self.turn.actions.push(format!("set:{k}"));
                }
                self.route(node, None)
            }
            NodeKind::Menu(m) => {
                if let Some(p) = &m.prompt {
                    let text = self.render(p);
                    self.last_prompt = text.clone();
                    self.say(text);
                }
                self.push_history(idx);
                self.wait = Wait::Menu;
                self.listen(now, Expect::Open);
                None
            }
            NodeKind::Collect(c) => {
                let text = self.render(&c.prompt);
                self.last_prompt = text.clone();
                self.say(text);
                self.push_history(idx);
                self.wait = Wait::Collect;
                self.listen(now, expect_of(&c.ty, c.validate.length));
                None
            }
            NodeKind::Faq(f) => {
                if let Some(p) = &f.prompt {
                    let text = self.render(p);
                    self.last_prompt = text.clone();
                    self.say(text);
                }
                self.wait = Wait::FaqQuestion;
                self.listen(now, Expect::Open);
                None
            }
            NodeKind::Transfer(t) => {
                let context = t.context.iter().map(|(k, v)| (k.clone(), self.render(v))).collect();
                let label = match &t.target {
                    crate::ast::TransferTarget::Queue(q) => q.clone(),
                    crate::ast::TransferTarget::Sip(s) => s.clone(),
                };
                self.turn.actions.push(format!("transfer:{label}"));
                self.out.push_back(Command::Transfer { target: t.target.clone(), context });
                self.end();
                None
            }
            NodeKind::Hangup => {
                self.turn.actions.push("hangup".into());
                self.out.push_back(Command::Hangup);
                self.end();
                None
            }
            NodeKind::Webhook(w) => {
                self.turn.actions.push("webhook".into());
                let req = self.webhook_request(&node.id, w);
                self.out.push_back(Command::Webhook(req));
                self.wait = Wait::Webhook;
                None
            }
            NodeKind::Llm(l) => self.run_llm(&node.id, l),
            NodeKind::FindSlots(_) | NodeKind::Book(_) | NodeKind::Lookup(_) | NodeKind::Cancel(_) => {
                self.run_sched(now, idx, node)
            }
        }
    }

    pub(super) fn push_history(&mut self, idx: usize) {
        if self.history.last() != Some(&idx) {
            self.history.push(idx);
        }
    }

    /// The first route whose intent (if any) is `intent` and whose condition holds, else `next`.
    pub(super) fn route(&self, node: &Node, intent: Option<&str>) -> Option<String> {
        node.routes
            .iter()
            .find(|r| {
                r.intent.as_ref().map(|i| i.value.as_str()) == intent
                    && r.cond.as_ref().is_none_or(|c| self.holds(c))
            })
            .map(|r| r.goto.value.clone())
            .or_else(|| if intent.is_none() { node.next.as_ref().map(|n| n.value.clone()) } else { None })
    }

    fn holds(&self, c: &Cond) -> bool {
        let v = self.slots.get(&c.slot);
        match &c.op {
            CondOp::IsSet => v.is_some_and(|v| *v != Value::Bool(false)),
            CondOp::NotSet => v.is_none_or(|v| *v == Value::Bool(false)),
            CondOp::Eq(l) => v.is_some_and(|v| v.equals(l)),
            CondOp::Ne(l) => !v.is_some_and(|v| v.equals(l)),
        }
    }

    /// Continues after the current node completed (slot collected, intent matched).
    pub(super) fn advance(&mut self, now: Instant, intent: Option<&str>) {
        let b = self.b.clone();
        let Some(node) = b.flow.nodes.get(self.node) else { return };
        match self.route(node, intent) {
            Some(t) => self.goto(now, &t),
            None => self.fail(now, false),
        }
    }

    /// Re-asks the current question (repeat, after a repair answer).
    pub(super) fn reprompt_same(&mut self, now: Instant) {
        let p = self.last_prompt.clone();
        self.say(p);
        self.relisten(now);
    }

    pub(super) fn relisten(&mut self, now: Instant) {
        let expect = match (&self.wait, self.cur().map(|n| &n.kind)) {
            (
                super::Wait::Confirm(_)
                | super::Wait::Clarify(..)
                | super::Wait::SchedConfirm
                | super::Wait::FaqConfirm(_)
                | super::Wait::IntentConfirm(_),
                _,
            ) => Expect::YesNo,
            (super::Wait::Offers, _) => self.offer_expect(),
            (_, Some(NodeKind::Collect(c))) => expect_of(&c.ty, c.validate.length),
            _ => Expect::Open,
        };
        self.listen(now, expect);
    }

    /// No-input (`silence`) or no-match: reprompt, or escalate after `max_tries`.
    pub(super) fn fail(&mut self, now: Instant, silence: bool) {
        self.fail_with(now, silence, true);
    }

    /// As [`Self::fail`]; without `reprompt` only the question is listened for again (the
    /// caller has just been told why, e.g. "I don't have an answer to that").
    pub(super) fn fail_with(&mut self, now: Instant, silence: bool, reprompt: bool) {
        if self.wait == Wait::Ended {
            return;
        }
        self.turn.actions.push(if silence { "no_input".into() } else { "no_match".into() });
        // A prompt cut short by barge-in is repeated in full, without counting a try.
        if !silence && self.heard < 0.5 {
            self.reprompt_same(now);
            return;
        }
        self.tries += 1;
        let b = self.b.clone();
        let Some(node) = b.flow.nodes.get(self.node) else { return };
        let r = node.kind.reprompts();
        let max = r.and_then(|r| r.max_tries).unwrap_or(b.flow.settings.max_tries);
        if self.tries >= max {
            self.turn.actions.push("escalate".into());
            let target = crate::check::escalation(&b.flow, node).map(|(t, _)| t.to_owned());
            self.say(ESCALATE.into());
            match target {
                Some(t) => self.goto(now, &t),
                None => {
                    self.out.push_back(Command::Hangup);
                    self.end();
                }
            }
            return;
        }
        if !reprompt {
            self.relisten(now);
            return;
        }
        let text = r
            .and_then(|r| if silence { r.no_input.as_ref() } else { r.no_match.as_ref() })
            .map(|t| self.render(t))
            .unwrap_or_else(|| self.last_prompt.clone());
        self.say(text);
        self.relisten(now);
    }

    /// FAQ: the KB's answer verbatim; in the `faq_confirm_threshold` band a question whether
    /// the caller means the best entry (the caller's yes or no is handled by
    /// [`Self::faq_confirmed`]); else "I don't know" and an offer of a person.
    ///
    /// `unsure` is an intent in the `intent_confirm_threshold` band (menus): with no answer, or
    /// when it is nearer than an entry in the confirmation band, the question is about it.
    /// `hit` is [`faq_hit`]'s retrieval for the utterance.
    pub(super) fn faq(&mut self, now: Instant, hit: Option<Hit<'_>>, unsure: Option<IntentMatch>) -> Faq {
        let s = &self.b.flow.settings;
        let faq_threshold = s.faq_threshold;
        if let Some(hit) = hit.as_ref().filter(|h| h.score >= faq_threshold) {
            self.turn.faq_id = Some(hit.entry.id.clone());
            self.say(hit.entry.answer.clone());
            return Faq::Answered;
        }
        if let Some(im) = unsure.filter(|im| hit.as_ref().is_none_or(|h| im.confidence > h.ask)) {
            self.confirm_intent(now, im);
            return Faq::Confirming;
        }
        match hit {
            Some(hit) => {
                let q = super::faq_confirm_text(&hit.entry.question);
                self.turn.actions.push(format!("faq:confirm:{}", hit.entry.id));
                self.last_prompt = q.clone();
                self.say(q);
                self.wait = Wait::FaqConfirm(hit.entry.id.clone());
                self.relisten(now);
                Faq::Confirming
            }
            None => {
                self.faq_unknown();
                Faq::Unknown
            }
        }
    }

    /// "Did you want to <intent>?": an intent in the `intent_confirm_threshold` band, asked
    /// from a menu; [`Self::intent_confirmed`] handles the reply.
    pub(super) fn confirm_intent(&mut self, now: Instant, im: IntentMatch) {
        let q = super::intent_confirm_text(&self.b.flow, &im.name);
        self.turn.actions.push(format!("intent:confirm:{}", im.name));
        self.last_prompt = q.clone();
        self.say(q);
        self.wait = Wait::IntentConfirm(im);
        self.relisten(now);
    }

    /// The caller's reply to "did you want to ...?". A yes takes the intent's route; a bare no
    /// gets "I don't know" and the offer of a person (a failed try); anything else is taken as
    /// a new request.
    pub(super) fn intent_confirmed(
        &mut self,
        now: Instant,
        im: IntentMatch,
        text: &str,
        confidence: f32,
        emb: Option<&[f32]>,
    ) {
        self.wait = Wait::Menu;
        match crate::slots::yes_no(text) {
            Some(true) if words(text).len() <= 4 => {
                let name = im.name.clone();
                self.turn.intent = Some(im);
                self.advance(now, Some(&name));
            }
            Some(false) if words(text).len() <= 2 => {
                self.faq_unknown();
                self.fail_with(now, false, false);
            }
            _ => self.utterance(now, text, confidence, emb),
        }
    }

    /// True when `hit` (the utterance's retrieval) reaches `faq_threshold` (for an intent let in
    /// under `intent_threshold` by `intent_floor`: `faq_confirm_threshold`) with a question or
    /// example nearer to the utterance than `im`'s confidence (the best intent example cosine):
    /// an intent found by the embedding model gives way to an FAQ entry phrased more like what
    /// the caller said ("are you open on Saturdays" is nearer the hours entry than "do you have
    /// any openings on Tuesday").
    /// A keyword rule is the flow author's explicit word and is not second-guessed.
    pub(super) fn faq_nearer(&self, hit: Option<&Hit<'_>>, im: &IntentMatch) -> bool {
        let s = &self.b.flow.settings;
        // An intent under the threshold (let in by the ranker) also gives way to an entry in
        // the FAQ confirmation band: "are you asking ...?" costs less than a wrong route.
        let floor = if im.confidence < s.intent_threshold {
            s.faq_confirm_threshold.unwrap_or(s.faq_threshold)
        } else {
            s.faq_threshold
        };
        im.source == Source::Embedding && hit.is_some_and(|h| h.score >= floor && h.ask > im.confidence)
    }

    fn faq_unknown(&mut self) {
        self.turn.actions.push("faq:unknown".into());
        self.say(format!("{DONT_KNOW} {OFFER_PERSON}"));
    }

    /// The caller's reply to "are you asking: ...?". A yes gets the entry's answer; a bare no
    /// gets "I don't know" and the offer of a person; anything else (a rephrased question, "no,
    /// I meant parking") is taken as a new question.
    pub(super) fn faq_confirmed(
        &mut self,
        now: Instant,
        entry: &str,
        text: &str,
        confidence: f32,
        emb: Option<&[f32]>,
    ) {
        let b = self.b.clone();
        let menu = matches!(self.cur().map(|n| &n.kind), Some(NodeKind::Menu(_)));
        self.wait = if menu { Wait::Menu } else { Wait::FaqQuestion };
        let content = words(text).len();
        match crate::slots::yes_no(text) {
            Some(true) if content <= 4 => {
                if let Some(e) = b.kb.entries.iter().find(|e| e.id == entry) {
                    self.turn.faq_id = Some(e.id.clone());
                    self.say(e.answer.clone());
                }
                self.advance(now, None);
            }
            Some(false) if content <= 2 => {
                self.faq_unknown();
                if menu {
                    self.fail_with(now, false, false);
                } else {
                    self.advance(now, None);
                }
            }
            _ => self.utterance(now, text, confidence, emb),
        }
    }
}

/// The knowledge base's best entry for an utterance, retrieved once at the lowest threshold in
/// use (`faq_confirm_threshold`, else `faq_threshold`): its score then says answer or ask.
pub(super) fn faq_hit<'k>(b: &'k crate::Bundle, text: &str, emb: Option<&[f32]>) -> Option<Hit<'k>> {
    let s = &b.flow.settings;
    b.kb.answer(&b.kb_index, text, emb, s.faq_confirm_threshold.unwrap_or(s.faq_threshold))
}

/// What [`FlowMachine::faq`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Faq {
    Answered,
    /// Asked "are you asking: ...?"; the reply decides.
    Confirming,
    Unknown,
}

pub(super) fn expect_of(ty: &SlotType, len: Option<usize>) -> Expect {
    match ty {
        SlotType::YesNo => Expect::YesNo,
        SlotType::Number => Expect::Number,
        SlotType::Digits => Expect::Digits(len),
        SlotType::Phone => Expect::Phone,
        SlotType::Date | SlotType::Time | SlotType::DateTime => Expect::DateTime,
        SlotType::PersonName => Expect::Name,
        SlotType::Enum(o) => Expect::Choice(o.iter().map(|(c, _)| c.clone()).collect()),
        SlotType::Text => Expect::Text,
    }
}
