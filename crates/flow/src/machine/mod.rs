//! The flow machine, sans-IO: events in, commands out, time passed in.
//!
//! ```text
//!   shell ──handle_event(now, Event)──► FlowMachine ──poll_command()──► Say / Listen / Transfer / Hangup / OptOut / Webhook
//!         ──handle_timeout(now)───────►             ──poll_timeout()──► next no-input deadline
//! ```
//! Drain contract: after every `handle_*` call, call `poll_command` until it returns `None`;
//! then arm a timer for `poll_timeout` and call `handle_timeout` when it fires (calling it
//! early is harmless). Nothing here reads a clock, does I/O, or calls a model: utterances
//! arrive with their embedding (see the crate doc), so a step is a pure function of the state
//! and the event, and a recorded call replays exactly. A step takes microseconds (cosine over
//! the intent examples is the largest cost).
//!
//! Listening states: a `menu` waits for an intent, a `collect` for a typed value, then (with
//! `confirm`) for a yes to the read-back, a clarifying question for one of two close intents,
//! a `webhook` for its outcome ([`webhook`]). On every listening turn the repair patterns are checked first
//! ([`crate::intents::repair`]): opt-out (say, write DNC, hang up; no "are you sure"), "are you
//! a real person?" (always the truth: an automated assistant), a person (global `human` node),
//! repeat, go back, help, goodbye. No-input and no-match count tries on the node; at
//! `max_tries` the call escalates (to `escalate`, else `global.human`).
//!
//! Scheduling ([`schedule`]): `find_slots`, `book`, `lookup` and `cancel` emit
//! `Command::Schedule(op)` (with the caller's wall-clock instant in the op) and wait for
//! `Event::ScheduleResult`; the shell runs the op against the store. Offers, holds and
//! read-backs live in the machine's state; nothing here touches the store.

mod listen;
pub mod llm;
mod schedule;
mod step;
pub mod webhook;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use frontdesk_schedule::jiff::{SignedDuration, Timestamp, Zoned};
use frontdesk_schedule::{ScheduleOp, ScheduleOutcome};
use frontdesk_types::Instant;

use crate::Bundle;
use crate::ast::TransferTarget;
use crate::intents::IntentMatch;
use crate::slots::Value;
pub use llm::{LlmAsk, LlmFailure, LlmOutcome, LlmRequest};
pub use webhook::{Piece, SecretText, WebhookFailure, WebhookOutcome, WebhookRequest};

/// Inputs to the machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The call is answered: start at the flow's `start` node.
    Start,
    /// A final recognition result, with its embedding if a model is configured.
    Utterance { text: String, confidence: f32, embedding: Option<Vec<f32>> },
    /// Keypad input (one key, or several ended by `#`).
    Dtmf(String),
    /// The caller spoke over the agent: `heard_ms` of a `total_ms` prompt had been played.
    BargeIn { heard_ms: u32, total_ms: u32 },
    /// The agent finished speaking: the no-input timer starts now.
    PlaybackDone,
    /// The outcome of a `Command::Webhook`: mapped values, or why it failed.
    WebhookOutcome(WebhookOutcome),
    /// The short form of a webhook's outcome (from a shell that does not run webhooks):
    /// `ok` with an optional text for a `result: SLOT`; `ok: false` is `not_configured`.
    WebhookResult { ok: bool, value: Option<String> },
    /// The outcome of a `Command::Llm`.
    LlmOutcome(LlmOutcome),
    /// The outcome of a `Command::Schedule` (every op but `Release` expects one).
    ScheduleResult(ScheduleOutcome),
}

impl Event {
    /// True for the outcome of a command the machine emitted (`ScheduleResult`,
    /// `WebhookOutcome`, `WebhookResult`, `LlmOutcome`): it continues that step's [`Turn`].
    pub fn is_outcome(&self) -> bool {
        matches!(
            self,
            Event::ScheduleResult(_)
                | Event::WebhookOutcome(_)
                | Event::WebhookResult { .. }
                | Event::LlmOutcome(_)
        )
    }
}

