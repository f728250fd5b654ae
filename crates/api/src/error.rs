//! The one error enum of this crate, and its JSON form `{"error": {"code", "message"}}`.

use hyper::StatusCode;

use frontdesk_store::StoreError;

/// Why a request failed; every variant maps to one HTTP status and a stable `code`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed (bad JSON, bad query parameter, bad path parameter...).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// No API key, or a key that is unknown or revoked.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// No such route or record.
    #[error("{0}")]
    NotFound(String),
    /// The path exists with other methods.
    #[error("{method} is not allowed on {path}; allowed: {allow}")]
    MethodNotAllowed { method: String, path: String, allow: String },
    /// The request conflicts with the current state (published version, booked slot...).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The body is over the limit.
    #[error("the request body is over the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The body has the wrong media type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The content forbids it (a flow with errors cannot be published): 409 with details.
    #[error("{message}")]
    Refused { code: &'static str, message: String, details: Option<serde_json::Value> },
    /// Well-formed but not acceptable (a slot outside opening hours, a reference to an unknown
    /// resource or appointment type): 422.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The gateway cannot serve this now (shutting down, no call control).
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure (a panicked blocking task).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 with a code.
    pub(crate) fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest { code, message: message.into() }
    }

    /// The HTTP status, the stable code, and extra details for the body.
    pub(crate) fn parts(&self) -> (StatusCode, &'static str, Option<&serde_json::Value>) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code, None),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
            ApiError::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code, None),
            ApiError::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None)
            }
            ApiError::Refused { code, details, .. } => (StatusCode::CONFLICT, code, details.as_ref()),
            ApiError::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code, None),
            ApiError::Store(e) => match e {
                StoreError::NotFound { .. }
                | StoreError::HoldNotFound(_)
                | StoreError::AppointmentNotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
                StoreError::Conflict { .. } => (StatusCode::CONFLICT, "slot_conflict", None),
                StoreError::Immutable { .. } => (StatusCode::CONFLICT, "immutable", None),
                StoreError::NotBooked { .. } => (StatusCode::CONFLICT, "not_booked", None),
                StoreError::HoldExpired(_) => (StatusCode::CONFLICT, "hold_expired", None),
                StoreError::IdempotencyKeyReused { .. } => {
                    (StatusCode::CONFLICT, "idempotency_key_reused", None)
                }
                StoreError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid", None),
                StoreError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "store_busy", None),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "store_error", None),
            },
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
        }
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> serde_json::Value {
        let (_, code, details) = self.parts();
        let mut err = serde_json::json!({ "code": code, "message": self.to_string() });
        if let (Some(d), Some(obj)) = (details, err.as_object_mut()) {
            obj.insert("details".into(), d.clone());
        }
        serde_json::json!({ "error": err })
    }
}
