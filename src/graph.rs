//! The knowledge graph: `{ metadata?, nodes: [Node], edges?: [Edge], ... }`.
//!
//! A [`Graph`] keeps every field it was given, known or not, in its original
//! order: nodes and edges are ordered maps, and unknown top-level fields stay
//! where they were. Nodes are indexed by id so that a proposal touching a few
//! nodes costs time in the size of the proposal, not of the graph.

use std::collections::{HashMap, HashSet};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, Result};
use crate::value::{as_text, type_name};

/// A node: its id and all of its fields (including `id`) in their order.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    id: String,
    fields: Map<String, Value>,
}

impl Node {
    /// A node from its fields; `fields["id"]` must be a non-empty string.
    pub fn from_fields(fields: Map<String, Value>) -> Result<Node> {
        let id = match fields.get("id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            Some(other) => {
                let what = if other.is_string() { "an empty string" } else { type_name(other) };
                return Err(Error::at(ErrorCode::InvalidGraph, "id", format!("must be a non-empty string, got {what}")));
            }
            None => return Err(Error::at(ErrorCode::InvalidGraph, "id", "is missing")),
        };
        Ok(Node { id, fields })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    pub(crate) fn fields_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.fields
    }

    /// The label to show a reviewer: `label` if it is a string, else the id.
    pub fn display_label(&self) -> &str {
        as_text(&self.fields, "label").unwrap_or(&self.id)
    }

    /// Hidden nodes (`visible: false`) are part of the graph like any other,
    /// but an AI that never saw them must not remove them by omission.
    pub fn is_hidden(&self) -> bool {
        self.fields.get("visible") == Some(&Value::Bool(false))
    }
}

/// An edge and the key it is found by: its `id`, or `${source}_${target}`
/// when it has none (the editor's default).
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    key: String,
    fields: Map<String, Value>,
}

impl Edge {
    /// An edge from its fields. Endpoints may be spelled `source`/`target` or
    /// `from`/`to`; they are kept as spelled.
    pub fn from_fields(fields: Map<String, Value>) -> Result<Edge> {
        for name in ["id", "source", "target", "from", "to"] {
            if let Some(v) = fields.get(name).filter(|v| !v.is_string()) {
                return Err(Error::at(ErrorCode::InvalidGraph, name, format!("must be a string, got {}", type_name(v))));
            }
        }
        if as_text(&fields, "id") == Some("") {
            return Err(Error::at(ErrorCode::InvalidGraph, "id", "must not be empty"));
        }
        match edge_key(&fields) {
            Some(key) => Ok(Edge { key, fields }),
            None => Err(Error::at(ErrorCode::InvalidGraph, "id", "an edge needs an id or both endpoints")),
        }
    }

    /// The id the edge is found by.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn source(&self) -> Option<&str> {
        endpoint(&self.fields, "source", "from")
    }

    pub fn target(&self) -> Option<&str> {
        endpoint(&self.fields, "target", "to")
    }

    pub fn touches(&self, node_id: &str) -> bool {
        self.source() == Some(node_id) || self.target() == Some(node_id)
    }

    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    pub(crate) fn fields_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.fields
    }
}

/// The key of an edge: its `id`, or the default id from its endpoints.
fn edge_key(fields: &Map<String, Value>) -> Option<String> {
    match as_text(fields, "id") {
        Some(id) => Some(id.to_owned()),
        None => Some(default_edge_id(endpoint(fields, "source", "from")?, endpoint(fields, "target", "to")?)),
    }
}

/// What to call an edge on screen: its own `label`, or `Source → Target`
/// with the endpoints' names as `name_of` gives them (their ids otherwise).
pub fn edge_label(fields: &Map<String, Value>, name_of: impl Fn(&str) -> Option<String>) -> String {
    if let Some(label) = as_text(fields, "label").filter(|l| !l.is_empty()) {
        return label.to_owned();
    }
    let name = |end: Option<&str>| end.map_or_else(|| "?".to_owned(), |id| name_of(id).unwrap_or_else(|| id.to_owned()));
    format!("{} → {}", name(endpoint(fields, "source", "from")), name(endpoint(fields, "target", "to")))
}

