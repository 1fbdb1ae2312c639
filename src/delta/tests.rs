use serde_json::json;

use super::*;
use crate::{ApprovalSession, Approver, Proposal, Provenance, Timestamp};

fn graph() -> Graph {
    Graph::from_value(json!({
        "metadata": {"title": "T", "version": 3},
        "nodes": [
            {"id": "a", "label": "A", "info": "alpha", "position": {"x": 1, "y": 2}},
            {"id": "b", "label": "B", "visible": false},
            {"id": "c", "label": "C"}
        ],
        "edges": [
            {"id": "a_b", "source": "a", "target": "b", "label": "ab"},
            {"source": "b", "target": "c"}
        ],
        "created_date": "kept"
    }))
    .unwrap()
}

fn delta(value: Value) -> Result<GraphDelta> {
    GraphDelta::from_value(value)
}

fn refused(value: Value) -> Error {
    let d = match delta(value) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let mut g = graph();
    let before = g.to_json();
    let e = d.apply_to(&mut g).unwrap_err();
    assert_eq!(g.to_json(), before, "a refused delta changes nothing");
    e
}

#[test]
fn an_approval_carries_its_delta_and_the_delta_rebuilds_the_approved_graph() {
    let base = graph();
    let mut session = ApprovalSession::new(base.clone(), Some("g".into()));
    let proposal = Proposal::from_value(json!({
        "nodes": [{"id": "a", "label": "A2", "position": {"x": 5}, "color": "red"}, {"id": "d", "label": "D"}],
        "edges": [{"source": "a", "target": "d", "label": "new"}],
        "removeNodeIds": ["c"],
        "metadata": {"title": "T2", "category": "x"}
    }))
    .unwrap();
    session.propose(&proposal, Provenance::default()).unwrap();
    let who = Approver::new("ann", Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap()).unwrap();
    let approved = session.approve(&who, None).unwrap();
    let d = &approved.applied.delta;
    assert_eq!(d.patch_nodes.len(), 1);
    assert_eq!(
        d.patch_nodes[0].fields.keys().collect::<Vec<_>>(),
        ["label", "position", "color", "updatedAt", "updatedBy"],
        "the changed fields and the stamps, nothing else (no info)"
    );
    assert_eq!(d.add_nodes.len(), 1);
    assert_eq!(d.remove_node_ids, ["c"]);
    assert_eq!(d.remove_edge_ids, ["b_c"]);
    assert_eq!(d.add_edges[0]["createdBy"], "ann");
    let mut replayed = base;
    d.apply_to(&mut replayed).unwrap();
    assert_eq!(replayed.to_json(), session.graph().to_json());
}

#[test]
fn fields_keep_their_place_new_ones_go_last_and_removed_ones_go() {
    let mut g = graph();
    delta(json!({"patchNodes": [{"nodeId": "a", "fields": {"zeta": 1, "label": "A2"}, "removeFields": ["info"]}]}))
        .unwrap()
        .apply_to(&mut g)
        .unwrap();
    assert_eq!(serde_json::to_string(g.node("a").unwrap()).unwrap(), r#"{"id":"a","label":"A2","position":{"x":1,"y":2},"zeta":1}"#);
}

#[test]
fn metadata_is_created_first_when_the_graph_had_none() {
    let mut g = Graph::from_value(json!({"nodes": [{"id": "a"}]})).unwrap();
    delta(json!({"patchMetadata": {"fields": {"updated": "t"}}})).unwrap().apply_to(&mut g).unwrap();
    assert_eq!(g.to_json(), r#"{"metadata":{"updated":"t"},"nodes":[{"id":"a"}]}"#);
}

#[test]
fn an_edge_patch_that_moves_an_id_less_edge_rekeys_it() {
    let mut g = graph();
    delta(json!({"patchEdges": [{"edgeId": "b_c", "fields": {"target": "a"}}]})).unwrap().apply_to(&mut g).unwrap();
    assert!(g.edge("b_a").is_some());
    assert!(g.edge("b_c").is_none());
}

#[test]
fn bad_deltas_are_refused_with_the_path_of_the_offending_entry() {
    let cases = [
        (json!({"patchNodes": [{"nodeId": "zz", "fields": {"label": "x"}}]}), ErrorCode::UnknownNode, "patchNodes[0].nodeId"),
        (json!({"removeNodeIds": ["a", "zz"], "removeEdgeIds": ["a_b"]}), ErrorCode::UnknownNode, "removeNodeIds[1]"),
        (json!({"addNodes": [{"id": "c"}]}), ErrorCode::DuplicateNodeId, "addNodes[0].id"),
        (json!({"addNodes": [{"label": "no id"}]}), ErrorCode::InvalidDelta, "addNodes[0].id"),
        (json!({"removeNodeIds": ["a"]}), ErrorCode::DanglingEdge, "removeNodeIds[0]"),
        (
            json!({"removeNodeIds": ["c"], "removeEdgeIds": ["b_c"], "addEdges": [{"source": "a", "target": "c"}]}),
            ErrorCode::DanglingEdge,
            "addEdges[0]",
        ),
        (json!({"patchEdges": [{"edgeId": "x_y", "fields": {}}]}), ErrorCode::UnknownEdge, "patchEdges[0].edgeId"),
        (json!({"removeEdgeIds": ["nope"]}), ErrorCode::UnknownEdge, "removeEdgeIds[0]"),
        (json!({"addEdges": [{"id": "a_b", "source": "a", "target": "c"}]}), ErrorCode::InvalidDelta, "addEdges[0]"),
        (json!({"patchNodes": [{"nodeId": "a", "fields": {"id": "z"}}]}), ErrorCode::InvalidDelta, "patchNodes[0].fields.id"),
        (json!({"patchNodes": [{"nodeId": "a"}, {"nodeId": "a"}]}), ErrorCode::InvalidDelta, "patchNodes[1].nodeId"),
        (json!({"patchNodes": [{"nodeId": "a"}], "removeNodeIds": ["a"]}), ErrorCode::ConflictingOperations, "removeNodeIds[0]"),
    ];
    for (value, code, path) in cases {
        let e = refused(value.clone());
        assert_eq!((e.code(), e.path()), (code, Some(path)), "{value}: {e}");
    }
}

#[test]
fn an_ambiguous_edge_id_cannot_be_patched_but_can_be_removed() {
    let g = Graph::from_value(json!({"nodes": [{"id": "a"}, {"id": "b"}], "edges": [{"source": "a", "target": "b"}, {"source": "a", "target": "b", "label": "2"}]})).unwrap();
    let e = delta(json!({"patchEdges": [{"edgeId": "a_b", "fields": {"label": "x"}}]})).unwrap().apply_to(&mut g.clone()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::AmbiguousEdgeId);
    let mut g2 = g;
    delta(json!({"removeEdgeIds": ["a_b"]})).unwrap().apply_to(&mut g2).unwrap();
    assert!(g2.edges().is_empty(), "both edges with the id go, as Graph::remove does");
}

#[test]
fn unknown_keys_and_wrong_types_are_invalid_delta() {
    assert_eq!(delta(json!({"patchNode": []})).unwrap_err().code(), ErrorCode::InvalidDelta);
    assert_eq!(delta(json!({"patchNodes": {}})).unwrap_err().code(), ErrorCode::InvalidDelta);
    assert_eq!(delta(json!([])).unwrap_err().code(), ErrorCode::InvalidDelta);
    assert!(delta(json!({})).unwrap().is_empty());
}
