//! frontdesk-effects: the shell side of a flow's commands, in one place for `frontdesk chat`,
//! `frontdesk flow test` and the voice loop.
//!
//! The flow machine is sans-IO: it emits [`Command`]s and waits for [`Event`]s. [`Effects`]
//! runs the commands that touch the world and returns the event to feed back:
//!
//! | command | what runs | event back |
//! |---|---|---|
//! | `Schedule(op)` | `frontdesk_store::exec::execute` against the store | `ScheduleResult` (when the op expects one) |
//! | `OptOut` | the caller's number onto the store's do-not-call list | none |
//! | `Webhook(req)` | the HTTP call ([`http`]), `{{secret.NAME}}` filled in, `result:` mapped | `WebhookOutcome` |
//! | `Llm(req)` | the configured LLM ([`frontdesk_llm`]), or `not_configured` without one | `LlmOutcome` |
//! | anything else | nothing (saying, listening, transfers and hang-ups are the shell's own) | none |
//!
//! [`Effects::run`] blocks: the HTTP call runs on a small current-thread tokio runtime owned by
//! the executor. Call it from a plain thread (the CLI) or from `spawn_blocking` in an async
//! shell; on a runtime thread it refuses webhooks (`not_configured`, with a warning) instead of
//! panicking. An async shell can also await [`Effects::webhook`] itself.
//!
//! Secrets: `{{secret.NAME}}` in a webhook's URL or headers is read from the environment
//! variable `FRONTDESK_SECRET_NAME`, or from [`Effects::with_secret`] (tests, `--secret`). A
//! secret that is not set fails the webhook as `not_configured`; values are never logged.
//! Logs name the node, the method, the outcome and the attempts, never the URL, the headers or
//! the body (caller data).

pub mod http;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_flow::ast::{HttpMethod, WebhookResultMap};
use frontdesk_flow::convo::{Desk, EffectCtx, EffectsFactory};
use frontdesk_flow::{
    Command, Event, LlmFailure, LlmOutcome, LlmRequest, WebhookFailure, WebhookOutcome, WebhookRequest,
};
use frontdesk_llm::{LlmClient, Prompts};
use frontdesk_schedule::ScheduleOutcome;
use frontdesk_store::Store;
use frontdesk_store::exec::execute;
use frontdesk_types::Pii;
use frontdesk_webhook::{CallOptions, WebhookError, lookup};

pub use http::{HttpClient, Method, WebhookCall};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EffectsError {
    #[error("cannot start the runtime for webhook calls: {0}")]
    Runtime(#[source] std::io::Error),
}

/// The environment variable prefix of `{{secret.NAME}}`.
pub const SECRET_ENV_PREFIX: &str = "FRONTDESK_SECRET_";

/// The executor. Cheap to share by reference; one per process is enough.
pub struct Effects {
    store: Option<Arc<dyn Store>>,
    http: HttpClient,
    /// For the blocking entry points only, built on first use: an executor used from async code
    /// (the voice loop) never owns a runtime, so dropping it there cannot panic.
    rt: std::sync::OnceLock<tokio::runtime::Runtime>,
    secrets: BTreeMap<String, String>,
    env_secrets: bool,
    backoff: Duration,
    max_body: usize,
    llm: Option<(LlmClient, Prompts)>,
}

impl std::fmt::Debug for Effects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Effects")
            .field("store", &self.store.is_some())
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("env_secrets", &self.env_secrets)
            .field("llm", &self.llm.as_ref().map(|(c, _)| c.config()))
            .finish_non_exhaustive()
    }
}

impl Default for Effects {
    /// As [`Effects::new`].
    fn default() -> Self {
        Effects {
            store: None,
            http: HttpClient::default(),
            rt: std::sync::OnceLock::new(),
            secrets: BTreeMap::new(),
            env_secrets: true,
            backoff: Duration::from_millis(200),
            max_body: 64 * 1024,
            llm: None,
        }
    }
}

