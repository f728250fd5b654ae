//! Caller input: repair patterns first, then the current listening state.

use frontdesk_types::Instant;

use super::step::{Faq, faq_hit};
use super::{Command, FlowMachine, Wait};
use crate::ast::{NodeKind, SlotType};
use crate::intents::{Classified, IntentMatch, Repair, Source, classify, repair, repair_dtmf, words};
use crate::slots::{Value, from_dtmf, from_speech, validate, yes_no};
use crate::template::Template;

pub(super) const ARE_YOU_HUMAN: &str = "No, I'm an automated assistant for {{business}}. I can help with most things, or connect you with a person at any time.";
pub(super) const OPT_OUT: &str = "Understood. We will not call you again. Goodbye.";
pub(super) const NO_ONE: &str = "I'm sorry, there is no one I can connect you with right now.";
pub(super) const GOODBYE: &str = "Goodbye.";
pub(super) const HELP: &str =
    "You can ask me a question in your own words, or say \"a person\" to reach someone at the front desk.";

impl FlowMachine {
    pub(super) fn utterance(&mut self, now: Instant, text: &str, confidence: f32, emb: Option<&[f32]>) {
        if matches!(self.wait, Wait::Ended | Wait::Nothing) {
            return;
        }
        self.deadline = None;
        text.clone_into(&mut self.last_utterance);
        if let Some(r) = repair(text)
            && !(r == Repair::Goodbye && matches!(self.wait, Wait::Collect))
        {
            self.repair(now, r);
            return;
        }
        if matches!(self.wait, Wait::Webhook | Wait::Sched(_) | Wait::Llm | Wait::LlmMenu) {
            return;
        }
        if confidence < self.b.flow.settings.min_asr_confidence || words(text).is_empty() {
            self.fail(now, false);
            return;
        }
        let b = self.b.clone();
        let Some(node) = b.flow.nodes.get(self.node) else { return };
        match (self.wait.clone(), &node.kind) {
            (Wait::Menu, NodeKind::Menu(m)) => {
                let allowed: Vec<&str> =
                    node.routes.iter().filter_map(|r| r.intent.as_ref().map(|i| i.value.as_str())).collect();
                let mut cls = classify(&b.flow, &b.intents, &allowed, text, emb);
                // One retrieval, when the knowledge base can matter: not after a keyword rule.
                let keyword = matches!(&cls, Classified::Match(im) | Classified::Ambiguous(im, _) if im.source == Source::Keyword);
                let hit = if m.faq && !keyword { faq_hit(&b, text, emb) } else { None };
                if let Classified::Match(im) | Classified::Ambiguous(im, _) = &cls
                    && self.faq_nearer(hit.as_ref(), im)
                {
                    cls = Classified::NoMatch { best: None };
                }
                match cls {
                    Classified::Match(im) => {
                        let name = im.name.clone();
                        self.turn.intent = Some(im);
                        self.advance(now, Some(&name));
                    }
                    Classified::Ambiguous(a, c) => {
                        let q = super::clarify_text(&b.flow, &a.name, &c.name);
                        self.last_prompt = q.clone();
                        self.say(q);
                        self.turn.actions.push(format!("clarify:{}|{}", a.name, c.name));
                        self.wait = Wait::Clarify(a, c);
                        self.relisten(now);
                    }
                    Classified::NoMatch { best } if m.faq => {
                        match self.faq(now, hit, unsure(&b.flow, best)) {
                            Faq::Answered => self.advance(now, None),
                            Faq::Confirming => {}
                            Faq::Unknown => self.fail_with(now, false, false),
                        }
                    }
                    Classified::NoMatch { best } => {
                        if !self.menu_llm(text, &allowed) {
                            match unsure(&b.flow, best) {
                                Some(im) => self.confirm_intent(now, im),
                                None => self.fail(now, false),
                            }
                        }
                    }
                }
            }
            (Wait::Clarify(a, c), _) => {
                let ws = words(text);
                let allowed = [a.name.as_str(), c.name.as_str()];
                let pick = if ws.iter().any(|w| w == "first") {
                    Some(a)
                } else if ws.iter().any(|w| w == "second" || w == "last" || w == "latter") {
                    Some(c)
                } else {
                    match classify(&b.flow, &b.intents, &allowed, text, emb) {
                        Classified::Match(im) => Some(im),
                        _ => None,
                    }
                };
                self.wait = Wait::Menu;
                match pick {
                    Some(im) => {
                        let name = im.name.clone();
                        self.turn.intent = Some(im);
                        self.advance(now, Some(&name));
                    }
                    None => self.fail(now, false),
                }
            }
            (Wait::Collect, NodeKind::Collect(c)) => {
                let v = from_speech(&c.ty, text, &self.wall(now));
                self.got_value(now, v);
            }
            (Wait::Confirm(v), NodeKind::Collect(c)) => {
                // "No, I said Thursday": a new value in a denied read-back is read back instead.
                let yn = yes_no(text);
                let strict = matches!(
                    c.ty,
                    SlotType::Date
                        | SlotType::Time
                        | SlotType::DateTime
                        | SlotType::Phone
                        | SlotType::Number
                        | SlotType::Digits
                );
                match from_speech(&c.ty, text, &self.wall(now)).filter(|_| strict && yn != Some(true)) {
                    Some(nv) if nv != v => {
                        self.turn.actions.push("correction".into());
                        self.got_value(now, Some(nv));
                    }
                    _ => self.confirm(now, yn, v),
                }
            }
            (Wait::Offers, _) => self.offer_choice(now, text),
            (Wait::SchedConfirm, _) => self.sched_confirm(now, text),
            (Wait::FaqQuestion, _) => {
                if self.faq(now, faq_hit(&b, text, emb), None) != Faq::Confirming {
                    self.advance(now, None);
                }
            }
            (Wait::FaqConfirm(entry), _) => self.faq_confirmed(now, &entry, text, confidence, emb),
            (Wait::IntentConfirm(im), _) => self.intent_confirmed(now, im, text, confidence, emb),
            _ => self.fail(now, false),
        }
    }

