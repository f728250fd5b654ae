//! [`Agent`]: one call's voice loop. Design and drain contract in the crate docs.
//!
//! A caller *turn* starts at a VAD speech start and may span several speech segments (each
//! segment gets its own final transcript at its VAD speech end); the end-of-turn policy decides,
//! at each pause, whether the turn is over. Speech that starts while the agent speaks is a
//! barge-in candidate: it stops the agent once the barge-in policy says so, and is otherwise
//! dropped at its end (a backchannel, a cough, speech over a prompt that cannot be interrupted).
//! A barge-in whose turn brings no words is *false*: the agent says the interrupted prompt again
//! from the clause that was playing.
//!
//! Flow side effects (scheduling ops, webhooks) leave as [`Action::Effect`] and their results
//! come back through [`Agent::handle_flow_event`]; live control ([`Agent::say_now`],
//! [`Agent::hangup_now`], [`Agent::transfer_now`]) and the call-log records
//! ([`Agent::poll_record`]) are in `live.rs`.

mod barge;
mod embed;
mod live;
mod speculate;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use frontdesk_asr_whisper::stream::{StreamEvent, StreamSession};
use frontdesk_codec::Resampler;
use frontdesk_engines::{EngineError, Transcript};
use frontdesk_flow::machine::Expect;
use frontdesk_flow::{Command, Event, FlowMachine};
use frontdesk_types::{Digit, Instant, Pii, SampleRate};
use frontdesk_vad_silero::hysteresis::{Hysteresis, VadEvent};
use frontdesk_voice::{
    Playout, PlayoutEvent, PlayoutQueue, SilenceReason, UtteranceId, UtteranceOptions, VoiceError,
};
use tracing::{debug, info, warn};

use crate::AgentError;
use crate::io::{Action, AgentConfig, Job, Partials, TtsChunk, VAD_FRAME};
use crate::policy::{BargeInMode, TurnDecision, TurnState};
use crate::record::Record;
use crate::timing::{BargeInTiming, OpenTurn, Timing, TurnTiming};

/// Caller audio rate (every transport delivers 8 kHz).
const RATE: SampleRate = SampleRate::Hz8000;
/// Caller audio kept for the turn model (8 s at 16 kHz).
const TURN_WINDOW: usize = 128_000;
/// Speaking rate used to estimate a prompt's length before all of it is synthesised.
const MS_PER_CHAR: u64 = 65;
/// Voiced VAD frames (32 ms) a turn needs before its level is measured.
const MIN_VOICED_FRAMES: u32 = 5;
/// A VAD frame at or above this probability counts towards a turn's level.
const VOICED: f32 = 0.5;

#[derive(Debug)]
struct Speech {
    text: String,
    mode: BargeInMode,
    synth_done: bool,
    samples: u64,
    /// Where each clause starts (samples into the utterance).
    clauses: Vec<(u64, String)>,
    /// When the flow (or the operator) asked for it.
    asked_at: Instant,
    /// The caller turn it answers (the first utterance after that turn's end).
    answers: Option<u32>,
}

#[derive(Debug, Default)]
struct Turn {
    finals: Vec<String>,
    confidence: Vec<f32>,
    partial: String,
    partial_confidence: Option<f32>,
    /// Sum of the mean squares of the turn's voiced VAD frames, and how many.
    energy: f64,
    voiced: u32,
    finals_pending: u32,
    final_at: Option<Instant>,
    /// Start of the current pause (the caller stopped speaking), if paused.
    pause_since: Option<Instant>,
    eot_id: Option<u64>,
    eot_prob: Option<f32>,
    deadline: Option<Instant>,
    /// Began while the agent was speaking.
    over_agent: bool,
    /// Onset of the speech that may barge in.
    onset: Option<Instant>,
    barged: bool,
}

impl Turn {
    fn text(&self) -> String {
        let mut t = self.finals.join(" ");
        if self.finals_pending > 0 || !self.partial.is_empty() {
            if !t.is_empty() && !self.partial.is_empty() {
                t.push(' ');
            }
            t.push_str(&self.partial);
        }
        t.trim().to_owned()
    }

