//! `POST /patchGraph` over real HTTP: an approval saved as what it changed,
//! read back whole and exact, refused with 409/400/403 as the full path is.

use kg_approval::{ApprovalSession, Approver, Graph, Proposal, Provenance, Timestamp};
use kg_approval_server::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{ANN, AUDITOR, BOB, Backend, Server, new_id, start_on};

const ANN_USER: &str = "ann@example.com";

fn big_graph() -> Value {
    let info = |i: usize| format!("## Node {i}\n\n{}", "Lang tekst om strikking, 日本語 og 👩‍👩‍👧. ".repeat(40));
    let nodes: Vec<Value> = (0..20)
        .map(|i| json!({"id": format!("n{i}"), "label": format!("Node {i}"), "info": info(i), "position": {"x": i, "y": 0}}))
        .collect();
    let edges: Vec<Value> = (1..20).map(|i| json!({"source": "n0", "target": format!("n{i}"), "label": "has"})).collect();
    json!({"metadata": {"title": "Big"}, "nodes": nodes, "edges": edges, "created_date": "kept"})
}

/// Creates a graph from `graph` (version 1) and returns its id.
async fn create(s: &Server, graph: Value) -> String {
    let id = new_id();
    let (status, body) = s.save(Some(ANN), json!({"id": id, "graphData": graph}), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

/// Loads the newest version into a session, approves `proposal` as Ann, and
/// returns the session, the delta body and the graph approve() produced.
async fn approve(s: &Server, id: &str, proposal: Value) -> (ApprovalSession, Value, Graph) {
    let (_, text, etag) = s.text(&format!("/getknowgraph?id={id}")).await;
    let graph = Graph::from_json(&text).unwrap();
    let version = graph.version().cloned().unwrap();
    let mut session = ApprovalSession::new(graph, Some(id.to_owned()));
    session.propose(&Proposal::from_value(proposal).unwrap(), Provenance::default()).unwrap();
    let who = Approver::new(ANN_USER, Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap()).unwrap();
    let approved = session.approve(&who, Some("because")).unwrap();
    let mut body = serde_json::to_value(&approved.applied.delta).unwrap();
    body["graphId"] = json!(id);
    body["expectedVersion"] = version;
    body["expectedHash"] = json!(etag);
    body["audit"] = json!({"approvalId": approved.audit.approval_id, "user": ANN_USER, "reason": "because", "source": "ai"});
    let after = session.graph().clone();
    (session, body, after)
}

async fn a_delta_save_stores_exactly_the_graph_approve_produced(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = create(&s, big_graph()).await;
    let proposal = json!({
        "nodes": [{"id": "n3", "label": "Renamed"}, {"id": "n5", "info": "short now"}, {"id": "new", "label": "New"}],
        "edges": [{"source": "n3", "target": "new", "label": "links"}],
        "removeNodeIds": ["n7"],
        "metadata": {"description": "d"}
    });
    let (_, body, mut expected) = approve(&s, &id, proposal).await;
    let wire = body.to_string().len();
    let (status, answer) = s.patch(ANN, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["ok"].clone(), answer["graphId"].clone(), answer["newVersion"].clone()), (json!(true), json!(id), json!(2)));
    assert!(wire < 3000, "the body carries what changed, not the {} KB graph: {wire} bytes", big_graph().to_string().len() / 1024);

    let (_, text, etag) = s.text(&format!("/getknowgraph?id={id}")).await;
    expected.set_version(json!(2));
    assert_eq!(text, expected.to_json(), "byte for byte, field order included");
    assert_eq!(etag.as_deref(), answer["hash"].as_str());
    // Version 1 still reads back as it was saved.
    let (_, v1, _) = s.text(&format!("/getknowgraphversion?id={id}&version=1")).await;
    let mut first = Graph::from_value(big_graph()).unwrap();
    first.set_version(json!(1));
    assert_eq!(v1, first.to_json());
    assert_eq!(s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await.1["ok"], true);

    // The audit entry lists the changes, computed from what was stored.
    let (_, audit) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}&limit=1")).await;
    let entry = &audit["entries"][0];
    assert_eq!((entry["via"].as_str(), entry["reason"].as_str(), entry["user"].as_str()), (Some("delta"), Some("because"), Some(ANN_USER)));
    let changes = entry["changes"].as_array().unwrap();
    let label = changes.iter().find(|c| c["id"] == "node/n3/label").unwrap();
    assert_eq!((&label["old"], &label["new"]), (&json!("Node 3"), &json!("Renamed")));
    let info = changes.iter().find(|c| c["id"] == "node/n5/info").unwrap();
    assert!(info["old"].as_str().unwrap().starts_with("## Node 5"), "a value stored as a blob comes back whole");
    assert!(changes.iter().any(|c| c["id"] == "node/n7" && c["kind"] == "removed"));
    assert!(changes.iter().any(|c| c["id"] == "node/new" && c["kind"] == "added"));
    assert_eq!(entry["summary"]["nodesRemoved"], 1);
    let (_, n3) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}&nodeId=n3")).await;
    assert_eq!(n3["entries"].as_array().unwrap().iter().map(|e| e["version"].as_i64().unwrap()).collect::<Vec<_>>(), [2, 1]);
}

