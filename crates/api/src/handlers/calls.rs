//! Calls: listing with filters and keyset pagination, one call with its timeline and transcript,
//! origination and live control through [`crate::CallControl`].
//!
//! The timeline is the store's turns as written by the voice loop: `caller` (ASR final, with
//! confidence), `agent` (what was said; `latencies_ms.heard_ms` says how much the caller heard
//! before a barge-in), `dtmf`, `transfer`, `event`, each with its per-stage latencies.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use frontdesk_store::{CallQuery, CallRecord, Direction, Turn};
use frontdesk_types::CallId;
use hyper::StatusCode;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use crate::{ApiError, ControlError, Originate, Resp};

fn call_json(c: &CallRecord) -> Value {
    json!({
        "id": c.id.0,
        "direction": c.direction.as_str(),
        "transport": c.transport,
        "from": c.from.expose(),
        "to": c.to.expose(),
        "flow": c.flow_name,
        "flow_version": c.flow_version,
        "started_at": c.started_at.to_string(),
        "ended_at": c.ended_at.map(|t| t.to_string()),
        "status": if c.ended_at.is_some() { "ended" } else { "live" },
        "disposition": c.disposition,
        "duration_ms": c.ended_at.map(|e| e.as_millisecond() - c.started_at.as_millisecond()),
    })
}

fn turn_json(t: &Turn) -> Value {
    json!({
        "index": t.index,
        "kind": t.kind,
        "text": t.text.expose(),
        "confidence": t.confidence,
        "at": t.at.to_string(),
        "latencies_ms": t.latencies_ms,
    })
}

fn transcript_json(turns: &[Turn]) -> (Value, String) {
    let mut text = String::new();
    let lines: Vec<Value> = turns
        .iter()
        .filter(|t| t.kind == "caller" || t.kind == "agent")
        .map(|t| {
            let _ = writeln!(text, "{}: {}", t.kind, t.text.expose());
            json!({ "speaker": t.kind, "text": t.text.expose(), "at": t.at.to_string() })
        })
        .collect();
    (Value::Array(lines), text)
}

fn hex(s: &str) -> String {
    s.bytes().fold(String::with_capacity(s.len() * 2), |mut o, b| {
        let _ = write!(o, "{b:02x}");
        o
    })
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    // Ids are UTF-8; a cursor edited by hand still works (it orders by its bytes' best reading).
    Some(String::from_utf8_lossy(&bytes?).into_owned())
}

/// An opaque cursor: the last row's start (ms) and id.
fn cursor(c: &CallRecord) -> String {
    format!("{}.{}", c.started_at.as_millisecond(), hex(&c.id.0))
}

fn parse_cursor(s: &str) -> Option<(Timestamp, CallId)> {
    let (ms, id) = s.split_once('.')?;
    if ms.is_empty() || ms.len() > 15 || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Past the last representable instant means "before everything": clamp.
    let at = Timestamp::from_millisecond(ms.parse().ok()?).unwrap_or(Timestamp::MAX);
    Some((at, CallId(unhex(id)?)))
}

fn time_param(ctx: &Ctx, name: &str) -> Result<Option<Timestamp>, ApiError> {
    ctx.q(name)
        .map(|v| {
            v.parse::<Timestamp>().map_err(|e| {
                ApiError::bad(
                    "bad_query",
                    format!("{name}={v:?} is not an RFC 3339 time (2026-01-31T09:00:00Z): {e}"),
                )
            })
        })
        .transpose()
}

pub(super) async fn list(ctx: &Ctx) -> Result<Resp, ApiError> {
    let mut q = CallQuery::default();
    if let Some(d) = ctx.q("direction") {
        q.direction = Some(match d {
            "inbound" => Direction::Inbound,
            "outbound" => Direction::Outbound,
            _ => return Err(ApiError::bad("bad_query", format!("direction={d:?}: use inbound or outbound"))),
        });
    }
    if let Some(s) = ctx.q("status") {
        q.live = Some(match s {
            "live" => true,
            "ended" => false,
            _ => return Err(ApiError::bad("bad_query", format!("status={s:?}: use live or ended"))),
        });
    }
    q.flow_name = ctx.q("flow").map(str::to_string);
    q.phone = ctx.q("phone").map(str::to_string);
    q.started_from = time_param(ctx, "since")?;
    q.started_until = time_param(ctx, "until")?;
    if let Some(l) = ctx.q("limit") {
        q.limit =
            l.parse::<u32>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                ApiError::bad("bad_query", format!("limit={l:?}: use a number from 1 to 1000"))
            })?;
    }
    if let Some(c) = ctx.q("cursor") {
        q.before = Some(parse_cursor(c).ok_or_else(|| {
            ApiError::bad(
                "bad_query",
                "cursor is not one this API returned (pass next_cursor back unchanged)",
            )
        })?);
    }
    let limit = q.effective_limit() as usize;
    let calls = ctx.state.db(move |s| s.list_calls(&q)).await?;
    let next = if calls.len() == limit { calls.last().map(cursor) } else { None };
    Ok(crate::json(
        StatusCode::OK,
        &json!({ "calls": calls.iter().map(call_json).collect::<Vec<_>>(), "next_cursor": next }),
    ))
}

async fn load(ctx: &Ctx) -> Result<(CallRecord, Vec<Turn>), ApiError> {
    let id = CallId(ctx.p(0).to_string());
    let id2 = id.clone();
    let (call, turns) = ctx.state.db(move |s| Ok((s.call(&id2)?, s.turns(&id2)?))).await?;
    let call = call.ok_or_else(|| ApiError::NotFound(format!("no call {}", id.0)))?;
    Ok((call, turns))
}

