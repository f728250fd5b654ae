//! RTP parse + jitter buffer on arbitrary datagrams.
//!
//! Input: byte 0 picks the buffer's payload type; then records of
//! `[len: u8][advance ms: u8][len bytes of datagram]`. Each datagram is parsed (a valid packet
//! must re-serialize to the same bytes) and pushed into a jitter buffer; the buffer is popped on
//! a 20 ms schedule as the clock advances. Panics are findings, and so is a broken invariant:
//! every received packet is played, late, duplicate, discarded or still buffered.
#![no_main]

use frontdesk_rtp::{JitterBuffer, JitterConfig, Pop, RtpPacket};
use frontdesk_types::Instant;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pt, mut rest)) = data.split_first() else { return };
    let Ok(mut jb) = JitterBuffer::new(JitterConfig::new(pt & 0x7f, 8000)) else { return };
    let mut now_ms = 0u64;
    let mut next_pop = 20u64;
    let mut last_played: Option<(u32, u64)> = None;
    while let [len, adv, tail @ ..] = rest {
        let take = usize::from(*len).min(tail.len());
        let (dgram, after) = tail.split_at(take);
        rest = after;
        if let Ok(p) = RtpPacket::parse(dgram) {
            let again = p.to_vec().expect("a parsed packet serializes");
            assert_eq!(again.len(), dgram.len(), "parse/serialize round trip");
            // Padding content is undefined (RFC 3550 5.1) and written as zeros; the count byte
            // and everything before the padding must match.
            let body = dgram.len() - usize::from(p.padding);
            assert_eq!(again[..body], dgram[..body], "parse/serialize round trip");
            assert_eq!(again.last(), dgram.last());
            for el in p.extension.iter().flat_map(|e| e.elements()) {
                assert!(el.data.len() <= dgram.len());
            }
        }
        now_ms += u64::from(*adv);
        while next_pop <= now_ms {
            let played = match jb.pop(Instant::from_millis(next_pop)) {
                Pop::Frame(f) => Some(f.timestamp),
                _ => None,
            };
            let s = jb.stats();
            if let Some(ts) = played {
                // Within one timeline, frames come out in timestamp order.
                if let Some((prev, resyncs)) = last_played
                    && resyncs == s.resyncs + s.ssrc_changes
                {
                    assert!(ts.wrapping_sub(prev) as i32 > 0, "frame order {prev} then {ts}");
                }
                last_played = Some((ts, s.resyncs + s.ssrc_changes));
            }
            next_pop += 20;
        }
        jb.push_datagram(Instant::from_millis(now_ms), dgram);
        let s = jb.stats();
        assert_eq!(s.received, s.played + s.late + s.duplicates + s.discarded + s.buffered, "{s:?}");
        assert!((20..=200).contains(&s.target_depth_ms), "{s:?}");
    }
});
