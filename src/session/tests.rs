use super::*;
use crate::timestamp::Timestamp;
use serde_json::json;

fn graph() -> Graph {
    Graph::from_value(json!({
        "metadata": {"title": "T", "version": 4},
        "nodes": [{"id": "a", "label": "A", "info": "x"}, {"id": "b", "label": "B"}],
        "edges": [{"id": "a_b", "source": "a", "target": "b"}]
    }))
    .unwrap()
}

fn who(user: &str) -> Approver {
    Approver::new(user, Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap()).unwrap()
}

fn approve(session: &mut ApprovalSession, proposal: Value) -> Approved {
    session.propose(&Proposal::from_value(proposal).unwrap(), Provenance::default()).unwrap();
    session.approve(&who("ann"), None).unwrap()
}

#[test]
fn approvals_wait_in_the_outbox_until_saved_in_order() {
    let mut s = ApprovalSession::new(graph(), Some("g".into()));
    let first = approve(&mut s, json!({"nodes": [{"id": "a", "label": "A1"}]}));
    let second = approve(&mut s, json!({"nodes": [{"id": "b", "label": "B1"}]}));
    let ids: Vec<_> = s.pending_saves().iter().map(|p| p.approval_id().to_owned()).collect();
    assert_eq!(ids, [first.audit.approval_id.clone(), second.audit.approval_id.clone()]);
    assert_eq!(s.pending_saves()[1].audit.base_version, Some(json!(4)));

    let out_of_order = s.mark_saved(&second.audit.approval_id, json!(5)).unwrap_err();
    assert_eq!(out_of_order.code(), ErrorCode::InvalidArgument);
    assert_eq!(s.mark_saved("nope", json!(5)).unwrap_err().code(), ErrorCode::UnknownApproval);

    s.mark_saved(&first.audit.approval_id, json!(5)).unwrap();
    assert_eq!(s.pending_saves()[0].audit.base_version, Some(json!(5)), "the next save is based on the version just stored");
    assert_eq!(s.base_version(), Some(&json!(4)), "unchanged while saves are pending");
    s.mark_saved(&second.audit.approval_id, json!(6)).unwrap();
    assert!(s.pending_saves().is_empty());
    assert_eq!(s.base_version(), Some(&json!(6)));
    assert_eq!(s.graph().version(), Some(&json!(6)));
}

#[test]
fn an_approval_that_accepts_nothing_is_not_queued() {
    let mut s = ApprovalSession::new(graph(), None);
    s.propose(&Proposal::from_value(json!({"nodes": [{"id": "a", "label": "A1"}]})).unwrap(), Provenance::default()).unwrap();
    s.reject_all().unwrap();
    let approved = s.approve(&who("ann"), None).unwrap();
    assert!(!approved.queued);
    assert!(s.pending_saves().is_empty());
}

