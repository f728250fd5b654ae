//! Outgoing calls: INVITE with digest retry, provisional responses, ring timeout and CANCEL,
//! ACK for 2xx, BYE, REFER and our own re-INVITE.

use std::net::SocketAddr;

use frontdesk_types::Instant;

use super::call::{Call, CallState, Uac};
use super::{CallHandle, EndReason, Endpoint, Event, Purpose};
use crate::Error;
use crate::auth::best_challenge;
use crate::message::{CSeq, Method, NameAddr, Request, Response, SipUri};
use crate::sdp::{LocalMedia, SessionDescription};
use crate::transaction::{Transmit, Transport};

/// Username and password for digest authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestCredentials {
    /// Authentication user name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for DigestCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestCredentials").field("username", &self.username).finish_non_exhaustive()
    }
}

/// An outgoing call.
#[derive(Clone, Debug)]
pub struct InviteParams {
    /// Request-URI and To.
    pub target: SipUri,
    /// User part of our From URI (the host is our local address).
    pub from_user: String,
    /// Display name for From.
    pub from_display: Option<String>,
    /// Resolved next hop. Default: the outbound proxy's or the target's IP literal.
    pub destination: Option<SocketAddr>,
    /// Outbound proxy, sent as a loose Route; all in-dialog requests then go through it.
    pub outbound_proxy: Option<SipUri>,
    /// Transport to use.
    pub transport: Transport,
    /// Our media (the offer).
    pub media: LocalMedia,
    /// Credentials for 401/407 challenges.
    pub auth: Option<DigestCredentials>,
    /// Extra headers (e.g. `P-Asserted-Identity`).
    pub headers: Vec<(String, String)>,
}

impl InviteParams {
    /// A call to `target` offering `media`, over UDP, without auth.
    pub fn new(target: SipUri, media: LocalMedia) -> Self {
        InviteParams {
            target,
            from_user: "frontdesk".to_owned(),
            from_display: None,
            destination: None,
            outbound_proxy: None,
            transport: Transport::Udp,
            media,
            auth: None,
            headers: Vec::new(),
        }
    }
}

/// Adds the credentials answering a 401/407 to `req`. The nonce count is 1 because every
/// challenge is answered once with a fresh cnonce.
pub(super) fn authorize(
    req: &mut Request,
    resp: &Response,
    creds: &DigestCredentials,
    cnonce: &str,
) -> Result<(), Error> {
    let (challenge_h, answer_h) = if resp.code == 407 {
        ("Proxy-Authenticate", "Proxy-Authorization")
    } else {
        ("WWW-Authenticate", "Authorization")
    };
    let values: Vec<&str> = resp
        .headers
        .0
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(challenge_h))
        .map(|(_, v)| v.as_str())
        .collect();
    let ch = best_challenge(values).ok_or(Error::Auth("no usable Digest challenge"))?;
    let value =
        ch.respond(&creds.username, &creds.password, req.method.as_str(), &req.uri.to_string(), cnonce, 1);
    req.headers.remove(answer_h);
    req.headers.push(answer_h, value);
    Ok(())
}

impl Endpoint {
    /// Places a call. Events follow: [`Event::CallProgress`], then [`Event::CallAnswered`] or
    /// [`Event::CallEnded`] (busy, rejected with code, no answer, failed).
    pub fn invite(&mut self, now: Instant, p: InviteParams) -> Result<CallHandle, Error> {
        let dest = p
            .destination
            .or_else(|| p.outbound_proxy.as_ref().and_then(SipUri::socket_addr))
            .or_else(|| p.target.socket_addr())
            .ok_or(Error::Unresolved)?;
        let tag = self.rng.hex();
        let mut from_uri = SipUri::from_addr(Some(&p.from_user), self.config.local_addr);
        from_uri.port = None;
        let local =
            NameAddr { display: p.from_display.clone(), uri: from_uri, params: Vec::new() }.with_tag(&tag);
        let remote = NameAddr::new(p.target.clone());
        let call_id = format!("{}@{}", self.rng.hex(), self.config.local_addr.ip());
        let mut req = Request::new(Method::Invite, p.target.clone());
        let via = self.via(p.transport);
        let h = &mut req.headers;
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        if let Some(proxy) = &p.outbound_proxy {
            let mut r = proxy.clone();
            if r.param("lr").is_none() {
                r.params.push(("lr".to_owned(), None));
            }
            h.push("Route", format!("<{r}>"));
        }
        h.push("From", local.to_string());
        h.push("To", remote.to_string());
        h.push("Call-ID", call_id.clone());
        h.push("CSeq", "1 INVITE");
        h.push("Contact", self.contact(p.transport));
        h.push("User-Agent", self.config.user_agent.clone());
        h.push("Allow", self.allow());
        for (n, v) in &p.headers {
            h.push(n, v.clone());
        }
        h.push("Content-Type", "application/sdp");
        req.body = p.media.offer().to_bytes();
        let handle = CallHandle(self.next_handle());
        self.calls.insert(
            handle,
            Call {
                state: CallState::Outgoing,
                call_id,
                local,
                remote,
                local_cseq: 1,
                remote_cseq: None,
                remote_target: p.target.clone(),
                route_set: Vec::new(),
                peer: dest,
                outbound: p.outbound_proxy.as_ref().map(|_| dest),
                transport: p.transport,
                pending_invite: None,
                local_media: Some(p.media.clone()),
                ok: None,
                uac: Some(Uac {
                    invite: req.clone(),
                    dest,
                    got_provisional: false,
                    ring_deadline: Some(now + self.config.ring_timeout),
                    cancel: None,
                    auth_attempts: 0,
                    auth: p.auth.clone(),
                }),
                ack: None,
                reinvite_pending: false,
                answer_deadline: None,
                hard_deadline: now + self.config.max_call_duration,
                early_local: None,
                media_before: None,
                reinvite_retry: None,
                we_called: true,
            },
        );
        self.start_client(now, req, p.transport, dest, Purpose::Invite(handle));
        Ok(handle)
    }

