//! [`DtmfDetector`]: the push/poll state machine over per-block classifications.
//!
//! Blocks come from [`crate::analysis`]; the detector confirms a digit after
//! [`Thresholds::hits_to_begin`] consecutive blocks agree (default 2: tones of 34 ms or more
//! always pass, 20 ms or less never) and ends it after [`Thresholds::misses_to_end`]
//! consecutive blocks without it (default 3: a gap of 38 ms, about the Q.24 minimum
//! inter-digit pause of 40 ms). A single block lost to a noise burst in the
//! middle of a tone therefore neither ends the digit nor reports it twice.

use std::collections::VecDeque;
use std::time::Duration;

use frontdesk_types::{AudioFrame, Digit, Instant, SampleRate};

use crate::DtmfError;
use crate::analysis::{BLOCK_LEN, BlockAnalyzer, Thresholds, classify};

/// Microseconds per sample at 8 kHz.
const SAMPLE_US: u64 = 125;

/// A digit detected in the audio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtmfEvent {
    /// A digit was confirmed. `start` is when its first hit block began (the report comes about
    /// 25 ms later, once the hits are confirmed).
    Started {
        /// The key.
        digit: Digit,
        /// Start of the tone (first sample of the first block that carried it).
        start: Instant,
    },
    /// The digit's tone stopped (or the stream was [`finish`](DtmfDetector::finish)ed).
    Ended {
        /// The key.
        digit: Digit,
        /// Start of the tone, as in `Started`.
        start: Instant,
        /// End of the last block that carried the tone.
        end: Instant,
    },
}

impl DtmfEvent {
    /// The key this event is about.
    pub fn digit(&self) -> Digit {
        match *self {
            DtmfEvent::Started { digit, .. } | DtmfEvent::Ended { digit, .. } => digit,
        }
    }

