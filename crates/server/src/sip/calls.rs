//! Calls of the SIP transport: what each endpoint event does, and the link between a dialog and
//! its media task.
//!
//! A call is [`CallEntry::Pending`] between answering an INVITE without SDP and the ACK that
//! brings the offer, then [`CallEntry::Live`] while its media task runs. The entry is removed
//! only when the media task reports it ended ([`SipCmd::MediaEnded`]), so shutdown can wait for
//! every call.

use std::collections::BTreeMap;

use frontdesk_sip::message::SipUri;
use frontdesk_sip::{CallHandle, DigestCredentials, Event, InviteParams, LocalMedia, Negotiated};
use frontdesk_types::{CallId, Pii};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::{Dial, SipCmd, SipTask, Trunk};
use crate::call::{CallInfo, TransportKind, call_pair};
use crate::control::OutboundCall;
use crate::media::{self, MediaCtl, MediaParams};

/// Control messages buffered towards one media task.
const CTL_DEPTH: usize = 16;

/// One call known to the SIP task.
#[derive(Debug)]
pub(super) enum CallEntry {
    /// Answered without an offer: media starts with the ACK's answer.
    Pending { rtp: UdpSocket, rtcp: UdpSocket, info: CallInfo },
    /// An outgoing call not answered yet.
    Outgoing { rtp: UdpSocket, rtcp: UdpSocket, info: CallInfo },
    /// Media running; `ctl` is `None` once the dialog ended (the media task is stopping).
    Live { ctl: Option<mpsc::Sender<MediaCtl>>, id: CallId },
}

impl SipTask {
    pub(super) async fn on_event(&mut self, ev: Event) {
        let now = self.clock.now();
        match ev {
            Event::IncomingCall { call, call_id, from, to, request_uri, offer, .. } => {
                if self.stopping {
                    info!(call = %call_id, "sip call refused: shutting down");
                    let _ = self.ep.reject(now, call, 503);
                    return;
                }
                let Some((rtp, rtcp)) = self.ports.allocate().await else {
                    warn!(call = %call_id, "sip call refused: no free RTP port in --rtp-ports");
                    let _ = self.ep.reject(now, call, 503);
                    return;
                };
                let port = rtp.local_addr().map_or(0, |a| a.port());
                let mut params = BTreeMap::new();
                params.insert("to".to_owned(), Pii::new(to.into_inner()));
                params.insert("request_uri".to_owned(), Pii::new(request_uri.into_inner()));
                let info = CallInfo {
                    id: CallId(call_id.clone()),
                    transport: TransportKind::Sip,
                    from: Some(from.clone()),
                    params,
                };
                info!(call = %call_id, from = %from, rtp_port = port, offer = offer.is_some(), "sip call");
                match self.ep.answer(now, call, LocalMedia::new(self.advertise, port)) {
                    Ok(Some(neg)) => self.start_media(call, rtp, rtcp, neg, info),
                    Ok(None) => {
                        self.calls.insert(call, CallEntry::Pending { rtp, rtcp, info });
                    }
                    Err(e) => warn!(call = %call_id, "sip call not answered: {e}"),
                }
            }
            Event::CallConfirmed { call, media } => {
                if let Some(neg) = media
                    && let Some(CallEntry::Pending { .. }) = self.calls.get(&call)
                    && let Some(CallEntry::Pending { rtp, rtcp, info }) = self.calls.remove(&call)
                {
                    self.start_media(call, rtp, rtcp, neg, info);
                }
            }
            Event::CallAnswered { call, media } => {
                info!(?call, "outgoing call answered");
                if let Some(neg) = media
                    && let Some(CallEntry::Outgoing { .. }) = self.calls.get(&call)
                    && let Some(CallEntry::Outgoing { rtp, rtcp, info }) = self.calls.remove(&call)
                {
                    self.start_media(call, rtp, rtcp, neg, info);
                } else if let Some(CallEntry::Outgoing { info, .. }) = self.calls.remove(&call) {
                    warn!(?call, id = %info.id, "outgoing call answered without usable media: hanging up");
                    let _ = self.ep.hangup(now, call);
                    self.live.dial_failed(&info.id);
                }
            }
            Event::ReferProgress { call, code, done } => {
                info!(?call, code, done, "transfer");
                if done && (200..300).contains(&code) {
                    // Transferred: our leg is no longer needed.
                    let _ = self.ep.hangup(now, call);
                    if let Some(CallEntry::Live { ctl, .. }) = self.calls.get_mut(&call) {
                        *ctl = None;
                    }
                }
            }
            Event::MediaChanged { call, media } => self.ctl(call, MediaCtl::Update(media)),
            Event::Dtmf { call, digit, .. } => self.ctl(call, MediaCtl::Dtmf(digit)),
            Event::CallEnded { call, reason, code } => {
                info!(?call, ?reason, ?code, "sip call ended");
                match self.calls.get_mut(&call) {
                    Some(CallEntry::Live { ctl, .. }) => *ctl = None,
                    Some(CallEntry::Pending { .. }) => {
                        self.calls.remove(&call);
                    }
                    Some(CallEntry::Outgoing { .. }) => {
                        if let Some(CallEntry::Outgoing { info, .. }) = self.calls.remove(&call) {
                            info!(id = %info.id, ?reason, ?code, "outgoing call not answered");
                            self.live.dial_failed(&info.id);
                        }
                    }
                    None => {}
                }
            }
            other => debug!(?other, "sip event"),
        }
    }

