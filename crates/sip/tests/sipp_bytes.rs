//! Byte-level tests: real SIPp-shaped messages in, wire bytes out.

#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

use std::net::SocketAddr;
use std::time::Duration;

use frontdesk_sip::auth::Credentials;
use frontdesk_sip::message::{Message, Request, Response, SipUri};
use frontdesk_sip::{
    CallHandle, Codec, Config, DigestCredentials, Direction, EndReason, Endpoint, Error, Event, InviteParams,
    LocalMedia, RegisterParams, RegistrationState, Transmit,
};
use frontdesk_types::Instant;

const SIPP: &str = "10.0.0.5:5061";
const PROXY: &str = "10.0.0.9:5060";

/// Message text with `\n` line ends -> wire bytes, `[len]` replaced by the body length.
fn wire(text: &str) -> Vec<u8> {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let body = body.replace('\n', "\r\n");
    let head = head.replace("[len]", &body.len().to_string()).replace('\n', "\r\n");
    format!("{head}\r\n\r\n{body}").into_bytes()
}

struct Ua {
    ep: Endpoint,
    now: Instant,
}

impl Ua {
    fn new() -> Self {
        let mut cfg = Config::new("10.0.0.1:5060".parse().unwrap());
        cfg.seed = 42;
        Ua { ep: Endpoint::new(cfg), now: Instant::from_millis(5_000) }
    }

    fn feed(&mut self, from: &str, text: &str) -> Result<(), Error> {
        self.ep.handle_datagram(self.now, from.parse().unwrap(), &wire(text))
    }

    fn out(&mut self) -> Vec<Transmit> {
        std::iter::from_fn(|| self.ep.poll_transmit()).collect()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.ep.poll_event()).collect()
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        if self.ep.poll_timeout().is_some_and(|t| t <= self.now) {
            self.ep.handle_timeout(self.now);
        }
    }
}

fn response(t: &Transmit) -> Response {
    match Message::parse(&t.payload).unwrap() {
        Message::Response(r) => r,
        Message::Request(r) => panic!("expected a response, got {}", r.method),
    }
}

fn request(t: &Transmit) -> Request {
    match Message::parse(&t.payload).unwrap() {
        Message::Request(r) => r,
        Message::Response(r) => panic!("expected a request, got {}", r.code),
    }
}

