//! The reviewer's decisions as the server keeps them (issue 23): how each
//! change was decided, corrections with the AI's value beside the final one,
//! comments — in the audit entry, its changes, blame and the exports — and
//! the refusals of decisions that do not agree with the approval.

use kg_approval_server::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{ANN, AUDITOR, Backend, Server, start_on};

/// v1 by Ann; v2 a delta approved by Ann: `a`'s label corrected (the AI said
/// "Fjordd"), `b`'s label rejected with a comment, the node `n` added by a bulk action.
async fn corrected(s: &Server) -> String {
    let id = s.create().await;
    let decisions = json!({
        "node/a/label": {"decision": "corrected", "decidedBy": "change", "proposed": "Fjordd", "comment": "the AI doubled the d"},
        "node/b/label": {"decision": "rejected", "decidedBy": "node", "comment": "B is the official name"},
        "node/n": {"decision": "accepted", "decidedBy": "bulk", "filter": "kind: added"}
    });
    let body = json!({
        "graphId": id, "expectedVersion": 1,
        "patchNodes": [{"nodeId": "a", "fields": {"label": "Fjord", "updatedBy": "ann@example.com"}}],
        "addNodes": [{"id": "n", "label": "New", "createdBy": "ann@example.com", "updatedBy": "ann@example.com"}],
        "audit": {"source": "ai", "model": "gpt-x", "reason": "names", "decisionMode": "explicit",
                  "accepted": ["node/a/label", "node/n"], "rejected": ["node/b/label"], "decisions": decisions}
    });
    let (status, saved) = s.patch(ANN, body).await;
    assert_eq!((status, saved["newVersion"].clone()), (StatusCode::OK, json!(2)), "{saved}");
    id
}

async fn the_audit_keeps_each_decision_and_the_ais_value_beside_a_correction(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = corrected(&s).await;
    let (status, page) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let entry = page["entries"].as_array().unwrap().iter().find(|e| e["version"] == 2).unwrap().clone();
    assert_eq!(entry["decisionMode"], "explicit");
    assert_eq!(entry["decisions"]["node/a/label"]["proposed"], "Fjordd");
    // Both lists are what the decisions imply: stored once, read back whole.
    assert_eq!((entry["accepted"].clone(), entry["rejected"].clone()), (json!(["node/a/label", "node/n"]), json!(["node/b/label"])));
    // (`accepted` is left out when implied, `rejected` is `true`.)
    let (packed, stored) = s.stored_record(&format!("graph_id = '{id}' AND version = 2")).await;
    assert!(packed, "a record is stored packed when that is shorter: {stored}");
    assert!(!stored.contains("\"accepted\":") && stored.contains("\"rejected\":true"), "the change ids are not stored twice: {stored}");
    assert_eq!(entry["decisions"]["node/b/label"]["comment"], "B is the official name");
    let change = |cid: &str| entry["changes"].as_array().unwrap().iter().find(|c| c["id"] == cid).cloned().unwrap_or(Value::Null);
    let label = change("node/a/label");
    assert_eq!((label["old"].clone(), label["new"].clone()), (json!("A"), json!("Fjord")), "the server's own values");
    assert_eq!(
        (label["corrected"].clone(), label["proposed"].clone(), label["decidedBy"].clone()),
        (json!(true), json!("Fjordd"), json!("change"))
    );
    assert_eq!((change("node/n")["decidedBy"].clone(), change("node/n")["bulkFilter"].clone()), (json!("bulk"), json!("kind: added")));

    // Blame traces the value to the correction, with the AI's value and the comment.
    let (_, blame) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=a")).await;
    let field = blame["fields"].as_array().unwrap().iter().find(|f| f["field"] == "label").unwrap();
    assert_eq!(
        (field["origin"].clone(), field["proposed"].clone(), field["user"].clone()),
        (json!("correction"), json!("Fjordd"), json!("ann@example.com"))
    );
    assert_eq!(field["comment"], "the AI doubled the d");
    let stamp = blame["fields"].as_array().unwrap().iter().find(|f| f["field"] == "updatedBy").unwrap();
    assert_eq!(stamp["origin"], "stamp");
    let (_, added) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=n")).await;
    let label = added["fields"].as_array().unwrap().iter().find(|f| f["field"] == "label").unwrap();
    assert_eq!((label["origin"].clone(), label["decidedBy"].clone()), (json!("model"), json!("bulk")));
    let (_, first) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=b")).await;
    assert_eq!(first["fields"][1]["origin"], "unknown", "version 1 told nothing of its origin: {first}");
}

