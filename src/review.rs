//! Reviewing a proposal: every change it would make to a graph, field by field.
//!
//! A review never changes the graph. It lists each changed field of each node
//! (all of them, not just the first: CONTRACT.md bug 2), each added or removed
//! node and edge, and each metadata field, with exact old and new values. A
//! proposed value equal to the current one is not a change (bug 3), and a
//! node is only ever removed when asked explicitly (bug 1), never a hidden one
//! by omission (bug 6).
//!
//! ```
//! use kg_approval::{review, Graph, Proposal, ReviewOptions};
//! use serde_json::json;
//! let graph = Graph::from_value(json!({"nodes": [{"id": "a", "label": "A", "position": {"x": 1, "y": 2}}]})).unwrap();
//! let proposal = Proposal::from_value(json!({"nodes": [{"id": "a", "label": "B", "position": {"y": 2, "x": 1}}]})).unwrap();
//! let review = review(&graph, &proposal, &ReviewOptions::default()).unwrap();
//! assert_eq!(review.changes.len(), 1);
//! assert_eq!(review.changes[0].id, "node/a/label");
//! ```

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::change::{Change, ChangeKind, Summary, Target, change_id};
use crate::decision::Decisions;
use crate::error::{Error, ErrorCode, Result};
use crate::graph::{Edge, EdgeLookup, Graph, Node, edge_label, endpoint};
use crate::proposal::{EdgePatch, Proposal};
use crate::provenance::{PatchProvenance, Provenance};
use crate::text_diff::TextDiffOptions;
use crate::value::{as_text, json_eq, merge_value, set_field, type_name};
use crate::warning::{Warning, WarningCode};

/// Options of a review.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReviewOptions {
    /// How string fields are diffed (granularity and per-field time budget).
    pub text: TextDiffOptions,
    /// Whether changes of one string to another carry their inline diff
    /// (`Change::text`, the default). The WASM bindings leave it out and
    /// diff a change's texts when JS first reads its `text`.
    pub inline_diffs: bool,
}

impl Default for ReviewOptions {
    fn default() -> Self {
        ReviewOptions { text: TextDiffOptions::default(), inline_diffs: true }
    }
}

impl ReviewOptions {
    /// The text-diff options if changes carry inline diffs.
    pub fn text_diffs(&self) -> Option<&TextDiffOptions> {
        self.inline_diffs.then_some(&self.text)
    }
}

/// Everything a proposal would change, for a person to decide on.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub proposal_id: String,
    /// Where the proposal came from. [`review`] knows only what the proposal
    /// says of itself; a session completes it with its caller's context.
    pub provenance: Provenance,
    pub changes: Vec<Change>,
    pub summary: Summary,
    pub warnings: Vec<Warning>,
    /// A rebased review: what the reviewer said of the approval it replaces
    /// (kept in the new approval unless they change it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carried: Option<Carried>,
}

/// The reviewer's words and decisions on an approval a rebase replaces: a
/// conflict never loses them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Carried {
    /// The approval's reason, used when the rebased one is approved without one.
    pub reason: Option<String>,
    /// Changes the reviewer rejected: not proposed again, still recorded as rejected.
    pub rejected: Vec<String>,
    /// How those were rejected, and the comments on them.
    #[serde(skip_serializing_if = "Decisions::is_empty")]
    pub decisions: Decisions,
}

/// What a review is of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewKind {
    /// A proposal (of an AI, a rule, a person).
    #[default]
    Proposal,
    /// Restoring an old version ([`crate::ApprovalSession::revert_to`]).
    Revert,
    /// An approval re-applied on a newer version after a conflict
    /// ([`crate::ApprovalSession::rebase`]).
    Rebase,
}