impl Effects {
    /// An executor with no store (scheduling ops fail with "no store"), secrets from the
    /// environment, 200 ms backoff between webhook retries. The blocking entry points
    /// ([`Effects::run`], [`Effects::webhook_blocking`]) start a runtime of their own on first
    /// use; the async ones run on the caller's.
    ///
    /// # Errors
    /// None today (kept so a constructor that can fail does not change the signature).
    pub fn new() -> Result<Effects, EffectsError> {
        Ok(Effects::default())
    }

    /// Runs scheduling ops and opt-outs against `store`.
    pub fn with_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Sets `{{secret.NAME}}` (takes precedence over the environment).
    pub fn with_secret(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.secrets.insert(name.into(), value.into());
        self
    }

    /// Whether `FRONTDESK_SECRET_*` environment variables are read (default: yes).
    pub fn with_env_secrets(mut self, on: bool) -> Self {
        self.env_secrets = on;
        self
    }

    /// The wait before a webhook's first retry (doubled for each further one).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// Answers `Command::Llm` with `client` and the prompt templates `prompts`.
    pub fn with_llm(mut self, client: LlmClient, prompts: Prompts) -> Self {
        self.llm = Some((client, prompts));
        self
    }

    /// Whether an LLM is configured (tell the machine: `FlowMachine::with_llm`).
    pub fn llm_configured(&self) -> bool {
        self.llm.is_some()
    }

    /// Asks the LLM for an `llm` node or a menu's `llm_fallback`.
    pub async fn llm(&self, req: &LlmRequest) -> LlmOutcome {
        match &self.llm {
            Some((c, p)) => c.decide(p, req).await,
            None => LlmOutcome::Failed(LlmFailure::NotConfigured),
        }
    }

    fn secret(&self, name: &str) -> Option<String> {
        if let Some(v) = self.secrets.get(name) {
            return Some(v.clone());
        }
        if self.env_secrets {
            return std::env::var(format!("{SECRET_ENV_PREFIX}{name}")).ok();
        }
        None
    }

    /// Runs one command against this executor's store; see the crate doc.
    pub fn run(&self, cmd: &Command, ctx: &EffectCtx<'_>) -> Option<Event> {
        self.run_on(self.store.as_deref(), cmd, ctx)
    }

