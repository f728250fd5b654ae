//! The user agent core: dialogs (UAS and UAC), registration and REFER over the transaction
//! layer, behind a sans-IO API for a thin shell.
//!
//! # Driving contract
//! Inputs, each carrying `now`:
//! - [`Endpoint::handle_datagram`] for a UDP datagram, [`Endpoint::handle_stream_message`] for
//!   one message cut from a TCP stream by [`crate::message::StreamFramer`];
//! - [`Endpoint::handle_timeout`] when the instant from [`Endpoint::poll_timeout`] is reached;
//! - [`Endpoint::handle_transport_error`] when a send failed (TCP connect refused, ICMP);
//! - commands: incoming calls [`Endpoint::ring`], [`Endpoint::provisional`],
//!   [`Endpoint::early_media`], [`Endpoint::answer`], [`Endpoint::reject`]; outgoing calls
//!   [`Endpoint::invite`], [`Endpoint::cancel`]; any call [`Endpoint::hangup`],
//!   [`Endpoint::reinvite`] (hold/unhold), [`Endpoint::refer`] (blind transfer); registration
//!   [`Endpoint::register`], [`Endpoint::unregister`]. Commands return at once; an `Err` says
//!   why the command could not do what was asked (unknown call, wrong state; see each one).
//!
//! After **every** input, drain [`Endpoint::poll_transmit`] (send each [`Transmit`]) and
//! [`Endpoint::poll_event`] until both return `None`, then re-arm the shell's timer with
//! [`Endpoint::poll_timeout`] (`None`: nothing scheduled). Calling `handle_timeout` early or
//! late is harmless: due timers fire, others wait.
//!
//! # Routing without DNS
//! The core resolves nothing. Responses go to the packet's source address (symmetric
//! response routing as with `rport`, RFC 3581: it works through NAT and with SIPp); the top Via
//! gets `received`/`rport` filled in. New requests go to the address the command names (the
//! shell resolved it) or to the IP literal in the URI. In-dialog requests go to the first Route
//! if it is an IP literal, else to the remote target if it is one, else to the address the
//! dialog's last request came from. Only loose routing (`;lr`) is supported.
//!
//! # What ends every call and transaction
//! Transactions end by their timers (see [`crate::transaction`]). An answered incoming call
//! whose ACK never arrives ends after 64*T1 with a BYE ([`EndReason::AckTimeout`]); an
//! outgoing call rings at most [`Config::ring_timeout`] and then is cancelled; an incoming call
//! the application leaves unanswered gets 480 after [`Config::answer_timeout`]; a CANCEL that
//! draws no final response ends the call 64*T1 later; a BYE is fire-and-forget for the call
//! (its transaction retransmits on its own); an established call is hung up at
//! [`Config::max_call_duration`] (a guard; the shell's media-inactivity timer should act
//! first). Every timer that fires moves its call on or ends it; a property test feeds random
//! traffic and lossy two-endpoint calls and checks that nothing is left once time runs out.
//!
//! # Threading
//! [`Endpoint`] is `Send`: one per SIP socket (or per process), owned by one task. Calls are
//! addressed by [`CallHandle`]; events carry caller data wrapped in [`Pii`].

mod answer;
mod call;
mod midcall;
mod register;
mod uac;
mod uas;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use frontdesk_types::{Instant, Pii};

pub use register::{REGISTER_RETRY, RegisterParams};
pub use uac::{DigestCredentials, InviteParams};

use crate::Error;
use crate::message::{Message, Request, Response};
use crate::rng::Rng;
use crate::sdp::{Codec, Negotiated, SessionDescription};
use crate::transaction::{
    ClientOutcome, ClientTransaction, ServerTransaction, Timers, Transmit, Transport, earliest,
};
use call::Call;
use register::Registration;

