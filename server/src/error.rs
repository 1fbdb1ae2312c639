//! Every failure of the API, and the status code and JSON body it maps to.
//!
//! Bodies follow the real service: `{error}`, plus `currentVersion` on a
//! version conflict and `{error: 'Server error', details}` on a 500.

use axum::http::StatusCode;

use crate::store::StoreError;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    /// Input the core refused: its stable code and the path of what was wrong.
    Invalid {
        code: &'static str,
        path: Option<String>,
        message: String,
    },
    /// A new graph id that is not a UUID v4.
    InvalidNewId {
        received: String,
    },
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    /// The snapshot of a version was pruned by the retention setting.
    Gone(String),
    Conflict {
        current_version: i64,
        /// The version a delta said it was based on (echoed, as `/patchNode` does).
        expected_version: Option<i64>,
    },
    PayloadTooLarge {
        limit: usize,
    },
    /// Well-formed, but cannot be done as asked (an idempotency key reused
    /// by another user or for another request).
    Unprocessable(String),
    MethodNotAllowed,
    /// The database cannot be reached now: 503 with `Retry-After` (nothing
    /// was stored; the client retries).
    Unavailable(String),
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::InvalidNewId { .. } | ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn body(&self) -> Value {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Gone(m)
            | ApiError::Unprocessable(m) => json!({ "error": m }),
            ApiError::MethodNotAllowed => json!({ "error": "Method not allowed." }),
            ApiError::InvalidNewId { received } => json!({
                "error": "A new graph id must be a UUID v4.",
                "expected": "UUID v4, e.g. 6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
                "received": received,
            }),
            ApiError::Invalid { code, path, message } => json!({ "error": message, "code": code, "path": path }),
            ApiError::Conflict { current_version, expected_version: None } => json!({
                "error": "Version mismatch. Please reload the latest version of the graph.",
                "currentVersion": current_version,
            }),
            ApiError::Conflict { current_version, expected_version: Some(expected) } => json!({
                "error": "Version mismatch. Reload the graph and retry the patch.",
                "currentVersion": current_version,
                "expectedVersion": expected,
            }),
            ApiError::PayloadTooLarge { limit } => json!({ "error": format!("Request body is larger than the limit of {limit} bytes.") }),
            ApiError::Unavailable(_) => json!({ "error": "The history database is unavailable; try again shortly." }),
            ApiError::Internal(details) => json!({ "error": "Server error", "details": details }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(details) => tracing::error!(%details, "internal error"),
            ApiError::Unavailable(details) => tracing::warn!(%details, "database unavailable"),
            _ => {}
        }
        let retry = matches!(self, ApiError::Unavailable(_)).then_some([(axum::http::header::RETRY_AFTER, "1")]);
        (self.status(), retry, axum::Json(self.body())).into_response()
    }
}

impl ApiError {
    /// A refusal of the core (a bad delta or graph): 400 with its code and path.
    pub fn from_core(e: kg_approval::Error) -> ApiError {
        ApiError::Invalid { code: e.code().as_str(), path: e.path().map(str::to_owned), message: e.to_string() }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Unavailable(details) => ApiError::Unavailable(details),
            StoreError::Failed(details) => ApiError::Internal(format!("database: {details}")),
        }
    }
}
