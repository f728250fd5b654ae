//! Property tests: packet round trip, no panic on arbitrary bytes, jitter-buffer ordering and
//! accounting under random reordering, duplication and loss (across both wraps), and one digit
//! per telephone-event whatever happens to its packets.

use frontdesk_rtp::event::EndReason;
use frontdesk_rtp::{
    DtmfEvent, DtmfReceiver, DtmfSender, DtmfSenderConfig, HeaderExtension, JitterBuffer, JitterConfig, Pop,
    RtpPacket,
};
use frontdesk_types::{Digit, Instant};
use proptest::prelude::*;
use std::time::Duration;

#[derive(Debug, Clone)]
struct Fields {
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    csrcs: Vec<u32>,
    ext: Option<(u16, Vec<u8>)>,
    payload: Vec<u8>,
    padding: u8,
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        any::<bool>(),
        0u8..128,
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(any::<u32>(), 0..=15),
        prop::option::of((any::<u16>(), prop::collection::vec(any::<u8>(), 0..10).prop_map(|w| w.repeat(4)))),
        prop::collection::vec(any::<u8>(), 0..300),
        any::<u8>(),
    )
        .prop_map(|(marker, pt, seq, ts, ssrc, csrcs, ext, payload, padding)| Fields {
            marker,
            pt,
            seq,
            ts,
            ssrc,
            csrcs,
            ext,
            payload,
            padding,
        })
}

proptest! {
    #[test]
    fn serialize_then_parse_round_trips(f in fields()) {
        let mut p = RtpPacket::new(f.pt, f.seq, f.ts, f.ssrc, &f.payload)
            .with_marker(f.marker)
            .with_csrcs(&f.csrcs)
            .with_padding(f.padding);
        if let Some((profile, data)) = &f.ext {
            p = p.with_extension(HeaderExtension { profile: *profile, data });
        }
        let bytes = p.to_vec().unwrap();
        prop_assert_eq!(bytes.len(), p.wire_len());
        let q = RtpPacket::parse(&bytes).unwrap();
        prop_assert_eq!(q.marker, f.marker);
        prop_assert_eq!(q.payload_type, f.pt);
        prop_assert_eq!((q.sequence, q.timestamp, q.ssrc), (f.seq, f.ts, f.ssrc));
        prop_assert_eq!(q.csrcs().collect::<Vec<_>>(), f.csrcs.clone());
        prop_assert_eq!(q.extension.map(|e| (e.profile, e.data.to_vec())), f.ext.clone());
        prop_assert_eq!(q.payload, &f.payload[..]);
        prop_assert_eq!(q.padding, f.padding);
        prop_assert_eq!(q.to_vec().unwrap(), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), rtp_like in any::<bool>()) {
        let mut bytes = bytes;
        if rtp_like && !bytes.is_empty() {
            bytes[0] = (bytes[0] & 0x3f) | 0x80; // version 2, so parsing goes past the first check
        }
        if let Ok(p) = RtpPacket::parse(&bytes) {
            prop_assert_eq!(p.to_vec().unwrap().len(), p.wire_len());
            if let Some(e) = p.extension {
                for el in e.elements() {
                    prop_assert!(el.data.len() <= e.data.len());
                }
            }
        }
        let mut jb = JitterBuffer::new(JitterConfig::new(bytes.get(1).map_or(0, |b| b & 0x7f), 8000)).unwrap();
        let mut rx = DtmfReceiver::new(bytes.get(1).map_or(101, |b| b & 0x7f), 8000);
        for k in 0..3u64 {
            let now = Instant::from_millis(k * 20);
            jb.push_datagram(now, &bytes);
            let _ = jb.pop(now);
            rx.handle_datagram(now, &bytes);
            while rx.poll_event().is_some() {}
        }
        let s = jb.stats();
        prop_assert_eq!(s.received, s.played + s.late + s.duplicates + s.discarded + s.buffered);
    }
}

/// One packet of the jitter test: index in the sent sequence, arrival time.
#[derive(Debug, Clone)]
struct Arrival {
    index: u32,
    at_us: u64,
}