#[test]
fn pending_saves_survive_serialization_and_restore() {
    let mut s = ApprovalSession::new(graph(), Some("g".into()));
    approve(&mut s, json!({"nodes": [{"id": "a", "label": "A1", "extra": null}]}));
    let text = serde_json::to_string(s.pending_saves()).unwrap();

    let mut reloaded = ApprovalSession::new(graph(), None);
    reloaded.restore_pending_saves(serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(reloaded.graph().to_json(), s.graph().to_json());
    assert_eq!(reloaded.graph_id(), Some("g"));
    assert_eq!(serde_json::to_string(reloaded.pending_saves()).unwrap(), text);
    reloaded.restore_pending_saves(serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(reloaded.pending_saves().len(), 1, "restoring twice does not duplicate");
    assert!(!text.contains(r#""graph""#), "an entry holds its delta, not the whole graph: {text}");
    for bad in [
        text.replace(r#""delta":"#, r#""nothing":"#),
        text.replace(r#""delta":"#, r#""graph":{"nodes":[7]},"delta":"#),
        text.replace(r#""nodeId":"a""#, r#""nodeId":"zz""#),
    ] {
        let bad: Vec<PendingSave> = serde_json::from_str(&bad).unwrap();
        let e = ApprovalSession::new(graph(), None).restore_pending_saves(bad).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    }
}

#[test]
fn a_delta_entry_is_restored_only_on_the_version_it_was_approved_on() {
    let mut s = ApprovalSession::new(graph(), Some("g".into()));
    approve(&mut s, json!({"nodes": [{"id": "b", "label": "B1"}]}));
    let kept: Vec<PendingSave> = s.pending_saves().to_vec();
    let mut newer = graph();
    newer.set_version(json!(5));
    let e = ApprovalSession::new(newer, None).restore_pending_saves(kept.clone()).unwrap_err();
    assert_eq!(e.path(), Some("pendingSaves[0]"));
    assert!(e.to_string().contains("approved on version 4, but the session holds version 5"), "{e}");
    let mut right = ApprovalSession::new(graph(), None);
    right.restore_pending_saves(kept).unwrap();
    assert_eq!(right.graph().to_json(), s.graph().to_json());
}

#[test]
fn a_second_approval_before_saving_keeps_the_first_ones_graph() {
    let mut s = ApprovalSession::new(graph(), Some("g".into()));
    let first = approve(&mut s, json!({"nodes": [{"id": "a", "label": "A1"}]}));
    let first_graph = s.graph().to_json();
    assert!(s.pending_saves()[0].graph.is_none(), "one approval: the session's graph is its graph");
    assert_eq!(s.approved_graph_json(&first.audit.approval_id).unwrap(), first_graph);
    let second = approve(&mut s, json!({"nodes": [{"id": "a", "label": "A2"}]}));
    assert_eq!(s.pending_saves()[0].graph.as_deref(), Some(first_graph.as_str()), "kept before the graph changed");
    assert_eq!(s.approved_graph_json(&first.audit.approval_id).unwrap(), first_graph);
    assert_eq!(s.approved_graph_json(&second.audit.approval_id).unwrap(), s.graph().to_json());
    s.mark_saved(&first.audit.approval_id, json!(5)).unwrap();
    assert_eq!(s.approved_graph_json(&first.audit.approval_id).unwrap_err().code(), ErrorCode::GraphUnavailable);
}

#[test]
fn a_rebase_merges_untouched_fields_and_blocks_on_conflicts() {
    let mut s = ApprovalSession::new(graph(), Some("g".into()));
    let stale = approve(&mut s, json!({"nodes": [{"id": "a", "label": "Ours", "info": "ours"}]}));
    // Another editor saved version 5 meanwhile: changed the label, not the info.
    let latest = Graph::from_value(json!({
        "metadata": {"title": "T", "version": 5},
        "nodes": [{"id": "a", "label": "Theirs", "info": "x"}, {"id": "b", "label": "B"}, {"id": "c", "label": "C"}],
        "edges": [{"id": "a_b", "source": "a", "target": "b"}]
    }))
    .unwrap();
    let review = s.rebase(latest, None).unwrap();
    let view: Vec<_> = review.changes.iter().map(|c| (c.id.as_str(), c.accepted, c.conflict.is_some())).collect();
    assert_eq!(view, [("node/a/label", false, true), ("node/a/info", true, false)]);
    assert_eq!(s.base_version(), Some(&json!(5)));
    assert_eq!(s.approve(&who("ann"), None).unwrap_err().code(), ErrorCode::UnresolvedConflict);
    assert_eq!(s.pending_saves().len(), 1, "the stale approval is kept until the rebase is approved");

    s.accept("node/a/label").unwrap();
    s.approve(&who("ann"), None).unwrap();
    let a = s.graph().node("a").unwrap().fields();
    assert_eq!((a["label"].clone(), a["info"].clone()), (json!("Ours"), json!("ours")));
    assert!(s.graph().node("c").is_some(), "the other editor's node is kept");
    let pending = s.pending_saves();
    assert_eq!(pending.len(), 1);
    assert_ne!(pending[0].approval_id(), stale.audit.approval_id);
    assert_eq!(pending[0].audit.base_version, Some(json!(5)));
}

#[test]
fn rejecting_a_conflict_keeps_theirs() {
    let mut s = ApprovalSession::new(graph(), None);
    approve(&mut s, json!({"nodes": [{"id": "a", "label": "Ours"}]}));
    let latest = Graph::from_value(
        json!({"metadata": {"version": 5}, "nodes": [{"id": "a", "label": "Theirs", "info": "x"}, {"id": "b", "label": "B"}]}),
    )
    .unwrap();
    s.rebase(latest, Some(json!(5))).unwrap();
    assert_eq!(s.reject("node/a/label").unwrap(), ["node/a/label"], "deciding a conflict is a change even if the flag stays");
    let approved = s.approve(&who("ann"), None).unwrap();
    assert!(!approved.queued, "nothing of ours remains to save");
    assert_eq!(s.graph().node("a").unwrap().fields()["label"], "Theirs");
    assert!(s.pending_saves().is_empty());
}

#[test]
fn revert_to_reviews_the_way_back_without_audit_fields() {
    let mut s = ApprovalSession::new(graph(), Some("g".into()));
    let old = graph();
    approve(
        &mut s,
        json!({"nodes": [{"id": "a", "label": "A1"}, {"id": "n", "label": "N"}], "edges": [{"source": "n", "target": "a"}], "removeNodeIds": ["b"]}),
    );
    let review = s.revert_to(&old).unwrap();
    let ids: Vec<_> = review.changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["node/a/label", "node/n", "node/b", "edge/n_a", "edge/a_b"]);
    assert_eq!(review.change("node/n").unwrap().requires, ["edge/n_a"]);
    let approved = s.approve(&who("bob"), Some("undo")).unwrap();
    assert_eq!(approved.audit.source, "revert");
    let restored = s.graph();
    assert_eq!(restored.nodes().iter().map(|n| n.id()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(restored.node("a").unwrap().fields()["label"], "A");
    assert_eq!(restored.node("a").unwrap().fields()["updatedBy"], "bob");
}
