//! A graph delta: what one approval changed, as the new values of exactly
//! what changed. It is what a client sends to save an approval and what a
//! history server applies, so both sides run this code.
//!
//! A delta patches fields of existing nodes, edges and the metadata (values
//! to set, fields to remove), adds whole nodes and edges, and removes nodes
//! and edges by id. Applied to the graph the approval was based on, it gives
//! exactly the approved graph — field order included: a field that is set
//! keeps its place, a new one goes last, added nodes and edges go last in
//! the order given, and removals keep the order of the rest.
//!
//! ```
//! use kg_approval::{delta::GraphDelta, Graph};
//! use serde_json::json;
//! let mut graph = Graph::from_value(json!({
//!     "nodes": [{"id": "a", "label": "A", "info": "long text"}, {"id": "b"}],
//!     "edges": [{"source": "a", "target": "b"}]
//! })).unwrap();
//! let delta = GraphDelta::from_value(json!({
//!     "patchNodes": [{"nodeId": "a", "fields": {"label": "New", "color": "red"}}],
//!     "addNodes": [{"id": "c", "label": "C"}],
//! })).unwrap();
//! delta.apply_to(&mut graph).unwrap();
//! assert_eq!(graph.to_json(), r#"{"nodes":[{"id":"a","label":"New","info":"long text","color":"red"},{"id":"b"},{"id":"c","label":"C"}],"edges":[{"source":"a","target":"b"}]}"#);
//! ```

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, Result};
use crate::fields::Fields;
use crate::graph::{Edge, EdgeLookup, Graph, Node, endpoint};
use crate::value::set_field;

/// Field changes of one node, edge or the metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldPatch {
    /// Fields to set, in order: an existing field keeps its place, a new
    /// one is appended.
    pub fields: Map<String, Value>,
    /// Fields to remove.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove_fields: Vec<String>,
}

impl FieldPatch {
    fn read(value: &Value, path: &str) -> Result<FieldPatch> {
        let f = Fields::of(value, path, ErrorCode::InvalidDelta).only(&["fields", "removeFields"]);
        let patch = FieldPatch { fields: f.map("fields"), remove_fields: f.strings("removeFields") };
        f.finish(patch)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.remove_fields.is_empty()
    }
}

/// Field changes of one node (`/patchNode`'s `nodeId` and `fields`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePatch {
    pub node_id: String,
    pub fields: Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove_fields: Vec<String>,
}

/// Field changes of one edge, found by its id (or `${source}_${target}` for
/// an edge without one).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgePatch {
    pub edge_id: String,
    pub fields: Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove_fields: Vec<String>,
}

macro_rules! field_patch {
    ($t:ty) => {
        impl $t {
            /// Applies the patch to the entity's fields (see [`FieldPatch::apply`]).
            pub fn apply(&self, target: &mut Map<String, Value>) {
                apply_fields(target, &self.fields, &self.remove_fields);
            }

            /// Whether the patch sets or removes `key`.
            pub fn touches(&self, key: &str) -> bool {
                self.fields.contains_key(key) || self.remove_fields.iter().any(|k| k == key)
            }
        }
    };
}
field_patch!(FieldPatch);
field_patch!(NodePatch);
field_patch!(EdgePatch);

fn apply_fields(target: &mut Map<String, Value>, fields: &Map<String, Value>, remove: &[String]) {
    for (key, value) in fields {
        set_field(target, key, value.clone());
    }
    for key in remove {
        target.shift_remove(key);
    }
}

/// See the [module docs](self).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphDelta {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patch_nodes: Vec<NodePatch>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add_nodes: Vec<Map<String, Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove_node_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patch_edges: Vec<EdgePatch>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add_edges: Vec<Map<String, Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove_edge_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_metadata: Option<FieldPatch>,
    /// Top-level fields besides nodes, edges and metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_graph: Option<FieldPatch>,
}

