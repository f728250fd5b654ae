//! RFC 4733 send: the packets of one event (one key press), as a sans-IO generator.
//!
//! # Contract
//!
//! [`DtmfSender::new`] takes the event, its duration, the RTP timestamp and first sequence number
//! to use (those of the audio stream the event interrupts) and `now`. Then, whenever
//! [`DtmfSender::poll_timeout`] is reached, call [`DtmfSender::poll_packet`] until it returns
//! `false`, sending each packet it writes. When [`DtmfSender::is_done`], resume audio from
//! [`DtmfSender::next_sequence`].
//!
//! # Packets
//!
//! One packet every `interval_ms` (20 or 50 ms), all with the event's timestamp; the first has
//! the marker bit; each reports the duration elapsed at the end of its interval; the last report
//! (duration = the whole event) has the E bit and is sent `end_repeats` times (3 by default), one
//! interval apart, with new sequence numbers. An event longer than the 16-bit duration field
//! (8.19 s at 8 kHz) is split into segments (RFC 4733 section 2.5.1.3): a report of 0xFFFF closes
//! a segment, and the next segment starts at timestamp + 0xFFFF without the marker bit.

use super::TelephoneEvent;
use crate::RtpError;
use crate::packet::RtpPacket;
use frontdesk_types::{Digit, Instant};
use std::time::Duration;

/// Sender settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtmfSenderConfig {
    /// Negotiated telephone-event payload type (often 101).
    pub payload_type: u8,
    /// Its clock rate (8000 unless negotiated otherwise).
    pub clock_rate: u32,
    /// SSRC of the stream (normally the audio stream's).
    pub ssrc: u32,
    /// Interval between reports: 20 or 50 ms.
    pub interval_ms: u32,
    /// Volume in -dBm0 (0-63). Default 10.
    pub volume: u8,
    /// Times the final report is sent. Default 3.
    pub end_repeats: u8,
}

impl DtmfSenderConfig {
    /// Defaults: 20 ms interval, volume 10, three end packets.
    pub const fn new(payload_type: u8, clock_rate: u32, ssrc: u32) -> Self {
        DtmfSenderConfig { payload_type, clock_rate, ssrc, interval_ms: 20, volume: 10, end_repeats: 3 }
    }
}

/// Generates the packets of one event; see the module documentation.
#[derive(Clone, Debug)]
pub struct DtmfSender {
    cfg: DtmfSenderConfig,
    event: u8,
    /// Total duration in clock units.
    total: u64,
    /// Clock units per interval.
    step: u64,
    start: Instant,
    /// Packets written so far.
    sent: u32,
    next_seq: u16,
    seg_ts: u32,
    /// Offset of the current segment from the event start, in clock units.
    seg_offset: u64,
    /// Elapsed clock units reported by the last packet.
    reported: u64,
    ends_sent: u8,
}

impl DtmfSender {
    /// Starts sending `digit` for `duration` (at least one interval) at `timestamp`, with
    /// sequence numbers from `first_seq`; the first packet is due at `now`.
    pub fn new(
        cfg: DtmfSenderConfig,
        digit: Digit,
        duration: Duration,
        timestamp: u32,
        first_seq: u16,
        now: Instant,
    ) -> Result<Self, RtpError> {
        Self::new_event(cfg, digit.event_code(), duration, timestamp, first_seq, now)
    }

