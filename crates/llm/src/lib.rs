//! frontdesk-llm: the optional LLM behind a flow's `llm` node and `llm_fallback`.
//!
//! - [`LlmConfig`]: the endpoint of an OpenAI-compatible chat-completions service (`--llm-url`
//!   or `FRONTDESK_LLM_URL`, `FRONTDESK_LLM_MODEL`, `FRONTDESK_LLM_API_KEY`), `http://` or
//!   `https://`. TLS is the shared client of `frontdesk-http-client`: the built-in Mozilla roots
//!   plus the CA certificates in `FRONTDESK_CA_FILE` (or [`LlmClient::with_extra_ca`]).
//! - [`Prompts`]: the prompt templates, `*.md` files in a directory (`prompts/`), with
//!   `{{business}}`, `{{utterance}}`, `{{choices}}`, `{{slots}}` and the flow's variables.
//! - [`LlmClient::decide`]: one exchange for a [`LlmRequest`]: the rendered prompt as the system
//!   message, the caller's words as the user message, JSON mode, the node's declared tools as
//!   functions; the answer is parsed and checked ([`answer`]): a route must be one of the
//!   node's, a tool call must name a declared tool, anything else is a failure. The flow
//!   machine checks again and parses slot values with the slot types' own parsers.
//!
//! Every error becomes an [`LlmOutcome::Failed`]: the flow then takes its fallback route.

pub mod answer;
mod http;
pub mod prompts;

use std::time::Duration;

use frontdesk_flow::{LlmAsk, LlmFailure, LlmOutcome, LlmRequest};

pub use frontdesk_http_client::{CA_FILE_ENV, ExtraCa};
pub use http::LlmClient;
pub use prompts::Prompts;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    #[error(
        "bad LLM URL {0:?}: use http://host:port or https://host (the /v1/chat/completions path is added)"
    )]
    BadUrl(String),
    /// The extra CA file cannot be used (the message names it and `FRONTDESK_CA_FILE`).
    #[error("LLM TLS set-up: {0}")]
    Tls(String),
    #[error("LLM: no answer within {0} ms")]
    Timeout(u64),
    #[error("LLM: cannot connect or send: {0}")]
    Connect(String),
    #[error("LLM: HTTP {0}")]
    Status(u16),
    #[error("LLM: the response is not chat-completions JSON: {0}")]
    Malformed(String),
    #[error("cannot read prompt {path}: {why}")]
    Prompt { path: String, why: String },
}

/// Where the LLM is.
#[derive(Clone, PartialEq)]
pub struct LlmConfig {
    /// `http(s)://host:port` or `http(s)://host:port/v1`.
    pub url: String,
    pub model: String,
    pub api_key: Option<String>,
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

impl LlmConfig {
    /// From `FRONTDESK_LLM_URL` (required), `FRONTDESK_LLM_MODEL` (default `default`) and
    /// `FRONTDESK_LLM_API_KEY`; `None` when no URL is set.
    pub fn from_env() -> Option<LlmConfig> {
        let url = std::env::var("FRONTDESK_LLM_URL").ok().filter(|u| !u.trim().is_empty())?;
        Some(LlmConfig {
            url,
            model: std::env::var("FRONTDESK_LLM_MODEL").unwrap_or_else(|_| "default".into()),
            api_key: std::env::var("FRONTDESK_LLM_API_KEY").ok().filter(|k| !k.is_empty()),
        })
    }

    /// The chat-completions endpoint.
    pub fn endpoint(&self) -> String {
        let base = self.url.trim_end_matches('/');
        if base.ends_with("/chat/completions") {
            base.to_owned()
        } else if base.ends_with("/v1") {
            format!("{base}/chat/completions")
        } else {
            format!("{base}/v1/chat/completions")
        }
    }
}

/// The request body for `req` with the system prompt `system`.
pub fn request_body(model: &str, system: &str, req: &LlmRequest) -> serde_json::Value {
    let format = match &req.ask {
        LlmAsk::Route(c) => {
            let names: Vec<&str> = c.iter().map(|(n, _)| n.as_str()).collect();
            format!("Answer with JSON only: {{\"route\": \"<one of: {}>\"}}.", names.join(", "))
        }
        LlmAsk::Slots(s) => {
            let names: Vec<String> = s.iter().map(|(n, _)| format!("\"{n}\": \"...\"")).collect();
            format!(
                "Answer with JSON only: {{\"slots\": {{{}}}}}, each value in the caller's own words, or null when the caller did not say it.",
                names.join(", ")
            )
        }
    };
    let mut body = serde_json::json!({
        "model": model,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": format!("{system}\n\n{format}")},
            {"role": "user", "content": req.utterance.expose()},
        ],
    });
    if !req.tools.is_empty()
        && let Some(o) = body.as_object_mut()
    {
        let tools: Vec<serde_json::Value> = req
            .tools
            .iter()
            .map(|t| {
                serde_json::json!({"type": "function", "function": {
                    "name": t,
                    "description": t.replace('_', " "),
                    "parameters": {"type": "object", "additionalProperties": {"type": "string"}},
                }})
            })
            .collect();
        o.insert("tools".into(), serde_json::Value::Array(tools));
    }
    body
}

impl LlmClient {
    /// One exchange for `req` (see the crate doc). Never fails: errors are
    /// [`LlmOutcome::Failed`].
    pub async fn decide(&self, prompts: &Prompts, req: &LlmRequest) -> LlmOutcome {
        let system = match prompts.render(&req.prompt, req) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(node = %req.node, error = %e, "LLM prompt");
                return LlmOutcome::Failed(LlmFailure::NotConfigured);
            }
        };
        let body = request_body(&self.config().model, &system, req);
        let resp = match self.chat(&body, Duration::from_millis(req.timeout_ms)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(node = %req.node, error = %e, "LLM call failed");
                return LlmOutcome::Failed(match e {
                    LlmError::Timeout(_) => LlmFailure::Timeout,
                    LlmError::Malformed(_) => LlmFailure::Malformed,
                    LlmError::BadUrl(_) | LlmError::Tls(_) | LlmError::Prompt { .. } => {
                        LlmFailure::NotConfigured
                    }
                    _ => LlmFailure::Unavailable,
                });
            }
        };
        let o = answer::parse(&resp, req);
        if let LlmOutcome::Failed(f) = &o {
            tracing::warn!(node = %req.node, error = f.code(), "LLM answer refused");
        }
        o
    }
}
