//! The outbox: approvals not yet acknowledged by the history server.
//!
//! An approved change must never live only in memory (CONTRACT.md bug 8):
//! each approval waits here until `mark_saved`, and the whole outbox
//! serializes to JSON so an app can keep it in `localStorage` across reloads.

use serde::{Deserialize, Serialize};

use crate::audit::AuditEntry;
use crate::change::Change;
use crate::error::{Error, ErrorCode, Result};
use crate::graph::Graph;

/// One approval waiting to be saved: what `approve` returned, plus the
/// accepted changes (so a save refused as stale can be rebased).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingSave {
    /// The approved graph as JSON text, serialized once at approval; it is
    /// embedded as JSON (not as a string) when the outbox is serialized.
    #[serde(with = "raw_json")]
    pub graph: String,
    pub audit: AuditEntry,
    pub changed_node_ids: Vec<String>,
    pub removed_node_ids: Vec<String>,
    pub changes: Vec<Change>,
}

impl PendingSave {
    pub fn approval_id(&self) -> &str {
        &self.audit.approval_id
    }

    /// The approved graph, parsed.
    pub fn parse_graph(&self) -> Result<Graph> {
        Graph::from_json(&self.graph)
    }
}

/// JSON text kept as text, (de)serialized as the JSON it holds.
mod raw_json {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::value::RawValue;

    pub fn serialize<S: Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(text).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(|raw| raw.get().to_owned())
    }
}

/// Pending saves, oldest first. Each was approved on top of the one before,
/// so they must be saved in order.
#[derive(Clone, Debug, Default)]
pub struct Outbox(Vec<PendingSave>);

impl Outbox {
    pub fn entries(&self) -> &[PendingSave] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn push(&mut self, save: PendingSave) {
        self.0.push(save);
    }

    /// Adds restored entries, skipping approvals already queued.
    pub fn restore(&mut self, entries: Vec<PendingSave>) -> Result<()> {
        for (i, entry) in entries.iter().enumerate() {
            entry.parse_graph().map_err(|e| Error::at(ErrorCode::InvalidArgument, format!("pendingSaves[{i}].graph"), e.to_string()))?;
        }
        for entry in entries {
            if !self.0.iter().any(|e| e.approval_id() == entry.approval_id()) {
                self.0.push(entry);
            }
        }
        Ok(())
    }

    /// Acknowledges the oldest pending save as `version`; the next one is now
    /// based on that version.
    pub fn mark_saved(&mut self, approval_id: &str, version: &serde_json::Value) -> Result<PendingSave> {
        match self.0.iter().position(|e| e.approval_id() == approval_id) {
            Some(0) => {
                let saved = self.0.remove(0);
                if let Some(next) = self.0.first_mut() {
                    next.audit.base_version = Some(version.clone());
                }
                Ok(saved)
            }
            Some(_) => Err(Error::new(
                ErrorCode::InvalidArgument,
                format!(
                    "approval '{approval_id}' must wait: pending approvals are saved in order, oldest first ('{}')",
                    self.0[0].approval_id()
                ),
            )),
            None => Err(Error::new(ErrorCode::UnknownApproval, format!("no pending save has approval id '{approval_id}'"))),
        }
    }

    /// Drops a pending save (one a rebased approval replaced).
    pub fn remove(&mut self, approval_id: &str) {
        self.0.retain(|e| e.approval_id() != approval_id);
    }
}
