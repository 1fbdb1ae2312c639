//! Diffing two whole graphs (two versions from the history), in the same
//! change shape a review uses, so one component can show both.
//!
//! ```
//! use kg_approval::{diff_graphs, Graph};
//! use kg_approval::text_diff::TextDiffOptions;
//! let before = Graph::from_json(r#"{"nodes":[{"id":"a","label":"A"},{"id":"b"}]}"#).unwrap();
//! let after = Graph::from_json(r#"{"nodes":[{"id":"a","label":"B"},{"id":"c"}]}"#).unwrap();
//! let diff = diff_graphs(&before, &after, Some(&TextDiffOptions::default()));
//! let ids: Vec<_> = diff.changes.iter().map(|c| c.id.as_str()).collect();
//! assert_eq!(ids, ["node/a/label", "node/b", "node/c"]);
//! ```

use std::collections::{HashMap, VecDeque};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::change::{Change, ChangeKind, Summary, Target, diff_fields};
use crate::graph::Graph;
use crate::text_diff::TextDiffOptions;

/// The differences between two graphs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphDiff {
    pub changes: Vec<Change>,
    pub summary: Summary,
    /// Metadata the service wrote by itself between the two versions (not
    /// part of any approval; see [`crate::Service`]), apart from `changes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_written: Vec<Change>,
}

/// Every difference from `before` to `after`: changed fields of nodes present
/// in both, removed nodes (in `before` order), added nodes (in `after`
/// order), then edges (changed and removed in `before` order, added in `after`
/// order), then metadata fields, then other top-level fields. String changes carry an inline text diff
/// when `text` options are given (a history view wants them; storage does not).
pub fn diff_graphs(before: &Graph, after: &Graph, text: Option<&TextDiffOptions>) -> GraphDiff {
    let mut changes = Vec::new();

    for node in before.nodes() {
        match after.node(node.id()) {
            Some(next) => fields(&mut changes, Target::Node, node.id(), next.display_label(), node.fields(), next.fields(), text),
            None => changes.push(Change::node(ChangeKind::Removed, node)),
        }
    }
    for node in after.nodes().iter().filter(|n| before.node(n.id()).is_none()) {
        changes.push(Change::node(ChangeKind::Added, node));
    }

    // Edges pair up by key; edges sharing a key pair up in order.
    let mut by_key: HashMap<&str, VecDeque<usize>> = HashMap::new();
    for (i, edge) in after.edges().iter().enumerate() {
        by_key.entry(edge.key()).or_default().push_back(i);
    }
    let mut matched = vec![false; after.edges().len()];
    for edge in before.edges() {
        match by_key.get_mut(edge.key()).and_then(VecDeque::pop_front) {
            Some(i) => {
                matched[i] = true;
                let next = &after.edges()[i];
                fields(&mut changes, Target::Edge, edge.key(), &after.edge_label(next.fields()), edge.fields(), next.fields(), text);
            }
            None => changes.push(Change::edge(ChangeKind::Removed, edge, before)),
        }
    }
    for (edge, _) in after.edges().iter().zip(&matched).filter(|(_, m)| !**m) {
        changes.push(Change::edge(ChangeKind::Added, edge, after));
    }

    let empty = Map::new();
    let (old_meta, new_meta) = (before.metadata().unwrap_or(&empty), after.metadata().unwrap_or(&empty));
    fields(&mut changes, Target::Metadata, "", "metadata", old_meta, new_meta, text);
    // Top-level fields besides nodes, edges and metadata: a version that
    // changes one says so too.
    fields(&mut changes, Target::Graph, "", "graph", &before.top_level(), &after.top_level(), text);

    let summary = Summary::of(&changes);
    GraphDiff { changes, summary, server_written: Vec::new() }
}

fn fields(
    changes: &mut Vec<Change>,
    target: Target,
    entity: &str,
    label: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    text: Option<&TextDiffOptions>,
) {
    for (field, before, after) in diff_fields(old, new) {
        let change = Change::field(target, entity, label, field, before.cloned(), after.cloned());
        changes.push(change.with_text_diff(text));
    }
}
