//! Webhook calls: the HTTP side of the flow's `webhook` node and of event notifications.
//!
//! [`WebhookClient::post_json`] POSTs a JSON body to an `http://` or `https://` URL, and
//! [`WebhookClient::call`] makes a flow `webhook` node's request (GET or POST, extra headers,
//! an optional JSON body, errors without the query string). Both go through one attempt loop
//! (the shared hyper 1 client of `frontdesk-http-client` on tokio) with
//! - a timeout per attempt (connect, send and read the whole response),
//! - retries with exponential backoff (`backoff`, `2 * backoff`, ...) on connect errors, I/O
//!   errors, timeouts and 5xx answers, never on 4xx (the request itself is wrong),
//! - an optional HMAC-SHA256 signature header (see [`sign`]),
//! - a cap on the response body size.
//!
//! `https://` is checked against the built-in Mozilla roots plus the CA certificates of the PEM
//! file named by `FRONTDESK_CA_FILE` ([`CA_FILE_ENV`]); [`WebhookClient::with_extra_ca`] takes the
//! extra CAs explicitly. A server whose certificate is not trusted is a
//! [`WebhookError::Connect`] that says so, and is not retried (it will not fix itself).
//!
//! The response body is parsed as JSON; [`lookup`] reads values out of it by JSON pointer
//! (`/patient/balance`) or dotted path (`patient.balance`, `items.0.id`), which is how the
//! flow maps a webhook's result into slots.
//!
//! The caller supplies the signing time (`unix_secs`): nothing here reads the clock; the waits
//! between retries are tokio timers.
//!
//! [`dispatch`] delivers the store's events to webhook subscriptions (a sans-IO planner and a
//! tokio shell), one attempt at a time through [`WebhookClient::post_once`].

pub mod dispatch;
pub mod sign;

use std::time::Duration;

use bytes::Bytes;
use frontdesk_http_client::Client;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{Request, StatusCode, Uri};

pub use frontdesk_http_client::{CA_FILE_ENV, ExtraCa};
pub use sign::{SIGNATURE_HEADER, sign as sign_body, verify};

/// Errors of a webhook call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    #[error("bad webhook URL {url:?}: {why}")]
    BadUrl { url: String, why: String },
    /// The TLS configuration cannot be built: a bad extra CA file (the message names the file
    /// and `FRONTDESK_CA_FILE`). From [`WebhookClient::try_new`] and
    /// [`WebhookClient::with_extra_ca`]; a client made by [`WebhookClient::new`] despite it
    /// answers every `https://` call with it.
    #[error("webhook TLS set-up: {0}")]
    Tls(String),
    #[error("webhook {url}: no answer within {timeout_ms} ms (after {attempts} attempt(s))")]
    Timeout { url: String, timeout_ms: u64, attempts: u32 },
    #[error("webhook {url}: cannot connect or send: {why} (after {attempts} attempt(s))")]
    Connect { url: String, why: String, attempts: u32 },
    #[error("webhook {url}: HTTP {status} (after {attempts} attempt(s))")]
    Status { url: String, status: u16, attempts: u32 },
    #[error("webhook {url}: response larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("webhook {url}: response is not JSON: {why}")]
    NotJson { url: String, why: String },
}

/// How one call is made.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// Per attempt, for connecting, sending and reading the whole response.
    pub timeout: Duration,
    /// Extra attempts after the first (0: no retry).
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// Largest response body accepted.
    pub max_body: usize,
    /// Sign the body with this secret, at this time (unix seconds).
    pub signature: Option<(Vec<u8>, u64)>,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            timeout: Duration::from_secs(5),
            retries: 2,
            backoff: Duration::from_millis(200),
            max_body: 64 * 1024,
            signature: None,
        }
    }
}

/// A successful call: the status, the parsed body (`null` for an empty body) and how many
/// attempts it took.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookResponse {
    pub status: u16,
    pub body: serde_json::Value,
    pub attempts: u32,
}

/// HTTP method of a [`WebhookCall`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    fn hyper(self) -> hyper::Method {
        match self {
            Method::Get => hyper::Method::GET,
            Method::Post => hyper::Method::POST,
        }
    }
}

/// One request for [`WebhookClient::call`]: method, URL, extra headers (name, value) and an
/// optional JSON body. Its `Debug` shows the method and header names only (the URL, header
/// values and body may hold secrets and caller data).
#[derive(Clone)]
pub struct WebhookCall {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
}

impl std::fmt::Debug for WebhookCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCall")
            .field("method", &self.method)
            .field("headers", &self.headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A pooled HTTP/1.1 client for `http://` and `https://`.
#[derive(Clone, Debug)]
pub struct WebhookClient {
    http: Client,
    /// Why `https://` cannot be used (a bad extra CA file given to [`WebhookClient::new`]).
    tls_error: Option<std::sync::Arc<str>>,
}

impl Default for WebhookClient {
    fn default() -> Self {
        Self::new()
    }
}

enum Attempt {
    Done(Result<WebhookResponse, WebhookError>),
    Retry(WebhookError),
}

/// A request ready to send, shared by every attempt.
struct Outgoing<'a> {
    method: Method,
    /// The URL as errors show it.
    url: &'a str,
    uri: Uri,
    /// Sent after the client's own headers (`Content-Type`, `User-Agent`, the signature).
    headers: &'a [(String, String)],
    body: Option<Bytes>,
}

