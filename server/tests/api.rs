//! The history server over real HTTP on a loopback port, with a real SQLite file.

use std::sync::Arc;

use kg_approval_server::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{ANN, AUDITOR, BOB, Backend, graph, new_id, start_on};

async fn save_load_history_and_versions(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    let (status, body) = s
        .save(
            Some(ANN),
            json!({"id": id, "graphData": graph(Some(1), "A2"), "override": false, "audit": {"reason": "rename", "source": "ai"}}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"message": "Graph with history saved successfully", "id": id, "newVersion": 2, "hash": body["hash"]}),
        "the real service's answer, plus the version's hash"
    );
    assert_eq!(body["hash"].as_str().map(str::len), Some(64));

    let (_, current) = s.get(&format!("/getknowgraph?id={id}")).await;
    assert_eq!(current["nodes"][0]["label"], "A2");
    assert_eq!(current["metadata"]["version"], 2);
    assert_eq!(
        current["edges"][0],
        json!({"id": "a_b", "source": "a", "target": "b", "label": "kept whole", "type": "x"}),
        "edges stored whole"
    );
    assert_eq!(current["nodes"][1]["visible"], false);

    // Who and why are the trail's: shown to the owner (and auditors), not to anyone.
    let (_, anonymous) = s.get(&format!("/getknowgraphhistory?id={id}")).await;
    let first = &anonymous["history"]["results"][0];
    assert_eq!((first["user"].clone(), first["reason"].clone(), first["source"].clone()), (Value::Null, Value::Null, json!("ai")));
    let (_, history) = s.get_as(ANN, &format!("/getknowgraphhistory?id={id}")).await;
    let results = history["history"]["results"].as_array().unwrap();
    assert_eq!(results.iter().map(|r| r["version"].as_i64().unwrap()).collect::<Vec<_>>(), [2, 1], "newest first");
    assert_eq!(
        (results[0]["user"].as_str(), results[0]["reason"].as_str(), results[0]["source"].as_str()),
        (Some("ann@example.com"), Some("rename"), Some("ai"))
    );
    let timestamp = results[0]["timestamp"].as_str().unwrap();
    assert!(timestamp.len() == 19 && timestamp.as_bytes()[10] == b' ', "SQLite-style timestamp like the real service: {timestamp}");

    assert_eq!(s.get("/getknowgraphs").await.1["graphs"][0]["updatedBy"], Value::Null);
    let (_, list) = s.get_as(ANN, "/getknowgraphs").await;
    assert_eq!(
        list["graphs"],
        json!([{"id": id, "version": 2, "title": "T", "nodes": 2, "updatedAt": list["graphs"][0]["updatedAt"], "updatedBy": "ann@example.com"}])
    );

    let (_, v1) = s.get(&format!("/getknowgraphversion?id={id}&version=1")).await;
    assert_eq!(v1["nodes"][0]["label"], "A");
    assert_eq!(s.get(&format!("/getknowgraphversion?id={id}&version=9")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get(&format!("/getknowgraphversion?id={id}")).await.0, StatusCode::BAD_REQUEST);
    let (status, body) = s.get(&format!("/getknowgraph?id={}", new_id())).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"error": "Graph not found."})));
    let (status, body) = s.get(&format!("/getknowgraphhistory?id={}", new_id())).await;
    assert_eq!((status, body["history"]["results"].clone()), (StatusCode::OK, json!([])));
}

async fn stale_saves_get_409_with_the_current_version(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    assert_eq!(s.save(Some(ANN), json!({"id": id, "graphData": graph(Some(1), "first")}), None).await.0, StatusCode::OK);
    let (status, body) = s.save(Some(BOB), json!({"id": id, "graphData": graph(Some(1), "stale"), "override": false}), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body, json!({"error": "Version mismatch. Please reload the latest version of the graph.", "currentVersion": 2}));
    let (status, _) = s.save(Some(BOB), json!({"id": id, "graphData": graph(None, "x")}), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "a missing version only matches a new graph");
    let mut string_version = graph(None, "x");
    string_version["metadata"]["version"] = json!("2");
    assert_eq!(s.save(Some(BOB), json!({"id": id, "graphData": string_version}), None).await.0, StatusCode::CONFLICT, "\"2\" is not 2");
    let (status, body) = s.save(Some(BOB), json!({"id": id, "graphData": graph(Some(1), "forced"), "override": true}), None).await;
    assert_eq!((status, body["newVersion"].clone()), (StatusCode::OK, json!(3)), "override is explicit");
}

