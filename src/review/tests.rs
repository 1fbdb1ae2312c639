use super::*;
use crate::approval::{Approver, apply_accepted};
use crate::timestamp::Timestamp;
use serde_json::json;

fn graph() -> Graph {
    Graph::from_value(json!({
        "metadata": {"title": "T", "version": 3},
        "nodes": [
            {"id": "a", "label": "A", "type": "fulltext", "info": "one two three", "position": {"x": 1, "y": 2}, "bibl": ["x"], "visible": true},
            {"id": "b", "label": "B", "visible": false, "order": 0, "flag": false},
            {"id": "c", "label": "C", "extra": {"keep": 1}}
        ],
        "edges": [
            {"id": "a_b", "source": "a", "target": "b", "label": "ab"},
            {"id": "b_c", "source": "b", "target": "c"},
            {"from": "a", "to": "c", "label": "legacy"}
        ]
    }))
    .unwrap()
}

fn run(proposal: Value) -> Result<Review> {
    review(&graph(), &Proposal::from_value(proposal).unwrap(), &ReviewOptions::default())
}

fn ids(review: &Review) -> Vec<&str> {
    review.changes.iter().map(|c| c.id.as_str()).collect()
}

fn approve_all(review: &Review) -> Graph {
    let mut g = graph();
    let who = Approver::new("ann", Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap()).unwrap();
    apply_accepted(&mut g, &review.changes, &who).unwrap();
    g
}

#[test]
fn bug1_a_patch_with_many_fields_never_replaces_other_nodes() {
    let r = run(json!({"nodes": [{"id": "a", "label": "A2", "info": "new", "type": "title", "position": {"x": 9, "y": 9}}]})).unwrap();
    assert!(r.changes.iter().all(|c| c.node_id.as_deref() == Some("a")));
    assert_eq!(approve_all(&r).nodes().len(), 3);
}

#[test]
fn bug2_every_changed_node_is_listed() {
    let r = run(json!({"nodes": [{"id": "a", "label": "A2"}, {"id": "b", "label": "B2"}, {"id": "c", "label": "C2"}]})).unwrap();
    assert_eq!(ids(&r), ["node/a/label", "node/b/label", "node/c/label"]);
    assert_eq!(r.summary.nodes_changed, 3);
}

#[test]
fn bug3_equal_objects_and_arrays_are_not_changes() {
    let r = run(json!({"nodes": [{"id": "a", "position": {"y": 2, "x": 1}, "bibl": ["x"], "label": "A"}]})).unwrap();
    assert!(r.changes.is_empty());
    assert_eq!(r.warnings[0].code, WarningCode::NoChange);
    let moved = run(json!({"nodes": [{"id": "a", "position": {"x": 5}}]})).unwrap();
    assert_eq!(moved.changes[0].new, Some(json!({"x": 5, "y": 2})));
}

#[test]
fn bug4_falsy_values_are_exact() {
    let r = run(json!({"nodes": [{"id": "b", "order": false, "flag": 0, "label": ""}, {"id": "c", "extra": null}]})).unwrap();
    let pairs: Vec<_> = r.changes.iter().map(|c| (c.old.clone(), c.new.clone())).collect();
    assert_eq!(
        pairs,
        [
            (Some(json!(0)), Some(json!(false))),
            (Some(json!(false)), Some(json!(0))),
            (Some(json!("B")), Some(json!(""))),
            (Some(json!({"keep": 1})), Some(json!(null))),
        ]
    );
}

#[test]
fn bug5_only_nodes_with_accepted_changes_are_stamped() {
    let r = run(json!({"nodes": [{"id": "a", "label": "A"}, {"id": "c", "label": "C2"}]})).unwrap();
    let g = approve_all(&r);
    assert!(!g.node("a").unwrap().fields().contains_key("updatedAt"));
    assert_eq!(g.node("c").unwrap().fields()["updatedAt"], "2026-02-04T14:30:45.123Z");
    assert!(r.changes.iter().all(|c| c.field.as_deref() != Some("updatedAt")));
}

#[test]
fn bug6_replace_all_keeps_hidden_nodes() {
    let r = run(json!({"replaceAllNodes": true, "nodes": [{"id": "a", "label": "A2"}]})).unwrap();
    assert_eq!(ids(&r), ["node/a/label", "node/c", "edge/b_c", "edge/a_c"]);
    assert_eq!(r.warnings[0].code, WarningCode::HiddenNodeKept);
    let g = approve_all(&r);
    assert!(g.node("b").is_some_and(|n| n.is_hidden()));
    assert!(g.node("c").is_none());
    assert!(g.edge("b_c").is_none(), "edges of a removed node go with it");
}

#[test]
fn removal_requires_removing_the_touching_edges() {
    let r = run(json!({"removeNodeIds": ["c"]})).unwrap();
    let node = r.change("node/c").unwrap();
    assert_eq!(node.requires, ["edge/b_c", "edge/a_c"]);
}

