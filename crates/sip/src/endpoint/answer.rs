//! UAS commands: ring, early media, answer, reject; and the 2xx retransmission until the ACK
//! (RFC 3261 13.3.1.4).

use frontdesk_types::Instant;

use super::call::{CallState, PendingOk};
use super::uas::Incoming;
use super::{CallHandle, EndReason, Endpoint};
use crate::Error;
use crate::sdp::{LocalMedia, Negotiated, SessionDescription};

impl Endpoint {
    /// Sends a 2xx with SDP to an INVITE and starts its retransmission until the ACK.
    pub(super) fn send_ok(
        &mut self,
        now: Instant,
        handle: CallHandle,
        inc: &Incoming,
        sdp: &SessionDescription,
        late_offer: bool,
    ) {
        let contact = self.contact(inc.transport);
        let allow = self.allow();
        let tag = self.calls.get(&handle).and_then(|c| c.local_tag().map(str::to_owned));
        let resp = self.build_response(&inc.req, 200, tag.as_deref(), |r| {
            r.headers.push("Contact", contact);
            r.headers.push("Allow", allow);
            r.headers.push("Content-Type", "application/sdp");
            r.body = sdp.to_bytes();
        });
        let bytes = resp.to_bytes();
        self.respond(now, inc, 200, tag.as_deref(), |r| *r = resp);
        let t = self.config.timers;
        let seq = inc.req.headers.cseq().map_or(0, |c| c.seq);
        if let Some(c) = self.calls.get_mut(&handle) {
            c.ok = Some(PendingOk {
                bytes,
                cseq: seq,
                next_at: (!inc.transport.reliable()).then(|| now + t.t1),
                interval: t.t1,
                give_up_at: now + t.timeout(),
                late_offer,
            });
        }
    }

    /// Sends 180 Ringing for an incoming call.
    pub fn ring(&mut self, now: Instant, call: CallHandle) -> Result<(), Error> {
        self.provisional(now, call, 180)
    }

    /// Sends a provisional response (180, 182, 183 without SDP) for an incoming call.
    pub fn provisional(&mut self, now: Instant, call: CallHandle, code: u16) -> Result<(), Error> {
        if !(101..=199).contains(&code) {
            return Err(Error::InvalidState("provisional codes are 101-199"));
        }
        let inc = self.pending_incoming(call)?;
        let contact = self.contact(inc.transport);
        let tag = self.calls.get(&call).and_then(|c| c.local_tag().map(str::to_owned));
        self.respond(now, &inc, code, tag.as_deref(), |r| r.headers.push("Contact", contact));
        Ok(())
    }

    /// Answers an incoming call with our media. Returns the agreed media, or `None` when the
    /// INVITE had no offer (ours goes in the 200; the agreement arrives with
    /// [`super::Event::CallConfirmed`]). With no acceptable codec the call is rejected with 488 and
    /// ended ([`Error::NotAcceptable`]).
    pub fn answer(
        &mut self,
        now: Instant,
        call: CallHandle,
        local: LocalMedia,
    ) -> Result<Option<Negotiated>, Error> {
        let inc = self.pending_incoming(call)?;
        let offer = self.calls.get(&call).and_then(|c| c.pending_invite.as_ref()).and_then(|p| p.2.clone());
        // After early media the 200 carries the same answer as the 183 (RFC 3261 13.2.1).
        let local = self.calls.get_mut(&call).and_then(|c| c.early_local.take()).unwrap_or(local);
        let (sdp, media) = match &offer {
            Some(o) => match local.answer(o) {
                Ok((sdp, n)) => (sdp, Some(n)),
                Err(e) => {
                    self.reject(now, call, 488)?;
                    return Err(e);
                }
            },
            None => (local.offer(), None),
        };
        if let Some(c) = self.calls.get_mut(&call) {
            c.pending_invite = None;
            c.local_media = Some(local);
            c.state = CallState::Answered;
        }
        self.send_ok(now, call, &inc, &sdp, offer.is_none());
        Ok(media)
    }

