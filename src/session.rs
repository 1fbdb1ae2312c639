//! An approval session: a graph kept resident, one pending review at a time,
//! the reviewer's decisions, and approval.
//!
//! Keeping the graph in the session means a proposal costs time in its own
//! size: the graph is parsed once, indexed by node id, and never copied per
//! proposal.
//!
//! ```
//! use kg_approval::{ApprovalSession, Approver, Graph, Proposal, Provenance, Timestamp};
//! use serde_json::json;
//! let graph = Graph::from_value(json!({"nodes": [{"id": "a", "label": "A", "info": "x"}]})).unwrap();
//! let mut session = ApprovalSession::new(graph, Some("g1".into()));
//! let proposal = Proposal::from_value(json!({"nodes": [{"id": "a", "label": "B", "info": "y"}]})).unwrap();
//! session.propose(&proposal, Provenance::default()).unwrap();
//! session.reject("node/a/info").unwrap();
//! let who = Approver::new("ann", Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap()).unwrap();
//! let approved = session.approve(&who, Some("rename only")).unwrap();
//! assert_eq!(approved.audit.rejected, ["node/a/info"]);
//! assert_eq!(session.graph().node("a").unwrap().fields()["label"], "B");
//! assert_eq!(session.graph().node("a").unwrap().fields()["info"], "x");
//! ```

use std::collections::HashMap;

use serde_json::Value;

use crate::approval::{Applied, Approver, apply_accepted, check_accepted};
use crate::audit::{AuditContext, AuditEntry, Provenance};
use crate::canonical::canonical_sha256;
use crate::change::{Change, Summary, Target};
use crate::decision::{DecidedBy, DecisionMode, Decisions};
use crate::error::{Error, ErrorCode, Result};
use crate::graph::Graph;
use crate::outbox::{Outbox, PendingSave};
use crate::proposal::Proposal;
use crate::rebase::rebase_changes_with;
use crate::revert::revert_changes;
use crate::review::{Carried, Review, ReviewKind, ReviewOptions, review};
use crate::service::Service;

/// The outcome of [`ApprovalSession::approve`]; the new graph is
/// [`ApprovalSession::graph`].
#[derive(Clone, Debug, PartialEq)]
pub struct Approved {
    pub audit: AuditEntry,
    pub applied: Applied,
    /// Whether the approval was queued in the outbox (it is unless nothing
    /// was accepted: an unchanged graph needs no new version).
    pub queued: bool,
}

/// See the [module docs](self).
#[derive(Debug)]
pub struct ApprovalSession {
    graph: Graph,
    graph_id: Option<String>,
    base_version: Option<Value>,
    options: ReviewOptions,
    /// Whether changes start accepted or undecided.
    decision_mode: DecisionMode,
    /// Where approvals are saved, and what that service does to a graph.
    service: Service,
    pending: Option<Pending>,
    outbox: Outbox,
    /// The approvals whose approved graph `graph` is (until the graph
    /// changes again): their outbox entries need not hold a copy.
    graph_of: Vec<String>,
}

#[derive(Debug)]
struct Pending {
    /// The review, with the provenance its approval records.
    review: Review,
    /// A rebased review replaces this pending save once approved (not before:
    /// discarding the rebase must not lose the original approval).
    supersedes: Option<String>,
    position: HashMap<String, usize>,
    /// Change id → positions of the changes that require it.
    required_by: HashMap<String, Vec<usize>>,
    /// What the review is of; a proposal review keeps the proposal as given
    /// (its id is computed from it when first needed, see
    /// [`ApprovalSession::propose_unhashed`]; a draft carries it).
    kind: ReviewKind,
    proposal: Option<Value>,
}

impl ApprovalSession {
    /// A session on `graph`. The graph id defaults to the graph's top-level
    /// `id`; the base version is its `metadata.version`.
    pub fn new(graph: Graph, graph_id: Option<String>) -> ApprovalSession {
        let graph_id = graph_id.or_else(|| graph.root_field("id").and_then(Value::as_str).map(str::to_owned));
        let base_version = graph.version().cloned();
        ApprovalSession {
            graph,
            graph_id,
            base_version,
            options: ReviewOptions::default(),
            decision_mode: DecisionMode::default(),
            service: Service::default(),
            pending: None,
            outbox: Outbox::default(),
            graph_of: Vec::new(),
        }
    }

    pub fn set_review_options(&mut self, options: ReviewOptions) {
        self.options = options;
    }

    pub fn review_options(&self) -> &ReviewOptions {
        &self.options
    }