/// The shortest ring timeout [`Config::ring_timeout`] is clamped to.
pub const MIN_RING_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest ring timeout (below the INVITE transaction's Timer C).
pub const MAX_RING_TIMEOUT: Duration = Duration::from_secs(170);

/// Endpoint settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address put in Via and Contact (the shell's bound, or public, address).
    pub local_addr: SocketAddr,
    /// User part of our Contact.
    pub contact_user: String,
    /// `User-Agent` / `Server` header value.
    pub user_agent: String,
    /// Transaction timers.
    pub timers: Timers,
    /// How long an outgoing call may ring before it is cancelled (default 25 s, clamped to
    /// 15-170 s: the INVITE transaction's Timer C gives up at 181 s).
    pub ring_timeout: Duration,
    /// How long an incoming call may wait for [`Endpoint::answer`] / [`Endpoint::reject`]
    /// before the core answers 480 itself ([`EndReason::NoAnswer`]); default 120 s.
    pub answer_timeout: Duration,
    /// Longest call; an established call still up then is hung up with a BYE
    /// ([`EndReason::MaxDuration`]). A guard against dialogs whose peer vanished without BYE
    /// (the shell's media-inactivity timeout normally ends those first); default 4 h.
    pub max_call_duration: Duration,
    /// Codecs accepted on incoming calls, in preference order (an INVITE offering none of
    /// them is answered 488 without an event).
    pub codecs: Vec<Codec>,
    /// Seed for tags, branches and Call-IDs.
    pub seed: u64,
}

impl Config {
    /// Defaults for a UA at `local_addr`.
    pub fn new(local_addr: SocketAddr) -> Self {
        Config {
            local_addr,
            contact_user: "frontdesk".to_owned(),
            user_agent: "frontdesk".to_owned(),
            timers: Timers::default(),
            ring_timeout: Duration::from_secs(25),
            answer_timeout: Duration::from_secs(120),
            max_call_duration: Duration::from_secs(4 * 3600),
            codecs: vec![Codec::Pcmu, Codec::Pcma, Codec::Opus],
            seed: 0,
        }
    }
}

/// A call (one dialog, incoming or outgoing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallHandle(pub u64);

/// A registration binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistrationHandle(pub u64);

/// Why a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// We hung up (BYE sent, or our reject/cancel).
    Local,
    /// The peer sent BYE.
    RemoteHangup,
    /// The caller cancelled before we answered (we sent 487).
    CallerCancelled,
    /// We rejected the incoming call, or the callee rejected ours (code in the event).
    Rejected,
    /// The callee is busy (486, 600).
    Busy,
    /// Nobody answered before the ring timeout (we cancelled), or the application left an
    /// incoming call unanswered past [`Config::answer_timeout`] (we sent 480).
    NoAnswer,
    /// Transport failure or no response at all (Timer B / F).
    Failed,
    /// We answered but the ACK never came.
    AckTimeout,
    /// No acceptable media (488).
    NotAcceptable,
    /// [`Config::max_call_duration`] reached (we sent BYE).
    MaxDuration,
}

/// State of a registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationState {
    /// Bound for this long; the core refreshes it before it runs out.
    Registered {
        /// Granted expiry.
        expires: Duration,
    },
    /// The registrar refused or did not answer (`code` 408 for a timeout); retried later.
    Failed {
        /// Final status code.
        code: u16,
    },
    /// The binding was removed.
    Unregistered,
}

