//! Approval: apply the accepted changes of a review to the graph and stamp them.
//!
//! Stamps are written now, at approval, by the person approving (CONTRACT.md
//! bug 5): `updatedAt`/`updatedBy` on every node and edge with at least one
//! accepted change, `createdAt`/`createdBy` too on added ones, and
//! `metadata.updated`/`metadata.updatedBy` when anything was accepted. Nodes
//! with no accepted change are left exactly as they were.
//!
//! Everything is checked before the graph is touched, so a refused approval
//! changes nothing.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::change::{Change, ChangeKind, Target};
use crate::delta::{DeltaBuilder, GraphDelta};
use crate::error::{Error, ErrorCode, Result};
use crate::graph::{Edge, EdgeLookup, Graph, Node};
use crate::timestamp::Timestamp;
use crate::value::set_field;

/// Who approves, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct Approver {
    pub user: String,
    pub at: Timestamp,
}

impl Approver {
    /// `user` must be a non-empty string without surrounding whitespace.
    pub fn new(user: &str, at: Timestamp) -> Result<Approver> {
        if user.trim().is_empty() || user.trim() != user {
            return Err(Error::at(ErrorCode::InvalidArgument, "user", "must be a non-empty user id without surrounding whitespace"));
        }
        Ok(Approver { user: user.to_owned(), at })
    }
}

/// What an approval changed in the graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// Nodes added or with a changed field, in review order.
    pub changed_node_ids: Vec<String>,
    pub removed_node_ids: Vec<String>,
    /// Edges added or with a changed field.
    pub changed_edge_ids: Vec<String>,
    pub removed_edge_ids: Vec<String>,
    /// The same approval as a delta: applied to the graph it was based on,
    /// it gives exactly the approved graph (what a history server stores).
    pub delta: GraphDelta,
}

/// Applies the accepted `changes` to `graph` and stamps what they touched.
///
/// ```
/// use kg_approval::{apply_accepted, review, Approver, Graph, Proposal, ReviewOptions, Timestamp};
/// use serde_json::json;
/// let mut graph = Graph::from_value(json!({"nodes": [{"id": "a", "label": "A"}, {"id": "b"}]})).unwrap();
/// let proposal = Proposal::from_value(json!({"nodes": [{"id": "a", "label": "B"}]})).unwrap();
/// let review = review(&graph, &proposal, &ReviewOptions::default()).unwrap();
/// let who = Approver::new("ann@example.com", Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap()).unwrap();
/// let applied = apply_accepted(&mut graph, &review.changes, &who).unwrap();
/// assert_eq!(applied.changed_node_ids, ["a"]);
/// assert_eq!(graph.node("a").unwrap().fields()["updatedBy"], "ann@example.com");
/// assert!(!graph.node("b").unwrap().fields().contains_key("updatedAt"));
/// ```
pub fn apply_accepted(graph: &mut Graph, changes: &[Change], approver: &Approver) -> Result<Applied> {
    let plan = Plan::check(graph, changes)?;
    let at = Value::String(approver.at.to_string());
    let user = Value::String(approver.user.clone());
    let mut applied = Applied::default();
    let mut stamped_nodes: HashSet<&str> = HashSet::new();
    let mut stamped_edges: HashSet<&str> = HashSet::new();
    let mut removed_nodes: HashSet<&str> = HashSet::new();
    let mut removed_edges: HashSet<&str> = HashSet::new();
    let mut rekey = false;
    let mut delta = DeltaBuilder::default();

    for change in plan.accepted {
        let entity = change.entity().unwrap_or_default();
        let field = change.field.as_deref().unwrap_or_default();
        match (change.target, change.kind) {
            (Target::Node, ChangeKind::Changed) => {
                if let Some(node) = graph.node_mut(entity) {
                    write_field(node.fields_mut(), field, change.new.as_ref());
                }
                delta.node_field(entity, field, change.new.as_ref());
                if stamped_nodes.insert(entity) {
                    applied.changed_node_ids.push(entity.to_owned());
                }
            }
            (Target::Edge, ChangeKind::Changed) => {
                if let Some(edge) = graph.edge_mut(entity) {
                    write_field(edge.fields_mut(), field, change.new.as_ref());
                }
                delta.edge_field(entity, field, change.new.as_ref());
                rekey |= matches!(field, "source" | "target" | "from" | "to");
                if stamped_edges.insert(entity) {
                    applied.changed_edge_ids.push(entity.to_owned());
                }
            }
            (Target::Metadata, _) => {
                write_field(graph.metadata_mut(), field, change.new.as_ref());
                delta.metadata_field(field, change.new.as_ref());
            }
            (Target::Graph, _) => {
                graph.set_top_level(field, change.new.as_ref());
                delta.top_level_field(field, change.new.as_ref());
            }
            (Target::Node, ChangeKind::Removed) => {
                removed_nodes.insert(entity);
                applied.removed_node_ids.push(entity.to_owned());
                delta.remove_node(entity);
            }
            (Target::Edge, ChangeKind::Removed) => {
                removed_edges.insert(entity);
                applied.removed_edge_ids.push(entity.to_owned());
                delta.remove_edge(entity);
            }
            // Added nodes and edges were built by Plan::check.
            (_, ChangeKind::Added) => {}
        }
    }
    for id in &applied.changed_node_ids {
        if let Some(node) = graph.node_mut(id) {
            stamp(node.fields_mut(), &at, &user, false);
        }
        delta.node_field(id, "updatedAt", Some(&at));
        delta.node_field(id, "updatedBy", Some(&user));
    }
    for id in &applied.changed_edge_ids {
        if let Some(edge) = graph.edge_mut(id) {
            stamp(edge.fields_mut(), &at, &user, false);
        }
        delta.edge_field(id, "updatedAt", Some(&at));
        delta.edge_field(id, "updatedBy", Some(&user));
    }
    for mut node in plan.added_nodes {
        stamp(node.fields_mut(), &at, &user, true);
        applied.changed_node_ids.push(node.id().to_owned());
        delta.add_node(&node);
        graph.push_node(node);
    }
    for mut edge in plan.added_edges {
        stamp(edge.fields_mut(), &at, &user, true);
        applied.changed_edge_ids.push(edge.key().to_owned());
        delta.add_edge(&edge);
        graph.push_edge(edge);
    }
    if plan.any_accepted {
        let meta = graph.metadata_mut();
        set_field(meta, "updated", at.clone());
        set_field(meta, "updatedBy", user.clone());
        delta.metadata_field("updated", Some(&at));
        delta.metadata_field("updatedBy", Some(&user));
    }
    graph.remove(&removed_nodes, &removed_edges);
    if rekey {
        graph.rekey_edges();
    }
    applied.delta = delta.finish();
    Ok(applied)
}

