//! Client transactions (RFC 3261 17.1, with RFC 6026's Accepted state).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use frontdesk_types::Instant;

use super::{Timers, Transmit, Transport, earliest, next_retransmit};
use crate::message::{CSeq, Method, Request, Response};

/// Timer C: the longest an INVITE client transaction waits in Proceeding (RFC 3261 16.6
/// gives proxies "greater than 3 minutes"; each provisional response restarts it).
pub const TIMER_C: Duration = Duration::from_secs(181);

/// Client transaction state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    /// INVITE sent, nothing heard (Calling) / non-INVITE sent (Trying).
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A final response arrived (non-2xx for INVITE); absorbing retransmissions.
    Completed,
    /// INVITE: a 2xx arrived; later 2xx retransmissions go to the dialog (RFC 6026).
    Accepted,
    /// Done; the endpoint drops it.
    Terminated,
}

/// What the endpoint should do with a response a transaction matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientOutcome {
    /// Pass it to the transaction user (dialog, registration ...).
    Deliver,
    /// A retransmission the transaction handled.
    Absorbed,
}

/// One client transaction.
#[derive(Debug)]
pub struct ClientTransaction {
    invite: bool,
    state: ClientState,
    request: Request,
    bytes: Vec<u8>,
    ack: Option<Vec<u8>>,
    transport: Transport,
    destination: SocketAddr,
    timers: Timers,
    retransmit_at: Option<Instant>,
    interval: Duration,
    timeout_at: Option<Instant>,
    end_at: Option<Instant>,
}

impl ClientTransaction {
    /// Starts a transaction for `request` (its top Via must carry the branch) and queues the
    /// first transmission.
    pub fn start(
        now: Instant,
        request: Request,
        transport: Transport,
        destination: SocketAddr,
        timers: Timers,
        out: &mut VecDeque<Transmit>,
    ) -> Self {
        let bytes = request.to_bytes();
        out.push_back(Transmit { transport, destination, payload: bytes.clone() });
        let invite = request.method == Method::Invite;
        ClientTransaction {
            invite,
            state: ClientState::Calling,
            request,
            bytes,
            ack: None,
            transport,
            destination,
            timers,
            retransmit_at: (!transport.reliable()).then(|| now + timers.t1),
            interval: timers.t1,
            timeout_at: Some(now + timers.timeout()),
            end_at: None,
        }
    }

    /// The request this transaction sent.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Current state.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// Where the request went.
    pub fn destination(&self) -> SocketAddr {
        self.destination
    }

    /// Transport used.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Whether the endpoint can drop it.
    pub fn is_terminated(&self) -> bool {
        self.state == ClientState::Terminated
    }

    /// The next instant [`ClientTransaction::on_timeout`] must run.
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.is_terminated() {
            return None;
        }
        earliest([self.retransmit_at, self.timeout_at, self.end_at])
    }

    /// A response whose top Via branch and CSeq method matched this transaction.
    pub fn on_response(
        &mut self,
        now: Instant,
        resp: &Response,
        out: &mut VecDeque<Transmit>,
    ) -> ClientOutcome {
        let reliable = self.transport.reliable();
        match (self.state, resp.code) {
            (ClientState::Calling | ClientState::Proceeding, 100..=199) => {
                self.state = ClientState::Proceeding;
                if self.invite {
                    // Timer A stops; Timer B no longer applies once something was heard. Timer C
                    // (borrowed from proxies, 16.6) bounds the wait for a final response, so the
                    // transaction ends even if its user never cancels.
                    self.retransmit_at = None;
                    self.timeout_at = Some(now + TIMER_C);
                } else if !reliable {
                    // Timer E continues at T2.
                    self.interval = self.timers.t2;
                    self.retransmit_at = Some(now + self.timers.t2);
                }
                ClientOutcome::Deliver
            }
            (ClientState::Calling | ClientState::Proceeding, 200..=299) if self.invite => {
                self.state = ClientState::Accepted;
                self.retransmit_at = None;
                self.timeout_at = None;
                self.end_at = Some(now + self.timers.timeout()); // Timer M
                ClientOutcome::Deliver
            }
            (ClientState::Accepted, 200..=299) => ClientOutcome::Deliver,
            (ClientState::Calling | ClientState::Proceeding, _) => {
                self.state = ClientState::Completed;
                self.retransmit_at = None;
                self.timeout_at = None;
                if self.invite {
                    let ack = self.non_2xx_ack(resp).to_bytes();
                    out.push_back(Transmit {
                        transport: self.transport,
                        destination: self.destination,
                        payload: ack.clone(),
                    });
                    self.ack = Some(ack);
                    // Timer D
                    self.end_at = Some(now + if reliable { Duration::ZERO } else { Duration::from_secs(32) });
                } else {
                    // Timer K
                    self.end_at = Some(now + if reliable { Duration::ZERO } else { self.timers.t4 });
                }
                ClientOutcome::Deliver
            }
            (ClientState::Completed, 300..=699) if self.invite => {
                if let Some(ack) = &self.ack {
                    out.push_back(Transmit {
                        transport: self.transport,
                        destination: self.destination,
                        payload: ack.clone(),
                    });
                }
                ClientOutcome::Absorbed
            }
            _ => ClientOutcome::Absorbed,
        }
    }

    /// Fires due timers. Returns `true` when the transaction timed out (Timer B or F): the
    /// transaction user treats that as a 408.
    pub fn on_timeout(&mut self, now: Instant, out: &mut VecDeque<Transmit>) -> bool {
        if self.end_at.is_some_and(|t| t <= now) {
            self.state = ClientState::Terminated;
            return false;
        }
        if self.timeout_at.is_some_and(|t| t <= now) {
            self.state = ClientState::Terminated;
            return true;
        }
        if let Some(at) = self.retransmit_at.filter(|t| *t <= now) {
            out.push_back(Transmit {
                transport: self.transport,
                destination: self.destination,
                payload: self.bytes.clone(),
            });
            self.interval = if self.invite {
                self.interval.saturating_mul(2)
            } else if self.state == ClientState::Proceeding {
                self.timers.t2
            } else {
                self.interval.saturating_mul(2).min(self.timers.t2)
            };
            // From the deadline (no drift), but after `now` (no burst after a stall).
            self.retransmit_at = Some(next_retransmit(at, now, self.interval));
        }
        false
    }

    /// Ends the transaction early (the dialog gave up on it).
    pub fn terminate(&mut self) {
        self.state = ClientState::Terminated;
    }

    /// The ACK for a non-2xx final response (17.1.1.3): same branch, To from the response.
    fn non_2xx_ack(&self, resp: &Response) -> Request {
        let mut ack = Request::new(Method::Ack, self.request.uri.clone());
        let h = &mut ack.headers;
        if let Some(via) = self.request.headers.get_all("Via").first() {
            h.push("Via", *via);
        }
        h.copy_from(&self.request.headers, "Route");
        h.push("Max-Forwards", "70");
        h.copy_from(&self.request.headers, "From");
        h.copy_from(&resp.headers, "To");
        h.copy_from(&self.request.headers, "Call-ID");
        let seq = self.request.headers.cseq().map_or(1, |c| c.seq);
        h.push("CSeq", CSeq { seq, method: Method::Ack }.to_string());
        ack
    }
}
