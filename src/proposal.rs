//! A proposal: what the AI tool `graph_update_current` returns, plus explicit
//! operations.
//!
//! ```json
//! { "nodes": [{"id": "n1", "label": "New"}],   // patch; an unknown id adds a node
//!   "replaceAllNodes": false,                  // only when true: unlisted nodes go
//!   "removeNodeIds": [], "edges": [], "removeEdgeIds": [],
//!   "searchReplace": [{"nodeId": "n1", "field": "info", "search": "a", "replace": "b"}],
//!   "metadata": {"title": "..."},
//!   "model": "m-1", "modelVersion": "2024-06", "confidence": 0.8, "ruleId": "r7" }
//! ```
//!
//! Parsing validates shapes and strips audit fields (which only approval may
//! write) with a `reserved_field_ignored` warning. Nothing here looks at the
//! graph: that is the review's job.
//!
//! `model`, `modelVersion`, `confidence` and `ruleId`, and a node patch's
//! `confidence` and `ruleId`, are provenance (see [`crate::provenance`]):
//! kept apart from the fields, never merged into the graph. A node id may be
//! patched only once per proposal (`duplicate_node_id` otherwise), so each
//! node has at most one patch provenance and two never have to be reconciled.
//! The proposal id is the hash of the whole proposal as given, provenance
//! included.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::canonical::canonical_sha256;
use crate::error::{Error, ErrorCode, Result};
use crate::graph::{default_edge_id, endpoint};
use crate::provenance::{PROPOSAL_PROVENANCE_KEYS, PatchProvenance, ProposalProvenance, take_rationale};
use crate::value::type_name;
use crate::warning::{Warning, WarningCode};

/// Audit fields of nodes and edges, written only by approval.
pub const RESERVED_ITEM_FIELDS: [&str; 4] = ["updatedAt", "updatedBy", "createdAt", "createdBy"];
/// Audit fields of graph metadata, written only by approval (or the server).
pub const RESERVED_METADATA_FIELDS: [&str; 5] = ["version", "updated", "updatedBy", "created", "createdBy"];

const OPERATION_KEYS: [&str; 8] =
    ["nodes", "replaceAllNodes", "preserveExistingFulltextImages", "removeNodeIds", "edges", "removeEdgeIds", "searchReplace", "metadata"];

fn is_known_key(key: &str) -> bool {
    OPERATION_KEYS.contains(&key) || PROPOSAL_PROVENANCE_KEYS.contains(&key)
}

/// New values for some fields of one node (or a whole new node).
#[derive(Clone, Debug, PartialEq)]
pub struct NodePatch {
    pub id: String,
    /// The proposed fields, `id` excluded, audit fields and provenance
    /// (`confidence`, `ruleId`) stripped, in order.
    pub fields: Map<String, Value>,
    /// The patch's `confidence` and `ruleId`.
    pub provenance: PatchProvenance,
}

/// New values for some fields of one edge (or a whole new edge).
#[derive(Clone, Debug, PartialEq)]
pub struct EdgePatch {
    /// The edge's `id`, or `${source}_${target}` when none was given.
    pub key: String,
    /// The proposed fields as given (endpoints as spelled), audit fields
    /// and `rationale` stripped.
    pub fields: Map<String, Value>,
    /// Why the AI suggests this edge (provenance, never a graph field).
    pub rationale: Option<String>,
}

/// Replace text inside a string field of a node.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchReplace {
    pub node_id: String,
    pub field: String,
    pub search: String,
    pub replace: String,
    pub replace_all: bool,
}

