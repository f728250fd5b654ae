//! The HTTP server (hyper): health, the Twilio Media Streams WebSocket at `/media/twilio`, and
//! the developer API (`frontdesk-api`: `/v1/...`, `/openapi.json`, `/metrics`, `/readyz`) when
//! one is mounted with [`crate::Server::with_api`].
//!
//! `/media/twilio` is authenticated at the upgrade ([`crate::twilio::auth`]): an API key as
//! `?token=<key>` or `Authorization: Bearer <key>`, or a valid `X-Twilio-Signature` when a
//! Twilio auth token is configured; anything else gets 401 with a body saying how to connect.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    UPGRADE, WWW_AUTHENTICATE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tracing::warn;

use crate::apps::App;
use crate::shutdown::Shutdown;
use crate::twilio::auth;

type Resp = Response<Full<Bytes>>;

/// What every HTTP connection shares.
#[derive(Clone, Debug)]
pub(crate) struct HttpCtx {
    /// The app Twilio media calls run.
    pub(crate) app: App,
    pub(crate) shutdown: Shutdown,
    /// The developer API, if mounted (also the source of API keys for `/media/twilio`).
    pub(crate) api: Option<frontdesk_api::Api>,
    /// The Twilio account auth token that signs media WebSocket requests, if configured.
    pub(crate) twilio_auth_token: Option<Arc<str>>,
}

pub(crate) async fn serve(listener: TcpListener, ctx: HttpCtx) {
    let shutdown = ctx.shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| route(req, ctx.clone()));
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service).with_upgrades();
                    if let Err(e) = conn.await {
                        warn!("http connection: {e}");
                    }
                });
            }
            _ = shutdown.stop_accepting.cancelled() => break,
        }
    }
}

/// A JSON error body `{"error": {"code", "message"}}`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Resp {
    let body = serde_json::json!({ "error": { "code": code, "message": message } }).to_string();
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

async fn route(req: Request<Incoming>, ctx: HttpCtx) -> Result<Resp, Infallible> {
    if let Some(api) = ctx.api.as_ref().filter(|_| frontdesk_api::is_api_path(req.uri().path())) {
        return Ok(api.handle(req).await);
    }
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => Response::new(Full::new(Bytes::from_static(b"ok\n"))),
        (&Method::GET, "/media/twilio") => upgrade_twilio(req, ctx).await,
        (_, "/healthz" | "/media/twilio") => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "only GET is allowed here")
        }
        (m, p) => error(StatusCode::NOT_FOUND, "not_found", &format!("no route {m} {p}")),
    })
}

/// What a media WebSocket request presents to authenticate (owned: nothing of the request is
/// held across the key lookup).
struct Credentials {
    key: Option<String>,
    signature: Option<String>,
    host: String,
    path: String,
}

fn credentials(req: &Request<Incoming>) -> Credentials {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Credentials {
        key: auth::presented_key(header(AUTHORIZATION.as_str()).as_deref(), req.uri().query()),
        signature: header("x-twilio-signature"),
        host: header(HOST.as_str())
            .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
            .unwrap_or_default(),
        path: req
            .uri()
            .path_and_query()
            .map_or_else(|| "/media/twilio".to_owned(), |p| p.as_str().to_owned()),
    }
}

/// Whether the credentials are a live API key or a valid Twilio signature; the refusal message
/// otherwise.
async fn twilio_authorized(c: Credentials, ctx: &HttpCtx) -> Result<(), String> {
    if let (Some(api), Some(key)) = (&ctx.api, &c.key)
        && api.key_is_valid(key).await
    {
        return Ok(());
    }
    if let (Some(token), Some(sig)) = (&ctx.twilio_auth_token, &c.signature)
        && auth::signature_valid(token, sig, &auth::candidate_urls(&c.host, &c.path))
    {
        return Ok(());
    }
    Err(auth::refusal(ctx.api.is_some(), ctx.twilio_auth_token.is_some(), c.signature.is_some()))
}

async fn upgrade_twilio(mut req: Request<Incoming>, ctx: HttpCtx) -> Resp {
    let HttpCtx { app, shutdown, .. } = ctx.clone();
    let wants_ws = req
        .headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let accept =
        req.headers().get(SEC_WEBSOCKET_KEY).filter(|_| wants_ws).map(|k| derive_accept_key(k.as_bytes()));
    let Some(accept) = accept else {
        return error(
            StatusCode::BAD_REQUEST,
            "websocket_required",
            "/media/twilio is a WebSocket endpoint: connect with Upgrade: websocket and Sec-WebSocket-Key",
        );
    };
    if let Err(why) = twilio_authorized(credentials(&req), &ctx).await {
        warn!("twilio media connection refused: not authenticated");
        let mut resp = error(StatusCode::UNAUTHORIZED, "unauthorized", &why);
        resp.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return resp;
    }
    if shutdown.stop_accepting.is_cancelled() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the gateway is shutting down");
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    let sd = shutdown.clone();
    shutdown.calls.spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
                crate::twilio::run(ws, app, sd).await;
            }
            Err(e) => warn!("websocket upgrade failed: {e}"),
        }
    });
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    resp
}