    fn got_value(&mut self, now: Instant, v: Option<Value>) {
        let b = self.b.clone();
        let Some(NodeKind::Collect(c)) = b.flow.nodes.get(self.node).map(|n| &n.kind) else { return };
        let Some(v) = v.filter(|v| validate(v, &c.validate).is_ok()) else {
            self.fail(now, false);
            return;
        };
        match &c.confirm {
            Some(t) => {
                let prev = self.slots.insert(c.slot.clone(), v.clone());
                let q = self.render(t);
                match prev {
                    Some(p) => self.slots.insert(c.slot.clone(), p),
                    None => self.slots.remove(&c.slot),
                };
                self.last_prompt = q.clone();
                self.say(q);
                self.wait = Wait::Confirm(v);
                self.relisten(now);
            }
            None => {
                self.slots.insert(c.slot.clone(), v);
                self.advance(now, None);
            }
        }
    }

    fn confirm(&mut self, now: Instant, answer: Option<bool>, v: Value) {
        let b = self.b.clone();
        let Some(node) = b.flow.nodes.get(self.node) else { return };
        let NodeKind::Collect(c) = &node.kind else { return };
        match answer {
            Some(true) => {
                self.slots.insert(c.slot.clone(), v);
                self.advance(now, None);
            }
            Some(false) => {
                self.turn.actions.push("confirm:no".into());
                let p = self.render(&c.prompt);
                self.last_prompt = p.clone();
                self.say(format!("Sorry about that. {p}"));
                self.wait = Wait::Collect;
                self.relisten(now);
            }
            None => self.fail(now, false),
        }
    }

    pub(super) fn dtmf(&mut self, now: Instant, keys: &str) {
        if matches!(self.wait, Wait::Ended | Wait::Nothing) {
            return;
        }
        self.deadline = None;
        let keys = keys.trim_end_matches('#');
        let b = self.b.clone();
        let kind = b.flow.nodes.get(self.node).map(|n| &n.kind);
        let collecting = matches!((&self.wait, kind), (Wait::Collect, Some(NodeKind::Collect(_))));
        let single = keys.chars().next().filter(|_| keys.chars().count() == 1);
        if !collecting && let Some(r) = single.and_then(repair_dtmf) {
            self.repair(now, r);
            return;
        }
        match (self.wait.clone(), kind) {
            (Wait::Collect, Some(NodeKind::Collect(c))) => {
                let v = from_dtmf(&c.ty, keys);
                self.got_value(now, v);
            }
            (Wait::Offers, _) => self.offer_keys(now, keys),
            (Wait::SchedConfirm, _) => match keys {
                "1" => self.sched_yes(now),
                "2" => self.sched_no(now, None),
                _ => self.fail(now, false),
            },
            (Wait::Confirm(v), _) => {
                let a = match keys {
                    "1" => Some(true),
                    "2" => Some(false),
                    _ => None,
                };
                self.confirm(now, a, v);
            }
            _ => self.fail(now, false),
        }
    }

    fn repair(&mut self, now: Instant, r: Repair) {
        self.turn.actions.push(format!("repair:{}", r.name()));
        let b = self.b.clone();
        let g = &b.flow.global;
        match r {
            Repair::OptOut => {
                let text = match &g.opt_out {
                    Some(t) => self.render(t),
                    None => OPT_OUT.into(),
                };
                self.say(text);
                self.turn.actions.push("opt_out".into());
                self.out.push_back(Command::OptOut);
                self.turn.actions.push("hangup".into());
                self.out.push_back(Command::Hangup);
                self.end();
            }
            Repair::AreYouHuman => {
                let text = match &g.are_you_human {
                    Some(t) => self.render(t),
                    None => Template::parse(ARE_YOU_HUMAN, Default::default())
                        .map(|t| self.render(&t))
                        .unwrap_or_default(),
                };
                self.say(text);
                self.reprompt_same(now);
            }
            Repair::Human => match &g.human {
                Some(h) => self.goto(now, &h.value),
                None => {
                    self.say(NO_ONE.into());
                    self.reprompt_same(now);
                }
            },
            Repair::Repeat => self.reprompt_same(now),
            Repair::Back => {
                if self.history.last() == Some(&self.node) {
                    self.history.pop();
                }
                match self.history.pop().and_then(|i| b.flow.nodes.get(i)) {
                    Some(prev) => self.goto(now, &prev.id),
                    None => self.reprompt_same(now),
                }
            }
            Repair::Help => {
                let text = match &g.help {
                    Some(t) => self.render(t),
                    None => HELP.into(),
                };
                self.say(text);
                self.reprompt_same(now);
            }
            Repair::Goodbye => match &g.goodbye {
                Some(t) => self.goto(now, &t.value),
                None => {
                    self.say(GOODBYE.into());
                    self.turn.actions.push("hangup".into());
                    self.out.push_back(Command::Hangup);
                    self.end();
                }
            },
        }
    }
}

/// The best intent when the embedding model put it in the `intent_confirm_threshold` band.
fn unsure(flow: &crate::Flow, best: Option<IntentMatch>) -> Option<IntentMatch> {
    let t = flow.settings.intent_confirm_threshold?;
    best.filter(|im| im.source == Source::Embedding && im.confidence >= t)
}

pub(super) fn describe(flow: &crate::Flow, name: &str) -> String {
    flow.intents.get(name).and_then(|i| i.description.clone()).unwrap_or_else(|| name.replace('_', " "))
}