/// What the core tells the shell.
// IncomingCall is large (it carries the offer), but events are a few per call: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// An INVITE arrived (100 Trying already sent). Answer with [`Endpoint::ring`],
    /// [`Endpoint::answer`] or [`Endpoint::reject`].
    IncomingCall {
        /// The new call.
        call: CallHandle,
        /// Call-ID header.
        call_id: String,
        /// From URI.
        from: Pii<String>,
        /// To URI.
        to: Pii<String>,
        /// Request-URI (the dialled number or service on most trunks).
        request_uri: Pii<String>,
        /// The SDP offer, if the INVITE carried one.
        offer: Option<SessionDescription>,
        /// All headers of the INVITE, for routing decisions (may hold caller data: do not log).
        headers: Pii<Vec<(String, String)>>,
        /// Where the INVITE came from.
        remote: SocketAddr,
    },
    /// An outgoing call got a provisional response (180, 183 ...), with early media if the
    /// response carried SDP.
    CallProgress {
        /// The call.
        call: CallHandle,
        /// Status code.
        code: u16,
        /// Early media, if negotiated.
        media: Option<Negotiated>,
    },
    /// An outgoing call was answered (ACK sent).
    CallAnswered {
        /// The call.
        call: CallHandle,
        /// Agreed media.
        media: Option<Negotiated>,
    },
    /// An incoming call we answered was confirmed by the ACK.
    CallConfirmed {
        /// The call.
        call: CallHandle,
        /// Agreed media when the offer came late (in the ACK), else `None` (it was returned by
        /// [`Endpoint::answer`]).
        media: Option<Negotiated>,
    },
    /// A re-INVITE changed the media (hold, unhold, codec change); already answered.
    MediaChanged {
        /// The call.
        call: CallHandle,
        /// The new agreement.
        media: Negotiated,
    },
    /// The call is over; the handle is now invalid.
    CallEnded {
        /// The call.
        call: CallHandle,
        /// Why.
        reason: EndReason,
        /// The SIP status code involved, if any (487, 486, 408, ...).
        code: Option<u16>,
    },
    /// Progress of a transfer we requested with [`Endpoint::refer`]: 202 when accepted, then
    /// the status lines of the NOTIFY sipfrag bodies (100, 180, 200, ...).
    ReferProgress {
        /// The call being transferred.
        call: CallHandle,
        /// Status code.
        code: u16,
        /// Whether this is the last report (final sipfrag, rejected REFER or terminated subscription).
        done: bool,
    },
    /// A DTMF key arrived in a SIP INFO request (`application/dtmf-relay` or
    /// `application/dtmf`; RFC 4733 events in RTP are the media engine's business).
    Dtmf {
        /// The call.
        call: CallHandle,
        /// The key.
        digit: frontdesk_types::Digit,
        /// Duration in ms, when given.
        duration_ms: Option<u32>,
    },
    /// Our re-INVITE was refused with `code` (488, 500 ...); the previous media stays.
    MediaUpdateFailed {
        /// The call.
        call: CallHandle,
        /// Status code.
        code: u16,
    },
    /// A registration changed state (also sent after every successful refresh).
    Registration {
        /// The registration.
        registration: RegistrationHandle,
        /// New state.
        state: RegistrationState,
    },
}

/// What a client transaction is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Invite(CallHandle),
    ReInvite(CallHandle),
    Cancel,
    Bye,
    Refer(CallHandle),
    Register(RegistrationHandle),
}

struct ClientEntry {
    tx: ClientTransaction,
    purpose: Purpose,
}

/// RFC 3261 17.2.3 server transaction key: branch, sent-by, method (ACK maps to INVITE).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ServerKey {
    branch: String,
    sent_by: String,
    method: String,
}

struct ServerEntry {
    tx: ServerTransaction,
    call: Option<CallHandle>,
}

/// The SIP user agent core. See the module doc for the driving contract.
pub struct Endpoint {
    config: Config,
    rng: Rng,
    clients: BTreeMap<(String, String), ClientEntry>,
    servers: BTreeMap<ServerKey, ServerEntry>,
    calls: BTreeMap<CallHandle, Call>,
    registrations: BTreeMap<RegistrationHandle, Registration>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    next_id: u64,
}

