//! Flows: YAML drafts, validation with line and column (the `flow check` diagnostics), immutable
//! published versions, rollback (the text of an older published version published again as the
//! newest version, so history is never rewritten).

use frontdesk_flow::{Diagnostic, check::check, parse::parse_flow};
use frontdesk_store::FlowVersion;
use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use crate::{ApiError, Resp};

/// Every problem `flow check` reports for this text (the knowledge base a flow names is not
/// read: uploads are one document).
pub(crate) fn diagnostics(yaml: &str) -> Vec<Diagnostic> {
    match parse_flow(yaml) {
        Ok(flow) => check(&flow),
        Err(diags) => diags,
    }
}

fn diag_json(d: &Diagnostic) -> Value {
    json!({ "line": d.pos.line, "column": d.pos.col, "code": d.code, "message": d.message, "hint": d.hint })
}

fn diags_json(ds: &[Diagnostic]) -> Value {
    Value::Array(ds.iter().map(diag_json).collect())
}

fn meta(f: &FlowVersion) -> Value {
    json!({
        "name": f.name,
        "version": f.version,
        "sha256": f.sha256,
        "status": if f.is_published() { "published" } else { "draft" },
        "created_at": f.created_at.to_string(),
        "published_at": f.published_at.map(|t| t.to_string()),
    })
}

fn with(mut v: Value, key: &str, x: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.into(), x);
    }
    v
}

fn version_param(ctx: &Ctx, i: usize) -> Result<i64, ApiError> {
    ctx.p(i).parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(|| {
        ApiError::bad("bad_version", format!("version {:?} is not a positive integer", ctx.p(i)))
    })
}

fn not_found(name: &str) -> ApiError {
    ApiError::NotFound(format!("no flow named {name:?}"))
}

pub(super) async fn list(ctx: &Ctx) -> Result<Resp, ApiError> {
    let flows = ctx.state.db(|s| s.flow_summaries()).await?;
    let items: Vec<Value> = flows
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "latest_version": f.latest_version,
                "published_version": f.published_version,
                "versions": f.versions,
                "updated_at": f.updated_at.to_string(),
            })
        })
        .collect();
    Ok(crate::json(StatusCode::OK, &json!({ "flows": items })))
}

pub(super) fn validate(ctx: &Ctx) -> Result<Resp, ApiError> {
    let yaml = ctx.yaml()?;
    let ds = diagnostics(&yaml);
    Ok(crate::json(StatusCode::OK, &json!({ "valid": ds.is_empty(), "diagnostics": diags_json(&ds) })))
}

pub(super) async fn get(ctx: &Ctx) -> Result<Resp, ApiError> {
    let name = ctx.p(0).to_string();
    let n = name.clone();
    let versions = ctx.state.db(move |s| s.flow_versions(&n)).await?;
    let Some(latest) = versions.last() else { return Err(not_found(&name)) };
    let live = versions.iter().rev().find(|v| v.is_published());
    Ok(crate::json(
        StatusCode::OK,
        &json!({
            "name": name,
            "latest_version": latest.version,
            "published_version": live.map(|v| v.version),
            "published": live.map(|v| with(meta(v), "yaml", json!(v.yaml))),
            "versions": versions.iter().map(meta).collect::<Vec<_>>(),
        }),
    ))
}

/// Saves the body as the flow's draft: the newest version when it is an unpublished draft is
/// replaced in place, otherwise a new version is created. Invalid flows are saved too (a draft
/// may be work in progress); the response carries the diagnostics and publishing refuses them.
pub(super) async fn put_draft(ctx: &Ctx) -> Result<Resp, ApiError> {
    let yaml = ctx.yaml()?;
    let ds = diagnostics(&yaml);
    let name = ctx.p(0).to_string();
    let now = ctx.state.clock.now();
    let f = ctx.state.db(move |s| s.put_flow_draft(&name, &yaml, now)).await?;
    let body = with(with(meta(&f), "valid", json!(ds.is_empty())), "diagnostics", diags_json(&ds));
    Ok(crate::json(StatusCode::OK, &body))
}

pub(super) async fn versions(ctx: &Ctx) -> Result<Resp, ApiError> {
    let name = ctx.p(0).to_string();
    let n = name.clone();
    let versions = ctx.state.db(move |s| s.flow_versions(&n)).await?;
    if versions.is_empty() {
        return Err(not_found(&name));
    }
    Ok(crate::json(StatusCode::OK, &json!({ "versions": versions.iter().map(meta).collect::<Vec<_>>() })))
}

async fn load(ctx: &Ctx, version: i64) -> Result<FlowVersion, ApiError> {
    let name = ctx.p(0).to_string();
    let n = name.clone();
    ctx.state
        .db(move |s| s.flow_version(&n, version))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("flow {name:?} has no version {version}")))
}

pub(super) async fn version(ctx: &Ctx) -> Result<Resp, ApiError> {
    let f = load(ctx, version_param(ctx, 1)?).await?;
    Ok(crate::json(StatusCode::OK, &with(meta(&f), "yaml", json!(f.yaml))))
}

/// Publishes a version after checking it; a flow with problems is 422 with the diagnostics.
pub(super) async fn publish(ctx: &Ctx) -> Result<Resp, ApiError> {
    let version = version_param(ctx, 1)?;
    let f = load(ctx, version).await?;
    if !f.is_published() {
        let ds = diagnostics(&f.yaml);
        if !ds.is_empty() {
            return Err(ApiError::Refused {
                code: "flow_invalid",
                message: format!(
                    "{} v{version} has {} problem(s); fix them and save a new draft",
                    f.name,
                    ds.len()
                ),
                details: Some(json!({ "diagnostics": diags_json(&ds) })),
            });
        }
    }
    let now = ctx.state.clock.now();
    let name = f.name.clone();
    let f = ctx.state.db(move |s| s.publish_flow(&name, version, now)).await?;
    Ok(crate::json(StatusCode::OK, &meta(&f)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rollback {
    /// JSON Schema integers include `3.0`: read a number and require it to be whole.
    version: serde_json::Number,
}

/// Publishes the text of an earlier published version as the newest version.
pub(super) async fn rollback(ctx: &Ctx) -> Result<Resp, ApiError> {
    let req: Rollback = ctx.json()?;
    let version = req
        .version
        .as_i64()
        .or_else(|| req.version.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
        .filter(|v| *v >= 1)
        .ok_or_else(|| {
            ApiError::bad("bad_version", format!("version {} is not a positive integer", req.version))
        })?;
    let target = load(ctx, version).await?;
    if !target.is_published() {
        return Err(ApiError::Conflict {
            code: "not_published",
            message: format!(
                "{} v{} was never published; roll back to a published version or publish it",
                target.name, target.version
            ),
        });
    }
    let now = ctx.state.clock.now();
    let (name, yaml) = (target.name.clone(), target.yaml.clone());
    let f = ctx
        .state
        .db(move |s| {
            let saved = s.save_flow(&name, &yaml, now)?;
            s.publish_flow(&name, saved.version, now)
        })
        .await?;
    Ok(crate::json(StatusCode::OK, &with(meta(&f), "rolled_back_to", json!(target.version))))
}
