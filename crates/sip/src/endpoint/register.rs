//! Registration (RFC 3261 section 10): REGISTER with digest, refresh before expiry,
//! unregister, retry after failure.

use std::net::SocketAddr;
use std::time::Duration;

use frontdesk_types::Instant;

use super::uac::{DigestCredentials, authorize};
use super::{Endpoint, Event, Purpose, RegistrationHandle, RegistrationState};
use crate::Error;
use crate::message::{CSeq, Method, NameAddr, Request, Response, SipUri};
use crate::transaction::Transport;

/// Retry delay after a failed registration.
pub const REGISTER_RETRY: Duration = Duration::from_secs(60);

/// A binding to keep registered.
#[derive(Clone, Debug)]
pub struct RegisterParams {
    /// The registrar's URI (Request-URI), e.g. `sip:pbx.example.com`.
    pub registrar: SipUri,
    /// Address-of-record user: To/From are `sip:user@<registrar host>`.
    pub user: String,
    /// Resolved registrar address. Default: the registrar URI's IP literal.
    pub destination: Option<SocketAddr>,
    /// Transport.
    pub transport: Transport,
    /// Credentials for 401/407.
    pub auth: Option<DigestCredentials>,
    /// Requested expiry.
    pub expires: Duration,
}

impl RegisterParams {
    /// Registers `user` at `registrar` for an hour over UDP without auth.
    pub fn new(registrar: SipUri, user: &str) -> Self {
        RegisterParams {
            registrar,
            user: user.to_owned(),
            destination: None,
            transport: Transport::Udp,
            auth: None,
            expires: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug)]
pub(super) struct Registration {
    params: RegisterParams,
    dest: SocketAddr,
    call_id: String,
    from_tag: String,
    cseq: u32,
    auth_attempts: u32,
    refresh_at: Option<Instant>,
    removing: bool,
}

impl Registration {
    pub(super) fn next_timeout(&self) -> Option<Instant> {
        self.refresh_at
    }
}

/// When to refresh a binding granted for `expires`: halfway for short bindings, a minute
/// early for long ones, so a lost refresh still has time for retransmissions.
fn refresh_after(expires: Duration) -> Duration {
    (expires / 2).max(expires.saturating_sub(Duration::from_secs(60)))
}

impl Endpoint {
    /// Registers a binding and keeps it refreshed. State changes arrive as
    /// [`Event::Registration`].
    pub fn register(&mut self, now: Instant, params: RegisterParams) -> Result<RegistrationHandle, Error> {
        let dest = params.destination.or_else(|| params.registrar.socket_addr()).ok_or(Error::Unresolved)?;
        let handle = RegistrationHandle(self.next_handle());
        let reg = Registration {
            params,
            dest,
            call_id: format!("{}@{}", self.rng.hex(), self.config.local_addr.ip()),
            from_tag: self.rng.hex(),
            cseq: 0,
            auth_attempts: 0,
            refresh_at: None,
            removing: false,
        };
        self.registrations.insert(handle, reg);
        self.send_register(now, handle, None);
        Ok(handle)
    }

    /// Removes the binding (REGISTER with `Expires: 0`); [`RegistrationState::Unregistered`] follows.
    pub fn unregister(&mut self, now: Instant, registration: RegistrationHandle) -> Result<(), Error> {
        let reg =
            self.registrations.get_mut(&registration).ok_or(Error::InvalidState("unknown registration"))?;
        reg.removing = true;
        reg.auth_attempts = 0;
        self.send_register(now, registration, None);
        Ok(())
    }