    /// Whether the changes of the next review start accepted (the default)
    /// or undecided ([`DecisionMode::Explicit`]).
    pub fn set_decision_mode(&mut self, mode: DecisionMode) {
        self.decision_mode = mode;
    }

    pub fn decision_mode(&self) -> DecisionMode {
        self.decision_mode
    }

    /// Tells the session which service its approvals are saved to (see
    /// [`Service`]); the default keeps graphs exactly as sent.
    pub fn set_service(&mut self, service: Service) {
        self.service = service;
    }

    pub fn service(&self) -> Service {
        self.service
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn graph_id(&self) -> Option<&str> {
        self.graph_id.as_deref()
    }

    /// The version the next approval is based on.
    pub fn base_version(&self) -> Option<&Value> {
        self.base_version.as_ref()
    }

    /// Reviews a proposal against the session's graph. It replaces any
    /// pending review; every change starts accepted, or undecided in
    /// [`DecisionMode::Explicit`]. `provenance` is what the caller tells;
    /// what the proposal says of itself completes it (the caller's `model`
    /// wins: see [`Provenance::with_proposal`]).
    pub fn propose(&mut self, proposal: &Proposal, provenance: Provenance) -> Result<&Review> {
        self.propose_from(proposal, proposal.source.clone(), provenance)
    }

    /// [`ApprovalSession::propose`] for a proposal read with
    /// [`Proposal::from_value_unhashed`]: the review's `proposal_id` stays
    /// empty until [`ApprovalSession::proposal_id`] or approval computes it.
    pub fn propose_unhashed(&mut self, mut proposal: Proposal, provenance: Provenance) -> Result<&Review> {
        let source = proposal.source.take();
        self.propose_from(&proposal, source, provenance)
    }

    fn propose_from(&mut self, proposal: &Proposal, source: Option<Value>, provenance: Provenance) -> Result<&Review> {
        // When it was proposed: the caller's word, else now (the WASM
        // bindings tell it from the JS clock; there is none here).
        #[cfg(not(target_arch = "wasm32"))]
        let provenance = Provenance {
            proposed_at: provenance.proposed_at.or_else(|| Some(crate::timestamp::Timestamp::now().to_string())),
            ..provenance
        };
        let mut review = if self.service == Service::Faithful {
            review(&self.graph, proposal, &self.options)?
        } else {
            let mut proposal = proposal.clone();
            self.service.prepare_proposal(&mut proposal)?;
            review(&self.graph, &proposal, &self.options)?
        };
        let (provenance, overridden) = provenance.with_proposal(&proposal.provenance);
        review.warnings.extend(overridden);
        self.set_pending(review, provenance, None, ReviewKind::Proposal);
        let pending = self.pending.as_mut().expect("set_pending set a pending review");
        pending.proposal = source;
        Ok(&pending.review)
    }

    /// The pending review, and the proposal it was made from while its id is
    /// not computed yet (for the bindings, which hand the review to JS).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn pending_review_mut(&mut self) -> Option<(&mut Review, Option<&Value>)> {
        self.pending.as_mut().map(|p| {
            let unhashed = p.review.proposal_id.is_empty();
            (&mut p.review, p.proposal.as_ref().filter(|_| unhashed))
        })
    }

    /// The pending review's proposal id, computed now if it was deferred.
    pub fn proposal_id(&mut self) -> Option<&str> {
        let pending = self.pending.as_mut()?;
        if let (true, Some(source)) = (pending.review.proposal_id.is_empty(), &pending.proposal) {
            pending.review.proposal_id = Proposal::id_of(source);
        }
        Some(&pending.review.proposal_id)
    }

    /// Reviews restoring `target` (an old version): the changes that turn the
    /// current graph back into it, audit fields aside. Approving it records
    /// `source: "revert"`. Both graphs are compared in the service's read
    /// shape, and metadata the service writes itself is left as it is.
    pub fn revert_to(&mut self, target: &Graph) -> Result<&Review> {
        let service = self.service;
        let changes = if service == Service::Faithful {
            revert_changes(&self.graph, target, self.options.text_diffs())
        } else {
            let (current, target) = (service.read_shape(&self.graph), service.read_shape(target));
            let mut changes = revert_changes(&current, &target, self.options.text_diffs());
            changes.retain(|c| !service.writes(c));
            changes
        };
        let proposal_id = canonical_sha256(&target.to_value())[..16].to_owned();
        let provenance = Provenance { source: "revert".to_owned(), ..Provenance::default() };
        let review = Review {
            proposal_id,
            provenance: provenance.clone(),
            summary: Summary::of(&changes),
            changes,
            warnings: Vec::new(),
            carried: None,
        };
        Ok(self.set_pending(review, provenance, None, ReviewKind::Revert))
    }

