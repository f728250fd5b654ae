//! Speech to text through an external OpenAI-compatible transcription service.
//!
//! [`OpenAiTranscriber`] implements [`frontdesk_engines::Transcriber`] by sending the segment as a
//! 16 kHz mono 16-bit WAV to `POST {base}/audio/transcriptions` (`base` like
//! `http://127.0.0.1:8000/v1` or `https://api.openai.com/v1`; a URL already ending in `/audio/transcriptions` is used as it is)
//! as `multipart/form-data` ([`request`]) with the fields `file`, `model`, `response_format`
//! (`verbose_json` when word timings are wanted, else `json`), `timestamp_granularities[]=word`
//! with `verbose_json`, and `language` and `prompt` (the decode hints) when set;
//! `Authorization: Bearer KEY` when a key is configured. The answer is read by [`response`].
//!
//! # Transport
//!
//! HTTP/1.1 with hyper 1 over TCP for `http://`, and over TLS for `https://` with the shared TLS
//! configuration of `frontdesk-http-client` (rustls with ring; the built-in Mozilla roots plus the
//! CA certificates in the PEM file named by `FRONTDESK_CA_FILE`, or [`OpenAiConfig::extra_ca`]).
//! That configuration is built with the transcriber: a bad CA file is an [`OpenAiError::Tls`]
//! from [`OpenAiTranscriber::new`], not at the first call. A server whose certificate is not
//! trusted is an [`OpenAiError::Tls`] that says so.
//!
//! One connection per request, so a request is self-contained: [`OpenAiTranscriber::transcribe_async`]
//! runs on the caller's tokio runtime (the shell can await it without holding an inference-pool
//! thread: the work is the server's); the blocking [`Transcriber::transcribe`] runs the same
//! request on a small runtime of its own and must not be called on an async runtime thread (it
//! returns an error instead of blocking one). Either way it stays off the audio path.
//!
//! # Errors
//!
//! Every failure is an [`OpenAiError`] naming the URL, turned into
//! [`EngineError::Remote`] at the trait: the server unreachable (with the OS error), the TLS
//! handshake failed (an untrusted certificate says so), the
//! whole request past its timeout, a non-2xx status with the server's own message (OpenAI's
//! `error.message`, FastAPI's `detail`, or the start of the body), or a 2xx body that is not a
//! transcription.
//!
//! # Tests
//!
//! No OpenAI-compatible transcription server was cheap to install here, so the integration tests
//! (`tests/http.rs`) run an in-test HTTP server on real TCP that parses the multipart request the
//! way the OpenAI API reference defines it, checks every field, and answers the documented JSON
//! (and errors, stalls and refused connections), over plain TCP and behind TLS with a certificate
//! from a CA made at test time.

pub mod request;
pub mod response;

use std::time::Duration;

use std::sync::Arc;

use bytes::Bytes;
use frontdesk_engines::{DecodeOptions, EngineError, Transcriber, Transcript};
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;

pub use frontdesk_http_client::{CA_FILE_ENV, ExtraCa};

/// The rate of the audio sent (the trait's input rate).
pub const SAMPLE_RATE: u32 = 16_000;
/// Largest answer read (a transcription of a few seconds is a few kilobytes).
const MAX_ANSWER: usize = 4 << 20;

/// Why a transcription through the service failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenAiError {
    /// The URL cannot be used.
    #[error("bad transcription service URL {url:?}: {why}")]
    BadUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong.
        why: String,
    },
    /// TLS cannot be set up (a bad extra CA file, when the transcriber is built) or the
    /// handshake failed (the server's certificate is not trusted, ...).
    #[error("{url}: TLS: {why}")]
    Tls {
        /// The URL.
        url: String,
        /// What failed; names the CA file and `FRONTDESK_CA_FILE`, or says the certificate was
        /// not trusted.
        why: String,
    },
    /// No TCP connection.
    #[error("{url}: cannot connect ({why}); is the transcription server running?")]
    Unreachable {
        /// The URL.
        url: String,
        /// The OS error.
        why: String,
    },
    /// The request did not complete in time.
    #[error("{url}: no complete answer within {timeout_ms} ms")]
    Timeout {
        /// The URL.
        url: String,
        /// The configured timeout.
        timeout_ms: u64,
    },
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}: {message}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// A 2xx answer that is not a transcription.
    #[error("{url}: the answer is not a transcription ({why})")]
    BadAnswer {
        /// The URL.
        url: String,
        /// The parse error.
        why: String,
    },
    /// The HTTP exchange failed after connecting.
    #[error("{url}: HTTP exchange failed: {why}")]
    Http {
        /// The URL.
        url: String,
        /// What happened.
        why: String,
    },
    /// The blocking call was made on an async runtime thread.
    #[error("the blocking transcribe was called on an async runtime thread: use transcribe_async")]
    OnRuntime,
}

