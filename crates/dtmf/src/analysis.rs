//! Per-block Goertzel analysis: which digit (if any) one block of samples carries.
//!
//! A block is [`BLOCK_LEN`] samples (102 at 8 kHz, 12.75 ms), the size spandsp and Asterisk use:
//! long enough that adjacent DTMF frequencies (73 Hz apart at the closest) fall about one
//! Goertzel bin apart, short enough that a 40 ms tone fills at least two whole blocks.
//!
//! For each block the analyser runs 16 Goertzel filters (the 8 DTMF fundamentals and their
//! second harmonics) and the block's total energy, then applies the checks of
//! [`Thresholds`]. All levels are mean-square power relative to a full-scale sine, so a tone of
//! amplitude `A` (full scale = 1.0) reads `A^2 / 2`, and "dBFS" below means `10 log10(A^2)`.

use frontdesk_types::Digit;

/// Samples per analysis block (8 kHz).
pub const BLOCK_LEN: usize = 102;

/// Sample rate the analyser works at.
pub(crate) const RATE_HZ: f32 = 8000.0;

/// Low-group (row) frequencies, Hz (ITU-T Q.23).
pub(crate) const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies, Hz.
pub(crate) const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// Keys by `row * 4 + col`.
const KEYS: [char; 16] = ['1', '2', '3', 'A', '4', '5', '6', 'B', '7', '8', '9', 'C', '*', '0', '#', 'D'];

/// The detection thresholds. [`Thresholds::default`] holds the tuned values (see the crate docs
/// for how they were chosen); [`Thresholds::naive`] turns every check off except the level and
/// twist tests, for comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Minimum level of each of the two tones, dBFS per tone (a full-scale sine is 0 dBFS).
    pub min_tone_dbfs: f32,
    /// Normal twist: how far the high (column) tone may be above the low (row) tone, dB.
    pub max_normal_twist_db: f32,
    /// Reverse twist: how far the low (row) tone may be above the high (column) tone, dB.
    pub max_reverse_twist_db: f32,
    /// The strongest tone of each group must exceed every other tone of its group by this, dB.
    pub min_relative_peak_db: f32,
    /// The second harmonic of the row tone must be this far below the row tone, dB. Kept low:
    /// the row harmonics (1394, 1540, 1704 Hz) sit within one bin of column tones, whose
    /// leakage reads about 10 dB below the column tone.
    pub min_row_harmonic_db: f32,
    /// The second harmonic of the column tone must be this far below the column tone, dB.
    pub min_col_harmonic_db: f32,
    /// The two tones together must carry at least this fraction of the block's energy.
    pub min_energy_ratio: f32,
    /// Consecutive blocks with the same digit before it is reported (hit confirmation).
    pub hits_to_begin: u8,
    /// Consecutive blocks without the digit before it is considered ended (the inter-digit gap).
    pub misses_to_end: u8,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_tone_dbfs: -36.0,
            max_normal_twist_db: 8.0,
            max_reverse_twist_db: 8.0,
            min_relative_peak_db: 8.0,
            min_row_harmonic_db: 3.0,
            min_col_harmonic_db: 15.0,
            min_energy_ratio: 0.8,
            hits_to_begin: 2,
            misses_to_end: 3,
        }
    }
}

impl Thresholds {
    /// A naive detector: level and twist only, a single block is a digit, a single miss ends it.
    /// Kept to measure what the other checks buy (talk-off on speech).
    pub fn naive() -> Self {
        Thresholds {
            min_relative_peak_db: 0.0,
            min_row_harmonic_db: f32::NEG_INFINITY,
            min_col_harmonic_db: f32::NEG_INFINITY,
            min_energy_ratio: 0.0,
            hits_to_begin: 1,
            misses_to_end: 1,
            ..Thresholds::default()
        }
    }
}

/// One Goertzel filter at a fixed frequency.
#[derive(Clone, Copy, Debug)]
struct Goertzel {
    coeff: f32,
    s1: f32,
    s2: f32,
}

impl Goertzel {
    fn new(hz: f32) -> Self {
        Goertzel { coeff: 2.0 * (2.0 * std::f32::consts::PI * hz / RATE_HZ).cos(), s1: 0.0, s2: 0.0 }
    }

    #[inline]
    fn update(&mut self, x: f32) {
        let s = x + self.coeff * self.s1 - self.s2;
        self.s2 = self.s1;
        self.s1 = s;
    }