    /// Like [`new`](Self::new) for any event code (16 is flash).
    pub fn new_event(
        cfg: DtmfSenderConfig,
        event: u8,
        duration: Duration,
        timestamp: u32,
        first_seq: u16,
        now: Instant,
    ) -> Result<Self, RtpError> {
        if cfg.payload_type > 0x7f {
            return Err(RtpError::FieldOverflow {
                what: "payload type",
                value: usize::from(cfg.payload_type),
                max: 0x7f,
            });
        }
        if cfg.volume > 63 {
            return Err(RtpError::FieldOverflow { what: "volume", value: usize::from(cfg.volume), max: 63 });
        }
        if cfg.clock_rate == 0 || cfg.interval_ms == 0 || cfg.end_repeats == 0 {
            return Err(RtpError::InvalidConfig("clock rate, interval and end repeats must be non-zero"));
        }
        let step = u64::from(cfg.clock_rate) * u64::from(cfg.interval_ms) / 1000;
        if step == 0 || step > u64::from(u16::MAX) {
            return Err(RtpError::InvalidConfig("interval must be 1..=65535 clock units"));
        }
        let total = (duration.as_micros().min(u128::from(u64::MAX / 1_000_000)) as u64)
            .saturating_mul(u64::from(cfg.clock_rate))
            / 1_000_000;
        Ok(DtmfSender {
            cfg,
            event,
            total: total.max(step),
            step,
            start: now,
            sent: 0,
            next_seq: first_seq,
            seg_ts: timestamp,
            seg_offset: 0,
            reported: 0,
            ends_sent: 0,
        })
    }

