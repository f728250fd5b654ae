//! The SIP/RTP transport: one task drives one sans-IO [`frontdesk_sip::Endpoint`] over a UDP
//! socket and a TCP listener on the same address (`--sip`, default `0.0.0.0:5060`).
//!
//! # Design
//! The task moves bytes and time, nothing else: every datagram, framed TCP message and timer
//! expiry goes into the endpoint with `now` from the shell's [`Clock`]; after each input it
//! drains `poll_transmit` (UDP `send_to`, or the TCP connection to the destination, see
//! [`net`]) and `poll_event`, then sleeps until `poll_timeout`. Malformed SIP is the core's
//! business (it answers 400 or drops); the task only logs the error at debug level.
//!
//! Per call (see [`calls`]): on `IncomingCall` an RTP/RTCP port pair is bound from
//! `--rtp-ports`, the call is answered with that SDP, and a media task ([`crate::media`]) plus
//! the application run on a [`crate::call::Call`]. Hang-ups go both ways: a BYE (or any end the
//! core reports) closes the media task's control channel, and the media task ending (the
//! application hung up, RTP timeout) makes this task send BYE.
//!
//! Outgoing calls: `--dial` places one at start-up; the HTTP API places more through
//! [`SipCmd::Originate`] (from [`crate::control::GatewayControl`]), each running the app once
//! answered under the id the API returned; one that fails or is cancelled before the answer
//! leaves the live-call registry.
//!
//! Shutdown: once `stop_accepting` fires, new INVITEs are answered 503; calls go on. When
//! `hang_up` fires (the drain time is over), every call still up gets a BYE; the task returns
//! once all media tasks have ended and the BYE transactions are done (or after
//! [`BYE_GRACE`]).

mod calls;
mod net;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use frontdesk_sip::{CallHandle, Config, Endpoint, Transport};
use frontdesk_types::CallId;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::apps::App;
use crate::clock::{self, Clock};
use crate::control::{LiveCalls, OutboundCall};
use crate::media::{MediaEnd, RtpPorts};
use crate::shutdown::Shutdown;
use calls::CallEntry;
use net::{NetIn, TcpConns};

/// How long BYE transactions may take after the last call ended at shutdown.
pub(crate) const BYE_GRACE: Duration = Duration::from_secs(4);

/// SIP transport settings.
#[derive(Clone, Debug)]
pub struct SipConfig {
    /// UDP and TCP address to listen on.
    pub listen: SocketAddr,
    /// Address put in Via, Contact and SDP; default: the listen address, or 127.0.0.1 (with a
    /// warning) when that is unspecified (0.0.0.0).
    pub advertise: Option<IpAddr>,
    /// RTP port range (inclusive); RTP on even ports, RTCP on the next.
    pub rtp_ports: (u16, u16),
    /// A call to place at start-up (the app runs on it once answered).
    pub dial: Option<Dial>,
    /// The SIP trunk numbers are dialled through (`POST /v1/calls` with `to: "+1..."`).
    pub trunk: Option<Trunk>,
}

/// A SIP trunk: numbers are dialled as `sip:NUMBER@HOST:PORT;user=phone`.
#[derive(Clone)]
pub struct Trunk {
    /// `HOST:PORT` (an IP literal: the shell resolves no names).
    pub addr: SocketAddr,
    /// Digest user name for 401/407 challenges (also the default From user).
    pub user: Option<String>,
    /// Digest password.
    pub password: Option<String>,
}

impl std::fmt::Debug for Trunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trunk").field("addr", &self.addr).field("user", &self.user).finish_non_exhaustive()
    }
}

impl Trunk {
    /// Parses `--trunk`: `sip:HOST:PORT` or `HOST:PORT` with an IP-literal host (port 5060 when
    /// left out).
    ///
    /// # Errors
    /// A message naming what is wrong and the form to use.
    pub fn parse(s: &str) -> Result<SocketAddr, String> {
        let rest = s.strip_prefix("sip:").unwrap_or(s);
        if rest.contains('@') || rest.contains(';') {
            return Err(format!(
                "--trunk {s:?}: give the trunk's address only, as sip:HOST:PORT (e.g. sip:192.0.2.7:5060)"
            ));
        }
        if let Ok(a) = rest.parse::<SocketAddr>() {
            return Ok(a);
        }
        match rest.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Ok(ip) => Ok(SocketAddr::new(ip, 5060)),
            Err(_) => Err(format!(
                "--trunk {s:?}: the host must be an IP address (this gateway resolves no names), as sip:HOST:PORT (e.g. sip:192.0.2.7:5060)"
            )),
        }
    }
}