    /// Mean-square power of the tone over `n` samples (A^2/2 for a sine of amplitude A), and reset.
    fn take_power(&mut self, n: usize) -> f32 {
        let mag2 = self.s1 * self.s1 + self.s2 * self.s2 - self.coeff * self.s1 * self.s2;
        self.s1 = 0.0;
        self.s2 = 0.0;
        let n = n as f32;
        2.0 * mag2.max(0.0) / (n * n)
    }
}

/// What one block measured (kept for diagnostics and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct BlockPowers {
    pub(crate) rows: [f32; 4],
    pub(crate) cols: [f32; 4],
    pub(crate) row_harmonics: [f32; 4],
    pub(crate) col_harmonics: [f32; 4],
    /// Mean-square power of the whole block.
    pub(crate) total: f32,
}

/// Accumulates samples into blocks and runs the filters.
#[derive(Clone, Debug)]
pub(crate) struct BlockAnalyzer {
    /// 0..4 rows, 4..8 columns, 8..12 row harmonics, 12..16 column harmonics.
    filters: [Goertzel; 16],
    energy: f32,
    filled: usize,
}

impl BlockAnalyzer {
    pub(crate) fn new() -> Self {
        let mut freqs = [0.0f32; 16];
        for i in 0..4 {
            freqs[i] = ROWS[i];
            freqs[4 + i] = COLS[i];
            freqs[8 + i] = 2.0 * ROWS[i];
            freqs[12 + i] = 2.0 * COLS[i];
        }
        BlockAnalyzer { filters: freqs.map(Goertzel::new), energy: 0.0, filled: 0 }
    }

    /// Samples already in the current block.
    pub(crate) fn filled(&self) -> usize {
        self.filled
    }

    /// Feeds samples until the block is full; returns how many were consumed.
    pub(crate) fn feed(&mut self, samples: &[i16]) -> usize {
        let take = samples.len().min(BLOCK_LEN - self.filled);
        for &s in samples.iter().take(take) {
            let x = f32::from(s) * (1.0 / 32768.0);
            self.energy += x * x;
            for f in &mut self.filters {
                f.update(x);
            }
        }
        self.filled += take;
        take
    }

    /// Whether a whole block has been fed.
    pub(crate) fn is_full(&self) -> bool {
        self.filled == BLOCK_LEN
    }

    /// The powers of the current block (however full), resetting for the next one.
    pub(crate) fn take(&mut self) -> BlockPowers {
        let n = self.filled.max(1);
        let mut p = BlockPowers::default();
        for i in 0..4 {
            p.rows[i] = self.filters[i].take_power(n);
            p.cols[i] = self.filters[4 + i].take_power(n);
            p.row_harmonics[i] = self.filters[8 + i].take_power(n);
            p.col_harmonics[i] = self.filters[12 + i].take_power(n);
        }
        p.total = self.energy / n as f32;
        self.energy = 0.0;
        self.filled = 0;
        p
    }

    pub(crate) fn reset(&mut self) {
        self.take();
    }
}

fn db(ratio: f32) -> f32 {
    10f32.powf(ratio / 10.0)
}

fn argmax(v: &[f32; 4]) -> usize {
    let mut best = 0;
    for i in 1..4 {
        if v[i] > v[best] {
            best = i;
        }
    }
    best
}