    pub(super) fn on_invite_response(
        &mut self,
        now: Instant,
        handle: CallHandle,
        request: &Request,
        resp: Response,
    ) -> Result<(), Error> {
        let code = resp.code;
        let Some(call) = self.calls.get_mut(&handle) else {
            // The call ended (cancelled, timed out) but a 2xx still arrived: ACK and BYE it.
            if code / 100 == 2 {
                self.ack_and_bye_stray(now, request, &resp);
            }
            return Ok(());
        };
        match code {
            100..=199 => {
                let Some(uac) = call.uac.as_mut() else { return Ok(()) };
                uac.got_provisional = true;
                let pending_cancel = uac.cancel.is_some_and(|c| !c.1);
                if pending_cancel {
                    self.send_cancel(now, handle);
                }
                if code > 100 {
                    let media = self.answer_media(handle, &resp);
                    self.events.push_back(Event::CallProgress { call: handle, code, media });
                }
            }
            200..=299 => {
                if call.state == CallState::Confirmed
                    && resp.headers.to().ok().as_ref().and_then(|t| t.tag()) != call.remote_tag()
                {
                    // A forked 2xx from a second callee: ACK it and hang that leg up (13.2.2.4).
                    self.ack_and_bye_stray(now, request, &resp);
                    return Ok(());
                }
                if call.state == CallState::Confirmed {
                    if let Some(ack) = call.ack.clone() {
                        self.transmits.push_back(Transmit {
                            transport: call.transport,
                            destination: call.destination(),
                            payload: ack,
                        });
                    }
                    return Ok(());
                }
                call.remote = resp.headers.to()?;
                if let Some(c) = resp.headers.contact() {
                    call.remote_target = c.uri;
                }
                call.route_set =
                    resp.headers.get_all("Record-Route").into_iter().rev().map(str::to_owned).collect();
                call.state = CallState::Confirmed;
                let cancelled = call.uac.as_ref().and_then(|u| u.cancel.map(|c| c.0));
                let seq = request.headers.cseq().map_or(1, |c| c.seq);
                call.uac = None;
                self.send_ack(handle, seq);
                let media = self.answer_media(handle, &resp);
                match cancelled {
                    // The 2xx crossed our CANCEL: the call was answered, so hang it up.
                    Some(reason) => {
                        let _ = self.send_bye(now, handle);
                        self.end_call(handle, reason, Some(code));
                    }
                    None => self.events.push_back(Event::CallAnswered { call: handle, media }),
                }
            }
            401 | 407 => {
                let creds = call.uac.as_ref().and_then(|u| u.auth.clone());
                let attempts = call.uac.as_ref().map_or(u32::MAX, |u| u.auth_attempts);
                let cancelled = call.uac.as_ref().is_some_and(|u| u.cancel.is_some());
                let transport = call.transport;
                match creds {
                    Some(creds) if attempts < 2 && !cancelled => {
                        let cnonce = self.rng.hex();
                        let via = self.via(transport);
                        let Some(call) = self.calls.get_mut(&handle) else { return Ok(()) };
                        let Some(uac) = call.uac.as_mut() else { return Ok(()) };
                        let mut req = uac.invite.clone();
                        call.local_cseq += 1;
                        req.headers
                            .set("CSeq", CSeq { seq: call.local_cseq, method: Method::Invite }.to_string());
                        req.headers.set("Via", via);
                        authorize(&mut req, &resp, &creds, &cnonce)?;
                        uac.invite = req.clone();
                        uac.auth_attempts += 1;
                        uac.got_provisional = false;
                        let (transport, dest) = (call.transport, uac.dest);
                        self.start_client(now, req, transport, dest, Purpose::Invite(handle));
                    }
                    _ => self.end_call(handle, EndReason::Rejected, Some(code)),
                }
            }
            _ => {
                let reason = match (call.uac.as_ref().and_then(|u| u.cancel.map(|c| c.0)), code) {
                    (Some(r), 487) => r,
                    (_, 486 | 600) => EndReason::Busy,
                    _ => EndReason::Rejected,
                };
                self.end_call(handle, reason, Some(code));
            }
        }
        Ok(())
    }

