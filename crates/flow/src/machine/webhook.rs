//! The `webhook` node on the machine's side: what the shell is asked to do
//! ([`WebhookRequest`], in `Command::Webhook`) and what it reports back ([`WebhookOutcome`], in
//! `Event::WebhookOutcome`). Nothing here does I/O.
//!
//! - The URL and header values are rendered from the flow's variables (URL values
//!   percent-encoded), with `{{secret.NAME}}` holes left as [`Piece::Secret`] for the shell to
//!   fill in: the machine never holds a secret and a request's `Debug` shows none.
//! - The body is the node's `body:` with its strings rendered (a string that is exactly one
//!   `{{var}}` keeps the variable's JSON type), else all slots for a POST, else none.
//! - The shell applies the node's `result:` mapping (it has the response) and reports each
//!   mapped value, or a failure kind. On success the values become variables and
//!   `webhook_ok` is true, then `routes`/`next`; on failure `webhook_ok` is false,
//!   `webhook_error` names the kind (`timeout`, `connect`, `http_500`, ...) and the call goes
//!   to `on_failure` (else `routes`/`next`).

use frontdesk_types::{Instant, Pii};

use super::{FlowMachine, Wait};
use crate::ast::{HttpMethod, JsonTemplate, Webhook, WebhookResultMap};
use crate::parse::webhook::SECRET_PREFIX;
use crate::slots::Value;
use crate::template::{Part, Template};

/// A piece of a URL or header value.
#[derive(Clone, PartialEq)]
pub enum Piece {
    Text(String),
    /// `{{secret.NAME}}`: the shell fills it in (from `FRONTDESK_SECRET_NAME`).
    Secret(String),
}

/// Text with secret holes (a webhook's URL or a header value). Its `Debug` prints no value.
#[derive(Clone, PartialEq, Default)]
pub struct SecretText(pub Vec<Piece>);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(REDACTED)")
    }
}

impl SecretText {
    /// The text with each secret from `secret(name)`.
    ///
    /// # Errors
    /// The name of the first secret `secret` does not know.
    pub fn resolve(&self, mut secret: impl FnMut(&str) -> Option<String>) -> Result<String, String> {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Secret(n) => out.push_str(&secret(n).ok_or_else(|| n.clone())?),
            }
        }
        Ok(out)
    }

    /// The secrets this text needs.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Piece::Secret(n) => Some(n.as_str()),
            Piece::Text(_) => None,
        })
    }
}

/// What a `webhook` node asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRequest {
    /// The node's id (for logs and metrics).
    pub node: String,
    pub method: HttpMethod,
    pub url: SecretText,
    pub headers: Vec<(String, SecretText)>,
    /// The JSON body (caller data: kept out of logs).
    pub body: Option<Pii<serde_json::Value>>,
    /// Per attempt.
    pub timeout_ms: u64,
    /// Extra attempts after the first (already 0 for a POST without `retry_post`).
    pub retries: u32,
    /// What to report back from the response.
    pub result: WebhookResultMap,
}

/// Why a webhook failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookFailure {
    /// The shell cannot make the call (no HTTP client, a secret not set, an untrusted TLS certificate).
    NotConfigured,
    /// No answer within the timeout on the last attempt.
    Timeout,
    /// Connection refused, reset, or unreadable.
    Connect,
    /// A non-2xx status.
    Status(u16),
    /// The response is not JSON or too large.
    BadResponse,
    /// A `result:` path is not in the response.
    MissingField(String),
}

impl WebhookFailure {
    /// The value of `webhook_error`: `not_configured`, `timeout`, `connect`, `http_404`,
    /// `bad_response`, `missing_field`.
    pub fn code(&self) -> String {
        match self {
            WebhookFailure::NotConfigured => "not_configured".into(),
            WebhookFailure::Timeout => "timeout".into(),
            WebhookFailure::Connect => "connect".into(),
            WebhookFailure::Status(s) => format!("http_{s}"),
            WebhookFailure::BadResponse => "bad_response".into(),
            WebhookFailure::MissingField(_) => "missing_field".into(),
        }
    }
}

/// What the shell reports after a `Command::Webhook`.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookOutcome {
    /// A 2xx answer; `values` are the `result:` mapping's variables with their JSON values
    /// (for `result: SLOT`, that slot with the whole body).
    Ok {
        status: u16,
        attempts: u32,
        values: Vec<(String, Pii<serde_json::Value>)>,
    },
    Failed {
        kind: WebhookFailure,
        attempts: u32,
    },
}

