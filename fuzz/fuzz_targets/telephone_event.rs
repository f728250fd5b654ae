//! RFC 4733 receive of arbitrary payloads.
//!
//! Input: records of `[flags: u8][advance ms: u8][4 payload bytes]`, where flags bit 0 is the
//! marker, bits 1-2 pick one of four SSRCs and bits 3-7 step the timestamp (by that many
//! 20 ms frames; 0 repeats it). The receiver must never panic, every `Ended` must follow its
//! `Began`, and no more events may end than began.
#![no_main]

use frontdesk_rtp::{DtmfEvent, DtmfReceiver};
use frontdesk_types::Instant;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rx = DtmfReceiver::new(101, 8000);
    let mut now_ms = 0u64;
    let mut ts = 0u32;
    let (mut began, mut ended) = (0u64, 0u64);
    let mut open: Option<(u32, u32)> = None;
    // The whole input as one datagram first: arbitrary bytes through the RTP parser too.
    rx.handle_datagram(Instant::ZERO, data);
    for rec in data.chunks(6) {
        let [flags, adv, payload @ ..] = rec else { continue };
        let marker = flags & 1 != 0;
        let ssrc = 0x1000 + u32::from((flags >> 1) & 3);
        ts = ts.wrapping_add(u32::from(flags >> 3) * 160);
        now_ms += u64::from(*adv);
        rx.handle_payload(Instant::from_millis(now_ms), ssrc, ts, marker, payload);
        if let Some(t) = rx.poll_timeout() {
            assert!(t >= Instant::from_millis(now_ms));
        }
        while let Some(ev) = rx.poll_event() {
            match ev {
                DtmfEvent::Began { ssrc, timestamp, .. } => {
                    assert!(open.is_none(), "an event began while another was open");
                    open = Some((ssrc, timestamp));
                    began += 1;
                }
                DtmfEvent::Ended(c) => {
                    assert_eq!(open.take(), Some((c.ssrc, c.timestamp)), "ended an event that was not open");
                    ended += 1;
                }
            }
        }
        assert!(ended <= began);
    }
});