impl WebhookClient {
    /// A client trusting the built-in roots and `FRONTDESK_CA_FILE`. It cannot fail: when that
    /// file cannot be used, the error is logged here and every `https://` call returns
    /// [`WebhookError::Tls`] naming it (`http://` calls still work). Prefer
    /// [`WebhookClient::try_new`] where a start-up error can be reported.
    pub fn new() -> Self {
        Self::try_new().unwrap_or_else(|e| {
            let why = match e {
                WebhookError::Tls(why) => why,
                other => other.to_string(),
            };
            tracing::error!("webhooks: https:// calls will fail: {why}");
            let http = frontdesk_http_client::client(&frontdesk_http_client::builtin_tls_config());
            WebhookClient { http, tls_error: Some(why.into()) }
        })
    }

    /// A client trusting the built-in roots and `FRONTDESK_CA_FILE`.
    ///
    /// # Errors
    /// [`WebhookError::Tls`] when `FRONTDESK_CA_FILE` names a file that is not a usable PEM file
    /// of CA certificates.
    pub fn try_new() -> Result<Self, WebhookError> {
        Self::with_extra_ca(&ExtraCa::FromEnv)
    }

    /// A client trusting the built-in roots and the certificates of `extra`.
    ///
    /// # Errors
    /// [`WebhookError::Tls`] when the extra CA file is not a usable PEM file of CA certificates.
    pub fn with_extra_ca(extra: &ExtraCa) -> Result<Self, WebhookError> {
        let tls = frontdesk_http_client::tls_config(extra).map_err(|e| WebhookError::Tls(e.to_string()))?;
        Ok(WebhookClient { http: frontdesk_http_client::client(&tls), tls_error: None })
    }

    /// [`WebhookError::Tls`] for an `https://` URI when this client's TLS set-up failed.
    fn check_tls(&self, uri: &Uri) -> Result<(), WebhookError> {
        match &self.tls_error {
            Some(why) if uri.scheme_str() == Some("https") => Err(WebhookError::Tls(why.to_string())),
            _ => Ok(()),
        }
    }

