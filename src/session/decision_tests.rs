//! Explicit decisions, corrections, comments, drafts and kept pending saves:
//! what a reviewer did, and the audit it leaves.

use super::*;
use crate::decision::{DecidedBy, Decision, DecisionMode};
use crate::draft::Draft;
use crate::timestamp::Timestamp;
use crate::warning::WarningCode;
use serde_json::json;

fn graph() -> Graph {
    Graph::from_value(json!({
        "metadata": {"title": "T", "version": 4},
        "nodes": [{"id": "a", "label": "A", "info": "x"}, {"id": "b", "label": "B"}, {"id": "c", "label": "C"}],
        "edges": [{"id": "a_b", "source": "a", "target": "b"}]
    }))
    .unwrap()
}

fn who() -> Approver {
    Approver::new("ann@example.com", Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap()).unwrap()
}

fn explicit(graph: Graph) -> ApprovalSession {
    let mut s = ApprovalSession::new(graph, Some("g".into()));
    s.set_decision_mode(DecisionMode::Explicit);
    s
}

/// Label and info of a, label of b, a new node n with an edge to it, and the removal of c.
fn proposal() -> Proposal {
    Proposal::from_value(json!({
        "nodes": [{"id": "a", "label": "A2", "info": "y"}, {"id": "b", "label": "B2"}, {"id": "n", "label": "New"}],
        "edges": [{"id": "a_n", "source": "a", "target": "n"}],
        "removeNodeIds": ["c"]
    }))
    .unwrap()
}

fn decision(approved: &Approved, id: &str) -> (Decision, DecidedBy, Option<String>) {
    let record = approved.audit.decisions.get(id).unwrap_or_else(|| panic!("no decision recorded for {id}"));
    (record.decision, record.decided_by, record.filter.clone())
}

#[test]
fn explicit_mode_starts_undecided_and_refuses_approval_until_each_change_is_decided() {
    let mut s = explicit(graph());
    let review = s.propose(&proposal(), Provenance::default()).unwrap();
    assert!(review.changes.iter().all(|c| c.accepted.is_none() && c.decided_by.is_none()), "{:?}", review.changes);
    let n = review.changes.len();
    let e = s.approve(&who(), None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::UndecidedChanges);
    assert_eq!(e.change_ids().len(), n);
    assert!(e.to_string().starts_with(&format!("{n} changes are not decided yet")), "{e}");
    s.accept_all().unwrap();
    s.reject("node/a/info").unwrap();
    let approved = s.approve(&who(), None).unwrap();
    assert_eq!(approved.audit.decision_mode, DecisionMode::Explicit);
    assert_eq!(approved.audit.decisions.0.len(), n);
}

#[test]
fn the_audit_says_how_each_change_was_decided() {
    let mut s = explicit(graph());
    s.propose(&proposal(), Provenance::default()).unwrap();
    s.accept("edge/a_n").unwrap(); // and, as a dependency, the node it ends at
    s.reject_node("a").unwrap();
    s.accept_many(&["node/b/label"], Some("field: label")).unwrap();
    s.reject_many(&["node/c"], Some("kind: removed")).unwrap();
    let approved = s.approve(&who(), None).unwrap();
    assert_eq!(decision(&approved, "edge/a_n"), (Decision::Accepted, DecidedBy::Change, None));
    assert_eq!(decision(&approved, "node/n"), (Decision::Accepted, DecidedBy::Dependency, None));
    assert_eq!(decision(&approved, "node/a/label"), (Decision::Rejected, DecidedBy::Node, None));
    assert_eq!(decision(&approved, "node/b/label"), (Decision::Accepted, DecidedBy::Bulk, Some("field: label".into())));
    assert_eq!(decision(&approved, "node/c"), (Decision::Rejected, DecidedBy::Bulk, Some("kind: removed".into())));

    // The old default mode: untouched changes are accepted by default, and the audit says so.
    let mut d = ApprovalSession::new(graph(), Some("g".into()));
    d.propose(&proposal(), Provenance::default()).unwrap();
    d.reject("node/b/label").unwrap();
    let approved = d.approve(&who(), None).unwrap();
    assert_eq!(approved.audit.decision_mode, DecisionMode::Accepted);
    assert_eq!(decision(&approved, "node/a/label"), (Decision::Accepted, DecidedBy::Default, None));
    assert_eq!(decision(&approved, "node/b/label"), (Decision::Rejected, DecidedBy::Change, None));
    let all = {
        d.propose(&Proposal::from_value(json!({"nodes": [{"id": "b", "label": "B3"}]})).unwrap(), Provenance::default()).unwrap();
        d.accept_all().unwrap();
        d.approve(&who(), None).unwrap()
    };
    assert_eq!(decision(&all, "node/b/label"), (Decision::Accepted, DecidedBy::Bulk, Some("all".into())));
}

