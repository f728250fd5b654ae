//! Request handlers, one module per area, and the helpers they share (body parsing with
//! messages that say what is wrong, query parameters).

mod appointments;
mod calls;
mod flows;
mod ops;
mod resources;
mod webhooks;

use std::sync::Arc;

use bytes::Bytes;
use hyper::HeaderMap;
use hyper::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::router::{Matched, Op};
use crate::{ApiError, ApiState, Resp};

/// One request, routed and read.
pub(crate) struct Ctx {
    pub(crate) state: Arc<ApiState>,
    pub(crate) matched: Matched,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Calls the route's handler.
pub(crate) async fn run(ctx: Ctx) -> Result<Resp, ApiError> {
    match ctx.matched.route.op {
        Op::OpenApi => Ok(ops::openapi()),
        Op::Metrics => Ok(ops::metrics(&ctx)),
        Op::Readyz => ops::readyz(&ctx).await,
        Op::FlowsList => flows::list(&ctx).await,
        Op::FlowValidate => flows::validate(&ctx),
        Op::FlowGet => flows::get(&ctx).await,
        Op::FlowDraftPut => flows::put_draft(&ctx).await,
        Op::FlowVersions => flows::versions(&ctx).await,
        Op::FlowVersionGet => flows::version(&ctx).await,
        Op::FlowPublish => flows::publish(&ctx).await,
        Op::FlowRollback => flows::rollback(&ctx).await,
        Op::CallsList => calls::list(&ctx).await,
        Op::CallOriginate => calls::originate(&ctx).await,
        Op::CallGet => calls::get(&ctx).await,
        Op::CallTranscript => calls::transcript(&ctx).await,
        Op::CallSay => calls::say(&ctx),
        Op::CallTransfer => calls::transfer(&ctx),
        Op::CallHangup => calls::hangup(&ctx),
        Op::WebhooksList => webhooks::list(&ctx).await,
        Op::WebhookCreate => webhooks::create(&ctx).await,
        Op::WebhookGet => webhooks::get(&ctx).await,
        Op::WebhookDelete => webhooks::delete(&ctx).await,
        Op::WebhookDeliveries => webhooks::deliveries(&ctx).await,
        Op::ResourcesList => resources::list(&ctx).await,
        Op::ResourceCreate => resources::create(&ctx).await,
        Op::ResourceGet => resources::get(&ctx).await,
        Op::ResourcePut => resources::put(&ctx).await,
        Op::AppointmentTypesList => resources::list_types(&ctx).await,
        Op::AppointmentTypeCreate => resources::create_type(&ctx).await,
        Op::AppointmentTypeGet => resources::get_type(&ctx).await,
        Op::AppointmentTypePut => resources::put_type(&ctx).await,
        Op::Availability => appointments::availability(&ctx).await,
        Op::AppointmentsList => appointments::list(&ctx).await,
        Op::AppointmentCreate => appointments::create(&ctx).await,
        Op::AppointmentGet => appointments::get(&ctx).await,
        Op::AppointmentPatch => appointments::patch(&ctx).await,
        Op::AppointmentCancel => appointments::cancel(&ctx).await,
    }
}

/// The object key whose value ends at `line`:`column` (1-based, as serde_json reports a type
/// error), so a message can name the field: the last `"key":` before that position.
fn field_before(body: &[u8], line: usize, column: usize) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    let prefix = text.get(..start.checked_add(column)?.min(text.len()))?;
    let colon = prefix.rfind("\":")?;
    let key_start = prefix.get(..colon)?.rfind('"')? + 1;
    prefix.get(key_start..colon).map(str::to_string)
}

impl Ctx {
    /// The media type of the body, lowercased, without parameters.
    fn media_type(&self) -> Option<String> {
        let v = self.headers.get(CONTENT_TYPE)?.to_str().ok()?;
        Some(v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
    }

    /// The body as JSON of type `T`; 415 for another media type, 400 naming the problem
    /// (position of a syntax error, missing or unknown field, wrong type).
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        match self.media_type().as_deref() {
            Some("application/json") => {}
            Some(other) => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "the body must be application/json, not {other}"
                )));
            }
            None => {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json".into(),
                ));
            }
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad("malformed_json", "the body is empty: send a JSON object"));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Syntax | Category::Eof | Category::Io => ApiError::bad(
                    "malformed_json",
                    format!("malformed JSON at line {} column {}: {e}", e.line(), e.column()),
                ),
                Category::Data => {
                    let field = field_before(&self.body, e.line(), e.column())
                        .filter(|_| e.to_string().starts_with("invalid"))
                        .map(|f| format!(" (field `{f}`)"))
                        .unwrap_or_default();
                    ApiError::bad("invalid_request", format!("the JSON body does not fit: {e}{field}"))
                }
            }
        })
    }

    /// The body as YAML text (the same text as a flow file).
    pub(crate) fn yaml(&self) -> Result<String, ApiError> {
        match self.media_type().as_deref() {
            Some("application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml") => {}
            other => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "upload flows as YAML with Content-Type: application/yaml (got {})",
                    other.unwrap_or("no Content-Type")
                )));
            }
        }
        String::from_utf8(self.body.to_vec())
            .map_err(|e| ApiError::bad("bad_encoding", format!("the YAML body is not UTF-8: {e}")))
    }

    /// A query parameter (the last one when repeated).
    pub(crate) fn q(&self, name: &str) -> Option<&str> {
        self.query.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A path parameter.
    pub(crate) fn p(&self, i: usize) -> &str {
        self.matched.param(i)
    }
}
