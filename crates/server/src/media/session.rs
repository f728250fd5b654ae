//! One call's media state, without IO: RTP in -> jitter buffer -> decoder -> 8 kHz frames and
//! digits; 8 kHz frames -> encoder -> RTP out; RTCP reports both ways.
//!
//! It is told the time (`now`) and handed datagrams; the task in [`super`] owns the sockets and
//! the 20 ms schedule. So everything here is tested on made-up packets and instants.

use std::collections::VecDeque;

use frontdesk_codec::{Law, OpusDecoder, OpusEncoder};
use frontdesk_dtmf::DtmfDetector;
use frontdesk_rtp::rtcp::{self, ReportBlock, RtcpPacket, SenderInfo};
use frontdesk_rtp::{DtmfEvent, DtmfReceiver, JitterBuffer, JitterConfig, Pop, RtpPacket, SeqUnwrapper};
use frontdesk_sip::{Codec, Negotiated};
use frontdesk_types::{Digit, Instant, SampleRate};

use super::MediaError;

/// Samples in one 20 ms frame at 8 kHz: the unit of [`crate::call::CallInput::Audio`].
pub(crate) const FRAME: usize = 160;
/// Consecutive concealed G.711 frames before concealment fades to silence.
const G711_PLC_FRAMES: u32 = 3;

enum Decoder {
    G711 { law: Law, last: Vec<i16>, concealed: u32 },
    Opus(Box<OpusDecoder>),
}

enum Encoder {
    G711(Law),
    Opus(Box<OpusEncoder>),
}

/// Receive-side counters for RTCP report blocks (RFC 3550 appendix A.3).
#[derive(Default)]
struct RecvStats {
    ssrc: Option<u32>,
    seq: SeqUnwrapper,
    base: i64,
    highest: i64,
    received: u64,
    expected_prior: i64,
    received_prior: u64,
    /// Middle 32 bits of the peer's last SR and when it arrived.
    last_sr: Option<(u32, Instant)>,
}

/// What the peer last reported about the stream we send.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct PeerReport {
    /// Fraction of our packets lost (0..1) in its last interval.
    pub(crate) fraction_lost: f64,
    /// Cumulative packets of ours it lost.
    pub(crate) cumulative_lost: i32,
    /// Interarrival jitter it measured on our stream, ms.
    pub(crate) jitter_ms: f64,
}

/// The media of one call. See the module doc.
pub(crate) struct MediaSession {
    payload_type: u8,
    clock_rate: u32,
    jitter: JitterBuffer,
    telephone_event: Option<DtmfReceiver>,
    inband: DtmfDetector,
    /// An RFC 4733 event was received: the peer signals keys out of band, so in-band detection
    /// is switched off (the same key would otherwise be reported twice).
    out_of_band_seen: bool,
    decoder: Decoder,
    encoder: Encoder,
    digits: VecDeque<Digit>,
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    ts_step: u32,
    sent_packets: u32,
    sent_octets: u32,
    payload: Vec<u8>,
    pcm: Vec<i16>,
    recv: RecvStats,
    peer: Option<PeerReport>,
}

impl MediaSession {
    /// Media for an agreed `neg`, sending as `ssrc` (random) from sequence/timestamp derived from
    /// `seed`.
    pub(crate) fn new(neg: &Negotiated, ssrc: u32, seed: u64) -> Result<MediaSession, MediaError> {
        let clock_rate = neg.codec.clock_rate();
        let (decoder, encoder) = match neg.codec {
            Codec::Pcmu | Codec::Pcma => {
                let law = if neg.codec == Codec::Pcmu { Law::Ulaw } else { Law::Alaw };
                (Decoder::G711 { law, last: vec![0; FRAME], concealed: 0 }, Encoder::G711(law))
            }
            // Opus decodes to and encodes from any rate: 8 kHz directly, no resampler needed.
            Codec::Opus => (
                Decoder::Opus(Box::new(OpusDecoder::new(SampleRate::Hz8000)?)),
                Encoder::Opus(Box::new(OpusEncoder::new(SampleRate::Hz8000)?)),
            ),
        };
        let jitter = JitterBuffer::new(JitterConfig::new(neg.payload_type, clock_rate))?;
        Ok(MediaSession {
            payload_type: neg.payload_type,
            clock_rate,
            jitter,
            telephone_event: neg.telephone_event.map(|pt| DtmfReceiver::new(pt, clock_rate)),
            inband: DtmfDetector::new(),
            out_of_band_seen: false,
            decoder,
            encoder,
            digits: VecDeque::new(),
            ssrc,
            seq: (seed >> 16) as u16,
            timestamp: (seed >> 32) as u32,
            ts_step: clock_rate / 50,
            sent_packets: 0,
            sent_octets: 0,
            payload: Vec::with_capacity(200),
            pcm: Vec::with_capacity(FRAME),
            recv: RecvStats::default(),
            peer: None,
        })
    }

