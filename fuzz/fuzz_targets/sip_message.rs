//! SIP message, SDP and endpoint on arbitrary bytes.
//!
//! 1. The whole input as one message: a message that parses must serialise and parse back to
//!    the same value, and its typed headers and SDP body must parse or fail without panicking.
//! 2. The input as a TCP stream through the framer.
//! 3. The input split at NUL bytes into datagrams fed to an endpoint that answers every call,
//!    with the clock advanced between them; afterwards every timer runs out and nothing may be
//!    left: no call, no transaction.
#![no_main]

use std::time::Duration;

use frontdesk_sip::message::{Message, StreamFramer};
use frontdesk_sip::{Config, Endpoint, Event, LocalMedia, SessionDescription};
use frontdesk_types::Instant;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::parse(data) {
        let again = Message::parse(&m.to_bytes()).expect("a serialised message parses");
        assert_eq!(again, m, "serialise/parse round trip");
        let h = m.headers();
        let _ =
            (h.top_via(), h.from(), h.to(), h.cseq(), h.call_id(), h.contact(), h.name_addrs("Record-Route"));
        let body = match &m {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        };
        if let Ok(sdp) = SessionDescription::parse(body) {
            let local = LocalMedia::new("192.0.2.1".parse().expect("literal"), 4000);
            let _ = local.answer(&sdp);
            let _ = local.accept_answer(&sdp);
            assert!(SessionDescription::parse(&sdp.to_bytes()).is_ok(), "serialised SDP parses");
        }
    }

    let mut framer = StreamFramer::new();
    framer.push(data);
    while let Ok(Some(frame)) = framer.next_message() {
        let _ = Message::parse(&frame);
    }

    let mut ep = Endpoint::new(Config::new("192.0.2.1:5060".parse().expect("literal")));
    let from = "192.0.2.9:5060".parse().expect("literal");
    let mut now = Instant::from_millis(1);
    for dgram in data.split(|b| *b == 0) {
        let _ = ep.handle_datagram(now, from, dgram);
        now += Duration::from_millis(u64::from(dgram.first().copied().unwrap_or(0)) * 10);
        ep.handle_timeout(now);
        while ep.poll_transmit().is_some() {}
        while let Some(e) = ep.poll_event() {
            if let Event::IncomingCall { call, .. } = e {
                let _ = ep.answer(now, call, LocalMedia::new("192.0.2.1".parse().expect("literal"), 4000));
            }
        }
    }
    let mut hops = 0u32;
    while let Some(t) = ep.poll_timeout() {
        now = t.max(now);
        ep.handle_timeout(now);
        while ep.poll_transmit().is_some() {}
        while ep.poll_event().is_some() {}
        hops += 1;
        assert!(hops < 100_000, "timers do not converge");
    }
    assert_eq!((ep.call_count(), ep.transaction_count()), (0, 0), "something outlived every timer");
});
