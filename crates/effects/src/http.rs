//! The HTTP side of a flow's `webhook` node: [`frontdesk_webhook::WebhookClient::call`] (GET or
//! POST, extra headers, an optional JSON body; per-attempt timeout, retries with exponential
//! backoff on connect errors, timeouts and 5xx, never on 4xx; a response size cap; an optional
//! `X-Frontdesk-Signature`; `http://` or `https://`). Header values may hold secrets: they are never put
//! into an error, and the URL in errors has no query string.

use frontdesk_webhook::{CallOptions, WebhookClient, WebhookError, WebhookResponse};

pub use frontdesk_webhook::{Method, WebhookCall};

/// A pooled HTTP/1.1 client for webhook calls.
#[derive(Clone, Debug, Default)]
pub struct HttpClient {
    client: WebhookClient,
}

impl HttpClient {
    /// Makes `call`; see the module doc. The URL in errors is the scheme, host and path only
    /// (no query string, which may hold secrets).
    ///
    /// # Errors
    /// As `WebhookClient::call`; a bad header name or value is [`WebhookError::BadUrl`].
    pub async fn call(
        &self,
        call: &WebhookCall,
        opts: &CallOptions,
    ) -> Result<WebhookResponse, WebhookError> {
        self.client.call(call, opts).await
    }
}
