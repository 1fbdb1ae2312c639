//! One change a reviewer can accept or reject, and the summary of a list of them.
//!
//! A change is about one field of a node, edge or of the metadata (`changed`),
//! or about a whole node or edge (`added`, `removed`). Its id is derived from
//! what it is about, so the same proposal on the same graph always yields the
//! same ids, and an auditor can read them: `node/n-title/label`,
//! `edge/a_b`, `metadata/title`.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::decision::DecidedBy;
use crate::error::{ErrorCode, Result};
use crate::fields::Fields;
use crate::graph::{Edge, Graph, Node};
use crate::text_diff::{Granularity, OpKind, TextDiff, TextDiffOptions, TextOp, diff_text};

/// What a change is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Node,
    Edge,
    Metadata,
    /// A top-level field of the graph besides nodes, edges and metadata
    /// (`description`, `license`...).
    Graph,
}

/// What happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One reviewable change. `old`/`new` are absent (not `null`) where there is
/// no value: `old` of an added field, `new` of a removed one.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub id: String,
    pub target: Target,
    pub kind: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge_id: Option<String>,
    /// What to call the node or edge on screen.
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    /// The decision: `Some(true)` accepted, `Some(false)` rejected, `None`
    /// undecided (a session in explicit mode starts every change so).
    pub accepted: Option<bool>,
    /// How the decision was made (`None` while undecided).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<DecidedBy>,
    /// The filter of the bulk action that decided it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bulk_filter: Option<String>,
    /// True when the reviewer replaced the AI's value: `new` is theirs and
    /// `proposed` the AI's.
    #[serde(skip_serializing_if = "is_false")]
    pub corrected: bool,
    /// The AI's value of a corrected change (absent if it proposed none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed: Option<Value>,
    /// The reviewer's comment on this change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// An inline diff when both values are strings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<TextDiff>,
    /// Changes that must be accepted for this one to apply (an edge needs its
    /// new endpoint node; a node removal needs the removal of its edges).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Set on a rebased change that both editors made differently: the
    /// reviewer must accept (ours) or reject (theirs) it before approving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Conflict>,
    /// The `confidence` of the node patch this change comes from, as the
    /// proposal gave it (provenance, never a graph field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The `ruleId` of the node patch this change comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// Why the AI suggests it: the `rationale` of its node patch or edge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
}

/// Both sides of a conflict found by a rebase. `old` of the change is
/// `theirs` (what the graph holds now), `new` is ours.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    /// The value both edits started from (absent if there was none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<Value>,
    /// True once the reviewer accepted or rejected the change.
    pub resolved: bool,
}

impl Change {
    /// A change of one field. `entity` is the node id or edge key (unused for metadata).
    pub fn field(target: Target, entity: &str, label: &str, field: &str, old: Option<Value>, new: Option<Value>) -> Change {
        let mut change = Change::base(target, ChangeKind::Changed, entity, label);
        change.id = change_id(target, entity, Some(field));
        change.field = Some(field.to_owned());
        change.old = old;
        change.new = new;
        change
    }

    /// A whole node or edge added (`new`) or removed (`old`).
    pub fn whole(target: Target, kind: ChangeKind, entity: &str, label: &str, value: Value) -> Change {
        let mut change = Change::base(target, kind, entity, label);
        change.id = change_id(target, entity, None);
        match kind {
            ChangeKind::Removed => change.old = Some(value),
            _ => change.new = Some(value),
        }
        change
    }

    /// A whole node of a graph, added or removed.
    pub fn node(kind: ChangeKind, node: &Node) -> Change {
        Change::whole(Target::Node, kind, node.id(), node.display_label(), Value::Object(node.fields().clone()))
    }

    /// A whole edge of `graph`, added or removed (labelled by its endpoints' names if it has no label).
    pub fn edge(kind: ChangeKind, edge: &Edge, graph: &Graph) -> Change {
        Change::whole(Target::Edge, kind, edge.key(), &graph.edge_label(edge.fields()), Value::Object(edge.fields().clone()))
    }

    fn base(target: Target, kind: ChangeKind, entity: &str, label: &str) -> Change {
        Change {
            id: String::new(),
            target,
            kind,
            node_id: (target == Target::Node).then(|| entity.to_owned()),
            edge_id: (target == Target::Edge).then(|| entity.to_owned()),
            label: label.to_owned(),
            field: None,
            old: None,
            new: None,
            accepted: Some(true),
            decided_by: None,
            bulk_filter: None,
            corrected: false,
            proposed: None,
            comment: None,
            text: None,
            requires: Vec::new(),
            conflict: None,
            confidence: None,
            rule_id: None,
            rationale: None,
        }
    }

