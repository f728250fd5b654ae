//! Byte-level UAS tests: real SIPp-shaped messages in, wire bytes out.

#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::wire::*;
use frontdesk_sip::message::{Response, SipUri};
use frontdesk_sip::{Codec, Direction, EndReason, Error, Event, InviteParams, LocalMedia};

#[test]
fn uas_answers_through_a_record_routing_proxy_and_routes_its_bye() {
    let mut ua = Ua::new();
    ua.feed(PROXY, &sipp_invite("1", OFFER)).unwrap();
    let ev = ua.events();
    let [Event::IncomingCall { call, call_id, from, offer, headers, remote, request_uri, .. }] =
        ev.as_slice()
    else {
        panic!("{ev:?}")
    };
    assert_eq!(call_id, "1-4242@10.0.0.5");
    assert_eq!(request_uri.expose(), "sip:service@10.0.0.1:5060");
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
    // UPDATE: a bare session refresh, then an offer (hold) answered in its 200.
    let update = |cseq: u32, body: &str| {
        reinvite(&tag, cseq, body)
            .replacen("INVITE", "UPDATE", 1)
            .replace(&format!("{cseq} INVITE"), &format!("{cseq} UPDATE"))
    };
    ua.feed(SIPP, &update(6, "").replace("Content-Type: application/sdp\n", "")).unwrap();
    assert_eq!((response(&ua.out()[0]).code, ua.events().len()), (200, 0));
    ua.feed(SIPP, &update(7, &OFFER.replace("a=ptime:20\n", "a=ptime:20\na=inactive\n"))).unwrap();
    let ok = response(&ua.out()[0]);
    let sdp = frontdesk_sip::SessionDescription::parse(&ok.body).unwrap();
    assert_eq!(sdp.direction(&sdp.media[0]), Direction::Inactive);
    assert!(
        matches!(ua.events().as_slice(), [Event::MediaChanged { media, .. }] if media.direction == Direction::Inactive)
    );
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
