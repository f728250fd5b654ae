//! Streaming recognition on top of a batch transcriber (sans-IO).
//!
//! Whisper has no streaming mode: partial results come from re-decoding the growing speech
//! segment. [`StreamSession`] decides *when* to decode and *what*; the caller runs the decodes
//! (on the inference pool, with any [`frontdesk_engines::Transcriber`]) and feeds the results
//! back. The session reads no clock: the sample count of the audio pushed so far is its time.
//!
//! # Inputs
//!
//! - [`StreamSession::push_audio`]: 16 kHz mono audio, in order, any chunk size. Sample
//!   positions count from the first sample pushed.
//! - [`StreamSession::speech_start`] / [`StreamSession::speech_end`]: the VAD's decisions, with
//!   the sample position where speech started / ended. A segment starts
//!   [`StreamConfig::pre_roll`] samples before the VAD's start (VADs trigger late, and Whisper
//!   wants the onset).
//! - [`StreamSession::handle_result`]: the outcome of a [`DecodeRequest`], by its id; or
//!   [`StreamSession::handle_result_with_draft`] with the engine's tokens of a partial result
//!   (Whisper: [`crate::Decoded::token_ids`]), which the session hands back as
//!   [`DecodeRequest::draft`] in the segment's next decodes. Whisper checks such a draft in one
//!   decoder pass instead of one pass per token ([`crate::WhisperTranscriber::run`]), so when
//!   speech ends only the encoder and the tail of the text are left to compute.
//!
//! # Decisions
//!
//! - A **partial** decode of `[segment start, audio end)` is requested once the segment holds
//!   [`StreamConfig::min_partial`] samples and the new audio since the last partial request is
//!   at least [`StreamConfig::partial_interval`] samples and at least
//!   [`StreamConfig::partial_growth_pct`] percent of the segment the last partial covered, and only when no partial
//!   decode is in flight (an overloaded pool gets fewer partials, never a queue of stale ones).
//!   Each partial re-encodes the whole segment (Whisper's encoder cannot extend an earlier
//!   input), so its cost grows with the segment: the growing interval keeps the partials' total
//!   cost near a fixed multiple of the final decode's instead of quadratic in the length.
//! - The **final** decode of `[segment start, speech end)` is requested at once on speech end,
//!   whether or not a partial is in flight; from then on, partial results of that segment are
//!   stale and discarded. A segment longer than [`StreamConfig::max_segment`] is finalised at that
//!   length and a new one continues the speech (Whisper's window is 30 s).
//! - Events: [`StreamEvent::Partial`] when a partial's text is non-empty and differs from the
//!   previous one; [`StreamEvent::Final`] (or [`StreamEvent::Failed`]) for every segment, in
//!   segment order even when the pool finishes them out of order.
//!
//! # Drain contract
//!
//! After each input call, drain [`StreamSession::poll_request`] and [`StreamSession::poll_event`]
//! until they return `None`. A request carries its own copy of the audio, so the caller can move
//! it to another thread. Audio is kept from the current segment's start (or the pre-roll when
//! idle) only: memory stays bounded however long the call lasts.

use std::collections::VecDeque;

use frontdesk_engines::{DecodeOptions, EngineError, Transcript};

/// When to decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamConfig {
    /// Least new audio (samples) between partial decodes: 9600 (600 ms).
    pub partial_interval: usize,
    /// Least new audio between partial decodes as a percentage of the segment the last partial
    /// covered: 100 (partials at 0.5, 1.1, 2.2, 4.4 s... of the segment).
    pub partial_growth_pct: u32,
    /// Segment length (samples) before the first partial: 8000 (500 ms).
    pub min_partial: usize,
    /// Audio (samples) before the VAD's speech start included in the segment: 4800 (300 ms).
    pub pre_roll: usize,
    /// Longest segment (samples) before a forced final: 400,000 (25 s).
    pub max_segment: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            partial_interval: 9600,
            partial_growth_pct: 100,
            min_partial: 8000,
            pre_roll: 4800,
            max_segment: 400_000,
        }
    }
}

/// A decode for the caller to run and report with [`StreamSession::handle_result`].
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeRequest {
    /// Identifies the result.
    pub id: u64,
    /// The speech segment (numbered from 0).
    pub segment: u64,
    /// First sample (position in the stream).
    pub start: u64,
    /// One past the last sample.
    pub end: u64,
    /// A partial decode (the segment is still growing).
    pub partial: bool,
    /// The audio `[start, end)`.
    pub pcm: Vec<f32>,
    /// Options to decode with (`partial` set, hints from the session).
    pub options: DecodeOptions,
    /// The engine's tokens of the segment's latest partial result (empty when none): a guess of
    /// the output that the engine may use to decode faster.
    pub draft: Vec<u32>,
}

