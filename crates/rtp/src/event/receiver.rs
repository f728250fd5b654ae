//! RFC 4733 receive: packets in, one digit per key press out.
//!
//! # Contract
//!
//! Feed every packet of the telephone-event payload type with [`DtmfReceiver::handle_packet`]
//! (other payload types are ignored, so all packets of a call may be fed), drain
//! [`DtmfReceiver::poll_event`] until `None` after each call, and call
//! [`DtmfReceiver::handle_timeout`] at [`DtmfReceiver::poll_timeout`] (it ends an event whose end
//! packets were all lost).
//!
//! # Rules
//!
//! - An event is identified by (SSRC, RTP timestamp). Its first packet seen (marker or not: the
//!   start packets may be lost) yields [`DtmfEvent::Began`]; its end yields exactly one
//!   [`DtmfEvent::Ended`], whatever the number of redundant end packets.
//! - The SSRC and sequence numbers of the audio stream do not matter: events may come in their
//!   own SSRC with their own sequence numbers (as SIPp sends them).
//! - An event ends on its first E-bit packet, when a newer event starts (superseded), or after
//!   `timeout` without a packet. Packets of an ended event (the redundant end packets, stragglers)
//!   are ignored; so are packets older than the current event.
//! - A long event split into segments (RFC 4733 section 2.5.1.3: duration reached 0xFFFF, the
//!   next segment's timestamp is 0xFFFF later, no marker) continues the same event.

use super::TelephoneEvent;
use crate::packet::RtpPacket;
use frontdesk_types::{Digit, Instant};
use std::collections::VecDeque;
use std::time::Duration;

/// Completed events remembered to ignore their redundant and straggling packets.
const REMEMBERED: usize = 16;
/// Default time without a packet after which an event is ended.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// Why an event ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// A report with the E bit.
    EndBit,
    /// No packet for the timeout (end packets lost).
    Timeout,
    /// A newer event started first.
    Superseded,
}

/// One finished event: for DTMF, one key press.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompletedEvent {
    /// Event code.
    pub event: u8,
    /// The key, for codes 0-15.
    pub digit: Option<Digit>,
    /// Last reported volume (-dBm0).
    pub volume: u8,
    /// Total duration in clock units (across long-event segments).
    pub duration: u32,
    /// Total duration in milliseconds.
    pub duration_ms: u32,
    /// SSRC that carried it.
    pub ssrc: u32,
    /// RTP timestamp of its start.
    pub timestamp: u32,
    /// How it ended.
    pub reason: EndReason,
}

/// What the receiver reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtmfEvent {
    /// A new event was seen (key down): useful for barge-in and for muting the tone.
    Began {
        /// Event code.
        event: u8,
        /// The key, for codes 0-15.
        digit: Option<Digit>,
        /// SSRC that carries it.
        ssrc: u32,
        /// RTP timestamp of its start.
        timestamp: u32,
    },
    /// The event ended (key up): exactly once per event.
    Ended(CompletedEvent),
}

/// Receiver counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DtmfStats {
    /// Telephone-event packets handled.
    pub packets: u64,
    /// Payloads too short to be a report, or datagrams that were not RTP.
    pub bad_packets: u64,
    /// Packets of already-ended or older events (redundant end packets among them).
    pub ignored: u64,
    /// Events completed.
    pub events: u64,
}

#[derive(Clone, Copy, Debug)]
struct Current {
    ssrc: u32,
    /// Timestamp of the first segment (identifies the event).
    timestamp: u32,
    /// Timestamp of the current segment.
    seg_ts: u32,
    /// Duration of the current segment so far.
    seg_duration: u16,
    /// Duration of the completed segments before it.
    base: u32,
    event: u8,
    volume: u8,
    last_seen: Instant,
}

/// The RFC 4733 receiver; see the module documentation.
#[derive(Clone, Debug)]
pub struct DtmfReceiver {
    payload_type: u8,
    clock_rate: u32,
    timeout: Duration,
    current: Option<Current>,
    done: VecDeque<(u32, u32)>,
    out: VecDeque<DtmfEvent>,
    stats: DtmfStats,
}

impl DtmfReceiver {
    /// A receiver for telephone-events of `payload_type` at `clock_rate` (usually 101 / 8000).
    pub fn new(payload_type: u8, clock_rate: u32) -> Self {
        DtmfReceiver {
            payload_type,
            clock_rate: clock_rate.max(1),
            timeout: DEFAULT_TIMEOUT,
            current: None,
            done: VecDeque::with_capacity(REMEMBERED),
            out: VecDeque::new(),
            stats: DtmfStats::default(),
        }
    }