    /// Our SSRC.
    pub(crate) fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// A datagram arrived on the RTP port. Returns whether it was RTP of this call's audio or
    /// telephone-event payload type (what symmetric RTP latches onto).
    pub(crate) fn on_rtp(&mut self, now: Instant, datagram: &[u8]) -> bool {
        let Ok(pkt) = RtpPacket::parse(datagram) else { return false };
        if let Some(rx) = &mut self.telephone_event
            && rx.handle_packet(now, &pkt)
        {
            self.drain_telephone_events();
            return true;
        }
        if pkt.payload_type != self.payload_type {
            return false;
        }
        self.count_received(&pkt);
        self.jitter.push(now, &pkt);
        true
    }

    fn count_received(&mut self, pkt: &RtpPacket<'_>) {
        let r = &mut self.recv;
        if r.ssrc != Some(pkt.ssrc) {
            // A new source: its counters start afresh.
            let last_sr = r.last_sr;
            *r = RecvStats { ssrc: Some(pkt.ssrc), last_sr, ..RecvStats::default() };
            let s = r.seq.unwrap(pkt.sequence);
            (r.base, r.highest) = (s, s);
        } else {
            r.highest = r.highest.max(r.seq.unwrap(pkt.sequence));
        }
        r.received += 1;
    }

    fn drain_telephone_events(&mut self) {
        let Some(rx) = &mut self.telephone_event else { return };
        while let Some(ev) = rx.poll_event() {
            // One report per key press, as soon as the key goes down.
            if let DtmfEvent::Began { digit: Some(d), .. } = ev {
                self.out_of_band_seen = true;
                self.digits.push_back(d);
            }
        }
    }

    /// One 20 ms playout tick: the caller's next frame (8 kHz), concealed if lost, or `None`
    /// while nothing is playing (before the first packet, after a long gap).
    pub(crate) fn pop(&mut self, now: Instant) -> Option<&[i16]> {
        if let Some(rx) = &mut self.telephone_event {
            rx.handle_timeout(now);
        }
        self.drain_telephone_events();
        self.pcm.clear();
        match (self.jitter.pop(now), &mut self.decoder) {
            (Pop::Empty, _) => return None,
            (Pop::Frame(f), Decoder::G711 { law, last, concealed }) => {
                law.decode_into(f.payload, &mut self.pcm);
                self.pcm.resize(FRAME, 0);
                last.copy_from_slice(&self.pcm);
                *concealed = 0;
            }
            (Pop::Lost, Decoder::G711 { last, concealed, .. }) => {
                // Repeat the last frame, halving it each time, then silence.
                *concealed = concealed.saturating_add(1);
                if *concealed <= G711_PLC_FRAMES {
                    self.pcm.extend(last.iter().map(|&s| s >> *concealed));
                }
            }
            (Pop::Frame(f), Decoder::Opus(d)) => match d.decode(Some(f.payload)) {
                Ok(pcm) => self.pcm.extend_from_slice(pcm),
                Err(_) => self.pcm.resize(FRAME, 0),
            },
            (Pop::Lost, Decoder::Opus(d)) => match d.decode(None) {
                Ok(pcm) => self.pcm.extend_from_slice(pcm),
                Err(_) => self.pcm.resize(FRAME, 0),
            },
        }
        self.pcm.resize(FRAME, 0);
        if !self.out_of_band_seen {
            self.inband.push(now, &self.pcm);
            while let Some(ev) = self.inband.poll_event() {
                if let frontdesk_dtmf::DtmfEvent::Started { digit, .. } = ev {
                    self.digits.push_back(digit);
                }
            }
        }
        Some(&self.pcm)
    }