/// What the shell should expect next, as a hint for end-of-turn detection and ASR.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// An intent or a question (open speech).
    Open,
    YesNo,
    Number,
    /// A digit string, with its length when known (the endpointer waits for all of it).
    Digits(Option<usize>),
    Phone,
    DateTime,
    Name,
    Choice(Vec<String>),
    Text,
}

impl Expect {
    /// A short hint: "yes-no", "expecting 10 digits", ...
    pub fn hint(&self) -> String {
        match self {
            Expect::Open => "open question".into(),
            Expect::YesNo => "yes-no".into(),
            Expect::Number => "a number".into(),
            Expect::Digits(Some(n)) => format!("expecting {n} digits"),
            Expect::Digits(None) => "digits".into(),
            Expect::Phone => "expecting 10 digits".into(),
            Expect::DateTime => "a date or time".into(),
            Expect::Name => "a name".into(),
            Expect::Choice(c) => format!("one of: {}", c.join(", ")),
            Expect::Text => "free text".into(),
        }
    }
}

/// Outputs of the machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Say {
        text: String,
    },
    /// Listen for the caller; DTMF is always accepted too.
    Listen {
        expect: Expect,
        no_input_ms: u64,
    },
    Transfer {
        target: TransferTarget,
        context: Vec<(String, String)>,
    },
    /// Record the caller's do-not-call request (before the hang-up that follows).
    OptOut,
    /// Make an HTTP call; feed back `Event::WebhookOutcome`.
    Webhook(WebhookRequest),
    /// Ask the configured LLM (only after [`FlowMachine::with_llm`]); feed back
    /// `Event::LlmOutcome`.
    Llm(LlmRequest),
    /// Run a scheduling request against the store; feed back `Event::ScheduleResult` when
    /// [`ScheduleOp::expects_outcome`].
    Schedule(ScheduleOp),
    Hangup,
}

/// What happened in the last step, for logs, `chat --json` and conversation tests. The outcome
/// of a command the step emitted (a schedule op, a webhook, an LLM request) adds to the same
/// summary: entering a webhook node on an intent keeps that intent after the webhook answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Turn {
    /// The node the machine is at after the step.
    pub node: String,
    pub intent: Option<IntentMatch>,
    pub faq_id: Option<String>,
    /// `repair:repeat`, `transfer:front_desk`, `hangup`, `opt_out`, `no_match`, `no_input`,
    /// `escalate`, `webhook`, `set:slot`.
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Wait {
    Nothing,
    Menu,
    Collect,
    Confirm(Value),
    Clarify(IntentMatch, IntentMatch),
    FaqQuestion,
    /// "Are you asking: ...?" about this KB entry (asked from a menu or a `faq` node).
    FaqConfirm(String),
    /// "Did you want to ...?" about an intent below `intent_threshold` (asked from a menu).
    IntentConfirm(IntentMatch),
    Webhook,
    /// An `llm` node's request is out.
    Llm,
    /// A menu's `llm_fallback` request is out.
    LlmMenu,
    /// A scheduling op is out; its outcome is awaited.
    Sched(schedule::Pending),
    /// Offers were read; the caller picks one.
    Offers,
    /// A `book`/`cancel` read-back waits for an explicit yes.
    SchedConfirm,
    Ended,
}

/// What a caller's words would do ([`FlowMachine::dry_run`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DryRun {
    /// The step would move the call on (see [`FlowMachine::dry_run`]).
    pub understood: bool,
    /// The first thing the step would say.
    pub say: Option<String>,
}

/// One call's flow state.
#[derive(Debug, Clone)]
pub struct FlowMachine {
    b: Arc<Bundle>,
    wall_start: Zoned,
    t0: Option<Instant>,
    node: usize,
    wait: Wait,
    slots: BTreeMap<String, Value>,
    tries: u32,
    /// Listening nodes entered, for "go back".
    history: Vec<usize>,
    /// The last question asked, for "repeat" and after a repair answer.
    last_prompt: String,
    /// Share of the last prompt the caller heard before barging in (1.0 if not interrupted).
    heard: f32,
    out: VecDeque<Command>,
    deadline: Option<Instant>,
    no_input_ms: u64,
    turn: Turn,
    caller: Option<frontdesk_types::Pii<String>>,
    sched: schedule::SchedState,
    /// An LLM is configured (see [`llm`]).
    llm: bool,
    /// The caller's last words (for an `llm` node).
    last_utterance: String,
}