impl ReviewKind {
    pub const NAMES: [(&'static str, ReviewKind); 3] =
        [("proposal", ReviewKind::Proposal), ("revert", ReviewKind::Revert), ("rebase", ReviewKind::Rebase)];
}

impl Review {
    pub fn change(&self, id: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.id == id)
    }
}

/// Reviews `proposal` against `graph`. See the [module docs](self).
pub fn review(graph: &Graph, proposal: &Proposal, options: &ReviewOptions) -> Result<Review> {
    let mut planner = Planner {
        graph,
        proposal,
        options,
        warnings: proposal.warnings.clone(),
        drafts: Vec::new(),
        draft_at: HashMap::new(),
        removed: Vec::new(),
        removed_ids: HashSet::new(),
    };
    planner.draft_nodes();
    planner.plan_removals()?;
    planner.search_and_replace()?;
    if proposal.preserve_fulltext_images {
        planner.preserve_images();
    }
    let mut changes = planner.node_changes();
    planner.edge_changes(&mut changes)?;
    planner.metadata_changes(&mut changes);
    let summary = Summary::of(&changes);
    let (provenance, _) = Provenance::default().with_proposal(&proposal.provenance);
    Ok(Review { proposal_id: proposal.id.clone(), provenance, changes, summary, warnings: planner.warnings, carried: None })
}

/// The proposed state of one node: new values of its patched fields, or the
/// whole node if it is new.
struct Draft<'a> {
    id: &'a str,
    existing: Option<&'a Node>,
    fields: Map<String, Value>,
    /// The patch's `confidence` and `ruleId`, copied onto each of its changes.
    told: Option<&'a PatchProvenance>,
}

struct Planner<'a> {
    graph: &'a Graph,
    proposal: &'a Proposal,
    options: &'a ReviewOptions,
    warnings: Vec<Warning>,
    drafts: Vec<Draft<'a>>,
    draft_at: HashMap<&'a str, usize>,
    removed: Vec<&'a Node>,
    removed_ids: HashSet<&'a str>,
}

impl<'a> Planner<'a> {
    fn draft_nodes(&mut self) {
        for patch in &self.proposal.nodes {
            let existing = self.graph.node(&patch.id);
            let fields = match existing {
                Some(node) => patch.fields.iter().map(|(k, v)| (k.clone(), merge_value(node.fields().get(k), v))).collect(),
                None => {
                    let mut fields = Map::with_capacity(patch.fields.len() + 1);
                    fields.insert("id".to_owned(), Value::String(patch.id.clone()));
                    fields.extend(patch.fields.clone());
                    fields
                }
            };
            self.draft_at.insert(&patch.id, self.drafts.len());
            let told = Some(&patch.provenance).filter(|p| !p.is_empty());
            self.drafts.push(Draft { id: &patch.id, existing, fields, told });
        }
    }

    fn plan_removals(&mut self) -> Result<()> {
        for (i, id) in self.proposal.remove_node_ids.iter().enumerate() {
            if let Some(&d) = self.draft_at.get(id.as_str()) {
                return Err(Error::at(
                    ErrorCode::ConflictingOperations,
                    format!("removeNodeIds[{i}]"),
                    format!("node '{id}' is both patched (nodes[{d}]) and removed"),
                ));
            }
            match self.graph.node(id) {
                Some(node) => self.remove(node),
                None => self
                    .warnings
                    .push(Warning::new(WarningCode::NodeNotFound, format!("node '{id}' to remove is not in the graph")).node(id)),
            }
        }
        if self.proposal.replace_all_nodes {
            for node in self.graph.nodes() {
                if self.draft_at.contains_key(node.id()) || self.removed_ids.contains(node.id()) {
                    continue;
                }
                if node.is_hidden() {
                    let message = format!(
                        "hidden node '{}' was kept: replaceAllNodes only removes visible nodes; list it in removeNodeIds to remove it",
                        node.display_label()
                    );
                    self.warnings.push(Warning::new(WarningCode::HiddenNodeKept, message).node(node.id()));
                } else {
                    self.remove(node);
                }
            }
        }
        Ok(())
    }

    fn remove(&mut self, node: &'a Node) {
        if self.removed_ids.insert(node.id()) {
            self.removed.push(node);
        }
    }