    /// The next key the caller pressed (RFC 4733 or in-band), each reported once.
    pub(crate) fn poll_digit(&mut self) -> Option<Digit> {
        self.digits.pop_front()
    }

    /// Encodes one 20 ms frame (8 kHz; `None`: silence) as the next RTP packet into `out`.
    pub(crate) fn packetize(&mut self, pcm: Option<&[i16]>, out: &mut Vec<u8>) {
        const SILENCE: [i16; FRAME] = [0; FRAME];
        let pcm = pcm.unwrap_or(&SILENCE);
        self.payload.clear();
        match &mut self.encoder {
            Encoder::G711(law) => law.encode_into(pcm, &mut self.payload),
            // An error cannot happen for a whole frame; nothing is sent rather than garbage.
            Encoder::Opus(e) => {
                if let Ok(bytes) = e.encode(pcm) {
                    self.payload.extend_from_slice(bytes);
                }
            }
        }
        out.clear();
        if !self.payload.is_empty() {
            let pkt = RtpPacket::new(self.payload_type, self.seq, self.timestamp, self.ssrc, &self.payload)
                .with_marker(self.sent_packets == 0);
            if pkt.write_to(out).is_ok() {
                self.sent_packets = self.sent_packets.wrapping_add(1);
                self.sent_octets = self.sent_octets.wrapping_add(self.payload.len() as u32);
                self.seq = self.seq.wrapping_add(1);
            }
        }
        // The timestamp advances with time, sent or not.
        self.timestamp = self.timestamp.wrapping_add(self.ts_step);
    }

    /// A compound RTCP report (SR once we have sent, else RR; plus SDES CNAME) into `out`.
    pub(crate) fn rtcp_report(&mut self, now: Instant, ntp: u64, cname: &str, out: &mut Vec<u8>) {
        out.clear();
        let mut blocks = Vec::new();
        let r = &mut self.recv;
        if let Some(ssrc) = r.ssrc {
            let expected = r.highest - r.base + 1;
            let lost = expected - r.received as i64;
            let (exp_int, rec_int) = (expected - r.expected_prior, r.received - r.received_prior);
            let lost_int = exp_int - rec_int as i64;
            (r.expected_prior, r.received_prior) = (expected, r.received);
            let fraction_lost =
                if exp_int > 0 && lost_int > 0 { ((lost_int << 8) / exp_int) as u8 } else { 0 };
            let jitter_ms = self.jitter.stats().jitter_ms;
            let (last_sr, delay) = match r.last_sr {
                Some((mid, at)) => (mid, ((now - at).as_micros() * 65536 / 1_000_000) as u32),
                None => (0, 0),
            };
            blocks.push(ReportBlock {
                ssrc,
                fraction_lost,
                cumulative_lost: lost.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
                highest_seq: r.highest as u32,
                jitter: (jitter_ms * f64::from(self.clock_rate) / 1000.0) as u32,
                last_sr,
                delay_since_last_sr: delay,
            });
        }
        let info = (self.sent_packets > 0).then_some(SenderInfo {
            ntp,
            rtp_timestamp: self.timestamp,
            packet_count: self.sent_packets,
            octet_count: self.sent_octets,
        });
        rtcp::write_report(out, self.ssrc, info.as_ref(), &blocks, cname);
    }

    /// An RTCP datagram arrived: remembers the peer's SR time and its report about our stream.
    pub(crate) fn on_rtcp(&mut self, now: Instant, datagram: &[u8]) -> Option<PeerReport> {
        let packets = rtcp::parse_compound(datagram).ok()?;
        let mut about_us = None;
        for p in packets {
            let reports = match p {
                RtcpPacket::SenderReport { info, reports, .. } => {
                    self.recv.last_sr = Some((rtcp::ntp_middle(info.ntp), now));
                    reports
                }
                RtcpPacket::ReceiverReport { reports, .. } => reports,
                _ => continue,
            };
            if let Some(b) = reports.iter().find(|b| b.ssrc == self.ssrc) {
                about_us = Some(PeerReport {
                    fraction_lost: b.fraction_lost_f64(),
                    cumulative_lost: b.cumulative_lost,
                    jitter_ms: f64::from(b.jitter) * 1000.0 / f64::from(self.clock_rate),
                });
            }
        }
        if about_us.is_some() {
            self.peer = about_us;
        }
        about_us
    }