/// The texts the machine itself may say on any call of `flow`, whatever the caller said: "I don't
/// have an answer to that", escalation, the schedule's "that time was just taken", and the
/// built-in repair answers a flow does not override (`global.help`, `are_you_human`, `opt_out`).
/// A shell synthesises them once, like the flow's own fixed prompts.
pub fn built_in_texts(flow: &crate::ast::Flow) -> Vec<String> {
    use listen::{ARE_YOU_HUMAN, GOODBYE, HELP, NO_ONE, OPT_OUT};
    use schedule::{GONE, STORE_DOWN, TAKEN};
    use step::{DONT_KNOW, ESCALATE, OFFER_PERSON};
    let g = &flow.global;
    let mut out: Vec<String> =
        [ESCALATE, TAKEN, GONE, STORE_DOWN, GOODBYE].iter().map(|s| (*s).to_owned()).collect();
    out.push(format!("{DONT_KNOW} {OFFER_PERSON}"));
    if g.human.is_none() {
        out.push(NO_ONE.to_owned());
    }
    if g.help.is_none() {
        out.push(HELP.to_owned());
    }
    if g.opt_out.is_none() {
        out.push(OPT_OUT.to_owned());
    }
    if g.are_you_human.is_none()
        && let Ok(t) = crate::template::Template::parse(ARE_YOU_HUMAN, Default::default())
    {
        out.push(t.render(|name, _| (name == "business").then(|| flow.business.clone())));
    }
    out
}

/// "Just to be sure, are you asking: <question>": the FAQ confirmation band's question.
pub(crate) fn faq_confirm_text(question: &str) -> String {
    format!("Just to be sure, are you asking: {question}")
}

/// "Sorry, did you want to <intent>?": the intent confirmation band's question.
pub(crate) fn intent_confirm_text(flow: &crate::ast::Flow, name: &str) -> String {
    format!("Sorry, did you want to {}?", listen::describe(flow, name))
}

/// "Sorry, did you want to <a>, or <b>?": the clarifying question when two intents are close.
pub(crate) fn clarify_text(flow: &crate::ast::Flow, a: &str, b: &str) -> String {
    format!("Sorry, did you want to {}, or {}?", listen::describe(flow, a), listen::describe(flow, b))
}

/// Most intents for which every clarifying question ("did you want to A, or B?", one per
/// ordered pair) is listed by [`question_texts`]; a flow with more gets them synthesised when
/// asked.
const CLARIFY_PAIRS_UP_TO: usize = 8;

/// The questions the machine builds from the flow and its knowledge base alone, whatever the
/// call: "are you asking: <entry question>?" for every entry when the flow has a FAQ confirmation
/// band, "did you want to <intent>?" for every intent when it has an intent confirmation band,
/// and "did you want to A, or B?" for every pair of intents (flows of up to 8 intents). A shell
/// synthesises them once with the fixed prompts, so asking one costs no synthesis time.
pub fn question_texts(b: &crate::Bundle) -> Vec<String> {
    let f = &b.flow;
    let mut out = Vec::new();
    if f.settings.faq_confirm_threshold.is_some() {
        out.extend(b.kb.entries.iter().map(|e| faq_confirm_text(&e.question)));
    }
    let names: Vec<&String> = f.intents.keys().collect();
    if f.settings.intent_confirm_threshold.is_some() {
        out.extend(names.iter().map(|n| intent_confirm_text(f, n)));
    }
    if names.len() <= CLARIFY_PAIRS_UP_TO {
        for a in &names {
            out.extend(names.iter().filter(|b| b != &a).map(|b| clarify_text(f, a, b)));
        }
    }
    out
}