#[test]
fn added_edge_requires_added_node_and_gets_an_id() {
    let r = run(json!({"nodes": [{"id": "d", "label": "D"}], "edges": [{"source": "a", "target": "d", "label": "ad"}]})).unwrap();
    let edge = r.change("edge/a_d").unwrap();
    assert_eq!(edge.requires, ["node/d"]);
    assert_eq!(edge.new, Some(json!({"id": "a_d", "source": "a", "target": "d", "label": "ad"})));
}

#[test]
fn edges_spelled_from_to_stay_so() {
    let r = run(json!({"edges": [{"source": "a", "target": "c", "label": "renamed"}]})).unwrap();
    assert_eq!(ids(&r), ["edge/a_c/label"]);
    let g = approve_all(&r);
    let edge = g.edge("a_c").unwrap().fields();
    assert!(edge.contains_key("from") && !edge.contains_key("source"));
}

#[test]
fn search_replace_applies_and_composes_with_patches() {
    let r = run(json!({"nodes": [{"id": "a", "info": "one two two"}], "searchReplace": [{"nodeId": "a", "search": "two", "replace": "2", "replaceAll": true}]})).unwrap();
    assert_eq!(r.changes[0].new, Some(json!("one 2 2")));
    let text = r.changes[0].text.as_ref().unwrap();
    assert_eq!(text.old_text(), "one two three");
}

#[test]
fn search_not_found_is_an_error() {
    let e = run(json!({"searchReplace": [{"nodeId": "a", "search": "absent", "replace": "x"}]})).unwrap_err();
    assert_eq!(e.code(), ErrorCode::SearchNotFound);
    assert_eq!(e.path(), Some("searchReplace[0].search"));
    assert_eq!(
        run(json!({"searchReplace": [{"nodeId": "zz", "search": "a", "replace": "x"}]})).unwrap_err().code(),
        ErrorCode::UnknownNode
    );
    assert_eq!(
        run(json!({"searchReplace": [{"nodeId": "a", "field": "position", "search": "a", "replace": "x"}]})).unwrap_err().code(),
        ErrorCode::FieldNotText
    );
}

#[test]
fn contradictions_are_refused() {
    assert_eq!(
        run(json!({"nodes": [{"id": "a", "label": "x"}], "removeNodeIds": ["a"]})).unwrap_err().code(),
        ErrorCode::ConflictingOperations
    );
    assert_eq!(
        run(json!({"removeNodeIds": ["b"], "edges": [{"id": "a_b", "label": "x"}]})).unwrap_err().code(),
        ErrorCode::ConflictingOperations
    );
    assert_eq!(run(json!({"edges": [{"id": "nope", "label": "x"}]})).unwrap_err().code(), ErrorCode::UnknownEdge);
}

#[test]
fn unknown_removals_and_dangling_edges_warn() {
    let r = run(json!({"removeNodeIds": ["zz"], "removeEdgeIds": ["yy"], "edges": [{"source": "a", "target": "ghost"}]})).unwrap();
    let codes: Vec<_> = r.warnings.iter().map(|w| w.code).collect();
    assert_eq!(codes, [WarningCode::NodeNotFound, WarningCode::EdgeNotFound, WarningCode::DanglingEdge]);
}

#[test]
fn same_proposal_gives_same_ids_and_review() {
    let p = json!({"nodes": [{"id": "a", "label": "x"}, {"id": "n", "label": "N"}], "metadata": {"title": "U"}});
    assert_eq!(run(p.clone()).unwrap(), run(p).unwrap());
}

#[test]
fn metadata_changes_are_listed_and_reserved_keys_ignored() {
    let r = run(json!({"metadata": {"title": "U", "version": 99, "updatedBy": "ai"}})).unwrap();
    assert_eq!(ids(&r), ["metadata/title"]);
    assert_eq!(r.warnings.len(), 2);
}

#[test]
fn preserve_fulltext_images_puts_images_back() {
    let g =
        Graph::from_value(json!({"nodes": [{"id": "a", "type": "fulltext", "info": "![Header|width:100%](https://x/img.png) Old text"}]}))
            .unwrap();
    let p = Proposal::from_value(json!({"preserveExistingFulltextImages": true, "nodes": [{"id": "a", "info": "New text"}]})).unwrap();
    let r = review(&g, &p, &ReviewOptions::default()).unwrap();
    assert_eq!(r.changes[0].new, Some(json!("![Header|width:100%](https://x/img.png)\n\nNew text")));
    assert_eq!(r.warnings[0].code, WarningCode::ImagesPreserved);
}

#[test]
fn markdown_images_are_found_in_order() {
    assert_eq!(markdown_images("a ![x](u1) b ![y](u2)\n![broken\n](u3)"), ["![x](u1)", "![y](u2)"]);
}

#[test]
fn review_leaves_the_graph_alone() {
    let g = graph();
    let before = g.to_json();
    review(
        &g,
        &Proposal::from_value(json!({"replaceAllNodes": true, "nodes": [{"id": "a", "label": "z"}]})).unwrap(),
        &ReviewOptions::default(),
    )
    .unwrap();
    assert_eq!(g.to_json(), before);
}
