//! Every failure of the API, and the status code and JSON body it maps to:
//! the history's refusals ([`HistoryError`]) and HTTP's own.
//!
//! Bodies follow the real service: `{error}`, plus `currentVersion` on a
//! version conflict and `{error: 'Server error', details}` on a 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kg_history::HistoryError;
use kg_history::store::StoreError;
use serde_json::{Value, json};

use crate::metrics::StoreFailure;

#[derive(Debug)]
pub enum ApiError {
    /// What the history refused or failed at.
    History(HistoryError),
    PayloadTooLarge {
        limit: usize,
    },
    MethodNotAllowed,
}

impl From<HistoryError> for ApiError {
    fn from(e: HistoryError) -> ApiError {
        ApiError::History(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::History(e.into())
    }
}

/// The status code of one of the history's refusals.
pub fn status_of(e: &HistoryError) -> StatusCode {
    match e {
        HistoryError::BadRequest(_) | HistoryError::InvalidNewId { .. } | HistoryError::Invalid { .. } => StatusCode::BAD_REQUEST,
        HistoryError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        HistoryError::Forbidden(_) => StatusCode::FORBIDDEN,
        HistoryError::NotFound(_) => StatusCode::NOT_FOUND,
        HistoryError::Gone(_) => StatusCode::GONE,
        HistoryError::Conflict { .. } => StatusCode::CONFLICT,
        HistoryError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
        HistoryError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        HistoryError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::History(e) => status_of(e),
        }
    }

    pub fn body(&self) -> Value {
        let e = match self {
            ApiError::MethodNotAllowed => return json!({ "error": "Method not allowed." }),
            ApiError::PayloadTooLarge { limit } => {
                return json!({ "error": format!("Request body is larger than the limit of {limit} bytes.") });
            }
            ApiError::History(e) => e,
        };
        match e {
            HistoryError::BadRequest(m)
            | HistoryError::Unauthorized(m)
            | HistoryError::Forbidden(m)
            | HistoryError::NotFound(m)
            | HistoryError::Gone(m)
            | HistoryError::Unprocessable(m) => json!({ "error": m }),
            HistoryError::InvalidNewId { received } => json!({
                "error": "A new graph id must be a UUID v4.",
                "expected": "UUID v4, e.g. 6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
                "received": received,
            }),
            HistoryError::Invalid { code, path, message } => json!({ "error": message, "code": code, "path": path }),
            HistoryError::Conflict { current_version, expected_version: None } => json!({
                "error": "Version mismatch. Please reload the latest version of the graph.",
                "currentVersion": current_version,
            }),
            HistoryError::Conflict { current_version, expected_version: Some(expected) } => json!({
                "error": "Version mismatch. Reload the graph and retry the patch.",
                "currentVersion": current_version,
                "expectedVersion": expected,
            }),
            HistoryError::Unavailable(_) => json!({ "error": "The history database is unavailable; try again shortly." }),
            HistoryError::Internal(details) => json!({ "error": "Server error", "details": details }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::History(HistoryError::Internal(details)) => tracing::error!(%details, "internal error"),
            ApiError::History(HistoryError::Unavailable(details)) => tracing::warn!(%details, "database unavailable"),
            _ => {}
        }
        let retry = matches!(self, ApiError::History(HistoryError::Unavailable(_))).then_some([(axum::http::header::RETRY_AFTER, "1")]);
        let failure = match &self {
            ApiError::History(HistoryError::Unavailable(_)) => Some(StoreFailure::Unavailable),
            ApiError::History(HistoryError::Internal(_)) => Some(StoreFailure::Internal),
            _ => None,
        };
        let mut response = (self.status(), retry, axum::Json(self.body())).into_response();
        if let Some(failure) = failure {
            response.extensions_mut().insert(failure);
        }
        response
    }
}
