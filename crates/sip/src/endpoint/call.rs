//! Dialog state (RFC 3261 section 12) shared by incoming and outgoing calls.

use std::net::SocketAddr;
use std::time::Duration;

use frontdesk_types::Instant;

use super::{EndReason, ServerKey};
use crate::message::{CSeq, Method, NameAddr, Request, SipUri};
use crate::sdp::{LocalMedia, SessionDescription};
use crate::transaction::{Transport, earliest};

/// Where a call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CallState {
    /// UAS: INVITE received, not answered.
    Incoming,
    /// UAS: 2xx sent, waiting for the ACK.
    Answered,
    /// UAC: INVITE sent, no final response yet.
    Outgoing,
    /// The dialog is confirmed.
    Confirmed,
}

/// A 2xx to an INVITE that we retransmit until the ACK (13.3.1.4).
#[derive(Debug)]
pub(super) struct PendingOk {
    pub(super) bytes: Vec<u8>,
    pub(super) cseq: u32,
    pub(super) next_at: Option<Instant>,
    pub(super) interval: Duration,
    pub(super) give_up_at: Instant,
    /// The 2xx carried our offer (the INVITE had none): the answer comes in the ACK.
    pub(super) late_offer: bool,
}

/// Outgoing-call state before and around the final response.
#[derive(Debug)]
pub(super) struct Uac {
    /// The last INVITE sent (CANCEL copies it; an auth retry re-sends it).
    pub(super) invite: Request,
    /// Where it went.
    pub(super) dest: SocketAddr,
    pub(super) got_provisional: bool,
    pub(super) ring_deadline: Option<Instant>,
    /// Set once we decided to cancel: why, whether the CANCEL went out, when we give up.
    pub(super) cancel: Option<(EndReason, bool, Instant)>,
    pub(super) auth_attempts: u32,
    pub(super) auth: Option<super::uac::DigestCredentials>,
}

/// One call: a dialog once tags are known, plus what it needs before that.
#[derive(Debug)]
pub(super) struct Call {
    pub(super) state: CallState,
    pub(super) call_id: String,
    /// Our URI with our tag (From for UAC, To for UAS).
    pub(super) local: NameAddr,
    /// The peer's URI with its tag once known.
    pub(super) remote: NameAddr,
    pub(super) local_cseq: u32,
    pub(super) remote_cseq: Option<u32>,
    pub(super) remote_target: SipUri,
    /// Route set as header values, in the order to send them.
    pub(super) route_set: Vec<String>,
    /// Source of the peer's last request (fallback next hop).
    pub(super) peer: SocketAddr,
    /// Outbound proxy the call was placed through: every in-dialog request goes there.
    pub(super) outbound: Option<SocketAddr>,
    pub(super) transport: Transport,
    /// The INVITE (initial or re-INVITE) we have yet to answer, with its transaction key.
    pub(super) pending_invite: Option<(ServerKey, Request, Option<SessionDescription>)>,
    pub(super) local_media: Option<LocalMedia>,
    pub(super) ok: Option<PendingOk>,
    pub(super) uac: Option<Uac>,
    /// The ACK we sent for the 2xx (re-sent when the 2xx is retransmitted).
    pub(super) ack: Option<Vec<u8>>,
    /// Our re-INVITE in flight.
    pub(super) reinvite_pending: bool,
    /// Incoming call: when to give up waiting for the application (480).
    pub(super) answer_deadline: Option<Instant>,
    /// [`super::Config::max_call_duration`] after creation.
    pub(super) hard_deadline: Instant,
    /// Incoming call: the media we sent in a 183 (the 200 repeats the same answer).
    pub(super) early_local: Option<LocalMedia>,
    /// Our media before the re-INVITE in flight (restored if it is refused).
    pub(super) media_before: Option<LocalMedia>,
    /// A re-INVITE to send again after a 491 back-off.
    pub(super) reinvite_retry: Option<(Instant, LocalMedia)>,
    /// We sent the initial INVITE (we own the Call-ID, for the 491 back-off).
    pub(super) we_called: bool,
}

impl Call {
    pub(super) fn local_tag(&self) -> Option<&str> {
        self.local.tag()
    }

    pub(super) fn remote_tag(&self) -> Option<&str> {
        self.remote.tag()
    }

    pub(super) fn next_timeout(&self) -> Option<Instant> {
        let ok = self.ok.as_ref();
        let uac = self.uac.as_ref();
        earliest([
            ok.and_then(|o| o.next_at),
            ok.map(|o| o.give_up_at),
            uac.and_then(|u| u.ring_deadline),
            uac.and_then(|u| u.cancel.map(|c| c.2)),
            self.answer_deadline.filter(|_| self.state == CallState::Incoming),
            Some(self.hard_deadline),
            self.reinvite_retry.as_ref().map(|r| r.0),
        ])
    }

    /// Next hop for an in-dialog request.
    pub(super) fn destination(&self) -> SocketAddr {
        if let Some(o) = self.outbound {
            return o;
        }
        let first_route = self.route_set.first().and_then(|r| NameAddr::parse(r).ok()).map(|n| n.uri);
        match first_route {
            Some(r) => r.socket_addr().unwrap_or(self.peer),
            None => self.remote_target.socket_addr().unwrap_or(self.peer),
        }
    }

    /// An in-dialog request (12.2.1.1). ACK and CANCEL reuse `seq`; others take the next CSeq.
    pub(super) fn request(&mut self, method: Method, via: String, seq: Option<u32>) -> Request {
        let seq = seq.unwrap_or_else(|| {
            self.local_cseq = self.local_cseq.wrapping_add(1);
            self.local_cseq
        });
        let mut r = Request::new(method.clone(), self.remote_target.clone());
        let h = &mut r.headers;
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        for route in &self.route_set {
            h.push("Route", route.clone());
        }
        h.push("From", self.local.to_string());
        h.push("To", self.remote.to_string());
        h.push("Call-ID", self.call_id.clone());
        h.push("CSeq", CSeq { seq, method }.to_string());
        r
    }
}