    /// Changes the time without a packet after which an event is ended (default 500 ms).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The counters.
    pub const fn stats(&self) -> DtmfStats {
        self.stats
    }

    /// Parses and handles a datagram; returns whether it was a telephone-event packet.
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) -> bool {
        match RtpPacket::parse(datagram) {
            Ok(p) => self.handle_packet(now, &p),
            Err(_) => {
                self.stats.bad_packets += 1;
                false
            }
        }
    }

    /// Handles a packet; returns whether it was of the telephone-event payload type.
    pub fn handle_packet(&mut self, now: Instant, pkt: &RtpPacket<'_>) -> bool {
        if pkt.payload_type != self.payload_type {
            return false;
        }
        self.handle_payload(now, pkt.ssrc, pkt.timestamp, pkt.marker, pkt.payload);
        true
    }

    /// Handles the payload of a telephone-event packet.
    pub fn handle_payload(&mut self, now: Instant, ssrc: u32, timestamp: u32, marker: bool, payload: &[u8]) {
        self.handle_timeout(now);
        self.stats.packets += 1;
        let Ok(ev) = TelephoneEvent::parse(payload) else {
            self.stats.bad_packets += 1;
            return;
        };
        if self.done.contains(&(ssrc, timestamp)) {
            self.stats.ignored += 1;
            return;
        }
        if let Some(cur) = &mut self.current
            && cur.ssrc == ssrc
        {
            if cur.seg_ts == timestamp {
                cur.seg_duration = cur.seg_duration.max(ev.duration);
                cur.volume = ev.volume;
                cur.last_seen = now;
                if ev.end {
                    self.finish(EndReason::EndBit);
                }
                return;
            }
            let continues = !marker
                && ev.event == cur.event
                && cur.seg_duration == u16::MAX
                && timestamp == cur.seg_ts.wrapping_add(u32::from(u16::MAX));
            if continues {
                cur.base = cur.base.saturating_add(u32::from(cur.seg_duration));
                cur.seg_ts = timestamp;
                cur.seg_duration = ev.duration;
                cur.volume = ev.volume;
                cur.last_seen = now;
                if ev.end {
                    self.finish(EndReason::EndBit);
                }
                return;
            }
            // Older than the current event (reordered straggler of an earlier one): ignore.
            if (timestamp.wrapping_sub(cur.seg_ts) as i32) < 0 {
                self.stats.ignored += 1;
                return;
            }
        }
        if self.current.is_some() {
            self.finish(EndReason::Superseded);
        }
        self.current = Some(Current {
            ssrc,
            timestamp,
            seg_ts: timestamp,
            seg_duration: ev.duration,
            base: 0,
            event: ev.event,
            volume: ev.volume,
            last_seen: now,
        });
        self.out.push_back(DtmfEvent::Began { event: ev.event, digit: ev.digit(), ssrc, timestamp });
        if ev.end {
            self.finish(EndReason::EndBit);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called, if an event is open.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current.map(|c| c.last_seen + self.timeout)
    }

    /// Ends an event that has had no packet for the timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.current.is_some_and(|c| now - c.last_seen >= self.timeout) {
            self.finish(EndReason::Timeout);
        }
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.out.pop_front()
    }

    fn finish(&mut self, reason: EndReason) {
        let Some(c) = self.current.take() else { return };
        for key in [(c.ssrc, c.timestamp), (c.ssrc, c.seg_ts)] {
            if !self.done.contains(&key) {
                if self.done.len() == REMEMBERED {
                    self.done.pop_front();
                }
                self.done.push_back(key);
            }
        }
        let duration = c.base.saturating_add(u32::from(c.seg_duration));
        let duration_ms =
            u32::try_from(u64::from(duration) * 1000 / u64::from(self.clock_rate)).unwrap_or(u32::MAX);
        self.stats.events += 1;
        self.out.push_back(DtmfEvent::Ended(CompletedEvent {
            event: c.event,
            digit: Digit::from_event(c.event),
            volume: c.volume,
            duration,
            duration_ms,
            ssrc: c.ssrc,
            timestamp: c.timestamp,
            reason,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PT: u8 = 101;

    fn packet(seq: u16, ts: u32, marker: bool, ev: TelephoneEvent) -> Vec<u8> {
        RtpPacket::new(PT, seq, ts, 7, &ev.to_bytes()).with_marker(marker).to_vec().unwrap()
    }

    fn ev(event: u8, end: bool, duration: u16) -> TelephoneEvent {
        TelephoneEvent { event, end, volume: 10, duration }
    }

    fn drain(r: &mut DtmfReceiver) -> Vec<DtmfEvent> {
        std::iter::from_fn(|| r.poll_event()).collect()
    }

    fn ended(evs: &[DtmfEvent]) -> Vec<CompletedEvent> {
        evs.iter().filter_map(|e| if let DtmfEvent::Ended(c) = e { Some(*c) } else { None }).collect()
    }

    #[test]
    fn three_end_packets_make_one_digit() {
        let mut r = DtmfReceiver::new(PT, 8000);
        let mut t = Instant::ZERO;
        let mut evs = Vec::new();
        for (i, d) in [160u16, 320, 480, 640].into_iter().enumerate() {
            r.handle_datagram(t, &packet(i as u16, 1000, i == 0, ev(5, false, d)));
            t += Duration::from_millis(20);
        }
        for i in 0..3 {
            r.handle_datagram(t, &packet(4 + i, 1000, false, ev(5, true, 800)));
        }
        evs.extend(drain(&mut r));
        assert_eq!(evs.len(), 2);
        assert!(matches!(evs[0], DtmfEvent::Began { event: 5, timestamp: 1000, .. }));
        let c = ended(&evs)[0];
        assert_eq!((c.digit.map(|d| d.as_char()), c.duration, c.duration_ms), (Some('5'), 800, 100));
        assert_eq!(c.reason, EndReason::EndBit);
        assert_eq!(r.stats().ignored, 2);
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn same_key_twice_is_two_digits_and_missing_start_is_fine() {
        let mut r = DtmfReceiver::new(PT, 8000);
        // First press seen only from its third update; second press of the same key later.
        r.handle_datagram(Instant::ZERO, &packet(3, 1000, false, ev(1, false, 480)));
        r.handle_datagram(Instant::ZERO, &packet(4, 1000, false, ev(1, true, 640)));
        r.handle_datagram(Instant::ZERO, &packet(5, 1000, false, ev(1, true, 640)));
        r.handle_datagram(Instant::ZERO, &packet(9, 5000, true, ev(1, true, 400)));
        let got = ended(&drain(&mut r));
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].timestamp, got[1].timestamp), (1000, 5000));
    }

    #[test]
    fn lost_end_packets_end_by_timeout_or_next_event() {
        let mut r = DtmfReceiver::new(PT, 8000);
        r.handle_datagram(Instant::ZERO, &packet(1, 1000, true, ev(2, false, 160)));
        assert_eq!(r.poll_timeout(), Some(Instant::from_millis(500)));
        r.handle_timeout(Instant::from_millis(499));
        assert_eq!(ended(&drain(&mut r)).len(), 0);
        r.handle_timeout(Instant::from_millis(500));
        let got = ended(&drain(&mut r));
        assert_eq!((got.len(), got[0].reason), (1, EndReason::Timeout));
        // A late end packet of the timed-out event does not make a second digit.
        r.handle_datagram(Instant::from_millis(600), &packet(2, 1000, false, ev(2, true, 800)));
        assert!(drain(&mut r).is_empty());
        // A new event supersedes an open one.
        r.handle_datagram(Instant::from_millis(1000), &packet(3, 9000, true, ev(3, false, 160)));
        r.handle_datagram(Instant::from_millis(1000), &packet(4, 10000, true, ev(4, false, 160)));
        let got = ended(&drain(&mut r));
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].event, got[0].reason), (3, EndReason::Superseded));
    }

    #[test]
    fn other_payload_types_and_short_payloads() {
        let mut r = DtmfReceiver::new(PT, 8000);
        let audio = RtpPacket::new(0, 1, 0, 7, &[0; 160]).to_vec().unwrap();
        assert!(!r.handle_datagram(Instant::ZERO, &audio));
        let short = RtpPacket::new(PT, 1, 0, 7, &[1, 2]).to_vec().unwrap();
        assert!(r.handle_datagram(Instant::ZERO, &short));
        assert!(!r.handle_datagram(Instant::ZERO, &[1, 2, 3]));
        assert!(drain(&mut r).is_empty());
        assert_eq!(r.stats().bad_packets, 2);
    }
}
