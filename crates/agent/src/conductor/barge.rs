//! Barge-in: caller speech or a key over the agent's audio.
//!
//! - **Pause on onset.** When the VAD hears caller speech start over interruptible agent audio,
//!   the agent's audio is held at once (silence frames go out; nothing queued is dropped), so
//!   the caller is not talked over while the policy makes up its mind. With the default VAD
//!   hysteresis (64 ms of speech) that is about 100 ms after the onset.
//! - **Decide.** While the speech lasts, [`crate::policy::BargeInPolicy::decide`] is asked with
//!   how long it has lasted and the words transcribed so far; "interrupt" flushes the held audio
//!   (and `Clear` goes to the transport), and the flow learns how much of its prompt was heard.
//! - **Speech that ended undecided** (a short "wait, stop" whose partial transcript came late)
//!   is judged on its final transcript: content words make it a barge-in; a backchannel, a
//!   cough or nothing lets the held audio play on from where it stopped.
//! - **Far-field speech** (a television, someone across the room) does not barge in: speech
//!   over the agent much quieter than the caller's own turns so far
//!   ([`crate::policy::BargeInPolicy::far_field_db`]) is left to play out.
//! - A barge-in whose turn then brings no words is *false*: the interrupted prompt is said again
//!   from the clause that was playing.

use std::time::Duration;

use frontdesk_types::{Instant, Pii};
use tracing::{debug, info, warn};

use super::{Agent, MS_PER_CHAR, RATE, Turn, clamp_u32, ms};
use crate::io::{Action, Job};
use crate::policy::{BargeInDecision, BargeInMode, Heard};
use crate::timing::{BargeInTiming, Timing};
use frontdesk_flow::Event;
use frontdesk_flow::machine::Expect;

/// Agent audio held at a caller's speech onset until the barge-in policy decides.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pause {
    /// The onset that paused it.
    onset: Instant,
    /// When the first silent frame went out for it.
    silent_from: Option<Instant>,
}

impl Agent {
    /// Caller speech started at `onset` over interruptible agent audio: hold the audio.
    pub(super) fn pause_on_onset(&mut self, onset: Instant) {
        if !self.cfg.barge_in.pause_on_onset
            || self.paused.is_some()
            || !self.is_speaking()
            || self.mode() != BargeInMode::Speech
        {
            return;
        }
        debug!("caller speech over the agent: audio held");
        self.paused = Some(Pause { onset, silent_from: None });
    }

    /// The held audio plays on from where it stopped.
    pub(super) fn unpause(&mut self, why: &str) {
        if let Some(p) = self.paused.take() {
            self.pauses_resumed += 1;
            info!(why, held_from_onset_ms = ?p.silent_from.map(|s| ms(s.saturating_duration_since(p.onset))), "agent audio resumed");
        }
    }

    /// Whether the frame due at `now` is held (a silent frame goes out instead).
    pub(super) fn hold_frame(&mut self, now: Instant) -> bool {
        if self.paused.is_none() || self.mode() != BargeInMode::Speech {
            return false;
        }
        if let Some(p) = &mut self.paused {
            p.silent_from.get_or_insert(now);
        }
        true
    }

    /// How many times held audio played on (speech over the agent that was not a barge-in).
    pub fn pauses_resumed(&self) -> u64 {
        self.pauses_resumed
    }

    /// Speech over the agent ended without stopping it. Once its transcripts are in, its words
    /// decide: a barge-in (true: the turn goes on as the caller's turn), or nothing (the turn is
    /// forgotten and held audio plays on).
    pub(super) fn settle_over_agent(&mut self, now: Instant) -> bool {
        let Some(t) = &self.turn else { return false };
        if t.finals_pending > 0 {
            return false;
        }
        let text = t.text();
        let decision = match (t.onset, t.pause_since) {
            (Some(onset), Some(end)) if self.is_speaking() => {
                // The final's words stand in for the onset hold (coughs rarely bring words).
                let speech_ms = ms(end.saturating_duration_since(onset)).max(self.cfg.barge_in.min_onset_ms);
                (self.cfg.barge_in.decide(self.mode(), speech_ms, &self.heard(t, &text))
                    == BargeInDecision::Interrupt)
                    .then_some(onset)
            }
            _ => None,
        };
        if let Some(onset) = decision {
            info!("barge-in on the final transcript of speech over the agent");
            self.interrupt(now, onset, false);
            if let Some(t) = &mut self.turn {
                t.barged = true;
            }
            return true;
        }
        debug!(text = ?Pii::new(&text), "speech over the agent ignored");
        self.forget_turn();
        self.unpause("speech over the agent brought no words");
        false
    }

