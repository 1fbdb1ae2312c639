//! The audit entry: the record of one approval decision — who approved what,
//! when, why, and what was proposed but rejected.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::approval::Approver;
use crate::change::{Change, ChangeKind, Target};
use crate::decision::{DecisionMode, DecisionRecord, Decisions};
use crate::error::{ErrorCode, Result};
use crate::fields::Fields;
pub use crate::provenance::Provenance;
use crate::provenance::{PatchProvenance, PatchProvenanceMap};

/// The record of one approval.
///
/// `changes` maps node id → field → `[old, new]` for accepted node changes
/// (`null` where there was no value: every field of an added node has
/// `old = null`); `edgeChanges` does the same for edges and
/// `metadataChanges` maps field → `[old, new]`.
///
/// `decisions` says, per change, what the reviewer decided and how (one
/// change, its node, a bulk action, a dependency or the default), with their
/// comment and, for a correction, the AI's value beside the final one (the
/// `new` of `changes`).
///
/// Provenance (see [`crate::provenance`]) is recorded as told: `source`,
/// `model`, `modelVersion`, `confidence`, `ruleId`, `proposalReason`, `runId`
/// (`null` when not given), and `patchProvenance`: node id → the `confidence`
/// and `ruleId` its patch carried, for the nodes whose changes were decided.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Unique per approval; the history client sends it as `Idempotency-Key`.
    pub approval_id: String,
    pub graph_id: Option<String>,
    /// `metadata.version` of the graph the review was based on.
    pub base_version: Option<Value>,
    pub user: String,
    pub at: String,
    pub source: String,
    pub model: Option<String>,
    pub model_version: Option<String>,
    /// The proposal's own confidence, 0 to 1.
    pub confidence: Option<f64>,
    pub rule_id: Option<String>,
    /// The approver's reason, or else the proposal's.
    pub reason: Option<String>,
    pub proposal_reason: Option<String>,
    pub run_id: Option<String>,
    pub proposal_id: String,
    pub changes: Map<String, Value>,
    pub edge_changes: Map<String, Value>,
    pub metadata_changes: Map<String, Value>,
    /// Top-level fields besides nodes, edges and metadata: field → `[old, new]`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub graph_changes: Map<String, Value>,
    /// Node id → `{confidence, ruleId, rationale}` of its patch, for the
    /// nodes with a decided (accepted or rejected) change whose patch carried any.
    #[serde(skip_serializing_if = "PatchProvenanceMap::is_empty")]
    pub patch_provenance: PatchProvenanceMap,
    /// Edge id → `{rationale}` of the proposed edges with a decided change
    /// that carried one.
    #[serde(skip_serializing_if = "PatchProvenanceMap::is_empty")]
    pub edge_provenance: PatchProvenanceMap,
    /// When the proposal was made (see [`Provenance::proposed_at`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed_at: Option<String>,
    pub nodes_added: Vec<String>,
    pub nodes_removed: Vec<String>,
    pub edges_added: Vec<String>,
    pub edges_removed: Vec<String>,
    /// Change ids accepted and rejected, in review order.
    pub accepted: Vec<String>,
    pub rejected: Vec<String>,
    /// How the session started its changes: `accepted` (a change nobody
    /// touched is accepted by default) or `explicit` (every change decided).
    pub decision_mode: DecisionMode,
    /// Change id → its decision, how it was made, the reviewer's comment and
    /// a correction's AI value (see [`crate::decision`]).
    #[serde(skip_serializing_if = "Decisions::is_empty")]
    pub decisions: Decisions,
}

/// Everything an audit entry is made of besides the changes themselves.
#[derive(Clone, Debug)]
pub struct AuditContext<'a> {
    pub approval_id: String,
    pub graph_id: Option<&'a str>,
    pub base_version: Option<&'a Value>,
    pub approver: &'a Approver,
    pub provenance: &'a Provenance,
    pub reason: Option<&'a str>,
    pub proposal_id: &'a str,
    pub decision_mode: DecisionMode,
}

