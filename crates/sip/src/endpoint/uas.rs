//! Requests we receive: new calls, ACK, CANCEL, BYE, re-INVITE, OPTIONS, NOTIFY, and the
//! answers to everything else (405, 481, 501 ...). Plus the UAS commands (ring, answer, reject).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use frontdesk_types::{Digit, Instant, Pii};

use super::call::{Call, CallState};
use super::{CallHandle, EndReason, Endpoint, Event, ServerEntry, ServerKey};
use crate::Error;
use crate::message::{Method, Request, Response, split_list};
use crate::sdp::{LocalMedia, SessionDescription};
use crate::transaction::{ServerTransaction, Transport};

/// A request with its transaction key and where it came from.
pub(super) struct Incoming {
    pub(super) key: ServerKey,
    pub(super) transport: Transport,
    pub(super) from: SocketAddr,
    pub(super) req: Request,
}

/// A DTMF key from a SIP INFO body: `application/dtmf-relay` (`Signal=5`, `Duration=160`) or
/// `application/dtmf` (`5`).
fn info_dtmf(req: &Request) -> Option<(Digit, Option<u32>)> {
    let ctype = req.headers.get("Content-Type")?.trim().to_ascii_lowercase();
    let body = std::str::from_utf8(&req.body).ok()?;
    let one_char = |s: &str| {
        let mut c = s.trim().chars();
        match (c.next(), c.next()) {
            (Some(ch), None) => Digit::from_char(ch).ok(),
            _ => None,
        }
    };
    if ctype.starts_with("application/dtmf-relay") {
        let field = |name: &str| {
            body.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
            })
        };
        let digit = one_char(field("Signal")?)?;
        Some((digit, field("Duration").and_then(|d| d.parse().ok())))
    } else if ctype.starts_with("application/dtmf") {
        Some((one_char(body)?, None))
    } else {
        None
    }
}

fn is_sdp(req: &Request) -> bool {
    req.headers
        .get("Content-Type")
        .is_none_or(|c| c.trim().to_ascii_lowercase().starts_with("application/sdp"))
}

impl Endpoint {
    pub(super) fn on_request(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        mut req: Request,
    ) -> Result<(), Error> {
        // Without a parseable top Via there is nowhere to respond: drop.
        let mut via = req.headers.top_via()?;
        let src = from.ip().to_string();
        if via.host != src {
            via.set_param("received", Some(src));
        }
        if via.param("rport").is_some() {
            via.set_param("rport", Some(from.port().to_string()));
        }
        if let Some(first) = req.headers.0.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case("Via")) {
            let mut parts: Vec<String> = split_list(&first.1).into_iter().map(str::to_owned).collect();
            if let Some(p) = parts.first_mut() {
                *p = via.to_string();
            }
            first.1 = parts.join(", ");
        }
        let branch = via.branch().map_or_else(
            || {
                format!(
                    "rfc2543;{};{}",
                    req.headers.call_id().unwrap_or_default(),
                    req.headers.get("CSeq").unwrap_or_default()
                )
            },
            str::to_owned,
        );
        let method =
            if req.method == Method::Ack { "INVITE".to_owned() } else { req.method.as_str().to_owned() };
        let key = ServerKey { branch, sent_by: format!("{}:{}", via.host, via.port.unwrap_or(5060)), method };
        let inc = Incoming { key, transport, from, req };