async fn new_graph_ids_must_be_uuid_v4(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let (status, body) = s.save(Some(ANN), json!({"id": "graph_123", "graphData": graph(None, "A")}), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["received"], "graph_123");
    assert!(body["expected"].as_str().unwrap().contains("UUID v4"));
    let v1 = "6f1c2d3e-4b5a-1c6d-8e7f-9a0b1c2d3e4f";
    assert_eq!(s.save(Some(ANN), json!({"id": v1, "graphData": graph(None, "A")}), None).await.0, StatusCode::BAD_REQUEST);
}

async fn a_repeated_idempotency_key_stores_nothing_new(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    let body = json!({"id": id, "graphData": graph(Some(1), "once"), "audit": {"approvalId": "approval-1"}});
    let first = s.save(Some(ANN), body.clone(), Some("approval-1")).await;
    let again = s.save(Some(ANN), body.clone(), Some("approval-1")).await;
    assert_eq!(first, again);
    assert_eq!(first.1["newVersion"], 2);
    // Without the header the audit's approvalId is the key.
    assert_eq!(s.save(Some(ANN), body, None).await.1["newVersion"], 2);
    let (_, history) = s.get(&format!("/getknowgraphhistory?id={id}")).await;
    assert_eq!(history["history"]["results"].as_array().unwrap().len(), 2);
}