    fn ctl(&mut self, call: CallHandle, msg: MediaCtl) {
        if let Some(CallEntry::Live { ctl: Some(tx), .. }) = self.calls.get(&call)
            && tx.try_send(msg).is_err()
        {
            debug!(?call, "media control message dropped");
        }
    }

    fn start_media(
        &mut self,
        call: CallHandle,
        rtp: UdpSocket,
        rtcp: UdpSocket,
        neg: Negotiated,
        info: CallInfo,
    ) {
        let (ctl_tx, mut ctl_rx) = mpsc::channel(CTL_DEPTH);
        self.calls.insert(call, CallEntry::Live { ctl: Some(ctl_tx), id: info.id.clone() });
        let params = MediaParams {
            rtp,
            rtcp,
            negotiated: neg,
            clock: self.clock,
            cname: format!("frontdesk@{}", self.advertise),
            transfer: Box::new(|_| {}),
        };
        let (app_call, mut port) = call_pair(info);
        let app = self.app.clone();
        let cmd_tx = self.cmd_tx.clone();
        let transfer_tx = self.cmd_tx.clone();
        let params = MediaParams {
            transfer: Box::new(move |target| {
                let _ = transfer_tx.send(SipCmd::Transfer(call, target));
            }),
            ..params
        };
        self.shutdown.calls.spawn(async move {
            let app_task = tokio::spawn(app.run(app_call));
            let end = media::run(params, &mut port, &mut ctl_rx).await;
            if port.dropped_frames > 0 {
                warn!(
                    dropped = port.dropped_frames,
                    "caller audio frames dropped: the application fell behind"
                );
            }
            drop(port);
            let _ = app_task.await;
            let _ = cmd_tx.send(SipCmd::MediaEnded(call, end));
        });
    }

    pub(super) async fn on_cmd(&mut self, cmd: SipCmd) {
        match cmd {
            SipCmd::MediaEnded(call, end) => {
                self.calls.remove(&call);
                if end != media::MediaEnd::Remote {
                    // Still up on the SIP side: we hang up (BYE). An already-ended call is
                    // unknown to the core by now, which is fine.
                    let _ = self.ep.hangup(self.clock.now(), call);
                }
            }
            SipCmd::Transfer(call, target) => match SipUri::parse(&target) {
                Ok(uri) => {
                    if let Err(e) = self.ep.refer(self.clock.now(), call, &uri) {
                        warn!(?call, "transfer not sent: {e}");
                    }
                }
                Err(e) => warn!(?call, "transfer target is not a SIP URI: {e}"),
            },
            SipCmd::Originate(out) => self.originate(out).await,
            SipCmd::CancelOriginate(id) => {
                // Ringing: CANCEL (CallEnded follows and takes it out of the registry). Answered
                // a moment ago, before its app registered: BYE, as for any live call.
                let found = self.calls.iter().find_map(|(h, e)| match e {
                    CallEntry::Outgoing { info, .. } if info.id == id => Some(*h),
                    CallEntry::Live { id: live, ctl: Some(_) } if *live == id => Some(*h),
                    _ => None,
                });
                match found {
                    Some(h) => {
                        info!(id = %id, "hanging up originated call (api)");
                        let _ = self.ep.hangup(self.clock.now(), h);
                        if let Some(CallEntry::Live { ctl, .. }) = self.calls.get_mut(&h) {
                            *ctl = None;
                        }
                    }
                    None => self.live.dial_failed(&id),
                }
            }
        }
    }