    /// Receive statistics: (packets received, lost, concealed frames, jitter ms).
    pub(crate) fn receive_stats(&self) -> frontdesk_rtp::JitterStats {
        self.jitter.stats()
    }

    /// Packets sent.
    pub(crate) fn sent_packets(&self) -> u32 {
        self.sent_packets
    }

    /// The peer's last report about our stream.
    pub(crate) fn peer_report(&self) -> Option<PeerReport> {
        self.peer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use frontdesk_rtp::TelephoneEvent;
    use frontdesk_sip::Direction;

    fn neg(codec: Codec, pt: u8) -> Negotiated {
        Negotiated {
            codec,
            payload_type: pt,
            telephone_event: Some(101),
            remote: None,
            direction: Direction::SendRecv,
            remote_ptime: Some(20),
        }
    }

    fn ulaw_packet(seq: u16, pcm: &[i16]) -> Vec<u8> {
        let mut payload = Vec::new();
        Law::Ulaw.encode_into(pcm, &mut payload);
        RtpPacket::new(0, seq, u32::from(seq) * 160, 0xabc, &payload).to_vec().unwrap()
    }

    fn tone(f: f64, n: usize) -> Vec<i16> {
        (0..n).map(|i| (8000.0 * (2.0 * std::f64::consts::PI * f * i as f64 / 8000.0).sin()) as i16).collect()
    }

    #[test]
    fn audio_goes_through_jitter_buffer_and_decoder_with_concealment() {
        let mut s = MediaSession::new(&neg(Codec::Pcmu, 0), 1, 0).unwrap();
        let t = tone(440.0, FRAME);
        for seq in [0u16, 1, 3] {
            assert!(s.on_rtp(Instant::from_millis(u64::from(seq) * 20), &ulaw_packet(seq, &t)));
        }
        let mut played = Vec::new();
        for k in 0..10u64 {
            played.push(
                s.pop(Instant::from_millis(40 + k * 20)).map(|f| f.iter().map(|&x| i32::from(x).abs()).max()),
            );
        }
        let loud = played.iter().filter(|p| p.is_some_and(|m| m.is_some_and(|m| m > 1000))).count();
        // Frames 0, 1, (2 concealed at half level), 3.
        assert!(loud >= 3, "{played:?}");
        assert!(s.receive_stats().lost >= 1);
        assert!(!s.on_rtp(Instant::ZERO, b"not rtp"));
    }

    #[test]
    fn telephone_events_from_another_ssrc_are_reported_once() {
        let mut s = MediaSession::new(&neg(Codec::Pcmu, 0), 1, 0).unwrap();
        for (i, end) in [(0u16, false), (1, false), (2, true), (3, true), (4, true)] {
            let ev = TelephoneEvent { event: 5, end, volume: 10, duration: 160 * (i + 1) };
            let payload = ev.to_bytes();
            let pkt = RtpPacket::new(101, 900 + i, 5000, 0xdd, &payload).with_marker(i == 0);
            assert!(s.on_rtp(Instant::from_millis(u64::from(i) * 20), &pkt.to_vec().unwrap()));
        }
        let _ = s.pop(Instant::from_millis(200));
        assert_eq!(s.poll_digit(), Digit::from_char('5').ok());
        assert_eq!(s.poll_digit(), None);
    }

    #[test]
    fn inband_tones_are_detected_once() {
        let mut s = MediaSession::new(&neg(Codec::Pcmu, 0), 1, 0).unwrap();
        let mut pcm =
            frontdesk_dtmf::DtmfGenerator::render(frontdesk_dtmf::ToneSpec::default(), "7").unwrap();
        pcm.resize(pcm.len().div_ceil(FRAME) * FRAME + 20 * FRAME, 0);
        let mut digits = Vec::new();
        for (k, frame) in pcm.chunks(FRAME).enumerate() {
            s.on_rtp(Instant::from_millis(k as u64 * 20), &ulaw_packet(k as u16, frame));
            let _ = s.pop(Instant::from_millis(40 + k as u64 * 20));
            digits.extend(std::iter::from_fn(|| s.poll_digit()));
        }
        assert_eq!(digits, vec![Digit::from_char('7').unwrap()]);
    }

    #[test]
    fn packets_carry_consecutive_seq_and_timestamps_and_a_first_marker() {
        let mut s = MediaSession::new(&neg(Codec::Pcma, 8), 77, 0x1234_5678_9abc_def0).unwrap();
        let mut out = Vec::new();
        let mut prev: Option<(u16, u32)> = None;
        for k in 0..5 {
            s.packetize(if k == 2 { None } else { Some(&[100; FRAME]) }, &mut out);
            let p = RtpPacket::parse(&out).unwrap();
            assert_eq!((p.payload_type, p.ssrc, p.payload.len(), p.marker), (8, 77, FRAME, k == 0));
            if let Some((seq, ts)) = prev {
                assert_eq!(p.sequence, seq.wrapping_add(1));
                assert_eq!(p.timestamp, ts.wrapping_add(160));
            }
            prev = Some((p.sequence, p.timestamp));
        }
        assert_eq!(s.sent_packets(), 5);
    }

    #[test]
    fn opus_round_trips_at_8khz_with_48khz_timestamps() {
        let n = Negotiated { codec: Codec::Opus, payload_type: 111, ..neg(Codec::Opus, 111) };
        let (mut a, mut b) = (MediaSession::new(&n, 1, 0).unwrap(), MediaSession::new(&n, 2, 0).unwrap());
        let t = tone(500.0, FRAME * 30);
        let mut out = Vec::new();
        let mut energy = 0i64;
        for (k, frame) in t.chunks(FRAME).enumerate() {
            a.packetize(Some(frame), &mut out);
            assert_eq!(RtpPacket::parse(&out).unwrap().timestamp, (k as u32) * 960);
            b.on_rtp(Instant::from_millis(k as u64 * 20), &out);
            if let Some(pcm) = b.pop(Instant::from_millis(40 + k as u64 * 20)) {
                assert_eq!(pcm.len(), FRAME);
                energy += pcm.iter().map(|&x| i64::from(x).abs()).sum::<i64>();
            }
        }
        assert!(energy > 100_000, "opus decoded silence: {energy}");
    }

    #[test]
    fn rtcp_reports_round_trip_between_two_sessions() {
        let n = neg(Codec::Pcmu, 0);
        let (mut a, mut b) = (MediaSession::new(&n, 10, 0).unwrap(), MediaSession::new(&n, 20, 0).unwrap());
        let mut out = Vec::new();
        // a sends 10 packets, 2 of which are lost on the way to b.
        for k in 0..10 {
            a.packetize(Some(&[500; FRAME]), &mut out);
            if k != 3 && k != 6 {
                b.on_rtp(Instant::from_millis(k * 20), &out);
            }
        }
        a.rtcp_report(Instant::from_millis(200), 0x1111_2222_3333_4444, "a", &mut out);
        assert!(b.on_rtcp(Instant::from_millis(210), &out).is_none()); // a received nothing: no block about b
        b.rtcp_report(Instant::from_millis(300), 0, "b", &mut out);
        let rep = a.on_rtcp(Instant::from_millis(310), &out).expect("b reports on a's stream");
        assert_eq!(rep.cumulative_lost, 2);
        assert!((rep.fraction_lost - 0.2).abs() < 0.01, "{rep:?}");
        assert_eq!(a.peer_report(), Some(rep));
        let parsed = rtcp::parse_compound(&out).unwrap();
        let RtcpPacket::ReceiverReport { reports, .. } = &parsed[0] else { panic!("{parsed:?}") };
        assert_eq!(reports[0].last_sr, 0x2222_3333);
    }
}