/// What a delta is checked against: the graph it is based on, as a history
/// server or a client holds it.
pub trait DeltaBase {
    fn has_node(&self, id: &str) -> bool;
    /// How an edge key resolves.
    fn edge_lookup(&self, key: &str) -> EdgeLookup;
    /// The keys of the edges that start or end at `node_id`.
    fn edges_at(&self, node_id: &str) -> Vec<String>;
}

impl DeltaBase for Graph {
    fn has_node(&self, id: &str) -> bool {
        self.node(id).is_some()
    }

    fn edge_lookup(&self, key: &str) -> EdgeLookup {
        Graph::edge_lookup(self, key)
    }

    fn edges_at(&self, node_id: &str) -> Vec<String> {
        self.edges_touching(node_id).map(|e| e.key().to_owned()).collect()
    }
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
    Error::at(ErrorCode::InvalidDelta, path, message)
}

impl GraphDelta {
    /// Parses and checks the shape of a delta: ids are non-empty strings,
    /// added nodes and edges are valid, no id is patched twice or both
    /// patched and removed, and a node's `id` is never patched (that would
    /// be a different node).
    pub fn from_value(value: Value) -> Result<GraphDelta> {
        GraphDelta::read(&value, "")
    }

    /// [`GraphDelta::from_value`] of a delta inside something else, at `path`.
    pub fn read(value: &Value, path: &str) -> Result<GraphDelta> {
        let f = Fields::of(value, path, ErrorCode::InvalidDelta).only(&[
            "patchNodes",
            "addNodes",
            "removeNodeIds",
            "patchEdges",
            "addEdges",
            "removeEdgeIds",
            "patchMetadata",
            "patchGraph",
        ]);
        let delta = GraphDelta {
            patch_nodes: f.list("patchNodes", |v, path| {
                let f = Fields::of(v, path, ErrorCode::InvalidDelta).only(&["nodeId", "fields", "removeFields"]);
                let patch = NodePatch { node_id: f.string("nodeId"), fields: f.map("fields"), remove_fields: f.strings("removeFields") };
                f.finish(patch)
            }),
            add_nodes: f.objects("addNodes"),
            remove_node_ids: f.strings("removeNodeIds"),
            patch_edges: f.list("patchEdges", |v, path| {
                let f = Fields::of(v, path, ErrorCode::InvalidDelta).only(&["edgeId", "fields", "removeFields"]);
                let patch = EdgePatch { edge_id: f.string("edgeId"), fields: f.map("fields"), remove_fields: f.strings("removeFields") };
                f.finish(patch)
            }),
            add_edges: f.objects("addEdges"),
            remove_edge_ids: f.strings("removeEdgeIds"),
            patch_metadata: f.read("patchMetadata", FieldPatch::read),
            patch_graph: f.read("patchGraph", FieldPatch::read),
        };
        let delta = f.finish(delta)?;
        delta.check_shape()?;
        Ok(delta)
    }