/// What the session reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamEvent {
    /// The best guess so far for a segment still being spoken.
    Partial {
        /// The segment.
        segment: u64,
        /// Text so far.
        text: String,
        /// The engine's confidence in it (0..1).
        confidence: f32,
    },
    /// The result for a finished segment.
    Final {
        /// The segment.
        segment: u64,
        /// First sample of the segment.
        start: u64,
        /// One past its last sample.
        end: u64,
        /// The transcript (word times relative to `start`).
        transcript: Transcript,
    },
    /// The final decode of a segment failed.
    Failed {
        /// The segment.
        segment: u64,
        /// Why.
        error: EngineError,
    },
}

#[derive(Debug)]
struct Active {
    segment: u64,
    start: u64,
    /// End of the audio covered by the last partial request.
    last_partial_end: u64,
    /// Tokens of the latest partial result.
    draft: Vec<u32>,
}

#[derive(Debug)]
struct PendingFinal {
    id: u64,
    segment: u64,
    start: u64,
    end: u64,
    result: Option<Result<Transcript, EngineError>>,
}

/// The streaming state of one audio stream (one call leg).
#[derive(Debug)]
pub struct StreamSession {
    cfg: StreamConfig,
    /// Whether partial decodes are asked for (see [`StreamSession::set_partials`]).
    partials: bool,
    hints: Vec<String>,
    buf: Vec<f32>,
    buf_start: u64,
    active: Option<Active>,
    partial_in_flight: Option<(u64, u64)>,
    finals: VecDeque<PendingFinal>,
    last_partial_text: String,
    next_id: u64,
    next_segment: u64,
    requests: VecDeque<DecodeRequest>,
    events: VecDeque<StreamEvent>,
}