    fn search_and_replace(&mut self) -> Result<()> {
        for (i, sr) in self.proposal.search_replace.iter().enumerate() {
            let at = |name: &str| format!("searchReplace[{i}].{name}");
            if self.removed_ids.contains(sr.node_id.as_str()) {
                return Err(Error::at(
                    ErrorCode::ConflictingOperations,
                    at("nodeId"),
                    format!("node '{}' is removed by this proposal", sr.node_id),
                ));
            }
            let d = match self.draft_at.get(sr.node_id.as_str()) {
                Some(&d) => d,
                None => {
                    let node = self.graph.node(&sr.node_id).ok_or_else(|| {
                        Error::at(ErrorCode::UnknownNode, at("nodeId"), format!("node '{}' is not in the graph", sr.node_id))
                    })?;
                    self.draft_at.insert(node.id(), self.drafts.len());
                    self.drafts.push(Draft { id: node.id(), existing: Some(node), fields: Map::new(), told: None });
                    self.drafts.len() - 1
                }
            };
            let draft = &mut self.drafts[d];
            let current = draft.fields.get(&sr.field).or_else(|| draft.existing.and_then(|n| n.fields().get(&sr.field)));
            let text = match current {
                Some(Value::String(text)) => text,
                Some(other) => {
                    return Err(Error::at(
                        ErrorCode::FieldNotText,
                        at("field"),
                        format!("field '{}' of node '{}' is {}, not a string", sr.field, sr.node_id, type_name(other)),
                    ));
                }
                None => {
                    return Err(Error::at(
                        ErrorCode::FieldNotText,
                        at("field"),
                        format!("node '{}' has no field '{}'", sr.node_id, sr.field),
                    ));
                }
            };
            if !text.contains(&sr.search) {
                let message = format!("'{}' does not occur in field '{}' of node '{}'", excerpt(&sr.search), sr.field, sr.node_id);
                return Err(Error::at(ErrorCode::SearchNotFound, at("search"), message));
            }
            let replaced = if sr.replace_all { text.replace(&sr.search, &sr.replace) } else { text.replacen(&sr.search, &sr.replace, 1) };
            set_field(&mut draft.fields, &sr.field, Value::String(replaced));
        }
        Ok(())
    }

    /// The AI tool's `preserveExistingFulltextImages`: a rewritten `info` of a
    /// fulltext node keeps the markdown images the old text had.
    fn preserve_images(&mut self) {
        for draft in &mut self.drafts {
            let Some(node) = draft.existing else { continue };
            let is_fulltext = as_text(&draft.fields, "type").or_else(|| as_text(node.fields(), "type")) == Some("fulltext");
            let (Some(old), Some(Value::String(new))) = (as_text(node.fields(), "info"), draft.fields.get_mut("info")) else { continue };
            if !is_fulltext {
                continue;
            }
            let missing: Vec<&str> = markdown_images(old).into_iter().filter(|img| !new.contains(img)).collect();
            if !missing.is_empty() {
                *new = format!("{}\n\n{new}", missing.join("\n"));
                let message = format!("{} image(s) of the old text were kept (preserveExistingFulltextImages)", missing.len());
                self.warnings.push(Warning::new(WarningCode::ImagesPreserved, message).node(draft.id).field("info"));
            }
        }
    }

    fn node_changes(&mut self) -> Vec<Change> {
        let text = self.options.text_diffs();
        let mut changes = Vec::new();
        for draft in &self.drafts {
            let first = changes.len();
            match draft.existing {
                Some(node) => {
                    let before = changes.len();
                    for (field, new) in &draft.fields {
                        let old = node.fields().get(field);
                        if old.is_some_and(|old| json_eq(old, new)) {
                            continue;
                        }
                        changes.push(
                            Change::field(Target::Node, draft.id, node.display_label(), field, old.cloned(), Some(new.clone()))
                                .with_text_diff(text),
                        );
                    }
                    if changes.len() == before {
                        self.warnings.push(
                            Warning::new(WarningCode::NoChange, format!("the proposal changes nothing in node '{}'", node.display_label()))
                                .node(draft.id),
                        );
                    }
                }
                None => {
                    let label = as_text(&draft.fields, "label").unwrap_or(draft.id);
                    changes.push(Change::whole(Target::Node, ChangeKind::Added, draft.id, label, Value::Object(draft.fields.clone())));
                }
            }
            if let Some(told) = draft.told {
                for change in &mut changes[first..] {
                    change.confidence = told.confidence;
                    change.rule_id = told.rule_id.clone();
                    change.rationale = told.rationale.clone();
                }
            }
        }
        for node in &self.removed {
            changes.push(Change::node(ChangeKind::Removed, node));
        }
        changes
    }