    pub(super) fn answer_media(&self, handle: CallHandle, resp: &Response) -> Option<crate::sdp::Negotiated> {
        if resp.body.is_empty() {
            return None;
        }
        let answer = SessionDescription::parse(&resp.body).ok()?;
        self.calls.get(&handle)?.local_media.as_ref()?.accept_answer(&answer).ok()
    }

    pub(super) fn send_ack(&mut self, handle: CallHandle, seq: u32) {
        let via = self.via_for(handle);
        let Some(call) = self.calls.get_mut(&handle) else { return };
        let ack = call.request(Method::Ack, via, Some(seq)).to_bytes();
        call.ack = Some(ack.clone());
        self.transmits.push_back(Transmit {
            transport: call.transport,
            destination: call.destination(),
            payload: ack,
        });
    }

    /// A 2xx whose transaction is gone: re-send the dialog's ACK (13.2.2.4).
    pub(super) fn resend_ack(&mut self, resp: &Response) {
        let (Ok(call_id), Ok(from)) = (resp.headers.call_id(), resp.headers.from()) else { return };
        let call = self.calls.values().find(|c| c.call_id == call_id && c.local_tag() == from.tag());
        if let Some(c) = call
            && let Some(ack) = &c.ack
        {
            self.transmits.push_back(Transmit {
                transport: c.transport,
                destination: c.destination(),
                payload: ack.clone(),
            });
        }
    }

