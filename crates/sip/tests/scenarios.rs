//! Two endpoints against each other on a fake clock: calls, retransmissions, timeouts.

#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use std::time::Duration;

use common::{Node, Pair};
use frontdesk_sip::message::SipUri;
use frontdesk_sip::{CallHandle, Codec, Config, Direction, EndReason, Event, InviteParams, Transport};
use frontdesk_types::Instant;

fn invite_params(p: &Pair) -> InviteParams {
    let target = SipUri::parse(&format!("sip:service@{}", p.b.addr)).unwrap();
    InviteParams::new(target, p.a.media(30000))
}

/// A calls B; returns (A's handle, B's handle) with B's IncomingCall consumed.
fn call_in(p: &mut Pair, params: InviteParams) -> (CallHandle, CallHandle) {
    let now = p.now;
    let a_call = p.a.ep.invite(now, params).unwrap();
    p.drive();
    let ev = p.b.take_events();
    let Some(Event::IncomingCall { call, offer, remote, .. }) = ev.first() else {
        panic!("no IncomingCall: {ev:?}")
    };
    assert!(offer.is_some());
    assert_eq!(*remote, p.a.addr);
    (a_call, *call)
}

fn established(p: &mut Pair) -> (CallHandle, CallHandle) {
    let (a, b) = call_in(p, invite_params(p));
    let now = p.now;
    p.b.ep.answer(now, b, p.b.media(40000)).unwrap();
    p.drive();
    p.a.take_events();
    p.b.take_events();
    (a, b)
}

fn assert_idle(node: &Node) {
    assert_eq!(node.ep.call_count(), 0, "calls left");
    assert_eq!(node.ep.transaction_count(), 0, "transactions left");
    assert_eq!(node.ep.poll_timeout(), None, "timers left");
}

#[test]
fn basic_call_ring_answer_bye_and_everything_ends() {
    let mut p = Pair::new();
    let (a, b) = {
        let params = invite_params(&p);
        call_in(&mut p, params)
    };
    assert_eq!(p.b.sent_matching("SIP/2.0 100").len(), 1, "100 Trying sent at once");
    let now = p.now;
    p.b.ep.ring(now, b).unwrap();
    p.drive();
    assert!(matches!(p.a.take_events().as_slice(), [Event::CallProgress { code: 180, media: None, .. }]));
    let now = p.now;
    let agreed = p.b.ep.answer(now, b, p.b.media(40000)).unwrap().unwrap();
    assert_eq!((agreed.codec, agreed.payload_type, agreed.telephone_event), (Codec::Pcmu, 0, Some(101)));
    assert_eq!(agreed.remote, Some("10.0.0.1:30000".parse().unwrap()));
    p.drive();
    let ev = p.a.take_events();
    let [Event::CallAnswered { call, media: Some(m) }] = ev.as_slice() else { panic!("{ev:?}") };
    assert_eq!(*call, a);
    assert_eq!(p.a.ep.call_id(a), p.b.ep.call_id(b), "both ends name the dialog alike");
    assert!(p.a.ep.call_id(a).unwrap().ends_with("@10.0.0.1"));
    assert_eq!((m.codec, m.remote), (Codec::Pcmu, Some("10.0.0.2:40000".parse().unwrap())));
    assert!(matches!(p.b.take_events().as_slice(), [Event::CallConfirmed { media: None, .. }]));
    assert_eq!(p.b.sent_matching("SIP/2.0 200").len(), 1, "ACK stopped the 2xx retransmissions");

    let now = p.now;
    p.a.ep.hangup(now, a).unwrap();
    assert!(matches!(p.a.ep.poll_event(), Some(Event::CallEnded { reason: EndReason::Local, .. })));
    p.drive();
    assert_eq!(
        p.b.take_events(),
        vec![Event::CallEnded { call: b, reason: EndReason::RemoteHangup, code: None }]
    );
    assert_eq!(p.a.sent_matching("BYE").len(), 1);
    // Every transaction ends by its own timer (the longest: Timer J/L/M = 32 s).
    p.run_for(Duration::from_secs(40));
    assert_idle(&p.a);
    assert_idle(&p.b);
}

