//! The outbox: approvals not yet acknowledged by the history server.
//!
//! An approved change must never live only in memory (CONTRACT.md bug 8):
//! each approval waits here until `mark_saved`, and the whole outbox
//! serializes to JSON so an app can keep it in `localStorage` across reloads.
//!
//! An entry holds the approval as a delta (what it changed), so keeping it
//! costs the size of the change. The whole approved graph is added only when
//! something needs it: a server that takes whole graphs, or a later approval
//! about to change the session's graph (so the earlier one can still be
//! sent whole).

use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::audit::AuditEntry;
use crate::change::Change;
use crate::delta::GraphDelta;
use crate::error::{Error, ErrorCode, Result};
use crate::fields::{Fields, join};
use crate::graph::Graph;
use crate::value::type_name;

/// One approval waiting to be saved: what `approve` returned, plus the
/// accepted changes (so a save refused as stale can be rebased).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingSave {
    /// The approved graph as JSON text, once something needed it (`None`:
    /// the session's graph is still this approval's). It is embedded as JSON
    /// (not as a string) when the outbox is serialized.
    #[serde(serialize_with = "raw_json", skip_serializing_if = "Option::is_none")]
    pub graph: Option<String>,
    /// What the approval changed. Absent in entries kept by versions before
    /// deltas, which always carry the graph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<GraphDelta>,
    pub audit: AuditEntry,
    pub changed_node_ids: Vec<String>,
    pub removed_node_ids: Vec<String>,
    pub changes: Vec<Change>,
}

impl PendingSave {
    /// Pending saves as `Session::pending_saves` wrote them (an array), at `path`.
    pub fn read_all(value: &Value, path: &str) -> Result<Vec<PendingSave>> {
        let Value::Array(items) = value else {
            return Err(Error::at(ErrorCode::InvalidArgument, path, format!("must be an array, got {}", type_name(value))));
        };
        items.iter().enumerate().map(|(i, item)| PendingSave::read(item, &format!("{path}[{i}]"))).collect()
    }

    /// One pending save at `path`. Its graph, embedded as JSON, is kept as
    /// the JSON text of it.
    pub fn read(value: &Value, path: &str) -> Result<PendingSave> {
        let f = Fields::of(value, path, ErrorCode::InvalidArgument).must_have(&["audit", "changedNodeIds", "removedNodeIds", "changes"]);
        let audit = f.take(AuditEntry::read(f.get("audit").unwrap_or(&Value::Null), &f.path_of("audit")));
        let save = audit.map(|audit| PendingSave {
            // Straight to text: a copy of the graph as a Value first would cost its size twice.
            graph: f.get("graph").filter(|g| !g.is_null()).map(Value::to_string),
            delta: f.read("delta", GraphDelta::read),
            audit,
            changed_node_ids: f.strings("changedNodeIds"),
            removed_node_ids: f.strings("removedNodeIds"),
            changes: f.list("changes", Change::read),
        });
        // Without an audit entry a mistake was noted, so this is never `None`.
        f.finish(save)?.ok_or_else(|| Error::at(ErrorCode::InvalidArgument, join(path, "audit"), "is missing"))
    }

    pub fn approval_id(&self) -> &str {
        &self.audit.approval_id
    }

    /// The approved graph, parsed, if the entry holds it.
    pub fn parse_graph(&self) -> Option<Result<Graph>> {
        self.graph.as_deref().map(Graph::from_json)
    }
}

/// JSON text kept as text, serialized as the JSON it holds.
fn raw_json<S: Serializer>(text: &Option<String>, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    match text {
        Some(text) => {
            let raw: &RawValue = serde_json::from_str(text).map_err(serde::ser::Error::custom)?;
            raw.serialize(serializer)
        }
        None => serializer.serialize_none(),
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

    pub fn find(&self, approval_id: &str) -> Option<&PendingSave> {
        self.0.iter().find(|e| e.approval_id() == approval_id)
    }

    pub fn last_mut(&mut self) -> Option<&mut PendingSave> {
        self.0.last_mut()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn push(&mut self, save: PendingSave) {
        self.0.push(save);
    }

    /// Checks restored entries: each holds its graph or its delta, and a
    /// graph it holds is a graph. Returns those not queued already.
    pub fn new_entries(&self, entries: Vec<PendingSave>) -> Result<Vec<PendingSave>> {
        for (i, entry) in entries.iter().enumerate() {
            match entry.parse_graph() {
                Some(Err(e)) => return Err(Error::at(ErrorCode::InvalidArgument, format!("pendingSaves[{i}].graph"), e.to_string())),
                None if entry.delta.is_none() => {
                    return Err(Error::at(
                        ErrorCode::InvalidArgument,
                        format!("pendingSaves[{i}]"),
                        "holds neither its graph nor its delta",
                    ));
                }
                _ => {}
            }
        }
        Ok(entries.into_iter().filter(|entry| self.find(entry.approval_id()).is_none()).collect())
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