impl Graph {
    /// [`edge_label`] with the endpoints named by this graph's node labels.
    pub fn edge_label(&self, fields: &Map<String, Value>) -> String {
        edge_label(fields, |id| self.node(id).map(|n| n.display_label().to_owned()))
    }
}

/// `nodes`, `edges` and `metadata`: the top-level fields with a structure of their own.
pub fn is_structural(field: &str) -> bool {
    matches!(field, "nodes" | "edges" | "metadata")
}

/// The editor's default edge id.
pub fn default_edge_id(source: &str, target: &str) -> String {
    format!("{source}_{target}")
}

pub(crate) fn endpoint<'a>(fields: &'a Map<String, Value>, name: &str, alias: &str) -> Option<&'a str> {
    as_text(fields, name).or_else(|| as_text(fields, alias))
}

/// How an edge key resolves in a graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeLookup {
    Missing,
    Found(usize),
    /// Several edges share the key; the graph keeps them all, but an update
    /// by that key would be a guess.
    Ambiguous,
}

/// A knowledge graph. See the [module docs](self).
///
/// ```
/// use kg_approval::Graph;
/// let graph = Graph::from_json(r#"{"nodes":[{"id":"a","label":"A","custom":1}],"edges":[]}"#).unwrap();
/// assert_eq!(graph.node("a").unwrap().display_label(), "A");
/// assert_eq!(graph.to_json(), r#"{"nodes":[{"id":"a","label":"A","custom":1}],"edges":[]}"#);
/// ```
#[derive(Clone, Debug)]
pub struct Graph {
    /// Top-level fields in order; `metadata`, `nodes` and `edges` hold
    /// placeholders whose content lives in the fields below.
    root: Map<String, Value>,
    metadata: Option<Map<String, Value>>,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    node_index: HashMap<String, usize>,
    edge_index: HashMap<String, EdgeLookup>,
    /// Node id → positions of the edges that start or end there.
    adjacency: HashMap<String, Vec<usize>>,
}

