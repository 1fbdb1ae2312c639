//! Rebasing: re-applying approved changes on a graph another editor saved
//! in the meantime (after a 409), so that nothing the reviewer approved is
//! lost and nothing the other editor saved is overwritten silently.
//!
//! For each approved change, with *base* its old value, *ours* its new value
//! and *theirs* the value in the newer graph:
//! - theirs = base: the other editor did not touch it; ours applies as is.
//! - theirs = ours: both made the same change; nothing to do.
//! - otherwise: a conflict the reviewer decides (accept = ours, reject =
//!   theirs). Conflicts start rejected and must be decided before approval.
//!
//! ```
//! use kg_approval::{Graph, review, Proposal, ReviewOptions};
//! use kg_approval::rebase::rebase_changes;
//! use serde_json::json;
//! let base = Graph::from_value(json!({"nodes": [{"id": "a", "label": "A", "info": "x"}]})).unwrap();
//! let ours = review(&base, &Proposal::from_value(json!({"nodes": [{"id": "a", "label": "Ours", "info": "y"}]})).unwrap(), &ReviewOptions::default()).unwrap();
//! let latest = Graph::from_value(json!({"nodes": [{"id": "a", "label": "Theirs", "info": "x"}]})).unwrap();
//! let rebased = rebase_changes(&latest, &base, &ours.changes, &Default::default());
//! let summary: Vec<_> = rebased.iter().map(|c| (c.id.as_str(), c.conflict.is_some())).collect();
//! assert_eq!(summary, [("node/a/label", true), ("node/a/info", false)]);
//! ```

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::change::{Change, ChangeKind, Conflict, Target, change_id, link_requirements};
use crate::decision::DecidedBy;
use crate::graph::Graph;
use crate::proposal::RESERVED_ITEM_FIELDS;
use crate::text_diff::TextDiffOptions;
use crate::value::json_eq;

/// The approved `accepted` changes re-expressed against `latest`. `ours` is
/// the graph they were approved on top of (used to re-add an entity the
/// other editor removed).
pub fn rebase_changes(latest: &Graph, ours: &Graph, accepted: &[Change], text: &TextDiffOptions) -> Vec<Change> {
    rebase_changes_with(latest, ours, accepted, Some(text))
}

/// [`rebase_changes`]; string changes carry an inline diff only if `text` is given.
pub fn rebase_changes_with(latest: &Graph, ours: &Graph, accepted: &[Change], text: Option<&TextDiffOptions>) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    let mut readded: HashSet<String> = HashSet::new();
    for change in accepted.iter().filter(|c| c.is_accepted()) {
        let entity = change.entity().unwrap_or_default();
        let theirs_entity = fields_of(latest, change.target, entity);
        match change.kind {
            ChangeKind::Changed => {
                let Some(theirs_fields) = theirs_entity else {
                    // The other editor removed what we changed: offer to re-add our version.
                    if readded.insert(change_id(change.target, entity, None)) {
                        if let Some(ours_fields) = fields_of(ours, change.target, entity) {
                            out.push(conflict(
                                Change::whole(change.target, ChangeKind::Added, entity, &change.label, Value::Object(ours_fields.clone())),
                                None,
                            ));
                        }
                    }
                    continue;
                };
                let field = change.field.as_deref().unwrap_or_default();
                let theirs = theirs_fields.get(field);
                if same(theirs, change.new.as_ref()) {
                    continue;
                }
                let rebased =
                    Change::field(change.target, entity, &change.label, field, theirs.cloned(), change.new.clone()).with_text_diff(text);
                out.push(if same(theirs, change.old.as_ref()) { rebased } else { conflict(rebased, change.old.clone()) });
            }
            ChangeKind::Added => match theirs_entity {
                None => out.push(Change { conflict: None, requires: Vec::new(), ..change.clone() }),
                Some(theirs_fields) => {
                    // Both added the same id: what differs is for the reviewer to decide.
                    let ours_fields = change.new.as_ref().and_then(Value::as_object).cloned().unwrap_or_default();
                    for (field, value) in ours_fields.iter().filter(|(f, _)| !RESERVED_ITEM_FIELDS.contains(&f.as_str())) {
                        let theirs = theirs_fields.get(field);
                        if !same(theirs, Some(value)) {
                            out.push(conflict(
                                Change::field(change.target, entity, &change.label, field, theirs.cloned(), Some(value.clone()))
                                    .with_text_diff(text),
                                None,
                            ));
                        }
                    }
                }
            },
            ChangeKind::Removed => {
                let Some(theirs_fields) = theirs_entity else { continue };
                let now = Value::Object(theirs_fields.clone());
                let removal = Change::whole(change.target, ChangeKind::Removed, entity, &change.label, now.clone());
                out.push(if same(Some(&now), change.old.as_ref()) { removal } else { conflict(removal, change.old.clone()) });
            }
        }
    }
    remove_edges_of_removed_nodes(latest, &mut out);
    link_requirements(&mut out);
    out
}

fn fields_of<'g>(graph: &'g Graph, target: Target, entity: &str) -> Option<&'g Map<String, Value>> {
    match target {
        Target::Node => graph.node(entity).map(|n| n.fields()),
        Target::Edge => graph.edge(entity).map(|e| e.fields()),
        Target::Metadata => graph.metadata().or(Some(empty())),
        Target::Graph => None,
    }
}

