//! Sans-IO measurement: what the agent sent (20 ms frames with their arrival times, voiced or
//! not) and what the caller played (clips placed on the call's time line) -> latencies, stops,
//! gaps and their distributions. No clock, no sockets: every time is in milliseconds from the
//! call's start, as the driver recorded it.
//!
//! Definitions (also in `eval/voice/README.md`):
//! - a frame is *voiced* when its RMS level is above [`VOICED_DB`] (the server sends digital
//!   silence, level -inf, when the agent has nothing to say);
//! - *voice-to-voice*: caller's last sound (`sound_end`) -> arrival of the first voiced agent
//!   frame at or after it;
//! - the agent *stopped* after a caller clip with onset `t0` and last sound `t1` when, after
//!   `t0`, its voiced frames are followed by at least `min_silence_ms` of silence, and the last
//!   voiced frame before that silence arrived before `t1 + window_ms`. Its *stop time* is that
//!   last voiced frame's arrival.

use serde::Serialize;

/// Level above which an agent frame counts as speech (dBFS, RMS over the 20 ms frame).
pub const VOICED_DB: f32 = -50.0;

/// One frame the agent sent.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AgentFrame {
    /// Arrival, ms from the call's start.
    pub at_ms: f64,
    /// Above [`VOICED_DB`].
    pub voiced: bool,
}

/// RMS level of 16-bit PCM in dBFS (`-inf` for digital silence).
pub fn level_db(pcm: &[i16]) -> f32 {
    if pcm.is_empty() {
        return f32::NEG_INFINITY;
    }
    let e: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / pcm.len() as f64;
    (10.0 * (e / (32768.0 * 32768.0)).log10()) as f32
}

/// Arrival of the first voiced frame at or after `t`, if any.
pub fn first_voiced_after(frames: &[AgentFrame], t: f64) -> Option<f64> {
    frames.iter().find(|f| f.voiced && f.at_ms >= t).map(|f| f.at_ms)
}

/// Arrival of the first voiced frame in `[a, b)`, if any.
pub fn first_voiced_between(frames: &[AgentFrame], a: f64, b: f64) -> Option<f64> {
    first_voiced_after(frames, a).filter(|&t| t < b)
}

/// Where the agent went silent after `onset` (`last_voiced_ms` is before `onset` when it was
/// already silent then).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stop {
    /// Arrival of the last voiced frame before the silence (`onset` if none came after it).
    pub last_voiced_ms: f64,
    /// How long the silence lasted (up to the next voiced frame or the end of the record).
    pub silence_ms: f64,
}

/// The first silence of at least `min_silence_ms` after `onset`: the voiced frames after
/// `onset` are walked in order and the first gap between consecutive voiced arrivals longer
/// than `min_silence_ms + 20` (or from the last one to `record_end_ms`) is the stop. `None` when
/// the agent never paused that long before the record ended.
pub fn stop_after(
    frames: &[AgentFrame],
    onset: f64,
    min_silence_ms: f64,
    record_end_ms: f64,
) -> Option<Stop> {
    let mut last =
        frames.iter().rev().find(|f| f.voiced && f.at_ms < onset).map_or(onset - 20.0, |f| f.at_ms);
    for f in frames.iter().filter(|f| f.voiced && f.at_ms >= onset) {
        let gap = f.at_ms - last - 20.0;
        if gap >= min_silence_ms {
            return Some(Stop { last_voiced_ms: last, silence_ms: gap });
        }
        last = f.at_ms;
    }
    let gap = record_end_ms - last - 20.0;
    (gap >= min_silence_ms).then_some(Stop { last_voiced_ms: last, silence_ms: gap })
}

/// Did the agent stop for a clip with onset `onset` and last sound `sound_end`?
pub fn stopped(
    frames: &[AgentFrame],
    onset: f64,
    sound_end: f64,
    window_ms: f64,
    min_silence_ms: f64,
    record_end_ms: f64,
) -> Option<Stop> {
    stop_after(frames, onset, min_silence_ms, record_end_ms)
        .filter(|s| s.last_voiced_ms < sound_end + window_ms)
}

/// Inter-arrival gaps longer than `threshold_ms` between consecutive agent frames (any frame,
/// voiced or not: the server sends one every 20 ms from the start of the stream).
pub fn gaps(frames: &[AgentFrame], threshold_ms: f64) -> Vec<f64> {
    frames.windows(2).map(|w| w[1].at_ms - w[0].at_ms).filter(|&g| g > threshold_ms).collect()
}