async fn decisions_that_disagree_with_the_approval_are_refused_with_their_path(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    let patch = |decisions: Value, mode: Value| {
        json!({"graphId": id, "expectedVersion": 1, "patchNodes": [{"nodeId": "a", "fields": {"label": "A2"}}],
               "audit": {"accepted": ["node/a/label"], "rejected": [], "decisions": decisions, "decisionMode": mode}})
    };
    for (decisions, mode, path) in [
        (json!({"node/zz/label": {"decision": "accepted", "decidedBy": "change"}}), json!("explicit"), "audit.decisions.node/zz/label"),
        (json!({"node/a/label": {"decision": "rejected", "decidedBy": "change"}}), json!("explicit"), "audit.decisions.node/a/label"),
        (
            json!({"node/a/label": {"decision": "accepted", "decidedBy": "robot"}}),
            json!("explicit"),
            "audit.decisions.node/a/label.decidedBy",
        ),
        (
            json!({"node/a/label": {"decision": "accepted", "decidedBy": "change", "proposed": 1}}),
            json!(null),
            "audit.decisions.node/a/label.proposed",
        ),
        (
            json!({"node/a/label": {"decision": "accepted", "decidedBy": "change", "comment": "x".repeat(10_001)}}),
            json!(null),
            "audit.decisions.node/a/label.comment",
        ),
        (json!({}), json!("implicit"), "audit.decisionMode"),
    ] {
        let (status, body) = s.patch(ANN, patch(decisions, mode)).await;
        assert_eq!(
            (status, body["code"].clone(), body["path"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalid_argument"), json!(path)),
            "{body}"
        );
    }
    let (_, history) = s.get(&format!("/getknowgraphhistory?id={id}")).await;
    assert_eq!(history["history"]["results"].as_array().map(Vec::len), Some(1), "nothing stored: {history}");
}

async fn exports_carry_the_decision_the_ais_value_and_the_comment(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = corrected(&s).await;
    let response =
        s.http.get(format!("{}/exportknowgraphaudit?id={id}&format=jsonl", s.url)).header("X-API-Token", AUDITOR).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let lines: Vec<Value> = response.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let row = |field: &str, id: &str| {
        lines.iter().find(|l| l["version"] == 2 && l["field"] == field && l["id"] == id).cloned().unwrap_or(Value::Null)
    };
    let label = row("label", "a");
    assert_eq!(
        (label["decision"].clone(), label["proposed"].clone(), label["new"].clone()),
        (json!("corrected"), json!("Fjordd"), json!("Fjord"))
    );
    assert_eq!((label["decidedBy"].clone(), label["comment"].clone()), (json!("change"), json!("the AI doubled the d")));
    let rejected = row("label", "b");
    assert_eq!(
        (rejected["decision"].clone(), rejected["accepted"].clone(), rejected["comment"].clone()),
        (json!("rejected"), json!(false), json!("B is the official name"))
    );
    let csv = s
        .http
        .get(format!("{}/exportknowgraphaudit?id={id}&format=csv", s.url))
        .header("X-API-Token", AUDITOR)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let header = csv.lines().next().unwrap().trim_start_matches('\u{feff}');
    for column in ["decision", "decidedBy", "proposed", "comment"] {
        assert!(header.split(',').any(|c| c == column), "{column} in {header}");
    }
    assert!(csv.contains("Fjordd") && csv.contains("the AI doubled the d"), "{csv}");
}

async fn the_suggestions_rationale_and_the_proposal_time_are_kept_in_the_record(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    let body = |proposed_at: &str| {
        json!({"graphId": id, "expectedVersion": 1, "patchNodes": [{"nodeId": "a", "fields": {"label": "A2"}}],
               "audit": {"accepted": ["node/a/label"], "rejected": [], "proposedAt": proposed_at,
                         "patchProvenance": {"a": {"confidence": 0.7, "rationale": "the source spells it A2"}},
                         "edgeProvenance": {"a_b": {"rationale": "a cites b"}}}})
    };
    let (status, refused) = s.patch(ANN, body("yesterday")).await;
    assert_eq!((status, refused["path"].clone()), (StatusCode::BAD_REQUEST, json!("audit.proposedAt")), "{refused}");
    let (status, saved) = s.patch(ANN, body("2026-02-04T14:00:00Z")).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, page) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}")).await;
    let entry = page["entries"].as_array().unwrap().iter().find(|e| e["version"] == 2).unwrap();
    assert_eq!(entry["proposedAt"], "2026-02-04T14:00:00.000Z", "stored in the canonical form");
    assert_eq!(entry["patchProvenance"]["a"]["rationale"], "the source spells it A2");
    assert_eq!(entry["edgeProvenance"]["a_b"]["rationale"], "a cites b");
}

on_both_backends!(
    the_suggestions_rationale_and_the_proposal_time_are_kept_in_the_record,
    the_audit_keeps_each_decision_and_the_ais_value_beside_a_correction,
    decisions_that_disagree_with_the_approval_are_refused_with_their_path,
    exports_carry_the_decision_the_ais_value_and_the_comment,
);