const OFFER: &str = "v=0
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
fn sipp_invite(branch: &str, body: &str) -> String {
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
fn answered_call(ua: &mut Ua) -> (CallHandle, String) {
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

#[test]
fn uas_answers_through_a_record_routing_proxy_and_routes_its_bye() {
    let mut ua = Ua::new();
    ua.feed(PROXY, &sipp_invite("1", OFFER)).unwrap();
    let ev = ua.events();
    let [Event::IncomingCall { call, call_id, from, offer, headers, remote, .. }] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(call_id, "1-4242@10.0.0.5");
    assert_eq!(from.expose(), "sip:sipp@10.0.0.5:5061");
    assert_eq!(format!("{from:?}"), "REDACTED");
    assert!(headers.expose().iter().any(|(n, v)| n == "Subject" && v == "Performance Test"));
    assert_eq!(offer.as_ref().unwrap().media[0].port, 6000);
    assert_eq!(*remote, PROXY.parse::<SocketAddr>().unwrap());
    let call = *call;

    let out = ua.out();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].destination, PROXY.parse::<SocketAddr>().unwrap(), "responses go back to the source");
    let trying = response(&out[0]);
    assert_eq!(trying.code, 100);
    assert_eq!(trying.headers.to().unwrap().tag(), None, "no To tag on 100");
    assert_eq!(trying.headers.get_all("Via").len(), 2, "both Vias copied");
    assert!(trying.headers.get("Record-Route").is_none());

    ua.ep.ring(ua.now, call).unwrap();
    let ringing = response(&ua.out()[0]);
    assert_eq!(ringing.code, 180);
    let tag = ringing.headers.to().unwrap().tag().unwrap().to_owned();
    assert_eq!(
        ringing.headers.get_all("Record-Route"),
        vec!["<sip:10.0.0.9;lr;ftag=77>", "<sip:10.0.0.99:5070;lr>"]
    );

    let media = LocalMedia::new("10.0.0.1".parse().unwrap(), 40000);
    ua.ep.answer(ua.now, call, media).unwrap();
    let ok = response(&ua.out()[0]);
    assert_eq!(ok.code, 200);
    assert_eq!(ok.headers.to().unwrap().tag(), Some(tag.as_str()), "same tag as the 180");
    assert_eq!(ok.headers.get_all("Record-Route").len(), 2, "Record-Route copied into the 2xx (12.1.1)");
    assert_eq!(ok.headers.contact().unwrap().uri.to_string(), "sip:frontdesk@10.0.0.1:5060");
    assert_eq!(ok.headers.get("Content-Type"), Some("application/sdp"));
    let answer = frontdesk_sip::SessionDescription::parse(&ok.body).unwrap();
    assert_eq!(answer.media[0].formats, vec!["0", "101"]);
    assert_eq!(answer.direction(&answer.media[0]), Direction::SendRecv);

    // Retransmitted INVITE after the 2xx: absorbed (RFC 6026), the dialog retransmits on its timer.
    ua.feed(PROXY, &sipp_invite("1", OFFER)).unwrap();
    assert!(ua.out().is_empty());
    assert!(ua.events().is_empty());
    ua.advance(Duration::from_millis(500));
    assert_eq!(response(&ua.out()[0]).code, 200, "2xx retransmitted after T1");

    ua.feed(
        PROXY,
        &format!(
            "ACK sip:frontdesk@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK-ack1
From: sipp <sip:sipp@10.0.0.5:5061>;tag=4242SIPpTag091
To: <sip:service@10.0.0.1:5060>;tag={tag}
Call-ID: 1-4242@10.0.0.5
CSeq: 1 ACK
Content-Length: 0

"
        ),
    )
    .unwrap();
    assert_eq!(ua.events(), vec![Event::CallConfirmed { call, media: None }]);
    ua.advance(Duration::from_secs(10));
    assert!(ua.out().is_empty(), "no 2xx after the ACK");

    ua.ep.hangup(ua.now, call).unwrap();
    let out = ua.out();
    assert_eq!(out[0].destination, PROXY.parse::<SocketAddr>().unwrap(), "first Route is the next hop");
    let bye = request(&out[0]);
    assert_eq!(bye.uri.to_string(), "sip:sipp@10.0.0.5:5061", "Request-URI is the remote target");
    assert_eq!(bye.headers.get_all("Route"), vec!["<sip:10.0.0.9;lr;ftag=77>", "<sip:10.0.0.99:5070;lr>"]);
    assert_eq!(bye.headers.from().unwrap().tag(), Some(tag.as_str()));
    assert_eq!(bye.headers.to().unwrap().tag(), Some("4242SIPpTag091"));
    assert_eq!(bye.headers.call_id().unwrap(), "1-4242@10.0.0.5");
    assert_eq!(bye.headers.cseq().unwrap().method, frontdesk_sip::message::Method::Bye);
    assert!(bye.headers.top_via().unwrap().branch().unwrap().starts_with("z9hG4bK"));
    assert_eq!(ua.events(), vec![Event::CallEnded { call, reason: EndReason::Local, code: None }]);
}

#[test]
fn via_gets_received_and_rport() {
    let mut ua = Ua::new();
    // The Via claims 192.168.1.20:5061 but the packet came from 203.0.113.7:40000 (NAT).
    let invite = sipp_invite("nat", OFFER)
        .replace("Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-proxy-nat\n", "")
        .replace("10.0.0.5:5061;branch=z9hG4bK-nat;rport", "192.168.1.20:5061;branch=z9hG4bK-nat;rport");
    ua.feed("203.0.113.7:40000", &invite).unwrap();
    let out = ua.out();
    assert_eq!(out[0].destination, "203.0.113.7:40000".parse::<SocketAddr>().unwrap());
    let via = response(&out[0]).headers.top_via().unwrap();
    assert_eq!(via.param("received"), Some(Some("203.0.113.7")));
    assert_eq!(via.param("rport"), Some(Some("40000")));
}

