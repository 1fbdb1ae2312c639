//! A save whose answer was lost: recognising it in what the service stored.
//!
//! A save can land while its answer is lost (a timeout, a dropped
//! connection). The retry then finds the graph one version further and gets a
//! 409. Our history server answers such a retry from the approval id; the
//! real service keeps no idempotency, so the client reads the version after
//! the one the approval was based on and asks whether it is that approval's
//! own: stamped by the approver at the approval's instant (to the
//! millisecond), on the metadata and on every node it touched, with the
//! nodes it removed gone. A version someone else saved carries their stamps.
//!
//! ```
//! use kg_approval::AuditEntry;
//! use kg_approval::lost_answer::is_own_version;
//! use serde_json::json;
//! let audit = AuditEntry::read(&json!({
//!     "approvalId": "a1", "user": "ann", "at": "2026-02-04T14:30:45.123Z", "source": "ai", "proposalId": "p",
//!     "changes": {"n1": {"label": ["A", "B"]}}, "edgeChanges": {}, "metadataChanges": {},
//!     "nodesAdded": [], "nodesRemoved": [], "edgesAdded": [], "edgesRemoved": [], "accepted": [], "rejected": []
//! }), "audit").unwrap();
//! let ours = json!({"metadata": {"updated": "2026-02-04T14:30:45.123Z", "updatedBy": "ann"},
//!     "nodes": [{"id": "n1", "label": "B", "updatedAt": "2026-02-04T14:30:45.123Z", "updatedBy": "ann"}]});
//! assert!(is_own_version(&audit, &ours));
//! let theirs = json!({"metadata": {"updated": "2026-02-04T14:30:46.000Z", "updatedBy": "bob"}, "nodes": []});
//! assert!(!is_own_version(&audit, &theirs));
//! ```

use serde_json::Value;

use crate::audit::AuditEntry;

/// Whether `stored` (a graph the service holds) is the version the approval
/// recorded by `audit` wrote.
pub fn is_own_version(audit: &AuditEntry, stored: &Value) -> bool {
    is_own(audit, stored, true)
}

/// The same for a save through the real service's `/patchNode`, which
/// writes the node's stamps but not the metadata's.
pub fn is_own_node_patch(audit: &AuditEntry, stored: &Value) -> bool {
    is_own(audit, stored, false)
}

fn is_own(audit: &AuditEntry, stored: &Value, metadata_stamped: bool) -> bool {
    let stamped = |fields: Option<&Value>, at: &str, by: &str| {
        fields.is_some_and(|f| {
            f.get(at).and_then(Value::as_str) == Some(audit.at.as_str()) && f.get(by).and_then(Value::as_str) == Some(audit.user.as_str())
        })
    };
    if metadata_stamped && !stamped(stored.get("metadata"), "updated", "updatedBy") {
        return false;
    }
    let nodes: Vec<&Value> = stored.get("nodes").and_then(Value::as_array).map(|n| n.iter().collect()).unwrap_or_default();
    let node = |id: &str| nodes.iter().copied().find(|n| n.get("id").and_then(Value::as_str) == Some(id));
    audit.changes.keys().all(|id| stamped(node(id), "updatedAt", "updatedBy")) && audit.nodes_removed.iter().all(|id| node(id).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn audit() -> AuditEntry {
        AuditEntry::read(
            &json!({
            "approvalId": "a1", "user": "ann", "at": "2026-02-04T14:30:45.123Z", "source": "ai", "proposalId": "p",
            "changes": {"n1": {"label": ["A", "B"]}, "n2": {"id": [null, "n2"]}}, "edgeChanges": {}, "metadataChanges": {},
            "nodesAdded": ["n2"], "nodesRemoved": ["gone"], "edgesAdded": [], "edgesRemoved": [], "accepted": [], "rejected": []
            }),
            "audit",
        )
        .unwrap()
    }

    fn stored(n2_by: &str, gone: bool) -> Value {
        let stamp = |by: &str| json!({"updatedAt": "2026-02-04T14:30:45.123Z", "updatedBy": by});
        let mut nodes = vec![json!({"id": "n1"}), json!({"id": "n2"})];
        for (node, by) in nodes.iter_mut().zip(["ann", n2_by]) {
            node.as_object_mut().unwrap().extend(stamp(by).as_object().unwrap().clone());
        }
        if gone {
            nodes.push(json!({"id": "gone"}));
        }
        json!({"metadata": {"updatedBy": "ann", "updated": "2026-02-04T14:30:45.123Z"}, "nodes": nodes})
    }

    #[test]
    fn every_touched_node_must_carry_the_approvals_stamps_and_removed_nodes_must_be_gone() {
        assert!(is_own_version(&audit(), &stored("ann", false)));
        assert!(!is_own_version(&audit(), &stored("bob", false)), "a node stamped by someone else");
        assert!(!is_own_version(&audit(), &stored("ann", true)), "a node the approval removed is still there");
        assert!(!is_own_version(&audit(), &json!({"nodes": []})), "no metadata stamps");
        let mut node_patch = stored("ann", false);
        node_patch["metadata"] = json!({});
        assert!(!is_own_version(&audit(), &node_patch) && is_own_node_patch(&audit(), &node_patch));
        assert!(!is_own_node_patch(&audit(), &stored("bob", false)));
    }
}