    /// After a save was refused as stale (409): re-applies the oldest pending
    /// approval's accepted changes on `latest`, the graph another editor
    /// saved as `latest_version` (default: its `metadata.version`). Changes
    /// both made differently come back as conflicts to decide; the original
    /// approval stays in the outbox until the rebased review is approved.
    pub fn rebase(&mut self, latest: Graph, latest_version: Option<Value>) -> Result<&Review> {
        let [stale] = self.outbox.entries() else {
            let message = match self.outbox.entries().len() {
                0 => "there is no pending save to rebase".to_owned(),
                n => format!("{n} approvals are pending: rebase works on one; save or restore them one at a time"),
            };
            return Err(Error::new(ErrorCode::InvalidArgument, message));
        };
        let accepted: Vec<Change> = stale.changes.clone();
        let audit = stale.audit.clone();
        // Ours is the approved graph: the session's own, or the entry's copy.
        let ours = match stale.parse_graph() {
            Some(graph) => graph?,
            None => {
                let ours = std::mem::replace(&mut self.graph, latest.clone());
                // The approval stays pending until the rebased review is
                // approved; if that is discarded, it is still sent whole.
                if let Some(entry) = self.outbox.last_mut() {
                    entry.graph = Some(ours.to_json());
                }
                ours
            }
        };
        let mut changes = rebase_changes_with(&latest, &ours, &accepted, self.options.text_diffs());
        // The rebased changes are the same proposal's: they keep its
        // provenance, and the decisions, corrections and comments made on
        // them (a conflict is decided again).
        let before: HashMap<&str, &Change> = accepted.iter().map(|c| (c.id.as_str(), c)).collect();
        for change in changes.iter_mut() {
            let told = match (change.target, change.entity()) {
                (Target::Node, Some(id)) => audit.patch_provenance.get(id),
                (Target::Edge, Some(id)) => audit.edge_provenance.get(id),
                _ => None,
            };
            if let Some(told) = told {
                change.confidence = told.confidence;
                change.rule_id = told.rule_id.clone();
                change.rationale = told.rationale.clone();
            }
            if let Some(before) = before.get(change.id.as_str()) {
                change.comment = before.comment.clone();
                if change.conflict.is_none() && change.decided_by.is_none() {
                    // Kept before decisions were recorded: accepted by default.
                    change.decided_by = before.decided_by.or(Some(DecidedBy::Default));
                    change.bulk_filter = before.bulk_filter.clone();
                    change.corrected = before.corrected;
                    change.proposed = before.proposed.clone();
                }
            }
        }
        let provenance = Provenance {
            source: audit.source.clone(),
            model: audit.model.clone(),
            model_version: audit.model_version.clone(),
            confidence: audit.confidence,
            rule_id: audit.rule_id.clone(),
            reason: audit.proposal_reason.clone(),
            run_id: audit.run_id.clone(),
            proposed_at: audit.proposed_at.clone(),
        };
        let review = Review {
            proposal_id: audit.proposal_id.clone(),
            provenance: provenance.clone(),
            summary: Summary::of(&changes),
            changes,
            warnings: Vec::new(),
            // The reviewer's reason and rejections survive the conflict.
            carried: Some(Carried {
                reason: audit.reason.clone().filter(|r| Some(r) != audit.proposal_reason.as_ref()),
                decisions: Decisions(audit.decisions.0.iter().filter(|(id, _)| audit.rejected.contains(id)).cloned().collect()),
                rejected: audit.rejected.clone(),
            }),
        };
        let supersedes = Some(audit.approval_id.clone());
        self.base_version = latest_version.or_else(|| latest.version().cloned());
        self.graph = latest;
        self.graph_of.clear();
        Ok(self.set_pending(review, provenance, supersedes, ReviewKind::Rebase))
    }