    /// Whether the change is accepted (not rejected, not undecided).
    pub fn is_accepted(&self) -> bool {
        self.accepted == Some(true)
    }

    /// The node id or edge key this change is about (`None` for metadata).
    pub fn entity(&self) -> Option<&str> {
        self.node_id.as_deref().or(self.edge_id.as_deref())
    }

    /// Adds the inline text diff when old and new are both strings (and
    /// `options` asks for text diffs).
    pub(crate) fn with_text_diff(mut self, options: Option<&TextDiffOptions>) -> Change {
        self.refresh_text_diff(options);
        self
    }

    /// Recomputes the inline text diff after `old` or `new` changed.
    pub(crate) fn refresh_text_diff(&mut self, options: Option<&TextDiffOptions>) {
        self.text = match (options, &self.old, &self.new) {
            (Some(options), Some(Value::String(old)), Some(Value::String(new))) => Some(diff_text(old, new, options)),
            _ => None,
        };
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

const TARGETS: [(&str, Target); 4] =
    [("node", Target::Node), ("edge", Target::Edge), ("metadata", Target::Metadata), ("graph", Target::Graph)];
const KINDS: [(&str, ChangeKind); 3] = [("added", ChangeKind::Added), ("removed", ChangeKind::Removed), ("changed", ChangeKind::Changed)];

impl Change {
    /// A change as written by `Serialize` (kept pending saves, a review's
    /// changes), at `path`. `old`/`new` keep the difference between absent
    /// and `null`; unknown fields are ignored.
    pub fn read(value: &Value, path: &str) -> Result<Change> {
        let f = Fields::of(value, path, ErrorCode::InvalidArgument);
        let change = Change {
            id: f.string("id"),
            target: f.choice("target", &TARGETS),
            kind: f.choice("kind", &KINDS),
            node_id: f.opt_string("nodeId"),
            edge_id: f.opt_string("edgeId"),
            label: f.string("label"),
            field: f.opt_string("field"),
            old: f.present("old"),
            new: f.present("new"),
            accepted: f.opt_bool("accepted"),
            decided_by: f.opt_choice("decidedBy", &DecidedBy::NAMES),
            bulk_filter: f.opt_string("bulkFilter"),
            corrected: f.opt_bool("corrected").unwrap_or(false),
            proposed: f.present("proposed"),
            comment: f.opt_string("comment"),
            text: f.read("text", read_text_diff),
            requires: f.strings("requires"),
            conflict: f.read("conflict", |v, path| {
                let c = Fields::of(v, path, ErrorCode::InvalidArgument);
                let conflict = Conflict { base: c.present("base"), resolved: c.bool("resolved") };
                c.finish(conflict)
            }),
            confidence: f.opt_f64("confidence"),
            rule_id: f.opt_string("ruleId"),
            rationale: f.opt_string("rationale"),
        };
        f.finish(change)
    }
}

/// A [`TextDiff`] as written by `Serialize`.
fn read_text_diff(value: &Value, path: &str) -> Result<TextDiff> {
    let f = Fields::of(value, path, ErrorCode::InvalidArgument).must_have(&["ops"]);
    let diff = TextDiff {
        granularity: f.choice("granularity", &Granularity::NAMES),
        degraded: f.bool("degraded"),
        ops: f.list("ops", |v, path| {
            let op = Fields::of(v, path, ErrorCode::InvalidArgument);
            let read = TextOp { op: op.choice("op", &OpKind::NAMES), text: op.string("text") };
            op.finish(read)
        }),
    };
    f.finish(diff)
}

/// The id of a change: `node/<id>[/<field>]`, `edge/<key>[/<field>]`,
/// `metadata/<field>`, `graph/<field>`. `%`, `/` and `#` inside parts are percent-encoded so
/// that ids never collide.
///
/// ```
/// use kg_approval::change::{change_id, Target};
/// assert_eq!(change_id(Target::Node, "a/b", Some("info")), "node/a%2Fb/info");
/// assert_eq!(change_id(Target::Metadata, "", Some("title")), "metadata/title");
/// ```
pub fn change_id(target: Target, entity: &str, field: Option<&str>) -> String {
    let mut id = match target {
        Target::Node => format!("node/{}", escape(entity)),
        Target::Edge => format!("edge/{}", escape(entity)),
        Target::Metadata => "metadata".to_owned(),
        Target::Graph => "graph".to_owned(),
    };
    if let Some(field) = field {
        id.push('/');
        id.push_str(&escape(field));
    }
    id
}

fn escape(part: &str) -> String {
    part.replace('%', "%25").replace('/', "%2F").replace('#', "%23")
}

/// Counts of what a list of changes does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub nodes_added: usize,
    pub nodes_removed: usize,
    /// Nodes with at least one changed field.
    pub nodes_changed: usize,
    pub edges_added: usize,
    pub edges_removed: usize,
    pub edges_changed: usize,
    /// Changed metadata fields.
    pub metadata_changed: usize,
    /// Changed top-level fields besides nodes, edges and metadata.
    pub graph_changed: usize,
    /// Changed fields of nodes, edges and metadata together.
    pub fields_changed: usize,
}

impl Summary {
    pub fn of<'a>(changes: impl IntoIterator<Item = &'a Change>) -> Summary {
        let mut summary = Summary::default();
        let mut last_node: Option<&str> = None;
        let mut last_edge: Option<&str> = None;
        for change in changes {
            match (change.target, change.kind) {
                (Target::Node, ChangeKind::Added) => summary.nodes_added += 1,
                (Target::Node, ChangeKind::Removed) => summary.nodes_removed += 1,
                (Target::Edge, ChangeKind::Added) => summary.edges_added += 1,
                (Target::Edge, ChangeKind::Removed) => summary.edges_removed += 1,
                (Target::Metadata, _) => summary.metadata_changed += 1,
                (Target::Graph, _) => summary.graph_changed += 1,
                // Field changes of one node or edge are adjacent in a list.
                (Target::Node, ChangeKind::Changed) => {
                    if last_node != change.node_id.as_deref() {
                        summary.nodes_changed += 1;
                        last_node = change.node_id.as_deref();
                    }
                }
                (Target::Edge, ChangeKind::Changed) => {
                    if last_edge != change.edge_id.as_deref() {
                        summary.edges_changed += 1;
                        last_edge = change.edge_id.as_deref();
                    }
                }
            }
            if change.kind == ChangeKind::Changed {
                summary.fields_changed += 1;
            }
        }
        summary
    }
}

