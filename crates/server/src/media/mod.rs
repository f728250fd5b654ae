//! RTP media for one SIP call: a task owning the call's RTP and RTCP sockets.
//!
//! # Design
//! - Receive: datagrams go into [`session::MediaSession`] as they arrive (jitter buffer,
//!   RFC 4733 receiver). Playout runs on ONE 20 ms `tokio::time::interval` with
//!   [`MissedTickBehavior::Burst`]: a late tick is caught up, so the schedule never drifts from
//!   the clock (measured over a simulated 10-minute call in the tests). Each tick pops one frame
//!   (decoded, or concealed on loss), hands it to the call as [`CallInput::Audio`], and reports
//!   digits (RFC 4733, from any SSRC; in-band Goertzel on the decoded audio while no RFC 4733
//!   event has been seen) as [`CallInput::Dtmf`].
//! - Send: the application's [`CallOutput::Audio`] frames are queued and the same tick sends
//!   exactly one RTP packet: the next queued frame, or silence when the application sent
//!   nothing (RTP keeps flowing: NAT bindings, peers' inactivity timers). Sequence numbers and
//!   timestamps are consecutive, the first packet has the marker bit. A [`CallOutput::Mark`]
//!   is reported [`CallInput::Played`] when the tick reaches it; [`CallOutput::Clear`] drops
//!   the queue (barge-in).
//! - Symmetric RTP: packets go to the address in the SDP until the first valid RTP packet of
//!   this call arrives; from then on to the address it came from (callers behind NAT).
//! - RTCP on the next port: a compound SR/RR + SDES every 5 s; the peer's reports (loss and
//!   jitter of our stream) are logged at debug level and in the call summary.
//! - The task ends when the application hangs up, the SIP side says the call is over (its
//!   control channel closes), or no RTP arrived for [`RTP_TIMEOUT`].

mod ports;
pub(crate) mod session;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use frontdesk_sip::Negotiated;
use frontdesk_types::Digit;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior};
use tracing::{debug, info, warn};

pub(crate) use ports::RtpPorts;
use session::{FRAME, MediaSession};

use crate::call::{CallInput, CallOutput, CallPort};
use crate::clock::{self, Clock};

/// The media packetisation time.
pub(crate) const PTIME: Duration = Duration::from_millis(20);
/// A call that receives no RTP for this long is hung up (the peer vanished without BYE).
pub(crate) const RTP_TIMEOUT: Duration = Duration::from_secs(60);
/// RTCP report interval.
const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// Most audio frames queued towards the caller (10 s); older frames are dropped past it.
const MAX_QUEUED_FRAMES: usize = 500;

/// Media set-up failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The codec could not be created.
    #[error("codec: {0}")]
    Codec(#[from] frontdesk_codec::CodecError),
    /// The RTP stack rejected its configuration.
    #[error("rtp: {0}")]
    Rtp(#[from] frontdesk_rtp::RtpError),
}

/// Commands from the SIP side to a call's media task.
#[derive(Debug)]
pub(crate) enum MediaCtl {
    /// A re-INVITE or UPDATE changed the media (hold, new address, new codec).
    Update(Negotiated),
    /// A key arrived by SIP INFO.
    Dtmf(Digit),
}

/// Why a media task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MediaEnd {
    /// The application hung up.
    Local,
    /// The SIP side ended the call (BYE, shutdown).
    Remote,
    /// No RTP for [`RTP_TIMEOUT`].
    RtpTimeout,
    /// The codec could not be set up.
    Failed,
}

/// Called with the target of a [`CallOutput::Transfer`].
pub(crate) type TransferFn = Box<dyn Fn(String) + Send>;

/// The sockets and agreement a media task starts with.
pub(crate) struct MediaParams {
    /// RTP socket (even port).
    pub(crate) rtp: UdpSocket,
    /// RTCP socket (the next port).
    pub(crate) rtcp: UdpSocket,
    /// The agreed media.
    pub(crate) negotiated: Negotiated,
    /// The shell's clock.
    pub(crate) clock: Clock,
    /// SDES CNAME for RTCP.
    pub(crate) cname: String,
    /// Hands a transfer request to the signalling side.
    pub(crate) transfer: TransferFn,
}

enum Queued {
    Audio(Vec<i16>),
    Mark(String),
}

fn ticker(period: Duration) -> Interval {
    let mut t = tokio::time::interval(period);
    // Burst: a late tick is caught up at once, so the schedule keeps to the clock (no drift).
    t.set_missed_tick_behavior(MissedTickBehavior::Burst);
    t
}

/// Where RTCP goes: the RTP address's next port.
fn rtcp_of(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip(), a.port().wrapping_add(1))
}