    fn check_shape(&self) -> Result<()> {
        let mut patched = HashSet::new();
        for (i, p) in self.patch_nodes.iter().enumerate() {
            if p.node_id.is_empty() {
                return Err(invalid(format!("patchNodes[{i}].nodeId"), "must be a non-empty string"));
            }
            if p.touches("id") {
                return Err(invalid(format!("patchNodes[{i}].fields.id"), "a node's id cannot be patched: remove it and add a new node"));
            }
            if !patched.insert(p.node_id.as_str()) {
                return Err(invalid(format!("patchNodes[{i}].nodeId"), format!("node '{}' is patched twice", p.node_id)));
            }
        }
        let removed: HashSet<&str> = self.remove_node_ids.iter().map(String::as_str).collect();
        for (i, id) in self.remove_node_ids.iter().enumerate() {
            if patched.contains(id.as_str()) {
                return Err(Error::at(
                    ErrorCode::ConflictingOperations,
                    format!("removeNodeIds[{i}]"),
                    format!("node '{id}' is both patched and removed"),
                ));
            }
        }
        if removed.len() != self.remove_node_ids.len() {
            return Err(invalid("removeNodeIds", "lists a node twice"));
        }
        let mut added = HashSet::new();
        for (i, fields) in self.add_nodes.iter().enumerate() {
            let node = Node::from_fields(fields.clone()).map_err(|e| at_item(e, "addNodes", i))?;
            if !added.insert(node.id().to_owned()) || patched.contains(node.id()) || removed.contains(node.id()) {
                return Err(invalid(format!("addNodes[{i}].id"), format!("node '{}' appears twice in the delta", node.id())));
            }
        }
        let mut patched_edges = HashSet::new();
        for (i, p) in self.patch_edges.iter().enumerate() {
            if p.edge_id.is_empty() {
                return Err(invalid(format!("patchEdges[{i}].edgeId"), "must be a non-empty string"));
            }
            if p.touches("id") {
                return Err(invalid(format!("patchEdges[{i}].fields.id"), "an edge's id cannot be patched: remove it and add a new edge"));
            }
            if !patched_edges.insert(p.edge_id.as_str()) || self.remove_edge_ids.contains(&p.edge_id) {
                return Err(invalid(format!("patchEdges[{i}].edgeId"), format!("edge '{}' is patched twice or also removed", p.edge_id)));
            }
        }
        for (i, fields) in self.add_edges.iter().enumerate() {
            Edge::from_fields(fields.clone()).map_err(|e| at_item(e, "addEdges", i))?;
        }
        if let Some(patch) = &self.patch_graph {
            let fields = patch.fields.keys().map(|k| ("fields", k)).chain(patch.remove_fields.iter().map(|k| ("removeFields", k)));
            for (list, field) in fields {
                if crate::graph::is_structural(field) {
                    return Err(invalid(format!("patchGraph.{list}.{field}"), "nodes, edges and metadata have patches of their own"));
                }
            }
        }
        Ok(())
    }

    /// Whether the delta changes nothing.
    pub fn is_empty(&self) -> bool {
        self.patch_nodes.is_empty()
            && self.add_nodes.is_empty()
            && self.remove_node_ids.is_empty()
            && self.patch_edges.is_empty()
            && self.add_edges.is_empty()
            && self.remove_edge_ids.is_empty()
            && self.patch_metadata.as_ref().is_none_or(FieldPatch::is_empty)
            && self.patch_graph.as_ref().is_none_or(FieldPatch::is_empty)
    }

    /// Checks the delta against the graph it is based on: patched and
    /// removed nodes and edges exist (and edge ids are not ambiguous), added
    /// ones do not, and no edge is left pointing at a removed node.
    pub fn check(&self, base: &impl DeltaBase) -> Result<()> {
        for (i, p) in self.patch_nodes.iter().enumerate() {
            if !base.has_node(&p.node_id) {
                return Err(Error::at(
                    ErrorCode::UnknownNode,
                    format!("patchNodes[{i}].nodeId"),
                    format!("no node '{}' to patch", p.node_id),
                ));
            }
        }
        for (i, id) in self.remove_node_ids.iter().enumerate() {
            if !base.has_node(id) {
                return Err(Error::at(ErrorCode::UnknownNode, format!("removeNodeIds[{i}]"), format!("no node '{id}' to remove")));
            }
        }
        for (i, fields) in self.add_nodes.iter().enumerate() {
            let id = fields.get("id").and_then(Value::as_str).unwrap_or_default();
            if base.has_node(id) {
                return Err(Error::at(ErrorCode::DuplicateNodeId, format!("addNodes[{i}].id"), format!("node '{id}' already exists")));
            }
        }
        for (i, p) in self.patch_edges.iter().enumerate() {
            edge_exists(base, &p.edge_id, &format!("patchEdges[{i}].edgeId"), true)?;
        }
        for (i, key) in self.remove_edge_ids.iter().enumerate() {
            edge_exists(base, key, &format!("removeEdgeIds[{i}]"), false)?;
        }
        let mut added_keys = HashSet::new();
        for (i, fields) in self.add_edges.iter().enumerate() {
            let edge = Edge::from_fields(fields.clone()).map_err(|e| at_item(e, "addEdges", i))?;
            if base.edge_lookup(edge.key()) != EdgeLookup::Missing || !added_keys.insert(edge.key().to_owned()) {
                return Err(invalid(format!("addEdges[{i}]"), format!("edge '{}' already exists", edge.key())));
            }
        }
        self.check_no_dangling_edges(base)
    }

