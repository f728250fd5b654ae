//! The chat-completions call: one JSON POST over HTTP/1.1 (hyper 1 on tokio), a bearer key if
//! configured, the whole exchange bounded by the node's timeout, no retry (a caller is waiting;
//! the flow's fallback is the retry). `http://` or `https://` through the shared client of
//! `frontdesk-http-client`; a certificate the client does not trust is a [`LlmError::Connect`]
//! that says so.

use std::time::Duration;

use bytes::Bytes;
use frontdesk_http_client::{Client, ExtraCa};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{Request, Uri};

use crate::{LlmConfig, LlmError};

/// Largest response accepted.
const MAX_BODY: usize = 1 << 20;

/// A client for one configured endpoint.
#[derive(Clone, Debug)]
pub struct LlmClient {
    config: LlmConfig,
    uri: Uri,
    http: Client,
}

impl LlmClient {
    /// A client for `config`, trusting the built-in roots and the CA certificates in
    /// `FRONTDESK_CA_FILE` for `https://`.
    ///
    /// # Errors
    /// [`LlmError::BadUrl`] for a URL that is not `http://` or `https://` with a host;
    /// [`LlmError::Tls`] when `FRONTDESK_CA_FILE` names a file that is not a usable PEM file of CA
    /// certificates.
    pub fn new(config: LlmConfig) -> Result<LlmClient, LlmError> {
        Self::with_extra_ca(config, &ExtraCa::FromEnv)
    }

    /// As [`LlmClient::new`], trusting the certificates of `extra` beside the built-in roots.
    ///
    /// # Errors
    /// As [`LlmClient::new`].
    pub fn with_extra_ca(config: LlmConfig, extra: &ExtraCa) -> Result<LlmClient, LlmError> {
        let endpoint = config.endpoint();
        let uri: Uri = endpoint.parse().map_err(|_| LlmError::BadUrl(config.url.clone()))?;
        match uri.scheme_str() {
            Some("http" | "https") if uri.host().is_some() => {}
            _ => return Err(LlmError::BadUrl(config.url.clone())),
        }
        let tls = frontdesk_http_client::tls_config(extra).map_err(|e| LlmError::Tls(e.to_string()))?;
        Ok(LlmClient { config, uri, http: frontdesk_http_client::client(&tls) })
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
            let resp = self
                .http
                .request(req)
                .await
                .map_err(|e| LlmError::Connect(frontdesk_http_client::describe(&e)))?;
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