    /// The level of the turn's voiced frames in dBFS, once there are a few of them.
    fn level_db(&self) -> Option<f32> {
        (self.voiced >= MIN_VOICED_FRAMES)
            .then(|| (10.0 * (self.energy / f64::from(self.voiced)).log10()) as f32)
    }

    /// The recogniser's mean confidence over the turn's finals (0 without any).
    fn mean_confidence(&self) -> f32 {
        if self.confidence.is_empty() {
            0.0
        } else {
            self.confidence.iter().sum::<f32>() / self.confidence.len() as f32
        }
    }

    /// The recogniser's mean confidence over the turn's finals and its partial, if any.
    fn heard_confidence(&self) -> Option<f32> {
        let n = self.confidence.len() + usize::from(self.partial_confidence.is_some());
        let sum = self.confidence.iter().sum::<f32>() + self.partial_confidence.unwrap_or(0.0);
        (n > 0).then(|| sum / n as f32)
    }
}

/// One call's voice loop. See the crate docs.
#[derive(Debug)]
pub struct Agent {
    cfg: AgentConfig,
    flow: FlowMachine,
    playout: PlayoutQueue,
    hyst: Hysteresis,
    up: Resampler,
    asr: StreamSession,
    vad_buf: Vec<f32>,
    /// Mean square of each VAD frame sent, until its answer comes.
    vad_energy: VecDeque<f64>,
    /// The level of the caller's own speech (dBFS, over the turns so far).
    caller_db: Option<f32>,
    next_id: u64,
    audio_pos: u64,
    /// Caller samples the VAD has judged (its answers lag the audio when the pool is busy).
    vad_pos: u64,
    last_audio_at: Instant,
    window: VecDeque<f32>,
    in_speech: bool,
    turn: Option<Turn>,
    turns: u32,
    expect: Expect,
    next_utt: u64,
    speaking: BTreeMap<u64, Speech>,
    playback_pending: bool,
    pending_end: Option<Action>,
    ended: bool,
    resume: Option<String>,
    awaiting_embed: Option<(u64, String, f32)>,
    /// The embedding of a paused turn's text, asked before its end (`embed.rs`).
    early_embed: Option<embed::Early>,
    /// Whether the flow understands a paused turn's text (`embed.rs`), keyed by the text;
    /// `None` inside: the flow is not listening for words.
    understood: Option<(String, Option<bool>)>,
    /// The reply synthesised during the pause (`speculate.rs`).
    spec: Option<speculate::Speculation>,
    dtmf_buf: String,
    dtmf_deadline: Option<Instant>,
    open_turn: Option<OpenTurn>,
    barge: Option<(BargeInTiming, Instant)>,
    /// Agent audio held at a caller's speech onset (see `barge.rs`).
    paused: Option<barge::Pause>,
    pauses_resumed: u64,
    /// Flow effects out whose result the flow waits for.
    effects_pending: BTreeSet<u64>,
    records: VecDeque<Record>,
    jobs: VecDeque<Job>,
    actions: VecDeque<Action>,
    timings: VecDeque<Timing>,
}

