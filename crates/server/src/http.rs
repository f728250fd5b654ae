//! The HTTP server (hyper): health, the Twilio Media Streams WebSocket at `/media/twilio`, and
//! the developer API (`frontdesk-api`: `/v1/...`, `/openapi.json`, `/metrics`, `/readyz`) when
//! one is mounted with [`crate::Server::with_api`].

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    CONNECTION, CONTENT_TYPE, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE,
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

type Resp = Response<Full<Bytes>>;

pub(crate) async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: Shutdown,
    api: Option<frontdesk_api::Api>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (app, sd, api) = (app.clone(), shutdown.clone(), api.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| route(req, app.clone(), sd.clone(), api.clone()));
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

async fn route(
    req: Request<Incoming>,
    app: App,
    shutdown: Shutdown,
    api: Option<frontdesk_api::Api>,
) -> Result<Resp, Infallible> {
    if let Some(api) = api.filter(|_| frontdesk_api::is_api_path(req.uri().path())) {
        return Ok(api.handle(req).await);
    }
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => Response::new(Full::new(Bytes::from_static(b"ok\n"))),
        (&Method::GET, "/media/twilio") => upgrade_twilio(req, app, shutdown),
        (_, "/healthz" | "/media/twilio") => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "only GET is allowed here")
        }
        (m, p) => error(StatusCode::NOT_FOUND, "not_found", &format!("no route {m} {p}")),
    })
}

fn upgrade_twilio(mut req: Request<Incoming>, app: App, shutdown: Shutdown) -> Resp {
    let wants_ws = req
        .headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY).filter(|_| wants_ws) else {
        return error(
            StatusCode::BAD_REQUEST,
            "websocket_required",
            "/media/twilio is a WebSocket endpoint: connect with Upgrade: websocket and Sec-WebSocket-Key",
        );
    };
    if shutdown.stop_accepting.is_cancelled() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the gateway is shutting down");
    }
    let accept = derive_accept_key(key.as_bytes());
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