/// An outgoing call.
#[derive(Clone)]
pub struct Dial {
    /// Request-URI, e.g. `sip:bob@192.0.2.7:5060` (an IP literal: the shell resolves no names).
    pub target: String,
    /// Digest user name for 401/407 challenges (also our From user).
    pub user: Option<String>,
    /// Digest password.
    pub password: Option<String>,
}

impl std::fmt::Debug for Dial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dial").field("target", &self.target).field("user", &self.user).finish_non_exhaustive()
    }
}

impl SipConfig {
    /// Defaults: ports 20000-20999, advertised address from `listen`.
    pub fn new(listen: SocketAddr) -> SipConfig {
        SipConfig { listen, advertise: None, rtp_ports: (20000, 20999), dial: None, trunk: None }
    }
}

/// Bound SIP sockets, ready to serve.
#[derive(Debug)]
pub(crate) struct SipSockets {
    pub(crate) udp: UdpSocket,
    pub(crate) tcp: TcpListener,
    pub(crate) cfg: SipConfig,
}

impl SipSockets {
    /// Binds UDP and TCP on the same address (port 0: UDP picks, TCP follows).
    pub(crate) async fn bind(cfg: SipConfig) -> std::io::Result<SipSockets> {
        let udp = UdpSocket::bind(cfg.listen).await?;
        let addr = udp.local_addr()?;
        let tcp = TcpListener::bind(addr).await?;
        Ok(SipSockets { udp, tcp, cfg })
    }

    /// The bound address (UDP and TCP).
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        self.udp.local_addr().ok()
    }
}

/// Commands into the SIP task, from media tasks and the shell.
#[derive(Debug)]
pub(crate) enum SipCmd {
    /// A call's media task ended (the application hung up, RTP timeout, or after a remote end).
    MediaEnded(CallHandle, MediaEnd),
    /// The application asked to transfer the call (REFER).
    Transfer(CallHandle, String),
    /// Place an outgoing call for the HTTP API (`POST /v1/calls`).
    Originate(OutboundCall),
    /// Cancel an originated call that has not been answered yet.
    CancelOriginate(CallId),
}

/// The SIP task's command channel: the sender goes to [`crate::control::GatewayControl`].
pub(crate) type SipCmds = (mpsc::UnboundedSender<SipCmd>, mpsc::UnboundedReceiver<SipCmd>);

/// State of the SIP task.
struct SipTask {
    ep: Endpoint,
    clock: Clock,
    udp: Arc<UdpSocket>,
    tcp: TcpConns,
    calls: HashMap<CallHandle, CallEntry>,
    app: App,
    shutdown: Shutdown,
    ports: RtpPorts,
    advertise: IpAddr,
    cmd_tx: mpsc::UnboundedSender<SipCmd>,
    stopping: bool,
    /// The live-call registry (originated calls leave it here when they fail).
    live: LiveCalls,
    /// Credentials for calls through the trunk.
    trunk: Option<Trunk>,
}