    fn set_pending(&mut self, mut review: Review, provenance: Provenance, supersedes: Option<String>, kind: ReviewKind) -> &Review {
        review.provenance = provenance;
        // A change not decided yet (nor a conflict, which starts unresolved)
        // starts as the session's mode says.
        for change in review.changes.iter_mut().filter(|c| c.conflict.is_none() && c.decided_by.is_none()) {
            match self.decision_mode {
                DecisionMode::Accepted => {
                    change.accepted = Some(true);
                    change.decided_by = Some(DecidedBy::Default);
                }
                DecisionMode::Explicit => change.accepted = None,
            }
        }
        let position = review.changes.iter().enumerate().map(|(i, c)| (c.id.clone(), i)).collect();
        let mut required_by: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, change) in review.changes.iter().enumerate() {
            for required in &change.requires {
                required_by.entry(required.clone()).or_default().push(i);
            }
        }
        let pending = self.pending.insert(Pending { review, supersedes, position, required_by, kind, proposal: None });
        &pending.review
    }

    /// Approvals not yet acknowledged by the history server, oldest first.
    pub fn pending_saves(&self) -> &[PendingSave] {
        self.outbox.entries()
    }

    /// Puts back pending saves kept across a reload. An entry that holds its
    /// graph makes it the session's graph; one that holds only its delta is
    /// applied to the session's graph — so the first such entry must be
    /// restored on the version it was approved on (load that version, e.g.
    /// with `client.version(graphId, baseVersion)`). Entries restored before
    /// a refused one stay restored; nothing is ever dropped.
    pub fn restore_pending_saves(&mut self, entries: Vec<PendingSave>) -> Result<()> {
        if self.pending.is_some() {
            return Err(Error::new(ErrorCode::InvalidArgument, "restore pending saves before proposing: a review is pending"));
        }
        let entries = self.outbox.new_entries(entries)?;
        for (i, mut entry) in entries.into_iter().enumerate() {
            // A kept entry's changes are rebuilt from the graph before and after it.
            let before = entry.needs_rebuild().then(|| self.graph.clone());
            match (entry.parse_graph(), &entry.delta) {
                (Some(graph), _) => {
                    let graph = graph?;
                    self.keep_newest_graph();
                    self.graph = graph;
                }
                (None, Some(delta)) => {
                    if self.graph_of.is_empty() && self.graph.version() != entry.audit.base_version.as_ref() {
                        return Err(Error::at(
                            ErrorCode::InvalidArgument,
                            format!("pendingSaves[{i}]"),
                            format!(
                                "approval '{}' was approved on version {}, but the session holds version {}: create the session on version {} to restore it",
                                entry.approval_id(),
                                json_text(entry.audit.base_version.as_ref()),
                                json_text(self.graph.version()),
                                json_text(entry.audit.base_version.as_ref()),
                            ),
                        ));
                    }
                    self.keep_newest_graph();
                    delta.apply_to(&mut self.graph).map_err(|e| {
                        Error::at(
                            ErrorCode::InvalidArgument,
                            format!("pendingSaves[{i}].delta"),
                            format!("does not apply to the session's graph: {e}"),
                        )
                    })?;
                }
                (None, None) => unreachable!("checked by new_entries"),
            }
            if let Some(before) = before {
                entry.rebuild(&before, &self.graph);
            }
            if self.graph_id.is_none() {
                self.graph_id = entry.audit.graph_id.clone();
            }
            self.graph_of = vec![entry.approval_id().to_owned()];
            self.outbox.push(entry);
        }
        Ok(())
    }

    /// Before the session's graph changes: if it is the newest pending
    /// approval's graph and that entry holds no copy, it gets one, so it can
    /// still be sent whole or rebased. (Approving twice without saving costs
    /// one serialization of the graph; saving in between costs nothing.)
    fn keep_newest_graph(&mut self) {
        let of = std::mem::take(&mut self.graph_of);
        if let Some(entry) = self.outbox.last_mut().filter(|e| e.graph.is_none() && of.iter().any(|id| id == e.approval_id())) {
            entry.graph = Some(self.graph.to_json());
        }
    }

    /// The approved graph of a pending or just-made approval, as JSON text:
    /// the entry's copy, or the session's graph while it is that approval's.
    pub fn approved_graph_json(&self, approval_id: &str) -> Result<String> {
        if let Some(text) = self.outbox.find(approval_id).and_then(|e| e.graph.clone()) {
            return Ok(text);
        }
        if self.graph_of.iter().any(|id| id == approval_id) {
            return Ok(self.graph.to_json());
        }
        Err(graph_unavailable(approval_id))
    }

    /// Acknowledges the oldest pending save, stored as `version`; returns its
    /// audit entry (a service that keeps no audit trail of its own, like the
    /// real one, has only this record of who approved what and why). Edges
    /// take the ids the service stored them under (see [`Service`]).
    pub fn mark_saved(&mut self, approval_id: &str, version: Value) -> Result<AuditEntry> {
        let saved = self.outbox.mark_saved(approval_id, &version)?;
        self.service.adopt_edge_ids(&mut self.graph);
        if self.outbox.is_empty() {
            self.graph.metadata_mut().insert("version".to_owned(), version.clone());
            self.base_version = Some(version);
        }
        Ok(saved.audit)
    }

    /// The pending review with the current decisions.
    pub fn review(&self) -> Option<&Review> {
        self.pending.as_ref().map(|p| &p.review)
    }

    /// Drops the pending review without approving anything.
    pub fn discard(&mut self) {
        self.pending = None;
    }

    /// Applies the accepted changes, stamps them, and records the decision.
    /// The session then holds the new graph and no pending review. If the
    /// approval is refused, nothing changes.
    pub fn approve(&mut self, approver: &Approver, reason: Option<&str>) -> Result<Approved> {
        self.proposal_id();
        let pending = self.pending.as_ref().ok_or_else(no_review)?;
        let open: Vec<&str> =
            pending.review.changes.iter().filter(|c| c.conflict.as_ref().is_some_and(|k| !k.resolved)).map(|c| c.id.as_str()).collect();
        if !open.is_empty() {
            return Err(Error::new(
                ErrorCode::UnresolvedConflict,
                format!("decide the conflicting changes first (accept keeps ours, reject keeps theirs): {}", open.join(", ")),
            ));
        }
        let undecided: Vec<String> = pending.review.changes.iter().filter(|c| c.accepted.is_none()).map(|c| c.id.clone()).collect();
        if !undecided.is_empty() {
            return Err(undecided_changes(undecided));
        }
        // Checked before anything changes, so a refused approval keeps nothing.
        check_accepted(&self.graph, &pending.review.changes)?;
        let queued = pending.review.changes.iter().any(Change::is_accepted);
        if queued {
            self.keep_newest_graph();
        }
        let pending = self.pending.take().ok_or_else(no_review)?;
        let applied = apply_accepted(&mut self.graph, &pending.review.changes, approver)?;
        let context = AuditContext {
            approval_id: uuid::Uuid::new_v4().to_string(),
            graph_id: self.graph_id.as_deref(),
            base_version: self.base_version.as_ref(),
            approver,
            provenance: &pending.review.provenance,
            reason: reason.or(pending.review.carried.as_ref().and_then(|c| c.reason.as_deref())),
            proposal_id: &pending.review.proposal_id,
            decision_mode: self.decision_mode,
        };
        let mut audit = AuditEntry::record(context, &pending.review.changes);
        if let Some(carried) = &pending.review.carried {
            // Rejected before the rebase: still rejected, listed first, with
            // how they were rejected and why.
            let earlier: Vec<String> = carried.rejected.iter().filter(|id| !audit.rejected.contains(id)).cloned().collect();
            let records = carried.decisions.0.iter().filter(|(id, _)| earlier.contains(id)).cloned();
            audit.decisions.0.splice(0..0, records);
            audit.rejected.splice(0..0, earlier);
        }
        if let Some(stale) = &pending.supersedes {
            self.outbox.remove(stale);
        }
        if queued {
            let accepted: Vec<Change> = pending.review.changes.into_iter().filter(Change::is_accepted).collect();
            self.outbox.push(PendingSave {
                graph: None,
                delta: Some(applied.delta.clone()),
                audit: audit.clone(),
                changed_node_ids: applied.changed_node_ids.clone(),
                removed_node_ids: applied.removed_node_ids.clone(),
                changes: accepted,
            });
            self.graph_of = vec![audit.approval_id.clone()];
        } else {
            // Nothing changed: the graph is this approval's too.
            self.graph_of.push(audit.approval_id.clone());
        }
        Ok(Approved { audit, applied, queued })
    }
}