impl Graph {
    /// Parses JSON text (a leading UTF-8 byte-order mark is allowed).
    pub fn from_json(text: &str) -> Result<Graph> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value: Value = text.parse().map_err(|e| Error::new(ErrorCode::InvalidGraph, format!("graph is not valid JSON: {e}")))?;
        Graph::from_value(value)
    }

    /// Validates and indexes a graph value.
    pub fn from_value(value: Value) -> Result<Graph> {
        let Value::Object(mut root) = value else {
            return Err(Error::new(ErrorCode::InvalidGraph, format!("graph must be an object, got {}", type_name(&value))));
        };
        let is_save_body = root.contains_key("graphData");
        let nodes = match root.get_mut("nodes") {
            Some(Value::Array(items)) => std::mem::take(items),
            Some(other) => {
                return Err(Error::at(ErrorCode::InvalidGraph, "nodes", format!("must be an array, got {}", type_name(other))));
            }
            None if is_save_body => {
                return Err(Error::at(ErrorCode::InvalidGraph, "nodes", "is missing (this looks like a save body: pass its graphData)"));
            }
            None => return Err(Error::at(ErrorCode::InvalidGraph, "nodes", "is missing")),
        };
        let edges = match root.get_mut("edges") {
            Some(Value::Array(items)) => std::mem::take(items),
            Some(other) => {
                return Err(Error::at(ErrorCode::InvalidGraph, "edges", format!("must be an array, got {}", type_name(other))));
            }
            None => Vec::new(),
        };
        let metadata = match root.get_mut("metadata") {
            Some(Value::Object(meta)) => Some(std::mem::take(meta)),
            // Kept as null on output until something is written to it.
            Some(Value::Null) | None => None,
            Some(other) => {
                return Err(Error::at(ErrorCode::InvalidGraph, "metadata", format!("must be an object, got {}", type_name(other))));
            }
        };

        let mut graph = Graph {
            root,
            metadata,
            nodes: Vec::with_capacity(nodes.len()),
            edges: Vec::with_capacity(edges.len()),
            node_index: HashMap::new(),
            edge_index: HashMap::new(),
            adjacency: HashMap::new(),
        };
        for (i, item) in nodes.into_iter().enumerate() {
            let node = parse_item(item, "nodes", i, Node::from_fields)?;
            if let Some(first) = graph.node_index.get(node.id()) {
                return Err(Error::at(
                    ErrorCode::DuplicateNodeId,
                    format!("nodes[{i}].id"),
                    format!("'{}' is also the id of nodes[{first}]", node.id()),
                ));
            }
            graph.node_index.insert(node.id.clone(), i);
            graph.nodes.push(node);
        }
        for (i, item) in edges.into_iter().enumerate() {
            graph.edges.push(parse_item(item, "edges", i, Edge::from_fields)?);
        }
        graph.reindex_edges();
        Ok(graph)
    }

    /// The graph as a JSON value, every field in its original order.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The graph as compact JSON text.
    pub fn to_json(&self) -> String {
        // Serializing maps with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The graph as compact JSON text with `metadata.version` set to
    /// `version` (kept in place, else last; metadata created first if the
    /// graph has none), or removed if `None` — without copying the graph.
    ///
    /// ```
    /// use kg_approval::Graph;
    /// use serde_json::json;
    /// let graph = Graph::from_json(r#"{"metadata":{"version":4,"title":"T"},"nodes":[]}"#).unwrap();
    /// assert_eq!(graph.to_json_with_version(Some(&json!(5))), r#"{"metadata":{"version":5,"title":"T"},"nodes":[]}"#);
    /// assert_eq!(graph.to_json_with_version(None), r#"{"metadata":{"title":"T"},"nodes":[]}"#);
    /// ```
    pub fn to_json_with_version(&self, version: Option<&Value>) -> String {
        serde_json::to_string(&WithVersion { graph: self, version }).unwrap_or_default()
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.node_index.get(id).map(|&i| &self.nodes[i])
    }

    pub fn edge_lookup(&self, key: &str) -> EdgeLookup {
        self.edge_index.get(key).copied().unwrap_or(EdgeLookup::Missing)
    }

    pub fn edge(&self, key: &str) -> Option<&Edge> {
        match self.edge_lookup(key) {
            EdgeLookup::Found(i) => Some(&self.edges[i]),
            _ => None,
        }
    }

    /// The edges that start or end at `node_id`, in graph order.
    pub fn edges_touching(&self, node_id: &str) -> impl Iterator<Item = &Edge> {
        self.adjacency.get(node_id).into_iter().flatten().map(|&i| &self.edges[i])
    }

    pub fn metadata(&self) -> Option<&Map<String, Value>> {
        self.metadata.as_ref()
    }

    /// `metadata.version`: the version this graph was saved as, if any.
    pub fn version(&self) -> Option<&Value> {
        self.metadata().and_then(|m| m.get("version"))
    }

    /// Sets `metadata.version` (the history server numbers what it stores).
    ///
    /// ```
    /// use kg_approval::Graph;
    /// use serde_json::json;
    /// let mut graph = Graph::from_value(json!({"nodes": []})).unwrap();
    /// graph.set_version(json!(3));
    /// assert_eq!(graph.version(), Some(&json!(3)));
    /// ```
    pub fn set_version(&mut self, version: Value) {
        self.metadata_mut().insert("version".to_owned(), version);
    }

    /// The top-level fields in order. `metadata`, `nodes` and `edges` hold
    /// placeholders here; their content is [`Graph::metadata`],
    /// [`Graph::nodes`] and [`Graph::edges`].
    pub fn root(&self) -> &Map<String, Value> {
        &self.root
    }

    /// A top-level field other than `nodes`/`edges` (e.g. `id`).
    pub fn root_field(&self, key: &str) -> Option<&Value> {
        self.root.get(key)
    }

    /// The top-level fields besides `nodes`, `edges` and `metadata`
    /// (`id`, `description`, `license`...), in order.
    pub fn top_level(&self) -> Map<String, Value> {
        self.root.iter().filter(|(k, _)| !is_structural(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Sets (or with `None` removes) a top-level field besides `nodes`,
    /// `edges` and `metadata`, which it leaves alone; an existing field keeps
    /// its place, a new one goes last.
    pub(crate) fn set_top_level(&mut self, field: &str, value: Option<&Value>) {
        if is_structural(field) {
            return;
        }
        match value {
            Some(value) => {
                self.root.insert(field.to_owned(), value.clone());
            }
            None => {
                self.root.shift_remove(field);
            }
        }
    }

    pub(crate) fn node_mut(&mut self, id: &str) -> Option<&mut Node> {
        self.node_index.get(id).map(|&i| &mut self.nodes[i])
    }

    pub(crate) fn edge_mut(&mut self, key: &str) -> Option<&mut Edge> {
        match self.edge_lookup(key) {
            EdgeLookup::Found(i) => Some(&mut self.edges[i]),
            _ => None,
        }
    }

    /// Metadata for writing, created (as the first field) if the graph had none.
    pub(crate) fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        if !self.root.contains_key("metadata") {
            self.root.shift_insert(0, "metadata".to_owned(), Value::Null);
        }
        self.metadata.get_or_insert_with(Map::new)
    }

    pub(crate) fn push_node(&mut self, node: Node) {
        self.node_index.insert(node.id.clone(), self.nodes.len());
        self.nodes.push(node);
    }

    pub(crate) fn push_edge(&mut self, edge: Edge) {
        if !self.root.contains_key("edges") {
            self.root.insert("edges".to_owned(), Value::Null);
        }
        let slot = match self.edge_index.get(&edge.key) {
            None => EdgeLookup::Found(self.edges.len()),
            Some(_) => EdgeLookup::Ambiguous,
        };
        self.edge_index.insert(edge.key.clone(), slot);
        self.index_endpoints(self.edges.len(), &edge);
        self.edges.push(edge);
    }

    /// Removes the given nodes and edges, keeping the order of the rest.
    pub(crate) fn remove(&mut self, node_ids: &HashSet<&str>, edge_keys: &HashSet<&str>) {
        if !node_ids.is_empty() {
            self.nodes.retain(|n| !node_ids.contains(n.id()));
            self.node_index = self.nodes.iter().enumerate().map(|(i, n)| (n.id.clone(), i)).collect();
        }
        if !edge_keys.is_empty() {
            self.edges.retain(|e| !edge_keys.contains(e.key()));
            self.reindex_edges();
        }
    }

    /// Recomputes the keys of edges after their endpoints changed (an edge
    /// without an `id` is found by its endpoints).
    pub(crate) fn rekey_edges(&mut self) {
        for edge in &mut self.edges {
            if let Some(key) = edge_key(&edge.fields) {
                edge.key = key;
            }
        }
        self.reindex_edges();
    }

    /// Sets the `id` of each edge for which `id_of` gives one (a new `id`
    /// field goes last, as a spread would put it); returns whether any changed.
    pub(crate) fn set_edge_ids(&mut self, id_of: impl Fn(&Map<String, Value>) -> Option<String>) -> bool {
        let mut changed = false;
        for edge in &mut self.edges {
            let Some(id) = id_of(&edge.fields) else { continue };
            if as_text(&edge.fields, "id") != Some(id.as_str()) {
                edge.fields.insert("id".to_owned(), Value::String(id.clone()));
                edge.key = id;
                changed = true;
            }
        }
        if changed {
            self.reindex_edges();
        }
        changed
    }

    fn reindex_edges(&mut self) {
        self.edge_index.clear();
        self.adjacency.clear();
        let edges = std::mem::take(&mut self.edges);
        for (i, edge) in edges.iter().enumerate() {
            self.edge_index.entry(edge.key.clone()).and_modify(|slot| *slot = EdgeLookup::Ambiguous).or_insert(EdgeLookup::Found(i));
            self.index_endpoints(i, edge);
        }
        self.edges = edges;
    }

    fn index_endpoints(&mut self, i: usize, edge: &Edge) {
        let (source, target) = (edge.source(), edge.target());
        for end in [source, target.filter(|t| Some(*t) != source)].into_iter().flatten() {
            self.adjacency.entry(end.to_owned()).or_default().push(i);
        }
    }
}

fn parse_item<T>(item: Value, list: &str, i: usize, make: fn(Map<String, Value>) -> Result<T>) -> Result<T> {
    match item {
        Value::Object(fields) => make(fields).map_err(|e| {
            let path = format!("{list}[{i}].{}", e.path().unwrap_or_default());
            Error::at(e.code(), path, e.detail())
        }),
        other => Err(Error::at(ErrorCode::InvalidGraph, format!("{list}[{i}]"), format!("must be an object, got {}", type_name(&other)))),
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.fields.serialize(s)
    }
}

impl Serialize for Edge {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.fields.serialize(s)
    }
}

struct Items<'a, T>(&'a [T]);

