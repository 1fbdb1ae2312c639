//! The server attacked as an outsider would (issue 12): each bug found is a
//! test named after it, and each access rule has one. Over HTTP, on SQLite
//! and PostgreSQL.

use kg_approval_server::Settings;
use kg_history::access::{GraphAccess, Policy};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{ADMIN, ANN, ANN_ID, AUDITOR, BOB, Backend, CAROL, Server, new_id, start_on};

/// A graph Ann saved as version 1, everything stamped by her.
async fn anns_graph(s: &Server) -> String {
    let id = new_id();
    let graph = json!({
        "metadata": {"title": "T", "createdBy": ANN_ID, "updatedBy": ANN_ID},
        "description": "first",
        "nodes": [{"id": "n1", "label": "A", "createdBy": ANN_ID, "updatedBy": ANN_ID}, {"id": "n2", "label": "B"}],
        "edges": [
            {"id": "e", "source": "n1", "target": "n2", "label": "one", "updatedBy": ANN_ID},
            {"id": "e", "source": "n1", "target": "n2", "label": "two", "updatedBy": ANN_ID},
            {"id": "n2_n1", "source": "n2", "target": "n1", "updatedBy": ANN_ID},
            {"source": "n2", "target": "n1", "label": "id-less", "updatedBy": ANN_ID}
        ]
    });
    let (status, body) = s.save(Some(ANN), json!({"id": id, "graphData": graph}), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

async fn current(s: &Server, id: &str) -> Value {
    s.get_as(ANN, &format!("/getknowgraph?id={id}")).await.1
}

async fn versions(s: &Server, id: &str) -> usize {
    s.get_as(ANN, &format!("/getknowgraphhistory?id={id}")).await.1["history"]["results"].as_array().map_or(0, Vec::len)
}

/// Bob saves `graph` (Ann's current graph changed by `change`).
async fn bob_saves(s: &Server, id: &str, change: impl FnOnce(&mut Value)) -> (StatusCode, Value) {
    let mut graph = current(s, id).await;
    change(&mut graph);
    s.save(Some(BOB), json!({"id": id, "graphData": graph}), None).await
}

async fn a_forged_metadata_stamp_is_refused(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = anns_graph(&s).await;
    // Bob changes the title and leaves the metadata stamped by Ann.
    let (status, body) = bob_saves(&s, &id, |g| g["metadata"]["title"] = json!("Bob's title")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap().contains("metadata is stamped updatedBy"), "{body}");
    let patched = s.patch(BOB, json!({"graphId": id, "expectedVersion": 1, "patchMetadata": {"fields": {"title": "Bob's title"}}})).await;
    assert_eq!(patched.0, StatusCode::FORBIDDEN, "the delta route too: {}", patched.1);
    assert_eq!(versions(&s, &id).await, 1, "nothing stored");
    // Stamped as himself, it is his change to make.
    let (status, _) = bob_saves(&s, &id, |g| {
        g["metadata"]["title"] = json!("Bob's title");
        g["metadata"]["updatedBy"] = json!("bob@example.com");
    })
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn duplicate_edge_ids_do_not_skip_the_stamp_check(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = anns_graph(&s).await;
    // The second of two edges with id "e", and the id-less n2→n1 edge that
    // shares its key with the edge "n2_n1": each is checked.
    for edge in [1, 3] {
        let (status, body) = bob_saves(&s, &id, |g| g["edges"][edge]["label"] = json!("changed by Bob")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "edge {edge}: {body}");
    }
    assert_eq!(versions(&s, &id).await, 1);
}

async fn created_by_of_someone_else_is_refused(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = anns_graph(&s).await;
    let (status, body) = bob_saves(&s, &id, |g| g["nodes"].as_array_mut().unwrap().push(json!({"id": "n3", "createdBy": ANN_ID}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let added = s.patch(BOB, json!({"graphId": id, "expectedVersion": 1, "addNodes": [{"id": "n3", "createdBy": ANN_ID}]})).await;
    assert_eq!(added.0, StatusCode::FORBIDDEN, "{}", added.1);
    // Nor may anyone rewrite who created a part.
    let (status, body) = bob_saves(&s, &id, |g| {
        g["nodes"][0]["createdBy"] = json!("bob@example.com");
        g["nodes"][0]["updatedBy"] = json!("bob@example.com");
    })
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(versions(&s, &id).await, 1);
    let (status, _) =
        bob_saves(&s, &id, |g| g["nodes"].as_array_mut().unwrap().push(json!({"id": "n3", "createdBy": "bob@example.com"}))).await;
    assert_eq!(status, StatusCode::OK, "his own node");
}

async fn another_users_idempotency_key_is_refused_not_replayed(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = anns_graph(&s).await;
    let mut graph = current(&s, &id).await;
    graph["nodes"][1]["label"] = json!("Ann's change");
    let body = json!({"id": id, "graphData": graph.clone(), "audit": {"approvalId": "approval-1"}});
    assert_eq!(s.save(Some(ANN), body.clone(), None).await.0, StatusCode::OK);
    // Anyone can read approval ids from the audit trail: Bob reuses Ann's.
    graph["nodes"][1]["label"] = json!("Bob's change");
    let (status, answer) =
        s.save(Some(BOB), json!({"id": id, "graphData": graph.clone(), "audit": {"approvalId": "approval-1"}}), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("another user"), "{answer}");
    // The same key as a header, from Bob, with his own body: refused too.
    let (status, _) = s.save(Some(BOB), json!({"id": id, "graphData": graph.clone()}), Some("approval-1")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Ann's approval id on another approval (another instant) is not a retry either...
    let other = json!({"id": id, "graphData": graph.clone(), "audit": {"approvalId": "approval-1", "at": "2026-02-04T15:00:00.000Z"}});
    let (status, answer) = s.save(Some(ANN), other, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("different request"));
    // ...nor is her header key on another body, when no approval is recorded.
    let plain = |label: &str| {
        let mut g = graph.clone();
        g["nodes"][0]["label"] = json!(label);
        json!({"id": id, "graphData": g})
    };
    let mut g2 = current(&s, &id).await;
    g2["nodes"][0]["label"] = json!("with key-2");
    assert_eq!(s.save(Some(ANN), json!({"id": id, "graphData": g2}), Some("key-2")).await.0, StatusCode::OK);
    assert_eq!(s.save(Some(ANN), plain("other body"), Some("key-2")).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    // Her exact retry is answered from the key.
    let (status, answer) = s.save(Some(ANN), body, None).await;
    assert_eq!((status, answer["newVersion"].clone()), (StatusCode::OK, json!(2)));
    assert_eq!(versions(&s, &id).await, 3);
    assert_eq!(current(&s, &id).await["nodes"][1]["label"], "Ann's change");
}

async fn an_empty_idempotency_key_is_no_key(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = anns_graph(&s).await;
    for label in ["x", "y"] {
        let mut graph = current(&s, &id).await;
        graph["nodes"][1]["label"] = json!(label);
        let (status, body) = s.save(Some(ANN), json!({"id": id, "graphData": graph, "audit": {"approvalId": ""}}), Some("")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(current(&s, &id).await["nodes"][1]["label"], label, "stored, not answered from an empty key");
    }
    assert_eq!(versions(&s, &id).await, 3);
}

async fn a_non_ascii_idempotency_key_is_refused(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = anns_graph(&s).await;
    let graph = current(&s, &id).await;
    let key = reqwest::header::HeaderValue::from_bytes("nøkkel".as_bytes()).unwrap();
    let response = s
        .http
        .post(format!("{}/saveGraphWithHistory", s.url))
        .header("X-API-Token", ANN)
        .header("Idempotency-Key", key)
        .body(json!({"id": id, "graphData": graph}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("Idempotency-Key"));
    assert_eq!(versions(&s, &id).await, 1);
}

async fn a_write_without_a_token_is_refused_before_its_body_is_read(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = start_on(backend, Settings::default()).await;
    let address = s.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    // A chunked body that has not started: the answer must not wait for it.
    let head = format!(
        "POST /saveGraphWithHistory HTTP/1.1\r\nHost: {address}\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 512];
    let read = tokio::time::timeout(std::time::Duration::from_secs(3), stream.read(&mut answer)).await;
    let n = read.expect("answered without the body").unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
}

async fn top_level_fields_appear_in_the_audit(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = anns_graph(&s).await;
    let mut graph = current(&s, &id).await;
    graph["description"] = json!("second");
    graph["license"] = json!("CC-BY-4.0");
    assert_eq!(s.save(Some(ANN), json!({"id": id, "graphData": graph}), None).await.0, StatusCode::OK);
    let patched = s
        .patch(
            ANN,
            json!({"graphId": id, "expectedVersion": 2, "patchGraph": {"fields": {"description": "third"}, "removeFields": ["license"]}}),
        )
        .await;
    assert_eq!(patched.0, StatusCode::OK, "{}", patched.1);
    let refused = s.patch(ANN, json!({"graphId": id, "expectedVersion": 3, "patchGraph": {"fields": {"nodes": []}}})).await;
    assert_eq!((refused.0, refused.1["path"].clone()), (StatusCode::BAD_REQUEST, json!("patchGraph.fields.nodes")));

    let (_, audit) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}")).await;
    let changes = |i: usize| -> Vec<(String, Value, Value)> {
        audit["entries"][i]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["target"] == "graph")
            .map(|c| (c["id"].as_str().unwrap().to_owned(), c["old"].clone(), c["new"].clone()))
            .collect()
    };
    assert_eq!(
        changes(1),
        [("graph/description".to_owned(), json!("first"), json!("second")), ("graph/license".to_owned(), Value::Null, json!("CC-BY-4.0"))]
    );
    assert_eq!(
        changes(0),
        [("graph/description".to_owned(), json!("second"), json!("third")), ("graph/license".to_owned(), json!("CC-BY-4.0"), Value::Null)]
    );
    assert_eq!(current(&s, &id).await["description"], "third");
}

async fn integers_beyond_64_bits_are_refused_not_rounded(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = new_id();
    let body = format!(r#"{{"id":"{id}","graphData":{{"nodes":[{{"id":"a","size":18446744073709551616}}]}}}}"#);
    let response = s.http.post(format!("{}/saveGraphWithHistory", s.url)).header("X-API-Token", ANN).body(body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["path"], "graphData.nodes[0].size");
    // The largest that fit are kept exactly.
    let body = format!(r#"{{"id":"{id}","graphData":{{"nodes":[{{"id":"a","max":18446744073709551615,"min":-9223372036854775808}}]}}}}"#);
    let response = s.http.post(format!("{}/saveGraphWithHistory", s.url)).header("X-API-Token", ANN).body(body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, text, _) = s.text(&format!("/getknowgraph?id={id}")).await;
    assert!(text.contains(r#""max":18446744073709551615,"min":-9223372036854775808"#), "{text}");
}

async fn every_error_is_json_even_the_frameworks(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    for (path, status) in [("/no-such-route", StatusCode::NOT_FOUND), ("/saveGraphWithHistory", StatusCode::METHOD_NOT_ALLOWED)] {
        let response = s.http.get(format!("{}{path}", s.url)).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json", "{path}");
        assert!(response.json::<Value>().await.unwrap()["error"].is_string(), "{path}");
    }
}

async fn scopes_limit_what_a_token_may_do(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = anns_graph(&s).await;
    let graph = current(&s, &id).await;
    // Carol may only read.
    let (status, body) = s.save(Some(CAROL), json!({"id": id, "graphData": graph}), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap().contains("no write scope"));
    // The audit names people: its owner or the audit scope, never anyone.
    let audit = format!("/getknowgraphaudit?id={id}");
    assert_eq!(s.get(&audit).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get_as(BOB, &audit).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get_as(BOB, &format!("/verifyknowgraph?id={id}")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get_as(ANN, &audit).await.0, StatusCode::OK, "the owner");
    assert_eq!(s.get_as(AUDITOR, &audit).await.0, StatusCode::OK);
    assert_eq!(s.get_as(ADMIN, &audit).await.0, StatusCode::OK);
    // An unknown token is refused anywhere, reads included.
    assert_eq!(s.get_as("not-a-token-at-all", &format!("/getknowgraph?id={id}")).await.0, StatusCode::UNAUTHORIZED);
    // Open reads stay open (the real service's contract).
    assert_eq!(s.get(&format!("/getknowgraph?id={id}")).await.0, StatusCode::OK);
}

async fn owned_graphs_take_a_grant_to_write_and_only_owners_override(backend: Backend) {
    let owned = Settings { access: Policy { graph_access: GraphAccess::Owned, private_reads: false }, ..Settings::default() };
    let s = start_on(backend, owned).await;
    let id = anns_graph(&s).await;
    let stamped_by_bob = |g: &mut Value| {
        g["nodes"][1]["label"] = json!("Bob's");
        g["metadata"]["updatedBy"] = json!("bob@example.com");
    };
    let (status, body) = bob_saves(&s, &id, stamped_by_bob).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap().contains("editor role"));
    // Bob cannot grant himself anything; Ann can.
    let grant = |role: Value| json!({"graphId": id, "user": "bob@example.com", "role": role});
    assert_eq!(s.post(BOB, "/grantGraphAccess", grant(json!("editor"))).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.post(ANN, "/grantGraphAccess", grant(json!("owner"))).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.post(ANN, "/grantGraphAccess", grant(json!("editor"))).await.0, StatusCode::OK);
    let (status, body) = bob_saves(&s, &id, stamped_by_bob).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Override discards someone's newer version: owners and admins only.
    let mut stale = current(&s, &id).await;
    stale["metadata"]["version"] = json!(1);
    stale["metadata"]["updatedBy"] = json!("bob@example.com");
    let (status, _) = s.save(Some(BOB), json!({"id": id, "graphData": stale.clone(), "override": true}), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    stale["metadata"]["updatedBy"] = json!("admin@example.com");
    assert_eq!(s.save(Some(ADMIN), json!({"id": id, "graphData": stale, "override": true}), None).await.0, StatusCode::OK);
    let (_, access) = s.get_as(ANN, &format!("/getgraphaccess?id={id}")).await;
    assert_eq!(
        (access["owner"].clone(), access["grants"][0]["user"].clone(), access["grants"][0]["role"].clone()),
        (json!(ANN_ID), json!("bob@example.com"), json!("editor"))
    );
    assert_eq!(s.get_as(BOB, &format!("/getgraphaccess?id={id}")).await.0, StatusCode::FORBIDDEN);
    // Taken away: refused again; a new graph is anyone's to create (and own).
    assert_eq!(s.post(ANN, "/grantGraphAccess", grant(Value::Null)).await.1["changed"], true);
    assert_eq!(bob_saves(&s, &id, stamped_by_bob).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.save(Some(BOB), json!({"id": new_id(), "graphData": {"nodes": []}}), None).await.0, StatusCode::OK);
}

async fn listed(s: &Server, token: &str) -> usize {
    s.get_as(token, "/getknowgraphs").await.1["graphs"].as_array().unwrap().len()
}

async fn private_reads_take_a_read_scope_and_a_role(backend: Backend) {
    let private = Settings { access: Policy { graph_access: GraphAccess::Owned, private_reads: true }, ..Settings::default() };
    let s = start_on(backend, private).await;
    let id = anns_graph(&s).await;
    let paths =
        [format!("/getknowgraph?id={id}"), format!("/getknowgraphhistory?id={id}"), format!("/getknowgraphversion?id={id}&version=1")];
    for path in &paths {
        assert_eq!(s.get(path).await.0, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(s.get_as(BOB, path).await.0, StatusCode::FORBIDDEN, "{path}: no role");
        assert_eq!(s.get_as(ANN, path).await.0, StatusCode::OK, "{path}: owner");
    }
    assert_eq!((listed(&s, ANN).await, listed(&s, BOB).await, listed(&s, ADMIN).await), (1, 0, 1));
    assert_eq!(s.get("/getknowgraphs").await.1["graphs"].as_array().map_or(0, Vec::len), 0);
    assert_eq!(
        s.post(ANN, "/grantGraphAccess", json!({"graphId": id, "user": "bob@example.com", "role": "viewer"})).await.0,
        StatusCode::OK
    );
    for path in &paths {
        assert_eq!(s.get_as(BOB, path).await.0, StatusCode::OK, "{path}: viewer");
    }
    assert_eq!(listed(&s, BOB).await, 1);
    // A viewer reads but does not write.
    let (status, _) = bob_saves(&s, &id, |g| g["metadata"]["updatedBy"] = json!("bob@example.com")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

on_both_backends!(
    a_forged_metadata_stamp_is_refused,
    duplicate_edge_ids_do_not_skip_the_stamp_check,
    created_by_of_someone_else_is_refused,
    another_users_idempotency_key_is_refused_not_replayed,
    an_empty_idempotency_key_is_no_key,
    a_non_ascii_idempotency_key_is_refused,
    a_write_without_a_token_is_refused_before_its_body_is_read,
    top_level_fields_appear_in_the_audit,
    integers_beyond_64_bits_are_refused_not_rounded,
    every_error_is_json_even_the_frameworks,
    scopes_limit_what_a_token_may_do,
    owned_graphs_take_a_grant_to_write_and_only_owners_override,
    private_reads_take_a_read_scope_and_a_role,
);