fn graph_unavailable(approval_id: &str) -> Error {
    Error::new(
        ErrorCode::GraphUnavailable,
        format!(
            "the graph of approval '{approval_id}' is no longer held: it was saved and the session has changed since (load that version from the server)"
        ),
    )
}

fn json_text(value: Option<&Value>) -> String {
    value.map_or_else(|| "none".to_owned(), Value::to_string)
}

fn undecided_changes(ids: Vec<String>) -> Error {
    const LISTED: usize = 10;
    let mut listed = ids.iter().take(LISTED).map(String::as_str).collect::<Vec<_>>().join(", ");
    if ids.len() > LISTED {
        listed.push_str(&format!(" and {} more", ids.len() - LISTED));
    }
    let n = ids.len();
    let message = format!(
        "{n} change{} not decided yet: accept, reject or correct {}: {listed}",
        if n == 1 { " is" } else { "s are" },
        if n == 1 { "it" } else { "each" }
    );
    Error::new(ErrorCode::UndecidedChanges, message).with_change_ids(ids)
}

fn no_review() -> Error {
    Error::new(ErrorCode::NoPendingReview, "there is no pending review: call propose() first")
}

mod deciding;
#[cfg(test)]
mod decision_tests;
mod drafts;
mod saving;
#[cfg(test)]
mod tests;