/// Links changes that only make sense together: an added edge requires the
/// added nodes it ends at, and removing a node requires removing the edges
/// that touch it. Existing links are kept.
pub fn link_requirements(changes: &mut [Change]) {
    fn ends(value: Option<&Value>) -> [Option<&str>; 2] {
        let fields = value.and_then(Value::as_object);
        let get = |a: &str, b: &str| fields.and_then(|f| f.get(a).or_else(|| f.get(b))).and_then(Value::as_str);
        [get("source", "from"), get("target", "to")]
    }
    let whole = |c: &Change, target, kind| c.target == target && c.kind == kind;
    let added_nodes: HashSet<String> =
        changes.iter().filter(|c| whole(c, Target::Node, ChangeKind::Added)).filter_map(|c| c.node_id.clone()).collect();
    let removed_nodes: HashSet<String> =
        changes.iter().filter(|c| whole(c, Target::Node, ChangeKind::Removed)).filter_map(|c| c.node_id.clone()).collect();
    let mut node_needs: HashMap<String, Vec<String>> = HashMap::new();
    for change in changes.iter_mut() {
        if whole(change, Target::Edge, ChangeKind::Added) {
            for end in ends(change.new.as_ref()).into_iter().flatten().filter(|e| added_nodes.contains(*e)) {
                let id = change_id(Target::Node, end, None);
                if !change.requires.contains(&id) {
                    change.requires.push(id);
                }
            }
        } else if whole(change, Target::Edge, ChangeKind::Removed) {
            for end in ends(change.old.as_ref()).into_iter().flatten().filter(|e| removed_nodes.contains(*e)) {
                node_needs.entry(end.to_owned()).or_default().push(change.id.clone());
            }
        }
    }
    for change in changes.iter_mut().filter(|c| whole(c, Target::Node, ChangeKind::Removed)) {
        for id in change.node_id.as_deref().and_then(|n| node_needs.remove(n)).unwrap_or_default() {
            if !change.requires.contains(&id) {
                change.requires.push(id);
            }
        }
    }
}

