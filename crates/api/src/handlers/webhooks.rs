//! Webhook subscriptions: create (the signing secret is returned once, in the 201), list, get,
//! delete, and a subscription's deliveries with their status (pending, delivered, failed),
//! attempts and last error, newest first with a cursor.
//!
//! A subscription names event types (`call.started`... or `*`) and an `http://` or `https://`
//! URL. Delivery itself is `frontdesk_webhook::dispatch`, running beside the API on the same
//! store.

use frontdesk_store::{
    Delivery, DeliveryQuery, DeliveryStatus, EVENT_TYPES, WebhookSubscription, check_event_type,
    random_key_bytes,
};
use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use crate::{ApiError, Resp};

/// Longest accepted URL.
const MAX_URL: usize = 2048;

fn subscription_json(s: &WebhookSubscription) -> Value {
    json!({ "id": s.id, "url": s.url, "events": s.events, "created_at": s.created_at.to_string() })
}

fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.public_id(),
        "event_id": format!("evt_{}", d.event_id),
        "event_type": d.event_type,
        "call_id": d.call_id.as_ref().map(|c| c.0.as_str()),
        "status": d.status.as_str(),
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at.map(|t| t.to_string()),
        "last_attempt_at": d.last_attempt_at.map(|t| t.to_string()),
        "last_status": d.last_status,
        "last_error": d.last_error,
        "created_at": d.created_at.to_string(),
    })
}

/// Checks a receiver URL: `http://` or `https://`, host, optional port and path, at most 2048
/// printable ASCII characters. What the schema rules out (length, scheme, characters) is 400; a
/// URL that fits the schema but has no usable host is 422.
fn check_url(url: &str) -> Result<(), ApiError> {
    let bad = |why: &str| ApiError::bad("invalid_request", format!("url {url:?}: {why}"));
    let unusable =
        |why: &str| ApiError::Unprocessable { code: "bad_url", message: format!("url {url:?}: {why}") };
    if url.len() > MAX_URL {
        return Err(bad("longer than 2048 characters"));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(bad("must start with http:// or https://"));
    }
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            "only printable ASCII, no spaces: percent-encode the rest (an international host in its xn-- form)",
        ));
    }
    let uri: hyper::Uri =
        url.parse().map_err(|_| unusable("not a valid URL; use http(s)://host[:port]/path"))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(unusable("has no host; use http(s)://host[:port]/path"));
    }
    Ok(())
}

fn webhook_id(ctx: &Ctx) -> Result<i64, ApiError> {
    let raw = ctx.p(0);
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad("bad_path", format!("webhook id {raw:?} is not a positive integer")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateReq {
    url: String,
    events: Vec<String>,
}

pub(super) async fn create(ctx: &Ctx) -> Result<Resp, ApiError> {
    let req: CreateReq = ctx.json()?;
    check_url(&req.url)?;
    if req.events.is_empty() {
        return Err(ApiError::bad(
            "invalid_request",
            format!("events is empty: name at least one of {}, or * for all", EVENT_TYPES.join(", ")),
        ));
    }
    for e in &req.events {
        check_event_type(e, true).map_err(|e| ApiError::bad("invalid_request", e.to_string()))?;
    }
    let random = random_key_bytes()?;
    let now = ctx.state.clock.now();
    let created = ctx.state.db(move |s| s.create_webhook(&req.url, &req.events, &random, now)).await?;
    let mut v = subscription_json(&created.subscription);
    if let Some(o) = v.as_object_mut() {
        o.insert("secret".into(), Value::String(created.secret.into_inner()));
    }
    Ok(crate::json(StatusCode::CREATED, &v))
}

pub(super) async fn list(ctx: &Ctx) -> Result<Resp, ApiError> {
    let subs = ctx.state.db(|s| s.webhooks()).await?;
    Ok(crate::json(
        StatusCode::OK,
        &json!({ "webhooks": subs.iter().map(subscription_json).collect::<Vec<_>>() }),
    ))
}

pub(super) async fn get(ctx: &Ctx) -> Result<Resp, ApiError> {
    let id = webhook_id(ctx)?;
    let sub = ctx.state.db(move |s| s.webhook(id)).await?;
    let sub = sub.ok_or_else(|| ApiError::NotFound(format!("no webhook {id}")))?;
    Ok(crate::json(StatusCode::OK, &subscription_json(&sub)))
}

pub(super) async fn delete(ctx: &Ctx) -> Result<Resp, ApiError> {
    let id = webhook_id(ctx)?;
    if !ctx.state.db(move |s| s.delete_webhook(id)).await? {
        return Err(ApiError::NotFound(format!("no webhook {id}")));
    }
    Ok(crate::respond(StatusCode::NO_CONTENT, "application/json", bytes::Bytes::new()))
}

pub(super) async fn deliveries(ctx: &Ctx) -> Result<Resp, ApiError> {
    let id = webhook_id(ctx)?;
    let mut q = DeliveryQuery { subscription: id, ..DeliveryQuery::default() };
    if let Some(s) = ctx.q("status") {
        q.status = Some(DeliveryStatus::parse(s).map_err(|_| {
            ApiError::bad("bad_query", format!("status={s:?}: use pending, delivered or failed"))
        })?);
    }
    if let Some(l) = ctx.q("limit") {
        q.limit =
            l.parse::<u32>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                ApiError::bad("bad_query", format!("limit={l:?}: use a number from 1 to 1000"))
            })?;
    }
    if let Some(c) = ctx.q("cursor") {
        q.before = Some(c.strip_prefix("dlv_").and_then(|n| n.parse::<i64>().ok()).ok_or_else(|| {
            ApiError::bad(
                "bad_query",
                "cursor is not one this API returned (pass next_cursor back unchanged)",
            )
        })?);
    }
    let limit = q.effective_limit() as usize;
    let (sub, rows) = ctx.state.db(move |s| Ok((s.webhook(id)?, s.deliveries(&q)?))).await?;
    if sub.is_none() {
        return Err(ApiError::NotFound(format!("no webhook {id}")));
    }
    let next = if rows.len() == limit { rows.last().map(Delivery::public_id) } else { None };
    Ok(crate::json(
        StatusCode::OK,
        &json!({ "deliveries": rows.iter().map(delivery_json).collect::<Vec<_>>(), "next_cursor": next }),
    ))
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn urls() {
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_url("http://example.test/a?b=c").is_ok());
        for bad in ["ftp://x/", "example.test/hook", "http:///nohost", "", "http://"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url("https://example.test/hook").is_ok());
        let e = check_url("http://m\u{f2}/").unwrap_err();
        assert!(e.to_string().contains("printable ASCII"), "{e}");
    }
}
