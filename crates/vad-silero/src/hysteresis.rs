//! Speech/silence decisions from per-frame speech probabilities, with start and stop hysteresis.
//!
//! Sans-IO and model-free: feed it each frame's probability and length with
//! [`Hysteresis::handle_frame`], then drain [`Hysteresis::poll_event`] until `None`. Time is
//! counted in samples of the stream (positions from the first frame fed, or from the last
//! [`Hysteresis::reset`]), so it replays identically on recorded audio and needs no clock.
//!
//! Rules:
//! - In silence, speech starts once frames at or above `start_threshold` have lasted `start_ms`
//!   without a break; a frame below it restarts the count. [`VadEvent::SpeechStart`] carries the
//!   position of the first frame of that run (so the caller's pre-roll can begin there).
//! - In speech, speech ends once frames below `stop_threshold` have lasted `stop_ms` without a
//!   break; a frame at or above it restarts the count. [`VadEvent::SpeechEnd`] carries the
//!   position where that silent run began (the end of the speech).
//! - `stop_threshold` below `start_threshold` keeps a wavering probability from toggling.
//! - [`Hysteresis::finish`] ends a stream: speech in progress ends at the last speech frame.

use std::collections::VecDeque;

/// Tuning.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HysteresisConfig {
    /// Probability at or above which a frame counts towards speech start.
    pub start_threshold: f32,
    /// Probability below which a frame counts towards speech end.
    pub stop_threshold: f32,
    /// How long speech must last before it is reported.
    pub start_ms: u32,
    /// How long silence must last before the end of speech is reported.
    pub stop_ms: u32,
}

impl Default for HysteresisConfig {
    /// Silero's usual thresholds (0.5 / 0.35), 64 ms to start (two 32 ms frames), 500 ms to stop.
    fn default() -> Self {
        HysteresisConfig { start_threshold: 0.5, stop_threshold: 0.35, start_ms: 64, stop_ms: 500 }
    }
}

/// A decision, with its position in samples from the start of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VadEvent {
    /// Speech began at this sample.
    SpeechStart {
        /// Sample position.
        at: u64,
    },
    /// Speech ended at this sample.
    SpeechEnd {
        /// Sample position.
        at: u64,
    },
}

/// The state machine.
#[derive(Clone, Debug)]
pub struct Hysteresis {
    cfg: HysteresisConfig,
    start_samples: u64,
    stop_samples: u64,
    pos: u64,
    speaking: bool,
    /// Start position and length of the current run of frames that count towards a change.
    run: Option<(u64, u64)>,
    events: VecDeque<VadEvent>,
}

impl Hysteresis {
    /// A machine for a stream at `rate_hz`.
    pub fn new(cfg: HysteresisConfig, rate_hz: u32) -> Self {
        let samples = |ms: u32| u64::from(ms) * u64::from(rate_hz) / 1000;
        Hysteresis {
            cfg,
            start_samples: samples(cfg.start_ms),
            stop_samples: samples(cfg.stop_ms),
            pos: 0,
            speaking: false,
            run: None,
            events: VecDeque::new(),
        }
    }

    /// Feeds one frame of `len` samples whose speech probability is `prob`.
    pub fn handle_frame(&mut self, prob: f32, len: usize) {
        let len = len as u64;
        let counts =
            if self.speaking { prob < self.cfg.stop_threshold } else { prob >= self.cfg.start_threshold };
        if counts {
            let (start, n) = self.run.unwrap_or((self.pos, 0));
            let n = n + len;
            let needed = if self.speaking { self.stop_samples } else { self.start_samples };
            if n >= needed {
                self.events.push_back(if self.speaking {
                    VadEvent::SpeechEnd { at: start }
                } else {
                    VadEvent::SpeechStart { at: start }
                });
                self.speaking = !self.speaking;
                self.run = None;
            } else {
                self.run = Some((start, n));
            }
        } else {
            self.run = None;
        }
        self.pos += len;
    }

    /// Ends the stream: speech in progress ends where its trailing silence began (or here).
    pub fn finish(&mut self) {
        if self.speaking {
            let at = self.run.map_or(self.pos, |(start, _)| start);
            self.events.push_back(VadEvent::SpeechEnd { at });
            self.speaking = false;
            self.run = None;
        }
    }

    /// The next decision, if any.
    pub fn poll_event(&mut self) -> Option<VadEvent> {
        self.events.pop_front()
    }