/// A JSON value as a flow variable: booleans, whole numbers and strings keep their type;
/// anything else is its JSON text.
pub fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::String(s) => Value::Text(s.clone()),
        serde_json::Value::Number(n) => n.as_i64().map_or_else(|| Value::Text(n.to_string()), Value::Int),
        other => Value::Text(other.to_string()),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl FlowMachine {
    /// A variable's text for a webhook (dates as RFC 3339, not read back).
    fn plain(&self, name: &str, filter: Option<&str>) -> Option<String> {
        match name {
            "business" => Some(self.b.flow.business.clone()),
            "business_phone" => self.b.flow.business_phone.clone(),
            "caller_number" => self.caller.as_ref().map(|c| c.expose().clone()),
            _ => {
                let v = self.slots.get(name)?;
                Some(match (v, filter) {
                    (_, Some(_)) => {
                        let tz = self.wall_start.time_zone().clone();
                        v.spoken(filter, &tz)
                    }
                    (Value::Text(s), None) => s.clone(),
                    (other, None) => match other.to_json() {
                        serde_json::Value::String(s) => s,
                        j => j.to_string(),
                    },
                })
            }
        }
    }

    fn secret_text(&self, t: &Template, encode: bool) -> SecretText {
        let mut out = Vec::new();
        for p in &t.parts {
            match p {
                Part::Text(s) => out.push(Piece::Text(s.clone())),
                Part::Var { name, .. } if name.starts_with(SECRET_PREFIX) => {
                    out.push(Piece::Secret(name.trim_start_matches(SECRET_PREFIX).to_owned()));
                }
                Part::Var { name, filter } => {
                    let v = self.plain(name, filter.as_deref()).unwrap_or_default();
                    out.push(Piece::Text(if encode { url_encode(&v) } else { v }));
                }
            }
        }
        SecretText(out)
    }

    fn json_body(&self, t: &JsonTemplate) -> serde_json::Value {
        use serde_json::Value as J;
        match t {
            JsonTemplate::Null => J::Null,
            JsonTemplate::Bool(b) => J::Bool(*b),
            JsonTemplate::Int(i) => J::from(*i),
            JsonTemplate::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            JsonTemplate::Str(s) => match s.parts.as_slice() {
                [Part::Var { name, filter: None }] if self.slots.contains_key(name) => {
                    self.slots.get(name).map_or(J::Null, Value::to_json)
                }
                _ => J::String(s.render(|n, f| self.plain(n, f))),
            },
            JsonTemplate::Array(a) => J::Array(a.iter().map(|x| self.json_body(x)).collect()),
            JsonTemplate::Object(o) => {
                J::Object(o.iter().map(|(k, v)| (k.clone(), self.json_body(v))).collect())
            }
        }
    }

    /// The request of webhook node `w` with the current variables.
    pub(super) fn webhook_request(&self, node: &str, w: &Webhook) -> WebhookRequest {
        let body = match (&w.body, w.method) {
            (Some(b), _) => Some(self.json_body(b)),
            (None, HttpMethod::Post) => Some(self.slots_json()),
            (None, HttpMethod::Get) => None,
        };
        WebhookRequest {
            node: node.to_owned(),
            method: w.method,
            url: self.secret_text(&w.url, true),
            headers: w.headers.iter().map(|(k, t)| (k.clone(), self.secret_text(t, false))).collect(),
            body: body.map(Pii::new),
            timeout_ms: w.timeout_ms,
            retries: w.retries,
            result: w.result.clone(),
        }
    }

    /// Continues after a webhook's outcome.
    pub(super) fn webhook_outcome(
        &mut self,
        now: Instant,
        o: WebhookOutcome,
    ) -> Result<(), crate::FlowError> {
        if self.wait != Wait::Webhook {
            return Err(crate::FlowError::Unexpected("webhook result while not waiting for one".into()));
        }
        let b = self.b.clone();
        let Some(node) = b.flow.nodes.get(self.node) else { return Ok(()) };
        match o {
            WebhookOutcome::Ok { values, .. } => {
                for (k, v) in values {
                    self.slots.insert(k, json_to_value(v.expose()));
                }
                self.slots.insert("webhook_ok".into(), Value::Bool(true));
                self.slots.remove("webhook_error");
                self.turn.actions.push("webhook:ok".into());
                self.advance(now, None);
            }
            WebhookOutcome::Failed { kind, .. } => {
                let code = kind.code();
                self.slots.insert("webhook_ok".into(), Value::Bool(false));
                self.slots.insert("webhook_error".into(), Value::Text(code.clone()));
                self.turn.actions.push(format!("webhook:failed:{code}"));
                match node.kind.outcome_targets().first() {
                    Some(t) => {
                        let t = t.value.clone();
                        self.goto(now, &t);
                    }
                    None => self.advance(now, None),
                }
            }
        }
        Ok(())
    }
}
