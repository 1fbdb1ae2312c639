//! What to send to save a pending approval: its delta (the changes, for a
//! server that takes them) or its whole graph (for any other).

use serde_json::json;

use super::ApprovalSession;
use crate::error::{Error, ErrorCode, Result};
use crate::graph::Graph;
use crate::history::{SaveRequest, delta_body, patch_node_body, save_body_text, sent_version};
use crate::outbox::PendingSave;

impl ApprovalSession {
    fn entry(&self, approval_id: &str) -> Result<&PendingSave> {
        self.outbox
            .find(approval_id)
            .ok_or_else(|| Error::new(ErrorCode::UnknownApproval, format!("no pending save has approval id '{approval_id}'")))
    }

    /// The `POST /patchGraph` body of a pending approval, with `expected_hash`
    /// (the hash the server gave its base version) if known; `None` if it
    /// cannot go as a delta (it was based on no saved version, or kept by an
    /// older version without one).
    ///
    /// ```
    /// use kg_approval::{ApprovalSession, Approver, Graph, Proposal, Provenance, Timestamp};
    /// use serde_json::json;
    /// let graph = Graph::from_value(json!({"metadata": {"version": 2}, "nodes": [{"id": "a", "info": "long"}]})).unwrap();
    /// let mut session = ApprovalSession::new(graph, Some("g1".into()));
    /// session.propose(&Proposal::from_value(json!({"nodes": [{"id": "a", "label": "A"}]})).unwrap(), Provenance::default()).unwrap();
    /// let approved = session.approve(&Approver::new("ann", Timestamp::now()).unwrap(), None).unwrap();
    /// let request = session.delta_save_request(&approved.audit.approval_id, None).unwrap().unwrap();
    /// assert!(request.body.contains(r#""expectedVersion":2"#) && !request.body.contains("long"));
    /// ```
    pub fn delta_save_request(&self, approval_id: &str, expected_hash: Option<&str>) -> Result<Option<SaveRequest>> {
        let entry = self.entry(approval_id)?;
        let Some(delta) = &entry.delta else { return Ok(None) };
        delta_body(&json!({ "delta": delta, "audit": entry.audit }), expected_hash)
    }

    /// The real service's `POST /patchNode` body of a pending approval, if
    /// it changed one existing node and nothing else (see
    /// [`crate::history::patch_node_body`]).
    pub fn patch_node_request(&self, approval_id: &str) -> Result<Option<SaveRequest>> {
        let entry = self.entry(approval_id)?;
        let Some(delta) = &entry.delta else { return Ok(None) };
        patch_node_body(&json!({ "delta": delta, "audit": entry.audit }))
    }

    /// The `POST /saveGraphWithHistory` body of a pending approval: its
    /// whole graph, `metadata.version` set to the version it was based on
    /// (`0` if it had none: see [`sent_version`]).
    pub fn full_save_request(&self, approval_id: &str) -> Result<SaveRequest> {
        let entry = self.entry(approval_id)?;
        let base = sent_version(entry.audit.base_version.as_ref());
        let graph_json = match (&entry.graph, self.graph_of.iter().any(|id| id == approval_id)) {
            (Some(text), _) => Graph::from_json(text)?.to_json_with_version(Some(&base)),
            (None, true) => self.graph.to_json_with_version(Some(&base)),
            (None, false) => return Err(super::graph_unavailable(approval_id)),
        };
        save_body_text(&graph_json, &entry.audit)
    }
}