    fn is_added(&self, id: &str) -> bool {
        self.draft_at.get(id).is_some_and(|&d| self.drafts[d].existing.is_none())
    }

    fn edge_changes(&mut self, changes: &mut Vec<Change>) -> Result<()> {
        let mut removed_keys: HashSet<&str> = HashSet::new();
        let mut removals: Vec<&Edge> = Vec::new();
        for (i, key) in self.proposal.remove_edge_ids.iter().enumerate() {
            match self.graph.edge_lookup(key) {
                EdgeLookup::Found(e) => {
                    removed_keys.insert(key);
                    removals.push(&self.graph.edges()[e]);
                }
                EdgeLookup::Ambiguous => return Err(ambiguous(format!("removeEdgeIds[{i}]"), key)),
                EdgeLookup::Missing => self
                    .warnings
                    .push(Warning::new(WarningCode::EdgeNotFound, format!("edge '{key}' to remove is not in the graph")).edge(key)),
            }
        }
        for (i, patch) in self.proposal.edges.iter().enumerate() {
            let path = format!("edges[{i}]");
            match self.graph.edge_lookup(&patch.key) {
                EdgeLookup::Found(e) => self.edge_update(&self.graph.edges()[e], patch, &removed_keys, &path, changes)?,
                EdgeLookup::Ambiguous => return Err(ambiguous(path, &patch.key)),
                EdgeLookup::Missing => changes.push(self.edge_addition(patch, &path)?),
            }
        }
        // Removing a node removes the edges touching it; the node's removal
        // requires theirs, so a reviewer cannot leave an edge dangling.
        let mut requires: HashMap<&str, Vec<String>> = HashMap::new();
        for node in &self.removed {
            for edge in self.graph.edges_touching(node.id()) {
                if self.graph.edge_lookup(edge.key()) == EdgeLookup::Ambiguous {
                    return Err(ambiguous(format!("removeNodeIds ({})", node.id()), edge.key()));
                }
                requires.entry(node.id()).or_default().push(change_id(Target::Edge, edge.key(), None));
                if removed_keys.insert(edge.key()) {
                    removals.push(edge);
                }
            }
        }
        for change in changes.iter_mut().filter(|c| c.target == Target::Node && c.kind == ChangeKind::Removed) {
            change.requires = change.node_id.as_deref().and_then(|id| requires.remove(id)).unwrap_or_default();
        }
        for edge in removals {
            changes.push(Change::edge(ChangeKind::Removed, edge, self.graph));
        }
        Ok(())
    }

    fn edge_update(
        &self,
        edge: &Edge,
        patch: &EdgePatch,
        removed_keys: &HashSet<&str>,
        path: &str,
        changes: &mut Vec<Change>,
    ) -> Result<()> {
        let ends = [edge.source(), edge.target()];
        if removed_keys.contains(edge.key()) || ends.iter().flatten().any(|end| self.removed_ids.contains(end)) {
            return Err(Error::at(ErrorCode::ConflictingOperations, path, format!("edge '{}' is removed by this proposal", edge.key())));
        }
        let label = self.edge_label(edge.fields());
        for (field, value) in patch.fields.iter().filter(|(f, _)| f.as_str() != "id") {
            // Keep the edge's own spelling of its endpoints (source/target or from/to).
            let field = respell(edge.fields(), field);
            let old = edge.fields().get(field);
            let new = merge_value(old, value);
            if !old.is_some_and(|old| json_eq(old, &new)) {
                let mut change = Change::field(Target::Edge, edge.key(), &label, field, old.cloned(), Some(new))
                    .with_text_diff(self.options.text_diffs());
                change.rationale = patch.rationale.clone();
                changes.push(change);
            }
        }
        Ok(())
    }

