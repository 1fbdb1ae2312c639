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

/// Version 5 of `graph()`, saved by another editor: node a's label changed.
fn theirs() -> Graph {
    Graph::from_value(json!({
        "metadata": {"title": "T", "version": 5},
        "nodes": [{"id": "a", "label": "Theirs", "info": "x"}, {"id": "b", "label": "B"}],
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

/// Pending saves read back from their JSON text, as the bindings do.
fn saves(text: &str) -> Vec<PendingSave> {
    PendingSave::read_all(&serde_json::from_str(text).unwrap(), "saves").unwrap()
}

#[test]
fn pending_saves_survive_serialization_and_restore() {
    let mut s = ApprovalSession::new(graph(), Some("g".into()));
    approve(&mut s, json!({"nodes": [{"id": "a", "label": "A1", "extra": null}]}));
    let text = serde_json::to_string(s.pending_saves()).unwrap();

    let mut reloaded = ApprovalSession::new(graph(), None);
    reloaded.restore_pending_saves(saves(&text)).unwrap();
    assert_eq!(reloaded.graph().to_json(), s.graph().to_json());
    assert_eq!(reloaded.graph_id(), Some("g"));
    assert_eq!(serde_json::to_string(reloaded.pending_saves()).unwrap(), text);
    reloaded.restore_pending_saves(saves(&text)).unwrap();
    assert_eq!(reloaded.pending_saves().len(), 1, "restoring twice does not duplicate");
    assert!(!text.contains(r#""graph""#), "an entry holds its delta, not the whole graph: {text}");
    for bad in [
        text.replace(r#""delta":"#, r#""nothing":"#),
        text.replace(r#""delta":"#, r#""graph":{"nodes":[7]},"delta":"#),
        text.replace(r#""nodeId":"a""#, r#""nodeId":"zz""#),
    ] {
        let bad = saves(&bad);
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
    let view: Vec<_> = review.changes.iter().map(|c| (c.id.as_str(), c.is_accepted(), c.conflict.is_some())).collect();
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

fn told_proposal() -> Proposal {
    Proposal::from_value(json!({
        "model": "m-1", "modelVersion": "2024-06", "confidence": 0.9, "ruleId": "r-top",
        "nodes": [
            {"id": "a", "label": "A1", "info": "y", "confidence": 0.8, "ruleId": "r7"},
            {"id": "b", "label": "B1", "ruleId": "r8"},
            {"id": "n", "label": "New", "confidence": 0.25}
        ],
        "edges": [{"source": "a", "target": "n"}]
    }))
    .unwrap()
}

#[test]
fn provenance_reaches_the_review_and_the_audit_but_never_the_graph() {
    let mut s = ApprovalSession::new(graph(), Some("g".into()));
    let at = Some("2026-02-04T14:00:00.000Z".to_owned());
    let context = Provenance { reason: Some("tidy".into()), run_id: Some("run-1".into()), proposed_at: at, ..Provenance::default() };
    let review = s.propose(&told_proposal(), context).unwrap();
    assert_eq!(
        serde_json::to_value(&review.provenance).unwrap(),
        json!({"source": "ai", "model": "m-1", "modelVersion": "2024-06", "confidence": 0.9, "ruleId": "r-top", "reason": "tidy", "runId": "run-1",
               "proposedAt": "2026-02-04T14:00:00.000Z"})
    );
    let told: Vec<_> = review.changes.iter().map(|c| (c.id.as_str(), c.confidence, c.rule_id.as_deref())).collect();
    assert_eq!(
        told,
        [
            ("node/a/label", Some(0.8), Some("r7")),
            ("node/a/info", Some(0.8), Some("r7")),
            ("node/b/label", None, Some("r8")),
            ("node/n", Some(0.25), None),
            ("edge/a_n", None, None),
        ]
    );
    let change = serde_json::to_value(review.change("node/b/label").unwrap()).unwrap();
    assert_eq!((change.get("confidence"), &change["ruleId"]), (None, &json!("r8")), "absent provenance is left out of a change");
    assert!(review.warnings.is_empty(), "{:?}", review.warnings);

    s.reject_node("b").unwrap();
    let approved = s.approve(&who("ann"), None).unwrap();
    for node in s.graph().nodes() {
        assert!(!node.fields().contains_key("confidence") && !node.fields().contains_key("ruleId"), "{:?}", node.fields());
    }
    let audit = serde_json::to_value(&approved.audit).unwrap();
    assert_eq!(
        (&audit["model"], &audit["modelVersion"], &audit["confidence"], &audit["ruleId"], &audit["runId"]),
        (&json!("m-1"), &json!("2024-06"), &json!(0.9), &json!("r-top"), &json!("run-1"))
    );
    assert_eq!(
        audit["patchProvenance"],
        json!({"a": {"confidence": 0.8, "ruleId": "r7"}, "b": {"ruleId": "r8"}, "n": {"confidence": 0.25}}),
        "rejected nodes are recorded too"
    );
    assert_eq!(audit["changes"]["n"], json!({"id": [null, "n"], "label": [null, "New"]}));
}

#[test]
fn an_audit_without_provenance_has_nulls_and_no_patch_provenance() {
    let mut s = ApprovalSession::new(graph(), Some("g".into()));
    let audit = serde_json::to_value(approve(&mut s, json!({"nodes": [{"id": "a", "label": "A1"}]})).audit).unwrap();
    assert_eq!((&audit["modelVersion"], &audit["confidence"], &audit["ruleId"]), (&Value::Null, &Value::Null, &Value::Null));
    assert!(audit.get("patchProvenance").is_none());
    // A pending save kept by a version without provenance still restores.
    let text = serde_json::to_string(s.pending_saves()).unwrap();
    let old = text.replace(r#""modelVersion":null,"confidence":null,"ruleId":null,"#, "");
    assert_ne!(old, text);
    let mut reloaded = ApprovalSession::new(graph(), None);
    reloaded.restore_pending_saves(saves(&old)).unwrap();
    assert_eq!(reloaded.pending_saves()[0].audit.confidence, None);
}

#[test]
fn the_callers_model_wins_over_the_proposals_with_a_warning() {
    let mut s = ApprovalSession::new(graph(), None);
    let context = Provenance { model: Some("caller-model".into()), ..Provenance::default() };
    let review = s.propose(&told_proposal(), context).unwrap();
    assert_eq!((review.provenance.model.as_deref(), review.provenance.model_version.as_deref()), (Some("caller-model"), None));
    assert_eq!(review.provenance.confidence, Some(0.9));
    assert_eq!(review.warnings.iter().map(|w| w.code).collect::<Vec<_>>(), [crate::warning::WarningCode::ProvenanceOverridden]);
    let audit = s.approve(&who("ann"), None).unwrap().audit;
    assert_eq!((audit.model.as_deref(), audit.model_version), (Some("caller-model"), None));
}

#[test]
fn a_rebased_review_keeps_the_proposals_provenance() {
    let mut s = ApprovalSession::new(graph(), Some("g".into()));
    s.propose(&told_proposal(), Provenance::default()).unwrap();
    s.approve(&who("ann"), None).unwrap();
    let theirs = theirs();
    let review = s.rebase(theirs, None).unwrap();
    assert_eq!((review.provenance.model.as_deref(), review.provenance.rule_id.as_deref()), (Some("m-1"), Some("r-top")));
    let label = review.change("node/a/label").unwrap();
    assert_eq!((label.confidence, label.rule_id.as_deref()), (Some(0.8), Some("r7")));
}

#[test]
fn a_conflict_keeps_the_reviewers_reason_and_rejections() {
    let mut s = ApprovalSession::new(graph(), Some("g".into()));
    let proposal = json!({"nodes": [{"id": "a", "label": "Ours", "info": "rewritten"}, {"id": "b", "label": "B1"}]});
    s.propose(&Proposal::from_value(proposal).unwrap(), Provenance { reason: Some("the AI's reason".into()), ..Provenance::default() })
        .unwrap();
    s.reject("node/a/info").unwrap();
    let stale = s.approve(&who("ann"), Some("conflict test overlap")).unwrap();
    assert_eq!(stale.audit.rejected, ["node/a/info"]);
    let theirs = theirs();
    let review = s.rebase(theirs, None).unwrap();
    let carried = review.carried.clone().unwrap();
    assert_eq!((carried.reason.as_deref(), carried.rejected), (Some("conflict test overlap"), vec!["node/a/info".to_owned()]));
    assert!(review.change("node/a/info").is_none(), "a rejected change is not proposed again");
    s.accept("node/a/label").unwrap();
    let merged = s.approve(&who("ann"), None).unwrap();
    assert_eq!(merged.audit.reason.as_deref(), Some("conflict test overlap"), "the reason typed before the conflict");
    assert_eq!(merged.audit.rejected, ["node/a/info"]);
    assert!(merged.audit.accepted.contains(&"node/a/label".to_owned()));

    // Only the AI's reason: nothing of the reviewer's to carry.
    let mut t = ApprovalSession::new(graph(), Some("g".into()));
    t.propose(
        &Proposal::from_value(json!({"nodes": [{"id": "b", "label": "B2"}]})).unwrap(),
        Provenance { reason: Some("the AI's reason".into()), ..Provenance::default() },
    )
    .unwrap();
    t.approve(&who("ann"), None).unwrap();
    let review = t.rebase(graph(), Some(json!(5))).unwrap();
    assert_eq!(review.carried.as_ref().unwrap().reason, None);
}