/// Runs the SIP transport until shutdown; see the module doc.
pub(crate) async fn serve(sockets: SipSockets, app: App, shutdown: Shutdown, live: LiveCalls, cmds: SipCmds) {
    let SipSockets { udp, tcp: listener, cfg } = sockets;
    let Ok(bound) = udp.local_addr() else { return };
    let advertise = match cfg.advertise {
        Some(ip) => ip,
        None if bound.ip().is_unspecified() => {
            warn!(
                "sip listens on {bound}: advertising 127.0.0.1 in Via/Contact/SDP; set --sip-advertise to the address callers reach"
            );
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
        None => bound.ip(),
    };
    let mut config = Config::new(SocketAddr::new(advertise, bound.port()));
    config.seed = clock::seed();
    let rtp_ip = if bound.ip().is_unspecified() { bound.ip() } else { advertise };
    let (net_tx, mut net_rx) = mpsc::channel(1024);
    let (cmd_tx, mut cmd_rx) = cmds;
    let udp = Arc::new(udp);
    let mut t = SipTask {
        ep: Endpoint::new(config),
        clock: Clock::new(),
        udp: udp.clone(),
        tcp: TcpConns::new(net_tx),
        calls: HashMap::new(),
        app,
        ports: RtpPorts::new(rtp_ip, cfg.rtp_ports.0, cfg.rtp_ports.1),
        shutdown: shutdown.clone(),
        advertise,
        cmd_tx,
        stopping: false,
        live,
        trunk: cfg.trunk.clone(),
    };
    info!(addr = %bound, advertise = %advertise, rtp_ports = ?cfg.rtp_ports, "sip listening (udp and tcp)");
    if let Some(d) = cfg.dial {
        t.dial(d).await;
        t.drain().await;
    }
    let mut buf = vec![0u8; 65_536];
    let mut hanging_up = false;
    let mut grace_until = None;
    loop {
        let now = t.clock.now();
        let wake = t.clock.deadline(t.ep.poll_timeout().unwrap_or(now + Duration::from_secs(3600)));
        tokio::select! {
            r = udp.recv_from(&mut buf) => match r {
                Ok((n, from)) => {
                    let now = t.clock.now();
                    if let Err(e) = t.ep.handle_datagram(now, from, &buf[..n]) {
                        debug!(%from, "sip datagram dropped or answered 400: {e}");
                    }
                }
                // ICMP errors surface here on some systems; nothing to do for UDP.
                Err(e) => debug!("sip udp receive: {e}"),
            },
            a = listener.accept(), if !hanging_up => match a {
                Ok((stream, peer)) => t.tcp.adopt(stream, peer),
                Err(e) => warn!("sip tcp accept failed: {e}"),
            },
            Some(ev) = net_rx.recv() => t.on_net(ev),
            Some(cmd) = cmd_rx.recv() => t.on_cmd(cmd).await,
            _ = tokio::time::sleep_until(wake) => {
                let now = t.clock.now();
                t.ep.handle_timeout(now);
            }
            _ = shutdown.stop_accepting.cancelled(), if !t.stopping => {
                t.stopping = true;
                info!(calls = t.calls.len(), "sip: refusing new calls (503)");
            }
            _ = shutdown.hang_up.cancelled(), if !hanging_up => {
                hanging_up = true;
                t.stopping = true;
                t.hang_up_all();
            }
        }
        t.drain().await;
        if hanging_up && t.calls.is_empty() {
            let until = *grace_until.get_or_insert(t.clock.now() + BYE_GRACE);
            if t.ep.transaction_count() == 0 || t.clock.now() >= until {
                break;
            }
        }
    }
    info!("sip stopped");
}

impl SipTask {
    fn on_net(&mut self, ev: NetIn) {
        let now = self.clock.now();
        match ev {
            NetIn::Message { from, bytes } => {
                if let Err(e) = self.ep.handle_stream_message(now, from, &bytes) {
                    debug!(%from, "sip tcp message dropped or answered 400: {e}");
                }
            }
            NetIn::Connected { peer, stream } => self.tcp.adopt(stream, peer),
            NetIn::ConnectFailed { peer } => {
                self.tcp.failed(peer);
                self.ep.handle_transport_error(now, Transport::Tcp, peer);
            }
            NetIn::Closed { peer } => self.tcp.closed(peer),
        }
    }

    /// Sends what the endpoint wants sent and handles its events, until both are empty.
    async fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(tx) = self.ep.poll_transmit() {
                progressed = true;
                match tx.transport {
                    Transport::Udp => {
                        if let Err(e) = self.udp.send_to(&tx.payload, tx.destination).await {
                            debug!(dest = %tx.destination, "sip udp send failed: {e}");
                        }
                    }
                    Transport::Tcp => {
                        if !self.tcp.send(tx.destination, tx.payload) {
                            let now = self.clock.now();
                            self.ep.handle_transport_error(now, Transport::Tcp, tx.destination);
                        }
                    }
                }
            }
            while let Some(ev) = self.ep.poll_event() {
                progressed = true;
                self.on_event(ev).await;
            }
            if !progressed {
                break;
            }
        }
    }
}
