//! `frontdesk serve`: binds the listeners, runs until told to stop, then drains calls.
//!
//! Shutdown (see [`crate::shutdown`]): listeners stop accepting (SIP answers new INVITEs 503),
//! calls in progress get the drain time, then the rest are hung up (SIP sends BYE) and the
//! listener tasks return.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::info;

use crate::apps::App;
use crate::shutdown::Shutdown;
use crate::sip::{SipConfig, SipSockets};

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
        Ok(Server {
            http,
            audiosocket,
            sip,
            app: cfg.app,
            drain: cfg.drain,
            shutdown: Shutdown::default(),
            api: None,
        })
    }

    /// Mounts the developer API (`/v1/...`, `/openapi.json`, `/metrics`, `/readyz`) on the HTTP
    /// listener.
    #[must_use]
    pub fn with_api(mut self, api: frontdesk_api::Api) -> Server {
        self.api = Some(api);
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
        let mut listeners = tokio::task::JoinSet::new();
        info!(addr = ?self.http.local_addr().ok(), "http listening (health: /healthz, twilio media: /media/twilio)");
        listeners.spawn(crate::http::serve(self.http, self.app.clone(), sd.clone(), self.api.clone()));
        if let Some(l) = self.audiosocket {
            info!(addr = ?l.local_addr().ok(), "audiosocket listening");
            listeners.spawn(crate::audiosocket::serve(l, self.app.clone(), sd.clone()));
        }
        if let Some(s) = self.sip {
            listeners.spawn(crate::sip::serve(s, self.app.clone(), sd.clone()));
        }
        stop.await;
        info!(calls = sd.calls.len(), drain = ?self.drain, "shutting down: no new calls; waiting for calls in progress");
        let hung_up = sd.drain(self.drain).await;
        listeners.join_all().await;
        info!(hung_up, "stopped");
    }
}
