//! Interarrival-jitter estimation (RFC 3550 section 6.4.1) and the depth it calls for.
//!
//! For consecutive arrivals i, j the estimator takes `D = (Rj - Ri) - (Sj - Si)`, the change in
//! transit time, in timestamp units (R: arrival converted to the media clock, S: RTP timestamp),
//! and smooths `J += (|D| - J) / 16`: that is the jitter reported in statistics and RTCP.
//!
//! The smoothed `J` moves too slowly to protect against a delay spike (a 100 ms stall raises it
//! by 6 ms), so the depth also follows a peak envelope of `|D|` that jumps up at once
//! (grow fast) and decays by 1/128 per packet, a time constant of about 2.5 s at 50 packets/s
//! (shrink slowly). The depth needed is `max(envelope, 3 J)`; the buffer targets that rounded up
//! to whole frames plus one frame, clamped to the configured range.

use frontdesk_types::Instant;

/// Envelope decay per packet.
const PEAK_DECAY: f64 = 1.0 - 1.0 / 128.0;
/// Multiple of the smoothed jitter the depth covers.
const JITTER_MULTIPLE: f64 = 3.0;

#[derive(Clone, Debug)]
pub(super) struct Estimator {
    clock_rate: f64,
    /// Arrival (media-clock units) and extended timestamp of the previous packet.
    last: Option<(f64, i64)>,
    /// Smoothed jitter J, in media-clock units.
    jitter: f64,
    /// Peak envelope of |D|, in milliseconds.
    peak_ms: f64,
}

impl Estimator {
    pub(super) fn new(clock_rate: u32) -> Self {
        Estimator { clock_rate: f64::from(clock_rate), last: None, jitter: 0.0, peak_ms: 0.0 }
    }

    /// Forgets the previous packet (new SSRC or timeline) but keeps what was learnt about the
    /// network path.
    pub(super) fn restart(&mut self) {
        self.last = None;
    }

    pub(super) fn on_packet(&mut self, now: Instant, ext_ts: i64) {
        let arrival = now.as_micros() as f64 * self.clock_rate / 1e6;
        if let Some((r, s)) = self.last {
            let d = ((arrival - r) - (ext_ts - s) as f64).abs();
            // A timestamp jump inside one timeline would give a huge D; the depth clamps it
            // anyway, and capping keeps J meaningful afterwards.
            let d = d.min(self.clock_rate * 2.0);
            self.jitter += (d - self.jitter) / 16.0;
            let d_ms = d * 1000.0 / self.clock_rate;
            self.peak_ms = (self.peak_ms * PEAK_DECAY).max(d_ms);
        }
        self.last = Some((arrival, ext_ts));
    }

    pub(super) fn jitter_ms(&self) -> f64 {
        self.jitter * 1000.0 / self.clock_rate
    }

    /// The depth the measured jitter calls for, in milliseconds, before rounding and clamping.
    pub(super) fn needed_ms(&self) -> f64 {
        self.peak_ms.max(JITTER_MULTIPLE * self.jitter_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_stream_has_no_jitter_and_spikes_decay_slowly() {
        let mut e = Estimator::new(8000);
        for i in 0..100i64 {
            e.on_packet(Instant::from_millis(i as u64 * 20), i * 160);
        }
        assert!(e.jitter_ms() < 1e-9);
        // Packet 100 arrives 100 ms late.
        e.on_packet(Instant::from_millis(2100), 100 * 160);
        assert!((e.needed_ms() - 100.0).abs() < 1e-6, "{}", e.needed_ms());
        assert!((e.jitter_ms() - 100.0 / 16.0).abs() < 1e-6);
        for i in 101..150i64 {
            e.on_packet(Instant::from_millis(i as u64 * 20), i * 160);
        }
        // About 1 s later the envelope has decayed but still asks for most of the spike.
        assert!(e.needed_ms() > 60.0 && e.needed_ms() < 100.0, "{}", e.needed_ms());
    }

    #[test]
    fn uniform_jitter_matches_rfc_formula() {
        // Alternating 0 / 10 ms extra delay gives |D| = 10 ms each packet, so J converges to 10 ms.
        let mut e = Estimator::new(8000);
        for i in 0..500u64 {
            e.on_packet(Instant::from_millis(i * 20 + (i % 2) * 10), i as i64 * 160);
        }
        assert!((e.jitter_ms() - 10.0).abs() < 0.01, "{}", e.jitter_ms());
        assert!((e.needed_ms() - 30.0).abs() < 0.1);
    }
}
