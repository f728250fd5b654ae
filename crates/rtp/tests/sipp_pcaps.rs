//! Real-peer data: SIPp's RFC 4733 captures (one key press each, sent in an SSRC of their own)
//! through the telephone-event receiver. Each capture must give exactly one digit, the right one.

use frontdesk_rtp::event::EndReason;
use frontdesk_rtp::{DtmfEvent, DtmfReceiver, JitterBuffer, JitterConfig, Pop, RtpPacket, TelephoneEvent};
use frontdesk_types::Instant;
use std::path::PathBuf;

/// One UDP datagram from a capture, with its capture time.
struct Datagram {
    at: Instant,
    payload: Vec<u8>,
}

fn u16_at(b: &[u8], at: usize, le: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(if le { u16::from_le_bytes(s) } else { u16::from_be_bytes(s) })
}

fn u32_at(b: &[u8], at: usize, le: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if le { u32::from_le_bytes(s) } else { u32::from_be_bytes(s) })
}

/// A tiny classic-libpcap reader: Ethernet (1) or Linux cooked (113) frames, IPv4, UDP.
fn read_pcap(bytes: &[u8]) -> Result<Vec<Datagram>, String> {
    let magic = u32_at(bytes, 0, false).ok_or("no global header")?;
    let (le, nanos) = match magic {
        0xa1b2_c3d4 => (false, false),
        0xd4c3_b2a1 => (true, false),
        0xa1b2_3c4d => (false, true),
        0x4d3c_b2a1 => (true, true),
        m => return Err(format!("not a classic pcap (magic {m:#x})")),
    };
    let linktype = u32_at(bytes, 20, le).ok_or("short global header")?;
    let mut at = 24;
    let mut out = Vec::new();
    while at < bytes.len() {
        let sec = u32_at(bytes, at, le).ok_or("short record header")?;
        let frac = u32_at(bytes, at + 4, le).ok_or("short record header")?;
        let incl = u32_at(bytes, at + 8, le).ok_or("short record header")? as usize;
        let frame = bytes.get(at + 16..at + 16 + incl).ok_or("truncated record")?;
        at += 16 + incl;
        let micros = u64::from(sec) * 1_000_000 + u64::from(if nanos { frac / 1000 } else { frac });
        let (mut ethertype, mut l3) = match linktype {
            1 => (u16_at(frame, 12, false).ok_or("short Ethernet header")?, 14),
            113 => (u16_at(frame, 14, false).ok_or("short cooked header")?, 16),
            other => return Err(format!("link type {other} not supported")),
        };
        while ethertype == 0x8100 {
            ethertype = u16_at(frame, l3 + 2, false).ok_or("short VLAN tag")?;
            l3 += 4;
        }
        if ethertype != 0x0800 {
            continue;
        }
        let ip = frame.get(l3..).ok_or("no IP header")?;
        let ihl = usize::from(ip.first().ok_or("empty IP")? & 0x0f) * 4;
        let total = usize::from(u16_at(ip, 2, false).ok_or("short IP header")?);
        if ip.get(9) != Some(&17) {
            continue;
        }
        let udp = ip.get(ihl..total.min(ip.len())).ok_or("bad IP lengths")?;
        let udp_len = usize::from(u16_at(udp, 4, false).ok_or("short UDP header")?);
        let payload = udp.get(8..udp_len).ok_or("bad UDP length")?;
        out.push(Datagram { at: Instant::from_micros(micros), payload: payload.to_vec() });
    }
    Ok(out)
}