impl<T: Serialize> Serialize for Items<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

/// A graph serialized with another `metadata.version` (see [`Graph::to_json_with_version`]).
struct WithVersion<'a> {
    graph: &'a Graph,
    version: Option<&'a Value>,
}

struct MetadataWithVersion<'a>(Option<&'a Map<String, Value>>, Option<&'a Value>);

impl Serialize for MetadataWithVersion<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let empty = Map::new();
        let meta = self.0.unwrap_or(&empty);
        let mut map = s.serialize_map(None)?;
        for (key, value) in meta {
            match (key.as_str(), self.1) {
                ("version", Some(version)) => map.serialize_entry(key, version)?,
                ("version", None) => {}
                _ => map.serialize_entry(key, value)?,
            }
        }
        if let (false, Some(version)) = (meta.contains_key("version"), self.1) {
            map.serialize_entry("version", version)?;
        }
        map.end()
    }
}

impl Serialize for WithVersion<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let graph = self.graph;
        let meta = MetadataWithVersion(graph.metadata.as_ref(), self.version);
        let mut map = s.serialize_map(None)?;
        if !graph.root.contains_key("metadata") && self.version.is_some() {
            map.serialize_entry("metadata", &meta)?;
        }
        for (key, value) in &graph.root {
            match key.as_str() {
                "nodes" => map.serialize_entry(key, &Items(&graph.nodes))?,
                "edges" => map.serialize_entry(key, &Items(&graph.edges))?,
                "metadata" if graph.metadata.is_none() && self.version.is_none() => map.serialize_entry(key, &Value::Null)?,
                "metadata" => map.serialize_entry(key, &meta)?,
                _ => map.serialize_entry(key, value)?,
            }
        }
        map.end()
    }
}

