//! `/openapi.json`, `/metrics`, `/readyz`.

use bytes::Bytes;
use hyper::StatusCode;
use serde_json::json;

use super::Ctx;
use crate::{ApiError, OPENAPI_JSON, Resp, respond};

pub(super) fn openapi() -> Resp {
    respond(StatusCode::OK, "application/json", Bytes::from_static(OPENAPI_JSON.as_bytes()))
}

pub(super) fn metrics(ctx: &Ctx) -> Resp {
    respond(StatusCode::OK, "text/plain; version=0.0.4", Bytes::from(ctx.state.metrics.render()))
}

/// 200 when the store takes a write and every readiness component is ready, else 503; the body
/// says which check failed.
pub(super) async fn readyz(ctx: &Ctx) -> Result<Resp, ApiError> {
    let store = ctx.state.db(|s| s.check_writable()).await;
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    match &store {
        Ok(()) => {
            checks.insert("store".into(), json!("ok"));
        }
        Err(e) => {
            ready = false;
            checks.insert("store".into(), json!(format!("not writable: {e}")));
        }
    }
    let components = ctx.state.readiness.lock().map(|r| r.clone()).unwrap_or_default();
    for (name, ok) in components {
        ready &= ok;
        checks.insert(name, json!(if ok { "ok" } else { "not ready" }));
    }
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    Ok(crate::json(status, &json!({ "ready": ready, "checks": checks })))
}
