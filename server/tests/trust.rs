//! Issue 22: the trust holes found when the access model, erasure,
//! retention and exports were attacked again. One test per hole, named
//! after it, over HTTP on SQLite and PostgreSQL (the request log's and the
//! binary's own in `request_log.rs`, `tokens.rs`, `write_race.rs` and
//! `erasure_bytes.rs`).

use kg_approval_server::Settings;
use kg_approval_server::access::{GraphAccess, Policy};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{ADMIN, ANN, AUDITOR, BOB, Backend, CAROL, Server, new_id, start_on};

const ANN_ID: &str = "ann@example.com";
const BOB_ID: &str = "bob@example.com";

async fn versions(s: &Server, id: &str) -> usize {
    s.get_as(ADMIN, &format!("/getknowgraphhistory?id={id}")).await.1["history"]["results"].as_array().map_or(0, Vec::len)
}

async fn graph_level_stamps_of_someone_else_are_refused(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = new_id();
    let graph = json!({"description": "Ann's", "updatedBy": ANN_ID, "metadata": {"title": "T"}, "nodes": [{"id": "a"}], "edges": []});
    assert_eq!(s.save(Some(ANN), json!({"id": id, "graphData": graph}), None).await.0, StatusCode::OK);
    let current = || async { s.get(&format!("/getknowgraph?id={id}")).await.1 };
    // Bob's whole graph whose top level names Carol, or Dave as its creator.
    for (field, who) in [("updatedBy", "carol@example.com"), ("createdBy", "dave@example.com")] {
        let mut g = current().await;
        g[field] = json!(who);
        let (status, body) = s.save(Some(BOB), json!({"id": id, "graphData": g}), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{field}: {body}");
        assert!(body["error"].as_str().unwrap().contains("the graph is stamped"), "{body}");
    }
    // A top-level change under Ann's stamp is a forgery too.
    let mut g = current().await;
    g["description"] = json!("Bob's");
    assert_eq!(s.save(Some(BOB), json!({"id": id, "graphData": g}), None).await.0, StatusCode::FORBIDDEN);
    // A new graph whose top level names someone else.
    let forged = json!({"createdBy": "dave@example.com", "nodes": []});
    assert_eq!(s.save(Some(BOB), json!({"id": new_id(), "graphData": forged}), None).await.0, StatusCode::FORBIDDEN);
    // The delta route.
    for fields in [json!({"updatedBy": "dave@example.com"}), json!({"createdBy": BOB_ID, "updatedBy": BOB_ID}), json!({"license": "x"})] {
        let (status, body) = s.patch(BOB, json!({"graphId": id, "expectedVersion": 1, "patchGraph": {"fields": fields}})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{fields}: {body}");
    }
    assert_eq!(versions(&s, &id).await, 1, "nothing stored");
    // Stamped as himself, the change is his to make; nodes alone leave the top level alone.
    let patched = s
        .patch(BOB, json!({"graphId": id, "expectedVersion": 1, "patchGraph": {"fields": {"description": "Bob's", "updatedBy": BOB_ID}}}))
        .await;
    assert_eq!(patched.0, StatusCode::OK, "{}", patched.1);
    let mut g = current().await;
    g["nodes"][0]["label"] = json!("relabelled by Bob");
    assert_eq!(s.save(Some(BOB), json!({"id": id, "graphData": g}), None).await.0, StatusCode::OK);
    let mut g = current().await;
    g["updatedBy"] = json!(ANN_ID);
    g["description"] = json!("Ann's again");
    assert_eq!(s.save(Some(ANN), json!({"id": id, "graphData": g}), None).await.0, StatusCode::OK);
    assert_eq!(versions(&s, &id).await, 4);
}

on_both_backends!(graph_level_stamps_of_someone_else_are_refused);