/// Runs a call's media until it ends; see the module doc.
pub(crate) async fn run(p: MediaParams, port: &mut CallPort, ctl: &mut mpsc::Receiver<MediaCtl>) -> MediaEnd {
    let MediaParams { rtp, rtcp, mut negotiated, clock, cname, transfer } = p;
    let seed = clock::seed();
    let mut session = match MediaSession::new(&negotiated, seed as u32, seed) {
        Ok(s) => s,
        Err(e) => {
            warn!("media set-up failed: {e}");
            port.event(CallInput::Hangup).await;
            return MediaEnd::Failed;
        }
    };
    let mut remote = negotiated.remote;
    let mut latched = false;
    let mut last_rx = clock.now();
    let (mut buf, mut rbuf, mut out) = (vec![0u8; 2048], vec![0u8; 1500], Vec::with_capacity(400));
    let mut queue: VecDeque<Queued> = VecDeque::new();
    let mut tick = ticker(PTIME);
    let mut rtcp_tick = tokio::time::interval_at(clock.deadline(clock.now() + RTCP_INTERVAL), RTCP_INTERVAL);
    let end = loop {
        tokio::select! {
            r = rtp.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { continue };
                let now = clock.now();
                if session.on_rtp(now, &buf[..n]) {
                    last_rx = now;
                    if !latched {
                        latched = true;
                        if remote != Some(from) {
                            debug!(%from, "symmetric RTP: sending to where the caller's RTP comes from");
                        }
                        remote = Some(from);
                    }
                }
            }
            r = rtcp.recv_from(&mut rbuf) => {
                let Ok((n, _)) = r else { continue };
                if let Some(rep) = session.on_rtcp(clock.now(), &rbuf[..n]) {
                    debug!(lost = rep.fraction_lost, jitter_ms = rep.jitter_ms, "rtcp report from peer");
                }
            }
            _ = tick.tick() => {
                let now = clock.now();
                if let Some(frame) = session.pop(now) {
                    port.audio(frame.to_vec());
                }
                while let Some(d) = session.poll_digit() {
                    port.event(CallInput::Dtmf(d)).await;
                }
                let frame = loop {
                    match queue.pop_front() {
                        Some(Queued::Audio(f)) => break Some(f),
                        Some(Queued::Mark(name)) => port.event(CallInput::Played(name)).await,
                        None => break None,
                    }
                };
                session.packetize(frame.as_deref().filter(|f| f.len() == FRAME), &mut out);
                if let Some(to) = remote.filter(|_| negotiated.direction.sends() && !out.is_empty()) {
                    let _ = rtp.send_to(&out, to).await;
                }
                if now - last_rx > RTP_TIMEOUT {
                    break MediaEnd::RtpTimeout;
                }
            }
            _ = rtcp_tick.tick() => {
                if let Some(to) = remote {
                    session.rtcp_report(clock.now(), clock::ntp_now(), &cname, &mut out);
                    let _ = rtcp.send_to(&out, rtcp_of(to)).await;
                }
            }
            cmd = port.output.recv() => match cmd {
                Some(CallOutput::Audio(mut f)) => {
                    f.resize(FRAME, 0);
                    if queue.len() >= MAX_QUEUED_FRAMES {
                        queue.pop_front();
                    }
                    queue.push_back(Queued::Audio(f));
                }
                Some(CallOutput::Mark(name)) => queue.push_back(Queued::Mark(name)),
                Some(CallOutput::Clear) => {
                    // Marks behind cleared audio count as played (as Twilio reports them).
                    for q in std::mem::take(&mut queue) {
                        if let Queued::Mark(name) = q {
                            port.event(CallInput::Played(name)).await;
                        }
                    }
                }
                Some(CallOutput::Transfer(target)) => transfer(target),
                Some(CallOutput::Hangup) | None => break MediaEnd::Local,
            },
            c = ctl.recv() => match c {
                Some(MediaCtl::Update(n)) => {
                    if n.codec != negotiated.codec || n.payload_type != negotiated.payload_type {
                        match MediaSession::new(&n, session.ssrc(), clock::seed()) {
                            Ok(s) => session = s,
                            Err(e) => warn!("new media refused: {e}"),
                        }
                    }
                    if n.remote != negotiated.remote {
                        remote = n.remote;
                        latched = false;
                    }
                    negotiated = n;
                }
                Some(MediaCtl::Dtmf(d)) => port.event(CallInput::Dtmf(d)).await,
                None => {
                    port.event(CallInput::Hangup).await;
                    break MediaEnd::Remote;
                }
            },
        }
    };
    if end != MediaEnd::Remote {
        port.event(CallInput::Hangup).await;
    }
    let st = session.receive_stats();
    let peer = session.peer_report();
    info!(
        end = ?end,
        sent = session.sent_packets(),
        received = st.received,
        lost = st.lost,
        concealed = st.concealed,
        late = st.late,
        jitter_ms = format_args!("{:.1}", st.jitter_ms),
        peer_lost = ?peer.map(|p| p.cumulative_lost),
        peer_jitter_ms = ?peer.map(|p| p.jitter_ms),
        "media ended"
    );
    end
}

#[cfg(test)]
mod tests;