impl StreamSession {
    /// A session with nothing heard yet.
    pub fn new(cfg: StreamConfig) -> Self {
        Self {
            cfg,
            partials: true,
            hints: Vec::new(),
            buf: Vec::new(),
            buf_start: 0,
            active: None,
            partial_in_flight: None,
            finals: VecDeque::new(),
            last_partial_text: String::new(),
            next_id: 0,
            next_segment: 0,
            requests: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Whether to ask for partial decodes from now on (on by default). A partial is speculative
    /// work, worth its CPU only when something reads it: a voice loop needs the words of speech
    /// over its own prompt (barge-in) but, for a turn spoken into silence, only the final. A
    /// partial in flight still reports; finals are unaffected. Switched back on mid-segment, the
    /// next partial follows the usual schedule.
    pub fn set_partials(&mut self, on: bool) {
        let switched_on = on && !self.partials;
        self.partials = on;
        if switched_on {
            self.maybe_partial();
        }
    }

    /// Words the flow expects, passed to every later decode.
    pub fn set_hints(&mut self, hints: Vec<String>) {
        self.hints = hints;
    }

    /// Samples pushed so far (the session's clock).
    pub fn position(&self) -> u64 {
        self.buf_start + self.buf.len() as u64
    }

    /// True between speech start and speech end.
    pub fn in_speech(&self) -> bool {
        self.active.is_some()
    }

    /// Appends audio.
    pub fn push_audio(&mut self, pcm: &[f32]) {
        self.buf.extend_from_slice(pcm);
        if let Some(a) = &self.active
            && self.position() - a.start >= self.cfg.max_segment as u64
        {
            let end = a.start + self.cfg.max_segment as u64;
            self.finalize(end);
            self.begin(end);
        }
        self.maybe_partial();
        self.trim();
    }

    /// The VAD heard speech start at sample `at`.
    pub fn speech_start(&mut self, at: u64) {
        if self.active.is_some() {
            return;
        }
        let start = at.saturating_sub(self.cfg.pre_roll as u64).max(self.buf_start).min(self.position());
        self.begin(start);
        self.maybe_partial();
    }

    /// The VAD heard speech end at sample `at` (clamped to the audio pushed).
    pub fn speech_end(&mut self, at: u64) {
        if let Some(a) = &self.active {
            let end = at.clamp(a.start, self.position());
            self.finalize(end);
            self.trim();
        }
    }

    /// Reports the outcome of request `id`. Unknown ids (and stale partials) are ignored.
    pub fn handle_result(&mut self, id: u64, result: Result<Transcript, EngineError>) {
        self.handle_result_with_draft(id, result, Vec::new());
    }

    /// [`StreamSession::handle_result`] with the engine's tokens of the result: for a partial of
    /// the current segment they become the [`DecodeRequest::draft`] of its later decodes.
    pub fn handle_result_with_draft(
        &mut self,
        id: u64,
        result: Result<Transcript, EngineError>,
        draft: Vec<u32>,
    ) {
        if let Some((pid, segment)) = self.partial_in_flight
            && pid == id
        {
            self.partial_in_flight = None;
            let current = self.active.as_ref().is_some_and(|a| a.segment == segment);
            if let (true, Ok(t)) = (current, result) {
                if let Some(a) = &mut self.active
                    && !draft.is_empty()
                {
                    a.draft = draft;
                }
                let text = t.text.trim();
                if !text.is_empty() && text != self.last_partial_text {
                    self.last_partial_text = text.to_owned();
                    self.events.push_back(StreamEvent::Partial {
                        segment,
                        text: text.to_owned(),
                        confidence: t.confidence,
                    });
                }
            }
            self.maybe_partial();
            return;
        }
        if let Some(f) = self.finals.iter_mut().find(|f| f.id == id && f.result.is_none()) {
            f.result = Some(result);
        }
        while self.finals.front().is_some_and(|f| f.result.is_some()) {
            let Some(f) = self.finals.pop_front() else { break };
            let event = match f.result {
                Some(Ok(transcript)) => {
                    StreamEvent::Final { segment: f.segment, start: f.start, end: f.end, transcript }
                }
                Some(Err(error)) => StreamEvent::Failed { segment: f.segment, error },
                None => continue,
            };
            self.events.push_back(event);
        }
    }

    /// The next decode to run.
    pub fn poll_request(&mut self) -> Option<DecodeRequest> {
        self.requests.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }

    fn begin(&mut self, start: u64) {
        self.active =
            Some(Active { segment: self.next_segment, start, last_partial_end: start, draft: Vec::new() });
        self.next_segment += 1;
        self.last_partial_text.clear();
    }

    fn audio(&self, start: u64, end: u64) -> Vec<f32> {
        let s = start.saturating_sub(self.buf_start) as usize;
        let e = end.saturating_sub(self.buf_start) as usize;
        self.buf.get(s.min(e)..e.min(self.buf.len())).map(<[f32]>::to_vec).unwrap_or_default()
    }

    fn request(&mut self, segment: u64, start: u64, end: u64, partial: bool, draft: Vec<u32>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let pcm = self.audio(start, end);
        let options = DecodeOptions { hints: self.hints.clone(), partial };
        self.requests.push_back(DecodeRequest { id, segment, start, end, partial, pcm, options, draft });
        id
    }

    fn maybe_partial(&mut self) {
        let pos = self.position();
        let Some(a) = &self.active else { return };
        let grown = (a.last_partial_end - a.start) * u64::from(self.cfg.partial_growth_pct) / 100;
        let due = pos - a.start >= self.cfg.min_partial as u64
            && pos - a.last_partial_end >= grown.max(self.cfg.partial_interval as u64);
        if !self.partials || self.partial_in_flight.is_some() || !due {
            return;
        }
        let (segment, start, draft) = (a.segment, a.start, a.draft.clone());
        let id = self.request(segment, start, pos, true, draft);
        self.partial_in_flight = Some((id, segment));
        if let Some(a) = &mut self.active {
            a.last_partial_end = pos;
        }
    }

    fn finalize(&mut self, end: u64) {
        let Some(a) = self.active.take() else { return };
        let id = self.request(a.segment, a.start, end, false, a.draft);
        self.finals.push_back(PendingFinal { id, segment: a.segment, start: a.start, end, result: None });
    }

    /// Keeps the active segment's audio, or the pre-roll when idle.
    fn trim(&mut self) {
        let keep_from = match &self.active {
            Some(a) => a.start,
            None => self.position().saturating_sub(self.cfg.pre_roll as u64),
        };
        let drop = keep_from.saturating_sub(self.buf_start) as usize;
        if drop > 0 {
            let drop = drop.min(self.buf.len());
            self.buf.drain(..drop);
            self.buf_start += drop as u64;
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