impl Agent {
    /// A loop for one call running `flow` (not started yet: call [`Agent::start`]).
    pub fn new(cfg: AgentConfig, flow: FlowMachine) -> Result<Agent, AgentError> {
        let up = Resampler::new(RATE, SampleRate::Hz16000).map_err(|e| AgentError::Audio(e.to_string()))?;
        Ok(Agent {
            hyst: Hysteresis::new(cfg.vad, RATE.hz()),
            asr: StreamSession::new(cfg.asr.clone()),
            cfg,
            flow,
            playout: PlayoutQueue::new(RATE),
            up,
            vad_buf: Vec::new(),
            vad_energy: VecDeque::new(),
            caller_db: None,
            next_id: 0,
            audio_pos: 0,
            vad_pos: 0,
            last_audio_at: Instant::ZERO,
            window: VecDeque::new(),
            in_speech: false,
            turn: None,
            turns: 0,
            expect: Expect::Open,
            next_utt: 0,
            speaking: BTreeMap::new(),
            playback_pending: false,
            pending_end: None,
            ended: false,
            resume: None,
            awaiting_embed: None,
            early_embed: None,
            understood: None,
            spec: None,
            dtmf_buf: String::new(),
            dtmf_deadline: None,
            open_turn: None,
            barge: None,
            paused: None,
            pauses_resumed: 0,
            effects_pending: BTreeSet::new(),
            records: VecDeque::new(),
            jobs: VecDeque::new(),
            actions: VecDeque::new(),
            timings: VecDeque::new(),
        })
    }

    /// The flow machine (for its `turn()` summary and slots).
    pub fn flow(&self) -> &FlowMachine {
        &self.flow
    }

    /// True once the call should end (a hang-up or transfer was issued).
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Whether the agent is speaking (audio queued or being synthesised).
    pub fn is_speaking(&self) -> bool {
        !self.speaking.is_empty()
    }