async fn stale_or_foreign_bases_get_409_and_nothing_is_stored(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = create(&s, big_graph()).await;
    let (_, body, _) = approve(&s, &id, json!({"nodes": [{"id": "n1", "label": "x"}]})).await;
    let mut stale = body.clone();
    stale["expectedVersion"] = json!(0);
    let (status, answer) = s.patch(ANN, stale).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!((answer["currentVersion"].clone(), answer["expectedVersion"].clone()), (json!(1), json!(0)), "{answer}");
    let mut foreign = body.clone();
    foreign["expectedHash"] = json!("0".repeat(64));
    assert_eq!(s.patch(ANN, foreign).await.0, StatusCode::CONFLICT, "a base this server does not hold");
    let (_, history) = s.get(&format!("/getknowgraphhistory?id={id}")).await;
    assert_eq!(history["history"]["results"].as_array().unwrap().len(), 1);
    assert_eq!(s.patch(ANN, body.clone()).await.0, StatusCode::OK);
    // The same approval again is answered from its key, stored once.
    let (status, again) = s.patch(ANN, body).await;
    assert_eq!((status, again["newVersion"].clone()), (StatusCode::OK, json!(2)));
    let mut unknown = json!({"graphId": new_id(), "expectedVersion": 0});
    assert_eq!(s.patch(ANN, unknown.take()).await.0, StatusCode::NOT_FOUND);
}

async fn bad_deltas_get_400_with_the_path_and_nothing_is_stored(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = create(&s, big_graph()).await;
    let base = |extra: Value| {
        let mut body = json!({"graphId": id, "expectedVersion": 1});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let stamp = json!({"updatedBy": ANN_USER});
    for (extra, code, path) in [
        (json!({"patchNodes": [{"nodeId": "nope", "fields": stamp}]}), "unknown_node", "patchNodes[0].nodeId"),
        (json!({"removeNodeIds": ["nope"]}), "unknown_node", "removeNodeIds[0]"),
        (json!({"addNodes": [{"id": "n1"}]}), "duplicate_node_id", "addNodes[0].id"),
        (json!({"removeNodeIds": ["n4"]}), "dangling_edge", "removeNodeIds[0]"),
        (json!({"removeEdgeIds": ["x_y"]}), "unknown_edge", "removeEdgeIds[0]"),
        (json!({"patchNodes": [{"nodeId": "n1", "fields": {"id": "z"}}]}), "invalid_delta", "patchNodes[0].fields.id"),
        (json!({"patchNode": []}), "invalid_delta", "patchNode"),
    ] {
        let (status, answer) = s.patch(ANN, base(extra.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extra}: {answer}");
        assert_eq!((answer["code"].as_str(), answer["path"].as_str().unwrap_or_default()), (Some(code), path), "{extra}: {answer}");
    }
    for bad in [json!({"graphId": id}), json!({"graphId": id, "expectedVersion": "1"}), json!({"expectedVersion": 1}), json!([])] {
        assert_eq!(s.patch(ANN, bad.clone()).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
    // Writing as someone else is refused as on the full path.
    let forged = base(json!({"patchNodes": [{"nodeId": "n1", "fields": {"label": "x", "updatedBy": ANN_USER}}]}));
    assert_eq!(s.patch(BOB, forged).await.0, StatusCode::FORBIDDEN);
    let as_ann = base(json!({"patchNodes": [{"nodeId": "n1", "fields": {"label": "x"}}], "audit": {"user": ANN_USER}}));
    assert_eq!(s.patch(BOB, as_ann).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.http.post(format!("{}/patchGraph", s.url)).body("{}").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let (_, history) = s.get(&format!("/getknowgraphhistory?id={id}")).await;
    assert_eq!(history["history"]["results"].as_array().unwrap().len(), 1, "nothing stored");
    assert_eq!(s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await.1["ok"], true);
}

async fn many_delta_versions_read_back_exactly_and_verify(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = create(&s, big_graph()).await;
    let mut expected = Vec::new();
    for i in 0..12 {
        let proposal = match i % 4 {
            0 => json!({"nodes": [{"id": format!("n{}", i % 20), "label": format!("round {i}")}]}),
            1 => json!({"nodes": [{"id": format!("n{}", i % 20), "info": format!("rewritten {i} ").repeat(30)}]}),
            2 => json!({"nodes": [{"id": format!("x{i}"), "label": "added"}], "edges": [{"source": "n0", "target": format!("x{i}")}]}),
            _ => json!({"metadata": {"title": format!("Title {i}")}, "nodes": [{"id": "n2", "position": {"x": i}}]}),
        };
        let (_, body, mut after) = approve(&s, &id, proposal).await;
        let (status, answer) = s.patch(ANN, body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        after.set_version(answer["newVersion"].clone());
        expected.push(after.to_json());
    }
    for (i, text) in expected.iter().enumerate() {
        let (_, stored, _) = s.text(&format!("/getknowgraphversion?id={id}&version={}", i + 2)).await;
        assert_eq!(&stored, text, "version {}", i + 2);
    }
    let (_, list) = s.get("/getknowgraphs").await;
    assert_eq!((list["graphs"][0]["version"].clone(), list["graphs"][0]["nodes"].clone()), (json!(13), json!(23)));
    assert_eq!(list["graphs"][0]["title"], "Title 11");
    assert_eq!(s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await.1["ok"], true);
}

on_both_backends!(
    a_delta_save_stores_exactly_the_graph_approve_produced,
    stale_or_foreign_bases_get_409_and_nothing_is_stored,
    bad_deltas_get_400_with_the_path_and_nothing_is_stored,
    many_delta_versions_read_back_exactly_and_verify
);