    /// Places a call for the HTTP API; on any failure here it leaves the registry at once.
    async fn originate(&mut self, out: OutboundCall) {
        let OutboundCall { id, target, from_user, params, via_trunk } = out;
        if self.stopping {
            warn!(id = %id, "not originating: shutting down");
            return self.live.dial_failed(&id);
        }
        let Some((rtp, rtcp)) = self.ports.allocate().await else {
            warn!(id = %id, "not originating: no free RTP port in --rtp-ports");
            return self.live.dial_failed(&id);
        };
        let port = rtp.local_addr().map_or(0, |a| a.port());
        let mut p = InviteParams::new(target, LocalMedia::new(self.advertise, port));
        let trunk = self.trunk.as_ref().filter(|_| via_trunk);
        if let Some(user) = from_user.or_else(|| trunk.and_then(|t| t.user.clone())) {
            p.from_user = user;
        }
        if let Some(Trunk { user: Some(username), password: Some(password), .. }) = trunk {
            p.auth = Some(DigestCredentials { username: username.clone(), password: password.clone() });
        }
        match self.ep.invite(self.clock.now(), p) {
            Ok(call) => {
                info!(id = %id, ?call, rtp_port = port, via_trunk, "dialling (api)");
                let info = CallInfo { id, transport: TransportKind::Sip, from: None, params };
                self.calls.insert(call, CallEntry::Outgoing { rtp, rtcp, info });
            }
            Err(e) => {
                warn!(id = %id, "not originating: {e}");
                self.live.dial_failed(&id);
            }
        }
    }

    /// Places the start-up call of `--dial`.
    pub(super) async fn dial(&mut self, d: Dial) {
        let target = match SipUri::parse(&d.target) {
            Ok(u) => u,
            Err(e) => return warn!("--dial {:?}: {e}", d.target),
        };
        let Some((rtp, rtcp)) = self.ports.allocate().await else {
            return warn!("--dial: no free RTP port in --rtp-ports");
        };
        let port = rtp.local_addr().map_or(0, |a| a.port());
        let mut p = InviteParams::new(target, LocalMedia::new(self.advertise, port));
        if let Some(user) = &d.user {
            p.from_user = user.clone();
        }
        if let (Some(username), Some(password)) = (d.user, d.password) {
            p.auth = Some(DigestCredentials { username, password });
        }
        match self.ep.invite(self.clock.now(), p) {
            Ok(call) => {
                let info = CallInfo {
                    id: CallId(format!("out-{}", call.0)),
                    transport: TransportKind::Sip,
                    from: None,
                    params: BTreeMap::from([("to".to_owned(), Pii::new(d.target))]),
                };
                info!(?call, rtp_port = port, "dialling");
                self.calls.insert(call, CallEntry::Outgoing { rtp, rtcp, info });
            }
            Err(e) => warn!("--dial: {e}"),
        }
    }

    /// The drain time is over: BYE every call still up and stop its media.
    pub(super) fn hang_up_all(&mut self) {
        let now = self.clock.now();
        let mut n = 0;
        for (call, entry) in &mut self.calls {
            if self.ep.hangup(now, *call).is_ok() {
                n += 1;
            }
            match entry {
                CallEntry::Live { ctl, .. } => *ctl = None,
                CallEntry::Outgoing { info, .. } => self.live.dial_failed(&info.id),
                CallEntry::Pending { .. } => {}
            }
        }
        self.calls.retain(|_, e| matches!(e, CallEntry::Live { .. }));
        info!(calls = n, "sip: hanging up calls still in progress");
    }
}