#[test]
fn lost_acks_make_the_uas_retransmit_2xx_then_give_up_with_bye() {
    let mut p = Pair::new();
    p.a.drop = Some(Box::new(|m| m.starts_with("ACK")));
    let (_a, b) = {
        let params = invite_params(&p);
        call_in(&mut p, params)
    };
    let t0 = p.now;
    p.b.ep.answer(t0, b, p.b.media(40000)).unwrap();
    p.run_for(Duration::from_secs(40));
    let rel: Vec<u64> =
        p.b.sent_matching("SIP/2.0 200")
            .iter()
            .map(|(t, _)| (t.as_micros() - t0.as_micros()) / 1000)
            .collect();
    // 13.3.1.4: T1, doubling up to T2, until 64*T1.
    assert_eq!(rel, vec![0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    let ev = p.b.take_events();
    assert!(ev.contains(&Event::CallEnded { call: b, reason: EndReason::AckTimeout, code: None }), "{ev:?}");
    let byes = p.b.sent_matching("BYE");
    assert_eq!(byes.first().map(|(t, _)| t.as_micros() - t0.as_micros()), Some(32_000_000));
    // A re-ACKed every retransmitted 2xx (the ACKs were lost), then got B's BYE.
    assert_eq!(p.a.sent_matching("ACK").len(), 11);
    assert!(
        p.a.take_events()
            .iter()
            .any(|e| matches!(e, Event::CallEnded { reason: EndReason::RemoteHangup, .. }))
    );
}

/// Found by the SIPp load bench (1,000 calls): the gateway's process stalled for about 1.7 s
/// right after answering; the 2xx retransmission timer then fired late, was rescheduled to the
/// very instant it fired, and the endpoint's safety net ("a due timer that does not move its
/// call on") ended the call as Failed, answering the caller's BYE with 481.
#[test]
fn a_late_wake_up_after_answering_retransmits_the_2xx_once_and_keeps_the_call() {
    let mut p = Pair::new();
    p.a.drop = Some(Box::new(|m| m.starts_with("ACK")));
    let (_a, b) = {
        let params = invite_params(&p);
        call_in(&mut p, params)
    };
    let t0 = p.now;
    p.b.ep.answer(t0, b, p.b.media(40000)).unwrap();
    p.drive();
    // B is not serviced for 1.7 s (its 500 ms timer is overdue); the ACKs get through again.
    p.a.drop = None;
    p.now = t0 + Duration::from_millis(1700);
    p.run_for(Duration::from_secs(5));
    let ev = p.b.take_events();
    assert!(matches!(ev.as_slice(), [Event::CallConfirmed { .. }]), "{ev:?}");
    assert_eq!(p.b.ep.call_count(), 1);
    let rel: Vec<u64> =
        p.b.sent_matching("SIP/2.0 200")
            .iter()
            .map(|(t, _)| (t.as_micros() - t0.as_micros()) / 1000)
            .collect();
    assert_eq!(rel, vec![0, 1700], "one retransmission at the late wake-up, no burst");
}

#[test]
fn retransmitted_invite_is_absorbed_and_last_provisional_resent() {
    let mut p = Pair::new();
    // B's first two provisional responses are lost.
    let start = p.now;
    let clock = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let c2 = clock.clone();
    p.b.drop = Some(Box::new(move |m| {
        c2.set(c2.get() + 1);
        m.starts_with("SIP/2.0 1") && c2.get() <= 2
    }));
    let now = p.now;
    let params = invite_params(&p);
    p.a.ep.invite(now, params).unwrap();
    p.run_for(Duration::from_millis(2_000));
    let incoming = p.b.take_events().into_iter().filter(|e| matches!(e, Event::IncomingCall { .. })).count();
    assert_eq!(incoming, 1, "one call despite retransmissions");
    let invites = p.a.sent_times_ms("INVITE");
    let base = start.as_micros() / 1000;
    assert_eq!(invites, vec![base, base + 500, base + 1500], "Timer A: T1 then 2*T1");
    // Each retransmission drew the 100 again; the third one got through and stopped Timer A.
    assert_eq!(p.b.sent_matching("SIP/2.0 100").len(), 3);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.a.sent_matching("INVITE").len(), 3, "no more retransmissions after a provisional");
    assert_eq!(clock.get(), 3);
}

#[test]
fn caller_cancel_gets_487_and_both_sides_end() {
    let mut p = Pair::new();
    let (a, b) = {
        let params = invite_params(&p);
        call_in(&mut p, params)
    };
    let now = p.now;
    p.b.ep.ring(now, b).unwrap();
    p.drive();
    let now = p.now;
    p.a.ep.cancel(now, a).unwrap();
    p.drive();
    assert_eq!(
        p.b.take_events(),
        vec![Event::CallEnded { call: b, reason: EndReason::CallerCancelled, code: Some(487) }]
    );
    let ev = p.a.take_events();
    assert!(ev.contains(&Event::CallEnded { call: a, reason: EndReason::Local, code: Some(487) }), "{ev:?}");
    assert_eq!(p.b.sent_matching("SIP/2.0 200").len(), 1, "200 to the CANCEL");
    assert_eq!(p.a.sent_matching("ACK").len(), 1, "the 487 is ACKed by the transaction");
    p.run_for(Duration::from_secs(40));
    assert_idle(&p.a);
    assert_idle(&p.b);
}

#[test]
fn ring_timeout_cancels_after_25s_and_reports_no_answer() {
    let mut p = Pair::new();
    let (a, b) = {
        let params = invite_params(&p);
        call_in(&mut p, params)
    };
    let now = p.now;
    p.b.ep.ring(now, b).unwrap();
    p.run_for(Duration::from_secs(30));
    let cancels = p.a.sent_times_ms("CANCEL");
    assert_eq!(cancels, vec![p.a.sent_times_ms("INVITE")[0] + 25_000]);
    assert!(p.a.take_events().contains(&Event::CallEnded {
        call: a,
        reason: EndReason::NoAnswer,
        code: Some(487)
    }));
    assert!(
        p.b.take_events()
            .iter()
            .any(|e| matches!(e, Event::CallEnded { reason: EndReason::CallerCancelled, .. }))
    );
}

#[test]
fn ring_timeout_is_never_below_15s() {
    let mut cfg = Config::new("10.0.0.1:5060".parse().unwrap());
    cfg.ring_timeout = Duration::from_secs(3);
    let mut p = Pair::new();
    p.a = Node::with_config(cfg);
    assert_eq!(p.a.ep.config().ring_timeout, Duration::from_secs(15));
    let (_a, b) = {
        let params = invite_params(&p);
        call_in(&mut p, params)
    };
    let now = p.now;
    p.b.ep.ring(now, b).unwrap();
    p.run_for(Duration::from_secs(14));
    assert!(p.a.sent_matching("CANCEL").is_empty());
    p.run_for(Duration::from_secs(2));
    assert_eq!(p.a.sent_matching("CANCEL").len(), 1);
}

#[test]
fn busy_and_other_rejections_carry_their_code() {
    for (code, reason) in [
        (486, EndReason::Busy),
        (600, EndReason::Busy),
        (404, EndReason::Rejected),
        (603, EndReason::Rejected),
    ] {
        let mut p = Pair::new();
        let (a, b) = {
            let params = invite_params(&p);
            call_in(&mut p, params)
        };
        let now = p.now;
        p.b.ep.reject(now, b, code).unwrap();
        p.drive();
        assert_eq!(p.a.take_events(), vec![Event::CallEnded { call: a, reason, code: Some(code) }]);
        assert_eq!(
            p.b.take_events(),
            vec![Event::CallEnded { call: b, reason: EndReason::Rejected, code: Some(code) }]
        );
        // The ACK reached B's transaction: Timer I (T4) then idle.
        p.run_for(Duration::from_secs(40));
        assert_idle(&p.a);
        assert_idle(&p.b);
        assert_eq!(
            p.b.sent_matching(&format!("SIP/2.0 {code}")).len(),
            1,
            "no Timer G retransmits once ACKed"
        );
    }
}

#[test]
fn unreachable_callee_fails_with_timer_b() {
    let mut p = Pair::new();
    p.a.drop = Some(Box::new(|_| true));
    let t0 = p.now;
    let params = invite_params(&p);
    let a = p.a.ep.invite(t0, params).unwrap();
    p.run_for(Duration::from_secs(40));
    let rel: Vec<u64> = p.a.sent_times_ms("INVITE").iter().map(|t| t - t0.as_micros() / 1000).collect();
    assert_eq!(rel, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(
        p.a.take_events(),
        vec![Event::CallEnded { call: a, reason: EndReason::Failed, code: Some(408) }]
    );
    assert_idle(&p.a);
}

#[test]
fn no_common_codec_is_answered_488_without_bothering_the_app() {
    let mut p = Pair::new();
    let mut cfg = Config::new(p.b.addr);
    cfg.codecs = vec![Codec::Pcma];
    p.b = Node::with_config(cfg);
    let mut params = invite_params(&p);
    params.media.codecs = vec![Codec::Pcmu, Codec::Opus];
    let now = p.now;
    let a = p.a.ep.invite(now, params).unwrap();
    p.drive();
    assert!(p.b.take_events().is_empty());
    assert_eq!(
        p.a.take_events(),
        vec![Event::CallEnded { call: a, reason: EndReason::Rejected, code: Some(488) }]
    );
}

#[test]
fn hold_and_unhold_by_reinvite() {
    let mut p = Pair::new();
    let (a, b) = established(&mut p);
    let now = p.now;
    let mut hold = p.a.media(30000);
    hold.direction = Direction::SendOnly;
    p.a.ep.reinvite(now, a, hold).unwrap();
    p.drive();
    let ev = p.b.take_events();
    let [Event::MediaChanged { call, media }] = ev.as_slice() else { panic!("{ev:?}") };
    assert_eq!((*call, media.direction), (b, Direction::RecvOnly));
    let ev = p.a.take_events();
    let [Event::MediaChanged { media, .. }] = ev.as_slice() else { panic!("{ev:?}") };
    assert_eq!(media.direction, Direction::SendOnly);
    // The 200 carried a bumped o= version.
    let oks = p.b.sent_matching("SIP/2.0 200");
    assert!(oks.last().unwrap().1.contains("o=frontdesk 1 2 IN IP4 10.0.0.2"), "{}", oks.last().unwrap().1);

    let now = p.now;
    p.a.ep.reinvite(now, a, p.a.media(30002)).unwrap();
    p.drive();
    let ev = p.b.take_events();
    let [Event::MediaChanged { media, .. }] = ev.as_slice() else { panic!("{ev:?}") };
    assert_eq!(
        (media.direction, media.remote),
        (Direction::SendRecv, Some("10.0.0.1:30002".parse().unwrap()))
    );
    assert!(matches!(p.a.take_events().as_slice(), [Event::MediaChanged { .. }]));
    // The re-INVITE 2xx was ACKed: no retransmissions.
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.b.sent_matching("SIP/2.0 200").len(), 3);
}

#[test]
fn callee_hangs_up_and_cseq_and_tags_line_up() {
    let mut p = Pair::new();
    let (a, b) = established(&mut p);
    let now = p.now;
    p.b.ep.hangup(now, b).unwrap();
    p.drive();
    assert_eq!(
        p.a.take_events(),
        vec![Event::CallEnded { call: a, reason: EndReason::RemoteHangup, code: None }]
    );
    let bye = &p.b.sent_matching("BYE").first().unwrap().1.clone();
    assert!(bye.starts_with("BYE sip:frontdesk@10.0.0.1:5060 SIP/2.0\r\n"), "BYE goes to A's Contact: {bye}");
    assert_eq!(p.a.sent_matching("SIP/2.0 200").len(), 1);
    assert!(p.a.ep.hangup(p.now, a).is_err(), "the handle is dead");
}

#[test]
fn call_over_tcp_never_retransmits() {
    let mut p = Pair::new();
    p.a.drop = Some(Box::new(|m| m.starts_with("ACK")));
    let mut params = invite_params(&p);
    params.transport = Transport::Tcp;
    let (_a, b) = call_in(&mut p, params);
    let now = p.now;
    p.b.ep.answer(now, b, p.b.media(40000)).unwrap();
    p.run_for(Duration::from_secs(40));
    assert_eq!(p.b.sent_matching("SIP/2.0 200").len(), 1, "reliable transport: no 2xx retransmission");
    assert_eq!(p.a.sent_matching("INVITE").len(), 1);
    assert!(
        p.b.take_events().iter().any(|e| matches!(e, Event::CallEnded { reason: EndReason::AckTimeout, .. }))
    );
    let ok = &p.b.sent_matching("SIP/2.0 200")[0].1;
    assert!(ok.contains("Via: SIP/2.0/TCP 10.0.0.1:5060;branch="), "{ok}");
    assert!(ok.contains(";transport=tcp>"), "Contact says TCP: {ok}");
    let _ = Instant::ZERO;
}

#[test]
fn unanswered_incoming_call_gets_480_after_the_answer_timeout() {
    let mut p = Pair::new();
    let mut cfg = Config::new(p.b.addr);
    cfg.answer_timeout = Duration::from_secs(10); // shorter than A's 25 s ring timeout
    p.b = Node::with_config(cfg);
    let (a, b) = {
        let params = invite_params(&p);
        call_in(&mut p, params)
    };
    let now = p.now;
    p.b.ep.ring(now, b).unwrap();
    p.run_for(Duration::from_secs(11));
    assert_eq!(
        p.b.take_events(),
        vec![Event::CallEnded { call: b, reason: EndReason::NoAnswer, code: Some(480) }]
    );
    let received = p.b.sent_times_ms("SIP/2.0 100")[0];
    assert_eq!(p.b.sent_times_ms("SIP/2.0 480"), vec![received + 10_000]);
    let ev = p.a.take_events();
    assert!(
        ev.contains(&Event::CallEnded { call: a, reason: EndReason::Rejected, code: Some(480) }),
        "{ev:?}"
    );
    p.run_for(Duration::from_secs(40));
    assert_idle(&p.a);
    assert_idle(&p.b);
}

#[test]
fn established_calls_end_at_the_max_duration_guard() {
    let mut p = Pair::new();
    let mut cfg = Config::new(p.b.addr);
    cfg.max_call_duration = Duration::from_secs(600);
    p.b = Node::with_config(cfg);
    let (a, b) = established(&mut p);
    p.run_for(Duration::from_secs(599));
    assert!(p.b.take_events().is_empty());
    p.run_for(Duration::from_secs(2));
    assert_eq!(
        p.b.take_events(),
        vec![Event::CallEnded { call: b, reason: EndReason::MaxDuration, code: None }]
    );
    assert_eq!(
        p.a.take_events(),
        vec![Event::CallEnded { call: a, reason: EndReason::RemoteHangup, code: None }]
    );
    p.run_for(Duration::from_secs(40));
    assert_idle(&p.a);
    assert_idle(&p.b);
}

#[test]
fn early_media_then_answer_repeats_the_same_sdp() {
    let mut p = Pair::new();
    let (a, b) = {
        let params = invite_params(&p);
        call_in(&mut p, params)
    };
    let now = p.now;
    let early = p.b.ep.early_media(now, b, p.b.media(40000)).unwrap();
    p.drive();
    let ev = p.a.take_events();
    let [Event::CallProgress { call, code: 183, media: Some(m) }] = ev.as_slice() else { panic!("{ev:?}") };
    assert_eq!((*call, m.remote), (a, Some("10.0.0.2:40000".parse().unwrap())));
    assert_eq!(early.remote, Some("10.0.0.1:30000".parse().unwrap()));
    let now = p.now;
    // A different port here is ignored: the 200 repeats the 183's answer.
    p.b.ep.answer(now, b, p.b.media(49999)).unwrap();
    p.drive();
    let body = |s: &str| s.split("\r\n\r\n").nth(1).unwrap().to_owned();
    let progress = body(&p.b.sent_matching("SIP/2.0 183")[0].1);
    let ok = body(&p.b.sent_matching("SIP/2.0 200")[0].1);
    assert_eq!(progress, ok);
    assert!(ok.contains("m=audio 40000 "));
    assert!(matches!(p.a.take_events().as_slice(), [Event::CallAnswered { media: Some(_), .. }]));
}

#[test]
fn transport_error_fails_the_call_at_once_with_503() {
    let mut p = Pair::new();
    p.a.drop = Some(Box::new(|_| true));
    let now = p.now;
    let params = invite_params(&p);
    let a = p.a.ep.invite(now, params).unwrap();
    p.run_for(Duration::from_millis(700));
    let now = p.now;
    let dest = p.b.addr;
    p.a.ep.handle_transport_error(now, Transport::Tcp, dest);
    assert!(p.a.ep.poll_event().is_none(), "a different transport is not affected");
    p.a.ep.handle_transport_error(now, Transport::Udp, dest);
    assert_eq!(
        p.a.ep.poll_event(),
        Some(Event::CallEnded { call: a, reason: EndReason::Failed, code: Some(503) })
    );
    assert_idle(&p.a);
}

#[test]
fn reinvite_answered_481_ends_the_call() {
    let mut p = Pair::new();
    let (a, b) = established(&mut p);
    // B forgets the dialog (as after a restart): its BYE is lost, so A still believes in the call.
    p.b.drop = Some(Box::new(|m| m.starts_with("BYE")));
    let now = p.now;
    p.b.ep.hangup(now, b).unwrap();
    p.drive();
    p.b.drop = None;
    let now = p.now;
    p.a.ep.reinvite(now, a, p.a.media(30004)).unwrap();
    p.drive();
    assert_eq!(p.b.sent_matching("SIP/2.0 481").len(), 1);
    let ev = p.a.take_events();
    assert_eq!(ev, vec![Event::CallEnded { call: a, reason: EndReason::Failed, code: Some(481) }]);
}

#[test]
fn reinvite_glare_backs_off_and_both_offers_land() {
    let mut p = Pair::new();
    let (a, b) = established(&mut p);
    let t0 = p.now;
    let mut hold = p.a.media(30000);
    hold.direction = Direction::SendOnly;
    p.a.ep.reinvite(t0, a, hold).unwrap();
    p.b.ep.reinvite(t0, b, p.b.media(40002)).unwrap();
    p.drive();
    assert_eq!(p.a.sent_matching("SIP/2.0 491").len(), 1);
    assert_eq!(p.b.sent_matching("SIP/2.0 491").len(), 1);
    assert!(p.a.take_events().is_empty() && p.b.take_events().is_empty(), "491 is retried, not reported");
    p.run_for(Duration::from_secs(10));
    // Re-INVITEs after the colliding pair (A also sent the initial INVITE).
    let after = |n: &Node, skip: usize| -> Vec<u64> {
        n.sent_matching("INVITE")
            .iter()
            .skip(skip)
            .map(|(t, _)| (t.as_micros() - t0.as_micros()) / 1000)
            .collect()
    };
    // A placed the call (owns the Call-ID): 2.1-4 s; B: 0-2 s.
    let (ra, rb) = (after(&p.a, 2), after(&p.b, 1));
    assert_eq!((ra.len(), rb.len()), (1, 1), "{ra:?} {rb:?}");
    assert!((2100..=4000).contains(&ra[0]), "{ra:?}");
    assert!(rb[0] <= 2000, "{rb:?}");
    let changed = |ev: Vec<Event>| ev.iter().filter(|e| matches!(e, Event::MediaChanged { .. })).count();
    assert_eq!(changed(p.a.take_events()), 2);
    assert_eq!(changed(p.b.take_events()), 2);
}

#[test]
fn refused_reinvite_is_reported_and_the_old_media_stays() {
    let mut p = Pair::new();
    let (a, _b) = established(&mut p);
    let now = p.now;
    let mut nothing = p.a.media(30000);
    nothing.codecs.clear();
    nothing.telephone_event = false;
    p.a.ep.reinvite(now, a, nothing).unwrap();
    p.drive();
    assert_eq!(p.a.take_events(), vec![Event::MediaUpdateFailed { call: a, code: 488 }]);
    // The refused offer left the session at version 1, so the next offer is version 2 again.
    let now = p.now;
    p.a.ep.reinvite(now, a, p.a.media(30000)).unwrap();
    p.drive();
    let last = p.a.sent_matching("INVITE").last().unwrap().1.clone();
    assert!(last.contains("o=frontdesk 1 2 IN IP4"), "{last}");
    assert!(matches!(p.a.take_events().as_slice(), [Event::MediaChanged { .. }]));
}
