//! Warnings: things a reviewer should know that do not stop a review.

use serde::Serialize;

/// What a [`Warning`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    /// A proposal tried to set an audit field (`updatedAt`, `metadata.version`, ...);
    /// those are written only at approval time.
    ReservedFieldIgnored,
    /// A top-level proposal key this library does not know.
    UnknownProposalKey,
    /// `removeNodeIds` names a node the graph does not have.
    NodeNotFound,
    /// `removeEdgeIds` names an edge the graph does not have.
    EdgeNotFound,
    /// `replaceAllNodes` would have removed a hidden node the AI never saw.
    HiddenNodeKept,
    /// A proposed edge ends at a node that will not exist.
    DanglingEdge,
    /// `preserveExistingFulltextImages` put back images the new text dropped.
    ImagesPreserved,
    /// The proposal patches a node without changing anything.
    NoChange,
    /// The service the session saves to names edges `${source}_${target}`:
    /// a proposed edge with another id is reviewed under that one.
    EdgeIdRewritten,
    /// The proposal names another model than the caller of `propose` did:
    /// the caller's is recorded (see `Provenance::with_proposal`).
    ProvenanceOverridden,
    /// A draft's decision on a change was not restored: the change is no
    /// longer proposed, or its values differ from those the reviewer saw.
    DraftDecisionDropped,
}

/// A warning attached to a review.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Warning {
    pub code: WarningCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Warning {
    pub fn new(code: WarningCode, message: impl Into<String>) -> Warning {
        Warning { code, message: message.into(), node_id: None, edge_id: None, field: None }
    }

    pub fn node(mut self, id: &str) -> Warning {
        self.node_id = Some(id.to_owned());
        self
    }

    pub fn edge(mut self, id: &str) -> Warning {
        self.edge_id = Some(id.to_owned());
        self
    }

    pub fn field(mut self, field: &str) -> Warning {
        self.field = Some(field.to_owned());
        self
    }
}