#[test]
fn a_correction_applies_the_reviewers_value_and_keeps_the_ais_beside_it() {
    let mut s = explicit(graph());
    s.propose(&proposal(), Provenance::default()).unwrap();
    s.reject_all().unwrap();
    let changed = s.correct("edge/a_n", json!({"id": "a_n", "source": "a", "target": "n", "label": "mine"})).unwrap();
    assert_eq!(changed, ["edge/a_n", "node/n"], "correcting an edge accepts the node it needs");
    s.correct("node/a/label", json!("A-corrected")).unwrap();
    s.correct("node/a/label", json!("A-final")).unwrap();
    s.comment("node/a/label", Some("the AI dropped the hyphen")).unwrap();
    let change = s.review().unwrap().change("node/a/label").unwrap();
    assert_eq!((change.new.clone(), change.proposed.clone(), change.corrected), (Some(json!("A-final")), Some(json!("A2")), true));
    s.comment("node/b/label", Some("  ")).unwrap();
    s.comment("node/c", Some("keep C: it is cited elsewhere")).unwrap();
    let approved = s.approve(&who(), Some("corrections")).unwrap();
    let record = approved.audit.decisions.get("node/a/label").unwrap();
    assert_eq!((record.decision, record.proposed.clone()), (Decision::Corrected, Some(json!("A2"))));
    assert_eq!(record.comment.as_deref(), Some("the AI dropped the hyphen"));
    assert_eq!(approved.audit.changes["a"]["label"], json!(["A", "A-final"]), "the final value in the field changes");
    assert_eq!(approved.audit.decisions.get("node/c").unwrap().comment.as_deref(), Some("keep C: it is cited elsewhere"));
    assert_eq!(approved.audit.decisions.get("node/b/label").unwrap().comment, None, "a blank comment is none");
    assert_eq!(s.graph().node("a").unwrap().fields()["label"], "A-final");
    assert_eq!(s.graph().edge("a_n").unwrap().fields()["label"], "mine");
    let delta = serde_json::to_string(&approved.applied.delta).unwrap();
    assert!(delta.contains("A-final") && !delta.contains("\"A2\""), "{delta}");
}

#[test]
fn accepting_or_rejecting_a_corrected_change_takes_the_correction_back() {
    let mut s = explicit(graph());
    s.propose(&proposal(), Provenance::default()).unwrap();
    s.correct("node/b/label", json!("Mine")).unwrap();
    s.accept("node/b/label").unwrap();
    let change = s.review().unwrap().change("node/b/label").unwrap();
    assert_eq!((change.new.clone(), change.proposed.clone(), change.corrected), (Some(json!("B2")), None, false));
    s.correct("node/b/label", json!("Mine")).unwrap();
    s.reject("node/b/label").unwrap();
    let change = s.review().unwrap().change("node/b/label").unwrap();
    assert_eq!((change.new.clone(), change.accepted), (Some(json!("B2")), Some(false)), "the AI's value is what was rejected");
}