    fn send_register(&mut self, now: Instant, handle: RegistrationHandle, challenge: Option<&Response>) {
        let via = self.via(self.registrations.get(&handle).map_or(Transport::Udp, |r| r.params.transport));
        let cnonce = self.rng.hex();
        let contact_base =
            self.contact(self.registrations.get(&handle).map_or(Transport::Udp, |r| r.params.transport));
        let ua = self.config.user_agent.clone();
        let Some(reg) = self.registrations.get_mut(&handle) else { return };
        reg.cseq += 1;
        reg.refresh_at = None;
        let p = &reg.params;
        let mut aor = p.registrar.clone();
        aor.user = Some(p.user.clone());
        aor.params.clear();
        aor.port = None;
        let mut req = Request::new(Method::Register, p.registrar.clone());
        let h = &mut req.headers;
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        h.push("From", NameAddr::new(aor.clone()).with_tag(&reg.from_tag).to_string());
        h.push("To", NameAddr::new(aor).to_string());
        h.push("Call-ID", reg.call_id.clone());
        h.push("CSeq", CSeq { seq: reg.cseq, method: Method::Register }.to_string());
        h.push("Contact", contact_base);
        let expires = if reg.removing { 0 } else { p.expires.as_secs() };
        h.push("Expires", expires.to_string());
        h.push("User-Agent", ua);
        if let (Some(resp), Some(creds)) = (challenge, &p.auth)
            && authorize(&mut req, resp, creds, &cnonce).is_err()
        {
            // An unanswerable challenge (unknown algorithm, qop=auth-int only): fail and retry later.
            self.registration_failed(now, handle, resp.code);
            return;
        }
        let (transport, dest) = (p.transport, reg.dest);
        self.start_client(now, req, transport, dest, Purpose::Register(handle));
    }

    pub(super) fn on_register_response(
        &mut self,
        now: Instant,
        handle: RegistrationHandle,
        request: &Request,
        resp: Response,
    ) -> Result<(), Error> {
        let Some(reg) = self.registrations.get_mut(&handle) else { return Ok(()) };
        let code = resp.code;
        match code {
            100..=199 => {}
            200..=299 => {
                reg.auth_attempts = 0;
                if reg.removing {
                    self.registrations.remove(&handle);
                    self.events.push_back(Event::Registration {
                        registration: handle,
                        state: RegistrationState::Unregistered,
                    });
                    return Ok(());
                }
                // The registrar's grant: our Contact's expires parameter, else Expires, else what we asked.
                let ours = request.headers.contact().map(|c| c.uri);
                let from_contact = resp
                    .headers
                    .get_all("Contact")
                    .into_iter()
                    .filter_map(|c| NameAddr::parse(c).ok())
                    .find_map(|c| {
                        let same = ours.as_ref().is_some_and(|o| {
                            o.host == c.uri.host && o.port == c.uri.port && o.user == c.uri.user
                        });
                        same.then(|| c.param("expires").flatten().and_then(|e| e.parse::<u64>().ok()))
                            .flatten()
                    });
                let granted = from_contact
                    .or_else(|| resp.headers.get("Expires").and_then(|e| e.trim().parse().ok()))
                    .map_or(reg.params.expires, Duration::from_secs);
                reg.refresh_at = Some(now + refresh_after(granted));
                self.events.push_back(Event::Registration {
                    registration: handle,
                    state: RegistrationState::Registered { expires: granted },
                });
            }
            401 | 407 if reg.params.auth.is_some() && reg.auth_attempts < 2 => {
                reg.auth_attempts += 1;
                self.send_register(now, handle, Some(&resp));
            }
            423 => {
                let min = resp.headers.get("Min-Expires").and_then(|m| m.trim().parse::<u64>().ok());
                match min {
                    Some(m) if reg.params.expires < Duration::from_secs(m) => {
                        reg.params.expires = Duration::from_secs(m);
                        self.send_register(now, handle, None);
                    }
                    _ => self.registration_failed(now, handle, code),
                }
            }
            _ => self.registration_failed(now, handle, code),
        }
        Ok(())
    }

    fn registration_failed(&mut self, now: Instant, handle: RegistrationHandle, code: u16) {
        let Some(reg) = self.registrations.get_mut(&handle) else { return };
        if reg.removing {
            self.registrations.remove(&handle);
            self.events.push_back(Event::Registration {
                registration: handle,
                state: RegistrationState::Unregistered,
            });
            return;
        }
        reg.auth_attempts = 0;
        reg.refresh_at = Some(now + REGISTER_RETRY);
        self.events.push_back(Event::Registration {
            registration: handle,
            state: RegistrationState::Failed { code },
        });
    }

    pub(super) fn on_registration_timer(&mut self, now: Instant, handle: RegistrationHandle) {
        self.send_register(now, handle, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_before_expiry() {
        assert_eq!(refresh_after(Duration::from_secs(3600)), Duration::from_secs(3540));
        assert_eq!(refresh_after(Duration::from_secs(60)), Duration::from_secs(30));
        assert_eq!(refresh_after(Duration::ZERO), Duration::ZERO);
    }
}