    /// The tone's duration, for `Ended` (block resolution: 12.75 ms).
    pub fn duration(&self) -> Option<Duration> {
        match *self {
            DtmfEvent::Started { .. } => None,
            DtmfEvent::Ended { start, end, .. } => Some(end - start),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Active {
    digit: Digit,
    start: Instant,
    last_hit_end: Instant,
    misses: u8,
}

#[derive(Clone, Copy, Debug)]
struct Candidate {
    digit: Digit,
    hits: u8,
    start: Instant,
}

/// In-band DTMF detector for 8 kHz mono PCM. See the crate docs for the drain contract.
#[derive(Clone, Debug)]
pub struct DtmfDetector {
    thresholds: Thresholds,
    analyzer: BlockAnalyzer,
    /// Instant of the first sample of the block being filled.
    block_start: Instant,
    active: Option<Active>,
    candidate: Option<Candidate>,
    events: VecDeque<DtmfEvent>,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        DtmfDetector::new()
    }
}

impl DtmfDetector {
    /// A detector with the tuned [`Thresholds::default`].
    pub fn new() -> Self {
        DtmfDetector {
            thresholds: Thresholds::default(),
            analyzer: BlockAnalyzer::new(),
            block_start: Instant::ZERO,
            active: None,
            candidate: None,
            events: VecDeque::new(),
        }
    }

    /// A detector with custom thresholds, checked for sense.
    pub fn with_thresholds(thresholds: Thresholds) -> Result<Self, DtmfError> {
        let t = &thresholds;
        let finite = [
            t.min_tone_dbfs,
            t.max_normal_twist_db,
            t.max_reverse_twist_db,
            t.min_relative_peak_db,
            t.min_energy_ratio,
        ];
        if finite.iter().any(|v| !v.is_finite())
            || t.min_row_harmonic_db.is_nan()
            || t.min_col_harmonic_db.is_nan()
        {
            return Err(DtmfError::InvalidThresholds("levels and ratios must be finite numbers"));
        }
        if t.hits_to_begin == 0 || t.misses_to_end == 0 {
            return Err(DtmfError::InvalidThresholds("hits_to_begin and misses_to_end must be at least 1"));
        }
        if !(0.0..=1.0).contains(&t.min_energy_ratio) {
            return Err(DtmfError::InvalidThresholds("min_energy_ratio must be within 0..=1"));
        }
        Ok(DtmfDetector { thresholds, ..DtmfDetector::new() })
    }

    /// The thresholds in use.
    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// Feeds 8 kHz samples of any count; `now` is the instant of `samples[0]`. Events become
    /// available from [`poll_event`](Self::poll_event).
    pub fn push(&mut self, now: Instant, samples: &[i16]) {
        let mut rest = samples;
        let mut at = now;
        while !rest.is_empty() {
            if self.analyzer.filled() == 0 {
                self.block_start = at;
            }
            let n = self.analyzer.feed(rest);
            at += Duration::from_micros(n as u64 * SAMPLE_US);
            rest = rest.get(n..).unwrap_or_default();
            if self.analyzer.is_full() {
                let powers = self.analyzer.take();
                let hit = classify(&powers, &self.thresholds);
                let end = self.block_start + Duration::from_micros(BLOCK_LEN as u64 * SAMPLE_US);
                self.on_block(hit, self.block_start, end);
            }
        }
    }

    /// Feeds one [`AudioFrame`]; it must be 8 kHz.
    pub fn push_frame(&mut self, now: Instant, frame: &AudioFrame) -> Result<(), DtmfError> {
        if frame.rate != SampleRate::Hz8000 {
            return Err(DtmfError::UnsupportedRate(frame.rate));
        }
        self.push(now, &frame.samples);
        Ok(())
    }

    /// The next event, oldest first; `None` once drained.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.events.pop_front()
    }

    /// The digit currently sounding (confirmed and not yet ended), if any.
    pub fn current(&self) -> Option<Digit> {
        self.active.map(|a| a.digit)
    }

    /// Ends the stream: a digit still sounding gets its `Ended` event (at its last hit block), the
    /// partial block is discarded, and the detector is ready for a new stream.
    pub fn finish(&mut self) {
        if let Some(a) = self.active.take() {
            self.events.push_back(DtmfEvent::Ended { digit: a.digit, start: a.start, end: a.last_hit_end });
        }
        self.candidate = None;
        self.analyzer.reset();
    }

    fn on_block(&mut self, hit: Option<Digit>, start: Instant, end: Instant) {
        if let Some(a) = self.active.as_mut() {
            if hit == Some(a.digit) {
                a.misses = 0;
                a.last_hit_end = end;
                self.candidate = None;
                return;
            }
            a.misses = a.misses.saturating_add(1);
        }
        self.candidate = match (hit, self.candidate) {
            (Some(d), Some(c)) if c.digit == d => Some(Candidate { hits: c.hits.saturating_add(1), ..c }),
            (Some(d), _) => Some(Candidate { digit: d, hits: 1, start }),
            (None, _) => None,
        };
        if let Some(a) = self.active
            && a.misses >= self.thresholds.misses_to_end
        {
            self.events.push_back(DtmfEvent::Ended { digit: a.digit, start: a.start, end: a.last_hit_end });
            self.active = None;
        }
        if self.active.is_none()
            && let Some(c) = self.candidate
            && c.hits >= self.thresholds.hits_to_begin
        {
            self.events.push_back(DtmfEvent::Started { digit: c.digit, start: c.start });
            self.active = Some(Active { digit: c.digit, start: c.start, last_hit_end: end, misses: 0 });
            self.candidate = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DtmfGenerator, ToneSpec};

    /// Feeds `samples` in frames of `frame` samples starting at t=0; returns all events.
    fn run(det: &mut DtmfDetector, samples: &[i16], frame: usize) -> Vec<DtmfEvent> {
        let mut out = Vec::new();
        for (i, chunk) in samples.chunks(frame).enumerate() {
            det.push(Instant::from_micros((i * frame) as u64 * SAMPLE_US), chunk);
            while let Some(e) = det.poll_event() {
                out.push(e);
            }
        }
        det.finish();
        out.extend(std::iter::from_fn(|| det.poll_event()));
        out
    }

    fn started(events: &[DtmfEvent]) -> String {
        events
            .iter()
            .filter(|e| matches!(e, DtmfEvent::Started { .. }))
            .map(|e| e.digit().as_char())
            .collect()
    }

    #[test]
    fn decodes_all_keys_with_any_frame_size() {
        let audio = DtmfGenerator::render(ToneSpec::default(), "0123456789*#ABCD").unwrap();
        for frame in [1, 7, 102, 160, 333, 4000] {
            let ev = run(&mut DtmfDetector::new(), &audio, frame);
            assert_eq!(started(&ev), "0123456789*#ABCD", "frame size {frame}");
            assert_eq!(ev.len(), 32, "one Started and one Ended per digit");
        }
    }

    #[test]
    fn timing_of_events_follows_the_tone() {
        // 100 ms of silence, then "7" for 100 ms.
        let mut audio = vec![0i16; 800];
        audio.extend(DtmfGenerator::render(ToneSpec::default(), "7").unwrap());
        let ev = run(&mut DtmfDetector::new(), &audio, 160);
        let [DtmfEvent::Started { start, .. }, end @ DtmfEvent::Ended { start: s2, .. }] = ev[..] else {
            panic!("unexpected events {ev:?}");
        };
        assert_eq!(start, s2);
        // The tone starts at 100 ms; the first full hit block starts within one block of it.
        let start_ms = start.as_micros() as f64 / 1000.0;
        assert!((100.0..=113.0).contains(&start_ms), "start {start_ms} ms");
        let dur = end.duration().unwrap().as_millis();
        assert!((88..=113).contains(&dur), "duration {dur} ms");
    }

    #[test]
    fn short_tones_and_short_gaps() {
        // 20 ms tones are below the minimum (Q.24: must not operate on <= 20 ms).
        let short = ToneSpec { tone_ms: 20, gap_ms: 60, ..ToneSpec::default() };
        let ev = run(&mut DtmfDetector::new(), &DtmfGenerator::render(short, "123").unwrap(), 160);
        assert_eq!(started(&ev), "");
        // 50 ms tones with 50 ms gaps, repeated key: every press counts.
        let fast = ToneSpec { tone_ms: 50, gap_ms: 50, ..ToneSpec::default() };
        let ev = run(&mut DtmfDetector::new(), &DtmfGenerator::render(fast, "11223#").unwrap(), 160);
        assert_eq!(started(&ev), "11223#");
    }

    #[test]
    fn a_dropout_inside_a_tone_does_not_split_the_digit() {
        let mut audio = DtmfGenerator::render(ToneSpec { tone_ms: 200, ..ToneSpec::default() }, "4").unwrap();
        // 15 ms of silence in the middle of the tone (at most two blocks miss).
        audio[800..920].fill(0);
        let ev = run(&mut DtmfDetector::new(), &audio, 160);
        assert_eq!(started(&ev), "4");
        // A 60 ms hole does split it.
        audio[800..1280].fill(0);
        let ev = run(&mut DtmfDetector::new(), &audio, 160);
        assert_eq!(started(&ev), "44");
    }

    #[test]
    fn finish_closes_a_sounding_digit() {
        let audio = DtmfGenerator::render(ToneSpec { tone_ms: 300, ..ToneSpec::default() }, "9").unwrap();
        let mut det = DtmfDetector::new();
        det.push(Instant::ZERO, audio.get(..1600).unwrap());
        assert_eq!(det.current(), Digit::from_char('9').ok());
        det.finish();
        assert_eq!(det.current(), None);
        let ev: Vec<_> = std::iter::from_fn(|| det.poll_event()).collect();
        assert!(matches!(ev[..], [DtmfEvent::Started { .. }, DtmfEvent::Ended { .. }]), "{ev:?}");
    }

    #[test]
    fn frames_at_other_rates_and_bad_thresholds_are_errors() {
        let mut det = DtmfDetector::new();
        let frame = AudioFrame::silence(SampleRate::Hz16000);
        assert_eq!(
            det.push_frame(Instant::ZERO, &frame),
            Err(DtmfError::UnsupportedRate(SampleRate::Hz16000))
        );
        assert!(det.push_frame(Instant::ZERO, &AudioFrame::silence(SampleRate::Hz8000)).is_ok());
        let bad = Thresholds { hits_to_begin: 0, ..Thresholds::default() };
        assert!(matches!(DtmfDetector::with_thresholds(bad), Err(DtmfError::InvalidThresholds(_))));
        let bad = Thresholds { min_energy_ratio: f32::NAN, ..Thresholds::default() };
        assert!(DtmfDetector::with_thresholds(bad).is_err());
        assert!(DtmfDetector::with_thresholds(Thresholds::naive()).is_ok());
    }
}