#[test]
fn a_correction_may_not_do_what_a_proposal_may_not() {
    let mut s = explicit(graph());
    s.propose(&proposal(), Provenance::default()).unwrap();
    for (id, value, expected) in [
        ("node/c", json!({"id": "c"}), "a removal cannot be corrected"),
        ("node/n", json!({"id": "other", "label": "x"}), "must keep its id 'n'"),
        ("node/n", json!({"id": "n", "updatedBy": "mallory"}), "'updatedBy' is an audit field"),
        ("node/n", json!("text"), "is corrected with an object"),
        ("node/a/label", json!("A"), "the value is the current one"),
    ] {
        let e = s.correct(id, value).unwrap_err();
        assert_eq!((e.code(), e.path()), (ErrorCode::InvalidCorrection, Some("value")), "{id}");
        assert!(e.to_string().contains(expected), "{e}");
    }
    assert_eq!(s.correct("node/zz/label", json!(1)).unwrap_err().code(), ErrorCode::UnknownChange);
    assert!(s.review().unwrap().changes.iter().all(|c| c.accepted.is_none()), "a refused correction decides nothing");
    let long = "x".repeat(crate::decision::MAX_COMMENT_CHARS + 1);
    assert_eq!(s.comment("node/c", Some(&long)).unwrap_err().code(), ErrorCode::InvalidArgument);
}

#[test]
fn a_draft_resumes_every_decision_correction_comment_and_the_reason() {
    let mut s = explicit(graph());
    s.propose(&proposal(), Provenance { model: Some("gpt-x".into()), run_id: Some("run-1".into()), ..Provenance::default() }).unwrap();
    s.reject_node("a").unwrap();
    s.correct("node/b/label", json!("B-mine")).unwrap();
    s.comment("node/c", Some("undecided, but noted")).unwrap();
    s.accept_many(&["edge/a_n"], Some("kind: added")).unwrap();
    let before: Vec<Change> = s.review().unwrap().changes.clone();
    let draft = s.draft(Some("half way")).unwrap().to_value();
    let text = draft.to_string();
    assert!(text.len() < 2_000, "a draft is about its proposal's size: {} bytes", text.len());

    let mut reloaded = explicit(graph());
    let review = reloaded.resume(&Draft::read(&draft, "draft").unwrap()).unwrap();
    assert_eq!(review.changes, before);
    assert_eq!(review.provenance.run_id.as_deref(), Some("run-1"));
    assert!(review.warnings.is_empty(), "{:?}", review.warnings);
    assert_eq!(draft["reason"], "half way");
    reloaded.accept("node/c").unwrap();
    let approved = reloaded.approve(&who(), draft["reason"].as_str()).unwrap();
    assert_eq!(approved.audit.decisions.get("node/b/label").unwrap().decision, Decision::Corrected);
    assert_eq!(approved.audit.decisions.get("edge/a_n").unwrap().filter.as_deref(), Some("kind: added"));
}

#[test]
fn a_draft_on_a_graph_that_moved_keeps_only_decisions_on_changes_the_reviewer_saw() {
    let mut s = explicit(graph());
    s.propose(&proposal(), Provenance::default()).unwrap();
    s.reject("node/a/label").unwrap();
    s.accept("node/b/label").unwrap();
    let draft = Draft::read(&s.draft(None).unwrap().to_value(), "draft").unwrap();
    // Version 5: someone else changed a's label.
    let mut moved = graph().to_value();
    moved["metadata"]["version"] = json!(5);
    moved["nodes"][0]["label"] = json!("A by someone else");
    let mut later = explicit(Graph::from_value(moved).unwrap());
    let review = later.resume(&draft).unwrap();
    assert_eq!(review.change("node/b/label").unwrap().accepted, Some(true));
    assert_eq!(review.change("node/a/label").unwrap().accepted, None, "a's label is not what the reviewer rejected");
    let dropped: Vec<_> = review.warnings.iter().filter(|w| w.code == WarningCode::DraftDecisionDropped).collect();
    assert_eq!(dropped.len(), 1);
    assert!(dropped[0].message.contains("node/a/label") && dropped[0].message.contains("moved"), "{}", dropped[0].message);

    let e = ApprovalSession::new(graph(), Some("other".into())).resume(&draft).unwrap_err();
    assert_eq!((e.code(), e.path()), (ErrorCode::InvalidDraft, Some("graphId")));
    assert_eq!(
        Draft::read(&json!({"draft": 9, "kind": "proposal", "proposalId": "x", "changes": {}}), "d").unwrap_err().path(),
        Some("d.draft")
    );
}

