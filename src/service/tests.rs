use super::*;
use crate::approval::Approver;
use crate::audit::Provenance;
use crate::session::ApprovalSession;
use crate::timestamp::Timestamp;
use serde_json::json;

const WORKER: Service = Service::KnowledgeGraphWorker;

fn who() -> Approver {
    Approver::new("ann", Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap()).unwrap()
}

fn session(graph: Value) -> ApprovalSession {
    let mut s = ApprovalSession::new(Graph::from_value(graph).unwrap(), Some("g".into()));
    s.set_service(WORKER);
    s
}

fn propose(s: &mut ApprovalSession, proposal: Value) -> Result<Vec<String>> {
    let review = s.propose(&Proposal::from_value(proposal).unwrap(), Provenance::default())?;
    Ok(review.changes.iter().map(|c| c.id.clone()).collect())
}

#[test]
fn the_read_shape_is_what_the_current_read_returns_and_applying_it_again_changes_nothing() {
    // As /saveGraphWithHistory stores it, then /getknowgraph returns it.
    let sent = Graph::from_value(json!({
        "metadata": {"title": "T", "note": null},
        "nodes": [{"id": "a", "info": "", "type": "", "imageWidth": 0, "visible": "false", "extra": {"k": null, "v": 1}, "list": [null]}],
        "edges": [{"id": "mine", "source": "a", "target": "a", "label": "L", "weight": 3, "info": null}]
    }))
    .unwrap();
    let shown = WORKER.read_shape(&sent);
    assert_eq!(
        shown.to_json(),
        r#"{"metadata":{"title":"T","note":null},"nodes":[{"id":"a","visible":true,"extra":{"v":1},"list":[null],"bibl":[],"position":{"x":0,"y":0},"imageWidth":null,"imageHeight":null,"path":null}],"edges":[{"id":"a_a","source":"a","target":"a","label":"L"}]}"#,
        "falsy info/type dropped, defaults added, nulls stripped inside objects but not arrays, metadata untouched, edges reduced"
    );
    assert_eq!(WORKER.read_shape(&shown).to_json(), shown.to_json());
    assert_eq!(Service::Faithful.read_shape(&sent).to_json(), sent.to_json());
}

#[test]
fn a_proposed_edge_is_reviewed_under_the_id_the_service_stores_and_from_to_edges_are_refused() {
    let mut s = session(json!({"nodes": [{"id": "a"}, {"id": "c"}], "edges": []}));
    let ids = propose(&mut s, json!({"edges": [{"id": "custom", "source": "a", "target": "c", "label": "x"}]})).unwrap();
    assert_eq!(ids, ["edge/a_c"]);
    let review = s.review().unwrap();
    assert_eq!(review.changes[0].new.as_ref().unwrap()["id"], "a_c");
    assert!(review.warnings.iter().any(|w| w.code == WarningCode::EdgeIdRewritten && w.edge_id.as_deref() == Some("a_c")));

    let refused = propose(&mut s, json!({"edges": [{"from": "a", "to": "c"}]})).unwrap_err();
    assert_eq!((refused.code(), refused.path()), (ErrorCode::InvalidProposal, Some("edges[0]")));

    let mut faithful = ApprovalSession::new(Graph::from_value(json!({"nodes": [{"id": "a"}, {"id": "c"}]})).unwrap(), None);
    let review = faithful
        .propose(&Proposal::from_value(json!({"edges": [{"id": "custom", "source": "a", "target": "c"}]})).unwrap(), Provenance::default());
    assert_eq!(review.unwrap().changes[0].id, "edge/custom", "our server keeps ids as sent");
}