#[test]
fn remote_bye_is_answered_and_retransmissions_get_the_same_200() {
    let mut ua = Ua::new();
    let (call, tag) = answered_call(&mut ua);
    let bye = format!(
        "BYE sip:frontdesk@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK-bye1
From: sipp <sip:sipp@10.0.0.5:5061>;tag=4242SIPpTag091
To: <sip:service@10.0.0.1:5060>;tag={tag}
Call-ID: 1-4242@10.0.0.5
CSeq: 2 BYE
Contact: sip:sipp@10.0.0.5:5061
Max-Forwards: 70
Content-Length: 0

"
    );
    ua.feed(SIPP, &bye).unwrap();
    assert_eq!(ua.events(), vec![Event::CallEnded { call, reason: EndReason::RemoteHangup, code: None }]);
    let first = ua.out();
    assert_eq!(response(&first[0]).code, 200);
    ua.advance(Duration::from_millis(500));
    ua.feed(SIPP, &bye).unwrap();
    let again = ua.out();
    assert_eq!(again[0].payload, first[0].payload, "server transaction re-sends its last response");
    // Timer J (32 s) then nothing left.
    ua.advance(Duration::from_secs(33));
    ua.advance(Duration::from_secs(33));
    assert_eq!(ua.ep.transaction_count(), 0);
    assert_eq!(ua.ep.call_count(), 0);
    // A BYE for a dialog that no longer exists.
    ua.feed(SIPP, &bye.replace("bye1", "bye2").replace("CSeq: 2", "CSeq: 3")).unwrap();
    assert_eq!(response(&ua.out()[0]).code, 481);
}

#[test]
fn out_of_dialog_requests_get_the_right_status() {
    let mut ua = Ua::new();
    let req = |method: &str, extra: &str| {
        format!(
            "{method} sip:service@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK-{method}
From: sipp <sip:sipp@10.0.0.5:5061>;tag=1
To: <sip:service@10.0.0.1:5060>
Call-ID: {method}-1@10.0.0.5
CSeq: 1 {method}
{extra}Content-Length: 0

"
        )
    };
    for (method, code) in
        [("OPTIONS", 200), ("FOO", 501), ("SUBSCRIBE", 405), ("BYE", 481), ("CANCEL", 481), ("REGISTER", 405)]
    {
        ua.feed(SIPP, &req(method, "")).unwrap();
        let r = response(&ua.out()[0]);
        assert_eq!(r.code, code, "{method}");
        if code == 405 || code == 200 {
            assert!(r.headers.get("Allow").unwrap().contains("INVITE"), "{method}");
        }
        assert!(r.headers.to().unwrap().tag().is_some(), "{method}: final responses carry a To tag");
    }
    ua.feed(SIPP, &req("INVITE", "Contact: <sip:sipp@10.0.0.5:5061>\nRequire: 100rel\n")).unwrap();
    let r = response(&ua.out()[0]);
    assert_eq!((r.code, r.headers.get("Unsupported")), (420, Some("100rel")));
    ua.feed(
        SIPP,
        &req("INVITE", "Contact: <sip:sipp@10.0.0.5:5061>\nMax-Forwards: 0\n")
            .replace("z9hG4bK-INVITE", "z9hG4bK-mf"),
    )
    .unwrap();
    assert_eq!(response(&ua.out()[0]).code, 483);
    // Missing Call-ID: 400 and a typed error.
    let bad = req("OPTIONS", "").replace("Call-ID: OPTIONS-1@10.0.0.5\n", "").replace("-OPTIONS", "-x");
    assert_eq!(ua.feed(SIPP, &bad), Err(Error::BadHeader("Call-ID")));
    assert_eq!(response(&ua.out()[0]).code, 400);
    // CSeq method mismatch: 400.
    assert!(
        ua.feed(
            SIPP,
            &req("OPTIONS", "").replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE").replace("-OPTIONS", "-y")
        )
        .is_err()
    );
    assert_eq!(response(&ua.out()[0]).code, 400);
    // Garbage and keep-alives: no answer, no panic.
    assert!(ua.ep.handle_datagram(ua.now, SIPP.parse().unwrap(), b"\x00\xffgarbage\r\n\r\n").is_err());
    assert_eq!(ua.ep.handle_datagram(ua.now, SIPP.parse().unwrap(), b"\r\n\r\n"), Ok(()));
    assert!(ua.out().is_empty());
    assert!(ua.events().is_empty());
}