fn empty() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => json_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn conflict(mut change: Change, base: Option<Value>) -> Change {
    // Starts rejected (theirs stays) and unresolved: the reviewer decides.
    change.accepted = Some(false);
    change.decided_by = None;
    change.conflict = Some(Conflict { base, resolved: false });
    change
}

/// Edges the other editor attached to a node we remove go with it.
fn remove_edges_of_removed_nodes(latest: &Graph, changes: &mut Vec<Change>) {
    let removed: Vec<(String, bool)> = changes
        .iter()
        .filter(|c| c.target == Target::Node && c.kind == ChangeKind::Removed)
        .filter_map(|c| c.node_id.clone().map(|id| (id, c.conflict.is_some())))
        .collect();
    for (node, is_conflict) in removed {
        for edge in latest.edges_touching(&node) {
            let id = change_id(Target::Edge, edge.key(), None);
            if !changes.iter().any(|c| c.id == id) {
                let mut removal = Change::edge(ChangeKind::Removed, edge, latest);
                removal.accepted = Some(!is_conflict);
                removal.decided_by = Some(DecidedBy::Dependency);
                changes.push(removal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proposal::Proposal;
    use crate::review::{ReviewOptions, review};
    use serde_json::json;

    fn approved(base: &Graph, proposal: Value) -> Vec<Change> {
        review(base, &Proposal::from_value(proposal).unwrap(), &ReviewOptions::default()).unwrap().changes
    }

    fn base() -> Graph {
        Graph::from_value(json!({
            "metadata": {"title": "T"},
            "nodes": [{"id": "a", "label": "A", "info": "x"}, {"id": "b", "label": "B"}, {"id": "c", "label": "C"}],
            "edges": [{"id": "a_b", "source": "a", "target": "b"}]
        }))
        .unwrap()
    }

    fn rebase(latest: Value, proposal: Value) -> Vec<Change> {
        let b = base();
        rebase_changes(&Graph::from_value(latest).unwrap(), &b, &approved(&b, proposal), &TextDiffOptions::default())
    }

    #[test]
    fn untouched_fields_merge_and_same_edits_vanish() {
        let latest = json!({"metadata": {"title": "T"}, "nodes": [{"id": "a", "label": "A", "info": "theirs"}, {"id": "b", "label": "B2"}, {"id": "c", "label": "C"}], "edges": []});
        let out = rebase(latest, json!({"nodes": [{"id": "a", "label": "A2"}, {"id": "b", "label": "B2"}], "metadata": {"title": "U"}}));
        let ids: Vec<_> = out.iter().map(|c| (c.id.as_str(), c.is_accepted(), c.conflict.is_some())).collect();
        assert_eq!(ids, [("node/a/label", true, false), ("metadata/title", true, false)]);
    }

    #[test]
    fn different_edits_of_one_field_conflict() {
        let latest = json!({"nodes": [{"id": "a", "label": "Theirs", "info": "x"}, {"id": "b", "label": "B"}, {"id": "c", "label": "C"}]});
        let out = rebase(latest, json!({"nodes": [{"id": "a", "label": "Ours"}]}));
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].old.clone(), out[0].new.clone()), (Some(json!("Theirs")), Some(json!("Ours"))));
        assert_eq!(out[0].conflict, Some(Conflict { base: Some(json!("A")), resolved: false }));
        assert_eq!(out[0].accepted, Some(false));
    }

    #[test]
    fn a_node_removed_upstream_is_offered_back() {
        let latest = json!({"nodes": [{"id": "b", "label": "B"}, {"id": "c", "label": "C"}]});
        let out = rebase(latest, json!({"nodes": [{"id": "a", "label": "Ours", "info": "y"}]}));
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].id.as_str(), out[0].kind), ("node/a", ChangeKind::Added));
        assert!(out[0].conflict.is_some());
    }

    #[test]
    fn removals_take_edges_added_upstream_along() {
        let latest = json!({"nodes": [{"id": "a", "label": "A", "info": "x"}, {"id": "b", "label": "B"}, {"id": "c", "label": "C"}],
            "edges": [{"id": "a_b", "source": "a", "target": "b"}, {"id": "c_b", "source": "c", "target": "b"}]});
        let out = rebase(latest, json!({"removeNodeIds": ["b"]}));
        let ids: Vec<_> = out.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["node/b", "edge/a_b", "edge/c_b"]);
        assert_eq!(out[0].requires, ["edge/a_b", "edge/c_b"]);
    }

    #[test]
    fn no_overlap_means_no_conflict() {
        let latest = json!({"metadata": {"title": "T", "x": 1}, "nodes": [{"id": "a", "label": "A", "info": "x", "color": "red"}, {"id": "b", "label": "B"}, {"id": "c", "label": "C"}, {"id": "z"}], "edges": [{"id": "a_b", "source": "a", "target": "b"}]});
        let out = rebase(
            latest,
            json!({"nodes": [{"id": "a", "info": "y"}, {"id": "n", "label": "N"}], "edges": [{"source": "c", "target": "n"}], "metadata": {"title": "U"}}),
        );
        assert!(out.iter().all(|c| c.conflict.is_none() && c.is_accepted()), "{out:?}");
        assert_eq!(out.len(), 4);
    }
}
