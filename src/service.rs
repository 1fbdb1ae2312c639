//! The history service a session saves to, and what it does to a graph
//! besides storing it.
//!
//! This project's history server keeps a graph exactly as sent. The real
//! knowledge-graph service (`knowledge-graph-worker`, see CONTRACT.md) does
//! not, and a session that knows it saves there adjusts for it:
//!
//! - **Edge ids**: the service stores every edge as `${source}_${target}`,
//!   whatever id it was sent with. A proposed edge gets that id at review
//!   (with an `edge_id_rewritten` warning when it had another), and after a
//!   save the session adopts the ids the service gave, so a later rebase
//!   finds the edge instead of adding a second copy. An edge spelled with
//!   `from`/`to` would be stored as `undefined_undefined`: it is refused.
//! - **Two read shapes**: `GET /getknowgraph` drops null fields and adds
//!   defaults (`visible`, `position`, `imageWidth`, `imageHeight`, `path`)
//!   and keeps only an edge's `id`, `source`, `target`, `label`, `type` and
//!   `info`; `GET /getknowgraphversion` returns the stored snapshot. Restore
//!   and compare see both graphs in the first shape, so that difference is
//!   not shown as a change.
//! - **Server-written metadata**: after each save its classifier writes
//!   `semanticPrimary`, `semanticSecondary`, `semanticConfidence` and
//!   `classifiedAt` into the current graph, outside any version, and its
//!   current-graph read adds `created_date` and `updated_at` at the top
//!   level. A restore leaves them as they are, and a comparison lists them
//!   apart as the service's, not as changes someone approved.
//!
//! ```
//! use kg_approval::{Graph, Service};
//! let stored = Graph::from_json(r#"{"nodes":[{"id":"a","info":null}],"edges":[{"id":"e1","source":"a","target":"a","note":null}]}"#).unwrap();
//! let shown = Service::KnowledgeGraphWorker.read_shape(&stored);
//! assert_eq!(
//!     shown.to_json(),
//!     r#"{"nodes":[{"id":"a","bibl":[],"position":{"x":0,"y":0},"visible":true,"imageWidth":null,"imageHeight":null,"path":null}],"edges":[{"id":"a_a","source":"a","target":"a"}]}"#
//! );
//! ```

use serde_json::{Map, Value, json};

use crate::change::{Change, Summary, Target};
use crate::error::{Error, ErrorCode, Result};
use crate::graph::{Graph, default_edge_id};
use crate::graph_diff::{GraphDiff, diff_graphs};
use crate::proposal::Proposal;
use crate::text_diff::TextDiffOptions;
use crate::warning::{Warning, WarningCode};

/// Where a session's approvals are saved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Service {
    /// A server that stores graphs as sent (this project's history server).
    #[default]
    Faithful,
    /// The real knowledge-graph service, with the habits listed above.
    KnowledgeGraphWorker,
}

/// Metadata fields the real service's classifier writes outside versions.
const WORKER_METADATA_FIELDS: [&str; 4] = ["semanticPrimary", "semanticSecondary", "semanticConfidence", "classifiedAt"];
/// Top-level fields its current-graph read adds from its own columns.
const WORKER_TOP_LEVEL_FIELDS: [&str; 2] = ["created_date", "updated_at"];

impl Service {
    /// Each service with its name, as the `service` option spells it.
    pub const NAMES: [(&'static str, Service); 2] =
        [("faithful", Service::Faithful), ("knowledge-graph-worker", Service::KnowledgeGraphWorker)];

    pub fn name(self) -> &'static str {
        Service::NAMES.iter().find(|(_, s)| *s == self).map_or("faithful", |(n, _)| n)
    }

    /// Metadata fields the service writes by itself, outside any version.
    pub fn server_metadata_fields(self) -> &'static [&'static str] {
        match self {
            Service::Faithful => &[],
            Service::KnowledgeGraphWorker => &WORKER_METADATA_FIELDS,
        }
    }

    /// Whether `change` is to a field this service writes by itself: its
    /// classifier's metadata, and the top-level `created_date`/`updated_at`
    /// its current-graph read adds.
    pub fn writes(self, change: &Change) -> bool {
        let field = change.field.as_deref().unwrap_or_default();
        match (self, change.target) {
            (Service::Faithful, _) => false,
            (_, Target::Metadata) => self.server_metadata_fields().contains(&field),
            (_, Target::Graph) => WORKER_TOP_LEVEL_FIELDS.contains(&field),
            _ => false,
        }
    }

    /// `graph` as the service's current-graph read returns it once stored
    /// (for the faithful server, unchanged). Applying it twice changes
    /// nothing more.
    pub fn read_shape(self, graph: &Graph) -> Graph {
        if self == Service::Faithful {
            return graph.clone();
        }
        let mut value = graph.to_value();
        if let Some(Value::Array(nodes)) = value.get_mut("nodes") {
            for node in nodes.iter_mut() {
                *node = shape_node(&stored_node(node));
            }
        }
        if let Some(Value::Array(edges)) = value.get_mut("edges") {
            for edge in edges.iter_mut() {
                *edge = shape_edge(edge);
            }
        }
        // Shaping keeps every id and makes every edge id a string: it parses.
        Graph::from_value(value).unwrap_or_else(|_| graph.clone())
    }

