//! frontdesk-api: the developer HTTP API (flows, calls, live-call control) plus `/openapi.json`,
//! `/metrics` and `/readyz`, as a hyper request handler the gateway's HTTP server mounts.
//!
//! # Design
//! - **Routing** is a table ([`router`]) matched by method and path segments: about twenty
//!   routes do not need a framework, and the same table is checked against `openapi.json` in
//!   a test (every route documented, every documented operation routed).
//! - **Handlers** run over [`ApiState`]: an `Arc<dyn Store>` (called on blocking threads), a
//!   [`Clock`], the [`Metrics`] registry, readiness flags, and an optional [`CallControl`] the
//!   shell implements for live calls.
//! - **Security**: every `/v1` route needs `Authorization: Bearer <key>`; keys are created with
//!   `frontdesk apikey create` and stored as SHA-256 hashes. Bodies are limited
//!   ([`ApiConfig::body_limit`], 1 MiB by default). Every error is JSON
//!   `{"error": {"code", "message"}}`.
//! - `/openapi.json`, `/metrics` and `/readyz` are public (no secrets in them).

mod clock;
mod control;
mod error;
mod handlers;
mod metrics;
mod router;

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Body;
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};

use frontdesk_store::Store;

pub use clock::{Clock, SystemClock};
pub use control::{CallControl, ControlError, Originate};
pub use error::ApiError;
pub use metrics::Metrics;
pub use router::is_api_path;

/// The OpenAPI 3.1 description of this API (served at `/openapi.json`).
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// A response body.
pub type Resp = Response<Full<Bytes>>;

/// Limits and switches.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig { body_limit: 1 << 20 }
    }
}

/// What handlers work on.
pub struct ApiState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) control: Option<Arc<dyn CallControl>>,
    pub(crate) readiness: Mutex<Vec<(String, bool)>>,
    pub(crate) config: ApiConfig,
}

/// The API: cheap to clone (one `Arc`), shared by every connection.
#[derive(Debug, Clone)]
pub struct Api {
    state: Arc<ApiState>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("clock", &self.clock)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// An API over a store and a clock, without live-call control.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: ApiConfig) -> Api {
        Api::with_control(store, clock, config, None)
    }

    /// An API with live-call control (originate, say, transfer, hang up).
    pub fn with_control(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: ApiConfig,
        control: Option<Arc<dyn CallControl>>,
    ) -> Api {
        let state = ApiState {
            store,
            clock,
            metrics: Arc::new(Metrics::default()),
            control,
            readiness: Mutex::new(Vec::new()),
            config,
        };
        Api { state: Arc::new(state) }
    }

    /// The metrics registry (the voice loop records call figures here).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.state.metrics.clone()
    }

    /// The store the API serves (the voice loop writes its call records there).
    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    /// Sets a readiness component (`models`...): `/readyz` is 200 only when the store takes a
    /// write and every component set here is ready.
    pub fn set_ready(&self, component: &str, ready: bool) {
        let mut r = self.state.readiness.lock().unwrap_or_else(PoisonError::into_inner);
        match r.iter_mut().find(|(c, _)| c == component) {
            Some(slot) => slot.1 = ready,
            None => r.push((component.to_string(), ready)),
        }
    }

    /// Whether a bearer token is a live API key (for endpoints outside this crate, such as the
    /// Twilio media WebSocket).
    pub async fn key_is_valid(&self, presented: &str) -> bool {
        let presented = presented.to_string();
        matches!(self.state.db(move |s| s.verify_api_key(&presented)).await, Ok(Some(_)))
    }

    /// Handles one request whose path satisfies [`is_api_path`].
    pub async fn handle<B>(&self, req: Request<B>) -> Resp
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let watch = clock::Stopwatch::start();
        let method = req.method().as_str().to_string();
        let (route, result) = self.dispatch(req).await;
        let resp = result.unwrap_or_else(|e| error_response(&e));
        self.state.metrics.request(&method, route, resp.status().as_u16(), watch.elapsed());
        resp
    }

    async fn dispatch<B>(&self, req: Request<B>) -> (&'static str, Result<Resp, ApiError>)
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let matched = match router::resolve(req.method().as_str(), req.uri().path()) {
            Ok(m) => m,
            Err(e) => return ("unmatched", Err(e)),
        };
        let route = matched.route.path;
        if matched.route.auth
            && let Err(e) = self.authenticate(&req).await
        {
            return (route, Err(e));
        }
        let query = match router::query_pairs(req.uri().query()) {
            Ok(q) => q,
            Err(e) => return (route, Err(e)),
        };
        let (parts, body) = req.into_parts();
        let body = match read_body(&parts.headers, body, self.state.config.body_limit).await {
            Ok(b) => b,
            Err(e) => return (route, Err(e)),
        };
        let ctx = handlers::Ctx { state: self.state.clone(), matched, query, headers: parts.headers, body };
        (route, handlers::run(ctx).await)
    }

    async fn authenticate<B>(&self, req: &Request<B>) -> Result<(), ApiError> {
        let Some(h) = req.headers().get(hyper::header::AUTHORIZATION) else {
            return Err(ApiError::Unauthorized(
                "missing API key: send Authorization: Bearer <key> (create one with `frontdesk apikey create`)",
            ));
        };
        let token = h
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_string())
            .ok_or(ApiError::Unauthorized("the Authorization header must be `Bearer <key>`"))?;
        match self.state.db(move |s| s.verify_api_key(&token)).await? {
            Some(_) => Ok(()),
            None => Err(ApiError::Unauthorized("unknown or revoked API key")),
        }
    }
}

impl ApiState {
    /// Runs a store call on a blocking thread.
    pub(crate) async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, frontdesk_store::StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
            Ok(r) => r.map_err(ApiError::from),
            Err(e) => Err(ApiError::Internal(format!("store task failed: {e}"))),
        }
    }
}

async fn read_body<B>(headers: &hyper::HeaderMap, body: B, limit: usize) -> Result<Bytes, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let declared =
        headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::PayloadTooLarge { limit }),
        Err(e) => Err(ApiError::bad("bad_body", format!("could not read the request body: {e}"))),
    }
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, v: &serde_json::Value) -> Resp {
    respond(status, "application/json", Bytes::from(v.to_string()))
}

pub(crate) fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Resp {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// The JSON error response for an error.
pub fn error_response(e: &ApiError) -> Resp {
    let (status, _, _) = e.parts();
    if status.is_server_error() {
        tracing::warn!("api: {e}");
    }
    let mut resp = json(status, &e.body());
    if let ApiError::MethodNotAllowed { allow, .. } = e
        && let Ok(v) = HeaderValue::from_str(allow)
    {
        resp.headers_mut().insert(ALLOW, v);
    }
    if matches!(e, ApiError::Unauthorized(_)) {
        resp.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

/// Serves the API alone on a listener (tests and benchmarks; `frontdesk serve` mounts
/// [`Api::handle`] in its own HTTP server).
pub async fn serve(listener: tokio::net::TcpListener, api: Api) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let api = api.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let api = api.clone();
                async move { Ok::<_, std::convert::Infallible>(api.handle(req).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await {
                tracing::debug!("api connection: {e}");
            }
        });
    }
}
