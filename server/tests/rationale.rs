//! A suggestion's rationale (issue 26), from the proposal to blame and the
//! exports: a proposal made and approved with the core (as the app and the
//! package do), saved as a delta; blame gives each field the rationale of
//! the patch or edge that wrote it, and each export row its change's.

use kg_approval::{ApprovalSession, Approver, Graph, Proposal, Provenance, Timestamp};
use kg_approval_server::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{ANN, AUDITOR, Backend, parse_csv, start_on};

async fn a_rationale_goes_from_the_proposal_to_blame_and_both_exports(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    let (_, text, hash) = s.text(&format!("/getknowgraph?id={id}")).await;
    let mut session = ApprovalSession::new(Graph::from_json(&text).unwrap(), Some(id.clone()));
    let proposal = json!({
        "model": "gpt", "modelVersion": "v2",
        "nodes": [
            {"id": "a", "label": "Alpha", "info": "from the register", "rationale": "The register spells it Alpha, \"quoted\", =1+1"},
            {"id": "n", "label": "New", "rationale": "Cited by a and b"},
            {"id": "b", "label": "Beta"}
        ],
        "edges": [{"id": "a_n", "source": "a", "target": "n", "label": "cites", "rationale": "a cites n on page 4"}]
    });
    session.propose(&Proposal::from_value(proposal).unwrap(), Provenance::default()).unwrap();
    let approved = session.approve(&Approver::new("ann@example.com", Timestamp::now()).unwrap(), None).unwrap();
    let mut body = serde_json::to_value(&approved.applied.delta).unwrap();
    body["graphId"] = json!(id);
    body["expectedVersion"] = json!(1);
    body["expectedHash"] = json!(hash.unwrap());
    body["audit"] = serde_json::to_value(&approved.audit).unwrap();
    let (status, saved) = s.patch(ANN, body).await;
    assert_eq!(status, StatusCode::OK, "{saved}");

    // Blame: each field of a, of the new node n and of the edge, with its rationale; b's patch had none.
    let field = |blame: &Value, name: &str| blame["fields"].as_array().unwrap().iter().find(|f| f["field"] == name).cloned().unwrap();
    let (_, a) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=a")).await;
    for name in ["label", "info"] {
        assert_eq!(field(&a, name)["rationale"], "The register spells it Alpha, \"quoted\", =1+1", "{a}");
    }
    assert!(field(&a, "id").get("rationale").is_none(), "a field version 1 wrote has no rationale: {a}");
    let (_, n) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=n")).await;
    assert_eq!(field(&n, "label")["rationale"], "Cited by a and b");
    let (_, b) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=b")).await;
    assert!(field(&b, "label").get("rationale").is_none(), "{b}");
    let (_, edge) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&edgeId=a_n")).await;
    assert_eq!(field(&edge, "label")["rationale"], "a cites n on page 4", "{edge}");

    // Exports: JSONL and CSV rows carry it.
    let export = |format: &'static str| {
        let request = s.http.get(format!("{}/exportknowgraphaudit?id={id}&format={format}", s.url)).header("X-API-Token", AUDITOR);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let lines: Vec<Value> = export("jsonl").await.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let row = |id: &str, field: &str| lines.iter().find(|l| l["version"] == 2 && l["id"] == id && l["field"] == field).cloned().unwrap();
    assert_eq!(row("a", "label")["rationale"], "The register spells it Alpha, \"quoted\", =1+1");
    assert_eq!(row("a_n", "label")["rationale"], "a cites n on page 4");
    assert!(row("b", "label").get("rationale").is_none());
    let table = parse_csv(&export("csv").await, ',');
    let column = table[0].iter().position(|c| c == "rationale").expect("a rationale column");
    assert_eq!(column, table[0].len() - 1, "the last column: the others keep their places");
    let cell = table.iter().find(|r| r[1] == "2" && r[9] == "a" && r[10] == "label").unwrap()[column].clone();
    assert_eq!(
        cell, "The register spells it Alpha, \"quoted\", =1+1",
        "quoted as CSV quotes, and not a formula (it does not start with =)"
    );
}

on_both_backends!(a_rationale_goes_from_the_proposal_to_blame_and_both_exports);