impl FlowMachine {
    /// A machine for one call. `wall_start` is the caller's local date and time when the call
    /// starts (dates like "tomorrow" are read against it plus the elapsed [`Instant`] time).
    pub fn new(bundle: Arc<Bundle>, wall_start: Zoned) -> FlowMachine {
        let no_input_ms = bundle.flow.settings.no_input_ms;
        FlowMachine {
            b: bundle,
            wall_start,
            t0: None,
            node: 0,
            wait: Wait::Nothing,
            slots: BTreeMap::new(),
            tries: 0,
            history: Vec::new(),
            last_prompt: String::new(),
            heard: 1.0,
            out: VecDeque::new(),
            deadline: None,
            no_input_ms,
            turn: Turn::default(),
            caller: None,
            sched: schedule::SchedState::default(),
            llm: false,
            last_utterance: String::new(),
        }
    }

    /// Sets slots before `Start` (the flow's `inputs:`, e.g. an outbound call's patient name,
    /// appointment id and `answered_by: human|machine`).
    pub fn with_vars(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        for (k, v) in vars {
            self.slots.insert(k, Value::Text(v));
        }
        self
    }

    /// The caller's number, if the shell gave one.
    pub fn caller(&self) -> Option<&frontdesk_types::Pii<String>> {
        self.caller.as_ref()
    }

    /// The caller's wall clock at `now`, as an instant (what the machine puts in its ops).
    pub fn clock(&self, now: Instant) -> Timestamp {
        self.wall(now).timestamp()
    }

    /// The iCalendar confirmation of the last booking in this call, if any.
    pub fn last_ics(&self) -> Option<&str> {
        self.sched.last_ics.as_deref()
    }

    /// The caller's number, for templates as `{{caller_number}}` (kept out of slots and logs).
    pub fn with_caller(mut self, number: frontdesk_types::Pii<String>) -> Self {
        self.caller = Some(number);
        self
    }

    /// Feeds one event.
    ///
    /// # Errors
    /// [`crate::FlowError::Unexpected`] for a webhook result nobody waits for, or `Start` twice.
    pub fn handle_event(&mut self, now: Instant, ev: Event) -> Result<(), crate::FlowError> {
        if self.t0.is_none() {
            self.t0 = Some(now);
        }
        // An effect's outcome (schedule, webhook, LLM) continues the step that emitted its
        // command: the summary accumulates, keeping the intent that led there.
        if !ev.is_outcome() {
            self.turn = Turn { node: self.node_id().to_owned(), ..Turn::default() };
        }
        match ev {
            Event::Start => {
                if self.wait != Wait::Nothing || !self.history.is_empty() {
                    return Err(crate::FlowError::Unexpected("Start after the call started".into()));
                }
                let start = self.b.flow.start.value.clone();
                self.goto(now, &start);
            }
            Event::Utterance { text, confidence, embedding } => {
                self.utterance(now, &text, confidence, embedding.as_deref());
            }
            Event::Dtmf(keys) => self.dtmf(now, &keys),
            Event::BargeIn { heard_ms, total_ms } => {
                self.heard = if total_ms == 0 { 1.0 } else { (heard_ms as f32 / total_ms as f32).min(1.0) };
            }
            Event::PlaybackDone => {
                if self.deadline.is_some() {
                    self.deadline = Some(now + Duration::from_millis(self.no_input_ms));
                }
            }
            Event::WebhookOutcome(o) => self.webhook_outcome(now, o)?,
            Event::LlmOutcome(o) => self.llm_outcome(now, o)?,
            Event::WebhookResult { ok, value } => {
                let o = if ok {
                    let values = match (&self.cur().map(|n| &n.kind), value) {
                        (Some(crate::ast::NodeKind::Webhook(w)), Some(v)) => match &w.result {
                            crate::ast::WebhookResultMap::Whole(s) => {
                                vec![(s.clone(), frontdesk_types::Pii::new(serde_json::Value::String(v)))]
                            }
                            _ => Vec::new(),
                        },
                        _ => Vec::new(),
                    };
                    WebhookOutcome::Ok { status: 200, attempts: 1, values }
                } else {
                    WebhookOutcome::Failed { kind: WebhookFailure::NotConfigured, attempts: 0 }
                };
                self.webhook_outcome(now, o)?;
            }
            Event::ScheduleResult(outcome) => self.schedule_result(now, outcome)?,
        }
        self.turn.node = self.node_id().to_owned();
        Ok(())
    }