#[test]
fn a_revert_draft_resumes_on_the_same_revert() {
    let mut target = graph().to_value();
    target["nodes"][1]["label"] = json!("Old B");
    target["nodes"][2]["label"] = json!("Old C");
    let target = Graph::from_value(target).unwrap();
    let mut s = explicit(graph());
    s.revert_to(&target).unwrap();
    s.reject("node/c/label").unwrap();
    let draft = Draft::read(&s.draft(None).unwrap().to_value(), "draft").unwrap();
    assert!(draft.proposal.is_none());
    let mut reloaded = explicit(graph());
    assert_eq!(reloaded.resume(&draft).unwrap_err().code(), ErrorCode::InvalidDraft, "revert first");
    reloaded.revert_to(&target).unwrap();
    let review = reloaded.resume(&draft).unwrap();
    assert_eq!(review.change("node/c/label").unwrap().accepted, Some(false));
    assert_eq!(review.change("node/b/label").unwrap().accepted, None);
}

#[test]
fn a_kept_pending_save_holds_each_value_once_and_is_rebuilt_whole() {
    let long = "lorem ipsum dolor ".repeat(400);
    let mut s = explicit(graph());
    let p = json!({"nodes": [{"id": "a", "info": long, "label": "A2"}, {"id": "n", "label": "N", "info": long}], "removeNodeIds": ["c"]});
    s.propose(&Proposal::from_value(p).unwrap(), Provenance::default()).unwrap();
    s.accept_all().unwrap();
    s.correct("node/a/label", json!("A-mine")).unwrap();
    s.comment("node/c", Some("gone")).unwrap();
    let approved = s.approve(&who(), Some("why")).unwrap();
    let entry = &s.pending_saves()[0];
    let kept = serde_json::to_string(&entry).unwrap();
    let delta = serde_json::to_string(entry.delta.as_ref().unwrap()).unwrap();
    assert!(kept.len() as f64 <= 1.5 * delta.len() as f64 + 2048.0, "kept {} bytes for a delta of {}", kept.len(), delta.len());
    assert_eq!(kept.matches("lorem").count(), delta.matches("lorem").count(), "each long text once");

    let mut reloaded = explicit(graph());
    reloaded.restore_pending_saves(PendingSave::read_all(&serde_json::from_str(&format!("[{kept}]")).unwrap(), "saves").unwrap()).unwrap();
    let restored = &reloaded.pending_saves()[0];
    assert_eq!(restored.audit, approved.audit, "the audit entry, field changes included");
    let ids = |changes: &[Change]| changes.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&restored.changes), ids(&s.pending_saves()[0].changes));
    for (a, b) in restored.changes.iter().zip(&s.pending_saves()[0].changes) {
        assert_eq!(
            (&a.old, &a.new, a.corrected, &a.proposed, &a.comment, a.decided_by),
            (&b.old, &b.new, b.corrected, &b.proposed, &b.comment, b.decided_by),
            "{}",
            a.id
        );
    }
    // A conflict after the reload still rebases with the decisions made.
    let mut theirs = graph().to_value();
    theirs["metadata"]["version"] = json!(5);
    theirs["nodes"][1]["label"] = json!("B by them");
    let review = reloaded.rebase(Graph::from_value(theirs).unwrap(), None).unwrap();
    let label = review.change("node/a/label").unwrap();
    assert_eq!((label.new.clone(), label.corrected, label.decided_by), (Some(json!("A-mine")), true, Some(DecidedBy::Change)));
    assert_eq!(review.change("node/c").unwrap().comment.as_deref(), Some("gone"));
    let merged = reloaded.approve(&who(), None).unwrap();
    assert_eq!(merged.audit.decisions.get("node/a/label").unwrap().proposed, Some(json!("A2")));
}