fn capture(name: &str) -> Vec<Datagram> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(format!("dtmf_2833_{name}.pcap"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    read_pcap(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const CAPTURES: [(&str, char); 12] = [
    ("0", '0'),
    ("1", '1'),
    ("2", '2'),
    ("3", '3'),
    ("4", '4'),
    ("5", '5'),
    ("6", '6'),
    ("7", '7'),
    ("8", '8'),
    ("9", '9'),
    ("star", '*'),
    ("pound", '#'),
];

#[test]
fn each_sipp_capture_gives_exactly_its_digit() {
    for (name, want) in CAPTURES {
        let dgrams = capture(name);
        assert!(dgrams.len() >= 4, "{name}: {} datagrams", dgrams.len());
        let mut rx = DtmfReceiver::new(101, 8000);
        let mut events = Vec::new();
        let mut end_reports = 0;
        for d in &dgrams {
            let pkt = RtpPacket::parse(&d.payload).unwrap_or_else(|e| panic!("{name}: {e}"));
            if TelephoneEvent::parse(pkt.payload).is_ok_and(|e| e.end) {
                end_reports += 1;
            }
            assert!(rx.handle_packet(d.at, &pkt), "{name}: payload type {}", pkt.payload_type);
            events.extend(std::iter::from_fn(|| rx.poll_event()));
        }
        // Nothing is still open: the end bit closed the event, no timeout needed.
        assert_eq!(rx.poll_timeout(), None, "{name}");
        assert!(end_reports >= 2, "{name}: the capture repeats its end report ({end_reports})");
        let ended: Vec<_> =
            events.iter().filter_map(|e| if let DtmfEvent::Ended(c) = e { Some(*c) } else { None }).collect();
        assert_eq!(ended.len(), 1, "{name}: {events:?}");
        let c = ended[0];
        assert_eq!(c.digit.map(|d| d.as_char()), Some(want), "{name}");
        assert_eq!(c.reason, EndReason::EndBit, "{name}");
        assert!(c.duration_ms >= 40 && c.duration_ms <= 2000, "{name}: {} ms", c.duration_ms);
        assert_eq!(events.iter().filter(|e| matches!(e, DtmfEvent::Began { .. })).count(), 1, "{name}");
        assert_eq!(rx.stats().ignored, end_reports - 1, "{name}: redundant end reports are ignored");
    }
}

#[test]
fn captures_round_trip_through_serialize() {
    for (name, _) in CAPTURES {
        for d in capture(name) {
            let pkt = RtpPacket::parse(&d.payload).unwrap();
            assert_eq!(pkt.to_vec().unwrap(), d.payload, "{name}");
        }
    }
}

#[test]
fn pcap_reader_rejects_garbage() {
    assert!(read_pcap(b"not a pcap at all, not at all").is_err());
    assert!(read_pcap(&[0xd4, 0xc3, 0xb2, 0xa1]).is_err());
}

#[test]
fn events_in_their_own_ssrc_do_not_disturb_the_audio_stream() {
    // A G.711 stream (SSRC 0xA0D10, PT 0) with SIPp's '#' event packets (their own SSRC and
    // sequence numbers, PT 101) interleaved, as a SIPp call sends them. Every datagram goes to
    // both the jitter buffer and the DTMF receiver.
    let events = capture("pound");
    let t0 = events[0].at.as_micros();
    let mut datagrams: Vec<(u64, Vec<u8>)> =
        events.iter().map(|d| (d.at.as_micros() - t0 + 200_000, d.payload.clone())).collect();
    let audio = [0xd5u8; 160];
    for i in 0..100u16 {
        let pkt = RtpPacket::new(0, 30_000 + i, u32::from(i) * 160, 0xA0D10, &audio);
        datagrams.push((u64::from(i) * 20_000, pkt.to_vec().unwrap()));
    }
    datagrams.sort_by_key(|d| d.0);
    let mut jb = JitterBuffer::new(JitterConfig::new(0, 8000)).unwrap();
    let mut rx = DtmfReceiver::new(101, 8000);
    let mut digits = Vec::new();
    let mut frames = 0;
    let mut it = datagrams.into_iter().peekable();
    for k in 0..110u64 {
        let now = k * 20_000 + 10_000;
        while let Some((at, d)) = it.next_if(|d| d.0 <= now) {
            jb.push_datagram(Instant::from_micros(at), &d);
            rx.handle_datagram(Instant::from_micros(at), &d);
        }
        if let Pop::Frame(f) = jb.pop(Instant::from_micros(now)) {
            assert_eq!(f.payload, audio);
            frames += 1;
        }
        while let Some(e) = rx.poll_event() {
            if let DtmfEvent::Ended(c) = e {
                digits.extend(c.digit.map(|d| d.as_char()));
            }
        }
    }
    assert_eq!(digits, ['#']);
    assert_eq!(frames, 100);
    let s = jb.stats();
    assert_eq!((s.ssrc_changes, s.other_payload_type, s.late, s.lost), (0, events.len() as u64, 0, 0));
}
