//! The HTTP side of a flow's `webhook` node: GET or POST, extra headers, an optional JSON body,
//! with the same rules as `frontdesk_webhook::WebhookClient::post_json` (per-attempt timeout,
//! retries with exponential backoff on connect errors, timeouts and 5xx, never on 4xx; a
//! response size cap; an optional `X-Frontdesk-Signature`), over its own hyper 1 client
//! (`http://` only: no TLS stack is linked). Header values may hold secrets: they are never put
//! into an error, and the URL in errors has no query string.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{Request, Uri};

use frontdesk_webhook::{CallOptions, SIGNATURE_HEADER, WebhookError, WebhookResponse, sign_body};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// HTTP method of a [`WebhookCall`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One request: method, URL, headers (name, value) and an optional JSON body.
#[derive(Clone)]
pub struct WebhookCall {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
}

impl std::fmt::Debug for WebhookCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values and the body may hold secrets and caller data.
        f.debug_struct("WebhookCall")
            .field("method", &self.method)
            .field("headers", &self.headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A pooled HTTP/1.1 client for webhook calls.
#[derive(Clone, Debug)]
pub struct HttpClient {
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Default for HttpClient {
    fn default() -> Self {
        let mut conn = HttpConnector::new();
        conn.enforce_http(true);
        HttpClient { http: Client::builder(TokioExecutor::new()).build(conn) }
    }
}

enum Attempt {
    Done(Result<WebhookResponse, WebhookError>),
    Retry(WebhookError),
}

impl HttpClient {
    /// Makes `call`; see the module doc. The URL in errors is the scheme, host and path only
    /// (no query string, which may hold secrets).
    ///
    /// # Errors
    /// As `WebhookClient::post_json`; a bad header name or value is [`WebhookError::BadUrl`].
    pub async fn call(
        &self,
        call: &WebhookCall,
        opts: &CallOptions,
    ) -> Result<WebhookResponse, WebhookError> {
        let uri: Uri = call
            .url
            .parse()
            .map_err(|e| WebhookError::BadUrl { url: shown(&call.url), why: format!("{e}") })?;
        let url = shown(&call.url);
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(WebhookError::Unsupported(url)),
            _ => return Err(WebhookError::BadUrl { url, why: "needs http://host/path".into() }),
        }
        let body = call.body.as_ref().map(|b| Bytes::from(b.to_string()));
        let mut wait = opts.backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.attempt_call(call, &url, &uri, body.as_ref(), opts, attempts).await {
                Attempt::Done(r) => return r,
                Attempt::Retry(e) if attempts > opts.retries => return Err(e),
                Attempt::Retry(_) => {
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                }
            }
        }
    }

    async fn attempt_call(
        &self,
        call: &WebhookCall,
        url: &str,
        uri: &Uri,
        body: Option<&Bytes>,
        opts: &CallOptions,
        attempts: u32,
    ) -> Attempt {
        let method = match call.method {
            Method::Get => hyper::Method::GET,
            Method::Post => hyper::Method::POST,
        };
        let mut req = Request::builder()
            .method(method)
            .uri(uri.clone())
            .header(hyper::header::USER_AGENT, "frontdesk-webhook")
            .header(hyper::header::ACCEPT, "application/json");
        if body.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        if let (Some((secret, t)), Some(b)) = (&opts.signature, body) {
            req = req.header(SIGNATURE_HEADER, sign_body(secret, *t, b));
        }
        for (k, v) in &call.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = match req.body(Full::new(body.cloned().unwrap_or_default())) {
            Ok(r) => r,
            Err(_) => {
                return Attempt::Done(Err(WebhookError::BadUrl {
                    url: url.into(),
                    why: "a header name or value is not valid HTTP".into(),
                }));
            }
        };
        let fut = async {
            let resp = self.http.request(req).await.map_err(|e| {
                Attempt::Retry(WebhookError::Connect { url: url.into(), why: error_chain(&e), attempts })
            })?;
            let status = resp.status();
            let bytes = match Limited::new(resp.into_body(), opts.max_body).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
                    return Err(Attempt::Done(Err(WebhookError::TooLarge {
                        url: url.into(),
                        limit: opts.max_body,
                    })));
                }
                Err(e) => {
                    return Err(Attempt::Retry(WebhookError::Connect {
                        url: url.into(),
                        why: e.to_string(),
                        attempts,
                    }));
                }
            };
            Ok((status, bytes))
        };
        let (status, bytes) = match tokio::time::timeout(opts.timeout, fut).await {
            Err(_) => {
                return Attempt::Retry(WebhookError::Timeout {
                    url: url.into(),
                    timeout_ms: u64::try_from(opts.timeout.as_millis()).unwrap_or(u64::MAX),
                    attempts,
                });
            }
            Ok(Err(a)) => return a,
            Ok(Ok(r)) => r,
        };
        let code = status.as_u16();
        if status.is_server_error() {
            return Attempt::Retry(WebhookError::Status { url: url.into(), status: code, attempts });
        }
        if !status.is_success() {
            return Attempt::Done(Err(WebhookError::Status { url: url.into(), status: code, attempts }));
        }
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Null
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(e) => {
                    return Attempt::Done(Err(WebhookError::NotJson { url: url.into(), why: e.to_string() }));
                }
            }
        };
        Attempt::Done(Ok(WebhookResponse { status: code, body, attempts }))
    }
}

/// The URL without its query string (for errors and logs).
fn shown(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_owned()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}