#[test]
fn after_a_save_edges_take_the_service_ids_so_a_rebase_does_not_add_a_second_copy() {
    // Loaded from the service: its ids. An id-less edge and a renamed one
    // (its endpoints changed since) are what a save rewrites.
    let mut s = session(json!({
        "metadata": {"version": 1},
        "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
        "edges": [{"source": "a", "target": "b"}, {"id": "a_b2", "source": "b", "target": "c"}]
    }));
    propose(&mut s, json!({"nodes": [{"id": "a", "label": "A"}]})).unwrap();
    let approved = s.approve(&who(), None).unwrap();
    s.mark_saved(&approved.audit.approval_id, json!(2)).unwrap();
    let edges: Vec<_> = s.graph().edges().iter().map(|e| serde_json::to_string(e.fields()).unwrap()).collect();
    assert_eq!(edges, [r#"{"source":"a","target":"b","id":"a_b"}"#, r#"{"id":"b_c","source":"b","target":"c"}"#]);

    // Our next approval relabels b_c; another editor saved version 3 first.
    propose(&mut s, json!({"edges": [{"id": "b_c", "label": "ours"}]})).unwrap();
    s.approve(&who(), None).unwrap();
    let latest = Graph::from_value(json!({
        "metadata": {"version": 3},
        "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c", "label": "theirs"}],
        "edges": [{"id": "a_b", "source": "a", "target": "b"}, {"id": "b_c", "source": "b", "target": "c"}]
    }))
    .unwrap();
    let ids: Vec<_> = s.rebase(latest, None).unwrap().changes.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids, ["edge/b_c/label"], "the edge is found, not re-added");
    s.approve(&who(), None).unwrap();
    assert_eq!(s.graph().edges().len(), 2);
}

#[test]
fn a_restore_compares_both_read_shapes_alike_and_leaves_the_classifier_fields_alone() {
    // The current graph as /getknowgraph returns it after the classifier ran;
    // version 1 as /getknowgraphversion returns it (nulls kept, no position
    // default, every edge field).
    let current = json!({
        "metadata": {"title": "T", "version": 2, "semanticPrimary": "OTHER", "semanticSecondary": [], "semanticConfidence": 0.7, "classifiedAt": "2026-02-04T15:00:00.000Z"},
        "nodes": [{"id": "a", "label": "New", "bibl": [], "position": {"x": 0, "y": 0}, "visible": true, "imageWidth": null, "imageHeight": null, "path": null}],
        "edges": [{"id": "a_a", "source": "a", "target": "a", "label": "self"}]
    });
    let version_1 = json!({
        "metadata": {"title": "T", "version": 1},
        "nodes": [{"id": "a", "label": "Old", "info": null, "type": null, "bibl": [], "visible": true, "imageWidth": null, "imageHeight": null, "path": null}],
        "edges": [{"id": "a_a", "source": "a", "target": "a", "label": "self", "updatedBy": "ann", "note": null}]
    });
    let mut s = session(current.clone());
    let review = s.revert_to(&Graph::from_value(version_1.clone()).unwrap()).unwrap();
    let ids: Vec<_> = review.changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["node/a/label"]);

    let mut faithful = ApprovalSession::new(Graph::from_value(current.clone()).unwrap(), None);
    let noisy = faithful.revert_to(&Graph::from_value(version_1.clone()).unwrap()).unwrap().changes.len();
    assert!(noisy > 5, "without the service's shapes the same restore shows {noisy} changes");

    let diff = WORKER.diff_versions(&Graph::from_value(version_1).unwrap(), &Graph::from_value(current).unwrap(), None);
    let ids: Vec<_> = diff.changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["node/a/label", "metadata/version"]);
    let server: Vec<_> = diff.server_written.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(server, ["metadata/semanticPrimary", "metadata/semanticSecondary", "metadata/semanticConfidence", "metadata/classifiedAt"]);
    assert_eq!(
        serde_json::to_value(&diff.summary).unwrap(),
        serde_json::to_value(Summary::of(&diff.changes)).unwrap(),
        "counts only the approved changes"
    );
}

#[test]
fn each_service_has_one_name() {
    for (name, service) in Service::NAMES {
        assert_eq!(service.name(), name);
    }
    assert_eq!(Service::default().name(), "faithful");
}