    fn ack_and_bye_stray(&mut self, now: Instant, request: &Request, resp: &Response) {
        let (Ok(from), Ok(to), Ok(call_id)) =
            (resp.headers.from(), resp.headers.to(), resp.headers.call_id())
        else {
            return;
        };
        let Some(contact) = resp.headers.contact() else { return };
        let transport = if request.headers.top_via().is_ok_and(|v| v.transport == "TCP") {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        let mut stray = Call {
            state: CallState::Confirmed,
            call_id: call_id.to_owned(),
            local: from,
            remote: to,
            local_cseq: request.headers.cseq().map_or(1, |c| c.seq),
            remote_cseq: None,
            remote_target: contact.uri,
            route_set: resp.headers.get_all("Record-Route").into_iter().rev().map(str::to_owned).collect(),
            peer: SocketAddr::new(self.config.local_addr.ip(), 5060),
            outbound: None,
            transport,
            pending_invite: None,
            local_media: None,
            ok: None,
            uac: None,
            ack: None,
            reinvite_pending: false,
            answer_deadline: None,
            hard_deadline: now,
            early_local: None,
            media_before: None,
            reinvite_retry: None,
            we_called: false,
        };
        let Some(dest) = stray
            .route_set
            .first()
            .and_then(|r| NameAddr::parse(r).ok())
            .and_then(|n| n.uri.socket_addr())
            .or(stray.remote_target.socket_addr())
        else {
            return;
        };
        stray.peer = dest;
        let seq = stray.local_cseq;
        let via = self.via(transport);
        let ack = stray.request(Method::Ack, via, Some(seq));
        self.transmits.push_back(Transmit { transport, destination: dest, payload: ack.to_bytes() });
        let via = self.via(transport);
        let bye = stray.request(Method::Bye, via, None);
        self.start_client(now, bye, transport, dest, Purpose::Bye);
    }

    pub(super) fn via_for(&mut self, handle: CallHandle) -> String {
        let t = self.calls.get(&handle).map_or(Transport::Udp, |c| c.transport);
        self.via(t)
    }

    fn send_cancel(&mut self, now: Instant, handle: CallHandle) {
        let Some(call) = self.calls.get_mut(&handle) else { return };
        let Some(uac) = call.uac.as_mut() else { return };
        let inv = &uac.invite;
        let mut cancel = Request::new(Method::Cancel, inv.uri.clone());
        if let Some(v) = inv.headers.get_all("Via").first() {
            cancel.headers.push("Via", *v);
        }
        cancel.headers.copy_from(&inv.headers, "Route");
        cancel.headers.push("Max-Forwards", "70");
        for h in ["From", "To", "Call-ID"] {
            cancel.headers.copy_from(&inv.headers, h);
        }
        let seq = inv.headers.cseq().map_or(1, |c| c.seq);
        cancel.headers.push("CSeq", CSeq { seq, method: Method::Cancel }.to_string());
        if let Some(c) = uac.cancel.as_mut() {
            c.1 = true;
        }
        let (transport, dest) = (call.transport, uac.dest);
        self.start_client(now, cancel, transport, dest, Purpose::Cancel);
    }

    /// Cancels an outgoing call that has not been answered. It ends with
    /// [`EndReason::Local`] when the 487 arrives (or 64*T1 later at most).
    pub fn cancel(&mut self, now: Instant, call: CallHandle) -> Result<(), Error> {
        self.cancel_with(now, call, EndReason::Local)
    }

    fn cancel_with(&mut self, now: Instant, call: CallHandle, reason: EndReason) -> Result<(), Error> {
        let timeout = self.config.timers.timeout();
        let c = self.calls.get_mut(&call).ok_or(Error::UnknownCall)?;
        let uac = c.uac.as_mut().ok_or(Error::InvalidState("not an unanswered outgoing call"))?;
        if uac.cancel.is_some() {
            return Ok(());
        }
        uac.ring_deadline = None;
        uac.cancel = Some((reason, false, now + timeout));
        // 9.1: a CANCEL may only follow a provisional response; otherwise it waits for one.
        if uac.got_provisional {
            self.send_cancel(now, call);
        }
        Ok(())
    }

    /// Ends a call: BYE when established, CANCEL when ringing out, 603 when ringing in.
    /// [`Event::CallEnded`] with [`EndReason::Local`] follows at once for BYE.
    pub fn hangup(&mut self, now: Instant, call: CallHandle) -> Result<(), Error> {
        let state = self.calls.get(&call).ok_or(Error::UnknownCall)?.state;
        match state {
            CallState::Incoming => self.reject(now, call, 603),
            CallState::Outgoing => self.cancel(now, call),
            CallState::Answered | CallState::Confirmed => {
                self.send_bye(now, call)?;
                self.end_call(call, EndReason::Local, None);
                Ok(())
            }
        }
    }

    pub(super) fn send_bye(&mut self, now: Instant, handle: CallHandle) -> Result<(), Error> {
        let via = self.via_for(handle);
        let call = self.calls.get_mut(&handle).ok_or(Error::UnknownCall)?;
        let bye = call.request(Method::Bye, via, None);
        let (transport, dest) = (call.transport, call.destination());
        self.start_client(now, bye, transport, dest, Purpose::Bye);
        Ok(())
    }

    /// Ring timeout, cancel give-up, and 2xx retransmission.
    pub(super) fn on_call_timer(&mut self, now: Instant, handle: CallHandle) {
        self.on_ok_timer(now, handle);
        self.on_reinvite_retry(now, handle);
        let unanswered = self
            .calls
            .get(&handle)
            .is_some_and(|c| c.state == CallState::Incoming && c.answer_deadline.is_some_and(|t| t <= now));
        let expired = self.calls.get(&handle).is_some_and(|c| c.hard_deadline <= now);
        if expired {
            let _ = match self.calls.get(&handle).map(|c| c.state) {
                Some(CallState::Incoming) => self.reject(now, handle, 480),
                Some(CallState::Outgoing) => self.cancel(now, handle),
                _ => self.send_bye(now, handle),
            };
            self.end_call(handle, EndReason::MaxDuration, None);
            return;
        }
        if unanswered {
            if let Ok(inc) = self.pending_incoming(handle) {
                let tag = self.calls.get(&handle).and_then(|c| c.local_tag().map(str::to_owned));
                self.respond(now, &inc, 480, tag.as_deref(), |_| {});
            }
            self.end_call(handle, EndReason::NoAnswer, Some(480));
            return;
        }
        let Some(uac) = self.calls.get(&handle).and_then(|c| c.uac.as_ref()) else { return };
        if uac.ring_deadline.is_some_and(|t| t <= now) {
            let _ = self.cancel_with(now, handle, EndReason::NoAnswer);
            return;
        }
        if let Some((reason, ..)) = uac.cancel.filter(|c| c.2 <= now) {
            // No final response to the INVITE after the CANCEL: stop waiting.
            if let Some(branch) =
                uac.invite.headers.top_via().ok().and_then(|v| v.branch().map(str::to_owned))
                && let Some(e) = self.clients.get_mut(&(branch, "INVITE".to_owned()))
            {
                e.tx.terminate();
            }
            self.end_call(handle, reason, None);
        }
    }
}
