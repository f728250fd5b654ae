//! [`DtmfGenerator`]: in-band DTMF tones for sending digits as audio (when the far end has no
//! RFC 4733 telephone-event), 8 kHz mono.
//!
//! Each queued digit becomes `tone_ms` of the two Q.23 sines followed by `gap_ms` of silence.
//! The generator is pulled: [`DtmfGenerator::fill`] writes the next samples into the caller's
//! frame, so it slots into the same 20 ms loop as the playout queue.

use std::collections::VecDeque;

use frontdesk_types::Digit;

use crate::DtmfError;

const RATE: f64 = 8000.0;

/// Shape of generated digits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ToneSpec {
    /// Tone duration, ms (Q.24 receivers need 40 ms; 70-100 ms is customary).
    pub tone_ms: u32,
    /// Silence after each tone, ms (at least 40 ms).
    pub gap_ms: u32,
    /// Level of each of the two tones, dBFS (a full-scale sine is 0 dBFS); at most -6.02 so the
    /// pair cannot clip.
    pub level_dbfs: f32,
    /// How far the high tone is above the low one, dB (positive: normal twist).
    pub twist_db: f32,
}

impl Default for ToneSpec {
    /// 100 ms tone, 100 ms gap, -9 dBFS per tone, no twist: what PBXs commonly send, and what
    /// the tests generate with sox.
    fn default() -> Self {
        ToneSpec { tone_ms: 100, gap_ms: 100, level_dbfs: -9.0, twist_db: 0.0 }
    }
}

/// Pull-based DTMF tone generator.
#[derive(Clone, Debug)]
pub struct DtmfGenerator {
    tone_len: usize,
    gap_len: usize,
    amp_low: f64,
    amp_high: f64,
    queue: VecDeque<Digit>,
    /// Sample index within the current digit (tone then gap).
    pos: usize,
}

impl DtmfGenerator {
    /// A generator for `spec`; errors on a level that would clip or a tone shorter than 10 ms.
    pub fn new(spec: ToneSpec) -> Result<Self, DtmfError> {
        if !spec.level_dbfs.is_finite() || !spec.twist_db.is_finite() {
            return Err(DtmfError::InvalidToneSpec("level and twist must be finite"));
        }
        let amp_low = 10f64.powf(f64::from(spec.level_dbfs) / 20.0);
        let amp_high = amp_low * 10f64.powf(f64::from(spec.twist_db) / 20.0);
        if amp_low + amp_high > 1.0 {
            return Err(DtmfError::InvalidToneSpec("the two tones together exceed full scale"));
        }
        if spec.tone_ms < 10 || spec.tone_ms > 10_000 || spec.gap_ms > 10_000 {
            return Err(DtmfError::InvalidToneSpec("tone_ms must be 10..=10000 and gap_ms at most 10000"));
        }
        Ok(DtmfGenerator {
            tone_len: spec.tone_ms as usize * 8,
            gap_len: spec.gap_ms as usize * 8,
            amp_low,
            amp_high,
            queue: VecDeque::new(),
            pos: 0,
        })
    }

    /// Queues one digit.
    pub fn queue_digit(&mut self, digit: Digit) {
        self.queue.push_back(digit);
    }

    /// Queues the keys of `digits` (0-9, *, #, A-D; nothing is queued if any is invalid).
    pub fn queue_str(&mut self, digits: &str) -> Result<(), DtmfError> {
        let parsed = digits.chars().map(Digit::from_char).collect::<Result<Vec<_>, _>>()?;
        self.queue.extend(parsed);
        Ok(())
    }

    /// Whether every queued digit (with its gap) has been written.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    /// Samples still to be written for the queued digits.
    pub fn remaining_samples(&self) -> usize {
        (self.queue.len() * (self.tone_len + self.gap_len)).saturating_sub(self.pos)
    }

    /// Writes the next samples into `out`. Returns how many came from queued digits; the rest of
    /// `out` (once the queue is empty) is set to silence.
    pub fn fill(&mut self, out: &mut [i16]) -> usize {
        let per_digit = self.tone_len + self.gap_len;
        let mut written = 0;
        for slot in out.iter_mut() {
            let Some(&digit) = self.queue.front() else {
                *slot = 0;
                continue;
            };
            *slot = if self.pos < self.tone_len { self.sample(digit, self.pos) } else { 0 };
            written += 1;
            self.pos += 1;
            if self.pos >= per_digit {
                self.pos = 0;
                self.queue.pop_front();
            }
        }
        written
    }

    fn sample(&self, digit: Digit, n: usize) -> i16 {
        let (lo, hi) = digit.frequencies();
        let t = n as f64 / RATE;
        let w = 2.0 * std::f64::consts::PI * t;
        let v = self.amp_low * (w * f64::from(lo)).sin() + self.amp_high * (w * f64::from(hi)).sin();
        // `new` checked amp_low + amp_high <= 1, so |v * 32767| <= 32767 fits; `as` saturates anyway.
        (v * 32767.0).round() as i16
    }

    /// Renders `digits` with `spec` into one buffer.
    pub fn render(spec: ToneSpec, digits: &str) -> Result<Vec<i16>, DtmfError> {
        let mut g = DtmfGenerator::new(spec)?;
        g.queue_str(digits)?;
        let mut out = vec![0; g.remaining_samples()];
        g.fill(&mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_specs_and_digits() {
        let loud = ToneSpec { level_dbfs: -3.0, ..ToneSpec::default() };
        assert!(matches!(DtmfGenerator::new(loud), Err(DtmfError::InvalidToneSpec(_))));
        let short = ToneSpec { tone_ms: 5, ..ToneSpec::default() };
        assert!(matches!(DtmfGenerator::new(short), Err(DtmfError::InvalidToneSpec(_))));
        let nan = ToneSpec { level_dbfs: f32::NAN, ..ToneSpec::default() };
        assert!(DtmfGenerator::new(nan).is_err());
        let mut g = DtmfGenerator::new(ToneSpec::default()).unwrap();
        assert!(matches!(g.queue_str("12x"), Err(DtmfError::InvalidDigit(_))));
        assert!(g.is_idle(), "nothing queued after an invalid string");
    }

    #[test]
    fn fills_frames_with_tone_then_gap_then_silence() {
        let mut g = DtmfGenerator::new(ToneSpec { tone_ms: 40, gap_ms: 40, ..ToneSpec::default() }).unwrap();
        g.queue_str("5").unwrap();
        assert_eq!(g.remaining_samples(), 640);
        let mut frame = [1i16; 160];
        assert_eq!(g.fill(&mut frame), 160);
        // Tone for the first 320 samples: peak near 2 * 10^(-9/20) * 32767 = 23200.
        let peak = frame.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((20_000..=23_300).contains(&peak), "peak {peak}");
        assert_eq!(g.fill(&mut frame), 160);
        assert_eq!(g.fill(&mut frame), 160);
        assert!(frame.iter().all(|&s| s == 0), "gap is silent");
        assert_eq!(g.fill(&mut frame), 160);
        assert!(g.is_idle());
        let mut frame = [7i16; 160];
        assert_eq!(g.fill(&mut frame), 0);
        assert!(frame.iter().all(|&s| s == 0));
    }
}