    /// Makes a proposal's edges what the service will store: an edge with
    /// both endpoints is keyed `${source}_${target}` (a warning when it was
    /// given another id); an edge spelled with `from`/`to` is refused.
    pub fn prepare_proposal(self, proposal: &mut Proposal) -> Result<()> {
        if self == Service::Faithful {
            return Ok(());
        }
        for (i, edge) in proposal.edges.iter_mut().enumerate() {
            let text = |name: &str| edge.fields.get(name).and_then(Value::as_str).map(str::to_owned);
            let (source, target) = (text("source"), text("target"));
            if (text("from").is_some() || text("to").is_some()) && (source.is_none() || target.is_none()) {
                return Err(Error::at(
                    ErrorCode::InvalidProposal,
                    format!("edges[{i}]"),
                    "the knowledge-graph service stores an edge given by from/to as 'undefined_undefined': give source and target",
                ));
            }
            let (Some(source), Some(target)) = (source, target) else { continue };
            let stored = default_edge_id(&source, &target);
            if edge.key != stored {
                proposal.warnings.push(
                    Warning::new(
                        WarningCode::EdgeIdRewritten,
                        format!("the knowledge-graph service names edges source_target: edge '{}' is stored as '{stored}'", edge.key),
                    )
                    .edge(&stored),
                );
                edge.key = stored.clone();
            }
            if edge.fields.contains_key("id") {
                edge.fields.insert("id".to_owned(), json!(stored));
            }
        }
        Ok(())
    }

    /// The differences between two graphs read from this service, as its
    /// user sees them: both in the read shape, and the metadata the service
    /// writes by itself apart, in `server_written`.
    pub fn diff_versions(self, before: &Graph, after: &Graph, text: Option<&TextDiffOptions>) -> GraphDiff {
        if self == Service::Faithful {
            return diff_graphs(before, after, text);
        }
        let mut diff = diff_graphs(&self.read_shape(before), &self.read_shape(after), text);
        let (server, changes): (Vec<Change>, Vec<Change>) = diff.changes.into_iter().partition(|c| self.writes(c));
        diff.summary = Summary::of(&changes);
        diff.changes = changes;
        diff.server_written = server;
        diff
    }

    /// After a save: gives every edge the id the service stored it under.
    /// Returns whether any id changed.
    pub fn adopt_edge_ids(self, graph: &mut Graph) -> bool {
        if self == Service::Faithful {
            return false;
        }
        graph.set_edge_ids(|fields| {
            let end = |name: &str| fields.get(name).and_then(Value::as_str);
            match (end("source"), end("target")) {
                (Some(source), Some(target)) => Some(default_edge_id(source, target)),
                _ => None,
            }
        })
    }
}

/// JavaScript's falsiness, for the service's `value || default`.
fn falsy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => true,
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

/// Drops null-valued keys of objects, recursively (not inside arrays).
fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(fields) => {
            Value::Object(fields.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), strip_nulls(v))).collect())
        }
        other => other.clone(),
    }
}

/// A node as the service stores it (its `enrichGraphData`).
fn stored_node(node: &Value) -> Value {
    let Value::Object(mut fields) = node.clone() else { return node.clone() };
    if !fields.get("bibl").is_some_and(Value::is_array) {
        fields.insert("bibl".to_owned(), json!([]));
    }
    for name in ["type", "info"] {
        if falsy(fields.get(name)) {
            fields.insert(name.to_owned(), Value::Null);
        }
    }
    if falsy(fields.get("position")) {
        fields.insert("position".to_owned(), json!({"x": 0, "y": 0}));
    }
    for name in ["imageWidth", "imageHeight"] {
        if falsy(fields.get(name)) {
            fields.insert(name.to_owned(), Value::Null);
        }
    }
    let visible = fields.get("visible") != Some(&Value::Bool(false));
    fields.insert("visible".to_owned(), json!(visible));
    if falsy(fields.get("path")) {
        fields.insert("path".to_owned(), Value::Null);
    }
    Value::Object(fields)
}

/// A stored node as the current-graph read returns it (`sanitizeGraphData`).
fn shape_node(node: &Value) -> Value {
    let Value::Object(mut fields) = strip_nulls(node) else { return node.clone() };
    let visible = fields.get("visible") != Some(&Value::Bool(false));
    fields.insert("visible".to_owned(), json!(visible));
    if falsy(fields.get("position")) {
        fields.insert("position".to_owned(), json!({"x": 0, "y": 0}));
    }
    for name in ["imageWidth", "imageHeight", "path"] {
        if falsy(fields.get(name)) {
            fields.insert(name.to_owned(), Value::Null);
        }
    }
    Value::Object(fields)
}

/// A stored edge as the current-graph read returns it: its id rewritten
/// and only `source`, `target`, `label`, `type` and `info` kept.
fn shape_edge(edge: &Value) -> Value {
    let Value::Object(fields) = strip_nulls(edge) else { return edge.clone() };
    let end = |name: &str| fields.get(name).and_then(Value::as_str).unwrap_or("undefined");
    let mut shaped = Map::new();
    shaped.insert("id".to_owned(), json!(default_edge_id(end("source"), end("target"))));
    for name in ["source", "target", "label", "type", "info"] {
        if let Some(value) = fields.get(name) {
            shaped.insert(name.to_owned(), value.clone());
        }
    }
    Value::Object(shaped)
}

#[cfg(test)]
mod tests;