/// A validated proposal. See the [module docs](self).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Proposal {
    /// The first 16 hex digits of the SHA-256 of the proposal's canonical
    /// JSON: the same proposal always has the same id.
    pub id: String,
    pub nodes: Vec<NodePatch>,
    pub replace_all_nodes: bool,
    pub preserve_fulltext_images: bool,
    pub remove_node_ids: Vec<String>,
    pub edges: Vec<EdgePatch>,
    pub remove_edge_ids: Vec<String>,
    pub search_replace: Vec<SearchReplace>,
    pub metadata: Map<String, Value>,
    /// What the proposal says of itself: `model`, `modelVersion`, `confidence`, `ruleId`.
    pub provenance: ProposalProvenance,
    /// Warnings found while parsing (reserved fields, unknown keys).
    pub warnings: Vec<Warning>,
    /// The proposal as given: its id is computed from it when it is needed
    /// ([`Proposal::from_value_unhashed`]), and a draft of its review carries it.
    pub(crate) source: Option<Value>,
}

impl Proposal {
    /// Validates a proposal value.
    ///
    /// ```
    /// use kg_approval::Proposal;
    /// use serde_json::json;
    /// let p = Proposal::from_value(json!({"nodes": [{"id": "a", "label": "x", "updatedAt": "t"}]})).unwrap();
    /// assert_eq!(p.nodes[0].fields.len(), 1);
    /// assert_eq!(p.warnings[0].field.as_deref(), Some("updatedAt"));
    /// ```
    pub fn from_value(value: Value) -> Result<Proposal> {
        let id = Proposal::id_of(&value);
        let mut p = Proposal::parse(value)?;
        p.id = id;
        Ok(p)
    }

    /// Like [`Proposal::from_value`], but the id (a SHA-256 of the whole
    /// proposal, most of a review's time in WASM) is left empty: the value
    /// is kept, and [`Proposal::id_of`] gives the id when it is asked for.
    pub fn from_value_unhashed(value: Value) -> Result<Proposal> {
        Proposal::parse(value)
    }

    /// The id of a proposal value: the first 16 hex digits of the SHA-256
    /// of its canonical JSON.
    pub fn id_of(value: &Value) -> String {
        canonical_sha256(value)[..16].to_owned()
    }

    /// The proposal as given.
    pub fn source(&self) -> Option<&Value> {
        self.source.as_ref()
    }

    fn parse(value: Value) -> Result<Proposal> {
        let Value::Object(root) = value else {
            return Err(invalid("proposal", format!("must be an object, got {}", type_name(&value))));
        };
        let mut p = Proposal::default();
        for key in root.keys().filter(|k| !is_known_key(k)) {
            p.warnings.push(Warning::new(WarningCode::UnknownProposalKey, format!("unknown proposal key '{key}' was ignored")).field(key));
        }
        p.replace_all_nodes = flag(&root, "replaceAllNodes")?;
        p.preserve_fulltext_images = flag(&root, "preserveExistingFulltextImages")?;
        p.provenance = ProposalProvenance::read(&root)?;

        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, item) in list(&root, "nodes")?.iter().enumerate() {
            let path = format!("nodes[{i}]");
            let mut fields = object(item, &path)?.clone();
            let id = match fields.shift_remove("id") {
                Some(Value::String(id)) if !id.is_empty() => id,
                Some(other) => return Err(invalid(format!("{path}.id"), format!("must be a non-empty string, got {}", describe(&other)))),
                None => return Err(invalid(format!("{path}.id"), "is missing")),
            };
            if let Some(first) = seen.insert(id.clone(), i) {
                return Err(Error::at(
                    ErrorCode::DuplicateNodeId,
                    format!("{path}.id"),
                    format!("node '{id}' is already patched by nodes[{first}]"),
                ));
            }
            let provenance = PatchProvenance::take(&mut fields, &path)?;
            strip_reserved(&mut fields, &RESERVED_ITEM_FIELDS, &mut p.warnings, |w| w.node(&id));
            p.nodes.push(NodePatch { id, fields, provenance });
        }

        p.remove_node_ids = id_list(&root, "removeNodeIds")?;
        p.remove_edge_ids = id_list(&root, "removeEdgeIds")?;