fn network() -> impl Strategy<Value = (u16, u32, Vec<Arrival>)> {
    // Start near both wraps half of the time.
    let seq0 = prop_oneof![Just(65_400u16), any::<u16>()];
    let ts0 = prop_oneof![Just(u32::MAX - 8000), any::<u32>()];
    (seq0, ts0, 40u32..300)
        .prop_flat_map(|(seq0, ts0, n)| {
            // Per packet: delay 0-150 ms, lost (10 %), duplicated (10 %) with its own delay.
            let per = (0u64..150_000, prop::bool::weighted(0.1), prop::option::weighted(0.1, 0u64..200_000));
            (Just(seq0), Just(ts0), prop::collection::vec(per, n as usize))
        })
        .prop_map(|(seq0, ts0, per)| {
            let mut arrivals = Vec::new();
            for (i, (delay, lost, dup)) in per.into_iter().enumerate() {
                let sent = i as u64 * 20_000;
                if !lost {
                    arrivals.push(Arrival { index: i as u32, at_us: sent + delay });
                }
                if let Some(d) = dup {
                    arrivals.push(Arrival { index: i as u32, at_us: sent + d });
                }
            }
            arrivals.sort_by_key(|a| a.at_us);
            (seq0, ts0, arrivals)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn jitter_buffer_plays_in_order_without_duplicates_and_accounts_for_every_packet(
        (seq0, ts0, arrivals) in network(),
        phase_us in 0u64..20_000,
    ) {
        let mut jb = JitterBuffer::new(JitterConfig::new(8, 8000)).unwrap();
        let pushed = arrivals.len() as u64;
        let mut it = arrivals.into_iter().peekable();
        let mut played: Vec<u32> = Vec::new();
        let mut k = 0u64;
        loop {
            let now = phase_us + k * 20_000;
            while let Some(a) = it.next_if(|a| a.at_us <= now) {
                let seq = seq0.wrapping_add(a.index as u16);
                let ts = ts0.wrapping_add(a.index * 160);
                let payload = a.index.to_be_bytes();
                let pkt = RtpPacket::new(8, seq, ts, 0xfeed, &payload);
                jb.push(Instant::from_micros(now), &pkt);
            }
            match jb.pop(Instant::from_micros(now)) {
                Pop::Frame(f) => {
                    let index = u32::from_be_bytes(f.payload.try_into().unwrap());
                    prop_assert_eq!(f.sequence, seq0.wrapping_add(index as u16));
                    prop_assert_eq!(f.timestamp, ts0.wrapping_add(index * 160));
                    played.push(index);
                }
                Pop::Lost | Pop::Empty => {}
            }
            let s = jb.stats();
            prop_assert_eq!(s.received, s.played + s.late + s.duplicates + s.discarded + s.buffered);
            prop_assert!((20..=200).contains(&s.target_depth_ms));
            k += 1;
            if it.peek().is_none() && s.buffered == 0 {
                break;
            }
            prop_assert!(k < 100_000);
        }
        let s = jb.stats();
        prop_assert!(played.windows(2).all(|w| w[0] < w[1]), "out of order or repeated: {:?}", played);
        prop_assert_eq!(s.received, pushed);
        prop_assert_eq!(s.played, played.len() as u64);
        prop_assert_eq!(s.received, s.played + s.late + s.duplicates + s.discarded);
        prop_assert_eq!(s.resyncs, 0);
        // It actually plays: most packets that arrived once and in time are heard.
        prop_assert!(s.played * 3 >= pushed, "{:?}", s);
        prop_assert_eq!(s.ssrc_changes, 0);
    }

    #[test]
    fn one_digit_per_event_whatever_the_network_does(
        code in 0u8..16,
        duration_ms in 40u64..3000,
        interval in prop_oneof![Just(20u32), Just(50u32)],
        keep in prop::collection::vec(prop::bool::weighted(0.7), 200),
        swaps in prop::collection::vec((0usize..200, 0usize..3), 0..20),
        ts in any::<u32>(),
    ) {
        let mut cfg = DtmfSenderConfig::new(101, 8000, 0x5150);
        cfg.interval_ms = interval;
        let digit = Digit::from_event(code).unwrap();
        let mut tx = DtmfSender::new(cfg, digit, Duration::from_millis(duration_ms), ts, 0, Instant::ZERO).unwrap();
        let mut pkts = Vec::new();
        let mut buf = Vec::new();
        while tx.next_packet(&mut buf) {
            pkts.push(buf.clone());
        }
        // Lose some packets (not all), and swap some neighbours.
        let mut sent: Vec<Vec<u8>> = pkts.iter().zip(keep.iter().cycle()).filter(|(_, k)| **k).map(|(p, _)| p.clone()).collect();
        if sent.is_empty() {
            sent.push(pkts[0].clone());
        }
        for (i, d) in swaps {
            let (i, j) = (i % sent.len(), (i + d) % sent.len());
            sent.swap(i, j);
        }
        let mut rx = DtmfReceiver::new(101, 8000);
        let mut events = Vec::new();
        for (n, p) in sent.iter().enumerate() {
            rx.handle_datagram(Instant::from_millis(n as u64 * u64::from(interval)), p);
            events.extend(std::iter::from_fn(|| rx.poll_event()));
        }
        if let Some(t) = rx.poll_timeout() {
            rx.handle_timeout(t);
            events.extend(std::iter::from_fn(|| rx.poll_event()));
        }
        let ended: Vec<_> = events.iter().filter_map(|e| if let DtmfEvent::Ended(c) = e { Some(*c) } else { None }).collect();
        prop_assert_eq!(ended.len(), 1, "{:?}", events);
        prop_assert_eq!(ended[0].digit, Some(digit));
        prop_assert_eq!(ended[0].timestamp, ts);
        let total = u32::try_from(duration_ms * 8).unwrap().max(interval * 8);
        prop_assert!(ended[0].duration <= total);
        if ended[0].reason == EndReason::EndBit {
            prop_assert_eq!(ended[0].duration, total);
        }
    }
}