        let checked = (|| {
            let r = &inc.req;
            r.headers.from()?;
            r.headers.to()?;
            r.headers.call_id()?;
            let cseq = r.headers.cseq()?;
            if cseq.method != r.method {
                return Err(Error::BadHeader("CSeq"));
            }
            Ok(())
        })();
        if let Err(e) = checked {
            // A 400 goes out only for a new transaction: a corrupted copy of a request we are
            // already handling must not answer (and so end) that request.
            if inc.req.method != Method::Ack && !self.servers.contains_key(&inc.key) {
                let tag = self.rng.hex();
                self.respond(now, &inc, 400, Some(&tag), |_| {});
            }
            return Err(e);
        }
        if inc.req.method == Method::Ack {
            self.on_ack(now, inc);
            return Ok(());
        }
        if let Some(e) = self.servers.get_mut(&inc.key) {
            e.tx.on_retransmission(&mut self.transmits);
            return Ok(());
        }
        let tag = self.rng.hex();
        if inc.req.headers.get("Max-Forwards").and_then(|m| m.trim().parse::<u32>().ok()) == Some(0) {
            self.respond(now, &inc, 483, Some(&tag), |_| {});
            return Ok(());
        }
        let has_to_tag = inc.req.headers.to().is_ok_and(|t| t.tag().is_some());
        match inc.req.method {
            Method::Cancel => self.on_cancel(now, inc),
            _ if has_to_tag => self.on_in_dialog(now, inc),
            Method::Invite => self.on_new_invite(now, inc),
            Method::Options => {
                let allow = self.allow();
                self.respond(now, &inc, 200, Some(&tag), |r| {
                    r.headers.push("Allow", allow);
                    r.headers.push("Accept", "application/sdp");
                });
            }
            Method::Bye | Method::Notify | Method::Info | Method::Update | Method::Prack => {
                self.respond(now, &inc, 481, Some(&tag), |_| {});
            }
            Method::Other(_) => self.respond(now, &inc, 501, Some(&tag), |_| {}),
            _ => {
                let allow = self.allow();
                self.respond(now, &inc, 405, Some(&tag), |r| r.headers.push("Allow", allow));
            }
        }
        Ok(())
    }

    /// Sends a response through the request's server transaction (created if needed).
    pub(super) fn respond(
        &mut self,
        now: Instant,
        inc: &Incoming,
        code: u16,
        to_tag: Option<&str>,
        edit: impl FnOnce(&mut Response),
    ) {
        let resp = self.build_response(&inc.req, code, to_tag, edit);
        let timers = self.config.timers;
        let entry = self.servers.entry(inc.key.clone()).or_insert_with(|| ServerEntry {
            tx: ServerTransaction::new(inc.req.method == Method::Invite, inc.transport, inc.from, timers),
            call: None,
        });
        entry.tx.respond(now, code, resp.to_bytes(), &mut self.transmits);
    }

    pub(super) fn build_response(
        &self,
        req: &Request,
        code: u16,
        to_tag: Option<&str>,
        edit: impl FnOnce(&mut Response),
    ) -> Response {
        let mut resp = Response::to_request(req, code);
        if let (Some(tag), Some(to)) = (to_tag.filter(|_| code > 100), req.headers.get("To"))
            && req.headers.to().is_ok_and(|t| t.tag().is_none())
        {
            resp.headers.set("To", format!("{to};tag={tag}"));
        }
        resp.headers.push("Server", self.config.user_agent.clone());
        edit(&mut resp);
        resp
    }

    fn on_new_invite(&mut self, now: Instant, inc: Incoming) {
        let tag = self.rng.hex();
        let offer = if inc.req.body.is_empty() {
            None
        } else if !is_sdp(&inc.req) {
            self.respond(now, &inc, 415, Some(&tag), |r| r.headers.push("Accept", "application/sdp"));
            return;
        } else {
            match SessionDescription::parse(&inc.req.body) {
                Ok(s) => Some(s),
                Err(_) => {
                    self.respond(now, &inc, 400, Some(&tag), |r| {
                        r.reason = "Bad Session Description".to_owned()
                    });
                    return;
                }
            }
        };
        if let Some(req_ext) = inc.req.headers.get("Require").filter(|r| !r.trim().is_empty()) {
            let ext = req_ext.to_owned();
            self.respond(now, &inc, 420, Some(&tag), |r| r.headers.push("Unsupported", ext));
            return;
        }
        if let Some(o) = &offer {
            let mut probe = LocalMedia::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9);
            probe.codecs = self.config.codecs.clone();
            if probe.answer(o).is_err() {
                self.respond(now, &inc, 488, Some(&tag), |_| {});
                return;
            }
        }
        let (Ok(from), Ok(to), Ok(call_id), Ok(cseq)) =
            (inc.req.headers.from(), inc.req.headers.to(), inc.req.headers.call_id(), inc.req.headers.cseq())
        else {
            return; // validated by on_request
        };
        let Some(contact) = inc.req.headers.contact() else {
            self.respond(now, &inc, 400, Some(&tag), |r| r.reason = "Missing Contact".to_owned());
            return;
        };
        let handle = CallHandle(self.next_handle());
        let call = Call {
            state: CallState::Incoming,
            call_id: call_id.to_owned(),
            local: to.clone().with_tag(&tag),
            remote: from.clone(),
            local_cseq: self.rng.next_u64() as u32 >> 8,
            remote_cseq: Some(cseq.seq),
            remote_target: contact.uri,
            route_set: inc.req.headers.get_all("Record-Route").into_iter().map(str::to_owned).collect(),
            peer: inc.from,
            outbound: None,
            transport: inc.transport,
            pending_invite: Some((inc.key.clone(), inc.req.clone(), offer.clone())),
            local_media: None,
            ok: None,
            uac: None,
            ack: None,
            reinvite_pending: false,
            answer_deadline: Some(now + self.config.answer_timeout),
            hard_deadline: now + self.config.max_call_duration,
            early_local: None,
            media_before: None,
            reinvite_retry: None,
            we_called: false,
        };
        self.calls.insert(handle, call);
        self.respond(now, &inc, 100, None, |_| {});
        if let Some(e) = self.servers.get_mut(&inc.key) {
            e.call = Some(handle);
        }
        self.events.push_back(Event::IncomingCall {
            call: handle,
            call_id: call_id.to_owned(),
            from: Pii::new(from.uri.to_string()),
            to: Pii::new(to.uri.to_string()),
            request_uri: Pii::new(inc.req.uri.to_string()),
            offer,
            headers: Pii::new(inc.req.headers.0.clone()),
            remote: inc.from,
        });
    }

    fn find_dialog(
        &self,
        call_id: &str,
        local_tag: Option<&str>,
        remote_tag: Option<&str>,
    ) -> Option<CallHandle> {
        self.calls
            .iter()
            .find(|(_, c)| c.call_id == call_id && c.local_tag() == local_tag && c.remote_tag() == remote_tag)
            .map(|(h, _)| *h)
    }

    fn on_ack(&mut self, now: Instant, inc: Incoming) {
        if let Some(e) = self.servers.get_mut(&inc.key)
            && e.tx.is_final()
            && !matches!(e.tx.state(), crate::transaction::ServerState::Accepted)
        {
            e.tx.on_ack(now);
            return;
        }
        let h = &inc.req.headers;
        let (Ok(call_id), Ok(to), Ok(from), Ok(cseq)) = (h.call_id(), h.to(), h.from(), h.cseq()) else {
            return;
        };
        let Some(handle) = self.find_dialog(call_id, to.tag(), from.tag()) else { return };
        let Some(call) = self.calls.get_mut(&handle) else { return };
        let Some(ok) = call.ok.take_if(|ok| ok.cseq == cseq.seq) else { return };
        let media = if ok.late_offer {
            let answer = SessionDescription::parse(&inc.req.body).ok();
            answer.and_then(|a| call.local_media.as_ref().and_then(|l| l.accept_answer(&a).ok()))
        } else {
            None
        };
        if call.state == CallState::Answered {
            call.state = CallState::Confirmed;
            self.events.push_back(Event::CallConfirmed { call: handle, media });
        } else if let Some(media) = media {
            self.events.push_back(Event::MediaChanged { call: handle, media });
        }
    }

    fn on_cancel(&mut self, now: Instant, inc: Incoming) {
        let invite_key = ServerKey { method: "INVITE".to_owned(), ..inc.key.clone() };
        let found = self.servers.get(&invite_key).map(|e| (e.call, e.tx.is_final()));
        let Some((call, answered)) = found else {
            let tag = self.rng.hex();
            self.respond(now, &inc, 481, Some(&tag), |_| {});
            return;
        };
        let handle = call.filter(|h| self.calls.contains_key(h));
        let tag = handle.and_then(|h| self.calls.get(&h)).and_then(|c| c.local_tag().map(str::to_owned));
        self.respond(now, &inc, 200, tag.as_deref(), |_| {});
        if answered {
            return; // Too late: the 2xx stands, the caller will BYE.
        }
        let Some(handle) = handle else { return };
        let Some((key, invite, _)) = self.calls.get_mut(&handle).and_then(|c| c.pending_invite.take()) else {
            return;
        };
        let inv = Incoming { key, transport: inc.transport, from: inc.from, req: invite };
        self.respond(now, &inv, 487, tag.as_deref(), |_| {});
        self.end_call(handle, EndReason::CallerCancelled, Some(487));
    }

    fn on_in_dialog(&mut self, now: Instant, inc: Incoming) {
        let h = &inc.req.headers;
        let (Ok(call_id), Ok(to), Ok(from), Ok(cseq)) = (h.call_id(), h.to(), h.from(), h.cseq()) else {
            return;
        };
        let Some(handle) = self.find_dialog(call_id, to.tag(), from.tag()) else {
            self.respond(now, &inc, 481, None, |_| {});
            return;
        };
        let Some(call) = self.calls.get_mut(&handle) else { return };
        if call.remote_cseq.is_some_and(|r| cseq.seq <= r) {
            self.respond(now, &inc, 500, None, |r| r.reason = "CSeq Out of Order".to_owned());
            return;
        }
        call.remote_cseq = Some(cseq.seq);
        call.peer = inc.from;
        match inc.req.method {
            Method::Bye => {
                self.respond(now, &inc, 200, None, |_| {});
                self.end_call(handle, EndReason::RemoteHangup, None);
            }
            Method::Invite => self.on_reinvite(now, handle, inc),
            Method::Update => self.on_update(now, handle, inc),
            Method::Options => self.respond(now, &inc, 200, None, |_| {}),
            Method::Info => {
                self.respond(now, &inc, 200, None, |_| {});
                if let Some((digit, duration_ms)) = info_dtmf(&inc.req) {
                    self.events.push_back(Event::Dtmf { call: handle, digit, duration_ms });
                }
            }
            Method::Notify => {
                self.respond(now, &inc, 200, None, |_| {});
                let is_refer = inc
                    .req
                    .headers
                    .get("Event")
                    .is_some_and(|e| e.trim().to_ascii_lowercase().starts_with("refer"));
                let terminated = inc
                    .req
                    .headers
                    .get("Subscription-State")
                    .is_some_and(|s| s.trim().to_ascii_lowercase().starts_with("terminated"));
                let frag = std::str::from_utf8(&inc.req.body).ok().and_then(|b| b.lines().next());
                let code = frag
                    .and_then(|l| l.strip_prefix("SIP/2.0 "))
                    .and_then(|s| s.get(..3))
                    .and_then(|c| c.parse::<u16>().ok());
                if let (true, Some(code)) = (is_refer, code) {
                    self.events.push_back(Event::ReferProgress {
                        call: handle,
                        code,
                        done: code >= 200 || terminated,
                    });
                }
            }
            Method::Other(_) => self.respond(now, &inc, 501, None, |_| {}),
            _ => {
                let allow = self.allow();
                self.respond(now, &inc, 405, None, |r| r.headers.push("Allow", allow));
            }
        }
    }

    /// UPDATE (RFC 3311): a session refresh without body, or an offer answered in the 200.
    fn on_update(&mut self, now: Instant, handle: CallHandle, inc: Incoming) {
        if inc.req.body.is_empty() {
            self.respond(now, &inc, 200, None, |_| {});
            return;
        }
        let Some(call) = self.calls.get(&handle) else { return };
        if call.reinvite_pending || call.ok.as_ref().is_some_and(|o| o.late_offer) {
            self.respond(now, &inc, 491, None, |_| {});
            return;
        }
        let (Some(mut local), Ok(offer)) =
            (call.local_media.clone(), SessionDescription::parse(&inc.req.body))
        else {
            self.respond(now, &inc, 488, None, |_| {});
            return;
        };
        local.session_version = local.session_version.wrapping_add(1);
        let Ok((sdp, media)) = local.answer(&offer) else {
            self.respond(now, &inc, 488, None, |_| {});
            return;
        };
        if let Some(c) = self.calls.get_mut(&handle) {
            c.local_media = Some(local);
        }
        self.respond(now, &inc, 200, None, |r| {
            r.headers.push("Content-Type", "application/sdp");
            r.body = sdp.to_bytes();
        });
        self.events.push_back(Event::MediaChanged { call: handle, media });
    }

    fn on_reinvite(&mut self, now: Instant, handle: CallHandle, inc: Incoming) {
        let Some(call) = self.calls.get_mut(&handle) else { return };
        if call.ok.is_some() || call.pending_invite.is_some() || call.reinvite_pending {
            self.respond(now, &inc, 491, None, |_| {});
            return;
        }
        if let Some(c) = inc.req.headers.contact() {
            call.remote_target = c.uri; // target refresh (12.2.2)
        }
        let Some(mut local) = call.local_media.clone() else {
            self.respond(now, &inc, 488, None, |_| {});
            return;
        };
        local.session_version = local.session_version.wrapping_add(1);
        let (sdp, media) = if inc.req.body.is_empty() {
            (local.offer(), None)
        } else {
            let Ok(offer) = SessionDescription::parse(&inc.req.body) else {
                self.respond(now, &inc, 400, None, |r| r.reason = "Bad Session Description".to_owned());
                return;
            };
            match local.answer(&offer) {
                Ok((sdp, n)) => (sdp, Some(n)),
                Err(_) => {
                    // The old session stays as it was (RFC 3264 section 8).
                    self.respond(now, &inc, 488, None, |_| {});
                    return;
                }
            }
        };
        if let Some(c) = self.calls.get_mut(&handle) {
            c.local_media = Some(local);
        }
        self.send_ok(now, handle, &inc, &sdp, media.is_none());
        if let Some(media) = media {
            self.events.push_back(Event::MediaChanged { call: handle, media });
        }
    }
}
