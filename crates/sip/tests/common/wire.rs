//! Byte-level helpers: SIPp-shaped message text and one endpoint driven by hand.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::time::Duration;

use frontdesk_sip::message::{Message, Request, Response};
use frontdesk_sip::{CallHandle, Codec, Config, Endpoint, Error, Event, LocalMedia, Transmit};
use frontdesk_types::Instant;

pub const SIPP: &str = "10.0.0.5:5061";

pub const PROXY: &str = "10.0.0.9:5060";

/// Message text with `\n` line ends -> wire bytes, `[len]` replaced by the body length.
pub fn wire(text: &str) -> Vec<u8> {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let body = body.replace('\n', "\r\n");
    let head = head.replace("[len]", &body.len().to_string()).replace('\n', "\r\n");
    format!("{head}\r\n\r\n{body}").into_bytes()
}

pub struct Ua {
    pub ep: Endpoint,
    pub now: Instant,
}

impl Ua {
    pub fn new() -> Self {
        let mut cfg = Config::new("10.0.0.1:5060".parse().unwrap());
        cfg.seed = 42;
        Ua { ep: Endpoint::new(cfg), now: Instant::from_millis(5_000) }
    }

    pub fn feed(&mut self, from: &str, text: &str) -> Result<(), Error> {
        self.ep.handle_datagram(self.now, from.parse().unwrap(), &wire(text))
    }

    pub fn out(&mut self) -> Vec<Transmit> {
        std::iter::from_fn(|| self.ep.poll_transmit()).collect()
    }

    pub fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.ep.poll_event()).collect()
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        if self.ep.poll_timeout().is_some_and(|t| t <= self.now) {
            self.ep.handle_timeout(self.now);
        }
    }
}

pub fn response(t: &Transmit) -> Response {
    match Message::parse(&t.payload).unwrap() {
        Message::Response(r) => r,
        Message::Request(r) => panic!("expected a response, got {}", r.method),
    }
}

pub fn request(t: &Transmit) -> Request {
    match Message::parse(&t.payload).unwrap() {
        Message::Request(r) => r,
        Message::Response(r) => panic!("expected a request, got {}", r.code),
    }
}

pub const OFFER: &str = "v=0
o=user1 53655765 2353687637 IN IP4 10.0.0.5
s=-
c=IN IP4 10.0.0.5
t=0 0
m=audio 6000 RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
";

/// SIPp's uac scenario through a record-routing proxy.
pub fn sipp_invite(branch: &str, body: &str) -> String {
    format!(
        "INVITE sip:service@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-proxy-{branch}
Via: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK-{branch};rport
Record-Route: <sip:10.0.0.9;lr;ftag=77>
Record-Route: <sip:10.0.0.99:5070;lr>
From: sipp <sip:sipp@10.0.0.5:5061>;tag=4242SIPpTag091
To: <sip:service@10.0.0.1:5060>
Call-ID: 1-4242@10.0.0.5
CSeq: 1 INVITE
Contact: sip:sipp@10.0.0.5:5061
Max-Forwards: 69
Subject: Performance Test
Content-Type: application/sdp
Content-Length: [len]

{body}"
    )
}

/// Feeds the INVITE, answers it, ACKs it; returns the call and our To tag.
pub fn answered_call(ua: &mut Ua) -> (CallHandle, String) {
    ua.feed(PROXY, &sipp_invite("1", OFFER)).unwrap();
    let Some(Event::IncomingCall { call, .. }) = ua.events().into_iter().next() else { panic!() };
    ua.out();
    let m = ua.ep.answer(ua.now, call, LocalMedia::new("10.0.0.1".parse().unwrap(), 40000)).unwrap().unwrap();
    assert_eq!(m.codec, Codec::Pcmu, "our preference (PCMU first) beats the offer's order");
    let ok = response(&ua.out()[0]);
    let tag = ok.headers.to().unwrap().tag().unwrap().to_owned();
    ua.feed(
        PROXY,
        &format!(
            "ACK sip:frontdesk@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK-ack1
Route: <sip:10.0.0.99:5070;lr>
From: sipp <sip:sipp@10.0.0.5:5061>;tag=4242SIPpTag091
To: <sip:service@10.0.0.1:5060>;tag={tag}
Call-ID: 1-4242@10.0.0.5
CSeq: 1 ACK
Contact: sip:sipp@10.0.0.5:5061
Max-Forwards: 70
Content-Length: 0

"
        ),
    )
    .unwrap();
    assert!(matches!(ua.events().as_slice(), [Event::CallConfirmed { .. }]));
    (call, tag)
}

pub fn ack(tag: &str, cseq: u32) -> String {
    format!(
        "ACK sip:frontdesk@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK-ack{cseq}
From: sipp <sip:sipp@10.0.0.5:5061>;tag=4242SIPpTag091
To: <sip:service@10.0.0.1:5060>;tag={tag}
Call-ID: 1-4242@10.0.0.5
CSeq: {cseq} ACK
Content-Length: 0

"
    )
}

pub fn reinvite(tag: &str, cseq: u32, body: &str) -> String {
    format!(
        "INVITE sip:frontdesk@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK-re{cseq}
From: sipp <sip:sipp@10.0.0.5:5061>;tag=4242SIPpTag091
To: <sip:service@10.0.0.1:5060>;tag={tag}
Call-ID: 1-4242@10.0.0.5
CSeq: {cseq} INVITE
Contact: sip:sipp@10.0.0.5:5061
Content-Type: application/sdp
Content-Length: [len]

{body}"
    )
}

pub fn challenge(req: &Request, code: u16, header: &str, alg: &str) -> Vec<u8> {
    let mut r = Response::to_request(req, code);
    r.headers.set("To", format!("{};tag=srv", req.headers.get("To").unwrap()));
    r.headers.push(header, format!("Digest realm=\"pbx\", nonce=\"n-{alg}\", qop=\"auth\", algorithm={alg}"));
    r.to_bytes()
}