    /// The call is answered: the flow starts (its greeting is asked for at once).
    pub fn start(&mut self, now: Instant) -> Result<(), AgentError> {
        self.flow.handle_event(now, Event::Start)?;
        self.drain_flow(now)
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// One caller frame (8 kHz) received at `now`.
    pub fn handle_audio(&mut self, now: Instant, pcm: &[i16]) {
        self.audio_pos += pcm.len() as u64;
        self.last_audio_at = now;
        let f: Vec<f32> = pcm.iter().map(|&s| f32::from(s) / 32768.0).collect();
        self.vad_buf.extend_from_slice(&f);
        while self.vad_buf.len() >= VAD_FRAME {
            let frame: Vec<f32> = self.vad_buf.drain(..VAD_FRAME).collect();
            let mean_sq = frame.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>() / VAD_FRAME as f64;
            self.vad_energy.push_back(mean_sq.max(1e-12));
            let id = self.id();
            self.jobs.push_back(Job::Vad { id, pcm: frame });
        }
        let partials = match self.cfg.partials {
            Partials::Always => true,
            Partials::OverAgent => self.is_speaking() || self.paused.is_some(),
        };
        self.asr.set_partials(partials);
        let mut up = Vec::with_capacity(f.len() * 2 + 8);
        if self.up.push_f32(&f, &mut up).is_ok() {
            self.asr.push_audio(&up);
            self.window.extend(up.iter().copied());
            let excess = self.window.len().saturating_sub(TURN_WINDOW);
            self.window.drain(..excess);
        }
        self.drain_asr(now);
    }

    /// The instant caller sample `pos` (8 kHz, from the call's start) was heard.
    fn instant_of(&self, pos: u64) -> Instant {
        let behind_us = self.audio_pos.saturating_sub(pos) * 1_000_000 / u64::from(RATE.hz());
        self.last_audio_at - Duration::from_micros(behind_us)
    }

    /// How far the caller's audio is known to be speech or silence: `now` while the VAD keeps up
    /// (at most one frame outstanding), else the instant of the last judged sample. A pause is
    /// only as long as the silence the VAD has seen: when its answers lag behind a busy pool, the
    /// wall clock would count audio nobody has judged (the caller may have gone on speaking) and
    /// end the turn in the middle of a sentence.
    fn judged_until(&self, now: Instant) -> Instant {
        let behind = self.audio_pos.saturating_sub(self.vad_pos);
        if behind < 2 * VAD_FRAME as u64 { now } else { self.instant_of(self.vad_pos).min(now) }
    }

    /// The VAD's answer for job `id` (in order). An error counts as silence.
    pub fn handle_vad(&mut self, now: Instant, id: u64, prob: Result<f32, EngineError>) {
        let prob = prob.unwrap_or_else(|e| {
            debug!(id, error = %e, "vad failed; counting the frame as silence");
            0.0
        });
        self.hyst.handle_frame(prob, VAD_FRAME);
        self.vad_pos += VAD_FRAME as u64;
        let energy = self.vad_energy.pop_front();
        while let Some(ev) = self.hyst.poll_event() {
            match ev {
                VadEvent::SpeechStart { at } => self.speech_start(now, at),
                VadEvent::SpeechEnd { at } => self.speech_end(now, at),
            }
        }
        if let (Some(e), Some(t)) = (energy, &mut self.turn)
            && prob >= VOICED
        {
            t.energy += e;
            t.voiced += 1;
        }
        self.drain_asr(now);
        // A pause is measured on judged audio: each judged frame of it may end the turn.
        if self.turn.as_ref().is_some_and(|t| t.pause_since.is_some() && t.deadline.is_none()) {
            self.evaluate_turn(now);
        }
        self.check_barge_in(now);
    }

    fn mode(&self) -> BargeInMode {
        self.speaking.values().next().map_or(BargeInMode::Speech, |s| s.mode)
    }

    fn speech_start(&mut self, now: Instant, at: u64) {
        self.in_speech = true;
        self.asr.speech_start(at * 2);
        let onset = self.instant_of(at);
        let speaking = self.is_speaking();
        match &mut self.turn {
            Some(t) => {
                // The caller goes on after a pause: the pause's model answer is stale, and so is
                // the reply synthesised for its words.
                t.pause_since = None;
                t.eot_id = None;
                t.eot_prob = None;
                t.deadline = None;
                if t.over_agent && !t.barged && speaking {
                    t.onset = Some(onset);
                }
            }
            None => {
                self.turn =
                    Some(Turn { over_agent: speaking, onset: speaking.then_some(onset), ..Turn::default() });
            }
        }
        self.drop_speculation();
        if self.turn.as_ref().is_some_and(|t| t.over_agent && !t.barged) {
            self.pause_on_onset(onset);
        }
        debug!(at_ms = at / 8, speaking, "speech start");
        let _ = now;
    }

    fn speech_end(&mut self, now: Instant, at: u64) {
        self.in_speech = false;
        self.asr.speech_end(at * 2);
        debug!(at_ms = at / 8, "speech end");
        // Count the final decode this asks for before the turn is judged.
        self.drain_asr(now);
        let end = self.instant_of(at);
        let eot = self.cfg.turn_model;
        let mut job = None;
        if let Some(t) = &mut self.turn {
            t.pause_since = Some(end);
            // Speech over the agent that ended before it could barge in keeps its onset: its
            // final transcript decides (`barge.rs`).
            if eot && (t.barged || !t.over_agent) {
                self.next_id += 1;
                t.eot_id = Some(self.next_id);
                job =
                    Some(Job::EndOfTurn { id: self.next_id, pcm_16k: self.window.iter().copied().collect() });
            }
        }
        if let Some(j) = job {
            self.jobs.push_back(j);
        }
        self.evaluate_turn(now);
    }

    fn drain_asr(&mut self, now: Instant) {
        while let Some(req) = self.asr.poll_request() {
            if !req.partial
                && let Some(t) = &mut self.turn
            {
                t.finals_pending += 1;
            }
            self.jobs.push_back(Job::Transcribe(req));
        }
        let mut changed = false;
        while let Some(ev) = self.asr.poll_event() {
            let Some(t) = &mut self.turn else { continue };
            match ev {
                StreamEvent::Partial { text, confidence, .. } => {
                    debug!(text = ?Pii::new(&text), confidence, "partial");
                    t.partial = text;
                    t.partial_confidence = Some(confidence);
                    changed = true;
                }
                StreamEvent::Final { transcript, .. } => {
                    t.finals_pending = t.finals_pending.saturating_sub(1);
                    let text = transcript.text.trim().to_owned();
                    debug!(
                        text = ?Pii::new(&text),
                        words = transcript.words.len(),
                        confidence = transcript.confidence,
                        "final"
                    );
                    if !text.is_empty() {
                        t.finals.push(text);
                        t.confidence.push(transcript.confidence);
                    }
                    t.partial.clear();
                    t.partial_confidence = None;
                    t.final_at = Some(now);
                    changed = true;
                }
                StreamEvent::Failed { error, .. } => {
                    warn!(%error, "final transcript failed");
                    t.finals_pending = t.finals_pending.saturating_sub(1);
                    t.partial.clear();
                    t.partial_confidence = None;
                    t.final_at = Some(now);
                    changed = true;
                }
                _ => {}
            }
        }
        if changed {
            self.check_barge_in(now);
            self.evaluate_turn(now);
        }
    }

    /// A decode's result.
    pub fn handle_transcript(&mut self, now: Instant, id: u64, result: Result<Transcript, EngineError>) {
        self.asr.handle_result(id, result);
        self.drain_asr(now);
    }

    /// The turn model's answer for job `id` (stale answers are dropped).
    pub fn handle_end_of_turn(&mut self, now: Instant, id: u64, prob: Result<f32, EngineError>) {
        let Some(t) = &mut self.turn else { return };
        if t.eot_id != Some(id) {
            return;
        }
        match prob {
            Ok(p) => t.eot_prob = Some(p),
            Err(e) => {
                debug!(error = %e, "turn model failed; deciding without it");
                t.eot_id = None;
            }
        }
        self.evaluate_turn(now);
    }

    fn evaluate_turn(&mut self, now: Instant) {
        if self.in_speech {
            return;
        }
        let Some(t) = &self.turn else { return };
        if t.pause_since.is_none() {
            return;
        }
        if t.over_agent && !t.barged && !self.settle_over_agent(now) {
            // Did not stop the agent: not a turn (or not yet: its transcripts are pending).
            return;
        }
        let Some(t) = &self.turn else { return };
        let Some(pause) = t.pause_since else { return };
        let text = t.text();
        if t.finals_pending == 0 {
            let confidence = t.mean_confidence();
            self.embed_early(now, &text, confidence);
        }
        let Some(t) = &self.turn else { return };
        let silence_ms = ms(self.judged_until(now).saturating_duration_since(pause));
        let state = TurnState {
            silence_ms,
            text: &text,
            final_ready: t.finals_pending == 0,
            model: t.eot_prob,
            model_pending: t.eot_id.is_some() && t.eot_prob.is_none(),
            expect: &self.expect,
            understood: self.understood.as_ref().filter(|(u, _)| *u == text).and_then(|(_, u)| *u),
        };
        match self.cfg.end_of_turn.decide(&state) {
            TurnDecision::WaitUntil(ms) => {
                // A due time already past means the VAD lags: its next answers re-judge.
                let due = pause + Duration::from_millis(ms);
                if let Some(t) = &mut self.turn {
                    t.deadline = (due > now).then_some(due);
                }
            }
            TurnDecision::Discard => {
                debug!(silence_ms, "no words after the pause: not a turn");
                let barged = t.barged;
                self.forget_turn();
                if barged {
                    self.false_barge_in(now);
                }
            }
            TurnDecision::End if self.hyst.is_starting() => {
                // The caller is audibly going on ("June ... sixteenth"): the next VAD frames
                // confirm the speech (the turn goes on) or break it off (then it ends).
                debug!(silence_ms, "end of turn held: speech may be starting");
                if let Some(t) = &mut self.turn {
                    t.deadline = None;
                }
            }
            TurnDecision::End => {
                if t.barged && self.cfg.barge_in.is_backchannel_heard(&self.heard(t, &text)) {
                    self.forget_turn();
                    self.false_barge_in(now);
                    return;
                }
                self.commit(now);
            }
        }
    }

    /// Drops the caller turn under way (noise, a backchannel) with what was worked out for its
    /// words ahead of its end.
    fn forget_turn(&mut self) {
        self.turn = None;
        self.understood = None;
        self.drop_speculation();
    }

    fn commit(&mut self, now: Instant) {
        let Some(t) = self.turn.take() else { return };
        let Some(pause) = t.pause_since else { return };
        if let Some(db) = t.level_db() {
            // The caller's own level: what speech over the agent is compared with (`barge.rs`).
            self.caller_db = Some(self.caller_db.map_or(db, |c| (c + db) / 2.0));
        }
        self.resume = None;
        self.turns += 1;
        self.flush_open_turn();
        let text = t.text();
        let confidence = t.mean_confidence();
        self.understood = None;
        let mut open = OpenTurn {
            rec: TurnTiming {
                turn: self.turns,
                speech_end: pause,
                final_transcript: None,
                end_of_turn: None,
                flow_command: None,
                first_tts_audio: None,
                first_audio_sent: None,
            },
            first_utterance: self.next_utt,
        };
        open.rec.final_transcript = t.final_at.and_then(|f| open.since(f));
        open.rec.end_of_turn = open.since(now);
        self.records.push_back(Record::Caller {
            turn: self.turns,
            text: Pii::new(text.clone()),
            confidence,
            speech_end: pause,
            final_transcript: open.rec.final_transcript,
            end_of_turn: open.rec.end_of_turn,
        });
        self.open_turn = Some(open);
        info!(turn = self.turns, text = ?Pii::new(&text), turn_model = ?t.eot_prob, "end of turn");
        if self.cfg.embed {
            self.embed_and_deliver(now, text, confidence);
        } else {
            self.deliver(now, text, confidence, None);
        }
    }

    pub(super) fn deliver(
        &mut self,
        now: Instant,
        text: String,
        confidence: f32,
        embedding: Option<Vec<f32>>,
    ) {
        self.dtmf_buf.clear();
        self.dtmf_deadline = None;
        if let Err(e) = self.flow.handle_event(now, Event::Utterance { text, confidence, embedding }) {
            warn!(error = %e, "flow refused the utterance");
        }
        let _ = self.drain_flow(now);
        // The flow said something else first, or nothing yet: the speculation is not wanted.
        self.drop_speculation();
    }

    fn flush_open_turn(&mut self) {
        if let Some(o) = self.open_turn.take() {
            self.timings.push_back(Timing::Turn(o.rec));
        }
    }

    fn say(&mut self, now: Instant, text: String) {
        let mode = self.cfg.node_modes.get(&self.flow.turn().node).copied().unwrap_or_default();
        let id = UtteranceId(self.next_utt);
        self.next_utt += 1;
        let options = if mode == BargeInMode::Never {
            UtteranceOptions::non_interruptible()
        } else {
            UtteranceOptions::default()
        };
        if let Err(e) = self.playout.enqueue_with(id, options, &[]) {
            warn!(error = %e, "cannot open an utterance");
            return;
        }
        debug!(utterance = %id, ?mode, text = ?Pii::new(&text), "say");
        let answers = self.open_turn.as_ref().filter(|o| o.first_utterance == id.0).map(|o| o.rec.turn);
        self.speaking.insert(
            id.0,
            Speech {
                text: text.clone(),
                mode,
                synth_done: false,
                samples: 0,
                clauses: Vec::new(),
                asked_at: now,
                answers,
            },
        );
        self.playback_pending = true;
        if let Some(o) = &mut self.open_turn
            && o.rec.flow_command.is_none()
        {
            o.rec.flow_command = o.since(now);
        }
        if !self.take_speculation(now, id, &text) {
            self.jobs.push_back(Job::Speak { utterance: id, text });
        }
    }

    fn drain_flow(&mut self, now: Instant) -> Result<(), AgentError> {
        while let Some(cmd) = self.flow.poll_command() {
            if let Some(o) = &mut self.open_turn
                && o.rec.flow_command.is_none()
            {
                o.rec.flow_command = o.since(now);
            }
            match cmd {
                Command::Say { text } => self.say(now, text),
                Command::Listen { expect, .. } => {
                    let hints = match &expect {
                        Expect::Choice(c) => c.clone(),
                        _ => Vec::new(),
                    };
                    self.asr.set_hints(hints);
                    self.expect = expect;
                }
                Command::Transfer { target, context } => {
                    self.pending_end = Some(Action::Transfer { target, context });
                }
                Command::Hangup => {
                    if self.pending_end.is_none() {
                        self.pending_end = Some(Action::Hangup);
                    }
                }
                Command::OptOut => self.actions.push_back(Action::OptOut),
                // Scheduling ops, webhooks and any other outside effect go to the shell.
                effect => self.effect(effect),
            }
        }
        self.maybe_end();
        Ok(())
    }

    fn maybe_end(&mut self) {
        if !self.is_speaking()
            && let Some(a) = self.pending_end.take()
        {
            self.flush_open_turn();
            self.actions.push_back(a);
            self.ended = true;
        }
    }

    /// Synthesised audio for `utterance` (an error ends the utterance where it is).
    pub fn handle_tts(&mut self, now: Instant, utterance: UtteranceId, chunk: Result<TtsChunk, EngineError>) {
        let Some((utterance, chunk)) = self.speculative_chunk(utterance, chunk) else { return };
        let Some(s) = self.speaking.get_mut(&utterance.0) else { return };
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                warn!(%utterance, error = %e, "synthesis failed; the utterance ends here");
                TtsChunk { pcm: Vec::new(), clause: None, last: true }
            }
        };
        if let Some(c) = chunk.clause {
            s.clauses.push((s.samples, c));
        }
        s.samples += chunk.pcm.len() as u64;
        if chunk.last {
            s.synth_done = true;
        }
        match self.playout.enqueue(utterance, &chunk.pcm) {
            Err(VoiceError::UtteranceClosed { .. }) => {
                let utterance = self.synthesis_of(utterance);
                self.jobs.push_back(Job::CancelSpeak { utterance });
                return;
            }
            Err(e) => warn!(%utterance, error = %e, "cannot queue audio"),
            Ok(()) => {}
        }
        if !chunk.pcm.is_empty()
            && let Some(o) = &mut self.open_turn
            && utterance.0 >= o.first_utterance
            && o.rec.first_tts_audio.is_none()
        {
            o.rec.first_tts_audio = o.since(now);
        }
        if chunk.last
            && let Err(e) = self.playout.finish_utterance(now, utterance)
        {
            debug!(%utterance, error = %e, "finish");
        }
        self.drain_playout(now);
    }

    /// A key from the caller.
    pub fn handle_dtmf(&mut self, now: Instant, digit: Digit) {
        if self.is_speaking() && self.cfg.barge_in.dtmf_interrupts(self.mode()) {
            info!("barge-in by key");
            self.interrupt(now, now, true);
            self.resume = None;
        }
        let c = digit.as_char();
        match self.expect {
            Expect::Digits(_) | Expect::Phone | Expect::Number => {
                let want = match self.expect {
                    Expect::Digits(Some(n)) => Some(n),
                    Expect::Phone => Some(10),
                    _ => None,
                };
                if c != '#' {
                    self.dtmf_buf.push(c);
                }
                let done = c == '#' || want.is_some_and(|n| self.dtmf_buf.len() >= n);
                if done {
                    self.send_dtmf(now);
                } else {
                    self.dtmf_deadline = Some(now + Duration::from_millis(self.cfg.interdigit_ms));
                }
            }
            _ => {
                self.dtmf_buf = c.to_string();
                self.send_dtmf(now);
            }
        }
    }

    fn send_dtmf(&mut self, now: Instant) {
        self.dtmf_deadline = None;
        let keys = std::mem::take(&mut self.dtmf_buf);
        if keys.is_empty() {
            return;
        }
        self.records.push_back(Record::Keys { keys: Pii::new(keys.clone()), at: now });
        if let Err(e) = self.flow.handle_event(now, Event::Dtmf(keys)) {
            warn!(error = %e, "flow refused keys");
        }
        let _ = self.drain_flow(now);
    }

    /// Fires whatever is due at `now` (end-of-turn waits, typed-digit pauses, the flow's
    /// no-input timer).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.turn.as_ref().and_then(|t| t.deadline).is_some_and(|d| now >= d) {
            if let Some(t) = &mut self.turn {
                t.deadline = None;
            }
            self.evaluate_turn(now);
        }
        self.check_barge_in(now);
        if self.dtmf_deadline.is_some_and(|d| now >= d) {
            self.send_dtmf(now);
        }
        if self.flow_timer_live() && self.flow.poll_timeout().is_some_and(|d| now >= d) {
            self.flow.handle_timeout(now);
            let _ = self.drain_flow(now);
        }
    }

    /// The flow's no-input timer runs only while nobody speaks, no caller turn is on its way to
    /// the flow (transcripts or its embedding pending) and no effect is out.
    fn flow_timer_live(&self) -> bool {
        !self.is_speaking()
            && self.turn.is_none()
            && self.awaiting_embed.is_none()
            && self.dtmf_buf.is_empty()
            && self.effects_pending.is_empty()
            && !self.ended
    }

    /// When [`Agent::handle_timeout`] should next be called (playout ticks aside).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let flow = if self.flow_timer_live() { self.flow.poll_timeout() } else { None };
        [self.turn.as_ref().and_then(|t| t.deadline), self.dtmf_deadline, flow].into_iter().flatten().min()
    }

    /// The next 20 ms to send (agent audio, or silence when idle).
    pub fn poll_frame(&mut self, now: Instant) -> Vec<i16> {
        let held = self.hold_frame(now);
        let out = match if held { Playout::Silence(SilenceReason::Idle) } else { self.playout.pop_frame(now) }
        {
            Playout::Audio(f) => {
                if let Some(o) = &mut self.open_turn
                    && f.utterance.0 >= o.first_utterance
                    && o.rec.first_audio_sent.is_none()
                {
                    o.rec.first_audio_sent = o.since(now);
                    self.flush_open_turn();
                }
                f.frame.samples
            }
            Playout::Silence(_) => vec![0; RATE.frame_len()],
        };
        if let Some((mut rec, decided_at)) = self.barge.take() {
            // The first frame after the flush: the agent is silent from here (unless a
            // non-interruptible prompt goes on, which the timing then shows as late).
            rec.stopped = now.max(decided_at).saturating_duration_since(rec.onset);
            self.timings.push_back(Timing::BargeIn(rec));
        }
        self.drain_playout(now);
        out
    }

    fn drain_playout(&mut self, now: Instant) {
        while let Some(ev) = self.playout.poll_event() {
            match ev {
                PlayoutEvent::Finished { utterance, .. } => {
                    if let Some(s) = self.speaking.remove(&utterance.0) {
                        self.record_speech(utterance.0, &s, None);
                    }
                }
                PlayoutEvent::Interrupted { utterance, played_ms, queued_ms, .. } => {
                    if let Some(s) = self.speaking.remove(&utterance.0) {
                        self.record_speech(utterance.0, &s, Some((played_ms, queued_ms)));
                    }
                }
                PlayoutEvent::Started { .. } => {}
            }
        }
        if self.playback_pending && !self.is_speaking() {
            self.playback_pending = false;
            if let Err(e) = self.flow.handle_event(now, Event::PlaybackDone) {
                warn!(error = %e, "flow refused playback-done");
            }
            let _ = self.drain_flow(now);
        }
        self.maybe_end();
    }

    /// The next model job.
    pub fn poll_job(&mut self) -> Option<Job> {
        self.jobs.pop_front()
    }

    /// The next transport action.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next finished timing record.
    pub fn poll_timing(&mut self) -> Option<Timing> {
        self.timings.pop_front()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}