/// Count, median, 95th percentile, maximum and mean of a sample (nearest rank).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Dist {
    /// Values.
    pub n: usize,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Dist {
    /// The distribution of `xs` (all zero when empty).
    pub fn of(xs: &[f64]) -> Dist {
        let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Dist::default();
        }
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Dist {
            n: v.len(),
            p50: rank(0.5),
            p95: rank(0.95),
            max: v[v.len() - 1],
            mean: v.iter().sum::<f64>() / v.len() as f64,
        }
    }
}

/// `hits` out of `n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Rate {
    /// Events counted.
    pub hits: usize,
    /// Trials.
    pub n: usize,
}

impl Rate {
    /// Adds one trial.
    pub fn add(&mut self, hit: bool) {
        self.n += 1;
        self.hits += usize::from(hit);
    }

    /// Percentage (0 when there were no trials).
    pub fn percent(&self) -> f64 {
        if self.n == 0 { 0.0 } else { 100.0 * self.hits as f64 / self.n as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames every 20 ms from `from` to `to` (exclusive), voiced inside the given spans.
    fn line(to: f64, voiced: &[(f64, f64)]) -> Vec<AgentFrame> {
        let mut out = Vec::new();
        let mut t = 0.0;
        while t < to {
            out.push(AgentFrame { at_ms: t, voiced: voiced.iter().any(|&(a, b)| t >= a && t < b) });
            t += 20.0;
        }
        out
    }

    #[test]
    fn levels() {
        assert_eq!(level_db(&[0; 160]), f32::NEG_INFINITY);
        assert!((level_db(&[16384; 160]) - -6.02).abs() < 0.01);
        assert!(level_db(&[30; 160]) < VOICED_DB);
        assert!(level_db(&[300; 160]) > VOICED_DB);
    }

    #[test]
    fn voice_to_voice_is_first_voiced_frame_after_the_caller() {
        let f = line(5000.0, &[(0.0, 1000.0), (3000.0, 4000.0)]);
        assert_eq!(first_voiced_after(&f, 2210.0), Some(3000.0));
        assert_eq!(first_voiced_after(&f, 500.0), Some(500.0));
        assert_eq!(first_voiced_between(&f, 1000.0, 2999.0), None);
        assert_eq!(first_voiced_after(&f, 4500.0), None);
    }

    #[test]
    fn a_stop_is_the_first_long_silence_after_the_onset() {
        // Speech 0-2 s, a 200 ms clause gap, speech 2.2-2.6 s, silence until 4 s, speech again.
        let f = line(6000.0, &[(0.0, 2000.0), (2200.0, 2600.0), (4000.0, 5000.0)]);
        let s = stop_after(&f, 1500.0, 600.0, 6000.0).expect("stops");
        assert_eq!(s.last_voiced_ms, 2580.0);
        assert_eq!(s.silence_ms, 1400.0);
        // The 200 ms gap is not a stop with a 150 ms threshold either: it is 200 ms long.
        assert_eq!(stop_after(&f, 1500.0, 150.0, 6000.0).map(|s| s.last_voiced_ms), Some(1980.0));
        // Decided within the window or not.
        assert!(stopped(&f, 1500.0, 1800.0, 1000.0, 600.0, 6000.0).is_some());
        assert!(stopped(&f, 1500.0, 1000.0, 500.0, 600.0, 6000.0).is_none());
    }

    #[test]
    fn no_stop_when_the_record_ends_first() {
        let f = line(3000.0, &[(0.0, 2800.0)]);
        assert_eq!(stop_after(&f, 1000.0, 600.0, 3000.0), None);
        // Already silent at the onset: the stop is at the onset.
        let f = line(3000.0, &[(0.0, 500.0)]);
        let s = stop_after(&f, 1000.0, 600.0, 3000.0).expect("silent");
        assert_eq!(s.last_voiced_ms, 480.0);
    }

    #[test]
    fn gaps_over_threshold() {
        let mut f = line(1000.0, &[]);
        f.retain(|x| !(x.at_ms > 300.0 && x.at_ms < 460.0));
        assert_eq!(gaps(&f, 100.0), vec![160.0]);
        assert!(gaps(&line(1000.0, &[]), 100.0).is_empty());
    }

    #[test]
    fn distributions_use_nearest_rank() {
        let d = Dist::of(&(1..=100).map(f64::from).collect::<Vec<_>>());
        assert_eq!((d.n, d.p50, d.p95, d.max), (100, 50.0, 95.0, 100.0));
        assert_eq!(Dist::of(&[]).n, 0);
        let mut r = Rate::default();
        r.add(true);
        r.add(false);
        assert_eq!(r.percent(), 50.0);
    }
}