    /// Whether the caller's words would move the call on, asked before the turn is over
    /// ([`FlowMachine::dry_run`]'s `understood`). `None` when the machine is not listening for
    /// words (a webhook or an LLM is out, the call has ended).
    pub fn understands(
        &self,
        now: Instant,
        text: &str,
        confidence: f32,
        embedding: Option<&[f32]>,
    ) -> Option<bool> {
        self.dry_run(now, text, confidence, embedding).map(|d| d.understood)
    }

    /// What the caller's words would do, asked before the turn is over: [`Event::Utterance`] on
    /// a copy of the machine, which is then dropped. `understood` when the step routes an
    /// intent, answers from the knowledge base, takes a slot value (or reads it back), answers
    /// a yes/no question or runs a repair ("goodbye", "a person"); not when it would say it did
    /// not understand, does not know the answer, ask which of two intents or "are you asking
    /// ...?", or wait for an LLM. The end-of-turn policy answers an understood caller sooner
    /// and gives one it cannot place longer to go on; the voice loop starts synthesising `say`
    /// while it waits. `None` when the machine is not listening for words (a webhook or an LLM
    /// is out, the call has ended).
    pub fn dry_run(
        &self,
        now: Instant,
        text: &str,
        confidence: f32,
        embedding: Option<&[f32]>,
    ) -> Option<DryRun> {
        if !matches!(
            self.wait,
            Wait::Menu
                | Wait::Collect
                | Wait::Confirm(_)
                | Wait::Clarify(..)
                | Wait::FaqQuestion
                | Wait::FaqConfirm(_)
                | Wait::IntentConfirm(_)
                | Wait::Offers
                | Wait::SchedConfirm
        ) {
            return None;
        }
        let mut m = self.clone();
        m.out.clear();
        m.turn = Turn::default();
        m.utterance(now, text, confidence, embedding);
        let t = &m.turn;
        let failed = t.actions.iter().any(|a| {
            a == "no_match"
                || a == "faq:unknown"
                || a.starts_with("faq:confirm")
                || a.starts_with("intent:confirm")
                || a.starts_with("clarify:")
        });
        let waits_llm = matches!(m.wait, Wait::Llm | Wait::LlmMenu);
        let moved = t.intent.is_some()
            || t.faq_id.is_some()
            || !t.actions.is_empty()
            || m.node != self.node
            || m.wait != self.wait
            || m.slots != self.slots;
        let say = m.out.iter().find_map(|c| match c {
            Command::Say { text } => Some(text.clone()),
            _ => None,
        });
        Some(DryRun { understood: moved && !failed && !waits_llm, say })
    }

    /// Fires the no-input timer if `now` is past it.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| now >= d) {
            self.turn = Turn { node: self.node_id().to_owned(), ..Turn::default() };
            self.deadline = None;
            self.fail(now, true);
            self.turn.node = self.node_id().to_owned();
        }
    }

    /// The next command, in order.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.out.pop_front()
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// True once the call has been handed off or hung up.
    pub fn is_ended(&self) -> bool {
        self.wait == Wait::Ended
    }

    /// The last step's summary.
    pub fn turn(&self) -> &Turn {
        &self.turn
    }

    /// Current slot values.
    pub fn slots(&self) -> &BTreeMap<String, Value> {
        &self.slots
    }

    /// Slots as a JSON object.
    pub fn slots_json(&self) -> serde_json::Value {
        serde_json::Value::Object(self.slots.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
    }

    fn node_id(&self) -> &str {
        self.b.flow.nodes.get(self.node).map_or("", |n| n.id.as_str())
    }

    /// The caller's wall clock at `now`.
    fn wall(&self, now: Instant) -> Zoned {
        let elapsed = now.saturating_duration_since(self.t0.unwrap_or(now));
        let d = SignedDuration::try_from(elapsed).unwrap_or(SignedDuration::ZERO);
        self.wall_start.checked_add(d).unwrap_or_else(|_| self.wall_start.clone())
    }
}

#[cfg(test)]
mod tests;