#[test]
fn a_rebase_keeps_the_decisions_on_changes_rejected_before_it() {
    let mut s = explicit(graph());
    s.propose(&proposal(), Provenance::default()).unwrap();
    s.accept_all().unwrap();
    s.reject("node/b/label").unwrap();
    s.comment("node/b/label", Some("B stays B")).unwrap();
    s.approve(&who(), None).unwrap();
    let mut theirs = graph().to_value();
    theirs["metadata"]["version"] = json!(5);
    s.rebase(Graph::from_value(theirs).unwrap(), None).unwrap();
    let merged = s.approve(&who(), None).unwrap();
    let record = merged.audit.decisions.get("node/b/label").unwrap();
    assert_eq!((record.decision, record.comment.as_deref()), (Decision::Rejected, Some("B stays B")));
    assert_eq!(merged.audit.decisions.0[0].0, "node/b/label", "listed first, as in `rejected`");
}

#[test]
fn a_rationale_travels_from_the_proposal_to_the_audit_and_never_into_the_graph() {
    let mut s = explicit(graph());
    let p = json!({
        "nodes": [{"id": "a", "label": "A2", "rationale": "the source says A2", "confidence": 0.6},
                  {"id": "n", "label": "New", "rationale": "mentioned twice in a's text"}],
        "edges": [{"id": "a_n", "source": "a", "target": "n", "rationale": "a cites n"}, {"id": "a_b", "label": "x", "rationale": "clearer"}]
    });
    let review = s
        .propose(
            &Proposal::from_value(p).unwrap(),
            Provenance { proposed_at: Some("2026-02-04T14:00:00.000Z".into()), ..Provenance::default() },
        )
        .unwrap();
    let why = |id: &str| review.change(id).and_then(|c| c.rationale.clone());
    assert_eq!(why("node/a/label").as_deref(), Some("the source says A2"));
    assert_eq!(why("edge/a_n").as_deref(), Some("a cites n"));
    assert_eq!(why("edge/a_b/label").as_deref(), Some("clearer"));
    s.accept_all().unwrap();
    let approved = s.approve(&who(), None).unwrap();
    assert_eq!(approved.audit.patch_provenance["a"].rationale.as_deref(), Some("the source says A2"));
    assert_eq!(approved.audit.patch_provenance["n"].rationale.as_deref(), Some("mentioned twice in a's text"));
    assert_eq!(approved.audit.edge_provenance["a_n"].rationale.as_deref(), Some("a cites n"));
    assert_eq!(approved.audit.proposed_at.as_deref(), Some("2026-02-04T14:00:00.000Z"));
    let text = s.graph().to_json();
    assert!(!text.contains("rationale") && !text.contains("a cites n"), "{text}");

    // Told nothing: the session records when propose was called.
    let mut t = explicit(graph());
    t.propose(&Proposal::from_value(json!({"nodes": [{"id": "b", "label": "B2"}]})).unwrap(), Provenance::default()).unwrap();
    t.accept_all().unwrap();
    let at = t.approve(&who(), None).unwrap().audit.proposed_at.unwrap();
    assert!(Timestamp::parse(&at).is_ok(), "{at}");
}

#[test]
fn a_rationale_must_be_a_short_text() {
    for (p, path) in [
        (json!({"nodes": [{"id": "a", "rationale": 7}]}), "nodes[0].rationale"),
        (json!({"nodes": [{"id": "a", "rationale": ""}]}), "nodes[0].rationale"),
        (json!({"edges": [{"id": "a_b", "rationale": ["x"]}]}), "edges[0].rationale"),
        (json!({"nodes": [{"id": "a", "rationale": "x".repeat(10_001)}]}), "nodes[0].rationale"),
    ] {
        let e = Proposal::from_value(p).unwrap_err();
        assert_eq!((e.code(), e.path()), (ErrorCode::InvalidProposal, Some(path)), "{e}");
    }
}