impl From<OpenAiError> for EngineError {
    fn from(e: OpenAiError) -> Self {
        let url = match &e {
            OpenAiError::BadUrl { url, .. }
            | OpenAiError::Tls { url, .. }
            | OpenAiError::Unreachable { url, .. }
            | OpenAiError::Timeout { url, .. }
            | OpenAiError::Status { url, .. }
            | OpenAiError::BadAnswer { url, .. }
            | OpenAiError::Http { url, .. } => url.clone(),
            OpenAiError::OnRuntime => String::new(),
        };
        EngineError::Remote { url, why: e.to_string() }
    }
}

/// Settings of the provider.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenAiConfig {
    /// `http://host:port/v1` or `https://host/v1` (the path `/audio/transcriptions` is appended)
    /// or the full endpoint.
    pub url: String,
    /// The `model` field (e.g. `whisper-1`, or the server's model name).
    pub model: String,
    /// Sent as `Authorization: Bearer ...` when set.
    pub api_key: Option<String>,
    /// The `language` field (ISO 639-1, e.g. `en`) when set.
    pub language: Option<String>,
    /// Ask for `verbose_json` with word timings (else `json`, text only).
    pub words: bool,
    /// Limit for the whole request: connect, send, answer.
    pub timeout: Duration,
    /// CA certificates trusted for `https://` beside the built-in roots (default: the file named
    /// by `FRONTDESK_CA_FILE`, if set).
    pub extra_ca: ExtraCa,
}

impl OpenAiConfig {
    /// `url` and `model`, no key, no language, word timings asked for, 10 s timeout, extra CAs
    /// from `FRONTDESK_CA_FILE`.
    pub fn new(url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiConfig {
            url: url.into(),
            model: model.into(),
            api_key: None,
            language: None,
            words: true,
            timeout: Duration::from_secs(10),
            extra_ca: ExtraCa::FromEnv,
        }
    }
}

/// Where requests go, parsed once.
#[derive(Clone, Debug)]
struct Endpoint {
    url: String,
    /// `https://`: TLS over the TCP connection.
    tls: bool,
    host: String,
    port: u16,
    authority: String,
    path: String,
}

fn endpoint(url: &str) -> Result<Endpoint, OpenAiError> {
    let bad = |why: &str| OpenAiError::BadUrl { url: url.to_owned(), why: why.to_owned() };
    let uri: hyper::Uri = url.parse().map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
    let (scheme, tls, default_port) = match uri.scheme_str() {
        Some("http") => ("http", false, 80),
        Some("https") => ("https", true, 443),
        _ => return Err(bad("expected http://host:port/v1 or https://host/v1")),
    };
    let authority = uri.authority().ok_or_else(|| bad("no host"))?.clone();
    if authority.as_str().contains('@') {
        return Err(bad("credentials in the URL: configure the API key instead"));
    }
    let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
    let mut path = uri.path().trim_end_matches('/').to_owned();
    if !path.ends_with("/audio/transcriptions") {
        path.push_str("/audio/transcriptions");
    }
    let full = format!("{scheme}://{authority}{path}");
    Ok(Endpoint {
        url: full,
        tls,
        host,
        port: authority.port_u16().unwrap_or(default_port),
        authority: authority.to_string(),
        path,
    })
}

/// The transcriber. Cheap to share (`Send + Sync`); every call is one HTTP request.
#[derive(Clone, Debug)]
pub struct OpenAiTranscriber {
    cfg: OpenAiConfig,
    endpoint: Endpoint,
    name: String,
    /// For `https://` endpoints.
    tls: Arc<frontdesk_http_client::TlsConfig>,
}

impl OpenAiTranscriber {
    /// Checks the URL (`http://` or `https://`), builds the TLS configuration and keeps the
    /// settings; connects nothing yet.
    ///
    /// # Errors
    /// [`OpenAiError::BadUrl`]; [`OpenAiError::Tls`] when the extra CA file is not a usable PEM
    /// file of CA certificates.
    pub fn new(cfg: OpenAiConfig) -> Result<Self, OpenAiError> {
        let endpoint = endpoint(&cfg.url)?;
        let tls = frontdesk_http_client::tls_config(&cfg.extra_ca)
            .map_err(|e| OpenAiError::Tls { url: endpoint.url.clone(), why: e.to_string() })?;
        let name = format!("openai:{}", cfg.model);
        Ok(OpenAiTranscriber { cfg, endpoint, name, tls })
    }

    /// The endpoint requests go to.
    pub fn url(&self) -> &str {
        &self.endpoint.url
    }

    fn form(&self, pcm_16k: &[f32], opts: &DecodeOptions) -> (String, Vec<u8>) {
        use request::Field;
        let format = if self.cfg.words { "verbose_json" } else { "json" };
        let mut fields = vec![
            Field { name: "model", value: self.cfg.model.clone() },
            Field { name: "response_format", value: format.to_owned() },
        ];
        if self.cfg.words {
            fields.push(Field { name: "timestamp_granularities[]", value: "word".to_owned() });
        }
        if let Some(lang) = &self.cfg.language {
            fields.push(Field { name: "language", value: lang.clone() });
        }
        if !opts.hints.is_empty() {
            fields.push(Field { name: "prompt", value: opts.hints.join(", ") });
        }
        request::multipart(&request::wav_bytes(pcm_16k, SAMPLE_RATE), &fields)
    }