impl AuditEntry {
    /// An audit entry as written by `Serialize` (a kept pending save, what
    /// `approve` returned), at `path`; unknown fields are ignored.
    pub fn read(value: &Value, path: &str) -> Result<AuditEntry> {
        // The field changes are rebuilt from the graphs when a kept pending
        // save leaves them out (see `crate::outbox`).
        let f = Fields::of(value, path, ErrorCode::InvalidArgument).must_have(&[
            "approvalId",
            "user",
            "at",
            "source",
            "proposalId",
            "nodesAdded",
            "nodesRemoved",
            "edgesAdded",
            "edgesRemoved",
            "accepted",
            "rejected",
        ]);
        let patch_provenance = f.read("patchProvenance", read_provenance_map);
        let edge_provenance = f.read("edgeProvenance", read_provenance_map);
        let entry = AuditEntry {
            approval_id: f.string("approvalId"),
            graph_id: f.opt_string("graphId"),
            base_version: f.opt_value("baseVersion"),
            user: f.string("user"),
            at: f.string("at"),
            source: f.string("source"),
            model: f.opt_string("model"),
            model_version: f.opt_string("modelVersion"),
            confidence: f.opt_f64("confidence"),
            rule_id: f.opt_string("ruleId"),
            reason: f.opt_string("reason"),
            proposal_reason: f.opt_string("proposalReason"),
            run_id: f.opt_string("runId"),
            proposal_id: f.string("proposalId"),
            changes: f.map("changes"),
            edge_changes: f.map("edgeChanges"),
            metadata_changes: f.map("metadataChanges"),
            graph_changes: f.map("graphChanges"),
            patch_provenance: patch_provenance.unwrap_or_default(),
            edge_provenance: edge_provenance.unwrap_or_default(),
            proposed_at: f.opt_string("proposedAt"),
            nodes_added: f.strings("nodesAdded"),
            nodes_removed: f.strings("nodesRemoved"),
            edges_added: f.strings("edgesAdded"),
            edges_removed: f.strings("edgesRemoved"),
            accepted: f.strings("accepted"),
            rejected: f.strings("rejected"),
            // Entries kept before explicit decisions have neither.
            decision_mode: f.opt_choice("decisionMode", &DecisionMode::NAMES).unwrap_or_default(),
            decisions: f.read("decisions", |v, path| Decisions::read(v, path, ErrorCode::InvalidArgument)).unwrap_or_default(),
        };
        f.finish(entry)
    }

    /// Records the decision taken on `changes` (their `accepted` flags).
    pub fn record(context: AuditContext<'_>, changes: &[Change]) -> AuditEntry {
        let mut entry = AuditEntry {
            approval_id: context.approval_id,
            graph_id: context.graph_id.map(str::to_owned),
            base_version: context.base_version.cloned(),
            user: context.approver.user.clone(),
            at: context.approver.at.to_string(),
            source: context.provenance.source.clone(),
            model: context.provenance.model.clone(),
            model_version: context.provenance.model_version.clone(),
            confidence: context.provenance.confidence,
            rule_id: context.provenance.rule_id.clone(),
            reason: context.reason.map(str::to_owned).or_else(|| context.provenance.reason.clone()),
            proposal_reason: context.provenance.reason.clone(),
            run_id: context.provenance.run_id.clone(),
            proposal_id: context.proposal_id.to_owned(),
            changes: Map::new(),
            edge_changes: Map::new(),
            metadata_changes: Map::new(),
            graph_changes: Map::new(),
            patch_provenance: PatchProvenanceMap::new(),
            edge_provenance: PatchProvenanceMap::new(),
            proposed_at: context.provenance.proposed_at.clone(),
            nodes_added: Vec::new(),
            nodes_removed: Vec::new(),
            edges_added: Vec::new(),
            edges_removed: Vec::new(),
            accepted: Vec::new(),
            rejected: Vec::new(),
            decision_mode: context.decision_mode,
            decisions: Decisions::default(),
        };
        for change in changes {
            if let Some(record) = DecisionRecord::of(change) {
                entry.decisions.0.push((change.id.clone(), record));
            }
            let told =
                PatchProvenance { confidence: change.confidence, rule_id: change.rule_id.clone(), rationale: change.rationale.clone() };
            match (change.target, change.entity()) {
                (Target::Node, Some(node_id)) if !told.is_empty() => {
                    entry.patch_provenance.insert(node_id.to_owned(), told);
                }
                (Target::Edge, Some(edge_id)) if !told.is_empty() => {
                    entry.edge_provenance.insert(edge_id.to_owned(), told);
                }
                _ => {}
            }
            if !change.is_accepted() {
                entry.rejected.push(change.id.clone());
                continue;
            }
            entry.accepted.push(change.id.clone());
            entry.record_fields(change);
        }
        entry
    }