/// Checks that the accepted `changes` apply to `graph`, changing nothing:
/// what [`apply_accepted`] refuses, this refuses.
pub fn check_accepted(graph: &Graph, changes: &[Change]) -> Result<()> {
    Plan::check(graph, changes).map(|_| ())
}

fn write_field(fields: &mut serde_json::Map<String, Value>, field: &str, value: Option<&Value>) {
    match value {
        Some(value) => set_field(fields, field, value.clone()),
        None => {
            fields.shift_remove(field);
        }
    }
}

fn stamp(fields: &mut serde_json::Map<String, Value>, at: &Value, user: &Value, created: bool) {
    if created {
        set_field(fields, "createdAt", at.clone());
        set_field(fields, "createdBy", user.clone());
    }
    set_field(fields, "updatedAt", at.clone());
    set_field(fields, "updatedBy", user.clone());
}

/// The accepted changes, checked against the graph and each other.
struct Plan<'c> {
    accepted: Vec<&'c Change>,
    any_accepted: bool,
    added_nodes: Vec<Node>,
    added_edges: Vec<Edge>,
}

impl<'c> Plan<'c> {
    fn check(graph: &Graph, changes: &'c [Change]) -> Result<Plan<'c>> {
        let decided: HashMap<&str, bool> = changes.iter().map(|c| (c.id.as_str(), c.is_accepted())).collect();
        let mut plan = Plan { accepted: Vec::new(), any_accepted: false, added_nodes: Vec::new(), added_edges: Vec::new() };
        for change in changes.iter().filter(|c| c.is_accepted()) {
            if let Some(missing) = change.requires.iter().find(|r| decided.get(r.as_str()) != Some(&true)) {
                return Err(Error::new(
                    ErrorCode::InconsistentDecision,
                    format!("change '{}' needs change '{missing}', which is not accepted", change.id),
                ));
            }
            let entity = change.entity().unwrap_or_default();
            let gone = |what: &str| {
                Error::new(
                    ErrorCode::InconsistentDecision,
                    format!("change '{}' is about {what} '{entity}', which the graph no longer has", change.id),
                )
            };
            let exists = |what: &str| {
                Error::new(
                    ErrorCode::InconsistentDecision,
                    format!("change '{}' adds {what} '{entity}', which the graph already has", change.id),
                )
            };
            match (change.target, change.kind) {
                (Target::Node, ChangeKind::Added) if graph.node(entity).is_some() => return Err(exists("node")),
                (Target::Edge, ChangeKind::Added) if graph.edge_lookup(entity) != EdgeLookup::Missing => return Err(exists("edge")),
                (Target::Node, ChangeKind::Added) => plan.added_nodes.push(whole(change, Node::from_fields)?),
                (Target::Edge, ChangeKind::Added) => plan.added_edges.push(whole(change, Edge::from_fields)?),
                (Target::Node, _) if graph.node(entity).is_none() => return Err(gone("node")),
                (Target::Edge, _) if graph.edge(entity).is_none() => return Err(gone("edge")),
                _ => {}
            }
            plan.accepted.push(change);
        }
        plan.any_accepted = !plan.accepted.is_empty();
        Ok(plan)
    }
}

fn whole<T>(change: &Change, make: fn(serde_json::Map<String, Value>) -> Result<T>) -> Result<T> {
    match &change.new {
        Some(Value::Object(fields)) => {
            make(fields.clone()).map_err(|e| Error::new(ErrorCode::InvalidProposal, format!("change '{}': {e}", change.id)))
        }
        _ => Err(Error::new(ErrorCode::InvalidProposal, format!("change '{}' carries no object to add", change.id))),
    }
}