#[test]
fn bad_sdp_and_unsupported_media_are_refused() {
    let mut ua = Ua::new();
    ua.feed(SIPP, &sipp_invite("bad", "v=0\no=broken\n")).unwrap();
    assert_eq!(response(ua.out().last().unwrap()).code, 400);
    let g729 = OFFER
        .replace("RTP/AVP 8 0 101", "RTP/AVP 18")
        .replace("a=rtpmap:8 PCMA/8000\na=rtpmap:0 PCMU/8000\n", "");
    ua.feed(SIPP, &sipp_invite("g729", &g729)).unwrap();
    assert_eq!(response(ua.out().last().unwrap()).code, 488);
    assert!(ua.events().is_empty());
}

#[test]
fn late_offer_invite_gets_our_offer_and_the_answer_comes_in_the_ack() {
    let mut ua = Ua::new();
    let invite = sipp_invite("late", "").replace("Content-Type: application/sdp\n", "");
    ua.feed(SIPP, &invite).unwrap();
    let Some(Event::IncomingCall { call, offer: None, .. }) = ua.events().into_iter().next() else {
        panic!()
    };
    ua.out();
    assert_eq!(
        ua.ep.answer(ua.now, call, LocalMedia::new("10.0.0.1".parse().unwrap(), 40000)).unwrap(),
        None
    );
    let ok = response(&ua.out()[0]);
    let our_offer = frontdesk_sip::SessionDescription::parse(&ok.body).unwrap();
    assert_eq!(our_offer.media[0].formats, vec!["0", "8", "111", "101", "102"]);
    let tag = ok.headers.to().unwrap().tag().unwrap().to_owned();
    let answer = "v=0\no=- 1 1 IN IP4 10.0.0.5\ns=-\nc=IN IP4 10.0.0.5\nt=0 0\nm=audio 7000 RTP/AVP 8\n";
    ua.feed(
        SIPP,
        &format!(
            "ACK sip:frontdesk@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK-ack9
From: sipp <sip:sipp@10.0.0.5:5061>;tag=4242SIPpTag091
To: <sip:service@10.0.0.1:5060>;tag={tag}
Call-ID: 1-4242@10.0.0.5
CSeq: 1 ACK
Content-Type: application/sdp
Content-Length: [len]

{answer}"
        ),
    )
    .unwrap();
    let ev = ua.events();
    let [Event::CallConfirmed { media: Some(m), .. }] = ev.as_slice() else { panic!("{ev:?}") };
    assert_eq!((m.codec, m.remote), (Codec::Pcma, Some("10.0.0.5:7000".parse().unwrap())));
}

