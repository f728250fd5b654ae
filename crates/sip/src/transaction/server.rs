//! Server transactions (RFC 3261 17.2, with RFC 6026's Accepted state).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use frontdesk_types::Instant;

use super::{Timers, Transmit, Transport, earliest, next_retransmit};

/// Server transaction state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    /// Request received, no response yet (non-INVITE Trying; INVITE starts in Proceeding).
    Trying,
    /// A provisional response was sent.
    Proceeding,
    /// A final (non-2xx for INVITE) response was sent.
    Completed,
    /// INVITE: the ACK for a non-2xx final arrived.
    Confirmed,
    /// INVITE: a 2xx was sent; the dialog retransmits it (RFC 6026).
    Accepted,
    /// Done; the endpoint drops it.
    Terminated,
}

/// One server transaction.
#[derive(Debug)]
pub struct ServerTransaction {
    invite: bool,
    state: ServerState,
    last_response: Option<Vec<u8>>,
    transport: Transport,
    peer: SocketAddr,
    timers: Timers,
    retransmit_at: Option<Instant>,
    interval: Duration,
    timeout_at: Option<Instant>,
    end_at: Option<Instant>,
}

impl ServerTransaction {
    /// A transaction for a new request from `peer`.
    pub fn new(invite: bool, transport: Transport, peer: SocketAddr, timers: Timers) -> Self {
        ServerTransaction {
            invite,
            state: if invite { ServerState::Proceeding } else { ServerState::Trying },
            last_response: None,
            transport,
            peer,
            timers,
            retransmit_at: None,
            interval: timers.t1,
            timeout_at: None,
            end_at: None,
        }
    }

    /// Current state.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// Where responses go.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Transport the request came on.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Whether the endpoint can drop it.
    pub fn is_terminated(&self) -> bool {
        self.state == ServerState::Terminated
    }

    /// Whether a final response was sent.
    pub fn is_final(&self) -> bool {
        !matches!(self.state, ServerState::Trying | ServerState::Proceeding)
    }

    /// The next instant [`ServerTransaction::on_timeout`] must run.
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.is_terminated() {
            return None;
        }
        earliest([self.retransmit_at, self.timeout_at, self.end_at])
    }

    /// A retransmission of the request arrived: re-send the last response, if any.
    pub fn on_retransmission(&mut self, out: &mut VecDeque<Transmit>) {
        if matches!(self.state, ServerState::Proceeding | ServerState::Completed)
            && let Some(r) = &self.last_response
        {
            out.push_back(Transmit { transport: self.transport, destination: self.peer, payload: r.clone() });
        }
    }

    /// The transaction user sends a response with status `code`. Ignored once a final was sent
    /// (the dialog layer sends 2xx retransmissions itself).
    pub fn respond(&mut self, now: Instant, code: u16, bytes: Vec<u8>, out: &mut VecDeque<Transmit>) {
        if self.is_final() {
            return;
        }
        out.push_back(Transmit { transport: self.transport, destination: self.peer, payload: bytes.clone() });
        self.last_response = Some(bytes);
        let reliable = self.transport.reliable();
        match code {
            100..=199 => self.state = ServerState::Proceeding,
            200..=299 if self.invite => {
                self.state = ServerState::Accepted;
                self.end_at = Some(now + self.timers.timeout()); // Timer L
            }
            _ if self.invite => {
                self.state = ServerState::Completed;
                if !reliable {
                    self.retransmit_at = Some(now + self.timers.t1); // Timer G
                }
                self.timeout_at = Some(now + self.timers.timeout()); // Timer H
            }
            _ => {
                self.state = ServerState::Completed;
                // Timer J
                self.end_at = Some(now + if reliable { Duration::ZERO } else { self.timers.timeout() });
            }
        }
    }

    /// An ACK matched this (INVITE) transaction.
    pub fn on_ack(&mut self, now: Instant) {
        if self.state == ServerState::Completed {
            self.state = ServerState::Confirmed;
            self.retransmit_at = None;
            self.timeout_at = None;
            // Timer I
            self.end_at = Some(now + if self.transport.reliable() { Duration::ZERO } else { self.timers.t4 });
        }
    }

    /// Fires due timers. Returns `true` if Timer H fired (the ACK never came).
    pub fn on_timeout(&mut self, now: Instant, out: &mut VecDeque<Transmit>) -> bool {
        if self.end_at.is_some_and(|t| t <= now) {
            self.state = ServerState::Terminated;
            return false;
        }
        if self.timeout_at.is_some_and(|t| t <= now) {
            self.state = ServerState::Terminated;
            return true;
        }
        if let Some(at) = self.retransmit_at.filter(|t| *t <= now) {
            if let Some(r) = &self.last_response {
                out.push_back(Transmit {
                    transport: self.transport,
                    destination: self.peer,
                    payload: r.clone(),
                });
            }
            self.interval = self.interval.saturating_mul(2).min(self.timers.t2);
            self.retransmit_at = Some(next_retransmit(at, now, self.interval));
        }
        false
    }
}