/// Field-level differences between two field maps: fields in `old` order,
/// then fields only `new` has. Used to diff whole graphs (and, by the
/// history server, two stored versions of one node).
pub fn diff_fields<'a>(old: &'a Map<String, Value>, new: &'a Map<String, Value>) -> Vec<(&'a str, Option<&'a Value>, Option<&'a Value>)> {
    let mut out = Vec::new();
    for (key, before) in old {
        match new.get(key) {
            Some(after) if crate::value::json_eq(before, after) => {}
            after => out.push((key.as_str(), Some(before), after)),
        }
    }
    for (key, after) in new {
        if !old.contains_key(key) {
            out.push((key.as_str(), None, Some(after)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_escape_separators() {
        assert_ne!(change_id(Target::Node, "a/b", Some("c")), change_id(Target::Node, "a", Some("b/c")));
        assert_eq!(change_id(Target::Edge, "x%y#1", None), "edge/x%25y%231");
    }

    #[test]
    fn absent_and_null_serialize_differently() {
        let added = Change::field(Target::Node, "a", "A", "f", None, Some(Value::Null));
        let v = serde_json::to_value(&added).unwrap();
        assert!(v.get("old").is_none());
        assert_eq!(v["new"], Value::Null);
    }

    #[test]
    fn null_and_absent_survive_a_round_trip() {
        let change = Change::field(Target::Node, "a", "A", "f", None, Some(Value::Null));
        let back = Change::read(&serde_json::to_value(&change).unwrap(), "c").unwrap();
        assert_eq!(back, change);
    }

    #[test]
    fn every_field_survives_a_round_trip() {
        let mut change = Change::field(Target::Edge, "a_b", "A → B", "note", Some(json!("the old note")), Some(json!("the new note")))
            .with_text_diff(Some(&TextDiffOptions::default()));
        change.accepted = Some(false);
        change.decided_by = Some(DecidedBy::Bulk);
        change.bulk_filter = Some("kind: changed".to_owned());
        change.comment = Some("not this one".to_owned());
        change.requires = vec!["node/b".to_owned()];
        change.conflict = Some(Conflict { base: Some(Value::Null), resolved: true });
        change.confidence = Some(0.25);
        change.rule_id = Some("r-7".to_owned());
        assert!(change.text.is_some());
        let back = Change::read(&serde_json::to_value(&change).unwrap(), "c").unwrap();
        assert_eq!(back, change);
    }

    #[test]
    fn a_malformed_change_is_refused_with_its_path() {
        let good = serde_json::to_value(Change::field(Target::Node, "a", "A", "f", None, Some(json!(1)))).unwrap();
        for (key, bad, expected) in [
            ("target", json!("planet"), "c.target: must be one of: node, edge, metadata, graph, got 'planet'"),
            ("accepted", json!("yes"), "c.accepted: must be a boolean, got a string"),
            ("decidedBy", json!("robot"), "c.decidedBy: must be one of: default, change, node, bulk, dependency, got 'robot'"),
            ("requires", json!([1]), "c.requires[0]: must be a string, got a number"),
            (
                "text",
                json!({"granularity": "word", "degraded": false, "ops": [{"op": "swap", "text": "x"}]}),
                "c.text.ops[0].op: must be one of: equal, insert, delete, got 'swap'",
            ),
        ] {
            let mut value = good.clone();
            value[key] = bad;
            assert_eq!(Change::read(&value, "c").unwrap_err().to_string(), expected);
        }
        let mut value = good;
        value.as_object_mut().unwrap().remove("id");
        assert_eq!(Change::read(&value, "c").unwrap_err().to_string(), "c.id: is missing");
    }

    #[test]
    fn summary_counts_nodes_once() {
        let changes = [
            Change::field(Target::Node, "a", "A", "x", None, Some(json!(1))),
            Change::field(Target::Node, "a", "A", "y", None, Some(json!(1))),
            Change::field(Target::Node, "b", "B", "x", None, Some(json!(1))),
            Change::whole(Target::Edge, ChangeKind::Added, "a_b", "A → B", json!({})),
            Change::field(Target::Metadata, "", "metadata", "title", None, Some(json!("t"))),
        ];
        let s = Summary::of(&changes);
        assert_eq!((s.nodes_changed, s.fields_changed, s.edges_added, s.metadata_changed), (2, 4, 1, 1));
    }
}
