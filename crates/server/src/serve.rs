//! `frontdesk serve`: binds the listeners, runs until told to stop, then drains calls.
//!
//! Shutdown (see [`crate::shutdown`]): listeners stop accepting (SIP answers new INVITEs 503),
//! calls in progress get the drain time, then the rest are hung up (SIP sends BYE) and the
//! listener tasks return.
//!
//! Live-call control: every call runs under [`App::Controlled`], registered in the server's
//! [`LiveCalls`]; [`Server::control`] gives the [`GatewayControl`] to mount with the API
//! (`frontdesk_api::Api::with_control`). The Twilio media endpoint requires an API key or a
//! Twilio signature ([`Server::with_twilio_auth_token`]; see [`crate::twilio::auth`]).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::info;

use crate::apps::App;
use crate::control::{Bound, GatewayControl, LiveCalls};
use crate::shutdown::Shutdown;
use crate::sip::{SipCmds, SipConfig, SipSockets};

/// What `serve` listens on and runs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// HTTP server (health, Twilio media WebSocket at `/media/twilio`).
    pub http: SocketAddr,
    /// AudioSocket TCP listener, if any.
    pub audiosocket: Option<SocketAddr>,
    /// SIP (UDP and TCP) with RTP media, if any.
    pub sip: Option<SipConfig>,
    /// The application that answers calls.
    pub app: App,
    /// How long calls in progress may continue after a shutdown signal.
    pub drain: Duration,
}

/// A listener that could not be bound.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Binding failed (address in use, no permission...).
    #[error(
        "cannot listen for {what} on {addr}: {source} (is another process using it? choose another with --{what})"
    )]
    Bind {
        /// Which listener (the flag name).
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A bound server, ready to run.
#[derive(Debug)]
pub struct Server {
    http: TcpListener,
    audiosocket: Option<TcpListener>,
    sip: Option<SipSockets>,
    app: App,
    drain: Duration,
    shutdown: Shutdown,
    api: Option<frontdesk_api::Api>,
    live: LiveCalls,
    sip_cmds: Option<SipCmds>,
    twilio_auth_token: Option<String>,
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { what, addr, source })
}

impl Server {
    /// Binds every listener (port 0 picks a free port: see [`Server::http_addr`]).
    pub async fn bind(cfg: ServeConfig) -> Result<Server, ServeError> {
        let http = bind("http", cfg.http).await?;
        let audiosocket = match cfg.audiosocket {
            Some(addr) => Some(bind("audiosocket", addr).await?),
            None => None,
        };
        let sip = match cfg.sip {
            Some(sc) => {
                let addr = sc.listen;
                Some(SipSockets::bind(sc).await.map_err(|source| ServeError::Bind {
                    what: "sip",
                    addr,
                    source,
                })?)
            }
            None => None,
        };
        let sip_cmds = sip.as_ref().map(|_| tokio::sync::mpsc::unbounded_channel());
        Ok(Server {
            http,
            audiosocket,
            sip,
            app: cfg.app,
            drain: cfg.drain,
            shutdown: Shutdown::default(),
            api: None,
            live: LiveCalls::default(),
            sip_cmds,
            twilio_auth_token: None,
        })
    }

    /// Mounts the developer API (`/v1/...`, `/openapi.json`, `/metrics`, `/readyz`) on the HTTP
    /// listener.
    #[must_use]
    pub fn with_api(mut self, api: frontdesk_api::Api) -> Server {
        self.api = Some(api);
        self
    }

    /// Live-call control over this server's calls, for `frontdesk_api::Api::with_control`:
    /// hang-up and transfer on any call, say on voice-agent calls, originate over SIP (when SIP
    /// runs).
    pub fn control(&self) -> GatewayControl {
        GatewayControl::bound(self.control_target())
    }

    /// Attaches a control made before the server (so the API holding it could be built first).
    /// A control already attached to another server is left as it is (and logged).
    #[must_use]
    pub fn with_control(self, control: &GatewayControl) -> Server {
        if !control.attach(self.control_target()) {
            tracing::warn!("this live-call control is already attached to another server");
        }
        self
    }

    fn control_target(&self) -> Bound {
        Bound {
            calls: self.live.clone(),
            sip: self.sip_cmds.as_ref().map(|(tx, _)| tx.clone()),
            stopping: self.shutdown.stop_accepting.clone(),
            trunk: self.sip.as_ref().and_then(|s| s.cfg.trunk.as_ref().map(|t| t.addr)),
        }
    }

    /// The calls in progress.
    pub fn live_calls(&self) -> LiveCalls {
        self.live.clone()
    }

    /// Accepts Twilio Media Streams connections signed with this account auth token
    /// (`X-Twilio-Signature`), besides API keys. Empty means none.
    #[must_use]
    pub fn with_twilio_auth_token(mut self, token: Option<String>) -> Server {
        self.twilio_auth_token = token.filter(|t| !t.is_empty());
        self
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.local_addr().ok()
    }

    /// The bound AudioSocket address.
    pub fn audiosocket_addr(&self) -> Option<SocketAddr> {
        self.audiosocket.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The bound SIP address (UDP and TCP).
    pub fn sip_addr(&self) -> Option<SocketAddr> {
        self.sip.as_ref().and_then(SipSockets::local_addr)
    }

    /// Serves until `stop` completes, then stops accepting calls, lets calls in progress finish
    /// for the drain time, hangs up the rest and returns.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        let sd = self.shutdown.clone();
        let app = App::Controlled { app: Box::new(self.app), calls: self.live.clone() };
        let mut listeners = tokio::task::JoinSet::new();
        info!(addr = ?self.http.local_addr().ok(), "http listening (health: /healthz, twilio media: /media/twilio)");
        let http = crate::http::HttpCtx {
            app: app.clone(),
            shutdown: sd.clone(),
            api: self.api.clone(),
            twilio_auth_token: self.twilio_auth_token.map(std::sync::Arc::from),
        };
        listeners.spawn(crate::http::serve(self.http, http));
        if let Some(l) = self.audiosocket {
            info!(addr = ?l.local_addr().ok(), "audiosocket listening");
            listeners.spawn(crate::audiosocket::serve(l, app.clone(), sd.clone()));
        }
        if let (Some(s), Some(cmds)) = (self.sip, self.sip_cmds) {
            listeners.spawn(crate::sip::serve(s, app.clone(), sd.clone(), self.live.clone(), cmds));
        }
        stop.await;
        info!(calls = sd.calls.len(), drain = ?self.drain, "shutting down: no new calls; waiting for calls in progress");
        let hung_up = sd.drain(self.drain).await;
        listeners.join_all().await;
        info!(hung_up, "stopped");
    }
}
