//! Reading a chat-completions answer into an [`LlmOutcome`], constrained to what the node
//! allows: the first tool call must name a declared tool (its arguments a JSON object; values
//! become text), else the message content must be JSON (a ```json fence is tolerated) with
//! `route` one of the node's route names, or `slots` an object of the node's slots (other
//! keys ignored, null = not said). Anything else is a failure.

use frontdesk_flow::{LlmAsk, LlmFailure, LlmOutcome, LlmRequest};
use serde_json::Value;

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The outcome for a response `resp` to `req`.
pub fn parse(resp: &Value, req: &LlmRequest) -> LlmOutcome {
    let fail = |f| LlmOutcome::Failed(f);
    let Some(msg) = resp.pointer("/choices/0/message") else { return fail(LlmFailure::Malformed) };
    if let Some(call) = msg.get("tool_calls").and_then(Value::as_array).and_then(|c| c.first()) {
        let Some(name) = call.pointer("/function/name").and_then(Value::as_str) else {
            return fail(LlmFailure::Malformed);
        };
        if !req.tools.iter().any(|t| t == name) {
            return fail(LlmFailure::UndeclaredTool(name.to_owned()));
        }
        let args = match call.pointer("/function/arguments") {
            Some(Value::String(s)) if s.trim().is_empty() => serde_json::Map::new(),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(m)) => m,
                _ => return fail(LlmFailure::Malformed),
            },
            Some(Value::Object(m)) => m.clone(),
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(_) => return fail(LlmFailure::Malformed),
        };
        let args = args.iter().filter_map(|(k, v)| text(v).map(|t| (k.clone(), t))).collect();
        return LlmOutcome::Tool { name: name.to_owned(), args };
    }
    let Some(content) = msg.get("content").and_then(Value::as_str) else {
        return fail(LlmFailure::Malformed);
    };
    let c = content.trim();
    let c = c.strip_prefix("```json").or_else(|| c.strip_prefix("```")).unwrap_or(c);
    let c = c.strip_suffix("```").unwrap_or(c).trim();
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(c) else { return fail(LlmFailure::Malformed) };
    match &req.ask {
        LlmAsk::Route(choices) => match obj.get("route").and_then(Value::as_str) {
            Some(r) if choices.iter().any(|(n, _)| n == r) => LlmOutcome::Route(r.to_owned()),
            Some(r) => fail(LlmFailure::InvalidAnswer(r.to_owned())),
            None => fail(LlmFailure::Malformed),
        },
        LlmAsk::Slots(want) => match obj.get("slots").and_then(Value::as_object) {
            Some(m) => LlmOutcome::Slots(
                want.iter().filter_map(|(n, _)| m.get(n).and_then(text).map(|t| (n.clone(), t))).collect(),
            ),
            None => fail(LlmFailure::Malformed),
        },
    }
}
