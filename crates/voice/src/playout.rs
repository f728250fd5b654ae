//! [`PlayoutQueue`]: utterances in, 20 ms frames out, flushable. Design in the crate docs.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use frontdesk_types::{AudioFrame, Instant, SampleRate};

use crate::{ClosedReason, VoiceError};

/// How many closed utterance ids the queue remembers (to refuse late TTS chunks for them).
const CLOSED_MEMORY: usize = 4096;

/// Default capacity: 10 minutes of unplayed audio.
const DEFAULT_CAPACITY_MS: u64 = 600_000;

/// The caller's identifier of one utterance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UtteranceId(pub u64);

impl fmt::Display for UtteranceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Per-utterance options, fixed by its first chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtteranceOptions {
    /// Whether [`PlayoutQueue::flush`] drops it (default `true`).
    pub interruptible: bool,
}

impl Default for UtteranceOptions {
    fn default() -> Self {
        UtteranceOptions { interruptible: true }
    }
}

impl UtteranceOptions {
    /// Options for audio that barge-in must not cut (legal disclosures).
    pub const fn non_interruptible() -> Self {
        UtteranceOptions { interruptible: false }
    }
}

/// One popped frame of an utterance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlayoutFrame {
    /// The utterance it belongs to.
    pub utterance: UtteranceId,
    /// 20 ms at the queue's rate.
    pub frame: AudioFrame,
    /// How many samples are the utterance's audio; the rest (only in its last frame) is padding.
    pub audio_samples: usize,
}

/// Why [`PlayoutQueue::pop_frame`] had no audio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SilenceReason {
    /// Nothing queued.
    Idle,
    /// The utterance at the head is still streaming and has less than a frame buffered.
    Underrun(UtteranceId),
}

/// What [`PlayoutQueue::pop_frame`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Playout {
    /// The next 20 ms of agent audio.
    Audio(PlayoutFrame),
    /// Nothing to play now: send silence or comfort noise.
    Silence(SilenceReason),
}

impl Playout {
    /// Whether this is silence.
    pub fn is_silence(&self) -> bool {
        matches!(self, Playout::Silence(_))
    }
}

/// Lifecycle of utterances, from [`PlayoutQueue::poll_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlayoutEvent {
    /// Its first frame was popped.
    Started {
        /// The utterance.
        utterance: UtteranceId,
        /// When that frame starts playing.
        at: Instant,
    },
    /// It played to the end.
    Finished {
        /// The utterance.
        utterance: UtteranceId,
        /// When its last frame ends.
        at: Instant,
        /// Milliseconds played (all of it).
        played_ms: u64,
    },
    /// A flush dropped it.
    Interrupted {
        /// The utterance.
        utterance: UtteranceId,
        /// When the flush happened.
        at: Instant,
        /// Milliseconds the caller heard.
        played_ms: u64,
        /// Milliseconds queued for it by then.
        queued_ms: u64,
    },
}

/// What a flush did to one utterance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushReport {
    /// The utterance dropped.
    pub utterance: UtteranceId,
    /// Milliseconds played before the flush.
    pub played_ms: u64,
    /// Milliseconds queued for it (played or not).
    pub queued_ms: u64,
}

#[derive(Debug)]
struct Utterance {
    id: UtteranceId,
    options: UtteranceOptions,
    /// Unplayed samples.
    pending: VecDeque<i16>,
    queued: u64,
    played: u64,
    started: bool,
    complete: bool,
}

/// The agent's outgoing audio. See the crate docs for the design and drain contract.
#[derive(Debug)]
pub struct PlayoutQueue {
    rate: SampleRate,
    frame_len: usize,
    utterances: VecDeque<Utterance>,
    /// Unplayed samples across all utterances.
    pending_total: usize,
    capacity: usize,
    closed: HashMap<UtteranceId, ClosedReason>,
    closed_order: VecDeque<UtteranceId>,
    events: VecDeque<PlayoutEvent>,
}

impl PlayoutQueue {
    /// An empty queue at `rate`, holding up to 10 minutes of unplayed audio.
    pub fn new(rate: SampleRate) -> Self {
        PlayoutQueue::with_capacity_ms(rate, DEFAULT_CAPACITY_MS)
    }

