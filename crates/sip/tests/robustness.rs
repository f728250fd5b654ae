//! Property tests at the endpoint level: any input sequence, any mutation, no panic; and
//! whatever happened, every call and transaction is gone once enough time has passed.

#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

use std::time::Duration;

use frontdesk_sip::{Config, Endpoint, Event, LocalMedia};
use frontdesk_types::Instant;
use proptest::prelude::*;

const TEMPLATES: &[&str] = &[
    "INVITE sip:s@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK1;rport\r\nRecord-Route: <sip:10.0.0.9;lr>\r\nFrom: <sip:a@10.0.0.5>;tag=f1\r\nTo: <sip:s@10.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:a@10.0.0.5:5061>\r\nContent-Type: application/sdp\r\nContent-Length: 94\r\n\r\nv=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\na=sendonly\r\n",
    "ACK sip:frontdesk@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK2\r\nFrom: <sip:a@10.0.0.5>;tag=f1\r\nTo: <sip:s@10.0.0.1>;tag=0000000000000000\r\nCall-ID: c1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
    "BYE sip:frontdesk@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK3\r\nFrom: <sip:a@10.0.0.5>;tag=f1\r\nTo: <sip:s@10.0.0.1>;tag=x\r\nCall-ID: c1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
    "CANCEL sip:s@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK1;rport\r\nFrom: <sip:a@10.0.0.5>;tag=f1\r\nTo: <sip:s@10.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n",
    "OPTIONS sip:s@10.0.0.1 SIP/2.0\r\nv: SIP/2.0/TCP 10.0.0.5;branch=z9hG4bK4\r\nf: <sip:a@10.0.0.5>;tag=f2\r\nt: <sip:s@10.0.0.1>\r\ni: c2\r\nCSeq: 9 OPTIONS\r\nl: 0\r\n\r\n",
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK5\r\nFrom: <sip:a@10.0.0.1>;tag=f3\r\nTo: <sip:b@10.0.0.5>;tag=t3\r\nCall-ID: c3\r\nCSeq: 1 INVITE\r\nContact: <sip:b@10.0.0.5>\r\nContent-Length: 0\r\n\r\n",
    "NOTIFY sip:frontdesk@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5061;branch=z9hG4bK6\r\nFrom: <sip:a@10.0.0.5>;tag=f1\r\nTo: <sip:s@10.0.0.1>;tag=x\r\nCall-ID: c1\r\nCSeq: 3 NOTIFY\r\nEvent: refer\r\nContent-Length: 20\r\n\r\nSIP/2.0 200 OK\r\n\r\n\r\n",
];

#[derive(Debug, Clone)]
enum Input {
    Template { which: usize, flips: Vec<(usize, u8)>, cut: Option<usize> },
    Raw(Vec<u8>),
    Wait(u16),
    Act(u8),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => (0..TEMPLATES.len(), proptest::collection::vec((0usize..400, any::<u8>()), 0..3), proptest::option::of(0usize..400))
            .prop_map(|(which, flips, cut)| Input::Template { which, flips, cut }),
        1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(Input::Raw),
        2 => any::<u16>().prop_map(Input::Wait),
        2 => any::<u8>().prop_map(Input::Act),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_input_sequence_is_safe_and_nothing_is_stuck(inputs in proptest::collection::vec(input(), 1..25)) {
        let mut ep = Endpoint::new(Config::new("10.0.0.1:5060".parse().unwrap()));
        let mut now = Instant::from_millis(1);
        let from = "10.0.0.5:5061".parse().unwrap();
        let mut calls = Vec::new();
        for i in inputs {
            match i {
                Input::Template { which, flips, cut } => {
                    let mut m = TEMPLATES[which].as_bytes().to_vec();
                    for (idx, b) in flips {
                        if let Some(x) = m.get_mut(idx) { *x = b; }
                    }
                    if let Some(c) = cut { m.truncate(c); }
                    let _ = ep.handle_datagram(now, from, &m);
                }
                Input::Raw(b) => { let _ = ep.handle_datagram(now, from, &b); }
                Input::Wait(ms) => {
                    now += Duration::from_millis(u64::from(ms));
                    ep.handle_timeout(now);
                }
                Input::Act(a) => {
                    if let Some(&c) = calls.get(usize::from(a) % calls.len().max(1)) {
                        let _ = match a % 5 {
                            0 => ep.ring(now, c),
                            1 => ep.answer(now, c, LocalMedia::new("10.0.0.1".parse().unwrap(), 4000)).map(|_| ()),
                            2 => ep.reject(now, c, 486),
                            3 => ep.hangup(now, c),
                            _ => ep.refer(now, c, &frontdesk_sip::message::SipUri::parse("sip:x@10.0.0.8").unwrap()),
                        };
                    }
                }
            }
            while ep.poll_transmit().is_some() {}
            while let Some(e) = ep.poll_event() {
                if let Event::IncomingCall { call, .. } = e { calls.push(call); }
            }
        }
        // Five hours later, hopping timer to timer, nothing may be left.
        let end = now + Duration::from_secs(5 * 3600);
        let mut hops = 0;
        while let Some(t) = ep.poll_timeout() {
            prop_assert!(t <= end, "a timer beyond the horizon: {t:?}");
            now = t.max(now);
            ep.handle_timeout(now);
            while ep.poll_transmit().is_some() {}
            while ep.poll_event().is_some() {}
            hops += 1;
            prop_assert!(hops < 10_000, "timer loop does not converge");
        }
        prop_assert_eq!(ep.call_count(), 0);
        prop_assert_eq!(ep.transaction_count(), 0);
    }
}