    /// When the next packet is due, `None` once done.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_done() {
            return None;
        }
        Some(self.start + Duration::from_millis(u64::from(self.cfg.interval_ms) * u64::from(self.sent)))
    }

    /// Writes the next packet into `out` (cleared first) if it is due at `now`.
    pub fn poll_packet(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        match self.poll_timeout() {
            Some(due) if due <= now => self.next_packet(out),
            _ => false,
        }
    }

    /// Writes the next packet into `out` (cleared first) regardless of time; `false` when done.
    pub fn next_packet(&mut self, out: &mut Vec<u8>) -> bool {
        if self.is_done() {
            return false;
        }
        let elapsed = (self.reported + self.step).min(self.total);
        let in_segment = elapsed - self.seg_offset;
        let (duration, end, next_segment) = if in_segment > u64::from(u16::MAX) {
            // Close this segment at the field's maximum; the next starts 0xFFFF later.
            (u16::MAX, false, true)
        } else {
            // in_segment <= 0xFFFF checked just above.
            (in_segment as u16, elapsed == self.total, false)
        };
        let report = TelephoneEvent { event: self.event, end, volume: self.cfg.volume, duration };
        let payload = report.to_bytes();
        let pkt = RtpPacket::new(self.cfg.payload_type, self.next_seq, self.seg_ts, self.cfg.ssrc, &payload)
            .with_marker(self.sent == 0);
        out.clear();
        // Fields validated in `new`: payload type <= 127, no CSRCs, no extension.
        if pkt.write_to(out).is_err() {
            return false;
        }
        self.sent += 1;
        self.next_seq = self.next_seq.wrapping_add(1);
        if next_segment {
            self.seg_offset += u64::from(u16::MAX);
            self.seg_ts = self.seg_ts.wrapping_add(u32::from(u16::MAX));
            self.reported = self.seg_offset;
        } else {
            self.reported = elapsed;
        }
        if end {
            self.ends_sent += 1;
        }
        true
    }

    /// All packets, including the repeated end reports, were written.
    pub const fn is_done(&self) -> bool {
        self.ends_sent >= self.cfg.end_repeats
    }

    /// The sequence number after the last packet written.
    pub const fn next_sequence(&self) -> u16 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DtmfEvent, DtmfReceiver};

    fn all_packets(s: &mut DtmfSender) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        let mut buf = Vec::new();
        while s.next_packet(&mut buf) {
            v.push(buf.clone());
        }
        v
    }

    #[test]
    fn packets_of_a_100ms_digit() {
        let cfg = DtmfSenderConfig::new(101, 8000, 0xabc);
        let d = Digit::from_char('7').unwrap();
        let mut s = DtmfSender::new(cfg, d, Duration::from_millis(100), 5000, 65534, Instant::ZERO).unwrap();
        let pkts = all_packets(&mut s);
        let parsed: Vec<_> = pkts.iter().map(|p| RtpPacket::parse(p).unwrap()).collect();
        assert_eq!(parsed.len(), 5 + 2);
        let reports: Vec<_> = parsed.iter().map(|p| TelephoneEvent::parse(p.payload).unwrap()).collect();
        assert_eq!(
            reports.iter().map(|r| r.duration).collect::<Vec<_>>(),
            [160, 320, 480, 640, 800, 800, 800]
        );
        assert_eq!(reports.iter().filter(|r| r.end).count(), 3);
        assert!(reports.iter().all(|r| r.event == 7 && r.volume == 10));
        assert!(parsed.iter().all(|p| p.timestamp == 5000 && p.ssrc == 0xabc && p.payload_type == 101));
        assert_eq!(
            parsed.iter().map(|p| p.marker).collect::<Vec<_>>(),
            [true, false, false, false, false, false, false]
        );
        assert_eq!(parsed.iter().map(|p| p.sequence).collect::<Vec<_>>(), [65534, 65535, 0, 1, 2, 3, 4]);
        assert_eq!(s.next_sequence(), 5);
        assert!(s.is_done());
    }

    #[test]
    fn packets_are_paced_by_the_interval() {
        let mut cfg = DtmfSenderConfig::new(101, 8000, 1);
        cfg.interval_ms = 50;
        let d = Digit::from_char('#').unwrap();
        let t0 = Instant::from_millis(1000);
        let mut s = DtmfSender::new(cfg, d, Duration::from_millis(120), 0, 0, t0).unwrap();
        let mut buf = Vec::new();
        let mut times = Vec::new();
        for ms in (1000..1400).step_by(10) {
            let now = Instant::from_millis(ms);
            while s.poll_packet(now, &mut buf) {
                times.push(ms);
            }
        }
        // 50, 100, 120(end) x3: five packets at 50 ms spacing.
        assert_eq!(times, [1000, 1050, 1100, 1150, 1200]);
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn long_event_is_split_into_segments_and_received_as_one_digit() {
        let cfg = DtmfSenderConfig::new(101, 8000, 1);
        let d = Digit::from_char('0').unwrap();
        let mut s = DtmfSender::new(cfg, d, Duration::from_secs(20), 1000, 0, Instant::ZERO).unwrap();
        let pkts = all_packets(&mut s);
        let parsed: Vec<_> = pkts.iter().map(|p| RtpPacket::parse(p).unwrap()).collect();
        let stamps: std::collections::BTreeSet<u32> = parsed.iter().map(|p| p.timestamp).collect();
        assert_eq!(stamps.into_iter().collect::<Vec<_>>(), [1000, 1000 + 65535, 1000 + 2 * 65535]);
        assert_eq!(parsed.iter().filter(|p| p.marker).count(), 1);
        let mut r = DtmfReceiver::new(101, 8000);
        for (i, p) in pkts.iter().enumerate() {
            r.handle_datagram(Instant::from_millis(i as u64 * 20), p);
        }
        let ended: Vec<_> = std::iter::from_fn(|| r.poll_event())
            .filter_map(|e| if let DtmfEvent::Ended(c) = e { Some(c) } else { None })
            .collect();
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].duration, 160_000);
        assert_eq!(ended[0].duration_ms, 20_000);
    }

    #[test]
    fn rejects_bad_settings() {
        let d = Digit::from_char('1').unwrap();
        let mut cfg = DtmfSenderConfig::new(101, 8000, 1);
        cfg.volume = 64;
        assert!(DtmfSender::new(cfg, d, Duration::from_millis(100), 0, 0, Instant::ZERO).is_err());
        let cfg = DtmfSenderConfig::new(200, 8000, 1);
        assert!(DtmfSender::new(cfg, d, Duration::from_millis(100), 0, 0, Instant::ZERO).is_err());
        let cfg = DtmfSenderConfig::new(101, 0, 1);
        assert!(DtmfSender::new(cfg, d, Duration::from_millis(100), 0, 0, Instant::ZERO).is_err());
    }
}