pub(super) async fn get(ctx: &Ctx) -> Result<Resp, ApiError> {
    let (call, turns) = load(ctx).await?;
    let (lines, text) = transcript_json(&turns);
    let mut v = call_json(&call);
    if let Some(o) = v.as_object_mut() {
        o.insert("timeline".into(), Value::Array(turns.iter().map(turn_json).collect()));
        o.insert("transcript".into(), json!({ "lines": lines, "text": text }));
    }
    Ok(crate::json(StatusCode::OK, &v))
}

pub(super) async fn transcript(ctx: &Ctx) -> Result<Resp, ApiError> {
    let (call, turns) = load(ctx).await?;
    let (lines, text) = transcript_json(&turns);
    Ok(crate::json(StatusCode::OK, &json!({ "call_id": call.id.0, "lines": lines, "text": text })))
}

fn control_error(e: ControlError) -> ApiError {
    match e {
        ControlError::NotLive(id) => {
            ApiError::NotFound(format!("call {id} is not in progress on this gateway"))
        }
        ControlError::Invalid(m) => ApiError::bad("invalid_request", m),
        ControlError::Unavailable(m) => ApiError::Conflict { code: "control_unavailable", message: m },
    }
}

fn control(ctx: &Ctx) -> Result<&dyn crate::CallControl, ApiError> {
    ctx.state.control.as_deref().ok_or_else(|| ApiError::Conflict {
        code: "control_unavailable",
        message: "this gateway has no live-call control (serve runs without a voice loop or SIP trunk)"
            .into(),
    })
}

fn live_control(ctx: &Ctx) -> Result<&dyn crate::CallControl, ApiError> {
    // Without control no call is live here: the call is "not in progress on this gateway".
    ctx.state
        .control
        .as_deref()
        .ok_or_else(|| ApiError::NotFound(format!("call {} is not in progress on this gateway", ctx.p(0))))
}

fn accepted(call: &str, action: &str) -> Resp {
    crate::json(StatusCode::ACCEPTED, &json!({ "call_id": call, "action": action, "status": "accepted" }))
}

/// A SIP URI (printable ASCII) or a number, as the OpenAPI pattern
/// `^(sips?:[!-~]+|\+?[0-9]{3,20})$` says.
fn is_target(s: &str) -> bool {
    let rest = s.strip_prefix("sips:").or_else(|| s.strip_prefix("sip:"));
    let sip = rest.is_some_and(|r| !r.is_empty() && r.bytes().all(|b| (b'!'..=b'~').contains(&b)));
    let digits = s.strip_prefix('+').unwrap_or(s);
    let number = (3..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    sip || number
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OriginateReq {
    to: String,
    flow: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
}

/// Places an outbound call running the flow's published version.
pub(super) async fn originate(ctx: &Ctx) -> Result<Resp, ApiError> {
    let req: OriginateReq = ctx.json()?;
    if !is_target(&req.to) {
        return Err(ApiError::bad(
            "invalid_request",
            format!("to={:?}: use a SIP URI (sip:user@host) or a number (+15551234567)", req.to),
        ));
    }
    if !req.to.starts_with("sip") {
        // A number: never one that asked not to be called.
        let to = req.to.clone();
        if let Some(o) = ctx.state.db(move |s| s.opt_out(&to)).await? {
            return Err(ApiError::Conflict {
                code: "opted_out",
                message: format!(
                    "this number asked not to be called ({} by {}): it stays on the do-not-call list",
                    o.at.strftime("%Y-%m-%d"),
                    o.source
                ),
            });
        }
    }
    let flow = req.flow.clone();
    let published =
        ctx.state.db(move |s| s.published_flow(&flow)).await?.ok_or_else(|| ApiError::Conflict {
            code: "flow_not_published",
            message: format!("flow {:?} has no published version; publish one first", req.flow),
        })?;
    let control = control(ctx)?;
    let id = control
        .originate(Originate {
            to: req.to.clone(),
            from: req.from,
            flow: published.name.clone(),
            flow_version: published.version,
            variables: req.variables,
        })
        .map_err(control_error)?;
    Ok(crate::json(
        StatusCode::ACCEPTED,
        &json!({ "call_id": id.0, "to": req.to, "flow": published.name, "flow_version": published.version, "status": "dialing" }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SayReq {
    text: String,
    #[serde(default)]
    interrupt: bool,
}

pub(super) fn say(ctx: &Ctx) -> Result<Resp, ApiError> {
    let req: SayReq = ctx.json()?;
    if req.text.trim().is_empty() || req.text.chars().count() > 2000 {
        return Err(ApiError::bad("invalid_request", "text must have 1 to 2000 characters"));
    }
    let c = live_control(ctx)?;
    c.say(&CallId(ctx.p(0).to_string()), &req.text, req.interrupt).map_err(control_error)?;
    Ok(accepted(ctx.p(0), "say"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferReq {
    target: String,
}

pub(super) fn transfer(ctx: &Ctx) -> Result<Resp, ApiError> {
    let req: TransferReq = ctx.json()?;
    if !is_target(&req.target) {
        return Err(ApiError::bad(
            "invalid_request",
            format!("target={:?}: use a SIP URI or a number", req.target),
        ));
    }
    let c = live_control(ctx)?;
    c.transfer(&CallId(ctx.p(0).to_string()), &req.target).map_err(control_error)?;
    Ok(accepted(ctx.p(0), "transfer"))
}

pub(super) fn hangup(ctx: &Ctx) -> Result<Resp, ApiError> {
    let c = live_control(ctx)?;
    c.hangup(&CallId(ctx.p(0).to_string())).map_err(control_error)?;
    Ok(accepted(ctx.p(0), "hangup"))
}
