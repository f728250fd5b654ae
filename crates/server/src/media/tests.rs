//! The media task on tokio's paused clock with real loopback sockets: send schedule drift over
//! a simulated 10-minute call, symmetric RTP, marks, RTP timeout.

use std::time::Duration;

use frontdesk_rtp::RtpPacket;
use frontdesk_sip::{Codec, Direction, Negotiated};
use frontdesk_types::CallId;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::*;
use crate::call::{CallInfo, TransportKind, call_pair};

fn info() -> CallInfo {
    CallInfo { id: CallId("t".into()), transport: TransportKind::Sip, from: None, params: Default::default() }
}

async fn params(remote: SocketAddr, clock: Clock) -> MediaParams {
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let rtcp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let negotiated = Negotiated {
        codec: Codec::Pcmu,
        payload_type: 0,
        telephone_event: Some(101),
        remote: Some(remote),
        direction: Direction::SendRecv,
        remote_ptime: Some(20),
    };
    MediaParams { rtp, rtcp, negotiated, clock, cname: "test".into(), transfer: Box::new(|_| {}) }
}

#[tokio::test(start_paused = true)]
async fn send_schedule_does_not_drift_over_a_ten_minute_call() {
    let clock = Clock::new();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let p = params(peer.local_addr().unwrap(), clock).await;
    let (call, mut port) = call_pair(info());
    let (_ctl_tx, mut ctl_rx) = mpsc::channel(4);
    let media = tokio::spawn(async move { run(p, &mut port, &mut ctl_rx).await });
    let call_len = Duration::from_secs(600);
    let mut buf = [0u8; 1500];
    let (mut first, mut n, mut last_ts, mut max_dev_us) = (None, 0u64, 0u32, 0i64);
    let start = clock.now();
    while clock.now() - start < call_len {
        let Ok(Ok((len, from))) =
            tokio::time::timeout(Duration::from_secs(1), peer.recv_from(&mut buf)).await
        else {
            panic!("RTP stopped after {n} packets");
        };
        // The peer talks too (its packets echoed), or the call would end at the RTP timeout.
        peer.send_to(&buf[..len], from).await.unwrap();
        let pkt = RtpPacket::parse(&buf[..len]).unwrap();
        let (t0, ts0) = *first.get_or_insert((clock.now(), pkt.timestamp));
        let at = clock.now() - t0;
        // Packet k is due at k * 20 ms; its timestamp is k * 160 after the first.
        let k = u64::from(pkt.timestamp.wrapping_sub(ts0) / 160);
        assert_eq!(k, n, "timestamps must be consecutive");
        let dev = at.as_micros() as i64 - (k * 20_000) as i64;
        max_dev_us = max_dev_us.max(dev.abs());
        last_ts = pkt.timestamp;
        n += 1;
    }
    let (_, ts0) = first.unwrap();
    let elapsed = clock.now() - first.unwrap().0;
    let expected = elapsed.as_micros() as u64 / 20_000 + 1;
    println!("10-minute call: {n} packets, expected {expected}, max schedule deviation {max_dev_us} us");
    assert!(n.abs_diff(expected) <= 1, "sent {n} packets in {elapsed:?}: drift");
    assert!(max_dev_us <= 1_000, "a packet left {max_dev_us} us off its 20 ms slot");
    assert_eq!(u64::from(last_ts.wrapping_sub(ts0)), (n - 1) * 160);
    drop(call);
    assert_eq!(media.await.unwrap(), MediaEnd::Local);
}

#[tokio::test(start_paused = true)]
async fn symmetric_rtp_marks_and_rtp_timeout() {
    let clock = Clock::new();
    let sdp_peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let nat_peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let p = params(sdp_peer.local_addr().unwrap(), clock).await;
    let gw = p.rtp.local_addr().unwrap();
    let (mut call, mut port) = call_pair(info());
    let (_ctl_tx, mut ctl_rx) = mpsc::channel(4);
    let media = tokio::spawn(async move { run(p, &mut port, &mut ctl_rx).await });
    let mut buf = [0u8; 1500];
    // Before any RTP arrives, packets go to the SDP address.
    sdp_peer.recv_from(&mut buf).await.unwrap();
    // The caller's RTP comes from elsewhere (NAT): the gateway latches onto it.
    let payload = [0xffu8; 160];
    for seq in 0..5u16 {
        let pkt = RtpPacket::new(0, seq, u32::from(seq) * 160, 99, &payload).to_vec().unwrap();
        nat_peer.send_to(&pkt, gw).await.unwrap();
        tokio::time::sleep(PTIME).await;
    }
    call.output.send(CallOutput::Audio(vec![1000; 160])).await.unwrap();
    call.output.send(CallOutput::Mark("m".into())).await.unwrap();
    let mut loud = false;
    for _ in 0..10 {
        let (len, _) = tokio::time::timeout(Duration::from_secs(1), nat_peer.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let pkt = RtpPacket::parse(&buf[..len]).unwrap();
        loud |= pkt.payload.iter().any(|&b| b != frontdesk_codec::Law::Ulaw.silence());
    }
    assert!(loud, "the application's frame was not sent to the latched address");
    let mut got_audio = false;
    loop {
        match call.input.recv().await.unwrap() {
            CallInput::Audio(_) => got_audio = true,
            CallInput::Played(m) => {
                assert_eq!(m, "m");
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(got_audio, "caller audio did not reach the call");
    // Then silence from the caller: the call ends after the RTP timeout, with a Hangup input.
    let t = clock.now();
    while !matches!(call.input.recv().await, Some(CallInput::Hangup) | None) {}
    assert!(clock.now() - t >= RTP_TIMEOUT - Duration::from_secs(1));
    assert_eq!(media.await.unwrap(), MediaEnd::RtpTimeout);
}