    /// The field changes (`changes`, `edgeChanges`, `metadataChanges`,
    /// `graphChanges`) of accepted `changes`, recorded again (a kept pending
    /// save leaves them out; it keeps the lists of what was added and removed).
    pub(crate) fn rebuild_fields(&mut self, changes: &[Change]) {
        for map in [&mut self.changes, &mut self.edge_changes, &mut self.metadata_changes, &mut self.graph_changes] {
            map.clear();
        }
        let kept = [&mut self.nodes_added, &mut self.nodes_removed, &mut self.edges_added, &mut self.edges_removed].map(std::mem::take);
        for change in changes.iter().filter(|c| c.is_accepted()) {
            self.record_fields(change);
        }
        [self.nodes_added, self.nodes_removed, self.edges_added, self.edges_removed] = kept;
    }

    /// Whether the field changes were left out (a kept pending save's entry).
    pub(crate) fn lacks_fields(&self) -> bool {
        let accepted_fields = self.changes.is_empty() && self.edge_changes.is_empty() && self.metadata_changes.is_empty();
        accepted_fields && self.graph_changes.is_empty() && !self.accepted.is_empty()
    }

    fn record_fields(&mut self, change: &Change) {
        let entity = change.entity().unwrap_or_default().to_owned();
        let (fields, added, removed) = match change.target {
            Target::Node => (&mut self.changes, &mut self.nodes_added, &mut self.nodes_removed),
            Target::Edge => (&mut self.edge_changes, &mut self.edges_added, &mut self.edges_removed),
            Target::Metadata => {
                let field = change.field.clone().unwrap_or_default();
                self.metadata_changes.insert(field, pair(change.old.as_ref(), change.new.as_ref()));
                return;
            }
            Target::Graph => {
                let field = change.field.clone().unwrap_or_default();
                self.graph_changes.insert(field, pair(change.old.as_ref(), change.new.as_ref()));
                return;
            }
        };
        let slot = fields.entry(entity.clone()).or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(slot) = slot else { return };
        match change.kind {
            ChangeKind::Changed => {
                slot.insert(change.field.clone().unwrap_or_default(), pair(change.old.as_ref(), change.new.as_ref()));
            }
            ChangeKind::Added => {
                added.push(entity);
                for (field, value) in change.new.as_ref().and_then(Value::as_object).into_iter().flatten() {
                    slot.insert(field.clone(), pair(None, Some(value)));
                }
            }
            ChangeKind::Removed => {
                removed.push(entity);
                for (field, value) in change.old.as_ref().and_then(Value::as_object).into_iter().flatten() {
                    slot.insert(field.clone(), pair(Some(value), None));
                }
            }
        }
    }
}

/// `patchProvenance` / `edgeProvenance`: id → `{confidence?, ruleId?, rationale?}`.
fn read_provenance_map(value: &Value, path: &str) -> Result<PatchProvenanceMap> {
    let map = Fields::of(value, path, ErrorCode::InvalidArgument);
    let entries = map.entries(|v, path| {
        let told = Fields::of(v, path, ErrorCode::InvalidArgument);
        let read = PatchProvenance {
            confidence: told.opt_f64("confidence"),
            rule_id: told.opt_string("ruleId"),
            rationale: told.opt_string("rationale"),
        };
        told.finish(read)
    });
    map.finish(entries.into_iter().collect())
}

fn pair(old: Option<&Value>, new: Option<&Value>) -> Value {
    json!([old.cloned().unwrap_or(Value::Null), new.cloned().unwrap_or(Value::Null)])
}