    pub(super) fn check_barge_in(&mut self, now: Instant) {
        let mode = self.mode();
        let speaking = self.is_speaking();
        if !speaking {
            // The agent finished while the caller was talking over its last words: from here
            // on that speech is an ordinary turn (callers often answer a beat early).
            if let Some(t) = &mut self.turn
                && t.over_agent
                && !t.barged
                && self.in_speech
            {
                t.over_agent = false;
                t.onset = None;
            }
            self.unpause("the agent finished");
            return;
        }
        let Some(t) = &self.turn else { return };
        let Some(onset) = t.onset else { return };
        if t.barged || !t.over_agent || !self.in_speech {
            return;
        }
        let speech_ms = ms(now.saturating_duration_since(onset));
        let text = t.text();
        if self.cfg.barge_in.decide(mode, speech_ms, &self.heard(t, &text)) == BargeInDecision::Interrupt {
            info!(speech_ms, "barge-in");
            self.interrupt(now, onset, false);
            if let Some(t) = &mut self.turn {
                t.barged = true;
            }
        }
    }

    /// What the recogniser has made of turn `t` (whose text is `text`).
    pub(super) fn heard<'a>(&self, t: &Turn, text: &'a str) -> Heard<'a> {
        Heard {
            text,
            confidence: t.heard_confidence(),
            yes_no_expected: matches!(self.expect, Expect::YesNo),
            quieter_db: self.caller_db.zip(t.level_db()).map(|(caller, now)| caller - now),
        }
    }

    /// Stops interruptible agent audio now; tells the flow how much was heard.
    pub(super) fn interrupt(&mut self, now: Instant, onset: Instant, dtmf: bool) {
        let pause = self.paused.take();
        let reports = self.playout.flush(now);
        if reports.is_empty() {
            return;
        }
        let (mut heard, mut total) = (0u64, 0u64);
        let mut resume = Vec::new();
        for r in &reports {
            let Some(s) = self.speaking.remove(&r.utterance.0) else { continue };
            if !s.synth_done {
                let utterance = self.synthesis_of(r.utterance);
                self.jobs.push_back(Job::CancelSpeak { utterance });
            }
            let estimate = s.text.chars().count() as u64 * MS_PER_CHAR;
            let whole = if s.synth_done { r.queued_ms } else { r.queued_ms.max(estimate) };
            heard += r.played_ms;
            total += whole.max(r.played_ms + 1);
            self.record_speech(r.utterance.0, &s, Some((r.played_ms, whole.max(r.played_ms + 1))));
            let played = r.played_ms * u64::from(RATE.hz()) / 1000;
            let from = if s.synth_done && r.played_ms > 0 {
                s.clauses.iter().rposition(|(start, _)| *start <= played)
            } else {
                None
            };
            match from {
                Some(i) => resume.extend(s.clauses[i..].iter().map(|(_, c)| c.clone())),
                None => resume.push(s.text.clone()),
            }
        }
        self.resume = Some(resume.join(" "));
        self.actions.push_back(Action::Clear);
        let (heard_ms, total_ms) = (clamp_u32(heard), clamp_u32(total));
        // Audio held since a speech onset stopped at that onset's first silent frame.
        let (onset, stopped_at) = match pause {
            Some(p) if !dtmf => (p.onset.min(onset), p.silent_from),
            _ => (onset, None),
        };
        let mut rec = BargeInTiming {
            onset,
            decided: now.saturating_duration_since(onset),
            stopped: Duration::ZERO,
            heard_ms,
            total_ms,
            dtmf,
        };
        match stopped_at {
            Some(at) => {
                rec.stopped = at.saturating_duration_since(onset);
                self.timings.push_back(Timing::BargeIn(rec));
            }
            None => self.barge = Some((rec, now)),
        }
        if self.speaking.is_empty() {
            self.playback_pending = false;
        }
        if let Err(e) = self.flow.handle_event(now, Event::BargeIn { heard_ms, total_ms }) {
            warn!(error = %e, "flow refused the barge-in");
        }
        let _ = self.drain_flow(now);
    }

    /// A barge-in that brought no words: say the interrupted prompt again from where it was cut.
    pub(super) fn false_barge_in(&mut self, now: Instant) {
        let Some(text) = self.resume.take() else { return };
        if text.trim().is_empty() || self.is_speaking() {
            return;
        }
        info!("false barge-in: resuming the prompt");
        self.say(now, text);
    }
}
