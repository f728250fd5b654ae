//! Transaction timers on a hand-driven clock.

use std::collections::VecDeque;

use frontdesk_types::Instant;

use super::client::ClientState;
use super::server::ServerState;
use super::*;
use crate::message::{Message, Method, Request, Response, SipUri};

fn req(method: Method) -> Request {
    let mut r = Request::new(method.clone(), SipUri::parse("sip:bob@10.0.0.2").unwrap());
    r.headers.push("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc");
    r.headers.push("From", "<sip:a@10.0.0.1>;tag=1");
    r.headers.push("To", "<sip:bob@10.0.0.2>");
    r.headers.push("Call-ID", "c1");
    r.headers.push("CSeq", format!("7 {method}"));
    r.headers.push("Route", "<sip:10.0.0.9;lr>");
    r
}

fn resp(r: &Request, code: u16) -> Response {
    let mut resp = Response::to_request(r, code);
    resp.headers.set("To", "<sip:bob@10.0.0.2>;tag=xyz");
    resp
}

const DEST: &str = "10.0.0.2:5060";

/// Runs the client transaction's timers until `end_ms`, returning (ms, bytes) of every send
/// and the instant of a timeout.
fn drive_client(tx: &mut ClientTransaction, end_ms: u64) -> (Vec<u64>, Option<u64>) {
    let mut out = VecDeque::new();
    let mut sent = Vec::new();
    while let Some(t) = tx.next_timeout() {
        if t > Instant::from_millis(end_ms) {
            break;
        }
        let timed_out = tx.on_timeout(t, &mut out);
        sent.extend(out.drain(..).map(|_| t.as_micros() / 1000));
        if timed_out {
            return (sent, Some(t.as_micros() / 1000));
        }
    }
    (sent, None)
}