    fn check_no_dangling_edges(&self, base: &impl DeltaBase) -> Result<()> {
        if self.remove_node_ids.is_empty() {
            return Ok(());
        }
        let removed_nodes: HashSet<&str> = self.remove_node_ids.iter().map(String::as_str).collect();
        let removed_edges: HashSet<&str> = self.remove_edge_ids.iter().map(String::as_str).collect();
        for (i, id) in self.remove_node_ids.iter().enumerate() {
            if let Some(edge) = base.edges_at(id).into_iter().find(|k| !removed_edges.contains(k.as_str())) {
                return Err(Error::at(
                    ErrorCode::DanglingEdge,
                    format!("removeNodeIds[{i}]"),
                    format!("edge '{edge}' would point at the removed node '{id}': remove it too"),
                ));
            }
        }
        fn dangling<'f>(fields: &'f Map<String, Value>, removed: &HashSet<&str>) -> Option<&'f str> {
            [endpoint(fields, "source", "from"), endpoint(fields, "target", "to")].into_iter().flatten().find(|e| removed.contains(e))
        }
        for (i, fields) in self.add_edges.iter().enumerate() {
            if let Some(end) = dangling(fields, &removed_nodes) {
                return Err(Error::at(ErrorCode::DanglingEdge, format!("addEdges[{i}]"), format!("points at the removed node '{end}'")));
            }
        }
        for (i, p) in self.patch_edges.iter().enumerate() {
            if let Some(end) = dangling(&p.fields, &removed_nodes) {
                return Err(Error::at(ErrorCode::DanglingEdge, format!("patchEdges[{i}]"), format!("points at the removed node '{end}'")));
            }
        }
        Ok(())
    }

    /// Checks the delta against `graph` and applies it; a refused delta
    /// changes nothing.
    pub fn apply_to(&self, graph: &mut Graph) -> Result<()> {
        self.check(graph)?;
        for p in &self.patch_nodes {
            if let Some(node) = graph.node_mut(&p.node_id) {
                p.apply(node.fields_mut());
            }
        }
        let mut rekey = false;
        for p in &self.patch_edges {
            if let Some(edge) = graph.edge_mut(&p.edge_id) {
                p.apply(edge.fields_mut());
            }
            rekey |= ["source", "target", "from", "to"].iter().any(|k| p.touches(k));
        }
        if let Some(patch) = &self.patch_metadata {
            patch.apply(graph.metadata_mut());
        }
        if let Some(patch) = &self.patch_graph {
            for (field, value) in &patch.fields {
                graph.set_top_level(field, Some(value));
            }
            for field in &patch.remove_fields {
                graph.set_top_level(field, None);
            }
        }
        for fields in &self.add_nodes {
            graph.push_node(Node::from_fields(fields.clone())?);
        }
        for fields in &self.add_edges {
            graph.push_edge(Edge::from_fields(fields.clone())?);
        }
        let nodes: HashSet<&str> = self.remove_node_ids.iter().map(String::as_str).collect();
        let edges: HashSet<&str> = self.remove_edge_ids.iter().map(String::as_str).collect();
        graph.remove(&nodes, &edges);
        if rekey {
            graph.rekey_edges();
        }
        Ok(())
    }

    /// The JSON size of the delta's content (what the benchmarks compare
    /// wire and disk bytes with).
    pub fn json_len(&self) -> usize {
        serde_json::to_string(self).map_or(0, |s| s.len())
    }
}