    fn edge_addition(&mut self, patch: &EdgePatch, path: &str) -> Result<Change> {
        let ends = (endpoint(&patch.fields, "source", "from"), endpoint(&patch.fields, "target", "to"));
        let (Some(source), Some(target)) = ends else {
            return Err(Error::at(
                ErrorCode::UnknownEdge,
                path,
                format!("there is no edge '{}' to update, and no source and target to add it", patch.key),
            ));
        };
        let mut requires = Vec::new();
        for end in [source, target] {
            if self.removed_ids.contains(end) {
                return Err(Error::at(
                    ErrorCode::ConflictingOperations,
                    path,
                    format!("edge '{}' ends at node '{end}', which this proposal removes", patch.key),
                ));
            }
            if self.is_added(end) {
                requires.push(change_id(Target::Node, end, None));
            } else if self.graph.node(end).is_none() {
                let message = format!("edge '{}' ends at node '{end}', which is not in the graph", patch.key);
                self.warnings.push(Warning::new(WarningCode::DanglingEdge, message).edge(&patch.key));
            }
        }
        requires.dedup();
        let mut fields = Map::with_capacity(patch.fields.len() + 1);
        fields.insert("id".to_owned(), Value::String(patch.key.clone()));
        fields.extend(patch.fields.iter().filter(|(k, _)| k.as_str() != "id").map(|(k, v)| (k.clone(), v.clone())));
        let label = self.edge_label(&fields);
        let mut change = Change::whole(Target::Edge, ChangeKind::Added, &patch.key, &label, Value::Object(fields));
        change.requires = requires;
        change.rationale = patch.rationale.clone();
        Ok(change)
    }

    fn metadata_changes(&self, changes: &mut Vec<Change>) {
        let old_meta = self.graph.metadata();
        for (field, value) in &self.proposal.metadata {
            let old = old_meta.and_then(|m| m.get(field));
            let new = merge_value(old, value);
            if !old.is_some_and(|old| json_eq(old, &new)) {
                changes.push(
                    Change::field(Target::Metadata, "", "metadata", field, old.cloned(), Some(new))
                        .with_text_diff(self.options.text_diffs()),
                );
            }
        }
    }

    /// An edge's label; endpoints may be nodes this proposal adds.
    fn edge_label(&self, fields: &Map<String, Value>) -> String {
        edge_label(fields, |id| match self.graph.node(id) {
            Some(node) => Some(node.display_label().to_owned()),
            None => self.draft_at.get(id).and_then(|&d| as_text(&self.drafts[d].fields, "label")).map(str::to_owned),
        })
    }
}

fn respell<'f>(edge: &Map<String, Value>, field: &'f str) -> &'f str {
    let swap = match field {
        "source" => "from",
        "from" => "source",
        "target" => "to",
        "to" => "target",
        _ => return field,
    };
    if !edge.contains_key(field) && edge.contains_key(swap) {
        // 'static strs from the match above outlive 'f.
        return swap;
    }
    field
}

fn ambiguous(path: String, key: &str) -> Error {
    Error::at(ErrorCode::AmbiguousEdgeId, path, format!("several edges of the graph have the id '{key}'"))
}

/// The search text as shown in an error message: at most 60 characters.
fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(60).collect();
    if chars.next().is_some() { format!("{head}…") } else { head }
}

/// Markdown images (`![alt](url)`) in order of appearance.
fn markdown_images(text: &str) -> Vec<&str> {
    let mut images = Vec::new();
    let mut rest = 0;
    while let Some(start) = text[rest..].find("![").map(|i| rest + i) {
        let tail = &text[start..];
        let end = tail.find("](").and_then(|mid| tail[mid..].find(')').map(|close| mid + close + 1));
        match end.filter(|&end| !tail[..end].contains('\n')) {
            Some(end) => {
                images.push(&tail[..end]);
                rest = start + end;
            }
            None => rest = start + 2,
        }
    }
    images
}

#[cfg(test)]
mod tests;
