//! RFC 3261 section 17 transactions, driven by a passed-in clock.
//!
//! A transaction is a small state machine that owns the bytes it may have to send again and
//! the instants of its timers. It never reads a clock and never does I/O: the endpoint calls
//! [`ClientTransaction::on_response`] / [`ServerTransaction::on_retransmission`] / [`ServerTransaction::respond`] and friends with `now`,
//! collects the bytes they push into a [`Transmit`] queue, and asks [`next_timeout`] for the
//! earliest deadline. Timers (T1 = 500 ms, T2 = 4 s, T4 = 5 s by default, see [`Timers`]):
//!
//! | timer | transaction | value | meaning |
//! |---|---|---|---|
//! | A | INVITE client | T1, doubling | retransmit INVITE (UDP only) |
//! | B | INVITE client | 64*T1 | give up waiting for any response |
//! | C | INVITE client | 181 s, restarted by each provisional | give up waiting for a final (a bound; the dialog's ring timeout cancels long before) |
//! | D | INVITE client | 32 s UDP, 0 TCP | absorb retransmitted non-2xx finals, re-ACK them |
//! | M | INVITE client (RFC 6026) | 64*T1 | absorb retransmitted 2xx after the first |
//! | E | non-INVITE client | T1, doubling to T2 (T2 once proceeding) | retransmit (UDP only) |
//! | F | non-INVITE client | 64*T1 | give up |
//! | K | non-INVITE client | T4 UDP, 0 TCP | absorb response retransmissions |
//! | G | INVITE server | T1, doubling to T2 | retransmit the non-2xx final (UDP only) |
//! | H | INVITE server | 64*T1 | give up waiting for the ACK |
//! | I | INVITE server | T4 UDP, 0 TCP | absorb ACK retransmissions |
//! | L | INVITE server (RFC 6026) | 64*T1 | absorb INVITE retransmissions after a 2xx |
//! | J | non-INVITE server | 64*T1 UDP, 0 TCP | re-send the final to retransmitted requests |
//!
//! Retransmission of the 2xx to an INVITE until the ACK (13.3.1.4) belongs to the dialog, not
//! to the transaction (the endpoint does it), as RFC 3261 and 6026 say.

mod client;
mod server;

use std::net::SocketAddr;
use std::time::Duration;

use frontdesk_types::Instant;

pub use client::{ClientOutcome, ClientState, ClientTransaction, TIMER_C};
pub use server::{ServerState, ServerTransaction};

/// The transport a message travels on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: the core retransmits.
    Udp,
    /// TCP: reliable, no retransmissions; messages framed by Content-Length.
    Tcp,
}

impl Transport {
    /// Whether the transport is reliable (no retransmissions, zero-length absorb timers).
    pub fn reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// The Via token.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// Bytes to send: the shell writes `payload` to `destination` over `transport` (for TCP, on
/// the connection to that address, opening one if needed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Transport to use.
    pub transport: Transport,
    /// Where to.
    pub destination: SocketAddr,
    /// One whole SIP message.
    pub payload: Vec<u8>,
}

/// Timer base values (RFC 3261 table 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// Round-trip estimate, 500 ms.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses, 4 s.
    pub t2: Duration,
    /// Maximum time a message stays in the network, 5 s.
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers { t1: Duration::from_millis(500), t2: Duration::from_secs(4), t4: Duration::from_secs(5) }
    }
}

impl Timers {
    /// 64*T1: timers B, F, H, J, L, M (32 s by default).
    pub fn timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// The earliest of some optional instants.
pub(crate) fn earliest(it: impl IntoIterator<Item = Option<Instant>>) -> Option<Instant> {
    it.into_iter().flatten().min()
}

/// When to retransmit next, after retransmitting for the deadline `at` at `now`: `interval`
/// after the deadline, so a wake-up a little late does not drift the schedule; but always after
/// `now`, so a wake-up later than `interval` (a stalled process) sends one retransmission, not a
/// burst, and never leaves a deadline that is already due.
pub(crate) fn next_retransmit(at: Instant, now: Instant, interval: Duration) -> Instant {
    let next = at + interval;
    if next > now { next } else { now + interval }
}

/// The earliest deadline of a set of transactions.
pub fn next_timeout<'a>(
    clients: impl IntoIterator<Item = &'a ClientTransaction>,
    servers: impl IntoIterator<Item = &'a ServerTransaction>,
) -> Option<Instant> {
    earliest(
        clients
            .into_iter()
            .map(ClientTransaction::next_timeout)
            .chain(servers.into_iter().map(ServerTransaction::next_timeout)),
    )
}

#[cfg(test)]
mod tests;