#[test]
fn the_templates_are_valid_so_the_mutations_start_from_real_traffic() {
    for t in TEMPLATES {
        assert!(frontdesk_sip::message::Message::parse(t.as_bytes()).is_ok(), "{t}");
    }
    let mut ep = Endpoint::new(Config::new("10.0.0.1:5060".parse().unwrap()));
    ep.handle_datagram(Instant::ZERO, "10.0.0.5:5061".parse().unwrap(), TEMPLATES[0].as_bytes()).unwrap();
    assert!(matches!(ep.poll_event(), Some(Event::IncomingCall { .. })));
}

mod common;

use common::Pair;
use frontdesk_sip::InviteParams;
use frontdesk_sip::message::SipUri;

/// App actions in a lossy two-endpoint call.
#[derive(Debug, Clone, Copy)]
enum Step {
    Wait(u16),
    BRing,
    BAnswer,
    BReject,
    AHangup,
    BHangup,
    AHold,
    BRefer,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => any::<u16>().prop_map(Step::Wait),
        1 => Just(Step::BRing),
        2 => Just(Step::BAnswer),
        1 => Just(Step::BReject),
        1 => Just(Step::AHangup),
        1 => Just(Step::BHangup),
        1 => Just(Step::AHold),
        1 => Just(Step::BRefer),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Two endpoints, a lossy network (message n lost when `loss[n]` is set, about one in five),
    /// random
    /// app actions: afterwards both ends are idle, and a call either both ends saw answered is
    /// ended on both ends.
    #[test]
    fn lossy_calls_always_wind_down(loss in proptest::collection::vec(proptest::bool::weighted(0.2), 128), steps in proptest::collection::vec(step(), 1..16)) {
        let mut p = Pair::new();
        let counter = std::rc::Rc::new(std::cell::Cell::new(0usize));
        for node in [&mut p.a, &mut p.b] {
            let (c, l) = (counter.clone(), loss.clone());
            node.drop = Some(Box::new(move |_| {
                let i = c.get();
                c.set(i + 1);
                l.get(i).copied().unwrap_or(false)
            }));
        }
        let target = SipUri::parse(&format!("sip:ivr@{}", p.b.addr)).unwrap();
        let now = p.now;
        let media = p.a.media(30000);
        let a = p.a.ep.invite(now, InviteParams::new(target, media)).unwrap();
        p.drive();
        let mut b = None;
        for s in steps {
            for e in p.b.take_events() {
                if let Event::IncomingCall { call, .. } = e { b = Some(call); }
            }
            let now = p.now;
            match (s, b) {
                (Step::Wait(ms), _) => p.run_for(Duration::from_millis(u64::from(ms % 20_000))),
                (Step::BRing, Some(b)) => { let _ = p.b.ep.ring(now, b); }
                (Step::BAnswer, Some(b)) => { let m = p.b.media(40000); let _ = p.b.ep.answer(now, b, m); }
                (Step::BReject, Some(b)) => { let _ = p.b.ep.reject(now, b, 486); }
                (Step::BHangup, Some(b)) => { let _ = p.b.ep.hangup(now, b); }
                (Step::AHangup, _) => { let _ = p.a.ep.hangup(now, a); }
                (Step::AHold, _) => {
                    let mut m = p.a.media(30000);
                    m.direction = frontdesk_sip::Direction::SendOnly;
                    let _ = p.a.ep.reinvite(now, a, m);
                }
                (Step::BRefer, Some(b)) => {
                    let _ = p.b.ep.refer(now, b, &SipUri::parse("sip:agent@10.0.0.50").unwrap());
                }
                _ => {}
            }
            p.drive();
        }
        // Whoever is still in a call hangs up; then the network heals and time runs out.
        let now = p.now;
        let _ = p.a.ep.hangup(now, a);
        if let Some(b) = b { let _ = p.b.ep.hangup(now, b); }
        p.run_for(Duration::from_secs(5 * 3600));
        prop_assert_eq!((p.a.ep.call_count(), p.a.ep.transaction_count()), (0, 0));
        prop_assert_eq!((p.b.ep.call_count(), p.b.ep.transaction_count()), (0, 0));
        prop_assert_eq!(p.a.ep.poll_timeout(), None);
        prop_assert_eq!(p.b.ep.poll_timeout(), None);
        let a_ended = p.a.take_events().iter().filter(|e| matches!(e, Event::CallEnded { .. })).count();
        prop_assert_eq!(a_ended, 1, "the outgoing call ends exactly once");
    }
}