    /// Early media: sends 183 Session Progress with our SDP answer, so the caller hears
    /// announcements or ringback before (or instead of) an answer. [`Endpoint::answer`] later
    /// repeats this answer in the 200 (its own `local` is then ignored). Needs an offer in the
    /// INVITE; [`Error::NotAcceptable`] leaves the call untouched (reject it as you see fit).
    pub fn early_media(
        &mut self,
        now: Instant,
        call: CallHandle,
        local: LocalMedia,
    ) -> Result<Negotiated, Error> {
        let inc = self.pending_incoming(call)?;
        let offer = self
            .calls
            .get(&call)
            .and_then(|c| c.pending_invite.as_ref())
            .and_then(|p| p.2.clone())
            .ok_or(Error::InvalidState("early media needs an offer in the INVITE"))?;
        let (sdp, media) = local.answer(&offer)?;
        let contact = self.contact(inc.transport);
        let tag = self.calls.get(&call).and_then(|c| c.local_tag().map(str::to_owned));
        self.respond(now, &inc, 183, tag.as_deref(), |r| {
            r.headers.push("Contact", contact);
            r.headers.push("Content-Type", "application/sdp");
            r.body = sdp.to_bytes();
        });
        if let Some(c) = self.calls.get_mut(&call) {
            c.early_local = Some(local);
        }
        Ok(media)
    }

    /// Rejects an incoming call with a final status (300-699, e.g. 486, 603) and ends it.
    pub fn reject(&mut self, now: Instant, call: CallHandle, code: u16) -> Result<(), Error> {
        if !(300..=699).contains(&code) {
            return Err(Error::InvalidState("reject codes are 300-699"));
        }
        let inc = self.pending_incoming(call)?;
        let tag = self.calls.get(&call).and_then(|c| c.local_tag().map(str::to_owned));
        self.respond(now, &inc, code, tag.as_deref(), |_| {});
        let reason = if code == 488 { EndReason::NotAcceptable } else { EndReason::Rejected };
        self.end_call(call, reason, Some(code));
        Ok(())
    }

    /// The unanswered initial INVITE of an incoming call.
    pub(super) fn pending_incoming(&self, call: CallHandle) -> Result<Incoming, Error> {
        let c = self.calls.get(&call).ok_or(Error::UnknownCall)?;
        if c.state != CallState::Incoming {
            return Err(Error::InvalidState("the call is not an unanswered incoming call"));
        }
        let (key, req, _) = c.pending_invite.as_ref().ok_or(Error::InvalidState("no pending INVITE"))?;
        let e = self.servers.get(key).ok_or(Error::InvalidState("INVITE transaction gone"))?;
        Ok(Incoming { key: key.clone(), transport: e.tx.transport(), from: e.tx.peer(), req: req.clone() })
    }

    /// Retransmits a pending 2xx or gives up on its ACK.
    pub(super) fn on_ok_timer(&mut self, now: Instant, handle: CallHandle) {
        let Some(call) = self.calls.get_mut(&handle) else { return };
        let dest = call.peer;
        let transport = call.transport;
        let Some(ok) = call.ok.as_mut() else { return };
        if ok.give_up_at <= now {
            call.ok = None;
            // 13.3.1.4: no ACK in 64*T1 -> the dialog ends with a BYE.
            let _ = self.send_bye(now, handle);
            self.end_call(handle, EndReason::AckTimeout, None);
            return;
        }
        if let Some(at) = ok.next_at.filter(|t| *t <= now) {
            self.transmits.push_back(crate::transaction::Transmit {
                transport,
                destination: dest,
                payload: ok.bytes.clone(),
            });
            ok.interval = ok.interval.saturating_mul(2).min(self.config.timers.t2);
            ok.next_at = Some(crate::transaction::next_retransmit(at, now, ok.interval));
        }
    }
}