        let mut seen_edges: HashMap<String, usize> = HashMap::new();
        for (i, item) in list(&root, "edges")?.iter().enumerate() {
            let path = format!("edges[{i}]");
            let mut fields = object(item, &path)?.clone();
            for name in ["id", "source", "target", "from", "to"] {
                match fields.get(name) {
                    Some(Value::String(s)) if !s.is_empty() => {}
                    Some(other) => {
                        return Err(invalid(format!("{path}.{name}"), format!("must be a non-empty string, got {}", describe(other))));
                    }
                    None => {}
                }
            }
            let key =
                match (fields.get("id").and_then(Value::as_str), endpoint(&fields, "source", "from"), endpoint(&fields, "target", "to")) {
                    (Some(id), _, _) => id.to_owned(),
                    (None, Some(s), Some(t)) => default_edge_id(s, t),
                    _ => return Err(invalid(&path, "an edge needs an id or both source and target")),
                };
            if let Some(first) = seen_edges.insert(key.clone(), i) {
                return Err(invalid(&path, format!("edge '{key}' is already given by edges[{first}]")));
            }
            let rationale = take_rationale(&mut fields, &path)?;
            strip_reserved(&mut fields, &RESERVED_ITEM_FIELDS, &mut p.warnings, |w| w.edge(&key));
            p.edges.push(EdgePatch { key, fields, rationale });
        }

        for (i, item) in list(&root, "searchReplace")?.iter().enumerate() {
            p.search_replace.push(search_replace(object(item, &format!("searchReplace[{i}]"))?, i)?);
        }

        match root.get("metadata") {
            None | Some(Value::Null) => {}
            Some(Value::Object(meta)) => {
                p.metadata = meta.clone();
                strip_reserved(&mut p.metadata, &RESERVED_METADATA_FIELDS, &mut p.warnings, |w| w);
            }
            Some(other) => return Err(invalid("metadata", format!("must be an object, got {}", type_name(other)))),
        }
        p.source = Some(Value::Object(root));
        Ok(p)
    }
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
    Error::at(ErrorCode::InvalidProposal, path, message)
}

fn describe(value: &Value) -> &'static str {
    if value.as_str() == Some("") { "an empty string" } else { type_name(value) }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| invalid(path, format!("must be an object, got {}", type_name(value))))
}

fn flag(root: &Map<String, Value>, key: &str) -> Result<bool> {
    match root.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(invalid(key, format!("must be a boolean, got {}", type_name(other)))),
    }
}

fn list<'a>(root: &'a Map<String, Value>, key: &str) -> Result<&'a [Value]> {
    match root.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(invalid(key, format!("must be an array, got {}", type_name(other)))),
    }
}

/// A list of ids, in order, without repeats.
fn id_list(root: &Map<String, Value>, key: &str) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for (i, item) in list(root, key)?.iter().enumerate() {
        match item {
            Value::String(id) if !id.is_empty() => {
                if seen.insert(id.as_str()) {
                    ids.push(id.clone());
                }
            }
            other => return Err(invalid(format!("{key}[{i}]"), format!("must be a non-empty string, got {}", describe(other)))),
        }
    }
    Ok(ids)
}

fn search_replace(item: &Map<String, Value>, i: usize) -> Result<SearchReplace> {
    let path = |name: &str| format!("searchReplace[{i}].{name}");
    let text = |name: &str, required: bool, allow_empty: bool| -> Result<Option<String>> {
        match item.get(name) {
            Some(Value::String(s)) if allow_empty || !s.is_empty() => Ok(Some(s.clone())),
            None if !required => Ok(None),
            None => Err(invalid(path(name), "is missing")),
            Some(other) => Err(invalid(
                path(name),
                format!("must be a{} string, got {}", if allow_empty { "" } else { " non-empty" }, describe(other)),
            )),
        }
    };
    let replace_all = match item.get("replaceAll") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(invalid(path("replaceAll"), format!("must be a boolean, got {}", type_name(other)))),
    };
    Ok(SearchReplace {
        node_id: text("nodeId", true, false)?.unwrap_or_default(),
        field: text("field", false, false)?.unwrap_or_else(|| "info".to_owned()),
        search: text("search", true, false)?.unwrap_or_default(),
        replace: text("replace", true, true)?.unwrap_or_default(),
        replace_all,
    })
}