#[test]
fn invite_client_timer_a_doubles_and_timer_b_fires_at_32s() {
    let mut out = VecDeque::new();
    let mut tx = ClientTransaction::start(
        Instant::ZERO,
        req(Method::Invite),
        Transport::Udp,
        DEST.parse().unwrap(),
        Timers::default(),
        &mut out,
    );
    assert_eq!(out.len(), 1);
    let (sent, timeout) = drive_client(&mut tx, 60_000);
    assert_eq!(sent, vec![500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(timeout, Some(32_000));
    assert!(tx.is_terminated());

    // Over TCP: no retransmissions, same Timer B.
    let mut tx = ClientTransaction::start(
        Instant::ZERO,
        req(Method::Invite),
        Transport::Tcp,
        DEST.parse().unwrap(),
        Timers::default(),
        &mut out,
    );
    assert_eq!(drive_client(&mut tx, 60_000), (vec![], Some(32_000)));
}

#[test]
fn invite_client_provisional_stops_retransmits_and_non_2xx_is_acked() {
    let mut out = VecDeque::new();
    let r = req(Method::Invite);
    let mut tx = ClientTransaction::start(
        Instant::ZERO,
        r.clone(),
        Transport::Udp,
        DEST.parse().unwrap(),
        Timers::default(),
        &mut out,
    );
    out.clear();
    assert_eq!(tx.on_response(Instant::from_millis(100), &resp(&r, 180), &mut out), ClientOutcome::Deliver);
    assert_eq!(tx.next_timeout(), Some(Instant::from_millis(100) + TIMER_C), "only Timer C in Proceeding");
    let mut lone = ClientTransaction::start(
        Instant::ZERO,
        r.clone(),
        Transport::Udp,
        DEST.parse().unwrap(),
        Timers::default(),
        &mut VecDeque::new(),
    );
    lone.on_response(Instant::from_millis(100), &resp(&r, 183), &mut VecDeque::new());
    assert!(lone.on_timeout(Instant::from_millis(100) + TIMER_C, &mut VecDeque::new()), "Timer C times out");
    assert!(lone.is_terminated());
    assert_eq!(tx.on_response(Instant::from_millis(200), &resp(&r, 486), &mut out), ClientOutcome::Deliver);
    assert_eq!(tx.state(), ClientState::Completed);
    let Message::Request(ack) = Message::parse(&out.pop_front().unwrap().payload).unwrap() else { panic!() };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.headers.top_via().unwrap().branch(), Some("z9hG4bKabc"), "same branch as the INVITE");
    assert_eq!(ack.headers.to().unwrap().tag(), Some("xyz"));
    assert_eq!(ack.headers.cseq().unwrap().to_string(), "7 ACK");
    assert_eq!(ack.headers.get("Route"), Some("<sip:10.0.0.9;lr>"));
    // A retransmitted 486 is absorbed and re-ACKed.
    assert_eq!(tx.on_response(Instant::from_millis(700), &resp(&r, 486), &mut out), ClientOutcome::Absorbed);
    assert_eq!(out.len(), 1);
    // Timer D: 32 s over UDP.
    assert_eq!(tx.next_timeout(), Some(Instant::from_millis(32_200)));
    assert!(!tx.on_timeout(Instant::from_millis(32_200), &mut out));
    assert!(tx.is_terminated());
}

#[test]
fn invite_client_2xx_goes_to_the_dialog_and_retransmits_too() {
    let mut out = VecDeque::new();
    let r = req(Method::Invite);
    let mut tx = ClientTransaction::start(
        Instant::ZERO,
        r.clone(),
        Transport::Udp,
        DEST.parse().unwrap(),
        Timers::default(),
        &mut out,
    );
    assert_eq!(tx.on_response(Instant::from_millis(10), &resp(&r, 200), &mut out), ClientOutcome::Deliver);
    assert_eq!(tx.on_response(Instant::from_millis(510), &resp(&r, 200), &mut out), ClientOutcome::Deliver);
    assert_eq!(tx.state(), ClientState::Accepted);
    assert_eq!(tx.next_timeout(), Some(Instant::from_millis(32_010)), "Timer M");
}

#[test]
fn non_invite_client_timer_e_caps_at_t2_and_timer_k() {
    let mut out = VecDeque::new();
    let r = req(Method::Bye);
    let mut tx = ClientTransaction::start(
        Instant::ZERO,
        r.clone(),
        Transport::Udp,
        DEST.parse().unwrap(),
        Timers::default(),
        &mut out,
    );
    let (sent, timeout) = drive_client(&mut tx, 60_000);
    assert_eq!(sent, vec![500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    assert_eq!(timeout, Some(32_000), "Timer F");

    let mut tx = ClientTransaction::start(
        Instant::ZERO,
        r.clone(),
        Transport::Udp,
        DEST.parse().unwrap(),
        Timers::default(),
        &mut out,
    );
    tx.on_response(Instant::from_millis(100), &resp(&r, 100), &mut out);
    let (sent, _) = drive_client(&mut tx, 9_000);
    assert_eq!(sent, vec![4100, 8100], "T2 once proceeding");
    assert_eq!(tx.on_response(Instant::from_millis(9_000), &resp(&r, 200), &mut out), ClientOutcome::Deliver);
    assert_eq!(
        tx.on_response(Instant::from_millis(9_100), &resp(&r, 200), &mut out),
        ClientOutcome::Absorbed
    );
    assert_eq!(tx.next_timeout(), Some(Instant::from_millis(14_000)), "Timer K = T4");

    let mut tcp = ClientTransaction::start(
        Instant::ZERO,
        r.clone(),
        Transport::Tcp,
        DEST.parse().unwrap(),
        Timers::default(),
        &mut out,
    );
    tcp.on_response(Instant::from_millis(50), &resp(&r, 200), &mut out);
    assert_eq!(tcp.next_timeout(), Some(Instant::from_millis(50)), "Timer K = 0 over TCP");
}

#[test]
fn invite_server_timer_g_h_and_i() {
    let mut out = VecDeque::new();
    let mut tx = ServerTransaction::new(true, Transport::Udp, DEST.parse().unwrap(), Timers::default());
    tx.respond(Instant::ZERO, 100, b"100".to_vec(), &mut out);
    tx.on_retransmission(&mut out);
    assert_eq!(out.drain(..).map(|t| t.payload).collect::<Vec<_>>(), vec![b"100".to_vec(), b"100".to_vec()]);
    tx.respond(Instant::ZERO, 486, b"486".to_vec(), &mut out);
    out.clear();
    let mut sent = Vec::new();
    let mut fired = None;
    while let Some(t) = tx.next_timeout() {
        if tx.on_timeout(t, &mut out) {
            fired = Some(t);
            break;
        }
        sent.extend(out.drain(..).map(|_| t.as_micros() / 1000));
    }
    assert_eq!(sent, vec![500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500], "Timer G");
    assert_eq!(fired, Some(Instant::from_millis(32_000)), "Timer H");

    let mut tx = ServerTransaction::new(true, Transport::Udp, DEST.parse().unwrap(), Timers::default());
    tx.respond(Instant::ZERO, 603, b"603".to_vec(), &mut out);
    tx.on_ack(Instant::from_millis(300));
    assert_eq!(tx.state(), ServerState::Confirmed);
    assert_eq!(tx.next_timeout(), Some(Instant::from_millis(5_300)), "Timer I = T4");
    out.clear();
    tx.on_retransmission(&mut out);
    assert!(out.is_empty(), "Confirmed absorbs");

    // A 2xx hands over to the dialog: Accepted with Timer L, INVITE retransmissions absorbed.
    let mut tx = ServerTransaction::new(true, Transport::Tcp, DEST.parse().unwrap(), Timers::default());
    tx.respond(Instant::ZERO, 200, b"200".to_vec(), &mut out);
    out.clear();
    tx.on_retransmission(&mut out);
    assert!(out.is_empty());
    assert_eq!((tx.state(), tx.next_timeout()), (ServerState::Accepted, Some(Instant::from_millis(32_000))));
}

#[test]
fn non_invite_server_resends_final_until_timer_j() {
    let mut out = VecDeque::new();
    let mut tx = ServerTransaction::new(false, Transport::Udp, DEST.parse().unwrap(), Timers::default());
    tx.on_retransmission(&mut out);
    assert!(out.is_empty(), "Trying absorbs");
    tx.respond(Instant::ZERO, 200, b"200".to_vec(), &mut out);
    tx.on_retransmission(&mut out);
    assert_eq!(out.len(), 2);
    tx.respond(Instant::ZERO, 500, b"500".to_vec(), &mut out);
    assert_eq!(out.len(), 2, "a second final is ignored");
    assert_eq!(tx.next_timeout(), Some(Instant::from_millis(32_000)));
    let mut tcp = ServerTransaction::new(false, Transport::Tcp, DEST.parse().unwrap(), Timers::default());
    tcp.respond(Instant::from_millis(5), 200, b"200".to_vec(), &mut out);
    assert_eq!(tcp.next_timeout(), Some(Instant::from_millis(5)));
}

#[test]
fn next_retransmit_keeps_the_schedule_but_is_never_already_due() {
    let ms = Instant::from_millis;
    let i = std::time::Duration::from_millis(1000);
    // On time or a little late: one interval after the deadline.
    assert_eq!(next_retransmit(ms(500), ms(500), i), ms(1500));
    assert_eq!(next_retransmit(ms(500), ms(700), i), ms(1500));
    // Woken an interval late or more (a stalled process): one interval after now, so the
    // deadline is not due again at once (a burst, or a timer that never moves on).
    assert_eq!(next_retransmit(ms(500), ms(1500), i), ms(2500));
    assert_eq!(next_retransmit(ms(500), ms(2200), i), ms(3200));
}