/// The digit one block carries under `t`, or `None`.
pub(crate) fn classify(p: &BlockPowers, t: &Thresholds) -> Option<Digit> {
    let r = argmax(&p.rows);
    let c = argmax(&p.cols);
    let (row, col) = (p.rows[r], p.cols[c]);
    // Level: A^2 = 2 * power, compared with 10^(dBFS/10).
    let min_power = db(t.min_tone_dbfs) / 2.0;
    if row < min_power || col < min_power {
        return None;
    }
    // Twist.
    if col > row * db(t.max_normal_twist_db) || row > col * db(t.max_reverse_twist_db) {
        return None;
    }
    // Relative peak within each group.
    let peak = db(t.min_relative_peak_db);
    for i in 0..4 {
        if (i != r && p.rows[i] * peak > row) || (i != c && p.cols[i] * peak > col) {
            return None;
        }
    }
    // Second harmonics (voiced speech has them, a DTMF generator does not).
    if p.row_harmonics[r] * db(t.min_row_harmonic_db) > row
        || p.col_harmonics[c] * db(t.min_col_harmonic_db) > col
    {
        return None;
    }
    // The two tones must dominate the block.
    if row + col < t.min_energy_ratio * p.total {
        return None;
    }
    KEYS.get(r * 4 + c).and_then(|&k| Digit::from_char(k).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone_block(freqs: &[(f32, f32)], offset: usize) -> Vec<i16> {
        (0..BLOCK_LEN)
            .map(|i| {
                let t = (i + offset) as f32 / RATE_HZ;
                let v: f32 = freqs.iter().map(|&(f, a)| a * (2.0 * std::f32::consts::PI * f * t).sin()).sum();
                (v * 32767.0) as i16
            })
            .collect()
    }

    fn analyse(samples: &[i16]) -> BlockPowers {
        let mut a = BlockAnalyzer::new();
        assert_eq!(a.feed(samples), BLOCK_LEN);
        assert!(a.is_full());
        a.take()
    }

    #[test]
    fn every_key_classifies_and_powers_are_calibrated() {
        for d in Digit::ALL {
            let (lo, hi) = d.frequencies();
            let block = tone_block(&[(f32::from(lo), 0.35), (f32::from(hi), 0.35)], 17);
            let p = analyse(&block);
            assert_eq!(classify(&p, &Thresholds::default()), Some(d), "{d}: {p:?}");
            // A^2/2 = 0.06125; the Goertzel estimate is within 1 dB.
            let r = p.rows[argmax(&p.rows)];
            assert!((r / 0.06125).log10().abs() < 0.1, "{d}: row power {r}");
        }
    }

    #[test]
    fn single_tones_noise_and_silence_are_rejected() {
        let t = Thresholds::default();
        assert_eq!(classify(&analyse(&[0; BLOCK_LEN]), &t), None);
        assert_eq!(classify(&analyse(&tone_block(&[(697.0, 0.5)], 0)), &t), None);
        assert_eq!(classify(&analyse(&tone_block(&[(1336.0, 0.5)], 0)), &t), None);
        // A chord of two rows plus a column fails the relative-peak test.
        let chord = tone_block(&[(697.0, 0.3), (852.0, 0.3), (1336.0, 0.3)], 0);
        assert_eq!(classify(&analyse(&chord), &t), None);
        // 12 dB of twist fails (the block estimate of twist is good to about 1 dB).
        let twisted = tone_block(&[(697.0, 0.05), (1336.0, 0.2)], 0);
        assert_eq!(classify(&analyse(&twisted), &t), None);
        // A tone pair with strong second harmonics (a voiced sound) fails.
        let voiced = tone_block(&[(770.0, 0.3), (1336.0, 0.3), (2672.0, 0.2)], 0);
        assert_eq!(classify(&analyse(&voiced), &t), None);
        // ... but the naive thresholds accept it.
        assert!(classify(&analyse(&voiced), &Thresholds::naive()).is_some());
    }

    #[test]
    fn twist_up_to_6_db_either_way_is_accepted_and_10_db_rejected() {
        let t = Thresholds::default();
        for d in Digit::ALL {
            let (lo, hi) = d.frequencies();
            let (lo, hi) = (f32::from(lo), f32::from(hi));
            for (twist, ok) in [(6.0f32, true), (-6.0, true), (10.0, false), (-10.0, false)] {
                let g = 10f32.powf(twist / 20.0);
                let block = tone_block(&[(lo, 0.3 / g.max(1.0)), (hi, 0.3 * g.min(1.0))], 40);
                let got = classify(&analyse(&block), &t);
                assert_eq!(got.is_some(), ok, "{d} twist {twist} dB: {got:?} {:?}", analyse(&block));
            }
        }
    }

    #[test]
    fn frequency_deviation_of_1_5_percent_is_accepted() {
        let t = Thresholds::default();
        for d in Digit::ALL {
            let (lo, hi) = d.frequencies();
            for dev in [0.985f32, 1.015] {
                let block = tone_block(&[(f32::from(lo) * dev, 0.3), (f32::from(hi) * dev, 0.3)], 5);
                assert_eq!(classify(&analyse(&block), &t), Some(d), "{d} at {dev}x");
            }
        }
    }

    #[test]
    fn level_threshold() {
        let t = Thresholds::default();
        let amp = |dbfs: f32| 10f32.powf(dbfs / 20.0);
        let ok = tone_block(&[(852.0, amp(-33.0)), (1477.0, amp(-33.0))], 0);
        assert_eq!(classify(&analyse(&ok), &t), Digit::from_char('9').ok());
        let quiet = tone_block(&[(852.0, amp(-40.0)), (1477.0, amp(-40.0))], 0);
        assert_eq!(classify(&analyse(&quiet), &t), None);
    }
}
