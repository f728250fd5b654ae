//! Byte-level UAC tests: registration and outgoing calls against a scripted server.

#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::wire::*;
use frontdesk_sip::auth::Credentials;
use frontdesk_sip::message::{Response, SipUri};
use frontdesk_sip::{
    Codec, DigestCredentials, EndReason, Error, Event, InviteParams, LocalMedia, RegisterParams,
    RegistrationState,
};

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

/// SIPp's `uas_rr` answering our call: 180, then 200 with SDP retransmitted until our ACK;
/// then we hang up and it answers the BYE.
#[test]
fn outgoing_call_to_a_sipp_uas() {
    let mut ua = Ua::new();
    let target = SipUri::parse(&format!("sip:service@{SIPP}")).unwrap();
    let call = ua
        .ep
        .invite(ua.now, InviteParams::new(target, LocalMedia::new("10.0.0.1".parse().unwrap(), 30000)))
        .unwrap();
    let out = ua.out();
    assert_eq!(out[0].destination, SIPP.parse::<SocketAddr>().unwrap());
    let inv = request(&out[0]);
    // SIPp copies our headers with [last_*] and adds its tag and Contact.
    let copied = |name: &str| inv.headers.get(name).unwrap().to_owned();
    let sipp_response = |status: &str, body: &str| {
        format!(
            "SIP/2.0 {status}
Via: {}
From: {}
To: {};tag=4242SIPpTag011
Call-ID: {}
CSeq: {}
Contact: <sip:10.0.0.5:5061;transport=UDP>
{}Content-Length: [len]

{body}",
            copied("Via"),
            copied("From"),
            copied("To"),
            copied("Call-ID"),
            copied("CSeq"),
            if body.is_empty() { "" } else { "Content-Type: application/sdp\n" }
        )
    };
    ua.feed(SIPP, &sipp_response("180 Ringing", "")).unwrap();
    assert_eq!(ua.events(), vec![Event::CallProgress { call, code: 180, media: None }]);
    let answer = "v=0
o=user1 53655765 2353687637 IN IP4 10.0.0.5
s=-
c=IN IP4 10.0.0.5
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
";
    ua.advance(Duration::from_secs(2));
    assert!(ua.out().is_empty(), "no INVITE retransmission after a provisional");
    ua.feed(SIPP, &sipp_response("200 OK", answer)).unwrap();
    let ev = ua.events();
    let [Event::CallAnswered { media: Some(m), .. }] = ev.as_slice() else { panic!("{ev:?}") };
    assert_eq!((m.codec, m.payload_type, m.telephone_event), (Codec::Pcmu, 0, None));
    assert_eq!(m.remote, Some("10.0.0.5:6000".parse().unwrap()));
    let out = ua.out();
    let ack = request(&out[0]);
    assert_eq!(
        (ack.method.as_str(), ack.uri.to_string()),
        ("ACK", "sip:10.0.0.5:5061;transport=UDP".to_owned())
    );
    assert_eq!(out[0].destination, SIPP.parse::<SocketAddr>().unwrap());
    assert_eq!(ack.headers.to().unwrap().tag(), Some("4242SIPpTag011"));
    assert_eq!(ack.headers.cseq().unwrap().to_string(), "1 ACK");
    // SIPp retransmits the 200 (retrans="500") when our ACK is lost: we ACK again.
    ua.advance(Duration::from_millis(500));
    ua.feed(SIPP, &sipp_response("200 OK", answer)).unwrap();
    assert_eq!(ua.out()[0].payload, out[0].payload);
    assert!(ua.events().is_empty());

    ua.ep.hangup(ua.now, call).unwrap();
    let bye = request(&ua.out()[0]);
    assert_eq!(bye.headers.cseq().unwrap().to_string(), "2 BYE");
    let mut ok = Response::to_request(&bye, 200);
    ok.headers.push("Contact", "<sip:10.0.0.5:5061;transport=UDP>");
    ua.ep.handle_datagram(ua.now, SIPP.parse().unwrap(), &ok.to_bytes()).unwrap();
    assert_eq!(ua.events(), vec![Event::CallEnded { call, reason: EndReason::Local, code: None }]);
    // Timer K (T4 over UDP) and the INVITE's Timer M (64*T1), then nothing is left.
    ua.advance(Duration::from_secs(40));
    assert_eq!((ua.ep.transaction_count(), ua.ep.call_count(), ua.ep.poll_timeout()), (0, 0, None));
}
