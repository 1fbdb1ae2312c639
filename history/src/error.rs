//! Every way the history refuses or fails, as the domain sees it. The
//! server maps each to a status code and the real service's body shape; the
//! domain knows neither.

use std::fmt;

use crate::store::StoreError;

#[derive(Debug)]
pub enum HistoryError {
    /// The request is malformed (not JSON, a missing field, a wrong type).
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
    /// Nobody signed in where someone must.
    Unauthorized(String),
    /// Signed in, but not allowed.
    Forbidden(String),
    NotFound(String),
    /// The snapshot of a version was pruned by the retention setting.
    Gone(String),
    /// Someone saved first.
    Conflict {
        current_version: i64,
        /// The version a delta said it was based on (echoed, as `/patchNode` does).
        expected_version: Option<i64>,
    },
    /// Well-formed, but cannot be done as asked (an idempotency key reused
    /// by another user or for another request).
    Unprocessable(String),
    /// The database cannot be reached now (nothing was stored; worth retrying).
    Unavailable(String),
    Internal(String),
}

impl HistoryError {
    /// A refusal of the core (a bad delta or graph), with its code and path.
    pub fn from_core(e: kg_approval::Error) -> HistoryError {
        HistoryError::Invalid { code: e.code().as_str(), path: e.path().map(str::to_owned), message: e.to_string() }
    }

    /// What a person reads: the message, for the refusals that have one.
    pub fn message(&self) -> String {
        match self {
            HistoryError::BadRequest(m)
            | HistoryError::Unauthorized(m)
            | HistoryError::Forbidden(m)
            | HistoryError::NotFound(m)
            | HistoryError::Gone(m)
            | HistoryError::Unprocessable(m)
            | HistoryError::Unavailable(m)
            | HistoryError::Internal(m) => m.clone(),
            HistoryError::Invalid { message, .. } => message.clone(),
            HistoryError::InvalidNewId { received } => format!("A new graph id must be a UUID v4, got '{received}'."),
            HistoryError::Conflict { current_version, .. } => format!("Version mismatch: the graph is at version {current_version}."),
        }
    }
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for HistoryError {}

impl From<StoreError> for HistoryError {
    fn from(e: StoreError) -> HistoryError {
        match e {
            StoreError::Unavailable(details) => HistoryError::Unavailable(details),
            StoreError::Failed(details) => HistoryError::Internal(format!("database: {details}")),
        }
    }
}
