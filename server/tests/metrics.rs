//! `/metrics` (issue 25): scraped and parsed as Prometheus text; the
//! counters match what the test did.

mod support;

use std::time::{Duration, Instant};

use kg_approval_server::Settings;
use kg_approval_server::request_log::RequestLog;
use reqwest::StatusCode;
use serde_json::json;
use support::{ADMIN, ANN, Backend, CAROL, graph, parse_prometheus as parse, start_with};

async fn scrape(s: &support::Server, token: &str) -> (StatusCode, String, String) {
    let response = s.http.get(format!("{}/metrics", s.url)).header("X-API-Token", token).send().await.unwrap();
    let kind = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status(), kind, response.text().await.unwrap())
}

async fn counts_what_the_server_did(backend: Backend) {
    let logs = tempfile::tempdir().unwrap();
    let s = start_with(backend, Settings::default(), Some(RequestLog::open(logs.path()))).await;
    let id = s.create().await;
    let body = json!({"id": id, "graphData": graph(Some(1), "B"), "override": false});
    assert_eq!(s.save(Some(ANN), body.clone(), Some("key-0001")).await.0, StatusCode::OK);
    assert_eq!(s.save(Some(ANN), body.clone(), Some("key-0001")).await.0, StatusCode::OK, "replayed");
    assert_eq!(s.save(Some(ANN), body.clone(), None).await.0, StatusCode::CONFLICT);
    assert_eq!(s.save(Some(CAROL), body, None).await.0, StatusCode::FORBIDDEN, "refused: no write scope");
    let patch = json!({"graphId": id, "expectedVersion": 2, "patchNodes": [{"nodeId": "a", "fields": {"label": "C"}}]});
    assert_eq!(s.patch(ANN, patch.clone()).await.0, StatusCode::OK);
    assert_eq!(s.patch(ANN, patch).await.0, StatusCode::CONFLICT);
    assert_eq!(s.get(&format!("/getknowgraph?id={id}")).await.0, StatusCode::OK);
    assert_eq!(s.get("/getknowgraph?id=nope").await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.post(ADMIN, "/eraseUser", json!({"user": "nobody@example.com"})).await.0, StatusCode::OK);
    let refused = s.http.get(format!("{}/whoami", s.url)).header("X-API-Token", "not-a-token-at-all").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // Admins only.
    assert_eq!(s.get("/metrics").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(scrape(&s, ANN).await.0, StatusCode::FORBIDDEN);
    let (status, kind, text) = scrape(&s, ADMIN).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8"));
    let (samples, types) = parse(&text);
    let get = |key: &str| samples.get(key).copied().unwrap_or_else(|| panic!("no {key} in\n{text}"));
    for (result, n) in [("saved", 2.0), ("replayed", 1.0), ("conflict", 1.0), ("refused", 1.0)] {
        assert_eq!(get(&format!("kg_saves_total{{path=\"whole\",result=\"{result}\"}}")), n, "whole {result}");
    }
    assert_eq!(get("kg_saves_total{path=\"delta\",result=\"saved\"}"), 1.0);
    assert_eq!(get("kg_saves_total{path=\"delta\",result=\"conflict\"}"), 1.0);
    assert_eq!(get("kg_http_requests_total{method=\"GET\",route=\"/getknowgraph\",status=\"200\"}"), 1.0);
    assert_eq!(get("kg_http_requests_total{method=\"GET\",route=\"/getknowgraph\",status=\"404\"}"), 1.0);
    assert_eq!(get("kg_http_requests_total{method=\"POST\",route=\"/saveGraphWithHistory\",status=\"200\"}"), 3.0);
    assert_eq!(get("kg_erasures_total{}"), 1.0);
    assert_eq!(get("kg_auth_refusals_total{reason=\"token\"}"), 1.0);
    assert_eq!(types["kg_http_request_duration_seconds"], "histogram");
    assert_eq!(get("kg_http_request_duration_seconds_count{method=\"POST\",route=\"/saveGraphWithHistory\"}"), 5.0);
    assert_eq!(get("kg_http_request_duration_seconds_bucket{le=\"+Inf\",method=\"POST\",route=\"/saveGraphWithHistory\"}"), 5.0);
    assert!(get("kg_http_request_duration_seconds_bucket{le=\"10\",method=\"POST\",route=\"/saveGraphWithHistory\"}") >= 1.0);
    // The request log's lines (written by its thread: wait for them).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (samples, _) = parse(&scrape(&s, ADMIN).await.2);
        if samples.get("kg_request_log_lines_total{result=\"written\"}").is_some_and(|n| *n >= 12.0) {
            assert_eq!(samples["kg_request_log_lines_total{result=\"failed\"}"], 0.0);
            break;
        }
        assert!(Instant::now() < deadline, "request log lines: {samples:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    match backend {
        Backend::Postgres => {
            assert_eq!(get("kg_db_pool_connections{state=\"max\"}"), 16.0);
            assert!(get("kg_db_pool_connections{state=\"open\"}") >= 1.0);
            assert!(get("kg_db_pool_connections{state=\"in_use\"}") >= 0.0);
        }
        Backend::Sqlite => assert!(!text.contains("kg_db_pool_connections{"), "no pool on SQLite"),
    }
}

on_both_backends!(counts_what_the_server_did);

#[tokio::test(flavor = "multi_thread")]
async fn store_errors_are_counted_by_kind() {
    let s = support::start_on(Backend::Sqlite, Settings::default()).await;
    let id = s.create().await;
    // A broken row behind the server's back: reading it fails inside the store (500).
    s.sql("UPDATE versions SET hash = 'x'").await;
    s.sql("DROP TABLE entities").await;
    let (status, _) = s.get(&format!("/getknowgraph?id={id}")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (samples, _) = parse(&scrape(&s, ADMIN).await.2);
    assert_eq!(samples["kg_store_errors_total{kind=\"internal\"}"], 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_addr_serves_the_metrics_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let db = dir.path().join("h.sqlite");
    let (mut child, url) = support::spawn_binary(&["--db", db.to_str().unwrap(), "--metrics-addr", &format!("127.0.0.1:{port}")]);
    assert_eq!(reqwest::get(format!("{url}/healthz")).await.unwrap().status(), StatusCode::OK);
    let response = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (samples, _) = parse(&response.text().await.unwrap());
    assert_eq!(samples["kg_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"], 1.0);
    // Only /metrics there.
    assert_eq!(reqwest::get(format!("http://127.0.0.1:{port}/getknowgraphs")).await.unwrap().status(), StatusCode::NOT_FOUND);
    // On the main address, the admin scope is needed.
    assert_eq!(reqwest::get(format!("{url}/metrics")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    child.kill().unwrap();
    child.wait().unwrap();
}
