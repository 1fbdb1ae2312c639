//! Errors with a stable machine-readable code.
//!
//! Every failure the library reports carries an [`ErrorCode`] (the `code` of
//! the thrown JS `Error`) and a message that names the offending input path,
//! such as `nodes[3].id`. Codes are part of the public contract: they never
//! change meaning once released.

use std::fmt;

/// The stable code of an [`Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The graph is not `{ nodes: [...], edges?: [...], metadata?: {...} }`.
    InvalidGraph,
    /// The proposal is malformed (wrong types, missing ids, ...).
    InvalidProposal,
    /// Two nodes share an id (in a graph or within one proposal).
    DuplicateNodeId,
    /// An operation names a node the graph does not have.
    UnknownNode,
    /// An operation names an edge the graph does not have.
    UnknownEdge,
    /// An edge id matches several edges of the graph, so an update is ambiguous.
    AmbiguousEdgeId,
    /// Two operations of one proposal contradict each other (patch and remove).
    ConflictingOperations,
    /// A search-and-replace text does not occur in the field.
    SearchNotFound,
    /// A search-and-replace targets a field that is not a string.
    FieldNotText,
    /// A change id that is not part of the pending review.
    UnknownChange,
    /// `accept`/`reject`/`approve` without a pending review.
    NoPendingReview,
    /// The accepted set is not applicable (e.g. an edge to a rejected node).
    InconsistentDecision,
    /// An approval id that is not in the session's outbox.
    UnknownApproval,
    /// `approve` while a rebased conflict is still undecided.
    UnresolvedConflict,
    /// An argument other than graph/proposal is wrong (user, timestamp, options).
    InvalidArgument,
    /// A JS value JSON cannot carry faithfully: `undefined`, `NaN`, a function,
    /// a `Map`, a cycle, a lone surrogate, nesting deeper than the limit.
    InvalidValue,
    /// A graph delta is malformed (wrong types, an id patched twice, a
    /// node's `id` patched).
    InvalidDelta,
    /// A delta would leave an edge pointing at a node it removes.
    DanglingEdge,
    /// The approved graph of an approval is no longer held by the session.
    GraphUnavailable,
    /// `approve` while changes are undecided (a session in explicit mode);
    /// the error lists them (`change_ids`).
    UndecidedChanges,
    /// A reviewer's correction a change cannot take (a removal, an audit
    /// field, an added node whose id changes...).
    InvalidCorrection,
    /// A draft that is malformed, or of another graph or review.
    InvalidDraft,
}

impl ErrorCode {
    /// The code as it appears in JS (`err.code`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidGraph => "invalid_graph",
            ErrorCode::InvalidProposal => "invalid_proposal",
            ErrorCode::DuplicateNodeId => "duplicate_node_id",
            ErrorCode::UnknownNode => "unknown_node",
            ErrorCode::UnknownEdge => "unknown_edge",
            ErrorCode::AmbiguousEdgeId => "ambiguous_edge_id",
            ErrorCode::ConflictingOperations => "conflicting_operations",
            ErrorCode::SearchNotFound => "search_not_found",
            ErrorCode::FieldNotText => "field_not_text",
            ErrorCode::UnknownChange => "unknown_change",
            ErrorCode::NoPendingReview => "no_pending_review",
            ErrorCode::InconsistentDecision => "inconsistent_decision",
            ErrorCode::UnknownApproval => "unknown_approval",
            ErrorCode::UnresolvedConflict => "unresolved_conflict",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::InvalidDelta => "invalid_delta",
            ErrorCode::DanglingEdge => "dangling_edge",
            ErrorCode::GraphUnavailable => "graph_unavailable",
            ErrorCode::UndecidedChanges => "undecided_changes",
            ErrorCode::InvalidCorrection => "invalid_correction",
            ErrorCode::InvalidDraft => "invalid_draft",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error: a code, a readable message and, where one applies, the input
/// path it is about.
///
/// ```
/// use kg_approval::{Error, ErrorCode};
/// let err = Error::at(ErrorCode::InvalidGraph, "nodes[3].id", "must be a non-empty string");
/// assert_eq!(err.code(), ErrorCode::InvalidGraph);
/// assert_eq!(err.to_string(), "nodes[3].id: must be a non-empty string");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    path: Option<String>,
    message: String,
    /// The changes the error is about, when it lists some (`undecided_changes`).
    change_ids: Vec<String>,
}

impl Error {
    /// An error that is not about one input path.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, path: None, message: message.into(), change_ids: Vec::new() }
    }

    /// An error about the input at `path` (`nodes[3].id`, `searchReplace[0].search`).
    pub fn at(code: ErrorCode, path: impl Into<String>, message: impl Into<String>) -> Error {
        Error { code, path: Some(path.into()), message: message.into(), change_ids: Vec::new() }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The same error, about these changes.
    pub fn with_change_ids(mut self, ids: Vec<String>) -> Error {
        self.change_ids = ids;
        self
    }

    /// The changes the error is about (empty unless it lists some).
    pub fn change_ids(&self) -> &[String] {
        &self.change_ids
    }

    /// The message without the path prefix.
    pub fn detail(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{path}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