impl Serialize for Graph {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.root.len()))?;
        for (key, value) in &self.root {
            match key.as_str() {
                "nodes" => map.serialize_entry(key, &Items(&self.nodes))?,
                "edges" => map.serialize_entry(key, &Items(&self.edges))?,
                "metadata" => map.serialize_entry(key, &self.metadata)?,
                _ => map.serialize_entry(key, value)?,
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(value: Value) -> Error {
        Graph::from_value(value).unwrap_err()
    }

    /// Every number comes back as the same f64, so a stored graph hashes and
    /// compares the same after any number of parses (found by fuzzing: a
    /// 45-digit integer moved by one ulp and broke the hash chain).
    #[test]
    fn numbers_survive_parse_and_print_exactly() {
        let text = r#"{"nodes":[{"id":"a","n":[111111111111111111111111111111111111111111111,0.30000000000000004,5e-324,1.7976931348623157e308,9007199254740993,-0.0,123456789.12345679]}]}"#;
        let once = Graph::from_json(text).unwrap().to_json();
        let twice = Graph::from_json(&once).unwrap().to_json();
        assert_eq!(once, twice);
        let numbers = |t: &str| -> Vec<f64> {
            let v: Value = serde_json::from_str(t).unwrap();
            v["nodes"][0]["n"].as_array().unwrap().iter().map(|n| n.as_f64().unwrap()).collect()
        };
        let expected: Vec<f64> =
            vec![1.111111111111111e44, 0.30000000000000004, 5e-324, f64::MAX, 9007199254740992.0, -0.0, 123456789.12345679];
        assert_eq!(numbers(&once), expected);
    }

    #[test]
    fn round_trips_unknown_fields_in_order() {
        let text = r#"{"id":"g","metadata":{"title":"T","zeta":1,"alpha":2},"nodes":[{"z":1,"id":"a","visible":false,"a":{"k":2,"b":1}}],"edges":[{"from":"a","to":"a","label":"self"}],"created_date":"x"}"#;
        let graph = Graph::from_json(text).unwrap();
        assert_eq!(graph.to_json(), text);
        assert!(graph.node("a").unwrap().is_hidden());
        assert_eq!(graph.edge("a_a").unwrap().source(), Some("a"));
    }

    #[test]
    fn strips_byte_order_mark() {
        let graph = Graph::from_json("\u{feff}{\"nodes\":[]}").unwrap();
        assert_eq!(graph.nodes().len(), 0);
    }

    #[test]
    fn rejects_malformed_graphs_with_paths() {
        assert_eq!(err(json!([])).code(), ErrorCode::InvalidGraph);
        assert_eq!(err(json!({"nodes": {}})).path(), Some("nodes"));
        assert_eq!(err(json!({"nodes": [{"id": "a"}, 3]})).path(), Some("nodes[1]"));
        assert_eq!(err(json!({"nodes": [{"id": "a"}, {"id": ""}]})).path(), Some("nodes[1].id"));
        assert_eq!(err(json!({"nodes": [{"label": "x"}]})).path(), Some("nodes[0].id"));
        assert_eq!(err(json!({"nodes": [{"id": 7}]})).to_string(), "nodes[0].id: must be a non-empty string, got a number");
        assert_eq!(err(json!({"nodes": [], "edges": [{"label": "x"}]})).path(), Some("edges[0].id"));
        assert_eq!(err(json!({"nodes": [], "metadata": []})).path(), Some("metadata"));
        assert!(err(json!({"id": "g", "graphData": {}})).to_string().contains("graphData"));
    }

    #[test]
    fn duplicate_node_ids_are_refused() {
        let e = err(json!({"nodes": [{"id": "a"}, {"id": "b"}, {"id": "a"}]}));
        assert_eq!(e.code(), ErrorCode::DuplicateNodeId);
        assert_eq!(e.path(), Some("nodes[2].id"));
    }

    #[test]
    fn duplicate_edge_ids_are_kept_but_ambiguous() {
        let graph = Graph::from_value(json!({"nodes": [{"id": "a"}, {"id": "b"}], "edges": [{"source": "a", "target": "b"}, {"source": "a", "target": "b", "label": "2"}]})).unwrap();
        assert_eq!(graph.edges().len(), 2);
        assert_eq!(graph.edge_lookup("a_b"), EdgeLookup::Ambiguous);
    }

    #[test]
    fn metadata_is_created_first_when_missing() {
        let mut graph = Graph::from_value(json!({"nodes": [], "edges": []})).unwrap();
        graph.metadata_mut().insert("updated".into(), json!("t"));
        assert_eq!(graph.to_json(), r#"{"metadata":{"updated":"t"},"nodes":[],"edges":[]}"#);
    }

    #[test]
    fn the_value_is_the_json_text_parsed() {
        for text in [
            r#"{"description":"d","edges":[{"target":"a","source":"a","w":1.5e300}],"metadata":null,"nodes":[{"label":"A","id":"a","n":-0.0}],"z":[1,{"b":2,"a":1}]}"#,
            r#"{"nodes":[],"metadata":{"version":3,"title":"T"}}"#,
            r#"{"nodes":[{"id":"a"}]}"#,
        ] {
            let graph = Graph::from_json(text).unwrap();
            assert_eq!(serde_json::to_string(&graph.to_value()).unwrap(), graph.to_json(), "{text}");
        }
    }
}
