//! The parts of [`Agent`] that reach outside the conversation loop: flow side effects going out
//! and their results coming back, live control from an operator or the API (say now, hang up
//! now, transfer now), the end of the call, and the call-log records.
//!
//! Effects: a scheduling op or a webhook leaves as [`Action::Effect`] with an id; while the flow
//! waits for its result the call stays up (silence frames keep flowing) and the flow's no-input
//! timer is held. The result comes back with [`Agent::handle_flow_event`]; a result for an
//! effect nobody waits for any more (the call ended, or the operator hung up) is dropped.

use frontdesk_flow::ast::TransferTarget;
use frontdesk_flow::{Command, Event};
use frontdesk_types::Instant;
use tracing::{debug, info, warn};

use super::{Agent, Speech};
use crate::io::{Action, Effect, Job};
use crate::record::Record;

impl Agent {
    /// A flow command with an outside effect: handed to the shell as [`Action::Effect`].
    pub(super) fn effect(&mut self, command: Command) {
        let awaits_result = match &command {
            Command::Schedule(op) => op.expects_outcome(),
            _ => true,
        };
        let id = self.id();
        if awaits_result {
            self.effects_pending.insert(id);
        }
        debug!(id, awaits_result, "flow effect out");
        self.actions.push_back(Action::Effect(Effect { id, command, awaits_result }));
    }

    /// The result of the effect `id` (`Event::ScheduleResult` or `Event::WebhookResult`): the
    /// flow goes on from where it waited. A result nobody waits for is dropped.
    pub fn handle_flow_event(&mut self, now: Instant, id: u64, event: Event) {
        if !self.effects_pending.remove(&id) || self.ended {
            debug!(id, "effect result dropped: nobody waits for it");
            return;
        }
        if let Err(e) = self.flow.handle_event(now, event) {
            warn!(id, error = %e, "flow refused an effect result");
        }
        let _ = self.drain_flow(now);
    }

    /// Whether the flow waits for an effect's result.
    pub fn awaits_effect(&self) -> bool {
        !self.effects_pending.is_empty()
    }

    /// Says `text` now, on top of the flow (an operator or the API speaking on the call). With
    /// `interrupt`, what the agent is saying is dropped first (like a barge-in: the queue is
    /// flushed and `Clear` goes to the transport), without telling the flow it was interrupted.
    /// The flow's no-input timer restarts when this has been played.
    pub fn say_now(&mut self, now: Instant, text: &str, interrupt: bool) {
        if self.ended || text.trim().is_empty() {
            return;
        }
        if interrupt {
            self.drop_speech(now);
        }
        info!(interrupt, "live say");
        self.say(now, text.to_owned());
    }

    /// Ends the call now: what is playing is dropped and [`Action::Hangup`] issued at once.
    pub fn hangup_now(&mut self, now: Instant) {
        self.end_now(now, Action::Hangup);
    }

    /// Hands the caller to `target` now (no flow context), dropping what is playing.
    pub fn transfer_now(&mut self, now: Instant, target: TransferTarget) {
        self.end_now(now, Action::Transfer { target, context: Vec::new() });
    }

    /// The call is over (the caller hung up, or the shell stops): utterances still queued are
    /// recorded with what was heard of them, open timing records are flushed, and pending
    /// effects are forgotten. Nothing is issued.
    pub fn close(&mut self, now: Instant) {
        self.drop_speech(now);
        // Non-interruptible utterances are left in the queue by a flush: cut them here.
        for (id, s) in std::mem::take(&mut self.speaking) {
            let total = s.samples * 1000 / u64::from(super::RATE.hz());
            self.record_speech(id, &s, Some((0, total.max(1))));
        }
        self.actions.retain(|a| !matches!(a, Action::Clear));
        self.flush_open_turn();
        self.effects_pending.clear();
        self.pending_end = None;
        self.ended = true;
    }

    fn end_now(&mut self, now: Instant, action: Action) {
        if self.ended {
            return;
        }
        self.drop_speech(now);
        self.flush_open_turn();
        self.effects_pending.clear();
        self.pending_end = None;
        self.actions.push_back(action);
        self.ended = true;
    }

    /// Flushes interruptible agent audio (records what was heard, cancels synthesis); `Clear`
    /// goes to the transport if anything was dropped.
    fn drop_speech(&mut self, now: Instant) {
        let reports = self.playout.flush(now);
        for r in &reports {
            let Some(s) = self.speaking.remove(&r.utterance.0) else { continue };
            if !s.synth_done {
                let utterance = self.synthesis_of(r.utterance);
                self.jobs.push_back(Job::CancelSpeak { utterance });
            }
            self.record_speech(r.utterance.0, &s, Some((r.played_ms, r.queued_ms.max(r.played_ms + 1))));
        }
        if !reports.is_empty() {
            self.actions.push_back(Action::Clear);
        }
        self.resume = None;
        if self.speaking.is_empty() {
            self.playback_pending = false;
        }
    }

    /// Logs an utterance that is over (`cut`: heard and total milliseconds if it did not finish).
    pub(super) fn record_speech(&mut self, utterance: u64, s: &Speech, cut: Option<(u64, u64)>) {
        self.records.push_back(Record::Agent {
            utterance,
            text: s.text.clone(),
            at: s.asked_at,
            answers: s.answers,
            cut,
        });
    }

    /// The next call-log record, oldest first.
    pub fn poll_record(&mut self) -> Option<Record> {
        self.records.pop_front()
    }
}