    /// Whether speech is in progress (as of the events emitted so far).
    pub fn is_speaking(&self) -> bool {
        self.speaking
    }

    /// Whether speech may be starting: in silence, the last frames count towards a speech start
    /// that `start_ms` has not confirmed yet (the caller audibly going on after a pause).
    pub fn is_starting(&self) -> bool {
        !self.speaking && self.run.is_some()
    }

    /// Samples fed since creation or the last reset.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Back to silence at position 0, dropping undrained events.
    pub fn reset(&mut self) {
        self.pos = 0;
        self.speaking = false;
        self.run = None;
        self.events.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: usize = 256; // 32 ms at 8 kHz

    fn run(h: &mut Hysteresis, probs: &[f32]) -> Vec<VadEvent> {
        let mut out = Vec::new();
        for &p in probs {
            h.handle_frame(p, FRAME);
            while let Some(e) = h.poll_event() {
                out.push(e);
            }
        }
        out
    }

    fn cfg(start_ms: u32, stop_ms: u32) -> HysteresisConfig {
        HysteresisConfig { start_threshold: 0.5, stop_threshold: 0.35, start_ms, stop_ms }
    }

    #[test]
    fn speech_starts_only_after_start_ms_above_threshold() {
        let mut h = Hysteresis::new(cfg(96, 320), 8000); // 3 frames to start
        assert_eq!(run(&mut h, &[0.1, 0.9, 0.9]), vec![]);
        assert!(!h.is_speaking());
        assert_eq!(run(&mut h, &[0.9]), vec![VadEvent::SpeechStart { at: 256 }]);
        assert!(h.is_speaking());
    }

    #[test]
    fn a_blip_shorter_than_start_ms_is_ignored_and_restarts_the_count() {
        let mut h = Hysteresis::new(cfg(96, 320), 8000);
        assert_eq!(run(&mut h, &[0.9, 0.9]), vec![]);
        assert!(h.is_starting());
        assert_eq!(run(&mut h, &[0.2]), vec![]);
        assert!(!h.is_starting());
        assert_eq!(run(&mut h, &[0.9, 0.9, 0.1]), vec![]);
        assert!(!h.is_starting());
        assert_eq!(run(&mut h, &[0.6, 0.7, 0.8]), vec![VadEvent::SpeechStart { at: 6 * 256 }]);
    }

    #[test]
    fn speech_ends_only_after_stop_ms_below_stop_threshold() {
        let mut h = Hysteresis::new(cfg(32, 320), 8000); // 10 frames to stop
        assert_eq!(run(&mut h, &[0.9]), vec![VadEvent::SpeechStart { at: 0 }]);
        // A 9-frame pause does not end it; 0.4 (between the thresholds) is still speech.
        assert_eq!(run(&mut h, &[0.1; 9]), vec![]);
        assert_eq!(run(&mut h, &[0.4, 0.4]), vec![]);
        assert_eq!(run(&mut h, &[0.1; 9]), vec![]);
        assert_eq!(run(&mut h, &[0.1]), vec![VadEvent::SpeechEnd { at: 12 * 256 }]);
        assert!(!h.is_speaking());
        assert_eq!(h.position(), 22 * 256);
    }

    #[test]
    fn thresholds_are_configurable() {
        let strict =
            HysteresisConfig { start_threshold: 0.95, stop_threshold: 0.9, start_ms: 32, stop_ms: 32 };
        let mut h = Hysteresis::new(strict, 8000);
        assert_eq!(run(&mut h, &[0.9, 0.94]), vec![]);
        assert_eq!(run(&mut h, &[0.96]), vec![VadEvent::SpeechStart { at: 512 }]);
        assert_eq!(run(&mut h, &[0.89]), vec![VadEvent::SpeechEnd { at: 768 }]);
    }

    #[test]
    fn finish_ends_speech_in_progress_and_reset_forgets() {
        let mut h = Hysteresis::new(cfg(32, 1000), 16000);
        assert_eq!(run(&mut h, &[0.9, 0.9, 0.1]), vec![VadEvent::SpeechStart { at: 0 }]);
        h.finish();
        assert_eq!(h.poll_event(), Some(VadEvent::SpeechEnd { at: 512 }));
        assert_eq!(h.poll_event(), None);
        h.finish();
        assert_eq!(h.poll_event(), None);
        run(&mut h, &[0.9]);
        h.reset();
        assert_eq!((h.position(), h.is_speaking()), (0, false));
    }
}
