//! # kg-approval
//!
//! Review and approve AI edits to a knowledge graph before they are saved.
//!
//! An AI proposes partial updates (a node id plus the fields it wants to
//! change, plus additions and removals). kg-approval merges them into the
//! graph without losing a field, a node or a hidden node; lists every change
//! field by field, with inline text diffs of long fields; lets a person accept
//! or reject each one; and applies the accepted ones with `updatedAt` /
//! `updatedBy` stamps written at approval time and an audit entry that says
//! who approved what, when and why.
//!
//! The core is plain Rust. The WebAssembly bindings (`bindings`, built only
//! for `wasm32`) convert and forward, nothing more.
//!
//! ```
//! use kg_approval::{ApprovalSession, Approver, Graph, Proposal, Provenance, Timestamp};
//! use serde_json::json;
//!
//! let graph = Graph::from_value(json!({
//!     "nodes": [{"id": "a", "label": "Old", "visible": false}, {"id": "b", "label": "B"}]
//! })).unwrap();
//! let mut session = ApprovalSession::new(graph, None);
//! let proposal = Proposal::from_value(json!({"nodes": [{"id": "a", "label": "New"}]})).unwrap();
//! let review = session.propose(&proposal, Provenance::default()).unwrap();
//! assert_eq!(review.changes[0].old, Some(json!("Old")));
//!
//! let approver = Approver::new("ann@example.com", Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap()).unwrap();
//! let approved = session.approve(&approver, Some("clearer label")).unwrap();
//! assert_eq!(approved.applied.changed_node_ids, ["a"]);
//! assert_eq!(session.graph().nodes().len(), 2);
//! ```

pub mod approval;
pub mod audit;
pub mod canonical;
pub mod change;
pub mod decision;
pub mod delta;
pub mod draft;
pub mod error;
pub mod fields;
pub mod graph;
pub mod graph_diff;
pub mod history;
pub mod lost_answer;
pub mod outbox;
pub mod proposal;
pub mod provenance;
pub mod rebase;
pub mod revert;
pub mod review;
pub mod service;
pub mod session;
pub use kg_text_diff as text_diff;
pub mod timestamp;
pub mod value;
pub mod warning;

/// The JS API (wasm32 only). Public so the wasm-bindgen tests can call it;
/// Rust users want the modules above.
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod bindings;

pub use approval::{Applied, Approver, apply_accepted};
pub use audit::AuditEntry;
pub use change::{Change, ChangeKind, Conflict, Summary, Target};
pub use decision::{DecidedBy, Decision, DecisionMode, DecisionRecord};
pub use delta::GraphDelta;
pub use draft::Draft;
pub use error::{Error, ErrorCode, Result};
pub use graph::{Edge, Graph, Node};
pub use graph_diff::{GraphDiff, diff_graphs};
pub use outbox::PendingSave;
pub use proposal::Proposal;
pub use provenance::{PatchProvenance, ProposalProvenance, Provenance};
pub use review::{Review, ReviewKind, ReviewOptions, review};
pub use service::Service;
pub use session::{ApprovalSession, Approved};
pub use text_diff::{TextDiff, diff_text};
pub use timestamp::Timestamp;
pub use warning::{Warning, WarningCode};