fn ack(tag: &str, cseq: u32) -> String {
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

fn reinvite(tag: &str, cseq: u32, body: &str) -> String {
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

#[test]
fn peer_hold_unhold_and_refused_codec_change() {
    let mut ua = Ua::new();
    let (call, tag) = answered_call(&mut ua);
    ua.out();
    ua.feed(SIPP, &reinvite(&tag, 2, &OFFER.replace("a=ptime:20\n", "a=ptime:20\na=sendonly\n"))).unwrap();
    let ok = response(&ua.out()[0]);
    assert_eq!(ok.code, 200);
    let sdp = frontdesk_sip::SessionDescription::parse(&ok.body).unwrap();
    assert_eq!(sdp.direction(&sdp.media[0]), Direction::RecvOnly, "hold answered with recvonly");
    assert_eq!(sdp.origin.version, 2);
    let ev = ua.events();
    let [Event::MediaChanged { call: c, media }] = ev.as_slice() else { panic!("{ev:?}") };
    assert_eq!((*c, media.direction), (call, Direction::RecvOnly));
    // A second re-INVITE before the ACK: 491.
    ua.feed(SIPP, &reinvite(&tag, 3, OFFER)).unwrap();
    assert_eq!(response(&ua.out()[0]).code, 491);
    ua.feed(SIPP, &ack(&tag, 2)).unwrap();
    // Unhold.
    ua.feed(SIPP, &reinvite(&tag, 4, OFFER)).unwrap();
    let ok = response(&ua.out()[0]);
    let sdp = frontdesk_sip::SessionDescription::parse(&ok.body).unwrap();
    assert_eq!(sdp.direction(&sdp.media[0]), Direction::SendRecv);
    assert!(matches!(ua.events().as_slice(), [Event::MediaChanged { .. }]));
    ua.feed(SIPP, &ack(&tag, 4)).unwrap();
    // Codec change to something we cannot do: 488 and the call stays up.
    let g729 = OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 18");
    ua.feed(SIPP, &reinvite(&tag, 5, &g729)).unwrap();
    let out = ua.out();
    assert!(out.iter().any(|t| response(t).code == 488));
    assert!(ua.events().is_empty());
    assert_eq!(ua.ep.call_count(), 1);
    // Stale CSeq: 500.
    ua.feed(SIPP, &reinvite(&tag, 1, OFFER).replace("re1", "stale")).unwrap();
    assert_eq!(response(&ua.out()[0]).code, 500);
}

#[test]
fn blind_transfer_follows_notify_sipfrag() {
    let mut ua = Ua::new();
    let (call, tag) = answered_call(&mut ua);
    ua.out();
    ua.ep.refer(ua.now, call, &SipUri::parse("sip:agent@10.0.0.50").unwrap()).unwrap();
    let refer = request(&ua.out()[0]);
    assert_eq!(refer.method, frontdesk_sip::message::Method::Refer);
    assert_eq!(refer.headers.get("Refer-To"), Some("<sip:agent@10.0.0.50>"));
    assert_eq!(refer.headers.get_all("Route").len(), 2);
    let mut accepted = Response::to_request(&refer, 202);
    accepted.headers.set(
        "To",
        format!("{};tag=4242SIPpTag091", refer.headers.get("To").unwrap().split(";tag").next().unwrap()),
    );
    ua.ep.handle_datagram(ua.now, SIPP.parse().unwrap(), &accepted.to_bytes()).unwrap();
    assert_eq!(ua.events(), vec![Event::ReferProgress { call, code: 202, done: false }]);
    let notify = |cseq: u32, frag: &str, state: &str| {
        format!(
            "NOTIFY sip:frontdesk@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK-n{cseq}
From: sipp <sip:sipp@10.0.0.5:5061>;tag=4242SIPpTag091
To: <sip:service@10.0.0.1:5060>;tag={tag}
Call-ID: 1-4242@10.0.0.5
CSeq: {cseq} NOTIFY
Event: refer
Subscription-State: {state}
Content-Type: message/sipfrag;version=2.0
Content-Length: [len]

{frag}
"
        )
    };
    ua.feed(SIPP, &notify(10, "SIP/2.0 100 Trying", "active;expires=60")).unwrap();
    assert_eq!(response(&ua.out()[0]).code, 200);
    assert_eq!(ua.events(), vec![Event::ReferProgress { call, code: 100, done: false }]);
    ua.feed(SIPP, &notify(11, "SIP/2.0 200 OK", "terminated;reason=noresource")).unwrap();
    assert_eq!(response(&ua.out()[0]).code, 200);
    assert_eq!(ua.events(), vec![Event::ReferProgress { call, code: 200, done: true }]);
}

fn challenge(req: &Request, code: u16, header: &str, alg: &str) -> Vec<u8> {
    let mut r = Response::to_request(req, code);
    r.headers.set("To", format!("{};tag=srv", req.headers.get("To").unwrap()));
    r.headers.push(header, format!("Digest realm=\"pbx\", nonce=\"n-{alg}\", qop=\"auth\", algorithm={alg}"));
    r.to_bytes()
}

#[test]
fn register_with_digest_refresh_and_unregister() {
    let mut ua = Ua::new();
    let mut params = RegisterParams::new(SipUri::parse("sip:10.0.0.7").unwrap(), "1001");
    params.auth = Some(DigestCredentials { username: "1001".into(), password: "s3cret".into() });
    params.expires = Duration::from_secs(300);
    let reg = ua.ep.register(ua.now, params).unwrap();
    let out = ua.out();
    assert_eq!(out[0].destination, "10.0.0.7:5060".parse::<SocketAddr>().unwrap());
    let first = request(&out[0]);
    assert_eq!(first.headers.get("Expires"), Some("300"));
    assert_eq!(first.headers.get("To"), Some("<sip:1001@10.0.0.7>"));
    ua.ep
        .handle_datagram(
            ua.now,
            "10.0.0.7:5060".parse().unwrap(),
            &challenge(&first, 401, "WWW-Authenticate", "MD5"),
        )
        .unwrap();
    let second = request(&ua.out()[0]);
    assert_eq!(second.headers.cseq().unwrap().seq, 2);
    assert_eq!(
        second.headers.call_id().unwrap(),
        first.headers.call_id().unwrap(),
        "same Call-ID for a registration"
    );
    let cred = Credentials::parse(second.headers.get("Authorization").unwrap()).unwrap();
    assert!(cred.verify("REGISTER", "s3cret"));
    assert_eq!(cred.param("uri"), Some("sip:10.0.0.7"));

    let mut ok = Response::to_request(&second, 200);
    ok.headers.push("Contact", "<sip:frontdesk@10.0.0.1:5060>;expires=120");
    ua.ep.handle_datagram(ua.now, "10.0.0.7:5060".parse().unwrap(), &ok.to_bytes()).unwrap();
    assert_eq!(
        ua.events(),
        vec![Event::Registration {
            registration: reg,
            state: RegistrationState::Registered { expires: Duration::from_secs(120) }
        }]
    );
    // Refresh at half of a short grant.
    let refresh_at = ua.now + Duration::from_secs(60);
    ua.advance(Duration::from_secs(59));
    assert!(ua.out().is_empty());
    assert!(ua.ep.poll_timeout().unwrap() <= refresh_at);
    ua.advance(Duration::from_secs(1));
    let refresh = request(ua.out().last().unwrap());
    assert_eq!((refresh.method.as_str(), refresh.headers.cseq().unwrap().seq), ("REGISTER", 3));

    ua.ep
        .handle_datagram(
            ua.now,
            "10.0.0.7:5060".parse().unwrap(),
            &Response::to_request(&refresh, 403).to_bytes(),
        )
        .unwrap();
    assert_eq!(
        ua.events(),
        vec![Event::Registration { registration: reg, state: RegistrationState::Failed { code: 403 } }]
    );
    ua.advance(Duration::from_secs(60));
    let retry = request(ua.out().last().unwrap());
    assert_eq!(retry.headers.cseq().unwrap().seq, 4, "retried after a minute");

    ua.ep.unregister(ua.now, reg).unwrap();
    let bye = request(ua.out().last().unwrap());
    assert_eq!(bye.headers.get("Expires"), Some("0"));
    ua.ep
        .handle_datagram(
            ua.now,
            "10.0.0.7:5060".parse().unwrap(),
            &Response::to_request(&bye, 200).to_bytes(),
        )
        .unwrap();
    assert_eq!(
        ua.events(),
        vec![Event::Registration { registration: reg, state: RegistrationState::Unregistered }]
    );
}

#[test]
fn outbound_invite_through_proxy_with_407_sha256() {
    let mut ua = Ua::new();
    let target = SipUri::parse("sip:+15551234@carrier.example").unwrap();
    let mut p = InviteParams::new(target, LocalMedia::new("10.0.0.1".parse().unwrap(), 30000));
    p.outbound_proxy = Some(SipUri::parse("sip:10.0.0.9").unwrap());
    p.auth = Some(DigestCredentials { username: "trunk".into(), password: "pw".into() });
    let call = ua.ep.invite(ua.now, p).unwrap();
    let out = ua.out();
    assert_eq!(out[0].destination, PROXY.parse::<SocketAddr>().unwrap());
    let inv = request(&out[0]);
    assert_eq!(inv.uri.to_string(), "sip:+15551234@carrier.example");
    assert_eq!(inv.headers.get("Route"), Some("<sip:10.0.0.9;lr>"));
    ua.ep
        .handle_datagram(
            ua.now,
            PROXY.parse().unwrap(),
            &challenge(&inv, 407, "Proxy-Authenticate", "SHA-256"),
        )
        .unwrap();
    let out = ua.out();
    assert_eq!(out.len(), 2, "ACK for the 407 and the new INVITE");
    assert_eq!(request(&out[0]).method.as_str(), "ACK");
    let inv2 = request(&out[1]);
    assert_eq!(inv2.headers.cseq().unwrap().seq, 2);
    assert_eq!(inv2.headers.from().unwrap().tag(), inv.headers.from().unwrap().tag());
    assert_ne!(inv2.headers.top_via().unwrap().branch(), inv.headers.top_via().unwrap().branch());
    let cred = Credentials::parse(inv2.headers.get("Proxy-Authorization").unwrap()).unwrap();
    assert_eq!(cred.param("algorithm"), Some("SHA-256"));
    assert!(cred.verify("INVITE", "pw"));

    let mut ringing = Response::to_request(&inv2, 180);
    ringing.headers.set("To", format!("{};tag=callee", inv2.headers.get("To").unwrap()));
    ua.ep.handle_datagram(ua.now, PROXY.parse().unwrap(), &ringing.to_bytes()).unwrap();
    assert_eq!(ua.events(), vec![Event::CallProgress { call, code: 180, media: None }]);
    let mut ok = ringing.clone();
    ok.code = 200;
    ok.reason = "OK".into();
    ok.headers.push("Record-Route", "<sip:10.0.0.9;lr>, <sip:10.0.0.77;lr>");
    ok.headers.push("Contact", "<sip:callee@10.0.0.60:5080>");
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = wire(&format!("X\n\n{}", OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 0")))[3..].to_vec();
    ua.ep.handle_datagram(ua.now, PROXY.parse().unwrap(), &ok.to_bytes()).unwrap();
    let ev = ua.events();
    let [Event::CallAnswered { call: c, media: Some(m) }] = ev.as_slice() else { panic!("{ev:?}") };
    assert_eq!((*c, m.codec, m.remote), (call, Codec::Pcmu, Some("10.0.0.5:6000".parse().unwrap())));
    let out = ua.out();
    let ack = request(&out[0]);
    assert_eq!(out[0].destination, PROXY.parse::<SocketAddr>().unwrap());
    assert_eq!(ack.uri.to_string(), "sip:callee@10.0.0.60:5080", "ACK to the remote target");
    assert_eq!(
        ack.headers.get_all("Route"),
        vec!["<sip:10.0.0.77;lr>", "<sip:10.0.0.9;lr>"],
        "UAC reverses Record-Route"
    );
    assert_eq!(ack.headers.cseq().unwrap().to_string(), "2 ACK");
    // A retransmitted 2xx is ACKed again.
    ua.ep.handle_datagram(ua.now, PROXY.parse().unwrap(), &ok.to_bytes()).unwrap();
    assert_eq!(ua.out()[0].payload, out[0].payload);
}

#[test]
fn repeated_challenges_give_up() {
    let mut ua = Ua::new();
    let mut p = InviteParams::new(
        SipUri::parse("sip:x@10.0.0.9").unwrap(),
        LocalMedia::new("10.0.0.1".parse().unwrap(), 30000),
    );
    p.auth = Some(DigestCredentials { username: "u".into(), password: "wrong".into() });
    let call = ua.ep.invite(ua.now, p).unwrap();
    for _ in 0..3 {
        let out = ua.out();
        let inv = request(out.iter().rev().find(|t| request(t).method.as_str() == "INVITE").unwrap());
        ua.ep
            .handle_datagram(ua.now, PROXY.parse().unwrap(), &challenge(&inv, 401, "WWW-Authenticate", "MD5"))
            .unwrap();
    }
    assert_eq!(ua.events(), vec![Event::CallEnded { call, reason: EndReason::Rejected, code: Some(401) }]);
    // Without credentials, an unresolvable host is an error, not a guess.
    let p = InviteParams::new(
        SipUri::parse("sip:x@pbx.example").unwrap(),
        LocalMedia::new("10.0.0.1".parse().unwrap(), 1),
    );
    assert_eq!(ua.ep.invite(ua.now, p).unwrap_err(), Error::Unresolved);
}

#[test]
fn info_dtmf_and_a_forked_second_answer() {
    let mut ua = Ua::new();
    let (call, tag) = answered_call(&mut ua);
    ua.out();
    let info = |cseq: u32, ctype: &str, body: &str| {
        format!(
            "INFO sip:frontdesk@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK-info{cseq}
From: sipp <sip:sipp@10.0.0.5:5061>;tag=4242SIPpTag091
To: <sip:service@10.0.0.1:5060>;tag={tag}
Call-ID: 1-4242@10.0.0.5
CSeq: {cseq} INFO
Content-Type: {ctype}
Content-Length: [len]

{body}"
        )
    };
    ua.feed(SIPP, &info(5, "application/dtmf-relay", "Signal=#\nDuration=160\n")).unwrap();
    assert_eq!(response(&ua.out()[0]).code, 200);
    let pound = frontdesk_types::Digit::from_char('#').unwrap();
    assert_eq!(ua.events(), vec![Event::Dtmf { call, digit: pound, duration_ms: Some(160) }]);
    ua.feed(SIPP, &info(6, "application/dtmf", "7")).unwrap();
    let seven = frontdesk_types::Digit::from_char('7').unwrap();
    assert_eq!(ua.events(), vec![Event::Dtmf { call, digit: seven, duration_ms: None }]);
    ua.feed(SIPP, &info(7, "application/dtmf-relay", "Signal=x\n")).unwrap();
    assert_eq!(response(&ua.out()[0]).code, 200);
    assert!(ua.events().is_empty(), "not a key: acknowledged, no event");

    // Outgoing call answered by two forks: the second 2xx is ACKed and hung up.
    let mut p = InviteParams::new(
        SipUri::parse("sip:x@10.0.0.9").unwrap(),
        LocalMedia::new("10.0.0.1".parse().unwrap(), 30000),
    );
    p.transport = frontdesk_sip::Transport::Udp;
    let out_call = ua.ep.invite(ua.now, p).unwrap();
    let inv = request(&ua.out()[0]);
    let answer_from = |tag: &str, contact: &str| {
        let mut ok = Response::to_request(&inv, 200);
        ok.headers.set("To", format!("{};tag={tag}", inv.headers.get("To").unwrap()));
        ok.headers.push("Contact", contact);
        ok.to_bytes()
    };
    ua.ep
        .handle_datagram(ua.now, PROXY.parse().unwrap(), &answer_from("fork1", "<sip:a@10.0.0.61>"))
        .unwrap();
    assert!(matches!(ua.events().as_slice(), [Event::CallAnswered { call: c, .. }] if *c == out_call));
    assert_eq!(request(&ua.out()[0]).method.as_str(), "ACK");
    ua.ep
        .handle_datagram(ua.now, PROXY.parse().unwrap(), &answer_from("fork2", "<sip:b@10.0.0.62>"))
        .unwrap();
    let out = ua.out();
    let methods: Vec<String> = out.iter().map(|t| request(t).method.as_str().to_owned()).collect();
    assert_eq!(methods, vec!["ACK", "BYE"]);
    assert!(out.iter().all(|t| t.destination == "10.0.0.62:5060".parse::<SocketAddr>().unwrap()));
    assert_eq!(request(&out[1]).headers.to().unwrap().tag(), Some("fork2"));
    assert!(ua.events().is_empty(), "the first leg is unaffected");
}
