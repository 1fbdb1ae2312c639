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
//!
//! Kept as JSON, an entry holds each value once: the delta (the new values),
//! the audit entry without its per-field `[old, new]` maps, and no list of
//! changes. Those are rebuilt when the entry is restored, from the version it
//! was approved on and its delta (see [`PendingSave::rebuild`]), so a kept
//! entry costs about its delta, not five times it.

use std::collections::HashMap;

use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::audit::AuditEntry;
use crate::change::{Change, ChangeKind, Target, link_requirements};
use crate::decision::{DecidedBy, Decision};
use crate::delta::GraphDelta;
use crate::error::{Error, ErrorCode, Result};
use crate::fields::{Fields, join};
use crate::graph::Graph;
use crate::graph_diff::diff_graphs;
use crate::proposal::RESERVED_ITEM_FIELDS;
use crate::value::type_name;

/// One approval waiting to be saved: what `approve` returned, plus the
/// accepted changes (so a save refused as stale can be rebased).
#[derive(Clone, Debug)]
pub struct PendingSave {
    /// The approved graph as JSON text, once something needed it (`None`:
    /// the session's graph is still this approval's). It is embedded as JSON
    /// (not as a string) when the outbox is serialized.
    pub graph: Option<String>,
    /// What the approval changed. Absent in entries kept by versions before
    /// deltas, which always carry the graph.
    pub delta: Option<GraphDelta>,
    pub audit: AuditEntry,
    pub changed_node_ids: Vec<String>,
    pub removed_node_ids: Vec<String>,
    /// Not part of the JSON (rebuilt on restore).
    pub changes: Vec<Change>,
}

/// An entry as kept: each value once (see the [module docs](self)).
impl Serialize for PendingSave {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeMap};
        let mut audit = serde_json::to_value(&self.audit).map_err(S::Error::custom)?;
        if let Value::Object(fields) = &mut audit {
            for rebuilt in ["changes", "edgeChanges", "metadataChanges", "graphChanges"] {
                fields.shift_remove(rebuilt);
            }
        }
        let mut map = serializer.serialize_map(None)?;
        if let Some(text) = &self.graph {
            let raw: &RawValue = serde_json::from_str(text).map_err(S::Error::custom)?;
            map.serialize_entry("graph", raw)?;
        }
        if let Some(delta) = &self.delta {
            map.serialize_entry("delta", delta)?;
        }
        map.serialize_entry("audit", &audit)?;
        map.serialize_entry("changedNodeIds", &self.changed_node_ids)?;
        map.serialize_entry("removedNodeIds", &self.removed_node_ids)?;
        map.end()
    }
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
        let f = Fields::of(value, path, ErrorCode::InvalidArgument).must_have(&["audit", "changedNodeIds", "removedNodeIds"]);
        let audit = f.take(AuditEntry::read(f.get("audit").unwrap_or(&Value::Null), &f.path_of("audit")));
        let save = audit.map(|audit| PendingSave {
            // Straight to text: a copy of the graph as a Value first would cost its size twice.
            graph: f.get("graph").filter(|g| !g.is_null()).map(Value::to_string),
            delta: f.read("delta", GraphDelta::read),
            audit,
            changed_node_ids: f.strings("changedNodeIds"),
            removed_node_ids: f.strings("removedNodeIds"),
            // Kept by versions that wrote it; rebuilt otherwise.
            changes: f.list("changes", Change::read),
        });
        // Without an audit entry a mistake was noted, so this is never `None`.
        f.finish(save)?.ok_or_else(|| Error::at(ErrorCode::InvalidArgument, join(path, "audit"), "is missing"))
    }

    pub fn approval_id(&self) -> &str {
        &self.audit.approval_id
    }

    /// Whether the entry was kept without its changes (they are rebuilt when
    /// it is restored).
    pub fn needs_rebuild(&self) -> bool {
        self.changes.is_empty() && !self.audit.accepted.is_empty()
    }

    /// Rebuilds what a kept entry leaves out — its accepted changes and the
    /// audit's field changes — from the graph it was approved on (`before`)
    /// and the approved graph (`after`): the changes are the differences
    /// between them that the audit lists as accepted, with the decisions it
    /// records (corrections, comments, how each was decided).
    pub fn rebuild(&mut self, before: &Graph, after: &Graph) {
        // In review order: the audit lists the accepted ids so.
        let order: HashMap<&str, usize> = self.audit.accepted.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
        let mut changes: Vec<Change> =
            diff_graphs(before, after, None).changes.into_iter().filter(|c| order.contains_key(c.id.as_str())).collect();
        changes.sort_by_key(|c| order[c.id.as_str()]);
        for change in &mut changes {
            if change.kind == ChangeKind::Added {
                // The stamps were written by the approval, not proposed.
                if let Some(Value::Object(fields)) = &mut change.new {
                    for stamp in RESERVED_ITEM_FIELDS {
                        fields.shift_remove(stamp);
                    }
                }
            }
            let told = match (change.target, change.entity()) {
                (Target::Node, Some(id)) => self.audit.patch_provenance.get(id),
                (Target::Edge, Some(id)) => self.audit.edge_provenance.get(id),
                _ => None,
            };
            if let Some(told) = told {
                change.confidence = told.confidence;
                change.rule_id = told.rule_id.clone();
                change.rationale = told.rationale.clone();
            }
            change.decided_by = Some(DecidedBy::Default);
            if let Some(record) = self.audit.decisions.get(&change.id) {
                change.decided_by = Some(record.decided_by);
                change.bulk_filter = record.filter.clone();
                change.comment = record.comment.clone();
                if record.decision == Decision::Corrected {
                    change.corrected = true;
                    change.proposed = record.proposed.clone();
                }
            }
        }
        link_requirements(&mut changes);
        if self.audit.lacks_fields() {
            self.audit.rebuild_fields(&changes);
        }
        self.changes = changes;
    }

    /// The approved graph, parsed, if the entry holds it.
    pub fn parse_graph(&self) -> Option<Result<Graph>> {
        self.graph.as_deref().map(Graph::from_json)
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
