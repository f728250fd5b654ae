//! The chat-completions call: one JSON POST over HTTP/1.1 (hyper 1 on tokio), a bearer key if
//! configured, the whole exchange bounded by the node's timeout, no retry (a caller is waiting;
//! the flow's fallback is the retry). `http://` only.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::{LlmConfig, LlmError};

/// Largest response accepted.
const MAX_BODY: usize = 1 << 20;

/// A client for one configured endpoint.
#[derive(Clone, Debug)]
pub struct LlmClient {
    config: LlmConfig,
    uri: Uri,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl LlmClient {
    /// # Errors
    /// [`LlmError::BadUrl`], or [`LlmError::Unsupported`] for `https://`.
    pub fn new(config: LlmConfig) -> Result<LlmClient, LlmError> {
        let endpoint = config.endpoint();
        let uri: Uri = endpoint.parse().map_err(|_| LlmError::BadUrl(config.url.clone()))?;
        match uri.scheme_str() {
            Some("http") if uri.host().is_some() => {}
            Some("https") => return Err(LlmError::Unsupported(config.url.clone())),
            _ => return Err(LlmError::BadUrl(config.url.clone())),
        }
        let mut conn = HttpConnector::new();
        conn.enforce_http(true);
        Ok(LlmClient { config, uri, http: Client::builder(TokioExecutor::new()).build(conn) })
    }

    /// The configuration.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// POSTs `body` and returns the parsed JSON answer.
    ///
    /// # Errors
    /// [`LlmError::Timeout`], [`LlmError::Connect`], [`LlmError::Status`] (non-2xx),
    /// [`LlmError::Malformed`] (not JSON, or too large).
    pub async fn chat(
        &self,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<serde_json::Value, LlmError> {
        let mut req = Request::post(self.uri.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, "frontdesk-llm");
        if let Some(k) = &self.config.api_key {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {k}"));
        }
        let req = req
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|_| LlmError::BadUrl("the API key is not a valid header value".into()))?;
        let call = async {
            let resp = self.http.request(req).await.map_err(|e| LlmError::Connect(e.to_string()))?;
            let status = resp.status();
            let bytes = Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| LlmError::Malformed(e.to_string()))?
                .to_bytes();
            if !status.is_success() {
                return Err(LlmError::Status(status.as_u16()));
            }
            serde_json::from_slice(&bytes).map_err(|e| LlmError::Malformed(e.to_string()))
        };
        tokio::time::timeout(timeout, call).await.unwrap_or_else(|_| {
            Err(LlmError::Timeout(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)))
        })
    }
}
