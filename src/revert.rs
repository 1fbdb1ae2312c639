//! Restoring an old version, as a review: what restoring it would change in
//! the current graph, for a person to accept or reject like any proposal.
//!
//! Audit fields are not restored (the approval stamps anew), and the result
//! saves as a new version — history is never rewritten.

use crate::change::{Change, ChangeKind, Target, link_requirements};
use crate::graph::Graph;
use crate::graph_diff::diff_graphs;
use crate::proposal::{RESERVED_ITEM_FIELDS, RESERVED_METADATA_FIELDS};
use crate::text_diff::TextDiffOptions;

/// The changes that turn `current` back into `target`.
///
/// ```
/// use kg_approval::{Graph, revert::revert_changes};
/// let current = Graph::from_json(r#"{"nodes":[{"id":"a","label":"New","updatedBy":"bob"}]}"#).unwrap();
/// let old = Graph::from_json(r#"{"nodes":[{"id":"a","label":"Old","updatedBy":"ann"}]}"#).unwrap();
/// let ids: Vec<_> = revert_changes(&current, &old, None).into_iter().map(|c| c.id).collect();
/// assert_eq!(ids, ["node/a/label"]);
/// ```
pub fn revert_changes(current: &Graph, target: &Graph, text: Option<&TextDiffOptions>) -> Vec<Change> {
    let mut changes: Vec<Change> = diff_graphs(current, target, text).changes.into_iter().filter(|c| !is_audit_field(c)).collect();
    link_requirements(&mut changes);
    changes
}

fn is_audit_field(change: &Change) -> bool {
    let field = change.field.as_deref().unwrap_or_default();
    match change.target {
        Target::Metadata => RESERVED_METADATA_FIELDS.contains(&field),
        Target::Graph => false,
        _ => change.kind == ChangeKind::Changed && RESERVED_ITEM_FIELDS.contains(&field),
    }
}