    /// Transcribes mono 16 kHz samples on the caller's tokio runtime.
    pub async fn transcribe_async(
        &self,
        pcm_16k: &[f32],
        opts: &DecodeOptions,
    ) -> Result<Transcript, OpenAiError> {
        let (content_type, body) = self.form(pcm_16k, opts);
        let timeout_ms = u64::try_from(self.cfg.timeout.as_millis()).unwrap_or(u64::MAX);
        match tokio::time::timeout(self.cfg.timeout, self.exchange(content_type, body)).await {
            Ok(r) => r,
            Err(_) => Err(OpenAiError::Timeout { url: self.endpoint.url.clone(), timeout_ms }),
        }
    }

    async fn exchange(&self, content_type: String, body: Vec<u8>) -> Result<Transcript, OpenAiError> {
        let ep = &self.endpoint;
        let stream = tokio::net::TcpStream::connect((ep.host.as_str(), ep.port))
            .await
            .map_err(|e| OpenAiError::Unreachable { url: ep.url.clone(), why: e.to_string() })?;
        let _ = stream.set_nodelay(true);
        if !ep.tls {
            return self.exchange_on(TokioIo::new(stream), content_type, body).await;
        }
        let tls = frontdesk_http_client::connect_tls(&self.tls, &ep.host, stream).await.map_err(|e| {
            OpenAiError::Tls { url: ep.url.clone(), why: frontdesk_http_client::describe(&e) }
        })?;
        self.exchange_on(TokioIo::new(tls), content_type, body).await
    }

    /// The HTTP/1.1 request on a connected `io` (plain or TLS).
    async fn exchange_on<IO>(
        &self,
        io: IO,
        content_type: String,
        body: Vec<u8>,
    ) -> Result<Transcript, OpenAiError>
    where
        IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let ep = &self.endpoint;
        let http = |e: &dyn std::fmt::Display| OpenAiError::Http { url: ep.url.clone(), why: e.to_string() };
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(io).await.map_err(|e| http(&e))?;
        // The connection runs as its own task (it drives the socket while the response is read)
        // and is aborted when this future ends or is dropped (a timeout), so nothing lingers.
        let _conn = AbortOnDrop(tokio::spawn(async move {
            let _ = conn.await;
        }));
        {
            let mut req = Request::post(ep.path.as_str())
                .header(hyper::header::HOST, ep.authority.as_str())
                .header(hyper::header::CONTENT_TYPE, content_type)
                .header(hyper::header::CONTENT_LENGTH, body.len())
                .header(hyper::header::ACCEPT, "application/json")
                .header(hyper::header::USER_AGENT, concat!("frontdesk/", env!("CARGO_PKG_VERSION")));
            if let Some(key) = &self.cfg.api_key {
                req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {key}"));
            }
            let req = req.body(Full::new(Bytes::from(body))).map_err(|e| http(&e))?;
            let resp = sender.send_request(req).await.map_err(|e| http(&e))?;
            let status = resp.status();
            let bytes = Limited::new(resp.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| http(&format!("reading the answer: {e}")))?
                .to_bytes();
            if !status.is_success() {
                return Err(OpenAiError::Status {
                    url: ep.url.clone(),
                    status: status.as_u16(),
                    message: response::error_message(&bytes),
                });
            }
            response::transcript(&bytes).map_err(|why| OpenAiError::BadAnswer { url: ep.url.clone(), why })
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Transcriber for OpenAiTranscriber {
    fn name(&self) -> &str {
        &self.name
    }

    fn transcribe(&self, pcm_16k: &[f32], opts: &DecodeOptions) -> Result<Transcript, EngineError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(OpenAiError::OnRuntime.into());
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| EngineError::Remote { url: self.endpoint.url.clone(), why: e.to_string() })?;
        Ok(rt.block_on(self.transcribe_async(pcm_16k, opts))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let e = endpoint("http://127.0.0.1:8000/v1").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 8000, "/v1/audio/transcriptions")
        );
        assert_eq!(e.url, "http://127.0.0.1:8000/v1/audio/transcriptions");
        let e = endpoint("http://asr.local/v1/audio/transcriptions/").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.path.as_str()), ("asr.local", 80, "/v1/audio/transcriptions"));
        let e = endpoint("http://[::1]:9000").unwrap();
        assert_eq!((e.host.as_str(), e.authority.as_str()), ("::1", "[::1]:9000"));
        let e = endpoint("https://api.example.com/v1").unwrap();
        assert_eq!((e.tls, e.host.as_str(), e.port), (true, "api.example.com", 443));
        assert_eq!(e.url, "https://api.example.com/v1/audio/transcriptions");
        assert!(!endpoint("http://x/v1").unwrap().tls);
        assert!(matches!(endpoint("ftp://x/v1"), Err(OpenAiError::BadUrl { .. })));
        assert!(matches!(endpoint("http://user:pw@x/v1"), Err(OpenAiError::BadUrl { .. })));
        assert!(matches!(endpoint("not a url"), Err(OpenAiError::BadUrl { .. })));
    }
}