    /// POSTs `body` as JSON to `url`; see the crate doc for timeouts and retries.
    ///
    /// # Errors
    /// [`WebhookError`]: the last attempt's error once retries are used up, at once for a bad
    /// URL, a 4xx answer, a too large or non-JSON response.
    pub async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        opts: &CallOptions,
    ) -> Result<WebhookResponse, WebhookError> {
        let uri = check_url(url)?;
        let out = Outgoing {
            method: Method::Post,
            url,
            uri,
            headers: &[],
            body: Some(Bytes::from(body.to_string())),
        };
        self.send(&out, opts).await
    }

    /// Makes `call` (a flow's `webhook` node): GET or POST, with `Accept: application/json`,
    /// its extra headers, and its body as JSON if it has one (signed when `opts.signature` is
    /// set). Timeouts, retries and the response are as for [`WebhookClient::post_json`]. Errors
    /// show the URL without its query string and never a header value (either may hold
    /// secrets).
    ///
    /// # Errors
    /// As [`WebhookClient::post_json`]; a bad header name or value is [`WebhookError::BadUrl`].
    pub async fn call(
        &self,
        call: &WebhookCall,
        opts: &CallOptions,
    ) -> Result<WebhookResponse, WebhookError> {
        let url = shown(&call.url);
        let uri = parse_url(&call.url, &url)?;
        let headers: Vec<(String, String)> =
            std::iter::once(("accept".to_owned(), "application/json".to_owned()))
                .chain(call.headers.iter().cloned())
                .collect();
        let body = call.body.as_ref().map(|b| Bytes::from(b.to_string()));
        let out = Outgoing { method: call.method, url: &url, uri, headers: &headers, body };
        self.send(&out, opts).await
    }

    /// Attempts `out` until it is done or the retries are used up, with backoff between.
    async fn send(&self, out: &Outgoing<'_>, opts: &CallOptions) -> Result<WebhookResponse, WebhookError> {
        self.check_tls(&out.uri)?;
        let mut wait = opts.backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.attempt(out, opts, attempts).await {
                Attempt::Done(r) => return r,
                Attempt::Retry(e) if attempts > opts.retries => return Err(e),
                Attempt::Retry(_) => {
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                }
            }
        }
    }

    async fn attempt(&self, out: &Outgoing<'_>, opts: &CallOptions, attempts: u32) -> Attempt {
        let url = out.url;
        let mut req = Request::builder()
            .method(out.method.hyper())
            .uri(out.uri.clone())
            .header(hyper::header::USER_AGENT, "frontdesk-webhook");
        if let Some(body) = &out.body {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
            if let Some((secret, t)) = &opts.signature {
                req = req.header(SIGNATURE_HEADER, sign::sign(secret, *t, body));
            }
        }
        for (k, v) in out.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = match req.body(Full::new(out.body.clone().unwrap_or_default())) {
            Ok(r) => r,
            Err(_) => {
                // The builder's error may quote a header value, which may be a secret.
                return Attempt::Done(Err(WebhookError::BadUrl {
                    url: url.into(),
                    why: "a header name or value is not valid HTTP".into(),
                }));
            }
        };
        let call = async {
            let resp = self.http.request(req).await.map_err(|e| {
                let err = WebhookError::Connect {
                    url: url.into(),
                    why: frontdesk_http_client::describe(&e),
                    attempts,
                };
                // A certificate that is not trusted will not be trusted on the next attempt.
                if frontdesk_http_client::is_untrusted_certificate(&e) {
                    Attempt::Done(Err(err))
                } else {
                    Attempt::Retry(err)
                }
            })?;
            let status = resp.status();
            let collected = Limited::new(resp.into_body(), opts.max_body).collect().await;
            let bytes = match collected {
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
        let (status, bytes) = match tokio::time::timeout(opts.timeout, call).await {
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
        if !status.is_success() || status == StatusCode::NO_CONTENT && !bytes.is_empty() {
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

impl WebhookClient {
    /// One POST of raw bytes (no retry): the event dispatcher's attempt. Returns the HTTP status
    /// whatever it is (the caller decides what counts as delivered); the response body is read
    /// up to `max_body` and dropped.
    ///
    /// # Errors
    /// [`WebhookError::BadUrl`], [`WebhookError::Tls`] (`https://` on a client whose TLS set-up
    /// failed), [`WebhookError::Timeout`] when the whole exchange takes longer than `timeout`,
    /// [`WebhookError::Connect`] (which says so when the server's certificate is not trusted).
    pub async fn post_once(
        &self,
        url: &str,
        body: Bytes,
        headers: &[(&'static str, String)],
        signature: Option<(&[u8], u64)>,
        timeout: Duration,
        max_body: usize,
    ) -> Result<u16, WebhookError> {
        let uri = check_url(url)?;
        self.check_tls(&uri)?;
        let mut req = Request::post(uri)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, "frontdesk-webhook");
        for (name, value) in headers {
            req = req.header(*name, value.as_str());
        }
        if let Some((secret, t)) = signature {
            req = req.header(SIGNATURE_HEADER, sign::sign(secret, t, &body));
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| WebhookError::BadUrl { url: url.into(), why: e.to_string() })?;
        let call = async {
            let resp = self.http.request(req).await.map_err(|e| WebhookError::Connect {
                url: url.into(),
                why: frontdesk_http_client::describe(&e),
                attempts: 1,
            })?;
            let status = resp.status().as_u16();
            // The answer's body means nothing here; read a bounded amount so the connection can
            // be reused, and ignore what does not fit.
            let _ = Limited::new(resp.into_body(), max_body).collect().await;
            Ok(status)
        };
        tokio::time::timeout(timeout, call).await.unwrap_or_else(|_| {
            Err(WebhookError::Timeout {
                url: url.into(),
                timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                attempts: 1,
            })
        })
    }
}

/// Parses a webhook URL: `http://host...` or `https://host...`.
///
/// # Errors
/// [`WebhookError::BadUrl`] for anything else.
pub fn check_url(url: &str) -> Result<Uri, WebhookError> {
    parse_url(url, url)
}

/// As [`check_url`], with errors showing `shown` for the URL.
fn parse_url(url: &str, shown: &str) -> Result<Uri, WebhookError> {
    let uri: Uri =
        url.parse().map_err(|e| WebhookError::BadUrl { url: shown.into(), why: format!("{e}") })?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some_and(|h| !h.is_empty()) => Ok(uri),
        _ => Err(WebhookError::BadUrl {
            url: shown.into(),
            why: "needs http://host/path or https://host/path".into(),
        }),
    }
}

/// The URL without its query string or fragment (for errors and logs: a query may hold a
/// secret).
fn shown(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_owned()
}

/// A value inside `v` by JSON pointer (`/a/0/b`, RFC 6901) or dotted path (`a.0.b`; empty: `v`).
pub fn lookup<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    if path.starts_with('/') {
        return v.pointer(path);
    }
    path.split('.').filter(|p| !p.is_empty()).try_fold(v, |cur, key| match cur {
        serde_json::Value::Object(m) => m.get(key),
        serde_json::Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_by_pointer_and_dots() {
        let v = json!({"patient": {"balance": 20, "visits": [{"id": "a1"}]}, "a/b": 1});
        assert_eq!(lookup(&v, "/patient/balance"), Some(&json!(20)));
        assert_eq!(lookup(&v, "patient.visits.0.id"), Some(&json!("a1")));
        assert_eq!(lookup(&v, "/a~1b"), Some(&json!(1)));
        assert_eq!(lookup(&v, "patient.missing"), None);
        assert_eq!(lookup(&v, "patient.visits.x"), None);
        assert_eq!(lookup(&v, ""), Some(&v));
    }
}