impl Endpoint {
    /// A new endpoint. The ring timeout is clamped to [`MIN_RING_TIMEOUT`]..=[`MAX_RING_TIMEOUT`].
    pub fn new(mut config: Config) -> Self {
        config.ring_timeout = config.ring_timeout.clamp(MIN_RING_TIMEOUT, MAX_RING_TIMEOUT);
        Endpoint {
            rng: Rng::new(config.seed),
            config,
            clients: BTreeMap::new(),
            servers: BTreeMap::new(),
            calls: BTreeMap::new(),
            registrations: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 1,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Number of live calls (dialogs being set up or established).
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// The Call-ID of a live call (for logs and CDRs; outgoing calls learn theirs here).
    pub fn call_id(&self, call: CallHandle) -> Option<&str> {
        self.calls.get(&call).map(|c| c.call_id.as_str())
    }

    /// Number of live transactions (client + server).
    pub fn transaction_count(&self) -> usize {
        self.clients.len() + self.servers.len()
    }

    /// A UDP datagram arrived from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Result<(), Error> {
        self.handle_input(now, Transport::Udp, from, bytes)
    }

    /// One framed message arrived on a TCP connection from `from`.
    pub fn handle_stream_message(
        &mut self,
        now: Instant,
        from: SocketAddr,
        bytes: &[u8],
    ) -> Result<(), Error> {
        self.handle_input(now, Transport::Tcp, from, bytes)
    }

    /// A message arrived. Keep-alives (bare CRLFs) are ignored. An `Err` means the message was
    /// dropped or answered with 400 (log it; nothing else to do).
    pub fn handle_input(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        bytes: &[u8],
    ) -> Result<(), Error> {
        if bytes.iter().all(|b| matches!(b, b'\r' | b'\n')) {
            return Ok(());
        }
        match Message::parse(bytes)? {
            Message::Request(req) => self.on_request(now, transport, from, req),
            Message::Response(resp) => self.on_response(now, resp),
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut timed_out = Vec::new();
        for (key, e) in &mut self.clients {
            if e.tx.next_timeout().is_some_and(|t| t <= now) && e.tx.on_timeout(now, &mut self.transmits) {
                timed_out.push((key.clone(), e.purpose));
            }
        }
        for (key, purpose) in timed_out {
            self.on_client_timeout(now, &key, purpose);
        }
        for e in self.servers.values_mut() {
            if e.tx.next_timeout().is_some_and(|t| t <= now) {
                // Timer H (no ACK for a non-2xx final) needs no further action: the call ended
                // when the final response was sent.
                let _ = e.tx.on_timeout(now, &mut self.transmits);
            }
        }
        let due: Vec<CallHandle> = self
            .calls
            .iter()
            .filter(|(_, c)| c.next_timeout().is_some_and(|t| t <= now))
            .map(|(h, _)| *h)
            .collect();
        for h in due {
            self.on_call_timer(now, h);
            // Every due timer must move its call on; should one not (a bug), end the call
            // rather than spin: nothing may stay stuck.
            if self.calls.get(&h).and_then(Call::next_timeout).is_some_and(|t| t <= now) {
                self.end_call(h, EndReason::Failed, None);
            }
        }
        let due: Vec<RegistrationHandle> = self
            .registrations
            .iter()
            .filter(|(_, r)| r.next_timeout().is_some_and(|t| t <= now))
            .map(|(h, _)| *h)
            .collect();
        for h in due {
            self.on_registration_timer(now, h);
        }
        // Last, so transactions the call timers just ended go too.
        self.clients.retain(|_, e| !e.tx.is_terminated());
        self.servers.retain(|_, e| !e.tx.is_terminated());
    }

    /// The next bytes to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`Endpoint::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(
            self.clients
                .values()
                .map(|e| e.tx.next_timeout())
                .chain(self.servers.values().map(|e| e.tx.next_timeout()))
                .chain(self.calls.values().map(Call::next_timeout))
                .chain(self.registrations.values().map(Registration::next_timeout)),
        )
    }