    /// As [`Effects::run`], against `store` instead of the executor's own.
    pub fn run_on(&self, store: Option<&dyn Store>, cmd: &Command, ctx: &EffectCtx<'_>) -> Option<Event> {
        match cmd {
            Command::Schedule(op) => {
                let o = match store {
                    Some(s) => execute(s, op),
                    None => ScheduleOutcome::Failed("no store".into()),
                };
                op.expects_outcome().then_some(Event::ScheduleResult(o))
            }
            Command::OptOut => {
                if let (Some(s), Some(phone)) = (store, ctx.caller)
                    && let Err(e) = s.add_opt_out(phone.expose(), "flow", None, ctx.at)
                {
                    tracing::error!(error = %e, "could not record an opt-out");
                }
                None
            }
            Command::Webhook(req) => Some(Event::WebhookOutcome(self.webhook_blocking(req))),
            Command::Llm(req) => Some(Event::LlmOutcome(if tokio::runtime::Handle::try_current().is_ok() {
                tracing::warn!(node = %req.node, "LLM run from an async thread: use spawn_blocking or Effects::llm");
                LlmOutcome::Failed(LlmFailure::NotConfigured)
            } else {
                match self.runtime() {
                    Ok(rt) => rt.block_on(self.llm(req)),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot run the LLM call");
                        LlmOutcome::Failed(LlmFailure::NotConfigured)
                    }
                }
            })),
            _ => None,
        }
    }

    /// The runtime of the blocking entry points, started on first use.
    fn runtime(&self) -> Result<&tokio::runtime::Runtime, EffectsError> {
        if let Some(rt) = self.rt.get() {
            return Ok(rt);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(EffectsError::Runtime)?;
        Ok(self.rt.get_or_init(|| rt))
    }

    /// [`Effects::webhook`] on the executor's runtime.
    pub fn webhook_blocking(&self, req: &WebhookRequest) -> WebhookOutcome {
        if tokio::runtime::Handle::try_current().is_ok() {
            tracing::warn!(node = %req.node, "webhook run from an async thread: use spawn_blocking or Effects::webhook");
            return WebhookOutcome::Failed { kind: WebhookFailure::NotConfigured, attempts: 0 };
        }
        match self.runtime() {
            Ok(rt) => rt.block_on(self.webhook(req)),
            Err(e) => {
                tracing::error!(error = %e, "cannot run the webhook call");
                WebhookOutcome::Failed { kind: WebhookFailure::NotConfigured, attempts: 0 }
            }
        }
    }

    /// Makes a webhook node's call and maps its result (see the crate doc).
    pub async fn webhook(&self, req: &WebhookRequest) -> WebhookOutcome {
        let failed = |kind: WebhookFailure, attempts: u32| {
            tracing::warn!(node = %req.node, method = req.method.as_str(), error = %kind.code(), attempts, "webhook failed");
            WebhookOutcome::Failed { kind, attempts }
        };
        let url = match req.url.resolve(|n| self.secret(n)) {
            Ok(u) => u,
            Err(name) => {
                tracing::warn!(node = %req.node, secret = %name, "webhook secret not set ({SECRET_ENV_PREFIX}{name})");
                return failed(WebhookFailure::NotConfigured, 0);
            }
        };
        let mut headers = Vec::new();
        for (k, v) in &req.headers {
            match v.resolve(|n| self.secret(n)) {
                Ok(v) => headers.push((k.clone(), v)),
                Err(name) => {
                    tracing::warn!(node = %req.node, secret = %name, "webhook secret not set ({SECRET_ENV_PREFIX}{name})");
                    return failed(WebhookFailure::NotConfigured, 0);
                }
            }
        }
        let call = WebhookCall {
            method: match req.method {
                HttpMethod::Get => Method::Get,
                HttpMethod::Post => Method::Post,
            },
            url,
            headers,
            body: req.body.as_ref().map(|b| b.expose().clone()),
        };
        let opts = CallOptions {
            timeout: Duration::from_millis(req.timeout_ms),
            retries: req.retries,
            backoff: self.backoff,
            max_body: self.max_body,
            signature: None,
        };
        let resp = match self.http.call(&call, &opts).await {
            Ok(r) => r,
            Err(e) => {
                let (kind, attempts) = failure(&e);
                return failed(kind, attempts);
            }
        };
        let values = match &req.result {
            WebhookResultMap::None => Vec::new(),
            WebhookResultMap::Whole(slot) => vec![(slot.clone(), Pii::new(resp.body.clone()))],
            WebhookResultMap::Map(m) => {
                let mut out = Vec::new();
                for (var, path, _) in m {
                    match lookup(&resp.body, path) {
                        Some(v) if !v.is_null() => out.push((var.clone(), Pii::new(v.clone()))),
                        _ => return failed(WebhookFailure::MissingField(path.clone()), resp.attempts),
                    }
                }
                out
            }
        };
        tracing::info!(node = %req.node, method = req.method.as_str(), status = resp.status, attempts = resp.attempts, "webhook ok");
        WebhookOutcome::Ok { status: resp.status, attempts: resp.attempts, values }
    }
}

/// The flow's failure kind and the attempts made, for a client error.
fn failure(e: &WebhookError) -> (WebhookFailure, u32) {
    match e {
        WebhookError::Timeout { attempts, .. } => (WebhookFailure::Timeout, *attempts),
        WebhookError::Connect { attempts, .. } => (WebhookFailure::Connect, *attempts),
        WebhookError::Status { status, attempts, .. } => (WebhookFailure::Status(*status), *attempts),
        WebhookError::TooLarge { .. } | WebhookError::NotJson { .. } => (WebhookFailure::BadResponse, 1),
        _ => (WebhookFailure::NotConfigured, 0),
    }
}

/// Conversation tests: each test's effects run against that test's store.
impl EffectsFactory for Effects {
    fn effects<'d>(&'d self, desk: &'d Desk) -> Box<frontdesk_flow::convo::Effects<'d>> {
        Box::new(move |c: &Command, ctx: &EffectCtx<'_>| self.run_on(Some(desk.store()), c, ctx))
    }
}