async fn concurrent_saves_get_unique_contiguous_versions_or_409(backend: Backend) {
    let s = Arc::new(start_on(backend, Settings::default()).await);
    let id = s.create().await;
    // 24 writers on the same base version: exactly one wins, the rest get 409.
    let racers: Vec<_> = (0..24)
        .map(|i| {
            let (s, id) = (s.clone(), id.clone());
            tokio::spawn(
                async move { s.save(Some(ANN), json!({"id": id, "graphData": graph(Some(1), &format!("racer {i}"))}), None).await.0 },
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for r in racers {
        statuses.push(r.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 23);

    // 24 writers with override: all succeed, versions 3..=26 each once.
    let writers: Vec<_> = (0..24)
        .map(|i| {
            let (s, id) = (s.clone(), id.clone());
            tokio::spawn(async move { s.save(Some(BOB), json!({"id": id, "graphData": graph(None, &format!("w{i}")), "override": true}), None).await.1["newVersion"].as_i64().unwrap() })
        })
        .collect();
    let mut versions = Vec::new();
    for w in writers {
        versions.push(w.await.unwrap());
    }
    versions.sort();
    assert_eq!(versions, (3..=26).collect::<Vec<_>>());
    assert_eq!(s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await.1["ok"], true);
}

async fn writes_need_a_token_and_only_as_its_user(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    let body = json!({"id": id, "graphData": graph(Some(1), "x")});
    assert_eq!(s.save(None, body.clone(), None).await, (StatusCode::UNAUTHORIZED, json!({"error": "Missing X-API-Token header."})));
    assert_eq!(s.save(Some("nope-nope-nope"), body.clone(), None).await.0, StatusCode::UNAUTHORIZED);

    let as_ann = json!({"id": id, "graphData": graph(Some(1), "x"), "audit": {"user": "ann@example.com"}});
    let (status, body403) = s.save(Some(BOB), as_ann, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body403}");

    let mut forged = graph(Some(1), "x");
    forged["nodes"][0]["updatedBy"] = json!("ann@example.com");
    assert_eq!(s.save(Some(BOB), json!({"id": id, "graphData": forged.clone()}), None).await.0, StatusCode::FORBIDDEN);
    forged["nodes"][0]["updatedBy"] = json!("bob@example.com");
    assert_eq!(s.save(Some(BOB), json!({"id": id, "graphData": forged}), None).await.0, StatusCode::OK);

    let mut meta = graph(Some(2), "x");
    meta["metadata"]["updatedBy"] = json!("ann@example.com");
    assert_eq!(s.save(Some(BOB), json!({"id": id, "graphData": meta}), None).await.0, StatusCode::FORBIDDEN);
    // Reads are open.
    assert_eq!(s.get(&format!("/getknowgraph?id={id}")).await.0, StatusCode::OK);
    let whoami = |token: &'static str| s.http.get(format!("{}/whoami", s.url)).header("X-API-Token", token).send();
    assert_eq!(whoami(BOB).await.unwrap().json::<Value>().await.unwrap(), json!({"user": "bob@example.com", "scopes": ["read", "write"]}));
    assert_eq!(whoami("nope-nope-nope").await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

async fn bad_bodies_get_400_and_large_ones_413(backend: Backend) {
    let s = start_on(backend, Settings { body_limit: 4096, ..Settings::default() }).await;
    let post = |body: String| s.http.post(format!("{}/saveGraphWithHistory", s.url)).header("X-API-Token", ANN).body(body).send();
    for bad in [
        "{not json",
        "[]",
        r#"{"graphData": {}}"#,
        r#"{"id": "x"}"#,
        r#"{"id": 5, "graphData": {}}"#,
        r#"{"id": "x", "graphData": []}"#,
        r#"{"id": "x", "graphData": {"nodes": {}}}"#,
    ] {
        let response = post(bad.to_owned()).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].is_string(), "{bad}: {body}");
    }
    let big = json!({"id": new_id(), "graphData": {"nodes": [{"id": "a", "info": "x".repeat(8000)}]}});
    let response = post(big.to_string()).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("4096"));
}

async fn the_audit_trail_is_computed_by_the_server_and_filterable(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    let mut v = graph(Some(1), "A2");
    v["nodes"][1]["info"] = json!("hidden note");
    let audit = json!({"reason": "ai rename", "source": "ai", "model": "m1", "runId": "run-1", "approvalId": "ap-1", "accepted": ["node/a/label"], "rejected": ["node/a/info"],
        // A client's claim about the changes is not what gets recorded.
        "changes": {"zzz": {"label": ["x", "y"]}}});
    assert_eq!(s.save(Some(ANN), json!({"id": id, "graphData": v, "audit": audit}), None).await.0, StatusCode::OK);
    let mut v3 = graph(Some(2), "A3");
    v3["nodes"][1]["info"] = json!("hidden note");
    assert_eq!(
        s.save(Some(BOB), json!({"id": id, "graphData": v3, "audit": {"runId": "run-2", "source": "user"}}), None).await.0,
        StatusCode::OK
    );

    let (_, all) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}")).await;
    assert_eq!(all["total"], 3);
    let newest = &all["entries"][0];
    assert_eq!(
        (newest["version"].as_i64(), newest["user"].as_str(), newest["source"].as_str()),
        (Some(3), Some("bob@example.com"), Some("user"))
    );
    let second = &all["entries"][1];
    let ids: Vec<&str> = second["changes"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["node/a/label", "node/b/info", "metadata/version"]);
    assert_eq!(second["changes"][0]["old"], "A");
    assert_eq!((second["model"].as_str(), second["approvalId"].as_str()), (Some("m1"), Some("ap-1")));
    assert_eq!(second["rejected"], json!(["node/a/info"]));

    for (query, expected) in
        [("nodeId=b", vec![2, 1]), ("user=bob@example.com", vec![3]), ("runId=run-1", vec![2]), ("limit=1&offset=1", vec![2])]
    {
        let (_, page) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}&{query}")).await;
        let versions: Vec<i64> = page["entries"].as_array().unwrap().iter().map(|e| e["version"].as_i64().unwrap()).collect();
        assert_eq!(versions, expected, "{query}");
    }
    assert_eq!(s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}&limit=x")).await.0, StatusCode::BAD_REQUEST);
}

async fn the_hash_chain_detects_edits_behind_the_servers_back(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    for (version, label) in [(1, "two"), (2, "three"), (3, "four")] {
        assert_eq!(s.save(Some(ANN), json!({"id": id, "graphData": graph(Some(version), label)}), None).await.0, StatusCode::OK);
    }
    let (_, ok) = s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await;
    assert_eq!((ok["ok"].clone(), ok["versions"].clone()), (json!(true), json!(4)));

    assert!(s.replace_in_bodies("from_version = 3", "three", "THREE").await > 0);
    let (_, broken) = s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await;
    assert_eq!(broken["ok"], false);
    assert_eq!(broken["firstBroken"]["version"], 3);

    assert!(s.replace_in_bodies("from_version = 3", "THREE", "three").await > 0);
    assert_eq!(s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await.1["ok"], true);
    s.sql(&format!("DELETE FROM versions WHERE graph_id = '{id}' AND version = 2")).await;
    let (_, gap) = s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await;
    assert_eq!(gap["firstBroken"]["version"], 2, "a deleted version is reported as the one missing: {gap}");
}

async fn retention_is_explicit_and_keeps_the_trail(backend: Backend) {
    let s = start_on(backend, Settings { keep_versions: Some(2), ..Settings::default() }).await;
    let id = s.create().await;
    for version in 1..=3 {
        s.save(Some(ANN), json!({"id": id, "graphData": graph(Some(version), &format!("v{}", version + 1))}), None).await;
    }
    assert_eq!(s.get(&format!("/getknowgraphversion?id={id}&version=1")).await.0, StatusCode::GONE);
    assert_eq!(s.get(&format!("/getknowgraphversion?id={id}&version=3")).await.0, StatusCode::OK);
    let (_, verify) = s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await;
    assert_eq!((verify["ok"].clone(), verify["pruned"].clone()), (json!(true), json!(2)));
    assert_eq!(s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}")).await.1["total"], 4);
}

async fn cors_echoes_allowed_origins_and_preflight_is_204(backend: Backend) {
    let s = start_on(backend, Settings { allowed_origins: vec!["http://editor.test".into()], ..Settings::default() }).await;
    let preflight = |origin: &'static str| {
        s.http
            .request(reqwest::Method::OPTIONS, format!("{}/saveGraphWithHistory", s.url))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "x-api-token,content-type,idempotency-key")
            .send()
    };
    let ok = preflight("http://editor.test").await.unwrap();
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(ok.headers()["access-control-allow-origin"], "http://editor.test");
    assert!(ok.headers()["access-control-allow-headers"].to_str().unwrap().contains("x-api-token"));
    let denied = preflight("http://evil.test").await.unwrap();
    assert!(denied.headers().get("access-control-allow-origin").is_none());
}