    /// An empty queue holding up to `capacity_ms` of unplayed audio.
    pub fn with_capacity_ms(rate: SampleRate, capacity_ms: u64) -> Self {
        let capacity =
            usize::try_from(capacity_ms.saturating_mul(u64::from(rate.hz())) / 1000).unwrap_or(usize::MAX);
        PlayoutQueue {
            rate,
            frame_len: rate.frame_len(),
            utterances: VecDeque::new(),
            pending_total: 0,
            capacity,
            closed: HashMap::new(),
            closed_order: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The queue's sample rate.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Appends `samples` (at the queue's rate) to utterance `id`, opening it (interruptible) if
    /// new. An empty slice just opens it.
    pub fn enqueue(&mut self, id: UtteranceId, samples: &[i16]) -> Result<(), VoiceError> {
        self.enqueue_inner(id, None, samples)
    }

    /// As [`enqueue`](Self::enqueue), with options for a new utterance; errors if `id` is open
    /// with other options.
    pub fn enqueue_with(
        &mut self,
        id: UtteranceId,
        options: UtteranceOptions,
        samples: &[i16],
    ) -> Result<(), VoiceError> {
        self.enqueue_inner(id, Some(options), samples)
    }

    /// Appends an [`AudioFrame`]-shaped chunk, checking its rate.
    pub fn enqueue_frame(&mut self, id: UtteranceId, chunk: &AudioFrame) -> Result<(), VoiceError> {
        if chunk.rate != self.rate {
            return Err(VoiceError::RateMismatch { expected: self.rate, got: chunk.rate });
        }
        self.enqueue_inner(id, None, &chunk.samples)
    }

    fn enqueue_inner(
        &mut self,
        id: UtteranceId,
        options: Option<UtteranceOptions>,
        samples: &[i16],
    ) -> Result<(), VoiceError> {
        if let Some(&reason) = self.closed.get(&id) {
            return Err(VoiceError::UtteranceClosed { id, reason });
        }
        if self.pending_total.saturating_add(samples.len()) > self.capacity {
            return Err(VoiceError::QueueFull { capacity_ms: self.samples_to_ms(self.capacity as u64) });
        }
        let u = match self.utterances.iter_mut().position(|u| u.id == id) {
            Some(i) => {
                // `i` came from `position` over the same deque, nothing removed since.
                let Some(u) = self.utterances.get_mut(i) else {
                    return Err(VoiceError::UnknownUtterance(id));
                };
                if u.complete {
                    return Err(VoiceError::UtteranceClosed { id, reason: ClosedReason::Finished });
                }
                if options.is_some_and(|o| o != u.options) {
                    return Err(VoiceError::OptionsMismatch(id));
                }
                u
            }
            None => {
                self.utterances.push_back(Utterance {
                    id,
                    options: options.unwrap_or_default(),
                    pending: VecDeque::new(),
                    queued: 0,
                    played: 0,
                    started: false,
                    complete: false,
                });
                let Some(u) = self.utterances.back_mut() else {
                    return Err(VoiceError::UnknownUtterance(id));
                };
                u
            }
        };
        u.pending.extend(samples);
        u.queued += samples.len() as u64;
        self.pending_total += samples.len();
        Ok(())
    }

    /// Marks that no more audio will come for `id`: it finishes once its audio has played.
    pub fn finish_utterance(&mut self, now: Instant, id: UtteranceId) -> Result<(), VoiceError> {
        if let Some(&reason) = self.closed.get(&id) {
            return Err(VoiceError::UtteranceClosed { id, reason });
        }
        let Some(u) = self.utterances.iter_mut().find(|u| u.id == id) else {
            return Err(VoiceError::UnknownUtterance(id));
        };
        u.complete = true;
        // A head that already played everything (it was waiting in underrun) finishes now.
        if self.utterances.front().is_some_and(|h| h.id == id && h.started && h.pending.is_empty()) {
            self.finish_head(now);
        }
        Ok(())
    }

    /// The next 20 ms frame to send at `now`, or a silence marker.
    pub fn pop_frame(&mut self, now: Instant) -> Playout {
        loop {
            let frame_len = self.frame_len;
            let Some(head) = self.utterances.front_mut() else {
                return Playout::Silence(SilenceReason::Idle);
            };
            let available = head.pending.len();
            if available >= frame_len || (head.complete && available > 0) {
                if !head.started {
                    head.started = true;
                    self.events.push_back(PlayoutEvent::Started { utterance: head.id, at: now });
                }
                let n = available.min(frame_len);
                let mut samples: Vec<i16> = head.pending.drain(..n).collect();
                samples.resize(frame_len, 0);
                head.played += n as u64;
                let utterance = head.id;
                let done = head.complete && head.pending.is_empty();
                self.pending_total -= n;
                if done {
                    self.finish_head(now + Duration::from_millis(u64::from(frontdesk_types::FRAME_MS)));
                }
                let frame = AudioFrame { rate: self.rate, samples };
                return Playout::Audio(PlayoutFrame { utterance, frame, audio_samples: n });
            }
            if head.complete {
                // Complete and empty: an utterance without audio. Report it and move on.
                if !head.started {
                    head.started = true;
                    self.events.push_back(PlayoutEvent::Started { utterance: head.id, at: now });
                }
                self.finish_head(now);
                continue;
            }
            return Playout::Silence(SilenceReason::Underrun(head.id));
        }
    }

    fn finish_head(&mut self, at: Instant) {
        if let Some(u) = self.utterances.pop_front() {
            self.pending_total -= u.pending.len();
            let played_ms = self.samples_to_ms(u.played);
            self.events.push_back(PlayoutEvent::Finished { utterance: u.id, at, played_ms });
            self.remember_closed(u.id, ClosedReason::Finished);
        }
    }

    /// Barge-in: drops every interruptible utterance (playing or queued) at once and reports,
    /// per dropped utterance, what was played and queued. Non-interruptible ones stay, in order.
    pub fn flush(&mut self, now: Instant) -> Vec<FlushReport> {
        let mut reports = Vec::new();
        let mut kept = VecDeque::new();
        for u in std::mem::take(&mut self.utterances) {
            if !u.options.interruptible {
                kept.push_back(u);
                continue;
            }
            self.pending_total -= u.pending.len();
            let report = FlushReport {
                utterance: u.id,
                played_ms: self.samples_to_ms(u.played),
                queued_ms: self.samples_to_ms(u.queued),
            };
            self.events.push_back(PlayoutEvent::Interrupted {
                utterance: u.id,
                at: now,
                played_ms: report.played_ms,
                queued_ms: report.queued_ms,
            });
            self.remember_closed(u.id, ClosedReason::Interrupted);
            reports.push(report);
        }
        self.utterances = kept;
        reports
    }

    /// The next lifecycle event, oldest first; `None` once drained.
    pub fn poll_event(&mut self) -> Option<PlayoutEvent> {
        self.events.pop_front()
    }

    /// The utterance whose audio is playing (or waiting at the head), if any.
    pub fn head(&self) -> Option<UtteranceId> {
        self.utterances.front().map(|u| u.id)
    }

    /// Whether nothing is queued (no utterance open).
    pub fn is_empty(&self) -> bool {
        self.utterances.is_empty()
    }

    /// Milliseconds of audio queued and not yet played.
    pub fn pending_ms(&self) -> u64 {
        self.samples_to_ms(self.pending_total as u64)
    }

    fn samples_to_ms(&self, samples: u64) -> u64 {
        samples * 1000 / u64::from(self.rate.hz())
    }

    fn remember_closed(&mut self, id: UtteranceId, reason: ClosedReason) {
        if self.closed.insert(id, reason).is_none() {
            self.closed_order.push_back(id);
        }
        while self.closed_order.len() > CLOSED_MEMORY {
            if let Some(old) = self.closed_order.pop_front() {
                self.closed.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U1: UtteranceId = UtteranceId(1);
    const U2: UtteranceId = UtteranceId(2);

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn events(q: &mut PlayoutQueue) -> Vec<PlayoutEvent> {
        std::iter::from_fn(|| q.poll_event()).collect()
    }

    fn audio(p: &Playout) -> (UtteranceId, usize) {
        match p {
            Playout::Audio(f) => (f.utterance, f.audio_samples),
            Playout::Silence(r) => panic!("expected audio, got silence {r:?}"),
        }
    }

    #[test]
    fn reframes_chunks_and_reports_lifecycle() {
        let mut q = PlayoutQueue::new(SampleRate::Hz8000);
        assert_eq!(q.pop_frame(t(0)), Playout::Silence(SilenceReason::Idle));
        // 50 ms in chunks of 13, 200 and 187 samples.
        q.enqueue(U1, &[1; 13]).unwrap();
        q.enqueue(U1, &[2; 200]).unwrap();
        assert_eq!(q.pending_ms(), 26);
        let p = q.pop_frame(t(0));
        assert_eq!(audio(&p), (U1, 160));
        let Playout::Audio(f) = p else { unreachable!() };
        assert_eq!(&f.frame.samples[..14], &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
        // 53 samples left, utterance still streaming: underrun, not padding.
        assert_eq!(q.pop_frame(t(20)), Playout::Silence(SilenceReason::Underrun(U1)));
        q.enqueue(U1, &[3; 187]).unwrap();
        q.finish_utterance(t(40), U1).unwrap();
        assert_eq!(audio(&q.pop_frame(t(40))), (U1, 160));
        // Last 80 samples, padded to a frame.
        let p = q.pop_frame(t(60));
        assert_eq!(audio(&p), (U1, 80));
        let Playout::Audio(f) = p else { unreachable!() };
        assert_eq!(f.frame.samples.len(), 160);
        assert!(f.frame.samples[80..].iter().all(|&s| s == 0));
        assert_eq!(
            events(&mut q),
            [
                PlayoutEvent::Started { utterance: U1, at: t(0) },
                PlayoutEvent::Finished { utterance: U1, at: t(80), played_ms: 50 },
            ]
        );
        assert!(q.pop_frame(t(80)).is_silence());
        assert_eq!(
            q.enqueue(U1, &[0; 160]),
            Err(VoiceError::UtteranceClosed { id: U1, reason: ClosedReason::Finished })
        );
    }

    #[test]
    fn flush_reports_played_and_queued_and_silences() {
        let mut q = PlayoutQueue::new(SampleRate::Hz8000);
        q.enqueue(U1, &[5; 1600]).unwrap(); // 200 ms
        q.enqueue(U2, &[6; 800]).unwrap(); // 100 ms, behind U1
        for i in 0..3 {
            assert_eq!(audio(&q.pop_frame(t(i * 20))).0, U1);
        }
        let reports = q.flush(t(60));
        assert_eq!(
            reports,
            [
                FlushReport { utterance: U1, played_ms: 60, queued_ms: 200 },
                FlushReport { utterance: U2, played_ms: 0, queued_ms: 100 },
            ]
        );
        assert_eq!(q.pop_frame(t(60)), Playout::Silence(SilenceReason::Idle));
        assert_eq!(q.pending_ms(), 0);
        let ev = events(&mut q);
        assert_eq!(ev.len(), 3);
        assert_eq!(
            ev[1],
            PlayoutEvent::Interrupted { utterance: U1, at: t(60), played_ms: 60, queued_ms: 200 }
        );
        // Late TTS chunks for the flushed utterance are refused, with the reason.
        assert_eq!(
            q.enqueue(U2, &[0; 10]),
            Err(VoiceError::UtteranceClosed { id: U2, reason: ClosedReason::Interrupted })
        );
    }

    #[test]
    fn non_interruptible_audio_survives_flush() {
        let mut q = PlayoutQueue::new(SampleRate::Hz8000);
        q.enqueue(U1, &[1; 320]).unwrap();
        q.enqueue_with(U2, UtteranceOptions::non_interruptible(), &[2; 320]).unwrap();
        q.finish_utterance(t(0), U2).unwrap();
        q.enqueue(UtteranceId(3), &[3; 320]).unwrap();
        assert_eq!(audio(&q.pop_frame(t(0))).0, U1);
        let dropped: Vec<_> = q.flush(t(20)).iter().map(|r| r.utterance).collect();
        assert_eq!(dropped, [U1, UtteranceId(3)]);
        assert_eq!(audio(&q.pop_frame(t(20))).0, U2);
        assert_eq!(audio(&q.pop_frame(t(40))).0, U2);
        assert!(q.pop_frame(t(60)).is_silence());
        assert_eq!(
            q.enqueue_with(UtteranceId(4), UtteranceOptions::default(), &[]).and_then(|()| q.enqueue_with(
                UtteranceId(4),
                UtteranceOptions::non_interruptible(),
                &[]
            )),
            Err(VoiceError::OptionsMismatch(UtteranceId(4)))
        );
    }

    #[test]
    fn empty_and_late_finished_utterances() {
        let mut q = PlayoutQueue::new(SampleRate::Hz8000);
        q.enqueue(U1, &[]).unwrap();
        q.finish_utterance(t(0), U1).unwrap();
        q.enqueue(U2, &[9; 160]).unwrap();
        assert_eq!(audio(&q.pop_frame(t(0))).0, U2);
        assert_eq!(
            events(&mut q),
            [
                PlayoutEvent::Started { utterance: U1, at: t(0) },
                PlayoutEvent::Finished { utterance: U1, at: t(0), played_ms: 0 },
                PlayoutEvent::Started { utterance: U2, at: t(0) },
            ]
        );
        // U2 drained while streaming; finishing it later reports Finished at that time.
        assert!(q.pop_frame(t(20)).is_silence());
        q.finish_utterance(t(35), U2).unwrap();
        assert_eq!(events(&mut q), [PlayoutEvent::Finished { utterance: U2, at: t(35), played_ms: 20 }]);
        assert_eq!(
            q.finish_utterance(t(40), UtteranceId(9)),
            Err(VoiceError::UnknownUtterance(UtteranceId(9)))
        );
    }

    #[test]
    fn capacity_and_rate_are_enforced() {
        let mut q = PlayoutQueue::with_capacity_ms(SampleRate::Hz16000, 100);
        q.enqueue(U1, &[0; 1600]).unwrap();
        assert_eq!(q.enqueue(U1, &[0; 1]), Err(VoiceError::QueueFull { capacity_ms: 100 }));
        let chunk = AudioFrame::silence(SampleRate::Hz8000);
        assert_eq!(
            q.enqueue_frame(U1, &chunk),
            Err(VoiceError::RateMismatch { expected: SampleRate::Hz16000, got: SampleRate::Hz8000 })
        );
        assert_eq!(audio(&q.pop_frame(t(0))), (U1, 320));
        assert!(q.enqueue_frame(U1, &AudioFrame::silence(SampleRate::Hz16000)).is_ok());
    }
}