fn edge_exists(base: &impl DeltaBase, key: &str, path: &str, unambiguous: bool) -> Result<()> {
    match base.edge_lookup(key) {
        EdgeLookup::Missing => Err(Error::at(ErrorCode::UnknownEdge, path, format!("no edge '{key}'"))),
        EdgeLookup::Ambiguous if unambiguous => {
            Err(Error::at(ErrorCode::AmbiguousEdgeId, path, format!("several edges have the id '{key}': a patch would be a guess")))
        }
        _ => Ok(()),
    }
}

fn at_item(e: Error, list: &str, i: usize) -> Error {
    let path = match e.path() {
        Some(inner) => format!("{list}[{i}].{inner}"),
        None => format!("{list}[{i}]"),
    };
    Error::at(ErrorCode::InvalidDelta, path, e.detail())
}

/// Builds the delta of one approval while it is applied: the fields each
/// change and stamp writes, the nodes and edges it adds and removes.
#[derive(Debug, Default)]
pub(crate) struct DeltaBuilder {
    delta: GraphDelta,
    node_at: HashMap<String, usize>,
    edge_at: HashMap<String, usize>,
}

impl DeltaBuilder {
    /// Records `field` of node `id` set to `value` (`None`: removed).
    pub fn node_field(&mut self, id: &str, field: &str, value: Option<&Value>) {
        let list = &mut self.delta.patch_nodes;
        let i = *self.node_at.entry(id.to_owned()).or_insert_with(|| {
            list.push(NodePatch { node_id: id.to_owned(), ..NodePatch::default() });
            list.len() - 1
        });
        let p = &mut list[i];
        record(&mut p.fields, &mut p.remove_fields, field, value);
    }

    pub fn edge_field(&mut self, key: &str, field: &str, value: Option<&Value>) {
        let list = &mut self.delta.patch_edges;
        let i = *self.edge_at.entry(key.to_owned()).or_insert_with(|| {
            list.push(EdgePatch { edge_id: key.to_owned(), ..EdgePatch::default() });
            list.len() - 1
        });
        let p = &mut list[i];
        record(&mut p.fields, &mut p.remove_fields, field, value);
    }

    pub fn metadata_field(&mut self, field: &str, value: Option<&Value>) {
        let p = self.delta.patch_metadata.get_or_insert_with(FieldPatch::default);
        record(&mut p.fields, &mut p.remove_fields, field, value);
    }

    pub fn top_level_field(&mut self, field: &str, value: Option<&Value>) {
        let p = self.delta.patch_graph.get_or_insert_with(FieldPatch::default);
        record(&mut p.fields, &mut p.remove_fields, field, value);
    }

    pub fn add_node(&mut self, node: &Node) {
        self.delta.add_nodes.push(node.fields().clone());
    }

    pub fn add_edge(&mut self, edge: &Edge) {
        self.delta.add_edges.push(edge.fields().clone());
    }

    pub fn remove_node(&mut self, id: &str) {
        self.delta.remove_node_ids.push(id.to_owned());
    }

    pub fn remove_edge(&mut self, key: &str) {
        self.delta.remove_edge_ids.push(key.to_owned());
    }

    pub fn finish(self) -> GraphDelta {
        self.delta
    }
}

fn record(fields: &mut Map<String, Value>, remove: &mut Vec<String>, field: &str, value: Option<&Value>) {
    match value {
        Some(v) => {
            remove.retain(|k| k != field);
            set_field(fields, field, v.clone());
        }
        None => {
            fields.shift_remove(field);
            if !remove.iter().any(|k| k == field) {
                remove.push(field.to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests;