    fn next_handle(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn on_response(&mut self, now: Instant, resp: Response) -> Result<(), Error> {
        let via = resp.headers.top_via()?;
        let cseq = resp.headers.cseq()?;
        let branch = via.branch().ok_or(Error::BadHeader("Via"))?.to_owned();
        let key = (branch, cseq.method.as_str().to_owned());
        let Some(entry) = self.clients.get_mut(&key) else {
            // A 2xx retransmitted after the INVITE transaction ended: the dialog re-ACKs it.
            if resp.code / 100 == 2 && cseq.method == crate::message::Method::Invite {
                self.resend_ack(&resp);
            }
            return Ok(());
        };
        if entry.tx.on_response(now, &resp, &mut self.transmits) == ClientOutcome::Absorbed {
            return Ok(());
        }
        let purpose = entry.purpose;
        let request = entry.tx.request().clone();
        self.on_client_response(now, purpose, &request, resp)
    }

    fn on_client_response(
        &mut self,
        now: Instant,
        purpose: Purpose,
        request: &Request,
        resp: Response,
    ) -> Result<(), Error> {
        match purpose {
            Purpose::Invite(call) => self.on_invite_response(now, call, request, resp),
            Purpose::ReInvite(call) => self.on_reinvite_response(now, call, resp),
            Purpose::Refer(call) => {
                if resp.code >= 200 {
                    let done = resp.code >= 300;
                    self.events.push_back(Event::ReferProgress { call, code: resp.code, done });
                }
                Ok(())
            }
            Purpose::Register(reg) => self.on_register_response(now, reg, request, resp),
            Purpose::Cancel | Purpose::Bye => Ok(()),
        }
    }

    fn on_client_timeout(&mut self, now: Instant, key: &(String, String), purpose: Purpose) {
        self.fail_client(now, key, purpose, 408);
    }

    /// A client transaction ended without a response: the transaction user sees a local
    /// `code` (408 timeout, 503 transport error; RFC 3261 8.1.3.1).
    fn fail_client(&mut self, now: Instant, key: &(String, String), purpose: Purpose, code: u16) {
        let Some(request) = self.clients.get(key).map(|e| e.tx.request().clone()) else { return };
        let mut local = Response::to_request(&request, code);
        local.reason = "Local Failure".to_owned();
        match purpose {
            Purpose::Invite(call) => self.end_call(call, EndReason::Failed, Some(code)),
            _ => {
                let _ = self.on_client_response(now, purpose, &request, local);
            }
        }
    }

    /// The shell could not deliver to `destination` (TCP connect refused or reset, ICMP
    /// unreachable): every live client transaction towards it fails as if answered 503
    /// (RFC 3261 8.1.3.1); an outgoing call ends with [`EndReason::Failed`] and code 503.
    pub fn handle_transport_error(&mut self, now: Instant, transport: Transport, destination: SocketAddr) {
        let failed: Vec<((String, String), Purpose)> = self
            .clients
            .iter()
            .filter(|(_, e)| {
                !e.tx.is_terminated() && e.tx.transport() == transport && e.tx.destination() == destination
            })
            .map(|(k, e)| (k.clone(), e.purpose))
            .collect();
        for (key, purpose) in failed {
            self.fail_client(now, &key, purpose, 503);
            if let Some(e) = self.clients.get_mut(&key) {
                e.tx.terminate();
            }
        }
        self.clients.retain(|_, e| !e.tx.is_terminated());
    }

    fn end_call(&mut self, call: CallHandle, reason: EndReason, code: Option<u16>) {
        if self.calls.remove(&call).is_some() {
            self.events.push_back(Event::CallEnded { call, reason, code });
        }
    }

    fn start_client(
        &mut self,
        now: Instant,
        req: Request,
        transport: Transport,
        dest: SocketAddr,
        purpose: Purpose,
    ) {
        let branch =
            req.headers.top_via().ok().and_then(|v| v.branch().map(str::to_owned)).unwrap_or_default();
        let key = (branch, req.method.as_str().to_owned());
        let tx = ClientTransaction::start(now, req, transport, dest, self.config.timers, &mut self.transmits);
        self.clients.insert(key, ClientEntry { tx, purpose });
    }

    /// A fresh branch with the RFC 3261 magic cookie.
    fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.rng.hex())
    }

    fn via(&mut self, transport: Transport) -> String {
        let mut v = format!("SIP/2.0/{} ", transport.as_str());
        let addr = self.config.local_addr;
        if addr.is_ipv6() {
            v.push_str(&format!("[{}]:{}", addr.ip(), addr.port()));
        } else {
            v.push_str(&addr.to_string());
        }
        let b = self.branch();
        v.push_str(&format!(";branch={b};rport"));
        v
    }

    fn contact(&self, transport: Transport) -> String {
        let mut uri =
            crate::message::SipUri::from_addr(Some(&self.config.contact_user), self.config.local_addr);
        if transport == Transport::Tcp {
            uri.params.push(("transport".to_owned(), Some("tcp".to_owned())));
        }
        format!("<{uri}>")
    }

    fn allow(&self) -> &'static str {
        "INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY, INFO, UPDATE"
    }
}