fn strip_reserved(fields: &mut Map<String, Value>, reserved: &[&str], warnings: &mut Vec<Warning>, locate: impl Fn(Warning) -> Warning) {
    for name in reserved {
        if fields.shift_remove(*name).is_some() {
            let message = format!("'{name}' is an audit field written at approval; the proposed value was ignored");
            warnings.push(locate(Warning::new(WarningCode::ReservedFieldIgnored, message)).field(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(value: Value) -> Error {
        Proposal::from_value(value).unwrap_err()
    }

    #[test]
    fn parses_every_operation() {
        let p = Proposal::from_value(json!({
            "nodes": [{"id": "a", "label": "A"}],
            "replaceAllNodes": true,
            "removeNodeIds": ["b", "b", "c"],
            "edges": [{"source": "a", "target": "c", "label": "x"}, {"id": "e1", "label": "y"}],
            "removeEdgeIds": ["e2"],
            "searchReplace": [{"nodeId": "a", "search": "x", "replace": ""}],
            "metadata": {"title": "T", "version": 9},
            "extra": 1
        }))
        .unwrap();
        assert!(p.replace_all_nodes);
        assert_eq!(p.remove_node_ids, ["b", "c"]);
        assert_eq!(p.edges[0].key, "a_c");
        assert_eq!(p.edges[1].key, "e1");
        assert_eq!(p.search_replace[0].field, "info");
        assert_eq!(p.metadata, *json!({"title": "T"}).as_object().unwrap());
        let codes: Vec<_> = p.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, [WarningCode::UnknownProposalKey, WarningCode::ReservedFieldIgnored]);
    }

    #[test]
    fn reports_paths_of_malformed_parts() {
        assert_eq!(err(json!("x")).code(), ErrorCode::InvalidProposal);
        assert_eq!(err(json!({"nodes": {}})).path(), Some("nodes"));
        assert_eq!(err(json!({"nodes": [{"id": "a"}, []]})).path(), Some("nodes[1]"));
        assert_eq!(err(json!({"nodes": [{"label": "a"}]})).path(), Some("nodes[0].id"));
        assert_eq!(err(json!({"nodes": [{"id": ""}]})).to_string(), "nodes[0].id: must be a non-empty string, got an empty string");
        assert_eq!(err(json!({"nodes": [{"id": 1}]})).path(), Some("nodes[0].id"));
        assert_eq!(err(json!({"replaceAllNodes": "yes"})).path(), Some("replaceAllNodes"));
        assert_eq!(err(json!({"removeNodeIds": ["a", 2]})).path(), Some("removeNodeIds[1]"));
        assert_eq!(err(json!({"edges": [{"label": "x"}]})).path(), Some("edges[0]"));
        assert_eq!(err(json!({"edges": [{"source": 1, "target": "b"}]})).path(), Some("edges[0].source"));
        assert_eq!(err(json!({"searchReplace": [{"nodeId": "a", "replace": "b"}]})).path(), Some("searchReplace[0].search"));
        assert_eq!(err(json!({"metadata": [1]})).path(), Some("metadata"));
    }

    #[test]
    fn same_node_twice_is_refused() {
        let e = err(json!({"nodes": [{"id": "a", "label": "1"}, {"id": "a", "label": "2"}]}));
        assert_eq!(e.code(), ErrorCode::DuplicateNodeId);
        assert_eq!(e.path(), Some("nodes[1].id"));
    }

    #[test]
    fn provenance_is_read_and_kept_out_of_node_fields() {
        let p = Proposal::from_value(json!({
            "model": "m-1", "modelVersion": "2024-06", "confidence": 0.8, "ruleId": "r7",
            "nodes": [{"id": "a", "label": "A", "confidence": 1, "ruleId": "r8"}, {"id": "b", "label": "B", "confidence": null}]
        }))
        .unwrap();
        assert!(p.warnings.is_empty(), "provenance keys are known keys: {:?}", p.warnings);
        let expected = ProposalProvenance {
            model: Some("m-1".into()),
            model_version: Some("2024-06".into()),
            confidence: Some(0.8),
            rule_id: Some("r7".into()),
        };
        assert_eq!(p.provenance, expected);
        assert_eq!(p.nodes[0].fields, *json!({"label": "A"}).as_object().unwrap());
        assert_eq!(p.nodes[0].provenance, PatchProvenance { confidence: Some(1.0), rule_id: Some("r8".into()), rationale: None });
        assert_eq!(p.nodes[1].fields, *json!({"label": "B"}).as_object().unwrap(), "a null confidence is no confidence, not a field");
        assert!(p.nodes[1].provenance.is_empty());
    }

    #[test]
    fn malformed_provenance_is_refused_with_its_path() {
        let cases = [
            (json!({"confidence": "high"}), "confidence", "confidence: must be a number between 0 and 1, got a string"),
            (json!({"confidence": 2}), "confidence", "confidence: must be between 0 and 1, got 2"),
            (json!({"confidence": -0.5}), "confidence", "confidence: must be between 0 and 1, got -0.5"),
            (json!({"model": 5}), "model", "model: must be a non-empty string, got a number"),
            (json!({"modelVersion": ""}), "modelVersion", "modelVersion: must be a non-empty string, got an empty string"),
            (json!({"ruleId": ["r"]}), "ruleId", "ruleId: must be a non-empty string, got an array"),
            (
                json!({"nodes": [{"id": "a"}, {"id": "b", "confidence": true}]}),
                "nodes[1].confidence",
                "nodes[1].confidence: must be a number between 0 and 1, got a boolean",
            ),
            (
                json!({"nodes": [{"id": "a", "confidence": 1.5}]}),
                "nodes[0].confidence",
                "nodes[0].confidence: must be between 0 and 1, got 1.5",
            ),
            (json!({"nodes": [{"id": "a", "ruleId": 7}]}), "nodes[0].ruleId", "nodes[0].ruleId: must be a non-empty string, got a number"),
        ];
        for (value, path, message) in cases {
            let e = err(value);
            assert_eq!((e.code(), e.path(), e.to_string().as_str()), (ErrorCode::InvalidProposal, Some(path), message));
        }
    }

    #[test]
    fn ids_of_proposals_without_provenance_are_unchanged() {
        // Pinned before provenance existed: stored audit entries name proposals by these ids.
        let plain = json!({"nodes": [{"id": "a", "label": "A2"}], "removeNodeIds": ["c"], "metadata": {"title": "T"}});
        assert_eq!(Proposal::from_value(plain.clone()).unwrap().id, "61f69d4fa1d3354d");
        // Provenance counts in the id: the same operations told differently are another proposal.
        let mut told = plain.clone();
        told["confidence"] = json!(0.5);
        let mut patch_told = plain;
        patch_told["nodes"][0]["ruleId"] = json!("r1");
        let ids: HashSet<String> = [told, patch_told].into_iter().map(|v| Proposal::from_value(v).unwrap().id).collect();
        assert_eq!(ids.len(), 2);
        assert!(!ids.contains("61f69d4fa1d3354d"));
    }

    #[test]
    fn audit_fields_of_edges_are_stripped() {
        let p = Proposal::from_value(json!({"edges": [{"source": "a", "target": "b", "createdBy": "ai"}]})).unwrap();
        assert!(!p.edges[0].fields.contains_key("createdBy"));
        assert_eq!(p.warnings[0].edge_id.as_deref(), Some("a_b"));
    }
}