async fn sql_metacharacters_in_every_parameter_are_just_data(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    let hostile = ["'; DROP TABLE versions; --", "\" OR 1=1 --", "%' OR '%'='", "x\u{0}y", "1; DELETE FROM versions"];
    for bad in hostile {
        let q = |name: &str| format!("{name}={}", urlencode(bad));
        for path in [
            format!("/getknowgraph?{}", q("id")),
            format!("/getknowgraphhistory?{}", q("id")),
            format!("/getknowgraphversion?{}&version=1", q("id")),
            format!("/getknowgraphversion?id={id}&{}", q("version")),
            format!("/getknowgraphaudit?id={id}&{}&{}&{}", q("nodeId"), q("user"), q("runId")),
            format!("/getknowgraphaudit?id={id}&{}", q("limit")),
            format!("/verifyknowgraph?{}", q("id")),
        ] {
            let (status, body) = s.get(&path).await;
            assert!(status.is_client_error() || status == StatusCode::OK, "{path}: {status} {body}");
            assert!(body["error"].is_string() || status == StatusCode::OK, "{path}: {body}");
        }
        // A NUL cannot travel in a header at all (the HTTP client refuses it).
        let key = bad.chars().all(|c| !c.is_control()).then_some(bad);
        let (status, _) = s.save(Some(ANN), json!({"id": bad, "graphData": graph(None, bad)}), key).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a non-UUID id is refused, not executed");
        let mut labelled = graph(Some(1), bad);
        labelled["nodes"][0]["id"] = json!("a");
        let (status, _) = s
            .save(Some(ANN), json!({"id": id, "graphData": labelled, "override": true, "audit": {"reason": bad, "runId": bad}}), key)
            .await;
        assert_eq!(status, StatusCode::OK);
        // Stored as data and read back unchanged (a NUL included, which
        // PostgreSQL text cannot hold as such).
        let (_, stored) = s.get(&format!("/getknowgraph?id={id}")).await;
        assert_eq!(stored["nodes"][0]["label"], bad);
        let (_, audit) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}&limit=1")).await;
        assert_eq!((audit["entries"][0]["reason"].as_str(), audit["entries"][0]["runId"].as_str()), (Some(bad), Some(bad)));
    }
    // Everything is still there and intact.
    let (_, history) = s.get(&format!("/getknowgraphhistory?id={id}")).await;
    assert_eq!(history["history"]["results"].as_array().unwrap().len(), 1 + hostile.len());
    let (_, audit) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}&runId={}", urlencode(hostile[0]))).await;
    assert_eq!(audit["total"], 1, "the hostile runId is stored and matched as data");
    assert_eq!(s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await.1["ok"], true);
}

fn urlencode(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

on_both_backends!(
    save_load_history_and_versions,
    stale_saves_get_409_with_the_current_version,
    new_graph_ids_must_be_uuid_v4,
    a_repeated_idempotency_key_stores_nothing_new,
    concurrent_saves_get_unique_contiguous_versions_or_409,
    writes_need_a_token_and_only_as_its_user,
    bad_bodies_get_400_and_large_ones_413,
    the_audit_trail_is_computed_by_the_server_and_filterable,
    the_hash_chain_detects_edits_behind_the_servers_back,
    retention_is_explicit_and_keeps_the_trail,
    cors_echoes_allowed_origins_and_preflight_is_204,
    sql_metacharacters_in_every_parameter_are_just_data
);
