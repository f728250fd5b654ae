//! Mid-dialog requests we send: re-INVITE (hold, unhold, codec change; glare back-off) and
//! REFER (blind transfer).

use frontdesk_types::Instant;

use super::call::CallState;
use super::{CallHandle, EndReason, Endpoint, Event, Purpose};
use crate::Error;
use crate::message::{Method, Response, SipUri};
use crate::sdp::LocalMedia;
use crate::transaction::Transport;

impl Endpoint {
    /// Blind transfer: sends REFER with `Refer-To: target`. Progress arrives as
    /// [`Event::ReferProgress`] (202, then the NOTIFY sipfrag codes); hang up when it is done.
    pub fn refer(&mut self, now: Instant, call: CallHandle, target: &SipUri) -> Result<(), Error> {
        let via = self.via_for(call);
        let contact = self.contact(self.calls.get(&call).map_or(Transport::Udp, |c| c.transport));
        let c = self.calls.get_mut(&call).ok_or(Error::UnknownCall)?;
        if c.state != CallState::Confirmed {
            return Err(Error::InvalidState("REFER needs an established call"));
        }
        let mut req = c.request(Method::Refer, via, None);
        req.headers.push("Refer-To", format!("<{target}>"));
        req.headers.push("Referred-By", format!("<{}>", c.local.uri));
        req.headers.push("Contact", contact);
        let (transport, dest) = (c.transport, c.destination());
        self.start_client(now, req, transport, dest, Purpose::Refer(call));
        Ok(())
    }

    /// Sends a re-INVITE with new local media (hold: `direction = SendOnly`; unhold:
    /// `SendRecv`). The result arrives as [`Event::MediaChanged`], or
    /// [`Event::MediaUpdateFailed`] when refused (the old media stays). A 491 (both sides
    /// re-INVITEd at once) is retried by the core after the RFC 3261 14.1 back-off.
    pub fn reinvite(&mut self, now: Instant, call: CallHandle, mut media: LocalMedia) -> Result<(), Error> {
        let via = self.via_for(call);
        let contact = self.contact(self.calls.get(&call).map_or(Transport::Udp, |c| c.transport));
        let c = self.calls.get_mut(&call).ok_or(Error::UnknownCall)?;
        if c.state != CallState::Confirmed || c.reinvite_pending || c.ok.is_some() {
            return Err(Error::InvalidState("re-INVITE needs an established call with no offer pending"));
        }
        if let Some(old) = &c.local_media {
            media.session_id = old.session_id;
            media.session_version = old.session_version.wrapping_add(1);
        }
        c.media_before = c.local_media.clone();
        c.reinvite_retry = None;
        let mut req = c.request(Method::Invite, via, None);
        req.headers.push("Contact", contact);
        req.headers.push("Content-Type", "application/sdp");
        req.body = media.offer().to_bytes();
        c.local_media = Some(media);
        c.reinvite_pending = true;
        let (transport, dest) = (c.transport, c.destination());
        self.start_client(now, req, transport, dest, Purpose::ReInvite(call));
        Ok(())
    }

    pub(super) fn on_reinvite_response(
        &mut self,
        now: Instant,
        handle: CallHandle,
        resp: Response,
    ) -> Result<(), Error> {
        if resp.code < 200 {
            return Ok(());
        }
        let Some(call) = self.calls.get_mut(&handle) else { return Ok(()) };
        call.reinvite_pending = false;
        let before = call.media_before.take();
        if resp.code >= 300 {
            // The offer was refused: the session stays as it was (RFC 3264 section 8).
            let offered = std::mem::replace(&mut call.local_media, before);
            if resp.code == 491 {
                // Glare (14.1): retry after 2.1-4 s if we own the Call-ID, else 0-2 s.
                let ms = if call.we_called {
                    2100 + self.rng.next_u64() % 1900
                } else {
                    self.rng.next_u64() % 2000
                };
                if let Some(media) = offered {
                    call.reinvite_retry = Some((now + std::time::Duration::from_millis(ms), media));
                }
                return Ok(());
            }
        }
        if matches!(resp.code, 408 | 481) {
            // 14.1: the peer lost the dialog (481) or never answered (408): end the call,
            // with a BYE in case the peer is only slow.
            if resp.code == 408 {
                let _ = self.send_bye(now, handle);
            }
            self.end_call(handle, EndReason::Failed, Some(resp.code));
            return Ok(());
        }
        if resp.code >= 300 {
            self.events.push_back(Event::MediaUpdateFailed { call: handle, code: resp.code });
            return Ok(());
        }
        let seq = resp.headers.cseq().map_or(0, |c| c.seq);
        self.send_ack(handle, seq);
        if let Some(media) = self.answer_media(handle, &resp) {
            self.events.push_back(Event::MediaChanged { call: handle, media });
        }
        Ok(())
    }

    /// A 491 back-off ran out: offer again.
    pub(super) fn on_reinvite_retry(&mut self, now: Instant, handle: CallHandle) {
        let Some(call) = self.calls.get_mut(&handle) else { return };
        let Some((_, media)) = call.reinvite_retry.take_if(|r| r.0 <= now) else { return };
        if self.reinvite(now, handle, media).is_err() {
            // The peer's own offer is still being settled: report and let the app decide.
            self.events.push_back(Event::MediaUpdateFailed { call: handle, code: 491 });
        }
    }
}
